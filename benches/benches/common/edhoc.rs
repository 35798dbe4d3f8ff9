//! The EDHOC handshakes and EC floors shared by the edhoc bench (benches/benches/edhoc.rs) and
//! the profiling example (benches/examples/edhoc_profile.rs), included with `#[path]`: Mote's
//! handshake with prepared providers, lakers 0.8's on RFC 9529 Trace 2's credentials, and the
//! elliptic-curve operations each handshake cannot avoid, on the same crypto (mote-cose).

use std::hint::black_box;
use std::time::{Duration, Instant};

use lakers::{
    Credential as LCredential, CredentialTransfer, EDHOCMethod, EDHOCSuite, EdhocInitiator,
    EdhocMessageBuffer, EdhocResponder, credential_check_or_fetch,
};
use mote_cose::algorithm::{EcdhCurve, EcdhPublicKey, EcdhSecret, SigningKey, VerifyingKey};
use mote_edhoc::*;

pub(crate) type C = MoteCrypto<rand_core::OsRng>;

// RFC 9529 Trace 2 credentials (P-256, by 'kid').
pub(crate) const CRED_I: &str = "a2027734322d35302d33312d46462d45462d33372d33322d333908a101a5010202412b2001215820ac75e9ece3e50bfc8ed60399889522405c47bf16df96660a41298cb4307f7eb62258206e5de611388a4b8a8211334ac7d37ecb52a387d257e6db3c2a93df21ff3affc8";
pub(crate) const CRED_R: &str = "a2026b6578616d706c652e65647508a101a501020241322001215820bbc34960526ea4d32e940cad2a234148ddc21791a12afbcbac93622046dd44f02258204519e257236b2a0ce2023f0931f1f386ca7afda64fcde0108c224c51eabf6072";
pub(crate) const SK_I: &str = "fb13adeb6518cee5f88417660841142e830a81fe334380a953406a1305e8706b";
pub(crate) const SK_R: &str = "72cc4761dbd4c78f758931aa589d348d1ef874a7e303ede2f140dcf3e6aa4aac";

pub(crate) fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

/// An endpoint as an application sets it up once: its identity and a crypto provider prepared
/// for it ([`MoteCrypto::prepare`]), cloned for every handshake.
pub(crate) struct Party {
    pub(crate) id: Identity,
    pub(crate) crypto: C,
}

impl std::ops::Deref for Party {
    type Target = Identity;
    fn deref(&self) -> &Identity {
        &self.id
    }
}

pub(crate) fn party(id: Identity) -> Party {
    let crypto = MoteCrypto::new().prepare(&id).unwrap();
    Party { id, crypto }
}

/// Identities for (method, suite): Trace 2's for P-256 static DH, fresh CCS keys otherwise.
pub(crate) fn identities(method: Method, suite: u8) -> (Party, Party) {
    if suite == 2 && method == Method::StaticStatic {
        let i = Identity::by_reference(Credential::ccs(&h(CRED_I)).unwrap(), &h(SK_I)).unwrap();
        let r = Identity::by_reference(Credential::ccs(&h(CRED_R)).unwrap(), &h(SK_R)).unwrap();
        return (party(i), party(r));
    }
    let s = CipherSuite::from_id(i64::from(suite)).unwrap();
    let make = |static_dh: bool, kid: u8, sk: [u8; 32]| {
        let secret = Secret::from_slice(&sk).unwrap();
        let cred = Credential::ccs_for_private_key(
            &mut MoteCrypto::new(),
            s,
            static_dh,
            "bench",
            &[kid],
            &secret,
        )
        .unwrap();
        Identity::by_reference(cred, &sk).unwrap()
    };
    (
        party(make(method.initiator_static_dh(), 0x2b, [0x11; 32])),
        party(make(method.responder_static_dh(), 0x32, [0x22; 32])),
    )
}

/// One full handshake; returns (initiator time, responder time, total message bytes).
pub(crate) fn mote_handshake(
    id_i: &Party,
    id_r: &Party,
    method: Method,
    suite: u8,
) -> (Duration, Duration, usize) {
    let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
    let t = Instant::now();
    let i = Initiator::<C>::new(
        id_i.crypto.clone(),
        InitiatorConfig::new(method, suite, id_i.id.clone()),
    );
    let (i, m1) = i
        .prepare_message_1(ConnId::from_int(-24).unwrap(), &Ead::new())
        .unwrap();
    let mut ti = t.elapsed();
    let t = Instant::now();
    let r = Responder::<C>::new(
        id_r.crypto.clone(),
        ResponderConfig::new(suite, id_r.id.clone()),
    );
    let r = r.process_message_1(m1.as_slice()).unwrap();
    let (r, m2) = r
        .prepare_message_2(ConnId::from_int(-8).unwrap(), &Ead::new())
        .unwrap();
    let mut tr = t.elapsed();
    let t = Instant::now();
    let i = i
        .parse_message_2(m2.as_slice())
        .unwrap()
        .verify_message_2(&cred_r)
        .unwrap();
    let (i, m3) = i.prepare_message_3(&Ead::new()).unwrap();
    ti += t.elapsed();
    let t = Instant::now();
    let r = r
        .parse_message_3(m3.as_slice())
        .unwrap()
        .verify_message_3(&cred_i)
        .unwrap();
    let (mut rs, m4) = r.prepare_message_4(&Ead::new()).unwrap();
    let mut ms = [0u8; 16];
    rs.exporter(0, &[], &mut ms).unwrap();
    tr += t.elapsed();
    let t = Instant::now();
    let (mut is, _) = i.process_message_4(m4.as_slice()).unwrap();
    let mut mi = [0u8; 16];
    is.exporter(0, &[], &mut mi).unwrap();
    ti += t.elapsed();
    assert_eq!(mi, ms);
    (ti, tr, m1.len() + m2.len() + m3.len() + m4.len())
}

pub(crate) fn lakers_handshake() -> usize {
    let buf = |b: &[u8]| EdhocMessageBuffer::new_from_slice(b).unwrap();
    let (cred_i, cred_r) = (
        LCredential::parse_ccs(&h(CRED_I)).unwrap(),
        LCredential::parse_ccs(&h(CRED_R)).unwrap(),
    );
    let sk_i: [u8; 32] = h(SK_I).try_into().unwrap();
    let sk_r: [u8; 32] = h(SK_R).try_into().unwrap();
    let crypto = || lakers_crypto_rustcrypto::Crypto::new(rand_core::OsRng);
    let i = EdhocInitiator::new(crypto(), EDHOCMethod::StatStat, EDHOCSuite::CipherSuite2);
    let r = EdhocResponder::new(crypto(), EDHOCMethod::StatStat, sk_r, cred_r);
    let (i, m1) = i.prepare_message_1(None, &None).unwrap();
    let (r, _, _) = r.process_message_1(&m1).unwrap();
    let (r, m2) = r
        .prepare_message_2(CredentialTransfer::ByReference, None, &None)
        .unwrap();
    let (mut i, _, id_cred_r, _) = i.parse_message_2(&m2).unwrap();
    i.set_identity(sk_i, cred_i).unwrap();
    let i = i
        .verify_message_2(credential_check_or_fetch(Some(cred_r), id_cred_r).unwrap())
        .unwrap();
    let (i, m3, _) = i
        .prepare_message_3(CredentialTransfer::ByReference, &None)
        .unwrap();
    let (r, id_cred_i, _) = r.parse_message_3(&buf(m3.as_slice())).unwrap();
    let (r, _) = r
        .verify_message_3(credential_check_or_fetch(Some(cred_i), id_cred_i).unwrap())
        .unwrap();
    let (mut r, m4) = r.prepare_message_4(&None).unwrap();
    let (mut i, _) = i.process_message_4(&m4).unwrap();
    assert_eq!(
        i.edhoc_exporter(0, &[], 16)[..16],
        r.edhoc_exporter(0, &[], 16)[..16]
    );
    m1.as_slice().len() + m2.as_slice().len() + m3.as_slice().len() + m4.as_slice().len()
}

/// The elliptic-curve operations of a method 3 handshake on P-256, on mote-cose: each side
/// generates its ephemeral key and computes three ECDH (G_XY, G_RX, G_IY). The peer's
/// ephemeral key arrives as x alone and is decompressed once (a square root); the static keys
/// G_R and G_I come with their y in the credentials and are only checked on the curve. That is
/// what a handshake cannot avoid; a naive one decompresses at every ECDH (6 square roots
/// instead of 2).
pub(crate) fn ec_ops_m3_p256(g_r: &PublicKey, g_i: &PublicKey, s_i: &EcdhSecret, s_r: &EcdhSecret) {
    let mut rng = rand_core::OsRng;
    let ex = EcdhSecret::generate(EcdhCurve::P256, &mut rng);
    let ey = EcdhSecret::generate(EcdhCurve::P256, &mut rng);
    let (gx, gy) = (ex.public_key().x(), ey.public_key().x());
    let pk = |x: &[u8]| EcdhPublicKey::p256_compressed(x, false).unwrap();
    let with_y = |k: &PublicKey| EcdhPublicKey::p256(&k.x, &k.y.unwrap()).unwrap();
    let (p_x, p_y) = (pk(&gx), pk(&gy)); // R decompresses G_X, I decompresses G_Y
    black_box(ey.diffie_hellman(&p_x).unwrap()); // R: G_XY
    black_box(s_r.diffie_hellman(&p_x).unwrap()); // R: G_RX
    black_box(ex.diffie_hellman(&p_y).unwrap()); // I: G_XY
    black_box(ex.diffie_hellman(&with_y(g_r)).unwrap()); // I: G_RX
    black_box(s_i.diffie_hellman(&p_y).unwrap()); // I: G_IY
    black_box(ey.diffie_hellman(&with_y(g_i)).unwrap()); // R: G_IY
}

pub(crate) fn ec_ops_x25519(
    static_i: bool,
    static_r: bool,
    sign: Option<(&SigningKey, &SigningKey)>,
) {
    let mut rng = rand_core::OsRng;
    let ex = EcdhSecret::generate(EcdhCurve::X25519, &mut rng);
    let ey = EcdhSecret::generate(EcdhCurve::X25519, &mut rng);
    let (gx, gy) = (ex.public_key(), ey.public_key());
    black_box(ey.diffie_hellman(&gx).unwrap());
    black_box(ex.diffie_hellman(&gy).unwrap());
    for s in [static_i, static_r] {
        if s {
            black_box(ex.diffie_hellman(&gy).unwrap());
            black_box(ey.diffie_hellman(&gx).unwrap());
        }
    }
    if let Some((a, b)) = sign {
        // The length of the handshake's own Sig_structures (M_2, M_3) with these CCS credentials.
        let msg = [0u8; 143];
        for k in [a, b] {
            // Signing from the stored seed as the handshake does (key expansion included).
            let mut sig = [0u8; 64];
            k.sign(&msg, &mut sig).unwrap();
            let vk = VerifyingKey::ed25519(k.verifying_key().coordinates().x()).unwrap();
            vk.verify(black_box(&msg), &sig).unwrap();
        }
    }
}
