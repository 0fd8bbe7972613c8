//! The delivery thread: reads the spool from its cursor and hands the records to the sink, in
//! order, retrying with back-off while the sink is unavailable; the cursor moves only past
//! what the sink took.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::sink::Sink;
use crate::spool::{Record, Spool};

/// Records handed to the sink in one call.
const DELIVERY_BATCH: usize = 1024;
const FIRST_RETRY: Duration = Duration::from_millis(100);
const MAX_RETRY: Duration = Duration::from_secs(5);
/// How long an idle delivery thread sleeps between looks at the spool.
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// Delivers until the spool is closed and empty, or `drain_timeout` after it was closed.
/// Returns how many records were left in the spool (kept for the next start).
pub fn run(spool: Arc<Spool>, mut sink: Box<dyn Sink>, drain_timeout: Duration) -> u64 {
    log::info!("external commands go to {}", sink.describe());
    let mut reader = loop {
        match spool.reader() {
            Ok(reader) => break reader,
            Err(err) => {
                // Whatever is taken now would not be delivered either: refuse it (503) until
                // the spool can be read.
                spool.refuse(err.to_string());
                if spool.is_closed() {
                    return spool.counters().pending;
                }
                spool.wait_closed(MAX_RETRY);
            }
        }
    };
    let mut read_failures = 0u32;
    let mut in_flight: Vec<Record> = Vec::new();
    let mut retry = FIRST_RETRY;
    let mut failing_since: Option<Instant> = None;
    let mut closed_at: Option<Instant> = None;
    loop {
        if in_flight.is_empty() {
            let readable = spool.wait_readable(reader.next_seq(), IDLE_WAIT);
            if spool.is_closed() {
                let closed = *closed_at.get_or_insert_with(Instant::now);
                if readable == 0 || closed.elapsed() >= drain_timeout {
                    return spool.counters().pending;
                }
            }
            if readable == 0 {
                continue;
            }
            match reader.read_batch(&spool, DELIVERY_BATCH) {
                Ok(batch) => {
                    in_flight = batch;
                    read_failures = 0;
                    spool.accept_again();
                }
                Err(err) => {
                    read_failures += 1;
                    if read_failures >= 2 {
                        // Reading again from the cursor did not help: the records are not
                        // there to read, and new ones would not be delivered either.
                        spool.refuse(err.to_string());
                    }
                    // The reader may have moved past records it did not return, or hold bytes
                    // of an append that was taken back: start again from the cursor, which
                    // is exactly what was delivered (nothing is in flight here).
                    log::error!("cannot read the spool, reading again from the cursor: {err}");
                    spool.wait_closed(retry);
                    retry = (retry * 2).min(MAX_RETRY);
                    match spool.reader() {
                        Ok(fresh) => reader = fresh,
                        Err(err) => log::error!("cannot reopen the spool: {err}"),
                    }
                    continue;
                }
            }
            spool.note_oldest_pending(in_flight.first().map(|r| r.created));
        } else if spool.is_closed() {
            let closed = *closed_at.get_or_insert_with(Instant::now);
            if closed.elapsed() >= drain_timeout {
                return spool.counters().pending;
            }
        }

        let (delivered, failure) = match sink.deliver(&in_flight) {
            Ok(()) => (in_flight.len(), None),
            Err(err) => (err.delivered.min(in_flight.len()), Some(err.reason)),
        };
        if let Err(err) = spool.mark_delivered(&in_flight[..delivered]) {
            // The records reached the sink; a stale cursor only means they may be delivered
            // again after a restart (at least once).
            log::error!("cannot persist the delivery cursor: {err}");
        }
        in_flight.drain(..delivered);
        spool.note_oldest_pending(in_flight.first().map(|r| r.created));
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
                spool.note_sink_error();
                if failing_since.is_none() {
                    log::warn!("delivery failed, will retry: {reason}");
                    failing_since = Some(Instant::now());
                } else {
                    log::debug!("delivery failed again: {reason}");
                }
                // A stop shortens the wait: the drain deadline is what bounds it then.
                if spool.is_closed() {
                    std::thread::sleep(FIRST_RETRY);
                } else {
                    spool.wait_closed(retry);
                }
                retry = (retry * 2).min(MAX_RETRY);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::DeliveryError;
    use alignak_module_abi::ExternalCommand;
    use std::sync::Mutex;

    struct Flaky {
        got: Arc<Mutex<Vec<String>>>,
        failures_left: usize,
    }

    impl Sink for Flaky {
        fn deliver(&mut self, records: &[Record]) -> Result<(), DeliveryError> {
            let lines = records.iter().map(|r| r.line.clone());
            if self.failures_left > 0 {
                self.failures_left -= 1;
                // Half of it got through before the failure.
                let half = records.len() / 2;
                self.got.lock().unwrap().extend(lines.take(half));
                return Err(DeliveryError {
                    delivered: half,
                    reason: "test failure".into(),
                });
            }
            self.got.lock().unwrap().extend(lines);
            Ok(())
        }
        fn describe(&self) -> String {
            "test sink".into()
        }
    }

    #[test]
    fn delivers_in_order_exactly_once_across_partial_failures() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Arc::new(Spool::open(dir.path(), u64::MAX).unwrap());
        let names: Vec<String> = (0..100).map(|i| format!("[1] C{i}")).collect();
        let batch: Vec<ExternalCommand> = names
            .iter()
            .map(|n| ExternalCommand {
                cmd_line: n.as_str().into(),
                creation_timestamp: 1.0,
            })
            .collect();
        spool.append(&batch[..50]).unwrap();
        spool.append(&batch[50..]).unwrap();
        spool.close();
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = Flaky {
            got: Arc::clone(&got),
            failures_left: 3,
        };
        let left = run(Arc::clone(&spool), Box::new(sink), Duration::from_secs(30));
        assert_eq!(left, 0);
        assert_eq!(*got.lock().unwrap(), names);
        let counters = spool.counters();
        assert_eq!(counters.delivered, 100);
        assert_eq!(counters.pending, 0);
        assert_eq!(counters.sink_errors, 3);
    }
}
