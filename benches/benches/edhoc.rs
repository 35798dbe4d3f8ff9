//! mote-edhoc: full handshakes (both roles in one process, message_4 included) beside lakers
//! 0.8 on method 3 / suite 2, and alone on method 0 / suite 0 and method 3 / suite 0; per-role
//! timings; and the handshake's own elliptic-curve operations on the same crypto (mote-cose)
//! as the physical floor. Throughput is the bytes of the four messages. Recorded in
//! docs/performance.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mote_cose::algorithm::{EcdhCurve, EcdhSecret, SignatureAlgorithm as CoseSig, SigningKey};
use mote_edhoc::*;

#[path = "common/edhoc.rs"]
mod handshakes;
use handshakes::*;

/// Runs every function once per round for `n` rounds, the order rotating between rounds, so all
/// see the same machine load and none always follows the same other; returns each one's times.
fn interleaved<const K: usize>(n: usize, fs: &mut [&mut dyn FnMut(); K]) -> [Vec<f64>; K] {
    let mut times: [Vec<f64>; K] = std::array::from_fn(|_| Vec::with_capacity(n));
    for r in 0..n {
        for k in 0..K {
            let i = (k + r) % K;
            let t = Instant::now();
            fs[i]();
            times[i].push(t.elapsed().as_secs_f64());
        }
    }
    times
}

/// Two readings of `a` against `b` from [`interleaved`] times: the ratio of the minimums (each
/// side's best moment) and the median of the per-round ratios (the project's paired measure,
/// as in benches/benches/common/paired.rs).
fn ratios(a: &[f64], b: &[f64]) -> (f64, f64) {
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let mut per_round: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
    per_round.sort_by(|x, y| x.total_cmp(y));
    (min(a) / min(b), per_round[per_round.len() / 2])
}

fn min_duration(v: &[f64]) -> Duration {
    Duration::from_secs_f64(v.iter().copied().fold(f64::INFINITY, f64::min))
}

/// Rounds of the interleaved measurement: about half a second of handshakes per configuration,
/// so that one quiet moment of the shared machine is enough for both sides' minimum.
const ROUNDS_S2: usize = 300;
const ROUNDS_S0: usize = 1000;

fn report_minimums() {
    let (id_i, id_r) = identities(Method::StaticStatic, 2);
    let (gr, gi) = (*id_r.credential.public_key(), *id_i.credential.public_key());
    let s_i = EcdhSecret::from_bytes(EcdhCurve::P256, &h(SK_I)).unwrap();
    let s_r = EcdhSecret::from_bytes(EcdhCurve::P256, &h(SK_R)).unwrap();
    let [m, l, e] = interleaved(
        ROUNDS_S2,
        &mut [
            &mut || {
                black_box(mote_handshake(&id_i, &id_r, Method::StaticStatic, 2));
            },
            &mut || {
                black_box(lakers_handshake());
            },
            &mut || ec_ops_m3_p256(&gr, &gi, &s_i, &s_r),
        ],
    );
    let ((me_min, me_med), (ml_min, ml_med)) = (ratios(&m, &e), ratios(&m, &l));
    eprintln!(
        "min of {ROUNDS_S2}, method 3 suite 2: mote {:?}, lakers {:?}, EC operations {:?} (mote/EC = {me_min:.3}, mote/lakers = {ml_min:.3}; median per-round ratios: mote/EC = {me_med:.3}, mote/lakers = {ml_med:.3})",
        min_duration(&m),
        min_duration(&l),
        min_duration(&e),
    );
    for method in [Method::SignSign, Method::StaticStatic] {
        let (id_i, id_r) = identities(method, 0);
        let ka = SigningKey::from_bytes(CoseSig::EdDsa, &[0x11; 32]).unwrap();
        let kb = SigningKey::from_bytes(CoseSig::EdDsa, &[0x22; 32]).unwrap();
        let sign = if method == Method::SignSign {
            Some((&ka, &kb))
        } else {
            None
        };
        let [m, e] = interleaved(
            ROUNDS_S0,
            &mut [
                &mut || {
                    black_box(mote_handshake(&id_i, &id_r, method, 0));
                },
                &mut || {
                    ec_ops_x25519(
                        method.initiator_static_dh(),
                        method.responder_static_dh(),
                        sign,
                    )
                },
            ],
        );
        let (me_min, me_med) = ratios(&m, &e);
        eprintln!(
            "min of {ROUNDS_S0}, method {} suite 0: mote {:?}, EC operations {:?} (mote/EC = {me_min:.3}; median per-round ratio: mote/EC = {me_med:.3})",
            method.value(),
            min_duration(&m),
            min_duration(&e),
        );
    }
}

fn bench(c: &mut Criterion) {
    report_minimums();
    let (id_i, id_r) = identities(Method::StaticStatic, 2);
    let (_, _, bytes) = mote_handshake(&id_i, &id_r, Method::StaticStatic, 2);
    let lakers_bytes = lakers_handshake();
    eprintln!("message bytes (m1+m2+m3+m4), method 3 suite 2: mote {bytes}, lakers {lakers_bytes}");

    let mut g = c.benchmark_group("edhoc_m3_s2");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("mote_handshake", |b| {
        b.iter(|| black_box(mote_handshake(&id_i, &id_r, Method::StaticStatic, 2)))
    });
    g.bench_function("lakers_handshake", |b| {
        b.iter(|| black_box(lakers_handshake()))
    });
    g.bench_function("mote_initiator_only", |b| {
        b.iter_custom(|n| {
            (0..n)
                .map(|_| mote_handshake(&id_i, &id_r, Method::StaticStatic, 2).0)
                .sum()
        })
    });
    g.bench_function("mote_responder_only", |b| {
        b.iter_custom(|n| {
            (0..n)
                .map(|_| mote_handshake(&id_i, &id_r, Method::StaticStatic, 2).1)
                .sum()
        })
    });
    let (gr, gi) = (*id_r.credential.public_key(), *id_i.credential.public_key());
    let s_i = EcdhSecret::from_bytes(EcdhCurve::P256, &h(SK_I)).unwrap();
    let s_r = EcdhSecret::from_bytes(EcdhCurve::P256, &h(SK_R)).unwrap();
    g.bench_function("ec_operations_only", |b| {
        b.iter(|| ec_ops_m3_p256(&gr, &gi, &s_i, &s_r))
    });
    g.finish();

    for (method, name) in [
        (Method::SignSign, "edhoc_m0_s0"),
        (Method::StaticStatic, "edhoc_m3_s0"),
    ] {
        let (id_i, id_r) = identities(method, 0);
        let (_, _, bytes) = mote_handshake(&id_i, &id_r, method, 0);
        eprintln!("message bytes (m1+m2+m3+m4), {name}: mote {bytes}");
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function("mote_handshake", |b| {
            b.iter(|| black_box(mote_handshake(&id_i, &id_r, method, 0)))
        });
        g.bench_function("mote_initiator_only", |b| {
            b.iter_custom(|n| {
                (0..n)
                    .map(|_| mote_handshake(&id_i, &id_r, method, 0).0)
                    .sum()
            })
        });
        g.bench_function("mote_responder_only", |b| {
            b.iter_custom(|n| {
                (0..n)
                    .map(|_| mote_handshake(&id_i, &id_r, method, 0).1)
                    .sum()
            })
        });
        let ka = SigningKey::from_bytes(CoseSig::EdDsa, &[0x11; 32]).unwrap();
        let kb = SigningKey::from_bytes(CoseSig::EdDsa, &[0x22; 32]).unwrap();
        let sign = if method == Method::SignSign {
            Some((&ka, &kb))
        } else {
            None
        };
        g.bench_function("ec_operations_only", |b| {
            b.iter(|| {
                ec_ops_x25519(
                    method.initiator_static_dh(),
                    method.responder_static_dh(),
                    sign,
                )
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
