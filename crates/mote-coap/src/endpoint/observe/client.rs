//! The client role of Observe: the observations a client keeps (RFC 7641 §3).

use alloc::vec::Vec;
use core::time::Duration;

use super::{ObservationError, is_success};
use crate::code::{Code, MessageType};
use crate::message::{Message, OwnedMessage};
use crate::observe::{self, Notification, NotificationOrder, ObserveRequest, Transport};
use crate::option::{OptionList, OptionNumber, OptionRef};

/// Max-Age when a response carries none: 60 seconds (RFC 7252 §5.10.5).
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(60);

/// Bounds and timing of an [`ObservationClient`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    /// Observations tracked at once (default 16).
    pub max_observations: usize,
    /// Longest token an observation may use (default 8; up to 65804 with RFC 8974).
    pub max_token_len: usize,
    /// How long after the Max-Age of the latest fresh notification ran out the client waits
    /// before it asks for a re-registration (RFC 7641 §3.3.1; default 5 s, for notifications
    /// that are on their way).
    pub freshness_margin: Duration,
    /// After asking for a re-registration, how long to wait for a fresh notification before
    /// asking again (default 60 s).
    pub reregistration_retry: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            max_observations: 16,
            max_token_len: 8,
            freshness_margin: Duration::from_secs(5),
            reregistration_retry: Duration::from_secs(60),
        }
    }
}

/// Identifies one observation of an [`ObservationClient`]; never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObservationHandle(u64);

/// What the client does with a response that matched (or failed to match) an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum NotificationVerdict {
    /// A notification newer than every one seen (RFC 7641 §3.4): use its representation, which
    /// is fresh until `fresh_until` (Max-Age, §3.3.1).
    Fresh {
        /// The observation.
        handle: ObservationHandle,
        /// Its Observe value (ignored for ordering over a reliable transport, RFC 8323 §7.1).
        value: u32,
        /// Receive time plus Max-Age.
        fresh_until: Duration,
    },
    /// A notification older than one already seen (reordered, RFC 7641 §3.4): do not let it
    /// replace the stored representation. A Confirmable one is still acknowledged.
    Stale {
        /// The observation.
        handle: ObservationHandle,
    },
    /// The observation is over and was removed: a non-2.xx response (RFC 7641 §3.2), or a
    /// response without Observe, which says the server did not (or no longer does) add the
    /// client to its list of observers (§3.1, §4.1). Its representation, if 2.xx, can be used
    /// once.
    Ended {
        /// The observation.
        handle: ObservationHandle,
        /// The response code.
        code: Code,
    },
    /// No observation with this peer and token: the client rejects the notification with a
    /// Reset (RFC 7641 §3.6, also how a passive cancellation ends); over a reliable transport it
    /// may abort the connection instead (RFC 8323 §7.2).
    Unknown,
}

#[derive(Debug, Clone)]
struct Observation<P> {
    handle: ObservationHandle,
    peer: P,
    token: Vec<u8>,
    code: Code,
    options: OptionList,
    /// The registration request's payload (the body of a FETCH), repeated by the
    /// re-registration and deregistration requests.
    payload: Vec<u8>,
    order: NotificationOrder,
    /// When a re-registration is due: Max-Age (+ margin) of the latest fresh notification.
    deadline: Duration,
    fresh_until: Option<Duration>,
}

/// The observations of a client, bounded: matching of notifications by peer and token, the
/// reordering rule (RFC 7641 §3.4), freshness and re-registration (§3.3.1), cancellation
/// (§3.6).
///
/// Call order (by the endpoint):
/// 1. [`Self::start`] with the registration request (GET or FETCH with Observe 0) when it is
///    sent.
/// 2. [`Self::handle_notification`] for each response whose token matches; act on the
///    [`NotificationVerdict`].
/// 3. [`Self::poll_timeout`] for the next deadline; at that time [`Self::handle_timeout`]
///    lists the observations whose representation went stale; send
///    [`Self::reregistration_request`] for each (same token, RFC 7641 §3.3.1).
/// 4. To stop: [`Self::cancel`] (explicit, builds the Observe 1 request; required over a
///    reliable transport, RFC 8323 §7.4) or [`Self::forget`] (passive: the next notification
///    is [`NotificationVerdict::Unknown`] and gets a Reset, RFC 7641 §3.6).
#[derive(Debug, Clone)]
pub struct ObservationClient<P> {
    config: ClientConfig,
    observations: Vec<Observation<P>>,
    next_handle: u64,
}

impl<P> ObservationClient<P>
where
    P: Clone + Eq + Ord + core::fmt::Debug,
{
    /// No observations.
    #[must_use]
    pub const fn new(config: ClientConfig) -> Self {
        Self {
            config,
            observations: Vec::new(),
            next_handle: 0,
        }
    }

    /// The configuration.
    #[must_use]
    pub const fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Number of observations.
    #[must_use]
    pub fn len(&self) -> usize {
        self.observations.len()
    }

    /// Whether there is no observation.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.observations.is_empty()
    }

    /// The observation of `peer` with `token`.
    #[must_use]
    pub fn find(&self, peer: &P, token: &[u8]) -> Option<ObservationHandle> {
        self.observations
            .iter()
            .find(|o| &o.peer == peer && o.token == token)
            .map(|o| o.handle)
    }

    fn get(&self, handle: ObservationHandle) -> Option<&Observation<P>> {
        self.observations.iter().find(|o| o.handle == handle)
    }

    /// Starts tracking an observation whose registration request (method `code`, `token`,
    /// `options`) is being sent to `peer` at `now`. Until a notification says otherwise the
    /// default Max-Age (60 s, RFC 7252 §5.10.5) bounds the wait for it.
    ///
    /// # Errors
    /// [`ObservationError::TooManyObservations`] when full,
    /// [`ObservationError::TokenTooLong`], [`ObservationError::TokenInUse`] when `peer` already
    /// has an observation with `token`.
    pub fn start<'a>(
        &mut self,
        peer: &P,
        code: Code,
        token: &[u8],
        options: impl IntoIterator<Item = OptionRef<'a>>,
        transport: Transport,
        now: Duration,
    ) -> Result<ObservationHandle, ObservationError> {
        if token.len() > self.config.max_token_len {
            return Err(ObservationError::TokenTooLong {
                len: token.len(),
                limit: self.config.max_token_len,
            });
        }
        if self.find(peer, token).is_some() {
            return Err(ObservationError::TokenInUse);
        }
        if self.observations.len() >= self.config.max_observations {
            return Err(ObservationError::TooManyObservations {
                limit: self.config.max_observations,
            });
        }
        let mut options: OptionList = options.into_iter().collect();
        options.set_uint(OptionNumber::OBSERVE, ObserveRequest::Register.value());
        let handle = ObservationHandle(self.next_handle);
        self.next_handle = self.next_handle.wrapping_add(1);
        self.observations.push(Observation {
            handle,
            peer: peer.clone(),
            token: Vec::from(token),
            code,
            options,
            payload: Vec::new(),
            order: NotificationOrder::new(transport),
            deadline: now
                .saturating_add(DEFAULT_MAX_AGE)
                .saturating_add(self.config.freshness_margin),
            fresh_until: None,
        });
        Ok(handle)
    }

    /// [`Self::start`] with the registration request as a message.
    ///
    /// # Errors
    /// As [`Self::start`].
    pub fn start_request(
        &mut self,
        peer: &P,
        request: &Message<'_>,
        transport: Transport,
        now: Duration,
    ) -> Result<ObservationHandle, ObservationError> {
        let handle = self.start(
            peer,
            request.code(),
            request.token(),
            request.options(),
            transport,
            now,
        )?;
        self.set_payload(handle, request.payload());
        Ok(handle)
    }

    /// Keeps `payload`, the registration request's body, for `handle`'s re-registration and
    /// deregistration requests. RFC 7641 §3.6: the deregistration is "identical to the
    /// registration request except for the Observe option"; a FETCH registration (RFC 8132
    /// §2.4, e.g. LwM2M Observe-Composite) is identified by its body, so both repeat it.
    /// Returns whether `handle` is known.
    pub fn set_payload(&mut self, handle: ObservationHandle, payload: &[u8]) -> bool {
        match self.observations.iter_mut().find(|o| o.handle == handle) {
            Some(o) => {
                o.payload = Vec::from(payload);
                true
            }
            None => false,
        }
    }

    /// Leaves the order of `handle`'s notifications to the protection layer that verified
    /// them: from now on every notification that reaches [`Self::handle_notification`] is
    /// the newest, whatever its Observe value. For OSCORE (RFC 8613 §4.1.3.5.2) the client
    /// orders notifications by their Partial IV and refuses any not newer than the largest
    /// seen (§7.4.1) before they get here; the Observe value it then shows is not comparable
    /// across the first response (no Partial IV, the inner Observe) and later notifications
    /// (their Partial IV), so RFC 7641 §3.4 must not be applied to it. Returns whether
    /// `handle` is known.
    pub fn order_by_protection(&mut self, handle: ObservationHandle) -> bool {
        let Some(o) = self.observations.iter_mut().find(|o| o.handle == handle) else {
            return false;
        };
        // The rule of a reliable transport (RFC 8323 §7.1): every notification that arrives
        // is the newest; the latest one is still recorded.
        let latest = o.order.latest();
        o.order = NotificationOrder::new(Transport::Reliable);
        if let Some(latest) = latest {
            let _ = o.order.accept(latest);
        }
        true
    }

    /// Classifies a response from `peer` (see [`NotificationVerdict`]) and updates the
    /// observation it belongs to.
    ///
    /// # Errors
    /// [`ObservationError::Observe`] or [`ObservationError::Option`] when the Observe or
    /// Max-Age value of a response to a known observation cannot be read.
    pub fn handle_notification(
        &mut self,
        peer: &P,
        response: &Message<'_>,
        now: Duration,
    ) -> Result<NotificationVerdict, ObservationError> {
        self.handle_response(
            peer,
            response.token(),
            response.code(),
            response.options(),
            now,
        )
    }

    /// [`Self::handle_notification`] from the parts of a response (e.g. of a CoAP over TCP
    /// frame).
    ///
    /// # Errors
    /// As [`Self::handle_notification`].
    pub fn handle_response<'a>(
        &mut self,
        peer: &P,
        token: &[u8],
        code: Code,
        options: impl IntoIterator<Item = OptionRef<'a>>,
        now: Duration,
    ) -> Result<NotificationVerdict, ObservationError> {
        let Some(i) = self
            .observations
            .iter()
            .position(|o| &o.peer == peer && o.token == token)
        else {
            return Ok(NotificationVerdict::Unknown);
        };
        let mut value = None;
        let mut max_age = None;
        for option in options {
            match option.number {
                OptionNumber::OBSERVE if value.is_none() => {
                    value = Some(observe::decode(option.value)?);
                }
                OptionNumber::MAX_AGE if max_age.is_none() => {
                    max_age = Some(Duration::from_secs(u64::from(option.as_uint()?)));
                }
                _ => {}
            }
        }
        let (Some(value), true) = (value, is_success(code)) else {
            let handle = self.observations.remove(i).handle;
            return Ok(NotificationVerdict::Ended { handle, code });
        };
        let margin = self.config.freshness_margin;
        let Some(observation) = self.observations.get_mut(i) else {
            return Ok(NotificationVerdict::Unknown);
        };
        let handle = observation.handle;
        if !observation.order.accept(Notification {
            value,
            received_at: now,
        }) {
            return Ok(NotificationVerdict::Stale { handle });
        }
        // RFC 7641 §3.3.1: the representation is fresh for Max-Age from its arrival.
        let fresh_until = now.saturating_add(max_age.unwrap_or(DEFAULT_MAX_AGE));
        observation.fresh_until = Some(fresh_until);
        observation.deadline = fresh_until.saturating_add(margin);
        Ok(NotificationVerdict::Fresh {
            handle,
            value,
            fresh_until,
        })
    }

    /// Whether the latest accepted notification of `handle` is still fresh at `now` (its age is
    /// below Max-Age, RFC 7641 §3.3.1); `None` for an unknown handle.
    #[must_use]
    pub fn is_fresh(&self, handle: ObservationHandle, now: Duration) -> Option<bool> {
        self.get(handle)
            .map(|o| o.fresh_until.is_some_and(|until| now < until))
    }

    /// The latest notification accepted for `handle`.
    #[must_use]
    pub fn latest(&self, handle: ObservationHandle) -> Option<Notification> {
        self.get(handle).and_then(|o| o.order.latest())
    }

    /// The earliest time at which [`Self::handle_timeout`] has something to do.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.observations.iter().map(|o| o.deadline).min()
    }

    /// The observations whose representation is no longer fresh at `now` (Max-Age plus the
    /// margin ran out without a fresh notification): the client re-registers each with
    /// [`Self::reregistration_request`] (RFC 7641 §3.3.1). Each is reported again after
    /// [`ClientConfig::reregistration_retry`] if still no fresh notification arrives.
    pub fn handle_timeout(&mut self, now: Duration) -> Vec<ObservationHandle> {
        let retry = self.config.reregistration_retry;
        self.observations
            .iter_mut()
            .filter(|o| o.deadline <= now)
            .map(|o| {
                o.deadline = now.saturating_add(retry);
                o.handle
            })
            .collect()
    }

    fn request(
        &self,
        handle: ObservationHandle,
        observe: ObserveRequest,
        mtype: MessageType,
        message_id: u16,
    ) -> Option<OwnedMessage> {
        let o = self.get(handle)?;
        let mut message = OwnedMessage::new(mtype, o.code, message_id).with_token(o.token.clone());
        message.options = o.options.clone();
        message
            .options
            .set_uint(OptionNumber::OBSERVE, observe.value());
        message.payload = o.payload.clone();
        Some(message)
    }

    /// The re-registration request of `handle`: the registration request again, same token and
    /// options, Observe 0 (RFC 7641 §3.3.1); the endpoint chooses type and Message ID.
    #[must_use]
    pub fn reregistration_request(
        &self,
        handle: ObservationHandle,
        mtype: MessageType,
        message_id: u16,
    ) -> Option<OwnedMessage> {
        self.request(handle, ObserveRequest::Register, mtype, message_id)
    }

    /// Cancels `handle` explicitly: returns the deregistration request (same token and
    /// options as the registration, Observe 1, RFC 7641 §3.6) and forgets the observation, so
    /// notifications still on their way are [`NotificationVerdict::Unknown`].
    pub fn cancel(
        &mut self,
        handle: ObservationHandle,
        mtype: MessageType,
        message_id: u16,
    ) -> Option<OwnedMessage> {
        let message = self.request(handle, ObserveRequest::Deregister, mtype, message_id)?;
        self.forget(handle);
        Some(message)
    }

    /// Forgets `handle` (passive cancellation, RFC 7641 §3.6: the next notification is
    /// answered with a Reset). Over a reliable transport use [`Self::cancel`] instead
    /// (RFC 8323 §7.4). Returns whether it was known.
    pub fn forget(&mut self, handle: ObservationHandle) -> bool {
        let before = self.observations.len();
        self.observations.retain(|o| o.handle != handle);
        self.observations.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification(value: &[u8]) -> OwnedMessage {
        OwnedMessage::new(MessageType::Con, Code::CONTENT, 1)
            .with_token(alloc::vec![7])
            .with_option(OptionNumber::OBSERVE, value)
    }

    /// RFC 7641 §3.6 / §3.3.1 with RFC 8132 §2.4: the deregistration and the re-registration
    /// of a FETCH observation repeat its body (an LwM2M Observe-Composite's path list), and
    /// its options with Observe 1 / 0.
    #[test]
    fn a_fetch_observation_is_cancelled_and_renewed_with_its_body() {
        let mut client = ObservationClient::<u8>::new(ClientConfig::default());
        let body = b"\x82\xa1\x00\x66/3/0/9".to_vec();
        let registration = OwnedMessage::new(MessageType::Con, Code::FETCH, 1)
            .with_token(alloc::vec![9])
            .with_option(OptionNumber::OBSERVE, &[][..])
            .with_option(OptionNumber::CONTENT_FORMAT, &[112][..])
            .with_payload(body.clone());
        let bytes = registration.to_vec().unwrap_or_default();
        let m = Message::decode(&bytes).unwrap_or_else(|e| panic!("{e}"));
        let handle = client
            .start_request(&1, &m, Transport::Unreliable, Duration::ZERO)
            .unwrap_or_else(|e| panic!("{e}"));
        let renew = client
            .reregistration_request(handle, MessageType::Con, 2)
            .unwrap_or_else(|| panic!("known"));
        assert_eq!((renew.code, &renew.payload), (Code::FETCH, &body));
        assert_eq!(
            renew
                .options
                .get(OptionNumber::OBSERVE)
                .map(|o| o.value.to_vec()),
            Some(alloc::vec![])
        );
        let cancel = client
            .cancel(handle, MessageType::Con, 3)
            .unwrap_or_else(|| panic!("known"));
        assert_eq!((cancel.code, &cancel.payload), (Code::FETCH, &body));
        assert_eq!(cancel.token, [9]);
        assert_eq!(
            cancel
                .options
                .get(OptionNumber::OBSERVE)
                .map(|o| o.value.to_vec()),
            Some(alloc::vec![1])
        );
        assert_eq!(
            cancel
                .options
                .get(OptionNumber::CONTENT_FORMAT)
                .map(|o| o.value.to_vec()),
            Some(alloc::vec![112])
        );
        assert!(!client.set_payload(handle, b"gone"));
    }

    /// Two observations of the same resource; the second is ordered by its protection layer.
    /// Both see a first response with Observe 0 (an OSCORE response without Partial IV shows
    /// the empty inner Observe) and then a notification whose Observe is also 0 (the low bytes
    /// of Partial IV 0, RFC 8613 §4.1.3.5.2).
    #[test]
    fn an_observation_ordered_by_protection_takes_every_notification() {
        let mut client = ObservationClient::<u8>::new(ClientConfig::default());
        let plain = client
            .start(
                &1,
                Code::GET,
                &[7],
                [],
                Transport::Unreliable,
                Duration::ZERO,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let protected = client
            .start(
                &2,
                Code::GET,
                &[7],
                [],
                Transport::Unreliable,
                Duration::ZERO,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(client.order_by_protection(protected));
        assert!(!client.order_by_protection(ObservationHandle(99)));
        let first = notification(&[]);
        let second = notification(&[]);
        let verdict = |c: &mut ObservationClient<u8>, peer: u8, m: &OwnedMessage| {
            let bytes = m.to_vec().unwrap_or_default();
            let m = Message::decode(&bytes).unwrap_or_else(|e| panic!("{e}"));
            c.handle_notification(&peer, &m, Duration::from_secs(1))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        assert!(matches!(
            verdict(&mut client, 1, &first),
            NotificationVerdict::Fresh { .. }
        ));
        assert!(matches!(
            verdict(&mut client, 2, &first),
            NotificationVerdict::Fresh { .. }
        ));
        // RFC 7641 §3.4 for the plain observation: the same Observe value is not newer.
        assert_eq!(
            verdict(&mut client, 1, &second),
            NotificationVerdict::Stale { handle: plain }
        );
        // The protected one: the protection layer already refused anything older.
        assert!(matches!(
            verdict(&mut client, 2, &second),
            NotificationVerdict::Fresh { handle, value: 0, .. } if handle == protected
        ));
        assert!(client.latest(protected).is_some());
    }
}
