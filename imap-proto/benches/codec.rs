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

fn decode_commands(c: &mut Criterion) {
    let corpus = commands();
    let ours = CommandCodec::default();
    let theirs = imap_codec::CommandCodec::default();
    // Both decoders must accept every message whole, or the comparison means nothing.
    for message in &corpus {
        assert!(matches!(ours.decode(message), Ok(([], _))), "{message:?}");
        assert!(matches!(theirs.decode(message), Ok(([], _))), "{message:?}");
    }
    let mut group = c.benchmark_group("decode_commands");
    group.throughput(Throughput::Bytes(total(&corpus)));
    group.bench_function("imap-proto", |b| {
        b.iter(|| {
            for message in &corpus {
                black_box(ours.decode(black_box(message)).ok());
            }
        })
    });
    group.bench_function("imap-codec", |b| {
        b.iter(|| {
            for message in &corpus {
                black_box(theirs.decode(black_box(message)).ok());
            }
        })
    });
    group.finish();

    let ours_values: Vec<_> = corpus
        .iter()
        .filter_map(|m| ours.decode(m).ok())
        .map(|(_, v)| v)
        .collect();
    let theirs_values: Vec<_> = corpus
        .iter()
        .filter_map(|m| theirs.decode(m).ok())
        .map(|(_, v)| v)
        .collect();
    let mut group = c.benchmark_group("encode_commands");
    group.throughput(Throughput::Bytes(total(&corpus)));
    group.bench_function("imap-proto", |b| {
        b.iter(|| {
            for value in &ours_values {
                black_box(value.encode().dump());
            }
        })
    });
    group.bench_function("imap-codec", |b| {
        b.iter(|| {
            for value in &theirs_values {
                black_box(theirs.encode(value).dump());
            }
        })
    });
    group.finish();
}

fn decode_responses(c: &mut Criterion) {
    let corpus = responses();
    let ours = ResponseCodec::default();
    let theirs = imap_codec::ResponseCodec::default();
    for message in &corpus {
        assert!(matches!(ours.decode(message), Ok(([], _))), "{message:?}");
        assert!(matches!(theirs.decode(message), Ok(([], _))), "{message:?}");
    }
    let mut group = c.benchmark_group("decode_responses");
    group.throughput(Throughput::Bytes(total(&corpus)));
    group.bench_function("imap-proto", |b| {
        b.iter(|| {
            for message in &corpus {
                black_box(ours.decode(black_box(message)).ok());
            }
        })
    });
    group.bench_function("imap-codec", |b| {
        b.iter(|| {
            for message in &corpus {
                black_box(theirs.decode(black_box(message)).ok());
            }
        })
    });
    group.finish();

    let ours_values: Vec<_> = corpus
        .iter()
        .filter_map(|m| ours.decode(m).ok())
        .map(|(_, v)| v)
        .collect();
    let theirs_values: Vec<_> = corpus
        .iter()
        .filter_map(|m| theirs.decode(m).ok())
        .map(|(_, v)| v)
        .collect();
    let mut group = c.benchmark_group("encode_responses");
    group.throughput(Throughput::Bytes(total(&corpus)));
    group.bench_function("imap-proto", |b| {
        b.iter(|| {
            for value in &ours_values {
                black_box(value.encode().dump());
            }
        })
    });
    group.bench_function("imap-codec", |b| {
        b.iter(|| {
            for value in &theirs_values {
                black_box(theirs.encode(value).dump());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, decode_commands, decode_responses);
criterion_main!(benches);
