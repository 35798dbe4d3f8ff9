//! A completed EDHOC session: PRK_out, the exporter (RFC 9528 §4.2), key update (Appendix H)
//! and the OSCORE parameters (Appendix A.1).

use crate::buffer::{Bytes, Secret};
use crate::conn_id::ConnId;
use crate::crypto::Crypto;
use crate::error::Error;
use crate::schedule::{self, label};
use crate::suite::{AeadAlgorithm, CipherSuite, HashAlgorithm};

/// Which side of the handshake this endpoint was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The EDHOC Initiator (the CoAP client in the forward message flow).
    Initiator,
    /// The EDHOC Responder.
    Responder,
}

/// Default OSCORE Master Salt length (Appendix A.1).
pub const OSCORE_SALT_LEN: usize = 8;

/// The input of an OSCORE Security Context (RFC 8613 §3.2) derived from EDHOC (Appendix A.1).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OscoreParameters {
    /// Master Secret = EDHOC_Exporter(0, h'', key length of the application AEAD).
    pub master_secret: Secret,
    /// Master Salt = EDHOC_Exporter(1, h'', 8).
    pub master_salt: Bytes<OSCORE_SALT_LEN>,
    /// Sender ID: C_R for the Initiator, C_I for the Responder.
    pub sender_id: ConnId,
    /// Recipient ID: C_I for the Initiator, C_R for the Responder.
    pub recipient_id: ConnId,
    /// The application AEAD algorithm of the cipher suite.
    pub aead: AeadAlgorithm,
    /// The application hash algorithm (the HKDF hash) of the cipher suite.
    pub hkdf: HashAlgorithm,
}

/// A completed EDHOC session.
/// # Example
/// What both sides hold after a handshake: the OSCORE input of Appendix A.1, the exporter
/// (§4.2.1) and the key update of Appendix H.
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
/// # let initiator = Initiator::new(MoteCrypto::new(), InitiatorConfig::new(Method::StaticStatic, 2, id_i));
/// # let responder = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
/// # let (initiator, message_1) = initiator.prepare_message_1(ConnId::from_int(-24)?, &Ead::new())?;
/// # let responder = responder.process_message_1(message_1.as_slice())?;
/// # let (responder, message_2) = responder.prepare_message_2(ConnId::from_int(-8)?, &Ead::new())?;
/// # let initiator = initiator.parse_message_2(message_2.as_slice())?.verify_message_2(&cred_r)?;
/// # let (initiator, message_3) = initiator.prepare_message_3(&Ead::new())?;
/// # let responder = responder.parse_message_3(message_3.as_slice())?.verify_message_3(&cred_i)?;
/// # let (mut r_session, message_4) = responder.prepare_message_4(&Ead::new())?;
/// # let (mut i_session, _) = initiator.process_message_4(message_4.as_slice())?;
/// assert_eq!((i_session.role(), r_session.role()), (Role::Initiator, Role::Responder));
/// let (client, server) = (i_session.oscore_parameters()?, r_session.oscore_parameters()?);
/// assert_eq!(client.master_secret.as_bytes(), server.master_secret.as_bytes());
/// assert_eq!(client.sender_id.as_bytes(), [0x27]); // C_R = -8
/// assert_eq!(client.recipient_id.as_bytes(), [0x37]); // C_I = -24
///
/// // An application key from the exporter (label 24 of the private range), equal on both sides.
/// let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
/// i_session.exporter(24, b"app", &mut a)?;
/// r_session.exporter(24, b"app", &mut b)?;
/// assert_eq!(a, b);
/// // A key update changes what both export, in step.
/// i_session.key_update(b"nonce")?;
/// r_session.key_update(b"nonce")?;
/// let (mut c, mut d) = ([0u8; 16], [0u8; 16]);
/// i_session.exporter(24, b"app", &mut c)?;
/// r_session.exporter(24, b"app", &mut d)?;
/// assert_eq!(c, d);
/// assert_ne!(a, c);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Session<C: Crypto> {
    pub(crate) crypto: C,
    pub(crate) suite: CipherSuite,
    pub(crate) role: Role,
    pub(crate) c_i: ConnId,
    pub(crate) c_r: ConnId,
    pub(crate) prk_out: Secret,
    pub(crate) prk_exporter: Secret,
}

impl<C: Crypto> core::fmt::Debug for Session<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("suite", &self.suite.id)
            .field("role", &self.role)
            .field("c_i", &self.c_i)
            .field("c_r", &self.c_r)
            .finish_non_exhaustive()
    }
}

impl<C: Crypto> Session<C> {
    #[inline(never)]
    pub(crate) fn new(
        mut crypto: C,
        suite: CipherSuite,
        role: Role,
        c_i: ConnId,
        c_r: ConnId,
        prk_out: Secret,
    ) -> Result<Self, Error> {
        let prk_exporter = derive_prk_exporter(&mut crypto, &suite, &prk_out)?;
        Ok(Self {
            crypto,
            suite,
            role,
            c_i,
            c_r,
            prk_out,
            prk_exporter,
        })
    }

    #[inline(never)]
    pub(crate) fn from_parts(
        crypto: C,
        suite: CipherSuite,
        role: Role,
        c_i: ConnId,
        c_r: ConnId,
        prk_out: Secret,
        prk_exporter: Secret,
    ) -> Self {
        Self {
            crypto,
            suite,
            role,
            c_i,
            c_r,
            prk_out,
            prk_exporter,
        }
    }

    /// The negotiated cipher suite.
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
    /// # let initiator = initiator.parse_message_2(message_2.as_slice())?.verify_message_2(&cred_r)?;
    /// # let (initiator, message_3) = initiator.prepare_message_3(&Ead::new())?;
    /// # let (mut r_session, _) = responder.parse_message_3(message_3.as_slice())?.verify_message_3(&cred_i)?.prepare_message_4(&Ead::new())?;
    /// # let mut i_session = initiator.finish()?;
    /// assert_eq!(i_session.suite().id, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn suite(&self) -> &CipherSuite {
        &self.suite
    }

    /// This endpoint's role.
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
    /// # let initiator = initiator.parse_message_2(message_2.as_slice())?.verify_message_2(&cred_r)?;
    /// # let (initiator, message_3) = initiator.prepare_message_3(&Ead::new())?;
    /// # let (mut r_session, _) = responder.parse_message_3(message_3.as_slice())?.verify_message_3(&cred_i)?.prepare_message_4(&Ead::new())?;
    /// # let mut i_session = initiator.finish()?;
    /// assert_eq!((i_session.role(), r_session.role()), (Role::Initiator, Role::Responder));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn role(&self) -> Role {
        self.role
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
    /// # let initiator = initiator.parse_message_2(message_2.as_slice())?.verify_message_2(&cred_r)?;
    /// # let (initiator, message_3) = initiator.prepare_message_3(&Ead::new())?;
    /// # let (mut r_session, _) = responder.parse_message_3(message_3.as_slice())?.verify_message_3(&cred_i)?.prepare_message_4(&Ead::new())?;
    /// # let mut i_session = initiator.finish()?;
    /// assert_eq!(r_session.c_i(), &ConnId::from_int(-24)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn c_i(&self) -> &ConnId {
        &self.c_i
    }

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
    /// # let initiator = initiator.parse_message_2(message_2.as_slice())?.verify_message_2(&cred_r)?;
    /// # let (initiator, message_3) = initiator.prepare_message_3(&Ead::new())?;
    /// # let (mut r_session, _) = responder.parse_message_3(message_3.as_slice())?.verify_message_3(&cred_i)?.prepare_message_4(&Ead::new())?;
    /// # let mut i_session = initiator.finish()?;
    /// assert_eq!(i_session.c_r(), &ConnId::from_int(-8)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn c_r(&self) -> &ConnId {
        &self.c_r
    }

    /// PRK_out (§4.1.3). Handle with care.
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
    /// # let initiator = initiator.parse_message_2(message_2.as_slice())?.verify_message_2(&cred_r)?;
    /// # let (initiator, message_3) = initiator.prepare_message_3(&Ead::new())?;
    /// # let (mut r_session, _) = responder.parse_message_3(message_3.as_slice())?.verify_message_3(&cred_i)?.prepare_message_4(&Ead::new())?;
    /// # let mut i_session = initiator.finish()?;
    /// assert_eq!(i_session.prk_out(), r_session.prk_out()); // the shared result of the handshake
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prk_out(&self) -> &Secret {
        &self.prk_out
    }

    /// PRK_exporter = EDHOC_KDF(PRK_out, 10, h'', hash_length) (§4.2.1). Handle with care.
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
    /// # let initiator = initiator.parse_message_2(message_2.as_slice())?.verify_message_2(&cred_r)?;
    /// # let (initiator, message_3) = initiator.prepare_message_3(&Ead::new())?;
    /// # let (mut r_session, _) = responder.parse_message_3(message_3.as_slice())?.verify_message_3(&cred_i)?.prepare_message_4(&Ead::new())?;
    /// # let mut i_session = initiator.finish()?;
    /// assert_eq!(i_session.prk_exporter(), r_session.prk_exporter());
    /// assert_ne!(i_session.prk_exporter(), i_session.prk_out());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prk_exporter(&self) -> &Secret {
        &self.prk_exporter
    }

    /// EDHOC_Exporter(label, context, out.len()) = EDHOC_KDF(PRK_exporter, label, context,
    /// length) (§4.2.1).
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
    /// # let initiator = initiator.parse_message_2(message_2.as_slice())?.verify_message_2(&cred_r)?;
    /// # let (initiator, message_3) = initiator.prepare_message_3(&Ead::new())?;
    /// # let (mut r_session, _) = responder.parse_message_3(message_3.as_slice())?.verify_message_3(&cred_i)?.prepare_message_4(&Ead::new())?;
    /// # let mut i_session = initiator.finish()?;
    /// // Keying material for another protocol, with a private label (§4.2.1: 32768 and above).
    /// let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
    /// i_session.exporter(40_000, b"my protocol", &mut a)?;
    /// r_session.exporter(40_000, b"my protocol", &mut b)?;
    /// assert_eq!(a, b);
    /// let mut other = [0u8; 16];
    /// i_session.exporter(40_001, b"my protocol", &mut other)?;
    /// assert_ne!(a, other);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn exporter(&mut self, label: u64, context: &[u8], out: &mut [u8]) -> Result<(), Error> {
        schedule::kdf(
            &mut self.crypto,
            &self.suite,
            self.prk_exporter.as_bytes(),
            label,
            context,
            out,
        )
    }

    /// EDHOC_KeyUpdate(context) (Appendix H): PRK_out = EDHOC_KDF(PRK_out, 11, context,
    /// hash_length), then PRK_exporter anew. Both peers must use the same context.
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
    /// # let initiator = initiator.parse_message_2(message_2.as_slice())?.verify_message_2(&cred_r)?;
    /// # let (initiator, message_3) = initiator.prepare_message_3(&Ead::new())?;
    /// # let (mut r_session, _) = responder.parse_message_3(message_3.as_slice())?.verify_message_3(&cred_i)?.prepare_message_4(&Ead::new())?;
    /// # let mut i_session = initiator.finish()?;
    /// let before = i_session.prk_out().clone();
    /// i_session.key_update(b"nonce from both sides")?;
    /// r_session.key_update(b"nonce from both sides")?;
    /// assert_ne!(i_session.prk_out(), &before);
    /// assert_eq!(i_session.prk_out(), r_session.prk_out()); // new OSCORE contexts follow
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn key_update(&mut self, context: &[u8]) -> Result<(), Error> {
        let n = self.suite.hash_len();
        let prk_out = schedule::kdf_secret(
            &mut self.crypto,
            &self.suite,
            self.prk_out.as_bytes(),
            label::KEY_UPDATE,
            context,
            n,
        )?;
        let prk_exporter = derive_prk_exporter(&mut self.crypto, &self.suite, &prk_out)?;
        self.prk_out = prk_out;
        self.prk_exporter = prk_exporter;
        Ok(())
    }

    /// The OSCORE Security Context input of Appendix A.1 with the default lengths.
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
    /// # let initiator = initiator.parse_message_2(message_2.as_slice())?.verify_message_2(&cred_r)?;
    /// # let (initiator, message_3) = initiator.prepare_message_3(&Ead::new())?;
    /// # let (mut r_session, _) = responder.parse_message_3(message_3.as_slice())?.verify_message_3(&cred_i)?.prepare_message_4(&Ead::new())?;
    /// # let mut i_session = initiator.finish()?;
    /// let (client, server) = (i_session.oscore_parameters()?, r_session.oscore_parameters()?);
    /// assert_eq!(client.master_secret, server.master_secret);
    /// assert_eq!(client.master_secret.len(), 16); // the key length of AES-CCM-16-64-128
    /// assert_eq!((&client.sender_id, &server.sender_id), (&ConnId::from_int(-8)?, &ConnId::from_int(-24)?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn oscore_parameters(&mut self) -> Result<OscoreParameters, Error> {
        // EDHOC_Exporter(0, h'', key_length) = EDHOC_KDF(PRK_exporter, 0, h'', key_length).
        let master_secret = schedule::kdf_secret(
            &mut self.crypto,
            &self.suite,
            self.prk_exporter.as_bytes(),
            0,
            &[],
            self.suite.app_aead.key_len(),
        )?;
        let mut master_salt = Bytes::new();
        master_salt.set_len(OSCORE_SALT_LEN)?;
        self.exporter(1, &[], master_salt.as_mut_slice())?;
        let (sender_id, recipient_id) = match self.role {
            Role::Initiator => (self.c_r.clone(), self.c_i.clone()),
            Role::Responder => (self.c_i.clone(), self.c_r.clone()),
        };
        Ok(OscoreParameters {
            master_secret,
            master_salt,
            sender_id,
            recipient_id,
            aead: self.suite.app_aead,
            hkdf: self.suite.app_hash,
        })
    }

    /// The crypto provider, back.
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
    /// # let initiator = initiator.parse_message_2(message_2.as_slice())?.verify_message_2(&cred_r)?;
    /// # let (initiator, message_3) = initiator.prepare_message_3(&Ead::new())?;
    /// # let (mut r_session, _) = responder.parse_message_3(message_3.as_slice())?.verify_message_3(&cred_i)?.prepare_message_4(&Ead::new())?;
    /// # let mut i_session = initiator.finish()?;
    /// let mut crypto: MoteCrypto<_> = i_session.into_crypto(); // for the next handshake
    /// let (_key, _public) = crypto.generate_ecdh_key(Curve::P256)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_crypto(self) -> C {
        self.crypto
    }
}

#[inline(never)]
pub(crate) fn derive_prk_exporter<C: Crypto>(
    c: &mut C,
    suite: &CipherSuite,
    prk_out: &Secret,
) -> Result<Secret, Error> {
    schedule::kdf_secret(
        c,
        suite,
        prk_out.as_bytes(),
        label::PRK_EXPORTER,
        &[],
        suite.hash_len(),
    )
}
