#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a bench aborts on a broken fixture
//! mote-oscore: context derivation, and protect/unprotect of a request and a response with
//! 64-byte and 1-KiB payloads, each beside the raw AES-CCM-16-64-128 seal/open (RustCrypto
//! `ccm` over the encrypt-only `Aes128Enc`, as mote-cose uses it) of the same plaintext and AAD:
//! once with the key expanded beforehand (the primary, stricter anchor: a `SecurityContext`
//! keeps its keys expanded too, so the ratio is the pure OSCORE overhead), once with the AES
//! key schedule per call (the looser anchor, as `Ccm::new_from_slice(key)` + seal is usually
//! called).
//!
//! Target (docs/performance.md): OSCORE ≤ 1.5× the raw AEAD at 64 bytes, ≤ 1.15× at 1 KiB.
//!
//! With `MOTE_BENCH_PAIRED=1` each size also prints an interleaved, paired measurement (the
//! ratio taken within each round) that stays meaningful on a loaded machine; with a filter that
//! matches no benchmark (`-- paired-only`) only that runs.
//!
//! With `OSCORE_CALLGRIND=<op>:<size>:<n>` the binary only builds the fixture and runs `n`
//! calls of one operation inside `measured_loop`, for an instruction count that the machine's
//! load cannot disturb (see [`callgrind_mode`]).

#[path = "common/paired.rs"]
mod paired_timing;
use paired_timing::{paired, paired_enabled};

use std::hint::black_box;

use aes::Aes128Enc;
use ccm::aead::generic_array::GenericArray;
use ccm::aead::{AeadInPlace, KeyInit};
use ccm::consts::{U8, U13};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use mote_oscore::context::derive_keys;
use mote_oscore::cose::{Aad, nonce};
use mote_oscore::{
    AeadAlgorithm, Framing, ReplayWindow, RequestBinding, SecurityContext, SecurityContextParams,
};

// CCM only runs AES forward: the encrypt-only key schedule, as in mote-cose.
type Ccm16_64_128 = ccm::Ccm<Aes128Enc, U8, U13>;

const SECRET: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
const SALT: [u8; 8] = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];

fn params<'a>(s: &'a [u8], r: &'a [u8]) -> SecurityContextParams<'a> {
    let mut p = SecurityContextParams::new(&SECRET, s, r);
    p.master_salt = &SALT;
    p
}

/// A CoAP message (UDP): header, token, Uri-Path "sensor" (requests), payload.
fn message(code: u8, request: bool, payload: &[u8]) -> Vec<u8> {
    let mut m = vec![0x42, code, 0x12, 0x34, 0xaa, 0xbb];
    if request {
        m.push(0xb6);
        m.extend_from_slice(b"sensor");
    }
    m.push(0xff);
    m.extend_from_slice(payload);
    m
}

fn raw_seal(key: &[u8], nonce: &[u8], aad: &[u8], buf: &mut [u8]) -> [u8; 8] {
    raw_seal_with(
        &Ccm16_64_128::new(GenericArray::from_slice(key)),
        nonce,
        aad,
        buf,
    )
}

fn raw_open(key: &[u8], nonce: &[u8], aad: &[u8], buf: &mut [u8], tag: &[u8]) {
    raw_open_with(
        &Ccm16_64_128::new(GenericArray::from_slice(key)),
        nonce,
        aad,
        buf,
        tag,
    )
}

fn raw_seal_with(c: &Ccm16_64_128, nonce: &[u8], aad: &[u8], buf: &mut [u8]) -> [u8; 8] {
    let tag = c
        .encrypt_in_place_detached(GenericArray::from_slice(nonce), aad, buf)
        .unwrap();
    tag.into()
}

fn raw_open_with(c: &Ccm16_64_128, nonce: &[u8], aad: &[u8], buf: &mut [u8], tag: &[u8]) {
    c.decrypt_in_place_detached(
        GenericArray::from_slice(nonce),
        aad,
        buf,
        GenericArray::from_slice(tag),
    )
    .unwrap();
}

fn derivation(c: &mut Criterion) {
    let mut g = c.benchmark_group("oscore/derive");
    g.bench_function("mote-oscore context (HKDF-SHA-256, 3 expansions)", |b| {
        b.iter(|| derive_keys(black_box(&params(&[], &[0x01]))).unwrap())
    });
    g.finish();
}

/// Everything one payload size needs: the messages, both contexts, the raw AEAD inputs.
struct Fixture {
    size: usize,
    request: Vec<u8>,
    response: Vec<u8>,
    client: SecurityContext,
    server: SecurityContext,
    wire: Vec<u8>,
    plain: Vec<u8>,
    key: Vec<u8>,
    expanded: Ccm16_64_128,
    nonce: Vec<u8>,
    aad: Vec<u8>,
    /// The raw AEAD's plaintext: the request's code, Uri-Path, marker and payload.
    pt: Vec<u8>,
    ct: Vec<u8>,
    tag: [u8; 8],
    buf: Vec<u8>,
    /// Protected requests with consecutive Partial IVs 0..REQUESTS (one byte each): verified
    /// in turn, so the replay window advances as in real traffic; it is reset once per lap.
    protected_requests: Vec<Vec<u8>>,
    next_request: usize,
    binding: RequestBinding,
    server_binding: RequestBinding,
    protected_response: Vec<u8>,
}

const REQUESTS: usize = 250;

impl Fixture {
    fn new(size: usize) -> Self {
        let payload: Vec<u8> = (0..size).map(|i| i as u8).collect();
        let request = message(0x02, true, &payload);
        let response = message(0x45, false, &payload);
        let mut client = SecurityContext::new(&params(&[], &[0x01])).unwrap();
        let mut server = SecurityContext::new(&params(&[0x01], &[])).unwrap();
        let mut wire = vec![0u8; 2 * size + 256];
        let mut plain = vec![0u8; 4 * size + 512];

        // Raw AEAD over the same plaintext (code + options + marker + payload) and AAD.
        let key = client.sender_key().expose().to_vec();
        let piv = [0x05];
        let aad = Aad::new(AeadAlgorithm::AesCcm16_64_128, &[], &piv).unwrap();
        let (nb, n) = nonce(client.common_iv(), &[], &piv).unwrap();
        let nonce_bytes = nb[..n].to_vec();
        let mut pt = vec![0x02u8, 0xb6];
        pt.extend_from_slice(b"sensor");
        pt.push(0xff);
        pt.extend_from_slice(&payload);
        let mut ct = pt.clone();
        let tag = raw_seal(&key, &nonce_bytes, aad.as_bytes(), &mut ct);
        let expanded = Ccm16_64_128::new(GenericArray::from_slice(&key));

        let protected_requests: Vec<Vec<u8>> = (0..REQUESTS)
            .map(|_| {
                let (len, _) = client
                    .protect_request(Framing::Udp, &request, &mut wire)
                    .unwrap();
                wire[..len].to_vec()
            })
            .collect();
        let (len, binding) = client
            .protect_request(Framing::Udp, &request, &mut wire)
            .unwrap();
        let last_request = wire[..len].to_vec();
        let verified = server
            .unprotect_request(Framing::Udp, &last_request, &mut plain)
            .unwrap();
        let mut sb = verified.binding;
        let n = server
            .protect_response(Framing::Udp, &mut sb, &response, false, &mut wire)
            .unwrap();
        let protected_response = wire[..n].to_vec();
        server.set_replay_window(ReplayWindow::default());
        Fixture {
            size,
            request,
            response,
            client,
            server,
            wire,
            plain,
            key,
            expanded,
            nonce: nonce_bytes,
            aad: aad.as_bytes().to_vec(),
            buf: pt.clone(),
            pt,
            ct,
            tag,
            protected_requests,
            next_request: 0,
            binding,
            server_binding: verified.binding,
            protected_response,
        }
    }

    /// The sequence number advances every call (its Partial IV grows by a byte at 256 and
    /// 65536): that is the real cost of protecting a request.
    fn protect_request(&mut self) -> usize {
        self.client
            .protect_request(Framing::Udp, black_box(&self.request), &mut self.wire)
            .unwrap()
            .0
    }

    fn unprotect_request(&mut self) -> usize {
        if self.next_request == REQUESTS {
            self.next_request = 0;
            self.server.set_replay_window(ReplayWindow::default());
        }
        let msg = &self.protected_requests[self.next_request];
        self.next_request += 1;
        self.server
            .unprotect_request(Framing::Udp, black_box(msg), &mut self.plain)
            .unwrap()
            .len
    }

    fn protect_response(&mut self) -> usize {
        let mut sb = self.server_binding;
        self.server
            .protect_response(
                Framing::Udp,
                &mut sb,
                black_box(&self.response),
                false,
                &mut self.wire,
            )
            .unwrap()
    }

    fn unprotect_response(&mut self) -> usize {
        let mut cb = self.binding;
        self.client
            .unprotect_response(
                Framing::Udp,
                &mut cb,
                black_box(&self.protected_response),
                &mut self.plain,
            )
            .unwrap()
    }

    /// Raw seal, key expanded once (the primary anchor).
    fn raw_seal_expanded(&mut self) -> [u8; 8] {
        self.buf.copy_from_slice(black_box(&self.pt));
        raw_seal_with(
            black_box(&self.expanded),
            black_box(&self.nonce),
            black_box(&self.aad),
            &mut self.buf,
        )
    }

    /// Raw open, key expanded once (the primary anchor).
    fn raw_open_expanded(&mut self) {
        self.buf.copy_from_slice(black_box(&self.ct));
        raw_open_with(
            black_box(&self.expanded),
            black_box(&self.nonce),
            black_box(&self.aad),
            &mut self.buf,
            black_box(&self.tag),
        );
    }

    /// Raw seal with the AES key schedule per call (the looser anchor).
    fn raw_seal_per_call(&mut self) -> [u8; 8] {
        self.buf.copy_from_slice(black_box(&self.pt));
        // black_box keeps the key schedule inside the loop.
        raw_seal(
            black_box(&self.key),
            black_box(&self.nonce),
            black_box(&self.aad),
            &mut self.buf,
        )
    }

    /// Raw open with the AES key schedule per call (the looser anchor).
    fn raw_open_per_call(&mut self) {
        self.buf.copy_from_slice(black_box(&self.ct));
        raw_open(
            black_box(&self.key),
            black_box(&self.nonce),
            black_box(&self.aad),
            &mut self.buf,
            black_box(&self.tag),
        );
    }

    /// The operation named `op`, resolved once (no string match inside the timed loops).
    fn operation(op: &str) -> fn(&mut Fixture) {
        match op {
            "protect-request" => |f| {
                black_box(f.protect_request());
            },
            "unprotect-request" => |f| {
                black_box(f.unprotect_request());
            },
            "protect-response" => |f| {
                black_box(f.protect_response());
            },
            "unprotect-response" => |f| {
                black_box(f.unprotect_response());
            },
            "raw-seal" => |f| {
                black_box(f.raw_seal_expanded());
            },
            "raw-open" => |f| {
                f.raw_open_expanded();
                black_box(&f.buf);
            },
            "raw-seal-per-call" => |f| {
                black_box(f.raw_seal_per_call());
            },
            "raw-open-per-call" => |f| {
                f.raw_open_per_call();
                black_box(&f.buf);
            },
            other => panic!("unknown operation {other}"),
        }
    }
}

const OPERATIONS: [(&str, &str, &str); 4] = [
    ("protect request", "protect-request", "seal"),
    ("unprotect request", "unprotect-request", "open"),
    ("protect response", "protect-response", "seal"),
    ("unprotect response", "unprotect-response", "open"),
];

fn protect_unprotect(c: &mut Criterion) {
    for size in [64usize, 1024] {
        let mut f = Fixture::new(size);
        let mut g = c.benchmark_group(format!("oscore/{size}B"));
        g.throughput(Throughput::Bytes(size as u64));
        for (name, op) in [
            ("raw ccm seal, key expanded once", "raw-seal"),
            ("raw ccm open, key expanded once", "raw-open"),
            ("raw ccm seal, key schedule per call", "raw-seal-per-call"),
            ("raw ccm open, key schedule per call", "raw-open-per-call"),
        ] {
            let run = Fixture::operation(op);
            g.bench_function(BenchmarkId::new(name, "request"), |b| {
                b.iter(|| run(&mut f))
            });
        }
        for (name, op, _) in OPERATIONS {
            let (verb, what) = name.split_once(' ').unwrap();
            let run = Fixture::operation(op);
            g.bench_function(BenchmarkId::new(format!("mote-oscore {verb}"), what), |b| {
                b.iter(|| run(&mut f))
            });
        }
        g.finish();

        if paired_enabled() {
            paired_size(&mut f);
        }
    }
}

fn paired_size(f: &mut Fixture) {
    let size = f.size;
    let (rounds, iters) = (41, if size > 256 { 500 } else { 2000 });
    let f = std::cell::RefCell::new(f);
    for (name, op, raw) in OPERATIONS {
        let run = Fixture::operation(op);
        let expanded = Fixture::operation(&format!("raw-{raw}"));
        let per_call = Fixture::operation(&format!("raw-{raw}-per-call"));
        paired(
            &format!("{size}B {name}"),
            rounds,
            iters,
            &mut [
                ("mote-oscore", &mut || run(&mut f.borrow_mut())),
                (
                    if raw == "seal" {
                        "raw ccm seal, key expanded once (primary anchor)"
                    } else {
                        "raw ccm open, key expanded once (primary anchor)"
                    },
                    &mut || expanded(&mut f.borrow_mut()),
                ),
                (
                    if raw == "seal" {
                        "raw ccm seal, key schedule per call"
                    } else {
                        "raw ccm open, key schedule per call"
                    },
                    &mut || per_call(&mut f.borrow_mut()),
                ),
            ],
        );
    }
}

/// The loop `OSCORE_CALLGRIND` measures (`--toggle-collect='*measured_loop*'`).
#[inline(never)]
fn measured_loop(f: &mut Fixture, op: fn(&mut Fixture), n: u32) {
    for _ in 0..n {
        black_box(op)(f);
    }
}

/// `OSCORE_CALLGRIND=<op>:<size>:<n>`: build the fixture of `size` bytes (64 or 1024), run `n`
/// calls of `op` (`protect-request`, `unprotect-request`, `protect-response`,
/// `unprotect-response`, or the anchors `raw-seal`, `raw-open` with the key expanded once and
/// `raw-seal-per-call`, `raw-open-per-call`) and exit:
///
/// ```sh
/// OSCORE_CALLGRIND=protect-request:64:10000 valgrind --tool=callgrind \
///     --toggle-collect='*measured_loop*' target/release/deps/oscore-HASH
/// ```
///
/// Instructions per call = (total for n = 11000 − total for n = 1000) ÷ 10000, which removes
/// the loop's fixed entry and exit (docs/performance.md).
fn callgrind_mode(spec: &str) {
    let mut it = spec.split(':');
    let op = it.next().unwrap().to_owned();
    let size: usize = it.next().unwrap_or("64").parse().unwrap();
    let n: u32 = it.next().unwrap_or("10000").parse().unwrap();
    let mut f = Fixture::new(size);
    measured_loop(&mut f, Fixture::operation(&op), n);
    println!("oscore/callgrind {op} {size}B: {n} calls");
}

criterion_group!(benches, derivation, protect_unprotect);

fn main() {
    if let Ok(spec) = std::env::var("OSCORE_CALLGRIND") {
        callgrind_mode(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
