//! HTTP end to end: a HEAD answer without a body on the wire, and `/alignak_map`'s own entry
//! (the daemon's spool) and an arbiter that is not there (the log). The HTTP conventions run
//! in-process (`module/ws/src/api_tests/http.rs`).

use alignak_e2e::{Client, Setup};

#[test]
fn head_answers_without_a_body() {
    let receiver = Setup::new().start();
    let reply = receiver.request("HEAD", "/are_you_alive", &[], b"");
    assert_eq!(reply.status, 200);
    assert!(reply.body.is_empty());
}

#[test]
fn alignak_map_always_shows_this_receiver() {
    // No arbiter polling (alignak_host empty), as in the original's tests.
    let receiver = Setup::new().module_param("alignak_host", "").start();
    assert_eq!(
        receiver
            .post_json("/command", r#"{"command":"disable_notifications"}"#)
            .status,
        200
    );
    receiver.wait_commands(1);
    let map = receiver.get("/ws/alignak_map").json();
    let types: Vec<&String> = map.as_object().unwrap().keys().collect();
    assert_eq!(types, ["receiver"], "{map}");
    let own = &map["receiver"]["receiver-test"];
    assert_eq!(own["alive"], true);
    assert_eq!(own["address"], "127.0.0.1");
    assert_eq!(own["port"], 7773);
    assert_eq!(own["spool"]["accepted"], 1);
    assert_eq!(own["spool"]["delivered"], 1);
    assert_eq!(own["spool"]["pending"], 0);
    assert!(own["spool"]["last_delivery"].is_number());
    assert!(own["spool"]["sink"]
        .as_str()
        .unwrap()
        .starts_with("command file "));

    // An arbiter that is not there: still only this receiver, and the module keeps serving.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port().to_string();
    drop(closed);
    let receiver = Setup::new()
        .module_param("alignak_port", &port)
        .module_param("alignak_polling_period", "1")
        .start();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let map = receiver.get("/alignak_map").json();
    assert_eq!(map.as_object().unwrap().len(), 1, "{map}");
    assert!(
        receiver
            .log()
            .contains(&format!("Alignak arbiter at http://127.0.0.1:{port}")),
        "{}",
        receiver.log()
    );
}
