//! `GET /metrics`: the module's figures in the Prometheus/OpenMetrics text format.
//!
//! What happens on the request path (requests, their durations, refused credentials) is
//! counted where it happens, in the families below; what the daemon and the command queue
//! already count (commands accepted, spooled, delivered, pending, sink errors) and the
//! process' own figures are read at scrape time by `snapshot`, so the hot path pays for
//! nothing it does not need.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use alignak_module_abi::HostBox;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use crate::queue::QueueCounters;

mod snapshot;
use snapshot::{unix_now, Snapshot};

/// The content type of the OpenMetrics text format, which Prometheus 2 and 3 both scrape.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    /// `invalid`: missing or wrong credentials (401); `rate_limited`: refused by the rate
    /// limiter (429).
    reason: &'static str,
}

/// Why credentials were refused, as the metrics label them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Invalid,
    RateLimited,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendCallLabels {
    method: &'static str,
    /// The backend's resource (`host`, `service`, `logcheckresult`, ...): our own calls'
    /// paths, never a client's text.
    resource: String,
    /// `ok`, `refused` (4xx), `unauthorized` (401) or `unavailable` (no answer, 5xx).
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendResourceLabels {
    method: &'static str,
    resource: String,
}

/// What the store and the backend client observe, below the request path: they are reached
/// from the store's own thread and the blocking pool, where no request's `App` is at hand.
/// One module runs per daemon process, so one set of these serves it.
struct Shared {
    store_batch_sessions: Histogram,
    store_batch_duration: Histogram,
    backend_calls: Family<BackendCallLabels, Counter>,
    backend_durations: Family<BackendResourceLabels, Histogram, fn() -> Histogram>,
}

static SHARED: LazyLock<Shared> = LazyLock::new(|| Shared {
    store_batch_sessions: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
    store_batch_duration: duration_histogram(),
    backend_calls: Family::default(),
    backend_durations: Family::new_with_constructor(duration_histogram),
});

/// One batch of the embedded store's session thread: its sessions, committed together.
pub fn store_batch(sessions: usize, took: Duration) {
    SHARED.store_batch_sessions.observe(sessions as f64);
    SHARED.store_batch_duration.observe(took.as_secs_f64());
}

/// One call to the Alignak backend.
pub fn backend_call(method: &'static str, resource: &str, outcome: &'static str, took: Duration) {
    SHARED
        .backend_calls
        .get_or_create(&BackendCallLabels {
            method,
            resource: resource.to_string(),
            outcome,
        })
        .inc();
    SHARED
        .backend_durations
        .get_or_create(&BackendResourceLabels {
            method,
            resource: resource.to_string(),
        })
        .observe(took.as_secs_f64());
}

type DurationHistograms = Family<EndpointLabels, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    // 100 µs to about 13 s: a cached read, a durable write, a slow backend.
    Histogram::new(exponential_buckets(0.0001, 2.5, 14))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: DurationHistograms,
    refusals: Family<RefusalLabels, Counter>,
}

impl Metrics {
    pub fn new(host: Arc<HostBox>, queue: Arc<QueueCounters>) -> Metrics {
        let mut registry = Registry::with_prefix("alignak_ws");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by endpoint, method and status",
            requests.clone(),
        );
        let durations: DurationHistograms = Family::new_with_constructor(duration_histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time from the request's headers to its answer, by endpoint",
            Unit::Seconds,
            durations.clone(),
        );
        let refusals = Family::<RefusalLabels, Counter>::default();
        registry.register(
            "auth_refusals",
            "Requests refused for their credentials: invalid (401) or rate limited (429)",
            refusals.clone(),
        );
        let shared = &*SHARED;
        registry.register(
            "store_batch_sessions",
            "Sessions the embedded store's thread ran in one transaction (one COMMIT)",
            shared.store_batch_sessions.clone(),
        );
        registry.register_with_unit(
            "store_batch_duration",
            "Time of one embedded store batch, from its first session to its COMMIT",
            Unit::Seconds,
            shared.store_batch_duration.clone(),
        );
        registry.register(
            "backend_calls",
            "Calls to the Alignak backend, by method, resource and outcome",
            shared.backend_calls.clone(),
        );
        registry.register_with_unit(
            "backend_call_duration",
            "Time of one call to the Alignak backend, by method and resource",
            Unit::Seconds,
            shared.backend_durations.clone(),
        );
        registry.register_collector(Box::new(Snapshot {
            host,
            queue,
            started: unix_now(),
        }));
        Metrics {
            registry,
            requests,
            durations,
            refusals,
        }
    }

    /// One answered request. `endpoint` and `method` come from fixed lists (never the raw
    /// path), so the number of series stays bounded whatever clients send.
    pub fn observe(
        &self,
        endpoint: &'static str,
        method: &'static str,
        status: u16,
        took: Duration,
    ) {
        self.requests
            .get_or_create(&RequestLabels {
                endpoint,
                method,
                status,
            })
            .inc();
        self.durations
            .get_or_create(&EndpointLabels { endpoint })
            .observe(took.as_secs_f64());
    }

    pub fn refused(&self, refusal: Refusal) {
        let reason = match refusal {
            Refusal::Invalid => "invalid",
            Refusal::RateLimited => "rate_limited",
        };
        self.refusals.get_or_create(&RefusalLabels { reason }).inc();
    }

    /// The text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::with_capacity(8192);
        if let Err(err) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            // Writing into a String cannot fail; a collector's error would land here.
            log::warn!("metrics: encoding failed: {err}");
        }
        text
    }
}

/// The method label: the methods the API serves, everything else as `other`.
pub fn method_label(method: &hyper::Method) -> &'static str {
    match *method {
        hyper::Method::GET => "GET",
        hyper::Method::HEAD => "HEAD",
        hyper::Method::POST => "POST",
        hyper::Method::PATCH => "PATCH",
        hyper::Method::PUT => "PUT",
        hyper::Method::DELETE => "DELETE",
        hyper::Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
