//! RFC 8428 examples (§5.1 JSON, §6 CBOR) through the generic SenML pack layer: every
//! JSON example parses and writes back to the same JSON value (compared with `serde_json`,
//! an independent parser, since the RFC's number spellings such as `1.276020076001e+09`
//! have many equivalent forms), and the §6 CBOR dump round-trips byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mote_lwm2m::senml::{Number, SenmlValue, cbor, json};

fn blocks() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc8428.txt"),
    )
    .unwrap();
    text.split("\n=== ")
        .skip(1)
        .map(|b| {
            let (name, body) = b.split_once('\n').unwrap();
            (name.to_string(), body.to_string())
        })
        .collect()
}

/// JSON has one number type: compare numbers by value (`1.320067464e+09` == `1320067464`).
fn numbers_as_f64(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        J::Number(n) => J::from(n.as_f64().unwrap()),
        J::Array(a) => J::Array(a.into_iter().map(numbers_as_f64).collect()),
        J::Object(o) => J::Object(o.into_iter().map(|(k, v)| (k, numbers_as_f64(v))).collect()),
        other => other,
    }
}

#[test]
fn json_examples_round_trip() {
    let mut n = 0;
    for (name, body) in blocks().into_iter().filter(|(n, _)| !n.starts_with("6 ")) {
        let pack = json::parse_pack(body.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let out = json::write_pack(&pack).unwrap();
        let want = numbers_as_f64(serde_json::from_str(&body).unwrap());
        let got = numbers_as_f64(serde_json::from_slice(&out).unwrap());
        assert_eq!(got, want, "{name}");
        // Writing again what was read is stable.
        assert_eq!(
            json::write_pack(&json::parse_pack(&out).unwrap()).unwrap(),
            out,
            "{name}"
        );
        n += 1;
    }
    assert_eq!(n, 10);
}

#[test]
fn cbor_example_byte_exact() {
    let (_, body) = blocks()
        .into_iter()
        .find(|(n, _)| n.starts_with("6 "))
        .unwrap();
    let bytes = hex::decode(body.split_whitespace().collect::<String>()).unwrap();
    assert_eq!(bytes.len(), 0xc3);
    let pack = cbor::parse_pack(&bytes).unwrap();
    assert_eq!(pack.len(), 7);
    assert_eq!(pack[0].bn.as_deref(), Some("urn:dev:ow:10e2073a0108006:"));
    assert_eq!(pack[0].bt, Some(Number::Float(1276020076.001)));
    assert_eq!(pack[0].bu.as_deref(), Some("A"));
    assert_eq!(pack[0].bver, Some(5));
    assert_eq!(
        pack[0].value,
        Some(SenmlValue::Number(Number::Float(120.1)))
    );
    assert_eq!(pack[4].t, Some(Number::Int(-2)));
    assert_eq!(pack[4].value, Some(SenmlValue::Number(Number::Float(1.5))));
    assert_eq!(pack[6].t, Some(Number::Int(0)));
    assert_eq!(cbor::write_pack(&pack), bytes);
}

/// The CBOR dump and the JSON of §5.1.2 (b) hold the same data, apart from the last
/// record's explicit `t: 0` in CBOR.
#[test]
fn cbor_and_json_agree() {
    let b = blocks();
    let (_, json_body) = b
        .iter()
        .find(|(n, _)| n.contains("(b)") && n.starts_with("5.1.2"))
        .unwrap();
    let (_, cbor_body) = b.iter().find(|(n, _)| n.starts_with("6 ")).unwrap();
    let j = json::parse_pack(json_body.as_bytes()).unwrap();
    let cbor_bytes = hex::decode(cbor_body.split_whitespace().collect::<String>()).unwrap();
    let c = cbor::parse_pack(&cbor_bytes).unwrap();
    assert_eq!(j.len(), c.len());
    for (a, b) in j.iter().zip(&c) {
        assert_eq!(a.bn, b.bn);
        assert_eq!(a.n, b.n);
        assert_eq!(a.u, b.u);
        assert_eq!(a.value, b.value);
        assert_eq!(a.bt.map(Number::as_f64), b.bt.map(Number::as_f64));
    }
}
