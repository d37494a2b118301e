//! The framing layer: splits a byte stream into whole messages before any parsing.
//!
//! A message is one command (or response): a line, and for every literal the line announces
//! (`{n}`, `{n+}`, `~{n}`) the literal's octets followed by the next line. The framer knows
//! only where lines end and how long literals are, so it can enforce size limits before the
//! parser sees a byte, and it never reads literal octets as commands:
//!
//! - A **synchronizing** literal over the limit is refused at once ([`FramingEvent::Rejected`]):
//!   the server answers with a tagged `BAD` instead of `+`, and the client does not send it.
//!   RFC 3501 §2.2.1: "If instead, the server detected an error in the command, it sends a
//!   BAD completion response with a tag matching the command".
//! - A **non-synchronizing** literal over the limit "poisons" the message: RFC 7888 §4 says
//!   the client sends the octets without waiting, so the framer keeps counting them, stores
//!   none, and reports the rejection when the message ends. Discarding at once would let the
//!   literal's octets be read as new commands.
//! - A line over the limit poisons the message the same way; the last bytes of the line are
//!   still examined, so a literal it announced is skipped too.
//!
//! - A literal longer than `literal_stream_threshold` is not buffered: the message so far
//!   comes out as [`FramingEvent::MessageHead`], the literal as [`FramingEvent::LiteralData`]
//!   chunks, and what follows it as the next event(s). The caller either consumes the chunks
//!   or calls [`Fragmentizer::reject_streamed_literal`], which refuses the message as above.
//!
//! Call order: [`Fragmentizer::handle_input`] with the bytes read, then
//! [`Fragmentizer::poll_event`] until it returns `None`, then read again. Memory is bounded by
//! the current message (at most `max_message_size`) plus the bytes of one `handle_input`.
//!
//! Known limit of framing by line ends: a response text ending in `{5}` (e.g. `* OK x {5}`)
//! looks like a literal announcement. Servers should not send such text.

use std::collections::VecDeque;

use crate::{
    chars::is_tag_char,
    options::Options,
    types::core::{LiteralMode, Tag},
};

/// How many bytes of an over-long line are kept to find a trailing literal announcement:
/// `~{` + 19 digits + `+}\r\n`.
const TAIL_KEPT: usize = 26;

/// What the framer found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FramingEvent {
    /// A synchronizing literal of `length` octets was announced and is within the limits. A
    /// server answers with a continuation request (`+ …`); the octets follow.
    ContinuationNeeded {
        /// The announced length.
        length: u64,
    },
    /// A whole message, ready for the parser: lines and literal octets, as received. After a
    /// streamed literal, this is the rest of the message after it.
    Message(Vec<u8>),
    /// The start of a message whose last literal is too large to buffer: the bytes so far,
    /// ending with the literal's announcement. [`FramingEvent::LiteralData`] follows (for a
    /// synchronizing literal, once the server sent `+`).
    MessageHead {
        /// The message up to and including `{n}\r\n`.
        data: Vec<u8>,
        /// The literal's announced length.
        length: u64,
        /// Synchronizing or not.
        mode: LiteralMode,
    },
    /// A chunk of a streamed literal; chunks add up to the announced length.
    LiteralData(Vec<u8>),
    /// A message was refused; its octets are gone. A server answers with a tagged `BAD`
    /// (untagged if the tag could not be read).
    Rejected {
        /// The tag of the refused command, if its first line began with one.
        tag: Option<Tag>,
        /// Which limit was hit.
        reason: RejectReason,
    },
}

/// Why a message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectReason {
    /// A line was longer than `max_line_length`.
    LineTooLong,
    /// A literal was longer than `max_literal_size`, or would have made the message longer
    /// than `max_message_size`.
    LiteralTooLarge {
        /// The announced length.
        length: u64,
        /// Synchronizing (never sent) or not (sent and discarded).
        mode: LiteralMode,
    },
    /// The message grew over `max_message_size`.
    MessageTooLarge,
    /// A literal announcement whose length does not fit a 63-bit number.
    MalformedLiteral,
    /// The caller refused a streamed literal ([`Fragmentizer::reject_streamed_literal`]).
    Refused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Line,
    Literal {
        remaining: u64,
    },
    /// A literal handed out in chunks instead of buffered.
    Streamed {
        remaining: u64,
        mode: LiteralMode,
    },
}

/// Splits bytes into messages. See the module documentation.
#[derive(Debug)]
pub struct Fragmentizer {
    options: Options,
    input: Vec<u8>,
    message: Vec<u8>,
    line: Vec<u8>,
    line_len: usize,
    first_line: bool,
    tag: Option<Tag>,
    poison: Option<RejectReason>,
    state: State,
    events: VecDeque<FramingEvent>,
}

impl Fragmentizer {
    /// A framer enforcing `options`.
    pub fn new(options: Options) -> Self {
        Self {
            options,
            input: Vec::new(),
            message: Vec::new(),
            line: Vec::new(),
            line_len: 0,
            first_line: true,
            tag: None,
            poison: None,
            state: State::Line,
            events: VecDeque::new(),
        }
    }

    /// Queues bytes read from the peer.
    pub fn handle_input(&mut self, bytes: &[u8]) {
        self.input.extend_from_slice(bytes);
    }

    /// The next event, or `None` when all queued input is consumed.
    pub fn poll_event(&mut self) -> Option<FramingEvent> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Some(event);
            }
            if !self.step() {
                return None;
            }
        }
    }

    /// Throws away queued input and any partial message. For STARTTLS: bytes pipelined
    /// behind it in plaintext must never run as commands once TLS is up (the
    /// CVE-2011-0411 class of STARTTLS command injection).
    pub fn discard_buffered(&mut self) -> usize {
        let dropped = self.input.len() + self.message.len() + self.line.len();
        *self = Self::new(self.options.clone());
        dropped
    }

    /// Bytes queued but not yet framed.
    pub fn buffered(&self) -> usize {
        self.input.len()
    }

    /// Whether the framer is inside a literal; for tests and diagnostics.
    pub fn is_in_literal(&self) -> bool {
        matches!(self.state, State::Literal { .. } | State::Streamed { .. })
    }

    /// Refuses the literal announced by the last [`FramingEvent::MessageHead`]: a
    /// synchronizing one is never read (the message ends now), a non-synchronizing one is read
    /// and dropped with the rest of its message. Either way a [`FramingEvent::Rejected`]
    /// follows. Returns false (and does nothing) when no streamed literal is pending.
    pub fn reject_streamed_literal(&mut self) -> bool {
        let State::Streamed { remaining, mode } = self.state else {
            return false;
        };
        self.poison(RejectReason::Refused);
        match mode {
            LiteralMode::Sync => self.end_message(),
            LiteralMode::NonSync => self.state = State::Literal { remaining },
        }
        true
    }

    /// Consumes some input; false when nothing could be consumed.
    fn step(&mut self) -> bool {
        if self.input.is_empty() {
            return false;
        }
        match self.state {
            State::Streamed { remaining, mode } => {
                let take = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(self.input.len());
                let chunk: Vec<u8> = self.input.drain(..take).collect();
                self.events.push_back(FramingEvent::LiteralData(chunk));
                let remaining = remaining - take as u64;
                self.state = if remaining == 0 {
                    State::Line
                } else {
                    State::Streamed { remaining, mode }
                };
            }
            State::Literal { remaining } => {
                let take = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(self.input.len());
                if self.poison.is_none() {
                    self.message.extend_from_slice(&self.input[..take]);
                }
                self.input.drain(..take);
                let remaining = remaining - take as u64;
                self.state = if remaining == 0 {
                    State::Line
                } else {
                    State::Literal { remaining }
                };
            }
            State::Line => {
                let newline = memchr::memchr(b'\n', &self.input);
                let take = newline.map_or(self.input.len(), |i| i + 1);
                self.push_line_bytes(take);
                if newline.is_some() {
                    self.line_complete();
                }
            }
        }
        true
    }

    /// Moves `take` input bytes into the current line, keeping only its tail once it is too
    /// long.
    fn push_line_bytes(&mut self, take: usize) {
        self.line.extend_from_slice(&self.input[..take]);
        self.input.drain(..take);
        self.line_len += take;
        if self.line_len > self.options.max_line_length {
            if self.first_line && self.tag.is_none() {
                self.tag = tag_of(&self.line);
            }
            self.poison(RejectReason::LineTooLong);
            let excess = self.line.len().saturating_sub(TAIL_KEPT);
            self.line.drain(..excess);
        }
    }

    fn poison(&mut self, reason: RejectReason) {
        if self.poison.is_none() {
            self.poison = Some(reason);
        }
        self.message = Vec::new();
    }

    fn line_complete(&mut self) {
        let line = std::mem::take(&mut self.line);
        self.line_len = 0;
        if self.first_line {
            if self.tag.is_none() {
                self.tag = tag_of(&line);
            }
            self.first_line = false;
        }
        if self.poison.is_none() {
            self.message.extend_from_slice(&line);
            if self.message.len() > self.options.max_message_size {
                self.poison(RejectReason::MessageTooLarge);
            }
        }
        match literal_announcement(&line) {
            None => self.end_message(),
            Some(None) => {
                self.poison(RejectReason::MalformedLiteral);
                self.end_message();
            }
            Some(Some((length, mode))) => {
                let streamed = length > self.options.literal_stream_threshold;
                let too_large = length > self.options.max_literal_size
                    || (mode == LiteralMode::NonSync
                        && length > self.options.max_non_sync_literal_size)
                    || (!streamed
                        && (self.message.len() as u64).saturating_add(length)
                            > self.options.max_message_size as u64);
                if too_large {
                    self.poison(RejectReason::LiteralTooLarge { length, mode });
                }
                if streamed && self.poison.is_none() {
                    let data = std::mem::take(&mut self.message);
                    self.events
                        .push_back(FramingEvent::MessageHead { data, length, mode });
                    self.state = State::Streamed {
                        remaining: length,
                        mode,
                    };
                    return;
                }
                match (mode, self.poison.is_some()) {
                    // The client waits for "+", which it will not get: the message ends here.
                    (LiteralMode::Sync, true) => self.end_message(),
                    (LiteralMode::Sync, false) => {
                        self.events
                            .push_back(FramingEvent::ContinuationNeeded { length });
                        self.state = State::Literal { remaining: length };
                    }
                    (LiteralMode::NonSync, _) => {
                        self.state = State::Literal { remaining: length };
                    }
                }
                if length == 0 && self.state == (State::Literal { remaining: 0 }) {
                    self.state = State::Line;
                }
            }
        }
    }

    fn end_message(&mut self) {
        let event = match self.poison.take() {
            Some(reason) => FramingEvent::Rejected {
                tag: self.tag.take(),
                reason,
            },
            None => FramingEvent::Message(std::mem::take(&mut self.message)),
        };
        self.events.push_back(event);
        self.message = Vec::new();
        self.tag = None;
        self.first_line = true;
        self.state = State::Line;
    }
}

/// The tag at the start of a command line, if there is one.
fn tag_of(line: &[u8]) -> Option<Tag> {
    let end = line.iter().position(|b| !is_tag_char(*b))?;
    let text = std::str::from_utf8(line.get(..end)?).ok()?;
    Tag::try_from(text).ok()
}

/// Whether a complete line ends with a literal announcement: `None` if not, `Some(None)` if
/// the length is not a valid `number64`, else its length and mode.
fn literal_announcement(line: &[u8]) -> Option<Option<(u64, LiteralMode)>> {
    let body = line
        .strip_suffix(b"\r\n")
        .or_else(|| line.strip_suffix(b"\n"))?;
    ends_like_literal(body)
}

/// Whether `body` (a line without its CRLF) ends like `{n}` or `{n+}`; the same answers as
/// [`literal_announcement`]. Response text must not, or the framer would wait for a literal.
pub(crate) fn ends_like_literal(body: &[u8]) -> Option<Option<(u64, LiteralMode)>> {
    let body = body.strip_suffix(b"}")?;
    let (body, mode) = match body.strip_suffix(b"+") {
        Some(body) => (body, LiteralMode::NonSync),
        None => (body, LiteralMode::Sync),
    };
    let digits_start = body
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |i| i + 1);
    let (head, digits) = body.split_at(digits_start);
    if digits.is_empty() || head.last() != Some(&b'{') {
        return None;
    }
    let mut length: u64 = 0;
    for d in digits {
        length = match length
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
        {
            // RFC 9051 §9: number64 is an "Unsigned 63-bit integer".
            Some(n) if n <= i64::MAX as u64 => n,
            _ => return Some(None),
        };
    }
    Some(Some((length, mode)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(options: Options, chunks: &[&[u8]]) -> Vec<FramingEvent> {
        let mut f = Fragmentizer::new(options);
        let mut events = Vec::new();
        for chunk in chunks {
            f.handle_input(chunk);
            while let Some(event) = f.poll_event() {
                events.push(event);
            }
        }
        events
    }

    fn small() -> Options {
        Options {
            max_line_length: 32,
            max_literal_size: 8,
            max_message_size: 64,
            ..Options::default()
        }
    }

    fn msg(bytes: &[u8]) -> FramingEvent {
        FramingEvent::Message(bytes.to_vec())
    }

    fn tag(t: &str) -> Option<Tag> {
        Some(Tag::try_from(t).unwrap())
    }

    #[test]
    fn lines_and_literals_in_any_chunking() {
        let input: &[u8] = b"a NOOP\r\nb LOGIN {3}\r\nxyz {2+}\r\n\r\n\r\nc LOGOUT\r\n";
        let expected = vec![
            msg(b"a NOOP\r\n"),
            FramingEvent::ContinuationNeeded { length: 3 },
            msg(b"b LOGIN {3}\r\nxyz {2+}\r\n\r\n\r\n"),
            msg(b"c LOGOUT\r\n"),
        ];
        assert_eq!(run(Options::default(), &[input]), expected);
        for cut in 0..input.len() {
            let (a, b) = input.split_at(cut);
            assert_eq!(run(Options::default(), &[a, b]), expected, "cut at {cut}");
        }
        let bytewise: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(run(Options::default(), &bytewise), expected);
    }

    #[test]
    fn oversize_sync_literal_is_refused_and_never_read() {
        // The client waits for "+", gets BAD, and sends the next command instead.
        let events = run(small(), &[b"a APPEND x {9}\r\n", b"b NOOP\r\n"]);
        assert_eq!(
            events,
            vec![
                FramingEvent::Rejected {
                    tag: tag("a"),
                    reason: RejectReason::LiteralTooLarge {
                        length: 9,
                        mode: LiteralMode::Sync
                    },
                },
                msg(b"b NOOP\r\n"),
            ]
        );
    }

    #[test]
    fn oversize_non_sync_literal_poisons_and_its_bytes_are_not_commands() {
        // RFC 7888 §4: the client sends a non-synchronizing literal without waiting, so its
        // octets arrive and must be skipped, not parsed.
        let events = run(
            small(),
            &[b"a APPEND x {10+}\r\nb LOGOUT\r\n", b" more\r\nc NOOP\r\n"],
        );
        assert_eq!(
            events,
            vec![
                FramingEvent::Rejected {
                    tag: tag("a"),
                    reason: RejectReason::LiteralTooLarge {
                        length: 10,
                        mode: LiteralMode::NonSync
                    },
                },
                msg(b"c NOOP\r\n"),
            ]
        );
    }

    #[test]
    fn overlong_line_poisons_and_its_trailing_literal_is_skipped() {
        let mut long = b"a LOGIN ".to_vec();
        long.extend(std::iter::repeat_n(b'x', 100));
        long.extend_from_slice(b" {4+}\r\nb NO\r\n");
        let events = run(small(), &[&long, b"c NOOP\r\n"]);
        assert_eq!(
            events,
            vec![
                FramingEvent::Rejected {
                    tag: tag("a"),
                    reason: RejectReason::LineTooLong
                },
                msg(b"c NOOP\r\n"),
            ]
        );
    }

    #[test]
    fn literal_minus_limits_only_non_sync_literals() {
        // RFC 7888 LITERAL-: non-synchronizing literals are allowed up to 4096 octets.
        let options = Options {
            max_non_sync_literal_size: 4,
            ..Options::default()
        };
        let events = run(options, &[b"a X {5+}\r\nhello\r\nb X {5}\r\n"]);
        assert_eq!(
            events,
            vec![
                FramingEvent::Rejected {
                    tag: tag("a"),
                    reason: RejectReason::LiteralTooLarge {
                        length: 5,
                        mode: LiteralMode::NonSync
                    },
                },
                FramingEvent::ContinuationNeeded { length: 5 },
            ]
        );
    }

    #[test]
    fn message_size_counts_every_part() {
        let events = run(small(), &[b"a X {8+}\r\n12345678 {8+}\r\n12345678 {8+}\r\n12345678 {8+}\r\n12345678\r\nb NOOP\r\n"]);
        assert_eq!(events.len(), 2);
        // 63 octets after the fourth literal; the final CRLF makes 65 > 64.
        assert_eq!(
            events[0],
            FramingEvent::Rejected {
                tag: tag("a"),
                reason: RejectReason::MessageTooLarge
            }
        );
        assert_eq!(events[1], msg(b"b NOOP\r\n"));
    }

    #[test]
    fn malformed_and_zero_length_literals() {
        let events = run(
            Options::default(),
            &[b"a X {99999999999999999999}\r\nb X {0}\r\n\r\n"],
        );
        assert_eq!(
            events,
            vec![
                FramingEvent::Rejected {
                    tag: tag("a"),
                    reason: RejectReason::MalformedLiteral
                },
                FramingEvent::ContinuationNeeded { length: 0 },
                msg(b"b X {0}\r\n\r\n"),
            ]
        );
    }

    #[test]
    fn large_literals_stream_in_chunks() {
        let options = Options {
            literal_stream_threshold: 4,
            ..Options::default()
        };
        let events = run(
            options.clone(),
            &[b"a APPEND x {10}\r\n", b"01234", b"56789 {2}\r\nab\r\n"],
        );
        assert_eq!(
            events,
            vec![
                FramingEvent::MessageHead {
                    data: b"a APPEND x {10}\r\n".to_vec(),
                    length: 10,
                    mode: LiteralMode::Sync
                },
                FramingEvent::LiteralData(b"01234".to_vec()),
                FramingEvent::LiteralData(b"56789".to_vec()),
                FramingEvent::ContinuationNeeded { length: 2 },
                msg(b" {2}\r\nab\r\n"),
            ]
        );
    }

    #[test]
    fn refused_streamed_literals_are_never_read_as_commands() {
        let options = Options {
            literal_stream_threshold: 4,
            ..Options::default()
        };
        for (mode, input) in [
            (
                LiteralMode::NonSync,
                &b"a LOGIN x {10+}\r\nb LOGOUT\r\n\r\nc NOOP\r\n"[..],
            ),
            (LiteralMode::Sync, b"a LOGIN x {12}\r\nc NOOP\r\n"),
        ] {
            let mut f = Fragmentizer::new(options.clone());
            f.handle_input(input);
            assert!(matches!(
                f.poll_event(),
                Some(FramingEvent::MessageHead { mode: m, .. }) if m == mode
            ));
            assert!(f.reject_streamed_literal());
            let rest: Vec<FramingEvent> = std::iter::from_fn(|| f.poll_event()).collect();
            assert_eq!(
                rest,
                vec![
                    FramingEvent::Rejected {
                        tag: tag("a"),
                        reason: RejectReason::Refused
                    },
                    msg(b"c NOOP\r\n"),
                ]
            );
        }
    }

    #[test]
    fn starttls_discards_plaintext() {
        let mut f = Fragmentizer::new(Options::default());
        f.handle_input(b"a STARTTLS\r\nb LOGIN evil inject\r\n");
        assert_eq!(f.poll_event(), Some(msg(b"a STARTTLS\r\n")));
        // The server sees STARTTLS, answers OK, and throws away whatever came with it.
        assert!(f.discard_buffered() > 0);
        assert_eq!(f.poll_event(), None);
    }
}
