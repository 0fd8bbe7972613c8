//! What a store session asks of the backend (`BackendSession`, `create::Resolver`): the few
//! calls it makes, so that the session can be run against an in-memory backend in its unit
//! tests (`fake.rs`, `session_tests.rs`). `Client` is the real one, over HTTP.

use serde_json::{Map, Value};

use super::client::{BackendError, Query};

/// A backend document, as it is.
pub type Doc = Map<String, Value>;
pub type Answer<T> = Result<T, BackendError>;

pub trait Calls {
    /// One GET, the answer as it is (an Eve listing: `_items`, `_meta`).
    fn get(&self, token: Option<&str>, path: &str, query: Query) -> Answer<Value>;
    /// One document by `_id`; `None` when the backend has no such document.
    fn get_one(&self, token: Option<&str>, resource: &str, id: &str) -> Answer<Option<Doc>>;
    /// Every item of a collection query, all pages.
    fn get_all(&self, token: Option<&str>, resource: &str, query: Query) -> Answer<Vec<Doc>>;
    /// The first item of a collection query, if any.
    fn first(&self, token: Option<&str>, resource: &str, query: Query) -> Answer<Option<Doc>>;
    /// `POST /<resource>`: the created document's `_id`.
    fn post(&self, token: Option<&str>, resource: &str, body: &Value) -> Answer<String>;
    /// `PATCH /<resource>/<id>` with `If-Match: <etag>`: the new `_etag`.
    fn patch(
        &self,
        token: Option<&str>,
        resource: &str,
        id: &str,
        etag: &str,
        body: &Value,
    ) -> Answer<String>;
    /// `DELETE /<resource>/<id>` with `If-Match: <etag>`; a document already gone is done.
    fn delete(&self, token: Option<&str>, resource: &str, id: &str, etag: &str) -> Answer<()>;
}
