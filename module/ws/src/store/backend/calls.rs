//! What a store session asks of the backend (`BackendSession`, `create::Resolver`): the few
//! calls it makes, so that the session can be run against an in-memory backend in its unit
//! tests (`session_tests.rs`). `Client` is the real one, over HTTP.

use serde_json::{Map, Value};

use super::client::{BackendError, Client, Query};

pub trait Calls {
    /// One GET, the answer as it is (an Eve listing: `_items`, `_meta`).
    fn get(&self, token: Option<&str>, path: &str, query: Query) -> Result<Value, BackendError>;
    /// One document by `_id`; `None` when the backend has no such document.
    fn get_one(
        &self,
        token: Option<&str>,
        resource: &str,
        id: &str,
    ) -> Result<Option<Map<String, Value>>, BackendError>;
    /// Every item of a collection query, all pages.
    fn get_all(
        &self,
        token: Option<&str>,
        resource: &str,
        query: Query,
    ) -> Result<Vec<Map<String, Value>>, BackendError>;
    /// The first item of a collection query, if any.
    fn first(
        &self,
        token: Option<&str>,
        resource: &str,
        query: Query,
    ) -> Result<Option<Map<String, Value>>, BackendError>;
    /// The created document's `_id`.
    fn post(
        &self,
        token: Option<&str>,
        resource: &str,
        body: &Value,
    ) -> Result<String, BackendError>;
    /// `If-Match: <etag>`; the new `_etag`.
    fn patch(
        &self,
        token: Option<&str>,
        resource: &str,
        id: &str,
        etag: &str,
        body: &Value,
    ) -> Result<String, BackendError>;
    /// `If-Match: <etag>`; a document already gone is done.
    fn delete(
        &self,
        token: Option<&str>,
        resource: &str,
        id: &str,
        etag: &str,
    ) -> Result<(), BackendError>;
}

impl Calls for Client {
    fn get(&self, token: Option<&str>, path: &str, query: Query) -> Result<Value, BackendError> {
        Client::get(self, token, path, query)
    }

    fn get_one(
        &self,
        token: Option<&str>,
        resource: &str,
        id: &str,
    ) -> Result<Option<Map<String, Value>>, BackendError> {
        Client::get_one(self, token, resource, id)
    }

    fn get_all(
        &self,
        token: Option<&str>,
        resource: &str,
        query: Query,
    ) -> Result<Vec<Map<String, Value>>, BackendError> {
        Client::get_all(self, token, resource, query)
    }

    fn first(
        &self,
        token: Option<&str>,
        resource: &str,
        query: Query,
    ) -> Result<Option<Map<String, Value>>, BackendError> {
        Client::first(self, token, resource, query)
    }

    fn post(
        &self,
        token: Option<&str>,
        resource: &str,
        body: &Value,
    ) -> Result<String, BackendError> {
        Client::post(self, token, resource, body)
    }

    fn patch(
        &self,
        token: Option<&str>,
        resource: &str,
        id: &str,
        etag: &str,
        body: &Value,
    ) -> Result<String, BackendError> {
        Client::patch(self, token, resource, id, etag, body)
    }

    fn delete(
        &self,
        token: Option<&str>,
        resource: &str,
        id: &str,
        etag: &str,
    ) -> Result<(), BackendError> {
        Client::delete(self, token, resource, id, etag)
    }
}
