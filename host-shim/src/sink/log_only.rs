//! No sink configured: each command is written to the daemon's log.

use super::{DeliveryError, Sink};

pub struct LogOnly;

impl Sink for LogOnly {
    fn deliver(&mut self, lines: &[String]) -> Result<(), DeliveryError> {
        for line in lines {
            log::info!(target: "alignak_receiver::commands", "external command: {line}");
        }
        Ok(())
    }

    fn describe(&self) -> String {
        "the daemon's log (no command_file configured)".into()
    }
}
