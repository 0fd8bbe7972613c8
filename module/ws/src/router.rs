//! From a request to the endpoint that answers it: path (also under `/ws`), authorization,
//! method; then the handler, and the one conversion of its result into an HTTP answer.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use hyper::{Method, Request};

use crate::app::App;
use crate::auth::Caller;
use crate::body::Body;
use crate::error::{ApiError, ErrorKey};
use crate::handlers;
use crate::response::HttpResponse;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Index,
    Api,
    ApiFull,
    AreYouAlive,
    Health,
    Login,
    Logout,
    Command,
    Host(Option<String>),
    Hostgroup(Option<String>),
    Event,
    AlignakLogs,
    AlignakMap,
    Metrics,
    OpenApi,
    /// NRDP 2.0's endpoint (`nrdp 1`).
    Nrdp,
}

impl Endpoint {
    /// The endpoint for a path, with or without the `/ws` prefix of the Alignak 2 era module.
    pub fn from_path(path: &str) -> Option<Endpoint> {
        let path = match path.strip_prefix("/ws") {
            Some("") => "/",
            Some(rest) if rest.starts_with('/') => rest,
            _ => path,
        };
        let path = if path.len() > 1 {
            path.strip_suffix('/').unwrap_or(path)
        } else {
            path
        };
        let mut segments = path.trim_start_matches('/').splitn(2, '/');
        let first = segments.next().unwrap_or_default();
        let rest = segments.next();
        let endpoint = match (first, rest) {
            ("" | "index", None) => Endpoint::Index,
            ("api", None) => Endpoint::Api,
            ("api_full", None) => Endpoint::ApiFull,
            ("are_you_alive", None) => Endpoint::AreYouAlive,
            ("health", None) => Endpoint::Health,
            ("login", None) => Endpoint::Login,
            ("logout", None) => Endpoint::Logout,
            ("command", None) => Endpoint::Command,
            ("event", None) => Endpoint::Event,
            ("alignak_logs", None) => Endpoint::AlignakLogs,
            ("alignak_map", None) => Endpoint::AlignakMap,
            ("metrics", None) => Endpoint::Metrics,
            ("openapi.json", None) => Endpoint::OpenApi,
            ("nrdp", None) => Endpoint::Nrdp,
            ("host", name) => Endpoint::Host(single_segment(name)?),
            ("hostgroup", name) => Endpoint::Hostgroup(single_segment(name)?),
            _ => return None,
        };
        Some(endpoint)
    }

    /// `/login` and `/logout` are open, `/metrics` with `metrics_public 1`; everything else
    /// needs credentials when `authorization` is on.
    fn needs_credentials(&self, metrics_public: bool) -> bool {
        match self {
            // The API's description is no secret: clients and tools read it before they log in.
            // NRDP clients prove themselves with their NRDP token alone.
            Endpoint::Login | Endpoint::Logout | Endpoint::OpenApi | Endpoint::Nrdp => false,
            Endpoint::Metrics => !metrics_public,
            _ => true,
        }
    }

    /// The endpoint's name in the metrics: a fixed list, whatever the path was.
    pub fn label(&self) -> &'static str {
        match self {
            Endpoint::Index => "index",
            Endpoint::Api => "api",
            Endpoint::ApiFull => "api_full",
            Endpoint::AreYouAlive => "are_you_alive",
            Endpoint::Login => "login",
            Endpoint::Logout => "logout",
            Endpoint::Command => "command",
            Endpoint::Host(_) => "host",
            Endpoint::Hostgroup(_) => "hostgroup",
            Endpoint::Event => "event",
            Endpoint::AlignakLogs => "alignak_logs",
            Endpoint::AlignakMap => "alignak_map",
            Endpoint::Metrics => "metrics",
            Endpoint::OpenApi => "openapi",
            Endpoint::Health => "health",
            Endpoint::Nrdp => "nrdp",
        }
    }
}

/// `None` -> no name; one segment -> that name; more segments -> not a route (the original
/// answered 404 for `/host/a/b`).
fn single_segment(rest: Option<&str>) -> Option<Option<String>> {
    match rest {
        None => Some(None),
        Some(name) if name.contains('/') => None,
        Some(name) => Some(Some(name.to_string())),
    }
}

const GET_ONLY: &str = "GET, HEAD";

fn get_only(method: &Method) -> Result<(), ApiError> {
    if method == Method::GET || method == Method::HEAD {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed {
            message: "You must only GET on this endpoint.".into(),
            allow: GET_ONLY,
            key: ErrorKey::Error,
        })
    }
}

/// A name from the path, percent-decoded (`/host/web%2001`).
fn decoded(name: Option<String>) -> Result<Option<String>, ApiError> {
    match name {
        None => Ok(None),
        Some(raw) => crate::query::percent_decode(&raw, false)
            .map(Some)
            .ok_or_else(|| ApiError::invalid_legacy("The name in the path is not valid UTF-8.")),
    }
}

/// Answers one request; `peer` is the client's address (failed authentications are counted
/// per address).
pub async fn handle(app: Arc<App>, request: Request<Body>, peer: SocketAddr) -> HttpResponse {
    let started = Instant::now();
    let legacy = app.config.legacy_status_codes;
    let endpoint = Endpoint::from_path(request.uri().path());
    let label = endpoint.as_ref().map_or("unknown", Endpoint::label);
    let method = crate::metrics::method_label(request.method());
    let mut seen = Seen::default();
    let mut response = match route(&app, request, endpoint, peer.ip(), &mut seen).await {
        Ok(response) => response,
        Err(err) => {
            if let Some(refusal) = err.refusal().filter(|_| app.config.metrics) {
                app.metrics.refused(refusal);
            }
            err.into_response(legacy)
        }
    };
    if app.config.metrics {
        app.metrics
            .observe(label, method, response.status().as_u16(), started.elapsed());
    }
    // A session sealed again (its idle time restarted) goes back to the client; a /logout
    // answer clears it instead.
    if let Some(cookie) = seen.renewed_session {
        if !response.headers().contains_key(hyper::header::SET_COOKIE) {
            if let Ok(value) = hyper::header::HeaderValue::from_str(&cookie) {
                response
                    .headers_mut()
                    .append(hyper::header::SET_COOKIE, value);
            }
        }
    }
    // For the access log: who the credentials proved, never the credentials.
    response
        .extensions_mut()
        .insert(crate::access_log::AccessUser(seen.user));
    response
}

/// What authentication saw of a request, for its answer and the access log.
#[derive(Default)]
struct Seen {
    user: Option<String>,
    /// The `Set-Cookie` value of the session sealed again.
    renewed_session: Option<String>,
}

async fn route(
    app: &App,
    request: Request<Body>,
    endpoint: Option<Endpoint>,
    peer: IpAddr,
    seen: &mut Seen,
) -> Result<HttpResponse, ApiError> {
    let endpoint =
        endpoint.ok_or_else(|| ApiError::UnknownPath(request.uri().path().to_string()))?;
    let open_health = endpoint == Endpoint::Health && app.config.health_public;
    let needs_credentials = endpoint.needs_credentials(app.config.metrics_public) && !open_health;
    let caller = match app.auth.as_ref().filter(|_| needs_credentials) {
        Some(auth) => {
            let (caller, renewed) = auth.authenticate(request.headers(), peer).await?;
            seen.renewed_session = renewed;
            caller
        }
        None => Caller::default(),
    };
    seen.user.clone_from(&caller.user);
    let method = request.method().clone();
    if endpoint == Endpoint::Nrdp {
        let gate = app
            .nrdp
            .as_ref()
            .ok_or_else(|| ApiError::UnknownPath(request.uri().path().to_string()))?;
        if method != Method::GET && method != Method::HEAD && method != Method::POST {
            return Err(ApiError::MethodNotAllowed {
                message: "You must only GET or POST on this endpoint.".into(),
                allow: "GET, HEAD, POST",
                key: ErrorKey::Error,
            });
        }
        return Ok(handlers::nrdp::handle(app, gate, request, peer).await);
    }
    match endpoint {
        Endpoint::Index | Endpoint::Api => {
            get_only(&method)?;
            Ok(handlers::index::endpoint_names())
        }
        Endpoint::ApiFull => {
            get_only(&method)?;
            Ok(handlers::index::api_full())
        }
        Endpoint::AreYouAlive => {
            get_only(&method)?;
            Ok(handlers::index::are_you_alive())
        }
        Endpoint::Health => {
            get_only(&method)?;
            Ok(handlers::health::get(&app.delivery_status(), &app.config))
        }
        Endpoint::Command => {
            if method != Method::POST {
                return Err(ApiError::MethodNotAllowed {
                    message: "You must only POST on this endpoint.".into(),
                    allow: "POST",
                    key: ErrorKey::Error,
                });
            }
            handlers::command::post(app, request).await
        }
        Endpoint::Logout => {
            // The original took any method; the document names GET and POST, and a method
            // nobody logs out with (TRACE, DELETE, ...) is a 405 like on every endpoint.
            if method != Method::GET && method != Method::HEAD && method != Method::POST {
                return Err(ApiError::MethodNotAllowed {
                    message: "You must only GET or POST on this endpoint.".into(),
                    allow: "GET, HEAD, POST",
                    key: ErrorKey::Error,
                });
            }
            handlers::login::logout(app, &request).await
        }
        Endpoint::Login => handlers::login::login(app, request, peer).await,
        Endpoint::Host(name) => {
            let name = decoded(name)?;
            if method == Method::PATCH || method == Method::POST {
                handlers::host::update(app, caller, request, name).await
            } else if method == Method::GET || method == Method::HEAD {
                handlers::host::get(app, caller, request.uri().query(), name).await
            } else {
                Err(ApiError::MethodNotAllowed {
                    message: "You must only GET, PATCH or POST on this endpoint.".into(),
                    allow: "GET, HEAD, PATCH, POST",
                    key: ErrorKey::Error,
                })
            }
        }
        Endpoint::Hostgroup(name) => {
            get_only(&method)?;
            let name = decoded(name)?;
            handlers::hostgroup::get(app, caller, request.uri().query(), name).await
        }
        Endpoint::Event => {
            if method != Method::POST {
                return Err(ApiError::MethodNotAllowed {
                    message: "You must only POST on this endpoint.".into(),
                    allow: "POST",
                    key: ErrorKey::Issues,
                });
            }
            handlers::event::post(app, caller, request).await
        }
        Endpoint::AlignakLogs => {
            get_only(&method)?;
            handlers::logs::get(app, caller, request.uri().query()).await
        }
        Endpoint::AlignakMap => {
            get_only(&method)?;
            Ok(crate::response::ok(&app.daemons_map()))
        }
        Endpoint::Metrics => {
            if !app.config.metrics {
                return Err(ApiError::UnknownPath(request.uri().path().to_string()));
            }
            get_only(&method)?;
            Ok(crate::response::text(
                crate::metrics::CONTENT_TYPE,
                app.metrics.encode(),
            ))
        }
        Endpoint::OpenApi => {
            get_only(&method)?;
            Ok(crate::response::text(
                "application/json",
                crate::handlers::index::openapi(app.nrdp.is_some()),
            ))
        }
        // Answered above, before the match.
        Endpoint::Nrdp => Err(ApiError::UnknownPath(request.uri().path().to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_route_with_and_without_the_ws_prefix() {
        for (path, expected) in [
            ("/", Some(Endpoint::Index)),
            ("/index", Some(Endpoint::Index)),
            ("/ws", Some(Endpoint::Index)),
            ("/ws/", Some(Endpoint::Index)),
            ("/ws/command", Some(Endpoint::Command)),
            ("/health", Some(Endpoint::Health)),
            ("/ws/health", Some(Endpoint::Health)),
            ("/command/", Some(Endpoint::Command)),
            ("/host", Some(Endpoint::Host(None))),
            ("/metrics", Some(Endpoint::Metrics)),
            ("/ws/metrics", Some(Endpoint::Metrics)),
            ("/openapi.json", Some(Endpoint::OpenApi)),
            ("/ws/host/h1", Some(Endpoint::Host(Some("h1".into())))),
            (
                "/hostgroup/all",
                Some(Endpoint::Hostgroup(Some("all".into()))),
            ),
            ("/host/a/b", None),
            ("/commands", None),
            ("/wsx/command", None),
            ("/command/x", None),
            ("/nrdp", Some(Endpoint::Nrdp)),
            ("/nrdp/", Some(Endpoint::Nrdp)),
            ("/ws/nrdp/", Some(Endpoint::Nrdp)),
            ("/nrdp/x", None),
        ] {
            assert_eq!(Endpoint::from_path(path), expected, "{path}");
        }
    }
}
