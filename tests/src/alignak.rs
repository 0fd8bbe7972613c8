//! Real Alignak 2.1.5 daemons (arbiter, scheduler, poller, reactionner, broker, receiver),
//! started with the team's peer scripts (`../shared/peers/run-alignak-daemons.sh`, which makes
//! their Python environment from PyPI on first use) on ports of their own, stopped on drop.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Ports away from Alignak's defaults, so a developer's own instance does not collide.
pub const ARBITER_PORT: u16 = 27770;
const SCHEDULER_PORT: u16 = 27768;
const POLLER_PORT: u16 = 27771;
const REACTIONNER_PORT: u16 = 27769;
const BROKER_PORT: u16 = 27772;
/// The stack's own (Python) receiver.
const RECEIVER_PORT: u16 = 27773;

pub struct Alignak {
    pub root: TempDir,
    script: PathBuf,
    running: bool,
}

fn peers_script() -> Option<PathBuf> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/peers/run-alignak-daemons.sh");
    path.exists().then_some(path)
}

impl Alignak {
    /// Starts the stack. Without the peer scripts (no `../shared` beside the repository):
    /// `None` with a notice; under CI that is a failure.
    pub fn start() -> Option<Alignak> {
        let Some(script) = peers_script() else {
            crate::skip_or_fail_under_ci(
                "../shared/peers/run-alignak-daemons.sh is missing",
                "../shared/peers/run-alignak-daemons.sh is not there",
            );
            return None;
        };
        let root = crate::temp_dir("alignak-daemons-");
        let alignak = Alignak {
            root,
            script,
            running: true,
        };
        let output = alignak
            .command("start")
            .arg(RECEIVER_PORT.to_string())
            .output()
            .expect("run-alignak-daemons.sh start");
        assert!(
            output.status.success(),
            "the Alignak daemons did not start:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        alignak.wait_arbiter_ready();
        Some(alignak)
    }

    fn command(&self, verb: &str) -> Command {
        let mut command = Command::new("bash");
        command
            .arg(&self.script)
            .arg(verb)
            .env("ROOT", self.root.path())
            .env("ARBITER_PORT", ARBITER_PORT.to_string())
            .env("SCHEDULER_PORT", SCHEDULER_PORT.to_string())
            .env("POLLER_PORT", POLLER_PORT.to_string())
            .env("REACTIONNER_PORT", REACTIONNER_PORT.to_string())
            .env("BROKER_PORT", BROKER_PORT.to_string());
        command
    }

    pub fn arbiter_url(&self) -> String {
        format!("http://127.0.0.1:{ARBITER_PORT}")
    }

    /// GET on the arbiter; `None` when it does not answer.
    pub fn arbiter_get(&self, path: &str) -> Option<serde_json::Value> {
        let address = format!("127.0.0.1:{ARBITER_PORT}");
        crate::try_http_request(&address, &crate::Request::get(path))
            .ok()
            .filter(|reply| reply.status == 200)
            .and_then(|reply| serde_json::from_str(&reply.body).ok())
    }

    /// The arbiter answers once it has dispatched the configuration to the scheduler.
    fn wait_arbiter_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let dumped = self
                .arbiter_get("/dump?o_name=test_host")
                .is_some_and(|v| v.to_string().contains("test_host"));
            if dumped {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("the Alignak arbiter never dumped test_host");
    }

    /// Stops every daemon of the stack.
    pub fn stop(&mut self) {
        if self.running {
            let _ = self.command("stop").output();
            self.running = false;
        }
    }
}

impl Drop for Alignak {
    fn drop(&mut self) {
        self.stop();
    }
}
