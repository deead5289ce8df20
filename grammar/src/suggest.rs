//! "Did you mean" for misspelled keys and values: one rule for the
//! attributes, the proto options and the settings files.

/// The closest of `choices` to `word`, if close enough to be a likely typo,
/// or a known alias.
///
/// ```
/// use steadfast_grammar::suggest::closest;
/// assert_eq!(closest("timout", &["timeout", "address"], &[]), Some("timeout"));
/// assert_eq!(closest("zzz", &["timeout"], &[]), None);
/// ```
pub fn closest<'a>(
    word: &str,
    choices: &[&'a str],
    aliases: &[(&str, &'a str)],
) -> Option<&'a str> {
    if let Some((_, to)) = aliases.iter().find(|(from, _)| *from == word) {
        return Some(to);
    }
    choices
        .iter()
        .map(|c| (levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3) && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// "`a`, `b`, `c`" for an error message.
///
/// ```
/// assert_eq!(steadfast_grammar::suggest::list(&["a", "b"]), "`a`, `b`");
/// ```
pub fn list(choices: &[&str]) -> String {
    choices
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_near_misses_and_aliases() {
        let keys = ["max", "backoff", "initial"];
        assert_eq!(closest("backof", &keys, &[]), Some("backoff"));
        assert_eq!(
            closest("max_attempts", &keys, &[("max_attempts", "max")]),
            Some("max")
        );
        assert_eq!(closest("zzz", &keys, &[]), None);
    }
}
