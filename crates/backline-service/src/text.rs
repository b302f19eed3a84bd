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
    fn like_escape_neutralises_wildcards() {
        assert_eq!(like_escape("50%_a\\"), "50\\%\\_a\\\\");
    }
}
