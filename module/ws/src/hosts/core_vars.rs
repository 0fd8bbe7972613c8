//! Custom variables sent to the core (`CHANGE_CUSTOM_HOST_VAR` / `CHANGE_CUSTOM_SVC_VAR`), in
//! the core's dialect: Nagios wants the name without its leading `_`, Alignak 2 with it. Both
//! change only a variable the object already has (an unknown one is ignored by the core).

use serde_json::Value;

/// The value as one command argument: a string as it is, anything else as JSON text; `None`
/// when it would need a line break (a command is one line).
pub fn value_text(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    (!text.contains(['\n', '\r'])).then(|| crate::characters::for_core(&text).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CoreDialect;
    use serde_json::json;

    #[test]
    fn names_and_values_per_core() {
        assert_eq!(CoreDialect::Nagios.variable_name("_ROOM"), "ROOM");
        assert_eq!(CoreDialect::Alignak.variable_name("_ROOM"), "_ROOM");
        assert_eq!(value_text(&json!("12 b")), Some("12 b".into()));
        assert_eq!(value_text(&json!(3)), Some("3".into()));
        assert_eq!(value_text(&json!("a\tb")), Some("a b".into()));
        assert_eq!(value_text(&json!(["a", 1])), Some("[\"a\",1]".into()));
        assert_eq!(value_text(&json!("two\nlines")), None);
    }
}
