//! `PATCH|GET /host` in-process: a livestate stored, then pushed, and what `GET` finds.

use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use crate::in_process::TestApp;

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
fn a_host_livestate_is_stored_then_pushed_and_an_unknown_host_is_not() {
    let app = TestApp::spawn(&[("allow_host_creation", "1"), ("give_result", "1")]);
    let body = json!({"livestate": {"state": "DOWN", "output": "no ping"}});
    let (status, answer) = app.call(Method::PATCH, "/host/web01", Some(body.clone()), &[]);
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["_status"], "OK");
    let pushed = app.commands();
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
    assert!(strict.commands().is_empty());
}
