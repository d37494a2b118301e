//! Decode and encode throughput of `imap-proto` against `imap-codec` 2.x on the same corpus of
//! realistic client commands and server responses, in the same run.
//!
//! Run: `cargo bench -p imap-proto --bench codec`. Results and ratios: BENCHMARKS.md. The
//! same comparisons timed in alternating batches, steadier on a shared machine:
//! `cargo bench -p imap-proto --bench interleaved`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

mod corpus;
mod pairs;

/// Measures both sides of each comparison in the same group, so their ratio comes from one
/// run.
fn both_sides(c: &mut Criterion) {
    pairs::each(&mut |name, bytes, ours, theirs| {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(bytes));
        group.bench_function("imap-proto", |b| b.iter(&mut *ours));
        group.bench_function("imap-codec", |b| b.iter(&mut *theirs));
        group.finish();
    });
}

criterion_group!(benches, both_sides);
criterion_main!(benches);
