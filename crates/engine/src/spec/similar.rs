//! Finding the names closest to a mistyped one, for "did you mean" lists.

/// The `n` candidates closest to `name` by edit distance, closest first (ties in the given order).
pub(crate) fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>, n: usize) -> Vec<String> {
    let mut scored: Vec<(usize, usize, &str)> =
        candidates.enumerate().map(|(i, c)| (edit_distance(name, c), i, c)).collect();
    scored.sort_unstable();
    scored.into_iter().take(n).map(|(_, _, c)| c.to_string()).collect()
}

/// Levenshtein distance over characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn closest_names_first() {
        let names = ["C1N2_Wh_hbb_1000_0", "C1N2_Wh_hbb_700_150", "C1N2_Wh_hbb_1000_100"];
        let got = closest("C1N2_Wh_hbb_1000_1", names.into_iter(), 2);
        assert_eq!(got, ["C1N2_Wh_hbb_1000_0", "C1N2_Wh_hbb_1000_100"]);
    }
}
