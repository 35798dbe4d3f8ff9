//! Protecting and verifying requests and responses (RFC 8613 §8).
//!
//! Every function reads a complete CoAP message (UDP or TCP framing, see [`Framing`]) and
//! writes the result into a caller buffer, without allocation. When the buffer is too small
//! the error says how much is needed ([`Error::BufferTooSmall`]) and nothing changed.
//!
//! Verification needs room for the message plus a copy of the ciphertext: a buffer of twice
//! the input length (plus a few bytes) always suffices.

use mote_coap::code::Code;
use mote_coap::framing::{Cursor, FramedMessage, Framing};
use mote_coap::option::{self as coap_option, Body, OptionEncoder, OptionNumber, OptionSet};

use crate::class;
use crate::context::{Id, MessageKey, SecurityContext, ShortBytes};
use crate::cose::{Aad, nonce};
use crate::option::{MAX_PARTIAL_IV_LEN, OscoreOption, decode_partial_iv, encode_partial_iv};
use crate::proxy_uri::ProxyUri;
use crate::replay::NotificationNumber;
use crate::sequence::SequenceStore;
use crate::{Error, replay::MAX_SEQUENCE_NUMBER};

/// What a response is bound to (RFC 8613 §7.1): the 'kid' and Partial IV of its request,
/// plus the per-request state the client and server keep (§8, §7.4.1).
///
/// Created by [`SecurityContext::protect_request`] (client) and
/// [`SecurityContext::unprotect_request`] (server); kept for as long as responses may come
/// (for Observe, as long as the observation lives).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestBinding {
    kid: Id,
    piv: ShortBytes<MAX_PARTIAL_IV_LEN>,
    observe: bool,
    /// Server: a response already used the request nonce. Client: a response was accepted.
    pub(crate) request_nonce_used: bool,
    /// Server: the request's freshness is unknown (B.1.2), responses need their own PIV.
    must_use_own_piv: bool,
    pub(crate) notifications: NotificationNumber,
}

impl RequestBinding {
    /// A binding from the request's 'kid' and Partial IV, e.g. given on a command line.
    /// `observe` marks an Observe registration.
    ///
    /// ```
    /// use mote_oscore::RequestBinding;
    /// // RFC 8613 C.4's request: 'kid' empty (the client's Sender ID), Partial IV 0x14.
    /// let binding = RequestBinding::new(&[], &[0x14], false)?;
    /// assert_eq!((binding.request_kid(), binding.request_piv()), (&[][..], &[0x14][..]));
    /// assert!(RequestBinding::new(&[], &[1, 2, 3, 4, 5, 6], false).is_err()); // PIV over 5 bytes
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn new(request_kid: &[u8], request_piv: &[u8], observe: bool) -> Result<Self, Error> {
        if request_piv.is_empty() || request_piv.len() > MAX_PARTIAL_IV_LEN {
            return Err(Error::InvalidParameter(crate::error::reason(
                "request Partial IV must be 1 to 5 bytes",
            )));
        }
        Ok(Self {
            kid: Id::new(request_kid)?,
            piv: ShortBytes::new(request_piv)?,
            observe,
            request_nonce_used: false,
            must_use_own_piv: false,
            notifications: NotificationNumber::default(),
        })
    }

    /// The request's 'kid' (the client's Sender ID).
    ///
    /// ```
    /// use mote_oscore::RequestBinding;
    /// assert_eq!(RequestBinding::new(&[0x01], &[0x05], false)?.request_kid(), [0x01]);
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn request_kid(&self) -> &[u8] {
        self.kid.as_slice()
    }

    /// The request's Partial IV.
    ///
    /// ```
    /// use mote_oscore::RequestBinding;
    /// assert_eq!(RequestBinding::new(&[0x01], &[0x05], false)?.request_piv(), [0x05]);
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn request_piv(&self) -> &[u8] {
        self.piv.as_slice()
    }

    /// Whether the request was an Observe registration.
    ///
    /// ```
    /// use mote_oscore::RequestBinding;
    /// assert!(RequestBinding::new(&[0x01], &[0x05], true)?.is_observe());
    /// assert!(!RequestBinding::new(&[0x01], &[0x05], false)?.is_observe());
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn is_observe(&self) -> bool {
        self.observe
    }

    /// The Notification Number of the observation (client side, RFC 8613 §7.4.1).
    ///
    /// ```
    /// use mote_oscore::RequestBinding;
    /// // No notification verified yet under this registration.
    /// assert_eq!(RequestBinding::new(&[0x01], &[0x05], true)?.notification_number(), None);
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn notification_number(&self) -> Option<u64> {
        self.notifications.get()
    }
}

/// Result of verifying a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedRequest {
    /// Length of the decrypted CoAP request at the start of the output buffer.
    pub len: usize,
    /// The binding for the responses.
    pub binding: RequestBinding,
}

/// Whether the fast paths next to the general ones are built: on the hosts (x86, x86_64,
/// aarch64), where the benchmarks hold message protection to its speed target. Elsewhere (the
/// microcontroller build) only the general paths, which give the same bytes with less code:
/// sealing a UDP message whose options are all Class E (`seal_udp_verbatim`), copying those
/// options verbatim into the plaintext, writing the OSCORE option alone, and decrypting in
/// place when no outer option is kept (`open_in_place`).
const FAST_PATHS: bool = cfg!(any(
    target_arch = "x86",
    target_arch = "x86_64",
    target_arch = "aarch64"
));

/// Decodes (and validates) a CoAP message of `framing`. Outside the hosts one shared copy of
/// the decoder serves `protect_request`, `protect_response` and `split_oscore` (the decoder is
/// inlined wherever it is called, ≈ 0.4 KB each on thumbv7em); on the hosts each caller keeps
/// its inlined copy.
#[cfg_attr(
    not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")),
    inline(never)
)]
fn decode(framing: Framing, msg: &[u8]) -> Result<FramedMessage<'_>, Error> {
    Ok(framing.decode(msg)?)
}

struct OscoreParts<'a> {
    parts: FramedMessage<'a>,
    option: OscoreOption<'a>,
}

// Not `#[inline(always)]`: its three callers (`unprotect_request`, `unprotect_response`,
// `peek_oscore_option`) then share one copy of the decoder in a size-optimized build (≈ 650
// bytes on thumbv7em); a speed-optimized build still inlines it where that pays.
fn split_oscore(framing: Framing, msg: &[u8]) -> Result<OscoreParts<'_>, Error> {
    let parts = decode(framing, msg)?;
    // The validating pass of the decoder noted which options occur.
    if !parts.option_set().may_contain(OptionNumber::OSCORE) {
        return Err(Error::NotOscore(crate::error::reason("no OSCORE option")));
    }
    let mut oscore = parts
        .options()
        .skip_while(|o| o.number < OptionNumber::OSCORE)
        .take_while(|o| o.number == OptionNumber::OSCORE);
    let value = oscore
        .next()
        .ok_or(Error::NotOscore(crate::error::reason("no OSCORE option")))?
        .value;
    if oscore.next().is_some() {
        return Err(Error::InvalidOscoreOption(crate::error::reason(
            "repeated OSCORE option",
        )));
    }
    let option = OscoreOption::decode(value)?;
    Ok(OscoreParts { parts, option })
}

/// Reads the OSCORE option of a message without verifying anything: what a server looks at
/// to pick the security context ('kid', 'kid context', §8.2 step 2).
/// # Example
/// A server reads 'kid' and the Partial IV of RFC 8613 C.5's request (client context C.2.1,
/// Sender ID 0x00) to pick the context before anything is verified.
/// ```
/// use mote_oscore::{peek_oscore_option, Framing};
/// let protected = b"\x44\x02\x71\xc3\x00\x00\xb9\x32\x39localhost\x63\x09\x14\x00\xff\x4e\xd3\x39\xa5\xa3\x79\xb0\xb8\xbc\x73\x1f\xff\xb0";
/// let option = peek_oscore_option(Framing::Udp, protected)?;
/// assert_eq!(option.kid, Some(&[0x00][..]));
/// assert_eq!(option.partial_iv, Some(&[0x14][..]));
/// assert_eq!(option.kid_context, None);
/// # Ok::<(), mote_oscore::Error>(())
/// ```
pub fn peek_oscore_option(framing: Framing, msg: &[u8]) -> Result<OscoreOption<'_>, Error> {
    split_oscore(framing, msg).map(|p| p.option)
}

/// Everything about how the plaintext is assembled from the original message.
#[derive(Clone, Copy)]
struct PlaintextSource<'p, 'a> {
    /// Borrowed, not copied.
    parts: &'p FramedMessage<'a>,
    proxy: Option<ProxyUri<'a>>,
    is_request: bool,
    /// The fast paths may be taken ([`FAST_PATHS`]; tests turn them off to check that the
    /// general paths give the same bytes).
    fast: bool,
}

impl<'a> PlaintextSource<'_, 'a> {
    /// The request's Proxy-Uri: always `None` without the `proxy-uri` feature (such a request
    /// is refused before), so the Proxy-Uri branches below are not linked there.
    fn proxy(&self) -> Option<ProxyUri<'a>> {
        self.proxy.filter(|_| cfg!(feature = "proxy-uri"))
    }

    /// Writes `Code || Class E options || 0xff || payload` (RFC 8613 §5.3).
    #[inline]
    fn write(&self, w: &mut Cursor<'_>) -> Result<(), Error> {
        w.put_byte(self.parts.code().0);
        let payload = self.parts.payload();
        if FAST_PATHS && self.fast && self.options_verbatim() {
            // Every option is Class E and copied unchanged, in order: the encoded options are
            // the original ones, byte for byte (RFC 7252 §3.1 deltas are relative to the
            // previous option, which is the same one).
            w.put(self.parts.option_bytes());
            if !payload.is_empty() {
                w.put_byte(0xff);
                w.put(payload);
            }
            return Ok(());
        }
        let mut enc = OptionEncoder::new();
        // The Inner Uri-Path / Uri-Query options from Proxy-Uri (§4.1.3.3), merged in order.
        #[cfg(feature = "proxy-uri")]
        let mut generated = self
            .proxy()
            .map(|p| p.inner_options())
            .into_iter()
            .flatten()
            .peekable();
        for opt in self.parts.options() {
            let (n, v) = (opt.number, opt.value);
            #[cfg(feature = "proxy-uri")]
            while let Some(&(gn, gv)) = generated.peek() {
                if gn > n {
                    break;
                }
                write_decoded(&mut enc, w, gn, gv)?;
                generated.next();
            }
            if n == OptionNumber::OSCORE {
                return Err(Error::NestedOscore);
            }
            if !n.oscore_class().is_inner() {
                continue;
            }
            if n == OptionNumber::OBSERVE && !self.is_request {
                // §4.1.3.5.2: the Inner Observe of a notification is empty.
                enc.write(w, n, &[])?;
            } else {
                enc.write(w, n, v)?;
            }
        }
        #[cfg(feature = "proxy-uri")]
        for (gn, gv) in generated {
            write_decoded(&mut enc, w, gn, gv)?;
        }
        if !payload.is_empty() {
            w.put_byte(0xff);
            w.put(payload);
        }
        Ok(())
    }

    /// Whether the Class E options are exactly the original options (no Class U option, no
    /// Proxy-Uri, no OSCORE option, and no Observe to empty in a response, §4.1.3.5.2).
    fn options_verbatim(&self) -> bool {
        let mut exclude = class::NOT_VERBATIM_INNER;
        if !self.is_request {
            exclude = exclude.with(OptionNumber::OBSERVE);
        }
        self.proxy().is_none() && !self.parts.option_set().intersects(exclude)
    }

    /// Writes the outer options (Class U, §4.1.2) with the OSCORE option in its place.
    #[inline]
    fn write_outer_options(
        &self,
        w: &mut Cursor<'_>,
        oscore: &OscoreOption<'_>,
    ) -> Result<(), Error> {
        let mut enc = OptionEncoder::new();
        if FAST_PATHS
            && self.fast
            && self.proxy().is_none()
            && !self.parts.option_set().intersects(class::OUTER_CANDIDATES)
        {
            // Nothing of the original message goes outside: the OSCORE option is alone.
            enc.write_header(w, OptionNumber::OSCORE, oscore.encoded_len())?;
            return oscore.write_to(w);
        }
        let mut oscore_done = false;
        for opt in self.parts.options() {
            let (n, v) = (opt.number, opt.value);
            if !oscore_done && n > OptionNumber::OSCORE {
                enc.write_header(w, OptionNumber::OSCORE, oscore.encoded_len())?;
                oscore.write_to(w)?;
                oscore_done = true;
            }
            if n == OptionNumber::PROXY_URI {
                if let Some(p) = self.proxy() {
                    // §4.1.3.3: the outer Proxy-Uri is scheme://host[:port].
                    enc.write_header(w, n, p.scheme_host.len() + p.port.len())?;
                    w.put(p.scheme_host);
                    w.put(p.port);
                }
                continue;
            }
            if class::is_outer_copy(n, v) {
                enc.write(w, n, v)?;
            }
        }
        if !oscore_done {
            enc.write_header(w, OptionNumber::OSCORE, oscore.encoded_len())?;
            oscore.write_to(w)?;
        }
        Ok(())
    }
}

/// Splits a request's Proxy-Uri for protection (RFC 8613 §4.1.3.3).
#[cfg(feature = "proxy-uri")]
fn parse_proxy_uri(uri: &[u8]) -> Result<ProxyUri<'_>, Error> {
    ProxyUri::parse(uri)
}

/// Without the `proxy-uri` feature a request with Proxy-Uri is refused (nothing is sent that
/// the protection could not decompose as RFC 8613 §4.1.3.3 asks).
#[cfg(not(feature = "proxy-uri"))]
fn parse_proxy_uri(_uri: &[u8]) -> Result<ProxyUri<'_>, Error> {
    Err(Error::InvalidParameter(crate::error::reason(
        "Proxy-Uri needs the proxy-uri feature",
    )))
}

#[cfg(feature = "proxy-uri")]
fn write_decoded(
    enc: &mut OptionEncoder,
    w: &mut Cursor<'_>,
    n: OptionNumber,
    raw: &[u8],
) -> Result<(), Error> {
    enc.write_header(w, n, crate::proxy_uri::decoded_len(raw)?)?;
    crate::proxy_uri::decode_each(raw, |b| w.put_byte(b));
    Ok(())
}

fn counted(f: impl FnOnce(&mut Cursor<'_>) -> Result<(), Error>) -> Result<usize, Error> {
    let mut empty: [u8; 0] = [];
    let mut w = Cursor::new(&mut empty);
    f(&mut w)?;
    Ok(w.position())
}

impl<S: SequenceStore> SecurityContext<S> {
    /// Protects a CoAP request (RFC 8613 §8.1) into `out`; returns the length of the OSCORE
    /// message and the binding to verify its responses with.
    ///
    /// The Sender Sequence Number is taken (and persisted, Appendix B.1.1) only when
    /// everything else succeeded.
    /// # Example
    /// RFC 8613 Appendix C.4: `GET coap://localhost/tv1` protected with the client context of
    /// C.1.1 at Sender Sequence Number 20, byte for byte.
    /// ```
    /// # use mote_oscore::{Error, Framing, SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// # let mut p = SecurityContextParams::new(&secret, &[0x01], &[]);
    /// # p.master_salt = &salt;
    /// # let mut server = SecurityContext::new(&p)?; // RFC 8613 C.1.2
    /// client.set_sender_sequence_number(20)?;
    /// let request = b"\x44\x01\x5d\x1f\x00\x00\x39\x74\x39localhost\x83tv1";
    /// let mut out = [0u8; 64];
    /// let (n, binding) = client.protect_request(Framing::Udp, request, &mut out)?;
    /// assert_eq!(&out[..n], b"\x44\x02\x5d\x1f\x00\x00\x39\x74\x39localhost\x62\x09\x14\xff\x61\x2f\x10\x92\xf1\x77\x6f\x1c\x16\x68\xb3\x82\x5e");
    /// assert_eq!(binding.request_piv(), [20]);
    /// assert_eq!(client.sender_sequence_number(), 21);
    /// // A buffer too short changes nothing, not even the sequence number.
    /// assert!(matches!(
    ///     client.protect_request(Framing::Udp, request, &mut [0u8; 8]),
    ///     Err(Error::BufferTooSmall { .. })
    /// ));
    /// assert_eq!(client.sender_sequence_number(), 21);
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn protect_request(
        &mut self,
        framing: Framing,
        request: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, RequestBinding), Error> {
        let parts = decode(framing, request)?;
        if !parts.code().is_request() {
            return Err(Error::InvalidParameter(crate::error::reason(
                "not a request code",
            )));
        }
        let mut proxy = None;
        let mut observe = false;
        let mut has_observe = false;
        let mut has_uri = false;
        // Only these options need a look here (the Uri-* ones only together with Proxy-Uri).
        const SPECIAL: OptionSet = OptionSet::EMPTY
            .with(OptionNumber::OSCORE)
            .with(OptionNumber::PROXY_URI)
            .with(OptionNumber::OBSERVE);
        let options = parts
            .option_set()
            .intersects(SPECIAL)
            .then(|| parts.options());
        for opt in options.into_iter().flatten() {
            let (n, v) = (opt.number, opt.value);
            match n {
                OptionNumber::OSCORE => return Err(Error::NestedOscore),
                OptionNumber::PROXY_URI => {
                    if proxy.is_some() {
                        return Err(Error::Malformed(crate::error::reason("repeated Proxy-Uri")));
                    }
                    proxy = Some(parse_proxy_uri(v)?);
                }
                OptionNumber::URI_HOST
                | OptionNumber::URI_PORT
                | OptionNumber::URI_PATH
                | OptionNumber::URI_QUERY => {
                    has_uri = true;
                }
                // RFC 7641 §2: 0 registers, 1 deregisters.
                OptionNumber::OBSERVE => {
                    has_observe = true;
                    observe = coap_option::decode_uint(v) == Some(0);
                }
                _ => {}
            }
        }
        if proxy.is_some() && has_uri {
            // RFC 7252 §5.10.2: Uri-* options MUST NOT be included with Proxy-Uri.
            return Err(Error::Malformed(crate::error::reason(
                "Proxy-Uri together with Uri-* options",
            )));
        }
        let seq = self.peek_sequence_number()?;
        let (piv_bytes, piv_len) = encode_partial_iv(seq);
        let piv = piv_bytes.get(..piv_len).unwrap_or_default();
        let kid = self.sender.id;
        let id_context = self.id_context.as_ref().filter(|_| self.send_kid_context);
        let option = OscoreOption {
            partial_iv: Some(piv),
            kid_context: id_context.map(ShortBytes::as_slice),
            kid: Some(kid.as_slice()),
        };
        let source = PlaintextSource {
            parts: &parts,
            proxy,
            is_request: true,
            fast: FAST_PATHS,
        };
        // §4.1.3.5: FETCH for Observe, POST otherwise.
        let outer_code = if has_observe { Code::FETCH } else { Code::POST };
        let aad = Aad::new(self.aead, kid.as_slice(), piv)?;
        let (nonce_bytes, n) = self.sender_nonce.nonce(seq)?;
        let nonce = nonce_bytes.get(..n).unwrap_or_default();
        let len = self.seal(&source, outer_code, &option, nonce, &aad, out)?;
        // Everything succeeded: now take (and persist) the sequence number.
        let taken = self.take_sequence_number()?;
        debug_assert_eq!(taken, seq);
        let binding = RequestBinding {
            kid,
            piv: ShortBytes::from_array(piv_bytes, piv_len),
            observe,
            request_nonce_used: false,
            must_use_own_piv: false,
            notifications: NotificationNumber::default(),
        };
        Ok((len, binding))
    }

    /// Protects a response to the request of `binding` (RFC 8613 §8.3).
    ///
    /// With `own_partial_iv = false` the response reuses the request's nonce and carries no
    /// Partial IV (§5.2); that is allowed once per request. Later responses (Observe
    /// notifications, §8.3.1) and responses to requests whose freshness could not be checked
    /// (Appendix B.1.2) always get their own Partial IV, whatever `own_partial_iv` says.
    /// # Example
    /// RFC 8613 Appendix C.7: the 2.05 response to C.4's request, reusing the request's nonce.
    /// ```
    /// # use mote_oscore::{Error, Framing, SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// # let mut p = SecurityContextParams::new(&secret, &[0x01], &[]);
    /// # p.master_salt = &salt;
    /// # let mut server = SecurityContext::new(&p)?; // RFC 8613 C.1.2
    /// # client.set_sender_sequence_number(20)?;
    /// # let mut wire = [0u8; 64];
    /// # let (n, _) = client.protect_request(Framing::Udp, b"\x44\x01\x5d\x1f\x00\x00\x39\x74\x39localhost\x83tv1", &mut wire)?;
    /// # let mut plain = [0u8; 128];
    /// let mut binding = server.unprotect_request(Framing::Udp, &wire[..n], &mut plain)?.binding;
    /// let response = b"\x64\x45\x5d\x1f\x00\x00\x39\x74\xffHello World!";
    /// let mut out = [0u8; 64];
    /// let n = server.protect_response(Framing::Udp, &mut binding, response, false, &mut out)?;
    /// assert_eq!(&out[..n], b"\x64\x44\x5d\x1f\x00\x00\x39\x74\x90\xff\xdb\xaa\xd1\xe9\xa7\xe7\xb2\xa8\x13\xd3\xc3\x15\x24\x37\x83\x03\xcd\xaf\xae\x11\x91\x06");
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn protect_response(
        &mut self,
        framing: Framing,
        binding: &mut RequestBinding,
        response: &[u8],
        own_partial_iv: bool,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        self.protect_response_inner(framing, binding, response, own_partial_iv, None, out)
    }

    /// Protects a response that carries 'kid context' (RFC 8613 §5: "SHOULD NOT be present
    /// in responses" except as in Appendix B.2, where response #1 carries R2). The response
    /// gets its own Partial IV.
    /// # Example
    /// Response #1 of Appendix B.2: a 4.01 protected under R2 || R1 that tells the client R2.
    /// ```
    /// use mote_oscore::peek_oscore_option;
    /// use mote_oscore::rederive::concat_id_context;
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
    /// let (mut wire, mut plain) = ([0u8; 96], [0u8; 96]);
    /// let (n, _) = client.rederive(&r1)?.protect_request(Framing::Udp, b"\x41\x01\x00\x01\x42\xb4temp", &mut wire)?;
    /// let mut binding = server.rederive(&r1)?.unprotect_request(Framing::Udp, &wire[..n], &mut plain)?.binding;
    /// let mut second = server.rederive(concat_id_context(&r2, &r1)?.as_slice())?;
    /// let n = second.protect_response_with_kid_context(Framing::Udp, &mut binding, b"\x61\x81\x00\x01\x42", &r2, &mut wire)?;
    /// let option = peek_oscore_option(Framing::Udp, &wire[..n])?;
    /// assert_eq!(option.kid_context, Some(&r2[..]));
    /// // Its own Partial IV: sequence number 0 of the fresh second context.
    /// assert_eq!(option.partial_iv, Some(&[0x00][..]));
    /// assert_eq!(second.sender_sequence_number(), 1);
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn protect_response_with_kid_context(
        &mut self,
        framing: Framing,
        binding: &mut RequestBinding,
        response: &[u8],
        kid_context: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        self.protect_response_inner(framing, binding, response, true, Some(kid_context), out)
    }

    fn protect_response_inner(
        &mut self,
        framing: Framing,
        binding: &mut RequestBinding,
        response: &[u8],
        own_partial_iv: bool,
        kid_context: Option<&[u8]>,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let parts = decode(framing, response)?;
        if parts.code().class() < 2 {
            return Err(Error::InvalidParameter(crate::error::reason(
                "not a response code",
            )));
        }
        let own = own_partial_iv || binding.request_nonce_used || binding.must_use_own_piv;
        let has_observe = parts.option_set().may_contain(OptionNumber::OBSERVE);
        let source = PlaintextSource {
            parts: &parts,
            proxy: None,
            is_request: false,
            fast: FAST_PATHS,
        };
        // §4.1.3.5: 2.05 for notifications, 2.04 otherwise.
        let outer_code = if has_observe {
            Code::CONTENT
        } else {
            Code::CHANGED
        };
        let aad = Aad::new(self.aead, binding.kid.as_slice(), binding.piv.as_slice())?;
        // Its own Partial IV and nonce, or the request's nonce and no Partial IV (§5.2); one
        // `seal` call for both.
        let piv_bytes;
        let (option, (nb, n)) = if own {
            let seq = self.peek_sequence_number()?;
            let (piv, piv_len) = encode_partial_iv(seq);
            piv_bytes = piv;
            let option = OscoreOption {
                partial_iv: Some(piv_bytes.get(..piv_len).unwrap_or_default()),
                kid_context,
                kid: None,
            };
            (option, self.sender_nonce.nonce(seq)?)
        } else {
            let nonce = self.request_nonce(binding.kid.as_slice(), binding.piv.as_slice())?;
            (OscoreOption::default(), nonce)
        };
        let len = self.seal(
            &source,
            outer_code,
            &option,
            nb.get(..n).unwrap_or_default(),
            &aad,
            out,
        )?;
        if own {
            self.take_sequence_number()?;
        } else {
            binding.request_nonce_used = true;
        }
        Ok(len)
    }

    /// Builds the OSCORE message: outer header and options, then the plaintext encrypted in
    /// place as the payload (RFC 8613 §4, §5.3, §6).
    #[allow(clippy::too_many_arguments)]
    fn seal(
        &self,
        source: &PlaintextSource<'_, '_>,
        outer_code: Code,
        option: &OscoreOption<'_>,
        nonce: &[u8],
        aad: &Aad,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let framing = source.parts.framing();
        if FAST_PATHS
            && source.fast
            && framing == Framing::Udp
            && source.proxy().is_none()
            && !source
                .parts
                .option_set()
                .intersects(class::OUTER_CANDIDATES)
            && source.options_verbatim()
            && option.encoded_len() < 269
        {
            return self.seal_udp_verbatim(source.parts, outer_code, option, nonce, aad, out);
        }
        // UDP needs no length up front: write in one pass (the writer keeps counting past the
        // end of a short buffer, so the required size is still exact). TCP's header carries
        // the body length (RFC 8323 §3.2), measured by a first, counting pass.
        let body_len = match framing {
            Framing::Udp => 0,
            Framing::Tcp => {
                let options_len = counted(|w| source.write_outer_options(w, option))?;
                let plaintext_len = counted(|w| source.write(w))?;
                options_len + 1 + plaintext_len + self.aead.tag_len()
            }
        };
        let out_len = out.len();
        let mut w = Cursor::new(&mut *out);
        source
            .parts
            .header()
            .write(&mut w, outer_code, source.parts.token(), body_len)?;
        source.write_outer_options(&mut w, option)?;
        w.put_byte(0xff);
        let pt_start = w.position();
        source.write(&mut w)?;
        let plaintext_len = w.position() - pt_start;
        let total = w.position() + self.aead.tag_len();
        if total > out_len {
            return Err(Error::BufferTooSmall { required: total });
        }
        w.finish()?;
        let buf = out
            .get_mut(pt_start..total)
            .ok_or(Error::BufferTooSmall { required: total })?;
        self.sender_cipher()
            .seal_in_place(nonce, aad.as_bytes(), buf, plaintext_len)
            .map_err(|_| {
                Error::InvalidParameter(crate::error::reason("AEAD key or nonce length"))
            })?;
        Ok(total)
    }

    /// [`seal`](Self::seal) for the usual message: CoAP over UDP whose options are all
    /// Class E (copied verbatim into the plaintext) and no Proxy-Uri, so the OSCORE option is
    /// the only outer option. Every length is known up front: one bounds check for the whole
    /// message, then the parts are written in order (the same bytes as the general path).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn seal_udp_verbatim(
        &self,
        parts: &FramedMessage<'_>,
        outer_code: Code,
        option: &OscoreOption<'_>,
        nonce: &[u8],
        aad: &Aad,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        // The OSCORE option (number 9) is the first option: delta 9; its value is at most
        // 1 + 5 + 1 + 255 + 7 = 269 bytes, so its length takes at most one extension byte
        // (RFC 7252 §3.1) — or two for exactly 269, which `seal` leaves to the general path.
        let option_len = option.encoded_len();
        let (option_head, head_len) = match option_len {
            0..13 => ([0x90 | option_len as u8, 0], 1),
            13..269 => ([0x9d, (option_len - 13) as u8], 2),
            _ => {
                return Err(Error::InvalidParameter(crate::error::reason(
                    "OSCORE option value too long",
                )));
            }
        };
        let payload = parts.payload();
        let plaintext_len = 1 + parts.body_len();
        let header = parts.header();
        let pt_start = header.len(parts.token().len(), 0) + head_len + option_len + 1;
        let total = pt_start + plaintext_len + self.aead.tag_len();
        let buf = out
            .get_mut(..total)
            .ok_or(Error::BufferTooSmall { required: total })?;
        let mut w = Cursor::new(&mut *buf);
        header.write(&mut w, outer_code, parts.token(), 0)?;
        w.put(option_head.get(..head_len).unwrap_or_default());
        option.write_to(&mut w)?;
        w.put_byte(0xff);
        w.put_byte(parts.code().0);
        w.put(parts.option_bytes());
        if !payload.is_empty() {
            w.put_byte(0xff);
            w.put(payload);
        }
        if w.position() != pt_start + plaintext_len {
            return Err(Error::Malformed(crate::error::reason("plaintext length")));
        }
        w.finish()?;
        let sealed = buf
            .get_mut(pt_start..)
            .ok_or(Error::BufferTooSmall { required: total })?;
        self.sender_cipher()
            .seal_in_place(nonce, aad.as_bytes(), sealed, plaintext_len)
            .map_err(|_| {
                Error::InvalidParameter(crate::error::reason("AEAD key or nonce length"))
            })?;
        Ok(total)
    }

    /// Verifies and decrypts an OSCORE request (RFC 8613 §8.2) into `out`.
    ///
    /// Checks, in order: the OSCORE option decodes and has 'kid' and Partial IV (else
    /// [`Error::InvalidOscoreOption`]); 'kid' and 'kid context' match this context (else
    /// [`Error::ContextNotFound`]); the Partial IV passes the replay window
    /// ([`Error::Replay`]); the AEAD verifies ([`Error::DecryptionFailed`]). Only then is the
    /// replay window updated.
    ///
    /// After a reboot without window (Appendix B.1.2), a verified request whose inner Echo
    /// does not match the value given to
    /// [`issue_replay_echo`](SecurityContext::issue_replay_echo) yields
    /// [`Error::EchoRequired`]; the decrypted request is still in `out` and
    /// [`echo_binding`](Self::echo_binding) gives the binding to protect the 4.01 response
    /// with (it will carry its own Partial IV).
    /// # Example
    /// The server verifies the client's request; a second copy is a replay (§7.4).
    /// ```
    /// # use mote_oscore::{Error, Framing, SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// # let mut p = SecurityContextParams::new(&secret, &[0x01], &[]);
    /// # p.master_salt = &salt;
    /// # let mut server = SecurityContext::new(&p)?; // RFC 8613 C.1.2
    /// let request = b"\x44\x01\x5d\x1f\x00\x00\x39\x74\x39localhost\x83tv1";
    /// let mut wire = [0u8; 64];
    /// let (n, _binding) = client.protect_request(Framing::Udp, request, &mut wire)?;
    /// let mut plain = [0u8; 128];
    /// let verified = server.unprotect_request(Framing::Udp, &wire[..n], &mut plain)?;
    /// assert_eq!(&plain[..verified.len], request);
    /// assert_eq!(
    ///     server.unprotect_request(Framing::Udp, &wire[..n], &mut plain).unwrap_err(),
    ///     Error::Replay
    /// );
    /// // A tampered message does not verify (§8.2 step 6) and moves nothing.
    /// let (n, _binding) = client.protect_request(Framing::Udp, request, &mut wire)?;
    /// let mut tampered = wire;
    /// tampered[n - 1] ^= 1;
    /// assert!(server.unprotect_request(Framing::Udp, &tampered[..n], &mut plain).is_err());
    /// server.unprotect_request(Framing::Udp, &wire[..n], &mut plain)?;
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn unprotect_request(
        &mut self,
        framing: Framing,
        request: &[u8],
        out: &mut [u8],
    ) -> Result<VerifiedRequest, Error> {
        let OscoreParts { parts, option } = split_oscore(framing, request)?;
        if !parts.code().is_request() {
            return Err(Error::Malformed(crate::error::reason(
                "OSCORE request with a response code",
            )));
        }
        let kid = option
            .kid
            .ok_or(Error::InvalidOscoreOption(crate::error::reason(
                "request without kid",
            )))?;
        let piv = option
            .partial_iv
            .ok_or(Error::InvalidOscoreOption(crate::error::reason(
                "request without Partial IV",
            )))?;
        if kid != self.recipient.id.as_slice() {
            return Err(Error::ContextNotFound);
        }
        if let Some(ctx) = option.kid_context {
            if Some(ctx) != self.id_context.as_ref().map(ShortBytes::as_slice) {
                return Err(Error::ContextNotFound);
            }
        }
        let seq = decode_partial_iv(piv)?;
        if seq > MAX_SEQUENCE_NUMBER {
            return Err(Error::InvalidOscoreOption(crate::error::reason(
                "Partial IV above 2^40 - 1",
            )));
        }
        let window_ready = match self.recipient.window.check(seq) {
            Ok(()) => true,
            Err(Error::ReplayWindowUninitialized) => false,
            Err(e) => return Err(e),
        };
        let aad = Aad::new(self.aead, kid, piv)?;
        // 'kid' is our Recipient ID (checked above).
        let (nb, n) = self.recipient_nonce.nonce(seq)?;
        let decrypted = open(
            &self.recipient_cipher(),
            nb.get(..n).unwrap_or_default(),
            &aad,
            &parts,
            None,
            true,
            out,
        )?;
        let mut binding = RequestBinding {
            kid: Id::new(kid)?,
            piv: ShortBytes::new(piv)?,
            observe: decrypted.observe_value == Some(0),
            request_nonce_used: false,
            must_use_own_piv: false,
            notifications: NotificationNumber::default(),
        };
        if window_ready {
            self.recipient.window.accept(seq)?;
        } else {
            // Appendix B.1.2: the window is initialized by a request that echoes our value.
            let expected = self.recipient.echo_challenge;
            let echoed = match (expected, decrypted.echo) {
                (Some(e), Some(got)) => subtle::ConstantTimeEq::ct_eq(e.as_slice(), got).into(),
                _ => false,
            };
            if !echoed {
                binding.must_use_own_piv = true;
                self.pending_echo_binding = Some(binding);
                return Err(Error::EchoRequired);
            }
            self.recipient.window.initialize_at(seq)?;
            self.recipient.echo_challenge = None;
        }
        self.pending_echo_binding = None;
        Ok(VerifiedRequest {
            len: decrypted.len,
            binding,
        })
    }

    /// The nonce of the request with 'kid' `kid` and Partial IV `piv` (RFC 8613 §5.2), which
    /// a response without Partial IV reuses: from the precomputed base when `kid` is one of
    /// this context's IDs (always, unless the binding was made with [`RequestBinding::new`]).
    #[inline]
    fn request_nonce(
        &self,
        kid: &[u8],
        piv: &[u8],
    ) -> Result<([u8; crate::cose::MAX_NONCE_LEN], usize), Error> {
        if kid == self.recipient.id.as_slice() {
            self.recipient_nonce.nonce(decode_partial_iv(piv)?)
        } else if kid == self.sender.id.as_slice() {
            self.sender_nonce.nonce(decode_partial_iv(piv)?)
        } else {
            nonce(self.common_iv.as_slice(), kid, piv)
        }
    }

    /// The binding of the last request rejected with [`Error::EchoRequired`], to protect the
    /// 4.01 (Unauthorized) response carrying the Echo option (Appendix B.1.2). Taken once.
    /// # Example
    /// Appendix B.1.2 after a server reboot: the first request is answered with an Echo
    /// challenge under its own Partial IV; the request that echoes the value re-establishes the
    /// replay window.
    /// ```
    /// use mote_oscore::freshness::{add_echo, echo_challenge, echo_challenge_response};
    /// use mote_oscore::peek_oscore_option;
    /// use mote_oscore::sequence::MemoryStore;
    /// # use mote_oscore::{Error, Framing, SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// # let mut sp = SecurityContextParams::new(&secret, &[0x01], &[]);
    /// # sp.master_salt = &salt; // RFC 8613 C.1.2
    /// let mut server = SecurityContext::restore(&sp, MemoryStore::default(), 16, 32, true)?;
    /// let echo = [0x5c, 0x3a, 0x91, 0x07, 0x44, 0xe2, 0x18, 0xb6]; // from the random source
    /// server.issue_replay_echo(&echo)?;
    /// let get = b"\x41\x01\x00\x01\x42\xb4temp";
    /// let (mut wire, mut plain) = ([0u8; 96], [0u8; 96]);
    /// let (n, mut client_binding) = client.protect_request(Framing::Udp, get, &mut wire)?;
    /// assert_eq!(server.unprotect_request(Framing::Udp, &wire[..n], &mut plain), Err(Error::EchoRequired));
    /// let mut binding = server.echo_binding().ok_or("no binding")?;
    /// assert!(server.echo_binding().is_none()); // taken once
    /// let mut challenge = [0u8; 32];
    /// let c = echo_challenge_response(Framing::Udp, get, &echo, &mut challenge)?;
    /// // `own_partial_iv = false`, yet the request may be a replay: the 4.01 gets its own.
    /// let n = server.protect_response(Framing::Udp, &mut binding, &challenge[..c], false, &mut wire)?;
    /// assert!(peek_oscore_option(Framing::Udp, &wire[..n])?.partial_iv.is_some());
    /// // The client finds the Echo and retries; the server's window is back.
    /// let m = client.unprotect_response(Framing::Udp, &mut client_binding, &wire[..n], &mut plain)?;
    /// let got = echo_challenge(Framing::Udp, &plain[..m])?.ok_or("no Echo")?;
    /// let mut retry = [0u8; 64];
    /// let r = add_echo(Framing::Udp, get, got, &mut retry)?;
    /// let (n, _) = client.protect_request(Framing::Udp, &retry[..r], &mut wire)?;
    /// server.unprotect_request(Framing::Udp, &wire[..n], &mut plain)?;
    /// assert!(server.replay_window().is_initialized());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn echo_binding(&mut self) -> Option<RequestBinding> {
        self.pending_echo_binding.take()
    }

    /// Verifies and decrypts a response to the request of `binding` (RFC 8613 §8.4, §8.4.2)
    /// into `out`; returns the length of the decrypted response.
    ///
    /// A non-Observe request accepts one response; an Observe registration accepts
    /// notifications with increasing Partial IVs (§7.4.1). Anything else is
    /// [`Error::Replay`] or [`Error::UnexpectedResponse`], and `binding` is unchanged.
    /// # Example
    /// The client verifies the response to its request; the same response again is refused.
    /// ```
    /// # use mote_oscore::{Error, Framing, SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// # let mut p = SecurityContextParams::new(&secret, &[0x01], &[]);
    /// # p.master_salt = &salt;
    /// # let mut server = SecurityContext::new(&p)?; // RFC 8613 C.1.2
    /// let mut wire = [0u8; 64];
    /// let (n, mut binding) = client.protect_request(Framing::Udp, b"\x44\x01\x5d\x1f\x00\x00\x39\x74\x39localhost\x83tv1", &mut wire)?;
    /// # let mut plain = [0u8; 128];
    /// # let mut server_binding = server.unprotect_request(Framing::Udp, &wire[..n], &mut plain)?.binding;
    /// # let response = b"\x64\x45\x5d\x1f\x00\x00\x39\x74\xffHello World!";
    /// # let n = server.protect_response(Framing::Udp, &mut server_binding, response, false, &mut wire)?;
    /// let mut plain = [0u8; 128];
    /// let m = client.unprotect_response(Framing::Udp, &mut binding, &wire[..n], &mut plain)?;
    /// assert_eq!(&plain[..m], response);
    /// assert!(client.unprotect_response(Framing::Udp, &mut binding, &wire[..n], &mut plain).is_err());
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn unprotect_response(
        &mut self,
        framing: Framing,
        binding: &mut RequestBinding,
        response: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let OscoreParts { parts, option } = split_oscore(framing, response)?;
        if parts.code().class() < 2 {
            return Err(Error::Malformed(crate::error::reason(
                "OSCORE response with a request code",
            )));
        }
        if let Some(kid) = option.kid {
            if kid != self.recipient.id.as_slice() {
                return Err(Error::ContextNotFound);
            }
        }
        if let Some(ctx) = option.kid_context {
            // Appendix B.2: response #1 carries R2, the first part of our ID Context R2||ID1.
            let ours = self
                .id_context
                .as_ref()
                .map(ShortBytes::as_slice)
                .unwrap_or_default();
            if !ours.starts_with(ctx) {
                return Err(Error::ContextNotFound);
            }
        }
        let piv_seq = option.partial_iv.map(decode_partial_iv).transpose()?;
        let aad = Aad::new(self.aead, binding.kid.as_slice(), binding.piv.as_slice())?;
        let (nb, n) = match piv_seq {
            Some(seq) => self.recipient_nonce.nonce(seq)?,
            None => self.request_nonce(binding.kid.as_slice(), binding.piv.as_slice())?,
        };
        // Fail early (no decryption) on what is certainly a replay.
        if !binding.observe && binding.request_nonce_used {
            return Err(Error::Replay);
        }
        let decrypted = open(
            &self.recipient_cipher(),
            nb.get(..n).unwrap_or_default(),
            &aad,
            &parts,
            option.partial_iv,
            false,
            out,
        )?;
        if decrypted.observe_value.is_some() {
            // §8.4.2 / §4.1.3.5.2: a notification.
            if !binding.observe {
                return Err(Error::UnexpectedResponse(crate::error::reason(
                    "Observe in a response to a non-Observe request",
                )));
            }
            binding.notifications.accept(piv_seq)?;
        } else {
            // A single final response (§7.4: only one response is accepted).
            binding.request_nonce_used = true;
        }
        Ok(decrypted.len)
    }
}

/// The fast path of [`open`]: the ciphertext is decrypted at `header_len − 1` in `out`, so
/// that its first byte, the inner code, is the last byte of the header written over it
/// afterwards, and the options and payload are already in their final place.
#[allow(clippy::too_many_arguments)]
fn open_in_place<'o>(
    cipher: &MessageKey<'_>,
    nonce: &[u8],
    aad: &Aad,
    parts: &FramedMessage<'_>,
    is_request: bool,
    header_len: usize,
    out: &'o mut [u8],
) -> Result<Decrypted<'o>, Error> {
    let ct = parts.payload();
    let too_small = Error::BufferTooSmall {
        required: header_len - 1 + ct.len(),
    };
    let at = header_len.checked_sub(1).ok_or(too_small)?;
    let buf = out.get_mut(at..at + ct.len()).ok_or(too_small)?;
    buf.copy_from_slice(ct);
    let pt_len = cipher
        .open_in_place(nonce, aad.as_bytes(), buf)
        .map_err(|_| Error::DecryptionFailed)?;
    let code = Code(
        *buf.first()
            .ok_or(Error::Malformed(crate::error::reason("empty plaintext")))?,
    );
    let (header, rest) = out.split_at_mut(header_len);
    let rest: &'o [u8] = rest;
    let body = rest.get(..pt_len - 1).ok_or(too_small)?;
    // The plaintext is a CoAP message without header (§5.3): options, then payload.
    let inner = coap_option::split_body(body)?;
    check_inner_code(code, is_request)?;
    let (observe_value, echo) = inner_options(&inner)?;
    let mut w = Cursor::new(header);
    parts
        .header()
        .write(&mut w, code, parts.token(), pt_len - 1)?;
    let written = w.finish()?;
    if written != header_len {
        return Err(Error::Malformed(crate::error::reason("header length")));
    }
    Ok(Decrypted {
        len: header_len + pt_len - 1,
        observe_value,
        echo,
    })
}

/// The inner code must be of the kind of the message (RFC 8613 §5.3: the plaintext carries the
/// original code).
#[inline]
fn check_inner_code(code: Code, is_request: bool) -> Result<(), Error> {
    let code_ok = if is_request {
        code.is_request()
    } else {
        code.class() >= 2
    };
    if code_ok {
        Ok(())
    } else {
        Err(Error::Malformed(crate::error::reason(
            "inner code of the wrong kind",
        )))
    }
}

/// The inner options that matter to the receiver: the Observe value and the Echo option; the
/// OSCORE option must not be inside (RFC 8613 §4.1.3.7).
fn inner_options<'o>(inner: &Body<'o>) -> Result<(Option<u32>, Option<&'o [u8]>), Error> {
    const LOOK: OptionSet = OptionSet::EMPTY
        .with(OptionNumber::OSCORE)
        .with(OptionNumber::OBSERVE)
        .with(OptionNumber::ECHO);
    let mut observe_value = None;
    let mut echo = None;
    if inner.option_set.intersects(LOOK) {
        for opt in inner.options() {
            match opt.number {
                OptionNumber::OSCORE => {
                    return Err(Error::Malformed(crate::error::reason(
                        "OSCORE option inside the plaintext",
                    )));
                }
                OptionNumber::OBSERVE => {
                    observe_value = Some(coap_option::decode_uint(opt.value).unwrap_or(0));
                }
                OptionNumber::ECHO => echo = Some(opt.value),
                _ => {}
            }
        }
    }
    Ok((observe_value, echo))
}

struct Decrypted<'a> {
    len: usize,
    observe_value: Option<u32>,
    echo: Option<&'a [u8]>,
}

/// Decrypts the payload of `parts` and assembles the decrypted message into `out`:
/// outer header, Class U outer options merged with the inner options, inner code and
/// payload (RFC 8613 §8.2 steps 6–7, §8.4 steps 5–6).
#[allow(clippy::too_many_arguments)]
fn open<'o>(
    cipher: &MessageKey<'_>,
    nonce: &[u8],
    aad: &Aad,
    parts: &FramedMessage<'_>,
    response_piv: Option<&[u8]>,
    is_request: bool,
    out: &'o mut [u8],
) -> Result<Decrypted<'o>, Error> {
    let aead = cipher.algorithm();
    let ct = parts.payload();
    if ct.len() < aead.tag_len() + 1 {
        return Err(Error::InvalidOscoreOption(crate::error::reason(
            "ciphertext shorter than code and tag",
        )));
    }
    // Without received outer options to keep and without an Observe value to rewrite, the
    // decrypted message is the outer header followed by the plaintext after its code byte:
    // decrypt in place right there.
    if FAST_PATHS
        && !parts.option_set().intersects(class::KEPT_OUTER)
        && (is_request || response_piv.is_none())
    {
        let body_len = ct.len() - aead.tag_len() - 1;
        let header_len = parts.header().len(parts.token().len(), body_len);
        if out.len() >= header_len - 1 + ct.len() {
            return open_in_place(cipher, nonce, aad, parts, is_request, header_len, out);
        }
    }
    open_general(cipher, nonce, aad, parts, response_piv, is_request, out)
}

/// [`open`] without its fast path: decrypts in a scratch area at the end of `out`, then
/// writes the message at its start (any outer options, any Observe value).
#[allow(clippy::too_many_arguments)]
fn open_general<'o>(
    cipher: &MessageKey<'_>,
    nonce: &[u8],
    aad: &Aad,
    parts: &FramedMessage<'_>,
    response_piv: Option<&[u8]>,
    is_request: bool,
    out: &'o mut [u8],
) -> Result<Decrypted<'o>, Error> {
    let ct = parts.payload();
    let scratch_at = out
        .len()
        .checked_sub(ct.len())
        .ok_or(Error::BufferTooSmall {
            required: 2 * ct.len() + 64,
        })?;
    let (dest, scratch) = out.split_at_mut(scratch_at);
    scratch.copy_from_slice(ct);
    let pt_len = cipher
        .open_in_place(nonce, aad.as_bytes(), scratch)
        .map_err(|_| Error::DecryptionFailed)?;
    let scratch: &'o [u8] = scratch;
    let plaintext: &'o [u8] = scratch.get(..pt_len).unwrap_or_default();
    let (&code, rest) = plaintext
        .split_first()
        .ok_or(Error::Malformed(crate::error::reason("empty plaintext")))?;
    let code = Code(code);
    // The plaintext is a CoAP message without header (§5.3): options, then payload.
    let inner = coap_option::split_body(rest)?;
    check_inner_code(code, is_request)?;
    let (observe_value, echo_range) = inner_options(&inner)?;
    // The notification's Observe value: the 3 low bytes of the Partial IV (§4.1.3.5.2).
    let mut observe_buf = [0u8; 3];
    let observe_replacement: Option<&[u8]> = match (is_request, observe_value, response_piv) {
        (false, Some(_), Some(piv)) => {
            let v = decode_partial_iv(piv).unwrap_or(0) & 0xff_ffff;
            let (b, l) = encode_partial_iv(v);
            let l = if v == 0 { 0 } else { l.min(3) };
            observe_buf
                .get_mut(..l)
                .unwrap_or_default()
                .copy_from_slice(b.get(..l).unwrap_or_default());
            Some(observe_buf.get(..l).unwrap_or_default())
        }
        _ => None,
    };
    let write_options = |w: &mut Cursor<'_>| -> Result<(), Error> {
        let mut enc = OptionEncoder::new();
        let mut outer = parts
            .options()
            .filter(|o| class::keep_received_outer(o.number))
            .peekable();
        for opt in inner.options() {
            let (n, v) = (opt.number, opt.value);
            while let Some(o) = outer.peek() {
                if o.number > n {
                    break;
                }
                enc.write(w, o.number, o.value)?;
                outer.next();
            }
            match (n, observe_replacement) {
                (OptionNumber::OBSERVE, Some(r)) => enc.write(w, n, r)?,
                _ => enc.write(w, n, v)?,
            }
        }
        for o in outer {
            enc.write(w, o.number, o.value)?;
        }
        if !inner.payload.is_empty() {
            w.put_byte(0xff);
            w.put(inner.payload);
        }
        Ok(())
    };
    let body_len = match parts.framing() {
        Framing::Udp => 0,
        Framing::Tcp => counted(write_options)?,
    };
    let mut w = Cursor::new(dest);
    parts
        .header()
        .write(&mut w, code, parts.token(), body_len)?;
    write_options(&mut w)?;
    let len = w.finish().map_err(|e| match Error::from(e) {
        Error::BufferTooSmall { required } => Error::BufferTooSmall {
            required: required + ct.len(),
        },
        e => e,
    })?;
    Ok(Decrypted {
        len,
        observe_value,
        echo: echo_range,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::SecurityContextParams;

    const SECRET: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    const SALT: [u8; 8] = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    // RFC 8613 C.4: GET coap://localhost/tv1, protected at Sender Sequence Number 20.
    const C4_REQUEST: &[u8] = b"\x44\x01\x5d\x1f\x00\x00\x39\x74\x39localhost\x83tv1";
    const C4_PROTECTED: &[u8] = b"\x44\x02\x5d\x1f\x00\x00\x39\x74\x39localhost\x62\x09\x14\xff\x61\x2f\x10\x92\xf1\x77\x6f\x1c\x16\x68\xb3\x82\x5e";
    // RFC 8613 C.7: its 2.05 response, reusing the request's nonce.
    const C7_RESPONSE: &[u8] = b"\x64\x45\x5d\x1f\x00\x00\x39\x74\xffHello World!";
    const C7_PROTECTED: &[u8] = b"\x64\x44\x5d\x1f\x00\x00\x39\x74\x90\xff\xdb\xaa\xd1\xe9\xa7\xe7\xb2\xa8\x13\xd3\xc3\x15\x24\x37\x83\x03\xcd\xaf\xae\x11\x91\x06";

    /// RFC 8613 C.1.1 (client) and C.1.2 (server).
    fn contexts() -> (SecurityContext, SecurityContext) {
        let mut p = SecurityContextParams::new(&SECRET, &[], &[0x01]);
        p.master_salt = &SALT;
        let client = SecurityContext::new(&p).unwrap();
        let mut p = SecurityContextParams::new(&SECRET, &[0x01], &[]);
        p.master_salt = &SALT;
        (client, SecurityContext::new(&p).unwrap())
    }

    /// The general sealing path (the only one of a build without [`FAST_PATHS`]) gives
    /// RFC 8613 C.4's request and C.7's response byte for byte, as the fast path does.
    #[test]
    fn general_seal_gives_the_vectors() {
        let (client, server) = contexts();
        let mut out = [0u8; 64];
        let parts = Framing::Udp.decode(C4_REQUEST).unwrap();
        let source = PlaintextSource {
            parts: &parts,
            proxy: None,
            is_request: true,
            fast: false,
        };
        let option = OscoreOption {
            partial_iv: Some(&[20]),
            kid_context: None,
            kid: Some(&[]),
        };
        let aad = Aad::new(client.aead, &[], &[20]).unwrap();
        let (nb, n) = client.sender_nonce.nonce(20).unwrap();
        let len = client
            .seal(&source, Code::POST, &option, &nb[..n], &aad, &mut out)
            .unwrap();
        assert_eq!(&out[..len], C4_PROTECTED);

        let parts = Framing::Udp.decode(C7_RESPONSE).unwrap();
        let source = PlaintextSource {
            parts: &parts,
            proxy: None,
            is_request: false,
            fast: false,
        };
        let (nb, n) = server.request_nonce(&[], &[20]).unwrap();
        let option = OscoreOption::default();
        let len = server
            .seal(&source, Code::CHANGED, &option, &nb[..n], &aad, &mut out)
            .unwrap();
        assert_eq!(&out[..len], C7_PROTECTED);
    }

    /// The general opening path gives back C.4's request and C.7's response.
    #[test]
    fn general_open_gives_the_vectors() {
        let (client, server) = contexts();
        let aad = Aad::new(client.aead, &[], &[20]).unwrap();
        let mut out = [0u8; 128];

        let parts = Framing::Udp.decode(C4_PROTECTED).unwrap();
        let (nb, n) = server.recipient_nonce.nonce(20).unwrap();
        let d = open_general(
            &server.recipient_cipher(),
            &nb[..n],
            &aad,
            &parts,
            None,
            true,
            &mut out,
        )
        .unwrap();
        // The outer code and the OSCORE option are gone; the inner GET and Uri-Path are back.
        let len = d.len;
        assert_eq!(&out[..len], C4_REQUEST);

        let parts = Framing::Udp.decode(C7_PROTECTED).unwrap();
        let (nb, n) = client.request_nonce(&[], &[20]).unwrap();
        let d = open_general(
            &client.recipient_cipher(),
            &nb[..n],
            &aad,
            &parts,
            None,
            false,
            &mut out,
        )
        .unwrap();
        let len = d.len;
        assert_eq!(&out[..len], C7_RESPONSE);
    }
}
