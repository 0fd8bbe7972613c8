//! The API in-process, for tests (as zero-to-production's `spawn_app`): the real router,
//! handlers, store, authentication and command queue, opened by the start-up wiring from a
//! configuration in a directory of the test's own, on a runtime of the test's own, with a
//! host that records what it is pushed instead of a daemon's spool. A request costs no
//! socket and no process; what needs them (the ABI, signals, `kill -9`, the real cores, the
//! wire) stays in the process-level suite (`tests/`).
//!
//! Its surface is the process-level `Receiver`'s (`request`, `get`, `post_json`, `commands`,
//! `wait_commands`, answers as `alignak_e2e::Reply`, each JSON answer checked against
//! `openapi.json` by the same check), so a test reads the same in both suites.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use abi_stable::sabi_trait::TD_Opaque;
use alignak_e2e::Request;
pub use alignak_e2e::{basic, Client, Reply, Setup};
use alignak_module_abi::Host_TO;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use serde_json::Value;

use crate::alignak_map::ArbiterPoller;
use crate::app::App;
use crate::config::testing::params;
use crate::config::WsConfig;
use crate::queue::CommandQueue;
use crate::recording_host::RecordingHost;
use crate::startup::WsModule;

/// The user of `TestApp::spawn`'s users file, and its password.
pub const USER: (&str, &str) = ("tester", "a tester's password");

/// The users file of `users_file`'s default, relative to the application's directory.
const DEFAULT_USERS_FILE: &str = "var/lib/alignak/users.htpasswd";

/// Starts the in-process application of a process-level `Setup`.
pub trait InProcess {
    /// The application, or why the start-up wiring refused the configuration.
    fn try_in_process(self) -> Result<TestApp, String>;

    fn in_process(self) -> TestApp
    where
        Self: Sized,
    {
        self.try_in_process()
            .unwrap_or_else(|why| panic!("the application did not start: {why}"))
    }
}

/// Of the `Setup`, the module's parameters, its files and its credentials; the daemon's side
/// (receiver parameters, sink, environment) has no meaning here.
impl InProcess for Setup {
    fn try_in_process(self) -> Result<TestApp, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        self.write_files(dir.path()).map_err(|e| e.to_string())?;
        // No arbiter to poll unless the test names one (a key's last value wins).
        let pairs: Vec<(&str, &str)> = std::iter::once(("alignak_host", ""))
            .chain(
                self.module_params
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .collect();
        let params = params(&pairs);
        let (config, _) = WsConfig::from_params("web-services", &params).map_err(|problems| {
            let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
            lines.join("\n")
        })?;
        let recorder = RecordingHost::default();
        let host = Arc::new(Host_TO::from_value(recorder.clone(), TD_Opaque));
        let module = WsModule {
            config: config.clone(),
            params,
            working_dir: dir.path().to_path_buf(),
            host: Arc::clone(&host),
            running: None,
        };
        let (store, backend) = module.open_store().map_err(|e| e.to_string())?;
        let auth = match config.authorization {
            true => Some(module.start_auth(backend)?),
            false => None,
        };
        // The pusher thread ends on its own once the app, and its queue handle, are gone.
        let (commands, _pusher) =
            CommandQueue::start(Arc::clone(&host)).map_err(|e| e.to_string())?;
        let arbiter = ArbiterPoller::start(&config).map_err(|e| e.to_string())?;
        let app = Arc::new(App::new(config, commands, auth, store, host, arbiter));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(TestApp {
            app,
            recorder,
            runtime,
            authorization: self.authorization,
            dir,
        })
    }
}

/// The application of a test: what it answers, and what its host was pushed.
pub struct TestApp {
    app: Arc<App>,
    recorder: RecordingHost,
    runtime: tokio::runtime::Runtime,
    /// The `Authorization` of `Setup::credentials`, sent unless a request has its own.
    authorization: Option<String>,
    dir: tempfile::TempDir,
}

/// The peer of every request unless the test names another.
const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

impl TestApp {
    /// The module with the configuration of `pairs` (`authorization 0` unless they say
    /// otherwise) and a users file holding `USER`.
    pub fn spawn(pairs: &[(&str, &str)]) -> TestApp {
        let hash = bcrypt::hash(USER.1, 4).expect("a bcrypt hash");
        let users = format!("{}:{hash}\n", USER.0);
        pairs
            .iter()
            .fold(Setup::new(), |setup, (k, v)| setup.module_param(k, v))
            .file(DEFAULT_USERS_FILE, &users)
            .in_process()
    }

    /// The application's directory (its working directory).
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// `method path` with `body` (JSON when given) and `headers`: the status and the answer
    /// as JSON (`Null` when it is not JSON).
    pub fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut headers = headers.to_vec();
        let bytes = match &body {
            Some(body) => {
                headers.push(("content-type", "application/json"));
                body.to_string().into_bytes()
            }
            None => Vec::new(),
        };
        let reply = self.request(method.as_str(), path, &headers, &bytes);
        let status = StatusCode::from_u16(reply.status).expect("a status code");
        (
            status,
            serde_json::from_str(&reply.body).unwrap_or(Value::Null),
        )
    }

    /// Every command line pushed so far, in order.
    pub fn commands(&self) -> Vec<String> {
        self.recorder.lines()
    }

    /// Every line pushed, at least `count` of them: a handler answers once its push is made
    /// (and no client here goes away before its answer), so there is nothing to wait for.
    pub fn wait_commands(&self, count: usize) -> Vec<String> {
        let lines = self.commands();
        let pushed = lines.len();
        assert!(
            pushed >= count,
            "{pushed} line(s) pushed, expected {count}: {lines:?}"
        );
        lines
    }
}

/// Requests as the process-level client sends them (`headers` as given, plus Host and
/// Content-Length).
impl Client for TestApp {
    fn authorization(&self) -> Option<&str> {
        self.authorization.as_deref()
    }

    fn exchange(&self, source: Option<IpAddr>, request: &Request) -> Reply {
        let mut builder = hyper::Request::builder()
            .method(request.method)
            .uri(request.path)
            .header("host", "127.0.0.1");
        for (name, value) in request.headers {
            builder = builder.header(*name, *value);
        }
        if let Some(length) = request.content_length() {
            builder = builder.header("content-length", length);
        }
        let hyper_request = builder
            .body(
                Full::new(Bytes::copy_from_slice(request.body))
                    .map_err(|never| match never {})
                    .boxed(),
            )
            .expect("a request");
        let peer = SocketAddr::new(source.unwrap_or(PEER), 40000);
        let app = Arc::clone(&self.app);
        self.runtime.block_on(async move {
            let response = crate::router::handle(app, hyper_request, peer).await;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(k, v)| {
                    let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                    (k.as_str().to_string(), value)
                })
                .collect();
            let bytes = response
                .into_body()
                .collect()
                .await
                .expect("the answer's body")
                .to_bytes();
            Reply {
                status,
                headers,
                body: String::from_utf8_lossy(&bytes).into_owned(),
            }
        })
    }
}
