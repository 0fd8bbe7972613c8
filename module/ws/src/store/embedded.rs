//! `EmbeddedStore`: the store in one SQLite file (WAL mode).
//!
//! Concurrency: one connection, behind a `Mutex`, and one thread of the store's own (the
//! session thread) that runs the sessions queued by `dispatch::run` and `dispatch::run_then_push`:
//! it takes every session waiting (up to `MAX_BATCH`), runs them one after the other in one
//! transaction, each inside its own savepoint (a failing session is undone alone), commits
//! once for all (group commit), hands the commands the sessions built to the daemon in one
//! push (one spool fsync: `queue::HeldPushes`), and only then answers each. So sessions are
//! serialised — a read-modify-write of a host's customs cannot interleave with another —, the
//! async workers never wait on the disk, and a request costs no lock contention nor thread of
//! the blocking pool. A session that only reads waits behind the batch before it, push
//! included (its fsync: a few tenths of a millisecond on this project's machine).
//! `Store::session` called directly (at start-up, in tests) runs its session in a batch of
//! its own on the caller's thread, under the same lock.
//!
//! A failed open or a failed batch drops the connection: the next batch opens the file again
//! (no sticky "unavailable" state).
//!
//! WAL checkpoints run on a thread and connection of their own (`checkpoint.rs`), not inside
//! a batch's COMMIT.
//!
//! Hosts and services read or written are kept in a read cache (`cache.rs`), write-through
//! and rolled back with the savepoint or the batch that changed it: `host` and `service` then
//! cost no `SELECT`.
//!
//! Reads that can be slow (`/alignak_logs`) do not go through the session thread:
//! `Store::read` runs them on a read-only connection of their own (a few kept open), beside
//! the writer (WAL). A read begins after every commit answered before it was asked, so it
//! sees them; it does not use the cache (which only ever holds committed rows once a batch
//! is over).
//!
//! The file is watched (`file.rs`): before each batch the path's inode is compared with the
//! open one. Removed or replaced, the connection is dropped, the batch answered 503 (logged
//! once), and the store is opened again only from a file at the path — a removed file is
//! never created again while running (that would answer OK over an empty store): put it
//! back, or restart the daemon for a new empty one.
//!
//! History retention (`retention.rs`) runs between batches, one small step at a time.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{params, params_from_iter, Connection, Row};
use serde_json::{Map, Value};

use super::cache::ElementCache;
use super::checkpoint::{Checkpointer, FALLBACK_AUTOCHECKPOINT};
use super::file::{self, Identity};
use super::model::{
    CheckRecord, Element, ElementPatch, HistoryEntry, HistoryPage, HistoryQuery, Hostgroup, Kind,
    LastState, NewElement, NewHistory,
};
use super::retention::{self, Retention};
use super::rows::Rows;
#[cfg(test)]
use super::schema;
use super::{now, AnswerScope, Documents, Lookups, QueuedWork, Session, Store, StoreError};
use crate::auth::Caller;

/// Sessions committed together at most.
const MAX_BATCH: usize = 64;
/// Sessions queued at most (`dispatch::run` bounds them before; this is a last guard): beyond,
/// a session runs on the caller's side (`Store::queue` gives it back).
const MAX_QUEUED: usize = 1024;
/// Hosts and services the read cache keeps at most.
const CACHE_CAPACITY: usize = 20_000;
/// Read connections kept open between reads (more are opened when reads overlap).
const IDLE_READERS: usize = 4;
/// A retention step is due this often when the last one found nothing to do.
const RETENTION_PERIOD: Duration = Duration::from_secs(1);

pub struct EmbeddedStore {
    inner: Arc<Inner>,
    thread: Option<JoinHandle<()>>,
}

struct Inner {
    path: PathBuf,
    retention: Retention,
    /// Read-only connections for `Store::read`.
    readers: Mutex<Vec<Connection>>,
    /// `Slot::lost`, for reads (which do not take the slot's lock: it is held by batches).
    file_lost: std::sync::atomic::AtomicBool,
    /// Checkpoints the WAL off the session thread (`checkpoint.rs`).
    checkpointer: Option<Checkpointer>,
    /// Held while a batch's sessions are told their outcome.
    answer_scope: Option<AnswerScope>,
    slot: Mutex<Slot>,
    queue: Mutex<Queue>,
    /// Wakes the session thread when a session is queued or the store closes.
    wake: Condvar,
    /// Tests: the next commit fails.
    #[cfg(test)]
    fail_next_commit: std::sync::atomic::AtomicBool,
}

struct Slot {
    conn: Option<Connection>,
    cache: ElementCache,
    /// The file `conn` has open.
    identity: Option<Identity>,
    /// The file went away while running: it is not created again.
    lost: bool,
    /// When the next retention step is due.
    next_retention: std::time::Instant,
}

#[derive(Default)]
struct Queue {
    sessions: VecDeque<Box<dyn QueuedWork>>,
    closed: bool,
    /// The session thread sleeps on `wake`: only then does a new session need to wake it
    /// (a notification costs a system call even when nobody waits).
    sleeping: bool,
}

/// The answer's text names no path (answers show no absolute path): the log has it.
fn unavailable(path: &Path, err: impl std::fmt::Display) -> StoreError {
    log::debug!("store {}: {err}", path.display());
    StoreError::Unavailable(format!("The data store is not available currently: {err}"))
}

/// SQLite's errors that come from what a query asked, not from the file.
fn query_error(err: &rusqlite::Error) -> bool {
    let text = err.to_string();
    [
        "Expression tree is too large",
        "too many SQL variables",
        "string or blob too big",
        "pattern too complex",
        "too many terms",
    ]
    .iter()
    .any(|known| text.contains(known))
}

impl EmbeddedStore {
    /// Opens (creating it and its directory) the store at `path`. A file that cannot be used
    /// now is not fatal: the error is returned for the log, and each request tries again.
    pub fn open(path: &Path) -> (EmbeddedStore, Option<StoreError>) {
        EmbeddedStore::open_with(path, Retention::default(), None)
    }

    /// `open`, keeping the history `retention` says; `answer_scope` is held while each
    /// batch's sessions are told their outcome.
    pub fn open_with(
        path: &Path,
        retention: Retention,
        answer_scope: Option<AnswerScope>,
    ) -> (EmbeddedStore, Option<StoreError>) {
        let inner = Arc::new(Inner {
            path: path.to_path_buf(),
            retention,
            readers: Mutex::new(Vec::new()),
            file_lost: std::sync::atomic::AtomicBool::new(false),
            checkpointer: Checkpointer::start(path),
            answer_scope,
            slot: Mutex::new(Slot {
                conn: None,
                cache: ElementCache::new(CACHE_CAPACITY),
                identity: None,
                lost: false,
                next_retention: std::time::Instant::now(),
            }),
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            #[cfg(test)]
            fail_next_commit: std::sync::atomic::AtomicBool::new(false),
        });
        let error = match inner.connect(true) {
            Ok((conn, identity)) => {
                let mut slot = inner.lock();
                slot.conn = Some(conn);
                slot.identity = Some(identity);
                None
            }
            Err(err) => Some(err),
        };
        let thread_inner = Arc::clone(&inner);
        let thread = std::thread::Builder::new()
            .name("ws-store".into())
            .spawn(move || thread_inner.session_thread())
            .map_err(|e| {
                // Sessions then run on the blocking pool (`Store::queue` gives them back).
                log::warn!("cannot start the store's session thread: {e}");
                inner.queue().closed = true;
            })
            .ok();
        (EmbeddedStore { inner, thread }, error)
    }
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        self.inner.queue().closed = true;
        self.inner.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            // The session thread runs what is queued, then ends. (A session holding the last
            // handle would be that thread itself: it is then left to end on its own.)
            if thread.thread().id() != std::thread::current().id() && thread.join().is_err() {
                log::error!("the store's session thread panicked");
            }
        }
    }
}

impl Inner {
    /// Opens the session connection, creating the file (0600) only when `create`; returns
    /// it with the file it has open.
    fn connect(&self, create: bool) -> Result<(Connection, Identity), StoreError> {
        let fail = |e: &dyn std::fmt::Display| unavailable(&self.path, e);
        let (conn, identity) =
            file::open_read_write(&self.path, create).map_err(|e| fail(&e.cause()))?;
        // Commits reach the WAL without an fsync of their own (checkpoints still sync): a
        // process crash loses nothing, a power loss at most the last moments of state. The
        // commands, which are what must not be lost, are made durable by the daemon's spool.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| fail(&e))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| fail(&e))?;
        if self.checkpointer.is_some() {
            conn.pragma_update(None, "wal_autocheckpoint", FALLBACK_AUTOCHECKPOINT)
                .map_err(|e| fail(&e))?;
        }
        Ok((conn, identity))
    }

    /// Before a batch: is the open file still the one at the path? If not, the connection
    /// is dropped (logged once) and the file is not created again.
    fn watch(&self, slot: &mut Slot) -> Result<(), StoreError> {
        let Some(open) = slot.identity else {
            return Ok(());
        };
        let now = file::identity(&self.path);
        if matches!(now, Ok(Some(current)) if current == open) {
            return Ok(());
        }
        let what = match now {
            Ok(None) => "removed".to_string(),
            Ok(Some(_)) => "replaced by another file".to_string(),
            Err(e) => format!("not readable ({e})"),
        };
        log::error!(
            "the store file {} was {what} while running: writes are refused (503) until a \
             file is back at that path (or the daemon restarts)",
            self.path.display()
        );
        slot.conn = None;
        slot.identity = None;
        slot.lost = true;
        slot.cache.clear();
        self.file_lost
            .store(true, std::sync::atomic::Ordering::SeqCst);
        // Kept readers have the old file open.
        self.drop_readers();
        Err(unavailable(
            &self.path,
            format!("the store file was {what} while running"),
        ))
    }

    /// Opens the session connection when there is none (a file lost is not created again).
    fn ensure_open(&self, slot: &mut Slot) -> Result<(), StoreError> {
        if slot.conn.is_none() {
            // A new connection: what the cache knew may be older than the file.
            slot.cache.clear();
            let create = !slot.lost;
            match self.connect(create) {
                Ok((conn, identity)) => {
                    if slot.lost {
                        log::warn!(
                            "the store file {} is back: in use again",
                            self.path.display()
                        );
                        self.drop_readers();
                        self.file_lost
                            .store(false, std::sync::atomic::Ordering::SeqCst);
                    }
                    slot.conn = Some(conn);
                    slot.identity = Some(identity);
                    slot.lost = false;
                }
                Err(failure) => return Err(failure),
            }
        }
        Ok(())
    }

    /// One retention step when it is due (between batches, on the session connection).
    fn keep_history(&self) {
        let mut slot = self.lock();
        // Also watched when idle: a file gone is seen within a period, not at the next write.
        if self.watch(&mut slot).is_err() {
            return;
        }
        // A file put back is taken again without waiting for a write (reads wait for it).
        if slot.lost && self.path.exists() && self.ensure_open(&mut slot).is_err() {
            return;
        }
        if std::time::Instant::now() < slot.next_retention {
            return;
        }
        let Some(conn) = slot.conn.as_ref() else {
            return;
        };
        let started = std::time::Instant::now();
        let behind = match retention::step(conn, self.retention, now()) {
            Ok(step) => {
                if step.deleted > 0 {
                    log::debug!(
                        "history: {} old entries pruned in {:?}",
                        step.deleted,
                        started.elapsed()
                    );
                }
                if let Some(checkpointer) = &self.checkpointer {
                    checkpointer.committed();
                }
                step.behind()
            }
            Err(e) => {
                log::warn!("history retention step failed: {e}");
                false
            }
        };
        slot.next_retention = if behind {
            std::time::Instant::now()
        } else {
            std::time::Instant::now() + RETENTION_PERIOD
        };
    }

    /// A read-only connection for `Store::read`: kept ones first.
    fn reader(&self) -> Result<Connection, StoreError> {
        if let Some(conn) = self
            .readers
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .pop()
        {
            return Ok(conn);
        }
        file::open_read_only(&self.path).map_err(|e| unavailable(&self.path, e.cause()))
    }

    fn drop_readers(&self) {
        self.readers
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clear();
    }

    fn give_back(&self, conn: Connection) {
        let mut readers = self
            .readers
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if readers.len() < IDLE_READERS {
            readers.push(conn);
        }
    }

    /// `Store::read`: `work` in one read transaction on a read connection.
    fn read(
        &self,
        work: &mut dyn FnMut(&mut dyn Documents) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // A file gone away is not read either (a reader would still see the old inode).
        if self.file_lost.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(unavailable(
                &self.path,
                "the store file was removed or replaced while running",
            ));
        }
        let conn = self.reader()?;
        if let Err(e) = execute_cached(&conn, "BEGIN") {
            return Err(unavailable(&self.path, e));
        }
        // An empty cache of no capacity: the rows come from the file.
        let mut cache = ElementCache::new(0);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            work(&mut SqliteSession::new(&conn, &self.path, &mut cache))
        }))
        .unwrap_or_else(|_| Err(unavailable(&self.path, "a store read panicked (a bug)")));
        match execute_cached(&conn, "COMMIT") {
            Ok(()) => self.give_back(conn),
            Err(e) => log::debug!("a store read did not end cleanly: {e}"),
        }
        outcome
    }

    /// A panic outside a session's own guard (a bug) poisons the lock: start again from a
    /// new connection and an empty cache rather than refuse every later request.
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|poison| {
            let mut slot = poison.into_inner();
            slot.conn = None;
            slot.cache.clear();
            slot
        })
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        // Every change under this lock leaves the queue consistent.
        self.queue
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The session thread: batches of the queued sessions until the store closes and the
    /// queue is empty.
    fn session_thread(&self) {
        loop {
            let mut batch: Vec<Box<dyn QueuedWork>> = {
                let mut queue = self.queue();
                if queue.sessions.is_empty() && !queue.closed {
                    // Idle: wake up for retention at least once a period.
                    queue.sleeping = true;
                    queue = self
                        .wake
                        .wait_timeout(queue, RETENTION_PERIOD)
                        .unwrap_or_else(|poison| poison.into_inner())
                        .0;
                    queue.sleeping = false;
                }
                if queue.sessions.is_empty() {
                    if queue.closed {
                        return;
                    }
                    drop(queue);
                    self.keep_history();
                    continue;
                }
                let count = queue.sessions.len().min(MAX_BATCH);
                queue.sessions.drain(..count).collect()
            };
            let started = std::time::Instant::now();
            let outcomes = catch_unwind(AssertUnwindSafe(|| {
                self.run_batch(batch.len(), &mut |i, session| batch[i].run(session))
            }))
            .unwrap_or_else(|_| {
                let failure = unavailable(&self.path, "a store batch panicked (a bug)");
                vec![Err(failure); batch.len()]
            });
            crate::metrics::store_batch(batch.len(), started.elapsed());
            // The sessions' commands (`dispatch::run_then_push`) go to the daemon in one push
            // from this thread, before any is answered.
            let scope = self.answer_scope.as_ref().map(|scope| scope());
            for (work, outcome) in batch.drain(..).zip(outcomes) {
                work.done(outcome);
            }
            drop(scope);
            self.keep_history();
        }
    }

    /// Runs `count` sessions (`work(i, session)` runs the `i`th) in one transaction, each in
    /// its own savepoint, and commits them together. Returns each session's outcome: its own
    /// error, or the batch's when the batch fails (then nothing of it is kept).
    fn run_batch(
        &self,
        count: usize,
        work: &mut dyn FnMut(usize, &mut dyn Session) -> Result<(), StoreError>,
    ) -> Vec<Result<(), StoreError>> {
        let mut slot = self.lock();
        let all_fail = |failure: StoreError| vec![Err(failure); count];
        if let Err(failure) = self.watch(&mut slot) {
            return all_fail(failure);
        }
        if let Err(failure) = self.ensure_open(&mut slot) {
            return all_fail(failure);
        }
        let Slot { conn, cache, .. } = &mut *slot;
        let Some(connection) = conn.as_ref() else {
            return all_fail(unavailable(&self.path, "not open"));
        };
        if let Err(e) = execute_cached(connection, "BEGIN IMMEDIATE") {
            *conn = None;
            return all_fail(unavailable(&self.path, e));
        }
        let mut outcomes = Vec::with_capacity(count);
        let mut failure = None;
        for i in 0..count {
            // This session's writes, undone alone if it fails.
            let mark = cache.mark();
            let mut panicked = false;
            let outcome = execute_cached(connection, "SAVEPOINT session")
                .map_err(|e| unavailable(&self.path, e))
                .and_then(|()| {
                    let mut session = SqliteSession::new(connection, &self.path, &mut *cache);
                    catch_unwind(AssertUnwindSafe(|| work(i, &mut session))).unwrap_or_else(|_| {
                        panicked = true;
                        Err(unavailable(&self.path, "a store session panicked (a bug)"))
                    })
                });
            let closed = match &outcome {
                Ok(()) => execute_cached(connection, "RELEASE session"),
                Err(_) => {
                    if panicked {
                        // The cache may have been left half-changed: forget it all.
                        cache.clear();
                    } else {
                        cache.roll_back_to(mark);
                    }
                    execute_cached(connection, "ROLLBACK TO session")
                        .and_then(|()| execute_cached(connection, "RELEASE session"))
                }
            };
            outcomes.push(outcome);
            if let Err(e) = closed {
                // The transaction is in an unknown state: the whole batch fails.
                failure = Some(unavailable(&self.path, e));
                break;
            }
        }
        #[cfg(test)]
        if failure.is_none()
            && self
                .fail_next_commit
                .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            failure = Some(unavailable(&self.path, "the test failed this commit"));
        }
        if failure.is_none() {
            failure = execute_cached(connection, "COMMIT")
                .err()
                .map(|e| unavailable(&self.path, e));
        }
        match failure {
            None => {
                cache.commit();
                if let Some(checkpointer) = &self.checkpointer {
                    checkpointer.committed();
                }
                outcomes
            }
            Some(failure) => {
                cache.roll_back();
                if let Some(conn) = conn.take() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                all_fail(failure)
            }
        }
    }
}

/// A statement without parameters, from the connection's statement cache.
fn execute_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

impl Store for EmbeddedStore {
    fn session(
        &self,
        _caller: &Caller,
        work: &mut dyn FnMut(&mut dyn Session) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.inner
            .run_batch(1, &mut |_, session| work(session))
            .pop()
            .unwrap_or_else(|| Err(unavailable(&self.inner.path, "the session did not run")))
    }

    fn read(
        &self,
        _caller: &Caller,
        work: &mut dyn FnMut(&mut dyn Documents) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.inner.read(work)
    }

    fn queue(
        &self,
        _caller: &Caller,
        work: Box<dyn QueuedWork>,
    ) -> Result<(), Box<dyn QueuedWork>> {
        let sleeping = {
            let mut queue = self.inner.queue();
            if queue.closed || queue.sessions.len() >= MAX_QUEUED {
                return Err(work);
            }
            queue.sessions.push_back(work);
            queue.sleeping
        };
        if sleeping {
            self.inner.wake.notify_one();
        }
        Ok(())
    }
}

impl<'a> SqliteSession<'a> {
    fn new(conn: &'a Connection, path: &'a Path, cache: &'a mut ElementCache) -> Self {
        SqliteSession {
            conn,
            path,
            cache,
            held: Default::default(),
        }
    }

    /// A statement from the connection's cache: a PATCH runs the same few statements over
    /// and over, and parsing them each time cost more than running them.
    fn execute(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.conn.prepare_cached(sql)?.execute(params)
    }

    /// One of the statements run for every element of a request, held by the session.
    fn run_held(&mut self, which: Held, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        let slot = &mut self.held[which as usize];
        let statement = match slot {
            Some(statement) => statement,
            None => slot.insert(self.conn.prepare_cached(which.sql())?),
        };
        statement.execute(params)
    }
}

struct SqliteSession<'a> {
    /// Inside the batch's transaction and this session's savepoint.
    conn: &'a Connection,
    path: &'a Path,
    cache: &'a mut ElementCache,
    /// The `Held` statements, taken from the connection's cache once per session rather
    /// than per call: taking one and giving it back cost 15 % of the store's thread in
    /// a batch of livestates. They go back to the cache when the session ends.
    held: [Option<rusqlite::CachedStatement<'a>>; Held::COUNT],
}

/// The statements every livestate runs.
#[derive(Clone, Copy)]
enum Held {
    UpdateHost,
    UpdateService,
    UpdateHostLivestate,
    UpdateServiceLivestate,
    InsertHistory,
}

impl Held {
    const COUNT: usize = 5;

    fn sql(self) -> &'static str {
        match self {
            Held::UpdateHost => UPDATE_HOST,
            Held::UpdateService => UPDATE_SERVICE,
            Held::UpdateHostLivestate => UPDATE_HOST_LIVESTATE,
            Held::UpdateServiceLivestate => UPDATE_SERVICE_LIVESTATE,
            Held::InsertHistory => INSERT_HISTORY,
        }
    }
}

fn table(kind: Kind) -> &'static str {
    match kind {
        Kind::Host => "host",
        Kind::Service => "service",
    }
}

macro_rules! update_element {
    ($table:literal) => {
        concat!(
            "UPDATE ",
            $table,
            " SET updated = ?1, \
             active_checks_enabled = COALESCE(?2, active_checks_enabled), \
             passive_checks_enabled = COALESCE(?3, passive_checks_enabled), \
             check_freshness = COALESCE(?4, check_freshness), \
             customs = COALESCE(?5, customs), \
             ls_state = COALESCE(?6, ls_state), \
             ls_state_id = COALESCE(?7, ls_state_id), \
             ls_state_type = COALESCE(?8, ls_state_type), \
             ls_output = COALESCE(?9, ls_output), \
             ls_long_output = COALESCE(?10, ls_long_output), \
             ls_perf_data = COALESCE(?11, ls_perf_data), \
             ls_last_check = COALESCE(?12, ls_last_check) \
             WHERE id = ?13"
        )
    };
}
const UPDATE_HOST: &str = update_element!("host");
const UPDATE_SERVICE: &str = update_element!("service");

/// The update of nearly every request: a livestate and nothing else.
macro_rules! update_livestate {
    ($table:literal) => {
        concat!(
            "UPDATE ",
            $table,
            " SET updated = ?1, ls_state = ?2, ls_state_id = ?3, ls_state_type = ?4, \
             ls_output = ?5, ls_long_output = ?6, ls_perf_data = ?7, ls_last_check = ?8 \
             WHERE id = ?9"
        )
    };
}
const UPDATE_HOST_LIVESTATE: &str = update_livestate!("host");
const UPDATE_SERVICE_LIVESTATE: &str = update_livestate!("service");
const INSERT_HISTORY: &str =
    "INSERT INTO history (created, host_name, service_name, user_name, type, message) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

const ELEMENT_COLUMNS: &str = "id, name, fields, customs, active_checks_enabled, \
    passive_checks_enabled, check_freshness, ls_state, ls_state_id, ls_state_type, ls_output, \
    ls_long_output, ls_perf_data, ls_last_check, created, updated";

fn json_map(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

fn element(kind: Kind, row: &Row) -> rusqlite::Result<Element> {
    let state: Option<String> = row.get(7)?;
    let livestate = match state {
        Some(state) => Some(LastState {
            state,
            state_id: row.get::<_, Option<i64>>(8)?.unwrap_or(0),
            state_type: row.get::<_, Option<String>>(9)?.unwrap_or_default(),
            output: row.get::<_, Option<String>>(10)?.unwrap_or_default(),
            long_output: row.get::<_, Option<String>>(11)?.unwrap_or_default(),
            perf_data: row.get::<_, Option<String>>(12)?.unwrap_or_default(),
            last_check: row.get::<_, Option<i64>>(13)?.unwrap_or(0),
        }),
        None => None,
    };
    Ok(Element {
        id: row.get(0)?,
        kind,
        name: row.get(1)?,
        fields: json_map(&row.get::<_, String>(2)?),
        customs: json_map(&row.get::<_, String>(3)?),
        active_checks_enabled: row.get(4)?,
        passive_checks_enabled: row.get(5)?,
        check_freshness: row.get(6)?,
        livestate,
        created: row.get(14)?,
        updated: row.get(15)?,
    })
}

impl SqliteSession<'_> {
    fn fail(&self, err: impl std::fmt::Display) -> StoreError {
        unavailable(self.path, err)
    }

    /// A query's failure: the caller's (400) when SQLite refused what it asked, else the
    /// store's.
    fn query_failed(&self, err: rusqlite::Error) -> StoreError {
        if query_error(&err) {
            StoreError::BadQuery(format!("The search cannot be run: {err}."))
        } else {
            self.fail(err)
        }
    }

    fn elements(
        &self,
        kind: Kind,
        condition: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<Element>, StoreError> {
        let sql = format!(
            "SELECT {ELEMENT_COLUMNS} FROM {} WHERE {condition} ORDER BY id",
            table(kind)
        );
        let mut statement = self.conn.prepare_cached(&sql).map_err(|e| self.fail(e))?;
        let rows = statement
            .query_map(args, |row| element(kind, row))
            .map_err(|e| self.fail(e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.fail(e))
    }
}

impl Lookups for SqliteSession<'_> {
    fn host(&mut self, name: &str) -> Result<Option<Element>, StoreError> {
        if let Some(host) = self.cache.host(name) {
            return Ok(Some(host.clone()));
        }
        let found = self
            .elements(Kind::Host, "name = ?1", &[&name])?
            .into_iter()
            .next();
        if let Some(host) = &found {
            self.cache.remember(host, None);
        }
        Ok(found)
    }

    fn service(&mut self, host_id: i64, name: &str) -> Result<Option<Element>, StoreError> {
        if let Some(service) = self.cache.service(host_id, name) {
            return Ok(Some(service.clone()));
        }
        let found = self
            .elements(
                Kind::Service,
                "host_id = ?1 AND name = ?2",
                &[&host_id, &name],
            )?
            .into_iter()
            .next();
        if let Some(service) = &found {
            self.cache.remember(service, Some(host_id));
        }
        Ok(found)
    }

    fn services(&mut self, host_id: i64) -> Result<Vec<Element>, StoreError> {
        self.elements(Kind::Service, "host_id = ?1", &[&host_id])
    }
}

impl Session for SqliteSession<'_> {
    fn create(
        &mut self,
        kind: Kind,
        host_id: Option<i64>,
        new: &NewElement,
    ) -> Result<Element, StoreError> {
        let now = now();
        let fields = Value::Object(new.fields.clone()).to_string();
        let customs = Value::Object(new.customs.clone()).to_string();
        match kind {
            Kind::Host => self.execute(
                "INSERT INTO host (name, fields, customs, active_checks_enabled, \
                 passive_checks_enabled, check_freshness, created, updated) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                params![
                    new.name,
                    fields,
                    customs,
                    new.active_checks_enabled,
                    new.passive_checks_enabled,
                    new.check_freshness,
                    now
                ],
            ),
            Kind::Service => self.execute(
                "INSERT INTO service (host_id, name, fields, customs, active_checks_enabled, \
                 passive_checks_enabled, check_freshness, created, updated) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                params![
                    host_id.unwrap_or_default(),
                    new.name,
                    fields,
                    customs,
                    new.active_checks_enabled,
                    new.passive_checks_enabled,
                    new.check_freshness,
                    now
                ],
            ),
        }
        .map_err(|e| self.fail(e))?;
        let id = self.conn.last_insert_rowid();
        let created = self
            .elements(kind, "id = ?1", &[&id])?
            .into_iter()
            .next()
            .ok_or_else(|| self.fail("the new element was not found after its creation"))?;
        self.cache.remember(&created, host_id);
        Ok(created)
    }

    fn update(&mut self, kind: Kind, id: i64, patch: &ElementPatch) -> Result<(), StoreError> {
        if patch.is_empty() {
            return Ok(());
        }
        // A livestate alone has a statement of its own (the most frequent update); anything
        // else one statement text per table, whatever the patch holds: a NULL parameter
        // keeps the column (the livestate's columns are set together, none of them NULL).
        let now = now();
        let only_livestate = patch.active_checks_enabled.is_none()
            && patch.passive_checks_enabled.is_none()
            && patch.check_freshness.is_none()
            && patch.customs.is_none();
        match (&patch.livestate, only_livestate) {
            (Some(ls), true) => self.run_held(
                match kind {
                    Kind::Host => Held::UpdateHostLivestate,
                    Kind::Service => Held::UpdateServiceLivestate,
                },
                params![
                    now,
                    ls.state,
                    ls.state_id,
                    ls.state_type,
                    ls.output,
                    ls.long_output,
                    ls.perf_data,
                    ls.last_check,
                    id
                ],
            ),
            _ => {
                let customs = patch
                    .customs
                    .as_ref()
                    .map(|customs| Value::Object(customs.clone()).to_string());
                let ls = patch.livestate.as_ref();
                self.run_held(
                    match kind {
                        Kind::Host => Held::UpdateHost,
                        Kind::Service => Held::UpdateService,
                    },
                    params![
                        now,
                        patch.active_checks_enabled,
                        patch.passive_checks_enabled,
                        patch.check_freshness,
                        customs,
                        ls.map(|l| &l.state),
                        ls.map(|l| l.state_id),
                        ls.map(|l| &l.state_type),
                        ls.map(|l| &l.output),
                        ls.map(|l| &l.long_output),
                        ls.map(|l| &l.perf_data),
                        ls.map(|l| l.last_check),
                        id
                    ],
                )
            }
        }
        .map_err(|e| self.fail(e))?;
        self.cache.update(kind, id, patch, now);
        Ok(())
    }

    /// As the default (a `check.result` history entry), without copying what it writes.
    fn record_check(&mut self, check: &CheckRecord) -> Result<(), StoreError> {
        let message = check.last.history_message();
        self.run_held(
            Held::InsertHistory,
            params![
                now(),
                check.host.name,
                check.service.map(|s| &s.name),
                "Alignak",
                "check.result",
                message
            ],
        )
        .map_err(|e| self.fail(e))?;
        Ok(())
    }

    fn put_hostgroup(
        &mut self,
        name: &str,
        alias: &str,
        members: &[String],
    ) -> Result<(), StoreError> {
        let members = Value::from(members.to_vec()).to_string();
        self.execute(
            "INSERT INTO hostgroup (name, alias, members, created, updated) \
                 VALUES (?1, ?2, ?3, ?4, ?4) \
                 ON CONFLICT(name) DO UPDATE SET alias = ?2, members = ?3, updated = ?4 \
                 WHERE alias IS NOT ?2 OR members IS NOT ?3",
            params![name, alias, members, now()],
        )
        .map_err(|e| self.fail(e))?;
        Ok(())
    }

    fn add_history(&mut self, entry: &NewHistory) -> Result<(), StoreError> {
        self.run_held(
            Held::InsertHistory,
            params![
                now(),
                entry.host_name,
                entry.service_name,
                entry.user_name,
                entry.kind,
                entry.message
            ],
        )
        .map_err(|e| self.fail(e))?;
        Ok(())
    }
}

impl Rows for SqliteSession<'_> {
    fn hosts_in_group(&mut self, group: &str) -> Result<Vec<Element>, StoreError> {
        self.elements(
            Kind::Host,
            "EXISTS (SELECT 1 FROM json_each(host.fields, '$.hostgroups') WHERE value = ?1)",
            &[&group],
        )
    }

    fn host_page(
        &mut self,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Map<String, Value>>, u64), StoreError> {
        let total: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM host")
            .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
            .map_err(|e| self.fail(e))?;
        // SQLite's LIMIT and OFFSET are signed: the handler bounds both far below.
        let (limit, offset) = (limit as i64, offset as i64);
        let hosts = self.elements(
            Kind::Host,
            "id IN (SELECT id FROM host ORDER BY id LIMIT ?1 OFFSET ?2)",
            &[&limit, &offset],
        )?;
        Ok((
            hosts.iter().map(Element::document).collect(),
            u64::try_from(total).unwrap_or(0),
        ))
    }

    fn hostgroups(&mut self, name: Option<&str>) -> Result<Vec<Hostgroup>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT id, name, alias, members, created, updated FROM hostgroup \
                 WHERE ?1 IS NULL OR name = ?1 ORDER BY name",
            )
            .map_err(|e| self.fail(e))?;
        let rows = statement
            .query_map([name], |row| {
                let members: String = row.get(3)?;
                Ok(Hostgroup {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    alias: row.get(2)?,
                    members: serde_json::from_str(&members).unwrap_or_default(),
                    created: row.get(4)?,
                    updated: row.get(5)?,
                })
            })
            .map_err(|e| self.fail(e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.fail(e))
    }

    fn history(&mut self, query: &HistoryQuery) -> Result<HistoryPage, StoreError> {
        // Field names come from the fixed `HISTORY_FIELDS` list, values are bound: no input
        // reaches the SQL text. A field's values go as one JSON array each (those to find,
        // those to miss), not one `OR` each: the statement stays the same size whatever the
        // number of terms (SQLite refuses expressions over 1000 deep).
        let mut clauses = Vec::new();
        let mut args: Vec<String> = Vec::new();
        for (field, conditions) in &query.filters {
            let mut alternatives = Vec::new();
            for negated in [false, true] {
                let values: Vec<&str> = conditions
                    .iter()
                    .filter(|c| c.negated == negated)
                    .map(|c| c.value.as_str())
                    .collect();
                if values.is_empty() {
                    continue;
                }
                args.push(Value::from(values).to_string());
                let test = if negated { "=" } else { ">" };
                alternatives.push(format!(
                    "EXISTS (SELECT 1 FROM json_each(?) AS term \
                     WHERE instr(COALESCE(history.{field}, ''), term.value) {test} 0)"
                ));
            }
            if !alternatives.is_empty() {
                clauses.push(format!("({})", alternatives.join(" OR ")));
            }
        }
        let condition = if clauses.is_empty() {
            "1".to_string()
        } else {
            clauses.join(" AND ")
        };
        let total: i64 = self
            .conn
            .query_row(
                &format!("SELECT COUNT(*) FROM history WHERE {condition}"),
                params_from_iter(args.iter()),
                |row| row.get(0),
            )
            .map_err(|e| self.query_failed(e))?;
        let sql = format!(
            "SELECT id, created, host_name, service_name, user_name, type, message FROM history \
             WHERE {condition} ORDER BY id DESC LIMIT {} OFFSET {}",
            query.limit, query.offset
        );
        let mut statement = self
            .conn
            .prepare_cached(&sql)
            .map_err(|e| self.query_failed(e))?;
        let rows = statement
            .query_map(params_from_iter(args.iter()), |row| {
                Ok(HistoryEntry {
                    id: row.get(0)?,
                    created: row.get(1)?,
                    host_name: row.get(2)?,
                    service_name: row.get(3)?,
                    user_name: row.get(4)?,
                    kind: row.get(5)?,
                    message: row.get(6)?,
                })
            })
            .map_err(|e| self.query_failed(e))?;
        let items = rows
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.query_failed(e))?;
        Ok(HistoryPage {
            items,
            total: total.max(0) as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::model::Condition;

    fn store() -> (tempfile::TempDir, EmbeddedStore) {
        let dir = tempfile::tempdir().unwrap();
        let (store, error) = EmbeddedStore::open(&dir.path().join("sub/dir/ws.sqlite"));
        assert!(error.is_none(), "{error:?}");
        (dir, store)
    }

    fn with<T>(store: &EmbeddedStore, mut f: impl FnMut(&mut dyn Session) -> T) -> T {
        let mut out = None;
        store
            .session(&Caller::default(), &mut |s| {
                out = Some(f(s));
                Ok(())
            })
            .unwrap();
        out.unwrap()
    }

    /// The rows behind the documents, on a read connection as `Store::read` has them.
    fn rows<T>(store: &EmbeddedStore, mut f: impl FnMut(&mut dyn Rows) -> T) -> T {
        let conn = store.inner.reader().unwrap();
        let mut cache = ElementCache::new(0);
        let mut session = SqliteSession::new(&conn, &store.inner.path, &mut cache);
        f(&mut session)
    }

    #[test]
    fn the_wal_is_checkpointed_by_its_own_thread_not_by_the_commits() {
        let (dir, store) = store();
        let checkpointer = store
            .inner
            .checkpointer
            .as_ref()
            .expect("a checkpoint thread");
        // The session connection checkpoints by itself only far later.
        let threshold: i64 = store
            .inner
            .lock()
            .conn
            .as_ref()
            .unwrap()
            .pragma_query_value(None, "wal_autocheckpoint", |row| row.get(0))
            .unwrap();
        assert_eq!(threshold, FALLBACK_AUTOCHECKPOINT);
        for i in 0..600 {
            with(&store, |s| {
                s.add_history(&NewHistory {
                    host_name: Some(format!("h{i}")),
                    service_name: None,
                    user_name: "Alignak".into(),
                    kind: "check.result".into(),
                    message: "x".repeat(500),
                })
                .unwrap()
            });
        }
        // 600 commits: two rounds of 256 wake the thread; it works on its own time.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while checkpointer.done() < 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            checkpointer.done() >= 2,
            "{} checkpoint(s)",
            checkpointer.done()
        );
        // And the data is all there, through another connection.
        let other = Connection::open(dir.path().join("sub/dir/ws.sqlite")).unwrap();
        let rows: i64 = other
            .query_row("SELECT COUNT(*) FROM history", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 600);
    }

    #[test]
    fn hosts_services_and_their_state_round_trip() {
        let (_dir, store) = store();
        let host = with(&store, |s| {
            s.create(Kind::Host, None, &NewElement::named("h1"))
                .unwrap()
        });
        assert_eq!(host.name, "h1");
        assert!(host.active_checks_enabled && host.passive_checks_enabled);
        let patch = ElementPatch {
            active_checks_enabled: Some(false),
            customs: Some(serde_json::from_str(r#"{"_A":"1"}"#).unwrap()),
            livestate: Some(LastState {
                state: "DOWN".into(),
                state_id: 1,
                state_type: "HARD".into(),
                output: "o".into(),
                long_output: "l".into(),
                perf_data: "p".into(),
                last_check: 12,
            }),
            ..ElementPatch::default()
        };
        with(&store, |s| s.update(Kind::Host, host.id, &patch).unwrap());
        let again = with(&store, |s| s.host("h1").unwrap().unwrap());
        assert!(!again.active_checks_enabled);
        assert_eq!(again.customs["_A"], "1");
        assert_eq!(again.livestate, patch.livestate);
        let svc = with(&store, |s| {
            s.create(Kind::Service, Some(host.id), &NewElement::named("svc"))
                .unwrap()
        });
        assert_eq!(
            with(&store, |s| s.services(host.id).unwrap()),
            vec![svc.clone()]
        );
        assert_eq!(
            with(&store, |s| s.service(host.id, "svc").unwrap()),
            Some(svc)
        );
    }

    #[test]
    fn a_failed_session_writes_nothing() {
        let (_dir, store) = store();
        let result = store.session(&Caller::default(), &mut |s| {
            s.create(Kind::Host, None, &NewElement::named("h1"))?;
            Err(StoreError::Unavailable("boom".into()))
        });
        assert!(result.is_err());
        assert_eq!(with(&store, |s| s.host("h1").unwrap()), None);
    }

    #[test]
    fn history_filters_and_pages_newest_first() {
        let (_dir, store) = store();
        with(&store, |s| {
            for (host, kind) in [
                ("a", "check.result"),
                ("b", "webui.comment"),
                ("ab", "check.result"),
            ] {
                s.add_history(&NewHistory {
                    host_name: Some(host.into()),
                    service_name: None,
                    user_name: "Alignak".into(),
                    kind: kind.into(),
                    message: format!("m {host}"),
                })
                .unwrap();
            }
        });
        let query = |filters: Vec<(&'static str, Vec<Condition>)>| HistoryQuery {
            filters,
            offset: 0,
            limit: 10,
        };
        let cond = |negated, value: &str| Condition {
            negated,
            value: value.into(),
        };
        let names = |page: HistoryPage| -> Vec<String> {
            page.items
                .into_iter()
                .map(|e| e.host_name.unwrap())
                .collect()
        };
        let all = rows(&store, |s| s.history(&query(vec![])).unwrap());
        assert_eq!(all.total, 3);
        assert_eq!(names(all), ["ab", "b", "a"]);
        let page = rows(&store, |s| {
            s.history(&query(vec![("host_name", vec![cond(true, "a")])]))
                .unwrap()
        });
        assert_eq!(names(page), ["b"]);
        let page = rows(&store, |s| {
            s.history(&query(vec![
                ("type", vec![cond(false, "check")]),
                ("host_name", vec![cond(false, "b"), cond(false, "zz")]),
            ]))
            .unwrap()
        });
        assert_eq!(names(page), ["ab"]);
    }

    #[test]
    fn hostgroup_members_and_hosts_naming_a_group() {
        let (_dir, store) = store();
        with(&store, |s| {
            s.put_hostgroup("web", "Web servers", &["h1".into()])
                .unwrap();
            let mut new = NewElement::named("h2");
            new.fields
                .insert("hostgroups".into(), serde_json::json!(["web"]));
            s.create(Kind::Host, None, &new).unwrap();
        });
        let groups = rows(&store, |s| s.hostgroups(Some("web")).unwrap());
        assert_eq!(groups[0].members, ["h1"]);
        let hosts = rows(&store, |s| s.hosts_in_group("web").unwrap());
        assert_eq!(hosts.len(), 1);
        assert_eq!(hosts[0].name, "h2");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_unavailable_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ws.sqlite");
        std::fs::write(&path, vec![b'x'; 8192]).unwrap();
        let (store, error) = EmbeddedStore::open(&path);
        assert!(matches!(error, Some(StoreError::Unavailable(_))));
        let result = store.session(&Caller::default(), &mut |s| s.host("h").map(|_| ()));
        assert!(matches!(result, Err(StoreError::Unavailable(_))));
    }

    #[test]
    fn concurrent_sessions_commit_together_and_a_failing_one_alone_is_undone() {
        let (_dir, store) = store();
        let store = std::sync::Arc::new(store);
        let threads: Vec<_> = (0..12)
            .map(|i| {
                let store = std::sync::Arc::clone(&store);
                std::thread::spawn(move || {
                    store.session(&Caller::default(), &mut |s| {
                        s.create(Kind::Host, None, &NewElement::named(&format!("h{i}")))?;
                        match i {
                            3 => Err(StoreError::Unavailable("refused by the test".into())),
                            7 => panic!("a bug inside a session"),
                            _ => Ok(()),
                        }
                    })
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        for (i, result) in results.iter().enumerate() {
            assert_eq!(result.is_ok(), i != 3 && i != 7, "session {i}: {result:?}");
        }
        for i in 0..12 {
            let found = with(&store, move |s| s.host(&format!("h{i}")).unwrap());
            assert_eq!(found.is_some(), i != 3 && i != 7, "h{i}");
        }
    }

    /// A queued session that reports its outcome on a channel.
    struct Job<F> {
        work: F,
        done: std::sync::mpsc::Sender<(usize, Result<(), StoreError>)>,
        index: usize,
    }

    impl<F: FnMut(&mut dyn Session) -> Result<(), StoreError> + Send> QueuedWork for Job<F> {
        fn run(&mut self, session: &mut dyn Session) -> Result<(), StoreError> {
            (self.work)(session)
        }
        fn done(self: Box<Self>, outcome: Result<(), StoreError>) {
            self.done.send((self.index, outcome)).unwrap();
        }
    }

    fn livestate(output: &str) -> ElementPatch {
        ElementPatch {
            livestate: Some(LastState {
                state: "UP".into(),
                state_id: 0,
                state_type: "HARD".into(),
                output: output.into(),
                long_output: String::new(),
                perf_data: String::new(),
                last_check: 1,
            }),
            ..ElementPatch::default()
        }
    }

    /// The host's output as the file has it (another connection: no cache), and as a session
    /// sees it (through the cache).
    fn outputs(store: &EmbeddedStore, name: &str) -> (Option<String>, Option<String>) {
        let conn = Connection::open(&store.inner.path).unwrap();
        let on_disk = conn
            .query_row("SELECT ls_output FROM host WHERE name = ?1", [name], |r| {
                r.get::<_, Option<String>>(0)
            })
            .ok()
            .flatten();
        let seen = with(store, |s| {
            s.host(name)
                .unwrap()
                .and_then(|h| h.livestate.map(|l| l.output))
        });
        (on_disk, seen)
    }

    #[test]
    fn queued_sessions_are_batched_and_a_failed_one_leaves_nothing_in_the_file_or_the_cache() {
        let (_dir, store) = store();
        let host = with(&store, |s| {
            s.create(Kind::Host, None, &NewElement::named("h")).unwrap()
        });
        let (sender, results) = std::sync::mpsc::channel();
        // Held, so that the jobs queue up while the first batch waits: they run in batches.
        let held = store.inner.lock();
        for index in 0..40 {
            let work = move |s: &mut dyn Session| {
                // Reads what the sessions before it in the batch wrote (the cache).
                let before = s.host("h")?.unwrap();
                let expected = (0..index).rev().find(|i| i % 5 != 3 && *i != 17);
                assert_eq!(
                    before.livestate.map(|l| l.output),
                    expected.map(|i| format!("out {i}")),
                    "session {index}"
                );
                s.update(Kind::Host, host.id, &livestate(&format!("out {index}")))?;
                s.create(
                    Kind::Service,
                    Some(host.id),
                    &NewElement::named(&format!("s{index}")),
                )?;
                match index {
                    17 => panic!("a bug inside a session"),
                    i if i % 5 == 3 => Err(StoreError::Unavailable("refused by the test".into())),
                    _ => Ok(()),
                }
            };
            let job = Box::new(Job {
                work,
                done: sender.clone(),
                index,
            });
            assert!(store.queue(&Caller::default(), job).is_ok());
        }
        drop(held);
        let mut outcomes: Vec<_> = (0..40).map(|_| results.recv().unwrap()).collect();
        outcomes.sort_by_key(|(i, _)| *i);
        for (index, outcome) in &outcomes {
            let ok = index % 5 != 3 && *index != 17;
            assert_eq!(outcome.is_ok(), ok, "session {index}: {outcome:?}");
            let service = with(&store, |s| {
                s.service(host.id, &format!("s{index}")).unwrap()
            });
            assert_eq!(service.is_some(), ok, "s{index}");
        }
        assert_eq!(
            outputs(&store, "h"),
            (Some("out 39".into()), Some("out 39".into()))
        );
    }

    #[test]
    fn a_failed_commit_takes_its_writes_out_of_the_cache() {
        let (_dir, store) = store();
        let host = with(&store, |s| {
            let host = s.create(Kind::Host, None, &NewElement::named("h")).unwrap();
            s.update(Kind::Host, host.id, &livestate("kept")).unwrap();
            host
        });
        // Cached now.
        assert_eq!(
            outputs(&store, "h"),
            (Some("kept".into()), Some("kept".into()))
        );
        store
            .inner
            .fail_next_commit
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let result = store.session(&Caller::default(), &mut |s| {
            s.update(Kind::Host, host.id, &livestate("lost"))?;
            s.create(Kind::Host, None, &NewElement::named("h2"))?;
            assert_eq!(
                s.host("h")?.unwrap().livestate.unwrap().output,
                "lost",
                "the session sees its own write"
            );
            Ok(())
        });
        assert!(matches!(result, Err(StoreError::Unavailable(_))));
        assert_eq!(
            outputs(&store, "h"),
            (Some("kept".into()), Some("kept".into()))
        );
        assert_eq!(with(&store, |s| s.host("h2").unwrap()), None);
    }

    #[test]
    fn the_cache_shows_what_the_file_has() {
        let (_dir, store) = store();
        let host = with(&store, |s| {
            let mut new = NewElement::named("h");
            new.fields.insert("alias".into(), serde_json::json!("A"));
            s.create(Kind::Host, None, &new).unwrap()
        });
        let svc = with(&store, |s| {
            s.create(Kind::Service, Some(host.id), &NewElement::named("svc"))
                .unwrap()
        });
        let patch = ElementPatch {
            active_checks_enabled: Some(false),
            passive_checks_enabled: Some(false),
            check_freshness: Some(true),
            customs: Some(serde_json::from_str(r#"{"_A":"1","_N":1.5,"_L":[1,"x"]}"#).unwrap()),
            ..livestate("o")
        };
        with(&store, |s| {
            s.update(Kind::Host, host.id, &patch).unwrap();
            s.update(Kind::Service, svc.id, &patch).unwrap();
        });
        let cached = with(&store, |s| {
            (
                s.host("h").unwrap().unwrap(),
                s.service(host.id, "svc").unwrap().unwrap(),
            )
        });
        // A new store on the same file: its cache is empty, its reads are the file's.
        let (fresh, error) = EmbeddedStore::open(&store.inner.path);
        assert!(error.is_none());
        let read = with(&fresh, |s| {
            (
                s.host("h").unwrap().unwrap(),
                s.service(host.id, "svc").unwrap().unwrap(),
            )
        });
        assert_eq!(cached, read);
    }
}

#[cfg(test)]
mod retention_tests {
    use super::*;

    #[test]
    fn a_file_from_before_retention_is_rewritten_once_for_incremental_vacuum() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ws.sqlite");
        {
            // As the previous version made it: WAL, no auto_vacuum, the tables.
            let mut old = Connection::open(&path).unwrap();
            old.pragma_update(None, "journal_mode", "WAL").unwrap();
            schema::migrate(&mut old).unwrap();
            old.execute(
                "INSERT INTO history (created, type, message) VALUES (1, 'check.result', 'm')",
                [],
            )
            .unwrap();
            let mode: i64 = old
                .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
                .unwrap();
            assert_eq!(mode, 0);
        }
        let (store, error) = EmbeddedStore::open(&path);
        assert!(error.is_none(), "{error:?}");
        let conn = Connection::open(&path).unwrap();
        let mode: i64 = conn
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, 2, "incremental");
        let journal: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(journal, "wal");
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM history", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1, "the history is kept");
        drop(store);
    }

    #[test]
    fn history_beyond_its_cap_is_pruned_between_batches_and_pages_given_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ws.sqlite");
        let keep = Retention {
            max_age_secs: 3600,
            max_entries: 100,
        };
        let (store, _) = EmbeddedStore::open_with(&path, keep, None);
        for batch in 0..30 {
            store
                .session(&Caller::default(), &mut |s| {
                    for i in 0..100 {
                        s.add_history(&NewHistory {
                            host_name: Some(format!("h{batch}x{i}")),
                            service_name: None,
                            user_name: "Alignak".into(),
                            kind: "check.result".into(),
                            message: "x".repeat(400),
                        })?;
                    }
                    Ok(())
                })
                .unwrap();
        }
        // Direct sessions do not run retention: the session thread does, within a period.
        let count = || -> i64 {
            Connection::open(&path)
                .unwrap()
                .query_row("SELECT count(*) FROM history", [], |r| r.get(0))
                .unwrap()
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while count() > 100 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(count(), 100);
        // The newest are kept.
        let newest: String = Connection::open(&path)
            .unwrap()
            .query_row(
                "SELECT host_name FROM history ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(newest, "h29x99");
        let free = || -> i64 {
            Connection::open(&path)
                .unwrap()
                .query_row("PRAGMA freelist_count", [], |r| r.get(0))
                .unwrap()
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while free() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(free(), 0, "the free pages are given back");
    }
}
