//! IDLE (RFC 2177): while idling the session waits on the shared watcher of its mailbox
//! ([`super::watchers`]) and reports new mail, flag changes and expunges when it wakes.

use imap_proto::types::core::Tag;

use super::{Reply, Session};

impl Session {
    pub(super) fn idle_start(&mut self, tag: Tag) {
        // Subscribed before the sync: a change after the sync always wakes the session.
        if let (Some(user), Some(sel)) = (&self.user, &self.selected) {
            let watchers = &self.app.idle_watchers;
            self.idle_watch = Some(super::blocking(|| watchers.subscribe(user, &sel.name)));
        }
        super::blocking(|| self.sync(true));
        match self.proto.idle_accept(super::text("idling")) {
            Ok(()) => {
                self.idling = Some(tag);
                self.idle_deadline = Some(std::time::Instant::now() + self.autologout);
            }
            Err(e) => {
                self.idle_watch = None;
                tracing::error!(error = %e, "IDLE state mismatch");
                self.finish(tag, Reply::bad("IDLE not possible now"));
            }
        }
    }

    pub(super) fn idle_done(&mut self, tag: Tag) {
        self.idling = None;
        self.idle_deadline = None;
        self.idle_watch = None;
        super::blocking(|| self.sync(true));
        self.finish(tag, Reply::ok("IDLE terminated"));
    }
}
