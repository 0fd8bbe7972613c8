//! End to end with real Alignak 2.1.5 daemons: a livestate sent through our API reaches the
//! arbiter (`alignak_arbiter` sink) and changes the host's state in the scheduler, and
//! `/alignak_map` shows the real daemons, kept with `alive: false` once the arbiter is gone.

use std::time::Duration;

use alignak_e2e::alignak::{Alignak, ARBITER_PORT};
use alignak_e2e::{Client, CommandSink, Setup};
use serde_json::{json, Value};

fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    alignak_e2e::wait_for(timeout, Duration::from_millis(250), || {
        check().ok_or_else(|| format!("timed out waiting for {what}"))
    })
}

/// test_host as the scheduler-master dumps it; `None` while the arbiter does not answer.
fn scheduler_test_host(alignak: &Alignak) -> Option<Value> {
    let dump = alignak.arbiter_get("/dump?o_name=test_host")?;
    dump.get("scheduler-master")?.get(0).cloned()
}

#[test]
fn commands_reach_a_real_alignak_and_the_map_shows_its_daemons() {
    let Some(mut alignak) = Alignak::start() else {
        return;
    };
    let receiver = Setup::new()
        .sink(CommandSink::LogOnly)
        .receiver_param("alignak_arbiter", &alignak.arbiter_url())
        .module_param("alignak_host", "127.0.0.1")
        .module_param("alignak_port", &ARBITER_PORT.to_string())
        .module_param("alignak_polling_period", "1")
        .module_param("alignak_daemons_polling_period", "1")
        .module_param("allow_host_creation", "1")
        .start();

    let body = json!({"command": "process_host_check_result", "host": "test_host",
                      "parameters": "1;DOWN through alignak-ws"});
    let reply = receiver.post_json("/command", &body.to_string());
    assert_eq!(reply.status, 200, "{}", reply.body);
    let host = wait_for(
        "test_host DOWN in the scheduler",
        Duration::from_secs(30),
        || scheduler_test_host(&alignak).filter(|host| host["state"] == "DOWN"),
    );
    assert_eq!(host["output"], "DOWN through alignak-ws");
    assert_eq!(host["state_type"], "HARD");

    // Issue 11: the first /host livestate of test_host, which Alignak has but the module
    // never saw (it "creates" it in its own store only), changes its state in the scheduler.
    let body = json!({"livestate": {"state": "UP", "output": "first livestate through /host"}});
    let reply = receiver.post_json("/host/test_host", &body.to_string());
    assert_eq!(reply.status, 200, "{}", reply.body);
    let host = wait_for(
        "test_host UP from /host in the scheduler",
        Duration::from_secs(30),
        || {
            scheduler_test_host(&alignak).filter(|host| {
                host["state"] == "UP" && host["output"] == "first livestate through /host"
            })
        },
    );
    assert_eq!(host["state_type"], "HARD");

    let map = wait_for(
        "the daemons in /alignak_map",
        Duration::from_secs(30),
        || {
            let map = receiver.get("/alignak_map").json();
            map["scheduler"]["scheduler-master"]
                .is_object()
                .then_some(map)
        },
    );
    for (daemon_type, name) in [
        ("arbiter", "arbiter-master"),
        ("scheduler", "scheduler-master"),
        ("poller", "poller-master"),
        ("reactionner", "reactionner-master"),
        ("broker", "broker-master"),
        ("receiver", "receiver-master"),
    ] {
        let daemon = &map[daemon_type][name];
        assert!(daemon.is_object(), "{daemon_type} {name} missing: {map}");
        assert!(daemon["port"].is_number(), "{daemon}");
    }
    assert_eq!(map["scheduler"]["scheduler-master"]["port"], 27768);
    // This receiver is in the map too, with its delivery state.
    let own = &map["receiver"]["receiver-test"];
    assert_eq!(own["alive"], true);
    assert_eq!(own["spool"]["delivered"], 2);
    assert_eq!(own["spool"]["pending"], 0);
    assert!(own["spool"]["sink"]
        .as_str()
        .unwrap()
        .contains(&format!("127.0.0.1:{ARBITER_PORT}")));

    // The arbiter goes away: its daemons stay in the map, not alive.
    alignak.stop();
    let map = wait_for(
        "the daemons marked not alive",
        Duration::from_secs(30),
        || {
            let map = receiver.get("/alignak_map").json();
            (map["arbiter"]["arbiter-master"]["alive"] == Value::Bool(false)).then_some(map)
        },
    );
    assert_eq!(map["scheduler"]["scheduler-master"]["alive"], false);
    assert_eq!(map["receiver"]["receiver-test"]["alive"], true);

    // Commands keep being accepted while the arbiter is down, and wait in the spool.
    let reply = receiver.post_json("/command", r#"{"command":"disable_notifications"}"#);
    assert_eq!(reply.status, 200);
    // Delivery is tried, fails, and the command stays pending.
    let own = wait_for("a failed delivery", Duration::from_secs(10), || {
        let map = receiver.get("/alignak_map").json();
        let own = map["receiver"]["receiver-test"].clone();
        (own["spool"]["sink_errors"].as_u64() >= Some(1)).then_some(own)
    });
    assert_eq!(own["spool"]["pending"], 1, "{own}");
    assert_eq!(own["spool"]["delivered"], 2, "{own}");
}
