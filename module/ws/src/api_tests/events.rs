//! `POST /event` in-process: the comment command is pushed as the module builds it, the
//! answer is the original's, and errors are JSON with real status codes. How the line is
//! written into the command file (its `[<ts>] `, its line break escaped) is the daemon's:
//! `tests/tests/events.rs`.

use serde_json::json;

use crate::in_process::{Client, InProcess, Setup};

#[test]
fn comments_are_pushed_and_mistakes_are_refused() {
    let app = Setup::new().in_process();
    for (body, line) in [
        (
            json!({"host": "test_host", "comment": "hello"}),
            "ADD_HOST_COMMENT;test_host;1;Alignak WS;hello",
        ),
        (
            json!({"host": "test_host", "service": "svc", "author": "admin",
                   "comment": "two\nlines; and a semicolon", "timestamp": 1700000000}),
            "[1700000000] ADD_SVC_COMMENT;test_host;svc;1;admin;two\nlines; and a semicolon",
        ),
    ] {
        let reply = app.post_json("/ws/event", &body.to_string());
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.json(), json!({"_status": "OK", "_result": [line]}));
    }
    let lines = app.wait_commands(2);
    assert_eq!(
        lines,
        [
            "ADD_HOST_COMMENT;test_host;1;Alignak WS;hello",
            "[1700000000] ADD_SVC_COMMENT;test_host;svc;1;admin;two\nlines; and a semicolon"
        ]
    );

    for (body, status, message) in [
        ("{}", 400, "You must POST parameters on this endpoint."),
        (
            r#"{"comment":"c"}"#,
            400,
            "Missing host and/or service parameter.",
        ),
        (
            r#"{"host":"test_host"}"#,
            400,
            "Missing comment. If you do not have any comment, do not comment ;)",
        ),
        (
            r#"{"host":"test_host","comment":"c","timestamp":"soon"}"#,
            400,
            "Timestamp must be an integer value",
        ),
    ] {
        let reply = app.post_json("/event", body);
        assert_eq!(reply.status, status, "{body}");
        assert_eq!(
            reply.json(),
            json!({"_status": "ERR", "_issues": [message]}),
            "{body}"
        );
    }
    let reply = app.post_json(
        "/event",
        r#"{"host":"a;DISABLE_NOTIFICATIONS","comment":"c"}"#,
    );
    assert_eq!(reply.status, 400);
    let reply = app.get("/event");
    assert_eq!(reply.status, 405);
    assert_eq!(
        reply.json(),
        json!({"_status": "ERR", "_issues": ["You must only POST on this endpoint."]})
    );
    // Nothing else reached the core.
    app.post_json("/command", r#"{"command":"disable_notifications"}"#);
    let lines = app.wait_commands(3);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[2], "DISABLE_NOTIFICATIONS");
}
