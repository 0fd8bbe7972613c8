//! The API in-process, for tests (as zero-to-production's `spawn_app`): the real router,
//! handlers, embedded store, authentication and command queue, on a runtime of the test's
//! own, with a host that records what it is pushed instead of a daemon's spool. A request
//! costs no socket and no process; what needs them (the ABI, signals, `kill -9`, the real
//! cores) stays in the process-level suite (`tests/`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RResult, RVec};
use alignak_module_abi::logging::{LogLevel, LogRecord};
use alignak_module_abi::{DaemonStatus, ExternalCommand, Host, Host_TO, PushError};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use serde_json::Value;

use crate::alignak_map::ArbiterPoller;
use crate::app::App;
use crate::auth::Auth;
use crate::config::testing::config;
use crate::queue::{self, CommandQueue};
use crate::store::embedded::EmbeddedStore;
use crate::store::retention::Retention;
use crate::store::tokens::TokenStore;
use crate::store::{AnswerScope, Store};

/// A host that keeps the command lines it is pushed.
#[derive(Clone, Default)]
struct Recorder {
    lines: Arc<Mutex<Vec<String>>>,
}

impl Host for Recorder {
    fn push_commands(&self, batch: RVec<ExternalCommand>) -> RResult<(), PushError> {
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        lines.extend(batch.iter().map(|c| c.cmd_line.to_string()));
        RResult::ROk(())
    }
    fn log(&self, _record: LogRecord) {}
    fn max_log_level(&self) -> LogLevel {
        LogLevel::Off
    }
    fn status(&self) -> DaemonStatus {
        DaemonStatus::default()
    }
}

/// The application of a test: what it answers, and what its host was pushed.
pub struct TestApp {
    app: Arc<App>,
    recorder: Recorder,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

/// A user of the test's users file, and its password.
pub const USER: (&str, &str) = ("tester", "a tester's password");

impl TestApp {
    /// The module with the configuration of `pairs` (`mod-ws.cfg`'s keys; `authorization 0`
    /// unless they say otherwise), an embedded store and, with `authorization 1`, a users
    /// file holding `USER`.
    pub fn spawn(pairs: &[(&str, &str)]) -> TestApp {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut pairs = pairs.to_vec();
        // No arbiter to poll, and open unless the test asks for `authorization 1` (a key's
        // last value wins).
        pairs.insert(0, ("alignak_host", ""));
        pairs.insert(0, ("authorization", "0"));
        let config = config(&pairs);
        let recorder = Recorder::default();
        let host = Arc::new(Host_TO::from_value(recorder.clone(), TD_Opaque));
        // The pusher thread ends on its own once the app, and its queue handle, are gone.
        let (commands, _pusher) = CommandQueue::start(Arc::clone(&host)).expect("a queue");
        let scope: AnswerScope = Arc::new(|| Box::new(queue::hold_pushes()));
        let store_path = dir.path().join("ws.sqlite");
        let (store, error) =
            EmbeddedStore::open_with(&store_path, Retention::default(), Some(scope));
        assert!(error.is_none(), "{error:?}");
        let store: Arc<dyn Store> = Arc::new(store);
        let auth = config.authorization.then(|| {
            let users = dir.path().join("users.htpasswd");
            let hash = bcrypt::hash(USER.1, 4).expect("a bcrypt hash");
            std::fs::write(&users, format!("{}:{hash}\n", USER.0)).expect("the users file");
            let tokens = TokenStore::open(&store_path).expect("the tokens' table");
            let (auth, created) = Auth::local(
                &users,
                Arc::new(tokens),
                std::time::Duration::from_secs(3600),
                std::time::Duration::from_secs(3600),
                false,
            )
            .expect("the authentication");
            assert!(created.is_none());
            auth
        });
        let arbiter = ArbiterPoller::start(&config).expect("no arbiter poller");
        let app = Arc::new(App::new(config, commands, auth, store, host, arbiter));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        TestApp {
            app,
            recorder,
            runtime,
            _dir: dir,
        }
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
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let bytes = match &body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Bytes::from(body.to_string())
            }
            None => Bytes::new(),
        };
        let request = request
            .body(Full::new(bytes).map_err(|never| match never {}).boxed())
            .expect("a request");
        let peer: SocketAddr = "127.0.0.1:40000".parse().expect("an address");
        let app = Arc::clone(&self.app);
        self.runtime.block_on(async move {
            let response = crate::router::handle(app, request, peer).await;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .expect("the answer's body")
                .to_bytes();
            (
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )
        })
    }

    /// Every command line pushed so far, in order.
    pub fn pushed(&self) -> Vec<String> {
        self.recorder
            .lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The header of HTTP Basic `user:password`.
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}
