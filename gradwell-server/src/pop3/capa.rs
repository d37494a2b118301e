//! CAPA (RFC 2449 §5): what this session offers now.

use pop3_proto::{Capability, Mechanism, Response};

use super::Session;

impl Session {
    pub(super) fn capa(&mut self) {
        let mut capabilities = vec![
            Capability::Top,
            Capability::Uidl,
            Capability::RespCodes,
            Capability::AuthRespCode,
            Capability::Pipelining,
        ];
        // Cleartext passwords are offered only where they are allowed (RFC 2595 §4's
        // LOGINDISABLED idea, as Dovecot does with `disable_plaintext_auth`).
        if self.user.is_none() && self.auth_allowed() {
            capabilities.push(Capability::User);
            let mechanisms = ["PLAIN", "LOGIN"]
                .into_iter()
                .filter_map(|m| Mechanism::try_from(m).ok())
                .collect();
            capabilities.push(Capability::Sasl(mechanisms));
        } else if self.user.is_some() {
            capabilities.push(Capability::User);
        }
        if self.can_stls && self.user.is_none() {
            capabilities.push(Capability::Stls);
        }
        self.respond(Response::Capabilities {
            text: Default::default(),
            capabilities,
        });
    }
}
