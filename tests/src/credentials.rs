//! The credentials of the authentication tests, in-process (`module/ws/src/api_tests/auth.rs`)
//! and end to end (`tests/tests/auth.rs`): users files, the three credential forms, and every
//! answer checked for a password hash.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::json;

use crate::{Client, Reply, Request, Setup};

pub const USERS_FILE: &str = "etc/users.htpasswd";
pub const ALICE: (&str, &str) = ("alice", "correct horse battery");
pub const BOB: (&str, &str) = ("bob", "staple 42 Tr0ub4dor");

/// An htpasswd file as `htpasswd -B` writes it (`$2y$`), cost 4 to keep the tests fast.
pub fn htpasswd(users: &[(&str, &str)]) -> String {
    users
        .iter()
        .map(|(user, password)| {
            let hash = bcrypt::hash_with_result(password, 4)
                .unwrap()
                .format_for_version(bcrypt::Version::TwoY);
            format!("{user}:{hash}\n")
        })
        .collect()
}

/// `authorization 1` with a users file of `users`.
pub fn users_setup(users: &[(&str, &str)]) -> Setup {
    Setup::new()
        .module_param("authorization", "1")
        .module_param("users_file", USERS_FILE)
        .file(USERS_FILE, &htpasswd(users))
}

pub fn from(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// Fails the test if an answer shows a password hash.
pub fn checked(reply: Reply) -> Reply {
    for marker in ["$2y$", "$2b$", "$2a$"] {
        assert!(
            !reply.body.contains(marker),
            "an answer shows a password hash: {}",
            reply.body
        );
    }
    reply
}

pub fn send(
    client: &impl Client,
    source: IpAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let request = Request::new(method, path, headers, body);
    checked(client.request_from(source, &request))
}

pub fn get(client: &impl Client, source: IpAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    send(client, source, "GET", path, headers, b"")
}

/// `GET /api` from `source` with `authorization` as its Authorization header.
pub fn get_api_with(client: &impl Client, source: IpAddr, authorization: &str) -> Reply {
    get(client, source, "/api", &[("Authorization", authorization)])
}

pub fn login_body(client: &impl Client, source: IpAddr, body: &str) -> Reply {
    send(
        client,
        source,
        "POST",
        "/login",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

/// Logs in with a JSON body; returns the token and the session cookie's value.
pub fn login(
    client: &impl Client,
    source: IpAddr,
    (user, password): (&str, &str),
) -> (String, String) {
    let body = json!({"username": user, "password": password}).to_string();
    let reply = login_body(client, source, &body);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let token = reply.json()["_result"][0].as_str().unwrap().to_string();
    let cookie = reply.cookie("alignak_ws").expect("a session cookie");
    (token, cookie)
}

pub fn cookie(id: &str) -> String {
    format!("alignak_ws={id}")
}

pub fn assert_401(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 401, "{what}: {}", reply.body);
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Basic realm=\"Alignak\""),
        "{what}"
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let json = reply.json();
    assert_eq!(json["_status"], "ERR", "{what}");
    assert!(json["_issues"][0].is_string(), "{what}");
}

/// Every protected endpoint, and what it answers once authenticated.
pub const PROTECTED: &[(&str, &str, u16)] = &[
    ("GET", "/", 200),
    ("GET", "/index", 200),
    ("GET", "/api", 200),
    ("GET", "/api_full", 200),
    ("GET", "/are_you_alive", 200),
    ("GET", "/ws/are_you_alive", 200),
    ("POST", "/command", 200),
    ("GET", "/host", 200),
    ("GET", "/host/h1", 404),
    ("PATCH", "/host/h1", 404),
    ("GET", "/hostgroup", 404),
    ("POST", "/event", 400),
    ("GET", "/alignak_logs", 200),
    ("GET", "/alignak_map", 200),
];

pub fn call(
    client: &impl Client,
    source: IpAddr,
    method: &str,
    path: &str,
    auth: Option<(&str, &str)>,
) -> Reply {
    let mut headers = vec![("Content-Type", "application/json")];
    headers.extend(auth);
    let body: &[u8] = if method == "GET" {
        b""
    } else {
        br#"{"command":"disable_notifications"}"#
    };
    send(client, source, method, path, &headers, body)
}
