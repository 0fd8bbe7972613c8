//! History retention: the oldest entries beyond `history_max_entries`, and those older than
//! `history_max_age`, are deleted in small steps on the session connection, between batches
//! (`STEP_ROWS` rows: a few milliseconds, so no write waits long behind a step), and the
//! pages they free are given back to the file system (`auto_vacuum = INCREMENTAL`).
//!
//! Ids grow with time (a row is inserted with `now()`, rowids are max + 1): the oldest entries
//! are the lowest ids, and `max(id) - min(id) + 1` counts the rows (deletions only ever take
//! the lowest ones) without a scan.

use rusqlite::{params, Connection};

/// Rows deleted by one step at most.
pub const STEP_ROWS: i64 = 2000;
/// Gives back 1000 free pages at most (4 MB of 4 KB pages): a pragma takes no parameter.
const VACUUM_STEP: &str = "PRAGMA incremental_vacuum(1000)";

/// What is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub max_age_secs: u64,
    pub max_entries: u64,
}

impl Default for Retention {
    /// A small site's month, and a file capped at a few gigabytes.
    fn default() -> Self {
        Retention {
            max_age_secs: 31 * 24 * 3600,
            max_entries: 2_000_000,
        }
    }
}

/// What a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Step {
    pub deleted: usize,
    pub vacuumed: bool,
}

impl Step {
    /// More is to do right away.
    pub fn behind(&self) -> bool {
        self.deleted as i64 >= STEP_ROWS
    }
}

/// One step, outside any transaction (each statement commits alone).
pub fn step(conn: &Connection, retention: Retention, now: i64) -> rusqlite::Result<Step> {
    let (min, max, oldest): (Option<i64>, Option<i64>, Option<i64>) = conn
        .prepare_cached(
            "SELECT (SELECT min(id) FROM history), (SELECT max(id) FROM history), \
             (SELECT created FROM history ORDER BY id LIMIT 1)",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let cutoff = now.saturating_sub(i64::try_from(retention.max_age_secs).unwrap_or(i64::MAX));
    let mut step = Step::default();
    if let (Some(min), Some(max), Some(oldest)) = (min, max, oldest) {
        let max_entries = i64::try_from(retention.max_entries).unwrap_or(i64::MAX);
        let excess = (max - min + 1).saturating_sub(max_entries).max(0);
        if excess > 0 || oldest < cutoff {
            // Ids below `min + excess` are beyond the count; the others go when too old.
            step.deleted = conn
                .prepare_cached(
                    "DELETE FROM history WHERE id IN \
                     (SELECT id FROM history ORDER BY id LIMIT ?1) \
                     AND (id < ?2 OR created < ?3)",
                )?
                .execute(params![STEP_ROWS, min.saturating_add(excess), cutoff])?;
        }
    }
    if !step.behind() {
        let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
        if free > 0 {
            // The pragma frees its pages as it is stepped: step it to the end.
            let mut vacuum = conn.prepare_cached(VACUUM_STEP)?;
            let mut rows = vacuum.query([])?;
            while rows.next()?.is_some() {}
            step.vacuumed = true;
        }
    }
    Ok(step)
}

/// Files made before retention have `auto_vacuum = NONE`: a VACUUM, once, turns on the
/// incremental mode (it rewrites the file: logged, as it can take a while on a big one).
pub fn enable_incremental_vacuum(conn: &Connection) -> rusqlite::Result<()> {
    let mode: i64 = conn.query_row("PRAGMA auto_vacuum", [], |r| r.get(0))?;
    if mode == 2 {
        return Ok(());
    }
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    if tables > 0 {
        log::warn!(
            "the store file has no incremental vacuum yet: rewriting it once (VACUUM) so that \
             pruned history gives its space back"
        );
        let started = std::time::Instant::now();
        conn.execute_batch("VACUUM")?;
        log::warn!("store file rewritten in {:?}", started.elapsed());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(rows: &[(i64, i64)]) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE history (id INTEGER PRIMARY KEY, created INTEGER NOT NULL, \
             type TEXT NOT NULL DEFAULT '')",
        )
        .unwrap();
        for (id, created) in rows {
            conn.execute(
                "INSERT INTO history (id, created) VALUES (?1, ?2)",
                params![id, created],
            )
            .unwrap();
        }
        conn
    }

    fn ids(conn: &Connection) -> Vec<i64> {
        let mut s = conn.prepare("SELECT id FROM history ORDER BY id").unwrap();
        s.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn the_oldest_beyond_the_count_and_the_too_old_go() {
        let rows: Vec<(i64, i64)> = (1..=10).map(|i| (i, 1000 + i)).collect();
        let conn = history(&rows);
        let keep = |max_age_secs, max_entries| Retention {
            max_age_secs,
            max_entries,
        };
        assert_eq!(step(&conn, keep(1000, 100), 1010).unwrap().deleted, 0);
        assert_eq!(step(&conn, keep(1000, 7), 1010).unwrap().deleted, 3);
        assert_eq!(ids(&conn), (4..=10).collect::<Vec<_>>());
        // Older than 1010 - 3 = 1007: ids 4..=6.
        assert_eq!(step(&conn, keep(3, 7), 1010).unwrap().deleted, 3);
        assert_eq!(ids(&conn), (7..=10).collect::<Vec<_>>());
    }

    #[test]
    fn a_step_is_bounded() {
        let rows: Vec<(i64, i64)> = (1..=(STEP_ROWS + 5)).map(|i| (i, 1)).collect();
        let conn = history(&rows);
        let all_old = Retention {
            max_age_secs: 1,
            max_entries: 1_000_000,
        };
        let first = step(&conn, all_old, 100).unwrap();
        assert!(first.behind());
        assert_eq!(first.deleted as i64, STEP_ROWS);
        assert_eq!(step(&conn, all_old, 100).unwrap().deleted, 5);
    }
}
