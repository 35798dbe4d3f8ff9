//! Request freshness with the Echo option (RFC 9175 §2) on top of OSCORE (RFC 8613 §7.3):
//! a server policy that demands a fresh Echo for chosen requests, the server's record of
//! the Echo values it issued, and the client's retry with the echoed value.
//!
//! The Echo option is Class E (RFC 9175 §2.2.1): it travels inside the OSCORE plaintext, so
//! these helpers work on the decrypted (server) or not-yet-protected (client) messages.
//!
//! Server call order: [`unprotect_request`](crate::SecurityContext::unprotect_request) →
//! [`FreshnessPolicy::check`] → on [`Error::EchoRequired`], [`EchoIssuer::issue`] a value and
//! send [`echo_challenge_response`] protected with the request's binding.
//! Client: after [`unprotect_response`](crate::SecurityContext::unprotect_response), if
//! [`echo_challenge`] finds a 4.01 with Echo, rebuild the request with [`add_echo`] and
//! protect it again (new sequence number).

use crate::Error;
use crate::class::number;
use crate::context::ShortBytes;
use crate::wire::{self, Framing, OptionEncoder, Options, Writer};

/// Longest Echo value (RFC 9175 §2.2.1: 1 to 40 bytes).
pub const MAX_ECHO_LEN: usize = 40;

/// An Echo option value.
pub type EchoValue = ShortBytes<MAX_ECHO_LEN>;

/// Which requests need a fresh Echo before they may act (RFC 9175 §2.3, LwM2M E2E-6).
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

    /// Adds request code `code` (0.01–0.31) to the set that needs freshness.
    pub fn with_code(self, code: u8) -> Self {
        Self {
            codes: self.codes | (1u32 << (code & 0x1f)),
        }
    }

    /// Whether a request with `code` needs a fresh Echo.
    pub fn requires_fresh(&self, code: u8) -> bool {
        code >> 5 == 0 && self.codes & (1u32 << (code & 0x1f)) != 0
    }

    /// Checks a decrypted request: `Ok` if it needs no freshness or carries an Echo that
    /// `issuer` issued less than its maximum age ago (the value is then spent);
    /// [`Error::EchoRequired`] otherwise.
    pub fn check<const N: usize>(
        &self,
        framing: Framing,
        request: &[u8],
        issuer: &mut EchoIssuer<N>,
        now_ms: u64,
    ) -> Result<(), Error> {
        let parts = wire::parse(framing, request)?;
        if !self.requires_fresh(parts.code) {
            return Ok(());
        }
        let echo = find_option(parts.options, number::ECHO)?;
        match echo {
            Some(v) if issuer.verify(v, now_ms) => Ok(()),
            _ => Err(Error::EchoRequired),
        }
    }
}

fn find_option(options: &[u8], n: u16) -> Result<Option<&[u8]>, Error> {
    for opt in Options::new(options) {
        let (on, v) = opt?;
        if on == n {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// The Echo values a server issued, with their issue time (RFC 9175 §2.3, the
/// "time-based freshness" variant with state on the server). Sans-IO: randomness and the
/// clock come from the caller.
#[derive(Debug, Clone)]
pub struct EchoIssuer<const N: usize = 4> {
    issued: [Option<(EchoValue, u64)>; N],
    next: usize,
    max_age_ms: u64,
}

impl<const N: usize> EchoIssuer<N> {
    /// An issuer whose values are fresh for `max_age_ms` milliseconds.
    pub fn new(max_age_ms: u64) -> Self {
        Self {
            issued: [None; N],
            next: 0,
            max_age_ms,
        }
    }

    /// Records and returns a new Echo value made of `random` (8 bytes or more recommended,
    /// RFC 9175 §2.3).
    pub fn issue(&mut self, random: &[u8], now_ms: u64) -> Result<EchoValue, Error> {
        if random.is_empty() || random.len() > MAX_ECHO_LEN {
            return Err(Error::InvalidParameter("Echo value must be 1 to 40 bytes"));
        }
        let v = EchoValue::new(random)?;
        if let Some(slot) = self.issued.get_mut(self.next % N.max(1)) {
            *slot = Some((v, now_ms));
        }
        self.next = (self.next + 1) % N.max(1);
        Ok(v)
    }

    /// Whether `echo` was issued within the maximum age; a verified value is spent (one
    /// fresh request per value).
    pub fn verify(&mut self, echo: &[u8], now_ms: u64) -> bool {
        for slot in &mut self.issued {
            if let Some((v, at)) = slot {
                let fresh = now_ms.saturating_sub(*at) <= self.max_age_ms && now_ms >= *at;
                if fresh && subtle::ConstantTimeEq::ct_eq(v.as_slice(), echo).into() {
                    *slot = None;
                    return true;
                }
            }
        }
        false
    }
}

/// Builds the (unprotected) 4.01 (Unauthorized) response with an Echo option to `request`
/// (RFC 9175 §2.3): same Token; for UDP, an ACK with the request's Message ID if it was
/// CON, else a NON with the request's Message ID (the caller may renumber it).
pub fn echo_challenge_response(
    framing: Framing,
    request: &[u8],
    echo: &[u8],
    out: &mut [u8],
) -> Result<usize, Error> {
    let parts = wire::parse(framing, request)?;
    let [b0, m0, m1] = parts.udp_header;
    let t = (b0 >> 4) & 0x03;
    // CON (0) → ACK (2); NON (1) → NON.
    let ty = if t == 0 { 2 } else { 1 };
    let body_len = echo_option_len(echo.len());
    let mut w = Writer::new(out);
    wire::write_header(
        &mut w,
        framing,
        [0x40 | (ty << 4), m0, m1],
        0x81,
        parts.token,
        body_len,
    )?;
    OptionEncoder::default().write(&mut w, number::ECHO, echo)?;
    Ok(w.finish()?.0)
}

fn echo_option_len(len: usize) -> usize {
    // Echo (252) as first option: delta 252 → 1 extended byte; length up to 40.
    1 + 1 + usize::from(len >= 13) + len
}

/// The Echo value of a decrypted 4.01 (Unauthorized) response, if it is an Echo challenge
/// (RFC 9175 §2.4).
pub fn echo_challenge(framing: Framing, response: &[u8]) -> Result<Option<&[u8]>, Error> {
    let parts = wire::parse(framing, response)?;
    if parts.code != 0x81 {
        return Ok(None);
    }
    find_option(parts.options, number::ECHO)
}

/// Copies `request` into `out` with its Echo option set to `echo` (replacing any previous
/// Echo), ready to be protected again (RFC 9175 §2.3: the client retries with the value).
pub fn add_echo(
    framing: Framing,
    request: &[u8],
    echo: &[u8],
    out: &mut [u8],
) -> Result<usize, Error> {
    let parts = wire::parse(framing, request)?;
    let write_body = |w: &mut Writer<'_>| -> Result<(), Error> {
        let mut enc = OptionEncoder::default();
        let mut done = false;
        for opt in parts.options() {
            let (n, v) = opt?;
            if !done && n > number::ECHO {
                enc.write(w, number::ECHO, echo)?;
                done = true;
            }
            if n != number::ECHO {
                enc.write(w, n, v)?;
            }
        }
        if !done {
            enc.write(w, number::ECHO, echo)?;
        }
        if !parts.payload.is_empty() {
            w.byte(0xff);
            w.put(parts.payload);
        }
        Ok(())
    };
    let mut empty: [u8; 0] = [];
    let mut counter = Writer::new(&mut empty);
    write_body(&mut counter)?;
    let body_len = counter.pos;
    let mut w = Writer::new(out);
    wire::write_header(
        &mut w,
        framing,
        parts.udp_header,
        parts.code,
        parts.token,
        body_len,
    )?;
    write_body(&mut w)?;
    Ok(w.finish()?.0)
}
