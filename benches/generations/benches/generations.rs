#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a bench aborts on a broken fixture
//! The two RustCrypto generations side by side, on the same inputs, in one binary:
//!
//! - generation A (the workspace's): `aes` 0.8, `ccm` 0.5, `p256` 0.13;
//! - generation B (the newest releases): `aes` 0.9, `ccm` 0.6, `p256` 0.14.
//!
//! Both are built with the workspace's features (`default-features = false`; `p256` with
//! `arithmetic`, `ecdh`, `ecdsa`). Feature `p256-014-tables` adds `p256` 0.14's precomputed
//! base-point table (0.13 has none), which speeds up the fixed-base multiplications (key
//! generation, signing) only.
//!
//! Operations:
//! - (a) single-block AES-128 encryption, one block at a time with each block depending on the
//!   previous one: the CBC-MAC pattern of CCM (64 blocks = a CBC-MAC over 1 KiB per call);
//!   for contrast, 64 independent blocks in one `encrypt_blocks` call (CTR's pattern);
//! - (b) AES-CCM-16-64-128 seal (8-byte tag, 13-byte nonce, 10-byte AAD) of 64 B and 1 KiB,
//!   key expanded once (as an OSCORE security context keeps it);
//! - (c) P-256 ECDH: shared secret from a non-zero scalar and an affine point (what
//!   `mote-cose`'s `EcdhSecret::diffie_hellman` calls), the same with the peer's point first
//!   decompressed from its x-coordinate (EDHOC's G_X / G_Y), and the public key from a scalar
//!   (ephemeral key generation, a fixed-base multiplication);
//! - (d) P-256 ECDSA sign (RFC 6979 deterministic, SHA-256) and verify of a 128-byte message.
//!
//! The two generations' outputs are asserted equal before anything is timed.
//!
//! After the criterion groups, an interleaved paired measurement is printed (the machine this
//! runs on is shared, and criterion's sequential runs drift with the load): per operation,
//! 401 rounds, each timing one batch of A and one batch of B back to back on the same
//! input (the order flips every round); the ratio time(B) ÷ time(A) is taken within each round
//! and the median over the rounds is printed with its quartiles, beside the ratio of the two
//! fastest batches (min B ÷ min A, the least disturbed by the load). Ratio > 1: generation B
//! is slower. `GEN_PAIRED_ROUNDS=N` changes the number of rounds (default 401); `GEN_PAIRED=0`
//! skips the paired part; a filter that matches no criterion benchmark (`-- paired-only`) runs
//! the paired part alone. (Criterion filters match the whole ID, and every ID names
//! `p256-0.13`/`p256-0.14`: filter by operation, e.g. `-- ecdh`, not by `p256`.)
//!
//! Results and their reading: docs/performance.md, "Dependency generations (RustCrypto)".

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};

const KEY: [u8; 16] = [
    0xf0, 0x91, 0x0e, 0xd7, 0x29, 0x5e, 0x6a, 0xd4, 0xb5, 0x4f, 0xc7, 0x93, 0x15, 0x43, 0x02, 0xff,
];
const NONCE: [u8; 13] = [
    0x46, 0x22, 0xd4, 0xdd, 0x6d, 0x94, 0x41, 0x68, 0xee, 0xfb, 0x54, 0x98, 0x7c,
];
/// An OSCORE-sized external AAD (RFC 8613 §5.4: `Enc_structure` around a ~10-byte aad_array).
const AAD: [u8; 10] = [0x83, 0x68, 0x45, 0x6e, 0x63, 0x72, 0x79, 0x70, 0x74, 0x30];
/// Scalars of the two parties (RFC 9529 Chapter 3's initiator/responder ephemeral keys).
const SCALAR_X: [u8; 32] = [
    0x36, 0x8e, 0xc1, 0xf6, 0x9a, 0xeb, 0x65, 0x9b, 0xa3, 0x7d, 0x5a, 0x8d, 0x45, 0xb2, 0x1b, 0xdc,
    0x02, 0x99, 0xdc, 0xea, 0xa8, 0xef, 0x23, 0x5f, 0x3c, 0xa4, 0x2c, 0xe3, 0x53, 0x0f, 0x95, 0x25,
];
const SCALAR_Y: [u8; 32] = [
    0xe2, 0xf4, 0x12, 0x67, 0x77, 0x20, 0x5e, 0x85, 0x3b, 0x43, 0x7d, 0x6e, 0xac, 0xa1, 0xe1, 0xf7,
    0x53, 0xcd, 0xcc, 0x3e, 0x2c, 0x69, 0xfa, 0x88, 0x4b, 0x0a, 0x1a, 0x64, 0x09, 0x77, 0xe4, 0x18,
];
/// Blocks per call of the single-block chain (a CBC-MAC over 1 KiB).
const CHAIN: usize = 64;

fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

/// Generation A: aes 0.8, ccm 0.5, p256 0.13 (the workspace's).
mod gen_a {
    use aes08::Aes128Enc;
    use aes08::cipher::generic_array::GenericArray;
    use aes08::cipher::{BlockEncrypt, KeyInit};
    use ccm05::aead::AeadInPlace;
    use ccm05::consts::{U8, U13};
    use p256_13::ecdsa::signature::{Signer, Verifier};
    use p256_13::ecdsa::{Signature, SigningKey, VerifyingKey};
    use p256_13::elliptic_curve::sec1::ToEncodedPoint;
    use p256_13::{NonZeroScalar, PublicKey, SecretKey};

    pub struct Aes(Aes128Enc);
    impl Aes {
        pub fn new(key: &[u8; 16]) -> Self {
            Self(Aes128Enc::new(GenericArray::from_slice(key)))
        }
        /// CBC-MAC pattern: `state = E(state ^ block)`, one block at a time.
        #[inline(never)]
        pub fn chain(&self, data: &[u8]) -> [u8; 16] {
            let mut state = GenericArray::default();
            for block in data.chunks_exact(16) {
                for (s, b) in state.iter_mut().zip(block) {
                    *s ^= b;
                }
                self.0.encrypt_block(&mut state);
            }
            state.into()
        }
        /// Independent blocks in one call (CTR's pattern): 64 blocks of `fill`.
        #[inline(never)]
        pub fn blocks(&self, fill: u8) -> [[u8; 16]; 64] {
            let mut x = [GenericArray::from([fill; 16]); 64];
            self.0.encrypt_blocks(&mut x);
            x.map(Into::into)
        }
    }

    pub struct Ccm(ccm05::Ccm<Aes128Enc, U8, U13>);
    impl Ccm {
        pub fn new(key: &[u8; 16]) -> Self {
            Self(ccm05::Ccm::new(GenericArray::from_slice(key)))
        }
        /// Seal `buf` in place, return the 8-byte tag.
        #[inline(never)]
        pub fn seal(&self, nonce: &[u8; 13], aad: &[u8], buf: &mut [u8]) -> [u8; 8] {
            self.0
                .encrypt_in_place_detached(GenericArray::from_slice(nonce), aad, buf)
                .unwrap()
                .into()
        }
    }

    pub struct Ec {
        secret: NonZeroScalar,
        peer: PublicKey,
        signing: SigningKey,
        verifying: VerifyingKey,
    }
    impl Ec {
        pub fn new(own: &[u8; 32], peer: &[u8; 33]) -> Self {
            let secret = SecretKey::from_slice(own).unwrap().to_nonzero_scalar();
            let signing = SigningKey::from_slice(own).unwrap();
            let verifying = *signing.verifying_key();
            Self {
                secret,
                peer: PublicKey::from_sec1_bytes(peer).unwrap(),
                signing,
                verifying,
            }
        }
        /// The compressed SEC1 point of `scalar`·G (fixture helper, also the keygen op).
        #[inline(never)]
        pub fn public_compressed(scalar: &[u8; 32]) -> [u8; 33] {
            let pk = SecretKey::from_slice(scalar).unwrap().public_key();
            pk.to_encoded_point(true).as_bytes().try_into().unwrap()
        }
        #[inline(never)]
        pub fn ecdh(&self) -> [u8; 32] {
            let s = p256_13::ecdh::diffie_hellman(self.secret, self.peer.as_affine());
            (*s.raw_secret_bytes()).into()
        }
        #[inline(never)]
        pub fn ecdh_compressed(&self, peer: &[u8; 33]) -> [u8; 32] {
            let peer = PublicKey::from_sec1_bytes(peer).unwrap();
            let s = p256_13::ecdh::diffie_hellman(self.secret, peer.as_affine());
            (*s.raw_secret_bytes()).into()
        }
        #[inline(never)]
        pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
            let s: Signature = self.signing.sign(msg);
            s.to_bytes().into()
        }
        #[inline(never)]
        pub fn verify(&self, msg: &[u8], sig: &[u8; 64]) -> bool {
            let s = Signature::from_slice(sig).unwrap();
            self.verifying.verify(msg, &s).is_ok()
        }
    }
}

/// Generation B: aes 0.9, ccm 0.6, p256 0.14 (the newest releases).
mod gen_b {
    use aes09::Aes128Enc;
    use aes09::cipher::array::Array;
    use aes09::cipher::{BlockCipherEncrypt, KeyInit};
    use ccm06::AeadInOut;
    use ccm06::consts::{U8, U13};
    use p256_14::ecdsa::signature::{Signer, Verifier};
    use p256_14::ecdsa::{Signature, SigningKey, VerifyingKey};
    use p256_14::elliptic_curve::sec1::ToSec1Point;
    use p256_14::{NonZeroScalar, PublicKey, SecretKey};

    pub struct Aes(Aes128Enc);
    impl Aes {
        pub fn new(key: &[u8; 16]) -> Self {
            Self(Aes128Enc::new(&Array::from(*key)))
        }
        /// CBC-MAC pattern: `state = E(state ^ block)`, one block at a time.
        #[inline(never)]
        pub fn chain(&self, data: &[u8]) -> [u8; 16] {
            let mut state = aes09::Block::default();
            for block in data.chunks_exact(16) {
                for (s, b) in state.iter_mut().zip(block) {
                    *s ^= b;
                }
                self.0.encrypt_block(&mut state);
            }
            state.into()
        }
        /// Independent blocks in one call (CTR's pattern): 64 blocks of `fill`.
        #[inline(never)]
        pub fn blocks(&self, fill: u8) -> [[u8; 16]; 64] {
            let mut x = [aes09::Block::from([fill; 16]); 64];
            self.0.encrypt_blocks(&mut x);
            x.map(Into::into)
        }
    }

    pub struct Ccm(ccm06::Ccm<Aes128Enc, U8, U13>);
    impl Ccm {
        pub fn new(key: &[u8; 16]) -> Self {
            Self(ccm06::Ccm::new(&Array::from(*key)))
        }
        /// Seal `buf` in place, return the 8-byte tag.
        #[inline(never)]
        pub fn seal(&self, nonce: &[u8; 13], aad: &[u8], buf: &mut [u8]) -> [u8; 8] {
            self.0
                .encrypt_inout_detached(&Array::from(*nonce), aad, buf.into())
                .unwrap()
                .into()
        }
    }

    pub struct Ec {
        secret: NonZeroScalar,
        peer: PublicKey,
        signing: SigningKey,
        verifying: VerifyingKey,
    }
    impl Ec {
        pub fn new(own: &[u8; 32], peer: &[u8; 33]) -> Self {
            let secret = SecretKey::from_slice(own).unwrap().to_nonzero_scalar();
            let signing = SigningKey::from_slice(own).unwrap();
            let verifying = *signing.verifying_key();
            Self {
                secret,
                peer: PublicKey::from_sec1_bytes(peer).unwrap(),
                signing,
                verifying,
            }
        }
        /// The compressed SEC1 point of `scalar`·G (fixture helper, also the keygen op).
        #[inline(never)]
        pub fn public_compressed(scalar: &[u8; 32]) -> [u8; 33] {
            let pk = SecretKey::from_slice(scalar).unwrap().public_key();
            pk.to_sec1_point(true).as_bytes().try_into().unwrap()
        }
        #[inline(never)]
        pub fn ecdh(&self) -> [u8; 32] {
            let s = p256_14::ecdh::diffie_hellman(self.secret, self.peer.as_affine());
            (*s.raw_secret_bytes()).into()
        }
        #[inline(never)]
        pub fn ecdh_compressed(&self, peer: &[u8; 33]) -> [u8; 32] {
            let peer = PublicKey::from_sec1_bytes(peer).unwrap();
            let s = p256_14::ecdh::diffie_hellman(self.secret, peer.as_affine());
            (*s.raw_secret_bytes()).into()
        }
        #[inline(never)]
        pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
            let s: Signature = self.signing.sign(msg);
            s.to_bytes().into()
        }
        #[inline(never)]
        pub fn verify(&self, msg: &[u8], sig: &[u8; 64]) -> bool {
            let s = Signature::from_slice(sig).unwrap();
            self.verifying.verify(msg, &s).is_ok()
        }
    }
}

/// Everything both generations need, built once; every operation of both is checked to give
/// the same output.
struct Fixture {
    aes_a: gen_a::Aes,
    aes_b: gen_b::Aes,
    ccm_a: gen_a::Ccm,
    ccm_b: gen_b::Ccm,
    ec_a: gen_a::Ec,
    ec_b: gen_b::Ec,
    chain_input: Vec<u8>,
    peer_compressed: [u8; 33],
    msg: Vec<u8>,
    sig: [u8; 64],
}

impl Fixture {
    fn new() -> Self {
        let peer_compressed = gen_a::Ec::public_compressed(&SCALAR_Y);
        assert_eq!(
            peer_compressed,
            gen_b::Ec::public_compressed(&SCALAR_Y),
            "keygen differs"
        );
        let ec_a = gen_a::Ec::new(&SCALAR_X, &peer_compressed);
        let ec_b = gen_b::Ec::new(&SCALAR_X, &peer_compressed);
        let msg = plaintext(128);
        let sig = ec_a.sign(&msg);
        let f = Self {
            aes_a: gen_a::Aes::new(&KEY),
            aes_b: gen_b::Aes::new(&KEY),
            ccm_a: gen_a::Ccm::new(&KEY),
            ccm_b: gen_b::Ccm::new(&KEY),
            ec_a,
            ec_b,
            chain_input: plaintext(CHAIN * 16),
            peer_compressed,
            msg,
            sig,
        };
        // Same outputs from both generations.
        assert_eq!(
            f.aes_a.chain(&f.chain_input),
            f.aes_b.chain(&f.chain_input),
            "CBC-MAC"
        );
        assert_eq!(f.aes_a.blocks(7), f.aes_b.blocks(7), "encrypt_blocks");
        for len in [64, 1024] {
            let (mut a, mut b) = (plaintext(len), plaintext(len));
            let ta = f.ccm_a.seal(&NONCE, &AAD, &mut a);
            let tb = f.ccm_b.seal(&NONCE, &AAD, &mut b);
            assert_eq!((a, ta), (b, tb), "CCM seal of {len} bytes");
        }
        assert_eq!(f.ec_a.ecdh(), f.ec_b.ecdh(), "ECDH");
        assert_eq!(
            f.ec_a.ecdh(),
            f.ec_b.ecdh_compressed(&f.peer_compressed),
            "ECDH"
        );
        assert_eq!(
            f.ec_a.ecdh_compressed(&f.peer_compressed),
            f.ec_b.ecdh(),
            "ECDH"
        );
        assert_eq!(f.sig, f.ec_b.sign(&f.msg), "ECDSA (RFC 6979) signature");
        assert!(
            f.ec_a.verify(&f.msg, &f.sig) && f.ec_b.verify(&f.msg, &f.sig),
            "verify"
        );
        let mut bad = f.sig;
        bad[10] ^= 1;
        assert!(
            !f.ec_a.verify(&f.msg, &bad) && !f.ec_b.verify(&f.msg, &bad),
            "verify bad"
        );
        f
    }
}

/// One operation, as a pair of closures (generation A, generation B).
struct Op {
    /// Criterion group / paired label.
    name: &'static str,
    /// Calls per paired batch (a batch takes 0.2–0.5 ms unloaded: short enough that most
    /// batches run without being preempted on the loaded machine).
    batch: usize,
    a: Box<dyn FnMut()>,
    b: Box<dyn FnMut()>,
}

fn ops() -> Vec<Op> {
    let f = std::rc::Rc::new(Fixture::new());
    let mut v = Vec::new();
    macro_rules! op {
        ($name:expr, $batch:expr, |$f:ident| $a:expr, $b:expr) => {{
            let fa = f.clone();
            let fb = f.clone();
            v.push(Op {
                name: $name,
                batch: $batch,
                a: Box::new(move || {
                    let $f = &*fa;
                    black_box($a);
                }),
                b: Box::new(move || {
                    let $f = &*fb;
                    black_box($b);
                }),
            });
        }};
    }
    op!(
        "aes128 single-block chain x64 (CBC-MAC, 1 KiB)",
        500,
        |f| f.aes_a.chain(black_box(&f.chain_input)),
        f.aes_b.chain(black_box(&f.chain_input))
    );
    op!(
        "aes128 encrypt_blocks x64 (independent)",
        2000,
        |f| f.aes_a.blocks(black_box(7)),
        f.aes_b.blocks(black_box(7))
    );
    for (name, len, batch) in [
        ("ccm seal 64 B", 64usize, 2000usize),
        ("ccm seal 1 KiB", 1024, 200),
    ] {
        let pa = plaintext(len);
        let pb = plaintext(len);
        let (fa, fb) = (f.clone(), f.clone());
        let mut ba = vec![0u8; len];
        let mut bb = vec![0u8; len];
        v.push(Op {
            name,
            batch,
            a: Box::new(move || {
                ba.copy_from_slice(&pa);
                black_box(
                    fa.ccm_a
                        .seal(black_box(&NONCE), black_box(&AAD), black_box(&mut ba)),
                );
            }),
            b: Box::new(move || {
                bb.copy_from_slice(&pb);
                black_box(
                    fb.ccm_b
                        .seal(black_box(&NONCE), black_box(&AAD), black_box(&mut bb)),
                );
            }),
        });
    }
    op!(
        "p256 ecdh (scalar x affine point)",
        4,
        |f| f.ec_a.ecdh(),
        f.ec_b.ecdh()
    );
    op!(
        "p256 ecdh incl. point decompression",
        4,
        |f| f.ec_a.ecdh_compressed(black_box(&f.peer_compressed)),
        f.ec_b.ecdh_compressed(black_box(&f.peer_compressed))
    );
    op!(
        "p256 keygen (scalar x G, compressed)",
        4,
        |_f| gen_a::Ec::public_compressed(black_box(&SCALAR_X)),
        gen_b::Ec::public_compressed(black_box(&SCALAR_X))
    );
    op!(
        "p256 ecdsa sign (128 B)",
        4,
        |f| f.ec_a.sign(black_box(&f.msg)),
        f.ec_b.sign(black_box(&f.msg))
    );
    op!(
        "p256 ecdsa verify (128 B)",
        2,
        |f| f.ec_a.verify(black_box(&f.msg), black_box(&f.sig)),
        f.ec_b.verify(black_box(&f.msg), black_box(&f.sig))
    );
    v
}

const A: &str = "A: aes0.8/ccm0.5/p256-0.13";
const B: &str = "B: aes0.9/ccm0.6/p256-0.14";

fn criterion_benches(c: &mut Criterion) {
    for mut op in ops() {
        let mut g = c.benchmark_group(format!("generations/{}", op.name));
        if op.name.starts_with("ccm") {
            g.throughput(Throughput::Bytes(if op.name.ends_with("64 B") {
                64
            } else {
                1024
            }));
        }
        g.bench_function(BenchmarkId::from_parameter(A), |bn| bn.iter(&mut op.a));
        g.bench_function(BenchmarkId::from_parameter(B), |bn| bn.iter(&mut op.b));
        g.finish();
    }
}

criterion_group!(benches, criterion_benches);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if std::env::var("GEN_PAIRED").is_ok_and(|v| v == "0") {
        return;
    }
    let rounds = std::env::var("GEN_PAIRED_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(401);
    println!();
    println!(
        "paired: {rounds} rounds per operation, batches of A and B back to back (order flips \
         every round); ratio = time(B) / time(A) per round, median [quartiles], and min(B) / min(A); \
         > 1 = B slower"
    );
    println!("paired: A = {A}, B = {B}");
    println!("paired: load average at start: {}", loadavg());
    for mut op in ops() {
        paired(&mut op, rounds);
    }
    println!("paired: load average at end: {}", loadavg());
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".into())
}

/// Interleaved, paired timing (as in `benches/benches/oscore.rs`): each round times `batch`
/// calls of A and of B back to back, the order flipping between rounds; the ratio is taken
/// within each round.
fn paired(op: &mut Op, rounds: usize) {
    // warm-up
    for _ in 0..op.batch {
        (op.a)();
        (op.b)();
    }
    let (mut ta, mut tb) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    let time = |f: &mut Box<dyn FnMut()>, n: usize| {
        let t = std::time::Instant::now();
        for _ in 0..n {
            f();
        }
        t.elapsed().as_nanos() as f64 / n as f64
    };
    for r in 0..rounds {
        if r % 2 == 0 {
            ta.push(time(&mut op.a, op.batch));
            tb.push(time(&mut op.b, op.batch));
        } else {
            tb.push(time(&mut op.b, op.batch));
            ta.push(time(&mut op.a, op.batch));
        }
    }
    let ratios: Vec<f64> = ta.iter().zip(&tb).map(|(a, b)| b / a).collect();
    let q = |mut v: Vec<f64>, p: f64| {
        v.sort_by(|x, y| x.total_cmp(y));
        v[((v.len() - 1) as f64 * p).round() as usize]
    };
    let fmt = |ns: f64| {
        if ns >= 10_000.0 {
            format!("{:.1} µs", ns / 1000.0)
        } else {
            format!("{ns:.0} ns")
        }
    };
    println!(
        "paired {:<48} A {:>9} (min {:>9})  B {:>9} (min {:>9})  B/A = {:.2} [{:.2}–{:.2}]  min B/A = {:.2}",
        op.name,
        fmt(q(ta.clone(), 0.5)),
        fmt(q(ta.clone(), 0.0)),
        fmt(q(tb.clone(), 0.5)),
        fmt(q(tb.clone(), 0.0)),
        q(ratios.clone(), 0.5),
        q(ratios.clone(), 0.25),
        q(ratios, 0.75),
        q(tb.clone(), 0.0) / q(ta.clone(), 0.0),
    );
}
