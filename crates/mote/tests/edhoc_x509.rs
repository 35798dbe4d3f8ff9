//! EDHOC with an X.509 credential sent by value over real loopback sockets: `mote coap --edhoc`
//! (Initiator, method 1: it signs) presents its certificate in 'x5chain' (RFC 9360 §2,
//! RFC 9528 §3.5.3); `mote serve --edhoc` knows no such peer in advance and trusts the
//! certificate only because it chains to its configured trust anchor, checked at the system
//! time. The certificates are mote-edhoc's test PKI (`crates/mote-edhoc/tests/data/x509/`,
//! made by `make.sh` there with `openssl ca`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::{Path, PathBuf};

use common::{json, mote, start};

// RFC 9529 Trace 2's CRED_R (CCS, P-256, kid 0x32) and its private key: the server's identity.
const CRED_R: &str = "a2026b6578616d706c652e65647508a101a501020241322001215820bbc34960526ea4d32e940cad2a234148ddc21791a12afbcbac93622046dd44f02258204519e257236b2a0ce2023f0931f1f386ca7afda64fcde0108c224c51eabf6072";
const SK_R: &str = "72cc4761dbd4c78f758931aa589d348d1ef874a7e303ede2f140dcf3e6aa4aac";

/// A file of the test PKI, as hex.
fn pki(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mote-edhoc/tests/data/x509")
        .join(name);
    let bytes = std::fs::read(&p).unwrap();
    if name.ends_with(".hex") {
        String::from_utf8(bytes).unwrap().trim().to_string()
    } else {
        hex::encode(bytes)
    }
}

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mote-edhoc-x509-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(dir: &Path, name: &str, v: &serde_json::Value) -> String {
    let p = dir.join(name);
    std::fs::write(&p, v.to_string()).unwrap();
    p.to_str().unwrap().to_string()
}

/// The server (method 1, static DH Responder) trusting `root`, and a client presenting
/// `leaf` by value (its key is the one make.sh gave every leaf).
fn files(tag: &str, leaf: &str) -> (PathBuf, String, String) {
    let d = dir(tag);
    let server = write(
        &d,
        "server.json",
        &serde_json::json!({
            "methods": [1],
            "suites": [2],
            "credential": {"ccs": CRED_R},
            "private_key": SK_R,
            "trust_anchors": [pki("root.der")],
        }),
    );
    let client = write(
        &d,
        "client.json",
        &serde_json::json!({
            "methods": [1],
            "suites": [2],
            "credential": {"x509": pki(leaf)},
            "private_key": pki("leaf_root.key.hex"),
            "send": "value",
            "peers": [{"ccs": CRED_R}],
        }),
    );
    (d, server, client)
}

fn serve(server: &str) -> (common::Proc, u16) {
    let (p, ports) = start(
        &[
            "serve",
            "--edhoc",
            server,
            "--print-port",
            "--listen",
            "127.0.0.1:0",
        ],
        1,
    );
    (p, ports[0])
}

#[test]
fn a_certificate_chaining_to_the_trust_anchor_is_accepted() {
    let (_d, server, client) = files("valid", "leaf_root.der");
    let (_s, port) = serve(&server);
    let v = json(&[
        "coap",
        "get",
        &format!("coap://127.0.0.1:{port}/3/0/0"),
        "--edhoc",
        &client,
        "--json",
    ]);
    assert_eq!(v["code"], "2.05");
    assert_eq!(
        String::from_utf8(hex::decode(v["payload"].as_str().unwrap()).unwrap()).unwrap(),
        "Mote"
    );
}

#[test]
fn expired_or_forged_certificates_are_refused() {
    // leaf_expired has the same key and issuer as leaf_root but expired in 2022: refused at
    // the system time. leaf_forged names the root as issuer but an impostor signed it.
    for leaf in ["leaf_expired.der", "leaf_forged.der"] {
        let (_d, server, client) = files(leaf, leaf);
        let (_s, port) = serve(&server);
        let o = mote(&[
            "coap",
            "get",
            &format!("coap://127.0.0.1:{port}/3/0/0"),
            "--edhoc",
            &client,
            "--json",
        ]);
        assert!(!o.status.success(), "{leaf} was accepted");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("unknown credential"), "{leaf}: {err}");
    }
}
