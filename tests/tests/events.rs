//! `POST /event` end to end: what the daemon makes of the comment command in the command file
//! (its `[<ts>] `, a line break in the comment escaped). The answers and the refused requests
//! run in-process (`module/ws/src/api_tests/events.rs`).

use alignak_e2e::{Client, Setup};
use serde_json::json;

#[test]
fn comments_reach_the_command_file_with_their_line_breaks_escaped() {
    let receiver = Setup::new().start();
    for body in [
        json!({"host": "test_host", "comment": "hello"}),
        json!({"host": "test_host", "service": "svc", "author": "admin",
               "comment": "two\nlines; and a semicolon", "timestamp": 1700000000}),
    ] {
        let reply = receiver.post_json("/ws/event", &body.to_string());
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let lines = receiver.wait_commands(2);
    assert!(
        lines[0].ends_with("] ADD_HOST_COMMENT;test_host;1;Alignak WS;hello"),
        "{lines:?}"
    );
    assert_eq!(
        lines[1],
        "[1700000000] ADD_SVC_COMMENT;test_host;svc;1;admin;two\\nlines; and a semicolon"
    );
}
