//! The daemon itself: configuration checks, module loading failures, signals, and delivery to
//! a FIFO that has no reader yet.

use std::fs;
use std::time::Duration;

use alignak_e2e::{
    assert_contains, run_receiver_to_end, stdout_and_stderr, Client, CommandSink, Receiver, Setup,
};

fn run_receiver(args: &[&str], dir: &std::path::Path) -> (i32, String) {
    let output = run_receiver_to_end(args, dir);
    (
        output.status.code().unwrap_or(-1),
        stdout_and_stderr(&output),
    )
}

/// Spawns the receiver `setup` describes and asserts that it refuses to start (exit code 1).
fn spawn_refused(setup: Setup) -> Receiver {
    let mut receiver = setup.spawn();
    assert_eq!(receiver.wait_exit(Duration::from_secs(20)).code(), Some(1));
    receiver
}

/// A temp folder whose alignak.cfg holds `text`; the folder and that file's path.
fn folder_with_main_cfg(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("alignak.cfg");
    fs::write(&main, text).unwrap();
    (dir, main)
}

/// Writes `receiver_cfg` as the receiver.cfg beside `main`, runs `--check` on `main` (from
/// their folder), asserts that it fails, and returns what it printed.
fn failed_check_with_receiver_cfg(main: &std::path::Path, receiver_cfg: &str) -> String {
    let dir = main.parent().unwrap();
    fs::write(dir.join("receiver.cfg"), receiver_cfg).unwrap();
    let (code, out) = run_receiver(&["-c", main.to_str().unwrap(), "--check"], dir);
    assert_ne!(code, 0, "{out}");
    out
}

#[test]
fn check_accepts_the_shipped_configuration() {
    let etc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../etc/alignak.cfg");
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = run_receiver(&["-c", etc.to_str().unwrap(), "--check"], dir.path());
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "configuration is valid: receiver 'receiver-master' with module(s): web-services"
        ),
        "{out}"
    );
}

#[test]
fn check_reports_every_error_with_file_and_line() {
    let (dir, main) = folder_with_main_cfg(
        "cfg_file=receiver.cfg\n\
         define module {\n\
         \x20   module_alias web-services\n\
         \x20   python_name alignak_module_ws\n\
         \x20   port eighty\n\
         \x20   authorization perhaps\n\
         \x20   give_feedback 7\n\
         }\n",
    );
    fs::write(
        dir.path().join("receiver.cfg"),
        "define receiver {\n    receiver_name r\n    modules web-services\n}\n",
    )
    .unwrap();
    let (code, out) = run_receiver(&["-c", main.to_str().unwrap(), "--check"], dir.path());
    assert_ne!(code, 0, "{out}");
    let file = main.display().to_string();
    assert!(
        out.contains(&format!(
            "{file}:5: port: not a whole number from 0 to 65535: 'eighty'"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{file}:6: authorization: not a boolean: 'perhaps'"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{file}:7: give_feedback: not a whole number from 0 to 2: '7'"
        )),
        "{out}"
    );
    assert_contains(&out, "3 configuration error(s)");

    // A syntax error is located too, and the same file without --check fails to start.
    let out = failed_check_with_receiver_cfg(&main, "define receiver {\n    receiver_name r\n");
    assert_contains(
        &out,
        "receiver.cfg:1: 'define receiver' is not closed with '}'",
    );
    let (code, out) = run_receiver(&["-c", main.to_str().unwrap()], dir.path());
    assert_ne!(code, 0);
    assert_contains(&out, "receiver.cfg:1: 'define receiver' is not closed");

    // A module alias that no block defines.
    let out = failed_check_with_receiver_cfg(
        &main,
        "define receiver {\n    receiver_name r\n    modules web-service\n}\n",
    );
    assert!(
        out.contains(
            "receiver.cfg:3: modules: no 'define module' block has module_alias 'web-service'"
        ),
        "{out}"
    );
}

#[test]
fn a_bad_module_parameter_stops_the_start_with_its_location() {
    let mut receiver = Setup::new().module_param("max_body_size", "big").spawn();
    let status = receiver.wait_exit(Duration::from_secs(20));
    assert!(!status.success());
    let log = receiver.log();
    assert!(
        log.contains(
            "arbiter/mod-ws.cfg:7: max_body_size: not a whole number from 1 to 1073741824: 'big'"
        ),
        "{log}"
    );
}

#[test]
fn a_missing_tls_certificate_stops_the_start_naming_it() {
    // TLS asked for and impossible: the start fails; it never falls back to plain HTTP.
    let receiver = spawn_refused(
        Setup::new()
            .module_param("use_ssl", "1")
            .module_param("server_cert", "certs/missing.crt"),
    );
    let log = receiver.log();
    let path = receiver
        .dir
        .path()
        .canonicalize()
        .unwrap()
        .join("certs/missing.crt");
    assert!(
        log.contains(&format!(
            "server_cert {}: cannot read it: No such file or directory",
            path.display()
        )),
        "{log}"
    );
    assert!(!log.contains("listening on"), "{log}");
}

#[test]
fn check_finds_a_missing_tls_file_with_its_location() {
    let (dir, main) = folder_with_main_cfg(
        "define receiver {\n    receiver_name r\n    modules web-services\n}\n\
         define module {\n\
         \x20   module_alias web-services\n\
         \x20   python_name alignak_module_ws\n\
         \x20   use_ssl 1\n\
         \x20   server_cert certs/none.crt\n\
         }\n",
    );
    let (code, out) = run_receiver(&["-c", main.to_str().unwrap(), "--check"], dir.path());
    assert_eq!(code, 1, "{out}");
    let cert = dir.path().canonicalize().unwrap().join("certs/none.crt");
    assert!(
        out.contains(&format!(
            "alignak.cfg:9: server_cert: {}: cannot read it: No such file or directory",
            cert.display()
        )),
        "{out}"
    );
}

#[test]
fn a_missing_library_is_reported_by_name_and_path() {
    let empty = tempfile::tempdir().unwrap();
    let mut receiver = Setup::new().modules_dir(empty.path()).spawn();
    let status = receiver.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(1));
    let log = receiver.log();
    let expected = format!(
        "module 'web-services': library {}/libalignak_module_ws.so not found (python_name alignak_module_ws; modules_dir is {})",
        empty.path().display(),
        empty.path().display()
    );
    assert_contains(&log, &expected);
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn a_file_that_is_not_a_library_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("libalignak_module_ws.so"),
        "not an ELF file",
    )
    .unwrap();
    let receiver = spawn_refused(Setup::new().modules_dir(dir.path()));
    let log = receiver.log();
    assert_contains(&log, "module 'web-services': cannot load library");
    assert_contains(&log, "libalignak_module_ws.so");
}

#[test]
fn a_shared_library_that_is_not_a_module_is_reported() {
    // A real shared object with no module interface: the C library's math library.
    let libm = [
        "/lib/x86_64-linux-gnu/libm.so.6",
        "/usr/lib/x86_64-linux-gnu/libm.so.6",
        "/lib64/libm.so.6",
        "/usr/lib64/libm.so.6",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
    .expect("libm.so.6 on this system");
    let dir = tempfile::tempdir().unwrap();
    fs::copy(libm, dir.path().join("libalignak_module_ws.so")).unwrap();
    let receiver = spawn_refused(Setup::new().modules_dir(dir.path()));
    receiver
        .assert_log_contains("is not an Alignak module library (it exports no module interface)");
}

#[test]
fn a_library_built_against_another_interface_is_refused() {
    let receiver = spawn_refused(Setup::new().python_name("foreign_module"));
    receiver.assert_log_contains(
        "libforeign_module.so was built against an incompatible module interface",
    );
}

#[test]
fn a_module_that_panics_is_reported_and_the_daemon_exits_cleanly() {
    for (place, expected) in [
        (
            "init",
            "init failed: init panicked: the fixture panics in init",
        ),
        (
            "get_instance",
            "cannot create the instance: get_instance panicked: the fixture panics in get_instance",
        ),
        (
            "start",
            "start failed: start panicked: the fixture panics in start",
        ),
    ] {
        let mut receiver = Setup::new()
            .python_name("panicking_module")
            .module_param("panic_in", place)
            .spawn();
        let status = receiver.wait_exit(Duration::from_secs(20));
        let log = receiver.log();
        // Exit code 1 from main, not a signal (abort) or 101 (unwound to main).
        assert_eq!(status.code(), Some(1), "{place}: {log}");
        assert!(log.contains("module 'web-services' ("), "{log}");
        assert!(log.contains(expected), "{place}: {log}");
    }
}

#[test]
fn sigterm_and_sigint_stop_the_daemon_with_exit_0_after_delivering() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let mut receiver = Setup::new().start();
        let reply = receiver.post_json("/command", r#"{"command":"disable_notifications"}"#);
        assert_eq!(reply.status, 200);
        receiver.signal(signal);
        let status = receiver.wait_exit(Duration::from_secs(30));
        assert_eq!(status.code(), Some(0), "{}", receiver.log());
        let lines = receiver.commands();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].ends_with("] DISABLE_NOTIFICATIONS"));
        let log = receiver.log();
        assert_contains(&log, "1 command(s) accepted, 1 delivered");
    }
}

#[test]
fn the_port_in_use_is_reported() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let receiver = spawn_refused(Setup::new().module_param("port", &port));
    receiver.assert_log_contains(&format!("cannot listen on 127.0.0.1:{port}"));
}

#[test]
fn module_log_records_reach_the_daemons_log() {
    let receiver = Setup::new().start();
    let log = receiver.log();
    // Written by the module library's `log` calls, printed by the daemon's logger.
    assert!(
        log.contains(
            "alignak_module_ws] Give an instance of alignak_module_ws for alias: web-services"
        ),
        "{log}"
    );
    assert_contains(&log, "Alignak Backend is not configured");
}

#[test]
fn without_command_file_commands_go_to_the_log() {
    let mut receiver = Setup::new().sink(CommandSink::LogOnly).start();
    let reply = receiver.post_json("/command", r#"{"command":"disable_notifications"}"#);
    assert_eq!(reply.status, 200);
    assert_eq!(receiver.terminate().code(), Some(0));
    receiver.assert_log_contains("external command: [");
    receiver.assert_log_contains("] DISABLE_NOTIFICATIONS");
}

#[test]
fn the_delivery_and_module_counters_are_logged_every_stats_period() {
    let receiver = Setup::new().receiver_param("stats_period", "1").start();
    for _ in 0..3 {
        let reply = receiver.post_json("/command", r#"{"command": "DISABLE_NOTIFICATIONS"}"#);
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    receiver.wait_commands(3);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let log = receiver.log();
        let delivery = log
            .lines()
            .any(|l| l.contains("commands: 3 accepted, 3 delivered, 0 pending"));
        let module = log.lines().any(|l| {
            l.contains("module 'web-services': ")
                && l.contains("3 commands_accepted")
                && l.contains("0 commands_refused")
        });
        if delivery && module {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{log}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // A bad period is a configuration error with its location.
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = dir.path().join("r.cfg");
    fs::write(
        &cfg,
        "define receiver {\n receiver_name r\n stats_period 0\n}\n",
    )
    .expect("write");
    let (code, output) = run_receiver(&["-c", cfg.to_str().expect("utf-8"), "--check"], dir.path());
    assert_ne!(code, 0);
    assert!(
        output.contains("r.cfg:3") && output.contains("stats_period"),
        "{output}"
    );
}
