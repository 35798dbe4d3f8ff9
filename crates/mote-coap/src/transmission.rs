//! The CoAP message layer over UDP, sans-IO (RFC 7252 §4).
//!
//! * [`TransmissionParameters`]: ACK_TIMEOUT, ACK_RANDOM_FACTOR, MAX_RETRANSMIT, NSTART,
//!   DEFAULT_LEISURE, PROBING_RATE, MAX_LATENCY, PROCESSING_DELAY and the derived times of
//!   §4.8.2 (MAX_TRANSMIT_SPAN, MAX_TRANSMIT_WAIT, MAX_RTT, EXCHANGE_LIFETIME, NON_LIFETIME).
//! * [`Retransmission`]: the binary exponential back-off of a Confirmable message (§4.2), with
//!   the random draw injected ([`RandomSource`]) and `now` passed in.
//! * [`DeduplicationCache`]: recently received message IDs per endpoint over EXCHANGE_LIFETIME
//!   (NON_LIFETIME for Non-confirmable messages), bounded, storing the reply to resend for a
//!   duplicate Confirmable message (§4.5).
//! * [`MessageIdAllocator`] (§4.4) and [`OutstandingRequests`]: token matching of responses
//!   (§5.3.2: token and endpoint) and message-ID matching of Acknowledgements and Resets (§4.4).
//!
//! Times are [`Duration`]s since a fixed epoch of the caller's monotonic clock.
//!
//! ```
//! use core::time::Duration;
//! use mote_coap::transmission::{Retransmission, Timeout, TransmissionParameters};
//!
//! let params = TransmissionParameters::default();
//! assert_eq!(params.exchange_lifetime(), Duration::from_secs(247));
//! // Random draw 0 gives the shortest initial timeout, ACK_TIMEOUT itself.
//! let mut rt = Retransmission::start(&params, Duration::ZERO, 0);
//! assert_eq!(rt.deadline(), Duration::from_secs(2));
//! assert_eq!(rt.on_timeout(Duration::from_secs(2)), Timeout::Retransmit { next: Duration::from_secs(6) });
//! ```

#![deny(clippy::indexing_slicing)]

use core::time::Duration;

/// Errors of the message layer helpers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransmissionError {
    /// Transmission parameters that RFC 7252 §4.8.1 forbids or that overflow.
    #[error("invalid transmission parameters: {reason} (RFC 7252 §4.8.1)")]
    InvalidParameters {
        /// What is wrong.
        reason: &'static str,
    },
    /// A bounded table is full.
    #[error("the table of outstanding requests is full ({capacity} entries)")]
    Full {
        /// The capacity.
        capacity: usize,
    },
    /// A token already used by an outstanding request to the same endpoint (§5.3.1).
    #[error("token is already in use by an outstanding request to this endpoint (RFC 7252 §5.3.1)")]
    TokenInUse,
    /// A token longer than the table stores.
    #[error("token of {len} bytes exceeds the {max} bytes this table stores")]
    TokenTooLong {
        /// Token length.
        len: usize,
        /// Capacity per token.
        max: usize,
    },
}

/// The transmission parameters of RFC 7252 §4.8 (Table 2) and the network assumptions of
/// §4.8.2 (MAX_LATENCY, PROCESSING_DELAY).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransmissionParameters {
    ack_timeout: Duration,
    ack_random_factor: f64,
    max_retransmit: u8,
    nstart: u16,
    default_leisure: Duration,
    probing_rate: u32,
    max_latency: Duration,
    processing_delay: Duration,
}

impl Default for TransmissionParameters {
    /// The defaults of RFC 7252 Table 2; MAX_LATENCY 100 s and PROCESSING_DELAY = ACK_TIMEOUT
    /// (§4.8.2).
    fn default() -> Self {
        Self {
            ack_timeout: Duration::from_secs(2),
            ack_random_factor: 1.5,
            max_retransmit: 4,
            nstart: 1,
            default_leisure: Duration::from_secs(5),
            probing_rate: 1,
            max_latency: Duration::from_secs(100),
            processing_delay: Duration::from_secs(2),
        }
    }
}

impl TransmissionParameters {
    /// Parameters with the given ACK_TIMEOUT, ACK_RANDOM_FACTOR and MAX_RETRANSMIT and the
    /// other values at their defaults (PROCESSING_DELAY follows ACK_TIMEOUT, §4.8.2).
    ///
    /// The timers apply ACK_RANDOM_FACTOR in integer arithmetic, to 2^-27 (a relative
    /// 7.5 × 10^-9; 1.5 and every other dyadic factor exactly).
    ///
    /// # Errors
    /// [`TransmissionError::InvalidParameters`] when ACK_RANDOM_FACTOR is below 1.0 or not
    /// finite (§4.8.1: "MUST NOT be decreased below 1.0"), ACK_TIMEOUT is zero, MAX_RETRANSMIT
    /// exceeds 20, or the derived times overflow.
    pub fn new(
        ack_timeout: Duration,
        ack_random_factor: f64,
        max_retransmit: u8,
    ) -> Result<Self, TransmissionError> {
        let p = Self {
            ack_timeout,
            ack_random_factor,
            max_retransmit,
            processing_delay: ack_timeout,
            ..Self::default()
        };
        p.validate()?;
        Ok(p)
    }

    fn validate(&self) -> Result<(), TransmissionError> {
        let bad = |reason| Err(TransmissionError::InvalidParameters { reason });
        if !self.ack_random_factor.is_finite() || self.ack_random_factor < 1.0 {
            return bad("ACK_RANDOM_FACTOR must be at least 1.0");
        }
        if self.ack_random_factor > 16.0 {
            return bad("ACK_RANDOM_FACTOR above 16 is not supported");
        }
        if self.ack_timeout.is_zero() || self.ack_timeout > Duration::from_secs(3600) {
            return bad("ACK_TIMEOUT must be between 0 and 1 hour");
        }
        if self.max_retransmit > 20 {
            return bad("MAX_RETRANSMIT above 20 is not supported");
        }
        if self.max_latency > Duration::from_secs(86_400)
            || self.processing_delay > Duration::from_secs(86_400)
        {
            return bad("MAX_LATENCY and PROCESSING_DELAY must be at most one day");
        }
        if self.nstart == 0 {
            return bad("NSTART must be at least 1");
        }
        Ok(())
    }

    /// Sets NSTART (§4.7).
    ///
    /// # Errors
    /// [`TransmissionError::InvalidParameters`] for 0.
    pub fn with_nstart(mut self, nstart: u16) -> Result<Self, TransmissionError> {
        self.nstart = nstart;
        self.validate().map(|()| self)
    }

    /// Sets DEFAULT_LEISURE (§8.2).
    #[must_use]
    pub const fn with_default_leisure(mut self, leisure: Duration) -> Self {
        self.default_leisure = leisure;
        self
    }

    /// Sets PROBING_RATE in bytes per second (§4.7).
    #[must_use]
    pub const fn with_probing_rate(mut self, bytes_per_second: u32) -> Self {
        self.probing_rate = bytes_per_second;
        self
    }

    /// Sets MAX_LATENCY (§4.8.2).
    ///
    /// # Errors
    /// [`TransmissionError::InvalidParameters`] above one day.
    pub fn with_max_latency(mut self, max_latency: Duration) -> Result<Self, TransmissionError> {
        self.max_latency = max_latency;
        self.validate().map(|()| self)
    }

    /// Sets PROCESSING_DELAY (§4.8.2).
    ///
    /// # Errors
    /// [`TransmissionError::InvalidParameters`] above one day.
    pub fn with_processing_delay(mut self, delay: Duration) -> Result<Self, TransmissionError> {
        self.processing_delay = delay;
        self.validate().map(|()| self)
    }

    /// ACK_TIMEOUT.
    #[must_use]
    pub const fn ack_timeout(&self) -> Duration {
        self.ack_timeout
    }

    /// ACK_RANDOM_FACTOR.
    #[must_use]
    pub const fn ack_random_factor(&self) -> f64 {
        self.ack_random_factor
    }

    /// MAX_RETRANSMIT.
    #[must_use]
    pub const fn max_retransmit(&self) -> u8 {
        self.max_retransmit
    }

    /// NSTART.
    #[must_use]
    pub const fn nstart(&self) -> u16 {
        self.nstart
    }

    /// DEFAULT_LEISURE.
    #[must_use]
    pub const fn default_leisure(&self) -> Duration {
        self.default_leisure
    }

    /// PROBING_RATE in bytes per second.
    #[must_use]
    pub const fn probing_rate(&self) -> u32 {
        self.probing_rate
    }

    /// MAX_LATENCY.
    #[must_use]
    pub const fn max_latency(&self) -> Duration {
        self.max_latency
    }

    /// PROCESSING_DELAY.
    #[must_use]
    pub const fn processing_delay(&self) -> Duration {
        self.processing_delay
    }

    /// MAX_TRANSMIT_SPAN = ACK_TIMEOUT × (2^MAX_RETRANSMIT − 1) × ACK_RANDOM_FACTOR.
    #[must_use]
    pub fn max_transmit_span(&self) -> Duration {
        let factor = (1u32 << self.max_retransmit) - 1;
        scale(self.ack_timeout * factor, self.random_factor_fixed())
    }

    /// MAX_TRANSMIT_WAIT = ACK_TIMEOUT × (2^(MAX_RETRANSMIT + 1) − 1) × ACK_RANDOM_FACTOR.
    #[must_use]
    pub fn max_transmit_wait(&self) -> Duration {
        let factor = (1u32 << (self.max_retransmit + 1)) - 1;
        scale(self.ack_timeout * factor, self.random_factor_fixed())
    }

    /// MAX_RTT = 2 × MAX_LATENCY + PROCESSING_DELAY.
    #[must_use]
    pub fn max_rtt(&self) -> Duration {
        self.max_latency * 2 + self.processing_delay
    }

    /// EXCHANGE_LIFETIME = MAX_TRANSMIT_SPAN + 2 × MAX_LATENCY + PROCESSING_DELAY.
    #[must_use]
    pub fn exchange_lifetime(&self) -> Duration {
        self.max_transmit_span() + self.max_latency * 2 + self.processing_delay
    }

    /// NON_LIFETIME = MAX_TRANSMIT_SPAN + MAX_LATENCY.
    #[must_use]
    pub fn non_lifetime(&self) -> Duration {
        self.max_transmit_span() + self.max_latency
    }

    /// The initial retransmission timeout for a uniform random draw `random` over the whole
    /// `u32` range: between ACK_TIMEOUT and ACK_TIMEOUT × ACK_RANDOM_FACTOR (§4.2).
    #[must_use]
    pub fn initial_timeout(&self, random: u32) -> Duration {
        // 1 + (ACK_RANDOM_FACTOR − 1) × random / 2^32, in the same fixed point.
        let spread = self.random_factor_fixed() - ONE;
        scale(self.ack_timeout, ONE + ((spread * u64::from(random)) >> 32))
    }

    /// ACK_RANDOM_FACTOR in units of 2^-[`FRACTION_BITS`], read from the float's bits:
    /// the validated factor (1 to 16) is the significand shifted by its exponent, so no
    /// floating-point arithmetic is linked on a device without an FPU for doubles. Bits below
    /// 2^-27 (a relative 7.5 × 10^-9) are dropped; 1.5 and every dyadic factor stay exact.
    fn random_factor_fixed(&self) -> u64 {
        let bits = self.ack_random_factor.to_bits();
        let significand = (bits & ((1 << 52) - 1)) | (1 << 52);
        // The unbiased exponent is 0 to 4 for a factor of 1 to 16: a right shift of 21 to 25.
        let exponent = ((bits >> 52) & 0x7ff).clamp(1023, 1027) - 1023;
        significand >> (52 - u64::from(FRACTION_BITS) - exponent)
    }
}

/// Fraction bits of the fixed-point factors [`scale`] takes.
const FRACTION_BITS: u32 = 27;
/// 1.0 in that fixed point.
const ONE: u64 = 1 << FRACTION_BITS;

/// `d × factor` for a fixed-point `factor` (units of 2^-27, 1 to 16) over whole
/// nanoseconds, truncated: the arithmetic of `Duration::mul_f64` in integers, as a device
/// without an FPU for doubles would otherwise link soft-float multiply, add and conversions.
fn scale(d: Duration, factor: u64) -> Duration {
    let mask = ONE - 1;
    let fraction = factor & mask;
    // d × fraction / 2^27, truncated once: whole seconds from the seconds, and the seconds'
    // remainder with the nanoseconds (below 2 × 10^9 nanoseconds, so it fits a u32).
    let secs = d.as_secs().saturating_mul(fraction);
    let nanos =
        ((secs & mask) * 1_000_000_000 + u64::from(d.subsec_nanos()) * fraction) >> FRACTION_BITS;
    let mut scaled = Duration::new(
        secs >> FRACTION_BITS,
        u32::try_from(nanos).unwrap_or(u32::MAX),
    );
    // Plus d × the integer part (at most 16).
    for _ in 0..factor >> FRACTION_BITS {
        scaled = scaled.saturating_add(d);
    }
    scaled
}

/// A source of uniformly distributed random numbers, injected by the caller.
pub trait RandomSource {
    /// The next uniformly distributed value.
    fn next_u32(&mut self) -> u32;
}

impl<F: FnMut() -> u32> RandomSource for F {
    fn next_u32(&mut self) -> u32 {
        self()
    }
}

/// What to do when a retransmission timer fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// Nothing to send now; call again at this time.
    Wait(Duration),
    /// Retransmit the message now; the next deadline is `next`.
    Retransmit {
        /// The next deadline.
        next: Duration,
    },
    /// MAX_RETRANSMIT was reached: give up and inform the application of failure.
    GaveUp,
}

/// The retransmission state of one Confirmable message (RFC 7252 §4.2).
///
/// Call order: [`Retransmission::start`] when the message is first sent; at
/// [`Retransmission::deadline`] call [`Retransmission::on_timeout`] and act on the result;
/// drop the state when the ACK or RST arrives. Deadlines are computed from the nominal schedule,
/// so the transmissions stay within MAX_TRANSMIT_SPAN even when the caller wakes late; a late
/// caller misses opportunities rather than sending closer than ACK_TIMEOUT apart (§4.2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retransmission {
    started: Duration,
    last_sent: Duration,
    deadline: Duration,
    timeout: Duration,
    counter: u8,
    max_retransmit: u8,
    ack_timeout: Duration,
    span: Duration,
}

impl Retransmission {
    /// Starts the schedule for a message first sent at `now`; `random` is a uniform draw
    /// (see [`TransmissionParameters::initial_timeout`]).
    #[must_use]
    pub fn start(params: &TransmissionParameters, now: Duration, random: u32) -> Self {
        let timeout = params.initial_timeout(random);
        Self {
            started: now,
            last_sent: now,
            deadline: now + timeout,
            timeout,
            counter: 0,
            max_retransmit: params.max_retransmit(),
            ack_timeout: params.ack_timeout(),
            span: params.max_transmit_span(),
        }
    }

    /// [`Retransmission::start`] drawing from `rng`.
    #[must_use]
    pub fn start_with(
        params: &TransmissionParameters,
        now: Duration,
        rng: &mut impl RandomSource,
    ) -> Self {
        Self::start(params, now, rng.next_u32())
    }

    /// When the timer fires next.
    #[must_use]
    pub const fn deadline(&self) -> Duration {
        self.deadline
    }

    /// The retransmission counter.
    #[must_use]
    pub const fn retransmissions(&self) -> u8 {
        self.counter
    }

    /// Handles the timer at `now`.
    pub fn on_timeout(&mut self, now: Duration) -> Timeout {
        if now < self.deadline {
            return Timeout::Wait(self.deadline);
        }
        // A late caller may have missed several deadlines: each counts as an opportunity.
        loop {
            if self.counter >= self.max_retransmit {
                return Timeout::GaveUp;
            }
            self.counter += 1;
            self.timeout *= 2;
            let due = self.deadline;
            self.deadline = due + self.timeout;
            if now < self.deadline {
                break;
            }
        }
        let within_span = now.saturating_sub(self.started) <= self.span;
        let spaced = now.saturating_sub(self.last_sent) >= self.ack_timeout;
        if within_span && spaced {
            self.last_sent = now;
            Timeout::Retransmit {
                next: self.deadline,
            }
        } else {
            Timeout::Wait(self.deadline)
        }
    }
}

/// Allocates Message IDs from a single counter with a random start (§4.4 implementation note).
///
/// The caller must not send more than 65536 messages to one endpoint within
/// EXCHANGE_LIFETIME, or IDs would be reused while still active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageIdAllocator {
    next: u16,
}

impl MessageIdAllocator {
    /// Starts at `random_start` ("strongly recommended that the initial value ... be
    /// randomized").
    #[must_use]
    pub const fn new(random_start: u16) -> Self {
        Self { next: random_start }
    }

    /// The next Message ID.
    pub fn allocate(&mut self) -> u16 {
        let id = self.next;
        self.next = self.next.wrapping_add(1);
        id
    }
}

/// The result of a deduplication lookup.
#[derive(Debug, PartialEq, Eq)]
pub enum Deduplication<'c, R> {
    /// First reception: process the message (then store the reply with
    /// [`DeduplicationCache::set_reply`] for Confirmable messages).
    New,
    /// A duplicate: do not process it again. For a Confirmable message resend `reply` (the
    /// ACK or RST sent before) if present (§4.5: "acknowledge each duplicate copy ... using the
    /// same Acknowledgement or Reset message").
    Duplicate {
        /// The stored reply, if one was set.
        reply: Option<&'c R>,
    },
}

#[derive(Debug, Clone)]
struct Seen<E, R> {
    endpoint: E,
    message_id: u16,
    expires: Duration,
    reply: Option<R>,
}

/// Message deduplication (§4.5) over a bounded table of `N` entries: Confirmable messages are
/// remembered for EXCHANGE_LIFETIME, Non-confirmable ones for NON_LIFETIME. When full, the entry
/// closest to expiry is evicted (a table sized below the peak message rate × lifetime weakens
/// deduplication; size it accordingly).
///
/// `E` identifies the source endpoint (address, port and security association); `R` is the
/// stored reply (e.g. encoded bytes).
#[derive(Debug, Clone)]
pub struct DeduplicationCache<E, R, const N: usize> {
    entries: [Option<Seen<E, R>>; N],
    exchange_lifetime: Duration,
    non_lifetime: Duration,
}

impl<E: PartialEq, R, const N: usize> DeduplicationCache<E, R, N> {
    /// An empty cache using the lifetimes derived from `params`.
    #[must_use]
    pub fn new(params: &TransmissionParameters) -> Self {
        Self {
            entries: core::array::from_fn(|_| None),
            exchange_lifetime: params.exchange_lifetime(),
            non_lifetime: params.non_lifetime(),
        }
    }

    /// Looks up (and records, if new) a message with `message_id` from `endpoint` received
    /// at `now`.
    pub fn check(
        &mut self,
        endpoint: E,
        message_id: u16,
        confirmable: bool,
        now: Duration,
    ) -> Deduplication<'_, R> {
        let mut found = None;
        let mut free = None;
        let mut soonest: Option<(usize, Duration)> = None;
        for (i, slot) in self.entries.iter_mut().enumerate() {
            if slot.as_ref().is_some_and(|s| s.expires <= now) {
                *slot = None;
            }
            match slot {
                None => free = free.or(Some(i)),
                Some(s) => {
                    if s.endpoint == endpoint && s.message_id == message_id {
                        found = Some(i);
                    }
                    if soonest.is_none_or(|(_, e)| s.expires < e) {
                        soonest = Some((i, s.expires));
                    }
                }
            }
        }
        if let Some(i) = found {
            let reply = self
                .entries
                .get(i)
                .and_then(|s| s.as_ref())
                .and_then(|s| s.reply.as_ref());
            return Deduplication::Duplicate { reply };
        }
        let lifetime = if confirmable {
            self.exchange_lifetime
        } else {
            self.non_lifetime
        };
        if let Some(i) = free.or(soonest.map(|(i, _)| i)) {
            if let Some(slot) = self.entries.get_mut(i) {
                *slot = Some(Seen {
                    endpoint,
                    message_id,
                    expires: now + lifetime,
                    reply: None,
                });
            }
        }
        Deduplication::New
    }

    /// Stores the reply sent for a message, to resend on duplicates. Returns `false` if the
    /// message is not (or no longer) in the cache.
    pub fn set_reply(&mut self, endpoint: &E, message_id: u16, reply: R) -> bool {
        match self
            .entries
            .iter_mut()
            .flatten()
            .find(|s| &s.endpoint == endpoint && s.message_id == message_id)
        {
            Some(s) => {
                s.reply = Some(reply);
                true
            }
            None => false,
        }
    }

    /// Number of live entries (expired ones are purged on [`DeduplicationCache::check`]).
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.iter().flatten().count()
    }

    /// Whether no entry is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A handle to an entry of [`OutstandingRequests`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestHandle(usize);

#[derive(Debug, Clone)]
struct Pending<E, const T: usize> {
    endpoint: E,
    token: [u8; T],
    token_len: usize,
    message_id: u16,
    acknowledged: bool,
}

/// Outstanding requests awaiting their responses: up to `N` entries with tokens of up to `T`
/// bytes (8 for RFC 7252 tokens; larger for RFC 8974 extended tokens).
///
/// * [`OutstandingRequests::match_ack`]: an Acknowledgement or Reset matches on Message ID and
///   source endpoint (§4.4).
/// * [`OutstandingRequests::match_response`]: a response matches on token and endpoint
///   (§5.3.2), whether piggybacked or separate.
#[derive(Debug, Clone)]
pub struct OutstandingRequests<E, const N: usize, const T: usize = 8> {
    entries: [Option<Pending<E, T>>; N],
}

impl<E: PartialEq, const N: usize, const T: usize> Default for OutstandingRequests<E, N, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: PartialEq, const N: usize, const T: usize> OutstandingRequests<E, N, T> {
    /// An empty table.
    #[must_use]
    pub fn new() -> Self {
        Self {
            entries: core::array::from_fn(|_| None),
        }
    }

    /// Records a request sent to `endpoint` with `token` and `message_id`.
    ///
    /// # Errors
    /// [`TransmissionError::TokenTooLong`], [`TransmissionError::TokenInUse`] (tokens must be
    /// unique among outstanding requests to one endpoint, §5.3.1), [`TransmissionError::Full`].
    pub fn insert(
        &mut self,
        endpoint: E,
        token: &[u8],
        message_id: u16,
    ) -> Result<RequestHandle, TransmissionError> {
        if token.len() > T {
            return Err(TransmissionError::TokenTooLong {
                len: token.len(),
                max: T,
            });
        }
        if self
            .find(|p| p.endpoint == endpoint && p.token.get(..p.token_len) == Some(token))
            .is_some()
        {
            return Err(TransmissionError::TokenInUse);
        }
        let slot = self
            .entries
            .iter()
            .position(Option::is_none)
            .ok_or(TransmissionError::Full { capacity: N })?;
        let mut stored = [0u8; T];
        if let Some(dst) = stored.get_mut(..token.len()) {
            dst.copy_from_slice(token);
        }
        if let Some(entry) = self.entries.get_mut(slot) {
            *entry = Some(Pending {
                endpoint,
                token: stored,
                token_len: token.len(),
                message_id,
                acknowledged: false,
            });
        }
        Ok(RequestHandle(slot))
    }

    fn find(&self, pred: impl Fn(&Pending<E, T>) -> bool) -> Option<RequestHandle> {
        self.entries
            .iter()
            .position(|e| e.as_ref().is_some_and(&pred))
            .map(RequestHandle)
    }

    /// §4.4: the request an ACK or RST with `message_id` from `endpoint` refers to; marks it
    /// acknowledged (stop retransmitting).
    pub fn match_ack(&mut self, endpoint: &E, message_id: u16) -> Option<RequestHandle> {
        let h = self.find(|p| &p.endpoint == endpoint && p.message_id == message_id)?;
        if let Some(Some(p)) = self.entries.get_mut(h.0) {
            p.acknowledged = true;
        }
        Some(h)
    }

    /// §5.3.2: the request a response with `token` from `endpoint` answers.
    #[must_use]
    pub fn match_response(&self, endpoint: &E, token: &[u8]) -> Option<RequestHandle> {
        self.find(|p| &p.endpoint == endpoint && p.token.get(..p.token_len) == Some(token))
    }

    /// Whether the request was acknowledged (an empty ACK precedes a separate response).
    #[must_use]
    pub fn is_acknowledged(&self, handle: RequestHandle) -> bool {
        matches!(self.entries.get(handle.0), Some(Some(p)) if p.acknowledged)
    }

    /// Updates the Message ID after a new transmission of the request under a new ID.
    pub fn set_message_id(&mut self, handle: RequestHandle, message_id: u16) {
        if let Some(Some(p)) = self.entries.get_mut(handle.0) {
            p.message_id = message_id;
        }
    }

    /// Removes a completed or abandoned request, returning its endpoint.
    pub fn remove(&mut self, handle: RequestHandle) -> Option<E> {
        self.entries.get_mut(handle.0)?.take().map(|p| p.endpoint)
    }

    /// Number of outstanding requests.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.iter().flatten().count()
    }

    /// Whether no request is outstanding.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn parameters_are_validated() {
        assert!(TransmissionParameters::new(s(2), 0.99, 4).is_err());
        assert!(TransmissionParameters::new(s(2), f64::NAN, 4).is_err());
        assert!(TransmissionParameters::new(Duration::ZERO, 1.5, 4).is_err());
        assert!(TransmissionParameters::new(s(2), 1.0, 21).is_err());
        let p = TransmissionParameters::new(s(1), 1.0, 2).unwrap();
        assert_eq!(p.max_transmit_span(), s(3));
        assert_eq!(p.max_transmit_wait(), s(7));
        assert_eq!(p.processing_delay(), s(1));
        assert!(p.with_nstart(0).is_err());
    }

    /// The integer `scale` against the float arithmetic it replaces (nanoseconds as f64
    /// times the factor, truncated): equal for dyadic factors and spans the float holds
    /// exactly, within the fixed point's 2^-27 (plus the float's own rounding of long spans)
    /// for the others.
    #[test]
    fn integer_scale_matches_float_multiplication() {
        let spans = [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_nanos(999_999_999),
            s(2),
            Duration::new(45, 123_456_789),
            s(3600),
            // Below 2^64 ns (584 years) after × 16, where the float version saturated.
            Duration::new(1_000_000_000, 500_000_000),
        ];
        for factor in [1.0, 1.5, 1.25, 2.0, 16.0, 1.3, 3.7, 15.999_999] {
            let p = TransmissionParameters::new(s(2), factor, 4).unwrap();
            let fixed = p.random_factor_fixed();
            for d in spans {
                let ours = scale(d, fixed);
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let float = Duration::from_nanos(
                    ((d.as_secs() as f64 * 1e9 + f64::from(d.subsec_nanos())) * factor) as u64,
                );
                let diff = ours.abs_diff(float);
                let exact = [1.0, 1.5, 1.25, 2.0, 16.0].contains(&factor) && d <= s(3600);
                if exact {
                    assert_eq!(ours, float, "{d:?} × {factor}");
                } else {
                    assert!(
                        diff <= float.mul_f64(2e-8) + Duration::from_nanos(2),
                        "{d:?} × {factor}: {ours:?} vs {float:?}"
                    );
                }
            }
        }
        // The longest span the parameters allow (ACK_TIMEOUT 1 h, 2^21 − 1 intervals) times 16
        // neither overflows nor saturates.
        let longest = Duration::new(3600 * ((1 << 21) - 1), 500_000_000);
        let p = TransmissionParameters::new(s(2), 16.0, 4).unwrap();
        assert_eq!(scale(longest, p.random_factor_fixed()), longest * 16);
        // The initial timeout spans ACK_TIMEOUT to ACK_TIMEOUT × ACK_RANDOM_FACTOR.
        let p = TransmissionParameters::default();
        assert_eq!(p.initial_timeout(0), s(2));
        assert_eq!(p.initial_timeout(1 << 31), Duration::from_millis(2500));
        assert_eq!(p.initial_timeout(3 << 30), Duration::from_millis(2750));
        assert!(p.initial_timeout(u32::MAX) < s(3));
        assert!(p.initial_timeout(u32::MAX) > Duration::from_nanos(2_999_999_900));
        assert_eq!(p.max_transmit_span(), s(45));
        assert_eq!(p.max_transmit_wait(), s(93));
    }

    #[test]
    fn schedule_extremes_match_span_and_wait() {
        let p = TransmissionParameters::default();
        // Smallest draw: 2, 4, 8, 16 s intervals, give up after another 32 s.
        let mut rt = Retransmission::start(&p, s(0), 0);
        for (at, next) in [(2, 6), (6, 14), (14, 30), (30, 62)] {
            assert_eq!(rt.on_timeout(s(at)), Timeout::Retransmit { next: s(next) });
        }
        assert_eq!(rt.on_timeout(s(61)), Timeout::Wait(s(62)));
        assert_eq!(rt.on_timeout(s(62)), Timeout::GaveUp);
        // Largest draw approaches ACK_TIMEOUT × ACK_RANDOM_FACTOR = 3 s: the last retransmission
        // at MAX_TRANSMIT_SPAN (45 s) and giving up at MAX_TRANSMIT_WAIT (93 s).
        let rt = Retransmission::start(&p, s(0), u32::MAX);
        assert!(rt.deadline() <= s(3) && rt.deadline() > Duration::from_millis(2999));
    }

    #[test]
    fn late_caller_skips_opportunities() {
        let p = TransmissionParameters::default();
        let mut rt = Retransmission::start(&p, s(0), 0);
        // Woke at 7 s: the 2 s opportunity is missed, retransmit once now, next at 14 s.
        assert_eq!(rt.on_timeout(s(7)), Timeout::Retransmit { next: s(14) });
        assert_eq!(rt.retransmissions(), 2);
        // Woke at 13 s after a retransmission at 12 s would be too close: handled by spacing.
        let mut rt = Retransmission::start(&p, s(0), 0);
        assert_eq!(rt.on_timeout(s(5)), Timeout::Retransmit { next: s(6) });
        assert_eq!(rt.on_timeout(s(6)), Timeout::Wait(s(14)));
        // Woke after everything: give up.
        let mut rt = Retransmission::start(&p, s(0), 0);
        assert_eq!(rt.on_timeout(s(100)), Timeout::GaveUp);
    }

    #[test]
    fn dedup_cache_lifetimes_and_bounds() {
        let p = TransmissionParameters::default();
        let mut c: DeduplicationCache<u8, &str, 2> = DeduplicationCache::new(&p);
        assert_eq!(c.check(1, 7, true, s(0)), Deduplication::New);
        assert!(c.set_reply(&1, 7, "ack"));
        assert_eq!(
            c.check(1, 7, true, s(246)),
            Deduplication::Duplicate {
                reply: Some(&"ack")
            }
        );
        assert_eq!(c.check(2, 7, false, s(0)), Deduplication::New);
        assert_eq!(
            c.check(2, 7, false, s(144)),
            Deduplication::Duplicate { reply: None }
        );
        // NON_LIFETIME (145 s) passed for the NON, EXCHANGE_LIFETIME (247 s) for the CON.
        assert_eq!(c.check(2, 7, false, s(145)), Deduplication::New);
        assert_eq!(c.check(1, 7, true, s(247)), Deduplication::New);
        // Full: the entry closest to expiry is evicted.
        assert_eq!(c.check(3, 1, true, s(248)), Deduplication::New);
        assert_eq!(c.len(), 2);
        assert!(!c.set_reply(&9, 9, "x"));
    }

    #[test]
    fn token_and_message_id_matching() {
        let mut t: OutstandingRequests<u8, 2> = OutstandingRequests::new();
        let h = t.insert(1, &[0xab], 100).unwrap();
        assert_eq!(
            t.insert(1, &[0xab], 101),
            Err(TransmissionError::TokenInUse)
        );
        let h2 = t.insert(2, &[0xab], 100).unwrap();
        assert_eq!(
            t.insert(3, &[1], 1),
            Err(TransmissionError::Full { capacity: 2 })
        );
        assert_eq!(
            t.insert(3, &[0; 9], 1),
            Err(TransmissionError::TokenTooLong { len: 9, max: 8 })
        );
        assert_eq!(t.match_ack(&2, 100), Some(h2));
        assert!(t.is_acknowledged(h2));
        assert!(!t.is_acknowledged(h));
        assert_eq!(t.match_response(&1, &[0xab]), Some(h));
        assert_eq!(t.match_response(&1, &[0xac]), None);
        assert_eq!(t.match_response(&3, &[0xab]), None);
        assert_eq!(t.remove(h), Some(1));
        assert_eq!(t.len(), 1);
        let mut ids = MessageIdAllocator::new(0xffff);
        assert_eq!((ids.allocate(), ids.allocate()), (0xffff, 0));
    }
}
