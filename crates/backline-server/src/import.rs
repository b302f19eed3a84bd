//! `backline contacts import FILE`: contacts and past interactions from CSV,
//! JSON Lines or a JSON array. Every bad row is reported with its line
//! number; the good ones are loaded.
//!
//! A record with a `contact_external_id` is a past interaction of that
//! contact; any other record is a contact. CSV files hold one kind each (the
//! header tells which): contact columns are `external_id`, `first_name`,
//! `last_name`, `phones` and `emails` (several separated by `;`), and every
//! other non-empty column becomes an attribute; interaction columns are
//! `contact_external_id`, `external_id`, `media`, `started_at` (RFC 3339 or
//! unix milliseconds), `agent` (username), `subject`, `outcome`, `notes`,
//! `transcript`.

use std::path::Path;

use backline_protocol::interactions::{CaseDataItem, ContactInput, Media};
use backline_service::interactions::HistoryRecord;
use backline_service::Backline;
use serde_json::Value;

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub contacts: usize,
    pub interactions: usize,
    /// `(line, message)` of every refused record.
    pub refused: Vec<(usize, String)>,
}

/// One record read from the file, before validation.
enum Record {
    Contact(ContactInput),
    History(HistoryRecord),
}

/// Reads `path` and loads every good record.
pub async fn import_file(backline: &Backline, path: &Path) -> anyhow::Result<ImportReport> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let records = match extension.as_str() {
        "csv" => parse_csv(&text),
        "jsonl" | "ndjson" => parse_json_lines(&text),
        "json" => parse_json_array(&text)?,
        other => {
            anyhow::bail!("unknown file type {other:?}: use .csv, .jsonl (or .ndjson) or .json")
        }
    };
    let mut report = ImportReport::default();
    // Contacts first, so that interactions in the same file find them.
    let (contacts, history): (Vec<_>, Vec<_>) = records
        .into_iter()
        .partition(|(_, r)| matches!(r, Ok(Record::Contact(_))));
    for (line, record) in contacts.into_iter().chain(history) {
        let outcome = match record {
            Err(message) => Err(message),
            Ok(Record::Contact(contact)) => backline
                .import_contact(contact)
                .await
                .map(|_| report.contacts += 1)
                .map_err(|e| format!("{}: {}", e.code(), e.public_message())),
            Ok(Record::History(record)) => backline
                .import_history(record)
                .await
                .map(|_| report.interactions += 1)
                .map_err(|e| format!("{}: {}", e.code(), e.public_message())),
        };
        if let Err(message) = outcome {
            report.refused.push((line, message));
        }
    }
    report.refused.sort();
    Ok(report)
}

fn split_list(text: &str) -> Vec<String> {
    text.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_time(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|_| format!("started_at: {text:?} is neither RFC 3339 nor unix milliseconds"))
}

fn history_record(field: impl Fn(&str) -> Option<String>) -> Result<Record, String> {
    let contact_external_id = field("contact_external_id")
        .filter(|s| !s.is_empty())
        .ok_or("contact_external_id is empty")?;
    let media_text = field("media").unwrap_or_default();
    let media = Media::parse(media_text.trim())
        .ok_or_else(|| format!("media: {media_text:?} is not voice, chat, email or internal_im"))?;
    let started_at = parse_time(&field("started_at").ok_or("started_at is missing")?)?;
    let subject = field("subject").unwrap_or_default();
    let nonempty = |name: &str| field(name).filter(|s| !s.trim().is_empty());
    Ok(Record::History(HistoryRecord {
        contact_external_id,
        external_id: nonempty("external_id"),
        media,
        started_at,
        agent: nonempty("agent"),
        subject,
        outcome: nonempty("outcome"),
        notes: nonempty("notes"),
        transcript: nonempty("transcript"),
    }))
}

const CONTACT_COLUMNS: &[&str] = &["external_id", "first_name", "last_name", "phones", "emails"];

fn parse_csv(text: &str) -> Vec<(usize, Result<Record, String>)> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(headers) => headers
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect(),
        Err(error) => return vec![(1, Err(format!("cannot read the header: {error}")))],
    };
    if headers.iter().any(|h| h.contains('\0')) {
        return vec![(1, Err(nul_message("the header")))];
    }
    let is_history = headers.iter().any(|h| h == "contact_external_id");
    let mut out = Vec::new();
    for result in reader.records() {
        let (line, record) = match result {
            Ok(record) => (
                record.position().map(|p| p.line() as usize).unwrap_or(0),
                record,
            ),
            Err(error) => {
                let line = error.position().map(|p| p.line() as usize).unwrap_or(0);
                out.push((line, Err(format!("malformed CSV: {error}"))));
                continue;
            }
        };
        if let Some(column) = record.iter().position(|value| value.contains('\0')) {
            let name = headers
                .get(column)
                .map(String::as_str)
                .unwrap_or("a column");
            out.push((line, Err(nul_message(name))));
            continue;
        }
        let field = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .and_then(|i| record.get(i))
                .map(|v| v.trim().to_owned())
        };
        let parsed = if is_history {
            history_record(field)
        } else {
            let attributes = headers
                .iter()
                .enumerate()
                .filter(|(_, h)| !CONTACT_COLUMNS.contains(&h.as_str()))
                .filter_map(|(i, h)| {
                    let value = record.get(i)?.trim();
                    (!value.is_empty()).then(|| CaseDataItem {
                        key: h.clone(),
                        value: value.to_owned(),
                    })
                })
                .collect();
            Ok(Record::Contact(ContactInput {
                external_id: field("external_id").filter(|s| !s.is_empty()),
                first_name: field("first_name").unwrap_or_default(),
                last_name: field("last_name").unwrap_or_default(),
                phones: split_list(&field("phones").unwrap_or_default()),
                emails: split_list(&field("emails").unwrap_or_default()),
                attributes,
            }))
        };
        out.push((line, parsed));
    }
    out
}

/// The refusal of a NUL in an imported column.
fn nul_message(column: &str) -> String {
    backline_service::input::nul_error(column).public_message()
}

fn json_record(value: Value) -> Result<Record, String> {
    backline_service::input::check_value(&value).map_err(|e| e.public_message())?;
    let Value::Object(map) = value else {
        return Err("a record must be a JSON object".into());
    };
    let text = |name: &str| -> Option<String> {
        map.get(name).and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    if map.contains_key("contact_external_id") {
        return history_record(text);
    }
    let list = |name: &str| -> Result<Vec<String>, String> {
        match map.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(split_list(s)),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_owned)
                        .ok_or(format!("{name}: only strings"))
                })
                .collect(),
            Some(_) => Err(format!("{name}: a list of strings")),
        }
    };
    let attributes = match map.get("attributes") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(pairs)) => pairs
            .iter()
            .map(|(k, v)| CaseDataItem {
                key: k.clone(),
                value: v
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string()),
            })
            .collect(),
        Some(Value::Array(_)) => serde_json::from_value(map["attributes"].clone())
            .map_err(|e| format!("attributes: {e}"))?,
        Some(_) => return Err("attributes: an object or a list of {key, value}".into()),
    };
    Ok(Record::Contact(ContactInput {
        external_id: text("external_id").filter(|s| !s.is_empty()),
        first_name: text("first_name").unwrap_or_default(),
        last_name: text("last_name").unwrap_or_default(),
        phones: list("phones")?,
        emails: list("emails")?,
        attributes,
    }))
}

fn parse_json_lines(text: &str) -> Vec<(usize, Result<Record, String>)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            let record = serde_json::from_str::<Value>(line)
                .map_err(|e| format!("not JSON: {e}"))
                .and_then(json_record);
            (index + 1, record)
        })
        .collect()
}

fn parse_json_array(text: &str) -> anyhow::Result<Vec<(usize, Result<Record, String>)>> {
    // Keep line numbers: deserialize element by element with a positioned reader.
    let value: Value =
        serde_json::from_str(text).map_err(|e| anyhow::anyhow!("not a JSON document: {e}"))?;
    let Value::Array(items) = value else {
        anyhow::bail!(
            "a .json file must hold an array of records (use .jsonl for one record per line)"
        );
    };
    let lines = element_lines(text);
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            (
                lines.get(index).copied().unwrap_or(index + 1),
                json_record(item),
            )
        })
        .collect())
}

/// The line on which each top-level element of a JSON array starts.
fn element_lines(text: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let (mut depth, mut line, mut in_string, mut escaped, mut expecting) =
        (0i32, 1usize, false, false, false);
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if expecting && depth == 1 && !c.is_whitespace() && c != ']' {
            lines.push(line);
            expecting = false;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => {
                depth += 1;
                if depth == 1 {
                    expecting = true;
                }
            }
            ']' | '}' => depth -= 1,
            ',' if depth == 1 => expecting = true,
            _ => {}
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_lines_follow_the_array() {
        let text = "[\n  {\"a\": \"x,[y]\"},\n\n  {\"b\": 1}, 3\n]";
        assert_eq!(element_lines(text), vec![2, 4, 4]);
    }

    #[test]
    fn times_parse_as_rfc3339_or_milliseconds() {
        assert_eq!(parse_time("1700000000000"), Ok(1_700_000_000_000));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Ok(1_700_000_000_000));
        assert!(parse_time("yesterday").is_err());
    }
}
