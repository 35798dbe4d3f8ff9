//! `mote decode --as edhoc --message N`, run as the built binary on RFC 9529 Trace 2's messages
//! (hex transcribed from RFC 9529 §3.2, §3.3, §3.4, §3.5, §3.6).

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

fn json(args: &[&str]) -> serde_json::Value {
    let out = mote(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

// RFC 9529 §3.3 message_1 (second time).
const MESSAGE_1: &str = "03 82 06 02 58 20 8a f6 f4 30 eb e1 8d 34 18 40 17 a9 a1 1b f5 11 c8 df f8 f8 34 73 0b 96 c1 b7 c8 db ca 2f c3 b6 37";
// RFC 9529 §3.4 message_2.
const MESSAGE_2: &str = "58 2b 41 97 01 d7 f0 0a 26 c2 dc 58 7a 36 dd 75 25 49 f3 37 63 c8 93 42 2c 8e a0 f9 55 a1 3a 4f f5 d5 98 62 a1 ee f9 e0 e7 e1 88 6f cd";
// RFC 9529 §3.5 message_3 and §3.6 message_4.
const MESSAGE_3: &str = "52 e5 62 09 7b c4 17 dd 59 19 48 5a c7 89 1f fd 90 a9 fc";
const MESSAGE_4: &str = "48 28 c9 66 b7 ca 30 4f 83";

#[test]
fn message_1_fields() {
    let v = json(&[
        "decode",
        "--as",
        "edhoc",
        "--message",
        "1",
        "--json",
        MESSAGE_1,
    ]);
    assert_eq!(
        v,
        serde_json::json!({
            "message": 1, "method": 3, "suites_i": [6, 2], "selected_suite": 2,
            "g_x": "8af6f430ebe18d34184017a9a11bf511c8dff8f834730b96c1b7c8dbca2fc3b6",
            "c_i": "37", "ead_1": []
        })
    );
}

#[test]
fn message_2_3_4_fields() {
    let v = json(&[
        "decode",
        "--as",
        "edhoc",
        "--message",
        "2",
        "--json",
        MESSAGE_2,
    ]);
    assert_eq!(
        v["g_y"],
        "419701d7f00a26c2dc587a36dd752549f33763c893422c8ea0f955a13a4ff5d5"
    );
    assert_eq!(v["ciphertext_2"], "9862a1eef9e0e7e1886fcd");
    let v = json(&[
        "decode",
        "--as",
        "edhoc",
        "--message",
        "3",
        "--json",
        MESSAGE_3,
    ]);
    assert_eq!(
        v,
        serde_json::json!({"message": 3, "ciphertext_3": "e562097bc417dd5919485ac7891ffd90a9fc"})
    );
    let v = json(&[
        "decode",
        "--as",
        "edhoc",
        "--message",
        "4",
        "--json",
        MESSAGE_4,
    ]);
    assert_eq!(
        v,
        serde_json::json!({"message": 4, "ciphertext_4": "28c966b7ca304f83"})
    );
}

#[test]
fn error_messages() {
    // RFC 9529 §3.2: ERR_CODE 2 with SUITES_R = 2.
    let v = json(&[
        "decode",
        "--as",
        "edhoc",
        "--message",
        "error",
        "--json",
        "02 02",
    ]);
    assert_eq!(
        v,
        serde_json::json!({"message": "error", "err_code": 2, "suites_r": [2]})
    );
    let v = json(&[
        "decode",
        "--as",
        "edhoc",
        "--message",
        "error",
        "--json",
        "03 f5",
    ]);
    assert_eq!(
        v,
        serde_json::json!({"message": "error", "err_code": 3, "unknown_credential": true})
    );
    // ERR_CODE 1, "ab".
    let v = json(&[
        "decode",
        "--as",
        "edhoc",
        "--message",
        "error",
        "--json",
        "01 62 61 62",
    ]);
    assert_eq!(
        v,
        serde_json::json!({"message": "error", "err_code": 1, "diagnostic": "ab"})
    );
}

#[test]
fn text_output_and_rejections() {
    let out = mote(&["decode", "--as", "edhoc", "--message", "3", MESSAGE_3]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "message: 3\nciphertext_3: e562097bc417dd5919485ac7891ffd90a9fc\n"
    );
    // RFC 9529 §4.3.1: METHOD in a non-deterministic 16-bit encoding is rejected (exit 1).
    let out = mote(&[
        "decode",
        "--as",
        "edhoc",
        "--message",
        "1",
        "19 00 03 02 58 20 74 1a 13 d7 ba 04 8f bb 61 5e 94 38 6a a3 b6 1b ea 5b 3d 8f 65 f3 26 20 b7 49 be e8 d2 78 ef a9 0e",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr).unwrap().starts_with("error:"));
    // Missing --message.
    assert_eq!(
        mote(&["decode", "--as", "edhoc", MESSAGE_3]).status.code(),
        Some(1)
    );
}

#[test]
fn credential_file_is_checked() {
    // RFC 9529 Trace 2: the Responder's CCS and key, the Initiator's CCS as peer.
    let dir = std::env::temp_dir().join(format!("mote-edhoc-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("edhoc.json");
    std::fs::write(
        &file,
        r#"{"methods": [3], "suites": [2],
            "credential": {"ccs": "a2026b6578616d706c652e65647508a101a501020241322001215820bbc34960526ea4d32e940cad2a234148ddc21791a12afbcbac93622046dd44f02258204519e257236b2a0ce2023f0931f1f386ca7afda64fcde0108c224c51eabf6072"},
            "private_key": "72cc4761dbd4c78f758931aa589d348d1ef874a7e303ede2f140dcf3e6aa4aac",
            "peers": [{"ccs": "a2027734322d35302d33312d46462d45462d33372d33322d333908a101a5010202412b2001215820ac75e9ece3e50bfc8ed60399889522405c47bf16df96660a41298cb4307f7eb62258206e5de611388a4b8a8211334ac7d37ecb52a387d257e6db3c2a93df21ff3affc8"}],
            "connection_id": "27"}"#,
    )
    .unwrap();
    let v = json(&[
        "edhoc",
        "check-credentials",
        "--json",
        file.to_str().unwrap(),
    ]);
    assert_eq!(v["id_cred"], "a1044132"); // RFC 9529 §3.4 ID_CRED_R
    assert_eq!(v["peers"], 1);
    assert_eq!(v["connection_id"], "27");
    std::fs::write(
        &file,
        r#"{"credential": {"ccs": "a0"}, "private_key": "00"}"#,
    )
    .unwrap();
    assert_eq!(
        mote(&["edhoc", "check-credentials", file.to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
