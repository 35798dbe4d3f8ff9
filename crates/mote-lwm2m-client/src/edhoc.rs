//! EDHOC for an account (RFC 9528 as Initiator over CoAP, Appendix A.2): the client runs the
//! handshake with a server's `/.well-known/edhoc` and the OSCORE context it derives
//! (Appendix A.1) becomes the account's OSCORE Object instance (/21, TS 1.2 Transport §5.5),
//! replacing the one it had: a first key for an account configured without one, or a
//! rekey. [`crate::Engine::rekey`] moves the messages through the endpoint; the
//! cryptography is the application's, behind [`EdhocHandshake`] (with the `edhoc` feature,
//! [`MoteHandshake`] adapts mote-edhoc's Initiator).
//!
//! Message flow (RFC 9528 Appendix A.2, forward flow, without the RFC 9668 combined request):
//! `POST /.well-known/edhoc` with `true, message_1` → 2.04 message_2;
//! `POST /.well-known/edhoc` with `C_R, message_3` → 2.04 with message_4 or empty.
//! Both requests are unprotected CON requests (Content-Format 65,
//! application/cid-edhoc+cbor-seq); EDHOC protects itself.

use alloc::string::String;
use alloc::vec::Vec;

/// Content-Format 65, `application/cid-edhoc+cbor-seq` (RFC 9528 §10.9): the payload of a
/// request to the EDHOC resource.
pub const CONTENT_FORMAT_CID_EDHOC: u16 = 65;

/// What an EDHOC handshake gives the OSCORE context (RFC 9528 Appendix A.1), as the OSCORE
/// Object stores it (/21/x/0–5).
#[derive(Clone, PartialEq, Eq)]
pub struct EdhocOutput {
    /// Master Secret = EDHOC_Exporter(0, h'', key length).
    pub master_secret: Vec<u8>,
    /// Master Salt = EDHOC_Exporter(1, h'', 8).
    pub master_salt: Vec<u8>,
    /// The client's Sender ID: C_R.
    pub sender_id: Vec<u8>,
    /// The client's Recipient ID: C_I.
    pub recipient_id: Vec<u8>,
    /// The AEAD algorithm of the cipher suite (a COSE algorithm number).
    pub aead: i64,
    /// The HKDF hash algorithm of the cipher suite (a COSE algorithm number).
    pub hkdf: i64,
}

impl core::fmt::Debug for EdhocOutput {
    // The Master Secret stays out of logs.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EdhocOutput")
            .field("sender_id", &self.sender_id)
            .field("recipient_id", &self.recipient_id)
            .field("aead", &self.aead)
            .field("hkdf", &self.hkdf)
            .finish_non_exhaustive()
    }
}

/// The next request after message_2.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AfterMessage2 {
    /// message_2 verified: post this payload (`C_R, message_3`).
    Message3(Vec<u8>),
    /// The server chose another cipher suite (an EDHOC error with ERR_CODE 2, RFC 9528
    /// §6.3.2): post this new payload (`true, message_1`).
    Restart(Vec<u8>),
}

/// The Initiator's side of one EDHOC handshake, with the application's cryptography and
/// credentials.
pub trait EdhocHandshake {
    /// The payload of the first request: `true, message_1` (RFC 9528 Appendix A.2).
    ///
    /// # Errors
    /// [`RekeyError::Handshake`] when message_1 cannot be made.
    fn message_1(&mut self) -> Result<Vec<u8>, RekeyError>;

    /// The answer to message_1 (a message_2, or an EDHOC error message).
    ///
    /// # Errors
    /// [`RekeyError::Handshake`] when it does not verify or the server refused.
    fn message_2(&mut self, payload: &[u8]) -> Result<AfterMessage2, RekeyError>;

    /// The answer to message_3: message_4, or `None` for an empty 2.04.
    ///
    /// # Errors
    /// [`RekeyError::Handshake`] when message_4 does not verify.
    fn finish(&mut self, message_4: Option<&[u8]>) -> Result<EdhocOutput, RekeyError>;
}

/// Why a rekey could not start or failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RekeyError {
    /// No server account with this Short Server ID.
    #[error("no server account with Short Server ID {0}")]
    UnknownAccount(u16),
    /// A handshake with this account is running already.
    #[error("an EDHOC handshake with server {0} is running already")]
    InProgress(u16),
    /// Too many requests in flight ([`crate::EngineConfig::max_pending`]).
    #[error("too many requests in flight ({0} allowed)")]
    TooManyRequests(usize),
    /// The account's Server URI cannot be reached.
    #[error("cannot resolve {0}")]
    Unresolvable(String),
    /// The endpoint refused the request.
    #[error("cannot send: {0}")]
    Send(String),
    /// The server answered a request of the handshake with an error code.
    #[error("the EDHOC resource answered {0}")]
    Refused(String),
    /// The handshake failed (the text says how).
    #[error("EDHOC: {0}")]
    Handshake(String),
    /// The request timed out or was reset.
    #[error("no answer from the EDHOC resource")]
    NoAnswer,
}

#[cfg(feature = "edhoc")]
pub use self::mote::MoteHandshake;

#[cfg(feature = "edhoc")]
mod mote {
    use alloc::format;
    use alloc::vec::Vec;

    use mote_edhoc::credential::CredentialLookup;
    use mote_edhoc::protection::{EdhocInitiator, Initiated};
    use mote_edhoc::{Crypto, Error};

    use super::{AfterMessage2, EdhocHandshake, EdhocOutput, RekeyError};

    /// [`EdhocHandshake`] over mote-edhoc's [`EdhocInitiator`] and a credential lookup for
    /// the server's ID_CRED_R.
    pub struct MoteHandshake<C: Crypto, L> {
        initiator: EdhocInitiator<C>,
        lookup: L,
        initiated: Option<Initiated<C>>,
    }

    impl<C: Crypto, L> core::fmt::Debug for MoteHandshake<C, L> {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_struct("MoteHandshake").finish_non_exhaustive()
        }
    }

    impl<C: Crypto, L: CredentialLookup> MoteHandshake<C, L> {
        /// A handshake of `initiator`, trusting the server credentials `lookup` returns.
        pub fn new(initiator: EdhocInitiator<C>, lookup: L) -> Self {
            MoteHandshake {
                initiator,
                lookup,
                initiated: None,
            }
        }
    }

    fn failed(e: Error) -> RekeyError {
        RekeyError::Handshake(format!("{e}"))
    }

    impl<C: Crypto, L: CredentialLookup> EdhocHandshake for MoteHandshake<C, L> {
        fn message_1(&mut self) -> Result<Vec<u8>, RekeyError> {
            self.initiator.message_1().map_err(failed)
        }

        fn message_2(&mut self, payload: &[u8]) -> Result<AfterMessage2, RekeyError> {
            match self.initiator.message_2(payload, &mut self.lookup) {
                Ok(initiated) => {
                    let m3 = initiated.message_3_payload().map_err(failed)?;
                    self.initiated = Some(initiated);
                    Ok(AfterMessage2::Message3(m3))
                }
                // RFC 9528 §6.3.2: the Initiator learnt the Responder's suites; try again.
                Err(Error::PeerWrongSelectedSuite { .. }) => self
                    .initiator
                    .message_1()
                    .map(AfterMessage2::Restart)
                    .map_err(failed),
                Err(e) => Err(failed(e)),
            }
        }

        fn finish(&mut self, message_4: Option<&[u8]>) -> Result<EdhocOutput, RekeyError> {
            let initiated = self
                .initiated
                .take()
                .ok_or_else(|| RekeyError::Handshake("message_3 was not sent".into()))?;
            let p = initiated.oscore_parameters(message_4).map_err(failed)?;
            Ok(EdhocOutput {
                master_secret: p.master_secret.as_bytes().to_vec(),
                master_salt: p.master_salt.as_slice().to_vec(),
                sender_id: p.sender_id.as_bytes().to_vec(),
                recipient_id: p.recipient_id.as_bytes().to_vec(),
                aead: p.aead.cose_id(),
                hkdf: hkdf_cose_id(p.hkdf),
            })
        }
    }

    /// The HKDF algorithm of the hash, as the OSCORE Object names it (COSE: -10 is
    /// HKDF SHA-256, -11 HKDF SHA-512; RFC 9053 §5.1).
    fn hkdf_cose_id(hash: mote_edhoc::HashAlgorithm) -> i64 {
        match hash.cose_id() {
            -43 => -11,
            // SHA-256 (-16) and anything else this crate knows map to HKDF SHA-256.
            _ => -10,
        }
    }
}
