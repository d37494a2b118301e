//! `gradwell user move`: moving a user to another mirror set, live through the running
//! server when there is one.
//!
//! maildir-store's [`Placement::move_user`] fences the moving user's calls in every process
//! that shares the placement map (an `flock` per fence stripe in `<placement_file>.fence/`,
//! held shared by every call and exclusively by the cutover), and every process re-reads the
//! map when it changes; so any one server can run the move while the others keep serving:
//! - a running server registers itself in `<placement_file>.servers/` (a file it holds an
//!   exclusive `flock` on, released by the kernel when it exits) and watches
//!   `<placement_file>.moves/` for requests. The command writes `USER.request` (the target
//!   set) there; the server claims it (renames it to `USER.claimed`), runs the move through
//!   its own `Placement` while its sessions keep working, and writes `USER.result`, which
//!   the command prints and removes;
//! - with no server running, the command moves the user itself, holding an exclusive lock
//!   on `<placement_file>.offline`; a server starting meanwhile waits for that lock before
//!   it reads the placement map;
//! - with several server processes sharing the storage (front ends behind HAProxy), one of
//!   them claims the request and moves the user; the others' calls for that user wait for
//!   its cutover and then go to the new set.

use std::{
    ffi::OsString,
    fs::{self, File, OpenOptions, TryLockError},
    io::{ErrorKind, Write},
    path::{Path, PathBuf},
    sync::{
        Weak,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use maildir_store::{
    UserId,
    placement::{MoveReport, Placement},
};

use crate::{config::Storage, storage};

/// How often a running server looks for move requests.
const POLL_EVERY: Duration = Duration::from_millis(200);

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

fn servers_dir(storage: &Storage) -> PathBuf {
    with_suffix(&storage.placement_path(), ".servers")
}

fn requests_dir(storage: &Storage) -> PathBuf {
    with_suffix(&storage.placement_path(), ".moves")
}

fn offline_lock(storage: &Storage) -> anyhow::Result<File> {
    let path = with_suffix(&storage.placement_path(), ".offline");
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))
}

/// A running server's registration; dropping it (or the process dying) ends it.
#[derive(Debug)]
pub struct Serving {
    _file: File,
    path: PathBuf,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Registers this process as serving the storage's users, after any offline move ends.
pub fn register(storage: &Storage, hostname: &str) -> anyhow::Result<Serving> {
    let dir = servers_dir(storage);
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    // Several servers may run in one process (tests): each registers on its own.
    static SERVERS: AtomicU64 = AtomicU64::new(0);
    let n = SERVERS.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("{hostname}-{}-{n}", std::process::id()));
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    file.try_lock()
        .with_context(|| format!("locking {}", path.display()))?;
    let serving = Serving { _file: file, path };
    let offline = offline_lock(storage)?;
    if let Err(TryLockError::WouldBlock) = offline.try_lock_shared() {
        tracing::warn!("an offline `gradwell user move` is running; waiting for it to end");
        offline
            .lock_shared()
            .context("waiting for an offline move")?;
    }
    Ok(serving)
}

/// Server processes registered and alive; registrations of dead ones are removed.
fn live_servers(storage: &Storage) -> anyhow::Result<usize> {
    let dir = servers_dir(storage);
    let entries = match fs::read_dir(&dir) {
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
        other => other.with_context(|| format!("reading {}", dir.display()))?,
    };
    let mut live = 0;
    for entry in entries {
        let path = entry?.path();
        let Ok(file) = File::open(&path) else {
            continue;
        };
        match file.try_lock_shared() {
            Ok(()) => {
                // Nobody holds it: its process ended without removing it.
                let _ = fs::remove_file(&path);
            }
            Err(TryLockError::WouldBlock) => live += 1,
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()));
            }
        }
    }
    Ok(live)
}

/// One line per fact of the report, for the operator.
fn describe(user: &UserId, r: &MoveReport) -> String {
    let mut text = format!(
        "moved {user} from set {} to set {}: {} messages copied, {} verified, {} catch-up passes, \
         cutover pause {} ms",
        r.from,
        r.to,
        r.messages_copied,
        r.messages_verified,
        r.catch_up_passes,
        r.cutover.as_millis()
    );
    if let Some(e) = &r.retire_error {
        text.push_str(&format!(
            "\nthe old copy on set {} was not removed (never read again): {e}",
            r.from
        ));
    }
    text
}

/// Watches the request directory while `placement` lives (a server's thread).
pub fn watch(placement: Weak<Placement>, storage: Storage) -> anyhow::Result<()> {
    let dir = requests_dir(&storage);
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::thread::Builder::new()
        .name("placement-moves".into())
        .spawn(move || {
            loop {
                std::thread::sleep(POLL_EVERY);
                let Some(placement) = placement.upgrade() else {
                    return;
                };
                if let Err(e) = serve_requests(&placement, &dir) {
                    tracing::warn!(error = %format!("{e:#}"), "placement move requests");
                }
            }
        })
        .context("starting the placement move watcher")?;
    Ok(())
}

fn serve_requests(placement: &Placement, dir: &Path) -> anyhow::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".request"))
        else {
            continue;
        };
        let claimed = dir.join(format!("{name}.claimed"));
        if fs::rename(&path, &claimed).is_err() {
            continue; // another process claimed it
        }
        let outcome = run_request(placement, name, &claimed);
        let text = match &outcome {
            Ok(done) => format!("ok\n{done}\n"),
            Err(e) => format!("error\n{e:#}\n"),
        };
        match &outcome {
            Ok(done) => tracing::info!(user = name, "{done}"),
            Err(e) => tracing::warn!(user = name, error = %format!("{e:#}"), "move failed"),
        }
        write_atomically(&dir.join(format!("{name}.result")), text.as_bytes())?;
        fs::remove_file(&claimed)?;
    }
    Ok(())
}

fn run_request(placement: &Placement, name: &str, claimed: &Path) -> anyhow::Result<String> {
    let user = UserId::new(name).map_err(|e| anyhow::anyhow!("user {name:?}: {e}"))?;
    let set = fs::read_to_string(claimed)?
        .trim()
        .parse::<usize>()
        .context("the requested set")?;
    let report = placement.move_user(&user, set)?;
    Ok(describe(&user, &report))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = with_suffix(path, ".tmp");
    let mut f = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

/// `gradwell user move`: moves `user` to `set`, through the running server when there is one
/// (waiting at most `wait` for it), else in this process. Returns what was done.
pub fn move_user(
    storage: &Storage,
    user: &str,
    set: usize,
    wait: Duration,
) -> anyhow::Result<String> {
    let user = UserId::new(user).map_err(|e| anyhow::anyhow!("user {user:?}: {e}"))?;
    if storage.mirror_sets.len() < 2 {
        bail!("key `storage.mirror_sets`: one mirror set, so there is nowhere to move a user");
    }
    if set >= storage.mirror_sets.len() {
        bail!(
            "no mirror set {set}: `storage.mirror_sets` lists {} (numbered from 0)",
            storage.mirror_sets.len()
        );
    }
    let offline = offline_lock(storage)?;
    offline
        .lock()
        .context("locking out servers for an offline move")?;
    match live_servers(storage)? {
        0 => {
            let opened = storage::open(storage)?;
            let placement = opened
                .placement
                .context("several mirror sets open as a placement")?;
            let report = placement.move_user(&user, set)?;
            Ok(describe(&user, &report))
        }
        _ => {
            drop(offline);
            through_server(storage, &user, set, wait)
        }
    }
}

fn through_server(
    storage: &Storage,
    user: &UserId,
    set: usize,
    wait: Duration,
) -> anyhow::Result<String> {
    let dir = requests_dir(storage);
    let result = dir.join(format!("{user}.result"));
    let _ = fs::remove_file(&result);
    write_atomically(
        &dir.join(format!("{user}.request")),
        format!("{set}\n").as_bytes(),
    )?;
    let started = Instant::now();
    loop {
        match fs::read_to_string(&result) {
            Ok(text) => {
                let _ = fs::remove_file(&result);
                let (status, detail) = text.split_once('\n').unwrap_or((&text, ""));
                let detail = detail.trim_end().to_owned();
                return match status {
                    "ok" => Ok(detail),
                    _ => Err(anyhow::anyhow!("the server's move failed: {detail}")),
                };
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("reading {}", result.display())),
        }
        if started.elapsed() > wait {
            bail!(
                "the running server has not finished the move within {} s; it goes on, and its \
                 log says when it ends",
                wait.as_secs()
            );
        }
        std::thread::sleep(POLL_EVERY);
    }
}
