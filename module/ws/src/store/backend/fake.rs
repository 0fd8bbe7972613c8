//! An Alignak backend in memory, for the backend session's unit tests (`session_tests.rs`).

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::calls::{Answer, Calls, Doc};
use super::client::{BackendError, Query};

/// An Alignak backend in memory. Why it exists: the session's rules run here in
/// microseconds, and any call can be made to fail on cue, which the real backend cannot be
/// made to do. It knows only what the session asks (equality and `$lte` in `where`, documents
/// in creation order); the end-to-end tests against the real alignak-backend
/// (tests/tests/backend.rs) stay the proof that the calls are the backend's.
#[derive(Default)]
pub(super) struct FakeBackend {
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    /// Documents by resource, in creation order (the `_created,_id` order of lookups).
    docs: BTreeMap<String, Vec<Map<String, Value>>>,
    next_id: u64,
    /// Every call made, as `METHOD resource` and, for writes, the body.
    calls: Vec<(String, Value)>,
    /// The next call whose `METHOD resource` is this fails as unavailable.
    fail: Option<String>,
}

impl FakeBackend {
    pub(super) fn with(docs: &[(&str, Value)]) -> FakeBackend {
        let fake = FakeBackend::default();
        for (resource, doc) in docs {
            fake.insert(resource, doc.clone());
        }
        fake.state.borrow_mut().calls.clear();
        fake
    }

    fn insert(&self, resource: &str, doc: Value) -> String {
        let mut state = self.state.borrow_mut();
        state.next_id += 1;
        let id = format!("{:024x}", state.next_id);
        let mut doc = doc.as_object().cloned().unwrap_or_default();
        doc.insert("_id".into(), json!(id));
        doc.insert("_etag".into(), json!("etag-1"));
        state.docs.entry(resource.into()).or_default().push(doc);
        id
    }

    pub(super) fn fail_next(&self, call: &str) {
        self.state.borrow_mut().fail = Some(call.into());
    }

    /// Records the call; the failure asked for, if it is this one.
    fn call(&self, call: String, body: &Value) -> Result<(), BackendError> {
        let mut state = self.state.borrow_mut();
        state.calls.push((call.clone(), body.clone()));
        if state.fail.as_deref() == Some(call.as_str()) {
            state.fail = None;
            return Err(BackendError::Unavailable(format!(
                "{call}: the test failed it"
            )));
        }
        Ok(())
    }

    /// The bodies of the calls named `call`, in order.
    pub(super) fn bodies(&self, call: &str) -> Vec<Value> {
        let state = self.state.borrow();
        state
            .calls
            .iter()
            .filter(|(c, _)| c == call)
            .map(|(_, body)| body.clone())
            .collect()
    }

    pub(super) fn doc(&self, resource: &str, name: &str) -> Option<Map<String, Value>> {
        let state = self.state.borrow();
        state
            .docs
            .get(resource)?
            .iter()
            .find(|doc| doc.get("name") == Some(&json!(name)))
            .cloned()
    }

    /// The call recorded, then the documents of `resource` its `where` matches.
    fn listing(&self, call: &str, resource: &str, query: Query) -> Answer<Vec<Doc>> {
        self.call(call.to_string(), &Value::Null)?;
        Ok(self.matching(resource, query))
    }

    fn matching(&self, resource: &str, query: Query) -> Vec<Map<String, Value>> {
        let filter = query
            .iter()
            .find(|(key, _)| *key == "where")
            .and_then(|(_, value)| serde_json::from_str::<Map<String, Value>>(value).ok())
            .unwrap_or_default();
        let state = self.state.borrow();
        let docs = state.docs.get(resource).cloned().unwrap_or_default();
        docs.into_iter()
            .filter(|doc| {
                filter.iter().all(|(key, wanted)| match wanted.get("$lte") {
                    Some(bound) => doc.get(key).and_then(Value::as_i64) <= bound.as_i64(),
                    None => doc.get(key) == Some(wanted),
                })
            })
            .collect()
    }
}

impl Calls for FakeBackend {
    fn get(&self, _: Option<&str>, path: &str, query: Query) -> Answer<Value> {
        let items = self.listing(&format!("GET {path}"), path, query)?;
        Ok(json!({"_items": items, "_meta": {"total": items.len()}}))
    }

    fn get_one(&self, _: Option<&str>, resource: &str, id: &str) -> Answer<Option<Doc>> {
        self.call(format!("GET {resource}"), &Value::Null)?;
        let state = self.state.borrow();
        let docs = state.docs.get(resource).into_iter().flatten();
        Ok(docs
            .into_iter()
            .find(|doc| doc.get("_id") == Some(&json!(id)))
            .cloned())
    }

    fn get_all(&self, _: Option<&str>, resource: &str, query: Query) -> Answer<Vec<Doc>> {
        self.listing(&format!("GET {resource}"), resource, query)
    }

    fn first(&self, token: Option<&str>, resource: &str, query: Query) -> Answer<Option<Doc>> {
        Ok(self.get_all(token, resource, query)?.into_iter().next())
    }

    fn post(&self, _: Option<&str>, resource: &str, body: &Value) -> Answer<String> {
        self.call(format!("POST {resource}"), body)?;
        Ok(self.insert(resource, body.clone()))
    }

    fn patch(
        &self,
        _: Option<&str>,
        resource: &str,
        id: &str,
        _: &str,
        body: &Value,
    ) -> Answer<String> {
        self.call(format!("PATCH {resource}"), body)?;
        let mut state = self.state.borrow_mut();
        let doc = state
            .docs
            .get_mut(resource)
            .and_then(|docs| {
                docs.iter_mut()
                    .find(|doc| doc.get("_id") == Some(&json!(id)))
            })
            .ok_or_else(|| {
                BackendError::Unavailable(format!("PATCH {resource}/{id}: no such document"))
            })?;
        // Eve merges a dict field (`customs`) into the stored one.
        for (key, value) in body.as_object().into_iter().flatten() {
            match (doc.get_mut(key), value) {
                (Some(Value::Object(old)), Value::Object(new)) => old.extend(new.clone()),
                _ => {
                    doc.insert(key.clone(), value.clone());
                }
            }
        }
        doc.insert("_etag".into(), json!("etag-2"));
        Ok("etag-2".into())
    }

    fn delete(&self, _: Option<&str>, resource: &str, id: &str, _: &str) -> Answer<()> {
        self.call(format!("DELETE {resource}"), &Value::Null)?;
        if let Some(docs) = self.state.borrow_mut().docs.get_mut(resource) {
            docs.retain(|doc| doc.get("_id") != Some(&json!(id)));
        }
        Ok(())
    }
}
