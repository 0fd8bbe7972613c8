//! Keeps `/openapi.json` true: every JSON answer our daemon gives the suite is checked against
//! the response schema the document gives for its path, method and status (or the operation's
//! `default`). An answer the document does not describe fails the test that received it.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use crate::Reply;

/// The module's document, as the daemon serves it.
pub const DOCUMENT: &str = include_str!("../../module/ws/src/openapi.json");

fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::from_str(DOCUMENT).expect("openapi.json is JSON"))
}

/// A JSON pointer's escaping of one token (`/` -> `~1`, `~` -> `~0`).
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The document's path template for a request path: the `/ws` prefix and the query dropped,
/// a trailing `/` ignored, `{name}` matching one segment.
fn path_template(path: &str) -> Option<&'static str> {
    let path = path.split('?').next().unwrap_or(path);
    let path = match path.strip_prefix("/ws") {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => path,
    };
    let path = if path.len() > 1 {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    };
    let paths = document()["paths"].as_object()?;
    paths.keys().map(String::as_str).find(|template| {
        let (mut want, mut got) = (template.split('/'), path.split('/'));
        loop {
            match (want.next(), got.next()) {
                (None, None) => return true,
                (Some(w), Some(g)) if w.starts_with('{') && !g.is_empty() => continue,
                (Some(w), Some(g)) if w == g => continue,
                _ => return false,
            }
        }
    })
}

/// The pointer of the schema that describes this answer, if the document has one.
fn schema_pointer(method: &str, path: &str, status: u16) -> Result<String, String> {
    let doc = document();
    let Some(template) = path_template(path) else {
        // A path the API does not have: its answer is the error envelope (404).
        return Ok("/components/schemas/ErrorEnvelope".into());
    };
    let method = method.to_ascii_lowercase();
    let operation = format!("/paths/{}/{method}", escape(template));
    if doc.pointer(&operation).is_none() {
        // A method the path does not serve: the error envelope (405).
        return Ok("/components/schemas/ErrorEnvelope".into());
    }
    let responses = format!("{operation}/responses");
    let status = status.to_string();
    let response = [status.as_str(), "default"]
        .iter()
        .map(|key| format!("{responses}/{key}"))
        .find(|pointer| doc.pointer(pointer).is_some())
        .ok_or_else(|| format!("no response {status} nor default for {method} {template}"))?;
    let response = match doc.pointer(&response).and_then(|r| r.get("$ref")) {
        Some(Value::String(reference)) => reference.trim_start_matches('#').to_string(),
        _ => response,
    };
    let schema = format!("{response}/content/application~1json/schema");
    doc.pointer(&schema).map(|_| schema.clone()).ok_or_else(|| {
        format!("{method} {template} {status}: the document says this answer is not JSON")
    })
}

fn validator(pointer: &str) -> &'static jsonschema::Validator {
    static VALIDATORS: OnceLock<Mutex<HashMap<String, &'static jsonschema::Validator>>> =
        OnceLock::new();
    let mut cache = VALIDATORS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    cache.entry(pointer.to_string()).or_insert_with(|| {
        // The whole document is the root, so the `#/components/...` references resolve; the
        // root's `$ref` picks the answer's schema.
        let mut root = document().clone();
        // A URI fragment: the braces of `/host/{name}` are percent-encoded there.
        let fragment = pointer.replace('{', "%7B").replace('}', "%7D");
        root["$ref"] = Value::String(format!("#{fragment}"));
        let built = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&root)
            .unwrap_or_else(|e| panic!("openapi.json: schema {pointer} does not compile: {e}"));
        Box::leak(Box::new(built))
    })
}

/// Panics (failing the test) when a JSON answer does not match the document.
pub fn check(method: &str, path: &str, reply: &Reply) {
    let is_json = reply
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/json"));
    if !is_json || method == "HEAD" || reply.body.is_empty() {
        return;
    }
    let Ok(body) = serde_json::from_str::<Value>(&reply.body) else {
        panic!(
            "{method} {path}: {} answer says JSON but is not: {}",
            reply.status, reply.body
        );
    };
    let pointer = schema_pointer(method, path, reply.status).unwrap_or_else(|why| {
        panic!(
            "openapi.json does not describe {method} {path} {}: {why}",
            reply.status
        )
    });
    let errors: Vec<String> = validator(&pointer)
        .iter_errors(&body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .take(5)
        .collect();
    assert!(
        errors.is_empty(),
        "the answer to {method} {path} ({}) breaks openapi.json ({pointer}): {errors:?}\n{}",
        reply.status,
        reply.body
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_their_templates() {
        assert_eq!(path_template("/ws/host/web01?x=1"), Some("/host/{name}"));
        assert_eq!(path_template("/host/"), Some("/host"));
        assert_eq!(path_template("/ws"), Some("/"));
        assert_eq!(path_template("/host/a/b"), None);
        assert_eq!(path_template("/nowhere"), None);
    }

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
        }
    }

    #[test]
    fn a_described_answer_passes_and_another_fails() {
        check(
            "POST",
            "/command",
            &reply(200, r#"{"_status":"OK","_command":"X"}"#),
        );
        check(
            "POST",
            "/command",
            &reply(400, r#"{"_status":"ERR","_issues":["x"],"_error":"x"}"#),
        );
        check(
            "GET",
            "/nowhere",
            &reply(404, r#"{"_status":"ERR","_issues":["x"]}"#),
        );
        let broken = std::panic::catch_unwind(|| {
            check("POST", "/command", &reply(400, r#"{"_status":"OK"}"#))
        });
        assert!(broken.is_err(), "an error answer without _issues must fail");
        let broken =
            std::panic::catch_unwind(|| check("GET", "/are_you_alive", &reply(200, r#""No""#)));
        assert!(broken.is_err());
    }
}
