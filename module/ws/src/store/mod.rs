//! Where hosts, services, their customs and last livestate, hostgroups and the history
//! (check results, comments) live. The /host algorithm is written once against `Session`;
//! `EmbeddedStore` (SQLite) and `AlignakBackend` (REST) implement it.

pub mod backend;
mod cache;
mod checkpoint;
pub mod embedded;
mod file;
pub mod model;
pub mod retention;
pub mod schema;
pub mod template;
pub mod tokens;

use serde_json::{json, Map, Value};

use crate::auth::Caller;
use crate::config::RealmCase;
use model::{
    CheckRecord, Element, ElementPatch, HistoryPage, HistoryQuery, Hostgroup, Kind, NewElement,
    NewHistory,
};

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be used now (file locked, disk full, corrupt, backend unreachable):
    /// 503. The text says which store and why.
    #[error("{0}")]
    Unavailable(String),
    /// The backend refused the caller's credentials: 401.
    #[error("{0}")]
    Unauthorized(String),
    /// The store refused a document (the backend's validation): the caller's request cannot
    /// be applied as it is.
    #[error("{0}")]
    Refused(String),
    /// The store cannot run the query as it was asked (too complex a search): the caller's
    /// request is at fault, not the store: 400.
    #[error("{0}")]
    BadQuery(String),
}

/// One unit of work, with blocking calls. On the embedded store everything done through a
/// session is committed together, or not at all; the backend has no transactions: each call
/// is applied when it is made (`Store::atomic` tells which).
pub trait Session {
    fn host(&mut self, name: &str) -> Result<Option<Element>, StoreError>;
    fn service(&mut self, host_id: i64, name: &str) -> Result<Option<Element>, StoreError>;
    fn services(&mut self, host_id: i64) -> Result<Vec<Element>, StoreError>;
    fn create(
        &mut self,
        kind: Kind,
        host_id: Option<i64>,
        new: &NewElement,
    ) -> Result<Element, StoreError>;
    /// Creates `name` from the request's `template` (upstream-spec §8): the store resolves
    /// what the template names. `StoreError::Refused` when the store will not have it.
    fn create_from_template(
        &mut self,
        kind: Kind,
        host: Option<&Element>,
        name: &str,
        template: Option<&Map<String, Value>>,
        realm_case: RealmCase,
    ) -> Result<Element, StoreError> {
        let new = template::new_element(self, kind, name, template, realm_case)?;
        self.create(kind, host.map(|h| h.id), &new)
    }
    fn update(&mut self, kind: Kind, id: i64, patch: &ElementPatch) -> Result<(), StoreError>;
    /// Every host naming `group` in its `hostgroups` field.
    fn hosts_in_group(&mut self, group: &str) -> Result<Vec<Element>, StoreError>;
    fn hostgroups(&mut self, name: Option<&str>) -> Result<Vec<Hostgroup>, StoreError>;
    /// `GET /host` without a name: one page of the hosts (oldest first), without their
    /// services, and how many there are.
    fn host_page(
        &mut self,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Map<String, Value>>, u64), StoreError>;
    /// Creates or replaces the hostgroup `name`.
    fn put_hostgroup(
        &mut self,
        name: &str,
        alias: &str,
        members: &[String],
    ) -> Result<(), StoreError>;
    fn add_history(&mut self, entry: &NewHistory) -> Result<(), StoreError>;
    /// Newest first.
    fn history(&mut self, query: &HistoryQuery) -> Result<HistoryPage, StoreError>;

    /// Keeps a check result of a livestate: here a `check.result` history entry; the
    /// backend posts a log check result for a timestamped one instead.
    fn record_check(&mut self, check: &CheckRecord) -> Result<(), StoreError> {
        self.add_history(&NewHistory {
            host_name: Some(check.host.name.clone()),
            service_name: check.service.map(|s| s.name.clone()),
            user_name: "Alignak".into(),
            kind: "check.result".into(),
            message: check.last.history_message(),
        })
    }

    /// Whether keeping a livestate changes the element as an update does (the backend with
    /// `alignak_backend_livestate_update`: "Host 'x' updated."). The embedded store keeps
    /// every livestate as a matter of course: a heartbeat stays a heartbeat.
    fn livestate_is_update(&self) -> bool {
        false
    }

    /// `GET /host/<name>`: the host's documents as the API shows them.
    fn host_documents(&mut self, name: &str) -> Result<Vec<Map<String, Value>>, StoreError> {
        let Some(host) = self.host(name)? else {
            return Ok(Vec::new());
        };
        let services: Vec<Value> = self
            .services(host.id)?
            .iter()
            .map(|s| Value::Object(s.document()))
            .collect();
        let mut doc = host.document();
        doc.insert("services".into(), Value::Array(services));
        Ok(vec![doc])
    }

    /// `GET /hostgroup[/<name>]`: every group (or the one named), with its hosts: declared
    /// members first, then stored hosts naming the group, each once; with `embedded`, hosts
    /// and realm as `{name, alias}`.
    fn hostgroup_documents(
        &mut self,
        name: Option<&str>,
        embedded: bool,
    ) -> Result<Vec<Map<String, Value>>, StoreError> {
        let alias_of = |host: &Element| {
            host.fields
                .get("alias")
                .and_then(Value::as_str)
                .map_or_else(|| host.name.clone(), String::from)
        };
        let mut out = Vec::new();
        for group in self.hostgroups(name)? {
            let mut hosts: Vec<(String, String)> = Vec::new();
            for member in &group.members {
                let alias = self
                    .host(member)?
                    .map_or_else(|| member.clone(), |h| alias_of(&h));
                hosts.push((member.clone(), alias));
            }
            for host in self.hosts_in_group(&group.name)? {
                if !hosts.iter().any(|(n, _)| *n == host.name) {
                    let alias = alias_of(&host);
                    hosts.push((host.name, alias));
                }
            }
            let mut doc = group.document();
            doc.insert("notes".into(), json!(""));
            doc.insert("_level".into(), json!(1));
            doc.insert("hostgroups".into(), json!([]));
            let hosts: Vec<Value> = hosts
                .into_iter()
                .map(|(name, alias)| {
                    if embedded {
                        json!({"name": name, "alias": alias})
                    } else {
                        json!(name)
                    }
                })
                .collect();
            doc.insert("hosts".into(), Value::Array(hosts));
            let realm = if embedded {
                json!({"name": "All", "alias": "All"})
            } else {
                json!("All")
            };
            doc.insert("_realm".into(), realm);
            out.push(doc);
        }
        Ok(out)
    }

    /// `GET /alignak_logs`: one page of history documents, newest first, and how many match.
    fn history_documents(
        &mut self,
        query: &HistoryQuery,
    ) -> Result<(Vec<Map<String, Value>>, u64), StoreError> {
        let page = self.history(query)?;
        Ok((
            page.items
                .iter()
                .map(model::HistoryEntry::document)
                .collect(),
            page.total,
        ))
    }
}

/// Seconds since the Unix epoch: the store's timestamps.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Made before a batch of queued sessions is told its outcomes, and dropped after: the
/// guard it returns (the daemon's `queue::hold_pushes`) turns the commands those sessions
/// hand on into one push. The store is given it when opened, and knows nothing more of it.
pub type AnswerScope = std::sync::Arc<dyn Fn() -> Box<dyn std::any::Any> + Send + Sync>;

/// A session handed to a store that runs sessions on a thread of its own (`Store::queue`).
pub trait QueuedWork: Send {
    /// The session's work, on the store's thread.
    fn run(&mut self, session: &mut dyn Session) -> Result<(), StoreError>;
    /// Called once, from the store's thread, with the session's outcome: `Ok` only once its
    /// writes are committed.
    fn done(self: Box<Self>, outcome: Result<(), StoreError>);
}

pub trait Store: Send + Sync {
    /// Runs `work` in one session for `caller`; on an atomic store its writes are committed
    /// when it returns `Ok`, and undone when it fails.
    fn session(
        &self,
        caller: &Caller,
        work: &mut dyn FnMut(&mut dyn Session) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    /// Whether a failed session leaves nothing done. The backend applies each call when it
    /// is made: commands built before a failure are then still sent, as the original did.
    fn atomic(&self) -> bool {
        true
    }

    /// Hands `work` to the store's own session thread, which calls its `done` when the
    /// session is over; a store without one (the default) gives `work` back, and `run` runs
    /// it with `session` on the blocking pool.
    fn queue(
        &self,
        _caller: &Caller,
        work: Box<dyn QueuedWork>,
    ) -> Result<(), Box<dyn QueuedWork>> {
        Err(work)
    }

    /// Runs `work`, which only reads, where it waits for no write: the embedded store runs
    /// it on a read connection of its own (WAL lets it read beside the writer, and it sees
    /// every commit made before it began). The default is `session`.
    fn read(
        &self,
        caller: &Caller,
        work: &mut dyn FnMut(&mut dyn Session) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.session(caller, work)
    }
}
