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
pub fn state_of(target: Target, livestate: &LivestateIn) -> Result<(&'static str, i64), String> {
    let Some(state) = &livestate.state else {
        return Err("Missing state in the livestate.".into());
    };
    let table: &[(&'static str, i64)] = match target {
        Target::Host(_) => &HOST_STATES,
        Target::Service { .. } => &SERVICE_STATES,
    };
    // Most states arrive in ASCII: matched without upper-casing a copy. Python's `upper()`
    // also maps a few other letters to ASCII ones (`ı` to `I`): those go the long way.
    if let Some((name, code)) = table
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(state))
    {
        return Ok((name, *code));
    }
    let state = state.to_uppercase();
    match table.iter().find(|(name, _)| *name == state) {
        Some((name, code)) => Ok((name, *code)),
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
    let mut params = String::new();
    push_check_params(&mut params, code, livestate);
    params
}

fn push_check_params(line: &mut String, code: i64, livestate: &LivestateIn) {
    use crate::characters::for_core;
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let _ = write!(line, "{code};");
    line.push_str(&for_core(&livestate.output));
    if !livestate.perf_data.is_empty() {
        line.push('|');
        line.push_str(&for_core(&livestate.perf_data));
    }
    if !livestate.long_output.is_empty() {
        line.push('\n');
        line.push_str(&for_core(&livestate.long_output));
    }
}

/// `[<ts>] ` from the livestate's own timestamp, else `[<now>] ` when `set_timestamp`.
pub fn prefix(timestamp: Option<i64>, set_timestamp: bool, now: i64) -> String {
    let mut prefix = String::new();
    push_prefix(&mut prefix, timestamp, set_timestamp, now);
    prefix
}

fn push_prefix(line: &mut String, timestamp: Option<i64>, set_timestamp: bool, now: i64) {
    use std::fmt::Write;
    match timestamp {
        Some(ts) => {
            let _ = write!(line, "[{ts}] ");
        }
        None if set_timestamp => {
            let _ = write!(line, "[{now}] ");
        }
        None => {}
    }
}

/// The `PROCESS_*_CHECK_RESULT` line, written in one string: a batch builds thousands of
/// them on the store's thread.
pub fn command_line(
    target: Target,
    code: i64,
    livestate: &LivestateIn,
    set_timestamp: bool,
    now: i64,
) -> String {
    let names = match target {
        Target::Host(host) => host.len(),
        Target::Service { host, service } => host.len() + service.len(),
    };
    let mut line = String::with_capacity(
        48 + names
            + livestate.output.len()
            + livestate.perf_data.len()
            + livestate.long_output.len(),
    );
    push_prefix(&mut line, livestate.timestamp, set_timestamp, now);
    match target {
        Target::Host(host) => {
            line.push_str("PROCESS_HOST_CHECK_RESULT;");
            line.push_str(host);
        }
        Target::Service { host, service } => {
            line.push_str("PROCESS_SERVICE_CHECK_RESULT;");
            line.push_str(host);
            line.push(';');
            line.push_str(service);
        }
    }
    line.push(';');
    push_check_params(&mut line, code, livestate);
    line
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
            (host, "up", Ok(("UP", 0))),
            (host, "Down", Ok(("DOWN", 1))),
            (host, "UNREACHABLE", Ok(("UNREACHABLE", 2))),
            (svc, "ok", Ok(("OK", 0))),
            (svc, "warning", Ok(("WARNING", 1))),
            (svc, "CRITICAL", Ok(("CRITICAL", 2))),
            (svc, "unknown", Ok(("UNKNOWN", 3))),
            (svc, "unreachable", Ok(("UNREACHABLE", 4))),
            // Upper-cased as Python does: a dotless i is an I.
            (svc, "warnıng", Ok(("WARNING", 1))),
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
