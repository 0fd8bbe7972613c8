//! Several gateways on one real Alignak backend (1.4.16 on mongomock, `tests/backend/`):
//! concurrent first livestates of one new host, on one gateway and on two, end with every
//! answer 200, one host and one service of each name in the backend, and every livestate's
//! command delivered by the gateway that answered it.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use alignak_e2e::backend::Backend;
use alignak_e2e::Receiver;
use serde_json::{json, Value};

/// Requests of one race, all sent at once.
const RACERS: usize = 12;
/// Races per setup (one gateway, two gateways).
const RACES: usize = 10;
const SERVICES: usize = 3;

fn patch(receiver: &Receiver, path: &str, body: &Value) -> (u16, Value) {
    let reply = receiver.request(
        "PATCH",
        path,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    );
    (reply.status, reply.json())
}

/// Commands in the command file, without the `[<ts>] ` the daemon adds.
fn commands(receiver: &Receiver) -> Vec<String> {
    receiver
        .commands()
        .into_iter()
        .map(|line| match line.split_once("] ") {
            Some((_, rest)) if line.starts_with('[') => rest.to_string(),
            _ => line,
        })
        .collect()
}

fn gateway(backend: &Backend) -> Receiver {
    backend
        .setup()
        .module_param("give_result", "1")
        .module_param("allow_host_creation", "1")
        .module_param("allow_service_creation", "1")
        .start()
}

/// One race of `RACERS` first livestates of `host` spread over `gateways`; checks the
/// answers, the backend's documents and the delivered commands.
fn race(backend: &Backend, gateways: &[&Receiver], host: &str) {
    let answers: Vec<(usize, u16, Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..RACERS)
            .map(|i| {
                let gateway = gateways[i % gateways.len()];
                let body = json!({
                    "livestate": {"state": "UP", "output": format!("req-{i}")},
                    "services": [{"name": format!("svc-{}", i % SERVICES),
                                  "livestate": {"state": "OK", "output": format!("req-{i}")}}],
                });
                let path = format!("/host/{host}");
                scope.spawn(move || {
                    let (status, answer) = patch(gateway, &path, &body);
                    (i, status, answer)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a racer panicked"))
            .collect()
    });
    let created_line = json!(format!("Requested host '{host}' created."));
    let mut creators = 0;
    let mut expected: Vec<(usize, String)> = Vec::new();
    for (i, status, answer) in &answers {
        assert_eq!(*status, 200, "{host} request {i}: {answer}");
        assert_eq!(answer["_status"], "OK", "{host} request {i}: {answer}");
        let result = answer["_result"].as_array().expect("_result");
        if result.contains(&created_line) {
            // The original's rule: a host created by the request has its state written to
            // the store, and no command (Alignak does not know the host yet).
            creators += 1;
            continue;
        }
        let gateway = i % gateways.len();
        expected.push((
            gateway,
            format!("PROCESS_HOST_CHECK_RESULT;{host};0;req-{i}"),
        ));
        expected.push((
            gateway,
            format!(
                "PROCESS_SERVICE_CHECK_RESULT;{host};svc-{};0;req-{i}",
                i % SERVICES
            ),
        ));
    }
    assert_eq!(creators, 1, "one creator per race: {answers:?}");

    let hosts = backend.items("host", json!({"name": host}));
    assert_eq!(hosts.len(), 1, "hosts named {host}: {hosts:?}");
    let host_id = hosts[0]["_id"].as_str().expect("_id");
    let services = backend.services_of(host_id);
    let mut names: Vec<&str> = services.iter().filter_map(|s| s["name"].as_str()).collect();
    names.sort_unstable();
    let wanted: Vec<String> = (0..SERVICES).map(|k| format!("svc-{k}")).collect();
    assert_eq!(names, wanted, "services of {host}");
    // No service left behind on a removed host.
    let hosts_now: HashSet<String> = backend
        .items("host", json!({}))
        .iter()
        .filter_map(|h| h["_id"].as_str().map(String::from))
        .collect();
    let orphans: Vec<Value> = backend
        .items("service", json!({}))
        .into_iter()
        .filter(|s| !s["host"].as_str().is_some_and(|h| hosts_now.contains(h)))
        .collect();
    assert!(orphans.is_empty(), "services of removed hosts: {orphans:?}");

    // Every acknowledged livestate's command, in the command file of the gateway that
    // answered it.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let delivered: Vec<HashSet<String>> = gateways
            .iter()
            .map(|g| commands(g).into_iter().collect())
            .collect();
        let missing: Vec<_> = expected
            .iter()
            .filter(|(g, line)| !delivered[*g].iter().any(|d| d.ends_with(line.as_str())))
            .collect();
        if missing.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{host}: commands not delivered: {missing:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn concurrent_first_livestates_make_one_host_on_one_gateway_and_on_two() {
    let Some(backend) = Backend::start() else {
        return;
    };
    let first = gateway(&backend);
    let second = gateway(&backend);
    for round in 0..RACES {
        race(&backend, &[&first], &format!("race-one-{round:02}"));
    }
    for round in 0..RACES {
        race(
            &backend,
            &[&first, &second],
            &format!("race-two-{round:02}"),
        );
    }
    // How often the cross-gateway rule had to remove a copy (depends on timing: shown, not
    // asserted; the checks above hold either way).
    let removed: usize = [&first, &second]
        .iter()
        .map(|g| {
            g.log()
                .matches("created by another gateway meanwhile")
                .count()
        })
        .sum();
    println!("copies removed by the survivor rule over {RACES} two-gateway races: {removed}");
}
