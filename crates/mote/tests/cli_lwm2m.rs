//! `mote lwm2m decode|encode` and `mote decode --as tlv|senml-json|senml-cbor|lwm2m-cbor`,
//! run as the built binary: the record JSON of the docs/cli.md contract, round trips through
//! every format, DDF loading with `--objects`, and the exit codes 0 / 1 / 2.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::{Command, Output};

fn mote(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mote"))
        .args(args)
        .output()
        .expect("run mote")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .trim_end()
        .to_string()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = mote(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

/// LwM2M TS Core 1.2 §7.4.6, Multiple Resource Example (Read /3/0/6).
const LWM2M_CBOR_3_0_6: &str = "A1 83 03 00 06 A2 00 01 01 05";

#[test]
fn decode_json_matches_the_design_shape() {
    // LwM2M TS Core 1.2 §7.4.6, Single Resource Example, then the Multiple Resource one.
    let out = ok(&[
        "lwm2m",
        "decode",
        "--format",
        "lwm2m-cbor",
        "--json",
        "A1 83 03 00 00 74 4F70656E204D6F62696C6520416C6C69616E6365",
    ]);
    assert_eq!(
        out,
        r#"[{"path":"/3/0/0","type":"string","value":"Open Mobile Alliance"}]"#
    );
    let out = ok(&[
        "lwm2m",
        "decode",
        "--format",
        "lwm2m-cbor",
        "--json",
        LWM2M_CBOR_3_0_6,
    ]);
    assert_eq!(
        out,
        r#"[{"path":"/3/0/6/0","type":"integer","value":1},{"path":"/3/0/6/1","type":"integer","value":5}]"#
    );
}

#[test]
fn tlv_needs_the_request_path_and_uses_the_object_definitions() {
    // TS §7.4.3, Read /1 (length byte corrected to 0x0F, see mote-lwm2m tests/data/tlv.txt).
    let tlv = "08 00 0F C1 00 01 C4 01 00 01 51 80 C1 06 01 C1 07 55";
    let out = ok(&[
        "lwm2m", "decode", "--format", "tlv", "--path", "/1", "--json", tlv,
    ]);
    assert_eq!(
        out,
        r#"[{"path":"/1/0/0","type":"integer","value":1},{"path":"/1/0/1","type":"integer","value":86400},{"path":"/1/0/6","type":"boolean","value":true},{"path":"/1/0/7","type":"string","value":"U"}]"#
    );
    let bad = mote(&["lwm2m", "decode", "--format", "tlv", "--json", tlv]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).starts_with("error:"));
}

#[test]
fn encode_then_decode_in_every_format() {
    let records = r#"[{"path":"/3/0/0","type":"string","value":"Open Mobile Alliance"},{"path":"/3/0/6/0","type":"integer","value":1},{"path":"/3/0/6/1","type":"integer","value":5},{"path":"/3/0/13","type":"time","value":1367491215}]"#;
    for fmt in ["tlv", "senml-json", "senml-cbor", "lwm2m-cbor"] {
        let hex = ok(&[
            "lwm2m", "encode", "--format", fmt, "--path", "/3/0", records,
        ]);
        let back = ok(&[
            "lwm2m", "decode", "--format", fmt, "--path", "/3/0", "--json", &hex,
        ]);
        assert_eq!(back, records, "{fmt}");
    }
    let one = r#"[{"path":"/3/0/9","type":"integer","value":100}]"#;
    for fmt in [
        "text",
        "cbor",
        "tlv",
        "senml-json",
        "senml-cbor",
        "lwm2m-cbor",
    ] {
        let hex = ok(&["lwm2m", "encode", "--format", fmt, "--path", "/3/0/9", one]);
        let back = ok(&[
            "lwm2m", "decode", "--format", fmt, "--path", "/3/0/9", "--json", &hex,
        ]);
        assert_eq!(back, one, "{fmt}");
    }
    assert_eq!(
        ok(&[
            "lwm2m", "encode", "--format", "text", "--path", "/3/0/9", one
        ]),
        "313030"
    );
}

#[test]
fn times_opaque_and_links_survive_senml() {
    let records = r#"[{"path":"/5/0/0","type":"opaque","value":"0102ff","time":1700000000},{"path":"/5/0/0","type":"opaque","value":"03","time":1700000010}]"#;
    for fmt in ["senml-json", "senml-cbor"] {
        let hex = ok(&["lwm2m", "encode", "--format", fmt, records]);
        assert_eq!(
            ok(&["lwm2m", "decode", "--format", fmt, "--json", &hex]),
            records,
            "{fmt}"
        );
    }
    let link = r#"[{"path":"/1/0/10","type":"objlnk","value":"21:0"}]"#;
    let hex = ok(&["lwm2m", "encode", "--format", "lwm2m-cbor", link]);
    assert_eq!(
        ok(&["lwm2m", "decode", "--format", "lwm2m-cbor", "--json", &hex]),
        link
    );
}

#[test]
fn objects_dir_adds_ddf_definitions() {
    let dir = std::env::temp_dir().join(format!("mote-lwm2m-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("3303.xml"),
        r#"<LWM2M><Object ObjectType="MODefinition"><Name>Temperature</Name><ObjectID>3303</ObjectID>
        <MultipleInstances>Multiple</MultipleInstances><Mandatory>Optional</Mandatory><Resources>
        <Item ID="5700"><Name>Sensor Value</Name><Operations>R</Operations><MultipleInstances>Single</MultipleInstances>
        <Mandatory>Mandatory</Mandatory><Type>Float</Type><RangeEnumeration></RangeEnumeration><Units>Cel</Units></Item>
        </Resources></Object></LWM2M>"#,
    )
    .unwrap();
    // Resource TLV 5700 (16-bit ID) holding the binary32 value 21.5.
    let tlv = "E8 16 44 04 41 AC 00 00";
    let d = dir.to_str().unwrap();
    let out = ok(&[
        "lwm2m",
        "decode",
        "--format",
        "tlv",
        "--path",
        "/3303/0",
        "--objects",
        d,
        "--json",
        tlv,
    ]);
    assert_eq!(
        out,
        r#"[{"path":"/3303/0/5700","type":"float","value":21.5}]"#
    );
    // Without the definition the value is opaque.
    let out = ok(&[
        "lwm2m", "decode", "--format", "tlv", "--path", "/3303/0", "--json", tlv,
    ]);
    assert_eq!(
        out,
        r#"[{"path":"/3303/0/5700","type":"opaque","value":"41ac0000"}]"#
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn decode_as_lwm2m_kinds() {
    let out = ok(&["decode", "--as", "lwm2m-cbor", "--json", LWM2M_CBOR_3_0_6]);
    assert_eq!(
        out,
        r#"[{"path":"/3/0/6/0","type":"integer","value":1},{"path":"/3/0/6/1","type":"integer","value":5}]"#
    );
    let out = ok(&["decode", "--as", "tlv", "--json", "86 06 41 00 01 41 01 05"]);
    assert_eq!(
        out,
        r#"[{"id":6,"kind":"multiple_resource","value":[{"id":0,"kind":"resource_instance","value":"01"},{"id":1,"kind":"resource_instance","value":"05"}]}]"#
    );
    // RFC 8428 style names with LwM2M paths, SenML-JSON as hex input.
    let json = hex::encode(br#"[{"bn":"/3/0/","n":"9","v":100}]"#);
    assert_eq!(
        ok(&["decode", "--as", "senml-json", "--json", &json]),
        r#"[{"path":"/3/0/9","type":"integer","value":100}]"#
    );
    let cbor = "81 a3 21 65 2f 33 2f 30 2f 00 61 39 02 18 64";
    assert_eq!(
        ok(&["decode", "--as", "senml-cbor", "--json", cbor]),
        r#"[{"path":"/3/0/9","type":"integer","value":100}]"#
    );
}

#[test]
fn rejected_input_and_usage_errors() {
    for (fmt, hex) in [
        ("tlv", "C8 00 14 4F"),
        ("senml-cbor", "81 a1"),
        ("lwm2m-cbor", "A1 83 03 00"),
        ("senml-json", "5b7b"),
    ] {
        let out = mote(&["lwm2m", "decode", "--format", fmt, "--path", "/3/0", hex]);
        assert_eq!(out.status.code(), Some(1), "{fmt}");
        assert!(stderr(&out).starts_with("error:"), "{fmt}");
    }
    let out = mote(&["lwm2m", "decode", "--format", "nope", "00"]);
    assert_eq!(out.status.code(), Some(2));
    let out = mote(&[
        "lwm2m",
        "encode",
        "--format",
        "tlv",
        "--path",
        "/3/0",
        r#"[{"path":"/3/0/0","type":"integer","value":"x"}]"#,
    ]);
    assert_eq!(out.status.code(), Some(1));
}
