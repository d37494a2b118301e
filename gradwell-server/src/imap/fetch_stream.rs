//! FETCH BODY[] and BODY[]<partial> of large messages, streamed: the octets are read from
//! the store in bounded chunks and each chunk is written (and the write awaited) before the
//! next is read, so a client that reads slowly holds the server to one chunk per connection
//! instead of one whole message.

use std::{
    io::Read,
    num::NonZeroU32,
    sync::atomic::{AtomicUsize, Ordering},
};

use imap_proto::types::{
    fetch::{FetchAttribute, Partial, Section},
    response::FetchData,
};
use maildir_store::{MailboxName, Uid, UserId};

use super::Session;
use crate::net::conn::Conn;

/// Messages at least this large are streamed when a FETCH asks only for their whole body.
pub(super) const STREAM_THRESHOLD: u64 = 128 * 1024;

/// Octets read from the store and written per step.
const CHUNK: usize = 64 * 1024;

/// The largest output the IMAP service handed to one connection in one write since the
/// process started.
static LARGEST_WRITE: AtomicUsize = AtomicUsize::new(0);

/// The largest output the IMAP service has buffered for one connection in one write: a
/// measure of the per-connection output buffer, which streaming keeps near [`CHUNK`] however
/// large the messages a FETCH sends (used by tests and for capacity planning).
pub fn largest_write() -> usize {
    LARGEST_WRITE.load(Ordering::Relaxed)
}

/// Notes a write of `len` octets for [`largest_write`].
pub(super) fn record_write(len: usize) {
    LARGEST_WRITE.fetch_max(len, Ordering::Relaxed);
}

/// The whole-message body a FETCH asks for when it is the only attribute that needs the
/// message's content, so the other items can be sent before the body without reading it.
pub(super) fn whole_body(attrs: &[FetchAttribute]) -> Option<(&Section, Option<&Partial>)> {
    let mut content = attrs.iter().filter(|a| super::fetch::needs_content(a));
    let only = content.next()?;
    if content.next().is_some() {
        return None;
    }
    match only {
        FetchAttribute::BodySection {
            section, partial, ..
        } if section.part().is_empty() && section.text().is_none() => {
            Some((section, partial.as_ref()))
        }
        _ => None,
    }
}

/// Fills `buf` from `reader` as far as it goes; returns how many octets were read.
fn read_up_to(reader: &mut dyn Read, buf: &mut [u8]) -> usize {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::warn!(error = %e, "reading a message for FETCH failed");
                break;
            }
        }
    }
    filled
}

/// What a streamed body sends: the message `uid` of `size` octets, at `seq`.
pub(super) struct StreamedBody<'a> {
    pub(super) user: &'a UserId,
    pub(super) name: &'a MailboxName,
    pub(super) uid: Uid,
    pub(super) seq: NonZeroU32,
    pub(super) size: u64,
}

impl Session {
    /// Sends `* seq FETCH (items… BODY[]<origin> {n}`, the octets in chunks, then `)`.
    /// Returns false when the connection failed.
    pub(super) async fn stream_body(
        &mut self,
        conn: &mut Conn,
        body: StreamedBody<'_>,
        items: &[FetchData],
        (section, partial): (&Section, Option<&Partial>),
    ) -> bool {
        let store = self.app.store.clone();
        let opened = super::blocking(|| store.read_stream(body.user, body.name, body.uid));
        let Ok(mut reader) = opened else {
            return true;
        };
        // RFC 3501 §6.4.5: "If the starting octet is beyond the end of the text, an empty
        // string is returned."
        let (skip, length) = match partial {
            Some(p) => {
                let skip = p.offset.get().min(body.size);
                (skip, p.length.get().min(body.size - skip))
            }
            None => (0, body.size),
        };
        let skipped =
            super::blocking(|| std::io::copy(&mut (&mut reader).take(skip), &mut std::io::sink()));
        if skipped.ok() != Some(skip) {
            return true;
        }
        let origin = partial.map(|p| p.offset);
        if self
            .proto
            .send_fetch_start(body.seq, items, section, origin, length)
            .is_err()
        {
            return true;
        }
        let mut buf = vec![0u8; CHUNK];
        let mut remaining = length;
        while remaining > 0 {
            let want = usize::try_from(remaining).unwrap_or(CHUNK).min(CHUNK);
            let chunk = &mut buf[..want];
            let got = super::blocking(|| read_up_to(&mut reader, chunk));
            if got < want {
                // The file shrank under us (it cannot, messages are immutable, but a broken
                // disk can): pad, so the client's view of the literal stays in step.
                tracing::warn!(uid = body.uid.get(), "message shorter than its size");
                chunk[got..].fill(b' ');
            }
            // NUL cannot travel in a literal (RFC 3501 §4.3: CHAR8); sent as 0x80 like the
            // unstreamed path.
            for b in chunk.iter_mut().filter(|b| **b == 0) {
                *b = 0x80;
            }
            // `want` never exceeds what is left of the announced length.
            let _ = self.proto.send_fetch_chunk(chunk);
            remaining -= want as u64;
            if !self.flush(conn).await {
                return false;
            }
        }
        let _ = self.proto.send_fetch_end();
        self.flush(conn).await
    }
}
