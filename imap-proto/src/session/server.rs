//! The server side of a session.
//!
//! The session frames input ([`crate::fragmentizer`]), decodes commands, answers what the
//! protocol itself dictates (continuation requests for literals, `BAD` for malformed or
//! oversized commands and for commands not valid in the current state) and leaves every
//! decision about mail to the caller, which answers [`ServerEvent::Command`]s with
//! [`ServerSession::send_data`] and [`ServerSession::send_tagged`].
//!
//! AUTHENTICATE, IDLE and STARTTLS change what the client sends next; the session holds
//! further input back until the caller has decided (`authenticate_challenge`,
//! `idle_accept`, or the tagged response).
//!
//! An APPEND whose message is longer than `literal_stream_threshold` is not buffered: it
//! arrives as [`ServerEvent::AppendStart`], [`ServerEvent::AppendData`] chunks and
//! [`ServerEvent::AppendMessageEnd`], then [`ServerEvent::AppendDone`] when the command is
//! complete (small further MULTIAPPEND messages come whole as [`ServerEvent::AppendMessage`]).
//! Any other command with such a literal is refused without reading it as a command.

use std::{
    collections::VecDeque,
    num::NonZeroU32,
    time::{Duration, Instant},
};

use super::{SessionError, State};
use crate::{
    codec::{CommandCodec, DecodeError, DecodeErrorKind},
    encode::Encode,
    fragmentizer::{Fragmentizer, FramingEvent, RejectReason},
    options::Options,
    parse::command::{append_head, append_next_head, append_tail},
    types::{
        command::{AppendMessage, Base64, Command, CommandBody},
        core::Number64,
        core::{LiteralMode, Tag},
        datetime::DateTime,
        fetch::Section,
        flag::Flag,
        mailbox::Mailbox,
        response::{
            Code, Continuation, Data, FetchData, Greeting, GreetingKind, Response, ResponseText,
            SimpleCode, StatusKind, Tagged, Text,
        },
        secret::Secret,
    },
};

/// What the caller must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// A command, valid in the current state; answer it with data and a tagged status.
    Command(Command),
    /// The client's answer to an authentication challenge; `None` means it cancelled (the
    /// session already answered `BAD` and left the exchange).
    AuthenticateData {
        /// The AUTHENTICATE command's tag.
        tag: Tag,
        /// The base64 response.
        data: Option<Secret<Base64>>,
    },
    /// The client ended IDLE with `DONE`; send the IDLE command's tagged OK.
    IdleDone {
        /// The IDLE command's tag.
        tag: Tag,
    },
    /// The STARTTLS OK went out: start the TLS handshake now. Buffered plaintext was
    /// discarded, so nothing the client pipelined behind STARTTLS is ever executed.
    StartTls {
        /// Bytes thrown away.
        discarded: usize,
    },
    /// A streamed APPEND message begins; its octets follow as [`ServerEvent::AppendData`].
    AppendStart {
        /// The APPEND command's tag.
        tag: Tag,
        /// The destination.
        mailbox: Mailbox,
        /// Flags for the message.
        flags: Option<Vec<Flag>>,
        /// Its internal date.
        date: Option<DateTime>,
        /// Its size in octets.
        length: u64,
        /// Sent as `literal8` (RFC 3516).
        binary: bool,
        /// Sent in RFC 6855's `UTF8 (~{n}…)` form: a message with UTF-8 headers, which only
        /// a session with UTF8=ACCEPT enabled accepts.
        utf8: bool,
    },
    /// A chunk of the message announced by the last `AppendStart`.
    AppendData {
        /// The APPEND command's tag.
        tag: Tag,
        /// The octets.
        data: Vec<u8>,
    },
    /// The streamed message is complete.
    AppendMessageEnd {
        /// The APPEND command's tag.
        tag: Tag,
    },
    /// A small further message of a MULTIAPPEND (RFC 3502), whole.
    AppendMessage {
        /// The APPEND command's tag.
        tag: Tag,
        /// The message.
        message: AppendMessage,
    },
    /// The streamed APPEND command is complete; answer it with a tagged response.
    AppendDone {
        /// The APPEND command's tag.
        tag: Tag,
    },
    /// Input was refused and already answered with `BAD`; for logs and abuse counters.
    Refused {
        /// The command's tag, if it could be read.
        tag: Option<Tag>,
        /// Why.
        reason: Refusal,
    },
}

/// Why input was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// Over a size limit.
    TooBig(RejectReason),
    /// Not valid syntax.
    Malformed(DecodeErrorKind),
    /// Valid, but not in this state (RFC 9051 §3).
    WrongState,
}

/// Which grammar the next message follows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Command,
    /// AUTHENTICATE was handed out; input waits until the caller challenges or finishes.
    AuthenticateDecision(Tag),
    /// A challenge went out; the next line is the client's answer.
    AuthenticateData(Tag),
    /// IDLE was handed out; input waits until the caller accepts or refuses.
    IdleDecision(Tag),
    /// IDLE was accepted; the next line must be DONE.
    IdleDone(Tag),
    /// DONE arrived; input waits until the caller sends IDLE's tagged response.
    IdleCompletion(Tag),
    /// STARTTLS was handed out; input waits for the caller's tagged response.
    StartTls(Tag),
    /// A streamed APPEND literal is being read.
    AppendData {
        tag: Tag,
        mailbox: Mailbox,
        remaining: u64,
        /// The literal sits in `UTF8 (…)`, so the tail starts with `)`.
        close_utf8: bool,
    },
    /// A streamed APPEND literal ended; the rest of the command follows.
    AppendTail {
        tag: Tag,
        mailbox: Mailbox,
        close_utf8: bool,
    },
}

/// The server side of one connection. See the module docs for the call order.
#[derive(Debug)]
pub struct ServerSession {
    framer: Fragmentizer,
    codec: CommandCodec,
    state: State,
    expect: Expect,
    /// Commands awaiting their tagged response; `None` for a streamed APPEND.
    in_progress: Vec<(Tag, Option<CommandBody>)>,
    output: Vec<u8>,
    /// Octets still owed to a streamed FETCH literal.
    streaming_fetch: Option<u64>,
    /// Refused commands since the last accepted one.
    bad_in_a_row: usize,
    /// UTF8=ACCEPT (RFC 6855) was enabled: the caller sent `* ENABLED` naming it.
    utf8_accept: bool,
    max_bad_commands: usize,
    /// When the client last sent something, as told by `handle_input_at`.
    last_activity: Option<Instant>,
    idle_timeout: Duration,
    unauthenticated_timeout: Duration,
    events: VecDeque<ServerEvent>,
}

impl ServerSession {
    /// A session that greets the client with `greeting`.
    pub fn new(options: Options, greeting: Greeting) -> Self {
        let state = match greeting.kind {
            GreetingKind::Ok => State::NotAuthenticated,
            GreetingKind::PreAuth => State::Authenticated,
            GreetingKind::Bye => State::Logout,
        };
        let max_bad_commands = options.max_bad_commands;
        let (idle_timeout, unauthenticated_timeout) =
            (options.idle_timeout, options.unauthenticated_timeout);
        Self {
            framer: Fragmentizer::new(options.clone()),
            codec: CommandCodec::new(options),
            state,
            expect: Expect::Command,
            in_progress: Vec::new(),
            output: greeting.encode().dump(),
            streaming_fetch: None,
            bad_in_a_row: 0,
            utf8_accept: false,
            max_bad_commands,
            last_activity: None,
            idle_timeout,
            unauthenticated_timeout,
            events: VecDeque::new(),
        }
    }

    /// The protocol state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether UTF8=ACCEPT (RFC 6855) is enabled: it is once the caller answers ENABLE with
    /// `* ENABLED` naming it ([`ServerSession::send_data`] with [`Data::Enabled`]). From then
    /// on commands are read with UTF-8 mailbox names and responses name mailboxes in UTF-8.
    pub fn utf8_accept(&self) -> bool {
        self.utf8_accept
    }

    /// Bytes read from the client.
    pub fn handle_input(&mut self, bytes: &[u8]) {
        self.framer.handle_input(bytes);
    }

    /// Bytes read but not yet framed. While the session waits for the caller (an
    /// AUTHENTICATE, IDLE or STARTTLS decision) input is held here; stop reading from the
    /// socket once this passes your budget, so a client that pipelines cannot make it grow.
    pub fn buffered(&self) -> usize {
        self.framer.buffered()
    }

    /// Bytes read from the client at `now`; also restarts the inactivity timer.
    pub fn handle_input_at(&mut self, bytes: &[u8], now: Instant) {
        self.last_activity = Some(now);
        self.handle_input(bytes);
    }

    /// When [`ServerSession::handle_timeout`] must be called next, if ever: the inactivity
    /// deadline, known once the caller passes time in with `handle_input_at`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == State::Logout {
            return None;
        }
        let limit = match self.state {
            State::NotAuthenticated => self.unauthenticated_timeout,
            _ => self.idle_timeout,
        };
        self.last_activity?.checked_add(limit)
    }

    /// Logs the client out (`* BYE`) if the inactivity deadline has passed at `now`; returns
    /// whether it did.
    pub fn handle_timeout(&mut self, now: Instant) -> bool {
        match self.poll_timeout() {
            Some(deadline) if now >= deadline => {
                self.send_data(Data::Bye(ResponseText {
                    code: None,
                    // A fixed, valid text.
                    text: Text::try_from("Autologout; idle for too long")
                        .unwrap_or_else(|_| unreachable!()),
                }));
                true
            }
            _ => false,
        }
    }

    /// Appends the bytes to send to `buf`; returns how many.
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> usize {
        let n = self.output.len();
        buf.append(&mut self.output);
        n
    }

    /// The next event, or `None` when more input is needed or the caller must answer first.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Some(event);
            }
            if self.state == State::Logout || self.waiting_for_caller() {
                return None;
            }
            let framed = self.framer.poll_event()?;
            self.handle_framed(framed);
        }
    }

    fn waiting_for_caller(&self) -> bool {
        matches!(
            self.expect,
            Expect::AuthenticateDecision(_)
                | Expect::IdleDecision(_)
                | Expect::IdleCompletion(_)
                | Expect::StartTls(_)
        )
    }

    fn handle_framed(&mut self, framed: FramingEvent) {
        match framed {
            FramingEvent::ContinuationNeeded { .. } => {
                // RFC 3501 §7.5: the continuation request "indicates that the server is
                // ready to accept the continuation of a command from the client".
                self.push_continuation("Ready for literal data");
            }
            FramingEvent::Rejected { tag, reason } => {
                if let Expect::AppendData { tag, .. } | Expect::AppendTail { tag, .. } =
                    self.expect.clone()
                {
                    self.finish(&tag);
                }
                let (code, text) = match reason {
                    RejectReason::LiteralTooLarge { .. } | RejectReason::MessageTooLarge => {
                        (Some(Code::Simple(SimpleCode::TooBig)), "Command too long")
                    }
                    RejectReason::LineTooLong => (None, "Command too long"),
                    _ => (None, "Literal refused"),
                };
                self.push_bad(tag.clone(), code, text);
                self.refused(tag, Refusal::TooBig(reason));
            }
            FramingEvent::Message(message) => self.handle_message(&message),
            FramingEvent::MessageHead { data, length, mode } => {
                self.handle_head(&data, length, mode);
            }
            FramingEvent::LiteralData(data) => self.handle_chunk(data),
        }
    }

    /// A message whose literal is streamed: only APPEND may do that.
    fn handle_head(&mut self, data: &[u8], length: u64, mode: LiteralMode) {
        let start = match self.expect.clone() {
            Expect::Command => match append_head(data, self.utf8_accept) {
                Ok((_, (tag, mailbox, head)))
                    if matches!(self.state, State::Authenticated | State::Selected) =>
                {
                    self.in_progress.push((tag.clone(), None));
                    Some((tag, mailbox, head))
                }
                _ => None,
            },
            Expect::AppendTail {
                tag,
                mailbox,
                close_utf8,
            } => {
                // After a `UTF8 (` literal the next message starts behind its `)`.
                let data = if close_utf8 {
                    data.strip_prefix(b")")
                } else {
                    Some(data)
                };
                match data.map(|data| append_next_head(data, self.utf8_accept)) {
                    Some(Ok((_, head))) => Some((tag, mailbox, head)),
                    _ => {
                        self.finish(&tag);
                        None
                    }
                }
            }
            _ => None,
        };
        let Some((tag, mailbox, head)) = start else {
            // The framer answers with Rejected, which becomes a tagged BAD.
            self.framer.reject_streamed_literal();
            return;
        };
        if mode == LiteralMode::Sync {
            self.push_continuation("Ready for literal data");
        }
        self.expect = Expect::AppendData {
            tag: tag.clone(),
            mailbox: mailbox.clone(),
            remaining: length,
            close_utf8: head.utf8,
        };
        self.events.push_back(ServerEvent::AppendStart {
            tag,
            mailbox,
            flags: head.flags,
            date: head.date,
            length,
            binary: head.binary,
            utf8: head.utf8,
        });
    }

    fn handle_chunk(&mut self, data: Vec<u8>) {
        let Expect::AppendData {
            tag,
            mailbox,
            remaining,
            close_utf8,
        } = self.expect.clone()
        else {
            return;
        };
        let remaining = remaining.saturating_sub(data.len() as u64);
        self.events.push_back(ServerEvent::AppendData {
            tag: tag.clone(),
            data,
        });
        if remaining == 0 {
            self.events
                .push_back(ServerEvent::AppendMessageEnd { tag: tag.clone() });
            self.expect = Expect::AppendTail {
                tag,
                mailbox,
                close_utf8,
            };
        } else {
            self.expect = Expect::AppendData {
                tag,
                mailbox,
                remaining,
                close_utf8,
            };
        }
    }

    /// The rest of a streamed APPEND: more (small) messages, then CRLF.
    fn handle_append_tail(&mut self, tag: Tag, close_utf8: bool, message: &[u8]) {
        self.expect = Expect::Command;
        match append_tail(message, close_utf8, self.utf8_accept) {
            Ok(([], messages)) => {
                for message in messages {
                    self.events.push_back(ServerEvent::AppendMessage {
                        tag: tag.clone(),
                        message,
                    });
                }
                self.events.push_back(ServerEvent::AppendDone { tag });
            }
            _ => {
                self.finish(&tag);
                self.push_bad(Some(tag.clone()), None, "Syntax error");
                self.refused(Some(tag), Refusal::Malformed(DecodeErrorKind::Syntax));
            }
        }
    }

    fn handle_message(&mut self, message: &[u8]) {
        match self.expect.clone() {
            Expect::AuthenticateData(tag) => {
                match self.codec.decode_authenticate_data(message) {
                    Ok((_, data)) => {
                        if data.is_none() {
                            // RFC 3501 §6.2.2: "If the client wishes to cancel an
                            // authentication exchange, it issues a line consisting of a
                            // single "*". If the server receives such a response, it MUST
                            // reject the AUTHENTICATE command by sending a tagged BAD
                            // response."
                            self.finish(&tag);
                            self.push_bad(Some(tag.clone()), None, "Authentication cancelled");
                        } else {
                            self.expect = Expect::AuthenticateDecision(tag.clone());
                        }
                        self.events
                            .push_back(ServerEvent::AuthenticateData { tag, data });
                    }
                    Err(_) => {
                        self.finish(&tag);
                        self.push_bad(Some(tag.clone()), None, "Invalid base64");
                        self.refused(Some(tag), Refusal::Malformed(DecodeErrorKind::Syntax));
                    }
                }
            }
            Expect::IdleDone(tag) => match self.codec.decode_idle_done(message) {
                Ok(_) => {
                    self.expect = Expect::IdleCompletion(tag.clone());
                    self.events.push_back(ServerEvent::IdleDone { tag });
                }
                Err(_) => {
                    // RFC 2177: the client ends IDLE with DONE; anything else is an error
                    // that also ends it.
                    self.finish(&tag);
                    self.push_bad(Some(tag.clone()), None, "Expected DONE");
                    self.refused(Some(tag), Refusal::Malformed(DecodeErrorKind::Syntax));
                }
            },
            Expect::AppendTail {
                tag, close_utf8, ..
            } => self.handle_append_tail(tag, close_utf8, message),
            _ => self.handle_command(message),
        }
    }

    fn handle_command(&mut self, message: &[u8]) {
        let command = match self.codec.decode(message) {
            Ok((_, command)) => command,
            Err(DecodeError::Failed { tag, kind }) => {
                self.push_bad(
                    tag.clone(),
                    Some(Code::Simple(SimpleCode::ClientBug)),
                    "Syntax error",
                );
                self.refused(tag, Refusal::Malformed(kind));
                return;
            }
            Err(_) => {
                // A framed message is whole, so an incomplete one is malformed.
                self.push_bad(None, None, "Syntax error");
                self.refused(None, Refusal::Malformed(DecodeErrorKind::Syntax));
                return;
            }
        };
        if !allowed(self.state, &command.body) {
            self.push_bad(
                Some(command.tag.clone()),
                None,
                "Command not valid in this state",
            );
            self.refused(Some(command.tag), Refusal::WrongState);
            return;
        }
        self.expect = match command.body {
            CommandBody::Authenticate { .. } => Expect::AuthenticateDecision(command.tag.clone()),
            CommandBody::Idle => Expect::IdleDecision(command.tag.clone()),
            CommandBody::StartTls => Expect::StartTls(command.tag.clone()),
            _ => Expect::Command,
        };
        self.bad_in_a_row = 0;
        self.in_progress
            .push((command.tag.clone(), Some(command.body.clone())));
        self.events.push_back(ServerEvent::Command(command));
    }

    /// Reports refused input; past `max_bad_commands` in a row the session says BYE.
    fn refused(&mut self, tag: Option<Tag>, reason: Refusal) {
        self.events.push_back(ServerEvent::Refused { tag, reason });
        self.bad_in_a_row = self.bad_in_a_row.saturating_add(1);
        if self.bad_in_a_row > self.max_bad_commands {
            self.send_data(Data::Bye(ResponseText {
                code: None,
                // A fixed, valid text.
                text: Text::try_from("Too many invalid commands")
                    .unwrap_or_else(|_| unreachable!()),
            }));
        }
    }

    /// Ends a command in progress; `Some(None)` for a streamed APPEND.
    fn finish(&mut self, tag: &Tag) -> Option<Option<CommandBody>> {
        self.expect = Expect::Command;
        let index = self.in_progress.iter().position(|(t, _)| t == tag)?;
        Some(self.in_progress.remove(index).1)
    }

    fn push(&mut self, response: &Response) {
        self.output
            .extend(response.encode_in(self.utf8_accept).dump());
    }

    fn push_continuation(&mut self, text: &'static str) {
        // The fixed texts here hold a space, so they can never read as base64.
        let text = Text::try_from(text).unwrap_or_else(|_| unreachable!());
        self.push(&Response::Continuation(Continuation::Text(ResponseText {
            code: None,
            text,
        })));
    }

    fn push_bad(&mut self, tag: Option<Tag>, code: Option<Code>, text: &'static str) {
        let text = ResponseText {
            code,
            // The fixed texts here are valid.
            text: Text::try_from(text).unwrap_or_else(|_| unreachable!()),
        };
        let response = match tag {
            Some(tag) => Response::Tagged(Tagged {
                tag,
                kind: StatusKind::Bad,
                text,
            }),
            None => Response::Data(Data::Status {
                kind: StatusKind::Bad,
                text,
            }),
        };
        self.push(&response);
    }

    /// Starts a FETCH response whose last item is a large body sent in chunks:
    /// `* seq FETCH (items… BODY[section]<origin> {length}\r\n`. Send the body with
    /// [`ServerSession::send_fetch_chunk`] (draining `poll_transmit` between chunks keeps
    /// memory bounded) and close it with [`ServerSession::send_fetch_end`].
    pub fn send_fetch_start(
        &mut self,
        seq: NonZeroU32,
        items: &[FetchData],
        section: &Section,
        origin: Option<Number64>,
        length: u64,
    ) -> Result<(), SessionError> {
        if self.streaming_fetch.is_some() {
            return Err(SessionError::WrongState("a streamed FETCH is still open"));
        }
        let mut e = crate::encode::Encoder::new();
        e.bytes(b"* ").number(seq.get()).bytes(b" FETCH (");
        for item in items {
            e.value(item).sp();
        }
        e.bytes(b"BODY").value(section);
        if let Some(origin) = origin {
            e.bytes(b"<").value(&origin).bytes(b">");
        }
        e.bytes(b" {").number(length).bytes(b"}\r\n");
        self.output.extend(e.finish().dump());
        self.streaming_fetch = Some(length);
        Ok(())
    }

    /// Sends the next chunk of a streamed FETCH body; refuses more octets than announced.
    pub fn send_fetch_chunk(&mut self, data: &[u8]) -> Result<(), SessionError> {
        let Some(remaining) = self.streaming_fetch else {
            return Err(SessionError::WrongState("no streamed FETCH is open"));
        };
        let Some(remaining) = remaining.checked_sub(data.len() as u64) else {
            return Err(SessionError::WrongState(
                "more octets than the literal announced",
            ));
        };
        self.output.extend_from_slice(data);
        self.streaming_fetch = Some(remaining);
        Ok(())
    }

    /// Ends a streamed FETCH response (`)\r\n`) once every announced octet was sent.
    pub fn send_fetch_end(&mut self) -> Result<(), SessionError> {
        match self.streaming_fetch {
            Some(0) => {
                self.output.extend_from_slice(b")\r\n");
                self.streaming_fetch = None;
                Ok(())
            }
            Some(_) => Err(SessionError::WrongState("the literal is not complete")),
            None => Err(SessionError::WrongState("no streamed FETCH is open")),
        }
    }

    /// Sends untagged data. A `BYE` moves the session to [`State::Logout`].
    pub fn send_data(&mut self, data: Data) {
        if matches!(data, Data::Bye(_)) {
            self.state = State::Logout;
        }
        let mut e = crate::encode::Encoder::in_dialect(self.utf8_accept);
        data.encode(&mut e);
        e.crlf();
        self.output.extend(e.finish().dump());
        if let Data::Enabled(names) = &data
            && names
                .iter()
                .any(|name| name.as_str().eq_ignore_ascii_case("UTF8=ACCEPT"))
        {
            // RFC 6855 §3: after "ENABLE UTF8=ACCEPT" the server reads and writes mailbox
            // names as UTF-8; the `* ENABLED` line itself is the last one in the old dialect.
            self.utf8_accept = true;
            self.codec.enable_utf8_accept();
        }
    }

    /// Sends the tagged completion of a command in progress and applies its state change:
    /// OK to LOGIN/AUTHENTICATE authenticates, OK to SELECT/EXAMINE selects (NO leaves no
    /// mailbox selected), CLOSE/UNSELECT return to authenticated, UNAUTHENTICATE to not
    /// authenticated, LOGOUT ends the session, OK to STARTTLS discards buffered input.
    pub fn send_tagged(&mut self, tagged: Tagged) -> Result<(), SessionError> {
        let Some(body) = self.finish(&tagged.tag) else {
            return Err(SessionError::UnknownTag);
        };
        let ok = tagged.kind == StatusKind::Ok;
        self.push(&Response::Tagged(tagged));
        let Some(body) = body else {
            // A streamed APPEND changes no state.
            return Ok(());
        };
        self.state = super::state_after(self.state, &body, ok);
        if matches!(body, CommandBody::StartTls) && ok {
            // CVE-2011-0411 class: bytes that arrived before the handshake must never be
            // read as commands once TLS is up, so they are dropped here.
            let discarded = self.framer.discard_buffered();
            self.events.push_back(ServerEvent::StartTls { discarded });
        }
        Ok(())
    }

    /// Sends an AUTHENTICATE challenge (`+ base64`); the next line is the client's answer.
    pub fn authenticate_challenge(&mut self, challenge: Base64) -> Result<(), SessionError> {
        let Expect::AuthenticateDecision(tag) = self.expect.clone() else {
            return Err(SessionError::WrongState(
                "no AUTHENTICATE awaits a challenge",
            ));
        };
        self.push(&Response::Continuation(Continuation::Base64(challenge)));
        self.expect = Expect::AuthenticateData(tag);
        Ok(())
    }

    /// Accepts IDLE: sends `+ text`; the client's next line must be `DONE`.
    pub fn idle_accept(&mut self, text: Text) -> Result<(), SessionError> {
        let Expect::IdleDecision(tag) = self.expect.clone() else {
            return Err(SessionError::WrongState("no IDLE awaits acceptance"));
        };
        self.push(&Response::Continuation(Continuation::Text(ResponseText {
            code: None,
            text,
        })));
        self.expect = Expect::IdleDone(tag);
        Ok(())
    }
}

/// Whether `body` may be sent in `state` (RFC 9051 §6: "Client Commands" by state).
fn allowed(state: State, body: &CommandBody) -> bool {
    use CommandBody as C;
    match body {
        // §6.1: "Client Commands - Any State"
        C::Capability | C::Noop | C::Logout | C::Id(_) => true,
        // §6.2: "Client Commands - Not Authenticated State"
        C::StartTls | C::Authenticate { .. } | C::Login { .. } => state == State::NotAuthenticated,
        // RFC 5161 §3.1: "The ENABLE command is only valid in the authenticated state".
        C::Enable(_) => state == State::Authenticated,
        // §6.4: "Client Commands - Selected State"
        C::Check
        | C::Close
        | C::Unselect
        | C::Expunge
        | C::UidExpunge(_)
        | C::Search { .. }
        | C::Fetch { .. }
        | C::Store { .. }
        | C::Copy { .. }
        | C::Move { .. }
        | C::Sort { .. }
        | C::Thread { .. } => state == State::Selected,
        // §6.3: "Client Commands - Authenticated State" (also valid when selected)
        _ => matches!(state, State::Authenticated | State::Selected),
    }
}
