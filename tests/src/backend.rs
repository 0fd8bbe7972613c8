// Over 400 lines, earned: the real Alignak backend the tests run (its venv, start, users, documents read back), in one harness.
//! The real alignak-backend 1.4.16 (from PyPI, on mongomock: MongoDB cannot be installed
//! here), started by the project's own `tests/backend/run-backend.sh` on a free port, one per
//! test (its data lives in its process), stopped on drop. The first start makes its Python
//! environment (measured here: about 14 s with a warm pip cache, 22 s without one).
//!
//! Without `python3` or its `venv` module, `Backend::start` prints `SKIPPED` and answers
//! `None`; with `CI` set that is a failure, as is any other problem (PyPI unreachable, a
//! backend that does not answer).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::Setup;

pub struct Backend {
    port: u16,
    /// `https` when started with a certificate.
    scheme: &'static str,
    dir: TempDir,
    /// Environment of `run-backend.sh start` (the TLS certificate and key).
    env: Vec<(&'static str, PathBuf)>,
    pid: Option<i32>,
    agent: ureq::Agent,
    admin_token: String,
}

enum Launch {
    Started,
    /// No python3, or no venv module: the tests skip (unless CI is set).
    NoPython(String),
    Failed(String),
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("backend/run-backend.sh")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Backend {
    /// Starts a backend. Without `python3` or its `venv` module on this machine: `None` with
    /// a `SKIPPED` notice; under CI that is a failure, and so is any other failure anywhere
    /// (PyPI unreachable, a backend that does not answer).
    pub fn start() -> Option<Backend> {
        Backend::start_with(None, None)
    }

    /// A backend whose pages hold at most `limit` items.
    pub fn start_paged(limit: u32) -> Option<Backend> {
        Backend::start_with(None, Some(limit))
    }

    /// Starts a backend that serves HTTPS only, with the PEM certificate chain `chain` and
    /// its `key`; this harness trusts `ca` (PEM) to talk to it.
    pub fn start_tls(ca: &str, chain: &str, key: &str) -> Option<Backend> {
        Backend::start_with(Some((ca, chain, key)), None)
    }

    fn start_with(tls: Option<(&str, &str, &str)>, page_limit: Option<u32>) -> Option<Backend> {
        let dir = crate::temp_dir("alignak-backend-");
        let mut agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false);
        let mut env = Vec::new();
        if let Some(limit) = page_limit {
            env.push((
                "ALIGNAK_WS_BACKEND_PAGE_LIMIT",
                std::path::PathBuf::from(limit.to_string()),
            ));
        }
        if let Some((ca, chain, key)) = tls {
            let (cert_path, key_path) = (
                dir.path().join("backend.crt"),
                dir.path().join("backend.key"),
            );
            std::fs::write(&cert_path, chain).expect("write the certificate");
            std::fs::write(&key_path, key).expect("write the key");
            env.push(("ALIGNAK_WS_BACKEND_CERT", cert_path));
            env.push(("ALIGNAK_WS_BACKEND_KEY", key_path));
            let roots: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(ca.as_bytes())
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert),
                    _ => None,
                })
                .collect();
            agent = agent.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::new_with_certs(&roots))
                    .build(),
            );
        }
        let mut backend = Backend {
            port: 0,
            scheme: if tls.is_some() { "https" } else { "http" },
            dir,
            env,
            pid: None,
            agent: agent.build().into(),
            admin_token: String::new(),
        };
        // A free port can be taken by another test between our look and the backend's bind:
        // the script then fails (it checks who answers), and another port is tried.
        let mut failures = Vec::new();
        for _ in 0..3 {
            backend.port = free_port();
            match backend.launch() {
                Launch::Started => return Some(backend),
                Launch::NoPython(why) => {
                    crate::skip_or_fail_under_ci(
                        &format!("the Alignak backend cannot run here (CI is set): {why}"),
                        &format!("the Alignak backend cannot run here: {why}"),
                    );
                    return None;
                }
                Launch::Failed(why) => failures.push(why),
            }
        }
        panic!(
            "the Alignak backend did not start:\n{}",
            failures.join("\n---\n")
        );
    }

    /// Runs `run-backend.sh start` on `self.port`, then logs in as admin.
    fn launch(&mut self) -> Launch {
        let output = Command::new(script())
            .arg("start")
            .arg(self.port.to_string())
            .arg(self.dir.path())
            .envs(self.env.iter().map(|(k, v)| (k, v.as_os_str())))
            .output()
            .expect("run tests/backend/run-backend.sh");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        match output.status.code() {
            Some(0) => {}
            // python3 or its venv module is missing (the script says which).
            Some(3) => return Launch::NoPython(stderr.trim().to_string()),
            _ => return Launch::Failed(format!("{}\n{stdout}\n{stderr}", output.status)),
        }
        self.pid = stdout.lines().last().and_then(|l| l.trim().parse().ok());
        assert!(self.pid.is_some(), "no PID from run-backend.sh: {stdout}");
        self.admin_token = self
            .login("admin", "admin")
            .expect("the backend's admin/admin login");
        Launch::Started
    }

    /// Stops this backend and starts a new one on the same port: a backend restarted with
    /// its data lost (new tokens, only what its start-up creates).
    pub fn restart(&mut self) {
        self.thaw();
        self.stop();
        match self.launch() {
            Launch::Started => {}
            Launch::NoPython(why) | Launch::Failed(why) => {
                panic!(
                    "the Alignak backend did not start again on port {}: {why}",
                    self.port
                )
            }
        }
    }

    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.port)
    }

    /// The module configured for this backend, with `authorization 1`.
    pub fn module(&self) -> Setup {
        Setup::new()
            .module_param("alignak_backend", &self.url())
            .module_param("authorization", "1")
            .module_param("alignak_backend_polling_period", "0")
    }

    /// `module()`, and every request sent as the backend's `admin` unless it has its own
    /// `Authorization` header.
    pub fn setup(&self) -> Setup {
        self.module().credentials("admin", "admin")
    }

    /// The backend's own `POST /login`: a token, or `None` when it refuses.
    pub fn login(&self, user: &str, password: &str) -> Option<String> {
        let mut response = self
            .agent
            .post(&format!("{}/login", self.url()))
            .header("Content-Type", "application/json")
            .send(json!({"username": user, "password": password}).to_string())
            .expect("POST /login");
        if response.status().as_u16() != 200 {
            return None;
        }
        let body: Value =
            serde_json::from_str(&response.body_mut().read_to_string().expect("body"))
                .expect("JSON");
        body["token"].as_str().map(String::from)
    }

    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    fn auth(&self) -> String {
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:", self.admin_token));
        format!("Basic {basic}")
    }

    fn answer(mut response: ureq::http::Response<ureq::Body>, what: &str) -> (u16, Value) {
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        assert!(status < 300, "{what}: {status} {body}");
        (status, body)
    }

    /// `GET <path_and_query>` as admin; the query is sent as written (JSON values are
    /// percent-encoded here).
    pub fn get(&self, path: &str, query: &[(&str, Value)]) -> Value {
        let mut request = self
            .agent
            .get(&format!("{}/{}", self.url(), path.trim_start_matches('/')))
            .header("Authorization", self.auth());
        for (key, value) in query {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            request = request.query(*key, text);
        }
        let response = request.call().expect("GET");
        Self::answer(response, path).1
    }

    /// Every item of `resource` matching `filter` (one page: tests stay small).
    pub fn items(&self, resource: &str, filter: Value) -> Vec<Value> {
        let page = self.get(
            resource,
            &[("where", filter), ("max_results", json!("5000"))],
        );
        page["_items"].as_array().cloned().unwrap_or_default()
    }

    /// The document of `resource` named `name`.
    pub fn find(&self, resource: &str, name: &str) -> Option<Value> {
        self.items(resource, json!({"name": name}))
            .into_iter()
            .next()
    }

    pub fn id_of(&self, resource: &str, name: &str) -> String {
        self.find(resource, name)
            .unwrap_or_else(|| panic!("no {resource} named {name}"))["_id"]
            .as_str()
            .expect("_id")
            .to_string()
    }

    /// `POST /<resource>` as admin: the new `_id`.
    pub fn post(&self, resource: &str, body: Value) -> String {
        let response = self
            .agent
            .post(&format!("{}/{resource}", self.url()))
            .header("Authorization", self.auth())
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .expect("POST");
        let (_, answer) = Self::answer(response, &format!("POST /{resource} {body}"));
        answer["_id"].as_str().expect("_id").to_string()
    }

    /// `PATCH /<resource>/<id>` as admin, with the document's current `_etag`.
    pub fn patch(&self, resource: &str, id: &str, body: Value) {
        let doc = self.get(&format!("{resource}/{id}"), &[]);
        let response = self
            .agent
            .patch(&format!("{}/{resource}/{id}", self.url()))
            .header("Authorization", self.auth())
            .header("Content-Type", "application/json")
            .header("If-Match", doc["_etag"].as_str().expect("_etag"))
            .send(body.to_string())
            .expect("PATCH");
        Self::answer(response, &format!("PATCH /{resource}/{id}"));
    }

    pub fn realm_all(&self) -> String {
        self.id_of("realm", "All")
    }

    /// A realm under `All`.
    pub fn add_realm(&self, name: &str) -> String {
        let all = self.realm_all();
        self.post("realm", json!({"name": name, "_parent": all}))
    }

    /// A host template (`_is_template: true`) with `fields`.
    pub fn add_host_template(&self, name: &str, fields: Value) -> String {
        let mut doc = json!({"name": name, "_is_template": true, "_realm": self.realm_all()});
        if let (Some(doc), Some(fields)) = (doc.as_object_mut(), fields.as_object()) {
            doc.extend(fields.clone());
        }
        self.post("host", doc)
    }

    /// A host with `services` (their names), in realm All.
    pub fn add_host(&self, name: &str, services: &[&str]) -> String {
        let realm = self.realm_all();
        let host = self.post("host", json!({"name": name, "_realm": realm}));
        let command = self.id_of("command", "_echo");
        for service in services {
            self.post(
                "service",
                json!({"name": service, "host": host, "_realm": realm, "check_command": command}),
            );
        }
        host
    }

    /// The services of the host `host_id`.
    pub fn services_of(&self, host_id: &str) -> Vec<Value> {
        self.items("service", json!({"host": host_id}))
    }

    /// The host (or host template) named `name`.
    pub fn host(&self, name: &str) -> Option<Value> {
        self.find("host", name)
    }

    /// The service `name` of the host `host_id`.
    pub fn service(&self, host_id: &str, name: &str) -> Option<Value> {
        self.items("service", json!({"host": host_id, "name": name}))
            .into_iter()
            .next()
    }

    /// A service template (`_is_template: true`) on the host template `host_template_id`
    /// (the backend needs a `host`; a host created from that host template gets a service
    /// made from it by the backend), with `fields`.
    pub fn add_service_template(
        &self,
        name: &str,
        host_template_id: &str,
        fields: Value,
    ) -> String {
        let mut doc = json!({
            "name": name,
            "_is_template": true,
            "host": host_template_id,
            "check_command": self.id_of("command", "_echo"),
            "_realm": self.realm_all(),
        });
        if let (Some(doc), Some(fields)) = (doc.as_object_mut(), fields.as_object()) {
            doc.extend(fields.clone());
        }
        self.post("service", doc)
    }

    /// A hostgroup under the root group `All`, with the hosts `host_ids`.
    pub fn add_hostgroup(&self, name: &str, alias: &str, host_ids: &[&str]) -> String {
        let root = self.id_of("hostgroup", "All");
        self.post(
            "hostgroup",
            json!({"name": name, "alias": alias, "hosts": host_ids, "_parent": root,
                   "_realm": self.realm_all()}),
        )
    }

    /// The log check results of the host named `host_name` (the backend fills `host_name`
    /// from the host), its services' included.
    pub fn logcheckresults_for(&self, host_name: &str) -> Vec<Value> {
        self.items("logcheckresult", json!({"host_name": host_name}))
    }

    /// The history entries matching `filter` (e.g. `{"type": "webui.comment"}`).
    pub fn history(&self, filter: Value) -> Vec<Value> {
        self.items("history", filter)
    }

    /// A non-administrator user with a password.
    pub fn add_user(&self, name: &str, password: &str) -> String {
        let realm = self.realm_all();
        self.post(
            "user",
            json!({"name": name, "password": password, "_realm": realm, "is_admin": false}),
        )
    }

    /// The log check results of the host `host_id`.
    pub fn logcheckresults_of(&self, host_id: &str) -> Vec<Value> {
        self.items("logcheckresult", json!({"host": host_id}))
    }

    /// Stops the backend (its data is gone) and waits until its process is gone.
    pub fn stop(&mut self) {
        let Some(pid) = self.pid.take() else {
            return;
        };
        let stopped = Command::new(script())
            .arg("stop")
            .arg(self.port.to_string())
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !stopped {
            // SAFETY: a signal to the backend's process, which the script saw still running.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }

    /// Freezes the backend's process (SIGSTOP): connections are accepted by the kernel but
    /// never answered, as with a backend that hangs.
    pub fn freeze(&self) {
        if let Some(pid) = self.pid {
            // SAFETY: a signal to the backend's process.
            unsafe { libc::kill(pid, libc::SIGSTOP) };
        }
    }

    pub fn thaw(&self) {
        if let Some(pid) = self.pid {
            // SAFETY: a signal to the backend's process.
            unsafe { libc::kill(pid, libc::SIGCONT) };
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.thaw();
        self.stop();
    }
}
