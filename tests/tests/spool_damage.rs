//! A damaged spool costs the damaged record only, and never makes the daemon answer OK for
//! what it will not deliver: a cut tail, a damaged middle, file modes (real daemon, commands
//! kept really pending behind a FIFO nobody reads).

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use alignak_e2e::{assert_contains, Client, CommandSink, Receiver, Setup};
use serde_json::json;

fn spool_dir(receiver: &Receiver) -> PathBuf {
    receiver.dir.path().join("var/spool/alignak")
}

/// The one segment file of the spool.
fn segment(receiver: &Receiver) -> PathBuf {
    let mut segments: Vec<PathBuf> = fs::read_dir(spool_dir(receiver))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("seg-") && name.ends_with(".log")
        })
        .collect();
    assert_eq!(segments.len(), 1, "{segments:?}");
    segments.pop().unwrap()
}

/// Cuts the last 5 bytes off the spool segment, as a crash in the middle of a write would.
fn cut_the_segments_tail(receiver: &Receiver) {
    let path = segment(receiver);
    let len = fs::metadata(&path).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len - 5)
        .unwrap();
}

fn send(receiver: &Receiver, hosts: impl Iterator<Item = usize>) {
    for n in hosts {
        let body = json!({"command": "disable_host_check", "host": format!("h{n}")});
        let reply = receiver.post_json("/command", &body.to_string());
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
}

/// The host numbers of the next `count` lines a reader of the FIFO gets.
fn read_fifo(receiver: &Receiver, count: usize) -> Vec<usize> {
    let fifo = receiver.command_file.clone().unwrap();
    BufReader::new(fs::File::open(&fifo).unwrap())
        .lines()
        .take(count)
        .map(|line| line.unwrap().rsplit_once(";h").unwrap().1.parse().unwrap())
        .collect()
}

#[test]
fn a_damaged_middle_costs_that_record_and_its_neighbours_are_delivered() {
    let mut receiver = Setup::new().sink(CommandSink::Fifo).start();
    send(&receiver, 0..10);
    receiver.kill9();
    // Four bytes of the record of h5 overwritten, as a bad sector or a clumsy edit does.
    let path = segment(&receiver);
    let mut bytes = fs::read(&path).unwrap();
    // Each line ends its record; the next record starts with a marker, not a digit.
    let at = (0..bytes.len() - 3)
        .find(|&at| &bytes[at..at + 3] == b";h5" && !bytes[at + 3].is_ascii_digit())
        .expect("the record of h5");
    bytes[at - 4..at].copy_from_slice(b"XXXX");
    fs::write(&path, &bytes).unwrap();

    receiver.restart();
    let log = receiver.current_log();
    assert_contains(&log, "record(s) 5 to 5 lost");
    send(&receiver, 10..12);
    // Nothing past the damaged record was cut: its neighbours and the new commands come.
    let got = read_fifo(&receiver, 11);
    assert_eq!(
        got,
        [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11],
        "{}",
        receiver.log()
    );
}

#[test]
fn a_cut_tail_loses_only_the_cut_record() {
    let mut receiver = Setup::new().sink(CommandSink::Fifo).start();
    send(&receiver, 0..5);
    receiver.kill9();
    cut_the_segments_tail(&receiver);
    receiver.restart();
    assert!(
        receiver.current_log().contains("cutting"),
        "{}",
        receiver.current_log()
    );
    send(&receiver, 5..7);
    assert_eq!(read_fifo(&receiver, 6), [0, 1, 2, 3, 5, 6]);
}

#[test]
fn a_cut_tail_of_delivered_commands_does_not_hide_the_next_ones() {
    // The case: commands answered OK after such a restart never reached the core.
    let mut receiver = Setup::new().start();
    send(&receiver, 0..3);
    receiver.wait_commands(3);
    assert_eq!(receiver.terminate().code(), Some(0), "{}", receiver.log());
    cut_the_segments_tail(&receiver);
    receiver.restart();
    send(&receiver, 3..5);
    let lines = receiver.wait_commands(5);
    assert!(
        lines[3].ends_with(";h3") && lines[4].ends_with(";h4"),
        "{lines:?}"
    );
    assert!(
        !receiver.log().contains("nothing will be delivered"),
        "{}",
        receiver.log()
    );
}

#[test]
fn spool_files_are_created_private() {
    let receiver = Setup::new().sink(CommandSink::LogOnly).start();
    send(&receiver, 0..3);
    let journal = spool_dir(&receiver).join("journal");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !journal.exists() {
        assert!(std::time::Instant::now() < deadline, "no journal");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let mut seen = Vec::new();
    for entry in fs::read_dir(spool_dir(&receiver)).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        seen.push(entry.file_name().to_string_lossy().into_owned());
        assert_eq!(mode, 0o600, "{:?}", entry.file_name());
    }
    assert!(seen.iter().any(|n| n == "cursor"), "{seen:?}");
    assert!(seen.iter().any(|n| n.starts_with("seg-")), "{seen:?}");
}
