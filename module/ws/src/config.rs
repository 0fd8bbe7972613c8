// Over 400 lines, earned: one typed field per parameter of mod-ws.cfg with its default and bounds, the reader that checks them all, and the table of tests over them.
//! The module's parameters (`define module { ... }` in `mod-ws.cfg`), parsed once into a typed
//! struct with the original module's defaults.
//!
//! Every bad value is reported as `file:line: key: reason`, all of them at once, so a
//! configuration can be fixed in one pass.

use std::cell::RefCell;
use std::net::IpAddr;
use std::path::PathBuf;

use alignak_module_abi::{parse_bool, ConfigParam, ConfigProblem};

/// How `template._realm` is transformed before realm lookup (1.7.0+ `realm_case`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealmCase {
    Unchanged,
    Upper,
    Lower,
    Capitalize,
}

/// Which core the commands go to (module key `core`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoreDialect {
    Nagios,
    Alignak,
}

impl CoreDialect {
    /// `_ROOM` (as stored) -> the name the core's command wants.
    pub fn variable_name(self, stored: &str) -> String {
        match self {
            CoreDialect::Nagios => stored.trim_start_matches('_').to_string(),
            CoreDialect::Alignak => stored.to_string(),
        }
    }
}

/// The module keys that turn this on (`objects_dir` and the keys that go with it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectsConfig {
    pub dir: PathBuf,
    pub object_cache_file: PathBuf,
    /// Run (`/bin/sh -c`) before each reload: exit 0 means the core takes the new objects.
    pub verify_command: Option<String>,
    pub reload_command: Option<String>,
    /// At most one verify and reload per period: creations are coalesced.
    pub reload_period_secs: u64,
    pub default_host_template: String,
    pub default_service_template: String,
    /// Directives beyond the built-in allow-list that a creation may write (the admin's).
    pub allowed_directives: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct WsConfig {
    pub alias: String,
    pub log_level: log::LevelFilter,

    // HTTP server.
    pub host: IpAddr,
    pub port: u16,
    pub max_body_size: usize,
    pub max_connections: usize,
    pub legacy_status_codes: bool,
    /// Items a `/command` or `/host` batch may hold; beyond, 413 before any work.
    pub max_batch_items: usize,
    /// Time a client has to send a whole request (headers and body) once its connection is
    /// ready for one; beyond, 408 or the connection is closed.
    pub request_timeout_secs: u64,

    // TLS.
    pub use_ssl: bool,
    pub ca_cert: Option<PathBuf>,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,

    // Authentication.
    pub authorization: bool,
    /// Relative paths are relative to the daemon's working directory.
    pub users_file: PathBuf,
    pub session_timeout_secs: u64,
    pub token_timeout_secs: u64,
    /// Failed authentications a subject (an address and user, or an address for tokens) may
    /// make before it is blocked, for longer each time.
    pub auth_max_failures: u32,
    /// How long a password bcrypt accepted is taken again without bcrypt (0: every time).
    pub auth_cache_timeout_secs: u64,
    /// Verified passwords remembered at most.
    pub auth_cache_max_entries: usize,
    /// Never logged: the secret every gateway seals session cookies with (`None`: a random
    /// key of this process).
    pub session_key: Option<String>,

    // External commands.
    pub set_timestamp: bool,
    pub validate_commands: bool,

    // Alignak backend / embedded store.
    pub alignak_backend: Option<String>,
    pub backend_username: String,
    pub backend_password: String,
    pub backend_token: String,
    pub alignak_backend_polling_period: u64,
    pub embedded_store: PathBuf,
    /// An Alignak `.cfg` file whose `define hostgroup` blocks are served by `/hostgroup`.
    pub hostgroups_file: Option<PathBuf>,

    // /host behaviour.
    pub allow_host_creation: bool,
    pub ignore_unknown_host: bool,
    pub allow_service_creation: bool,
    pub ignore_unknown_service: bool,
    pub realm_case: RealmCase,
    pub give_feedback: u8,
    pub feedback_host: Vec<String>,
    pub feedback_service: Vec<String>,
    pub give_result: bool,
    pub backend_livestate_update: bool,
    pub backend_old_lcr: bool,
    pub backend_timeshift: i64,
    pub backend_get_lcr: bool,
    /// The core's dialect for the custom variable commands (`core nagios|alignak`).
    pub core: CoreDialect,
    /// `objects_dir` and its keys: created hosts and services written as the core's objects.
    pub objects: Option<ObjectsConfig>,

    // Arbiter polling (/alignak_map).
    pub alignak_host: Option<String>,
    pub alignak_port: u16,
    pub alignak_polling_period: u64,
    pub alignak_daemons_polling_period: u64,

    // Metrics.
    /// `metrics 0`: no `/metrics` and no per-request series (what a request costs without).
    pub metrics: bool,
    pub metrics_public: bool,

    // Embedded store limits.
    /// Search terms `/alignak_logs` takes at most (beyond: 400).
    pub max_search_terms: usize,
    /// History entries older than this (seconds) are pruned.
    pub history_max_age_secs: u64,
    /// History entries kept at most (the oldest are pruned first).
    pub history_max_entries: u64,
    pub statsd_enabled: bool,
    pub statsd_host: String,
    pub statsd_port: u16,
    pub statsd_prefix: String,

    // Operations.
    /// `log_access`: one JSON line per request is appended to this file.
    pub log_access: Option<PathBuf>,
    /// `GET /health` answers without credentials.
    pub health_public: bool,
    /// `/health` is 503 when the oldest command waiting for delivery is older (seconds).
    pub health_max_age_secs: u64,
    /// `/health` is 503 when more bytes than this wait in the spool.
    pub health_max_spool_size: u64,
    // NRDP compatibility (/nrdp).
    pub nrdp: bool,
    /// Never logged: the tokens NRDP clients must send.
    pub nrdp_tokens: Vec<String>,
    pub nrdp_commands: bool,
}

/// Something worth one log line at start-up, that is not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A parameter of the original module that this version accepts but does not act on yet.
    NotUsedYet { key: String, why: &'static str },
}

/// Keys that identify the module block; the host has used them already.
const IDENTIFICATION_KEYS: &[&str] = &[
    "module_alias",
    "name",
    "module_types",
    "type",
    "python_name",
    "imported_from",
    "use",
    "register",
];

/// Keys of the original module that this version accepts without acting on them, and why.
const NOT_USED_YET: &[(&str, &str)] = &[
    (
        "server_dh",
        "not needed: TLS key exchange does not use DH parameter files",
    ),
    (
        "hard_ssl_name_check",
        "not needed by the server side of TLS",
    ),
    ("graphite_enabled", "Graphite export is not available yet"),
    (
        "client_processes",
        "backend pages are fetched one after the other",
    ),
    (
        "allowgeneratetoken",
        "the module never asks the backend for a new token",
    ),
];

/// Keys the module does not read but the daemon that loads it does (its own log goes to
/// `log_error`): known all the same.
const DAEMON_KEYS: &[&str] = &["log_error"];

/// The keys that only mean something with `objects_dir`.
const OBJECTS_KEYS: [&str; 7] = [
    "object_cache_file",
    "verify_command",
    "reload_command",
    "reload_period",
    "default_host_template",
    "default_service_template",
    "objects_allowed_directives",
];

/// `objects_dir` and the keys that go with it (`core_objects`); `None` when it is unset.
fn objects_config(r: &mut Reader) -> Option<ObjectsConfig> {
    let Some((dir_param, dir)) = r.text("objects_dir") else {
        // Without objects_dir nothing reads them: a verify or reload command that would
        // never run must not look configured.
        for key in OBJECTS_KEYS {
            if let Some((param, _)) = r.text(key) {
                r.problem(param, format!("{key} needs objects_dir: without it, created hosts are not written as the core's objects"));
            }
        }
        return None;
    };
    let object_cache_file = match r.optional_path("object_cache_file") {
        Some(path) => path,
        None => {
            r.problem(
                dir_param,
                "objects_dir needs object_cache_file (the core's objects.cache): the module writes only what the core does not define already".into(),
            );
            PathBuf::new()
        }
    };
    let verify_command = r.optional_string("verify_command");
    let reload_command = r.optional_string("reload_command");
    if reload_command.is_some() && verify_command.is_none() {
        if let Some(param) = r.raw("reload_command") {
            r.problem(
                param,
                "reload_command needs verify_command: Nagios and Alignak exit when a reload meets a bad configuration".into(),
            );
        }
    }
    Some(ObjectsConfig {
        dir: PathBuf::from(dir),
        object_cache_file,
        verify_command,
        reload_command,
        reload_period_secs: r.number("reload_period", 30u64, 1, DAY),
        default_host_template: r.string("default_host_template", "generic-host"),
        default_service_template: r.string("default_service_template", "generic-service"),
        allowed_directives: r.list("objects_allowed_directives"),
    })
}

/// Reads typed values out of the parameter list, collecting every problem and every key it
/// was asked for: those are the keys this version knows, so that list cannot drift from what
/// is read.
struct Reader<'a> {
    params: &'a [ConfigParam],
    problems: Vec<ConfigProblem>,
    asked: RefCell<Vec<&'static str>>,
}

impl<'a> Reader<'a> {
    fn new(params: &'a [ConfigParam]) -> Reader<'a> {
        Reader {
            params,
            problems: Vec::new(),
            asked: RefCell::new(DAEMON_KEYS.to_vec()),
        }
    }

    /// The one accessor every other goes through: what records the key as known.
    fn raw(&self, key: &'static str) -> Option<&'a ConfigParam> {
        let mut asked = self.asked.borrow_mut();
        if !asked.contains(&key) {
            asked.push(key);
        }
        self.params.iter().rev().find(|p| p.key.as_str() == key)
    }

    /// Every key asked for so far.
    fn known_keys(&self) -> Vec<&'static str> {
        self.asked.borrow().clone()
    }

    fn problem(&mut self, param: &ConfigParam, reason: String) {
        self.problems.push(ConfigProblem {
            file: param.file.clone(),
            line: param.line,
            key: param.key.clone(),
            reason: reason.into(),
        });
    }

    /// The trimmed value, `None` when the key is absent or empty (an empty value in an Alignak
    /// file means "use the default").
    fn text(&self, key: &'static str) -> Option<(&'a ConfigParam, &'a str)> {
        let param = self.raw(key)?;
        let value = param.value.as_str().trim();
        (!value.is_empty()).then_some((param, value))
    }

    fn string(&self, key: &'static str, default: &str) -> String {
        self.text(key)
            .map_or_else(|| default.to_string(), |(_, v)| v.to_string())
    }

    fn optional_string(&self, key: &'static str) -> Option<String> {
        self.text(key).map(|(_, v)| v.to_string())
    }

    fn bool(&mut self, key: &'static str, default: bool) -> bool {
        let Some((param, value)) = self.text(key) else {
            return default;
        };
        match parse_bool(value) {
            Some(b) => b,
            None => {
                self.problem(
                    param,
                    format!("not a boolean: '{value}' (accepted: 1/0, true/false, yes/no, on/off)"),
                );
                default
            }
        }
    }

    fn number<T: std::str::FromStr + Copy + PartialOrd + std::fmt::Display>(
        &mut self,
        key: &'static str,
        default: T,
        min: T,
        max: T,
    ) -> T {
        let Some((param, value)) = self.text(key) else {
            return default;
        };
        match value.parse::<T>() {
            Ok(n) if n >= min && n <= max => n,
            _ => {
                self.problem(
                    param,
                    format!("not a whole number from {min} to {max}: '{value}'"),
                );
                default
            }
        }
    }

    fn choice<T: Copy>(&mut self, key: &'static str, default: T, choices: &[(&str, T)]) -> T {
        let Some((param, value)) = self.text(key) else {
            return default;
        };
        let lower = value.to_ascii_lowercase();
        match choices.iter().find(|(name, _)| *name == lower) {
            Some((_, v)) => *v,
            None => {
                let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
                self.problem(
                    param,
                    format!("'{value}' is not one of: {}", names.join(", ")),
                );
                default
            }
        }
    }

    fn path(&self, key: &'static str, default: &str) -> PathBuf {
        PathBuf::from(self.string(key, default))
    }

    fn optional_path(&self, key: &'static str) -> Option<PathBuf> {
        self.optional_string(key).map(PathBuf::from)
    }

    /// A comma-separated list; items are trimmed (the original did not trim, which made
    /// `name, alias` silently miss `alias`).
    fn list(&self, key: &'static str) -> Vec<String> {
        self.text(key)
            .map(|(_, v)| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn parse_log_level(value: &str) -> Option<log::LevelFilter> {
    match value.trim().to_ascii_uppercase().as_str() {
        "CRITICAL" | "ERROR" => Some(log::LevelFilter::Error),
        "WARNING" | "WARN" => Some(log::LevelFilter::Warn),
        "INFO" => Some(log::LevelFilter::Info),
        "DEBUG" => Some(log::LevelFilter::Debug),
        "TRACE" => Some(log::LevelFilter::Trace),
        "OFF" | "NONE" => Some(log::LevelFilter::Off),
        _ => None,
    }
}

/// Reads every key of this version into the configuration; problems go to `r`. Every key is
/// asked for whatever the others say (the unknown-key check relies on it).
fn read(r: &mut Reader, alias: &str) -> WsConfig {
    let log_level = match r.text("log_level") {
        None => log::LevelFilter::Info,
        Some((param, value)) => parse_log_level(value).unwrap_or_else(|| {
            r.problem(
                param,
                format!("'{value}' is not a log level (DEBUG, INFO, WARNING, ERROR, CRITICAL)"),
            );
            log::LevelFilter::Info
        }),
    };

    let host = match r.text("host") {
        None => IpAddr::from([0, 0, 0, 0]),
        Some((param, value)) => value.parse().unwrap_or_else(|_| {
            r.problem(
                param,
                format!(
                    "'{value}' is not an IP address to listen on (e.g. 0.0.0.0, 127.0.0.1, ::)"
                ),
            );
            IpAddr::from([0, 0, 0, 0])
        }),
    };

    let realm_case = r.choice(
        "realm_case",
        RealmCase::Unchanged,
        &[
            ("upper", RealmCase::Upper),
            ("lower", RealmCase::Lower),
            ("capitalize", RealmCase::Capitalize),
        ],
    );

    let core = r.choice(
        "core",
        CoreDialect::Alignak,
        &[
            ("nagios", CoreDialect::Nagios),
            ("alignak", CoreDialect::Alignak),
        ],
    );

    let alignak_host = match r.raw("alignak_host") {
        // Explicitly empty: arbiter polling is off, as in the original.
        Some(p) if p.value.trim().is_empty() => None,
        _ => Some(r.string("alignak_host", "127.0.0.1")),
    };

    // Checked as the original checked them (a bad value is a configuration problem), and not
    // kept: nothing acts on them (`NOT_USED_YET`).
    let _ = r.bool("allowgeneratetoken", false);
    let _ = r.number("client_processes", 1u32, 1, 64);
    let _ = r.bool("graphite_enabled", false);

    let mut config = WsConfig {
        alias: alias.to_string(),
        log_level,
        host,
        port: r.number("port", 8888u16, 0, u16::MAX),
        max_body_size: r.number("max_body_size", MIB, 1, 1024 * MIB),
        max_connections: r.number("max_connections", 1024usize, 1, 1_000_000),
        legacy_status_codes: r.bool("legacy_status_codes", false),
        max_batch_items: r.number("max_batch_items", 10_000usize, 1, 1_000_000),
        request_timeout_secs: r.number("request_timeout", 30u64, 1, 3600),
        use_ssl: r.bool("use_ssl", false),
        ca_cert: r.optional_path("ca_cert"),
        server_cert: r.path("server_cert", "/usr/local/etc/alignak/certs/server.crt"),
        server_key: r.path("server_key", "/usr/local/etc/alignak/certs/server.key"),
        authorization: r.bool("authorization", true),
        users_file: r.path("users_file", "var/lib/alignak/users.htpasswd"),
        session_timeout_secs: r.number("session_timeout", 3600u64, 1, 365 * DAY),
        token_timeout_secs: r.number("token_timeout", 30 * DAY, 1, 10 * 365 * DAY),
        auth_max_failures: r.number("auth_max_failures", 5u32, 1, 1_000_000),
        auth_cache_timeout_secs: r.number("auth_cache_timeout", 300u64, 0, DAY),
        auth_cache_max_entries: r.number("auth_cache_max_entries", 10_000usize, 1, 1_000_000),
        session_key: r.optional_string("session_key"),
        set_timestamp: r.bool("set_timestamp", true),
        validate_commands: r.bool("validate_commands", true),
        alignak_backend: r.optional_string("alignak_backend"),
        backend_username: r.string("username", ""),
        backend_password: r.string("password", ""),
        backend_token: r.string("token", ""),
        alignak_backend_polling_period: r.number("alignak_backend_polling_period", 10u64, 0, DAY),
        embedded_store: r.path("embedded_store", "var/lib/alignak/ws.sqlite"),
        hostgroups_file: r.optional_path("hostgroups_file"),
        allow_host_creation: r.bool("allow_host_creation", false),
        ignore_unknown_host: r.bool("ignore_unknown_host", false),
        allow_service_creation: r.bool("allow_service_creation", false),
        ignore_unknown_service: r.bool("ignore_unknown_service", true),
        realm_case,
        give_feedback: r.number("give_feedback", 1u8, 0, 2),
        feedback_host: r.list("feedback_host"),
        feedback_service: r.list("feedback_service"),
        give_result: r.bool("give_result", false),
        backend_livestate_update: r.bool("alignak_backend_livestate_update", false),
        backend_old_lcr: r.bool("alignak_backend_old_lcr", true),
        backend_timeshift: r.number("alignak_backend_timeshift", 0i64, -(DAY as i64), DAY as i64),
        backend_get_lcr: r.bool("alignak_backend_get_lcr", false),
        core,
        alignak_host,
        alignak_port: r.number("alignak_port", 7770u16, 1, u16::MAX),
        alignak_polling_period: r.number("alignak_polling_period", 5u64, 1, DAY),
        alignak_daemons_polling_period: r.number("alignak_daemons_polling_period", 10u64, 1, DAY),
        metrics: r.bool("metrics", true),
        metrics_public: r.bool("metrics_public", false),
        max_search_terms: r.number("max_search_terms", 1000usize, 1, 100_000),
        history_max_age_secs: r.number("history_max_age", 31 * DAY, 1, 100 * 365 * DAY),
        history_max_entries: r.number("history_max_entries", 2_000_000u64, 1, 1_000_000_000),
        statsd_enabled: r.bool("statsd_enabled", false),
        statsd_host: r.string("statsd_host", "localhost"),
        statsd_port: r.number("statsd_port", 8125u16, 1, u16::MAX),
        statsd_prefix: r.string("statsd_prefix", "alignak"),
        log_access: r.optional_path("log_access"),
        health_public: r.bool("health_public", true),
        health_max_age_secs: r.number("health_max_age", 60u64, 1, DAY),
        health_max_spool_size: r.number("health_max_spool_size", 64 * MIB as u64, 1, u64::MAX),
        nrdp: r.bool("nrdp", false),
        nrdp_tokens: r.list("nrdp_tokens"),
        nrdp_commands: r.bool("nrdp_commands", false),
        objects: None,
    };
    config.objects = objects_config(r);
    if config.objects.is_some() && config.alignak_backend.is_some() {
        if let Some(param) = r.raw("objects_dir") {
            r.problem(
                param,
                "objects_dir is for the embedded store: with alignak_backend, the backend is the core's configuration".into(),
            );
        }
    }
    if let (Some(key), Some(param)) = (&config.session_key, r.raw("session_key")) {
        if key.len() < 32 {
            r.problem(
                param,
                "too short: at least 32 characters (e.g. the output of `openssl rand -base64 32`)"
                    .into(),
            );
        }
    }
    if config.nrdp && config.nrdp_tokens.is_empty() {
        if let Some(param) = r.raw("nrdp") {
            r.problem(
                param,
                "NRDP is on but nrdp_tokens names no token: no client could use it".into(),
            );
        }
    }
    config
}

const MIB: usize = 1024 * 1024;
const DAY: u64 = 24 * 3600;

impl WsConfig {
    /// Parses the module's parameters. Returns the configuration and the notices worth a log
    /// line, or every problem found.
    pub fn from_params(
        alias: &str,
        params: &[ConfigParam],
    ) -> Result<(WsConfig, Vec<Notice>), Vec<ConfigProblem>> {
        let mut r = Reader::new(params);

        let config = read(&mut r, alias);

        // An unknown key is an error, at the start as in `--check`: a typo such as `use_sll`
        // must not quietly serve plain HTTP.
        let every_key: Vec<&str> = r
            .known_keys()
            .into_iter()
            .chain(NOT_USED_YET.iter().map(|(k, _)| *k))
            .collect();
        for param in params {
            let key = param.key.as_str();
            if !IDENTIFICATION_KEYS.contains(&key) && !every_key.contains(&key) {
                let hint = alignak_module_abi::nearest_key_hint(key, &every_key);
                r.problem(param, format!("unknown parameter{hint}"));
            }
        }

        if !r.problems.is_empty() {
            return Err(r.problems);
        }

        let mut notices = Vec::new();
        for param in params {
            let key = param.key.as_str();
            if IDENTIFICATION_KEYS.contains(&key) {
                continue;
            }
            if let Some((_, why)) = NOT_USED_YET.iter().find(|(k, _)| *k == key) {
                let notice = Notice::NotUsedYet {
                    key: key.to_string(),
                    why,
                };
                if !notices.contains(&notice) {
                    notices.push(notice);
                }
            }
        }
        Ok((config, notices))
    }
}

/// Parameters and configurations from `key value` pairs, for the tests of every room.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// The pairs as lines 1, 2, ... of `mod-ws.cfg`.
    pub fn params(pairs: &[(&str, &str)]) -> Vec<ConfigParam> {
        pairs
            .iter()
            .enumerate()
            .map(|(i, (k, v))| ConfigParam {
                key: (*k).into(),
                value: (*v).into(),
                file: "mod-ws.cfg".into(),
                line: i as u32 + 1,
            })
            .collect()
    }

    /// The configuration of the pairs; panics on a problem (a test's own mistake).
    pub fn config(pairs: &[(&str, &str)]) -> WsConfig {
        WsConfig::from_params("web-services", &params(pairs))
            .unwrap()
            .0
    }
}

#[cfg(test)]
mod tests {
    use super::testing::params;
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<(WsConfig, Vec<Notice>), Vec<ConfigProblem>> {
        WsConfig::from_params("web-services", &params(pairs))
    }

    #[test]
    fn defaults_are_the_originals() {
        let (c, notices) = parse(&[]).unwrap();
        assert!(notices.is_empty());
        assert_eq!(c.host.to_string(), "0.0.0.0");
        assert_eq!(c.port, 8888);
        assert!(c.authorization);
        assert!(c.set_timestamp);
        assert!(!c.allow_host_creation);
        assert!(!c.allow_service_creation);
        assert!(c.ignore_unknown_service);
        assert!(!c.ignore_unknown_host);
        assert_eq!(c.give_feedback, 1);
        assert!(!c.give_result);
        assert_eq!(c.alignak_host.as_deref(), Some("127.0.0.1"));
        assert_eq!(c.alignak_port, 7770);
        assert_eq!(c.alignak_polling_period, 5);
        assert_eq!(c.alignak_daemons_polling_period, 10);
        assert_eq!(c.alignak_backend_polling_period, 10);
        assert_eq!(c.max_body_size, 1024 * 1024);
        assert!(c.validate_commands);
        assert!(!c.legacy_status_codes);
        assert_eq!(c.max_batch_items, 10_000);
        assert_eq!(c.request_timeout_secs, 30);
        assert_eq!(c.session_timeout_secs, 3600);
        assert_eq!(c.token_timeout_secs, 30 * 24 * 3600);
        assert_eq!(c.auth_max_failures, 5);
        assert_eq!(c.auth_cache_timeout_secs, 300);
        assert_eq!(c.auth_cache_max_entries, 10_000);
        let (c, _) = parse(&[
            ("auth_cache_timeout", "0"),
            ("auth_cache_max_entries", "50"),
        ])
        .unwrap();
        assert_eq!(
            (c.auth_cache_timeout_secs, c.auth_cache_max_entries),
            (0, 50)
        );
        assert!(parse(&[("auth_cache_max_entries", "0")]).is_err());
        assert!(parse(&[("auth_cache_timeout", "-1")]).is_err());
        assert_eq!(c.alignak_backend, None);
        assert_eq!(c.log_level, log::LevelFilter::Info);
        assert!(!c.nrdp, "NRDP is off by default");
        assert!(!c.nrdp_commands);
        assert!(parse(&[("nrdp", "1")]).is_err(), "NRDP on without a token");
    }

    #[test]
    fn booleans_accept_the_usual_spellings() {
        for (text, expected) in [
            ("1", true),
            ("0", false),
            ("true", true),
            ("False", false),
            ("yes", true),
            ("NO", false),
            ("on", true),
            ("off", false),
        ] {
            let (c, _) = parse(&[("authorization", text)]).unwrap();
            assert_eq!(c.authorization, expected, "{text}");
        }
    }

    #[test]
    fn every_bad_value_is_reported_with_file_line_and_key() {
        let problems = parse(&[
            ("port", "http"),
            ("authorization", "maybe"),
            ("give_feedback", "3"),
            ("host", "localhost:80"),
            ("realm_case", "title"),
            ("log_level", "LOUD"),
        ])
        .unwrap_err();
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 6, "{lines:?}");
        assert!(
            lines[0].starts_with("mod-ws.cfg:6: log_level: "),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l
                    .starts_with("mod-ws.cfg:1: port: not a whole number from 0 to 65535: 'http'")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("mod-ws.cfg:2: authorization: not a boolean: 'maybe'")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("mod-ws.cfg:3: give_feedback:")),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with("mod-ws.cfg:4: host:")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("realm_case: 'title' is not one of: upper, lower, capitalize")),
            "{lines:?}"
        );
    }

    #[test]
    fn empty_values_mean_the_default_but_empty_alignak_host_disables_polling() {
        let (c, _) = parse(&[("port", ""), ("alignak_host", "")]).unwrap();
        assert_eq!(c.port, 8888);
        assert_eq!(c.alignak_host, None);
    }

    #[test]
    fn unused_keys_are_noticed_once() {
        let (_, notices) = parse(&[
            ("server_dh", "/tmp/a"),
            ("server_dh", "/tmp/b"),
            ("module_alias", "web-services"),
        ])
        .unwrap();
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(matches!(&notices[0], Notice::NotUsedYet { key, .. } if key == "server_dh"));
    }

    #[test]
    fn unknown_keys_are_errors_with_the_nearest_key() {
        let problems =
            parse(&[("port", "80"), ("use_sll", "1"), ("authorisation", "1")]).unwrap_err();
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "mod-ws.cfg:2: use_sll: unknown parameter (did you mean 'use_ssl'?)",
                "mod-ws.cfg:3: authorisation: unknown parameter (did you mean 'authorization'?)",
            ]
        );
    }

    fn known_keys(pairs: &[(&str, &str)]) -> Vec<&'static str> {
        let params = params(pairs);
        let mut r = Reader::new(&params);
        read(&mut r, "ws");
        r.known_keys()
    }

    #[test]
    fn the_known_keys_are_the_same_whatever_is_set() {
        let bare = known_keys(&[]);
        for pairs in [
            &[
                ("objects_dir", "/o"),
                ("object_cache_file", "/c"),
                ("verify_command", "v"),
                ("reload_command", "r"),
            ][..],
            &[
                ("alignak_backend", "http://b:5000"),
                ("alignak_host", ""),
                ("use_ssl", "1"),
                ("session_key", "k"),
                ("nrdp", "1"),
            ][..],
        ] {
            let mut keys = known_keys(pairs);
            let mut expected = bare.clone();
            keys.sort_unstable();
            expected.sort_unstable();
            assert_eq!(keys, expected, "{pairs:?}");
        }
        // The conditional companions and the daemon's own key are among them.
        for key in ["object_cache_file", "server_key", "ca_cert", "log_error"] {
            assert!(bare.contains(&key), "{key}");
        }
    }

    #[test]
    fn objects_dir_needs_the_cache_and_a_verifier_before_any_reload() {
        assert!(parse(&[]).unwrap().0.objects.is_none());
        let (config, _) = parse(&[
            ("objects_dir", "/o"),
            ("object_cache_file", "/c"),
            ("verify_command", "nagios4 -v /n"),
            ("reload_command", "systemctl reload nagios4"),
            ("objects_allowed_directives", "icon_image, notes"),
        ])
        .unwrap();
        let objects = config.objects.unwrap();
        assert_eq!(objects.reload_period_secs, 30);
        assert_eq!(objects.default_host_template, "generic-host");
        assert_eq!(objects.allowed_directives, ["icon_image", "notes"]);
        for (pairs, expected) in [
            (
                vec![("objects_dir", "/o")],
                "objects_dir needs object_cache_file",
            ),
            (
                vec![
                    ("objects_dir", "/o"),
                    ("object_cache_file", "/c"),
                    ("reload_command", "kill -HUP 1"),
                ],
                "reload_command needs verify_command",
            ),
            (
                vec![
                    ("objects_dir", "/o"),
                    ("object_cache_file", "/c"),
                    ("alignak_backend", "http://b:5000"),
                ],
                "objects_dir is for the embedded store",
            ),
            (
                vec![("verify_command", "nagios4 -v /n")],
                "verify_command needs objects_dir",
            ),
            (
                vec![("reload_period", "10")],
                "reload_period needs objects_dir",
            ),
        ] {
            let problems = parse(&pairs).unwrap_err();
            assert!(
                problems.iter().any(|p| p.to_string().contains(expected)),
                "{pairs:?}: {problems:?}"
            );
        }
    }

    #[test]
    fn the_core_dialect_is_alignak_unless_told() {
        use super::CoreDialect;
        assert_eq!(parse(&[]).unwrap().0.core, CoreDialect::Alignak);
        assert_eq!(
            parse(&[("core", "Nagios")]).unwrap().0.core,
            CoreDialect::Nagios
        );
        let problems = parse(&[("core", "icinga")]).unwrap_err();
        assert!(
            problems[0]
                .to_string()
                .contains("core: 'icinga' is not one of: nagios, alignak"),
            "{problems:?}"
        );
    }

    #[test]
    fn feedback_lists_are_trimmed() {
        let (c, _) = parse(&[("feedback_host", "alias, notes ,")]).unwrap();
        assert_eq!(c.feedback_host, vec!["alias", "notes"]);
    }

    #[test]
    fn tls_and_authentication_paths_have_defaults() {
        let (c, _) = parse(&[("use_ssl", "1")]).unwrap();
        assert!(c.use_ssl);
        assert_eq!(c.ca_cert, None);
        assert_eq!(
            c.server_cert,
            PathBuf::from("/usr/local/etc/alignak/certs/server.crt")
        );
        assert_eq!(
            c.users_file,
            PathBuf::from("var/lib/alignak/users.htpasswd")
        );
        assert_eq!(c.embedded_store, PathBuf::from("var/lib/alignak/ws.sqlite"));
    }
}
