#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a bench aborts on a broken fixture
//! mote-oscore: context derivation, and protect/unprotect of a request and a response with
//! 64-byte and 1-KiB payloads, each beside the raw AES-CCM-16-64-128 seal/open (RustCrypto
//! `ccm` over the encrypt-only `Aes128Enc`, as mote-cose uses it) of the same plaintext and AAD:
//! once with the AES key schedule per call (the anchor of the target), once with the key
//! expanded beforehand (what a `SecurityContext` keeps, so the pure OSCORE overhead shows).
//!
//! Target (docs/performance.md): OSCORE ≤ 1.5× the raw AEAD at 64 bytes, ≤ 1.15× at 1 KiB.
//!
//! With `MOTE_BENCH_PAIRED=1` each size also prints an interleaved, paired measurement (the
//! ratio taken within each round) that stays meaningful on a loaded machine; with a filter that
//! matches no benchmark (`-- paired-only`) only that runs.

use std::hint::black_box;

use aes::Aes128Enc;
use ccm::aead::generic_array::GenericArray;
use ccm::aead::{AeadInPlace, KeyInit};
use ccm::consts::{U8, U13};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mote_oscore::context::derive_keys;
use mote_oscore::cose::{Aad, nonce};
use mote_oscore::{AeadAlgorithm, Framing, RequestBinding, SecurityContext, SecurityContextParams};

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

fn protect_unprotect(c: &mut Criterion) {
    for size in [64usize, 1024] {
        let payload: Vec<u8> = (0..size).map(|i| i as u8).collect();
        let mut g = c.benchmark_group(format!("oscore/{size}B"));
        g.throughput(Throughput::Bytes(size as u64));
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
        let mut pt = vec![0x01u8, 0xb6];
        pt.extend_from_slice(b"sensor");
        pt.push(0xff);
        pt.extend_from_slice(&payload);
        let mut buf = pt.clone();
        g.bench_function(BenchmarkId::new("raw ccm seal", "request"), |b| {
            b.iter(|| {
                buf.copy_from_slice(black_box(&pt));
                // black_box keeps the key schedule inside the loop, as OSCORE pays it per message.
                black_box(raw_seal(
                    black_box(&key),
                    black_box(&nonce_bytes),
                    black_box(aad.as_bytes()),
                    &mut buf,
                ))
            })
        });
        buf.copy_from_slice(&pt);
        let tag = raw_seal(&key, &nonce_bytes, aad.as_bytes(), &mut buf);
        let ct = buf.clone();
        g.bench_function(BenchmarkId::new("raw ccm open", "request"), |b| {
            b.iter(|| {
                buf.copy_from_slice(black_box(&ct));
                raw_open(
                    black_box(&key),
                    black_box(&nonce_bytes),
                    black_box(aad.as_bytes()),
                    &mut buf,
                    black_box(&tag),
                );
                black_box(&buf);
            })
        });
        // The same with the key schedule computed once, outside the loop.
        let expanded = Ccm16_64_128::new(GenericArray::from_slice(&key));
        g.bench_function(
            BenchmarkId::new("raw ccm seal, key expanded once", "request"),
            |b| {
                b.iter(|| {
                    buf.copy_from_slice(black_box(&pt));
                    black_box(raw_seal_with(
                        black_box(&expanded),
                        black_box(&nonce_bytes),
                        black_box(aad.as_bytes()),
                        &mut buf,
                    ))
                })
            },
        );
        g.bench_function(
            BenchmarkId::new("raw ccm open, key expanded once", "request"),
            |b| {
                b.iter(|| {
                    buf.copy_from_slice(black_box(&ct));
                    raw_open_with(
                        black_box(&expanded),
                        black_box(&nonce_bytes),
                        black_box(aad.as_bytes()),
                        &mut buf,
                        black_box(&tag),
                    );
                    black_box(&buf);
                })
            },
        );

        // The sequence number advances every iteration (its Partial IV grows by a byte at
        // 256 and 65536): that is the real cost of protecting a request.
        g.bench_function(BenchmarkId::new("mote-oscore protect", "request"), |b| {
            b.iter(|| {
                client
                    .protect_request(Framing::Udp, black_box(&request), &mut wire)
                    .unwrap()
                    .0
            })
        });
        let (len, binding) = client
            .protect_request(Framing::Udp, &request, &mut wire)
            .unwrap();
        let protected_request = wire[..len].to_vec();
        g.bench_function(BenchmarkId::new("mote-oscore unprotect", "request"), |b| {
            b.iter(|| {
                // A fresh window each time (the same Partial IV would be a replay).
                server.set_replay_window(mote_oscore::ReplayWindow::default());
                server
                    .unprotect_request(Framing::Udp, black_box(&protected_request), &mut plain)
                    .unwrap()
                    .len
            })
        });
        server.set_replay_window(mote_oscore::ReplayWindow::default());
        let verified = server
            .unprotect_request(Framing::Udp, &protected_request, &mut plain)
            .unwrap();
        g.bench_function(BenchmarkId::new("mote-oscore protect", "response"), |b| {
            b.iter(|| {
                let mut sb = verified.binding;
                server
                    .protect_response(
                        Framing::Udp,
                        &mut sb,
                        black_box(&response),
                        false,
                        &mut wire,
                    )
                    .unwrap()
            })
        });
        let mut sb = verified.binding;
        let n = server
            .protect_response(Framing::Udp, &mut sb, &response, false, &mut wire)
            .unwrap();
        let protected_response = wire[..n].to_vec();
        g.bench_function(BenchmarkId::new("mote-oscore unprotect", "response"), |b| {
            b.iter(|| {
                let mut cb: RequestBinding = binding;
                client
                    .unprotect_response(
                        Framing::Udp,
                        &mut cb,
                        black_box(&protected_response),
                        &mut plain,
                    )
                    .unwrap()
            })
        });
        g.finish();

        if !paired_enabled() {
            continue;
        }
        let (rounds, iters) = (41, if size > 256 { 500 } else { 2000 });
        let aad = aad.as_bytes();
        let (mut b1, mut b2) = (pt.clone(), pt.clone());
        let mut raw_seal_f = || {
            b1.copy_from_slice(black_box(&pt));
            black_box(raw_seal(
                black_box(&key),
                black_box(&nonce_bytes),
                black_box(aad),
                &mut b1,
            ));
        };
        let mut raw_seal_once_f = || {
            b2.copy_from_slice(black_box(&pt));
            black_box(raw_seal_with(
                black_box(&expanded),
                black_box(&nonce_bytes),
                black_box(aad),
                &mut b2,
            ));
        };
        let (mut b3, mut b4) = (ct.clone(), ct.clone());
        let mut raw_open_f = || {
            b3.copy_from_slice(black_box(&ct));
            raw_open(
                black_box(&key),
                black_box(&nonce_bytes),
                black_box(aad),
                &mut b3,
                black_box(&tag),
            );
            black_box(&b3);
        };
        let mut raw_open_once_f = || {
            b4.copy_from_slice(black_box(&ct));
            raw_open_with(
                black_box(&expanded),
                black_box(&nonce_bytes),
                black_box(aad),
                &mut b4,
                black_box(&tag),
            );
            black_box(&b4);
        };
        paired(
            &format!("{size}B protect request"),
            rounds,
            iters,
            &mut [
                ("mote-oscore", &mut || {
                    black_box(
                        client
                            .protect_request(Framing::Udp, black_box(&request), &mut wire)
                            .unwrap(),
                    );
                }),
                ("raw ccm seal", &mut raw_seal_f),
                ("raw ccm seal (key expanded once)", &mut raw_seal_once_f),
            ],
        );
        paired(
            &format!("{size}B unprotect request"),
            rounds,
            iters,
            &mut [
                ("mote-oscore", &mut || {
                    server.set_replay_window(mote_oscore::ReplayWindow::default());
                    black_box(
                        server
                            .unprotect_request(
                                Framing::Udp,
                                black_box(&protected_request),
                                &mut plain,
                            )
                            .unwrap(),
                    );
                }),
                ("raw ccm open", &mut raw_open_f),
                ("raw ccm open (key expanded once)", &mut raw_open_once_f),
            ],
        );
        paired(
            &format!("{size}B protect response"),
            rounds,
            iters,
            &mut [
                ("mote-oscore", &mut || {
                    let mut sb = verified.binding;
                    black_box(
                        server
                            .protect_response(
                                Framing::Udp,
                                &mut sb,
                                black_box(&response),
                                false,
                                &mut wire,
                            )
                            .unwrap(),
                    );
                }),
                ("raw ccm seal", &mut raw_seal_f),
                ("raw ccm seal (key expanded once)", &mut raw_seal_once_f),
            ],
        );
        paired(
            &format!("{size}B unprotect response"),
            rounds,
            iters,
            &mut [
                ("mote-oscore", &mut || {
                    let mut cb: RequestBinding = binding;
                    black_box(
                        client
                            .unprotect_response(
                                Framing::Udp,
                                &mut cb,
                                black_box(&protected_response),
                                &mut plain,
                            )
                            .unwrap(),
                    );
                }),
                ("raw ccm open", &mut raw_open_f),
                ("raw ccm open (key expanded once)", &mut raw_open_once_f),
            ],
        );
    }
}

criterion_group!(benches, derivation, protect_unprotect);
criterion_main!(benches);

/// Interleaved, paired timing, for a loaded machine where sequential criterion runs drift
/// (run with `MOTE_BENCH_PAIRED=1`). Each round times `iters` calls of every function in turn
/// (the order rotates between rounds); per round, each function's time is divided by the
/// first one's. Prints the median time of each and the median of the per-round ratios.
fn paired(label: &str, rounds: usize, iters: usize, fs: &mut [(&str, &mut dyn FnMut())]) {
    let n = fs.len();
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); n];
    for r in 0..rounds {
        for k in 0..n {
            let i = (k + r) % n;
            let f = &mut fs[i].1;
            let t = std::time::Instant::now();
            for _ in 0..iters {
                f();
            }
            times[i].push(t.elapsed().as_nanos() as f64 / iters as f64);
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let first = median(times[0].clone());
    println!("paired {label}: {} {first:.0} ns", fs[0].0);
    for i in 1..n {
        let ratios: Vec<f64> = times[0].iter().zip(&times[i]).map(|(a, b)| a / b).collect();
        println!(
            "paired {label}:   {} {:.0} ns -> ratio {} / {} = {:.2}",
            fs[i].0,
            median(times[i].clone()),
            fs[0].0,
            fs[i].0,
            median(ratios)
        );
    }
}

fn paired_enabled() -> bool {
    std::env::var_os("MOTE_BENCH_PAIRED").is_some()
}
