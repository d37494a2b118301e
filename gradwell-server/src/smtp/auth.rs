//! AUTH PLAIN and LOGIN (RFC 4954, RFC 4616) on the submission service. The state machine
//! has already refused AUTH before TLS (unless the listener allows cleartext), a second
//! AUTH, and AUTH inside a transaction.

use smtp_proto::Secret;

use super::{Session, reply};
use crate::accounts::sasl::parse_plain;

/// Where a SASL exchange stands.
#[derive(Debug)]
pub(super) enum Sasl {
    /// PLAIN, waiting for the response to the empty challenge.
    Plain,
    /// LOGIN, waiting for the user name.
    LoginUser,
    /// LOGIN, waiting for the password of this user.
    LoginPassword(String),
}

impl Session {
    fn challenge(&mut self, data: &[u8], next: Sasl) {
        self.sasl = Some(next);
        if let Err(e) = self.proto.auth_challenge(data) {
            tracing::error!(error = %e, "challenge does not fit the SMTP session");
        }
    }

    pub(super) async fn auth(&mut self, mechanism: &str, initial: Option<Secret<Vec<u8>>>) {
        let initial = initial.map(Secret::into_inner);
        match (mechanism.to_ascii_uppercase().as_str(), initial) {
            ("PLAIN", Some(data)) => self.finish_plain(&data).await,
            ("PLAIN", None) => self.challenge(b"", Sasl::Plain),
            ("LOGIN", None) => self.challenge(b"Username:", Sasl::LoginUser),
            ("LOGIN", Some(user)) => {
                let user = String::from_utf8_lossy(&user).into_owned();
                self.challenge(b"Password:", Sasl::LoginPassword(user))
            }
            _ => self.refuse(reply(504, (5, 5, 4), "Unrecognized authentication type")),
        }
    }

    pub(super) async fn auth_response(&mut self, data: Secret<Vec<u8>>) {
        let data = data.into_inner();
        match self.sasl.take() {
            Some(Sasl::Plain) => self.finish_plain(&data).await,
            Some(Sasl::LoginUser) => {
                let user = String::from_utf8_lossy(&data).into_owned();
                self.challenge(b"Password:", Sasl::LoginPassword(user));
            }
            Some(Sasl::LoginPassword(user)) => self.login(user, data).await,
            None => self.refuse(reply(503, (5, 5, 1), "No authentication in progress")),
        }
    }

    async fn finish_plain(&mut self, data: &[u8]) {
        match parse_plain(data) {
            Some((user, password)) => self.login(user, password).await,
            // A malformed response, or an authorization identity naming someone else.
            None => self.refuse(reply(535, (5, 7, 8), "Authentication credentials invalid")),
        }
    }

    async fn login(&mut self, name: String, password: Vec<u8>) {
        match self.app.login(self.peer, name, password).await {
            Some(user) => {
                tracing::info!(user = %user, "authenticated");
                self.user = Some(user);
                self.accept();
            }
            // RFC 4954 §6: "535 5.7.8 Authentication credentials invalid".
            None => self.refuse(reply(535, (5, 7, 8), "Authentication credentials invalid")),
        }
    }
}
