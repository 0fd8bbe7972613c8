//! `PATCH|POST /host` batches end to end: a client that goes away on the wire. What a batch
//! answers and pushes runs in-process (`module/ws/src/api_tests/host_batches.rs`).

use alignak_e2e::{Client, Setup};
use serde_json::{json, Value};

/// A client that sends a batch and goes away before the answer: the server drops the request
/// once it sees the connection end (hyper checks for that while a request is in flight). If the
/// store session was queued by then, it is committed all the same, and its commands must reach
/// the daemon too, or the store would say what the monitoring core never heard; if not,
/// nothing of the batch may show anywhere. Which of the two happens depends on timing (the
/// close comes while the batch is parsed or stored, most of the time); both must be whole.
#[test]
fn a_client_that_goes_away_leaves_the_store_and_the_commands_in_agreement() {
    use std::io::Write;

    const HOSTS: usize = 2000;
    let receiver = Setup::new()
        .module_param("give_result", "1")
        .module_param("give_feedback", "0")
        .module_param("set_timestamp", "0")
        .module_param("allow_host_creation", "1")
        .start();
    let names: Vec<Value> = (0..HOSTS)
        .map(|i| json!({"name": format!("gone{i}")}))
        .collect();
    let names = Value::Array(names).to_string();
    let reply = receiver.send_json("PATCH", "/host", &names);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));

    let batch: Vec<Value> = (0..HOSTS)
        .map(
            |i| json!({"name": format!("gone{i}"), "livestate": {"state": "UP", "output": "late"}}),
        )
        .collect();
    let body = Value::Array(batch).to_string();
    let mut stream = std::net::TcpStream::connect(receiver.address()).unwrap();
    write!(
        stream,
        "PATCH /host HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    // Long enough for the body to be read, short of the 2000 hosts being stored.
    std::thread::sleep(std::time::Duration::from_millis(20));
    drop(stream);

    // By then the request was dropped before its session was queued, or the session is queued:
    // the store runs sessions in order, so a read queued now sees the batch if it ever will.
    std::thread::sleep(std::time::Duration::from_secs(1));
    let stored = |name: &str| {
        let host = receiver.get(&format!("/host/{name}")).json()["_result"][0].clone();
        host["ls_output"] == "late"
    };
    if stored("gone0") {
        assert!(
            stored(&format!("gone{}", HOSTS - 1)),
            "the batch is stored whole"
        );
        let lines = receiver.wait_commands(HOSTS);
        assert_eq!(lines.len(), HOSTS, "each host's livestate, once");
        assert!(
            lines[0].ends_with("] PROCESS_HOST_CHECK_RESULT;gone0;0;late"),
            "{}",
            lines[0]
        );
        let last = format!("] PROCESS_HOST_CHECK_RESULT;gone{};0;late", HOSTS - 1);
        assert!(lines[HOSTS - 1].ends_with(&last), "{}", lines[HOSTS - 1]);
        eprintln!("the batch was stored: its {HOSTS} commands were sent");
    } else {
        assert!(
            !stored(&format!("gone{}", HOSTS - 1)),
            "the batch is stored whole or not"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
        assert!(
            receiver.commands().is_empty(),
            "commands of a batch never stored"
        );
        eprintln!("the request was dropped before its session was queued");
    }
}
