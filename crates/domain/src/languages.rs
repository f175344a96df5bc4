//! The language repository of seed 003: the languages a business card may be written in, each
//! named in its own language and in every other one. The names are CLDR's, generated into
//! `languages/cldr.rs` by `tools/cldr_languages.py` (Unicode License v3, in
//! `languages/UNICODE-LICENSE.txt`), never typed by hand.

mod cldr;

/// The code of a card's "universal" version, for a card without a language (seed 003).
pub const UNIVERSAL: &str = "un";

/// The ISO 639-1 codes of the repository, in alphabetical order.
pub fn codes() -> &'static [&'static str] {
    &cldr::CODES
}

fn index(code: &str) -> Option<usize> {
    cldr::CODES.binary_search(&code).ok()
}

/// Whether `code` is a language of the repository.
pub fn is_known(code: &str) -> bool {
    index(code).is_some()
}

/// Whether a business card may have a version in `code`: a language of the repository, or
/// [`UNIVERSAL`].
pub fn is_card_language(code: &str) -> bool {
    code == UNIVERSAL || is_known(code)
}

/// Each language's name in itself (`ru` → `русский`), by code.
pub fn local_names() -> Vec<(&'static str, &'static str)> {
    cldr::CODES
        .iter()
        .enumerate()
        .map(|(i, code)| (*code, cldr::NAMES[i][i]))
        .filter(|(_, name)| !name.is_empty())
        .collect()
}

/// Every language's name in language `lang` (`fr`: `en` → `anglais`), by code; `None` when
/// `lang` is not in the repository.
pub fn names_in(lang: &str) -> Option<Vec<(&'static str, &'static str)>> {
    let row = &cldr::NAMES[index(lang)?];
    Some(
        cldr::CODES
            .iter()
            .zip(row.iter())
            .map(|(code, name)| (*code, *name))
            .filter(|(_, name)| !name.is_empty())
            .collect(),
    )
}

/// The name of language `code` in language `lang`, when the repository has it.
pub fn name_in(lang: &str, code: &str) -> Option<&'static str> {
    let name = cldr::NAMES[index(lang)?][index(code)?];
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_has_the_seeds_60_languages_sorted() {
        assert!(codes().len() >= 60, "{}", codes().len());
        assert!(codes().windows(2).all(|w| w[0] < w[1]));
        assert!(codes().iter().all(|c| c.len() == 2));
        assert!(is_card_language(UNIVERSAL) && !is_known(UNIVERSAL));
        assert!(!is_card_language("xx"));
    }

    #[test]
    fn every_language_is_named_in_itself() {
        assert_eq!(local_names().len(), codes().len());
        assert_eq!(names_in("zz"), None);
        assert_eq!(name_in("fr", "zz"), None);
        let fr = names_in("fr").unwrap_or_default();
        assert_eq!(fr.len(), codes().len());
    }
}
