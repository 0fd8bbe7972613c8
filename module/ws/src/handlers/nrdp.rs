//! `/nrdp`: NRDP 2.0's `hello`, `submitcheck` and `submitcmd` for its unchanged clients.
//! Check results go the way of a `/host` livestate (store, then the durable spool); every
//! answer, error or not, is NRDP's (`nrdp::answer`).

use std::net::IpAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Limited};
use hyper::Request;

use crate::app::App;
use crate::auth::Caller;
use crate::body::Body;
use crate::handlers::command::submit;
use crate::hosts::livestate::{self, LivestateIn, Target};
use crate::nrdp::checkresults::{self, CheckResult, ResultTarget};
use crate::nrdp::{Format, NrdpError, NrdpGate, Params};
use crate::response::HttpResponse;
use crate::store::model::{CheckRecord, ElementPatch, Kind, NewHistory};
use crate::store::{now, Session, StoreError};

pub async fn handle(
    app: &App,
    gate: &NrdpGate,
    request: Request<Body>,
    peer: IpAddr,
) -> HttpResponse {
    let query = request.uri().query().map(String::from);
    let body = match read_body(request, app.config.max_body_size).await {
        Ok(body) => body,
        Err(err) => {
            let format = format_of(&Params::read(query.as_deref(), b""));
            return err.into_response(format);
        }
    };
    let params = Params::read(query.as_deref(), &body);
    let format = format_of(&params);
    match answer(app, gate, &params, format, peer).await {
        Ok(response) => response,
        Err(err) => err.into_response(format),
    }
}

fn format_of(params: &Params) -> Format {
    if params.wants_json() {
        Format::Json
    } else {
        Format::Xml
    }
}

async fn answer(
    app: &App,
    gate: &NrdpGate,
    params: &Params,
    format: Format,
    peer: IpAddr,
) -> Result<HttpResponse, NrdpError> {
    let cmd = params.cmd.as_deref().unwrap_or_default().trim();
    if cmd == "hello" {
        return Ok(crate::nrdp::answer::hello(format));
    }
    if cmd != "submitcheck" && cmd != "submitcmd" {
        return Err(NrdpError::NoRequestHandler);
    }
    gate.check_token(params.token.as_deref(), peer)?;
    if cmd == "submitcheck" {
        let results = check_results(params)?;
        let count = results.len();
        keep_and_send(app, results).await?;
        log::info!("nrdp: {count} check result(s) from {peer}");
        let output = format!("{count} checks processed.");
        Ok(crate::nrdp::answer::ok(format, Some(&output)))
    } else {
        if !gate.commands_allowed() {
            return Err(NrdpError::Disabled);
        }
        let lines = command_lines(app, &params.commands)?;
        let count = lines.len();
        submit(app, lines).await.map_err(unavailable)?;
        log::info!("nrdp: {count} command(s) from {peer}");
        let output = format!("{count} commands processed.");
        Ok(crate::nrdp::answer::ok(format, Some(&output)))
    }
}

/// XML when the request has XML (NRDP looks at it first), else JSON.
fn check_results(params: &Params) -> Result<Vec<CheckResult>, NrdpError> {
    match (&params.xml, &params.json) {
        (Some(xml), _) if !xml.trim().is_empty() => {
            checkresults::from_xml(xml).map_err(NrdpError::BadXml)
        }
        (_, Some(json)) if !json.trim().is_empty() => {
            checkresults::from_json(json).map_err(NrdpError::BadJson)
        }
        _ => Err(NrdpError::NoData),
    }
}

/// `submitcmd`'s lines, checked as `/command` checks them; one bad line refuses them all.
fn command_lines(app: &App, commands: &[String]) -> Result<Vec<String>, NrdpError> {
    if commands.iter().all(|c| c.trim().is_empty()) {
        return Err(NrdpError::NoCommand);
    }
    let now = now();
    let mut lines = Vec::with_capacity(commands.len());
    for command in commands.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
        if command.chars().any(char::is_control) {
            return Err(NrdpError::BadCommand(
                "a command must not contain a line break or a control character".into(),
            ));
        }
        let line = if command.starts_with('[') {
            command.to_string()
        } else {
            livestate::prefix(None, app.config.set_timestamp, now) + command
        };
        if app.config.validate_commands {
            crate::command::validate(&line).map_err(NrdpError::BadCommand)?;
        }
        lines.push(line);
    }
    Ok(lines)
}

/// One store session for the results (last state and `check.result` history), then their
/// command lines to the spool once it is committed. A result for an element the store does
/// not know still reaches the core (it may know it): the store keeps its history line only,
/// and creates nothing.
async fn keep_and_send(app: &App, results: Vec<CheckResult>) -> Result<(), NrdpError> {
    let set_timestamp = app.config.set_timestamp;
    let now = now();
    let (_, pushed) = crate::dispatch::run_then_push(
        Arc::clone(&app.store),
        Caller::default(),
        app.commands.clone(),
        move |session| {
            let mut lines = Vec::with_capacity(results.len());
            for result in &results {
                lines.push(record(session, result, set_timestamp, now)?);
            }
            Ok(lines)
        },
        std::mem::take,
    )
    .await
    .map_err(|err| NrdpError::Unavailable {
        why: format!("the results were not kept: {err}"),
        retry_after: 5,
    })?;
    pushed.map_err(|err| unavailable(crate::handlers::command::refused(err)))
}

fn record(
    session: &mut dyn Session,
    result: &CheckResult,
    set_timestamp: bool,
    now: i64,
) -> Result<String, StoreError> {
    let livestate = LivestateIn {
        state: Some(result.state_name().to_string()),
        output: result.output.clone(),
        long_output: result.long_output.clone(),
        perf_data: String::new(),
        timestamp: None,
    };
    let (host_name, service_name) = match &result.target {
        ResultTarget::Host(host) => (host.as_str(), None),
        ResultTarget::Service { host, service } => (host.as_str(), Some(service.as_str())),
    };
    let target = match service_name {
        None => Target::Host(host_name),
        Some(service) => Target::Service {
            host: host_name,
            service,
        },
    };
    let line = livestate::command_line(target, result.state, &livestate, set_timestamp, now);
    let last = livestate::last_state(result.state_name(), result.state, &livestate, now);
    let host = session.host(host_name)?;
    let element = match (&host, service_name) {
        (Some(_), None) => Some((Kind::Host, None)),
        (Some(host), Some(service)) => session
            .service(host.id, service)?
            .map(|s| (Kind::Service, Some(s))),
        (None, _) => None,
    };
    match (host, element) {
        (Some(host), Some((kind, service))) => {
            session.record_check(&CheckRecord {
                host: &host,
                service: service.as_ref(),
                last: &last,
                timestamp: None,
            })?;
            let id = service.as_ref().map_or(host.id, |s| s.id);
            let patch = ElementPatch {
                livestate: Some(last),
                ..ElementPatch::default()
            };
            session.update(kind, id, &patch)?;
        }
        _ => session.add_history(&NewHistory {
            host_name: Some(host_name.to_string()),
            service_name: service_name.map(String::from),
            user_name: "Alignak".into(),
            kind: "check.result".into(),
            message: last.history_message(),
        })?,
    }
    Ok(line)
}

fn unavailable(err: crate::error::ApiError) -> NrdpError {
    let retry_after = match &err {
        crate::error::ApiError::Unavailable { retry_after, .. } => u64::from(*retry_after),
        _ => 5,
    };
    NrdpError::Unavailable {
        why: err.to_string(),
        retry_after,
    }
}

async fn read_body(request: Request<Body>, limit: usize) -> Result<Vec<u8>, NrdpError> {
    match Limited::new(request.into_body(), limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => {
            Err(NrdpError::TooLarge { limit })
        }
        Err(err) => Err(NrdpError::Unavailable {
            why: format!("the request body could not be read: {err}"),
            retry_after: 1,
        }),
    }
}
