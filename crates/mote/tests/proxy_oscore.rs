//! `mote coap` → `mote proxy` → `mote serve` with OSCORE over loopback UDP: the proxy rewrites
//! Message IDs and Tokens (Class U) and requests still succeed (LightweightM2M-E2E-1/-2/-4 via
//! an intermediate node); as an attacker it tampers (rejected: 4.00 "Decryption failed") or
//! replays (the copy is rejected, the client is unaffected) (LightweightM2M-E2E-1, -3).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::PathBuf;

use common::{mote, start};

fn contexts(tag: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("mote-proxy-oscore-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let s = dir.join("server.json");
    let c = dir.join("client.json");
    let secret = "0102030405060708090a0b0c0d0e0f10";
    std::fs::write(
        &s,
        format!(r#"{{"master_secret":"{secret}","sender_id":"01","recipient_id":"00"}}"#),
    )
    .unwrap();
    std::fs::write(
        &c,
        format!(r#"{{"master_secret":"{secret}","sender_id":"00","recipient_id":"01"}}"#),
    )
    .unwrap();
    (s, c)
}

fn with_proxy(tag: &str, proxy_flags: &[&str], check: impl FnOnce(&str, &str)) {
    let (s, c) = contexts(tag);
    let (_server, sport) = start(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--print-port",
            "--notify-ms",
            "100",
            "--oscore",
            s.to_str().unwrap(),
        ],
        1,
    );
    let to = format!("127.0.0.1:{}", sport[0]);
    let mut args = vec![
        "proxy",
        "--listen",
        "127.0.0.1:0",
        "--print-port",
        "--to",
        &to,
    ];
    args.extend_from_slice(proxy_flags);
    let (_proxy, pport) = start(&args, 1);
    check(
        &format!("coap://127.0.0.1:{}", pport[0]),
        c.to_str().unwrap(),
    );
}

#[test]
fn e2e_requests_through_an_oscore_unaware_proxy() {
    with_proxy("plain", &[], |base, ctx| {
        let o = mote(&["coap", "get", &format!("{base}/3/0/0"), "--oscore", ctx]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "Mote");
        let o = mote(&[
            "coap",
            "get",
            &format!("{base}/19/0/0/0"),
            "--oscore",
            ctx,
            "--block-size",
            "256",
            "--json",
        ]);
        assert!(o.status.success());
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["payload"].as_str().unwrap().len(), 2 * 4096);
        let o = mote(&[
            "coap",
            "get",
            &format!("{base}/3/0/13"),
            "--oscore",
            ctx,
            "--observe",
            "--count",
            "3",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 3);
    });
}

#[test]
fn e2e_tampering_proxy_is_detected() {
    with_proxy("tamper", &["--tamper"], |base, ctx| {
        let o = mote(&[
            "coap",
            "put",
            &format!("{base}/data/x"),
            "--oscore",
            ctx,
            "--payload",
            "on",
            "--timeout",
            "10",
        ]);
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("4.00") && err.contains("Decryption failed"),
            "{err}"
        );
    });
}

#[test]
fn e2e_replaying_proxy_is_harmless() {
    with_proxy("replay", &["--replay"], |base, ctx| {
        for payload in ["a", "b"] {
            let o = mote(&[
                "coap",
                "put",
                &format!("{base}/data/x"),
                "--oscore",
                ctx,
                "--payload",
                payload,
            ]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let o = mote(&["coap", "get", &format!("{base}/data/x"), "--oscore", ctx]);
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "b");
    });
}
