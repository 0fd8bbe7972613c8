//! Nothing answered OK is lost: `kill -9` under load, restarts, and a FIFO nobody reads.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{BufRead, BufReader};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use alignak_e2e::{try_http_request, Client, CommandSink, Request, RequestError, Setup};
use serde_json::json;

/// What a client learnt about one of its commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Answered 200 OK: must reach the command file.
    Ok,
    /// Answered with an error: must not reach it.
    Refused,
    /// Sent, but the daemon died before answering: may or may not reach it.
    Unknown,
}

/// `client`/`seq` of a command-file line written by this test.
fn parse_line(line: &str) -> (usize, usize) {
    let host = line
        .rsplit_once("DISABLE_HOST_CHECK;")
        .map(|(_, host)| host)
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    let (client, seq) = host.split_once('-').expect("c<client>-<seq>");
    (
        client.trim_start_matches('c').parse().expect("client"),
        seq.parse().expect("seq"),
    )
}

/// The first `count` lines a reader of the FIFO at `fifo` gets (blocks until they come).
fn read_fifo_lines(fifo: &std::path::Path, count: usize) -> Vec<String> {
    BufReader::new(fs::File::open(fifo).unwrap())
        .lines()
        .take(count)
        .map(Result::unwrap)
        .collect()
}

#[test]
fn kill_9_under_load_loses_no_acknowledged_command() {
    const KILLS: usize = 20;
    const CLIENTS: usize = 4;
    let mut receiver = Setup::new().start();
    let address = Arc::new(RwLock::new(receiver.address().to_string()));
    let stop = Arc::new(AtomicBool::new(false));
    let outcomes: Arc<Mutex<HashMap<(usize, usize), Outcome>>> = Arc::default();

    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (address, stop, outcomes) =
                (Arc::clone(&address), Arc::clone(&stop), Arc::clone(&outcomes));
            std::thread::spawn(move || {
                let mut seq = 0;
                while !stop.load(Ordering::Relaxed) {
                    let body = json!({"command": "disable_host_check", "host": format!("c{client}-{seq}")});
                    let target = address.read().unwrap().clone();
                    let outcome = match try_http_request(&target, &Request::new("POST", "/command", &[("Content-Type", "application/json")], body.to_string().as_bytes())) {
                        Ok(reply) if reply.status == 200 => Outcome::Ok,
                        Ok(_) => Outcome::Refused,
                        // Not sent: try the same command again once the daemon is back.
                        Err(RequestError::Connect(_)) => {
                            std::thread::sleep(Duration::from_millis(5));
                            continue;
                        }
                        Err(RequestError::NoAnswer(_)) => Outcome::Unknown,
                    };
                    outcomes.lock().unwrap().insert((client, seq), outcome);
                    seq += 1;
                }
            })
        })
        .collect();

    for kill in 0..KILLS {
        // Let some load through, at a different moment of the write path each time.
        std::thread::sleep(Duration::from_millis(60 + (kill as u64 * 37) % 150));
        receiver.kill9();
        receiver.restart();
        *address.write().unwrap() = receiver.address().to_string();
    }
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    // A clean stop delivers everything still in the spool.
    assert_eq!(
        receiver.terminate().code(),
        Some(0),
        "{}",
        receiver.current_log()
    );

    let outcomes = outcomes.lock().unwrap();
    let lines = receiver.commands();
    let delivered: Vec<(usize, usize)> = lines.iter().map(|l| parse_line(l)).collect();
    let present: HashSet<(usize, usize)> = delivered.iter().copied().collect();
    let acknowledged: Vec<_> = outcomes
        .iter()
        .filter(|(_, o)| **o == Outcome::Ok)
        .map(|(k, _)| *k)
        .collect();
    assert!(
        acknowledged.len() > 100,
        "too little load to mean anything: {}",
        acknowledged.len()
    );
    for key in &acknowledged {
        assert!(
            present.contains(key),
            "command {key:?} was answered OK but never delivered"
        );
    }
    for (key, outcome) in outcomes.iter() {
        if *outcome == Outcome::Refused {
            assert!(
                !present.contains(key),
                "command {key:?} was refused but delivered"
            );
        }
    }
    for key in &present {
        assert!(
            outcomes.contains_key(key),
            "delivered {key:?} was never sent"
        );
    }
    // In order: each client's commands first appear in the order it sent them (a replay
    // after a crash repeats a window, it never reorders).
    for client in 0..CLIENTS {
        let mut seen = HashSet::new();
        let firsts: Vec<usize> = delivered
            .iter()
            .filter(|(c, _)| *c == client)
            .filter(|k| seen.insert(**k))
            .map(|(_, seq)| *seq)
            .collect();
        assert!(
            firsts.windows(2).all(|w| w[0] < w[1]),
            "client {client} out of order: {firsts:?}"
        );
    }
    let duplicates = delivered.len() - present.len();
    let unknown = outcomes
        .values()
        .filter(|o| **o == Outcome::Unknown)
        .count();
    println!(
        "{KILLS} kills: {} acknowledged, {unknown} unanswered, {} delivered lines, {duplicates} duplicates",
        acknowledged.len(),
        delivered.len()
    );
    assert!(receiver.log().matches("listening on: http://").count() == KILLS + 1);
}

#[test]
fn commands_left_undelivered_at_a_stop_are_delivered_after_the_restart() {
    // A FIFO without reader: nothing can be delivered before the stop.
    let mut receiver = Setup::new().sink(CommandSink::Fifo).start();
    for n in 0..5 {
        let body = json!({"command": "disable_host_check", "host": format!("h{n}")});
        assert_eq!(
            receiver.post_json("/command", &body.to_string()).status,
            200
        );
    }
    assert_eq!(receiver.terminate().code(), Some(0));
    assert!(
        receiver.log().contains(
            "5 command(s) could not be delivered before the stop: they stay in the spool"
        ),
        "{}",
        receiver.log()
    );
    receiver.restart();
    assert!(receiver
        .current_log()
        .contains("5 command(s) from before the start wait for delivery"));
    let fifo = receiver.command_file.clone().unwrap();
    let lines = read_fifo_lines(&fifo, 5);
    for (n, line) in lines.iter().enumerate() {
        assert!(
            line.ends_with(&format!("] DISABLE_HOST_CHECK;h{n}")),
            "{line}"
        );
    }
}

#[test]
fn a_fifo_without_reader_for_10_s_keeps_the_api_responsive_and_loses_nothing() {
    let receiver = Setup::new().sink(CommandSink::Fifo).start();
    let fifo = receiver.command_file.clone().unwrap();
    let started = Instant::now();
    let mut sent = 0;
    let mut slowest = Duration::ZERO;
    while started.elapsed() < Duration::from_secs(10) {
        let body = json!({"command": "disable_host_check", "host": format!("h{sent}")});
        let before = Instant::now();
        let reply = receiver.post_json("/command", &body.to_string());
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(receiver.get("/are_you_alive").status, 200);
        slowest = slowest.max(before.elapsed());
        sent += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        receiver.log().contains("no process is reading the FIFO"),
        "{}",
        receiver.log()
    );
    // A reader appears: it gets every command, in order.
    let lines = read_fifo_lines(&fifo, sent);
    assert_eq!(lines.len(), sent);
    for (n, line) in lines.iter().enumerate() {
        assert!(
            line.ends_with(&format!("] DISABLE_HOST_CHECK;h{n}")),
            "{n}: {line}"
        );
    }
    println!("{sent} commands while the FIFO had no reader; slowest answer {slowest:?}");
    // Loose sanity bound, not a benchmark: no answer waited for the missing reader.
    assert!(slowest < Duration::from_secs(3), "{slowest:?}");
}

#[test]
fn a_full_spool_answers_503_with_retry_after_and_keeps_what_it_took() {
    // Room for a handful of commands; the FIFO has no reader, so nothing drains.
    let receiver = Setup::new()
        .sink(CommandSink::Fifo)
        .receiver_param("max_spool_size", "4096")
        .start();
    let mut accepted = 0;
    let refused = loop {
        let body = json!({"command": "disable_host_check", "host": format!("h{accepted}")});
        let reply = receiver.post_json("/command", &body.to_string());
        if reply.status != 200 {
            break reply;
        }
        accepted += 1;
        assert!(accepted < 1000, "the spool never filled");
    };
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.header("retry-after"), Some("5"));
    refused.assert_err_issue_contains("Too many commands are waiting");
    let fifo = receiver.command_file.clone().unwrap();
    let lines = read_fifo_lines(&fifo, accepted);
    assert_eq!(lines.len(), accepted);
    assert!(lines
        .last()
        .unwrap()
        .ends_with(&format!(";h{}", accepted - 1)));
}

#[test]
fn a_core_that_stops_reading_its_fifo_does_not_hold_up_the_stop() {
    let mut receiver = Setup::new().sink(CommandSink::Fifo).start();
    let fifo = receiver.command_file.clone().unwrap();
    // Held open read-write and never read, as a stuck Nagios does: the pipe (64 KiB) fills.
    let held = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    const TOTAL: usize = 3000;
    for batch in 0..TOTAL / 100 {
        let commands: Vec<_> = (0..100)
            .map(|n| json!({"command": "disable_host_check", "host": format!("h{}", batch * 100 + n)}))
            .collect();
        let reply = receiver.post_json("/command", &json!(commands).to_string());
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    std::thread::sleep(Duration::from_millis(1500));
    let stopping = Instant::now();
    assert_eq!(receiver.terminate().code(), Some(0), "{}", receiver.log());
    // The drain gives up after its 10 s bound (the FIFO wait is 1 s per attempt).
    assert!(
        stopping.elapsed() < Duration::from_secs(25),
        "{:?}",
        stopping.elapsed()
    );
    assert!(
        receiver
            .log()
            .contains("could not be delivered before the stop: they stay in the spool"),
        "{}",
        receiver.log()
    );
    // The core reads again; the rest comes after the restart, in order, none missing.
    receiver.restart();
    let mut seen = Vec::new();
    for line in BufReader::new(held).lines() {
        let line = line.unwrap();
        let n: usize = line.rsplit_once(";h").unwrap().1.parse().unwrap();
        if !seen.contains(&n) {
            seen.push(n);
        }
        if seen.len() == TOTAL {
            break;
        }
    }
    assert_eq!(seen, (0..TOTAL).collect::<Vec<_>>());
}
