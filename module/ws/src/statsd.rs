//! StatsD, as the original module (1.5+) sent it: `<statsd_prefix>.<module alias>.<key>`
//! counters (`|c`) and timers (`|ms`) over UDP, with the original's key names
//! (`host-livestate`, `host-livestate-time`, `backend-get.host`, `backend-get-time.host`, ...).
//!
//! Sending never blocks a request: metrics go through a bounded queue to a thread of
//! cadence's that writes them to a non-blocking UDP socket; when the queue is full (a StatsD
//! server that cannot keep up does not slow anything, UDP drops anyway), they are dropped.
//! Like [`crate::metrics`]' shared series, the client is one per process: the backend client
//! and the store reach it from threads where no request's `App` is at hand.

use std::net::UdpSocket;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cadence::{Counted, QueuingMetricSink, StatsdClient, Timed, UdpMetricSink};

use crate::config::WsConfig;

static CLIENT: OnceLock<StatsdClient> = OnceLock::new();

/// Metrics waiting to be sent, at most: beyond, they are dropped.
const QUEUE: usize = 16 * 1024;

/// Starts the export when `statsd_enabled` is set. A StatsD address that does not resolve is
/// an error (the start reports it); an unreachable server is not (UDP).
pub fn start(config: &WsConfig) -> Result<(), String> {
    if !config.statsd_enabled {
        return Ok(());
    }
    let target = (config.statsd_host.as_str(), config.statsd_port);
    let socket = UdpSocket::bind("0.0.0.0:0")
        .and_then(|socket| socket.set_nonblocking(true).map(|()| socket))
        .map_err(|e| format!("StatsD: cannot open a UDP socket: {e}"))?;
    let sink = UdpMetricSink::from(target, socket).map_err(|e| {
        format!(
            "StatsD: cannot use {}:{}: {e}",
            config.statsd_host, config.statsd_port
        )
    })?;
    let queued = QueuingMetricSink::builder()
        .with_capacity(QUEUE)
        .with_error_handler(|_| {})
        .build(sink);
    let prefix = format!("{}.{}", config.statsd_prefix, config.alias);
    let client = StatsdClient::builder(&prefix, queued)
        .with_error_handler(|_| {})
        .build();
    log::info!(
        "StatsD: sending to {}:{} as '{prefix}'",
        config.statsd_host,
        config.statsd_port
    );
    // A second start in one process (a module restarted) keeps the first client.
    let _ = CLIENT.set(client);
    Ok(())
}

fn count(key: &str, n: u64) {
    if let Some(client) = CLIENT.get() {
        let _ = client.count(key, n);
    }
}

fn time(key: &str, took: Duration) {
    if let Some(client) = CLIENT.get() {
        let _ = client.time(key, took);
    }
}

/// One call to the Alignak backend: `backend-<method>.<resource>` and its time.
pub fn backend_call(method: &str, resource: &str, took: Duration) {
    if CLIENT.get().is_none() {
        return;
    }
    let verb = method.to_ascii_lowercase();
    count(&format!("backend-{verb}.{resource}"), 1);
    time(&format!("backend-{verb}-time.{resource}"), took);
}

/// The livestates of one `/host` request, counted once its commands are on their way:
/// `host-livestate` / `service-livestate` and their receive-to-command times.
pub struct Livestates {
    received: Instant,
    hosts: u64,
    services: u64,
}

impl Livestates {
    /// `hosts` host and `services` service livestates, received at `received`.
    pub fn new(hosts: u64, services: u64, received: Instant) -> Livestates {
        Livestates {
            received,
            hosts,
            services,
        }
    }

    pub fn sent(self) {
        if CLIENT.get().is_none() {
            return;
        }
        let took = self.received.elapsed();
        for (key, n) in [("host", self.hosts), ("service", self.services)] {
            if n > 0 {
                count(&format!("{key}-livestate"), n);
                time(&format!("{key}-livestate-time"), took);
            }
        }
    }
}
