//! The submission policy (RFC 6409) on top of the MX session: AUTH before MAIL, an envelope
//! sender and `From:` that belong to the authenticated user, per-user rate limits, and
//! recipients in other domains queued for the relay.

use std::{
    io::Read as _,
    time::{Instant, SystemTime},
};

use maildir_store::UserId;
use smtp_proto::{ForwardPath, Mailbox, Reply, ReversePath, command::MailParams};

use super::{
    Session, from_header,
    rate::Unit,
    rcpt::{Resolved, resolve},
    reply,
};
use crate::{
    app::App,
    delivery::{Failure, Spool},
    queue::store::EnqueueError,
};

/// Octets of the message searched for `From:` fields.
const HEADER_LIMIT: usize = 256 * 1024;

/// Whether `address` is `user`'s own address or an alias that reaches `user`.
pub fn owns(app: &App, user: &UserId, address: &str) -> bool {
    let Ok(mailbox) = Mailbox::try_from(address) else {
        return false;
    };
    match resolve(
        &app.config,
        &app.users,
        &app.aliases,
        &ForwardPath::Mailbox(mailbox),
    ) {
        Resolved::Local(users) => users.contains(user),
        _ => false,
    }
}

impl Session {
    /// An application-level refusal; smtp-proto counts it with its own protocol errors
    /// (Postfix's `smtpd_hard_error_limit` counts both), so `smtp_max_errors` bounds the
    /// two together, then `421` and close.
    pub(super) fn refuse(&mut self, r: Reply<'static>) {
        if let Err(e) = self.proto.refuse(r) {
            tracing::error!(error = %e, "refusal does not fit the SMTP session");
        }
    }

    /// MAIL on submission: authenticated, an owned sender, within the rate.
    pub(super) fn submission_mail(&mut self, from: &ReversePath<'_>, params: &MailParams<'_>) {
        if self.trusted && self.user.is_none() {
            // A trusted network (Postfix's permit_mynetworks): any sender, no per-user rate.
            return self.mail(from, params);
        }
        let Some(user) = self.user.clone() else {
            // RFC 4954 §6: "530 5.7.0 Authentication required".
            return self.refuse(reply(530, (5, 7, 0), "Authentication required"));
        };
        let owned = match from {
            ReversePath::Mailbox(m) => owns(&self.app, &user, m.as_str()),
            // A null sender from a user would send mail no bounce can reach.
            ReversePath::Null => false,
        };
        if !owned {
            tracing::info!(user = %user, from = ?from, "sender not owned");
            return self.refuse(reply(
                553,
                (5, 7, 1),
                "Sender address not owned by the authenticated user",
            ));
        }
        if !self
            .app
            .submit_rate
            .take(&user, Unit::Message, Instant::now())
        {
            return self.answer(reply(
                451,
                (4, 7, 1),
                "Message rate limit exceeded, try again later",
            ));
        }
        self.mail(from, params);
    }

    /// RCPT on submission: local users as on the MX, other domains queued.
    pub(super) fn submission_rcpt(&mut self, to: &ForwardPath<'_>) {
        let user = self.user.clone();
        if user.is_none() && !self.trusted {
            return self.refuse(reply(530, (5, 7, 0), "Authentication required"));
        }
        let app = &self.app;
        if let Some(user) = &user
            && !app.submit_rate.take(user, Unit::Recipient, Instant::now())
        {
            return self.answer(reply(
                451,
                (4, 7, 1),
                "Recipient rate limit exceeded, try again later",
            ));
        }
        let remote = match to {
            ForwardPath::Mailbox(m)
                if !app.config.is_local_domain(m.domain()) && !m.domain().starts_with('[') =>
            {
                Some(m.as_str().to_owned())
            }
            _ => None,
        };
        let Some(address) = remote else {
            // Ours: the MX rules apply (unknown users 550; odd local forms refused).
            return self.rcpt(to);
        };
        if app.queue.is_full() {
            return self.answer(reply(452, (4, 3, 1), "Queue full, try again later"));
        }
        tracing::info!(to = %address, "RCPT queued for relay");
        self.remote.push(address);
        self.accept();
    }

    /// The checks at the end of a submitted message; `Some` refusal when it must not go on.
    pub(super) fn submission_check(&mut self, spool: &mut Spool) -> Option<Reply<'static>> {
        let user = self.user.clone()?;
        let head = spool.head(HEADER_LIMIT).ok()?;
        let fields = from_header::from_fields(&head);
        if fields.len() > 1 {
            // RFC 5322 §3.6: "From" occurs exactly once; two are a way to show another author.
            return Some(reply(553, (5, 7, 1), "More than one From: header field"));
        }
        let foreign = fields
            .iter()
            .flat_map(|f| from_header::addresses(f))
            .find(|a| !owns(&self.app, &user, a));
        foreign.map(|address| {
            tracing::info!(user = %user, from = %address, "From: not owned");
            reply(
                553,
                (5, 7, 1),
                "From: header address not owned by the authenticated user",
            )
        })
    }

    /// Queues the message for the recipients in other domains (durable before it returns
    /// `Ok`); gives the spool back for local delivery.
    pub(super) async fn enqueue_remote(
        &mut self,
        mut spool: Spool,
        received: Vec<u8>,
        now: SystemTime,
    ) -> (Spool, Result<(), Failure>) {
        let recipients = std::mem::take(&mut self.remote);
        let sender = self.sender.clone().unwrap_or_default();
        let queue = std::sync::Arc::clone(&self.app.queue);
        let joined = crate::logging::spawn_blocking(move || {
            let result = spool.reader().map_err(EnqueueError::Io).and_then(|body| {
                let mut content = std::io::Cursor::new(received).chain(body);
                queue.enqueue(&sender, &recipients, &mut content, now)
            });
            (spool, result)
        })
        .await;
        match joined {
            Ok((spool, Ok(_))) => {
                self.app.queue.wake();
                (spool, Ok(()))
            }
            Ok((spool, Err(EnqueueError::Full))) => (spool, Err(Failure::NoSpace)),
            Ok((spool, Err(EnqueueError::Io(e)))) => {
                tracing::error!(error = %e, "queueing failed");
                (spool, Err(Failure::Temporary))
            }
            Err(_) => (Spool::default(), Err(Failure::Temporary)),
        }
    }
}
