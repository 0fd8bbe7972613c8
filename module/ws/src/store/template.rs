//! Creation of a host or service from its request `template` (upstream-spec §8), against the
//! store: `_templates` name stored templates (`_is_template: true`) whose fields, customs and
//! check flags are inherited; `_realm` is a realm name (after `realm_case`); `hostgroups`
//! names hostgroups. Other fields are copied as they are.

use serde_json::{Map, Value};

use super::model::{Kind, NewElement};
use super::{Session, StoreError};
use crate::config::RealmCase;

/// Fields the template cannot set: identity, and the backend's computed state.
const SKIPPED: [&str; 5] = [
    "name",
    "_id",
    "_overall_state_id",
    "_is_template_of",
    "host",
];

pub fn apply_realm_case(realm: &str, case: RealmCase) -> String {
    if realm == "All" {
        return realm.to_string();
    }
    match case {
        RealmCase::Unchanged => realm.to_string(),
        RealmCase::Upper => realm.to_uppercase(),
        RealmCase::Lower => realm.to_lowercase(),
        RealmCase::Capitalize => {
            let mut chars = realm.chars();
            match chars.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            }
        }
    }
}

/// `true`/`false`, or the strings the backend coerced (`"1"`, `"true"`, ...).
fn flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        Value::String(s) => alignak_module_abi::parse_bool(s),
        _ => None,
    }
}

/// A name or a list of names (a comma-separated string too).
pub fn names(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    }
}

fn set(new: &mut NewElement, key: &str, value: &Value, realm_case: RealmCase) {
    match key {
        "active_checks_enabled" | "passive_checks_enabled" | "check_freshness" => {
            let Some(b) = flag(value) else { return };
            match key {
                "active_checks_enabled" => new.active_checks_enabled = b,
                "passive_checks_enabled" => new.passive_checks_enabled = b,
                _ => new.check_freshness = b,
            }
        }
        "customs" => {
            if let Value::Object(customs) = value {
                for (k, v) in customs {
                    new.customs.insert(k.clone(), v.clone());
                }
            }
        }
        "_realm" => {
            if let Some(realm) = value.as_str().filter(|r| !r.is_empty()) {
                new.fields
                    .insert(key.into(), Value::from(apply_realm_case(realm, realm_case)));
            }
        }
        "hostgroups" | "_templates" => {
            new.fields.insert(key.into(), Value::from(names(value)));
        }
        _ => {
            new.fields.insert(key.into(), value.clone());
        }
    }
}

pub fn new_element<S: Session + ?Sized>(
    session: &mut S,
    kind: Kind,
    name: &str,
    template: Option<&Map<String, Value>>,
    realm_case: RealmCase,
) -> Result<NewElement, StoreError> {
    let mut new = NewElement::named(name);
    let Some(template) = template else {
        return Ok(new);
    };
    if kind == Kind::Host {
        for parent in template.get("_templates").map(names).unwrap_or_default() {
            match session.host(&parent)? {
                Some(stored) if stored.fields.get("_is_template") == Some(&Value::Bool(true)) => {
                    new.active_checks_enabled = stored.active_checks_enabled;
                    new.passive_checks_enabled = stored.passive_checks_enabled;
                    new.check_freshness = stored.check_freshness;
                    new.customs.extend(stored.customs);
                    for (k, v) in stored.fields {
                        if k != "_is_template" {
                            new.fields.insert(k, v);
                        }
                    }
                }
                _ => log::warn!(
                    "host '{name}': template '{parent}' is not a stored host template; ignored"
                ),
            }
        }
    }
    for (key, value) in template {
        if !SKIPPED.contains(&key.as_str()) {
            set(&mut new, key, value, realm_case);
        }
    }
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realm_case() {
        for (realm, case, expected) in [
            ("All", RealmCase::Upper, "All"),
            ("north", RealmCase::Upper, "NORTH"),
            ("NoRth", RealmCase::Lower, "north"),
            ("nORTH", RealmCase::Capitalize, "North"),
            ("nORTH", RealmCase::Unchanged, "nORTH"),
        ] {
            assert_eq!(apply_realm_case(realm, case), expected);
        }
    }

    #[test]
    fn template_fields() {
        let mut new = NewElement::named("h");
        for (k, v) in [
            ("active_checks_enabled", serde_json::json!("0")),
            ("check_freshness", serde_json::json!(true)),
            ("hostgroups", serde_json::json!("web, db")),
            ("_realm", serde_json::json!("north")),
            ("alias", serde_json::json!("My host")),
        ] {
            set(&mut new, k, &v, RealmCase::Upper);
        }
        assert!(!new.active_checks_enabled && new.check_freshness);
        assert_eq!(new.fields["hostgroups"], serde_json::json!(["web", "db"]));
        assert_eq!(new.fields["_realm"], "NORTH");
        assert_eq!(new.fields["alias"], "My host");
    }
}
