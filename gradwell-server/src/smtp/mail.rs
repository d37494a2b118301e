//! MAIL FROM: open a transaction. The state machine has already checked SIZE (RFC 1870),
//! BODY and SMTPUTF8; any sender is accepted on the MX.

use smtp_proto::{ReversePath, command::MailParams};

use super::Session;

impl Session {
    pub(super) fn mail(&mut self, from: &ReversePath<'_>, params: &MailParams<'_>) {
        let sender = match from {
            ReversePath::Null => String::new(),
            ReversePath::Mailbox(m) => m.as_str().to_owned(),
        };
        tracing::info!(from = %sender, size = ?params.size, "MAIL");
        self.reset();
        self.sender = Some(sender);
        self.accept();
    }
}
