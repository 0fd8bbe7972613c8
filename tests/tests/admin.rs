//! An admin's first day: `--check` catching what the start refuses, SIGHUP reloading without
//! stopping, the access log, and `/health` following delivery.

use std::fs;
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use alignak_e2e::{
    assert_contains, run_receiver_to_end, Client, CommandSink, Receiver, Reply, Request, Setup,
};
use serde_json::{json, Value};

/// Runs `alignak-receiver` to its end: exit code, standard output, standard error.
fn run_receiver(args: &[&str], dir: &std::path::Path) -> (i32, String, String) {
    let output = run_receiver_to_end(args, dir);
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn write_config(dir: &std::path::Path, receiver: &str, module: &str) -> std::path::PathBuf {
    let main = dir.join("alignak.cfg");
    fs::write(
        &main,
        format!(
            "define receiver {{\n    receiver_name r\n    modules web-services\n{receiver}}}\n\
             define module {{\n    module_alias web-services\n    python_name alignak_module_ws\n{module}}}\n"
        ),
    )
    .unwrap();
    main
}

#[test]
fn check_refuses_typos_missing_files_and_says_it_all_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    // Line 4: the receiver typo; lines 8-10 (without it): the module's.
    let main = write_config(
        dir.path(),
        "    stats_perod 10\n",
        "    use_sll 1\n    authorisation 1\n    hostgroups_file etc/none.cfg\n",
    );
    let file = main.display().to_string();
    let (code, stdout, stderr) = run_receiver(&["-c", &file, "--check"], dir.path());
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stdout, "", "everything goes to standard error");
    assert!(
        stderr.contains(&format!(
            "{file}:4: stats_perod: unknown receiver parameter (did you mean 'stats_period'?)"
        )),
        "{stderr}"
    );
    // The receiver's errors come first; the start refuses the same (tested below).
    let (code, _, start_err) = run_receiver(&["-c", &file], dir.path());
    assert_eq!(code, 1, "{start_err}");
    assert_contains(&start_err, "stats_perod: unknown receiver parameter");

    let main = write_config(
        dir.path(),
        "",
        "    use_sll 1\n    authorisation 1\n    hostgroups_file etc/none.cfg\n",
    );
    let (code, stdout, stderr) = run_receiver(&["-c", &file, "--check"], dir.path());
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stdout, "");
    for expected in [
        format!("{file}:8: use_sll: unknown parameter (did you mean 'use_ssl'?)"),
        format!("{file}:9: authorisation: unknown parameter (did you mean 'authorization'?)"),
        "2 configuration error(s)".to_string(),
    ] {
        assert!(stderr.contains(&expected), "{expected}\n{stderr}");
    }
    // The start refuses what --check refuses: no plain HTTP for a mistyped use_ssl.
    let (code, _, start_err) = run_receiver(&["-c", main.to_str().unwrap()], dir.path());
    assert_eq!(code, 1, "{start_err}");
    assert_contains(&start_err, "use_sll: unknown parameter");

    // A hostgroups file that is missing, then one that does not parse.
    write_config(dir.path(), "", "    hostgroups_file etc/groups.cfg\n");
    let (code, _, stderr) = run_receiver(&["-c", &file, "--check"], dir.path());
    assert_eq!(code, 1, "{stderr}");
    assert_contains(&stderr, &format!("{file}:8: hostgroups_file: "));
    fs::create_dir_all(dir.path().join("etc")).unwrap();
    fs::write(
        dir.path().join("etc/groups.cfg"),
        "define hostgroup {\n    alias nameless\n}\n",
    )
    .unwrap();
    let (code, _, stderr) = run_receiver(&["-c", &file, "--check"], dir.path());
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{file}:8: hostgroups_file: {}:1: a hostgroup needs a hostgroup_name",
            dir.path().join("etc/groups.cfg").display()
        )),
        "{stderr}"
    );

    // A library that does not exist is reported at its python_name line.
    fs::write(
        &main,
        "define receiver {\n    receiver_name r\n    modules web-services\n}\n\
         define module {\n    module_alias web-services\n    python_name alignak_module_nope\n}\n",
    )
    .unwrap();
    let (code, _, stderr) = run_receiver(&["-c", &file, "--check"], dir.path());
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{file}:7: python_name: module 'web-services': library "
        )),
        "{stderr}"
    );

    // -n with a name no receiver has: located at the receiver's name, never `:0`.
    let (code, _, stderr) = run_receiver(&["-c", &file, "-n", "nope", "--check"], dir.path());
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{file}:2: receiver_name: -n nope: no receiver has this name (defined: 'r' at {file}:2)"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains(":0:"), "{stderr}");
}

#[test]
fn sighup_reloads_keeps_running_and_loses_nothing() {
    let mut receiver = Setup::new()
        .module_param("log_access", "var/log/access.log")
        .file("var/log/.keep", "")
        .start();
    let post = |host: &str| {
        let body = json!({"command": "disable_host_check", "host": host});
        receiver.post_json("/command", &body.to_string())
    };
    assert_eq!(post("before").status, 200);
    receiver.wait_commands(1);

    // logrotate: the file is moved away, then SIGHUP.
    let access = receiver.dir.path().join("var/log/access.log");
    let rotated = receiver.dir.path().join("var/log/access.log.1");
    fs::rename(&access, &rotated).unwrap();
    // A changed receiver key is named, not applied.
    let cfg = receiver.dir.path().join("arbiter/mod-ws.cfg");
    let text = fs::read_to_string(&cfg).unwrap();
    fs::write(
        &cfg,
        text.replace(
            "    port 0\n",
            "    port 0\n    log_level DEBUG\n    max_connections 7\n",
        ),
    )
    .unwrap();
    receiver.signal(libc::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !receiver.log().contains("module 'web-services' reloaded") {
        assert!(Instant::now() < deadline, "{}", receiver.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = receiver.log();
    assert_contains(&log, "SIGHUP received: reloading");
    assert_contains(
        &log,
        "max_connections changed: restart the daemon to apply it",
    );
    assert_contains(&log, "log level is now DEBUG");

    // Still serving, nothing lost: both commands reach the core.
    assert_eq!(post("after").status, 200);
    receiver.wait_commands_ending_with(&["DISABLE_HOST_CHECK;before", "DISABLE_HOST_CHECK;after"]);
    let old = fs::read_to_string(&rotated).unwrap();
    let new = fs::read_to_string(&access).unwrap();
    assert_eq!(old.lines().count(), 1, "{old}");
    assert_eq!(new.lines().count(), 1, "{new}");
    let status = receiver.terminate();
    assert!(status.success(), "{status:?}\n{}", receiver.log());
}

#[test]
fn the_access_log_has_a_line_per_request_and_no_secret() {
    let receiver = Setup::new()
        .module_param("log_access", "access.log")
        .start();
    let reply = receiver.request(
        "GET",
        "/are_you_alive?token=sekrit-token",
        &[
            ("Authorization", "Basic YWRtaW46c2Vrcml0LXBhc3M="),
            ("User-Agent", "check_http/v2.3"),
        ],
        b"",
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let path = receiver.dir.path().join("access.log");
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = fs::read_to_string(&path).unwrap_or_default();
        if !text.is_empty() || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let line: Value = serde_json::from_str(text.lines().next().expect("a line")).unwrap();
    assert_eq!(line["method"], "GET");
    assert_eq!(line["path"], "/are_you_alive");
    assert_eq!(line["status"], 200);
    assert_eq!(line["remote_addr"], "127.0.0.1");
    assert_eq!(line["user_agent"], "check_http/v2.3");
    assert!(
        line["time"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{line}"
    );
    assert!(!text.contains("sekrit"), "{text}");
    assert!(!text.contains("YWRtaW46"), "{text}");
}

#[test]
fn the_access_log_names_the_proven_user_and_not_the_password() {
    let users = format!("alice:{}\n", bcrypt::hash("wonderland", 4).unwrap());
    let receiver = Setup::new()
        .module_param("authorization", "1")
        .module_param("users_file", "etc/users")
        .module_param("log_access", "access.log")
        .file("etc/users", &users)
        .start();
    let credentials = alignak_e2e::basic("alice", "wonderland");
    let reply = receiver.request(
        "GET",
        "/are_you_alive",
        &[("Authorization", &credentials)],
        b"",
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(receiver.get("/are_you_alive").status, 401);
    let path = receiver.dir.path().join("access.log");
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = fs::read_to_string(&path).unwrap_or_default();
        if text.lines().count() >= 2 || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["user"], "alice", "{text}");
    assert_eq!(lines[1]["user"], Value::Null, "{text}");
    assert_eq!(lines[1]["status"], 401, "{text}");
    assert!(!text.contains("wonderland"), "{text}");
    let encoded = credentials.trim_start_matches("Basic ");
    assert!(!text.contains(encoded), "{text}");
}

#[test]
fn health_is_open_without_credentials() {
    let receiver = Setup::new().module_param("authorization", "1").start();
    let health = receiver.get("/health");
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(health.json()["health"], "OK");
    assert_eq!(receiver.get("/ws/health").status, 200);
    assert_eq!(receiver.get("/are_you_alive").status, 401);
}

/// Polls `/health` until it answers `status` (20 s at most) and returns its last answer,
/// which the caller checks.
fn wait_health(receiver: &Receiver, status: u16) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reply = receiver.get("/health");
        if reply.status == status || Instant::now() > deadline {
            return reply;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn health_turns_503_when_the_sink_stops_reading_and_back_when_it_reads() {
    let receiver = Setup::new()
        .sink(CommandSink::Fifo)
        .module_param("health_max_age", "1")
        .start();
    assert_eq!(receiver.get("/health").status, 200);
    // The FIFO has no reader: the command waits, and past health_max_age it is a 503.
    let body = json!({"command": "disable_host_check", "host": "stuck"});
    assert_eq!(
        receiver.post_json("/command", &body.to_string()).status,
        200
    );
    let stalled = wait_health(&receiver, 503);
    assert_eq!(stalled.status, 503, "{}", stalled.body);
    let answer = stalled.json();
    assert_eq!(answer["health"], "CRITICAL");
    assert!(
        answer["reasons"][0]
            .as_str()
            .is_some_and(|r| r.starts_with("delivery stalled: the oldest pending command is")),
        "{answer}"
    );
    assert_eq!(answer["commands_pending"], 1, "{answer}");
    assert!(
        !stalled.body.contains("fifo"),
        "no path in the answer: {}",
        stalled.body
    );

    // A reader appears: the command is delivered and the health is back.
    let fifo = receiver.command_file.clone().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(fs::File::open(fifo).unwrap())
            .lines()
            .next()
            .map(Result::unwrap)
    });
    let line = reader.join().unwrap().expect("a command line");
    assert!(line.ends_with("DISABLE_HOST_CHECK;stuck"), "{line}");
    let back = wait_health(&receiver, 200);
    assert_eq!(back.status, 200, "{}", back.body);
}

#[test]
fn with_health_public_0_health_needs_credentials() {
    let hash = bcrypt::hash_with_result("s3cret", 4)
        .unwrap()
        .format_for_version(bcrypt::Version::TwoY);
    let receiver = Setup::new()
        .module_param("authorization", "1")
        .module_param("health_public", "0")
        .module_param("users_file", "etc/users.htpasswd")
        .file("etc/users.htpasswd", &format!("alice:{hash}\n"))
        .start();
    let open = receiver.get("/health");
    assert_eq!(open.status, 401, "{}", open.body);
    let alice = alignak_e2e::basic("alice", "s3cret");
    let health = receiver.request("GET", "/health", &[("Authorization", &alice)], b"");
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(health.json()["health"], "OK");
}

/// `log_error`: the daemon's log goes to that file, and SIGHUP reopens it after logrotate
/// moved it away (the harness cannot read the listening address from standard error here,
/// so the test gives the module a port of its own).
#[test]
fn log_error_is_written_and_reopened_on_sighup() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let receiver = Setup::new()
        .module_param("port", &port.to_string())
        .receiver_param("log_error", "var/log/error.log")
        .file("var/log/.keep", "")
        .spawn();
    let address = format!("127.0.0.1:{port}");
    let error_log = receiver.dir.path().join("var/log/error.log");
    let deadline = Instant::now() + Duration::from_secs(30);
    while alignak_e2e::try_http_request(&address, &Request::get("/are_you_alive")).is_err() {
        assert!(Instant::now() < deadline, "not listening on {address}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let first = fs::read_to_string(&error_log).unwrap();
    assert_contains(&first, "listening on");
    // Nothing of the daemon's own log on standard error any more.
    assert!(
        !receiver.log().contains("listening on"),
        "{}",
        receiver.log()
    );

    let rotated = receiver.dir.path().join("var/log/error.log.1");
    fs::rename(&error_log, &rotated).unwrap();
    receiver.signal(libc::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reopened = fs::read_to_string(&error_log).unwrap_or_default();
        if reopened.contains("reloaded") {
            break;
        }
        assert!(Instant::now() < deadline, "{reopened}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let reply = alignak_e2e::http_request(&address, &Request::get("/are_you_alive"));
    assert_eq!(reply.status, 200);
    assert!(fs::read_to_string(&rotated)
        .unwrap()
        .contains("listening on"));
}
