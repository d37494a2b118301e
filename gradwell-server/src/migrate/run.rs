//! `gradwell import` and `gradwell export`: bulk runs from a manifest, parallel workers, a
//! durable journal, a throttle on the sources, progress with rate and ETA, and the
//! verification report.
//!
//! The manifest is TOML, one `[[user]]` table per user:
//!
//! ```toml
//! [[user]]
//! user = "alice"                 # target user
//! kind = "dovecot"               # dovecot | courier | mbox
//! path = "/old/home/alice/Maildir"
//! layout = "fs"                  # dovecot only: maildir-plus-plus (default) | fs
//! set = 1                        # optional target mirror set (moved there after import)
//!
//! [[user]]
//! user = "bob"
//! kind = "mbox"
//! path = "/old/home/bob/mail"    # one file per folder
//! inbox = "/var/mail/bob"        # optional
//! quoting = "mboxo"              # mbox only: mboxrd (default) | mboxo
//!
//! [[user]]
//! user = "carol"
//! kind = "imap"                  # imap | pop3: a remote server, keys in `remote`
//! remote = { host = "imap.old.example", security = "starttls", password_file = "/root/carol.pw" }
//! # remote keys: host, port (993/143, 995/110 by default), security (implicit | starttls |
//! # plain), ca_file, insecure_skip_verify, login (default: user), password or
//! # password_file, auth (password | sasl-plain), and the limits connect_timeout_secs (30),
//! # io_timeout_secs (120), max_message_size (67108864) and fetch_batch (100)
//! ```
//!
//! Remote sources are accepted only from a manifest, so passwords never appear on a command
//! line.

use std::{
    io::IsTerminal,
    num::NonZeroU32,
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use maildir_store::{MailStore, UserId, maildir::Maildir, mirror::Restore};
use serde::Deserialize;

use super::{
    connections::ConnectionLimit,
    dovecot::{DovecotMaildir, Layout},
    engine::{self, Options},
    export,
    journal::{Entry, Journal},
    mbox::{MboxDir, Quoting},
    remote_job::{Protocol, RemoteJob},
    report::UserReport,
    source::Source,
    throttle::Throttle,
};
use crate::{config::Config, moves, storage};

/// The kinds of source a manifest line may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A Dovecot Maildir tree.
    Dovecot,
    /// A directory of mbox files.
    Mbox,
    /// A Courier-IMAP Maildir++.
    Courier,
    /// A remote IMAP server (manifest only: the `remote` table).
    Imap,
    /// A remote POP3 server's INBOX (manifest only: the `remote` table).
    Pop3,
}

/// One user to import.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    /// The target user.
    pub user: String,
    /// The source kind.
    pub kind: Kind,
    /// The source path (local kinds).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// The server and login (remote kinds).
    #[serde(default)]
    pub remote: Option<RemoteJob>,
    /// Dovecot folder layout.
    #[serde(default)]
    pub layout: Layout,
    /// mbox INBOX file.
    #[serde(default)]
    pub inbox: Option<PathBuf>,
    /// mbox quoting.
    #[serde(default)]
    pub quoting: Quoting,
    /// The mirror set to end up on.
    #[serde(default)]
    pub set: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    user: Vec<Job>,
}

/// `gradwell import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The configuration whose storage is the target.
    #[arg(long, short)]
    config: PathBuf,
    /// A TOML manifest of users (see the migrate::run docs); or give one user below.
    #[arg(long, conflicts_with_all = ["user", "path"])]
    manifest: Option<PathBuf>,
    /// The target user (single-user run).
    #[arg(long, requires = "path")]
    user: Option<String>,
    /// The source kind (single-user run).
    #[arg(long, value_enum, default_value = "dovecot")]
    kind: Kind,
    /// The source path (single-user run).
    #[arg(long)]
    path: Option<PathBuf>,
    /// Dovecot folder layout (single-user run).
    #[arg(long, value_enum, default_value = "maildir-plus-plus")]
    layout: Layout,
    /// mbox quoting (single-user run).
    #[arg(long, value_enum, default_value = "mboxrd")]
    quoting: Quoting,
    /// mbox INBOX file, e.g. /var/mail/USER (single-user run).
    #[arg(long)]
    inbox: Option<PathBuf>,
    /// The progress journal; users it lists as done are skipped. Default: none.
    #[arg(long)]
    journal: Option<PathBuf>,
    /// Users imported at once. An import waits on the disk (each mailbox ends with fsyncs on
    /// every replica), not on the CPU, so more workers than cores keep the disk busy: on the
    /// 2 vCPU bench machine 8 workers ran 3–5× faster than 2 (BENCHMARKS-migrate.md).
    #[arg(long, default_value_t = 8)]
    workers: usize,
    /// At most this many messages per second read from the sources (0: unlimited).
    #[arg(long, default_value_t = 0)]
    rate: u32,
    /// At most this many sources open at once (0: as many as workers).
    #[arg(long, default_value_t = 0)]
    connections: usize,
    /// Read and check the sources; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also give messages copied by an earlier run the source's current flags (a last pass
    /// before cutover, while the source is still the one users read).
    #[arg(long)]
    sync_flags: bool,
    /// The report as JSON.
    #[arg(long)]
    json: bool,
    /// Show progress on standard error even when it is not a terminal.
    #[arg(long)]
    progress: bool,
    /// Messages of a folder written to the target as one batch (one lock and one
    /// control-file commit per batch).
    #[arg(long, default_value_t = engine::DEFAULT_BATCH_MESSAGES)]
    batch_messages: usize,
    /// Bytes of messages one worker buffers for a batch before writing it.
    #[arg(long, default_value_t = engine::DEFAULT_BATCH_BYTES)]
    batch_bytes: usize,
    /// How each mailbox is made durable at its end (with `storage.fsync` on): `files`, an
    /// fsync of every file and directory written (what Dovecot does), or `filesystem`, one
    /// syncfs(2) of each replica's filesystem per mailbox, as durable on a local filesystem
    /// (ext4, XFS) with far fewer device flushes, but it writes back everything else dirty
    /// on the array too: for importing onto arrays not yet serving mail.
    #[arg(long, value_enum, default_value = "files")]
    sync_method: SyncMethod,
    /// The mirror deadline for this run, at least the configured one. An import is a batch
    /// job: a replica waiting out a lock left by a killed earlier run (up to maildir-store's
    /// unowned lock age, 10 s) must not be fenced for it.
    #[arg(long, default_value_t = 30_000)]
    mirror_deadline_ms: u64,
}

/// `gradwell import --sync-method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SyncMethod {
    /// An fsync per file and directory.
    Files,
    /// One syncfs(2) per mailbox and replica.
    Filesystem,
}

fn open_source(job: &Job) -> anyhow::Result<Box<dyn Source + Send>> {
    let path = || {
        job.path
            .as_deref()
            .with_context(|| format!("{}: a {:?} source needs `path`", job.user, job.kind))
    };
    let remote = |protocol| {
        job.remote
            .as_ref()
            .with_context(|| format!("{}: a remote source needs its `remote` table", job.user))?
            .open(protocol, &job.user)
    };
    Ok(match job.kind {
        Kind::Dovecot => Box::new(DovecotMaildir::new(path()?, job.layout)),
        Kind::Mbox => Box::new(MboxDir::new(path()?, job.inbox.clone(), job.quoting)),
        Kind::Courier => Box::new(DovecotMaildir::courier(path()?)),
        Kind::Imap => remote(Protocol::Imap)?,
        Kind::Pop3 => remote(Protocol::Pop3)?,
    })
}

/// Runs `gradwell import`; fails (exit 1) when any user did not verify.
pub fn import(args: ImportArgs) -> anyhow::Result<()> {
    let mut config = Config::load(&args.config)?;
    config.storage.mirror_deadline_ms = config
        .storage
        .mirror_deadline_ms
        .max(args.mirror_deadline_ms);
    let jobs = match (&args.manifest, &args.user, &args.path) {
        (Some(m), _, _) => {
            let text = std::fs::read_to_string(m)
                .with_context(|| format!("reading manifest {}", m.display()))?;
            toml::from_str::<Manifest>(&text)
                .with_context(|| format!("manifest {}", m.display()))?
                .user
        }
        (None, Some(_), Some(_)) if matches!(args.kind, Kind::Imap | Kind::Pop3) => {
            bail!(
                "remote sources are given in a manifest, so their passwords stay off the command line"
            )
        }
        (None, Some(user), Some(path)) => vec![Job {
            user: user.clone(),
            kind: args.kind,
            path: Some(path.clone()),
            remote: None,
            layout: args.layout,
            inbox: args.inbox.clone(),
            quoting: args.quoting,
            set: None,
        }],
        _ => bail!("give --manifest, or --user and --path"),
    };
    for job in &jobs {
        UserId::new(&job.user).with_context(|| format!("manifest user {:?}", job.user))?;
    }
    let opened = storage::open(&config.storage)?;
    let set_targets = (0..opened.sets.len())
        .map(|set| targets_of_set(set, &opened, &config, args.sync_method))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let journal = args.journal.as_deref().map(Journal::open).transpose()?;
    let throttle = NonZeroU32::new(args.rate).map(Throttle::per_second);
    let connections = ConnectionLimit::new(if args.connections == 0 {
        args.workers
    } else {
        args.connections
    });
    let next = AtomicUsize::new(0);
    let done_users = AtomicUsize::new(0);
    let messages = AtomicU64::new(0);
    let reports: Mutex<Vec<UserReport>> = Mutex::new(Vec::new());
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let show = args.progress || std::io::stderr().is_terminal();
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..args.workers.max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let result = run_job(
                        job,
                        &opened,
                        &set_targets,
                        &config,
                        journal.as_ref(),
                        throttle.as_ref(),
                        &connections,
                        &messages,
                        RunFlags {
                            dry_run: args.dry_run,
                            sync_flags: args.sync_flags,
                            batch_messages: args.batch_messages,
                            batch_bytes: args.batch_bytes,
                        },
                    );
                    match result {
                        Ok(Some(r)) => reports.lock().unwrap_or_else(|e| e.into_inner()).push(r),
                        Ok(None) => {}
                        Err(e) => failures
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(format!("{}: {e:#}", job.user)),
                    }
                    done_users.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        if show {
            scope.spawn(|| progress(&done_users, jobs.len(), &messages, start));
        }
    });
    let mut reports = reports.into_inner().unwrap_or_else(|e| e.into_inner());
    reports.sort_by(|a, b| a.user.cmp(&b.user));
    let failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "users": reports,
                "errors": failures,
            }))?
        );
    } else {
        for r in &reports {
            print!("{r}");
        }
        for f in &failures {
            println!("error: {f}");
        }
    }
    let bad = reports.iter().filter(|r| !r.ok()).count() + failures.len();
    if bad > 0 {
        bail!("{bad} of {} users did not import cleanly", jobs.len());
    }
    Ok(())
}

/// How each user of a run is imported.
#[derive(Debug, Clone, Copy)]
struct RunFlags {
    dry_run: bool,
    sync_flags: bool,
    batch_messages: usize,
    batch_bytes: usize,
}

/// Imports one user; `None` when the journal says it is done already.
#[allow(clippy::too_many_arguments)] // One call site; the run's shared state.
fn run_job(
    job: &Job,
    opened: &storage::Opened,
    set_targets: &[SetTargets],
    config: &Config,
    journal: Option<&Journal>,
    throttle: Option<&Throttle>,
    connections: &ConnectionLimit,
    messages: &AtomicU64,
    flags: RunFlags,
) -> anyhow::Result<Option<UserReport>> {
    if journal.is_some_and(|j| j.is_done(&job.user)) {
        return Ok(None);
    }
    let user = UserId::new(&job.user)?;
    let set = match &opened.placement {
        None => 0,
        Some(p) => {
            // A new user is placed (on the default set) by its first call; import there,
            // then move it with the live move if the manifest names another set.
            p.list_mailboxes(&user)?;
            p.set_of(&user).unwrap_or_else(|| p.default_set())
        }
    };
    let set_targets = set_targets
        .get(set)
        .context("placement names a missing set")?;
    let targets: Vec<&dyn Restore> = set_targets.stores.iter().map(|t| t.as_ref()).collect();
    let report = {
        let _slot = connections.connect();
        let mut source = open_source(job)?;
        // Replicas written directly were opened without per-message fsync; each mailbox is
        // made durable at its end instead (when the configuration asks for fsync at all).
        let direct = set_targets.direct;
        let options = Options::new(flags.dry_run, throttle)
            .with_progress(messages)
            .with_sync_per_mailbox(direct && config.storage.fsync)
            .with_sync_flags(flags.sync_flags)
            .with_batches(flags.batch_messages, flags.batch_bytes);
        engine::import_user(source.as_mut(), &targets, &user, options)
    };
    if !flags.dry_run && report.ok() {
        if let (Some(set), Some(p)) = (job.set, &opened.placement)
            && p.set_of(&user) != Some(set)
        {
            moves::move_user(&config.storage, &job.user, set, Duration::from_secs(600))?;
        }
        if let Some(j) = journal {
            let (messages, bytes) = report.mailboxes.iter().fold((0, 0), |(m, b), r| {
                (m + r.target.messages, b + r.target.bytes)
            });
            j.record(&Entry {
                user: job.user.clone(),
                messages,
                bytes,
            })?;
        }
    }
    Ok(Some(report))
}

/// Where to write one set's users.
struct SetTargets {
    stores: Vec<Arc<dyn Restore>>,
    /// The stores are the replica roots opened directly, without per-message fsync.
    direct: bool,
}

/// Where to write a set's users: each replica root directly (see [`engine`]), unless the
/// set is a mirror with a fenced replica: then the set itself (its survivor).
fn targets_of_set(
    set: usize,
    opened: &storage::Opened,
    config: &Config,
    sync: SyncMethod,
) -> anyhow::Result<SetTargets> {
    let whole = opened
        .sets
        .get(set)
        .cloned()
        .context("no such mirror set")?;
    if let Some(Some(mirror)) = opened.set_mirrors.get(set) {
        let status = mirror.status();
        if status.primary.is_some() || status.secondary.is_some() {
            return Ok(SetTargets {
                stores: vec![whole],
                direct: false,
            });
        }
    }
    let roots = config
        .storage
        .mirror_sets
        .get(set)
        .context("no such mirror set")?;
    let stores = roots
        .iter()
        .enumerate()
        .map(|(r, root)| {
            let mut options = storage::maildir_options(&config.storage, set, r);
            // Durability per mailbox, not per message (see `run_job`).
            options.fsync = false;
            options.sync_by_filesystem = sync == SyncMethod::Filesystem;
            let replica = Maildir::open(root, options)
                .with_context(|| format!("replica root {}", root.display()))?;
            Ok(Arc::new(replica) as Arc<dyn Restore>)
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(SetTargets {
        stores,
        direct: true,
    })
}

/// One status line on standard error each second: users, messages, rate, ETA.
fn progress(done: &AtomicUsize, total: usize, messages: &AtomicU64, start: Instant) {
    loop {
        let d = done.load(Ordering::Relaxed);
        let m = messages.load(Ordering::Relaxed);
        let secs = start.elapsed().as_secs_f64().max(0.001);
        let eta = if d > 0 {
            let left = (total - d) as f64 * secs / d as f64;
            format!("{}m{:02}s", (left / 60.0) as u64, (left % 60.0) as u64)
        } else {
            "?".into()
        };
        eprint!(
            "\rusers {d}/{total}  messages {m}  {:.0} msg/s  {:.1} users/s  ETA {eta}   ",
            m as f64 / secs,
            d as f64 / secs
        );
        if d >= total {
            eprintln!();
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// A Dovecot Maildir++ tree.
    Dovecot,
    /// A Dovecot Maildir tree with `LAYOUT=fs`.
    DovecotFs,
    /// mbox files (mboxrd), one per folder.
    Mbox,
}

/// `gradwell export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The configuration whose storage holds the user.
    #[arg(long, short)]
    config: PathBuf,
    /// The user to export.
    #[arg(long)]
    user: String,
    /// The format.
    #[arg(long, value_enum, default_value = "dovecot")]
    format: ExportFormat,
    /// Where to write (created).
    #[arg(long)]
    to: PathBuf,
    /// The summary as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `gradwell export`.
pub fn export(args: ExportArgs) -> anyhow::Result<()> {
    let config = Config::load(&args.config)?;
    let opened = storage::open(&config.storage)?;
    let user = UserId::new(&args.user)?;
    let store = opened.store.as_ref();
    let summary = match args.format {
        ExportFormat::Dovecot => {
            export::to_dovecot(store, &user, &args.to, Layout::MaildirPlusPlus)?
        }
        ExportFormat::DovecotFs => export::to_dovecot(store, &user, &args.to, Layout::Fs)?,
        ExportFormat::Mbox => export::to_mbox(store, &user, &args.to)?,
    };
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "exported {}: {} mailboxes, {} messages, {} bytes to {}",
            args.user,
            summary.mailboxes,
            summary.messages,
            summary.bytes,
            args.to.display()
        );
    }
    Ok(())
}
