//! The users file in Dovecot's passwd-file format (`user:{SCHEME}hash:uid:gid:gecos:home:shell:extra`),
//! so an existing Dovecot user database works as-is. Only the first two fields are used; the
//! rest are kept when the file is rewritten.
//!
//! The file is re-read when its modification time or size changes, so `gradwell user add`
//! takes effect without a restart.

use std::{
    collections::BTreeMap,
    fs,
    hash::{BuildHasher, RandomState},
    io::Write,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
    time::SystemTime,
};

use anyhow::{Context, bail};
use maildir_store::UserId;

use super::password::StoredPassword;

/// One line of the file.
#[derive(Debug, Clone)]
struct Entry {
    password: StoredPassword,
    /// Fields after the password, kept verbatim.
    rest: String,
}

/// The parsed file: login name (lower case) → entry.
#[derive(Debug, Default, Clone)]
struct Users {
    entries: BTreeMap<String, Entry>,
    /// Stored passwords sampled evenly from the file. An unknown user is checked against one
    /// of them, so it costs what a wrong password costs for a real user of the same file:
    /// with `{PLAIN}` users a fixed Argon2 hash would make unknown names stand out.
    decoys: Vec<StoredPassword>,
}

/// How many stored passwords [`Users::decoys`] samples.
const DECOYS: usize = 64;

impl Users {
    fn parse(text: &str) -> Users {
        let mut entries = BTreeMap::new();
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.splitn(3, ':');
            let (Some(name), Some(password)) = (parts.next(), parts.next()) else {
                continue;
            };
            entries.insert(
                name.to_ascii_lowercase(),
                Entry {
                    password: StoredPassword::new(password),
                    rest: parts.next().unwrap_or("").to_owned(),
                },
            );
        }
        let step = entries.len().div_ceil(DECOYS).max(1);
        let decoys = entries
            .values()
            .step_by(step)
            .map(|e| e.password.clone())
            .collect();
        Users { entries, decoys }
    }

    fn render(&self) -> String {
        let mut out = String::new();
        for (name, e) in &self.entries {
            out.push_str(name);
            out.push(':');
            out.push_str(e.password.as_field());
            if !e.rest.is_empty() {
                out.push(':');
                out.push_str(&e.rest);
            }
            out.push('\n');
        }
        out
    }
}

type Stamp = Option<(SystemTime, u64)>;

/// The users file, re-read when it changes.
#[derive(Debug)]
pub struct UserDb {
    path: PathBuf,
    cache: RwLock<(Stamp, Arc<Users>)>,
    /// Keys the choice of decoy per name, differently in every process, so that a client
    /// cannot pick names that land on a cheap scheme in a mixed file.
    decoy_key: RandomState,
}

fn stamp(path: &Path) -> Stamp {
    let m = fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

impl UserDb {
    /// Opens the file (it must exist).
    pub fn open(path: &Path) -> anyhow::Result<UserDb> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("reading users file {}", path.display()))?;
        Ok(UserDb {
            path: path.to_owned(),
            cache: RwLock::new((stamp(path), Arc::new(Users::parse(&text)))),
            decoy_key: RandomState::new(),
        })
    }

    fn current(&self) -> Arc<Users> {
        let now = stamp(&self.path);
        {
            let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
            if cache.0 == now {
                return Arc::clone(&cache.1);
            }
        }
        // A read error keeps the last good copy: a half-written file never locks everyone out.
        let Ok(text) = fs::read_to_string(&self.path) else {
            return self
                .cache
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .1
                .clone();
        };
        let users = Arc::new(Users::parse(&text));
        *self.cache.write().unwrap_or_else(|e| e.into_inner()) = (now, Arc::clone(&users));
        users
    }

    /// Whether `name` is an account.
    pub fn exists(&self, name: &str) -> bool {
        self.current()
            .entries
            .contains_key(&name.to_ascii_lowercase())
    }

    /// Checks a login. An unknown user costs the same time as a wrong password. Blocking
    /// (password hashing is slow on purpose): call from a blocking pool.
    pub fn authenticate(&self, name: &str, password: &[u8]) -> Option<UserId> {
        let users = self.current();
        match users.entries.get(&name.to_ascii_lowercase()) {
            Some(e) if e.password.verify(password) => UserId::new(name).ok(),
            Some(_) => None,
            None => {
                match self.decoy(&users, name) {
                    Some(decoy) => drop(decoy.verify(password)),
                    None => StoredPassword::verify_dummy(password),
                }
                None
            }
        }
    }

    /// The stored password an unknown `name` is checked against: the same one every time
    /// for one name (as for a real user), none when the file is empty.
    fn decoy<'u>(&self, users: &'u Users, name: &str) -> Option<&'u StoredPassword> {
        let n = users.decoys.len();
        let pick = self.decoy_key.hash_one(name.to_ascii_lowercase());
        // The remainder is below `n`, which is a usize.
        users.decoys.get((pick % n.max(1) as u64) as usize)
    }

    /// Login names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.current().entries.keys().cloned().collect()
    }
}

/// `gradwell user add|passwd|del|list` on the file at `path`.
pub mod admin {
    use super::*;

    fn load(path: &Path) -> anyhow::Result<Users> {
        match fs::read_to_string(path) {
            Ok(text) => Ok(Users::parse(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Users::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes beside the file, fsyncs and renames over it, so readers see old or new.
    fn save(path: &Path, users: &Users) -> anyhow::Result<()> {
        let tmp = path.with_extension("tmp");
        // Hashes are secrets too: owner-only, like Dovecot's recommendation for passwd-files.
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(users.render().as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
        Ok(())
    }

    fn check_name(name: &str) -> anyhow::Result<()> {
        UserId::new(name).map_err(|e| anyhow::anyhow!("user name {name:?}: {e}"))?;
        Ok(())
    }

    /// Adds a user with an ARGON2ID hash of `password`.
    pub fn add(path: &Path, name: &str, password: &str) -> anyhow::Result<()> {
        check_name(name)?;
        let mut users = load(path)?;
        let key = name.to_ascii_lowercase();
        if users.entries.contains_key(&key) {
            bail!("user {name} already exists (use `gradwell user passwd`)");
        }
        users.entries.insert(
            key,
            Entry {
                password: StoredPassword::hash_new(password),
                rest: String::new(),
            },
        );
        save(path, &users)
    }

    /// Replaces a user's password (new hash ARGON2ID).
    pub fn passwd(path: &Path, name: &str, password: &str) -> anyhow::Result<()> {
        let mut users = load(path)?;
        let Some(e) = users.entries.get_mut(&name.to_ascii_lowercase()) else {
            bail!("no user {name}");
        };
        e.password = StoredPassword::hash_new(password);
        save(path, &users)
    }

    /// Removes a user (the mailbox stays on disk).
    pub fn del(path: &Path, name: &str) -> anyhow::Result<()> {
        let mut users = load(path)?;
        if users.entries.remove(&name.to_ascii_lowercase()).is_none() {
            bail!("no user {name}");
        }
        save(path, &users)
    }

    /// Login names, sorted.
    pub fn list(path: &Path) -> anyhow::Result<Vec<String>> {
        Ok(load(path)?.entries.into_keys().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dovecot_lines_parse_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        fs::write(
            &path,
            "# comment\nalice:{PLAIN}secret-alice:1000:1000::/home/alice::\nBob:{PLAIN}b\n",
        )
        .unwrap();
        let db = UserDb::open(&path).unwrap();
        assert_eq!(
            db.authenticate("alice", b"secret-alice").unwrap().as_str(),
            "alice"
        );
        assert!(db.authenticate("ALICE", b"secret-alice").is_some());
        assert!(db.authenticate("alice", b"wrong").is_none());
        assert!(db.authenticate("nobody", b"secret-alice").is_none());
        assert!(db.exists("bob"));
    }

    /// Median wall time of `f` over interleaved runs (a ratio check, not a benchmark).
    fn median_nanos(runs: usize, mut f: impl FnMut()) -> u128 {
        let mut times: Vec<u128> = (0..runs)
            .map(|_| {
                let start = std::time::Instant::now();
                f();
                start.elapsed().as_nanos()
            })
            .collect();
        times.sort_unstable();
        times[runs / 2]
    }

    #[test]
    fn an_unknown_user_is_checked_like_a_wrong_password() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        let mut text = String::new();
        for i in 0..200 {
            text.push_str(&format!("user{i}:{{PLAIN}}pw-{i}\n"));
        }
        fs::write(&path, &text).unwrap();
        let db = UserDb::open(&path).unwrap();
        let users = db.current();
        assert!(users.decoys.len() <= DECOYS && !users.decoys.is_empty());
        for name in ["nobody", "NoBody", "x", "someone-else"] {
            let decoy = db.decoy(&users, name).unwrap();
            assert!(
                decoy.as_field().starts_with("{PLAIN}"),
                "same scheme as the file"
            );
            assert_eq!(Some(decoy), db.decoy(&users, name), "stable per name");
        }
        assert!(
            db.authenticate("nobody", b"pw-0").is_none(),
            "a decoy never logs in"
        );
        // Before decoys an unknown name cost one Argon2 hash (tens of milliseconds) while a
        // wrong {PLAIN} password cost microseconds: a 10,000-fold gap. Now both are one
        // {PLAIN} comparison; the bound only has to catch that gap, not measure noise.
        let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            wrong.push(median_nanos(101, || drop(db.authenticate("user7", b"bad"))));
            unknown.push(median_nanos(101, || {
                drop(db.authenticate("nobody", b"bad"))
            }));
        }
        let (wrong, unknown) = (wrong.iter().min().unwrap(), unknown.iter().min().unwrap());
        assert!(
            *unknown < wrong * 20 && *wrong < unknown * 20,
            "wrong {wrong} ns, unknown {unknown} ns"
        );
    }

    #[test]
    fn an_empty_file_still_costs_a_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        fs::write(&path, "# nobody yet\n").unwrap();
        let db = UserDb::open(&path).unwrap();
        assert!(
            db.decoy(&db.current(), "nobody").is_none(),
            "falls back to the Argon2 dummy"
        );
    }

    #[test]
    fn admin_verbs_keep_other_fields_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        fs::write(&path, "carol:{PLAIN}c:1:2::/home/carol::\n").unwrap();
        let db = UserDb::open(&path).unwrap();
        admin::add(&path, "dave", "pw-dave").unwrap();
        assert!(admin::add(&path, "dave", "x").is_err());
        assert!(admin::add(&path, "../evil", "x").is_err());
        assert_eq!(admin::list(&path).unwrap(), ["carol", "dave"]);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("carol:{PLAIN}c:1:2::/home/carol::"), "{text}");
        assert!(text.contains("dave:{ARGON2ID}$argon2id$"), "{text}");
        assert!(db.authenticate("dave", b"pw-dave").is_some(), "reloaded");
        admin::passwd(&path, "dave", "new").unwrap();
        assert!(db.authenticate("dave", b"new").is_some());
        admin::del(&path, "dave").unwrap();
        assert!(!db.exists("dave"));
        assert!(admin::del(&path, "dave").is_err());
    }
}
