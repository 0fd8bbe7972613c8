//! What no request can do to the daemon (issue 12, the HTTP part), end to end on the real
//! daemon: its memory under a megabyte batch, stalled bodies, huge headers, free text as the
//! command file gets it, file paths in answers and the log, a body left unread before the
//! credentials. What the module answers to bad items, control characters, duplicate keys and
//! timestamps runs in-process (`module/ws/src/api_tests/limits.rs`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use alignak_e2e::{assert_contains, Client, Receiver, Reply, Request, Setup};
use serde_json::{json, Value};

fn send(receiver: &Receiver, method: &str, path: &str, body: &str) -> Reply {
    receiver.send_json(method, path, body)
}

/// The daemon's resident memory, in KiB.
fn rss_kib(receiver: &Receiver) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", receiver.pid()))
        .expect("the daemon's /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Opens a connection and sends the head of a `POST /command` announcing `length` bytes of
/// JSON, then `start` of its body only; the stream reads with `read_timeout`.
fn post_command_head(
    receiver: &Receiver,
    length: usize,
    start: &str,
    read_timeout: Duration,
) -> TcpStream {
    let mut stream = TcpStream::connect(receiver.address()).expect("connect");
    let head = format!(
        "POST /command HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n{start}",
        receiver.address()
    );
    stream.write_all(head.as_bytes()).expect("send the head");
    stream
        .set_read_timeout(Some(read_timeout))
        .expect("read timeout");
    stream
}

#[test]
fn a_megabyte_batch_of_zeros_is_refused_small_and_costs_no_memory() {
    let receiver = Setup::new().start();
    // 1 MiB of `[0,0,...]`: 524,288 items, far over the default 10,000.
    let mut body = String::with_capacity(1024 * 1024);
    body.push('[');
    while body.len() < 1024 * 1024 - 3 {
        body.push_str("0,");
    }
    body.push('0');
    body.push(']');
    assert!(body.len() <= 1024 * 1024);
    let before = rss_kib(&receiver);
    for path in ["/command", "/host"] {
        let method = if path == "/host" { "PATCH" } else { "POST" };
        let reply = send(&receiver, method, path, &body);
        assert_eq!(
            reply.status,
            413,
            "{path}: {}",
            &reply.body[..200.min(reply.body.len())]
        );
        assert!(
            reply.body.len() < 1024,
            "{path}: {} bytes",
            reply.body.len()
        );
        let json = reply.json();
        assert_eq!(
            json["_issues"],
            json!(["The batch has more than the 10000 items allowed (max_batch_items)."])
        );
    }
    // Six at once, as the issue's probe did (it took the daemon from 114 MB to 2.6 GB).
    std::thread::scope(|scope| {
        for i in 0..6 {
            let receiver = &receiver;
            let body = &body;
            scope.spawn(move || {
                let (method, path) = if i % 2 == 0 {
                    ("POST", "/command")
                } else {
                    ("PATCH", "/host")
                };
                assert_eq!(send(receiver, method, path, body).status, 413);
            });
        }
    });
    let after = rss_kib(&receiver);
    eprintln!("daemon RSS: {before} KiB before, {after} KiB after six 1 MiB batches at once");
    assert!(
        after < before + 64 * 1024,
        "the daemon grew from {before} KiB to {after} KiB"
    );
    assert!(receiver.commands().is_empty());
}

#[test]
fn half_sent_bodies_are_dropped_at_the_deadline_and_do_not_lock_anyone_out() {
    let timeout = 2;
    let receiver = Setup::new()
        .module_param("request_timeout", &timeout.to_string())
        .module_param("max_connections", "20")
        .start();
    let started = Instant::now();
    // 25 clients send their headers and half their body, then stall.
    let mut stalled: Vec<TcpStream> = (0..25)
        .map(|_| post_command_head(&receiver, 100, "{\"command\":", Duration::from_secs(60)))
        .collect();
    // Each is answered 408 within its deadline, counted from when its connection got a slot:
    // the last five wait for one first.
    let answered = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for stream in stalled.iter_mut() {
            let answered = &answered;
            scope.spawn(move || {
                let mut raw = Vec::new();
                let _ = stream.read_to_end(&mut raw);
                let text = String::from_utf8_lossy(&raw);
                assert!(text.starts_with("HTTP/1.1 408"), "{text}");
                assert_contains(&text, "request_timeout");
                answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            });
        }
    });
    assert_eq!(answered.into_inner(), 25);
    let elapsed = started.elapsed();
    eprintln!("25 stalled bodies dropped in {elapsed:?}");
    // Two rounds of the deadline (20 slots, then the 5 queued), with room for a loaded host;
    // without a deadline these were held for more than 300 s.
    assert!(
        elapsed < Duration::from_secs(2 * timeout + 15),
        "the stalled connections were held {elapsed:?}"
    );
    // And the daemon serves again.
    let reply = receiver.get("/are_you_alive");
    assert_eq!(reply.status, 200);
    assert!(receiver.commands().is_empty());
}

#[test]
fn a_400_kb_header_is_refused_and_the_daemon_serves_on() {
    let receiver = Setup::new().start();
    let big = "x".repeat(400 * 1024);
    let reply = alignak_e2e::try_http_request(
        receiver.address(),
        &Request::new("GET", "/are_you_alive", &[("X-Big", &big)], b""),
    );
    match reply {
        // hyper answers it itself, without a body.
        Ok(reply) => assert_eq!(reply.status, 431, "{}", reply.body),
        // Or closes before the client could read an answer, having refused the rest.
        Err(alignak_e2e::RequestError::NoAnswer(_)) => {}
        Err(err) => panic!("{err:?}"),
    }
    // 60 KB of headers is within the limit.
    let fine = "y".repeat(60 * 1024);
    let reply = receiver.request("GET", "/are_you_alive", &[("X-Fine", &fine)], b"");
    assert_eq!(reply.status, 200);
}

#[test]
fn free_text_reaches_the_core_with_its_line_breaks_escaped_and_no_tab() {
    let receiver = Setup::new().start();
    // Free text takes TAB and line breaks, written safely: a line break as `\n`, a TAB as a
    // space, so no C0 character reaches the core (SPEC §8).
    let reply = send(
        &receiver,
        "POST",
        "/event",
        &json!({"host": "web01", "comment": "two\nlines\tand a tab"}).to_string(),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let lines = receiver.wait_commands(1);
    assert!(lines[0].contains("two\\nlines and a tab"), "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains('\t')), "{lines:?}");
}

#[test]
fn answers_never_show_an_absolute_path() {
    let receiver = Setup::new().start();
    let dir = receiver.dir.path().to_string_lossy().to_string();
    // A search so big that SQLite refuses it (the store's error names its file), then the
    // ordinary answers.
    let terms: Vec<String> = (0..5000).map(|i| format!("w{i}")).collect();
    let search = format!("/alignak_logs?search={}", terms.join("%20"));
    let mut replies: Vec<(String, Reply)> = vec![(search.clone(), receiver.get(&search))];
    eprintln!(
        "5,000-term search: {} {}",
        replies[0].1.status,
        &replies[0].1.body[..replies[0].1.body.len().min(300)]
    );
    for path in [
        "/",
        "/api_full",
        "/alignak_map",
        "/host/nope",
        "/hostgroup/nope",
    ] {
        replies.push((path.to_string(), receiver.get(path)));
    }
    replies.push((
        "/command".into(),
        send(&receiver, "POST", "/command", r#"{"command":"nope"}"#),
    ));
    for (path, reply) in &replies {
        assert!(
            !reply.body.contains(&dir),
            "{path}: {} {}",
            reply.status,
            reply.body
        );
        if reply.status >= 400 {
            let json: Value = reply.json();
            assert_eq!(json["_status"], "ERR", "{path}");
        }
    }
    // The log keeps the detail.
    assert!(receiver.log().contains(&dir));
}

#[test]
fn no_body_is_read_before_the_credentials_are_checked() {
    let receiver = Setup::new()
        .module_param("authorization", "1")
        .module_param("request_timeout", "20")
        .start();
    // Headers announcing a body that never comes: the 401 comes at once, not at the deadline.
    let mut stream = post_command_head(&receiver, 1_000_000, "{", Duration::from_secs(10));
    let started = Instant::now();
    let mut answer = [0u8; 12];
    stream
        .read_exact(&mut answer)
        .expect("an answer before the body");
    assert_eq!(&answer, b"HTTP/1.1 401");
    assert!(started.elapsed() < Duration::from_secs(10));
    // /login is open, so its body is small.
    let big = format!(
        r#"{{"username":"admin","password":"{}"}}"#,
        "x".repeat(9000)
    );
    let reply = send(&receiver, "POST", "/login", &big);
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert_eq!(
        reply.json()["_issues"],
        json!(["A /login body may not be larger than 8192 bytes."])
    );
}
