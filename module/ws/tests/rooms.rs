//! No import cycle between the rooms of `src/` (`cargo test -p alignak-module-ws --test rooms`).
//!
//! A room is a top-level file or folder of `src/` (`lib.rs`, the root that wires them all,
//! is none); inside a folder, each of its files and sub-folders is a room too, beside its
//! siblings (the folder's `mod.rs`, its face, declares and re-exports them, and is left out
//! there). A room uses another when its code (not its comments nor its unit tests, inline or
//! in a file of their own declared `#[cfg(test)] mod x;`) names it:
//! `crate::other`, `crate::{other, ..}`, and inside a folder `super::sibling` or
//! `crate::folder::sibling`. A `*_tests.rs` file is unit tests moved out of their file
//! (declared under `#[cfg(test)]`): it uses nothing. The rooms and their uses must form no
//! cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every `.rs` file under `dir`: its path relative to `src/` (with `/`), and its text.
fn sources(dir: &Path, relative: &str, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let inner = if relative.is_empty() {
            name.clone()
        } else {
            format!("{relative}/{name}")
        };
        if path.is_dir() {
            sources(&path, &inner, out);
        } else if name.ends_with(".rs") {
            out.push((
                inner,
                std::fs::read_to_string(&path).expect("a source file"),
            ));
        }
    }
}

/// The code of a file: without its comments and its unit tests (the `#[cfg(test)] mod`
/// that ends a file, by this crate's habit).
fn code_of(text: &str) -> String {
    let mut code = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod tests"))
        {
            break;
        }
        let line = &line[..comment_start(line).unwrap_or(line.len())];
        code.push_str(line);
        code.push('\n');
    }
    code
}

/// Where the line's `//` comment starts, if it has one: a `//` inside a string literal
/// (`"http://..."`) is not one, so the code after it on the line is still read.
fn comment_start(line: &str) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if in_string => escaped = true,
            b'"' => in_string = !in_string,
            b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => return Some(i),
            _ => {}
        }
    }
    None
}

/// The names that follow `prefix` in `code`: `prefix name` and each item of
/// `prefix{name, other::thing, ..}`.
fn named_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + prefix.len()..];
        // `x::crate::` or `my_super::` are not this prefix.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        rest = &group[i..];
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => {
                        let word: String = group[i..]
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        names.insert(word);
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !word.is_empty() {
                names.insert(word);
            }
        }
    }
    names
}

type Graph = BTreeMap<String, BTreeSet<String>>;

/// A cycle of `graph`, as the rooms along it, if there is one.
fn a_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        room: &str,
        graph: &Graph,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|r| r == room) {
            let mut cycle = path[at..].to_vec();
            cycle.push(room.to_string());
            return Some(cycle);
        }
        if done.contains(room) {
            return None;
        }
        path.push(room.to_string());
        for next in graph.get(room).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(room.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|room| visit(room, graph, &mut done, &mut Vec::new()))
}

/// The files of unit tests of their own: each `#[cfg(test)] mod x;` of a file, as the path
/// of `x` (a file `x.rs`, or a folder `x/`).
fn test_files(files: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (path, text) in files {
        // `lib.rs` and `dir/mod.rs` declare `x` beside them; `dir/name.rs` in `dir/name/`.
        let dir = match path.rsplit_once('/') {
            None if path == "lib.rs" => String::new(),
            None => format!("{}/", path.trim_end_matches(".rs")),
            Some((dir, "mod.rs")) => format!("{dir}/"),
            Some(_) => format!("{}/", path.trim_end_matches(".rs")),
        };
        let mut lines = text.lines().map(str::trim).peekable();
        while let Some(line) = lines.next() {
            if line != "#[cfg(test)]" {
                continue;
            }
            let Some(name) = lines
                .peek()
                .and_then(|next| next.strip_prefix("mod "))
                .and_then(|rest| rest.strip_suffix(';'))
            else {
                continue;
            };
            found.push(format!("{dir}{name}.rs"));
            found.push(format!("{dir}{name}/"));
        }
    }
    found
}

fn graphs() -> (Graph, BTreeMap<String, Graph>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, "", &mut files);
    let tests = test_files(&files);
    files.retain(|(path, _)| {
        !tests
            .iter()
            .any(|test| path == test || (test.ends_with('/') && path.starts_with(test.as_str())))
    });
    let top_rooms: BTreeSet<String> = files
        .iter()
        .map(|(path, _)| {
            path.split('/')
                .next()
                .unwrap()
                .trim_end_matches(".rs")
                .to_string()
        })
        .filter(|room| room != "lib")
        .collect();
    let mut top = Graph::new();
    let mut inside: BTreeMap<String, Graph> = BTreeMap::new();
    for (path, text) in &files {
        let parts: Vec<&str> = path.split('/').collect();
        let room = parts[0].trim_end_matches(".rs");
        if room == "lib" {
            continue;
        }
        let code = if path.ends_with("_tests.rs") {
            String::new()
        } else {
            code_of(text)
        };
        let uses = top.entry(room.to_string()).or_default();
        for name in named_after(&code, "crate::") {
            if name != room && top_rooms.contains(&name) {
                uses.insert(name);
            }
        }
        // Inside a folder: this file's room among its siblings (not the folder's mod.rs).
        if parts.len() < 2 || path == &format!("{room}/mod.rs") {
            continue;
        }
        let me = parts[1].trim_end_matches(".rs").to_string();
        let siblings: BTreeSet<String> = files
            .iter()
            .filter_map(|(p, _)| p.strip_prefix(&format!("{room}/")))
            .map(|p| {
                p.split('/')
                    .next()
                    .unwrap()
                    .trim_end_matches(".rs")
                    .to_string()
            })
            .filter(|p| p != "mod")
            .collect();
        // `super::` from `room/x.rs` and `room/sub/mod.rs`, `super::super::` from
        // `room/sub/y.rs`, is the folder.
        let up = if parts.len() == 2 || parts[2] == "mod.rs" {
            "super::"
        } else {
            "super::super::"
        };
        let mut names = named_after(&code, &format!("crate::{room}::"));
        names.extend(named_after(&code, up));
        let graph = inside.entry(room.to_string()).or_default();
        let uses = graph.entry(me.clone()).or_default();
        for name in names {
            if name != me && siblings.contains(&name) {
                uses.insert(name);
            }
        }
    }
    (top, inside)
}

#[test]
fn the_rooms_of_src_form_no_import_cycle() {
    let (top, inside) = graphs();
    assert!(top.contains_key("store") && top["handlers"].contains("store"));
    if let Some(cycle) = a_cycle(&top) {
        panic!(
            "an import cycle between rooms of src/: {}",
            cycle.join(" -> ")
        );
    }
    for (folder, graph) in &inside {
        if let Some(cycle) = a_cycle(graph) {
            panic!(
                "an import cycle inside src/{folder}/: {}",
                cycle.join(" -> ")
            );
        }
    }
}

#[test]
fn the_reader_sees_uses_and_cycles() {
    let code = code_of(
        "use crate::{store::{A, B}, auth::Caller};\n// crate::hosts\nfn f() { crate::queue::x(); super::model::y() }\nlet u = \"http://x\"; crate::metrics::z(); // crate::tls\n#[cfg(test)]\nmod tests { use crate::config; }\n",
    );
    let names = named_after(&code, "crate::");
    assert_eq!(
        names,
        ["auth", "metrics", "queue", "store"]
            .map(String::from)
            .into_iter()
            .collect()
    );
    assert!(named_after(&code, "super::").contains("model"));
    let files = [
        ("lib.rs", "#[cfg(test)]\nmod api_tests;\nmod store;"),
        ("store/mod.rs", "#[cfg(test)]\nmod probe;"),
        (
            "store/backend.rs",
            "#[cfg(test)]\nmod session_tests;\n#[cfg(test)]\nuse x;",
        ),
    ]
    .map(|(path, text)| (path.to_string(), text.to_string()));
    assert_eq!(
        test_files(&files),
        [
            "api_tests.rs",
            "api_tests/",
            "store/probe.rs",
            "store/probe/",
            "store/backend/session_tests.rs",
            "store/backend/session_tests/"
        ]
    );
    let mut graph = Graph::new();
    graph.entry("a".into()).or_default().insert("b".into());
    graph.entry("b".into()).or_default().insert("c".into());
    assert_eq!(a_cycle(&graph), None);
    graph.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        a_cycle(&graph),
        Some(["a", "b", "c", "a"].map(String::from).to_vec())
    );
}

/// The reader skips `*_tests.rs` files: each must be compiled for tests only, so that no
/// code can hide its uses behind the name.
#[test]
fn every_tests_file_is_declared_under_cfg_test() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, "", &mut files);
    for (path, _) in files.iter().filter(|(p, _)| p.ends_with("_tests.rs")) {
        let file = path.rsplit('/').next().unwrap();
        let stem = file.trim_end_matches(".rs");
        let declared = files.iter().any(|(_, text)| {
            let lines: Vec<&str> = text.lines().map(str::trim).collect();
            lines.iter().enumerate().any(|(i, line)| {
                let names_it =
                    *line == format!("mod {stem};") || *line == format!("#[path = \"{file}\"]");
                names_it && lines[i.saturating_sub(2)..i].contains(&"#[cfg(test)]")
            })
        });
        assert!(declared, "src/{path} is not declared under #[cfg(test)]");
    }
}
