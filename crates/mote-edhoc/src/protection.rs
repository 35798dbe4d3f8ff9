//! EDHOC as part of the protection layer of a `mote_coap` endpoint: the RFC 9668 combined
//! EDHOC + OSCORE request, the EDHOC resource (RFC 9528 Appendix A.2) and the Initiator's
//! side, around `mote_oscore`'s [`OscoreProtection`].
//!
//! Server role ([`EdhocProtection`]):
//! * the application routes POSTs to `/.well-known/edhoc` to [`EdhocProtection::edhoc_post`]:
//!   `true, message_1` starts a session (answered with message_2, the session kept pending
//!   under a fresh C_R), `C_R, message_3` completes it (answered 2.04 with message_4,
//!   Appendix A.2.1) and adds the OSCORE context (Appendix A.1: C_R is its Recipient ID);
//! * a request with the EDHOC option (RFC 9668 §3.1) reaching
//!   [`Protection::unprotect_request`] is split (§3.3.1), its message_3 completes the pending
//!   session its 'kid' names, the context is added, and the OSCORE request is unprotected as
//!   usual; a failure is answered with an EDHOC error message (Content-Format 64, §3.3.1,
//!   RFC 9528 §6).
//!
//! Client role: [`EdhocInitiator`] runs message_1 and message_2 over the EDHOC resource and
//! yields message_3 with the OSCORE context ([`Initiated`]); add the context with
//! [`EdhocProtection::add_initiated`], which makes the next request protected under it the
//! combined request (RFC 9668 §3.2: EDHOC option, payload `message_3 ‖ OSCORE ciphertext`).
//!
//! Both roles without an endpoint in between, in the sequential flow of Appendix A.2 (POSTs to
//! the EDHOC resource; over a `mote_coap` endpoint the application routes them, and
//! [`EdhocProtection::add_initiated`] sends message_3 in the first OSCORE request instead):
//!
//! ```
//! use core::time::Duration;
//! use mote_coap::code::Code;
//! use mote_edhoc::protection::{EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
//! use mote_edhoc::*;
//! use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
//! use mote_oscore::sequence::Volatile;
//! # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
//! # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
//! #     let mut crypto = MoteCrypto::new();
//! #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
//! #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
//! #     Ok(Identity::by_reference(cred, key.as_bytes())?)
//! # };
//! let (device, gateway) = (fresh("device", b"D")?, fresh("gateway", b"G")?);
//! let (device_cred, gateway_cred) = (device.credential.clone(), gateway.credential.clone());
//!
//! // The server (Responder): OSCORE contexts, EDHOC sessions, the Initiators it trusts.
//! let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
//! let trusted = move |id: &IdCred| device_cred.matches(id).then(|| device_cred.clone());
//! let responder = ResponderConfig::new(2, gateway);
//! let config = EdhocProtectionConfig::default();
//! let mut server = EdhocProtection::new(oscore, config, responder, MoteCrypto::new(), trusted);
//! assert_eq!(server.config().max_pending, 16);
//!
//! // The client (Initiator), whose OSCORE Recipient ID will be C_I.
//! let initiator = InitiatorConfig::new(Method::StaticStatic, 2, device);
//! let mut client = EdhocInitiator::new(MoteCrypto::new(), initiator, ConnId::from_int(-24)?);
//! let now = Duration::from_secs(10);
//!
//! // POST /.well-known/edhoc `true, message_1` → 2.04 with message_2; the session waits.
//! let reply = server.edhoc_post(now, b"192.0.2.7", None, &client.message_1()?);
//! assert_eq!(reply.code, Code::CHANGED);
//! assert_eq!(server.pending_sessions(), 1);
//! let mut known = |id: &IdCred| gateway_cred.matches(id).then(|| gateway_cred.clone());
//! let initiated = client.message_2(&reply.payload, &mut known)?;
//!
//! // POST `C_R, message_3` → 2.04 (with message_4 if the server sends one); context added.
//! let reply = server.edhoc_post(now, b"192.0.2.7", None, &initiated.message_3_payload()?);
//! assert_eq!(reply.code, Code::CHANGED);
//! let message_4 = (!reply.payload.is_empty()).then_some(reply.payload.as_slice());
//! let client_context = initiated.context(message_4, Volatile)?;
//! let Some(EdhocEvent::ContextEstablished { context }) = server.poll_event() else {
//!     panic!("no context")
//! };
//! assert_eq!(server.pending_sessions(), 0);
//! assert_eq!(server.edhoc_contexts().count(), 1);
//! // Appendix A.1: the server's Recipient ID is C_R, the client's Sender ID; the keys match.
//! let server_context = server.oscore().context(&context).ok_or("context")?;
//! assert_eq!(server_context.recipient_id(), client_context.sender_id());
//! assert_eq!(server_context.sender_key(), client_context.recipient_key());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Bounds and hardening:
//! * pending sessions: [`EdhocProtectionConfig::max_pending`]; a session older than
//!   [`EdhocProtectionConfig::pending_timeout`] may be replaced, a full table of live ones
//!   refuses message_1 with an EDHOC error (5.00, RFC 9528 Appendix A.2.3);
//! * contexts from EDHOC: [`EdhocProtectionConfig::max_contexts`]; the oldest is replaced
//!   and [`EdhocEvent::ContextReplaced`] tells the application, which ends the observations
//!   under it;
//! * C_R is drawn at random, as long as an OSCORE ID of the selected suite may be (at most 8
//!   bytes: 7 for AES-CCM's 13-byte nonce, 6 for 12-byte nonces, RFC 8613 §3.3), avoiding
//!   C_I, pending C_Rs and Recipient IDs in use: guessing one is useless;
//! * a pending session ends only when its message_3 authenticates or fails to authenticate;
//!   a message that merely names its C_R and does not decrypt leaves it pending;
//! * an unknown C_R and a message_3 that does not belong to the named session get the same
//!   error response;
//! * admission of message_1 (RFC 9528 §9.7): each source (the caller names it, e.g. the
//!   peer's IP address) holds at most [`EdhocProtectionConfig::max_pending_per_source`]
//!   sessions, so one source cannot fill the table; from
//!   [`EdhocProtectionConfig::validation_threshold`] pending sessions on, message_1 from a
//!   source that has not shown it is reachable at its address is answered 4.01 with an Echo
//!   option (RFC 9175 §2.4 item 3) and processed only when repeated with that value. The
//!   challenge is a small reply without state: the Echo value is a timestamp and a MAC over
//!   it and the source, under a key drawn when the layer is made. A flood from spoofed
//!   addresses thus fills the table only up to the threshold, and costs one HMAC and a
//!   short response per datagram; [`EdhocInitiator::echo_retry`] answers the challenge.

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use mote_coap::code::Code;
use mote_coap::content_format::ContentFormat;
use mote_coap::echo::EchoBuf;
use mote_coap::endpoint::{MessageParts, Protection, ProtectionError};
use mote_coap::message::Message;
use mote_coap::option::OptionNumber;
use mote_coap::transmission::RandomSource;
use mote_oscore::SecurityContext;
use mote_oscore::endpoint::{ContextId, ContextSetError, OscoreBinding, OscoreProtection};
use mote_oscore::sequence::SequenceStore;

use crate::conn_id::ConnId;
use crate::credential::CredentialLookup;
use crate::crypto::Crypto;
use crate::ead::Ead;
use crate::endpoint::{InitiatorConfig, ResponderConfig};
use crate::error::Error;
use crate::initiator::{Initiator, InitiatorWaitM2, InitiatorWaitM4};
use crate::message::ErrorMessage;
use crate::responder::{Responder, ResponderWaitM3};
use crate::suite::HashAlgorithm;
use crate::transport::{self, ClientPayload, EDHOC_OPTION};

/// Content-Format application/edhoc+cbor-seq (RFC 9528 §10.9) of the server's responses.
pub const EDHOC_CONTENT_FORMAT: ContentFormat = ContentFormat(transport::CONTENT_FORMAT_EDHOC);

/// The longest C_R drawn (RFC 9528 §3.3.2 leaves the length open; 64 bits make guessing a
/// pending session useless).
const MAX_DRAWN_C_R: usize = 8;

/// The bounds of [`EdhocProtection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdhocProtectionConfig {
    /// Sessions between message_2 and message_3.
    pub max_pending: usize,
    /// How long a pending session is kept for certain; after it, a new message_1 may take
    /// its place when the table is full.
    pub pending_timeout: Duration,
    /// OSCORE contexts established by EDHOC; beyond it the oldest is replaced
    /// ([`EdhocEvent::ContextReplaced`]). The [`OscoreProtection`]'s own `max_contexts` must
    /// leave room for them.
    pub max_contexts: usize,
    /// Pending sessions one source may hold (RFC 9528 §9.7); a further message_1 from it is
    /// refused until one of its sessions completes or goes stale.
    pub max_pending_per_source: usize,
    /// From this many pending sessions on, message_1 from a source that has not returned a
    /// valid Echo value is answered 4.01 with an Echo option (RFC 9175 §2.4 item 3). Below
    /// `max_pending`, so that the sessions beyond it are kept for validated sources.
    pub validation_threshold: usize,
    /// How long an Echo value issued by the layer proves that its source is reachable.
    pub echo_lifetime: Duration,
}

impl Default for EdhocProtectionConfig {
    fn default() -> Self {
        Self {
            max_pending: 16,
            pending_timeout: Duration::from_secs(60),
            max_contexts: 64,
            max_pending_per_source: 2,
            validation_threshold: 8,
            echo_lifetime: Duration::from_secs(60),
        }
    }
}

/// What happened to the contexts established by EDHOC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EdhocEvent {
    /// A handshake completed and its OSCORE context was added.
    ContextEstablished {
        /// The new context.
        context: ContextId,
    },
    /// The oldest EDHOC context was removed to make room
    /// ([`EdhocProtectionConfig::max_contexts`]): end the observations under it.
    ContextReplaced {
        /// The context removed.
        removed: ContextId,
    },
}

/// What the admission of message_1 refused or challenged since the layer was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EdhocAdmissionStats {
    /// message_1 answered 4.01 with an Echo option (address validation under load).
    pub echo_challenges: u64,
    /// message_1 with an Echo value that was not issued for its source or is too old.
    pub invalid_echo: u64,
    /// message_1 refused because its source held `max_pending_per_source` sessions.
    pub refused_per_source: u64,
    /// message_1 refused because the table held `max_pending` live sessions.
    pub refused_table_full: u64,
    /// Sessions dropped after `pending_timeout` without their message_3.
    pub expired: u64,
}

/// A response of the EDHOC resource (RFC 9528 Appendix A.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdhocReply {
    /// 2.04 (Changed) with a message, the code of an EDHOC error message (4.00 / 5.00,
    /// Appendix A.2.3), or 4.01 (Unauthorized) with [`echo`](Self::echo) when the source
    /// must show it is reachable (RFC 9175 §2.4).
    pub code: Code,
    /// [`EDHOC_CONTENT_FORMAT`] when there is a payload, `None` for the empty 2.04 after
    /// message_3 without message_4.
    pub content_format: Option<ContentFormat>,
    /// message_2, message_4 or an EDHOC error message.
    pub payload: Vec<u8>,
    /// The Echo option of a 4.01 challenge: repeat message_1 with it.
    pub echo: Option<EchoBuf>,
}

impl EdhocReply {
    /// The EDHOC error message for `error` with its response code.
    fn error(error: &Error) -> Self {
        Self {
            code: transport::error_response_code(error),
            content_format: Some(EDHOC_CONTENT_FORMAT),
            payload: ErrorMessage::for_error(error)
                .map(|m| m.as_slice().to_vec())
                .unwrap_or_default(),
            echo: None,
        }
    }

    fn changed(payload: Vec<u8>) -> Self {
        Self {
            code: Code::CHANGED,
            content_format: (!payload.is_empty()).then_some(EDHOC_CONTENT_FORMAT),
            payload,
            echo: None,
        }
    }

    /// RFC 9175 §2.4 item 3: 4.01 with an Echo option and no payload.
    fn echo_challenge(echo: EchoBuf) -> Self {
        Self {
            code: Code::UNAUTHORIZED,
            content_format: None,
            payload: Vec::new(),
            echo: Some(echo),
        }
    }

    /// The reply as message parts (code, Content-Format, payload).
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use mote_coap::code::Code;
    /// # use mote_edhoc::protection::{EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
    /// # use mote_edhoc::*;
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # use mote_oscore::sequence::Volatile;
    /// # // The set-up of the module example: a device (Initiator) and a gateway (Responder) with
    /// # // fresh P-256 keys for static DH, suite 2.
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (device, gateway) = (fresh("device", b"D")?, fresh("gateway", b"G")?);
    /// # let (device_cred, gateway_cred) = (device.credential.clone(), gateway.credential.clone());
    /// # let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// # let trusted = move |id: &IdCred| device_cred.matches(id).then(|| device_cred.clone());
    /// # let config = EdhocProtectionConfig::default();
    /// # let mut server = EdhocProtection::new(oscore, config, ResponderConfig::new(2, gateway), MoteCrypto::new(), trusted);
    /// # let initiator = InitiatorConfig::new(Method::StaticStatic, 2, device);
    /// # let mut client = EdhocInitiator::new(MoteCrypto::new(), initiator, ConnId::from_int(-24)?);
    /// # let mut known = move |id: &IdCred| gateway_cred.matches(id).then(|| gateway_cred.clone());
    /// # let now = Duration::from_secs(10);
    /// use mote_coap::option::OptionNumber;
    /// // The answer to a message_1 POST (`server`, `client`: the module example's set-up).
    /// let reply = server.edhoc_post(now, b"192.0.2.7", None, &client.message_1()?);
    /// let message_2 = reply.payload.clone();
    /// let parts = reply.into_parts();
    /// assert_eq!(parts.code, Code::CHANGED);
    /// let cf = parts.options.get(OptionNumber::CONTENT_FORMAT).ok_or("Content-Format")?;
    /// assert_eq!(cf.as_uint()?, 64); // application/edhoc+cbor-seq
    /// assert_eq!(parts.payload, message_2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_parts(self) -> MessageParts {
        let mut parts = MessageParts::new(self.code);
        if let Some(cf) = self.content_format {
            parts
                .options
                .push_uint(OptionNumber::CONTENT_FORMAT, u32::from(cf.0));
        }
        if let Some(echo) = &self.echo {
            parts
                .options
                .push(OptionNumber::ECHO, echo.as_bytes().to_vec());
        }
        parts.payload = self.payload;
        parts
    }
}

/// The error that an unknown C_R and a message_3 not of the named session both give, so
/// that the responses are identical (no oracle for which C_Rs are pending).
const SESSION_NOT_COMPLETED: Error = Error::AuthenticationFailed;

struct Pending<C: Crypto> {
    c_r: ConnId,
    /// Who sent message_1, as the caller named it (admission per source).
    source: Vec<u8>,
    since: Duration,
    wait: ResponderWaitM3<C>,
}

/// Bytes of an Echo value: a 4-byte timestamp (seconds) and a MAC over it and the source.
const ECHO_TIMESTAMP_LEN: usize = 4;
/// Bytes of the MAC in an Echo value (64 bits: forging one for a spoofed source is useless).
const ECHO_MAC_LEN: usize = 8;
/// Separates the Echo MAC's input from any other use of the key.
const ECHO_MAC_LABEL: &[u8] = b"mote EDHOC message_1 Echo";

/// The protection layer with EDHOC: an [`OscoreProtection`] plus the EDHOC Responder
/// sessions, the combined request of RFC 9668 and the contexts EDHOC established. See the
/// module documentation.
///
/// `C` is cloned for every Responder session (its ephemeral key comes from the clone) and
/// draws C_R itself: its clones must not repeat each other's randomness (an OS or hardware
/// random source, as `MoteCrypto::new()` has; not a seeded PRNG copied by `Clone`).
///
/// `L` is the credential lookup ("the credential for this ID_CRED_I"), as a closure
/// `FnMut(&IdCred) -> Option<Credential>` or [`crate::KnownCredentials`]. Contexts from a
/// handshake start at sequence number 0 with `S::default()` as their store.
pub struct EdhocProtection<S, R, C: Crypto, L> {
    oscore: OscoreProtection<S, R>,
    config: EdhocProtectionConfig,
    responder: ResponderConfig,
    crypto: C,
    lookup: L,
    pending: VecDeque<Pending<C>>,
    edhoc_contexts: VecDeque<ContextId>,
    /// Client: contexts whose next request goes as the combined request, with message_3.
    combined: Vec<(ContextId, Vec<u8>)>,
    events: VecDeque<EdhocEvent>,
    /// The key of the Echo MAC (address validation), drawn at construction.
    echo_key: [u8; 32],
    admission: EdhocAdmissionStats,
}

impl<S, R, C: Crypto, L> core::fmt::Debug for EdhocProtection<S, R, C, L> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EdhocProtection")
            .field("config", &self.config)
            .field("pending", &self.pending.len())
            .field("edhoc_contexts", &self.edhoc_contexts)
            .finish_non_exhaustive()
    }
}

impl<S, R, C, L> EdhocProtection<S, R, C, L>
where
    S: SequenceStore + Default,
    R: RandomSource,
    C: Crypto + Clone,
    L: CredentialLookup,
{
    /// The layer around `oscore`, answering as the Responder with `responder` (its identity
    /// prepared in `crypto`, e.g. `MoteCrypto::prepare`) and looking up Initiators'
    /// credentials with `lookup`.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use mote_coap::code::Code;
    /// # use mote_edhoc::protection::{EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
    /// # use mote_edhoc::*;
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # use mote_oscore::sequence::Volatile;
    /// # // The set-up of the module example: a device (Initiator) and a gateway (Responder) with
    /// # // fresh P-256 keys for static DH, suite 2.
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (device, gateway) = (fresh("device", b"D")?, fresh("gateway", b"G")?);
    /// # let (device_cred, gateway_cred) = (device.credential.clone(), gateway.credential.clone());
    /// # let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// # let trusted = move |id: &IdCred| device_cred.matches(id).then(|| device_cred.clone());
    /// # let config = EdhocProtectionConfig::default();
    /// # let mut server = EdhocProtection::new(oscore, config, ResponderConfig::new(2, gateway), MoteCrypto::new(), trusted);
    /// # let initiator = InitiatorConfig::new(Method::StaticStatic, 2, device);
    /// # let mut client = EdhocInitiator::new(MoteCrypto::new(), initiator, ConnId::from_int(-24)?);
    /// # let mut known = move |id: &IdCred| gateway_cred.matches(id).then(|| gateway_cred.clone());
    /// # let now = Duration::from_secs(10);
    /// // `oscore`: an `OscoreProtection`; `trusted`: the lookup of Initiators' credentials;
    /// // `gateway`: the server's `Identity` (see the module example).
    /// # let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// # let trusted = |_: &IdCred| None::<Credential>;
    /// # let gateway = fresh("gateway", b"G")?;
    /// let config = EdhocProtectionConfig { max_pending: 4, validation_threshold: 2, ..Default::default() };
    /// let server = EdhocProtection::new(oscore, config, ResponderConfig::new(2, gateway), MoteCrypto::new(), trusted);
    /// assert_eq!(server.config().max_pending, 4);
    /// assert_eq!(server.pending_sessions(), 0);
    /// assert!(server.oscore().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        oscore: OscoreProtection<S, R>,
        config: EdhocProtectionConfig,
        responder: ResponderConfig,
        mut crypto: C,
        lookup: L,
    ) -> Self {
        let mut echo_key = [0u8; 32];
        crypto.random_bytes(&mut echo_key);
        Self {
            oscore,
            config,
            responder,
            crypto,
            lookup,
            pending: VecDeque::new(),
            edhoc_contexts: VecDeque::new(),
            combined: Vec::new(),
            events: VecDeque::new(),
            echo_key,
            admission: EdhocAdmissionStats::default(),
        }
    }

    /// The OSCORE layer (its contexts).
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use mote_coap::code::Code;
    /// # use mote_edhoc::protection::{EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
    /// # use mote_edhoc::*;
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # use mote_oscore::sequence::Volatile;
    /// # // The set-up of the module example: a device (Initiator) and a gateway (Responder) with
    /// # // fresh P-256 keys for static DH, suite 2.
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (device, gateway) = (fresh("device", b"D")?, fresh("gateway", b"G")?);
    /// # let (device_cred, gateway_cred) = (device.credential.clone(), gateway.credential.clone());
    /// # let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// # let trusted = move |id: &IdCred| device_cred.matches(id).then(|| device_cred.clone());
    /// # let config = EdhocProtectionConfig::default();
    /// # let mut server = EdhocProtection::new(oscore, config, ResponderConfig::new(2, gateway), MoteCrypto::new(), trusted);
    /// # let initiator = InitiatorConfig::new(Method::StaticStatic, 2, device);
    /// # let mut client = EdhocInitiator::new(MoteCrypto::new(), initiator, ConnId::from_int(-24)?);
    /// # let mut known = move |id: &IdCred| gateway_cred.matches(id).then(|| gateway_cred.clone());
    /// # let now = Duration::from_secs(10);
    /// # let reply = server.edhoc_post(now, b"192.0.2.7", None, &client.message_1()?);
    /// # let initiated = client.message_2(&reply.payload, &mut known)?;
    /// # let reply = server.edhoc_post(now, b"192.0.2.7", None, &initiated.message_3_payload()?);
    /// # assert_eq!(reply.code, Code::CHANGED);
    /// // After a handshake (`server`: the module example's set-up) the OSCORE layer holds its context.
    /// let Some(EdhocEvent::ContextEstablished { context }) = server.poll_event() else { panic!("no context") };
    /// assert_eq!(server.oscore().len(), 1);
    /// let ctx = server.oscore().context(&context).ok_or("context")?;
    /// assert_eq!(ctx.recipient_id(), initiated.c_r().as_bytes()); // Appendix A.1: C_R
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn oscore(&self) -> &OscoreProtection<S, R> {
        &self.oscore
    }

    /// The OSCORE layer, to add or remove contexts.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use mote_coap::code::Code;
    /// # use mote_edhoc::protection::{EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
    /// # use mote_edhoc::*;
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # use mote_oscore::sequence::Volatile;
    /// # // The set-up of the module example: a device (Initiator) and a gateway (Responder) with
    /// # // fresh P-256 keys for static DH, suite 2.
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (device, gateway) = (fresh("device", b"D")?, fresh("gateway", b"G")?);
    /// # let (device_cred, gateway_cred) = (device.credential.clone(), gateway.credential.clone());
    /// # let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// # let trusted = move |id: &IdCred| device_cred.matches(id).then(|| device_cred.clone());
    /// # let config = EdhocProtectionConfig::default();
    /// # let mut server = EdhocProtection::new(oscore, config, ResponderConfig::new(2, gateway), MoteCrypto::new(), trusted);
    /// # let initiator = InitiatorConfig::new(Method::StaticStatic, 2, device);
    /// # let mut client = EdhocInitiator::new(MoteCrypto::new(), initiator, ConnId::from_int(-24)?);
    /// # let mut known = move |id: &IdCred| gateway_cred.matches(id).then(|| gateway_cred.clone());
    /// # let now = Duration::from_secs(10);
    /// # let reply = server.edhoc_post(now, b"192.0.2.7", None, &client.message_1()?);
    /// # let initiated = client.message_2(&reply.payload, &mut known)?;
    /// # let reply = server.edhoc_post(now, b"192.0.2.7", None, &initiated.message_3_payload()?);
    /// # assert_eq!(reply.code, Code::CHANGED);
    /// // After a handshake (`server`: the module example's set-up), the application drops its context.
    /// let Some(EdhocEvent::ContextEstablished { context }) = server.poll_event() else { panic!("no context") };
    /// assert!(server.oscore_mut().remove_context(&context).is_some());
    /// assert!(server.oscore().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn oscore_mut(&mut self) -> &mut OscoreProtection<S, R> {
        &mut self.oscore
    }

    /// The configuration.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use mote_coap::code::Code;
    /// # use mote_edhoc::protection::{EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
    /// # use mote_edhoc::*;
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # use mote_oscore::sequence::Volatile;
    /// # // The set-up of the module example: a device (Initiator) and a gateway (Responder) with
    /// # // fresh P-256 keys for static DH, suite 2.
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (device, gateway) = (fresh("device", b"D")?, fresh("gateway", b"G")?);
    /// # let (device_cred, gateway_cred) = (device.credential.clone(), gateway.credential.clone());
    /// # let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// # let trusted = move |id: &IdCred| device_cred.matches(id).then(|| device_cred.clone());
    /// # let config = EdhocProtectionConfig { max_contexts: 8, ..Default::default() };
    /// # let mut server = EdhocProtection::new(oscore, config, ResponderConfig::new(2, gateway), MoteCrypto::new(), trusted);
    /// # let initiator = InitiatorConfig::new(Method::StaticStatic, 2, device);
    /// # let mut client = EdhocInitiator::new(MoteCrypto::new(), initiator, ConnId::from_int(-24)?);
    /// # let mut known = move |id: &IdCred| gateway_cred.matches(id).then(|| gateway_cred.clone());
    /// # let now = Duration::from_secs(10);
    /// // `server` was made with `EdhocProtectionConfig { max_contexts: 8, ..Default::default() }`.
    /// assert_eq!(server.config().max_contexts, 8);
    /// assert_eq!(server.config().max_pending, EdhocProtectionConfig::default().max_pending);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn config(&self) -> &EdhocProtectionConfig {
        &self.config
    }

    /// Sessions waiting for message_3.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use mote_coap::code::Code;
    /// # use mote_edhoc::protection::{EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
    /// # use mote_edhoc::*;
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # use mote_oscore::sequence::Volatile;
    /// # // The set-up of the module example: a device (Initiator) and a gateway (Responder) with
    /// # // fresh P-256 keys for static DH, suite 2.
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (device, gateway) = (fresh("device", b"D")?, fresh("gateway", b"G")?);
    /// # let (device_cred, gateway_cred) = (device.credential.clone(), gateway.credential.clone());
    /// # let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// # let trusted = move |id: &IdCred| device_cred.matches(id).then(|| device_cred.clone());
    /// # let config = EdhocProtectionConfig::default();
    /// # let mut server = EdhocProtection::new(oscore, config, ResponderConfig::new(2, gateway), MoteCrypto::new(), trusted);
    /// # let initiator = InitiatorConfig::new(Method::StaticStatic, 2, device);
    /// # let mut client = EdhocInitiator::new(MoteCrypto::new(), initiator, ConnId::from_int(-24)?);
    /// # let mut known = move |id: &IdCred| gateway_cred.matches(id).then(|| gateway_cred.clone());
    /// # let now = Duration::from_secs(10);
    /// // `server`, `client`: the module example's set-up.
    /// assert_eq!(server.pending_sessions(), 0);
    /// let reply = server.edhoc_post(now, b"192.0.2.7", None, &client.message_1()?);
    /// assert_eq!(server.pending_sessions(), 1); // waiting for message_3
    /// let initiated = client.message_2(&reply.payload, &mut known)?;
    /// server.edhoc_post(now, b"192.0.2.7", None, &initiated.message_3_payload()?);
    /// assert_eq!(server.pending_sessions(), 0); // completed
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pending_sessions(&self) -> usize {
        self.pending.len()
    }

    /// Sessions waiting for message_3 that `source` started.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use mote_coap::code::Code;
    /// # use mote_edhoc::protection::{EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
    /// # use mote_edhoc::*;
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # use mote_oscore::sequence::Volatile;
    /// # // The set-up of the module example: a device (Initiator) and a gateway (Responder) with
    /// # // fresh P-256 keys for static DH, suite 2.
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (device, gateway) = (fresh("device", b"D")?, fresh("gateway", b"G")?);
    /// # let (device_cred, gateway_cred) = (device.credential.clone(), gateway.credential.clone());
    /// # let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// # let trusted = move |id: &IdCred| device_cred.matches(id).then(|| device_cred.clone());
    /// # let config = EdhocProtectionConfig::default();
    /// # let mut server = EdhocProtection::new(oscore, config, ResponderConfig::new(2, gateway), MoteCrypto::new(), trusted);
    /// # let initiator = InitiatorConfig::new(Method::StaticStatic, 2, device);
    /// # let mut client = EdhocInitiator::new(MoteCrypto::new(), initiator, ConnId::from_int(-24)?);
    /// # let mut known = move |id: &IdCred| gateway_cred.matches(id).then(|| gateway_cred.clone());
    /// # let now = Duration::from_secs(10);
    /// // `server`, `client`: the module example's set-up.
    /// server.edhoc_post(now, b"192.0.2.7", None, &client.message_1()?);
    /// assert_eq!(server.pending_sessions_of(b"192.0.2.7"), 1);
    /// assert_eq!(server.pending_sessions_of(b"192.0.2.8"), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pending_sessions_of(&self, source: &[u8]) -> usize {
        self.pending.iter().filter(|p| p.source == source).count()
    }

    /// What the admission of message_1 refused or challenged so far.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use mote_coap::code::Code;
    /// # use mote_edhoc::protection::{EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
    /// # use mote_edhoc::*;
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # use mote_oscore::sequence::Volatile;
    /// # // The set-up of the module example: a device (Initiator) and a gateway (Responder) with
    /// # // fresh P-256 keys for static DH, suite 2.
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (device, gateway) = (fresh("device", b"D")?, fresh("gateway", b"G")?);
    /// # let (device_cred, gateway_cred) = (device.credential.clone(), gateway.credential.clone());
    /// # let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// # let trusted = move |id: &IdCred| device_cred.matches(id).then(|| device_cred.clone());
    /// # let config = EdhocProtectionConfig { validation_threshold: 0, ..Default::default() };
    /// # let mut server = EdhocProtection::new(oscore, config, ResponderConfig::new(2, gateway), MoteCrypto::new(), trusted);
    /// # let initiator = InitiatorConfig::new(Method::StaticStatic, 2, device);
    /// # let mut client = EdhocInitiator::new(MoteCrypto::new(), initiator, ConnId::from_int(-24)?);
    /// # let mut known = move |id: &IdCred| gateway_cred.matches(id).then(|| gateway_cred.clone());
    /// # let now = Duration::from_secs(10);
    /// // `server` validates every source (`validation_threshold: 0`; the module example's set-up).
    /// assert_eq!(server.admission_stats().echo_challenges, 0);
    /// let message_1 = client.message_1()?;
    /// let reply = server.edhoc_post(now, b"192.0.2.7", None, &message_1);
    /// assert_eq!(reply.code, Code::UNAUTHORIZED); // 4.01 with an Echo option
    /// assert_eq!(server.admission_stats().echo_challenges, 1);
    /// // A made-up Echo value is counted as invalid (and challenged again).
    /// server.edhoc_post(now, b"192.0.2.8", Some(&[1, 2, 3]), &message_1);
    /// assert_eq!(server.admission_stats().invalid_echo, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn admission_stats(&self) -> EdhocAdmissionStats {
        self.admission
    }

    /// The contexts established by EDHOC, oldest first.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use mote_coap::code::Code;
    /// # use mote_edhoc::protection::{EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
    /// # use mote_edhoc::*;
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # use mote_oscore::sequence::Volatile;
    /// # // The set-up of the module example: a device (Initiator) and a gateway (Responder) with
    /// # // fresh P-256 keys for static DH, suite 2.
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (device, gateway) = (fresh("device", b"D")?, fresh("gateway", b"G")?);
    /// # let (device_cred, gateway_cred) = (device.credential.clone(), gateway.credential.clone());
    /// # let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// # let trusted = move |id: &IdCred| device_cred.matches(id).then(|| device_cred.clone());
    /// # let config = EdhocProtectionConfig::default();
    /// # let mut server = EdhocProtection::new(oscore, config, ResponderConfig::new(2, gateway), MoteCrypto::new(), trusted);
    /// # let initiator = InitiatorConfig::new(Method::StaticStatic, 2, device);
    /// # let mut client = EdhocInitiator::new(MoteCrypto::new(), initiator, ConnId::from_int(-24)?);
    /// # let mut known = move |id: &IdCred| gateway_cred.matches(id).then(|| gateway_cred.clone());
    /// # let now = Duration::from_secs(10);
    /// # let reply = server.edhoc_post(now, b"192.0.2.7", None, &client.message_1()?);
    /// # let initiated = client.message_2(&reply.payload, &mut known)?;
    /// # let reply = server.edhoc_post(now, b"192.0.2.7", None, &initiated.message_3_payload()?);
    /// # assert_eq!(reply.code, Code::CHANGED);
    /// // After a handshake (`server`: the module example's set-up).
    /// let Some(EdhocEvent::ContextEstablished { context }) = server.poll_event() else { panic!("no context") };
    /// assert_eq!(server.edhoc_contexts().collect::<Vec<_>>(), [&context]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn edhoc_contexts(&self) -> impl Iterator<Item = &ContextId> {
        self.edhoc_contexts.iter()
    }

    /// The next event, oldest first.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use mote_coap::code::Code;
    /// # use mote_edhoc::protection::{EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
    /// # use mote_edhoc::*;
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # use mote_oscore::sequence::Volatile;
    /// # // The set-up of the module example: a device (Initiator) and a gateway (Responder) with
    /// # // fresh P-256 keys for static DH, suite 2.
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (device, gateway) = (fresh("device", b"D")?, fresh("gateway", b"G")?);
    /// # let (device_cred, gateway_cred) = (device.credential.clone(), gateway.credential.clone());
    /// # let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// # let trusted = move |id: &IdCred| device_cred.matches(id).then(|| device_cred.clone());
    /// # let config = EdhocProtectionConfig::default();
    /// # let mut server = EdhocProtection::new(oscore, config, ResponderConfig::new(2, gateway), MoteCrypto::new(), trusted);
    /// # let initiator = InitiatorConfig::new(Method::StaticStatic, 2, device);
    /// # let mut client = EdhocInitiator::new(MoteCrypto::new(), initiator, ConnId::from_int(-24)?);
    /// # let mut known = move |id: &IdCred| gateway_cred.matches(id).then(|| gateway_cred.clone());
    /// # let now = Duration::from_secs(10);
    /// // `server`, `client`: the module example's set-up.
    /// assert_eq!(server.poll_event(), None);
    /// let reply = server.edhoc_post(now, b"192.0.2.7", None, &client.message_1()?);
    /// let initiated = client.message_2(&reply.payload, &mut known)?;
    /// server.edhoc_post(now, b"192.0.2.7", None, &initiated.message_3_payload()?);
    /// assert!(matches!(server.poll_event(), Some(EdhocEvent::ContextEstablished { .. })));
    /// assert_eq!(server.poll_event(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll_event(&mut self) -> Option<EdhocEvent> {
        self.events.pop_front()
    }

    /// Handles a POST to the EDHOC resource (RFC 9528 Appendix A.2): `true, message_1`
    /// (answered with message_2) or `C_R, message_3` (answered 2.04 with message_4,
    /// Appendix A.2.1; the OSCORE context is added). Failures are answered with an EDHOC
    /// error message.
    ///
    /// `source` names the sender for the admission limits: the peer's network address as
    /// the application sees it (the IP address alone counts every port of a host as one
    /// source). `echo` is the request's Echo option value: under load, message_1 from a
    /// source without a valid one is answered 4.01 with an Echo option (RFC 9175 §2.4).
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use mote_coap::code::Code;
    /// # use mote_edhoc::protection::{EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
    /// # use mote_edhoc::*;
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # use mote_oscore::sequence::Volatile;
    /// # // The set-up of the module example: a device (Initiator) and a gateway (Responder) with
    /// # // fresh P-256 keys for static DH, suite 2.
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (device, gateway) = (fresh("device", b"D")?, fresh("gateway", b"G")?);
    /// # let (device_cred, gateway_cred) = (device.credential.clone(), gateway.credential.clone());
    /// # let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// # let trusted = move |id: &IdCred| device_cred.matches(id).then(|| device_cred.clone());
    /// # let config = EdhocProtectionConfig::default();
    /// # let mut server = EdhocProtection::new(oscore, config, ResponderConfig::new(2, gateway), MoteCrypto::new(), trusted);
    /// # let initiator = InitiatorConfig::new(Method::StaticStatic, 2, device);
    /// # let mut client = EdhocInitiator::new(MoteCrypto::new(), initiator, ConnId::from_int(-24)?);
    /// # let mut known = move |id: &IdCred| gateway_cred.matches(id).then(|| gateway_cred.clone());
    /// # let now = Duration::from_secs(10);
    /// // `server`, `client`: the module example's set-up; the source is the client's IP address.
    /// let reply = server.edhoc_post(now, b"192.0.2.7", None, &client.message_1()?);
    /// assert_eq!(reply.code, Code::CHANGED); // message_2
    /// let initiated = client.message_2(&reply.payload, &mut known)?;
    /// let reply = server.edhoc_post(now, b"192.0.2.7", None, &initiated.message_3_payload()?);
    /// assert_eq!(reply.code, Code::CHANGED); // message_4, or empty
    /// // Garbage is answered with an EDHOC error message (4.00, Content-Format 64).
    /// let reply = server.edhoc_post(now, b"192.0.2.7", None, &[0xff]);
    /// assert_eq!(reply.code, Code::BAD_REQUEST);
    /// assert_eq!(reply.content_format.map(|cf| cf.0), Some(64));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn edhoc_post(
        &mut self,
        now: Duration,
        source: &[u8],
        echo: Option<&[u8]>,
        payload: &[u8],
    ) -> EdhocReply {
        let result = match transport::parse_client_payload(payload) {
            Ok(ClientPayload::NewSession { message_1 }) => match self.admit(now, source, echo) {
                Ok(Admission::Admitted) => self
                    .message_2(now, source, message_1)
                    .map(EdhocReply::changed),
                Ok(Admission::Challenge(echo)) => Ok(EdhocReply::echo_challenge(echo)),
                Err(e) => Err(e),
            },
            Ok(ClientPayload::Session { c_r, message }) => self
                .complete(&c_r, message, true)
                .map(|(_, m4)| EdhocReply::changed(m4.unwrap_or_default())),
            Err(e) => Err(e),
        };
        result.unwrap_or_else(|e| EdhocReply::error(&e))
    }

    /// RFC 9528 §9.7: whether message_1 from `source` may start a session now, before any
    /// EDHOC processing. Stale sessions go first; then, above the validation threshold, a
    /// source without a valid Echo value is challenged (RFC 9175 §2.4 item 3); then the
    /// per-source and the overall bound.
    fn admit(
        &mut self,
        now: Duration,
        source: &[u8],
        echo: Option<&[u8]>,
    ) -> Result<Admission, Error> {
        // Sessions past their timeout end here: a flood leaves nothing behind for longer.
        let timeout = self.config.pending_timeout;
        let before = self.pending.len();
        self.pending
            .retain(|p| now.saturating_sub(p.since) < timeout);
        self.admission.expired += (before - self.pending.len()) as u64;

        if self.pending.len() >= self.config.validation_threshold {
            let valid = match echo {
                Some(value) => {
                    let ok = self.echo_valid(now, source, value);
                    if !ok {
                        self.admission.invalid_echo += 1;
                    }
                    ok
                }
                None => false,
            };
            if !valid {
                self.admission.echo_challenges += 1;
                return Ok(Admission::Challenge(self.echo_value(now, source)?));
            }
        }
        if self.pending_sessions_of(source) >= self.config.max_pending_per_source {
            self.admission.refused_per_source += 1;
            return Err(Error::TableFull {
                what: diag!("pending EDHOC sessions of one source"),
                capacity: self.config.max_pending_per_source,
            });
        }
        // A full table of live sessions refuses: a burst of message_1 cannot push out a
        // handshake in progress.
        if self.pending.len() >= self.config.max_pending {
            self.admission.refused_table_full += 1;
            return Err(Error::TableFull {
                what: diag!("pending EDHOC sessions"),
                capacity: self.config.max_pending,
            });
        }
        Ok(Admission::Admitted)
    }

    /// The Echo value for `source` at `now`: timestamp ‖ MAC(key, label ‖ timestamp ‖ source)
    /// (RFC 9175 Appendix A, method 2, bound to the client's address as §2.4 item 3 needs).
    fn echo_value(&mut self, now: Duration, source: &[u8]) -> Result<EchoBuf, Error> {
        let timestamp = (now.as_secs() as u32).to_be_bytes();
        let mac = self.echo_mac(&timestamp, source)?;
        let mut value = [0u8; ECHO_TIMESTAMP_LEN + ECHO_MAC_LEN];
        let (head, tail) = value.split_at_mut(ECHO_TIMESTAMP_LEN);
        head.copy_from_slice(&timestamp);
        tail.copy_from_slice(&mac);
        EchoBuf::new(&value).map_err(|_| Error::Capacity {
            what: diag!("Echo value"),
            needed: value.len(),
        })
    }

    fn echo_mac(
        &mut self,
        timestamp: &[u8; 4],
        source: &[u8],
    ) -> Result<[u8; ECHO_MAC_LEN], Error> {
        // HKDF-Extract(salt = key, ikm) is HMAC-SHA-256(key, ikm) (RFC 5869 §2.2).
        let mut input = Vec::with_capacity(ECHO_MAC_LABEL.len() + 4 + source.len());
        input.extend_from_slice(ECHO_MAC_LABEL);
        input.extend_from_slice(timestamp);
        input.extend_from_slice(source);
        let prk = self
            .crypto
            .hkdf_extract(HashAlgorithm::Sha256, &self.echo_key, &input)?;
        let mut mac = [0u8; ECHO_MAC_LEN];
        let bytes = prk.as_bytes().get(..ECHO_MAC_LEN).ok_or(Error::Crypto)?;
        mac.copy_from_slice(bytes);
        Ok(mac)
    }

    /// Whether `value` is an Echo value issued to `source` less than `echo_lifetime` ago.
    fn echo_valid(&mut self, now: Duration, source: &[u8], value: &[u8]) -> bool {
        let Some((timestamp, tag)) = value.split_first_chunk::<ECHO_TIMESTAMP_LEN>() else {
            return false;
        };
        if tag.len() != ECHO_MAC_LEN {
            return false;
        }
        let Ok(expected) = self.echo_mac(timestamp, source) else {
            return false;
        };
        let diff = expected
            .iter()
            .zip(tag)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff != 0 {
            return false;
        }
        // The timestamp holds the low 32 bits of the seconds; a value from the future (the
        // clock went back) or older than the lifetime does not count.
        let issued = u32::from_be_bytes(*timestamp);
        let age = (now.as_secs() as u32).wrapping_sub(issued);
        u64::from(age) < self.config.echo_lifetime.as_secs() && age < u32::MAX / 2
    }

    /// message_1 → message_2, with a new pending session (admitted by [`Self::admit`]).
    fn message_2(
        &mut self,
        now: Duration,
        source: &[u8],
        message_1: &[u8],
    ) -> Result<Vec<u8>, Error> {
        let r = Responder::new(self.crypto.clone(), self.responder.clone());
        let r = r.process_message_1(message_1).map_err(|r| r.error)?;
        let id_len = r.suite().app_aead.nonce_len().saturating_sub(6);
        let c_r = self.fresh_c_r(r.c_i(), id_len.min(MAX_DRAWN_C_R))?;
        let (wait, m2) = r.prepare_message_2(c_r.clone(), &Ead::new())?;
        self.pending.push_back(Pending {
            c_r,
            source: source.to_vec(),
            since: now,
            wait,
        });
        Ok(m2.as_slice().to_vec())
    }

    /// A random C_R of `len` bytes that is not C_I, not pending and no Recipient ID in use.
    fn fresh_c_r(&mut self, c_i: &ConnId, len: usize) -> Result<ConnId, Error> {
        for _ in 0..16 {
            let mut b = [0u8; MAX_DRAWN_C_R];
            let bytes = b.get_mut(..len).unwrap_or_default();
            self.crypto.random_bytes(bytes);
            let c = ConnId::from_slice(bytes)?;
            let in_use = self
                .oscore
                .contexts()
                .any(|(id, _)| id.recipient_id() == c.as_bytes());
            if &c != c_i && !in_use && !self.pending.iter().any(|p| p.c_r == c) {
                return Ok(c);
            }
        }
        Err(Error::InvalidConnectionId(diag!(
            "no free connection identifier"
        )))
    }

    /// message_3 of the session known as `c_r`: on success the session ends and its OSCORE
    /// context is added; message_4 when asked for. A message_3 that does not decrypt for the
    /// session leaves it pending; one that fails to authenticate ends it.
    fn complete(
        &mut self,
        c_r: &ConnId,
        message_3: &[u8],
        message_4: bool,
    ) -> Result<(ContextId, Option<Vec<u8>>), Error> {
        let i = self
            .pending
            .iter()
            .position(|p| &p.c_r == c_r)
            .ok_or(SESSION_NOT_COMPLETED)?;
        let pending = self.pending.remove(i).ok_or(SESSION_NOT_COMPLETED)?;
        let parsed = match pending.wait.parse_message_3(message_3) {
            Ok(p) => p,
            Err(rejected) => {
                // Junk that names the C_R: the session stays, in its place.
                self.pending.insert(
                    i,
                    Pending {
                        c_r: pending.c_r,
                        source: pending.source,
                        since: pending.since,
                        wait: rejected.state,
                    },
                );
                return Err(SESSION_NOT_COMPLETED);
            }
        };
        let verified = parsed
            .verify_message_3_with(&mut self.lookup)
            .map_err(|r| r.error)?;
        let (mut session, m4) = if message_4 {
            let (session, m4) = verified.prepare_message_4(&Ead::new())?;
            (session, Some(m4.as_slice().to_vec()))
        } else {
            (verified.finish()?, None)
        };
        let context = session
            .oscore_parameters()?
            .security_context_with_store(S::default())?;
        let id = self.add_edhoc_context(context)?;
        Ok((id, m4))
    }

    /// Adds a context from EDHOC, replacing the oldest one beyond the bound.
    fn add_edhoc_context(&mut self, context: SecurityContext<S>) -> Result<ContextId, Error> {
        let id = ContextId::of(&context);
        if let Some(old) = self.oscore.remove_context(&id) {
            // The same IDs again (a new handshake with the same C_R): the new keys win.
            drop(old);
            self.edhoc_contexts.retain(|c| *c != id);
        }
        // Beyond our own bound, or when the OSCORE set is full (its `max_contexts` also holds
        // the application's own contexts): the oldest context from EDHOC makes room.
        while self.edhoc_contexts.len() >= self.config.max_contexts.max(1)
            || (self.oscore.len() >= self.oscore.config().max_contexts
                && !self.edhoc_contexts.is_empty())
        {
            let Some(removed) = self.edhoc_contexts.pop_front() else {
                break;
            };
            self.oscore.remove_context(&removed);
            self.combined.retain(|(c, _)| *c != removed);
            self.event(EdhocEvent::ContextReplaced { removed });
        }
        self.oscore.add_context(context).map_err(|e| match e {
            ContextSetError::Full { capacity } => Error::TableFull {
                what: diag!("OSCORE contexts"),
                capacity,
            },
            _ => Error::InvalidConnectionId(diag!("connection identifier in use")),
        })?;
        self.edhoc_contexts.push_back(id);
        self.event(EdhocEvent::ContextEstablished { context: id });
        Ok(id)
    }

    fn event(&mut self, event: EdhocEvent) {
        // Bounded like the contexts it reports on (two events per context at most).
        while self.events.len() >= 2 * self.config.max_contexts.max(1) {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    /// Client: adds the OSCORE context of a handshake (as an EDHOC context, bounded like the
    /// server's) and makes the next request protected under it the combined request
    /// (RFC 9668 §3.2). Returns the context's name, the `Identity` to send under.
    ///
    /// # Errors
    /// The context cannot be derived or added.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use mote_coap::code::Code;
    /// # use mote_edhoc::protection::{EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
    /// # use mote_edhoc::*;
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # use mote_oscore::sequence::Volatile;
    /// # // The set-up of the module example: a device (Initiator) and a gateway (Responder) with
    /// # // fresh P-256 keys for static DH, suite 2.
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (device, gateway) = (fresh("device", b"D")?, fresh("gateway", b"G")?);
    /// # let (device_cred, gateway_cred) = (device.credential.clone(), gateway.credential.clone());
    /// # let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// # let trusted = move |id: &IdCred| device_cred.matches(id).then(|| device_cred.clone());
    /// # let config = EdhocProtectionConfig::default();
    /// # let mut server = EdhocProtection::new(oscore, config, ResponderConfig::new(2, gateway), MoteCrypto::new(), trusted);
    /// # let initiator = InitiatorConfig::new(Method::StaticStatic, 2, device);
    /// # let mut client = EdhocInitiator::new(MoteCrypto::new(), initiator, ConnId::from_int(-24)?);
    /// # let mut known = move |id: &IdCred| gateway_cred.matches(id).then(|| gateway_cred.clone());
    /// # let now = Duration::from_secs(10);
    /// // The client's own layer (`client`, `server`: the module example's set-up).
    /// let client_oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 5u32);
    /// # let me = fresh("client's responder identity", b"X")?;
    /// let mut client_layer = EdhocProtection::new(
    ///     client_oscore, EdhocProtectionConfig::default(), ResponderConfig::new(2, me), MoteCrypto::new(),
    ///     |_: &IdCred| None::<Credential>,
    /// );
    /// let reply = server.edhoc_post(now, b"192.0.2.7", None, &client.message_1()?);
    /// let initiated = client.message_2(&reply.payload, &mut known)?;
    /// let c_r = initiated.c_r().clone();
    /// // message_3 goes with the next request protected under this context (RFC 9668).
    /// let id = client_layer.add_initiated(initiated)?;
    /// let ctx = client_layer.oscore().context(&id).ok_or("context")?;
    /// assert_eq!(ctx.sender_id(), c_r.as_bytes()); // Appendix A.1: the client sends under C_R
    /// assert_eq!(client_layer.edhoc_contexts().count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_initiated(&mut self, initiated: Initiated<C>) -> Result<ContextId, Error> {
        let message_3 = initiated.message_3.clone();
        let context = initiated.context(None, S::default())?;
        let id = self.add_edhoc_context(context)?;
        self.combined.retain(|(c, _)| *c != id);
        self.combined.push((id, message_3));
        Ok(id)
    }

    /// RFC 9668 §3.3.1 for a request carrying the EDHOC option.
    #[allow(clippy::type_complexity)]
    fn unprotect_combined(
        &mut self,
        outer: &Message<'_>,
    ) -> Result<Option<(MessageParts, OscoreBinding, ContextId)>, MessageParts> {
        let fail = |e: &Error| combined_error(e);
        let raw = outer
            .to_owned()
            .to_vec()
            .map_err(|_| fail(&Error::Transport(diag!("request does not encode"))))?;
        let mut out = vec![0u8; raw.len()];
        let split =
            transport::split_combined_request_framed(&raw, transport::Framing::Udp, &mut out)
                .map_err(|e| fail(&e))?;
        let message_3 = split.message_3.to_vec();
        let c_r = split.c_r.clone();
        let len = split.oscore_request_len;
        self.complete(&c_r, &message_3, false)
            .map_err(|e| fail(&e))?;
        let request = out.get(..len).unwrap_or_default();
        let result = self.oscore.unprotect_request_bytes(request)?;
        // §3.3.1 step 8: an EDHOC option inside is an unprocessed critical option.
        if let Some((inner, _, _)) = &result {
            if inner.options.get(OptionNumber(EDHOC_OPTION)).is_some() {
                return Err(MessageParts::new(Code::BAD_OPTION));
            }
        }
        Ok(result)
    }
}

/// The outcome of [`EdhocProtection::admit`].
enum Admission {
    /// Go on with message_1.
    Admitted,
    /// Answer 4.01 with this Echo value.
    Challenge(EchoBuf),
}

/// The EDHOC error message answering a failed combined request (RFC 9668 §3.3.1: ERR_CODE 1,
/// unprotected, Content-Format 64).
fn combined_error(error: &Error) -> MessageParts {
    let payload = transport::combined_request_error(error)
        .map(|m| m.as_slice().to_vec())
        .unwrap_or_default();
    EdhocReply {
        code: transport::error_response_code(error),
        content_format: Some(EDHOC_CONTENT_FORMAT),
        payload,
        echo: None,
    }
    .into_parts()
}

impl<P, S, R, C, L> Protection<P> for EdhocProtection<S, R, C, L>
where
    S: SequenceStore + Default,
    R: RandomSource,
    C: Crypto + Clone,
    L: CredentialLookup,
{
    type Binding = OscoreBinding;
    type Identity = ContextId;

    fn unprotect_request(
        &mut self,
        now: Duration,
        peer: &P,
        outer: &Message<'_>,
    ) -> Result<Option<(MessageParts, OscoreBinding, ContextId)>, MessageParts> {
        if outer.option(OptionNumber(EDHOC_OPTION)).is_some() {
            // RFC 9668 §3.1: the EDHOC option is critical and only meaningful together with
            // OSCORE; outside an OSCORE request it is left unprocessed, so the endpoint's
            // critical-option check answers it 4.02 (RFC 7252 §5.4.1).
            if outer.option(OptionNumber::OSCORE).is_none() {
                return Ok(None);
            }
            return self.unprotect_combined(outer);
        }
        self.oscore.unprotect_request(now, peer, outer)
    }

    fn protect_response(
        &mut self,
        binding: &OscoreBinding,
        inner: &MessageParts,
        notification: bool,
    ) -> Result<MessageParts, ProtectionError> {
        Protection::<P>::protect_response(&mut self.oscore, binding, inner, notification)
    }

    fn protect_request(
        &mut self,
        peer: &P,
        identity: &ContextId,
        inner: &MessageParts,
    ) -> Result<(MessageParts, OscoreBinding), ProtectionError> {
        let (mut outer, binding) = self.oscore.protect_request(peer, identity, inner)?;
        // RFC 9668 §3.2.1: the first request under a context from EDHOC carries message_3
        // before the OSCORE ciphertext and an empty EDHOC option. §3.2.2 step A: with inner
        // Block1, only the first block (which is the first request protected) does.
        if let Some(i) = self.combined.iter().position(|(c, _)| c == identity) {
            let (_, message_3) = self.combined.swap_remove(i);
            let mut payload = message_3;
            payload.extend_from_slice(&outer.payload);
            outer.payload = payload;
            outer.options.push(OptionNumber(EDHOC_OPTION), Vec::new());
        }
        Ok((outer, binding))
    }

    fn unprotect_response(
        &mut self,
        binding: &OscoreBinding,
        outer: &Message<'_>,
    ) -> Result<MessageParts, ProtectionError> {
        Protection::<P>::unprotect_response(&mut self.oscore, binding, outer)
    }
}

/// The Initiator's side of EDHOC over CoAP (RFC 9528 Appendix A.2, forward flow): produces
/// the payload of the message_1 POST, consumes message_2, and yields message_3 with the
/// OSCORE context ([`Initiated`]).
///
/// Call order: [`message_1`](Self::message_1), POST it to `/.well-known/edhoc`, give the
/// response payload to [`message_2`](Self::message_2). An error message with
/// ERR_CODE 2 (wrong selected suite, RFC 9528 §6.3.2) makes `message_2` return
/// [`Error::PeerWrongSelectedSuite`] and prepares a second `message_1` with the suites the
/// Responder supports. A 4.01 response with an Echo option (a server validating addresses
/// under load, RFC 9175 §2.4) is answered through [`echo_retry`](Self::echo_retry): POST
/// the same payload again with that Echo option, and give the next response to `message_2`.
pub struct EdhocInitiator<C: Crypto> {
    start: Option<Initiator<C>>,
    wait: Option<InitiatorWaitM2<C>>,
    c_i: ConnId,
    /// The payload of the last message_1 POST, for an Echo retry.
    sent: Option<Vec<u8>>,
    /// Whether that POST was already repeated with an Echo value.
    echo_answered: bool,
}

impl<C: Crypto> core::fmt::Debug for EdhocInitiator<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EdhocInitiator")
            .field("c_i", &self.c_i)
            .finish_non_exhaustive()
    }
}

impl<C: Crypto> EdhocInitiator<C> {
    /// An Initiator with connection identifier `c_i` (the client's OSCORE Recipient ID,
    /// Appendix A.1).
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use mote_coap::code::Code;
    /// # use mote_edhoc::protection::{EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
    /// # use mote_edhoc::*;
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # use mote_oscore::sequence::Volatile;
    /// # // The set-up of the module example: a device (Initiator) and a gateway (Responder) with
    /// # // fresh P-256 keys for static DH, suite 2.
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (device, gateway) = (fresh("device", b"D")?, fresh("gateway", b"G")?);
    /// # let (device_cred, gateway_cred) = (device.credential.clone(), gateway.credential.clone());
    /// # let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// # let trusted = move |id: &IdCred| device_cred.matches(id).then(|| device_cred.clone());
    /// # let config = EdhocProtectionConfig::default();
    /// # let mut server = EdhocProtection::new(oscore, config, ResponderConfig::new(2, gateway), MoteCrypto::new(), trusted);
    /// # let initiator = InitiatorConfig::new(Method::StaticStatic, 2, device);
    /// # let mut client = EdhocInitiator::new(MoteCrypto::new(), initiator, ConnId::from_int(-24)?);
    /// # let mut known = move |id: &IdCred| gateway_cred.matches(id).then(|| gateway_cred.clone());
    /// # let now = Duration::from_secs(10);
    /// // `device`: the client's `Identity` (see the module example); C_I = -24 is its Recipient ID.
    /// # let device = fresh("device", b"D")?;
    /// let config = InitiatorConfig::new(Method::StaticStatic, 2, device);
    /// let mut client = EdhocInitiator::new(MoteCrypto::new(), config, ConnId::from_int(-24)?);
    /// let payload = client.message_1()?;
    /// // `true, message_1`: METHOD 3, SUITES_I 2, G_X, then C_I = -24 (0x37) last.
    /// assert_eq!(payload[..3], [0xf5, 0x03, 0x02]);
    /// assert_eq!(payload.last(), Some(&0x37));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(crypto: C, config: InitiatorConfig, c_i: ConnId) -> Self {
        Self {
            start: Some(Initiator::new(crypto, config)),
            wait: None,
            c_i,
            sent: None,
            echo_answered: false,
        }
    }

    /// RFC 9175 §2.4 / RFC 9528 §9.7: when the response to the message_1 POST is 4.01
    /// (Unauthorized) with an Echo option, the payload to POST again (the same message_1)
    /// and the Echo value to send with it. `None` for any other response, before message_1,
    /// and for a second challenge to the same message_1 (a server cannot keep the client
    /// looping).
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use mote_coap::code::Code;
    /// # use mote_edhoc::protection::{EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
    /// # use mote_edhoc::*;
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # use mote_oscore::sequence::Volatile;
    /// # // The set-up of the module example: a device (Initiator) and a gateway (Responder) with
    /// # // fresh P-256 keys for static DH, suite 2.
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (device, gateway) = (fresh("device", b"D")?, fresh("gateway", b"G")?);
    /// # let (device_cred, gateway_cred) = (device.credential.clone(), gateway.credential.clone());
    /// # let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// # let trusted = move |id: &IdCred| device_cred.matches(id).then(|| device_cred.clone());
    /// # let config = EdhocProtectionConfig { validation_threshold: 0, ..Default::default() };
    /// # let mut server = EdhocProtection::new(oscore, config, ResponderConfig::new(2, gateway), MoteCrypto::new(), trusted);
    /// # let initiator = InitiatorConfig::new(Method::StaticStatic, 2, device);
    /// # let mut client = EdhocInitiator::new(MoteCrypto::new(), initiator, ConnId::from_int(-24)?);
    /// # let mut known = move |id: &IdCred| gateway_cred.matches(id).then(|| gateway_cred.clone());
    /// # let now = Duration::from_secs(10);
    /// // `server` validates every source (`validation_threshold: 0`; the module example's set-up).
    /// let reply = server.edhoc_post(now, b"192.0.2.7", None, &client.message_1()?);
    /// assert_eq!(reply.code, Code::UNAUTHORIZED);
    /// let echo = reply.echo.as_ref().map(|e| e.as_bytes());
    /// let (payload, echo) = client.echo_retry(reply.code, echo).ok_or("no retry")?;
    /// // The same message_1 again, with the Echo option: now it is processed.
    /// let reply = server.edhoc_post(now, b"192.0.2.7", Some(echo.as_bytes()), &payload);
    /// assert_eq!(reply.code, Code::CHANGED);
    /// assert!(client.message_2(&reply.payload, &mut known).is_ok());
    /// // Any other response is no challenge.
    /// assert!(client.echo_retry(Code::CHANGED, None).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn echo_retry(&mut self, code: Code, echo: Option<&[u8]>) -> Option<(Vec<u8>, EchoBuf)> {
        if code != Code::UNAUTHORIZED || self.echo_answered || self.wait.is_none() {
            return None;
        }
        let echo = EchoBuf::new(echo?).ok()?;
        let payload = self.sent.clone()?;
        self.echo_answered = true;
        Some((payload, echo))
    }

    /// The payload of the POST carrying message_1: `true, message_1` (Appendix A.2).
    ///
    /// # Errors
    /// [`Error`] from message_1; calling it twice without `message_2` in between.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use mote_coap::code::Code;
    /// # use mote_edhoc::protection::{EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
    /// # use mote_edhoc::*;
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # use mote_oscore::sequence::Volatile;
    /// # // The set-up of the module example: a device (Initiator) and a gateway (Responder) with
    /// # // fresh P-256 keys for static DH, suite 2.
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (device, gateway) = (fresh("device", b"D")?, fresh("gateway", b"G")?);
    /// # let (device_cred, gateway_cred) = (device.credential.clone(), gateway.credential.clone());
    /// # let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// # let trusted = move |id: &IdCred| device_cred.matches(id).then(|| device_cred.clone());
    /// # let config = EdhocProtectionConfig::default();
    /// # let mut server = EdhocProtection::new(oscore, config, ResponderConfig::new(2, gateway), MoteCrypto::new(), trusted);
    /// # let initiator = InitiatorConfig::new(Method::StaticStatic, 2, device);
    /// # let mut client = EdhocInitiator::new(MoteCrypto::new(), initiator, ConnId::from_int(-24)?);
    /// # let mut known = move |id: &IdCred| gateway_cred.matches(id).then(|| gateway_cred.clone());
    /// # let now = Duration::from_secs(10);
    /// // `client`: the module example's set-up.
    /// let payload = client.message_1()?;
    /// assert_eq!(payload[0], 0xf5); // CBOR true: a new session (Appendix A.2)
    /// assert!(client.message_1().is_err()); // not twice without message_2
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn message_1(&mut self) -> Result<Vec<u8>, Error> {
        let initiator = self
            .start
            .take()
            .ok_or(Error::Transport(diag!("message_1 already sent")))?;
        let (wait, m1) = initiator.prepare_message_1(self.c_i.clone(), &Ead::new())?;
        self.wait = Some(wait);
        let payload = transport::message_1_payload(m1.as_slice())?
            .as_slice()
            .to_vec();
        self.sent = Some(payload.clone());
        self.echo_answered = false;
        Ok(payload)
    }

    /// Processes message_2 (the response payload), looks the Responder's credential up with
    /// `lookup`, verifies it and prepares message_3.
    ///
    /// # Errors
    /// [`Error::PeerWrongSelectedSuite`] (call [`message_1`](Self::message_1) again), any
    /// other [`Error`] of message_2 or message_3.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use mote_coap::code::Code;
    /// # use mote_edhoc::protection::{EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
    /// # use mote_edhoc::*;
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # use mote_oscore::sequence::Volatile;
    /// # // The set-up of the module example: a device (Initiator) and a gateway (Responder) with
    /// # // fresh P-256 keys for static DH, suite 2.
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (device, gateway) = (fresh("device", b"D")?, fresh("gateway", b"G")?);
    /// # let (device_cred, gateway_cred) = (device.credential.clone(), gateway.credential.clone());
    /// # let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// # let trusted = move |id: &IdCred| device_cred.matches(id).then(|| device_cred.clone());
    /// # let config = EdhocProtectionConfig::default();
    /// # let mut server = EdhocProtection::new(oscore, config, ResponderConfig::new(2, gateway), MoteCrypto::new(), trusted);
    /// # let initiator = InitiatorConfig::new(Method::StaticStatic, 2, device);
    /// # let mut client = EdhocInitiator::new(MoteCrypto::new(), initiator, ConnId::from_int(-24)?);
    /// # let mut known = move |id: &IdCred| gateway_cred.matches(id).then(|| gateway_cred.clone());
    /// # let now = Duration::from_secs(10);
    /// // `server`, `client` and the lookup `known` of the server's credential: the module example.
    /// let reply = server.edhoc_post(now, b"192.0.2.7", None, &client.message_1()?);
    /// let initiated = client.message_2(&reply.payload, &mut known)?;
    /// assert!(!initiated.message_3().is_empty());
    /// // A second message_2 without a new message_1 is refused.
    /// assert!(client.message_2(&reply.payload, &mut known).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn message_2<L: CredentialLookup>(
        &mut self,
        message_2: &[u8],
        lookup: &mut L,
    ) -> Result<Initiated<C>, Error> {
        let wait = self
            .wait
            .take()
            .ok_or(Error::Transport(diag!("message_1 not sent")))?;
        let parsed = match wait.parse_message_2(message_2) {
            Ok(p) => p,
            Err(r) => {
                if let Error::PeerWrongSelectedSuite { suites_r } = &r.error {
                    self.start = Some(r.state.restart(suites_r)?);
                }
                return Err(r.error);
            }
        };
        let c_r = parsed.c_r().clone();
        let verified = parsed.verify_message_2_with(lookup).map_err(|r| r.error)?;
        let (wait, m3) = verified.prepare_message_3(&Ead::new())?;
        Ok(Initiated {
            c_r,
            message_3: m3.as_slice().to_vec(),
            wait,
        })
    }
}

/// The Initiator after message_3 is prepared: message_3, the C_R it goes to, and the session
/// waiting for message_4 (or finished without it, as in the combined request).
pub struct Initiated<C: Crypto> {
    c_r: ConnId,
    message_3: Vec<u8>,
    wait: InitiatorWaitM4<C>,
}

impl<C: Crypto> core::fmt::Debug for Initiated<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Initiated")
            .field("c_r", &self.c_r)
            .finish_non_exhaustive()
    }
}

impl<C: Crypto> Initiated<C> {
    /// C_R: the Responder's connection identifier, the client's OSCORE Sender ID.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use mote_coap::code::Code;
    /// # use mote_edhoc::protection::{EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
    /// # use mote_edhoc::*;
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # use mote_oscore::sequence::Volatile;
    /// # // The set-up of the module example: a device (Initiator) and a gateway (Responder) with
    /// # // fresh P-256 keys for static DH, suite 2.
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (device, gateway) = (fresh("device", b"D")?, fresh("gateway", b"G")?);
    /// # let (device_cred, gateway_cred) = (device.credential.clone(), gateway.credential.clone());
    /// # let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// # let trusted = move |id: &IdCred| device_cred.matches(id).then(|| device_cred.clone());
    /// # let config = EdhocProtectionConfig::default();
    /// # let mut server = EdhocProtection::new(oscore, config, ResponderConfig::new(2, gateway), MoteCrypto::new(), trusted);
    /// # let initiator = InitiatorConfig::new(Method::StaticStatic, 2, device);
    /// # let mut client = EdhocInitiator::new(MoteCrypto::new(), initiator, ConnId::from_int(-24)?);
    /// # let mut known = move |id: &IdCred| gateway_cred.matches(id).then(|| gateway_cred.clone());
    /// # let now = Duration::from_secs(10);
    /// // `server`, `client`: the module example's set-up.
    /// let reply = server.edhoc_post(now, b"192.0.2.7", None, &client.message_1()?);
    /// let initiated = client.message_2(&reply.payload, &mut known)?;
    /// // C_R is the client's OSCORE Sender ID; the server draws it (at most 8 bytes).
    /// assert!((1..=8).contains(&initiated.c_r().as_bytes().len()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn c_r(&self) -> &ConnId {
        &self.c_r
    }

    /// message_3.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use mote_coap::code::Code;
    /// # use mote_edhoc::protection::{EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
    /// # use mote_edhoc::*;
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # use mote_oscore::sequence::Volatile;
    /// # // The set-up of the module example: a device (Initiator) and a gateway (Responder) with
    /// # // fresh P-256 keys for static DH, suite 2.
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (device, gateway) = (fresh("device", b"D")?, fresh("gateway", b"G")?);
    /// # let (device_cred, gateway_cred) = (device.credential.clone(), gateway.credential.clone());
    /// # let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// # let trusted = move |id: &IdCred| device_cred.matches(id).then(|| device_cred.clone());
    /// # let config = EdhocProtectionConfig::default();
    /// # let mut server = EdhocProtection::new(oscore, config, ResponderConfig::new(2, gateway), MoteCrypto::new(), trusted);
    /// # let initiator = InitiatorConfig::new(Method::StaticStatic, 2, device);
    /// # let mut client = EdhocInitiator::new(MoteCrypto::new(), initiator, ConnId::from_int(-24)?);
    /// # let mut known = move |id: &IdCred| gateway_cred.matches(id).then(|| gateway_cred.clone());
    /// # let now = Duration::from_secs(10);
    /// // `server`, `client`: the module example's set-up.
    /// let reply = server.edhoc_post(now, b"192.0.2.7", None, &client.message_1()?);
    /// let initiated = client.message_2(&reply.payload, &mut known)?;
    /// // message_3 is one CBOR bstr (RFC 9528 §5.4.1) ...
    /// let ciphertext_3 = message::single_bstr_message(initiated.message_3())?;
    /// assert!(initiated.message_3().ends_with(ciphertext_3));
    /// assert!(ciphertext_3.len() > 8); // PLAINTEXT_3 and suite 2's 8-byte tag
    /// // ... and the tail of the sequential flow's payload.
    /// assert!(initiated.message_3_payload()?.ends_with(initiated.message_3()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn message_3(&self) -> &[u8] {
        &self.message_3
    }

    /// The payload of a POST of message_3 to the EDHOC resource: `C_R, message_3`
    /// (Appendix A.2, the sequential flow).
    ///
    /// # Errors
    /// [`Error::Capacity`] when it does not fit.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use mote_coap::code::Code;
    /// # use mote_edhoc::protection::{EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
    /// # use mote_edhoc::*;
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # use mote_oscore::sequence::Volatile;
    /// # // The set-up of the module example: a device (Initiator) and a gateway (Responder) with
    /// # // fresh P-256 keys for static DH, suite 2.
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (device, gateway) = (fresh("device", b"D")?, fresh("gateway", b"G")?);
    /// # let (device_cred, gateway_cred) = (device.credential.clone(), gateway.credential.clone());
    /// # let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// # let trusted = move |id: &IdCred| device_cred.matches(id).then(|| device_cred.clone());
    /// # let config = EdhocProtectionConfig::default();
    /// # let mut server = EdhocProtection::new(oscore, config, ResponderConfig::new(2, gateway), MoteCrypto::new(), trusted);
    /// # let initiator = InitiatorConfig::new(Method::StaticStatic, 2, device);
    /// # let mut client = EdhocInitiator::new(MoteCrypto::new(), initiator, ConnId::from_int(-24)?);
    /// # let mut known = move |id: &IdCred| gateway_cred.matches(id).then(|| gateway_cred.clone());
    /// # let now = Duration::from_secs(10);
    /// // `server`, `client`: the module example's set-up.
    /// let reply = server.edhoc_post(now, b"192.0.2.7", None, &client.message_1()?);
    /// let initiated = client.message_2(&reply.payload, &mut known)?;
    /// let payload = initiated.message_3_payload()?;
    /// // `C_R, message_3`: C_R encoded as CBOR first.
    /// let mut c_r = Bytes::<16>::new();
    /// initiated.c_r().encode(&mut c_r)?;
    /// assert!(payload.starts_with(c_r.as_slice()));
    /// assert_eq!(payload.len(), c_r.len() + initiated.message_3().len());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn message_3_payload(&self) -> Result<Vec<u8>, Error> {
        Ok(transport::prefixed_payload(&self.c_r, &self.message_3)?
            .as_slice()
            .to_vec())
    }

    /// The OSCORE context (Appendix A.1): after message_4 when the server sent one (key
    /// confirmation, RFC 9528 §5.5), else right after message_3 (as in the combined request).
    ///
    /// # Errors
    /// message_4 does not verify, or the context cannot be derived.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use mote_coap::code::Code;
    /// # use mote_edhoc::protection::{EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
    /// # use mote_edhoc::*;
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # use mote_oscore::sequence::Volatile;
    /// # // The set-up of the module example: a device (Initiator) and a gateway (Responder) with
    /// # // fresh P-256 keys for static DH, suite 2.
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (device, gateway) = (fresh("device", b"D")?, fresh("gateway", b"G")?);
    /// # let (device_cred, gateway_cred) = (device.credential.clone(), gateway.credential.clone());
    /// # let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// # let trusted = move |id: &IdCred| device_cred.matches(id).then(|| device_cred.clone());
    /// # let config = EdhocProtectionConfig::default();
    /// # let mut server = EdhocProtection::new(oscore, config, ResponderConfig::new(2, gateway), MoteCrypto::new(), trusted);
    /// # let initiator = InitiatorConfig::new(Method::StaticStatic, 2, device);
    /// # let mut client = EdhocInitiator::new(MoteCrypto::new(), initiator, ConnId::from_int(-24)?);
    /// # let mut known = move |id: &IdCred| gateway_cred.matches(id).then(|| gateway_cred.clone());
    /// # let now = Duration::from_secs(10);
    /// // `server`, `client`: the module example's set-up.
    /// let reply = server.edhoc_post(now, b"192.0.2.7", None, &client.message_1()?);
    /// let initiated = client.message_2(&reply.payload, &mut known)?;
    /// let c_r = initiated.c_r().clone();
    /// let reply = server.edhoc_post(now, b"192.0.2.7", None, &initiated.message_3_payload()?);
    /// let message_4 = (!reply.payload.is_empty()).then_some(reply.payload.as_slice());
    /// let context = initiated.context(message_4, Volatile)?;
    /// assert_eq!(context.sender_id(), c_r.as_bytes()); // Appendix A.1
    /// assert_eq!(context.recipient_id(), [0x37]); // C_I = -24
    /// let Some(EdhocEvent::ContextEstablished { context: id }) = server.poll_event() else { panic!("no context") };
    /// let server_context = server.oscore().context(&id).ok_or("server context")?;
    /// assert_eq!(server_context.sender_key(), context.recipient_key());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn context<S: SequenceStore>(
        self,
        message_4: Option<&[u8]>,
        store: S,
    ) -> Result<SecurityContext<S>, Error> {
        let mut session = match message_4 {
            Some(m4) => self.wait.process_message_4(m4).map_err(|r| r.error)?.0,
            None => self.wait.finish()?,
        };
        session
            .oscore_parameters()?
            .security_context_with_store(store)
    }

    /// As [`Initiated::context`], but the OSCORE input parameters of Appendix A.1 themselves
    /// (Master Secret and Salt from the exporter, Sender ID C_R, Recipient ID C_I, the
    /// suite's AEAD and hash), for an application that stores them (e.g. an LwM2M client
    /// writing its OSCORE Object instance) and derives the context from them later.
    ///
    /// # Errors
    /// As [`Initiated::context`]: message_4 does not verify, the exporter fails.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use mote_coap::code::Code;
    /// # use mote_edhoc::protection::{EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
    /// # use mote_edhoc::*;
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # use mote_oscore::sequence::Volatile;
    /// # // The set-up of the module example: a device (Initiator) and a gateway (Responder) with
    /// # // fresh P-256 keys for static DH, suite 2.
    /// # let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// # let fresh = |subject: &str, kid: &[u8]| -> Result<Identity, Box<dyn std::error::Error>> {
    /// #     let mut crypto = MoteCrypto::new();
    /// #     let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    /// #     let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, subject, kid, &key)?;
    /// #     Ok(Identity::by_reference(cred, key.as_bytes())?)
    /// # };
    /// # let (device, gateway) = (fresh("device", b"D")?, fresh("gateway", b"G")?);
    /// # let (device_cred, gateway_cred) = (device.credential.clone(), gateway.credential.clone());
    /// # let oscore: OscoreProtection<Volatile, _> = OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// # let trusted = move |id: &IdCred| device_cred.matches(id).then(|| device_cred.clone());
    /// # let config = EdhocProtectionConfig::default();
    /// # let mut server = EdhocProtection::new(oscore, config, ResponderConfig::new(2, gateway), MoteCrypto::new(), trusted);
    /// # let initiator = InitiatorConfig::new(Method::StaticStatic, 2, device);
    /// # let mut client = EdhocInitiator::new(MoteCrypto::new(), initiator, ConnId::from_int(-24)?);
    /// # let mut known = move |id: &IdCred| gateway_cred.matches(id).then(|| gateway_cred.clone());
    /// # let now = Duration::from_secs(10);
    /// // `server`, `client`: the module example's set-up.
    /// let reply = server.edhoc_post(now, b"192.0.2.7", None, &client.message_1()?);
    /// let initiated = client.message_2(&reply.payload, &mut known)?;
    /// let c_r = initiated.c_r().clone();
    /// let reply = server.edhoc_post(now, b"192.0.2.7", None, &initiated.message_3_payload()?);
    /// let message_4 = (!reply.payload.is_empty()).then_some(reply.payload.as_slice());
    /// let parameters = initiated.oscore_parameters(message_4)?;
    /// assert_eq!(parameters.sender_id, c_r); // Appendix A.1: Sender ID = C_R
    /// assert_eq!(parameters.recipient_id.as_bytes(), [0x37]); // C_I = -24
    /// // Stored and derived later, they give the context the Responder holds.
    /// let context = parameters.security_context_with_store(Volatile)?;
    /// let Some(EdhocEvent::ContextEstablished { context: id }) = server.poll_event() else { panic!("no context") };
    /// let server_context = server.oscore().context(&id).ok_or("server context")?;
    /// assert_eq!(server_context.sender_key(), context.recipient_key());
    /// assert_eq!(server_context.recipient_key(), context.sender_key());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn oscore_parameters(
        self,
        message_4: Option<&[u8]>,
    ) -> Result<crate::session::OscoreParameters, Error> {
        let mut session = match message_4 {
            Some(m4) => self.wait.process_message_4(m4).map_err(|r| r.error)?.0,
            None => self.wait.finish()?,
        };
        session.oscore_parameters()
    }
}
