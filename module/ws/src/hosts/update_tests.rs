// Over 400 lines, earned: one table row per upstream-spec §5 rule of the /host algorithm, each with its whole answer, commands and stored state.
//! The algorithm against a real embedded store in a temp dir, without a process: the rules
//! of issue 11 (no result dropped, variables to the core, held results with `objects_dir`),
//! then upstream-spec §5 rule by rule as tables (SPEC.md where it differs on purpose), each
//! row naming the rule it checks. Long because it is tables, one row per rule.

use super::*;
use crate::auth::Caller;
use crate::store::embedded::EmbeddedStore;
use crate::store::model::NewElement;
use crate::store::{Lookups, Store};
use serde_json::json;

use crate::config::testing::config;
use crate::core_objects::CoreObjects;

struct Fixture {
    dir: tempfile::TempDir,
    store: EmbeddedStore,
    config: WsConfig,
    objects: Option<std::sync::Arc<CoreObjects>>,
}

/// `cache`: the core's object cache, `Some` to turn `objects_dir` on.
fn fixture(cache: Option<&str>) -> Fixture {
    fixture_with(&[], cache)
}

/// The fixture with module keys set over its defaults (creation on, `give_result`, no
/// `set_timestamp`, Nagios dialect).
fn fixture_with(overrides: &[(&str, &str)], cache: Option<&str>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (store, error) = EmbeddedStore::open(&dir.path().join("ws.sqlite"));
    assert!(error.is_none(), "{error:?}");
    let mut pairs = vec![
        ("allow_host_creation", "1"),
        ("allow_service_creation", "1"),
        ("give_result", "1"),
        ("set_timestamp", "0"),
        ("core", "nagios"),
    ];
    for (key, value) in overrides {
        pairs.retain(|(k, _)| k != key);
        pairs.push((key, value));
    }
    let objects_dir = dir.path().join("objects").display().to_string();
    let cache_file = dir.path().join("objects.cache").display().to_string();
    if cache.is_some() {
        pairs.push(("objects_dir", &objects_dir));
        pairs.push(("object_cache_file", &cache_file));
    }
    let config = config(&pairs);
    let objects = cache.map(|text| {
        std::fs::write(&cache_file, text).unwrap();
        CoreObjects::new(config.objects.clone().unwrap(), config.core).unwrap()
    });
    Fixture {
        dir,
        store,
        config,
        objects,
    }
}

impl Fixture {
    fn catalog(&self) -> Option<&dyn CoreCatalog> {
        self.objects.as_deref().map(|o| o as &dyn CoreCatalog)
    }
}

/// The `now` every request runs at.
const NOW: i64 = 1000;

fn update(f: &Fixture, name: &str, body: Value) -> Outcome {
    let request = HostRequest::parse(&body, Some(name)).unwrap();
    let mut outcome = None;
    f.store
        .session(&Caller::default(), &mut |session| {
            outcome = Some(
                update_host(session, &f.config, f.catalog(), &request, NOW)
                    .map_err(|failure| failure.error)?,
            );
            Ok(())
        })
        .unwrap();
    outcome.unwrap()
}

const CACHE: &str = "define host {\n\thost_name\tknown\n\t_ROOM\tR0\n\t}\n";

#[test]
fn without_objects_dir_every_result_is_sent_also_for_a_created_host() {
    let f = fixture(None);
    let out = update(
        &f,
        "new",
        json!({"livestate": {"state": "DOWN", "output": "o"},
               "services": [{"name": "s", "livestate": {"state": "OK", "output": "ok"}}]}),
    );
    assert_eq!(out.status, Status::Ok, "{:?}", out.body);
    assert_eq!(
        out.commands,
        [
            "PROCESS_HOST_CHECK_RESULT;new;1;o",
            "PROCESS_SERVICE_CHECK_RESULT;new;s;0;ok"
        ]
    );
    // The answer lists exactly what is sent.
    let result = out.answer()["_result"].to_string();
    for line in &out.commands {
        assert!(result.contains(line.as_str()), "{result}");
    }
    assert!(out.objects.is_empty());
}

#[test]
fn a_changed_variable_is_sent_once_in_the_cores_dialect() {
    let f = fixture(None);
    let out = update(&f, "h", json!({"variables": {"room": "B12"}}));
    assert_eq!(out.commands, ["CHANGE_CUSTOM_HOST_VAR;h;ROOM;B12"]);
    let again = update(&f, "h", json!({"variables": {"room": "B12"}}));
    assert!(again.commands.is_empty(), "{:?}", again.commands);
    let deleted = update(&f, "h", json!({"variables": {"room": "__delete__"}}));
    assert!(deleted.commands.is_empty());
    assert!(deleted.answer()["_result"]
        .to_string()
        .contains("the core cannot delete a custom variable"));
}

#[test]
fn with_objects_dir_what_the_core_lacks_is_held_and_marked_and_the_rest_is_sent() {
    let f = fixture(Some(CACHE));
    // A host the core has: sent at once, nothing to write.
    let known = update(
        &f,
        "known",
        json!({"livestate": {"state": "UP", "output": "k"}}),
    );
    assert_eq!(known.commands, ["PROCESS_HOST_CHECK_RESULT;known;0;k"]);
    assert!(known.objects.is_empty());
    // A host it lacks: held, marked, no line listed that is not sent.
    let new = update(
        &f,
        "web01",
        json!({"livestate": {"state": "DOWN", "output": "w"},
               "active_checks_enabled": false}),
    );
    assert!(new.commands.is_empty(), "{:?}", new.commands);
    let result = new.answer()["_result"].to_string();
    assert!(result.contains("Livestate of web01 held"), "{result}");
    assert!(!result.contains("PROCESS_HOST_CHECK_RESULT"), "{result}");
    assert!(new.objects.contains("web01"));
    // A new service of a host the core has: held, and that host's file marked.
    let service = update(
        &f,
        "known",
        json!({"services": [{"name": "http", "livestate": {"state": "OK"}}]}),
    );
    assert!(service.commands.is_empty(), "{:?}", service.commands);
    assert!(service.objects.contains("known"));
    // The held livestate is kept as the element's last state, to be sent later.
    let mut stored = None;
    f.store
        .session(&Caller::default(), &mut |s| {
            stored = s.host("web01")?;
            Ok(())
        })
        .unwrap();
    assert_eq!(stored.unwrap().livestate.unwrap().output, "w");
    assert!(f.dir.path().join("objects").is_dir());
}

#[test]
fn with_objects_dir_variables_follow_what_the_core_has() {
    let f = fixture(Some(CACHE));
    // The core's object has _ROOM: a command.
    let has = update(&f, "known", json!({"variables": {"room": "R1"}}));
    assert_eq!(has.commands, ["CHANGE_CUSTOM_HOST_VAR;known;ROOM;R1"]);
    // It lacks _RACK and the module did not write it: kept here only, said so.
    let lacks = update(&f, "known", json!({"variables": {"rack": "7"}}));
    assert!(lacks.commands.is_empty());
    assert!(lacks.answer()["_result"]
        .to_string()
        .contains("kept here only"));
    assert!(lacks.objects.is_empty());
    // A host the module writes: the variable goes to its file.
    let ours = update(&f, "web01", json!({"variables": {"rack": "7"}}));
    assert!(ours.commands.is_empty());
    assert!(ours.answer()["_result"]
        .to_string()
        .contains("written to its object file"));
    assert!(ours.objects.contains("web01"));
}

// ---------------------------------------------------------------------------------------
// Upstream-spec §5, rule by rule (SPEC.md where it differs on purpose): each row runs on a
// fresh store, seeded directly (not through the algorithm), and is checked whole: status,
// answer, commands, and what the store keeps.

/// An element put in the store before the request: `"h"` or `"h/s"`, and its document's
/// `customs`, check flags and other `fields` (absent: the backend's defaults).
type Seed = (&'static str, Value);

struct Case {
    rule: &'static str,
    /// Module keys over the fixture's.
    config: &'static [(&'static str, &'static str)],
    seed: Vec<Seed>,
    body: Value,
    status: Status,
    answer: Value,
    commands: &'static [&'static str],
    /// `"h"` or `"h/s"`, and fields its stored document must have (`null`: must lack);
    /// a `null` document: the element must not exist.
    stored: Vec<(&'static str, Value)>,
}

/// Every row targets this host (the path's name).
const HOST: &str = "h";
const ALIVE: &str = "h is alive :)";

fn split(path: &str) -> (&str, Option<&str>) {
    match path.split_once('/') {
        Some((host, service)) => (host, Some(service)),
        None => (path, None),
    }
}

fn seed(f: &Fixture, seeds: &[Seed]) {
    f.store
        .session(&Caller::default(), &mut |s| {
            for (path, doc) in seeds {
                let (host, service) = split(path);
                let mut new = NewElement::named(service.unwrap_or(host));
                if let Some(customs) = doc.get("customs").and_then(Value::as_object) {
                    new.customs = customs.clone();
                }
                if let Some(fields) = doc.get("fields").and_then(Value::as_object) {
                    new.fields = fields.clone();
                }
                let flag = |key: &str, default: bool| {
                    doc.get(key).and_then(Value::as_bool).unwrap_or(default)
                };
                new.active_checks_enabled = flag("active_checks_enabled", true);
                new.passive_checks_enabled = flag("passive_checks_enabled", true);
                new.check_freshness = flag("check_freshness", false);
                match service {
                    None => {
                        s.create(Kind::Host, None, &new)?;
                    }
                    Some(_) => {
                        let host_id = s.host(host)?.expect("seed the host first").id;
                        s.create(Kind::Service, Some(host_id), &new)?;
                    }
                }
            }
            Ok(())
        })
        .unwrap();
}

fn stored(f: &Fixture, path: &str) -> Option<Map<String, Value>> {
    let (host, service) = split(path);
    let mut doc = None;
    f.store
        .session(&Caller::default(), &mut |s| {
            let Some(h) = s.host(host)? else {
                return Ok(());
            };
            doc = match service {
                None => Some(h.document()),
                Some(service) => s.service(h.id, service)?.map(|s| s.document()),
            };
            Ok(())
        })
        .unwrap();
    doc
}

fn run(cases: Vec<Case>) {
    let count = cases.len();
    for case in cases {
        let rule = case.rule;
        let f = fixture_with(case.config, None);
        seed(&f, &case.seed);
        let out = update(&f, HOST, case.body.clone());
        assert_eq!(
            out.answer(),
            case.answer,
            "rule: {rule}\nbody: {}",
            case.body
        );
        assert_eq!(out.status, case.status, "rule: {rule}");
        assert_eq!(out.commands, case.commands, "rule: {rule}");
        // SPEC §5: an answer lists exactly the lines sent, each once.
        if let Some(Value::Array(result)) = out.answer().get("_result") {
            for line in &out.commands {
                let listed = result.iter().filter(|r| {
                    r.as_str() == Some(line)
                        || r.as_str() == Some(&format!("Sent external command: {line}."))
                });
                assert_eq!(listed.count(), 1, "rule: {rule}: {line} in {result:?}");
            }
        }
        assert!(out.objects.is_empty(), "rule: {rule}: no objects_dir");
        for (path, expected) in &case.stored {
            let doc = stored(&f, path);
            let Value::Object(fields) = expected else {
                assert!(
                    doc.is_none(),
                    "rule: {rule}: {path} must not exist: {doc:?}"
                );
                continue;
            };
            let doc = doc.unwrap_or_else(|| panic!("rule: {rule}: {path} not stored"));
            for (key, value) in fields {
                assert_eq!(
                    doc.get(key).unwrap_or(&Value::Null),
                    value,
                    "rule: {rule}: {path}.{key}"
                );
            }
        }
    }
    eprintln!("{count} cases");
}

/// The answer of a processed request: OK, its `_result`, the default feedback.
fn ok(result: &[&str]) -> Value {
    json!({"_status": "OK", "_result": result, "_feedback": {"name": HOST}})
}

fn err(result: &[&str], issues: &[&str]) -> Value {
    json!({"_status": "ERR", "_result": result, "_issues": issues})
}

fn host() -> Seed {
    ("h", json!({}))
}

const UNKNOWN_HOST: &str =
    "Requested host 'h' does not exist. Note that host creation is not allowed.";
const DOES_NOT_EXIST: &str = "Requested host 'h' does not exist.";
const CREATED: &str = "Requested host 'h' created.";
const UPDATED: &str = "Host 'h' updated.";
const UNCHANGED: &str = "Host 'h' unchanged.";
const NO_SERVICE: &str =
    "Requested service 'h/s' does not exist. Note that service creation is not allowed.";

#[test]
fn host_not_found_and_creation() {
    run(vec![
        Case {
            rule: "§5.3 step 1: unknown host, creation off ⇒ ERR at once (404), nothing processed",
            config: &[("allow_host_creation", "0")],
            seed: vec![],
            body: json!({"livestate": {"state": "UP"}, "variables": {"a": "1"},
                         "services": [{"name": "s", "livestate": {"state": "OK"}}]}),
            status: Status::UnknownHost,
            answer: err(&[ALIVE], &[UNKNOWN_HOST]),
            commands: &[],
            stored: vec![("h", Value::Null)],
        },
        Case {
            rule: "§5.3 step 1: unknown host, ignore_unknown_host ⇒ OK, _result replaced, empty _issues kept, nothing processed",
            config: &[("allow_host_creation", "0"), ("ignore_unknown_host", "1")],
            seed: vec![],
            body: json!({"livestate": {"state": "UP"}}),
            status: Status::Ok,
            answer: json!({"_status": "OK", "_result": ["Requested host 'h' does not exist"], "_issues": []}),
            commands: &[],
            stored: vec![("h", Value::Null)],
        },
        Case {
            rule: "§5.3 step 1: ignore_unknown_host returns before give_result/give_feedback apply",
            config: &[("allow_host_creation", "0"), ("ignore_unknown_host", "1"), ("give_result", "0"), ("give_feedback", "2")],
            seed: vec![],
            body: json!({"livestate": {"state": "UP"}}),
            status: Status::Ok,
            answer: json!({"_status": "OK", "_result": ["Requested host 'h' does not exist"], "_issues": []}),
            commands: &[],
            stored: vec![("h", Value::Null)],
        },
        Case {
            rule: "§5.1 step 2: creation off, the host exists ⇒ processed",
            config: &[("allow_host_creation", "0")],
            seed: vec![host()],
            body: json!({"livestate": {"state": "UP", "output": "o"}}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "PROCESS_HOST_CHECK_RESULT;h;0;o"]),
            commands: &["PROCESS_HOST_CHECK_RESULT;h;0;o"],
            stored: vec![("h", json!({"ls_output": "o"}))],
        },
        Case {
            rule: "§5.1 step 2 + §5.3 step 5 + SPEC §5: created without template; its livestate is an update, and sent",
            config: &[],
            seed: vec![],
            body: json!({"livestate": {"state": "UP", "output": "o"}}),
            status: Status::Ok,
            answer: ok(&[ALIVE, DOES_NOT_EXIST, CREATED, "PROCESS_HOST_CHECK_RESULT;h;0;o", UPDATED]),
            commands: &["PROCESS_HOST_CHECK_RESULT;h;0;o"],
            stored: vec![("h", json!({"name": "h", "active_checks_enabled": true,
                                      "passive_checks_enabled": true, "check_freshness": false,
                                      "customs": {}, "ls_state": "UP"}))],
        },
        Case {
            rule: "§5.1 step 8 (update None) + §8.2: created from its template: fields copied, _overall_state_id skipped; feedback_host read back",
            config: &[("feedback_host", "alias,notes")],
            seed: vec![],
            body: json!({"template": {"alias": "Web", "notes": "n", "_overall_state_id": 3}}),
            status: Status::Ok,
            answer: json!({"_status": "OK", "_result": [ALIVE, DOES_NOT_EXIST, CREATED],
                           "_feedback": {"name": "h", "alias": "Web", "notes": "n"}}),
            commands: &[],
            stored: vec![("h", json!({"alias": "Web", "notes": "n", "_overall_state_id": null}))],
        },
        Case {
            rule: "§8.2 + §8.3: template check flags and customs; _realm after realm_case upper",
            config: &[("realm_case", "upper")],
            seed: vec![],
            body: json!({"template": {"_realm": "north", "active_checks_enabled": false,
                                      "check_freshness": true, "customs": {"_ROOM": "R1"}}}),
            status: Status::Ok,
            answer: ok(&[ALIVE, DOES_NOT_EXIST, CREATED]),
            commands: &[],
            stored: vec![("h", json!({"_realm": "NORTH", "active_checks_enabled": false,
                                      "check_freshness": true, "customs": {"_ROOM": "R1"}}))],
        },
        Case {
            rule: "§8.3: realm 'All' is never re-cased",
            config: &[("realm_case", "lower")],
            seed: vec![],
            body: json!({"template": {"_realm": "All"}}),
            status: Status::Ok,
            answer: ok(&[ALIVE, DOES_NOT_EXIST, CREATED]),
            commands: &[],
            stored: vec![("h", json!({"_realm": "All"}))],
        },
        Case {
            rule: "§8.2: _templates names a stored host template (_is_template): its fields, customs and check flags are inherited",
            config: &[],
            seed: vec![("tpl", json!({"fields": {"_is_template": true, "alias": "T"},
                                      "customs": {"_ROOM": "R9"}, "active_checks_enabled": false}))],
            body: json!({"template": {"_templates": ["tpl"]}}),
            status: Status::Ok,
            answer: ok(&[ALIVE, DOES_NOT_EXIST, CREATED]),
            commands: &[],
            stored: vec![("h", json!({"alias": "T", "customs": {"_ROOM": "R9"},
                                      "active_checks_enabled": false, "_is_template": null}))],
        },
        Case {
            rule: "§8.2: _templates names a host that is not a template (nothing resolved) ⇒ nothing inherited",
            config: &[],
            seed: vec![("plain", json!({"customs": {"_ROOM": "R9"}, "active_checks_enabled": false}))],
            body: json!({"template": {"_templates": ["plain"]}}),
            status: Status::Ok,
            answer: ok(&[ALIVE, DOES_NOT_EXIST, CREATED]),
            commands: &[],
            stored: vec![("h", json!({"customs": {}, "active_checks_enabled": true}))],
        },
        Case {
            rule: "§5.2 step 1: unknown service, creation on ⇒ created from its template, its livestate sent",
            config: &[],
            seed: vec![host()],
            body: json!({"services": [{"name": "s", "template": {"alias": "S"},
                                       "livestate": {"state": "OK", "output": "fine"}}]}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "Requested service 'h/s' does not exist.",
                         "Requested service 'h/s' created.",
                         "PROCESS_SERVICE_CHECK_RESULT;h;s;0;fine"]),
            commands: &["PROCESS_SERVICE_CHECK_RESULT;h;s;0;fine"],
            stored: vec![("h/s", json!({"alias": "S", "ls_state": "OK", "ls_output": "fine"}))],
        },
        Case {
            rule: "§5.4 step 2: unknown service, creation off, ignore_unknown_service (default) ⇒ said in _result, OK, its livestate not processed",
            config: &[("allow_service_creation", "0")],
            seed: vec![host()],
            body: json!({"services": [{"name": "s", "livestate": {"state": "OK"}}]}),
            status: Status::Ok,
            answer: ok(&[ALIVE, NO_SERVICE]),
            commands: &[],
            stored: vec![("h/s", Value::Null)],
        },
        Case {
            rule: "§5.4 step 2 + §5.5: unknown service, ignore_unknown_service off ⇒ issue, ERR, _feedback {} (services given)",
            config: &[("allow_service_creation", "0"), ("ignore_unknown_service", "0")],
            seed: vec![host()],
            body: json!({"services": [{"name": "s", "livestate": {"state": "OK"}}]}),
            status: Status::Issues,
            answer: json!({"_status": "ERR", "_result": [ALIVE], "_issues": [NO_SERVICE], "_feedback": {}}),
            commands: &[],
            stored: vec![("h/s", Value::Null)],
        },
    ]);
}

#[test]
fn check_toggles() {
    run(vec![
        Case {
            rule: "§5.1 step 3: active_checks_enabled false on an enabled host ⇒ message, DISABLE_HOST_CHECK, updated",
            config: &[],
            seed: vec![host()],
            body: json!({"active_checks_enabled": false}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "Host h active checks will be disabled.",
                         "Sent external command: DISABLE_HOST_CHECK;h.", UPDATED]),
            commands: &["DISABLE_HOST_CHECK;h"],
            stored: vec![("h", json!({"active_checks_enabled": false, "passive_checks_enabled": true}))],
        },
        Case {
            rule: "§5.1 step 3: active_checks_enabled true on a disabled host ⇒ ENABLE_HOST_CHECK",
            config: &[],
            seed: vec![("h", json!({"active_checks_enabled": false}))],
            body: json!({"active_checks_enabled": true}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "Host h active checks will be enabled.",
                         "Sent external command: ENABLE_HOST_CHECK;h.", UPDATED]),
            commands: &["ENABLE_HOST_CHECK;h"],
            stored: vec![("h", json!({"active_checks_enabled": true}))],
        },
        Case {
            rule: "§5.1 step 4: passive_checks_enabled false ⇒ DISABLE_PASSIVE_HOST_CHECKS",
            config: &[],
            seed: vec![host()],
            body: json!({"passive_checks_enabled": false}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "Host h passive checks will be disabled.",
                         "Sent external command: DISABLE_PASSIVE_HOST_CHECKS;h.", UPDATED]),
            commands: &["DISABLE_PASSIVE_HOST_CHECKS;h"],
            stored: vec![("h", json!({"passive_checks_enabled": false, "active_checks_enabled": true}))],
        },
        Case {
            rule: "§5.1 step 4: passive_checks_enabled true on a disabled host ⇒ ENABLE_PASSIVE_HOST_CHECKS",
            config: &[],
            seed: vec![("h", json!({"passive_checks_enabled": false}))],
            body: json!({"passive_checks_enabled": true}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "Host h passive checks will be enabled.",
                         "Sent external command: ENABLE_PASSIVE_HOST_CHECKS;h.", UPDATED]),
            commands: &["ENABLE_PASSIVE_HOST_CHECKS;h"],
            stored: vec![("h", json!({"passive_checks_enabled": true}))],
        },
        Case {
            rule: "§5.1 steps 3-4 + §6.3: booleans equal to the host's ⇒ no command, update False ⇒ unchanged",
            config: &[],
            seed: vec![host()],
            body: json!({"active_checks_enabled": true, "passive_checks_enabled": true}),
            status: Status::Ok,
            answer: ok(&[ALIVE, UNCHANGED]),
            commands: &[],
            stored: vec![],
        },
        Case {
            rule: "§5.1 steps 3-4: both toggles, active first whatever the body's order",
            config: &[],
            seed: vec![host()],
            body: json!({"passive_checks_enabled": false, "active_checks_enabled": false}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "Host h active checks will be disabled.",
                         "Sent external command: DISABLE_HOST_CHECK;h.",
                         "Host h passive checks will be disabled.",
                         "Sent external command: DISABLE_PASSIVE_HOST_CHECKS;h.", UPDATED]),
            commands: &["DISABLE_HOST_CHECK;h", "DISABLE_PASSIVE_HOST_CHECKS;h"],
            stored: vec![],
        },
        Case {
            rule: "§6.3: set_timestamp ⇒ the toggle is prefixed with [now]",
            config: &[("set_timestamp", "1")],
            seed: vec![host()],
            body: json!({"active_checks_enabled": false}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "Host h active checks will be disabled.",
                         "Sent external command: [1000] DISABLE_HOST_CHECK;h.", UPDATED]),
            commands: &["[1000] DISABLE_HOST_CHECK;h"],
            stored: vec![],
        },
        Case {
            rule: "SPEC §5 (over §6.3 1.5.0+ and §5.4 step 3): a toggle of a host this request created is sent",
            config: &[],
            seed: vec![],
            body: json!({"active_checks_enabled": false}),
            status: Status::Ok,
            answer: ok(&[ALIVE, DOES_NOT_EXIST, CREATED, "Host h active checks will be disabled.",
                         "Sent external command: DISABLE_HOST_CHECK;h.", UPDATED]),
            commands: &["DISABLE_HOST_CHECK;h"],
            stored: vec![("h", json!({"active_checks_enabled": false}))],
        },
        Case {
            rule: "§5.2 step 2: service toggles disabled ⇒ DISABLE_SVC_CHECK, DISABLE_PASSIVE_SVC_CHECKS, 'updated' without period",
            config: &[],
            seed: vec![host(), ("h/s", json!({}))],
            body: json!({"services": [{"name": "s", "active_checks_enabled": false, "passive_checks_enabled": false}]}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "Service h/s active checks will be disabled.",
                         "Sent external command: DISABLE_SVC_CHECK;h;s.",
                         "Service h/s passive checks will be disabled.",
                         "Sent external command: DISABLE_PASSIVE_SVC_CHECKS;h;s.",
                         "Service 'h/s' updated"]),
            commands: &["DISABLE_SVC_CHECK;h;s", "DISABLE_PASSIVE_SVC_CHECKS;h;s"],
            stored: vec![("h/s", json!({"active_checks_enabled": false, "passive_checks_enabled": false})),
                         ("h", json!({"active_checks_enabled": true, "passive_checks_enabled": true}))],
        },
        Case {
            rule: "§5.2 step 2: service toggles enabled ⇒ ENABLE_SVC_CHECK, ENABLE_PASSIVE_SVC_CHECKS",
            config: &[],
            seed: vec![host(), ("h/s", json!({"active_checks_enabled": false, "passive_checks_enabled": false}))],
            body: json!({"services": [{"name": "s", "active_checks_enabled": true, "passive_checks_enabled": true}]}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "Service h/s active checks will be enabled.",
                         "Sent external command: ENABLE_SVC_CHECK;h;s.",
                         "Service h/s passive checks will be enabled.",
                         "Sent external command: ENABLE_PASSIVE_SVC_CHECKS;h;s.",
                         "Service 'h/s' updated"]),
            commands: &["ENABLE_SVC_CHECK;h;s", "ENABLE_PASSIVE_SVC_CHECKS;h;s"],
            stored: vec![("h/s", json!({"active_checks_enabled": true, "passive_checks_enabled": true}))],
        },
        Case {
            rule: "§5.2 step 5: service booleans unchanged ⇒ 'Service 'h/s' unchanged.'",
            config: &[],
            seed: vec![host(), ("h/s", json!({}))],
            body: json!({"services": [{"name": "s", "active_checks_enabled": true}]}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "Service 'h/s' unchanged."]),
            commands: &[],
            stored: vec![],
        },
        Case {
            rule: "§5.4 step 3: service check_freshness changed ⇒ stored, no command, updated",
            config: &[],
            seed: vec![host(), ("h/s", json!({}))],
            body: json!({"services": [{"name": "s", "check_freshness": true}]}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "Service 'h/s' updated"]),
            commands: &[],
            stored: vec![("h/s", json!({"check_freshness": true}))],
        },
        Case {
            rule: "§5.4 step 3: service check_freshness equal ⇒ unchanged",
            config: &[],
            seed: vec![host(), ("h/s", json!({"check_freshness": true}))],
            body: json!({"services": [{"name": "s", "check_freshness": true}]}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "Service 'h/s' unchanged."]),
            commands: &[],
            stored: vec![("h/s", json!({"check_freshness": true}))],
        },
    ]);
}

#[test]
fn custom_variables() {
    let set = "Sent external command: CHANGE_CUSTOM_HOST_VAR;h;ROOM;B12.";
    run(vec![
        Case {
            rule: "§7: a new variable, name '_' + upper-cased ⇒ set, updated; SPEC §5: sent, Nagios name without '_'",
            config: &[],
            seed: vec![host()],
            body: json!({"variables": {"Room": "B12"}}),
            status: Status::Ok,
            answer: ok(&[ALIVE, set, UPDATED]),
            commands: &["CHANGE_CUSTOM_HOST_VAR;h;ROOM;B12"],
            stored: vec![("h", json!({"customs": {"_ROOM": "B12"}}))],
        },
        Case {
            rule: "§7: a changed value ⇒ set, the others kept, updated",
            config: &[],
            seed: vec![("h", json!({"customs": {"_ROOM": "B1", "_RACK": "7"}}))],
            body: json!({"variables": {"room": "B12"}}),
            status: Status::Ok,
            answer: ok(&[ALIVE, set, UPDATED]),
            commands: &["CHANGE_CUSTOM_HOST_VAR;h;ROOM;B12"],
            stored: vec![("h", json!({"customs": {"_ROOM": "B12", "_RACK": "7"}}))],
        },
        Case {
            rule: "§7 + §5.1 step 5: an equal value ⇒ no change, update False ⇒ unchanged, no command",
            config: &[],
            seed: vec![("h", json!({"customs": {"_ROOM": "B12"}}))],
            body: json!({"variables": {"room": "B12"}}),
            status: Status::Ok,
            answer: ok(&[ALIVE, UNCHANGED]),
            commands: &[],
            stored: vec![("h", json!({"customs": {"_ROOM": "B12"}}))],
        },
        Case {
            rule: "SPEC §5: core alignak ⇒ the variable's name keeps its '_'",
            config: &[("core", "alignak")],
            seed: vec![host()],
            body: json!({"variables": {"room": "B12"}}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "Sent external command: CHANGE_CUSTOM_HOST_VAR;h;_ROOM;B12.", UPDATED]),
            commands: &["CHANGE_CUSTOM_HOST_VAR;h;_ROOM;B12"],
            stored: vec![],
        },
        Case {
            rule: "§7 + SPEC §5: '__delete__' really deletes; the core cannot, the answer says so",
            config: &[],
            seed: vec![("h", json!({"customs": {"_ROOM": "B1", "_RACK": "7"}}))],
            body: json!({"variables": {"room": "__delete__"}}),
            status: Status::Ok,
            answer: ok(&[ALIVE,
                         "Custom variable _ROOM of h deleted here only: the core cannot delete a custom variable.",
                         UPDATED]),
            commands: &[],
            stored: vec![("h", json!({"customs": {"_RACK": "7"}}))],
        },
        Case {
            rule: "§7: '__delete__' of a missing variable ⇒ no change ⇒ unchanged",
            config: &[],
            seed: vec![("h", json!({"customs": {"_RACK": "7"}}))],
            body: json!({"variables": {"room": "__delete__"}}),
            status: Status::Ok,
            answer: ok(&[ALIVE, UNCHANGED]),
            commands: &[],
            stored: vec![("h", json!({"customs": {"_RACK": "7"}}))],
        },
        Case {
            rule: "§7: a list of scalars re-ordered or shorter ⇒ unchanged",
            config: &[],
            seed: vec![("h", json!({"customs": {"_LIST": ["a", "b"]}}))],
            body: json!({"variables": {"list": ["b"], "List": ["b", "a"]}}),
            status: Status::Ok,
            answer: ok(&[ALIVE, UNCHANGED]),
            commands: &[],
            stored: vec![("h", json!({"customs": {"_LIST": ["a", "b"]}}))],
        },
        Case {
            rule: "§7: a list of scalars bringing a new element ⇒ replaced whole, updated",
            config: &[],
            seed: vec![("h", json!({"customs": {"_LIST": ["a", "b"]}}))],
            body: json!({"variables": {"list": ["a", "c"]}}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "Sent external command: CHANGE_CUSTOM_HOST_VAR;h;LIST;[\"a\",\"c\"].", UPDATED]),
            commands: &["CHANGE_CUSTOM_HOST_VAR;h;LIST;[\"a\",\"c\"]"],
            stored: vec![("h", json!({"customs": {"_LIST": ["a", "c"]}}))],
        },
        Case {
            rule: "§7: a list of objects, an equal shorter prefix ⇒ unchanged",
            config: &[],
            seed: vec![("h", json!({"customs": {"_OBJS": [{"x": 1}, {"y": 2}]}}))],
            body: json!({"variables": {"objs": [{"x": 1}]}}),
            status: Status::Ok,
            answer: ok(&[ALIVE, UNCHANGED]),
            commands: &[],
            stored: vec![("h", json!({"customs": {"_OBJS": [{"x": 1}, {"y": 2}]}}))],
        },
        Case {
            rule: "§7: a list of objects with a differing pair ⇒ replaced whole",
            config: &[],
            seed: vec![("h", json!({"customs": {"_OBJS": [{"x": 1}, {"y": 2}]}}))],
            body: json!({"variables": {"objs": [{"x": 2}]}}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "Sent external command: CHANGE_CUSTOM_HOST_VAR;h;OBJS;[{\"x\":2}].", UPDATED]),
            commands: &["CHANGE_CUSTOM_HOST_VAR;h;OBJS;[{\"x\":2}]"],
            stored: vec![("h", json!({"customs": {"_OBJS": [{"x": 2}]}}))],
        },
        Case {
            rule: "§7: a list where the custom is missing ⇒ set",
            config: &[],
            seed: vec![host()],
            body: json!({"variables": {"list": []}}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "Sent external command: CHANGE_CUSTOM_HOST_VAR;h;LIST;[].", UPDATED]),
            commands: &["CHANGE_CUSTOM_HOST_VAR;h;LIST;[]"],
            stored: vec![("h", json!({"customs": {"_LIST": []}}))],
        },
        Case {
            rule: "§7 + SPEC §5: on a host created from a template, only the variables that differ from its customs are sent",
            config: &[],
            seed: vec![],
            body: json!({"template": {"customs": {"_ROOM": "A"}}, "variables": {"room": "A", "rack": "1"}}),
            status: Status::Ok,
            answer: ok(&[ALIVE, DOES_NOT_EXIST, CREATED,
                         "Sent external command: CHANGE_CUSTOM_HOST_VAR;h;RACK;1.", UPDATED]),
            commands: &["CHANGE_CUSTOM_HOST_VAR;h;RACK;1"],
            stored: vec![("h", json!({"customs": {"_ROOM": "A", "_RACK": "1"}}))],
        },
        Case {
            rule: "§7: variables {} (falsy) ⇒ ignored entirely, no unchanged message",
            config: &[],
            seed: vec![host()],
            body: json!({"variables": {}}),
            status: Status::Ok,
            answer: ok(&[ALIVE]),
            commands: &[],
            stored: vec![],
        },
        Case {
            rule: "§5.4 step 4 (1.5.0 fix of §5.2 step 3): service variables merge into the service's own customs",
            config: &[],
            seed: vec![("h", json!({"customs": {"_ROOM": "H"}})), ("h/s", json!({}))],
            body: json!({"services": [{"name": "s", "variables": {"rack": "7"}}]}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "Sent external command: CHANGE_CUSTOM_SVC_VAR;h;s;RACK;7.", "Service 'h/s' updated"]),
            commands: &["CHANGE_CUSTOM_SVC_VAR;h;s;RACK;7"],
            stored: vec![("h/s", json!({"customs": {"_RACK": "7"}})), ("h", json!({"customs": {"_ROOM": "H"}}))],
        },
    ]);
}

#[test]
fn livestates() {
    run(vec![
        Case {
            rule: "§5.3 step 5 + §6.1: output, perf data and long output; stored as ls_*; a heartbeat alone is no update",
            config: &[],
            seed: vec![host()],
            body: json!({"livestate": {"state": "up", "output": "Output...", "perf_data": "'counter'=1",
                                       "long_output": "Long output..."}}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "PROCESS_HOST_CHECK_RESULT;h;0;Output...|'counter'=1\nLong output..."]),
            commands: &["PROCESS_HOST_CHECK_RESULT;h;0;Output...|'counter'=1\nLong output..."],
            stored: vec![("h", json!({"ls_state": "UP", "ls_state_id": 0, "ls_state_type": "HARD",
                                      "ls_output": "Output...", "ls_long_output": "Long output...",
                                      "ls_perf_data": "'counter'=1", "ls_last_check": NOW}))],
        },
        Case {
            rule: "§6.1: only long output; only perf data",
            config: &[],
            seed: vec![host()],
            body: json!({"livestate": [{"state": "UP", "output": "o", "long_output": "L"},
                                       {"state": "UP", "output": "o", "perf_data": "p=1"}]}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "PROCESS_HOST_CHECK_RESULT;h;0;o\nL", "PROCESS_HOST_CHECK_RESULT;h;0;o|p=1"]),
            commands: &["PROCESS_HOST_CHECK_RESULT;h;0;o\nL", "PROCESS_HOST_CHECK_RESULT;h;0;o|p=1"],
            stored: vec![],
        },
        Case {
            rule: "§5.1 step 6 + §6.1: a list, in request order, DOWN=1 UNREACHABLE=2 upper-cased; the last one is stored",
            config: &[],
            seed: vec![host()],
            body: json!({"livestate": [{"state": "down", "output": "a"}, {"state": "Unreachable", "output": "b"}]}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "PROCESS_HOST_CHECK_RESULT;h;1;a", "PROCESS_HOST_CHECK_RESULT;h;2;b"]),
            commands: &["PROCESS_HOST_CHECK_RESULT;h;1;a", "PROCESS_HOST_CHECK_RESULT;h;2;b"],
            stored: vec![("h", json!({"ls_state": "UNREACHABLE", "ls_state_id": 2, "ls_output": "b"}))],
        },
        Case {
            rule: "§6.1: a timestamp (integer or integer string, 0 kept) prefixes the line and is the stored ls_last_check",
            config: &[],
            seed: vec![host()],
            body: json!({"livestate": [{"state": "UP", "timestamp": "1700000000"}, {"state": "UP", "timestamp": 0}]}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "[1700000000] PROCESS_HOST_CHECK_RESULT;h;0;", "[0] PROCESS_HOST_CHECK_RESULT;h;0;"]),
            commands: &["[1700000000] PROCESS_HOST_CHECK_RESULT;h;0;", "[0] PROCESS_HOST_CHECK_RESULT;h;0;"],
            stored: vec![("h", json!({"ls_last_check": 0}))],
        },
        Case {
            rule: "§6.1: set_timestamp ⇒ [now] without a timestamp; the livestate's own wins",
            config: &[("set_timestamp", "1")],
            seed: vec![host()],
            body: json!({"livestate": [{"state": "UP", "output": "a"}, {"state": "UP", "output": "b", "timestamp": 12}]}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "[1000] PROCESS_HOST_CHECK_RESULT;h;0;a", "[12] PROCESS_HOST_CHECK_RESULT;h;0;b"]),
            commands: &["[1000] PROCESS_HOST_CHECK_RESULT;h;0;a", "[12] PROCESS_HOST_CHECK_RESULT;h;0;b"],
            stored: vec![("h", json!({"ls_last_check": 12, "ls_output": "b"}))],
        },
        Case {
            rule: "§5.1 step 6: no state ⇒ issue 'Missing state in the livestate.', ERR (422)",
            config: &[],
            seed: vec![host()],
            body: json!({"livestate": {"output": "x"}}),
            status: Status::Issues,
            answer: err(&[ALIVE], &["Missing state in the livestate."]),
            commands: &[],
            stored: vec![("h", json!({"ls_state": "UNREACHABLE", "ls_output": ""}))],
        },
        Case {
            rule: "§5.1 step 6: a state not UP/DOWN/UNREACHABLE ⇒ issue; the list's valid entries still sent",
            config: &[],
            seed: vec![host()],
            body: json!({"livestate": [{"state": "ok"}, {"state": "DOWN", "output": "d"}]}),
            status: Status::Issues,
            answer: err(&[ALIVE, "PROCESS_HOST_CHECK_RESULT;h;1;d"],
                        &["Host state must be UP, DOWN or UNREACHABLE, and not 'OK'."]),
            commands: &["PROCESS_HOST_CHECK_RESULT;h;1;d"],
            stored: vec![("h", json!({"ls_state": "DOWN", "ls_state_id": 1}))],
        },
        Case {
            rule: "§6.2: service states OK..UNKNOWN = 0..3, UNREACHABLE = 4, in order; the last one stored",
            config: &[],
            seed: vec![host(), ("h/s", json!({}))],
            body: json!({"services": [{"name": "s", "livestate": [
                {"state": "warning", "output": "w"}, {"state": "critical"}, {"state": "unknown"},
                {"state": "unreachable"}, {"state": "ok", "output": "fine", "perf_data": "t=1", "long_output": "L"}]}]}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "PROCESS_SERVICE_CHECK_RESULT;h;s;1;w", "PROCESS_SERVICE_CHECK_RESULT;h;s;2;",
                         "PROCESS_SERVICE_CHECK_RESULT;h;s;3;", "PROCESS_SERVICE_CHECK_RESULT;h;s;4;",
                         "PROCESS_SERVICE_CHECK_RESULT;h;s;0;fine|t=1\nL"]),
            commands: &["PROCESS_SERVICE_CHECK_RESULT;h;s;1;w", "PROCESS_SERVICE_CHECK_RESULT;h;s;2;",
                        "PROCESS_SERVICE_CHECK_RESULT;h;s;3;", "PROCESS_SERVICE_CHECK_RESULT;h;s;4;",
                        "PROCESS_SERVICE_CHECK_RESULT;h;s;0;fine|t=1\nL"],
            stored: vec![("h/s", json!({"ls_state": "OK", "ls_state_id": 0, "ls_output": "fine",
                                        "ls_perf_data": "t=1", "ls_long_output": "L", "ls_last_check": NOW}))],
        },
        Case {
            rule: "§6.2: service livestate timestamp and set_timestamp",
            config: &[("set_timestamp", "1")],
            seed: vec![host(), ("h/s", json!({}))],
            body: json!({"services": [{"name": "s", "livestate": [{"state": "OK"}, {"state": "OK", "timestamp": 5}]}]}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "[1000] PROCESS_SERVICE_CHECK_RESULT;h;s;0;", "[5] PROCESS_SERVICE_CHECK_RESULT;h;s;0;"]),
            commands: &["[1000] PROCESS_SERVICE_CHECK_RESULT;h;s;0;", "[5] PROCESS_SERVICE_CHECK_RESULT;h;s;0;"],
            stored: vec![("h/s", json!({"ls_last_check": 5}))],
        },
        Case {
            rule: "§5.2 step 4: a bad service state ⇒ issue naming the service only, unquoted; ERR",
            config: &[],
            seed: vec![host(), ("h/s", json!({}))],
            body: json!({"services": [{"name": "s", "livestate": {"state": "UP"}}]}),
            status: Status::Issues,
            answer: json!({"_status": "ERR", "_result": [ALIVE], "_feedback": {},
                           "_issues": ["Service s state must be OK, WARNING, CRITICAL, UNKNOWN or UNREACHABLE, and not UP."]}),
            commands: &[],
            stored: vec![],
        },
        Case {
            rule: "§5.2 step 4: a service livestate without state ⇒ 'Missing state in the livestate.'",
            config: &[],
            seed: vec![host(), ("h/s", json!({}))],
            body: json!({"services": [{"name": "s", "livestate": {"output": "x"}}]}),
            status: Status::Issues,
            answer: json!({"_status": "ERR", "_result": [ALIVE], "_feedback": {},
                           "_issues": ["Missing state in the livestate."]}),
            commands: &[],
            stored: vec![],
        },
    ]);
}

#[test]
fn services_issues_and_ordering() {
    run(vec![
        Case {
            rule: "§5.3 step 6: a service without a name ⇒ issue, the others still processed",
            config: &[],
            seed: vec![host(), ("h/s", json!({}))],
            body: json!({"services": [{"livestate": {"state": "OK"}}, {"name": "s", "livestate": {"state": "OK", "output": "o"}}]}),
            status: Status::Issues,
            answer: json!({"_status": "ERR", "_result": [ALIVE, "PROCESS_SERVICE_CHECK_RESULT;h;s;0;o"],
                           "_issues": ["A service does not have a 'name' property"], "_feedback": {}}),
            commands: &["PROCESS_SERVICE_CHECK_RESULT;h;s;0;o"],
            stored: vec![],
        },
        Case {
            rule: "SPEC §3: services as an object (v0.5.9), processed in document order",
            config: &[],
            seed: vec![host(), ("h/a", json!({})), ("h/b", json!({}))],
            body: json!({"services": {"k2": {"name": "b", "livestate": {"state": "OK", "output": "2"}},
                                      "k1": {"name": "a", "livestate": {"state": "OK", "output": "1"}}}}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "PROCESS_SERVICE_CHECK_RESULT;h;b;0;2", "PROCESS_SERVICE_CHECK_RESULT;h;a;0;1"]),
            commands: &["PROCESS_SERVICE_CHECK_RESULT;h;b;0;2", "PROCESS_SERVICE_CHECK_RESULT;h;a;0;1"],
            stored: vec![],
        },
        Case {
            rule: "§5.6: alive, creation, host toggles, host livestate, per service (creation, toggles, livestate, updated), host updated",
            config: &[],
            seed: vec![],
            body: json!({"livestate": {"state": "UP", "output": "u"}, "active_checks_enabled": false,
                         "services": [{"name": "s", "livestate": {"state": "OK", "output": "o"},
                                       "passive_checks_enabled": false},
                                      {"name": "t", "livestate": {"state": "CRITICAL", "output": "c"}}]}),
            status: Status::Ok,
            answer: ok(&[ALIVE, DOES_NOT_EXIST, CREATED,
                         "Host h active checks will be disabled.",
                         "Sent external command: DISABLE_HOST_CHECK;h.",
                         "PROCESS_HOST_CHECK_RESULT;h;0;u",
                         "Requested service 'h/s' does not exist.",
                         "Requested service 'h/s' created.",
                         "Service h/s passive checks will be disabled.",
                         "Sent external command: DISABLE_PASSIVE_SVC_CHECKS;h;s.",
                         "PROCESS_SERVICE_CHECK_RESULT;h;s;0;o",
                         "Service 'h/s' updated",
                         "Requested service 'h/t' does not exist.",
                         "Requested service 'h/t' created.",
                         "PROCESS_SERVICE_CHECK_RESULT;h;t;2;c",
                         "Service 'h/t' updated",
                         UPDATED]),
            commands: &["DISABLE_HOST_CHECK;h", "PROCESS_HOST_CHECK_RESULT;h;0;u",
                        "DISABLE_PASSIVE_SVC_CHECKS;h;s", "PROCESS_SERVICE_CHECK_RESULT;h;s;0;o",
                        "PROCESS_SERVICE_CHECK_RESULT;h;t;2;c"],
            stored: vec![("h/s", json!({"passive_checks_enabled": false, "ls_state": "OK"})),
                         ("h/t", json!({"ls_state": "CRITICAL", "ls_state_id": 2}))],
        },
        Case {
            rule: "§5.6: the ignored not-found message in its service's place, between the others",
            config: &[("allow_service_creation", "0")],
            seed: vec![host(), ("h/a", json!({})), ("h/c", json!({}))],
            body: json!({"services": [{"name": "a", "livestate": {"state": "OK"}}, {"name": "s", "livestate": {"state": "OK"}},
                                      {"name": "c", "active_checks_enabled": true}]}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "PROCESS_SERVICE_CHECK_RESULT;h;a;0;", NO_SERVICE, "Service 'h/c' unchanged."]),
            commands: &["PROCESS_SERVICE_CHECK_RESULT;h;a;0;"],
            stored: vec![],
        },
        Case {
            rule: "§5.1 step 8: nothing but the name ⇒ update None ⇒ OK with the alive line only",
            config: &[],
            seed: vec![host()],
            body: json!({"name": "h"}),
            status: Status::Ok,
            answer: ok(&[ALIVE]),
            commands: &[],
            stored: vec![],
        },
        Case {
            rule: "§5.3 step 7: issues of a host and of a service together, host's first; ERR keeps _result",
            config: &[],
            seed: vec![host(), ("h/s", json!({}))],
            body: json!({"livestate": {"state": "bad"}, "variables": {"room": "1"},
                         "services": [{"name": "s", "livestate": {"state": "bad"}}]}),
            status: Status::Issues,
            answer: json!({"_status": "ERR",
                           "_result": [ALIVE, "Sent external command: CHANGE_CUSTOM_HOST_VAR;h;ROOM;1.", UPDATED],
                           "_issues": ["Host state must be UP, DOWN or UNREACHABLE, and not 'BAD'.",
                                       "Service s state must be OK, WARNING, CRITICAL, UNKNOWN or UNREACHABLE, and not BAD."],
                           "_feedback": {}}),
            commands: &["CHANGE_CUSTOM_HOST_VAR;h;ROOM;1"],
            stored: vec![("h", json!({"customs": {"_ROOM": "1"}}))],
        },
    ]);
}

#[test]
fn feedback_and_result_presence() {
    let heartbeat = || json!({"livestate": {"state": "UP"}});
    const LINE: &str = "PROCESS_HOST_CHECK_RESULT;h;0;";
    const SVC_LINE: &str = "PROCESS_SERVICE_CHECK_RESULT;h;s;0;";
    run(vec![
        Case {
            rule: "§5.5: give_feedback 0, OK ⇒ no _feedback",
            config: &[("give_feedback", "0")],
            seed: vec![host()],
            body: heartbeat(),
            status: Status::Ok,
            answer: json!({"_status": "OK", "_result": [ALIVE, LINE]}),
            commands: &[LINE],
            stored: vec![],
        },
        Case {
            rule: "§5.5: give_feedback 0, ERR with services ⇒ no _feedback",
            config: &[("give_feedback", "0")],
            seed: vec![host(), ("h/s", json!({}))],
            body: json!({"services": [{"name": "s", "livestate": {"state": "UP"}}]}),
            status: Status::Issues,
            answer: err(&[ALIVE], &["Service s state must be OK, WARNING, CRITICAL, UNKNOWN or UNREACHABLE, and not UP."]),
            commands: &[],
            stored: vec![],
        },
        Case {
            rule: "§5.5: give_feedback 1, OK with services ⇒ {name} without services (that needs 2)",
            config: &[],
            seed: vec![host(), ("h/s", json!({}))],
            body: json!({"services": [{"name": "s", "livestate": {"state": "OK"}}]}),
            status: Status::Ok,
            answer: ok(&[ALIVE, SVC_LINE]),
            commands: &[SVC_LINE],
            stored: vec![],
        },
        Case {
            rule: "§5.5: give_feedback 1, ERR without services ⇒ no _feedback",
            config: &[],
            seed: vec![host()],
            body: json!({"livestate": {"state": "OK"}}),
            status: Status::Issues,
            answer: err(&[ALIVE], &["Host state must be UP, DOWN or UNREACHABLE, and not 'OK'."]),
            commands: &[],
            stored: vec![],
        },
        Case {
            rule: "§5.5: give_feedback 2, OK ⇒ services list of {name, feedback_service fields}, read after the update",
            config: &[("give_feedback", "2"), ("feedback_service", "active_checks_enabled,ls_state")],
            seed: vec![host(), ("h/s", json!({}))],
            body: json!({"services": [{"name": "s", "active_checks_enabled": false, "livestate": {"state": "warning"}}]}),
            status: Status::Ok,
            answer: json!({"_status": "OK",
                           "_result": [ALIVE, "Service h/s active checks will be disabled.",
                                       "Sent external command: DISABLE_SVC_CHECK;h;s.",
                                       "PROCESS_SERVICE_CHECK_RESULT;h;s;1;", "Service 'h/s' updated"],
                           "_feedback": {"name": "h", "services": [
                               {"name": "s", "active_checks_enabled": false, "ls_state": "WARNING"}]}}),
            commands: &["DISABLE_SVC_CHECK;h;s", "PROCESS_SERVICE_CHECK_RESULT;h;s;1;"],
            stored: vec![],
        },
        Case {
            rule: "§5.5: give_feedback 2, ERR ⇒ _feedback.services lists the services without issues only",
            config: &[("give_feedback", "2")],
            seed: vec![host(), ("h/s", json!({})), ("h/t", json!({}))],
            body: json!({"services": [{"name": "s", "livestate": {"state": "OK"}}, {"name": "t", "livestate": {"state": "UP"}}]}),
            status: Status::Issues,
            answer: json!({"_status": "ERR", "_result": [ALIVE, SVC_LINE],
                           "_issues": ["Service t state must be OK, WARNING, CRITICAL, UNKNOWN or UNREACHABLE, and not UP."],
                           "_feedback": {"services": [{"name": "s"}]}}),
            commands: &[SVC_LINE],
            stored: vec![],
        },
        Case {
            rule: "§5.5: give_feedback 2, no service given ⇒ {name} only; an ignored unknown service gives no feedback",
            config: &[("give_feedback", "2"), ("allow_service_creation", "0")],
            seed: vec![host()],
            body: json!({"services": [{"name": "s", "livestate": {"state": "OK"}}]}),
            status: Status::Ok,
            answer: ok(&[ALIVE, NO_SERVICE]),
            commands: &[],
            stored: vec![],
        },
        Case {
            rule: "§5.1 feedback + §5.3 step 7: feedback_host fields come from the host read after the update",
            config: &[("feedback_host", "active_checks_enabled,customs,ls_state,not_a_field")],
            seed: vec![host()],
            body: json!({"active_checks_enabled": false, "variables": {"room": "1"}, "livestate": {"state": "down"}}),
            status: Status::Ok,
            answer: json!({"_status": "OK",
                           "_result": [ALIVE, "Host h active checks will be disabled.",
                                       "Sent external command: DISABLE_HOST_CHECK;h.",
                                       "Sent external command: CHANGE_CUSTOM_HOST_VAR;h;ROOM;1.",
                                       "PROCESS_HOST_CHECK_RESULT;h;1;", UPDATED],
                           "_feedback": {"name": "h", "active_checks_enabled": false,
                                         "customs": {"_ROOM": "1"}, "ls_state": "DOWN"}}),
            commands: &["DISABLE_HOST_CHECK;h", "CHANGE_CUSTOM_HOST_VAR;h;ROOM;1", "PROCESS_HOST_CHECK_RESULT;h;1;"],
            stored: vec![],
        },
        Case {
            rule: "§5.5: give_result off, OK ⇒ no _result",
            config: &[("give_result", "0")],
            seed: vec![host()],
            body: heartbeat(),
            status: Status::Ok,
            answer: json!({"_status": "OK", "_feedback": {"name": "h"}}),
            commands: &[LINE],
            stored: vec![],
        },
        Case {
            rule: "§5.5: give_result off and give_feedback 0 ⇒ a heartbeat is just {_status: OK}",
            config: &[("give_result", "0"), ("give_feedback", "0")],
            seed: vec![host()],
            body: heartbeat(),
            status: Status::Ok,
            answer: json!({"_status": "OK"}),
            commands: &[LINE],
            stored: vec![],
        },
        Case {
            rule: "§5.5: give_result off, ERR ⇒ _result kept",
            config: &[("give_result", "0")],
            seed: vec![host()],
            body: json!({"livestate": [{"state": "UP"}, {}]}),
            status: Status::Issues,
            answer: err(&[ALIVE, LINE], &["Missing state in the livestate."]),
            commands: &[LINE],
            stored: vec![],
        },
    ]);
}

/// The `check.result` history messages of the store, oldest first, as `/alignak_logs` reads
/// them.
fn check_results(f: &Fixture) -> Vec<(Option<String>, Option<String>, String)> {
    let mut documents = None;
    f.store
        .read(&Caller::default(), &mut |docs| {
            documents = Some(
                docs.history_documents(&crate::store::model::HistoryQuery {
                    filters: vec![],
                    offset: 0,
                    limit: 100,
                })?
                .0,
            );
            Ok(())
        })
        .unwrap();
    let text = |doc: &Map<String, Value>, key: &str| {
        doc.get(key).and_then(Value::as_str).map(String::from)
    };
    let mut items: Vec<_> = documents
        .unwrap()
        .iter()
        .filter(|doc| text(doc, "type").as_deref() == Some("check.result"))
        .map(|doc| {
            (
                text(doc, "host_name"),
                text(doc, "service_name"),
                text(doc, "message").unwrap_or_default(),
            )
        })
        .collect();
    items.reverse();
    items
}

#[test]
fn every_valid_livestate_is_one_check_result_in_the_history() {
    // SPEC §5: the history keeps a `check.result` per livestate; an invalid one is none, and
    // an unknown host that may not be created (§5.3 step 1: nothing processed) leaves none.
    let f = fixture_with(&[("allow_host_creation", "0")], None);
    seed(&f, &[host(), ("h/s", json!({}))]);
    update(
        &f,
        "h",
        json!({"livestate": [{"state": "up", "output": "a"}, {"state": "bad"}],
               "services": [{"name": "s", "livestate": {"state": "critical", "output": "c"}}]}),
    );
    update(&f, "other", json!({"livestate": {"state": "UP"}}));
    let entries = check_results(&f);
    let host = |s: &str| Some(s.to_string());
    assert_eq!(
        entries,
        [
            (host("h"), None, "UP[HARD] (False/False): a".to_string()),
            (
                host("h"),
                host("s"),
                "CRITICAL[HARD] (False/False): c".to_string()
            ),
        ]
    );
}

/// The embedded store never refuses a document: this session does, for every creation, as
/// a backend that rejects one (`StoreError::Refused`). With `meanwhile`, the element is
/// created anyway, as by another request or gateway between the look-up and the creation.
struct Refusing<'a> {
    inner: &'a mut dyn Session,
    meanwhile: bool,
}

impl Lookups for Refusing<'_> {
    fn host(&mut self, name: &str) -> Result<Option<Element>, StoreError> {
        self.inner.host(name)
    }
    fn service(&mut self, host_id: i64, name: &str) -> Result<Option<Element>, StoreError> {
        self.inner.service(host_id, name)
    }
    fn services(&mut self, host_id: i64) -> Result<Vec<Element>, StoreError> {
        self.inner.services(host_id)
    }
}

impl Session for Refusing<'_> {
    fn create(
        &mut self,
        kind: Kind,
        host_id: Option<i64>,
        new: &NewElement,
    ) -> Result<Element, StoreError> {
        if self.meanwhile {
            self.inner.create(kind, host_id, new)?;
        }
        Err(StoreError::Refused("refused by the test".into()))
    }
    fn update(&mut self, kind: Kind, id: i64, patch: &ElementPatch) -> Result<(), StoreError> {
        self.inner.update(kind, id, patch)
    }
    fn put_hostgroup(
        &mut self,
        name: &str,
        alias: &str,
        members: &[String],
    ) -> Result<(), StoreError> {
        self.inner.put_hostgroup(name, alias, members)
    }
    fn add_history(&mut self, entry: &crate::store::model::NewHistory) -> Result<(), StoreError> {
        self.inner.add_history(entry)
    }
    fn record_check(&mut self, check: &CheckRecord) -> Result<(), StoreError> {
        self.inner.record_check(check)
    }
    fn livestate_is_update(&self) -> bool {
        self.inner.livestate_is_update()
    }
}

fn update_refusing(f: &Fixture, body: Value, meanwhile: bool) -> Outcome {
    let request = HostRequest::parse(&body, Some(HOST)).unwrap();
    let mut outcome = None;
    f.store
        .session(&Caller::default(), &mut |session| {
            let mut refusing = Refusing {
                inner: session,
                meanwhile,
            };
            outcome = Some(
                update_host(&mut refusing, &f.config, None, &request, NOW)
                    .map_err(|failure| failure.error)?,
            );
            Ok(())
        })
        .unwrap();
    outcome.unwrap()
}

#[test]
fn a_refused_creation() {
    // §5.1 step 2: the host's creation failed ⇒ issue, ERR at once: nothing else processed.
    let f = fixture(None);
    let body = json!({"livestate": {"state": "UP"}, "active_checks_enabled": false});
    let out = update_refusing(&f, body.clone(), false);
    let rule = "§5.1 step 2: host creation failed";
    assert_eq!(
        out.answer(),
        err(
            &[ALIVE, DOES_NOT_EXIST],
            &["Requested host 'h' creation failed."]
        ),
        "rule: {rule}"
    );
    assert_eq!(out.status, Status::Issues, "rule: {rule}");
    assert!(out.commands.is_empty(), "rule: {rule}: {:?}", out.commands);
    assert!(stored(&f, "h").is_none(), "rule: {rule}");

    // The product's rule (update.rs): created meanwhile elsewhere ⇒ an update of that host,
    // answered as if it had existed.
    let out = update_refusing(&f, body, true);
    assert_eq!(
        out.answer(),
        ok(&[
            ALIVE,
            "Host h active checks will be disabled.",
            "Sent external command: DISABLE_HOST_CHECK;h.",
            "PROCESS_HOST_CHECK_RESULT;h;0;",
            UPDATED
        ]),
        "rule: host created meanwhile elsewhere"
    );
    assert_eq!(
        out.commands,
        ["DISABLE_HOST_CHECK;h", "PROCESS_HOST_CHECK_RESULT;h;0;"]
    );

    // §5.2 step 1: a service's creation failed ⇒ its issue; the host and the other services
    // are still processed.
    let f = fixture(None);
    seed(&f, &[host(), ("h/t", json!({}))]);
    let out = update_refusing(
        &f,
        json!({"livestate": {"state": "UP"},
               "services": [{"name": "s", "livestate": {"state": "OK"}},
                            {"name": "t", "livestate": {"state": "OK"}}]}),
        false,
    );
    let rule = "§5.2 step 1: service creation failed";
    assert_eq!(
        out.answer(),
        json!({"_status": "ERR",
               "_result": [ALIVE, "PROCESS_HOST_CHECK_RESULT;h;0;",
                           "Requested service 'h/s' does not exist.",
                           "PROCESS_SERVICE_CHECK_RESULT;h;t;0;"],
               "_issues": ["Requested service 'h/s' creation failed."],
               "_feedback": {}}),
        "rule: {rule}"
    );
    assert_eq!(out.status, Status::Issues, "rule: {rule}");
    assert_eq!(
        out.commands,
        [
            "PROCESS_HOST_CHECK_RESULT;h;0;",
            "PROCESS_SERVICE_CHECK_RESULT;h;t;0;"
        ],
        "rule: {rule}"
    );
    assert!(stored(&f, "h/s").is_none(), "rule: {rule}");
}

/// Host-level check flags: upstream 1.6+ only logs them (§5.3 step 2); this product keeps
/// v0.5.9's rule for the toggles (a command when the value changes) and stores
/// `check_freshness` (README, "PATCH /host": "`check_freshness` (stored only)"), as §5.4 step 3
/// does for a service.
#[test]
fn host_check_freshness_is_stored_only() {
    run(vec![
        Case {
            rule: "README: host check_freshness changed ⇒ stored, no command, updated",
            config: &[],
            seed: vec![host()],
            body: json!({"check_freshness": true}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "Host 'h' updated."]),
            commands: &[],
            stored: vec![("h", json!({"check_freshness": true}))],
        },
        Case {
            rule: "README: host check_freshness equal ⇒ unchanged",
            config: &[],
            seed: vec![("h", json!({"check_freshness": true}))],
            body: json!({"check_freshness": true}),
            status: Status::Ok,
            answer: ok(&[ALIVE, "Host 'h' unchanged."]),
            commands: &[],
            stored: vec![("h", json!({"check_freshness": true}))],
        },
    ]);
}
