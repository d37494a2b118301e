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
    /// Bytes of the file up to and including the blank line after the header.
    pub(crate) header_len: u64,
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
        header_len: 0,
        internal_date,
        kept: false,
    };
    let counts = copy_counting(message, &file)?;
    tmp.size = counts.size;
    tmp.vsize = counts.vsize;
    tmp.header_len = counts.header_len.unwrap_or(counts.size);
    file.set_modified(internal_date)
        .map_err(StoreError::io("setting INTERNALDATE as mtime"))?;
    ctx.fsync_file(&file)?;
    Ok(tmp)
}

/// What streaming a message told us about it.
struct Counts {
    size: u64,
    vsize: u64,
    header_len: Option<u64>,
}

fn copy_counting(message: &mut dyn Read, mut file: &File) -> Result<Counts, StoreError> {
    let mut buf = vec![0u8; 64 * 1024];
    let (mut size, mut vsize) = (0u64, 0u64);
    let mut prev_cr = false;
    let mut header_len = None;
    // Bytes on the current line other than a CR: zero at a newline means a blank line.
    let mut line_len = 0u64;
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
        for (i, &b) in chunk.iter().enumerate() {
            if b == b'\n' {
                if !prev_cr {
                    vsize += 1;
                }
                if line_len == 0 && header_len.is_none() {
                    header_len = Some(size + i as u64 + 1);
                }
                line_len = 0;
            } else if b != b'\r' {
                line_len += 1;
            }
            prev_cr = b == b'\r';
        }
        size += n as u64;
        vsize += n as u64;
    }
    Ok(Counts {
        size,
        vsize,
        header_len,
    })
}
