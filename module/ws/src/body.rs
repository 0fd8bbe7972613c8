//! Reading a JSON request body within `max_body_size`, before the request's deadline, and
//! parsing it strictly: a key twice in one object is refused (a filtering proxy and the
//! daemon would otherwise read different requests), and a top-level array stops at the
//! batch limit while it is parsed, so an oversized batch costs no more than the limit.

use std::cell::Cell;
use std::fmt;

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Limited};
use hyper::body::Bytes;
use hyper::{header, Request};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::error::ApiError;

/// A request's body: hyper's from a connection (`server`), any other in tests (an
/// in-process request), behind one type so that the router and the handlers take both.
pub type Body = BoxBody<Bytes, hyper::Error>;

/// When the request must have been read whole; the server puts it in the request's
/// extensions (a request without one, in unit tests, has no deadline).
#[derive(Debug, Clone, Copy)]
pub struct Deadline(pub Instant);

/// Whether the request says its body is JSON (`application/json` or `application/*+json`,
/// parameters such as `charset` allowed).
fn declares_json(request: &Request<Body>) -> bool {
    let Some(value) = request.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    // Only the essence is parsed: parameters are ignored, as they always were here, even
    // malformed ones (`mime` refuses the whole value over a bad or spaced parameter).
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Ok(media_type) = essence.parse::<mime::Mime>() else {
        return false;
    };
    media_type.type_() == mime::APPLICATION
        && (media_type.subtype() == mime::JSON || media_type.suffix() == Some(mime::JSON))
}

/// Reads the body as JSON. An empty JSON body is `Null`; a body not declared as JSON is 415
/// (as the original's CherryPy answered); over `limit` bytes is 413, decided from
/// `Content-Length` before reading when the client sent one.
pub async fn read_json(request: Request<Body>, limit: usize) -> Result<Value, ApiError> {
    read_json_batch(request, limit, usize::MAX).await
}

/// `read_json` for an endpoint that takes batches: a top-level array of more than
/// `max_items` items is 413.
pub async fn read_json_batch(
    request: Request<Body>,
    limit: usize,
    max_items: usize,
) -> Result<Value, ApiError> {
    check_declared_length(&request, limit)?;
    if !declares_json(&request) {
        return Err(ApiError::NotJson);
    }
    let bytes = read_bytes(request, limit).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    parse(&bytes, max_items)
}

/// Reads a body that may be absent: no body at all is `None`, whatever the content type
/// (`curl -u user:password -X POST` sends none); a body must be JSON, as for `read_json`.
pub async fn read_optional_json(
    request: Request<Body>,
    limit: usize,
) -> Result<Option<Value>, ApiError> {
    check_declared_length(&request, limit)?;
    let declared_json = declares_json(&request);
    let bytes = read_bytes(request, limit).await?;
    if bytes.is_empty() {
        return Ok(None);
    }
    if !declared_json {
        return Err(ApiError::NotJson);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Some(Value::Null));
    }
    parse(&bytes, usize::MAX).map(Some)
}

fn check_declared_length(request: &Request<Body>, limit: usize) -> Result<(), ApiError> {
    let declared_length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared_length.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::BodyTooLarge { limit });
    }
    Ok(())
}

async fn read_bytes(request: Request<Body>, limit: usize) -> Result<Bytes, ApiError> {
    let deadline = request.extensions().get::<Deadline>().copied();
    let collect = Limited::new(request.into_body(), limit).collect();
    let collected = match deadline {
        Some(Deadline(at)) => match tokio::time::timeout_at(at, collect).await {
            Ok(collected) => collected,
            Err(_) => return Err(ApiError::RequestTimeout),
        },
        None => collect.await,
    };
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => {
            Err(ApiError::BodyTooLarge { limit })
        }
        Err(err) => Err(ApiError::Invalid {
            message: format!("The request body could not be read: {err}"),
            key: crate::error::ErrorKey::Issues,
        }),
    }
}

/// Why a body that is valid JSON is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Refusal {
    DuplicateKey(String),
    TooManyItems(usize),
}

fn parse(bytes: &[u8], max_items: usize) -> Result<Value, ApiError> {
    let refusal = Cell::new(None);
    let seed = StrictValue {
        top: true,
        max_items,
        refusal: &refusal,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = seed
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    match (parsed, refusal.take()) {
        (Ok(value), _) => Ok(value),
        (Err(_), Some(Refusal::DuplicateKey(key))) => Err(ApiError::invalid_legacy(format!(
            "The key '{}' appears twice in an object of the request body: each key may appear once.",
            key.escape_debug()
        ))),
        (Err(_), Some(Refusal::TooManyItems(limit))) => Err(ApiError::TooManyItems { limit }),
        (Err(err), None) => Err(ApiError::MalformedJson(err.to_string())),
    }
}

/// A `serde_json::Value`, built as serde_json's own visitor does, but refusing duplicate
/// keys and a top-level array over `max_items`; `refusal` says which, as serde's error
/// carries only text.
#[derive(Clone, Copy)]
struct StrictValue<'a> {
    top: bool,
    max_items: usize,
    refusal: &'a Cell<Option<Refusal>>,
}

impl StrictValue<'_> {
    fn nested(self) -> Self {
        StrictValue { top: false, ..self }
    }

    fn refuse<E: de::Error>(self, refusal: Refusal) -> E {
        self.refusal.set(Some(refusal));
        E::custom("refused")
    }
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.nested())? {
            if self.top && items.len() == self.max_items {
                return Err(self.refuse(Refusal::TooManyItems(self.max_items)));
            }
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(self.refuse(Refusal::DuplicateKey(key)));
            }
            let value = map.next_value_seed(self.nested())?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with_content_type(value: &str) -> Request<Body> {
        let body = http_body_util::Empty::<Bytes>::new()
            .map_err(|never| match never {})
            .boxed();
        Request::builder()
            .header(header::CONTENT_TYPE, value)
            .body(body)
            .unwrap()
    }

    #[test]
    fn json_is_any_case_with_any_parameters_or_a_json_suffix() {
        for value in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/json ; charset",
            "application/vnd.api+json",
        ] {
            assert!(declares_json(&with_content_type(value)), "{value}");
        }
        for value in [
            "text/plain",
            "application/jsonx",
            "application/",
            "json",
            "",
        ] {
            assert!(!declares_json(&with_content_type(value)), "{value}");
        }
    }

    fn refusal(body: &str, max_items: usize) -> String {
        parse(body.as_bytes(), max_items).unwrap_err().to_string()
    }

    #[test]
    fn values_are_serde_jsons() {
        for body in [
            r#"{"a": [1, -2, 3.5, "x", null, true, {"b": {}}], "c": "\u00e9"}"#,
            "[]",
            "18446744073709551615",
            r#""s""#,
        ] {
            let expected: Value = serde_json::from_str(body).unwrap();
            assert_eq!(
                parse(body.as_bytes(), usize::MAX).unwrap(),
                expected,
                "{body}"
            );
        }
    }

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        for (body, key) in [
            (
                r#"{"command":"disable_notifications","command":"shutdown_program"}"#,
                "command",
            ),
            (r#"[{"a":1},{"b":{"x":1,"x":2}}]"#, "x"),
            (r#"{"livestate":[{"state":"UP","state":"DOWN"}]}"#, "state"),
        ] {
            let message = refusal(body, usize::MAX);
            assert!(
                message.contains(&format!("'{key}' appears twice")),
                "{body}: {message}"
            );
        }
        // The same key in two objects is fine.
        assert_eq!(
            parse(br#"[{"a":1},{"a":2}]"#, usize::MAX).unwrap(),
            json!([{"a": 1}, {"a": 2}])
        );
    }

    #[test]
    fn the_top_level_array_stops_at_the_limit() {
        assert_eq!(parse(b"[0,0,0]", 3).unwrap(), json!([0, 0, 0]));
        assert!(matches!(
            parse(b"[0,0,0,0]", 3),
            Err(ApiError::TooManyItems { limit: 3 })
        ));
        // Nested arrays are not batches.
        assert_eq!(parse(b"[[0,0,0,0]]", 3).unwrap(), json!([[0, 0, 0, 0]]));
        // Trailing garbage is still malformed JSON.
        assert!(matches!(parse(b"{} x", 3), Err(ApiError::MalformedJson(_))));
    }
}
