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

use mote_edhoc::{
    Credential, IdCred, IdCredRef, InitiatorConfig, MoteCrypto, ResponderConfig, TrustAnchors as _,
};

use crate::commands::edhoc::EdhocSetup;

/// The crypto provider of the command-line endpoints.
pub(crate) type EdhocCrypto = MoteCrypto<rand_core::OsRng>;

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
