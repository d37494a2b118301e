//! Writing a new message into `tmp/`: the first half of a Maildir delivery.
//!
//! The maildir spec: "create a file in tmp/ with a unique name … write the message …
//! fsync … then link or rename it into new/". We stream from the reader (never holding the
//! message whole), count the size and Dovecot's virtual size (bare LF counted as CRLF), set
//! the file's mtime to INTERNALDATE (Dovecot reads INTERNALDATE from it), and fsync once.

use std::{
    fs::{File, OpenOptions},
    io::{self, Read, Write},
    path::{Path, PathBuf},
    time::SystemTime,
};

use crate::{error::StoreError, maildir::Ctx};

/// A complete, fsynced message file in `tmp/`, removed on drop unless renamed away.
#[derive(Debug)]
pub(crate) struct TmpMessage {
    pub(crate) path: PathBuf,
    pub(crate) size: u64,
    pub(crate) vsize: u64,
    pub(crate) internal_date: SystemTime,
    pub(crate) kept: bool,
}

impl Drop for TmpMessage {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Streams `message` into a new file under `mailbox/tmp/`.
pub(crate) fn write_tmp(
    ctx: &Ctx,
    mailbox: &Path,
    message: &mut dyn Read,
    internal_date: SystemTime,
) -> Result<TmpMessage, StoreError> {
    let path = mailbox.join("tmp").join(ctx.unique_base(None, 0, 0));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(StoreError::io("creating file in tmp/"))?;
    let mut tmp = TmpMessage {
        path,
        size: 0,
        vsize: 0,
        internal_date,
        kept: false,
    };
    let (size, vsize) = copy_counting(message, &file)?;
    tmp.size = size;
    tmp.vsize = vsize;
    file.set_modified(internal_date)
        .map_err(StoreError::io("setting INTERNALDATE as mtime"))?;
    ctx.fsync_file(&file)?;
    Ok(tmp)
}

fn copy_counting(message: &mut dyn Read, mut file: &File) -> Result<(u64, u64), StoreError> {
    let mut buf = vec![0u8; 64 * 1024];
    let (mut size, mut vsize) = (0u64, 0u64);
    let mut prev_cr = false;
    loop {
        let n = match message.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(StoreError::io("reading message to append")(e)),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        file.write_all(chunk)
            .map_err(StoreError::io("writing message file"))?;
        for &b in chunk {
            if b == b'\n' && !prev_cr {
                vsize += 1;
            }
            prev_cr = b == b'\r';
        }
        size += n as u64;
        vsize += n as u64;
    }
    Ok((size, vsize))
}
