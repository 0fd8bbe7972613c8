//! `hostgroups_file`: `define hostgroup { hostgroup_name; alias; members }` blocks of an
//! Alignak `.cfg` file. The daemon passes only module blocks to modules, so the module reads
//! this file itself (a small parser for this one block type; `cfg_file`/`cfg_dir` includes are
//! not followed).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostgroupDef {
    pub name: String,
    pub alias: String,
    pub members: Vec<String>,
}

/// Alignak comments: a line starting with `#` or `;`, and from an unescaped `;` on.
fn strip_comment(line: &str) -> String {
    let trimmed = line.trim_start();
    if trimmed.starts_with('#') || trimmed.starts_with(';') {
        return String::new();
    }
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&';') => {
                out.push(';');
                chars.next();
            }
            ';' => break,
            c => out.push(c),
        }
    }
    out
}

type Block = (usize, String, Vec<(String, String)>);

/// Every hostgroup of `text`, or `line: reason` for the first problem.
pub fn parse(text: &str) -> Result<Vec<HostgroupDef>, String> {
    let mut groups = Vec::new();
    // The open block: its first line, its type, its `key value` lines.
    let mut current: Option<Block> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = strip_comment(raw);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if current.is_none() {
            let Some(rest) = line.strip_prefix("define") else {
                return Err(format!(
                    "{number}: expected 'define <type> {{', got '{line}'"
                ));
            };
            let kind = rest.trim().trim_end_matches('{').trim();
            if !rest.trim_end().ends_with('{') || kind.is_empty() {
                return Err(format!(
                    "{number}: expected 'define <type> {{', got '{line}'"
                ));
            }
            current = Some((number, kind.to_string(), Vec::new()));
            continue;
        }
        let (start, kind, mut fields) = current.take().unwrap_or_default();
        if line == "}" {
            if kind == "hostgroup" {
                groups.push(hostgroup(start, &fields)?);
            }
            continue;
        }
        let (key, value) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        fields.push((key.to_string(), value.trim().to_string()));
        current = Some((start, kind, fields));
    }
    if let Some((start, _, _)) = current {
        return Err(format!("{start}: this block is not closed with '}}'"));
    }
    Ok(groups)
}

fn hostgroup(start: usize, fields: &[(String, String)]) -> Result<HostgroupDef, String> {
    let get = |key: &str| {
        fields
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let name = get("hostgroup_name")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| format!("{start}: a hostgroup needs a hostgroup_name"))?;
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

    #[test]
    fn hostgroup_blocks_other_blocks_and_comments() {
        let text = "# groups\n\
            define hostgroup {\n    hostgroup_name  web ; the web servers\n    alias  Web\\; front\n    members web01, web02 ,\n}\n\
            define host {\n    host_name web01\n}\n\
            define hostgroup{\n    hostgroup_name db\n}\n";
        assert_eq!(
            parse(text).unwrap(),
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
    fn problems_name_their_line() {
        assert!(parse("hostgroup_name x\n").unwrap_err().starts_with("1:"));
        assert!(parse("\ndefine hostgroup {\n alias x\n}\n")
            .unwrap_err()
            .starts_with("2:"));
        assert!(parse("define hostgroup {\n hostgroup_name x\n")
            .unwrap_err()
            .contains("not closed"));
    }
}
