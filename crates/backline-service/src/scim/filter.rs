//! The SCIM filter subset identity providers send: `attr eq "value"`,
//! joined by `and` (RFC 7644 3.4.2.2). Anything else is `invalidFilter`.

use super::ScimError;

/// One `attr eq value` comparison; `attr` is lower-case, without a schema URN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub attr: String,
    pub value: String,
}

/// Parses a filter into its comparisons (all must hold).
pub fn parse(text: &str) -> Result<Vec<Comparison>, ScimError> {
    let mut rest = text.trim();
    let mut out = Vec::new();
    loop {
        let (attr, after) = take_word(rest);
        if attr.is_empty() {
            return Err(invalid(text, "an attribute name was expected"));
        }
        let attr = strip_urn(attr).to_ascii_lowercase();
        if !attr
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        {
            return Err(invalid(text, "only plain attribute names are supported"));
        }
        let (op, after) = take_word(after.trim_start());
        if !op.eq_ignore_ascii_case("eq") {
            return Err(invalid(text, "only the \"eq\" operator is supported"));
        }
        let (value, after) = take_value(after.trim_start())
            .ok_or_else(|| invalid(text, "a quoted string, true or false was expected after eq"))?;
        out.push(Comparison { attr, value });
        rest = after.trim_start();
        if rest.is_empty() {
            return Ok(out);
        }
        let (joiner, after) = take_word(rest);
        if !joiner.eq_ignore_ascii_case("and") {
            return Err(invalid(text, "only \"and\" may join comparisons"));
        }
        rest = after.trim_start();
    }
}

fn invalid(text: &str, why: &str) -> ScimError {
    ScimError::new(
        400,
        Some("invalidFilter"),
        format!("filter {text:?}: {why} (supported: attribute eq \"value\" [and …])"),
    )
}

/// `urn:ietf:params:scim:schemas:core:2.0:User:userName` → `userName`.
fn strip_urn(attr: &str) -> &str {
    if attr.to_ascii_lowercase().starts_with("urn:") {
        attr.rsplit(':').next().unwrap_or(attr)
    } else {
        attr
    }
}

fn take_word(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| c.is_whitespace() || c == '"')
        .unwrap_or(text.len());
    text.split_at(end)
}

/// A JSON string (with its escapes), `true` or `false`.
fn take_value(text: &str) -> Option<(String, &str)> {
    if text.starts_with('"') {
        let mut escaped = false;
        for (i, c) in text.char_indices().skip(1) {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    let value: String = serde_json::from_str(&text[..=i]).ok()?;
                    return Some((value, &text[i + 1..]));
                }
                _ => escaped = false,
            }
        }
        return None;
    }
    let (word, rest) = take_word(text);
    match word.to_ascii_lowercase().as_str() {
        "true" | "false" => Some((word.to_ascii_lowercase(), rest)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(attr: &str, value: &str) -> Comparison {
        Comparison {
            attr: attr.into(),
            value: value.into(),
        }
    }

    #[test]
    fn the_forms_identity_providers_send_parse() {
        assert_eq!(
            parse(r#"userName eq "Test_User@contoso.com""#).unwrap(),
            [one("username", "Test_User@contoso.com")]
        );
        assert_eq!(
            parse(r#"externalId EQ "a \"b\"" and active eq true"#).unwrap(),
            [one("externalid", "a \"b\""), one("active", "true")]
        );
        assert_eq!(
            parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x""#).unwrap(),
            [one("username", "x")]
        );
        assert_eq!(
            parse(r#"displayName eq "Sales and Support""#).unwrap(),
            [one("displayname", "Sales and Support")]
        );
    }

    #[test]
    fn everything_else_is_an_invalid_filter() {
        for text in [
            "",
            "userName",
            r#"userName sw "a""#,
            r#"userName eq "a" or userName eq "b""#,
            r#"(userName eq "a")"#,
            r#"emails[type eq "work"] eq "x""#,
            r#"userName eq "unterminated"#,
            "userName eq 42",
            r#"userName eq "a" and"#,
            "userName pr",
        ] {
            let error = parse(text).unwrap_err();
            assert_eq!(
                (error.status, error.scim_type),
                (400, Some("invalidFilter")),
                "{text}"
            );
        }
    }
}
