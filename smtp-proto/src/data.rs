//! The DATA receiver: dot-unstuffing, `CRLF.CRLF` end of data, bare CR/LF policy, text line
//! and message size limits. The body comes out as borrowed chunks of the input, so a server
//! can stream a large message with bounded memory and without copying.
//!
//! RFC 5321 §4.1.1.4: "The mail data are terminated by a line containing only a period, that
//! is, the character sequence "`<CRLF>`.`<CRLF>`", where the first `<CRLF>` is actually the
//! terminator of the previous line". Nothing else ends the data: `\n.\n`, `\r.\r`, `\r\n.\n`
//! and the rest of the SMTP smuggling family (CVE-2023-51764/5/6) are content, and with the
//! default [`BareNewlinePolicy::Reject`] they make the message fail after its end, so one DATA
//! never yields two messages.

use crate::{
    options::{BareNewlinePolicy, Options},
    reply::Reply,
    search::Search,
};

/// Why a message read with DATA (or BDAT) is refused after its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A CR not followed by LF, or an LF not preceded by CR (RFC 5321 §2.3.8).
    #[error("bare CR or LF in message")]
    BareNewline,
    /// A line longer than [`Options::max_text_line`] (RFC 5321 §4.5.3.1.6).
    #[error("message line longer than {max} octets")]
    LineTooLong {
        /// The limit.
        max: usize,
    },
    /// More octets than [`Options::max_message_size`].
    #[error("message larger than {max} octets")]
    TooBig {
        /// The limit.
        max: u64,
    },
}

impl DataError {
    /// The reply a server sends after the end of the refused message.
    pub fn reply(&self) -> Reply<'static> {
        match self {
            DataError::BareNewline => Reply::fixed(
                554,
                Some((5, 5, 2)),
                "Message contains bare CR or LF; lines must end with CRLF",
            ),
            // RFC 5321 §4.5.3.1.9: "500 Line too long."
            DataError::LineTooLong { .. } => Reply::fixed(500, Some((5, 5, 2)), "Line too long"),
            // RFC 1870 §6.1: "552 message size exceeds fixed maximium message size" (sic)
            DataError::TooBig { .. } => Reply::fixed(
                552,
                Some((5, 3, 4)),
                "Message size exceeds fixed maximum message size",
            ),
        }
    }
}

/// What [`DataDecoder::decode`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataEvent<'a> {
    /// The next piece of the unstuffed message.
    Chunk(&'a [u8]),
    /// The end of data was read: the message size, or why it must be refused. No more
    /// chunks follow; input after the terminator belongs to the next command.
    End(Result<u64, DataError>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// After a CRLF (or at the very start): a '.' here is stuffing or the terminator.
    LineStart,
    /// After CRLF and '.'.
    Dot,
    /// After CRLF, '.' and CR.
    DotCr,
    /// Inside a line; `cr` says whether the last octet was a CR.
    Mid { cr: bool },
    /// The terminator has been read.
    Done,
}

/// A [`DataEvent`] with the chunk given by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    /// `input[start..end]`.
    Range(usize, usize),
    /// A single CR that was consumed by an earlier call.
    Cr,
    /// The end of data.
    End(Result<u64, DataError>),
}

/// Decodes the octets after a 354 reply up to and including `CRLF.CRLF`.
///
/// ```
/// use smtp_proto::{Options, data::{DataDecoder, DataEvent}};
///
/// let mut decoder = DataDecoder::new(&Options::default());
/// let mut input: &[u8] = b"Subject: hi\r\n\r\n..dot\r\n.\r\nQUIT\r\n";
/// let mut body = Vec::new();
/// let outcome = loop {
///     let (consumed, event) = decoder.decode(input);
///     input = &input[consumed..];
///     match event {
///         Some(DataEvent::Chunk(chunk)) => body.extend_from_slice(chunk),
///         Some(DataEvent::End(outcome)) => break outcome,
///         None => unreachable!("the example input holds the whole message"),
///     }
/// };
/// assert_eq!(body, b"Subject: hi\r\n\r\n.dot\r\n");
/// assert_eq!(outcome, Ok(21));
/// assert_eq!(input, b"QUIT\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct DataDecoder {
    state: State,
    line_len: usize,
    size: u64,
    problem: Option<DataError>,
    max_line: usize,
    max_size: u64,
    policy: BareNewlinePolicy,
}

/// The end of the content run that starts inside a line (`prev_cr`: the octet before `rest`
/// was a CR) and the state after it: just past the CRLF of the next line that starts with
/// a dot, or the whole of `rest`.
fn line_dot(search: &Search, prev_cr: bool, rest: &[u8]) -> (usize, State) {
    let mut from = 0;
    while let Some(hit) = search.lf_dot(&rest[from..]) {
        let lf = from + hit;
        let after_cr = match lf.checked_sub(1) {
            Some(before) => rest[before] == b'\r',
            None => prev_cr,
        };
        if after_cr {
            return (lf + 1, State::LineStart);
        }
        // A bare LF before the dot: not a line start (only CRLF ends a line).
        from = lf + 1;
    }
    let next = if rest.ends_with(b"\r\n") {
        State::LineStart
    } else {
        State::Mid {
            cr: rest.ends_with(b"\r"),
        }
    };
    (rest.len(), next)
}

impl DataDecoder {
    /// A decoder for one message, with the limits and policy of `options`.
    pub fn new(options: &Options) -> Self {
        DataDecoder {
            state: State::LineStart,
            line_len: 0,
            size: 0,
            problem: None,
            max_line: options.max_text_line,
            max_size: options.max_message_size,
            policy: options.bare_newline,
        }
    }

    /// Whether the terminator has been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Octets of unstuffed content so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Decodes from `input`; returns the octets consumed and an event, or `None` once all
    /// input was consumed without reaching the end. Call again with the unconsumed rest
    /// until it returns `None` or [`DataEvent::End`]. Chunks are only handed out while the
    /// message is still acceptable; after a problem the rest is read and dropped.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> (usize, Option<DataEvent<'a>>) {
        let (used, found) = self.decode_indexed(input);
        let event = found.map(|found| match found {
            Found::Range(start, end) => DataEvent::Chunk(&input[start..end]),
            Found::Cr => DataEvent::Chunk(b"\r"),
            Found::End(outcome) => DataEvent::End(outcome),
        });
        (used, event)
    }

    /// [`DataDecoder::decode`] with chunks given as positions in `input`, for callers that
    /// must borrow the input again later (the server session).
    pub(crate) fn decode_indexed(&mut self, input: &[u8]) -> (usize, Option<Found>) {
        let search = Search::get();
        let mut pos = 0;
        let mut start = 0;
        loop {
            let Some(&byte) = input.get(pos) else {
                return (pos, self.chunk(start, pos));
            };
            match self.state {
                State::Done => return (pos, self.chunk(start, pos)),
                State::LineStart if byte == b'.' => {
                    // RFC 5321 §4.5.2: "If the first character is a period and there are
                    // other characters on the line, the first character is deleted."
                    // The dot is consumed with the chunk before it, so the next call starts
                    // after it.
                    self.state = State::Dot;
                    if let Some(chunk) = self.chunk(start, pos) {
                        return (pos + 1, Some(chunk));
                    }
                    pos += 1;
                    start = pos;
                }
                State::LineStart => self.state = State::Mid { cr: false },
                State::Dot if byte == b'\r' => {
                    pos += 1;
                    start = pos;
                    self.state = State::DotCr;
                }
                State::Dot => self.state = State::Mid { cr: false },
                State::DotCr if byte == b'\n' => {
                    self.state = State::Done;
                    let outcome = match self.problem {
                        Some(problem) => Err(problem),
                        None => Ok(self.size),
                    };
                    return (pos + 1, Some(Found::End(outcome)));
                }
                State::DotCr => {
                    // ".\r" then something else: the CR was consumed already, so it is
                    // handed out on its own; it is a bare CR, which the scan reports.
                    self.state = State::Mid { cr: true };
                    self.line_len = 0;
                    if self.account(b"\r") {
                        return (pos, Some(Found::Cr));
                    }
                }
                State::Mid { cr } => {
                    let rest = &input[pos..];
                    let (end, next) = if cr && byte == b'\n' {
                        // The CRLF straddles two inputs.
                        (1, State::LineStart)
                    } else {
                        line_dot(search, cr, rest)
                    };
                    self.scan(search, cr, &rest[..end]);
                    self.state = next;
                    pos += end;
                }
            }
        }
    }

    /// Checks a run of content octets that starts inside a line.
    fn scan(&mut self, search: &Search, prev_cr: bool, segment: &[u8]) {
        if self.problem.is_some() {
            return;
        }
        self.size += segment.len() as u64;
        if self.size > self.max_size {
            self.problem = Some(DataError::TooBig { max: self.max_size });
        } else if self.policy == BareNewlinePolicy::Reject && has_bare_newline(prev_cr, segment) {
            // RFC 5321 §2.3.8: "SMTP client implementations MUST NOT transmit these
            // characters except when they are intended as line terminators and then MUST, as
            // indicated above, transmit them only as a <CRLF> sequence."
            self.problem = Some(DataError::BareNewline);
        } else if !self.line_lengths_ok(search, segment) {
            // RFC 5321 §4.5.3.1.6: "The maximum total length of a text line including the
            // <CRLF> is 1000 octets (not counting the leading dot duplicated for
            // transparency)." The limit is `max_text_line`, 1000 by default.
            self.problem = Some(DataError::LineTooLong { max: self.max_line });
        }
    }

    /// Counts a static chunk; returns whether to hand it out.
    fn account(&mut self, chunk: &[u8]) -> bool {
        self.scan(Search::get(), false, chunk);
        self.problem.is_none() && self.policy == BareNewlinePolicy::Accept
    }

    fn chunk(&self, start: usize, end: usize) -> Option<Found> {
        (end > start && self.problem.is_none()).then_some(Found::Range(start, end))
    }

    /// Tracks the current line length across calls; false once a line, CRLF included,
    /// exceeds the limit. Looks for the last LF in each limit-sized window, so a body of
    /// short lines costs about one search per window, not one per line.
    fn line_lengths_ok(&mut self, search: &Search, segment: &[u8]) -> bool {
        let mut pos = 0;
        while pos < segment.len() {
            let room = self.max_line.saturating_sub(self.line_len);
            let end = segment.len().min(pos.saturating_add(room));
            match search.last_lf(&segment[pos..end]) {
                Some(lf) => {
                    self.line_len = 0;
                    pos += lf + 1;
                }
                None if end - pos >= room => return false,
                None => {
                    self.line_len += end - pos;
                    pos = end;
                }
            }
        }
        true
    }
}

/// Whether `segment` has an LF not preceded by CR, or a CR followed by something other than
/// LF. `prev_cr` says whether the octet before the segment was a CR; a CR at the very end is
/// judged with the next segment.
pub(crate) fn has_bare_newline(prev_cr: bool, segment: &[u8]) -> bool {
    let Some(&first) = segment.first() else {
        return false;
    };
    if (first == b'\n') != prev_cr {
        return true;
    }
    // Every LF must follow a CR and every CR must precede an LF, so the two flags agree at
    // every adjacent pair. Blocks of 4096 keep the early exit cheap.
    let (before, after) = (&segment[..segment.len() - 1], &segment[1..]);
    before
        .chunks(4096)
        .zip(after.chunks(4096))
        .any(|(a, b)| pairs_disagree(a, b))
}

/// Whether `a[i] == CR` and `b[i] == LF` differ anywhere. Written over fixed-size arrays
/// with no branch so the compiler turns it into vector compares; the tail is padded with
/// zeros (neither CR nor LF) so it takes the same vector path.
fn pairs_disagree(a: &[u8], b: &[u8]) -> bool {
    let (mut wide_a, mut wide_b) = (a.chunks_exact(64), b.chunks_exact(64));
    let mut acc = 0u8;
    for (x, y) in (&mut wide_a).zip(&mut wide_b) {
        acc |= block_disagrees(x, y);
    }
    let (tail_a, tail_b) = (wide_a.remainder(), wide_b.remainder());
    let (mut pad_a, mut pad_b) = ([0u8; 64], [0u8; 64]);
    pad_a[..tail_a.len()].copy_from_slice(tail_a);
    pad_b[..tail_b.len()].copy_from_slice(tail_b);
    acc |= block_disagrees(&pad_a, &pad_b);
    acc != 0
}

#[inline(always)]
fn block_disagrees(x: &[u8], y: &[u8]) -> u8 {
    let mut block = 0u8;
    // Both are 64 octets (chunks_exact or the padded tail); the conversion lets the compiler
    // drop bounds checks, and a mismatch would only skip the block, never panic.
    if let (Ok(x), Ok(y)) = (<&[u8; 64]>::try_from(x), <&[u8; 64]>::try_from(y)) {
        for i in 0..64 {
            block |= u8::from(x[i] == b'\r') ^ u8::from(y[i] == b'\n');
        }
    }
    block
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::encode_data::encode_message;

    /// Body, outcome and octets consumed of one run.
    pub(crate) type Run = Option<(Vec<u8>, Result<u64, DataError>, usize)>;
    type Comparable = Option<(Option<Vec<u8>>, Result<u64, DataError>, usize)>;

    /// Feeds `input` in pieces of `step` octets; returns the body, the outcome and the
    /// octets consumed, or `None` if the end was not reached.
    pub(crate) fn run(options: &Options, input: &[u8], step: usize) -> Run {
        let mut decoder = DataDecoder::new(options);
        let mut body = Vec::new();
        let mut offset = 0;
        while offset < input.len() {
            let end = (offset + step).min(input.len());
            let mut piece = &input[offset..end];
            loop {
                let (consumed, event) = decoder.decode(piece);
                offset += consumed;
                piece = &piece[consumed..];
                match event {
                    Some(DataEvent::Chunk(c)) => body.extend_from_slice(c),
                    Some(DataEvent::End(outcome)) => return Some((body, outcome, offset)),
                    None => {
                        assert!(piece.is_empty(), "None means all input was consumed");
                        break;
                    }
                }
            }
        }
        None
    }

    fn run_all_splits(options: &Options, input: &[u8]) -> Run {
        let whole = run(options, input, input.len().max(1));
        for step in [1, 2, 3, 7] {
            assert_eq!(
                same_result(run(options, input, step)),
                same_result(whole.clone()),
                "step {step}"
            );
        }
        whole
    }

    /// What must not depend on how the input is split: the outcome, the octets consumed and,
    /// for an accepted message, the body. Chunks before a problem depend on where it is seen.
    fn same_result(r: Run) -> Comparable {
        r.map(|(body, outcome, used)| (outcome.is_ok().then_some(body), outcome, used))
    }

    #[test]
    fn known_messages() {
        let options = Options::default();
        let table: &[(&[u8], &[u8], usize)] = &[
            (b".\r\n", b"", 3),
            (b"a\r\n.\r\n", b"a\r\n", 6),
            (b"..\r\n.\r\n", b".\r\n", 7),
            (b"..x\r\n...\r\n.\r\nQUIT\r\n", b".x\r\n..\r\n", 13),
            (b"a.\r\n.b\r\n.\r\n", b"a.\r\nb\r\n", 11),
            (b"\r\n.\r\n", b"\r\n", 5),
        ];
        for (input, body, consumed) in table {
            let (got, outcome, used) = run_all_splits(&options, input).expect("complete");
            assert_eq!(got, *body);
            assert_eq!(outcome, Ok(body.len() as u64));
            assert_eq!(used, *consumed);
            // Every strict prefix is incomplete.
            for end in 0..*consumed {
                assert_eq!(run(&options, &input[..end], end.max(1)), None);
            }
        }
    }

    #[test]
    fn smuggling_variants_never_end_the_data() {
        for policy in [BareNewlinePolicy::Reject, BareNewlinePolicy::Accept] {
            let options = Options {
                bare_newline: policy,
                ..Options::default()
            };
            for end in crate::fuzzing::SMUGGLING_END_OF_DATA {
                let mut input = b"Subject: one\r\n\r\nbody".to_vec();
                input.extend_from_slice(end);
                let smuggled = b"MAIL FROM:<a@ext>\r\nRCPT TO:<local>\r\nDATA\r\nSubject: two\r\n";
                input.extend_from_slice(smuggled);
                input.extend_from_slice(b"\r\n.\r\nQUIT\r\n");
                let (body, outcome, used) = run_all_splits(&options, &input).expect("one message");
                assert_eq!(&input[used..], b"QUIT\r\n", "only CRLF.CRLF ends the data");
                let clean = end == b"\r\n\x00.\r\n";
                match (policy, clean) {
                    (BareNewlinePolicy::Reject, false) => {
                        assert_eq!(outcome, Err(DataError::BareNewline), "{end:?}");
                    }
                    _ => {
                        assert_eq!(outcome, Ok(body.len() as u64));
                        let text = String::from_utf8_lossy(&body);
                        assert!(
                            text.contains("MAIL FROM:<a@ext>"),
                            "smuggled text stays content"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn limits() {
        let options = Options {
            max_text_line: 10,
            max_message_size: 30,
            ..Options::default()
        };
        let ok_line = b"12345678\r\n12345678\r\n.\r\n";
        assert_eq!(run_all_splits(&options, ok_line).map(|r| r.1), Some(Ok(20)));
        let long_line = b"123456789\r\n.\r\n";
        assert_eq!(
            run_all_splits(&options, long_line).map(|r| r.1),
            Some(Err(DataError::LineTooLong { max: 10 }))
        );
        // The stuffed dot does not count (RFC 5321 §4.5.3.1.6).
        assert_eq!(
            run_all_splits(&options, b"..2345678\r\n.\r\n").map(|r| r.1),
            Some(Ok(10))
        );
        let big = b"1234567\r\n1234567\r\n1234567\r\n1234567\r\n.\r\n";
        let (body, outcome, _) = run_all_splits(&options, big).expect("complete");
        assert_eq!(outcome, Err(DataError::TooBig { max: 30 }));
        assert!(body.len() <= 30, "no chunk after the problem");
    }

    /// The line limit at its default, for lines just under, at and over it, placed anywhere in
    /// a longer body.
    #[test]
    fn default_line_limit_in_both_policies() {
        for policy in [BareNewlinePolicy::Reject, BareNewlinePolicy::Accept] {
            let options = Options {
                bare_newline: policy,
                ..Options::default()
            };
            for (long, ok) in [(998, true), (999, false), (1500, false)] {
                for before in [0, 1, 70, 3000] {
                    let mut input = b"short line\r\n".repeat(before / 12);
                    input.extend(std::iter::repeat_n(b'x', long));
                    input.extend_from_slice(b"\r\n");
                    input.extend_from_slice(&b"tail line\r\n".repeat(50));
                    input.extend_from_slice(b".\r\n");
                    let outcome = run_all_splits(&options, &input).map(|r| r.1.is_ok());
                    assert_eq!(outcome, Some(ok), "{policy:?} {long} after {before}");
                }
            }
        }
    }

    #[test]
    fn bare_newline_scan_matches_a_simple_rule() {
        let simple = |prev_cr: bool, s: &[u8]| {
            let mut prev = prev_cr;
            for &b in s {
                if (b == b'\n') != prev {
                    return true;
                }
                prev = b == b'\r';
            }
            false
        };
        let mut long = vec![b'a'; 9000];
        for i in (0..9000).step_by(100) {
            long[i] = b'\r';
            long[i + 1] = b'\n';
        }
        assert!(!has_bare_newline(false, &long));
        for spot in [4095, 4096, 8191, 8192, 8999] {
            let mut bad = long.clone();
            bad[spot] = b'\n';
            assert_eq!(has_bare_newline(false, &bad), simple(false, &bad), "{spot}");
            assert!(has_bare_newline(false, &bad));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn bare_newline_scan_agrees_with_the_octet_rule(
            prev_cr in any::<bool>(),
            segment in proptest::collection::vec(
                prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'a')], 0..40),
        ) {
            let mut prev = prev_cr;
            let mut bare = false;
            for &b in &segment {
                bare |= (b == b'\n') != prev;
                prev = b == b'\r';
            }
            prop_assert_eq!(has_bare_newline(prev_cr, &segment), bare);
        }
    }

    fn body_strategy() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                Just(b'.'),
                Just(b'\r'),
                Just(b'\n'),
                Just(b'a'),
                Just(0u8),
                any::<u8>()
            ],
            0..200,
        )
    }

    /// CRLF-normalised text with a final line end, as the encoder produces it.
    fn normalise(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < body.len() {
            match body[i] {
                b'\r' if body.get(i + 1) == Some(&b'\n') => {
                    out.extend_from_slice(b"\r\n");
                    i += 1;
                }
                b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
                b => out.push(b),
            }
            i += 1;
        }
        if !out.is_empty() && !out.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn encode_then_decode_gives_the_normalised_message(body in body_strategy(), step in 1usize..20) {
            let mut wire = Vec::new();
            encode_message(&body, &mut wire);
            let options = Options {
                max_text_line: usize::MAX,
                ..Options::default()
            };
            let (decoded, outcome, used) = run(&options, &wire, step).expect("complete");
            prop_assert_eq!(&decoded, &normalise(&body));
            prop_assert_eq!(outcome, Ok(decoded.len() as u64));
            prop_assert_eq!(used, wire.len());
        }

        #[test]
        fn split_points_do_not_matter(body in body_strategy(), step in 1usize..20) {
            let mut input = body.clone();
            input.extend_from_slice(b"\r\n.\r\n");
            let whole = same_result(run(&Options::default(), &input, input.len()));
            prop_assert_eq!(same_result(run(&Options::default(), &input, step)), whole);
        }
    }
}
