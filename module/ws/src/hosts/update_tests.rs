//! The algorithm against a real embedded store in a temp dir: the rules of issue 11 (no
//! result dropped, variables to the core, held results with `objects_dir`) without a process.

use super::*;
use crate::auth::Caller;
use crate::store::embedded::EmbeddedStore;
use crate::store::Store;
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

fn update(f: &Fixture, name: &str, body: Value) -> Outcome {
    let request = HostRequest::parse(&body, Some(name)).unwrap();
    let mut outcome = None;
    f.store
        .session(&Caller::default(), &mut |session| {
            outcome = Some(
                update_host(session, &f.config, f.catalog(), &request, 1000)
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
    let result = out.body["_result"].to_string();
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
    assert!(deleted.body["_result"]
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
    let result = new.body["_result"].to_string();
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
    assert!(lacks.body["_result"].to_string().contains("kept here only"));
    assert!(lacks.objects.is_empty());
    // A host the module writes: the variable goes to its file.
    let ours = update(&f, "web01", json!({"variables": {"rack": "7"}}));
    assert!(ours.commands.is_empty());
    assert!(ours.body["_result"]
        .to_string()
        .contains("written to its object file"));
    assert!(ours.objects.contains("web01"));
}
