//! The documents the store keeps, and their backend-shaped JSON.

use serde_json::{json, Map, Value};

/// Hosts and services are stored alike; the kind says which table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Host,
    Service,
}

/// The last check result of a host or service (the backend's `ls_*` fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastState {
    pub state: String,
    pub state_id: i64,
    pub state_type: String,
    pub output: String,
    pub long_output: String,
    pub perf_data: String,
    pub last_check: i64,
}

impl LastState {
    /// The backend's `check.result` history message: `UP[HARD] (False/False): output`
    /// (acknowledged/downtimed, which passive results never are here).
    pub fn history_message(&self) -> String {
        format!(
            "{}[{}] (False/False): {}",
            self.state, self.state_type, self.output
        )
    }
}

/// A stored host or service.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    pub id: i64,
    pub kind: Kind,
    pub name: String,
    /// Every other field, as the creation template gave it (`alias`, `_realm`, `hostgroups`,
    /// `notes`, ...).
    pub fields: Map<String, Value>,
    pub customs: Map<String, Value>,
    pub active_checks_enabled: bool,
    pub passive_checks_enabled: bool,
    pub check_freshness: bool,
    pub livestate: Option<LastState>,
    pub created: i64,
    pub updated: i64,
}

/// What a creation writes.
#[derive(Debug, Clone, PartialEq)]
pub struct NewElement {
    pub name: String,
    pub fields: Map<String, Value>,
    pub customs: Map<String, Value>,
    pub active_checks_enabled: bool,
    pub passive_checks_enabled: bool,
    pub check_freshness: bool,
}

impl NewElement {
    /// The backend's defaults: checks enabled, no freshness check.
    pub fn named(name: &str) -> NewElement {
        NewElement {
            name: name.to_string(),
            fields: Map::new(),
            customs: Map::new(),
            active_checks_enabled: true,
            passive_checks_enabled: true,
            check_freshness: false,
        }
    }
}

/// The changes of one update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ElementPatch {
    pub active_checks_enabled: Option<bool>,
    pub passive_checks_enabled: Option<bool>,
    pub check_freshness: Option<bool>,
    pub customs: Option<Map<String, Value>>,
    pub livestate: Option<LastState>,
}

impl ElementPatch {
    pub fn is_empty(&self) -> bool {
        *self == ElementPatch::default()
    }

    /// For the stores' tests: a patch of a livestate only, UP and HARD with `output`,
    /// checked at `last_check`.
    #[cfg(test)]
    pub fn up(output: &str, last_check: i64) -> ElementPatch {
        ElementPatch {
            livestate: Some(LastState {
                state: "UP".into(),
                state_id: 0,
                state_type: "HARD".into(),
                output: output.into(),
                long_output: String::new(),
                perf_data: String::new(),
                last_check,
            }),
            ..ElementPatch::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hostgroup {
    pub id: i64,
    pub name: String,
    pub alias: String,
    /// Host names, as declared (`members`).
    pub members: Vec<String>,
    pub created: i64,
    pub updated: i64,
}

/// A valid livestate of a request, for `Session::record_check`.
#[derive(Debug, Clone, Copy)]
pub struct CheckRecord<'a> {
    pub host: &'a Element,
    /// `None` for the host's own check result.
    pub service: Option<&'a Element>,
    pub last: &'a LastState,
    /// The livestate's own `timestamp`, when it had one.
    pub timestamp: Option<i64>,
}

/// A history entry to write (`check.result`, `webui.comment`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHistory {
    pub host_name: Option<String>,
    pub service_name: Option<String>,
    pub user_name: String,
    pub kind: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub id: i64,
    pub created: i64,
    pub host_name: Option<String>,
    pub service_name: Option<String>,
    pub user_name: Option<String>,
    pub kind: String,
    pub message: String,
}

/// The searchable history fields (the original's `decode_search` list).
pub const HISTORY_FIELDS: [&str; 5] = ["host_name", "service_name", "user_name", "type", "message"];

/// One condition: `field` contains `value` (or does not, when `negated`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub negated: bool,
    pub value: String,
}

/// All `fields` must match; within one field, any of its conditions (the original's `$or`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    pub filters: Vec<(&'static str, Vec<Condition>)>,
    pub offset: u64,
    pub limit: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    pub items: Vec<HistoryEntry>,
    pub total: u64,
}

/// The backend's `_id`: 24 hex digits.
pub fn object_id(id: i64) -> String {
    format!("{id:024x}")
}

/// RFC 1123 in GMT, as Eve writes `_created`/`_updated`: `Tue, 14 Nov 2023 22:13:20 GMT`
/// (RFC 9110's HTTP date). A time beyond what the format can hold (past year 9999, before
/// year 0) is written as the epoch.
pub fn http_date(unix: i64) -> String {
    const PRINTER: jiff::fmt::rfc2822::DateTimePrinter = jiff::fmt::rfc2822::DateTimePrinter::new();
    jiff::Timestamp::from_second(unix)
        .and_then(|at| PRINTER.timestamp_to_rfc9110_string(&at))
        .unwrap_or_else(|_| "Thu, 01 Jan 1970 00:00:00 GMT".to_string())
}

/// What every backend-shaped document starts with: `_id` and `_created`.
fn stamps(id: i64, created: i64) -> Map<String, Value> {
    let mut doc = Map::new();
    doc.insert("_id".into(), json!(object_id(id)));
    doc.insert("_created".into(), json!(http_date(created)));
    doc
}

/// The start of a named object's document, which can change: `_updated`, `name`, `alias`.
fn named(id: i64, created: i64, updated: i64, name: &str, alias: &str) -> Map<String, Value> {
    let mut doc = stamps(id, created);
    doc.insert("_updated".into(), json!(http_date(updated)));
    doc.insert("name".into(), json!(name));
    doc.insert("alias".into(), json!(alias));
    doc
}

impl Element {
    /// The backend-shaped document. Never holds a secret: the store keeps none for hosts.
    pub fn document(&self) -> Map<String, Value> {
        let mut doc = named(self.id, self.created, self.updated, &self.name, &self.name);
        doc.insert("_realm".into(), json!("All"));
        if self.kind == Kind::Host {
            doc.insert("hostgroups".into(), json!([]));
        }
        for (key, value) in &self.fields {
            doc.insert(key.clone(), value.clone());
        }
        doc.insert("customs".into(), Value::Object(self.customs.clone()));
        doc.insert(
            "active_checks_enabled".into(),
            json!(self.active_checks_enabled),
        );
        doc.insert(
            "passive_checks_enabled".into(),
            json!(self.passive_checks_enabled),
        );
        doc.insert("check_freshness".into(), json!(self.check_freshness));
        let (state, state_id) = match self.kind {
            Kind::Host => ("UNREACHABLE", 3),
            Kind::Service => ("UNKNOWN", 3),
        };
        let ls = self.livestate.clone().unwrap_or(LastState {
            state: state.into(),
            state_id,
            state_type: "HARD".into(),
            output: String::new(),
            long_output: String::new(),
            perf_data: String::new(),
            last_check: 0,
        });
        doc.insert("ls_state".into(), json!(ls.state));
        doc.insert("ls_state_id".into(), json!(ls.state_id));
        doc.insert("ls_state_type".into(), json!(ls.state_type));
        doc.insert("ls_output".into(), json!(ls.output));
        doc.insert("ls_long_output".into(), json!(ls.long_output));
        doc.insert("ls_perf_data".into(), json!(ls.perf_data));
        doc.insert("ls_last_check".into(), json!(ls.last_check));
        doc
    }
}

impl Hostgroup {
    pub fn document(&self) -> Map<String, Value> {
        named(self.id, self.created, self.updated, &self.name, &self.alias)
    }
}

impl HistoryEntry {
    /// An `/alignak_logs` item: absent fields stay absent, as the backend's.
    pub fn document(&self) -> Map<String, Value> {
        let mut doc = stamps(self.id, self.created);
        for (key, value) in [
            ("host_name", &self.host_name),
            ("service_name", &self.service_name),
            ("user_name", &self.user_name),
        ] {
            if let Some(value) = value {
                doc.insert(key.into(), json!(value));
            }
        }
        doc.insert("type".into(), json!(self.kind));
        doc.insert("message".into(), json!(self.message));
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc1123_gmt() {
        for (unix, text) in [
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (1_700_000_000, "Tue, 14 Nov 2023 22:13:20 GMT"),
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
            (1_735_689_599, "Tue, 31 Dec 2024 23:59:59 GMT"),
        ] {
            assert_eq!(http_date(unix), text, "{unix}");
        }
    }

    #[test]
    fn ids_look_like_the_backends() {
        assert_eq!(object_id(255), "0000000000000000000000ff");
    }
}
