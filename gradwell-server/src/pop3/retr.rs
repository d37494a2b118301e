//! RETR and TOP (RFC 1939 §5, §7): the message is read from the store in pieces on the
//! blocking pool and byte-stuffed by the state machine straight into the send buffer, which
//! is written between pieces, so a session never holds more than a piece or two of it.

use std::io::Read;

use maildir_store::MailboxName;
use pop3_proto::{MsgNo, Status, StatusKind};

use super::{Session, status};
use crate::net::conn::Conn;

/// Octets read and encoded between two socket writes.
const PIECE: usize = 64 * 1024;

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
    let joined = tokio::task::spawn_blocking(move || {
        let piece = fill(&mut reader, PIECE);
        (reader, piece)
    })
    .await;
    match joined {
        Ok(result) => result,
        Err(e) => (Box::new(std::io::empty()), Err(std::io::Error::other(e))),
    }
}

impl Session {
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
        let store = std::sync::Arc::clone(&self.app.store);
        // A small message fits its first piece exactly (one octet spare to see the end).
        let first_cap = usize::try_from(size).map_or(PIECE, |s| s.saturating_add(1).min(PIECE));
        // Opening and the first piece share one trip to the blocking pool: most messages fit.
        let opened = tokio::task::spawn_blocking(move || {
            let mut reader = store.read_stream(&user, &MailboxName::inbox(), uid)?;
            let first =
                fill(&mut reader, first_cap).map_err(|source| maildir_store::StoreError::Io {
                    context: "reading message file",
                    source,
                })?;
            Ok::<_, maildir_store::StoreError>((reader, first))
        })
        .await;
        let (mut reader, first) = match opened {
            Ok(Ok(r)) => r,
            other => {
                tracing::warn!(uid = uid.get(), error = ?other.map(|r| r.err()), "message unreadable");
                return self.respond(status(false, "message no longer available"));
            }
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
