// Over 400 lines: about 300 of code (a request to one command line), the rest its unit tests.
//! `/command`: building one external command line from a request, and checking it against
//! Alignak's external command table.
//!
//! Pure functions; the handler only moves JSON in and out.

mod table;

use serde_json::Value;

use crate::characters;
use crate::error::ApiError;

/// What an argument of an external command is, as Alignak's table says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    Text,
    Author,
    Host,
    /// Two fields on the line: `host;service`.
    Service,
    Contact,
    TimePeriod,
    /// Still on the line (Nagios compatibility), ignored by Alignak.
    Obsolete,
    Bool,
    Int,
    Command,
    HostGroup,
    ServiceGroup,
    ContactGroup,
}

impl ArgKind {
    fn describe(self) -> &'static str {
        match self {
            ArgKind::Text => "text",
            ArgKind::Author => "author",
            ArgKind::Host => "host_name",
            ArgKind::Service => "host_name;service_description",
            ArgKind::Contact => "contact_name",
            ArgKind::TimePeriod => "timeperiod_name",
            ArgKind::Obsolete => "persistent",
            ArgKind::Bool => "0|1",
            ArgKind::Int => "integer",
            ArgKind::Command => "command_name",
            ArgKind::HostGroup => "hostgroup_name",
            ArgKind::ServiceGroup => "servicegroup_name",
            ArgKind::ContactGroup => "contactgroup_name",
        }
    }

    fn fields(self) -> usize {
        if self == ArgKind::Service {
            2
        } else {
            1
        }
    }

    /// Free text: Alignak gives the last argument the rest of the line, `;` included.
    fn takes_rest_of_line(self) -> bool {
        matches!(self, ArgKind::Text | ArgKind::Author)
    }
}

/// The arguments Alignak expects for a command name (upper case), if it knows the command.
pub fn lookup(name: &str) -> Option<&'static [ArgKind]> {
    table::COMMANDS
        .binary_search_by(|(known, _)| (*known).cmp(name))
        .ok()
        .map(|i| table::COMMANDS[i].1.as_slice())
}

/// The fields of a `/command` request, as the original read them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CommandRequest {
    pub command: String,
    pub timestamp: Option<i64>,
    pub element: Option<String>,
    pub host: Option<String>,
    pub service: Option<String>,
    pub user: Option<String>,
    pub parameters: Option<String>,
}

impl CommandRequest {
    /// Reads a request object. Messages are the original's where it had one.
    pub fn from_json(body: &Value) -> Result<CommandRequest, ApiError> {
        let object = match body {
            Value::Object(map) if !map.is_empty() => map,
            Value::Object(_) | Value::Null => {
                return Err(ApiError::invalid_legacy(
                    "You must POST parameters on this endpoint.",
                ))
            }
            _ => {
                return Err(ApiError::invalid_legacy(
                    "The request body must be a JSON object (or an array of objects).",
                ))
            }
        };
        let field =
            |key: &str| -> Result<Option<String>, ApiError> { text_field(object.get(key), key) };
        let command = field("command")?.unwrap_or_default();
        if command.trim().is_empty() {
            return Err(ApiError::invalid_legacy("Missing command parameter"));
        }
        let timestamp = parse_timestamp(object.get("timestamp"))?;
        let request = CommandRequest {
            command,
            timestamp,
            element: field("element")?,
            host: field("host")?,
            service: field("service")?,
            user: field("user")?,
            parameters: field("parameters")?,
        };
        for (key, value) in [
            ("host", &request.host),
            ("service", &request.service),
            ("user", &request.user),
        ] {
            if let Some(value) = value {
                if value.contains([';', '\n', '\r']) {
                    return Err(ApiError::invalid_legacy(format!(
                        "The '{key}' parameter must not contain ';' or a line break."
                    )));
                }
            }
        }
        request.check_characters()?;
        Ok(request)
    }

    /// The character rule (`crate::characters`): names and the command's name hold no
    /// control character; the element (`host;service`) neither; the arguments and
    /// `parameters` are free text (line breaks are then refused for the whole line).
    fn check_characters(&self) -> Result<(), ApiError> {
        let refused = |key: &str, c: char| {
            ApiError::invalid_legacy(format!(
                "The '{key}' parameter must not contain the control character {}.",
                characters::describe(c)
            ))
        };
        let (name, arguments) = self
            .command
            .split_once(';')
            .unwrap_or((self.command.as_str(), ""));
        if let Some(c) = characters::control_in_name(name) {
            return Err(refused("command", c));
        }
        if let Some(c) = characters::control_in_text(arguments) {
            return Err(refused("command", c));
        }
        for (key, value) in [
            ("element", &self.element),
            ("host", &self.host),
            ("service", &self.service),
            ("user", &self.user),
        ] {
            if let Some(c) = value.as_deref().and_then(characters::control_in_name) {
                return Err(refused(key, c));
            }
        }
        if let Some(c) = self
            .parameters
            .as_deref()
            .and_then(characters::control_in_text)
        {
            return Err(refused("parameters", c));
        }
        Ok(())
    }

    /// The command line (original §6.4 assembly, with the name alone upper-cased).
    pub fn line(&self) -> Result<String, ApiError> {
        let command = self.command.trim();
        let (embedded_timestamp, command) = split_timestamp(command);
        if embedded_timestamp.is_some() && self.timestamp.is_some() {
            return Err(ApiError::invalid_legacy(
                "The command already starts with a [timestamp]: do not send a timestamp parameter too.",
            ));
        }
        let (name, arguments) = match command.split_once(';') {
            Some((name, arguments)) => (name.trim(), Some(arguments)),
            None => (command, None),
        };
        let mut line = String::with_capacity(command.len() + 64);
        if let Some(ts) = self.timestamp.or(embedded_timestamp) {
            line.push_str(&format!("[{ts}] "));
        }
        line.push_str(&name.to_uppercase());
        if let Some(arguments) = arguments {
            line.push(';');
            line.push_str(&characters::for_core(arguments));
        }
        let targets: Vec<&str> = [&self.host, &self.service, &self.user]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        if !targets.is_empty() {
            for target in targets {
                line.push(';');
                line.push_str(target);
            }
        } else if let Some(element) = &self.element {
            line.push(';');
            line.push_str(&element.replacen('/', ";", 1));
        }
        if let Some(parameters) = &self.parameters {
            line.push(';');
            line.push_str(&characters::for_core(parameters));
        }
        if line.contains(['\n', '\r']) {
            return Err(ApiError::invalid_legacy(
                "A command must not contain a line break.",
            ));
        }
        Ok(line)
    }
}

/// Checks a line (with or without `[ts] `) against Alignak's table: the name must be known and
/// the argument count right. Returns what is wrong.
pub fn validate(line: &str) -> Result<(), String> {
    let (_, command) = split_timestamp(line);
    let fields = split_fields(command);
    let name = fields[0];
    let Some(kinds) = lookup(name) else {
        return Err(format!(
            "Unknown external command '{name}': Alignak has no such command (set validate_commands 0 to forward it anyway)."
        ));
    };
    let expected: usize = kinds.iter().map(|k| k.fields()).sum();
    let given = fields.len() - 1;
    let too_many_allowed = kinds.last().is_some_and(|k| k.takes_rest_of_line());
    if given < expected || (given > expected && !too_many_allowed) {
        let usage: Vec<&str> = kinds.iter().map(|k| k.describe()).collect();
        let usage = if usage.is_empty() {
            name.to_string()
        } else {
            format!("{name};{}", usage.join(";"))
        };
        return Err(format!(
            "Command '{name}' takes {expected} argument{} ({usage}), not {given}.",
            if expected == 1 { "" } else { "s" }
        ));
    }
    Ok(())
}

/// `[1234] NAME;...` -> (Some(1234), "NAME;..."); anything else is returned unchanged.
fn split_timestamp(line: &str) -> (Option<i64>, &str) {
    if let Some(rest) = line.strip_prefix('[') {
        if let Some((digits, command)) = rest.split_once(']') {
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                if let Ok(ts) = digits.parse() {
                    return (Some(ts), command.trim_start());
                }
            }
        }
    }
    (None, line)
}

/// Splits on `;` as Alignak does: a `\;` does not split.
fn split_fields(command: &str) -> Vec<&str> {
    let mut fields = Vec::new();
    let mut start = 0;
    let bytes = command.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b';' && (i == 0 || bytes[i - 1] != b'\\') {
            fields.push(&command[start..i]);
            start = i + 1;
        }
    }
    fields.push(&command[start..]);
    fields
}

/// A text parameter: strings as they are, numbers and booleans as text; `null` and `""` are
/// absent, as they were falsy for the original.
fn text_field(value: Option<&Value>, key: &str) -> Result<Option<String>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(if *b { "1" } else { "0" }.to_string())),
        Some(_) => Err(ApiError::invalid_legacy(format!(
            "The '{key}' parameter must be a string."
        ))),
    }
}

/// The timestamp rule (`crate::timestamp`), with the original's message.
pub fn parse_timestamp(value: Option<&Value>) -> Result<Option<i64>, ApiError> {
    crate::timestamp::parse(value)
        .map_err(|_| ApiError::invalid_legacy("Timestamp must be an integer value"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn line_of(body: Value) -> Result<String, String> {
        CommandRequest::from_json(&body)
            .and_then(|r| r.line())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_originals_examples() {
        let cases = [
            (
                json!({"command": "disable_notifications"}),
                "DISABLE_NOTIFICATIONS",
            ),
            (
                json!({"command": "Command", "element": "test_host", "parameters": "abc;1"}),
                "COMMAND;test_host;abc;1",
            ),
            (
                json!({"command": "command_command", "timestamp": "1234",
                       "element": "test_host;test_service", "parameters": "1;abc;2"}),
                "[1234] COMMAND_COMMAND;test_host;test_service;1;abc;2",
            ),
            (
                json!({"command": "command_command", "element": "test_host/test_service",
                       "parameters": "1;abc;2"}),
                "COMMAND_COMMAND;test_host;test_service;1;abc;2",
            ),
            (
                json!({"command": "command_command", "element": "ignored", "host": "test_host",
                       "service": "test_service", "user": "test_user", "parameters": "1;abc;2"}),
                "COMMAND_COMMAND;test_host;test_service;test_user;1;abc;2",
            ),
            (
                json!({"command": "disable_host_check", "host": "test_host", "timestamp": 1700000000}),
                "[1700000000] DISABLE_HOST_CHECK;test_host",
            ),
            (
                json!({"command": "acknowledge_svc_problem", "element": "test_host/svc",
                       "parameters": "2;1;1;admin;ack"}),
                "ACKNOWLEDGE_SVC_PROBLEM;test_host;svc;2;1;1;admin;ack",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(line_of(body.clone()).as_deref(), Ok(expected), "{body}");
        }
    }

    #[test]
    fn only_the_first_slash_of_element_splits() {
        assert_eq!(
            line_of(json!({"command": "x", "element": "h/s/with/slash"})).unwrap(),
            "X;h;s/with/slash"
        );
    }

    #[test]
    fn arguments_keep_their_case() {
        assert_eq!(
            line_of(json!({"command": "add_host_comment;MyHost;1;Alice;Hello World"})).unwrap(),
            "ADD_HOST_COMMENT;MyHost;1;Alice;Hello World"
        );
    }

    #[test]
    fn an_embedded_timestamp_is_kept_and_may_not_be_doubled() {
        assert_eq!(
            line_of(json!({"command": "[42] disable_notifications"})).unwrap(),
            "[42] DISABLE_NOTIFICATIONS"
        );
        assert!(line_of(json!({"command": "[42] x", "timestamp": 43})).is_err());
    }

    #[test]
    fn the_originals_errors() {
        assert_eq!(
            line_of(json!({})).unwrap_err(),
            "You must POST parameters on this endpoint."
        );
        assert_eq!(
            line_of(json!({"timestamp": 1})).unwrap_err(),
            "Missing command parameter"
        );
        assert_eq!(
            line_of(json!({"command": ""})).unwrap_err(),
            "Missing command parameter"
        );
        for ts in [
            json!("abc"),
            json!(1.5),
            json!("1.5"),
            json!(-3),
            json!([1]),
            json!(true),
        ] {
            assert_eq!(
                line_of(json!({"command": "x", "timestamp": ts})).unwrap_err(),
                "Timestamp must be an integer value",
                "{ts}"
            );
        }
    }

    #[test]
    fn the_timestamp_rule_is_the_one_of_every_endpoint() {
        // Falsy values were "no timestamp" for the original; they are refused now, so that a
        // client's mistake is told instead of silently stamped otherwise.
        for ts in crate::timestamp::not_timestamps() {
            assert_eq!(
                line_of(json!({"command": "x", "timestamp": ts})).unwrap_err(),
                "Timestamp must be an integer value",
                "{ts}"
            );
        }
        assert_eq!(
            line_of(json!({"command": "x", "timestamp": 0})).unwrap(),
            "[0] X"
        );
        assert_eq!(line_of(json!({"command": "x"})).unwrap(), "X");
    }

    #[test]
    fn control_characters_are_refused_in_every_field() {
        for key in [
            "command",
            "element",
            "host",
            "service",
            "user",
            "parameters",
        ] {
            for c in ['\0', '\x01', '\x1b', '\x7f'] {
                let mut body = json!({"command": "disable_host_check"});
                body[key] = json!(format!(
                    "{}web01{c}x",
                    if key == "command" {
                        "disable_host_check;"
                    } else {
                        ""
                    }
                ));
                let err = line_of(body.clone()).unwrap_err();
                assert!(err.contains("control character"), "{body}: {err}");
            }
        }
        // TAB is free text's, not a name's.
        assert_eq!(
            line_of(json!({"command": "x;a\tb", "parameters": "c\td"})).unwrap(),
            "X;a b;c d"
        );
        assert!(line_of(json!({"command": "x", "host": "a\tb"})).is_err());
        assert!(line_of(json!({"command": "x\0;a"})).is_err());
    }

    #[test]
    fn no_input_can_start_a_second_line() {
        for body in [
            json!({"command": "x\n[1] SHUTDOWN_PROGRAM"}),
            json!({"command": "x", "parameters": "a\nSHUTDOWN_PROGRAM"}),
            json!({"command": "x", "element": "h\r\nSHUTDOWN_PROGRAM"}),
            json!({"command": "x", "host": "h\nSHUTDOWN_PROGRAM"}),
            json!({"command": "x", "service": "s;SHUTDOWN_PROGRAM"}),
            json!({"command": "x", "user": "u\r"}),
        ] {
            assert!(line_of(body.clone()).is_err(), "{body}");
        }
    }

    #[test]
    fn validation_counts_arguments_like_alignak() {
        assert_eq!(validate("DISABLE_NOTIFICATIONS"), Ok(()));
        assert_eq!(validate("[12] DISABLE_HOST_CHECK;h"), Ok(()));
        assert_eq!(
            validate("ACKNOWLEDGE_SVC_PROBLEM;h;s;2;1;1;admin;ack"),
            Ok(())
        );
        // The last free-text argument takes the rest of the line, as Alignak splits it.
        assert_eq!(
            validate("PROCESS_SERVICE_CHECK_RESULT;h;s;0;out|a=1;2;3"),
            Ok(())
        );
        assert_eq!(validate("ADD_HOST_COMMENT;h;1;me;a;b"), Ok(()));
        assert_eq!(
            validate("DISABLE_HOST_CHECK").unwrap_err(),
            "Command 'DISABLE_HOST_CHECK' takes 1 argument (DISABLE_HOST_CHECK;host_name), not 0."
        );
        assert!(validate("DISABLE_HOST_CHECK;a;b").is_err());
        assert!(validate("DISABLE_NOTIFICATIONS;x").is_err());
        assert!(validate("ACKNOWLEDGE_SVC_PROBLEM;h;2;1;1;admin;ack").is_err());
        assert!(validate("NOT_A_COMMAND")
            .unwrap_err()
            .starts_with("Unknown external command 'NOT_A_COMMAND'"));
        // An escaped semicolon does not split.
        assert_eq!(validate("DISABLE_HOST_CHECK;a\\;b"), Ok(()));
    }
}
