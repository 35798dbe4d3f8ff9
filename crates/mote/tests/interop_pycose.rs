//! Interop with pycose (PyPI) in the venv of scripts/test.sh (env `MOTE_PYTHON`): for
//! Encrypt0 (AES-CCM-16-64-128, AES-CCM-16-128-128, A128GCM), Mac0 (HMAC 256/64) and Sign1
//! (ES256, EdDSA), pycose opens what `mote cose seal` creates and `mote cose open` opens what
//! pycose creates, with fresh random keys and payloads on every run. ChaCha20/Poly1305 is not
//! in pycose; the COSE WG examples cover it (crates/mote-cose/tests/cose_wg.rs).

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

use mote_cose::algorithm::{SignatureAlgorithm, SigningKey};
use mote_cose::key::{CoseKey, EcY, KeyType, curve};
use rand_core::{OsRng, RngCore};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/pycose_peer.py")
}

fn run(cmd: &mut Command) -> String {
    let o = cmd.output().expect("spawn");
    assert!(
        o.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

fn random(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    OsRng.fill_bytes(&mut v);
    v
}

/// (type, alg, sealing key, opening key) as COSE_Key hex.
fn keys(kind: &str, alg: i64) -> (String, String) {
    match kind {
        "encrypt0" | "mac0" => {
            let len = match alg {
                4 => 32,
                1 | 10 | 30 => 16,
                _ => 32,
            };
            let k = random(len);
            let hex = hex::encode(CoseKey::symmetric(&k).to_vec());
            (hex.clone(), hex)
        }
        _ => {
            let sa = SignatureAlgorithm::from_id(alg).unwrap();
            let sk = SigningKey::generate(sa, &mut OsRng);
            let c = sk.verifying_key().coordinates();
            let d = match &sk {
                SigningKey::Ed25519(k) => k.to_bytes().to_vec(),
                SigningKey::P256(k) => k.to_bytes().to_vec(),
                _ => unreachable!(),
            };
            let (kty, crv, y) = if sa == SignatureAlgorithm::EdDsa {
                (KeyType::Okp, curve::ED25519, None)
            } else {
                (KeyType::Ec2, curve::P256, c.y().map(EcY::Coordinate))
            };
            let private = CoseKey::curve_key(kty, crv, c.x(), y, Some(&d));
            let public = CoseKey::curve_key(kty, crv, c.x(), y, None);
            (hex::encode(private.to_vec()), hex::encode(public.to_vec()))
        }
    }
}

const CASES: &[(&str, i64)] = &[
    ("encrypt0", 10),
    ("encrypt0", 30),
    ("encrypt0", 1),
    ("mac0", 4),
    ("sign1", -7),
    ("sign1", -8),
];

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn pycose_opens_what_mote_seals() {
    let py = python();
    for &(kind, alg) in CASES {
        let (seal_key, open_key) = keys(kind, alg);
        let payload = hex::encode(random(1 + (OsRng.next_u32() % 200) as usize));
        let aad = hex::encode(random(7));
        let kid = hex::encode(random(3));
        let msg = run(Command::new(env!("CARGO_BIN_EXE_mote")).args([
            "cose",
            "seal",
            "--type",
            kind,
            "--alg",
            &alg.to_string(),
            "--key",
            &seal_key,
            "--kid",
            &kid,
            "--aad",
            &aad,
            "--payload",
            &payload,
        ]));
        let got = run(Command::new(&py)
            .arg(script())
            .args(["open", kind, &open_key, &msg, &aad]));
        assert_eq!(got, payload, "{kind} alg {alg}");
        // A wrong external AAD is rejected by pycose too.
        let o = Command::new(&py)
            .arg(script())
            .args(["open", kind, &open_key, &msg, "00"])
            .output()
            .unwrap();
        assert!(
            !o.status.success(),
            "{kind} alg {alg}: pycose accepted a wrong AAD"
        );
    }
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn mote_opens_what_pycose_seals() {
    let py = python();
    for &(kind, alg) in CASES {
        let (seal_key, open_key) = keys(kind, alg);
        let payload = hex::encode(random(1 + (OsRng.next_u32() % 200) as usize));
        let aad = hex::encode(random(5));
        let kid = hex::encode(random(2));
        let msg = run(Command::new(&py).arg(script()).args([
            "seal",
            kind,
            &alg.to_string(),
            &seal_key,
            &payload,
            &aad,
            &kid,
        ]));
        let out = run(Command::new(env!("CARGO_BIN_EXE_mote")).args([
            "cose", "open", "--key", &open_key, "--aad", &aad, "--json", &msg,
        ]));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["verified"], true);
        assert_eq!(v["payload"], payload, "{kind} alg {alg}");
        // Tampering with the last byte is caught.
        let mut bad = msg.clone();
        let last = u8::from_str_radix(&bad[bad.len() - 2..], 16).unwrap() ^ 1;
        bad.replace_range(bad.len() - 2.., &format!("{last:02x}"));
        let o = Command::new(env!("CARGO_BIN_EXE_mote"))
            .args(["cose", "open", "--key", &open_key, "--aad", &aad, &bad])
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(1),
            "{kind} alg {alg}: tampered message accepted"
        );
    }
}
