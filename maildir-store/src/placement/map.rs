//! The placement map: which mirror set holds each user, kept in one small text file.
//!
//! ```text
//! gradwell-placement v1
//! default 0
//! user alice 1
//! user bob 0
//! moving bob 1
//! ```
//! `default` is the set a user not yet in the map is placed on at first use (and recorded,
//! so changing the default later never moves anyone). `user NAME SET` places a user; `moving
//! NAME SET` says a move of that user to SET has started and not finished (a copy may be
//! partial there; a rerun of the move starts that copy afresh). Sets are numbered from 0 in
//! the order given to [`super::Placement::open`]. The file is replaced whole (written to a
//! temporary file, fsynced, renamed over the old one, directory fsynced), so a crash leaves
//! the old map or the new one.

use std::{
    collections::BTreeMap,
    fs::{self, File},
    io::{ErrorKind, Write},
    path::Path,
};

use crate::{error::StoreError, types::UserId};

const MAGIC: &str = "gradwell-placement v1";

/// What identifies one version of the map file: (inode, length, mtime s, mtime ns).
pub(crate) type MapStamp = (u64, u64, i64, i64);

/// The stamp of the map file now (`None` while it does not exist). Each save renames a new
/// file into place, so the inode alone changes with every version.
pub(crate) fn map_stamp(path: &Path) -> Option<MapStamp> {
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata(path).ok()?;
    Some((m.ino(), m.len(), m.mtime(), m.mtime_nsec()))
}

/// The parsed map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlacementMap {
    pub(crate) default: usize,
    pub(crate) users: BTreeMap<UserId, usize>,
    pub(crate) moving: BTreeMap<UserId, usize>,
}

impl PlacementMap {
    /// A map with no users.
    pub(crate) fn new(default: usize) -> Self {
        Self {
            default,
            users: BTreeMap::new(),
            moving: BTreeMap::new(),
        }
    }

    /// Parses a map; `None` when the text is not one (a user named twice, an unknown line).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let mut lines = text.lines();
        if lines.next()? != MAGIC {
            return None;
        }
        let default = lines.next()?.strip_prefix("default ")?;
        let default = default
            .parse::<usize>()
            .ok()
            .filter(|n| n.to_string() == default)?;
        let mut map = Self::new(default);
        for line in lines {
            let mut words = line.split(' ');
            let (kind, user, set) = (words.next()?, words.next()?, words.next()?);
            if words.next().is_some() {
                return None;
            }
            let user = UserId::new(user).ok().filter(|u| u.as_str() == user)?;
            // Only the canonical spelling: no sign, no leading zeros.
            let set = set.parse::<usize>().ok().filter(|n| n.to_string() == set)?;
            let table = match kind {
                "user" => &mut map.users,
                "moving" => &mut map.moving,
                _ => return None,
            };
            if table.insert(user, set).is_some() {
                return None;
            }
        }
        Some(map)
    }

    /// The text form ([`PlacementMap::parse`] reads it back to the same map).
    pub(crate) fn to_text(&self) -> String {
        let mut out = format!("{MAGIC}\ndefault {}\n", self.default);
        for (kind, table) in [("user", &self.users), ("moving", &self.moving)] {
            for (user, set) in table {
                out.push_str(&format!("{kind} {user} {set}\n"));
            }
        }
        out
    }

    /// Reads the map at `path`; a missing file is a new map with `default`.
    pub(crate) fn load(path: &Path, default: usize) -> Result<Self, StoreError> {
        match fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).ok_or_else(|| StoreError::Corrupt {
                file: "placement map",
                detail: format!("{} is not a placement map", path.display()),
            }),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(Self::new(default)),
            Err(e) => Err(StoreError::io("reading placement map")(e)),
        }
    }

    /// Replaces the file at `path` with this map, durably.
    pub(crate) fn save(&self, path: &Path) -> Result<(), StoreError> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        let io = StoreError::io;
        let mut f = File::create(&tmp).map_err(io("writing placement map"))?;
        f.write_all(self.to_text().as_bytes())
            .map_err(io("writing placement map"))?;
        f.sync_all().map_err(io("fsync of placement map"))?;
        fs::rename(&tmp, path).map_err(io("renaming placement map into place"))?;
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        File::open(dir.unwrap_or(Path::new(".")))
            .and_then(|d| d.sync_all())
            .map_err(io("fsync of placement map directory"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_answers() {
        let text = "gradwell-placement v1\ndefault 2\nuser alice 1\nuser bob 0\nmoving bob 1\n";
        let map = PlacementMap::parse(text).expect("parses");
        assert_eq!(map.default, 2);
        assert_eq!(map.users.len(), 2);
        assert_eq!(map.moving.len(), 1);
        assert_eq!(map.to_text(), text);
        for bad in [
            "",
            "gradwell-placement v2\ndefault 0\n",
            "gradwell-placement v1\n",
            "gradwell-placement v1\ndefault x\n",
            "gradwell-placement v1\ndefault 0\nuser alice 1\nuser alice 2\n",
            "gradwell-placement v1\ndefault 0\nuser alice\n",
            "gradwell-placement v1\ndefault 0\nuser alice 1 2\n",
            "gradwell-placement v1\ndefault 0\nowner alice 1\n",
            "gradwell-placement v1\ndefault 0\nuser alice +1\n",
            "gradwell-placement v1\ndefault 0\nuser alice 01\n",
            "gradwell-placement v1\ndefault 0\nuser ALICE 1\n",
            "gradwell-placement v1\ndefault 0\nuser ../x 1\n",
        ] {
            assert_eq!(PlacementMap::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn save_and_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("placement");
        assert_eq!(
            PlacementMap::load(&path, 3).expect("load"),
            PlacementMap::new(3)
        );
        let mut map = PlacementMap::new(1);
        map.users.insert(UserId::new("carol").expect("user"), 0);
        map.save(&path).expect("save");
        assert_eq!(PlacementMap::load(&path, 3).expect("load"), map);
        fs::write(&path, "junk").expect("write");
        assert!(PlacementMap::load(&path, 3).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn round_trip(
            default in 0usize..8,
            users in proptest::collection::btree_map("[a-z][a-z0-9]{0,8}", 0usize..8, 0..6),
            moving in proptest::collection::btree_map("[a-z][a-z0-9]{0,8}", 0usize..8, 0..3),
        ) {
            let mut map = PlacementMap::new(default);
            for (table, source) in [(&mut map.users, users), (&mut map.moving, moving)] {
                for (u, s) in source {
                    table.insert(UserId::new(&u).expect("valid"), s);
                }
            }
            prop_assert_eq!(PlacementMap::parse(&map.to_text()), Some(map));
        }
    }
}
