//! Deterministic two-peer harness: an OSCORE client and server in one process, simulated
//! time, and an OSCORE-unaware middlebox between them that forwards (changing Class U parts
//! and the transport framing) or attacks (bit flips, replay, reordering, delay, drop,
//! response swapping).
//!
//! Each test names the LwM2M requirement it proves (LightweightM2M-E2E-n / E2Eo-n, OMA
//! LwM2M 1.1 requirements, Tables 12 and 13); docs/conformance.md lists them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::coap::{self, F, Msg};
use core::time::Duration;
use mote_coap::code::Code;
use mote_oscore::block::{OuterBlock, OuterBlockAssembler, Reassembly};
use mote_oscore::freshness::{self, EchoCache, FreshnessPolicy};
use mote_oscore::rederive::{self, PendingR2, ServerStep};
use mote_oscore::sequence::MemoryStore;
use mote_oscore::{Error, Framing, RequestBinding, SecurityContext, SecurityContextParams};

const SECRET: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
const SALT: [u8; 8] = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
const CLIENT_ID: [u8; 1] = [0x00];
const SERVER_ID: [u8; 1] = [0x01];

const GET: u8 = 0x01;
const PUT: u8 = 0x03;
const CONTENT: u8 = 0x45;
const CHANGED: u8 = 0x44;
const URI_HOST: u16 = 3;
const OBSERVE: u16 = 6;
const URI_PATH: u16 = 11;
const MAX_AGE: u16 = 14;
const BLOCK2: u16 = 23;
const BLOCK1: u16 = 27;
const PROXY_SCHEME: u16 = 39;

fn params<'a>(sender: &'a [u8], recipient: &'a [u8]) -> SecurityContextParams<'a> {
    let mut p = SecurityContextParams::new(&SECRET, sender, recipient);
    p.master_salt = &SALT;
    p
}

fn client() -> SecurityContext {
    SecurityContext::new(&params(&CLIENT_ID, &SERVER_ID)).unwrap()
}

fn server() -> SecurityContext {
    SecurityContext::new(&params(&SERVER_ID, &CLIENT_ID)).unwrap()
}

fn to_framing(f: F) -> Framing {
    match f {
        F::Udp => Framing::Udp,
        F::Tcp => Framing::Tcp,
    }
}

/// The server application: a tiny resource tree.
fn serve(req: &Msg, counter: &mut u32) -> Msg {
    let path: Vec<&[u8]> = req
        .options
        .iter()
        .filter(|o| o.0 == URI_PATH)
        .map(|o| &o.1[..])
        .collect();
    type Reply = (u8, Vec<u8>, Vec<(u16, Vec<u8>)>);
    let (code, payload, extra): Reply = match (req.code, &path[..]) {
        (GET, [b"temp"]) => (CONTENT, b"22.5 C".to_vec(), vec![]),
        (PUT, [b"actuator"]) => {
            *counter += 1;
            (CHANGED, vec![], vec![])
        }
        _ => (0x84, b"not found".to_vec(), vec![]),
    };
    Msg {
        ty: if req.ty == 0 { 2 } else { 1 },
        code,
        mid: req.mid,
        token: req.token.clone(),
        options: extra,
        payload,
    }
}

/// Snapshot of the mutable security state, to prove that rejected messages change nothing.
fn state(ctx: &SecurityContext) -> (u64, mote_oscore::ReplayWindow) {
    (ctx.sender_sequence_number(), ctx.replay_window().clone())
}

/// An OSCORE-unaware forward proxy: changes Message ID, type, token, adds Uri-Host,
/// Proxy-Scheme and an outer Max-Age, and converts between framings.
fn proxy_forward(msg: &[u8], from: F, to: F, new_token: &[u8]) -> Vec<u8> {
    let mut m = coap::parse(from, msg);
    m.mid = m.mid.wrapping_add(0x1234);
    m.ty = 1; // CON → NON
    m.token = new_token.to_vec();
    m.options.retain(|o| o.0 != URI_HOST);
    m.options.push((URI_HOST, b"gateway.example".to_vec()));
    m.options.push((PROXY_SCHEME, b"coap".to_vec()));
    m.options.push((MAX_AGE, vec![0]));
    coap::encode(to, &m)
}

fn request(
    code: u8,
    path: &str,
    token: &[u8],
    extra: &[(u16, Vec<u8>)],
    payload: &[u8],
) -> Vec<u8> {
    let mut opts = vec![(URI_HOST, b"device.example".to_vec())];
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        opts.push((URI_PATH, seg.as_bytes().to_vec()));
    }
    opts.extend_from_slice(extra);
    coap::udp(0, code, 0x4000, token, &opts, payload)
}

/// LightweightM2M-E2E-1, E2E-2, E2E-4, E2E-7, E2E-8, E2E-10, E2Eo-1, E2Eo-2, E2Eo-4:
/// integrity, encryption and authentication through an OSCORE-unaware proxy that rewrites
/// every Class U part and bridges UDP and TCP in both directions.
#[test]
fn e2e_1_2_4_forwarding_proxy_rewrites_class_u_and_framing() {
    for (client_f, server_f) in [
        (F::Udp, F::Udp),
        (F::Udp, F::Tcp),
        (F::Tcp, F::Udp),
        (F::Tcp, F::Tcp),
    ] {
        let mut c = client();
        let mut s = server();
        let mut counter = 0;
        let original = coap::parse(F::Udp, &request(GET, "/temp", b"\x01\x02", &[], b""));
        let original_bytes = coap::encode(client_f, &original);
        let mut wire = [0u8; 512];
        let (n, mut cb) = c
            .protect_request(to_framing(client_f), &original_bytes, &mut wire)
            .unwrap();
        // Encryption (E2E-2): path and code are not visible to the proxy.
        let outer = coap::parse(client_f, &wire[..n]);
        assert_eq!(outer.code, 0x02, "outer code is POST");
        assert!(
            outer.options.iter().all(|o| o.0 != URI_PATH),
            "Uri-Path is inner"
        );
        assert!(!wire[..n].windows(4).any(|w| w == b"temp"));

        let forwarded = proxy_forward(&wire[..n], client_f, server_f, b"\xaa\xbb\xcc");
        let mut plain = [0u8; 512];
        let v = s
            .unprotect_request(to_framing(server_f), &forwarded, &mut plain)
            .unwrap();
        let got = coap::parse(server_f, &plain[..v.len]);
        assert_eq!(got.code, GET);
        let paths: Vec<_> = got.options.iter().filter(|o| o.0 == URI_PATH).collect();
        assert_eq!(paths, vec![&(URI_PATH, b"temp".to_vec())]);
        assert!(
            got.options
                .contains(&(URI_HOST, b"gateway.example".to_vec())),
            "Class U kept"
        );
        assert!(
            !got.options.iter().any(|o| o.0 == MAX_AGE),
            "outer Max-Age discarded"
        );

        let resp = serve(&got, &mut counter);
        let resp_bytes = coap::encode(server_f, &resp);
        let mut binding = v.binding;
        let n = s
            .protect_response(
                to_framing(server_f),
                &mut binding,
                &resp_bytes,
                false,
                &mut wire,
            )
            .unwrap();
        // The proxy maps the response back to the client's token and framing.
        let mut back = coap::parse(server_f, &wire[..n]);
        back.token = original.token.clone();
        back.mid = original.mid;
        back.ty = 2;
        back.options.push((MAX_AGE, vec![0]));
        let back = coap::encode(client_f, &back);
        let m = c
            .unprotect_response(to_framing(client_f), &mut cb, &back, &mut plain)
            .unwrap();
        let r = coap::parse(client_f, &plain[..m]);
        assert_eq!(r.code, CONTENT);
        assert_eq!(r.payload, b"22.5 C");
    }
}

/// LightweightM2M-E2E-1, E2E-4, E2E-7, E2E-10, E2Eo-1, E2Eo-4: an attacker flipping any
/// bit pattern of any byte of a protected request or response never gets a modified
/// protected field accepted; each rejection is a defined error with an unprotected error
/// response, and the receiver's state is unchanged.
#[test]
fn e2e_1_4_every_byte_flip_is_rejected_or_harmless() {
    let mut c = client();
    let mut s = server();
    let req = request(PUT, "/actuator", b"\x07", &[(12, vec![0])], b"on");
    let mut wire = [0u8; 512];
    let (n, cb) = c.protect_request(Framing::Udp, &req, &mut wire).unwrap();
    let protected = wire[..n].to_vec();
    let mut plain = [0u8; 512];
    let before = state(&s);
    let mut rejected = 0;
    for i in 0..protected.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut t = protected.clone();
            t[i] ^= mask;
            match s.unprotect_request(Framing::Udp, &t, &mut plain) {
                Err(e) => {
                    rejected += 1;
                    assert_eq!(state(&s), before, "byte {i} mask {mask:#x}: state changed");
                    // Framing errors are for the CoAP layer; OSCORE errors have a response.
                    if !matches!(e, Error::Malformed(_) | Error::Message(_)) {
                        assert!(
                            e.server_response().is_some(),
                            "byte {i}: {e:?} has no response"
                        );
                    }
                }
                Ok(v) => {
                    // Only Class U parts (header, token, outer Uri-Host) may change.
                    let got = coap::parse(F::Udp, &plain[..v.len]);
                    let want = coap::parse(F::Udp, &req);
                    assert_eq!(got.code, want.code, "byte {i}");
                    assert_eq!(got.payload, want.payload, "byte {i}");
                    let inner = |m: &Msg| {
                        m.options
                            .iter()
                            .filter(|o| o.0 != URI_HOST)
                            .cloned()
                            .collect::<Vec<_>>()
                    };
                    assert_eq!(inner(&got), inner(&want), "byte {i}");
                    // Accepting it consumed the Partial IV: restore a fresh server.
                    s = server();
                }
            }
        }
    }
    assert!(rejected > protected.len(), "most flips must be rejected");
    // Every byte of the OSCORE option value and the ciphertext is protected.
    let ct_start = protected.iter().position(|&b| b == 0xff).unwrap() + 1;
    for i in ct_start..protected.len() {
        let mut t = protected.clone();
        t[i] ^= 0x01;
        assert_eq!(
            s.unprotect_request(Framing::Udp, &t, &mut plain)
                .unwrap_err(),
            Error::DecryptionFailed
        );
    }
    // The genuine request still verifies afterwards: nothing moved the window.
    let v = s
        .unprotect_request(Framing::Udp, &protected, &mut plain)
        .unwrap();

    // Same for the response.
    let mut binding = v.binding;
    let resp = coap::udp(2, CHANGED, 0x4000, b"\x07", &[], b"done");
    let n = s
        .protect_response(Framing::Udp, &mut binding, &resp, false, &mut wire)
        .unwrap();
    let protected = wire[..n].to_vec();
    for i in 0..protected.len() {
        let mut t = protected.clone();
        t[i] ^= 0xff;
        let mut cb2 = cb;
        if let Ok(m) = c.unprotect_response(Framing::Udp, &mut cb2, &t, &mut plain) {
            let got = coap::parse(F::Udp, &plain[..m]);
            assert_eq!(
                (got.code, got.payload.as_slice()),
                (CHANGED, &b"done"[..]),
                "byte {i}"
            );
        } else {
            assert_eq!(cb2, cb, "binding changed on rejection");
        }
    }
    let mut cb = cb;
    c.unprotect_response(Framing::Udp, &mut cb, &protected, &mut plain)
        .unwrap();
}

/// LightweightM2M-E2E-3, E2E-9, E2Eo-3, E2Eo-9: replayed requests are rejected with
/// 4.01 "Replay detected"; reordering within the window is accepted; requests older than
/// the window are rejected.
#[test]
fn e2e_3_replay_and_reordering() {
    let mut c = client();
    let mut s = server();
    let mut plain = [0u8; 512];
    let mut msgs = vec![];
    for i in 0..40u8 {
        let mut wire = [0u8; 256];
        let (n, _) = c
            .protect_request(
                Framing::Udp,
                &request(GET, "/temp", &[i], &[], b""),
                &mut wire,
            )
            .unwrap();
        msgs.push(wire[..n].to_vec());
    }
    // Reordered delivery: 5 before 3 before 4.
    for i in [5usize, 3, 4] {
        s.unprotect_request(Framing::Udp, &msgs[i], &mut plain)
            .unwrap();
    }
    // Replay of 3.
    let before = state(&s);
    let e = s
        .unprotect_request(Framing::Udp, &msgs[3], &mut plain)
        .unwrap_err();
    assert_eq!(e, Error::Replay);
    let resp = e.server_response().unwrap();
    assert_eq!(
        (resp.code, resp.diagnostic),
        (Code::UNAUTHORIZED, "Replay detected")
    );
    assert_eq!(state(&s), before);
    // Jump ahead, then something older than the window (32) is rejected.
    s.unprotect_request(Framing::Udp, &msgs[39], &mut plain)
        .unwrap();
    assert_eq!(
        s.unprotect_request(Framing::Udp, &msgs[6], &mut plain)
            .unwrap_err(),
        Error::Replay
    );
    s.unprotect_request(Framing::Udp, &msgs[8], &mut plain)
        .unwrap();
}

/// LightweightM2M-E2E-5, E2E-11, E2Eo-5, E2Eo-11: responses are bound to their requests.
/// Swapping the responses of two outstanding requests, replaying a response, or
/// delivering a delayed response to a later request all fail, leaving the bindings usable.
#[test]
fn e2e_5_response_binding_swap_replay_delay() {
    let mut c = client();
    let mut s = server();
    let mut counter = 0;
    let mut wire = [0u8; 512];
    let mut plain = [0u8; 512];
    let mut exchanges = vec![];
    for token in [b"\x0a", b"\x0b"] {
        let req = request(GET, "/temp", token, &[], b"");
        let (n, cb) = c.protect_request(Framing::Udp, &req, &mut wire).unwrap();
        let v = s
            .unprotect_request(Framing::Udp, &wire[..n], &mut plain)
            .unwrap();
        let resp = serve(&coap::parse(F::Udp, &plain[..v.len]), &mut counter);
        let mut sb = v.binding;
        let m = s
            .protect_response(
                Framing::Udp,
                &mut sb,
                &coap::encode(F::Udp, &resp),
                false,
                &mut wire,
            )
            .unwrap();
        exchanges.push((cb, wire[..m].to_vec()));
    }
    let (mut b0, r0) = exchanges[0].clone();
    let (mut b1, r1) = exchanges[1].clone();
    // Swap: response 1 for request 0 and vice versa.
    let (s0, s1) = (b0, b1);
    assert_eq!(
        c.unprotect_response(Framing::Udp, &mut b0, &r1, &mut plain)
            .unwrap_err(),
        Error::DecryptionFailed
    );
    assert_eq!(
        c.unprotect_response(Framing::Udp, &mut b1, &r0, &mut plain)
            .unwrap_err(),
        Error::DecryptionFailed
    );
    assert_eq!((b0, b1), (s0, s1));
    // The right ones verify.
    c.unprotect_response(Framing::Udp, &mut b0, &r0, &mut plain)
        .unwrap();
    c.unprotect_response(Framing::Udp, &mut b1, &r1, &mut plain)
        .unwrap();
    // Replay of a response already accepted.
    assert_eq!(
        c.unprotect_response(Framing::Udp, &mut b0, &r0, &mut plain)
            .unwrap_err(),
        Error::Replay
    );
    // Delay: the old response delivered to a new request with the same token.
    let (_, mut b2) = c
        .protect_request(
            Framing::Udp,
            &request(GET, "/temp", b"\x0a", &[], b""),
            &mut wire,
        )
        .unwrap();
    assert_eq!(
        c.unprotect_response(Framing::Udp, &mut b2, &r0, &mut plain)
            .unwrap_err(),
        Error::DecryptionFailed
    );
}

/// Dropped messages: the client simply protects the request again (a new Partial IV) and
/// the server accepts it; the lost Partial IV leaves a gap the window tolerates
/// (LightweightM2M-E2E-3).
#[test]
fn e2e_3_dropped_request_is_resent_with_new_partial_iv() {
    let mut c = client();
    let mut s = server();
    let mut wire = [0u8; 256];
    let mut plain = [0u8; 256];
    let req = request(GET, "/temp", b"\x01", &[], b"");
    let (_dropped, _) = c.protect_request(Framing::Udp, &req, &mut wire).unwrap();
    let (n, _) = c.protect_request(Framing::Udp, &req, &mut wire).unwrap();
    s.unprotect_request(Framing::Udp, &wire[..n], &mut plain)
        .unwrap();
    assert_eq!(s.replay_window().highest(), Some(1));
}

/// LightweightM2M-E2E-6, E2E-12, E2Eo-6, E2Eo-12: the server demands a fresh Echo for
/// actuation (PUT); the client retries with the echoed value; a replay of the retried
/// request and an expired Echo value are both refused.
#[test]
fn e2e_6_echo_freshness_for_actuation() {
    let mut c = client();
    let mut s = server();
    let policy = FreshnessPolicy::UNSAFE_METHODS;
    let mut issuer: EchoCache<4> = EchoCache::new();
    let window = Duration::from_secs(10);
    let mut now = Duration::from_secs(1);
    let mut counter = 0;
    let mut wire = [0u8; 512];
    let mut plain = [0u8; 512];
    let mut inner = [0u8; 512];
    let put = request(PUT, "/actuator", b"\x33", &[], b"on");

    // Attempt 1: no Echo → 4.01 with Echo, protected.
    let (n, mut cb) = c.protect_request(Framing::Udp, &put, &mut wire).unwrap();
    let v = s
        .unprotect_request(Framing::Udp, &wire[..n], &mut plain)
        .unwrap();
    let decrypted = plain[..v.len].to_vec();
    assert_eq!(
        policy.check(Framing::Udp, &decrypted, &mut issuer, now, window),
        Err(Error::EchoRequired)
    );
    assert_eq!(counter, 0, "not actuated");
    let echo = issuer
        .issue(&[0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8], now)
        .unwrap();
    let challenge =
        freshness::echo_challenge_response(Framing::Udp, &decrypted, echo.as_bytes(), &mut inner)
            .unwrap();
    let mut sb = v.binding;
    let m = s
        .protect_response(Framing::Udp, &mut sb, &inner[..challenge], false, &mut wire)
        .unwrap();
    let k = c
        .unprotect_response(Framing::Udp, &mut cb, &wire[..m], &mut plain)
        .unwrap();
    let got = freshness::echo_challenge(Framing::Udp, &plain[..k])
        .unwrap()
        .unwrap()
        .to_vec();
    assert_eq!(got, echo.as_bytes());

    // Attempt 2: with Echo → accepted and actuated.
    now += Duration::from_millis(500);
    let retry_len = freshness::add_echo(Framing::Udp, &put, &got, &mut inner).unwrap();
    let retry = inner[..retry_len].to_vec();
    let (n, _) = c.protect_request(Framing::Udp, &retry, &mut wire).unwrap();
    let protected_retry = wire[..n].to_vec();
    let v = s
        .unprotect_request(Framing::Udp, &protected_retry, &mut plain)
        .unwrap();
    policy
        .check(Framing::Udp, &plain[..v.len], &mut issuer, now, window)
        .unwrap();
    serve(&coap::parse(F::Udp, &plain[..v.len]), &mut counter);
    assert_eq!(counter, 1);

    // The value is spent: a new request (new sequence number) echoing it again is refused.
    let (n, _) = c.protect_request(Framing::Udp, &retry, &mut wire).unwrap();
    let v = s
        .unprotect_request(Framing::Udp, &wire[..n], &mut plain)
        .unwrap();
    assert_eq!(
        policy.check(Framing::Udp, &plain[..v.len], &mut issuer, now, window),
        Err(Error::EchoRequired)
    );

    // A replay of the fresh request is stopped by the replay window.
    assert_eq!(
        s.unprotect_request(Framing::Udp, &protected_retry, &mut plain)
            .unwrap_err(),
        Error::Replay
    );

    // A delayed request whose Echo has expired is refused.
    let echo = issuer.issue(&[9; 8], now).unwrap();
    let l = freshness::add_echo(Framing::Udp, &put, echo.as_bytes(), &mut inner).unwrap();
    let (n, _) = c
        .protect_request(Framing::Udp, &inner[..l], &mut wire)
        .unwrap();
    now += Duration::from_secs(60);
    let v = s
        .unprotect_request(Framing::Udp, &wire[..n], &mut plain)
        .unwrap();
    assert_eq!(
        policy.check(Framing::Udp, &plain[..v.len], &mut issuer, now, window),
        Err(Error::EchoRequired)
    );
    // GET needs no freshness.
    let (n, _) = c
        .protect_request(
            Framing::Udp,
            &request(GET, "/temp", b"\x01", &[], b""),
            &mut wire,
        )
        .unwrap();
    let v = s
        .unprotect_request(Framing::Udp, &wire[..n], &mut plain)
        .unwrap();
    policy
        .check(Framing::Udp, &plain[..v.len], &mut issuer, now, window)
        .unwrap();
}

/// LightweightM2M-E2E-13: secure fragmentation. Inner Block2: each block of a large
/// resource is its own OSCORE exchange and verifies separately; a tampered block is
/// rejected alone. Outer Block1: a proxy fragments an OSCORE request; the server
/// reassembles it (bounded by MAX_UNFRAGMENTED_SIZE) before verifying it.
#[test]
fn e2e_13_inner_and_outer_block_wise() {
    let mut c = client();
    let mut s = server();
    let firmware: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
    let mut wire = [0u8; 2048];
    let mut plain = [0u8; 2048];
    let mut received = vec![];
    let szx = 2u8; // 64-byte blocks
    let mut num = 0u32;
    loop {
        let req = request(
            GET,
            "/fw",
            &[num as u8],
            &[(BLOCK2, vec![((num << 4) | u32::from(szx)) as u8])],
            b"",
        );
        let (n, mut cb) = c.protect_request(Framing::Udp, &req, &mut wire).unwrap();
        let v = s
            .unprotect_request(Framing::Udp, &wire[..n], &mut plain)
            .unwrap();
        let got = coap::parse(F::Udp, &plain[..v.len]);
        let b2 = got.options.iter().find(|o| o.0 == BLOCK2).unwrap().1[0] as u32;
        let n_req = b2 >> 4;
        let start = (n_req * 64) as usize;
        let end = (start + 64).min(firmware.len());
        let more = end < firmware.len();
        let block = vec![(
            BLOCK2,
            vec![((n_req << 4) as u8) | if more { 0x08 } else { 0 } | szx],
        )];
        let resp = coap::udp(2, CONTENT, 1, &[num as u8], &block, &firmware[start..end]);
        let mut sb = v.binding;
        let m = s
            .protect_response(Framing::Udp, &mut sb, &resp, false, &mut wire)
            .unwrap();
        if num == 3 {
            // A tampered block fails alone …
            let mut t = wire[..m].to_vec();
            let last = t.len() - 1;
            t[last] ^= 1;
            let mut cb_t = cb;
            assert_eq!(
                c.unprotect_response(Framing::Udp, &mut cb_t, &t, &mut plain)
                    .unwrap_err(),
                Error::DecryptionFailed
            );
        }
        let k = c
            .unprotect_response(Framing::Udp, &mut cb, &wire[..m], &mut plain)
            .unwrap();
        let r = coap::parse(F::Udp, &plain[..k]);
        received.extend_from_slice(&r.payload);
        if !more {
            break;
        }
        num += 1;
    }
    assert_eq!(received, firmware);

    // Outer Block1 by a proxy: fragment a protected 300-byte upload into 64-byte blocks.
    let upload: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
    let req = request(PUT, "/fw", b"\x55", &[], &upload);
    let (n, _) = c.protect_request(Framing::Udp, &req, &mut wire).unwrap();
    let protected = coap::parse(F::Udp, &wire[..n]);
    let fragments: Vec<Vec<u8>> = protected
        .payload
        .chunks(64)
        .enumerate()
        .map(|(i, chunk)| {
            let more = (i + 1) * 64 < protected.payload.len();
            let mut m = protected.clone();
            m.payload = chunk.to_vec();
            m.options.push((
                BLOCK1,
                vec![((i as u8) << 4) | if more { 0x08 } else { 0 } | szx],
            ));
            coap::encode(F::Udp, &m)
        })
        .collect();
    let mut buf = vec![0u8; 1024 + OuterBlockAssembler::overhead()];
    let mut asm =
        OuterBlockAssembler::new(&mut buf, OuterBlock::Block1, Framing::Udp, 1024).unwrap();
    for (i, f) in fragments.iter().enumerate() {
        let r = asm.feed(f).unwrap();
        assert_eq!(r == Reassembly::Complete, i == fragments.len() - 1);
    }
    let whole = asm.message().unwrap().to_vec();
    assert_eq!(whole, wire[..n].to_vec());
    let v = s
        .unprotect_request(Framing::Udp, &whole, &mut plain)
        .unwrap();
    assert_eq!(coap::parse(F::Udp, &plain[..v.len]).payload, upload);

    // Exceeding MAX_UNFRAGMENTED_SIZE discards the message.
    let mut small = vec![0u8; 128 + OuterBlockAssembler::overhead()];
    let mut asm =
        OuterBlockAssembler::new(&mut small, OuterBlock::Block1, Framing::Udp, 128).unwrap();
    let mut result = Ok(Reassembly::NeedMore);
    for f in &fragments {
        result = asm.feed(f);
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result, Err(Error::TooLarge { max: 128 }));
}

/// Observe through the proxy (RFC 8613 §4.1.3.5, §7.4.1; LightweightM2M-E2E-3/E2E-5 for
/// notifications): notifications carry their own Partial IVs; replayed or older
/// notifications are rejected; a notification for a non-Observe request is rejected.
#[test]
fn observe_notifications_replay_and_order() {
    let mut c = client();
    let mut s = server();
    let mut wire = [0u8; 512];
    let mut plain = [0u8; 512];
    let reg = request(GET, "/temp", b"\x0b", &[(OBSERVE, vec![])], b"");
    let (n, mut cb) = c.protect_request(Framing::Udp, &reg, &mut wire).unwrap();
    let outer = coap::parse(F::Udp, &wire[..n]);
    assert_eq!(outer.code, 0x05, "outer FETCH for Observe");
    assert!(
        outer.options.contains(&(OBSERVE, vec![])),
        "outer Observe for the proxy"
    );
    let v = s
        .unprotect_request(Framing::Udp, &wire[..n], &mut plain)
        .unwrap();
    assert!(v.binding.is_observe());
    let mut sb = v.binding;
    let mut notes = vec![];
    for i in 0..4u8 {
        let resp = coap::udp(
            1,
            CONTENT,
            100 + u16::from(i),
            b"\x0b",
            &[(OBSERVE, vec![i + 1])],
            &[b'0' + i],
        );
        let m = s
            .protect_response(Framing::Udp, &mut sb, &resp, false, &mut wire)
            .unwrap();
        notes.push(wire[..m].to_vec());
    }
    // The first notification reuses the request nonce, the others get Partial IVs.
    assert_eq!(
        mote_oscore::peek_oscore_option(Framing::Udp, &notes[0])
            .unwrap()
            .partial_iv,
        None
    );
    assert!(
        mote_oscore::peek_oscore_option(Framing::Udp, &notes[1])
            .unwrap()
            .partial_iv
            .is_some()
    );
    for i in [0usize, 2] {
        c.unprotect_response(Framing::Udp, &mut cb, &notes[i], &mut plain)
            .unwrap();
    }
    let before = cb;
    // Older (1) and replayed (2, 0) notifications are rejected.
    for i in [1usize, 2, 0] {
        assert_eq!(
            c.unprotect_response(Framing::Udp, &mut cb, &notes[i], &mut plain)
                .unwrap_err(),
            Error::Replay
        );
    }
    assert_eq!(cb, before);
    let k = c
        .unprotect_response(Framing::Udp, &mut cb, &notes[3], &mut plain)
        .unwrap();
    assert_eq!(coap::parse(F::Udp, &plain[..k]).payload, b"3");
    // A notification delivered to a non-Observe request is rejected.
    let (_, mut plain_binding) = c
        .protect_request(
            Framing::Udp,
            &request(GET, "/temp", b"\x0c", &[], b""),
            &mut wire,
        )
        .unwrap();
    assert!(
        c.unprotect_response(Framing::Udp, &mut plain_binding, &notes[3], &mut plain)
            .is_err()
    );
}

/// RFC 8613 Appendix B.1: the client reboots repeatedly with a sequence-number store and
/// never reuses a Partial IV; the server reboots, loses its replay window and
/// re-establishes it with Echo (B.1.2) before accepting requests again
/// (LightweightM2M-E2E-3 across reboots).
#[test]
fn b1_reboots_never_reuse_sequence_numbers_and_echo_restores_window() {
    let mut store = MemoryStore::default();
    let mut used = std::collections::BTreeSet::new();
    for boot in 0..50u64 {
        let mut c =
            SecurityContext::restore(&params(&CLIENT_ID, &SERVER_ID), &mut store, 10, 10, false)
                .unwrap();
        for _ in 0..(boot % 23) {
            let mut wire = [0u8; 256];
            let (_, b) = c
                .protect_request(
                    Framing::Udp,
                    &request(GET, "/temp", b"\x01", &[], b""),
                    &mut wire,
                )
                .unwrap();
            assert!(
                used.insert(b.request_piv().to_vec()),
                "Partial IV reused after boot {boot}"
            );
        }
    }
    assert!(
        store.writes < used.len() as u64,
        "K = 10 writes less than once per message"
    );
    // Store failure stops the message and changes nothing.
    store.fail = true;
    let mut c =
        SecurityContext::restore(&params(&CLIENT_ID, &SERVER_ID), &mut store, 10, 10, false)
            .unwrap();
    let before = c.sender_sequence_number();
    let mut wire = [0u8; 256];
    let r = c.protect_request(Framing::Udp, &request(GET, "/t", b"", &[], b""), &mut wire);
    assert_eq!(r.unwrap_err(), Error::Store);
    assert_eq!(c.sender_sequence_number(), before);

    // B.1.2: server reboot.
    let mut c = client();
    let mut s = SecurityContext::restore(
        &params(&SERVER_ID, &CLIENT_ID),
        MemoryStore::default(),
        10,
        10,
        true,
    )
    .unwrap();
    let mut wire = [0u8; 512];
    let mut plain = [0u8; 512];
    let mut inner = [0u8; 512];
    let get = request(GET, "/temp", b"\x21", &[], b"");
    let (n, mut cb) = c.protect_request(Framing::Udp, &get, &mut wire).unwrap();
    let first = wire[..n].to_vec();
    assert_eq!(
        s.unprotect_request(Framing::Udp, &first, &mut plain)
            .unwrap_err(),
        Error::EchoRequired
    );
    let mut eb = s.echo_binding().unwrap();
    let echo = [0x5a; 8];
    s.issue_replay_echo(&echo).unwrap();
    let l = freshness::echo_challenge_response(Framing::Udp, &get, &echo, &mut inner).unwrap();
    let m = s
        .protect_response(Framing::Udp, &mut eb, &inner[..l], false, &mut wire)
        .unwrap();
    assert!(
        mote_oscore::peek_oscore_option(Framing::Udp, &wire[..m])
            .unwrap()
            .partial_iv
            .is_some(),
        "own Partial IV"
    );
    let k = c
        .unprotect_response(Framing::Udp, &mut cb, &wire[..m], &mut plain)
        .unwrap();
    let got = freshness::echo_challenge(Framing::Udp, &plain[..k])
        .unwrap()
        .unwrap()
        .to_vec();
    // Replaying the first request again still does not pass.
    assert_eq!(
        s.unprotect_request(Framing::Udp, &first, &mut plain)
            .unwrap_err(),
        Error::EchoRequired
    );
    let l = freshness::add_echo(Framing::Udp, &get, &got, &mut inner).unwrap();
    let (n, _) = c
        .protect_request(Framing::Udp, &inner[..l], &mut wire)
        .unwrap();
    s.unprotect_request(Framing::Udp, &wire[..n], &mut plain)
        .unwrap();
    // The window is established: the old request is now a replay.
    assert_eq!(
        s.unprotect_request(Framing::Udp, &first, &mut plain)
            .unwrap_err(),
        Error::Replay
    );
}

/// RFC 8613 Appendix B.2: context re-derivation with R1, R2, R3, both roles.
#[test]
fn b2_context_rederivation_both_roles() {
    let base_c = client();
    let mut base_s = server();
    let mut pending: PendingR2 = PendingR2::default();
    let mut wire = [0u8; 512];
    let mut plain = [0u8; 512];
    let mut inner = [0u8; 512];
    let r1 = [0x11; 8];
    let r2 = [0x22; 8];
    let r3 = [0x33; 8];
    // Step 1: request #1 with ID1 = R1.
    let mut c1 = base_c.rederive(&r1).unwrap();
    let get = request(GET, "/temp", b"\x01", &[], b"");
    let (n, mut cb1) = c1.protect_request(Framing::Udp, &get, &mut wire).unwrap();
    assert_eq!(
        mote_oscore::peek_oscore_option(Framing::Udp, &wire[..n])
            .unwrap()
            .kid_context,
        Some(&r1[..])
    );
    // Step 2: the server does not know ID1.
    assert_eq!(
        base_s
            .unprotect_request(Framing::Udp, &wire[..n], &mut plain)
            .unwrap_err(),
        Error::ContextNotFound
    );
    let step = rederive::server_handle_unknown_context(
        &base_s,
        &mut pending,
        Framing::Udp,
        &wire[..n],
        &r2,
        &mut plain,
    )
    .unwrap();
    let ServerStep::Request1 {
        request,
        context: mut s2,
    } = step
    else {
        panic!("expected request #1")
    };
    let unauthorized = coap::udp(2, 0x81, 0x4000, b"\x01", &[], b"");
    let mut sb = request.binding;
    let m = s2
        .protect_response_with_kid_context(Framing::Udp, &mut sb, &unauthorized, &r2, &mut wire)
        .unwrap();
    inner[..m].copy_from_slice(&wire[..m]);
    // Step 3: the client verifies with R2 || ID1, then derives ID3 = R2 || R3.
    let (k, got_r2) = rederive::client_verify_response_1(
        &base_c,
        &r1,
        &mut cb1,
        Framing::Udp,
        &inner[..m],
        &mut plain,
    )
    .unwrap();
    assert_eq!(coap::parse(F::Udp, &plain[..k]).code, 0x81);
    assert_eq!(got_r2, r2);
    let id3 = rederive::concat_id_context(got_r2, &r3).unwrap();
    let mut c3 = base_c.rederive(id3.as_slice()).unwrap();
    let (n, mut cb3) = c3.protect_request(Framing::Udp, &get, &mut wire).unwrap();
    // Step 4: the server recognizes R2 and adopts ID3.
    let step = rederive::server_handle_unknown_context(
        &base_s,
        &mut pending,
        Framing::Udp,
        &wire[..n],
        &[0x44; 8],
        &mut plain,
    )
    .unwrap();
    let ServerStep::Request2 {
        request,
        context: mut s3,
    } = step
    else {
        panic!("expected request #2")
    };
    let replay = wire[..n].to_vec();
    let resp = coap::udp(2, CONTENT, 0x4000, b"\x01", &[], b"ok");
    let mut sb = request.binding;
    let m = s3
        .protect_response(Framing::Udp, &mut sb, &resp, false, &mut wire)
        .unwrap();
    // Step 5: the client verifies response #2 with the third context.
    let k = c3
        .unprotect_response(Framing::Udp, &mut cb3, &wire[..m], &mut plain)
        .unwrap();
    assert_eq!(coap::parse(F::Udp, &plain[..k]).payload, b"ok");
    // A replayed request #2 is rejected: R2 is forgotten and s3 has seen it.
    assert_eq!(
        s3.unprotect_request(Framing::Udp, &replay, &mut plain)
            .unwrap_err(),
        Error::Replay
    );
    assert!(!pending.matches(id3.as_slice()));
    // s3 replaces the server's context with this client.
    base_s = s3;
    assert_eq!(base_s.id_context(), Some(id3.as_slice()));
}

/// RFC 8613 §7.2.1: the sequence number stops at 2^40 − 1.
#[test]
fn sequence_number_exhaustion_is_an_error() {
    let mut c = client();
    c.set_sender_sequence_number((1 << 40) - 1).unwrap();
    let mut wire = [0u8; 256];
    let (_, b) = c
        .protect_request(Framing::Udp, &request(GET, "/t", b"", &[], b""), &mut wire)
        .unwrap();
    assert_eq!(b.request_piv(), [0xff; 5]);
    assert_eq!(
        c.protect_request(Framing::Udp, &request(GET, "/t", b"", &[], b""), &mut wire)
            .unwrap_err(),
        Error::SequenceNumberExhausted
    );
    assert_eq!(c.sender_sequence_number(), 1 << 40);
}

/// A request and a response binding built from the command-line values (CLI contract).
#[test]
fn binding_from_parts() {
    assert!(RequestBinding::new(&[], &[], false).is_err());
    assert!(RequestBinding::new(&[0; 8], &[1], false).is_err());
}

/// RFC 8613 §8.2 step 2 via mote-coap's decoder: a second OSCORE option, or none at all, is
/// refused before any decryption (both answered with 4.02 "Failed to decode COSE").
#[test]
fn repeated_or_missing_oscore_option() {
    use mote_coap::message::Message;
    use mote_coap::option::OptionNumber;
    let mut c = client();
    let mut s = server();
    let mut wire = [0u8; 512];
    let mut plain = [0u8; 512];
    let get = request(GET, "/temp", b"\x01", &[], b"");
    let (n, _) = c.protect_request(Framing::Udp, &get, &mut wire).unwrap();
    let protected = Message::decode(&wire[..n]).unwrap().to_owned();
    let oscore = protected
        .option(OptionNumber::OSCORE)
        .unwrap()
        .value
        .to_vec();

    let twice = protected
        .clone()
        .with_option(OptionNumber::OSCORE, &oscore)
        .to_vec()
        .unwrap();
    let err = s
        .unprotect_request(Framing::Udp, &twice, &mut plain)
        .unwrap_err();
    // The texts are kept with the `diagnostics` feature only (empty in a device build).
    let text = |t: &'static str| if cfg!(feature = "diagnostics") { t } else { "" };
    assert_eq!(
        err,
        Error::InvalidOscoreOption(text("repeated OSCORE option"))
    );
    assert_eq!(
        err.server_response().map(|r| r.code),
        Some(Code::BAD_OPTION)
    );

    let mut none = protected.clone();
    none.options.remove(OptionNumber::OSCORE);
    let none = none.to_vec().unwrap();
    assert_eq!(
        s.unprotect_request(Framing::Udp, &none, &mut plain),
        Err(Error::NotOscore(text("no OSCORE option")))
    );
    // The original still verifies: nothing above touched the replay window.
    s.unprotect_request(Framing::Udp, &wire[..n], &mut plain)
        .unwrap();
}
