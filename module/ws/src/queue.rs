//! The command queue: handlers hand their command lines here and wait; one thread takes
//! everything waiting, pushes it across the interface to the host in one call (group commit),
//! and answers each handler. A handler answers HTTP only after the host has taken its commands.
//! The store's thread pushes the commands of its committed sessions itself (`HeldPushes`).

use std::cell::RefCell;
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

/// Told whether the host took a submission's commands.
pub type PushReply = Box<dyn FnOnce(Result<(), PushError>) + Send>;

struct Submission {
    commands: Vec<ExternalCommand>,
    reply: PushReply,
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
    host: Arc<HostBox>,
}

thread_local! {
    /// What `enqueue` collected on this thread inside a `HeldPushes` scope.
    static HELD: RefCell<Option<Vec<(CommandQueue, Submission)>>> = const { RefCell::new(None) };
}

/// While it lives, `enqueue` on this thread only collects; when it is dropped, what was
/// collected goes to the host in one push per queue, made on this very thread. The store's
/// thread ends a committed batch of sessions so: their commands cost one fsync and no hop
/// through the pusher thread, and the sessions queued meanwhile make its next batch bigger.
pub struct HeldPushes(());

pub fn hold_pushes() -> HeldPushes {
    // Inside another scope, what that one collected is kept (and pushed by the first to end).
    HELD.with(|held| {
        held.borrow_mut().get_or_insert_with(Vec::new);
    });
    HeldPushes(())
}

impl Drop for HeldPushes {
    fn drop(&mut self) {
        let mut held = HELD
            .with(|held| held.borrow_mut().take())
            .unwrap_or_default();
        while let Some((queue, _)) = held.first() {
            let queue = queue.clone();
            let (mine, others) = held
                .into_iter()
                .partition(|(q, _)| q.sender.same_channel(&queue.sender));
            held = others;
            let submissions = mine.into_iter().map(|(_, s)| s).collect();
            push(&queue.host, &queue.counters, submissions);
        }
    }
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
        let thread_host = Arc::clone(&host);
        let thread = std::thread::Builder::new()
            .name("ws-command-pusher".into())
            .spawn(move || push_loop(receiver, host, thread_counters))?;
        Ok((
            CommandQueue {
                sender,
                counters,
                host: thread_host,
            },
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
        let reply: PushReply = Box::new(move |pushed| {
            let _ = reply.send(pushed);
        });
        self.sender
            .send(Submission { commands, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// `submit` from a thread outside the async runtime (the store's, once its session is
    /// committed): `reply` is called once the host took the commands or refused them. Inside
    /// a `HeldPushes` scope, the push waits for the scope's end; else the pusher thread makes
    /// it, and this waits only while the channel is full.
    pub fn enqueue(&self, commands: Vec<ExternalCommand>, reply: PushReply) {
        if commands.is_empty() {
            return reply(Ok(()));
        }
        let mut submission = Some(Submission { commands, reply });
        HELD.with(|held| {
            if let Some(held) = held.borrow_mut().as_mut() {
                held.extend(submission.take().map(|s| (self.clone(), s)));
            }
        });
        let Some(submission) = submission else {
            return;
        };
        let submission = match self.sender.try_send(submission) {
            Ok(()) => return,
            Err(mpsc::error::TrySendError::Full(submission)) => submission,
            Err(mpsc::error::TrySendError::Closed(submission)) => {
                return (submission.reply)(Err(stopped()))
            }
        };
        if let Err(mpsc::error::SendError(submission)) = self.sender.blocking_send(submission) {
            (submission.reply)(Err(stopped()));
        }
    }

    pub fn counters(&self) -> &QueueCounters {
        &self.counters
    }

    /// The counters, shared with whoever reports them (`/metrics`).
    pub fn shared_counters(&self) -> Arc<QueueCounters> {
        Arc::clone(&self.counters)
    }
}

fn stopped() -> PushError {
    PushError {
        kind: PushErrorKind::Unavailable,
        message: "the module is stopping".into(),
        retry_after_secs: 5,
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
        push(&host, &counters, submissions);
    }
}

/// One push of `submissions` to the host, then each told.
fn push(host: &HostBox, counters: &QueueCounters, mut submissions: Vec<Submission>) {
    let count = submissions.iter().map(|s| s.commands.len()).sum();
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
        (submission.reply)(result.clone());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use abi_stable::sabi_trait::TD_Opaque;
    use alignak_module_abi::Host_TO;

    use super::*;
    use crate::recording_host::RecordingHost;

    fn queue(recorder: &RecordingHost) -> (CommandQueue, Pusher) {
        let host = Host_TO::from_value(recorder.clone(), TD_Opaque);
        CommandQueue::start(Arc::new(host)).unwrap()
    }

    type Replies = Arc<Mutex<Vec<(usize, Result<(), PushError>)>>>;

    fn enqueue(queue: &CommandQueue, replies: &Replies, index: usize, lines: &[&str]) {
        let replies = Arc::clone(replies);
        let commands = lines.iter().map(|l| ExternalCommand::now(*l)).collect();
        queue.enqueue(
            commands,
            Box::new(move |pushed| replies.lock().unwrap().push((index, pushed))),
        );
    }

    #[test]
    fn held_pushes_go_in_one_push_on_this_thread_when_the_scope_ends() {
        let recorder = RecordingHost::default();
        let (queue, pusher) = queue(&recorder);
        let replies = Replies::default();
        {
            let _held = hold_pushes();
            enqueue(&queue, &replies, 0, &["A;1", "A;2"]);
            enqueue(&queue, &replies, 1, &[]);
            enqueue(&queue, &replies, 2, &["B;1"]);
            // Nothing is pushed yet; only the empty submission is answered.
            assert!(recorder.pushes.lock().unwrap().is_empty());
            assert_eq!(replies.lock().unwrap().len(), 1);
        }
        let pushes = recorder.pushes.lock().unwrap().clone();
        assert_eq!(
            pushes,
            vec![(
                std::thread::current().id(),
                vec!["A;1".to_string(), "A;2".into(), "B;1".into()]
            )]
        );
        let mut answered: Vec<usize> = replies.lock().unwrap().iter().map(|r| r.0).collect();
        answered.sort_unstable();
        assert_eq!(answered, vec![0, 1, 2]);
        assert!(replies.lock().unwrap().iter().all(|r| r.1.is_ok()));
        assert_eq!(queue.counters().accepted.load(Ordering::Relaxed), 3);
        assert_eq!(queue.counters().pushes.load(Ordering::Relaxed), 1);
        drop(queue);
        pusher.join();
    }

    #[test]
    fn outside_a_scope_the_pusher_thread_pushes_and_a_refusal_reaches_each_reply() {
        let recorder = RecordingHost {
            refuse: true,
            ..RecordingHost::default()
        };
        let (queue, pusher) = queue(&recorder);
        let replies = Replies::default();
        enqueue(&queue, &replies, 0, &["A;1"]);
        drop(queue);
        // The pusher ends once the queue is gone, after pushing what it holds.
        pusher.join();
        let pushes = recorder.pushes.lock().unwrap().clone();
        assert_eq!(pushes.len(), 1);
        assert_ne!(pushes[0].0, std::thread::current().id());
        let replies = replies.lock().unwrap();
        assert_eq!(replies.len(), 1);
        assert_eq!(
            replies[0].1.as_ref().map_err(|e| e.kind),
            Err(PushErrorKind::Full)
        );
    }
}
