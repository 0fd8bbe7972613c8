//! Session idle times measured from the client's side, so that a test asserts a session is
//! still live only where the time since its last use says it must be: a loaded machine can
//! stretch any request, and a gateway counts idle time in whole seconds of Unix time.

use std::time::{Duration, Instant};

use crate::{Client, Reply};

/// When a request went out and when its answer came back: the gateway stamps a session's use
/// somewhere in between.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub sent: Instant,
    pub answered: Instant,
}

pub fn timed(request: impl FnOnce() -> Reply) -> (Reply, Span) {
    let sent = Instant::now();
    let reply = request();
    let answered = Instant::now();
    (reply, Span { sent, answered })
}

/// Whether a session last used in `used` must still be live when `checked`, under a
/// `session_timeout` of `timeout`: a gateway keeps it while fewer than `timeout` whole seconds
/// passed, which is sure up to `timeout` minus one second of real time. `Err` (the machine was
/// too slow to tell) otherwise.
pub fn surely_live(used: Span, checked: Span, timeout: Duration, what: &str) -> Result<(), String> {
    let idle = checked.answered - used.sent;
    if idle < timeout.saturating_sub(Duration::from_secs(1)) {
        return Ok(());
    }
    Err(format!(
        "{what}: up to {idle:?} idle, too near {timeout:?} to tell"
    ))
}

/// Sleeps until a session last used in `used` has been idle for `idle` at least (then a
/// `session_timeout` of `idle` has surely ended it).
pub fn sleep_until_idle(used: Span, idle: Duration) {
    let at = used.answered + idle;
    std::thread::sleep(at.saturating_duration_since(Instant::now()));
}

/// A request with the session cookie `alignak_ws` of `session`.
pub fn with_session(client: &impl Client, method: &str, path: &str, session: &str) -> Reply {
    let cookie = format!("alignak_ws={session}");
    client.request(method, path, &[("Cookie", cookie.as_str())], b"")
}

pub fn get_host_with(client: &impl Client, session: &str) -> Reply {
    with_session(client, "GET", "/host", session)
}

/// Asserts that `client` answers `GET /host` with `session`, last used in `used`, with
/// `status` (saying `what` when it does not), where the time since that use says the session
/// is still live under `timeout`; `Err` where that time cannot tell.
#[track_caller]
pub fn answers_while_live(
    client: &impl Client,
    session: &str,
    used: Span,
    timeout: Duration,
    status: u16,
    what: &str,
) -> Result<(), String> {
    let (reply, checked) = timed(|| get_host_with(client, session));
    surely_live(used, checked, timeout, what)?;
    assert_eq!(reply.status, status, "{what}");
    Ok(())
}
