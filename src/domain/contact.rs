//! Validated value types: e-mail address, E.164 phone number and a region for national
//! numbers, IANA time zone, URL slug.

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

text_type!(EmailAddress, PhoneNumber, Region, Timezone, Slug);

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

/// A phone number in E.164 form: `+`, the country code and the national number.
///
/// On the server a number is read by libphonenumber's rules (the `phonenumber` crate): in
/// international form (`+` or `00` first), or in the national form of a default region, and it
/// must be a valid number of its country. Spaces, dots, dashes and brackets are accepted. In
/// the browser only the form is checked (`+` and 8 to 15 digits); the server decides.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// A number in international form.
    pub fn parse(input: &str) -> Result<Self, String> {
        Self::parse_in(input, None)
    }

    /// A number in international form, or in the national form of `region` when given.
    pub fn parse_in(input: &str, region: Option<&Region>) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("is required".into());
        }
        let mut compact: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}'))
            .collect();
        if let Some(rest) = compact.strip_prefix("00") {
            compact = format!("+{rest}");
        }
        let digits = compact.strip_prefix('+').unwrap_or(&compact);
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("'{s}' is not a phone number (digits, and + first)"));
        }
        if !compact.starts_with('+') && region.is_none() {
            return Err(format!(
                "'{s}' must be in international format with its country code, like +14155550123 (or set the organisation's country for phone numbers)"
            ));
        }
        Self::by_country(s, &compact, region)
    }

    #[cfg(feature = "ssr")]
    fn by_country(s: &str, compact: &str, region: Option<&Region>) -> Result<Self, String> {
        use phonenumber::Mode;
        let country = region.and_then(|r| r.as_str().parse::<phonenumber::country::Id>().ok());
        let number = phonenumber::parse(country, compact)
            .map_err(|_| format!("'{s}' is not a phone number"))?;
        if !phonenumber::is_valid(&number) {
            let of = number
                .country()
                .id()
                .map(|c| format!("{c:?}"))
                .or_else(|| region.map(|r| r.as_str().to_string()))
                .map(|c| format!(" in {c}"))
                .unwrap_or_default();
            return Err(format!("'{s}' is not a valid phone number{of}"));
        }
        Ok(Self(number.format().mode(Mode::E164).to_string()))
    }

    /// Without the numbering plans (in the browser): the form only.
    #[cfg(not(feature = "ssr"))]
    fn by_country(s: &str, compact: &str, _region: Option<&Region>) -> Result<Self, String> {
        let digits = compact.trim_start_matches('+');
        if !compact.starts_with('+') {
            return Ok(Self(compact.to_string()));
        }
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(format!(
                "'{s}' is not a valid E.164 number (8 to 15 digits after +, not starting with 0)"
            ));
        }
        Ok(Self(compact.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The country whose national phone numbers an organisation writes without their country
/// code: an ISO 3166 code such as `GB` or `US`, one that has a numbering plan.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Region(String);

impl Region {
    pub fn parse(input: &str) -> Result<Self, String> {
        let code = input.trim().to_ascii_uppercase();
        let known = code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase()) && {
            #[cfg(feature = "ssr")]
            {
                code.parse::<phonenumber::country::Id>().is_ok()
            }
            #[cfg(not(feature = "ssr"))]
            {
                true
            }
        };
        if known {
            Ok(Self(code))
        } else {
            Err(format!(
                "'{}' is not a country code with phone numbers, like GB or US",
                input.trim()
            ))
        }
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

/// The OpenAPI schema of an optional e-mail field: an address, or empty (or null) for none.
#[cfg(feature = "ssr")]
pub fn optional_email_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{
        KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
    };
    let one_of = OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
                .max_length(Some(254)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(0)),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some("An e-mail address; empty or null for none"))
        .build();
    Schema::OneOf(one_of)
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
        let gb = Region::parse("gb").unwrap();
        let us = Region::parse("US").unwrap();
        let table = [
            ("+1 (415) 555-0123", None, Some("+14155550123")),
            ("0044 20 7946 0958", None, Some("+442079460958")),
            ("+91.98765.43210", None, Some("+919876543210")),
            // National numbers: only with a region, and read by its plan.
            ("415 555 0123", None, None),
            ("(415) 555-0123", Some(&us), Some("+14155550123")),
            ("020 7946 0958", Some(&gb), Some("+442079460958")),
            ("07911 123456", Some(&gb), Some("+447911123456")),
            // An international number is itself whatever the region.
            ("+33 1 23 45 67 89", Some(&gb), Some("+33123456789")),
            // Each country's own rules: too short, too long, no such area.
            ("020 7946 095", Some(&gb), None),
            ("+44 20 7946 09581", None, None),
            ("+1 555 0100", None, None),
            ("+1 099 555 0123", None, None),
            ("+0123456789", None, None),
            ("+12", None, None),
            ("+1234567890123456", None, None),
            ("+1 415 CALL NOW", None, None),
        ];
        for (input, region, want) in table {
            assert_eq!(
                PhoneNumber::parse_in(input, region)
                    .ok()
                    .as_ref()
                    .map(|p| p.as_str()),
                want,
                "{input} in {region:?}"
            );
        }
        let err = PhoneNumber::parse_in("020 7946 095", Some(&gb)).unwrap_err();
        assert!(err.contains("not a valid phone number in GB"), "{err}");
        assert!(Region::parse("XX").is_err());
        assert!(Region::parse("GBR").is_err());
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
