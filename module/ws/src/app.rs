//! What every request handler shares.

use std::sync::Arc;

use alignak_module_abi::HostBox;
use serde_json::Value;

use crate::access_log::AccessLog;
use crate::alignak_map::ArbiterPoller;
use crate::auth::Auth;
use crate::config::WsConfig;
use crate::metrics::Metrics;
use crate::queue::CommandQueue;
use crate::store::Store;

pub struct App {
    pub config: Arc<WsConfig>,
    pub commands: CommandQueue,
    /// `None` when `authorization` is off.
    pub auth: Option<Auth>,
    pub store: Arc<dyn Store>,
    pub metrics: Metrics,
    /// `log_access`: a line per request.
    pub access_log: Option<Arc<AccessLog>>,
    /// `None` when `nrdp` is off: `/nrdp` is then not a route.
    pub nrdp: Option<crate::nrdp::NrdpGate>,
    /// `objects_dir`: created hosts and services written as the core's objects.
    pub objects: Option<Arc<crate::core_objects::CoreObjects>>,
    host: Arc<HostBox>,
    arbiter: ArbiterPoller,
}

impl App {
    pub fn new(
        config: WsConfig,
        commands: CommandQueue,
        auth: Option<Auth>,
        store: Arc<dyn Store>,
        host: Arc<HostBox>,
        arbiter: ArbiterPoller,
    ) -> App {
        let metrics = Metrics::new(Arc::clone(&host), commands.shared_counters());
        let nrdp = config
            .nrdp
            .then(|| crate::nrdp::NrdpGate::new(&config.nrdp_tokens, config.nrdp_commands));
        App {
            nrdp,
            config: Arc::new(config),
            commands,
            auth,
            store,
            metrics,
            access_log: None,
            objects: None,
            host,
            arbiter,
        }
    }

    /// With the object writing of `objects_dir`.
    pub fn with_objects(mut self, objects: Option<Arc<crate::core_objects::CoreObjects>>) -> App {
        self.objects = objects;
        self
    }

    /// With the access log of `log_access`.
    pub fn with_access_log(mut self, access_log: Option<Arc<AccessLog>>) -> App {
        self.access_log = access_log;
        self
    }

    /// The daemon's delivery state (`/health`).
    pub fn delivery_status(&self) -> alignak_module_abi::DaemonStatus {
        self.host.status()
    }

    /// `/alignak_map`: the daemons the arbiter knows, and this receiver.
    pub fn daemons_map(&self) -> Value {
        let status = self.host.status();
        let mut map = self.arbiter.map(&status);
        if let Some(objects) = &self.objects {
            let own = &mut map["receiver"][status.identity.name.as_str()];
            if own.is_object() {
                own["objects"] = objects.status();
            }
        }
        map
    }
}
