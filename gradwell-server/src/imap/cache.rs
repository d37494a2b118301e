//! Parsed message structure, kept at two levels so FETCH ENVELOPE/BODYSTRUCTURE/BODY[section]
//! do not reparse: in the store's per-message structure record (shared by every process on the
//! storage, surviving restarts) and, in front of it, in this process's memory. Messages never
//! change once stored, so (user, mailbox, UIDVALIDITY, UID) names one forever. Bounded: past
//! [`MAX_ENTRIES`] the in-memory level starts over.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use maildir_store::{MailStore, MailboxName, ReadPart, StoreError, Uid, UserId};

use super::structure::Structure;

/// Entries kept at most.
pub const MAX_ENTRIES: usize = 20_000;

/// What identifies a message for ever.
pub type Key = (String, String, u32, u32);

fn key_of(user: &UserId, name: &MailboxName, uid_validity: u32, uid: Uid) -> Key {
    (
        user.as_str().to_owned(),
        name.as_str().to_owned(),
        uid_validity,
        uid.get(),
    )
}

/// The in-memory level, shared by every session of a server.
#[derive(Debug, Default)]
pub struct ParseCache {
    entries: Mutex<HashMap<Key, Arc<Structure>>>,
    /// Messages this cache had to parse (neither level knew them).
    parses: AtomicU64,
}

/// A message's structure, and its bytes when they had to be read to parse it.
pub type Loaded = (Arc<Structure>, Option<Vec<u8>>);

impl ParseCache {
    /// The structure of message `uid` of `name`: from memory, else from the
    /// store's record, else read whole, parsed and recorded in the store (a failure to record
    /// is only a lost cache entry). With the bytes when they were read.
    pub fn load(
        &self,
        store: &dyn MailStore,
        user: &UserId,
        name: &MailboxName,
        uid_validity: u32,
        uid: Uid,
    ) -> Result<Loaded, StoreError> {
        let key = key_of(user, name, uid_validity, uid);
        if let Some(hit) = self.kept(store, &key, user, name, uid) {
            return Ok((hit, None));
        }
        let data = store.read(user, name, uid, ReadPart::Whole)?;
        self.parses.fetch_add(1, Ordering::Relaxed);
        let structure = Arc::new(Structure::of(&data));
        let _ = store.cache_structure(user, name, uid, &structure.encode());
        self.remember(key, Arc::clone(&structure));
        Ok((structure, Some(data)))
    }

    /// The structure if either level already has it; never reads or parses the message.
    pub fn known(
        &self,
        store: &dyn MailStore,
        user: &UserId,
        name: &MailboxName,
        uid_validity: u32,
        uid: Uid,
    ) -> Option<Arc<Structure>> {
        self.kept(
            store,
            &key_of(user, name, uid_validity, uid),
            user,
            name,
            uid,
        )
    }

    fn kept(
        &self,
        store: &dyn MailStore,
        key: &Key,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
    ) -> Option<Arc<Structure>> {
        if let Some(hit) = self.lock().get(key) {
            return Some(Arc::clone(hit));
        }
        let record = store.cached_structure(user, name, uid).ok().flatten()?;
        let structure = Arc::new(Structure::decode(&record)?);
        self.remember(key.clone(), Arc::clone(&structure));
        Some(structure)
    }

    fn remember(&self, key: Key, structure: Arc<Structure>) {
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, structure);
    }

    /// The structure in memory, if any.
    pub fn get(&self, key: &Key) -> Option<Arc<Structure>> {
        self.lock().get(key).cloned()
    }

    /// How many messages this cache parsed itself.
    pub fn parses(&self) -> u64 {
        self.parses.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Structure>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use maildir_store::{
        AppendRequest,
        maildir::{Maildir, Options},
    };

    use super::*;

    const MSG: &[u8] = b"Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\n";

    #[test]
    fn a_second_process_does_not_reparse() {
        let dir = tempfile::tempdir().expect("temporary directory");
        Maildir::init_replica(dir.path()).expect("init replica");
        let (bob, inbox) = (UserId::new("bob").expect("valid"), MailboxName::inbox());
        let first = Maildir::open(dir.path(), Options::default()).expect("open");
        let uid = first
            .append(
                &bob,
                &inbox,
                &mut &MSG[..],
                &AppendRequest::new(SystemTime::now()),
            )
            .expect("append");
        // Process one: parses once, then answers from memory.
        let one = ParseCache::default();
        let (a, data) = one.load(&first, &bob, &inbox, 1, uid).expect("load");
        assert_eq!(data.as_deref(), Some(MSG), "parsed from the bytes it read");
        let (again, data) = one.load(&first, &bob, &inbox, 1, uid).expect("load");
        assert!(Arc::ptr_eq(&a, &again) && data.is_none());
        assert_eq!(one.parses(), 1);
        // Process two: its own store handle and memory, same storage: no parse, no read.
        let second = Maildir::open(dir.path(), Options::default()).expect("open");
        let two = ParseCache::default();
        let (b, data) = two.load(&second, &bob, &inbox, 1, uid).expect("load");
        assert_eq!(two.parses(), 0);
        assert!(data.is_none());
        assert_eq!(*a, *b);
    }
}
