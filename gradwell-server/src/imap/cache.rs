//! Parsed message structure, cached per message so FETCH ENVELOPE/BODYSTRUCTURE do not
//! reparse: messages never change once stored, so (user, mailbox, UIDVALIDITY, UID) names
//! one forever. Bounded: past [`MAX_ENTRIES`] the cache starts over.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use super::mime::{self, Part};

/// Entries kept at most.
pub const MAX_ENTRIES: usize = 20_000;

/// What identifies a message for ever.
pub type Key = (String, String, u32, u32);

/// The cache, shared by every session of a process.
#[derive(Debug, Default)]
pub struct ParseCache {
    entries: Mutex<HashMap<Key, Arc<Part>>>,
}

impl ParseCache {
    /// The structure of the message whose bytes are `data`, parsed once.
    pub fn structure(&self, key: Key, data: &[u8]) -> Arc<Part> {
        if let Some(hit) = self.lock().get(&key) {
            return Arc::clone(hit);
        }
        let part = Arc::new(mime::parse(data));
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, Arc::clone(&part));
        part
    }

    /// The cached structure, if any.
    pub fn get(&self, key: &Key) -> Option<Arc<Part>> {
        self.lock().get(key).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Part>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The process-wide cache.
pub fn shared() -> &'static ParseCache {
    static CACHE: std::sync::OnceLock<ParseCache> = std::sync::OnceLock::new();
    CACHE.get_or_init(ParseCache::default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_once() {
        let cache = ParseCache::default();
        let key = ("u".to_owned(), "INBOX".to_owned(), 1, 1);
        let a = cache.structure(key.clone(), b"Subject: x\r\n\r\nbody");
        let b = cache.structure(key.clone(), b"ignored: the cached parse wins\r\n\r\n");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(cache.get(&key).is_some());
    }
}
