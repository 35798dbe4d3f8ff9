//! The resources of `mote serve`, as an [`Application`] of the driver: the LwM2M object tree,
//! the `/data/…` scratch area, `/.well-known/core` and `/.well-known/edhoc`.
//!
//! LwM2M operations map as in TS Transport 1.2 ("Device Management & Service Enablement
//! Interface"): GET = Read (or Discover with Accept 40), PUT = Write (replace), POST = Create
//! on an Object, partial-update Write on an Object Instance, Execute on a Resource; DELETE =
//! Delete; GET with Observe = Observe (notified every `--notify-ms`, the Current Time /3/0/13
//! advancing). Not implemented: Write-Attributes, the composite operations (FETCH/iPATCH),
//! access control (/2) and the Register/Update client role.
//!
//! The endpoint hands over whole requests (Block1 reassembled, options checked, fresh when
//! Echo is required, unprotected) and slices, numbers and protects what goes back.

use std::collections::BTreeMap;
use std::time::Duration;

use mote_coap::code::{Code, MessageType};
use mote_coap::content_format::ContentFormat;
use mote_coap::endpoint::{Event, IncomingRequest, ObserverHandle, ResourceState};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use mote_lwm2m::{Path as LwPath, Value};
use tracing::{debug, warn};

use super::ServeProtection;
use crate::net::{Application, Flow, Io, Remote};
use crate::object_tree::{LINK_FORMAT, ObjectTree, Refusal};

/// Seconds since the Unix epoch, for /3/0/13 Current Time.
pub(super) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// /3/0/13 Current Time (LwM2M Device object).
fn current_time() -> LwPath {
    LwPath::new(&[3, 0, 13]).unwrap_or(LwPath::ROOT)
}

/// An observation of the object tree: what to read for each notification (RFC 7641 §4.2: in
/// the format of the registration), and the security context it was made in.
#[derive(Debug)]
struct Observer<I> {
    path: LwPath,
    accept: Option<u16>,
    identity: Option<I>,
}

/// Entries the `/data` scratch area holds at most.
pub(crate) const MAX_SCRATCH_ENTRIES: usize = 64;
/// Bytes the `/data` scratch area holds at most, over all entries.
pub(crate) const MAX_SCRATCH_BYTES: usize = 4 << 20;

/// The application; `I` is the protection layer's identity (the OSCORE context a request
/// came in).
pub(crate) struct Server<I> {
    tree: ObjectTree,
    scratch: BTreeMap<String, Vec<u8>>,
    /// Every resource but /.well-known/core and /.well-known/edhoc needs protection.
    protected: bool,
    /// The observations the endpoint's registry accepted (so bounded by its configuration).
    observers: BTreeMap<ObserverHandle, Observer<I>>,
    interval: Duration,
    next_notification: Duration,
}

/// A response without payload; the endpoint sets type, Message ID and token.
fn response(code: Code) -> OwnedMessage {
    OwnedMessage::new(MessageType::Ack, code, 0)
}

/// 2.05 with a body in `format`.
fn content(format: u16, body: Vec<u8>) -> OwnedMessage {
    response(Code::CONTENT)
        .with_content_format(ContentFormat(format))
        .with_payload(body)
}

/// An error response with a diagnostic payload (RFC 7252 §5.5.2).
fn refusal(r: Refusal) -> OwnedMessage {
    response(r.code).with_payload(r.diagnostic.into_bytes())
}

/// The request's Uri-Path as `/a/b` (`/` for none).
fn target(message: &OwnedMessage) -> String {
    let mut path = String::new();
    for segment in message.options.get_all(OptionNumber::URI_PATH) {
        path.push('/');
        path.push_str(&String::from_utf8_lossy(segment.value));
    }
    if path.is_empty() {
        path.push('/');
    }
    path
}

/// A content-format valued option (Accept, Content-Format), if present and readable.
fn format_option(message: &OwnedMessage, number: OptionNumber) -> Option<u16> {
    message
        .option(number)
        .and_then(|o| o.as_uint().ok())
        .and_then(|v| u16::try_from(v).ok())
}

impl<I> Server<I> {
    /// The application over `tree`; the first notification is due `interval` after `now`.
    pub(crate) fn new(
        tree: ObjectTree,
        protected: bool,
        interval: Duration,
        now: Duration,
    ) -> Self {
        Self {
            tree,
            scratch: BTreeMap::new(),
            protected,
            observers: BTreeMap::new(),
            interval,
            next_notification: now + interval,
        }
    }

    /// Answers one request; `Some` path and format when it registered an observation of the
    /// object tree.
    fn request<X: ServeProtection<Identity = I>>(
        &mut self,
        io: &mut Io<'_, X>,
        peer: &Remote,
        request: &IncomingRequest<I>,
    ) -> (OwnedMessage, Option<(LwPath, Option<u16>)>) {
        if request.option(OptionNumber::EDHOC).is_some() {
            // RFC 9668 §3.1: the EDHOC option is critical. The EDHOC layer takes it off a
            // combined request; left on a request (no --edhoc, no OSCORE, or inside the
            // protected request, §3.3.1 step 8) it is not processed: 4.02 (RFC 7252 §5.4.1).
            return (
                response(Code::BAD_OPTION).with_payload(*b"EDHOC option not processed"),
                None,
            );
        }
        let path = target(request);
        if path == "/.well-known/edhoc" && request.code == Code::POST {
            let reply = io
                .endpoint
                .protection_mut()
                .edhoc_resource(io.now, peer, &request.message);
            if let Some(parts) = reply {
                return (parts.into_message(MessageType::Ack, 0, &[]), None);
            }
        }
        if self.protected && request.identity.is_none() && path != "/.well-known/core" {
            return (
                response(Code::UNAUTHORIZED).with_payload(*b"OSCORE required"),
                None,
            );
        }
        if path == "/.well-known/core" {
            if request.code != Code::GET {
                return (response(Code::METHOD_NOT_ALLOWED), None);
            }
            let mut links = self.tree.registration_links();
            links.push_str(",</data>");
            return (content(LINK_FORMAT, links.into_bytes()), None);
        }
        if path == "/data" || path.starts_with("/data/") {
            return (self.scratch(request, path), None);
        }
        let Ok(lw) = path.parse::<LwPath>() else {
            return (response(Code::NOT_FOUND), None);
        };
        self.lwm2m(request, lw)
    }

    /// The `/data/…` scratch area: opaque bodies, PUT/POST store (2.01 when new, 2.04
    /// otherwise), GET reads, DELETE removes; If-Match / If-None-Match are honoured
    /// (RFC 7252 §5.10.8, 4.12).
    fn scratch(&mut self, request: &IncomingRequest<I>, path: String) -> OwnedMessage {
        let state = ResourceState {
            exists: self.scratch.contains_key(&path),
            etag: None,
        };
        if let Err(e) = request.check_preconditions(state) {
            return response(e.response_code()).with_payload(e.to_string().into_bytes());
        }
        match request.code {
            Code::GET => match self.scratch.get(&path) {
                Some(body) => response(Code::CONTENT).with_payload(body.clone()),
                None => response(Code::NOT_FOUND),
            },
            Code::PUT | Code::POST => {
                // The scratch area is bounded like every table a peer can grow: a new entry
                // beyond MAX_SCRATCH_ENTRIES is 5.03, a body that would take the area past
                // MAX_SCRATCH_BYTES is 4.13 (RFC 7252 §5.9.2.9, §5.9.3.4).
                let old = self.scratch.get(&path).map_or(0, Vec::len);
                if old == 0
                    && !self.scratch.contains_key(&path)
                    && self.scratch.len() >= MAX_SCRATCH_ENTRIES
                {
                    return response(Code::SERVICE_UNAVAILABLE)
                        .with_payload(&b"the /data area holds its maximum of entries"[..]);
                }
                let held: usize = self.scratch.values().map(Vec::len).sum();
                if held - old + request.payload.len() > MAX_SCRATCH_BYTES {
                    return response(Code::REQUEST_ENTITY_TOO_LARGE)
                        .with_payload(&b"the /data area holds its maximum of bytes"[..]);
                }
                let existed = self.scratch.insert(path, request.payload.clone()).is_some();
                response(if existed {
                    Code::CHANGED
                } else {
                    Code::CREATED
                })
            }
            Code::DELETE => response(if self.scratch.remove(&path).is_some() {
                Code::DELETED
            } else {
                Code::NOT_FOUND
            }),
            _ => response(Code::METHOD_NOT_ALLOWED),
        }
    }

    /// The LwM2M operations on the object tree.
    fn lwm2m(
        &mut self,
        request: &IncomingRequest<I>,
        lw: LwPath,
    ) -> (OwnedMessage, Option<(LwPath, Option<u16>)>) {
        let state = ResourceState {
            exists: self.tree.exists(&lw),
            etag: None,
        };
        if let Err(e) = request.check_preconditions(state) {
            return (
                response(e.response_code()).with_payload(e.to_string().into_bytes()),
                None,
            );
        }
        let accept = format_option(request, OptionNumber::ACCEPT);
        let cf = format_option(request, OptionNumber::CONTENT_FORMAT);
        let body = &request.payload;
        let result = match request.code {
            Code::GET if accept == Some(LINK_FORMAT) => self
                .tree
                .discover(&lw)
                .map(|links| content(LINK_FORMAT, links.into_bytes())),
            Code::GET => {
                return match self.tree.read(&lw, accept) {
                    Ok((format, body)) => (content(format, body), Some((lw, accept))),
                    Err(r) => (refusal(r), None),
                };
            }
            // LwM2M Transport §6.3 (Device Management and Service Enablement): a PUT with
            // Uri-Query parameters is Write-Attributes, never a Write. This tree keeps no
            // attributes, so it refuses the operation and changes nothing.
            Code::PUT if request.options.get(OptionNumber::URI_QUERY).is_some() => Err(Refusal {
                code: Code::BAD_REQUEST,
                diagnostic: "Write-Attributes is not supported here (this tree keeps no \
                             attributes; mote lwm2m-client does)"
                    .to_owned(),
            }),
            Code::PUT => self
                .tree
                .write(&lw, cf, body, true)
                .map(|()| response(Code::CHANGED)),
            Code::POST => match lw.len() {
                1 => self.tree.create(&lw, cf, body).map(|created| {
                    let mut r = response(Code::CREATED);
                    for id in created.ids() {
                        r.options.push(OptionNumber::LOCATION_PATH, id.to_string());
                    }
                    r
                }),
                2 => self
                    .tree
                    .write(&lw, cf, body, false)
                    .map(|()| response(Code::CHANGED)),
                _ => self.tree.execute(&lw).map(|()| response(Code::CHANGED)),
            },
            Code::DELETE => self.tree.delete(&lw).map(|()| response(Code::DELETED)),
            code => Err(Refusal {
                code: Code::METHOD_NOT_ALLOWED,
                diagnostic: format!("{code} is not an LwM2M operation here"),
            }),
        };
        (result.unwrap_or_else(refusal), None)
    }

    /// Sends every observer the current value of its path; a path that went away ends the
    /// observation with its error code (RFC 7641 §3.2, §4.2).
    fn notify_all<X: ServeProtection<Identity = I>>(&mut self, io: &mut Io<'_, X>) {
        let mut ended = Vec::new();
        for (&handle, o) in &self.observers {
            let notification = match self.tree.read(&o.path, o.accept) {
                Ok((format, body)) => content(format, body),
                Err(r) => {
                    ended.push(handle);
                    response(r.code)
                }
            };
            if let Err(e) = io.endpoint.notify(io.now, handle, notification, false) {
                debug!(error = %e, "notification not sent; observation ended");
                ended.push(handle);
            }
        }
        for handle in ended {
            self.observers.remove(&handle);
        }
    }
}

impl<I: Clone + Eq + core::fmt::Debug, X: ServeProtection<Identity = I>> Application<X>
    for Server<I>
{
    fn event(&mut self, io: &mut Io<'_, X>, event: Event<Remote, I>) -> Flow {
        match event {
            Event::Request { id, peer, message } => {
                let (response, observed) = self.request(io, &peer, &message);
                if let Some(handle) = message.observation {
                    match observed {
                        // RFC 7641 §4.1: registered; a non-2.xx response ends it at the
                        // endpoint (and comes back as `ObservationEnded`).
                        Some((path, accept)) => {
                            let identity = message.identity.clone();
                            self.observers.insert(
                                handle,
                                Observer {
                                    path,
                                    accept,
                                    identity,
                                },
                            );
                        }
                        // Only the object tree is observable: answered as a plain GET.
                        None => {
                            io.endpoint.forget_observer(handle);
                        }
                    }
                }
                if let Err(e) = io.endpoint.respond(io.now, id, response) {
                    warn!(peer = %peer.addr(), error = %e, "response not sent");
                }
            }
            Event::ObservationEnded { handle, .. } => {
                self.observers.remove(&handle);
            }
            other => debug!(event = ?other, "endpoint event"),
        }
        self.end_replaced(io);
        Flow::Continue(())
    }

    fn poll_timeout(&self) -> Option<Duration> {
        Some(self.next_notification)
    }

    fn handle_timeout(&mut self, io: &mut Io<'_, X>) -> Flow {
        self.next_notification = io.now + self.interval;
        self.tree.set(&current_time(), Value::Time(unix_now()));
        self.notify_all(io);
        self.end_replaced(io);
        Flow::Continue(())
    }
}

impl<I: Clone + Eq> Server<I> {
    /// Ends the observations made under a context EDHOC replaced (`--edhoc-contexts`).
    fn end_replaced<X: ServeProtection<Identity = I>>(&mut self, io: &mut Io<'_, X>) {
        for removed in io.endpoint.protection_mut().replaced_contexts() {
            self.observers.retain(|&handle, o| {
                let keep = o.identity.as_ref() != Some(&removed);
                if !keep {
                    io.endpoint.forget_observer(handle);
                }
                keep
            });
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use mote_coap::endpoint::{EndpointConfig, MessageParts, Protection, ProtectionError};
    use mote_coap::message::Message;
    use mote_lwm2m::object::ObjectRegistry;

    use super::*;
    use crate::net::{CoapEndpoint, OsRandom};

    /// Takes every request as protected under context 1; reports the replaced contexts it is
    /// told to.
    #[derive(Debug, Default)]
    struct Contexts {
        replaced: Vec<u8>,
    }

    impl Protection<Remote> for Contexts {
        type Binding = ();
        type Identity = u8;

        fn unprotect_request(
            &mut self,
            _now: Duration,
            _peer: &Remote,
            outer: &Message<'_>,
        ) -> Result<Option<(MessageParts, (), u8)>, MessageParts> {
            Ok(Some((MessageParts::from_message(outer), (), 1)))
        }

        fn protect_response(
            &mut self,
            _binding: &(),
            inner: &MessageParts,
            _notification: bool,
        ) -> Result<MessageParts, ProtectionError> {
            Ok(inner.clone())
        }

        fn protect_request(
            &mut self,
            _peer: &Remote,
            _identity: &u8,
            inner: &MessageParts,
        ) -> Result<(MessageParts, ()), ProtectionError> {
            Ok((inner.clone(), ()))
        }

        fn unprotect_response(
            &mut self,
            _binding: &(),
            outer: &Message<'_>,
        ) -> Result<MessageParts, ProtectionError> {
            Ok(MessageParts::from_message(outer))
        }
    }

    impl ServeProtection for Contexts {
        fn edhoc_resource(
            &mut self,
            _now: Duration,
            _peer: &Remote,
            _request: &OwnedMessage,
        ) -> Option<MessageParts> {
            None
        }

        fn replaced_contexts(&mut self) -> Vec<u8> {
            std::mem::take(&mut self.replaced)
        }
    }

    fn observe(token: u8, path: [&str; 3]) -> Vec<u8> {
        let mut m = OwnedMessage::new(MessageType::Con, Code::GET, u16::from(token))
            .with_token(vec![token])
            .with_uint_option(OptionNumber::OBSERVE, 0);
        for segment in path {
            m = m.with_option(OptionNumber::URI_PATH, segment);
        }
        m.to_vec().unwrap()
    }

    /// `--edhoc-contexts`: when EDHOC replaces a context, the observations made under it end
    /// in the application and in the endpoint's registry; others stay.
    #[test]
    fn a_replaced_context_ends_its_observations() {
        let mut endpoint =
            CoapEndpoint::with_protection(EndpointConfig::default(), OsRandom, Contexts::default())
                .unwrap();
        let tree = ObjectTree::new(ObjectRegistry::with_builtin(), 0);
        let mut server = Server::new(tree, true, Duration::from_secs(1), Duration::ZERO);
        let peer = Remote::Udp {
            socket: 0,
            addr: "127.0.0.1:5683".parse().unwrap(),
        };
        let now = Duration::ZERO;
        endpoint.handle(now, peer, &observe(1, ["3", "0", "0"]));
        let mut io = Io {
            now,
            endpoint: &mut endpoint,
        };
        while let Some(e) = io.endpoint.poll_event() {
            let _ = server.event(&mut io, e);
        }
        assert_eq!(server.observers.len(), 1);
        assert_eq!(io.endpoint.stats().observers, 1);
        // Another context replaced: the observation stays, and is notified.
        io.endpoint.protection_mut().replaced.push(2);
        io.now = Duration::from_secs(1);
        let _ = server.handle_timeout(&mut io);
        assert_eq!(server.observers.len(), 1);
        assert_eq!(io.endpoint.stats().observers, 1);
        // Its own context replaced: gone from both.
        io.endpoint.protection_mut().replaced.push(1);
        io.now = Duration::from_secs(2);
        let _ = server.handle_timeout(&mut io);
        assert!(server.observers.is_empty());
        assert_eq!(io.endpoint.stats().observers, 0);
    }
}
