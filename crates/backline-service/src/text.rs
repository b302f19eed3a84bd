//! Text folding for search and validation of user-supplied text.

use unicode_normalization::UnicodeNormalization;

/// Lower-cases and strips accents ("Ébène" → "ebene"), so that search is
/// case- and accent-insensitive on both backends with a plain LIKE.
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// [`fold`] of one character, kept to one character (the first of its
/// folding, or itself): lets a snippet map folded positions back to the
/// original text without allocating per character.
pub fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut base = c;
    let mut found = false;
    unicode_normalization::char::decompose_canonical(c, |d| {
        if !found && !unicode_normalization::char::is_combining_mark(d) {
            base = d;
            found = true;
        }
    });
    base.to_lowercase().next().unwrap_or(base)
}

/// Escapes LIKE wildcards (`%`, `_`, `\`) so user text matches literally.
pub fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_removes_case_and_accents() {
        assert_eq!(fold("Élodie Müller"), "elodie muller");
        assert_eq!(fold("ÇA"), "ca");
    }

    #[test]
    fn fold_char_agrees_with_fold() {
        for c in "Élodie Müller ÇA ß 1".chars() {
            assert_eq!(
                Some(fold_char(c)),
                fold(&c.to_string()).chars().next(),
                "{c}"
            );
        }
    }

    #[test]
    fn like_escape_neutralises_wildcards() {
        assert_eq!(like_escape("50%_a\\"), "50\\%\\_a\\\\");
    }
}
