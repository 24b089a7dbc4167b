//! Unicode simple case folding (CaseFolding.txt statuses C and S), pinned to one Unicode version so
//! every runtime folds identically whatever its compiler ships.

use super::casefold_table::SIMPLE_CASE_FOLDING;

/// The simple case folding of one character.
pub fn fold_char(c: char) -> char {
    match SIMPLE_CASE_FOLDING.binary_search_by_key(&(c as u32), |&(from, _)| from) {
        Ok(i) => char::from_u32(SIMPLE_CASE_FOLDING[i].1).unwrap_or(c),
        Err(_) => c,
    }
}

/// The simple case folding of a string (SPEC §7: `fold(s)`).
///
/// ```
/// assert_eq!(segcore::binding::fold("ΣΑΣ"), "σασ");
/// assert_eq!(segcore::binding::fold("Straße"), "straße");
/// ```
pub fn fold(s: &str) -> String {
    s.chars().map(fold_char).collect()
}

/// Every (character, its simple case folding) pair of the pinned table, by code point — what
/// the SQL backend spells as one `translate(s, from, to)` (the Kelvin sign K folds to `k`).
pub fn pairs() -> impl Iterator<Item = (char, char)> {
    SIMPLE_CASE_FOLDING.iter().filter_map(|&(from, to)| Some((char::from_u32(from)?, char::from_u32(to)?)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_pairs_hold_the_table() {
        assert!(super::pairs().any(|(from, to)| from == '\u{212A}' && to == 'k'));
        assert!(super::pairs().all(|(from, to)| super::fold(&from.to_string()) == to.to_string()));
    }
}
