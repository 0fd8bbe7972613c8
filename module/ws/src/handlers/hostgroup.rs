//! `GET /hostgroup[/<name>]` (+`embedded`): the declared hostgroups, with their members and
//! the stored hosts that name them in their `hostgroups`.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::app::App;
use crate::error::ApiError;
use crate::query::{pairs, param};
use crate::response::{ok, HttpResponse};
use crate::store;

pub async fn get(
    app: &App,
    query: Option<&str>,
    path_name: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let pairs = pairs(query);
    let name = param(&pairs, "name")
        .map(String::from)
        .or(path_name)
        .filter(|n| !n.is_empty());
    // The original: any non-empty value is true, "False" included.
    let embedded = param(&pairs, "embedded").is_some_and(|v| !v.is_empty());
    let lookup = name.clone();
    let groups = store::run(Arc::clone(&app.store), move |session| {
        let mut out = Vec::new();
        for group in session.hostgroups(lookup.as_deref())? {
            // Declared members first, then stored hosts naming the group; each once.
            let mut hosts: Vec<(String, String)> = Vec::new();
            for member in &group.members {
                let alias = session
                    .host(member)?
                    .and_then(|h| {
                        h.fields
                            .get("alias")
                            .and_then(Value::as_str)
                            .map(String::from)
                    })
                    .unwrap_or_else(|| member.clone());
                hosts.push((member.clone(), alias));
            }
            for host in session.hosts_in_group(&group.name)? {
                if !hosts.iter().any(|(n, _)| *n == host.name) {
                    let alias = host
                        .fields
                        .get("alias")
                        .and_then(Value::as_str)
                        .map_or_else(|| host.name.clone(), String::from);
                    hosts.push((host.name, alias));
                }
            }
            out.push((group, hosts));
        }
        Ok(out)
    })
    .await?;
    if groups.is_empty() {
        let shown = name.as_deref().unwrap_or("None");
        let body = json!({"_status": "ERR", "_result": [],
                          "_issues": [format!("Requested hostgroup '{shown}' does not exist")]});
        return Err(ApiError::UnknownElement {
            body: body.as_object().cloned().unwrap_or_default(),
        });
    }
    let items: Vec<Value> = groups
        .into_iter()
        .map(|(group, hosts)| {
            let mut doc: Map<String, Value> = group.document();
            doc.insert("notes".into(), json!(""));
            doc.insert("_level".into(), json!(1));
            doc.insert("hostgroups".into(), json!([]));
            let hosts: Vec<Value> = hosts
                .into_iter()
                .map(|(name, alias)| {
                    if embedded {
                        json!({"name": name, "alias": alias})
                    } else {
                        json!(name)
                    }
                })
                .collect();
            doc.insert("hosts".into(), Value::Array(hosts));
            let realm = if embedded {
                json!({"name": "All", "alias": "All"})
            } else {
                json!("All")
            };
            doc.insert("_realm".into(), realm);
            Value::Object(doc)
        })
        .collect();
    Ok(ok(&json!({"_status": "OK", "_result": items})))
}
