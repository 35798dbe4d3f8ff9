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
    pub fn suite(&self) -> &CipherSuite {
        &self.suite
    }

    /// This endpoint's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// C_I.
    pub fn c_i(&self) -> &ConnId {
        &self.c_i
    }

    /// C_R.
    pub fn c_r(&self) -> &ConnId {
        &self.c_r
    }

    /// PRK_out (§4.1.3). Handle with care.
    pub fn prk_out(&self) -> &Secret {
        &self.prk_out
    }

    /// PRK_exporter = EDHOC_KDF(PRK_out, 10, h'', hash_length) (§4.2.1). Handle with care.
    pub fn prk_exporter(&self) -> &Secret {
        &self.prk_exporter
    }

    /// EDHOC_Exporter(label, context, out.len()) = EDHOC_KDF(PRK_exporter, label, context,
    /// length) (§4.2.1).
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
