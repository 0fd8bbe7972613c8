//! `GET /health` (and `/ws/health`): whether the gateway takes commands and delivers them, for
//! `check_http` and load balancers. Cheap (the daemon's counters, no store, no backend) and
//! without secrets (no paths, no user names): open without credentials unless
//! `health_public 0`.

use alignak_module_abi::DaemonStatus;
use hyper::StatusCode;
use serde_json::{json, Value};

use crate::config::WsConfig;
use crate::response::{json_body, Envelope, HttpResponse, Status};

/// Why the gateway is not healthy; none when it is.
fn problems(status: &DaemonStatus, config: &WsConfig, now: f64) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(oldest) = status.oldest_pending.into_option() {
        let age = (now - oldest).max(0.0);
        if age > config.health_max_age_secs as f64 {
            problems.push(format!(
                "delivery stalled: the oldest pending command is {age:.0} s old (health_max_age is {} s)",
                config.health_max_age_secs
            ));
        }
    }
    if status.pending_bytes > config.health_max_spool_size {
        problems.push(format!(
            "spool backing up: {} bytes of commands wait for delivery (health_max_spool_size is {})",
            status.pending_bytes, config.health_max_spool_size
        ));
    }
    problems
}

fn age(now: f64, at: Option<f64>) -> Value {
    at.map_or(Value::Null, |t| {
        json!(((now - t).max(0.0) * 10.0).round() / 10.0)
    })
}

pub fn get(status: &DaemonStatus, config: &WsConfig) -> HttpResponse {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let problems = problems(status, config, now);
    let (code, text) = if problems.is_empty() {
        (StatusCode::OK, "OK")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "CRITICAL")
    };
    let status_word = if problems.is_empty() {
        Status::Ok
    } else {
        Status::Err
    };
    let body = Envelope::new(status_word)
        // Every ERR answer of the API carries `_issues`: here the same reasons.
        .issues(problems.clone())
        .with("health", text)
        .with("reasons", problems)
        .with("commands_pending", status.commands_pending)
        .with("pending_bytes", status.pending_bytes)
        .with(
            "oldest_pending_age",
            age(now, status.oldest_pending.into_option()),
        )
        .with(
            "last_delivery_age",
            age(now, status.last_delivery.into_option()),
        )
        .with("commands_accepted", status.commands_accepted)
        .with("commands_delivered", status.commands_delivered)
        .with("sink_errors", status.sink_errors);
    json_body(code, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::ROption;

    use crate::config::testing::config;

    #[test]
    fn old_commands_and_a_full_spool_are_the_reasons() {
        let c = config(&[("health_max_age", "10"), ("health_max_spool_size", "100")]);
        let mut status = DaemonStatus::default();
        assert!(problems(&status, &c, 1000.0).is_empty());
        status.oldest_pending = ROption::RSome(995.0);
        assert!(problems(&status, &c, 1000.0).is_empty());
        status.oldest_pending = ROption::RSome(980.0);
        status.pending_bytes = 101;
        let found = problems(&status, &c, 1000.0);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("delivery stalled: the oldest pending command is 20 s old"));
        assert!(found[1].starts_with("spool backing up: 101 bytes"));
    }
}
