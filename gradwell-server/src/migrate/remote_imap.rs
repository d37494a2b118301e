//! A [`Source`] that reads one user's mail from a remote IMAP server, imapsync-style, on
//! imap-proto's client session over a blocking socket ([`super::remote_conn`]).
//!
//! What it asks the server, in order:
//! 1. greeting; `STARTTLS` when asked (the handshake starts right after the tagged `OK`,
//!    before any further byte is read); `LOGIN` or `AUTHENTICATE PLAIN`;
//! 2. `NAMESPACE` (when it fails, no personal prefix), `LIST "" "*"`, `LSUB "" "*"`, and
//!    `STATUS name (MESSAGES UIDNEXT UIDVALIDITY)` for each selectable mailbox;
//! 3. per mailbox: `EXAMINE` (read-only, so nothing at the source changes; the
//!    UIDVALIDITY must still be the one `STATUS` reported), `UID FETCH 1:* (UID)` (not
//!    sent when the mailbox is empty: some servers refuse `1:*` there), then
//!    `UID FETCH set (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])` in batches of
//!    [`RemoteOptions::fetch_batch`], each message handed on as it arrives.
//!
//! Names: the server's hierarchy separator becomes `/`, the personal namespace prefix
//! (`INBOX.` on Courier and Cyrus) is dropped, modified UTF-7 is decoded by imap-proto. A
//! name that cannot be a Gradwell mailbox name (a level with a `.`, a `/` inside a level)
//! is a [`SourceError::Malformed`] naming the folder.
//!
//! Any read or write waits at most [`RemoteOptions::io_timeout`]. After any error the
//! connection is dropped and the next call logs in again, so one failed mailbox does not
//! poison the rest.

use std::{
    collections::{HashMap, HashSet},
    io::{Read, Write},
    num::NonZeroU32,
    sync::Arc,
};

use base64::Engine;
use imap_proto::{
    options::Options,
    session::client::{ClientEvent, ClientSession},
    types::{
        command::{Base64, CommandBody, ListPattern},
        core::{AString, Atom},
        fetch::{FetchAttribute, FetchItems, Section},
        flag::{Flag, FlagFetch},
        mailbox::Mailbox,
        non_empty::NonEmpty,
        response::{Code, Data, FetchData, GreetingKind, StatusKind, Tagged},
        secret::Secret,
        sequence::{SeqNumber, Sequence, SequenceSet},
        status::StatusItem,
    },
};
use maildir_store::{Flags, Keyword, MailboxName, SystemFlag, Uid, UidValidity};

use super::{
    remote_conn::{
        Credentials, Endpoint, LoginMethod, RemoteOptions, Security, Stream, io_error, remote,
    },
    source::{Source, SourceError, SourceMailbox, SourceMessage},
    throttle::Throttle,
};

/// One user's mailboxes on a remote IMAP server.
#[derive(Debug)]
pub struct ImapSource {
    endpoint: Endpoint,
    credentials: Credentials,
    options: RemoteOptions,
    throttle: Option<Arc<Throttle>>,
    connection: Option<Connection>,
    /// The server's spelling of each mailbox `mailboxes` returned.
    remote_names: HashMap<MailboxName, Mailbox>,
}

impl ImapSource {
    /// A source for `credentials` at `endpoint`; nothing is sent until the first call.
    pub fn new(endpoint: Endpoint, credentials: Credentials, options: RemoteOptions) -> Self {
        Self {
            endpoint,
            credentials,
            options,
            throttle: None,
            connection: None,
            remote_names: HashMap::new(),
        }
    }

    /// Caps the messages read per second (shared with every other source given the same
    /// throttle).
    pub fn with_throttle(mut self, throttle: Arc<Throttle>) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// The open connection, logging in first when there is none.
    fn connection(&mut self) -> Result<&mut Connection, SourceError> {
        let connection = match self.connection.take() {
            Some(c) => c,
            None => Connection::open(&self.endpoint, &self.credentials, &self.options)?,
        };
        Ok(self.connection.insert(connection))
    }

    fn list_mailboxes(&mut self) -> Result<Vec<SourceMailbox>, SourceError> {
        let connection = self.connection()?;
        let prefix = connection.personal_prefix();
        let mut listed = Vec::new();
        connection.run(list_command(false), "LIST", &mut |data| {
            if let Data::List(item) = data {
                listed.push(item);
            }
            Ok(())
        })?;
        let mut subscribed = HashSet::new();
        connection.run(list_command(true), "LSUB", &mut |data| {
            if let Data::Lsub(item) = data {
                subscribed.insert(item.mailbox);
            }
            Ok(())
        })?;
        let mut mailboxes = Vec::new();
        let mut remote_names = HashMap::new();
        for item in listed {
            let unselectable = item.attributes.iter().any(|a| {
                a.as_str().eq_ignore_ascii_case("Noselect")
                    || a.as_str().eq_ignore_ascii_case("NonExistent")
            });
            if unselectable {
                continue;
            }
            let name = our_name(&item.mailbox, item.delimiter, prefix.as_deref())?;
            let status = connection.status(&item.mailbox)?;
            mailboxes.push(SourceMailbox {
                subscribed: subscribed.contains(&item.mailbox),
                uid_validity: status.uid_validity,
                uid_next: status.uid_next,
                message_count: status.messages,
                name: name.clone(),
            });
            remote_names.insert(name, item.mailbox);
        }
        self.remote_names = remote_names;
        // INBOX first, the rest in the server's order.
        mailboxes.sort_by_key(|m| !m.name.is_inbox());
        Ok(mailboxes)
    }

    fn copy_mailbox(
        &mut self,
        mailbox: &SourceMailbox,
        sink: &mut dyn FnMut(SourceMessage) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        if !self.remote_names.contains_key(&mailbox.name) {
            self.list_mailboxes()?;
        }
        let Some(remote_name) = self.remote_names.get(&mailbox.name).cloned() else {
            return Err(SourceError::Remote(format!(
                "{}: no longer at the source",
                mailbox.name.as_str()
            )));
        };
        let batch = self.options.fetch_batch.max(1) as usize;
        let throttle = self.throttle.clone();
        let context = mailbox.name.as_str().to_owned();
        let connection = self.connection()?;
        let mut uid_validity = None;
        let mut exists = 0;
        connection.run(
            CommandBody::Examine {
                mailbox: remote_name,
                parameters: vec![],
            },
            &context,
            &mut |data| {
                match data {
                    Data::Exists(n) => exists = n,
                    Data::Status { text, .. } => {
                        if let Some(Code::UidValidity(v)) = text.code {
                            uid_validity = UidValidity::new(v.get());
                        }
                    }
                    _ => {}
                }
                Ok(())
            },
        )?;
        if let (Some(expected), Some(now)) = (mailbox.uid_validity, uid_validity)
            && expected != now
        {
            return Err(SourceError::Remote(format!(
                "{context}: UIDVALIDITY changed from {expected} to {now} since the mailbox list \
                 was read; the mailbox must be copied again"
            )));
        }
        if exists == 0 {
            // Nothing to copy; some servers refuse `1:*` in an empty mailbox.
            return Ok(());
        }
        let uids = connection.uids(&context)?;
        let mut last = 0u32;
        for chunk in uids.chunks(batch) {
            if let Some(throttle) = &throttle {
                // A chunk is at most `fetch_batch` long, which is a u32.
                throttle.acquire(u32::try_from(chunk.len()).unwrap_or(u32::MAX));
            }
            connection.run(fetch_command(chunk), &context, &mut |data| {
                let Data::Fetch { items, .. } = data else {
                    return Ok(());
                };
                let Some(message) = message_of(items.into_vec(), &context)? else {
                    // An unsolicited flag update, not one of ours.
                    return Ok(());
                };
                let uid = message.uid.map_or(0, Uid::get);
                if uid <= last {
                    return Err(SourceError::Remote(format!(
                        "{context}: the server sent UID {uid} after {last}"
                    )));
                }
                last = uid;
                sink(message)
            })?;
        }
        Ok(())
    }
}

impl Source for ImapSource {
    fn mailboxes(&mut self) -> Result<Vec<SourceMailbox>, SourceError> {
        let result = self.list_mailboxes();
        if result.is_err() {
            self.connection = None;
        }
        result
    }

    fn messages(
        &mut self,
        mailbox: &SourceMailbox,
        sink: &mut dyn FnMut(SourceMessage) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let result = self.copy_mailbox(mailbox, sink);
        if result.is_err() {
            // Mid-response or gone: start afresh next time.
            self.connection = None;
        }
        result
    }
}

impl Drop for ImapSource {
    fn drop(&mut self) {
        if let Some(connection) = &mut self.connection {
            connection.logout();
        }
    }
}

/// What STATUS reported.
struct Status {
    messages: Option<u64>,
    uid_next: Option<Uid>,
    uid_validity: Option<UidValidity>,
}

/// A logged-in IMAP connection.
#[derive(Debug)]
struct Connection {
    stream: Stream,
    session: ClientSession,
    buf: Vec<u8>,
    /// The personal namespace's prefix and delimiter, when NAMESPACE answered.
    namespace: Option<(String, Option<char>)>,
}

impl Connection {
    fn open(
        endpoint: &Endpoint,
        credentials: &Credentials,
        options: &RemoteOptions,
    ) -> Result<Self, SourceError> {
        let stream = Stream::connect(endpoint, options)?;
        let mut imap = Options::default();
        imap.max_literal_size = options.max_message_size;
        imap.max_message_size = usize::try_from(options.max_message_size)
            .unwrap_or(usize::MAX)
            .saturating_add(imap.max_line_length);
        let mut connection = Self {
            stream,
            session: ClientSession::new(imap),
            buf: vec![0; 64 * 1024],
            namespace: None,
        };
        let preauth = match connection.next_event("greeting")? {
            ClientEvent::Greeting(g) => match g.kind {
                GreetingKind::Ok => false,
                GreetingKind::PreAuth => true,
                GreetingKind::Bye => {
                    return Err(remote("greeting", format!("BYE {}", g.text.text.as_str())));
                }
            },
            other => return Err(remote("greeting", format!("unexpected {other:?}"))),
        };
        if endpoint.security == Security::StartTls {
            if preauth {
                // RFC 3501 §6.2.1: STARTTLS is for the not-authenticated state.
                return Err(remote("STARTTLS", "the server greeted with PREAUTH"));
            }
            connection = connection.start_tls(endpoint)?;
        }
        if !preauth {
            connection.login(credentials)?;
        }
        connection.namespace = connection.read_namespace();
        Ok(connection)
    }

    /// STARTTLS: the answer is read one octet at a time, so nothing after the tagged `OK`
    /// is consumed in plaintext; bytes an attacker appended are handed to TLS and fail the
    /// handshake (THREATS TLS-01, CVE-2021-38371 on a client side).
    fn start_tls(mut self, endpoint: &Endpoint) -> Result<Self, SourceError> {
        let tag = self.session.enqueue_command(CommandBody::StartTls);
        self.flush("STARTTLS")?;
        loop {
            let mut byte = [0u8; 1];
            let n = self
                .stream
                .read(&mut byte)
                .map_err(|e| io_error("STARTTLS", &e))?;
            if n == 0 {
                return Err(remote("STARTTLS", "connection closed by the server"));
            }
            self.session.handle_input(&byte);
            while let Some(event) = self.session.poll_event() {
                match event {
                    ClientEvent::Tagged(t) if t.tag == tag => {
                        check_ok(&t, "STARTTLS")?;
                        let Self {
                            stream,
                            session,
                            buf,
                            namespace,
                        } = self;
                        return Ok(Self {
                            stream: stream.start_tls(endpoint)?,
                            session,
                            buf,
                            namespace,
                        });
                    }
                    ClientEvent::Malformed => {
                        return Err(remote("STARTTLS", "malformed response"));
                    }
                    _ => {}
                }
            }
        }
    }

    fn login(&mut self, credentials: &Credentials) -> Result<(), SourceError> {
        let refused = |e: imap_proto::error::ValidationError| remote("LOGIN", e);
        match credentials.method() {
            LoginMethod::Password => {
                let body = CommandBody::Login {
                    username: AString::try_from(credentials.user()).map_err(refused)?,
                    password: Secret::new(
                        AString::try_from(credentials.password()).map_err(refused)?,
                    ),
                };
                self.run(body, "LOGIN", &mut |_| Ok(())).map(drop)
            }
            LoginMethod::SaslPlain => {
                let encoded =
                    base64::engine::general_purpose::STANDARD.encode(credentials.sasl_plain());
                // Standard base64 is the alphabet IMAP's base64 rule allows.
                let answer = Base64::try_from(encoded.as_str()).map_err(refused)?;
                let body = CommandBody::Authenticate {
                    // "PLAIN" is an atom.
                    mechanism: Atom::try_from("PLAIN").map_err(refused)?,
                    initial_response: None,
                };
                self.run_answering(body, "AUTHENTICATE PLAIN", &mut |_| Ok(()), Some(answer))
                    .map(drop)
            }
        }
    }

    /// The personal namespace (RFC 2342); `None` when the server has no NAMESPACE.
    fn read_namespace(&mut self) -> Option<(String, Option<char>)> {
        let mut personal = None;
        self.run(CommandBody::Namespace, "NAMESPACE", &mut |data| {
            if let Data::Namespace { personal: p, .. } = data
                && let Some(first) = p.into_iter().next()
            {
                let bytes = first.prefix.as_bytes();
                let prefix = imap_proto::mutf7::decode(bytes)
                    .unwrap_or_else(|_| String::from_utf8_lossy(bytes).into_owned());
                personal = Some((prefix, first.delimiter));
            }
            Ok(())
        })
        .ok()?;
        personal
    }

    /// The prefix to drop from listed names, when it is a real hierarchy prefix.
    fn personal_prefix(&self) -> Option<String> {
        self.namespace
            .as_ref()
            .map(|(prefix, _)| prefix.clone())
            .filter(|p| !p.is_empty())
    }

    fn status(&mut self, mailbox: &Mailbox) -> Result<Status, SourceError> {
        let items = NonEmpty::try_from(vec![
            StatusItem::Messages,
            StatusItem::UidNext,
            StatusItem::UidValidity,
        ])
        .map_err(|e| remote("STATUS", e))?;
        let mut status = Status {
            messages: None,
            uid_next: None,
            uid_validity: None,
        };
        let context = format!("STATUS {}", mailbox.name());
        self.run(
            CommandBody::Status {
                mailbox: mailbox.clone(),
                items,
            },
            &context,
            &mut |data| {
                if let Data::MailboxStatus { items, .. } = data {
                    for (item, value) in items {
                        let value = value.get();
                        let small = u32::try_from(value).ok();
                        match item {
                            StatusItem::Messages => status.messages = Some(value),
                            StatusItem::UidNext => status.uid_next = small.and_then(Uid::new),
                            StatusItem::UidValidity => {
                                status.uid_validity = small.and_then(UidValidity::new);
                            }
                            _ => {}
                        }
                    }
                }
                Ok(())
            },
        )?;
        Ok(status)
    }

    /// Every UID of the selected mailbox, ascending.
    fn uids(&mut self, context: &str) -> Result<Vec<NonZeroU32>, SourceError> {
        let all = SequenceSet::Set(NonEmpty::one(Sequence::Range(
            SeqNumber::Value(NonZeroU32::MIN),
            SeqNumber::Largest,
        )));
        let mut uids = Vec::new();
        self.run(
            CommandBody::Fetch {
                uid: true,
                set: all,
                items: FetchItems::Attributes(NonEmpty::one(FetchAttribute::Uid)),
                changed_since: None,
                vanished: false,
            },
            context,
            &mut |data| {
                if let Data::Fetch { items, .. } = data {
                    uids.extend(items.iter().find_map(|i| match i {
                        FetchData::Uid(uid) => Some(*uid),
                        _ => None,
                    }));
                }
                Ok(())
            },
        )?;
        uids.sort_unstable();
        uids.dedup();
        Ok(uids)
    }

    fn flush(&mut self, context: &str) -> Result<(), SourceError> {
        let mut out = Vec::new();
        self.session.poll_transmit(&mut out);
        if !out.is_empty() {
            self.stream
                .write_all(&out)
                .and_then(|()| self.stream.flush())
                .map_err(|e| io_error(context, &e))?;
        }
        Ok(())
    }

    /// Sends what is queued, then reads until the session has an event.
    fn next_event(&mut self, context: &str) -> Result<ClientEvent, SourceError> {
        self.flush(context)?;
        loop {
            if let Some(event) = self.session.poll_event() {
                return Ok(event);
            }
            let n = self
                .stream
                .read(&mut self.buf)
                .map_err(|e| io_error(context, &e))?;
            if n == 0 {
                return Err(remote(context, "connection closed by the server"));
            }
            self.session.handle_input(&self.buf[..n]);
        }
    }

    /// Runs one command, handing each untagged response to `on_data`; `Ok` with the tagged
    /// `OK`, an error for `NO`/`BAD`, a lost connection or an error from `on_data`.
    fn run(
        &mut self,
        body: CommandBody,
        context: &str,
        on_data: &mut dyn FnMut(Data) -> Result<(), SourceError>,
    ) -> Result<Tagged, SourceError> {
        self.run_answering(body, context, on_data, None)
    }

    /// [`Connection::run`], answering one continuation request with `answer` (SASL) and
    /// cancelling any other.
    fn run_answering(
        &mut self,
        body: CommandBody,
        context: &str,
        on_data: &mut dyn FnMut(Data) -> Result<(), SourceError>,
        mut answer: Option<Base64>,
    ) -> Result<Tagged, SourceError> {
        let tag = self.session.enqueue_command(body);
        loop {
            match self.next_event(context)? {
                ClientEvent::Tagged(t) if t.tag == tag => {
                    check_ok(&t, context)?;
                    return Ok(t);
                }
                ClientEvent::Data(Data::Bye(text)) => {
                    return Err(remote(context, format!("BYE {}", text.text.as_str())));
                }
                ClientEvent::Data(data) => on_data(data)?,
                ClientEvent::Continuation(_) => {
                    let data = answer.take();
                    self.session
                        .authenticate_continue(data.as_ref())
                        .map_err(|e| remote(context, e))?;
                }
                ClientEvent::Malformed => {
                    return Err(remote(context, "malformed or oversized response"));
                }
                _ => {}
            }
        }
    }

    /// Says goodbye without waiting for the answer.
    fn logout(&mut self) {
        self.session.enqueue_command(CommandBody::Logout);
        let _ = self.flush("LOGOUT");
    }
}

fn check_ok(tagged: &Tagged, context: &str) -> Result<(), SourceError> {
    if tagged.kind == StatusKind::Ok {
        return Ok(());
    }
    Err(remote(
        context,
        format!(
            "server said {:?}: {}",
            tagged.kind,
            tagged.text.text.as_str()
        ),
    ))
}

/// `LIST "" "*"` or `LSUB "" "*"`.
fn list_command(subscribed: bool) -> CommandBody {
    // "*" has no NUL.
    let pattern = ListPattern::new(b"*".to_vec()).unwrap_or_else(|_| unreachable!());
    // The empty reference name.
    let reference = Mailbox::try_from("").unwrap_or_else(|_| unreachable!());
    if subscribed {
        CommandBody::Lsub { reference, pattern }
    } else {
        CommandBody::List {
            selection: vec![],
            reference,
            patterns: NonEmpty::one(pattern),
            return_options: None,
        }
    }
}

/// `UID FETCH uids (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])`, runs of consecutive
/// UIDs sent as ranges.
fn fetch_command(uids: &[NonZeroU32]) -> CommandBody {
    let mut runs: Vec<Sequence> = Vec::new();
    let mut iter = uids.iter().copied().peekable();
    while let Some(first) = iter.next() {
        let mut last = first;
        while let Some(&next) = iter.peek() {
            if Some(next.get()) != last.get().checked_add(1) {
                break;
            }
            last = next;
            iter.next();
        }
        runs.push(if first == last {
            Sequence::Single(SeqNumber::Value(first))
        } else {
            Sequence::Range(SeqNumber::Value(first), SeqNumber::Value(last))
        });
    }
    // `uids` comes from a non-empty chunk.
    let set = NonEmpty::try_from(runs).unwrap_or_else(|_| unreachable!("a chunk is non-empty"));
    // BODY[] is a section with no part and no text specifier.
    let whole = Section::new(vec![], None).unwrap_or_else(|_| unreachable!());
    let attributes = vec![
        FetchAttribute::Uid,
        FetchAttribute::Flags,
        FetchAttribute::InternalDate,
        FetchAttribute::Rfc822Size,
        FetchAttribute::BodySection {
            peek: true,
            section: whole,
            partial: None,
        },
    ];
    CommandBody::Fetch {
        uid: true,
        set: SequenceSet::Set(set),
        // Five attributes.
        items: FetchItems::Attributes(
            NonEmpty::try_from(attributes).unwrap_or_else(|_| unreachable!()),
        ),
        changed_since: None,
        vanished: false,
    }
}

/// A FETCH response as a message; `None` when it carries no body (a flag update another
/// session caused, not an answer to our FETCH).
fn message_of(items: Vec<FetchData>, context: &str) -> Result<Option<SourceMessage>, SourceError> {
    let mut uid = None;
    let mut flags = Flags::new();
    let mut internal_date = None;
    let mut size = None;
    let mut body = None;
    for item in items {
        match item {
            FetchData::Uid(u) => uid = Uid::new(u.get()),
            FetchData::Flags(list) => flags = flags_of(&list, context)?,
            FetchData::InternalDate(date) => {
                internal_date = Some(crate::imap::dates::from_imap(&date));
            }
            FetchData::Rfc822Size(n) => size = Some(n.get()),
            FetchData::BodySection { data, .. } => {
                body = Some(data.0.map(|s| s.as_bytes().to_vec()).unwrap_or_default());
            }
            _ => {}
        }
    }
    let Some(body) = body else {
        return Ok(None);
    };
    let malformed = |reason: &str| SourceError::Remote(format!("{context}: {reason}"));
    let uid = uid.ok_or_else(|| malformed("a FETCH response without UID"))?;
    let internal_date =
        internal_date.ok_or_else(|| malformed("a FETCH response without INTERNALDATE"))?;
    if let Some(size) = size
        && size != body.len() as u64
    {
        return Err(malformed(&format!(
            "UID {uid}: RFC822.SIZE is {size} but the body has {} octets",
            body.len()
        )));
    }
    Ok(Some(SourceMessage {
        uid: Some(uid),
        flags,
        internal_date,
        pop3_uidl: None,
        pop3_order: None,
        body,
    }))
}

/// IMAP flags as stored flags; `\Recent` and unknown `\`-extensions are session state, not
/// stored, so they are left out.
fn flags_of(list: &[FlagFetch], context: &str) -> Result<Flags, SourceError> {
    let mut flags = Flags::new();
    for flag in list {
        match flag {
            FlagFetch::Flag(Flag::Seen) => flags.insert(SystemFlag::Seen),
            FlagFetch::Flag(Flag::Answered) => flags.insert(SystemFlag::Answered),
            FlagFetch::Flag(Flag::Flagged) => flags.insert(SystemFlag::Flagged),
            FlagFetch::Flag(Flag::Deleted) => flags.insert(SystemFlag::Deleted),
            FlagFetch::Flag(Flag::Draft) => flags.insert(SystemFlag::Draft),
            FlagFetch::Flag(Flag::Keyword(atom)) => {
                let keyword = Keyword::new(atom.as_str()).map_err(|e| SourceError::Malformed {
                    mailbox: context.to_owned(),
                    reason: format!("keyword {}: {e}", atom.as_str()),
                })?;
                flags.insert_keyword(keyword);
            }
            FlagFetch::Flag(_) | FlagFetch::Recent => {}
        }
    }
    Ok(flags)
}

/// The Gradwell name of a listed mailbox: the personal prefix dropped, the server's
/// separator turned into `/`.
fn our_name(
    mailbox: &Mailbox,
    delimiter: Option<char>,
    prefix: Option<&str>,
) -> Result<MailboxName, SourceError> {
    let Mailbox::Other(other) = mailbox else {
        return Ok(MailboxName::inbox());
    };
    let full = other.as_str();
    let malformed = |reason: String| SourceError::Malformed {
        mailbox: full.to_owned(),
        reason,
    };
    let name = prefix
        .and_then(|p| full.strip_prefix(p))
        .filter(|rest| !rest.is_empty())
        .unwrap_or(full);
    let ours = match delimiter {
        Some('/') => name.to_owned(),
        Some(d) => {
            if name.contains('/') {
                return Err(malformed(format!(
                    "'/' inside a folder name (the server's separator is '{d}')"
                )));
            }
            name.replace(d, "/")
        }
        None if name.contains('/') => {
            return Err(malformed(
                "'/' inside a folder name of a flat namespace".into(),
            ));
        }
        None => name.to_owned(),
    };
    MailboxName::new(&ours).map_err(|e| malformed(format!("not a valid mailbox name: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn other(name: &str) -> Mailbox {
        Mailbox::try_from(name).expect("valid")
    }

    #[test]
    fn names_map_the_separator_and_drop_the_personal_prefix() {
        let cases: [(&str, Option<char>, Option<&str>, &str); 6] = [
            ("Archive/2024", Some('/'), None, "Archive/2024"),
            ("Archive.2024", Some('.'), None, "Archive/2024"),
            ("INBOX.Sent", Some('.'), Some("INBOX."), "Sent"),
            ("INBOX.Sent.Old", Some('.'), Some("INBOX."), "Sent/Old"),
            ("Entwürfe", Some('/'), None, "Entwürfe"),
            ("Flat", None, None, "Flat"),
        ];
        for (remote, delimiter, prefix, expected) in cases {
            let name = our_name(&other(remote), delimiter, prefix).expect(remote);
            assert_eq!(name.as_str(), expected, "{remote}");
        }
        assert_eq!(
            our_name(&Mailbox::Inbox, Some('.'), Some("INBOX.")).expect("inbox"),
            MailboxName::inbox()
        );
    }

    #[test]
    fn names_that_cannot_be_ours_are_malformed_not_guessed() {
        for (remote, delimiter) in [("a/b", Some('.')), ("v1.2", Some('/')), ("x/y", None)] {
            let err = our_name(&other(remote), delimiter, None).expect_err(remote);
            assert!(
                matches!(&err, SourceError::Malformed { mailbox, .. } if mailbox == remote),
                "{remote}: {err:?}"
            );
        }
    }

    #[test]
    fn fetch_sets_use_ranges_for_runs() {
        let uids: Vec<NonZeroU32> = [1, 2, 3, 7, 9, 10]
            .iter()
            .filter_map(|n| NonZeroU32::new(*n))
            .collect();
        let CommandBody::Fetch { set, .. } = fetch_command(&uids) else {
            panic!("not a FETCH");
        };
        for n in 1..=11 {
            let inside = [1, 2, 3, 7, 9, 10].contains(&n);
            assert_eq!(set.contains(n, 11), inside, "{n}");
        }
        let SequenceSet::Set(runs) = set else {
            panic!("not a set");
        };
        assert_eq!(runs.as_slice().len(), 3);
    }

    #[test]
    fn flags_keep_keywords_and_drop_session_flags() {
        let keyword = Flag::Keyword(Atom::try_from("$Work").expect("atom"));
        let list = [
            FlagFetch::Flag(Flag::Seen),
            FlagFetch::Recent,
            FlagFetch::Flag(Flag::Draft),
            FlagFetch::Flag(keyword),
        ];
        let flags = flags_of(&list, "INBOX").expect("flags");
        assert!(flags.contains(SystemFlag::Seen));
        assert!(flags.contains(SystemFlag::Draft));
        assert!(!flags.contains(SystemFlag::Answered));
        let keywords: Vec<&str> = flags.keywords().map(Keyword::as_str).collect();
        assert_eq!(keywords, ["$Work"]);
    }
}
