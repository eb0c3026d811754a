//! Microbenchmarks of the per-message paths that do not touch the network:
//! the JSON parser (encode, inspect, decode) on a small and a 16 KiB value,
//! the typed-event path (a `#[primus::event]` enum decoded from its frame
//! and encoded into one, as a typed handler's echo does), and the
//! classification of control messages.
//!
//! ```text
//! cargo bench -p primus --bench parser
//! ```
//!
//! `cargo run --release -p primus-bench -- all` runs them too and copies the
//! means into `BENCHMARKS.md`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use primus::parser::{Json, Parser};
use primus::{protocol, Frame};
use serde::{Deserialize, Serialize};
use std::hint::black_box;

/// A typed event as the wire carries it: `{"event":"say","data":"…"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Say {
    event: String,
    data: String,
}

fn say(len: usize) -> Say {
    Say {
        event: "say".to_owned(),
        data: "x".repeat(len),
    }
}

/// The two sizes: about 32 bytes on the wire, and 16 KiB.
fn cases() -> [(&'static str, Say); 2] {
    [("small", say(6)), ("16KiB", say(16 * 1024 - 26))]
}

fn encode(c: &mut Criterion) {
    let parser: &dyn Parser = &Json;
    let mut group = c.benchmark_group("json/encode");
    for (name, value) in cases() {
        let len = parser.encode_value(&value).map(|f| f.len()).unwrap_or(0);
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &value, |b, value| {
            b.iter(|| parser.encode_value(black_box(value)))
        });
    }
    group.finish();
}

fn inspect(c: &mut Criterion) {
    let parser: &dyn Parser = &Json;
    let mut group = c.benchmark_group("json/inspect");
    for (name, value) in cases() {
        let frame = parser.encode_value(&value).expect("encodes");
        group.throughput(Throughput::Bytes(frame.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &frame, |b, frame| {
            b.iter(|| parser.inspect(black_box(frame)))
        });
    }
    let pong = Frame::text("\"primus::pong::1795616336603\"");
    group.throughput(Throughput::Bytes(pong.len() as u64));
    group.bench_function("pong", |b| b.iter(|| parser.inspect(black_box(&pong))));
    group.finish();
}

fn decode(c: &mut Criterion) {
    let parser: &dyn Parser = &Json;
    let mut group = c.benchmark_group("json/decode");
    for (name, value) in cases() {
        let frame = parser.encode_value(&value).expect("encodes");
        group.throughput(Throughput::Bytes(frame.len() as u64));
        group.bench_with_input(BenchmarkId::new("typed", name), &frame, |b, frame| {
            b.iter(|| parser.decode_value::<Say>(black_box(frame)))
        });
        group.bench_with_input(BenchmarkId::new("value", name), &frame, |b, frame| {
            b.iter(|| parser.decode_value::<serde_json::Value>(black_box(frame)))
        });
    }
    group.finish();
}

/// The benchmark server's typed events: `{"event":"echo","data":"…"}`.
#[primus::event]
#[derive(Debug, Clone, PartialEq)]
enum Bench {
    /// Echoed back.
    Echo(String),
}

/// The typed echo frame of `len` bytes in all (envelope included), like the
/// echo benchmark's 32 B and 16 KiB requests.
fn typed_frames() -> [(&'static str, Frame); 2] {
    let frame = |len: usize| {
        let envelope = r#"{"event":"echo","data":""}"#.len();
        let parser: &dyn Parser = &Json;
        parser
            .encode_value(&Bench::Echo("x".repeat(len - envelope)))
            .expect("encodes")
    };
    [("32B", frame(32)), ("16KiB", frame(16 * 1024))]
}

/// What a typed handler's echo costs the parser: the event decoded from
/// the frame (`Message::decode`, which typed dispatch calls), and encoded
/// again (`Spark::write`).
fn typed(c: &mut Criterion) {
    let parser: &dyn Parser = &Json;
    let mut group = c.benchmark_group("typed");
    for (name, frame) in typed_frames() {
        assert_eq!(
            parser
                .encode_value(&parser.decode_value::<Bench>(&frame).expect("decodes"))
                .ok(),
            Some(frame.clone())
        );
        group.throughput(Throughput::Bytes(frame.len() as u64));
        group.bench_with_input(BenchmarkId::new("decode", name), &frame, |b, frame| {
            b.iter(|| parser.decode_value::<Bench>(black_box(frame)))
        });
        let event = parser.decode_value::<Bench>(&frame).expect("decodes");
        group.bench_with_input(BenchmarkId::new("encode", name), &event, |b, event| {
            b.iter(|| parser.encode_value(black_box(event)))
        });
        group.bench_with_input(BenchmarkId::new("echo", name), &frame, |b, frame| {
            b.iter(|| {
                let event = parser.decode_value::<Bench>(black_box(frame)).expect("decodes");
                parser.encode_value(&event)
            })
        });
    }
    group.finish();
}

fn classify(c: &mut Criterion) {
    let mut group = c.benchmark_group("protocol/classify");
    for (name, text) in [
        ("pong", "primus::pong::1795616336603"),
        ("id", "primus::id::"),
        ("server-close", "primus::server::close"),
        ("not-control", "hello world, not a control message"),
    ] {
        group.bench_with_input(BenchmarkId::from_parameter(name), text, |b, text| {
            b.iter(|| protocol::classify(black_box(text)))
        });
    }
    group.bench_function("ping-encode", |b| {
        b.iter(|| protocol::ping(black_box(1_795_616_336_603)))
    });
    group.finish();
}

criterion_group!(benches, encode, inspect, decode, typed, classify);
criterion_main!(benches);
