//! Reading a JSON request body within `max_body_size`.

use http_body_util::{BodyExt, Limited};
use hyper::body::{Bytes, Incoming};
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
    check_declared_length(&request, limit)?;
    if !declares_json(&request) {
        return Err(ApiError::NotJson);
    }
    let bytes = read_bytes(request, limit).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    parse(&bytes)
}

/// Reads a body that may be absent: no body at all is `None`, whatever the content type
/// (`curl -u user:password -X POST` sends none); a body must be JSON, as for `read_json`.
pub async fn read_optional_json(
    request: Request<Incoming>,
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
    parse(&bytes).map(Some)
}

fn check_declared_length(request: &Request<Incoming>, limit: usize) -> Result<(), ApiError> {
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

async fn read_bytes(request: Request<Incoming>, limit: usize) -> Result<Bytes, ApiError> {
    match Limited::new(request.into_body(), limit).collect().await {
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

fn parse(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))
}
