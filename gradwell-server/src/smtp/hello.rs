//! EHLO, HELO and LHLO: remember the client's name for the `Received:` field.

use super::Session;

impl Session {
    pub(super) fn hello(&mut self, name: &str, esmtp: bool) {
        tracing::debug!(helo = name, esmtp, "hello");
        self.helo = name.to_owned();
        self.esmtp = esmtp;
        self.reset();
        self.accept();
    }
}
