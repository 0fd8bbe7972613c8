//! `GET /hostgroup` in-process: groups declared in `hostgroups_file`, and hosts that name a
//! group in their creation template.

use crate::in_process::{Client, InProcess, Setup};
use serde_json::json;

const GROUPS: &str = "define hostgroup {\n    hostgroup_name  web\n    alias  Web servers ; a comment\n    members  web01, web02\n}\n\
define hostgroup {\n    hostgroup_name  db\n}\n";

#[test]
fn declared_groups_and_hosts_naming_them() {
    let app = Setup::new()
        .module_param("hostgroups_file", "groups.cfg")
        .module_param("allow_host_creation", "1")
        .file("groups.cfg", GROUPS)
        .in_process();
    let reply = app.request(
        "PATCH",
        "/host/web03",
        &[("Content-Type", "application/json")],
        json!({"template": {"alias": "Third", "hostgroups": ["web"]}})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);

    let reply = app.get("/hostgroup/web");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let group = &reply.json()["_result"][0];
    assert_eq!(group["name"], "web");
    assert_eq!(group["alias"], "Web servers");
    assert_eq!(group["hosts"], json!(["web01", "web02", "web03"]));
    assert!(group["_id"].is_string() && group["_created"].is_string());

    let reply = app.get("/ws/hostgroup?name=web&embedded=1");
    let group = &reply.json()["_result"][0];
    assert_eq!(
        group["hosts"],
        json!([{"name": "web01", "alias": "web01"}, {"name": "web02", "alias": "web02"},
               {"name": "web03", "alias": "Third"}])
    );
    assert_eq!(group["_realm"], json!({"name": "All", "alias": "All"}));

    let all = app.get("/hostgroup").json();
    let names: Vec<&str> = all["_result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["db", "web"]);

    let reply = app.get("/hostgroup/nope");
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.json(),
        json!({"_status": "ERR", "_result": [], "_issues": ["Requested hostgroup 'nope' does not exist"]})
    );
    let reply = app.request(
        "POST",
        "/hostgroup",
        &[("Content-Type", "application/json")],
        b"{}",
    );
    assert_eq!(reply.status, 405);
    assert_eq!(
        reply.json()["_error"],
        "You must only GET on this endpoint."
    );
}

#[test]
fn no_groups_is_a_json_404() {
    let app = Setup::new().in_process();
    let reply = app.get("/hostgroup");
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.json(),
        json!({"_status": "ERR", "_result": [], "_issues": ["No hostgroup is defined: no hostgroups_file is configured"]})
    );
}
