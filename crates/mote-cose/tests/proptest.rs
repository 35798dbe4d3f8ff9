//! Property tests: decode(encode(x)) == x and encoded_len(x) == encode(x).len() for headers,
//! every message type and COSE_Key; seal/open round trips for every algorithm.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use mote_cose::algorithm::{AeadAlgorithm, MacAlgorithm, SignatureAlgorithm, SigningKey};
use mote_cose::cbor::{Decoder, Encoder};
use mote_cose::header::{Header, Label, Params, ProtectedHeader};
use mote_cose::kdf::{KdfContext, PartyInfo};
use mote_cose::key::{CoseKey, EcY, KeyType, curve};
use mote_cose::message::{Encrypt0, Encrypt0Builder, Mac0, Mac0Builder, Sign1, Sign1Builder};
use mote_cose::multi::{
    Encrypt, EncryptBuilder, Mac, MacBuilder, Sign, SignBuilder, encode_recipient,
};
use proptest::prelude::*;

/// An owned header description.
#[derive(Debug, Clone)]
struct H {
    alg: Option<i64>,
    ct: Option<u16>,
    kid: Option<Vec<u8>>,
    iv: Option<Vec<u8>>,
    piv: Option<Vec<u8>>,
    other: Vec<(i64, Vec<u8>)>,
}

fn h_strategy() -> impl Strategy<Value = H> {
    (
        proptest::option::of(-40i64..40),
        proptest::option::of(any::<u16>()),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
        prop_oneof![Just(0u8), Just(1), Just(2)],
        proptest::collection::vec(any::<u8>(), 0..16),
        proptest::collection::btree_map(
            prop_oneof![-30i64..-4, 7i64..100],
            proptest::collection::vec(any::<u8>(), 0..8),
            0..4,
        ),
    )
        .prop_map(|(alg, ct, kid, ivk, ivb, other)| H {
            alg,
            ct,
            kid,
            iv: (ivk == 1).then(|| ivb.clone()),
            piv: (ivk == 2).then_some(ivb),
            // Only labels without a registered meaning we type-check, valued as bstr.
            other: other
                .into_iter()
                .filter(|(l, _)| !matches!(*l, -3..=-1 | -26..=-20 | 10 | 13 | 14 | 32..=35))
                .map(|(l, v)| {
                    let mut e = Vec::new();
                    Encoder::new(&mut e).bytes(&v).unwrap();
                    (l, e)
                })
                .collect(),
        })
}

impl H {
    fn header<'a>(&'a self, other: &'a [(Label<'a>, &'a [u8])]) -> Header<'a> {
        Header {
            alg: self.alg.map(Label::Int),
            crit: None,
            content_type: self.ct.map(|c| Label::Int(i64::from(c))),
            kid: self.kid.as_deref(),
            iv: self.iv.as_deref(),
            partial_iv: self.piv.as_deref(),
            other: Params::List(other),
        }
    }

    fn other(&self) -> Vec<(Label<'_>, &[u8])> {
        self.other
            .iter()
            .map(|(l, v)| (Label::Int(*l), &v[..]))
            .collect()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn header_round_trip(h in h_strategy()) {
        let other = h.other();
        let header = h.header(&other);
        let bytes = header.to_vec();
        prop_assert_eq!(bytes.len(), header.encoded_len());
        let mut d = Decoder::new(&bytes);
        let back = Header::decode(&mut d, true).unwrap();
        d.finish().unwrap();
        prop_assert_eq!(back, header);
        prop_assert_eq!(back.to_vec(), bytes);
    }

    #[test]
    fn encrypt0_mac0_sign1_views_round_trip(
        p in h_strategy(),
        u in h_strategy(),
        body in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
        tag in proptest::collection::vec(any::<u8>(), 0..32),
        tagged in any::<bool>(),
    ) {
        // Buckets must not share labels: keep the protected one's fields only there.
        let po = p.other();
        let ph = p.header(&po);
        let praw = if ph.is_empty() { Vec::new() } else { ph.to_vec() };
        let protected = ProtectedHeader::from_raw(&praw).unwrap();
        let uo: Vec<_> = u.other().into_iter().filter(|(l, _)| !ph.contains(*l)).collect();
        let mut uh = u.header(&uo);
        if ph.alg.is_some() { uh.alg = None; }
        if ph.content_type.is_some() { uh.content_type = None; }
        if ph.kid.is_some() { uh.kid = None; }
        if ph.iv.is_some() || ph.partial_iv.is_some() { uh.iv = None; uh.partial_iv = None; }
        if uh.iv.is_some() && uh.partial_iv.is_some() { uh.partial_iv = None; }
        if (ph.iv.is_some() && uh.partial_iv.is_some()) || (ph.partial_iv.is_some() && uh.iv.is_some()) { uh.iv = None; uh.partial_iv = None; }

        let e = Encrypt0 { protected, unprotected: uh, ciphertext: body.as_deref(), tagged };
        let mut bytes = Vec::new();
        e.encode(&mut Encoder::new(&mut bytes)).unwrap();
        prop_assert_eq!(bytes.len(), e.encoded_len());
        prop_assert_eq!(Encrypt0::decode(&bytes).unwrap(), e);

        let m = Mac0 { protected, unprotected: uh, payload: body.as_deref(), tag: &tag, tagged };
        let mut bytes = Vec::new();
        m.encode(&mut Encoder::new(&mut bytes)).unwrap();
        prop_assert_eq!(bytes.len(), m.encoded_len());
        prop_assert_eq!(Mac0::decode(&bytes).unwrap(), m);

        let s = Sign1 { protected, unprotected: uh, payload: body.as_deref(), signature: &tag, tagged };
        let mut bytes = Vec::new();
        s.encode(&mut Encoder::new(&mut bytes)).unwrap();
        prop_assert_eq!(bytes.len(), s.encoded_len());
        prop_assert_eq!(Sign1::decode(&bytes).unwrap(), s);
    }

    #[test]
    fn aead_seal_open_every_algorithm(
        idx in 0usize..12,
        pt in proptest::collection::vec(any::<u8>(), 0..200),
        aad in proptest::collection::vec(any::<u8>(), 0..40),
        seed in any::<u8>(),
        flip in any::<usize>(),
    ) {
        let alg = AeadAlgorithm::ALL[idx];
        let key = vec![seed; alg.key_len()];
        let nonce = vec![seed ^ 0x5a; alg.nonce_len()];
        let b = Encrypt0Builder {
            protected: Header { alg: Some(Label::Int(alg.id())), ..Header::default() },
            unprotected: Header { iv: Some(&nonce), ..Header::default() },
            tagged: true,
        };
        if !alg.is_available() {
            // Left out of this build (features `aes-gcm`, `chacha20`): refused, never sealed.
            prop_assert_eq!(
                b.seal_to_vec(&key, None, &pt, &aad),
                Err(mote_cose::Error::Algorithm(alg.id()))
            );
            return Ok(());
        }
        let msg = b.seal_to_vec(&key, None, &pt, &aad).unwrap();
        prop_assert_eq!(msg.len(), b.encoded_len(pt.len()).unwrap());
        let e = Encrypt0::decode(&msg).unwrap();
        prop_assert_eq!(e.decrypt(&key, None, &aad, None).unwrap(), pt.clone());
        // Any flipped ciphertext bit is caught.
        let ct = e.ciphertext.unwrap();
        let mut bad = ct.to_vec();
        let i = flip % bad.len();
        bad[i] ^= 1;
        let forged = Encrypt0 { ciphertext: Some(&bad), ..e };
        prop_assert_eq!(forged.decrypt(&key, None, &aad, None), Err(mote_cose::Error::Crypto));
    }

    #[test]
    fn mac0_and_sign1_round_trip(
        payload in proptest::collection::vec(any::<u8>(), 0..100),
        aad in proptest::collection::vec(any::<u8>(), 0..20),
        mac_idx in 4i64..8,
        seed in any::<[u8; 32]>(),
        detached in any::<bool>(),
    ) {
        let alg = MacAlgorithm::from_id(mac_idx).unwrap();
        let key = vec![seed[0]; alg.key_len()];
        let b = Mac0Builder {
            protected: Header { alg: Some(Label::Int(alg.id())), ..Header::default() },
            unprotected: Header::default(),
            tagged: false,
            detached,
        };
        let msg = b.seal_to_vec(&key, &payload, &aad).unwrap();
        prop_assert_eq!(msg.len(), b.encoded_len(payload.len()).unwrap());
        let m = Mac0::decode(&msg).unwrap();
        let d = detached.then_some(&payload[..]);
        prop_assert_eq!(m.verify(&key, &aad, d).unwrap(), &payload[..]);
        // Any other external AAD must fail: append a byte so it can never equal `aad`.
        let mut other_aad = aad.clone();
        other_aad.push(0x78);
        prop_assert!(m.verify(&key, &other_aad, d).is_err());

        for sa in [SignatureAlgorithm::EdDsa, SignatureAlgorithm::Es256, SignatureAlgorithm::Es384] {
            let mut d_bytes = seed.to_vec();
            d_bytes.resize(sa.private_key_len(), 7);
            d_bytes[0] |= 1;
            d_bytes[1] &= 0x7f;
            let Ok(sk) = SigningKey::from_bytes(sa, &d_bytes) else { continue };
            let b = Sign1Builder {
                protected: Header { alg: Some(Label::Int(sa.id())), ..Header::default() },
                unprotected: Header { kid: Some(b"k"), ..Header::default() },
                tagged: true,
                detached,
            };
            let msg = b.sign_to_vec(&sk, &payload, &aad).unwrap();
            prop_assert_eq!(msg.len(), b.encoded_len(&sk, payload.len()));
            let s = Sign1::decode(&msg).unwrap();
            let vk = sk.verifying_key();
            prop_assert_eq!(s.verify(&vk, &aad, detached.then_some(&payload[..])).unwrap(), &payload[..]);
            prop_assert!(s.verify(&vk, &other_aad, detached.then_some(&payload[..])).is_err());
        }
    }

    #[test]
    fn multi_party_round_trip(
        pt in proptest::collection::vec(any::<u8>(), 0..64),
        kids in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..6), 1..4),
        key in any::<[u8; 16]>(),
        tagged in any::<bool>(),
    ) {
        let iv = [3u8; 13];
        let recips: Vec<Vec<u8>> = kids
            .iter()
            .map(|k| encode_recipient(&Header::default(), &Header { alg: Some(Label::Int(-6)), kid: Some(k), ..Header::default() }, &[]).unwrap())
            .collect();
        let raws: Vec<&[u8]> = recips.iter().map(Vec::as_slice).collect();
        let b = EncryptBuilder {
            protected: Header { alg: Some(Label::Int(10)), ..Header::default() },
            unprotected: Header { iv: Some(&iv), ..Header::default() },
            tagged,
        };
        let bytes = b.seal(&key, None, &pt, b"", &raws).unwrap();
        let e = Encrypt::decode(&bytes).unwrap();
        prop_assert_eq!(e.to_vec().unwrap(), bytes.clone());
        prop_assert_eq!(e.recipients.len(), kids.len());
        let ck = CoseKey { kid: Some(&kids[kids.len() - 1]), ..CoseKey::symmetric(&key) };
        prop_assert_eq!(e.decrypt(&ck, None, b"", None).unwrap(), pt.clone());

        let mac_key = [key[0]; 32];
        let b = MacBuilder { protected: Header { alg: Some(Label::Int(5)), ..Header::default() }, unprotected: Header::default(), tagged };
        let bytes = b.seal(&mac_key, &pt, b"", &raws).unwrap();
        let m = Mac::decode(&bytes).unwrap();
        prop_assert_eq!(m.to_vec().unwrap(), bytes.clone());
        prop_assert_eq!(m.verify(&CoseKey::symmetric(&mac_key), None, b"", None).unwrap(), &pt[..]);

        let sk = SigningKey::from_bytes(SignatureAlgorithm::EdDsa, &[key[1]; 32]).unwrap();
        let signers: Vec<_> = kids.iter().map(|k| (&sk, Header { alg: Some(Label::Int(-8)), ..Header::default() }, Header { kid: Some(k), ..Header::default() })).collect();
        let b = SignBuilder { protected: Header::default(), unprotected: Header::default(), tagged };
        let bytes = b.sign(&signers, &pt, b"").unwrap();
        let s = Sign::decode(&bytes).unwrap();
        prop_assert_eq!(s.to_vec().unwrap(), bytes.clone());
        prop_assert_eq!(s.signatures.len(), kids.len());
        prop_assert_eq!(s.verify(&sk.verifying_key(), Some(&kids[0]), b"", None).unwrap(), &pt[..]);
    }

    #[test]
    fn cose_key_round_trip(
        kind in 0u8..4,
        kid in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
        alg in proptest::option::of(-40i64..40),
        a in proptest::collection::vec(any::<u8>(), 32),
        b in proptest::collection::vec(any::<u8>(), 32),
        sign in any::<bool>(),
        base_iv in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..13)),
    ) {
        let mut k = match kind {
            0 => CoseKey::symmetric(&a),
            1 => CoseKey::curve_key(KeyType::Okp, curve::ED25519, &a, None, Some(&b)),
            2 => CoseKey::curve_key(KeyType::Ec2, curve::P256, &a, Some(EcY::Coordinate(&b)), None),
            _ => CoseKey::curve_key(KeyType::Ec2, curve::P256, &a, Some(EcY::Sign(sign)), Some(&b)),
        };
        k.kid = kid.as_deref();
        k.alg = alg.map(Label::Int);
        k.base_iv = base_iv.as_deref();
        let bytes = k.to_vec();
        prop_assert_eq!(bytes.len(), k.encoded_len());
        prop_assert_eq!(CoseKey::decode(&bytes).unwrap(), k);
    }

    #[test]
    fn kdf_context_round_trip(
        alg in -40i64..40,
        id in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
        nonce in proptest::option::of(any::<i32>()),
        other in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
        bits in any::<u16>(),
        protected in proptest::collection::vec(any::<u8>(), 0..8),
        priv_info in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
    ) {
        let nonce_item = nonce.map(|n| {
            let mut v = Vec::new();
            Encoder::new(&mut v).i64(i64::from(n)).unwrap();
            v
        });
        let c = KdfContext {
            algorithm_id: Label::Int(alg),
            party_u: PartyInfo { identity: id.as_deref(), nonce: nonce_item.as_deref(), other: other.as_deref() },
            party_v: PartyInfo { identity: other.as_deref(), nonce: None, other: id.as_deref() },
            key_data_length: u64::from(bits),
            protected: &protected,
            supp_pub_other: other.as_deref(),
            supp_priv_info: priv_info.as_deref(),
        };
        let bytes = c.to_vec();
        prop_assert_eq!(bytes.len(), c.encoded_len());
        prop_assert_eq!(KdfContext::decode(&bytes).unwrap(), c);
    }

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        let _ = mote_cose::multi::Message::decode(&bytes);
        let _ = CoseKey::decode(&bytes);
        let _ = KdfContext::decode(&bytes);
    }
}
