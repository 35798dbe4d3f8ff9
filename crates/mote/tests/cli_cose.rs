//! `mote cose open|seal` and `mote decode --as cose` through the real binary.
//!
//! Expected bytes are transcribed from the COSE WG examples (public domain, also in
//! crates/mote-cose/tests/data/cose-wg/): aes-ccm-enc-01, HMac-enc-01, eddsa-sig-01,
//! ecdsa-sig-01, and aes-ccm-01 (COSE_Encrypt, direct recipient).

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

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .trim()
        .to_string()
}

const CONTENT_HEX: &str = "546869732069732074686520636f6e74656e742e"; // "This is the content."

/// {1: 4, -1: k} with k = 849B57219DAE48DE646D07DBB533566E (128-bit "our-secret").
const KEY_128: &str = "a201042050849b57219dae48de646d07dbb533566e";
/// {1: 4, -1: k} with the 256-bit "our-secret".
const KEY_256: &str =
    "a20104205820849b57219dae48de646d07dbb533566e976686457c1491be3a76dcea6c427188";
/// aes-ccm-enc-01: COSE_Encrypt0 with AES-CCM-16-64-128 (10).
const ENC0: &str = "D08343A1010AA1054D89F52F65A1C580933B5261A72F581C6899DA0A132BD2D2B9B10915743EE1F7B92A4680E7C51BDBC1B320EA";
/// HMac-enc-01: COSE_Mac0 with HMAC 256/256 (5).
const MAC0: &str = "D18443A10105A054546869732069732074686520636F6E74656E742E5820A1A848D3471F9D61EE49018D244C824772F223AD4F935293F1789FC3A08D8C58";
/// eddsa-sig-01: COSE_Sign1 with EdDSA and its Ed25519 key.
const SIGN1_ED: &str = "D28445A201270300A10442313154546869732069732074686520636F6E74656E742E58407142FD2FF96D56DB85BEE905A76BA1D0B7321A95C8C4D3607C5781932B7AFB8711497DFA751BF40B58B3BCC32300B1487F3DB34085EEF013BF08F4A44D6FEF0D";
const KEY_ED: &str = "a401012006215820d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a2358209d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
/// ecdsa-sig-01: COSE_Sign1 with ES256 and the P-256 public key "11".
const SIGN1_ES: &str = "D28445A201260300A10442313154546869732069732074686520636F6E74656E742E58406520BBAF2081D7E0ED0F95F76EB0733D667005F7467CEC4B87B9381A6BA1EDE8E00DF29F32A37230F39A842A54821FDD223092819D7728EFB9D3A0080B75380B";
const KEY_ES_PUB: &str = "a401022001215820bac5b11cad8f99f9c72b05cf4b9e26d244dc189f745228255a219a86d6a09eff22582020138bf82dc1b6d562be0fa54ab7804a3a64b6d72ccfed6b6fb6ed28bbfc117e";
const KEY_ES_PRIV: &str = "a501022001215820bac5b11cad8f99f9c72b05cf4b9e26d244dc189f745228255a219a86d6a09eff22582020138bf82dc1b6d562be0fa54ab7804a3a64b6d72ccfed6b6fb6ed28bbfc117e23582057c92077664146e876760c9520d054aa93c3afb04e306705db6090308507b4d3";
/// aes-ccm-01: COSE_Encrypt with a direct recipient.
const ENCRYPT: &str = "D8608443A1010AA1054D89F52F65A1C580933B5261A72F581C6899DA0A132BD2D2B9B10915743EE1F7B92A46802388816C040275EE818340A20125044A6F75722D73656372657440";

fn open_json(key: &str, msg: &str) -> serde_json::Value {
    let o = mote(&["cose", "open", "--key", key, "--json", msg]);
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(&stdout(&o)).unwrap()
}

#[test]
fn open_encrypt0_mac0_sign1_from_the_examples() {
    let v = open_json(KEY_128, ENC0);
    assert_eq!(
        v,
        serde_json::json!({"type": "Encrypt0", "verified": true, "payload": CONTENT_HEX})
    );
    let v = open_json(KEY_256, MAC0);
    assert_eq!(
        v,
        serde_json::json!({"type": "Mac0", "verified": true, "payload": CONTENT_HEX})
    );
    let v = open_json(KEY_ED, SIGN1_ED);
    assert_eq!(
        v,
        serde_json::json!({"type": "Sign1", "verified": true, "payload": CONTENT_HEX})
    );
    let v = open_json(KEY_ES_PUB, SIGN1_ES);
    assert_eq!(
        v,
        serde_json::json!({"type": "Sign1", "verified": true, "payload": CONTENT_HEX})
    );
}

#[test]
fn open_encrypt_with_the_recipient_key() {
    let v = open_json(KEY_128, ENCRYPT);
    assert_eq!(
        v,
        serde_json::json!({"type": "Encrypt", "verified": true, "payload": CONTENT_HEX})
    );
}

#[test]
fn failed_check_is_exit_1() {
    // Flip the last byte of the tag.
    let mut bad = ENC0.to_string();
    bad.replace_range(bad.len() - 2.., "EB");
    let o = mote(&["cose", "open", "--key", KEY_128, "--json", &bad]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("error:"));
    // Wrong external AAD.
    let o = mote(&["cose", "open", "--key", KEY_128, "--aad", "00", ENC0]);
    assert_eq!(o.status.code(), Some(1));
    // A signature under another key.
    let o = mote(&["cose", "open", "--key", KEY_ES_PUB, SIGN1_ED]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn seal_is_byte_exact_for_deterministic_algorithms() {
    let o = mote(&[
        "cose",
        "seal",
        "--type",
        "encrypt0",
        "--alg",
        "10",
        "--key",
        KEY_128,
        "--iv",
        "89F52F65A1C580933B5261A72F",
        "--payload",
        CONTENT_HEX,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(stdout(&o), ENC0.to_lowercase());
    let o = mote(&[
        "cose",
        "seal",
        "--type",
        "mac0",
        "--alg",
        "5",
        "--key",
        KEY_256,
        "--payload",
        CONTENT_HEX,
    ]);
    assert_eq!(stdout(&o), MAC0.to_lowercase());
}

#[test]
fn seal_then_open_round_trips() {
    for (kind, alg, key, open_key) in [
        ("encrypt0", "10", KEY_128, KEY_128),
        ("encrypt0", "1", KEY_128, KEY_128),
        ("mac0", "4", KEY_256, KEY_256),
        ("sign1", "-8", KEY_ED, KEY_ED),
        ("sign1", "-7", KEY_ES_PRIV, KEY_ES_PUB),
    ] {
        let o = mote(&[
            "cose",
            "seal",
            "--type",
            kind,
            "--alg",
            alg,
            "--key",
            key,
            "--kid",
            "6b6964",
            "--aad",
            "aa",
            "--payload",
            "0102",
        ]);
        assert!(
            o.status.success(),
            "{kind} {alg}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let msg = stdout(&o);
        let o = mote(&[
            "cose", "open", "--key", open_key, "--aad", "aa", "--json", &msg,
        ]);
        assert!(
            o.status.success(),
            "{kind} {alg}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v["payload"], "0102");
        assert_eq!(v["verified"], true);
    }
}

#[test]
fn seal_untagged_and_random_iv() {
    let a = mote(&[
        "cose",
        "seal",
        "--type",
        "encrypt0",
        "--alg",
        "10",
        "--key",
        KEY_128,
        "--untagged",
        "--payload",
        "00",
    ]);
    let b = mote(&[
        "cose",
        "seal",
        "--type",
        "encrypt0",
        "--alg",
        "10",
        "--key",
        KEY_128,
        "--untagged",
        "--payload",
        "00",
    ]);
    let (a, b) = (stdout(&a), stdout(&b));
    assert!(a.starts_with("83"), "untagged array: {a}");
    assert_ne!(a, b, "a random IV is drawn each time");
}

#[test]
fn seal_rejects_a_mismatched_algorithm() {
    let o = mote(&[
        "cose",
        "seal",
        "--type",
        "encrypt0",
        "--alg",
        "5",
        "--key",
        KEY_128,
        "--payload",
        "00",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let o = mote(&[
        "cose",
        "seal",
        "--type",
        "encrypt0",
        "--alg",
        "3",
        "--key",
        KEY_128,
        "--payload",
        "00",
    ]);
    assert_eq!(o.status.code(), Some(1), "a 128-bit key for A256GCM");
}

#[test]
fn decode_as_cose_json() {
    let o = mote(&["decode", "--as", "cose", "--json", ENC0]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["type"], "Encrypt0");
    assert_eq!(v["tagged"], true);
    assert_eq!(v["protected"], serde_json::json!({"1": 10}));
    assert_eq!(
        v["unprotected"],
        serde_json::json!({"5": "89f52f65a1c580933b5261a72f"})
    );
    assert_eq!(
        v["ciphertext"],
        "6899da0a132bd2d2b9b10915743ee1f7b92a4680e7c51bdbc1b320ea"
    );

    let o = mote(&["decode", "--as", "cose", "--json", ENCRYPT]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["type"], "Encrypt");
    assert_eq!(
        v["recipients"][0]["unprotected"],
        serde_json::json!({"1": -6, "4": "6f75722d736563726574"})
    );

    let o = mote(&["decode", "--as", "cose", "--json", SIGN1_ED]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["type"], "Sign1");
    assert_eq!(v["protected"], serde_json::json!({"1": -8, "3": 0}));
    assert_eq!(v["payload"], CONTENT_HEX);

    let o = mote(&["decode", "--as", "cose", "D08343A1010A"]);
    assert_eq!(o.status.code(), Some(1), "truncated input is rejected");
}

#[test]
fn open_with_a_detached_payload() {
    // HMac-enc-01 with its payload replaced by nil (RFC 9052 §6.2 detached content).
    let detached =
        "D18443A10105A0F65820A1A848D3471F9D61EE49018D244C824772F223AD4F935293F1789FC3A08D8C58";
    let o = mote(&[
        "cose",
        "open",
        "--key",
        KEY_256,
        "--detached-payload",
        CONTENT_HEX,
        "--json",
        detached,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["payload"], CONTENT_HEX);
    // Without it, or with another payload, the check fails.
    assert_eq!(
        mote(&["cose", "open", "--key", KEY_256, detached])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        mote(&[
            "cose",
            "open",
            "--key",
            KEY_256,
            "--detached-payload",
            "00",
            detached
        ])
        .status
        .code(),
        Some(1)
    );
}
