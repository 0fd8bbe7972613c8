//! JSON answers.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{header, Response, StatusCode};
use serde_json::Value;

pub type HttpResponse = Response<Full<Bytes>>;

pub fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    // Serialising a `Value` cannot fail: its map keys are strings.
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// A non-JSON answer (`/metrics`' text exposition).
pub fn text(content_type: &'static str, body: String) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

pub fn ok(body: &Value) -> HttpResponse {
    json_response(StatusCode::OK, body)
}
