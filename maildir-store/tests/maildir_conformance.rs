//! The conformance suite against the Maildir store on a fresh replica root.

use maildir_store::maildir::{Maildir, Options};

fn fresh() -> (tempfile::TempDir, Maildir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    Maildir::init_replica(dir.path()).expect("init replica");
    let store = Maildir::open(dir.path(), Options::default()).expect("open replica");
    (dir, store)
}

maildir_store::conformance_suite!(fresh);
