//! FETCH BODY[], BODY[TEXT] and their partials of large messages, streamed: the octets are
//! read from the store in bounded chunks and each chunk is written (and the write awaited) before the
//! next is read, so a client that reads slowly holds the server to one chunk per connection
//! instead of one whole message.

use std::{
    io::Read,
    num::NonZeroU32,
    sync::atomic::{AtomicUsize, Ordering},
};

use imap_proto::types::{
    fetch::{FetchAttribute, Partial, Section, SectionText},
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

/// Headers longer than this are not searched for their end; such a BODY[TEXT] is sent the
/// unstreamed way.
const MAX_HEADER_SCAN: usize = 256 * 1024;

/// The body section a FETCH asks for when it is the only attribute that needs the message's
/// content and is the whole message or its text, so the other items can be sent before the
/// body without reading it.
pub(super) fn whole_body(attrs: &[FetchAttribute]) -> Option<(&Section, Option<&Partial>)> {
    let mut content = attrs.iter().filter(|a| super::fetch::needs_content(a));
    let only = content.next()?;
    if content.next().is_some() {
        return None;
    }
    match only {
        FetchAttribute::BodySection {
            section, partial, ..
        } if section.part().is_empty()
            && matches!(section.text(), None | Some(SectionText::Text)) =>
        {
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

/// Where the message's text starts (RFC 3501 §6.4.5 BODY[TEXT]: after the header and its
/// blank line), read from the start of `reader`; `None` when the header is longer than
/// [`MAX_HEADER_SCAN`]. A message without a blank line is all header.
fn text_start(reader: &mut dyn Read) -> Option<u64> {
    let mut head = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let got = read_up_to(reader, &mut buf);
        head.extend_from_slice(&buf[..got]);
        let end = super::mime::header_end(&head);
        // `end` short of what was read means the blank line was found; at the end of the
        // message the whole message is header.
        if end < head.len() || got < buf.len() {
            return u64::try_from(end).ok();
        }
        if head.len() > MAX_HEADER_SCAN {
            return None;
        }
    }
}

/// What a streamed body sends: octets `start..size` of the message `uid`, at `seq`.
pub(super) struct StreamedBody<'a> {
    pub(super) user: &'a UserId,
    pub(super) name: &'a MailboxName,
    pub(super) uid: Uid,
    pub(super) seq: NonZeroU32,
    pub(super) size: u64,
    /// 0 for BODY[], the header's length for BODY[TEXT].
    pub(super) start: u64,
}

impl Session {
    /// Where the streamed octets of `section` start in message `uid`: 0 for the whole
    /// message, the header's length for TEXT; `None` when it cannot be streamed.
    pub(super) fn stream_start(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
        section: &Section,
    ) -> Option<u64> {
        if section.text().is_none() {
            return Some(0);
        }
        let store = self.app.store.clone();
        super::blocking(|| {
            let mut reader = store.read_stream(user, name, uid).ok()?;
            text_start(&mut reader)
        })
    }

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
        let text = body.size.saturating_sub(body.start);
        let (skip, length) = match partial {
            Some(p) => {
                let skip = p.offset.get().min(text);
                (skip, p.length.get().min(text - skip))
            }
            None => (0, text),
        };
        let skip = body.start + skip;
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
            // NUL cannot travel in a literal (RFC 3501 §9: `literal = "{" number "}" CRLF
            // *CHAR8`, and CHAR8 excludes NUL); sent as 0x80 like the unstreamed path.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_starts_after_the_blank_line() {
        let table: &[(&[u8], Option<u64>)] = &[
            (b"Subject: a\r\n\r\nbody", Some(14)),
            (b"Subject: a\r\n\r\n", Some(14)),
            (b"Subject: a\r\n", Some(12)),
            (b"\r\nbody", Some(2)),
            (b"", Some(0)),
        ];
        for (message, start) in table {
            assert_eq!(text_start(&mut &message[..]), *start, "{message:?}");
        }
        // A blank line exactly at a read boundary, and a header too long to look through.
        let mut long = b"X: ".to_vec();
        long.resize(16 * 1024 - 4, b'x');
        long.extend_from_slice(b"\r\n\r\nbody");
        assert_eq!(text_start(&mut &long[..]), Some(16 * 1024));
        let huge = vec![b'x'; MAX_HEADER_SCAN + 64 * 1024];
        assert_eq!(text_start(&mut &huge[..]), None);
    }
}
