//! `mote serve --plugtest`: the resources of the OSCORE interoperability test specification
//! (the "OSCORE plugtest" Californium, aiocoap, RIOT and liboscore were tested with), as an
//! [`Application`] of the driver in place of the object tree.
//!
//! | resource              | access      | behaviour                                          |
//! |-----------------------|-------------|----------------------------------------------------|
//! | `/oscore/hello/coap`  | plain only  | GET: 2.05, Content-Format 0, "Hello World!"        |
//! | `/oscore/hello/1`     | OSCORE      | GET: as above (Observe ignored: not observable)    |
//! | `/oscore/hello/2`     | OSCORE      | GET: as above, ETag 0x2b                           |
//! | `/oscore/hello/3`     | OSCORE      | GET: as above, Max-Age 5                           |
//! | `/oscore/observe1`/`2`| OSCORE      | GET+Observe: "one", 2 s later "two", 2 s later 5.00 "Terminate Observe" |
//! | `/oscore/hello/6`     | OSCORE      | POST: 2.04, Content-Format 0, echoes the payload   |
//! | `/oscore/hello/7`     | OSCORE      | PUT: ETag 0x7b; If-Match / If-None-Match (4.12), 2.04 |
//! | `/oscore/test`        | OSCORE      | DELETE: 2.02                                       |
//!
//! The error cases of the specification (unknown kid 4.01, decryption failure 4.00, replay
//! 4.01, Appendix B.1.2 Echo after a restart) are the OSCORE layer's (`mote_oscore::endpoint`);
//! a plain request to a protected resource is answered 4.01 here; an OSCORE request to a
//! server without contexts gets 4.02 from mote-coap's endpoint (RFC 7252 §5.4.1: the option is
//! critical, and `NoProtection` does not process it).

use std::collections::BTreeMap;
use std::time::Duration;

use mote_coap::code::{Code, MessageType};
use mote_coap::content_format::ContentFormat;
use mote_coap::endpoint::{Event, IncomingRequest, ObserverHandle, ResourceState};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use tracing::{debug, warn};

use super::ServeProtection;
use crate::net::{Application, Flow, Io, Remote};

/// The payload of the hello resources.
const HELLO: &[u8] = b"Hello World!";

/// The ETag of `/oscore/hello/2`.
const HELLO2_ETAG: u8 = 0x2b;

/// The ETag of `/oscore/hello/7`'s representation (the If-Match of test 9).
const HELLO7_ETAG: u8 = 0x7b;

/// The Max-Age of `/oscore/hello/3`, in seconds.
const HELLO3_MAX_AGE: u32 = 5;

/// The time between the notifications of `/oscore/observe1` and `/oscore/observe2`.
const OBSERVE_STEP: Duration = Duration::from_secs(2);

/// Observations kept at once (the endpoint's registry bounds them as well).
const MAX_OBSERVATIONS: usize = 64;

/// A response without payload; the endpoint sets type, Message ID and token.
fn response(code: Code) -> OwnedMessage {
    OwnedMessage::new(MessageType::Ack, code, 0)
}

/// 2.05 "Hello World!" in text/plain.
fn hello() -> OwnedMessage {
    response(Code::CONTENT)
        .with_content_format(ContentFormat(0))
        .with_payload(HELLO)
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

/// One observation of `/oscore/observe1` or `/oscore/observe2`: the notifications sent so
/// far and when the next is due.
#[derive(Debug, Clone, Copy)]
struct Observation {
    sent: u8,
    due: Duration,
}

/// The plugtest application; `protected` is false when the server runs without OSCORE
/// contexts (then every resource is plain, for the specification's test 16).
pub(crate) struct Plugtest {
    protected: bool,
    observations: BTreeMap<ObserverHandle, Observation>,
}

impl Plugtest {
    /// The application; with `protected`, every resource but `/oscore/hello/coap` and
    /// `/.well-known/core` needs OSCORE.
    pub(crate) fn new(protected: bool) -> Self {
        Self {
            protected,
            observations: BTreeMap::new(),
        }
    }

    /// Answers one request; `true` when it is an observation of an observable resource.
    fn request<I>(&self, request: &IncomingRequest<I>) -> (OwnedMessage, bool) {
        let path = target(request);
        let plain = path == "/oscore/hello/coap" || path == "/.well-known/core";
        if self.protected && !plain && request.identity.is_none() {
            // Test 17: a plain request to a protected resource.
            return (
                response(Code::UNAUTHORIZED).with_payload(*b"OSCORE required"),
                false,
            );
        }
        let method = request.code;
        let reply = match (path.as_str(), method) {
            ("/.well-known/core", Code::GET) => response(Code::CONTENT)
                .with_content_format(ContentFormat(40))
                .with_payload(
                    *b"</oscore/hello/coap>,</oscore/hello/1>,</oscore/hello/2>,\
</oscore/hello/3>,</oscore/hello/6>,</oscore/hello/7>,</oscore/observe1>;obs,\
</oscore/observe2>;obs,</oscore/test>",
                ),
            ("/oscore/hello/coap" | "/oscore/hello/1", Code::GET) => hello(),
            ("/oscore/hello/2", Code::GET) => {
                hello().with_option(OptionNumber::ETAG, [HELLO2_ETAG])
            }
            ("/oscore/hello/3", Code::GET) => {
                hello().with_uint_option(OptionNumber::MAX_AGE, HELLO3_MAX_AGE)
            }
            ("/oscore/observe1" | "/oscore/observe2", Code::GET) => {
                return (
                    response(Code::CONTENT)
                        .with_content_format(ContentFormat(0))
                        .with_payload(*b"one"),
                    true,
                );
            }
            ("/oscore/hello/6", Code::POST) => response(Code::CHANGED)
                .with_content_format(ContentFormat(0))
                .with_payload(request.payload.clone()),
            ("/oscore/hello/7", Code::PUT) => {
                let etag = [HELLO7_ETAG];
                let state = ResourceState {
                    exists: true,
                    etag: Some(&etag),
                };
                match request.check_preconditions(state) {
                    Ok(()) => response(Code::CHANGED),
                    Err(e) => response(e.response_code()),
                }
            }
            ("/oscore/test", Code::DELETE) => response(Code::DELETED),
            (
                "/.well-known/core" | "/oscore/hello/coap" | "/oscore/hello/1" | "/oscore/hello/2"
                | "/oscore/hello/3" | "/oscore/observe1" | "/oscore/observe2" | "/oscore/hello/6"
                | "/oscore/hello/7" | "/oscore/test",
                _,
            ) => response(Code::METHOD_NOT_ALLOWED),
            _ => response(Code::NOT_FOUND),
        };
        (reply, false)
    }

    /// The next notification of an observation: "two", then the terminating 5.00.
    fn notification(sent: u8) -> OwnedMessage {
        if sent <= 1 {
            response(Code::CONTENT)
                .with_content_format(ContentFormat(0))
                .with_payload(*b"two")
        } else {
            response(Code::INTERNAL_SERVER_ERROR)
                .with_content_format(ContentFormat(0))
                .with_payload(*b"Terminate Observe")
        }
    }
}

impl<I: Clone + Eq + core::fmt::Debug, X: ServeProtection<Identity = I>> Application<X>
    for Plugtest
{
    fn event(&mut self, io: &mut Io<'_, X>, event: Event<Remote, I>) -> Flow {
        match event {
            Event::Request { id, peer, message } => {
                let (reply, observable) = self.request(&message);
                if let Some(handle) = message.observation {
                    if observable && self.observations.len() < MAX_OBSERVATIONS {
                        self.observations.insert(
                            handle,
                            Observation {
                                sent: 1,
                                due: io.now + OBSERVE_STEP,
                            },
                        );
                    } else {
                        // Test 5: not observable (or full), answered as a plain GET.
                        io.endpoint.forget_observer(handle);
                    }
                }
                if let Err(e) = io.endpoint.respond(io.now, id, reply) {
                    warn!(peer = %peer.addr(), error = %e, "response not sent");
                }
            }
            Event::ObservationEnded { handle, .. } => {
                self.observations.remove(&handle);
            }
            other => debug!(event = ?other, "endpoint event"),
        }
        Flow::Continue(())
    }

    fn poll_timeout(&self) -> Option<Duration> {
        self.observations.values().map(|o| o.due).min()
    }

    fn handle_timeout(&mut self, io: &mut Io<'_, X>) -> Flow {
        let due: Vec<_> = self
            .observations
            .iter()
            .filter(|(_, o)| o.due <= io.now)
            .map(|(&h, &o)| (h, o))
            .collect();
        for (handle, o) in due {
            let last = o.sent >= 2;
            if let Err(e) = io
                .endpoint
                .notify(io.now, handle, Self::notification(o.sent), true)
            {
                debug!(error = %e, "notification not sent; observation ended");
                self.observations.remove(&handle);
                continue;
            }
            if last {
                self.observations.remove(&handle);
            } else {
                self.observations.insert(
                    handle,
                    Observation {
                        sent: o.sent + 1,
                        due: io.now + OBSERVE_STEP,
                    },
                );
            }
        }
        Flow::Continue(())
    }
}
