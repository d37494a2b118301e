//! RETR and TOP (RFC 1939 §5, §7): the message goes out in pieces, byte-stuffed by the
//! state machine straight into the send buffer, which is written between pieces.

use maildir_store::{MailboxName, ReadPart};
use pop3_proto::{MsgNo, Status, StatusKind, top_of_message};

use super::{Session, status};
use crate::net::conn::Conn;

/// Octets encoded between two socket writes.
const PIECE: usize = 64 * 1024;

impl Session {
    pub(super) async fn retr(&mut self, msg: MsgNo, top: Option<u32>, conn: &mut Conn) {
        let i = match self.entry(msg) {
            Ok(i) => i,
            Err(r) => return self.respond(r),
        };
        let Some(user) = self.user.clone() else {
            return self.respond(status(false, "not logged in"));
        };
        let uid = self.entries[i].uid;
        let store = std::sync::Arc::clone(&self.app.store);
        let read = tokio::task::spawn_blocking(move || {
            store.read(&user, &MailboxName::inbox(), uid, ReadPart::Whole)
        })
        .await;
        let message = match read {
            Ok(Ok(m)) => m,
            other => {
                tracing::warn!(uid = uid.get(), error = ?other.map(|r| r.err()), "message unreadable");
                return self.respond(status(false, "message no longer available"));
            }
        };
        let body = match top {
            Some(lines) => top_of_message(&message, lines),
            None => &message[..],
        };
        let text = format!("{} octets", message.len());
        if let Err(e) = self
            .proto
            .start_body(Status::new_lossy(StatusKind::Ok, &text))
        {
            tracing::error!(error = %e, "RETR out of order");
            return;
        }
        let mut out = Vec::with_capacity(PIECE + PIECE / 8);
        for piece in body.chunks(PIECE) {
            if self.proto.send_body(piece, &mut out).is_err() {
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
    }
}
