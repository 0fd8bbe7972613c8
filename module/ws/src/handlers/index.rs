//! `/`, `/index`, `/api`, `/api_full`, `/are_you_alive`.

use serde_json::{json, Map, Value};

use crate::response::{ok, HttpResponse};

/// `GET /openapi.json`: the OpenAPI 3.1 description of the API, kept true by the end-to-end
/// suite (every JSON answer it receives is validated against it).
pub const OPENAPI: &str = include_str!("../openapi.json");

/// The document this daemon serves: without `/nrdp` when `nrdp` is off (it is then no route,
/// and a document naming it would not be true of this daemon).
pub fn openapi(nrdp: bool) -> String {
    static WITHOUT_NRDP: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if nrdp {
        return OPENAPI.to_string();
    }
    WITHOUT_NRDP
        .get_or_init(|| match serde_json::from_str::<Value>(OPENAPI) {
            Ok(mut document) => {
                if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
                    paths.remove("/nrdp");
                }
                document.to_string()
            }
            Err(_) => OPENAPI.to_string(),
        })
        .clone()
}

/// An endpoint's name, its documentation, and its parameters with their defaults.
type EndpointDoc = (&'static str, &'static str, fn() -> Value);

/// The interface's public endpoints, sorted, as the original (0.6.0+) listed them.
pub const ENDPOINTS: &[EndpointDoc] = &[
    (
        "alignak_logs",
        "Get the history of the monitored elements, newest first; search with `search`.",
        || json!({"start": 0, "count": 25, "search": ""}),
    ),
    (
        "alignak_map",
        "Get the map of the Alignak daemons, as polled from the arbiter.",
        || json!({}),
    ),
    ("api", "List the API endpoints.", || json!({})),
    (
        "api_full",
        "List the API endpoints with their documentation and parameters.",
        || json!({}),
    ),
    ("are_you_alive", "Is the web services module alive?", || {
        json!({})
    }),
    (
        "command",
        "POST an external command: command, timestamp, element or host/service/user, parameters.",
        || json!({}),
    ),
    (
        "event",
        "POST an event (a comment) for a host or a service.",
        || json!({}),
    ),
    (
        "host",
        "GET a host, or PATCH/POST its live state, services, variables and check toggles.",
        || json!({"name": null}),
    ),
    (
        "hostgroup",
        "GET a host group, or all of them.",
        || json!({"name": null, "embedded": false}),
    ),
    ("index", "List the API endpoints.", || json!({})),
    (
        "login",
        "POST username and password; get a token and a session.",
        || json!({}),
    ),
    ("logout", "End the session.", || json!({})),
];

pub fn endpoint_names() -> HttpResponse {
    let names: Vec<&str> = ENDPOINTS.iter().map(|(name, _, _)| *name).collect();
    ok(&json!(names))
}

pub fn api_full() -> HttpResponse {
    let mut map = Map::new();
    for (name, doc, args) in ENDPOINTS {
        map.insert((*name).into(), json!({"doc": doc, "args": args()}));
    }
    map.insert(
        "side_note".into(),
        json!("When posting data you have to serialize value. Example : POST /set_log_level {'loglevel' : serialize('INFO')}"),
    );
    ok(&Value::Object(map))
}

pub fn are_you_alive() -> HttpResponse {
    ok(&json!("Yes I am :)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_sorted_like_the_originals_list() {
        let names: Vec<&str> = ENDPOINTS.iter().map(|(n, _, _)| *n).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        assert_eq!(names.len(), 12);
    }
}
