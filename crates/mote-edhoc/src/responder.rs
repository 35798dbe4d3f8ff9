//! The Responder as a by-value typestate (RFC 9528 §5.2.3, §5.3.2, §5.4.3, §5.5.2).
//!
//! Call order: [`Responder::process_message_1`] → [`ResponderProcessingM1::prepare_message_2`] →
//! [`ResponderWaitM3::parse_message_3`] → (look up the credential from
//! [`ResponderProcessingM3::id_cred_i`]) → [`ResponderProcessingM3::verify_message_3`] →
//! [`ResponderVerifiedM3::prepare_message_4`] or [`ResponderVerifiedM3::finish`].
//! A rejected message gives the unchanged state back in [`Rejected`]; answer the peer with
//! [`ErrorMessage::for_error`](crate::ErrorMessage::for_error).

use crate::buffer::{Bytes, MAX_MESSAGE_LEN, MessageBuf, Secret};
use crate::cbor;
use crate::conn_id::ConnId;
use crate::credential::{Credential, CredentialLookup};
use crate::crypto::{Crypto, Digest};
use crate::ead::Ead;
use crate::endpoint::{Rejected, ResponderConfig};
use crate::error::Error;
use crate::id_cred::IdCred;
use crate::initiator::peer_error;
use crate::message::{ErrorMessage, Message1, Plaintext3, single_bstr};
use crate::schedule::{self, AuthInput, label};
use crate::session::{Role, Session};
use crate::suite::{CipherSuite, Method};

/// The Responder before message_1.
pub struct Responder<C: Crypto> {
    crypto: C,
    config: ResponderConfig,
}

/// The Responder with message_1 accepted.
pub struct ResponderProcessingM1<C: Crypto> {
    crypto: C,
    config: ResponderConfig,
    method: Method,
    suite: CipherSuite,
    g_x: [u8; 32],
    c_i: ConnId,
    ead_1: Ead,
    h_message_1: Digest,
}

/// The Responder waiting for message_3.
pub struct ResponderWaitM3<C: Crypto> {
    crypto: C,
    ead_labels: &'static [i64],
    method: Method,
    suite: CipherSuite,
    y: Secret,
    c_i: ConnId,
    c_r: ConnId,
    prk_3e2m: Secret,
    th_3: Digest,
}

/// The Responder with message_3 decrypted and parsed, before verification.
pub struct ResponderProcessingM3<C: Crypto> {
    wait: ResponderWaitM3<C>,
    plaintext_3: MessageBuf,
    id_cred_i: IdCred,
    signature_or_mac_3: Bytes<64>,
    ead_3: Ead,
}

/// The Responder with message_3 verified: send message_4 or finish.
pub struct ResponderVerifiedM3<C: Crypto> {
    crypto: C,
    suite: CipherSuite,
    c_i: ConnId,
    c_r: ConnId,
    prk_4e3m: Secret,
    th_4: Digest,
    prk_out: Secret,
    cred_i: Credential,
}

macro_rules! no_debug_secrets {
    ($($t:ident),*) => {$(
        impl<C: Crypto> core::fmt::Debug for $t<C> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_struct(stringify!($t)).finish_non_exhaustive()
            }
        }
    )*};
}
no_debug_secrets!(
    Responder,
    ResponderProcessingM1,
    ResponderWaitM3,
    ResponderProcessingM3,
    ResponderVerifiedM3
);

impl<C: Crypto> Responder<C> {
    /// A new Responder.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// # let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
    /// # let initiator = Initiator::new(MoteCrypto::new(), InitiatorConfig::new(Method::StaticStatic, 2, id_i));
    /// # let responder = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
    /// let config = ResponderConfig::new(2, fresh("gateway", b"G")?).with_suites(&[2, 0])?;
    /// let responder = Responder::new(MoteCrypto::new(), config);
    /// # let _ = responder;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(crypto: C, config: ResponderConfig) -> Self {
        Self { crypto, config }
    }

    /// Parses and checks message_1 (§5.2.3): METHOD, the selected suite (§6.3.1: answer
    /// [`Error::WrongSelectedSuite`] with ERR_CODE 2), G_X's length and EAD_1.
    /// # Example
    /// The Responder parses message_1 and sees the method, suite and C_I before it answers.
    /// ```
    /// use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// # let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
    /// let initiator = Initiator::new(MoteCrypto::new(), InitiatorConfig::new(Method::StaticStatic, 2, id_i));
    /// let responder = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
    /// let (initiator, message_1) = initiator.prepare_message_1(ConnId::from_int(-24)?, &Ead::new())?;
    /// let responder = responder.process_message_1(message_1.as_slice())?;
    /// assert_eq!(responder.method(), Method::StaticStatic);
    /// assert_eq!(responder.c_i(), &ConnId::from_int(-24)?);
    /// // Garbage is rejected and the Responder comes back unchanged.
    /// # let fresh_responder = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, fresh("r", b"r")?));
    /// let rejected = fresh_responder.process_message_1(&[0xff]).unwrap_err();
    /// assert!(matches!(rejected.error, Error::Malformed { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn process_message_1(
        mut self,
        msg: &[u8],
    ) -> Result<ResponderProcessingM1<C>, Rejected<Self>> {
        match self.try_m1(msg) {
            Ok((method, suite, g_x, c_i, ead_1, h_message_1)) => Ok(ResponderProcessingM1 {
                crypto: self.crypto,
                config: self.config,
                method,
                suite,
                g_x,
                c_i,
                ead_1,
                h_message_1,
            }),
            Err(error) => Err(Rejected { state: self, error }),
        }
    }

    #[allow(clippy::type_complexity)]
    #[inline(never)]
    fn try_m1(
        &mut self,
        msg: &[u8],
    ) -> Result<(Method, CipherSuite, [u8; 32], ConnId, Ead, Digest), Error> {
        let m1 = Message1::parse(msg)?;
        let method = Method::from_value(m1.method)
            .filter(|m| {
                m.is_supported()
                    && self
                        .config
                        .methods
                        .get(usize::from(m.value()))
                        .copied()
                        .unwrap_or(false)
            })
            .ok_or(Error::UnsupportedMethod(m1.method))?;
        let selected = m1.suites_i.last().ok_or(Error::NoCommonSuite)?;
        let ours = &self.config.suites;
        let preceding = m1
            .suites_i
            .as_slice()
            .split_last()
            .map(|(_, p)| p)
            .unwrap_or(&[]);
        // §6.3.1: reject when the selected suite is not supported, or when a suite the
        // Initiator ranked higher is supported (the Initiator must pick that one).
        if !ours.contains(selected) || preceding.iter().any(|s| ours.contains(*s)) {
            return Err(Error::WrongSelectedSuite { suites_r: *ours });
        }
        let suite = CipherSuite::from_id(i64::from(selected))
            .ok_or(Error::WrongSelectedSuite { suites_r: *ours })?;
        let g_x = crate::buffer::array32(m1.g_x).ok_or(Error::Malformed {
            offset: 0,
            reason: diag!("G_X length does not fit the selected cipher suite"),
        })?;
        let ead_1 = Ead::parse(m1.ead_1, self.config.ead_labels)?;
        let h_message_1 = schedule::hash_message_1(&mut self.crypto, &suite, msg)?;
        Ok((method, suite, g_x, m1.c_i, ead_1, h_message_1))
    }
}

impl<C: Crypto> ResponderProcessingM1<C> {
    /// The Initiator's METHOD.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// # let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
    /// # let initiator = Initiator::new(MoteCrypto::new(), InitiatorConfig::new(Method::StaticStatic, 2, id_i));
    /// # let responder = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
    /// # let (initiator, message_1) = initiator.prepare_message_1(ConnId::from_int(-24)?, &Ead::new())?;
    /// # let responder = responder.process_message_1(message_1.as_slice())?;
    /// assert_eq!(responder.method(), Method::StaticStatic);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn method(&self) -> Method {
        self.method
    }

    /// The selected cipher suite.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// # let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
    /// # let initiator = Initiator::new(MoteCrypto::new(), InitiatorConfig::new(Method::StaticStatic, 2, id_i));
    /// # let responder = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
    /// # let (initiator, message_1) = initiator.prepare_message_1(ConnId::from_int(-24)?, &Ead::new())?;
    /// # let responder = responder.process_message_1(message_1.as_slice())?;
    /// assert_eq!(responder.suite().id, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn suite(&self) -> &CipherSuite {
        &self.suite
    }

    /// C_I.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// # let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
    /// # let initiator = Initiator::new(MoteCrypto::new(), InitiatorConfig::new(Method::StaticStatic, 2, id_i));
    /// # let responder = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
    /// # let (initiator, message_1) = initiator.prepare_message_1(ConnId::from_int(-24)?, &Ead::new())?;
    /// # let responder = responder.process_message_1(message_1.as_slice())?;
    /// assert_eq!(responder.c_i(), &ConnId::from_int(-24)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn c_i(&self) -> &ConnId {
        &self.c_i
    }

    /// EAD_1.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// # let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
    /// # let initiator = Initiator::new(MoteCrypto::new(), InitiatorConfig::new(Method::StaticStatic, 2, id_i));
    /// # let responder = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
    /// # let (initiator, message_1) = initiator.prepare_message_1(ConnId::from_int(-24)?, &Ead::new())?;
    /// # let responder = responder.process_message_1(message_1.as_slice())?;
    /// assert!(responder.ead_1().is_empty()); // message_1 carried no EAD_1
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ead_1(&self) -> &Ead {
        &self.ead_1
    }

    /// Builds message_2 with a fresh ephemeral key (§5.3.2). `c_r` must differ from C_I.
    /// # Example
    /// The Responder answers with message_2 under its connection identifier C_R.
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// # let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
    /// # let initiator = Initiator::new(MoteCrypto::new(), InitiatorConfig::new(Method::StaticStatic, 2, id_i));
    /// # let responder = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
    /// # let (initiator, message_1) = initiator.prepare_message_1(ConnId::from_int(-24)?, &Ead::new())?;
    /// # let responder = responder.process_message_1(message_1.as_slice())?;
    /// let (responder, message_2) = responder.prepare_message_2(ConnId::from_int(-8)?, &Ead::new())?;
    /// assert_eq!(responder.c_r(), &ConnId::from_int(-8)?);
    /// assert!(message_2.as_slice().len() > 34); // G_Y and the encrypted CIPHERTEXT_2
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn prepare_message_2(
        mut self,
        c_r: ConnId,
        ead_2: &Ead,
    ) -> Result<(ResponderWaitM3<C>, MessageBuf), Error> {
        let (y, g_y) = self.crypto.generate_ecdh_key(self.suite.curve)?;
        self.prepare(c_r, ead_2, y, g_y)
    }

    /// Builds message_2 with the given ephemeral private key Y. For test vectors only.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// # let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
    /// # let initiator = Initiator::new(MoteCrypto::new(), InitiatorConfig::new(Method::StaticStatic, 2, id_i));
    /// # let responder = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
    /// # let (initiator, message_1) = initiator.prepare_message_1(ConnId::from_int(-24)?, &Ead::new())?;
    /// # let responder = responder.process_message_1(message_1.as_slice())?;
    /// let (y, g_y) = MoteCrypto::new().generate_ecdh_key(suite.curve)?; // from a test vector, normally
    /// let (_wait, message_2) = responder.prepare_message_2_with_ephemeral(ConnId::from_int(-8)?, &Ead::new(), y)?;
    /// let initiator = initiator.parse_message_2(message_2.as_slice())?;
    /// assert_eq!(initiator.g_y(), &g_y); // G_Y is Y's public key
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn prepare_message_2_with_ephemeral(
        mut self,
        c_r: ConnId,
        ead_2: &Ead,
        y: Secret,
    ) -> Result<(ResponderWaitM3<C>, MessageBuf), Error> {
        let g_y = self.crypto.ecdh_public_key(self.suite.curve, &y)?;
        self.prepare(c_r, ead_2, y, g_y)
    }

    #[inline(never)]
    fn prepare(
        mut self,
        c_r: ConnId,
        ead_2: &Ead,
        y: Secret,
        g_y: [u8; 32],
    ) -> Result<(ResponderWaitM3<C>, MessageBuf), Error> {
        if c_r == self.c_i {
            return Err(Error::InvalidConnectionId(diag!("C_R equals C_I")));
        }
        let suite = self.suite;
        let r_static = self.method.responder_static_dh();
        let id = &self.config.identity;
        id.credential.check_usable(&suite, r_static)?;
        let c = &mut self.crypto;
        let th_2 = schedule::th_2(c, &suite, &g_y, self.h_message_1.as_slice())?;
        let g_xy = c.ecdh(suite.curve, &y, &self.g_x)?;
        let prk_2e = c.hkdf_extract(suite.hash, th_2.as_slice(), g_xy.as_bytes())?;
        let g_rx = if r_static {
            Some(c.ecdh(suite.curve, &id.private_key, &self.g_x)?)
        } else {
            None
        };
        let prk_3e2m = schedule::prk_3e2m(c, &suite, &prk_2e, th_2.as_slice(), g_rx.as_ref())?;
        let auth = AuthInput {
            static_dh: r_static,
            mac_label: label::MAC_2,
            c_r: Some(&c_r),
            id_cred: id.id_cred.as_map(),
            th: th_2.as_slice(),
            cred: id.credential.as_bytes(),
            ead: ead_2.as_bytes(),
        };
        let sig = schedule::signature_or_mac(
            c,
            &suite,
            prk_3e2m.as_bytes(),
            &auth,
            &id.private_key,
            id.credential.public_key(),
        )?;
        let mut plaintext_2 = MessageBuf::new();
        c_r.encode(&mut plaintext_2)?;
        id.id_cred.encode_compact(&mut plaintext_2)?;
        cbor::bytes(&mut plaintext_2, sig.as_slice())?;
        plaintext_2.extend(ead_2.as_bytes())?;
        let th_3 = schedule::th_next(
            c,
            &suite,
            th_2.as_slice(),
            plaintext_2.as_slice(),
            id.credential.as_bytes(),
        )?;
        let mut body = MessageBuf::from_slice(&g_y)?;
        body.extend(plaintext_2.as_slice())?;
        let ct = body.as_mut_slice().get_mut(g_y.len()..).unwrap_or(&mut []);
        schedule::apply_keystream_2(c, &suite, prk_2e.as_bytes(), th_2.as_slice(), ct)?;
        let mut msg = MessageBuf::new();
        cbor::bytes(&mut msg, body.as_slice())?;
        let wait = ResponderWaitM3 {
            crypto: self.crypto,
            ead_labels: self.config.ead_labels,
            method: self.method,
            suite,
            y,
            c_i: self.c_i,
            c_r,
            prk_3e2m,
            th_3,
        };
        Ok((wait, msg))
    }
}

impl<C: Crypto> ResponderWaitM3<C> {
    /// C_R chosen by this Responder (the key to find this state, Appendix A.2).
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// # let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
    /// # let initiator = Initiator::new(MoteCrypto::new(), InitiatorConfig::new(Method::StaticStatic, 2, id_i));
    /// # let responder = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
    /// # let (initiator, message_1) = initiator.prepare_message_1(ConnId::from_int(-24)?, &Ead::new())?;
    /// # let responder = responder.process_message_1(message_1.as_slice())?;
    /// # let (responder, message_2) = responder.prepare_message_2(ConnId::from_int(-8)?, &Ead::new())?;
    /// # let initiator = initiator.parse_message_2(message_2.as_slice())?;
    /// assert_eq!(responder.c_r(), &ConnId::from_int(-8)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn c_r(&self) -> &ConnId {
        &self.c_r
    }

    /// C_I.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// # let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
    /// # let initiator = Initiator::new(MoteCrypto::new(), InitiatorConfig::new(Method::StaticStatic, 2, id_i));
    /// # let responder = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
    /// # let (initiator, message_1) = initiator.prepare_message_1(ConnId::from_int(-24)?, &Ead::new())?;
    /// # let responder = responder.process_message_1(message_1.as_slice())?;
    /// # let (responder, message_2) = responder.prepare_message_2(ConnId::from_int(-8)?, &Ead::new())?;
    /// # let initiator = initiator.parse_message_2(message_2.as_slice())?;
    /// assert_eq!(responder.c_i(), &ConnId::from_int(-24)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn c_i(&self) -> &ConnId {
        &self.c_i
    }

    /// Decrypts and parses message_3 (§5.4.3).
    /// # Example
    /// Parsing message_3 reveals ID_CRED_I: look the Initiator's credential up, then verify.
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// # let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
    /// # let initiator = Initiator::new(MoteCrypto::new(), InitiatorConfig::new(Method::StaticStatic, 2, id_i));
    /// # let responder = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
    /// # let (initiator, message_1) = initiator.prepare_message_1(ConnId::from_int(-24)?, &Ead::new())?;
    /// # let responder = responder.process_message_1(message_1.as_slice())?;
    /// # let (responder, message_2) = responder.prepare_message_2(ConnId::from_int(-8)?, &Ead::new())?;
    /// # let initiator = initiator.parse_message_2(message_2.as_slice())?;
    /// # let initiator = initiator.verify_message_2(&cred_r)?;
    /// # let (initiator, message_3) = initiator.prepare_message_3(&Ead::new())?;
    /// let responder = responder.parse_message_3(message_3.as_slice())?;
    /// assert!(cred_i.matches(responder.id_cred_i()));
    /// let responder = responder.verify_message_3(&cred_i)?;
    /// # let _ = responder;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn parse_message_3(
        mut self,
        msg: &[u8],
    ) -> Result<ResponderProcessingM3<C>, Rejected<Self>> {
        match self.try_m3(msg) {
            Ok((plaintext_3, id_cred_i, signature_or_mac_3, ead_3)) => Ok(ResponderProcessingM3 {
                wait: self,
                plaintext_3,
                id_cred_i,
                signature_or_mac_3,
                ead_3,
            }),
            Err(error) => Err(Rejected { state: self, error }),
        }
    }

    #[inline(never)]
    fn try_m3(&mut self, msg: &[u8]) -> Result<(MessageBuf, IdCred, Bytes<64>, Ead), Error> {
        if ErrorMessage::is_error(msg) {
            return Err(peer_error(msg));
        }
        if msg.len() > MAX_MESSAGE_LEN {
            return Err(Error::Capacity {
                what: diag!("message_3"),
                needed: msg.len(),
            });
        }
        let ct = single_bstr(msg, "message_3")?;
        let suite = self.suite;
        let pt = schedule::open(
            &mut self.crypto,
            &suite,
            self.prk_3e2m.as_bytes(),
            (label::K_3, label::IV_3),
            self.th_3.as_slice(),
            ct,
        )?;
        let p3 = Plaintext3::parse(pt.as_slice())?;
        let want = schedule::signature_or_mac_len(&suite, self.method.initiator_static_dh());
        if p3.signature_or_mac_3.len() != want {
            return Err(Error::Malformed {
                offset: 0,
                reason: diag!("Signature_or_MAC_3 has the wrong length for the method and suite"),
            });
        }
        let ead_3 = Ead::parse(p3.ead_3, self.ead_labels)?;
        let sig = Bytes::from_slice(p3.signature_or_mac_3)?;
        let id = p3.id_cred_i.clone();
        Ok((pt, id, sig, ead_3))
    }
}

impl<C: Crypto> ResponderProcessingM3<C> {
    /// ID_CRED_I: what to look CRED_I up by.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// # let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
    /// # let initiator = Initiator::new(MoteCrypto::new(), InitiatorConfig::new(Method::StaticStatic, 2, id_i));
    /// # let responder = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
    /// # let (initiator, message_1) = initiator.prepare_message_1(ConnId::from_int(-24)?, &Ead::new())?;
    /// # let responder = responder.process_message_1(message_1.as_slice())?;
    /// # let (responder, message_2) = responder.prepare_message_2(ConnId::from_int(-8)?, &Ead::new())?;
    /// # let initiator = initiator.parse_message_2(message_2.as_slice())?;
    /// # let initiator = initiator.verify_message_2(&cred_r)?;
    /// # let (initiator, message_3) = initiator.prepare_message_3(&Ead::new())?;
    /// # let responder = responder.parse_message_3(message_3.as_slice())?;
    /// assert!(cred_i.matches(responder.id_cred_i()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id_cred_i(&self) -> &IdCred {
        &self.id_cred_i
    }

    /// EAD_3.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// # let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
    /// # let initiator = Initiator::new(MoteCrypto::new(), InitiatorConfig::new(Method::StaticStatic, 2, id_i));
    /// # let responder = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
    /// # let (initiator, message_1) = initiator.prepare_message_1(ConnId::from_int(-24)?, &Ead::new())?;
    /// # let responder = responder.process_message_1(message_1.as_slice())?;
    /// # let (responder, message_2) = responder.prepare_message_2(ConnId::from_int(-8)?, &Ead::new())?;
    /// # let initiator = initiator.parse_message_2(message_2.as_slice())?;
    /// # let initiator = initiator.verify_message_2(&cred_r)?;
    /// # let (initiator, message_3) = initiator.prepare_message_3(&Ead::new())?;
    /// # let responder = responder.parse_message_3(message_3.as_slice())?;
    /// assert!(responder.ead_3().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ead_3(&self) -> &Ead {
        &self.ead_3
    }

    /// Drops this message_3 and waits for another, in the state from before
    /// [`ResponderWaitM3::parse_message_3`].
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// # let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
    /// # let initiator = Initiator::new(MoteCrypto::new(), InitiatorConfig::new(Method::StaticStatic, 2, id_i));
    /// # let responder = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
    /// # let (initiator, message_1) = initiator.prepare_message_1(ConnId::from_int(-24)?, &Ead::new())?;
    /// # let responder = responder.process_message_1(message_1.as_slice())?;
    /// # let (responder, message_2) = responder.prepare_message_2(ConnId::from_int(-8)?, &Ead::new())?;
    /// # let initiator = initiator.parse_message_2(message_2.as_slice())?;
    /// # let initiator = initiator.verify_message_2(&cred_r)?;
    /// # let (initiator, message_3) = initiator.prepare_message_3(&Ead::new())?;
    /// # let responder = responder.parse_message_3(message_3.as_slice())?;
    /// let waiting = responder.reject(); // unknown peer: wait for another message_3
    /// assert_eq!(waiting.c_r(), &ConnId::from_int(-8)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reject(self) -> ResponderWaitM3<C> {
        self.wait
    }

    /// Verifies Signature_or_MAC_3 with CRED_I.
    /// # Example
    /// Only the Initiator's credential verifies message_3; a wrong one hands the state back.
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// # let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
    /// # let initiator = Initiator::new(MoteCrypto::new(), InitiatorConfig::new(Method::StaticStatic, 2, id_i));
    /// # let responder = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
    /// # let (initiator, message_1) = initiator.prepare_message_1(ConnId::from_int(-24)?, &Ead::new())?;
    /// # let responder = responder.process_message_1(message_1.as_slice())?;
    /// # let (responder, message_2) = responder.prepare_message_2(ConnId::from_int(-8)?, &Ead::new())?;
    /// # let initiator = initiator.parse_message_2(message_2.as_slice())?;
    /// # let initiator = initiator.verify_message_2(&cred_r)?;
    /// # let (initiator, message_3) = initiator.prepare_message_3(&Ead::new())?;
    /// # let responder = responder.parse_message_3(message_3.as_slice())?;
    /// let rejected = responder.verify_message_3(&cred_r).unwrap_err();
    /// let responder = rejected.state.verify_message_3(&cred_i)?;
    /// # let _ = responder;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn verify_message_3(
        mut self,
        cred_i: &Credential,
    ) -> Result<ResponderVerifiedM3<C>, Rejected<Self>> {
        match self.try_verify(cred_i) {
            Ok((prk_4e3m, th_4, prk_out)) => {
                let w = self.wait;
                Ok(ResponderVerifiedM3 {
                    crypto: w.crypto,
                    suite: w.suite,
                    c_i: w.c_i,
                    c_r: w.c_r,
                    prk_4e3m,
                    th_4,
                    prk_out,
                    cred_i: cred_i.clone(),
                })
            }
            Err(error) => Err(Rejected { state: self, error }),
        }
    }

    /// Looks CRED_I up and verifies; an unknown credential is [`Error::UnknownCredential`]
    /// (answer with ERR_CODE 3).
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// # let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
    /// # let initiator = Initiator::new(MoteCrypto::new(), InitiatorConfig::new(Method::StaticStatic, 2, id_i));
    /// # let responder = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
    /// # let (initiator, message_1) = initiator.prepare_message_1(ConnId::from_int(-24)?, &Ead::new())?;
    /// # let responder = responder.process_message_1(message_1.as_slice())?;
    /// # let (responder, message_2) = responder.prepare_message_2(ConnId::from_int(-8)?, &Ead::new())?;
    /// # let initiator = initiator.parse_message_2(message_2.as_slice())?;
    /// # let initiator = initiator.verify_message_2(&cred_r)?;
    /// # let (initiator, message_3) = initiator.prepare_message_3(&Ead::new())?;
    /// # let responder = responder.parse_message_3(message_3.as_slice())?;
    /// let known = [cred_i.clone()];
    /// let mut lookup = KnownCredentials(&known);
    /// let verified = responder.verify_message_3_with(&mut lookup)?;
    /// assert_eq!(verified.cred_i(), &cred_i);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn verify_message_3_with<L: CredentialLookup>(
        self,
        lookup: &mut L,
    ) -> Result<ResponderVerifiedM3<C>, Rejected<Self>> {
        match lookup.lookup(&self.id_cred_i) {
            Some(cred) => self.verify_message_3(&cred),
            None => Err(Rejected {
                state: self,
                error: Error::UnknownCredential,
            }),
        }
    }

    #[inline(never)]
    fn try_verify(&mut self, cred_i: &Credential) -> Result<(Secret, Digest, Secret), Error> {
        let w = &mut self.wait;
        let suite = w.suite;
        let i_static = w.method.initiator_static_dh();
        cred_i.check_usable(&suite, i_static)?;
        let c = &mut w.crypto;
        let g_iy = if i_static {
            Some(c.ecdh_static(suite.curve, &w.y, cred_i.public_key())?)
        } else {
            None
        };
        let prk_4e3m =
            schedule::prk_4e3m(c, &suite, &w.prk_3e2m, w.th_3.as_slice(), g_iy.as_ref())?;
        let auth = AuthInput {
            static_dh: i_static,
            mac_label: label::MAC_3,
            c_r: None,
            id_cred: self.id_cred_i.as_map(),
            th: w.th_3.as_slice(),
            cred: cred_i.as_bytes(),
            ead: self.ead_3.as_bytes(),
        };
        schedule::verify_signature_or_mac(
            c,
            &suite,
            prk_4e3m.as_bytes(),
            &auth,
            cred_i.public_key(),
            self.signature_or_mac_3.as_slice(),
        )?;
        let th_4 = schedule::th_next(
            c,
            &suite,
            w.th_3.as_slice(),
            self.plaintext_3.as_slice(),
            cred_i.as_bytes(),
        )?;
        let prk_out = schedule::kdf_secret(
            c,
            &suite,
            prk_4e3m.as_bytes(),
            label::PRK_OUT,
            th_4.as_slice(),
            suite.hash_len(),
        )?;
        Ok((prk_4e3m, th_4, prk_out))
    }
}

impl<C: Crypto> ResponderVerifiedM3<C> {
    /// The verified CRED_I.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// # let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
    /// # let initiator = Initiator::new(MoteCrypto::new(), InitiatorConfig::new(Method::StaticStatic, 2, id_i));
    /// # let responder = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
    /// # let (initiator, message_1) = initiator.prepare_message_1(ConnId::from_int(-24)?, &Ead::new())?;
    /// # let responder = responder.process_message_1(message_1.as_slice())?;
    /// # let (responder, message_2) = responder.prepare_message_2(ConnId::from_int(-8)?, &Ead::new())?;
    /// # let initiator = initiator.parse_message_2(message_2.as_slice())?;
    /// # let initiator = initiator.verify_message_2(&cred_r)?;
    /// # let (initiator, message_3) = initiator.prepare_message_3(&Ead::new())?;
    /// # let responder = responder.parse_message_3(message_3.as_slice())?;
    /// let responder = responder.verify_message_3(&cred_i)?;
    /// assert_eq!(responder.cred_i(), &cred_i);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cred_i(&self) -> &Credential {
        &self.cred_i
    }

    /// Builds message_4 (§5.5.2) and completes.
    /// # Example
    /// The Responder ends with message_4 (RFC 9528 §5.5) and its [`Session`].
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// # let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
    /// # let initiator = Initiator::new(MoteCrypto::new(), InitiatorConfig::new(Method::StaticStatic, 2, id_i));
    /// # let responder = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
    /// # let (initiator, message_1) = initiator.prepare_message_1(ConnId::from_int(-24)?, &Ead::new())?;
    /// # let responder = responder.process_message_1(message_1.as_slice())?;
    /// # let (responder, message_2) = responder.prepare_message_2(ConnId::from_int(-8)?, &Ead::new())?;
    /// # let initiator = initiator.parse_message_2(message_2.as_slice())?;
    /// # let initiator = initiator.verify_message_2(&cred_r)?;
    /// # let (initiator, message_3) = initiator.prepare_message_3(&Ead::new())?;
    /// # let responder = responder.parse_message_3(message_3.as_slice())?;
    /// # let responder = responder.verify_message_3(&cred_i)?;
    /// let (r_session, message_4) = responder.prepare_message_4(&Ead::new())?;
    /// assert_eq!(r_session.c_i(), &ConnId::from_int(-24)?);
    /// # let _ = message_4;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn prepare_message_4(mut self, ead_4: &Ead) -> Result<(Session<C>, MessageBuf), Error> {
        let msg = schedule::seal(
            &mut self.crypto,
            &self.suite,
            self.prk_4e3m.as_bytes(),
            (label::K_4, label::IV_4),
            self.th_4.as_slice(),
            ead_4.as_bytes(),
        )?;
        Ok((self.finish()?, msg))
    }

    /// Completes without message_4.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (id_i, id_r) = (fresh("initiator", b"I")?, fresh("responder", b"R")?);
    /// # let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
    /// # let initiator = Initiator::new(MoteCrypto::new(), InitiatorConfig::new(Method::StaticStatic, 2, id_i));
    /// # let responder = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
    /// # let (initiator, message_1) = initiator.prepare_message_1(ConnId::from_int(-24)?, &Ead::new())?;
    /// # let responder = responder.process_message_1(message_1.as_slice())?;
    /// # let (responder, message_2) = responder.prepare_message_2(ConnId::from_int(-8)?, &Ead::new())?;
    /// # let initiator = initiator.parse_message_2(message_2.as_slice())?;
    /// # let initiator = initiator.verify_message_2(&cred_r)?;
    /// # let (initiator, message_3) = initiator.prepare_message_3(&Ead::new())?;
    /// # let responder = responder.parse_message_3(message_3.as_slice())?;
    /// let responder_session = responder.verify_message_3(&cred_i)?.finish()?; // no message_4
    /// let initiator_session = initiator.finish()?;
    /// assert_eq!(responder_session.prk_out(), initiator_session.prk_out());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn finish(self) -> Result<Session<C>, Error> {
        Session::new(
            self.crypto,
            self.suite,
            Role::Responder,
            self.c_i,
            self.c_r,
            self.prk_out,
        )
    }
}
