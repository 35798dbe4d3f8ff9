//! SenML-CBOR checked against an independent decoder and encoder: Python `cbor2` (PyPI) in
//! the venv of scripts/test.sh (env `MOTE_PYTHON`). cbor2 reads what mote-lwm2m writes for
//! the full Device object /3/0 and a 100-record Send payload, and mote-lwm2m reads what
//! cbor2 writes (canonical shortest floats and plain doubles).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::python;
use std::path::PathBuf;
use std::process::Command;

use mote_lwm2m::object::Builtin;
use mote_lwm2m::senml::{EncodeOptions, cbor};
use mote_lwm2m::{ObjectLink, Path, Record, Value};
use serde_json::{Value as Json, json};

fn peer(args: &[&str]) -> String {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/cbor2_senml.py");
    let o = Command::new(python())
        .arg(script)
        .args(args)
        .output()
        .expect("spawn python");
    assert!(
        o.status.success(),
        "cbor2 peer failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

fn p(s: &str) -> Path {
    s.parse().unwrap()
}

fn device() -> Vec<Record> {
    let s = |v: &str| Value::String(v.into());
    vec![
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
    ]
}

/// 100 timestamped readings, floats among them (one needs a double, one a half).
fn send() -> Vec<Record> {
    let mut out = Vec::new();
    for k in 0..25i64 {
        let t = (1_700_000_000 + 10 * k) as f64;
        out.push(Record::with_time(p("/3/0/9"), Value::Integer(100 - k), t));
        out.push(Record::with_time(
            p("/3/0/7/0"),
            Value::Integer(3800 - 3 * k),
            t + 0.5,
        ));
        out.push(Record::with_time(p("/4/0/2"), Value::Integer(-70 - k), t));
        out.push(Record::with_time(
            p("/5/0/0"),
            Value::Opaque(vec![k as u8, 0xFF]),
            t,
        ));
    }
    out
}

/// Resolves a pack as cbor2 decoded it (RFC 8428 §4.6, written here independently of the
/// crate): base name + name, base time + time, the value field.
fn resolve(pack: &Json) -> Vec<(String, Json, Option<f64>)> {
    let mut bn = String::new();
    let mut bt = 0.0;
    let mut out = Vec::new();
    for r in pack.as_array().unwrap() {
        if let Some(b) = r.get("-2") {
            bn = b.as_str().unwrap().to_string();
        }
        if let Some(b) = r.get("-3") {
            bt = b.as_f64().unwrap();
        }
        let name = format!("{bn}{}", r.get("0").and_then(Json::as_str).unwrap_or(""));
        let value = ["2", "3", "4", "8", "vlo"]
            .iter()
            .find_map(|k| r.get(*k).map(|v| json!({ *k: v })))
            .unwrap();
        let time = r
            .get("6")
            .map(|t| bt + t.as_f64().unwrap())
            .or(if bt != 0.0 { Some(bt) } else { None });
        out.push((name, value, time));
    }
    out
}

fn expected(records: &[Record]) -> Vec<(String, Json, Option<f64>)> {
    records
        .iter()
        .map(|r| {
            let v = match &r.value {
                Value::Integer(i) | Value::Time(i) => json!({"2": i}),
                Value::Float(f) => json!({"2": f}),
                Value::String(s) => json!({"3": s}),
                Value::Boolean(b) => json!({"4": b}),
                Value::Opaque(o) => json!({"8": {"bytes": hex::encode(o)}}),
                Value::Objlnk(l) => json!({"vlo": l.to_string()}),
                other => panic!("{other:?}"),
            };
            (r.path.to_string(), v, r.time)
        })
        .collect()
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn cbor2_reads_what_mote_writes() {
    for (base, records, opts) in [
        (p("/3/0"), device(), EncodeOptions::default()),
        (Path::ROOT, send(), EncodeOptions::default()),
        (
            Path::ROOT,
            send(),
            EncodeOptions {
                base_name: Some("/".into()),
                base_time: Some(1_700_000_000.0),
            },
        ),
    ] {
        let bytes = cbor::encode_with(&base, &records, &opts).unwrap();
        let decoded: Json = serde_json::from_str(&peer(&["decode", &hex::encode(&bytes)])).unwrap();
        assert_eq!(resolve(&decoded), expected(&records));
    }
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn mote_reads_what_cbor2_writes() {
    let pack = json!([
        {"-2": "/3/0/", "-3": 1_700_000_000, "0": "9", "2": 100, "6": 0.5},
        {"0": "7/0", "2": 3800},
        {"0": "13", "2": 1_367_491_215},
        {"0": "14", "3": "+02:00"},
        {"-2": "/1/0/", "0": "6", "4": true},
        {"-2": "/5/0/", "0": "0", "8": {"bytes": "00ff10"}},
        {"-2": "/3/0/", "0": "22/0", "vlo": "21:0"},
        {"-2": "/4/0/", "0": "2", "2": -71.0},
    ]);
    let want = vec![
        Record::new(p("/1/0/6"), Value::Boolean(true)).with_base_time(1_700_000_000.0),
        Record::new(p("/3/0/7/0"), Value::Integer(3800)).with_base_time(1_700_000_000.0),
        Record::with_time(p("/3/0/9"), Value::Integer(100), 1_700_000_000.5),
        Record::new(p("/3/0/13"), Value::Time(1_367_491_215)).with_base_time(1_700_000_000.0),
        Record::new(p("/3/0/14"), Value::String("+02:00".into())).with_base_time(1_700_000_000.0),
        Record::new(p("/3/0/22/0"), Value::Objlnk(ObjectLink::new(21, 0)))
            .with_base_time(1_700_000_000.0),
        Record::new(p("/4/0/2"), Value::Integer(-71)).with_base_time(1_700_000_000.0),
        Record::new(p("/5/0/0"), Value::Opaque(vec![0, 0xFF, 0x10]))
            .with_base_time(1_700_000_000.0),
    ];
    for mode in ["canonical", "plain"] {
        let hex_out = peer(&["encode", mode, &pack.to_string()]);
        let records = cbor::decode(&hex::decode(hex_out).unwrap(), &Builtin).unwrap();
        assert_eq!(records, want, "{mode}");
    }
}

trait WithBaseTime {
    fn with_base_time(self, t: f64) -> Record;
}

impl WithBaseTime for Record {
    /// The base time carries forward to records without `t` (RFC 8428 §4.6).
    fn with_base_time(mut self, t: f64) -> Record {
        self.time = Some(t);
        self
    }
}
