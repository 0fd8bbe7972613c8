// Over 400 lines, earned: the one harness of the end-to-end suite (the daemon's set-up, start, requests, answers, spool and log) that every test file uses.
//! End-to-end test harness: builds the real `alignak-receiver` and the module libraries once,
//! writes an Alignak configuration into a temporary directory, starts the daemon on an
//! ephemeral port, and talks HTTP to it.
//!
//! The HTTP client is a few lines over `TcpStream` on purpose: the tests send exactly the
//! bytes they mean (no content type added, no body re-encoded), including malformed ones. Over
//! TLS, the same bytes go through a rustls client. Answers are read with `httparse`.

use std::fs;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::Value;
use tempfile::TempDir;

pub mod alignak;
pub mod backend;
pub mod credentials;
pub mod haproxy;
pub mod nagios;
pub mod openapi;
pub mod polling;
pub mod pytools;
pub mod session_clock;

pub use polling::wait_for;

/// Where the built artifacts are.
pub struct Build {
    /// `target/<profile>`: the daemon and the module libraries side by side.
    pub profile_dir: PathBuf,
}

impl Build {
    pub fn receiver(&self) -> PathBuf {
        self.profile_dir.join("alignak-receiver")
    }

    pub fn library(&self, name: &str) -> PathBuf {
        self.profile_dir.join(format!(
            "{}{name}{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ))
    }
}

/// Builds the daemon, the module and the test fixtures (once per test process), with the
/// profile the tests themselves were built with. `cargo test` does not build another
/// package's binary or cdylib for an integration test, so the harness asks for them.
pub fn build() -> &'static Build {
    static BUILD: OnceLock<Build> = OnceLock::new();
    BUILD.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        // target/<profile>/deps/<test> -> target/<profile>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test executable in target/<profile>/deps")
            .to_path_buf();
        let target_dir = profile_dir
            .parent()
            .expect("target directory")
            .to_path_buf();
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root")
            .to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut command = Command::new(cargo);
        command
            .current_dir(&workspace)
            .args(["build", "--quiet"])
            .args(["-p", "alignak-receiver", "-p", "alignak-module-ws"])
            .args(["-p", "panicking-module", "-p", "foreign-module"])
            .arg("--target-dir")
            .arg(&target_dir);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            command.arg("--release");
        }
        // `cargo test` gives this process the variables it sets for the tests crate. Build
        // scripts that watch them (ring's does) would see them change between the outer build
        // and this one, and rebuild each time: build as the outer `cargo` did.
        for (name, _) in std::env::vars_os() {
            let Some(name) = name.to_str() else { continue };
            if name.starts_with("CARGO_PKG_")
                || [
                    "CARGO_MANIFEST_DIR",
                    "CARGO_MANIFEST_PATH",
                    "CARGO_MANIFEST_LINKS",
                    "CARGO_CRATE_NAME",
                    "CARGO_BIN_NAME",
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_TARGET_TMPDIR",
                    "OUT_DIR",
                ]
                .contains(&name)
            {
                command.env_remove(name);
            }
        }
        let status = command.status().expect("run cargo build");
        assert!(
            status.success(),
            "cargo build of the daemon and modules failed"
        );
        Build { profile_dir }
    })
}

/// Asserts that `text` (a log, an output) holds `part`, the whole text in the failure.
pub fn assert_contains(text: &str, part: &str) {
    assert!(text.contains(part), "{part:?} is not in:\n{text}");
}

/// The string `field` of each item of the JSON list `items` (items without one left out).
pub fn field_of_each<'a>(items: &'a Value, field: &str) -> Vec<&'a str> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {items}"))
        .iter()
        .filter_map(|item| item[field].as_str())
        .collect()
}

/// A new temporary directory whose name starts with `prefix`, which says whose it is when
/// one is left behind.
pub fn temp_dir(prefix: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("temp dir")
}

/// Where the receiver delivers its commands.
#[derive(Debug, Clone)]
pub enum CommandSink {
    /// `command_file <dir>/commands.cmd` with `create_command_file 1`.
    RegularFile,
    /// `command_file <dir>/commands.fifo`, a FIFO made by the harness.
    Fifo,
    /// `command_file <path>`: a FIFO that exists already (a real core's).
    ExistingFile(PathBuf),
    /// No `command_file`: commands go to the log.
    LogOnly,
}

/// A configuration to start a receiver with.
pub struct Setup {
    pub module_params: Vec<(String, String)>,
    pub receiver_params: Vec<(String, String)>,
    pub sink: CommandSink,
    /// `python_name` of the module block.
    pub python_name: String,
    /// `modules_dir` of the receiver block (default: next to the executable).
    pub modules_dir: Option<PathBuf>,
    pub extra_files: Vec<(String, String)>,
    pub rust_log: String,
    /// An `Authorization` header every request carries unless it sends its own.
    pub authorization: Option<String>,
    /// Environment variables of the daemon.
    pub env: Vec<(String, String)>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            module_params: vec![
                ("host".into(), "127.0.0.1".into()),
                ("port".into(), "0".into()),
                ("authorization".into(), "0".into()),
            ],
            receiver_params: Vec::new(),
            sink: CommandSink::RegularFile,
            python_name: "alignak_module_ws".into(),
            modules_dir: None,
            extra_files: Vec::new(),
            rust_log: "info".into(),
            authorization: None,
            env: Vec::new(),
        }
    }
}

impl Setup {
    pub fn new() -> Setup {
        Setup::default()
    }

    /// Sets (or replaces) a parameter of the `define module` block.
    pub fn module_param(mut self, key: &str, value: &str) -> Setup {
        self.module_params.retain(|(k, _)| k != key);
        self.module_params.push((key.into(), value.into()));
        self
    }

    /// Sets a parameter of the `define receiver` block.
    pub fn receiver_param(mut self, key: &str, value: &str) -> Setup {
        self.receiver_params.push((key.into(), value.into()));
        self
    }

    pub fn sink(mut self, sink: CommandSink) -> Setup {
        self.sink = sink;
        self
    }

    pub fn python_name(mut self, name: &str) -> Setup {
        self.python_name = name.into();
        self
    }

    pub fn modules_dir(mut self, dir: &Path) -> Setup {
        self.modules_dir = Some(dir.to_path_buf());
        self
    }

    pub fn rust_log(mut self, filter: &str) -> Setup {
        self.rust_log = filter.into();
        self
    }

    /// A file to write into the daemon's directory (its working directory) before it starts;
    /// `name` is relative to it.
    /// HTTP Basic credentials that every request sends unless it has its own
    /// `Authorization` header.
    pub fn credentials(mut self, user: &str, password: &str) -> Setup {
        self.authorization = Some(basic(user, password));
        self
    }

    /// An environment variable of the daemon (e.g. `SSL_CERT_FILE`).
    pub fn env(mut self, key: &str, value: &str) -> Setup {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn file(mut self, name: &str, text: &str) -> Setup {
        self.extra_files.push((name.into(), text.into()));
        self
    }

    /// Writes the files added with `file` into `dir`, their folders made as needed.
    pub fn write_files(&self, dir: &Path) -> std::io::Result<()> {
        for (name, text) in &self.extra_files {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::write(path, text)?;
        }
        Ok(())
    }

    /// Writes the configuration into a new temporary directory and starts the daemon there,
    /// without waiting for it to listen.
    pub fn spawn(self) -> Receiver {
        let dir = temp_dir("alignak-e2e-");
        let command_file = match self.sink {
            CommandSink::RegularFile => Some(dir.path().join("commands.cmd")),
            CommandSink::Fifo => {
                let path = dir.path().join("commands.fifo");
                let c_path = std::ffi::CString::new(path.to_str().expect("utf-8 path"))
                    .expect("no NUL in path");
                // SAFETY: mkfifo with a valid C string.
                let rc = unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) };
                assert_eq!(rc, 0, "mkfifo failed");
                Some(path)
            }
            CommandSink::ExistingFile(ref path) => Some(path.clone()),
            CommandSink::LogOnly => None,
        };
        let mut receiver = String::from(
            "define receiver {\n    receiver_name receiver-test\n    address 127.0.0.1\n    modules web-services\n",
        );
        if let Some(path) = &command_file {
            receiver.push_str(&format!("    command_file {}\n", path.display()));
            if matches!(self.sink, CommandSink::RegularFile) {
                receiver.push_str("    create_command_file 1\n");
            }
        }
        if let Some(dir) = &self.modules_dir {
            receiver.push_str(&format!("    modules_dir {}\n", dir.display()));
        }
        for (k, v) in &self.receiver_params {
            receiver.push_str(&format!("    {k} {v}\n"));
        }
        receiver.push_str("}\n");
        let mut module = format!(
            "define module {{\n    module_alias web-services\n    python_name {}\n",
            self.python_name
        );
        for (k, v) in &self.module_params {
            module.push_str(&format!("    {k} {v}\n"));
        }
        module.push_str("}\n");
        fs::create_dir_all(dir.path().join("arbiter")).expect("mkdir");
        fs::write(dir.path().join("arbiter/receiver.cfg"), receiver).expect("write cfg");
        fs::write(dir.path().join("arbiter/mod-ws.cfg"), module).expect("write cfg");
        fs::write(dir.path().join("alignak.cfg"), "cfg_dir=arbiter\n").expect("write cfg");
        self.write_files(dir.path()).expect("write the extra files");
        let log_path = dir.path().join("receiver.log");
        let mut receiver = Receiver {
            child: None,
            dir,
            log_path,
            command_file,
            address: None,
            rust_log: self.rust_log,
            log_offset: 0,
            tls: false,
            tls_client: None,
            authorization: self.authorization,
            env: self.env,
        };
        receiver.launch();
        receiver
    }

    /// Starts the daemon and waits until its module listens.
    pub fn start(self) -> Receiver {
        let mut receiver = self.spawn();
        receiver.wait_listening();
        receiver
    }
}

/// A running (or exited) `alignak-receiver`.
pub struct Receiver {
    child: Option<Child>,
    pub dir: TempDir,
    pub log_path: PathBuf,
    pub command_file: Option<PathBuf>,
    address: Option<String>,
    rust_log: String,
    /// Where the current run's log starts in the log file (runs are appended).
    log_offset: usize,
    /// Whether the module said it listens on `https://`.
    tls: bool,
    /// The TLS client `request` uses, set by `with_tls_client`.
    tls_client: Option<Arc<rustls::ClientConfig>>,
    /// Sent with every request that has no `Authorization` header of its own.
    authorization: Option<String>,
    env: Vec<(String, String)>,
}

const LISTENING: &str = "listening on: ";

impl Receiver {
    /// Starts the daemon on the configuration in `dir`, appending to its log.
    fn launch(&mut self) {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("log file");
        self.log_offset = log.metadata().map(|m| m.len() as usize).unwrap_or(0);
        self.address = None;
        let child = Command::new(build().receiver())
            .arg("-c")
            .arg(self.dir.path().join("alignak.cfg"))
            .current_dir(self.dir.path())
            .env("RUST_LOG", &self.rust_log)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start alignak-receiver");
        self.child = Some(child);
    }

    /// Asserts that the daemon's log holds `text` (the whole log in the failure message).
    pub fn assert_log_contains(&self, text: &str) {
        let log = self.log();
        assert_contains(&log, text);
    }

    /// The log of every run so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The log of the current run.
    pub fn current_log(&self) -> String {
        let log = self.log();
        log.get(self.log_offset..).unwrap_or_default().to_string()
    }

    /// `kill -9`, and waits for the process to be gone.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the daemon again on the same configuration and directory (spool included),
    /// and waits until it listens.
    pub fn restart(&mut self) {
        assert!(
            self.child
                .as_mut()
                .is_none_or(|c| c.try_wait().ok().flatten().is_some()),
            "restart of a running daemon"
        );
        self.launch();
        self.wait_listening();
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let log = self.current_log();
            if let Some(start) = log.find(LISTENING) {
                let rest = &log[start + LISTENING.len()..];
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                let url = &rest[..end];
                let (tls, address) = match url.split_once("://") {
                    Some(("https", address)) => (true, address),
                    Some(("http", address)) => (false, address),
                    _ => panic!("not an http(s) URL after '{LISTENING}': {url}"),
                };
                self.tls = tls;
                self.address = Some(address.to_string());
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("alignak-receiver exited with {status} before listening:\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "alignak-receiver did not start listening:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `host:port` the module listens on.
    pub fn address(&self) -> &str {
        self.address.as_deref().expect("the receiver is listening")
    }

    /// Whether the module listens with TLS (`https://` in its log).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Makes `request` (and `get`, `post_json`) go through TLS with this client.
    pub fn with_tls_client(mut self, client: Arc<rustls::ClientConfig>) -> Receiver {
        self.tls_client = Some(client);
        self
    }

    /// Waits for the daemon to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let child = self.child.as_mut().expect("running child");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                panic!(
                    "alignak-receiver did not exit within {timeout:?}:\n{}",
                    fs::read_to_string(&self.log_path).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal to the daemon.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(rc, 0, "kill failed");
    }

    /// SIGTERM, then waits for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait_exit(Duration::from_secs(30))
    }

    /// The lines the command file received so far (regular file sink).
    pub fn commands(&self) -> Vec<String> {
        let path = self.command_file.as_ref().expect("a command file sink");
        fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    /// The command file's lines, without the `[<ts>] ` prefix the daemon adds.
    pub fn commands_without_timestamps(&self) -> Vec<String> {
        self.commands()
            .into_iter()
            .map(|line| match line.split_once("] ") {
                Some((_, rest)) if line.starts_with('[') => rest.to_string(),
                _ => line,
            })
            .collect()
    }

    /// Waits until the command file holds at least `count` lines, and returns them all.
    pub fn wait_commands(&self, count: usize) -> Vec<String> {
        wait_for(Duration::from_secs(20), Duration::from_millis(10), || {
            let lines = self.commands();
            if lines.len() >= count {
                return Ok(lines);
            }
            Err(format!(
                "the command file has {} line(s), expected {count}: {lines:?}\n{}",
                lines.len(),
                self.log()
            ))
        })
    }

    /// Waits until the command file holds a line for each of `endings`, and asserts that its
    /// first lines end with them, in order.
    pub fn wait_commands_ending_with(&self, endings: &[&str]) -> Vec<String> {
        let commands = self.wait_commands(endings.len());
        for (line, ending) in commands.iter().zip(endings) {
            assert!(line.ends_with(ending), "{commands:?}");
        }
        commands
    }
}

/// A raw HTTP/1.1 request, over TLS when the receiver serves it.
impl Client for Receiver {
    fn authorization(&self) -> Option<&str> {
        self.authorization.as_deref()
    }

    fn exchange(&self, source: Option<IpAddr>, request: &Request) -> Reply {
        let address = self.address();
        let stream = match source {
            None => TcpStream::connect(address).expect("connect to the module"),
            Some(source) => connect_from(source, address),
        };
        let reply = match &self.tls_client {
            None => try_exchange(stream, address, request).map_err(|e| request.failure(address, e)),
            Some(client) => tls_exchange(stream, address, Arc::clone(client), request)
                .map_err(|e| request.failure(address, e)),
        };
        reply.unwrap_or_else(|failure| panic!("{failure}"))
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// A request as a test means it: `headers` are sent as given; the client adds only Host,
/// Content-Length and, on the wire, `Connection: close`.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    pub fn new(
        method: &'a str,
        path: &'a str,
        headers: &'a [(&'a str, &'a str)],
        body: &'a [u8],
    ) -> Request<'a> {
        Request {
            method,
            path,
            headers,
            body,
        }
    }

    /// A GET with no header of its own.
    pub fn get(path: &'a str) -> Request<'a> {
        Request::new("GET", path, &[], b"")
    }

    /// The Content-Length sent: with a body, and with an empty one where the method takes one
    /// (as curl and the Python clients do).
    pub fn content_length(&self) -> Option<usize> {
        let takes_a_body = matches!(self.method, "POST" | "PATCH" | "PUT");
        (!self.body.is_empty() || takes_a_body).then_some(self.body.len())
    }

    /// The request on the wire to `address` (its Host).
    fn to_bytes(self, address: &str) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n",
            self.method, self.path
        );
        for (k, v) in self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(length) = self.content_length() {
            head.push_str(&format!("Content-Length: {length}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(self.body);
        bytes
    }

    /// What a failure to get the answer says.
    fn failure(&self, to: &str, why: impl std::fmt::Debug) -> String {
        format!("{} {} to {to}: {why:?}", self.method, self.path)
    }
}

/// What answers requests: the daemon over a socket (`Receiver`), or the module in-process
/// (`alignak_module_ws`'s `TestApp`), so that one helper serves both suites. Every answer of
/// `request` and `request_from` is checked against `openapi.json`.
pub trait Client {
    /// The `Authorization` header `request` sends unless the request has its own.
    fn authorization(&self) -> Option<&str>;

    /// Sends `request` as given, from `source` (the client's own address when `None`), and
    /// reads its answer (unchecked: `request` and `request_from` check it).
    fn exchange(&self, source: Option<IpAddr>, request: &Request) -> Reply;

    /// A request from the client's own address, with its credentials if it has some.
    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let mut with_credentials = headers.to_vec();
        let has_own = headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("authorization"));
        if let (Some(value), false) = (self.authorization(), has_own) {
            with_credentials.push(("Authorization", value));
        }
        let request = Request::new(method, path, &with_credentials, body);
        checked_against_openapi(&request, self.exchange(None, &request))
    }

    /// A request from another client's address (the module counts failed authentications
    /// per address, e.g. from 127.0.0.2), sent as given.
    fn request_from(&self, source: IpAddr, request: &Request) -> Reply {
        checked_against_openapi(request, self.exchange(Some(source), request))
    }

    fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[], b"")
    }

    /// A GET with HTTP Basic credentials (a user and password, or a token and "").
    fn get_with_basic(&self, path: &str, user: &str, password: &str) -> Reply {
        let authorization = basic(user, password);
        self.request("GET", path, &[("Authorization", &authorization)], b"")
    }

    /// `body` as JSON, with `method`.
    fn send_json(&self, method: &str, path: &str, body: &str) -> Reply {
        let json = [("Content-Type", "application/json")];
        self.request(method, path, &json, body.as_bytes())
    }

    fn post_json(&self, path: &str, body: &str) -> Reply {
        self.send_json("POST", path, body)
    }
}

fn checked_against_openapi(request: &Request, reply: Reply) -> Reply {
    openapi::check(request.method, request.path, &reply);
    reply
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value `Set-Cookie` gives the cookie `name`, if it does.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().into_iter().find_map(|c| {
            let (pair, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=')?;
            (k.trim() == name).then(|| v.trim().to_string())
        })
    }

    /// Asserts a 405 that allows `allow` and says `message`, as the original's envelope.
    pub fn assert_method_not_allowed(&self, allow: &str, message: &str) {
        assert_eq!(self.status, 405, "{}", self.body);
        assert_eq!(self.header("allow"), Some(allow));
        let envelope =
            serde_json::json!({"_status": "ERR", "_error": message, "_issues": [message]});
        assert_eq!(self.json(), envelope);
    }

    /// Asserts an `ERR` answer whose first issue starts with `text` (the answer in the message).
    pub fn assert_err_issue_starts_with(&self, text: &str) {
        let (issue, json) = self.first_issue_of_err();
        assert!(issue.starts_with(text), "{json}");
    }

    /// Asserts an `ERR` answer whose first issue holds `text` (the answer in the message).
    pub fn assert_err_issue_contains(&self, text: &str) {
        let (issue, json) = self.first_issue_of_err();
        assert!(issue.contains(text), "{json}");
    }

    /// Asserts an `ERR` answer with an issue: the first one, and the whole answer.
    fn first_issue_of_err(&self) -> (String, Value) {
        let json = self.json();
        assert_eq!(json["_status"], "ERR");
        let issue = json["_issues"][0]
            .as_str()
            .unwrap_or_else(|| panic!("no issue: {json}"))
            .to_string();
        (issue, json)
    }

    /// The body as JSON; panics (failing the test) when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("answer is not JSON ({e}): {} {}", self.status, self.body))
    }
}

/// The value of an `Authorization` header for HTTP Basic.
/// Runs `command` to its end and asserts that it succeeds; a failure says `what`, the exit
/// status, and what the command printed on its standard output and error.
pub fn run_successfully(command: &mut std::process::Command, what: &str) -> std::process::Output {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{what}: {error}"));
    assert!(
        output.status.success(),
        "{what} ({}):\n{}",
        output.status,
        stdout_and_stderr(&output)
    );
    output
}

/// Runs `alignak-receiver` with `args` in `dir` to its end (a `--check`, or a start that
/// fails).
pub fn run_receiver_to_end(args: &[&str], dir: &Path) -> std::process::Output {
    std::process::Command::new(build().receiver())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run alignak-receiver")
}

/// What a finished command printed: its standard output, then its standard error.
pub fn stdout_and_stderr(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A tool or peer a test needs is not there: under `CI` (where `.ci/run` installs them all)
/// the test fails with `ci_failure`; elsewhere it prints `SKIPPED: <notice>` and the caller
/// returns early.
pub fn skip_or_fail_under_ci(ci_failure: &str, notice: &str) {
    assert!(std::env::var_os("CI").is_none(), "{ci_failure}");
    eprintln!("SKIPPED: {notice}");
}

pub fn basic(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

pub fn http_request(address: &str, request: &Request) -> Reply {
    try_http_request(address, request).unwrap_or_else(|e| panic!("{}", request.failure(address, e)))
}

/// Why a request got no answer.
#[derive(Debug, PartialEq, Eq)]
pub enum RequestError {
    /// Nothing was sent: the server was not there.
    Connect(String),
    /// Sent, but no complete answer came back: the server may or may not have processed it.
    NoAnswer(String),
}

pub fn try_http_request(address: &str, request: &Request) -> Result<Reply, RequestError> {
    let stream = TcpStream::connect(address).map_err(|e| RequestError::Connect(e.to_string()))?;
    try_exchange(stream, address, request)
}

fn connect_from(source: IpAddr, address: &str) -> TcpStream {
    let target: SocketAddr = address.parse().expect("an ip:port address");
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(target),
        socket2::Type::STREAM,
        None,
    )
    .expect("socket");
    socket
        .bind(&SocketAddr::new(source, 0).into())
        .unwrap_or_else(|e| panic!("bind to {source}: {e}"));
    socket
        .connect(&target.into())
        .expect("connect to the module");
    socket.into()
}

fn try_exchange(
    mut stream: TcpStream,
    address: &str,
    request: &Request,
) -> Result<Reply, RequestError> {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| RequestError::NoAnswer(e.to_string()))?;
    // The server may answer (413) and close before reading everything: that is fine.
    let _ = stream.write_all(&request.to_bytes(address));
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_reply(&raw, request.method == "HEAD")
}

/// A TLS client trusting `ca` (DER), presenting `identity` (certificate chain and key, DER)
/// when given.
pub fn tls_client(
    ca: &[u8],
    identity: Option<(Vec<Vec<u8>>, Vec<u8>)>,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca.to_vec()))
        .expect("a CA certificate");
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots);
    let config = match identity {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => builder
            .with_client_auth_cert(
                chain.into_iter().map(CertificateDer::from).collect(),
                PrivateKeyDer::try_from(key).expect("a private key"),
            )
            .expect("a client identity"),
    };
    Arc::new(config)
}

/// An HTTP/1.1 request over TLS. `Err` when the handshake fails or no HTTP answer comes back
/// (the server refused the client, for instance).
pub fn https_request(
    address: &str,
    client: Arc<rustls::ClientConfig>,
    request: &Request,
) -> std::io::Result<Reply> {
    tls_exchange(TcpStream::connect(address)?, address, client, request)
}

fn tls_exchange(
    tcp: TcpStream,
    address: &str,
    client: Arc<rustls::ClientConfig>,
    request: &Request,
) -> std::io::Result<Reply> {
    let target: SocketAddr = address
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    let connection = rustls::ClientConnection::new(client, ServerName::from(target.ip()))
        .map_err(std::io::Error::other)?;
    let mut stream = rustls::StreamOwned::new(connection, tcp);
    stream.write_all(&request.to_bytes(address))?;
    stream.flush()?;
    let mut raw = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buffer[..n]),
            // A peer that closes without close_notify after its answer: the answer counts.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => break,
            Err(e) => return Err(e),
        }
    }
    if !raw.starts_with(b"HTTP/") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("no HTTP answer: {:?}", String::from_utf8_lossy(&raw)),
        ));
    }
    parse_reply(&raw, request.method == "HEAD")
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{e:?}")))
}

/// The most headers an answer of the module has, with room to spare.
const MAX_HEADERS: usize = 64;

fn parse_reply(raw: &[u8], head_request: bool) -> Result<Reply, RequestError> {
    let no_answer =
        |why: String| RequestError::NoAnswer(format!("{why}: {:?}", String::from_utf8_lossy(raw)));
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(raw) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Err(no_answer("no HTTP answer".into())),
        Err(e) => return Err(no_answer(format!("bad HTTP answer ({e})"))),
    };
    let status = response
        .code
        .ok_or_else(|| no_answer("no status code".into()))?;
    let headers: Vec<(String, String)> = response
        .headers
        .iter()
        .map(|h| {
            let value = String::from_utf8_lossy(h.value).trim().to_string();
            (h.name.to_string(), value)
        })
        .collect();
    let body = &raw[head_len..];
    // A connection cut in the middle of the body is no answer either.
    let complete = head_request
        || headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .is_none_or(|len| body.len() >= len);
    if !complete {
        return Err(RequestError::NoAnswer("answer cut short".into()));
    }
    Ok(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(body).into_owned(),
    })
}
