//! `POST /command`: one command object, or an array of them (one push for all).

use alignak_module_abi::{ExternalCommand, PushError, PushErrorKind};
use hyper::body::Incoming;
use hyper::Request;
use serde_json::{json, Value};

use crate::app::App;
use crate::body::read_json;
use crate::command::{validate, CommandRequest};
use crate::error::ApiError;
use crate::queue::CommandQueue;
use crate::response::{ok, HttpResponse};

pub async fn post(app: &App, request: Request<Incoming>) -> Result<HttpResponse, ApiError> {
    let body = read_json(request, app.config.max_body_size).await?;
    match body {
        Value::Array(items) => batch(app, items).await,
        single => {
            let line = command_line(app, &single)?;
            submit(app, vec![line.clone()]).await?;
            Ok(ok(&json!({"_status": "OK", "_command": line})))
        }
    }
}

/// The line for one command object, checked against Alignak's table unless
/// `validate_commands` is off.
fn command_line(app: &App, body: &Value) -> Result<String, ApiError> {
    let line = CommandRequest::from_json(body)?.line()?;
    if app.config.validate_commands {
        validate(&line).map_err(ApiError::invalid_legacy)?;
    }
    Ok(line)
}

async fn batch(app: &App, items: Vec<Value>) -> Result<HttpResponse, ApiError> {
    if items.is_empty() {
        return Err(ApiError::invalid_legacy(
            "You must POST parameters on this endpoint.",
        ));
    }
    let mut lines = Vec::new();
    let mut results = Vec::with_capacity(items.len());
    let mut issues = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match command_line(app, item) {
            Ok(line) => {
                results.push(json!({"_status": "OK", "_command": line}));
                lines.push(line);
            }
            Err(err) => {
                let text = err.to_string();
                issues.push(format!("Command {index}: {text}"));
                results.push(json!({"_status": "ERR", "_error": text, "_issues": [text]}));
            }
        }
    }
    submit(app, lines).await?;
    batch_answer(results, issues)
}

/// A batch's answer: each item's answer in `_result`; a 422 naming the items not OK.
pub fn batch_answer(results: Vec<Value>, issues: Vec<String>) -> Result<HttpResponse, ApiError> {
    if issues.is_empty() {
        Ok(ok(&json!({"_status": "OK", "_result": results})))
    } else {
        Err(ApiError::PartlyRejected {
            issues,
            result: Value::Array(results),
        })
    }
}

pub async fn submit(app: &App, lines: Vec<String>) -> Result<(), ApiError> {
    submit_to(&app.commands, lines).await
}

pub async fn submit_to(queue: &CommandQueue, lines: Vec<String>) -> Result<(), ApiError> {
    let commands = lines.into_iter().map(ExternalCommand::now).collect();
    queue.submit(commands).await.map_err(refused)
}

pub fn refused(err: PushError) -> ApiError {
    let message = match err.kind {
        PushErrorKind::Full => format!(
            "Too many commands are waiting for delivery to the monitoring core ({}); try again later.",
            err.message
        ),
        _ => format!("The command could not be queued: {}", err.message),
    };
    ApiError::Unavailable {
        message,
        retry_after: err.retry_after_secs.max(1),
    }
}
