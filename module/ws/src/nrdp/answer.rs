//! NRDP's answers, in JSON or XML as NRDP chooses, and its error messages. Every NRDP
//! answer, error or not, is built here.
//!
//! Status codes: NRDP answers every error with HTTP 200 and `status -1` in the body, and its
//! clients read that body (`send_nrdp.sh` runs `curl -f`, which would hide the message behind
//! "could not connect" on a 4xx). So an error NRDP knows is a 200 with NRDP's message; only
//! what NRDP has no answer for uses a real status: 429 for an address blocked after bad
//! tokens, 413 for a body over `max_body_size`, 503 when the results could not be kept
//! (store or spool refused: nothing was accepted, the client may send them again).

use hyper::{header, StatusCode};
use serde_json::{json, Value};

use crate::response::HttpResponse;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NrdpError {
    #[error("NO TOKEN")]
    NoToken,
    #[error("BAD TOKEN")]
    BadToken,
    #[error("NO REQUEST HANDLER")]
    NoRequestHandler,
    #[error("NO DATA")]
    NoData,
    /// The XML is not well-formed, not NRDP's shape, or a result is not valid.
    #[error("BAD XML")]
    BadXml(String),
    #[error("BAD JSON")]
    BadJson(String),
    #[error("NO COMMAND")]
    NoCommand,
    /// `submitcmd` while `nrdp_commands` is off.
    #[error("COMMANDS DISABLED")]
    Disabled,
    #[error("BAD COMMAND")]
    BadCommand(String),
    /// Not NRDP's: too many bad tokens from this address.
    #[error("TOO MANY FAILED ATTEMPTS")]
    Blocked { retry_after: u64 },
    #[error("REQUEST TOO LARGE")]
    TooLarge { limit: usize },
    /// The results were not kept (store or spool): nothing of the request was accepted.
    #[error("NOT ACCEPTED")]
    Unavailable { why: String, retry_after: u64 },
}

impl NrdpError {
    fn status(&self) -> StatusCode {
        match self {
            NrdpError::Blocked { .. } => StatusCode::TOO_MANY_REQUESTS,
            NrdpError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            NrdpError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::OK,
        }
    }

    /// What went wrong, beyond NRDP's one-word message (in `meta.output`).
    fn detail(&self) -> Option<String> {
        match self {
            NrdpError::BadXml(why) | NrdpError::BadJson(why) | NrdpError::BadCommand(why) => {
                Some(why.clone())
            }
            NrdpError::Blocked { retry_after } => Some(format!("try again in {retry_after} s")),
            NrdpError::TooLarge { limit } => {
                Some(format!("the request is over the {limit} bytes allowed"))
            }
            NrdpError::Unavailable { why, .. } => Some(why.clone()),
            _ => None,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            NrdpError::Blocked { retry_after } | NrdpError::Unavailable { retry_after, .. } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }

    pub fn into_response(self, format: Format) -> HttpResponse {
        let mut response = result(
            self.status(),
            format,
            -1,
            &self.to_string(),
            self.detail().as_deref(),
        );
        if let Some(secs) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        response
    }
}

/// `cmd=hello`: NRDP's `response` document.
pub fn hello(format: Format) -> HttpResponse {
    let version = env!("CARGO_PKG_VERSION");
    match format {
        Format::Json => json_body(
            StatusCode::OK,
            &json!({"response": {"status": 0, "message": "OK", "product": "nrdp",
                                 "version": version}}),
        ),
        Format::Xml => xml_body(
            StatusCode::OK,
            format!(
                "<response>\n  <status>0</status>\n  <message>OK</message>\n  <product>nrdp</product>\n  <version>{version}</version>\n</response>\n"
            ),
        ),
    }
}

/// A success: `status 0`, `OK`, and what was done in `meta.output`.
pub fn ok(format: Format, output: Option<&str>) -> HttpResponse {
    result(StatusCode::OK, format, 0, "OK", output)
}

fn result(
    code: StatusCode,
    format: Format,
    status: i32,
    message: &str,
    output: Option<&str>,
) -> HttpResponse {
    match format {
        Format::Json => {
            let mut result = json!({"status": status, "message": message});
            if let (Some(output), Some(map)) = (output, result.as_object_mut()) {
                map.insert("meta".into(), json!({ "output": output }));
            }
            json_body(code, &json!({ "result": result }))
        }
        Format::Xml => {
            let mut text = format!(
                "<result>\n  <status>{status}</status>\n  <message>{}</message>\n",
                escape(message)
            );
            if let Some(output) = output {
                text.push_str(&format!(
                    "  <meta>\n    <output>{}</output>\n  </meta>\n",
                    escape(output)
                ));
            }
            text.push_str("</result>\n");
            xml_body(code, text)
        }
    }
}

fn json_body(code: StatusCode, body: &Value) -> HttpResponse {
    crate::response::json_response(code, body)
}

fn xml_body(code: StatusCode, document: String) -> HttpResponse {
    let text = format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n{document}");
    let mut response =
        hyper::Response::new(http_body_util::Full::new(hyper::body::Bytes::from(text)));
    *response.status_mut() = code;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    response
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn text(response: HttpResponse) -> (u16, String) {
        let status = response.status().as_u16();
        let body = futures_body(response);
        (status, body)
    }

    fn futures_body(response: HttpResponse) -> String {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes = runtime
            .block_on(response.into_body().collect())
            .unwrap()
            .to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn answers_have_nrdps_shapes() {
        let (code, body) = text(ok(Format::Json, Some("2 checks processed.")));
        assert_eq!(code, 200);
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            json!({"result": {"status": 0, "message": "OK",
                              "meta": {"output": "2 checks processed."}}})
        );
        let (_, body) = text(NrdpError::BadToken.into_response(Format::Xml));
        assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<result>\n  <status>-1</status>\n  <message>BAD TOKEN</message>\n"), "{body}");
        let (_, body) = text(NrdpError::BadXml("a <b> & c".into()).into_response(Format::Xml));
        assert!(
            body.contains("<output>a &lt;b&gt; &amp; c</output>"),
            "{body}"
        );
        let (code, _) = text(NrdpError::Blocked { retry_after: 3 }.into_response(Format::Json));
        assert_eq!(code, 429);
        let (_, body) = text(hello(Format::Json));
        let hello: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(hello["response"]["product"], "nrdp");
        assert_eq!(hello["response"]["status"], 0);
    }
}
