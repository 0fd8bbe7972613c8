//! `GET /metrics`: the counters move by what the requests did, the scrape needs credentials
//! unless `metrics_public 1`, and the exposition parses with the official Python client's
//! OpenMetrics parser (`prometheus_client` from PyPI).

use std::collections::BTreeMap;

use alignak_e2e::{basic, Client, Receiver, Setup};

const USERS_FILE: &str = "etc/users.htpasswd";

fn htpasswd(user: &str, password: &str) -> String {
    let hash = bcrypt::hash_with_result(password, 4)
        .unwrap()
        .format_for_version(bcrypt::Version::TwoY);
    format!("{user}:{hash}\n")
}

fn with_user() -> Setup {
    Setup::new()
        .module_param("authorization", "1")
        .module_param("users_file", USERS_FILE)
        .file(USERS_FILE, &htpasswd("alice", "s3cret"))
        .credentials("alice", "s3cret")
}

/// Every sample of a scrape, `name{labels}` -> value (labels as written, in their order).
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

fn scrape(receiver: &Receiver) -> (String, BTreeMap<String, f64>) {
    let reply = receiver.get("/metrics");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let text = reply.body;
    let parsed = samples(&text);
    (text, parsed)
}

fn value(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

fn delta(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>, series: &str) -> f64 {
    value(after, series) - value(before, series)
}

#[test]
fn counters_move_by_what_the_requests_did() {
    let receiver = with_user().start();
    let (_, before) = scrape(&receiver);
    for _ in 0..3 {
        let reply = receiver.post_json("/command", r#"{"command":"disable_notifications"}"#);
        assert_eq!(reply.status, 200);
    }
    let reply = receiver.post_json("/command", r#"{"command":"disable_host_check"}"#);
    assert_eq!(reply.status, 400);
    let reply = receiver.post_json(
        "/command",
        r#"[{"command":"enable_notifications"},{"command":"disable_notifications"}]"#,
    );
    assert_eq!(reply.status, 200);
    let wrong = basic("alice", "wrong");
    let reply = receiver.request("GET", "/api", &[("Authorization", &wrong)], b"");
    assert_eq!(reply.status, 401);
    assert_eq!(receiver.get("/nowhere").status, 404);
    receiver.wait_commands(5);

    let (_, after) = scrape(&receiver);
    let requests = |status: u16| {
        format!(
            r#"alignak_ws_http_requests_total{{endpoint="command",method="POST",status="{status}"}}"#
        )
    };
    assert_eq!(delta(&before, &after, &requests(200)), 4.0);
    assert_eq!(delta(&before, &after, &requests(400)), 1.0);
    assert_eq!(
        delta(
            &before,
            &after,
            r#"alignak_ws_http_requests_total{endpoint="api",method="GET",status="401"}"#
        ),
        1.0
    );
    assert_eq!(
        delta(
            &before,
            &after,
            r#"alignak_ws_http_requests_total{endpoint="unknown",method="GET",status="404"}"#
        ),
        1.0
    );
    assert_eq!(
        delta(
            &before,
            &after,
            r#"alignak_ws_auth_refusals_total{reason="invalid"}"#
        ),
        1.0
    );
    // The queue's and the daemon's own counters: 5 commands, in 4 hand-overs.
    assert_eq!(
        delta(&before, &after, "alignak_ws_commands_accepted_total"),
        5.0
    );
    assert_eq!(
        delta(&before, &after, "alignak_ws_command_pushes_total"),
        4.0
    );
    assert_eq!(
        delta(&before, &after, "alignak_ws_spool_commands_accepted_total"),
        5.0
    );
    // Delivered: the regular-file sink takes them at once; wait for the delivery thread.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, now) = scrape(&receiver);
        if delta(&before, &now, "alignak_ws_spool_commands_delivered_total") == 5.0 {
            assert_eq!(value(&now, "alignak_ws_spool_pending_commands"), 0.0);
            assert_eq!(value(&now, "alignak_ws_oldest_pending_age_seconds"), 0.0);
            assert!(value(&now, "alignak_ws_last_delivery_timestamp_seconds") > 1.0e9);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not delivered: {now:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // The duration histogram counted each /command answer.
    assert_eq!(
        delta(
            &before,
            &after,
            r#"alignak_ws_http_request_duration_seconds_count{endpoint="command"}"#
        ),
        5.0
    );
    assert!(value(&after, "alignak_ws_process_resident_memory_bytes") > 1.0e6);
    assert!(value(&after, "alignak_ws_process_open_fds") > 3.0);
    assert!(value(&after, "alignak_ws_process_cpu_seconds_total") > 0.0);
}

#[test]
fn the_scrape_needs_credentials_unless_metrics_public() {
    let receiver = with_user().start();
    let reply = receiver.request("GET", "/metrics", &[("Authorization", "")], b"");
    assert_eq!(reply.status, 401);
    assert_eq!(reply.header("content-type"), Some("application/json"));

    let receiver = with_user().module_param("metrics_public", "1").start();
    let reply = receiver.request("GET", "/ws/metrics", &[("Authorization", "")], b"");
    assert_eq!(reply.status, 200);
    // Only GET (and HEAD).
    let reply = receiver.request("POST", "/metrics", &[], b"");
    assert_eq!(reply.status, 405);
}

#[test]
fn the_exposition_parses_with_the_official_python_parser() {
    let Some(python) = alignak_e2e::pytools::python_or_skip(
        "prometheus-client",
        &["prometheus_client"],
        "prometheus_client.openmetrics.parser",
    ) else {
        return;
    };
    let receiver = with_user().start();
    receiver.post_json("/command", r#"{"command":"disable_notifications"}"#);
    receiver.post_json("/host/web01", r#"{"livestate":{"state":"UP"}}"#);
    let (text, _) = scrape(&receiver);
    // The strict OpenMetrics parser: it fails on a missing `# EOF`, a bad name, a counter
    // without `_total`, a histogram without `+Inf`, ...
    let script = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
names = [f.name for f in text_string_to_metric_families(open(sys.argv[1]).read())]
assert 'alignak_ws_http_requests' in names, names
assert 'alignak_ws_http_request_duration_seconds' in names, names
print(len(names))
"#;
    let out = alignak_e2e::pytools::check_file(
        &python,
        &["-c", script],
        "scrape.txt",
        &text,
        &format!("the parser refused the scrape:\n{text}"),
    );
    let families: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(families >= 15, "{families} families:\n{text}");
}

/// The StatsD packets of a `PATCH /host`, as the original 1.5+ named them
/// (`<prefix>.<module alias>.host-livestate:1|c`, `...host-livestate-time:<ms>|ms`).
#[test]
fn statsd_gets_the_originals_counters_and_timers() {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let port = socket.local_addr().unwrap().port().to_string();
    let receiver = Setup::new()
        .module_param("statsd_enabled", "1")
        .module_param("statsd_host", "127.0.0.1")
        .module_param("statsd_port", &port)
        .module_param("statsd_prefix", "alignak")
        .module_param("allow_host_creation", "1")
        .module_param("allow_service_creation", "1")
        .start();
    let reply = receiver.send_json("PATCH", "/host/web01", r#"{"livestate":{"state":"UP"},"services":[{"name":"http","livestate":{"state":"OK"}},{"name":"ssh","livestate":[{"state":"OK"},{"state":"WARNING"}]}]}"#);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let mut packets = Vec::new();
    let mut buffer = [0u8; 2048];
    while packets.len() < 4 {
        let (n, _) = socket
            .recv_from(&mut buffer)
            .unwrap_or_else(|e| panic!("StatsD packets so far {packets:?}: {e}"));
        let text = String::from_utf8_lossy(&buffer[..n]).to_string();
        packets.extend(text.lines().map(str::to_string));
    }
    let find = |name: &str| {
        packets
            .iter()
            .find(|p| p.starts_with(&format!("alignak.web-services.{name}:")))
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {packets:?}"))
    };
    assert_eq!(
        find("host-livestate"),
        "alignak.web-services.host-livestate:1|c"
    );
    assert_eq!(
        find("service-livestate"),
        "alignak.web-services.service-livestate:3|c"
    );
    for timer in ["host-livestate-time", "service-livestate-time"] {
        let packet = find(timer);
        let value = packet
            .split_once(':')
            .and_then(|(_, v)| v.strip_suffix("|ms"))
            .unwrap_or_else(|| panic!("{packet} is not a timer"));
        assert!(value.parse::<u64>().is_ok(), "{packet}");
    }
}
