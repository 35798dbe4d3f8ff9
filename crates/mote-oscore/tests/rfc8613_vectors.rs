//! RFC 8613 Appendix C.1–C.8, byte-exact, from `tests/data/rfc8613_appendix_c.txt`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Vector, appendix_c, hex, opt_hex};
use mote_oscore::context::{derive_keys, info};
use mote_oscore::cose::{Aad, InfoType, nonce};
use mote_oscore::option::OscoreOption;
use mote_oscore::{AeadAlgorithm, Framing, RequestBinding, SecurityContext, SecurityContextParams};

struct Owned {
    secret: Vec<u8>,
    salt: Vec<u8>,
    sender: Vec<u8>,
    recipient: Vec<u8>,
    id_context: Option<Vec<u8>>,
}

impl Owned {
    fn from(v: &Vector) -> Self {
        Self {
            secret: hex(v, "master_secret"),
            salt: opt_hex(v, "master_salt").unwrap_or_default(),
            sender: hex(v, "sender_id"),
            recipient: hex(v, "recipient_id"),
            id_context: opt_hex(v, "id_context"),
        }
    }

    fn params(&self) -> SecurityContextParams<'_> {
        let mut p = SecurityContextParams::new(&self.secret, &self.sender, &self.recipient);
        p.master_salt = &self.salt;
        p.id_context = self.id_context.as_deref();
        p
    }
}

const DERIVATIONS: [&str; 6] = ["C.1.1", "C.1.2", "C.2.1", "C.2.2", "C.3.1", "C.3.2"];

#[test]
fn c1_to_c3_info_structures() {
    let all = appendix_c();
    for name in DERIVATIONS {
        let v = &all[name];
        let o = Owned::from(v);
        let aead = AeadAlgorithm::AesCcm16_64_128;
        let mut buf = [0u8; 64];
        let ctx = o.id_context.as_deref();
        let n = info(&o.sender, ctx, aead, InfoType::Key, &mut buf).unwrap();
        assert_eq!(&buf[..n], hex(v, "info_sender_key"), "{name} info sender");
        let n = info(&o.recipient, ctx, aead, InfoType::Key, &mut buf).unwrap();
        assert_eq!(
            &buf[..n],
            hex(v, "info_recipient_key"),
            "{name} info recipient"
        );
        let n = info(&[], ctx, aead, InfoType::Iv, &mut buf).unwrap();
        assert_eq!(&buf[..n], hex(v, "info_common_iv"), "{name} info iv");
    }
}

#[test]
fn c1_to_c3_derived_keys_and_nonces() {
    let all = appendix_c();
    for name in DERIVATIONS {
        let v = &all[name];
        let o = Owned::from(v);
        let keys = derive_keys(&o.params()).unwrap();
        assert_eq!(keys.sender_key.expose(), hex(v, "sender_key"), "{name}");
        assert_eq!(
            keys.recipient_key.expose(),
            hex(v, "recipient_key"),
            "{name}"
        );
        assert_eq!(keys.common_iv.as_slice(), hex(v, "common_iv"), "{name}");
        let ctx = SecurityContext::new(&o.params()).unwrap();
        assert_eq!(ctx.common_iv(), hex(v, "common_iv"));
        // Partial IV 0 for sender and recipient.
        let (sn, len) = nonce(ctx.common_iv(), &o.sender, &[0]).unwrap();
        assert_eq!(&sn[..len], hex(v, "sender_nonce"), "{name} sender nonce");
        let (rn, len) = nonce(ctx.common_iv(), &o.recipient, &[0]).unwrap();
        assert_eq!(
            &rn[..len],
            hex(v, "recipient_nonce"),
            "{name} recipient nonce"
        );
    }
}

fn context_for(all: &std::collections::BTreeMap<String, Vector>, v: &Vector) -> SecurityContext {
    let o = Owned::from(&all[&v["context"]]);
    SecurityContext::new(&o.params()).unwrap()
}

#[test]
fn c4_to_c6_protected_requests() {
    let all = appendix_c();
    for name in ["C.4", "C.5", "C.6"] {
        let v = &all[name];
        let mut client = context_for(&all, v);
        assert_eq!(client.sender_key().expose(), hex(v, "sender_key"));
        let seq: u64 = v["sender_seq"].parse().unwrap();
        client.set_sender_sequence_number(seq).unwrap();

        // The intermediate COSE values.
        let piv = hex(v, "partial_iv");
        let aad = Aad::new(AeadAlgorithm::AesCcm16_64_128, &hex(v, "kid"), &piv).unwrap();
        assert_eq!(aad.as_bytes(), hex(v, "aad"), "{name} AAD");
        assert_eq!(
            aad.aad_array_bytes(),
            hex(v, "aad_array"),
            "{name} aad_array"
        );
        let (nb, n) = nonce(client.common_iv(), &hex(v, "sender_id"), &piv).unwrap();
        assert_eq!(&nb[..n], hex(v, "nonce"), "{name} nonce");

        let mut out = [0u8; 256];
        let (len, binding) = client
            .protect_request(Framing::Udp, &hex(v, "unprotected"), &mut out)
            .unwrap();
        assert_eq!(
            hex::encode(&out[..len]),
            hex::encode(hex(v, "protected")),
            "{name}"
        );
        assert_eq!(binding.request_piv(), piv);
        assert_eq!(binding.request_kid(), hex(v, "kid"));
        assert_eq!(client.sender_sequence_number(), seq + 1);

        // The OSCORE option value and ciphertext inside the message.
        let opt = mote_oscore::peek_oscore_option(Framing::Udp, &out[..len]).unwrap();
        let mut ob = [0u8; 32];
        let ol = opt.encode(&mut ob).unwrap();
        assert_eq!(&ob[..ol], hex(v, "oscore_option"));
        assert!(out[..len].ends_with(&hex(v, "ciphertext")));
    }
}

#[test]
fn c4_to_c6_requests_verify_at_the_server() {
    let all = appendix_c();
    for (name, server_ctx) in [("C.4", "C.1.2"), ("C.5", "C.2.2"), ("C.6", "C.3.2")] {
        let v = &all[name];
        let o = Owned::from(&all[server_ctx]);
        let mut server = SecurityContext::new(&o.params()).unwrap();
        let mut out = [0u8; 256];
        let verified = server
            .unprotect_request(Framing::Udp, &hex(v, "protected"), &mut out)
            .unwrap();
        // The decrypted request equals the original (outer code, OSCORE option removed).
        assert_eq!(&out[..verified.len], hex(v, "unprotected"), "{name}");
        assert_eq!(verified.binding.request_piv(), hex(v, "partial_iv"));
    }
}

#[test]
fn c7_c8_protected_responses() {
    let all = appendix_c();
    let req = &all["C.4"];
    for (name, own_piv) in [("C.7", false), ("C.8", true)] {
        let v = &all[name];
        let mut server = context_for(&all, v);
        assert_eq!(server.sender_key().expose(), hex(v, "sender_key"));
        let aad = Aad::new(
            AeadAlgorithm::AesCcm16_64_128,
            &hex(req, "kid"),
            &hex(req, "partial_iv"),
        )
        .unwrap();
        assert_eq!(aad.as_bytes(), hex(v, "aad"));
        assert_eq!(aad.aad_array_bytes(), hex(v, "aad_array"));
        let mut binding =
            RequestBinding::new(&hex(req, "kid"), &hex(req, "partial_iv"), false).unwrap();
        let mut out = [0u8; 256];
        let len = server
            .protect_response(
                Framing::Udp,
                &mut binding,
                &hex(v, "unprotected"),
                own_piv,
                &mut out,
            )
            .unwrap();
        assert_eq!(
            hex::encode(&out[..len]),
            hex::encode(hex(v, "protected")),
            "{name}"
        );
        let opt = mote_oscore::peek_oscore_option(Framing::Udp, &out[..len]).unwrap();
        let mut ob = [0u8; 8];
        let ol = opt.encode(&mut ob).unwrap();
        assert_eq!(&ob[..ol], hex(v, "oscore_option"), "{name} option");
        assert!(out[..len].ends_with(&hex(v, "ciphertext")));
        if let Some(piv) = opt_hex(v, "partial_iv") {
            let (nb, n) = nonce(server.common_iv(), &hex(v, "sender_id"), &piv).unwrap();
            assert_eq!(&nb[..n], hex(v, "nonce"), "{name} nonce");
        }

        // And the client (C.1.1) verifies it.
        let mut client = context_for(&all, req);
        let mut client_binding =
            RequestBinding::new(&hex(req, "kid"), &hex(req, "partial_iv"), false).unwrap();
        let mut plain = [0u8; 256];
        let n = client
            .unprotect_response(
                Framing::Udp,
                &mut client_binding,
                &hex(v, "protected"),
                &mut plain,
            )
            .unwrap();
        assert_eq!(&plain[..n], hex(v, "unprotected"), "{name}");
    }
}

#[test]
fn section_6_3_option_examples() {
    for line in include_str!("data/rfc8613_section_6_3.txt").lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('|').map(str::trim).collect();
        let field = |s: &str| match s {
            "none" => None,
            "-" => Some(Vec::new()),
            h => Some(hex::decode(h).unwrap()),
        };
        let value = field(f[0]).unwrap();
        let (piv, ctx, kid) = (field(f[1]), field(f[2]), field(f[3]));
        let decoded = OscoreOption::decode(&value).unwrap();
        assert_eq!(decoded.partial_iv, piv.as_deref(), "{line}");
        assert_eq!(decoded.kid_context, ctx.as_deref(), "{line}");
        assert_eq!(decoded.kid, kid.as_deref(), "{line}");
        let mut buf = [0u8; 32];
        let n = decoded.encode(&mut buf).unwrap();
        assert_eq!(&buf[..n], &value[..], "{line}");
        assert_eq!(decoded.encoded_len(), value.len());
    }
}
