//! EDHOC over CoAP for the networked commands (RFC 9528 Appendix A.2, forward message flow):
//! `mote serve --edhoc FILE` is the EDHOC Responder at `/.well-known/edhoc` and accepts the
//! combined EDHOC + OSCORE request (RFC 9668 §3.3) through `mote_edhoc::protection`, with the
//! credential lookup and Responder configuration of [`EdhocSetup`] below; `mote coap … --edhoc FILE` is the
//! Initiator, which runs message_1/message_2 before its request and then sends message_3
//! inside that first OSCORE-protected request over UDP (RFC 9668 §3.2), or over TCP posts
//! `C_R, message_3` to the EDHOC resource and gets message_4 back (Appendix A.2.1). The server
//! takes the combined request on both transports (a UDP-to-TCP proxy may bring it over TCP).
//! Each completed handshake gives an OSCORE context (Appendix A.1): Sender ID C_R and
//! Recipient ID C_I on the client, the reverse on the server. The credential file is
//! `docs/edhoc-credentials.md`.

use anyhow::{Result, anyhow, bail};
use mote_coap::code::Code;
use mote_edhoc::transport;
use mote_edhoc::{
    ConnId, Credential, Crypto as _, Ead, IdCred, IdCredRef, Initiator, InitiatorConfig,
    MoteCrypto, ResponderConfig, TrustAnchors as _,
};
use mote_oscore::SecurityContext;

use crate::commands::edhoc::EdhocSetup;
use crate::context_file::FileSequenceStore;

/// The crypto provider of the command-line endpoints.
pub(crate) type EdhocCrypto = MoteCrypto<rand_core::OsRng>;

/// An OSCORE context as the command-line endpoints keep them.
pub(crate) type Context = SecurityContext<FileSequenceStore>;

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
    pub(crate) fn responder_config(&self) -> Result<ResponderConfig, mote_edhoc::Error> {
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
    fn initiator_config(&self) -> Result<InitiatorConfig, mote_edhoc::Error> {
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

/// The client side after message_3 is prepared: message_3 with the C_R it goes to (sent
/// inside the first OSCORE request over UDP, or to the EDHOC resource first), and the session
/// waiting for message_4.
pub(crate) struct Initiated {
    pub(crate) c_r: ConnId,
    pub(crate) message_3: Vec<u8>,
    pub(crate) wait: mote_edhoc::InitiatorWaitM4<EdhocCrypto>,
}

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

/// Sends a payload to `/.well-known/edhoc`; returns the response code and payload.
pub(crate) type Post<'a> = dyn FnMut(&[u8]) -> Result<(Code, Vec<u8>)> + 'a;

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

    /// The Initiator side against the library's Responder (`mote serve --edhoc`): message_1
    /// and message_2 through the EDHOC resource, then `C_R, message_3` answered with
    /// message_4; both ends hold matching contexts (RFC 9528 Appendix A.1).
    #[test]
    fn the_initiator_completes_a_handshake_with_the_responder() {
        use mote_edhoc::KnownCredentials;
        use mote_edhoc::protection::{EdhocProtection, EdhocProtectionConfig};
        use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};

        let server = setup(CRED_R, SK_R, CRED_I);
        let crypto = EdhocCrypto::new().prepare(&server.identity).unwrap();
        let oscore = OscoreProtection::<FileSequenceStore, _>::new(OscoreConfig::default(), || 4);
        let mut r = EdhocProtection::new(
            oscore,
            EdhocProtectionConfig::default(),
            server.responder_config().unwrap(),
            crypto,
            KnownCredentials(&server.peers),
        );
        let now = std::time::Duration::ZERO;
        let client = setup(CRED_I, SK_I, CRED_R);
        let done = initiate(&client, &mut |p| {
            let reply = r.edhoc_post(now, p);
            Ok((reply.code, reply.payload))
        })
        .unwrap();
        assert_eq!(r.edhoc_contexts().count(), 0, "no context before message_3");
        let payload = transport::prefixed_payload(&done.c_r, &done.message_3).unwrap();
        let reply = r.edhoc_post(now, payload.as_slice());
        assert_eq!(reply.code, Code::CHANGED);
        let client = done.context(Some(&reply.payload)).unwrap();
        let server_ctx = *r.edhoc_contexts().next().expect("a context");
        assert_eq!(server_ctx.recipient_id(), client.sender_id());
        let server_ctx = r.oscore().context(&server_ctx).unwrap();
        assert_eq!(server_ctx.sender_id(), client.recipient_id());
    }
}
