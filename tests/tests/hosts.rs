// Over 400 lines, earned: /host end to end on both stores from one set of bodies (the embedded store and the real Alignak backend), with restarts.
//! `PATCH|POST /host` end to end: the real daemon, the real module, and each case twice: on
//! the embedded store (a real SQLite file in the test's directory) and on a real Alignak
//! backend (1.4.16 on mongomock, `tests/backend/`, one per case, called as its `admin`).
//! Expected answers are the original module's (../shared/peers/python-ws/responses-*.txt,
//! upstream-spec §5) with SPEC §3's fixes; every case checks both the answer and the lines
//! that reached the command file.
//!
//! The backend runs with its defaults (`alignak_backend_livestate_update 0`: a livestate is
//! a command, and a log check result when it has a timestamp). Where the backend's own
//! behaviour differs, the case says so (`store.is_backend()`). What a case stored is read back
//! from the backend itself, or through `GET /host` for the embedded store (`stored`,
//! `host_exists`):
//! - `__delete__` does not delete a custom variable in the backend: Eve merges the `customs`
//!   dictionary of a PATCH into the stored one (the original's tests assert the same);
//! - `GET /host` answers the backend's document: `_realm` (and the other links) embedded as
//!   documents, every backend field, and no `services` list.

use alignak_e2e::backend::Backend;
use alignak_e2e::{field_of_each, Client, Receiver, Reply, Setup};
use serde_json::{json, Value};

/// Where the module keeps hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Store {
    Embedded,
    Backend,
}

impl Store {
    fn is_backend(self) -> bool {
        self == Store::Backend
    }

    /// Starts the receiver with `setup` on this store: for the backend, a new one, which
    /// lives as long as the returned value. `None` when the backend cannot run here (not
    /// under CI).
    fn start(self, setup: Setup) -> Option<(Receiver, Option<Backend>)> {
        match self {
            Store::Embedded => Some((setup.start(), None)),
            Store::Backend => {
                let backend = Backend::start()?;
                let receiver = setup
                    .module_param("alignak_backend", &backend.url())
                    .module_param("authorization", "1")
                    .module_param("alignak_backend_polling_period", "0")
                    .credentials("admin", "admin")
                    .start();
                Some((receiver, Some(backend)))
            }
        }
    }
}

/// Each case as two tests: `embedded::<case>` and `backend::<case>`.
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $( #[test] fn $case() { super::$case(super::Store::Embedded) } )*
        }
        mod backend {
            $( #[test] fn $case() { super::$case(super::Store::Backend) } )*
        }
    };
}

on_both_stores!(
    the_originals_captured_answers_and_their_commands,
    every_state_name_lists_of_livestates_and_bad_states,
    timestamps_are_integers_and_malformed_requests_change_nothing,
    check_toggles_send_commands_only_when_they_change,
    variables_are_set_kept_updated_and_deleted,
    unknown_hosts_and_services_with_and_without_creation,
    give_result_and_give_feedback_decide_what_the_answer_holds,
    get_shows_the_stored_state_and_customs_and_a_restart_keeps_them,
);

const SENTINEL: &str = "DISABLE_NOTIFICATIONS";

fn send(receiver: &Receiver, method: &str, path: &str, body: &Value) -> Reply {
    receiver.send_json(method, path, &body.to_string())
}

fn patch(receiver: &Receiver, path: &str, body: Value) -> Reply {
    send(receiver, "PATCH", path, &body)
}

/// Asserts the status and the whole JSON answer.
fn expect(reply: Reply, status: u16, body: Value) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json(), body);
}

/// PATCHes `/host/test_host` with `body` and asserts a 200 whose whole answer is
/// `{"_status": "OK", "_result": result}`.
fn patch_test_host_ok(receiver: &Receiver, body: Value, result: Value) {
    expect(
        patch(receiver, "/host/test_host", body),
        200,
        json!({"_status": "OK", "_result": result}),
    );
}

/// Tracks the command file: `next` checks that exactly `expected` arrived since the last
/// check, by sending a sentinel `/command` and finding it right after them.
struct Commands<'a> {
    receiver: &'a Receiver,
    seen: usize,
}

impl<'a> Commands<'a> {
    fn new(receiver: &'a Receiver) -> Self {
        Commands { receiver, seen: 0 }
    }

    /// `expected` lines starting with `[` are compared whole; others without the `[<ts>] `
    /// the daemon adds.
    fn next(&mut self, expected: &[&str]) {
        let reply = self
            .receiver
            .post_json("/command", &json!({"command": SENTINEL}).to_string());
        assert_eq!(reply.status, 200, "{}", reply.body);
        let lines = self.receiver.wait_commands(self.seen + expected.len() + 1);
        let got: Vec<String> = lines[self.seen..]
            .iter()
            .zip(expected.iter().chain(std::iter::once(&SENTINEL)))
            .map(|(line, want)| {
                if want.starts_with('[') {
                    line.clone()
                } else {
                    let (_, rest) = line.split_once("] ").expect("a [ts] prefix");
                    rest.to_string()
                }
            })
            .collect();
        let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        want.push(SENTINEL.into());
        assert_eq!(got, want, "all lines: {lines:?}");
        assert_eq!(lines.len(), self.seen + expected.len() + 1, "{lines:?}");
        self.seen = lines.len();
    }
}

/// The configuration of the original's captures: results shown, no feedback, no `[now]`.
fn like_the_captures() -> Setup {
    Setup::new()
        .module_param("give_result", "1")
        .module_param("give_feedback", "0")
        .module_param("set_timestamp", "0")
        .module_param("allow_host_creation", "1")
        .module_param("allow_service_creation", "1")
}

/// Creates `test_host` and its services `svc1`, `svc2`, `svc` (no command: the request has
/// no livestate and no check toggle).
fn create_test_host(receiver: &Receiver) {
    patch_test_host_ok(
        receiver,
        json!({"services": [{"name": "svc1"}, {"name": "svc2"}, {"name": "svc"}]}),
        json!([
            "test_host is alive :)",
            "Requested host 'test_host' does not exist.",
            "Requested host 'test_host' created.",
            "Requested service 'test_host/svc1' does not exist.",
            "Requested service 'test_host/svc1' created.",
            "Requested service 'test_host/svc2' does not exist.",
            "Requested service 'test_host/svc2' created.",
            "Requested service 'test_host/svc' does not exist.",
            "Requested service 'test_host/svc' created.",
        ]),
    );
}

fn the_originals_captured_answers_and_their_commands(store: Store) {
    let Some((receiver, _backend)) = store.start(like_the_captures()) else {
        return;
    };
    let mut commands = Commands::new(&receiver);
    create_test_host(&receiver);
    commands.next(&[]);

    patch_test_host_ok(
        &receiver,
        json!({"livestate": {"state": "UP", "output": "Output...", "long_output": "Long output...", "perf_data": "'counter'=1"},
                   "services": [{"name": "svc1", "livestate": {"state": "OK", "output": "ok", "perf_data": "'a'=1"}},
                                {"name": "svc2", "livestate": {"state": "CRITICAL", "output": "bad", "long_output": "details"}}]}),
        json!([
            "test_host is alive :)",
            "PROCESS_HOST_CHECK_RESULT;test_host;0;Output...|'counter'=1\nLong output...",
            "PROCESS_SERVICE_CHECK_RESULT;test_host;svc1;0;ok|'a'=1",
            "PROCESS_SERVICE_CHECK_RESULT;test_host;svc2;2;bad\ndetails",
        ]),
    );
    commands.next(&[
        "PROCESS_HOST_CHECK_RESULT;test_host;0;Output...|'counter'=1\\nLong output...",
        "PROCESS_SERVICE_CHECK_RESULT;test_host;svc1;0;ok|'a'=1",
        "PROCESS_SERVICE_CHECK_RESULT;test_host;svc2;2;bad\\ndetails",
    ]);

    // The name in the body, a lower-case state, the /ws prefix.
    for path in ["/host", "/ws/host/other_name"] {
        expect(
            patch(
                &receiver,
                path,
                json!({"name": "test_host", "livestate": {"state": "down", "output": "lower case state"}}),
            ),
            200,
            json!({"_status": "OK", "_result": ["test_host is alive :)", "PROCESS_HOST_CHECK_RESULT;test_host;1;lower case state"]}),
        );
    }
    commands.next(&[
        "PROCESS_HOST_CHECK_RESULT;test_host;1;lower case state",
        "PROCESS_HOST_CHECK_RESULT;test_host;1;lower case state",
    ]);

    // The original answered 500 here (no backend host _id); its own timestamp is kept.
    patch_test_host_ok(
        &receiver,
        json!({"livestate": {"state": "UP", "output": "with ts", "timestamp": 1700000000}}),
        json!([
            "test_host is alive :)",
            "[1700000000] PROCESS_HOST_CHECK_RESULT;test_host;0;with ts"
        ]),
    );
    // POST is PATCH.
    expect(
        send(
            &receiver,
            "POST",
            "/host/test_host",
            &json!({"services": [{"name": "svc", "livestate": {"state": "WARNING", "output": "w"}}]}),
        ),
        200,
        json!({"_status": "OK", "_result": ["test_host is alive :)", "PROCESS_SERVICE_CHECK_RESULT;test_host;svc;1;w"]}),
    );
    commands.next(&[
        "[1700000000] PROCESS_HOST_CHECK_RESULT;test_host;0;with ts",
        "PROCESS_SERVICE_CHECK_RESULT;test_host;svc;1;w",
    ]);

    expect(
        patch(
            &receiver,
            "/host/test_host",
            json!({"livestate": {"state": "BOGUS"}}),
        ),
        422,
        json!({"_status": "ERR", "_result": ["test_host is alive :)"],
               "_issues": ["Host state must be UP, DOWN or UNREACHABLE, and not 'BOGUS'."]}),
    );
    expect(
        patch(&receiver, "/host", json!({"livestate": {"state": "UP"}})),
        400,
        json!({"_status": "ERR", "_result": "", "_issues": ["Missing targeted element."]}),
    );
    let message = "You must send parameters on this endpoint.";
    expect(
        patch(&receiver, "/host/test_host", json!({})),
        400,
        json!({"_status": "ERR", "_error": message, "_issues": [message]}),
    );
    send(&receiver, "DELETE", "/host/test_host", &json!({"x": 1})).assert_method_not_allowed(
        "GET, HEAD, PATCH, POST",
        "You must only GET, PATCH or POST on this endpoint.",
    );
    commands.next(&[]);
}

fn every_state_name_lists_of_livestates_and_bad_states(store: Store) {
    let Some((receiver, _backend)) = store.start(like_the_captures()) else {
        return;
    };
    let mut commands = Commands::new(&receiver);
    create_test_host(&receiver);

    patch_test_host_ok(
        &receiver,
        json!({"livestate": [{"state": "up"}, {"state": "Down", "output": "d"}, {"state": "UNREACHABLE", "output": "u"}],
                   "services": {"first": {"name": "svc1", "livestate": [
                        {"state": "ok", "output": "o"}, {"state": "warning"}, {"state": "CRITICAL"},
                        {"state": "Unknown"}, {"state": "unreachable"}]}}}),
        json!([
            "test_host is alive :)",
            "PROCESS_HOST_CHECK_RESULT;test_host;0;",
            "PROCESS_HOST_CHECK_RESULT;test_host;1;d",
            "PROCESS_HOST_CHECK_RESULT;test_host;2;u",
            "PROCESS_SERVICE_CHECK_RESULT;test_host;svc1;0;o",
            "PROCESS_SERVICE_CHECK_RESULT;test_host;svc1;1;",
            "PROCESS_SERVICE_CHECK_RESULT;test_host;svc1;2;",
            "PROCESS_SERVICE_CHECK_RESULT;test_host;svc1;3;",
            "PROCESS_SERVICE_CHECK_RESULT;test_host;svc1;4;",
        ]),
    );
    commands.next(&[
        "PROCESS_HOST_CHECK_RESULT;test_host;0;",
        "PROCESS_HOST_CHECK_RESULT;test_host;1;d",
        "PROCESS_HOST_CHECK_RESULT;test_host;2;u",
        "PROCESS_SERVICE_CHECK_RESULT;test_host;svc1;0;o",
        "PROCESS_SERVICE_CHECK_RESULT;test_host;svc1;1;",
        "PROCESS_SERVICE_CHECK_RESULT;test_host;svc1;2;",
        "PROCESS_SERVICE_CHECK_RESULT;test_host;svc1;3;",
        "PROCESS_SERVICE_CHECK_RESULT;test_host;svc1;4;",
    ]);

    // Bad states are issues (422); the good livestates of the same request still go out.
    expect(
        patch(
            &receiver,
            "/host/test_host",
            json!({"livestate": [{"output": "no state"}, {"state": "ok"}, {"state": "up", "output": "fine"}],
                   "services": [{"name": "svc1", "livestate": {"state": "up"}},
                                {"livestate": {"state": "OK"}},
                                {"name": "svc2", "livestate": {"state": "ok", "output": "good"}}]}),
        ),
        422,
        json!({"_status": "ERR", "_result": [
            "test_host is alive :)",
            "PROCESS_HOST_CHECK_RESULT;test_host;0;fine",
            "PROCESS_SERVICE_CHECK_RESULT;test_host;svc2;0;good",
        ], "_issues": [
            "Missing state in the livestate.",
            "Host state must be UP, DOWN or UNREACHABLE, and not 'OK'.",
            "Service svc1 state must be OK, WARNING, CRITICAL, UNKNOWN or UNREACHABLE, and not UP.",
            "A service does not have a 'name' property",
        ]}),
    );
    commands.next(&[
        "PROCESS_HOST_CHECK_RESULT;test_host;0;fine",
        "PROCESS_SERVICE_CHECK_RESULT;test_host;svc2;0;good",
    ]);
}

fn timestamps_are_integers_and_malformed_requests_change_nothing(store: Store) {
    let Some((receiver, _backend)) =
        store.start(like_the_captures().module_param("set_timestamp", "1"))
    else {
        return;
    };
    let mut commands = Commands::new(&receiver);
    create_test_host(&receiver);

    patch_test_host_ok(
        &receiver,
        json!({"livestate": {"state": "UP", "timestamp": "1700000001"}}),
        json!([
            "test_host is alive :)",
            "[1700000001] PROCESS_HOST_CHECK_RESULT;test_host;0;"
        ]),
    );
    // set_timestamp: the module stamps the line itself.
    let reply = patch(
        &receiver,
        "/host/test_host",
        json!({"livestate": {"state": "DOWN"}}),
    );
    assert_eq!(reply.status, 200);
    let line = reply.json()["_result"][1].as_str().unwrap().to_string();
    let (stamp, rest) = line.split_once("] ").unwrap();
    let stamp: u64 = stamp.trim_start_matches('[').parse().unwrap();
    assert!(stamp > 1_700_000_000, "{line}");
    assert_eq!(rest, "PROCESS_HOST_CHECK_RESULT;test_host;1;");
    commands.next(&["[1700000001] PROCESS_HOST_CHECK_RESULT;test_host;0;", &line]);

    for body in [
        json!({"livestate": {"state": "UP", "timestamp": "abc"}}),
        json!({"livestate": [{"state": "UP"}, {"state": "UP", "timestamp": 1.5}]}),
        json!({"services": [{"name": "svc", "livestate": {"state": "OK", "timestamp": "1.5"}}]}),
        json!({"name": "bad;name", "livestate": {"state": "UP"}}),
        json!({"name": "bad\nname", "livestate": {"state": "UP"}}),
        json!({"services": [{"name": "svc\r", "livestate": {"state": "OK"}}]}),
        json!({"livestate": "UP"}),
        json!({"services": "svc"}),
        json!(["not", "an", "object"]),
    ] {
        let reply = patch(&receiver, "/host/test_host", body.clone());
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        let json = reply.json();
        assert_eq!(json["_status"], "ERR", "{body}");
        assert_eq!(json["_issues"].as_array().map(Vec::len), Some(1), "{body}");
    }
    let reply = receiver.send_json("PATCH", "/host/test_host", "{not json");
    assert_eq!(reply.status, 400);
    commands.next(&[]);
}

/// The stored documents of `host` and of its service `service`: read from the backend itself
/// when there is one, else through `GET /host` (the embedded store's only reader).
fn stored(
    receiver: &Receiver,
    backend: &Option<Backend>,
    host: &str,
    service: &str,
) -> (Value, Value) {
    if let Some(backend) = backend {
        let doc = backend.host(host).expect("the host in the backend");
        let id = doc["_id"].as_str().expect("_id").to_string();
        let svc = backend.service(&id, service).expect("the service");
        return (doc, svc);
    }
    let reply = receiver.get(&format!("/host/{host}"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let doc = reply.json()["_result"][0].clone();
    let svc = doc["services"]
        .as_array()
        .and_then(|list| list.iter().find(|s| s["name"] == service))
        .cloned()
        .expect("the service");
    (doc, svc)
}

/// Whether the store has the host `name`.
fn host_exists(receiver: &Receiver, backend: &Option<Backend>, name: &str) -> bool {
    match backend {
        Some(backend) => backend.host(name).is_some(),
        None => {
            let reply = receiver.get(&format!("/host/{name}"));
            assert!(matches!(reply.status, 200 | 404), "{}", reply.body);
            reply.status == 200
        }
    }
}

/// Asserts the check flags of the stored host and service:
/// `[host active, host passive, service active, service passive]`.
fn assert_flags(receiver: &Receiver, backend: &Option<Backend>, flags: [bool; 4]) {
    let (host, svc) = stored(receiver, backend, "test_host", "svc1");
    assert_eq!(
        [
            &host["active_checks_enabled"],
            &host["passive_checks_enabled"],
            &svc["active_checks_enabled"],
            &svc["passive_checks_enabled"],
        ],
        flags.map(Value::Bool).each_ref(),
        "host {host}\nservice {svc}"
    );
}

/// PATCHes check toggles into `test_host`, and asserts the whole answer (`result`), the
/// commands it sent (`sent`) and the flags then stored (`assert_flags`' order).
fn patch_toggles(
    commands: &mut Commands,
    backend: &Option<Backend>,
    body: Value,
    result: Value,
    sent: &[&str],
    flags: [bool; 4],
) {
    patch_test_host_ok(commands.receiver, body, result);
    commands.next(sent);
    assert_flags(commands.receiver, backend, flags);
}

fn check_toggles_send_commands_only_when_they_change(store: Store) {
    let Some((receiver, backend)) = store.start(like_the_captures()) else {
        return;
    };
    let mut commands = Commands::new(&receiver);
    create_test_host(&receiver);
    assert_flags(&receiver, &backend, [true, true, true, true]);

    patch_toggles(
        &mut commands,
        &backend,
        json!({"active_checks_enabled": false, "passive_checks_enabled": true,
                   "services": [{"name": "svc1", "active_checks_enabled": false, "passive_checks_enabled": false}]}),
        json!([
            "test_host is alive :)",
            "Host test_host active checks will be disabled.",
            "Sent external command: DISABLE_HOST_CHECK;test_host.",
            "Service test_host/svc1 active checks will be disabled.",
            "Sent external command: DISABLE_SVC_CHECK;test_host;svc1.",
            "Service test_host/svc1 passive checks will be disabled.",
            "Sent external command: DISABLE_PASSIVE_SVC_CHECKS;test_host;svc1.",
            "Service 'test_host/svc1' updated",
            "Host 'test_host' updated.",
        ]),
        &[
            "DISABLE_HOST_CHECK;test_host",
            "DISABLE_SVC_CHECK;test_host;svc1",
            "DISABLE_PASSIVE_SVC_CHECKS;test_host;svc1",
        ],
        [false, true, false, false],
    );

    // A toggle that is not a JSON boolean is refused whole (the original dropped it
    // silently): nothing changes, nothing is sent.
    for body in [
        json!({"active_checks_enabled": false, "passive_checks_enabled": "0"}),
        json!({"services": [{"name": "svc1", "active_checks_enabled": 1}]}),
        json!({"check_freshness": "yes"}),
    ] {
        let reply = patch(&receiver, "/host/test_host", body.clone());
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert!(
            reply.body.contains("must be true or false"),
            "{}",
            reply.body
        );
    }
    commands.next(&[]);
    assert_flags(&receiver, &backend, [false, true, false, false]);

    // The same again: nothing changes, nothing is sent.
    patch_toggles(
        &mut commands,
        &backend,
        json!({"active_checks_enabled": false,
                   "services": [{"name": "svc1", "active_checks_enabled": false}]}),
        json!([
            "test_host is alive :)",
            "Service 'test_host/svc1' unchanged.",
            "Host 'test_host' unchanged.",
        ]),
        &[],
        [false, true, false, false],
    );

    patch_toggles(
        &mut commands,
        &backend,
        json!({"active_checks_enabled": true, "passive_checks_enabled": false,
                   "services": [{"name": "svc1", "active_checks_enabled": true, "passive_checks_enabled": true}]}),
        json!([
            "test_host is alive :)",
            "Host test_host active checks will be enabled.",
            "Sent external command: ENABLE_HOST_CHECK;test_host.",
            "Host test_host passive checks will be disabled.",
            "Sent external command: DISABLE_PASSIVE_HOST_CHECKS;test_host.",
            "Service test_host/svc1 active checks will be enabled.",
            "Sent external command: ENABLE_SVC_CHECK;test_host;svc1.",
            "Service test_host/svc1 passive checks will be enabled.",
            "Sent external command: ENABLE_PASSIVE_SVC_CHECKS;test_host;svc1.",
            "Service 'test_host/svc1' updated",
            "Host 'test_host' updated.",
        ]),
        &[
            "ENABLE_HOST_CHECK;test_host",
            "DISABLE_PASSIVE_HOST_CHECKS;test_host",
            "ENABLE_SVC_CHECK;test_host;svc1",
            "ENABLE_PASSIVE_SVC_CHECKS;test_host;svc1",
        ],
        [true, false, true, true],
    );
    // check_freshness has no command: the store only.
    patch_toggles(
        &mut commands,
        &backend,
        json!({"check_freshness": true}),
        json!(["test_host is alive :)", "Host 'test_host' updated."]),
        &[],
        [true, false, true, true],
    );
    let (host, _) = stored(&receiver, &backend, "test_host", "svc1");
    assert_eq!(host["check_freshness"], true, "{host}");
}

fn variables_are_set_kept_updated_and_deleted(store: Store) {
    let Some((receiver, backend)) = store.start(like_the_captures()) else {
        return;
    };
    let mut commands = Commands::new(&receiver);
    create_test_host(&receiver);
    let alive = "test_host is alive :)";
    // On the embedded store a changed variable is also sent to the core (issue 11; `core`
    // is Alignak by default: names keep their `_`); with a backend, nothing is sent (the
    // original's rule: the backend is the core's configuration).
    let host_var = "Sent external command: CHANGE_CUSTOM_HOST_VAR;test_host;";
    let deleted = "Custom variable _TEST2 of test_host deleted here only: the core cannot delete a custom variable.";
    for (variables, sent, last) in [
        (
            json!({"test1": "a", "Test2": 2, "list": ["x", "y"]}),
            vec![
                format!("{host_var}_TEST1;a."),
                format!("{host_var}_TEST2;2."),
                format!("{host_var}_LIST;[\"x\",\"y\"]."),
            ],
            "Host 'test_host' updated.",
        ),
        (
            json!({"test1": "a", "list": ["y"]}),
            vec![],
            "Host 'test_host' unchanged.",
        ),
        (
            json!({"test1": "b"}),
            vec![format!("{host_var}_TEST1;b.")],
            "Host 'test_host' updated.",
        ),
        (
            json!({"test2": "__delete__"}),
            vec![deleted.to_string()],
            "Host 'test_host' updated.",
        ),
        (
            json!({"test2": "__delete__"}),
            vec![],
            // Eve merged the customs: the backend still has _TEST2.
            if store.is_backend() {
                "Host 'test_host' updated."
            } else {
                "Host 'test_host' unchanged."
            },
        ),
    ] {
        let mut result = vec![alive.to_string()];
        if !store.is_backend() {
            result.extend(sent);
        }
        result.push(last.to_string());
        expect(
            patch(
                &receiver,
                "/host/test_host",
                json!({"variables": variables}),
            ),
            200,
            json!({"_status": "OK", "_result": result}),
        );
    }
    let svc_var = "CHANGE_CUSTOM_SVC_VAR;test_host;svc1;_SVC_VAR;1";
    let mut result = vec![alive.to_string()];
    if !store.is_backend() {
        result.push(format!("Sent external command: {svc_var}."));
    }
    result.push("Service 'test_host/svc1' updated".into());
    expect(
        patch(
            &receiver,
            "/host/test_host",
            json!({"services": [{"name": "svc1", "variables": {"svc_var": 1}}]}),
        ),
        200,
        json!({"_status": "OK", "_result": result}),
    );
    if store.is_backend() {
        commands.next(&[]);
    } else {
        commands.next(&[
            "CHANGE_CUSTOM_HOST_VAR;test_host;_TEST1;a",
            "CHANGE_CUSTOM_HOST_VAR;test_host;_TEST2;2",
            "CHANGE_CUSTOM_HOST_VAR;test_host;_LIST;[\"x\",\"y\"]",
            "CHANGE_CUSTOM_HOST_VAR;test_host;_TEST1;b",
            svc_var,
        ]);
    }
    // What the store kept (upper-cased names; the backend still has the deleted _TEST2).
    let (host, svc) = stored(&receiver, &backend, "test_host", "svc1");
    let customs = if store.is_backend() {
        json!({"_TEST1": "b", "_TEST2": 2, "_LIST": ["x", "y"]})
    } else {
        json!({"_TEST1": "b", "_LIST": ["x", "y"]})
    };
    assert_eq!(host["customs"], customs, "{host}");
    assert_eq!(svc["customs"], json!({"_SVC_VAR": 1}), "{svc}");
}

fn unknown_hosts_and_services_with_and_without_creation(store: Store) {
    let Some((receiver, backend)) = store.start(
        Setup::new()
            .module_param("give_result", "1")
            .module_param("give_feedback", "0"),
    ) else {
        return;
    };
    let mut commands = Commands::new(&receiver);
    // Creation off (the default), ignore_unknown_host off: 404, nothing sent.
    let body = json!({"livestate": {"state": "UP"}});
    expect(
        patch(&receiver, "/host/nowhere", body.clone()),
        404,
        json!({"_status": "ERR", "_result": ["nowhere is alive :)"],
               "_issues": ["Requested host 'nowhere' does not exist. Note that host creation is not allowed."]}),
    );
    commands.next(&[]);
    assert!(!host_exists(&receiver, &backend, "nowhere"));
    drop(receiver);

    let Some((receiver, backend)) = store.start(
        Setup::new()
            .module_param("give_result", "1")
            .module_param("ignore_unknown_host", "1"),
    ) else {
        return;
    };
    let mut commands = Commands::new(&receiver);
    expect(
        patch(&receiver, "/host/nowhere", body),
        200,
        json!({"_status": "OK", "_result": ["Requested host 'nowhere' does not exist"], "_issues": []}),
    );
    commands.next(&[]);
    assert!(!host_exists(&receiver, &backend, "nowhere"));
    drop(receiver);

    // Host creation on, service creation off: its unknown service is a message
    // (ignore_unknown_service 1, the default) or an issue (0). A host created by the request
    // sends its livestate on the embedded store (new to the module is not new to the core:
    // issue 11); with a backend, the original's rule: held back until Alignak knows it, and
    // the answer says so instead of listing a line that is not sent.
    for ignore in ["1", "0"] {
        let Some((receiver, backend)) = store.start(
            Setup::new()
                .module_param("give_result", "1")
                .module_param("give_feedback", "0")
                .module_param("set_timestamp", "0")
                .module_param("allow_host_creation", "1")
                .module_param("ignore_unknown_service", ignore),
        ) else {
            return;
        };
        let mut commands = Commands::new(&receiver);
        let missing = "Requested service 'new_host/svc' does not exist. Note that service creation is not allowed.";
        let mut result = vec![
            "new_host is alive :)",
            "Requested host 'new_host' does not exist.",
            "Requested host 'new_host' created.",
            if store.is_backend() {
                "Livestate of new_host kept in the backend, not sent: Alignak does not know the host yet."
            } else {
                "PROCESS_HOST_CHECK_RESULT;new_host;0;first"
            },
        ];
        if ignore == "1" {
            result.push(missing);
        }
        result.push("Host 'new_host' updated.");
        let reply = patch(
            &receiver,
            "/host/new_host",
            json!({"template": {"alias": "New host"}, "livestate": {"state": "UP", "output": "first"},
                   "services": [{"name": "svc", "livestate": {"state": "OK"}}]}),
        );
        if ignore == "1" {
            expect(reply, 200, json!({"_status": "OK", "_result": result}));
        } else {
            expect(
                reply,
                422,
                json!({"_status": "ERR", "_result": result, "_issues": [missing]}),
            );
        }
        if store.is_backend() {
            commands.next(&[]);
        } else {
            commands.next(&["PROCESS_HOST_CHECK_RESULT;new_host;0;first"]);
        }
        // Created from its template, with its livestate kept; its service was not created.
        let host = if let Some(backend) = &backend {
            backend.host("new_host").expect("new_host in the backend")
        } else {
            receiver.get("/host/new_host").json()["_result"][0].clone()
        };
        assert_eq!(host["alias"], "New host", "{host}");
        assert_eq!(host["ls_state"], "UP", "{host}");
        assert_eq!(host["ls_output"], "first", "{host}");
        if let Some(backend) = &backend {
            let id = host["_id"].as_str().expect("_id");
            assert_eq!(backend.services_of(id), Vec::<Value>::new());
        } else {
            assert_eq!(host["services"], json!([]), "{host}");
        }
        // Known now: its livestate goes to the core.
        expect(
            patch(
                &receiver,
                "/host/new_host",
                json!({"livestate": {"state": "DOWN", "output": "second"}}),
            ),
            200,
            json!({"_status": "OK", "_result": ["new_host is alive :)", "PROCESS_HOST_CHECK_RESULT;new_host;1;second"]}),
        );
        commands.next(&["PROCESS_HOST_CHECK_RESULT;new_host;1;second"]);
    }
}

fn give_result_and_give_feedback_decide_what_the_answer_holds(store: Store) {
    let Some((receiver, _backend)) = store.start(
        Setup::new()
            .module_param("allow_host_creation", "1")
            .module_param("allow_service_creation", "1"),
    ) else {
        return;
    };
    let mut commands = Commands::new(&receiver);
    // The defaults: give_result 0, give_feedback 1, set_timestamp 1.
    expect(
        patch(
            &receiver,
            "/host/fb_host",
            json!({"services": [{"name": "svc"}]}),
        ),
        200,
        json!({"_status": "OK", "_feedback": {"name": "fb_host"}}),
    );
    let reply = patch(
        &receiver,
        "/host/fb_host",
        json!({"livestate": {"state": "UP", "output": "hb"}}),
    );
    expect(
        reply,
        200,
        json!({"_status": "OK", "_feedback": {"name": "fb_host"}}),
    );
    // An ERR keeps _result; _feedback only when services were sent.
    let reply = patch(
        &receiver,
        "/host/fb_host",
        json!({"livestate": {"state": "nope"}}),
    );
    assert_eq!(reply.status, 422);
    assert_eq!(reply.json()["_result"], json!(["fb_host is alive :)"]));
    assert!(reply.json().get("_feedback").is_none());
    let reply = patch(
        &receiver,
        "/host/fb_host",
        json!({"livestate": {"state": "nope"}, "services": [{"name": "svc"}]}),
    );
    assert_eq!(reply.status, 422);
    assert_eq!(reply.json()["_feedback"], json!({}));
    commands.next(&["PROCESS_HOST_CHECK_RESULT;fb_host;0;hb"]);
    drop(receiver);

    let Some((receiver, _backend)) = store.start(
        Setup::new()
            .module_param("allow_host_creation", "1")
            .module_param("allow_service_creation", "1")
            .module_param("give_feedback", "2")
            // The feedback shows ls_*: the backend writes them with this (the embedded
            // store keeps them anyway and has no use for the key).
            .module_param("alignak_backend_livestate_update", "1")
            .module_param(
                "feedback_host",
                "alias, active_checks_enabled, ls_state, customs",
            )
            .module_param("feedback_service", "ls_state, ls_output"),
    ) else {
        return;
    };
    patch(
        &receiver,
        "/host/fb_host",
        json!({"template": {"alias": "Feedback"}, "services": [{"name": "svc"}]}),
    );
    expect(
        patch(
            &receiver,
            "/host/fb_host",
            json!({"livestate": {"state": "DOWN"}, "variables": {"a": 1},
                   "services": [{"name": "svc", "livestate": {"state": "CRITICAL", "output": "c"}}]}),
        ),
        200,
        json!({"_status": "OK", "_feedback": {
            "name": "fb_host", "alias": "Feedback", "active_checks_enabled": true,
            "ls_state": "DOWN", "customs": {"_A": 1},
            "services": [{"name": "svc", "ls_state": "CRITICAL", "ls_output": "c"}]}}),
    );
}

fn get_shows_the_stored_state_and_customs_and_a_restart_keeps_them(store: Store) {
    // ls_* are read back: the backend writes them with alignak_backend_livestate_update.
    let setup = like_the_captures().module_param("alignak_backend_livestate_update", "1");
    let Some((mut receiver, backend)) = store.start(setup) else {
        return;
    };
    create_test_host(&receiver);
    let reply = patch(
        &receiver,
        "/host/test_host",
        json!({"active_checks_enabled": false,
               "variables": {"test1": "a", "gone": 1, "list": ["x"]},
               "livestate": {"state": "DOWN", "output": "out", "long_output": "long", "perf_data": "p=1", "timestamp": 1700000000},
               "services": [{"name": "svc1", "variables": {"svc_var": "s"},
                             "livestate": {"state": "WARNING", "output": "w"}}]}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    patch(
        &receiver,
        "/host/test_host",
        json!({"variables": {"gone": "__delete__"}}),
    );

    let check = |receiver: &Receiver| {
        for path in [
            "/host/test_host",
            "/host?name=test_host",
            "/ws/host?host_name=test_host",
            "/host/other?name=test_host",
        ] {
            let reply = receiver.get(path);
            assert_eq!(reply.status, 200, "{path}: {}", reply.body);
            let json = reply.json();
            assert_eq!(json["_status"], "OK");
            let host = &json["_result"][0];
            assert_eq!(host["name"], "test_host");
            let customs = if store.is_backend() {
                json!({"_TEST1": "a", "_LIST": ["x"], "_GONE": 1})
            } else {
                json!({"_TEST1": "a", "_LIST": ["x"]})
            };
            assert_eq!(host["customs"], customs, "{host}");
            assert_eq!(host["active_checks_enabled"], false);
            assert_eq!(host["passive_checks_enabled"], true);
            assert_eq!(host["ls_state"], "DOWN");
            assert_eq!(host["ls_state_id"], 1);
            assert_eq!(host["ls_state_type"], "HARD");
            assert_eq!(host["ls_output"], "out");
            assert_eq!(host["ls_long_output"], "long");
            assert_eq!(host["ls_perf_data"], "p=1");
            assert_eq!(host["ls_last_check"], 1700000000);
            if store.is_backend() {
                assert_eq!(host["_realm"]["name"], "All", "{host}");
            } else {
                assert_eq!(host["_realm"], "All");
            }
            assert!(host["_id"].as_str().is_some_and(|id| id.len() == 24));
            assert!(
                host["_created"].as_str().unwrap().ends_with(" GMT"),
                "{host}"
            );
            assert!(host["_updated"].as_str().unwrap().ends_with(" GMT"));
            assert!(!reply.body.contains("password") && !reply.body.contains("token"));
            if store.is_backend() {
                // The backend's host document has no services: read them there.
                continue;
            }
            let services = host["services"].as_array().unwrap();
            let names: Vec<&str> = services
                .iter()
                .map(|s| s["name"].as_str().unwrap())
                .collect();
            assert_eq!(names, ["svc1", "svc2", "svc"]);
            // The service's variables are its own, not merged with the host's.
            assert_eq!(services[0]["customs"], json!({"_SVC_VAR": "s"}));
            assert_eq!(services[0]["ls_state"], "WARNING");
            assert_eq!(services[0]["ls_state_id"], 1);
            assert_eq!(services[1]["ls_state"], "UNKNOWN");
            assert!(!reply.body.contains("password") && !reply.body.contains("token"));
        }
    };
    check(&receiver);
    if let Some(backend) = &backend {
        let host_id = backend.id_of("host", "test_host");
        let services = backend.services_of(&host_id);
        let mut names: Vec<&str> = services.iter().filter_map(|s| s["name"].as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["svc", "svc1", "svc2"]);
        let svc1 = services.iter().find(|s| s["name"] == "svc1").expect("svc1");
        assert_eq!(svc1["customs"], json!({"_SVC_VAR": "s"}));
        assert_eq!(svc1["ls_state"], "WARNING");
        assert_eq!(svc1["ls_state_id"], 1);
    }
    receiver.terminate();
    receiver.restart();
    check(&receiver);

    expect(
        receiver.get("/host/nope"),
        404,
        json!({"_status": "ERR", "_result": [], "_issues": ["Requested host 'nope' does not exist"]}),
    );
    // No name: a listing of the hosts, paged as /alignak_logs.
    let listing = receiver.get("/host");
    assert_eq!(listing.status, 200, "{}", listing.body);
    let listing = listing.json();
    assert_eq!(listing["_status"], "OK");
    let names = field_of_each(&listing["_result"], "name");
    assert!(names.contains(&"test_host"), "{listing}");
    let total = listing["_meta"]["total"].as_u64().expect("a total");
    assert!(total >= 1 && total as usize >= names.len(), "{listing}");
    assert_eq!(listing["_meta"]["max_results"], 25);
    let one = receiver.get("/host?start=0&count=1").json();
    assert_eq!(one["_result"].as_array().map(Vec::len), Some(1), "{one}");
    assert_eq!(one["_meta"]["max_results"], 1);
    let past = receiver
        .get(&format!("/host?start={}&count=50", total + 100))
        .json();
    assert_eq!(past["_result"], json!([]), "{past}");
    assert_eq!(receiver.get("/host?count=0").status, 400);
    // Names are percent-decoded, in the path and in the query.
    patch(
        &receiver,
        "/host/web%2001",
        json!({"livestate": {"state": "UP"}}),
    );
    for path in ["/host/web%2001", "/host?name=web+01", "/host?name=web%2001"] {
        let reply = receiver.get(path);
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.json()["_result"][0]["name"], "web 01");
    }
}
