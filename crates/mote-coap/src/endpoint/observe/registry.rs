//! The server role of Observe: the bounded list of observers (RFC 7641 §4).

use alloc::vec::Vec;
use core::time::Duration;

use super::{ObservationError, ResourceKey, is_success};
use crate::code::{Code, MessageType};
use crate::message::Message;
use crate::observe::{self, MAX_VALUE, ObserveRequest, Transport};

/// Bounds and timing of an [`ObserverRegistry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistryConfig {
    /// Registrations in total (default 64).
    pub max_observers: usize,
    /// Registrations of one peer, over all resources and tokens (default 8).
    pub max_observers_per_peer: usize,
    /// Registrations of one [`ResourceKey`] (default 32).
    pub max_observers_per_resource: usize,
    /// Longest token a registration may keep (default 8, the RFC 7252 limit; raise it when the
    /// endpoint accepts RFC 8974 extended tokens).
    pub max_token_len: usize,
    /// The longest time between two Confirmable notifications to one observer over an
    /// unreliable transport, counted from the registration (RFC 7641 §4.5: "at least every
    /// 24 hours"; default 24 h).
    pub confirmable_interval: Duration,
    /// Every this many notifications to one observer over an unreliable transport, one is
    /// Confirmable (default 8: seven Non-confirmable ones, then a Confirmable one; `0`: only
    /// [`Self::confirmable_interval`] applies). An observer that has left, or a spoofed
    /// source that never registered, does not acknowledge it, and the observation ends when
    /// its retransmissions give up (RFC 7641 §4.5) or a Reset comes: a registration can
    /// draw at most this many notifications (plus the retransmissions of the Confirmable
    /// one) from a peer that does not listen, instead of an endless stream (a reflection
    /// amplifier). The 24-hour rule of §4.5 stays the upper bound in time.
    pub confirmable_every: u32,
    /// The Observe value of the first registration response. The registry draws all values
    /// from one 24-bit counter (RFC 7641 §4.4), so this is where the counter starts; a server
    /// without persistent state may derive it from a clock (§4.4 implementation note).
    pub first_sequence: u32,
    /// The shortest time between two Non-confirmable notifications to one peer, or `None`
    /// for no limit; default 100 ms, at most ten per second to any one address (a bound on
    /// what a spoofed registration can reflect). RFC 7641 §4.5.1: without an RTT estimate a
    /// server SHOULD NOT send more than one Non-confirmable notification every 3 seconds —
    /// `Some(3 s)` follows that. A notification that would come too early is deferred (only
    /// the latest state is kept, §4.5.2) and planned by [`ObserverRegistry::poll_deferred`];
    /// the endpoint drives it from `handle_timeout` and sends the newest representation
    /// (one it replaces is reported as `Replaced` in the endpoint's `NotificationDone`).
    pub non_interval: Option<Duration>,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            max_observers: 64,
            max_observers_per_peer: 8,
            max_observers_per_resource: 32,
            max_token_len: 8,
            confirmable_interval: Duration::from_secs(24 * 60 * 60),
            confirmable_every: 8,
            first_sequence: 0,
            non_interval: Some(Duration::from_millis(100)),
        }
    }
}

/// Identifies one registration in an [`ObserverRegistry`]; stays the same when the client
/// re-registers with the same token (RFC 7641 §4.1) and is never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObserverHandle(u64);

/// What the endpoint does with a request, as far as Observe is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum ObserveDecision<T> {
    /// No Observe option, a value other than 0 and 1, or a method other than GET and FETCH:
    /// an ordinary request; the response carries no Observe option (RFC 7641 §2).
    Plain,
    /// The client is (again) on the list of observers. Answer with an Observe option of value
    /// `sequence` (RFC 7641 §4.1; over a reliable transport it may be empty, RFC 8323 §7.1).
    /// If the application's response is not 2.xx, call
    /// [`ObserverRegistry::on_response`] so the registration is dropped (RFC 7641 §4.1).
    Registered {
        /// The registration.
        handle: ObserverHandle,
        /// The Observe value for the response.
        sequence: u32,
        /// Whether an existing entry with the same peer and token was replaced (§4.1).
        replaced: bool,
    },
    /// A bound was reached (or the token is too long): answer as if the request had no Observe
    /// option — RFC 7641 §4.1 lets a server that is unable or unwilling to add an observer
    /// answer without Observe. The reason says which bound.
    Refused(ObservationError),
    /// Observe 1: the entry with this peer and token, if any, was removed (RFC 7641 §3.6).
    /// Answer as an ordinary request, without Observe.
    Deregistered {
        /// The registration that was removed, with its data.
        removed: Option<(ObserverHandle, T)>,
    },
}

/// How a notification is to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// A Non-confirmable message (RFC 7641 §4.5: the normal case).
    NonConfirmable,
    /// A Confirmable message (RFC 7641 §4.5).
    Confirmable {
        /// RFC 7641 §4.5.2: a Confirmable notification to this observer with this Message ID is
        /// still outstanding. The new notification supersedes it: stop retransmitting the old
        /// message and send the new one, under a new Message ID, with the retransmission
        /// counter and timeout of the old one (so the observer is not probed longer than one
        /// MAX_TRANSMIT_SPAN). A late Acknowledgement or Reset of the old Message ID is still
        /// recognized.
        supersedes: Option<u16>,
    },
    /// CoAP over a reliable transport: no message type, no acknowledgement (RFC 8323 §7.2).
    Reliable,
}

impl Delivery {
    /// The CoAP over UDP message type; `None` over a reliable transport.
    #[must_use]
    pub const fn message_type(self) -> Option<MessageType> {
        match self {
            Self::NonConfirmable => Some(MessageType::Non),
            Self::Confirmable { .. } => Some(MessageType::Con),
            Self::Reliable => None,
        }
    }

    /// Whether the notification is a Confirmable message.
    #[must_use]
    pub const fn is_confirmable(self) -> bool {
        matches!(self, Self::Confirmable { .. })
    }
}

/// One notification to send: to whom, with which token, Observe value and delivery.
///
/// After sending it, the endpoint calls [`ObserverRegistry::on_sent`] with the Message ID it
/// used (over UDP) before planning the next notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationPlan<P> {
    /// The registration.
    pub handle: ObserverHandle,
    /// The observer.
    pub peer: P,
    /// The token of the registration request (RFC 7641 §3.2).
    pub token: Vec<u8>,
    /// The response code of the notification.
    pub code: Code,
    /// The Observe value; `None` for a non-2.xx notification, which carries no Observe option
    /// and ends the observation (RFC 7641 §4.2).
    pub sequence: Option<u32>,
    /// Message type, or a reliable transport.
    pub delivery: Delivery,
    /// The registration ended with this notification (non-2.xx, RFC 7641 §4.2): it is no longer
    /// in the registry.
    pub ended: bool,
}

/// What kind of notification to plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifyOptions {
    /// The response code (default 2.05 Content). Anything but 2.xx ends the observations it
    /// is sent to (RFC 7641 §4.2).
    pub code: Code,
    /// Send it Confirmable whatever the schedule (RFC 7641 §4.5: the server may choose; e.g.
    /// for an important change). Ignored over reliable transports.
    pub confirmable: bool,
}

impl Default for NotifyOptions {
    fn default() -> Self {
        Self {
            code: Code::CONTENT,
            confirmable: false,
        }
    }
}

#[derive(Debug, Clone)]
struct Entry<P, T> {
    handle: ObserverHandle,
    peer: P,
    token: Vec<u8>,
    key: ResourceKey,
    transport: Transport,
    data: T,
    /// When the last Confirmable notification was planned, or the first registration arrived.
    confirmed_at: Duration,
    /// The last planned notification was Confirmable (decides what `on_sent` records).
    planned_confirmable: bool,
    /// Non-confirmable notifications planned since the last Confirmable one (or the
    /// registration), for [`RegistryConfig::confirmable_every`].
    non_since_confirmable: u32,
    /// Message ID of the outstanding Confirmable notification.
    outstanding: Option<u16>,
    /// Message ID of the last Non-confirmable notification or of a superseded Confirmable
    /// one: a Reset to it still cancels (RFC 7641 §3.6).
    recent: Option<u16>,
    /// A notification held back by [`RegistryConfig::non_interval`].
    deferred: Option<NotifyOptions>,
}

impl<P: PartialEq, T> Entry<P, T> {
    fn answers(&self, peer: &P, message_id: u16) -> bool {
        &self.peer == peer
            && (self.outstanding == Some(message_id) || self.recent == Some(message_id))
    }
}

/// The list of observers of a server (RFC 7641 §4), bounded in total, per peer and per
/// resource, with per-registration data `T` of the application.
///
/// Call order (by the endpoint):
/// 1. For each GET/FETCH request: [`Self::handle_request`] (or [`Self::register`] /
///    [`Self::cancel`] directly); then, if the application answered a registration with a
///    non-2.xx code, [`Self::on_response`].
/// 2. When a resource changes: [`Self::notify`] (or [`Self::notify_with`],
///    [`Self::notify_where`], [`Self::notify_observer`]); send each plan, then call
///    [`Self::on_sent`] with its Message ID.
/// 3. For Acknowledgements, Resets and given-up retransmissions of notifications:
///    [`Self::on_ack`], [`Self::on_reset`], [`Self::on_timeout`].
/// 4. When a reliable connection closes or times out: [`Self::remove_peer`] (RFC 8323 §7.4).
/// 5. With [`RegistryConfig::non_interval`] set: at [`Self::poll_timeout`], call
///    [`Self::poll_deferred`] and send its plans as in step 2 (RFC 7641 §4.5.1).
///
/// Sequence numbers come from one 24-bit counter for the whole registry, advanced once per
/// registration response and once per notify call: every observer sees strictly increasing
/// values (RFC 7641 §4.4), also across a removal and a new registration with the same token.
/// The §3.4 rule at the client holds as long as fewer than 2^23 values are drawn within
/// 128 seconds.
#[derive(Debug, Clone)]
pub struct ObserverRegistry<P, T = ()> {
    config: RegistryConfig,
    entries: Vec<Entry<P, T>>,
    next_sequence: u32,
    next_handle: u64,
    /// When each peer last got a Non-confirmable notification, while that still limits the
    /// next one (RFC 7641 §4.5.1); at most `max_observers` peers (the oldest is dropped).
    non_sent: Vec<(P, Duration)>,
}

impl<P, T> ObserverRegistry<P, T>
where
    P: Clone + Eq + Ord + core::fmt::Debug,
{
    /// An empty registry.
    #[must_use]
    pub fn new(config: RegistryConfig) -> Self {
        Self {
            config,
            entries: Vec::new(),
            next_sequence: config.first_sequence & MAX_VALUE,
            next_handle: 0,
            non_sent: Vec::new(),
        }
    }

    /// The configuration.
    #[must_use]
    pub const fn config(&self) -> &RegistryConfig {
        &self.config
    }

    /// Number of registrations.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no registration.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of registrations of `peer`.
    #[must_use]
    pub fn count_for_peer(&self, peer: &P) -> usize {
        self.entries.iter().filter(|e| &e.peer == peer).count()
    }

    /// Number of registrations of `key`.
    #[must_use]
    pub fn count_for_resource(&self, key: &ResourceKey) -> usize {
        self.entries.iter().filter(|e| &e.key == key).count()
    }

    /// The registration of `peer` with `token`.
    #[must_use]
    pub fn find(&self, peer: &P, token: &[u8]) -> Option<ObserverHandle> {
        self.entries
            .iter()
            .find(|e| &e.peer == peer && e.token == token)
            .map(|e| e.handle)
    }

    /// All registrations, in registration order.
    pub fn handles(&self) -> impl Iterator<Item = ObserverHandle> + '_ {
        self.entries.iter().map(|e| e.handle)
    }

    /// The peer and token of a registration.
    #[must_use]
    pub fn peer_and_token(&self, handle: ObserverHandle) -> Option<(&P, &[u8])> {
        self.entry(handle).map(|e| (&e.peer, e.token.as_slice()))
    }

    /// The resource a registration observes.
    #[must_use]
    pub fn key(&self, handle: ObserverHandle) -> Option<&ResourceKey> {
        self.entry(handle).map(|e| &e.key)
    }

    /// The application's data of a registration.
    #[must_use]
    pub fn data(&self, handle: ObserverHandle) -> Option<&T> {
        self.entry(handle).map(|e| &e.data)
    }

    /// The application's data of a registration, mutably.
    #[must_use]
    pub fn data_mut(&mut self, handle: ObserverHandle) -> Option<&mut T> {
        self.entries
            .iter_mut()
            .find(|e| e.handle == handle)
            .map(|e| &mut e.data)
    }

    fn entry(&self, handle: ObserverHandle) -> Option<&Entry<P, T>> {
        self.entries.iter().find(|e| e.handle == handle)
    }

    fn position(&self, handle: ObserverHandle) -> Option<usize> {
        self.entries.iter().position(|e| e.handle == handle)
    }

    /// RFC 7641 §4.4: the next value of the 24-bit sequence number.
    fn draw_sequence(&mut self) -> u32 {
        let value = self.next_sequence;
        self.next_sequence = (value + 1) & MAX_VALUE;
        value
    }

    /// Applies the Observe option of a request (RFC 7641 §2): registers on Observe 0 of a GET
    /// or FETCH (the resource key from its Uri-Path, Uri-Query and Accept options), deregisters
    /// on Observe 1, and otherwise says the request is an ordinary one. `data` is called only
    /// when a registration is added.
    ///
    /// # Errors
    /// [`ObservationError::Observe`] for an Observe value longer than 3 bytes,
    /// [`ObservationError::Option`] when the resource key cannot be read (the request is
    /// then answered with 4.02, RFC 7252 §5.4.1). Bounds are not errors but
    /// [`ObserveDecision::Refused`].
    pub fn handle_request(
        &mut self,
        peer: &P,
        request: &Message<'_>,
        transport: Transport,
        now: Duration,
        data: impl FnOnce() -> T,
    ) -> Result<ObserveDecision<T>, ObservationError> {
        let code = request.code();
        if code != Code::GET && code != Code::FETCH {
            return Ok(ObserveDecision::Plain);
        }
        let Some(value) = observe::from_message(request)? else {
            return Ok(ObserveDecision::Plain);
        };
        match ObserveRequest::from_value(value) {
            None => Ok(ObserveDecision::Plain),
            Some(ObserveRequest::Deregister) => Ok(ObserveDecision::Deregistered {
                removed: self.cancel(peer, request.token()),
            }),
            Some(ObserveRequest::Register) => {
                let key = ResourceKey::from_request(request)?;
                Ok(
                    match self.register(peer, request.token(), key, transport, now, data) {
                        Ok((handle, sequence, replaced)) => ObserveDecision::Registered {
                            handle,
                            sequence,
                            replaced,
                        },
                        Err(reason) => ObserveDecision::Refused(reason),
                    },
                )
            }
        }
    }

    /// Adds `peer` with `token` as an observer of `key`, or replaces its entry when it already
    /// has one with this token (RFC 7641 §4.1: same endpoint and token). Returns the handle,
    /// the Observe value for the response, and whether an entry was replaced.
    ///
    /// A replaced entry keeps its handle, its outstanding notification and its 24-hour
    /// Confirmable schedule (RFC 7641 §4.5 asks for a Confirmable *notification* at least every
    /// 24 hours; a re-registration is not one); it gets the new key, transport and data.
    ///
    /// # Errors
    /// [`ObservationError::TokenTooLong`], [`ObservationError::TooManyObservers`],
    /// [`ObservationError::TooManyObserversForPeer`],
    /// [`ObservationError::TooManyObserversForResource`]: the request is then answered
    /// without Observe (§4.1). An entry being replaced does not count against the bounds.
    pub fn register(
        &mut self,
        peer: &P,
        token: &[u8],
        key: ResourceKey,
        transport: Transport,
        now: Duration,
        data: impl FnOnce() -> T,
    ) -> Result<(ObserverHandle, u32, bool), ObservationError> {
        if token.len() > self.config.max_token_len {
            return Err(ObservationError::TokenTooLong {
                len: token.len(),
                limit: self.config.max_token_len,
            });
        }
        let existing = self
            .entries
            .iter()
            .position(|e| &e.peer == peer && e.token == token);
        let others = |pred: &dyn Fn(&Entry<P, T>) -> bool| {
            self.entries
                .iter()
                .enumerate()
                .filter(|(i, e)| Some(*i) != existing && pred(e))
                .count()
        };
        if others(&|_| true) >= self.config.max_observers {
            return Err(ObservationError::TooManyObservers {
                limit: self.config.max_observers,
            });
        }
        if others(&|e| &e.peer == peer) >= self.config.max_observers_per_peer {
            return Err(ObservationError::TooManyObserversForPeer {
                limit: self.config.max_observers_per_peer,
            });
        }
        if others(&|e| e.key == key) >= self.config.max_observers_per_resource {
            return Err(ObservationError::TooManyObserversForResource {
                limit: self.config.max_observers_per_resource,
            });
        }
        let sequence = self.draw_sequence();
        if let Some(entry) = existing.and_then(|i| self.entries.get_mut(i)) {
            entry.key = key;
            entry.transport = transport;
            entry.data = data();
            return Ok((entry.handle, sequence, true));
        }
        let handle = ObserverHandle(self.next_handle);
        self.next_handle = self.next_handle.wrapping_add(1);
        self.entries.push(Entry {
            handle,
            peer: peer.clone(),
            token: Vec::from(token),
            key,
            transport,
            data: data(),
            confirmed_at: now,
            planned_confirmable: false,
            non_since_confirmable: 0,
            outstanding: None,
            recent: None,
            deferred: None,
        });
        Ok((handle, sequence, false))
    }

    /// The application answered the registration `handle` with `code`: a non-2.xx response
    /// means the client is not an observer (RFC 7641 §4.1, §4.2), so the entry is removed and
    /// its data returned. A 2.xx code keeps it (`None`).
    pub fn on_response(&mut self, handle: ObserverHandle, code: Code) -> Option<T> {
        if is_success(code) {
            None
        } else {
            self.remove(handle)
        }
    }

    /// Removes the registration of `peer` with `token` (explicit deregistration, RFC 7641 §3.6,
    /// or the application's choice).
    pub fn cancel(&mut self, peer: &P, token: &[u8]) -> Option<(ObserverHandle, T)> {
        let i = self
            .entries
            .iter()
            .position(|e| &e.peer == peer && e.token == token)?;
        let entry = self.entries.remove(i);
        Some((entry.handle, entry.data))
    }

    /// Removes a registration.
    pub fn remove(&mut self, handle: ObserverHandle) -> Option<T> {
        let i = self.position(handle)?;
        Some(self.entries.remove(i).data)
    }

    /// Removes every registration of `peer`: its reliable connection was closed or timed out
    /// (RFC 8323 §7.4), or the peer is gone for another reason.
    pub fn remove_peer(&mut self, peer: &P) -> Vec<(ObserverHandle, T)> {
        let (gone, kept): (Vec<_>, Vec<_>) = core::mem::take(&mut self.entries)
            .into_iter()
            .partition(|e| &e.peer == peer);
        self.entries = kept;
        gone.into_iter().map(|e| (e.handle, e.data)).collect()
    }

    /// Plans a 2.05 notification to every observer of `key` (exactly this key: path, query
    /// and Accept).
    pub fn notify(
        &mut self,
        key: &ResourceKey,
        now: Duration,
    ) -> alloc::vec::IntoIter<NotificationPlan<P>> {
        self.notify_where(|k, _| k == key, now, NotifyOptions::default())
    }

    /// Plans a notification of the given kind to every observer of `key`.
    pub fn notify_with(
        &mut self,
        key: &ResourceKey,
        now: Duration,
        options: NotifyOptions,
    ) -> alloc::vec::IntoIter<NotificationPlan<P>> {
        self.notify_where(|k, _| k == key, now, options)
    }

    /// Plans a notification to every registration whose key and data satisfy `select` (e.g.
    /// all keys with a path, whatever the query and Accept: [`ResourceKey::has_path`]). All
    /// plans of one call carry the same Observe value. Registrations that get a non-2.xx
    /// notification are removed (RFC 7641 §4.2).
    pub fn notify_where(
        &mut self,
        mut select: impl FnMut(&ResourceKey, &T) -> bool,
        now: Duration,
        options: NotifyOptions,
    ) -> alloc::vec::IntoIter<NotificationPlan<P>> {
        let selected: Vec<ObserverHandle> = self
            .entries
            .iter()
            .filter(|e| select(&e.key, &e.data))
            .map(|e| e.handle)
            .collect();
        let sequence = if selected.is_empty() || !is_success(options.code) {
            None
        } else {
            Some(self.draw_sequence())
        };
        let plans: Vec<_> = selected
            .into_iter()
            .filter_map(|handle| self.plan(handle, sequence, now, options))
            .collect();
        plans.into_iter()
    }

    /// Plans a notification to one registration (e.g. when per-observation attributes such
    /// as LwM2M pmin/pmax decide); `None` for an unknown handle.
    pub fn notify_observer(
        &mut self,
        handle: ObserverHandle,
        now: Duration,
        options: NotifyOptions,
    ) -> Option<NotificationPlan<P>> {
        self.position(handle)?;
        let sequence = is_success(options.code).then(|| self.draw_sequence());
        self.plan(handle, sequence, now, options)
    }

    fn plan(
        &mut self,
        handle: ObserverHandle,
        sequence: Option<u32>,
        now: Duration,
        options: NotifyOptions,
    ) -> Option<NotificationPlan<P>> {
        let i = self.position(handle)?;
        let interval = self.config.confirmable_interval;
        let every = self.config.confirmable_every;
        let non_allowed_at = self.non_allowed_at(&self.entries.get(i)?.peer);
        let entry = self.entries.get_mut(i)?;
        let delivery = match entry.transport {
            // RFC 8323 §7.2: no Confirmable or Non-confirmable messages over TCP.
            Transport::Reliable => Delivery::Reliable,
            Transport::Unreliable => {
                if let Some(old) = entry.outstanding.take() {
                    // RFC 7641 §4.5.2: the new notification replaces the outstanding one.
                    entry.recent = Some(old);
                    Delivery::Confirmable {
                        supersedes: Some(old),
                    }
                } else if options.confirmable
                    || now >= entry.confirmed_at.saturating_add(interval)
                    || (every > 0 && entry.non_since_confirmable.saturating_add(1) >= every)
                {
                    // RFC 7641 §4.5: Confirmable at least every 24 hours, and here every
                    // `confirmable_every` notifications: the observer shows it still listens.
                    Delivery::Confirmable { supersedes: None }
                } else {
                    Delivery::NonConfirmable
                }
            }
        };
        if delivery == Delivery::NonConfirmable && non_allowed_at.is_some_and(|at| now < at) {
            // RFC 7641 §4.5.1: too early for another Non-confirmable notification to this peer;
            // keep only the latest (§4.5.2) for `poll_deferred`. (A notification the
            // application asked to be Confirmable never gets here.)
            entry.deferred = Some(options);
            return None;
        }
        entry.deferred = None;
        entry.planned_confirmable = delivery.is_confirmable();
        if entry.planned_confirmable {
            entry.confirmed_at = now;
            entry.non_since_confirmable = 0;
        } else if delivery == Delivery::NonConfirmable {
            entry.non_since_confirmable = entry.non_since_confirmable.saturating_add(1);
        }
        let ended = !is_success(options.code);
        let plan = NotificationPlan {
            handle,
            peer: entry.peer.clone(),
            token: entry.token.clone(),
            code: options.code,
            sequence: if ended { None } else { sequence },
            delivery,
            ended,
        };
        if ended {
            // RFC 7641 §4.2: a non-2.xx notification removes the observer.
            self.entries.remove(i);
        }
        if delivery == Delivery::NonConfirmable {
            self.record_non(&plan.peer, now);
        }
        Some(plan)
    }

    /// When the next Non-confirmable notification to `peer` may be planned (RFC 7641
    /// §4.5.1), if [`RegistryConfig::non_interval`] is set and one was planned recently.
    fn non_allowed_at(&self, peer: &P) -> Option<Duration> {
        let gap = self.config.non_interval?;
        self.non_sent
            .iter()
            .find(|(p, _)| p == peer)
            .map(|(_, last)| last.saturating_add(gap))
    }

    fn record_non(&mut self, peer: &P, now: Duration) {
        let Some(gap) = self.config.non_interval else {
            return;
        };
        // Times that no longer limit anything are dropped; the table stays bounded.
        self.non_sent
            .retain(|(p, last)| p != peer && last.saturating_add(gap) > now);
        if self.non_sent.len() >= self.config.max_observers.max(1) {
            self.non_sent.remove(0);
        }
        self.non_sent.push((peer.clone(), now));
    }

    /// Whether `handle` has a notification deferred by [`RegistryConfig::non_interval`].
    #[must_use]
    pub fn is_deferred(&self, handle: ObserverHandle) -> bool {
        self.entry(handle).is_some_and(|e| e.deferred.is_some())
    }

    /// The earliest time at which [`Self::poll_deferred`] has a notification to plan; `None`
    /// when nothing is deferred.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.entries
            .iter()
            .filter(|e| e.deferred.is_some())
            .map(|e| self.non_allowed_at(&e.peer).unwrap_or(Duration::ZERO))
            .min()
    }

    /// Plans the deferred notifications whose time has come (RFC 7641 §4.5.1). They carry the
    /// latest state: the application sends the resource's current representation.
    pub fn poll_deferred(&mut self, now: Duration) -> alloc::vec::IntoIter<NotificationPlan<P>> {
        let due: Vec<ObserverHandle> = self
            .entries
            .iter()
            .filter(|e| {
                e.deferred.is_some() && self.non_allowed_at(&e.peer).is_none_or(|at| at <= now)
            })
            .map(|e| e.handle)
            .collect();
        let sequence = if due.is_empty() {
            None
        } else {
            Some(self.draw_sequence())
        };
        let mut plans = Vec::new();
        for handle in due {
            let options = self
                .entries
                .iter_mut()
                .find(|e| e.handle == handle)
                .and_then(|e| e.deferred.take());
            if let Some(plan) = options.and_then(|o| self.plan(handle, sequence, now, o)) {
                plans.push(plan);
            }
        }
        plans.into_iter()
    }

    /// The endpoint sent the last planned notification of `handle` with `message_id` (CoAP
    /// over UDP). Returns `false` for an unknown handle.
    pub fn on_sent(&mut self, handle: ObserverHandle, message_id: u16) -> bool {
        let Some(entry) = self.entries.iter_mut().find(|e| e.handle == handle) else {
            return false;
        };
        if entry.planned_confirmable {
            entry.outstanding = Some(message_id);
        } else {
            entry.recent = Some(message_id);
        }
        true
    }

    /// An Acknowledgement from `peer` for `message_id`: if it acknowledges the outstanding
    /// Confirmable notification of a registration, that notification is done (the client is
    /// alive and interested, RFC 7641 §4.5). Returns the registration it concerned.
    pub fn on_ack(&mut self, peer: &P, message_id: u16) -> Option<ObserverHandle> {
        let entry = self
            .entries
            .iter_mut()
            .find(|e| e.answers(peer, message_id))?;
        if entry.outstanding == Some(message_id) {
            entry.outstanding = None;
        }
        Some(entry.handle)
    }

    /// A Reset from `peer` for `message_id` of a notification: the client rejects it and the
    /// registration is removed (RFC 7641 §3.6, §4.5).
    pub fn on_reset(&mut self, peer: &P, message_id: u16) -> Option<(ObserverHandle, T)> {
        let i = self
            .entries
            .iter()
            .position(|e| e.answers(peer, message_id))?;
        let entry = self.entries.remove(i);
        Some((entry.handle, entry.data))
    }

    /// The Confirmable notification `message_id` to `peer` was retransmitted MAX_RETRANSMIT
    /// times without an Acknowledgement: the registration is removed (RFC 7641 §4.5).
    pub fn on_timeout(&mut self, peer: &P, message_id: u16) -> Option<(ObserverHandle, T)> {
        let i = self
            .entries
            .iter()
            .position(|e| &e.peer == peer && e.outstanding == Some(message_id))?;
        let entry = self.entries.remove(i);
        Some((entry.handle, entry.data))
    }

    /// The Message ID of the outstanding Confirmable notification of `handle`, if any.
    #[must_use]
    pub fn outstanding(&self, handle: ObserverHandle) -> Option<u16> {
        self.entry(handle).and_then(|e| e.outstanding)
    }
}
