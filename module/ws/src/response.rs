//! JSON answers, and the one envelope every API answer has (`_status` and its companions).

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{header, Response, StatusCode};
use serde::Serialize;
use serde_json::{Map, Value};

/// `_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Status {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "ERR")]
    Err,
}

/// An answer's envelope. The fields are in the order the original's answers had their keys
/// (which a client comparing bodies as text sees); answer-specific keys follow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Envelope {
    #[serde(rename = "_status")]
    status: Status,
    #[serde(rename = "_command", skip_serializing_if = "Option::is_none")]
    command: Option<String>,
    #[serde(rename = "_error", skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    meta: Option<Value>,
    #[serde(rename = "_result", skip_serializing_if = "Option::is_none")]
    result: Option<Payload>,
    #[serde(rename = "_issues", skip_serializing_if = "Option::is_none")]
    issues: Option<Vec<String>>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// `_result`: any JSON value, or a batch's answers, each an envelope of its own (serialised
/// as they are, with no JSON tree built for a hundred items on the way).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
enum Payload {
    Value(Value),
    Lines(Vec<String>),
    Items(Vec<Envelope>),
}

impl Envelope {
    pub fn new(status: Status) -> Envelope {
        Envelope {
            status,
            command: None,
            error: None,
            meta: None,
            result: None,
            issues: None,
            rest: Map::new(),
        }
    }

    pub fn ok() -> Envelope {
        Envelope::new(Status::Ok)
    }

    pub fn err() -> Envelope {
        Envelope::new(Status::Err)
    }

    pub fn command(mut self, line: impl Into<String>) -> Envelope {
        self.command = Some(line.into());
        self
    }

    pub fn error(mut self, text: impl Into<String>) -> Envelope {
        self.error = Some(text.into());
        self
    }

    pub fn meta(mut self, meta: Value) -> Envelope {
        self.meta = Some(meta);
        self
    }

    pub fn result(mut self, result: impl Into<Value>) -> Envelope {
        self.result = Some(Payload::Value(result.into()));
        self
    }

    /// `_result`: lines of text (what was done, the commands sent), moved in as they are.
    pub fn lines(mut self, lines: Vec<String>) -> Envelope {
        self.result = Some(Payload::Lines(lines));
        self
    }

    /// `_result`: a batch's answers, one per item.
    pub fn items(mut self, items: Vec<Envelope>) -> Envelope {
        self.result = Some(Payload::Items(items));
        self
    }

    pub fn issues(mut self, issues: Vec<String>) -> Envelope {
        self.issues = Some(issues);
        self
    }

    pub fn issue(self, issue: impl Into<String>) -> Envelope {
        self.issues(vec![issue.into()])
    }

    /// A key of this answer's own, after the envelope's.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Envelope {
        self.rest.insert(key.to_string(), value.into());
        self
    }

    /// `_issues` as one text (an error's message, a batch item's line in the summary).
    pub fn issues_text(&self) -> String {
        self.issues.as_deref().unwrap_or_default().join(" ")
    }

    /// `clean` applied to `_error`, `_issues` and those of a batch's answers: what an answer
    /// must not show (the paths in a system error) taken out in one place.
    pub fn redact(&mut self, clean: &impl Fn(&str) -> String) {
        if let Some(error) = &mut self.error {
            *error = clean(error);
        }
        for issue in self.issues.iter_mut().flatten() {
            *issue = clean(issue);
        }
        if let Some(Payload::Items(items)) = &mut self.result {
            for item in items {
                item.redact(clean);
            }
        }
    }

    /// The answer as a JSON tree, for tests to compare; answers are serialised as they are.
    #[cfg(test)]
    pub fn into_value(self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

pub type HttpResponse = Response<Full<Bytes>>;

pub fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    json_body(status, body)
}

/// A JSON answer of anything that serialises (an `Envelope`, a `Value`), written once.
pub fn json_body(status: StatusCode, body: &impl Serialize) -> HttpResponse {
    // Neither a `Value` nor an `Envelope` can fail to serialise: their map keys are strings.
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// A non-JSON answer (`/metrics`' text exposition).
pub fn text(content_type: &'static str, body: String) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

pub fn ok(body: &Value) -> HttpResponse {
    json_response(StatusCode::OK, body)
}

/// A 200 answer with this envelope, serialised as it is (no JSON tree on the way).
pub fn answer(envelope: Envelope) -> HttpResponse {
    json_body(StatusCode::OK, &envelope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_batch_of_envelopes_serialises_as_its_json_tree_would() {
        let batch = || {
            Envelope::ok().items(vec![
                Envelope::ok().command("DISABLE_NOTIFICATIONS"),
                Envelope::err().error("bad").issue("bad").with("x", 1),
            ])
        };
        let direct = serde_json::to_string(&batch()).unwrap();
        assert_eq!(
            direct,
            serde_json::to_string(&batch().into_value()).unwrap()
        );
        assert_eq!(
            direct,
            r#"{"_status":"OK","_result":[{"_status":"OK","_command":"DISABLE_NOTIFICATIONS"},{"_status":"ERR","_error":"bad","_issues":["bad"],"x":1}]}"#
        );
    }

    #[test]
    fn the_envelope_keeps_the_originals_key_order_and_leaves_out_what_is_unset() {
        let text = |e: Envelope| serde_json::to_string(&e.into_value()).unwrap();
        assert_eq!(
            text(Envelope::ok().command("DISABLE_NOTIFICATIONS")),
            r#"{"_status":"OK","_command":"DISABLE_NOTIFICATIONS"}"#
        );
        assert_eq!(
            text(Envelope::err().issue("x").result(json!([])).error("x")),
            r#"{"_status":"ERR","_error":"x","_result":[],"_issues":["x"]}"#
        );
        assert_eq!(
            text(
                Envelope::ok()
                    .meta(json!({"page": 1}))
                    .with("items", json!([]))
            ),
            r#"{"_status":"OK","_meta":{"page":1},"items":[]}"#
        );
    }
}
