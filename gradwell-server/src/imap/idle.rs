//! IDLE (RFC 2177): while idling the session looks at the mailbox every
//! `limits.imap_idle_poll_ms` and reports new mail, flag changes and expunges at once.

use imap_proto::types::core::Tag;

use super::{Reply, Session};

impl Session {
    pub(super) fn idle_start(&mut self, tag: Tag) {
        super::blocking(|| self.sync(true));
        match self.proto.idle_accept(super::text("idling")) {
            Ok(()) => {
                self.idling = Some(tag);
                self.idle_deadline = Some(std::time::Instant::now() + self.autologout);
            }
            Err(e) => {
                tracing::error!(error = %e, "IDLE state mismatch");
                self.finish(tag, Reply::bad("IDLE not possible now"));
            }
        }
    }

    pub(super) fn idle_done(&mut self, tag: Tag) {
        self.idling = None;
        self.idle_deadline = None;
        super::blocking(|| self.sync(true));
        self.finish(tag, Reply::ok("IDLE terminated"));
    }
}
