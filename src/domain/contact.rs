//! Validated value types: e-mail address, E.164 phone number, IANA time zone, URL slug.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Conversions every validated text type shares: parsing from a `String` (so serde checks
/// it), back into a `String`, and display.
macro_rules! text_type {
    ($($name:ident),+) => {$(
        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )+};
}

text_type!(EmailAddress, PhoneNumber, Timezone, Slug);

/// An e-mail address, trimmed and with its domain lower-cased.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("is required".into());
        }
        if s.len() > 254 {
            return Err("must be at most 254 characters".into());
        }
        let (local, domain) = s
            .rsplit_once('@')
            .ok_or_else(|| format!("'{s}' is not an e-mail address (no @)"))?;
        if local.is_empty() || local.len() > 64 {
            return Err(format!("'{s}' is not an e-mail address (bad local part)"));
        }
        let local_ok = local.chars().all(|c| {
            c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c) || !c.is_ascii()
        }) && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !local_ok || !domain_ok {
            return Err(format!("'{s}' is not a valid e-mail address"));
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number in E.164 form: `+` and 8 to 15 digits, the first not zero.
///
/// Spaces, dots, dashes and brackets are accepted and dropped; a leading `00` is read as `+`.
/// A number without its country code is refused rather than guessed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("is required".into());
        }
        let mut compact: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}'))
            .collect();
        if let Some(rest) = compact.strip_prefix("00") {
            compact = format!("+{rest}");
        }
        let Some(digits) = compact.strip_prefix('+') else {
            return Err(format!(
                "'{s}' must be in international format with its country code, like +14155550123"
            ));
        };
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("'{s}' may contain only digits after the +"));
        }
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(format!(
                "'{s}' is not a valid E.164 number (8 to 15 digits after +, not starting with 0)"
            ));
        }
        Ok(Self(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IANA time zone name such as `Europe/London`, checked against the tz database.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Timezone(String);

/// The OpenAPI schema of a time zone field: an IANA name, or empty for the default.
#[cfg(feature = "ssr")]
pub fn timezone_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let names = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| serde_json::Value::from(tz.name()))
        .chain([serde_json::Value::from(""), serde_json::Value::Null]);
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::String,
            Type::Null,
        ]))
        .enum_values(Some(names))
        .description(Some(
            "An IANA time zone such as Europe/London; empty or absent for the organisation's",
        ))
        .build()
}

impl Timezone {
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("is required".into());
        }
        match s.parse::<chrono_tz::Tz>() {
            Ok(tz) => Ok(Self(tz.name().to_string())),
            Err(_) => Err(format!(
                "'{s}' is not an IANA time zone (for example Europe/London or America/New_York)"
            )),
        }
    }

    pub fn utc() -> Self {
        Self("UTC".into())
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.0.parse().unwrap_or(chrono_tz::UTC)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An organisation's short name in URLs and on the command line: lower-case letters, digits
/// and single hyphens, 2 to 40 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("is required".into());
        }
        let ok = (2..=40).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--");
        if !ok {
            return Err(format!(
                "'{s}' must be 2 to 40 lower-case letters, digits and single hyphens"
            ));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        let table = [
            ("Ada@Example.COM", Some("Ada@example.com")),
            (
                "  bob.smith+vip@mail.co.uk ",
                Some("bob.smith+vip@mail.co.uk"),
            ),
            ("no-at-sign", None),
            ("a@b", None),
            ("a..b@example.com", None),
            ("@example.com", None),
            ("a@-example.com", None),
            ("", None),
        ];
        for (input, want) in table {
            assert_eq!(
                EmailAddress::parse(input).ok().as_ref().map(|e| e.as_str()),
                want,
                "{input}"
            );
        }
    }

    #[test]
    fn phones() {
        let table = [
            ("+1 (415) 555-0123", Some("+14155550123")),
            ("0044 20 7946 0958", Some("+442079460958")),
            ("+91.98765.43210", Some("+919876543210")),
            ("415 555 0123", None),
            ("+0123456789", None),
            ("+12", None),
            ("+1234567890123456", None),
            ("+1 415 CALL NOW", None),
        ];
        for (input, want) in table {
            assert_eq!(
                PhoneNumber::parse(input).ok().as_ref().map(|p| p.as_str()),
                want,
                "{input}"
            );
        }
    }

    #[test]
    fn timezones() {
        assert_eq!(
            Timezone::parse("Australia/Lord_Howe").unwrap().as_str(),
            "Australia/Lord_Howe"
        );
        assert!(Timezone::parse("Mars/Olympus").is_err());
        assert!(Timezone::parse("").is_err());
    }

    #[test]
    fn slugs() {
        assert!(Slug::parse("acme-concierge").is_ok());
        for bad in ["A", "Acme", "-acme", "acme-", "ac--me", "a c"] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }
}
