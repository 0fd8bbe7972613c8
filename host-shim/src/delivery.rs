//! Commands taken from modules, waiting for delivery, and the thread that delivers them in
//! order to the sink, retrying with back-off while the sink is unavailable.
//!
//! The queue is in memory and bounded by `max_spool_size` bytes: beyond it new batches are
//! refused whole (the module answers 503), so memory never grows without bound.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use abi_stable::std_types::RVec;
use alignak_module_abi::{ExternalCommand, PushError, PushErrorKind};

use crate::sink::{command_file_line, Sink};

/// Commands handed to the sink in one call.
const DELIVERY_BATCH: usize = 1024;
const FIRST_RETRY: Duration = Duration::from_millis(100);
const MAX_RETRY: Duration = Duration::from_secs(5);

#[derive(Default)]
struct State {
    pending: VecDeque<String>,
    pending_bytes: u64,
    closed: bool,
    accepted: u64,
    delivered: u64,
    sink_errors: u64,
}

pub struct Delivery {
    state: Mutex<State>,
    wake: Condvar,
    max_bytes: u64,
}

/// A snapshot for the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryCounters {
    pub accepted: u64,
    pub delivered: u64,
    pub pending: u64,
    pub sink_errors: u64,
}

impl Delivery {
    pub fn new(max_bytes: u64) -> Delivery {
        Delivery {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            max_bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every update is one step).
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Takes a whole batch, or none of it.
    pub fn accept(&self, batch: RVec<ExternalCommand>) -> Result<(), PushError> {
        let lines: Vec<String> = batch.iter().map(command_file_line).collect();
        let bytes: u64 = lines.iter().map(|l| l.len() as u64 + 1).sum();
        let mut state = self.lock();
        if state.closed {
            return Err(PushError {
                kind: PushErrorKind::Unavailable,
                message: "the receiver is stopping".into(),
                retry_after_secs: 5,
            });
        }
        if state.pending_bytes + bytes > self.max_bytes {
            return Err(PushError {
                kind: PushErrorKind::Full,
                message: format!(
                    "{} commands, {} bytes, are waiting; max_spool_size is {} bytes",
                    state.pending.len(),
                    state.pending_bytes,
                    self.max_bytes
                )
                .into(),
                retry_after_secs: 5,
            });
        }
        state.pending_bytes += bytes;
        state.accepted += lines.len() as u64;
        state.pending.extend(lines);
        drop(state);
        self.wake.notify_all();
        Ok(())
    }

    pub fn counters(&self) -> DeliveryCounters {
        let state = self.lock();
        DeliveryCounters {
            accepted: state.accepted,
            delivered: state.delivered,
            pending: state.pending.len() as u64,
            sink_errors: state.sink_errors,
        }
    }

    /// Refuses new batches from now on; the delivery thread then ends once everything pending
    /// is delivered, or at `deadline`.
    pub fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_all();
    }

    /// The delivery loop; returns after `close`, when the queue is empty or `drain_deadline`
    /// after closing has passed. Returns how many commands were left undelivered.
    pub fn run(&self, mut sink: Box<dyn Sink>, drain_timeout: Duration) -> usize {
        log::info!("external commands go to {}", sink.describe());
        let mut retry = FIRST_RETRY;
        let mut failing_since: Option<Instant> = None;
        let mut closed_at: Option<Instant> = None;
        loop {
            let batch: Vec<String> = {
                let mut state = self.lock();
                while state.pending.is_empty() && !state.closed {
                    state = self
                        .wake
                        .wait(state)
                        .unwrap_or_else(|poison| poison.into_inner());
                }
                if state.closed {
                    let closed = *closed_at.get_or_insert_with(Instant::now);
                    if state.pending.is_empty() || closed.elapsed() >= drain_timeout {
                        return state.pending.len();
                    }
                }
                state.pending.iter().take(DELIVERY_BATCH).cloned().collect()
            };
            let (delivered, failure) = match sink.deliver(&batch) {
                Ok(()) => (batch.len(), None),
                Err(err) => (err.delivered, Some(err.reason)),
            };
            {
                let mut state = self.lock();
                for line in state.pending.drain(..delivered).collect::<Vec<_>>() {
                    state.pending_bytes -= line.len() as u64 + 1;
                }
                state.delivered += delivered as u64;
                if failure.is_some() {
                    state.sink_errors += 1;
                }
            }
            match failure {
                None => {
                    if let Some(since) = failing_since.take() {
                        log::info!(
                            "delivery to {} works again after {:.1} s",
                            sink.describe(),
                            since.elapsed().as_secs_f64()
                        );
                    }
                    retry = FIRST_RETRY;
                }
                Some(reason) => {
                    if failing_since.is_none() {
                        log::warn!("delivery failed, will retry: {reason}");
                        failing_since = Some(Instant::now());
                    } else {
                        log::debug!("delivery failed again: {reason}");
                    }
                    self.sleep_unless_closed(retry);
                    retry = (retry * 2).min(MAX_RETRY);
                }
            }
        }
    }

    /// Back-off that a shutdown shortens, so a stop does not wait out a long retry delay.
    fn sleep_unless_closed(&self, delay: Duration) {
        let state = self.lock();
        if state.closed {
            drop(state);
            std::thread::sleep(delay.min(FIRST_RETRY));
            return;
        }
        let _ = self
            .wake
            .wait_timeout_while(state, delay, |s| !s.closed)
            .map_err(|_| ());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::DeliveryError;
    use std::sync::{Arc, Mutex as StdMutex};

    struct Flaky {
        got: Arc<StdMutex<Vec<String>>>,
        failures_left: usize,
    }

    impl Sink for Flaky {
        fn deliver(&mut self, lines: &[String]) -> Result<(), DeliveryError> {
            if self.failures_left > 0 {
                self.failures_left -= 1;
                // Half of it got through before the failure.
                let half = lines.len() / 2;
                self.got.lock().unwrap().extend_from_slice(&lines[..half]);
                return Err(DeliveryError {
                    delivered: half,
                    reason: "test failure".into(),
                });
            }
            self.got.lock().unwrap().extend_from_slice(lines);
            Ok(())
        }
        fn describe(&self) -> String {
            "test sink".into()
        }
    }

    fn batch(lines: &[&str]) -> RVec<ExternalCommand> {
        lines
            .iter()
            .map(|l| ExternalCommand {
                cmd_line: format!("[1] {l}").into(),
                creation_timestamp: 1.0,
            })
            .collect()
    }

    #[test]
    fn delivers_in_order_exactly_once_across_partial_failures() {
        let delivery = Arc::new(Delivery::new(1 << 20));
        let got = Arc::new(StdMutex::new(Vec::new()));
        let sink = Flaky {
            got: Arc::clone(&got),
            failures_left: 3,
        };
        let names: Vec<String> = (0..100).map(|i| format!("C{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        delivery.accept(batch(&refs[..50])).unwrap();
        delivery.accept(batch(&refs[50..])).unwrap();
        delivery.close();
        let runner = Arc::clone(&delivery);
        let left = std::thread::spawn(move || runner.run(Box::new(sink), Duration::from_secs(10)))
            .join()
            .unwrap();
        assert_eq!(left, 0);
        let expected: Vec<String> = names.iter().map(|n| format!("[1] {n}")).collect();
        assert_eq!(*got.lock().unwrap(), expected);
        let counters = delivery.counters();
        assert_eq!(counters.accepted, 100);
        assert_eq!(counters.delivered, 100);
        assert_eq!(counters.pending, 0);
        assert_eq!(counters.sink_errors, 3);
    }

    #[test]
    fn a_full_queue_refuses_whole_batches_and_a_closed_one_everything() {
        let delivery = Delivery::new(30);
        delivery.accept(batch(&["AAAAAAAAAA"])).unwrap();
        let err = delivery
            .accept(batch(&["BBBBBBBBBB", "CCCCCCCCCC"]))
            .unwrap_err();
        assert_eq!(err.kind, PushErrorKind::Full);
        assert_eq!(delivery.counters().pending, 1);
        delivery.close();
        let err = delivery.accept(batch(&["D"])).unwrap_err();
        assert_eq!(err.kind, PushErrorKind::Unavailable);
    }
}
