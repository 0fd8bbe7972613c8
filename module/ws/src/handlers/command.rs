//! `POST /command`: one command object, or an array of them (one push for all).

use alignak_module_abi::{ExternalCommand, PushError, PushErrorKind};
use hyper::Request;
use serde_json::Value;

use crate::app::App;
use crate::body::{read_json_batch, Body};
use crate::command::{validate, CommandRequest};
use crate::error::ApiError;
use crate::queue::CommandQueue;
use crate::response::{answer, Envelope, HttpResponse};

pub async fn post(app: &App, request: Request<Body>) -> Result<HttpResponse, ApiError> {
    let body = read_json_batch(
        request,
        app.config.max_body_size,
        app.config.max_batch_items,
    )
    .await?;
    match body {
        Value::Array(items) => batch(app, items).await,
        single => {
            let line = command_line(app, &single)?;
            submit(app, vec![line.clone()]).await?;
            Ok(answer(Envelope::ok().command(line)))
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
                results.push(Envelope::ok().command(line.as_str()));
                lines.push(line);
            }
            Err(err) => {
                let text = err.to_string();
                results.push(Envelope::err().error(text.as_str()).issue(text.as_str()));
                issues.push((index, text));
            }
        }
    }
    submit(app, lines).await?;
    batch_answer(results, issues, ("Command", "Commands"))
}

/// A batch's answer: each item's answer in `_result`; a 422 naming the items not OK, where
/// consecutive items refused for the same reason are one issue (`Commands 3-9: ...`), so that
/// a batch of identical mistakes does not give an answer many times its size.
pub fn batch_answer(
    results: Vec<Envelope>,
    issues: Vec<(usize, String)>,
    noun: (&str, &str),
) -> Result<HttpResponse, ApiError> {
    if issues.is_empty() {
        Ok(answer(Envelope::ok().items(results)))
    } else {
        let mut results = results;
        shorten_repeats(&mut results, &issues);
        Err(ApiError::PartlyRejected {
            issues: summarise(issues, noun),
            result: results,
        })
    }
}

/// An item refused for the same reason as the item just before it answers only
/// `{"_status": "ERR", "_issues": ["Same as item <first of the run>."]}`: its answer then
/// stays about the size of a small item.
fn shorten_repeats(results: &mut [Envelope], issues: &[(usize, String)]) {
    let mut run_start = 0;
    let mut previous: Option<(usize, &str)> = None;
    for (index, text) in issues {
        match previous {
            Some((p, p_text)) if p + 1 == *index && p_text == text => {
                if let Some(item) = results.get_mut(*index) {
                    *item = Envelope::err().issue(format!("Same as item {run_start}."));
                }
            }
            _ => run_start = *index,
        }
        previous = Some((*index, text));
    }
}

/// `(index, text)` pairs in index order -> one line per run of consecutive items with the
/// same text.
fn summarise(issues: Vec<(usize, String)>, (one, many): (&str, &str)) -> Vec<String> {
    let mut lines = Vec::new();
    let mut run: Option<(usize, usize, String)> = None;
    let flush = |lines: &mut Vec<String>, (first, last, text): (usize, usize, String)| {
        lines.push(if first == last {
            format!("{one} {first}: {text}")
        } else {
            format!("{many} {first}-{last}: {text}")
        });
    };
    for (index, text) in issues {
        run = match run.take() {
            Some((first, last, current)) if last + 1 == index && current == text => {
                Some((first, index, current))
            }
            Some(done) => {
                flush(&mut lines, done);
                Some((index, index, text))
            }
            None => Some((index, index, text)),
        };
    }
    if let Some(done) = run {
        flush(&mut lines, done);
    }
    lines
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn runs_of_the_same_issue_are_one_line() {
        let issues = vec![
            (0, "a".to_string()),
            (2, "b".to_string()),
            (3, "b".to_string()),
            (4, "b".to_string()),
            (5, "c".to_string()),
            (7, "c".to_string()),
        ];
        assert_eq!(
            summarise(issues, ("Command", "Commands")),
            [
                "Command 0: a",
                "Commands 2-4: b",
                "Command 5: c",
                "Command 7: c"
            ]
        );
    }

    #[test]
    fn repeated_refusals_answer_briefly() {
        let issues: Vec<(usize, String)> = [(0, "a"), (1, "a"), (2, "a"), (4, "a"), (5, "b")]
            .into_iter()
            .map(|(i, t)| (i, t.to_string()))
            .collect();
        let mut results: Vec<Envelope> = (0..6).map(|i| Envelope::err().with("item", i)).collect();
        shorten_repeats(&mut results, &issues);
        let results: Vec<Value> = results.into_iter().map(Envelope::into_value).collect();
        let same = |n: usize| json!({"_status": "ERR", "_issues": [format!("Same as item {n}.")]});
        let item = |n: usize| json!({"_status": "ERR", "item": n});
        assert_eq!(
            results,
            [item(0), same(0), same(0), item(3), item(4), item(5)]
        );
    }
}
