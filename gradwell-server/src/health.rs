//! Readiness and storage health: every few seconds each replica root gets a small probe file
//! written and fsynced (its success is the root's writability), and each mirror's fencing
//! state is copied into the metrics. (The per-replica fsync latency comes from the store's
//! own fsyncs, `storage::maildir_options`.)
//! The queue gauges are set by the queue runner's own scans ([`record_queue`]).
//! `/healthz/ready` is true while the listeners are bound and every mirror set has a
//! writable, unfenced replica; a set serving from one replica is ready but degraded.

use std::{
    fs::OpenOptions,
    io::Write,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use crate::{
    app::App,
    metrics::{self, ReplicaLabels, SetLabel},
    queue::store::unix,
};

/// How often the probe runs.
pub const PROBE_EVERY: Duration = Duration::from_secs(2);

/// The probe file's name in each replica root, per host so that front ends sharing the
/// storage never write the same file (a leading dot is never a user's tree).
pub(crate) fn probe_name(hostname: &str) -> String {
    format!(".gradwell-probe.{hostname}")
}

/// One replica root's last probe.
#[derive(Debug, Clone)]
pub struct ReplicaHealth {
    /// The root.
    pub root: PathBuf,
    /// Whether the last probe wrote and fsynced its file.
    pub writable: bool,
    /// The mirror fenced this replica (why), if it did.
    pub fenced: Option<String>,
    /// When the fence was first seen.
    fenced_since: Option<Instant>,
}

/// What `/healthz/ready` reports.
#[derive(Debug, Default)]
pub struct Health {
    listeners_bound: AtomicBool,
    sets: Mutex<Vec<Vec<ReplicaHealth>>>,
}

impl Health {
    /// Records that every listener is bound.
    pub fn set_listeners_bound(&self) {
        self.listeners_bound.store(true, Ordering::Relaxed);
        metrics::global().listeners_ready.set(1);
    }

    /// Whether the server is ready, and a plain-text report (one line per replica).
    pub fn ready(&self) -> (bool, String) {
        let bound = self.listeners_bound.load(Ordering::Relaxed);
        let sets = self.sets.lock().unwrap_or_else(|e| e.into_inner());
        let mut ready = bound && !sets.is_empty();
        let mut report = format!("listeners {}\n", if bound { "bound" } else { "not bound" });
        for (i, set) in sets.iter().enumerate() {
            let serving = set
                .iter()
                .filter(|r| r.writable && r.fenced.is_none())
                .count();
            let state = match serving {
                0 => "unwritable",
                n if n < set.len() => "degraded",
                _ => "ok",
            };
            ready &= serving > 0;
            report.push_str(&format!("set {i} {state}\n"));
            for r in set {
                let fence = r
                    .fenced
                    .as_ref()
                    .map_or(String::new(), |why| format!(" fenced: {why}"));
                report.push_str(&format!(
                    "  {} {}{fence}\n",
                    r.root.display(),
                    if r.writable { "writable" } else { "unwritable" },
                ));
            }
        }
        (ready, report)
    }

    /// Probes every replica root of `app` once and updates the metrics.
    pub fn probe(&self, app: &App) {
        let m = metrics::global();
        let name = probe_name(&app.config.hostname);
        let mut sets = self.sets.lock().unwrap_or_else(|e| e.into_inner());
        let old = std::mem::take(&mut *sets);
        for (s, roots) in app.config.storage.mirror_sets.iter().enumerate() {
            let status = app
                .set_mirrors
                .get(s)
                .cloned()
                .flatten()
                .map(|m| m.status());
            let fences = status.as_ref().map_or([None, None], |st| {
                [
                    st.primary.as_ref().map(|f| f.reason.clone()),
                    st.secondary.as_ref().map(|f| f.reason.clone()),
                ]
            });
            let set_label = SetLabel { set: s as u32 };
            if let Some(st) = &status {
                m.mirror_epoch
                    .get_or_create(&set_label)
                    .set(i64::try_from(st.epoch).unwrap_or(i64::MAX));
            }
            let mut probed = Vec::new();
            for (r, root) in roots.iter().enumerate() {
                let labels = ReplicaLabels {
                    set: s as u32,
                    replica: r as u32,
                };
                let writable = write_probe(root, &name).is_ok();
                let fenced = fences.get(r).cloned().flatten();
                let was = old.get(s).and_then(|set| set.get(r));
                let fenced_since = match (&fenced, was.and_then(|w| w.fenced_since)) {
                    (None, _) => None,
                    (Some(_), Some(since)) => Some(since),
                    (Some(_), None) => Some(Instant::now()),
                };
                m.replica_writable
                    .get_or_create(&labels)
                    .set(i64::from(writable));
                m.replica_fenced
                    .get_or_create(&labels)
                    .set(i64::from(fenced.is_some()));
                m.replica_fenced_seconds
                    .get_or_create(&labels)
                    .set(fenced_since.map_or(0, |t| t.elapsed().as_secs().try_into().unwrap_or(0)));
                probed.push(ReplicaHealth {
                    root: root.clone(),
                    writable,
                    fenced,
                    fenced_since,
                });
            }
            let serving = probed
                .iter()
                .filter(|r| r.writable && r.fenced.is_none())
                .count();
            m.mirror_degraded
                .get_or_create(&set_label)
                .set(i64::from(serving < probed.len()));
            sets.push(probed);
        }
    }
}

/// Copies the outbound queue's size and oldest age into the metrics; the queue runner calls
/// it with every periodic scan it makes anyway (`queue.scan_interval_ms`), so the metrics
/// cost no reading of their own.
pub fn record_queue(all: &[crate::queue::store::Envelope]) {
    let m = metrics::global();
    m.queue_messages
        .set(i64::try_from(all.len()).unwrap_or(i64::MAX));
    let now = unix(std::time::SystemTime::now());
    let oldest = all.iter().map(|e| e.created).min().unwrap_or(now);
    m.queue_oldest_seconds
        .set(i64::try_from(now.saturating_sub(oldest)).unwrap_or(i64::MAX));
}

/// Writes and fsyncs the probe file, then fsyncs the root directory. A root without its
/// replica marker (an array that is not mounted: the mount point is an empty directory on
/// the system disk) fails, rather than passing on the wrong disk.
pub(crate) fn write_probe(root: &Path, name: &str) -> std::io::Result<()> {
    if !root.join(maildir_store::maildir::REPLICA_MARKER).is_file() {
        return Err(std::io::Error::other(
            "replica marker missing: not mounted?",
        ));
    }
    let path = root.join(name);
    let mut f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)?;
    f.write_all(&unix(std::time::SystemTime::now()).to_le_bytes())?;
    f.sync_all()?;
    std::fs::File::open(root)?.sync_all()
}

/// Probes now and then every [`PROBE_EVERY`] on a thread of its own (storage calls block),
/// until the server is dropped.
pub fn spawn_prober(app: Weak<App>, health: Arc<Health>) -> std::io::Result<()> {
    if let Some(app) = app.upgrade() {
        health.probe(&app);
    }
    std::thread::Builder::new()
        .name("health-probe".into())
        .spawn(move || {
            loop {
                std::thread::sleep(PROBE_EVERY);
                let Some(app) = app.upgrade() else { return };
                health.probe(&app);
            }
        })?;
    Ok(())
}
