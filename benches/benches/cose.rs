//! mote-cose beside `coset` 0.4 (COSE_Encrypt0 build+encode and decode) and beside the raw
//! `ccm` crate (AES-CCM-16-64-128 seal and open, the physical limit of COSE_Encrypt0).
//!
//! Run: `cargo bench -p mote-benches --bench cose -- --warm-up-time 1 --measurement-time 3`.
//! With `MOTE_BENCH_PAIRED=1` each group also prints an interleaved, paired measurement (the
//! ratio taken within each round) that stays meaningful on a loaded machine; with a filter that
//! matches no benchmark (`-- paired-only`) only that runs.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "common/paired.rs"]
mod paired_timing;
use paired_timing::{paired, paired_enabled};

use std::hint::black_box;

use ccm::Ccm;
use ccm::aead::generic_array::GenericArray;
use ccm::aead::{AeadInPlace, KeyInit};
use ccm::consts::{U8, U13};
use coset::{CborSerializable, CoseEncrypt0, CoseEncrypt0Builder, HeaderBuilder, iana};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mote_cose::cbor::{Encoder, SliceWriter};
use mote_cose::header::{Header, Label, ProtectedHeader};
use mote_cose::message::{Encrypt0, Encrypt0Builder};

const KID: &[u8] = &[0x01];
const PIV: &[u8] = &[0x05, 0x17];

fn ciphertext() -> Vec<u8> {
    (0..64u8).collect()
}

fn mote_encode(ct: &[u8], out: &mut [u8]) -> usize {
    let mut pbuf = [0u8; 8];
    let protected = Header {
        alg: Some(Label::Int(10)),
        ..Header::default()
    };
    let praw = protected.encode_into(&mut pbuf).unwrap();
    let msg = Encrypt0 {
        protected: ProtectedHeader {
            raw: praw,
            header: protected,
        },
        unprotected: Header {
            kid: Some(KID),
            partial_iv: Some(PIV),
            ..Header::default()
        },
        ciphertext: Some(ct),
        tagged: false,
    };
    let mut w = SliceWriter::new(out);
    msg.encode(&mut Encoder::new(&mut w)).unwrap();
    w.len()
}

fn coset_encode(ct: &[u8]) -> Vec<u8> {
    CoseEncrypt0Builder::new()
        .protected(
            HeaderBuilder::new()
                .algorithm(iana::Algorithm::AES_CCM_16_64_128)
                .build(),
        )
        .unprotected(
            HeaderBuilder::new()
                .key_id(KID.to_vec())
                .partial_iv(PIV.to_vec())
                .build(),
        )
        .ciphertext(ct.to_vec())
        .build()
        .to_vec()
        .unwrap()
}

fn encrypt0(c: &mut Criterion) {
    let ct = ciphertext();
    let mut out = [0u8; 128];
    let n = mote_encode(&ct, &mut out);
    let encoded = out[..n].to_vec();
    assert_eq!(
        encoded,
        coset_encode(&ct),
        "both encoders produce the same bytes"
    );

    let mut g = c.benchmark_group("cose_encrypt0_encode");
    g.throughput(Throughput::Bytes(encoded.len() as u64));
    g.bench_function("mote-cose", |b| {
        b.iter(|| black_box(mote_encode(black_box(&ct), &mut out)))
    });
    g.bench_function("coset", |b| {
        b.iter(|| black_box(coset_encode(black_box(&ct))))
    });
    g.finish();

    let mut g = c.benchmark_group("cose_encrypt0_decode");
    g.throughput(Throughput::Bytes(encoded.len() as u64));
    g.bench_function("mote-cose", |b| {
        b.iter(|| {
            let m = Encrypt0::decode(black_box(&encoded)).unwrap();
            black_box((m.unprotected.kid, m.unprotected.partial_iv, m.ciphertext))
        })
    });
    g.bench_function("coset", |b| {
        b.iter(|| {
            let m = CoseEncrypt0::from_slice(black_box(&encoded)).unwrap();
            black_box(m)
        })
    });
    g.finish();

    if paired_enabled() {
        paired(
            "Encrypt0 build + encode",
            41,
            5000,
            &mut [
                ("coset", &mut || {
                    black_box(coset_encode(black_box(&ct)));
                }),
                ("mote-cose", &mut || {
                    black_box(mote_encode(black_box(&ct), &mut out));
                }),
            ],
        );
        paired(
            "Encrypt0 decode",
            41,
            5000,
            &mut [
                ("coset", &mut || {
                    black_box(CoseEncrypt0::from_slice(black_box(&encoded)).unwrap());
                }),
                ("mote-cose", &mut || {
                    let m = Encrypt0::decode(black_box(&encoded)).unwrap();
                    black_box((m.unprotected.kid, m.unprotected.partial_iv, m.ciphertext));
                }),
            ],
        );
    }
}

// CCM only runs AES forward: the encrypt-only key schedule, as mote-cose uses it.
type Ccm16_64_128 = Ccm<aes::Aes128Enc, U8, U13>;

fn aes_ccm(c: &mut Criterion) {
    let key = [0x42u8; 16];
    let nonce = [0x24u8; 13];
    let unprotected_piv = PIV;
    for size in [64usize, 1024] {
        let pt = vec![0xa5u8; size];
        let mut g = c.benchmark_group(format!("aes_ccm_16_64_128_seal_open_{size}"));
        g.throughput(Throughput::Bytes(size as u64));

        // COSE_Encrypt0 through mote-cose: Enc_structure, headers, AEAD, encode; then decode,
        // Enc_structure, AEAD open. The base IV and Partial IV give the nonce (RFC 9052 §3.1).
        let builder = Encrypt0Builder {
            protected: Header {
                alg: Some(Label::Int(10)),
                ..Header::default()
            },
            unprotected: Header {
                kid: Some(KID),
                partial_iv: Some(unprotected_piv),
                ..Header::default()
            },
            tagged: false,
        };
        let mut msg = vec![0u8; size + 64];
        let mut scratch = [0u8; 64];
        let mut buf = vec![0u8; size + 64];
        g.bench_function("mote-cose Encrypt0", |b| {
            b.iter(|| {
                let n = builder
                    .seal_into(
                        &key,
                        Some(&nonce),
                        black_box(&pt),
                        b"",
                        &mut scratch,
                        &mut msg,
                    )
                    .unwrap();
                let m = Encrypt0::decode(&msg[..n]).unwrap();
                let out = m
                    .decrypt_into(&key, Some(&nonce), b"", None, &mut buf)
                    .unwrap();
                black_box(out.len())
            })
        });

        // The raw ccm crate: same key setup per call, same AAD length class, no COSE.
        let aad = [
            0x83u8, 0x68, b'E', b'n', b'c', b'r', b'y', b'p', b't', b'0', 0x43, 0xa1, 0x01, 0x0a,
            0x40,
        ];
        let mut data = pt.clone();
        g.bench_function("ccm (raw)", |b| {
            b.iter(|| {
                let cipher = Ccm16_64_128::new(GenericArray::from_slice(&key));
                data.copy_from_slice(&pt);
                let tag = cipher
                    .encrypt_in_place_detached(GenericArray::from_slice(&nonce), &aad, &mut data)
                    .unwrap();
                let cipher = Ccm16_64_128::new(GenericArray::from_slice(&key));
                cipher
                    .decrypt_in_place_detached(
                        GenericArray::from_slice(&nonce),
                        &aad,
                        &mut data,
                        &tag,
                    )
                    .unwrap();
                black_box(data.len())
            })
        });
        g.finish();

        if paired_enabled() {
            paired(
                &format!("AES-CCM-16-64-128 seal+open {size} B"),
                41,
                if size > 256 { 500 } else { 2000 },
                &mut [
                    ("mote-cose Encrypt0", &mut || {
                        let n = builder
                            .seal_into(
                                &key,
                                Some(&nonce),
                                black_box(&pt),
                                b"",
                                &mut scratch,
                                &mut msg,
                            )
                            .unwrap();
                        let m = Encrypt0::decode(&msg[..n]).unwrap();
                        let out = m
                            .decrypt_into(&key, Some(&nonce), b"", None, &mut buf)
                            .unwrap();
                        black_box(out.len());
                    }),
                    ("ccm (raw)", &mut || {
                        let cipher = Ccm16_64_128::new(GenericArray::from_slice(&key));
                        data.copy_from_slice(&pt);
                        let tag = cipher
                            .encrypt_in_place_detached(
                                GenericArray::from_slice(&nonce),
                                &aad,
                                &mut data,
                            )
                            .unwrap();
                        let cipher = Ccm16_64_128::new(GenericArray::from_slice(&key));
                        cipher
                            .decrypt_in_place_detached(
                                GenericArray::from_slice(&nonce),
                                &aad,
                                &mut data,
                                &tag,
                            )
                            .unwrap();
                        black_box(data.len());
                    }),
                ],
            );
        }
    }
}

criterion_group!(benches, encrypt0, aes_ccm);
criterion_main!(benches);
