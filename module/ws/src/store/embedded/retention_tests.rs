use super::*;
use crate::store::model::NewHistory;

#[test]
fn a_file_from_before_retention_is_rewritten_once_for_incremental_vacuum() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ws.sqlite");
    {
        // As the previous version made it: WAL, no auto_vacuum, the tables.
        let mut old = Connection::open(&path).unwrap();
        old.pragma_update(None, "journal_mode", "WAL").unwrap();
        schema::migrate(&mut old).unwrap();
        old.execute(
            "INSERT INTO history (created, type, message) VALUES (1, 'check.result', 'm')",
            [],
        )
        .unwrap();
        let mode: i64 = old
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, 0);
    }
    let (store, error) = EmbeddedStore::open(&path);
    assert!(error.is_none(), "{error:?}");
    let conn = Connection::open(&path).unwrap();
    let mode: i64 = conn
        .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, 2, "incremental");
    let journal: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM history", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1, "the history is kept");
    drop(store);
}

#[test]
fn history_beyond_its_cap_is_pruned_between_batches_and_pages_given_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ws.sqlite");
    let keep = Retention {
        max_age_secs: 3600,
        max_entries: 100,
    };
    let (store, _) = EmbeddedStore::open_with(&path, keep, None);
    for batch in 0..30 {
        store
            .session(&Caller::default(), &mut |s| {
                for i in 0..100 {
                    s.add_history(&NewHistory {
                        host_name: Some(format!("h{batch}x{i}")),
                        service_name: None,
                        user_name: "Alignak".into(),
                        kind: "check.result".into(),
                        message: "x".repeat(400),
                    })?;
                }
                Ok(())
            })
            .unwrap();
    }
    // Direct sessions do not run retention: the session thread does, within a period.
    let count = "SELECT count(*) FROM history";
    wait_until(|| number(&path, count) <= 100);
    assert_eq!(number(&path, count), 100);
    // The newest are kept.
    let newest: String = Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT host_name FROM history ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(newest, "h29x99");
    let free = "PRAGMA freelist_count";
    wait_until(|| number(&path, free) == 0);
    assert_eq!(number(&path, free), 0, "the free pages are given back");
}

/// What `sql` counts in the file at `path`, read on a connection of its own (the store's
/// thread holds its own).
fn number(path: &std::path::Path, sql: &str) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

/// Waits for the store's thread to have done `done`, 10 seconds at most (the caller's
/// assertion then says what is missing).
fn wait_until(done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}
