//! "Did you mean ...?" for names a person types: provider ids, connections, variables.
//!
//! A typo (`connect gthub`) should cost one glance, not a trip to `keyhaven providers list`.
//! The closest candidate by Jaro-Winkler similarity (which favours a shared beginning, how names
//! are usually mistyped) is offered when it is close enough to be a likely intent, never more
//! than one, so the message stays one line.

/// The closest of `candidates` to `input`, when similar enough (case-insensitive).
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let input = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&input, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}

/// `" (did you mean X?)"`, or nothing.
pub fn hint<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(input, candidates)
        .map(|c| format!(" (did you mean {c}?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_name_and_nonsense_finds_none() {
        let ids = ["github", "gitlab", "google", "hetzner"];
        assert_eq!(closest("gthub", ids).as_deref(), Some("github"));
        assert_eq!(closest("GitHub", ids).as_deref(), Some("github"));
        assert_eq!(closest("hetzer", ids).as_deref(), Some("hetzner"));
        assert_eq!(closest("zzzz", ids), None);
        assert_eq!(hint("zzzz", ids), "");
    }
}
