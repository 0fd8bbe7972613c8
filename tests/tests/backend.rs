// Over 400 lines, earned: every endpoint against the real Alignak backend, side by side with what the original did there.
//! The module on a real Alignak backend (1.4.16 from PyPI, on mongomock: `tests/backend/`):
//! logins and tokens checked by the backend, creation with templates and realms, hostgroups,
//! comments, the history search, log check results, and a backend that stops or hangs. Each
//! test checks our answers, the backend's own documents (read from the backend directly) and
//! the command file. The /host cases shared with the embedded store are in `hosts.rs`.

use std::time::{Duration, Instant};

use alignak_e2e::backend::Backend;
use alignak_e2e::{basic, field_of_each, wait_for, Client, Receiver, Setup};
use serde_json::{json, Value};

fn send(receiver: &Receiver, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let reply = receiver.send_json(method, path, &body.to_string());
    assert_eq!(
        reply.header("content-type"),
        Some("application/json"),
        "{}",
        reply.body
    );
    (reply.status, reply.json())
}

/// Asserts that `doc` holds each of `fields` with its value (its other fields are free).
fn assert_has_fields(doc: &Value, fields: Value) {
    for (key, value) in fields.as_object().expect("fields as a JSON object") {
        assert_eq!(&doc[key], value, "{key} of {doc}");
    }
}

/// PATCHes `path` with `body`, asserts a 200, and returns the answer.
fn patch_ok(receiver: &Receiver, path: &str, body: &Value) -> Value {
    let (status, answer) = send(receiver, "PATCH", path, body);
    assert_eq!(status, 200, "{answer}");
    answer
}

fn get(receiver: &Receiver, path: &str) -> (u16, Value) {
    let reply = receiver.get(path);
    (reply.status, reply.json())
}

/// The commands sent since the last call: a sentinel command is posted and waited for, so
/// that "nothing more" is sure.
fn commands_after_sentinel(receiver: &Receiver) -> Vec<String> {
    let (status, _) = send(
        receiver,
        "POST",
        "/command",
        &json!({"command": "DISABLE_NOTIFICATIONS"}),
    );
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines = receiver.commands_without_timestamps();
        if lines.last().map(String::as_str) == Some("DISABLE_NOTIFICATIONS") {
            let before = &lines[..lines.len() - 1];
            // Only what came since the previous sentinel.
            let start = before
                .iter()
                .rposition(|l| l == "DISABLE_NOTIFICATIONS")
                .map_or(0, |i| i + 1);
            return before[start..].to_vec();
        }
        assert!(Instant::now() < deadline, "no sentinel in {lines:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Host and service creation on; answers with results, without feedback, and commands
/// without `[now]`, so that answers and command lines compare whole.
fn creating_with_plain_answers(setup: Setup) -> Setup {
    setup
        .module_param("allow_host_creation", "1")
        .module_param("allow_service_creation", "1")
        .module_param("give_result", "1")
        .module_param("give_feedback", "0")
        .module_param("set_timestamp", "0")
}

fn start(backend: &Backend, setup: impl FnOnce(Setup) -> Setup) -> Receiver {
    setup(backend.setup()).start()
}

#[test]
fn logins_and_tokens_are_checked_by_the_backend() {
    let Some(backend) = Backend::start() else {
        return;
    };
    backend.add_user("bob", "bob-secret");
    // No default credentials: each request says who it is.
    let receiver = backend.module().start();
    let no_auth = [("Content-Type", "application/json")];

    // /login with the backend's users answers the backend's own token.
    for (user, password) in [("admin", "admin"), ("bob", "bob-secret")] {
        // A new user's first login makes its token: asked here first, it is then the one
        // every login answers.
        let token = backend.login(user, password).expect("backend login");
        let reply = receiver.request(
            "POST",
            "/login",
            &no_auth,
            json!({"username": user, "password": password})
                .to_string()
                .as_bytes(),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.json(), json!({"_status": "OK", "_result": [token]}));
        // The session cookie works...
        let cookie = reply.cookie("alignak_ws").expect("a session cookie");
        let with_cookie = receiver.request(
            "GET",
            "/are_you_alive",
            &[("Cookie", &format!("alignak_ws={cookie}"))],
            b"",
        );
        assert_eq!(with_cookie.status, 200, "{}", with_cookie.body);
        // ...and so does the token, as Basic `token:`.
        let auth = basic(&token, "");
        let with_token = receiver.request("GET", "/host/_dummy", &[("Authorization", &auth)], b"");
        assert_eq!(with_token.status, 200, "{}", with_token.body);
    }

    // A wrong password, an unknown user, a made-up token: refused.
    let reply = receiver.request(
        "POST",
        "/login",
        &no_auth,
        br#"{"username": "admin", "password": "wrong"}"#,
    );
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"_status": "ERR", "_issues": ["Access denied."]})
    );
    for auth in [
        basic("admin", "wrong"),
        basic("nobody", "x"),
        basic("1795581572149-0a4b618a-27b3-4a48-b328-a6b870cc8da8", ""),
    ] {
        let reply = receiver.request("GET", "/are_you_alive", &[("Authorization", &auth)], b"");
        assert_eq!(reply.status, 401, "{auth}: {}", reply.body);
        assert_eq!(reply.json()["_status"], "ERR");
    }
    // Basic user:password works for every endpoint.
    let reply = receiver.get_with_basic("/host/_dummy", "bob", "bob-secret");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(!receiver.log().contains("bob-secret"));
}

#[test]
fn get_host_is_the_backends_document_with_links_and_no_secrets() {
    let Some(backend) = Backend::start() else {
        return;
    };
    let admin = backend.id_of("user", "admin");
    let host = backend.add_host("web01", &["http"]);
    backend.patch(
        "host",
        &host,
        json!({"users": [admin], "alias": "Web 01", "customs": {"_OS": "linux"}}),
    );
    let receiver = start(&backend, |s| s);
    let (status, body) = get(&receiver, "/host/web01");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["_status"], "OK");
    let doc = &body["_result"][0];
    assert_eq!(doc["_id"], host.as_str());
    assert_eq!(doc["alias"], "Web 01");
    assert_eq!(doc["customs"], json!({"_OS": "linux"}));
    // Links are embedded documents.
    assert_eq!(doc["_realm"]["name"], "All", "{doc}");
    assert_eq!(doc["check_command"]["name"], "_internal_host_up", "{doc}");
    assert_eq!(doc["users"][0]["name"], "admin", "{doc}");
    // The backend's user documents hold a password hash and a token: never shown.
    let text = body.to_string();
    assert!(!text.contains("\"password\""), "{text}");
    assert!(!text.contains("\"token\""), "{text}");
    assert!(!text.contains(backend.admin_token()), "{text}");

    let (status, body) = get(&receiver, "/host/nowhere");
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"_status": "ERR", "_result": [], "_issues": ["Requested host 'nowhere' does not exist"]})
    );
}

#[test]
fn creation_resolves_templates_realms_and_links_and_sends_no_commands() {
    let Some(backend) = Backend::start() else {
        return;
    };
    let north = backend.add_realm("NORTH");
    let template = backend.add_host_template(
        "web-template",
        json!({"customs": {"_FROM_TEMPLATE": "yes"}, "max_check_attempts": 7}),
    );
    let echo = backend.id_of("command", "_echo");
    let period = backend.id_of("timeperiod", "24x7");
    let receiver = start(&backend, |s| {
        creating_with_plain_answers(s).module_param("realm_case", "upper")
    });
    let body = patch_ok(
        &receiver,
        "/host/web02",
        &json!({
            "template": {"_templates": ["web-template"], "_realm": "north", "alias": "Web 02",
                          "check_command": "_echo", "check_period": "24x7",
                          "notification_period": "no such period"},
            "livestate": {"state": "DOWN", "output": "created down"},
            "services": [{"name": "http", "livestate": {"state": "CRITICAL", "output": "no answer"}}],
        }),
    );
    assert_eq!(
        body["_result"],
        json!([
            "web02 is alive :)",
            "Requested host 'web02' does not exist.",
            "Requested host 'web02' created.",
            "Livestate of web02 kept in the backend, not sent: Alignak does not know the host yet.",
            "Requested service 'web02/http' does not exist.",
            "Requested service 'web02/http' created.",
            "Livestate of web02/http kept in the backend, not sent: Alignak does not know the host yet.",
            "Service 'web02/http' updated",
            "Host 'web02' updated.",
        ])
    );
    // Alignak does not know a host created by the request: no command at all.
    assert_eq!(commands_after_sentinel(&receiver), Vec::<String>::new());

    let host = backend
        .find("host", "web02")
        .expect("created in the backend");
    assert_eq!(host["_templates"], json!([template]));
    assert_eq!(
        host["_realm"],
        north.as_str(),
        "realm_case upper: north -> NORTH"
    );
    assert_eq!(host["check_command"], echo.as_str());
    assert_eq!(host["check_period"], period.as_str());
    assert_eq!(host["alias"], "Web 02");
    // Inherited from the template by the backend.
    assert_eq!(host["max_check_attempts"], 7);
    assert_eq!(host["customs"]["_FROM_TEMPLATE"], "yes");
    // Its livestate went to ls_* instead of a command.
    assert_eq!(host["ls_state"], "DOWN");
    assert_eq!(host["ls_output"], "created down");
    let services = backend.services_of(host["_id"].as_str().expect("_id"));
    assert_eq!(services.len(), 1);
    assert_eq!(services[0]["name"], "http");
    assert_eq!(services[0]["ls_state"], "CRITICAL");

    // Known now: the next livestate is a command.
    patch_ok(
        &receiver,
        "/host/web02",
        &json!({"livestate": {"state": "UP", "output": "back"}}),
    );
    assert_eq!(
        commands_after_sentinel(&receiver),
        ["PROCESS_HOST_CHECK_RESULT;web02;0;back"]
    );

    // A creation the backend refuses (a template that is no template is just left out, but
    // an invalid field value is refused by its validation).
    let (status, body) = send(
        &receiver,
        "PATCH",
        "/host/web03",
        &json!({"template": {"max_check_attempts": "not a number"}}),
    );
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["_issues"],
        json!(["Requested host 'web03' creation failed."])
    );
    assert!(backend.find("host", "web03").is_none());
}

#[test]
fn variables_toggles_and_livestates_reach_the_backend() {
    let Some(backend) = Backend::start() else {
        return;
    };
    let host = backend.add_host("db01", &["mysql", "disk"]);
    let receiver = start(&backend, |s| {
        s.module_param("give_result", "1")
            .module_param("give_feedback", "2")
            .module_param("feedback_host", "customs,ls_state")
            .module_param("feedback_service", "active_checks_enabled")
    });
    let body = patch_ok(
        &receiver,
        "/host/db01",
        &json!({
            "variables": {"role": "primary", "Packages": ["mysql", "ssh"]},
            "livestate": {"state": "UP", "output": "fine", "perf_data": "load=1"},
            "services": [
                {"name": "mysql", "active_checks_enabled": false, "variables": {"port": 3306},
                 "livestate": {"state": "WARNING", "output": "slow"}},
                {"name": "disk", "passive_checks_enabled": false},
                {"name": "nope", "livestate": {"state": "OK"}},
            ],
        }),
    );
    let sent = commands_after_sentinel(&receiver);
    assert_eq!(
        sent,
        [
            "PROCESS_HOST_CHECK_RESULT;db01;0;fine|load=1",
            "DISABLE_SVC_CHECK;db01;mysql",
            "PROCESS_SERVICE_CHECK_RESULT;db01;mysql;1;slow",
            "DISABLE_PASSIVE_SVC_CHECKS;db01;disk",
        ]
    );
    assert!(body["_result"]
        .as_array()
        .expect("_result")
        .contains(&json!(
        "Requested service 'db01/nope' does not exist. Note that service creation is not allowed."
    )));
    // Feedback read back from the backend after the update.
    assert_eq!(
        body["_feedback"]["customs"],
        json!({"_ROLE": "primary", "_PACKAGES": ["mysql", "ssh"]})
    );
    assert_eq!(
        body["_feedback"]["services"],
        json!([{"name": "mysql", "active_checks_enabled": false},
               {"name": "disk", "active_checks_enabled": true}])
    );

    let doc = backend.get(&format!("host/{host}"), &[]);
    assert_eq!(
        doc["customs"],
        json!({"_ROLE": "primary", "_PACKAGES": ["mysql", "ssh"]})
    );
    let services = backend.services_of(&host);
    let mysql = services
        .iter()
        .find(|s| s["name"] == "mysql")
        .expect("mysql");
    let disk = services.iter().find(|s| s["name"] == "disk").expect("disk");
    assert_eq!(mysql["active_checks_enabled"], false);
    assert_eq!(mysql["customs"], json!({"_PORT": 3306}));
    assert_eq!(disk["passive_checks_enabled"], false);
    // alignak_backend_livestate_update is off: ls_* are the backend's own, not ours.
    assert_ne!(doc["ls_output"], "fine");

    // With alignak_backend_livestate_update 1, ls_* follow every livestate.
    drop(receiver);
    let receiver = start(&backend, |s| {
        s.module_param("alignak_backend_livestate_update", "1")
            .module_param("give_result", "1")
    });
    let body = patch_ok(
        &receiver,
        "/host/db01",
        &json!({"livestate": {"state": "DOWN", "output": "gone", "long_output": "l", "perf_data": "p=1"}}),
    );
    // As the original: with livestate_update, a livestate is an update of the host.
    assert_eq!(
        body["_result"].as_array().and_then(|r| r.last()),
        Some(&json!("Host 'db01' updated.")),
        "{body}"
    );
    let doc = backend.get(&format!("host/{host}"), &[]);
    assert_eq!(doc["ls_state"], "DOWN");
    assert_eq!(doc["ls_state_id"], 1);
    assert_eq!(doc["ls_output"], "gone");
    assert_eq!(doc["ls_long_output"], "l");
    assert_eq!(doc["ls_perf_data"], "p=1");
}

#[test]
fn timestamped_livestates_become_log_check_results() {
    let Some(backend) = Backend::start() else {
        return;
    };
    let host = backend.add_host("lcr01", &["svc"]);
    let receiver = start(&backend, |s| s.module_param("give_result", "1"));
    // A timestamped livestate (host and service) and variables in one request: posting the
    // log check result changes the host in the backend (its _etag), so the PATCH of the
    // variables meets a 412 and is made again with the new _etag.
    patch_ok(
        &receiver,
        "/host/lcr01",
        &json!({"livestate": {"state": "DOWN", "output": "past", "timestamp": 1700000000},
                "variables": {"after": "lcr"},
                "services": [{"name": "svc", "livestate": {"state": "CRITICAL", "output": "svc past", "timestamp": 1700000001}}]}),
    );
    let lcrs = backend.logcheckresults_of(&host);
    let host_lcr = lcrs
        .iter()
        .find(|l| l["service"].is_null())
        .unwrap_or_else(|| panic!("a host LCR in {lcrs:?}"));
    assert_eq!(host_lcr["last_check"], 1700000000);
    assert_eq!(host_lcr["state"], "DOWN");
    assert_eq!(host_lcr["state_id"], 1);
    assert_eq!(host_lcr["output"], "past");
    let svc_lcr = lcrs
        .iter()
        .find(|l| !l["service"].is_null())
        .unwrap_or_else(|| panic!("a service LCR in {lcrs:?}"));
    assert_eq!(svc_lcr["last_check"], 1700000001);
    assert_eq!(svc_lcr["state"], "CRITICAL");
    assert_eq!(lcrs.len(), 2, "{lcrs:?}");
    let doc = backend.get(&format!("host/{host}"), &[]);
    assert_eq!(doc["customs"], json!({"_AFTER": "lcr"}));
    assert!(
        receiver.log().contains("changed meanwhile (412)"),
        "the PATCH after the LCR met a 412 and was retried"
    );
    // The commands keep their own timestamps (delivery follows the answer: wait for both).
    let lines = receiver.wait_commands(2);
    assert!(
        lines.contains(&"[1700000000] PROCESS_HOST_CHECK_RESULT;lcr01;1;past".to_string()),
        "{lines:?}"
    );

    // Without a timestamp: no log check result.
    patch_ok(
        &receiver,
        "/host/lcr01",
        &json!({"livestate": {"state": "UP", "output": "now"}}),
    );
    assert_eq!(backend.logcheckresults_of(&host).len(), 2);

    // The history shows them, with the log check result embedded and trimmed.
    let (status, body) = get(
        &receiver,
        "/alignak_logs?search=type:check.result%20host_name:lcr01",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["_meta"]["total"], 2, "{body}");
    let item = &body["items"][0];
    assert_eq!(item["type"], "check.result");
    assert_eq!(item["host_name"], "lcr01");
    let lcr = &item["logcheckresult"];
    assert!(lcr["state"].is_string(), "{item}");
    for hidden in ["_id", "_etag", "_links", "host", "host_name", "_realm"] {
        assert!(lcr.get(hidden).is_none(), "{hidden} in {lcr}");
    }
}

#[test]
fn hostgroups_comments_and_the_history_search() {
    let Some(backend) = Backend::start() else {
        return;
    };
    let web = backend.add_host("web", &[]);
    let db = backend.add_host("db", &[]);
    backend.patch("host", &web, json!({"alias": "Web server"}));
    let all_group = backend.id_of("hostgroup", "All");
    let realm = backend.realm_all();
    backend.post(
        "hostgroup",
        json!({"name": "servers", "alias": "All servers", "hosts": [web, db], "_parent": all_group, "_realm": realm}),
    );
    let receiver = start(&backend, |s| s);

    let (status, body) = get(&receiver, "/hostgroup/servers");
    assert_eq!(status, 200, "{body}");
    let group = &body["_result"][0];
    assert_eq!(group["name"], "servers");
    assert_eq!(group["alias"], "All servers");
    let mut hosts: Vec<&str> = group["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    hosts.sort_unstable();
    let mut expected = [web.as_str(), db.as_str()];
    expected.sort_unstable();
    assert_eq!(hosts, expected);
    assert!(group.get("_etag").is_none() && group.get("_links").is_none());

    let (status, body) = get(&receiver, "/hostgroup?name=servers&embedded=1");
    assert_eq!(status, 200, "{body}");
    let group = &body["_result"][0];
    let hosts = group["hosts"].as_array().expect("hosts");
    assert_eq!(hosts.len(), 2, "{group}");
    let web_doc = hosts.iter().find(|h| h["name"] == "web").expect("web");
    assert_eq!(web_doc, &json!({"name": "web", "alias": "Web server"}));
    assert!(
        hosts
            .iter()
            .all(|h| h.as_object().map(|o| o.len()) == Some(2)),
        "{group}"
    );
    assert_eq!(group["_realm"], json!({"name": "All", "alias": "All"}));
    assert_eq!(group["_parent"]["name"], "All");
    // Every group, embedded: the root group's null parent stays null (the original crashed).
    let (status, body) = get(&receiver, "/hostgroup?embedded=1");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["_result"].as_array().map(Vec::len), Some(2));
    let (status, body) = get(&receiver, "/hostgroup/nope");
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"_status": "ERR", "_result": [], "_issues": ["Requested hostgroup 'nope' does not exist"]})
    );

    // Comments: the command, and a webui.comment history entry in the backend.
    for (host, comment) in [("web", "disk replaced"), ("db", "backup moved")] {
        let (status, body) = send(
            &receiver,
            "POST",
            "/event",
            &json!({"host": host, "author": "alice", "comment": comment}),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body,
            json!({"_status": "OK", "_result": [format!("ADD_HOST_COMMENT;{host};1;alice;{comment}")]})
        );
    }
    assert_eq!(
        commands_after_sentinel(&receiver),
        [
            "ADD_HOST_COMMENT;web;1;alice;disk replaced",
            "ADD_HOST_COMMENT;db;1;alice;backup moved"
        ]
    );
    let history = backend.items("history", json!({"type": "webui.comment"}));
    assert_eq!(history.len(), 2, "{history:?}");

    // The search: by type, by host, a negation, several values of a field, paging.
    for (search, expected) in [
        ("type:webui.comment", vec!["backup moved", "disk replaced"]),
        ("host_name:web", vec!["disk replaced"]),
        ("web", vec!["disk replaced"]),
        ("type:webui.comment%20host_name:!web", vec!["backup moved"]),
        (
            "host_name:web%20host_name:db",
            vec!["backup moved", "disk replaced"],
        ),
        (
            "user_name:alice%20message:%22disk%20rep%22",
            vec!["disk replaced"],
        ),
        ("type:nothing", vec![]),
    ] {
        let (status, body) = get(&receiver, &format!("/alignak_logs?search={search}"));
        assert_eq!(status, 200, "{search}: {body}");
        let messages = field_of_each(&body["items"], "message");
        assert_eq!(messages, expected, "{search}: {body}");
        assert_eq!(body["_meta"]["total"], expected.len(), "{search}");
    }
    let (_, body) = get(
        &receiver,
        "/alignak_logs?search=type:webui.comment&count=1&start=1",
    );
    assert_eq!(
        body["_meta"],
        json!({"page": 2, "max_results": 1, "total": 2})
    );
    assert_eq!(body["items"][0]["message"], "disk replaced");
}

#[test]
fn a_backend_that_stops_or_hangs_is_a_503_and_the_next_request_tries_again() {
    let Some(mut backend) = Backend::start() else {
        return;
    };
    backend.add_host("edge", &[]);
    let receiver = start(&backend, |s| {
        s.module_param("give_result", "1")
            .module_param("set_timestamp", "0")
    });
    let (status, _) = get(&receiver, "/host/edge");
    assert_eq!(status, 200);

    // Hanging: the call is bounded, the answer a 503 with the original's message.
    backend.freeze();
    let started = Instant::now();
    let (status, body) = send(
        &receiver,
        "PATCH",
        "/host/edge",
        &json!({"livestate": {"state": "UP", "output": "while frozen"}}),
    );
    let waited = started.elapsed();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["_status"], "ERR");
    let error = body["_error"].as_str().expect("_error");
    assert!(
        error.starts_with("Alignak backend is not available currently"),
        "{error}"
    );
    assert!(waited < Duration::from_secs(30), "bounded: {waited:?}");
    // /command does not need the backend.
    let (status, _) = send(
        &receiver,
        "POST",
        "/command",
        &json!({"command": "ENABLE_NOTIFICATIONS"}),
    );
    assert_eq!(status, 200);
    backend.thaw();
    // Nothing sticky: the next request goes to the backend again.
    patch_ok(
        &receiver,
        "/host/edge",
        &json!({"livestate": {"state": "UP", "output": "thawed"}}),
    );

    // Stopped: 503 at once; the daemon stays up and the commands still flow.
    backend.stop();
    for path in ["/host/edge", "/hostgroup", "/alignak_logs"] {
        let (status, body) = get(&receiver, path);
        assert_eq!(status, 503, "{path}: {body}");
        assert!(receiver_is_running(&receiver));
    }
    let reply = receiver.request(
        "POST",
        "/event",
        &[("Content-Type", "application/json")],
        json!({"host": "edge", "comment": "while down"})
            .to_string()
            .as_bytes(),
    );
    // The comment is sent even though its history entry cannot be written, as the original;
    // the answer says so and is no "retry me" (502, no Retry-After): a retry sends it again.
    assert_eq!(reply.status, 502, "{}", reply.body);
    assert_eq!(reply.header("retry-after"), None);
    let body = reply.json();
    assert_eq!(
        body["_result"],
        json!(["ADD_HOST_COMMENT;edge;1;Alignak WS;while down"])
    );
    assert!(
        body["_issues"][1]
            .as_str()
            .is_some_and(|i| i.contains("sends them again")),
        "{body}"
    );
    let lines = commands_after_sentinel(&receiver);
    assert!(
        lines.contains(&"PROCESS_HOST_CHECK_RESULT;edge;0;thawed".to_string()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"ADD_HOST_COMMENT;edge;1;Alignak WS;while down".to_string()),
        "{lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("while frozen")),
        "{lines:?}"
    );
}

fn receiver_is_running(receiver: &Receiver) -> bool {
    receiver.get("/are_you_alive").status == 200
}

#[test]
fn without_authorization_the_backend_refuses_and_the_answer_says_so() {
    let Some(backend) = Backend::start() else {
        return;
    };
    let receiver = Setup::new()
        .module_param("alignak_backend", &backend.url())
        .module_param("alignak_backend_polling_period", "0")
        .start();
    let (status, body) = get(&receiver, "/host/_dummy");
    assert_eq!(status, 401, "{body}");
    assert!(body["_error"]
        .as_str()
        .expect("_error")
        .contains("refused the credentials"));
    assert!(receiver.log().contains("authorization 0"));
}

/// A CA, and a server certificate for 127.0.0.1 signed by it: (CA PEM, chain PEM, key PEM).
fn certificates() -> (String, String, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "backend test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().expect("CA key");
    let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .expect("server params");
    params
        .distinguished_name
        .push(DnType::CommonName, "alignak-backend test");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().expect("server key");
    let server = params.signed_by(&key, &issuer).expect("server certificate");
    (
        ca.pem(),
        format!("{}{}", server.pem(), ca.pem()),
        key.serialize_pem(),
    )
}

#[test]
fn an_https_backend_is_used_with_the_machines_trusted_certificates() {
    let (ca, chain, key) = certificates();
    let Some(backend) = Backend::start_tls(&ca, &chain, &key) else {
        return;
    };
    assert!(backend.url().starts_with("https://"));
    // The daemon trusts what the machine trusts: here, through SSL_CERT_FILE, the test CA.
    let receiver = backend
        .setup()
        .env("SSL_CERT_FILE", "certs/ca.pem")
        .file("certs/ca.pem", &ca)
        .start();
    let (status, body) = get(&receiver, "/host/_dummy");
    assert_eq!(status, 200, "{body}\n{}", receiver.log());
    assert_eq!(body["_result"][0]["name"], "_dummy");

    // A certificate the machine does not trust: refused (the login is the first call: its
    // 503 says the credentials cannot be checked, the log says why).
    let untrusting = backend.setup().start();
    let (status, body) = get(&untrusting, "/host/_dummy");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["_status"], "ERR");
    let log = untrusting.log();
    assert!(
        log.lines()
            .any(|l| l.contains("credentials cannot be checked") && l.contains("certificate")),
        "{log}"
    );
}

#[test]
fn a_url_that_is_not_a_backend_never_makes_a_token_valid() {
    // Something that answers HTTP but is no backend (here: another receiver: its /realm is a
    // 404, its /login a 401): no credential may pass, and /command is refused too.
    let not_a_backend = Setup::new().start();
    let receiver = Setup::new()
        .module_param(
            "alignak_backend",
            &format!("http://{}", not_a_backend.address()),
        )
        .module_param("authorization", "1")
        .module_param("alignak_backend_polling_period", "0")
        .start();
    for auth in [basic("made-up-token", ""), basic("admin", "admin")] {
        let reply = receiver.request(
            "POST",
            "/command",
            &[
                ("Content-Type", "application/json"),
                ("Authorization", &auth),
            ],
            br#"{"command": "SHUTDOWN_PROGRAM"}"#,
        );
        assert!(
            matches!(reply.status, 401 | 503),
            "{auth}: {} {}",
            reply.status,
            reply.body
        );
        assert_eq!(reply.json()["_status"], "ERR");
    }
    // The token's check got a 404: not an answer about the token, so a 503.
    let reply = receiver.get_with_basic("/are_you_alive", "another-token", "");
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert!(receiver.commands().is_empty());
}

#[test]
fn every_page_is_read_with_its_links_embedded() {
    // Pages of 3 items: a host's 7 services, 7 hostgroups with embedded links.
    let Some(backend) = Backend::start_paged(3) else {
        return;
    };
    let services: Vec<String> = (0..7).map(|i| format!("svc{i}")).collect();
    let names: Vec<&str> = services.iter().map(String::as_str).collect();
    let host = backend.add_host("many", &names);
    let all_group = backend.id_of("hostgroup", "All");
    let realm = backend.realm_all();
    for i in 0..6 {
        backend.post(
            "hostgroup",
            json!({"name": format!("group&{i}"), "alias": format!("Group {i}"), "hosts": [host],
                   "_parent": all_group, "_realm": realm}),
        );
    }
    let receiver = start(&backend, |s| {
        s.module_param("give_result", "1")
            .module_param("set_timestamp", "0")
            .module_param("give_feedback", "0")
    });
    // The last services are on the third page: they are found, not unknown.
    let body: Vec<Value> = services
        .iter()
        .map(|s| json!({"name": s, "livestate": {"state": "OK", "output": s}}))
        .collect();
    let (status, answer) = send(&receiver, "PATCH", "/host/many", &json!({"services": body}));
    assert_eq!(status, 200, "{answer}");
    let sent = commands_after_sentinel(&receiver);
    assert_eq!(sent.len(), 7, "{sent:?}");
    assert_eq!(sent[6], "PROCESS_SERVICE_CHECK_RESULT;many;svc6;0;svc6");

    let (status, answer) = get(&receiver, "/hostgroup?embedded=1");
    assert_eq!(status, 200, "{answer}");
    let groups = answer["_result"].as_array().expect("groups");
    assert_eq!(groups.len(), 7, "All and 6 groups, across 3 pages");
    for group in groups.iter().filter(|g| g["name"] != "All") {
        // Embedded on every page, projected on every page.
        assert_eq!(
            group["hosts"],
            json!([{"name": "many", "alias": "many"}]),
            "{group}"
        );
        assert_eq!(
            group["_realm"],
            json!({"name": "All", "alias": "All"}),
            "{group}"
        );
        assert!(
            group.get("_created").is_some() && group.get("definition_order").is_none(),
            "{group}"
        );
    }
    // A name with `&` in a `where` on a later page.
    let (status, answer) = get(&receiver, "/hostgroup/group%265");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["_result"][0]["alias"], "Group 5");
}

#[test]
fn templates_with_services_and_service_templates_make_the_backends_services() {
    let Some(backend) = Backend::start() else {
        return;
    };
    // A host template with a service template on it: the backend gives a host made from the
    // template a service made from that service template (its `_templates_with_services`),
    // which the request then finds (upstream-spec §8.4; the original answers the same).
    let host_template = backend.add_host_template("web-tpl", json!({"max_check_attempts": 7}));
    let http_template =
        backend.add_service_template("http", &host_template, json!({"max_check_attempts": 3}));
    let disk_template = backend.add_service_template(
        "disk-tpl",
        &host_template,
        json!({"max_check_attempts": 9, "check_interval": 11}),
    );
    let receiver = start(&backend, creating_with_plain_answers);
    let body = patch_ok(
        &receiver,
        "/host/tpl01",
        &json!({
            "template": {"_templates": ["web-tpl"], "alias": "From templates"},
            "livestate": {"state": "DOWN", "output": "d"},
            "services": [
                {"name": "http", "livestate": {"state": "CRITICAL", "output": "c"}},
                {"name": "disk", "template": {"_templates": ["disk-tpl"]},
                 "livestate": {"state": "WARNING", "output": "w"}},
            ],
        }),
    );
    assert_eq!(
        body,
        json!({"_status": "OK", "_result": [
            "tpl01 is alive :)",
            "Requested host 'tpl01' does not exist.",
            "Requested host 'tpl01' created.",
            "Livestate of tpl01 kept in the backend, not sent: Alignak does not know the host yet.",
            "Livestate of tpl01/http kept in the backend, not sent: Alignak does not know the host yet.",
            "Service 'tpl01/http' updated",
            "Requested service 'tpl01/disk' does not exist.",
            "Requested service 'tpl01/disk' created.",
            "Livestate of tpl01/disk kept in the backend, not sent: Alignak does not know the host yet.",
            "Service 'tpl01/disk' updated",
            "Host 'tpl01' updated.",
        ]})
    );
    // The host and its services are new to Alignak: nothing was sent.
    assert_eq!(commands_after_sentinel(&receiver), Vec::<String>::new());

    let host = backend.host("tpl01").expect("tpl01 in the backend");
    let host_id = host["_id"].as_str().expect("_id");
    assert_has_fields(
        &host,
        json!({"_templates": [host_template], "_is_template": false, "max_check_attempts": 7,
               "alias": "From templates", "ls_state": "DOWN"}),
    );
    // The backend's own service, from the host template's service template.
    let http = backend.service(host_id, "http").expect("http");
    assert_has_fields(
        &http,
        json!({"_templates": [http_template], "_is_template": false, "max_check_attempts": 3,
               "ls_state": "CRITICAL", "ls_output": "c"}),
    );
    // The request's service, from the service template it named (name -> _id with
    // `_is_template: true`), with the template's fields.
    let disk = backend.service(host_id, "disk").expect("disk");
    assert_has_fields(
        &disk,
        json!({"_templates": [disk_template], "max_check_attempts": 9, "check_interval": 11,
               "ls_state": "WARNING"}),
    );
    // ...and the one the backend made from that template too.
    let mut names: Vec<String> = backend
        .services_of(host_id)
        .iter()
        .filter_map(|s| s["name"].as_str().map(String::from))
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["disk", "disk-tpl", "http"]);

    // Known now: every livestate is a command.
    let body = patch_ok(
        &receiver,
        "/host/tpl01",
        &json!({"livestate": {"state": "UP", "output": "u"},
                "services": [{"name": "http", "livestate": {"state": "OK", "output": "o"}},
                             {"name": "disk", "livestate": {"state": "OK", "output": "o"}}]}),
    );
    assert_eq!(
        body["_result"],
        json!([
            "tpl01 is alive :)",
            "PROCESS_HOST_CHECK_RESULT;tpl01;0;u",
            "PROCESS_SERVICE_CHECK_RESULT;tpl01;http;0;o",
            "PROCESS_SERVICE_CHECK_RESULT;tpl01;disk;0;o",
        ])
    );
    assert_eq!(
        commands_after_sentinel(&receiver),
        [
            "PROCESS_HOST_CHECK_RESULT;tpl01;0;u",
            "PROCESS_SERVICE_CHECK_RESULT;tpl01;http;0;o",
            "PROCESS_SERVICE_CHECK_RESULT;tpl01;disk;0;o",
        ]
    );
}

#[test]
fn old_lcr_off_posts_none_and_get_lcr_copies_the_earlier_results_fields() {
    let Some(backend) = Backend::start() else {
        return;
    };
    let host = backend.add_host("lcr02", &[]);
    // An earlier result, acknowledged and in a downtime. The backend copies a posted result
    // into the host's ls_* fields: put those back, so that only the earlier result has them.
    backend.post(
        "logcheckresult",
        json!({"host": host, "state": "DOWN", "state_id": 1, "state_type": "SOFT",
               "last_state_type": "HARD", "last_state": "UP", "last_check": 1699990000,
               "acknowledged": true, "acknowledgement_type": 2, "downtimed": true,
               "state_changed": true, "output": "earlier"}),
    );
    backend.patch(
        "host",
        &host,
        json!({"ls_acknowledged": false, "ls_acknowledgement_type": 1, "ls_downtimed": false,
               "ls_state_type": "HARD", "ls_last_state": "UNREACHABLE",
               "ls_last_state_type": "HARD"}),
    );
    assert_eq!(backend.logcheckresults_for("lcr02").len(), 1);
    let livestate = |output: &str, timestamp: i64| json!({"livestate": {"state": "UP", "output": output, "timestamp": timestamp}});

    // alignak_backend_old_lcr 0: a timestamped livestate is only a command.
    let receiver = start(&backend, |s| {
        s.module_param("alignak_backend_old_lcr", "0")
            .module_param("give_result", "1")
    });
    patch_ok(&receiver, "/host/lcr02", &livestate("off", 1700000000));
    assert_eq!(
        receiver.wait_commands(1),
        ["[1700000000] PROCESS_HOST_CHECK_RESULT;lcr02;0;off"]
    );
    assert_eq!(backend.logcheckresults_for("lcr02").len(), 1);
    drop(receiver);

    // The default: the new result takes the host's ls_* fields.
    let receiver = start(&backend, |s| s);
    patch_ok(&receiver, "/host/lcr02", &livestate("plain", 1700000100));
    let lcrs = backend.logcheckresults_for("lcr02");
    let plain = lcrs
        .iter()
        .find(|l| l["output"] == "plain")
        .unwrap_or_else(|| panic!("the new result in {lcrs:?}"));
    assert_eq!(plain["last_check"], 1700000100);
    assert_eq!(plain["host"], host.as_str());
    assert_eq!(plain["service"], Value::Null);
    assert_eq!(plain["state"], "UP");
    assert_eq!(plain["state_id"], 0);
    assert_eq!(plain["acknowledged"], false);
    assert_eq!(plain["acknowledgement_type"], 1);
    assert_eq!(plain["downtimed"], false);
    assert_eq!(plain["latency"], 0.0);
    assert_eq!(plain["execution_time"], 0.0);
    assert_eq!(plain["_realm"], backend.realm_all().as_str());
    drop(receiver);
    // Put the host's fields back again (the result just posted was copied into them).
    backend.patch(
        "host",
        &host,
        json!({"ls_acknowledged": false, "ls_acknowledgement_type": 1, "ls_downtimed": false,
               "ls_state_type": "HARD", "ls_last_state": "UNREACHABLE"}),
    );

    // alignak_backend_get_lcr 1: the fields of the latest result not newer than the
    // livestate (here the first one: 1699990000 <= 1700000050 < 1700000100).
    let receiver = start(&backend, |s| s.module_param("alignak_backend_get_lcr", "1"));
    patch_ok(&receiver, "/host/lcr02", &livestate("copied", 1700000050));
    let lcrs = backend.logcheckresults_for("lcr02");
    assert_eq!(lcrs.len(), 3, "{lcrs:?}");
    let copied = lcrs
        .iter()
        .find(|l| l["output"] == "copied")
        .unwrap_or_else(|| panic!("the new result in {lcrs:?}"));
    assert_eq!(copied["last_check"], 1700000050);
    assert_eq!(copied["state"], "UP");
    assert_eq!(copied["acknowledged"], true, "{copied}");
    assert_eq!(copied["acknowledgement_type"], 2, "{copied}");
    assert_eq!(copied["downtimed"], true, "{copied}");
    assert_eq!(copied["state_type"], "SOFT", "{copied}");
    assert_eq!(copied["last_state"], "UP", "{copied}");
}

#[test]
fn a_backend_restarted_with_new_data_is_used_at_once() {
    let Some(mut backend) = Backend::start() else {
        return;
    };
    backend.add_host("before", &[]);
    let receiver = start(&backend, |s| s.module_param("give_result", "1"));
    let (status, _) = get(&receiver, "/host/before");
    assert_eq!(status, 200);
    let old_token = backend.admin_token().to_string();

    backend.stop();
    let (status, body) = get(&receiver, "/host/before");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["_status"], "ERR");

    // Another backend on the same URL, with only what its start-up makes: new tokens.
    backend.restart();
    assert_ne!(backend.admin_token(), old_token);
    // Basic admin:admin: the module logs in again (the old backend's token, which it may
    // have kept, is refused by the new backend): answered at once, not a stale 503 or 401.
    let (status, body) = get(&receiver, "/host/_dummy");
    assert_eq!(status, 200, "{body}\n{}", receiver.log());
    assert_eq!(body["_result"][0]["name"], "_dummy");
    let (status, body) = get(&receiver, "/host/before");
    assert_eq!(status, 404, "the new backend has fresh data: {body}");
    // The old backend's token means nothing to the new one.
    let reply = receiver.get_with_basic("/host/_dummy", &old_token, "");
    assert_eq!(reply.status, 401, "{}", reply.body);
    // The new one's works.
    let reply = receiver.get_with_basic("/host/_dummy", backend.admin_token(), "");
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Waits until the receiver's log has a line containing every one of `parts`.
fn wait_log_line(receiver: &Receiver, parts: &[&str], after: usize) -> usize {
    wait_for(Duration::from_secs(20), Duration::from_millis(50), || {
        let log = receiver.log();
        let tail = log.get(after..).unwrap_or_default();
        match tail
            .lines()
            .find(|line| parts.iter().all(|p| line.contains(p)))
        {
            Some(line) => Ok(after + tail.find(line).expect("the line") + line.len()),
            None => Err(format!("no line with {parts:?} in:\n{log}")),
        }
    })
}

#[test]
fn the_availability_check_uses_the_modules_own_credentials_and_logs_each_change() {
    let Some(mut backend) = Backend::start() else {
        return;
    };
    let url = backend.url();
    let receiver = backend
        .module()
        .module_param("alignak_backend_polling_period", "1")
        .module_param("username", "admin")
        .module_param("password", "admin")
        .start();
    let seen = wait_log_line(&receiver, &["Alignak backend is available", &url], 0);
    backend.stop();
    let seen = wait_log_line(&receiver, &["not available currently", &url], seen);
    backend.restart();
    wait_log_line(&receiver, &["Alignak backend is available", &url], seen);
    // A change is logged once, not every period.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        receiver
            .log()
            .matches("Alignak backend is available")
            .count(),
        2,
        "{}",
        receiver.log()
    );
    assert!(!receiver.log().contains("admin:admin"));

    // Wrong credentials of its own: logged as not available (the requests do not use them).
    let refused = backend
        .module()
        .module_param("alignak_backend_polling_period", "1")
        .module_param("username", "admin")
        .module_param("password", "not-the-password")
        .start();
    wait_log_line(
        &refused,
        &["not available currently", "refused the login of 'admin'"],
        0,
    );
    let reply = refused.get_with_basic("/host/_dummy", "admin", "admin");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(!refused.log().contains("not-the-password"));
}
