//! EDHOC over CoAP for the networked commands (RFC 9528 Appendix A.2, forward message flow):
//! `mote serve --edhoc FILE` is the EDHOC Responder at `/.well-known/edhoc` and accepts the
//! combined EDHOC + OSCORE request (RFC 9668 §3.3); `mote coap … --edhoc FILE` is the
//! Initiator, which runs message_1/message_2 before its request and then sends message_3
//! inside that first OSCORE-protected request over UDP (RFC 9668 §3.2), or over TCP posts
//! `C_R, message_3` to the EDHOC resource and gets message_4 back (Appendix A.2.1). The server
//! takes the combined request on both transports (a UDP-to-TCP proxy may bring it over TCP).
//! Each completed handshake gives an OSCORE context (Appendix A.1): Sender ID C_R and
//! Recipient ID C_I on the client, the reverse on the server. The credential file is
//! `docs/edhoc-credentials.md`.

use std::collections::VecDeque;

use anyhow::{Result, anyhow, bail};
use mote_coap::code::Code;
use mote_edhoc::transport::{self, ClientPayload};
use mote_edhoc::{
    ConnId, Credential, Crypto as _, Ead, ErrorMessage, IdCred, IdCredRef, Initiator,
    InitiatorConfig, MoteCrypto, Responder, ResponderConfig, ResponderWaitM3, TrustAnchors as _,
};
use mote_oscore::SecurityContext;

use crate::commands::edhoc::EdhocSetup;
use crate::context_file::FileSequenceStore;

/// The crypto provider of the command-line endpoints.
pub(crate) type EdhocCrypto = MoteCrypto<rand_core::OsRng>;

/// An OSCORE context as the command-line endpoints keep them.
pub(crate) type Context = SecurityContext<FileSequenceStore>;

/// Sessions waiting for message_3; beyond it the oldest is dropped (its client then gets an
/// EDHOC error for message_3 and may start again).
const MAX_PENDING: usize = 16;

impl EdhocSetup {
    /// The peer credential `id_cred` designates: a listed peer (by reference, or by value when
    /// equal to a listed one: a CCS by value is trusted only if listed), or a certificate chain
    /// by value (x5chain) that one of the trust anchors accepts.
    pub(crate) fn peer_credential(&self, id_cred: &IdCred) -> Option<Credential> {
        if let Some(c) = self.peers.iter().find(|c| c.matches(id_cred)) {
            return Some(c.clone());
        }
        let mut crypto = EdhocCrypto::new();
        let chain: Vec<&[u8]> = match id_cred.reference() {
            IdCredRef::X5chainLeaf(der) => vec![der],
            IdCredRef::X5chain(array) => der_array(array)?,
            _ => return None,
        };
        if self
            .trust_anchors
            .iter()
            .any(|a| a.validate(&chain, &mut crypto).is_ok())
        {
            Credential::from_id_cred(id_cred, &mut crypto)
                .ok()
                .flatten()
        } else {
            None
        }
    }

    /// The Responder's configuration: the listed methods and suites, the EAD labels.
    fn responder_config(&self) -> Result<ResponderConfig, mote_edhoc::Error> {
        let first = self.suites.first().copied().unwrap_or(2);
        let mut c = ResponderConfig::new(first, self.identity.clone()).with_suites(&self.suites)?;
        c.methods = [false; 4];
        for m in &self.methods {
            if let Some(slot) = c.methods.get_mut(usize::from(m.value())) {
                *slot = true;
            }
        }
        c.ead_labels = self.ead_labels_static();
        Ok(c)
    }

    /// The Initiator's configuration: the first listed method, the suites in order.
    pub(crate) fn initiator_config(&self) -> Result<InitiatorConfig, mote_edhoc::Error> {
        let method = *self
            .methods
            .first()
            .ok_or(mote_edhoc::Error::NoCommonSuite)?;
        let first = self.suites.first().copied().unwrap_or(2);
        let mut c =
            InitiatorConfig::new(method, first, self.identity.clone()).with_suites(&self.suites)?;
        c.ead_labels = self.ead_labels_static();
        Ok(c)
    }

    /// The EAD labels with the `'static` lifetime the configurations ask for, leaked: called
    /// once per process (a Responder keeps its configuration, a client makes one handshake).
    fn ead_labels_static(&self) -> &'static [i64] {
        if self.ead_labels.is_empty() {
            &[]
        } else {
            Box::leak(self.ead_labels.clone().into_boxed_slice())
        }
    }
}

/// The DER certificates of an x5chain array (leaf first).
fn der_array(array: &[u8]) -> Option<Vec<&[u8]>> {
    let mut d = minicbor::Decoder::new(array);
    let n = d.array().ok()??;
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(d.bytes().ok()?);
    }
    Some(out)
}

/// A response of the EDHOC resource: 2.04 with message_2 (or nothing after message_3), or an
/// EDHOC error message with 4.00 / 5.00 (Appendix A.2.3). Content-Format 64 when there is a
/// payload.
#[derive(Debug)]
pub(crate) struct EdhocReply {
    pub(crate) code: Code,
    pub(crate) payload: Vec<u8>,
}

impl EdhocReply {
    /// The EDHOC error message for `error`, with its response code.
    pub(crate) fn error(error: &mote_edhoc::Error) -> Self {
        Self {
            code: transport::error_response_code(error),
            payload: ErrorMessage::for_error(error)
                .map(|m| m.as_slice().to_vec())
                .unwrap_or_default(),
        }
    }
}

/// The server side: sessions between message_2 and message_3, by C_R.
pub(crate) struct EdhocResponder {
    setup: EdhocSetup,
    /// Built once: each message_1 starts from a copy.
    config: ResponderConfig,
    crypto: EdhocCrypto,
    pending: VecDeque<(ConnId, ResponderWaitM3<EdhocCrypto>)>,
}

impl EdhocResponder {
    /// A Responder for the identity of `setup`, its provider prepared once.
    pub(crate) fn new(setup: EdhocSetup) -> Result<Self> {
        let crypto = EdhocCrypto::new()
            .prepare(&setup.identity)
            .map_err(|e| anyhow!("EDHOC credential: {e}"))?;
        let config = setup
            .responder_config()
            .map_err(|e| anyhow!("EDHOC configuration: {e}"))?;
        Ok(Self {
            setup,
            config,
            crypto,
            pending: VecDeque::new(),
        })
    }

    /// A POST to `/.well-known/edhoc` (payload prefixed as in Appendix A.2): `true, message_1`
    /// is answered with message_2; `C_R, message_3` completes the session and returns its
    /// OSCORE context, answered with message_4 (Appendix A.2.1: key confirmation for the
    /// Initiator, which has a response to wait for anyway); a failure is answered with an EDHOC
    /// error message.
    /// `in_use` tells whether an OSCORE Recipient ID is taken (C_R becomes one).
    pub(crate) fn post(
        &mut self,
        payload: &[u8],
        in_use: &dyn Fn(&[u8]) -> bool,
    ) -> (EdhocReply, Option<Context>) {
        let r = (|| match transport::parse_client_payload(payload)? {
            ClientPayload::NewSession { message_1 } => {
                let m2 = self.message_2(message_1, in_use)?;
                Ok((
                    EdhocReply {
                        code: Code::CHANGED,
                        payload: m2,
                    },
                    None,
                ))
            }
            ClientPayload::Session { c_r, message } => {
                let (ctx, m4) = self.complete(&c_r, message, true)?;
                Ok((
                    EdhocReply {
                        code: Code::CHANGED,
                        payload: m4.unwrap_or_default(),
                    },
                    Some(ctx),
                ))
            }
        })();
        r.unwrap_or_else(|e: mote_edhoc::Error| (EdhocReply::error(&e), None))
    }

    fn message_2(
        &mut self,
        message_1: &[u8],
        in_use: &dyn Fn(&[u8]) -> bool,
    ) -> Result<Vec<u8>, mote_edhoc::Error> {
        let r = Responder::new(self.crypto.clone(), self.config.clone());
        let r = r.process_message_1(message_1).map_err(|r| r.error)?;
        let c_r = self.fresh_c_r(r.c_i(), in_use)?;
        let (wait, m2) = r.prepare_message_2(c_r.clone(), &Ead::new())?;
        if self.pending.len() == MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back((c_r, wait));
        Ok(m2.as_slice().to_vec())
    }

    /// A C_R that is not C_I, not a pending session's and not an OSCORE Recipient ID in use:
    /// the credential file's `connection_id` when free, else random (1 byte, then 2).
    fn fresh_c_r(
        &self,
        c_i: &ConnId,
        in_use: &dyn Fn(&[u8]) -> bool,
    ) -> Result<ConnId, mote_edhoc::Error> {
        let free = |c: &ConnId| {
            c != c_i && !in_use(c.as_bytes()) && !self.pending.iter().any(|(p, _)| p == c)
        };
        if let Some(c) = self.setup.connection_id.as_ref().filter(|c| free(c)) {
            return Ok(c.clone());
        }
        let mut rng = EdhocCrypto::new();
        for attempt in 0..64 {
            let mut b = [0u8; 2];
            rng.random_bytes(&mut b);
            let c = ConnId::from_slice(&b[..if attempt < 32 { 1 } else { 2 }])?;
            if free(&c) {
                return Ok(c);
            }
        }
        Err(mote_edhoc::Error::InvalidConnectionId(
            "no free connection identifier",
        ))
    }

    /// message_3 of the session known as `c_r` (from a POST or an EDHOC + OSCORE request):
    /// verified against the peers or trust anchors, the session ends and its OSCORE context
    /// is returned, with message_4 when `message_4` asks for it (not in the combined request,
    /// RFC 9668 §3). The session is discarded whatever the outcome (RFC 9528 §5.4.3).
    pub(crate) fn complete(
        &mut self,
        c_r: &ConnId,
        message_3: &[u8],
        message_4: bool,
    ) -> Result<(Context, Option<Vec<u8>>), mote_edhoc::Error> {
        let i = self.pending.iter().position(|(c, _)| c == c_r).ok_or(
            mote_edhoc::Error::InvalidConnectionId("no EDHOC session with this C_R"),
        )?;
        let (_, wait) = self
            .pending
            .remove(i)
            .ok_or(mote_edhoc::Error::InvalidConnectionId(
                "no EDHOC session with this C_R",
            ))?;
        let p = wait.parse_message_3(message_3).map_err(|r| r.error)?;
        let cred = self
            .setup
            .peer_credential(p.id_cred_i())
            .ok_or(mote_edhoc::Error::UnknownCredential)?;
        let verified = p.verify_message_3(&cred).map_err(|r| r.error)?;
        let (mut session, m4) = if message_4 {
            let (session, m4) = verified.prepare_message_4(&Ead::new())?;
            (session, Some(m4.as_slice().to_vec()))
        } else {
            (verified.finish()?, None)
        };
        let ctx = session
            .oscore_parameters()?
            .security_context_with_store(FileSequenceStore::none())?;
        Ok((ctx, m4))
    }
}

#[allow(
    dead_code,
    reason = "the blocking Initiator before `mote coap` moved to EdhocInitiator; to be removed"
)]
/// The client side after message_3 is prepared: message_3 with the C_R it goes to (sent
/// inside the first OSCORE request over UDP, or to the EDHOC resource first), and the session
/// waiting for message_4.
pub(crate) struct Initiated {
    pub(crate) c_r: ConnId,
    pub(crate) message_3: Vec<u8>,
    pub(crate) wait: mote_edhoc::InitiatorWaitM4<EdhocCrypto>,
}

#[allow(
    dead_code,
    reason = "the blocking Initiator before `mote coap` moved to EdhocInitiator; to be removed"
)]
impl Initiated {
    /// The OSCORE context: after message_4 when the server sent one (key confirmation,
    /// RFC 9528 §5.5), else right after message_3 (as in the combined request).
    pub(crate) fn context(self, message_4: Option<&[u8]>) -> Result<Context> {
        let e = |e: mote_edhoc::Error| anyhow!("EDHOC: {e}");
        let mut session = match message_4 {
            Some(m4) => {
                self.wait
                    .process_message_4(m4)
                    .map_err(|r| anyhow!("EDHOC message_4: {}", r.error))?
                    .0
            }
            None => self.wait.finish().map_err(e)?,
        };
        session
            .oscore_parameters()
            .map_err(e)?
            .security_context_with_store(FileSequenceStore::none())
            .map_err(e)
    }
}

#[allow(
    dead_code,
    reason = "the blocking Initiator before `mote coap` moved to EdhocInitiator; to be removed"
)]
/// Sends a payload to `/.well-known/edhoc`; returns the response code and payload.
pub(crate) type Post<'a> = dyn FnMut(&[u8]) -> Result<(Code, Vec<u8>)> + 'a;

#[allow(
    dead_code,
    reason = "the blocking Initiator before `mote coap` moved to EdhocInitiator; to be removed"
)]
/// Runs message_1 and message_2 with `post`, which sends a payload to `/.well-known/edhoc`
/// and returns the response code and payload. A wrong-selected-suite error is followed by a
/// second message_1 with the suites the Responder supports (RFC 9528 §6.3.2).
pub(crate) fn initiate(setup: &EdhocSetup, post: &mut Post<'_>) -> Result<Initiated> {
    let e = |e: mote_edhoc::Error| anyhow!("EDHOC: {e}");
    let crypto = EdhocCrypto::new().prepare(&setup.identity).map_err(e)?;
    let mut initiator = Initiator::new(crypto, setup.initiator_config().map_err(e)?);
    for _ in 0..2 {
        let c_i = match &setup.connection_id {
            Some(c) => c.clone(),
            None => {
                let mut b = [0u8; 1];
                EdhocCrypto::new().random_bytes(&mut b);
                ConnId::from_slice(&b).map_err(e)?
            }
        };
        let (wait, m1) = initiator.prepare_message_1(c_i, &Ead::new()).map_err(e)?;
        let payload = transport::message_1_payload(m1.as_slice()).map_err(e)?;
        let (code, body) = post(payload.as_slice())?;
        let parsed = match wait.parse_message_2(&body) {
            Ok(p) => p,
            Err(r) => match r.error {
                mote_edhoc::Error::PeerWrongSelectedSuite { suites_r } => {
                    initiator = r.state.restart(&suites_r).map_err(e)?;
                    continue;
                }
                other => bail!("EDHOC message_2 ({code}): {other}"),
            },
        };
        let cred = setup
            .peer_credential(parsed.id_cred_r())
            .ok_or_else(|| anyhow!("EDHOC: the server's credential is not known or trusted"))?;
        let c_r = parsed.c_r().clone();
        let verified = parsed.verify_message_2(&cred).map_err(|r| e(r.error))?;
        let (wait, m3) = verified.prepare_message_3(&Ead::new()).map_err(e)?;
        return Ok(Initiated {
            c_r,
            message_3: m3.as_slice().to_vec(),
            wait,
        });
    }
    bail!("EDHOC: the server rejected the cipher suite twice")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;
    use crate::commands::edhoc::load_credential_file;

    // RFC 9529 Trace 2 (P-256 static DH, CCS by kid).
    const CRED_I: &str = "a2027734322d35302d33312d46462d45462d33372d33322d333908a101a5010202412b2001215820ac75e9ece3e50bfc8ed60399889522405c47bf16df96660a41298cb4307f7eb62258206e5de611388a4b8a8211334ac7d37ecb52a387d257e6db3c2a93df21ff3affc8";
    const CRED_R: &str = "a2026b6578616d706c652e65647508a101a501020241322001215820bbc34960526ea4d32e940cad2a234148ddc21791a12afbcbac93622046dd44f02258204519e257236b2a0ce2023f0931f1f386ca7afda64fcde0108c224c51eabf6072";
    const SK_I: &str = "fb13adeb6518cee5f88417660841142e830a81fe334380a953406a1305e8706b";
    const SK_R: &str = "72cc4761dbd4c78f758931aa589d348d1ef874a7e303ede2f140dcf3e6aa4aac";

    fn setup(cred: &str, key: &str, peer: &str) -> EdhocSetup {
        let f = serde_json::json!({
            "credential": {"ccs": cred}, "private_key": key, "peers": [{"ccs": peer}],
        });
        load_credential_file(&f.to_string()).unwrap()
    }

    /// Runs the client side against `r` up to message_3, without sending it.
    fn message_3(r: &mut EdhocResponder, in_use: &dyn Fn(&[u8]) -> bool) -> Initiated {
        let client = setup(CRED_I, SK_I, CRED_R);
        initiate(&client, &mut |p| {
            let (reply, ctx) = r.post(p, in_use);
            assert!(ctx.is_none());
            Ok((reply.code, reply.payload))
        })
        .unwrap()
    }

    #[test]
    fn message_3_completes_the_session_once() {
        let mut r = EdhocResponder::new(setup(CRED_R, SK_R, CRED_I)).unwrap();
        let none = |_: &[u8]| false;
        let done = message_3(&mut r, &none);
        let payload = transport::prefixed_payload(&done.c_r, &done.message_3).unwrap();
        let (reply, ctx) = r.post(payload.as_slice(), &none);
        assert_eq!(reply.code, Code::CHANGED);
        let server = ctx.expect("a context");
        // message_4 in the response; the client's context then matches the server's.
        let client = done.context(Some(&reply.payload)).unwrap();
        assert_eq!(server.recipient_id(), client.sender_id());
        assert_eq!(server.sender_id(), client.recipient_id());
        // The same message_3 again: the session is gone (RFC 9528 §5.4.3), ERR_CODE 1, 4.00.
        let (reply, ctx) = r.post(payload.as_slice(), &none);
        assert!(ctx.is_none());
        assert_eq!(reply.code, Code::BAD_REQUEST);
        assert!(matches!(
            ErrorMessage::parse(&reply.payload),
            Ok(ErrorMessage::Unspecified(_))
        ));
    }

    #[test]
    fn at_most_16_sessions_wait_for_message_3() {
        let mut r = EdhocResponder::new(setup(CRED_R, SK_R, CRED_I)).unwrap();
        let none = |_: &[u8]| false;
        let sessions: Vec<Initiated> = (0..=MAX_PENDING)
            .map(|_| message_3(&mut r, &none))
            .collect();
        // The first of 17 was dropped; the last one still completes.
        let first = &sessions[0];
        assert!(r.complete(&first.c_r, &first.message_3, false).is_err());
        let last = &sessions[MAX_PENDING];
        assert!(r.complete(&last.c_r, &last.message_3, false).is_ok());
    }

    #[test]
    fn c_r_avoids_identifiers_in_use() {
        let mut r = EdhocResponder::new(setup(CRED_R, SK_R, CRED_I)).unwrap();
        // Every one-byte identifier is a Recipient ID in use: C_R must be two bytes.
        let one_byte = |id: &[u8]| id.len() == 1;
        let done = message_3(&mut r, &one_byte);
        assert_eq!(done.c_r.as_bytes().len(), 2);
        // Everything in use: no C_R, an EDHOC error for message_1.
        let all = |_: &[u8]| true;
        let client = setup(CRED_I, SK_I, CRED_R);
        let err = initiate(&client, &mut |p| {
            let (reply, _) = r.post(p, &all);
            Ok((reply.code, reply.payload))
        });
        assert!(err.is_err());
    }
}
