//! `GET /hostgroup[/<name>]` (+`embedded`): the store's hostgroups and their hosts.

use std::sync::Arc;

use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::query::{pairs, param};
use crate::response::{answer, Envelope, HttpResponse};

pub async fn get(
    app: &App,
    caller: Caller,
    query: Option<&str>,
    path_name: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let pairs = pairs(query);
    let name = param(&pairs, "name")
        .map(String::from)
        .or(path_name)
        .filter(|n| !n.is_empty());
    if let Some(name) = &name {
        crate::hosts::request::check_name("hostgroup", name)?;
    }
    // The original: any non-empty value is true, "False" included.
    let embedded = param(&pairs, "embedded").is_some_and(|v| !v.is_empty());
    let lookup = name.clone();
    // A read connection of its own: listing groups scans every host's `hostgroups`, which
    // must not hold up the writes queued on the session thread.
    let groups = crate::dispatch::run_read(Arc::clone(&app.store), caller, move |session| {
        session.hostgroup_documents(lookup.as_deref(), embedded)
    })
    .await?;
    if groups.is_empty() {
        let issue = match name.as_deref() {
            Some(shown) => format!("Requested hostgroup '{shown}' does not exist"),
            None if app.config.hostgroups_file.is_none()
                && app.config.alignak_backend.is_none() =>
            {
                "No hostgroup is defined: no hostgroups_file is configured".to_string()
            }
            None => "No hostgroup is defined".to_string(),
        };
        return Err(ApiError::UnknownElement {
            body: Box::new(Envelope::err().lines(Vec::new()).issue(issue)),
        });
    }
    Ok(answer(Envelope::ok().result(groups)))
}
