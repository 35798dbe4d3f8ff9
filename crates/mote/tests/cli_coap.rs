//! `mote coap` against `mote serve` and against a hand-written misbehaving server:
//!
//! - the plugtest flags: `--if-none-match` and `--if-match` (RFC 7252 §5.10.8) give 4.12
//!   Precondition Failed printed as JSON; `--option NUMBER=VALUE` takes the registry's format
//!   (a uint for Accept, a string for Uri-Path, hex for an unknown number, RFC 7252 §3.2);
//! - with `--json` an unprotected error answer to a protected request (RFC 8613 §8.2) is
//!   printed in the JSON shape, with its code and diagnostic, and the exit status is 1;
//! - a server answering every Block2 request with M=1 and an empty payload (RFC 7959 §2.2
//!   forbids it) makes `mote coap` give up at once, exit 1, after a bounded number of requests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{mote, start};
use mote_coap::block::{BlockValue, Szx};
use mote_coap::code::{Code, MessageType};
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;

/// A `mote serve` on an ephemeral UDP port: the child (stopped on drop) and the port.
fn serve(extra: &[&str]) -> (common::Proc, u16) {
    let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--print-port"];
    args.extend_from_slice(extra);
    let (child, ports) = start(&args, 1);
    (child, ports[0])
}

/// `mote coap ARGS… --json --timeout 10`: (exit code, the JSON printed, stderr).
fn coap(args: &[&str]) -> (Option<i32>, Option<serde_json::Value>, String) {
    let mut all = vec!["coap"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--json", "--timeout", "10"]);
    let o = mote(&all);
    let stdout = String::from_utf8(o.stdout).unwrap();
    let json = (!stdout.trim().is_empty()).then(|| serde_json::from_str(stdout.trim()).unwrap());
    (
        o.status.code(),
        json,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn payload(v: &serde_json::Value) -> Vec<u8> {
    hex::decode(v["payload"].as_str().unwrap()).unwrap()
}

#[test]
fn if_none_match_and_if_match_give_4_12_as_json() {
    let (_s, port) = serve(&[]);
    let lifetime = format!("coap://127.0.0.1:{port}/1/0/1");
    // The Lifetime resource exists: If-None-Match fails (RFC 7252 §5.10.8.2) and nothing is
    // written.
    let (code, json, err) = coap(&["put", &lifetime, "--payload", "300", "--if-none-match"]);
    let json = json.unwrap_or_else(|| panic!("no JSON: {err}"));
    assert_eq!(json["code"], "4.12", "{json}");
    assert_eq!(code, Some(1), "a 4.xx response is exit 1 (docs/cli.md)");
    let (_, json, _) = coap(&["get", &lifetime]);
    assert_eq!(payload(&json.unwrap()), b"86400");
    // If-Match with an ETag the resource does not have fails too (§5.10.8.1)…
    let (_, json, _) = coap(&["put", &lifetime, "--payload", "300", "--if-match", "c0ffee"]);
    assert_eq!(json.unwrap()["code"], "4.12");
    // …and the empty If-Match ("it exists") succeeds.
    let (_, json, _) = coap(&["put", &lifetime, "--payload", "300", "--if-match", ""]);
    assert_eq!(json.unwrap()["code"], "2.04");
    let (_, json, _) = coap(&["get", &lifetime]);
    assert_eq!(payload(&json.unwrap()), b"300");
}

#[test]
fn option_values_take_the_registry_format() {
    let (_s, port) = serve(&[]);
    let server = format!("coap://127.0.0.1:{port}/1/0");
    // Uri-Path (11) is a string: the last segment; Accept (17) a uint: CBOR (60).
    let (code, json, err) = coap(&["get", &server, "--option", "11=1", "--option", "17=60"]);
    assert_eq!(code, Some(0), "{err}");
    let json = json.unwrap();
    assert_eq!(json["code"], "2.05");
    let cf: Vec<u64> = json["options"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["number"] == 12)
        .map(|o| o["value"].as_u64().unwrap())
        .collect();
    assert_eq!(cf, [60]);
    assert_eq!(payload(&json), [0x1a, 0x00, 0x01, 0x51, 0x80]); // 86400 in CBOR
    // A value not in the option's format is a usage error before anything is sent.
    let (code, json, err) = coap(&["get", &server, "--option", "17=cbor"]);
    assert_eq!((code, json), (Some(1), None));
    assert!(err.contains("uint"), "{err}");
}

#[test]
fn an_unknown_critical_option_is_sent_and_refused_by_mote_serve() {
    let (_s, port) = serve(&[]);
    // An unknown critical option (odd number, given as hex) is refused by the server with
    // 4.02 Bad Option (RFC 7252 §5.4.1): it was sent.
    let uri = format!("coap://127.0.0.1:{port}/1/0/1");
    let (code, json, _) = coap(&["get", &uri, "--option", "65001=0a0b"]);
    assert_eq!(
        (code, json.unwrap()["code"].clone()),
        (Some(1), "4.02".into())
    );
}

/// The flags on the wire, seen by a hand-written server: every option in its format and
/// order (RFC 7252 §3.1), repeated ones kept.
#[test]
fn the_plugtest_flags_are_sent_as_options() {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let port = sock.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        let (n, from) = sock.recv_from(&mut buf).unwrap();
        let req = Message::decode(&buf[..n]).unwrap().to_owned();
        let reply = OwnedMessage::new(MessageType::Ack, Code::PRECONDITION_FAILED, req.message_id)
            .with_token(req.token.clone())
            .with_payload("no");
        sock.send_to(&reply.to_vec().unwrap(), from).unwrap();
        req
    });
    let (code, json, err) = coap(&[
        "put",
        &format!("coap://127.0.0.1:{port}/a"),
        "--if-match",
        "C0:FF:EE",
        "--if-match",
        "",
        "--if-none-match",
        "--option",
        "17=60",
        "--option",
        "11=b",
        "--option",
        "65001=0a0b",
        "--option",
        "258=26",
    ]);
    let req = server.join().unwrap();
    let options: Vec<(u16, Vec<u8>)> = req
        .options
        .iter()
        .map(|o| (o.number.0, o.value.to_vec()))
        .collect();
    assert_eq!(
        options,
        [
            (1, vec![0xc0, 0xff, 0xee]),
            (1, vec![]),
            (5, vec![]),
            (11, b"a".to_vec()),
            (11, b"b".to_vec()),
            (17, vec![60]),
            (258, vec![26]),
            (65001, vec![0x0a, 0x0b]),
        ]
    );
    // The 4.12 is printed as JSON, and the exit status is 1.
    assert_eq!(code, Some(1), "{err}");
    let json = json.unwrap();
    assert_eq!(json["code"], "4.12");
    assert_eq!(payload(&json), b"no");
}

#[test]
fn an_unprotected_error_answer_is_printed_as_json_and_fails() {
    let dir = std::env::temp_dir().join(format!("mote-cli-coap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let server = dir.join("server.json");
    let stranger = dir.join("stranger.json");
    let secret = "0102030405060708090a0b0c0d0e0f10";
    common::write_private(
        &server,
        format!(r#"{{"master_secret":"{secret}","sender_id":"01","recipient_id":"00"}}"#),
    )
    .unwrap();
    common::write_private(
        &stranger,
        format!(r#"{{"master_secret":"{secret}","sender_id":"77","recipient_id":"01"}}"#),
    )
    .unwrap();
    let (_s, port) = serve(&["--oscore", server.to_str().unwrap()]);
    let (code, json, err) = coap(&[
        "get",
        &format!("coap://127.0.0.1:{port}/3/0/0"),
        "--oscore",
        stranger.to_str().unwrap(),
    ]);
    // RFC 8613 §8.2: an unknown kid is answered 4.01 "Security context not found",
    // unprotected.
    assert_eq!(code, Some(1), "{err}");
    let json = json.unwrap_or_else(|| panic!("no JSON: {err}"));
    assert_eq!(json["code"], "4.01");
    assert_eq!(payload(&json), b"Security context not found");
    assert!(err.contains("unprotected 4.01 response"), "{err}");
}

/// A plain `mote serve` (no OSCORE context) does not process the OSCORE option, which is
/// critical (RFC 8613 §2): an OSCORE request is answered 4.02 Bad Option (RFC 7252 §5.4.1),
/// unprotected; `mote coap` prints it as JSON and exits 1.
#[test]
fn an_oscore_request_to_a_plain_server_gets_bad_option() {
    let dir = std::env::temp_dir().join(format!("mote-cli-coap-plain-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let client = dir.join("client.json");
    common::write_private(
        &client,
        r#"{"master_secret":"0102030405060708090a0b0c0d0e0f10","sender_id":"00","recipient_id":"01"}"#,
    )
    .unwrap();
    let (_s, port) = serve(&[]);
    let (code, json, err) = coap(&[
        "get",
        &format!("coap://127.0.0.1:{port}/3/0/0"),
        "--oscore",
        client.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{err}");
    let json = json.unwrap_or_else(|| panic!("no JSON: {err}"));
    assert_eq!(json["code"], "4.02", "{json}");
    assert!(err.contains("unprotected 4.02 response"), "{err}");
}

/// The port, the request count, the tokens seen, and the stop flag.
type MisbehavingServer = (
    u16,
    Arc<AtomicUsize>,
    Arc<Mutex<Vec<Vec<u8>>>>,
    Arc<AtomicBool>,
);

/// A UDP server that answers every request with 2.05, Block2 `M=1` for the block asked and
/// an empty payload, forever (until `stop`); counts the requests.
fn endless_empty_blocks() -> MisbehavingServer {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let port = sock.local_addr().unwrap().port();
    let requests = Arc::new(AtomicUsize::new(0));
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (r, t, s) = (requests.clone(), tokens.clone(), stop.clone());
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        // Bounded: at most 1000 answers, and the test stops it when done.
        for _ in 0..1000 {
            if s.load(Ordering::SeqCst) {
                return;
            }
            let Ok((n, from)) = sock.recv_from(&mut buf) else {
                continue;
            };
            let Ok(req) = Message::decode(&buf[..n]) else {
                continue;
            };
            if req.mtype() != MessageType::Con || !req.code().is_request() {
                continue;
            }
            r.fetch_add(1, Ordering::SeqCst);
            t.lock().unwrap().push(req.token().to_vec());
            let num = req
                .option(OptionNumber::BLOCK2)
                .and_then(|o| o.as_uint().ok())
                .map_or(0, |v| v >> 4);
            let block = BlockValue::new(num, true, Szx::S64).unwrap();
            let answer = OwnedMessage::new(MessageType::Ack, Code::CONTENT, req.message_id())
                .with_token(req.token())
                .with_uint_option(OptionNumber::BLOCK2, block.to_uint());
            sock.send_to(&answer.to_vec().unwrap(), from).unwrap();
        }
    });
    (port, requests, tokens, stop)
}

#[test]
fn endless_empty_block2_answers_are_refused() {
    let (port, requests, tokens, stop) = endless_empty_blocks();
    let o = mote(&[
        "coap",
        "get",
        &format!("coap://127.0.0.1:{port}/big"),
        "--timeout",
        "20",
    ]);
    stop.store(true, Ordering::SeqCst);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("block-wise"), "{err}");
    // The first answer is already refused (M=1 with a payload that does not fill its block).
    assert_eq!(requests.load(Ordering::SeqCst), 1, "{err}");
    // Tokens come from the OS RNG, the default 8 bytes (not a counter of 4).
    let tokens = tokens.lock().unwrap();
    assert!(tokens.iter().all(|t| t.len() == 8), "{tokens:?}");
}
