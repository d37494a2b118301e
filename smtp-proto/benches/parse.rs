//! Parses a realistic pipelined SMTP session with this crate and with Stalwart's
//! `smtp-proto` (renamed `stalwart_smtp_proto`), both in the same run.
//!
//! Run: `cargo bench -p smtp-proto@0.1.0 --bench parse`

use std::{hint::black_box, time::Duration};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use smtp_proto::{
    BareNewlinePolicy, Options,
    data::{DataDecoder, DataEvent},
    decode_command,
    encode_data::encode_message,
};

/// EHLO, MAIL with parameters, `rcpts` RCPTs, DATA: what a pipelining client sends at once.
fn command_corpus(rcpts: usize) -> Vec<u8> {
    let mut s = String::from("EHLO client-17.mail.example.org\r\n");
    s.push_str("MAIL FROM:<newsletter-bounces+user=example.net@lists.example.org> SIZE=10240 BODY=8BITMIME\r\n");
    for i in 0..rcpts {
        s.push_str(&format!(
            "RCPT TO:<recipient.number{i}@customer{}.example.net>\r\n",
            i % 7
        ));
    }
    s.push_str("DATA\r\n");
    s.into_bytes()
}

/// A text message of about `size` octets: headers, 76-column lines, some starting with a
/// dot, dot-stuffed and terminated as on the wire.
fn data_corpus(size: usize) -> Vec<u8> {
    let mut message = b"From: Sender <sender@example.org>\r\nTo: user@example.net\r\n\
Subject: Quarterly report\r\nMessage-ID: <1234.5678@example.org>\r\n\r\n"
        .to_vec();
    let words = [
        "lorem",
        "ipsum",
        "dolor",
        "sit",
        "amet,",
        "consectetur",
        "adipiscing",
        "elit",
    ];
    let mut line = 0usize;
    while message.len() < size {
        let mut text = String::new();
        if line % 40 == 39 {
            text.push('.');
        }
        let mut w = line;
        while text.len() < 70 {
            text.push_str(words[w % words.len()]);
            text.push(' ');
            w += 3;
        }
        message.extend_from_slice(text.trim_end().as_bytes());
        message.extend_from_slice(b"\r\n");
        line += 1;
    }
    let mut wire = Vec::new();
    encode_message(&message, &mut wire);
    wire
}

fn ours_commands(input: &[u8]) -> usize {
    let mut rest = input;
    let mut n = 0;
    while !rest.is_empty() {
        let (next, command) = decode_command(rest, 512).expect("valid corpus");
        black_box(&command);
        rest = next;
        n += 1;
    }
    n
}

fn stalwart_commands(input: &[u8]) -> usize {
    let mut iter = input.iter();
    let mut n = 0;
    while !iter.as_slice().is_empty() {
        let request = stalwart_smtp_proto::Request::parse(&mut iter).expect("valid corpus");
        black_box(&request);
        n += 1;
    }
    n
}

fn options(policy: BareNewlinePolicy) -> Options {
    let mut options = Options::default();
    options.bare_newline = policy;
    options
}

/// Our decoder hands out borrowed chunks; the caller streams them (here: adds lengths).
fn ours_data_streamed(input: &[u8], options: &Options) -> usize {
    let mut decoder = DataDecoder::new(options);
    let mut rest = input;
    let mut total = 0;
    loop {
        let (used, event) = decoder.decode(rest);
        rest = &rest[used..];
        match event {
            Some(DataEvent::Chunk(chunk)) => total += black_box(chunk).len(),
            Some(DataEvent::End(outcome)) => return total + outcome.is_ok() as usize,
            None => unreachable!("corpus holds the terminator"),
        }
    }
}

/// The same, but collecting the body into a Vec as Stalwart's receiver does.
fn ours_data_collected(input: &[u8], options: &Options, body: &mut Vec<u8>) -> usize {
    body.clear();
    let mut decoder = DataDecoder::new(options);
    let mut rest = input;
    loop {
        let (used, event) = decoder.decode(rest);
        rest = &rest[used..];
        match event {
            Some(DataEvent::Chunk(chunk)) => body.extend_from_slice(chunk),
            Some(DataEvent::End(_)) => return body.len(),
            None => unreachable!("corpus holds the terminator"),
        }
    }
}

fn stalwart_data(input: &[u8], body: &mut Vec<u8>) -> usize {
    body.clear();
    let mut receiver = stalwart_smtp_proto::request::receiver::DataReceiver::new();
    let mut iter = input.iter();
    assert!(
        receiver.ingest(&mut iter, body),
        "corpus holds the terminator"
    );
    body.len()
}

fn commands(c: &mut Criterion) {
    let mut group = c.benchmark_group("commands");
    for rcpts in [1, 10, 50] {
        let corpus = command_corpus(rcpts);
        assert_eq!(ours_commands(&corpus), stalwart_commands(&corpus));
        group.throughput(Throughput::Bytes(corpus.len() as u64));
        group.bench_with_input(BenchmarkId::new("ours", rcpts), &corpus, |b, c| {
            b.iter(|| ours_commands(c))
        });
        group.bench_with_input(BenchmarkId::new("stalwart", rcpts), &corpus, |b, c| {
            b.iter(|| stalwart_commands(c))
        });
    }
    group.finish();
}

/// `reject` is our default policy (bare CR/LF checked on every octet); `accept` does the
/// same work as Stalwart's receiver (unstuffing and the terminator only).
fn data(c: &mut Criterion) {
    let mut group = c.benchmark_group("data");
    let reject = options(BareNewlinePolicy::Reject);
    let accept = options(BareNewlinePolicy::Accept);
    for (name, size) in [("10KB", 10 * 1024), ("1MB", 1024 * 1024)] {
        let corpus = data_corpus(size);
        let mut a = Vec::new();
        let mut b = Vec::new();
        ours_data_collected(&corpus, &reject, &mut a);
        stalwart_data(&corpus, &mut b);
        assert_eq!(a, b, "both decoders give the same body");
        group.throughput(Throughput::Bytes(corpus.len() as u64));
        for (policy, opts) in [("reject", &reject), ("accept", &accept)] {
            group.bench_with_input(
                BenchmarkId::new(format!("ours_streamed_{policy}"), name),
                &corpus,
                |bch, c| bch.iter(|| ours_data_streamed(c, opts)),
            );
            group.bench_with_input(
                BenchmarkId::new(format!("ours_collected_{policy}"), name),
                &corpus,
                |bch, c| bch.iter(|| ours_data_collected(c, opts, &mut a)),
            );
        }
        group.bench_with_input(BenchmarkId::new("stalwart", name), &corpus, |bch, c| {
            bch.iter(|| stalwart_data(c, &mut b))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = commands, data
}
criterion_main!(benches);
