// Over 400 lines, earned: the one HTTP client of the Alignak backend (Eve's pages, ETags, retries, error texts), which reads best whole.
//! The Alignak backend's REST interface (Eve), as the original's `alignak-backend-client`
//! called it: HTTP Basic `token:` on every call, `where`/`projection`/`embedded`/`sort` as
//! JSON-encoded query parameters, every page followed through `_links.next`, `If-Match` on
//! PATCH with one retry after a 412. Blocking (ureq): called off the async workers.

use std::cell::Cell;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use super::address::{Address, AddressError};
use super::calls::{Answer, Calls, Doc};

/// One call may not hold a request longer than this; the next request tries again.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Eve's `PAGINATION_LIMIT` when `/backendconfig` does not say.
const DEFAULT_PAGE_SIZE: u64 = 50;
/// A PATCH refused with 412 (the document changed meanwhile) is made again this many times in
/// all; the session's deadline bounds them too.
const PATCH_ATTEMPTS: u32 = 20;
/// A runaway `_links.next` chain stops here.
const MAX_PAGES: usize = 10_000;
/// After `/backendconfig` failed, the default page size is used this long before asking again.
const PAGE_SIZE_RETRY: Duration = Duration::from_secs(60);

thread_local! {
    /// When the session running on this thread must be done with the backend: every call's
    /// bound is cut to what is left (`Session` work runs on one thread from start to end).
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Bounds every backend call made on this thread until dropped: one request's whole work,
/// however many calls it makes, ends by `deadline`.
pub struct DeadlineGuard {
    previous: Option<Instant>,
}

impl DeadlineGuard {
    pub fn new(deadline: Instant) -> DeadlineGuard {
        DeadlineGuard {
            previous: DEADLINE.with(|d| d.replace(Some(deadline))),
        }
    }
}

impl Drop for DeadlineGuard {
    fn drop(&mut self) {
        DEADLINE.with(|d| d.set(self.previous));
    }
}

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
    address: Address,
    agent: ureq::Agent,
    page_size: OnceLock<u64>,
    page_size_failed: Mutex<Option<Instant>>,
}

/// A query: pairs whose values are sent as they are (JSON text for `where` and the others).
pub type Query<'a> = &'a [(&'a str, String)];

impl Client {
    /// The client of the backend at `url` (`alignak_backend`), refused when it is not an
    /// http(s) URL.
    pub fn new(url: &str) -> Result<Client, AddressError> {
        let address = Address::parse(url)?;
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
        Ok(Client {
            address,
            agent,
            page_size: OnceLock::new(),
            page_size_failed: Mutex::new(None),
        })
    }

    /// The backend's URL for the logs: without the `user:password@` it may hold.
    pub fn shown(&self) -> &str {
        self.address.shown()
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
        let mut failed = self
            .page_size_failed
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if failed.is_some_and(|at| at.elapsed() < PAGE_SIZE_RETRY) {
            return DEFAULT_PAGE_SIZE;
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
            Err(_) => {
                *failed = Some(Instant::now());
                DEFAULT_PAGE_SIZE
            }
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

    fn call(
        &self,
        method: &'static str,
        path: &str,
        query: Query,
        token: Option<&str>,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<Value, BackendError> {
        let started = Instant::now();
        let answer = self.call_once(method, path, query, token, body, if_match);
        let outcome = match &answer {
            Ok(_) => "ok",
            Err(BackendError::Unauthorized(_)) => "unauthorized",
            Err(BackendError::Refused { .. }) => "refused",
            Err(_) => "unavailable",
        };
        // `host/<id>` and `host?where=...` are both the `host` resource.
        let resource = path
            .trim_start_matches('/')
            .split(['/', '?'])
            .next()
            .unwrap_or_default();
        let took = started.elapsed();
        crate::metrics::backend_call(method, resource, outcome, took);
        crate::statsd::backend_call(method, resource, took);
        answer
    }

    fn call_once(
        &self,
        method: &str,
        path: &str,
        query: Query,
        token: Option<&str>,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<Value, BackendError> {
        let url = self.address.join(path);
        let call = format!("{method} /{}", path.split('?').next().unwrap_or(path));
        let timeout = match DEADLINE.with(Cell::get) {
            None => CALL_TIMEOUT,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(BackendError::Unavailable(format!(
                        "{call}: the request's time with the backend is up"
                    )));
                }
                left.min(CALL_TIMEOUT)
            }
        };
        let sent = match (method, body) {
            ("GET", _) => decorate(self.agent.get(&url), query, token, if_match, timeout).call(),
            ("DELETE", _) => {
                decorate(self.agent.delete(&url), query, token, if_match, timeout).call()
            }
            (_, body) => {
                let builder = if method == "POST" {
                    self.agent.post(&url)
                } else {
                    self.agent.patch(&url)
                };
                decorate(builder, query, token, if_match, timeout)
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

/// The calls a store session makes, over HTTP.
impl Calls for Client {
    fn get(&self, token: Option<&str>, path: &str, query: Query) -> Answer<Value> {
        Client::get(self, token, path, query)
    }

    /// One document by `_id`; `None` when the backend has no such document.
    fn get_one(&self, token: Option<&str>, resource: &str, id: &str) -> Answer<Option<Doc>> {
        match Client::get(self, token, &format!("{resource}/{id}"), &[]) {
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
    fn get_all(&self, token: Option<&str>, resource: &str, query: Query) -> Answer<Vec<Doc>> {
        let mut pairs: Vec<(&str, String)> = query.to_vec();
        if !pairs.iter().any(|(k, _)| *k == "max_results") {
            pairs.push(("max_results", self.page_size(token).to_string()));
        }
        let mut items = Vec::new();
        let mut page: u64 = 1;
        for _ in 0..MAX_PAGES {
            let mut with_page = pairs.clone();
            with_page.push(("page", page.to_string()));
            let mut answer = Client::get(self, token, resource, &with_page)?;
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
    fn first(&self, token: Option<&str>, resource: &str, query: Query) -> Answer<Option<Doc>> {
        let answer = Client::get(self, token, resource, query)?;
        Ok(answer
            .get("_items")
            .and_then(Value::as_array)
            .and_then(|items| items.first())
            .and_then(Value::as_object)
            .cloned())
    }

    /// `POST /<resource>`: the created document's `_id`.
    fn post(&self, token: Option<&str>, resource: &str, body: &Value) -> Answer<String> {
        let answer = self.call("POST", resource, &[], token, Some(body), None)?;
        answer
            .get("_id")
            .and_then(Value::as_str)
            .map(String::from)
            .ok_or_else(|| BackendError::Unavailable(format!("POST {resource}: no _id answered")))
    }

    /// `PATCH /<resource>/<id>` with `If-Match: <etag>`; after a 412 (someone else changed the
    /// document) the `_etag` is read again and the PATCH made once more, up to
    /// `PATCH_ATTEMPTS` times (concurrent livestates of one host all PATCH it). The new `_etag`.
    fn patch(
        &self,
        token: Option<&str>,
        resource: &str,
        id: &str,
        etag: &str,
        body: &Value,
    ) -> Answer<String> {
        let path = format!("{resource}/{id}");
        let mut current = etag.to_string();
        let mut attempt = 1;
        let answer = loop {
            match self.call("PATCH", &path, &[], token, Some(body), Some(&current)) {
                Err(BackendError::Refused { status: 412, .. }) if attempt < PATCH_ATTEMPTS => {
                    log::info!("PATCH /{path}: the document changed meanwhile (412): its _etag is read again and the PATCH made once more");
                    attempt += 1;
                    current = self
                        .get_one(token, resource, id)?
                        .and_then(|doc| doc.get("_etag").and_then(Value::as_str).map(String::from))
                        .ok_or_else(|| {
                            BackendError::Unavailable(format!("PATCH {path}: the document is gone"))
                        })?;
                }
                other => break other?,
            }
        };
        Ok(answer
            .get("_etag")
            .and_then(Value::as_str)
            .unwrap_or(&current)
            .to_string())
    }

    /// `DELETE /<resource>/<id>` with `If-Match: <etag>`; a document already gone is done.
    fn delete(&self, token: Option<&str>, resource: &str, id: &str, etag: &str) -> Answer<()> {
        let path = format!("{resource}/{id}");
        match self.call("DELETE", &path, &[], token, None, Some(etag)) {
            Ok(_) | Err(BackendError::Refused { status: 404, .. }) => Ok(()),
            Err(err) => Err(err),
        }
    }
}

fn decorate<B>(
    mut builder: ureq::RequestBuilder<B>,
    query: Query,
    token: Option<&str>,
    if_match: Option<&str>,
    timeout: Duration,
) -> ureq::RequestBuilder<B> {
    builder = builder
        .config()
        .timeout_global(Some(timeout))
        .build()
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
