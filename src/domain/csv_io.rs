//! Clients in and out as CSV: the import's reading of a file into person inputs (one per row,
//! with the row's line number), and the export's writing of the directory.

use super::person::split_tags;
use super::{FieldErrors, Person, PersonInput};
use serde::{Deserialize, Serialize};

/// The columns the export writes and the import reads, in order.
pub const COLUMNS: &[&str] = &[
    "full_name",
    "preferred_name",
    "person_type",
    "email",
    "phone",
    "timezone",
    "birthday",
    "tags",
    "external_id",
    "locale",
    "marketing_consent",
    "notes",
];

/// The most rows one import takes.
pub const MAX_ROWS: usize = 10_000;

/// One row of an import file, read but not yet checked against the rules for people.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportRow {
    /// The line of the file the row starts on (the header is line 1).
    pub line: u64,
    pub input: PersonInput,
    /// What was wrong with the row's cells before any rule was applied.
    pub problems: FieldErrors,
}

/// What became of one imported row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportOutcome {
    pub line: u64,
    pub name: String,
    pub person_id: Option<uuid::Uuid>,
    /// Created (rather than updated through its external id).
    pub created: bool,
    pub error: Option<String>,
}

/// The column a header names: case, spaces and a few common names are forgiven.
fn column(header: &str) -> Option<&'static str> {
    let h = header.trim().to_lowercase().replace([' ', '-'], "_");
    let h = match h.as_str() {
        "name" | "full" => "full_name",
        "type" => "person_type",
        "e_mail" | "email_address" => "email",
        "phone_number" | "mobile" => "phone",
        "time_zone" | "tz" => "timezone",
        "date_of_birth" | "dob" => "birthday",
        "language" => "locale",
        "consent" => "marketing_consent",
        other => other,
    };
    COLUMNS.iter().find(|c| **c == h).copied()
}

fn consent(cell: &str) -> Result<Option<bool>, String> {
    match cell.trim().to_lowercase().as_str() {
        "" => Ok(None),
        "yes" | "y" | "true" | "1" => Ok(Some(true)),
        "no" | "n" | "false" | "0" => Ok(Some(false)),
        other => Err(format!("'{other}' is not yes or no")),
    }
}

/// Reads a CSV file of clients. The whole file is refused (with the reason) when its header
/// is unusable or it is too long; otherwise each row comes back with its own problems.
pub fn parse_clients(text: &str) -> Result<Vec<ImportRow>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("the header row cannot be read: {e}"))?
        .clone();
    let mut columns = Vec::with_capacity(headers.len());
    for h in headers.iter() {
        match column(h) {
            Some(c) if columns.contains(&Some(c)) => {
                return Err(format!("the column '{c}' appears twice"))
            }
            Some(c) => columns.push(Some(c)),
            None if h.trim().is_empty() => columns.push(None),
            None => {
                return Err(format!(
                    "the column '{h}' is not one Concierge knows ({})",
                    COLUMNS.join(", ")
                ))
            }
        }
    }
    if !columns.contains(&Some("full_name")) {
        return Err("the file needs a full_name (or name) column".into());
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("the file cannot be read: {e}"))?;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(format!("at most {MAX_ROWS} rows can be imported at once"));
        }
        // The line the row starts on, counted from its byte offset (blank lines included).
        // Blank lines before the row count too, though the reader's position is before them.
        let line = record
            .position()
            .and_then(|p| text.split_at_checked(p.byte() as usize))
            .map(|(before, rest)| {
                let blank = rest.len() - rest.trim_start_matches(['\r', '\n']).len();
                (before.matches('\n').count() + rest[..blank].matches('\n').count()) as u64 + 1
            })
            .unwrap_or_default();
        let mut row = ImportRow {
            line,
            ..Default::default()
        };
        if record.len() > columns.len() {
            row.problems.add(
                "row",
                format!(
                    "has {} cells but the header has {}",
                    record.len(),
                    columns.len()
                ),
            );
        }
        for (cell, col) in record.iter().zip(&columns) {
            let cell = restore(cell);
            let value = (!cell.is_empty()).then(|| cell.to_string());
            let input = &mut row.input;
            match col {
                Some("full_name") => input.full_name = value,
                Some("preferred_name") => input.preferred_name = value,
                Some("person_type") => input.person_type = value,
                Some("email") => input.email = value,
                Some("phone") => input.phone = value,
                Some("timezone") => input.timezone = value,
                Some("birthday") => input.birthday = value,
                Some("tags") => input.tags = Some(split_tags(&cell.replace(';', ","))),
                Some("external_id") => input.external_id = value,
                Some("locale") => input.locale = value,
                Some("notes") => input.notes = value,
                Some("marketing_consent") => match consent(cell) {
                    Ok(c) => input.marketing_consent = c,
                    Err(m) => row.problems.add("marketing_consent", m),
                },
                _ => {}
            }
        }
        if row.input.marketing_consent.is_some() {
            row.input.consent_source = Some("import".into());
        }
        rows.push(row);
    }
    Ok(rows)
}

/// The characters that make a spreadsheet read a cell as a formula when it starts with one.
const FORMULA_STARTS: &[char] = &['=', '+', '-', '@', '\t', '\r'];

/// A text cell made safe to open in a spreadsheet (CSV injection): one that starts like a
/// formula gets a leading `'`, which spreadsheets show as text and [`parse_clients`] takes off
/// again.
pub fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// [`defuse`] undone: the cell as it was exported.
fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest,
        _ => cell,
    }
}

/// The directory as CSV, in [`COLUMNS`] order, readable back by [`parse_clients`]. Every text
/// cell is [`defuse`]d.
pub fn export_clients(people: &[Person]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(COLUMNS);
    for p in people {
        let birthday = p.birthday.map(|b| b.to_string()).unwrap_or_default();
        let tags = p.tags.join("; ");
        let _ = writer.write_record(
            [
                p.full_name.as_str(),
                p.preferred_name.as_deref().unwrap_or_default(),
                p.person_type.as_str(),
                p.email.as_deref().unwrap_or_default(),
                p.phone.as_deref().unwrap_or_default(),
                p.timezone.as_str(),
                birthday.as_str(),
                tags.as_str(),
                p.external_id.as_deref().unwrap_or_default(),
                p.locale.as_deref().unwrap_or_default(),
                if p.marketing_consent { "yes" } else { "no" },
                p.notes.as_deref().unwrap_or_default(),
            ]
            .map(defuse)
            .iter()
            .map(|c| c.as_bytes()),
        );
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_come_back_as_they_were() {
        assert_eq!(defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse("+44 20 7946 0000"), "'+44 20 7946 0000");
        assert_eq!(defuse("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse("-1"), "'-1");
        assert_eq!(defuse("Ada"), "Ada");
        assert_eq!(defuse("'quoted'"), "'quoted'");
        let person: Person = serde_json::from_value(serde_json::json!({
            "id": uuid::Uuid::nil(), "org_id": uuid::Uuid::nil(),
            "full_name": "=cmd|' /C calc'!A0", "person_type": "client",
            "phone": "+447700900123", "timezone": "UTC", "tags": [], "notes": "@risk",
            "marketing_consent": false, "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        let csv = export_clients(&[person]);
        assert!(csv.contains("'=cmd") && csv.contains("'+447700900123") && csv.contains("'@risk"));
        let back = parse_clients(&csv).unwrap();
        assert_eq!(
            back[0].input.full_name.as_deref(),
            Some("=cmd|' /C calc'!A0")
        );
        assert_eq!(back[0].input.phone.as_deref(), Some("+447700900123"));
        assert_eq!(back[0].input.notes.as_deref(), Some("@risk"));
    }

    #[test]
    fn headers_are_forgiven_and_rows_numbered() {
        let text = "\u{feff}Name,E-mail,Tags,Consent\nAda Lovelace,ada@example.com,\"vip; engines\",yes\n\n\"Grace\nHopper\",,,maybe\n";
        let rows = parse_clients(text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].input.full_name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(
            rows[0].input.tags,
            Some(vec!["vip".into(), "engines".into()])
        );
        assert_eq!(rows[0].input.marketing_consent, Some(true));
        assert_eq!(rows[1].line, 4);
        assert!(rows[1].problems.get("marketing_consent").is_some());
    }

    #[test]
    fn unusable_files_are_refused_with_the_reason() {
        assert!(parse_clients("email\nx@example.com")
            .unwrap_err()
            .contains("full_name"));
        assert!(parse_clients("name,shoe size\nAda,5")
            .unwrap_err()
            .contains("shoe size"));
        assert!(parse_clients("name,full_name\nAda,Ada")
            .unwrap_err()
            .contains("twice"));
    }
}
