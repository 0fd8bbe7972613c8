//! Side by side with the original: the Python alignak-module-ws 1.7.7 (started from the team's
//! peer scripts in `../shared/peers/`) and this module, on one real Alignak backend, get the
//! same requests (each on its own host names); their answers must be the same JSON, but for
//! the status codes (SPEC §3) and the differences the README lists, which the sequence below
//! does not exercise. Without `../shared` beside the repository the test prints `SKIPPED`
//! (and fails under `CI=true`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alignak_e2e::backend::Backend;
use alignak_e2e::{basic, try_http_request, Client, Reply, Request, RequestError};
use serde_json::{json, Value};

fn peers() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/peers");
    dir.join("run-python-ws.sh").exists().then_some(dir)
}

/// The original module, standalone (the module inside an Alignak receiver object and its
/// HTTP daemon), on the backend, with authorization.
struct Original {
    child: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Original {
    fn start(peers: &Path, backend: &Backend) -> Original {
        alignak_e2e::run_successfully(
            Command::new(peers.join("run-python-ws.sh")).arg("install"),
            "run-python-ws.sh install",
        );
        let venv = std::env::var_os("HOME")
            .map(PathBuf::from)
            .expect("HOME")
            .join(".cache/alignak-peers/venv-alignak");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = tempfile::tempdir().expect("temp dir");
        let child = Command::new(venv.join("bin/python"))
            .arg(peers.join("python-ws/ws_standalone.py"))
            .arg(port.to_string())
            .current_dir(dir.path())
            .env("WS_BACKEND", backend.url())
            .env("WS_USERNAME", "admin")
            .env("WS_PASSWORD", "admin")
            .env("WS_AUTHORIZATION", "1")
            .env("WS_GIVE_FEEDBACK", "1")
            .env("WS_GIVE_RESULT", "1")
            .env("WS_SET_TIMESTAMP", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the original module");
        let original = Original {
            child,
            address: format!("127.0.0.1:{port}"),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !original
            .send("GET", "/are_you_alive", None)
            .is_ok_and(|r| r.status == 200)
        {
            assert!(
                Instant::now() < deadline,
                "the original module did not answer"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        original
    }

    /// A request as `admin`, under the original's `/ws` prefix.
    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Reply, RequestError> {
        let auth = basic("admin", "admin");
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut headers = vec![("Authorization", auth.as_str())];
        if !body.is_empty() {
            headers.push(("Content-Type", "application/json"));
        }
        try_http_request(
            &self.address,
            &Request::new(method, &format!("/ws{path}"), &headers, body.as_bytes()),
        )
    }
}

impl Drop for Original {
    fn drop(&mut self) {
        // SAFETY: a signal to our child; it stops its module process on SIGTERM.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An answer with the side's host names replaced by `HOST`, and the fields that differ by
/// nature (ids, dates, etags, links) removed.
fn normalised(body: &str, host: &str) -> Value {
    let mut value: Value = serde_json::from_str(&body.replace(host, "HOST"))
        .unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    fn scrub(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for key in [
                    "_id",
                    "_created",
                    "_updated",
                    "_etag",
                    "_links",
                    "ls_last_check",
                ] {
                    map.remove(key);
                }
                map.values_mut().for_each(scrub);
            }
            Value::Array(items) => items.iter_mut().for_each(scrub),
            _ => {}
        }
    }
    scrub(&mut value);
    value
}

#[test]
fn the_same_requests_get_the_same_answers_as_the_original_on_one_backend() {
    let Some(peers) = peers() else {
        alignak_e2e::skip_or_fail_under_ci(
            "../shared/peers/run-python-ws.sh is missing",
            "../shared/peers is not there",
        );
        return;
    };
    let Some(backend) = Backend::start() else {
        return;
    };
    let original = Original::start(&peers, &backend);
    let ours = backend
        .setup()
        .module_param("give_result", "1")
        .module_param("give_feedback", "1")
        .module_param("set_timestamp", "0")
        .module_param("allow_host_creation", "1")
        .module_param("allow_service_creation", "1")
        .start();

    let requests: Vec<(&str, String, Option<Value>)> = vec![
        // Creation of a host and a service, with a livestate each.
        (
            "PATCH",
            "/host/{h}".into(),
            Some(
                json!({"livestate": {"state": "UP", "output": "o", "perf_data": "a=1"},
            "variables": {"a": "1", "list": [1, 2]},
            "services": [{"name": "s1", "livestate": {"state": "OK", "output": "ok"}}]}),
            ),
        ),
        // Known: commands, a timestamped livestate (log check result), variables, a service
        // toggle, a new service.
        (
            "PATCH",
            "/host/{h}".into(),
            Some(
                json!({"livestate": {"state": "DOWN", "output": "d", "long_output": "l", "timestamp": 1700000000},
            "variables": {"a": "2", "list": [2]},
            "services": [{"name": "s1", "active_checks_enabled": false, "livestate": {"state": "CRITICAL", "output": "c"}},
                         {"name": "s2", "livestate": {"state": "WARNING"}}]}),
            ),
        ),
        (
            "PATCH",
            "/host/{h}".into(),
            Some(
                json!({"services": [{"name": "s1", "active_checks_enabled": false},
                                                               {"name": "s1", "active_checks_enabled": true}]}),
            ),
        ),
        (
            "PATCH",
            "/host".into(),
            Some(json!({"name": "{h}", "livestate": {"state": "unreachable"}})),
        ),
        // Issues.
        (
            "PATCH",
            "/host/{h}".into(),
            Some(json!({"livestate": {"state": "BOGUS"}})),
        ),
        (
            "PATCH",
            "/host/{h}".into(),
            Some(
                json!({"livestate": [{"output": "no state"}, {"state": "up"}],
            "services": [{"livestate": {"state": "OK"}}, {"name": "s1", "livestate": {"state": "DOWN"}}]}),
            ),
        ),
        (
            "PATCH",
            "/host".into(),
            Some(json!({"livestate": {"state": "UP"}})),
        ),
        ("PATCH", "/host/{h}".into(), Some(json!({}))),
        // Reads.
        ("GET", "/host/{h}".into(), None),
        ("GET", "/host/{h}_nope".into(), None),
        ("GET", "/hostgroup/All".into(), None),
        ("GET", "/hostgroup/nope".into(), None),
        // Comments and the history.
        (
            "POST",
            "/event".into(),
            Some(json!({"host": "{h}", "author": "me", "comment": "hello {h}"})),
        ),
        ("POST", "/event".into(), Some(json!({"comment": "no host"}))),
        (
            "GET",
            "/alignak_logs?search=host_name:{h}%20type:webui.comment".into(),
            None,
        ),
        (
            "GET",
            "/alignak_logs?search=host_name:{h}%20type:check.result&count=5".into(),
            None,
        ),
    ];
    for (method, path, body) in &requests {
        let mut answers = Vec::new();
        for (side, host) in [("ours", "parity_rs"), ("original", "parity_py")] {
            let path = path.replace("{h}", host);
            let body = body.as_ref().map(|b| {
                serde_json::from_str::<Value>(&b.to_string().replace("{h}", host)).expect("JSON")
            });
            let reply = if side == "ours" {
                let text = body.as_ref().map(Value::to_string).unwrap_or_default();
                let headers: &[(&str, &str)] = if text.is_empty() {
                    &[]
                } else {
                    &[("Content-Type", "application/json")]
                };
                ours.request(method, &path, headers, text.as_bytes())
            } else {
                original
                    .send(method, &path, body.as_ref())
                    .expect("the original answers")
            };
            answers.push((reply.status, normalised(&reply.body, host)));
        }
        let (original_status, original_body) = answers[1].clone();
        let (ours_status, mut ours_body) = answers[0].clone();
        // SPEC §3: every ERR answer carries `_issues`, also where the original had only
        // `_error`.
        if original_body.get("_issues").is_none() && ours_body.get("_issues").is_some() {
            assert_eq!(
                ours_body["_issues"],
                json!([ours_body["_error"]]),
                "{method} {path}"
            );
            ours_body.as_object_mut().map(|o| o.remove("_issues"));
        }
        // Issue 11: the original listed the check result lines of a host it had just created
        // though it did not send them; here the answer says the livestate is kept instead.
        // Each such line must stand where the original listed that element's line.
        let mut original_body = original_body;
        if let (Some(ours_lines), Some(original_lines)) = (
            ours_body.get("_result").and_then(Value::as_array),
            original_body
                .get_mut("_result")
                .and_then(Value::as_array_mut),
        ) {
            for (i, line) in ours_lines.iter().enumerate() {
                let Some(element) = line.as_str().and_then(|l| {
                    l.strip_prefix("Livestate of ")?.strip_suffix(
                        " kept in the backend, not sent: Alignak does not know the host yet.",
                    )
                }) else {
                    continue;
                };
                let command = match element.split_once('/') {
                    Some((host, service)) => {
                        format!("PROCESS_SERVICE_CHECK_RESULT;{host};{service};")
                    }
                    None => format!("PROCESS_HOST_CHECK_RESULT;{element};"),
                };
                let theirs = original_lines.get(i).and_then(Value::as_str).unwrap_or("");
                assert!(
                    theirs.contains(&command),
                    "{method} {path}: {line} where the original had {theirs:?}"
                );
                original_lines[i] = line.clone();
            }
        }
        let (ours_status, ours_body, original_status, original_body) =
            (&ours_status, &ours_body, &original_status, &original_body);
        // The original answered 200 for application errors (SPEC §3: real codes here).
        assert_eq!(*original_status, 200, "{method} {path}: {original_body}");
        assert!(
            matches!(ours_status, 200 | 400 | 404 | 422),
            "{method} {path}: {ours_status}"
        );
        assert_eq!(ours_body, original_body, "{method} {path}");
    }
}
