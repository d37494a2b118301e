//! USER/PASS (RFC 1939 §7), AUTH PLAIN and LOGIN (RFC 5034, RFC 4616) and STLS (RFC 2595):
//! the AUTHORIZATION state. A successful login locks the maildrop for this session.

use maildir_store::UserId;
use pop3_proto::{RespCode, Response};

use super::{
    Sasl, Session,
    lock::{self, LockError},
    status, status_code,
};
use crate::{accounts::sasl::parse_plain, net::conn::Next};

impl Session {
    fn refuse_cleartext(&mut self) {
        self.respond(status_code(
            false,
            RespCode::Auth,
            "Plaintext authentication disallowed on non-secure connections",
        ));
    }

    pub(super) fn user_command(&mut self, name: &str) {
        if !self.auth_allowed() {
            return self.refuse_cleartext();
        }
        // Unknown names are answered +OK too, so USER does not reveal which accounts exist;
        // PASS then fails the same way for both.
        self.login_name = Some(name.to_owned());
        self.respond(status(true, ""));
    }

    pub(super) async fn auth(&mut self, mechanism: &str, initial: Option<Vec<u8>>) {
        if !self.auth_allowed() {
            return self.refuse_cleartext();
        }
        match (mechanism, initial) {
            ("PLAIN", Some(data)) => self.finish_plain(&data).await,
            ("PLAIN", None) => {
                self.sasl = Some(Sasl::Plain);
                self.respond(Response::Challenge(Vec::new().into()));
            }
            ("LOGIN", None) => {
                self.sasl = Some(Sasl::LoginUser);
                self.respond(Response::Challenge(b"Username:".to_vec().into()));
            }
            ("LOGIN", Some(user)) => {
                self.sasl = Some(Sasl::LoginPassword(
                    String::from_utf8_lossy(&user).into_owned(),
                ));
                self.respond(Response::Challenge(b"Password:".to_vec().into()));
            }
            _ => self.respond(status(false, "unsupported authentication mechanism")),
        }
    }

    pub(super) async fn sasl_step(&mut self, data: &[u8]) {
        match self.sasl.take() {
            Some(Sasl::Plain) => self.finish_plain(data).await,
            Some(Sasl::LoginUser) => {
                self.sasl = Some(Sasl::LoginPassword(
                    String::from_utf8_lossy(data).into_owned(),
                ));
                self.respond(Response::Challenge(b"Password:".to_vec().into()));
            }
            Some(Sasl::LoginPassword(user)) => self.login(user, data.to_vec()).await,
            None => self.respond(status(false, "no authentication in progress")),
        }
    }

    async fn finish_plain(&mut self, data: &[u8]) {
        match parse_plain(data) {
            Some((user, password)) => self.login(user, password).await,
            None => self.respond(status_code(
                false,
                RespCode::Auth,
                "malformed PLAIN response",
            )),
        }
    }

    /// Checks the password, takes the maildrop lock and loads the listing.
    pub(super) async fn login(&mut self, name: String, password: Vec<u8>) {
        let Some(user) = self.app.login(self.peer, name.clone(), password).await else {
            return self.respond(status_code(false, RespCode::Auth, "authentication failed"));
        };
        let Some(slot) = self.app.per_user.take(user.clone()) else {
            crate::metrics::global().limit_refused("max_connections_per_user");
            tracing::info!(user = %user, "refused: too many sessions for this user");
            return self.respond(status_code(
                false,
                RespCode::SysTemp,
                "too many connections for this user",
            ));
        };
        self.user_slot = Some(slot);
        if !self.lock(&user) {
            tracing::info!(user = %user, "maildrop in use");
            return self.respond(status_code(
                false,
                RespCode::InUse,
                "maildrop already locked by another session",
            ));
        }
        let app = std::sync::Arc::clone(&self.app);
        let who = user.clone();
        let opened = crate::logging::spawn_blocking(move || {
            let roots = app.healthy_roots(&who);
            let roots: Vec<_> = roots.iter().map(|r| r.as_path()).collect();
            let held = lock::lock(&roots, &who, &app.config.hostname)?;
            let entries = app
                .store
                .pop3_view(&who)
                .map_err(|e| LockError::Unavailable(e.to_string()))?;
            Ok::<_, LockError>((held, entries))
        })
        .await;
        match opened {
            Ok(Ok((held, entries))) => {
                tracing::info!(user = %user, messages = entries.len(), "logged in");
                self.maildrop = Some(held);
                self.deleted = vec![false; entries.len()];
                self.entries = entries;
                self.respond(status(true, "maildrop locked and ready"));
            }
            Ok(Err(LockError::InUse)) => {
                tracing::info!(user = %user, "maildrop in use by another process");
                self.unlock();
                self.respond(status_code(
                    false,
                    RespCode::InUse,
                    "maildrop already locked by another session",
                ));
            }
            other => {
                tracing::error!(user = %user, error = ?other.map(|r| r.err()), "maildrop unavailable");
                self.unlock();
                self.respond(status_code(
                    false,
                    RespCode::SysTemp,
                    "maildrop unavailable, try later",
                ));
            }
        }
    }

    /// RFC 2449 §8.1.1 `[IN-USE]`: one session per maildrop.
    fn lock(&mut self, user: &UserId) -> bool {
        let mut locked = self
            .app
            .pop3_locked
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if !locked.insert(user.clone()) {
            return false;
        }
        self.user = Some(user.clone());
        true
    }

    pub(super) fn stls(&mut self) -> Option<Next> {
        if !self.can_stls {
            self.respond(status(false, "TLS not available"));
            return None;
        }
        self.respond(status(true, "Begin TLS negotiation now"));
        Some(Next::StartTls)
    }
}
