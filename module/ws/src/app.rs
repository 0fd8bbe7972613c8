//! What every request handler shares.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use alignak_module_abi::HostBox;
use serde_json::Value;

use crate::alignak_map::ArbiterPoller;
use crate::config::WsConfig;
use crate::queue::CommandQueue;
use crate::store::Store;

pub struct App {
    pub config: Arc<WsConfig>,
    pub commands: CommandQueue,
    pub store: Arc<dyn Store>,
    pub requests: AtomicU64,
    host: Arc<HostBox>,
    arbiter: ArbiterPoller,
}

impl App {
    pub fn new(
        config: WsConfig,
        commands: CommandQueue,
        store: Arc<dyn Store>,
        host: Arc<HostBox>,
        arbiter: ArbiterPoller,
    ) -> App {
        App {
            config: Arc::new(config),
            commands,
            store,
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
