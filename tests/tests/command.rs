//! `POST /command` end to end: the real daemon, the real module library, a real command file.
//! What needs them: a chunked body on the wire, the `[<ts>] ` the daemon adds, and many
//! clients on their own connections. The rest of `/command` runs in-process
//! (`module/ws/src/api_tests/command.rs`).

use alignak_e2e::{Client, Setup};
use serde_json::json;

/// The command-file line without its `[<ts>] ` prefix, checking that the prefix is a recent
/// Unix time when the daemon added it.
fn without_added_timestamp(line: &str) -> &str {
    let rest = line.strip_prefix('[').expect("timestamp prefix");
    let (ts, command) = rest.split_once("] ").expect("timestamp prefix");
    let ts: u64 = ts.parse().expect("numeric timestamp");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        ts <= now && now - ts < 600,
        "timestamp {ts} is not now ({now})"
    );
    command
}

#[test]
fn a_body_without_content_length_is_limited_too() {
    let receiver = Setup::new().module_param("max_body_size", "1024").start();
    let chunk = "a".repeat(4000);
    let body = format!("{:x}\r\n{chunk}\r\n0\r\n\r\n", chunk.len());
    let reply = receiver.request(
        "POST",
        "/command",
        &[
            ("Content-Type", "application/json"),
            ("Transfer-Encoding", "chunked"),
        ],
        body.as_bytes(),
    );
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert_eq!(reply.json()["_status"], "ERR");
}

#[test]
fn many_concurrent_clients_lose_nothing_and_keep_each_clients_order() {
    let receiver = Setup::new().start();
    let clients = 8;
    let per_client = 50;
    std::thread::scope(|scope| {
        for client in 0..clients {
            let receiver = &receiver;
            scope.spawn(move || {
                for n in 0..per_client {
                    let body =
                        json!({"command": "disable_host_check", "host": format!("c{client}-h{n}")});
                    let reply = receiver.post_json("/command", &body.to_string());
                    assert_eq!(reply.status, 200, "{}", reply.body);
                }
            });
        }
    });
    let lines = receiver.wait_commands(clients * per_client);
    assert_eq!(lines.len(), clients * per_client);
    for client in 0..clients {
        let mine: Vec<String> = lines
            .iter()
            .map(|l| without_added_timestamp(l).to_string())
            .filter(|l| l.starts_with(&format!("DISABLE_HOST_CHECK;c{client}-")))
            .collect();
        let expected: Vec<String> = (0..per_client)
            .map(|n| format!("DISABLE_HOST_CHECK;c{client}-h{n}"))
            .collect();
        assert_eq!(mine, expected, "client {client}");
    }
}
