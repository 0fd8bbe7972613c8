//! What every request handler shares.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::auth::Auth;
use crate::config::WsConfig;
use crate::queue::CommandQueue;

pub struct App {
    pub config: WsConfig,
    pub commands: CommandQueue,
    /// `None` when `authorization` is off.
    pub auth: Option<Auth>,
    pub requests: AtomicU64,
}

impl App {
    pub fn new(config: WsConfig, commands: CommandQueue, auth: Option<Auth>) -> App {
        App {
            config,
            commands,
            auth,
            requests: AtomicU64::new(0),
        }
    }

    pub fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }
}
