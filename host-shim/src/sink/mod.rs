//! Where delivered commands go: the core's command file, or the log.

mod command_file;
mod log_only;

pub use command_file::CommandFile;
pub use log_only::LogOnly;

use alignak_module_abi::ExternalCommand;

/// A delivery attempt that stopped part-way: the first `delivered` lines reached the sink.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct DeliveryError {
    pub delivered: usize,
    pub reason: String,
}

pub trait Sink: Send {
    /// Delivers the lines in order; on failure says how many reached the sink.
    fn deliver(&mut self, lines: &[String]) -> Result<(), DeliveryError>;
    /// For log lines: what and where the sink is.
    fn describe(&self) -> String;
}

/// The line as a Nagios-style core reads it: `[<ts>] ` in front when the command has none,
/// and line breaks written as the two characters `\n`, so no input can start a second
/// command. (Nagios turns `\n` back into a line break in plugin output.)
pub fn command_file_line(command: &ExternalCommand) -> String {
    let line = command.cmd_line.as_str();
    let mut out = String::with_capacity(line.len() + 16);
    if !has_timestamp(line) {
        out.push_str(&format!("[{}] ", command.creation_timestamp as u64));
    }
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out
}

fn has_timestamp(line: &str) -> bool {
    line.strip_prefix('[')
        .and_then(|rest| rest.split_once("] "))
        .is_some_and(|(digits, _)| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(line: &str) -> ExternalCommand {
        ExternalCommand {
            cmd_line: line.into(),
            creation_timestamp: 1700000000.7,
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
    }
}
