//! `PATCH|POST /host[/<name>]`: the update algorithm in one store session, then its command
//! lines to the daemon; the answer once both are done.

use std::sync::Arc;

use hyper::Request;
use serde_json::{json, Value};

use crate::app::App;
use crate::auth::Caller;
use crate::body::{read_json_batch, Body};
use crate::core_objects::CoreObjects;
use crate::dispatch::{Outcome, Stopped};
use crate::error::{ApiError, BatchFailure};
use crate::handlers::command::{batch_answer, refused};
use crate::hosts::catalog::CoreCatalog;
use crate::hosts::request::HostRequest;
use crate::hosts::update::{update_host, Failure, Outcome as HostOutcome, Status};
use crate::response::{answer, Envelope, HttpResponse};
use crate::store::{self, now, StoreError};

pub async fn update(
    app: &App,
    caller: Caller,
    request: Request<Body>,
    path_name: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let received = std::time::Instant::now();
    let body = read_json_batch(
        request,
        app.config.max_body_size,
        app.config.max_batch_items,
    )
    .await?;
    if let Value::Array(items) = body {
        return batch(app, caller, items, path_name).await;
    }
    let host_request = HostRequest::parse(&body, path_name.as_deref())?;
    if let Some(objects) = &app.objects {
        objects.check_request(&host_request)?;
    }
    let (hosts, services) = host_request.livestate_counts();
    let livestates = crate::statsd::Livestates::new(hosts, services, received);
    let config = Arc::clone(&app.config);
    let objects = app.objects.clone();
    let written = app.objects.clone();
    let ended = crate::dispatch::run_staged(
        Arc::clone(&app.store),
        caller,
        app.commands.clone(),
        move |session| {
            update_host(session, &config, catalog(&objects), &host_request, now()).map_err(
                |Failure { error, commands }| Stopped {
                    error,
                    partial: commands,
                },
            )
        },
        move |built| match built {
            Ok(outcome) => {
                mark_objects(written.as_deref(), outcome);
                std::mem::take(&mut outcome.commands)
            }
            Err(commands) => {
                if !commands.is_empty() {
                    log::warn!(
                        "{} command(s) built before the store failed are sent",
                        commands.len()
                    );
                }
                commands.clone()
            }
        },
    )
    .await;
    let kept = kept(ended)?;
    livestates.sent();
    // The caller gets a stop's failure and the commands built before it, which were sent.
    let outcome = kept.map_err(|Stopped { error, partial }| ApiError::store(error, partial))?;
    match outcome.status {
        Status::Ok => Ok(answer(outcome.body)),
        Status::Issues => Err(ApiError::Issues {
            body: Box::new(outcome.body),
        }),
        Status::UnknownHost => Err(ApiError::UnknownElement {
            body: Box::new(outcome.body),
        }),
    }
}

/// A batch: a JSON array of host objects, each naming its host, processed in order in one
/// store session; their commands go to the daemon in one push. The answer lists each
/// item's own answer; any item not OK makes it a 422 naming the items.
async fn batch(
    app: &App,
    caller: Caller,
    items: Vec<Value>,
    path_name: Option<String>,
) -> Result<HttpResponse, ApiError> {
    if path_name.is_some() {
        return Err(ApiError::invalid_legacy(
            "A batch of hosts is sent to /host, each item with its 'name'.",
        ));
    }
    if items.is_empty() {
        return Err(ApiError::invalid_legacy(
            "You must send parameters on this endpoint.",
        ));
    }
    // A malformed item is refused alone, with the answer it would have had on its own.
    let requests: Vec<Result<HostRequest, Box<Envelope>>> = items
        .iter()
        .map(|item| {
            let request = HostRequest::parse(item, None)?;
            if let Some(objects) = &app.objects {
                objects.check_request(&request)?;
            }
            Ok(request)
        })
        .map(|parsed: Result<HostRequest, ApiError>| {
            parsed.map_err(|err| Box::new(err.into_answer()))
        })
        .collect();
    let config = Arc::clone(&app.config);
    let objects = app.objects.clone();
    let count = requests.len();
    let work = move |session: &mut dyn store::Session| {
        let mut outcomes = Vec::with_capacity(requests.len());
        for request in &requests {
            let request = match request {
                Ok(request) => request,
                Err(body) => {
                    outcomes.push(Err(body.clone()));
                    continue;
                }
            };
            match update_host(session, &config, catalog(&objects), request, now()) {
                Ok(outcome) => outcomes.push(Ok(outcome)),
                // Where the store keeps what came before, the items done keep their answers,
                // the failing one gives its commands so far, the rest are not processed.
                Err(Failure { error, commands }) => {
                    return Err(Stopped {
                        error,
                        partial: (outcomes, commands),
                    })
                }
            }
        }
        Ok(outcomes)
    };
    // Every item's commands go in one push; after a stop, those built so far (kept in the
    // answer, which counts them).
    let written = app.objects.clone();
    let commands = move |built: Result<&mut Items, &mut (Items, Vec<String>)>| {
        let (outcomes, failed) = match built {
            Ok(outcomes) => (outcomes, None),
            Err((outcomes, failed)) => (outcomes, Some(failed)),
        };
        for outcome in outcomes.iter().filter_map(|outcome| outcome.as_ref().ok()) {
            mark_objects(written.as_deref(), outcome);
        }
        let built = outcomes
            .iter_mut()
            .filter_map(|outcome| outcome.as_mut().ok());
        match failed {
            None => built
                .flat_map(|o| std::mem::take(&mut o.commands))
                .collect(),
            Some(failed) => built
                .flat_map(|o| o.commands.clone())
                .chain(failed.clone())
                .collect(),
        }
    };
    let ended = crate::dispatch::run_staged(
        Arc::clone(&app.store),
        caller,
        app.commands.clone(),
        work,
        commands,
    )
    .await;
    let outcomes = kept(ended)?
        .map_err(|Stopped { error, partial }| stopped_batch(error, partial.0, partial.1, count))?;
    let mut results = Vec::with_capacity(outcomes.len());
    let mut issues = Vec::new();
    for (index, outcome) in outcomes.into_iter().enumerate() {
        let body = match outcome {
            Ok(outcome) if outcome.status == Status::Ok => outcome.body,
            Ok(HostOutcome { body, .. }) => {
                issues.push((index, body.issues_text()));
                body
            }
            Err(body) => {
                issues.push((index, body.issues_text()));
                *body
            }
        };
        results.push(body);
    }
    batch_answer(results, issues, ("Host", "Hosts"))
}

/// What the daemon was sent: the work's output, or what it built before a stop (on a store
/// that kept what came before); else the store's or the daemon's refusal, as the answer.
fn kept<T, P>(ended: Outcome<T, P>) -> Result<Result<T, Stopped<P>>, ApiError> {
    match ended {
        Outcome::Done(output) => Ok(Ok(output)),
        Outcome::Stopped { error, partial } => Ok(Err(Stopped { error, partial })),
        Outcome::Failed(error) => Err(error.into()),
        Outcome::Refused(refusal) => Err(refused(refusal)),
    }
}

/// Each item's outcome, or the answer it had on its own when it was malformed.
type Items = Vec<Result<HostOutcome, Box<Envelope>>>;

/// A batch stopped at item `outcomes.len()` by a store that kept what came before: those
/// items keep their answers and their commands were sent, with the failing one's so far;
/// the rest are not processed.
fn stopped_batch(
    error: StoreError,
    outcomes: Items,
    commands: Vec<String>,
    count: usize,
) -> ApiError {
    let index = outcomes.len();
    let mut sent: Vec<String> = Vec::new();
    let mut results = Vec::with_capacity(count);
    let mut issues = vec![error.to_string()];
    for outcome in outcomes {
        match outcome {
            Ok(outcome) => {
                sent.extend(outcome.commands);
                results.push(outcome.body);
            }
            Err(body) => results.push(*body),
        }
    }
    sent.extend(commands);
    results.push(Envelope::err().issue(error.to_string()));
    let skipped = format!("Not processed: the store failed on host {index}.");
    results.extend((index + 1..count).map(|_| Envelope::err().issue(skipped.as_str())));
    issues.push(format!("Host {index}: {error}"));
    if !sent.is_empty() {
        issues.push(format!(
            "The {} command(s) of the hosts before and of host {index} were sent: sending those hosts again sends them again.",
            sent.len()
        ));
    }
    ApiError::BatchStoreFailure(Box::new(BatchFailure {
        error,
        issues,
        result: results,
    }))
}

/// What the core has, for the `/host` algorithm (`objects_dir` on).
fn catalog(objects: &Option<Arc<CoreObjects>>) -> Option<&dyn CoreCatalog> {
    objects.as_deref().map(|o| o as &dyn CoreCatalog)
}

/// Called once the session is committed: the writer then reads what the request stored.
fn mark_objects(objects: Option<&CoreObjects>, outcome: &HostOutcome) {
    if let Some(objects) = objects {
        for host in &outcome.objects {
            objects.mark(host);
        }
    }
}

/// `GET /host[/<name>]`: the stored host, backend-shaped, with its services.
pub async fn get(
    app: &App,
    caller: Caller,
    query: Option<&str>,
    path_name: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let pairs = crate::query::pairs(query);
    let name = crate::query::param(&pairs, "name")
        .or_else(|| crate::query::param(&pairs, "host_name"))
        .map(String::from)
        .or(path_name)
        .filter(|n| !n.is_empty());
    let Some(name) = name else {
        return list(app, caller, &pairs).await;
    };
    crate::hosts::request::check_name("host", &name)?;
    let lookup = name.clone();
    let found = crate::dispatch::run_read(Arc::clone(&app.store), caller, move |documents| {
        documents.host_documents(&lookup)
    })
    .await?;
    if found.is_empty() {
        return Err(ApiError::UnknownElement {
            body: Box::new(
                Envelope::err()
                    .lines(Vec::new())
                    .issue(format!("Requested host '{name}' does not exist")),
            ),
        });
    }
    Ok(answer(Envelope::ok().result(found)))
}

/// `GET /host` without a name: the hosts, paged as `/alignak_logs` (`start`, `count` up to
/// 50), oldest first, without their services (`GET /host/<name>` has them).
async fn list(
    app: &App,
    caller: Caller,
    pairs: &[(String, String)],
) -> Result<HttpResponse, ApiError> {
    let paging = crate::handlers::logs::paging(pairs)?;
    let (offset, limit) = (paging.offset(), paging.count);
    let (hosts, total) =
        crate::dispatch::run_read(Arc::clone(&app.store), caller, move |session| {
            session.host_page(offset, limit)
        })
        .await?;
    Ok(answer(
        Envelope::ok()
            .meta(json!({"page": paging.page, "max_results": paging.count, "total": total}))
            .result(hosts),
    ))
}
