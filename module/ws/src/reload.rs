//! What SIGHUP may change while the module runs, and what needs a restart.

use alignak_module_abi::ConfigParam;

/// Parameters a reload applies: the log level, the hostgroups file (read again), the TLS
/// certificate and key (new connections get them), and the daemon's own log file. The users
/// file needs no entry: it is read again whenever it changes. Anything else needs a restart.
pub const RELOADABLE: &[&str] = &[
    "log_level",
    "hostgroups_file",
    "server_cert",
    "server_key",
    "ca_cert",
    "log_error",
];

fn value<'a>(params: &'a [ConfigParam], key: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|p| p.key.as_str() == key)
        .map(|p| p.value.as_str().trim())
        .filter(|v| !v.is_empty())
}

/// The keys whose value differs between `old` and `new` and that a reload cannot apply, in
/// the order of `new` then `old`.
pub fn needing_restart(old: &[ConfigParam], new: &[ConfigParam]) -> Vec<String> {
    let mut keys: Vec<&str> = Vec::new();
    for p in new.iter().chain(old) {
        let key = p.key.as_str();
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.into_iter()
        .filter(|k| !RELOADABLE.contains(k))
        .filter(|k| value(old, k) != value(new, k))
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::testing::params;

    #[test]
    fn only_changed_keys_that_cannot_reload_are_named() {
        let old = params(&[("port", "8888"), ("log_level", "INFO"), ("use_ssl", "1")]);
        let new = params(&[("port", "8889"), ("log_level", "DEBUG"), ("host", "::")]);
        assert_eq!(needing_restart(&old, &new), ["port", "host", "use_ssl"]);
        assert!(needing_restart(&old, &old).is_empty());
    }
}
