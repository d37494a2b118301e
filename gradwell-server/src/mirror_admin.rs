//! `gradwell mirror status|rejoin|scrub`: each mirror set's replicas, fenced or not, since
//! when, the epoch and any resync in progress; a rejoin or a scrub on demand.
//!
//! With a server running the command goes through its operations listener (`[metrics]
//! listen`, loopback only): the server's own mirror is the one that knows the live state,
//! and a second process rejoining beside it would race its writes. When nothing answers
//! there, no server runs and the command opens the storage itself. Without `[metrics]
//! listen` the command cannot tell, so it needs `--offline`: the operator's word that the
//! server is stopped.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use maildir_store::mirror::{Fenced, Mirror, ScrubProgress, ScrubReport};
use serde::{Deserialize, Serialize};

use crate::{
    config::Config,
    ops_http,
    rejoin::{RejoinState, Rejoins},
};

/// What `gradwell mirror` does.
#[derive(Debug, Clone, Copy, clap::Subcommand)]
pub enum Action {
    /// Each set's replicas: serving or fenced (why, since when, at which epoch) and any
    /// resync in progress.
    Status,
    /// Resync every fenced replica from its survivor and readmit it now (no settle time);
    /// returns when every set is whole again or a rejoin failed.
    Rejoin {
        /// Seconds to wait for a running server's rejoin.
        #[arg(long, default_value_t = 600)]
        wait_secs: u64,
    },
    /// Compare both replicas of every set, message bytes included; with `--repair`, repair
    /// what the evidence allows (a damaged side is fenced, refilled and readmitted).
    Scrub {
        /// Repair, not only report.
        #[arg(long)]
        repair: bool,
    },
}

/// One replica in a status report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReplicaReport {
    /// The root.
    pub root: PathBuf,
    /// Why it is fenced, if it is.
    pub fenced: Option<String>,
    /// The epoch recorded when it was fenced.
    pub fenced_epoch: Option<u64>,
    /// Unix time the server first saw it fenced (a running server only).
    pub fenced_since: Option<u64>,
}

/// One mirror set in a status report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetReport {
    /// The set's index in `storage.mirror_sets`.
    pub set: usize,
    /// The set's epoch (`None` for a one-root set).
    pub epoch: Option<u64>,
    /// The replicas, primary first.
    pub replicas: Vec<ReplicaReport>,
    /// The server's rejoin thread (a running server only).
    pub rejoin: Option<RejoinState>,
}

impl SetReport {
    /// True while one of the replicas is fenced.
    pub fn degraded(&self) -> bool {
        self.replicas.iter().any(|r| r.fenced.is_some())
    }
}

/// Every set's status now; `rejoins` is the running server's rejoin threads, if any.
pub fn status(
    roots: &[Vec<PathBuf>],
    mirrors: &[Option<Arc<Mirror>>],
    rejoins: Option<&Rejoins>,
) -> Vec<SetReport> {
    let mut sets = Vec::new();
    for (set, roots) in roots.iter().enumerate() {
        let mirror = mirrors.get(set).cloned().flatten();
        let rejoin = rejoins
            .and_then(|r| r.get(set).cloned().flatten())
            .map(|r| r.state());
        let status = mirror.as_ref().map(|m| m.status());
        let fences: [Option<Fenced>; 2] = status
            .as_ref()
            .map_or([None, None], |s| [s.primary.clone(), s.secondary.clone()]);
        let replicas = roots
            .iter()
            .enumerate()
            .map(|(i, root)| {
                let fence = fences.get(i).cloned().flatten();
                ReplicaReport {
                    root: root.clone(),
                    fenced_since: fence
                        .as_ref()
                        .and(rejoin.as_ref())
                        .and_then(|r| r.fenced_since),
                    fenced_epoch: fence.as_ref().map(|f| f.epoch),
                    fenced: fence.map(|f| f.reason),
                }
            })
            .collect();
        sets.push(SetReport {
            set,
            epoch: status.map(|s| s.epoch),
            replicas,
            rejoin,
        });
    }
    sets
}

/// The status as text, one block per set.
pub fn render(sets: &[SetReport], now_unix: u64) -> String {
    let mut out = String::new();
    for s in sets {
        let epoch = s.epoch.map_or(String::new(), |e| format!(" epoch {e}"));
        let state = if s.degraded() { "degraded" } else { "ok" };
        out.push_str(&format!("set {}{epoch} {state}\n", s.set));
        for (i, r) in s.replicas.iter().enumerate() {
            out.push_str(&format!("  replica {i} {} ", r.root.display()));
            match &r.fenced {
                None => out.push_str("serving\n"),
                Some(why) => {
                    out.push_str(&format!("fenced at epoch {}", r.fenced_epoch.unwrap_or(0)));
                    if let Some(since) = r.fenced_since {
                        let ago = now_unix.saturating_sub(since);
                        out.push_str(&format!(" since unix {since} ({ago} s ago)"));
                    }
                    out.push_str(&format!(": {why}\n"));
                }
            }
        }
        if let Some(r) = &s.rejoin {
            if r.running {
                out.push_str(&format!(
                    "  resync running: {}/{} users, {} messages copied, lag {} modseqs\n",
                    r.users_done, r.users_total, r.messages_copied, r.lag
                ));
            } else if s.degraded() {
                out.push_str(&format!(
                    "  fenced root has passed the probe for {} s\n",
                    r.healthy_for_secs
                ));
            }
            if let (Some(end), None, false) = (r.last_end, &r.last_error, r.running) {
                out.push_str(&format!(
                    "  last rejoin ended unix {end}: {} users, {} messages copied, lag {} modseqs ({} rejoins since start)\n",
                    r.users_total, r.messages_copied, r.lag, r.rejoins
                ));
            }
            if let Some(e) = &r.last_error {
                out.push_str(&format!("  last rejoin failed: {e}\n"));
            }
        }
    }
    out
}

/// A scrub report as text: counts, then one line per finding.
pub fn render_scrub(set: usize, report: &ScrubReport) -> String {
    let p = &report.progress;
    let mut out = format!(
        "set {set}: {} users, {} mailboxes, {} messages compared; {} findings, {} mailboxes repaired{}\n",
        p.users_done,
        p.mailboxes,
        p.messages,
        report.findings.len(),
        report.mailboxes_repaired,
        report
            .left_fenced
            .map_or(String::new(), |s| format!("; {s:?} left fenced")),
    );
    for f in &report.findings {
        let mailbox = f
            .mailbox
            .as_ref()
            .map_or(String::new(), |m| format!(" {m}"));
        let side = f
            .damaged
            .map_or(String::new(), |s| format!(" [{s:?} damaged]"));
        let repaired = if f.repaired { " (repaired)" } else { "" };
        out.push_str(&format!(
            "  {}{mailbox}{side}: {}{repaired}\n",
            f.user, f.detail
        ));
    }
    out
}

/// Scrubs every two-root set; the text of every report, or the first error.
pub fn scrub(mirrors: &[Option<Arc<Mirror>>], repair: bool) -> anyhow::Result<String> {
    let mut out = String::new();
    for (set, mirror) in mirrors.iter().enumerate() {
        let Some(mirror) = mirror else { continue };
        let mut progress = |p: &ScrubProgress| {
            tracing::debug!(
                set,
                users_done = p.users_done,
                users = p.users_total,
                "scrub progress"
            );
        };
        let report = mirror
            .scrub(repair, &mut progress)
            .with_context(|| format!("scrubbing mirror set {set}"))?;
        tracing::info!(
            set,
            findings = report.findings.len(),
            repaired = report.mailboxes_repaired,
            "scrub done"
        );
        out.push_str(&render_scrub(set, &report));
    }
    Ok(out)
}

/// Where the command's work happens.
enum Channel {
    /// A running server's operations listener.
    Server(SocketAddr),
    /// Nothing runs: open the storage here.
    Direct,
}

/// A running server answers on `[metrics] listen`; nothing listening there means none runs.
fn channel(config: &Config, offline: bool) -> anyhow::Result<Channel> {
    match config.metrics.listen {
        Some(address) => {
            match std::net::TcpStream::connect_timeout(&address, Duration::from_secs(2)) {
                Ok(_) => Ok(Channel::Server(address)),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Ok(Channel::Direct),
                Err(e) => bail!(
                    "key `metrics.listen`: cannot tell whether a server runs at {address}: {e}"
                ),
            }
        }
        None if offline => Ok(Channel::Direct),
        None => bail!(
            "key `metrics.listen`: not set, so a running server cannot be asked; stop the server and pass --offline"
        ),
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Runs `gradwell mirror ACTION`, printing text or (`json`) JSON.
pub fn run(config: &Config, action: Action, json: bool, offline: bool) -> anyhow::Result<()> {
    let sets = match channel(config, offline)? {
        Channel::Server(address) => through_server(address, action)?,
        Channel::Direct => directly(config, action)?,
    };
    if let Some(sets) = sets {
        if json {
            println!("{}", serde_json::to_string_pretty(&sets)?);
        } else {
            print!("{}", render(&sets, unix_now()));
        }
    }
    Ok(())
}

/// The sets' status after `action`, or `None` when it printed a scrub report.
fn through_server(address: SocketAddr, action: Action) -> anyhow::Result<Option<Vec<SetReport>>> {
    let ask_status = || -> anyhow::Result<Vec<SetReport>> {
        let body = ops_http::request(address, "GET", "/admin/mirror/status")?;
        serde_json::from_str(&body).context("reading the server's mirror status")
    };
    match action {
        Action::Status => Ok(Some(ask_status()?)),
        Action::Rejoin { wait_secs } => {
            let asked = unix_now();
            ops_http::request(address, "POST", "/admin/mirror/rejoin")?;
            let until = Instant::now() + Duration::from_secs(wait_secs);
            loop {
                let sets = ask_status()?;
                let failed = sets.iter().find_map(|s| {
                    let r = s.rejoin.as_ref()?;
                    let ended_since = r.last_end.is_some_and(|t| t >= asked);
                    (s.degraded() && !r.running && ended_since)
                        .then(|| r.last_error.clone())
                        .flatten()
                });
                if let Some(e) = failed {
                    print!("{}", render(&sets, unix_now()));
                    bail!("rejoin failed: {e}");
                }
                if !sets.iter().any(SetReport::degraded) {
                    return Ok(Some(sets));
                }
                if Instant::now() >= until {
                    print!("{}", render(&sets, unix_now()));
                    bail!(
                        "the server has not finished the rejoin within {wait_secs} s; it goes on"
                    );
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
        Action::Scrub { repair } => {
            let path = if repair {
                "/admin/mirror/scrub-repair"
            } else {
                "/admin/mirror/scrub"
            };
            print!("{}", ops_http::request(address, "POST", path)?);
            Ok(None)
        }
    }
}

/// Opens the storage in this process (no server runs) and does `action`.
fn directly(config: &Config, action: Action) -> anyhow::Result<Option<Vec<SetReport>>> {
    let opened = crate::storage::open(&config.storage)?;
    let roots = &config.storage.mirror_sets;
    match action {
        Action::Status => {}
        Action::Rejoin { .. } => {
            for (set, mirror) in opened.set_mirrors.iter().enumerate() {
                let Some(mirror) = mirror else { continue };
                let status = mirror.status();
                if status.primary.is_none() && status.secondary.is_none() {
                    continue;
                }
                let report = mirror
                    .rejoin()
                    .with_context(|| format!("rejoining mirror set {set}"))?;
                eprintln!(
                    "set {set}: rejoined; {} users, {} messages copied, {} expunges applied",
                    report.users, report.messages_copied, report.expunges_applied
                );
            }
        }
        Action::Scrub { repair } => {
            print!("{}", scrub(&opened.set_mirrors, repair)?);
            return Ok(None);
        }
    }
    Ok(Some(status(roots, &opened.set_mirrors, None)))
}
