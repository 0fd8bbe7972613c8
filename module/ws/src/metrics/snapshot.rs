//! The figures `/metrics` reads at scrape time rather than counting them on the request
//! path: the daemon's delivery state, the command queue's counters, the process' own.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use alignak_module_abi::HostBox;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;

use crate::queue::QueueCounters;

pub(super) fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// The figures read at scrape time: the daemon's delivery state (through the interface), the
/// command queue's counters, and the process.
pub(super) struct Snapshot {
    pub(super) host: Arc<HostBox>,
    pub(super) queue: Arc<QueueCounters>,
    pub(super) started: f64,
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot").finish_non_exhaustive()
    }
}

/// One series computed at scrape time (a `ConstCounter` or a `ConstGauge`).
fn constant<M: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    metric: M,
) -> fmt::Result {
    metric.encode(encoder.encode_descriptor(name, help, unit, metric.metric_type())?)
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: u64,
) -> fmt::Result {
    constant(encoder, name, help, unit, ConstCounter::new(value))
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: f64,
) -> fmt::Result {
    constant(encoder, name, help, unit, ConstGauge::new(value))
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        use std::sync::atomic::Ordering::Relaxed;
        let e = &mut encoder;
        let seconds = Some(&Unit::Seconds);
        let bytes = Some(&Unit::Bytes);
        counter(
            e,
            "commands_accepted",
            "Commands the daemon took into its spool from this module",
            None,
            self.queue.accepted.load(Relaxed),
        )?;
        counter(
            e,
            "commands_refused",
            "Commands the daemon refused (spool full or unavailable): answered 503",
            None,
            self.queue.refused.load(Relaxed),
        )?;
        counter(
            e,
            "command_pushes",
            "Hand-overs of command batches to the daemon (one spool append each)",
            None,
            self.queue.pushes.load(Relaxed),
        )?;
        let status = self.host.status();
        counter(
            e,
            "spool_commands_accepted",
            "Commands appended to the daemon's spool since it started (all modules)",
            None,
            status.commands_accepted,
        )?;
        counter(
            e,
            "spool_commands_delivered",
            "Commands the daemon delivered to the core since it started",
            None,
            status.commands_delivered,
        )?;
        gauge(
            e,
            "spool_pending_commands",
            "Commands in the spool, waiting for delivery",
            None,
            status.commands_pending as f64,
        )?;
        gauge(
            e,
            "spool_pending",
            "Size of the commands waiting for delivery",
            bytes,
            status.pending_bytes as f64,
        )?;
        counter(
            e,
            "sink_errors",
            "Failed delivery attempts to the core since the daemon started",
            None,
            status.sink_errors,
        )?;
        let now = unix_now();
        let oldest_age = status
            .oldest_pending
            .into_option()
            .map(|created| (now - created).max(0.0))
            .unwrap_or(0.0);
        gauge(
            e,
            "oldest_pending_age",
            "Age of the oldest command waiting for delivery (0 when none waits)",
            seconds,
            oldest_age,
        )?;
        if let Some(last) = status.last_delivery.into_option() {
            gauge(
                e,
                "last_delivery_timestamp",
                "When the last delivery to the core succeeded (Unix time)",
                seconds,
                last,
            )?;
        }
        self.process(e)
    }
}

impl Snapshot {
    /// The process collector's usual names (`process_*`, without the module's prefix in
    /// Prometheus' own clients; here under it, as every series of this registry).
    fn process(&self, e: &mut DescriptorEncoder) -> fmt::Result {
        let seconds = Some(&Unit::Seconds);
        let bytes = Some(&Unit::Bytes);
        gauge(
            e,
            "process_start_time",
            "When the module started (Unix time)",
            seconds,
            self.started,
        )?;
        // /proc may be unreadable (another OS, a sandbox): the process series are then left
        // out rather than reported as zeros.
        let Ok(me) = procfs::process::Process::myself() else {
            return Ok(());
        };
        if let Ok(stat) = me.stat() {
            let ticks = procfs::ticks_per_second() as f64;
            constant(
                e,
                "process_cpu",
                "CPU time the daemon used (user and system)",
                seconds,
                ConstCounter::new((stat.utime + stat.stime) as f64 / ticks),
            )?;
            let page = procfs::page_size();
            gauge(
                e,
                "process_resident_memory",
                "Resident memory of the daemon",
                bytes,
                (stat.rss * page) as f64,
            )?;
        }
        if let Ok(fds) = me.fd_count() {
            gauge(
                e,
                "process_open_fds",
                "Open file descriptors of the daemon",
                None,
                fds as f64,
            )?;
        }
        Ok(())
    }
}
