//! Decode and encode throughput of `imap-proto` against `imap-codec` 2.x on the same corpus of
//! realistic client commands and server responses, in the same run.
//!
//! Run: `cargo bench -p imap-proto --bench codec`. Results and ratios: BENCHMARKS-imap.md.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use imap_codec::{decode::Decoder, encode::Encoder};
use imap_proto::codec::{CommandCodec, ResponseCodec};

/// What a mail client sends most: header fetches, searches, flag changes, an APPEND, IDLE.
fn commands() -> Vec<Vec<u8>> {
    let mut append = b"A5 APPEND INBOX (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {4096}\r\n".to_vec();
    append.extend(std::iter::repeat_n(b'x', 4094));
    append.extend_from_slice(b"\r\n\r\n");
    vec![
        b"A1 UID FETCH 1:1000 (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO CC SUBJECT DATE MESSAGE-ID REFERENCES IN-REPLY-TO)])\r\n".to_vec(),
        b"A2 UID SEARCH UNDELETED SINCE 1-Feb-2024 OR FROM \"alice@example.org\" SUBJECT \"quarterly report\"\r\n".to_vec(),
        b"A3 UID STORE 4827313:4827320 +FLAGS.SILENT (\\Seen $Forwarded)\r\n".to_vec(),
        b"A4 UID FETCH 4827313 (BODY.PEEK[] BODYSTRUCTURE)\r\n".to_vec(),
        append,
        b"A6 IDLE\r\n".to_vec(),
        b"A7 SELECT INBOX\r\n".to_vec(),
        b"A8 UID MOVE 42:45 Archive/2024\r\n".to_vec(),
    ]
}

const HEADER: &str = "From: Alice <alice@example.org>\r\nSubject: Lunch?\r\nDate: Mon, 2 Dec 2024 12:00:00 +0000\r\n\r\n";

/// What a server sends most: FETCH with ENVELOPE and BODYSTRUCTURE, LIST, flags, completions.
fn responses() -> Vec<Vec<u8>> {
    vec![
        b"* 12 FETCH (UID 4827313 FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\") BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23 NIL NIL NIL NIL)(\"APPLICATION\" \"PDF\" (\"NAME\" \"report.pdf\") NIL NIL \"BASE64\" 4554 NIL (\"attachment\" (\"filename\" \"report.pdf\")) NIL NIL) \"MIXED\" (\"BOUNDARY\" \"xyz\") NIL NIL NIL))\r\n".to_vec(),
        format!(
            "* 13 FETCH (UID 4827314 FLAGS (\\Seen \\Answered $Label1) BODY[HEADER.FIELDS (FROM SUBJECT DATE)] {{{}}}\r\n{HEADER})\r\n",
            HEADER.len()
        )
        .into_bytes(),
        b"* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"\r\n".to_vec(),
        b"* LIST (\\HasChildren) \"/\" Archive\r\n".to_vec(),
        b"* 23 FETCH (FLAGS (\\Seen \\Deleted) UID 4827320)\r\n".to_vec(),
        b"* 172 EXISTS\r\n".to_vec(),
        b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n".to_vec(),
        b"A1 OK [READ-WRITE] SELECT completed\r\n".to_vec(),
    ]
}

fn total(corpus: &[Vec<u8>]) -> u64 {
    corpus.iter().map(|m| m.len() as u64).sum()
}

/// Measures both sides of one comparison in the same group, so their ratio comes from one run.
fn pair(
    c: &mut Criterion,
    name: &str,
    bytes: u64,
    mut ours: impl FnMut(),
    mut theirs: impl FnMut(),
) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("imap-proto", |b| b.iter(&mut ours));
    group.bench_function("imap-codec", |b| b.iter(&mut theirs));
    group.finish();
}

/// Decodes every message, insisting that it decodes whole: otherwise the comparison would
/// time different work.
fn decode_all<'a, T, E: std::fmt::Debug>(
    corpus: &'a [Vec<u8>],
    decode: impl Fn(&'a [u8]) -> Result<(&'a [u8], T), E>,
) -> Vec<T> {
    corpus
        .iter()
        .map(|m| match decode(m) {
            Ok(([], value)) => value,
            other => panic!("{}: {:?}", String::from_utf8_lossy(m), other.err()),
        })
        .collect()
}

fn commands_both_ways(c: &mut Criterion) {
    let corpus = commands();
    let ours = CommandCodec::default();
    let theirs = imap_codec::CommandCodec::default();
    let ours_values = decode_all(&corpus, |m| ours.decode(m));
    let theirs_values = decode_all(&corpus, |m| theirs.decode(m));
    let bytes = total(&corpus);
    pair(
        c,
        "decode_commands",
        bytes,
        || {
            corpus
                .iter()
                .for_each(|m| drop(black_box(ours.decode(black_box(m)))))
        },
        || {
            corpus
                .iter()
                .for_each(|m| drop(black_box(theirs.decode(black_box(m)))))
        },
    );
    pair(
        c,
        "encode_commands",
        bytes,
        || {
            ours_values
                .iter()
                .for_each(|v| drop(black_box(v.encode().dump())))
        },
        || {
            theirs_values
                .iter()
                .for_each(|v| drop(black_box(theirs.encode(v).dump())))
        },
    );
}

fn responses_both_ways(c: &mut Criterion) {
    let corpus = responses();
    let ours = ResponseCodec::default();
    let theirs = imap_codec::ResponseCodec::default();
    let ours_values = decode_all(&corpus, |m| ours.decode(m));
    let theirs_values = decode_all(&corpus, |m| theirs.decode(m));
    let bytes = total(&corpus);
    pair(
        c,
        "decode_responses",
        bytes,
        || {
            corpus
                .iter()
                .for_each(|m| drop(black_box(ours.decode(black_box(m)))))
        },
        || {
            corpus
                .iter()
                .for_each(|m| drop(black_box(theirs.decode(black_box(m)))))
        },
    );
    pair(
        c,
        "encode_responses",
        bytes,
        || {
            ours_values
                .iter()
                .for_each(|v| drop(black_box(v.encode().dump())))
        },
        || {
            theirs_values
                .iter()
                .for_each(|v| drop(black_box(theirs.encode(v).dump())))
        },
    );
}

criterion_group!(benches, commands_both_ways, responses_both_ways);
criterion_main!(benches);
