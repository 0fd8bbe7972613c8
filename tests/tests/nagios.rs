//! End to end with a real Nagios 4: commands posted to our API reach Nagios through its
//! command FIFO and change what Nagios reports in status.dat and its log.

use std::time::Duration;

use alignak_e2e::nagios::{find, Nagios};
use alignak_e2e::{CommandSink, Receiver, Setup};
use serde_json::json;

fn receiver_for(nagios: &Nagios) -> Receiver {
    Setup::new()
        .sink(CommandSink::ExistingFile(nagios.command_fifo.clone()))
        .start()
}

fn post(receiver: &Receiver, body: serde_json::Value) {
    let reply = receiver.post_json("/command", &body.to_string());
    assert_eq!(reply.status, 200, "{body}: {}", reply.body);
}

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

    let status = nagios.wait_status(Duration::from_secs(20), |status| {
        find(
            status,
            "hoststatus",
            &[("host_name", "test_host"), ("current_state", "1")],
        )
        .is_some()
            && find(
                status,
                "servicestatus",
                &[("service_description", "svc1"), ("current_state", "2")],
            )
            .is_some()
            && find(status, "programstatus", &[("enable_notifications", "0")]).is_some()
            && find(status, "hostcomment", &[("host_name", "test_host")]).is_some()
    });
    let host = find(&status, "hoststatus", &[("host_name", "test_host")]).unwrap();
    assert_eq!(host.get("plugin_output"), Some("DOWN from the API"));
    assert_eq!(host.get("performance_data"), Some("rta=12.5ms;100;200"));
    assert_eq!(host.get("state_type"), Some("1"), "HARD");
    let service = find(
        &status,
        "servicestatus",
        &[("host_name", "test_host"), ("service_description", "svc1")],
    )
    .unwrap();
    assert_eq!(service.get("plugin_output"), Some("CRIT from the API"));
    assert_eq!(service.get("performance_data"), Some("load=5;1;2"));
    let comment = find(&status, "hostcomment", &[("host_name", "test_host")]).unwrap();
    assert_eq!(comment.get("author"), Some("alice"));
    assert_eq!(
        comment.get("comment_data"),
        Some("Disk Replaced by the API")
    );

    // Names keep their case on the way (the original upper-cased them).
    let log = nagios.log();
    assert!(
        log.contains("EXTERNAL COMMAND: PROCESS_HOST_CHECK_RESULT;test_host;1;DOWN from the API"),
        "{log}"
    );
    assert!(
        log.contains("EXTERNAL COMMAND: DISABLE_NOTIFICATIONS;"),
        "{log}"
    );
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
    let receiver = Setup::new()
        .sink(CommandSink::ExistingFile(nagios.command_fifo.clone()))
        .module_param("allow_host_creation", "1")
        .module_param("allow_service_creation", "1")
        .module_param("give_feedback", "0")
        .start();
    let patch = |body: serde_json::Value| {
        let reply = receiver.request(
            "PATCH",
            "/host/test_host",
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        );
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

    let status = nagios.wait_status(Duration::from_secs(20), |status| {
        find(
            status,
            "hoststatus",
            &[("host_name", "test_host"), ("current_state", "1")],
        )
        .is_some()
            && find(
                status,
                "servicestatus",
                &[("service_description", "svc1"), ("current_state", "2")],
            )
            .is_some()
            && find(status, "hostcomment", &[("host_name", "test_host")]).is_some()
    });
    let host = find(&status, "hoststatus", &[("host_name", "test_host")]).unwrap();
    assert_eq!(host.get("plugin_output"), Some("DOWN from PATCH"));
    // Nagios keeps the long output escaped in status.dat: the line break went through as `\n`.
    assert_eq!(host.get("long_plugin_output"), Some("line 2\\nline 3"));
    assert_eq!(host.get("performance_data"), Some("rta=12.5ms;100;200"));
    let service = find(
        &status,
        "servicestatus",
        &[("host_name", "test_host"), ("service_description", "svc1")],
    )
    .unwrap();
    assert_eq!(service.get("plugin_output"), Some("CRIT from PATCH"));
    assert_eq!(service.get("long_plugin_output"), Some("details"));
    assert_eq!(service.get("performance_data"), Some("load=5;1;2"));
    let comment = find(&status, "hostcomment", &[("host_name", "test_host")]).unwrap();
    assert_eq!(comment.get("author"), Some("alice"));
    assert_eq!(
        comment.get("comment_data"),
        Some("Disk replaced\\nby the API")
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
    let receiver = Setup::new()
        .sink(CommandSink::ExistingFile(nagios.command_fifo.clone()))
        .module_param("allow_host_creation", "1")
        .module_param("allow_service_creation", "1")
        .module_param("give_result", "1")
        .start();
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
    let status = nagios.wait_status(Duration::from_secs(20), |status| {
        find(
            status,
            "hoststatus",
            &[("host_name", "host2"), ("current_state", "1")],
        )
        .is_some()
            && find(
                status,
                "servicestatus",
                &[
                    ("host_name", "test_host"),
                    ("service_description", "svc1"),
                    ("current_state", "2"),
                ],
            )
            .is_some()
    });
    let host = find(&status, "hoststatus", &[("host_name", "host2")]).unwrap();
    assert_eq!(host.get("plugin_output"), Some("first from /host"));
    let service = find(
        &status,
        "servicestatus",
        &[("host_name", "test_host"), ("service_description", "svc1")],
    )
    .unwrap();
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
    let receiver = Setup::new()
        .sink(CommandSink::ExistingFile(nagios.command_fifo.clone()))
        .module_param("allow_host_creation", "1")
        .module_param("core", "nagios")
        .module_param("give_result", "1")
        .start();
    let body = json!({"variables": {"room": "B12"}});
    let reply = receiver.post_json("/host/test_host", &body.to_string());
    assert_eq!(reply.status, 200, "{}", reply.body);
    let status = nagios.wait_status(Duration::from_secs(20), |status| {
        find(
            status,
            "hoststatus",
            &[("host_name", "test_host"), ("_ROOM", "1;B12")],
        )
        .is_some()
    });
    assert!(find(&status, "hoststatus", &[("host_name", "test_host")]).is_some());
    let log = nagios.log();
    assert!(
        log.contains("EXTERNAL COMMAND: CHANGE_CUSTOM_HOST_VAR;test_host;ROOM;B12"),
        "{log}"
    );
}
