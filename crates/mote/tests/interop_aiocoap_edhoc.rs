//! EDHOC interop over real UDP (loopback) with aiocoap 0.4.x, whose EDHOC is lakers-python
//! (PyPI): RFC 9529 Trace 2's credentials by key ID, method 3, cipher suite 2.
//!
//! - aiocoap's Initiator against `mote serve --edhoc`: with the combined EDHOC + OSCORE
//!   request (RFC 9668 §3.2, aiocoap's default) and with message_3 posted to
//!   /.well-known/edhoc, answered with message_4 (RFC 9528 Appendix A.2.1).
//! - `mote coap --edhoc` against aiocoap's Responder: message_1/message_2, then the combined
//!   request, which aiocoap splits and answers under the new OSCORE context.
//!
//! The peer script is `tests/interop/aiocoap_edhoc_peer.py`; the interpreter comes from
//! `MOTE_PYTHON` (set by scripts/test.sh, which creates the venv). A missing peer is a
//! failure, not a skip.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{python, start_command};

fn peer_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/aiocoap_edhoc_peer.py")
}

const CRED_I: &str = "a2027734322d35302d33312d46462d45462d33372d33322d333908a101a5010202412b2001215820ac75e9ece3e50bfc8ed60399889522405c47bf16df96660a41298cb4307f7eb62258206e5de611388a4b8a8211334ac7d37ecb52a387d257e6db3c2a93df21ff3affc8";
const CRED_R: &str = "a2026b6578616d706c652e65647508a101a501020241322001215820bbc34960526ea4d32e940cad2a234148ddc21791a12afbcbac93622046dd44f02258204519e257236b2a0ce2023f0931f1f386ca7afda64fcde0108c224c51eabf6072";
const SK_I: &str = "fb13adeb6518cee5f88417660841142e830a81fe334380a953406a1305e8706b";
const SK_R: &str = "72cc4761dbd4c78f758931aa589d348d1ef874a7e303ede2f140dcf3e6aa4aac";

fn credential_file(name: &str, cred: &str, key: &str, peer: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mote-interop-edhoc-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(name);
    let v = serde_json::json!({
        "methods": [3],
        "suites": [2],
        "credential": {"ccs": cred},
        "private_key": key,
        "peers": [{"ccs": peer}],
    });
    std::fs::write(&p, v.to_string()).unwrap();
    p
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn aiocoap_initiator_against_mote_responder() {
    let server = credential_file("server.json", CRED_R, SK_R, CRED_I);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mote"));
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--print-port",
        "--edhoc",
    ])
    .arg(&server);
    let (_s, ports) = start_command(cmd, 1);
    let port = ports[0];
    for flow in ["combined", "sep"] {
        let o = Command::new(python())
            .arg(peer_script())
            .args(["client", &format!("coap://127.0.0.1:{port}/3/0/0"), flow])
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{flow}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        // 2.05 with "Mote" (/3/0/0, Manufacturer), under the EDHOC-derived OSCORE context.
        assert_eq!(out.trim(), "2.05 4d6f7465", "{flow}");
    }
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn mote_initiator_against_aiocoap_responder() {
    let client = credential_file("client.json", CRED_I, SK_I, CRED_R);
    let mut cmd = Command::new(python());
    cmd.arg(peer_script()).arg("server");
    let (_s, ports) = start_command(cmd, 1);
    let port = ports[0];
    let o = Command::new(env!("CARGO_BIN_EXE_mote"))
        .args([
            "coap",
            "get",
            &format!("coap://127.0.0.1:{port}/3/0/0"),
            "--json",
            "--edhoc",
        ])
        .arg(&client)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["code"], "2.05");
    assert_eq!(v["payload"], hex::encode("aiocoap"));
}
