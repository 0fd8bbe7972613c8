//! `hostgroups_file`: the `define hostgroup { hostgroup_name; alias; members }` blocks of an
//! Alignak `.cfg` file (and what it includes), read with the daemon's own object-file parser.
//! The daemon passes only module blocks to modules, so the module reads this file itself.

use std::path::Path;

use alignak_objects::ObjectDef;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostgroupDef {
    pub name: String,
    pub alias: String,
    pub members: Vec<String>,
}

/// Every hostgroup of the file, or `file:line: reason` for the first problem.
pub fn read(path: &Path) -> Result<Vec<HostgroupDef>, String> {
    let files = alignak_objects::read(path).map_err(|e| e.to_string())?;
    files.of_kind("hostgroup").map(hostgroup).collect()
}

fn hostgroup(object: &ObjectDef) -> Result<HostgroupDef, String> {
    let get = |key: &str| object.get(key).map(|a| a.value.clone());
    let name = get("hostgroup_name")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| format!("{}: a hostgroup needs a hostgroup_name", object.at))?;
    Ok(HostgroupDef {
        alias: get("alias").unwrap_or_else(|| name.clone()),
        members: get("members")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(String::from)
            .collect(),
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> Result<Vec<HostgroupDef>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("groups.cfg");
        std::fs::write(&path, text).unwrap();
        read(&path)
    }

    #[test]
    fn hostgroup_blocks_other_blocks_and_comments() {
        let text = "# groups\n\
            define hostgroup {\n    hostgroup_name  web ; the web servers\n    alias  Web\\; front\n    members web01, web02 ,\n}\n\
            define host {\n    host_name web01\n}\n\
            define hostgroup{\n    hostgroup_name db\n}\n";
        assert_eq!(
            read_text(text).unwrap(),
            vec![
                HostgroupDef {
                    name: "web".into(),
                    alias: "Web; front".into(),
                    members: vec!["web01".into(), "web02".into()],
                },
                HostgroupDef {
                    name: "db".into(),
                    alias: "db".into(),
                    members: vec![],
                },
            ]
        );
    }

    #[test]
    fn problems_name_their_file_and_line() {
        assert!(read_text("hostgroup_name x\n")
            .unwrap_err()
            .contains("groups.cfg:1: expected 'define <type> {'"));
        assert!(read_text("\ndefine hostgroup {\n alias x\n}\n")
            .unwrap_err()
            .contains("groups.cfg:2: a hostgroup needs a hostgroup_name"));
        assert!(read_text("define hostgroup {\n hostgroup_name x\n")
            .unwrap_err()
            .contains("not closed"));
    }
}
