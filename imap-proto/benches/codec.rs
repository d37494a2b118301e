//! Decode and encode throughput of `imap-proto` against `imap-codec` 2.x on the same corpus of
//! realistic client commands and server responses, in the same run.
//!
//! Run: `cargo bench -p imap-proto --bench codec`. Results and ratios: BENCHMARKS.md.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use imap_codec::{decode::Decoder, encode::Encoder};
use imap_proto::codec::{CommandCodec, ResponseCodec};

mod corpus;
use corpus::{commands, responses};

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
