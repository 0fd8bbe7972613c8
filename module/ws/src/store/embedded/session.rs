// Over 400 lines, earned: every statement of the embedded store, one method per call of the store traits, beside the SQL text they share.
//! A session of the embedded store: the SQL behind `Lookups`, `Session` and `Rows`, inside
//! the batch's transaction and the session's savepoint (`super` runs them), with the element
//! cache in front of its lookups.

use std::path::Path;

use rusqlite::{params, params_from_iter, Connection, Row};
use serde_json::{Map, Value};

use super::{query_error, unavailable};
use crate::store::cache::ElementCache;
use crate::store::model::{
    CheckRecord, Element, ElementPatch, HistoryEntry, HistoryPage, HistoryQuery, Hostgroup, Kind,
    LastState, NewElement, NewHistory,
};
use crate::store::rows::Rows;
use crate::store::{now, Lookups, Session, StoreError};

impl<'a> SqliteSession<'a> {
    pub(super) fn new(conn: &'a Connection, path: &'a Path, cache: &'a mut ElementCache) -> Self {
        SqliteSession {
            conn,
            path,
            cache,
            held: Default::default(),
        }
    }

    /// A statement from the connection's cache: a PATCH runs the same few statements over
    /// and over, and parsing them each time cost more than running them.
    fn execute(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.conn.prepare_cached(sql)?.execute(params)
    }

    /// One of the statements run for every element of a request, held by the session.
    fn run_held(&mut self, which: Held, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        let slot = &mut self.held[which as usize];
        let statement = match slot {
            Some(statement) => statement,
            None => slot.insert(self.conn.prepare_cached(which.sql())?),
        };
        statement.execute(params)
    }
}

pub(super) struct SqliteSession<'a> {
    /// Inside the batch's transaction and this session's savepoint.
    conn: &'a Connection,
    path: &'a Path,
    cache: &'a mut ElementCache,
    /// The `Held` statements, taken from the connection's cache once per session rather
    /// than per call: taking one and giving it back cost 15 % of the store's thread in
    /// a batch of livestates. They go back to the cache when the session ends.
    held: [Option<rusqlite::CachedStatement<'a>>; Held::COUNT],
}

/// The statements every livestate runs.
#[derive(Clone, Copy)]
enum Held {
    UpdateHost,
    UpdateService,
    UpdateHostLivestate,
    UpdateServiceLivestate,
    InsertHistory,
}

impl Held {
    const COUNT: usize = 5;

    fn sql(self) -> &'static str {
        match self {
            Held::UpdateHost => UPDATE_HOST,
            Held::UpdateService => UPDATE_SERVICE,
            Held::UpdateHostLivestate => UPDATE_HOST_LIVESTATE,
            Held::UpdateServiceLivestate => UPDATE_SERVICE_LIVESTATE,
            Held::InsertHistory => INSERT_HISTORY,
        }
    }
}

fn table(kind: Kind) -> &'static str {
    match kind {
        Kind::Host => "host",
        Kind::Service => "service",
    }
}

macro_rules! update_element {
    ($table:literal) => {
        concat!(
            "UPDATE ",
            $table,
            " SET updated = ?1, \
             active_checks_enabled = COALESCE(?2, active_checks_enabled), \
             passive_checks_enabled = COALESCE(?3, passive_checks_enabled), \
             check_freshness = COALESCE(?4, check_freshness), \
             customs = COALESCE(?5, customs), \
             ls_state = COALESCE(?6, ls_state), \
             ls_state_id = COALESCE(?7, ls_state_id), \
             ls_state_type = COALESCE(?8, ls_state_type), \
             ls_output = COALESCE(?9, ls_output), \
             ls_long_output = COALESCE(?10, ls_long_output), \
             ls_perf_data = COALESCE(?11, ls_perf_data), \
             ls_last_check = COALESCE(?12, ls_last_check) \
             WHERE id = ?13"
        )
    };
}
const UPDATE_HOST: &str = update_element!("host");
const UPDATE_SERVICE: &str = update_element!("service");

/// The update of nearly every request: a livestate and nothing else.
macro_rules! update_livestate {
    ($table:literal) => {
        concat!(
            "UPDATE ",
            $table,
            " SET updated = ?1, ls_state = ?2, ls_state_id = ?3, ls_state_type = ?4, \
             ls_output = ?5, ls_long_output = ?6, ls_perf_data = ?7, ls_last_check = ?8 \
             WHERE id = ?9"
        )
    };
}
const UPDATE_HOST_LIVESTATE: &str = update_livestate!("host");
const UPDATE_SERVICE_LIVESTATE: &str = update_livestate!("service");
const INSERT_HISTORY: &str =
    "INSERT INTO history (created, host_name, service_name, user_name, type, message) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

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

    /// A query's failure: the caller's (400) when SQLite refused what it asked, else the
    /// store's.
    fn query_failed(&self, err: rusqlite::Error) -> StoreError {
        if query_error(&err) {
            StoreError::BadQuery(format!("The search cannot be run: {err}."))
        } else {
            self.fail(err)
        }
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

impl Lookups for SqliteSession<'_> {
    fn host(&mut self, name: &str) -> Result<Option<Element>, StoreError> {
        if let Some(host) = self.cache.host(name) {
            return Ok(Some(host.clone()));
        }
        let found = self
            .elements(Kind::Host, "name = ?1", &[&name])?
            .into_iter()
            .next();
        if let Some(host) = &found {
            self.cache.remember(host, None);
        }
        Ok(found)
    }

    fn service(&mut self, host_id: i64, name: &str) -> Result<Option<Element>, StoreError> {
        if let Some(service) = self.cache.service(host_id, name) {
            return Ok(Some(service.clone()));
        }
        let found = self
            .elements(
                Kind::Service,
                "host_id = ?1 AND name = ?2",
                &[&host_id, &name],
            )?
            .into_iter()
            .next();
        if let Some(service) = &found {
            self.cache.remember(service, Some(host_id));
        }
        Ok(found)
    }

    fn services(&mut self, host_id: i64) -> Result<Vec<Element>, StoreError> {
        self.elements(Kind::Service, "host_id = ?1", &[&host_id])
    }
}

impl Session for SqliteSession<'_> {
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
        let created = self
            .elements(kind, "id = ?1", &[&id])?
            .into_iter()
            .next()
            .ok_or_else(|| self.fail("the new element was not found after its creation"))?;
        self.cache.remember(&created, host_id);
        Ok(created)
    }

    fn update(&mut self, kind: Kind, id: i64, patch: &ElementPatch) -> Result<(), StoreError> {
        if patch.is_empty() {
            return Ok(());
        }
        // A livestate alone has a statement of its own (the most frequent update); anything
        // else one statement text per table, whatever the patch holds: a NULL parameter
        // keeps the column (the livestate's columns are set together, none of them NULL).
        let now = now();
        let only_livestate = patch.active_checks_enabled.is_none()
            && patch.passive_checks_enabled.is_none()
            && patch.check_freshness.is_none()
            && patch.customs.is_none();
        match (&patch.livestate, only_livestate) {
            (Some(ls), true) => self.run_held(
                match kind {
                    Kind::Host => Held::UpdateHostLivestate,
                    Kind::Service => Held::UpdateServiceLivestate,
                },
                params![
                    now,
                    ls.state,
                    ls.state_id,
                    ls.state_type,
                    ls.output,
                    ls.long_output,
                    ls.perf_data,
                    ls.last_check,
                    id
                ],
            ),
            _ => {
                let customs = patch
                    .customs
                    .as_ref()
                    .map(|customs| Value::Object(customs.clone()).to_string());
                let ls = patch.livestate.as_ref();
                self.run_held(
                    match kind {
                        Kind::Host => Held::UpdateHost,
                        Kind::Service => Held::UpdateService,
                    },
                    params![
                        now,
                        patch.active_checks_enabled,
                        patch.passive_checks_enabled,
                        patch.check_freshness,
                        customs,
                        ls.map(|l| &l.state),
                        ls.map(|l| l.state_id),
                        ls.map(|l| &l.state_type),
                        ls.map(|l| &l.output),
                        ls.map(|l| &l.long_output),
                        ls.map(|l| &l.perf_data),
                        ls.map(|l| l.last_check),
                        id
                    ],
                )
            }
        }
        .map_err(|e| self.fail(e))?;
        self.cache.update(kind, id, patch, now);
        Ok(())
    }

    /// As the default (a `check.result` history entry), without copying what it writes.
    fn record_check(&mut self, check: &CheckRecord) -> Result<(), StoreError> {
        let message = check.last.history_message();
        self.run_held(
            Held::InsertHistory,
            params![
                now(),
                check.host.name,
                check.service.map(|s| &s.name),
                "Alignak",
                "check.result",
                message
            ],
        )
        .map_err(|e| self.fail(e))?;
        Ok(())
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
        self.run_held(
            Held::InsertHistory,
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
}

impl Rows for SqliteSession<'_> {
    fn hosts_in_group(&mut self, group: &str) -> Result<Vec<Element>, StoreError> {
        self.elements(
            Kind::Host,
            "EXISTS (SELECT 1 FROM json_each(host.fields, '$.hostgroups') WHERE value = ?1)",
            &[&group],
        )
    }

    fn host_page(
        &mut self,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Map<String, Value>>, u64), StoreError> {
        let total: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM host")
            .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
            .map_err(|e| self.fail(e))?;
        // SQLite's LIMIT and OFFSET are signed: the handler bounds both far below.
        let (limit, offset) = (limit as i64, offset as i64);
        let hosts = self.elements(
            Kind::Host,
            "id IN (SELECT id FROM host ORDER BY id LIMIT ?1 OFFSET ?2)",
            &[&limit, &offset],
        )?;
        Ok((
            hosts.iter().map(Element::document).collect(),
            u64::try_from(total).unwrap_or(0),
        ))
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

    fn history(&mut self, query: &HistoryQuery) -> Result<HistoryPage, StoreError> {
        // Field names come from the fixed `HISTORY_FIELDS` list, values are bound: no input
        // reaches the SQL text. A field's values go as one JSON array each (those to find,
        // those to miss), not one `OR` each: the statement stays the same size whatever the
        // number of terms (SQLite refuses expressions over 1000 deep).
        let mut clauses = Vec::new();
        let mut args: Vec<String> = Vec::new();
        for (field, conditions) in &query.filters {
            let mut alternatives = Vec::new();
            for negated in [false, true] {
                let values: Vec<&str> = conditions
                    .iter()
                    .filter(|c| c.negated == negated)
                    .map(|c| c.value.as_str())
                    .collect();
                if values.is_empty() {
                    continue;
                }
                args.push(Value::from(values).to_string());
                let test = if negated { "=" } else { ">" };
                alternatives.push(format!(
                    "EXISTS (SELECT 1 FROM json_each(?) AS term \
                     WHERE instr(COALESCE(history.{field}, ''), term.value) {test} 0)"
                ));
            }
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
            .map_err(|e| self.query_failed(e))?;
        let sql = format!(
            "SELECT id, created, host_name, service_name, user_name, type, message FROM history \
             WHERE {condition} ORDER BY id DESC LIMIT {} OFFSET {}",
            query.limit, query.offset
        );
        let mut statement = self
            .conn
            .prepare_cached(&sql)
            .map_err(|e| self.query_failed(e))?;
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
            .map_err(|e| self.query_failed(e))?;
        let items = rows
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.query_failed(e))?;
        Ok(HistoryPage {
            items,
            total: total.max(0) as u64,
        })
    }
}
