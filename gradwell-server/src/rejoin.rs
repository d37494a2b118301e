//! Automatic rejoin: one thread per mirror set of two roots watches for a fenced replica.
//! While one is fenced its root is probed every second (readable, writable, replica marker
//! present: the same probe as `/healthz/ready`); once it has passed for
//! `storage.mirror_rejoin_after_secs` the thread brings it level from the survivor's
//! journal ([`Mirror::resync_user`], user by user, with progress in the log) and readmits it
//! ([`Mirror::rejoin`], a last short pass under the write barrier). Service continues
//! throughout: sessions only wait for the user being copied and for that last pass.
//!
//! A failed rejoin leaves the replica fenced (the mirror readmits only a levelled side,
//! DESIGN.md M3) and is retried after a doubling backoff. `gradwell mirror rejoin` asks for
//! an attempt now, settle time or not; with the key at 0 that is the only way back.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, Weak},
    time::{Duration, Instant, SystemTime},
};

use maildir_store::mirror::{Mirror, Restore, ResyncReport};
use serde::{Deserialize, Serialize};

use crate::{
    health,
    metrics::{self, ResultLabel, SetLabel},
};

/// How often a fenced replica's root is probed.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// First wait after a failed rejoin; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
/// Longest wait between two failed rejoins.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// A progress line at most this often during a resync.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// What one set's rejoin thread is doing, for `gradwell mirror status`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RejoinState {
    /// A resync is running now.
    pub running: bool,
    /// Users brought level so far in the running (or last) resync.
    pub users_done: usize,
    /// Users the running (or last) resync has to bring level.
    pub users_total: usize,
    /// Messages copied by the running (or last) resync.
    pub messages_copied: usize,
    /// How far behind the fenced replica was, in modseqs summed over the mailboxes resynced
    /// so far (the journal entries the resync had to replay).
    pub lag: u64,
    /// Unix time this server first saw the replica fenced (`None` while none is).
    pub fenced_since: Option<u64>,
    /// Seconds the fenced replica's root has passed the probe (0 when failing or none).
    pub healthy_for_secs: u64,
    /// Unix time the last rejoin ended, if one did.
    pub last_end: Option<u64>,
    /// The last rejoin's error, if it failed (cleared by a success).
    pub last_error: Option<String>,
    /// Rejoins completed since start.
    pub rejoins: u64,
}

/// One set's shared rejoin state and its "rejoin now" request.
#[derive(Debug, Default)]
pub struct SetRejoin {
    state: Mutex<RejoinState>,
    requested: Mutex<bool>,
}

impl SetRejoin {
    /// A copy of the state now.
    pub fn state(&self) -> RejoinState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Asks the thread to try a rejoin at its next look, without the settle time.
    pub fn request(&self) {
        *self.requested.lock().unwrap_or_else(|e| e.into_inner()) = true;
    }

    fn take_request(&self) -> bool {
        std::mem::take(&mut *self.requested.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn update(&self, f: impl FnOnce(&mut RejoinState)) {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// Every set's rejoin state, in config order (`None` for a one-root set).
pub type Rejoins = Vec<Option<Arc<SetRejoin>>>;

/// Starts one rejoin thread per mirror set of two roots; each stops when its mirror is
/// dropped. `after` is `storage.mirror_rejoin_after_secs` (`None`: only on request).
pub fn spawn(
    mirrors: &[Option<Arc<Mirror>>],
    roots: &[Vec<PathBuf>],
    hostname: &str,
    after: Option<Duration>,
) -> std::io::Result<Rejoins> {
    let mut all = Vec::new();
    for (set, (mirror, roots)) in mirrors.iter().zip(roots).enumerate() {
        let Some(mirror) = mirror else {
            all.push(None);
            continue;
        };
        let shared = Arc::new(SetRejoin::default());
        let watcher = Watcher {
            set,
            mirror: Arc::downgrade(mirror),
            roots: roots.clone(),
            probe_name: health::probe_name(hostname),
            after,
            shared: Arc::clone(&shared),
        };
        std::thread::Builder::new()
            .name(format!("mirror-rejoin-{set}"))
            .spawn(move || watcher.run())?;
        all.push(Some(shared));
    }
    Ok(all)
}

struct Watcher {
    set: usize,
    mirror: Weak<Mirror>,
    roots: Vec<PathBuf>,
    probe_name: String,
    after: Option<Duration>,
    shared: Arc<SetRejoin>,
}

impl Watcher {
    fn run(self) {
        let mut healthy_since: Option<Instant> = None;
        let mut backoff = FIRST_BACKOFF;
        let mut next_try = Instant::now();
        loop {
            std::thread::sleep(PROBE_EVERY);
            let Some(mirror) = self.mirror.upgrade() else {
                return;
            };
            let status = mirror.status();
            let fenced = [&status.primary, &status.secondary]
                .iter()
                .position(|f| f.is_some());
            let Some(side) = fenced else {
                healthy_since = None;
                backoff = FIRST_BACKOFF;
                self.shared.update(|s| {
                    s.healthy_for_secs = 0;
                    s.fenced_since = None;
                });
                continue;
            };
            self.shared
                .update(|s| s.fenced_since = s.fenced_since.or(Some(unix_now())));
            let root = self.roots.get(side).map(PathBuf::as_path);
            let passes = root.is_some_and(|r| probe(r, &self.probe_name).is_ok());
            if !passes {
                healthy_since = None;
            } else if healthy_since.is_none() {
                healthy_since = Some(Instant::now());
            }
            let healthy_for = healthy_since.map_or(Duration::ZERO, |t| t.elapsed());
            self.shared
                .update(|s| s.healthy_for_secs = healthy_for.as_secs());
            let requested = self.shared.take_request();
            let settled = passes
                && self.after.is_some_and(|a| healthy_for >= a)
                && Instant::now() >= next_try;
            if !(requested || settled) {
                continue;
            }
            match self.rejoin(&mirror, side) {
                Ok(()) => {
                    healthy_since = None;
                    backoff = FIRST_BACKOFF;
                }
                Err(e) => {
                    tracing::warn!(
                        set = self.set,
                        replica = side,
                        error = %e,
                        retry_in_secs = backoff.as_secs(),
                        "mirror rejoin failed: the replica stays fenced"
                    );
                    next_try = Instant::now() + backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Levels the fenced side user by user (progress in the log and the state), then
    /// readmits it.
    fn rejoin(&self, mirror: &Mirror, side: usize) -> anyhow::Result<()> {
        let m = metrics::global();
        let label = SetLabel {
            set: self.set as u32,
        };
        m.mirror_resync_in_progress.get_or_create(&label).set(1);
        let started = Instant::now();
        let result = self.level_and_readmit(mirror, side, &label);
        m.mirror_resync_in_progress.get_or_create(&label).set(0);
        let outcome = if result.is_ok() { "ok" } else { "error" };
        m.mirror_rejoins
            .get_or_create(&ResultLabel { result: outcome })
            .inc();
        let end = unix_now();
        self.shared.update(|s| {
            s.running = false;
            s.last_end = Some(end);
            s.last_error = result.as_ref().err().map(|e| format!("{e:#}"));
            s.rejoins += u64::from(result.is_ok());
        });
        let report = result?;
        tracing::info!(
            set = self.set,
            replica = side,
            users = report.users,
            messages_copied = report.messages_copied,
            flags_restored = report.flags_restored,
            expunges_applied = report.expunges_applied,
            mailboxes_created = report.mailboxes_created,
            lag = report.lag,
            seconds = started.elapsed().as_secs_f64(),
            epoch = mirror.status().epoch,
            "mirror rejoin done: replica readmitted"
        );
        Ok(())
    }

    fn level_and_readmit(
        &self,
        mirror: &Mirror,
        side: usize,
        label: &SetLabel,
    ) -> anyhow::Result<ResyncReport> {
        let copied = metrics::global()
            .mirror_resync_messages
            .get_or_create(label);
        let users = mirror.users()?;
        tracing::info!(
            set = self.set,
            replica = side,
            users = users.len(),
            "mirror rejoin started: resyncing the fenced replica from the survivor"
        );
        self.shared.update(|s| {
            *s = RejoinState {
                running: true,
                users_total: users.len(),
                rejoins: s.rejoins,
                healthy_for_secs: s.healthy_for_secs,
                fenced_since: s.fenced_since,
                ..RejoinState::default()
            }
        });
        let (mut messages, mut lag) = (0usize, 0u64);
        let mut last_progress = Instant::now();
        for (done, user) in users.iter().enumerate() {
            let report = mirror.resync_user(user)?;
            messages += report.messages_copied;
            lag += report.lag;
            copied.inc_by(report.messages_copied as u64);
            self.shared.update(|s| {
                s.users_done = done + 1;
                s.messages_copied = messages;
                s.lag = lag;
            });
            if last_progress.elapsed() >= PROGRESS_EVERY {
                last_progress = Instant::now();
                tracing::info!(
                    set = self.set,
                    replica = side,
                    users_done = done + 1,
                    users = users.len(),
                    messages_copied = messages,
                    lag,
                    "mirror rejoin progress"
                );
            }
        }
        // The last pass under the write barrier: only what arrived since is left.
        let last = mirror.rejoin()?;
        copied.inc_by(last.messages_copied as u64);
        let mut total = last;
        total.messages_copied += messages;
        total.lag += lag;
        self.shared.update(|s| {
            s.messages_copied = total.messages_copied;
            s.lag = total.lag;
        });
        Ok(total)
    }
}

/// The fenced replica's root is usable again: it lists, and the health probe's write and
/// fsync pass (which also needs the replica marker, so a bare mount point never passes).
fn probe(root: &Path, probe_name: &str) -> std::io::Result<()> {
    std::fs::read_dir(root)?;
    health::write_probe(root, probe_name)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
