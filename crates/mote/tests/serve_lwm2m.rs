//! `mote serve` as an LwM2M Client's object tree over loopback UDP, driven with `mote coap`:
//! Read in every content format the Accept option asks for (TLV, SenML-JSON, SenML-CBOR,
//! LwM2M-CBOR, text, opaque), 4.06 Not Acceptable for formats it cannot produce, Discover,
//! Write (replace / partial update) with type checks, Execute, Create, Delete, a Block1
//! firmware upload to /5/0/0 and a Block2 download of /19/0/0/0 (LwM2M TS Core 1.2 and
//! TS Transport 1.2, Device Management and Service Enablement Interface). Payloads are decoded with mote-lwm2m and compared with values
//! written here.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::mote;

use mote_lwm2m::object::Builtin;
use mote_lwm2m::{Format, Path, Record, Value};

/// A `mote serve` on an ephemeral UDP port: the child (stopped on drop) and the port.
fn serve() -> (common::Proc, u16) {
    let (child, ports) = common::start(&["serve", "--listen", "127.0.0.1:0", "--print-port"], 1);
    (child, ports[0])
}

/// `mote coap … --json`: (code, content format, payload).
fn coap(args: &[&str]) -> (String, Option<u64>, Vec<u8>) {
    let v = common::coap_json(args);
    let cf = v["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["number"] == 12)
        .map(|o| o["value"].as_u64().unwrap());
    let payload = hex::decode(v["payload"].as_str().unwrap()).unwrap();
    (v["code"].as_str().unwrap().to_owned(), cf, payload)
}

fn p(s: &str) -> Path {
    s.parse().unwrap()
}

#[test]
fn read_in_every_content_format_and_4_06() {
    let s = serve();
    let base = format!("coap://127.0.0.1:{}", s.1);
    let device = format!("{base}/3/0");
    for format in [
        Format::Tlv,
        Format::SenmlJson,
        Format::SenmlCbor,
        Format::LwM2mCbor,
    ] {
        let cf = format.content_format().0.to_string();
        let (code, got_cf, body) = coap(&["get", &device, "--accept", &cf]);
        assert_eq!(code, "2.05", "{format}");
        assert_eq!(
            got_cf,
            Some(u64::from(format.content_format().0)),
            "{format}"
        );
        let records = mote_lwm2m::decode(format, &p("/3/0"), &body, &Builtin).unwrap();
        let find = |path: &str| records.iter().find(|r| r.path == p(path)).map(|r| &r.value);
        assert_eq!(
            find("/3/0/0"),
            Some(&Value::String("Mote".into())),
            "{format}"
        );
        assert_eq!(find("/3/0/1"), Some(&Value::String("mote serve".into())));
        assert_eq!(find("/3/0/11/0"), Some(&Value::Integer(0)));
        assert!(matches!(find("/3/0/13"), Some(Value::Time(t)) if *t > 1_600_000_000));
        // Executable resources are not read (TS Core 1.2 "Read Operation").
        assert_eq!(find("/3/0/4"), None);
    }
    // A single resource: text by default, CBOR on request.
    assert_eq!(
        coap(&["get", &format!("{base}/1/0/1")]),
        ("2.05".into(), Some(0), b"86400".to_vec())
    );
    let (_, cf, body) = coap(&["get", &format!("{base}/1/0/1"), "--accept", "60"]);
    assert_eq!((cf, body), (Some(60), vec![0x1a, 0x00, 0x01, 0x51, 0x80]));
    // 4.06: an unknown format, a single-value format for an instance, opaque for a string.
    for (path, accept) in [("/3/0", "50"), ("/3/0", "0"), ("/3/0/0", "42")] {
        let (code, _, _) = coap(&["get", &format!("{base}{path}"), "--accept", accept]);
        assert_eq!(code, "4.06", "{path} accept {accept}");
    }
    // 4.05 for write-only and executable resources, 4.04 for what does not exist.
    assert_eq!(coap(&["get", &format!("{base}/5/0/0")]).0, "4.05");
    assert_eq!(coap(&["get", &format!("{base}/3/0/4")]).0, "4.05");
    assert_eq!(coap(&["get", &format!("{base}/3/7")]).0, "4.04");
    assert_eq!(coap(&["get", &format!("{base}/42")]).0, "4.04");
}

#[test]
fn discover_and_registration_links() {
    let s = serve();
    let base = format!("coap://127.0.0.1:{}", s.1);
    let (code, cf, body) = coap(&["get", &format!("{base}/3/0"), "--accept", "40"]);
    assert_eq!((code.as_str(), cf), ("2.05", Some(40)));
    let links = String::from_utf8(body).unwrap();
    assert!(links.starts_with("</3/0>,</3/0/0>,"), "{links}");
    assert!(links.contains("</3/0/11>;dim=1"), "{links}");
    let (_, cf, body) = coap(&["get", &format!("{base}/.well-known/core")]);
    assert_eq!(cf, Some(40));
    let links = String::from_utf8(body).unwrap();
    for l in [
        "</>;rt=\"oma.lwm2m\"",
        "</1/0>",
        "</3/0>",
        "</5/0>",
        "</19/0>",
    ] {
        assert!(links.contains(l), "{l} in {links}");
    }
}

#[test]
fn write_execute_create_delete() {
    let s = serve();
    let base = format!("coap://127.0.0.1:{}", s.1);
    // Write (replace) one resource in text, read it back.
    let lifetime = format!("{base}/1/0/1");
    assert_eq!(coap(&["put", &lifetime, "--payload", "300"]).0, "2.04");
    assert_eq!(coap(&["get", &lifetime]).2, b"300");
    // A PUT with Uri-Query is Write-Attributes, never a destructive Write: refused (this tree
    // keeps no attributes), the value unchanged.
    let (code, _, diagnostic) = coap(&["put", &format!("{lifetime}?pmin=10")]);
    assert_eq!(code, "4.00");
    assert!(
        String::from_utf8_lossy(&diagnostic).contains("Write-Attributes"),
        "{diagnostic:?}"
    );
    assert_eq!(coap(&["get", &lifetime]).2, b"300");
    // Wrong type, read-only resource, unsupported Content-Format.
    assert_eq!(coap(&["put", &lifetime, "--payload", "soon"]).0, "4.00");
    assert_eq!(
        coap(&["put", &format!("{base}/3/0/0"), "--payload", "x"]).0,
        "4.05"
    );
    assert_eq!(
        coap(&["put", &lifetime, "--payload", "1", "--content-format", "50"]).0,
        "4.15"
    );
    // Partial update of the Server instance in SenML-JSON (POST /1/0).
    let body = r#"[{"n":"/1/0/2","v":5},{"n":"/1/0/3","v":120}]"#;
    assert_eq!(
        coap(&[
            "post",
            &format!("{base}/1/0"),
            "--payload",
            body,
            "--content-format",
            "110"
        ])
        .0,
        "2.04"
    );
    let (_, _, tlv) = coap(&["get", &format!("{base}/1/0"), "--accept", "11542"]);
    let records = mote_lwm2m::decode(Format::Tlv, &p("/1/0"), &tlv, &Builtin).unwrap();
    assert!(records.contains(&Record::new(p("/1/0/2"), Value::Integer(5))));
    assert!(records.contains(&Record::new(p("/1/0/3"), Value::Integer(120))));
    assert!(records.contains(&Record::new(p("/1/0/1"), Value::Integer(300))));
    // Execute: Reboot; a readable resource is not executable.
    assert_eq!(coap(&["post", &format!("{base}/3/0/4")]).0, "2.04");
    assert_eq!(coap(&["post", &format!("{base}/3/0/0")]).0, "4.05");
    // Create /19/1 (SenML-JSON), read its Data instance as opaque, delete it.
    let body = r#"[{"n":"/19/1/0/0","vd":"AQID"},{"n":"/19/1/3","vs":"created"}]"#;
    let o = mote(&[
        "coap",
        "post",
        &format!("{base}/19"),
        "--payload",
        body,
        "--content-format",
        "110",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["code"], "2.01");
    let location: Vec<&str> = v["options"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["number"] == 8)
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert_eq!(location, ["19", "1"]);
    assert_eq!(
        coap(&["get", &format!("{base}/19/1/0/0")]),
        ("2.05".into(), Some(42), vec![1, 2, 3])
    );
    assert_eq!(coap(&["delete", &format!("{base}/19/1")]).0, "2.02");
    assert_eq!(coap(&["get", &format!("{base}/19/1")]).0, "4.04");
    // The Device instance cannot be deleted.
    assert_eq!(coap(&["delete", &format!("{base}/3/0")]).0, "4.05");
}

#[test]
fn block_wise_firmware_upload_and_opaque_download() {
    let s = serve();
    let base = format!("coap://127.0.0.1:{}", s.1);
    // Block2: the 4 KiB opaque /19/0/0/0 in 64-byte blocks.
    let (code, cf, body) = coap(&["get", &format!("{base}/19/0/0/0"), "--block-size", "64"]);
    assert_eq!((code.as_str(), cf), ("2.05", Some(42)));
    let want: Vec<u8> = (0..4096u32).map(|i| ((i * 31) >> 3) as u8).collect();
    assert_eq!(body, want);
    // Block1: a 3000-byte package written to the write-only /5/0/0 makes State Downloaded (2).
    let dir = std::env::temp_dir().join(format!("mote-serve-lwm2m-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fw = dir.join("fw.bin");
    std::fs::write(
        &fw,
        (0..3000u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>(),
    )
    .unwrap();
    assert_eq!(coap(&["get", &format!("{base}/5/0/3")]).2, b"0");
    let (code, _, _) = coap(&[
        "put",
        &format!("{base}/5/0/0"),
        "--payload-file",
        fw.to_str().unwrap(),
        "--content-format",
        "42",
        "--block-size",
        "256",
    ]);
    assert_eq!(code, "2.04");
    assert_eq!(coap(&["get", &format!("{base}/5/0/3")]).2, b"2");
    // Update (Execute /5/0/2): State back to Idle, Update Result 1 (success).
    assert_eq!(coap(&["post", &format!("{base}/5/0/2")]).0, "2.04");
    assert_eq!(coap(&["get", &format!("{base}/5/0/5")]).2, b"1");
}
