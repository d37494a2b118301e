//! APPEND (RFC 3501 §6.3.11) with MULTIAPPEND (RFC 3502), APPENDLIMIT (RFC 7889) and
//! APPENDUID (RFC 4315). Small messages arrive whole; large ones stream through a spool
//! file, so a 25 MB APPEND needs bounded memory.

use std::{
    io::{Seek, Write},
    time::SystemTime,
};

use imap_proto::types::{
    command::{AppendData, AppendMessage},
    core::Tag,
    datetime::DateTime,
    flag::Flag,
    mailbox::Mailbox,
    response::{Code, SimpleCode},
};
use maildir_store::{AppendRequest, MailboxName, StoreError, Uid};

use super::{Reply, Session, dates, select::store_name, selected};

/// A streamed APPEND in progress.
#[derive(Debug)]
pub(super) struct Streamed {
    mailbox: Result<MailboxName, String>,
    request: Result<AppendRequest, String>,
    spool: Option<std::fs::File>,
    /// UIDs of the messages stored so far.
    stored: Vec<Uid>,
    /// The first failure; later messages are read and dropped.
    failed: Option<Reply>,
}

fn request(flags: Option<&[Flag]>, date: Option<&DateTime>) -> Result<AppendRequest, String> {
    let flags = selected::from_imap(flags.unwrap_or_default())?;
    let when = date.map_or_else(SystemTime::now, dates::from_imap);
    Ok(AppendRequest::new(when).with_flags(flags))
}

/// The NO for a failed append: a missing mailbox gets `[TRYCREATE]` (RFC 3501 §6.3.11:
/// the server "MUST NOT automatically create the mailbox").
fn append_error(e: &StoreError) -> Reply {
    match e {
        StoreError::NoSuchMailbox => {
            Reply::no("mailbox does not exist").simple(SimpleCode::TryCreate)
        }
        e => Reply::store_error(e),
    }
}

impl Session {
    /// Stores one message and remembers its UID.
    fn store_one(
        &self,
        name: &MailboxName,
        message: &mut dyn std::io::Read,
        request: &AppendRequest,
    ) -> Result<Uid, Reply> {
        let user = self.user()?;
        self.app
            .store
            .append(&user, name, message, request)
            .map_err(|e| append_error(&e))
    }

    /// The tagged OK with `[APPENDUID uidvalidity uids]`.
    fn appended(&self, name: &MailboxName, uids: &[Uid]) -> Reply {
        let reply = Reply::ok("APPEND completed");
        let Ok(user) = self.user() else {
            return reply;
        };
        let validity = self
            .app
            .store
            .open(&user, name)
            .ok()
            .and_then(|v| std::num::NonZeroU32::new(v.uid_validity.get()));
        match (validity, selected::uid_set(uids)) {
            (Some(uid_validity), Some(uids)) => {
                reply.with_code(Code::AppendUid { uid_validity, uids })
            }
            _ => reply,
        }
    }

    /// APPEND whose messages all arrived whole.
    pub(super) fn append_whole(
        &mut self,
        mailbox: &Mailbox,
        messages: Vec<AppendMessage>,
    ) -> Reply {
        let name = match store_name(mailbox) {
            Ok(n) => n,
            Err(r) => return r,
        };
        let mut uids = Vec::new();
        for message in messages {
            let request = match request(message.flags.as_deref(), message.date.as_ref()) {
                Ok(r) => r,
                Err(e) => return Reply::bad(&e),
            };
            let data = match &message.data {
                AppendData::Literal(l) => l.data(),
                AppendData::Binary(l) | AppendData::Utf8(l) => l.data.as_slice(),
            };
            match self.store_one(&name, &mut &data[..], &request) {
                Ok(uid) => uids.push(uid),
                Err(r) => return r,
            }
        }
        self.appended(&name, &uids)
    }

    pub(super) fn append_start(
        &mut self,
        _tag: Tag,
        mailbox: Mailbox,
        flags: Option<Vec<Flag>>,
        date: Option<DateTime>,
    ) {
        let request = request(flags.as_deref(), date.as_ref());
        let spool = tempfile::tempfile()
            .map_err(|e| tracing::warn!(error = %e, "cannot create an APPEND spool file"))
            .ok();
        match &mut self.append {
            Some(streamed) => {
                streamed.request = request;
                streamed.spool = spool;
            }
            None => {
                self.append = Some(Streamed {
                    mailbox: store_name(&mailbox).map_err(|r| r.text),
                    request,
                    spool,
                    stored: Vec::new(),
                    failed: None,
                });
            }
        }
    }

    pub(super) fn append_data(&mut self, data: &[u8]) {
        let Some(streamed) = &mut self.append else {
            return;
        };
        if let Some(spool) = &mut streamed.spool
            && spool.write_all(data).is_err()
        {
            streamed.spool = None;
        }
    }

    pub(super) fn append_message_end(&mut self) {
        let Some(mut streamed) = self.append.take() else {
            return;
        };
        if streamed.failed.is_none() {
            let result = match (&streamed.mailbox, &streamed.request, streamed.spool.take()) {
                (Err(e), _, _) => Err(Reply::no(e).simple(SimpleCode::Cannot)),
                (_, Err(e), _) => Err(Reply::bad(e)),
                (_, _, None) => {
                    Err(Reply::no("cannot spool the message").simple(SimpleCode::Unavailable))
                }
                (Ok(name), Ok(request), Some(mut spool)) => match spool.rewind() {
                    Ok(()) => self.store_one(name, &mut spool, request),
                    Err(_) => Err(Reply::no("cannot spool the message")),
                },
            };
            match result {
                Ok(uid) => streamed.stored.push(uid),
                Err(r) => streamed.failed = Some(r),
            }
        }
        self.append = Some(streamed);
    }

    /// A further (small) message of a streamed MULTIAPPEND.
    pub(super) fn append_more(&mut self, message: AppendMessage) {
        let Some(mut streamed) = self.append.take() else {
            return;
        };
        if streamed.failed.is_none()
            && let Ok(name) = &streamed.mailbox
        {
            let data = match &message.data {
                AppendData::Literal(l) => l.data(),
                AppendData::Binary(l) | AppendData::Utf8(l) => l.data.as_slice(),
            };
            let result = request(message.flags.as_deref(), message.date.as_ref())
                .map_err(|e| Reply::bad(&e))
                .and_then(|r| self.store_one(name, &mut &data[..], &r));
            match result {
                Ok(uid) => streamed.stored.push(uid),
                Err(r) => streamed.failed = Some(r),
            }
        }
        self.append = Some(streamed);
    }

    pub(super) fn append_done(&mut self, tag: Tag) {
        let Some(streamed) = self.append.take() else {
            self.finish(tag, Reply::no("APPEND failed"));
            return;
        };
        let reply = match (streamed.failed, &streamed.mailbox) {
            (Some(r), _) => r,
            (None, Ok(name)) => self.appended(name, &streamed.stored),
            (None, Err(e)) => Reply::no(e),
        };
        if self.selected.is_some() {
            self.sync(true);
        }
        self.finish(tag, reply);
    }
}
