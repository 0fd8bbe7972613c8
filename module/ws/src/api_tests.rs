//! The HTTP API in-process (`in_process::TestApp`): the router, handlers, embedded store,
//! authentication and queue for real, without a socket or a daemon. The same answers as the
//! process-level suite's (`tests/tests/command.rs`, `hosts.rs`, `auth.rs`), each in
//! milliseconds.

use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use crate::in_process::{basic, TestApp, USER};

fn post(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    app.call(Method::POST, path, Some(body), &[])
}

/// A pushed line without the `[<ts>] ` the module adds.
fn command_of(line: &str) -> &str {
    match line
        .strip_prefix('[')
        .and_then(|rest| rest.split_once("] "))
    {
        Some((ts, command)) if ts.parse::<u64>().is_ok() => command,
        _ => line,
    }
}

#[test]
fn the_originals_command_rules_are_pushed_in_order() {
    let app = TestApp::spawn(&[]);
    let cases = [
        (
            json!({"command": "disable_notifications"}),
            "DISABLE_NOTIFICATIONS",
        ),
        (
            json!({"command": "acknowledge_svc_problem", "element": "test_host/svc",
                   "parameters": "2;1;1;admin;ack"}),
            "ACKNOWLEDGE_SVC_PROBLEM;test_host;svc;2;1;1;admin;ack",
        ),
        (
            json!({"command": "acknowledge_svc_problem", "element": "ignored/x",
                   "host": "test_host", "service": "svc", "parameters": "2;1;1;admin;ack"}),
            "ACKNOWLEDGE_SVC_PROBLEM;test_host;svc;2;1;1;admin;ack",
        ),
        (
            json!({"command": "disable_host_check", "host": "test_host", "timestamp": 1700000000}),
            "[1700000000] DISABLE_HOST_CHECK;test_host",
        ),
        (
            json!({"command": "add_host_comment", "host": "MyHost",
                   "parameters": "1;Alice;Disk Replaced"}),
            "ADD_HOST_COMMENT;MyHost;1;Alice;Disk Replaced",
        ),
    ];
    for (body, expected) in &cases {
        let (status, answer) = post(&app, "/command", body.clone());
        assert_eq!(status, StatusCode::OK, "{body}: {answer}");
        assert_eq!(answer, json!({"_status": "OK", "_command": expected}));
    }
    let pushed = app.pushed();
    assert_eq!(pushed.len(), cases.len(), "{pushed:?}");
    for (line, (_, expected)) in pushed.iter().zip(&cases) {
        if expected.starts_with('[') {
            assert_eq!(line, expected);
        } else {
            assert_eq!(command_of(line), *expected);
        }
    }
}

#[test]
fn the_originals_command_errors_with_real_status_codes_and_nothing_pushed() {
    let app = TestApp::spawn(&[]);
    let error = |message: &str| json!({"_status": "ERR", "_error": message, "_issues": [message]});
    for (body, message) in [
        (json!({}), "You must POST parameters on this endpoint."),
        (json!({"timestamp": 1}), "Missing command parameter"),
        (json!({"command": ""}), "Missing command parameter"),
        (
            json!({"command": "disable_notifications", "timestamp": "abc"}),
            "Timestamp must be an integer value",
        ),
        (
            json!({"command": "disable_notifications", "timestamp": -1}),
            "Timestamp must be an integer value",
        ),
    ] {
        let (status, answer) = post(&app, "/command", body.clone());
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer, error(message), "{body}");
    }
    let (status, answer) = app.call(Method::GET, "/command", None, &[]);
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer, error("You must only POST on this endpoint."));
    assert!(app.pushed().is_empty());
}

#[test]
fn a_batch_of_commands_pushes_every_accepted_line_in_order() {
    let app = TestApp::spawn(&[]);
    let (status, answer) = post(
        &app,
        "/command",
        json!([
            {"command": "disable_notifications"},
            {"command": ""},
            {"command": "enable_notifications"},
        ]),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let results = answer["_result"].as_array().expect("a result per item");
    assert_eq!(results.len(), 3, "{answer}");
    assert_eq!(results[0]["_status"], "OK");
    assert_eq!(results[1]["_status"], "ERR");
    assert_eq!(results[2]["_status"], "OK");
    let pushed: Vec<String> = app
        .pushed()
        .iter()
        .map(|l| command_of(l).to_string())
        .collect();
    assert_eq!(pushed, ["DISABLE_NOTIFICATIONS", "ENABLE_NOTIFICATIONS"]);
}

#[test]
fn a_host_livestate_is_stored_then_pushed_and_an_unknown_host_is_not() {
    let app = TestApp::spawn(&[("allow_host_creation", "1"), ("give_result", "1")]);
    let body = json!({"livestate": {"state": "DOWN", "output": "no ping"}});
    let (status, answer) = app.call(Method::PATCH, "/host/web01", Some(body.clone()), &[]);
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["_status"], "OK");
    let pushed = app.pushed();
    assert_eq!(pushed.len(), 1, "{pushed:?}");
    assert_eq!(
        command_of(&pushed[0]),
        "PROCESS_HOST_CHECK_RESULT;web01;1;no ping"
    );
    // The answer lists the line that was sent, as it was sent.
    assert!(
        answer["_result"]
            .as_array()
            .is_some_and(|r| r.contains(&Value::from(pushed[0].clone()))),
        "{answer} lacks {}",
        pushed[0]
    );
    // Stored: GET /host finds it with its state.
    let (status, found) = app.call(Method::GET, "/host/web01", None, &[]);
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["_result"][0]["name"], "web01", "{found}");

    let strict = TestApp::spawn(&[("allow_host_creation", "0")]);
    let (status, answer) = strict.call(Method::PATCH, "/host/web01", Some(body), &[]);
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert_eq!(answer["_status"], "ERR");
    assert!(strict.pushed().is_empty());
}

#[test]
fn authorization_asks_credentials_takes_the_users_password_and_its_token() {
    let app = TestApp::spawn(&[("authorization", "1")]);
    let command = json!({"command": "disable_notifications"});
    let (status, answer) = app.call(Method::POST, "/command", Some(command.clone()), &[]);
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(answer["_status"], "ERR");

    let wrong = basic(USER.0, "not the password");
    let (status, _) = app.call(
        Method::POST,
        "/command",
        Some(command.clone()),
        &[("authorization", &wrong)],
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(app.pushed().is_empty());

    let right = basic(USER.0, USER.1);
    let (status, answer) = app.call(
        Method::POST,
        "/command",
        Some(command.clone()),
        &[("authorization", &right)],
    );
    assert_eq!(status, StatusCode::OK, "{answer}");

    let (status, login) = app.call(Method::POST, "/login", None, &[("authorization", &right)]);
    assert_eq!(status, StatusCode::OK, "{login}");
    let token = login["_result"][0].as_str().expect("a token").to_string();
    let by_token = basic(&token, "");
    let (status, answer) = app.call(
        Method::POST,
        "/command",
        Some(command),
        &[("authorization", &by_token)],
    );
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(app.pushed().len(), 2);
}
