//! EDHOC handshakes next to their floors for instruction counts, which the machine load cannot
//! disturb (docs/performance.md, mote-edhoc). The handshakes and floors are the bench's own
//! (benches/benches/common/edhoc.rs):
//!
//! ```text
//! cargo build --release -p mote-benches --example edhoc_profile
//! valgrind --tool=callgrind target/release/examples/edhoc_profile m3s2 10
//! callgrind_annotate --inclusive=yes callgrind.out.* | grep -E 'edhoc_profile::(mote|lakers|ec)_'
//! ```
//!
//! `m3s2`: method 3 / suite 2 on Mote, on lakers 0.8 and its EC floor; `m0s0`: method 0 /
//! suite 0 on Mote and its EC floor. Valgrind runs the portable SHA-256 (not the CPU's SHA
//! extensions), so it over-counts the share of SHA-256 in Mote's handshake.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;

use mote_cose::algorithm::{EcdhCurve, EcdhSecret, SignatureAlgorithm as CoseSig, SigningKey};
use mote_edhoc::*;

#[path = "../benches/common/edhoc.rs"]
mod handshakes;
use handshakes::*;

#[inline(never)]
fn mote_m3s2(i: &Party, r: &Party) {
    black_box(mote_handshake(i, r, Method::StaticStatic, 2));
}

#[inline(never)]
fn lakers_m3s2() {
    black_box(lakers_handshake());
}

#[inline(never)]
fn ec_m3s2(g_r: &PublicKey, g_i: &PublicKey, s_i: &EcdhSecret, s_r: &EcdhSecret) {
    ec_ops_m3_p256(g_r, g_i, s_i, s_r);
}

#[inline(never)]
fn mote_m0s0(i: &Party, r: &Party) {
    black_box(mote_handshake(i, r, Method::SignSign, 0));
}

#[inline(never)]
fn ec_m0s0(a: &SigningKey, b: &SigningKey) {
    ec_ops_x25519(false, false, Some((a, b)));
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "m3s2".into());
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    match mode.as_str() {
        "m3s2" => {
            let (i, r) = identities(Method::StaticStatic, 2);
            let (g_r, g_i) = (*r.credential.public_key(), *i.credential.public_key());
            let s_i = EcdhSecret::from_bytes(EcdhCurve::P256, &h(SK_I)).unwrap();
            let s_r = EcdhSecret::from_bytes(EcdhCurve::P256, &h(SK_R)).unwrap();
            for _ in 0..n {
                mote_m3s2(&i, &r);
                lakers_m3s2();
                ec_m3s2(&g_r, &g_i, &s_i, &s_r);
            }
        }
        "m0s0" => {
            let (i, r) = identities(Method::SignSign, 0);
            let a = SigningKey::from_bytes(CoseSig::EdDsa, &[0x11; 32]).unwrap();
            let b = SigningKey::from_bytes(CoseSig::EdDsa, &[0x22; 32]).unwrap();
            for _ in 0..n {
                mote_m0s0(&i, &r);
                ec_m0s0(&a, &b);
            }
        }
        other => panic!("unknown mode {other}: m3s2 or m0s0"),
    }
}
