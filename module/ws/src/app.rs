//! What every request handler shares.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use alignak_module_abi::HostBox;
use serde_json::Value;

use crate::alignak_map::ArbiterPoller;
use crate::config::WsConfig;
use crate::queue::CommandQueue;

pub struct App {
    pub config: WsConfig,
    pub commands: CommandQueue,
    pub requests: AtomicU64,
    host: Arc<HostBox>,
    arbiter: ArbiterPoller,
}

impl App {
    pub fn new(
        config: WsConfig,
        commands: CommandQueue,
        host: Arc<HostBox>,
        arbiter: ArbiterPoller,
    ) -> App {
        App {
            config,
            commands,
            requests: AtomicU64::new(0),
            host,
            arbiter,
        }
    }

    /// `/alignak_map`: the daemons the arbiter knows, and this receiver.
    pub fn daemons_map(&self) -> Value {
        self.arbiter.map(&self.host.status())
    }

    pub fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }
}
