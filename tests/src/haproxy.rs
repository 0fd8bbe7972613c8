//! A throwaway HAProxy (Debian's `haproxy`) on loopback in front of gateways: the
//! README's load-balancer example, health-checked on `/health`, naming the gateway that
//! answered in `X-Served-By`. Stopped on drop.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub struct Haproxy {
    _dir: TempDir,
    child: Child,
    pub address: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The configuration of the README's example, for `servers` as `(name, "host:port")`.
pub fn config(port: u16, servers: &[(&str, &str)]) -> String {
    let mut text = format!(
        "global
    maxconn 1024

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    # A connection refused by a gateway that is down is tried again on the other one; a
    # request already sent is never sent twice (PATCH and POST are not idempotent).
    retries 3
    option redispatch

frontend alignak_ws
    bind 127.0.0.1:{port}
    default_backend gateways

backend gateways
    balance roundrobin
    option httpchk GET /health
    http-check expect status 200
    default-server inter 500ms fall 1 rise 1
    http-response set-header X-Served-By %s
"
    );
    for (name, address) in servers {
        text.push_str(&format!("    server {name} {address} check\n"));
    }
    text
}

impl Haproxy {
    /// Starts HAProxy in front of `servers`; `None` with a notice when it is not installed
    /// (a failure under `CI`, where `.ci/run` installs it).
    pub fn start(servers: &[(&str, &str)]) -> Option<Haproxy> {
        if Command::new("haproxy").arg("-v").output().is_err() {
            crate::skip_or_fail_under_ci(
                "haproxy is not installed: .ci/run must apt-get install haproxy",
                "haproxy is not installed (apt-get install haproxy)",
            );
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, config(port, servers)).expect("haproxy.cfg");
        crate::run_successfully(
            Command::new("haproxy").arg("-c").arg("-f").arg(&path),
            "haproxy -c refused the example",
        );
        // -db: in the foreground, so that the test owns the process.
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy");
        let haproxy = Haproxy {
            _dir: dir,
            child,
            address: format!("127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(&haproxy.address).is_err() {
            assert!(Instant::now() < deadline, "haproxy did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(haproxy)
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
