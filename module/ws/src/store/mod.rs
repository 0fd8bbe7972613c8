//! Where hosts, services, their customs and last livestate, hostgroups and the history
//! (check results, comments) live. The /host algorithm is written once against `Session` (the
//! write side), the GET endpoints against `Documents` (the read side); `EmbeddedStore`
//! (SQLite) and `AlignakBackend` (REST) implement both.

pub mod backend;
mod cache;
mod checkpoint;
pub mod embedded;
mod file;
pub mod model;
pub mod retention;
mod rows;
pub mod schema;
pub mod template;
pub mod tokens;

use serde_json::{Map, Value};

use crate::auth::Caller;
use crate::config::RealmCase;
use model::{CheckRecord, Element, ElementPatch, HistoryQuery, Kind, NewElement, NewHistory};

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

/// The stored elements by name, with blocking calls: what the /host algorithm looks up
/// before it writes, and what the core objects' writer and the documents read.
pub trait Lookups {
    fn host(&mut self, name: &str) -> Result<Option<Element>, StoreError>;
    fn service(&mut self, host_id: i64, name: &str) -> Result<Option<Element>, StoreError>;
    fn services(&mut self, host_id: i64) -> Result<Vec<Element>, StoreError>;
}

/// The write side of one unit of work: what the /host algorithm, /event and NRDP do, on
/// either store. On the embedded store everything done through a session is committed
/// together, or not at all; the backend has no transactions: each call is applied when it is
/// made (`Store::atomic` tells which, and `dispatch::run_staged` answers for it).
pub trait Session: Lookups {
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
    /// Creates or replaces the hostgroup `name` (`hostgroups_file`). The backend refuses it:
    /// its hostgroups are its own.
    fn put_hostgroup(
        &mut self,
        name: &str,
        alias: &str,
        members: &[String],
    ) -> Result<(), StoreError>;
    fn add_history(&mut self, entry: &NewHistory) -> Result<(), StoreError>;

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
}

/// The read side: the documents the GET endpoints show, as each store has them (the
/// embedded store shapes them from its rows, `rows::Rows`; the backend has its own).
pub trait Documents: Lookups {
    /// `GET /host/<name>`: the host's documents as the API shows them.
    fn host_documents(&mut self, name: &str) -> Result<Vec<Map<String, Value>>, StoreError>;

    /// `GET /host` without a name: one page of the hosts (oldest first), without their
    /// services, and how many there are.
    fn host_page(
        &mut self,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Map<String, Value>>, u64), StoreError>;

    /// `GET /hostgroup[/<name>]`: every group (or the one named), with its hosts; with
    /// `embedded`, hosts and realm as `{name, alias}`.
    fn hostgroup_documents(
        &mut self,
        name: Option<&str>,
        embedded: bool,
    ) -> Result<Vec<Map<String, Value>>, StoreError>;

    /// `GET /alignak_logs`: one page of history documents, newest first, and how many match.
    fn history_documents(
        &mut self,
        query: &HistoryQuery,
    ) -> Result<(Vec<Map<String, Value>>, u64), StoreError>;
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
    /// every commit made before it began).
    fn read(
        &self,
        caller: &Caller,
        work: &mut dyn FnMut(&mut dyn Documents) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
}
