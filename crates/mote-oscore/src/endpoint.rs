//! OSCORE as the protection layer of a `mote_coap` [`Endpoint`](mote_coap::endpoint::Endpoint)
//! (RFC 8613 §2: between the message layer and request/response processing).
//!
//! [`OscoreProtection`] holds a bounded set of [`SecurityContext`]s and implements
//! [`Protection`] for any peer type:
//! * server role: a request with the OSCORE option is matched to a context by 'kid' and
//!   'kid context' (RFC 8613 §8.2 step 2), verified and decrypted; every rejection of §8.2 is
//!   answered unprotected with the code and diagnostic of [`Error::server_response`], with
//!   Outer Max-Age 0 (§4.1.3.1); a context whose replay window was lost answers the protected
//!   4.01 with an Echo option of Appendix B.1.2 and accepts the request that echoes it.
//!   Responses are protected with the request's binding; notifications always get their own
//!   Partial IV (§8.3, §4.1.3.5.2);
//! * client role: [`Protection::protect_request`] protects with the next Sender Sequence
//!   Number of the context named by the [`ContextId`] the application passed to
//!   `Endpoint::request_protected` (persisted through the [`SequenceStore`] before the message
//!   exists, Appendix B.1.1); responses and notifications are verified with the binding
//!   (§8.4, the notification replay rules of §7.4.1).
//!
//! * RFC 8613 Appendix B.2 (feature `appendix-b2`), for contexts added with
//!   `OscoreProtection::add_context_b2`: a
//!   server answers a request under an unknown 'kid context' with the context's 'kid' as
//!   request #1 and installs the derived context on request #2; a client replaces its first
//!   request by request #1 and sends it again as request #2 through the endpoint's Echo
//!   retry. The derived contexts are reported with the root's [`ContextId`].
//!
//! Framing: the endpoint hands whole messages (`Message`) in and takes header-less
//! [`MessageParts`] out, and frames the outer message for its transport itself (UDP, or a
//! TCP connection, RFC 8323). Nothing OSCORE protects or authenticates depends on the header
//! (RFC 8613 §5.4: the AAD holds the algorithm, 'kid', Partial IV and Class I options only;
//! §4.2: the Message ID, type and token stay outside), so this layer always works on the UDP
//! message format internally ([`Framing::Udp`]) and the result is valid for either transport.
//!
//! A request without the OSCORE option is passed on as plain (`Ok(None)`, the endpoint then
//! delivers it with no identity): a server that requires OSCORE refuses requests whose
//! `identity` is `None`.
//!
//! A binding ([`OscoreBinding`]) is cloned by the endpoint; the state that must not be
//! duplicated (whether the request nonce was used for a response, the Notification Number of
//! an observation, §7.4.1) is shared between the clones, so a stale clone can never make a
//! response reuse the request nonce or accept a replayed notification.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use core::time::Duration;

use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{MessageParts, Protection, ProtectionError};
use mote_coap::message::Message;
use mote_coap::option::OptionNumber;
use mote_coap::transmission::RandomSource;

use crate::context::{Id, IdContext, SecurityContext};
use crate::option::OscoreOption;
use crate::protect::{RequestBinding, peek_oscore_option};
use crate::rederive::{client_verify_response_1, concat_id_context};
use crate::replay::NotificationNumber;
use crate::sequence::SequenceStore;
use crate::{Error, Framing};

mod b2;

/// Why [`OscoreProtection`]'s set of contexts refused a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContextSetError {
    /// The set holds [`OscoreConfig::max_contexts`] contexts already.
    #[error("the set of security contexts is full ({capacity} contexts)")]
    Full {
        /// The configured capacity.
        capacity: usize,
    },
    /// A context with the same Recipient ID and ID Context is in the set: a received 'kid'
    /// would not name one context (RFC 8613 §3.3).
    #[error("a security context with this Recipient ID and ID Context exists already")]
    Duplicate,
}

/// The configuration of [`OscoreProtection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OscoreConfig {
    /// The most security contexts held at once ([`ContextSetError::Full`] beyond).
    pub max_contexts: usize,
}

impl Default for OscoreConfig {
    fn default() -> Self {
        Self { max_contexts: 8 }
    }
}

/// Names a security context the way a request names it (RFC 8613 §8.2 step 2): its ID
/// Context ('kid context') and Recipient ID (the peer's 'kid').
///
/// The client role passes it as the endpoint's `Identity` to choose the sending context; the
/// server role reports it as the identity a request arrived in (Echo values are bound to it,
/// RFC 9175 §2.3).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContextId {
    id_context: Option<IdContext>,
    recipient_id: Id,
}

impl ContextId {
    /// The name of the context with this ID Context (`None`: absent) and Recipient ID.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when an ID is longer than a context can hold.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// use mote_oscore::endpoint::ContextId;
    /// // The context a request with 'kid' 0x01 and no 'kid context' names (RFC 8613 §8.2 step 2).
    /// let id = ContextId::new(None, &[0x01])?;
    /// assert_eq!((id.id_context(), id.recipient_id()), (None, &[0x01][..]));
    /// assert_eq!(id, ContextId::of(&client));
    /// assert!(ContextId::new(None, &[0u8; 8]).is_err()); // longer than any Recipient ID
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn new(id_context: Option<&[u8]>, recipient_id: &[u8]) -> Result<Self, Error> {
        Ok(Self {
            id_context: id_context.map(IdContext::new).transpose()?,
            recipient_id: Id::new(recipient_id)?,
        })
    }

    /// The name of `context`.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// use mote_oscore::endpoint::ContextId;
    /// let id = ContextId::of(&client);
    /// assert_eq!(id.recipient_id(), client.recipient_id());
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn of<S: SequenceStore>(context: &SecurityContext<S>) -> Self {
        Self {
            id_context: context.id_context,
            recipient_id: context.recipient.id,
        }
    }

    /// The ID Context, if any.
    ///
    /// ```
    /// use mote_oscore::endpoint::ContextId;
    /// let id = ContextId::new(Some(&[0x37, 0xcb]), &[0x01])?;
    /// assert_eq!(id.id_context(), Some(&[0x37, 0xcb][..]));
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn id_context(&self) -> Option<&[u8]> {
        self.id_context.as_ref().map(|c| c.as_slice())
    }

    /// The Recipient ID.
    ///
    /// ```
    /// use mote_oscore::endpoint::ContextId;
    /// assert_eq!(ContextId::new(None, &[0x01])?.recipient_id(), [0x01]);
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn recipient_id(&self) -> &[u8] {
        self.recipient_id.as_slice()
    }
}

impl Ord for ContextId {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        (self.id_context(), self.recipient_id()).cmp(&(other.id_context(), other.recipient_id()))
    }
}

impl PartialOrd for ContextId {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl core::fmt::Debug for ContextId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ContextId(")?;
        if let Some(c) = &self.id_context {
            write!(f, "{c:?}, ")?;
        }
        write!(f, "{:?})", self.recipient_id)
    }
}

/// The per-request state that all clones of a binding share (see the module documentation).
#[derive(Debug, Default)]
struct SharedState {
    /// Server: a response used the request nonce. Client: a final response was accepted.
    request_nonce_used: AtomicBool,
    /// Client, §7.4.1: a notification was accepted ...
    has_notification: AtomicBool,
    /// ... with this Partial IV (at most 2^40 − 1, kept in two halves: 64-bit atomics are not
    /// available on every target; every access goes through `&mut OscoreProtection`).
    notification_hi: AtomicU32,
    notification_lo: AtomicU32,
    /// Client, §7.4.1: the notification without Partial IV was accepted.
    unnumbered_seen: AtomicBool,
}

impl SharedState {
    fn load_into(&self, binding: &mut RequestBinding) {
        binding.request_nonce_used |= self.request_nonce_used.load(Ordering::Acquire);
        let number = self.has_notification.load(Ordering::Acquire).then(|| {
            (u64::from(self.notification_hi.load(Ordering::Acquire)) << 32)
                | u64::from(self.notification_lo.load(Ordering::Acquire))
        });
        binding.notifications =
            NotificationNumber::from_parts(number, self.unnumbered_seen.load(Ordering::Acquire));
    }

    fn store_from(&self, binding: &RequestBinding) {
        if binding.request_nonce_used {
            self.request_nonce_used.store(true, Ordering::Release);
        }
        if let Some(n) = binding.notifications.get() {
            self.notification_hi
                .store((n >> 32) as u32, Ordering::Release);
            self.notification_lo.store(n as u32, Ordering::Release);
            self.has_notification.store(true, Ordering::Release);
        }
        if binding.notifications.unnumbered_seen() {
            self.unnumbered_seen.store(true, Ordering::Release);
        }
    }
}

/// What a response is protected or verified with: the context and the request's 'kid' and
/// Partial IV (RFC 8613 §7.1), plus the state shared by all clones (module documentation).
#[derive(Debug, Clone)]
pub struct OscoreBinding {
    context: ContextId,
    request: RequestBinding,
    shared: Arc<SharedState>,
    via: Via,
}

/// Which context of an Appendix B.2 root a binding uses (the binding's `context` names the
/// root, the identity the application sees).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// The context named by `context` itself.
    Context,
    /// The root's derived context with this name (ID Context R2 ‖ R3).
    Derived(ContextId),
    /// Client: request #1 of Appendix B.2, protected under ID Context ID1 = R1.
    Request1(IdContext),
}

impl OscoreBinding {
    fn new(context: ContextId, request: RequestBinding) -> Self {
        Self::via(context, request, Via::Context)
    }

    fn via(context: ContextId, request: RequestBinding, via: Via) -> Self {
        Self {
            context,
            request,
            shared: Arc::new(SharedState::default()),
            via,
        }
    }

    /// The security context of the request.
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut protection: OscoreProtection<mote_oscore::sequence::Volatile, _> =
    /// #     OscoreProtection::new(OscoreConfig::default(), || 4u32); // rng: your source
    /// # let mut sp = SecurityContextParams::new(&secret, &[0x01], &[]);
    /// # sp.master_salt = &salt;
    /// # protection.add_context(SecurityContext::new(&sp)?)?; // RFC 8613 C.1.2
    /// // RFC 8613 C.4: the protected GET /tv1 from the C.1.1 client.
    /// let request = b"\x44\x02\x5d\x1f\x00\x00\x39\x74\x39localhost\x62\x09\x14\xff\x61\x2f\x10\x92\xf1\x77\x6f\x1c\x16\x68\xb3\x82\x5e";
    /// let (_, binding, from) = protection.unprotect_request_bytes(request).ok().flatten().ok_or("refused")?;
    /// assert_eq!(binding.context(), &from);
    /// // C.1.2's context: no ID Context, Recipient ID = the C.1.1 client's empty Sender ID.
    /// assert_eq!(binding.context(), &ContextId::new(None, b"")?);
    /// assert_ne!(binding.context(), &ContextId::new(None, b"\x01")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn context(&self) -> &ContextId {
        &self.context
    }

    /// The request's binding as [`crate::protect`] keeps it ('kid', Partial IV, Observe).
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut protection: OscoreProtection<mote_oscore::sequence::Volatile, _> =
    /// #     OscoreProtection::new(OscoreConfig::default(), || 4u32); // rng: your source
    /// # let mut sp = SecurityContextParams::new(&secret, &[0x01], &[]);
    /// # sp.master_salt = &salt;
    /// # protection.add_context(SecurityContext::new(&sp)?)?; // RFC 8613 C.1.2
    /// // RFC 8613 C.4: the protected GET /tv1 from the C.1.1 client.
    /// let request = b"\x44\x02\x5d\x1f\x00\x00\x39\x74\x39localhost\x62\x09\x14\xff\x61\x2f\x10\x92\xf1\x77\x6f\x1c\x16\x68\xb3\x82\x5e";
    /// let (_, binding, from) = protection.unprotect_request_bytes(request).ok().flatten().ok_or("refused")?;
    /// // C.4's 'kid' is empty and its Partial IV is 0x14 (Sender Sequence Number 20).
    /// assert_eq!(binding.request().request_kid(), b"");
    /// assert_eq!(binding.request().request_piv(), [0x14]);
    /// assert!(!binding.request().is_observe());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn request(&self) -> &RequestBinding {
        &self.request
    }

    /// The binding with the shared state applied.
    fn current(&self) -> RequestBinding {
        let mut b = self.request;
        self.shared.load_into(&mut b);
        b
    }
}

/// OSCORE (RFC 8613) as the [`Protection`] of a `mote_coap` endpoint: a bounded set of
/// security contexts, chosen by 'kid' and 'kid context' on receipt and by [`ContextId`] for
/// sending. See the module documentation for the two roles.
///
/// `R` draws the Echo values of Appendix B.1.2 (RFC 9175 §2.3: at least 64 random bits).
///
/// Call order: [`new`](Self::new), [`add_context`](Self::add_context) for each peer, then
/// hand it to `Endpoint::with_protection`; reach it later through the endpoint's accessor
/// to add or remove contexts.
#[derive(Debug)]
pub struct OscoreProtection<S, R> {
    config: OscoreConfig,
    contexts: Vec<(ContextId, SecurityContext<S>)>,
    rng: R,
    b2: b2::AppendixB2,
}

/// Length of the Echo values of Appendix B.1.2.
const REPLAY_ECHO_LEN: usize = 8;

impl<S: SequenceStore, R: RandomSource> OscoreProtection<S, R> {
    /// An empty set of contexts.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// // The Echo values of Appendix B.1.2 come from the caller's random source (here a stand-in).
    /// let mut seed = 7u32;
    /// let rng = move || { seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345); seed };
    /// let mut protection = OscoreProtection::new(OscoreConfig { max_contexts: 2 }, rng);
    /// let id = protection.add_context(client)?;
    /// assert_eq!(protection.len(), 1);
    /// assert!(protection.context(&id).is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(config: OscoreConfig, rng: R) -> Self {
        Self {
            config,
            contexts: Vec::new(),
            rng,
            b2: b2::AppendixB2::new(),
        }
    }

    /// The configuration.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// # use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};
    /// # let mut protection: OscoreProtection<mote_oscore::sequence::Volatile, _> =
    /// #     OscoreProtection::new(OscoreConfig::default(), || 4u32); // rng: your source
    /// assert_eq!(protection.config().max_contexts, 8); // the default
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn config(&self) -> &OscoreConfig {
        &self.config
    }

    /// Adds a context; returns its name.
    ///
    /// # Errors
    /// [`ContextSetError::Full`], [`ContextSetError::Duplicate`] (the context is dropped).
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// # use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};
    /// # let mut protection: OscoreProtection<mote_oscore::sequence::Volatile, _> =
    /// #     OscoreProtection::new(OscoreConfig::default(), || 4u32); // rng: your source
    /// use mote_oscore::endpoint::ContextSetError;
    /// let id = protection.add_context(client)?;
    /// assert_eq!(id, ContextId::new(None, &[0x01])?);
    /// // The same Recipient ID and ID Context again would make 'kid' ambiguous (RFC 8613 §3.3).
    /// let again = SecurityContext::new(&p)?;
    /// assert_eq!(protection.add_context(again).unwrap_err(), ContextSetError::Duplicate);
    /// // The set is bounded: with max_contexts 1, a second peer is refused.
    /// let mut small = OscoreProtection::new(OscoreConfig { max_contexts: 1 }, || 4u32);
    /// small.add_context(SecurityContext::new(&p)?)?;
    /// let mut other = p;
    /// other.recipient_id = &[0x02];
    /// assert_eq!(
    ///     small.add_context(SecurityContext::new(&other)?).unwrap_err(),
    ///     ContextSetError::Full { capacity: 1 }
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_context(
        &mut self,
        context: SecurityContext<S>,
    ) -> Result<ContextId, ContextSetError> {
        let id = ContextId::of(&context);
        if self.contexts.iter().any(|(c, _)| *c == id) {
            return Err(ContextSetError::Duplicate);
        }
        if self.contexts.len() >= self.config.max_contexts {
            return Err(ContextSetError::Full {
                capacity: self.config.max_contexts,
            });
        }
        self.contexts.push((id, context));
        Ok(id)
    }

    /// Adds a context as an RFC 8613 Appendix B.2 *root*: the provisioned Master Secret,
    /// Master Salt, Sender ID and Recipient ID from which fresh contexts are derived on first
    /// use (LwM2M 1.2 Transport, OSCORE: "SHALL follow the procedure described in Appendix B2
    /// of \[OSCORE\] when the OSCORE security context is used for the first time").
    ///
    /// * Server role: a request whose 'kid' is the root's Recipient ID and whose 'kid context'
    ///   names no context is request #1: it is verified under ID1 = that 'kid context', not
    ///   delivered, and answered 4.01 protected under R2 ‖ ID1 with 'kid context' R2 (R2 from
    ///   the random source, remembered up to [`set_max_pending_r2`](Self::set_max_pending_r2)
    ///   values). A request whose 'kid context' starts with a remembered R2 is request #2: it
    ///   installs the derived context (one per root, replacing an older one) and is delivered.
    /// * Client role: the first request under the root's name goes out as request #1 (ID
    ///   Context R1, random); response #1 is verified, the derived context ID3 = R2 ‖ R3 is
    ///   installed and the response is handed to the endpoint as a 4.01 with an Echo option,
    ///   so the endpoint sends the request again (its Echo retry), now as request #2 under ID3
    ///   (the Echo option is removed again before protection). A response #1 to a request
    ///   under the derived context (the server lost it, e.g. a restart) starts over the same
    ///   way with ID1 = the old ID3.
    ///
    /// Requests under the derived context are reported with the root's name as identity, so
    /// it is stable across re-derivations. A peer that does not do Appendix B.2 can keep
    /// using the root itself (its own ID Context) as plain OSCORE; once it did, requests to
    /// it go out under the root too.
    ///
    /// # Errors
    /// As [`add_context`](Self::add_context).
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let mut p = SecurityContextParams::new(&secret, &[0x01], &[]);
    /// # let server = SecurityContext::new(&p)?;
    /// use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// let mut protection: OscoreProtection<mote_oscore::sequence::Volatile, _> =
    ///     OscoreProtection::new(OscoreConfig::default(), || 4u32); // rng: your source
    /// let root = protection.add_context_b2(server)?;
    /// assert!(protection.is_b2_root(&root));
    /// assert!(protection.derived_context(&root).is_none()); // until the procedure ran
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "appendix-b2")]
    #[cfg_attr(docsrs, doc(cfg(feature = "appendix-b2")))]
    pub fn add_context_b2(
        &mut self,
        context: SecurityContext<S>,
    ) -> Result<ContextId, ContextSetError> {
        let id = self.add_context(context)?;
        self.b2.roots.push(b2::Root {
            id,
            derived: None,
            plain_peer: false,
            retry_markers: alloc::collections::VecDeque::new(),
        });
        Ok(id)
    }

    /// Whether `id` was added with [`add_context_b2`](Self::add_context_b2).
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let p = SecurityContextParams::new(&secret, &[0x01], &[]);
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # let mut protection: OscoreProtection<mote_oscore::sequence::Volatile, _> =
    /// #     OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// let plain = protection.add_context(SecurityContext::new(&p)?)?;
    /// assert!(!protection.is_b2_root(&plain));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_b2_root(&self, id: &ContextId) -> bool {
        self.b2.root(id).is_some()
    }

    /// The context derived for root `root` by Appendix B.2, if the procedure completed.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let p = SecurityContextParams::new(&secret, &[0x01], &[]);
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// # let mut protection: OscoreProtection<mote_oscore::sequence::Volatile, _> =
    /// #     OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// let root = protection.add_context_b2(SecurityContext::new(&p)?)?;
    /// assert!(protection.derived_context(&root).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "appendix-b2")]
    #[cfg_attr(docsrs, doc(cfg(feature = "appendix-b2")))]
    pub fn derived_context(
        &self,
        root: &ContextId,
    ) -> Option<&SecurityContext<crate::sequence::Volatile>> {
        self.b2.root(root)?.derived.as_ref().map(|d| &d.context)
    }

    /// Bounds the R2 values remembered from responses #1 (default 8, all roots together;
    /// Appendix B.2.1: when full, the oldest is dropped and its request #2 starts over).
    ///
    /// ```
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// let mut protection: OscoreProtection<mote_oscore::sequence::Volatile, _> =
    ///     OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// assert_eq!(protection.pending_r2(), 0);
    /// protection.set_max_pending_r2(2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_max_pending_r2(&mut self, max: usize) {
        self.b2.max_pending = max;
        while self.b2.pending.len() > max {
            self.b2.pending.pop_front();
        }
    }

    /// How many R2 values of responses #1 are remembered.
    ///
    /// ```
    /// # use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    /// let protection: OscoreProtection<mote_oscore::sequence::Volatile, _> =
    ///     OscoreProtection::new(OscoreConfig::default(), || 4u32);
    /// assert_eq!(protection.pending_r2(), 0);
    /// ```
    pub fn pending_r2(&self) -> usize {
        self.b2.pending.len()
    }

    /// Removes a context and returns it.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// # use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};
    /// # let mut protection: OscoreProtection<mote_oscore::sequence::Volatile, _> =
    /// #     OscoreProtection::new(OscoreConfig::default(), || 4u32); // rng: your source
    /// let id = protection.add_context(client)?;
    /// let removed = protection.remove_context(&id).ok_or("absent")?;
    /// assert_eq!(removed.recipient_id(), [0x01]);
    /// assert!(protection.is_empty() && protection.remove_context(&id).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remove_context(&mut self, id: &ContextId) -> Option<SecurityContext<S>> {
        let i = self.contexts.iter().position(|(c, _)| c == id)?;
        self.b2.roots.retain(|r| r.id != *id);
        self.b2.pending.retain(|p| p.root != *id);
        Some(self.contexts.remove(i).1)
    }

    /// The context named `id`.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// # use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};
    /// # let mut protection: OscoreProtection<mote_oscore::sequence::Volatile, _> =
    /// #     OscoreProtection::new(OscoreConfig::default(), || 4u32); // rng: your source
    /// let id = protection.add_context(client)?;
    /// assert_eq!(protection.context(&id).map(|c| c.sender_sequence_number()), Some(0));
    /// assert!(protection.context(&ContextId::new(None, &[0x09])?).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn context(&self, id: &ContextId) -> Option<&SecurityContext<S>> {
        self.contexts.iter().find(|(c, _)| c == id).map(|(_, s)| s)
    }

    /// The context named `id`, to change (e.g. restore its replay window).
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// # use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};
    /// # let mut protection: OscoreProtection<mote_oscore::sequence::Volatile, _> =
    /// #     OscoreProtection::new(OscoreConfig::default(), || 4u32); // rng: your source
    /// let id = protection.add_context(client)?;
    /// // E.g. resume the sequence number stored before a reboot.
    /// protection.context_mut(&id).ok_or("absent")?.set_sender_sequence_number(100)?;
    /// assert_eq!(protection.context(&id).map(|c| c.sender_sequence_number()), Some(100));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn context_mut(&mut self, id: &ContextId) -> Option<&mut SecurityContext<S>> {
        self.contexts
            .iter_mut()
            .find(|(c, _)| c == id)
            .map(|(_, s)| s)
    }

    /// Every context with its name, in the order they were added.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// # use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};
    /// # let mut protection: OscoreProtection<mote_oscore::sequence::Volatile, _> =
    /// #     OscoreProtection::new(OscoreConfig::default(), || 4u32); // rng: your source
    /// protection.add_context(client)?;
    /// let names: Vec<&[u8]> = protection.contexts().map(|(id, _)| id.recipient_id()).collect();
    /// assert_eq!(names, [&[0x01][..]]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn contexts(&self) -> impl Iterator<Item = (&ContextId, &SecurityContext<S>)> {
        self.contexts.iter().map(|(c, s)| (c, s))
    }

    /// How many contexts are held.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// # use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};
    /// # let mut protection: OscoreProtection<mote_oscore::sequence::Volatile, _> =
    /// #     OscoreProtection::new(OscoreConfig::default(), || 4u32); // rng: your source
    /// assert_eq!(protection.len(), 0);
    /// protection.add_context(client)?;
    /// assert_eq!(protection.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> usize {
        self.contexts.len()
    }

    /// Whether no context is held.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// # use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};
    /// # let mut protection: OscoreProtection<mote_oscore::sequence::Volatile, _> =
    /// #     OscoreProtection::new(OscoreConfig::default(), || 4u32); // rng: your source
    /// assert!(protection.is_empty());
    /// protection.add_context(client)?;
    /// assert!(!protection.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.contexts.is_empty()
    }

    /// RFC 8613 §8.2 for a request in the UDP message format; `Ok(None)` when it carries no
    /// OSCORE option. The error is the unprotected (or, for Appendix B.1.2, protected)
    /// response to send.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// # use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};
    /// # let mut protection: OscoreProtection<mote_oscore::sequence::Volatile, _> =
    /// #     OscoreProtection::new(OscoreConfig::default(), || 4u32); // rng: your source
    /// # let mut sp = SecurityContextParams::new(&secret, &[0x01], &[]);
    /// # sp.master_salt = &salt;
    /// # let server = SecurityContext::new(&sp)?; // RFC 8613 C.1.2
    /// protection.add_context(server)?;
    /// // RFC 8613 C.4: the protected GET /tv1 from the C.1.1 client.
    /// let request = b"\x44\x02\x5d\x1f\x00\x00\x39\x74\x39localhost\x62\x09\x14\xff\x61\x2f\x10\x92\xf1\x77\x6f\x1c\x16\x68\xb3\x82\x5e";
    /// let (inner, binding, from) = protection.unprotect_request_bytes(request).ok().flatten().ok_or("refused")?;
    /// assert_eq!(inner.code, mote_coap::code::Code::GET);
    /// assert_eq!(from.recipient_id(), b"");
    /// assert_eq!(binding.request().request_piv(), [0x14]);
    /// // A message without the OSCORE option is not this layer's.
    /// assert!(matches!(protection.unprotect_request_bytes(b"\x40\x01\x00\x01"), Ok(None)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn unprotect_request_bytes(
        &mut self,
        request: &[u8],
    ) -> Result<Option<(MessageParts, OscoreBinding, ContextId)>, MessageParts> {
        let option = match peek_oscore_option(Framing::Udp, request) {
            Ok(o) => o,
            Err(Error::NotOscore(_)) => return Ok(None),
            Err(e) => return Err(error_response(&e)),
        };
        let (Some(kid), Some(_)) = (option.kid, option.partial_iv) else {
            // §8.2 step 2: the COSE object fails to decode without 'kid' or Partial IV.
            return Err(error_response(&Error::InvalidOscoreOption(
                crate::error::reason("request without kid or Partial IV"),
            )));
        };
        let candidates = self.candidates(&option, kid);
        let derived = self.derived_candidates(&option, kid);
        if candidates.is_empty() && derived.is_empty() {
            // RFC 8613 Appendix B.2: an unknown 'kid context' with the 'kid' of a root is a
            // request #1 or #2 of the procedure.
            let roots: Vec<ContextId> = self
                .b2
                .roots()
                .iter()
                .filter(|r| r.id.recipient_id() == kid)
                .map(|r| r.id)
                .collect();
            // (Without the `appendix-b2` feature there are no roots: not linked.)
            if let (Some(kid_context), false, true) = (
                option.kid_context,
                roots.is_empty(),
                cfg!(feature = "appendix-b2"),
            ) {
                let piv = option.partial_iv.unwrap_or_default();
                return self.unprotect_b2(&roots, kid_context, piv, request);
            }
            return Err(error_response(&Error::ContextNotFound));
        }
        let mut last = Error::ContextNotFound;
        let mut out = vec![0u8; 2 * request.len() + 64];
        for i in candidates {
            let Some((id, ctx)) = self.contexts.get_mut(i) else {
                continue;
            };
            match ctx.unprotect_request(Framing::Udp, request, &mut out) {
                Ok(verified) => {
                    let inner = decode_inner(&out, verified.len)?;
                    let id = *id;
                    if let Some(root) = self.b2.root_mut(&id) {
                        // The peer uses the root itself (no Appendix B.2): answer in kind.
                        root.plain_peer = true;
                    }
                    return Ok(Some((inner, OscoreBinding::new(id, verified.binding), id)));
                }
                Err(Error::EchoRequired) => {
                    let id = *id;
                    return Err(self.replay_echo_response(&id));
                }
                // §8.2 step 2: "the server may try each" context the 'kid' matches.
                Err(Error::DecryptionFailed) => last = Error::DecryptionFailed,
                Err(e) => return Err(error_response(&e)),
            }
        }
        for root in derived {
            let Some(d) = self.b2.root_mut(&root).and_then(|r| r.derived.as_mut()) else {
                continue;
            };
            match d.context.unprotect_request(Framing::Udp, request, &mut out) {
                Ok(verified) => {
                    let inner = decode_inner(&out, verified.len)?;
                    // The identity is the root's: stable across re-derivations.
                    let binding = OscoreBinding::via(root, verified.binding, Via::Derived(d.id));
                    return Ok(Some((inner, binding, root)));
                }
                Err(Error::DecryptionFailed) => last = Error::DecryptionFailed,
                Err(e) => return Err(error_response(&e)),
            }
        }
        Err(error_response(&last))
    }

    /// The roots whose derived context a request's 'kid' and 'kid context' may name.
    fn derived_candidates(&self, option: &OscoreOption<'_>, kid: &[u8]) -> Vec<ContextId> {
        self.b2
            .roots()
            .iter()
            .filter(|r| {
                r.derived.as_ref().is_some_and(|d| {
                    d.id.recipient_id() == kid
                        && option
                            .kid_context
                            .is_none_or(|kc| d.id.id_context() == Some(kc))
                })
            })
            .map(|r| r.id)
            .collect()
    }

    /// RFC 8613 Appendix B.2, server side: a request with the 'kid' of one of `roots` and an
    /// unknown 'kid context'. Request #2 (the 'kid context' starts with a remembered R2) is
    /// delivered under the derived context it installs; request #1 is answered (the `Err`)
    /// with the 4.01 protected under R2 ‖ ID1 that carries R2.
    #[allow(clippy::type_complexity)]
    fn unprotect_b2(
        &mut self,
        roots: &[ContextId],
        kid_context: &[u8],
        piv: &[u8],
        request: &[u8],
    ) -> Result<Option<(MessageParts, OscoreBinding, ContextId)>, MessageParts> {
        let mut out = vec![0u8; 2 * request.len() + 64];
        let mut last = Error::ContextNotFound;
        for root in roots {
            let Some(base) = self.context(root) else {
                continue;
            };
            if self.b2.is_request_2(root, kid_context) {
                // Step 4: ID3 = R2 || R3 with an R2 this server sent.
                let mut third = base.rederive(kid_context).map_err(|e| error_response(&e))?;
                match third.unprotect_request(Framing::Udp, request, &mut out) {
                    Ok(verified) => {
                        let inner = decode_inner(&out, verified.len)?;
                        let derived = self
                            .b2
                            .install(root, third, None)
                            .ok_or_else(|| error_response(&Error::ContextNotFound))?;
                        let binding =
                            OscoreBinding::via(*root, verified.binding, Via::Derived(derived));
                        return Ok(Some((inner, binding, *root)));
                    }
                    Err(Error::DecryptionFailed) => {
                        last = Error::DecryptionFailed;
                        continue;
                    }
                    Err(e) => return Err(error_response(&e)),
                }
            }
            if self.b2.is_replayed_request_1(root, kid_context, piv) {
                return Err(error_response(&Error::Replay));
            }
            // Step 2: verify under ID1 = the received 'kid context'; never delivered.
            let mut first = base.rederive(kid_context).map_err(|e| error_response(&e))?;
            let verified = match first.unprotect_request(Framing::Udp, request, &mut out) {
                Ok(v) => v,
                Err(Error::DecryptionFailed) => {
                    last = Error::DecryptionFailed;
                    continue;
                }
                Err(e) => return Err(error_response(&e)),
            };
            let r2 = b2::random(&mut self.rng);
            let (Ok(id2), Ok(r2_id), Ok(id1)) = (
                concat_id_context(&r2, kid_context),
                IdContext::new(&r2),
                IdContext::new(kid_context),
            ) else {
                return Err(error_response(&Error::InvalidParameter(
                    crate::error::reason("ID Context too long"),
                )));
            };
            let Some(base) = self.context(root) else {
                continue;
            };
            let mut second = base
                .rederive(id2.as_slice())
                .map_err(|e| error_response(&e))?;
            let mut binding = verified.binding;
            let response = protect_parts(
                &mut |raw, out| {
                    second.protect_response_with_kid_context(
                        Framing::Udp,
                        &mut binding,
                        raw,
                        &r2,
                        out,
                    )
                },
                &MessageParts::new(Code::UNAUTHORIZED),
            )
            .map_err(|_| plain(Code::INTERNAL_SERVER_ERROR, ""))?;
            self.b2.remember(b2::PendingR2 {
                root: *root,
                r2: r2_id,
                id1,
                piv: piv.to_vec(),
            });
            return Err(response);
        }
        Err(error_response(&last))
    }

    /// The contexts a request's 'kid' and 'kid context' may name (RFC 8613 §8.2 step 2).
    fn candidates(&self, option: &OscoreOption<'_>, kid: &[u8]) -> Vec<usize> {
        self.contexts
            .iter()
            .enumerate()
            .filter(|(_, (id, _))| {
                id.recipient_id() == kid
                    && option
                        .kid_context
                        .is_none_or(|kc| id.id_context() == Some(kc))
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Appendix B.1.2: the protected 4.01 (Unauthorized) with a new Echo value, for a verified
    /// request that arrived while the context's replay window is not initialized.
    fn replay_echo_response(&mut self, id: &ContextId) -> MessageParts {
        let mut echo = [0u8; REPLAY_ECHO_LEN];
        for chunk in echo.chunks_mut(4) {
            let r = self.rng.next_u32().to_be_bytes();
            chunk.copy_from_slice(r.get(..chunk.len()).unwrap_or_default());
        }
        let Some(ctx) = self.context_mut(id) else {
            return error_response(&Error::ContextNotFound);
        };
        let Some(mut binding) = ctx.echo_binding() else {
            return error_response(&Error::ContextNotFound);
        };
        if ctx.issue_replay_echo(&echo).is_err() {
            return plain(Code::INTERNAL_SERVER_ERROR, "");
        }
        let mut inner = MessageParts::new(Code::UNAUTHORIZED);
        inner.options.push(OptionNumber::ECHO, echo.to_vec());
        protect_parts(
            &mut |raw, out| ctx.protect_response(Framing::Udp, &mut binding, raw, true, out),
            &inner,
        )
        .unwrap_or_else(|_| plain(Code::INTERNAL_SERVER_ERROR, ""))
    }

    fn protect_response_parts(
        &mut self,
        binding: &OscoreBinding,
        inner: &MessageParts,
        notification: bool,
    ) -> Result<MessageParts, ProtectionError> {
        let mut request = binding.current();
        // §8.3: a notification always carries its own Partial IV (§4.1.3.5.2); so does any
        // second response, as the shared flag tells.
        let result = match binding.via {
            Via::Context => {
                let ctx = self
                    .context_mut(&binding.context)
                    .ok_or(ProtectionError::Failed)?;
                protect_parts(
                    &mut |raw, out| {
                        ctx.protect_response(Framing::Udp, &mut request, raw, notification, out)
                    },
                    inner,
                )
            }
            Via::Derived(derived) => {
                let ctx = &mut self
                    .b2
                    .derived_mut(&binding.context, &derived)
                    .ok_or(ProtectionError::Failed)?
                    .context;
                protect_parts(
                    &mut |raw, out| {
                        ctx.protect_response(Framing::Udp, &mut request, raw, notification, out)
                    },
                    inner,
                )
            }
            Via::Request1(_) => return Err(ProtectionError::Failed),
        };
        binding.shared.store_from(&request);
        result.map_err(|_| ProtectionError::Failed)
    }

    fn protect_request_parts(
        &mut self,
        identity: &ContextId,
        inner: &MessageParts,
    ) -> Result<(MessageParts, OscoreBinding), ProtectionError> {
        let mut binding = None;
        let mut protect = |ctx: &mut ProtectRequestFn<'_>, inner: &MessageParts| {
            protect_parts(
                &mut |raw, out| {
                    let (len, b) = ctx(raw, out)?;
                    binding = Some(b);
                    Ok(len)
                },
                inner,
            )
            .map_err(|_| ProtectionError::Failed)
        };
        let (outer, via) = match self
            .b2
            .root(identity)
            .map(|r| (r.derived.is_some(), r.plain_peer))
        {
            Some((true, _)) => {
                let root = self.b2.root_mut(identity).ok_or(ProtectionError::Failed)?;
                // Request #2 is the endpoint's Echo retry of the original request: the Echo
                // value that made it retry was this layer's, not the server's.
                let mut inner = inner.clone();
                let echo = inner
                    .options
                    .get(OptionNumber::ECHO)
                    .map(|o| o.value.to_vec());
                if let Some(i) = echo.and_then(|e| root.retry_markers.iter().position(|m| *m == *e))
                {
                    root.retry_markers.remove(i);
                    inner.options.remove(OptionNumber::ECHO);
                }
                let d = root.derived.as_mut().ok_or(ProtectionError::Failed)?;
                let ctx = &mut d.context;
                let outer = protect(
                    &mut |raw, out| ctx.protect_request(Framing::Udp, raw, out),
                    &inner,
                )?;
                (outer, Via::Derived(d.id))
            }
            Some((false, false)) => {
                // RFC 8613 Appendix B.2 step 1: request #1 under ID1 = R1, a fresh random
                // ID Context: its keys are new, so Sender Sequence Number 0 is safe.
                let r1 = b2::random(&mut self.rng);
                let id1 = IdContext::new(&r1).map_err(|_| ProtectionError::Failed)?;
                let mut first = self
                    .context(identity)
                    .ok_or(ProtectionError::Failed)?
                    .rederive(&r1)
                    .map_err(|_| ProtectionError::Failed)?;
                let outer = protect(
                    &mut |raw, out| first.protect_request(Framing::Udp, raw, out),
                    inner,
                )?;
                (outer, Via::Request1(id1))
            }
            _ => {
                let ctx = self.context_mut(identity).ok_or(ProtectionError::Failed)?;
                let outer = protect(
                    &mut |raw, out| ctx.protect_request(Framing::Udp, raw, out),
                    inner,
                )?;
                (outer, Via::Context)
            }
        };
        let binding = binding.ok_or(ProtectionError::Failed)?;
        Ok((outer, OscoreBinding::via(*identity, binding, via)))
    }

    fn unprotect_response_parts(
        &mut self,
        binding: &OscoreBinding,
        outer: &Message<'_>,
    ) -> Result<MessageParts, ProtectionError> {
        let raw = outer
            .to_owned()
            .to_vec()
            .map_err(|_| ProtectionError::Failed)?;
        let mut request = binding.current();
        let mut out = vec![0u8; 2 * raw.len() + 64];
        let len = match binding.via {
            Via::Context => self
                .context_mut(&binding.context)
                .ok_or(ProtectionError::Failed)?
                .unprotect_response(Framing::Udp, &mut request, &raw, &mut out),
            // Only the Appendix B.2 branches make these bindings (feature `appendix-b2`).
            Via::Derived(_) | Via::Request1(_) if !cfg!(feature = "appendix-b2") => {
                return Err(ProtectionError::Failed);
            }
            Via::Derived(_) | Via::Request1(_)
                if peek_oscore_option(Framing::Udp, &raw)
                    .is_ok_and(|o| o.kid_context.is_some()) =>
            {
                return self.response_1(binding, &raw);
            }
            Via::Derived(derived) => self
                .b2
                .derived_mut(&binding.context, &derived)
                .ok_or(ProtectionError::Failed)?
                .context
                .unprotect_response(Framing::Udp, &mut request, &raw, &mut out),
            // Request #1 is answered by response #1 only.
            Via::Request1(_) => return Err(ProtectionError::Failed),
        }
        .map_err(|_| ProtectionError::Failed)?;
        binding.shared.store_from(&request);
        parts_of(&out, len).ok_or(ProtectionError::Failed)
    }

    /// RFC 8613 Appendix B.2 step 3, client side: response #1 (a 4.01 with 'kid context' R2)
    /// to a request under ID1 (R1 of request #1, or the ID3 of a derived context the server
    /// no longer has). Verified under R2 || ID1; then ID3 = R2 || R3 is derived and installed,
    /// and the 4.01 is returned with an Echo option so the endpoint sends the request again,
    /// which goes out under ID3 as request #2.
    fn response_1(
        &mut self,
        binding: &OscoreBinding,
        raw: &[u8],
    ) -> Result<MessageParts, ProtectionError> {
        let id1 = match binding.via {
            Via::Request1(id1) => id1,
            Via::Derived(derived) => derived.id_context.ok_or(ProtectionError::Failed)?,
            Via::Context => return Err(ProtectionError::Failed),
        };
        let mut request = binding.current();
        let mut out = vec![0u8; 2 * raw.len() + 64];
        let r3 = b2::random(&mut self.rng);
        let marker = b2::random(&mut self.rng);
        let base = self
            .context(&binding.context)
            .ok_or(ProtectionError::Failed)?;
        let (len, r2) = client_verify_response_1(
            base,
            id1.as_slice(),
            &mut request,
            Framing::Udp,
            raw,
            &mut out,
        )
        .map_err(|_| ProtectionError::Failed)?;
        let mut inner = parts_of(&out, len).ok_or(ProtectionError::Failed)?;
        if inner.code != Code::UNAUTHORIZED {
            // Appendix B.2 step 2: response #1 is a 4.01 (Unauthorized).
            return Err(ProtectionError::Failed);
        }
        let id3 = concat_id_context(r2, &r3).map_err(|_| ProtectionError::Failed)?;
        // The derived context starts at Sender Sequence Number 0 with an empty replay window
        // (Appendix B.2: new keys, so no Appendix B.1.1 persistence is needed for it).
        let third = base
            .rederive(id3.as_slice())
            .map_err(|_| ProtectionError::Failed)?;
        self.b2
            .install(&binding.context, third, Some(marker))
            .ok_or(ProtectionError::Failed)?;
        binding.shared.store_from(&request);
        if inner.options.get(OptionNumber::ECHO).is_none() {
            inner.options.push(OptionNumber::ECHO, marker.to_vec());
        }
        Ok(inner)
    }
}

/// Encodes `inner` in the UDP format, runs `f` on it and returns the outer message's parts.
///
/// `f` is a `dyn` closure: every caller (request, response, Echo challenge; root or derived
/// context) shares this one body instead of a copy per closure type.
fn protect_parts(f: &mut ProtectFn<'_>, inner: &MessageParts) -> Result<MessageParts, Error> {
    let raw = inner
        .clone()
        .into_message(MessageType::Con, 0, &[])
        .to_vec()
        .map_err(Error::from)?;
    // Tag (at most 16), OSCORE option (at most 272) and the Class U copies.
    let mut out = vec![0u8; 2 * raw.len() + 320];
    let len = f(&raw, &mut out)?;
    parts_of(&out, len).ok_or(Error::Malformed(crate::error::reason("protected message")))
}

/// The message of `len` bytes at the start of `out`, as parts (`None`: it does not decode).
fn parts_of(out: &[u8], len: usize) -> Option<MessageParts> {
    out.get(..len)
        .and_then(|b| Message::decode(b).ok())
        .map(|m| MessageParts::from_message(&m))
}

/// Protects one raw inner message into the output buffer; returns the protected length.
type ProtectFn<'a> = dyn FnMut(&[u8], &mut [u8]) -> Result<usize, Error> + 'a;

/// Protects one request (raw inner message, output buffer) with some context.
type ProtectRequestFn<'a> =
    dyn FnMut(&[u8], &mut [u8]) -> Result<(usize, RequestBinding), Error> + 'a;

/// The decrypted request at the start of `out`, as parts.
fn decode_inner(out: &[u8], len: usize) -> Result<MessageParts, MessageParts> {
    parts_of(out, len).ok_or_else(|| error_response(&Error::DecryptionFailed))
}

/// An unprotected response with a diagnostic payload.
fn plain(code: Code, diagnostic: &str) -> MessageParts {
    let mut parts = MessageParts::new(code);
    parts.payload = diagnostic.as_bytes().to_vec();
    parts
}

/// The unprotected error response for a request that failed with `error` (RFC 8613 §8.2,
/// §7.4), with Outer Max-Age 0 (§4.1.3.1: not to be cached).
fn error_response(error: &Error) -> MessageParts {
    let (code, diagnostic) = match error.server_response() {
        Some(r) => (r.code, r.diagnostic),
        // A CoAP message that is malformed outside or, once decrypted, inside (the window is
        // not updated then, §8.2): 4.00 (RFC 7252 §5.9.2.1).
        None => (Code::BAD_REQUEST, "Malformed request"),
    };
    let mut parts = plain(code, diagnostic);
    parts.options.push(OptionNumber::MAX_AGE, Vec::new());
    parts
}

impl<P, S: SequenceStore, R: RandomSource> Protection<P> for OscoreProtection<S, R> {
    type Binding = OscoreBinding;
    type Identity = ContextId;

    fn unprotect_request(
        &mut self,
        _now: Duration,
        _peer: &P,
        outer: &Message<'_>,
    ) -> Result<Option<(MessageParts, OscoreBinding, ContextId)>, MessageParts> {
        if outer.option(OptionNumber::OSCORE).is_none() {
            return Ok(None);
        }
        let raw = outer.to_owned().to_vec().map_err(|_| {
            error_response(&Error::InvalidOscoreOption(crate::error::reason("message")))
        })?;
        self.unprotect_request_bytes(&raw)
    }

    fn protect_response(
        &mut self,
        binding: &OscoreBinding,
        inner: &MessageParts,
        notification: bool,
    ) -> Result<MessageParts, ProtectionError> {
        self.protect_response_parts(binding, inner, notification)
    }

    fn protect_request(
        &mut self,
        _peer: &P,
        identity: &ContextId,
        inner: &MessageParts,
    ) -> Result<(MessageParts, OscoreBinding), ProtectionError> {
        self.protect_request_parts(identity, inner)
    }

    fn unprotect_response(
        &mut self,
        binding: &OscoreBinding,
        outer: &Message<'_>,
    ) -> Result<MessageParts, ProtectionError> {
        self.unprotect_response_parts(binding, outer)
    }
}
