//! The Initiator as a by-value typestate (RFC 9528 §5.2.2, §5.3.3, §5.4.2, §5.5.3).
//!
//! Call order: [`Initiator::prepare_message_1`] → [`InitiatorWaitM2::parse_message_2`] →
//! (look up the credential from [`InitiatorProcessingM2::id_cred_r`]) →
//! [`InitiatorProcessingM2::verify_message_2`] → [`InitiatorProcessedM2::prepare_message_3`] →
//! [`InitiatorWaitM4::process_message_4`] or [`InitiatorWaitM4::finish`].
//! Each step consumes the state; a rejected message gives the unchanged state back in
//! [`Rejected`].

use crate::buffer::{Bytes, MAX_MESSAGE_LEN, MessageBuf, Secret};
use crate::cbor;
use crate::conn_id::ConnId;
use crate::credential::{Credential, CredentialLookup};
use crate::crypto::{Crypto, Digest};
use crate::ead::Ead;
use crate::endpoint::{InitiatorConfig, Rejected};
use crate::error::Error;
use crate::id_cred::IdCred;
use crate::message::{ErrorMessage, Message2, Plaintext2, encode_message_1, single_bstr};
use crate::schedule::{self, AuthInput, label};
use crate::session::{Role, Session};
use crate::suite::{CipherSuite, Suites};

/// The Initiator before message_1.
pub struct Initiator<C: Crypto> {
    crypto: C,
    config: InitiatorConfig,
    suites_i: Suites,
}

/// The Initiator waiting for message_2 (or an error message).
pub struct InitiatorWaitM2<C: Crypto> {
    crypto: C,
    config: InitiatorConfig,
    suites_i: Suites,
    suite: CipherSuite,
    x: Secret,
    c_i: ConnId,
    h_message_1: Digest,
}

/// The Initiator with message_2 decrypted and parsed, before verification: the application
/// looks up CRED_R from [`InitiatorProcessingM2::id_cred_r`] and checks EAD_2.
pub struct InitiatorProcessingM2<C: Crypto> {
    wait: InitiatorWaitM2<C>,
    g_y: [u8; 32],
    th_2: Digest,
    prk_2e: Secret,
    plaintext_2: MessageBuf,
    c_r: ConnId,
    id_cred_r: IdCred,
    signature_or_mac_2: Bytes<64>,
    ead_2: Ead,
}

/// The Initiator with message_2 verified, ready to send message_3.
pub struct InitiatorProcessedM2<C: Crypto> {
    crypto: C,
    config: InitiatorConfig,
    suite: CipherSuite,
    c_i: ConnId,
    c_r: ConnId,
    g_y: [u8; 32],
    prk_3e2m: Secret,
    th_3: Digest,
    cred_r: Credential,
}

/// The Initiator after message_3: waiting for message_4, or done without it.
pub struct InitiatorWaitM4<C: Crypto> {
    crypto: C,
    ead_labels: &'static [i64],
    suite: CipherSuite,
    c_i: ConnId,
    c_r: ConnId,
    prk_4e3m: Secret,
    th_4: Digest,
    prk_out: Secret,
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
    Initiator,
    InitiatorWaitM2,
    InitiatorProcessingM2,
    InitiatorProcessedM2,
    InitiatorWaitM4
);

impl<C: Crypto> Initiator<C> {
    /// A new Initiator; it first selects its most preferred cipher suite.
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
    /// let config = InitiatorConfig::new(Method::StaticStatic, 2, fresh("device", b"D")?).with_suites(&[2, 0])?;
    /// let initiator = Initiator::new(MoteCrypto::new(), config);
    /// assert_eq!(initiator.suites_i().as_slice(), [2]); // the most preferred suite first
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn new(crypto: C, config: InitiatorConfig) -> Self {
        let mut suites_i = Suites::new();
        if let Some(first) = config.suites.as_slice().first() {
            let _ = suites_i.push(*first);
        }
        Self {
            crypto,
            config,
            suites_i,
        }
    }

    /// SUITES_I that message_1 will carry (the last value is the selected suite).
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
    /// assert_eq!(initiator.suites_i().as_slice(), [2]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn suites_i(&self) -> &Suites {
        &self.suites_i
    }

    /// Builds message_1 with a fresh ephemeral key.
    /// # Example
    /// A method 3 handshake in cipher suite 2 starts with message_1 (RFC 9528 §5.2.1): METHOD, SUITES_I,
    /// G_X, C_I as a CBOR sequence.
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
    /// assert_eq!(message_1.as_slice()[..4], [0x03, 0x02, 0x58, 0x20]); // 3, 2, bstr .size 32
    /// assert_eq!(message_1.as_slice().last(), Some(&0x37)); // C_I = -24
    /// assert_eq!(initiator.suite().id, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn prepare_message_1(
        mut self,
        c_i: ConnId,
        ead_1: &Ead,
    ) -> Result<(InitiatorWaitM2<C>, MessageBuf), Error> {
        let suite = self.selected_suite()?;
        let (x, g_x) = self.crypto.generate_ecdh_key(suite.curve)?;
        self.prepare(suite, c_i, ead_1, x, g_x)
    }

    /// Builds message_1 with the given ephemeral private key X. For test vectors only: reusing
    /// an ephemeral key forfeits forward secrecy.
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
    /// // Suite 2 (P-256): the ephemeral key X would come from a test vector; here from the provider.
    /// let (x, g_x) = MoteCrypto::new().generate_ecdh_key(suite.curve)?;
    /// let (_wait, message_1) =
    ///     initiator.prepare_message_1_with_ephemeral(ConnId::from_int(-24)?, &Ead::new(), x)?;
    /// // (METHOD 3, SUITES_I 2, G_X as bstr .size 32, C_I -24): G_X is X's public key.
    /// assert_eq!(message_1.as_slice()[..4], [0x03, 0x02, 0x58, 0x20]);
    /// assert_eq!(message_1.as_slice()[4..36], g_x);
    /// assert_eq!(message_1.as_slice()[36..], [0x37]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn prepare_message_1_with_ephemeral(
        mut self,
        c_i: ConnId,
        ead_1: &Ead,
        x: Secret,
    ) -> Result<(InitiatorWaitM2<C>, MessageBuf), Error> {
        let suite = self.selected_suite()?;
        let g_x = self.crypto.ecdh_public_key(suite.curve, &x)?;
        self.prepare(suite, c_i, ead_1, x, g_x)
    }

    #[inline(never)]
    fn prepare(
        mut self,
        suite: CipherSuite,
        c_i: ConnId,
        ead_1: &Ead,
        x: Secret,
        g_x: [u8; 32],
    ) -> Result<(InitiatorWaitM2<C>, MessageBuf), Error> {
        if !self.config.method.is_supported() {
            return Err(Error::UnsupportedMethod(i64::from(
                self.config.method.value(),
            )));
        }
        let msg = encode_message_1(
            i64::from(self.config.method.value()),
            &self.suites_i,
            &g_x,
            &c_i,
            ead_1.as_bytes(),
        )?;
        let h_message_1 = schedule::hash_message_1(&mut self.crypto, &suite, msg.as_slice())?;
        let wait = InitiatorWaitM2 {
            crypto: self.crypto,
            config: self.config,
            suites_i: self.suites_i,
            suite,
            x,
            c_i,
            h_message_1,
        };
        Ok((wait, msg))
    }

    fn selected_suite(&self) -> Result<CipherSuite, Error> {
        self.suites_i
            .last()
            .and_then(|s| CipherSuite::from_id(i64::from(s)))
            .ok_or(Error::NoCommonSuite)
    }
}

impl<C: Crypto> InitiatorWaitM2<C> {
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
    /// assert_eq!(initiator.suite().id, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn suite(&self) -> &CipherSuite {
        &self.suite
    }

    /// Decrypts and parses message_2 (§5.3.3). An error message from the Responder yields
    /// [`Error::PeerWrongSelectedSuite`] (then use [`InitiatorWaitM2::restart`]) or
    /// [`Error::PeerError`].
    /// # Example
    /// Parsing message_2 reveals ID_CRED_R: look the Responder's credential up by it, then verify.
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
    /// let initiator = initiator.parse_message_2(message_2.as_slice())?;
    /// assert!(cred_r.matches(initiator.id_cred_r()));
    /// assert_eq!(initiator.c_r(), &ConnId::from_int(-8)?);
    /// let initiator = initiator.verify_message_2(&cred_r)?;
    /// # let _ = initiator;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn parse_message_2(
        mut self,
        msg: &[u8],
    ) -> Result<InitiatorProcessingM2<C>, Rejected<Self>> {
        match self.try_parse(msg) {
            Ok((g_y, th_2, prk_2e, plaintext_2, c_r, id_cred_r, signature_or_mac_2, ead_2)) => {
                Ok(InitiatorProcessingM2 {
                    wait: self,
                    g_y,
                    th_2,
                    prk_2e,
                    plaintext_2,
                    c_r,
                    id_cred_r,
                    signature_or_mac_2,
                    ead_2,
                })
            }
            Err(error) => Err(Rejected { state: self, error }),
        }
    }

    #[allow(clippy::type_complexity)]
    #[inline(never)]
    fn try_parse(
        &mut self,
        msg: &[u8],
    ) -> Result<
        (
            [u8; 32],
            Digest,
            Secret,
            MessageBuf,
            ConnId,
            IdCred,
            Bytes<64>,
            Ead,
        ),
        Error,
    > {
        if ErrorMessage::is_error(msg) {
            return Err(peer_error(msg));
        }
        let suite = self.suite;
        let m2 = Message2::parse(msg, suite.curve.public_len())?;
        let g_y = crate::buffer::array32(m2.g_y).ok_or(Error::InvalidPublicKey)?;
        let th_2 = schedule::th_2(&mut self.crypto, &suite, &g_y, self.h_message_1.as_slice())?;
        let g_xy = self.crypto.ecdh(suite.curve, &self.x, &g_y)?;
        let prk_2e = self
            .crypto
            .hkdf_extract(suite.hash, th_2.as_slice(), g_xy.as_bytes())?;
        let mut plaintext_2 = MessageBuf::from_slice(m2.ciphertext_2)?;
        schedule::apply_keystream_2(
            &mut self.crypto,
            &suite,
            prk_2e.as_bytes(),
            th_2.as_slice(),
            plaintext_2.as_mut_slice(),
        )?;
        let pt = Plaintext2::parse(plaintext_2.as_slice())?;
        if pt.c_r == self.c_i {
            return Err(Error::InvalidConnectionId(diag!("C_R equals C_I")));
        }
        let want = schedule::signature_or_mac_len(&suite, self.config.method.responder_static_dh());
        if pt.signature_or_mac_2.len() != want {
            return Err(Error::Malformed {
                offset: 0,
                reason: diag!("Signature_or_MAC_2 has the wrong length for the method and suite"),
            });
        }
        let ead_2 = Ead::parse(pt.ead_2, self.config.ead_labels)?;
        let sig = Bytes::from_slice(pt.signature_or_mac_2)?;
        let (c_r, id_cred_r) = (pt.c_r.clone(), pt.id_cred_r.clone());
        Ok((g_y, th_2, prk_2e, plaintext_2, c_r, id_cred_r, sig, ead_2))
    }

    /// After [`Error::PeerWrongSelectedSuite`]: a new Initiator whose SUITES_I selects its most
    /// preferred suite among SUITES_R, preceded by all suites it prefers to that one (§6.3.2).
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
    /// // The Initiator prefers suite 3 and also supports 2; the Responder supports only 2.
    /// let config = InitiatorConfig::new(Method::StaticStatic, 3, fresh("i", b"i")?).with_suites(&[3, 2])?;
    /// let initiator = Initiator::new(MoteCrypto::new(), config);
    /// let (wait, message_1) = initiator.prepare_message_1(ConnId::from_int(-24)?, &Ead::new())?;
    /// let rejected = responder.process_message_1(message_1.as_slice()).unwrap_err();
    /// let error_message = ErrorMessage::for_error(&rejected.error)?; // ERR_CODE 2, SUITES_R [2]
    /// let rejected = wait.parse_message_2(error_message.as_slice()).unwrap_err();
    /// let Error::PeerWrongSelectedSuite { suites_r } = rejected.error else { panic!("{:?}", rejected.error) };
    /// // §6.3.2: SUITES_I is now [3, 2], selecting 2.
    /// let initiator = rejected.state.restart(&suites_r)?;
    /// assert_eq!(initiator.suites_i().as_slice(), [3, 2]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn restart(self, suites_r: &Suites) -> Result<Initiator<C>, Error> {
        let prefs = self.config.suites.as_slice();
        let chosen = prefs
            .iter()
            .position(|s| suites_r.contains(*s))
            .ok_or(Error::NoCommonSuite)?;
        let previous = self.suites_i.last();
        let new_selected = prefs.get(chosen).copied();
        if new_selected == previous {
            // The Responder claims not to support the suite it lists: no progress possible.
            return Err(Error::NoCommonSuite);
        }
        let suites_i = Suites::from_values(prefs.get(..=chosen).unwrap_or(&[]))?;
        Ok(Initiator {
            crypto: self.crypto,
            config: self.config,
            suites_i,
        })
    }
}

impl<C: Crypto> InitiatorProcessingM2<C> {
    /// C_R.
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
    /// assert_eq!(initiator.c_r(), &ConnId::from_int(-8)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn c_r(&self) -> &ConnId {
        &self.c_r
    }

    /// ID_CRED_R: what to look CRED_R up by.
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
    /// // What to look the Responder's credential up by (here 'kid' "R").
    /// assert!(cred_r.matches(initiator.id_cred_r()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id_cred_r(&self) -> &IdCred {
        &self.id_cred_r
    }

    /// EAD_2 (critical items already checked against the configured labels).
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
    /// assert!(initiator.ead_2().is_empty()); // the Responder sent no EAD_2
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ead_2(&self) -> &Ead {
        &self.ead_2
    }

    /// G_Y, the Responder's ephemeral public key.
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
    /// assert_eq!(initiator.g_y(), &message_2.as_slice()[2..34]); // the first 32 bytes of G_Y_CIPHERTEXT_2's bstr
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn g_y(&self) -> &[u8; 32] {
        &self.g_y
    }

    /// Drops this message_2 (for example after a failed verification: the ciphertext of
    /// message_2 is only authenticated by Signature_or_MAC_2) and waits for another, in the
    /// state from before [`InitiatorWaitM2::parse_message_2`].
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
    /// // The credential is not the one expected: go back and wait for another message_2.
    /// let waiting = initiator.reject();
    /// assert_eq!(waiting.suite().id, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reject(self) -> InitiatorWaitM2<C> {
        self.wait
    }

    /// Verifies Signature_or_MAC_2 with CRED_R.
    /// # Example
    /// Only the credential of the Responder verifies message_2; a wrong one hands the state back in
    /// [`Rejected`] to try another.
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
    /// let rejected = initiator.verify_message_2(&cred_i).unwrap_err();
    /// let initiator = rejected.state.verify_message_2(&cred_r)?;
    /// assert!(cred_r.matches(&initiator.cred_r().id_cred_by_reference()?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn verify_message_2(
        mut self,
        cred_r: &Credential,
    ) -> Result<InitiatorProcessedM2<C>, Rejected<Self>> {
        match self.try_verify(cred_r) {
            Ok((prk_3e2m, th_3)) => {
                let w = self.wait;
                Ok(InitiatorProcessedM2 {
                    crypto: w.crypto,
                    config: w.config,
                    suite: w.suite,
                    c_i: w.c_i,
                    c_r: self.c_r,
                    g_y: self.g_y,
                    prk_3e2m,
                    th_3,
                    cred_r: cred_r.clone(),
                })
            }
            Err(error) => Err(Rejected { state: self, error }),
        }
    }

    /// Looks CRED_R up and verifies; an unknown credential is [`Error::UnknownCredential`].
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
    /// // Any `FnMut(&IdCred) -> Option<Credential>` is a lookup; `KnownCredentials` is a fixed set.
    /// let mut lookup = |id_cred: &IdCred| cred_r.matches(id_cred).then(|| cred_r.clone());
    /// let verified = initiator.verify_message_2_with(&mut lookup)?;
    /// assert_eq!(verified.cred_r(), &cred_r);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn verify_message_2_with<L: CredentialLookup>(
        self,
        lookup: &mut L,
    ) -> Result<InitiatorProcessedM2<C>, Rejected<Self>> {
        match lookup.lookup(&self.id_cred_r) {
            Some(cred) => self.verify_message_2(&cred),
            None => Err(Rejected {
                state: self,
                error: Error::UnknownCredential,
            }),
        }
    }

    #[inline(never)]
    fn try_verify(&mut self, cred_r: &Credential) -> Result<(Secret, Digest), Error> {
        let suite = self.wait.suite;
        let r_static = self.wait.config.method.responder_static_dh();
        cred_r.check_usable(&suite, r_static)?;
        let c = &mut self.wait.crypto;
        let g_rx = if r_static {
            Some(c.ecdh_static(suite.curve, &self.wait.x, cred_r.public_key())?)
        } else {
            None
        };
        let prk_3e2m =
            schedule::prk_3e2m(c, &suite, &self.prk_2e, self.th_2.as_slice(), g_rx.as_ref())?;
        let auth = AuthInput {
            static_dh: r_static,
            mac_label: label::MAC_2,
            c_r: Some(&self.c_r),
            id_cred: self.id_cred_r.as_map(),
            th: self.th_2.as_slice(),
            cred: cred_r.as_bytes(),
            ead: self.ead_2.as_bytes(),
        };
        schedule::verify_signature_or_mac(
            c,
            &suite,
            prk_3e2m.as_bytes(),
            &auth,
            cred_r.public_key(),
            self.signature_or_mac_2.as_slice(),
        )?;
        let th_3 = schedule::th_next(
            c,
            &suite,
            self.th_2.as_slice(),
            self.plaintext_2.as_slice(),
            cred_r.as_bytes(),
        )?;
        Ok((prk_3e2m, th_3))
    }
}

impl<C: Crypto> InitiatorProcessedM2<C> {
    /// The verified CRED_R.
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
    /// let initiator = initiator.verify_message_2(&cred_r)?;
    /// assert_eq!(initiator.cred_r(), &cred_r);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cred_r(&self) -> &Credential {
        &self.cred_r
    }

    /// Builds message_3 (§5.4.2).
    /// # Example
    /// After message_2 verified, the Initiator sends message_3.
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
    /// let (initiator, message_3) = initiator.prepare_message_3(&Ead::new())?;
    /// assert!(!message_3.as_slice().is_empty());
    /// # let _ = initiator;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn prepare_message_3(
        mut self,
        ead_3: &Ead,
    ) -> Result<(InitiatorWaitM4<C>, MessageBuf), Error> {
        let suite = self.suite;
        let id = &self.config.identity;
        let i_static = self.config.method.initiator_static_dh();
        // Checked here, not at message_1: SUITES_I may select a suite the key does not fit
        // while the Initiator probes the Responder's suites (RFC 9529 §3.1).
        id.credential.check_usable(&suite, i_static)?;
        let c = &mut self.crypto;
        let g_iy = if i_static {
            Some(c.ecdh(suite.curve, &id.private_key, &self.g_y)?)
        } else {
            None
        };
        let prk_4e3m = schedule::prk_4e3m(
            c,
            &suite,
            &self.prk_3e2m,
            self.th_3.as_slice(),
            g_iy.as_ref(),
        )?;
        let auth = AuthInput {
            static_dh: i_static,
            mac_label: label::MAC_3,
            c_r: None,
            id_cred: id.id_cred.as_map(),
            th: self.th_3.as_slice(),
            cred: id.credential.as_bytes(),
            ead: ead_3.as_bytes(),
        };
        let sig = schedule::signature_or_mac(
            c,
            &suite,
            prk_4e3m.as_bytes(),
            &auth,
            &id.private_key,
            id.credential.public_key(),
        )?;
        let mut plaintext_3 = MessageBuf::new();
        id.id_cred.encode_compact(&mut plaintext_3)?;
        cbor::bytes(&mut plaintext_3, sig.as_slice())?;
        plaintext_3.extend(ead_3.as_bytes())?;
        let msg = schedule::seal(
            c,
            &suite,
            self.prk_3e2m.as_bytes(),
            (label::K_3, label::IV_3),
            self.th_3.as_slice(),
            plaintext_3.as_slice(),
        )?;
        let th_4 = schedule::th_next(
            c,
            &suite,
            self.th_3.as_slice(),
            plaintext_3.as_slice(),
            id.credential.as_bytes(),
        )?;
        let prk_out = schedule::kdf_secret(
            c,
            &suite,
            prk_4e3m.as_bytes(),
            label::PRK_OUT,
            th_4.as_slice(),
            suite.hash_len(),
        )?;
        let wait = InitiatorWaitM4 {
            crypto: self.crypto,
            ead_labels: self.config.ead_labels,
            suite,
            c_i: self.c_i,
            c_r: self.c_r,
            prk_4e3m,
            th_4,
            prk_out,
        };
        Ok((wait, msg))
    }
}

impl<C: Crypto> InitiatorWaitM4<C> {
    /// Decrypts and checks message_4 (§5.5.3); returns the session and EAD_4.
    /// # Example
    /// message_4 completes the Initiator; both sessions hold the same PRK_out (§4.1.3).
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
    /// # let (r_session, message_4) = responder.prepare_message_4(&Ead::new())?;
    /// let (i_session, _ead_4) = initiator.process_message_4(message_4.as_slice())?;
    /// assert_eq!(i_session.prk_out().as_bytes(), r_session.prk_out().as_bytes());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn process_message_4(mut self, msg: &[u8]) -> Result<(Session<C>, Ead), Rejected<Self>> {
        match self.try_m4(msg) {
            Ok((ead_4, prk_exporter)) => Ok((
                Session::from_parts(
                    self.crypto,
                    self.suite,
                    Role::Initiator,
                    self.c_i,
                    self.c_r,
                    self.prk_out,
                    prk_exporter,
                ),
                ead_4,
            )),
            Err(error) => Err(Rejected { state: self, error }),
        }
    }

    #[inline(never)]
    fn try_m4(&mut self, msg: &[u8]) -> Result<(Ead, Secret), Error> {
        if ErrorMessage::is_error(msg) {
            return Err(peer_error(msg));
        }
        if msg.len() > MAX_MESSAGE_LEN {
            return Err(Error::Capacity {
                what: diag!("message_4"),
                needed: msg.len(),
            });
        }
        let ct = single_bstr(msg, "message_4")?;
        let pt = schedule::open(
            &mut self.crypto,
            &self.suite,
            self.prk_4e3m.as_bytes(),
            (label::K_4, label::IV_4),
            self.th_4.as_slice(),
            ct,
        )?;
        let ead_4 = Ead::parse(pt.as_slice(), self.ead_labels)?;
        let prk_exporter =
            crate::session::derive_prk_exporter(&mut self.crypto, &self.suite, &self.prk_out)?;
        Ok((ead_4, prk_exporter))
    }

    /// Completes without message_4 (when the application protocol confirms key possession).
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
    /// let (responder_session, _) = responder.verify_message_3(&cred_i)?.prepare_message_4(&Ead::new())?;
    /// // Without message_4 (the application's first protected message confirms instead, §5.4.3):
    /// let initiator_session = initiator.finish()?;
    /// assert_eq!(initiator_session.prk_out(), responder_session.prk_out());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn finish(self) -> Result<Session<C>, Error> {
        Session::new(
            self.crypto,
            self.suite,
            Role::Initiator,
            self.c_i,
            self.c_r,
            self.prk_out,
        )
    }

    /// PRK_out, already available after message_3.
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
    /// assert_eq!(initiator.prk_out().len(), 32); // the hash length of suite 2 (SHA-256)
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prk_out(&self) -> &Secret {
        &self.prk_out
    }
}

/// A received error message as the [`Error`] of the step: ERR_CODE 2 with SUITES_R, or the
/// peer's ERR_CODE. With `error-info` the whole message is validated by [`ErrorMessage::parse`].
#[cfg(feature = "error-info")]
#[inline(never)]
pub(crate) fn peer_error(msg: &[u8]) -> Error {
    match ErrorMessage::parse(msg) {
        Ok(ErrorMessage::WrongSelectedCipherSuite(suites_r)) => {
            Error::PeerWrongSelectedSuite { suites_r }
        }
        Ok(e) => Error::PeerError { code: e.code() },
        Err(e) => e,
    }
}

/// Without `error-info` only what the step acts on is read: ERR_CODE, and SUITES_R after
/// ERR_CODE 2 (§6.3). The ERR_INFO of other codes (a text, `true`, ...) is not validated.
#[cfg(not(feature = "error-info"))]
#[inline(never)]
pub(crate) fn peer_error(msg: &[u8]) -> Error {
    use crate::message::err_code;
    let mut r = cbor::reader(msg);
    match r.i64() {
        Ok(err_code::WRONG_SELECTED_CIPHER_SUITE) => match Suites::decode(&mut r) {
            Ok(suites_r) if r.is_empty() => Error::PeerWrongSelectedSuite { suites_r },
            Ok(_) => cbor::malformed(&r, diag!("trailing bytes after error message")),
            Err(e) => e,
        },
        Ok(err_code::SUCCESS) => {
            cbor::malformed(&r, diag!("ERR_CODE 0 is not used in error messages"))
        }
        Ok(code) => Error::PeerError { code },
        Err(e) => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // What the Initiator's steps make of a received error message, with and without the
    // `error-info` feature (`cargo test --no-default-features --lib` runs the lean path).
    #[test]
    fn peer_error_reads_code_and_suites_r() {
        // (2, [6, 2]) and (2, 2): ERR_CODE 2 with SUITES_R (§6.3).
        assert_eq!(
            peer_error(&[0x02, 0x82, 0x06, 0x02]),
            Error::PeerWrongSelectedSuite {
                suites_r: Suites::from_values(&[6, 2]).unwrap()
            }
        );
        assert_eq!(
            peer_error(&[0x02, 0x02]),
            Error::PeerWrongSelectedSuite {
                suites_r: Suites::from_values(&[2]).unwrap()
            }
        );
        // (1, "x") and (3, true).
        assert_eq!(
            peer_error(&[0x01, 0x61, b'x']),
            Error::PeerError { code: 1 }
        );
        assert_eq!(peer_error(&[0x03, 0xf5]), Error::PeerError { code: 3 });
        // ERR_CODE 0, trailing bytes after SUITES_R, a truncated SUITES_R: malformed.
        for msg in [&[0x00, 0xf5][..], &[0x02, 0x02, 0x02], &[0x02, 0x82, 0x06]] {
            assert!(
                matches!(peer_error(msg), Error::Malformed { .. }),
                "{msg:02x?}"
            );
        }
    }
}
