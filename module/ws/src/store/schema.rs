//! The embedded store's schema: the ONE place it is created and migrated.
//!
//! The version is SQLite's `PRAGMA user_version`; each migration takes the file from version
//! `n` to `n + 1` inside one transaction, so a crash half-way leaves the previous version.
//! Add a migration at the end of `MIGRATIONS`; never edit one that has shipped.

use rusqlite::Connection;

/// Migration `i` takes the file from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: hosts, services (their customs, check flags and last livestate), hostgroups, history.
    "
    CREATE TABLE host (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        fields TEXT NOT NULL DEFAULT '{}',
        customs TEXT NOT NULL DEFAULT '{}',
        active_checks_enabled INTEGER NOT NULL DEFAULT 1,
        passive_checks_enabled INTEGER NOT NULL DEFAULT 1,
        check_freshness INTEGER NOT NULL DEFAULT 0,
        ls_state TEXT,
        ls_state_id INTEGER,
        ls_state_type TEXT,
        ls_output TEXT,
        ls_long_output TEXT,
        ls_perf_data TEXT,
        ls_last_check INTEGER,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL
    );
    CREATE TABLE service (
        id INTEGER PRIMARY KEY,
        host_id INTEGER NOT NULL REFERENCES host(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        fields TEXT NOT NULL DEFAULT '{}',
        customs TEXT NOT NULL DEFAULT '{}',
        active_checks_enabled INTEGER NOT NULL DEFAULT 1,
        passive_checks_enabled INTEGER NOT NULL DEFAULT 1,
        check_freshness INTEGER NOT NULL DEFAULT 0,
        ls_state TEXT,
        ls_state_id INTEGER,
        ls_state_type TEXT,
        ls_output TEXT,
        ls_long_output TEXT,
        ls_perf_data TEXT,
        ls_last_check INTEGER,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        UNIQUE (host_id, name)
    );
    CREATE TABLE hostgroup (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        alias TEXT NOT NULL DEFAULT '',
        members TEXT NOT NULL DEFAULT '[]',
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL
    );
    CREATE TABLE history (
        id INTEGER PRIMARY KEY,
        created INTEGER NOT NULL,
        host_name TEXT,
        service_name TEXT,
        user_name TEXT,
        type TEXT NOT NULL,
        message TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX history_host_name ON history(host_name);
    ",
    // 2: the tokens minted by /login, stored as SHA-256 hashes: a copy of the file gives no
    // usable token. Times are Unix milliseconds.
    "CREATE TABLE tokens (
        hash       BLOB    PRIMARY KEY NOT NULL,
        username   TEXT    NOT NULL,
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX tokens_by_expiry ON tokens (expires_ms);",
    // 3: the history is searched by substring (`instr`), which no index serves: the index on
    // host_name only cost every insert a second B-tree.
    "DROP INDEX IF EXISTS history_host_name;",
];

/// The version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the file to `VERSION`. A file newer than this build is refused rather than
/// half-understood.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if current > VERSION {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "the store file has schema version {current}, newer than this module's {VERSION}"
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_is_a_no_op_and_sets_the_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, VERSION);
    }

    #[test]
    fn a_newer_file_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        assert!(migrate(&mut conn).is_err());
    }

    #[test]
    fn a_file_from_an_earlier_version_is_brought_up_to_date_with_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ws.sqlite");
        {
            // As the first release left it: migration 1 only, with a host in it.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO host (name, created, updated) VALUES ('srv', 1, 1)",
                [],
            )
            .unwrap();
        }
        let mut conn = Connection::open(&path).unwrap();
        migrate(&mut conn).unwrap();
        let value = |sql: &str| -> String {
            conn.query_row(sql, [], |r| r.get::<_, rusqlite::types::Value>(0))
                .map(|v| format!("{v:?}"))
                .unwrap()
        };
        assert_eq!(value("PRAGMA user_version"), format!("Integer({VERSION})"));
        assert_eq!(value("SELECT name FROM host"), r#"Text("srv")"#);
        assert_eq!(value("SELECT count(*) FROM tokens"), "Integer(0)");
    }
}
