//! Payment-card numbers (PANs) typed into an IM are masked before they are
//! stored: a run of 13–19 digits, optionally grouped by single spaces or
//! dashes, that passes the Luhn check keeps its last four digits and its
//! separators, and every other digit becomes `•` (`4111 1111 1111 1111` →
//! `•••• •••• •••• 1111`). Runs that fail the check (order numbers, phone
//! numbers) are left alone. The Luhn check is a few lines of arithmetic, so it
//! is written here rather than taken from a crate.

/// The mask character.
pub const MASK: char = '•';

/// Whether `digits` (ASCII digits only) passes the Luhn check.
pub fn luhn_valid(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if !i.is_multiple_of(2) {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// `text` with every card number masked; `None` when it holds none (the
/// common case costs one scan and no copy).
pub fn mask_card_numbers(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // A maximal run: digits, with single separators between them.
        let start = i;
        let mut digits = Vec::new();
        let mut end = i;
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii_digit() {
                digits.push(b);
                i += 1;
                end = i;
            } else if (b == b' ' || b == b'-')
                && i + 1 < bytes.len()
                && bytes[i + 1].is_ascii_digit()
                && i > start
            {
                i += 1;
            } else {
                break;
            }
        }
        i = end;
        if (13..=19).contains(&digits.len()) && luhn_valid(&digits) {
            let out = out.get_or_insert_with(|| String::with_capacity(text.len() + 32));
            out.push_str(&text[copied..start]);
            let mut left = digits.len();
            for &b in &bytes[start..end] {
                if b.is_ascii_digit() {
                    out.push(if left > 4 { MASK } else { char::from(b) });
                    left -= 1;
                } else {
                    out.push(char::from(b));
                }
            }
            copied = end;
        }
    }
    out.map(|mut out| {
        out.push_str(&text[copied..]);
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn masked(text: &str) -> String {
        mask_card_numbers(text).unwrap_or_else(|| text.to_owned())
    }

    #[test]
    fn known_card_numbers_are_masked_keeping_the_last_four() {
        assert_eq!(masked("4111 1111 1111 1111"), "•••• •••• •••• 1111");
        assert_eq!(masked("card 4111111111111111."), "card ••••••••••••1111.");
        assert_eq!(masked("5500-0000-0000-0004 ok"), "••••-••••-••••-0004 ok");
        // Amex (15), Visa 13, a 19-digit card.
        assert_eq!(masked("378282246310005"), "•••••••••••0005");
        assert_eq!(masked("4222222222222"), "•••••••••2222");
        assert_eq!(
            masked("4111 1111 1111 1111 and 5555555555554444"),
            "•••• •••• •••• 1111 and ••••••••••••4444"
        );
    }

    #[test]
    fn other_digit_runs_are_left_alone() {
        for text in [
            "4111 1111 1111 1112",   // fails Luhn
            "order 123456789012",    // 12 digits
            "call +41 22 123 45 67", // too short, runs apart
            "41111111111111111111",  // 20 digits
            "4111  1111 1111 1111",  // two spaces split the run
            "no digits at all, é and 🙂",
            "",
        ] {
            assert_eq!(mask_card_numbers(text), None, "{text}");
        }
    }

    /// A Luhn-valid number of `len` digits starting with `prefix` digits.
    fn card(prefix: Vec<u8>, len: usize) -> Vec<u8> {
        let mut digits: Vec<u8> = prefix
            .into_iter()
            .map(|d| b'0' + d % 10)
            .take(len - 1)
            .collect();
        while digits.len() < len - 1 {
            digits.push(b'0');
        }
        for check in b'0'..=b'9' {
            digits.push(check);
            if luhn_valid(&digits) {
                return digits;
            }
            digits.pop();
        }
        unreachable!("one check digit always fits")
    }

    proptest! {
        #[test]
        fn any_card_in_any_text_is_masked(
            before in "[a-zA-Z ,.é]{0,20}",
            after in "[a-zA-Z ,.é]{0,20}",
            prefix in proptest::collection::vec(0u8..10, 19),
            len in 13usize..=19,
            group in 0usize..3,
        ) {
            let digits = card(prefix, len);
            let separator = ["", " ", "-"][group];
            let number: String = digits
                .chunks(4)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
                .join(separator);
            // Keep the card its own run: no digit touches it.
            let text = format!("{before} {number} {after}");
            let out = masked(&text);
            let last4 = std::str::from_utf8(&digits[len - 4..]).unwrap();
            let kept: String = out.chars().filter(char::is_ascii_digit).collect();
            prop_assert_eq!(kept.as_str(), last4);
            prop_assert_eq!(out.chars().count(), text.chars().count());
            prop_assert_eq!(out.chars().filter(|&c| c == MASK).count(), len - 4);
            // Masking is stable: a masked text has no card left.
            prop_assert_eq!(mask_card_numbers(&out), None);
        }

        #[test]
        fn masking_only_hides_digits_and_leaves_no_card(text in "[0-9 a-z-]{0,60}") {
            let out = masked(&text);
            prop_assert_eq!(out.chars().count(), text.chars().count());
            for (was, is) in text.chars().zip(out.chars()) {
                prop_assert!(was == is || (was.is_ascii_digit() && is == MASK));
            }
            prop_assert_eq!(mask_card_numbers(&out), None);
        }
    }
}
