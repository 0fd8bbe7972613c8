//! Waiting for what a daemon does in its own time (a file written, a log line, a state
//! reached): poll, and fail the test with what was still missing once the time is up.

use std::time::{Duration, Instant};

/// Polls `check` every `every` until it gives a value; past `timeout`, fails the test with
/// what the last poll said was still missing.
pub fn wait_for<T>(
    timeout: Duration,
    every: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match check() {
            Ok(value) => return value,
            Err(missing) => assert!(Instant::now() < deadline, "{missing}"),
        }
        std::thread::sleep(every);
    }
}
