//! Check results: from a request's livestate to the `PROCESS_*_CHECK_RESULT` line
//! (upstream-spec §6.1, §6.2), the stored `ls_*` state and the history message.

use crate::store::model::{Kind, LastState};

/// One livestate of a request, validated (its timestamp is an integer or absent).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LivestateIn {
    pub state: Option<String>,
    pub output: String,
    pub long_output: String,
    pub perf_data: String,
    pub timestamp: Option<i64>,
}

/// Where the check result goes.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Host(&'a str),
    Service { host: &'a str, service: &'a str },
}

const HOST_STATES: [(&str, i64); 3] = [("UP", 0), ("DOWN", 1), ("UNREACHABLE", 2)];
// UNREACHABLE is 4 for services: the original's mapping, kept for compatibility.
const SERVICE_STATES: [(&str, i64); 5] = [
    ("OK", 0),
    ("WARNING", 1),
    ("CRITICAL", 2),
    ("UNKNOWN", 3),
    ("UNREACHABLE", 4),
];

/// The state's upper-cased name and code, or the original's issue text.
pub fn state_of(target: Target, livestate: &LivestateIn) -> Result<(String, i64), String> {
    let Some(state) = &livestate.state else {
        return Err("Missing state in the livestate.".into());
    };
    let state = state.to_uppercase();
    let table: &[(&str, i64)] = match target {
        Target::Host(_) => &HOST_STATES,
        Target::Service { .. } => &SERVICE_STATES,
    };
    match table.iter().find(|(name, _)| *name == state) {
        Some((_, code)) => Ok((state, *code)),
        None => Err(match target {
            Target::Host(_) => {
                format!("Host state must be UP, DOWN or UNREACHABLE, and not '{state}'.")
            }
            Target::Service { service, .. } => format!(
                "Service {service} state must be OK, WARNING, CRITICAL, UNKNOWN or UNREACHABLE, and not {state}."
            ),
        }),
    }
}

/// `<code>;<output>[|<perf_data>][\n<long_output>]`, with a real newline: the daemon writes
/// it as the two characters `\n` in the command file. A TAB becomes a space
/// (`characters::for_core`).
pub fn check_params(code: i64, livestate: &LivestateIn) -> String {
    use crate::characters::for_core;
    let mut params = format!("{code};{}", for_core(&livestate.output));
    if !livestate.perf_data.is_empty() {
        params.push('|');
        params.push_str(&for_core(&livestate.perf_data));
    }
    if !livestate.long_output.is_empty() {
        params.push('\n');
        params.push_str(&for_core(&livestate.long_output));
    }
    params
}

/// `[<ts>] ` from the livestate's own timestamp, else `[<now>] ` when `set_timestamp`.
pub fn prefix(timestamp: Option<i64>, set_timestamp: bool, now: i64) -> String {
    match timestamp {
        Some(ts) => format!("[{ts}] "),
        None if set_timestamp => format!("[{now}] "),
        None => String::new(),
    }
}

pub fn command_line(
    target: Target,
    code: i64,
    livestate: &LivestateIn,
    set_timestamp: bool,
    now: i64,
) -> String {
    let prefix = prefix(livestate.timestamp, set_timestamp, now);
    let params = check_params(code, livestate);
    match target {
        Target::Host(host) => format!("{prefix}PROCESS_HOST_CHECK_RESULT;{host};{params}"),
        Target::Service { host, service } => {
            format!("{prefix}PROCESS_SERVICE_CHECK_RESULT;{host};{service};{params}")
        }
    }
}

/// What the store keeps as the element's last state.
pub fn last_state(state: &str, code: i64, livestate: &LivestateIn, now: i64) -> LastState {
    LastState {
        state: state.to_string(),
        state_id: code,
        state_type: "HARD".into(),
        output: livestate.output.clone(),
        long_output: livestate.long_output.clone(),
        perf_data: livestate.perf_data.clone(),
        last_check: livestate.timestamp.unwrap_or(now),
    }
}

pub fn kind_of(target: Target) -> Kind {
    match target {
        Target::Host(_) => Kind::Host,
        Target::Service { .. } => Kind::Service,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(state: Option<&str>, output: &str, long: &str, perf: &str) -> LivestateIn {
        LivestateIn {
            state: state.map(String::from),
            output: output.into(),
            long_output: long.into(),
            perf_data: perf.into(),
            timestamp: None,
        }
    }

    #[test]
    fn params_join_output_perf_data_and_long_output() {
        for (long, perf, expected) in [
            ("", "", "0;Output..."),
            ("Long...", "", "0;Output...\nLong..."),
            ("", "'counter'=1", "0;Output...|'counter'=1"),
            ("Long...", "'counter'=1", "0;Output...|'counter'=1\nLong..."),
        ] {
            assert_eq!(
                check_params(0, &ls(Some("UP"), "Output...", long, perf)),
                expected
            );
        }
        assert_eq!(
            check_params(0, &ls(Some("UP"), "a\tb", "l\t1", "'c'=1\t'd'=2")),
            "0;a b|'c'=1 'd'=2\nl 1"
        );
    }

    #[test]
    fn states_are_case_insensitive_and_checked() {
        let host = Target::Host("h");
        let svc = Target::Service {
            host: "h",
            service: "s",
        };
        for (target, state, expected) in [
            (host, "up", Ok(("UP".to_string(), 0))),
            (host, "Down", Ok(("DOWN".to_string(), 1))),
            (host, "UNREACHABLE", Ok(("UNREACHABLE".to_string(), 2))),
            (svc, "ok", Ok(("OK".to_string(), 0))),
            (svc, "warning", Ok(("WARNING".to_string(), 1))),
            (svc, "CRITICAL", Ok(("CRITICAL".to_string(), 2))),
            (svc, "unknown", Ok(("UNKNOWN".to_string(), 3))),
            (svc, "unreachable", Ok(("UNREACHABLE".to_string(), 4))),
            (
                host,
                "ok",
                Err("Host state must be UP, DOWN or UNREACHABLE, and not 'OK'.".to_string()),
            ),
            (
                svc,
                "up",
                Err("Service s state must be OK, WARNING, CRITICAL, UNKNOWN or UNREACHABLE, and not UP.".to_string()),
            ),
        ] {
            assert_eq!(state_of(target, &ls(Some(state), "", "", "")), expected);
        }
        assert_eq!(
            state_of(host, &ls(None, "", "", "")),
            Err("Missing state in the livestate.".to_string())
        );
    }

    #[test]
    fn timestamps_prefix_the_line() {
        let mut l = ls(Some("UP"), "o", "", "");
        assert_eq!(
            command_line(Target::Host("h"), 0, &l, false, 99),
            "PROCESS_HOST_CHECK_RESULT;h;0;o"
        );
        assert_eq!(
            command_line(Target::Host("h"), 0, &l, true, 99),
            "[99] PROCESS_HOST_CHECK_RESULT;h;0;o"
        );
        l.timestamp = Some(0);
        assert_eq!(
            command_line(
                Target::Service {
                    host: "h",
                    service: "s"
                },
                0,
                &l,
                true,
                99
            ),
            "[0] PROCESS_SERVICE_CHECK_RESULT;h;s;0;o"
        );
    }

    #[test]
    fn history_message_is_the_backends() {
        let state = last_state("UP", 0, &ls(Some("UP"), "fine", "", ""), 5);
        assert_eq!(state.history_message(), "UP[HARD] (False/False): fine");
        assert_eq!(state.last_check, 5);
    }
}
