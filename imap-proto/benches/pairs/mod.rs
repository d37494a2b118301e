//! The four comparisons both benches time (decode and encode, commands and responses,
//! imap-proto against imap-codec on the same corpus), defined once: `codec.rs` times them
//! with criterion, `interleaved.rs` in alternating batches.

use std::hint::black_box;

use imap_codec::{decode::Decoder, encode::Encoder};
use imap_proto::codec::{CommandCodec, ResponseCodec};

use crate::corpus::{commands, responses};

/// Receives one comparison: its name, the corpus bytes one pass handles, and one pass of
/// each side.
pub(crate) type Timer<'t> = dyn FnMut(&str, u64, &mut dyn FnMut(), &mut dyn FnMut()) + 't;

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

/// Decoding and encoding one corpus, both sides.
#[allow(clippy::too_many_arguments)] // Two sides of two directions, named for the reader.
fn both_ways<'a, O, T, E1: std::fmt::Debug, E2: std::fmt::Debug>(
    time: &mut Timer<'_>,
    kind: &str,
    corpus: &'a [Vec<u8>],
    decode_ours: impl Fn(&'a [u8]) -> Result<(&'a [u8], O), E1>,
    decode_theirs: impl Fn(&'a [u8]) -> Result<(&'a [u8], T), E2>,
    encode_ours: impl Fn(&O) -> Vec<u8>,
    encode_theirs: impl Fn(&T) -> Vec<u8>,
) {
    let ours_values = decode_all(corpus, &decode_ours);
    let theirs_values = decode_all(corpus, &decode_theirs);
    let bytes = corpus.iter().map(|m| m.len() as u64).sum();
    time(
        &format!("decode_{kind}"),
        bytes,
        &mut || {
            corpus
                .iter()
                .for_each(|m| drop(black_box(decode_ours(black_box(m)))))
        },
        &mut || {
            corpus
                .iter()
                .for_each(|m| drop(black_box(decode_theirs(black_box(m)))))
        },
    );
    time(
        &format!("encode_{kind}"),
        bytes,
        &mut || {
            ours_values
                .iter()
                .for_each(|v| drop(black_box(encode_ours(v))))
        },
        &mut || {
            theirs_values
                .iter()
                .for_each(|v| drop(black_box(encode_theirs(v))))
        },
    );
}

/// Hands every comparison to `time`, in a fixed order.
pub(crate) fn each(time: &mut Timer<'_>) {
    let corpus = commands();
    let (ours, theirs) = (CommandCodec::default(), imap_codec::CommandCodec::default());
    both_ways(
        time,
        "commands",
        &corpus,
        |m| ours.decode(m),
        |m| theirs.decode(m),
        |v| v.encode().dump(),
        |v| theirs.encode(v).dump(),
    );
    let corpus = responses();
    let (ours, theirs) = (
        ResponseCodec::default(),
        imap_codec::ResponseCodec::default(),
    );
    both_ways(
        time,
        "responses",
        &corpus,
        |m| ours.decode(m),
        |m| theirs.decode(m),
        |v| v.encode().dump(),
        |v| theirs.encode(v).dump(),
    );
}
