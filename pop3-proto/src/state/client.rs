//! [`Client`]: the client side of a POP3 session.

use std::collections::VecDeque;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::{
    BodyDecoder, Options,
    error::{ResponseDecodeError, ResponseError},
    parse::{FirstLine, ListingParser, ResponseDecoder},
    state::{SessionState, allowed_in, buffers::Buffers},
    types::{AuthLine, Capability, Command, CommandKind, Response, ResponseKind, Status, Text},
};

/// What the server said, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The greeting. `-ERR` closes the session.
    Greeting(Status),
    /// A complete response to `command` (for `AUTH`, possibly a [`Response::Challenge`]:
    /// answer it with [`Client::auth_respond`]).
    Response {
        /// What it answers.
        command: CommandKind,
        /// The response.
        response: Response,
    },
    /// `+OK` to `RETR`/`TOP`: [`ClientEvent::BodyData`] events follow, then
    /// [`ClientEvent::BodyEnd`].
    BodyStart {
        /// `RETR` or `TOP`.
        command: CommandKind,
        /// The `+OK` line.
        status: Status,
    },
    /// A piece of the message body, unstuffed. Pieces concatenate to the exact message.
    BodyData(Bytes),
    /// The terminating `.` line of the body.
    BodyEnd,
}

/// Why the session cannot go on, or a call that does not fit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server sent something malformed; the session is over.
    #[error("protocol error from server: {0}")]
    Protocol(#[from] ResponseError),
    /// The server sent octets when no response was expected; the session is over.
    #[error("server sent data without a command in flight")]
    UnexpectedData,
    /// The command is not valid in the session state (counting commands already queued).
    #[error("{command:?} is not valid in state {state:?}")]
    WrongState {
        /// The refused command.
        command: CommandKind,
        /// The state it would run in.
        state: SessionState,
    },
    /// `auth_respond` without a pending challenge, or `tls_established` without STLS.
    #[error("call does not fit the session")]
    NotExpected,
    /// The session is over.
    #[error("session closed")]
    Closed,
}

#[derive(Debug)]
enum Reading {
    Greeting,
    /// The first line of the response to the oldest command in flight.
    FirstLine,
    Listing {
        kind: CommandKind,
        text: Text,
        parser: ListingParser,
    },
    Body(Box<BodyDecoder>),
}

/// The client side of one POP3 session, with pipelining.
///
/// Call order:
/// 1. [`Client::new`]; read the greeting: [`handle_input`](Self::handle_input), then
///    [`poll_event`](Self::poll_event) gives [`ClientEvent::Greeting`].
/// 2. [`send`](Self::send) commands; write what [`poll_transmit`](Self::poll_transmit)
///    gives; feed what the server sends to `handle_input`; take events from `poll_event`
///    until it returns `Ok(None)`. Commands may be sent before earlier ones are answered:
///    they go out back to back once the server announced `PIPELINING` (RFC 2449 §6.6) or
///    [`Options::assume_pipelining`] is set, one at a time otherwise. `STLS`, `AUTH` and
///    `QUIT` are always waited for before anything after them goes out.
/// 3. During `AUTH`, answer each challenge with [`auth_respond`](Self::auth_respond).
/// 4. After `+OK` to `STLS`: run the TLS handshake, then call
///    [`tls_established`](Self::tls_established). Octets the server sent in plaintext after
///    its `+OK` are discarded.
/// 5. After the response to `QUIT`, [`is_closed`](Self::is_closed) is true.
///
/// ```
/// use pop3_proto::{Client, ClientEvent, Command, MsgNo, Options};
///
/// let mut client = Client::new(Options::default());
/// client.handle_input(b"+OK ready\r\n");
/// assert!(matches!(client.poll_event(), Ok(Some(ClientEvent::Greeting(_)))));
/// client.send(Command::User("alice".try_into().unwrap())).unwrap();
/// client.send(Command::Pass("secret".try_into().unwrap())).unwrap();
/// client.send(Command::Retr(MsgNo::new(1).unwrap())).unwrap();
/// let mut wire = Vec::new();
/// client.poll_transmit(&mut wire);
/// assert_eq!(wire, b"USER alice\r\n"); // no PIPELINING announced: one at a time
/// client.handle_input(b"+OK\r\n");
/// client.poll_event().unwrap();
/// client.handle_input(b"+OK locked\r\n");
/// client.poll_event().unwrap();
/// client.handle_input(b"+OK\r\n..hi\r\n.\r\n");
/// let mut body = Vec::new();
/// while let Some(event) = client.poll_event().unwrap() {
///     if let ClientEvent::BodyData(data) = event {
///         body.extend_from_slice(&data);
///     }
/// }
/// assert_eq!(body, b".hi\r\n");
/// ```
#[derive(Debug)]
pub struct Client {
    options: Options,
    decoder: ResponseDecoder,
    state: SessionState,
    /// The state once every queued command has succeeded: what `send` checks against.
    predicted: SessionState,
    reading: Reading,
    io: Buffers,
    /// Accepted by `send`, not yet written.
    queued: VecDeque<Command>,
    /// Written, response not yet complete; oldest first.
    in_flight: VecDeque<CommandKind>,
    pipelining: bool,
    challenge_pending: bool,
    /// Unstuffed body octets not yet delivered as [`ClientEvent::BodyData`].
    body: BytesMut,
    /// The body's terminating line was seen; [`ClientEvent::BodyEnd`] is not delivered yet.
    body_ended: bool,
    awaiting_tls: bool,
    tls_active: bool,
    closed: bool,
}

impl Client {
    /// A session waiting for the server greeting.
    pub fn new(options: Options) -> Self {
        Self {
            decoder: ResponseDecoder::new(&options),
            pipelining: options.assume_pipelining,
            io: Buffers::new(options.max_buffered_input),
            options,
            state: SessionState::Greeting,
            predicted: SessionState::Authorization,
            reading: Reading::Greeting,
            queued: VecDeque::new(),
            in_flight: VecDeque::new(),
            challenge_pending: false,
            body: BytesMut::new(),
            body_ended: false,
            awaiting_tls: false,
            tls_active: false,
            closed: false,
        }
    }

    /// The session state, as confirmed by the server's responses so far.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// Whether commands are pipelined.
    pub fn is_pipelining(&self) -> bool {
        self.pipelining
    }

    /// Whether TLS is active after STLS.
    pub fn is_tls_active(&self) -> bool {
        self.tls_active
    }

    /// Whether the session is over.
    pub fn is_closed(&self) -> bool {
        self.closed && self.io.output.is_empty()
    }

    /// Commands sent or queued whose responses have not completed.
    pub fn pending_commands(&self) -> usize {
        self.in_flight.len() + self.queued.len()
    }

    /// Queues a command. Fails without side effects if the command cannot be valid in the
    /// state the session will be in when it runs.
    pub fn send(&mut self, command: Command) -> Result<(), ClientError> {
        if self.closed {
            return Err(ClientError::Closed);
        }
        let kind = command.kind();
        if !allowed_in(kind, self.predicted) {
            return Err(ClientError::WrongState {
                command: kind,
                state: self.predicted,
            });
        }
        self.predicted = match kind {
            CommandKind::Pass | CommandKind::Apop | CommandKind::Auth => SessionState::Transaction,
            CommandKind::Quit => SessionState::Closed,
            _ => self.predicted,
        };
        self.queued.push_back(command);
        self.flush_queue();
        Ok(())
    }

    /// Answers the pending SASL challenge (RFC 5034 §4).
    pub fn auth_respond(&mut self, line: AuthLine) -> Result<(), ClientError> {
        if !self.challenge_pending {
            return Err(ClientError::NotExpected);
        }
        self.challenge_pending = false;
        line.encode(&mut self.io.output);
        Ok(())
    }

    /// Call once the TLS handshake after `+OK` to STLS has completed.
    ///
    /// RFC 2595 §4: "Once TLS has been started, the client MUST discard cached information
    /// about server capabilities and SHOULD re-issue the CAPA command." Pipelining falls back
    /// to [`Options::assume_pipelining`] until a new CAPA says otherwise.
    pub fn tls_established(&mut self) -> Result<(), ClientError> {
        if !self.awaiting_tls {
            return Err(ClientError::NotExpected);
        }
        self.awaiting_tls = false;
        self.tls_active = true;
        self.io.input.clear();
        self.pipelining = self.options.assume_pipelining;
        self.flush_queue();
        Ok(())
    }

    /// Writes queued commands allowed to go out now.
    fn flush_queue(&mut self) {
        while let Some(front) = self.queued.front() {
            let barrier_in_flight = self.in_flight.iter().any(|k| is_barrier(*k));
            let may_send = !self.awaiting_tls
                && self.state != SessionState::Greeting
                && (self.in_flight.is_empty() || (self.pipelining && !barrier_in_flight));
            if !may_send {
                break;
            }
            front.encode(&mut self.io.output);
            self.in_flight.push_back(front.kind());
            self.queued.pop_front();
        }
    }

    /// Feeds octets read from the server. Returns how many were taken: at most enough to
    /// fill [`Options::max_buffered_input`] (message body octets have a buffer of that size
    /// of their own); feed the rest after draining events.
    pub fn handle_input(&mut self, data: &[u8]) -> usize {
        if self.closed || self.awaiting_tls {
            // Nothing more is read in plaintext: after +OK to STLS the next octets belong to
            // the TLS handshake, which the caller hands to its TLS library, not here.
            return data.len();
        }
        if let Reading::Body(decoder) = &mut self.reading
            && self.io.input.is_empty()
            && !self.body_ended
        {
            // Inside a body with nothing buffered: unstuff straight from `data` into the
            // body buffer, one copy. What is left (a split line start, or what follows the
            // body) goes to the ordinary input buffer.
            let room = self
                .options
                .max_buffered_input
                .saturating_sub(self.body.len());
            let window = data.get(..room).unwrap_or(data);
            self.body.reserve(window.len());
            let (used, ended) = decoder.decode_into(window, &mut self.body);
            self.body_ended = ended;
            return used + self.io.take_input(window.get(used..).unwrap_or_default());
        }
        self.io.take_input(data)
    }

    /// The next event, `Ok(None)` when more input is needed. An error ends the session.
    pub fn poll_event(&mut self) -> Result<Option<ClientEvent>, ClientError> {
        if self.closed {
            return Ok(None);
        }
        let result = self.next_event();
        if result.is_err() {
            self.closed = true;
            self.state = SessionState::Closed;
        }
        result
    }

    fn next_event(&mut self) -> Result<Option<ClientEvent>, ClientError> {
        loop {
            match &mut self.reading {
                Reading::Body(decoder) => {
                    if !self.body_ended {
                        // Octets that came through the ordinary input buffer (the read that
                        // carried the +OK line, or a split line start).
                        self.body.reserve(self.io.input.len());
                        let (used, ended) = decoder.decode_into(&self.io.input, &mut self.body);
                        self.io.input.advance(used);
                        self.body_ended = ended;
                    }
                    if !self.body.is_empty() {
                        return Ok(Some(ClientEvent::BodyData(self.body.split().freeze())));
                    }
                    if !self.body_ended {
                        return Ok(None);
                    }
                    self.body_ended = false;
                    self.reading = Reading::FirstLine;
                    let kind = self.in_flight.front().copied().unwrap_or(CommandKind::Retr);
                    self.complete(kind, None);
                    return Ok(Some(ClientEvent::BodyEnd));
                }
                Reading::Listing { parser, .. } => {
                    let (line, used) = match self.decoder.listing_line(&self.io.input) {
                        Err(ResponseDecodeError::Incomplete) => return Ok(None),
                        Err(ResponseDecodeError::Invalid(e)) => return Err(e.into()),
                        Ok(found) => found,
                    };
                    if let Some(line) = line {
                        parser.push(&self.decoder, line)?;
                        self.io.input.advance(used);
                        continue;
                    }
                    self.io.input.advance(used);
                    let done = std::mem::replace(&mut self.reading, Reading::FirstLine);
                    if let Reading::Listing { kind, text, parser } = done {
                        let response = parser.finish(text);
                        self.complete(kind, Some(&response));
                        return Ok(Some(ClientEvent::Response {
                            command: kind,
                            response,
                        }));
                    }
                }
                Reading::Greeting => {
                    let (first, used) = match self
                        .decoder
                        .first_line(ResponseKind::Greeting, &self.io.input)
                    {
                        Err(ResponseDecodeError::Incomplete) => return Ok(None),
                        Err(ResponseDecodeError::Invalid(e)) => return Err(e.into()),
                        Ok(found) => found,
                    };
                    self.io.input.advance(used);
                    let FirstLine::Single(Response::Status(status)) = first else {
                        return Err(ResponseError::BadStatus.into());
                    };
                    self.reading = Reading::FirstLine;
                    if status.is_ok() {
                        self.state = SessionState::Authorization;
                        self.flush_queue();
                    } else {
                        self.closed = true;
                        self.state = SessionState::Closed;
                    }
                    return Ok(Some(ClientEvent::Greeting(status)));
                }
                Reading::FirstLine => {
                    let Some(&kind) = self.in_flight.front() else {
                        return if self.io.input.is_empty() {
                            Ok(None)
                        } else {
                            Err(ClientError::UnexpectedData)
                        };
                    };
                    let (first, used) = match self
                        .decoder
                        .first_line(kind.response_kind(), &self.io.input)
                    {
                        Err(ResponseDecodeError::Incomplete) => return Ok(None),
                        Err(ResponseDecodeError::Invalid(e)) => return Err(e.into()),
                        Ok(found) => found,
                    };
                    self.io.input.advance(used);
                    match first {
                        FirstLine::Single(Response::Challenge(data)) => {
                            self.challenge_pending = true;
                            let response = Response::Challenge(data);
                            return Ok(Some(ClientEvent::Response {
                                command: kind,
                                response,
                            }));
                        }
                        FirstLine::Single(response) => {
                            self.complete(kind, Some(&response));
                            return Ok(Some(ClientEvent::Response {
                                command: kind,
                                response,
                            }));
                        }
                        FirstLine::Listing(text) => {
                            let parser = self.decoder.listing(kind.response_kind());
                            self.reading = Reading::Listing { kind, text, parser };
                        }
                        FirstLine::Message(status) => {
                            self.reading = Reading::Body(Box::default());
                            return Ok(Some(ClientEvent::BodyStart {
                                command: kind,
                                status,
                            }));
                        }
                    }
                }
            }
        }
    }

    /// The response to the oldest command in flight is complete: update the state, send
    /// what may now go out. `response` is `None` for a completed body (always `+OK`).
    fn complete(&mut self, kind: CommandKind, response: Option<&Response>) {
        self.in_flight.pop_front();
        self.challenge_pending = false;
        let ok = response.is_none_or(|r| !r.is_err());
        match (kind, response) {
            (CommandKind::Pass | CommandKind::Apop | CommandKind::Auth, _) => {
                if ok {
                    self.state = SessionState::Transaction;
                } else {
                    self.predicted = self.predicted_after_failure();
                }
            }
            (CommandKind::Quit, _) => {
                if self.state == SessionState::Transaction {
                    self.state = SessionState::Update;
                }
                self.closed = true;
                self.state = SessionState::Closed;
                self.io.input.clear();
            }
            (CommandKind::Stls, _) if ok => {
                self.awaiting_tls = true;
                // Plaintext after +OK to STLS could be an injected response (THREATS TLS-01).
                self.io.input.clear();
            }
            (CommandKind::Capa, Some(Response::Capabilities { capabilities, .. })) => {
                self.pipelining = self.options.assume_pipelining
                    || capabilities.contains(&Capability::Pipelining);
            }
            _ => {}
        }
        self.flush_queue();
    }

    /// After a failed login, what later commands will run in: still AUTHORIZATION unless
    /// another login command is queued or in flight.
    fn predicted_after_failure(&self) -> SessionState {
        let login =
            |k: CommandKind| matches!(k, CommandKind::Pass | CommandKind::Apop | CommandKind::Auth);
        let quit = self.queued.iter().any(|c| c.kind() == CommandKind::Quit)
            || self.in_flight.iter().any(|k| *k == CommandKind::Quit);
        if quit {
            SessionState::Closed
        } else if self.queued.iter().any(|c| login(c.kind()))
            || self.in_flight.iter().any(|k| login(*k))
        {
            SessionState::Transaction
        } else {
            SessionState::Authorization
        }
    }

    /// Appends everything waiting to be sent to `out`; returns how many octets.
    pub fn poll_transmit(&mut self, out: &mut impl BufMut) -> usize {
        self.io.transmit(out)
    }
}

/// Commands after which nothing is sent until their response: the session changes under
/// them (STLS, AUTH) or ends (QUIT). RFC 2595 §4: "Once a client issues a STLS command, it
/// MUST NOT issue further commands until a server response is seen and the TLS negotiation
/// is complete."
fn is_barrier(kind: CommandKind) -> bool {
    matches!(
        kind,
        CommandKind::Stls | CommandKind::Auth | CommandKind::Quit
    )
}
