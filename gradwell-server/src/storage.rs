//! Opens the configured mirror sets: one replica root is a plain Maildir; two are
//! maildir-store's [`Mirror`], which acknowledges a write only once it is durable on every
//! healthy replica and fences a replica that fails or hangs (DESIGN.md M1, M2). Several sets
//! are served through maildir-store's [`Placement`], each user on one set as the placement
//! map (`storage.placement_file`) says.

use std::{path::Path, sync::Arc};

use anyhow::{Context, bail};
use maildir_store::{
    MailStore,
    maildir::{self, FsyncObserver, Maildir},
    mirror::{Mirror, MirrorStatus, Replica, Restore, Unavailable},
    placement::{self, Placement},
};

use crate::{
    config::Storage,
    metrics::{self, ReplicaLabels},
};

/// The opened store, and the mirror behind it when the set has two roots (for health).
#[derive(Clone)]
pub struct Opened {
    /// What sessions read and write.
    pub store: Arc<dyn MailStore>,
    /// The same store as a mirror, when there is one set and it is a mirror.
    pub mirror: Option<Arc<Mirror>>,
    /// The same store as a placement, when there are several sets.
    pub placement: Option<Arc<Placement>>,
    /// Each set's mirror (in config order), `None` for a one-root set.
    pub set_mirrors: Vec<Option<Arc<Mirror>>>,
    /// Each set as a restore target (in config order): what the importer writes exact
    /// UIDs and flags through.
    pub sets: Vec<Arc<dyn Restore>>,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("mirror", &self.mirror.as_ref().map(|m| m.status()))
            .finish_non_exhaustive()
    }
}

/// The Maildir options the configuration asks for, for replica `replica` of mirror set
/// `set`: every fsync it makes lands in that replica's fsync-latency histogram.
pub(crate) fn maildir_options(storage: &Storage, set: usize, replica: usize) -> maildir::Options {
    let mut options = maildir::Options::default();
    options.fsync = storage.fsync;
    let labels = ReplicaLabels {
        set: u32::try_from(set).unwrap_or(u32::MAX),
        replica: u32::try_from(replica).unwrap_or(u32::MAX),
    };
    let histogram = metrics::global()
        .replica_fsync_seconds
        .get_or_create(&labels)
        .clone();
    options.fsync_observer = Some(FsyncObserver::new(move |took| {
        histogram.observe(took.as_secs_f64());
    }));
    options
}

/// Opens every mirror set; several are served through a [`Placement`].
pub fn open(storage: &Storage) -> anyhow::Result<Opened> {
    let mut sets: Vec<Arc<dyn Restore>> = Vec::new();
    let mut set_mirrors = Vec::new();
    for (index, roots) in storage.mirror_sets.iter().enumerate() {
        let (set, mirror) = open_set(index, roots, storage)?;
        sets.push(set);
        set_mirrors.push(mirror);
    }
    let single = match (sets.as_slice(), set_mirrors.as_slice()) {
        ([set], [mirror]) => Some((set.clone(), mirror.clone())),
        _ => None,
    };
    if let Some((set, mirror)) = single {
        return Ok(Opened {
            store: set,
            mirror,
            placement: None,
            set_mirrors,
            sets,
        });
    }
    let map = storage.placement_path();
    let placement = Placement::open(sets.clone(), &map, placement::Options::default())
        .with_context(|| format!("key `storage.placement_file`: {}", map.display()))?;
    let placement = Arc::new(placement);
    Ok(Opened {
        store: placement.clone(),
        mirror: None,
        placement: Some(placement),
        set_mirrors,
        sets,
    })
}

/// One opened set, and its mirror when it has two roots.
type OpenedSet = (Arc<dyn Restore>, Option<Arc<Mirror>>);

/// Opens one set: a plain Maildir for one root, a [`Mirror`] for two.
fn open_set(
    set: usize,
    roots: &[std::path::PathBuf],
    storage: &Storage,
) -> anyhow::Result<OpenedSet> {
    match roots {
        [root] => {
            let store =
                Maildir::open(root, maildir_options(storage, set, 0)).with_context(|| {
                    format!("key `storage.mirror_sets`: replica root {}", root.display())
                })?;
            Ok((Arc::new(store), None))
        }
        [a, b] => {
            let mirror = Mirror::open(
                replica(a, maildir_options(storage, set, 0)),
                replica(b, maildir_options(storage, set, 1)),
                storage.mirror_options(),
            )
            .with_context(|| {
                format!(
                    "key `storage.mirror_sets`: mirror set {} + {}",
                    a.display(),
                    b.display()
                )
            })?;
            let mirror = Arc::new(mirror);
            log_status(&mirror.status());
            watch_health(Arc::downgrade(&mirror))?;
            Ok((mirror.clone(), Some(mirror)))
        }
        _ => bail!("key `storage.mirror_sets`: a mirror set has one or two replica roots"),
    }
}

/// A root that cannot be opened (unmounted array, missing marker) joins the set as
/// [`Unavailable`]: the mirror decides from the other side's record whether it may serve.
fn replica(root: &Path, options: maildir::Options) -> Arc<dyn Replica> {
    match Maildir::open(root, options) {
        Ok(m) => Arc::new(m),
        Err(e) => {
            tracing::warn!(root = %root.display(), error = %e, "replica root unavailable");
            Arc::new(Unavailable::new(format!("{}: {e}", root.display())))
        }
    }
}

/// How often the health watcher looks at the mirror set.
const HEALTH_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Logs every change of the set's health (a replica fenced, an epoch moved) as it happens,
/// not only when some session's call fails; stops when the mirror is dropped.
fn watch_health(mirror: std::sync::Weak<Mirror>) -> anyhow::Result<()> {
    let mut last = mirror.upgrade().map(|m| m.status());
    std::thread::Builder::new()
        .name("mirror-health".into())
        .spawn(move || {
            loop {
                std::thread::sleep(HEALTH_EVERY);
                let Some(now) = mirror.upgrade().map(|m| m.status()) else {
                    return;
                };
                if last.as_ref() != Some(&now) {
                    log_status(&now);
                    last = Some(now);
                }
            }
        })
        .context("starting the mirror health watcher")?;
    Ok(())
}

/// Says which replicas are fenced (the rejoin threads, or an operator, bring them back).
pub fn log_status(status: &MirrorStatus) {
    for (side, fenced) in [
        ("primary", &status.primary),
        ("secondary", &status.secondary),
    ] {
        match fenced {
            Some(f) => tracing::warn!(
                side,
                epoch = f.epoch,
                reason = %f.reason,
                "mirror replica fenced: serving from the other until it rejoins"
            ),
            None => tracing::info!(side, epoch = status.epoch, "mirror replica healthy"),
        }
    }
}
