//! `mote coap` → `mote proxy` → `mote serve` with OSCORE over loopback UDP: the proxy rewrites
//! Message IDs and Tokens (Class U) and requests still succeed (LightweightM2M-E2E-1/-2/-4 via
//! an intermediate node); as an attacker it tampers (rejected: 4.00 "Decryption failed") or
//! replays with a fresh Message ID and Token (the server's OSCORE replay window answers the
//! copy 4.01 "Replay detected", the client is unaffected) (LightweightM2M-E2E-1, -3).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use common::{mote, ok, start, start_with_output};

fn contexts(tag: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("mote-proxy-oscore-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let s = dir.join("server.json");
    let c = dir.join("client.json");
    let secret = "0102030405060708090a0b0c0d0e0f10";
    common::write_private(
        &s,
        format!(r#"{{"master_secret":"{secret}","sender_id":"01","recipient_id":"00"}}"#),
    )
    .unwrap();
    common::write_private(
        &c,
        format!(r#"{{"master_secret":"{secret}","sender_id":"00","recipient_id":"01"}}"#),
    )
    .unwrap();
    (s, c)
}

/// What a test gets: the proxy's URI base, the client context, the server's own URI base
/// (bypassing the proxy) and the proxy's `--json` event lines.
struct Setup {
    base: String,
    ctx: String,
    server: String,
    events: Receiver<String>,
}

fn with_proxy(tag: &str, proxy_flags: &[&str], check: impl FnOnce(&Setup)) {
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
        "--json",
        "--to",
        &to,
    ];
    args.extend_from_slice(proxy_flags);
    let (_proxy, pport, events) = start_with_output(&args, 1);
    check(&Setup {
        base: format!("coap://127.0.0.1:{}", pport[0]),
        ctx: c.to_str().unwrap().to_owned(),
        server: format!("coap://{to}"),
        events,
    });
}

#[test]
fn e2e_requests_through_an_oscore_unaware_proxy() {
    with_proxy("plain", &[], |t| {
        let (base, ctx) = (t.base.as_str(), t.ctx.as_str());
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
    with_proxy("tamper", &["--tamper"], |t| {
        let (base, ctx) = (t.base.as_str(), t.ctx.as_str());
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
    // LightweightM2M-E2E-3: the proxy sends every request again 50 ms later with a Message ID
    // and Token of its own, so CoAP deduplication (RFC 7252 §4.5) does not recognize the copy;
    // the server's OSCORE replay window must (RFC 8613 §7.4): each copy is answered 4.01
    // "Replay detected" (the proxy reports the answer, it does not forward it), the client's
    // own request succeeds, and the resource holds the last value written.
    with_proxy("replay", &["--replay"], |t| {
        // The server starts without a replay window (RFC 8613 App. B.1.2): a first request
        // straight to the server sets it up, so that no copy meets the Echo exchange.
        ok(&[
            "coap",
            "get",
            &format!("{}/3/0/0", t.server),
            "--oscore",
            &t.ctx,
        ]);
        for payload in ["a", "b"] {
            ok(&[
                "coap",
                "put",
                &format!("{}/data/x", t.base),
                "--oscore",
                &t.ctx,
                "--payload",
                payload,
            ]);
            assert_copy_refused(&t.events);
        }
        let o = ok(&[
            "coap",
            "get",
            &format!("{}/data/x", t.base),
            "--oscore",
            &t.ctx,
        ]);
        assert_eq!(o.trim(), "b");
    });
}

/// The next `--json` event of the proxy is the server's answer to a replayed copy: 4.01
/// "Replay detected" (RFC 8613 §7.4, §8.2: an unprotected error response).
fn assert_copy_refused(events: &Receiver<String>) {
    let line = events
        .recv_timeout(Duration::from_secs(10))
        .expect("no answer to the replayed copy");
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["event"], "replay-response", "{line}");
    assert_eq!(v["code"], "4.01", "{line}");
    assert_eq!(v["code_name"], "Unauthorized", "{line}");
    assert_eq!(v["payload"], hex::encode("Replay detected"), "{line}");
}
