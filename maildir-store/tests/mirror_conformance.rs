//! The conformance suite against mirrors: two in-memory replicas, and two Maildir replicas
//! on separate roots. After every check the two replicas must present identical state
//! (UIDVALIDITY, UIDs, MODSEQs, flags, bytes, UIDLs), and neither may have been fenced.

use std::sync::Arc;

use maildir_store::{
    MailStore, UserId,
    mirror::{self, Mirror},
};

/// Lives as long as one check; when it ends, compares the replicas.
struct InSync<G> {
    _guard: G,
    replicas: [Arc<dyn MailStore>; 2],
}

impl<G> Drop for InSync<G> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        // Every check works as bob. (Reading a user the check never touched would create its
        // INBOX on each replica directly, bypassing the mirror, with unrelated UIDVALIDITYs.)
        let user = UserId::new("bob").expect("valid user");
        let diff = mirror::differences(&*self.replicas[0], &*self.replicas[1], &user)
            .expect("both replicas readable");
        assert!(diff.is_empty(), "replicas diverged: {diff:#?}");
    }
}

fn pair<G, R: mirror::Replica + 'static>(guard: G, a: R, b: R) -> (InSync<G>, Mirror) {
    let (a, b) = (Arc::new(a), Arc::new(b));
    let m = Mirror::open(a.clone(), b.clone(), mirror::Options::default()).expect("open mirror");
    let status = m.status();
    assert!(status.primary.is_none() && status.secondary.is_none());
    (
        InSync {
            _guard: guard,
            replicas: [a, b],
        },
        m,
    )
}

mod memory_pair {
    use maildir_store::MemStore;

    fn fresh() -> (super::InSync<()>, maildir_store::mirror::Mirror) {
        super::pair((), MemStore::new(), MemStore::new())
    }

    maildir_store::conformance_suite!(fresh);
}

mod maildir_pair {
    use maildir_store::maildir::{Maildir, Options};
    use tempfile::TempDir;

    fn replica(dir: &TempDir) -> Maildir {
        Maildir::init_replica(dir.path()).expect("init replica");
        Maildir::open(dir.path(), Options::default()).expect("open replica")
    }

    type Dirs = (TempDir, TempDir);

    fn fresh() -> (super::InSync<Dirs>, maildir_store::mirror::Mirror) {
        let a = tempfile::tempdir().expect("temporary directory");
        let b = tempfile::tempdir().expect("temporary directory");
        let (ra, rb) = (replica(&a), replica(&b));
        super::pair((a, b), ra, rb)
    }

    maildir_store::conformance_suite!(fresh);
}
