//! The one timestamp rule of `/command`, `/host` (livestates) and `/event`.
//!
//! A timestamp is a JSON integer, 0 or more (`12.0` is one, as JSON Schema counts it), or a
//! string of ASCII digits only (no sign, no space, not empty) that fits an `i64`; anything
//! else (`null`, a boolean, `1.5`, `""`, `"+12"`, `" 12"`, `"12.0"`) is refused, never read
//! as "no timestamp". Leaving the key out is the only
//! way to send none. Each endpoint words the refusal as the original did.

use serde_json::Value;

/// The value given is not a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidTimestamp;

/// `None` when the key is absent.
pub fn parse(value: Option<&Value>) -> Result<Option<i64>, InvalidTimestamp> {
    let Some(value) = value else {
        return Ok(None);
    };
    let ts = match value {
        // `1700000000.0` is an integer too (JSON Schema's rule): a client that writes every
        // number as a float is not refused.
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 9.2e18)
                    .map(|f| f as i64)
            })
            .filter(|ts| *ts >= 0),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse::<i64>().ok()
        }
        _ => None,
    };
    ts.map(Some).ok_or(InvalidTimestamp)
}

/// Values the rule refuses, each for a reason of its own: the unit test reads them through
/// [`parse`], the API's tests through every endpoint that takes a timestamp.
#[cfg(test)]
pub(crate) fn not_timestamps() -> [Value; 19] {
    use serde_json::json;
    [
        json!(null),
        json!(false),
        json!(true),
        json!(""),
        json!("+12"),
        json!(" 12"),
        json!("12 "),
        json!("-1"),
        json!(-1),
        json!(1.5),
        json!(-1.0),
        json!(1e300),
        json!("1.5"),
        json!("1.0"),
        json!("abc"),
        json!("99999999999999999999"),
        json!(u64::MAX),
        json!([1]),
        json!({}),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_and_digit_strings_only() {
        assert_eq!(parse(None), Ok(None));
        for (value, expected) in [
            (json!(0), 0),
            (json!(1_700_000_000), 1_700_000_000),
            (json!("0"), 0),
            (json!(1.0), 1),
            (json!(1_700_000_000.0), 1_700_000_000),
            (json!("1700000000"), 1_700_000_000),
        ] {
            assert_eq!(parse(Some(&value)), Ok(Some(expected)), "{value}");
        }
        for value in not_timestamps() {
            assert_eq!(parse(Some(&value)), Err(InvalidTimestamp), "{value}");
        }
    }
}
