//! Reading a JSON request body within `max_body_size`.

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{header, Request};
use serde_json::Value;

use crate::error::ApiError;

/// Whether the request says its body is JSON (`application/json` or `application/*+json`,
/// parameters such as `charset` allowed).
fn declares_json(request: &Request<Incoming>) -> bool {
    let Some(value) = request.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let media_type = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    media_type == "application/json"
        || (media_type.starts_with("application/") && media_type.ends_with("+json"))
}

/// Reads the body as JSON. An empty JSON body is `Null`; a body not declared as JSON is 415
/// (as the original's CherryPy answered); over `limit` bytes is 413, decided from
/// `Content-Length` before reading when the client sent one.
pub async fn read_json(request: Request<Incoming>, limit: usize) -> Result<Value, ApiError> {
    let declared_length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared_length.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::BodyTooLarge { limit });
    }
    if !declares_json(&request) {
        return Err(ApiError::NotJson);
    }
    let bytes = match Limited::new(request.into_body(), limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => {
            return Err(ApiError::BodyTooLarge { limit })
        }
        Err(err) => {
            return Err(ApiError::Invalid {
                message: format!("The request body could not be read: {err}"),
                key: crate::error::ErrorKey::Issues,
            })
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))
}
