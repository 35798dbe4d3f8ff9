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

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mote_lwm2m::object::Builtin;
use mote_lwm2m::{Format, ObjectLink, Path, Record, Value};

fn p(s: &str) -> Path {
    s.parse().unwrap()
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

/// /3/0 with a value for each readable resource of the Device object (as in the crate's
/// tests/roundtrip.rs).
fn device() -> Vec<Record> {
    let mut r = vec![
        Record::new(p("/3/0/0"), s("Open Mobile Alliance")),
        Record::new(p("/3/0/1"), s("Lightweight M2M Client")),
        Record::new(p("/3/0/2"), s("345000123")),
        Record::new(p("/3/0/3"), s("1.0")),
        Record::new(p("/3/0/6/0"), Value::Integer(1)),
        Record::new(p("/3/0/6/1"), Value::Integer(5)),
        Record::new(p("/3/0/7/0"), Value::Integer(3800)),
        Record::new(p("/3/0/7/1"), Value::Integer(5000)),
        Record::new(p("/3/0/8/0"), Value::Integer(125)),
        Record::new(p("/3/0/8/1"), Value::Integer(900)),
        Record::new(p("/3/0/9"), Value::Integer(100)),
        Record::new(p("/3/0/10"), Value::Integer(15)),
        Record::new(p("/3/0/11/0"), Value::Integer(0)),
        Record::new(p("/3/0/11/1"), Value::Integer(8)),
        Record::new(p("/3/0/13"), Value::Time(1367491215)),
        Record::new(p("/3/0/14"), s("+02:00")),
        Record::new(p("/3/0/15"), s("Europe/Helsinki")),
        Record::new(p("/3/0/16"), s("U")),
        Record::new(p("/3/0/17"), s("Demo device")),
        Record::new(p("/3/0/18"), s("1.0")),
        Record::new(p("/3/0/19"), s("2.4.1")),
        Record::new(p("/3/0/20"), Value::Integer(1)),
        Record::new(p("/3/0/21"), Value::Integer(1 << 20)),
        Record::new(p("/3/0/22/0"), Value::Objlnk(ObjectLink::new(21, 0))),
        Record::new(p("/3/0/22/1"), Value::Objlnk(ObjectLink::NULL)),
    ];
    r.sort_by_key(|r| r.path);
    r
}

/// 25 readings of four resources, ten seconds apart.
fn send_payload() -> Vec<Record> {
    let mut out = Vec::new();
    for k in 0..25i64 {
        let t = (1_700_000_000 + 10 * k) as f64;
        out.push(Record::with_time(p("/3/0/9"), Value::Integer(100 - k), t));
        out.push(Record::with_time(
            p("/3/0/7/0"),
            Value::Integer(3800 - 3 * k),
            t,
        ));
        out.push(Record::with_time(p("/4/0/2"), Value::Integer(-70 - k), t));
        out.push(Record::with_time(p("/4/0/3"), Value::Integer(k), t));
    }
    out
}

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
        }
    }
    g.finish();
}

fn lwm2m(c: &mut Criterion) {
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
