//! The command queue: handlers hand their command lines here and wait; one thread takes
//! everything waiting, pushes it across the interface to the host in one call (group commit),
//! and answers each handler. A handler answers HTTP only after the host has taken its commands.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use abi_stable::std_types::RVec;
use alignak_module_abi::{ExternalCommand, HostBox, PushError, PushErrorKind};
use tokio::sync::{mpsc, oneshot};

/// At most this many commands go to the host in one call.
const MAX_BATCH: usize = 4096;
/// Requests waiting for the pusher thread before new ones wait for room.
const CHANNEL_DEPTH: usize = 1024;

struct Submission {
    commands: Vec<ExternalCommand>,
    reply: oneshot::Sender<Result<(), PushError>>,
}

#[derive(Default)]
pub struct QueueCounters {
    pub accepted: AtomicU64,
    pub refused: AtomicU64,
    pub pushes: AtomicU64,
}

#[derive(Clone)]
pub struct CommandQueue {
    sender: mpsc::Sender<Submission>,
    counters: Arc<QueueCounters>,
}

/// The pusher thread; joined when every `CommandQueue` handle is gone.
pub struct Pusher {
    thread: Option<JoinHandle<()>>,
}

impl Pusher {
    pub fn join(mut self) {
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                log::error!("the command pusher thread panicked");
            }
        }
    }
}

impl CommandQueue {
    pub fn start(host: Arc<HostBox>) -> std::io::Result<(CommandQueue, Pusher)> {
        let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
        let counters = Arc::new(QueueCounters::default());
        let thread_counters = Arc::clone(&counters);
        let thread = std::thread::Builder::new()
            .name("ws-command-pusher".into())
            .spawn(move || push_loop(receiver, host, thread_counters))?;
        Ok((
            CommandQueue { sender, counters },
            Pusher {
                thread: Some(thread),
            },
        ))
    }

    /// Hands `commands` to the host; returns once they are taken, or why they were not.
    pub async fn submit(&self, commands: Vec<ExternalCommand>) -> Result<(), PushError> {
        if commands.is_empty() {
            return Ok(());
        }
        let (reply, answer) = oneshot::channel();
        let stopped = || PushError {
            kind: PushErrorKind::Unavailable,
            message: "the module is stopping".into(),
            retry_after_secs: 5,
        };
        self.sender
            .send(Submission { commands, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    pub fn counters(&self) -> &QueueCounters {
        &self.counters
    }
}

fn push_loop(
    mut receiver: mpsc::Receiver<Submission>,
    host: Arc<HostBox>,
    counters: Arc<QueueCounters>,
) {
    while let Some(first) = receiver.blocking_recv() {
        let mut submissions = vec![first];
        let mut count = submissions[0].commands.len();
        while count < MAX_BATCH {
            match receiver.try_recv() {
                Ok(next) => {
                    count += next.commands.len();
                    submissions.push(next);
                }
                Err(_) => break,
            }
        }
        let mut batch = RVec::with_capacity(count);
        for submission in &mut submissions {
            // Moved, not copied: each handler waits for its answer only.
            batch.extend(submission.commands.drain(..));
        }
        let result = host.push_commands(batch).into_result();
        counters.pushes.fetch_add(1, Ordering::Relaxed);
        let counter = if result.is_ok() {
            &counters.accepted
        } else {
            &counters.refused
        };
        counter.fetch_add(count as u64, Ordering::Relaxed);
        if let Err(err) = &result {
            log::warn!("the daemon refused {count} command(s): {err}");
        }
        for submission in submissions {
            // The handler may have gone (client disconnected): its commands are taken anyway.
            let _ = submission.reply.send(result.clone());
        }
    }
}
