// Over 400 lines, earned: every error of the API with its text, status and JSON body in one place (the one error boundary), and their tests.
//! The API's errors, and the one place they become HTTP answers.
//!
//! Every error answer is JSON: `{"_status": "ERR", "_issues": [...]}`, plus `_error` with the
//! same text where the original answered with `_error`, so its clients keep working.

use hyper::header::{self, HeaderMap};
use hyper::StatusCode;

use crate::auth::AuthError;
use crate::response::{json_body, Envelope, HttpResponse};
use crate::store::StoreError;

/// Which envelope key the original used for this answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKey {
    /// `_error` (a string) and `_issues`.
    Error,
    /// `_issues` only.
    Issues,
}

/// How long a client should wait before trying a store that failed again.
const STORE_RETRY_SECS: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or a value is invalid.
    #[error("{message}")]
    Invalid { message: String, key: ErrorKey },

    /// 405: the endpoint exists, the method is not one of `allow`.
    #[error("{message}")]
    MethodNotAllowed {
        message: String,
        allow: &'static str,
        key: ErrorKey,
    },

    /// 404: no such endpoint.
    #[error("Not found: there is no endpoint '{0}'.")]
    UnknownPath(String),

    /// 401: no or invalid credentials.
    #[error("Authentication required: log in with POST /login or send HTTP Basic credentials.")]
    Unauthorized,

    /// 401: credentials were sent and not accepted. Says neither whether the user exists nor
    /// which part was wrong.
    #[error("Authentication required: the credentials sent (user name and password, or token) were not accepted.")]
    CredentialsRefused,

    /// 401 from `/login`: the credentials were refused (the original's message, `_issues`
    /// only; the original answered it with HTTP 200).
    #[error("Access denied.")]
    AccessDenied,

    /// 429: too many failed authentications from the client's address.
    #[error("Too many failed authentications from your address: try again in {retry_after} s.")]
    TooManyAttempts { retry_after: u64 },

    /// 413: the body is over `max_body_size`.
    #[error("The request body is larger than the {limit} bytes allowed (max_body_size).")]
    BodyTooLarge { limit: usize },

    /// 413: a `/login` body over its own limit (anyone may send one).
    #[error("A /login body may not be larger than {limit} bytes.")]
    LoginBodyTooLarge { limit: usize },

    /// 413: a batch over `max_batch_items`.
    #[error("The batch has more than the {limit} items allowed (max_batch_items).")]
    TooManyItems { limit: usize },

    /// 408: the request (headers and body) was not received within `request_timeout`.
    #[error("The request was not received in time (request_timeout).")]
    RequestTimeout,

    /// 415: the body is not declared as JSON.
    #[error("The request body must be JSON, sent with 'Content-Type: application/json'.")]
    NotJson,

    /// 400: declared JSON, but not parseable.
    #[error("The request body is not valid JSON: {0}")]
    MalformedJson(String),

    /// 422: a batch of which some items were refused; `result` lists each item's answer.
    #[error("{}", issues.join(" "))]
    PartlyRejected {
        issues: Vec<String>,
        result: Vec<Envelope>,
    },

    /// 503: the commands cannot be taken now; try again after `retry_after` seconds.
    #[error("{message}")]
    Unavailable { message: String, retry_after: u32 },

    /// 400: `/host` without a name (the original's `_result` is an empty string).
    #[error("Missing targeted element.")]
    MissingTarget,

    /// 404: the host (or hostgroup) does not exist; `body` is the whole answer.
    #[error("{}", body.issues_text())]
    UnknownElement { body: Box<Envelope> },

    /// 422: the request was processed but some of it was refused; `body` is the whole answer
    /// (`_result`, `_issues`, `_feedback`).
    #[error("{}", body.issues_text())]
    Issues { body: Box<Envelope> },

    /// The data store failed: 503 when it cannot be used now (locked, disk full, corrupt
    /// file, backend unreachable), 401 when the backend refused the caller's credentials,
    /// 502 when it refused a document. `sent` lists the commands sent before it failed
    /// (a store that is not atomic), shown in `_result`.
    #[error("{error}")]
    Store {
        error: crate::store::StoreError,
        sent: Vec<String>,
    },

    /// 502: a batch on a store that is not atomic failed part-way: `result` answers each
    /// item (done, failed, not processed), the commands of those done were sent.
    #[error("{}", .0.error)]
    BatchStoreFailure(Box<BatchFailure>),
}

/// What a batch that failed part-way answers (`ApiError::BatchStoreFailure`).
#[derive(Debug)]
pub struct BatchFailure {
    pub error: crate::store::StoreError,
    pub issues: Vec<String>,
    pub result: Vec<Envelope>,
}

impl From<AuthError> for ApiError {
    /// The answer of a protected endpoint (`/login` answers `AccessDenied` instead).
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Missing => ApiError::Unauthorized,
            AuthError::Refused => ApiError::CredentialsRefused,
            AuthError::PasswordTooLong => ApiError::Invalid {
                message: format!(
                    "Passwords longer than {} bytes are refused (bcrypt reads only the first {}).",
                    crate::auth::MAX_PASSWORD_BYTES,
                    crate::auth::MAX_PASSWORD_BYTES
                ),
                key: ErrorKey::Issues,
            },
            AuthError::Blocked { retry_after_secs } => ApiError::TooManyAttempts {
                retry_after: retry_after_secs,
            },
            AuthError::Unavailable(detail) => {
                log::error!("credentials cannot be checked: {detail}");
                ApiError::Unavailable {
                    message: "The credentials cannot be checked now; try again later.".into(),
                    retry_after: 5,
                }
            }
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        ApiError::store(error, Vec::new())
    }
}

impl ApiError {
    /// How the metrics count a refusal of credentials, if this is one.
    pub fn refusal(&self) -> Option<crate::metrics::Refusal> {
        match self {
            ApiError::Unauthorized | ApiError::AccessDenied | ApiError::CredentialsRefused => {
                Some(crate::metrics::Refusal::Invalid)
            }
            ApiError::TooManyAttempts { .. } => Some(crate::metrics::Refusal::RateLimited),
            _ => None,
        }
    }

    pub fn store(error: crate::store::StoreError, sent: Vec<String>) -> Self {
        log::error!("{error}");
        ApiError::Store { error, sent }
    }

    /// A 400 with the original's `_error` key.
    pub fn invalid_legacy(message: impl Into<String>) -> Self {
        ApiError::Invalid {
            message: message.into(),
            key: ErrorKey::Error,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Invalid { .. } | ApiError::MalformedJson(_) | ApiError::MissingTarget => {
                StatusCode::BAD_REQUEST
            }
            ApiError::UnknownElement { .. } => StatusCode::NOT_FOUND,
            ApiError::Issues { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            // Some commands were sent before the failure: not a "retry me" (a retry would
            // send them again), but the upstream's failure.
            ApiError::Store { sent, .. } if !sent.is_empty() => StatusCode::BAD_GATEWAY,
            ApiError::BatchStoreFailure(_) => StatusCode::BAD_GATEWAY,
            ApiError::Store { error, .. } => match error {
                StoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                StoreError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
                StoreError::Refused(_) => StatusCode::BAD_GATEWAY,
                StoreError::BadQuery(_) => StatusCode::BAD_REQUEST,
            },
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnknownPath(_) => StatusCode::NOT_FOUND,
            ApiError::Unauthorized | ApiError::CredentialsRefused | ApiError::AccessDenied => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::BodyTooLarge { .. }
            | ApiError::LoginBodyTooLarge { .. }
            | ApiError::TooManyItems { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::NotJson => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PartlyRejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Errors the original answered with HTTP 200 and `_status: ERR` (`legacy_status_codes 1`
    /// brings that back); the others were HTTP errors there too.
    fn was_200_in_the_original(&self) -> bool {
        matches!(
            self,
            ApiError::Invalid { .. }
                | ApiError::MethodNotAllowed { .. }
                | ApiError::PartlyRejected { .. }
                | ApiError::Unavailable { .. }
                | ApiError::AccessDenied
                | ApiError::MissingTarget
                | ApiError::UnknownElement { .. }
                | ApiError::Issues { .. }
                | ApiError::Store { .. }
                | ApiError::BatchStoreFailure(_)
        )
    }

    fn key(&self) -> ErrorKey {
        match self {
            ApiError::Invalid { key, .. } | ApiError::MethodNotAllowed { key, .. } => *key,
            ApiError::PartlyRejected { .. }
            | ApiError::AccessDenied
            | ApiError::TooManyAttempts { .. } => ErrorKey::Issues,
            // The original's `_error` texts for an unavailable backend.
            ApiError::Store { .. } => ErrorKey::Error,
            _ => ErrorKey::Error,
        }
    }

    /// The JSON answer: `_status: ERR`, `_issues` and, where the original had it, `_error`.
    fn into_envelope(self) -> Envelope {
        // These two carry their whole answer: no text of theirs to build.
        let error = match self {
            ApiError::UnknownElement { body } | ApiError::Issues { body } => return *body,
            error => error,
        };
        let text = error.to_string();
        let key = error.key();
        let envelope = Envelope::err();
        match error {
            ApiError::MissingTarget => envelope.result("").issue(text),
            ApiError::Store { sent, .. } if sent.is_empty() => {
                envelope.error(text.as_str()).issue(text)
            }
            ApiError::Store { sent, .. } => {
                let again = format!(
                    "The {} command(s) in _result were sent before the failure: sending this request again sends them again.",
                    sent.len()
                );
                envelope
                    .error(text.as_str())
                    .lines(sent)
                    .issues(vec![text, again])
            }
            ApiError::BatchStoreFailure(failure) => {
                let BatchFailure { issues, result, .. } = *failure;
                envelope.error(text).items(result).issues(issues)
            }
            ApiError::PartlyRejected { result, issues } => envelope.items(result).issues(issues),
            _ if key == ErrorKey::Error => envelope.error(text.as_str()).issue(text),
            _ => envelope.issue(text),
        }
    }

    /// Whether the answer's texts may hold a system error (a file path among them); the
    /// others are the module's own texts about the request, kept as they are.
    fn may_hold_system_text(&self) -> bool {
        matches!(
            self,
            ApiError::Store { .. } | ApiError::BatchStoreFailure(_) | ApiError::Unavailable { .. }
        )
    }

    /// The answer, without the absolute paths that system errors carry (the log keeps them).
    pub fn into_answer(self) -> Envelope {
        let redact = self.may_hold_system_text();
        let mut envelope = self.into_envelope();
        if redact {
            envelope.redact(&redact_paths);
        }
        envelope
    }

    pub fn into_response(self, legacy_status_codes: bool) -> HttpResponse {
        let status = if legacy_status_codes && self.was_200_in_the_original() {
            StatusCode::OK
        } else {
            self.status()
        };
        let headers = self.headers();
        let mut response = json_body(status, &self.into_answer());
        response.headers_mut().extend(headers);
        response
    }

    /// The headers this answer has beside its JSON.
    fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        match &self {
            ApiError::MethodNotAllowed { allow, .. } => {
                headers.insert(header::ALLOW, header::HeaderValue::from_static(allow));
            }
            ApiError::Unauthorized
            | ApiError::CredentialsRefused
            | ApiError::AccessDenied
            | ApiError::Store {
                error: StoreError::Unauthorized(_),
                ..
            } => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Basic realm=\"Alignak\""),
                );
            }
            ApiError::Unavailable { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, header::HeaderValue::from(*retry_after));
            }
            ApiError::TooManyAttempts { retry_after } => {
                headers.insert(header::RETRY_AFTER, header::HeaderValue::from(*retry_after));
            }
            // The rest of the body may still be on its way: the connection cannot be reused.
            ApiError::RequestTimeout => {
                headers.insert(
                    header::CONNECTION,
                    header::HeaderValue::from_static("close"),
                );
            }
            ApiError::Store {
                error: StoreError::Unavailable(_),
                sent,
            } if sent.is_empty() => {
                headers.insert(
                    header::RETRY_AFTER,
                    header::HeaderValue::from(STORE_RETRY_SECS),
                );
            }
            _ => {}
        }
        headers
    }
}

/// Every absolute path of a text (`/var/lib/alignak/ws.sqlite`) reduced to its file name
/// (`ws.sqlite`): an answer must not show where the daemon keeps its files. A word with a
/// single `/` (`/host`, an endpoint) is not a path here.
pub fn redact_paths(text: &str) -> String {
    if !text.contains('/') {
        return text.to_string();
    }
    let ends_path = |c: char| c.is_whitespace() || matches!(c, '\'' | '"' | ',' | ')' | '(');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut at_word_start = true;
    while let Some(c) = rest.chars().next() {
        if c == '/' && at_word_start {
            let end = rest.find(ends_path).unwrap_or(rest.len());
            let mut path = &rest[..end];
            // A path followed by `: reason` keeps its colon outside.
            let trailing = path.len() - path.trim_end_matches([':', '.', ';']).len();
            path = &path[..path.len() - trailing];
            if path.matches('/').count() >= 2 {
                out.push_str(
                    path.trim_end_matches('/')
                        .rsplit('/')
                        .next()
                        .unwrap_or_default(),
                );
            } else {
                out.push_str(path);
            }
            out.push_str(&rest[path.len()..end]);
            rest = &rest[end..];
            at_word_start = false;
            continue;
        }
        out.push(c);
        at_word_start = ends_path(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_show_file_names_not_paths() {
        for (text, expected) in [
            (
                "data store is not available currently: /tmp/alignak-e2e-x/ws.sqlite: disk I/O error",
                "data store is not available currently: ws.sqlite: disk I/O error",
            ),
            (
                "cannot open '/var/lib/alignak/spool/seg-1' (No such file)",
                "cannot open 'seg-1' (No such file)",
            ),
            ("send it to /host instead", "send it to /host instead"),
            ("a/b/c is a name, not a path", "a/b/c is a name, not a path"),
            ("no slash", "no slash"),
            ("/a/b/", "b"),
        ] {
            assert_eq!(redact_paths(text), expected, "{text}");
        }
    }

    #[test]
    fn store_errors_lose_their_paths_in_the_answer() {
        let err = ApiError::Store {
            error: StoreError::Unavailable(
                "data store is not available currently: /srv/x/ws.sqlite: locked".into(),
            ),
            sent: Vec::new(),
        };
        let body = serde_json::to_string(&err.into_answer()).unwrap();
        assert!(!body.contains("/srv"), "{body}");
        assert!(body.contains("ws.sqlite: locked"), "{body}");
    }
}
