//! Log records across the boundary.
//!
//! The `log` crate keeps its logger in a static, and every dynamic library has its own copy of
//! that static: a module's `log::info!` goes nowhere unless the module installs a logger of its
//! own. [`install_forwarding_logger`] installs one that hands each record to the host, which
//! replays it into the daemon's logger with [`replay`].

use std::sync::{Arc, OnceLock, RwLock};

use abi_stable::{std_types::RString, StableAbi};

use crate::HostBox;

#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Off = 0,
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
    Trace = 5,
}

impl From<log::Level> for LogLevel {
    fn from(level: log::Level) -> Self {
        match level {
            log::Level::Error => LogLevel::Error,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Info => LogLevel::Info,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Trace => LogLevel::Trace,
        }
    }
}

impl From<log::LevelFilter> for LogLevel {
    fn from(level: log::LevelFilter) -> Self {
        match level.to_level() {
            Some(level) => level.into(),
            None => LogLevel::Off,
        }
    }
}

impl From<LogLevel> for log::LevelFilter {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Off => log::LevelFilter::Off,
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }
}

/// One log record, formatted on the module's side.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct LogRecord {
    pub level: LogLevel,
    pub target: RString,
    pub message: RString,
    pub file: RString,
    pub line: u32,
}

/// Where the forwarding logger of this library sends records: the host of the last instance
/// built. A static because `log` only takes one logger per library for its whole life.
static DESTINATION: RwLock<Option<Arc<HostBox>>> = RwLock::new(None);
static INSTALLED: OnceLock<()> = OnceLock::new();

struct ForwardingLogger;

impl log::Log for ForwardingLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let Ok(destination) = DESTINATION.read() else {
            return;
        };
        if let Some(host) = destination.as_ref() {
            host.log(LogRecord {
                level: record.level().into(),
                target: record.target().into(),
                message: record.args().to_string().into(),
                file: record.file().unwrap_or_default().into(),
                line: record.line().unwrap_or(0),
            });
        }
    }

    fn flush(&self) {}
}

/// Sends this library's `log` records to `host`, at most at `level` and at most at what the
/// host keeps. Called by a module's `get_instance`; later calls redirect to the newer host.
pub fn install_forwarding_logger(host: Arc<HostBox>, level: log::LevelFilter) {
    let host_level: log::LevelFilter = host.max_log_level().into();
    if let Ok(mut destination) = DESTINATION.write() {
        *destination = Some(host);
    }
    INSTALLED.get_or_init(|| {
        // Fails only if this library already has a logger, which nothing else installs.
        let _ = log::set_logger(&ForwardingLogger);
    });
    log::set_max_level(level.min(host_level));
}

/// Host side: writes a module's record into the daemon's own logger.
pub fn replay(record: &LogRecord) {
    let Some(level) = log::LevelFilter::from(record.level).to_level() else {
        return;
    };
    let file = (!record.file.is_empty()).then_some(record.file.as_str());
    log::logger().log(
        &log::Record::builder()
            .level(level)
            .target(record.target.as_str())
            .file(file)
            .line(Some(record.line))
            .args(format_args!("{}", record.message))
            .build(),
    );
}
