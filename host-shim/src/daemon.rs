// Over 400 lines, earned: the daemon's life (check, run, reload, stop) over the same loaded modules, whose steps share their state.
//! The daemon: its configuration read, `--check`, and a run: the spool, the delivery
//! thread, the modules, and the signals that reload or stop them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use abi_stable::sabi_trait::TD_Opaque;
use alignak_module_abi::{
    ConfigParam, DaemonIdentity, HostBox, Host_TO, ModuleBox, ModuleConfig, ModuleLibRef,
};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::config::{objects, receiver, ModuleSpec, ReceiverConfig};
use crate::sink::{AlignakArbiter, CommandFile, LogOnly, Sink};
use crate::spool::Spool;
use crate::{delivery, host, loader, log_file, spool};

/// What the daemon was asked to run: its main configuration file, and which receiver block.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub config: PathBuf,
    pub name: Option<String>,
}

/// How long a stop may spend delivering what is still queued.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// `log_error`: the receiver's, else the one of a module block (where the original module
/// had it); relative to the working directory.
pub fn log_error_path(receiver: &ReceiverConfig) -> Option<PathBuf> {
    receiver.log_error.clone().or_else(|| {
        receiver.modules.iter().find_map(|m| {
            m.params
                .iter()
                .rev()
                .find(|a| a.key == "log_error" && !a.value.trim().is_empty())
                .map(|a| PathBuf::from(a.value.trim()))
        })
    })
}

/// Where `log_error` was written, for `--check`.
fn log_error_location(receiver: &ReceiverConfig) -> Option<String> {
    receiver
        .log_error_at
        .as_ref()
        .map(ToString::to_string)
        .or_else(|| {
            receiver.modules.iter().find_map(|m| {
                m.params
                    .iter()
                    .rev()
                    .find(|a| a.key == "log_error" && !a.value.trim().is_empty())
                    .map(|a| a.at.to_string())
            })
        })
}

pub fn read_configuration(cli: &Invocation) -> Result<(ReceiverConfig, Vec<String>), Vec<String>> {
    let files = objects::read(&cli.config).map_err(|e| vec![e.to_string()])?;
    receiver::resolve(&files, &cli.config, cli.name.as_deref())
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}

fn identity(receiver: &ReceiverConfig) -> DaemonIdentity {
    DaemonIdentity {
        daemon_type: "receiver".into(),
        name: receiver.name.as_str().into(),
        address: receiver.address.as_str().into(),
        port: receiver.port,
    }
}

fn module_config(spec: &ModuleSpec, receiver: &ReceiverConfig) -> ModuleConfig {
    let working_dir = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|_| ".".into());
    ModuleConfig {
        alias: spec.alias.as_str().into(),
        python_name: spec.python_name.as_str().into(),
        params: spec
            .params
            .iter()
            .map(|a| ConfigParam {
                key: a.key.as_str().into(),
                value: a.value.as_str().into(),
                file: a.at.file.display().to_string().into(),
                line: a.at.line,
            })
            .collect(),
        daemon: identity(receiver),
        working_dir: working_dir.into(),
    }
}

/// `--check`: every file, the receiver, each module library and each module parameter.
pub fn check(receiver: &ReceiverConfig) -> ExitCode {
    let mut problems = Vec::new();
    if let (Some(path), Some(at)) = (log_error_path(receiver), log_error_location(receiver)) {
        if let Some(dir) = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty() && !d.is_dir())
        {
            problems.push(format!(
                "{at}: log_error: {}: its directory {} does not exist",
                path.display(),
                dir.display()
            ));
        }
    }
    for spec in &receiver.modules {
        let library = match loader::load(
            &spec.alias,
            &spec.python_name,
            receiver.modules_dir.as_deref(),
        ) {
            Ok((library, _)) => library,
            Err(err) => {
                problems.push(format!("{}: python_name: {err}", spec.python_name_at));
                continue;
            }
        };
        match (library.check_config())(&module_config(spec, receiver)).into_result() {
            Ok(found) => problems.extend(found.iter().map(ToString::to_string)),
            Err(err) => problems.push(format!("module '{}': {err}", spec.alias)),
        }
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    if problems.is_empty() {
        let aliases: Vec<&str> = receiver.modules.iter().map(|m| m.alias.as_str()).collect();
        eprintln!(
            "configuration is valid: receiver '{}' with module(s): {}",
            receiver.name,
            aliases.join(", ")
        );
        ExitCode::SUCCESS
    } else {
        eprintln!("{} configuration error(s)", problems.len());
        ExitCode::FAILURE
    }
}

struct LoadedModule {
    alias: String,
    /// Shared with the stats thread, which asks it for its counters.
    instance: Arc<Mutex<ModuleBox>>,
    started: bool,
    // Keeps the library's root module alive as long as the instance.
    _library: ModuleLibRef,
}

pub enum RunError {
    /// The daemon could not set itself up; nothing was started.
    Setup(String),
    /// A module failed to start; the error was logged and everything started was stopped.
    Start,
}

pub fn run(cli: &Invocation, receiver: &ReceiverConfig) -> Result<(), RunError> {
    // Registered first, so that a signal during start-up is not the default (fatal) action.
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP])
        .map_err(|e| RunError::Setup(format!("cannot install signal handlers: {e}")))?;

    let spool = Arc::new(
        Spool::open(&receiver.spool_dir, receiver.max_spool_size)
            .map_err(|e| RunError::Setup(e.to_string()))?,
    );
    let sink: Box<dyn Sink> = match (&receiver.command_file, &receiver.alignak_arbiter) {
        (Some(path), _) => Box::new(CommandFile::new(path.clone(), receiver.create_command_file)),
        (None, Some(url)) => Box::new(AlignakArbiter::new(url)),
        (None, None) => Box::new(LogOnly::new(receiver.spool_dir.join("journal"))),
    };
    let sink_description = sink.describe();
    let delivery_thread = {
        let spool = Arc::clone(&spool);
        std::thread::Builder::new()
            .name("delivery".into())
            .spawn(move || delivery::run(spool, sink, DRAIN_TIMEOUT))
            .map_err(|e| RunError::Setup(format!("cannot start the delivery thread: {e}")))?
    };

    log::info!("receiver '{}' starting", receiver.name);
    let mut modules = Vec::new();
    let started = start_modules(receiver, &spool, &sink_description, &mut modules);
    if let Err(error) = &started {
        log::error!("{error}");
    } else {
        log::info!(
            "receiver '{}' is running; SIGTERM or SIGINT stops it, SIGHUP reloads",
            receiver.name
        );
        let counted = modules
            .iter()
            .map(|m| (m.alias.clone(), Arc::clone(&m.instance)))
            .collect();
        let period = Duration::from_secs(receiver.stats_period);
        let stats = spawn_stats(Arc::clone(&spool), counted, period);
        let mut current = receiver.clone();
        for signal in signals.forever() {
            if signal == SIGHUP {
                current = reload(cli, &current, &modules);
                continue;
            }
            log::info!("signal {signal} received: stopping");
            break;
        }
        drop(stats);
    }

    for module in modules.iter_mut().rev().filter(|m| m.started) {
        if let Err(err) = lock_module(&module.instance).stop().into_result() {
            log::error!("module '{}': stop failed: {err}", module.alias);
        }
    }
    spool.close();
    let left = delivery_thread.join().unwrap_or_else(|_| {
        log::error!("the delivery thread panicked");
        spool.counters().pending
    });
    if let Err(err) = spool.sync_cursor() {
        log::error!("{err}");
    }
    let counters = spool.counters();
    if left > 0 {
        log::warn!(
            "{left} command(s) could not be delivered before the stop: they stay in the spool {} and are delivered at the next start",
            receiver.spool_dir.display()
        );
    }
    log::info!(
        "receiver '{}' stopped: {} command(s) accepted, {} delivered",
        receiver.name,
        counters.accepted,
        counters.delivered
    );
    started.map_err(|_| RunError::Start)
}

/// SIGHUP: the log file reopened, the configuration read again, and each module given its
/// block to apply what it can. Returns the configuration now in force; a configuration that
/// cannot be read leaves the running one as it is (and the modules still reopen their logs).
fn reload(cli: &Invocation, running: &ReceiverConfig, modules: &[LoadedModule]) -> ReceiverConfig {
    log::info!("SIGHUP received: reloading");
    if let Err(err) = log_file::reopen() {
        log::error!("{err}");
    }
    let fresh = match read_configuration(cli) {
        Ok((fresh, _)) => fresh,
        Err(errors) => {
            for error in &errors {
                log::error!("{error}");
            }
            log::error!(
                "{} configuration error(s): the running configuration is kept",
                errors.len()
            );
            running.clone()
        }
    };
    for note in receiver::needing_restart(running, &fresh) {
        log::warn!("{note}: restart the daemon to apply it");
    }
    if let Some(path) =
        log_error_path(&fresh).filter(|p| Some(p) != log_error_path(running).as_ref())
    {
        match log_file::use_file(&path) {
            Ok(()) => log::info!("the log now goes to {}", path.display()),
            Err(err) => log::error!("{err}"),
        }
    }
    for module in modules {
        let Some(spec) = fresh.modules.iter().find(|m| m.alias == module.alias) else {
            continue;
        };
        let config = module_config(spec, &fresh);
        match lock_module(&module.instance).reload(config).into_result() {
            Ok(notes) => {
                for note in notes {
                    log::warn!("module '{}': {note}", module.alias);
                }
                log::info!("module '{}' reloaded", module.alias);
            }
            Err(err) => log::error!("module '{}': reload: {err}", module.alias),
        }
    }
    // What was not applied stays as it runs: the next SIGHUP compares with that.
    let mut now = running.clone();
    now.log_error = fresh.log_error.clone();
    now.log_error_at = fresh.log_error_at.clone();
    now.modules = running
        .modules
        .iter()
        .map(|m| {
            fresh
                .modules
                .iter()
                .find(|f| f.alias == m.alias)
                .cloned()
                .unwrap_or_else(|| m.clone())
        })
        .collect();
    now
}

fn start_modules(
    receiver: &ReceiverConfig,
    spool: &Arc<Spool>,
    sink: &str,
    modules: &mut Vec<LoadedModule>,
) -> Result<(), String> {
    for spec in &receiver.modules {
        let (library, path) = loader::load(
            &spec.alias,
            &spec.python_name,
            receiver.modules_dir.as_deref(),
        )
        .map_err(|e| e.to_string())?;
        let in_library = |what: &str, err: &dyn std::fmt::Display| {
            format!(
                "module '{}' ({}): {what}: {err}",
                spec.alias,
                path.display()
            )
        };
        let properties = (library.properties())()
            .into_result()
            .map_err(|e| in_library("properties", &e))?;
        if !properties.daemons.iter().any(|d| d.as_str() == "receiver") {
            log::warn!(
                "module '{}' is made for {:?}, not for a receiver",
                spec.alias,
                properties.daemons
            );
        }
        let host: HostBox = Host_TO::from_value(
            host::ReceiverHost::new(Arc::clone(spool), identity(receiver), sink.to_string()),
            TD_Opaque,
        );
        let mut instance = (library.get_instance())(module_config(spec, receiver), host)
            .into_result()
            .map_err(|e| in_library("cannot create the instance", &e))?;
        instance
            .init()
            .into_result()
            .map_err(|e| in_library("init failed", &e))?;
        modules.push(LoadedModule {
            alias: spec.alias.clone(),
            instance: Arc::new(Mutex::new(instance)),
            started: false,
            _library: library,
        });
        let module = modules.last_mut().ok_or("module list is empty")?;
        lock_module(&module.instance)
            .start()
            .into_result()
            .map_err(|e| in_library("start failed", &e))?;
        module.started = true;
        log::info!(
            "module '{}' ({}, type {}) started from {}",
            spec.alias,
            spec.python_name,
            properties.module_type,
            path.display()
        );
    }
    Ok(())
}

/// A module's instance; a panic while it was held (caught at the interface) does not make it
/// unusable for the stop.
fn lock_module(instance: &Mutex<ModuleBox>) -> std::sync::MutexGuard<'_, ModuleBox> {
    instance.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// Logs the delivery counters, and each module's, every minute until dropped.
struct StatsThread {
    stop: Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for StatsThread {
    fn drop(&mut self) {
        let (lock, wake) = &*self.stop;
        if let Ok(mut stop) = lock.lock() {
            *stop = true;
        }
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn spawn_stats(
    spool: Arc<Spool>,
    modules: Vec<(String, Arc<Mutex<ModuleBox>>)>,
    period: Duration,
) -> StatsThread {
    let stop = Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
    let thread_stop = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("stats".into())
        .spawn(move || {
            let (lock, wake) = &*thread_stop;
            let Ok(mut stop) = lock.lock() else { return };
            loop {
                let Ok((guard, _)) = wake.wait_timeout_while(stop, period, |s| !*s) else {
                    return;
                };
                stop = guard;
                if *stop {
                    return;
                }
                let c = spool.counters();
                let oldest = c
                    .oldest_pending
                    .map(|t| format!(", oldest pending {:.0} s old", (spool::now() - t).max(0.0)))
                    .unwrap_or_default();
                log::info!(
                    "commands: {} accepted, {} delivered, {} pending ({} bytes), {} sink errors{oldest}",
                    c.accepted,
                    c.delivered,
                    c.pending,
                    c.pending_bytes,
                    c.sink_errors
                );
                for (alias, instance) in &modules {
                    let counters: Vec<String> = lock_module(instance)
                        .counters()
                        .iter()
                        .map(|c| format!("{} {}", c.value, c.name))
                        .collect();
                    if !counters.is_empty() {
                        log::info!("module '{alias}': {}", counters.join(", "));
                    }
                }
            }
        })
        .ok();
    StatsThread { stop, thread }
}
