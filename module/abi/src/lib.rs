// Over 400 lines, earned: the whole stable ABI between host and modules is one surface (types, traits, the guard), and its tests.
//! The stable interface between the Alignak receiver shim (the host) and the modules it loads
//! as dynamic libraries.
//!
//! It mirrors Alignak's own module contract so that a reader who knows Alignak recognises it:
//! a library exports `properties` and `get_instance(config)`; an instance has `init`, `start`
//! and `stop`; it hands external commands back to its daemon, here through [`Host::push_commands`]
//! instead of a multiprocessing queue.
//!
//! Every type that crosses the boundary is `StableAbi`, so `abi_stable` checks the layout when
//! the host loads a library: a library built against another version of this crate is refused
//! with a clear error instead of crashing the daemon. No function here may unwind across the
//! boundary: implementations wrap their bodies in [`guard`].

// `#[sabi_trait]` expands to impls inside a const block; the lint is about that expansion.
#![allow(non_local_definitions)]

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    package_version_strings, sabi_trait,
    sabi_types::VersionStrings,
    std_types::{RBox, ROption, RResult, RString, RVec},
    StableAbi,
};

pub mod logging;

pub use abi_stable;

/// What a module is, as Alignak's `properties` dictionary says it.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct ModuleProperties {
    /// The module type, e.g. `web-services`.
    pub module_type: RString,
    /// The daemon types that may load it, e.g. `receiver`.
    pub daemons: RVec<RString>,
    /// Whether it runs on its own (Alignak: in its own process; here: on its own threads).
    pub external: bool,
    /// The daemon phases it takes part in, e.g. `running`.
    pub phases: RVec<RString>,
}

impl ModuleProperties {
    /// A module the receiver loads, on its own threads, for the running phase: what the
    /// receiver shim hosts (Alignak's receiver modules declare the same).
    pub fn receiver_module(module_type: &str) -> Self {
        ModuleProperties {
            module_type: module_type.into(),
            daemons: vec!["receiver".into()].into(),
            external: true,
            phases: vec!["running".into()].into(),
        }
    }
}

/// One `key value` line of a `define module { ... }` block, with where it was written, so the
/// module can name the file and line of a bad value.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct ConfigParam {
    pub key: RString,
    pub value: RString,
    pub file: RString,
    pub line: u32,
}

/// The daemon that loaded the module, for logs and for the daemons map.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Default)]
pub struct DaemonIdentity {
    /// `receiver`.
    pub daemon_type: RString,
    /// The `receiver_name` of the receiver block.
    pub name: RString,
    /// The receiver's `address`, as configured.
    pub address: RString,
    /// The receiver's `port`, as configured.
    pub port: u16,
}

/// Everything a module instance is built from.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct ModuleConfig {
    /// `module_alias` (or `name`) of the module block.
    pub alias: RString,
    /// `python_name` of the module block: it named the library.
    pub python_name: RString,
    /// Every other parameter of the block, in file order.
    pub params: RVec<ConfigParam>,
    /// The daemon loading the module.
    pub daemon: DaemonIdentity,
    /// The daemon's working directory at start-up: relative paths in parameters resolve there.
    pub working_dir: RString,
}

impl ModuleConfig {
    /// The last value given to `key`, if any (Alignak keeps the last one too).
    pub fn param(&self, key: &str) -> Option<&ConfigParam> {
        self.params.iter().rev().find(|p| p.key.as_str() == key)
    }
}

/// A configuration problem, found by the module in its parameters.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub file: RString,
    pub line: u32,
    pub key: RString,
    pub reason: RString,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.file.is_empty() {
            write!(f, "{}: {}", self.key, self.reason)
        } else {
            write!(
                f,
                "{}:{}: {}: {}",
                self.file, self.line, self.key, self.reason
            )
        }
    }
}

/// An external command, as Alignak's `ExternalCommand`: the line, and when it was made.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct ExternalCommand {
    /// `[<ts>] NAME;arg;...` or `NAME;arg;...`.
    pub cmd_line: RString,
    /// Seconds since the Unix epoch when the module built the command.
    pub creation_timestamp: f64,
}

impl ExternalCommand {
    pub fn now(cmd_line: impl Into<RString>) -> Self {
        let creation_timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        ExternalCommand {
            cmd_line: cmd_line.into(),
            creation_timestamp,
        }
    }
}

/// Why a module call failed.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleErrorKind {
    /// A parameter is wrong; the message says `file:line: key: reason`.
    Config,
    /// The module could not initialise or start (port in use, file unreadable, ...).
    Init,
    /// The call panicked inside the library; the panic was caught at the boundary.
    Panic,
    /// Anything else.
    Other,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct ModuleError {
    pub kind: ModuleErrorKind,
    pub message: RString,
}

impl ModuleError {
    pub fn new(kind: ModuleErrorKind, message: impl Into<String>) -> Self {
        ModuleError {
            kind,
            message: RString::from(message.into()),
        }
    }
}

impl fmt::Display for ModuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ModuleError {}

/// Why the host refused a batch of commands. Nothing of a refused batch was taken.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushErrorKind {
    /// Too many commands are waiting for delivery; try again later.
    Full,
    /// The host is stopping or cannot store commands.
    Unavailable,
    /// The host panicked while taking the batch; the panic was caught at the boundary.
    Panic,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct PushError {
    pub kind: PushErrorKind,
    pub message: RString,
    /// A hint for the HTTP `Retry-After` header, in seconds.
    pub retry_after_secs: u32,
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The daemon's own state, for the module's daemons map (`/alignak_map`).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Default)]
pub struct DaemonStatus {
    pub identity: DaemonIdentity,
    /// Commands taken since the start.
    pub commands_accepted: u64,
    /// Commands delivered to the core since the start.
    pub commands_delivered: u64,
    /// Commands in the spool, waiting for delivery.
    pub commands_pending: u64,
    pub pending_bytes: u64,
    /// Failed delivery attempts since the start.
    pub sink_errors: u64,
    /// Creation time (Unix seconds) of the oldest command waiting, if any.
    pub oldest_pending: ROption<f64>,
    /// When the last delivery succeeded (Unix seconds), if any.
    pub last_delivery: ROption<f64>,
    /// Where commands go, e.g. `command file /var/lib/nagios4/rw/nagios.cmd`.
    pub sink: RString,
}

/// A counter the module reports, for the daemon's periodic statistics.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    pub name: RString,
    pub value: u64,
}

/// What the host offers to a module. Implemented by the receiver shim.
#[sabi_trait]
pub trait Host: Send + Sync {
    /// Takes a batch of commands for delivery to the monitoring core, in order. Returns once the
    /// host has taken the whole batch (or refused all of it): an `OK` answered to a client after
    /// this returns means the commands will be delivered.
    fn push_commands(&self, batch: RVec<ExternalCommand>) -> RResult<(), PushError>;

    /// A log record from the module, for the daemon's logger.
    fn log(&self, record: logging::LogRecord);

    /// The most verbose level the daemon's logger keeps, so the module does not format records
    /// that would be thrown away.
    fn max_log_level(&self) -> logging::LogLevel;

    /// The daemon's identity and delivery state.
    #[sabi(last_prefix_field)]
    fn status(&self) -> DaemonStatus;
}

/// The host as a module holds it.
pub type HostBox = Host_TO<'static, RBox<()>>;

/// A module instance. Implemented by each module library.
#[sabi_trait]
pub trait Module: Send {
    /// Checks what can be checked before starting (Alignak: `init()`).
    fn init(&mut self) -> RResult<(), ModuleError>;

    /// Starts the module's own work (servers, threads). Returns once it is running.
    fn start(&mut self) -> RResult<(), ModuleError>;

    /// Stops the module: no new work, in-flight work finished within a bound, every command
    /// already accepted pushed to the host. Returns when done.
    fn stop(&mut self) -> RResult<(), ModuleError>;

    /// A snapshot of the module's counters.
    #[sabi(last_prefix_field)]
    fn counters(&self) -> RVec<Counter>;

    /// The daemon got SIGHUP: `config` is the module's block as the configuration files say
    /// now. The module applies what can change while it runs, reopens its log files, and
    /// returns one line for each change that needs a restart. It never stops serving.
    ///
    /// Added after the last prefix field: a module built before it has no such entry, and
    /// this default (nothing reloaded) answers for it, so older modules keep loading.
    fn reload(&mut self, config: ModuleConfig) -> RResult<RVec<RString>, ModuleError> {
        let _ = config;
        RResult::RErr(ModuleError::new(
            ModuleErrorKind::Other,
            "this module was built without reload: restart the daemon to apply changes",
        ))
    }
}

/// A module instance as the host holds it.
pub type ModuleBox = Module_TO<'static, RBox<()>>;

/// The root module every module library exports: Alignak's `properties` and `get_instance`.
///
/// It is a prefix type: fields may be added after the last prefix field in a later version of
/// this crate without breaking hosts built against this one.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = ModuleLibRef)))]
#[sabi(missing_field(panic))]
pub struct ModuleLib {
    /// The module's `properties`.
    pub properties: extern "C" fn() -> RResult<ModuleProperties, ModuleError>,

    /// Every problem in the module's parameters, without building an instance
    /// (`alignak-receiver --check`).
    pub check_config: extern "C" fn(&ModuleConfig) -> RResult<RVec<ConfigProblem>, ModuleError>,

    /// Builds an instance from its configuration; it keeps `host` to push commands and logs.
    #[sabi(last_prefix_field)]
    pub get_instance: extern "C" fn(ModuleConfig, HostBox) -> RResult<ModuleBox, ModuleError>,
}

impl RootModule for ModuleLibRef {
    declare_root_module_statics! {ModuleLibRef}
    const BASE_NAME: &'static str = "alignak_module";
    const NAME: &'static str = "alignak_module";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// The library file name for a module's `python_name`: `alignak_module_ws` ->
/// `libalignak_module_ws.so` (platform prefix and suffix).
pub fn library_file_name(python_name: &str) -> String {
    format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        python_name,
        std::env::consts::DLL_SUFFIX
    )
}

/// A boolean configuration value, as both sides of the interface read them: `1/0`,
/// `true/false`, `yes/no`, `on/off`, in any case.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// `" (did you mean 'port'?)"` when a known key is close to `key` (a typo), else `""`.
/// Both sides of the interface use it, so the hints of `--check` read alike.
pub fn nearest_key_hint(key: &str, known: &[&str]) -> String {
    let lower = key.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(&lower, k), *k))
        // Close enough to be a typo: up to a third of the key's letters (at least one).
        .filter(|(distance, _)| *distance <= (key.len() / 3).max(1))
        .min()
        .map(|(_, k)| format!(" (did you mean '{k}'?)"))
        .unwrap_or_default()
}

/// Runs `body`, turning a panic into an error value, so that nothing unwinds across the
/// boundary (an unwind out of an `extern "C"` function aborts the whole daemon).
pub fn guard<T, E>(
    what: &str,
    body: impl FnOnce() -> Result<T, E>,
    on_panic: impl FnOnce(String) -> E,
) -> RResult<T, E> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => RResult::ROk(value),
        Ok(Err(err)) => RResult::RErr(err),
        Err(payload) => {
            let detail = panic_message(payload.as_ref());
            RResult::RErr(on_panic(format!("{what} panicked: {detail}")))
        }
    }
}

/// [`guard`] for module calls that fail with a [`ModuleError`].
pub fn guard_module<T>(
    what: &str,
    body: impl FnOnce() -> Result<T, ModuleError>,
) -> RResult<T, ModuleError> {
    guard(what, body, |message| {
        ModuleError::new(ModuleErrorKind::Panic, message)
    })
}

/// The text of a panic payload, when it has one.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_turns_a_panic_into_an_error() {
        let result: RResult<(), ModuleError> = guard_module("init", || panic!("boom"));
        let err = result.into_result().unwrap_err();
        assert_eq!(err.kind, ModuleErrorKind::Panic);
        assert!(err.message.contains("init panicked: boom"), "{err}");
    }

    #[test]
    fn typos_get_the_nearest_known_key() {
        let known = ["use_ssl", "authorization", "port"];
        assert_eq!(
            nearest_key_hint("use_sll", &known),
            " (did you mean 'use_ssl'?)"
        );
        assert_eq!(
            nearest_key_hint("authorisation", &known),
            " (did you mean 'authorization'?)"
        );
        assert_eq!(nearest_key_hint("colour", &known), "");
    }

    #[test]
    fn library_file_name_follows_the_platform() {
        if cfg!(target_os = "linux") {
            assert_eq!(
                library_file_name("alignak_module_ws"),
                "libalignak_module_ws.so"
            );
        }
    }

    #[test]
    fn config_problem_names_file_line_and_key() {
        let p = ConfigProblem {
            file: "etc/mod-ws.cfg".into(),
            line: 12,
            key: "port".into(),
            reason: "not a port number: 'abc'".into(),
        };
        assert_eq!(
            p.to_string(),
            "etc/mod-ws.cfg:12: port: not a port number: 'abc'"
        );
    }

    #[test]
    fn last_value_of_a_parameter_wins() {
        let param = |k: &str, v: &str, line| ConfigParam {
            key: k.into(),
            value: v.into(),
            file: "f".into(),
            line,
        };
        let config = ModuleConfig {
            alias: "web-services".into(),
            python_name: "alignak_module_ws".into(),
            params: vec![param("port", "1", 1), param("port", "2", 2)].into(),
            daemon: DaemonIdentity::default(),
            working_dir: ".".into(),
        };
        assert_eq!(config.param("port").map(|p| p.line), Some(2));
    }
}
