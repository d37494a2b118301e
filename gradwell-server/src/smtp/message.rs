//! DATA and BDAT: the content goes to the spool as it arrives; at the end of the message it
//! is delivered to every recipient, durably, before the positive reply (DESIGN.md M1).

use std::time::SystemTime;

use crate::delivery::{self, Failure};

use super::{Session, reply, trace::Trace};

impl Session {
    pub(super) fn data(&mut self) {
        self.spool = Default::default();
        self.accept();
    }

    /// The end of a DATA message or of a BDAT chunk (`last` ends the message).
    pub(super) async fn message_end(&mut self, last: bool) {
        if !last {
            self.accept();
            return;
        }
        self.messages += 1;
        let queue_id = format!("{}.{}", self.id, self.messages);
        let protocol = match (self.lmtp, self.esmtp, self.tls) {
            (true, _, false) => "LMTP",
            (true, _, true) => "LMTPS",
            (false, true, false) => "ESMTP",
            (false, true, true) => "ESMTPS",
            (false, false, _) => "SMTP",
        };
        let now = SystemTime::now();
        let mut spool = std::mem::take(&mut self.spool);
        if self.submission
            && let Some(refusal) = self.submission_check(&mut spool)
        {
            self.refuse(refusal);
            self.reset();
            return;
        }
        let (received, trace) = {
            let t = Trace {
                sender: self.sender.as_deref().unwrap_or(""),
                helo: &self.helo,
                peer: self.peer,
                hostname: &self.app.config.hostname,
                protocol,
                id: &queue_id,
                date: now,
            };
            (t.render_received(), t.render())
        };
        let queued = if self.remote.is_empty() {
            Ok(())
        } else {
            let (back, result) = self.enqueue_remote(spool, received, now).await;
            spool = back;
            result
        };
        let mut users: Vec<_> = self.recipients.iter().flatten().cloned().collect();
        users.sort();
        users.dedup();
        if queued.is_err() {
            // Nothing delivered locally either: the client's retry must not duplicate.
            users.clear();
        }
        let store = std::sync::Arc::clone(&self.app.store);
        let size = spool.len();
        let span = tracing::info_span!("message", queue_id = %queue_id);
        let delivered_users = users.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let _enter = span.enter();
            delivery::deliver(&store, &trace, &mut spool, &delivered_users, now)
        })
        .await
        .unwrap_or_else(|_| vec![Err(Failure::Temporary); users.len()]);
        tracing::info!(queue_id = %queue_id, size, recipients = users.len(), "message end");
        let result_of = |user| {
            users
                .iter()
                .position(|u| u == user)
                .and_then(|i| outcome.get(i).copied())
                .unwrap_or(Err(Failure::Temporary))
        };
        let per_rcpt: Vec<Result<(), Failure>> = self
            .recipients
            .iter()
            .map(|targets| targets.iter().try_for_each(result_of))
            .collect();
        let replies: Vec<Result<(), Failure>> = if self.lmtp {
            // RFC 2033 §4.2: one reply per successful RCPT, in order.
            per_rcpt
        } else {
            // SMTP has one reply for all: any failure asks the client to retry later, so
            // nothing is lost (a retry may duplicate copies already stored).
            vec![queued.and_then(|()| per_rcpt.into_iter().collect())]
        };
        for r in replies {
            match r {
                Ok(()) => self.accept(),
                Err(Failure::Temporary) => self.answer(reply(
                    451,
                    (4, 3, 0),
                    "Mail system unavailable, try again later",
                )),
                Err(Failure::NoSpace) => {
                    self.answer(reply(452, (4, 3, 1), "Mail system full, try again later"))
                }
            }
        }
        self.reset();
    }
}
