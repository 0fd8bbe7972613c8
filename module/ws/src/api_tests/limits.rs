//! What no request can do to the module (issue 12, the HTTP part), in-process: a full batch
//! of bad items, NUL and other control characters, duplicate JSON keys, the one timestamp
//! rule. What needs the daemon (its memory, the wire, the command file, the log) stays in
//! `tests/tests/limits.rs`.

use serde_json::json;

use crate::in_process::{Client, InProcess, Setup, TestApp};

/// Sends a sentinel command and returns every line the core received: the sentinel must be
/// the only new one.
fn only_sentinel_arrived(app: &TestApp, before: usize) {
    let reply = app.send_json("POST", "/command", r#"{"command":"disable_notifications"}"#);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let lines = app.wait_commands(before + 1);
    assert_eq!(lines.len(), before + 1, "{lines:?}");
    assert!(
        lines[before].ends_with("DISABLE_NOTIFICATIONS"),
        "{lines:?}"
    );
    for line in &lines {
        assert!(!line.contains('\0'), "a NUL reached the core: {line:?}");
    }
}

#[test]
fn a_full_batch_of_bad_items_answers_in_proportion() {
    let app = Setup::new()
        .module_param("max_batch_items", "500")
        .in_process();
    let items = vec!["0"; 500].join(",");
    let body = format!("[{items}]");
    let reply = app.send_json("POST", "/command", &body);
    assert_eq!(
        reply.status,
        422,
        "{}",
        &reply.body[..200.min(reply.body.len())]
    );
    let json = reply.json();
    // One issue for the 500 identical refusals; each item still has its own answer.
    assert_eq!(
        json["_issues"],
        json!(["Commands 0-499: The request body must be a JSON object (or an array of objects)."])
    );
    assert_eq!(json["_result"].as_array().map(Vec::len), Some(500));
    let message = "The request body must be a JSON object (or an array of objects).";
    assert_eq!(
        json["_result"][0],
        json!({"_status": "ERR", "_error": message, "_issues": [message]})
    );
    assert_eq!(
        json["_result"][499],
        json!({"_status": "ERR", "_issues": ["Same as item 0."]})
    );
    // Each item's answer is a few dozen bytes: bounded by the item limit, whatever the body.
    assert!(reply.body.len() < 500 * 64, "{} bytes", reply.body.len());
    eprintln!(
        "a batch of 500 zeros ({} bytes) is answered in {} bytes",
        body.len(),
        reply.body.len()
    );

    let items = vec!["0"; 501].join(",");
    let reply = app.send_json("PATCH", "/host", &format!("[{items}]"));
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert!(app.commands().is_empty());
}

#[test]
fn nul_and_control_characters_never_reach_the_core() {
    let app = Setup::new().in_process();
    let mut refused = 0;
    for c in ["\u{0}", "\u{1}", "\u{1b}", "\u{7f}"] {
        let command_bodies = [
            json!({"command": format!("disable_host_check{c}"), "host": "web01"}),
            json!({"command": format!("add_host_comment;web01;1;me;a{c}b")}),
            json!({"command": "disable_host_check", "host": format!("web01{c}x")}),
            json!({"command": "disable_svc_check", "host": "web01", "service": format!("s{c}")}),
            json!({"command": "disable_contact_host_notifications", "user": format!("u{c}")}),
            json!({"command": "disable_host_check", "element": format!("web01{c}x")}),
            json!({"command": "add_host_comment", "host": "web01", "parameters": format!("1;me;a{c}b")}),
        ];
        for body in &command_bodies {
            let reply = app.send_json("POST", "/command", &body.to_string());
            assert_eq!(reply.status, 400, "{body}: {}", reply.body);
            assert!(reply.body.contains("control character"), "{}", reply.body);
            refused += 1;
        }
        let host_bodies = [
            (
                "/host",
                json!({"name": format!("web01{c}x"), "livestate": {"state": "UP"}}),
            ),
            (
                &format!("/host/web01%{:02X}x", c.as_bytes()[0]),
                json!({"livestate": {"state": "UP"}}),
            ),
            (
                "/host/web01",
                json!({"livestate": {"state": format!("UP{c}")}}),
            ),
            (
                "/host/web01",
                json!({"livestate": {"state": "UP", "output": format!("ok{c}x")}}),
            ),
            (
                "/host/web01",
                json!({"livestate": {"state": "UP", "long_output": format!("l{c}")}}),
            ),
            (
                "/host/web01",
                json!({"livestate": {"state": "UP", "perf_data": format!("a=1{c}")}}),
            ),
            (
                "/host/web01",
                json!({"services": [{"name": format!("svc{c}"), "livestate": {"state": "OK"}}]}),
            ),
            (
                "/host/web01",
                json!({"services": [{"name": "svc", "livestate": {"state": "OK", "output": format!("o{c}")}}]}),
            ),
            (
                "/host/web01",
                json!({"template": {"_templates": [format!("generic{c}")]}}),
            ),
            (
                "/host/web01",
                json!({"variables": {"key": format!("v{c}")}}),
            ),
            ("/host/web01", json!({"variables": {format!("k{c}"): "v"}})),
        ];
        for (path, body) in &host_bodies {
            let reply = app.send_json("PATCH", path, &body.to_string());
            assert_eq!(reply.status, 400, "{path} {body}: {}", reply.body);
            assert!(reply.body.contains("control character"), "{}", reply.body);
            refused += 1;
        }
        let event_bodies = [
            json!({"host": format!("web01{c}x"), "comment": "c"}),
            json!({"host": "web01", "service": format!("s{c}"), "comment": "c"}),
            json!({"host": "web01", "author": format!("me{c}"), "comment": "c"}),
            json!({"host": "web01", "comment": format!("a{c}b")}),
        ];
        for body in &event_bodies {
            let reply = app.send_json("POST", "/event", &body.to_string());
            assert_eq!(reply.status, 400, "{body}: {}", reply.body);
            assert!(reply.body.contains("control character"), "{}", reply.body);
            refused += 1;
        }
    }
    assert_eq!(refused, 4 * 22);
    // Names in a lookup are names too.
    for path in [
        "/host/web01%00x",
        "/host?name=web01%00x",
        "/hostgroup/all%00x",
    ] {
        let reply = app.get(path);
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        assert!(reply.body.contains("control character"), "{}", reply.body);
    }
    only_sentinel_arrived(&app, 0);
    // The host was never created by any of them.
    assert_eq!(app.get("/host/web01").status, 404);
}

#[test]
fn duplicate_keys_are_refused_everywhere() {
    let app = Setup::new().in_process();
    for (method, path, body, key) in [
        (
            "POST",
            "/command",
            r#"{"command":"disable_notifications","command":"shutdown_program"}"#,
            "command",
        ),
        (
            "POST",
            "/command",
            r#"[{"command":"disable_notifications"},{"command":"x","host":"a","host":"b"}]"#,
            "host",
        ),
        (
            "PATCH",
            "/host/web01",
            r#"{"livestate":{"state":"UP","state":"DOWN"}}"#,
            "state",
        ),
        ("PATCH", "/host", r#"{"name":"a","name":"b"}"#, "name"),
        (
            "POST",
            "/event",
            r#"{"host":"web01","comment":"c","comment":"d"}"#,
            "comment",
        ),
        (
            "POST",
            "/login",
            r#"{"username":"a","username":"b"}"#,
            "username",
        ),
    ] {
        let reply = app.send_json(method, path, body);
        assert_eq!(reply.status, 400, "{path} {body}: {}", reply.body);
        let issues = reply.json()["_issues"].to_string();
        assert!(
            issues.contains(&format!("'{key}' appears twice")),
            "{issues}"
        );
    }
    only_sentinel_arrived(&app, 0);
}

#[test]
fn one_timestamp_rule_on_command_host_and_event() {
    let app = Setup::new()
        .module_param("set_timestamp", "0")
        .module_param("allow_host_creation", "1")
        .module_param("give_result", "1")
        .in_process();
    for ts in &crate::timestamp::not_timestamps() {
        let reply = app.send_json(
            "POST",
            "/command",
            &json!({"command": "disable_notifications", "timestamp": ts}).to_string(),
        );
        assert_eq!(reply.status, 400, "/command {ts}: {}", reply.body);
        let reply = app.send_json(
            "PATCH",
            "/host/web01",
            &json!({"livestate": {"state": "UP", "timestamp": ts}}).to_string(),
        );
        assert_eq!(reply.status, 400, "/host {ts}: {}", reply.body);
        let reply = app.send_json(
            "POST",
            "/event",
            &json!({"host": "web01", "comment": "c", "timestamp": ts}).to_string(),
        );
        assert_eq!(reply.status, 400, "/event {ts}: {}", reply.body);
    }
    assert!(app.commands().is_empty());
    // The same good values on all three.
    for (i, ts) in [json!(12), json!("13")].iter().enumerate() {
        let expected = format!("[{}] ", 12 + i);
        let reply = app.send_json(
            "POST",
            "/command",
            &json!({"command": "disable_notifications", "timestamp": ts}).to_string(),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(
            reply.json()["_command"],
            format!("{expected}DISABLE_NOTIFICATIONS")
        );
        let reply = app.send_json(
            "PATCH",
            "/host/web01",
            &json!({"livestate": {"state": "UP", "timestamp": ts}}).to_string(),
        );
        assert!(
            reply
                .body
                .contains(&format!("{expected}PROCESS_HOST_CHECK_RESULT")),
            "{}",
            reply.body
        );
        let reply = app.send_json(
            "POST",
            "/event",
            &json!({"host": "web01", "comment": "c", "timestamp": ts}).to_string(),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(
            reply.json()["_result"][0],
            format!("{expected}ADD_HOST_COMMENT;web01;1;Alignak WS;c")
        );
    }
}
