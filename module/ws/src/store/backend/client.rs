//! The Alignak backend's REST interface (Eve), as the original's `alignak-backend-client`
//! called it: HTTP Basic `token:` on every call, `where`/`projection`/`embedded`/`sort` as
//! JSON-encoded query parameters, every page followed through `_links.next`, `If-Match` on
//! PATCH with one retry after a 412. Blocking (ureq): called off the async workers.

use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Map, Value};

/// One call may not hold a request longer than this; the next request tries again.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Eve's `PAGINATION_LIMIT` when `/backendconfig` does not say.
const DEFAULT_PAGE_SIZE: u64 = 50;
/// A runaway `_links.next` chain stops here.
const MAX_PAGES: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// Not reachable, timed out, 5xx, or an answer that is not the backend's.
    #[error("{0}")]
    Unavailable(String),
    /// 401: the token (or the login) was refused.
    #[error("the Alignak backend refused the credentials ({0})")]
    Unauthorized(String),
    /// Any other 4xx: the backend refused the call (a document it does not validate).
    #[error("the Alignak backend refused {call}: HTTP {status}: {body}")]
    Refused {
        call: String,
        status: u16,
        body: String,
    },
}

pub struct Client {
    base: String,
    agent: ureq::Agent,
    page_size: OnceLock<u64>,
}

/// A query: pairs whose values are sent as they are (JSON text for `where` and the others).
pub type Query<'a> = &'a [(&'a str, String)];

impl Client {
    pub fn new(url: &str) -> Client {
        // https: the certificates this machine trusts (its CA store, so that a site's own CA
        // works), not only the public ones compiled in.
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .timeout_global(Some(CALL_TIMEOUT))
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        Client {
            base: url.trim_end_matches('/').to_string(),
            agent,
            page_size: OnceLock::new(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    /// `POST /login`: the user's token, `None` when the backend refuses the credentials.
    pub fn login(&self, username: &str, password: &str) -> Result<Option<String>, BackendError> {
        let body = json!({"username": username, "password": password});
        match self.call("POST", "login", &[], None, Some(&body), None) {
            Ok(answer) => answer
                .get("token")
                .and_then(Value::as_str)
                .map(|t| Some(t.to_string()))
                .ok_or_else(|| {
                    BackendError::Unavailable("its /login answered no token".to_string())
                }),
            Err(BackendError::Unauthorized(_)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// The backend's page limit (`/backendconfig`), asked once.
    fn page_size(&self, token: Option<&str>) -> u64 {
        if let Some(size) = self.page_size.get() {
            return *size;
        }
        match self.call("GET", "backendconfig", &[], token, None, None) {
            Ok(config) => {
                let size = config
                    .get("PAGINATION_LIMIT")
                    .and_then(Value::as_u64)
                    .filter(|n| *n > 0)
                    .unwrap_or(DEFAULT_PAGE_SIZE);
                *self.page_size.get_or_init(|| size)
            }
            Err(_) => DEFAULT_PAGE_SIZE,
        }
    }

    /// One GET, the answer as it is.
    pub fn get(
        &self,
        token: Option<&str>,
        path: &str,
        query: Query,
    ) -> Result<Value, BackendError> {
        self.call("GET", path, query, token, None, None)
    }

    /// One document by `_id`; `None` when the backend has no such document.
    pub fn get_one(
        &self,
        token: Option<&str>,
        resource: &str,
        id: &str,
    ) -> Result<Option<Map<String, Value>>, BackendError> {
        match self.get(token, &format!("{resource}/{id}"), &[]) {
            Ok(Value::Object(doc)) => Ok(Some(doc)),
            Ok(other) => Err(BackendError::Unavailable(format!(
                "GET {resource}/{id}: not a document: {other}"
            ))),
            Err(BackendError::Refused { status: 404, .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Every item of a collection, page after page. `_links.next` says whether there is a
    /// next page; the request for it is this one's own query with the next `page` (Eve's
    /// links leave out `embedded` and `projection`, and keep `where` unencoded), as the
    /// original's client did.
    pub fn get_all(
        &self,
        token: Option<&str>,
        resource: &str,
        query: Query,
    ) -> Result<Vec<Map<String, Value>>, BackendError> {
        let mut pairs: Vec<(&str, String)> = query.to_vec();
        if !pairs.iter().any(|(k, _)| *k == "max_results") {
            pairs.push(("max_results", self.page_size(token).to_string()));
        }
        let mut items = Vec::new();
        let mut page: u64 = 1;
        for _ in 0..MAX_PAGES {
            let mut with_page = pairs.clone();
            with_page.push(("page", page.to_string()));
            let mut answer = self.get(token, resource, &with_page)?;
            if let Some(Value::Array(found)) = answer.get_mut("_items") {
                items.extend(found.drain(..).filter_map(|item| match item {
                    Value::Object(doc) => Some(doc),
                    _ => None,
                }));
            }
            if answer.pointer("/_links/next").is_none() {
                return Ok(items);
            }
            page = answer
                .pointer("/_meta/page")
                .and_then(Value::as_u64)
                .unwrap_or(page)
                + 1;
        }
        Err(BackendError::Unavailable(format!(
            "GET {resource}: more than {MAX_PAGES} pages"
        )))
    }

    /// The first item of a collection query, if any.
    pub fn first(
        &self,
        token: Option<&str>,
        resource: &str,
        query: Query,
    ) -> Result<Option<Map<String, Value>>, BackendError> {
        let answer = self.get(token, resource, query)?;
        Ok(answer
            .get("_items")
            .and_then(Value::as_array)
            .and_then(|items| items.first())
            .and_then(Value::as_object)
            .cloned())
    }

    /// `POST /<resource>`: the created document's `_id`.
    pub fn post(
        &self,
        token: Option<&str>,
        resource: &str,
        body: &Value,
    ) -> Result<String, BackendError> {
        let answer = self.call("POST", resource, &[], token, Some(body), None)?;
        answer
            .get("_id")
            .and_then(Value::as_str)
            .map(String::from)
            .ok_or_else(|| BackendError::Unavailable(format!("POST {resource}: no _id answered")))
    }

    /// `PATCH /<resource>/<id>` with `If-Match: <etag>`; after a 412 (someone else changed the
    /// document) the `_etag` is read again and the PATCH made once more. The new `_etag`.
    pub fn patch(
        &self,
        token: Option<&str>,
        resource: &str,
        id: &str,
        etag: &str,
        body: &Value,
    ) -> Result<String, BackendError> {
        let path = format!("{resource}/{id}");
        let answer = match self.call("PATCH", &path, &[], token, Some(body), Some(etag)) {
            Err(BackendError::Refused { status: 412, .. }) => {
                log::info!("PATCH /{path}: the document changed meanwhile (412): its _etag is read again and the PATCH made once more");
                let fresh = self
                    .get_one(token, resource, id)?
                    .and_then(|doc| doc.get("_etag").and_then(Value::as_str).map(String::from))
                    .ok_or_else(|| {
                        BackendError::Unavailable(format!("PATCH {path}: the document is gone"))
                    })?;
                self.call("PATCH", &path, &[], token, Some(body), Some(&fresh))?
            }
            other => other?,
        };
        Ok(answer
            .get("_etag")
            .and_then(Value::as_str)
            .unwrap_or(etag)
            .to_string())
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        query: Query,
        token: Option<&str>,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<Value, BackendError> {
        let url = self.url(path);
        let call = format!("{method} /{}", path.split('?').next().unwrap_or(path));
        let sent = match (method, body) {
            ("GET", _) => decorate(self.agent.get(&url), query, token, if_match).call(),
            (_, body) => {
                let builder = if method == "POST" {
                    self.agent.post(&url)
                } else {
                    self.agent.patch(&url)
                };
                decorate(builder, query, token, if_match)
                    .header("Content-Type", "application/json")
                    .send(body.map_or_else(|| "{}".to_string(), Value::to_string))
            }
        };
        let mut response = sent.map_err(|e| BackendError::Unavailable(format!("{call}: {e}")))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| BackendError::Unavailable(format!("{call}: {e}")))?;
        match status {
            200..=299 => serde_json::from_str(&text).or_else(|_| {
                if text.trim().is_empty() {
                    Ok(Value::Null)
                } else {
                    Err(BackendError::Unavailable(format!(
                        "{call}: the answer is not JSON"
                    )))
                }
            }),
            401 => Err(BackendError::Unauthorized(call)),
            400..=499 => Err(BackendError::Refused {
                call,
                status,
                body: text.chars().take(500).collect(),
            }),
            _ => Err(BackendError::Unavailable(format!("{call}: HTTP {status}"))),
        }
    }
}

fn decorate<B>(
    mut builder: ureq::RequestBuilder<B>,
    query: Query,
    token: Option<&str>,
    if_match: Option<&str>,
) -> ureq::RequestBuilder<B> {
    builder = builder
        .query_pairs(query.iter().map(|(k, v)| (*k, v.as_str())))
        .header("Accept", "application/json");
    if let Some(token) = token {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{token}:"));
        builder = builder.header("Authorization", format!("Basic {basic}"));
    }
    if let Some(etag) = if_match {
        builder = builder.header("If-Match", etag);
    }
    builder
}

/// A JSON query value (`where`, `projection`, ...).
pub fn q(value: Value) -> String {
    value.to_string()
}
