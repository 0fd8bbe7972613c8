//! `/alignak_map`: the Alignak daemons as the arbiter knows them, polled in the background,
//! plus this receiver itself.
//!
//! The arbiter is asked Alignak 2.x's way (`GET /` then `GET /satellites_configuration`) and,
//! when that is not found, Alignak 1.x's (`GET /ping` answering `"pong"`, then
//! `GET /get_all_states`); both answer `{"<type>": [{<daemon properties>}, ...]}`. When the
//! arbiter cannot be reached, the daemons last seen are kept, marked `alive: false`.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use alignak_module_abi::DaemonStatus;
use serde_json::{json, Map, Value};

use crate::config::WsConfig;

/// Properties kept for each daemon (the original's 1.6.0+ list); a missing one is `"unknown"`.
const KEPT: &[&str] = &[
    "address",
    "port",
    "spare",
    "is_sent",
    "realm_name",
    "manage_sub_realms",
    "manage_arbiters",
    "active",
    "reachable",
    "alive",
    "passive",
    "last_check",
    "polling_interval",
    "max_check_attempts",
];
const DAEMON_TYPES: &[&str] = &[
    "arbiter",
    "scheduler",
    "poller",
    "reactionner",
    "receiver",
    "broker",
];
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Polled {
    /// `type -> name -> properties`, as last fetched.
    daemons: Map<String, Value>,
    arbiter_alive: bool,
    last_error: Option<String>,
}

pub struct ArbiterPoller {
    polled: Arc<Mutex<Polled>>,
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

impl ArbiterPoller {
    /// Starts polling, unless `alignak_host` is empty (polling off, as in the original).
    pub fn start(config: &WsConfig) -> std::io::Result<ArbiterPoller> {
        let polled = Arc::new(Mutex::new(Polled::default()));
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread = match &config.alignak_host {
            None => None,
            Some(host) => {
                let base = format!("http://{host}:{}", config.alignak_port);
                let periods = (
                    Duration::from_secs(config.alignak_polling_period),
                    Duration::from_secs(config.alignak_daemons_polling_period),
                );
                let (polled, stop) = (Arc::clone(&polled), Arc::clone(&stop));
                Some(
                    std::thread::Builder::new()
                        .name("ws-arbiter-poller".into())
                        .spawn(move || poll_loop(&base, periods, &polled, &stop))?,
                )
            }
        };
        Ok(ArbiterPoller {
            polled,
            stop,
            thread,
        })
    }

    /// The map: what the arbiter said, and this receiver.
    pub fn map(&self, own: &DaemonStatus) -> Value {
        let polled = lock(&self.polled);
        let mut map = polled.daemons.clone();
        if !polled.arbiter_alive {
            for daemons in map.values_mut() {
                if let Some(daemons) = daemons.as_object_mut() {
                    for properties in daemons.values_mut() {
                        properties["alive"] = json!(false);
                    }
                }
            }
        }
        let receivers = map.entry("receiver").or_insert_with(|| json!({}));
        if let Some(receivers) = receivers.as_object_mut() {
            receivers.insert(own.identity.name.to_string(), own_entry(own));
        }
        Value::Object(map)
    }
}

impl Drop for ArbiterPoller {
    fn drop(&mut self) {
        let (flag, wake) = &*self.stop;
        *lock(flag) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// This receiver, as the map shows it: always alive while it answers, with its delivery state.
fn own_entry(own: &DaemonStatus) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let oldest: Option<f64> = own.oldest_pending.into_option();
    let last: Option<f64> = own.last_delivery.into_option();
    json!({
        "address": own.identity.address.as_str(),
        "port": own.identity.port,
        "alive": true,
        "reachable": true,
        "spool": {
            "accepted": own.commands_accepted,
            "delivered": own.commands_delivered,
            "pending": own.commands_pending,
            "pending_bytes": own.pending_bytes,
            "sink_errors": own.sink_errors,
            "oldest_pending_age": oldest.map(|t| (now - t).max(0.0)),
            "last_delivery": last,
            // Where the daemon writes is for its log, not for any client: the file name only.
            "sink": crate::error::redact_paths(own.sink.as_str()),
        },
    })
}

/// `{"<type>": [{...}]}` -> `{"<type>": {"<name>": {kept properties}}}`.
pub fn build_map(states: &Value) -> Map<String, Value> {
    let mut map = Map::new();
    for daemon_type in DAEMON_TYPES {
        let Some(list) = states.get(daemon_type).and_then(Value::as_array) else {
            continue;
        };
        let mut daemons = Map::new();
        for daemon in list {
            let name = daemon
                .get(format!("{daemon_type}_name"))
                .or_else(|| daemon.get("name"))
                .and_then(Value::as_str);
            let Some(name) = name else { continue };
            let mut kept = Map::new();
            for key in KEPT {
                kept.insert(
                    (*key).into(),
                    daemon.get(*key).cloned().unwrap_or(json!("unknown")),
                );
            }
            daemons.insert(name.to_string(), Value::Object(kept));
        }
        map.insert((*daemon_type).into(), Value::Object(daemons));
    }
    map
}

fn poll_loop(
    base: &str,
    (ping_period, states_period): (Duration, Duration),
    polled: &Mutex<Polled>,
    stop: &(Mutex<bool>, Condvar),
) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(HTTP_TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let mut last_states: Option<Instant> = None;
    loop {
        let result = poll_once(&agent, base, last_states, states_period);
        {
            let mut polled = lock(polled);
            match result {
                Ok(Some(daemons)) => {
                    polled.daemons = daemons;
                    polled.arbiter_alive = true;
                    polled.last_error = None;
                    last_states = Some(Instant::now());
                }
                Ok(None) => polled.arbiter_alive = true,
                Err(err) => {
                    if polled.last_error.as_deref() != Some(err.as_str()) {
                        log::warn!(
                            "Alignak arbiter at {base}: {err} (its daemons are shown as not alive in /alignak_map; set alignak_host empty to stop polling)"
                        );
                    }
                    polled.arbiter_alive = false;
                    polled.last_error = Some(err);
                }
            }
        }
        let (flag, wake) = stop;
        let guard = lock(flag);
        let (guard, _) = wake
            .wait_timeout_while(guard, ping_period.min(states_period), |stopped| !*stopped)
            .unwrap_or_else(|poison| poison.into_inner());
        if *guard {
            return;
        }
    }
}

/// Pings the arbiter; fetches the daemons when a states period has passed. `Ok(None)`: alive,
/// no new states.
fn poll_once(
    agent: &ureq::Agent,
    base: &str,
    last_states: Option<Instant>,
    states_period: Duration,
) -> Result<Option<Map<String, Value>>, String> {
    let get = |path: &str| -> Result<(u16, Value), String> {
        let url = format!("{base}{path}");
        let mut response = agent
            .get(&url)
            .call()
            .map_err(|e| format!("GET {url}: {e}"))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("GET {url}: {e}"))?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    };
    // Alignak 2.x answers its identity on `/`; 1.x has `/ping`.
    let (status, _) = get("/")?;
    let alignak_2 = status == 200;
    if !alignak_2 {
        let (status, pong) = get("/ping")?;
        if status != 200 || pong != json!("pong") {
            return Err(format!(
                "not an Alignak arbiter (GET / answered {status}, /ping did not answer \"pong\")"
            ));
        }
    }
    if last_states.is_some_and(|t| t.elapsed() < states_period) {
        return Ok(None);
    }
    let path = if alignak_2 {
        "/satellites_configuration"
    } else {
        "/get_all_states"
    };
    let (status, states) = get(path)?;
    if status != 200 || !states.is_object() {
        return Err(format!("GET {path} answered {status}"));
    }
    Ok(Some(build_map(&states)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_keeps_the_originals_properties_by_daemon_name() {
        let states = json!({
            "arbiter": [{"arbiter_name": "arbiter-master", "address": "127.0.0.1", "port": 7770,
                         "alive": true, "secret": "x"}],
            "scheduler": [{"scheduler_name": "scheduler-master", "port": 7768}],
            "unknown_type": [{"x_name": "x"}],
        });
        let map = build_map(&states);
        assert_eq!(map["arbiter"]["arbiter-master"]["port"], 7770);
        assert_eq!(map["arbiter"]["arbiter-master"]["alive"], true);
        assert_eq!(map["arbiter"]["arbiter-master"]["realm_name"], "unknown");
        assert!(map["arbiter"]["arbiter-master"].get("secret").is_none());
        assert_eq!(map["scheduler"]["scheduler-master"]["port"], 7768);
        assert!(!map.contains_key("unknown_type"));
    }
}
