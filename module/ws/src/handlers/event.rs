//! `POST /event`: a persistent comment on a host or service (the original's
//! `ADD_HOST_COMMENT` / `ADD_SVC_COMMENT`), and a `webui.comment` history entry.

use std::sync::Arc;

use hyper::Request;
use serde_json::{Map, Value};

use crate::app::App;
use crate::auth::Caller;
use crate::body::{read_json, Body};
use crate::command::parse_timestamp;
use crate::dispatch::Outcome;
use crate::error::{ApiError, ErrorKey};
use crate::handlers::command::refused;
use crate::hosts::request::{check_name, check_text};
use crate::response::{answer, Envelope, HttpResponse};
use crate::store::model::NewHistory;

fn bad(message: &str) -> ApiError {
    ApiError::Invalid {
        message: message.into(),
        key: ErrorKey::Issues,
    }
}

fn text(body: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(&format!("The '{key}' parameter must be a string."))),
    }
}

/// The comment's command line and history entry, or why the request is refused.
pub fn comment(body: &Value) -> Result<(String, NewHistory), ApiError> {
    let body = match body {
        Value::Object(map) if !map.is_empty() => map,
        _ => return Err(bad("You must POST parameters on this endpoint.")),
    };
    let host = text(body, "host")?;
    let service = text(body, "service")?;
    let Some(host) = host else {
        return Err(bad("Missing host and/or service parameter."));
    };
    let Some(comment) = text(body, "comment")? else {
        return Err(bad(
            "Missing comment. If you do not have any comment, do not comment ;)",
        ));
    };
    let author = text(body, "author")?.unwrap_or_else(|| "Alignak WS".into());
    check_name("host", &host)?;
    if let Some(service) = &service {
        check_name("service", service)?;
    }
    check_name("author", &author)?;
    check_text("comment", &comment)?;
    let timestamp = parse_timestamp(body.get("timestamp"))
        .map_err(|_| bad("Timestamp must be an integer value"))?;
    let prefix = timestamp.map(|ts| format!("[{ts}] ")).unwrap_or_default();
    let text = crate::characters::for_core(&comment);
    let line = match &service {
        Some(service) => {
            format!("{prefix}ADD_SVC_COMMENT;{host};{service};1;{author};{text}")
        }
        None => format!("{prefix}ADD_HOST_COMMENT;{host};1;{author};{text}"),
    };
    let history = NewHistory {
        host_name: Some(host),
        service_name: service,
        user_name: author,
        kind: "webui.comment".into(),
        message: comment,
    };
    Ok((line, history))
}

pub async fn post(
    app: &App,
    caller: Caller,
    request: Request<Body>,
) -> Result<HttpResponse, ApiError> {
    let body = read_json(request, app.config.max_body_size).await?;
    let (line, history) = comment(&body)?;
    // On the embedded store the history first: a store failure then refuses the whole
    // request (503), rather than sending a comment that the history never shows. On the
    // backend the comment is sent whatever becomes of its history entry, as the original
    // did; a failed entry is then told with the command line it did send.
    let ended = crate::dispatch::run_with_lines(
        Arc::clone(&app.store),
        caller,
        app.commands.clone(),
        vec![line.clone()],
        move |session| session.add_history(&history),
    )
    .await;
    match ended {
        Outcome::Done(()) => {}
        Outcome::Failed(error) => return Err(error.into()),
        Outcome::Refused(refusal) => return Err(refused(refusal)),
        Outcome::Stopped { error, .. } => {
            log::error!("comment sent, but its history entry was not written");
            return Err(ApiError::store(error, vec![line]));
        }
    }
    Ok(answer(Envelope::ok().lines(vec![line])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn comment_lines() {
        for (body, expected) in [
            (
                json!({"host": "h", "comment": "hello"}),
                Ok("ADD_HOST_COMMENT;h;1;Alignak WS;hello"),
            ),
            (
                json!({"host": "h", "service": "s", "author": "me", "comment": "a;b", "timestamp": 12}),
                Ok("[12] ADD_SVC_COMMENT;h;s;1;me;a;b"),
            ),
            (json!({}), Err("You must POST parameters on this endpoint.")),
            (
                json!({"comment": "x"}),
                Err("Missing host and/or service parameter."),
            ),
            (
                json!({"service": "s", "comment": "x"}),
                Err("Missing host and/or service parameter."),
            ),
            (
                json!({"host": "h"}),
                Err("Missing comment. If you do not have any comment, do not comment ;)"),
            ),
            (
                json!({"host": "h", "comment": "c", "timestamp": "x"}),
                Err("Timestamp must be an integer value"),
            ),
        ] {
            let got = comment(&body).map(|(l, _)| l).map_err(|e| e.to_string());
            assert_eq!(got.as_deref().map_err(String::as_str), expected, "{body}");
        }
        assert!(comment(&json!({"host": "h;x", "comment": "c"})).is_err());
        assert!(comment(&json!({"host": "h", "author": "a\nb", "comment": "c"})).is_err());
        for body in [
            json!({"host": "h\u{00}x", "comment": "c"}),
            json!({"host": "h", "service": "s\u{00}", "comment": "c"}),
            json!({"host": "h", "author": "a\u{00}", "comment": "c"}),
            json!({"host": "h", "comment": "c\u{00}d"}),
            json!({"host": "h", "comment": "c", "timestamp": null}),
            json!({"host": "h", "comment": "c", "timestamp": ""}),
            json!({"host": "h", "comment": "c", "timestamp": " 12"}),
        ] {
            assert!(comment(&body).is_err(), "{body}");
        }
        assert!(comment(&json!({"host": "h", "comment": "two\nlines\ttab"})).is_ok());
    }
}
