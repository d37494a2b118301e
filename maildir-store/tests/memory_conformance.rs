//! The conformance suite against the in-memory store.

maildir_store::conformance_suite!(|| ((), maildir_store::MemStore::new()));
