//! `/login` and `/logout`, with the original's messages.

use std::net::IpAddr;

use hyper::header::{HeaderValue, SET_COOKIE};
use hyper::{Method, Request};
use serde_json::Value;

use crate::app::App;
use crate::auth::headers::{self, Credentials};
use crate::auth::AuthError;
use crate::body::{read_json, read_optional_json, Body};
use crate::error::{ApiError, ErrorKey};
use crate::response::{answer, Envelope, HttpResponse};

/// The largest `/login` body read: a user name, a password and JSON around them.
pub const LOGIN_BODY_LIMIT: usize = 8 * 1024;

fn invalid(message: &str) -> ApiError {
    ApiError::Invalid {
        message: message.into(),
        key: ErrorKey::Issues,
    }
}

/// The credentials of a `/login` body: `{"username": ..., "password": ...}`, where a missing
/// or empty password makes the user name a token.
fn from_body(body: &Value) -> Result<Credentials, ApiError> {
    let Some(fields) = body.as_object().filter(|o| !o.is_empty()) else {
        return Err(invalid("You must POST parameters on this endpoint."));
    };
    let Some(Value::String(user)) = fields.get("username") else {
        return Err(invalid("Missing username parameter."));
    };
    Ok(match fields.get("password") {
        None | Some(Value::Null) => Credentials::from_pair(user, ""),
        Some(Value::String(password)) => Credentials::from_pair(user, password),
        Some(_) => return Err(invalid("The password must be a string.")),
    })
}

/// `POST /login`: HTTP Basic credentials (which win over the body, as in the original) or a
/// JSON body. Answers the token and sets the session cookie.
pub async fn login(
    app: &App,
    request: Request<Body>,
    peer: IpAddr,
) -> Result<HttpResponse, ApiError> {
    if request.method() != Method::POST {
        return Err(ApiError::MethodNotAllowed {
            message: "You must only POST on this endpoint.".into(),
            allow: "POST",
            key: ErrorKey::Issues,
        });
    }
    // Anyone may send a body here, before any credential is checked: a small one.
    let limit = app.config.max_body_size.min(LOGIN_BODY_LIMIT);
    let too_large = |err| match err {
        ApiError::BodyTooLarge { limit } if limit == LOGIN_BODY_LIMIT => {
            ApiError::LoginBodyTooLarge { limit }
        }
        err => err,
    };
    let credentials = match headers::basic(request.headers()) {
        Some(credentials) => {
            // The header wins (the original's rule), but a body that is sent must still be
            // a well-formed login body: a client with a typo in it hears about it.
            let body = read_optional_json(request, limit)
                .await
                .map_err(too_large)?;
            if let Some(body) = body {
                from_body(&body)?;
            }
            credentials
        }
        None => from_body(&read_json(request, limit).await.map_err(too_large)?)?,
    };
    // With authorization off there is nothing to log in to: the original answered this when
    // it had no backend to check credentials with.
    let Some(auth) = &app.auth else {
        return Err(ApiError::AccessDenied);
    };
    match auth.login(credentials, peer).await {
        Ok(logged_in) => {
            let mut response = answer(Envelope::ok().result(vec![logged_in.token]));
            set_cookie(&mut response, &logged_in.set_cookie);
            Ok(response)
        }
        Err(AuthError::Missing | AuthError::Refused) => Err(ApiError::AccessDenied),
        Err(err) => Err(err.into()),
    }
}

/// `/logout` (GET or POST): ends the session and its token.
pub async fn logout(app: &App, request: &Request<Body>) -> Result<HttpResponse, ApiError> {
    let mut response = answer(Envelope::ok().result("Logged out"));
    if let Some(auth) = &app.auth {
        auth.logout(request.headers()).await?;
        set_cookie(&mut response, &auth.clear_cookie());
    }
    Ok(response)
}

fn set_cookie(response: &mut HttpResponse, value: &str) {
    // Made of a fixed text and a URL-safe base64 id: always a valid header value.
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(body: Value) -> String {
        from_body(&body).unwrap_err().to_string()
    }

    #[test]
    fn bodies_give_the_originals_messages() {
        for body in [Value::Null, json!({}), json!([]), json!("x")] {
            assert_eq!(message(body), "You must POST parameters on this endpoint.");
        }
        for body in [
            json!({"password": "x"}),
            json!({"username": null}),
            json!({"username": 3}),
        ] {
            assert_eq!(message(body), "Missing username parameter.");
        }
    }

    #[test]
    fn bodies_give_passwords_or_tokens() {
        assert_eq!(
            from_body(&json!({"username": "a", "password": "b"})).unwrap(),
            Credentials::Password {
                user: "a".into(),
                password: "b".into()
            }
        );
        for body in [
            json!({"username": "tok"}),
            json!({"username": "tok", "password": null}),
            json!({"username": "tok", "password": ""}),
        ] {
            assert_eq!(from_body(&body).unwrap(), Credentials::Token("tok".into()));
        }
        assert_eq!(
            from_body(&json!({"username": "", "password": ""})).unwrap(),
            Credentials::Unusable
        );
        for password in [json!(1), json!(["p"]), json!(true)] {
            let body = json!({"username": "a", "password": password});
            assert_eq!(message(body), "The password must be a string.");
        }
    }
}
