//! The Alignak web-services module, as a dynamic library loaded by `alignak-receiver`.
//!
//! It serves the web-services HTTP API on its own tokio runtime and hands the external
//! commands it builds to its daemon through the stable interface of `alignak-module-abi`.

/// The module's own allocations (its Rust code; SQLite keeps its own): what crosses the
/// interface is `abi_stable` types, freed by the side that allocated them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod access_log;
pub mod alignak_map;
pub mod app;
pub mod auth;
pub mod body;
pub mod characters;
pub mod command;
pub mod config;
pub mod core_objects;
pub mod error;
pub mod handlers;
pub mod hostgroups;
pub mod hosts;
pub mod metrics;
pub mod nrdp;
pub mod query;
pub mod queue;
pub mod reload;
pub mod response;
pub mod router;
pub mod search;
pub mod server;
pub mod statsd;
pub mod store;
pub mod timestamp;
pub mod tls;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use abi_stable::export_root_module;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RResult, RString, RVec};
use alignak_module_abi::{
    guard_module, logging, ConfigProblem, Counter, HostBox, Module, ModuleBox, ModuleConfig,
    ModuleError, ModuleErrorKind, ModuleLib, ModuleLibRef, ModuleProperties, Module_TO,
};
use tokio::sync::watch;

use crate::app::App;
use crate::auth::Auth;
use crate::config::{Notice, WsConfig};
use crate::queue::{CommandQueue, Pusher};

/// `mi_option_arena_eager_commit` in mimalloc 3's `mi_option_e` (libmimalloc-sys 0.1.49,
/// `c_src/mimalloc/v3/include/mimalloc.h`), which the crate names no constant for.
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Arenas committed on demand: committed eagerly, the memory a burst touched stays resident
/// (42 MiB peak under the batch benchmark, 22 MiB without; the same throughput).
fn tune_allocator() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: sets one of mimalloc's options; any value is valid for it.
    ONCE.call_once(|| unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) });
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
        Ok(ModuleProperties {
            module_type: "web-services".into(),
            daemons: vec!["receiver".into()].into(),
            external: true,
            phases: vec!["running".into()].into(),
        })
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

/// The backend's credential checks, shared by the store and the authentication.
type BackendLogins = Arc<store::backend::credentials::BackendCredentials>;

struct Running {
    /// The acceptor new connections take (replaced on SIGHUP).
    tls: Option<Arc<tls::ReloadableAcceptor>>,
    access_log: Option<Arc<access_log::AccessLog>>,
    store: Arc<dyn store::Store>,
    runtime: tokio::runtime::Runtime,
    shutdown: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
    queue: CommandQueue,
    pusher: Pusher,
    /// `objects_dir`: the thread that writes, verifies and reloads.
    objects_writer: Option<core_objects::ObjectsWriter>,
}

struct WsModule {
    config: WsConfig,
    /// The parameters it was built from: SIGHUP compares them with the files' new ones.
    params: Vec<alignak_module_abi::ConfigParam>,
    /// The daemon's working directory: relative paths of the configuration start there.
    working_dir: std::path::PathBuf,
    host: Arc<HostBox>,
    running: Option<Running>,
}

impl WsModule {
    fn log_configuration(&self) {
        let c = &self.config;
        log::info!("Alignak host creation allowed: {}", c.allow_host_creation);
        log::info!(
            "Alignak service creation allowed: {}",
            c.allow_service_creation
        );
        log::info!(
            "Alignak external commands, set timestamp: {}",
            c.set_timestamp
        );
        log::info!(
            "Alignak external commands, validated: {}",
            c.validate_commands
        );
        if c.alignak_backend.is_none() {
            log::info!(
                "Alignak Backend is not configured. Some module features will not be available."
            );
        }
        if !c.authorization {
            log::warn!("Authorization is disabled: anyone who can reach the port can send commands. Set authorization 1.");
            if c.alignak_backend.is_some() {
                log::warn!("With authorization 0 there is no caller's token to call the Alignak backend with: every backend call will be refused (401). Set authorization 1.");
            }
        } else if let Some(url) = &c.alignak_backend {
            log::info!(
                "Credentials and tokens are checked by the Alignak backend at {}",
                store::backend::client::shown_url(url)
            );
        }
        if c.use_ssl {
            log::info!(
                "SSL is enabled: certificate {}, key {}",
                self.path(&c.server_cert).display(),
                self.path(&c.server_key).display()
            );
            if let Some(ca) = &c.ca_cert {
                log::info!(
                    "SSL client certificates are required, signed by {}",
                    self.path(ca).display()
                );
            }
        } else {
            log::warn!(
                "SSL is not enabled, this is not recommended. You should consider enabling SSL!"
            );
        }
    }

    /// A parameter's path, relative paths taken from the daemon's working directory.
    fn path(&self, path: &Path) -> PathBuf {
        self.working_dir.join(path)
    }

    /// The authentication of `authorization 1`. On a first start, creates the users file and
    /// shows its admin password, once.
    fn start_auth(&self, backend: Option<BackendLogins>) -> Result<Auth, String> {
        let c = &self.config;
        if let Some(credentials) = backend {
            return Ok(Auth::new(
                credentials,
                Duration::from_secs(c.session_timeout_secs),
                c.use_ssl,
            )
            .with_failures_allowed(c.auth_max_failures)
            .with_session_key(c.session_key.as_deref()));
        }
        let users_file = self.path(&c.users_file);
        let (auth, created) = Auth::local(
            &users_file,
            &self.path(&c.embedded_store),
            Duration::from_secs(c.token_timeout_secs),
            Duration::from_secs(c.session_timeout_secs),
            c.use_ssl,
        )
        .map_err(|e| e.to_string())?;
        let auth = auth
            .with_failures_allowed(c.auth_max_failures)
            .with_session_key(c.session_key.as_deref());
        if c.session_key.is_none() {
            log::info!("session cookies are sealed with a key of this process: they end at a restart and work on this gateway only (set session_key, the same on every gateway, for sessions that work on all)");
        }
        if created.is_some() && c.users_file.is_relative() {
            log::warn!(
                "the users file {} was created from the relative users_file '{}', taken from the working directory {}: a daemon started from another directory creates another users file (and password) there; set an absolute users_file",
                users_file.display(),
                c.users_file.display(),
                self.working_dir.display()
            );
        }
        if let Some(admin) = created {
            // On standard error, not in the log: log files are kept, shipped and read by many.
            eprintln!(
                "\nweb-services: first start: created the users file {} with the user '{}'.\n\
                 Its password is shown only this once:\n\n    {} password: {}\n\n\
                 Change it with: htpasswd -B {} {}\n",
                users_file.display(),
                auth::htpasswd::GENERATED_USER,
                auth::htpasswd::GENERATED_USER,
                admin.password,
                users_file.display(),
                auth::htpasswd::GENERATED_USER,
            );
            log::info!(
                "created the users file {} with the user '{}' and a random password, printed on standard error",
                users_file.display(),
                auth::htpasswd::GENERATED_USER
            );
        }
        Ok(auth)
    }

    /// The embedded store. A file that cannot be opened does not stop the start: `/command`
    /// keeps working, and the store's endpoints answer 503 and try again on each request.
    /// A `hostgroups_file` that cannot be read or parsed stops the start (a configuration
    /// error); its groups are written to the store when it can be used.
    fn open_store(&self) -> Result<(Arc<dyn store::Store>, Option<BackendLogins>), ModuleError> {
        if let Some(url) = &self.config.alignak_backend {
            if self.config.hostgroups_file.is_some() {
                log::warn!("hostgroups_file is not used with an Alignak backend: its hostgroups are the backend's");
            }
            log::info!(
                "Alignak backend: {}",
                store::backend::client::shown_url(url)
            );
            let backend = store::backend::AlignakBackend::new(url, &self.config);
            let credentials = backend.credentials();
            return Ok((Arc::new(backend), Some(credentials)));
        }
        let path = self.working_dir.join(&self.config.embedded_store);
        let retention = store::retention::Retention {
            max_age_secs: self.config.history_max_age_secs,
            max_entries: self.config.history_max_entries,
        };
        let (store, error) = store::embedded::EmbeddedStore::open_with(&path, retention);
        match error {
            None => log::info!("embedded store: {}", path.display()),
            // The store's errors name no path (answers show none): the log does.
            Some(err) => log::error!("embedded store {}: {err}", path.display()),
        }
        let store: Arc<dyn store::Store> = Arc::new(store);
        self.load_hostgroups(&store)
            .map_err(|e| ModuleError::new(ModuleErrorKind::Config, e))?;
        Ok((store, None))
    }

    /// The groups of `hostgroups_file`, written to the embedded store; an error when the
    /// file cannot be read or parsed.
    fn load_hostgroups(&self, store: &Arc<dyn store::Store>) -> Result<(), String> {
        let Some(file) = &self.config.hostgroups_file else {
            return Ok(());
        };
        if self.config.alignak_backend.is_some() {
            return Ok(());
        }
        let file = self.working_dir.join(file);
        let groups = hostgroups::read(&file).map_err(|e| format!("hostgroups_file: {e}"))?;
        let count = groups.len();
        let result = store.session(&store::Caller::default(), &mut |session| {
            for group in &groups {
                session.put_hostgroup(&group.name, &group.alias, &group.members)?;
            }
            Ok(())
        });
        match result {
            Ok(()) => log::info!("{count} hostgroup(s) from {}", file.display()),
            Err(err) => log::error!("hostgroups of {} not stored: {err}", file.display()),
        }
        Ok(())
    }

    /// The TLS acceptor from the configured files.
    fn tls_acceptor(&self) -> Result<tokio_rustls::TlsAcceptor, tls::TlsError> {
        let c = &self.config;
        let ca = c.ca_cert.as_deref().map(|p| self.path(p));
        tls::acceptor(
            &self.path(&c.server_cert),
            &self.path(&c.server_key),
            ca.as_deref(),
        )
    }

    fn start_server(&mut self) -> Result<(), ModuleError> {
        let init_error = |what: String| ModuleError::new(ModuleErrorKind::Init, what);
        let c = &self.config;
        let tls = if c.use_ssl {
            let acceptor = self.tls_acceptor().map_err(|e| init_error(e.to_string()))?;
            Some(Arc::new(tls::ReloadableAcceptor::new(acceptor)))
        } else {
            None
        };
        statsd::start(&self.config).map_err(init_error)?;
        let access_log = match &c.log_access {
            None => None,
            Some(path) => Some(Arc::new(
                access_log::AccessLog::open(&self.path(path))
                    .map_err(|e| init_error(e.to_string()))?,
            )),
        };
        let (store, backend) = self.open_store()?;
        let auth = if self.config.authorization {
            Some(self.start_auth(backend).map_err(init_error)?)
        } else {
            None
        };
        let address = std::net::SocketAddr::new(self.config.host, self.config.port);
        // Bound here, synchronously, so that a port in use fails the start with its reason.
        let listener = std::net::TcpListener::bind(address)
            .map_err(|e| init_error(format!("cannot listen on {address}: {e}")))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| init_error(format!("cannot listen on {address}: {e}")))?;
        let local = listener
            .local_addr()
            .map_err(|e| init_error(format!("cannot listen on {address}: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name("ws-http")
            .enable_all()
            .build()
            .map_err(|e| init_error(format!("cannot start the HTTP runtime: {e}")))?;
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener)
                .map_err(|e| init_error(format!("cannot listen on {address}: {e}")))?
        };
        let (queue, pusher) = CommandQueue::start(Arc::clone(&self.host))
            .map_err(|e| init_error(format!("cannot start the command queue: {e}")))?;
        let arbiter = alignak_map::ArbiterPoller::start(&self.config)
            .map_err(|e| init_error(format!("cannot start the arbiter poller: {e}")))?;
        let objects = match &self.config.objects {
            None => None,
            Some(objects) => {
                let mut objects = objects.clone();
                objects.dir = self.path(&objects.dir);
                objects.object_cache_file = self.path(&objects.object_cache_file);
                let dir = objects.dir.display().to_string();
                Some(
                    core_objects::CoreObjects::new(objects, self.config.core)
                        .map_err(|e| init_error(format!("cannot use objects_dir {dir}: {e}")))?,
                )
            }
        };
        let objects_writer = match &objects {
            None => None,
            Some(objects) => Some(
                core_objects::ObjectsWriter::start(
                    Arc::clone(objects),
                    Arc::clone(&store),
                    queue.clone(),
                    self.config.set_timestamp,
                )
                .map_err(|e| init_error(format!("cannot start the objects writer: {e}")))?,
            ),
        };
        let app = Arc::new(
            App::new(
                self.config.clone(),
                queue.clone(),
                auth,
                Arc::clone(&store),
                Arc::clone(&self.host),
                arbiter,
            )
            .with_access_log(access_log.clone())
            .with_objects(objects),
        );
        let (shutdown, shutdown_rx) = watch::channel(false);
        let server = runtime.spawn(server::run(
            listener,
            app,
            shutdown_rx,
            self.config.max_connections,
            tls.clone(),
        ));
        log::info!(
            "configuration, listening on: {}",
            server::display_address(local, self.config.use_ssl)
        );
        self.running = Some(Running {
            tls,
            access_log,
            store,
            runtime,
            shutdown,
            server,
            queue,
            pusher,
            objects_writer,
        });
        Ok(())
    }

    /// SIGHUP: reopens the access log, applies the reloadable parameters of `config` and
    /// returns a line for each one that could not be applied or needs a restart.
    fn reload_from(&mut self, config: &ModuleConfig) -> Result<Vec<String>, ModuleError> {
        let mut notes = Vec::new();
        // First, and whatever the files now say: logrotate has moved the file away.
        if let Some(log) = self.running.as_ref().and_then(|r| r.access_log.clone()) {
            match log.reopen() {
                Ok(()) => log::info!("access log {} reopened", log.path().display()),
                Err(err) => notes.push(format!("{err}; lines still go to the old file")),
            }
        }
        let (new, _) =
            WsConfig::from_params(config.alias.as_str(), &config.params).map_err(|problems| {
                let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
                ModuleError::new(
                    ModuleErrorKind::Config,
                    format!(
                        "configuration not reloaded, the running one is kept:\n{}",
                        lines.join("\n")
                    ),
                )
            })?;
        for key in reload::needing_restart(&self.params, &config.params) {
            notes.push(format!("{key} changed: restart the daemon to apply it"));
        }
        if new.log_level != self.config.log_level {
            self.config.log_level = new.log_level;
            log::set_max_level(new.log_level.min(self.host.max_log_level().into()));
            log::info!("log level is now {}", new.log_level);
        }
        self.config.hostgroups_file = new.hostgroups_file.clone();
        if let Some(running) = &self.running {
            if let Err(err) = self.load_hostgroups(&running.store) {
                notes.push(format!("{err}; the groups already stored are kept"));
            }
        }
        if let Some(current) = self.running.as_ref().and_then(|r| r.tls.clone()) {
            let kept = (
                self.config.server_cert.clone(),
                self.config.server_key.clone(),
                self.config.ca_cert.clone(),
            );
            self.config.server_cert = new.server_cert.clone();
            self.config.server_key = new.server_key.clone();
            self.config.ca_cert = new.ca_cert.clone();
            match self.tls_acceptor() {
                Ok(acceptor) => {
                    current.replace(acceptor);
                    log::info!(
                        "TLS certificate {} and key {} loaded: new connections use them",
                        self.path(&self.config.server_cert).display(),
                        self.path(&self.config.server_key).display()
                    );
                }
                Err(err) => {
                    (
                        self.config.server_cert,
                        self.config.server_key,
                        self.config.ca_cert,
                    ) = kept;
                    notes.push(format!("{err}; the previous certificate is kept"));
                }
            }
        }
        self.params = config.params.to_vec();
        Ok(notes)
    }

    fn stop_server(&mut self) {
        let Some(running) = self.running.take() else {
            return;
        };
        let _ = running.shutdown.send(true);
        if let Err(err) = running.runtime.block_on(running.server) {
            log::error!("the HTTP server task failed: {err}");
        }
        // The server and its connections are gone, and with them every queue handle but
        // this one and the objects writer's: dropping them lets the pusher finish what it
        // holds and end.
        drop(running.objects_writer);
        drop(running.queue);
        running.runtime.shutdown_timeout(server::DRAIN_TIMEOUT);
        running.pusher.join();
        log::info!("web services stopped");
    }
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
