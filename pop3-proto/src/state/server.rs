//! [`Server`]: the server side of a POP3 session.

use std::time::Instant;

use bytes::{Buf, BufMut};

use crate::{
    BodyEncoder, Options,
    error::{CommandDecodeError, CommandError},
    parse::{CommandDecoder, skip_to_line_end},
    state::{SessionState, allowed_in, buffers::Buffers},
    types::{AuthLine, Command, CommandKind, Response, ResponseKind, SaslData, Status, UserName},
};

/// What the server application must handle.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// A well-formed command, valid in the current state. Answer it with
    /// [`Server::respond`] (or [`Server::start_body`] for a positive `RETR`/`TOP`) before the
    /// next event comes.
    Command(Command),
    /// The client's answer to a SASL challenge. Answer with another challenge
    /// ([`Response::Challenge`]) or the final status, through [`Server::respond`].
    AuthResponse(SaslData),
    /// The client cancelled the SASL exchange; the server already sent `-ERR`
    /// (RFC 5034 §4). Drop any SASL state.
    AuthCancelled,
}

/// A call that does not fit the session (a bug in the application, never caused by input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// No command is waiting for an answer.
    #[error("no command is waiting for an answer")]
    NothingToAnswer,
    /// The response does not answer the pending command.
    #[error("a {kind:?} command cannot be answered with this response")]
    WrongResponse {
        /// The command being answered.
        kind: CommandKind,
    },
    /// `send_body`/`finish_body` outside a body.
    #[error("no message body is being sent")]
    NoBody,
    /// `tls_established` without an accepted STLS.
    #[error("no STLS was accepted")]
    NoTlsPending,
}

#[derive(Debug)]
enum Phase {
    /// Ready to decode the next command.
    Ready,
    /// Inside an over-long line: dropping input up to the next LF.
    Discarding,
    /// The application owes an answer to this command.
    Answering(CommandKind),
    /// The application is sending a message body.
    Body(Box<BodyEncoder>),
    /// A SASL challenge was sent; the next line is the client's answer.
    AuthChallenged,
    /// The application owes an answer to a SASL client line.
    AuthAnswering,
    /// `+OK` to STLS was sent; waiting for the TLS handshake.
    AwaitingTls,
    /// The session is ending: no more input is read.
    Closing,
}

/// The server side of one POP3 session.
///
/// Call order:
/// 1. [`Server::new`] queues the greeting.
/// 2. Loop: write what [`poll_transmit`](Self::poll_transmit) gives; read from the socket
///    and pass the octets to [`handle_input`](Self::handle_input); take events from
///    [`poll_event`](Self::poll_event) and answer each with [`respond`](Self::respond) (or
///    [`start_body`](Self::start_body), [`send_body`](Self::send_body) (which writes into
///    the caller's buffer directly), [`finish_body`](Self::finish_body) for `RETR`/`TOP`).
///    After each read, and whenever [`poll_timeout`](Self::poll_timeout) is reached, call
///    [`handle_timeout`](Self::handle_timeout) with the current time (the RFC 1939
///    autologout timer; the machine never reads a clock itself).
/// 3. After answering `STLS` with `+OK`: write the pending output, run the TLS handshake,
///    call [`tls_established`](Self::tls_established), and go on reading through TLS.
/// 4. Stop when [`is_closed`](Self::is_closed) is true (after `QUIT`, or too many bad
///    commands), once the output is written.
///
/// Syntax errors, commands in the wrong state, over-long lines and a second STLS are answered
/// with `-ERR` by the state machine itself; the application never sees them.
///
/// ```
/// use pop3_proto::{Command, Options, Response, Server, ServerEvent, SessionState, Stat, Status, StatusKind};
///
/// let mut server = Server::new(Options::default(), &Status::new_lossy(StatusKind::Ok, "POP3 ready"));
/// // Pipelined input from the client:
/// server.handle_input(b"USER alice\r\nPASS secret\r\nSTAT\r\n");
/// while let Some(event) = server.poll_event() {
///     let answer = match event {
///         ServerEvent::Command(Command::User(_)) => Response::Status(Status::new_lossy(StatusKind::Ok, "")),
///         ServerEvent::Command(Command::Pass(p)) if p.declassify() == b"secret" => {
///             Response::Status(Status::new_lossy(StatusKind::Ok, "maildrop locked and ready"))
///         }
///         ServerEvent::Command(Command::Stat) => Response::Stat(Stat { count: 0, size: 0 }),
///         _ => Response::Status(Status::new_lossy(StatusKind::Err, "no")),
///     };
///     server.respond(answer).unwrap();
/// }
/// let mut wire = Vec::new();
/// server.poll_transmit(&mut wire);
/// assert_eq!(wire, b"+OK POP3 ready\r\n+OK\r\n+OK maildrop locked and ready\r\n+OK 0 0\r\n");
/// assert_eq!(server.state(), SessionState::Transaction);
/// ```
#[derive(Debug)]
pub struct Server {
    options: Options,
    decoder: CommandDecoder,
    state: SessionState,
    phase: Phase,
    io: Buffers,
    bad_commands: u32,
    tls_active: bool,
    utf8: bool,
    /// The name of the last USER; PASS is valid only right after a successful USER.
    user: Option<UserName>,
    /// USER name awaiting the application's answer.
    pending_user: Option<UserName>,
    /// When the idle timer last started (by the caller's clock); `None` until the first
    /// `handle_timeout`.
    idle_since: Option<Instant>,
    /// Input arrived or the application answered since the last `handle_timeout`.
    active: bool,
}

impl Server {
    /// A session that starts by sending `greeting`. A `-ERR` greeting closes the session once
    /// sent (a server too busy to serve, for example).
    ///
    /// A server offering APOP puts its timestamp in the greeting text (RFC 1939 §7).
    pub fn new(options: Options, greeting: &Status) -> Self {
        let mut io = Buffers::new(options.max_buffered_input);
        greeting.encode(&mut io.output);
        Self {
            decoder: CommandDecoder::new(&options),
            state: if greeting.is_ok() {
                SessionState::Authorization
            } else {
                SessionState::Closed
            },
            phase: if greeting.is_ok() {
                Phase::Ready
            } else {
                Phase::Closing
            },
            options,
            io,
            bad_commands: 0,
            tls_active: false,
            utf8: false,
            user: None,
            pending_user: None,
            idle_since: None,
            active: false,
        }
    }

    /// Marks the session as running over TLS from the start (implicit TLS, port 995), so
    /// STLS is refused.
    pub fn set_tls_active(&mut self) {
        self.tls_active = true;
    }

    /// The session state.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// Whether TLS is active (after STLS, or set for implicit TLS).
    pub fn is_tls_active(&self) -> bool {
        self.tls_active
    }

    /// Whether UTF-8 mode is on (RFC 6856).
    pub fn is_utf8(&self) -> bool {
        self.utf8
    }

    /// The user name given by the last successful `USER`, while `PASS` may still follow.
    pub fn user(&self) -> Option<&UserName> {
        self.user.as_ref()
    }

    /// Whether the session is over and all output has been taken: close the connection.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closing) && self.io.output.is_empty()
    }

    /// Whether [`handle_input`](Self::handle_input) would take more octets now.
    pub fn wants_input(&self) -> bool {
        self.io.has_room() && !matches!(self.phase, Phase::Closing)
    }

    /// Feeds octets read from the client. Returns how many were taken: at most enough to
    /// fill [`Options::max_buffered_input`]; feed the rest after draining events. While the
    /// session is closing, input is taken and dropped.
    pub fn handle_input(&mut self, data: &[u8]) -> usize {
        if matches!(self.phase, Phase::Closing) {
            return data.len();
        }
        self.active |= !data.is_empty();
        self.io.take_input(data)
    }

    /// The next thing the application must handle, if any. Returns `None` while an answer is
    /// owed, so pipelined commands are handled one at a time, in order.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        loop {
            match self.phase {
                Phase::Ready => {}
                Phase::Discarding => {
                    let end = skip_to_line_end(&self.io.input);
                    self.io.input.advance(end.unwrap_or(self.io.input.len()));
                    end?;
                    self.phase = Phase::Ready;
                    continue;
                }
                Phase::AuthChallenged => return self.auth_line(),
                _ => return None,
            }
            let decoded = self.decoder.decode(&self.io.input);
            match decoded {
                Ok((command, used)) => {
                    self.io.input.advance(used);
                    if let Some(event) = self.dispatch(command) {
                        return Some(event);
                    }
                }
                Err(CommandDecodeError::Incomplete) => return None,
                Err(CommandDecodeError::LineTooLong) => {
                    // RFC 2449 §4: "Servers which support the CAPA command MUST support
                    // commands up to 255 octets." Longer lines are refused and skipped.
                    self.phase = Phase::Discarding;
                    self.refuse(&CommandError::LineTooLong.to_string());
                }
                // RFC 1939 §3: "A server MUST respond to an unrecognized, unimplemented, or
                // syntactically invalid command by responding with a negative status
                // indicator."
                Err(CommandDecodeError::Invalid { consumed, error }) => {
                    self.io.input.advance(consumed);
                    self.refuse(&error.to_string());
                }
            }
        }
    }

    /// Checks a decoded command against the session and either hands it to the application
    /// or answers it here.
    fn dispatch(&mut self, command: Command) -> Option<ServerEvent> {
        let kind = command.kind();
        // RFC 1939 §3: "A server MUST respond to a command issued when the session is in an
        // incorrect state by responding with a negative status indicator."
        if !allowed_in(kind, self.state) {
            self.refuse("command not valid in this state");
            return None;
        }
        let user = self.user.take();
        match &command {
            // RFC 1939 §7: PASS "may only be given in the AUTHORIZATION state immediately
            // after a successful USER command".
            Command::Pass(_) if user.is_none() => {
                self.refuse("USER first");
                return None;
            }
            Command::Pass(_) => self.user = user,
            // RFC 2595 §4: "A -ERR response MAY result if a security layer is already active."
            Command::Stls if self.tls_active => {
                self.refuse("command not permitted when TLS active");
                return None;
            }
            Command::User(name) => self.pending_user = Some(name.clone()),
            _ => {}
        }
        self.phase = Phase::Answering(kind);
        Some(ServerEvent::Command(command))
    }

    fn auth_line(&mut self) -> Option<ServerEvent> {
        match self.decoder.decode_auth_line(&self.io.input) {
            Ok((line, used)) => {
                self.io.input.advance(used);
                match line {
                    AuthLine::Response(data) => {
                        self.phase = Phase::AuthAnswering;
                        Some(ServerEvent::AuthResponse(data))
                    }
                    AuthLine::Cancel => {
                        // RFC 5034 §4: "If the server receives such a response, it MUST reject
                        // the AUTH command by sending an -ERR reply."
                        self.phase = Phase::Ready;
                        self.send_status(false, "authentication cancelled");
                        Some(ServerEvent::AuthCancelled)
                    }
                }
            }
            Err(CommandDecodeError::Incomplete) => None,
            Err(CommandDecodeError::LineTooLong) => {
                self.phase = Phase::Discarding;
                self.refuse("SASL response too long, authentication failed");
                Some(ServerEvent::AuthCancelled)
            }
            Err(CommandDecodeError::Invalid { consumed, error }) => {
                self.io.input.advance(consumed);
                self.phase = Phase::Ready;
                self.refuse(&error.to_string());
                Some(ServerEvent::AuthCancelled)
            }
        }
    }

    /// Answers `-ERR text` on the state machine's own account and counts a bad command;
    /// past [`Options::max_bad_commands`] the session closes.
    fn refuse(&mut self, text: &str) {
        self.bad_commands = self.bad_commands.saturating_add(1);
        if self.bad_commands > self.options.max_bad_commands {
            self.send_status(false, "too many bad commands, closing connection");
            self.close();
        } else {
            self.send_status(false, text);
        }
    }

    fn send_status(&mut self, ok: bool, text: &str) {
        let kind = if ok {
            crate::StatusKind::Ok
        } else {
            crate::StatusKind::Err
        };
        Status::new_lossy(kind, text).encode(&mut self.io.output);
    }

    fn close(&mut self) {
        self.phase = Phase::Closing;
        self.io.input.clear();
        if self.state != SessionState::Update {
            self.state = SessionState::Closed;
        }
    }

    /// Answers the pending command (or SASL line) with `response`.
    ///
    /// The response must fit the command: a [`Response::Stat`] for `STAT`, a listing for
    /// `LIST`, a challenge or a status during `AUTH`; `-ERR` always fits. A positive `RETR`
    /// or `TOP` goes through [`start_body`](Self::start_body) instead. State changes follow
    /// the answer: `+OK` to PASS, APOP or AUTH enters TRANSACTION; any answer to QUIT ends
    /// the session (from TRANSACTION through UPDATE, so commit deletions *before* answering:
    /// RFC 1939 §6, "The POP3 server removes all messages marked as deleted from the maildrop
    /// and replies as to the status of this operation.").
    pub fn respond(&mut self, response: Response) -> Result<(), ServerError> {
        let kind = match self.phase {
            Phase::Answering(kind) => kind,
            Phase::AuthAnswering => CommandKind::Auth,
            _ => return Err(ServerError::NothingToAnswer),
        };
        let expected = kind.response_kind();
        let positive_body = expected == ResponseKind::Message && !response.is_err();
        if !expected.accepts(&response) || positive_body {
            return Err(ServerError::WrongResponse { kind });
        }
        response.encode(&mut self.io.output);
        self.active = true;
        self.phase = Phase::Ready;
        let ok = !response.is_err();
        match (kind, &response) {
            (CommandKind::Auth, Response::Challenge(_)) => self.phase = Phase::AuthChallenged,
            (CommandKind::User, _) => self.user = if ok { self.pending_user.take() } else { None },
            (CommandKind::Pass | CommandKind::Apop | CommandKind::Auth, _) => {
                self.user = None;
                if ok {
                    self.state = SessionState::Transaction;
                }
            }
            (CommandKind::Quit, _) => {
                if self.state == SessionState::Transaction {
                    self.state = SessionState::Update;
                }
                self.close();
            }
            (CommandKind::Stls, _) if ok => {
                // RFC 2595 §4: "A TLS negotiation begins immediately after the CRLF at the end
                // of the +OK response from the server." Anything the client sent after STLS
                // was sent in plaintext before TLS and is discarded, never executed
                // (THREATS TLS-01; the same rule as RFC 3207 §4.2 for SMTP).
                self.io.input.clear();
                self.phase = Phase::AwaitingTls;
            }
            (CommandKind::Utf8, _) if ok => {
                self.utf8 = true;
                self.decoder.set_utf8(true);
            }
            _ => {}
        }
        Ok(())
    }

    /// Starts the positive answer to `RETR` or `TOP`: writes the `+OK` line. Follow with
    /// [`send_body`](Self::send_body) calls and [`finish_body`](Self::finish_body).
    pub fn start_body(&mut self, status: Status) -> Result<(), ServerError> {
        match self.phase {
            Phase::Answering(CommandKind::Retr | CommandKind::Top) if status.is_ok() => {
                status.encode(&mut self.io.output);
                self.phase = Phase::Body(Box::default());
                Ok(())
            }
            Phase::Answering(kind) => Err(ServerError::WrongResponse { kind }),
            _ => Err(ServerError::NothingToAnswer),
        }
    }

    /// Writes a chunk of the message, dot-stuffed, straight into `out` (the caller's send
    /// buffer), after any output still pending, so the octets are copied once. Write `out`
    /// to the socket between chunks to keep memory bounded.
    pub fn send_body(&mut self, chunk: &[u8], out: &mut impl BufMut) -> Result<(), ServerError> {
        match &mut self.phase {
            Phase::Body(encoder) => {
                self.active = true;
                self.io.transmit(out);
                encoder.encode(chunk, out);
                Ok(())
            }
            _ => Err(ServerError::NoBody),
        }
    }

    /// Ends the message body with the terminating `.` line.
    pub fn finish_body(&mut self) -> Result<(), ServerError> {
        match std::mem::replace(&mut self.phase, Phase::Ready) {
            Phase::Body(encoder) => {
                encoder.finish(&mut self.io.output);
                Ok(())
            }
            other => {
                self.phase = other;
                Err(ServerError::NoBody)
            }
        }
    }

    /// Call once the TLS handshake after `+OK` to STLS has completed. The session stays in
    /// AUTHORIZATION (RFC 2595 §4: "the server remains in AUTHORIZATION state, even if client
    /// credentials are supplied during the TLS negotiation"); anything received before this
    /// call is dropped.
    pub fn tls_established(&mut self) -> Result<(), ServerError> {
        if !matches!(self.phase, Phase::AwaitingTls) {
            return Err(ServerError::NoTlsPending);
        }
        self.io.input.clear();
        self.tls_active = true;
        self.user = None;
        self.phase = Phase::Ready;
        Ok(())
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called next: the end of the
    /// idle period, or `None` before the timer is started or once the session is closing.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Closing => None,
            _ => self
                .idle_since
                .map(|since| since + self.options.idle_timeout),
        }
    }

    /// The inactivity autologout timer ([`Options::idle_timeout`]). Call it with the current
    /// time after every read (that restarts the timer) and when
    /// [`poll_timeout`](Self::poll_timeout) is reached. Time spent waiting for the
    /// application (a long RETR, a slow store) is never counted against the client.
    ///
    /// RFC 1939 §3: "When the timer expires, the session does NOT enter the UPDATE state--the
    /// server should close the TCP connection without removing any messages or sending any
    /// response to the client." So an expired session closes silently, in state `Closed`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let waiting_for_client = matches!(
            self.phase,
            Phase::Ready | Phase::Discarding | Phase::AuthChallenged
        );
        match self.idle_since {
            Some(since) if waiting_for_client && !self.active => {
                if now.saturating_duration_since(since) >= self.options.idle_timeout {
                    self.io.output.clear();
                    self.close();
                }
            }
            _ => {
                self.idle_since = Some(now);
                self.active = false;
            }
        }
    }

    /// Appends everything waiting to be sent to `out`; returns how many octets.
    pub fn poll_transmit(&mut self, out: &mut impl BufMut) -> usize {
        self.io.transmit(out)
    }
}
