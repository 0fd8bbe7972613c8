//! HTTP conventions in-process: the read-only endpoints, the `/ws` prefix, JSON for every
//! answer (404, 405, 401, 501 included), and authorization.

use crate::in_process::{basic, Client, InProcess, Setup};
use serde_json::json;

const ENDPOINTS: [&str; 12] = [
    "alignak_logs",
    "alignak_map",
    "api",
    "api_full",
    "are_you_alive",
    "command",
    "event",
    "host",
    "hostgroup",
    "index",
    "login",
    "logout",
];

#[test]
fn read_only_endpoints_answer_like_the_original() {
    let app = Setup::new().in_process();
    for prefix in ["", "/ws"] {
        for path in ["/", "/index", "/api"] {
            let path = format!("{prefix}{path}");
            let reply = app.get(&path);
            assert_eq!(reply.status, 200, "{path}");
            assert_eq!(reply.header("content-type"), Some("application/json"));
            assert_eq!(reply.json(), json!(ENDPOINTS), "{path}");
        }
        let reply = app.get(&format!("{prefix}/are_you_alive"));
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json(), json!("Yes I am :)"));

        let full = app.get(&format!("{prefix}/api_full")).json();
        for name in ENDPOINTS {
            assert!(full[name]["doc"].is_string(), "{name}");
            assert!(full[name]["args"].is_object(), "{name}");
        }
        assert_eq!(full["host"]["args"], json!({"name": null}));
        assert_eq!(
            full["hostgroup"]["args"],
            json!({"name": null, "embedded": false})
        );
        assert_eq!(
            full["alignak_logs"]["args"],
            json!({"start": 0, "count": 25, "search": ""})
        );
        assert!(full["side_note"].is_string());
    }
    // The bare /ws is the index too.
    assert_eq!(app.get("/ws").json(), json!(ENDPOINTS));
    // HEAD works where GET does (without a body on the wire: `tests/tests/http.rs`).
    assert_eq!(app.request("HEAD", "/are_you_alive", &[], b"").status, 200);
}

#[test]
fn read_only_endpoints_refuse_other_methods_with_json() {
    let app = Setup::new().in_process();
    for path in ["/", "/api", "/api_full", "/are_you_alive", "/ws/api"] {
        let reply = app.request("POST", path, &[("Content-Type", "application/json")], b"{}");
        assert_eq!(reply.status, 405, "{path}");
        assert_eq!(reply.header("allow"), Some("GET, HEAD"));
        let message = "You must only GET on this endpoint.";
        assert_eq!(
            reply.json(),
            json!({"_status": "ERR", "_error": message, "_issues": [message]})
        );
    }
}

#[test]
fn unknown_paths_are_json_404s() {
    let app = Setup::new().in_process();
    for path in [
        "/nope",
        "/ws/nope",
        "/host/a/b",
        "/commands",
        "/command/x",
        "/wsx/api",
        "/%FF",
    ] {
        let reply = app.get(path);
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.header("content-type"), Some("application/json"));
        let json = reply.json();
        assert_eq!(json["_status"], "ERR");
        assert_eq!(json["_issues"].as_array().map(Vec::len), Some(1), "{path}");
    }
}

#[test]
fn with_authorization_on_everything_but_login_and_logout_is_401_json() {
    // authorization defaults to on; no users_file: the first start makes one, with a random
    // admin password, so admin:admin is refused.
    let app = Setup::new().module_param("authorization", "1").in_process();
    let protected = [
        ("GET", "/"),
        ("GET", "/api"),
        ("GET", "/api_full"),
        ("GET", "/are_you_alive"),
        ("GET", "/ws/are_you_alive"),
        ("POST", "/command"),
        ("GET", "/host/h1"),
        ("PATCH", "/host/h1"),
        ("GET", "/hostgroup"),
        ("POST", "/event"),
        ("GET", "/alignak_logs"),
        ("GET", "/alignak_map"),
    ];
    let admin_admin = basic("admin", "admin");
    for (index, (method, path)) in protected.into_iter().enumerate() {
        // Without credentials everywhere; with wrong ones a few times (more would be a burst
        // of failures, answered 429).
        let mut headers = vec![("Content-Type", "application/json")];
        if index < 3 {
            headers.push(("Authorization", admin_admin.as_str()));
        }
        let reply = app.request(
            method,
            path,
            &headers,
            br#"{"command":"disable_notifications"}"#,
        );
        assert_eq!(reply.status, 401, "{method} {path}");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Basic realm=\"Alignak\"")
        );
        reply.assert_err_issue_starts_with("Authentication required");
    }
    // /logout is open.
    let reply = app.get("/logout");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({"_status": "OK", "_result": "Logged out"})
    );
    // /login is open, and refuses wrong credentials with the original's message.
    let reply = app.post_json("/login", r#"{"username":"admin","password":"admin"}"#);
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.json(),
        json!({"_status": "ERR", "_issues": ["Access denied."]})
    );
    assert!(app.commands().is_empty(), "nothing reached the core");
}
