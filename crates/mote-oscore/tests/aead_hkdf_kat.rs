//! Known answers for every AEAD of mote-oscore (COSE 1, 2, 3, 10–13, 24, 30–33) with HKDF
//! SHA-256 and SHA-512: derived keys and Common IV, and protected requests and responses,
//! byte-exact against `tests/data/aead_hkdf_kat.txt`. Those values were produced by aiocoap's
//! OSCORE implementation, not by this crate (`tests/data/generate_aead_hkdf_kat.py`).
//!
//! Also: Sender/Recipient IDs longer than the nonce allows (RFC 8613 §3.3) are rejected.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Vector, hex, load, opt_hex};
use mote_oscore::context::{aead_from_cose_id, derive_keys, hkdf_from_cose_id};
use mote_oscore::{AeadAlgorithm, Error, Framing, SecurityContext, SecurityContextParams};

fn all_vectors() -> std::collections::BTreeMap<String, Vector> {
    load(include_str!("data/aead_hkdf_kat.txt"))
}

/// The vectors this build can run: without `std`, AES-GCM and ChaCha20/Poly1305 need
/// mote-cose's `aes-gcm` / `chacha20` and HKDF-SHA-512 needs `hkdf-sha512`
/// (`tests/aead_feature.rs` and `tests/hkdf_feature.rs` check the refusals).
fn vectors() -> std::collections::BTreeMap<String, Vector> {
    all_vectors()
        .into_iter()
        .filter(|(_, v)| {
            AeadAlgorithm::from_id(int(v, "alg")).is_some_and(AeadAlgorithm::is_available)
                && (int(v, "hkdf") == -10 || cfg!(feature = "hkdf-sha512"))
        })
        .collect()
}

fn int(v: &Vector, key: &str) -> i64 {
    v[key].parse().unwrap()
}

struct Owned {
    secret: Vec<u8>,
    salt: Vec<u8>,
    sender: Vec<u8>,
    recipient: Vec<u8>,
    id_context: Option<Vec<u8>>,
    aead: AeadAlgorithm,
    hkdf: mote_oscore::HkdfAlgorithm,
}

impl Owned {
    fn from(v: &Vector) -> Self {
        Self {
            secret: hex(v, "master_secret"),
            salt: hex(v, "master_salt"),
            sender: hex(v, "sender_id"),
            recipient: hex(v, "recipient_id"),
            id_context: opt_hex(v, "id_context"),
            aead: aead_from_cose_id(int(v, "alg")).unwrap(),
            hkdf: hkdf_from_cose_id(int(v, "hkdf")).unwrap(),
        }
    }

    /// The client's parameters (`server = false`) or the server's (IDs swapped).
    fn params(&self, server: bool) -> SecurityContextParams<'_> {
        let (s, r) = if server {
            (&self.recipient, &self.sender)
        } else {
            (&self.sender, &self.recipient)
        };
        let mut p = SecurityContextParams::new(&self.secret, s, r);
        p.master_salt = &self.salt;
        p.id_context = self.id_context.as_deref();
        p.aead = self.aead;
        p.hkdf = self.hkdf;
        p
    }
}

#[test]
fn every_aead_and_hkdf_is_covered() {
    let all = all_vectors();
    let mut seen = std::collections::BTreeSet::new();
    for v in all.values() {
        seen.insert((int(v, "alg"), int(v, "hkdf")));
    }
    for alg in AeadAlgorithm::ALL {
        for hkdf in [-10, -11] {
            assert!(
                seen.contains(&(alg.id(), hkdf)),
                "alg {} hkdf {hkdf}",
                alg.id()
            );
        }
    }
}

#[test]
fn derived_keys_and_common_iv() {
    for (name, v) in vectors() {
        let o = Owned::from(&v);
        let keys = derive_keys(&o.params(false)).unwrap();
        assert_eq!(keys.sender_key.expose(), hex(&v, "sender_key"), "{name}");
        assert_eq!(
            keys.recipient_key.expose(),
            hex(&v, "recipient_key"),
            "{name}"
        );
        assert_eq!(keys.common_iv.as_slice(), hex(&v, "common_iv"), "{name}");
        // The server derives the same material with the roles swapped.
        let server = derive_keys(&o.params(true)).unwrap();
        assert_eq!(
            server.sender_key.expose(),
            hex(&v, "recipient_key"),
            "{name}"
        );
        assert_eq!(
            server.recipient_key.expose(),
            hex(&v, "sender_key"),
            "{name}"
        );
    }
}

#[test]
fn protected_requests_and_responses() {
    for (name, v) in vectors() {
        let o = Owned::from(&v);
        let mut client = SecurityContext::new(&o.params(false)).unwrap();
        let mut server = SecurityContext::new(&o.params(true)).unwrap();
        client
            .set_sender_sequence_number(int(&v, "sequence_number") as u64)
            .unwrap();
        server
            .set_sender_sequence_number(int(&v, "server_sequence_number") as u64)
            .unwrap();
        let mut out = [0u8; 256];
        let mut plain = [0u8; 256];

        // Request: byte-exact, and it verifies at the server.
        let (n, binding) = client
            .protect_request(Framing::Udp, &hex(&v, "unprotected_request"), &mut out)
            .unwrap();
        assert_eq!(&out[..n], hex(&v, "request"), "{name} request");
        let verified = server
            .unprotect_request(Framing::Udp, &hex(&v, "request"), &mut plain)
            .unwrap();
        assert_eq!(
            &plain[..verified.len],
            hex(&v, "unprotected_request"),
            "{name} verified request"
        );

        // Response reusing the request nonce, then one with the server's own Partial IV.
        let mut sb = verified.binding;
        let n = server
            .protect_response(
                Framing::Udp,
                &mut sb,
                &hex(&v, "unprotected_response"),
                false,
                &mut out,
            )
            .unwrap();
        assert_eq!(&out[..n], hex(&v, "response"), "{name} response");
        let n = server
            .protect_response(
                Framing::Udp,
                &mut sb,
                &hex(&v, "unprotected_response"),
                true,
                &mut out,
            )
            .unwrap();
        assert_eq!(&out[..n], hex(&v, "response_piv"), "{name} response_piv");

        // Both verify at the client (each against a fresh copy of the request's binding).
        for key in ["response", "response_piv"] {
            let mut cb = binding;
            let m = client
                .unprotect_response(Framing::Udp, &mut cb, &hex(&v, key), &mut plain)
                .unwrap();
            assert_eq!(
                &plain[..m],
                hex(&v, "unprotected_response"),
                "{name} verified {key}"
            );
        }
        // A flipped ciphertext byte is rejected.
        let mut tampered = hex(&v, "response");
        *tampered.last_mut().unwrap() ^= 0x01;
        let mut cb = binding;
        assert_eq!(
            client.unprotect_response(Framing::Udp, &mut cb, &tampered, &mut plain),
            Err(Error::DecryptionFailed),
            "{name}"
        );
    }
}

/// RFC 8613 §3.3: "the maximum length of Sender ID in bytes equals the length of the AEAD
/// nonce minus 6" — 7 bytes for AES-CCM-16-* (13-byte nonce), 6 for AES-GCM and
/// ChaCha20/Poly1305 (12), 1 for AES-CCM-64-* (7).
#[test]
fn ids_longer_than_the_nonce_allows_are_rejected() {
    let secret = [0x11u8; 16];
    for alg in AeadAlgorithm::ALL.into_iter().filter(|a| a.is_available()) {
        let max = alg.nonce_len() - 6;
        let longest = vec![0xa5u8; max];
        let too_long = vec![0x5au8; max + 1];
        for (sender, recipient, ok) in [
            (&longest[..], &[0x01][..], true),
            (&[0x01][..], &longest[..], true),
            (&too_long[..], &[0x01][..], false),
            (&[0x01][..], &too_long[..], false),
            (&too_long[..], &too_long[..], false),
        ] {
            // (IDs within one context must differ; 0x01 differs from both fills.)
            let mut p = SecurityContextParams::new(&secret, sender, recipient);
            p.aead = alg;
            let derived = derive_keys(&p);
            let ctx = SecurityContext::new(&p);
            if ok {
                assert!(derived.is_ok(), "{alg:?} {sender:02x?} {recipient:02x?}");
                assert!(ctx.is_ok(), "{alg:?} {sender:02x?} {recipient:02x?}");
            } else {
                assert!(
                    matches!(derived, Err(Error::InvalidParameter(_))),
                    "{alg:?} {sender:02x?} {recipient:02x?}: {derived:?}"
                );
                assert!(
                    matches!(ctx, Err(Error::InvalidParameter(_))),
                    "{alg:?} {sender:02x?} {recipient:02x?}"
                );
            }
        }
        // A context with the longest IDs protects and verifies (the nonce has room for them).
        let other = vec![0x3cu8; max];
        let mut pc = SecurityContextParams::new(&secret, &longest, &other);
        pc.aead = alg;
        let mut ps = SecurityContextParams::new(&secret, &other, &longest);
        ps.aead = alg;
        let mut client = SecurityContext::new(&pc).unwrap();
        let mut server = SecurityContext::new(&ps).unwrap();
        let request = [
            0x44, 0x01, 0x5d, 0x1f, 0x00, 0x00, 0x39, 0x74, 0xb3, b't', b'v', b'1',
        ];
        let (mut out, mut plain) = ([0u8; 128], [0u8; 128]);
        let (n, _) = client
            .protect_request(Framing::Udp, &request, &mut out)
            .unwrap();
        let verified = server
            .unprotect_request(Framing::Udp, &out[..n], &mut plain)
            .unwrap();
        assert_eq!(&plain[..verified.len], &request, "{alg:?}");
    }
}
