//! Concurrent connections per key: per client address at accept, per user at login.

use std::{
    collections::HashMap,
    hash::Hash,
    net::IpAddr,
    sync::{Arc, Mutex},
};

use maildir_store::UserId;

/// Counts open connections per key (an address, a user).
#[derive(Debug)]
pub struct PerKey<K: Eq + Hash> {
    max: usize,
    open: Mutex<HashMap<K, usize>>,
}

/// Open connections per client address.
pub type PerIp = PerKey<IpAddr>;

/// Open sessions per logged-in user (IMAP and POP3 together).
pub type PerUser = PerKey<UserId>;

/// Held while a connection is open; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot<K: Eq + Hash> {
    table: Arc<PerKey<K>>,
    key: K,
}

impl<K: Eq + Hash + Clone> PerKey<K> {
    /// A table allowing `max` connections per key.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// Takes a slot for `key`, or `None` when it already has `max` connections.
    pub fn take(self: &Arc<Self>, key: K) -> Option<Slot<K>> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(key.clone()).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Slot {
            table: Arc::clone(self),
            key,
        })
    }

    /// Connections open for `key` now.
    pub fn count(&self, key: &K) -> usize {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(key).copied().unwrap_or(0)
    }
}

impl<K: Eq + Hash> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_and_freed() {
        let t = PerIp::new(2);
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        let a = t.take(ip).unwrap();
        let _b = t.take(ip).unwrap();
        assert!(t.take(ip).is_none());
        assert_eq!(t.count(&ip), 2);
        assert!(t.take("198.51.100.8".parse().unwrap()).is_some());
        drop(a);
        assert!(t.take(ip).is_some());
    }

    #[test]
    fn users_are_counted_apart() {
        let t = PerUser::new(1);
        let alice = UserId::new("alice").unwrap();
        let held = t.take(alice.clone()).unwrap();
        assert!(t.take(alice.clone()).is_none());
        assert!(t.take(UserId::new("bob").unwrap()).is_some());
        drop(held);
        assert_eq!(t.count(&alice), 0);
    }
}
