//! Where hosts, services, their customs and last livestate, hostgroups and the history
//! (check results, comments) live. The /host algorithm is written once against `Session`;
//! `EmbeddedStore` (SQLite) is the first implementation, an Alignak-backend one comes later.

pub mod embedded;
pub mod model;
pub mod schema;
pub mod tokens;

use model::{
    Element, ElementPatch, HistoryPage, HistoryQuery, Hostgroup, Kind, NewElement, NewHistory,
};

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be used now (file locked, disk full, corrupt, unreachable): 503.
    #[error("The data store is not available currently: {0}")]
    Unavailable(String),
}

/// One unit of work: everything done through a session is committed together, or not at
/// all, and no other session runs meanwhile. Calls are blocking.
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
    fn update(&mut self, kind: Kind, id: i64, patch: &ElementPatch) -> Result<(), StoreError>;
    /// Every host naming `group` in its `hostgroups` field.
    fn hosts_in_group(&mut self, group: &str) -> Result<Vec<Element>, StoreError>;
    fn hostgroups(&mut self, name: Option<&str>) -> Result<Vec<Hostgroup>, StoreError>;
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
}

/// Seconds since the Unix epoch: the store's timestamps.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub trait Store: Send + Sync {
    /// Runs `work` in one session; its writes are committed when it returns `Ok`.
    fn session(
        &self,
        work: &mut dyn FnMut(&mut dyn Session) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
}

/// Sessions handed to the blocking pool at once. Sessions run one at a time (one
/// connection), committed in batches of those waiting: a few waiting make a batch, many only
/// add lock contention and context switches.
static SESSION_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(8);

/// `Store::session` with a result, run off the async workers: store calls block.
pub async fn run<T, F>(store: std::sync::Arc<dyn Store>, work: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Session) -> Result<T, StoreError> + Send + 'static,
{
    let _slot = SESSION_SLOTS
        .acquire()
        .await
        .map_err(|e| StoreError::Unavailable(format!("the store is closed: {e}")))?;
    tokio::task::spawn_blocking(move || {
        let mut work = Some(work);
        let mut output = None;
        store.session(&mut |session| {
            if let Some(work) = work.take() {
                output = Some(work(session)?);
            }
            Ok(())
        })?;
        output.ok_or_else(|| StoreError::Unavailable("the store session did not run".into()))
    })
    .await
    .map_err(|e| StoreError::Unavailable(format!("the store task failed: {e}")))?
}
