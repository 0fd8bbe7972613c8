//! The embedded store's read cache of hosts and services: write-through, and transactional.
//!
//! Every write still goes to SQLite first, in the session's transaction; the cache only saves
//! the `SELECT`s of `Session::host` and `Session::service` (and their JSON decoding). It is
//! kept under the same lock as the connection, and follows the transaction: every change to
//! it while a batch is open (a write, or an element read from SQLite and remembered) is
//! logged with what it replaced, so that a session rolled back to its savepoint, or a batch
//! whose commit fails, takes its changes out of the cache too. The cache therefore never
//! shows a write that was not committed, once the batch is over.
//!
//! It assumes that host and service rows are written only through this store (the module
//! owns its file); `clear` forgets everything (a new connection, a panic in a session).
//!
//! Bounded: at most `capacity` elements once a batch is committed (elements beyond are
//! forgotten, arbitrary ones); during a batch, plus what the batch touched.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::model::{Element, ElementPatch, Kind, LastState};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Host(String),
    /// host id, service name
    Service(i64, String),
}

pub struct ElementCache {
    elements: HashMap<Key, Element>,
    host_ids: HashMap<i64, Key>,
    service_ids: HashMap<i64, Key>,
    /// What each change of the open batch replaced, oldest first.
    undo: Vec<Change>,
    capacity: usize,
}

/// A change of the open batch, with what it replaced.
enum Change {
    /// The element of a key was set or removed (read, created, taken back).
    Set(Key, Option<Element>),
    /// An update applied in place to the element of an id: a livestate replaces a few
    /// fields, so only those are kept, not a copy of the whole element.
    Patched(Kind, i64, Replaced),
}

/// The fields an update replaced (`None`: left as they were).
struct Replaced {
    updated: i64,
    active_checks_enabled: Option<bool>,
    passive_checks_enabled: Option<bool>,
    check_freshness: Option<bool>,
    customs: Option<Map<String, Value>>,
    livestate: Option<Option<LastState>>,
}

/// A point of the open batch to roll back to (`ElementCache::mark`).
#[derive(Debug, Clone, Copy)]
pub struct Mark(usize);

fn key_of(element: &Element, host_id: Option<i64>) -> Key {
    match element.kind {
        Kind::Host => Key::Host(element.name.clone()),
        Kind::Service => Key::Service(host_id.unwrap_or_default(), element.name.clone()),
    }
}

impl ElementCache {
    pub fn new(capacity: usize) -> ElementCache {
        ElementCache {
            elements: HashMap::new(),
            host_ids: HashMap::new(),
            service_ids: HashMap::new(),
            undo: Vec::new(),
            capacity,
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.elements.len()
    }

    pub fn host(&self, name: &str) -> Option<&Element> {
        // No allocation for the lookup would need a borrowed key type; a host name is short.
        self.elements.get(&Key::Host(name.to_string()))
    }

    pub fn service(&self, host_id: i64, name: &str) -> Option<&Element> {
        self.elements.get(&Key::Service(host_id, name.to_string()))
    }

    fn ids(&mut self, kind: Kind) -> &mut HashMap<i64, Key> {
        match kind {
            Kind::Host => &mut self.host_ids,
            Kind::Service => &mut self.service_ids,
        }
    }

    /// Sets `key` to `value` (or removes it), without logging.
    fn set(&mut self, key: Key, value: Option<Element>) -> Option<Element> {
        let previous = match value {
            Some(element) => {
                let (kind, id) = (element.kind, element.id);
                self.ids(kind).insert(id, key.clone());
                self.elements.insert(key.clone(), element)
            }
            None => self.elements.remove(&key),
        };
        if let Some(old) = &previous {
            // The key's id changes only when a rolled-back creation's id is reused.
            let still = self.elements.get(&key).map(|e| e.id);
            if still != Some(old.id) {
                let ids = self.ids(old.kind);
                if ids.get(&old.id) == Some(&key) {
                    ids.remove(&old.id);
                }
            }
        }
        previous
    }

    fn put(&mut self, key: Key, element: Element) {
        let previous = self.set(key.clone(), Some(element));
        self.undo.push(Change::Set(key, previous));
    }

    /// Remembers an element as the open transaction sees it (read or just created). For a
    /// service, `host_id` is its host's.
    pub fn remember(&mut self, element: &Element, host_id: Option<i64>) {
        self.put(key_of(element, host_id), element.clone());
    }

    /// Applies an update that the transaction has just made (as `UPDATE` did, with `updated`
    /// set to `now`), when the element is cached.
    pub fn update(&mut self, kind: Kind, id: i64, patch: &ElementPatch, now: i64) {
        let ids = match kind {
            Kind::Host => &self.host_ids,
            Kind::Service => &self.service_ids,
        };
        let Some(element) = ids.get(&id).and_then(|key| self.elements.get_mut(key)) else {
            return;
        };
        let replaced = Replaced {
            updated: std::mem::replace(&mut element.updated, now),
            active_checks_enabled: patch
                .active_checks_enabled
                .map(|value| std::mem::replace(&mut element.active_checks_enabled, value)),
            passive_checks_enabled: patch
                .passive_checks_enabled
                .map(|value| std::mem::replace(&mut element.passive_checks_enabled, value)),
            check_freshness: patch
                .check_freshness
                .map(|value| std::mem::replace(&mut element.check_freshness, value)),
            customs: patch
                .customs
                .as_ref()
                .map(|customs| std::mem::replace(&mut element.customs, customs.clone())),
            livestate: patch
                .livestate
                .as_ref()
                .map(|livestate| element.livestate.replace(livestate.clone())),
        };
        self.undo.push(Change::Patched(kind, id, replaced));
    }

    /// Puts back what an update replaced. Changes are taken back newest first, so the id
    /// still names the element the update was applied to.
    fn unpatch(&mut self, kind: Kind, id: i64, replaced: Replaced) {
        let ids = match kind {
            Kind::Host => &self.host_ids,
            Kind::Service => &self.service_ids,
        };
        let Some(element) = ids.get(&id).and_then(|key| self.elements.get_mut(key)) else {
            return;
        };
        element.updated = replaced.updated;
        if let Some(value) = replaced.active_checks_enabled {
            element.active_checks_enabled = value;
        }
        if let Some(value) = replaced.passive_checks_enabled {
            element.passive_checks_enabled = value;
        }
        if let Some(value) = replaced.check_freshness {
            element.check_freshness = value;
        }
        if let Some(customs) = replaced.customs {
            element.customs = customs;
        }
        if let Some(livestate) = replaced.livestate {
            element.livestate = livestate;
        }
    }

    pub fn mark(&self) -> Mark {
        Mark(self.undo.len())
    }

    /// Takes back every change since `mark` (a session rolled back to its savepoint).
    pub fn roll_back_to(&mut self, mark: Mark) {
        while self.undo.len() > mark.0 {
            match self.undo.pop() {
                Some(Change::Set(key, previous)) => {
                    self.set(key, previous);
                }
                Some(Change::Patched(kind, id, replaced)) => self.unpatch(kind, id, replaced),
                None => {}
            }
        }
    }

    /// The open batch failed: takes back all its changes.
    pub fn roll_back(&mut self) {
        self.roll_back_to(Mark(0));
    }

    /// The open batch is committed: its changes stay; the cache is brought back within its
    /// capacity.
    pub fn commit(&mut self) {
        self.undo.clear();
        while self.elements.len() > self.capacity {
            let Some(key) = self.elements.keys().next().cloned() else {
                break;
            };
            self.set(key, None);
        }
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.elements.clear();
        self.host_ids.clear();
        self.service_ids.clear();
        self.undo.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn element(kind: Kind, id: i64, name: &str) -> Element {
        Element {
            id,
            kind,
            name: name.into(),
            fields: Map::new(),
            customs: Map::new(),
            active_checks_enabled: true,
            passive_checks_enabled: true,
            check_freshness: false,
            livestate: None,
            created: 1,
            updated: 1,
        }
    }

    fn state(output: &str) -> ElementPatch {
        ElementPatch::up(output, 5)
    }

    fn output(cache: &ElementCache, name: &str) -> Option<String> {
        cache
            .host(name)
            .map(|h| h.livestate.as_ref().map_or("", |l| &l.output).to_string())
    }

    #[test]
    fn a_session_rolled_back_leaves_what_was_before_it() {
        let mut cache = ElementCache::new(100);
        cache.remember(&element(Kind::Host, 1, "h1"), None);
        cache.update(Kind::Host, 1, &state("first"), 10);
        cache.commit();
        let mark = cache.mark();
        cache.update(Kind::Host, 1, &state("undone"), 11);
        cache.remember(&element(Kind::Host, 2, "h2"), None);
        cache.remember(&element(Kind::Service, 3, "s"), Some(2));
        assert_eq!(output(&cache, "h1").as_deref(), Some("undone"));
        cache.roll_back_to(mark);
        assert_eq!(output(&cache, "h1").as_deref(), Some("first"));
        assert_eq!(cache.host("h1").unwrap().updated, 10);
        assert!(cache.host("h2").is_none());
        assert!(cache.service(2, "s").is_none());
        // The ids of what was taken back are gone too: an update of them changes nothing.
        cache.update(Kind::Host, 2, &state("x"), 12);
        assert!(cache.host("h2").is_none());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn every_field_an_update_replaced_is_put_back_newest_first() {
        let mut cache = ElementCache::new(100);
        cache.remember(&element(Kind::Service, 3, "s"), Some(1));
        cache.update(Kind::Service, 3, &state("kept"), 10);
        cache.commit();
        let mut customs = Map::new();
        customs.insert("_A".into(), Value::from(1));
        cache.update(
            Kind::Service,
            3,
            &ElementPatch {
                active_checks_enabled: Some(false),
                passive_checks_enabled: Some(false),
                check_freshness: Some(true),
                customs: Some(customs.clone()),
                ..ElementPatch::default()
            },
            11,
        );
        cache.update(Kind::Service, 3, &state("undone"), 12);
        let changed = cache.service(1, "s").unwrap();
        assert_eq!(changed.customs, customs);
        assert!(!changed.active_checks_enabled && changed.check_freshness);
        cache.roll_back();
        let back = cache.service(1, "s").unwrap();
        assert_eq!(back.updated, 10);
        assert!(back.active_checks_enabled && back.passive_checks_enabled);
        assert!(!back.check_freshness);
        assert!(back.customs.is_empty());
        assert_eq!(back.livestate.as_ref().unwrap().output, "kept");
    }

    #[test]
    fn a_failed_batch_takes_back_every_session_of_it() {
        let mut cache = ElementCache::new(100);
        cache.remember(&element(Kind::Host, 1, "h1"), None);
        cache.commit();
        cache.update(Kind::Host, 1, &state("session 1"), 11);
        let mark = cache.mark();
        cache.update(Kind::Host, 1, &state("session 2"), 12);
        cache.remember(&element(Kind::Host, 2, "h2"), None);
        let _ = mark; // session 2 was released into the batch
        cache.roll_back();
        assert_eq!(output(&cache, "h1").as_deref(), Some(""));
        assert_eq!(cache.host("h1").unwrap().updated, 1);
        assert!(cache.host("h2").is_none());
    }

    #[test]
    fn a_reused_id_after_a_rollback_points_at_the_new_element() {
        let mut cache = ElementCache::new(100);
        cache.remember(&element(Kind::Host, 7, "gone"), None);
        cache.roll_back();
        cache.remember(&element(Kind::Host, 7, "new"), None);
        cache.update(Kind::Host, 7, &state("mine"), 3);
        cache.commit();
        assert_eq!(output(&cache, "new").as_deref(), Some("mine"));
        assert!(cache.host("gone").is_none());
    }

    #[test]
    fn services_are_per_host() {
        let mut cache = ElementCache::new(100);
        cache.remember(&element(Kind::Service, 3, "http"), Some(1));
        cache.remember(&element(Kind::Service, 4, "http"), Some(2));
        cache.update(Kind::Service, 4, &state("host 2's"), 9);
        cache.commit();
        assert!(cache.service(1, "http").unwrap().livestate.is_none());
        assert!(cache.service(2, "http").unwrap().livestate.is_some());
        assert!(cache.service(3, "http").is_none());
    }

    #[test]
    fn it_is_bounded_once_committed() {
        let mut cache = ElementCache::new(10);
        for id in 0..50 {
            cache.remember(&element(Kind::Host, id, &format!("h{id}")), None);
        }
        assert_eq!(cache.len(), 50);
        cache.commit();
        assert_eq!(cache.len(), 10);
        assert_eq!(cache.host_ids.len(), 10);
        // What is left is coherent: each id names its element.
        for (id, key) in &cache.host_ids {
            assert_eq!(cache.elements[key].id, *id);
        }
    }
}
