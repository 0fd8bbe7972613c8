//! `PATCH|POST /host` with a JSON array of hosts (SPEC §7 batches), in-process: each item is
//! processed as it would be alone, in order, in one store session; their commands are pushed
//! together and in order (without a `[<ts>] `: `set_timestamp 0`); the answer lists each item's answer, and a 422 names the items that
//! were not OK.

use crate::in_process::{Client, InProcess, Setup, TestApp};
use serde_json::{json, Value};

fn send(app: &TestApp, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let reply = app.send_json(method, path, &body.to_string());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    (reply.status, reply.json())
}

/// `PATCH /host` with `body` (one host or a batch).
fn patch_hosts(app: &TestApp, body: &Value) -> (u16, Value) {
    send(app, "PATCH", "/host", body)
}

fn setup() -> Setup {
    Setup::new()
        .module_param("give_result", "1")
        .module_param("give_feedback", "0")
        .module_param("set_timestamp", "0")
        .module_param("allow_host_creation", "1")
}

#[test]
fn a_batch_answers_each_host_and_sends_every_command_in_order() {
    let app = setup().in_process();
    // Known hosts first, so that their livestates give commands.
    let (status, _) = patch_hosts(&app, &json!([{"name": "b1"}, {"name": "b2"}]));
    assert_eq!(status, 200);

    let (status, body) = patch_hosts(
        &app,
        &json!([
            {"name": "b1", "livestate": {"state": "UP", "output": "one"}},
            {"name": "b2", "livestate": {"state": "down", "output": "two", "timestamp": 7}},
        ]),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"_status": "OK", "_result": [
            {"_status": "OK", "_result": ["b1 is alive :)", "PROCESS_HOST_CHECK_RESULT;b1;0;one"]},
            {"_status": "OK", "_result": ["b2 is alive :)", "[7] PROCESS_HOST_CHECK_RESULT;b2;1;two"]},
        ]})
    );
    let lines = app.wait_commands(2);
    assert_eq!(
        lines,
        [
            "PROCESS_HOST_CHECK_RESULT;b1;0;one",
            "[7] PROCESS_HOST_CHECK_RESULT;b2;1;two"
        ]
    );
}

/// Hosts new to the module are not new to the core (issue 11): a batch of first results for
/// hosts the module never saw sends each of them, and the answer lists exactly what was sent.
#[test]
fn first_results_of_hosts_new_to_the_module_are_all_sent() {
    let app = setup().in_process();
    let (status, body) = patch_hosts(
        &app,
        &json!([
            {"name": "n1", "livestate": {"state": "UP", "output": "first one"}},
            {"name": "n2", "livestate": {"state": "DOWN", "output": "first two"},
             "active_checks_enabled": false},
        ]),
    );
    assert_eq!(status, 200, "{body}");
    let created = |name: &str| {
        vec![
            format!("{name} is alive :)"),
            format!("Requested host '{name}' does not exist."),
            format!("Requested host '{name}' created."),
        ]
    };
    let mut n1 = created("n1");
    n1.push("PROCESS_HOST_CHECK_RESULT;n1;0;first one".into());
    n1.push("Host 'n1' updated.".into());
    let mut n2 = created("n2");
    n2.push("Host n2 active checks will be disabled.".into());
    n2.push("Sent external command: DISABLE_HOST_CHECK;n2.".into());
    n2.push("PROCESS_HOST_CHECK_RESULT;n2;1;first two".into());
    n2.push("Host 'n2' updated.".into());
    assert_eq!(
        body,
        json!({"_status": "OK", "_result": [
            {"_status": "OK", "_result": n1},
            {"_status": "OK", "_result": n2},
        ]})
    );
    let lines = app.wait_commands(3);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(
        lines,
        [
            "PROCESS_HOST_CHECK_RESULT;n1;0;first one",
            "DISABLE_HOST_CHECK;n2",
            "PROCESS_HOST_CHECK_RESULT;n2;1;first two",
        ]
    );
}

#[test]
fn bad_items_are_refused_alone_and_named() {
    let app = setup().in_process();
    patch_hosts(&app, &json!({"name": "ok1"}));
    let (status, body) = send(
        &app,
        "POST",
        "/host",
        &json!([
            {"livestate": {"state": "UP"}},
            {"name": "ok1", "livestate": {"state": "BOGUS"}},
            {"name": "ok1", "livestate": {"state": "UP", "timestamp": "soon"}},
            {"name": "ok1", "livestate": {"state": "UP", "output": "fine"}},
        ]),
    );
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["_status"], "ERR");
    let results = body["_result"].as_array().expect("a list of answers");
    assert_eq!(results.len(), 4);
    assert_eq!(results[0]["_issues"], json!(["Missing targeted element."]));
    assert_eq!(
        results[1]["_issues"],
        json!(["Host state must be UP, DOWN or UNREACHABLE, and not 'BOGUS'."])
    );
    assert_eq!(
        results[2]["_issues"],
        json!(["The livestate timestamp must be an integer value."])
    );
    assert_eq!(results[3]["_status"], "OK");
    let issues: Vec<&str> = body["_issues"]
        .as_array()
        .expect("issues")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(issues.len(), 3, "{issues:?}");
    assert!(issues[0].starts_with("Host 0: "), "{issues:?}");
    assert!(issues[1].starts_with("Host 1: "), "{issues:?}");
    assert!(issues[2].starts_with("Host 2: "), "{issues:?}");
    // Only the good item's command was sent.
    let lines = app.wait_commands(1);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0], "PROCESS_HOST_CHECK_RESULT;ok1;0;fine");
}

#[test]
fn an_empty_batch_or_a_batch_on_a_named_path_is_refused() {
    let app = setup().in_process();
    let (status, body) = patch_hosts(&app, &json!([]));
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["_error"], "You must send parameters on this endpoint.");
    let (status, body) = send(&app, "PATCH", "/host/x", &json!([{"name": "x"}]));
    assert_eq!(status, 400, "{body}");
    assert!(app.commands().is_empty());
}
