//! The full Device object instance /3/0 (every resource that carries a value, the
//! multiple-instance ones with several instances) and a 100-record Send payload, through
//! every format that can carry them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mote_lwm2m::object::{Builtin, ObjectDefs};
use mote_lwm2m::senml::{self, EncodeOptions};
use mote_lwm2m::{Format, Path, Record, ResourceType, Value};

#[path = "fixtures/device.rs"]
mod fixtures;
use fixtures::{device, p, s, send_payload};

#[test]
fn device_covers_every_readable_resource() {
    let def = Builtin.object(3).unwrap();
    let readable: Vec<u16> = def
        .resources
        .iter()
        .filter(|r| r.kind != ResourceType::None)
        .map(|r| r.id)
        .collect();
    let mut got: Vec<u16> = device().iter().map(|r| r.path.ids()[2]).collect();
    got.dedup();
    assert_eq!(got, readable);
    for r in device() {
        Builtin
            .resource_at(&r.path)
            .unwrap()
            .check(&r.path, &r.value)
            .unwrap();
    }
}

#[test]
fn device_round_trips_in_every_format() {
    let records = device();
    for base in [p("/3"), p("/3/0")] {
        for format in [
            Format::Tlv,
            Format::SenmlJson,
            Format::SenmlCbor,
            Format::LwM2mCbor,
        ] {
            let bytes = mote_lwm2m::encode(format, &base, &records).unwrap();
            assert_eq!(
                mote_lwm2m::decode(format, &base, &bytes, &Builtin).unwrap(),
                records,
                "{format} at {base}"
            );
        }
    }
    // Each resource alone, in the single-value formats too.
    for r in &records {
        for format in [
            Format::Text,
            Format::Cbor,
            Format::Tlv,
            Format::SenmlJson,
            Format::SenmlCbor,
            Format::LwM2mCbor,
        ] {
            let one = [r.clone()];
            let bytes = mote_lwm2m::encode(format, &r.path, &one).unwrap();
            assert_eq!(
                mote_lwm2m::decode(format, &r.path, &bytes, &Builtin).unwrap(),
                one,
                "{format} at {}",
                r.path
            );
        }
    }
}

#[test]
fn send_payload_round_trips_in_senml() {
    let records = send_payload();
    assert_eq!(records.len(), 100);
    let mut sorted = records.clone();
    sorted.sort_by_key(|r| r.path);
    for opts in [
        EncodeOptions::default(),
        EncodeOptions {
            base_name: None,
            base_time: Some(1_700_000_000.0),
        },
    ] {
        let json = senml::json::encode_with(&Path::ROOT, &records, &opts).unwrap();
        assert_eq!(senml::json::decode(&json, &Builtin).unwrap(), sorted);
        let cbor = senml::cbor::encode_with(&Path::ROOT, &records, &opts).unwrap();
        assert_eq!(senml::cbor::decode(&cbor, &Builtin).unwrap(), sorted);
    }
}

#[test]
fn send_payload_without_times_round_trips_where_times_cannot_go() {
    // TLV and LwM2M-CBOR carry no timestamps: the same 100 values as resource instances.
    let records: Vec<Record> = send_payload()
        .into_iter()
        .enumerate()
        .map(|(i, r)| Record::new(Path::new(&[3, 0, 7, i as u16]).unwrap(), r.value))
        .collect();
    for format in [
        Format::Tlv,
        Format::LwM2mCbor,
        Format::SenmlJson,
        Format::SenmlCbor,
    ] {
        let base = p("/3/0/7");
        let bytes = mote_lwm2m::encode(format, &base, &records).unwrap();
        assert_eq!(
            mote_lwm2m::decode(format, &base, &bytes, &Builtin).unwrap(),
            records,
            "{format}"
        );
    }
    // And the timestamped payload is refused, not silently changed.
    assert!(mote_lwm2m::encode(Format::LwM2mCbor, &Path::ROOT, &send_payload()).is_err());
}

#[test]
fn composite_bodies() {
    let paths = [p("/3/0/0"), p("/3/0/9"), p("/1/0/1"), p("/5"), p("/")];
    assert_eq!(
        senml::json::decode_paths(&senml::json::encode_paths(&paths)).unwrap(),
        paths
    );
    assert_eq!(
        senml::cbor::decode_paths(&senml::cbor::encode_paths(&paths)).unwrap(),
        paths
    );
    // A Read-Composite body with a value, or a response without, is refused.
    assert!(senml::json::decode_paths(br#"[{"n":"/3/0/9","v":1}]"#).is_err());
    assert!(senml::json::decode(br#"[{"n":"/3/0/9"}]"#, &Builtin).is_err());
}

#[test]
fn typed_decoding_rejects_wrong_types() {
    // /3/0/9 is an Integer: a string or a fractional number is refused.
    assert!(senml::json::decode(br#"[{"n":"/3/0/9","vs":"x"}]"#, &Builtin).is_err());
    assert!(senml::json::decode(br#"[{"n":"/3/0/9","v":1.5}]"#, &Builtin).is_err());
    // 5.0 for an Integer is accepted as 5.
    assert_eq!(
        senml::json::decode(br#"[{"n":"/3/0/9","v":5.0}]"#, &Builtin).unwrap()[0].value,
        Value::Integer(5)
    );
    // TLV: a Boolean must be one byte 0 or 1.
    assert!(mote_lwm2m::decode(Format::Tlv, &p("/1/0"), &[0xC1, 0x06, 0x02], &Builtin).is_err());
    // TLV integers are 1, 2, 4 or 8 bytes.
    assert!(mote_lwm2m::decode(Format::Tlv, &p("/3/0"), &[0xC3, 0x09, 0, 0, 1], &Builtin).is_err());
}

#[test]
fn tlv_shapes() {
    // 16-bit identifiers, a 16-bit length and a 24-bit length.
    let long = Value::Opaque(vec![7; 300]);
    let huge = Value::Opaque(vec![9; 70_000]);
    let records = vec![Record::new(p("/5/0/0"), long.clone())];
    let bytes = mote_lwm2m::encode(Format::Tlv, &p("/5/0"), &records).unwrap();
    assert_eq!(&bytes[..4], &[0xD0, 0x00, 0x01, 0x2C]);
    let records = vec![Record::new(p("/5/0/0"), huge)];
    let bytes = mote_lwm2m::encode(Format::Tlv, &p("/5/0"), &records).unwrap();
    assert_eq!(&bytes[..5], &[0xD8, 0x00, 0x01, 0x11, 0x70]);
    assert_eq!(
        mote_lwm2m::decode(Format::Tlv, &p("/5/0"), &bytes, &Builtin).unwrap(),
        records
    );
    let records = vec![Record::new(p("/2/0/2/310"), Value::Integer(1))];
    assert_eq!(
        mote_lwm2m::encode(Format::Tlv, &p("/2/0"), &records).unwrap(),
        [0x84, 0x02, 0x61, 0x01, 0x36, 0x01]
    );
    // The optional Object Instance TLV at /O/I is accepted.
    let wrapped = [0x08, 0x00, 0x03, 0xC1, 0x09, 0x64];
    assert_eq!(
        mote_lwm2m::decode(Format::Tlv, &p("/3/0"), &wrapped, &Builtin).unwrap(),
        [Record::new(p("/3/0/9"), Value::Integer(100))]
    );
    // A wrapper for another instance is not.
    assert!(mote_lwm2m::decode(Format::Tlv, &p("/3/1"), &wrapped, &Builtin).is_err());
    // Floats: 4 bytes when exact, else 8.
    let f = |x: f64| {
        mote_lwm2m::tlv::decode_value(
            ResourceType::Float,
            &{
                let mut v = Vec::new();
                mote_lwm2m::tlv::value_bytes(&Value::Float(x), &mut v);
                v
            },
            0,
        )
    };
    assert_eq!(f(1.5).unwrap(), Value::Float(1.5));
    assert_eq!(f(0.1).unwrap(), Value::Float(0.1));
}

#[test]
fn indefinite_lengths_decode() {
    // TS §7.4.6 ABNF: maps and ID arrays may be indefinite. {_ [_ 3, 0, 6]: {_ 0: 1, 1: 5}}
    let cbor = [
        0xBF, 0x9F, 0x03, 0x00, 0x06, 0xFF, 0xBF, 0x00, 0x01, 0x01, 0x05, 0xFF, 0xFF,
    ];
    let want = [
        Record::new(p("/3/0/6/0"), Value::Integer(1)),
        Record::new(p("/3/0/6/1"), Value::Integer(5)),
    ];
    assert_eq!(
        mote_lwm2m::decode(Format::LwM2mCbor, &Path::ROOT, &cbor, &Builtin).unwrap(),
        want
    );
    // The definite form of the TS example decodes to the same records.
    let definite = [0xA1, 0x83, 0x03, 0x00, 0x06, 0xA2, 0x00, 0x01, 0x01, 0x05];
    assert_eq!(
        mote_lwm2m::decode(Format::LwM2mCbor, &Path::ROOT, &definite, &Builtin).unwrap(),
        want
    );
    // RFC 8428 §6: a SensML stream is an indefinite array: [_ {_ -2: "/3/0/", 0: "9", 2: 100}]
    let senml = [
        0x9F, 0xBF, 0x21, 0x65, b'/', b'3', b'/', b'0', b'/', 0x00, 0x61, b'9', 0x02, 0x18, 0x64,
        0xFF, 0xFF,
    ];
    assert_eq!(
        senml::cbor::decode(&senml, &Builtin).unwrap(),
        [Record::new(p("/3/0/9"), Value::Integer(100))]
    );
    // Truncated or unterminated input is an error, not a panic.
    for n in 0..cbor.len() {
        assert!(
            mote_lwm2m::decode(Format::LwM2mCbor, &Path::ROOT, &cbor[..n], &Builtin).is_err(),
            "{n}"
        );
    }
}

#[test]
fn shortest_floats_in_cbor() {
    // RFC 8949 §4.2.2 preferred serialization: 1.5 → half, 100000.0 → single, 1.1 → double.
    for (f, hex) in [
        (1.5, "f93e00"),
        (100000.0, "fa47c35000"),
        (1.1, "fb3ff199999999999a"),
        (0.0, "f90000"),
        (-0.0, "f98000"),
    ] {
        let r = [Record::new(p("/3311/0/5851"), Value::Float(f))];
        let bytes = mote_lwm2m::encode(Format::Cbor, &p("/3311/0/5851"), &r).unwrap();
        assert_eq!(hex::encode(&bytes), hex, "{f}");
    }
    // Half-precision subnormals and infinities decode.
    let r = mote_lwm2m::decode(
        Format::Cbor,
        &p("/3311/0/5851"),
        &[0xF9, 0x00, 0x01],
        &Builtin,
    )
    .unwrap();
    assert_eq!(r[0].value, Value::Float(5.960_464_477_539_063e-8));
    let r = mote_lwm2m::decode(
        Format::Cbor,
        &p("/3311/0/5851"),
        &[0xF9, 0x7C, 0x00],
        &Builtin,
    )
    .unwrap();
    assert_eq!(r[0].value, Value::Float(f64::INFINITY));
}

#[test]
fn lwm2m_cbor_write_payload_relative_to_the_request_path() {
    // TS 1.2 §7.4.6: "Except when used for a Write or Create operation, the IDs inside the
    // top-level payload MUST start with the Object ID." A Write on /3/0 may carry
    // {14: "+02:00", 15: "Europe/Helsinki"}; a Write on /3/0/6 may carry {0: 1, 1: 5}.
    let cbor = [
        0xA2, 0x0E, 0x66, b'+', b'0', b'2', b':', b'0', b'0', 0x0F, 0x61, b'X',
    ];
    assert_eq!(
        mote_lwm2m::decode(Format::LwM2mCbor, &p("/3/0"), &cbor, &Builtin).unwrap(),
        [
            Record::new(p("/3/0/14"), s("+02:00")),
            Record::new(p("/3/0/15"), s("X")),
        ]
    );
    let cbor = [0xA2, 0x00, 0x01, 0x01, 0x05];
    assert_eq!(
        mote_lwm2m::decode(Format::LwM2mCbor, &p("/3/0/6"), &cbor, &Builtin).unwrap(),
        [
            Record::new(p("/3/0/6/0"), Value::Integer(1)),
            Record::new(p("/3/0/6/1"), Value::Integer(5)),
        ]
    );
    // Absolute keys that lie under the request path keep their absolute reading.
    let absolute = [0xA1, 0x83, 0x03, 0x00, 0x06, 0xA2, 0x00, 0x01, 0x01, 0x05];
    assert_eq!(
        mote_lwm2m::decode(Format::LwM2mCbor, &p("/3/0/6"), &absolute, &Builtin).unwrap(),
        [
            Record::new(p("/3/0/6/0"), Value::Integer(1)),
            Record::new(p("/3/0/6/1"), Value::Integer(5)),
        ]
    );
    // Without a request path (composite operations) keys are absolute only.
    assert!(mote_lwm2m::lwm2m_cbor::decode(&cbor, &Builtin).is_err());
}

#[test]
fn senml_times_must_be_finite() {
    // Found by the lwm2m_senml_cbor fuzz target: [_ {_ -2: "/8/0/0/9", 2: -513, 6: NaN}]
    // (a half-precision NaN time) decoded, and the NaN's payload bits did not survive the
    // round trip. A time is seconds (RFC 8428 §4.5.3): NaN and infinities are refused.
    let nan_time = [
        0x9F, 0xBF, 0x21, 0x66, b'/', b'8', b'/', b'0', b'/', b'0', b'/', b'9', 0x02, 0x39, 0x02,
        0x00, 0x06, 0xF9, 0xFF, 0x40, 0xFF, 0xFF,
    ];
    assert!(senml::cbor::decode(&nan_time, &Builtin).is_err());
    // bt + t overflowing to infinity.
    let inf = [
        0x81, 0xA4, 0x00, 0x66, b'/', b'3', b'/', b'0', b'/', b'9', 0x02, 0x01, 0x22, 0xFB, 0x7F,
        0xEF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x06, 0xFB, 0x7F, 0xEF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF,
    ];
    assert!(senml::cbor::decode(&inf, &Builtin).is_err());
    // A finite time still decodes.
    let ok = [
        0x81, 0xA3, 0x00, 0x66, b'/', b'3', b'/', b'0', b'/', b'9', 0x02, 0x01, 0x06, 0xF9, 0x3C,
        0x00,
    ];
    assert_eq!(
        senml::cbor::decode(&ok, &Builtin).unwrap(),
        [Record::with_time(p("/3/0/9"), Value::Integer(1), 1.0)]
    );
}
