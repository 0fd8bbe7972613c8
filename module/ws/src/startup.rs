// Over 400 lines, earned: the one place the module is wired at start-up (store, authentication, queue, server, threads) and taken apart at stop, in the order each needs.
//! The module's start-up wiring: the store, the authentication, the command queue, the
//! objects writer and the HTTP server started from the configuration, reloaded on SIGHUP
//! and stopped. `lib.rs` keeps the ABI entry points, which call these.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use alignak_module_abi::{HostBox, ModuleConfig, ModuleError, ModuleErrorKind};
use tokio::sync::watch;

use crate::app::App;
use crate::auth::Auth;
use crate::config::WsConfig;
use crate::queue::{CommandQueue, Pusher};
use crate::{
    access_log, alignak_map, auth, core_objects, hostgroups, queue, reload, server, statsd, store,
    tls,
};

/// The backend's credential checks, shared by the store and the authentication.
type BackendLogins = Arc<store::backend::credentials::BackendCredentials>;

pub(crate) struct Running {
    /// The acceptor new connections take (replaced on SIGHUP).
    pub(crate) tls: Option<Arc<tls::ReloadableAcceptor>>,
    pub(crate) access_log: Option<Arc<access_log::AccessLog>>,
    pub(crate) store: Arc<dyn store::Store>,
    pub(crate) runtime: tokio::runtime::Runtime,
    pub(crate) shutdown: watch::Sender<bool>,
    pub(crate) server: tokio::task::JoinHandle<()>,
    pub(crate) queue: CommandQueue,
    pub(crate) pusher: Pusher,
    /// `objects_dir`: the thread that writes, verifies and reloads.
    pub(crate) objects_writer: Option<core_objects::ObjectsWriter>,
}

pub(crate) struct WsModule {
    pub(crate) config: WsConfig,
    /// The parameters it was built from: SIGHUP compares them with the files' new ones.
    pub(crate) params: Vec<alignak_module_abi::ConfigParam>,
    /// The daemon's working directory: relative paths of the configuration start there.
    pub(crate) working_dir: std::path::PathBuf,
    pub(crate) host: Arc<HostBox>,
    pub(crate) running: Option<Running>,
}

impl WsModule {
    pub(crate) fn log_configuration(&self) {
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
                store::backend::address::shown_url(url)
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
    pub(crate) fn start_auth(&self, backend: Option<BackendLogins>) -> Result<Auth, String> {
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
        let tokens = store::tokens::TokenStore::open(&self.path(&c.embedded_store))
            .map_err(|e| e.to_string())?;
        let password_cache = auth::htpasswd::VerifiedCache {
            lifetime: Duration::from_secs(c.auth_cache_timeout_secs),
            max_entries: c.auth_cache_max_entries,
        };
        let (auth, created) = Auth::local(
            &users_file,
            password_cache,
            Arc::new(tokens),
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
    pub(crate) fn open_store(
        &self,
    ) -> Result<(Arc<dyn store::Store>, Option<BackendLogins>), ModuleError> {
        if let Some(url) = &self.config.alignak_backend {
            if self.config.hostgroups_file.is_some() {
                log::warn!("hostgroups_file is not used with an Alignak backend: its hostgroups are the backend's");
            }
            log::info!(
                "Alignak backend: {}",
                store::backend::address::shown_url(url)
            );
            let backend = store::backend::AlignakBackend::new(url, &self.config)
                .map_err(|e| ModuleError::new(ModuleErrorKind::Config, e.to_string()))?;
            let credentials = backend.credentials();
            return Ok((Arc::new(backend), Some(credentials)));
        }
        let path = self.working_dir.join(&self.config.embedded_store);
        let retention = store::retention::Retention {
            max_age_secs: self.config.history_max_age_secs,
            max_entries: self.config.history_max_entries,
        };
        // One push for each batch's commands, made by the store's thread before it answers.
        let answer_scope: store::AnswerScope =
            Arc::new(|| Box::new(queue::hold_pushes()) as Box<dyn std::any::Any>);
        let (store, error) =
            store::embedded::EmbeddedStore::open_with(&path, retention, Some(answer_scope));
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
        let result = store.session(&auth::Caller::default(), &mut |session| {
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

    pub(crate) fn start_server(&mut self) -> Result<(), ModuleError> {
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
    pub(crate) fn reload_from(
        &mut self,
        config: &ModuleConfig,
    ) -> Result<Vec<String>, ModuleError> {
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

    pub(crate) fn stop_server(&mut self) {
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
