//! The Alignak web-services module, as a dynamic library loaded by `alignak-receiver`.
//!
//! It serves the web-services HTTP API on its own tokio runtime and hands the external
//! commands it builds to its daemon through the stable interface of `alignak-module-abi`.
//!
//! # Layout
//!
//! From the socket down: a room uses rooms of its own line or of the lines below, and no
//! two rooms use each other, even through others (`tests/rooms.rs` checks that).
//!
//! - `server` (connections; TLS in `tls`), `router` (a request to its handler, the access
//!   log and the `/metrics` series), `handlers/` (one per endpoint), `app` (what they share).
//! - `dispatch`: a store session off the async workers, then its commands to `queue`; one
//!   outcome for work that stops half-way, whatever the store's atomicity.
//! - `hosts/` (the `/host` algorithm), `core_objects/` (created hosts written as the core's
//!   objects), `command/` (the `/command` table, as data), `nrdp/` (NRDP's parameters, answers and
//!   token gate), `search`, `hostgroups`, `alignak_map`, `reload`.
//! - `body`, `error` (the one place errors become the JSON envelope), `response`, `query`.
//! - `store/` (the `Store` trait; `Lookups`, `Session` (the write side) and `Documents` (the
//!   read side); SQLite `embedded/` (batches; `session` its SQL) and its `rows`, the element
//!   `cache`, `file` (the one SQLite opener), the Alignak `backend` and its `Calls`, the
//!   model, template resolution, tokens' table), `auth/` (users, tokens, sessions, the rate
//!   limit, `Caller`).
//! - Leaves: `config`, `statsd`, `metrics`, `queue`, `access_log`, `characters`,
//!   `timestamp`.
//!
//! `lib.rs` itself is the interface: the ABI exports, and the wiring that starts them.
//! For tests only: `in_process` (the API without a socket) and `recording_host` (a daemon
//! that records what it is pushed).

/// The module's own allocations (its Rust code; SQLite keeps its own): what crosses the
/// interface is `abi_stable` types, freed by the side that allocated them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod access_log;
pub mod alignak_map;
#[cfg(test)]
mod api_tests;
pub mod app;
pub mod auth;
pub mod body;
pub mod characters;
pub mod command;
pub mod config;
pub mod core_objects;
pub mod dispatch;
pub mod error;
pub mod handlers;
pub mod hostgroups;
pub mod hosts;
#[cfg(test)]
mod in_process;
pub mod metrics;
pub mod nrdp;
pub mod query;
pub mod queue;
#[cfg(test)]
mod recording_host;
pub mod reload;
pub mod response;
pub mod router;
pub mod search;
pub mod server;
pub mod startup;
pub mod statsd;
pub mod store;
pub mod timestamp;
pub mod tls;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use abi_stable::export_root_module;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RResult, RString, RVec};
use alignak_module_abi::{
    guard_module, logging, ConfigProblem, Counter, HostBox, Module, ModuleBox, ModuleConfig,
    ModuleError, ModuleErrorKind, ModuleLib, ModuleLibRef, ModuleProperties, Module_TO,
};

use crate::config::{Notice, WsConfig};
use crate::startup::WsModule;

/// `mi_option_arena_eager_commit` and `mi_option_purge_delay` in mimalloc 3's `mi_option_e`
/// (libmimalloc-sys 0.1.49, `c_src/mimalloc/v3/include/mimalloc.h`), which the crate names no
/// constants for.
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Arenas committed on demand: committed eagerly, the memory a burst touched stays resident
/// (42 MiB peak under the batch benchmark, 22 MiB without; the same throughput). Freed pages
/// given back at once rather than 10 ms later: under 32 connections of 100-command batches
/// the pages freed within those 10 ms were 6 to 12 MiB of the peak (VmHWM 25-39 MiB against
/// 20-24 MiB), for no measured change in the single-request rates.
fn tune_allocator() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: sets two of mimalloc's options; any value is valid for them.
    ONCE.call_once(|| unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    });
}

#[export_root_module]
pub fn get_library() -> ModuleLibRef {
    tune_allocator();
    ModuleLib {
        properties,
        check_config,
        get_instance,
    }
    .leak_into_prefix()
}

extern "C" fn properties() -> RResult<ModuleProperties, ModuleError> {
    guard_module("properties", || {
        Ok(ModuleProperties::receiver_module("web-services"))
    })
}

extern "C" fn check_config(config: &ModuleConfig) -> RResult<RVec<ConfigProblem>, ModuleError> {
    guard_module("check_config", || {
        Ok(
            match WsConfig::from_params(config.alias.as_str(), &config.params) {
                Ok((ws_config, _)) => check_files(config, &ws_config).into(),
                Err(problems) => problems.into(),
            },
        )
    })
}

/// A problem with a file a parameter names, located at that parameter's line, or at `fallback`'s
/// when the parameter was not written (its default path was used).
fn file_problem(config: &ModuleConfig, key: &str, fallback: &str, reason: String) -> ConfigProblem {
    let (file, line) = config
        .param(key)
        .or_else(|| config.param(fallback))
        .or_else(|| config.params.first())
        .map_or((Default::default(), 0), |p| (p.file.clone(), p.line));
    let reason = if config.param(key).is_none() {
        format!("{reason} (the default path, as no {key} is set)")
    } else {
        reason
    };
    ConfigProblem {
        file,
        line,
        key: key.into(),
        reason: reason.into(),
    }
}

/// The files the parameters name, read as the start reads them (relative paths from the
/// daemon's working directory), so that `--check` finds what would stop the start.
fn check_files(config: &ModuleConfig, ws_config: &WsConfig) -> Vec<ConfigProblem> {
    let dir = Path::new(config.working_dir.as_str());
    let mut problems = Vec::new();
    if ws_config.use_ssl {
        let ca = ws_config.ca_cert.as_deref().map(|p| dir.join(p));
        if let Err(err) = tls::acceptor(
            &dir.join(&ws_config.server_cert),
            &dir.join(&ws_config.server_key),
            ca.as_deref(),
        ) {
            problems.push(file_problem(config, err.key(), "use_ssl", err.reason()));
        }
    }
    if ws_config.alignak_backend.is_none() {
        if let Some(file) = &ws_config.hostgroups_file {
            if let Err(err) = hostgroups::read(&dir.join(file)) {
                problems.push(file_problem(config, "hostgroups_file", "", err));
            }
        }
    }
    if ws_config.authorization && ws_config.alignak_backend.is_none() {
        let users = dir.join(&ws_config.users_file);
        match std::fs::metadata(&users) {
            Ok(meta) if meta.is_dir() => problems.push(file_problem(
                config,
                "users_file",
                "authorization",
                format!("{} is a directory", users.display()),
            )),
            Ok(_) => {
                if let Err(err) = std::fs::File::open(&users) {
                    problems.push(file_problem(
                        config,
                        "users_file",
                        "authorization",
                        format!("{}: cannot read it: {err}", users.display()),
                    ));
                }
            }
            // Created at the first start (and its password shown then).
            Err(_) => {}
        }
    }
    if let Some(path) = &ws_config.log_access {
        let path = dir.join(path);
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(parent) = parent.filter(|p| !p.is_dir()) {
            problems.push(file_problem(
                config,
                "log_access",
                "",
                format!(
                    "{}: its directory {} does not exist",
                    path.display(),
                    parent.display()
                ),
            ));
        }
    }
    problems
}

extern "C" fn get_instance(config: ModuleConfig, host: HostBox) -> RResult<ModuleBox, ModuleError> {
    guard_module("get_instance", || {
        let (ws_config, notices) = WsConfig::from_params(config.alias.as_str(), &config.params)
            .map_err(|problems| {
                let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
                ModuleError::new(ModuleErrorKind::Config, lines.join("\n"))
            })?;
        let host = Arc::new(host);
        logging::install_forwarding_logger(Arc::clone(&host), ws_config.log_level);
        log::info!(
            "Give an instance of alignak_module_ws for alias: {}",
            ws_config.alias
        );
        for notice in notices {
            match notice {
                Notice::NotUsedYet { key, why } => {
                    log::info!("parameter '{key}' is accepted but not used: {why}")
                }
            }
        }
        let module = WsModule {
            config: ws_config,
            params: config.params.to_vec(),
            working_dir: PathBuf::from(config.working_dir.as_str()),
            host,
            running: None,
        };
        Ok(Module_TO::from_value(module, TD_Opaque))
    })
}

impl Module for WsModule {
    fn init(&mut self) -> RResult<(), ModuleError> {
        guard_module("init", || {
            self.log_configuration();
            Ok(())
        })
    }

    fn start(&mut self) -> RResult<(), ModuleError> {
        guard_module("start", || {
            if self.running.is_some() {
                return Ok(());
            }
            self.start_server()
        })
    }

    fn stop(&mut self) -> RResult<(), ModuleError> {
        guard_module("stop", || {
            self.stop_server();
            Ok(())
        })
    }

    fn reload(&mut self, config: ModuleConfig) -> RResult<RVec<RString>, ModuleError> {
        guard_module("reload", || {
            self.reload_from(&config)
                .map(|notes| notes.into_iter().map(RString::from).collect())
        })
    }

    fn counters(&self) -> RVec<Counter> {
        let snapshot = || {
            let mut counters = RVec::new();
            if let Some(running) = &self.running {
                let q = running.queue.counters();
                for (name, value) in [
                    ("commands_accepted", q.accepted.load(Ordering::Relaxed)),
                    ("commands_refused", q.refused.load(Ordering::Relaxed)),
                    ("command_pushes", q.pushes.load(Ordering::Relaxed)),
                ] {
                    counters.push(Counter {
                        name: name.into(),
                        value,
                    });
                }
            }
            counters
        };
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(snapshot)).unwrap_or_default()
    }
}
