//! The OSCORE Security Context from an EDHOC session (RFC 9528 Appendix A.1), as a
//! `mote-oscore` [`SecurityContext`](mote_oscore::SecurityContext).

use mote_oscore::{
    AeadAlgorithm as OscoreAead, HkdfAlgorithm, SecurityContext, SecurityContextParams,
};

use crate::error::Error;
use crate::session::OscoreParameters;
use crate::suite::{AeadAlgorithm, HashAlgorithm};

impl OscoreParameters {
    /// The `mote-oscore` AEAD algorithm.
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
    /// // Suite 2: AES-CCM-16-64-128 and SHA-256 for the application.
    /// let params = i_session.oscore_parameters()?;
    /// assert_eq!(params.oscore_aead(), mote_oscore::AeadAlgorithm::AesCcm16_64_128);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn oscore_aead(&self) -> OscoreAead {
        match self.aead {
            AeadAlgorithm::AesCcm16_64_128 => OscoreAead::AesCcm16_64_128,
            AeadAlgorithm::AesCcm16_128_128 => OscoreAead::AesCcm16_128_128,
            AeadAlgorithm::A128Gcm => OscoreAead::A128Gcm,
            AeadAlgorithm::ChaCha20Poly1305 => OscoreAead::ChaCha20Poly1305,
        }
    }

    /// The `mote-oscore` HKDF algorithm.
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
    /// assert_eq!(i_session.oscore_parameters()?.oscore_hkdf(), mote_oscore::HkdfAlgorithm::Sha256);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn oscore_hkdf(&self) -> HkdfAlgorithm {
        match self.hkdf {
            HashAlgorithm::Sha256 => HkdfAlgorithm::Sha256,
        }
    }

    /// Derives the OSCORE Security Context (RFC 8613 §3.2) with these parameters and the
    /// defaults of RFC 8613 for the rest (no ID Context, replay window 32).
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
    /// // Appendix A.1: each side's Sender ID is the other's connection identifier.
    /// let client = i_session.oscore_parameters()?.security_context()?;
    /// let server = r_session.oscore_parameters()?.security_context()?;
    /// assert_eq!((client.sender_id(), client.recipient_id()), (&[0x27][..], &[0x37][..])); // C_R, C_I
    /// assert_eq!(client.sender_key(), server.recipient_key());
    /// assert_eq!(client.common_iv(), server.common_iv());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn security_context(&self) -> Result<SecurityContext, Error> {
        self.security_context_with_store(mote_oscore::sequence::Volatile)
    }

    /// [`security_context`](Self::security_context) with a sequence-number store of the
    /// application's type (a fresh context from a new handshake starts at 0, so `store` is
    /// written to but not read).
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
    /// use mote_oscore::sequence::MemoryStore;
    /// let mut store = MemoryStore::default();
    /// let client = i_session.oscore_parameters()?.security_context_with_store(&mut store)?;
    /// assert_eq!(client.sender_sequence_number(), 0); // a new context starts at 0
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn security_context_with_store<S: mote_oscore::sequence::SequenceStore>(
        &self,
        store: S,
    ) -> Result<SecurityContext<S>, Error> {
        let mut p = SecurityContextParams::new(
            self.master_secret.as_bytes(),
            self.sender_id.as_bytes(),
            self.recipient_id.as_bytes(),
        );
        p.master_salt = self.master_salt.as_slice();
        p.aead = self.oscore_aead();
        p.hkdf = self.oscore_hkdf();
        SecurityContext::with_store(&p, store).map_err(|_| {
            Error::InvalidConnectionId(diag!(
                "not usable as OSCORE Sender/Recipient ID (RFC 8613 §3.3)"
            ))
        })
    }
}
