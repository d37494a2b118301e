//! The client side of a session.
//!
//! [`ClientSession::enqueue_command`] tags and encodes a command;
//! [`ClientSession::poll_transmit`] hands out its bytes up to each synchronizing literal and
//! holds the rest until the server's `+` arrives. RFC 3501 §4.3: "the client MUST wait to
//! receive a command continuation request (described later in this document) before sending
//! the octet data (and the remainder of the command)."
//! If the server answers the command instead (`NO`/`BAD`), the rest is dropped.
//!
//! Continuation requests that no literal is waiting for (IDLE's `+ idling`, AUTHENTICATE
//! challenges) become [`ClientEvent::Continuation`]; answer them with
//! [`ClientSession::idle_done`] or [`ClientSession::authenticate_continue`].

use std::collections::VecDeque;

use super::{SessionError, State};
use crate::{
    codec::ResponseCodec,
    encode::Fragment,
    fragmentizer::{Fragmentizer, FramingEvent},
    options::Options,
    types::{
        command::{Base64, Command, CommandBody},
        core::{Atom, LiteralMode, Tag},
        response::{Continuation, Data, Greeting, GreetingKind, Response, StatusKind, Tagged},
    },
};

/// What the server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The greeting, first.
    Greeting(Greeting),
    /// Untagged data.
    Data(Data),
    /// The completion of a command.
    Tagged(Tagged),
    /// A continuation request no literal was waiting for.
    Continuation(Continuation),
    /// The server sent bytes that do not parse; the connection should be closed.
    Malformed,
}

/// A command's fragments not yet sent.
#[derive(Debug)]
struct Pending {
    tag: Tag,
    fragments: VecDeque<Fragment>,
}

/// The client side of one connection. See the module docs for the call order.
#[derive(Debug)]
pub struct ClientSession {
    framer: Fragmentizer,
    codec: ResponseCodec,
    greeted: bool,
    state: State,
    next_tag: u32,
    queue: VecDeque<Pending>,
    waiting_for_plus: bool,
    in_progress: Vec<(Tag, CommandBody)>,
    /// Capabilities the server reported enabled (RFC 5161); they last for the connection.
    enabled: Vec<Atom>,
    output: Vec<u8>,
    events: VecDeque<ClientEvent>,
}

impl ClientSession {
    /// A session waiting for the server's greeting.
    pub fn new(options: Options) -> Self {
        // Responses are handed out whole; `max_literal_size` bounds them.
        let framing = Options {
            literal_stream_threshold: u64::MAX,
            ..options.clone()
        };
        Self {
            framer: Fragmentizer::new(framing),
            codec: ResponseCodec::new(options),
            greeted: false,
            state: State::NotAuthenticated,
            next_tag: 1,
            queue: VecDeque::new(),
            waiting_for_plus: false,
            in_progress: Vec::new(),
            enabled: Vec::new(),
            output: Vec::new(),
            events: VecDeque::new(),
        }
    }

    /// The capabilities the server has enabled with `* ENABLED` in answer to this client's
    /// ENABLE commands (RFC 5161), in the order reported, each once. An extension that
    /// changes the server's responses (CONDSTORE, QRESYNC, UTF8=ACCEPT) is in effect only
    /// once it is listed here.
    pub fn enabled(&self) -> &[Atom] {
        &self.enabled
    }

    /// Whether `capability` (compared case-insensitively, as IMAP atoms are) is enabled.
    pub fn is_enabled(&self, capability: &str) -> bool {
        self.enabled
            .iter()
            .any(|c| c.as_bytes().eq_ignore_ascii_case(capability.as_bytes()))
    }

    /// Whether the server enabled UTF8=ACCEPT (RFC 6855), so commands name mailboxes in
    /// UTF-8 and may APPEND with `UTF8 (…)`. Commands are encoded when queued, so queue
    /// commands that name mailboxes only after ENABLE has completed.
    pub fn utf8_accept(&self) -> bool {
        self.is_enabled("UTF8=ACCEPT")
    }

    /// The protocol state as the client has seen it.
    pub fn state(&self) -> State {
        self.state
    }

    /// Tags and queues a command; returns its tag.
    pub fn enqueue_command(&mut self, body: CommandBody) -> Tag {
        // "A" and decimal digits are tag characters.
        let tag = Tag::try_from(format!("A{}", self.next_tag)).unwrap_or_else(|_| unreachable!());
        self.next_tag = self.next_tag.wrapping_add(1);
        let command = Command::new(tag.clone(), body.clone());
        self.in_progress.push((tag.clone(), body));
        // RFC 6855 §3: once the server has enabled UTF8=ACCEPT, mailbox names are sent as
        // UTF-8. A command queued before its `* ENABLED` arrived is encoded in modified
        // UTF-7, which the server would read as UTF-8 if it enabled the extension first: a
        // client waits for ENABLE's tagged response before naming mailboxes.
        let utf8_accept = self.utf8_accept();
        self.queue.push_back(Pending {
            tag: tag.clone(),
            fragments: command.encode_in(utf8_accept).collect(),
        });
        tag
    }

    /// Ends IDLE (RFC 2177: "The IDLE command is terminated by the receipt of a "DONE"
    /// continuation from the client").
    pub fn idle_done(&mut self) -> Result<(), SessionError> {
        if !self
            .in_progress
            .iter()
            .any(|(_, b)| matches!(b, CommandBody::Idle))
        {
            return Err(SessionError::WrongState("no IDLE in progress"));
        }
        self.output.extend_from_slice(b"DONE\r\n");
        Ok(())
    }

    /// Answers an AUTHENTICATE challenge; `None` cancels the exchange with `*`.
    pub fn authenticate_continue(&mut self, data: Option<&Base64>) -> Result<(), SessionError> {
        if !self
            .in_progress
            .iter()
            .any(|(_, b)| matches!(b, CommandBody::Authenticate { .. }))
        {
            return Err(SessionError::WrongState("no AUTHENTICATE in progress"));
        }
        match data {
            Some(data) => self.output.extend_from_slice(data.as_str().as_bytes()),
            None => self.output.push(b'*'),
        }
        self.output.extend_from_slice(b"\r\n");
        Ok(())
    }

    /// Bytes read from the server.
    pub fn handle_input(&mut self, bytes: &[u8]) {
        self.framer.handle_input(bytes);
    }

    /// Appends the bytes to send to `buf`, stopping before a synchronizing literal until the
    /// server's `+` arrives; returns how many.
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> usize {
        let start = buf.len();
        buf.append(&mut self.output);
        while !self.waiting_for_plus {
            let Some(pending) = self.queue.front_mut() else {
                break;
            };
            match pending.fragments.pop_front() {
                None => {
                    self.queue.pop_front();
                }
                Some(fragment) => {
                    buf.extend_from_slice(fragment.data());
                    // The line just sent announced a sync literal: wait for "+".
                    if let Some(Fragment::Literal {
                        mode: LiteralMode::Sync,
                        ..
                    }) = pending.fragments.front()
                    {
                        self.waiting_for_plus = true;
                    }
                }
            }
        }
        buf.len() - start
    }

    /// The next event, or `None` when more input is needed.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Some(event);
            }
            match self.framer.poll_event()? {
                FramingEvent::Message(message) => self.handle_message(&message),
                // Literals in responses follow at once; nothing to answer.
                FramingEvent::ContinuationNeeded { .. } => {}
                _ => self.events.push_back(ClientEvent::Malformed),
            }
        }
    }

    fn handle_message(&mut self, message: &[u8]) {
        if !self.greeted {
            self.greeted = true;
            match self.codec.decode_greeting(message) {
                Ok((_, greeting)) => {
                    self.state = match greeting.kind {
                        GreetingKind::Ok => State::NotAuthenticated,
                        GreetingKind::PreAuth => State::Authenticated,
                        GreetingKind::Bye => State::Logout,
                    };
                    self.events.push_back(ClientEvent::Greeting(greeting));
                }
                Err(_) => self.events.push_back(ClientEvent::Malformed),
            }
            return;
        }
        let response = match self.codec.decode(message) {
            Ok((_, response)) => response,
            Err(_) => {
                // A framed message is whole, so even "incomplete" means malformed.
                self.events.push_back(ClientEvent::Malformed);
                return;
            }
        };
        match response {
            Response::Continuation(continuation) => {
                if self.waiting_for_plus {
                    self.waiting_for_plus = false;
                } else {
                    self.events
                        .push_back(ClientEvent::Continuation(continuation));
                }
            }
            Response::Data(data) => {
                if matches!(data, Data::Bye(_)) {
                    self.state = State::Logout;
                }
                if let Data::Enabled(capabilities) = &data {
                    self.record_enabled(capabilities);
                }
                self.events.push_back(ClientEvent::Data(data));
            }
            Response::Tagged(tagged) => {
                self.complete(&tagged);
                self.events.push_back(ClientEvent::Tagged(tagged));
            }
        }
    }

    /// Records an `* ENABLED` list. RFC 5161 §3.2 makes it the answer to an ENABLE
    /// command, so one that arrives while no ENABLE is in progress enables nothing.
    fn record_enabled(&mut self, capabilities: &[Atom]) {
        let asked = self
            .in_progress
            .iter()
            .any(|(_, body)| matches!(body, CommandBody::Enable(_)));
        if !asked {
            return;
        }
        for capability in capabilities {
            if !self.is_enabled(capability.as_str()) {
                self.enabled.push(capability.clone());
            }
        }
    }

    /// Applies a command's completion: drops the unsent rest of a refused command and tracks
    /// the state the server moved to.
    fn complete(&mut self, tagged: &Tagged) {
        if let Some(front) = self.queue.front()
            && front.tag == tagged.tag
        {
            // RFC 3501 §2.2.1: the server "sends a BAD completion response with a tag
            // matching the command (as described below) to reject the command and prevent
            // the client from sending any more of the command."
            self.queue.pop_front();
            self.waiting_for_plus = false;
        }
        let Some(index) = self.in_progress.iter().position(|(t, _)| *t == tagged.tag) else {
            return;
        };
        let (_, body) = self.in_progress.remove(index);
        let ok = tagged.kind == StatusKind::Ok;
        self.state = super::state_after(self.state, &body, ok);
    }
}
