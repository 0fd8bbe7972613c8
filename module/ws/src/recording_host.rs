//! A host for tests in place of the daemon: it records each push (the thread that made it and
//! its command lines) and takes them, or refuses them all when told to.

use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use abi_stable::std_types::{RResult, RVec};
use alignak_module_abi::logging::{LogLevel, LogRecord};
use alignak_module_abi::{DaemonStatus, ExternalCommand, Host, PushError, PushErrorKind};

/// Each push: the thread that made it and its command lines.
pub type Pushes = Arc<Mutex<Vec<(ThreadId, Vec<String>)>>>;

#[derive(Clone, Default)]
pub struct RecordingHost {
    pub pushes: Pushes,
    /// Every push answered "full".
    pub refuse: bool,
}

impl RecordingHost {
    /// Every line pushed so far, in order.
    pub fn lines(&self) -> Vec<String> {
        let pushes = self.pushes.lock().unwrap_or_else(|p| p.into_inner());
        pushes.iter().flat_map(|(_, lines)| lines.clone()).collect()
    }
}

impl Host for RecordingHost {
    fn push_commands(&self, batch: RVec<ExternalCommand>) -> RResult<(), PushError> {
        let lines = batch.iter().map(|c| c.cmd_line.to_string()).collect();
        let mut pushes = self.pushes.lock().unwrap_or_else(|p| p.into_inner());
        pushes.push((std::thread::current().id(), lines));
        if self.refuse {
            return RResult::RErr(PushError {
                kind: PushErrorKind::Full,
                message: "full".into(),
                retry_after_secs: 1,
            });
        }
        RResult::ROk(())
    }
    fn log(&self, _record: LogRecord) {}
    fn max_log_level(&self) -> LogLevel {
        LogLevel::Off
    }
    fn status(&self) -> DaemonStatus {
        DaemonStatus::default()
    }
}
