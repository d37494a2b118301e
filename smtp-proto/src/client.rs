//! The sans-IO client session, what an outbound relay drives: greeting, EHLO, STARTTLS,
//! AUTH, MAIL, RCPT, DATA or BDAT, with PIPELINING when the server offers it.
//!
//! # Call order
//!
//! ```text
//! let mut client = Client::new(options);             // waits for the 220 greeting
//! loop {
//!     read from the socket, client.handle_input(&bytes)?
//!     while let Some(event) = client.poll_event() {
//!         match event {
//!             ClientEvent::Reply { to: Sent::Greeting, .. } => client.send(&Command::Ehlo(..))?,
//!             ClientEvent::Reply { to: Sent::Ehlo, .. }     => client.extensions() now known;
//!                                                             send STARTTLS, AUTH or MAIL
//!             ClientEvent::StartTls => flush, TLS handshake, client.tls_established()?, EHLO again
//!             ClientEvent::Reply { to: Sent::Mail | Sent::Rcpt, .. } => check the code
//!             ClientEvent::Reply { to: Sent::Data, reply } if reply.code() == 354 =>
//!                 client.send_data(body)?; client.finish_data()?
//!             ClientEvent::Reply { to: Sent::MessageEnd, .. } => the message is delivered or not
//!             ClientEvent::Closed => close the socket
//!             ...
//!         }
//!     }
//!     client.poll_transmit(&mut out); write `out` to the socket
//!     client.handle_timeout(now); sleep no longer than client.poll_timeout()
//!     (ClientEvent::TimedOut: the server did not answer in time; close)
//! }
//! ```
//!
//! [`Client::send`] refuses a command when the server must answer first: before the
//! greeting, while a reply is outstanding and PIPELINING is not offered, and after a command
//! that RFC 2920 §3.1 says must end a group (EHLO, DATA, VRFY, EXPN, QUIT, NOOP, STARTTLS,
//! AUTH). Message content goes through [`crate::encode_data::DataEncoder`], so it is always
//! dot-stuffed with CRLF line ends.

use std::{collections::VecDeque, time::Instant};

use crate::{
    base64,
    command::{AuthLine, Command},
    ehlo::EhloResponse,
    encode_data::DataEncoder,
    options::Options,
    reply::{Reply, ReplyCode, ReplyError, decode_reply},
};

/// What a reply answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sent {
    /// The connection itself: the 220 greeting.
    Greeting,
    /// EHLO.
    Ehlo,
    /// HELO.
    Helo,
    /// LHLO.
    Lhlo,
    /// MAIL.
    Mail,
    /// RCPT.
    Rcpt,
    /// DATA (the 354 or a refusal).
    Data,
    /// The end of the message: after DATA content, or BDAT LAST. Under LMTP one reply per
    /// accepted recipient.
    MessageEnd,
    /// A BDAT chunk that is not the last.
    Bdat,
    /// RSET.
    Rset,
    /// NOOP.
    Noop,
    /// QUIT.
    Quit,
    /// VRFY.
    Vrfy,
    /// EXPN.
    Expn,
    /// HELP.
    Help,
    /// STARTTLS.
    StartTls,
    /// AUTH, and each SASL response line.
    Auth,
}

/// Misuse of the state machine by the caller, or a broken server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server must answer before this can be sent (no greeting yet, PIPELINING not
    /// offered, or the previous command ends a group).
    #[error("must wait for the server's reply")]
    MustWait,
    /// Not possible in this state (e.g. message content without a 354, BDAT without CHUNKING,
    /// a SASL line outside AUTH).
    #[error("not allowed in this state")]
    WrongState,
    /// Use the dedicated method: [`Client::send_bdat`] for BDAT.
    #[error("use the dedicated method for this command")]
    UseDedicatedMethod,
    /// The session is over.
    #[error("session closed")]
    Closed,
    /// The input buffer would exceed its limit.
    #[error("input buffer full; poll events first")]
    BufferFull,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// A reply to what was sent.
    Reply {
        /// What it answers.
        to: Sent,
        /// The reply.
        reply: Reply<'static>,
    },
    /// The server accepted STARTTLS: flush the output, run the TLS handshake, then call
    /// [`Client::tls_established`] and send EHLO again.
    StartTls,
    /// The server closed the session (221 to QUIT, or 421 at any time), or sent something
    /// that is not a reply: close the connection.
    Closed,
    /// The server sent bytes that are not a valid reply; the session is closed.
    Malformed(ReplyError),
    /// No reply arrived in time ([`Options::reply_timeout`],
    /// [`Options::message_end_timeout`]); the session is closed.
    TimedOut,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Ready,
    /// After a 354: message content may be sent.
    Content(DataEncoder),
    TlsHandshake,
    Closed,
}

/// A client session; see the [module docs](self) for the call order.
#[derive(Debug)]
pub struct Client {
    options: Options,
    input: Vec<u8>,
    output: Vec<u8>,
    awaiting: VecDeque<Sent>,
    group_ended: bool,
    phase: Phase,
    extensions: Option<EhloResponse<'static>>,
    accepted_recipients: usize,
    lmtp: bool,
    lmtp_replies_left: Option<usize>,
    closed_reported: bool,
    deadline: Option<Instant>,
    progress: bool,
    timed_out: bool,
}

impl Client {
    /// An SMTP client on a fresh connection, waiting for the greeting.
    pub fn new(options: Options) -> Self {
        Client {
            options,
            input: Vec::new(),
            output: Vec::new(),
            awaiting: VecDeque::from([Sent::Greeting]),
            group_ended: true,
            phase: Phase::Ready,
            extensions: None,
            accepted_recipients: 0,
            lmtp: false,
            lmtp_replies_left: None,
            closed_reported: false,
            deadline: None,
            progress: false,
            timed_out: false,
        }
    }

    /// An LMTP client (RFC 2033): after the message, one reply per accepted recipient.
    pub fn new_lmtp(options: Options) -> Self {
        Client {
            lmtp: true,
            ..Client::new(options)
        }
    }

    /// The EHLO/LHLO keywords of the server, once known (forgotten at STARTTLS).
    pub fn extensions(&self) -> Option<&EhloResponse<'static>> {
        self.extensions.as_ref()
    }

    /// Recipients the server accepted in the current transaction.
    pub fn accepted_recipients(&self) -> usize {
        self.accepted_recipients
    }

    /// Whether a reply is still outstanding.
    pub fn is_waiting(&self) -> bool {
        !self.awaiting.is_empty()
    }

    fn offers(&self, keyword: &str) -> bool {
        self.extensions.as_ref().is_some_and(|e| e.has(keyword))
    }

    /// Passes octets read from the connection.
    pub fn handle_input(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        match self.phase {
            Phase::Closed => return Err(ClientError::Closed),
            Phase::TlsHandshake => return Err(ClientError::WrongState),
            _ => {}
        }
        let limit = self
            .options
            .max_text_line
            .saturating_mul(self.options.max_reply_lines);
        if self.input.len() + bytes.len()
            > limit.max(self.options.max_text_line) + self.options.max_chunk
        {
            return Err(ClientError::BufferFull);
        }
        self.input.extend_from_slice(bytes);
        Ok(())
    }

    /// Moves pending octets into `out`; returns how many.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> usize {
        let n = self.output.len();
        out.append(&mut self.output);
        n
    }

    /// Passes the current time. Call it after sending or receiving and whenever the instant
    /// from [`Client::poll_timeout`] has passed. While a reply is outstanding the deadline is
    /// armed from the first call after progress (a reply received, a command sent); past it
    /// the session closes with [`ClientEvent::TimedOut`]. The client never reads the clock.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(&front) = self.awaiting.front() else {
            self.deadline = None;
            return;
        };
        if matches!(self.phase, Phase::Closed | Phase::TlsHandshake) {
            self.deadline = None;
            return;
        }
        match self.deadline {
            Some(deadline) if !self.progress && now >= deadline => {
                self.close();
                self.timed_out = true;
                self.closed_reported = true;
                self.deadline = None;
            }
            Some(_) if !self.progress => {}
            _ => {
                let wait = if front == Sent::MessageEnd {
                    self.options.message_end_timeout
                } else {
                    self.options.reply_timeout
                };
                self.deadline = Some(now + wait);
                self.progress = false;
            }
        }
    }

    /// When [`Client::handle_timeout`] must be called next, if a reply is awaited.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// The next reply or state change, or `None` when more input is needed.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        if std::mem::take(&mut self.timed_out) {
            return Some(ClientEvent::TimedOut);
        }
        if matches!(self.phase, Phase::Closed | Phase::TlsHandshake) {
            if self.phase == Phase::Closed && !self.closed_reported {
                self.closed_reported = true;
                return Some(ClientEvent::Closed);
            }
            return None;
        }
        let (used, reply) = match decode_reply(
            &self.input,
            self.options.max_text_line,
            self.options.max_reply_lines,
        ) {
            Ok((rest, reply)) => (self.input.len() - rest.len(), reply.into_owned()),
            Err(ReplyError::Incomplete) => return None,
            Err(error) => {
                self.close();
                self.closed_reported = true;
                return Some(ClientEvent::Malformed(error));
            }
        };
        self.input.drain(..used);
        self.progress = true;
        let code = reply.code();
        let Some(to) = self.awaiting.front().copied() else {
            // RFC 5321 §3.8: a server may send 421 at any time; anything else unasked for is
            // a broken server.
            self.close();
            self.closed_reported = true;
            return Some(if code == ReplyCode::SERVICE_NOT_AVAILABLE {
                ClientEvent::Closed
            } else {
                ClientEvent::Malformed(ReplyError::Malformed("reply without a command"))
            });
        };
        self.consume_awaiting(to);
        self.apply(to, &reply);
        if code == ReplyCode::SERVICE_NOT_AVAILABLE || (to == Sent::Quit && code.is_positive()) {
            self.close();
        }
        if to == Sent::StartTls && code.is_positive() {
            // RFC 3207 §4.2: "The client MUST discard any knowledge obtained from the
            // server, such as the list of SMTP service extensions, which was not obtained
            // from the TLS negotiation itself." Octets after the 220 came in plaintext and
            // are dropped unread (response injection).
            self.input.clear();
            self.extensions = None;
            self.phase = Phase::TlsHandshake;
            self.awaiting.clear();
            return Some(ClientEvent::StartTls);
        }
        Some(ClientEvent::Reply { to, reply })
    }

    fn consume_awaiting(&mut self, to: Sent) {
        if to == Sent::MessageEnd && self.lmtp {
            let left = self
                .lmtp_replies_left
                .unwrap_or(self.accepted_recipients.max(1));
            if left > 1 {
                self.lmtp_replies_left = Some(left - 1);
                return;
            }
            self.lmtp_replies_left = None;
        }
        self.awaiting.pop_front();
    }

    fn apply(&mut self, to: Sent, reply: &Reply<'static>) {
        let code = reply.code();
        match to {
            Sent::Ehlo | Sent::Lhlo if code.is_positive() => {
                self.extensions = EhloResponse::from_reply(reply).ok();
                self.accepted_recipients = 0;
            }
            Sent::Mail => self.accepted_recipients = 0,
            Sent::Rcpt if code.is_positive() => self.accepted_recipients += 1,
            Sent::Data if code == ReplyCode::START_MAIL_INPUT => {
                self.phase = Phase::Content(DataEncoder::new())
            }
            Sent::Rset => self.accepted_recipients = 0,
            _ => {}
        }
    }

    fn close(&mut self) {
        self.phase = Phase::Closed;
        self.awaiting.clear();
    }

    fn ready_to_send(&self) -> Result<(), ClientError> {
        match self.phase {
            Phase::Closed => return Err(ClientError::Closed),
            Phase::Ready => {}
            _ => return Err(ClientError::WrongState),
        }
        if self.awaiting.is_empty() {
            return Ok(());
        }
        // RFC 2920 §3.1: commands may be sent without waiting only when the server offers
        // PIPELINING and the previous command does not end a group.
        if self.awaiting.contains(&Sent::Greeting) || self.group_ended || !self.offers("PIPELINING")
        {
            return Err(ClientError::MustWait);
        }
        Ok(())
    }

    /// Sends a command. BDAT goes through [`Client::send_bdat`].
    pub fn send(&mut self, command: &Command<'_>) -> Result<(), ClientError> {
        let (sent, group_ending) = match command {
            Command::Ehlo(_) => (Sent::Ehlo, true),
            Command::Helo(_) => (Sent::Helo, true),
            Command::Lhlo(_) => (Sent::Lhlo, true),
            Command::Mail { .. } => (Sent::Mail, false),
            Command::Rcpt { .. } => (Sent::Rcpt, false),
            Command::Data => (Sent::Data, true),
            Command::Bdat { .. } => return Err(ClientError::UseDedicatedMethod),
            Command::Rset => (Sent::Rset, false),
            Command::Noop(_) => (Sent::Noop, true),
            Command::Quit => (Sent::Quit, true),
            Command::Vrfy(_) => (Sent::Vrfy, true),
            Command::Expn(_) => (Sent::Expn, true),
            Command::Help(_) => (Sent::Help, true),
            Command::StartTls => (Sent::StartTls, true),
            Command::Auth { .. } => (Sent::Auth, true),
        };
        self.ready_to_send()?;
        command.encode(&mut self.output);
        self.progress = true;
        self.awaiting.push_back(sent);
        self.group_ended = group_ending;
        Ok(())
    }

    /// Sends one SASL response line after a 334 to AUTH.
    pub fn send_auth_line(&mut self, line: &AuthLine) -> Result<(), ClientError> {
        if !self.awaiting.is_empty() || self.phase != Phase::Ready {
            return Err(ClientError::WrongState);
        }
        line.encode(&mut self.output);
        self.progress = true;
        self.awaiting.push_back(Sent::Auth);
        self.group_ended = true;
        Ok(())
    }

    /// Sends message content after the 354; it is CRLF-normalised and dot-stuffed.
    pub fn send_data(&mut self, chunk: &[u8]) -> Result<(), ClientError> {
        match &mut self.phase {
            Phase::Content(encoder) => {
                encoder.encode(chunk, &mut self.output);
                Ok(())
            }
            Phase::Closed => Err(ClientError::Closed),
            _ => Err(ClientError::WrongState),
        }
    }

    /// Ends the message content with `CRLF.CRLF`; the reply arrives as
    /// [`Sent::MessageEnd`].
    pub fn finish_data(&mut self) -> Result<(), ClientError> {
        match std::mem::replace(&mut self.phase, Phase::Ready) {
            Phase::Content(encoder) => {
                encoder.finish(&mut self.output);
                self.progress = true;
                self.awaiting.push_back(Sent::MessageEnd);
                // RFC 2920 §3.1: "The actual transfer of message content is explicitly
                // allowed to be the first "command" in a group", so MAIL may follow at once.
                self.group_ended = false;
                Ok(())
            }
            other => {
                self.phase = other;
                Err(ClientError::WrongState)
            }
        }
    }

    /// Sends `BDAT <len> [LAST]` and the chunk (RFC 3030). Needs CHUNKING; chunks may be
    /// pipelined when PIPELINING is offered.
    pub fn send_bdat(&mut self, chunk: &[u8], last: bool) -> Result<(), ClientError> {
        if !self.offers("CHUNKING") {
            return Err(ClientError::WrongState);
        }
        self.ready_to_send()?;
        Command::Bdat {
            size: chunk.len() as u64,
            last,
        }
        .encode(&mut self.output);
        self.output.extend_from_slice(chunk);
        self.progress = true;
        self.awaiting
            .push_back(if last { Sent::MessageEnd } else { Sent::Bdat });
        self.group_ended = false;
        Ok(())
    }

    /// Call after the TLS handshake that followed [`ClientEvent::StartTls`]; then send EHLO.
    pub fn tls_established(&mut self) -> Result<(), ClientError> {
        if self.phase != Phase::TlsHandshake {
            return Err(ClientError::WrongState);
        }
        self.phase = Phase::Ready;
        self.group_ended = true;
        self.accepted_recipients = 0;
        Ok(())
    }
}

/// The decoded challenge of a 334 reply to AUTH (RFC 4954 §4), or `None` if the text is not
/// base64.
pub fn auth_challenge(reply: &Reply<'_>) -> Option<Vec<u8>> {
    if reply.code() != ReplyCode::AUTH_CHALLENGE {
        return None;
    }
    base64::decode(reply.lines().first()?.trim_end().as_bytes())
}
