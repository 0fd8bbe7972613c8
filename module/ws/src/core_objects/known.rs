//! What a core defines, read from object definitions: Nagios' object cache (`objects.cache`,
//! rewritten at each start and reload) and the module's own files, which use the same syntax.

use std::collections::{HashMap, HashSet};

/// Hosts and services by name, each with the names of its custom variables (upper case,
/// without the leading `_`, as Nagios keeps them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    pub hosts: HashMap<String, HashSet<String>>,
    pub services: HashMap<(String, String), HashSet<String>>,
}

impl Known {
    pub fn host(&self, host: &str) -> bool {
        self.hosts.contains_key(host)
    }

    pub fn service(&self, host: &str, service: &str) -> bool {
        self.services
            .contains_key(&(host.to_string(), service.to_string()))
    }

    /// Whether the core's object has the custom variable `name` (`_ROOM` or `ROOM`).
    pub fn variable(&self, host: &str, service: Option<&str>, name: &str) -> bool {
        let name = name.trim_start_matches('_').to_uppercase();
        let variables = match service {
            None => self.hosts.get(host),
            Some(service) => self.services.get(&(host.to_string(), service.to_string())),
        };
        variables.is_some_and(|v| v.contains(&name))
    }
}

/// The hosts and services of an object file; a missing file defines nothing.
pub fn read(path: &std::path::Path) -> Known {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text),
        Err(err) => {
            if path.exists() {
                log::warn!("objects: cannot read {}: {err}", path.display());
            }
            Known::default()
        }
    }
}

/// Reads `define host { ... }` and `define service { ... }` blocks, line by line as Nagios
/// writes its cache: a block ends on a line that is only `}`. Not `alignak_objects`: that
/// follows Alignak's syntax, where a value ending in `}` closes the block, and it refuses
/// the whole file on one such line, while the cache holds the admin's values as they are;
/// here an odd line costs that line, never the knowledge of every other object.
pub fn parse(text: &str) -> Known {
    let mut known = Known::default();
    let mut block: Option<(String, HashMap<String, String>)> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line == "}" {
            if let Some((kind, directives)) = block.take() {
                add(&mut known, &kind, &directives);
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("define ") {
            if let Some(kind) = rest.trim().strip_suffix('{') {
                block = Some((kind.trim().to_string(), HashMap::new()));
                continue;
            }
        }
        if let Some((_, directives)) = block.as_mut() {
            let (key, value) = line
                .split_once(char::is_whitespace)
                .map_or((line, ""), |(k, v)| (k, v.trim()));
            directives.insert(key.to_string(), value.to_string());
        }
    }
    known
}

fn add(known: &mut Known, kind: &str, directives: &HashMap<String, String>) {
    let value = |key: &str| directives.get(key).map(String::as_str);
    if value("register") == Some("0") {
        return;
    }
    let Some(host) = value("host_name").filter(|h| !h.is_empty()) else {
        return;
    };
    let variables: HashSet<String> = directives
        .keys()
        .filter_map(|k| k.strip_prefix('_'))
        .map(str::to_uppercase)
        .collect();
    match kind {
        "host" => {
            known.hosts.insert(host.to_string(), variables);
        }
        "service" => {
            if let Some(service) = value("service_description") {
                known
                    .services
                    .insert((host.to_string(), service.to_string()), variables);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nagios_object_cache_blocks() {
        let cache = "\
########################################
#       NAGIOS OBJECT CACHE FILE
########################################

define timeperiod {
\ttimeperiod_name\t24x7
\t}

define host {
\thost_name\ttest_host
\talias\ttest_host
\tnotes\ta { b } c }
\t_ROOM\tR1
\t}

define host {
\tname\tpassive-host
\tregister\t0
\t}

define service {
\thost_name\ttest_host
\tservice_description\tsvc 1
\t_OWNER\tme
\t}
";
        let dir = std::env::temp_dir().join(format!("ws-known-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("objects.cache");
        std::fs::write(&path, cache).unwrap();
        let known = read(&path);
        assert_eq!(read(&dir.join("missing.cache")), Known::default());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(known.host("test_host"));
        assert!(!known.host("passive-host") && !known.host("24x7"));
        assert!(known.service("test_host", "svc 1"));
        assert!(!known.service("test_host", "svc"));
        assert!(known.variable("test_host", None, "_ROOM"));
        assert!(known.variable("test_host", None, "room"));
        assert!(!known.variable("test_host", None, "_OWNER"));
        assert!(known.variable("test_host", Some("svc 1"), "_OWNER"));
    }
}
