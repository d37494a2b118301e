//! DELE and RSET (RFC 1939 §5): marks only; nothing is removed before QUIT.

use pop3_proto::MsgNo;

use super::{Session, status};

impl Session {
    pub(super) fn dele(&mut self, msg: MsgNo) {
        match self.entry(msg) {
            Ok(i) => {
                self.deleted[i] = true;
                self.respond(status(true, "message marked for deletion"));
            }
            Err(r) => self.respond(r),
        }
    }

    pub(super) fn rset(&mut self) {
        self.deleted.iter_mut().for_each(|d| *d = false);
        self.respond(status(true, "deletion marks removed"));
    }
}
