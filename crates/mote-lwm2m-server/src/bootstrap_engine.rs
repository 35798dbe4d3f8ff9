//! The bootstrap server on the CoAP endpoint: [`BootstrapEngine`] drives a
//! [`BootstrapServer`] with a [`mote_coap::endpoint::Endpoint`] beside it. It answers the
//! client's Bootstrap-Request (`POST /bs?ep=…[&pct=…]`, LwM2M TS 1.2 Transport §6.4.1 and
//! §6.7) and Bootstrap-Pack-Request (`GET /bspack?ep=…`, the whole plan in one SenML CBOR,
//! SenML JSON or LwM2M CBOR pack, in Block2 blocks when large), sends the session's Bootstrap-Discover, -Read, -Delete, -Write and -Finish requests
//! through the endpoint (retransmitted by it, RFC 7252 §4.2; a Write larger than one block is
//! uploaded with Block1, RFC 7959 §2.5), feeds the responses back, and reports each session as
//! a [`BootstrapEvent`].
//!
//! # Call order
//! The caller owns the endpoint and its I/O (datagrams in with `Endpoint::handle`, out with
//! `Endpoint::poll_transmit`). For every event of the endpoint call
//! [`BootstrapEngine::handle_event`]: it consumes the Bootstrap-Requests and the responses to
//! its own requests and hands every other event back. Call [`BootstrapEngine::handle_timeout`]
//! when [`BootstrapEngine::poll_timeout`] has passed (besides the endpoint's own timer), and
//! take the session events with [`BootstrapEngine::poll_event`].
//!
//! A Bootstrap-Request that arrived through a protection layer (an OSCORE security context,
//! RFC 8613) makes every request of its session go out protected under the same context
//! (`Endpoint::request_protected`); a plain one, plain — or, with
//! [`BootstrapEngineConfig::require_protection`], refused 4.01 Unauthorized. A
//! Bootstrap-Pack is answered in the context its request came in (the endpoint protects the
//! response).
//!
//! ```
//! use core::time::Duration;
//! use mote_coap::code::{Code, MessageType};
//! use mote_coap::endpoint::{Endpoint, EndpointConfig, Event, Reliability};
//! use mote_coap::message::OwnedMessage;
//! use mote_coap::option::OptionNumber;
//! use mote_lwm2m_server::bootstrap_engine::{BootstrapEngine, BootstrapEngineConfig, BootstrapEvent};
//! use mote_lwm2m_server::{BootstrapConfig, BootstrapLimits, BootstrapServer};
//!
//! let mut plans = BootstrapServer::new(BootstrapLimits::default());
//! plans.set_plan("dev1", BootstrapConfig::default());
//! let mut engine = BootstrapEngine::new(plans, BootstrapEngineConfig::default());
//! let mut server = Endpoint::new(EndpointConfig::default(), || 7u32)?;
//! let mut client = Endpoint::new(EndpointConfig::default(), || 9u32)?;
//! let now = Duration::ZERO;
//! // The client (peer 2) sends its Bootstrap-Request to the server (peer 1).
//! let bs = OwnedMessage::new(MessageType::Con, Code::POST, 0)
//!     .with_option(OptionNumber::URI_PATH, "bs")
//!     .with_option(OptionNumber::URI_QUERY, "ep=dev1");
//! client.request(now, 1u8, bs, Reliability::Confirmable)?;
//! while let Some(t) = client.poll_transmit() {
//!     server.handle(now, 2u8, &t.datagram);
//! }
//! while let Some(event) = server.poll_event() {
//!     // Nothing else runs on this endpoint: nothing is handed back.
//!     assert!(engine.handle_event(&mut server, event, now).is_none());
//! }
//! assert!(matches!(engine.poll_event(), Some(BootstrapEvent::Started { peer: 2, .. })));
//! // The 2.04 goes back to the client, then Bootstrap-Discover (BsR-001 first step).
//! while let Some(t) = server.poll_transmit() {
//!     client.handle(now, 1u8, &t.datagram);
//! }
//! let mut got = Vec::new();
//! while let Some(event) = client.poll_event() {
//!     match event {
//!         Event::Response { message, .. } => got.push(format!("response {}", message.code)),
//!         Event::Request { message, .. } => got.push(format!("request {}", message.code)),
//!         _ => {}
//!     }
//! }
//! assert_eq!(got, ["response 2.04", "request 0.01"]); // 0.01: GET
//! # Ok::<(), mote_coap::endpoint::EndpointError>(())
//! ```

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{
    Endpoint, Event, IncomingId, IncomingRequest, Protection, Reliability, RequestId,
    RequestOptions,
};
use mote_coap::message::OwnedMessage;
use mote_coap::transmission::RandomSource;
use mote_lwm2m::link::Link;
use mote_lwm2m::{Format, Record};

use crate::bootstrap::{BootstrapOutcome, BootstrapServer, BootstrapStep};
use crate::message::{Identity, Request, Response};

/// What a [`BootstrapEngine`] reports.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum BootstrapEvent<P> {
    /// A Bootstrap-Request was accepted (2.04): the session of `endpoint` starts (or starts
    /// over).
    Started {
        /// The Endpoint Client Name.
        endpoint: String,
        /// Where the requests of the session go.
        peer: P,
    },
    /// A Bootstrap-Request was refused (Transport §6.7: 4.00 for an unknown Endpoint Client
    /// Name or a malformed request, 4.15 for a `pct` that is no hierarchical format, 5.03
    /// while the session table is full).
    Refused {
        /// The Endpoint Client Name, when the request had one.
        endpoint: Option<String>,
        /// The client.
        peer: P,
        /// The response code sent.
        code: Code,
        /// Why.
        reason: String,
    },
    /// A Bootstrap-Pack-Request (`GET /bspack?ep=…`, Transport §6.4.1) was answered 2.05
    /// with the endpoint's whole plan; no session runs (a pack needs no Bootstrap-Finish).
    /// A refused one is [`BootstrapEvent::Refused`] (4.00, 4.04, 4.05, 4.06).
    PackServed {
        /// The Endpoint Client Name.
        endpoint: String,
        /// The client.
        peer: P,
        /// The format of the pack.
        format: Format,
        /// The size of the pack in bytes (sent in Block2 blocks when larger than one,
        /// RFC 7959 §2.4).
        size: usize,
    },
    /// A request of the session went out.
    StepSent {
        /// The Endpoint Client Name.
        endpoint: String,
        /// The step.
        step: BootstrapStep,
    },
    /// Bootstrap-Finish was answered 2.04 Changed.
    Finished {
        /// The Endpoint Client Name.
        endpoint: String,
        /// What Bootstrap-Discover listed.
        discovered: Vec<Link>,
        /// What Bootstrap-Read of /1 and /2 returned (LightweightM2M-BsR-001).
        read: Vec<Record>,
    },
    /// The session ended at `step`: an error response (e.g. 4.06 Not Acceptable to
    /// Bootstrap-Finish, "inconsistent loaded configuration"), or no response at all.
    Failed {
        /// The Endpoint Client Name.
        endpoint: String,
        /// The step.
        step: BootstrapStep,
        /// The response code (`None`: no usable response).
        code: Option<Code>,
        /// The diagnostic payload or what went wrong.
        reason: String,
    },
}

/// The configuration of a [`BootstrapEngine`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootstrapEngineConfig {
    /// How the session's requests are sent (Confirmable by default: the endpoint retransmits
    /// them, RFC 7252 §4.2).
    pub reliability: Reliability,
    /// Events kept until [`BootstrapEngine::poll_event`]; beyond, new events are dropped and
    /// counted ([`BootstrapEngine::dropped_events`]).
    pub max_queued_events: usize,
    /// Refuse a Bootstrap-Request or Bootstrap-Pack-Request that did not arrive through the
    /// endpoint's protection layer (e.g. not in an OSCORE security context) with 4.01
    /// Unauthorized (RFC 7252 §5.9.2.2; the plan holds the client's keys). Default off.
    pub require_protection: bool,
}

impl Default for BootstrapEngineConfig {
    fn default() -> Self {
        BootstrapEngineConfig {
            reliability: Reliability::Confirmable,
            max_queued_events: 256,
            require_protection: false,
        }
    }
}

/// Where a session's requests go: the client's address, the security context its
/// Bootstrap-Request came in, and the request outstanding.
#[derive(Debug)]
struct Route<P, I> {
    peer: P,
    identity: Option<I>,
    outstanding: Option<RequestId>,
}

/// The sans-IO bootstrap server on a CoAP endpoint (see the module documentation for the call
/// order). `P` is the endpoint's peer type, `I` the identity type of its protection layer.
#[derive(Debug)]
pub struct BootstrapEngine<P, I = ()> {
    server: BootstrapServer,
    config: BootstrapEngineConfig,
    identity_of: fn(&I) -> Identity,
    /// One per running session of `server`, by Endpoint Client Name.
    routes: BTreeMap<String, Route<P, I>>,
    /// The outstanding requests, at most one per route.
    requests: BTreeMap<RequestId, String>,
    events: VecDeque<BootstrapEvent<P>>,
    dropped_events: u64,
}

/// The [`Identity`] of a request through an endpoint without protection.
#[must_use]
pub fn no_identity(_: &()) -> Identity {
    Identity::None
}

impl<P: Clone + Eq + Ord + core::fmt::Debug> BootstrapEngine<P, ()> {
    /// An engine for an endpoint without protection layer.
    #[must_use]
    pub fn new(server: BootstrapServer, config: BootstrapEngineConfig) -> Self {
        Self::with_identity(server, config, no_identity)
    }
}

impl<P: Clone + Eq + Ord + core::fmt::Debug, I: Clone> BootstrapEngine<P, I> {
    /// An engine around `server` (its plans and [`crate::BootstrapLimits`], the session table
    /// bound included). `identity_of` names the security context a request arrived in (the
    /// endpoint's protection identity) as the [`Identity`] the plan's sessions record.
    #[must_use]
    pub fn with_identity(
        server: BootstrapServer,
        config: BootstrapEngineConfig,
        identity_of: fn(&I) -> Identity,
    ) -> Self {
        BootstrapEngine {
            server,
            config,
            identity_of,
            routes: BTreeMap::new(),
            requests: BTreeMap::new(),
            events: VecDeque::new(),
            dropped_events: 0,
        }
    }

    /// The bootstrap server (plans, running sessions).
    #[must_use]
    pub const fn server(&self) -> &BootstrapServer {
        &self.server
    }

    /// The bootstrap server, mutably (e.g. to change a plan).
    pub fn server_mut(&mut self) -> &mut BootstrapServer {
        &mut self.server
    }

    /// Events dropped because [`BootstrapEngineConfig::max_queued_events`] were waiting.
    #[must_use]
    pub const fn dropped_events(&self) -> u64 {
        self.dropped_events
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<BootstrapEvent<P>> {
        self.events.pop_front()
    }

    /// When [`BootstrapEngine::handle_timeout`] must be called next: the earliest response
    /// deadline of a session ([`crate::BootstrapLimits::response_timeout`]).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.server.poll_timeout()
    }

    /// Fails the sessions whose response deadline passed (their outstanding requests are
    /// cancelled on `ep`).
    pub fn handle_timeout<R, X>(&mut self, ep: &mut Endpoint<P, R, X>, now: Duration)
    where
        R: RandomSource,
        X: Protection<P, Identity = I>,
    {
        self.server.handle_timeout(now);
        self.drain_outcomes(ep, now);
    }

    /// Handles one event of `ep`: a Bootstrap-Request (answered here), or the outcome of one
    /// of the engine's requests. Every other event is handed back untouched.
    pub fn handle_event<R, X>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        event: Event<P, I>,
        now: Duration,
    ) -> Option<Event<P, I>>
    where
        R: RandomSource,
        X: Protection<P, Identity = I>,
    {
        match event {
            Event::Request { id, peer, message }
                if self.config.require_protection
                    && message.identity.is_none()
                    && (is_bootstrap_request(&message) || is_pack_request(&message)) =>
            {
                let endpoint = Request::from_parts(
                    message.message.code,
                    message.message.options.iter(),
                    &message.message.payload,
                )
                .ok()
                .and_then(|r| r.query_value("ep").map(String::from));
                let reason = "not protected (a security context is required)";
                self.push(BootstrapEvent::Refused {
                    endpoint,
                    peer,
                    code: Code::UNAUTHORIZED,
                    reason: String::from(reason),
                });
                let mut reply = OwnedMessage::new(MessageType::Ack, Code::UNAUTHORIZED, 0);
                Response::error(Code::UNAUTHORIZED, reason).write_into(&mut reply);
                let _ = ep.respond(now, id, reply);
                None
            }
            Event::Request { id, peer, message } if is_bootstrap_request(&message) => {
                self.bootstrap_request(ep, id, peer, &message, now);
                None
            }
            Event::Request { id, peer, message } if is_pack_request(&message) => {
                self.pack_request(ep, id, peer, &message, now);
                None
            }
            Event::Response { id, message, .. } if self.requests.contains_key(&id) => {
                if let Some(endpoint) = self.take_request(id) {
                    // An error here means the session is no longer waiting for this answer.
                    let _ = self.server.handle_response(
                        &endpoint,
                        message.code,
                        message.options.iter(),
                        &message.payload,
                    );
                }
                self.pump(ep, now);
                None
            }
            Event::TimedOut { id } if self.requests.contains_key(&id) => {
                self.transport_failed(
                    ep,
                    id,
                    "no response (RFC 7252 §4.2 retransmissions exhausted)",
                    now,
                );
                None
            }
            Event::Reset { id } if self.requests.contains_key(&id) => {
                self.transport_failed(ep, id, "the client answered with a Reset", now);
                None
            }
            Event::ResponseRejected { id, error, .. } if self.requests.contains_key(&id) => {
                let reason = format!("response rejected: {error}");
                self.transport_failed(ep, id, &reason, now);
                None
            }
            Event::BlockwiseFailed { id, error, .. } if self.requests.contains_key(&id) => {
                let reason = format!("block-wise transfer failed: {error}");
                self.transport_failed(ep, id, &reason, now);
                None
            }
            Event::ProtectionFailed { id, .. } if self.requests.contains_key(&id) => {
                self.transport_failed(ep, id, "the response did not verify", now);
                None
            }
            other => Some(other),
        }
    }

    fn take_request(&mut self, id: RequestId) -> Option<String> {
        let endpoint = self.requests.remove(&id)?;
        if let Some(route) = self.routes.get_mut(&endpoint) {
            if route.outstanding == Some(id) {
                route.outstanding = None;
            }
        }
        Some(endpoint)
    }

    fn transport_failed<R, X>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        id: RequestId,
        reason: &str,
        now: Duration,
    ) where
        R: RandomSource,
        X: Protection<P, Identity = I>,
    {
        if let Some(endpoint) = self.take_request(id) {
            self.server.abort(&endpoint, reason);
        }
        self.pump(ep, now);
    }

    fn push(&mut self, event: BootstrapEvent<P>) {
        if self.events.len() >= self.config.max_queued_events {
            self.dropped_events = self.dropped_events.saturating_add(1);
        } else {
            self.events.push_back(event);
        }
    }

    fn bootstrap_request<R, X>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        id: IncomingId,
        peer: P,
        message: &IncomingRequest<I>,
        now: Duration,
    ) where
        R: RandomSource,
        X: Protection<P, Identity = I>,
    {
        let response = match Request::from_parts(
            message.message.code,
            message.message.options.iter(),
            &message.message.payload,
        ) {
            Ok(request) => {
                let identity = message
                    .identity
                    .as_ref()
                    .map_or(Identity::None, self.identity_of);
                let response = self.server.handle_request(&request, &identity, now);
                let endpoint = request.query_value("ep").map(String::from);
                match endpoint {
                    Some(endpoint) if response.code == Code::CHANGED => {
                        // A new Bootstrap-Request starts the session over: the answer to the
                        // request still outstanding belongs to the old one.
                        if let Some(old) = self.routes.remove(&endpoint) {
                            if let Some(rid) = old.outstanding {
                                self.requests.remove(&rid);
                                let _ = ep.cancel(now, rid);
                            }
                        }
                        self.routes.insert(
                            endpoint.clone(),
                            Route {
                                peer: peer.clone(),
                                identity: message.identity.clone(),
                                outstanding: None,
                            },
                        );
                        self.push(BootstrapEvent::Started {
                            endpoint,
                            peer: peer.clone(),
                        });
                    }
                    endpoint => self.push(BootstrapEvent::Refused {
                        endpoint,
                        peer: peer.clone(),
                        code: response.code,
                        reason: String::from(response.diagnostic()),
                    }),
                }
                response
            }
            Err(e) => {
                let response = Response::error(Code::BAD_REQUEST, &format!("{e}"));
                self.push(BootstrapEvent::Refused {
                    endpoint: None,
                    peer: peer.clone(),
                    code: response.code,
                    reason: format!("{e}"),
                });
                response
            }
        };
        let mut reply = OwnedMessage::new(MessageType::Ack, response.code, 0);
        response.write_into(&mut reply);
        // The request may be gone already (e.g. answered 5.03 by the endpoint when full).
        let _ = ep.respond(now, id, reply);
        self.pump(ep, now);
    }

    /// Answers a Bootstrap-Pack-Request; the endpoint cuts a large pack into Block2 blocks
    /// and serves the follow-up requests (RFC 7959 §2.4), protected like the request.
    fn pack_request<R, X>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        id: IncomingId,
        peer: P,
        message: &IncomingRequest<I>,
        now: Duration,
    ) where
        R: RandomSource,
        X: Protection<P, Identity = I>,
    {
        let parsed = Request::from_parts(
            message.message.code,
            message.message.options.iter(),
            &message.message.payload,
        );
        let (response, endpoint, served) = match parsed {
            Ok(request) => {
                let response = self.server.handle_pack_request(&request);
                let endpoint = request.query_value("ep").map(String::from);
                let format = request
                    .accept
                    .and_then(Format::from_content_format)
                    .unwrap_or(Format::SenmlCbor);
                (response, endpoint, format)
            }
            Err(e) => (
                Response::error(Code::BAD_REQUEST, &format!("{e}")),
                None,
                Format::SenmlCbor,
            ),
        };
        match endpoint {
            Some(endpoint) if response.code == Code::CONTENT => {
                self.push(BootstrapEvent::PackServed {
                    endpoint,
                    peer,
                    format: served,
                    size: response.payload.len(),
                });
            }
            endpoint => self.push(BootstrapEvent::Refused {
                endpoint,
                peer,
                code: response.code,
                reason: String::from(response.diagnostic()),
            }),
        }
        let mut reply = OwnedMessage::new(MessageType::Ack, response.code, 0);
        response.write_into(&mut reply);
        // The request may be gone already (e.g. answered by the endpoint itself).
        let _ = ep.respond(now, id, reply);
    }

    /// Sends every request the sessions have ready, then reports ended sessions.
    fn pump<R, X>(&mut self, ep: &mut Endpoint<P, R, X>, now: Duration)
    where
        R: RandomSource,
        X: Protection<P, Identity = I>,
    {
        while let Some(request) = self.server.poll_request(now) {
            let Some(route) = self.routes.get_mut(&request.endpoint) else {
                self.server
                    .abort(&request.endpoint, "no route to the client");
                continue;
            };
            let mut message = OwnedMessage::new(MessageType::Con, request.parts.code, 0);
            message.options = request.parts.options;
            message.payload = request.parts.payload;
            let options =
                RequestOptions::new(self.config.reliability, ep.config().client_blockwise);
            let sent = match &route.identity {
                Some(identity) => ep.request_protected(
                    now,
                    route.peer.clone(),
                    message,
                    options,
                    identity.clone(),
                ),
                None => ep.request_with(now, route.peer.clone(), message, options),
            };
            match sent {
                Ok(id) => {
                    route.outstanding = Some(id);
                    self.requests.insert(id, request.endpoint.clone());
                    self.push(BootstrapEvent::StepSent {
                        endpoint: request.endpoint,
                        step: request.step,
                    });
                }
                Err(e) => {
                    let reason = format!("cannot send the request: {e}");
                    self.server.abort(&request.endpoint, &reason);
                }
            }
        }
        self.drain_outcomes(ep, now);
    }

    fn drain_outcomes<R, X>(&mut self, ep: &mut Endpoint<P, R, X>, now: Duration)
    where
        R: RandomSource,
        X: Protection<P, Identity = I>,
    {
        while let Some((endpoint, outcome)) = self.server.poll_outcome() {
            if let Some(route) = self.routes.remove(&endpoint) {
                if let Some(rid) = route.outstanding {
                    self.requests.remove(&rid);
                    let _ = ep.cancel(now, rid);
                }
            }
            let event = match outcome {
                BootstrapOutcome::Finished { discovered, read } => BootstrapEvent::Finished {
                    endpoint,
                    discovered,
                    read,
                },
                BootstrapOutcome::Failed {
                    step,
                    code,
                    diagnostic,
                } => BootstrapEvent::Failed {
                    endpoint,
                    step,
                    code,
                    reason: diagnostic,
                },
            };
            self.push(event);
        }
    }
}

/// Whether a request is for the Bootstrap-Request resource `/bs` (Transport §6.4.1). Every
/// method reaches [`BootstrapServer::handle_request`], which refuses all but POST.
fn is_bootstrap_request<I>(message: &IncomingRequest<I>) -> bool {
    let mut path = message
        .message
        .options
        .get_all(mote_coap::option::OptionNumber::URI_PATH);
    matches!(path.next(), Some(p) if p.value == b"bs") && path.next().is_none()
}

/// Whether a request is for the Bootstrap-Pack-Request resource `/bspack` (Transport
/// §6.4.1). Every method reaches [`BootstrapServer::handle_pack_request`], which refuses all
/// but GET with 4.05.
fn is_pack_request<I>(message: &IncomingRequest<I>) -> bool {
    let mut path = message
        .message
        .options
        .get_all(mote_coap::option::OptionNumber::URI_PATH);
    matches!(path.next(), Some(p) if p.value == b"bspack") && path.next().is_none()
}
