//! The backend's documents as the API shows them, and as the /host algorithm reads them.

use serde_json::{json, Map, Value};

use crate::store::model::{Condition, Element, Kind, LastState};

/// Fields that hold secrets in the backend's documents (its users' password hashes and
/// tokens), removed wherever they appear: the original leaked them in `GET /host`.
const SECRETS: [&str; 2] = ["password", "token"];

/// `GET /host`'s embedded links (upstream-spec §4.8).
pub const HOST_EMBEDDED: &str = r#"{"_realm":1,"_templates":1,"check_command":1,"snapshot_command":1,"event_handler":1,"check_period":1,"notification_period":1,"snapshot_period":1,"maintenance_period":1,"parents":1,"hostgroups":1,"users":1,"usergroups":1}"#;

pub fn strip_secrets(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for key in SECRETS {
                map.remove(key);
            }
            map.values_mut().for_each(strip_secrets);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_secrets),
        _ => {}
    }
}

fn text(doc: &Map<String, Value>, key: &str) -> String {
    doc.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A backend host or service as the algorithm sees it; `handle` is the session's name for
/// its `_id`. Every backend field stays in `fields`, so that `document()` and the feedback
/// show the backend's values.
pub fn element(kind: Kind, handle: i64, doc: &Map<String, Value>) -> Element {
    let flag = |key: &str, default: bool| doc.get(key).and_then(Value::as_bool).unwrap_or(default);
    let livestate = doc
        .get("ls_state")
        .and_then(Value::as_str)
        .map(|state| LastState {
            state: state.to_string(),
            state_id: doc.get("ls_state_id").and_then(Value::as_i64).unwrap_or(0),
            state_type: text(doc, "ls_state_type"),
            output: text(doc, "ls_output"),
            long_output: text(doc, "ls_long_output"),
            perf_data: text(doc, "ls_perf_data"),
            last_check: doc
                .get("ls_last_check")
                .and_then(Value::as_i64)
                .unwrap_or(0),
        });
    let mut fields = doc.clone();
    fields.remove("customs");
    let mut element_value = Value::Object(fields);
    strip_secrets(&mut element_value);
    let fields = match element_value {
        Value::Object(fields) => fields,
        _ => Map::new(),
    };
    Element {
        id: handle,
        kind,
        name: text(doc, "name"),
        fields,
        customs: doc
            .get("customs")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        active_checks_enabled: flag("active_checks_enabled", true),
        passive_checks_enabled: flag("passive_checks_enabled", true),
        check_freshness: flag("check_freshness", false),
        livestate,
        created: 0,
        updated: 0,
    }
}

/// A `GET /hostgroup` item: without `_etag`/`_links`; with `embedded`, its links reduced
/// to `{name, alias}` (a root group's null `_parent` stays null: the original crashed there).
pub fn hostgroup(mut doc: Map<String, Value>, embedded: bool) -> Map<String, Value> {
    doc.remove("_etag");
    doc.remove("_links");
    if embedded {
        for key in ["_realm", "hosts", "hostgroups", "_tree_parents", "_parent"] {
            if let Some(value) = doc.get_mut(key) {
                *value = reduce(value);
            }
        }
    }
    let mut value = Value::Object(doc);
    strip_secrets(&mut value);
    match value {
        Value::Object(doc) => doc,
        _ => Map::new(),
    }
}

fn reduce(value: &Value) -> Value {
    match value {
        Value::Object(doc) => json!({
            "name": doc.get("name").cloned().unwrap_or(Value::Null),
            "alias": doc.get("alias").cloned().unwrap_or(Value::Null),
        }),
        Value::Array(items) => Value::Array(items.iter().map(reduce).collect()),
        other => other.clone(),
    }
}

/// Keys of an embedded log check result that `/alignak_logs` does not show (0.6.0 shape).
const LCR_HIDDEN: [&str; 13] = [
    "_id",
    "_etag",
    "_links",
    "_created",
    "_updated",
    "_realm",
    "_sub_realm",
    "user",
    "user_name",
    "host",
    "host_name",
    "service",
    "service_name",
];

/// An `/alignak_logs` item: the history document without `_etag`, `_links`, `_updated`,
/// and its embedded log check result trimmed.
pub fn history_item(mut doc: Map<String, Value>) -> Map<String, Value> {
    for key in ["_etag", "_links", "_updated"] {
        doc.remove(key);
    }
    if let Some(Value::Object(lcr)) = doc.get_mut("logcheckresult") {
        for key in LCR_HIDDEN {
            lcr.remove(key);
        }
    }
    doc
}

/// Regex metacharacters escaped: a search value matches as the text it is, as on the
/// embedded store.
fn literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn pattern(condition: &Condition) -> Value {
    let value = literal(&condition.value);
    if condition.negated {
        // A pattern that works (the original's had literal slashes, so never matched).
        json!({"$regex": format!("^((?!{value}).)*$")})
    } else {
        json!({"$regex": format!(".*{value}.*")})
    }
}

/// The history `where` of a search (upstream-spec §11): every field must match, a field's
/// values any of them; `None` without conditions.
pub fn history_where(filters: &[(&'static str, Vec<Condition>)]) -> Option<Value> {
    let mut parts: Vec<Value> = Vec::new();
    for (field, conditions) in filters {
        match conditions.as_slice() {
            [] => {}
            [one] => parts.push(json!({ *field: pattern(one) })),
            many => parts.push(json!({
                "$or": many.iter().map(|c| json!({ *field: pattern(c) })).collect::<Vec<_>>()
            })),
        }
    }
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(json!({ "$and": parts })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_removed_at_any_depth() {
        let mut doc = json!({"name": "h", "users": [{"name": "admin", "password": "x", "token": "t"}],
                             "_realm": {"name": "All", "token": "t"}});
        strip_secrets(&mut doc);
        assert_eq!(
            doc,
            json!({"name": "h", "users": [{"name": "admin"}], "_realm": {"name": "All"}})
        );
    }

    #[test]
    fn searches_become_where_clauses() {
        let c = |negated, value: &str| Condition {
            negated,
            value: value.into(),
        };
        assert_eq!(history_where(&[]), None);
        assert_eq!(
            history_where(&[("type", vec![c(false, "check.result")])]),
            Some(json!({"type": {"$regex": ".*check\\.result.*"}}))
        );
        assert_eq!(
            history_where(&[
                ("host_name", vec![c(false, "a"), c(true, "b")]),
                ("user_name", vec![c(false, "u")])
            ]),
            Some(json!({"$and": [
                {"$or": [{"host_name": {"$regex": ".*a.*"}}, {"host_name": {"$regex": "^((?!b).)*$"}}]},
                {"user_name": {"$regex": ".*u.*"}}
            ]}))
        );
    }

    #[test]
    fn embedded_hostgroups_are_reduced() {
        let doc = json!({"name": "g", "_etag": "e", "_parent": null,
                         "hosts": [{"name": "h", "alias": "H", "_id": "1"}],
                         "_realm": {"name": "All", "alias": "All", "_level": 0}});
        let out = hostgroup(doc.as_object().unwrap().clone(), true);
        assert_eq!(
            Value::Object(out),
            json!({"name": "g", "_parent": null, "hosts": [{"name": "h", "alias": "H"}],
                   "_realm": {"name": "All", "alias": "All"}})
        );
    }
}
