// Over 400 lines, earned: the embedded store's unit tests (batches, rollbacks, cache, file watch, reads), each against a real SQLite file.
use super::*;
use crate::store::model::Condition;
use crate::store::model::{
    ElementPatch, HistoryPage, HistoryQuery, Kind, LastState, NewElement, NewHistory,
};
use crate::store::rows::Rows;

fn store() -> (tempfile::TempDir, EmbeddedStore) {
    let dir = tempfile::tempdir().unwrap();
    let (store, error) = EmbeddedStore::open(&dir.path().join("sub/dir/ws.sqlite"));
    assert!(error.is_none(), "{error:?}");
    (dir, store)
}

fn with<T>(store: &EmbeddedStore, mut f: impl FnMut(&mut dyn Session) -> T) -> T {
    let mut out = None;
    store
        .session(&Caller::default(), &mut |s| {
            out = Some(f(s));
            Ok(())
        })
        .unwrap();
    out.unwrap()
}

/// The rows behind the documents, on a read connection as `Store::read` has them.
fn rows<T>(store: &EmbeddedStore, mut f: impl FnMut(&mut dyn Rows) -> T) -> T {
    let conn = store.inner.reader().unwrap();
    let mut cache = ElementCache::new(0);
    let mut session = SqliteSession::new(&conn, &store.inner.path, &mut cache);
    f(&mut session)
}

#[test]
fn the_wal_is_checkpointed_by_its_own_thread_not_by_the_commits() {
    let (dir, store) = store();
    let checkpointer = store
        .inner
        .checkpointer
        .as_ref()
        .expect("a checkpoint thread");
    // The session connection checkpoints by itself only far later.
    let threshold: i64 = store
        .inner
        .lock()
        .conn
        .as_ref()
        .unwrap()
        .pragma_query_value(None, "wal_autocheckpoint", |row| row.get(0))
        .unwrap();
    assert_eq!(threshold, FALLBACK_AUTOCHECKPOINT);
    for i in 0..600 {
        with(&store, |s| {
            s.add_history(&NewHistory {
                host_name: Some(format!("h{i}")),
                service_name: None,
                user_name: "Alignak".into(),
                kind: "check.result".into(),
                message: "x".repeat(500),
            })
            .unwrap()
        });
    }
    // 600 commits: two rounds of 256 wake the thread; it works on its own time.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while checkpointer.done() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        checkpointer.done() >= 2,
        "{} checkpoint(s)",
        checkpointer.done()
    );
    // And the data is all there, through another connection.
    let other = Connection::open(dir.path().join("sub/dir/ws.sqlite")).unwrap();
    let rows: i64 = other
        .query_row("SELECT COUNT(*) FROM history", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 600);
}

#[test]
fn hosts_services_and_their_state_round_trip() {
    let (_dir, store) = store();
    let host = with(&store, |s| {
        s.create(Kind::Host, None, &NewElement::named("h1"))
            .unwrap()
    });
    assert_eq!(host.name, "h1");
    assert!(host.active_checks_enabled && host.passive_checks_enabled);
    let patch = ElementPatch {
        active_checks_enabled: Some(false),
        customs: Some(serde_json::from_str(r#"{"_A":"1"}"#).unwrap()),
        livestate: Some(LastState {
            state: "DOWN".into(),
            state_id: 1,
            state_type: "HARD".into(),
            output: "o".into(),
            long_output: "l".into(),
            perf_data: "p".into(),
            last_check: 12,
        }),
        ..ElementPatch::default()
    };
    with(&store, |s| s.update(Kind::Host, host.id, &patch).unwrap());
    let again = with(&store, |s| s.host("h1").unwrap().unwrap());
    assert!(!again.active_checks_enabled);
    assert_eq!(again.customs["_A"], "1");
    assert_eq!(again.livestate, patch.livestate);
    let svc = with(&store, |s| {
        s.create(Kind::Service, Some(host.id), &NewElement::named("svc"))
            .unwrap()
    });
    assert_eq!(
        with(&store, |s| s.services(host.id).unwrap()),
        vec![svc.clone()]
    );
    assert_eq!(
        with(&store, |s| s.service(host.id, "svc").unwrap()),
        Some(svc)
    );
}

#[test]
fn a_failed_session_writes_nothing() {
    let (_dir, store) = store();
    let result = store.session(&Caller::default(), &mut |s| {
        s.create(Kind::Host, None, &NewElement::named("h1"))?;
        Err(StoreError::Unavailable("boom".into()))
    });
    assert!(result.is_err());
    assert_eq!(with(&store, |s| s.host("h1").unwrap()), None);
}

#[test]
fn history_filters_and_pages_newest_first() {
    let (_dir, store) = store();
    with(&store, |s| {
        for (host, kind) in [
            ("a", "check.result"),
            ("b", "webui.comment"),
            ("ab", "check.result"),
        ] {
            s.add_history(&NewHistory {
                host_name: Some(host.into()),
                service_name: None,
                user_name: "Alignak".into(),
                kind: kind.into(),
                message: format!("m {host}"),
            })
            .unwrap();
        }
    });
    let query = |filters: Vec<(&'static str, Vec<Condition>)>| HistoryQuery {
        filters,
        offset: 0,
        limit: 10,
    };
    let cond = |negated, value: &str| Condition {
        negated,
        value: value.into(),
    };
    let names = |page: HistoryPage| -> Vec<String> {
        page.items
            .into_iter()
            .map(|e| e.host_name.unwrap())
            .collect()
    };
    let all = rows(&store, |s| s.history(&query(vec![])).unwrap());
    assert_eq!(all.total, 3);
    assert_eq!(names(all), ["ab", "b", "a"]);
    let page = rows(&store, |s| {
        s.history(&query(vec![("host_name", vec![cond(true, "a")])]))
            .unwrap()
    });
    assert_eq!(names(page), ["b"]);
    let page = rows(&store, |s| {
        s.history(&query(vec![
            ("type", vec![cond(false, "check")]),
            ("host_name", vec![cond(false, "b"), cond(false, "zz")]),
        ]))
        .unwrap()
    });
    assert_eq!(names(page), ["ab"]);
}

#[test]
fn hostgroup_members_and_hosts_naming_a_group() {
    let (_dir, store) = store();
    with(&store, |s| {
        s.put_hostgroup("web", "Web servers", &["h1".into()])
            .unwrap();
        let mut new = NewElement::named("h2");
        new.fields
            .insert("hostgroups".into(), serde_json::json!(["web"]));
        s.create(Kind::Host, None, &new).unwrap();
    });
    let groups = rows(&store, |s| s.hostgroups(Some("web")).unwrap());
    assert_eq!(groups[0].members, ["h1"]);
    let hosts = rows(&store, |s| s.hosts_in_group("web").unwrap());
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0].name, "h2");
}

#[test]
fn a_file_that_is_not_a_database_is_unavailable_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ws.sqlite");
    std::fs::write(&path, vec![b'x'; 8192]).unwrap();
    let (store, error) = EmbeddedStore::open(&path);
    assert!(matches!(error, Some(StoreError::Unavailable(_))));
    let result = store.session(&Caller::default(), &mut |s| s.host("h").map(|_| ()));
    assert!(matches!(result, Err(StoreError::Unavailable(_))));
}

#[test]
fn concurrent_sessions_commit_together_and_a_failing_one_alone_is_undone() {
    let (_dir, store) = store();
    let store = std::sync::Arc::new(store);
    let threads: Vec<_> = (0..12)
        .map(|i| {
            let store = std::sync::Arc::clone(&store);
            std::thread::spawn(move || {
                store.session(&Caller::default(), &mut |s| {
                    s.create(Kind::Host, None, &NewElement::named(&format!("h{i}")))?;
                    match i {
                        3 => Err(StoreError::Unavailable("refused by the test".into())),
                        7 => panic!("a bug inside a session"),
                        _ => Ok(()),
                    }
                })
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for (i, result) in results.iter().enumerate() {
        assert_eq!(result.is_ok(), i != 3 && i != 7, "session {i}: {result:?}");
    }
    for i in 0..12 {
        let found = with(&store, move |s| s.host(&format!("h{i}")).unwrap());
        assert_eq!(found.is_some(), i != 3 && i != 7, "h{i}");
    }
}

/// A queued session that reports its outcome on a channel.
struct Job<F> {
    work: F,
    done: std::sync::mpsc::Sender<(usize, Result<(), StoreError>)>,
    index: usize,
}

impl<F: FnMut(&mut dyn Session) -> Result<(), StoreError> + Send> QueuedWork for Job<F> {
    fn run(&mut self, session: &mut dyn Session) -> Result<(), StoreError> {
        (self.work)(session)
    }
    fn done(self: Box<Self>, outcome: Result<(), StoreError>) {
        self.done.send((self.index, outcome)).unwrap();
    }
}

fn livestate(output: &str) -> ElementPatch {
    ElementPatch::up(output, 1)
}

/// The host's output as the file has it (another connection: no cache), and as a session
/// sees it (through the cache).
fn outputs(store: &EmbeddedStore, name: &str) -> (Option<String>, Option<String>) {
    let conn = Connection::open(&store.inner.path).unwrap();
    let on_disk = conn
        .query_row("SELECT ls_output FROM host WHERE name = ?1", [name], |r| {
            r.get::<_, Option<String>>(0)
        })
        .ok()
        .flatten();
    let seen = with(store, |s| {
        s.host(name)
            .unwrap()
            .and_then(|h| h.livestate.map(|l| l.output))
    });
    (on_disk, seen)
}

#[test]
fn queued_sessions_are_batched_and_a_failed_one_leaves_nothing_in_the_file_or_the_cache() {
    let (_dir, store) = store();
    let host = with(&store, |s| {
        s.create(Kind::Host, None, &NewElement::named("h")).unwrap()
    });
    let (sender, results) = std::sync::mpsc::channel();
    // Held, so that the jobs queue up while the first batch waits: they run in batches.
    let held = store.inner.lock();
    for index in 0..40 {
        let work = move |s: &mut dyn Session| {
            // Reads what the sessions before it in the batch wrote (the cache).
            let before = s.host("h")?.unwrap();
            let expected = (0..index).rev().find(|i| i % 5 != 3 && *i != 17);
            assert_eq!(
                before.livestate.map(|l| l.output),
                expected.map(|i| format!("out {i}")),
                "session {index}"
            );
            s.update(Kind::Host, host.id, &livestate(&format!("out {index}")))?;
            s.create(
                Kind::Service,
                Some(host.id),
                &NewElement::named(&format!("s{index}")),
            )?;
            match index {
                17 => panic!("a bug inside a session"),
                i if i % 5 == 3 => Err(StoreError::Unavailable("refused by the test".into())),
                _ => Ok(()),
            }
        };
        let job = Box::new(Job {
            work,
            done: sender.clone(),
            index,
        });
        assert!(store.queue(&Caller::default(), job).is_ok());
    }
    drop(held);
    let mut outcomes: Vec<_> = (0..40).map(|_| results.recv().unwrap()).collect();
    outcomes.sort_by_key(|(i, _)| *i);
    for (index, outcome) in &outcomes {
        let ok = index % 5 != 3 && *index != 17;
        assert_eq!(outcome.is_ok(), ok, "session {index}: {outcome:?}");
        let service = with(&store, |s| {
            s.service(host.id, &format!("s{index}")).unwrap()
        });
        assert_eq!(service.is_some(), ok, "s{index}");
    }
    assert_eq!(
        outputs(&store, "h"),
        (Some("out 39".into()), Some("out 39".into()))
    );
}

#[test]
fn a_failed_commit_takes_its_writes_out_of_the_cache() {
    let (_dir, store) = store();
    let host = with(&store, |s| {
        let host = s.create(Kind::Host, None, &NewElement::named("h")).unwrap();
        s.update(Kind::Host, host.id, &livestate("kept")).unwrap();
        host
    });
    // Cached now.
    assert_eq!(
        outputs(&store, "h"),
        (Some("kept".into()), Some("kept".into()))
    );
    store
        .inner
        .fail_next_commit
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let result = store.session(&Caller::default(), &mut |s| {
        s.update(Kind::Host, host.id, &livestate("lost"))?;
        s.create(Kind::Host, None, &NewElement::named("h2"))?;
        assert_eq!(
            s.host("h")?.unwrap().livestate.unwrap().output,
            "lost",
            "the session sees its own write"
        );
        Ok(())
    });
    assert!(matches!(result, Err(StoreError::Unavailable(_))));
    assert_eq!(
        outputs(&store, "h"),
        (Some("kept".into()), Some("kept".into()))
    );
    assert_eq!(with(&store, |s| s.host("h2").unwrap()), None);
}

#[test]
fn the_cache_shows_what_the_file_has() {
    let (_dir, store) = store();
    let host = with(&store, |s| {
        let mut new = NewElement::named("h");
        new.fields.insert("alias".into(), serde_json::json!("A"));
        s.create(Kind::Host, None, &new).unwrap()
    });
    let svc = with(&store, |s| {
        s.create(Kind::Service, Some(host.id), &NewElement::named("svc"))
            .unwrap()
    });
    let patch = ElementPatch {
        active_checks_enabled: Some(false),
        passive_checks_enabled: Some(false),
        check_freshness: Some(true),
        customs: Some(serde_json::from_str(r#"{"_A":"1","_N":1.5,"_L":[1,"x"]}"#).unwrap()),
        ..livestate("o")
    };
    with(&store, |s| {
        s.update(Kind::Host, host.id, &patch).unwrap();
        s.update(Kind::Service, svc.id, &patch).unwrap();
    });
    let cached = with(&store, |s| {
        (
            s.host("h").unwrap().unwrap(),
            s.service(host.id, "svc").unwrap().unwrap(),
        )
    });
    // A new store on the same file: its cache is empty, its reads are the file's.
    let (fresh, error) = EmbeddedStore::open(&store.inner.path);
    assert!(error.is_none());
    let read = with(&fresh, |s| {
        (
            s.host("h").unwrap().unwrap(),
            s.service(host.id, "svc").unwrap().unwrap(),
        )
    });
    assert_eq!(cached, read);
}
