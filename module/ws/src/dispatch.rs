//! Between the handlers, the store and the daemon's queue: a store session runs off the
//! async workers (on the store's own thread when it has one, else on the blocking pool), and
//! the commands it built go to the queue once it is committed (`run_then_push`), before the
//! handler is answered. The store knows nothing of the queue: `queue::hold_pushes`, handed
//! to the embedded store when it is opened, makes one push of a whole batch's commands.
//!
//! Work that may stop half-way (`run_staged`, `run_with_lines`) gets one `Outcome` whatever
//! the store: this module, which knows the store's atomicity, decides what a stop leaves done
//! and sent, so that handlers only map the outcome to their answer.

use std::sync::Arc;

use alignak_module_abi::{ExternalCommand, PushError};

use crate::auth::Caller;
use crate::queue::CommandQueue;
use crate::store::{Documents, QueuedWork, Session, Store, StoreError};

/// Reads in flight at once (`run_read`): each holds a thread of the blocking pool and a read
/// connection.
static READ_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// `Store::read` with a result, on the blocking pool: a slow search never waits for, nor
/// holds up, the store's session thread.
pub async fn run_read<T, F>(
    store: Arc<dyn Store>,
    caller: Caller,
    mut work: F,
) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnMut(&mut dyn Documents) -> Result<T, StoreError> + Send + 'static,
{
    let slot = slot(&READ_SLOTS).await?;
    let answer = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let mut output = None;
        store.read(&caller, &mut |session| {
            output = Some(work(session)?);
            Ok(())
        })?;
        output.ok_or_else(|| StoreError::Unavailable("the store read did not run".into()))
    })
    .await
    .map_err(|e| StoreError::Unavailable(format!("the store task failed: {e}")))?;
    answer
}

/// Sessions in flight at once (queued to the store's thread, or on the blocking pool). On
/// the embedded store, the sessions waiting are committed together: this bounds both the
/// memory they hold and a batch.
static SESSION_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(32);

/// `run`'s session, as a `QueuedWork`: its output goes to `finish` only once committed.
struct Queued<F, T> {
    work: F,
    output: Option<T>,
    finish: Box<dyn FnOnce(Result<T, StoreError>) + Send>,
}

impl<F, T> QueuedWork for Queued<F, T>
where
    T: Send + 'static,
    F: FnMut(&mut dyn Session) -> Result<T, StoreError> + Send + 'static,
{
    /// May run more than once (a store may run a session again, e.g. after logging in
    /// again): the last run's output is the answer.
    fn run(&mut self, session: &mut dyn Session) -> Result<(), StoreError> {
        self.output = Some((self.work)(session)?);
        Ok(())
    }

    fn done(self: Box<Self>, outcome: Result<(), StoreError>) {
        let Queued { output, finish, .. } = *self;
        finish(outcome.and_then(|()| {
            output.ok_or_else(|| StoreError::Unavailable("the store session did not run".into()))
        }));
    }
}

/// `Store::session` with a result, run off the async workers: store calls block.
pub async fn run<T, F>(store: Arc<dyn Store>, caller: Caller, work: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnMut(&mut dyn Session) -> Result<T, StoreError> + Send + 'static,
{
    let (reply, answer) = tokio::sync::oneshot::channel();
    queue_session(store, caller, work, move |answer| {
        // The caller may have gone (client disconnected): the session is done anyway.
        let _ = reply.send(answer);
    })
    .await?;
    answer.await.map_err(|_| dropped())?
}

/// `run` for a session that builds command lines: `commands` takes them from the session's
/// output, and whoever ends the session (the store's thread, right after the commit) hands
/// them to the daemon's queue. So they are sent even if the caller has gone meanwhile, and
/// the answer costs no extra hop through the async workers. The answer is the output and
/// whether the daemon took the commands.
pub async fn run_then_push<T, F, C>(
    store: Arc<dyn Store>,
    caller: Caller,
    queue: CommandQueue,
    work: F,
    commands: C,
) -> Result<(T, Result<(), PushError>), StoreError>
where
    T: Send + 'static,
    F: FnMut(&mut dyn Session) -> Result<T, StoreError> + Send + 'static,
    C: FnOnce(&mut T) -> Vec<String> + Send + 'static,
{
    let (reply, answer) = tokio::sync::oneshot::channel();
    queue_session(store, caller, work, move |answer| match answer {
        Ok(mut output) => {
            let lines = commands(&mut output);
            let built = lines.into_iter().map(ExternalCommand::now).collect();
            queue.enqueue(
                built,
                Box::new(move |pushed| {
                    let _ = reply.send(Ok((output, pushed)));
                }),
            );
        }
        Err(error) => {
            let _ = reply.send(Err(error));
        }
    })
    .await?;
    answer.await.map_err(|_| dropped())?
}

/// Work that failed on `error` after building `partial` (what it had done before: answers,
/// command lines).
pub struct Stopped<P> {
    pub error: StoreError,
    pub partial: P,
}

/// How a session that builds command lines ended, for the handler to answer.
pub enum Outcome<T, P> {
    /// The work ran to its end and is kept; the daemon took its commands.
    Done(T),
    /// Nothing of the work is kept and nothing was sent: an atomic store undid it, or the
    /// store failed before it ran.
    Failed(StoreError),
    /// The work stopped on `error` on a store that had already applied each call before it
    /// (the backend): that stays, and the commands built before the stop were sent, as the
    /// original did; `partial` is what the work had built.
    Stopped { error: StoreError, partial: P },
    /// The daemon did not take the commands (what the store did is kept).
    Refused(PushError),
}

/// `run_then_push` for work that may stop half-way (`Stopped`). `commands` takes the lines
/// to send from the output (`Ok`) or from what was built before a stop (`Err`), which are
/// sent only where the store kept what came before.
pub async fn run_staged<T, P, F, C>(
    store: Arc<dyn Store>,
    caller: Caller,
    queue: CommandQueue,
    mut work: F,
    commands: C,
) -> Outcome<T, P>
where
    T: Send + 'static,
    P: Send + 'static,
    F: FnMut(&mut dyn Session) -> Result<T, Stopped<P>> + Send + 'static,
    C: FnOnce(Result<&mut T, &mut P>) -> Vec<String> + Send + 'static,
{
    let atomic = store.atomic();
    let ended = run_then_push(
        store,
        caller,
        queue,
        move |session| match work(session) {
            Ok(output) => Ok(Ok(output)),
            // An atomic store undoes everything: the stop is the session's failure.
            Err(stopped) if atomic => Err(stopped.error),
            // Nothing to undo on a store that applied each call: the session is over.
            Err(stopped) => Ok(Err(stopped)),
        },
        move |ended| commands(ended.as_mut().map_err(|stopped| &mut stopped.partial)),
    )
    .await;
    match ended {
        Err(error) => Outcome::Failed(error),
        Ok((_, Err(refused))) => Outcome::Refused(refused),
        Ok((Ok(output), Ok(()))) => Outcome::Done(output),
        Ok((Err(Stopped { error, partial }), Ok(()))) => Outcome::Stopped { error, partial },
    }
}

/// A session whose command lines are known before it (`/event`'s comment). On an atomic
/// store they go once the work is committed, and not at all if it fails; on a store that
/// applies each call they go first, whatever becomes of the work, as the original did: its
/// failure is then `Outcome::Stopped`, the lines sent.
pub async fn run_with_lines<T, F>(
    store: Arc<dyn Store>,
    caller: Caller,
    queue: CommandQueue,
    lines: Vec<String>,
    mut work: F,
) -> Outcome<T, ()>
where
    T: Send + 'static,
    F: FnMut(&mut dyn Session) -> Result<T, StoreError> + Send + 'static,
{
    if store.atomic() {
        return run_staged(
            store,
            caller,
            queue,
            move |session| work(session).map_err(|error| Stopped { error, partial: () }),
            move |_| lines,
        )
        .await;
    }
    let commands = lines.into_iter().map(ExternalCommand::now).collect();
    if let Err(refused) = queue.submit(commands).await {
        return Outcome::Refused(refused);
    }
    match run(store, caller, work).await {
        Ok(output) => Outcome::Done(output),
        Err(error) => Outcome::Stopped { error, partial: () },
    }
}

/// One of `slots`, waited for.
async fn slot(
    slots: &'static tokio::sync::Semaphore,
) -> Result<tokio::sync::SemaphorePermit<'static>, StoreError> {
    slots
        .acquire()
        .await
        .map_err(|e| StoreError::Unavailable(format!("the store is closed: {e}")))
}

fn dropped() -> StoreError {
    StoreError::Unavailable("the store session was dropped before it ended".into())
}

/// Queues `work` to the store's thread (or runs it on the blocking pool); `finish` gets its
/// committed output.
async fn queue_session<T, F>(
    store: Arc<dyn Store>,
    caller: Caller,
    work: F,
    finish: impl FnOnce(Result<T, StoreError>) + Send + 'static,
) -> Result<(), StoreError>
where
    T: Send + 'static,
    F: FnMut(&mut dyn Session) -> Result<T, StoreError> + Send + 'static,
{
    let slot = slot(&SESSION_SLOTS).await?;
    let queued = Box::new(Queued {
        work,
        output: None,
        // The slot is held until the session is over, wherever it ends.
        finish: Box::new(move |answer| {
            drop(slot);
            finish(answer)
        }),
    });
    if let Err(mut queued) = store.queue(&caller, queued) {
        tokio::task::spawn_blocking(move || {
            let outcome = store.session(&caller, &mut |session| queued.run(session));
            queued.done(outcome);
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("the store task failed: {e}")))?;
    }
    Ok(())
}
