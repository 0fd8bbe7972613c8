// Over 400 lines, earned: the objects_dir rules against a real Nagios 4 (written, verified, reloaded, results held then sent), each a scenario of several steps.
//! Issue 11, item 3, end to end with a real Nagios 4 reading the module's `objects_dir` as a
//! `cfg_dir=`: hosts and services created through `/host` are written, verified with
//! `nagios4 -v`, loaded by a reload (`kill -HUP`), and their held results then sent; what a
//! request must not write never reaches a file Nagios reads.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alignak_e2e::nagios::{find, Nagios};
use alignak_e2e::{assert_contains, Client, CommandSink, Receiver, Setup};
use serde_json::json;

const RELOAD_PERIOD: u64 = 2;

fn receiver_for(nagios: &Nagios) -> Receiver {
    let cfg_dir = nagios.cfg_dir.as_ref().expect("cfg_dir");
    Setup::new()
        .sink(CommandSink::ExistingFile(nagios.command_fifo.clone()))
        .module_param("allow_host_creation", "1")
        .module_param("allow_service_creation", "1")
        .module_param("core", "nagios")
        .module_param("give_result", "1")
        .module_param("objects_dir", &cfg_dir.display().to_string())
        .module_param(
            "object_cache_file",
            &nagios.object_cache.display().to_string(),
        )
        .module_param(
            "verify_command",
            &format!("nagios4 -v {}", nagios.config_file.display()),
        )
        .module_param(
            "reload_command",
            &format!("kill -HUP $(cat {})", nagios.pid_file.display()),
        )
        .module_param("reload_period", &RELOAD_PERIOD.to_string())
        .module_param("default_host_template", "passive-host")
        .module_param("default_service_template", "passive-service")
        .start()
}

fn patch(receiver: &Receiver, host: &str, body: serde_json::Value) -> alignak_e2e::Reply {
    receiver.send_json("PATCH", &format!("/host/{host}"), &body.to_string())
}

/// [`patch`], asserting a 200; the answer for the caller's own checks.
fn patch_ok(receiver: &Receiver, host: &str, body: serde_json::Value) -> alignak_e2e::Reply {
    let reply = patch(receiver, host, body);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply
}

/// Every `*.cfg` below `dir`, as Nagios' `cfg_dir` reads them (recursively).
fn cfg_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "cfg") {
                found.push(path);
            }
        }
    }
    found
}

/// Waits until `check` holds; panics after `timeout` with the receiver's log.
fn wait_for(receiver: &Receiver, what: &str, timeout: Duration, check: impl Fn() -> bool) {
    alignak_e2e::wait_for(timeout, Duration::from_millis(100), || {
        if check() {
            return Ok(());
        }
        Err(format!(
            "never happened: {what}; the receiver's log:\n{}",
            receiver.log()
        ))
    })
}

/// Nagios reading a `cfg_dir`, a receiver writing its objects there, and that `cfg_dir`;
/// `None` where Nagios cannot run.
fn nagios_and_receiver() -> Option<(Nagios, Receiver, PathBuf)> {
    let nagios = Nagios::start_with_cfg_dir()?;
    let receiver = receiver_for(&nagios);
    let cfg_dir = nagios.cfg_dir.clone().expect("cfg_dir");
    Some((nagios, receiver, cfg_dir))
}

#[test]
fn a_created_host_is_monitored_by_nagios_with_its_state_service_and_variable() {
    let Some((mut nagios, receiver, cfg_dir)) = nagios_and_receiver() else {
        return;
    };

    // A host Nagios defines itself, unseen by the module: its first result goes at once and
    // nothing is written for it.
    let reply = patch_ok(
        &receiver,
        "test_host",
        json!({"livestate": {"state": "DOWN", "output": "known host down"}}),
    );
    assert!(
        reply
            .body
            .contains("PROCESS_HOST_CHECK_RESULT;test_host;1;known host down"),
        "{}",
        reply.body
    );
    nagios.wait_status(Duration::from_secs(20), |status| {
        find(
            status,
            "hoststatus",
            &[
                ("host_name", "test_host"),
                ("plugin_output", "known host down"),
            ],
        )
        .is_some()
    });

    // A host unknown to both, with a template, a variable, a livestate and a service.
    let started = Instant::now();
    let reply = patch_ok(
        &receiver,
        "web01",
        json!({
            "template": {"_templates": ["passive-host"], "alias": "Web server 01", "address": "10.0.0.1"},
            "variables": {"room": "R1"},
            "livestate": {"state": "DOWN", "output": "web01 is down"},
            "services": [{
                "name": "http",
                "template": {"_templates": ["passive-service"]},
                "livestate": {"state": "CRITICAL", "output": "http refused"},
            }],
        }),
    );
    let answer = reply.json();
    let result = answer["_result"].to_string();
    // Nothing is listed as sent that was not: both results are held until Nagios has them.
    assert!(
        !result.contains("PROCESS_HOST_CHECK_RESULT;web01"),
        "{result}"
    );
    assert_contains(&result, "Livestate of web01 held");
    assert_contains(&result, "Livestate of web01/http held");

    let status = nagios.wait_status(Duration::from_secs(RELOAD_PERIOD + 30), |status| {
        find(
            status,
            "hoststatus",
            &[("host_name", "web01"), ("current_state", "1")],
        )
        .is_some()
            && find(
                status,
                "servicestatus",
                &[
                    ("host_name", "web01"),
                    ("service_description", "http"),
                    ("current_state", "2"),
                ],
            )
            .is_some()
    });
    let shown = started.elapsed();
    eprintln!("created host monitored with its state after {shown:?}");
    let host = find(&status, "hoststatus", &[("host_name", "web01")]).expect("web01");
    assert_eq!(host.get("plugin_output"), Some("web01 is down"));
    assert_eq!(host.get("_ROOM"), Some("0;R1"));
    let service = find(&status, "servicestatus", &[("service_description", "http")]).unwrap();
    assert_eq!(service.get("plugin_output"), Some("http refused"));
    let file = std::fs::read_to_string(cfg_dir.join("web01.cfg")).expect("web01.cfg");
    assert_contains(&file, "alias                        Web server 01");
    assert!(
        !cfg_dir.join("test_host.cfg").exists(),
        "a host Nagios defines is never written again"
    );

    // The map says what was reloaded and what waits.
    let map = receiver.get("/alignak_map").json();
    let objects = map["receiver"]
        .as_object()
        .and_then(|r| r.values().next())
        .map(|own| own["objects"].clone())
        .expect("the receiver's entry");
    assert_eq!(objects["last_reload"]["ok"], json!(true), "{objects}");
    assert!(objects["last_refused_change"].is_null(), "{objects}");

    // A later change of a variable Nagios has: a command, no reload needed.
    let reply = patch_ok(&receiver, "web01", json!({"variables": {"room": "R2"}}));
    assert!(
        reply.body.contains("CHANGE_CUSTOM_HOST_VAR;web01;ROOM;R2"),
        "{}",
        reply.body
    );
    // `1;R2` once the command is in (modified), `0;R2` once a reload read it from the file.
    nagios.wait_status(Duration::from_secs(20), |status| {
        find(status, "hoststatus", &[("host_name", "web01")])
            .and_then(|h| h.get("_ROOM"))
            .is_some_and(|room| room.ends_with(";R2"))
    });
    // Its file follows, so a restart keeps it.
    wait_for(
        &receiver,
        "the file has the new value",
        Duration::from_secs(20),
        || {
            std::fs::read_to_string(cfg_dir.join("web01.cfg"))
                .is_ok_and(|f| f.contains("_ROOM") && f.contains("R2"))
        },
    );

    // Still there after Nagios restarts, from its own files.
    nagios.restart();
    let status = nagios.wait_status(Duration::from_secs(30), |status| {
        find(status, "hoststatus", &[("host_name", "web01")]).is_some()
            && find(status, "servicestatus", &[("service_description", "http")]).is_some()
    });
    let room = find(&status, "hoststatus", &[("host_name", "web01")]).and_then(|h| h.get("_ROOM"));
    assert!(room.is_some_and(|r| r.ends_with(";R2")), "{room:?}");
    nagios.assert_verifies();
}

#[test]
fn hostile_names_and_templates_change_nothing_nagios_reads() {
    let Some((nagios, receiver, cfg_dir)) = nagios_and_receiver() else {
        return;
    };
    let bad_request = [
        ("evil$(touch%20x)", json!({"livestate": {"state": "UP"}})),
        ("a%60id%60", json!({"livestate": {"state": "UP"}})),
        ("brace%7D", json!({"livestate": {"state": "UP"}})),
        (
            "web02",
            json!({"template": {"alias": "x\n}\ndefine command {\ncommand_name evil"}}),
        ),
        (
            "web02",
            json!({"template": {"_templates": ["passive-host\ncheck_command evil"]}}),
        ),
        (
            "web02",
            json!({"template": {"_templates": ["passive-host}"]}}),
        ),
        ("web02", json!({"template": {"hostgroups": ["g$(id)"]}})),
        (
            "web02",
            json!({"services": [{"name": "s;x", "livestate": {"state": "OK"}}]}),
        ),
        (
            "web02",
            json!({"services": [{"name": "s(x)", "livestate": {"state": "OK"}}]}),
        ),
    ];
    for (host, body) in &bad_request {
        let reply = patch(&receiver, host, body.clone());
        assert_eq!(reply.status, 400, "{host} {body}: {}", reply.body);
    }
    for template in [
        json!({"check_command": "check_dummy!$(touch /tmp/x)"}),
        json!({"event_handler": "check_dummy"}),
        json!({"alias": "a", "host_notification_commands": "x"}),
    ] {
        let reply = patch(&receiver, "web02", json!({"template": template}));
        assert_eq!(reply.status, 422, "{template}: {}", reply.body);
        let answer = reply.json();
        let issues = answer["_issues"].to_string();
        assert_contains(&issues, "cannot be created with");
    }
    // Nothing was created, nothing written.
    assert_eq!(receiver.get("/host/web02").status, 404);
    for body in [
        json!({"template": {"notes": "n }"}}),
        json!({"variables": {"note": "1\n}\ndefine command {"}}),
        json!({"variables": {"bad name": "1"}}),
        json!({"variables": {"v": {"a": 1}}}),
    ] {
        let reply = patch(&receiver, "web03", body.clone());
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
    }
    // A value with `;` is escaped, a line cannot go on to the next one.
    let reply = patch(
        &receiver,
        "web03",
        json!({"template": {"alias": "a; check_command evil", "notes": "n \\"},
               "variables": {"note": "x; y"}}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let file = cfg_dir.join("web03.cfg");
    wait_for(&receiver, "web03.cfg", Duration::from_secs(20), || {
        file.exists()
    });
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        text.lines().filter(|l| l.starts_with("define")).count(),
        1,
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.trim() == "}").count(),
        1,
        "{text}"
    );
    assert!(
        !text.contains("\ncheck_command") && !text.contains("    check_command"),
        "{text}"
    );
    wait_for(
        &receiver,
        "Nagios loaded web03",
        Duration::from_secs(30),
        || find(&nagios.status(), "hoststatus", &[("host_name", "web03")]).is_some(),
    );
    assert_eq!(cfg_files(&cfg_dir), vec![file]);
    nagios.assert_verifies();
    assert!(nagios.running());
}

#[test]
fn a_template_nagios_lacks_is_refused_and_nagios_keeps_running() {
    let Some((nagios, receiver, cfg_dir)) = nagios_and_receiver() else {
        return;
    };
    // Both in one reload period: the bad one is kept out, the good one goes in.
    patch_ok(
        &receiver,
        "ghost",
        json!({"template": {"_templates": ["no-such-template"]},
               "livestate": {"state": "DOWN", "output": "ghost"}}),
    );
    patch_ok(
        &receiver,
        "web04",
        json!({"livestate": {"state": "DOWN", "output": "web04 down"}}),
    );
    let aside = cfg_dir.join("refused").join("ghost.cfg.refused");
    wait_for(
        &receiver,
        "the refused file kept aside",
        Duration::from_secs(30),
        || aside.exists(),
    );
    assert!(!cfg_dir.join("ghost.cfg").exists());
    nagios.wait_status(Duration::from_secs(30), |status| {
        find(
            status,
            "hoststatus",
            &[("host_name", "web04"), ("plugin_output", "web04 down")],
        )
        .is_some()
    });
    assert!(nagios.running(), "Nagios must keep running");
    assert!(find(&nagios.status(), "hoststatus", &[("host_name", "ghost")]).is_none());
    nagios.assert_verifies();
    let map = receiver.get("/alignak_map").json();
    let own = map["receiver"]
        .as_object()
        .and_then(|r| r.values().next())
        .cloned()
        .expect("the receiver's entry");
    assert_eq!(
        own["objects"]["last_refused_change"]["host"], "ghost",
        "{own}"
    );
    let verifier = own["objects"]["last_refused_change"]["verifier"].to_string();
    assert_contains(&verifier, "no-such-template");
    receiver.assert_log_contains("the core refused the objects of host 'ghost'");
}

/// A thousand devices registering, in ten requests of a hundred: creations are coalesced per
/// `reload_period`, so they cost a few verifications and reloads, and every one of them ends
/// up monitored with its first result. Prints the verify and reload times (closing note).
#[test]
fn a_thousand_new_hosts_cost_a_few_reloads_and_all_get_their_first_result() {
    let Some(nagios) = Nagios::start_with_cfg_dir() else {
        return;
    };
    let receiver = receiver_for(&nagios);
    let started = Instant::now();
    let requests = 10;
    for batch in 0..requests {
        let hosts: Vec<serde_json::Value> = (0..100)
            .map(|i| {
                let n = batch * 100 + i;
                json!({"name": format!("dev{n:04}"),
                       "livestate": {"state": "DOWN", "output": format!("dev{n:04} first")}})
            })
            .collect();
        let reply = receiver.send_json(
            "PATCH",
            "/host",
            &serde_json::Value::Array(hosts).to_string(),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let accepted = started.elapsed();
    nagios.wait_status(Duration::from_secs(120), |status| {
        status
            .iter()
            .filter(|b| {
                b.kind == "hoststatus"
                    && b.get("host_name").is_some_and(|h| h.starts_with("dev"))
                    && b.get("current_state") == Some("1")
                    && b.get("plugin_output")
                        .is_some_and(|o| o.ends_with(" first"))
            })
            .count()
            == 1000
    });
    let monitored = started.elapsed();
    let log = receiver.log();
    let reloads = log.matches("objects: core reloaded").count();
    let verified: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("written and verified in"))
        .collect();
    eprintln!(
        "1000 hosts: accepted in {accepted:?}, all monitored with their first result after {monitored:?}; {reloads} reload(s)"
    );
    for line in &verified {
        eprintln!(
            "{}",
            line.split("] ")
                .nth(1)
                .unwrap_or(line)
                .chars()
                .take(90)
                .collect::<String>()
        );
    }
    assert!(
        reloads >= 1 && reloads < requests,
        "{reloads} reloads:\n{log}"
    );
    nagios.assert_verifies();
}
