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
    pub fn oscore_aead(&self) -> OscoreAead {
        match self.aead {
            AeadAlgorithm::AesCcm16_64_128 => OscoreAead::AesCcm16_64_128,
            AeadAlgorithm::AesCcm16_128_128 => OscoreAead::AesCcm16_128_128,
            AeadAlgorithm::A128Gcm => OscoreAead::A128Gcm,
            AeadAlgorithm::ChaCha20Poly1305 => OscoreAead::ChaCha20Poly1305,
        }
    }

    /// The `mote-oscore` HKDF algorithm.
    pub fn oscore_hkdf(&self) -> HkdfAlgorithm {
        match self.hkdf {
            HashAlgorithm::Sha256 => HkdfAlgorithm::Sha256,
        }
    }

    /// Derives the OSCORE Security Context (RFC 8613 §3.2) with these parameters and the
    /// defaults of RFC 8613 for the rest (no ID Context, replay window 32).
    pub fn security_context(&self) -> Result<SecurityContext, Error> {
        self.security_context_with_store(mote_oscore::sequence::Volatile)
    }

    /// [`security_context`](Self::security_context) with a sequence-number store of the
    /// application's type (a fresh context from a new handshake starts at 0, so `store` is
    /// written to but not read).
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
