//! The `/alignak_logs` search syntax (upstream-spec §11, 0.6.0 rules), decoded into a store
//! query: `key:value` or `key:"quoted value"`, bare words are `host_name`, `!` negates.
//! Several values of one field match any of them; different fields must all match (the
//! original let the last `$or` overwrite the others). Values match as substrings, not as
//! regular expressions; negation works (it never matched upstream). Keys are case-insensitive;
//! unknown keys are ignored, as in the original.

use crate::store::model::{Condition, HISTORY_FIELDS};

/// `(key, value)` tokens in order; `key` is `None` for a bare word.
fn tokens(search: &str) -> Vec<(Option<String>, String)> {
    let chars: Vec<char> = search.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let read_value = |i: &mut usize| -> String {
        if let Some(&quote) = chars.get(*i).filter(|c| **c == '"' || **c == '\'') {
            let start = *i + 1;
            let end = chars[start..]
                .iter()
                .position(|c| *c == quote)
                .map_or(chars.len(), |p| start + p);
            *i = (end + 1).min(chars.len());
            return chars[start..end].iter().collect();
        }
        let start = *i;
        while *i < chars.len() && !chars[*i].is_whitespace() {
            *i += 1;
        }
        chars[start..*i].iter().collect()
    };
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let key_end = (i..chars.len())
            .find(|j| !(chars[*j].is_alphanumeric() || chars[*j] == '_'))
            .unwrap_or(chars.len());
        if key_end > i && chars.get(key_end) == Some(&':') {
            let key: String = chars[i..key_end].iter().collect();
            i = key_end + 1;
            let value = read_value(&mut i);
            out.push((Some(key), value));
        } else {
            let value = read_value(&mut i);
            out.push((None, value));
        }
    }
    out
}

/// The keys of `search` that are no searchable field, in order (`/alignak_logs` refuses
/// them with a 400 rather than answering the whole history).
pub fn unknown_fields(search: &str) -> Vec<String> {
    let mut unknown: Vec<String> = Vec::new();
    for (key, _) in tokens(search) {
        if let Some(key) = key.map(|k| k.to_lowercase()) {
            if !HISTORY_FIELDS.contains(&key.as_str()) && !unknown.contains(&key) {
                unknown.push(key);
            }
        }
    }
    unknown
}

/// A search the store will not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    /// Each term costs a test of every history row: the count is bounded
    /// (`max_search_terms`) so that no one search holds a read connection for long.
    #[error("The search has {found} terms; at most {limit} are accepted (max_search_terms).")]
    TooManyTerms { found: usize, limit: usize },
}

/// The search's filters, or an error when it has more than `max_terms` terms (every
/// `key:value` or bare word counts, also those ignored).
pub fn decode(
    search: &str,
    max_terms: usize,
) -> Result<Vec<(&'static str, Vec<Condition>)>, SearchError> {
    let tokens = tokens(search);
    if tokens.len() > max_terms {
        return Err(SearchError::TooManyTerms {
            found: tokens.len(),
            limit: max_terms,
        });
    }
    let mut filters: Vec<(&'static str, Vec<Condition>)> = Vec::new();
    for (key, value) in tokens {
        let key = key.map_or_else(|| "host_name".to_string(), |k| k.to_lowercase());
        let Some(field) = HISTORY_FIELDS.iter().find(|f| **f == key) else {
            log::warn!("/alignak_logs: '{key}' is not a searchable field; ignored");
            continue;
        };
        let (negated, value) = match value.strip_prefix('!') {
            Some(rest) => (true, rest.to_string()),
            None => (false, value),
        };
        if value.is_empty() {
            continue;
        }
        let condition = Condition { negated, value };
        match filters.iter_mut().find(|(f, _)| f == field) {
            Some((_, conditions)) => conditions.push(condition),
            None => filters.push((field, vec![condition])),
        }
    }
    Ok(filters)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(negated: bool, value: &str) -> Condition {
        Condition {
            negated,
            value: value.into(),
        }
    }

    #[test]
    fn the_originals_examples_and_fixes() {
        for (search, expected) in [
            ("", vec![]),
            (
                "type:check.result",
                vec![("type", vec![c(false, "check.result")])],
            ),
            (
                "user_name:Alignak host_name:denice",
                vec![
                    ("user_name", vec![c(false, "Alignak")]),
                    ("host_name", vec![c(false, "denice")]),
                ],
            ),
            (
                "host_name:denice host_name:srv001",
                vec![("host_name", vec![c(false, "denice"), c(false, "srv001")])],
            ),
            (
                "\"host_name:chazay service_name=Processus\"",
                vec![(
                    "host_name",
                    vec![c(false, "host_name:chazay service_name=Processus")],
                )],
            ),
            ("chazay", vec![("host_name", vec![c(false, "chazay")])]),
            ("name:chazay", vec![]),
            (
                "host_name:!chazay",
                vec![("host_name", vec![c(true, "chazay")])],
            ),
            ("Host_Name:x", vec![("host_name", vec![c(false, "x")])]),
            (
                "message:'two words'  service_name:\"a b\"",
                vec![
                    ("message", vec![c(false, "two words")]),
                    ("service_name", vec![c(false, "a b")]),
                ],
            ),
        ] {
            assert_eq!(decode(search, 100), Ok(expected), "{search}");
        }
    }

    #[test]
    fn more_terms_than_the_limit_are_refused_naming_it() {
        let search = ["h"; 11].join(" ");
        assert_eq!(decode(&search, 11).map(|f| f[0].1.len()), Ok(11));
        let err = decode(&format!("{search} x:y"), 11).unwrap_err();
        assert_eq!(
            err,
            SearchError::TooManyTerms {
                found: 12,
                limit: 11
            }
        );
        assert!(err.to_string().contains("max_search_terms"), "{err}");
    }
}
