//! Where delivered commands go: the core's command file, or the log.

mod arbiter;
mod command_file;
mod log_only;

pub use arbiter::AlignakArbiter;
pub use command_file::CommandFile;
pub use log_only::LogOnly;

use crate::spool::Record;

/// A delivery attempt that stopped part-way: the first `delivered` lines reached the sink.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct DeliveryError {
    pub delivered: usize,
    pub reason: String,
}

pub trait Sink: Send {
    /// Delivers the records in order; on failure says how many reached the sink.
    fn deliver(&mut self, records: &[Record]) -> Result<(), DeliveryError>;
    /// For log lines: what and where the sink is.
    fn describe(&self) -> String;
}

/// The line as a Nagios-style core reads it: `[<ts>] ` in front when the command has none,
/// and line breaks written as the two characters `\n`, so no input can start a second
/// command (Nagios turns `\n` back into a line break in plugin output), and a TAB as a space.
pub fn command_file_line(record: &Record) -> String {
    let mut out = Vec::with_capacity(record.line.len() + 24);
    push_command_file_line(&mut out, record);
    // Only whole UTF-8 runs of the line and ASCII were pushed.
    String::from_utf8(out).unwrap_or_default()
}

/// `command_file_line`, appended to `out` (no line break): the command file's writer builds
/// its chunk with it, a line at a time, with no string of its own per command.
pub fn push_command_file_line(out: &mut Vec<u8>, record: &Record) {
    let line = record.line.as_str();
    if !has_timestamp(line) {
        out.push(b'[');
        out.extend_from_slice(itoa::Buffer::new().format(record.created as u64).as_bytes());
        out.extend_from_slice(b"] ");
    }
    // Copied a run at a time between the characters that change.
    let mut rest = line;
    while let Some(at) = rest.find(['\r', '\n', '\t']) {
        out.extend_from_slice(&rest.as_bytes()[..at]);
        let changed = rest.as_bytes()[at];
        rest = &rest[at + 1..];
        match changed {
            b'\r' => {
                rest = rest.strip_prefix('\n').unwrap_or(rest);
                out.extend_from_slice(b"\\n");
            }
            b'\n' => out.extend_from_slice(b"\\n"),
            // Another module may not follow the module's character rule (SPEC §8).
            _ => out.push(b' '),
        }
    }
    out.extend_from_slice(rest.as_bytes());
}

/// The whole line with its `[<ts>] ` prefix, line breaks kept: for sinks that take one command
/// per message (the Alignak arbiter), where a line break cannot start another command.
pub fn timestamped_line(record: &Record) -> String {
    if has_timestamp(&record.line) {
        record.line.clone()
    } else {
        format!("[{}] {}", record.created as u64, record.line)
    }
}

fn has_timestamp(line: &str) -> bool {
    line.strip_prefix('[')
        .and_then(|rest| rest.split_once("] "))
        .is_some_and(|(digits, _)| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(line: &str) -> Record {
        Record {
            seq: 0,
            line: line.into(),
            created: 1700000000.7,
        }
    }

    #[test]
    fn a_timestamp_is_added_only_when_missing() {
        assert_eq!(
            command_file_line(&command("DISABLE_NOTIFICATIONS")),
            "[1700000000] DISABLE_NOTIFICATIONS"
        );
        assert_eq!(
            command_file_line(&command("[12] DISABLE_NOTIFICATIONS")),
            "[12] DISABLE_NOTIFICATIONS"
        );
        assert_eq!(command_file_line(&command("[x] A")), "[1700000000] [x] A");
    }

    #[test]
    fn line_breaks_never_reach_the_file() {
        assert_eq!(
            command_file_line(&command(
                "[1] PROCESS_HOST_CHECK_RESULT;h;0;out\nlong\r\nmore\rend"
            )),
            "[1] PROCESS_HOST_CHECK_RESULT;h;0;out\\nlong\\nmore\\nend"
        );
        assert_eq!(
            command_file_line(&command("[1] PROCESS_HOST_CHECK_RESULT;h;0;a\tb")),
            "[1] PROCESS_HOST_CHECK_RESULT;h;0;a b"
        );
    }
}
