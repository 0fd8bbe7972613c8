//! `EmbeddedStore`: the store in one SQLite file (WAL mode).
//!
//! Concurrency: one connection behind a `Mutex`, held for a whole session, and sessions run on
//! tokio's blocking pool (`store::run`). So sessions are serialised — a read-modify-write of a
//! host's customs cannot interleave with another — and the async workers never wait on the
//! disk. A failed open or a failed batch drops the connection: the next request opens the file
//! again (no sticky "unavailable" state).
//!
//! Group commit: each session is a savepoint inside a transaction that stays open while other
//! sessions wait for the connection; the last of them commits for all, and every session of
//! the batch returns only once the batch is committed (or with the error that stopped it). A
//! transaction per request was what limited `PATCH /host`.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{params, params_from_iter, Connection, Row};
use serde_json::{Map, Value};

use super::model::{
    Element, ElementPatch, HistoryEntry, HistoryPage, HistoryQuery, Hostgroup, Kind, LastState,
    NewElement, NewHistory,
};
use super::{now, schema, Caller, Session, Store, StoreError};

/// Sessions committed together at most.
const MAX_BATCH: usize = 8;

pub struct EmbeddedStore {
    path: PathBuf,
    slot: Mutex<Slot>,
    /// Wakes the sessions of a batch when it is committed.
    batch_done: Condvar,
    /// Sessions waiting for the connection: while there are any, a session leaves the
    /// transaction open for them.
    waiting: AtomicUsize,
}

#[derive(Default)]
struct Slot {
    conn: Option<Connection>,
    /// The batch whose transaction is open, and how many sessions it holds.
    open: Option<(u64, usize)>,
    next_batch: u64,
    /// Every batch up to this one is finished.
    finished: u64,
    /// Why recent batches failed, for their sessions still waiting.
    failures: HashMap<u64, StoreError>,
}

fn unavailable(path: &Path, err: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!(
        "The data store is not available currently: {}: {err}",
        path.display()
    ))
}

impl EmbeddedStore {
    /// Opens (creating it and its directory) the store at `path`. A file that cannot be used
    /// now is not fatal: the error is returned for the log, and each request tries again.
    pub fn open(path: &Path) -> (EmbeddedStore, Option<StoreError>) {
        let store = EmbeddedStore {
            path: path.to_path_buf(),
            slot: Mutex::new(Slot {
                next_batch: 1,
                ..Slot::default()
            }),
            batch_done: Condvar::new(),
            waiting: AtomicUsize::new(0),
        };
        let error = match store.connect() {
            Ok(conn) => {
                store.lock().conn = Some(conn);
                None
            }
            Err(err) => Some(err),
        };
        (store, error)
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let fail = |e: &dyn std::fmt::Display| unavailable(&self.path, e);
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        }
        let mut conn = Connection::open(&self.path).map_err(|e| fail(&e))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(|e| fail(&e))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| fail(&e))?;
        // Commits reach the WAL without an fsync of their own (checkpoints still sync): a
        // process crash loses nothing, a power loss at most the last moments of state. The
        // commands, which are what must not be lost, are made durable by the daemon's spool.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| fail(&e))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| fail(&e))?;
        schema::migrate(&mut conn).map_err(|e| fail(&e))?;
        Ok(conn)
    }
}

impl EmbeddedStore {
    /// A panic inside a session (a bug) poisons the lock: start again from a new connection
    /// rather than refuse every later request.
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|poison| {
            let mut slot = poison.into_inner();
            // The open batch dies with the connection: its waiting sessions must hear it.
            if let Some((batch, _)) = slot.open.take() {
                slot.failures.insert(
                    batch,
                    unavailable(&self.path, "a store session panicked (a bug)"),
                );
                slot.finished = batch;
                self.batch_done.notify_all();
            }
            slot.conn = None;
            slot
        })
    }

    /// Ends the open batch: commits it, or rolls it back when `failure` says why not; drops
    /// the connection after a failure. Wakes the batch's waiting sessions.
    fn finish_batch(&self, slot: &mut Slot, failure: Option<StoreError>) -> Result<(), StoreError> {
        let Some((batch, _)) = slot.open.take() else {
            return Ok(());
        };
        let failure = match (failure, slot.conn.as_ref()) {
            (None, Some(conn)) => conn
                .execute_batch("COMMIT")
                .err()
                .map(|e| unavailable(&self.path, e)),
            (None, None) => Some(unavailable(&self.path, "the connection was lost")),
            (Some(failure), _) => Some(failure),
        };
        if let Some(failure) = &failure {
            if let Some(conn) = slot.conn.take() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            slot.failures.insert(batch, failure.clone());
        }
        slot.finished = batch;
        slot.failures.retain(|b, _| *b + 1024 > batch);
        self.batch_done.notify_all();
        failure.map_or(Ok(()), Err)
    }
}

impl Store for EmbeddedStore {
    fn session(
        &self,
        _caller: &Caller,
        work: &mut dyn FnMut(&mut dyn Session) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut slot = self.lock();
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        if slot.conn.is_none() {
            // A batch cannot be open without a connection: nothing to finish here.
            slot.open = None;
            slot.conn = Some(self.connect()?);
        }
        // Field by field: the connection stays borrowed while the batch is numbered.
        let state: &mut Slot = &mut slot;
        let Some(conn) = state.conn.as_ref() else {
            return Err(unavailable(&self.path, "not open"));
        };
        let batch = match state.open {
            Some((batch, _)) => batch,
            None => {
                if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
                    state.conn = None;
                    return Err(unavailable(&self.path, e));
                }
                let batch = state.next_batch;
                state.next_batch += 1;
                state.open = Some((batch, 0));
                batch
            }
        };
        // This session's writes, undone alone if it fails.
        let outcome = conn
            .execute_batch("SAVEPOINT session")
            .map_err(|e| unavailable(&self.path, e))
            .and_then(|()| {
                let mut session = SqliteSession {
                    conn,
                    path: &self.path,
                };
                catch_unwind(AssertUnwindSafe(|| work(&mut session))).unwrap_or_else(|_| {
                    Err(unavailable(&self.path, "a store session panicked (a bug)"))
                })
            });
        let closed = match &outcome {
            Ok(()) => conn.execute_batch("RELEASE session"),
            Err(_) => conn.execute_batch("ROLLBACK TO session; RELEASE session"),
        };
        if let Err(e) = closed {
            // The transaction is in an unknown state: the whole batch fails.
            let failure = unavailable(&self.path, e);
            let _ = self.finish_batch(state, Some(failure.clone()));
            return Err(failure);
        }
        let sessions = slot.open.map_or(0, |(_, n)| n) + 1;
        slot.open = Some((batch, sessions));
        if self.waiting.load(Ordering::SeqCst) > 0 && sessions < MAX_BATCH {
            // Another session is about to run in this transaction: it (or a later one)
            // commits for all.
            while slot.finished < batch {
                slot = self
                    .batch_done
                    .wait(slot)
                    .unwrap_or_else(|poison| poison.into_inner());
            }
            if let Some(failure) = slot.failures.get(&batch) {
                return Err(failure.clone());
            }
            return outcome;
        }
        self.finish_batch(&mut slot, None)?;
        outcome
    }
}

impl SqliteSession<'_> {
    /// A statement from the connection's cache: a PATCH runs the same few statements over
    /// and over, and parsing them each time cost more than running them.
    fn execute(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.conn.prepare_cached(sql)?.execute(params)
    }
}

struct SqliteSession<'a> {
    /// Inside the batch's transaction and this session's savepoint.
    conn: &'a Connection,
    path: &'a Path,
}

fn table(kind: Kind) -> &'static str {
    match kind {
        Kind::Host => "host",
        Kind::Service => "service",
    }
}

const ELEMENT_COLUMNS: &str = "id, name, fields, customs, active_checks_enabled, \
    passive_checks_enabled, check_freshness, ls_state, ls_state_id, ls_state_type, ls_output, \
    ls_long_output, ls_perf_data, ls_last_check, created, updated";

fn json_map(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

fn element(kind: Kind, row: &Row) -> rusqlite::Result<Element> {
    let state: Option<String> = row.get(7)?;
    let livestate = match state {
        Some(state) => Some(LastState {
            state,
            state_id: row.get::<_, Option<i64>>(8)?.unwrap_or(0),
            state_type: row.get::<_, Option<String>>(9)?.unwrap_or_default(),
            output: row.get::<_, Option<String>>(10)?.unwrap_or_default(),
            long_output: row.get::<_, Option<String>>(11)?.unwrap_or_default(),
            perf_data: row.get::<_, Option<String>>(12)?.unwrap_or_default(),
            last_check: row.get::<_, Option<i64>>(13)?.unwrap_or(0),
        }),
        None => None,
    };
    Ok(Element {
        id: row.get(0)?,
        kind,
        name: row.get(1)?,
        fields: json_map(&row.get::<_, String>(2)?),
        customs: json_map(&row.get::<_, String>(3)?),
        active_checks_enabled: row.get(4)?,
        passive_checks_enabled: row.get(5)?,
        check_freshness: row.get(6)?,
        livestate,
        created: row.get(14)?,
        updated: row.get(15)?,
    })
}

impl SqliteSession<'_> {
    fn fail(&self, err: impl std::fmt::Display) -> StoreError {
        unavailable(self.path, err)
    }

    fn elements(
        &self,
        kind: Kind,
        condition: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<Element>, StoreError> {
        let sql = format!(
            "SELECT {ELEMENT_COLUMNS} FROM {} WHERE {condition} ORDER BY id",
            table(kind)
        );
        let mut statement = self.conn.prepare_cached(&sql).map_err(|e| self.fail(e))?;
        let rows = statement
            .query_map(args, |row| element(kind, row))
            .map_err(|e| self.fail(e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.fail(e))
    }
}

impl Session for SqliteSession<'_> {
    fn host(&mut self, name: &str) -> Result<Option<Element>, StoreError> {
        Ok(self
            .elements(Kind::Host, "name = ?1", &[&name])?
            .into_iter()
            .next())
    }

    fn service(&mut self, host_id: i64, name: &str) -> Result<Option<Element>, StoreError> {
        Ok(self
            .elements(
                Kind::Service,
                "host_id = ?1 AND name = ?2",
                &[&host_id, &name],
            )?
            .into_iter()
            .next())
    }

    fn services(&mut self, host_id: i64) -> Result<Vec<Element>, StoreError> {
        self.elements(Kind::Service, "host_id = ?1", &[&host_id])
    }

    fn create(
        &mut self,
        kind: Kind,
        host_id: Option<i64>,
        new: &NewElement,
    ) -> Result<Element, StoreError> {
        let now = now();
        let fields = Value::Object(new.fields.clone()).to_string();
        let customs = Value::Object(new.customs.clone()).to_string();
        match kind {
            Kind::Host => self.execute(
                "INSERT INTO host (name, fields, customs, active_checks_enabled, \
                 passive_checks_enabled, check_freshness, created, updated) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                params![
                    new.name,
                    fields,
                    customs,
                    new.active_checks_enabled,
                    new.passive_checks_enabled,
                    new.check_freshness,
                    now
                ],
            ),
            Kind::Service => self.execute(
                "INSERT INTO service (host_id, name, fields, customs, active_checks_enabled, \
                 passive_checks_enabled, check_freshness, created, updated) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                params![
                    host_id.unwrap_or_default(),
                    new.name,
                    fields,
                    customs,
                    new.active_checks_enabled,
                    new.passive_checks_enabled,
                    new.check_freshness,
                    now
                ],
            ),
        }
        .map_err(|e| self.fail(e))?;
        let id = self.conn.last_insert_rowid();
        self.elements(kind, "id = ?1", &[&id])?
            .into_iter()
            .next()
            .ok_or_else(|| self.fail("the new element was not found after its creation"))
    }

    fn update(&mut self, kind: Kind, id: i64, patch: &ElementPatch) -> Result<(), StoreError> {
        if patch.is_empty() {
            return Ok(());
        }
        let mut sets = vec!["updated = ?".to_string()];
        let mut args: Vec<rusqlite::types::Value> = vec![now().into()];
        for (column, value) in [
            ("active_checks_enabled", patch.active_checks_enabled),
            ("passive_checks_enabled", patch.passive_checks_enabled),
            ("check_freshness", patch.check_freshness),
        ] {
            if let Some(value) = value {
                sets.push(format!("{column} = ?"));
                args.push(i64::from(value).into());
            }
        }
        if let Some(customs) = &patch.customs {
            sets.push("customs = ?".into());
            args.push(Value::Object(customs.clone()).to_string().into());
        }
        if let Some(ls) = &patch.livestate {
            for (column, value) in [
                ("ls_state", ls.state.clone().into()),
                ("ls_state_id", ls.state_id.into()),
                ("ls_state_type", ls.state_type.clone().into()),
                ("ls_output", ls.output.clone().into()),
                ("ls_long_output", ls.long_output.clone().into()),
                ("ls_perf_data", ls.perf_data.clone().into()),
                ("ls_last_check", ls.last_check.into()),
            ] {
                sets.push(format!("{column} = ?"));
                args.push(value);
            }
        }
        args.push(id.into());
        let sql = format!(
            "UPDATE {} SET {} WHERE id = ?",
            table(kind),
            sets.join(", ")
        );
        self.execute(&sql, params_from_iter(args))
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    fn hosts_in_group(&mut self, group: &str) -> Result<Vec<Element>, StoreError> {
        self.elements(
            Kind::Host,
            "EXISTS (SELECT 1 FROM json_each(host.fields, '$.hostgroups') WHERE value = ?1)",
            &[&group],
        )
    }

    fn hostgroups(&mut self, name: Option<&str>) -> Result<Vec<Hostgroup>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT id, name, alias, members, created, updated FROM hostgroup \
                 WHERE ?1 IS NULL OR name = ?1 ORDER BY name",
            )
            .map_err(|e| self.fail(e))?;
        let rows = statement
            .query_map([name], |row| {
                let members: String = row.get(3)?;
                Ok(Hostgroup {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    alias: row.get(2)?,
                    members: serde_json::from_str(&members).unwrap_or_default(),
                    created: row.get(4)?,
                    updated: row.get(5)?,
                })
            })
            .map_err(|e| self.fail(e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.fail(e))
    }

    fn put_hostgroup(
        &mut self,
        name: &str,
        alias: &str,
        members: &[String],
    ) -> Result<(), StoreError> {
        let members = Value::from(members.to_vec()).to_string();
        self.execute(
            "INSERT INTO hostgroup (name, alias, members, created, updated) \
                 VALUES (?1, ?2, ?3, ?4, ?4) \
                 ON CONFLICT(name) DO UPDATE SET alias = ?2, members = ?3, updated = ?4 \
                 WHERE alias IS NOT ?2 OR members IS NOT ?3",
            params![name, alias, members, now()],
        )
        .map_err(|e| self.fail(e))?;
        Ok(())
    }

    fn add_history(&mut self, entry: &NewHistory) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO history (created, host_name, service_name, user_name, type, message) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                now(),
                entry.host_name,
                entry.service_name,
                entry.user_name,
                entry.kind,
                entry.message
            ],
        )
        .map_err(|e| self.fail(e))?;
        Ok(())
    }

    fn history(&mut self, query: &HistoryQuery) -> Result<HistoryPage, StoreError> {
        // Field names come from the fixed `HISTORY_FIELDS` list, values are bound: no input
        // reaches the SQL text.
        let mut clauses = Vec::new();
        let mut args: Vec<String> = Vec::new();
        for (field, conditions) in &query.filters {
            let alternatives: Vec<String> = conditions
                .iter()
                .map(|c| {
                    args.push(c.value.clone());
                    let test = if c.negated { "=" } else { ">" };
                    format!("instr(COALESCE({field}, ''), ?) {test} 0")
                })
                .collect();
            if !alternatives.is_empty() {
                clauses.push(format!("({})", alternatives.join(" OR ")));
            }
        }
        let condition = if clauses.is_empty() {
            "1".to_string()
        } else {
            clauses.join(" AND ")
        };
        let total: i64 = self
            .conn
            .query_row(
                &format!("SELECT COUNT(*) FROM history WHERE {condition}"),
                params_from_iter(args.iter()),
                |row| row.get(0),
            )
            .map_err(|e| self.fail(e))?;
        let sql = format!(
            "SELECT id, created, host_name, service_name, user_name, type, message FROM history \
             WHERE {condition} ORDER BY id DESC LIMIT {} OFFSET {}",
            query.limit, query.offset
        );
        let mut statement = self.conn.prepare_cached(&sql).map_err(|e| self.fail(e))?;
        let rows = statement
            .query_map(params_from_iter(args.iter()), |row| {
                Ok(HistoryEntry {
                    id: row.get(0)?,
                    created: row.get(1)?,
                    host_name: row.get(2)?,
                    service_name: row.get(3)?,
                    user_name: row.get(4)?,
                    kind: row.get(5)?,
                    message: row.get(6)?,
                })
            })
            .map_err(|e| self.fail(e))?;
        let items = rows
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.fail(e))?;
        Ok(HistoryPage {
            items,
            total: total.max(0) as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::model::Condition;

    fn store() -> (tempfile::TempDir, EmbeddedStore) {
        let dir = tempfile::tempdir().unwrap();
        let (store, error) = EmbeddedStore::open(&dir.path().join("sub/dir/ws.sqlite"));
        assert!(error.is_none(), "{error:?}");
        (dir, store)
    }

    fn with<T>(store: &EmbeddedStore, mut f: impl FnMut(&mut dyn Session) -> T) -> T {
        let mut out = None;
        store
            .session(&Caller::default(), &mut |s| {
                out = Some(f(s));
                Ok(())
            })
            .unwrap();
        out.unwrap()
    }

    #[test]
    fn hosts_services_and_their_state_round_trip() {
        let (_dir, store) = store();
        let host = with(&store, |s| {
            s.create(Kind::Host, None, &NewElement::named("h1"))
                .unwrap()
        });
        assert_eq!(host.name, "h1");
        assert!(host.active_checks_enabled && host.passive_checks_enabled);
        let patch = ElementPatch {
            active_checks_enabled: Some(false),
            customs: Some(serde_json::from_str(r#"{"_A":"1"}"#).unwrap()),
            livestate: Some(LastState {
                state: "DOWN".into(),
                state_id: 1,
                state_type: "HARD".into(),
                output: "o".into(),
                long_output: "l".into(),
                perf_data: "p".into(),
                last_check: 12,
            }),
            ..ElementPatch::default()
        };
        with(&store, |s| s.update(Kind::Host, host.id, &patch).unwrap());
        let again = with(&store, |s| s.host("h1").unwrap().unwrap());
        assert!(!again.active_checks_enabled);
        assert_eq!(again.customs["_A"], "1");
        assert_eq!(again.livestate, patch.livestate);
        let svc = with(&store, |s| {
            s.create(Kind::Service, Some(host.id), &NewElement::named("svc"))
                .unwrap()
        });
        assert_eq!(
            with(&store, |s| s.services(host.id).unwrap()),
            vec![svc.clone()]
        );
        assert_eq!(
            with(&store, |s| s.service(host.id, "svc").unwrap()),
            Some(svc)
        );
    }

    #[test]
    fn a_failed_session_writes_nothing() {
        let (_dir, store) = store();
        let result = store.session(&Caller::default(), &mut |s| {
            s.create(Kind::Host, None, &NewElement::named("h1"))?;
            Err(StoreError::Unavailable("boom".into()))
        });
        assert!(result.is_err());
        assert_eq!(with(&store, |s| s.host("h1").unwrap()), None);
    }

    #[test]
    fn history_filters_and_pages_newest_first() {
        let (_dir, store) = store();
        with(&store, |s| {
            for (host, kind) in [
                ("a", "check.result"),
                ("b", "webui.comment"),
                ("ab", "check.result"),
            ] {
                s.add_history(&NewHistory {
                    host_name: Some(host.into()),
                    service_name: None,
                    user_name: "Alignak".into(),
                    kind: kind.into(),
                    message: format!("m {host}"),
                })
                .unwrap();
            }
        });
        let query = |filters: Vec<(&'static str, Vec<Condition>)>| HistoryQuery {
            filters,
            offset: 0,
            limit: 10,
        };
        let cond = |negated, value: &str| Condition {
            negated,
            value: value.into(),
        };
        let names = |page: HistoryPage| -> Vec<String> {
            page.items
                .into_iter()
                .map(|e| e.host_name.unwrap())
                .collect()
        };
        let all = with(&store, |s| s.history(&query(vec![])).unwrap());
        assert_eq!(all.total, 3);
        assert_eq!(names(all), ["ab", "b", "a"]);
        let page = with(&store, |s| {
            s.history(&query(vec![("host_name", vec![cond(true, "a")])]))
                .unwrap()
        });
        assert_eq!(names(page), ["b"]);
        let page = with(&store, |s| {
            s.history(&query(vec![
                ("type", vec![cond(false, "check")]),
                ("host_name", vec![cond(false, "b"), cond(false, "zz")]),
            ]))
            .unwrap()
        });
        assert_eq!(names(page), ["ab"]);
    }

    #[test]
    fn hostgroup_members_and_hosts_naming_a_group() {
        let (_dir, store) = store();
        with(&store, |s| {
            s.put_hostgroup("web", "Web servers", &["h1".into()])
                .unwrap();
            let mut new = NewElement::named("h2");
            new.fields
                .insert("hostgroups".into(), serde_json::json!(["web"]));
            s.create(Kind::Host, None, &new).unwrap();
        });
        let groups = with(&store, |s| s.hostgroups(Some("web")).unwrap());
        assert_eq!(groups[0].members, ["h1"]);
        let hosts = with(&store, |s| s.hosts_in_group("web").unwrap());
        assert_eq!(hosts.len(), 1);
        assert_eq!(hosts[0].name, "h2");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_unavailable_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ws.sqlite");
        std::fs::write(&path, vec![b'x'; 8192]).unwrap();
        let (store, error) = EmbeddedStore::open(&path);
        assert!(matches!(error, Some(StoreError::Unavailable(_))));
        let result = store.session(&Caller::default(), &mut |s| s.host("h").map(|_| ()));
        assert!(matches!(result, Err(StoreError::Unavailable(_))));
    }

    #[test]
    fn concurrent_sessions_commit_together_and_a_failing_one_alone_is_undone() {
        let (_dir, store) = store();
        let store = std::sync::Arc::new(store);
        let threads: Vec<_> = (0..12)
            .map(|i| {
                let store = std::sync::Arc::clone(&store);
                std::thread::spawn(move || {
                    store.session(&Caller::default(), &mut |s| {
                        s.create(Kind::Host, None, &NewElement::named(&format!("h{i}")))?;
                        match i {
                            3 => Err(StoreError::Unavailable("refused by the test".into())),
                            7 => panic!("a bug inside a session"),
                            _ => Ok(()),
                        }
                    })
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        for (i, result) in results.iter().enumerate() {
            assert_eq!(result.is_ok(), i != 3 && i != 7, "session {i}: {result:?}");
        }
        for i in 0..12 {
            let found = with(&store, move |s| s.host(&format!("h{i}")).unwrap());
            assert_eq!(found.is_some(), i != 3 && i != 7, "h{i}");
        }
    }
}
