//! A creation's document from the request's `template` (upstream-spec §8.2): link fields
//! name other backend documents and are resolved to their `_id`; everything else is copied.

use serde_json::{json, Map, Value};

use super::calls::Calls;
use super::client::{q, BackendError};
use crate::config::RealmCase;
use crate::store::model::Kind;
use crate::store::template::{apply_realm_case, names};

/// The resource a link field names. The original's list, plus the group, user and parent
/// links, which the backend also stores as ids.
fn resource_of(field: &str, kind: Kind) -> Option<&'static str> {
    Some(match field {
        "_realm" => "realm",
        "_templates" | "parents" => match kind {
            Kind::Host => "host",
            Kind::Service if field == "_templates" => "service",
            Kind::Service => return None,
        },
        "check_command"
        | "event_handler"
        | "command"
        | "host_notification_commands"
        | "service_notification_commands"
        | "snapshot_command" => "command",
        "escalation_period"
        | "maintenance_period"
        | "snapshot_period"
        | "check_period"
        | "dependency_period"
        | "notification_period"
        | "host_notification_period"
        | "service_notification_period" => "timeperiod",
        "host" => "host",
        "service" => "service",
        "grafana" => "grafana",
        "statsd" => "statsd",
        "hostgroups" => "hostgroup",
        "servicegroups" => "servicegroup",
        "users" => "user",
        "usergroups" => "usergroup",
        _ => return None,
    })
}

/// A backend `_id`: 24 hex digits (the original took any hex-looking name, `"cafe"` too).
pub fn is_object_id(value: &str) -> bool {
    value.len() == 24 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

pub struct Resolver<'a> {
    pub client: &'a dyn Calls,
    pub token: Option<&'a str>,
}

impl Resolver<'_> {
    fn resolve(
        &self,
        resource: &str,
        field: &str,
        name: &str,
    ) -> Result<Option<String>, BackendError> {
        if is_object_id(name) {
            return Ok(Some(name.to_string()));
        }
        let mut filter = json!({"name": name});
        if field == "_templates" {
            filter["_is_template"] = json!(true);
        }
        let found = self.client.first(
            self.token,
            resource,
            &[("where", q(filter)), ("projection", q(json!({"name": 1})))],
        )?;
        Ok(found.and_then(|doc| doc.get("_id").and_then(Value::as_str).map(String::from)))
    }

    /// The realm at the top of what the caller may see.
    fn default_realm(&self) -> Result<Option<String>, BackendError> {
        let found = self.client.first(
            self.token,
            "realm",
            &[("max_results", "1".into()), ("sort", "_level".into())],
        )?;
        Ok(found.and_then(|doc| doc.get("_id").and_then(Value::as_str).map(String::from)))
    }

    /// The document to POST for `name`.
    pub fn document(
        &self,
        kind: Kind,
        name: &str,
        template: Option<&Map<String, Value>>,
        realm_case: RealmCase,
        host_id: Option<&str>,
    ) -> Result<Map<String, Value>, BackendError> {
        let mut doc = Map::new();
        doc.insert("name".into(), json!(name));
        if let Some(template) = template {
            for (field, value) in template {
                if matches!(
                    field.as_str(),
                    "name" | "_id" | "_overall_state_id" | "_etag" | "_links"
                ) {
                    continue;
                }
                let Some(resource) = resource_of(field, kind) else {
                    doc.insert(field.clone(), value.clone());
                    continue;
                };
                let mut ids = Vec::new();
                for wanted in names(value) {
                    let wanted = if field == "_realm" {
                        apply_realm_case(&wanted, realm_case)
                    } else {
                        wanted
                    };
                    match self.resolve(resource, field, &wanted)? {
                        Some(id) => ids.push(id),
                        None => log::warn!(
                            "{name}: template field '{field}': no {resource} named '{wanted}'; left out"
                        ),
                    }
                }
                match (value, ids.is_empty()) {
                    (_, true) => {}
                    (Value::Array(_), false) => {
                        doc.insert(field.clone(), json!(ids));
                    }
                    (_, false) => {
                        doc.insert(field.clone(), json!(ids[0]));
                    }
                }
            }
            if !doc.contains_key("_realm") {
                if let Some(realm) = self.default_realm()? {
                    doc.insert("_realm".into(), json!(realm));
                }
            }
        }
        if let Some(host_id) = host_id {
            doc.insert("host".into(), json!(host_id));
        }
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_24_hex_digits_are_ids() {
        assert!(is_object_id("5a0c5d2e0f1b2c3d4e5f6a7b"));
        for name in ["cafe", "add", "12", "5a0c5d2e0f1b2c3d4e5f6a7g", ""] {
            assert!(!is_object_id(name), "{name}");
        }
    }

    #[test]
    fn link_fields_name_their_resources() {
        assert_eq!(resource_of("check_period", Kind::Host), Some("timeperiod"));
        assert_eq!(resource_of("_templates", Kind::Service), Some("service"));
        assert_eq!(resource_of("check_command", Kind::Service), Some("command"));
        assert_eq!(resource_of("alias", Kind::Host), None);
    }
}
