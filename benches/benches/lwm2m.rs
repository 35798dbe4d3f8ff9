//! mote-lwm2m: encode and decode of the full Device object instance /3/0 in TLV,
//! SenML-CBOR, SenML-JSON and LwM2M-CBOR, and of a 100-record timestamped Send payload in
//! SenML-CBOR and SenML-JSON. The anchor is the limit of any SenML-CBOR decoder: a raw
//! `minicbor` token walk over the same bytes, which reads every item and builds nothing
//! (target: SenML-CBOR decode ≤ 1.5× the token walk; results in docs/performance.md).
//!
//! Decode means bytes → records typed with the built-in object definitions and sorted by
//! path; encode means records → a fresh `Vec<u8>`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mote_lwm2m::object::Builtin;
use mote_lwm2m::{Format, Path, Record};

#[path = "../../crates/mote-lwm2m/tests/fixtures/device.rs"]
mod fixtures;
use fixtures::{device, p, send_payload};

/// The anchor: every CBOR token of the input, nothing built.
fn token_walk(bytes: &[u8]) -> usize {
    let mut d = minicbor::Decoder::new(bytes);
    let mut n = 0;
    for t in d.tokens() {
        black_box(t.unwrap());
        n += 1;
    }
    n
}

/// Mean time per call of `f` over `iters` calls.
fn batch(iters: u32, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..iters {
        f();
    }
    t.elapsed().as_secs_f64() / f64::from(iters)
}

/// Decode ÷ token walk from interleaved batches (decode, walk, walk, decode, …: the order
/// alternates so neither side always runs first), so that load from other processes on
/// the shared machine hits both sides alike. Prints the median of the per-pair ratios,
/// the median batch times, and the ratio of the fastest batches.
fn paired_ratio(name: &str, base: &Path, bytes: &[u8]) {
    let iters = (100_000 / bytes.len().max(1)) as u32 + 1;
    let rounds = 201;
    let (mut ratios, mut dec, mut walk) = (Vec::new(), Vec::new(), Vec::new());
    let decode = || {
        batch(iters, || {
            black_box(
                mote_lwm2m::decode(Format::SenmlCbor, base, black_box(bytes), &Builtin).unwrap(),
            );
        })
    };
    let walk_batch = || {
        batch(iters, || {
            black_box(token_walk(black_box(bytes)));
        })
    };
    for round in 0..rounds {
        let (d, w) = if round % 2 == 0 {
            let d = decode();
            (d, walk_batch())
        } else {
            let w = walk_batch();
            (decode(), w)
        };
        ratios.push(d / w);
        dec.push(d);
        walk.push(w);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let (dmin, wmin) = (min(&dec), min(&walk));
    eprintln!(
        "{name}: senml-cbor decode / token walk, {rounds} interleaved pairs of {iters} calls: \
         median ratio {:.2} (median batches {:.2} µs / {:.2} µs); \
         fastest batches {:.2} µs / {:.2} µs = {:.2}",
        median(&mut ratios),
        median(&mut dec) * 1e6,
        median(&mut walk) * 1e6,
        dmin * 1e6,
        wmin * 1e6,
        dmin / wmin,
    );
}

fn bench_group(c: &mut Criterion, name: &str, base: &Path, records: &[Record], formats: &[Format]) {
    let mut g = c.benchmark_group(name);
    for &format in formats {
        let bytes = mote_lwm2m::encode(format, base, records).unwrap();
        eprintln!("{name}: {format} payload {} bytes", bytes.len());
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(format!("mote-lwm2m/{format}/encode"), |b| {
            b.iter(|| mote_lwm2m::encode(format, black_box(base), black_box(records)).unwrap())
        });
        g.bench_function(format!("mote-lwm2m/{format}/decode"), |b| {
            b.iter(|| {
                mote_lwm2m::decode(format, black_box(base), black_box(&bytes), &Builtin).unwrap()
            })
        });
        if format == Format::SenmlCbor {
            g.bench_function("minicbor/token-walk(senml-cbor)", |b| {
                b.iter(|| token_walk(black_box(&bytes)))
            });
            // The decoder's general path alone (what runs when the fast path declines).
            g.bench_function("mote-lwm2m/senml-cbor/decode(general path)", |b| {
                b.iter(|| {
                    mote_lwm2m::fuzzing::senml_cbor_decode_general(black_box(&bytes)).unwrap()
                })
            });
            paired_ratio(name, base, &bytes);
        }
    }
    g.finish();
}

/// Payload sizes per format (requirement ENC-1), from `encoded_len`.
fn sizes(name: &str, base: &Path, records: &[Record]) {
    use mote_lwm2m::lwm2m_cbor::{EncodeOptions, KeyStyle};
    for format in Format::ALL {
        if let Ok(n) = mote_lwm2m::encoded_len(format, base, records) {
            eprintln!("{name}: {format} {n} bytes");
        }
    }
    for (style, keys) in [("nested", KeyStyle::Nested), ("flat", KeyStyle::Flat)] {
        for indefinite in [false, true] {
            let opts = EncodeOptions { keys, indefinite };
            if let Ok(n) = mote_lwm2m::lwm2m_cbor::encoded_len(base, records, &opts) {
                let maps = if indefinite { "indefinite" } else { "definite" };
                eprintln!("{name}: lwm2m-cbor ({style} keys, {maps} maps) {n} bytes");
            }
        }
    }
}

fn lwm2m(c: &mut Criterion) {
    sizes("lwm2m/device-3-0", &p("/3/0"), &device());
    sizes("lwm2m/send-100", &Path::ROOT, &send_payload());
    bench_group(
        c,
        "lwm2m/device-3-0",
        &p("/3/0"),
        &device(),
        &[
            Format::Tlv,
            Format::SenmlCbor,
            Format::SenmlJson,
            Format::LwM2mCbor,
        ],
    );
    bench_group(
        c,
        "lwm2m/send-100",
        &Path::ROOT,
        &send_payload(),
        &[Format::SenmlCbor, Format::SenmlJson],
    );
}

criterion_group!(benches, lwm2m);
criterion_main!(benches);
