//! Request freshness with the Echo option (RFC 9175 §2) on top of OSCORE (RFC 8613 §7.3):
//! a server policy that demands a fresh Echo for chosen requests, and the Echo option in the
//! decrypted messages (the server's 4.01 challenge, the client's retry with the echoed value).
//!
//! The Echo values themselves are mote-coap's ([`mote_coap::echo`]): the server issues and
//! verifies them with an [`EchoCache`] (RFC 9175 Appendix A method 1) — or
//! [`TimestampEcho`](mote_coap::echo::TimestampEcho) / [`counter_value`](mote_coap::echo::counter_value)
//! through [`FreshnessPolicy::check_with`]. What is OSCORE's own is the recovery of a lost
//! replay window with Echo (RFC 8613 Appendix B.1.2), which lives in
//! [`SecurityContext::issue_replay_echo`](crate::SecurityContext::issue_replay_echo) and
//! [`unprotect_request`](crate::SecurityContext::unprotect_request).
//!
//! The Echo option is Class E (RFC 9175 §2.3, [`OptionNumber::oscore_class`]): it travels
//! inside the OSCORE plaintext, so these helpers work on the decrypted (server) or
//! not-yet-protected (client) messages.
//!
//! Server call order: [`unprotect_request`](crate::SecurityContext::unprotect_request) →
//! [`FreshnessPolicy::check`] → on [`Error::EchoRequired`], [`EchoCache::issue`] a value and
//! send [`echo_challenge_response`] protected with the request's binding.
//! Client: after [`unprotect_response`](crate::SecurityContext::unprotect_response), if
//! [`echo_challenge`] finds a 4.01 with Echo, rebuild the request with [`add_echo`] and
//! protect it again (new sequence number).

use core::time::Duration;

use mote_coap::code::{Code, MessageType};
use mote_coap::framing::{Cursor, Framing, Header};
use mote_coap::option::{OptionEncoder, OptionNumber};

pub use mote_coap::echo::{EchoBuf, EchoCache, MAX_ECHO_LEN};

use crate::Error;

/// Which requests need a fresh Echo before they may act (RFC 9175 §2.3, LwM2M E2E-6).
/// # Example
/// The Echo round trip of RFC 9175 §2.3 on decrypted messages: the server refuses a PUT
/// without a fresh Echo with a 4.01 challenge, the client retries with the value.
/// ```
/// use mote_coap::code::Code;
/// use mote_oscore::Framing;
/// use mote_oscore::freshness::{add_echo, echo_challenge, echo_challenge_response, FreshnessPolicy};
///
/// let policy = FreshnessPolicy::UNSAFE_METHODS;
/// assert!(policy.requires_fresh(Code::PUT) && !policy.requires_fresh(Code::GET));
/// let issued = [0x5a; 8]; // the value the server handed out (keep it in an EchoCache)
/// let fresh = |echo: &[u8]| echo == issued;
///
/// // CON PUT /led "on", Message ID 7, token 0x42: refused without Echo.
/// let put = b"\x41\x03\x00\x07\x42\xb3led\xffon";
/// assert_eq!(policy.check_with(Framing::Udp, put, fresh), Err(mote_oscore::Error::EchoRequired));
/// let mut challenge = [0u8; 32];
/// let n = echo_challenge_response(Framing::Udp, put, &issued, &mut challenge)?;
/// // ACK 4.01, same Message ID and token, Echo (option 252: delta 13 + 239, length 8).
/// assert_eq!(&challenge[..n], b"\x61\x81\x00\x07\x42\xd8\xef\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a");
///
/// // The client reads the challenge and retries with the Echo value: accepted.
/// let echo = echo_challenge(Framing::Udp, &challenge[..n])?.ok_or("no Echo")?;
/// let mut retry = [0u8; 64];
/// let m = add_echo(Framing::Udp, put, echo, &mut retry)?;
/// policy.check_with(Framing::Udp, &retry[..m], fresh)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreshnessPolicy {
    /// Bit `c` set: requests with code 0.`c` need freshness.
    codes: u32,
}

impl FreshnessPolicy {
    /// Nothing needs freshness.
    pub const NONE: Self = Self { codes: 0 };
    /// The unsafe methods: POST, PUT, DELETE, PATCH, iPATCH — in LwM2M, Write, Execute,
    /// Create and Delete (actuation).
    pub const UNSAFE_METHODS: Self = Self {
        codes: (1 << 2) | (1 << 3) | (1 << 4) | (1 << 6) | (1 << 7),
    };

    /// Adds request code `code` (0.01–0.31) to the set that needs freshness; other codes are
    /// ignored.
    ///
    /// ```
    /// use mote_coap::code::Code;
    /// use mote_oscore::freshness::FreshnessPolicy;
    /// // FETCH (0.05) is a safe method, but this application wants it fresh too.
    /// let policy = FreshnessPolicy::NONE.with_code(Code::FETCH);
    /// assert!(policy.requires_fresh(Code::FETCH));
    /// assert!(!policy.requires_fresh(Code::GET));
    /// // 2.05 is a response code, not a request code: nothing changes.
    /// assert_eq!(FreshnessPolicy::NONE.with_code(Code::CONTENT), FreshnessPolicy::NONE);
    /// ```
    #[must_use]
    pub fn with_code(self, code: Code) -> Self {
        if !code.is_request() {
            return self;
        }
        Self {
            codes: self.codes | (1u32 << code.detail()),
        }
    }

    /// Whether a request with `code` needs a fresh Echo.
    ///
    /// ```
    /// use mote_coap::code::Code;
    /// use mote_oscore::freshness::FreshnessPolicy;
    /// let policy = FreshnessPolicy::UNSAFE_METHODS;
    /// for code in [Code::POST, Code::PUT, Code::DELETE, Code::PATCH, Code::IPATCH] {
    ///     assert!(policy.requires_fresh(code));
    /// }
    /// assert!(!policy.requires_fresh(Code::GET) && !policy.requires_fresh(Code::FETCH));
    /// // 2.04 has the detail of DELETE (0.04) but is no request.
    /// assert!(!policy.requires_fresh(Code::CHANGED));
    /// assert!(!FreshnessPolicy::NONE.requires_fresh(Code::PUT));
    /// ```
    pub fn requires_fresh(&self, code: Code) -> bool {
        code.is_request() && self.codes & (1u32 << code.detail()) != 0
    }

    /// Checks a decrypted request: `Ok` if it needs no freshness or carries an Echo that
    /// `cache` issued less than `window` before `now` (RFC 9175 §2.3); the value is then
    /// spent (one fresh request per value). [`Error::EchoRequired`] otherwise.
    ///
    /// ```
    /// use core::time::Duration;
    /// use mote_oscore::{Error, Framing};
    /// use mote_oscore::freshness::{add_echo, EchoCache, FreshnessPolicy};
    ///
    /// let policy = FreshnessPolicy::UNSAFE_METHODS;
    /// let mut cache: EchoCache<4> = EchoCache::new();
    /// let (t0, window) = (Duration::from_secs(100), Duration::from_secs(10));
    /// // CON PUT /led "on", Message ID 7, token 0x42.
    /// let put = b"\x41\x03\x00\x07\x42\xb3led\xffon";
    /// assert_eq!(policy.check(Framing::Udp, put, &mut cache, t0, window), Err(Error::EchoRequired));
    ///
    /// // The value issued at t0 (8 random bytes from the caller's source) comes back 5 s later.
    /// let echo = cache.issue(&[0x5a; 8], t0)?;
    /// let mut retry = [0u8; 64];
    /// let n = add_echo(Framing::Udp, put, echo.as_bytes(), &mut retry)?;
    /// policy.check(Framing::Udp, &retry[..n], &mut cache, t0 + Duration::from_secs(5), window)?;
    /// // Spent: the same value does not vouch for a second request.
    /// let later = t0 + Duration::from_secs(6);
    /// assert_eq!(policy.check(Framing::Udp, &retry[..n], &mut cache, later, window), Err(Error::EchoRequired));
    ///
    /// // A value presented at the end of the window is stale (RFC 9175 §2.3: age < window).
    /// let echo = cache.issue(&[0x6b; 8], t0)?;
    /// let n = add_echo(Framing::Udp, put, echo.as_bytes(), &mut retry)?;
    /// let stale = t0 + window;
    /// assert_eq!(policy.check(Framing::Udp, &retry[..n], &mut cache, stale, window), Err(Error::EchoRequired));
    /// // A GET needs no Echo at all.
    /// policy.check(Framing::Udp, b"\x41\x01\x00\x08\x42", &mut cache, t0, window)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check<const N: usize>(
        &self,
        framing: Framing,
        request: &[u8],
        cache: &mut EchoCache<N>,
        now: Duration,
        window: Duration,
    ) -> Result<(), Error> {
        self.check_with(framing, request, |echo| {
            cache.spend(echo, now, window).is_ok()
        })
    }

    /// [`check`](Self::check) with any verifier of Echo values (for instance a
    /// [`TimestampEcho`](mote_coap::echo::TimestampEcho) or an event counter,
    /// RFC 9175 Appendix A): `verify` is called with the request's Echo value only when the
    /// request needs freshness and carries one.
    ///
    /// ```
    /// use mote_coap::echo::{counter_matches, counter_value};
    /// use mote_oscore::{Error, Framing};
    /// use mote_oscore::freshness::{add_echo, FreshnessPolicy};
    ///
    /// // Event-based freshness (RFC 9175 Appendix A, method 3): the Echo value is a counter
    /// // the server bumps on each event (here: the door opened).
    /// let policy = FreshnessPolicy::UNSAFE_METHODS;
    /// let mut door_events = 7u64;
    /// let echo = counter_value(door_events);
    /// assert_eq!(echo.as_bytes(), [7]);
    /// let put = b"\x41\x03\x00\x07\x42\xb3led\xffon";
    /// let mut request = [0u8; 64];
    /// let n = add_echo(Framing::Udp, put, echo.as_bytes(), &mut request)?;
    /// policy.check_with(Framing::Udp, &request[..n], |e| counter_matches(e, door_events))?;
    /// door_events += 1; // the door opened: the old value no longer vouches
    /// assert_eq!(
    ///     policy.check_with(Framing::Udp, &request[..n], |e| counter_matches(e, door_events)),
    ///     Err(Error::EchoRequired)
    /// );
    /// // A GET is never checked: the verifier is not even called.
    /// policy.check_with(Framing::Udp, b"\x41\x01\x00\x08\x42", |_| false)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_with(
        &self,
        framing: Framing,
        request: &[u8],
        verify: impl FnOnce(&[u8]) -> bool,
    ) -> Result<(), Error> {
        let msg = framing.decode(request)?;
        if !self.requires_fresh(msg.code()) {
            return Ok(());
        }
        match msg.option(OptionNumber::ECHO) {
            Some(echo) if verify(echo.value) => Ok(()),
            _ => Err(Error::EchoRequired),
        }
    }
}

/// Builds the (unprotected) 4.01 (Unauthorized) response with an Echo option to `request`
/// (RFC 9175 §2.3): same Token; for UDP, an ACK with the request's Message ID if it was
/// CON, else a NON with the request's Message ID (the caller may renumber it).
///
/// ```
/// use mote_oscore::Framing;
/// use mote_oscore::freshness::echo_challenge_response;
/// let echo = [0x5a; 8];
/// let mut out = [0u8; 32];
/// // NON PUT /led, Message ID 9, token 0x42: answered with a NON 4.01, same Message ID.
/// let n = echo_challenge_response(Framing::Udp, b"\x51\x03\x00\x09\x42\xb3led\xffon", &echo, &mut out)?;
/// // Echo is option 252: delta 13 + 239 (0xef), length 8; no payload.
/// assert_eq!(&out[..n], b"\x51\x81\x00\x09\x42\xd8\xef\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a");
/// // Over TCP (RFC 8323 §3.2) there is no Message ID: Len 10 (the option), TKL 1.
/// let n = echo_challenge_response(Framing::Tcp, b"\x71\x03\x42\xb3led\xffon", &echo, &mut out)?;
/// assert_eq!(&out[..n], b"\xa1\x81\x42\xd8\xef\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a");
/// # Ok::<(), mote_oscore::Error>(())
/// ```
pub fn echo_challenge_response(
    framing: Framing,
    request: &[u8],
    echo: &[u8],
    out: &mut [u8],
) -> Result<usize, Error> {
    let msg = framing.decode(request)?;
    let header = match msg.header() {
        Header::Udp { mtype, message_id } => Header::Udp {
            mtype: if mtype == MessageType::Con {
                MessageType::Ack
            } else {
                MessageType::Non
            },
            message_id,
        },
        Header::Tcp => Header::Tcp,
    };
    let write_body = |w: &mut Cursor<'_>| OptionEncoder::new().write(w, OptionNumber::ECHO, echo);
    let body_len = counted(write_body)?;
    let mut w = Cursor::new(out);
    header.write(&mut w, Code::UNAUTHORIZED, msg.token(), body_len)?;
    write_body(&mut w)?;
    Ok(w.finish()?)
}

/// The length `write` would write.
fn counted<E>(write: impl FnOnce(&mut Cursor<'_>) -> Result<(), E>) -> Result<usize, E> {
    let mut empty: [u8; 0] = [];
    let mut w = Cursor::new(&mut empty);
    write(&mut w)?;
    Ok(w.position())
}

/// The Echo value of a decrypted 4.01 (Unauthorized) response, if it is an Echo challenge
/// (RFC 9175 §2.4).
///
/// ```
/// use mote_oscore::Framing;
/// use mote_oscore::freshness::echo_challenge;
/// // ACK 4.01, Message ID 7, token 0x42, Echo 0x5a x 8.
/// let challenge = b"\x61\x81\x00\x07\x42\xd8\xef\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a";
/// assert_eq!(echo_challenge(Framing::Udp, challenge)?, Some(&[0x5a; 8][..]));
/// // A 4.01 without Echo is a refusal, not a challenge.
/// assert_eq!(echo_challenge(Framing::Udp, b"\x61\x81\x00\x07\x42")?, None);
/// // Only a 4.01 is a challenge: a 2.05 carrying Echo is not.
/// let content = b"\x61\x45\x00\x07\x42\xd8\xef\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a";
/// assert_eq!(echo_challenge(Framing::Udp, content)?, None);
/// // Not a CoAP message at all.
/// assert!(echo_challenge(Framing::Udp, b"\x61").is_err());
/// # Ok::<(), mote_oscore::Error>(())
/// ```
pub fn echo_challenge(framing: Framing, response: &[u8]) -> Result<Option<&[u8]>, Error> {
    let msg = framing.decode(response)?;
    if msg.code() != Code::UNAUTHORIZED {
        return Ok(None);
    }
    Ok(msg.option(OptionNumber::ECHO).map(|o| o.value))
}

/// Copies `request` into `out` with its Echo option set to `echo` (replacing any previous
/// Echo), ready to be protected again (RFC 9175 §2.3: the client retries with the value).
///
/// ```
/// use mote_oscore::Framing;
/// use mote_oscore::freshness::add_echo;
/// // CON PUT, Uri-Path "led" (11), Request-Tag 0x07 (292: delta 281 = 269 + 12), "on".
/// let put = b"\x41\x03\x00\x07\x42\xb3led\xe1\x00\x0c\x07\xffon";
/// let mut out = [0u8; 64];
/// let n = add_echo(Framing::Udp, put, &[0x5a, 0x5a], &mut out)?;
/// // Echo (252) goes between them: delta 241 = 13 + 228 (0xe4); Request-Tag then has delta 40.
/// assert_eq!(&out[..n], b"\x41\x03\x00\x07\x42\xb3led\xd2\xe4\x5a\x5a\xd1\x1b\x07\xffon");
/// // A second call replaces the Echo value instead of adding another option.
/// let first = out;
/// let n = add_echo(Framing::Udp, &first[..n], &[0x01], &mut out)?;
/// assert_eq!(&out[..n], b"\x41\x03\x00\x07\x42\xb3led\xd1\xe4\x01\xd1\x1b\x07\xffon");
/// # Ok::<(), mote_oscore::Error>(())
/// ```
pub fn add_echo(
    framing: Framing,
    request: &[u8],
    echo: &[u8],
    out: &mut [u8],
) -> Result<usize, Error> {
    let msg = framing.decode(request)?;
    let write_body = |w: &mut Cursor<'_>| -> Result<(), Error> {
        let mut enc = OptionEncoder::new();
        let mut done = false;
        for opt in msg.options() {
            if !done && opt.number > OptionNumber::ECHO {
                enc.write(w, OptionNumber::ECHO, echo)?;
                done = true;
            }
            if opt.number != OptionNumber::ECHO {
                enc.write(w, opt.number, opt.value)?;
            }
        }
        if !done {
            enc.write(w, OptionNumber::ECHO, echo)?;
        }
        if !msg.payload().is_empty() {
            w.put_byte(0xff);
            w.put(msg.payload());
        }
        Ok(())
    };
    let body_len = counted(write_body)?;
    let mut w = Cursor::new(out);
    msg.header()
        .write(&mut w, msg.code(), msg.token(), body_len)?;
    write_body(&mut w)?;
    Ok(w.finish()?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// RFC 9175 §2.4 / RFC 8613 Appendix B.1.2: the unsafe methods (RFC 7252 §5.8, RFC 8132)
    /// need freshness; GET and FETCH do not, nor any other code.
    #[test]
    fn unsafe_methods_are_post_put_delete_patch_ipatch() {
        let p = FreshnessPolicy::UNSAFE_METHODS;
        for (code, fresh) in [
            (Code::GET, false),
            (Code::POST, true),
            (Code::PUT, true),
            (Code::DELETE, true),
            (Code::FETCH, false),
            (Code::PATCH, true),
            (Code::IPATCH, true),
        ] {
            assert_eq!(p.requires_fresh(code), fresh, "{code}");
        }
        for detail in 8..32u8 {
            assert!(!p.requires_fresh(Code(detail)), "0.{detail:02}");
        }
        assert!(!p.requires_fresh(Code::CHANGED));
    }

    #[test]
    fn with_code_adds_request_codes_only() {
        let p = FreshnessPolicy::NONE.with_code(Code::GET);
        assert!(p.requires_fresh(Code::GET));
        assert!(!p.requires_fresh(Code::POST));
        let q = p.with_code(Code::FETCH);
        assert!(q.requires_fresh(Code::GET) && q.requires_fresh(Code::FETCH));
        // Adding a code twice keeps it.
        assert!(q.with_code(Code::GET).requires_fresh(Code::GET));
        // 2.05 is no request code: ignored (its detail 5 would otherwise be FETCH's bit).
        assert_eq!(
            FreshnessPolicy::NONE.with_code(Code::CONTENT),
            FreshnessPolicy::NONE
        );
    }

    /// Over TCP the 4.01 carries its length in the header (RFC 8323 §3.2): Len 6 (the Echo
    /// option: delta 252 = 13 + 239, length 4, RFC 7252 §3.1), TKL 1, code 4.01, the token.
    #[test]
    fn echo_challenge_over_tcp_has_the_right_length() {
        let request = [0x01, 0x01, 0x42]; // Len 0, TKL 1, GET, token 0x42
        let mut out = [0u8; 32];
        let n = echo_challenge_response(Framing::Tcp, &request, &[1, 2, 3, 4], &mut out).unwrap();
        assert_eq!(
            &out[..n],
            [0x61, 0x81, 0x42, 0xd4, 0xef, 1, 2, 3, 4].as_slice()
        );
    }

    /// The Echo option goes in its place among the options (RFC 7252 §3.1: ascending
    /// numbers), replacing an earlier Echo: Uri-Path (11), Echo (252), No-Response (258).
    #[test]
    fn add_echo_keeps_the_option_order() {
        let mut out = [0u8; 64];
        // CON GET, MID 0x1234, token 0x42, Uri-Path "a", No-Response 2.
        let without = [0x41, 0x01, 0x12, 0x34, 0x42, 0xb1, b'a', 0xd1, 0xea, 0x02];
        // The same with Echo 0xff between them.
        let with = [
            0x41, 0x01, 0x12, 0x34, 0x42, 0xb1, b'a', 0xd1, 0xe4, 0xff, 0x61, 0x02,
        ];
        let expected = [
            0x41, 0x01, 0x12, 0x34, 0x42, 0xb1, b'a', 0xd2, 0xe4, 0xaa, 0xbb, 0x61, 0x02,
        ];
        for request in [without.as_slice(), with.as_slice()] {
            let n = add_echo(Framing::Udp, request, &[0xaa, 0xbb], &mut out).unwrap();
            assert_eq!(&out[..n], expected.as_slice(), "{request:02x?}");
        }
    }
}
