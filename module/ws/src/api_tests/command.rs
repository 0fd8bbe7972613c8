// Over 400 lines, earned: every /command rule of the original (upstream-spec §4), one test or table each, in-process.
//! `POST /command` in-process: the answers and the lines pushed to the host. Expected answers
//! are the original module's (../shared/peers/python-ws/responses-*.txt) with SPEC §3's
//! fixes: real status codes, `_issues` on every ERR, only the name upper-cased.

use crate::in_process::{Client, InProcess, Setup, TestApp};
use serde_json::{json, Value};

fn ok_command(app: &TestApp, body: Value, expected: &str) {
    let reply = app.post_json("/command", &body.to_string());
    assert_eq!(reply.status, 200, "{body}: {}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        reply.json(),
        json!({"_status": "OK", "_command": expected}),
        "{body}"
    );
}

fn err_command(app: &TestApp, body: &str, status: u16, message: &str) {
    let reply = app.post_json("/command", body);
    assert_eq!(reply.status, status, "{body}: {}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"_status": "ERR", "_error": message, "_issues": [message]}),
        "{body}"
    );
}

#[test]
fn the_originals_command_rules_reach_the_command_file_in_order() {
    let app = Setup::new().in_process();
    let cases = [
        (
            json!({"command": "disable_notifications"}),
            "DISABLE_NOTIFICATIONS",
        ),
        (
            json!({"command": "disable_host_notifications", "element": "test_host"}),
            "DISABLE_HOST_NOTIFICATIONS;test_host",
        ),
        // element with '/': the first '/' separates host and service.
        (
            json!({"command": "acknowledge_svc_problem", "element": "test_host/svc",
                   "parameters": "2;1;1;admin;ack"}),
            "ACKNOWLEDGE_SVC_PROBLEM;test_host;svc;2;1;1;admin;ack",
        ),
        // element with ';' is taken as it is.
        (
            json!({"command": "schedule_svc_check", "element": "test_host;svc",
                   "parameters": "1700000000"}),
            "SCHEDULE_SVC_CHECK;test_host;svc;1700000000",
        ),
        // host/service/user win over element, in that order.
        (
            json!({"command": "acknowledge_svc_problem", "element": "ignored/x",
                   "host": "test_host", "service": "svc", "parameters": "2;1;1;admin;ack"}),
            "ACKNOWLEDGE_SVC_PROBLEM;test_host;svc;2;1;1;admin;ack",
        ),
        (
            json!({"command": "change_contact_svc_notification_timeperiod",
                   "user": "admin", "parameters": "24x7"}),
            "CHANGE_CONTACT_SVC_NOTIFICATION_TIMEPERIOD;admin;24x7",
        ),
        // timestamp: an integer or an integer string.
        (
            json!({"command": "disable_host_check", "host": "test_host", "timestamp": 1700000000}),
            "[1700000000] DISABLE_HOST_CHECK;test_host",
        ),
        (
            json!({"command": "disable_host_check", "host": "test_host", "timestamp": "1700000001"}),
            "[1700000001] DISABLE_HOST_CHECK;test_host",
        ),
        // Only the name is upper-cased: host names and texts keep their case (SPEC §3).
        (
            json!({"command": "add_host_comment", "host": "MyHost",
                   "parameters": "1;Alice;Disk Replaced"}),
            "ADD_HOST_COMMENT;MyHost;1;Alice;Disk Replaced",
        ),
        (
            json!({"command": "process_service_check_result;Web01;HTTP;0;OK - fine|time=0.1s;1;2"}),
            "PROCESS_SERVICE_CHECK_RESULT;Web01;HTTP;0;OK - fine|time=0.1s;1;2",
        ),
        // Unknown JSON keys are ignored, as in the original.
        (
            json!({"command": "enable_notifications", "comment": "ignored"}),
            "ENABLE_NOTIFICATIONS",
        ),
    ];
    for (body, expected) in &cases {
        ok_command(&app, body.clone(), expected);
    }
    let lines = app.wait_commands(cases.len());
    assert_eq!(lines.len(), cases.len(), "{lines:?}");
    // The module adds no `[<ts>] ` of its own (the daemon does, `tests/tests/command.rs`).
    for (line, (_, expected)) in lines.iter().zip(&cases) {
        assert_eq!(line, expected);
    }
}

#[test]
fn the_ws_prefix_serves_the_same_command() {
    let app = Setup::new().in_process();
    let reply = app.post_json("/ws/command", r#"{"command":"disable_notifications"}"#);
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({"_status": "OK", "_command": "DISABLE_NOTIFICATIONS"})
    );
    let lines = app.wait_commands(1);
    assert_eq!(lines[0], "DISABLE_NOTIFICATIONS");
}

#[test]
fn the_originals_errors_with_real_status_codes() {
    let app = Setup::new().in_process();
    err_command(
        &app,
        "{}",
        400,
        "You must POST parameters on this endpoint.",
    );
    // A JSON body that is empty is no parameters either.
    err_command(&app, "", 400, "You must POST parameters on this endpoint.");
    err_command(&app, r#"{"timestamp":1}"#, 400, "Missing command parameter");
    err_command(&app, r#"{"command":""}"#, 400, "Missing command parameter");
    err_command(
        &app,
        r#"{"command":null}"#,
        400,
        "Missing command parameter",
    );
    for ts in [r#""abc""#, "1.5", r#""1.5""#, "-1", "[1]", "{}"] {
        err_command(
            &app,
            &format!(r#"{{"command":"disable_notifications","timestamp":{ts}}}"#),
            400,
            "Timestamp must be an integer value",
        );
    }

    let reply = app.get("/command");
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("POST"));
    let message = "You must only POST on this endpoint.";
    assert_eq!(
        reply.json(),
        json!({"_status": "ERR", "_error": message, "_issues": [message]})
    );
    for method in ["PUT", "PATCH", "DELETE"] {
        let reply = app.request(
            method,
            "/command",
            &[("Content-Type", "application/json")],
            b"{}",
        );
        assert_eq!(reply.status, 405, "{method}");
        assert_eq!(reply.json()["_error"], message);
    }
    assert!(app.commands().is_empty(), "nothing was accepted");
}

#[test]
fn a_body_that_is_not_json_is_refused() {
    let app = Setup::new().in_process();
    // Not declared as JSON (curl -d without -H sends a form type): 415, as the original.
    for (content_type, body) in [
        (
            Some("application/x-www-form-urlencoded"),
            &b"command=disable_notifications"[..],
        ),
        (
            Some("text/plain"),
            &br#"{"command":"disable_notifications"}"#[..],
        ),
        (None, &br#"{"command":"disable_notifications"}"#[..]),
        (None, &b""[..]),
    ] {
        let headers: Vec<(&str, &str)> = content_type
            .map(|c| ("Content-Type", c))
            .into_iter()
            .collect();
        let reply = app.request("POST", "/command", &headers, body);
        assert_eq!(reply.status, 415, "{content_type:?}: {}", reply.body);
        reply.assert_err_issue_contains("Content-Type: application/json");
    }
    // Declared as JSON, but malformed: 400 naming the problem.
    let reply = app.post_json("/command", r#"{"command": "disable_notif"#);
    assert_eq!(reply.status, 400);
    reply.assert_err_issue_starts_with("The request body is not valid JSON");
    // JSON, but not an object.
    for body in [r#""disable_notifications""#, "42", "true"] {
        let reply = app.post_json("/command", body);
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.json()["_status"], "ERR");
    }
    // A charset parameter and a +json type are JSON too.
    for content_type in [
        "application/json; charset=utf-8",
        "application/vnd.alignak+json",
    ] {
        let reply = app.request(
            "POST",
            "/command",
            &[("Content-Type", content_type)],
            br#"{"command":"disable_notifications"}"#,
        );
        assert_eq!(reply.status, 200, "{content_type}: {}", reply.body);
    }
    assert_eq!(app.wait_commands(2).len(), 2);
}

#[test]
fn a_body_over_max_body_size_is_refused_before_it_is_read() {
    let app = Setup::new()
        .module_param("max_body_size", "1024")
        .in_process();
    let big = format!(
        r#"{{"command":"disable_notifications","x":"{}"}}"#,
        "a".repeat(2000)
    );
    let reply = app.post_json("/command", &big);
    assert_eq!(reply.status, 413, "{}", reply.body);
    reply.assert_err_issue_contains("1024 bytes");
    // Under the limit it works.
    let reply = app.post_json("/command", r#"{"command":"disable_notifications"}"#);
    assert_eq!(reply.status, 200);
    // The default is 1 MiB.
    let app = Setup::new().in_process();
    let big = format!(
        r#"{{"command":"disable_notifications","x":"{}"}}"#,
        "a".repeat(1024 * 1024)
    );
    assert_eq!(app.post_json("/command", &big).status, 413);
    let fits = format!(
        r#"{{"command":"disable_notifications","x":"{}"}}"#,
        "a".repeat(1000 * 1000)
    );
    assert_eq!(app.post_json("/command", &fits).status, 200);
}

#[test]
fn commands_are_validated_against_alignaks_table() {
    let app = Setup::new().in_process();
    err_command(
        &app,
        r#"{"command":"disable_notificationz"}"#,
        400,
        "Unknown external command 'DISABLE_NOTIFICATIONZ': Alignak has no such command (set validate_commands 0 to forward it anyway).",
    );
    err_command(
        &app,
        r#"{"command":"disable_host_check"}"#,
        400,
        "Command 'DISABLE_HOST_CHECK' takes 1 argument (DISABLE_HOST_CHECK;host_name), not 0.",
    );
    err_command(
        &app,
        r#"{"command":"disable_notifications","host":"h"}"#,
        400,
        "Command 'DISABLE_NOTIFICATIONS' takes 0 arguments (DISABLE_NOTIFICATIONS), not 1.",
    );
    // A service is two fields: host;service.
    err_command(
        &app,
        r#"{"command":"disable_svc_check","host":"h"}"#,
        400,
        "Command 'DISABLE_SVC_CHECK' takes 2 arguments (DISABLE_SVC_CHECK;host_name;service_description), not 1.",
    );
    assert!(app.commands().is_empty());
}

#[test]
fn validate_commands_0_forwards_anything_but_line_breaks() {
    let app = Setup::new()
        .module_param("validate_commands", "0")
        .in_process();
    ok_command(
        &app,
        json!({"command": "my_own_command", "parameters": "a;b"}),
        "MY_OWN_COMMAND;a;b",
    );
    ok_command(
        &app,
        json!({"command": "disable_host_check"}),
        "DISABLE_HOST_CHECK",
    );
    err_command(
        &app,
        r#"{"command":"my_own_command","parameters":"a\n[1] SHUTDOWN_PROGRAM"}"#,
        400,
        "A command must not contain a line break.",
    );
    let lines = app.wait_commands(2);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0], "MY_OWN_COMMAND;a;b");
}

#[test]
fn no_request_can_inject_a_second_line_into_the_command_file() {
    let app = Setup::new()
        .module_param("validate_commands", "0")
        .in_process();
    let attacks = [
        json!({"command": "disable_notifications\n[1] SHUTDOWN_PROGRAM"}),
        json!({"command": "disable_notifications\r\n[1] SHUTDOWN_PROGRAM"}),
        json!({"command": "disable_notifications\r[1] SHUTDOWN_PROGRAM"}),
        json!({"command": "disable_host_check", "element": "h\n[1] SHUTDOWN_PROGRAM"}),
        json!({"command": "disable_host_check", "parameters": "x\n[1] SHUTDOWN_PROGRAM"}),
        json!({"command": "disable_host_check", "host": "h\n[1] SHUTDOWN_PROGRAM"}),
        json!({"command": "disable_svc_check", "host": "h", "service": "s\n[1] SHUTDOWN_PROGRAM"}),
        json!({"command": "disable_svc_check", "host": "h", "service": "s;x"}),
        json!({"command": "disable_host_check", "host": "h;x"}),
        json!({"command": "change_contact_modattr", "user": "u\rx", "parameters": "1"}),
        json!({"command": "change_contact_modattr", "user": "u;x", "parameters": "1"}),
        json!({"command": "disable_host_check", "timestamp": "1\n[2] SHUTDOWN_PROGRAM", "host": "h"}),
    ];
    for attack in &attacks {
        let reply = app.post_json("/command", &attack.to_string());
        assert_eq!(reply.status, 400, "{attack}: {}", reply.body);
        assert_eq!(reply.json()["_status"], "ERR");
    }
    // A sentinel after the attacks: once it is there, everything before it was processed.
    ok_command(
        &app,
        json!({"command": "enable_notifications"}),
        "ENABLE_NOTIFICATIONS",
    );
    let lines = app.wait_commands(1);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains("SHUTDOWN_PROGRAM")));
}

#[test]
fn names_with_semicolons_or_line_breaks_are_named_in_the_error() {
    let app = Setup::new().in_process();
    err_command(
        &app,
        r#"{"command":"disable_host_check","host":"a;b"}"#,
        400,
        "The 'host' parameter must not contain ';' or a line break.",
    );
    err_command(
        &app,
        r#"{"command":"disable_svc_check","host":"a","service":"b\nc"}"#,
        400,
        "The 'service' parameter must not contain ';' or a line break.",
    );
    err_command(
        &app,
        r#"{"command":"change_contact_modattr","user":"a;b","parameters":"1"}"#,
        400,
        "The 'user' parameter must not contain ';' or a line break.",
    );
}

#[test]
fn a_batch_is_one_request_and_lists_each_result() {
    let app = Setup::new().in_process();
    let reply = app.post_json(
        "/command",
        r#"[{"command":"disable_notifications"},{"command":"disable_host_check","host":"h1","timestamp":1700000000}]"#,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"_status": "OK", "_result": [
            {"_status": "OK", "_command": "DISABLE_NOTIFICATIONS"},
            {"_status": "OK", "_command": "[1700000000] DISABLE_HOST_CHECK;h1"},
        ]})
    );
    // Partly rejected: the good ones are queued, the answer is 422 and says which failed.
    let reply = app.post_json(
        "/command",
        r#"[{"command":"enable_notifications"},{"timestamp":1},{"command":"nope"}]"#,
    );
    assert_eq!(reply.status, 422, "{}", reply.body);
    let json = reply.json();
    assert_eq!(json["_status"], "ERR");
    assert_eq!(
        json["_result"][0],
        json!({"_status": "OK", "_command": "ENABLE_NOTIFICATIONS"})
    );
    assert_eq!(json["_result"][1]["_error"], "Missing command parameter");
    assert_eq!(json["_result"][2]["_status"], "ERR");
    assert_eq!(json["_issues"][0], "Command 1: Missing command parameter");
    assert!(json["_issues"][1]
        .as_str()
        .unwrap()
        .starts_with("Command 2: Unknown external command"));
    // An empty batch is no parameters.
    err_command(
        &app,
        "[]",
        400,
        "You must POST parameters on this endpoint.",
    );

    assert_eq!(
        app.wait_commands(3),
        [
            "DISABLE_NOTIFICATIONS",
            "[1700000000] DISABLE_HOST_CHECK;h1",
            "ENABLE_NOTIFICATIONS"
        ]
    );
}

#[test]
fn legacy_status_codes_answer_200_for_application_errors() {
    let app = Setup::new()
        .module_param("legacy_status_codes", "1")
        .in_process();
    err_command(
        &app,
        "{}",
        200,
        "You must POST parameters on this endpoint.",
    );
    err_command(&app, r#"{"timestamp":1}"#, 200, "Missing command parameter");
    let reply = app.get("/command");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json()["_error"],
        "You must only POST on this endpoint."
    );
    // Transport-level errors keep their codes, as the original's did.
    assert_eq!(app.get("/nope").status, 404);
    assert_eq!(
        app.request("POST", "/command", &[("Content-Type", "text/plain")], b"x")
            .status,
        415
    );
}

#[test]
fn a_batch_pushes_the_accepted_lines_around_a_refused_one_in_order() {
    let app = Setup::new().in_process();
    let reply = app.post_json(
        "/command",
        r#"[{"command":"disable_notifications"},{"command":""},{"command":"enable_notifications"}]"#,
    );
    assert_eq!(reply.status, 422, "{}", reply.body);
    let json = reply.json();
    let results = json["_result"].as_array().expect("a result per item");
    assert_eq!(results.len(), 3, "{json}");
    assert_eq!(results[0]["_status"], "OK");
    assert_eq!(results[1]["_status"], "ERR");
    assert_eq!(results[2]["_status"], "OK");
    assert_eq!(
        app.commands(),
        ["DISABLE_NOTIFICATIONS", "ENABLE_NOTIFICATIONS"]
    );
}
