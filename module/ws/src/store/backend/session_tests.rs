// Over 400 lines, earned: one table row per upstream-spec §5 rule on the backend path, each with its whole answer and the calls it made.
//! The /host algorithm on the backend path (`BackendSession`), one case per rule of
//! upstream-spec §5, against `fake::FakeBackend`. Each case names its rule; the expected
//! answers are the spec's words. Over 400 lines: one table row per rule, with its checks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::fake::FakeBackend;
use super::names::NameLocks;
use super::{BackendSession, Settings};
use crate::config::testing::config;
use crate::hosts::request::HostRequest;
use crate::hosts::update::{update_host, Failure, Outcome, Status};
use crate::store::StoreError;

/// What a case starts from and asks.
struct Case {
    rule: &'static str,
    config: &'static [(&'static str, &'static str)],
    backend: Vec<(&'static str, Value)>,
    request: Value,
}

const NOW: i64 = 1_700_000_000;

/// Runs the request in one backend session against `fake`.
fn run(case: &Case, fake: &FakeBackend) -> Result<Outcome, Failure> {
    // No `[now] ` prefix (§6.1: only with set_timestamp) and every `_result` line shown
    // (§5.5: give_result), unless the case says otherwise.
    let mut pairs = vec![
        ("alignak_backend", "http://backend.invalid:5000"),
        ("set_timestamp", "0"),
        ("give_result", "1"),
    ];
    pairs.extend_from_slice(case.config);
    let config = config(&pairs);
    let settings = Settings::from_config(&config);
    let names = Arc::new(NameLocks::default());
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut session = BackendSession::new(fake, Some("token"), &settings, &names, deadline);
    let request = HostRequest::parse(&case.request, None)
        .unwrap_or_else(|err| panic!("{}: the request does not parse: {err}", case.rule));
    update_host(&mut session, &config, None, &request, NOW)
}

fn host(name: &str) -> (&'static str, Value) {
    (
        "host",
        json!({"name": name, "customs": {}, "active_checks_enabled": true,
               "passive_checks_enabled": true, "_realm": "realm-1"}),
    )
}

/// A service of the first host of the case.
fn service(name: &str) -> (&'static str, Value) {
    (
        "service",
        json!({"name": name, "host": format!("{:024x}", 1), "customs": {},
               "active_checks_enabled": true}),
    )
}

/// Asserts that the answer's `_result` has each of `lines`.
fn says(rule: &str, outcome: &Outcome, lines: &[&str]) {
    let result = strings(outcome.answer().get("_result"));
    for line in lines {
        assert!(
            result.iter().any(|r| r == line),
            "{rule}: {line} in {result:?}"
        );
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Every case: the rule, and what its answer and its calls must show.
#[test]
fn the_host_algorithm_on_the_backend() {
    type Check = fn(&str, &Outcome, &FakeBackend);
    let cases: Vec<(Case, Status, Check)> = vec![
        (
            Case {
                rule: "§5.3 1: not found, creation off, ignore_unknown_host off",
                config: &[],
                backend: vec![],
                request: json!({"name": "h", "livestate": {"state": "UP"}}),
            },
            Status::UnknownHost,
            |rule, outcome, fake| {
                assert_eq!(outcome.answer()["_status"], "ERR", "{rule}");
                assert_eq!(
                    strings(outcome.answer().get("_issues")),
                    ["Requested host 'h' does not exist. Note that host creation is not allowed."],
                    "{rule}"
                );
                assert_eq!(strings(outcome.answer().get("_result")), ["h is alive :)"], "{rule}");
                assert!(outcome.commands.is_empty(), "{rule}: no command queued");
                assert!(fake.bodies("POST host").is_empty(), "{rule}: nothing created");
            },
        ),
        (
            Case {
                rule: "§5.3 1: not found, creation off, ignore_unknown_host on",
                config: &[("ignore_unknown_host", "1")],
                backend: vec![],
                request: json!({"name": "h", "livestate": {"state": "UP"}}),
            },
            Status::Ok,
            |rule, outcome, _| {
                assert_eq!(outcome.answer()["_status"], "OK", "{rule}");
                assert_eq!(
                    strings(outcome.answer().get("_result")),
                    ["Requested host 'h' does not exist"],
                    "{rule}: _result replaced, no period"
                );
                assert!(outcome.commands.is_empty(), "{rule}: no livestate processed");
            },
        ),
        (
            Case {
                rule: "§5.3 1 and 5: not found, creation on: created, ls_* written, no command",
                config: &[("allow_host_creation", "1")],
                backend: vec![],
                request: json!({"name": "h", "livestate": {"state": "down", "output": "o"}}),
            },
            Status::Ok,
            |rule, outcome, fake| {
                says(rule, outcome, &[
                    "Requested host 'h' does not exist.",
                    "Requested host 'h' created.",
                ]);
                assert_eq!(fake.bodies("POST host").len(), 1, "{rule}");
                assert!(outcome.commands.is_empty(), "{rule}: not queued for a created host");
                let stored = fake.doc("host", "h").unwrap_or_default();
                assert_eq!(stored.get("ls_state"), Some(&json!("DOWN")), "{rule}: upper");
                assert_eq!(stored.get("ls_state_id"), Some(&json!(1)), "{rule}");
                assert_eq!(stored.get("ls_state_type"), Some(&json!("HARD")), "{rule}");
                assert_eq!(stored.get("ls_output"), Some(&json!("o")), "{rule}");
            },
        ),
        (
            Case {
                rule: "§5.1 3-4 and §6.3 (the README: v0.5.9+'s, not 1.6+'s logging): a host toggle that differs",
                config: &[],
                backend: vec![host("h")],
                request: json!({"name": "h", "active_checks_enabled": false,
                                "passive_checks_enabled": true}),
            },
            Status::Ok,
            |rule, outcome, fake| {
                assert_eq!(outcome.commands, ["DISABLE_HOST_CHECK;h"], "{rule}: only the change");
                says(rule, outcome, &[
                    "Host h active checks will be disabled.",
                    "Sent external command: DISABLE_HOST_CHECK;h.",
                    "Host 'h' updated.",
                ]);
                let patches = fake.bodies("PATCH host");
                assert_eq!(patches.len(), 1, "{rule}: {patches:?}");
                assert_eq!(patches[0]["active_checks_enabled"], false, "{rule}: {patches:?}");
            },
        ),
        (
            Case {
                rule: "§5.4 3 and §6.3: a service toggle that differs: command, message, update",
                config: &[],
                backend: vec![
                    host("h"),
                    service("s"),
                ],
                request: json!({"name": "h", "services": [
                    {"name": "s", "active_checks_enabled": false}]}),
            },
            Status::Ok,
            |rule, outcome, fake| {
                assert_eq!(outcome.commands, ["DISABLE_SVC_CHECK;h;s"], "{rule}");
                says(rule, outcome, &[
                    "Service h/s active checks will be disabled.",
                    "Sent external command: DISABLE_SVC_CHECK;h;s.",
                ]);
                assert_eq!(
                    fake.bodies("PATCH service"),
                    [json!({"active_checks_enabled": false})],
                    "{rule}: the backend updated"
                );
            },
        ),
        (
            Case {
                rule: "§5.4 3: an unchanged service toggle: no command, nothing PATCHed",
                config: &[],
                backend: vec![
                    host("h"),
                    service("s"),
                ],
                request: json!({"name": "h", "services": [
                    {"name": "s", "active_checks_enabled": true}]}),
            },
            Status::Ok,
            |rule, outcome, fake| {
                assert!(outcome.commands.is_empty(), "{rule}");
                assert!(fake.bodies("PATCH service").is_empty(), "{rule}");
                says(rule, outcome, &["Service 'h/s' unchanged."]);
            },
        ),
        (
            Case {
                rule: "§7: variables become _UPPER customs, PATCHed whole; 'updated'",
                config: &[],
                backend: vec![(
                    "host",
                    json!({"name": "h", "customs": {"_KEEP": "k", "_TEST1": "old"}}),
                )],
                request: json!({"name": "h", "variables": {"test1": "new", "List_Packages": "p"}}),
            },
            Status::Ok,
            |rule, outcome, fake| {
                assert_eq!(
                    fake.bodies("PATCH host"),
                    [json!({"customs": {"_KEEP": "k", "_TEST1": "new", "_LIST_PACKAGES": "p"}})],
                    "{rule}"
                );
                says(rule, outcome, &["Host 'h' updated."]);
            },
        ),
        (
            Case {
                rule: "§7: variables equal to the customs: 'unchanged', nothing PATCHed",
                config: &[],
                backend: vec![("host", json!({"name": "h", "customs": {"_TEST1": "same"}}))],
                request: json!({"name": "h", "variables": {"test1": "same"}}),
            },
            Status::Ok,
            |rule, outcome, fake| {
                assert!(fake.bodies("PATCH host").is_empty(), "{rule}");
                says(rule, outcome, &["Host 'h' unchanged."]);
            },
        ),
        (
            Case {
                rule: "§5.3 5 and §6.1: a livestate list: one command per entry, in request order; a heartbeat is not an update",
                config: &[],
                backend: vec![host("h")],
                request: json!({"name": "h", "livestate": [
                    {"state": "UP", "output": "first"},
                    {"state": "DOWN", "output": "second", "perf_data": "x=1", "long_output": "l"}]}),
            },
            Status::Ok,
            |rule, outcome, fake| {
                assert_eq!(
                    outcome.commands,
                    [
                        "PROCESS_HOST_CHECK_RESULT;h;0;first",
                        "PROCESS_HOST_CHECK_RESULT;h;1;second|x=1\nl"
                    ],
                    "{rule}"
                );
                let result = strings(outcome.answer().get("_result"));
                for line in &outcome.commands {
                    assert!(result.contains(line), "{rule}: {line} in {result:?}");
                }
                assert!(
                    !result.iter().any(|r| r.contains("unchanged") || r.contains("updated")),
                    "{rule}: {result:?}"
                );
                assert!(fake.bodies("PATCH host").is_empty(), "{rule}: no ls_* without livestate_update");
            },
        ),
        (
            Case {
                rule: "§5.3 5: alignak_backend_livestate_update: ls_* PATCHed, the last entry wins",
                config: &[("alignak_backend_livestate_update", "1")],
                backend: vec![host("h")],
                request: json!({"name": "h", "livestate": [
                    {"state": "UP", "output": "first", "timestamp": 10},
                    {"state": "UNREACHABLE", "output": "last", "timestamp": 20}]}),
            },
            Status::Ok,
            |rule, outcome, fake| {
                assert_eq!(outcome.commands.len(), 2, "{rule}: still sent");
                let patches = fake.bodies("PATCH host");
                assert_eq!(patches.len(), 1, "{rule}: {patches:?}");
                assert_eq!(patches[0]["ls_state"], "UNREACHABLE", "{rule}");
                assert_eq!(patches[0]["ls_state_id"], 2, "{rule}");
                assert_eq!(patches[0]["ls_output"], "last", "{rule}");
                assert_eq!(patches[0]["ls_last_check"], 20, "{rule}");
            },
        ),
        (
            Case {
                rule: "§9: a timestamped livestate posts a log check result (old_lcr)",
                config: &[],
                backend: vec![host("h")],
                request: json!({"name": "h", "livestate": {"state": "DOWN", "output": "o",
                                                          "timestamp": 1234}}),
            },
            Status::Ok,
            |rule, _, fake| {
                let lcrs = fake.bodies("POST logcheckresult");
                assert_eq!(lcrs.len(), 1, "{rule}");
                assert_eq!(lcrs[0]["last_check"], 1234, "{rule}");
                assert_eq!(lcrs[0]["state"], "DOWN", "{rule}");
                assert_eq!(lcrs[0]["host"], json!(format!("{:024x}", 1)), "{rule}");
            },
        ),
        (
            Case {
                rule: "§5.1 6: a bad host state is an issue, ERR; the rest is processed",
                config: &[],
                backend: vec![host("h")],
                request: json!({"name": "h", "livestate": [{"state": "broken"}, {"output": "x"},
                                                          {"state": "UP"}]}),
            },
            Status::Issues,
            |rule, outcome, _| {
                assert_eq!(outcome.answer()["_status"], "ERR", "{rule}");
                assert_eq!(
                    strings(outcome.answer().get("_issues")),
                    [
                        "Host state must be UP, DOWN or UNREACHABLE, and not 'BROKEN'.",
                        "Missing state in the livestate."
                    ],
                    "{rule}"
                );
                assert_eq!(outcome.commands, ["PROCESS_HOST_CHECK_RESULT;h;0;"], "{rule}");
            },
        ),
        (
            Case {
                rule: "§5.4 2: service not found, creation off, ignore_unknown_service off: issue, ERR",
                config: &[("ignore_unknown_service", "0")],
                backend: vec![host("h")],
                request: json!({"name": "h", "services": [{"name": "s", "livestate": {"state": "OK"}}]}),
            },
            Status::Issues,
            |rule, outcome, fake| {
                assert_eq!(outcome.answer()["_status"], "ERR", "{rule}");
                assert_eq!(
                    strings(outcome.answer().get("_issues")),
                    ["Requested service 'h/s' does not exist. Note that service creation is not allowed."],
                    "{rule}"
                );
                assert!(outcome.commands.is_empty(), "{rule}: its livestate is not processed");
                assert!(fake.bodies("POST service").is_empty(), "{rule}");
            },
        ),
        (
            Case {
                rule: "§5.4 2: service not found, ignore_unknown_service on (the default): in _result, OK",
                config: &[],
                backend: vec![host("h")],
                request: json!({"name": "h", "services": [{"name": "s", "livestate": {"state": "OK"}}]}),
            },
            Status::Ok,
            |rule, outcome, _| {
                says(
                    rule,
                    outcome,
                    &["Requested service 'h/s' does not exist. Note that service creation is not allowed."],
                );
                assert!(outcome.commands.is_empty(), "{rule}");
            },
        ),
        (
            Case {
                rule: "§5.4 1 and §5.3 5: service creation on a created host: created, its ls_* written, no command",
                config: &[("allow_host_creation", "1"), ("allow_service_creation", "1")],
                backend: vec![],
                request: json!({"name": "h", "services": [{"name": "s", "livestate": {"state": "critical"}}]}),
            },
            Status::Ok,
            |rule, outcome, fake| {
                says(rule, outcome, &[
                    "Requested service 'h/s' does not exist.",
                    "Requested service 'h/s' created.",
                ]);
                assert!(outcome.commands.is_empty(), "{rule}: not queued for a created host");
                let host_id = fake.doc("host", "h").and_then(|h| h.get("_id").cloned());
                let service = fake.doc("service", "s").unwrap_or_default();
                assert_eq!(service.get("host"), host_id.as_ref(), "{rule}: host=<host _id>");
                assert_eq!(service.get("ls_state"), Some(&json!("CRITICAL")), "{rule}");
                assert_eq!(service.get("ls_state_id"), Some(&json!(2)), "{rule}");
            },
        ),
        (
            Case {
                rule: "§5.5: give_feedback 1, default feedback_host: _feedback is {name}",
                config: &[("give_feedback", "1")],
                backend: vec![host("h")],
                request: json!({"name": "h", "livestate": {"state": "UP"}}),
            },
            Status::Ok,
            |rule, outcome, _| {
                assert_eq!(outcome.answer().get("_feedback"), Some(&json!({"name": "h"})), "{rule}");
            },
        ),
        (
            Case {
                rule: "§5.5: give_feedback 0, give_result off: a heartbeat is just OK",
                config: &[("give_feedback", "0"), ("give_result", "0")],
                backend: vec![host("h")],
                request: json!({"name": "h", "livestate": {"state": "UP"}}),
            },
            Status::Ok,
            |rule, outcome, _| {
                assert_eq!(outcome.answer(), json!({"_status": "OK"}), "{rule}");
            },
        ),
    ];
    for (case, status, check) in cases {
        let fake = FakeBackend::with(&case.backend);
        match run(&case, &fake) {
            Ok(outcome) => {
                assert_eq!(outcome.status, status, "{}: {:?}", case.rule, outcome.body);
                check(case.rule, &outcome, &fake);
            }
            Err(failure) => panic!("{}: the session failed: {}", case.rule, failure.error),
        }
    }
}

/// The backend applies each call when it is made: a failure part-way gives back the commands
/// built before it (the dispatch sends them, as the original did), and what was written stays.
#[test]
fn a_call_that_fails_part_way_gives_the_commands_built_before_it() {
    let case = Case {
        rule: "a failed PATCH after the livestate's command",
        config: &[],
        backend: vec![("host", json!({"name": "h", "customs": {"_A": "old"}}))],
        request: json!({"name": "h", "livestate": {"state": "UP", "output": "o"},
                        "variables": {"a": "new"}}),
    };
    let fake = FakeBackend::with(&case.backend);
    fake.fail_next("PATCH host");
    let Err(Failure { error, commands }) = run(&case, &fake) else {
        panic!("{}: the failure is not told", case.rule);
    };
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("Alignak backend is not available currently"),
        "the original's message: {error}"
    );
    assert_eq!(commands, ["PROCESS_HOST_CHECK_RESULT;h;0;o"]);
}

/// A host lookup that fails: the request stops before anything is built.
#[test]
fn an_unreachable_backend_on_the_lookup_builds_nothing() {
    let case = Case {
        rule: "the lookup fails",
        config: &[("allow_host_creation", "1")],
        backend: vec![],
        request: json!({"name": "h", "livestate": {"state": "UP"}}),
    };
    let fake = FakeBackend::with(&case.backend);
    fake.fail_next("GET host");
    let Err(Failure { error, commands }) = run(&case, &fake) else {
        panic!("{}: the failure is not told", case.rule);
    };
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert!(commands.is_empty());
    assert!(fake.bodies("POST host").is_empty(), "nothing created");
}
