//! Hosts and services created through `/host` reach the core's configuration (embedded store,
//! `objects_dir`): one object file per host, verified, then a reload; until the core has
//! loaded an element, its results are held in the store and sent once it has.
//!
//! What the core defines is read from its object cache (`object_cache_file`), which Nagios
//! rewrites at each start and each reload that took: the module writes only what the core
//! lacks, and it knows a reload took effect when the cache changed and names the element.

mod known;
pub mod render;
mod writer;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

use serde_json::{json, Value};

pub use known::Known;

use crate::config::CoreDialect;
pub use crate::config::ObjectsConfig;
use crate::error::ApiError;
use crate::hosts::catalog::CoreCatalog;
use crate::hosts::request::HostRequest;
use crate::response::Envelope;

/// The last reload and the last refused change, for `/alignak_map` and the log.
#[derive(Debug, Clone, Default)]
struct Report {
    last_reload: Option<Value>,
    last_refused: Option<Value>,
}

#[derive(Debug, Default)]
struct State {
    /// Hosts whose file must be (re)written.
    pending: BTreeSet<String>,
    /// Hosts written and reloaded, whose held results go once the core has loaded them.
    awaiting: BTreeSet<String>,
    report: Report,
    stopping: bool,
}

struct Cache {
    known: Known,
    modified: Option<SystemTime>,
    checked: Option<Instant>,
}

pub struct CoreObjects {
    config: ObjectsConfig,
    core: CoreDialect,
    cache: Mutex<Cache>,
    state: Mutex<State>,
    wake: Condvar,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl CoreObjects {
    pub fn new(config: ObjectsConfig, core: CoreDialect) -> std::io::Result<Arc<CoreObjects>> {
        std::fs::create_dir_all(&config.dir)?;
        std::fs::create_dir_all(refused_dir(&config.dir))?;
        let objects = Arc::new(CoreObjects {
            config,
            core,
            cache: Mutex::new(Cache {
                known: Known::default(),
                modified: None,
                checked: None,
            }),
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
        });
        objects.refresh(true);
        Ok(objects)
    }

    pub fn config(&self) -> &ObjectsConfig {
        &self.config
    }

    /// Re-reads the object cache when it changed (looked at most once a second unless
    /// `force`); returns whether it was re-read.
    fn refresh(&self, force: bool) -> bool {
        let mut cache = lock(&self.cache);
        if !force
            && cache
                .checked
                .is_some_and(|t| t.elapsed().as_millis() < 1000)
        {
            return false;
        }
        cache.checked = Some(Instant::now());
        let modified = std::fs::metadata(&self.config.object_cache_file)
            .and_then(|m| m.modified())
            .ok();
        if modified == cache.modified && !force {
            return false;
        }
        cache.known = known::read(&self.config.object_cache_file);
        cache.modified = modified;
        true
    }

    fn known<T>(&self, read: impl FnOnce(&Known) -> T) -> T {
        self.refresh(false);
        read(&lock(&self.cache).known)
    }

    /// The host's file is to be written at the next cycle.
    pub fn mark(&self, host: &str) {
        let mut state = lock(&self.state);
        if state.pending.insert(host.to_string()) {
            log::debug!("objects: host '{host}' pending a write and a reload");
        }
        self.wake.notify_all();
    }

    /// For `/alignak_map`: pending objects, the last reload, the last refused change.
    pub fn status(&self) -> Value {
        let state = lock(&self.state);
        json!({
            "objects_pending_reload": state.pending.iter().chain(state.awaiting.iter()).collect::<BTreeSet<_>>(),
            "last_reload": state.report.last_reload,
            "last_refused_change": state.report.last_refused,
        })
    }

    /// The checks a request must pass before anything is stored, when objects are written:
    /// names the core can take, template keys on the allow-list, one-line values.
    pub fn check_request(&self, request: &HostRequest) -> Result<(), ApiError> {
        let bad = |message: String| ApiError::Invalid {
            message,
            key: crate::error::ErrorKey::Issues,
        };
        let host = request.host.name.as_deref().unwrap_or_default();
        let mut elements = vec![("host", host, host.to_string(), &request.host)];
        for service in request.services.iter().flatten() {
            if let Some(name) = &service.name {
                elements.push(("service", name.as_str(), format!("{host}/{name}"), service));
            }
        }
        for (what, name, label, element) in &elements {
            let core_has = match *what {
                "host" => self.core_knows_host(name),
                _ => self.core_knows_service(host, name),
            };
            if !core_has {
                if let Some(problem) = render::name_problem(name) {
                    return Err(bad(format!("The {what} name '{label}' {problem}.")));
                }
            }
            for (key, value) in element.variables.iter().flatten() {
                if !render::variable_name_ok(key) {
                    return Err(bad(format!(
                        "The {what} '{label}' custom variable name '{key}' cannot go into the core's objects: letters, digits, '_' and '-' only."
                    )));
                }
                if let Some(problem) = render::value_problem(value) {
                    return Err(bad(format!(
                        "The {what} '{label}' custom variable '{key}' value {problem}."
                    )));
                }
            }
            let Some(template) = &element.template else {
                continue;
            };
            let refused = render::refused_keys(&self.config, template);
            if !refused.is_empty() {
                let body = Envelope::err().issue(format!(
                    "The {what} '{label}' cannot be created with {}: the module writes only allowed directives into the core's configuration (objects_allowed_directives).",
                    refused.join(", ")
                ));
                return Err(ApiError::Issues {
                    body: Box::new(body),
                });
            }
            for (key, value) in template {
                if matches!(key.as_str(), "_templates" | "hostgroups") {
                    for name in crate::store::template::names(value) {
                        if let Some(problem) = render::name_problem(&name) {
                            return Err(bad(format!(
                                "The {what} '{label}' template '{key}' name '{name}' {problem}."
                            )));
                        }
                    }
                }
                if let Some(problem) = render::value_problem(value) {
                    return Err(bad(format!(
                        "The {what} '{label}' template '{key}' value {problem}."
                    )));
                }
            }
        }
        Ok(())
    }

    fn stop(&self) {
        lock(&self.state).stopping = true;
        self.wake.notify_all();
    }
}

/// What the core has, from its object cache; what the module wrote, from its own files.
impl CoreCatalog for CoreObjects {
    fn core_knows_host(&self, host: &str) -> bool {
        self.known(|k| k.host(host))
    }

    fn core_knows_service(&self, host: &str, service: &str) -> bool {
        self.known(|k| k.service(host, service))
    }

    fn core_has_variable(&self, host: &str, service: Option<&str>, name: &str) -> bool {
        self.known(|k| k.variable(host, service, name))
    }

    /// Whether the module's file for `host` defines the element (the host, or that service).
    fn written(&self, host: &str, service: Option<&str>) -> bool {
        let path = host_path(&self.config.dir, host);
        if !path.exists() {
            return false;
        }
        let file = known::read(&path);
        match service {
            None => file.host(host),
            Some(service) => file.service(host, service),
        }
    }
}

/// Stops the writer thread when the module stops.
pub struct ObjectsWriter {
    objects: Arc<CoreObjects>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ObjectsWriter {
    pub fn start(
        objects: Arc<CoreObjects>,
        store: Arc<dyn crate::store::Store>,
        queue: crate::queue::CommandQueue,
        set_timestamp: bool,
    ) -> std::io::Result<ObjectsWriter> {
        let worker = Arc::clone(&objects);
        let thread = std::thread::Builder::new()
            .name("ws-objects".into())
            .spawn(move || writer::run(&worker, store.as_ref(), &queue, set_timestamp))?;
        Ok(ObjectsWriter {
            objects,
            thread: Some(thread),
        })
    }
}

impl Drop for ObjectsWriter {
    fn drop(&mut self) {
        self.objects.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Characters a host name keeps in its file name; any other is percent-encoded, so no name
/// can reach another folder (`/`, a leading `.`).
const FILE_NAME_KEEPS: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.');

/// `<objects_dir>/<host>.cfg`.
pub fn host_path(dir: &Path, host: &str) -> PathBuf {
    let encoded = percent_encoding::utf8_percent_encode(host, FILE_NAME_KEEPS).to_string();
    let name = match encoded.strip_prefix('.') {
        Some(rest) => format!("%2E{rest}"),
        None => encoded,
    };
    dir.join(format!("{name}.cfg"))
}

/// Refused files go below `objects_dir` under a name that does not end in `.cfg`: Nagios
/// reads every `*.cfg` below a `cfg_dir`, recursively.
pub fn refused_dir(dir: &Path) -> PathBuf {
    dir.join("refused")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_host_file_stays_in_the_folder() {
        let dir = Path::new("/o");
        assert_eq!(
            host_path(dir, "web01.example"),
            Path::new("/o/web01.example.cfg")
        );
        assert_eq!(
            host_path(dir, "../etc/x"),
            Path::new("/o/%2E.%2Fetc%2Fx.cfg")
        );
        assert_eq!(host_path(dir, "a b/é"), Path::new("/o/a%20b%2F%C3%A9.cfg"));
    }
}
