//! RETR and TOP (RFC 1939 §5, §7): the message is read from the store in pieces on the
//! blocking pool and byte-stuffed by the state machine straight into the send buffer, which
//! is written between pieces, so a session never holds more than a piece or two of it.
//!
//! POP3 clients fetch messages in order, and a trip to the blocking pool (two thread
//! wake-ups) costs more than reading a small message from the page cache. So the trip for a
//! RETR also reads the following small messages, up to [`AHEAD_BYTES`] in all, and the next
//! RETRs are answered from them without another trip. The read-ahead is bounded like a piece
//! and dropped as soon as the client asks for something else.

use std::io::Read;

use maildir_store::{MailboxName, Uid, UserId};
use pop3_proto::{MsgNo, Status, StatusKind};

use super::{Session, status};
use crate::net::conn::Conn;

/// Octets read and encoded between two socket writes.
const PIECE: usize = 64 * 1024;

/// Octets of following messages one RETR may read ahead.
const AHEAD_BYTES: u64 = 64 * 1024;

/// Following messages one RETR may read ahead.
const AHEAD_MESSAGES: usize = 32;

/// Messages read ahead: entry index and the octets RETR sends (before byte-stuffing).
pub(super) type Ahead = std::collections::VecDeque<(usize, Vec<u8>)>;

/// Cuts a message stream after the header and `lines` body lines (TOP).
#[derive(Debug)]
struct TopLimit {
    /// Lines of the body still to send; `None` while in the header.
    left: Option<u32>,
    lines: u32,
    /// The last octets seen, to find the blank line across pieces.
    tail: [u8; 3],
}

impl TopLimit {
    fn new(lines: u32) -> Self {
        Self {
            left: None,
            lines,
            tail: [0; 3],
        }
    }

    /// How much of `piece` to send; fewer than `piece.len()` octets means the end.
    fn take(&mut self, piece: &[u8]) -> usize {
        for (i, &b) in piece.iter().enumerate() {
            match &mut self.left {
                None => {
                    // RFC 5322 §2.1: the header ends at the first empty line (CRLF CRLF).
                    if b == b'\n' && self.tail == *b"\r\n\r" {
                        self.left = Some(self.lines);
                        if self.lines == 0 {
                            return i + 1;
                        }
                    }
                }
                // Finished in an earlier piece.
                Some(0) => return i,
                Some(left) => {
                    if b == b'\n' {
                        *left -= 1;
                        if *left == 0 {
                            return i + 1;
                        }
                    }
                }
            }
            self.tail = [self.tail[1], self.tail[2], b];
        }
        piece.len()
    }
}

type Reader = Box<dyn Read + Send>;

/// Fills a piece of up to `cap` octets from `reader` (blocking); shorter means the end.
fn fill(reader: &mut Reader, cap: usize) -> std::io::Result<Vec<u8>> {
    let mut piece = vec![0u8; cap];
    let mut filled = 0;
    while filled < cap {
        match reader.read(&mut piece[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    piece.truncate(filled);
    Ok(piece)
}

/// Reads the next piece on the blocking pool; gives the reader back with it.
async fn next_piece(mut reader: Reader) -> (Reader, std::io::Result<Vec<u8>>) {
    let joined = crate::logging::spawn_blocking(move || {
        let piece = fill(&mut reader, PIECE);
        (reader, piece)
    })
    .await;
    match joined {
        Ok(result) => result,
        Err(e) => (Box::new(std::io::empty()), Err(std::io::Error::other(e))),
    }
}

/// Reads a whole small message: its octets if there are exactly `size` of them.
fn read_whole(
    store: &dyn maildir_store::MailStore,
    user: &UserId,
    uid: Uid,
    size: u64,
) -> Option<Vec<u8>> {
    let mut reader = store.read_stream(user, &MailboxName::inbox(), uid).ok()?;
    let cap = usize::try_from(size).ok()?.checked_add(1)?;
    let bytes = fill(&mut reader, cap).ok()?;
    // A different length means the message changed under us: let its own RETR read it.
    (bytes.len() as u64 == size).then_some(bytes)
}

impl Session {
    /// The small, undeleted messages after entry `i` worth reading in the same trip.
    fn ahead_candidates(&self, i: usize) -> Vec<(usize, Uid, u64)> {
        let mut budget = AHEAD_BYTES;
        self.entries
            .iter()
            .zip(&self.deleted)
            .enumerate()
            .skip(i + 1)
            .filter(|(_, (_, deleted))| !**deleted)
            .take(AHEAD_MESSAGES)
            .map_while(|(j, (e, _))| {
                budget = budget.checked_sub(e.size)?;
                Some((j, e.uid, e.size))
            })
            .collect()
    }

    /// The read-ahead copy of entry `i`, if there is one; anything else read ahead is
    /// dropped once the client asks for something out of order.
    fn take_ahead(&mut self, i: usize) -> Option<Vec<u8>> {
        while let Some((j, bytes)) = self.ahead.pop_front() {
            if j == i {
                return Some(bytes);
            }
            if j > i {
                self.ahead.clear();
            }
        }
        None
    }

    pub(super) async fn retr(&mut self, msg: MsgNo, top: Option<u32>, conn: &mut Conn) {
        let i = match self.entry(msg) {
            Ok(i) => i,
            Err(r) => return self.respond(r),
        };
        let Some(user) = self.user.clone() else {
            return self.respond(status(false, "not logged in"));
        };
        let entry = &self.entries[i];
        let (uid, size) = (entry.uid, entry.size);
        // A small message fits its first piece exactly (one octet spare to see the end).
        let first_cap = usize::try_from(size).map_or(PIECE, |s| s.saturating_add(1).min(PIECE));
        let (mut reader, first) = match self.take_ahead(i) {
            Some(bytes) => (Box::new(std::io::empty()) as Reader, bytes),
            None => match self
                .open_and_read_ahead(user, i, top.is_none(), first_cap)
                .await
            {
                Some(opened) => opened,
                None => return self.respond(status(false, "message no longer available")),
            },
        };
        let text = format!("{size} octets");
        if let Err(e) = self
            .proto
            .start_body(Status::new_lossy(StatusKind::Ok, &text))
        {
            tracing::error!(error = %e, "RETR out of order");
            return;
        }
        let mut limit = top.map(TopLimit::new);
        let mut out = Vec::with_capacity(first_cap + first_cap / 8 + 64);
        let mut next = Some(Ok(first));
        let mut cap = first_cap;
        loop {
            let piece = match next.take() {
                Some(piece) => piece,
                None => {
                    cap = PIECE;
                    let (back, piece) = next_piece(reader).await;
                    reader = back;
                    piece
                }
            };
            let piece = match piece {
                Ok(p) if !p.is_empty() => p,
                Ok(_) => break,
                Err(e) => {
                    // The +OK is out: the body ends early rather than the session hanging.
                    tracing::error!(uid = uid.get(), error = %e, "read failed during RETR");
                    break;
                }
            };
            let send = limit.as_mut().map_or(piece.len(), |l| l.take(&piece));
            if self.proto.send_body(&piece[..send], &mut out).is_err() {
                break;
            }
            // A short piece means the end of the file (`fill` reads until full or EOF).
            if send < piece.len() || piece.len() < cap {
                break;
            }
            if conn.write_all(&out).await.is_err() {
                // The driver notices the dead connection on its next read.
                break;
            }
            out.clear();
        }
        if let Err(e) = self.proto.finish_body() {
            tracing::error!(error = %e, "RETR finish out of order");
        }
        // The last piece and the terminating line leave in one write (one segment for a
        // small message, +OK line included).
        self.proto.poll_transmit(&mut out);
        let _ = conn.write_all(&out).await;
    }
}

impl Session {
    /// One trip to the blocking pool: opens entry `i` and reads its first piece and, for a
    /// RETR whose message fit that piece, reads the following small messages ahead.
    async fn open_and_read_ahead(
        &mut self,
        user: UserId,
        i: usize,
        retr: bool,
        first_cap: usize,
    ) -> Option<(Reader, Vec<u8>)> {
        let uid = self.entries[i].uid;
        let candidates = if retr {
            self.ahead_candidates(i)
        } else {
            Vec::new()
        };
        let store = std::sync::Arc::clone(&self.app.store);
        let opened = crate::logging::spawn_blocking(move || {
            let mut reader = store.read_stream(&user, &MailboxName::inbox(), uid)?;
            let first =
                fill(&mut reader, first_cap).map_err(|source| maildir_store::StoreError::Io {
                    context: "reading message file",
                    source,
                })?;
            let mut ahead = Ahead::new();
            if first.len() < first_cap {
                for (j, uid, size) in candidates {
                    match read_whole(&*store, &user, uid, size) {
                        Some(bytes) => ahead.push_back((j, bytes)),
                        None => break,
                    }
                }
            }
            Ok::<_, maildir_store::StoreError>((reader, first, ahead))
        })
        .await;
        match opened {
            Ok(Ok((reader, first, ahead))) => {
                self.ahead = ahead;
                Some((reader, first))
            }
            other => {
                tracing::warn!(uid = uid.get(), error = ?other.map(|r| r.err()), "message unreadable");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TopLimit;

    fn top(message: &[u8], lines: u32, step: usize) -> Vec<u8> {
        let mut limit = TopLimit::new(lines);
        let mut out = Vec::new();
        for piece in message.chunks(step) {
            let n = limit.take(piece);
            out.extend_from_slice(&piece[..n]);
            if n < piece.len() {
                break;
            }
        }
        out
    }

    #[test]
    fn top_matches_pop3_proto_across_piece_boundaries() {
        let m = b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n";
        for lines in 0..5 {
            for step in 1..m.len() + 1 {
                assert_eq!(
                    top(m, lines, step),
                    pop3_proto::top_of_message(m, lines),
                    "{lines} lines in steps of {step}"
                );
            }
        }
        assert_eq!(top(b"A: 1\r\n", 3, 2), b"A: 1\r\n", "no body");
    }
}
