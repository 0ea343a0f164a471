//! People the organisation looks after: the stored record, the raw input from a form or the
//! API, and the validated draft that the service layer writes.

use super::engagement::Segment;
use super::{EmailAddress, FieldErrors, PhoneNumber, Region, Timezone};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PersonType {
    #[default]
    Client,
    FamilyMember,
    Contact,
}

impl PersonType {
    pub const ALL: [PersonType; 3] = [Self::Client, Self::FamilyMember, Self::Contact];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::FamilyMember => "family_member",
            Self::Contact => "contact",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Client => "Client",
            Self::FamilyMember => "Family member",
            Self::Contact => "Contact",
        }
    }

    pub fn parse(input: &str) -> Result<Self, String> {
        match input.trim() {
            "client" => Ok(Self::Client),
            "family_member" => Ok(Self::FamilyMember),
            "contact" => Ok(Self::Contact),
            other => Err(format!(
                "'{other}' is not a person type (client, family_member or contact)"
            )),
        }
    }
}

impl TryFrom<String> for PersonType {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

/// A person as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Person {
    pub id: Uuid,
    pub org_id: Uuid,
    pub full_name: String,
    pub preferred_name: Option<String>,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub person_type: PersonType,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub timezone: String,
    pub birthday: Option<NaiveDate>,
    #[cfg_attr(feature = "ssr", sqlx(json))]
    pub tags: Vec<String>,
    pub external_id: Option<String>,
    pub notes: Option<String>,
    /// A BCP 47 language tag such as `en-GB`.
    pub locale: Option<String>,
    /// Another person this one belongs with (a family member's client), and how.
    pub related_person_id: Option<Uuid>,
    pub relationship: Option<String>,
    /// The staff member who looks after this person.
    pub assigned_staff_id: Option<Uuid>,
    pub last_active_at: Option<DateTime<Utc>>,
    pub marketing_consent: bool,
    /// When consent was last given or withdrawn, and how.
    pub consent_at: Option<DateTime<Utc>>,
    pub consent_source: Option<String>,
    /// Computed by the engagement run: `new`, `active`, `at_risk`, `dormant` or `churned`.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub segment: Segment,
    /// Computed by the engagement run: 0 (sure to stay) to 1 (as good as gone).
    #[serde(default)]
    pub churn_risk: f64,
    /// Behavioural labels such as `frequent` and `night_owl`.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub labels: Labels,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A person's behavioural labels, stored comma-separated.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Labels(pub Vec<String>);

impl TryFrom<String> for Labels {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Ok(Labels(
            text.split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect(),
        ))
    }
}

impl std::ops::Deref for Labels {
    type Target = Vec<String>;
    fn deref(&self) -> &Vec<String> {
        &self.0
    }
}

impl Person {
    /// The name to greet the person by.
    pub fn display_name(&self) -> &str {
        self.preferred_name.as_deref().unwrap_or(&self.full_name)
    }

    /// The raw input that would recreate this person: the base an update is merged onto.
    pub fn to_input(&self) -> PersonInput {
        PersonInput {
            full_name: Some(self.full_name.clone()),
            preferred_name: self.preferred_name.clone(),
            person_type: Some(self.person_type.as_str().to_string()),
            email: self.email.clone(),
            phone: self.phone.clone(),
            timezone: Some(self.timezone.clone()),
            birthday: self.birthday.map(|d| d.format("%Y-%m-%d").to_string()),
            tags: Some(self.tags.clone()),
            external_id: self.external_id.clone(),
            notes: self.notes.clone(),
            locale: self.locale.clone(),
            related_person_id: self.related_person_id.map(|id| id.to_string()),
            relationship: self.relationship.clone(),
            assigned_staff_id: self.assigned_staff_id.map(|id| id.to_string()),
            marketing_consent: Some(self.marketing_consent),
            consent_source: None,
        }
    }
}

/// One page of the client directory.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PersonPage {
    pub items: Vec<Person>,
    /// How many match: exact, or with `more_than` a lower bound (a tag or a staff member's
    /// clients are counted up to a thousand).
    pub total: i64,
    #[serde(default)]
    pub more_than: bool,
    pub page: i64,
    pub per_page: i64,
    /// When a search matches no one: the people whose names are close to it.
    #[serde(default)]
    pub close: Vec<Person>,
}

impl PersonPage {
    pub fn pages(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page.max(1)).max(1)
    }
}

/// The distinct three-letter runs of the words of `text` (lower-cased; words shorter than
/// three letters have none), at most 24: what a fuzzy search looks for.
pub fn trigrams(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.to_lowercase().split_whitespace() {
        let chars: Vec<char> = word.chars().collect();
        for w in chars.windows(3) {
            let gram: String = w.iter().collect();
            if !out.contains(&gram) {
                out.push(gram);
            }
        }
    }
    out.truncate(24);
    out
}

/// How close `name` is to what was typed, from 0 to 1: for each typed word the best share of
/// trigrams it has in common with a word of the name (Jaccard, the words padded at both ends
/// as `pg_trgm` does), averaged over the typed words. "quilfeather" is 11/14 from
/// "Quillfeather"; unrelated names score near 0.
pub fn name_similarity(typed: &str, name: &str) -> f64 {
    fn grams(word: &str) -> std::collections::BTreeSet<String> {
        let padded: Vec<char> = format!("  {word} ").chars().collect();
        padded.windows(3).map(|w| w.iter().collect()).collect()
    }
    let typed: Vec<String> = typed
        .to_lowercase()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let names: Vec<std::collections::BTreeSet<String>> =
        name.to_lowercase().split_whitespace().map(grams).collect();
    if typed.is_empty() || names.is_empty() {
        return 0.0;
    }
    let total: f64 = typed
        .iter()
        .map(|t| {
            let a = grams(t);
            names
                .iter()
                .map(|b| {
                    let shared = a.intersection(b).count();
                    shared as f64 / (a.len() + b.len() - shared) as f64
                })
                .fold(0.0, f64::max)
        })
        .sum();
    total / typed.len() as f64
}

/// A person as typed into a form or sent to the API, before anything is checked.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PersonInput {
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            required = true,
            nullable = false,
            min_length = 1,
            max_length = 200,
            pattern = r"\S"
        )
    )]
    pub full_name: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 200))]
    pub preferred_name: Option<String>,
    #[serde(default, alias = "type")]
    #[cfg_attr(
        feature = "ssr",
        schema(pattern = r"^\s*(client|family_member|contact)?\s*$")
    )]
    pub person_type: Option<String>,
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(schema_with = crate::domain::contact::optional_email_schema)
    )]
    pub email: Option<String>,
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(pattern = r"^\s*((\+|00)[ \-.()]*[1-9]([ \-.()]*[0-9]){7,14}[ \-.()]*)?\s*$")
    )]
    pub phone: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = super::contact::timezone_schema))]
    pub timezone: Option<String>,
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            pattern = r"^\s*((19[0-9]{2}|2[01][0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8]))?\s*$"
        )
    )]
    pub birthday: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = tags_schema))]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 200))]
    pub external_id: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 10000))]
    pub notes: Option<String>,
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(pattern = r"^\s*([A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8}){0,3})?\s*$")
    )]
    pub locale: Option<String>,
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            pattern = r"^\s*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})?\s*$"
        )
    )]
    pub related_person_id: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 60))]
    pub relationship: Option<String>,
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            pattern = r"^\s*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})?\s*$"
        )
    )]
    pub assigned_staff_id: Option<String>,
    /// Absent keeps the current consent; a change is stamped with the time and `consent_source`.
    #[serde(default)]
    pub marketing_consent: Option<bool>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 100))]
    pub consent_source: Option<String>,
}

/// A person that passed every check, ready to be written.
#[derive(Clone, Debug, PartialEq)]
pub struct PersonDraft {
    pub full_name: String,
    pub preferred_name: Option<String>,
    pub person_type: PersonType,
    pub email: Option<EmailAddress>,
    pub phone: Option<PhoneNumber>,
    pub timezone: Timezone,
    pub birthday: Option<NaiveDate>,
    pub tags: Vec<String>,
    pub external_id: Option<String>,
    pub notes: Option<String>,
    pub locale: Option<String>,
    pub related_person_id: Option<Uuid>,
    pub relationship: Option<String>,
    pub assigned_staff_id: Option<Uuid>,
    pub marketing_consent: Option<bool>,
    pub consent_source: Option<String>,
}

const MAX_NAME: usize = 200;
const MAX_NOTES: usize = 10_000;
const MAX_TAGS: usize = 30;
const MAX_TAG: usize = 40;
const MAX_EXTERNAL_ID: usize = 200;

/// Trims a text; an empty one is absent.
pub(crate) fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The text, unless it is longer than `max` characters (then an error for `field`).
pub(crate) fn bounded(
    field: &str,
    value: Option<&str>,
    max: usize,
    errors: &mut FieldErrors,
) -> Option<String> {
    let value = value?;
    if value.chars().count() > max {
        errors.add(field, format!("must be at most {max} characters"));
        return None;
    }
    Some(value.to_string())
}

impl PersonDraft {
    /// Checks every field, collecting all problems rather than stopping at the first.
    /// `default_timezone` applies when none is given; `today` bounds the birthday; a national
    /// phone number is read as `region`'s, when given.
    pub fn parse(
        input: &PersonInput,
        default_timezone: &Timezone,
        today: NaiveDate,
        region: Option<&Region>,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();

        let full_name = match present(&input.full_name) {
            None => {
                errors.add("full_name", "is required");
                None
            }
            Some(name) => bounded("full_name", Some(name), MAX_NAME, &mut errors),
        };
        let preferred_name = bounded(
            "preferred_name",
            present(&input.preferred_name),
            MAX_NAME,
            &mut errors,
        );
        let person_type = match present(&input.person_type) {
            None => Some(PersonType::Client),
            Some(t) => errors.check("person_type", PersonType::parse(t)),
        };
        let email =
            present(&input.email).and_then(|e| errors.check("email", EmailAddress::parse(e)));
        let phone = present(&input.phone)
            .and_then(|p| errors.check("phone", PhoneNumber::parse_in(p, region)));
        let timezone = match present(&input.timezone) {
            None => Some(default_timezone.clone()),
            Some(tz) => errors.check("timezone", Timezone::parse(tz)),
        };
        let birthday = present(&input.birthday)
            .and_then(|b| errors.check("birthday", parse_birthday(b, today)));
        let tags = parse_tags(input.tags.as_deref().unwrap_or_default(), &mut errors);
        let external_id = bounded(
            "external_id",
            present(&input.external_id),
            MAX_EXTERNAL_ID,
            &mut errors,
        );
        let notes = bounded("notes", present(&input.notes), MAX_NOTES, &mut errors);
        let locale = present(&input.locale).and_then(|l| errors.check("locale", parse_locale(l)));
        let id = |field: &str, value: &Option<String>, errors: &mut FieldErrors| {
            present(value).and_then(|v| {
                errors.check(
                    field,
                    Uuid::parse_str(v)
                        .map_err(|_| format!("'{v}' is not an id ({field} must be a UUID)")),
                )
            })
        };
        let related_person_id = id("related_person_id", &input.related_person_id, &mut errors);
        let relationship = bounded(
            "relationship",
            present(&input.relationship),
            60,
            &mut errors,
        );
        if relationship.is_some() && related_person_id.is_none() {
            errors.add(
                "relationship",
                "needs the related person (related_person_id)",
            );
        }
        let assigned_staff_id = id("assigned_staff_id", &input.assigned_staff_id, &mut errors);
        let consent_source = bounded(
            "consent_source",
            present(&input.consent_source),
            100,
            &mut errors,
        );

        match (full_name, person_type, timezone) {
            (Some(full_name), Some(person_type), Some(timezone)) if errors.is_empty() => Ok(Self {
                full_name,
                preferred_name,
                person_type,
                email,
                phone,
                timezone,
                birthday,
                tags,
                external_id,
                notes,
                locale,
                related_person_id,
                relationship,
                assigned_staff_id,
                marketing_consent: input.marketing_consent,
                consent_source,
            }),
            _ => Err(errors),
        }
    }

    /// Lower-cased text the directory search matches against.
    pub fn search_text(&self) -> String {
        let mut parts: Vec<&str> = vec![&self.full_name];
        parts.extend(self.preferred_name.as_deref());
        parts.extend(self.email.as_ref().map(EmailAddress::as_str));
        parts.extend(self.phone.as_ref().map(PhoneNumber::as_str));
        parts.extend(self.external_id.as_deref());
        parts.extend(self.tags.iter().map(String::as_str));
        parts.join(" ").to_lowercase()
    }

    /// The key the directory sorts by.
    pub fn sort_name(&self) -> String {
        self.full_name.to_lowercase()
    }
}

/// Reads a BCP 47 language tag (`en`, `en-GB`, `zh-Hant-TW`), in its usual letter case.
pub fn parse_locale(input: &str) -> Result<String, String> {
    let s = input.trim().replace('_', "-");
    let parts: Vec<&str> = s.split('-').collect();
    let ok = parts.len() <= 4
        && parts[0].len() >= 2
        && parts[0].len() <= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 8 && p.chars().all(|c| c.is_ascii_alphanumeric()))
        && parts[0].chars().all(|c| c.is_ascii_alphabetic());
    if !ok {
        return Err(format!("'{input}' is not a language tag like en-GB"));
    }
    Ok(parts
        .iter()
        .enumerate()
        .map(|(i, p)| match (i, p.len()) {
            (0, _) => p.to_ascii_lowercase(),
            (_, 2) => p.to_ascii_uppercase(),
            (_, 4) => {
                let mut c = p.to_ascii_lowercase();
                c[..1].make_ascii_uppercase();
                c
            }
            _ => p.to_ascii_lowercase(),
        })
        .collect::<Vec<_>>()
        .join("-"))
}

fn parse_birthday(input: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let date = NaiveDate::parse_from_str(input, "%Y-%m-%d")
        .map_err(|_| format!("'{input}' is not a date in the form YYYY-MM-DD"))?;
    if date > today {
        return Err("cannot be in the future".into());
    }
    if date.year() < 1900 {
        return Err("must be in 1900 or later".into());
    }
    Ok(date)
}

/// The OpenAPI schema of a list of tags.
#[cfg(feature = "ssr")]
pub fn tags_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(MAX_TAG)),
        )
        .max_items(Some(MAX_TAGS))
        .description(Some(
            "Labels such as `vip`; at most 30, each at most 40 characters",
        ))
        .build()
}

/// Tags are trimmed, kept in the order given, and de-duplicated without regard to case.
pub fn parse_tags(raw: &[String], errors: &mut FieldErrors) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for tag in raw.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        if tag.chars().count() > MAX_TAG {
            errors.add(
                "tags",
                format!("'{tag}' is longer than {MAX_TAG} characters"),
            );
            continue;
        }
        if !tags.iter().any(|t| t.eq_ignore_ascii_case(tag)) {
            tags.push(tag.to_string());
        }
    }
    if tags.len() > MAX_TAGS {
        errors.add("tags", format!("at most {MAX_TAGS} tags"));
    }
    tags
}

/// Splits a comma-separated form field into tags.
pub fn split_tags(text: &str) -> Vec<String> {
    text.split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {

    #[test]
    fn names_half_remembered_are_close() {
        assert_eq!(
            name_similarity("quilfeather", "Ada Quillfeather"),
            11.0 / 14.0
        );
        assert_eq!(name_similarity("Ada", "Ada Quillfeather"), 1.0);
        assert!(name_similarity("smyth", "John Smith") > 0.3);
        assert!(name_similarity("quilfeather", "Olivia Smith") < 0.1);
        assert_eq!(name_similarity("", "Olivia Smith"), 0.0);
        assert_eq!(
            trigrams("Quill fe"),
            ["qui", "uil", "ill"].map(String::from).to_vec()
        );
        assert_eq!(trigrams("abcdefghijklmnopqrstuvwxyz zyxwvutsrq").len(), 24);
    }

    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    #[test]
    fn minimal_person_defaults() {
        let input = PersonInput {
            full_name: Some("  Ada Lovelace ".into()),
            ..Default::default()
        };
        let draft = PersonDraft::parse(
            &input,
            &Timezone::parse("Europe/London").unwrap(),
            today(),
            None,
        )
        .unwrap();
        assert_eq!(draft.full_name, "Ada Lovelace");
        assert_eq!(draft.person_type, PersonType::Client);
        assert_eq!(draft.timezone.as_str(), "Europe/London");
    }

    #[test]
    fn every_bad_field_is_named() {
        let input = PersonInput {
            full_name: Some(" ".into()),
            person_type: Some("robot".into()),
            email: Some("nope".into()),
            phone: Some("555".into()),
            timezone: Some("Nowhere/Land".into()),
            birthday: Some("2030-01-01".into()),
            tags: Some(vec!["x".repeat(41)]),
            ..Default::default()
        };
        let errors = PersonDraft::parse(&input, &Timezone::utc(), today(), None).unwrap_err();
        for field in [
            "full_name",
            "person_type",
            "email",
            "phone",
            "timezone",
            "birthday",
            "tags",
        ] {
            assert!(
                errors.get(field).is_some(),
                "{field} not reported: {errors}"
            );
        }
    }

    #[test]
    fn tags_are_deduplicated() {
        let mut errors = FieldErrors::new();
        let tags = parse_tags(
            &["VIP".into(), " vip ".into(), "golf".into(), "".into()],
            &mut errors,
        );
        assert_eq!(tags, vec!["VIP", "golf"]);
        assert!(errors.is_empty());
        assert_eq!(split_tags("a, b,,c "), vec!["a", "b", "c"]);
    }
}
