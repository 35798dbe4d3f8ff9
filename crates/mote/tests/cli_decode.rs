//! `mote decode --as coap|coap-tcp` and `mote demo`, run as the built binary: exact JSON of the
//! docs/cli.md contract and the exit codes 0 (success), 1 (input rejected), 2 (usage error).

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
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

#[test]
fn coap_json_matches_the_documented_example() {
    // docs/cli.md's example: CON GET, MID 4660, token a1b2, Uri-Path "3", Accept 11542.
    let out = mote(&[
        "decode",
        "--as",
        "coap",
        "--json",
        "42 01 12 34 a1 b2 b1 33 62 2d 16",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        concat!(
            r#"{"type":"CON","code":"0.01","code_name":"GET","message_id":4660,"token":"a1b2","#,
            r#""options":[{"number":11,"name":"Uri-Path","value":"3"},{"number":17,"name":"Accept","value":11542}],"#,
            r#""payload":""}"#,
            "\n"
        )
    );
}

#[test]
fn coap_json_value_kinds_and_unregistered_options() {
    // ACK 2.05 (RFC 7252 Figure 17's response) plus ETag (opaque), If-None-Match (empty), an
    // unregistered elective option 65000 and Max-Age 60, upper-case hex with colons.
    // Options: ETag 4 "\x01\x02" (d=4), If-None-Match 5 (d=1), Max-Age 14 uint 60 (d=9),
    // 65000 "\xab" (d=64986 → 14, ext 64986-269=64717=0xfccd).
    let hex = "61:45:7D:35:20:42:01:02:10:91:3C:E1:FC:CD:AB:FF:32:32:2E:33:20:43";
    let out = mote(&["decode", "--as", "coap", "--json", hex]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        concat!(
            r#"{"type":"ACK","code":"2.05","code_name":"Content","message_id":32053,"token":"20","#,
            r#""options":[{"number":4,"name":"ETag","value":"0102"},{"number":5,"name":"If-None-Match","value":""},"#,
            r#"{"number":14,"name":"Max-Age","value":60},{"number":65000,"name":null,"value":"ab"}],"#,
            r#""payload":"32322e332043"}"#,
            "\n"
        )
    );
}

#[test]
fn unregistered_code_has_null_name() {
    let out = mote(&["decode", "--as", "coap", "--json", "40 08 00 01"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "{\"type\":\"CON\",\"code\":\"0.08\",\"code_name\":null,\"message_id\":1,\"token\":\"\",\"options\":[],\"payload\":\"\"}\n"
    );
}

#[test]
fn coap_tcp_json_drops_type_and_message_id() {
    // RFC 8323 Figure 5 and Figure 11.
    let out = mote(&["decode", "--as", "coap-tcp", "--json", "01437f"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "{\"code\":\"2.03\",\"code_name\":\"Valid\",\"token\":\"7f\",\"options\":[],\"payload\":\"\"}\n"
    );
    let out = mote(&["decode", "--as", "coap-tcp", "--json", "01e242"]);
    assert_eq!(
        stdout(&out),
        "{\"code\":\"7.02\",\"code_name\":\"Ping\",\"token\":\"42\",\"options\":[],\"payload\":\"\"}\n"
    );
}

#[test]
fn coap_tcp_csm_options_use_signaling_names() {
    // 7.01 CSM with Max-Message-Size 4096 (option 2, 0x1000) and Block-Wise-Transfer (4):
    // body = 22 10 00 20 → Len 4.
    let out = mote(&["decode", "--as", "coap-tcp", "--json", "40 e1 22 10 00 20"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        concat!(
            r#"{"code":"7.01","code_name":"CSM","token":"","options":[{"number":2,"name":"Max-Message-Size","value":4096},"#,
            r#"{"number":4,"name":"Block-Wise-Transfer","value":""}],"payload":""}"#,
            "\n"
        )
    );
}

#[test]
fn file_input_and_text_output() {
    let path = std::env::temp_dir().join(format!("mote-cli-decode-{}.bin", std::process::id()));
    std::fs::write(&path, b"\x41\x01\x7d\x35\x20\xbbtemperature").unwrap();
    let out = mote(&["decode", "--as", "coap", "--file", path.to_str().unwrap()]);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "CoAP over UDP: CON 0.01 GET, message ID 32053 (0x7d35), token 20\n  Uri-Path (11): \"temperature\"\n  payload: none\n"
    );
}

#[test]
fn malformed_input_is_exit_1_with_error_prefix() {
    for (kind, hex) in [
        ("coap", "40 01 00 01 ff"),  // payload marker, empty payload
        ("coap", "4f 01 00 01"),     // TKL 15
        ("coap", "00 01 00 01"),     // version 0
        ("coap-tcp", "d0 05 01"),    // truncated frame
        ("coap-tcp", "01 43 7f 00"), // trailing byte
    ] {
        let out = mote(&["decode", "--as", kind, "--json", hex]);
        assert_eq!(out.status.code(), Some(1), "{kind} {hex}");
        assert!(
            stderr(&out).starts_with("error: malformed CoAP message: "),
            "{}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty());
    }
    let out = mote(&["decode", "--as", "coap", "zz"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("error:"));
}

#[test]
fn usage_errors_are_exit_2() {
    assert_eq!(
        mote(&["decode", "--as", "nope", "40010001"]).status.code(),
        Some(2)
    );
    assert_eq!(mote(&["decode", "--as", "coap"]).status.code(), Some(2));
    assert_eq!(
        mote(&["decode", "--as", "coap", "40010001", "--file", "x"])
            .status
            .code(),
        Some(2)
    );
}
