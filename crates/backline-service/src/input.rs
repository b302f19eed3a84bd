//! Rules for text that comes in from outside, applied at the boundary.
//!
//! * **No NUL anywhere.** U+0000 is refused in every text input — JSON
//!   bodies (at any depth: case data, custom fields, stored JSON values),
//!   WebSocket frames, query strings, path segments, imported files — with
//!   `invalid_request` naming the field. PostgreSQL cannot store it in text,
//!   and no client has a reason to send it; refusing it on both engines keeps
//!   them alike. The check is lexical ([`json_has_nul`]: a `\u0000` escape in
//!   the JSON text, the only way JSON can carry a NUL), so a request without
//!   one pays a byte scan and no second parse.
//! * **Single-line names** ([`single_line_name`]: display names, group
//!   names, Not Ready reasons, integration names, the click-to-call name,
//!   contact names) are trimmed (white space and zero-width characters at the
//!   edges), length-bounded, and refused when they hold a control character
//!   (NUL, line breaks, tabs, C1), a line or paragraph separator, or a bidi
//!   embedding, override or isolate (U+202A–U+202E, U+2066–U+2069), which
//!   would let a name disguise itself or the text shown after it.

use backline_protocol::ErrorCode;
use serde_json::Value;

use crate::error::{err, Result, ServiceError};

/// Whether a JSON text (a body or a frame) carries a NUL: a `\u0000`
/// escape whose backslash is not itself escaped. A raw NUL byte is not
/// valid JSON, so the parser refuses it anyway.
pub fn json_has_nul(raw: &[u8]) -> bool {
    const ESCAPE: &[u8] = b"u0000";
    let mut backslashes = 0usize;
    for (i, &byte) in raw.iter().enumerate() {
        if byte == b'\\' {
            backslashes += 1;
            continue;
        }
        if backslashes % 2 == 1 && raw[i..].starts_with(ESCAPE) {
            return true;
        }
        backslashes = 0;
    }
    false
}

/// The path (`first_message.text`, `case_data[2].value`, a key itself) of
/// the first string holding a NUL in a JSON value.
pub fn nul_path(value: &Value) -> Option<String> {
    fn walk(value: &Value, path: &mut String) -> Option<String> {
        match value {
            Value::String(s) if s.contains('\0') => Some(path.clone()),
            Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(item, path);
                path.truncate(len);
                found
            }),
            Value::Object(map) => map.iter().find_map(|(key, item)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                if key.contains('\0') {
                    path.push_str("(a field name)");
                    return Some(path.clone());
                }
                path.push_str(key);
                let found = walk(item, path);
                path.truncate(len);
                found
            }),
            _ => None,
        }
    }
    walk(value, &mut String::new())
}

/// The refusal of a NUL in `field`.
pub fn nul_error(field: &str) -> ServiceError {
    let field = if field.is_empty() {
        "the request"
    } else {
        field
    };
    err(
        ErrorCode::InvalidRequest,
        format!("{field}: contains a NUL character (U+0000), which no text may hold"),
    )
}

/// Refuses a JSON text (a REST body or a socket frame) that carries a NUL,
/// naming the field.
pub fn check_json(raw: &[u8]) -> Result<()> {
    if !json_has_nul(raw) {
        return Ok(());
    }
    let field = serde_json::from_slice::<Value>(raw)
        .ok()
        .and_then(|value| nul_path(&value))
        .unwrap_or_default();
    Err(nul_error(&field))
}

/// [`check_json`] for a socket frame: the refusal carries the frame's `rid`
/// (when it has a usable one), so the client can tell which request failed.
pub fn check_frame(raw: &str) -> Result<(), (Option<String>, ServiceError)> {
    if !json_has_nul(raw.as_bytes()) {
        return Ok(());
    }
    let value = serde_json::from_str::<Value>(raw).ok();
    let rid = value
        .as_ref()
        .and_then(|v| v.get("rid"))
        .and_then(Value::as_str)
        .filter(|rid| !rid.contains('\0'))
        .map(str::to_owned);
    let field = value.as_ref().and_then(nul_path).unwrap_or_default();
    Err((rid, nul_error(&field)))
}

/// Refuses a parsed JSON value (an imported record) that carries a NUL.
pub fn check_value(value: &Value) -> Result<()> {
    match nul_path(value) {
        Some(field) => Err(nul_error(&field)),
        None => Ok(()),
    }
}

/// Refuses one text field that holds a NUL.
pub fn check_text(field: &str, text: &str) -> Result<()> {
    if text.contains('\0') {
        Err(nul_error(field))
    } else {
        Ok(())
    }
}

/// Characters refused in a single-line name.
fn forbidden_in_name(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}')
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// Zero-width characters: kept inside a name (joined emoji, Indic scripts),
/// trimmed at its edges where they only hide.
fn zero_width(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'
    )
}

/// A single-line name: trimmed, 1 to `max` characters (0 to `max` when
/// `optional`), with none of the characters described in the module
/// documentation. `field` names it in the refusal.
pub fn single_line_name(field: &str, text: &str, max: usize, optional: bool) -> Result<String> {
    let name = text.trim_matches(|c: char| c.is_whitespace() || zero_width(c));
    if let Some(bad) = name.chars().find(|c| forbidden_in_name(*c)) {
        return Err(err(
            ErrorCode::InvalidRequest,
            format!(
                "{field}: one line of text without control or bidi-override characters \
                 (found U+{:04X})",
                bad as u32
            ),
        ));
    }
    let count = name.chars().count();
    if (!optional && count == 0) || count > max {
        let least = if optional { 0 } else { 1 };
        return Err(err(
            ErrorCode::InvalidRequest,
            format!("{field}: {least} to {max} characters"),
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_escape_is_found_and_an_escaped_backslash_is_not() {
        assert!(json_has_nul(br#"{"text":"a\u0000b"}"#));
        assert!(json_has_nul(br#"{"text":"\\\u0000"}"#));
        assert!(!json_has_nul(br#"{"text":"\\u0000"}"#));
        assert!(json_has_nul(br#"["\u00001"]"#));
        assert!(!json_has_nul(br#"{"text":"u0000 \u0001"}"#));
    }

    #[test]
    fn the_refusal_names_the_nested_field() {
        let body = br#"{"case_data":[{"key":"a","value":"ok"},{"key":"b","value":"x\u0000"}]}"#;
        let error = check_json(body).unwrap_err();
        assert_eq!(error.code(), ErrorCode::InvalidRequest);
        assert!(
            error.public_message().starts_with("case_data[1].value:"),
            "{}",
            error.public_message()
        );
        let key = serde_json::json!({"custom": {"a\u{0}": 1}});
        assert!(check_value(&key).is_err());
        assert!(check_value(&serde_json::json!({"a": ["x", 1, null]})).is_ok());
    }

    #[test]
    fn a_frame_refusal_keeps_its_rid() {
        let (rid, error) =
            check_frame(r#"{"type":"send","rid":"r1","session_id":"s","text":"\u0000"}"#)
                .unwrap_err();
        assert_eq!(rid.as_deref(), Some("r1"));
        assert!(error.public_message().starts_with("text:"));
        assert!(check_frame(r#"{"type":"ping"}"#).is_ok());
    }

    #[test]
    fn names_are_trimmed_and_refused_with_line_breaks_controls_or_bidi_overrides() {
        assert_eq!(
            single_line_name("display_name", " \u{200B}Ana Lima\u{FEFF} ", 100, false).unwrap(),
            "Ana Lima"
        );
        // A joiner inside a name stays (a family emoji).
        assert!(single_line_name("n", "A \u{1F468}\u{200D}\u{1F469}", 100, false).is_ok());
        for bad in [
            "a\u{0}b",
            "a\nb",
            "a\tb",
            "a\u{202E}b",
            "a\u{2067}b",
            "a\u{2028}b",
            "a\u{85}b",
        ] {
            let error = single_line_name("display_name", bad, 100, false).unwrap_err();
            assert!(
                error.public_message().starts_with("display_name:"),
                "{bad:?}"
            );
        }
        assert!(single_line_name("n", " \u{200D} ", 100, false).is_err());
        assert_eq!(single_line_name("n", "  ", 100, true).unwrap(), "");
        assert!(single_line_name("n", &"x".repeat(101), 100, false).is_err());
    }
}
