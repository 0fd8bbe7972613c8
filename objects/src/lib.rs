//! Alignak/Nagios object files, as the daemon and the modules read them: `define <type> {
//! key value }` blocks, `#` and `;` comments, `cfg_file=` and `cfg_dir=` includes resolved
//! relative to the including file. Every value keeps the file and line it came from.

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// Where a thing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Line 0 means the whole file (no line to point at): never print a `:0`.
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}", self.file.display(), self.line)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub key: String,
    pub value: String,
    pub at: Location,
}

/// One `define <kind> { ... }` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectDef {
    pub kind: String,
    pub attributes: Vec<Attribute>,
    pub at: Location,
}

impl ObjectDef {
    /// The last value of `key` (a later line overrides an earlier one).
    pub fn get(&self, key: &str) -> Option<&Attribute> {
        self.attributes.iter().rev().find(|a| a.key == key)
    }
}

/// Everything read from a main file and its includes.
#[derive(Debug, Default)]
pub struct ObjectFiles {
    pub objects: Vec<ObjectDef>,
    /// `key=value` settings outside any block (main-file settings), with their location.
    pub settings: Vec<Attribute>,
    /// Every file read, in order.
    pub files: Vec<PathBuf>,
}

impl ObjectFiles {
    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a ObjectDef> + 'a {
        self.objects.iter().filter(move |o| o.kind == kind)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("{path}: cannot read: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("{at}: {reason}")]
    Syntax { at: Location, reason: String },
    #[error("{at}: '{path}' is included again (include loop)")]
    IncludeLoop { at: Location, path: PathBuf },
}

/// Reads `main` and everything it includes.
pub fn read(main: &Path) -> Result<ObjectFiles, ParseError> {
    let mut reader = Reader {
        out: ObjectFiles::default(),
        seen: HashSet::new(),
    };
    reader.read_file(main, None)?;
    Ok(reader.out)
}

struct Reader {
    out: ObjectFiles,
    seen: HashSet<PathBuf>,
}

/// Cuts a `;` comment that is not escaped as `\;`, and turns `\;` into `;`.
fn strip_inline_comment(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&';') => {
                out.push(';');
                chars.next();
            }
            ';' => break,
            _ => out.push(c),
        }
    }
    out
}

impl Reader {
    fn read_file(&mut self, path: &Path, included_at: Option<&Location>) -> Result<(), ParseError> {
        let unreadable = |reason: String| match included_at {
            Some(at) => ParseError::Syntax {
                at: at.clone(),
                reason: format!("cannot read included file {}: {reason}", path.display()),
            },
            None => ParseError::Unreadable {
                path: path.to_path_buf(),
                reason,
            },
        };
        let canonical = fs::canonicalize(path).map_err(|e| unreadable(e.to_string()))?;
        if !self.seen.insert(canonical) {
            return Err(ParseError::IncludeLoop {
                at: included_at.cloned().unwrap_or(Location {
                    file: path.to_path_buf(),
                    line: 0,
                }),
                path: path.to_path_buf(),
            });
        }
        let text = fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
        self.out.files.push(path.to_path_buf());
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();

        let mut current: Option<ObjectDef> = None;
        // `define receiver` with its `{` on a following line.
        let mut pending_define: Option<(String, Location)> = None;
        for (index, raw) in text.lines().enumerate() {
            let at = Location {
                file: path.to_path_buf(),
                line: index as u32 + 1,
            };
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            let line = strip_inline_comment(trimmed);
            let mut line = line.trim();
            if line.is_empty() {
                continue;
            }

            if let Some((kind, def_at)) = pending_define.take() {
                let Some(rest) = line.strip_prefix('{') else {
                    return Err(ParseError::Syntax {
                        at: def_at,
                        reason: format!("'define {kind}' must be followed by '{{'"),
                    });
                };
                current = Some(ObjectDef {
                    kind,
                    attributes: Vec::new(),
                    at: def_at,
                });
                line = rest.trim();
                if line.is_empty() {
                    continue;
                }
            }

            if let Some(object) = current.as_mut() {
                // A closing brace ends the block; text before it on the same line is a value.
                let (body, closes) = match line.strip_suffix('}') {
                    Some(body) => (body.trim(), true),
                    None => (line, false),
                };
                if !body.is_empty() {
                    let (key, value) = match body.split_once(char::is_whitespace) {
                        Some((k, v)) => (k, v.trim()),
                        None => (body, ""),
                    };
                    if key.contains(['{', '}']) || key == "define" {
                        return Err(ParseError::Syntax {
                            at,
                            reason: format!(
                                "unexpected '{body}' inside 'define {}' started at line {} (missing '}}'?)",
                                object.kind, object.at.line
                            ),
                        });
                    }
                    object.attributes.push(Attribute {
                        key: key.to_string(),
                        value: value.to_string(),
                        at: at.clone(),
                    });
                }
                if closes {
                    if let Some(done) = current.take() {
                        self.out.objects.push(done);
                    }
                }
                continue;
            }

            if let Some(rest) = line.strip_prefix("define") {
                if rest.starts_with(char::is_whitespace) {
                    let rest = rest.trim();
                    let (kind, after) = match rest.find('{') {
                        Some(i) => (rest[..i].trim(), Some(rest[i + 1..].trim())),
                        None => (rest, None),
                    };
                    if kind.is_empty() || kind.contains(char::is_whitespace) {
                        return Err(ParseError::Syntax {
                            at,
                            reason: format!("'define' needs one object type, not '{kind}'"),
                        });
                    }
                    match after {
                        None => pending_define = Some((kind.to_string(), at)),
                        Some("") => {
                            current = Some(ObjectDef {
                                kind: kind.to_string(),
                                attributes: Vec::new(),
                                at,
                            })
                        }
                        Some(after) => {
                            return Err(ParseError::Syntax {
                                at,
                                reason: format!(
                                    "put the attributes of 'define {kind}' on their own lines, not '{after}'"
                                ),
                            })
                        }
                    }
                    continue;
                }
            }

            if line == "}" {
                return Err(ParseError::Syntax {
                    at,
                    reason: "'}' without a 'define' block".into(),
                });
            }

            let Some((key, value)) = line.split_once('=') else {
                return Err(ParseError::Syntax {
                    at,
                    reason: format!(
                        "expected 'define <type> {{', 'key=value', or a comment, not '{line}'"
                    ),
                });
            };
            let (key, value) = (key.trim(), value.trim());
            match key {
                "cfg_file" => self.read_file(&base.join(value), Some(&at))?,
                "cfg_dir" => self.read_dir(&base.join(value), &at)?,
                _ => self.out.settings.push(Attribute {
                    key: key.to_string(),
                    value: value.to_string(),
                    at,
                }),
            }
        }
        if let Some((kind, at)) = pending_define {
            return Err(ParseError::Syntax {
                at,
                reason: format!("'define {kind}' is not followed by '{{'"),
            });
        }
        if let Some(object) = current {
            return Err(ParseError::Syntax {
                at: object.at,
                reason: format!("'define {}' is not closed with '}}'", object.kind),
            });
        }
        Ok(())
    }

    /// Every `*.cfg` below `dir`, sorted by path so the order does not depend on the file system.
    fn read_dir(&mut self, dir: &Path, at: &Location) -> Result<(), ParseError> {
        let mut files = Vec::new();
        collect_cfg_files(dir, &mut files).map_err(|e| ParseError::Syntax {
            at: at.clone(),
            reason: format!("cannot read included directory {}: {e}", dir.display()),
        })?;
        files.sort();
        for file in files {
            self.read_file(&file, Some(at))?;
        }
        Ok(())
    }
}

fn collect_cfg_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_cfg_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "cfg") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn reads_blocks_comments_and_includes_with_locations() {
        let dir = tempfile::tempdir().unwrap();
        let main = write(
            dir.path(),
            "alignak.cfg",
            "# main\nlog_level=INFO\ncfg_dir=arbiter\ncfg_file=extra/one.cfg\n",
        );
        write(
            dir.path(),
            "arbiter/daemons/receiver.cfg",
            "define receiver {\n  receiver_name  r1 ; inline comment\n  modules web-services, other\n\n  ; a comment\n  address 127.0.0.1\n}\n",
        );
        write(
            dir.path(),
            "arbiter/modules/ws.cfg",
            "define module{\n  module_alias web-services\n  note  a\\;b\n}\n",
        );
        write(dir.path(), "arbiter/ignored.txt", "not read");
        write(
            dir.path(),
            "extra/one.cfg",
            "define hostgroup\n{\nhostgroup_name all }\n",
        );
        let files = read(&main).unwrap();
        assert_eq!(files.files.len(), 4);
        assert_eq!(files.settings[0].key, "log_level");
        let receiver = files.of_kind("receiver").next().unwrap();
        let name = receiver.get("receiver_name").unwrap();
        assert_eq!(name.value, "r1");
        assert_eq!(name.at.line, 2);
        assert!(name.at.file.ends_with("arbiter/daemons/receiver.cfg"));
        assert_eq!(
            receiver.get("modules").unwrap().value,
            "web-services, other"
        );
        assert_eq!(receiver.get("address").unwrap().at.line, 6);
        let module = files.of_kind("module").next().unwrap();
        assert_eq!(module.get("note").unwrap().value, "a;b");
        let group = files.of_kind("hostgroup").next().unwrap();
        assert_eq!(group.get("hostgroup_name").unwrap().value, "all");
    }

    #[test]
    fn errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                "define receiver {\n receiver_name r\n",
                "alignak.cfg:1: 'define receiver' is not closed",
            ),
            ("}\n", "alignak.cfg:1: '}' without a 'define' block"),
            ("hello world\n", "alignak.cfg:1: expected 'define <type> {'"),
            (
                "\n\ncfg_file=missing.cfg\n",
                "alignak.cfg:3: cannot read included file",
            ),
            (
                "define receiver {\n a 1\ndefine module {\n}\n",
                "alignak.cfg:3: unexpected 'define module {'",
            ),
        ];
        for (text, expected) in cases {
            let main = write(dir.path(), "alignak.cfg", text);
            let err = read(&main).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn include_loops_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let main = write(dir.path(), "a.cfg", "cfg_file=b.cfg\n");
        write(dir.path(), "b.cfg", "cfg_file=a.cfg\n");
        assert!(matches!(read(&main), Err(ParseError::IncludeLoop { .. })));
    }
}
