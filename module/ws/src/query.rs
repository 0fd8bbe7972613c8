//! Percent-decoding of path segments and query strings.

use std::borrow::Cow;

/// `%41` -> `A`; in a query, `+` is a space. Invalid escapes are kept as they are; bytes
/// that are not UTF-8 make the whole text `None`.
pub fn percent_decode(text: &str, plus_is_space: bool) -> Option<String> {
    // A `+` written `%2B` stays a `+`: spaces are the literal ones only, replaced first.
    let text: Cow<'_, str> = if plus_is_space && text.contains('+') {
        Cow::Owned(text.replace('+', " "))
    } else {
        Cow::Borrowed(text)
    };
    percent_encoding::percent_decode_str(&text)
        .decode_utf8()
        .ok()
        .map(Cow::into_owned)
}

/// The query's `key=value` pairs, decoded, in order.
pub fn pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|part| !part.is_empty())
        .filter_map(|part| {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            Some((percent_decode(key, true)?, percent_decode(value, true)?))
        })
        .collect()
}

/// The last value of `key`.
pub fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding() {
        for (text, plus, expected) in [
            ("a%20b", false, Some("a b")),
            ("a+b", true, Some("a b")),
            ("a+b", false, Some("a+b")),
            ("a%2Bb+c", true, Some("a+b c")),
            ("%C3%A9t%C3%A9", false, Some("été")),
            ("100%", false, Some("100%")),
            ("%zz", false, Some("%zz")),
            ("%4", false, Some("%4")),
            ("%FF", false, None),
        ] {
            assert_eq!(percent_decode(text, plus).as_deref(), expected, "{text}");
        }
    }

    #[test]
    fn query_pairs() {
        let p = pairs(Some("name=web%2001&embedded&count=5&name=x"));
        assert_eq!(param(&p, "name"), Some("x"));
        assert_eq!(param(&p, "embedded"), Some(""));
        assert_eq!(param(&p, "count"), Some("5"));
        assert_eq!(param(&p, "nope"), None);
    }
}
