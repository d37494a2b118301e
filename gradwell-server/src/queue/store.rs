//! The queue's files, on every replica root of the mirror set.
//!
//! A message `ID` is `ID.msg` (its content, written once) and `ID.env` (its [`Envelope`],
//! rewritten as recipients are delivered). Both are written under `tmp/`, fsynced, renamed
//! into place and the directory fsynced, so after a crash a file is either complete or
//! absent. The content goes first: an `.env` never names a missing `.msg`, and a `.msg`
//! without `.env` (a crash between the two) is garbage that [`Queue::open`] removes.
//!
//! Each `.env` carries a version; with several roots the newest copy wins, so a root that
//! missed writes while it was away is simply behind, never authoritative.

use std::{
    collections::BTreeMap,
    fs::{self, File},
    io::{self, Read, Write},
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, AtomicUsize, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};

use super::QueueConfig;

/// The directory under each replica root (a leading dot: no user id can take the name).
pub const QUEUE_DIR: &str = ".gradwell-queue";

/// Where one recipient stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RcptState {
    /// Not delivered yet; attempted again at `next_attempt`.
    Pending,
    /// The next hop accepted it.
    Delivered,
    /// Failed for good (5xx, or too old); reported in the DSN.
    Failed,
}

/// One recipient of a queued message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// The forward path, without angle brackets.
    pub address: String,
    /// Its state.
    pub state: RcptState,
    /// The last reply or error about it.
    #[serde(default)]
    pub last_reply: Option<String>,
}

/// A queued message's state (the `.env` file, JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Queue ID.
    pub id: String,
    /// Envelope sender, empty for `<>`.
    pub sender: String,
    /// Recipients with their state.
    pub recipients: Vec<Recipient>,
    /// Unix seconds at which it was queued.
    pub created: u64,
    /// Delivery attempts made.
    pub attempts: u32,
    /// Unix seconds of the next attempt.
    pub next_attempt: u64,
    /// Held by an operator: not attempted until released.
    pub held: bool,
    /// Octets of content.
    pub size: u64,
    /// Incremented on every write; the newest copy wins.
    pub version: u64,
}

impl Envelope {
    /// Recipients still to deliver.
    pub fn pending(&self) -> impl Iterator<Item = &Recipient> {
        self.recipients
            .iter()
            .filter(|r| r.state == RcptState::Pending)
    }
}

/// Why a message could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    /// Over `max_messages` or `max_bytes`: `452 4.3.1`.
    #[error("queue full")]
    Full,
    /// Storage failed: `451 4.3.0`.
    #[error("queue storage: {0}")]
    Io(#[from] io::Error),
}

/// Seconds since the epoch.
pub fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The queue on disk.
#[derive(Debug)]
pub struct Queue {
    dirs: Vec<PathBuf>,
    config: QueueConfig,
    fsync: bool,
    /// Messages and octets queued, as this process knows them (re-counted by each scan).
    count: AtomicUsize,
    bytes: AtomicU64,
    /// Tells the runner that a message arrived.
    wake: tokio::sync::Notify,
    /// IDs queued since the runner last looked.
    fresh: std::sync::Mutex<Vec<String>>,
}

impl Queue {
    /// Opens (creating) the queue directory under each replica root. Safe while a server
    /// uses the queue (the admin verbs do this); only the server calls [`Queue::recover`].
    pub fn open(roots: &[PathBuf], config: QueueConfig, fsync: bool) -> io::Result<Queue> {
        let mut dirs = Vec::new();
        for root in roots {
            // A missing root is a vanished replica (an unmounted array): never recreate it,
            // or the queue would land on whatever is underneath the mount point.
            if !root.is_dir() {
                tracing::warn!(root = %root.display(), "replica root missing; no queue there");
                continue;
            }
            let dir = root.join(QUEUE_DIR);
            fs::create_dir_all(dir.join("tmp"))?;
            dirs.push(dir);
        }
        if dirs.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no replica root exists for the queue",
            ));
        }
        let queue = Queue {
            dirs,
            config,
            fsync,
            count: AtomicUsize::new(0),
            bytes: AtomicU64::new(0),
            wake: tokio::sync::Notify::new(),
            fresh: std::sync::Mutex::default(),
        };
        queue.list();
        Ok(queue)
    }

    /// At server start, before any session: removes what a crash left half-written
    /// (temporary files, content whose envelope never got written).
    pub fn recover(&self) {
        self.remove_orphans();
    }

    /// The queue the configuration describes: on every replica root of the first mirror set.
    pub fn open_configured(config: &crate::config::Config) -> io::Result<Queue> {
        let roots = config
            .storage
            .mirror_sets
            .first()
            .cloned()
            .unwrap_or_default();
        Queue::open(&roots, config.queue.clone(), config.storage.fsync)
    }

    /// The configuration.
    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    /// Whether the size or count bound is reached (`452 4.3.1`).
    pub fn is_full(&self) -> bool {
        self.count.load(Ordering::Relaxed) >= self.config.max_messages
            || self.bytes.load(Ordering::Relaxed) >= self.config.max_bytes
    }

    /// Wakes the runner: a message is waiting.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// IDs queued by this process since the last call, for an attempt without a scan.
    pub fn take_fresh(&self) -> Vec<String> {
        std::mem::take(&mut *self.fresh.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Resolves when [`Queue::wake`] is called.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    fn remove_orphans(&self) {
        for dir in &self.dirs {
            let _ = fs::remove_dir_all(dir.join("tmp"));
            let _ = fs::create_dir(dir.join("tmp"));
            let Ok(entries) = fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                // Either half alone is a message that was never acknowledged: a crash came
                // before the directory fsync that follows both renames.
                let other = match path.extension().and_then(|e| e.to_str()) {
                    Some("msg") => path.with_extension("env"),
                    Some("env") => path.with_extension("msg"),
                    _ => continue,
                };
                if !other.exists() {
                    tracing::info!(path = %path.display(), "removing half-written queue file");
                    let _ = fs::remove_file(&path);
                }
            }
        }
    }

    /// Queues a message: content from `content`, every recipient pending, first attempt now.
    /// Durable on every root before it returns `Ok` (at least one root must take it).
    pub fn enqueue(
        &self,
        sender: &str,
        recipients: &[String],
        content: &mut dyn Read,
        now: SystemTime,
    ) -> Result<String, EnqueueError> {
        if self.is_full() {
            return Err(EnqueueError::Full);
        }
        let id = new_id(now);
        let size = self.write_content(&id, content)?;
        let mut envelope = Envelope {
            id: id.clone(),
            sender: sender.to_owned(),
            recipients: recipients
                .iter()
                .map(|a| Recipient {
                    address: a.clone(),
                    state: RcptState::Pending,
                    last_reply: None,
                })
                .collect(),
            created: unix(now),
            attempts: 0,
            next_attempt: unix(now),
            held: false,
            size,
            version: 0,
        };
        self.save(&mut envelope)?;
        self.count.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(size, Ordering::Relaxed);
        self.fresh
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(id.clone());
        tracing::info!(queue_id = %id, size, recipients = recipients.len(), "queued");
        Ok(id)
    }

    /// Writes `ID.msg` to every root; returns its size.
    fn write_content(&self, id: &str, content: &mut dyn Read) -> io::Result<u64> {
        let name = format!("{id}.msg");
        let mut written: Option<(PathBuf, u64)> = None;
        let mut ok = 0;
        for dir in &self.dirs {
            let tmp = dir.join("tmp").join(&name);
            let result = match &written {
                None => stream_to(&tmp, content, self.fsync).inspect(|&n| {
                    written = Some((tmp.clone(), n));
                }),
                Some((first, _)) => copy_to(first, &tmp, self.fsync),
            };
            match result {
                Ok(_) => ok += 1,
                Err(e) => tracing::error!(dir = %dir.display(), error = %e, "queue root failed"),
            }
        }
        let Some((_, size)) = written else {
            return Err(io::Error::other("no queue root could take the message"));
        };
        for dir in &self.dirs {
            let tmp = dir.join("tmp").join(&name);
            if tmp.exists() {
                // The directory is fsynced once, after the envelope's rename.
                fs::rename(&tmp, dir.join(&name))?;
            }
        }
        if ok == 0 {
            return Err(io::Error::other("no queue root could take the message"));
        }
        Ok(size)
    }

    fn publish(&self, tmp: &Path, target: &Path, dir: &Path) -> io::Result<()> {
        fs::rename(tmp, target)?;
        if self.fsync {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    /// Writes the envelope (version + 1) to every root; `Ok` when at least one took it.
    pub fn save(&self, envelope: &mut Envelope) -> io::Result<()> {
        envelope.version += 1;
        let json = serde_json::to_vec_pretty(envelope).map_err(io::Error::other)?;
        let name = format!("{}.env", envelope.id);
        let mut last_error = None;
        let mut ok = 0;
        for dir in &self.dirs {
            let tmp = dir.join("tmp").join(&name);
            let result = stream_to(&tmp, &mut json.as_slice(), self.fsync)
                .and_then(|_| self.publish(&tmp, &dir.join(&name), dir));
            match result {
                Ok(()) => ok += 1,
                Err(e) => {
                    tracing::error!(dir = %dir.display(), error = %e, "queue root failed");
                    last_error = Some(e);
                }
            }
        }
        match (ok, last_error) {
            (0, Some(e)) => Err(e),
            _ => Ok(()),
        }
    }

    /// The newest copy of an envelope.
    pub fn load(&self, id: &str) -> Option<Envelope> {
        if !valid_id(id) {
            return None;
        }
        self.dirs
            .iter()
            .filter_map(|d| read_envelope(&d.join(format!("{id}.env"))))
            .max_by_key(|e| e.version)
    }

    /// Every queued message, oldest first; also refreshes the size counters.
    pub fn list(&self) -> Vec<Envelope> {
        let mut newest: BTreeMap<String, Envelope> = BTreeMap::new();
        for dir in &self.dirs {
            let Ok(entries) = fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_none_or(|e| e != "env") {
                    continue;
                }
                let Some(env) = read_envelope(&path) else {
                    continue;
                };
                match newest.get(&env.id) {
                    Some(have) if have.version >= env.version => {}
                    _ => {
                        newest.insert(env.id.clone(), env);
                    }
                }
            }
        }
        let all: Vec<Envelope> = newest.into_values().collect();
        self.count.store(all.len(), Ordering::Relaxed);
        self.bytes
            .store(all.iter().map(|e| e.size).sum(), Ordering::Relaxed);
        all
    }

    /// The content file of a message (on the first root that has it).
    pub fn content_path(&self, id: &str) -> io::Result<PathBuf> {
        if !valid_id(id) {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        }
        self.dirs
            .iter()
            .map(|d| d.join(format!("{id}.msg")))
            .find(|p| p.exists())
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }

    /// Opens the content of a message (from the first root that has it).
    pub fn open_content(&self, id: &str) -> io::Result<File> {
        let mut last = io::Error::from(io::ErrorKind::NotFound);
        if !valid_id(id) {
            return Err(last);
        }
        for dir in &self.dirs {
            match File::open(dir.join(format!("{id}.msg"))) {
                Ok(f) => return Ok(f),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Claims message `id` for one delivery attempt: an advisory lock on its content file
    /// that no other process sharing the storage can take meanwhile, released when the
    /// returned file is dropped or the process dies (so a crash leaves no stale claim).
    /// `None` when another process holds it or the message is gone.
    pub fn claim(&self, id: &str) -> Option<File> {
        let file = self.open_content(id).ok()?;
        file.try_lock().ok()?;
        Some(file)
    }

    /// Removes a message from every root (envelope first, so no envelope is left without
    /// content).
    pub fn remove(&self, id: &str) -> io::Result<()> {
        if !valid_id(id) {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        }
        let mut size = 0;
        for dir in &self.dirs {
            let env = dir.join(format!("{id}.env"));
            if let Some(e) = read_envelope(&env) {
                size = e.size;
            }
            // Not fsynced: a removal lost in a crash only means one more delivery attempt.
            remove_if_present(&env)?;
            remove_if_present(&dir.join(format!("{id}.msg")))?;
        }
        let _ = self
            .count
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(1))
            });
        let _ = self
            .bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(size))
            });
        Ok(())
    }
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn read_envelope(path: &Path) -> Option<Envelope> {
    let bytes = fs::read(path).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(e) => Some(e),
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "unreadable queue envelope");
            None
        }
    }
}

/// Writes everything `content` yields to a new file at `path`; returns the size.
fn stream_to(path: &Path, content: &mut dyn Read, fsync: bool) -> io::Result<u64> {
    let mut file = File::create(path)?;
    let n = io::copy(content, &mut file)?;
    file.flush()?;
    if fsync {
        file.sync_all()?;
    }
    Ok(n)
}

fn copy_to(from: &Path, to: &Path, fsync: bool) -> io::Result<u64> {
    let n = fs::copy(from, to)?;
    if fsync {
        File::open(to)?.sync_all()?;
    }
    Ok(n)
}

/// A new queue ID: microseconds since the epoch (sortable) and 24 random bits, in hex.
fn new_id(now: SystemTime) -> String {
    let micros = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros());
    format!("{micros:014x}{:06x}", rand::random::<u32>() & 0xff_ffff)
}

/// Queue IDs are hex digits only, so one can never name a path outside the queue.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(roots: &[PathBuf]) -> Queue {
        for r in roots {
            fs::create_dir_all(r).unwrap();
        }
        Queue::open(roots, QueueConfig::default(), true).unwrap()
    }

    #[test]
    fn enqueue_is_on_every_root_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let roots = [dir.path().join("a"), dir.path().join("b")];
        let q = open(&roots);
        let rcpts = ["x@elsewhere.net".to_owned(), "y@elsewhere.net".to_owned()];
        let id = q
            .enqueue(
                "alice@example.test",
                &rcpts,
                &mut &b"Subject: hi\r\n\r\nbody\r\n"[..],
                SystemTime::now(),
            )
            .unwrap();
        for r in &roots {
            assert!(r.join(QUEUE_DIR).join(format!("{id}.msg")).exists());
            assert!(r.join(QUEUE_DIR).join(format!("{id}.env")).exists());
        }
        // Losing one root loses nothing, and the vanished root is not recreated.
        fs::remove_dir_all(&roots[0]).unwrap();
        let q = Queue::open(&roots, QueueConfig::default(), true).unwrap();
        assert!(!roots[0].exists());
        let all = q.list();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].pending().count(), 2);
        let mut content = String::new();
        q.open_content(&id)
            .unwrap()
            .read_to_string(&mut content)
            .unwrap();
        assert_eq!(content, "Subject: hi\r\n\r\nbody\r\n");
        q.remove(&id).unwrap();
        assert!(q.list().is_empty());
    }

    #[test]
    fn newest_envelope_wins_and_orphans_go() {
        let dir = tempfile::tempdir().unwrap();
        let roots = [dir.path().join("a"), dir.path().join("b")];
        let q = open(&roots);
        let id = q
            .enqueue("", &["x@y.z".to_owned()], &mut &b"m"[..], SystemTime::now())
            .unwrap();
        let stale = fs::read(roots[1].join(QUEUE_DIR).join(format!("{id}.env"))).unwrap();
        let mut env = q.load(&id).unwrap();
        env.held = true;
        q.save(&mut env).unwrap();
        // Root b missed the write.
        fs::write(roots[1].join(QUEUE_DIR).join(format!("{id}.env")), stale).unwrap();
        assert!(q.load(&id).unwrap().held);
        fs::write(roots[0].join(QUEUE_DIR).join("00ff.msg"), b"half").unwrap();
        fs::copy(
            roots[0].join(QUEUE_DIR).join(format!("{id}.env")),
            roots[0].join(QUEUE_DIR).join("00fe.env"),
        )
        .unwrap();
        let q = open(&roots);
        assert!(
            roots[0].join(QUEUE_DIR).join("00ff.msg").exists(),
            "open alone cleans nothing"
        );
        q.recover();
        assert!(!roots[0].join(QUEUE_DIR).join("00ff.msg").exists());
        assert!(!roots[0].join(QUEUE_DIR).join("00fe.env").exists());
        assert_eq!(q.list().len(), 1);
    }

    #[test]
    fn one_claim_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let q = open(&[dir.path().to_owned()]);
        let id = q
            .enqueue("", &["x@y.z".to_owned()], &mut &b"m"[..], SystemTime::now())
            .unwrap();
        let first = q.claim(&id).expect("free");
        // A second open file description, as another process would have.
        assert!(q.claim(&id).is_none(), "held");
        drop(first);
        assert!(q.claim(&id).is_some(), "released");
        assert!(q.claim("00").is_none(), "no such message");
    }

    #[test]
    fn the_bound_refuses_with_full() {
        let dir = tempfile::tempdir().unwrap();
        let config = QueueConfig {
            max_messages: 1,
            ..QueueConfig::default()
        };
        let q = Queue::open(&[dir.path().to_owned()], config, false).unwrap();
        let rcpt = ["x@y.z".to_owned()];
        q.enqueue("", &rcpt, &mut &b"m"[..], SystemTime::now())
            .unwrap();
        assert!(matches!(
            q.enqueue("", &rcpt, &mut &b"m"[..], SystemTime::now()),
            Err(EnqueueError::Full)
        ));
        assert!(!valid_id("../x") && valid_id("00ab"));
    }
}
