//! `/login` and `/logout`. Credentials are verified by a later version: until then no login
//! succeeds, which is the safe answer.

use hyper::Method;
use serde_json::json;

use crate::error::{ApiError, ErrorKey};
use crate::response::{ok, HttpResponse};

pub fn login(method: &Method) -> Result<HttpResponse, ApiError> {
    if method != Method::POST {
        return Err(ApiError::MethodNotAllowed {
            message: "You must only POST on this endpoint.".into(),
            allow: "POST",
            key: ErrorKey::Issues,
        });
    }
    Err(ApiError::Unauthorized)
}

pub fn logout() -> HttpResponse {
    ok(&json!({"_status": "OK", "_result": "Logged out"}))
}
