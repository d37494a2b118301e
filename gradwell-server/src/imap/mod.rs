//! IMAP4rev1 (RFC 3501) with the extensions listed in [`capability`], on imap-proto's server
//! session and the [`maildir_store::MailStore`] traits.
//!
//! The sans-IO [`ServerSession`] frames and parses input, answers syntax errors and asks for
//! literals; this module decides everything about mail. One file per command group:
//! [`auth`] (LOGIN, AUTHENTICATE, STARTTLS, UNAUTHENTICATE), [`mailboxes`] (CREATE, DELETE,
//! RENAME, SUBSCRIBE, LIST, LSUB, STATUS, NAMESPACE, QUOTA), [`select`] (SELECT, EXAMINE,
//! CLOSE, UNSELECT, EXPUNGE), [`append`], [`fetch`], [`store`], [`search`] (SEARCH, SORT), [`thread`], [`copy`]
//! (COPY, MOVE), [`idle`] and [`compress`]. [`selected`] keeps the client's view of the selected mailbox
//! in step with the store; [`mime`] and [`envelope`] build BODYSTRUCTURE and ENVELOPE from a
//! [`structure`] parsed once per message, kept in the store's structure records and in
//! [`cache`].

mod append;
mod auth;
mod base_subject;
pub mod cache;
mod capability;
mod compress;
mod copy;
pub(crate) mod dates;
pub(crate) mod envelope;
pub(crate) mod fetch;
mod fetch_stream;
mod idle;
mod mailboxes;
pub mod mime;
pub mod notifying;
mod search;
mod select;
mod selected;
mod store;
pub mod structure;
mod thread;
pub mod watchers;

pub use fetch_stream::largest_write;

use std::{net::IpAddr, sync::Arc, time::Duration};

use imap_proto::{
    options::Options,
    session::{
        State,
        server::{ServerEvent, ServerSession},
    },
    types::{
        command::{Command, CommandBody},
        core::Tag,
        response::{
            Code, Data, Greeting, GreetingKind, ResponseText, SimpleCode, StatusKind, Tagged, Text,
        },
    },
};
use maildir_store::{StoreError, Uid, UserId};
use tokio::sync::watch;

use crate::{
    app::App,
    config::Listener,
    net::conn::{Conn, Goodbye, Handler, Next, drive},
};

/// Input the session may hold unframed (while it waits for a decision) before the driver
/// stops reading.
const MAX_BUFFERED: usize = 256 * 1024;

/// The shortest autologout an authenticated session may get (RFC 9051 §5.4).
const MIN_AUTOLOGOUT: Duration = Duration::from_secs(30 * 60);

/// Runs one IMAP session.
pub async fn serve(
    app: Arc<App>,
    mut conn: Conn,
    spec: &Listener,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let caps = capability::list(&capability::Conditions {
        tls: conn.is_tls(),
        can_starttls: conn.can_start_tls(),
        allow_cleartext: spec.allow_cleartext_auth,
        authenticated: false,
        append_limit: app.config.limits.imap_max_literal_size,
    });
    let mut session = Session {
        peer: conn.peer.ip(),
        allow_cleartext: spec.allow_cleartext_auth,
        can_starttls: conn.can_start_tls(),
        tls: conn.is_tls(),
        proto: ServerSession::new(proto_options(&app.config.limits), greeting(caps)),
        user: None,
        selected: None,
        condstore: false,
        qresync: false,
        sasl: None,
        compressed: false,
        idling: None,
        append: None,
        saved_search: Vec::new(),
        idle_deadline: None,
        user_slot: None,
        idle_watch: None,
        autologout: MIN_AUTOLOGOUT,
        app,
    };
    let mut timeouts = session.app.timeouts();
    // RFC 9051 §5.4: an autologout timer after authentication "MUST be of at least 30
    // minutes' duration".
    timeouts.idle = timeouts.idle.max(MIN_AUTOLOGOUT);
    session.autologout = timeouts.idle;
    drive(&mut conn, &mut session, timeouts, shutdown).await
}

/// The codec limits from the configuration.
fn proto_options(limits: &crate::config::Limits) -> Options {
    let mut options = Options::default();
    options.max_line_length = limits.imap_max_line_length;
    options.max_literal_size = limits.imap_max_literal_size;
    options.max_message_size = usize::try_from(limits.imap_max_literal_size)
        .unwrap_or(usize::MAX)
        .saturating_add(limits.imap_max_line_length);
    options.literal_stream_threshold = limits.imap_literal_stream_threshold;
    options.max_bad_commands = limits.imap_max_bad_commands;
    options.max_nesting_depth = limits.imap_max_nesting_depth;
    options
}

fn greeting(caps: Vec<imap_proto::types::core::Atom>) -> Greeting {
    let code = imap_proto::types::non_empty::NonEmpty::try_from(caps)
        .ok()
        .map(Code::Capability);
    Greeting {
        kind: GreetingKind::Ok,
        text: ResponseText {
            code,
            text: text("Gradwell IMAP ready"),
        },
    }
}

/// Runs store work (file IO, fsync) where a multi-threaded runtime can move the other
/// sessions off this thread meanwhile; elsewhere (a current-thread runtime) it just runs.
pub(crate) fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// A fixed or generated human-readable text; anything a `Text` cannot hold is replaced.
pub(crate) fn text(s: &str) -> Text {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let clean = clean.trim_start_matches('[').trim_end_matches('}').trim();
    Text::try_from(if clean.is_empty() { "done" } else { clean })
        .unwrap_or_else(|_| Text::try_from("done").unwrap_or_else(|_| unreachable!()))
}

/// Where a SASL exchange stands.
#[derive(Debug)]
enum Sasl {
    /// PLAIN, waiting for the initial response.
    Plain,
    /// LOGIN, waiting for the user name.
    LoginUser,
    /// LOGIN, waiting for the password of this user.
    LoginPassword(String),
}

/// One IMAP session.
#[derive(Debug)]
struct Session {
    app: Arc<App>,
    proto: ServerSession,
    peer: IpAddr,
    allow_cleartext: bool,
    can_starttls: bool,
    tls: bool,
    /// The logged-in user.
    user: Option<UserId>,
    /// This session's place in the per-user connection count, held until it ends.
    user_slot: Option<crate::net::limits::Slot<UserId>>,
    /// The selected mailbox, as the client knows it.
    selected: Option<selected::Selected>,
    /// CONDSTORE was enabled (RFC 7162 §3.1: by ENABLE or by a CONDSTORE-aware command).
    condstore: bool,
    /// QRESYNC was enabled (RFC 7162 §3.2.3): expunges are reported as VANISHED.
    qresync: bool,
    /// COMPRESS DEFLATE was accepted: the connection is deflated from then on.
    compressed: bool,
    /// An AUTHENTICATE in progress.
    sasl: Option<(Tag, Sasl)>,
    /// The tag of an accepted IDLE.
    idling: Option<Tag>,
    /// A streamed APPEND in progress.
    append: Option<append::Streamed>,
    /// The last `SEARCH RETURN (SAVE)` result, as UIDs (RFC 5182).
    saved_search: Vec<Uid>,
    /// The shared watcher of the selected mailbox while idling ([`watchers`]).
    idle_watch: Option<watchers::Subscription>,
    /// When an IDLE that has seen no input ends with BYE (the driver's read timeout restarts
    /// at every poll, so IDLE keeps its own).
    idle_deadline: Option<std::time::Instant>,
    /// Inactivity after which an authenticated session is logged out.
    autologout: Duration,
}

/// A tagged response built by a command handler.
#[derive(Debug)]
pub(crate) struct Reply {
    kind: StatusKind,
    code: Option<Code>,
    text: String,
}

impl Reply {
    pub(crate) fn ok(text: &str) -> Self {
        Self {
            kind: StatusKind::Ok,
            code: None,
            text: text.to_owned(),
        }
    }

    pub(crate) fn no(text: &str) -> Self {
        Self {
            kind: StatusKind::No,
            code: None,
            text: text.to_owned(),
        }
    }

    pub(crate) fn bad(text: &str) -> Self {
        Self {
            kind: StatusKind::Bad,
            code: None,
            text: text.to_owned(),
        }
    }

    pub(crate) fn with_code(mut self, code: Code) -> Self {
        self.code = Some(code);
        self
    }

    pub(crate) fn simple(self, code: SimpleCode) -> Self {
        self.with_code(Code::Simple(code))
    }

    /// The NO a store error deserves (RFC 5530 codes; HASCHILDREN is RFC 9051 §7.1).
    pub(crate) fn store_error(e: &StoreError) -> Self {
        let code = match e {
            StoreError::NoSuchMailbox => SimpleCode::NonExistent,
            StoreError::MailboxExists => SimpleCode::AlreadyExists,
            StoreError::HasChildren => SimpleCode::HasChildren,
            StoreError::InboxIsSpecial | StoreError::RenameIntoSelf => SimpleCode::Cannot,
            StoreError::InvalidMailboxName(_) => SimpleCode::Cannot,
            StoreError::TooManyKeywords { .. } => SimpleCode::Limit,
            StoreError::NoSuchMessage(_) | StoreError::MessageVanished(_) => {
                SimpleCode::ExpungeIssued
            }
            _ => {
                tracing::warn!(error = %e, "store error");
                SimpleCode::Unavailable
            }
        };
        Self::no(&e.to_string()).simple(code)
    }
}

impl Session {
    /// The logged-in user; commands past login only run once there is one.
    fn user(&self) -> Result<UserId, Reply> {
        self.user
            .clone()
            .ok_or_else(|| Reply::bad("not authenticated"))
    }

    fn data(&mut self, data: Data) {
        self.proto.send_data(data);
    }

    fn finish(&mut self, tag: Tag, reply: Reply) {
        let tagged = Tagged {
            tag,
            kind: reply.kind,
            text: ResponseText {
                code: reply.code,
                text: text(&reply.text),
            },
        };
        if let Err(e) = self.proto.send_tagged(tagged) {
            tracing::error!(error = %e, "tagged response does not fit the IMAP session");
        }
    }

    /// Writes what is pending now, so that a long response (FETCH of many bodies) goes out
    /// message by message under the socket's backpressure instead of piling up.
    /// Writes what the protocol session has queued; false when the write failed.
    async fn flush(&mut self, conn: &mut Conn) -> bool {
        let mut out = Vec::new();
        self.proto.poll_transmit(&mut out);
        fetch_stream::record_write(out.len());
        match conn.write_all(&out).await {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!(error = %e, "write failed");
                false
            }
        }
    }

    async fn handle(&mut self, event: ServerEvent, conn: &mut Conn) -> Option<Next> {
        match event {
            ServerEvent::Command(command) => {
                let _timer =
                    crate::metrics::global().command(crate::metrics::Protocol::imap, &command.body);
                return self.command(command, conn).await;
            }
            ServerEvent::AuthenticateData { tag, data } => self.sasl_step(tag, data).await,
            ServerEvent::IdleDone { tag } => self.idle_done(tag),
            ServerEvent::StartTls { .. } => return Some(Next::StartTls),
            ServerEvent::AppendStart {
                tag,
                mailbox,
                flags,
                date,
                ..
            } => self.append_start(tag, mailbox, flags, date),
            ServerEvent::AppendData { data, .. } => self.append_data(&data),
            ServerEvent::AppendMessageEnd { .. } => blocking(|| self.append_message_end()),
            ServerEvent::AppendMessage { message, .. } => blocking(|| self.append_more(message)),
            ServerEvent::AppendDone { tag } => blocking(|| self.append_done(tag)),
            ServerEvent::Refused { reason, .. } => {
                tracing::debug!(?reason, "command refused");
                // A refused APPEND tail or IDLE line ends that command.
                self.append = None;
                self.idling = None;
                self.idle_deadline = None;
                self.idle_watch = None;
            }
            _ => {}
        }
        None
    }

    async fn command(&mut self, command: Command, conn: &mut Conn) -> Option<Next> {
        let Command { tag, body } = command;
        // RFC 9051 §7.5.1: "An EXPUNGE response MUST NOT be sent when no command is in
        // progress, nor while responding to a FETCH, STORE, or SEARCH command" (sequence
        // numbers would shift under the client); the UID forms may.
        let expunge_ok = !matches!(
            body,
            CommandBody::Fetch { uid: false, .. }
                | CommandBody::Store { uid: false, .. }
                | CommandBody::Search { uid: false, .. }
                | CommandBody::Sort { uid: false, .. }
                | CommandBody::Thread { uid: false, .. }
        );
        let reply = match body {
            CommandBody::Login { username, password } => {
                self.login(username.as_bytes(), password.declassify().as_bytes())
                    .await
            }
            CommandBody::Authenticate {
                mechanism,
                initial_response,
            } => match self
                .authenticate(tag.clone(), mechanism.as_str(), initial_response)
                .await
            {
                Some(reply) => reply,
                None => return None,
            },
            CommandBody::Fetch {
                uid,
                set,
                items,
                changed_since,
                vanished,
            } => {
                self.fetch(uid, &set, &items, changed_since, vanished, conn)
                    .await
            }
            CommandBody::Compress(algorithm) => {
                let reply = self.compress(algorithm.as_str());
                let start = reply.kind == StatusKind::Ok;
                self.finish(tag, reply);
                return start.then_some(Next::Deflate);
            }
            CommandBody::Idle => {
                self.idle_start(tag);
                return None;
            }
            body => blocking(|| self.command_sync(&tag, body)),
        };
        if self.proto.state() == State::Selected || self.selected.is_some() {
            blocking(|| self.refresh(expunge_ok));
        }
        self.finish(tag, reply);
        None
    }

    /// The commands that need no IO but the store's (run where blocking is allowed).
    fn command_sync(&mut self, tag: &Tag, body: CommandBody) -> Reply {
        match body {
            CommandBody::Capability => {
                let caps = self.capabilities();
                if let Ok(caps) = imap_proto::types::non_empty::NonEmpty::try_from(caps) {
                    self.data(Data::Capability(caps));
                }
                Reply::ok("CAPABILITY completed")
            }
            CommandBody::Noop | CommandBody::Check => Reply::ok("NOOP completed"),
            CommandBody::Logout => {
                self.data(Data::Bye(ResponseText {
                    code: None,
                    text: text("Gradwell IMAP logging out"),
                }));
                Reply::ok("LOGOUT completed")
            }
            CommandBody::StartTls => self.starttls(),
            CommandBody::Unauthenticate => self.unauthenticate(),
            CommandBody::Enable(names) => self.enable(&names),
            CommandBody::Id(_) => self.id(),
            CommandBody::Namespace => self.namespace(),
            CommandBody::Create {
                mailbox,
                special_use,
            } => self.create(&mailbox, special_use.as_deref()),
            CommandBody::Delete(mailbox) => self.delete(&mailbox),
            CommandBody::Rename { from, to } => self.rename(&from, &to),
            CommandBody::Subscribe(mailbox) => self.subscribe(&mailbox, true),
            CommandBody::Unsubscribe(mailbox) => self.subscribe(&mailbox, false),
            CommandBody::List {
                selection,
                reference,
                patterns,
                return_options,
            } => self.list(&selection, &reference, &patterns, return_options.as_deref()),
            CommandBody::Lsub { reference, pattern } => self.lsub(&reference, &pattern),
            CommandBody::Status { mailbox, items } => self.status(&mailbox, &items),
            CommandBody::GetQuota(root) => self.get_quota(root.as_bytes()),
            CommandBody::GetQuotaRoot(mailbox) => self.get_quota_root(&mailbox),
            CommandBody::SetQuota { .. } => {
                Reply::no("quota limits are set by the administrator").simple(SimpleCode::NoPerm)
            }
            CommandBody::Select {
                mailbox,
                parameters,
            } => self.select(&mailbox, &parameters, false),
            CommandBody::Examine {
                mailbox,
                parameters,
            } => self.select(&mailbox, &parameters, true),
            CommandBody::Close => self.close(true),
            CommandBody::Unselect => self.close(false),
            CommandBody::Expunge => self.expunge(None),
            CommandBody::UidExpunge(set) => self.expunge(Some(&set)),
            CommandBody::Append { mailbox, messages } => {
                self.append_whole(&mailbox, messages.into_vec())
            }
            CommandBody::Store {
                uid,
                set,
                unchanged_since,
                kind,
                silent,
                flags,
            } => self.store(uid, &set, unchanged_since, kind, silent, &flags),
            CommandBody::Search {
                uid,
                return_options,
                criteria,
                charset,
            } => match self.charset_conflict(charset.as_ref(), false) {
                Some(bad) => bad,
                None => self.search(tag, uid, return_options.as_deref(), &criteria),
            },
            CommandBody::Sort {
                uid,
                criteria,
                search,
                charset,
            } => match self.charset_conflict(Some(&charset), true) {
                Some(bad) => bad,
                None => self.sort(uid, &criteria, &search),
            },
            CommandBody::Thread {
                uid,
                algorithm,
                search,
                charset,
            } => match self.charset_conflict(Some(&charset), true) {
                Some(bad) => bad,
                None => self.thread(uid, &algorithm, &search),
            },
            CommandBody::Copy { uid, set, mailbox } => self.copy(uid, &set, &mailbox, false),
            CommandBody::Move { uid, set, mailbox } => self.copy(uid, &set, &mailbox, true),
            _ => Reply::bad("command not supported"),
        }
    }
}

impl Handler for Session {
    fn take_output(&mut self, out: &mut Vec<u8>) {
        self.proto.poll_transmit(out);
    }

    fn input_room(&self) -> usize {
        MAX_BUFFERED.saturating_sub(self.proto.buffered()).max(1)
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.proto.handle_input(bytes);
    }

    async fn work(&mut self, conn: &mut Conn) -> Next {
        while let Some(event) = self.proto.poll_event() {
            if conn.is_broken() {
                // A write failed (the client stopped reading): pipelined commands are dropped.
                return Next::Close;
            }
            if let Some(next) = self.handle(event, conn).await {
                return next;
            }
        }
        if self.idling.is_some() {
            if self
                .idle_deadline
                .is_some_and(|d| std::time::Instant::now() >= d)
            {
                self.goodbye(Goodbye::Timeout);
                return Next::Close;
            }
            // Woken by the watcher: something moved, so a full sync (the watcher's count
            // check may have seen a removal the cheap look cannot).
            if self.idle_watch.as_mut().is_some_and(|w| w.take_change()) {
                blocking(|| self.sync(true));
            }
        }
        if self.proto.state() == State::Logout {
            Next::Close
        } else {
            Next::Read
        }
    }

    fn tls_established(&mut self) {
        self.tls = true;
        self.can_starttls = false;
    }

    fn past_greeting(&self) -> bool {
        self.user.is_some()
    }

    fn goodbye(&mut self, why: Goodbye) {
        let text = match why {
            Goodbye::Timeout => "Autologout; idle for too long",
            Goodbye::Shutdown => "Server shutting down",
        };
        self.data(Data::Bye(ResponseText {
            code: None,
            text: self::text(text),
        }));
    }

    fn wake_after(&self) -> Option<Duration> {
        self.idle_deadline
            .map(|d| d.saturating_duration_since(std::time::Instant::now()))
    }

    fn wake_on(&self) -> Option<watch::Receiver<u64>> {
        self.idle_watch.as_ref().map(|w| w.receiver())
    }
}
