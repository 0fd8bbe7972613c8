//! An Alignak 2.x arbiter: each command is `POST <url>/command` with `{"command": "<line>"}`;
//! only an answer whose `_status` is `OK` counts as delivered.

use std::time::Duration;

use super::{timestamped_line, DeliveryError, Sink};
use crate::spool::Record;

const TIMEOUT: Duration = Duration::from_secs(10);

pub struct AlignakArbiter {
    url: String,
    agent: ureq::Agent,
}

impl AlignakArbiter {
    pub fn new(base_url: &str) -> AlignakArbiter {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        AlignakArbiter {
            url: format!("{}/command", base_url.trim_end_matches('/')),
            agent,
        }
    }

    fn send(&self, line: &str) -> Result<(), String> {
        let body = serde_json::json!({ "command": line }).to_string();
        let mut response = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .send(body.as_str())
            .map_err(|e| format!("POST {}: {e}", self.url))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("POST {}: reading the answer: {e}", self.url))?;
        let answer: serde_json::Value = serde_json::from_str(&text).map_err(|_| {
            format!(
                "POST {}: HTTP {status}, not a JSON answer: {text:.200}",
                self.url
            )
        })?;
        match answer["_status"].as_str() {
            Some("OK") => Ok(()),
            // The arbiter read the command and refuses it: sending it again would be refused
            // again and hold up every command behind it. Logged, and counted as handed over.
            Some("ERR") if status < 500 => {
                log::error!("the Alignak arbiter refused the command '{line}': {text:.300}");
                Ok(())
            }
            _ => Err(format!("POST {}: HTTP {status}: {text:.300}", self.url)),
        }
    }
}

impl Sink for AlignakArbiter {
    fn deliver(&mut self, records: &[Record]) -> Result<(), DeliveryError> {
        for (delivered, record) in records.iter().enumerate() {
            self.send(&timestamped_line(record))
                .map_err(|reason| DeliveryError { delivered, reason })?;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("the Alignak arbiter at {}", self.url)
    }
}
