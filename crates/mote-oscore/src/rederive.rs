//! Security context re-derivation (RFC 8613 Appendix B.2): fresh Sender/Recipient Contexts
//! from a long-lived Master Secret, with random ID Contexts exchanged in 'kid context'.
//!
//! ```text
//! Client                                   Server
//!   | request #1, kid_context = ID1 = R1     |   verify with ID Context ID1
//!   |--------------------------------------->|   (server_request_1)
//!   | response #1 (4.01), kid_context = R2   |   protect with R2 || ID1
//!   |<---------------------------------------|
//!   | verify with R2 || ID1 (client_response_1)
//!   | request #2, kid_context = ID3 = R2||R3 |   ID3 starts with a cached R2:
//!   |--------------------------------------->|   verify with ID3, keep it (server_request_2)
//!   | response #2                            |
//!   |<---------------------------------------|
//! ```
//!
//! Randomness comes from the caller (R1, R2, R3: at least 8 bytes each, §B.2). The server
//! keeps the R2 values it sent in [`PendingR2`] until a request #2 uses one.

use crate::Error;
use crate::context::{IdContext, MAX_ID_CONTEXT_LEN, SecurityContext, SecurityContextParams};
use crate::protect::{RequestBinding, VerifiedRequest, peek_oscore_option};
use crate::replay::ReplayWindow;
use crate::sequence::{SequenceStore, Volatile};
use mote_coap::framing::Framing;

/// `a || b` as an ID Context (Appendix B.2 "comb").
/// # Example
/// RFC 8613 C.3.1's ID Context `0x37cbf3210017a2d3` as the concatenation of two halves; the
/// C.1.1 client re-derived with it has the keys of C.3.1.
/// ```
/// use mote_oscore::context::MAX_ID_CONTEXT_LEN;
/// use mote_oscore::rederive::concat_id_context;
/// # use mote_oscore::{Error, Framing, SecurityContext, SecurityContextParams};
/// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
/// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
/// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
/// # p.master_salt = &salt;
/// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
/// let id = concat_id_context(&[0x37, 0xcb, 0xf3, 0x21], &[0x00, 0x17, 0xa2, 0xd3])?;
/// assert_eq!(id.as_slice(), [0x37, 0xcb, 0xf3, 0x21, 0x00, 0x17, 0xa2, 0xd3]);
/// let c31 = client.rederive(id.as_slice())?;
/// assert_eq!(
///     c31.sender_key().expose(),
///     [0xaf, 0x2a, 0x13, 0x00, 0xa5, 0xe9, 0x57, 0x88, 0xb3, 0x56, 0x33, 0x6e, 0xee, 0xcd, 0x2b, 0x92]
/// );
/// assert_eq!(
///     c31.common_iv(),
///     [0x2c, 0xa5, 0x8f, 0xb8, 0x5f, 0xf1, 0xb8, 0x1c, 0x0b, 0x71, 0x81, 0xb8, 0x5e]
/// );
/// // An ID Context holds at most MAX_ID_CONTEXT_LEN bytes.
/// assert!(concat_id_context(&[0x22; 8], &[0x11; MAX_ID_CONTEXT_LEN - 8]).is_ok());
/// assert!(concat_id_context(&[0x22; 8], &[0x11; MAX_ID_CONTEXT_LEN - 7]).is_err());
/// # Ok::<(), mote_oscore::Error>(())
/// ```
pub fn concat_id_context(a: &[u8], b: &[u8]) -> Result<IdContext, Error> {
    let mut buf = [0u8; MAX_ID_CONTEXT_LEN];
    let total = a.len() + b.len();
    let dst = buf
        .get_mut(..total)
        .ok_or(Error::InvalidParameter(crate::error::reason(
            "ID Context too long",
        )))?;
    let (x, y) = dst.split_at_mut(a.len());
    x.copy_from_slice(a);
    y.copy_from_slice(b);
    IdContext::new(dst)
}

impl<S: SequenceStore> SecurityContext<S> {
    /// A new context from the same Master Secret, Master Salt, IDs and algorithms, with
    /// `id_context` as ID Context (RFC 8613 Appendix B.2). The new context starts with
    /// sequence number 0 and a fresh replay window: its keys have never been used.
    /// # Example
    /// ```
    /// # use mote_oscore::{Error, Framing, SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// # let mut p = SecurityContextParams::new(&secret, &[0x01], &[]);
    /// # p.master_salt = &salt;
    /// # let server = SecurityContext::new(&p)?; // RFC 8613 C.1.2
    /// let fresh = client.rederive(&[0x5a; 8])?;
    /// assert_eq!(fresh.id_context(), Some(&[0x5a; 8][..]));
    /// assert_eq!(fresh.sender_id(), client.sender_id());
    /// assert_eq!(fresh.sender_sequence_number(), 0);
    /// assert_ne!(fresh.sender_key().expose(), client.sender_key().expose());
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn rederive(&self, id_context: &[u8]) -> Result<SecurityContext<Volatile>, Error> {
        let params = SecurityContextParams {
            master_secret: self.master_secret.expose(),
            master_salt: self.master_salt.expose(),
            sender_id: self.sender.id.as_slice(),
            recipient_id: self.recipient.id.as_slice(),
            id_context: Some(id_context),
            aead: self.aead,
            hkdf: self.hkdf,
            replay_window: self.recipient.window.size(),
            send_kid_context: true,
        };
        let mut ctx = SecurityContext::new(&params)?;
        ctx.recipient.window = ReplayWindow::new(self.recipient.window.size())?;
        Ok(ctx)
    }
}

/// The R2 values a server sent in responses #1 and still accepts in requests #2
/// (Appendix B.2 step 2 and 4, B.2.1: a bounded cache; the oldest entry is replaced).
#[derive(Debug, Clone)]
pub struct PendingR2<const N: usize = 4> {
    entries: [Option<IdContext>; N],
    next: usize,
}

impl<const N: usize> Default for PendingR2<N> {
    fn default() -> Self {
        Self {
            entries: [None; N],
            next: 0,
        }
    }
}

impl<const N: usize> PendingR2<N> {
    /// Remembers an R2 sent in a response #1.
    /// ```
    /// use mote_oscore::rederive::PendingR2;
    /// let mut pending: PendingR2<2> = PendingR2::default();
    /// pending.remember(&[0x22; 8])?;
    /// assert!(pending.matches(&[[0x22; 8], [0x33; 8]].concat()));
    /// // Bounded: two more R2 values evict the oldest one.
    /// pending.remember(&[0x55; 8])?;
    /// pending.remember(&[0x66; 8])?;
    /// assert!(!pending.matches(&[[0x22; 8], [0x33; 8]].concat()));
    /// assert!(pending.matches(&[[0x66; 8], [0x33; 8]].concat()));
    /// // An R2 must fit an ID Context.
    /// assert!(pending.remember(&[0x77; 65]).is_err());
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn remember(&mut self, r2: &[u8]) -> Result<(), Error> {
        let slot = self
            .entries
            .get_mut(self.next % N.max(1))
            .ok_or(Error::InvalidParameter(crate::error::reason(
                "empty R2 cache",
            )))?;
        *slot = Some(IdContext::new(r2)?);
        self.next = (self.next + 1) % N.max(1);
        Ok(())
    }

    /// Whether `id3` starts with a remembered R2 (step 4).
    /// ```
    /// use mote_oscore::rederive::PendingR2;
    /// let mut pending: PendingR2 = PendingR2::default();
    /// pending.remember(&[0x22; 8])?;
    /// assert!(pending.matches(&[[0x22; 8], [0x33; 8]].concat())); // ID3 = R2 || R3
    /// assert!(!pending.matches(&[0x22; 8])); // R2 alone: no R3 follows
    /// assert!(!pending.matches(&[[0x44; 8], [0x22; 8]].concat())); // R2 not at the start
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn matches(&self, id3: &[u8]) -> bool {
        self.entries
            .iter()
            .flatten()
            .any(|r2| id3.len() > r2.as_slice().len() && id3.starts_with(r2.as_slice()))
    }

    /// Forgets every R2 (step 4, after a request #2 verified).
    /// ```
    /// use mote_oscore::rederive::PendingR2;
    /// let mut pending: PendingR2 = PendingR2::default();
    /// pending.remember(&[0x22; 8])?;
    /// pending.remember(&[0x55; 8])?;
    /// pending.clear();
    /// assert!(!pending.matches(&[[0x22; 8], [0x33; 8]].concat()));
    /// assert!(!pending.matches(&[[0x55; 8], [0x33; 8]].concat()));
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn clear(&mut self) {
        self.entries = [None; N];
    }
}

/// What [`server_handle_unknown_context`] did with a request whose 'kid context' matched no
/// established context.
#[derive(Debug)]
pub enum ServerStep {
    /// Step 2: request #1 verified with ID1. Answer with a 4.01 (Unauthorized) response
    /// protected by `context` (ID Context R2 || ID1) via
    /// [`SecurityContext::protect_response_with_kid_context`] carrying R2.
    Request1 {
        /// The decrypted request #1 (not to be acted upon).
        request: VerifiedRequest,
        /// The second context (R2 || ID1), for response #1 only.
        context: SecurityContext<Volatile>,
    },
    /// Step 4: request #2 verified with ID3: `context` replaces the established one and the
    /// decrypted request is processed normally; the response is protected with `context`.
    Request2 {
        /// The decrypted request #2.
        request: VerifiedRequest,
        /// The third context (ID3 = R2 || R3), from now on the context with this client.
        context: SecurityContext<Volatile>,
    },
}

/// The server side of Appendix B.2: called when a request carries a 'kid context' that does
/// not match `base` (its 'kid' must match `base`'s Recipient ID). `r2` is fresh randomness
/// used only if this is a request #1; it is remembered in `pending`.
/// # Example
/// The whole exchange of Appendix B.2 (R1, R2, R3 come from the caller's random source).
/// ```
/// use mote_oscore::rederive::{client_verify_response_1, concat_id_context, server_handle_unknown_context, PendingR2, ServerStep};
/// # use mote_oscore::{Error, Framing, SecurityContext, SecurityContextParams};
/// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
/// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
/// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
/// # p.master_salt = &salt;
/// # let client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
/// # let mut p = SecurityContextParams::new(&secret, &[0x01], &[]);
/// # p.master_salt = &salt;
/// # let server = SecurityContext::new(&p)?; // RFC 8613 C.1.2
/// let (r1, r2, r3) = ([0x11; 8], [0x22; 8], [0x33; 8]);
/// let mut pending: PendingR2 = PendingR2::default();
/// let (mut wire, mut plain) = ([0u8; 128], [0u8; 128]);
/// let get = b"\x41\x01\x00\x01\x42\xb4temp";
///
/// // 1. Request #1 under ID Context R1, which the server does not know.
/// let (n, mut binding) = client.rederive(&r1)?.protect_request(Framing::Udp, get, &mut wire)?;
/// let ServerStep::Request1 { request, context: mut second } =
///     server_handle_unknown_context(&server, &mut pending, Framing::Udp, &wire[..n], &r2, &mut plain)?
/// else { return Err("expected request #1".into()) };
/// // 2. Answered 4.01 under R2 || R1, carrying R2 (not acted upon).
/// let mut server_binding = request.binding;
/// let n = second.protect_response_with_kid_context(Framing::Udp, &mut server_binding, b"\x61\x81\x00\x01\x42", &r2, &mut wire)?;
/// // 3. The client verifies it, learns R2 and derives ID3 = R2 || R3.
/// let response = wire;
/// let (_, got_r2) = client_verify_response_1(&client, &r1, &mut binding, Framing::Udp, &response[..n], &mut plain)?;
/// assert_eq!(got_r2, r2);
/// let id3 = concat_id_context(got_r2, &r3)?;
/// let mut third = client.rederive(id3.as_slice())?;
/// let (n, _) = third.protect_request(Framing::Udp, get, &mut wire)?;
/// // 4. Request #2 starts with the R2 the server sent: the new context is adopted.
/// let ServerStep::Request2 { context, .. } =
///     server_handle_unknown_context(&server, &mut pending, Framing::Udp, &wire[..n], &[0x44; 8], &mut plain)?
/// else { return Err("expected request #2".into()) };
/// assert_eq!(context.id_context(), Some(id3.as_slice()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn server_handle_unknown_context<S: SequenceStore, const N: usize>(
    base: &SecurityContext<S>,
    pending: &mut PendingR2<N>,
    framing: Framing,
    request: &[u8],
    r2: &[u8],
    out: &mut [u8],
) -> Result<ServerStep, Error> {
    let option = peek_oscore_option(framing, request)?;
    let kid_context = option.kid_context.ok_or(Error::ContextNotFound)?;
    if option.kid != Some(base.recipient_id()) {
        return Err(Error::ContextNotFound);
    }
    if pending.matches(kid_context) {
        let mut ctx3 = base.rederive(kid_context)?;
        let request = ctx3.unprotect_request(framing, request, out)?;
        pending.clear();
        return Ok(ServerStep::Request2 {
            request,
            context: ctx3,
        });
    }
    let mut ctx1 = base.rederive(kid_context)?;
    let request = ctx1.unprotect_request(framing, request, out)?;
    let id2 = concat_id_context(r2, kid_context)?;
    let ctx2 = base.rederive(id2.as_slice())?;
    pending.remember(r2)?;
    Ok(ServerStep::Request1 {
        request,
        context: ctx2,
    })
}

/// The client side of step 3: given response #1 to a request protected with ID Context
/// `id1`, derives the second context (R2 || ID1) from the R2 in the response's
/// 'kid context' and verifies the response with it. Returns the decrypted response length
/// and R2; the caller then derives the third context with `base.rederive(R2 || R3)`.
/// # Example
/// Steps 1 to 3 of Appendix B.2, the server side done by hand (R1, R2 from the callers' random
/// sources).
/// ```
/// use mote_oscore::rederive::{client_verify_response_1, concat_id_context};
/// # use mote_oscore::{Error, Framing, SecurityContext, SecurityContextParams};
/// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
/// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
/// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
/// # p.master_salt = &salt;
/// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
/// # let mut sp = SecurityContextParams::new(&secret, &[0x01], &[]);
/// # sp.master_salt = &salt;
/// # let mut server = SecurityContext::new(&sp)?; // RFC 8613 C.1.2
/// let (r1, r2) = ([0x11; 8], [0x22; 8]);
/// let get = b"\x41\x01\x00\x01\x42\xb4temp";
/// let (mut wire, mut plain) = ([0u8; 96], [0u8; 96]);
/// let (n, mut binding) = client.rederive(&r1)?.protect_request(Framing::Udp, get, &mut wire)?;
/// let mut server_binding = server.rederive(&r1)?.unprotect_request(Framing::Udp, &wire[..n], &mut plain)?.binding;
/// // Response #1: ACK 4.01 under R2 || R1, carrying R2.
/// let mut second = server.rederive(concat_id_context(&r2, &r1)?.as_slice())?;
/// let unauthorized = b"\x61\x81\x00\x01\x42";
/// let n = second.protect_response_with_kid_context(Framing::Udp, &mut server_binding, unauthorized, &r2, &mut wire)?;
/// let response = wire;
/// // With the wrong ID1 the second context differs and nothing verifies.
/// assert!(client_verify_response_1(&client, &[0x99; 8], &mut binding, Framing::Udp, &response[..n], &mut plain).is_err());
/// let (m, got_r2) = client_verify_response_1(&client, &r1, &mut binding, Framing::Udp, &response[..n], &mut plain)?;
/// assert_eq!(got_r2, r2);
/// assert_eq!(&plain[..m], unauthorized);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn client_verify_response_1<'r, S: SequenceStore>(
    base: &SecurityContext<S>,
    id1: &[u8],
    binding: &mut RequestBinding,
    framing: Framing,
    response: &'r [u8],
    out: &mut [u8],
) -> Result<(usize, &'r [u8]), Error> {
    let option = peek_oscore_option(framing, response)?;
    let r2 = option
        .kid_context
        .ok_or(Error::InvalidOscoreOption(crate::error::reason(
            "response #1 without kid context",
        )))?;
    let id2 = concat_id_context(r2, id1)?;
    let mut ctx2 = base.rederive(id2.as_slice())?;
    let len = ctx2.unprotect_response(framing, binding, response, out)?;
    Ok((len, r2))
}
