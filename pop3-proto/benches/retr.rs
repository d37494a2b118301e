//! RETR throughput: the body decoder (client side) and encoder (server side), alone and
//! inside the state machines, against a plain `memchr` line splitter over the same octets
//! (the physical reference: the least work any line-based reader or copier can do).
//!
//! Run: `cargo bench -p pop3-proto --bench retr`. Results go in BENCHMARKS.md.

use std::{hint::black_box, time::Duration};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pop3_proto::{
    BodyChunk, BodyDecoder, BodyEncoder, Client, ClientEvent, Command, MsgNo, Options, Response,
    Server, ServerEvent, Status, StatusKind,
};

/// Read size used where the benchmark simulates a socket.
const READ: usize = 64 * 1024;

/// A deterministic message of about `size` octets: header, then text lines of varying
/// length, every `dot_every`th starting with "." so dot-stuffing is exercised.
fn message(size: usize, dot_every: usize) -> Vec<u8> {
    let mut m = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: benchmark\r\n\r\n".to_vec();
    let words = [
        "lorem",
        "ipsum",
        "dolor",
        "sit",
        "amet",
        "consectetur",
        "adipiscing",
        "elit",
    ];
    let mut line = 0usize;
    while m.len() < size {
        if line.is_multiple_of(dot_every) {
            m.push(b'.');
        }
        for w in 0..(6 + line % 7) {
            m.extend_from_slice(words[(line + w) % words.len()].as_bytes());
            m.push(b' ');
        }
        m.extend_from_slice(b"end\r\n");
        line += 1;
    }
    m
}

fn stuffed(message: &[u8]) -> Vec<u8> {
    let mut wire = Vec::with_capacity(message.len() + message.len() / 50 + 8);
    let mut encoder = BodyEncoder::new();
    encoder.encode(message, &mut wire);
    encoder.finish(&mut wire);
    wire
}

/// The reference reader: visit every line with memchr and look at its first octet.
fn memchr_read(input: &[u8]) -> usize {
    let mut total = 0;
    let mut rest = input;
    while let Some(lf) = memchr::memchr(b'\n', rest) {
        let (line, tail) = rest.split_at(lf + 1);
        total += line.len() + usize::from(line[0] == b'.');
        rest = tail;
    }
    total + rest.len()
}

/// The reference writer: visit every line with memchr and copy it out.
fn memchr_copy(input: &[u8], out: &mut Vec<u8>) {
    let mut rest = input;
    while let Some(lf) = memchr::memchr(b'\n', rest) {
        let (line, tail) = rest.split_at(lf + 1);
        out.extend_from_slice(line);
        rest = tail;
    }
    out.extend_from_slice(rest);
}

fn decode_body(wire: &[u8]) -> usize {
    let mut decoder = BodyDecoder::new();
    let mut total = 0;
    let mut rest = wire;
    loop {
        match decoder.decode(rest) {
            BodyChunk::Data { data, consumed } => {
                total += black_box(data).len();
                rest = &rest[consumed..];
            }
            BodyChunk::End { .. } | BodyChunk::Incomplete => return total,
        }
    }
}

fn encode_body(message: &[u8], out: &mut Vec<u8>) {
    let mut encoder = BodyEncoder::new();
    for chunk in message.chunks(READ) {
        encoder.encode(chunk, out);
    }
    encoder.finish(out);
}

fn server_retr(message: &[u8], out: &mut Vec<u8>) {
    let options = Options::default();
    let mut server = Server::new(options, &Status::new_lossy(StatusKind::Ok, "ready"));
    server.handle_input(b"USER a\r\nPASS b\r\nRETR 1\r\n");
    while let Some(event) = server.poll_event() {
        match event {
            ServerEvent::Command(Command::Retr(_)) => {
                server
                    .start_body(Status::new_lossy(StatusKind::Ok, ""))
                    .expect("RETR is pending");
                for chunk in message.chunks(READ) {
                    server.send_body(chunk, out).expect("body started");
                }
                server.finish_body().expect("body started");
            }
            _ => server
                .respond(Response::Status(Status::new_lossy(StatusKind::Ok, "")))
                .expect("answer fits"),
        }
    }
    server.poll_transmit(out);
}

fn benches(c: &mut Criterion) {
    // Typical mail (a "." line start every 40 lines), and the worst case for the codec:
    // every line starts with "." and must be stuffed and unstuffed.
    let inputs = [
        ("10KB", 10 * 1024, 40),
        ("10MB", 10 * 1024 * 1024, 40),
        ("10MB_all_dots", 10 * 1024 * 1024, 1),
    ];
    for (name, size, dot_every) in inputs {
        let message = message(size, dot_every);
        let wire = stuffed(&message);
        let mut session = b"+OK ready\r\n+OK\r\n+OK\r\n+OK\r\n".to_vec();
        session.extend_from_slice(&wire);

        let mut group = c.benchmark_group("retr_decode");
        group.throughput(Throughput::Bytes(wire.len() as u64));
        if size > 1_000_000 {
            group.sample_size(20);
        }
        group.bench_function(BenchmarkId::new("memchr_lines", name), |b| {
            b.iter(|| memchr_read(black_box(&wire)))
        });
        // The same splitter copying each line out, as a reader that delivers the message
        // must (the client state machine copies from the caller's read buffer).
        let mut copied = Vec::with_capacity(wire.len());
        group.bench_function(BenchmarkId::new("memchr_lines_copy", name), |b| {
            b.iter(|| {
                copied.clear();
                memchr_copy(black_box(&wire), &mut copied);
            })
        });
        group.bench_function(BenchmarkId::new("body_decoder", name), |b| {
            b.iter(|| decode_body(black_box(&wire)))
        });
        group.bench_function(BenchmarkId::new("client", name), |b| {
            b.iter_batched_ref(
                || {
                    let mut client = Client::new(Options::default());
                    client.handle_input(b"+OK ready\r\n");
                    client
                },
                |client| client_session(client, &session),
                criterion::BatchSize::LargeInput,
            )
        });
        group.finish();

        let mut group = c.benchmark_group("retr_encode");
        group.throughput(Throughput::Bytes(message.len() as u64));
        if size > 1_000_000 {
            group.sample_size(20);
        }
        let mut out = Vec::with_capacity(wire.len() + 1024);
        group.bench_function(BenchmarkId::new("memchr_lines", name), |b| {
            b.iter(|| {
                out.clear();
                memchr_copy(black_box(&message), &mut out);
            })
        });
        group.bench_function(BenchmarkId::new("body_encoder", name), |b| {
            b.iter(|| {
                out.clear();
                encode_body(black_box(&message), &mut out);
            })
        });
        group.bench_function(BenchmarkId::new("server", name), |b| {
            b.iter(|| {
                out.clear();
                server_retr(black_box(&message), &mut out);
            })
        });
        group.finish();
    }
}

/// A full client session over `session` (greeting, USER, PASS, RETR): the events path.
fn client_session(client: &mut Client, session: &[u8]) -> usize {
    let mut total = 0;
    let mut sink = Vec::new();
    let mut rest = session.get(11..).unwrap_or_default(); // greeting fed in setup
    let mut logged_in = false;
    while !rest.is_empty() || !logged_in {
        if !logged_in {
            if let Some(ClientEvent::Greeting(_)) = client.poll_event().expect("valid") {
                client
                    .send(Command::User("a".try_into().expect("valid name")))
                    .expect("state");
                client
                    .send(Command::Pass("b".try_into().expect("valid password")))
                    .expect("state");
                client.send(Command::Retr(MsgNo::MIN)).expect("state");
                logged_in = true;
            }
            continue;
        }
        let n = client.handle_input(&rest[..rest.len().min(READ)]);
        rest = &rest[n..];
        while let Some(event) = client.poll_event().expect("valid") {
            if let ClientEvent::BodyData(data) = event {
                total += data.len();
            }
        }
        client.poll_transmit(&mut sink);
    }
    total
}

criterion_group! {
    name = retr;
    // Short windows keep three full runs within a few minutes on a shared 2-vCPU machine.
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(retr);
