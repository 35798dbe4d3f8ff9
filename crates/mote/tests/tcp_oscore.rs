//! CoAP over TCP (RFC 8323) on real loopback sockets, with and without OSCORE:
//!
//! - `mote coap coap+tcp://…` ↔ `mote serve --listen coap+tcp://…` (CSM exchange, GET, PUT,
//!   Block2, Block1, Observe), in the clear and with OSCORE (Framing::Tcp; the first request
//!   goes through the App. B.1.2 Echo exchange since the server starts without a window).
//! - One server listening on UDP and TCP at once, OSCORE state shared across them.
//! - LightweightM2M-E2E-1, -2, -4 through an OSCORE-unaware intermediary that changes the
//!   transport: `mote coap` over UDP → `mote proxy --tcp-upstream` → `mote serve` over TCP.
//!   The proxy rewrites Token, type and Message ID and converts the framing; requests still
//!   succeed. LightweightM2M-E2E-1, -4: with `--tamper` the request is rejected (4.00
//!   "Decryption failed"); LightweightM2M-E2E-3: with `--replay` the copy (fresh Token) is
//!   answered 4.01 "Replay detected" by the server's replay window and nothing changes.
//! - The other direction and the last combination: `mote coap coap+tcp://…` →
//!   `mote proxy --listen coap+tcp://…` → `mote serve` over UDP (the proxy retransmits over
//!   the UDP hop) and over TCP, with OSCORE end to end.
//! - RFC 8613 §8.2: an unknown 'kid' is answered 4.01 "Security context not found" on both
//!   transports.

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

fn contexts(tag: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("mote-tcp-oscore-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let s = dir.join("server.json");
    let c = dir.join("client.json");
    // RFC 8613 Appendix C.1 / C.2 style context (Master Secret of C.1, IDs of C.2).
    let secret = "0102030405060708090a0b0c0d0e0f10";
    common::write_private(
        &s,
        format!(r#"{{"master_secret":"{secret}","master_salt":"9e7ca92223786340","sender_id":"01","recipient_id":"00"}}"#),
    )
    .unwrap();
    common::write_private(
        &c,
        format!(r#"{{"master_secret":"{secret}","master_salt":"9e7ca92223786340","sender_id":"00","recipient_id":"01"}}"#),
    )
    .unwrap();
    let fw = dir.join("fw.bin");
    std::fs::write(&fw, firmware()).unwrap();
    (s, c, fw)
}

fn firmware() -> Vec<u8> {
    (0..3000u32).map(|i| (i % 251) as u8).collect()
}

fn big() -> Vec<u8> {
    (0..4096u32).map(|i| ((i * 31) >> 3) as u8).collect()
}

/// The exchanges every transport combination must pass; `extra` is `--oscore FILE` or
/// nothing.
fn exchanges(base: &str, extra: &[&str], fw: &str) {
    let with = |args: &[&str]| {
        let mut v: Vec<&str> = args.to_vec();
        v.extend_from_slice(extra);
        v.extend_from_slice(&["--timeout", "10"]);
        ok(&v)
    };
    // Read.
    assert_eq!(
        with(&["coap", "get", &format!("{base}/3/0/0")]).trim(),
        "Mote"
    );
    // Read of an instance as SenML-JSON.
    let senml = with(&["coap", "get", &format!("{base}/3/0"), "--accept", "110"]);
    assert!(senml.contains(r#""vs":"Mote""#), "{senml}");
    // Write, read back.
    with(&["coap", "put", &format!("{base}/1/0/1"), "--payload", "120"]);
    assert_eq!(
        with(&["coap", "get", &format!("{base}/1/0/1")]).trim(),
        "120"
    );
    // Block2 download in 128-byte blocks.
    let o = with(&[
        "coap",
        "get",
        &format!("{base}/19/0/0/0"),
        "--block-size",
        "128",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&o).unwrap();
    assert_eq!(v["code"], "2.05");
    assert_eq!(v["payload"].as_str().unwrap(), hex::encode(big()));
    // Block1 firmware upload; State becomes Downloaded.
    with(&[
        "coap",
        "put",
        &format!("{base}/5/0/0"),
        "--payload-file",
        fw,
        "--content-format",
        "42",
        "--block-size",
        "512",
    ]);
    assert_eq!(with(&["coap", "get", &format!("{base}/5/0/3")]).trim(), "2");
    // Observe: the registration response and two notifications.
    let notes = with(&[
        "coap",
        "get",
        &format!("{base}/3/0/13"),
        "--observe",
        "--count",
        "3",
    ]);
    assert_eq!(notes.lines().count(), 3, "{notes}");
    for l in notes.lines() {
        assert!(l.parse::<i64>().unwrap() > 1_600_000_000, "{l}");
    }
}

#[test]
fn tcp_client_and_server_in_the_clear() {
    let (_, _, fw) = contexts("clear");
    let (_server, ports) = start(
        &[
            "serve",
            "--listen",
            "coap+tcp://127.0.0.1:0",
            "--print-port",
            "--notify-ms",
            "100",
        ],
        1,
    );
    let base = format!("coap+tcp://127.0.0.1:{}", ports[0]);
    exchanges(&base, &[], fw.to_str().unwrap());
    // The --json output over TCP has the coap-tcp shape: no type, no Message ID.
    let o = ok(&["coap", "get", &format!("{base}/3/0/0"), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&o).unwrap();
    assert!(
        v.get("type").is_none() && v.get("message_id").is_none(),
        "{v}"
    );
    assert_eq!(v["payload"], hex::encode("Mote"));
}

#[test]
fn tcp_client_and_server_with_oscore() {
    let (s, c, fw) = contexts("oscore");
    let (_server, ports) = start(
        &[
            "serve",
            "--listen",
            "coap+tcp://127.0.0.1:0",
            "--print-port",
            "--notify-ms",
            "100",
            "--oscore",
            s.to_str().unwrap(),
        ],
        1,
    );
    let base = format!("coap+tcp://127.0.0.1:{}", ports[0]);
    exchanges(
        &base,
        &["--oscore", c.to_str().unwrap()],
        fw.to_str().unwrap(),
    );
    // Without OSCORE the server refuses: the 4.01 is printed, and the exit status is 1.
    let o = mote(&["coap", "get", &format!("{base}/3/0/0")]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "4.01 OSCORE required"
    );
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn one_server_on_udp_and_tcp_shares_its_oscore_context() {
    let (s, c, _) = contexts("both");
    let (_server, ports) = start(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--listen",
            "coap+tcp://127.0.0.1:0",
            "--print-port",
            "--oscore",
            s.to_str().unwrap(),
        ],
        2,
    );
    let c = c.to_str().unwrap();
    // Alternate transports with one client context: one sequence-number space, one replay
    // window at the server.
    for round in 0..3 {
        for uri in [
            format!("coap://127.0.0.1:{}/1/0/1", ports[0]),
            format!("coap+tcp://127.0.0.1:{}/1/0/1", ports[1]),
        ] {
            let value = format!("{}", 100 + round);
            ok(&["coap", "put", &uri, "--payload", &value, "--oscore", c]);
            assert_eq!(ok(&["coap", "get", &uri, "--oscore", c]).trim(), value);
        }
    }
}

/// What a bridge test gets: the proxy's URI base, the client context, the firmware file, the
/// server's own URI base (bypassing the proxy) and the proxy's `--json` event lines.
struct Bridge {
    base: String,
    ctx: String,
    fw: String,
    server: String,
    events: Receiver<String>,
}

/// `mote serve` with OSCORE on UDP or TCP (`server_tcp`), `mote proxy` in front of it
/// listening on UDP or TCP (`client_tcp`).
fn with_proxy(
    tag: &str,
    client_tcp: bool,
    server_tcp: bool,
    proxy_flags: &[&str],
    check: impl FnOnce(&Bridge),
) {
    let (s, c, fw) = contexts(tag);
    let scheme = |tcp: bool| if tcp { "coap+tcp" } else { "coap" };
    let listen = format!("{}://127.0.0.1:0", scheme(server_tcp));
    let (_server, sports) = start(
        &[
            "serve",
            "--listen",
            &listen,
            "--print-port",
            "--notify-ms",
            "100",
            "--oscore",
            s.to_str().unwrap(),
        ],
        1,
    );
    let server = format!("{}://127.0.0.1:{}", scheme(server_tcp), sports[0]);
    let proxy_listen = format!("{}://127.0.0.1:0", scheme(client_tcp));
    let mut args = vec![
        "proxy",
        "--listen",
        &proxy_listen,
        "--print-port",
        "--json",
        "--to",
        &server,
    ];
    args.extend_from_slice(proxy_flags);
    let (_proxy, pports, events) = start_with_output(&args, 1);
    check(&Bridge {
        base: format!("{}://127.0.0.1:{}", scheme(client_tcp), pports[0]),
        ctx: c.to_str().unwrap().to_owned(),
        fw: fw.to_str().unwrap().to_owned(),
        server,
        events,
    });
}

/// `mote serve` on TCP with OSCORE, `mote proxy --tcp-upstream` in front of it (UDP side).
fn with_bridge(tag: &str, proxy_flags: &[&str], check: impl FnOnce(&Bridge)) {
    let mut flags = vec!["--tcp-upstream"];
    flags.extend_from_slice(proxy_flags);
    // `--to` is given as coap+tcp:// as well; --tcp-upstream is the older spelling.
    with_proxy(tag, false, true, &flags, check);
}

#[test]
fn e2e_1_2_4_udp_client_through_bridging_proxy_to_tcp_server() {
    // LightweightM2M-E2E-1 (integrity), -2 (confidentiality), -4 (authentication) via an
    // intermediary that changes Class U parts and the framing (UDP → TCP).
    with_bridge("bridge", &[], |t| {
        exchanges(&t.base, &["--oscore", &t.ctx], &t.fw);
    });
}

#[test]
fn e2e_1_4_tampering_bridging_proxy_is_detected() {
    // LightweightM2M-E2E-1, -4: a modified protected request is rejected by the server.
    with_bridge("tamper", &["--tamper"], |t| {
        let (base, ctx) = (t.base.as_str(), t.ctx.as_str());
        let o = mote(&[
            "coap",
            "put",
            &format!("{base}/1/0/1"),
            "--oscore",
            ctx,
            "--payload",
            "5",
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
fn e2e_3_replaying_bridging_proxy_is_harmless() {
    // LightweightM2M-E2E-3: the proxy sends each protected Write again 50 ms later with a
    // Token of its own, so only the server's OSCORE replay window (RFC 8613 §7.4) can tell it
    // from a new request. Each copy is answered 4.01 "Replay detected" (the proxy reports the
    // answer on its --json event stream and forwards nothing), and "8" stays.
    with_bridge("replay", &["--replay"], |t| {
        // A first request straight to the server sets up its replay window (App. B.1.2).
        ok(&[
            "coap",
            "get",
            &format!("{}/3/0/0", t.server),
            "--oscore",
            &t.ctx,
        ]);
        for value in ["7", "8"] {
            ok(&[
                "coap",
                "put",
                &format!("{}/1/0/1", t.base),
                "--oscore",
                &t.ctx,
                "--payload",
                value,
            ]);
            let line = t
                .events
                .recv_timeout(Duration::from_secs(10))
                .expect("no answer to the replayed copy");
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(v["event"], "replay-response", "{line}");
            assert_eq!(v["code"], "4.01", "{line}");
            assert_eq!(v["payload"], hex::encode("Replay detected"), "{line}");
        }
        assert_eq!(
            ok(&[
                "coap",
                "get",
                &format!("{}/1/0/1", t.base),
                "--oscore",
                &t.ctx
            ])
            .trim(),
            "8"
        );
    });
}

#[test]
fn e2e_1_2_4_tcp_client_through_bridging_proxy_to_udp_server() {
    // LightweightM2M-E2E-1, -2, -4 the other way round: the client speaks CoAP over TCP to the
    // proxy (CSM exchange), the proxy forwards over UDP as CON (new Token and Message ID, its
    // own retransmission and hop-by-hop ACKs); Read, Write, Block2, Block1 and Observe work
    // with OSCORE end to end.
    with_proxy("tcp-udp", true, false, &[], |t| {
        exchanges(&t.base, &["--oscore", &t.ctx], &t.fw);
    });
}

#[test]
fn e2e_1_2_4_tcp_client_through_proxy_to_tcp_server() {
    // The fourth combination: TCP on both sides, two connections, Tokens rewritten.
    with_proxy("tcp-tcp", true, true, &[], |t| {
        exchanges(&t.base, &["--oscore", &t.ctx], &t.fw);
    });
}

#[test]
fn unknown_kid_gets_4_01_security_context_not_found() {
    // RFC 8613 §8.2 step 2: no context for the 'kid' → unprotected 4.01 "Security context not
    // found" (with outer Max-Age 0), over UDP and over TCP.
    let (s, _, _) = contexts("kid");
    let stranger = s.with_file_name("stranger.json");
    common::write_private(
        &stranger,
        r#"{"master_secret":"0102030405060708090a0b0c0d0e0f10","sender_id":"05","recipient_id":"01"}"#,
    )
    .unwrap();
    let (_server, ports) = start(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--listen",
            "coap+tcp://127.0.0.1:0",
            "--print-port",
            "--oscore",
            s.to_str().unwrap(),
        ],
        2,
    );
    for uri in [
        format!("coap://127.0.0.1:{}/3/0/0", ports[0]),
        format!("coap+tcp://127.0.0.1:{}/3/0/0", ports[1]),
    ] {
        let o = mote(&[
            "coap",
            "get",
            &uri,
            "--oscore",
            stranger.to_str().unwrap(),
            "--timeout",
            "10",
        ]);
        assert_eq!(o.status.code(), Some(1), "{uri}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("4.01") && err.contains("Security context not found"),
            "{uri}: {err}"
        );
    }
}
