//! NRDP's request parameters, from the query string and a form-encoded body: PHP's
//! `$_REQUEST`, where a body field wins over the same query field.

/// The fields of one request, raw (decoded, not yet checked).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Params {
    pub token: Option<String>,
    pub cmd: Option<String>,
    pub xml: Option<String>,
    pub json: Option<String>,
    pub output_type: Option<String>,
    /// `command` (or PHP's `command[]`), each time it is given, in order.
    pub commands: Vec<String>,
}

impl Params {
    /// The query string's fields, then the form body's (`application/x-www-form-urlencoded`).
    pub fn read(query: Option<&str>, body: &[u8]) -> Params {
        let mut params = Params::default();
        let query = form_urlencoded::parse(query.unwrap_or_default().as_bytes());
        let body = form_urlencoded::parse(body);
        let mut body_commands = Vec::new();
        let mut query_commands = Vec::new();
        for (from_body, (key, value)) in query.map(|p| (false, p)).chain(body.map(|p| (true, p))) {
            let value = value.into_owned();
            match key.as_ref() {
                "token" => params.token = Some(value),
                "cmd" => params.cmd = Some(value),
                "XMLDATA" | "xmldata" | "xml" => params.xml = Some(value),
                "JSONDATA" | "jsondata" | "json" => params.json = Some(value),
                "output_type" => params.output_type = Some(value),
                "command" | "command[]" if from_body => body_commands.push(value),
                "command" | "command[]" => query_commands.push(value),
                _ => {}
            }
        }
        // As `$_REQUEST`: the body's commands, when it has any, replace the query's.
        params.commands = if body_commands.is_empty() {
            query_commands
        } else {
            body_commands
        };
        params
    }

    /// NRDP answers in JSON when asked (`output_type=json`) or when the data came as JSON,
    /// else in XML.
    pub fn wants_json(&self) -> bool {
        self.output_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("json"))
            || (self.json.is_some() && self.xml.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_fields_win_and_every_data_spelling_is_read() {
        let p = Params::read(
            Some("token=q&cmd=hello&XMLDATA=%3Ca%2F%3E"),
            b"token=b&cmd=submitcheck",
        );
        assert_eq!(p.token.as_deref(), Some("b"));
        assert_eq!(p.cmd.as_deref(), Some("submitcheck"));
        assert_eq!(p.xml.as_deref(), Some("<a/>"));
        for key in ["xml", "xmldata", "XMLDATA"] {
            let p = Params::read(None, format!("{key}=x+y").as_bytes());
            assert_eq!(p.xml.as_deref(), Some("x y"), "{key}");
        }
        for key in ["json", "jsondata", "JSONDATA"] {
            let p = Params::read(Some(&format!("{key}=%7B%7D")), b"");
            assert_eq!(p.json.as_deref(), Some("{}"), "{key}");
            assert!(p.wants_json());
        }
    }

    #[test]
    fn commands_repeat_and_output_type_chooses_json() {
        let p = Params::read(None, b"command=A&command%5B%5D=B&output_type=JSON");
        assert_eq!(p.commands, vec!["A", "B"]);
        assert!(p.wants_json());
        assert!(!Params::read(Some("xml=1"), b"").wants_json());
    }
}
