//! End to end with a real Nagios 4: commands posted to our API reach Nagios through its
//! command FIFO and change what Nagios reports in status.dat and its log.

use std::time::Duration;

use alignak_e2e::nagios::{find, Nagios, StatusBlock};
use alignak_e2e::{assert_contains, Client, CommandSink, Receiver, Setup};
use serde_json::json;

/// The set-up of a receiver whose commands go to `nagios`' command FIFO.
fn setup_for(nagios: &Nagios) -> Setup {
    Setup::new().sink(CommandSink::ExistingFile(nagios.command_fifo.clone()))
}

fn receiver_for(nagios: &Nagios) -> Receiver {
    setup_for(nagios).start()
}

/// A receiver for `nagios` that creates the hosts and services it is sent, with `give` (the
/// `give_result` / `give_feedback` key) set as given.
fn creating_receiver_for(nagios: &Nagios, give: (&str, &str)) -> Receiver {
    setup_for(nagios)
        .module_param("allow_host_creation", "1")
        .module_param("allow_service_creation", "1")
        .module_param(give.0, give.1)
        .start()
}

fn post(receiver: &Receiver, body: serde_json::Value) {
    let reply = receiver.post_json("/command", &body.to_string());
    assert_eq!(reply.status, 200, "{body}: {}", reply.body);
}

/// What a status.dat block must hold: its kind and the fields it must match.
type Wanted<'a> = (&'a str, &'a [(&'a str, &'a str)]);

/// Waits (20 s at most) until status.dat holds a block for each of `wanted`.
fn wait_for_blocks(nagios: &Nagios, wanted: &[Wanted]) -> Vec<StatusBlock> {
    nagios.wait_status(Duration::from_secs(20), |status| {
        wanted
            .iter()
            .all(|(kind, keys)| find(status, kind, keys).is_some())
    })
}

/// Asserts that each field of `block` named in `fields` holds its value.
fn assert_fields(block: &StatusBlock, fields: &[(&str, &str)]) {
    for (key, value) in fields {
        assert_eq!(block.get(key), Some(*value), "{key} of {block:?}");
    }
}

/// test_host/svc1 holds `service_fields`, and test_host has alice's comment `comment`.
fn assert_svc1_and_alices_comment(
    status: &[StatusBlock],
    service_fields: &[(&str, &str)],
    comment: &str,
) {
    assert_fields(service_status(status, "test_host", "svc1"), service_fields);
    assert_fields(
        find(status, "hostcomment", &[("host_name", "test_host")]).unwrap(),
        &[("author", "alice"), ("comment_data", comment)],
    );
}

fn host_status<'a>(status: &'a [StatusBlock], host: &str) -> &'a StatusBlock {
    find(status, "hoststatus", &[("host_name", host)]).unwrap()
}

fn service_status<'a>(status: &'a [StatusBlock], host: &str, service: &str) -> &'a StatusBlock {
    find(
        status,
        "servicestatus",
        &[("host_name", host), ("service_description", service)],
    )
    .unwrap()
}

/// test_host DOWN, its svc1 CRITICAL and a comment on it: what the API sent reached Nagios.
const DOWN_TEST_HOST: Wanted = (
    "hoststatus",
    &[("host_name", "test_host"), ("current_state", "1")],
);
const CRITICAL_SVC1: Wanted = (
    "servicestatus",
    &[("service_description", "svc1"), ("current_state", "2")],
);
const TEST_HOST_COMMENT: Wanted = ("hostcomment", &[("host_name", "test_host")]);

#[test]
fn check_results_notifications_and_comments_reach_nagios() {
    let Some(nagios) = Nagios::start() else {
        return;
    };
    let receiver = receiver_for(&nagios);

    post(
        &receiver,
        json!({"command": "process_host_check_result", "host": "test_host",
                           "parameters": "1;DOWN from the API|rta=12.5ms;100;200"}),
    );
    post(
        &receiver,
        json!({"command": "process_service_check_result", "element": "test_host/svc1",
                           "parameters": "2;CRIT from the API|load=5;1;2"}),
    );
    post(&receiver, json!({"command": "disable_notifications"}));
    post(
        &receiver,
        json!({"command": "add_host_comment", "host": "test_host",
                           "parameters": "1;alice;Disk Replaced by the API"}),
    );

    let status = wait_for_blocks(
        &nagios,
        &[
            DOWN_TEST_HOST,
            CRITICAL_SVC1,
            ("programstatus", &[("enable_notifications", "0")]),
            TEST_HOST_COMMENT,
        ],
    );
    let host = host_status(&status, "test_host");
    assert_fields(
        host,
        &[
            ("plugin_output", "DOWN from the API"),
            ("performance_data", "rta=12.5ms;100;200"),
        ],
    );
    assert_eq!(host.get("state_type"), Some("1"), "HARD");
    assert_svc1_and_alices_comment(
        &status,
        &[
            ("plugin_output", "CRIT from the API"),
            ("performance_data", "load=5;1;2"),
        ],
        "Disk Replaced by the API",
    );

    // Names keep their case on the way (the original upper-cased them).
    let log = nagios.log();
    assert_contains(
        &log,
        "EXTERNAL COMMAND: PROCESS_HOST_CHECK_RESULT;test_host;1;DOWN from the API",
    );
    assert_contains(&log, "EXTERNAL COMMAND: DISABLE_NOTIFICATIONS;");
    assert!(!log.contains("Unrecognized external command"), "{log}");
}

#[test]
fn ten_thousand_commands_through_the_api_all_reach_nagios() {
    const CLIENTS: usize = 8;
    const PER_CLIENT: usize = 1250;
    let Some(nagios) = Nagios::start() else {
        return;
    };
    let receiver = receiver_for(&nagios);
    std::thread::scope(|scope| {
        for client in 0..CLIENTS {
            let receiver = &receiver;
            scope.spawn(move || {
                for n in 0..PER_CLIENT {
                    let code = (client + n) % 3;
                    post(
                        receiver,
                        json!({
                            "command": "process_service_check_result",
                            "element": format!("test_host/svc{}", 1 + n % 2),
                            "parameters": format!("{code};result {client}-{n}"),
                        }),
                    );
                }
            });
        }
    });
    let total = CLIENTS * PER_CLIENT;
    let seen = nagios.wait_log_count(
        "EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;test_host;svc",
        total,
        Duration::from_secs(60),
    );
    assert_eq!(seen, total, "Nagios logged {seen} of {total} commands");
    let log = nagios.log();
    assert!(!log.contains("Unrecognized external command"));
    assert!(!log.contains("External command failed"));
    // Each client sent one command after the other: Nagios got each client's in that order.
    for client in 0..CLIENTS {
        let marker = format!("result {client}-");
        let order: Vec<usize> = log
            .lines()
            .filter(|l| l.contains("EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT"))
            .filter_map(|l| l.split_once(&marker))
            .filter_map(|(_, n)| n.trim().parse().ok())
            .collect();
        assert_eq!(
            order,
            (0..PER_CLIENT).collect::<Vec<_>>(),
            "client {client}"
        );
    }
}

#[test]
fn livestates_patched_to_the_api_and_events_reach_nagios() {
    let Some(nagios) = Nagios::start() else {
        return;
    };
    let receiver = creating_receiver_for(&nagios, ("give_feedback", "0"));
    let patch = |body: serde_json::Value| {
        let reply = receiver.send_json("PATCH", "/host/test_host", &body.to_string());
        assert_eq!(reply.status, 200, "{body}: {}", reply.body);
    };
    // The embedded store learns the host and its service (a host created by a request gets
    // no commands in that request, as in the original 1.5+).
    patch(json!({"services": [{"name": "svc1"}]}));
    patch(json!({
        "livestate": {"state": "DOWN", "output": "DOWN from PATCH",
                      "long_output": "line 2\nline 3", "perf_data": "rta=12.5ms;100;200"},
        "services": [{"name": "svc1", "livestate": {"state": "critical", "output": "CRIT from PATCH",
                      "long_output": "details", "perf_data": "load=5;1;2"}}],
    }));
    let event =
        json!({"host": "test_host", "author": "alice", "comment": "Disk replaced\nby the API"});
    let reply = receiver.post_json("/event", &event.to_string());
    assert_eq!(reply.status, 200, "{}", reply.body);

    let status = wait_for_blocks(&nagios, &[DOWN_TEST_HOST, CRITICAL_SVC1, TEST_HOST_COMMENT]);
    // Nagios keeps the long output escaped in status.dat: the line break went through as `\n`.
    assert_fields(
        host_status(&status, "test_host"),
        &[
            ("plugin_output", "DOWN from PATCH"),
            ("long_plugin_output", "line 2\\nline 3"),
            ("performance_data", "rta=12.5ms;100;200"),
        ],
    );
    assert_svc1_and_alices_comment(
        &status,
        &[
            ("plugin_output", "CRIT from PATCH"),
            ("long_plugin_output", "details"),
            ("performance_data", "load=5;1;2"),
        ],
        "Disk replaced\\nby the API",
    );
    // No line of ours started a command of its own, or was refused.
    let log = nagios.log();
    assert!(!log.contains("Unrecognized external command"), "{log}");
    assert!(!log.contains("External command failed"), "{log}");
}

/// Issue 11: hosts Nagios monitors but the module never saw (its embedded store is empty).
/// Their first `/host` livestates, host and service, must reach Nagios: the module "creates"
/// them in its own memory only, and that is no reason to hold their results back.
#[test]
fn first_livestates_of_hosts_the_module_never_saw_reach_nagios() {
    let Some(nagios) = Nagios::start() else {
        return;
    };
    let receiver = creating_receiver_for(&nagios, ("give_result", "1"));
    for (path, body) in [
        (
            "/host/host2",
            json!({"livestate": {"state": "DOWN", "output": "first from /host"}}),
        ),
        (
            "/host/test_host",
            json!({"services": [{"name": "svc1",
                                 "livestate": {"state": "CRITICAL", "output": "first svc"}}]}),
        ),
    ] {
        let reply = receiver.post_json(path, &body.to_string());
        assert_eq!(reply.status, 200, "{body}: {}", reply.body);
        let answer = reply.json();
        assert!(
            answer["_result"].as_array().is_some_and(|r| r
                .iter()
                .any(|l| l.as_str().is_some_and(|l| l.contains("_CHECK_RESULT;")))),
            "the answer lists the line sent: {answer}"
        );
    }
    let status = wait_for_blocks(
        &nagios,
        &[
            (
                "hoststatus",
                &[("host_name", "host2"), ("current_state", "1")],
            ),
            (
                "servicestatus",
                &[
                    ("host_name", "test_host"),
                    ("service_description", "svc1"),
                    ("current_state", "2"),
                ],
            ),
        ],
    );
    let host = host_status(&status, "host2");
    assert_eq!(host.get("plugin_output"), Some("first from /host"));
    let service = service_status(&status, "test_host", "svc1");
    assert_eq!(service.get("plugin_output"), Some("first svc"));
}

/// Issue 11: a changed custom variable reaches Nagios as `CHANGE_CUSTOM_HOST_VAR`, in Nagios'
/// dialect (`core nagios`: the name without its `_`). status.dat lists it as
/// `_ROOM=<modified>;<value>`.
#[test]
fn a_changed_custom_variable_shows_in_nagios() {
    let Some(nagios) = Nagios::start() else {
        return;
    };
    let receiver = setup_for(&nagios)
        .module_param("allow_host_creation", "1")
        .module_param("core", "nagios")
        .module_param("give_result", "1")
        .start();
    let body = json!({"variables": {"room": "B12"}});
    let reply = receiver.post_json("/host/test_host", &body.to_string());
    assert_eq!(reply.status, 200, "{}", reply.body);
    let status = wait_for_blocks(
        &nagios,
        &[(
            "hoststatus",
            &[("host_name", "test_host"), ("_ROOM", "1;B12")],
        )],
    );
    assert!(find(&status, "hoststatus", &[("host_name", "test_host")]).is_some());
    let log = nagios.log();
    assert_contains(
        &log,
        "EXTERNAL COMMAND: CHANGE_CUSTOM_HOST_VAR;test_host;ROOM;B12",
    );
}
