//! Prometheus metrics: one process-wide registry, the counters, gauges and histograms the
//! sessions, the queue and the storage update, and the exposition text for the internal
//! listener ([`crate::ops_http`]).
//!
//! Everything is reached through [`global`], so code anywhere (a ban list, a queue runner)
//! records without threading a handle through; names follow Prometheus conventions
//! (`gradwell_` prefix, `_total` on counters, seconds for durations). For the abuse controls:
//! [`Metrics::ban_started`], [`Metrics::ban_ended`], [`Metrics::tarpit`] and
//! [`Metrics::limit_refused`].

use std::{
    fmt::{self, Write as _},
    sync::OnceLock,
    time::Instant,
};

use prometheus_client::{
    encoding::{EncodeLabelSet, EncodeLabelValue},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

use crate::config::Service;

/// A protocol label.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)] // label values are lower case in the exposition
pub enum Protocol {
    /// Inbound SMTP.
    smtp,
    /// LMTP.
    lmtp,
    /// Submission.
    submission,
    /// POP3.
    pop3,
    /// IMAP.
    imap,
}

impl From<Service> for Protocol {
    fn from(s: Service) -> Self {
        match s {
            Service::Smtp => Protocol::smtp,
            Service::Lmtp => Protocol::lmtp,
            Service::Submission => Protocol::submission,
            Service::Pop3 => Protocol::pop3,
            Service::Imap => Protocol::imap,
        }
    }
}

/// Labels `protocol`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProtocolLabel {
    /// Which protocol.
    pub protocol: Protocol,
}

/// Labels `protocol` and `command`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CommandLabels {
    /// Which protocol.
    pub protocol: Protocol,
    /// The command's name, upper case (a bounded set: the protocol's command enum).
    pub command: String,
}

/// Labels `result`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    /// `ok`, `temporary` or `no_space` (deliveries), or a limit's name (refusals).
    pub result: &'static str,
}

/// Labels `set` and `replica` (0 or 1 within the mirror set, in config order).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReplicaLabels {
    /// The mirror set's index in `storage.mirror_sets`.
    pub set: u32,
    /// The replica's index within its set.
    pub replica: u32,
}

/// Labels `set`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SetLabel {
    /// The mirror set's index in `storage.mirror_sets`.
    pub set: u32,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Latency buckets from 100 µs to about 26 s (×2 steps).
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 19))
}

/// Every metric the server exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Open client connections per protocol.
    pub connections_open: Family<ProtocolLabel, Gauge>,
    /// Accepted client connections per protocol.
    pub connections: Family<ProtocolLabel, Counter>,
    /// Commands handled per protocol and command.
    pub commands: Family<CommandLabels, Counter>,
    /// Seconds from a command's arrival to its answer, per protocol.
    pub command_seconds: HistogramFamily<ProtocolLabel>,
    /// Failed logins (any protocol, any mechanism).
    pub auth_failures: Counter,
    /// Local deliveries (one per recipient) by result.
    pub deliveries: Family<ResultLabel, Counter>,
    /// Messages in the outbound queue (at the last scrape).
    pub queue_messages: Gauge,
    /// Age in seconds of the oldest message in the outbound queue (0 when empty).
    pub queue_oldest_seconds: Gauge,
    /// Seconds each fsync of mail and control files took on each replica (real writes).
    pub replica_fsync_seconds: HistogramFamily<ReplicaLabels>,
    /// 1 while a replica is fenced (out of its mirror set, needs a resync), else 0.
    pub replica_fenced: Family<ReplicaLabels, Gauge>,
    /// Seconds a replica has been fenced: how far behind a resync has to catch up.
    pub replica_fenced_seconds: Family<ReplicaLabels, Gauge>,
    /// 1 while the replica root answered the last writability probe, else 0.
    pub replica_writable: Family<ReplicaLabels, Gauge>,
    /// The mirror set's epoch (moves on every fencing decision).
    pub mirror_epoch: Family<SetLabel, Gauge>,
    /// 1 while a mirror set serves from one replica only (degraded), else 0.
    pub mirror_degraded: Family<SetLabel, Gauge>,
    /// 1 while the server resyncs a fenced replica of the set to readmit it, else 0.
    pub mirror_resync_in_progress: Family<SetLabel, Gauge>,
    /// Messages copied to fenced replicas by resyncs (the journal's catch-up work).
    pub mirror_resync_messages: Family<SetLabel, Counter>,
    /// Rejoin attempts by result (`ok` or `error`).
    pub mirror_rejoins: Family<ResultLabel, Counter>,
    /// Addresses banned (temporary IP bans started).
    pub bans: Counter,
    /// Addresses banned right now.
    pub bans_active: Gauge,
    /// Failed-login delays (tarpit) applied.
    pub tarpits: Counter,
    /// Connections or commands refused by a limit, by the limit's name.
    pub limit_refusals: Family<ResultLabel, Counter>,
    /// 1 once every listener is bound, else 0.
    pub listeners_ready: Gauge,
    /// Configuration reloads by result (`ok` or `error`).
    pub reloads: Family<ResultLabel, Counter>,
}

impl Metrics {
    fn new() -> Self {
        let connections_open = Family::<ProtocolLabel, Gauge>::default();
        let connections = Family::<ProtocolLabel, Counter>::default();
        let commands = Family::<CommandLabels, Counter>::default();
        let command_seconds = HistogramFamily::new_with_constructor(latency_histogram as fn() -> _);
        let auth_failures = Counter::default();
        let deliveries = Family::<ResultLabel, Counter>::default();
        let queue_messages = Gauge::default();
        let queue_oldest_seconds = Gauge::default();
        let replica_fsync_seconds =
            HistogramFamily::new_with_constructor(latency_histogram as fn() -> _);
        let replica_fenced = Family::<ReplicaLabels, Gauge>::default();
        let replica_fenced_seconds = Family::<ReplicaLabels, Gauge>::default();
        let replica_writable = Family::<ReplicaLabels, Gauge>::default();
        let mirror_epoch = Family::<SetLabel, Gauge>::default();
        let mirror_degraded = Family::<SetLabel, Gauge>::default();
        let mirror_resync_in_progress = Family::<SetLabel, Gauge>::default();
        let mirror_resync_messages = Family::<SetLabel, Counter>::default();
        let mirror_rejoins = Family::<ResultLabel, Counter>::default();
        let bans = Counter::default();
        let bans_active = Gauge::default();
        let tarpits = Counter::default();
        let limit_refusals = Family::<ResultLabel, Counter>::default();
        let listeners_ready = Gauge::default();
        let reloads = Family::<ResultLabel, Counter>::default();
        let mut r = Registry::with_prefix("gradwell");
        r.register(
            "connections_open",
            "Open client connections",
            connections_open.clone(),
        );
        r.register(
            "connections",
            "Accepted client connections",
            connections.clone(),
        );
        r.register("commands", "Commands handled", commands.clone());
        r.register(
            "command_duration_seconds",
            "Seconds from a command's arrival to its answer",
            command_seconds.clone(),
        );
        r.register("auth_failures", "Failed logins", auth_failures.clone());
        r.register(
            "deliveries",
            "Local deliveries, one per recipient, by result",
            deliveries.clone(),
        );
        r.register(
            "queue_messages",
            "Messages in the outbound queue",
            queue_messages.clone(),
        );
        r.register(
            "queue_oldest_age_seconds",
            "Age of the oldest queued message",
            queue_oldest_seconds.clone(),
        );
        r.register(
            "replica_fsync_seconds",
            "Seconds each fsync of mail or control files took on a replica",
            replica_fsync_seconds.clone(),
        );
        r.register(
            "replica_fenced",
            "1 while the replica is fenced out of its mirror set",
            replica_fenced.clone(),
        );
        r.register(
            "replica_fenced_seconds",
            "Seconds the replica has been fenced (resync lag)",
            replica_fenced_seconds.clone(),
        );
        r.register(
            "replica_writable",
            "1 while the replica root passed the last write probe",
            replica_writable.clone(),
        );
        r.register(
            "mirror_epoch",
            "The mirror set's epoch",
            mirror_epoch.clone(),
        );
        r.register(
            "mirror_degraded",
            "1 while the mirror set serves from one replica",
            mirror_degraded.clone(),
        );
        r.register(
            "mirror_resync_in_progress",
            "1 while a fenced replica of the set is being resynced to rejoin",
            mirror_resync_in_progress.clone(),
        );
        r.register(
            "mirror_resync_messages",
            "Messages copied to fenced replicas by resyncs",
            mirror_resync_messages.clone(),
        );
        r.register(
            "mirror_rejoins",
            "Attempts to readmit a fenced replica, by result",
            mirror_rejoins.clone(),
        );
        r.register("bans", "Temporary IP bans started", bans.clone());
        r.register(
            "bans_active",
            "Addresses banned right now",
            bans_active.clone(),
        );
        r.register(
            "auth_tarpits",
            "Failed-login delays applied",
            tarpits.clone(),
        );
        r.register(
            "limit_refusals",
            "Connections or commands refused by a limit",
            limit_refusals.clone(),
        );
        r.register(
            "listeners_ready",
            "1 once every listener is bound",
            listeners_ready.clone(),
        );
        r.register(
            "config_reloads",
            "Configuration reloads by result",
            reloads.clone(),
        );
        Self {
            registry: r,
            connections_open,
            connections,
            commands,
            command_seconds,
            auth_failures,
            deliveries,
            queue_messages,
            queue_oldest_seconds,
            replica_fsync_seconds,
            replica_fenced,
            replica_fenced_seconds,
            replica_writable,
            mirror_epoch,
            mirror_degraded,
            mirror_resync_in_progress,
            mirror_resync_messages,
            mirror_rejoins,
            bans,
            bans_active,
            tarpits,
            limit_refusals,
            listeners_ready,
            reloads,
        }
    }

    /// The OpenMetrics text of every metric (`GET /metrics`).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// A temporary ban of an address started.
    pub fn ban_started(&self) {
        self.bans.inc();
        self.bans_active.inc();
    }

    /// A temporary ban ended (expired or lifted).
    pub fn ban_ended(&self) {
        self.bans_active.dec();
    }

    /// A failed-login delay was applied.
    pub fn tarpit(&self) {
        self.tarpits.inc();
    }

    /// A limit refused a connection or command; `limit` is its config key's name.
    pub fn limit_refused(&self, limit: &'static str) {
        self.limit_refusals
            .get_or_create(&ResultLabel { result: limit })
            .inc();
    }

    /// A client connection opened; the guard counts it open until dropped.
    pub fn connection(&self, protocol: Protocol) -> OpenConnection {
        let label = ProtocolLabel { protocol };
        self.connections.get_or_create(&label).inc();
        self.connections_open.get_or_create(&label).inc();
        OpenConnection { label }
    }

    /// Starts timing a command; counted and observed when the timer drops.
    pub fn command(&self, protocol: Protocol, command: &dyn fmt::Debug) -> CommandTimer {
        CommandTimer {
            protocol,
            command: command_name(command),
            started: Instant::now(),
        }
    }
}

/// Counts a connection open while alive (see [`Metrics::connection`]).
#[derive(Debug)]
pub struct OpenConnection {
    label: ProtocolLabel,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        global().connections_open.get_or_create(&self.label).dec();
    }
}

/// Times one command (see [`Metrics::command`]).
#[derive(Debug)]
pub struct CommandTimer {
    protocol: Protocol,
    command: String,
    started: Instant,
}

impl Drop for CommandTimer {
    fn drop(&mut self) {
        let m = global();
        let protocol = self.protocol;
        m.commands
            .get_or_create(&CommandLabels {
                protocol,
                command: std::mem::take(&mut self.command),
            })
            .inc();
        m.command_seconds
            .get_or_create(&ProtocolLabel { protocol })
            .observe(self.started.elapsed().as_secs_f64());
    }
}

/// The longest command name kept; longer variant names are cut.
const NAME_MAX: usize = 24;

/// Collects the leading identifier of a `Debug` rendering and stops the formatter there, so
/// a command's arguments (a huge sequence set, a password) are never formatted.
#[derive(Default)]
struct LeadingName(String);

impl fmt::Write for LeadingName {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if !c.is_ascii_alphanumeric() || self.0.len() == NAME_MAX {
                return Err(fmt::Error);
            }
            self.0.push(c.to_ascii_uppercase());
        }
        Ok(())
    }
}

/// The command's enum variant name, upper case: `Uid` for `Uid { .. }`, `PASS` for
/// `Pass(..)`; `OTHER` when the rendering does not start with one.
pub fn command_name(command: &dyn fmt::Debug) -> String {
    let mut name = LeadingName::default();
    // Stopping at the first non-name character is the point: the error is expected.
    let _ = write!(name, "{command:?}");
    if name.0.is_empty() {
        "OTHER".to_owned()
    } else {
        name.0
    }
}

/// The process-wide metrics.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    #[allow(dead_code)] // only rendered through Debug
    enum Cmd {
        Pass(String),
        Uid { n: u32 },
        Noop,
    }

    #[test]
    fn command_names_never_include_arguments() {
        assert_eq!(command_name(&Cmd::Pass("secret".into())), "PASS");
        assert_eq!(command_name(&Cmd::Uid { n: 4 }), "UID");
        assert_eq!(command_name(&Cmd::Noop), "NOOP");
        assert_eq!(command_name(&"quoted"), "OTHER");
    }

    #[test]
    fn exposition_names_the_metrics() {
        let m = global();
        {
            let _c = m.connection(Protocol::pop3);
            let _t = m.command(Protocol::pop3, &Cmd::Noop);
        }
        m.ban_started();
        let text = m.render();
        for name in [
            "gradwell_connections_total{protocol=\"pop3\"}",
            "gradwell_connections_open{protocol=\"pop3\"} 0",
            "gradwell_commands_total{protocol=\"pop3\",command=\"NOOP\"}",
            "gradwell_command_duration_seconds_bucket{le=",
            "gradwell_bans_total",
            "# EOF",
        ] {
            assert!(text.contains(name), "{name} missing in\n{text}");
        }
    }
}
