// Over 400 lines, earned: the store's one connection, its session thread, the batch (savepoints, group commit, rollback of the cache) and the read connections, which must be read together.
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

use rusqlite::Connection;

use super::cache::ElementCache;
use super::checkpoint::{Checkpointer, FALLBACK_AUTOCHECKPOINT};
use super::file::{self, Identity};
use super::retention::{self, Retention};
#[cfg(test)]
use super::schema;
use super::{now, AnswerScope, Documents, QueuedWork, Session, Store, StoreError};
use crate::auth::Caller;
use session::SqliteSession;

mod session;

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

#[cfg(test)]
mod retention_tests;
#[cfg(test)]
mod tests;
