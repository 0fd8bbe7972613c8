//! The daemon's side of the interface: what a module may ask of it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use abi_stable::std_types::{RResult, RVec};
use alignak_module_abi::logging::{self, LogLevel, LogRecord};
use alignak_module_abi::{
    guard, DaemonIdentity, DaemonStatus, ExternalCommand, Host, PushError, PushErrorKind,
};

use crate::spool::{Spool, SpoolError};

pub struct ReceiverHost {
    spool: Arc<Spool>,
    identity: DaemonIdentity,
    sink: String,
}

impl ReceiverHost {
    pub fn new(spool: Arc<Spool>, identity: DaemonIdentity, sink: String) -> ReceiverHost {
        ReceiverHost {
            spool,
            identity,
            sink,
        }
    }
}

fn refusal(err: SpoolError) -> PushError {
    let kind = match err {
        SpoolError::Full { .. } => PushErrorKind::Full,
        SpoolError::Closed | SpoolError::Io { .. } | SpoolError::Inconsistent(_) => {
            PushErrorKind::Unavailable
        }
    };
    if let SpoolError::Io { .. } = err {
        log::error!("{err}");
    }
    PushError {
        kind,
        message: err.to_string().into(),
        retry_after_secs: 5,
    }
}

impl Host for ReceiverHost {
    fn push_commands(&self, batch: RVec<ExternalCommand>) -> RResult<(), PushError> {
        guard(
            "push_commands",
            || self.spool.append(&batch).map_err(refusal),
            |message| PushError {
                kind: PushErrorKind::Panic,
                message: message.into(),
                retry_after_secs: 5,
            },
        )
    }

    fn log(&self, record: LogRecord) {
        // A logger that panics must not take the module's thread down with it.
        let _ = catch_unwind(AssertUnwindSafe(|| logging::replay(&record)));
    }

    fn max_log_level(&self) -> LogLevel {
        log::max_level().into()
    }

    fn status(&self) -> DaemonStatus {
        let snapshot = || {
            let c = self.spool.counters();
            DaemonStatus {
                identity: self.identity.clone(),
                commands_accepted: c.accepted,
                commands_delivered: c.delivered,
                commands_pending: c.pending,
                pending_bytes: c.pending_bytes,
                sink_errors: c.sink_errors,
                oldest_pending: c.oldest_pending.into(),
                last_delivery: c.last_delivery.into(),
                sink: self.sink.as_str().into(),
            }
        };
        catch_unwind(AssertUnwindSafe(snapshot)).unwrap_or_default()
    }
}
