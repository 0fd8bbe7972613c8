//! `PATCH|POST /host[/<name>]`: the update algorithm in one store session, then its command
//! lines to the daemon; the answer once both are done.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::Request;
use serde_json::{json, Value};

use crate::app::App;
use crate::body::read_json;
use crate::error::ApiError;
use crate::handlers::command::submit;
use crate::hosts::request::HostRequest;
use crate::hosts::update::{update_host, Failure, Status};
use crate::response::{ok, HttpResponse};
use crate::store::{self, now, Caller};

pub async fn update(
    app: &App,
    caller: Caller,
    request: Request<Incoming>,
    path_name: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let body = read_json(request, app.config.max_body_size).await?;
    let host_request = HostRequest::parse(&body, path_name.as_deref())?;
    let config = Arc::clone(&app.config);
    let atomic = app.store.atomic();
    let outcome = store::run(Arc::clone(&app.store), caller, move |session| {
        match update_host(session, &config, &host_request, now()) {
            Ok(outcome) => Ok(Ok(outcome)),
            // Nothing to undo on a store that applies each call: the caller gets the
            // failure and the commands built before it.
            Err(failure) if !atomic => Ok(Err(failure)),
            Err(failure) => Err(failure.error),
        }
    })
    .await?;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(Failure { error, commands }) => {
            if !commands.is_empty() {
                log::warn!(
                    "{} command(s) built before the store failed are sent",
                    commands.len()
                );
                submit(app, commands.clone()).await?;
            }
            return Err(ApiError::store(error, commands));
        }
    };
    submit(app, outcome.commands).await?;
    match outcome.status {
        Status::Ok => Ok(ok(&Value::Object(outcome.body))),
        Status::Issues => Err(ApiError::Issues { body: outcome.body }),
        Status::UnknownHost => Err(ApiError::UnknownElement { body: outcome.body }),
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
        .filter(|n| !n.is_empty())
        .ok_or(ApiError::MissingTarget)?;
    let lookup = name.clone();
    let found = store::run(Arc::clone(&app.store), caller, move |session| {
        session.host_documents(&lookup)
    })
    .await?;
    if found.is_empty() {
        let body = json!({"_status": "ERR", "_result": [],
                          "_issues": [format!("Requested host '{name}' does not exist")]});
        return Err(ApiError::UnknownElement {
            body: body.as_object().cloned().unwrap_or_default(),
        });
    }
    Ok(ok(&json!({"_status": "OK", "_result": found})))
}
