// Over 400 lines: about 400 of code (the receiver and module blocks, with every check the original made), the rest its unit tests.
//! The `define receiver` block this daemon runs as, and the `define module` blocks it loads.

use std::path::PathBuf;

use super::objects::{Attribute, Location, ObjectDef, ObjectFiles};

#[derive(Debug, Clone)]
pub struct ModuleSpec {
    pub alias: String,
    pub python_name: String,
    /// Where `python_name` was written: a library that cannot be loaded is reported there.
    pub python_name_at: Location,
    /// Every attribute of the block but the identification ones, in file order.
    pub params: Vec<Attribute>,
}

#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub modules: Vec<ModuleSpec>,
    pub modules_dir: Option<PathBuf>,
    /// `command_file`: the core's external command file (FIFO or regular file).
    pub command_file: Option<PathBuf>,
    /// `create_command_file`: create `command_file` (and its directory) as a regular file when
    /// it does not exist. Off by default: a FIFO is the core's to create, and a regular file in
    /// its place would stop the core from starting.
    pub create_command_file: bool,
    /// `alignak_arbiter`: an Alignak 2.x arbiter's base URL, to POST commands to.
    pub alignak_arbiter: Option<String>,
    /// Where accepted commands are kept until delivered.
    pub spool_dir: PathBuf,
    /// Bytes of commands waiting for delivery before new ones are refused.
    pub max_spool_size: u64,
    /// Seconds between two logs of the delivery and module counters.
    pub stats_period: u64,
    /// `log_error`: the daemon's log goes to this file (reopened on SIGHUP) instead of
    /// standard error.
    pub log_error: Option<PathBuf>,
    /// Where `log_error` was written.
    pub log_error_at: Option<Location>,
}

/// The receiver settings that differ between `running` and `fresh` and that only a restart
/// applies (everything but `log_error` and the modules' own blocks), one line each.
pub fn needing_restart(running: &ReceiverConfig, fresh: &ReceiverConfig) -> Vec<String> {
    let aliases = |c: &ReceiverConfig| {
        c.modules
            .iter()
            .map(|m| m.alias.clone())
            .collect::<Vec<_>>()
    };
    let mut changed = Vec::new();
    let mut compare = |key: &str, differs: bool| {
        if differs {
            changed.push(format!("receiver {key} changed"));
        }
    };
    compare("receiver_name", running.name != fresh.name);
    compare("address", running.address != fresh.address);
    compare("port", running.port != fresh.port);
    compare("modules", aliases(running) != aliases(fresh));
    compare("modules_dir", running.modules_dir != fresh.modules_dir);
    compare("command_file", running.command_file != fresh.command_file);
    compare(
        "create_command_file",
        running.create_command_file != fresh.create_command_file,
    );
    compare(
        "alignak_arbiter",
        running.alignak_arbiter != fresh.alignak_arbiter,
    );
    compare("spool_dir", running.spool_dir != fresh.spool_dir);
    compare(
        "max_spool_size",
        running.max_spool_size != fresh.max_spool_size,
    );
    compare("stats_period", running.stats_period != fresh.stats_period);
    changed
}

/// A problem with the configuration, located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {reason}")]
pub struct ConfigError {
    pub at: Location,
    pub reason: String,
}

const DEFAULT_MAX_SPOOL_SIZE: u64 = 256 * 1024 * 1024;
const DEFAULT_STATS_PERIOD: u64 = 60;
const DEFAULT_SPOOL_DIR: &str = "var/spool/alignak";

/// The receiver attributes this daemon reads, and those Alignak defines that it has no use
/// for (accepted silently so an existing `receiver-master.cfg` works as it is). Any other key
/// is an error: a typo must not be ignored at the start and pass `--check`.
const ALIGNAK_RECEIVER_KEYS: &[&str] = &[
    "receiver_name",
    "address",
    "port",
    "modules",
    "modules_dir",
    "command_file",
    "create_command_file",
    "alignak_arbiter",
    "spool_dir",
    "max_spool_size",
    "stats_period",
    "log_error",
    "spare",
    "realm",
    "manage_sub_realms",
    "manage_arbiters",
    "timeout",
    "data_timeout",
    "max_check_attempts",
    "check_interval",
    "polling_interval",
    "use_ssl",
    "hard_ssl_name_check",
    "accept_passive_unknown_check_results",
    "direct_routing",
    "min_workers",
    "max_workers",
    "processes_by_worker",
    "worker_polling_interval",
    "satellitemap",
    "imported_from",
    "use",
    "name",
    "register",
];

fn module_alias(object: &ObjectDef) -> Option<&str> {
    object
        .get("module_alias")
        .or_else(|| object.get("name"))
        .map(|a| a.value.as_str())
}

/// Picks the receiver (`-n NAME`, or the only one) and resolves its modules. Returns the
/// configuration and the warnings worth a log line, or every error found.
pub fn resolve(
    files: &ObjectFiles,
    main: &std::path::Path,
    wanted: Option<&str>,
) -> Result<(ReceiverConfig, Vec<String>), Vec<ConfigError>> {
    let receivers: Vec<&ObjectDef> = files.of_kind("receiver").collect();
    // No line to point at: the whole file is meant (shown as `file: reason`).
    let main_at = Location {
        file: main.to_path_buf(),
        line: 0,
    };
    let receiver = match (wanted, receivers.as_slice()) {
        (_, []) => {
            return Err(vec![ConfigError {
                at: main_at,
                reason: "no 'define receiver { ... }' block in the configuration".into(),
            }])
        }
        (None, [only]) => *only,
        (None, several) => {
            let names: Vec<&str> = several
                .iter()
                .filter_map(|r| r.get("receiver_name").map(|a| a.value.as_str()))
                .collect();
            return Err(vec![ConfigError {
                at: main_at,
                reason: format!(
                    "several receivers are defined ({}): choose one with -n",
                    names.join(", ")
                ),
            }]);
        }
        (Some(name), all) => match all
            .iter()
            .find(|r| r.get("receiver_name").is_some_and(|a| a.value == name))
        {
            Some(found) => *found,
            None => {
                let defined: Vec<String> = all
                    .iter()
                    .filter_map(|r| r.get("receiver_name"))
                    .map(|a| format!("'{}' at {}", a.value, a.at))
                    .collect();
                // Pointed at the first receiver's name: that is where a fix would go.
                let first = all[0].get("receiver_name").map_or(&all[0].at, |a| &a.at);
                return Err(vec![ConfigError {
                    at: first.clone(),
                    reason: format!(
                        "receiver_name: -n {name}: no receiver has this name (defined: {})",
                        defined.join(", ")
                    ),
                }]);
            }
        },
    };

    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let name = match receiver.get("receiver_name") {
        Some(a) if !a.value.is_empty() => a.value.clone(),
        _ => {
            errors.push(ConfigError {
                at: receiver.at.clone(),
                reason: "the receiver has no receiver_name".into(),
            });
            String::new()
        }
    };
    let port = match receiver.get("port") {
        None => 7773,
        Some(a) => a.value.parse().unwrap_or_else(|_| {
            errors.push(ConfigError {
                at: a.at.clone(),
                reason: format!("port: not a port number: '{}'", a.value),
            });
            7773
        }),
    };
    let max_spool_size = match receiver.get("max_spool_size") {
        None => DEFAULT_MAX_SPOOL_SIZE,
        Some(a) => match a.value.parse::<u64>() {
            Ok(n) if n >= 4096 => n,
            _ => {
                errors.push(ConfigError {
                    at: a.at.clone(),
                    reason: format!(
                        "max_spool_size: not a number of bytes of at least 4096: '{}'",
                        a.value
                    ),
                });
                DEFAULT_MAX_SPOOL_SIZE
            }
        },
    };
    let stats_period = match receiver.get("stats_period") {
        None => DEFAULT_STATS_PERIOD,
        Some(a) => match a.value.parse::<u64>() {
            Ok(n) if (1..=86_400).contains(&n) => n,
            _ => {
                errors.push(ConfigError {
                    at: a.at.clone(),
                    reason: format!(
                        "stats_period: not a number of seconds from 1 to 86400: '{}'",
                        a.value
                    ),
                });
                DEFAULT_STATS_PERIOD
            }
        },
    };
    let create_command_file = match receiver.get("create_command_file") {
        None => false,
        Some(a) => alignak_module_abi::parse_bool(&a.value).unwrap_or_else(|| {
            errors.push(ConfigError {
                at: a.at.clone(),
                reason: format!(
                    "create_command_file: not a boolean: '{}' (accepted: 1/0, true/false, yes/no, on/off)",
                    a.value
                ),
            });
            false
        }),
    };
    let path_of = |key: &str| {
        receiver
            .get(key)
            .filter(|a| !a.value.is_empty())
            .map(|a| PathBuf::from(&a.value))
    };
    let alignak_arbiter = receiver
        .get("alignak_arbiter")
        .filter(|a| !a.value.is_empty());
    if let Some(url) = alignak_arbiter {
        if !(url.value.starts_with("http://") || url.value.starts_with("https://")) {
            errors.push(ConfigError {
                at: url.at.clone(),
                reason: format!(
                    "alignak_arbiter: '{}' is not an http:// or https:// URL (e.g. http://127.0.0.1:7770)",
                    url.value
                ),
            });
        }
        if let Some(file) = receiver.get("command_file").filter(|a| !a.value.is_empty()) {
            errors.push(ConfigError {
                at: file.at.clone(),
                reason: "command_file and alignak_arbiter are both set: commands go to one core, choose one".into(),
            });
        }
    }
    let alignak_arbiter = alignak_arbiter.map(|a| a.value.clone());
    for attribute in &receiver.attributes {
        if !ALIGNAK_RECEIVER_KEYS.contains(&attribute.key.as_str()) {
            errors.push(ConfigError {
                at: attribute.at.clone(),
                reason: format!(
                    "{}: unknown receiver parameter{}",
                    attribute.key,
                    alignak_module_abi::nearest_key_hint(&attribute.key, ALIGNAK_RECEIVER_KEYS)
                ),
            });
        }
    }

    let mut modules = Vec::new();
    if let Some(list) = receiver.get("modules") {
        for alias in list
            .value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let Some(block) = files
                .of_kind("module")
                .find(|m| module_alias(m) == Some(alias))
            else {
                errors.push(ConfigError {
                    at: list.at.clone(),
                    reason: format!("modules: no 'define module' block has module_alias '{alias}'"),
                });
                continue;
            };
            let Some(python_name) = block.get("python_name").filter(|a| !a.value.is_empty()) else {
                errors.push(ConfigError {
                    at: block.at.clone(),
                    reason: format!(
                        "module '{alias}' has no python_name: it names the library to load"
                    ),
                });
                continue;
            };
            if !python_name
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                errors.push(ConfigError {
                    at: python_name.at.clone(),
                    reason: format!(
                        "python_name: '{}' is not a module name (letters, digits, '_' and '-')",
                        python_name.value
                    ),
                });
                continue;
            }
            let params = block
                .attributes
                .iter()
                .filter(|a| !matches!(a.key.as_str(), "module_alias" | "python_name"))
                .cloned()
                .collect();
            modules.push(ModuleSpec {
                alias: alias.to_string(),
                python_name: python_name.value.clone(),
                python_name_at: python_name.at.clone(),
                params,
            });
        }
    }
    if modules.is_empty() && errors.is_empty() {
        warnings.push(format!(
            "{}: receiver '{name}' loads no module: it will only wait for a signal",
            receiver.at
        ));
    }

    if !errors.is_empty() {
        return Err(errors);
    }
    Ok((
        ReceiverConfig {
            name,
            address: receiver
                .get("address")
                .map_or_else(|| "127.0.0.1".to_string(), |a| a.value.clone()),
            port,
            modules,
            modules_dir: path_of("modules_dir"),
            command_file: path_of("command_file"),
            create_command_file,
            alignak_arbiter,
            spool_dir: path_of("spool_dir").unwrap_or_else(|| PathBuf::from(DEFAULT_SPOOL_DIR)),
            max_spool_size,
            stats_period,
            log_error: path_of("log_error"),
            log_error_at: receiver
                .get("log_error")
                .filter(|a| !a.value.is_empty())
                .map(|a| a.at.clone()),
        },
        warnings,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::objects;
    use std::fs;

    fn parse(text: &str, wanted: Option<&str>) -> Result<ReceiverConfig, Vec<ConfigError>> {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("alignak.cfg");
        fs::write(&main, text).unwrap();
        let files = objects::read(&main).unwrap();
        resolve(&files, &main, wanted).map(|(c, _)| c)
    }

    const WS: &str = "define module {\n module_alias web-services\n python_name alignak_module_ws\n port 8888\n}\n";

    #[test]
    fn the_only_receiver_and_its_modules() {
        let config = parse(
            &format!("define receiver {{\n receiver_name r1\n modules web-services\n command_file /tmp/x\n}}\n{WS}"),
            None,
        )
        .unwrap();
        assert_eq!(config.name, "r1");
        assert_eq!(config.port, 7773);
        assert_eq!(config.command_file, Some(PathBuf::from("/tmp/x")));
        assert_eq!(config.modules.len(), 1);
        assert_eq!(config.modules[0].python_name, "alignak_module_ws");
        assert_eq!(config.modules[0].params[0].key, "port");
    }

    #[test]
    fn several_receivers_need_a_name() {
        let text =
            "define receiver {\n receiver_name a\n}\ndefine receiver {\n receiver_name b\n}\n";
        let err = parse(text, None).unwrap_err();
        assert!(err[0]
            .reason
            .contains("several receivers are defined (a, b)"));
        assert_eq!(parse(text, Some("b")).unwrap().name, "b");
        assert!(parse(text, Some("c")).unwrap_err()[0]
            .reason
            .contains("-n c: no receiver has this name (defined: 'a' at "));
    }

    #[test]
    fn an_unknown_receiver_key_is_an_error_with_a_hint() {
        let err = parse(
            "define receiver {\n receiver_name r\n stats_perod 5\n realm All\n}\n",
            None,
        )
        .unwrap_err();
        assert_eq!(err.len(), 1, "{err:?}");
        assert!(
            err[0].to_string().ends_with(
                "alignak.cfg:3: stats_perod: unknown receiver parameter (did you mean 'stats_period'?)"
            ),
            "{err:?}"
        );
    }

    #[test]
    fn unknown_module_and_bad_port_are_located() {
        let err = parse(
            "define receiver {\n receiver_name r\n port x\n modules nope\n}\n",
            None,
        )
        .unwrap_err();
        let text: Vec<String> = err.iter().map(ToString::to_string).collect();
        assert!(
            text[0].ends_with("alignak.cfg:3: port: not a port number: 'x'"),
            "{text:?}"
        );
        assert!(
            text[1].ends_with(
                "alignak.cfg:4: modules: no 'define module' block has module_alias 'nope'"
            ),
            "{text:?}"
        );
    }
}
