//! The sans-IO server session: greeting → EHLO → MAIL → RCPT+ → DATA/BDAT, with PIPELINING,
//! RSET, AUTH, STARTTLS and LMTP.
//!
//! # Call order
//!
//! ```text
//! let mut server = Server::new(options, config);      // queues the 220 greeting
//! loop {
//!     server.poll_transmit(&mut out); write `out` to the socket
//!     match server.poll_event() {
//!         Some(Event::Command(cmd))     => decide, then server.accept() or server.reply(r)
//!         Some(Event::AuthResponse(r))  => server.auth_challenge(..) / server.reply(235 or 535)
//!         Some(Event::MessageChunk(c))  => append c to the spool file
//!         Some(Event::MessageEnd { outcome: Ok(_), .. }) => make durable, then accept()/reply()
//!         Some(Event::MessageEnd { outcome: Err(_), .. }) => drop the spool file (already answered)
//!         Some(Event::TransactionReset) => drop any partial message
//!         Some(Event::StartTls)         => poll_transmit, flush, TLS handshake, tls_established()
//!         Some(Event::Close)            => poll_transmit, flush, close the socket
//!         None => read from the socket until server.poll_timeout(), then
//!                 server.handle_input(&bytes); server.handle_timeout(now)
//!     }
//! }
//! ```
//!
//! Replies to pipelined commands collect in the output buffer until [`Server::poll_transmit`]
//! is called, so draining events before transmitting sends one batch per group (RFC 2920).
//! Protocol errors (bad syntax, bad sequence, limits) are answered by the state machine
//! itself; after [`Options::max_errors`] of them it answers 421 and closes. The session never
//! reads the clock: the driver passes `now` to [`Server::handle_timeout`] and sleeps until
//! [`Server::poll_timeout`] (RFC 5321 §4.5.3.2, [`Options::idle_timeout`]).

use std::{mem, time::Instant};

use crate::{
    address::ReversePath,
    base64,
    bdat::{BdatDecoder, BdatEvent},
    command::{AuthLine, Body, Command, CommandError, decode_auth_line, decode_command},
    data::{DataDecoder, DataError, Found},
    ehlo::{EhloKeyword, EhloResponse},
    options::Options,
    reply::{Reply, ReplyCode},
    secret::Secret,
};

/// What the server offers. Build with [`ServerConfig::new`] and change fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The host name in the greeting and the EHLO reply.
    pub hostname: String,
    /// Speak LMTP (RFC 2033): LHLO instead of EHLO/HELO and one reply per recipient after
    /// the message. Default false.
    pub lmtp: bool,
    /// Offer STARTTLS (RFC 3207) while the connection is plaintext. Default false.
    pub starttls: bool,
    /// The connection is already protected by TLS (implicit TLS, RFC 8314). Default false.
    pub tls_active: bool,
    /// SASL mechanisms to advertise; empty means no AUTH. Default empty.
    pub auth_mechanisms: Vec<String>,
    /// Offer AUTH only under TLS (RFC 8314 §5.1 forbids cleartext passwords). Default true.
    pub auth_requires_tls: bool,
    /// Offer CHUNKING and BINARYMIME (RFC 3030). Default true.
    pub chunking: bool,
    /// Offer SMTPUTF8 (RFC 6531). Default true.
    pub smtputf8: bool,
    /// Offer DSN (RFC 3461). Default false.
    pub dsn: bool,
    /// Offer REQUIRETLS (RFC 8689) once TLS is active. Default false.
    pub requiretls: bool,
}

impl ServerConfig {
    /// Defaults as documented on each field.
    pub fn new(hostname: impl Into<String>) -> Self {
        ServerConfig {
            hostname: hostname.into(),
            lmtp: false,
            starttls: false,
            tls_active: false,
            auth_mechanisms: Vec::new(),
            auth_requires_tls: true,
            chunking: true,
            smtputf8: true,
            dsn: false,
            requiretls: false,
        }
    }
}

/// Misuse of the state machine by the caller; the session itself is unaffected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A reply was given but no command or message end awaits one.
    #[error("no command awaits a reply")]
    NothingToReply,
    /// The reply code does not fit the step (e.g. 354 to RCPT, 2xx to DATA).
    #[error("reply code {0} does not fit the pending step")]
    UnexpectedReply(u16),
    /// Input was passed while the TLS handshake is due or after the session closed.
    #[error("no input expected now")]
    NoInputExpected,
    /// The input buffer would exceed its limit; poll events before passing more input.
    #[error("input buffer full; poll events first")]
    BufferFull,
    /// `tls_established` was called without an accepted STARTTLS.
    #[error("no TLS handshake pending")]
    NoTlsPending,
}

/// What happened in the session.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A command the application decides on: answer with [`Server::accept`] or
    /// [`Server::reply`]. EHLO/HELO/LHLO, MAIL, RCPT, DATA, STARTTLS and AUTH arrive here;
    /// NOOP, RSET, QUIT, HELP, VRFY, EXPN and BDAT are handled by the session.
    Command(Command<'static>),
    /// A SASL response during AUTH: answer with [`Server::auth_challenge`] or a final
    /// [`Server::reply`] (235 success, 535 failure).
    AuthResponse(Secret<Vec<u8>>),
    /// The next piece of the message body, borrowed from the input buffer.
    MessageChunk(&'a [u8]),
    /// The end of a DATA message or of a BDAT chunk (`last` says whether the message is
    /// complete). With `Ok(size)` the application answers: one reply, or under LMTP one per
    /// accepted recipient when `last`. With `Err`, the session has already answered and the
    /// transaction is over.
    MessageEnd {
        /// Message size so far, or why it is refused.
        outcome: Result<u64, DataError>,
        /// Whether this ends the message.
        last: bool,
    },
    /// RSET, EHLO or STARTTLS discarded the transaction: drop any partial message.
    TransactionReset,
    /// STARTTLS was accepted: transmit the pending output, run the TLS handshake, then call
    /// [`Server::tls_established`]. Plaintext that followed STARTTLS has been discarded.
    StartTls,
    /// The session is over: transmit the pending output and close the connection.
    Close,
}

/// The step that awaits the application's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Nothing,
    Hello { esmtp: bool },
    Mail { binary: bool },
    Rcpt,
    Data,
    StartTls,
    Auth,
    MessageEnd { replies_left: usize },
    Chunk,
}

#[derive(Debug)]
enum Mode {
    Commands,
    /// Dropping the rest of an over-long line, up to its LF.
    SkipLine,
    AuthLine,
    Data(DataDecoder),
    Bdat {
        decoder: BdatDecoder,
        last: bool,
        accepted: bool,
    },
    TlsHandshake,
    Closed,
}

#[derive(Debug, Default, Clone, Copy)]
struct Transaction {
    open: bool,
    binary: bool,
    recipients: usize,
    received: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Queued {
    Nothing,
    Reset,
    StartTls,
    Close,
}

/// A server session; see the [module docs](self) for the call order.
#[derive(Debug)]
pub struct Server {
    options: Options,
    config: ServerConfig,
    input: Vec<u8>,
    consumed: usize,
    output: Vec<u8>,
    mode: Mode,
    pending: Pending,
    queued: Queued,
    greeted: bool,
    esmtp: bool,
    tls: bool,
    authenticated: bool,
    transaction: Transaction,
    errors: u32,
    deadline: Option<Instant>,
    progress: bool,
}

impl Server {
    /// A session that has just accepted a connection; the 220 greeting is queued.
    ///
    /// A host name that is empty or holds anything but visible characters is replaced by
    /// `localhost`, so every reply stays well-formed.
    pub fn new(options: Options, mut config: ServerConfig) -> Self {
        if config.hostname.is_empty()
            || !config
                .hostname
                .bytes()
                .all(|b| b.is_ascii_graphic() || b >= 0x80)
        {
            config.hostname = "localhost".to_owned();
        }
        let mut server = Server {
            tls: config.tls_active,
            options,
            config,
            input: Vec::new(),
            consumed: 0,
            output: Vec::new(),
            mode: Mode::Commands,
            pending: Pending::Nothing,
            queued: Queued::Nothing,
            greeted: false,
            esmtp: false,
            authenticated: false,
            transaction: Transaction::default(),
            errors: 0,
            deadline: None,
            progress: false,
        };
        let service = if server.config.lmtp { "LMTP" } else { "ESMTP" };
        let greeting = format!("{} {service} ready", server.config.hostname);
        server.send_text(ReplyCode::SERVICE_READY, None, greeting);
        server
    }

    /// Whether the client finished AUTH successfully.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// Whether the connection is protected by TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Whether the session is over.
    pub fn is_closed(&self) -> bool {
        matches!(self.mode, Mode::Closed)
    }

    /// Octets the caller may pass to [`Server::handle_input`] now without exceeding the
    /// buffer limit.
    pub fn input_room(&self) -> usize {
        self.buffer_limit()
            .saturating_sub(self.input.len() - self.consumed)
    }

    fn buffer_limit(&self) -> usize {
        self.options
            .max_auth_line
            .max(self.options.max_command_line)
            + self.options.max_chunk
    }

    /// Passes octets read from the connection.
    pub fn handle_input(&mut self, bytes: &[u8]) -> Result<(), ServerError> {
        if matches!(self.mode, Mode::TlsHandshake | Mode::Closed) {
            return Err(ServerError::NoInputExpected);
        }
        if bytes.len() > self.input_room() {
            return Err(ServerError::BufferFull);
        }
        self.input.drain(..self.consumed);
        self.consumed = 0;
        self.input.extend_from_slice(bytes);
        Ok(())
    }

    /// Moves pending reply octets into `out`; returns how many were written.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> usize {
        let n = self.output.len();
        out.append(&mut self.output);
        n
    }

    /// The next event, or `None` when more input or a reply from the application is needed.
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        match mem::replace(&mut self.queued, Queued::Nothing) {
            Queued::Reset => return Some(Event::TransactionReset),
            Queued::StartTls => return Some(Event::StartTls),
            Queued::Close => return Some(Event::Close),
            Queued::Nothing => {}
        }
        loop {
            if self.pending != Pending::Nothing {
                return None;
            }
            let step = match self.mode {
                Mode::Commands => self.next_command(),
                Mode::SkipLine => self.skip_line(),
                Mode::AuthLine => self.next_auth_line(),
                Mode::Data(_) => self.next_data(),
                Mode::Bdat { .. } => self.next_bdat(),
                Mode::TlsHandshake | Mode::Closed => return None,
            };
            match step {
                Step::Continue => {}
                Step::NeedInput => return None,
                Step::Emit(event) => {
                    self.progress = true;
                    return Some(self.materialise(event));
                }
            }
            if self.queued != Queued::Nothing {
                return self.poll_event();
            }
        }
    }

    /// Passes the current time. Call it after [`Server::handle_input`] and whenever the
    /// instant from [`Server::poll_timeout`] has passed. While the session waits for the
    /// client, the deadline is armed [`Options::idle_timeout`] after the first call that
    /// follows progress (a complete command, a piece of content); past it, the session
    /// answers "421 4.4.2 Timeout" and closes. Time the application spends deciding is not
    /// counted.
    pub fn handle_timeout(&mut self, now: Instant) {
        let waiting_for_client = self.pending == Pending::Nothing
            && !matches!(self.mode, Mode::TlsHandshake | Mode::Closed);
        if !waiting_for_client {
            self.deadline = None;
            return;
        }
        match self.deadline {
            Some(deadline) if !self.progress && now >= deadline => {
                // RFC 5321 §4.5.3.2.7: "An SMTP server SHOULD have a timeout of at least 5
                // minutes while it is awaiting the next command from the sender." Once that
                // deadline passes it closes, and 421 tells the client why (§3.8).
                Reply::fixed(421, Some((4, 4, 2)), "Timeout, closing connection")
                    .encode(&mut self.output);
                self.reset_transaction();
                self.close();
                self.deadline = None;
            }
            Some(_) if !self.progress => {}
            _ => {
                self.deadline = Some(now + self.options.idle_timeout);
                self.progress = false;
            }
        }
    }

    /// When [`Server::handle_timeout`] must be called next, if a deadline is armed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// Turns an index-based event into one that borrows the input buffer.
    fn materialise(&self, event: Located) -> Event<'_> {
        match event {
            Located::Command(c) => Event::Command(c),
            Located::Auth(s) => Event::AuthResponse(s),
            Located::Chunk(start, end) => Event::MessageChunk(&self.input[start..end]),
            Located::End(outcome, last) => Event::MessageEnd { outcome, last },
        }
    }

    /// Answers the pending step with its usual positive reply: the EHLO keyword list, 250
    /// for MAIL/RCPT/message end, 354 for DATA, 220 for STARTTLS, 235 for AUTH.
    pub fn accept(&mut self) -> Result<(), ServerError> {
        let reply = match self.pending {
            Pending::Nothing => return Err(ServerError::NothingToReply),
            Pending::Hello { esmtp: true } => self.ehlo_response().to_reply(),
            Pending::Hello { esmtp: false } => {
                Reply::new(ReplyCode::OK, None, [self.config.hostname.clone()])
                    .unwrap_or_else(|_| Reply::fixed(250, None, "Hello"))
            }
            Pending::Mail { .. } => Reply::fixed(250, Some((2, 1, 0)), "Sender OK"),
            Pending::Rcpt => Reply::fixed(250, Some((2, 1, 5)), "Recipient OK"),
            Pending::Data => Reply::fixed(354, None, "End data with <CR><LF>.<CR><LF>"),
            Pending::StartTls => Reply::fixed(220, Some((2, 0, 0)), "Ready to start TLS"),
            Pending::Auth => Reply::fixed(235, Some((2, 7, 0)), "Authentication successful"),
            Pending::MessageEnd { .. } => Reply::fixed(250, Some((2, 0, 0)), "Message accepted"),
            Pending::Chunk => Reply::fixed(250, Some((2, 0, 0)), "Chunk accepted"),
        };
        self.reply(reply)
    }

    /// Sends a 334 SASL challenge with `data` (base64-encoded here) during AUTH.
    pub fn auth_challenge(&mut self, data: &[u8]) -> Result<(), ServerError> {
        let mut text = Vec::new();
        base64::encode(data, &mut text);
        // base64 output is ASCII.
        let text = String::from_utf8(text).unwrap_or_default();
        let reply = Reply::new(ReplyCode::AUTH_CHALLENGE, None, [text])
            .unwrap_or_else(|_| Reply::fixed(334, None, ""));
        self.reply(reply)
    }

    /// Answers the pending step with `reply`, and moves the session on according to its
    /// code.
    pub fn reply(&mut self, reply: Reply<'_>) -> Result<(), ServerError> {
        let code = reply.code();
        let positive = code.is_positive();
        let fits = match self.pending {
            Pending::Nothing => return Err(ServerError::NothingToReply),
            // 354 or a refusal; a 2xx would leave the client waiting for a 354.
            Pending::Data => code == ReplyCode::START_MAIL_INPUT || code.class() >= 4,
            Pending::Auth => code == ReplyCode::AUTH_CHALLENGE || !code.is_intermediate(),
            _ => !code.is_intermediate(),
        };
        if !fits {
            return Err(ServerError::UnexpectedReply(code.get()));
        }
        reply.encode(&mut self.output);
        let pending = mem::replace(&mut self.pending, Pending::Nothing);
        if code == ReplyCode::SERVICE_NOT_AVAILABLE {
            self.close();
            return Ok(());
        }
        match pending {
            Pending::Nothing => {}
            Pending::Hello { esmtp } if positive => {
                // RFC 5321 §4.1.4: a later EHLO makes the server "reset the state exactly as if a
                // RSET command had been issued".
                self.greeted = true;
                self.esmtp = esmtp;
                self.reset_transaction();
            }
            Pending::Mail { binary } if positive => {
                self.transaction = Transaction {
                    open: true,
                    binary,
                    ..Transaction::default()
                };
            }
            Pending::Rcpt if positive => self.transaction.recipients += 1,
            Pending::Data if code == ReplyCode::START_MAIL_INPUT => {
                self.mode = Mode::Data(DataDecoder::new(&self.options));
            }
            Pending::StartTls if positive => {
                // RFC 3207 §4.2: "The server MUST discard any knowledge obtained from the
                // client, such as the argument to the EHLO command, which was not obtained
                // from the TLS negotiation itself." Plaintext that followed STARTTLS was sent
                // before the handshake and is never executed (CVE-2011-0411).
                self.consumed = self.input.len();
                self.mode = Mode::TlsHandshake;
                self.queued = Queued::StartTls;
            }
            Pending::Auth if code == ReplyCode::AUTH_CHALLENGE => self.mode = Mode::AuthLine,
            Pending::Auth => {
                self.authenticated = positive;
                self.mode = Mode::Commands;
            }
            Pending::MessageEnd { replies_left } if replies_left > 1 => {
                self.pending = Pending::MessageEnd {
                    replies_left: replies_left - 1,
                };
            }
            Pending::MessageEnd { .. } => self.transaction = Transaction::default(),
            Pending::Chunk if !positive => self.reset_transaction(),
            _ => {}
        }
        Ok(())
    }

    /// Answers the pending step with a refusal the application chose because of the client's
    /// own doing (authentication missing, a sender it may not use…) and counts it with the
    /// session's protocol errors, so [`Options::max_errors`] bounds both together: the reply
    /// that reaches the limit is followed by `421` and the session closes. Only 4xx and 5xx
    /// replies are refusals.
    pub fn refuse(&mut self, reply: Reply<'_>) -> Result<(), ServerError> {
        let code = reply.code();
        if code.class() < 4 {
            return Err(ServerError::UnexpectedReply(code.get()));
        }
        self.reply(reply)?;
        self.count_error();
        Ok(())
    }

    /// Call after the TLS handshake that followed an accepted STARTTLS. RFC 3207 §4.2: "The
    /// server MUST discard any knowledge obtained from the client, such as the argument to
    /// the EHLO command, which was not obtained from the TLS negotiation itself." The client
    /// must greet again.
    pub fn tls_established(&mut self) -> Result<(), ServerError> {
        if !matches!(self.mode, Mode::TlsHandshake) {
            return Err(ServerError::NoTlsPending);
        }
        self.input.clear();
        self.consumed = 0;
        self.tls = true;
        self.greeted = false;
        self.esmtp = false;
        self.authenticated = false;
        self.transaction = Transaction::default();
        self.mode = Mode::Commands;
        Ok(())
    }

    /// The EHLO reply for the current state of the session.
    pub fn ehlo_response(&self) -> EhloResponse<'static> {
        let mut keywords = Vec::new();
        let mut add = |name: &'static str, params: Vec<String>| {
            if let Ok(k) = EhloKeyword::new(name, params) {
                keywords.push(k);
            }
        };
        add("PIPELINING", vec![]);
        add("SIZE", vec![self.options.max_message_size.to_string()]);
        add("8BITMIME", vec![]);
        add("ENHANCEDSTATUSCODES", vec![]);
        if self.config.chunking {
            add("CHUNKING", vec![]);
            add("BINARYMIME", vec![]);
        }
        if self.config.smtputf8 {
            add("SMTPUTF8", vec![]);
        }
        if self.config.dsn {
            add("DSN", vec![]);
        }
        if self.config.starttls && !self.tls {
            add("STARTTLS", vec![]);
        }
        if self.auth_offered() {
            add("AUTH", self.config.auth_mechanisms.clone());
        }
        if self.config.requiretls && self.tls {
            add("REQUIRETLS", vec![]);
        }
        // The host name was checked in `Server::new`.
        EhloResponse::new(self.config.hostname.clone(), None, keywords)
            .unwrap_or_else(|_| EhloResponse::fallback())
    }

    fn auth_offered(&self) -> bool {
        !self.config.auth_mechanisms.is_empty() && (self.tls || !self.config.auth_requires_tls)
    }

    fn reset_transaction(&mut self) {
        if self.transaction.open {
            self.queued = Queued::Reset;
        }
        self.transaction = Transaction::default();
    }

    fn close(&mut self) {
        self.mode = Mode::Closed;
        self.pending = Pending::Nothing;
        self.queued = Queued::Close;
    }

    fn send_text(&mut self, code: ReplyCode, status: Option<(u8, u16, u16)>, text: String) {
        let status = status.and_then(|(c, s, d)| crate::reply::EnhancedStatus::new(c, s, d));
        if let Ok(reply) = Reply::new(code, status, [text]) {
            reply.encode(&mut self.output);
        }
    }

    /// Sends an error reply the session chose itself and counts it; closes after too many.
    fn protocol_error(&mut self, reply: Reply<'_>) {
        self.progress = true;
        reply.encode(&mut self.output);
        self.count_error();
    }

    /// Counts one client error; after [`Options::max_errors`] of them, 421 and close.
    fn count_error(&mut self) {
        self.errors += 1;
        if self.errors >= self.options.max_errors && !matches!(self.mode, Mode::Closed) {
            // Postfix's smtpd_hard_error_limit: give up on a client that keeps failing.
            Reply::fixed(421, Some((4, 7, 0)), "Too many errors, closing connection")
                .encode(&mut self.output);
            self.close();
        }
    }

    fn unread(&self) -> &[u8] {
        &self.input[self.consumed..]
    }

    fn skip_line(&mut self) -> Step {
        match memchr::memchr(b'\n', self.unread()) {
            Some(lf) => {
                self.consumed += lf + 1;
                self.mode = Mode::Commands;
                Step::Continue
            }
            None => {
                self.consumed = self.input.len();
                Step::NeedInput
            }
        }
    }

    fn next_auth_line(&mut self) -> Step {
        match decode_auth_line(self.unread(), self.options.max_auth_line) {
            Ok((rest, line)) => {
                self.consumed = self.input.len() - rest.len();
                self.mode = Mode::Commands;
                match line {
                    AuthLine::Cancel => {
                        // RFC 4954 §4: "If the client wishes to cancel the authentication
                        // exchange, it issues a line with a single "*". If the server receives
                        // such a response, it MUST reject the AUTH command by sending a 501
                        // reply."
                        self.protocol_error(Reply::fixed(
                            501,
                            Some((5, 0, 0)),
                            "Authentication cancelled",
                        ));
                        Step::Continue
                    }
                    AuthLine::Response(secret) => {
                        self.pending = Pending::Auth;
                        Step::Emit(Located::Auth(secret))
                    }
                }
            }
            Err(CommandError::Incomplete) => Step::NeedInput,
            Err(CommandError::LineTooLong { .. }) => {
                self.mode = Mode::SkipLine;
                // RFC 4954: 500 with enhanced status 5.5.6 when an authentication exchange line
                // is too long.
                self.protocol_error(Reply::fixed(
                    500,
                    Some((5, 5, 6)),
                    "Authentication Exchange line is too long",
                ));
                Step::Continue
            }
            Err(e) => {
                self.consumed += e.line_len().unwrap_or(0);
                self.mode = Mode::Commands;
                // RFC 4954 §4: "If the server cannot [BASE64] decode any client response, it
                // MUST reject the AUTH command with a 501 reply".
                self.protocol_error(Reply::fixed(
                    501,
                    Some((5, 5, 2)),
                    "Invalid base64 in SASL response",
                ));
                Step::Continue
            }
        }
    }

    fn next_data(&mut self) -> Step {
        let Mode::Data(decoder) = &mut self.mode else {
            return Step::NeedInput;
        };
        let start = self.consumed;
        let (used, found) = decoder.decode_indexed(&self.input[start..]);
        self.consumed += used;
        match found {
            None => Step::NeedInput,
            Some(Found::Range(from, to)) => Step::Emit(Located::Chunk(start + from, start + to)),
            Some(Found::Cr) => {
                // Re-insert the CR in front of the unread input so it can be borrowed.
                let at = self.consumed;
                self.input.insert(at, b'\r');
                self.consumed = at + 1;
                Step::Emit(Located::Chunk(at, at + 1))
            }
            Some(Found::End(outcome)) => {
                self.mode = Mode::Commands;
                self.message_end(outcome, true)
            }
        }
    }

    fn message_end(&mut self, outcome: Result<u64, DataError>, last: bool) -> Step {
        match outcome {
            Ok(_) => {
                let replies_left = if self.config.lmtp && last {
                    self.transaction.recipients.max(1)
                } else {
                    1
                };
                self.pending = if last {
                    Pending::MessageEnd { replies_left }
                } else {
                    Pending::Chunk
                };
            }
            Err(problem) => {
                problem.reply().encode(&mut self.output);
                self.transaction = Transaction::default();
            }
        }
        Step::Emit(Located::End(outcome, last))
    }

    fn next_bdat(&mut self) -> Step {
        let Mode::Bdat {
            decoder,
            last,
            accepted,
        } = &mut self.mode
        else {
            return Step::NeedInput;
        };
        let (last, accepted) = (*last, *accepted);
        let start = self.consumed;
        let (used, event) = decoder.decode(&self.input[start..]);
        self.consumed += used;
        match event {
            None => Step::NeedInput,
            Some(BdatEvent::Chunk(chunk)) if accepted => {
                Step::Emit(Located::Chunk(start, start + chunk.len()))
            }
            Some(BdatEvent::Chunk(_)) => Step::Continue,
            Some(BdatEvent::End(outcome)) => {
                self.mode = Mode::Commands;
                if !accepted {
                    // RFC 3030 §2: the octets were read; now refuse the out-of-sequence BDAT.
                    self.protocol_error(Reply::fixed(
                        503,
                        Some((5, 5, 1)),
                        "Bad sequence of commands",
                    ));
                    return Step::Continue;
                }
                if let Ok(size) = outcome {
                    self.transaction.received = size;
                }
                self.message_end(outcome, last)
            }
        }
    }

    fn next_command(&mut self) -> Step {
        // RFC 4954 §4: an AUTH line with an initial response may be longer than 512 octets
        // (SASL tokens such as OAuth bearer tokens are); it gets the SASL line limit.
        let auth = crate::address::strip_prefix_ignore_case(self.unread(), b"AUTH ").is_some();
        let max = if auth {
            self.options
                .max_auth_line
                .max(self.options.max_command_line)
        } else {
            self.options.max_command_line
        };
        let (rest_len, command) = match decode_command(self.unread(), max) {
            Ok((rest, command)) => (rest.len(), command.into_owned()),
            Err(CommandError::Incomplete) => return Step::NeedInput,
            Err(CommandError::LineTooLong { .. }) => {
                self.mode = Mode::SkipLine;
                // RFC 5321 §4.5.3.1.9: "500 Line too long."
                self.protocol_error(Reply::fixed(500, Some((5, 5, 2)), "Line too long"));
                return Step::Continue;
            }
            Err(error) => {
                self.consumed += error.line_len().unwrap_or(0);
                let reply = match error {
                    CommandError::Syntax { expected, .. } => {
                        let text = format!("Syntax: {expected}");
                        Reply::new(
                            ReplyCode::PARAMETER_SYNTAX_ERROR,
                            crate::reply::EnhancedStatus::new(5, 5, 4),
                            [text],
                        )
                        .unwrap_or_else(|_| Reply::fixed(501, Some((5, 5, 4)), "Syntax error"))
                    }
                    CommandError::BareNewline { .. } => {
                        Reply::fixed(500, Some((5, 5, 2)), "Command lines must end with CRLF")
                    }
                    _ => Reply::fixed(500, Some((5, 5, 2)), "Command unrecognized"),
                };
                self.protocol_error(reply);
                return Step::Continue;
            }
        };
        self.consumed = self.input.len() - rest_len;
        self.dispatch(command, rest_len)
    }

    fn sequence_error(&mut self, text: &'static str) -> Step {
        self.protocol_error(Reply::fixed(503, Some((5, 5, 1)), text));
        Step::Continue
    }

    fn dispatch(&mut self, command: Command<'static>, pipelined_after: usize) -> Step {
        // Every complete command counts as progress for the idle deadline.
        self.progress = true;
        let lmtp = self.config.lmtp;
        match &command {
            Command::Ehlo(_) | Command::Helo(_) if lmtp => {
                // RFC 2033 §4.1: LMTP uses LHLO in place of HELO and EHLO.
                self.protocol_error(Reply::fixed(500, Some((5, 5, 1)), "LMTP requires LHLO"));
                return Step::Continue;
            }
            Command::Lhlo(_) if !lmtp => {
                self.protocol_error(Reply::fixed(500, Some((5, 5, 2)), "Command unrecognized"));
                return Step::Continue;
            }
            Command::Ehlo(_) | Command::Lhlo(_) => self.pending = Pending::Hello { esmtp: true },
            Command::Helo(_) => self.pending = Pending::Hello { esmtp: false },
            Command::Noop(_) => {
                Reply::fixed(250, Some((2, 0, 0)), "OK").encode(&mut self.output);
                return Step::Continue;
            }
            Command::Rset => {
                self.reset_transaction();
                Reply::fixed(250, Some((2, 0, 0)), "OK").encode(&mut self.output);
                return Step::Continue;
            }
            Command::Quit => {
                Reply::fixed(221, Some((2, 0, 0)), "Bye").encode(&mut self.output);
                self.reset_transaction();
                self.close();
                return Step::Continue;
            }
            Command::Help(_) => {
                Reply::fixed(214, Some((2, 0, 0)), "See RFC 5321").encode(&mut self.output);
                return Step::Continue;
            }
            // RFC 5321 §4.2.2: "252 Cannot VRFY user, but will accept message and attempt
            // delivery" (§3.5.3: "reply code 252 SHOULD be returned") is the reply that
            // discloses nothing.
            Command::Vrfy(_) => {
                Reply::fixed(
                    252,
                    Some((2, 1, 5)),
                    "Cannot VRFY user, but will accept message",
                )
                .encode(&mut self.output);
                return Step::Continue;
            }
            Command::Expn(_) => {
                self.protocol_error(Reply::fixed(502, Some((5, 5, 1)), "EXPN not available"));
                return Step::Continue;
            }
            Command::Mail { from, params } => {
                if let Some(step) = self.check_mail(from, params) {
                    return step;
                }
                self.pending = Pending::Mail {
                    binary: params.body == Some(Body::BinaryMime),
                };
            }
            Command::Rcpt { to, params } => {
                if !self.transaction.open {
                    return self.sequence_error("Need MAIL before RCPT");
                }
                if self.transaction.recipients >= self.options.max_recipients {
                    // RFC 5321 §4.5.3.1.9: "452 Too many recipients"; §4.5.3.1.10: "it MUST use a
                    // response code of 452"
                    Reply::fixed(452, Some((4, 5, 3)), "Too many recipients")
                        .encode(&mut self.output);
                    return Step::Continue;
                }
                if !to.is_ascii() && !self.config.smtputf8 {
                    self.protocol_error(Reply::fixed(
                        553,
                        Some((5, 6, 7)),
                        "Non-ASCII address needs SMTPUTF8",
                    ));
                    return Step::Continue;
                }
                if (params.notify.is_some() || params.orcpt.is_some()) && !self.config.dsn
                    || !params.other.is_empty()
                {
                    return self.unknown_parameters();
                }
                self.pending = Pending::Rcpt;
            }
            Command::Data => {
                if !self.transaction.open || self.transaction.recipients == 0 {
                    // RFC 5321 §3.3: "If there was no MAIL, or no RCPT, command, or all such
                    // commands were rejected, the server MAY return a "command out of
                    // sequence" (503) or "no valid recipients" (554) reply in response to the
                    // DATA command."
                    return self.sequence_error("Need MAIL and RCPT before DATA");
                }
                if self.transaction.binary {
                    // RFC 3030 §3: BINARYMIME messages "MUST" be sent with BDAT.
                    return self.sequence_error("BODY=BINARYMIME requires BDAT");
                }
                if pipelined_after > 0 {
                    // RFC 2920 §3.1: DATA "can only appear as the last command in a group";
                    // octets after it arrived before our 354, so the client did not wait.
                    // Where the commands resume is unknowable: refuse and close (Postfix's
                    // reject_unauth_pipelining).
                    Reply::fixed(
                        554,
                        Some((5, 5, 0)),
                        "Improper use of SMTP command pipelining",
                    )
                    .encode(&mut self.output);
                    self.reset_transaction();
                    self.close();
                    return Step::Continue;
                }
                self.pending = Pending::Data;
            }
            Command::Bdat { size, last } => return self.start_bdat(*size, *last),
            Command::StartTls => {
                if self.tls {
                    return self.sequence_error("TLS already active");
                }
                if !self.config.starttls {
                    self.protocol_error(Reply::fixed(454, Some((4, 7, 0)), "TLS not available"));
                    return Step::Continue;
                }
                self.pending = Pending::StartTls;
            }
            Command::Auth { mechanism, .. } => {
                if !self.config.auth_mechanisms.is_empty() && !self.auth_offered() {
                    // RFC 3207 §4: "530 Must issue a STARTTLS command first"
                    self.protocol_error(Reply::fixed(
                        530,
                        Some((5, 7, 0)),
                        "Must issue a STARTTLS command first",
                    ));
                    return Step::Continue;
                }
                if !self.auth_offered() || !self.esmtp {
                    self.protocol_error(Reply::fixed(503, Some((5, 5, 1)), "AUTH not available"));
                    return Step::Continue;
                }
                if self.authenticated {
                    // RFC 4954 §4: "After a successful AUTH command completes, a server MUST
                    // reject any further AUTH commands with a 503 reply."
                    return self.sequence_error("Already authenticated");
                }
                if self.transaction.open {
                    // RFC 4954 §4: "The AUTH command is not permitted during a mail
                    // transaction."
                    return self.sequence_error("AUTH not permitted during a mail transaction");
                }
                let known = self
                    .config
                    .auth_mechanisms
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(mechanism.as_str()));
                if !known {
                    // RFC 4954: 504 with enhanced status 5.5.4, unrecognized authentication type.
                    self.protocol_error(Reply::fixed(
                        504,
                        Some((5, 5, 4)),
                        "Unrecognized authentication type",
                    ));
                    return Step::Continue;
                }
                self.pending = Pending::Auth;
            }
        }
        Step::Emit(Located::Command(command))
    }

    /// The checks the session makes on MAIL before the application sees it; `Some` when it
    /// answered already.
    fn check_mail(
        &mut self,
        from: &ReversePath<'_>,
        params: &crate::command::MailParams<'_>,
    ) -> Option<Step> {
        if !self.greeted {
            // RFC 5321 §4.1.4: "A session that will contain mail transactions MUST first be
            // initialized by the use of the EHLO command."
            return Some(self.sequence_error("Send EHLO first"));
        }
        if self.transaction.open {
            return Some(self.sequence_error("Nested MAIL command"));
        }
        if let Some(size) = params.size
            && size > self.options.max_message_size
        {
            // RFC 1870 §6.1: "If the indicated size is larger than the server's fixed maximum
            // message size, the server responds with code "552 message size exceeds fixed
            // maximium message size"." (sic)
            Reply::fixed(
                552,
                Some((5, 3, 4)),
                "Message size exceeds fixed maximum message size",
            )
            .encode(&mut self.output);
            return Some(Step::Continue);
        }
        let uses_extensions = params.size.is_some()
            || params.body.is_some()
            || params.smtputf8
            || params.ret.is_some()
            || params.envid.is_some()
            || params.auth.is_some()
            || params.requiretls;
        let unsupported = !params.other.is_empty()
            || uses_extensions && !self.esmtp
            || params.smtputf8 && !self.config.smtputf8
            || params.body == Some(Body::BinaryMime) && !self.config.chunking
            || (params.ret.is_some() || params.envid.is_some()) && !self.config.dsn
            || params.requiretls && !(self.config.requiretls && self.tls);
        if unsupported {
            return Some(self.unknown_parameters());
        }
        if !from.is_ascii() && !params.smtputf8 {
            // RFC 6531 §3.4: a non-ASCII address without SMTPUTF8 is refused with "553 5.6.7".
            self.protocol_error(Reply::fixed(
                553,
                Some((5, 6, 7)),
                "Non-ASCII address needs SMTPUTF8",
            ));
            return Some(Step::Continue);
        }
        None
    }

    fn unknown_parameters(&mut self) -> Step {
        // RFC 5321 §4.2.2: "555 MAIL FROM/RCPT TO parameters not recognized or not
        // implemented"
        self.protocol_error(Reply::fixed(
            555,
            Some((5, 5, 4)),
            "Parameters not recognized or not implemented",
        ));
        Step::Continue
    }

    fn start_bdat(&mut self, size: u64, last: bool) -> Step {
        if !self.config.chunking {
            self.protocol_error(Reply::fixed(502, Some((5, 5, 1)), "CHUNKING not available"));
            return Step::Continue;
        }
        if size > self.options.max_message_size {
            // Skipping that many octets to find the next command is not worth it: refuse
            // and close (THREATS SMTP-05).
            Reply::fixed(
                552,
                Some((5, 3, 4)),
                "Message size exceeds fixed maximum message size",
            )
            .encode(&mut self.output);
            self.reset_transaction();
            self.close();
            return Step::Continue;
        }
        let accepted = self.transaction.open && self.transaction.recipients > 0;
        let decoder = BdatDecoder::new(
            size,
            self.transaction.received,
            self.options.max_message_size,
        );
        self.mode = Mode::Bdat {
            decoder,
            last,
            accepted,
        };
        Step::Continue
    }
}

/// An event located by indices into the input buffer, so `poll_event` can borrow it after
/// the state machine's own bookkeeping.
#[derive(Debug)]
enum Located {
    Command(Command<'static>),
    Auth(Secret<Vec<u8>>),
    Chunk(usize, usize),
    End(Result<u64, DataError>, bool),
}

#[derive(Debug)]
enum Step {
    Continue,
    NeedInput,
    Emit(Located),
}
