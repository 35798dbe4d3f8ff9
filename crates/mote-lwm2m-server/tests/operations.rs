//! Typed operations encoded byte-exactly (expected bytes written by hand from RFC 7252 §3
//! and the LwM2M TS 1.2 Transport §6.4.4/§6.4.5 mapping) and responses decoded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mote_coap::code::{Code, MessageType};
use mote_coap::content_format::ContentFormat;
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::{OptionNumber, OptionRef};
use mote_lwm2m::attributes::NotificationAttributes;
use mote_lwm2m::object::Builtin;
use mote_lwm2m::{Format, Path, Record, Value};
use mote_lwm2m_server::operation::{OperationResult, WriteMode, decode_notification};
use mote_lwm2m_server::{ClientProfile, LwM2mVersion, Operation, OperationError};

fn p(s: &str) -> Path {
    s.parse().unwrap()
}

fn profile() -> ClientProfile {
    ClientProfile::new(LwM2mVersion::V1_1)
}

/// CON, TKL 1, code, MID 0x1234, token 0xAB, then `rest`.
fn wire(op: &Operation, prof: &ClientProfile) -> Vec<u8> {
    op.encode(prof)
        .unwrap()
        .to_message(MessageType::Con, 0x1234, &[0xab])
        .to_vec()
        .unwrap()
}

fn hdr(code: u8) -> Vec<u8> {
    vec![0x41, code, 0x12, 0x34, 0xab]
}

fn cat(a: Vec<u8>, b: &[u8]) -> Vec<u8> {
    let mut a = a;
    a.extend_from_slice(b);
    a
}

#[test]
fn read_bytes() {
    let op = Operation::Read {
        path: p("/3/0/1"),
        format: Some(Format::Tlv),
    };
    // Uri-Path 3 | 0 | 1 (delta 11), Accept 11542 = 0x2d16 (delta 6, length 2).
    let want = cat(
        hdr(0x01),
        &[0xb1, b'3', 0x01, b'0', 0x01, b'1', 0x62, 0x2d, 0x16],
    );
    assert_eq!(wire(&op, &profile()), want);
}

#[test]
fn discover_bytes() {
    let op = Operation::Discover { path: p("/3/0") };
    let want = cat(hdr(0x01), &[0xb1, b'3', 0x01, b'0', 0x61, 40]);
    assert_eq!(wire(&op, &profile()), want);
}

#[test]
fn write_replace_text_bytes() {
    let op = Operation::Write {
        path: p("/3/0/14"),
        mode: WriteMode::Replace,
        format: Some(Format::Text),
        records: vec![Record::new(p("/3/0/14"), Value::String("+02".into()))],
    };
    // PUT; Content-Format 0 is the empty uint (delta 1, length 0); payload marker.
    let want = cat(
        hdr(0x03),
        &[
            0xb1, b'3', 0x01, b'0', 0x02, b'1', b'4', 0x10, 0xff, b'+', b'0', b'2',
        ],
    );
    assert_eq!(wire(&op, &profile()), want);
}

#[test]
fn write_partial_tlv_bytes() {
    let op = Operation::Write {
        path: p("/1/0"),
        mode: WriteMode::PartialUpdate,
        format: None, // a 1.1 client without `ct`: TLV
        records: vec![Record::new(p("/1/0/1"), Value::Integer(300))],
    };
    // POST; Content-Format 11542 (delta 1, length 2); TLV resource 1 with a 2-byte value
    // (type 0b11_0_00_010 = 0xc2), 300 = 0x012c.
    let want = cat(
        hdr(0x02),
        &[
            0xb1, b'1', 0x01, b'0', 0x12, 0x2d, 0x16, 0xff, 0xc2, 0x01, 0x01, 0x2c,
        ],
    );
    assert_eq!(wire(&op, &profile()), want);
}

#[test]
fn write_attributes_bytes() {
    let set = NotificationAttributes {
        pmin: Some(1),
        pmax: Some(60),
        ..Default::default()
    };
    let op = Operation::WriteAttributes {
        path: p("/3/0/9"),
        set,
        unset: vec!["gt".into()],
    };
    let mut want = cat(hdr(0x03), &[0xb1, b'3', 0x01, b'0', 0x01, b'9']);
    want.push(0x46); // Uri-Query (delta 4), 6 bytes
    want.extend_from_slice(b"pmin=1");
    want.push(0x07);
    want.extend_from_slice(b"pmax=60");
    want.push(0x02);
    want.extend_from_slice(b"gt");
    assert_eq!(wire(&op, &profile()), want);
    let empty = Operation::WriteAttributes {
        path: p("/3/0/9"),
        set: Default::default(),
        unset: vec![],
    };
    assert!(matches!(
        empty.encode(&profile()),
        Err(OperationError::Unsupported { .. })
    ));
    // Core §5.1.2: epmax must be greater than epmin; an inconsistent set is refused.
    let bad = NotificationAttributes {
        epmin: Some(10),
        epmax: Some(5),
        ..Default::default()
    };
    let op = Operation::WriteAttributes {
        path: p("/3/0/9"),
        set: bad,
        unset: vec![],
    };
    assert!(matches!(
        op.encode(&profile()),
        Err(OperationError::Encode(_))
    ));
}

#[test]
fn execute_bytes() {
    let op = Operation::Execute {
        path: p("/3/0/4"),
        arguments: None,
    };
    assert_eq!(
        wire(&op, &profile()),
        cat(hdr(0x02), &[0xb1, b'3', 0x01, b'0', 0x01, b'4'])
    );
    let op = Operation::Execute {
        path: p("/3/0/4"),
        arguments: Some("0='x'".into()),
    };
    let want = cat(
        hdr(0x02),
        &[
            0xb1, b'3', 0x01, b'0', 0x01, b'4', 0x10, 0xff, b'0', b'=', b'\'', b'x', b'\'',
        ],
    );
    assert_eq!(wire(&op, &profile()), want);
}

#[test]
fn create_bytes() {
    let op = Operation::Create {
        path: p("/1"),
        format: Some(Format::Tlv),
        records: vec![Record::new(p("/1/2/0"), Value::Integer(5))],
    };
    // Object Instance 2 TLV (type 0x03: instance, 8-bit id, length 3) holding resource 0
    // = 5 (0xc1 0x00 0x05).
    let want = cat(
        hdr(0x02),
        &[
            0xb1, b'1', 0x12, 0x2d, 0x16, 0xff, 0x03, 0x02, 0xc1, 0x00, 0x05,
        ],
    );
    assert_eq!(wire(&op, &profile()), want);
}

#[test]
fn delete_bytes() {
    let op = Operation::Delete { path: p("/1/2") };
    assert_eq!(
        wire(&op, &profile()),
        cat(hdr(0x04), &[0xb1, b'1', 0x01, b'2'])
    );
}

#[test]
fn read_composite_bytes() {
    let op = Operation::ReadComposite {
        paths: vec![p("/3/0/0"), p("/1/0/1")],
        format: Some(Format::SenmlJson),
    };
    // FETCH, Content-Format 110 (delta 12), Accept 110 (delta 5), SenML names.
    let mut want = cat(hdr(0x05), &[0xc1, 110, 0x51, 110, 0xff]);
    want.extend_from_slice(br#"[{"n":"/3/0/0"},{"n":"/1/0/1"}]"#);
    assert_eq!(wire(&op, &profile()), want);
}

#[test]
fn write_composite_bytes() {
    let op = Operation::WriteComposite {
        records: vec![Record::new(p("/3/0/14"), Value::String("+02".into()))],
        format: Some(Format::SenmlJson),
    };
    let mut want = cat(hdr(0x07), &[0xc1, 110, 0xff]);
    want.extend_from_slice(br#"[{"n":"/3/0/14","vs":"+02"}]"#);
    assert_eq!(wire(&op, &profile()), want);
    let tlv = Operation::WriteComposite {
        records: vec![],
        format: Some(Format::Tlv),
    };
    assert!(matches!(
        tlv.encode(&profile()),
        Err(OperationError::Unsupported { .. })
    ));
}

#[test]
fn observe_and_cancel_bytes() {
    let op = Operation::Observe {
        path: p("/3/0/9"),
        format: Some(Format::Tlv),
    };
    // Observe 0 = empty uint (delta 6), Uri-Path (delta 5), Accept (delta 6).
    let want = cat(
        hdr(0x01),
        &[0x60, 0x51, b'3', 0x01, b'0', 0x01, b'9', 0x62, 0x2d, 0x16],
    );
    assert_eq!(wire(&op, &profile()), want);
    let op = Operation::CancelObserve {
        path: p("/3/0/9"),
        format: Some(Format::Tlv),
    };
    let want = cat(
        hdr(0x01),
        &[
            0x61, 0x01, 0x51, b'3', 0x01, b'0', 0x01, b'9', 0x62, 0x2d, 0x16,
        ],
    );
    assert_eq!(wire(&op, &profile()), want);
}

#[test]
fn observe_composite_bytes() {
    let op = Operation::ObserveComposite {
        paths: vec![p("/3/0/9")],
        format: Some(Format::SenmlCbor),
    };
    // FETCH, Observe 0, Content-Format 112 (delta 6), Accept 112 (delta 5),
    // CBOR [{0: "/3/0/9"}] (RFC 8428 §6: name label 0).
    let want = cat(
        hdr(0x05),
        &[
            0x60, 0x61, 112, 0x51, 112, 0xff, 0x81, 0xa1, 0x00, 0x66, b'/', b'3', b'/', b'0', b'/',
            b'9',
        ],
    );
    assert_eq!(wire(&op, &profile()), want);
    let cancel = Operation::CancelObserveComposite {
        paths: vec![p("/3/0/9")],
        format: Some(Format::SenmlCbor),
    };
    let bytes = wire(&cancel, &profile());
    assert_eq!(&bytes[5..7], &[0x61, 0x01]);
}

#[test]
fn alternate_path_prefix() {
    let prof = ClientProfile {
        root_path: "/lwm2m".into(),
        ..profile()
    };
    let op = Operation::Read {
        path: p("/3/0"),
        format: Some(Format::Tlv),
    };
    let want = cat(
        hdr(0x01),
        &[
            0xb5, b'l', b'w', b'm', b'2', b'm', 0x01, b'3', 0x01, b'0', 0x62, 0x2d, 0x16,
        ],
    );
    assert_eq!(wire(&op, &prof), want);
}

#[test]
fn content_format_choice_per_client() {
    let with = |v, cts: &[u16]| ClientProfile {
        version: v,
        content_formats: cts.iter().map(|c| ContentFormat(*c)).collect(),
        root_path: "/".into(),
    };
    assert_eq!(
        with(LwM2mVersion::V1_0, &[]).preferred_format(),
        Format::Tlv
    );
    assert_eq!(
        with(LwM2mVersion::V1_1, &[]).preferred_format(),
        Format::Tlv
    );
    assert_eq!(
        with(LwM2mVersion::V1_2, &[]).preferred_format(),
        Format::SenmlCbor
    );
    assert_eq!(
        with(LwM2mVersion::V1_2, &[110, 11544]).preferred_format(),
        Format::LwM2mCbor
    );
    // LwM2M CBOR is a 1.2 format: a 1.1 client announcing it gets SenML.
    assert_eq!(
        with(LwM2mVersion::V1_1, &[11544, 110]).preferred_format(),
        Format::SenmlJson
    );
    assert_eq!(
        with(LwM2mVersion::V1_1, &[11542, 112]).preferred_format(),
        Format::SenmlCbor
    );
    assert_eq!(
        with(LwM2mVersion::V1_1, &[110]).composite_format(),
        Ok(Format::SenmlJson)
    );
    assert!(with(LwM2mVersion::V1_0, &[]).composite_format().is_err());
    // A Read with no explicit format asks for the announced one.
    let op = Operation::Read {
        path: p("/3/0"),
        format: None,
    };
    let parts = op.encode(&with(LwM2mVersion::V1_2, &[11544])).unwrap();
    assert_eq!(
        parts.options.get(OptionNumber::ACCEPT).unwrap().value,
        &[0x2d, 0x18]
    );
}

#[test]
fn paths_at_the_wrong_level() {
    let cases = [
        Operation::Read {
            path: Path::ROOT,
            format: None,
        },
        Operation::Discover { path: Path::ROOT },
        Operation::Write {
            path: p("/3"),
            mode: WriteMode::Replace,
            format: None,
            records: vec![],
        },
        Operation::Execute {
            path: p("/3/0"),
            arguments: None,
        },
        Operation::Create {
            path: p("/3/0"),
            format: None,
            records: vec![],
        },
        Operation::Delete { path: p("/3/0/1") },
        Operation::Observe {
            path: Path::ROOT,
            format: None,
        },
    ];
    for op in cases {
        assert!(
            matches!(
                op.encode(&profile()),
                Err(OperationError::InvalidPath { .. })
            ),
            "{op:?}"
        );
    }
}

fn cf(n: u16) -> Vec<u8> {
    n.to_be_bytes()
        .iter()
        .copied()
        .skip_while(|b| *b == 0)
        .collect()
}

#[test]
fn decode_read_text_and_tlv() {
    let op = Operation::Read {
        path: p("/3/0/0"),
        format: Some(Format::Text),
    };
    let opts = [OptionRef::new(OptionNumber::CONTENT_FORMAT, &[])];
    let r = op
        .decode_response(Code::CONTENT, opts, b"ACME", &Builtin)
        .unwrap();
    assert_eq!(
        r,
        OperationResult::Content {
            observe: None,
            format: Some(Format::Text),
            records: vec![Record::new(p("/3/0/0"), Value::String("ACME".into()))],
        }
    );
    // TLV: resource 0, 8-bit length field (0xc8), "ACME"; resource 9 = 87 (0xc1 0x09 0x57).
    let op = Operation::Read {
        path: p("/3/0"),
        format: Some(Format::Tlv),
    };
    let c = cf(11542);
    let opts = [OptionRef::new(OptionNumber::CONTENT_FORMAT, &c)];
    let payload = [0xc8, 0x00, 0x04, b'A', b'C', b'M', b'E', 0xc1, 0x09, 0x57];
    let r = op
        .decode_response(Code::CONTENT, opts, &payload, &Builtin)
        .unwrap();
    let OperationResult::Content { records, .. } = r else {
        panic!()
    };
    assert_eq!(
        records,
        vec![
            Record::new(p("/3/0/0"), Value::String("ACME".into())),
            Record::new(p("/3/0/9"), Value::Integer(87)),
        ]
    );
}

#[test]
fn decode_from_a_message() {
    let bytes = OwnedMessage::new(MessageType::Ack, Code::CONTENT, 0x1234)
        .with_token([0xab])
        .with_uint_option(OptionNumber::OBSERVE, 5)
        .with_uint_option(OptionNumber::CONTENT_FORMAT, 110)
        .with_payload(r#"[{"bn":"/3/0/","n":"9","v":80,"t":1700000000}]"#)
        .to_vec()
        .unwrap();
    let op = Operation::Observe {
        path: p("/3/0/9"),
        format: None,
    };
    let r = op
        .decode_message(&Message::decode(&bytes).unwrap(), &Builtin)
        .unwrap();
    assert_eq!(
        r,
        OperationResult::Content {
            observe: Some(5),
            format: Some(Format::SenmlJson),
            records: vec![Record::with_time(
                p("/3/0/9"),
                Value::Integer(80),
                1_700_000_000.0
            )],
        }
    );
}

#[test]
fn decode_discover() {
    let op = Operation::Discover { path: p("/3/0") };
    let c = cf(40);
    let opts = [OptionRef::new(OptionNumber::CONTENT_FORMAT, &c)];
    let r = op
        .decode_response(Code::CONTENT, opts, b"</3/0>;pmin=10,</3/0/1>", &Builtin)
        .unwrap();
    let OperationResult::Links(links) = r else {
        panic!("{r:?}")
    };
    assert_eq!(links.len(), 2);
    assert_eq!(links[0].path, p("/3/0"));
    assert_eq!(links[0].attributes.notification.pmin, Some(10));
    assert_eq!(links[1].path, p("/3/0/1"));
}

#[test]
fn decode_changed_created_deleted() {
    let w = Operation::Execute {
        path: p("/3/0/4"),
        arguments: None,
    };
    assert_eq!(
        w.decode_response(Code::CHANGED, [], &[], &Builtin),
        Ok(OperationResult::Changed)
    );
    let c = Operation::Create {
        path: p("/1"),
        format: None,
        records: vec![],
    };
    let loc = [
        OptionRef::new(OptionNumber::LOCATION_PATH, b"1"),
        OptionRef::new(OptionNumber::LOCATION_PATH, b"2"),
    ];
    assert_eq!(
        c.decode_response(Code::CREATED, loc, &[], &Builtin),
        Ok(OperationResult::Created(Some(p("/1/2"))))
    );
    let d = Operation::Delete { path: p("/1/2") };
    assert_eq!(
        d.decode_response(Code::DELETED, [], &[], &Builtin),
        Ok(OperationResult::Deleted)
    );
}

#[test]
fn decode_errors() {
    let op = Operation::Read {
        path: p("/3/0/1"),
        format: None,
    };
    assert_eq!(
        op.decode_response(Code::NOT_FOUND, [], b"no such resource", &Builtin),
        Err(OperationError::ErrorResponse {
            code: Code::NOT_FOUND,
            diagnostic: "no such resource".into()
        })
    );
    assert_eq!(
        op.decode_response(Code::NOT_ACCEPTABLE, [], &[], &Builtin),
        Err(OperationError::ErrorResponse {
            code: Code::NOT_ACCEPTABLE,
            diagnostic: String::new()
        })
    );
    assert_eq!(
        op.decode_response(Code::CHANGED, [], &[], &Builtin),
        Err(OperationError::UnexpectedCode {
            code: Code::CHANGED
        })
    );
    // Without Content-Format a single Resource is text (see
    // a_single_resource_without_content_format_is_read_as_text), an instance is an error.
    let instance = Operation::Read {
        path: p("/3/0"),
        format: None,
    };
    assert_eq!(
        instance.decode_response(Code::CONTENT, [], b"x", &Builtin),
        Err(OperationError::MissingContentFormat)
    );
    let c = cf(50);
    assert_eq!(
        op.decode_response(
            Code::CONTENT,
            [OptionRef::new(OptionNumber::CONTENT_FORMAT, &c)],
            b"{}",
            &Builtin
        ),
        Err(OperationError::UnknownContentFormat(ContentFormat::JSON))
    );
    let c = cf(11542);
    assert!(matches!(
        op.decode_response(
            Code::CONTENT,
            [OptionRef::new(OptionNumber::CONTENT_FORMAT, &c)],
            &[0xc8],
            &Builtin
        ),
        Err(OperationError::Decode(_))
    ));
    // An empty 2.05 (an Object without instances) is an empty result.
    assert_eq!(
        op.decode_response(Code::CONTENT, [], &[], &Builtin),
        Ok(OperationResult::Content {
            observe: None,
            format: None,
            records: vec![]
        })
    );
}

#[test]
fn decode_notifications_in_each_format() {
    // SenML CBOR: [{-2: "/3/0/", 0: "9", 2: 80, 6: 1700000000}] (RFC 8428 §6 labels:
    // bn -2, n 0, v 2, t 6).
    let cbor = [
        0x81, 0xa4, 0x21, 0x65, b'/', b'3', b'/', b'0', b'/', 0x00, 0x61, b'9', 0x02, 0x18, 80,
        0x06, 0x1a, 0x65, 0x53, 0xf1, 0x00,
    ];
    let r = decode_notification(
        Some(ContentFormat::SENML_CBOR),
        &Path::ROOT,
        &cbor,
        &Builtin,
    )
    .unwrap();
    assert_eq!(
        r,
        vec![Record::with_time(
            p("/3/0/9"),
            Value::Integer(80),
            1_700_000_000.0
        )]
    );
    // TLV for /3/0/9: one resource = 87.
    let r = decode_notification(
        Some(ContentFormat::LWM2M_TLV),
        &p("/3/0/9"),
        &[0xc1, 0x09, 0x57],
        &Builtin,
    )
    .unwrap();
    assert_eq!(r, vec![Record::new(p("/3/0/9"), Value::Integer(87))]);
    // LwM2M CBOR for /3/0/9: {3: {0: {9: 87}}} (Core 1.2 §7.4.6 nested maps).
    let lc = [0xa1, 0x03, 0xa1, 0x00, 0xa1, 0x09, 0x18, 87];
    let r =
        decode_notification(Some(ContentFormat::LWM2M_CBOR), &Path::ROOT, &lc, &Builtin).unwrap();
    assert_eq!(r, vec![Record::new(p("/3/0/9"), Value::Integer(87))]);
    assert_eq!(
        decode_notification(None, &Path::ROOT, b"x", &Builtin),
        Err(OperationError::MissingContentFormat)
    );
}

/// An LwM2M 1.0 client (lwm2m-node-lib) answers a single Resource as text with no
/// Content-Format at all: read as text/plain (typed by the object definition), for a Read
/// and for a notification alike; a larger answer without Content-Format stays an error.
#[test]
fn a_single_resource_without_content_format_is_read_as_text() {
    let op = Operation::Read {
        path: p("/3/0/9"),
        format: Some(Format::Text),
    };
    let r = op
        .decode_response(Code::CONTENT, [], b"87", &Builtin)
        .unwrap();
    assert_eq!(
        r,
        OperationResult::Content {
            observe: None,
            format: Some(Format::Text),
            records: vec![Record::new(p("/3/0/9"), Value::Integer(87))],
        }
    );
    let op = Operation::Observe {
        path: p("/3/0/9"),
        format: None,
    };
    let obs = [OptionRef::new(OptionNumber::OBSERVE, &[2])];
    let OperationResult::Content {
        observe, records, ..
    } = op
        .decode_response(Code::CONTENT, obs, b"42", &Builtin)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(observe, Some(2));
    assert_eq!(records, vec![Record::new(p("/3/0/9"), Value::Integer(42))]);
    let op = Operation::Read {
        path: p("/3/0"),
        format: None,
    };
    assert_eq!(
        op.decode_response(Code::CONTENT, [], b"87", &Builtin),
        Err(OperationError::MissingContentFormat)
    );
}

/// LightweightM2M-DSE-002 (TS 1.2 Transport §6.4.4: the target of Read and Write may be a
/// Resource Instance): Read and Write of one instance of a Multiple-Instance Resource,
/// `/3/0/7/1` (Device, Power Source Voltage, instance 1) — four Uri-Path options; the Write
/// carries only that instance's value.
#[test]
fn dse_002_read_and_write_of_one_resource_instance_bytes() {
    let read = Operation::Read {
        path: p("/3/0/7/1"),
        format: Some(Format::Text),
    };
    // Uri-Path 3 | 0 | 7 | 1 (delta 11), Accept 0 (delta 6, the empty uint).
    let want = cat(
        hdr(0x01),
        &[0xb1, b'3', 0x01, b'0', 0x01, b'7', 0x01, b'1', 0x60],
    );
    assert_eq!(wire(&read, &profile()), want);
    let write = Operation::Write {
        path: p("/3/0/7/1"),
        mode: WriteMode::Replace,
        format: Some(Format::Text),
        records: vec![Record::new(p("/3/0/7/1"), Value::Integer(5000))],
    };
    // PUT; Content-Format 0 (delta 1, length 0); payload "5000".
    let want = cat(
        hdr(0x03),
        &[
            0xb1, b'3', 0x01, b'0', 0x01, b'7', 0x01, b'1', 0x10, 0xff, b'5', b'0', b'0', b'0',
        ],
    );
    assert_eq!(wire(&write, &profile()), want);
}
