//! `GET /alignak_logs` in-process: the history that /host livestates and /event comments
//! write, searched with the original's syntax, newest first, paged.

use crate::in_process::{Client, InProcess, Setup, TestApp};
use serde_json::{json, Value};

fn send(app: &TestApp, method: &str, path: &str, body: Value) {
    let reply = app.send_json(method, path, &body.to_string());
    assert_eq!(reply.status, 200, "{}", reply.body);
}

fn logs(app: &TestApp, query: &str) -> Value {
    let reply = app.get(&format!("/alignak_logs{query}"));
    assert_eq!(reply.status, 200, "{query}: {}", reply.body);
    reply.json()
}

fn messages(answer: &Value) -> Vec<String> {
    answer["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{} {}",
                i["host_name"].as_str().unwrap(),
                i["message"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn history_is_searched_newest_first_and_paged() {
    let app = Setup::new()
        .module_param("allow_host_creation", "1")
        .module_param("allow_service_creation", "1")
        .in_process();
    send(
        &app,
        "PATCH",
        "/host/denice",
        json!({"livestate": {"state": "UP", "output": "fine"}}),
    );
    send(
        &app,
        "PATCH",
        "/host/srv001",
        json!({"livestate": {"state": "down", "output": "dead"},
        "services": [{"name": "http", "livestate": {"state": "critical", "output": "no answer"}}]}),
    );
    send(
        &app,
        "POST",
        "/event",
        json!({"host": "denice", "author": "admin", "comment": "looking"}),
    );

    let all = logs(&app, "");
    assert_eq!(all["_status"], "OK");
    assert_eq!(
        all["_meta"],
        json!({"page": 1, "max_results": 25, "total": 4})
    );
    assert_eq!(
        messages(&all),
        [
            "denice looking",
            "srv001 CRITICAL[HARD] (False/False): no answer",
            "srv001 DOWN[HARD] (False/False): dead",
            "denice UP[HARD] (False/False): fine",
        ]
    );
    let first = &all["items"][0];
    assert_eq!(first["type"], "webui.comment");
    assert_eq!(first["user_name"], "admin");
    assert!(first["_created"].as_str().unwrap().ends_with(" GMT"));
    assert!(first.get("service_name").is_none());
    assert_eq!(all["items"][1]["service_name"], "http");
    assert_eq!(all["items"][1]["type"], "check.result");
    assert_eq!(all["items"][1]["user_name"], "Alignak");

    for (search, expected) in [
        (
            "type:check.result",
            vec![
                "srv001 CRITICAL[HARD] (False/False): no answer",
                "srv001 DOWN[HARD] (False/False): dead",
                "denice UP[HARD] (False/False): fine",
            ],
        ),
        (
            "denice",
            vec!["denice looking", "denice UP[HARD] (False/False): fine"],
        ),
        (
            "host_name:!denice",
            vec![
                "srv001 CRITICAL[HARD] (False/False): no answer",
                "srv001 DOWN[HARD] (False/False): dead",
            ],
        ),
        (
            "host_name:denice host_name:srv001 type:webui",
            vec!["denice looking"],
        ),
        (
            "service_name:http",
            vec!["srv001 CRITICAL[HARD] (False/False): no answer"],
        ),
        (
            "message:\"no answer\"",
            vec!["srv001 CRITICAL[HARD] (False/False): no answer"],
        ),
        ("type:XXX", vec![]),
    ] {
        let query = format!(
            "?search={}",
            search
                .replace(' ', "%20")
                .replace('"', "%22")
                .replace('!', "%21")
        );
        let answer = logs(&app, &query);
        assert_eq!(messages(&answer), expected, "{search}");
        assert_eq!(answer["_meta"]["total"], expected.len(), "{search}");
    }
    // An unknown field is a 400 naming it, not the whole history.
    for search in ["name:chazay", "hostname:web01"] {
        let reply = app.get(&format!("/alignak_logs?search={search}"));
        assert_eq!(reply.status, 400, "{search}: {}", reply.body);
        let field = search.split(':').next().unwrap();
        assert!(
            reply
                .body
                .contains(&format!("no searchable field: '{field}'")),
            "{search}: {}",
            reply.body
        );
    }

    let page = logs(&app, "?start=2&count=2");
    assert_eq!(
        page["_meta"],
        json!({"page": 2, "max_results": 2, "total": 4})
    );
    assert_eq!(
        messages(&page),
        [
            "srv001 DOWN[HARD] (False/False): dead",
            "denice UP[HARD] (False/False): fine"
        ]
    );
    assert_eq!(logs(&app, "?start=100")["items"], json!([]));
    assert_eq!(logs(&app, "?count=500")["_meta"]["max_results"], 50);

    for query in [
        "?start=x",
        // An empty value is not a number either (the API document says integer; the
        // original answered 500 to it).
        "?start=",
        "?count=",
        "?count=0",
        "?count=-1",
        "?start=1.5",
        "?start=18446744073709551615&count=1",
        "?start=9223372036854775808",
    ] {
        let reply = app.get(&format!("/alignak_logs{query}"));
        assert_eq!(reply.status, 400, "{query}");
        assert_eq!(reply.json()["_status"], "ERR");
    }
}
