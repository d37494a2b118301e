//! Inbound SMTP (the MX) and LMTP on smtp-proto's server session: local delivery only.
//!
//! One file per step: [`hello`] (EHLO/HELO/LHLO), [`mail`] (MAIL FROM), [`rcpt`] (RCPT TO
//! and the relay policy), [`message`] (DATA/BDAT content and the end-of-message delivery),
//! [`trace`] (the fields added at delivery).
//!
//! Submission (RFC 6409) is the same session with a policy on top: [`auth`] (AUTH PLAIN and
//! LOGIN), [`submission`] (AUTH before MAIL, owned senders, rate limits from [`rate`], the
//! `From:` check from [`from_header`], other domains queued for the relay).

mod auth;
pub mod from_header;
mod hello;
mod mail;
mod message;
pub mod rate;
pub mod rcpt;
pub mod submission;
pub mod trace;

use std::{net::IpAddr, sync::Arc};

use maildir_store::UserId;
use smtp_proto::{
    Command, EnhancedStatus, Options, Reply, ReplyCode,
    server::{Event, Server, ServerConfig},
};
use tokio::sync::watch;

use crate::{
    app::App,
    config::{Listener, Service},
    delivery::Spool,
    net::conn::{Conn, Goodbye, Handler, Next, drive},
};

/// Runs one SMTP or LMTP session.
pub async fn serve(
    app: Arc<App>,
    mut conn: Conn,
    spec: &Listener,
    id: &str,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let lmtp = spec.service == Service::Lmtp;
    let limits = &app.config.limits;
    let mut options = Options::default();
    options.max_message_size = limits.smtp_max_message_size;
    options.max_recipients = limits.smtp_max_recipients;
    options.max_errors = limits.smtp_max_errors;
    options.max_command_line = limits.smtp_max_command_line;
    let mut config = ServerConfig::new(app.config.hostname.clone());
    config.lmtp = lmtp;
    let submission = spec.service == Service::Submission;
    if submission {
        config.auth_mechanisms = vec!["PLAIN".to_owned(), "LOGIN".to_owned()];
        config.auth_requires_tls = !spec.allow_cleartext_auth;
    }
    config.starttls = conn.can_start_tls();
    config.tls_active = conn.is_tls();
    let timeouts = app.timeouts();
    let mut session = Session {
        proto: Server::new(options, config),
        peer: conn.peer.ip(),
        id: id.to_owned(),
        lmtp,
        helo: String::new(),
        esmtp: false,
        tls: conn.is_tls(),
        sender: None,
        recipients: Vec::new(),
        spool: Spool::default(),
        messages: 0,
        extra: Vec::new(),
        submission,
        user: None,
        sasl: None,
        remote: Vec::new(),
        trusted: submission
            && spec
                .trusted_networks
                .iter()
                .any(|n| n.contains(conn.peer.ip())),
        app,
    };
    drive(&mut conn, &mut session, timeouts, shutdown).await
}

/// One SMTP/LMTP session.
#[derive(Debug)]
struct Session {
    app: Arc<App>,
    proto: Server,
    peer: IpAddr,
    id: String,
    lmtp: bool,
    helo: String,
    esmtp: bool,
    tls: bool,
    /// The reverse path of the open transaction (empty string for `<>`).
    sender: Option<String>,
    /// The users each accepted RCPT reaches, in order (LMTP answers per RCPT).
    recipients: Vec<Vec<UserId>>,
    spool: Spool,
    /// Messages accepted in this session, for queue IDs.
    messages: u32,
    /// Replies the driver adds outside the state machine (timeouts, shutdown).
    extra: Vec<u8>,
    /// The submission service: AUTH first, other domains queued.
    submission: bool,
    /// The authenticated user (submission).
    user: Option<UserId>,
    /// A SASL exchange in progress.
    sasl: Option<auth::Sasl>,
    /// Accepted recipients in other domains, for the queue (submission).
    remote: Vec<String>,
    /// The client is in the listener's `trusted_networks`: no AUTH needed (submission).
    trusted: bool,
}

/// An event with nothing borrowed from the state machine.
enum Owned {
    Command(Command<'static>),
    MessageEnd { ok: bool, last: bool },
    Reset,
    StartTls,
    Close,
    Ignored,
    Auth(smtp_proto::Secret<Vec<u8>>),
}

/// A reply built from our own constants.
fn reply(code: u16, status: (u8, u16, u16), text: &'static str) -> Reply<'static> {
    let status = EnhancedStatus::new(status.0, status.1, status.2);
    // Expect: every caller passes a literal code, status and text of the same class; the
    // `constant_replies_are_valid` test builds each of them.
    ReplyCode::new(code)
        .and_then(|c| Reply::new(c, status, [text]).ok())
        .expect("constant SMTP reply")
}

impl Session {
    /// The metrics label of this session's service.
    fn protocol(&self) -> crate::metrics::Protocol {
        use crate::metrics::Protocol;
        match (self.lmtp, self.submission) {
            (true, _) => Protocol::lmtp,
            (false, true) => Protocol::submission,
            (false, false) => Protocol::smtp,
        }
    }

    fn answer(&mut self, r: Reply<'_>) {
        if let Err(e) = self.proto.reply(r) {
            tracing::error!(error = %e, "reply does not fit the SMTP session");
        }
    }

    fn accept(&mut self) {
        if let Err(e) = self.proto.accept() {
            tracing::error!(error = %e, "accept does not fit the SMTP session");
        }
    }

    fn reset(&mut self) {
        self.sender = None;
        self.recipients.clear();
        self.spool = Spool::default();
        self.remote.clear();
    }

    async fn handle(&mut self, event: Owned) -> Option<Next> {
        let _timer = match &event {
            Owned::Command(c) => Some(crate::metrics::global().command(self.protocol(), c)),
            _ => None,
        };
        match event {
            Owned::Command(Command::Ehlo(d) | Command::Lhlo(d)) => self.hello(d.as_str(), true),
            Owned::Command(Command::Helo(d)) => self.hello(d.as_str(), false),
            Owned::Command(Command::Mail { from, params }) if self.submission => {
                self.submission_mail(&from, &params)
            }
            Owned::Command(Command::Mail { from, params }) => self.mail(&from, &params),
            Owned::Command(Command::Rcpt { to, .. }) if self.submission => {
                self.submission_rcpt(&to)
            }
            Owned::Command(Command::Rcpt { to, .. }) => self.rcpt(&to),
            Owned::Command(Command::Auth {
                mechanism,
                initial_response,
            }) if self.submission => self.auth(mechanism.as_str(), initial_response).await,
            Owned::Auth(data) if self.submission => self.auth_response(data).await,
            Owned::Command(Command::Data) => self.data(),
            Owned::Command(Command::StartTls) => self.accept(),
            // The MX offers no AUTH; submission is a separate service.
            Owned::Command(_) => self.answer(reply(502, (5, 5, 1), "Command not available here")),
            Owned::MessageEnd { ok: true, last } => self.message_end(last).await,
            // Refused by the state machine (size, bare newlines: already answered) or RSET.
            Owned::MessageEnd { ok: false, .. } | Owned::Reset => self.reset(),
            Owned::StartTls => return Some(Next::StartTls),
            Owned::Close => return Some(Next::Close),
            Owned::Auth(_) | Owned::Ignored => {
                self.answer(reply(501, (5, 5, 4), "Unexpected response"))
            }
        }
        None
    }
}

impl Handler for Session {
    fn take_output(&mut self, out: &mut Vec<u8>) {
        self.proto.poll_transmit(out);
        out.append(&mut self.extra);
    }

    fn input_room(&self) -> usize {
        self.proto.input_room()
    }

    fn feed(&mut self, bytes: &[u8]) {
        if let Err(e) = self.proto.handle_input(bytes) {
            tracing::error!(error = %e, "SMTP input refused by the session");
        }
    }

    async fn work(&mut self, _conn: &mut Conn) -> Next {
        loop {
            let owned = match self.proto.poll_event() {
                None => break,
                Some(Event::MessageChunk(chunk)) => {
                    if let Err(e) = self.spool.write(chunk) {
                        tracing::error!(error = %e, "spooling failed");
                    }
                    continue;
                }
                Some(Event::Command(c)) => Owned::Command(c),
                Some(Event::MessageEnd { outcome, last }) => Owned::MessageEnd {
                    ok: outcome.is_ok(),
                    last,
                },
                Some(Event::TransactionReset) => Owned::Reset,
                Some(Event::StartTls) => Owned::StartTls,
                Some(Event::Close) => Owned::Close,
                Some(Event::AuthResponse(data)) => Owned::Auth(data),
                Some(_) => Owned::Ignored,
            };
            if let Some(next) = self.handle(owned).await {
                return next;
            }
        }
        if self.proto.is_closed() {
            Next::Close
        } else {
            Next::Read
        }
    }

    fn tls_established(&mut self) {
        self.tls = true;
        self.reset();
        self.user = None;
        self.sasl = None;
        if let Err(e) = self.proto.tls_established() {
            tracing::error!(error = %e, "TLS state mismatch");
        }
    }

    fn past_greeting(&self) -> bool {
        // RFC 5321 §4.5.3.2.7: the server timeout "SHOULD be at least 5 minutes"; only the
        // wait for HELO/EHLO uses the shorter pre-auth timeout; on submission, the wait
        // for a successful AUTH does too.
        if self.submission {
            self.user.is_some()
        } else {
            !self.helo.is_empty()
        }
    }

    fn goodbye(&mut self, why: Goodbye) {
        let r = match why {
            // RFC 5321 §4.5.3.2: the server may close after its timeouts with a 421.
            Goodbye::Timeout => reply(421, (4, 4, 2), "Timeout, closing connection"),
            Goodbye::Shutdown => reply(421, (4, 3, 2), "Server shutting down, try again later"),
        };
        r.encode(&mut self.extra);
    }
}
