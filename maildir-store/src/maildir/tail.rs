//! Reading append-only control files incrementally.
//!
//! `dovecot-uidlist` and `gradwell-index` only ever grow by whole lines, or get replaced by a
//! rename (a new inode). A process remembers how far it has read (`FileAt`); next time it reads
//! only what was appended. The last bytes it read are kept as a fingerprint and compared, so
//! a replaced file that happens to reuse the inode number is read from the start.

use std::{
    fs::File,
    io::{ErrorKind, Read, Seek, SeekFrom},
    os::unix::fs::MetadataExt,
    path::Path,
};

use crate::error::StoreError;

const FINGERPRINT: usize = 64;

/// How far a file has been read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileAt {
    pub(crate) ino: u64,
    pub(crate) used: u64,
    fingerprint: Vec<u8>,
}

impl FileAt {
    /// The position after `contents` (all used) of the file with inode `ino`.
    pub(crate) fn after(ino: u64, contents: &[u8]) -> Self {
        let start = contents.len().saturating_sub(FINGERPRINT);
        Self {
            ino,
            used: contents.len() as u64,
            fingerprint: contents.get(start..).unwrap_or_default().to_vec(),
        }
    }
}

/// What reading a file found.
#[derive(Debug)]
pub(crate) enum Read2 {
    /// No such file.
    Missing,
    /// Only bytes after the known position (the fingerprint matched).
    Tail { bytes: Vec<u8>, ino: u64, len: u64 },
    /// The whole file.
    Whole { bytes: Vec<u8>, ino: u64 },
}

/// Reads what is new in `path` since `known`, or all of it.
pub(crate) fn read(path: &Path, known: Option<&FileAt>) -> Result<Read2, StoreError> {
    let io = StoreError::io("reading control file");
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Read2::Missing),
        Err(e) => return Err(io(e)),
    };
    let meta = file
        .metadata()
        .map_err(StoreError::io("stat of control file"))?;
    let (ino, len) = (meta.ino(), meta.len());
    if let Some(k) = known.filter(|k| k.ino == ino && k.used <= len) {
        let fp_len = k.fingerprint.len() as u64;
        file.seek(SeekFrom::Start(k.used - fp_len))
            .map_err(StoreError::io("seeking in control file"))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(StoreError::io("reading control file"))?;
        if bytes.starts_with(&k.fingerprint) {
            bytes.drain(..k.fingerprint.len());
            return Ok(Read2::Tail { bytes, ino, len });
        }
        file.seek(SeekFrom::Start(0))
            .map_err(StoreError::io("seeking in control file"))?;
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(StoreError::io("reading control file"))?;
    Ok(Read2::Whole { bytes, ino })
}

/// The position after `known` once `new_bytes` (all complete lines) were read from inode `ino`.
pub(crate) fn advanced(known: &FileAt, ino: u64, new_bytes: &[u8]) -> FileAt {
    let mut fp = known.fingerprint.clone();
    fp.extend_from_slice(new_bytes);
    let start = fp.len().saturating_sub(FINGERPRINT);
    FileAt {
        ino,
        used: known.used + new_bytes.len() as u64,
        fingerprint: fp.get(start..).unwrap_or_default().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_appended_bytes_and_notices_replacement() {
        let dir = tempfile::tempdir().unwrap(); // Unwrap: test setup.
        let path = dir.path().join("f");
        std::fs::write(&path, b"header\nline1\n").unwrap();
        let Read2::Whole { bytes, ino } = read(&path, None).unwrap() else {
            panic!("first read is whole");
        };
        let at = FileAt::after(ino, &bytes);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(&mut f, b"line2\n").unwrap();
        match read(&path, Some(&at)).unwrap() {
            Read2::Tail { bytes, .. } => assert_eq!(bytes, b"line2\n"),
            other => panic!("expected tail, got {other:?}"),
        }
        // Same length or longer but different content at the known position: whole again.
        std::fs::write(&path, b"HEADER\nLINE1\nline2\nline3\n").unwrap();
        let again = read(&path, Some(&at)).unwrap();
        assert!(matches!(again, Read2::Whole { .. }), "{again:?}");
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(read(&path, Some(&at)).unwrap(), Read2::Missing));
    }
}
