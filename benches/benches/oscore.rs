#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a bench aborts on a broken fixture
//! mote-oscore: context derivation, and protect/unprotect of a request and a response with
//! 64-byte and 1-KiB payloads, each beside the raw AES-CCM-16-64-128 seal/open (RustCrypto
//! `ccm`, key schedule included as OSCORE needs it per message) of the same plaintext and AAD.
//!
//! Target (docs/performance.md): OSCORE ≤ 1.5× the raw AEAD at 64 bytes, ≤ 1.15× at 1 KiB.

use std::hint::black_box;

use aes::Aes128;
use ccm::aead::generic_array::GenericArray;
use ccm::aead::{AeadInPlace, KeyInit};
use ccm::consts::{U8, U13};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mote_oscore::context::derive_keys;
use mote_oscore::cose::{Aad, nonce};
use mote_oscore::{AeadAlgorithm, Framing, RequestBinding, SecurityContext, SecurityContextParams};

type Ccm16_64_128 = ccm::Ccm<Aes128, U8, U13>;

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
    let c = Ccm16_64_128::new_from_slice(key).unwrap();
    let tag = c
        .encrypt_in_place_detached(GenericArray::from_slice(nonce), aad, buf)
        .unwrap();
    tag.into()
}

fn raw_open(key: &[u8], nonce: &[u8], aad: &[u8], buf: &mut [u8], tag: &[u8]) {
    let c = Ccm16_64_128::new_from_slice(key).unwrap();
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
    }
}

criterion_group!(benches, derivation, protect_unprotect);
criterion_main!(benches);
