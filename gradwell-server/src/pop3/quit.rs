//! QUIT (RFC 1939 §6): in TRANSACTION state, the UPDATE state removes the marked messages and
//! makes that durable before `+OK`; a failure keeps them and says so.

use maildir_store::{ExpungeSelector, MailboxName};
use pop3_proto::RespCode;

use super::{Session, status, status_code};

impl Session {
    pub(super) async fn quit(&mut self) {
        let Some(user) = self.user.clone() else {
            return self.respond(status(true, "bye"));
        };
        let uids: Vec<_> = self
            .entries
            .iter()
            .zip(&self.deleted)
            .filter(|(_, d)| **d)
            .map(|(e, _)| e.uid)
            .collect();
        let count = uids.len();
        let outcome = if uids.is_empty() {
            Ok(())
        } else {
            let store = std::sync::Arc::clone(&self.app.store);
            let who = user.clone();
            crate::logging::spawn_blocking(move || {
                store
                    .expunge(&who, &MailboxName::inbox(), &ExpungeSelector::Uids(uids))
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
            .await
            .unwrap_or_else(|e| Err(e.to_string()))
        };
        self.unlock();
        match outcome {
            Ok(()) => {
                tracing::info!(user = %user, deleted = count, "update done");
                self.respond(status(true, "bye"));
            }
            Err(e) => {
                tracing::error!(user = %user, error = %e, "update failed; nothing deleted");
                self.respond(status_code(
                    false,
                    RespCode::SysTemp,
                    "some deleted messages not removed",
                ));
            }
        }
    }
}
