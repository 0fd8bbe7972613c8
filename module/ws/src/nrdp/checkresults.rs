//! NRDP check results, from XML (`<checkresults><checkresult type=...>`) or JSON
//! (`{"checkresults":[{"checkresult":{"type":...},"hostname":...}]}`), checked as `/command`
//! checks its names: a result that cannot be written as one command line refuses the whole
//! request (nothing accepted then lost, nothing half-sent).

use serde_json::Value;

/// The service name NCPA gives a host's own result.
pub const HOST_SERVICE: &str = "__HOST__";
/// Results in one request: more is refused rather than held in memory.
pub const MAX_RESULTS: usize = 10_000;
/// Elements a document may nest: NRDP's shape needs three.
const MAX_DEPTH: usize = 8;
/// Nodes roxmltree may build for one document.
const MAX_NODES: u32 = 200_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultTarget {
    Host(String),
    Service { host: String, service: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub target: ResultTarget,
    /// 0-2 for a host (UP, DOWN, UNREACHABLE), 0-3 for a service.
    pub state: i64,
    /// The first line (with its `|perf data`, as a plugin prints it).
    pub output: String,
    /// The lines after the first, joined with `\n`.
    pub long_output: String,
}

impl CheckResult {
    pub fn state_name(&self) -> &'static str {
        let names: &[&'static str] = match self.target {
            ResultTarget::Host(_) => &["UP", "DOWN", "UNREACHABLE"],
            ResultTarget::Service { .. } => &["OK", "WARNING", "CRITICAL", "UNKNOWN"],
        };
        names.get(self.state as usize).copied().unwrap_or("UNKNOWN")
    }
}

/// The fields of one result before they are checked.
#[derive(Default)]
struct Raw {
    kind: Option<String>,
    host: Option<String>,
    service: Option<String>,
    state: Option<String>,
    output: Option<String>,
}

pub fn from_xml(text: &str) -> Result<Vec<CheckResult>, String> {
    let options = roxmltree::ParsingOptions {
        // No DTD: no entity declarations, so no entity expansion.
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..roxmltree::ParsingOptions::default()
    };
    let document = roxmltree::Document::parse_with_options(text.trim_start(), options)
        .map_err(|e| format!("the XML is not well-formed: {e}"))?;
    if document
        .descendants()
        .any(|node| node.ancestors().count() > MAX_DEPTH)
    {
        return Err(format!("the XML nests more than {MAX_DEPTH} elements"));
    }
    let root = document.root_element();
    if root.tag_name().name() != "checkresults" {
        return Err(format!(
            "the root element is <{}>, not <checkresults>",
            root.tag_name().name()
        ));
    }
    let mut results = Vec::new();
    for (index, node) in root
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == "checkresult")
        .enumerate()
    {
        if index >= MAX_RESULTS {
            return Err(format!("more than {MAX_RESULTS} check results"));
        }
        let mut raw = Raw {
            kind: node.attribute("type").map(String::from),
            ..Raw::default()
        };
        for field in node.children().filter(|n| n.is_element()) {
            let value: String = field
                .descendants()
                .filter(|n| n.is_text())
                .filter_map(|n| n.text())
                .collect();
            match field.tag_name().name() {
                "hostname" => raw.host = Some(value),
                "servicename" => raw.service = Some(value),
                "state" => raw.state = Some(value),
                "output" => raw.output = Some(value),
                _ => {}
            }
        }
        results.push(checked(raw).map_err(|why| format!("check result {index}: {why}"))?);
    }
    Ok(results)
}

pub fn from_json(text: &str) -> Result<Vec<CheckResult>, String> {
    let document: Value =
        serde_json::from_str(text).map_err(|e| format!("the JSON is not valid: {e}"))?;
    let Some(items) = document.get("checkresults").and_then(Value::as_array) else {
        return Err("no 'checkresults' array".into());
    };
    if items.len() > MAX_RESULTS {
        return Err(format!("more than {MAX_RESULTS} check results"));
    }
    let mut results = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let fail = |why: String| format!("check result {index}: {why}");
        let text = |key: &str| -> Result<Option<String>, String> {
            match item.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(_) => Err(fail(format!("'{key}' must be a string"))),
            }
        };
        let kind = match item.get("checkresult").and_then(|c| c.get("type")) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(fail("'checkresult.type' must be a string".into())),
        };
        let raw = Raw {
            kind,
            host: text("hostname")?,
            service: text("servicename")?,
            state: text("state")?,
            output: text("output")?,
        };
        results.push(checked(raw).map_err(fail)?);
    }
    Ok(results)
}

fn checked(raw: Raw) -> Result<CheckResult, String> {
    let host = name(raw.host, "hostname")?;
    // No type means a host's result, as NRDP reads it; NCPA sends a host's own result as a
    // service named __HOST__.
    let is_service = match raw.kind.as_deref().map(str::trim) {
        None | Some("") => false,
        Some(kind) if kind.eq_ignore_ascii_case("host") => false,
        Some(kind) if kind.eq_ignore_ascii_case("service") => true,
        Some(other) => return Err(format!("type '{other}' is not host or service")),
    };
    let target = if is_service {
        let service = name(raw.service, "servicename")?;
        if service == HOST_SERVICE {
            ResultTarget::Host(host)
        } else {
            ResultTarget::Service { host, service }
        }
    } else {
        ResultTarget::Host(host)
    };
    let highest = match target {
        ResultTarget::Host(_) => 2,
        ResultTarget::Service { .. } => 3,
    };
    let state_text = raw.state.unwrap_or_default();
    let state = match state_text.trim().parse::<i64>() {
        Ok(n) if (0..=highest).contains(&n) => n,
        _ => {
            return Err(format!(
                "state '{state_text}' is not a number from 0 to {highest}"
            ))
        }
    };
    let output = raw.output.unwrap_or_default();
    if output.contains('\0') {
        return Err("the output contains a NUL character".into());
    }
    // One line on the command file: the first line is the output, the rest the long output
    // (written as `\n`, as a /host livestate's is).
    let output = output.replace("\r\n", "\n").replace('\r', "\n");
    let (first, rest) = output.split_once('\n').unwrap_or((&output, ""));
    Ok(CheckResult {
        target,
        state,
        output: first.to_string(),
        long_output: rest.to_string(),
    })
}

/// A host or service name, as `/command` allows it: not empty, no `;`, no control character
/// (a line break would start a second command).
fn name(value: Option<String>, field: &str) -> Result<String, String> {
    let value = value.map(|v| v.trim().to_string()).unwrap_or_default();
    if value.is_empty() {
        return Err(format!("no {field}"));
    }
    if value.contains(';') || value.chars().any(char::is_control) {
        return Err(format!(
            "the {field} must not contain ';' or a control character"
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(host: &str, service: &str) -> ResultTarget {
        ResultTarget::Service {
            host: host.into(),
            service: service.into(),
        }
    }

    #[test]
    fn xml_as_send_nrdp_and_ncpa_send_it() {
        let xml = r#"<?xml version='1.0'?>
<checkresults>
  <checkresult type="host" checktype="1"><hostname>h1</hostname><state>1</state><output>down|rta=1</output></checkresult>
  <checkresult type="service" checktype="1"><hostname>h1</hostname><servicename>load</servicename><state>2</state><output>CRIT; really
second line</output></checkresult>
  <checkresult type="service"><hostname>h2</hostname><servicename>__HOST__</servicename><state> 0 </state><output><![CDATA[up <ok>]]></output></checkresult>
  <checkresult><hostname>h3</hostname><state>2</state></checkresult>
</checkresults>"#;
        let results = from_xml(xml).unwrap();
        assert_eq!(results.len(), 4);
        assert_eq!(results[0].target, ResultTarget::Host("h1".into()));
        assert_eq!(results[0].output, "down|rta=1");
        assert_eq!(results[1].target, service("h1", "load"));
        assert_eq!(results[1].state, 2);
        assert_eq!(results[1].output, "CRIT; really");
        assert_eq!(results[1].long_output, "second line");
        assert_eq!(results[2].target, ResultTarget::Host("h2".into()));
        assert_eq!(results[2].output, "up <ok>");
        assert_eq!(results[3].target, ResultTarget::Host("h3".into()));
        assert_eq!(results[3].state_name(), "UNREACHABLE");
    }

    #[test]
    fn json_as_nrdp_reads_it() {
        let json = r#"{"checkresults":[
            {"checkresult":{"type":"host"},"hostname":"h1","state":"0","output":"up"},
            {"checkresult":{"type":"service"},"hostname":"h1","servicename":"s","state":3,"output":"?"},
            {"hostname":"h2","state":1,"output":"no type: a host"}]}"#;
        let results = from_json(json).unwrap();
        assert_eq!(results[0].target, ResultTarget::Host("h1".into()));
        assert_eq!(results[1].target, service("h1", "s"));
        assert_eq!(results[1].state_name(), "UNKNOWN");
        assert_eq!(results[2].target, ResultTarget::Host("h2".into()));
    }

    #[test]
    fn bad_documents_and_results_are_refused_whole() {
        for xml in [
            "not xml",
            "<checkresults><checkresult>",
            "<other/>",
            r#"<!DOCTYPE x [<!ENTITY a "aaaa">]><checkresults/>"#,
            "<checkresults><checkresult><hostname>h;x</hostname><state>0</state></checkresult></checkresults>",
            "<checkresults><checkresult><hostname>h\nSHUTDOWN_PROGRAM</hostname><state>0</state></checkresult></checkresults>",
            "<checkresults><checkresult><hostname>h</hostname><state>4</state></checkresult></checkresults>",
            "<checkresults><checkresult><hostname>h</hostname><state>3</state></checkresult></checkresults>",
            "<checkresults><checkresult type=\"service\"><hostname>h</hostname><state>0</state></checkresult></checkresults>",
            "<checkresults><checkresult><state>0</state></checkresult></checkresults>",
            "<checkresults><a><a><a><a><a><a><a><a><a/></a></a></a></a></a></a></a></a></checkresults>",
        ] {
            assert!(from_xml(xml).is_err(), "{xml}");
        }
        for json in [
            "{",
            "[]",
            r#"{"checkresults":{}}"#,
            r#"{"checkresults":[{"hostname":"h","state":"up"}]}"#,
            r#"{"checkresults":[{"hostname":["h"],"state":0}]}"#,
            r#"{"checkresults":[{"checkresult":{"type":"svc"},"hostname":"h","state":0}]}"#,
            r#"{"checkresults":[{"hostname":"h","state":0,"output":"a\u0000b"}]}"#,
        ] {
            assert!(from_json(json).is_err(), "{json}");
        }
    }
}
