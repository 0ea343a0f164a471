//! The catalogue of vendors and venues the team trusts, and the recommendations made from it
//! to a person or for a project.

use super::dates::parse_uuid;
use super::person::{bounded, parse_tags, present};
use super::FieldErrors;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VendorKind {
    Venue,
    Restaurant,
    Vendor,
    Product,
}

text_enum!(VendorKind, "a vendor kind", {
    Venue => "venue", Restaurant => "restaurant", Vendor => "vendor", Product => "product",
});

impl VendorKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Venue => "Venue",
            Self::Restaurant => "Restaurant",
            Self::Vendor => "Vendor",
            Self::Product => "Product",
        }
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Vendor {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub kind: VendorKind,
    pub location: Option<String>,
    /// 1 (inexpensive) to 4 (very expensive).
    pub price_level: Option<i32>,
    /// 0 to 5.
    pub rating: Option<f64>,
    #[cfg_attr(feature = "ssr", sqlx(json))]
    pub tags: Vec<String>,
    pub website: Option<String>,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Vendor {
    /// "$$" for a price level of 2.
    pub fn price(&self) -> String {
        "$".repeat(self.price_level.unwrap_or(0).clamp(0, 4) as usize)
    }

    pub fn to_input(&self) -> VendorInput {
        VendorInput {
            name: Some(self.name.clone()),
            kind: Some(self.kind.as_str().into()),
            location: self.location.clone(),
            price_level: self.price_level.map(i64::from),
            rating: self.rating,
            tags: Some(self.tags.clone()),
            website: self.website.clone(),
            notes: self.notes.clone(),
        }
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorInput {
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            required = true,
            nullable = false,
            min_length = 1,
            pattern = r"\S",
            max_length = 200
        )
    )]
    pub name: Option<String>,
    #[serde(default, alias = "category")]
    #[cfg_attr(
        feature = "ssr",
        schema(
            required = true,
            nullable = false,
            pattern = r"^\s*(venue|restaurant|vendor|product)\s*$"
        )
    )]
    pub kind: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(minimum = 1, maximum = 4))]
    pub price_level: Option<i64>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(minimum = 0, maximum = 5))]
    pub rating: Option<f64>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = crate::domain::person::tags_schema))]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            pattern = r"^\s*([hH][tT][tT][pP][sS]?://[^\s/][^\s]*)?\s*$",
            max_length = 500
        )
    )]
    pub website: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VendorDraft {
    pub name: String,
    pub kind: VendorKind,
    pub location: Option<String>,
    pub price_level: Option<i32>,
    pub rating: Option<f64>,
    pub tags: Vec<String>,
    pub website: Option<String>,
    pub notes: Option<String>,
}

fn parse_website(input: &str) -> Result<String, String> {
    let s = input.trim();
    let lower = s.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or_else(|| format!("'{s}' must start with https:// or http://"))?;
    if rest.is_empty() || rest.starts_with('/') || s.chars().any(char::is_whitespace) {
        return Err(format!("'{s}' is not a web address"));
    }
    Ok(s.to_string())
}

impl VendorDraft {
    pub fn parse(input: &VendorInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = match present(&input.name) {
            None => {
                errors.add("name", "is required");
                None
            }
            Some(n) => bounded("name", Some(n), 200, &mut errors),
        };
        let kind = match present(&input.kind) {
            None => {
                errors.add("kind", "is required (venue, restaurant, vendor or product)");
                None
            }
            Some(k) => errors.check("kind", VendorKind::parse(k)),
        };
        let location = bounded("location", present(&input.location), 300, &mut errors);
        let price_level = match input.price_level {
            None => None,
            Some(p) if (1..=4).contains(&p) => Some(p as i32),
            Some(_) => {
                errors.add("price_level", "must be between 1 and 4");
                None
            }
        };
        let rating = match input.rating {
            None => None,
            Some(r) if r.is_finite() && (0.0..=5.0).contains(&r) => Some((r * 10.0).round() / 10.0),
            Some(_) => {
                errors.add("rating", "must be between 0 and 5");
                None
            }
        };
        let tags = parse_tags(input.tags.as_deref().unwrap_or_default(), &mut errors);
        let website = bounded("website", present(&input.website), 500, &mut errors)
            .and_then(|w| errors.check("website", parse_website(&w)));
        let notes = bounded("notes", present(&input.notes), 5_000, &mut errors);
        match (name, kind) {
            (Some(name), Some(kind)) if errors.is_empty() => Ok(Self {
                name,
                kind,
                location,
                price_level,
                rating,
                tags,
                website,
                notes,
            }),
            _ => Err(errors),
        }
    }

    /// Lower-cased text the catalogue search looks in.
    pub fn search_text(&self) -> String {
        let mut parts = vec![self.name.clone()];
        parts.extend(self.location.clone());
        parts.extend(self.tags.iter().cloned());
        parts.join(" ").to_lowercase()
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationStatus {
    #[default]
    Suggested,
    Accepted,
    Declined,
}

text_enum!(RecommendationStatus, "a recommendation status", {
    Suggested => "suggested", Accepted => "accepted", Declined => "declined",
});

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Recommendation {
    pub id: Uuid,
    pub org_id: Uuid,
    pub vendor_id: Uuid,
    /// The vendor's name and kind, as the prototype showed them.
    pub venue_name: String,
    pub category: String,
    pub person_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub notes: Option<String>,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub status: RecommendationStatus,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecommendationInput {
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(required = true, nullable = false, format = Uuid))]
    pub vendor_id: Option<String>,
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            pattern = r"^\s*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})?\s*$"
        )
    )]
    pub person_id: Option<String>,
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            pattern = r"^\s*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})?\s*$"
        )
    )]
    pub project_id: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(pattern = r"^\s*(suggested|accepted|declined)?\s*$")
    )]
    pub status: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RecommendationDraft {
    pub vendor_id: Uuid,
    pub person_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub notes: Option<String>,
    pub status: RecommendationStatus,
}

impl RecommendationDraft {
    pub fn parse(input: &RecommendationInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let vendor_id = match present(&input.vendor_id) {
            None => {
                errors.add("vendor_id", "is required");
                None
            }
            Some(v) => errors.check("vendor_id", parse_uuid("vendor_id", v)),
        };
        let person_id = present(&input.person_id)
            .and_then(|p| errors.check("person_id", parse_uuid("person_id", p)));
        let project_id = present(&input.project_id)
            .and_then(|p| errors.check("project_id", parse_uuid("project_id", p)));
        if present(&input.person_id).is_none() && present(&input.project_id).is_none() {
            errors.add("person_id", "give person_id or project_id (or both)");
        }
        let notes = bounded("notes", present(&input.notes), 5_000, &mut errors);
        let status = match present(&input.status) {
            None => Some(RecommendationStatus::Suggested),
            Some(s) => errors.check("status", RecommendationStatus::parse(s)),
        };
        match (vendor_id, status) {
            (Some(vendor_id), Some(status)) if errors.is_empty() => Ok(Self {
                vendor_id,
                person_id,
                project_id,
                notes,
                status,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_fields_are_checked() {
        let errors = VendorDraft::parse(&VendorInput {
            kind: Some("spaceship".into()),
            price_level: Some(5),
            rating: Some(7.0),
            website: Some("example.com".into()),
            ..Default::default()
        })
        .unwrap_err();
        for f in ["name", "kind", "price_level", "rating", "website"] {
            assert!(errors.get(f).is_some(), "{f}: {errors}");
        }
    }

    #[test]
    fn a_vendor_reads_cleanly() {
        let d = VendorDraft::parse(&VendorInput {
            name: Some(" The Modern ".into()),
            kind: Some("Restaurant".into()),
            rating: Some(4.66),
            price_level: Some(4),
            tags: Some(vec!["michelin".into(), "Michelin".into()]),
            website: Some("https://www.themodernnyc.com".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(d.name, "The Modern");
        assert_eq!(d.kind, VendorKind::Restaurant);
        assert_eq!(d.rating, Some(4.7));
        assert_eq!(d.tags, vec!["michelin"]);
    }

    #[test]
    fn a_recommendation_needs_someone_to_go_to() {
        let errors = RecommendationDraft::parse(&RecommendationInput {
            vendor_id: Some(Uuid::nil().to_string()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(errors.get("person_id").is_some());
    }
}
