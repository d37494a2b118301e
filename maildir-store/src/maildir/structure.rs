//! `gradwell-structure`: the per-mailbox cache of message structure records.
//!
//! The server parses a message once (MIME part tree with byte offsets, envelope fields) and
//! keeps the result here through [`crate::MailStore::cache_structure`], so later FETCHes of
//! ENVELOPE, BODYSTRUCTURE or a `BODY[section]`, in any process sharing the tree, skip the
//! parse and read only the bytes they need. The record itself is opaque to the store.
//!
//! The file is append-only and rebuildable; nothing in it is needed for correctness:
//!
//! ```text
//! gradwell-structure 1\n                          header (version 1)
//! then records, each:
//!   b'R'  uid: u32  size: u64  base_len: u16  record_len: u32   (little endian)
//!   base (base_len bytes)  record (record_len bytes)  check: u32 (FNV-1a of all before it)
//! ```
//! `size` and `base` (the Maildir unique name, without the `:2,` info) are those of the
//! message when its record was written; a record is only returned while the message with
//! that UID still has both, so a record can never describe a different message. A record is
//! appended with one `write` on an `O_APPEND` descriptor and is not fsynced: a torn record
//! at the end is ignored until it completes, and a record that fails its check (a crash
//! mid-append followed by more appends, a damaged or foreign file) makes the whole file
//! dropped and rebuilt lazily. A file with more than twice as many records as the mailbox
//! has messages (plus [`SLACK`]) is rewritten with only the live ones. Each process keeps
//! only the offsets of the records it has seen, and reads appended records incrementally.

use std::{
    collections::{BTreeMap, HashMap},
    fs::{self, File, OpenOptions},
    io::{ErrorKind, Read, Seek, SeekFrom, Write},
    os::unix::fs::{FileExt, MetadataExt},
    path::Path,
};

use super::{Ctx, mailbox::Msg};
use crate::{error::StoreError, store::MAX_STRUCTURE_RECORD};

/// The cache file name.
pub(crate) const FILE: &str = "gradwell-structure";
/// The header line (format version 1).
const MAGIC: &[u8] = b"gradwell-structure 1\n";
/// Bytes of a record before the base name.
const FIXED: usize = 1 + 4 + 8 + 2 + 4;
/// Dead records tolerated beyond twice the live messages before a rewrite.
pub(crate) const SLACK: usize = 64;

/// What one process knows about one cache file.
#[derive(Debug, Default)]
pub(crate) struct Known {
    /// Inode of the file these offsets belong to.
    ino: u64,
    /// Bytes parsed so far.
    read_to: u64,
    /// Records in the file, the last one per UID kept: (offset, total length).
    at: HashMap<u32, (u64, usize)>,
    /// All records in the file, dead and duplicate ones included.
    records: usize,
    /// Last use, for eviction.
    pub(crate) used: u64,
}

fn check(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// One record, encoded.
fn encode(uid: u32, msg: &Msg, record: &[u8]) -> Option<Vec<u8>> {
    let base_len = u16::try_from(msg.base.len()).ok()?;
    let record_len = u32::try_from(record.len()).ok()?;
    let mut out = Vec::with_capacity(FIXED + msg.base.len() + record.len() + 4);
    out.push(b'R');
    out.extend_from_slice(&uid.to_le_bytes());
    out.extend_from_slice(&msg.size.to_le_bytes());
    out.extend_from_slice(&base_len.to_le_bytes());
    out.extend_from_slice(&record_len.to_le_bytes());
    out.extend_from_slice(msg.base.as_bytes());
    out.extend_from_slice(record);
    let sum = check(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    Some(out)
}

/// A decoded record: (uid, size, base, record).
type Decoded<'a> = (u32, u64, &'a [u8], &'a [u8]);

/// What the bytes at the start of `data` hold.
#[derive(Debug, PartialEq, Eq)]
enum Next<'a> {
    /// A whole record and its length.
    Record(Decoded<'a>, usize),
    /// The start of a record still being written (or torn).
    Incomplete,
    /// Not a record.
    Corrupt,
}

fn le<const N: usize>(data: &[u8], at: usize) -> Option<[u8; N]> {
    data.get(at..at + N)?.try_into().ok()
}

fn decode(data: &[u8]) -> Next<'_> {
    if data.len() < FIXED {
        return if data.first().is_none_or(|b| *b == b'R') {
            Next::Incomplete
        } else {
            Next::Corrupt
        };
    }
    let fixed = (
        data.first(),
        le::<4>(data, 1),
        le::<8>(data, 5),
        le::<2>(data, 13),
        le::<4>(data, 15),
    );
    let (Some(b'R'), Some(uid), Some(size), Some(base_len), Some(record_len)) = fixed else {
        return Next::Corrupt;
    };
    let base_len = usize::from(u16::from_le_bytes(base_len));
    let record_len = u32::from_le_bytes(record_len) as usize;
    if record_len > MAX_STRUCTURE_RECORD {
        return Next::Corrupt;
    }
    let body_end = FIXED + base_len + record_len;
    let Some(sum) = le::<4>(data, body_end) else {
        return Next::Incomplete;
    };
    let Some(body) = data.get(..body_end) else {
        return Next::Incomplete;
    };
    if check(body) != u32::from_le_bytes(sum) {
        return Next::Corrupt;
    }
    let base = data.get(FIXED..FIXED + base_len).unwrap_or_default();
    let record = data.get(FIXED + base_len..body_end).unwrap_or_default();
    Next::Record(
        (
            u32::from_le_bytes(uid),
            u64::from_le_bytes(size),
            base,
            record,
        ),
        body_end + 4,
    )
}

/// Drops a damaged or foreign cache file; the next record written starts a new one.
fn drop_file(path: &Path, known: &mut Known) {
    let _ = fs::remove_file(path);
    *known = Known {
        used: known.used,
        ..Known::default()
    };
}

/// Brings `known` up to date with the file at `path`.
fn refresh(path: &Path, known: &mut Known) -> Result<(), StoreError> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            drop_file(path, known);
            return Ok(());
        }
        Err(e) => return Err(StoreError::io("reading structure cache")(e)),
    };
    if meta.ino() != known.ino || meta.len() < known.read_to {
        *known = Known {
            ino: meta.ino(),
            used: known.used,
            ..Known::default()
        };
    }
    if meta.len() == known.read_to {
        return Ok(());
    }
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StoreError::io("opening structure cache")(e)),
    };
    file.seek(SeekFrom::Start(known.read_to))
        .map_err(StoreError::io("reading structure cache"))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)
        .map_err(StoreError::io("reading structure cache"))?;
    let mut pos = 0;
    if known.read_to == 0 {
        if tail.len() < MAGIC.len() && MAGIC.starts_with(&tail) {
            return Ok(());
        }
        if !tail.starts_with(MAGIC) {
            drop_file(path, known);
            return Ok(());
        }
        pos = MAGIC.len();
    }
    loop {
        match decode(tail.get(pos..).unwrap_or_default()) {
            Next::Record((uid, ..), len) => {
                known.at.insert(uid, (known.read_to + pos as u64, len));
                known.records += 1;
                pos += len;
            }
            Next::Incomplete => break,
            Next::Corrupt => {
                drop_file(path, known);
                return Ok(());
            }
        }
    }
    known.read_to += pos as u64;
    Ok(())
}

/// The record kept for message `uid` (now `msg`), if it still describes it.
pub(crate) fn get(
    ctx: &Ctx,
    dir: &Path,
    uid: u32,
    msg: &Msg,
) -> Result<Option<Vec<u8>>, StoreError> {
    let path = dir.join(FILE);
    let Some((offset, len)) = ctx.with_structures(dir, |known| {
        refresh(&path, known).map(|()| known.at.get(&uid).copied())
    })?
    else {
        return Ok(None);
    };
    let mut buf = vec![0u8; len];
    let read = File::open(&path).and_then(|f| f.read_exact_at(&mut buf, offset));
    match read {
        Ok(()) => {}
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::UnexpectedEof) => {
            return Ok(None);
        }
        Err(e) => return Err(StoreError::io("reading structure cache")(e)),
    }
    match decode(&buf) {
        Next::Record((u, size, base, record), _)
            if u == uid && size == msg.size && base == msg.base.as_bytes() =>
        {
            Ok(Some(record.to_vec()))
        }
        // Replaced by a newer file since the offsets were read, or a stale record.
        _ => Ok(None),
    }
}

/// Appends a record for message `uid` (now `msg`); `live` is how many messages the mailbox
/// holds, to decide when the file is rewritten.
pub(crate) fn put(
    ctx: &Ctx,
    dir: &Path,
    uid: u32,
    msg: &Msg,
    record: &[u8],
    live: &BTreeMap<u32, Msg>,
) -> Result<(), StoreError> {
    if record.len() > MAX_STRUCTURE_RECORD {
        return Ok(());
    }
    let Some(bytes) = encode(uid, msg, record) else {
        return Ok(());
    };
    let path = dir.join(FILE);
    let needs_rewrite = ctx.with_structures(dir, |known| {
        refresh(&path, known).map(|()| known.records + 1 > 2 * live.len() + SLACK)
    })?;
    if needs_rewrite {
        return rewrite(ctx, dir, live, Some((uid, bytes)));
    }
    create_if_missing(ctx, dir)?;
    let mut file = OpenOptions::new()
        .append(true)
        .open(&path)
        .map_err(StoreError::io("opening structure cache"))?;
    // One write, so concurrent appenders never interleave inside a record.
    file.write_all(&bytes)
        .map_err(StoreError::io("writing structure cache"))
}

/// Makes the file with just its header, atomically (a new name linked into place), so no
/// appender ever writes before the header.
fn create_if_missing(ctx: &Ctx, dir: &Path) -> Result<(), StoreError> {
    let path = dir.join(FILE);
    if path.exists() {
        return Ok(());
    }
    install(ctx, dir, MAGIC, false)
}

/// Writes `content` under a unique temporary name in `dir`, then links (`replace == false`:
/// only if no file exists yet) or renames it over the cache file.
fn install(ctx: &Ctx, dir: &Path, content: &[u8], replace: bool) -> Result<(), StoreError> {
    let tmp = dir.join(format!("{FILE}.{}", ctx.unique_base(None, 0, 0)));
    let result = fs::write(&tmp, content).and_then(|()| {
        if replace {
            fs::rename(&tmp, dir.join(FILE))
        } else {
            match fs::hard_link(&tmp, dir.join(FILE)) {
                Err(e) if e.kind() != ErrorKind::AlreadyExists => Err(e),
                _ => Ok(()),
            }
        }
    });
    let _ = fs::remove_file(&tmp);
    result.map_err(StoreError::io("writing structure cache"))
}

/// Replaces the file with the records of live messages only (plus `extra`, encoded).
fn rewrite(
    ctx: &Ctx,
    dir: &Path,
    live: &BTreeMap<u32, Msg>,
    extra: Option<(u32, Vec<u8>)>,
) -> Result<(), StoreError> {
    let path = dir.join(FILE);
    let mut content = MAGIC.to_vec();
    let old = match fs::read(&path) {
        Ok(old) => old,
        Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(StoreError::io("reading structure cache")(e)),
    };
    let mut kept: HashMap<u32, &[u8]> = HashMap::new();
    let mut pos = MAGIC.len();
    if old.starts_with(MAGIC) {
        while let Next::Record((uid, size, base, _), len) =
            decode(old.get(pos..).unwrap_or_default())
        {
            let whole = old.get(pos..pos + len).unwrap_or_default();
            if live
                .get(&uid)
                .is_some_and(|m| m.size == size && m.base.as_bytes() == base)
            {
                kept.insert(uid, whole);
            }
            pos += len;
        }
    }
    if let Some((uid, bytes)) = &extra {
        kept.insert(*uid, bytes);
    }
    let mut uids: Vec<u32> = kept.keys().copied().collect();
    uids.sort_unstable();
    for uid in uids {
        content.extend_from_slice(kept.get(&uid).copied().unwrap_or_default());
    }
    install(ctx, dir, &content, true)?;
    ctx.with_structures(dir, |known| {
        *known = Known {
            used: known.used,
            ..Known::default()
        };
        Ok(())
    })
}

/// For [`crate::fuzzing`]: decodes records one after another from `data`.
pub(crate) fn fuzz_records(data: &[u8]) {
    let mut pos = 0;
    while let Next::Record((uid, size, base, record), len) =
        decode(data.get(pos..).unwrap_or_default())
    {
        let whole = data
            .get(pos..pos + len)
            .expect("a record lies within its input");
        let base = String::from_utf8_lossy(base);
        if base.as_bytes() == whole.get(FIXED..FIXED + base.len()).unwrap_or_default() {
            let msg = Msg {
                name: String::new(),
                in_new: false,
                base: base.into_owned(),
                flags: crate::types::Flags::new(),
                keyword_letters: Vec::new(),
                other_letters: Vec::new(),
                size,
                internal_date: std::time::SystemTime::UNIX_EPOCH,
                header_len: 0,
                modseq: 0,
                pop3_uidl: None,
                pop3_order: None,
            };
            assert_eq!(encode(uid, &msg, record).as_deref(), Some(whole));
        }
        pos += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Flags;
    use std::time::SystemTime;

    fn msg(base: &str, size: u64) -> Msg {
        Msg {
            name: format!("{base}:2,"),
            in_new: false,
            base: base.to_owned(),
            flags: Flags::new(),
            keyword_letters: Vec::new(),
            other_letters: Vec::new(),
            size,
            internal_date: SystemTime::UNIX_EPOCH,
            header_len: 0,
            modseq: 1,
            pop3_uidl: None,
            pop3_order: None,
        }
    }

    #[test]
    fn record_round_trip_and_every_prefix_is_incomplete() {
        let m = msg("123.M1P2.host", 42);
        let bytes = encode(7, &m, b"opaque").unwrap(); // Unwrap: a short base and record.
        assert_eq!(
            decode(&bytes),
            Next::Record((7, 42, &b"123.M1P2.host"[..], &b"opaque"[..]), bytes.len())
        );
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), Next::Incomplete, "prefix {cut}");
        }
        let mut bad = bytes.clone();
        bad[FIXED + 2] ^= 1;
        assert_eq!(decode(&bad), Next::Corrupt);
        assert_eq!(decode(b"X"), Next::Corrupt);
    }
}
