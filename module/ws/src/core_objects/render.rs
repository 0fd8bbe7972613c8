//! What the module writes into the core's configuration, and what it refuses to.
//!
//! Only an allow-list of directives is ever written, one line per value: a request cannot
//! write a second directive, a second object or a closing brace. `;` starts a comment in
//! object files: it is written `\;`, which both Nagios and Alignak read back as `;`.

use serde_json::{Map, Value};

use super::ObjectsConfig;
use crate::config::CoreDialect;
use crate::store::model::Element;

/// Nagios' default `illegal_object_name_chars`, and the braces and `#` of the object syntax.
pub const ILLEGAL_NAME_CHARS: &str = "`~!$%^&*|'\"<>?,()={}#";

/// Template keys of the module's own that a creation may carry besides the directives
/// written (`WRITTEN_FIELDS` and the check flags): they are read, never written as they are.
const MODULE_KEYS: &[&str] = &["_templates", "_realm", "_is_template", "name", "customs"];

/// The check flags: written from the element's own flags.
const FLAGS: &[&str] = &[
    "active_checks_enabled",
    "passive_checks_enabled",
    "check_freshness",
];

/// Directives copied from the stored element's fields, in this order.
const WRITTEN_FIELDS: &[&str] = &[
    "alias",
    "address",
    "display_name",
    "hostgroups",
    "notes",
    "notes_url",
    "action_url",
    "freshness_threshold",
    "max_check_attempts",
    "check_interval",
    "retry_interval",
    "flap_detection_enabled",
    "notifications_enabled",
    "event_handler_enabled",
    "process_perf_data",
];

/// A name the core can take as an object name: not empty, none of its illegal characters,
/// no control character. Returns the reason it cannot.
pub fn name_problem(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        return Some("is empty".into());
    }
    if let Some(c) = name.chars().find(|c| ILLEGAL_NAME_CHARS.contains(*c)) {
        return Some(format!(
            "holds '{c}', which the core refuses in an object name (illegal_object_name_chars)"
        ));
    }
    if let Some(c) = crate::characters::control_in_name(name) {
        return Some(format!(
            "holds the control character {}",
            crate::characters::describe(c)
        ));
    }
    if name.contains(';') {
        return Some("holds ';'".into());
    }
    None
}

/// A custom variable name the object syntax can take: letters, digits, `_` and `-`.
pub fn variable_name_ok(name: &str) -> bool {
    let bare = name.trim_start_matches('_');
    !bare.is_empty()
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Template keys a creation may not carry: every key but the accepted ones and the admin's
/// `objects_allowed_directives`.
pub fn refused_keys(config: &ObjectsConfig, template: &Map<String, Value>) -> Vec<String> {
    template
        .keys()
        .filter(|k| {
            let k = k.as_str();
            ![MODULE_KEYS, WRITTEN_FIELDS, FLAGS]
                .iter()
                .any(|keys| keys.contains(&k))
                && !config.allowed_directives.iter().any(|d| d == k)
        })
        .cloned()
        .collect()
}

/// The problem with a template value that would be written: it must be one line of text, a
/// number, a flag, or a list of those.
pub fn value_problem(value: &Value) -> Option<&'static str> {
    match value {
        Value::String(s) if s.contains(['\n', '\r']) => Some("holds a line break"),
        // Alignak's reader ends an object at a `}` anywhere on a line.
        Value::String(s) if s.contains(['{', '}']) => Some(
            "holds a brace, which the core's object syntax would read as the end of the object",
        ),
        Value::Array(items) => items.iter().find_map(value_problem),
        Value::Object(_) => Some("is an object, not a value"),
        _ => None,
    }
}

/// The value as one directive value; `None` when there is nothing to write.
fn directive_value(value: &Value) -> Option<String> {
    let text = match value {
        Value::Null => return None,
        Value::Bool(b) => u8::from(*b).to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        Value::Array(items) => items
            .iter()
            .filter_map(directive_value)
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => return None,
    };
    // Whatever got past the request checks, a value stays one line with no comment in it.
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .filter(|c| !matches!(c, '{' | '}'))
        .collect();
    let escaped = one_line.replace(';', "\\;");
    // A line ending in `\` goes on with the next one (a closing brace, say) in Nagios.
    let escaped = escaped
        .trim_end()
        .trim_end_matches('\\')
        .trim_end()
        .to_string();
    (!escaped.is_empty()).then_some(escaped)
}

fn line(out: &mut String, key: &str, value: &str) {
    out.push_str(&format!("    {key:<28} {value}\n"));
}

fn block(config: &ObjectsConfig, core: CoreDialect, element: &Element, host: &str) -> String {
    let (kind, default_template) = match element.kind {
        crate::store::model::Kind::Host => ("host", &config.default_host_template),
        crate::store::model::Kind::Service => ("service", &config.default_service_template),
    };
    let mut out = format!("define {kind} {{\n");
    let templates = element
        .fields
        .get("_templates")
        .and_then(directive_value)
        .unwrap_or_else(|| default_template.clone());
    line(&mut out, "use", &templates);
    line(&mut out, "host_name", host);
    if kind == "service" {
        line(&mut out, "service_description", &element.name);
    }
    for key in WRITTEN_FIELDS
        .iter()
        .copied()
        .chain(config.allowed_directives.iter().map(String::as_str))
    {
        if kind == "service" && matches!(key, "address" | "alias" | "hostgroups") {
            continue;
        }
        if let Some(value) = element.fields.get(key).and_then(directive_value) {
            line(&mut out, key, &value);
        }
    }
    if core == CoreDialect::Alignak && kind == "host" {
        if let Some(realm) = element.fields.get("_realm").and_then(directive_value) {
            line(&mut out, "realm", &realm);
        }
    }
    let flags = [
        element.active_checks_enabled,
        element.passive_checks_enabled,
        element.check_freshness,
    ];
    for (key, flag) in FLAGS.iter().zip(flags) {
        line(&mut out, key, if flag { "1" } else { "0" });
    }
    for (name, value) in &element.customs {
        if !variable_name_ok(name) {
            continue;
        }
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if let Some(text) = directive_value(&Value::String(text)) {
            let bare = name.trim_start_matches('_').to_uppercase();
            line(&mut out, &format!("_{bare}"), &text);
        }
    }
    out.push_str("}\n");
    out
}

/// The file of one host: its own definition when the module writes the host, and the
/// services the module writes for it.
pub fn host_file(
    config: &ObjectsConfig,
    core: CoreDialect,
    host: &Element,
    write_host: bool,
    services: &[&Element],
) -> String {
    let mut out = format!(
        "# Written by alignak-ws for host {}: rewritten at each change, do not edit.\n",
        host.name
    );
    if write_host {
        out.push('\n');
        out.push_str(&block(config, core, host, &host.name));
    }
    for service in services {
        out.push('\n');
        out.push_str(&block(config, core, service, &host.name));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::model::Kind;
    use serde_json::json;

    fn config() -> ObjectsConfig {
        ObjectsConfig {
            dir: "/tmp/objects".into(),
            object_cache_file: "/tmp/objects.cache".into(),
            verify_command: None,
            reload_command: None,
            reload_period_secs: 30,
            default_host_template: "generic-host".into(),
            default_service_template: "generic-service".into(),
            allowed_directives: vec!["icon_image".into()],
        }
    }

    fn element(kind: Kind, name: &str, fields: Value, customs: Value) -> Element {
        Element {
            id: 1,
            kind,
            name: name.into(),
            fields: fields.as_object().cloned().unwrap_or_default(),
            customs: customs.as_object().cloned().unwrap_or_default(),
            active_checks_enabled: false,
            passive_checks_enabled: true,
            check_freshness: false,
            livestate: None,
            created: 0,
            updated: 0,
        }
    }

    #[test]
    fn a_host_and_its_service_one_value_per_line() {
        let host = element(
            Kind::Host,
            "web01",
            json!({"_templates": ["passive-host"], "alias": "Web; one", "hostgroups": ["web", "db"],
                   "max_check_attempts": 3, "icon_image": "w.png", "_realm": "north",
                   "check_command": "evil"}),
            json!({"_ROOM": "R1", "_BAD NAME": "x", "_LIST": ["a", 1]}),
        );
        let service = element(Kind::Service, "load", json!({}), json!({}));
        let text = host_file(&config(), CoreDialect::Nagios, &host, true, &[&service]);
        assert!(text.contains("define host {\n    use                          passive-host\n"));
        assert!(
            text.contains("    alias                        Web\\; one\n"),
            "{text}"
        );
        assert!(text.contains("    hostgroups                   web,db\n"));
        assert!(text.contains("    max_check_attempts           3\n"));
        assert!(text.contains("    icon_image                   w.png\n"));
        assert!(text.contains("    _ROOM                        R1\n"));
        assert!(text.contains("    _LIST                        [\"a\",1]\n"));
        assert!(
            !text.contains("check_command") && !text.contains("BAD") && !text.contains("realm")
        );
        assert!(text.contains(
            "define service {\n    use                          generic-service\n    host_name                    web01\n    service_description          load\n"
        ));
        let alignak = host_file(&config(), CoreDialect::Alignak, &host, false, &[]);
        assert!(!alignak.contains("define host"));
        let alignak = host_file(&config(), CoreDialect::Alignak, &host, true, &[]);
        assert!(alignak.contains("    realm                        north\n"));
        // What the module writes, it reads back as written.
        let path = std::env::temp_dir().join(format!("ws-render-{}.cfg", std::process::id()));
        std::fs::write(&path, &text).unwrap();
        let known = super::super::known::read(&path);
        std::fs::remove_file(&path).unwrap();
        assert!(known.host("web01") && known.service("web01", "load"));
        assert!(known.variable("web01", None, "_ROOM"));
    }

    #[test]
    fn nothing_written_can_open_a_second_directive_or_object() {
        let host = element(
            Kind::Host,
            "web01",
            json!({"alias": "a\n}\ndefine command {", "notes": "x\r\ncheck_command y \\",
                   "display_name": "d \\\\ "}),
            json!({"_V": "1\n}\n"}),
        );
        let text = host_file(&config(), CoreDialect::Nagios, &host, true, &[]);
        assert_eq!(text.matches('\n').count(), text.lines().count());
        assert_eq!(text.matches('}').count(), 1, "{text}");
        assert_eq!(text.lines().filter(|l| l.starts_with("define")).count(), 1);
        assert!(!text.lines().any(|l| l.ends_with('\\')), "{text}");
    }

    #[test]
    fn names_keys_and_values() {
        for bad in ["a$b", "a`b", "a(b)", "x{", "a,b", "a\nb", "", "a;b"] {
            assert!(name_problem(bad).is_some(), "{bad:?}");
        }
        assert!(name_problem("web-01.example_x").is_none());
        assert!(variable_name_ok("_ROOM") && !variable_name_ok("_A B") && !variable_name_ok("_"));
        let template =
            json!({"alias": "a", "check_command": "x", "event_handler": "y", "icon_image": "i"});
        assert_eq!(
            refused_keys(&config(), template.as_object().unwrap()),
            vec!["check_command".to_string(), "event_handler".to_string()]
        );
        assert!(value_problem(&json!("a\nb")).is_some());
        assert!(value_problem(&json!("a}")).is_some());
        assert!(value_problem(&json!(["a", {"b": 1}])).is_some());
        assert!(value_problem(&json!(["a", 2, true])).is_none());
    }
}
