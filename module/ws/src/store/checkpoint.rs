//! The embedded store's WAL checkpoints, on a thread and a connection of their own.
//!
//! SQLite's automatic checkpoint runs inside the COMMIT that crosses its threshold, on the
//! committing thread, with two fsyncs (the WAL's, the database's): on the store's session
//! thread, which also makes the spool's fsync of the batch's commands, that held every waiting
//! request for a few milliseconds about ten times a second under load — most of the p99. Here
//! the session thread only counts its commits; this thread checkpoints (PASSIVE: it never
//! blocks the writer) once `COMMITS_PER_CHECKPOINT` have been made, or a second after the last
//! commit. The session connection keeps a far higher automatic threshold as a safety net, in
//! case this thread cannot keep up or cannot open the file.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// Commits (of a few pages each) between two checkpoints: about SQLite's default threshold.
const COMMITS_PER_CHECKPOINT: u64 = 256;
/// After the last commit, the WAL is checkpointed this late at most.
const IDLE_CHECKPOINT: Duration = Duration::from_secs(1);
/// The session connection's own automatic checkpoint (pages), only reached if this thread
/// falls behind.
pub const FALLBACK_AUTOCHECKPOINT: i64 = 20_000;

#[derive(Default)]
struct State {
    commits: u64,
    closed: bool,
    /// Checkpoints made, for the tests.
    done: u64,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

pub struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread; `None` (logged) if it cannot be started: SQLite's automatic
    /// checkpoint then does the work.
    pub fn start(path: &Path) -> Option<Checkpointer> {
        let shared = Arc::new(Shared::default());
        let thread_shared = Arc::clone(&shared);
        let path = path.to_path_buf();
        match std::thread::Builder::new()
            .name("ws-store-checkpoint".into())
            .spawn(move || run(&path, &thread_shared))
        {
            Ok(thread) => Some(Checkpointer {
                shared,
                thread: Some(thread),
            }),
            Err(err) => {
                log::warn!("cannot start the store's checkpoint thread: {err}");
                None
            }
        }
    }

    /// Checkpoints made so far.
    #[cfg(test)]
    pub fn done(&self) -> u64 {
        self.shared.lock().done
    }

    /// A batch was committed.
    pub fn committed(&self) {
        let mut state = self.shared.lock();
        state.commits += 1;
        if state.commits == COMMITS_PER_CHECKPOINT {
            self.shared.wake.notify_one();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                log::error!("the store's checkpoint thread panicked");
            }
        }
    }
}

fn run(path: &Path, shared: &Shared) {
    let mut connection: Option<Connection> = None;
    loop {
        {
            let state = shared.lock();
            let (mut state, _) = shared
                .wake
                .wait_timeout_while(state, IDLE_CHECKPOINT, |s| {
                    s.commits < COMMITS_PER_CHECKPOINT && !s.closed
                })
                .unwrap_or_else(|poison| poison.into_inner());
            if state.closed {
                return;
            }
            if state.commits == 0 {
                continue;
            }
            state.commits = 0;
        }
        if connection.is_none() {
            // Never creates the file: one removed while running must stay missing (the
            // session thread refuses writes until it is back, `file.rs`).
            let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                | rusqlite::OpenFlags::SQLITE_OPEN_URI
                | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
            match Connection::open_with_flags(path, flags) {
                Ok(opened) => connection = Some(opened),
                Err(err) => {
                    log::debug!("checkpoint: cannot open {}: {err}", path.display());
                    continue;
                }
            }
        }
        if let Some(conn) = &connection {
            let checkpointed = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            if checkpointed.is_ok() {
                shared.lock().done += 1;
            }
            if let Err(err) = checkpointed {
                // The next one opens the file again; the session connection's own threshold
                // covers a lasting failure.
                log::debug!("checkpoint of {} failed: {err}", path.display());
                connection = None;
            }
        }
    }
}
