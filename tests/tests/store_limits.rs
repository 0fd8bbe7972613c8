//! The embedded store under pressure, end to end: long searches beside writes, a search too
//! big to run, the store file removed while writes go on, history kept under its cap during
//! a soak, and the file's modes.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use alignak_e2e::{http_request, Client, Receiver, Request, Setup};
use serde_json::json;

/// Where the tests put the store (relative to the daemon's working directory).
const STORE: &str = "store/ws.sqlite";

fn setup() -> Setup {
    Setup::new()
        .module_param("allow_host_creation", "1")
        .module_param("embedded_store", STORE)
}

fn store_path(receiver: &Receiver) -> PathBuf {
    receiver.dir.path().join(STORE)
}

/// One livestate for `host`: a status and how long it took.
fn patch(address: &str, host: &str) -> (u16, Duration) {
    let body = json!({"livestate": {"state": "UP", "output": format!("fine {host}")}});
    let started = Instant::now();
    let reply = http_request(
        address,
        &Request::new(
            "PATCH",
            &format!("/host/{host}"),
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        ),
    );
    (reply.status, started.elapsed())
}

/// `count` bare-word terms, none of which names a host that has history.
fn search_of(count: usize) -> String {
    let terms: Vec<String> = (0..count).map(|i| format!("x{i}")).collect();
    format!("/alignak_logs?search={}", terms.join("+"))
}

#[test]
fn long_searches_never_hold_up_a_write_and_too_many_terms_is_a_400() {
    let receiver = setup().start();
    let address = receiver.address().to_string();
    // History to search through: every livestate is an entry.
    for i in 0..3000 {
        assert_eq!(patch(&address, &format!("h{}", i % 300)).0, 200);
    }

    let big = receiver.get(&search_of(5000));
    assert_eq!(big.status, 400, "{}", big.body);
    assert!(big.body.contains("max_search_terms"), "{}", big.body);
    assert!(big.body.contains("1000"), "names the limit: {}", big.body);
    assert!(
        !big.body.contains('/'),
        "no path in the answer: {}",
        big.body
    );

    // 900 terms (under the default 1000), repeated on two clients, while a third writes.
    let mut slowest = Duration::ZERO;
    let mut writes = 0;
    std::thread::scope(|scope| {
        let searchers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = 0;
                    let until = Instant::now() + Duration::from_secs(8);
                    while Instant::now() < until {
                        let reply = http_request(&address, &Request::get(&search_of(900)));
                        assert_eq!(reply.status, 200, "{}", reply.body);
                        assert_eq!(reply.json()["_meta"]["total"], 0, "no entry has x<n>");
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        // Let the searches start first.
        std::thread::sleep(Duration::from_millis(200));
        while searchers.iter().any(|s| !s.is_finished()) {
            let (status, took) = patch(&address, &format!("w{writes}"));
            assert_eq!(status, 200);
            slowest = slowest.max(took);
            writes += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        let searches: i32 = searchers.into_iter().map(|s| s.join().unwrap()).sum();
        eprintln!("{searches} searches of 900 terms, {writes} writes beside them, slowest write {slowest:?}");
        assert!(searches >= 2, "{searches} searches");
    });
    assert!(writes > 10, "{writes} writes");
    assert!(
        slowest < Duration::from_secs(1),
        "a PATCH beside the searches took {slowest:?}"
    );
}

#[test]
fn a_store_file_removed_under_load_is_answered_503_until_it_is_back() {
    let mut receiver = setup().start();
    let address = receiver.address().to_string();
    for i in 0..50 {
        assert_eq!(patch(&address, &format!("before{i}")).0, 200);
    }
    let path = store_path(&receiver);
    let kept = path.with_extension("kept");
    // A second name for the same file: how it comes back later.
    std::fs::hard_link(&path, &kept).unwrap();

    // Writers run throughout; the file goes away in the middle.
    let removed_at = std::sync::Mutex::new(None::<Instant>);
    let stop = AtomicBool::new(false);
    let answers: Vec<Vec<(Instant, u16, String)>> = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..3)
            .map(|w| {
                let (stop, address) = (&stop, &address);
                scope.spawn(move || {
                    let mut seen = Vec::new();
                    let mut n = 0;
                    while !stop.load(Ordering::SeqCst) {
                        let host = format!("load{w}x{n}");
                        let sent = Instant::now();
                        seen.push((sent, patch(address, &host).0, host));
                        n += 1;
                    }
                    seen
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(500));
        std::fs::remove_file(&path).unwrap();
        *removed_at.lock().unwrap() = Some(Instant::now());
        std::thread::sleep(Duration::from_millis(1000));
        stop.store(true, Ordering::SeqCst);
        writers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let removed_at = removed_at.into_inner().unwrap().unwrap();
    // "After detection": a request sent once the unlink has returned runs in a batch that
    // starts after it, and every batch checks the file first: each is a 503.
    let mut after = 0;
    let mut ok_before = Vec::new();
    for (sent, status, host) in answers.iter().flatten() {
        if *sent > removed_at {
            assert_eq!(*status, 503, "{host} sent after the removal");
            after += 1;
        } else if *status == 200 {
            ok_before.push(host.clone());
        }
    }
    assert!(after > 5, "{after} writes after the removal");
    assert!(
        receiver.log().contains("was removed while running"),
        "{}",
        receiver.log()
    );
    // Reads are refused too (a read connection would still see the file that went away).
    let read = receiver.get("/alignak_logs");
    assert_eq!(read.status, 503, "{}", read.body);
    assert!(
        !read.body.contains(STORE),
        "no path in the answer: {}",
        read.body
    );
    // Nothing is created in its place while running.
    assert!(!path.exists());
    // Back (the same file under its name again): taken again within a second or so, even
    // with no write to notice it.
    std::fs::rename(&kept, &path).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while receiver.get("/alignak_logs").status != 200 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let read = receiver.get("/alignak_logs");
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(patch(&address, "after-return").0, 200);
    assert!(receiver.log().contains("is back"), "{}", receiver.log());
    // And after a restart, everything answered OK is there.
    assert!(receiver.terminate().success());
    receiver.restart();
    for host in ok_before
        .iter()
        .map(String::as_str)
        .chain(["before0", "before49", "after-return"])
    {
        let reply = receiver.get(&format!("/host/{host}"));
        assert_eq!(reply.status, 200, "{host}: {}", reply.body);
        assert_eq!(reply.json()["_result"][0]["name"], host, "{}", reply.body);
    }
}

#[test]
fn a_soak_keeps_the_history_under_its_cap_and_writes_their_latency() {
    const CAP: u64 = 5000;
    let receiver = setup()
        .module_param("history_max_entries", &CAP.to_string())
        .start();
    let address = receiver.address().to_string();
    let path = store_path(&receiver);
    let soak = Duration::from_secs(40);
    let stop = AtomicBool::new(false);
    let mut largest = 0;
    let latencies: Vec<Vec<(Instant, Duration)>> = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let (stop, address) = (&stop, &address);
                scope.spawn(move || {
                    let mut seen = Vec::new();
                    let mut n = 0u64;
                    while !stop.load(Ordering::SeqCst) {
                        let (status, took) = patch(address, &format!("s{w}x{}", n % 250));
                        assert_eq!(status, 200);
                        seen.push((Instant::now(), took));
                        n += 1;
                    }
                    seen
                })
            })
            .collect();
        let until = Instant::now() + soak;
        while Instant::now() < until {
            std::thread::sleep(Duration::from_millis(250));
            largest = largest.max(std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0));
        }
        stop.store(true, Ordering::SeqCst);
        writers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let all: Vec<(Instant, Duration)> = latencies.into_iter().flatten().collect();
    let writes = all.len() as u64;
    let start = all.iter().map(|(t, _)| *t).min().unwrap();
    let p99 = |from: Duration, to: Duration| {
        let mut window: Vec<Duration> = all
            .iter()
            .filter(|(t, _)| *t - start >= from && *t - start < to)
            .map(|(_, d)| *d)
            .collect();
        window.sort();
        window[window.len() * 99 / 100]
    };
    let first = p99(Duration::ZERO, Duration::from_secs(10));
    let last = p99(soak - Duration::from_secs(10), soak);
    let total = receiver.get("/alignak_logs").json()["_meta"]["total"]
        .as_u64()
        .unwrap();
    eprintln!(
        "{writes} writes in {soak:?}; history {total} (cap {CAP}); largest file {largest} B; \
         p99 first 10 s {first:?}, last 10 s {last:?}"
    );
    // The soak wrote far more entries than are kept.
    assert!(writes > 3 * CAP, "{writes} writes");
    // A step runs at most a second behind the inserts.
    assert!(
        total <= CAP + writes / soak.as_secs() * 2,
        "{total} entries"
    );
    // 5,000 entries of ~100 B and 1,000 hosts: well under 4 MB (without the cap: writes x
    // ~150 B).
    assert!(largest < 4 << 20, "the file grew to {largest} B");
    // Latency at the end is that of the start (bounded for a loaded machine).
    assert!(
        last < first * 3 + Duration::from_millis(50),
        "p99 {first:?} then {last:?}"
    );
}

#[test]
fn the_store_file_and_its_wal_are_private() {
    let receiver = setup().start();
    assert_eq!(patch(receiver.address(), "h").0, 200);
    let path = store_path(&receiver);
    let mut checked = 0;
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if let Ok(meta) = std::fs::metadata(&file) {
            assert_eq!(
                meta.permissions().mode() & 0o777,
                0o600,
                "{}",
                file.display()
            );
            checked += 1;
        }
    }
    assert_eq!(
        checked, 3,
        "the file, its WAL and shared memory exist while running"
    );
}

#[test]
fn history_older_than_its_age_is_pruned() {
    let receiver = setup().module_param("history_max_age", "2").start();
    let address = receiver.address().to_string();
    for i in 0..20 {
        assert_eq!(patch(&address, &format!("old{i}")).0, 200);
    }
    let total = |receiver: &Receiver| {
        receiver.get("/alignak_logs").json()["_meta"]["total"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(total(&receiver), 20);
    // Older than 2 s once 3 s have passed; a step runs at least once a second.
    let deadline = Instant::now() + Duration::from_secs(10);
    while total(&receiver) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(total(&receiver), 0);
    assert_eq!(patch(&address, "new").0, 200);
    let logs = receiver.get("/alignak_logs").json();
    assert_eq!(logs["_meta"]["total"], 1, "{logs}");
    // The hosts themselves are not history: they stay.
    assert_eq!(receiver.get("/host/old0").status, 200);
}
