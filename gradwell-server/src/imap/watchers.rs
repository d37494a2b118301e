//! One watcher per (user, mailbox) that some IDLE session is waiting on, shared by all of
//! them: at 10,000 idling sessions, per-session polling cost 40,000 store looks a second and
//! starved logins (BENCHMARKS-scale.md). Now one poller thread looks at each watched mailbox
//! once per `limits.imap_idle_poll_ms`, whatever the number of sessions on it, and wakes them
//! through a [`watch`] channel when its fingerprint moves. Writes made through this process
//! (deliveries, other sessions' APPEND, STORE, EXPUNGE, COPY, MOVE) wake the watchers at once
//! through [`super::notifying::Notifying`]; the poll catches other processes' writes.
//!
//! The poller runs only while something is watched: it is started by the first
//! subscription and ends when a round finds no watcher left. A watcher ends when its last
//! [`Subscription`] is dropped.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use maildir_store::{MailStore, MailboxName, ModSeq, Uid, UidValidity, UserId};
use tokio::sync::watch;

/// Every this many rounds the poller also counts the messages (an `open`): a writer in
/// another process may remove message files without leaving a trace in the index, which the
/// cheap look (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ) cannot see.
const COUNT_EVERY: u32 = 20;

type Key = (UserId, MailboxName);

/// What the poller compares between rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    uid_validity: UidValidity,
    uid_next: Uid,
    highest_modseq: ModSeq,
}

/// A watched mailbox.
#[derive(Debug)]
struct Watched {
    /// Bumped on every change; subscribers wait for a new value.
    wake: watch::Sender<u64>,
    subscribers: usize,
    /// The last fingerprint seen; `None` when the mailbox could not be looked at.
    seen: Option<Fingerprint>,
    /// The message count at the last counting round.
    count: Option<usize>,
    rounds: u32,
}

impl Watched {
    fn bump(&self) {
        self.wake.send_modify(|g| *g = g.wrapping_add(1));
    }
}

#[derive(Debug, Default)]
struct State {
    watched: HashMap<Key, Watched>,
    poller_running: bool,
}

struct Inner {
    /// The store as it is, not the notifying wrapper (the poller only reads).
    store: Arc<dyn MailStore>,
    poll: Duration,
    state: Mutex<State>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("poll", &self.poll)
            .finish_non_exhaustive()
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves counters that are still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The registry of watched mailboxes (one per server, in [`crate::app::App`]).
#[derive(Debug, Clone)]
pub struct Watchers {
    inner: Arc<Inner>,
}

/// One IDLE session's interest in a mailbox; dropping it ends the watcher with its last
/// subscriber.
#[derive(Debug)]
pub struct Subscription {
    key: Key,
    receiver: watch::Receiver<u64>,
    inner: Arc<Inner>,
}

impl Subscription {
    /// True once, after each change since the last call.
    pub fn take_change(&mut self) -> bool {
        let changed = self.receiver.has_changed().unwrap_or(false);
        if changed {
            self.receiver.borrow_and_update();
        }
        changed
    }

    /// A receiver to wait on (`changed()`), at the same version as this subscription.
    pub fn receiver(&self) -> watch::Receiver<u64> {
        self.receiver.clone()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut state = self.inner.lock();
        if let Some(w) = state.watched.get_mut(&self.key) {
            w.subscribers = w.subscribers.saturating_sub(1);
            if w.subscribers == 0 {
                state.watched.remove(&self.key);
            }
        }
    }
}

impl Watchers {
    /// A registry polling `store` every `poll`.
    pub fn new(store: Arc<dyn MailStore>, poll: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                poll,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// Starts watching `name` for `user` (or joins the watcher already there). Blocking: a
    /// new watcher takes its first fingerprint now, so a change right after this call is
    /// never taken for the starting state.
    pub fn subscribe(&self, user: &UserId, name: &MailboxName) -> Subscription {
        let key = (user.clone(), name.clone());
        let exists = self.inner.lock().watched.contains_key(&key);
        let first = (!exists).then(|| look(&*self.inner.store, &key, true));
        let mut state = self.inner.lock();
        let watched = state.watched.entry(key.clone()).or_insert_with(|| {
            let (seen, count) = first.unwrap_or((None, None));
            Watched {
                wake: watch::channel(0).0,
                subscribers: 0,
                seen,
                count,
                rounds: 0,
            }
        });
        watched.subscribers += 1;
        let receiver = watched.wake.subscribe();
        if !state.poller_running {
            state.poller_running = true;
            let inner = Arc::clone(&self.inner);
            let spawned = std::thread::Builder::new()
                .name("imap-idle-poll".into())
                .spawn(move || poll_loop(&inner));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start the IDLE poller");
                state.poller_running = false;
            }
        }
        Subscription {
            key,
            receiver,
            inner: Arc::clone(&self.inner),
        }
    }

    /// Wakes the sessions watching `name` of `user` now (a write through this process).
    pub fn notify(&self, user: &UserId, name: &MailboxName) {
        let state = self.inner.lock();
        if let Some(w) = state.watched.get(&(user.clone(), name.clone())) {
            w.bump();
        }
    }

    /// How many mailboxes are watched (tests: watchers end with their sessions).
    pub fn watched(&self) -> usize {
        self.inner.lock().watched.len()
    }
}

/// The fingerprint of a mailbox and, when `count`, its number of messages.
fn look(store: &dyn MailStore, key: &Key, count: bool) -> (Option<Fingerprint>, Option<usize>) {
    let (user, name) = key;
    if count {
        return match store.open(user, name) {
            Ok(v) => (
                Some(Fingerprint {
                    uid_validity: v.uid_validity,
                    uid_next: v.uid_next,
                    highest_modseq: v.highest_modseq,
                }),
                Some(v.messages.len()),
            ),
            Err(_) => (None, None),
        };
    }
    // Asking for changes after the newest modseq copies nothing when nothing changed.
    let since = ModSeq::new(u64::MAX);
    match store.changes_since(user, name, since) {
        Ok(c) => (
            Some(Fingerprint {
                uid_validity: c.uid_validity,
                uid_next: c.uid_next,
                highest_modseq: c.highest_modseq,
            }),
            None,
        ),
        Err(_) => (None, None),
    }
}

/// The poller: one round over every watched mailbox per poll interval, until none is left.
fn poll_loop(inner: &Inner) {
    loop {
        let started = Instant::now();
        let due: Vec<(Key, bool)> = {
            let mut state = inner.lock();
            if state.watched.is_empty() {
                state.poller_running = false;
                return;
            }
            state
                .watched
                .iter_mut()
                .map(|(k, w)| {
                    w.rounds = w.rounds.wrapping_add(1);
                    (k.clone(), w.rounds % COUNT_EVERY == 0)
                })
                .collect()
        };
        for (key, count) in due {
            let (seen, counted) = look(&*inner.store, &key, count);
            let mut state = inner.lock();
            let Some(w) = state.watched.get_mut(&key) else {
                continue;
            };
            let moved = w.seen != seen || (counted.is_some() && w.count != counted);
            if moved {
                w.bump();
                w.seen = seen;
            }
            if counted.is_some() {
                w.count = counted;
            }
        }
        std::thread::sleep(inner.poll.saturating_sub(started.elapsed()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use maildir_store::{AppendRequest, MemStore};

    fn setup() -> (Arc<dyn MailStore>, Watchers, UserId) {
        let store: Arc<dyn MailStore> = Arc::new(MemStore::default());
        let user = UserId::new("alice").unwrap();
        let watchers = Watchers::new(Arc::clone(&store), Duration::from_millis(20));
        (store, watchers, user)
    }

    fn append(store: &dyn MailStore, user: &UserId) {
        let mut msg: &[u8] = b"Subject: x\r\n\r\nbody\r\n";
        store
            .append(
                user,
                &MailboxName::inbox(),
                &mut msg,
                &AppendRequest::new(std::time::SystemTime::now()),
            )
            .unwrap();
    }

    #[test]
    fn a_change_by_another_writer_wakes_every_subscriber_and_watchers_end_with_them() {
        let (store, watchers, user) = setup();
        let mut subs: Vec<_> = (0..50)
            .map(|_| watchers.subscribe(&user, &MailboxName::inbox()))
            .collect();
        assert_eq!(watchers.watched(), 1);
        assert!(subs.iter_mut().all(|s| !s.take_change()));
        append(&*store, &user);
        let deadline = Instant::now() + Duration::from_secs(1);
        while !subs[0].receiver().has_changed().unwrap() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(subs.iter_mut().all(|s| s.take_change()));
        assert!(subs.iter_mut().all(|s| !s.take_change()));
        drop(subs);
        assert_eq!(watchers.watched(), 0);
        // The poller notices and ends.
        let deadline = Instant::now() + Duration::from_secs(2);
        while watchers.inner.lock().poller_running && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!watchers.inner.lock().poller_running);
    }

    #[test]
    fn notify_wakes_at_once_and_only_the_named_mailbox() {
        let store: Arc<dyn MailStore> = Arc::new(MemStore::default());
        // A poll interval far beyond the test: only `notify` can wake.
        let watchers = Watchers::new(store, Duration::from_secs(60));
        let user = UserId::new("bob").unwrap();
        let other = UserId::new("carol").unwrap();
        let mut inbox = watchers.subscribe(&user, &MailboxName::inbox());
        let mut theirs = watchers.subscribe(&other, &MailboxName::inbox());
        watchers.notify(&user, &MailboxName::inbox());
        assert!(inbox.take_change());
        assert!(!theirs.take_change());
    }
}
