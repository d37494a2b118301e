//! The comparison of `codec.rs` (imap-proto against imap-codec 2.x, same corpus), timed with
//! the two sides interleaved: each round times a batch of passes of ours and then of theirs,
//! so both see the same load, and many rounds give a minimum (the least disturbed batch) and
//! a median per side and the median of the per-round ratios.
//!
//! Criterion times one side for seconds and then the other, and on a shared machine a load
//! change between the two windows moves the ratio (single runs ranged 0.58× to 2.92× for the
//! same binaries); this harness is the steadier witness for the ratios in BENCHMARKS.md.
//!
//! It also times each response of the corpus on its own (`response …` lines), to show where
//! the time goes by response kind.
//!
//! Run: `cargo bench -p imap-proto --bench interleaved [-- <name filter>]`.

use std::{hint::black_box, time::Instant};

use imap_codec::decode::Decoder;
use imap_proto::codec::ResponseCodec;

mod corpus;
mod pairs;

/// Rounds per comparison (odd, so the median is one round).
const ROUNDS: usize = 61;
/// Corpus passes per side per round.
const PASSES: u32 = 300;

/// Nanoseconds per pass of `work`, over one batch.
fn per_pass(work: &mut dyn FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..PASSES {
        work();
    }
    start.elapsed().as_nanos() as f64 / f64::from(PASSES)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn minimum(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

/// Times `ours` and `theirs` in alternating batches and prints one line.
fn compare(name: &str, ours: &mut dyn FnMut(), theirs: &mut dyn FnMut()) {
    let (mut o, mut t) = (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
    for _ in 0..ROUNDS {
        o.push(per_pass(ours));
        t.push(per_pass(theirs));
    }
    let ratios = o.iter().zip(&t).map(|(o, t)| t / o).collect();
    println!(
        "{name:<34} imap-proto min {:>6.0} ns, median {:>6.0} ns | imap-codec min {:>6.0} ns, \
         median {:>6.0} ns | ratio of minima {:.2}x, median ratio {:.2}x",
        minimum(&o),
        median(o.clone()),
        minimum(&t),
        median(t.clone()),
        minimum(&t) / minimum(&o),
        median(ratios),
    );
}

/// Decoding each response of the corpus on its own, both sides: where the time goes by
/// response kind.
fn each_response(time: &mut pairs::Timer<'_>) {
    let (ours, theirs) = (
        ResponseCodec::default(),
        imap_codec::ResponseCodec::default(),
    );
    for message in corpus::responses() {
        let line = String::from_utf8_lossy(&message);
        let name: String = line.chars().take(24).collect();
        time(
            &format!("response `{}`", name.trim_end()),
            message.len() as u64,
            &mut || drop(black_box(ours.decode(black_box(&message)))),
            &mut || drop(black_box(theirs.decode(black_box(&message)))),
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument filters the comparisons by name.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let mut run = |name: &str, _bytes: u64, ours: &mut dyn FnMut(), theirs: &mut dyn FnMut()| {
        if filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str())) {
            compare(name, ours, theirs);
        }
    };
    pairs::each(&mut run);
    each_response(&mut run);
}
