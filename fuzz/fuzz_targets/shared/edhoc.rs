//! Properties checked by the mote-edhoc fuzz targets (shared with
//! `workspace-tests/tests/fuzz_corpus_edhoc.rs`, which replays the committed corpus on stable).
//! Every function must return normally on any input: no panic, no overflow, no hang.
#![allow(dead_code)]

use mote_edhoc::{
    ConnId, Credential, Ead, ErrorMessage, Identity, Initiator, InitiatorConfig, Message1,
    Message2, Method, MoteCrypto, Plaintext2, Plaintext3, Responder, ResponderConfig, Secret,
    message,
};

/// A deterministic generator so that runs reproduce (never for real keys).
pub(crate) struct CounterRng(u64);

impl rand_core::RngCore for CounterRng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest.iter_mut() {
            *b = (self.next_u64() >> 33) as u8;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for CounterRng {}

fn crypto() -> MoteCrypto<CounterRng> {
    MoteCrypto::with_rng(CounterRng(7))
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0))
        .collect()
}

// RFC 9529 Trace 2 credentials and keys (method 3, suite 2).
const CRED_I: &str = "a2027734322d35302d33312d46462d45462d33372d33322d333908a101a5010202412b2001215820ac75e9ece3e50bfc8ed60399889522405c47bf16df96660a41298cb4307f7eb62258206e5de611388a4b8a8211334ac7d37ecb52a387d257e6db3c2a93df21ff3affc8";
const CRED_R: &str = "a2026b6578616d706c652e65647508a101a501020241322001215820bbc34960526ea4d32e940cad2a234148ddc21791a12afbcbac93622046dd44f02258204519e257236b2a0ce2023f0931f1f386ca7afda64fcde0108c224c51eabf6072";
const SK_I: &str = "fb13adeb6518cee5f88417660841142e830a81fe334380a953406a1305e8706b";
const SK_R: &str = "72cc4761dbd4c78f758931aa589d348d1ef874a7e303ede2f140dcf3e6aa4aac";
const X: &str = "368ec1f69aeb659ba37d5a8d45b21bdc0299dceaa8ef235f3ca42ce3530f9525";

fn identity(cred: &str, sk: &str) -> Option<Identity> {
    Identity::by_reference(Credential::ccs(&hex(cred)).ok()?, &hex(sk)).ok()
}

/// message_1: parse never panics; a parsed message re-encodes to the same bytes (the parser
/// accepts only deterministic CBOR).
pub(crate) fn message_1(data: &[u8]) {
    if let Ok(m) = Message1::parse(data) {
        let again = m.encode().expect("a parsed message_1 fits the buffer");
        assert_eq!(again.as_slice(), data, "message_1 round trip");
    }
}

/// message_2 and PLAINTEXT_2 parsers.
pub(crate) fn message_2(data: &[u8]) {
    let _ = Message2::parse(data, 32);
    let _ = Plaintext2::parse(data);
}

/// message_3/4 framing and PLAINTEXT_3 parser.
pub(crate) fn message_3(data: &[u8]) {
    let _ = message::single_bstr_message(data);
    let _ = Plaintext3::parse(data);
    let _ = Ead::from_bytes(data);
    let _ = ConnId::from_cbor(data);
}

/// Error messages: parse never panics; a parsed error re-encodes to the same bytes.
pub(crate) fn message_error(data: &[u8]) {
    if let Ok(e) = ErrorMessage::parse(data) {
        assert_eq!(
            e.encode().expect("fits").as_slice(),
            data,
            "error message round trip"
        );
    }
}

/// The Responder fed an arbitrary message_1 and, if that is accepted, an arbitrary message_3
/// (the input split at its first byte).
pub(crate) fn responder(data: &[u8]) {
    let Some(id) = identity(CRED_R, SK_R) else {
        return;
    };
    let (split, rest) = match data.split_first() {
        Some((s, rest)) => (usize::from(*s).min(rest.len()), rest),
        None => return,
    };
    let (m1, m3) = rest.split_at(split);
    let r = Responder::new(crypto(), ResponderConfig::new(2, id));
    let Ok(r) = r.process_message_1(m1) else {
        return;
    };
    let Ok((w, _)) = r.prepare_message_2(ConnId::from_int(-8).unwrap_or_default(), &Ead::new())
    else {
        return;
    };
    if let Ok(p) = w.parse_message_3(m3) {
        let _ = p.verify_message_3(&Credential::ccs(&hex(CRED_I)).expect("trace credential"));
    }
}

/// The Initiator after its message_1, fed an arbitrary message_2 and then message_4.
pub(crate) fn initiator(data: &[u8]) {
    let Some(id) = identity(CRED_I, SK_I) else {
        return;
    };
    let i = Initiator::new(crypto(), InitiatorConfig::new(Method::StaticStatic, 2, id));
    let Ok(x) = Secret::from_slice(&hex(X)) else {
        return;
    };
    let Ok((w, _)) = i.prepare_message_1_with_ephemeral(
        ConnId::from_int(-24).unwrap_or_default(),
        &Ead::new(),
        x,
    ) else {
        return;
    };
    let p = match w.parse_message_2(data) {
        Ok(p) => p,
        Err(rejected) => {
            // The state handed back still works.
            let _ = rejected.state.parse_message_2(&[]);
            return;
        }
    };
    let Ok(processed) =
        p.verify_message_2(&Credential::ccs(&hex(CRED_R)).expect("trace credential"))
    else {
        return;
    };
    if let Ok((w4, _)) = processed.prepare_message_3(&Ead::new()) {
        let _ = w4.process_message_4(data);
    }
}
