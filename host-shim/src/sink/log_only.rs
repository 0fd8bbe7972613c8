//! No sink configured: each command is written to the daemon's log and appended to a journal
//! file, so that what was received can still be read back.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use super::{command_file_line, DeliveryError, Sink};
use crate::spool::Record;

pub struct LogOnly {
    journal_path: PathBuf,
    journal: Option<File>,
}

impl LogOnly {
    pub fn new(journal_path: PathBuf) -> LogOnly {
        LogOnly {
            journal_path,
            journal: None,
        }
    }
}

impl Sink for LogOnly {
    fn deliver(&mut self, records: &[Record]) -> Result<(), DeliveryError> {
        let lines: Vec<String> = records.iter().map(command_file_line).collect();
        if self.journal.is_none() {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                // What clients asked the core to do: the daemon's user only.
                .mode(0o600)
                .open(&self.journal_path)
                .map_err(|e| DeliveryError {
                    delivered: 0,
                    reason: format!("cannot open {}: {e}", self.journal_path.display()),
                })?;
            self.journal = Some(file);
        }
        let mut text = String::new();
        for line in &lines {
            text.push_str(line);
            text.push('\n');
        }
        if let Some(journal) = self.journal.as_mut() {
            if let Err(e) = journal.write_all(text.as_bytes()) {
                self.journal = None;
                return Err(DeliveryError {
                    delivered: 0,
                    reason: format!("cannot write {}: {e}", self.journal_path.display()),
                });
            }
        }
        for line in &lines {
            log::info!(target: "alignak_receiver::commands", "external command: {line}");
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!(
            "the daemon's log and {} (no command_file or alignak_arbiter configured)",
            self.journal_path.display()
        )
    }
}
