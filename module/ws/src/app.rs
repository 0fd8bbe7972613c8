//! What every request handler shares.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::WsConfig;
use crate::queue::CommandQueue;

pub struct App {
    pub config: WsConfig,
    pub commands: CommandQueue,
    pub requests: AtomicU64,
}

impl App {
    pub fn new(config: WsConfig, commands: CommandQueue) -> App {
        App {
            config,
            commands,
            requests: AtomicU64::new(0),
        }
    }

    pub fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }
}
