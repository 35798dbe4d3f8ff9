//! A blocking client on the [`Driver`]: one request, or one observation, at a time, for
//! `mote coap` and the protocol steps of `mote demo`.
//!
//! The endpoint does everything CoAP (retransmission, block-wise both ways, Echo, Observe,
//! protection); [`Client`] only runs the driver until the request's final event. Between
//! requests the sockets stay open and the endpoint keeps its state, so the requests of one
//! [`Client`] are one client to the server (one Message ID space, one OSCORE context).

use std::time::Duration;

use mote_coap::endpoint::{
    EndpointConfig, Event, NoProtection, Protection, RequestId, RequestOptions, TransferProgress,
};
use mote_coap::message::OwnedMessage;

use super::driver::CoapEndpoint;
use super::{Application, Driver, DriverConfig, Flow, Io, Listen, NetError, Remote, runtime};

/// How a request ended without a response to show as the answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ClientError {
    /// The I/O layer failed (bind, connect, runtime).
    #[error(transparent)]
    Net(#[from] NetError),
    /// The endpoint refused to send the request.
    #[error("cannot send the request: {0}")]
    Request(mote_coap::endpoint::EndpointError),
    /// Nothing arrived within the client's timeout.
    #[error("no {what} within {} s", .after.as_secs())]
    NoResponse {
        /// `"response"` or `"notification"`.
        what: &'static str,
        /// The timeout.
        after: Duration,
    },
    /// The endpoint gave up after its last retransmission (RFC 7252 §4.2).
    #[error("no response (MAX_RETRANSMIT reached)")]
    TimedOut,
    /// The server rejected the request with a Reset.
    #[error("the server answered with a Reset")]
    Reset,
    /// A response carried a critical option the endpoint does not know (RFC 7252 §5.4.1).
    #[error("response rejected: {0}")]
    Rejected(mote_coap::error::OptionError),
    /// A block-wise transfer broke (RFC 7959).
    #[error("block-wise transfer failed: {0}")]
    Blockwise(mote_coap::endpoint::BlockwiseError),
    /// The response to a protected request did not verify; `response` is what came, e.g. an
    /// unprotected error answer (RFC 8613 §8.2).
    #[error("{}", unverified(.response))]
    Unverified {
        /// The response as received.
        response: OwnedMessage,
    },
    /// The TCP connection closed before the response.
    #[error("the connection closed")]
    ConnectionClosed,
}

/// The text of [`ClientError::Unverified`]: an unprotected error answer with its diagnostic
/// payload (`unprotected 4.01 response: Replay detected`), else a verification failure.
fn unverified(response: &OwnedMessage) -> String {
    let protected = response
        .option(mote_coap::option::OptionNumber::OSCORE)
        .is_some();
    if !protected && response.code.is_response() && response.code.class() != 2 {
        format!(
            "unprotected {} response: {}",
            response.code,
            String::from_utf8_lossy(&response.payload)
        )
    } else {
        format!(
            "the {} response failed verification (OSCORE)",
            response.code
        )
    }
}

/// A client of one server over UDP or TCP (see the module documentation).
#[derive(Debug)]
pub(crate) struct Client<X: Protection<Remote> = NoProtection> {
    runtime: tokio::runtime::Runtime,
    driver: Driver<X>,
    server: Remote,
    timeout: Duration,
}

impl<X: Protection<Remote>> Client<X> {
    /// A client of `server` whose endpoint protects with `protection`; over TCP it connects
    /// now (the CSMs are exchanged with the first request, RFC 8323 §5.3). `timeout` bounds
    /// each wait for a response or notification.
    ///
    /// # Errors
    /// [`ClientError::Net`].
    pub(crate) fn connect(
        server: Listen,
        config: EndpointConfig,
        protection: X,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let runtime = runtime()?;
        let mut driver = Driver::with_protection(DriverConfig::default(), config, protection)?;
        let server = runtime.block_on(driver.connect(server))?;
        Ok(Self {
            runtime,
            driver,
            server,
            timeout,
        })
    }

    /// Whether the server is reached over TCP.
    pub(crate) const fn is_tcp(&self) -> bool {
        matches!(self.server, Remote::Tcp { .. })
    }

    /// The endpoint (its protection layer, its statistics).
    pub(crate) fn endpoint(&mut self) -> &mut CoapEndpoint<X> {
        self.driver.endpoint()
    }

    /// Sends `request` (protected under `identity` when given) and waits for its final
    /// response: the whole body after a block-wise download, after an Echo retry.
    ///
    /// # Errors
    /// [`ClientError`] when no response can be shown as the answer.
    pub(crate) fn request(
        &mut self,
        request: OwnedMessage,
        options: RequestOptions,
        identity: Option<X::Identity>,
    ) -> Result<OwnedMessage, ClientError> {
        let mut response = None;
        self.exchange(request, options, identity, &mut |m| {
            response = Some(m.clone());
            Flow::Break(())
        })?;
        response.ok_or(ClientError::TimedOut)
    }

    /// Sends `request` and hands `each` the response and, while the request registered an
    /// observation (RFC 7641), every notification, until `each` says [`Flow::Break`] or a
    /// response ends the observation. `progress` is told how far a block-wise transfer has
    /// come, about every 100 ms.
    ///
    /// # Errors
    /// [`ClientError`].
    pub(crate) fn exchange(
        &mut self,
        request: OwnedMessage,
        options: RequestOptions,
        identity: Option<X::Identity>,
        each: &mut dyn FnMut(&OwnedMessage) -> Flow,
    ) -> Result<(), ClientError> {
        self.exchange_with_progress(request, options, identity, each, None)
    }

    /// [`Client::exchange`] with a progress callback.
    ///
    /// # Errors
    /// [`ClientError`].
    pub(crate) fn exchange_with_progress<'a>(
        &mut self,
        request: OwnedMessage,
        options: RequestOptions,
        identity: Option<X::Identity>,
        each: &'a mut dyn FnMut(&OwnedMessage) -> Flow,
        progress: Option<&'a mut dyn FnMut(TransferProgress)>,
    ) -> Result<(), ClientError> {
        let mut app = Exchange {
            server: self.server,
            request: Some((request, options, identity)),
            id: None,
            timeout: self.timeout,
            deadline: Duration::ZERO,
            seen: 0,
            each,
            progress,
            next_progress: Duration::ZERO,
            result: None,
        };
        let Self {
            runtime, driver, ..
        } = self;
        runtime.block_on(driver.run(&mut app))?;
        app.result.unwrap_or(Ok(()))
    }
}

/// How often the progress callback runs.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// The application of one exchange.
struct Exchange<'a, X: Protection<Remote>> {
    server: Remote,
    request: Option<(OwnedMessage, RequestOptions, Option<X::Identity>)>,
    id: Option<RequestId>,
    timeout: Duration,
    /// When the wait for the next message ends.
    deadline: Duration,
    /// Messages handed to `each`.
    seen: u64,
    each: &'a mut dyn FnMut(&OwnedMessage) -> Flow,
    progress: Option<&'a mut dyn FnMut(TransferProgress)>,
    next_progress: Duration,
    result: Option<Result<(), ClientError>>,
}

impl<X: Protection<Remote>> Exchange<'_, X> {
    fn end(&mut self, result: Result<(), ClientError>) -> Flow {
        self.result = Some(result);
        Flow::Break(())
    }

    fn deliver(&mut self, now: Duration, message: &OwnedMessage) -> Flow {
        self.seen += 1;
        self.deadline = now + self.timeout;
        (self.each)(message)
    }
}

impl<X: Protection<Remote>> Application<X> for Exchange<'_, X> {
    fn start(&mut self, io: &mut Io<'_, X>) -> Flow {
        self.deadline = io.now + self.timeout;
        self.next_progress = io.now + PROGRESS_EVERY;
        let Some((request, options, identity)) = self.request.take() else {
            return Flow::Break(());
        };
        let sent = match identity {
            Some(identity) => {
                io.endpoint
                    .request_protected(io.now, self.server, request, options, identity)
            }
            None => io
                .endpoint
                .request_with(io.now, self.server, request, options),
        };
        match sent {
            Ok(id) => {
                self.id = Some(id);
                Flow::Continue(())
            }
            Err(e) => self.end(Err(ClientError::Request(e))),
        }
    }

    fn event(&mut self, io: &mut Io<'_, X>, event: Event<Remote, X::Identity>) -> Flow {
        let Some(mine) = self.id else {
            return Flow::Continue(());
        };
        match event {
            Event::Response { id, message, .. } if id == mine => {
                // RFC 7641 §3.2: a 2.xx response with Observe keeps the observation going.
                let observing = message.code.class() == 2
                    && message
                        .option(mote_coap::option::OptionNumber::OBSERVE)
                        .is_some();
                if self.deliver(io.now, &message).is_break() || !observing {
                    if observing {
                        let _over = io.endpoint.cancel_observation(io.now, mine, false);
                    }
                    return self.end(Ok(()));
                }
                Flow::Continue(())
            }
            Event::Notification { id, message, .. } if id == mine => {
                if self.deliver(io.now, &message).is_break() {
                    let _over = io.endpoint.cancel_observation(io.now, mine, false);
                    return self.end(Ok(()));
                }
                Flow::Continue(())
            }
            Event::ProtectionFailed { id, response, .. } if id == mine => {
                self.end(Err(ClientError::Unverified { response }))
            }
            Event::TimedOut { id } if id == mine => self.end(Err(ClientError::TimedOut)),
            Event::Reset { id } if id == mine => self.end(Err(ClientError::Reset)),
            Event::ResponseRejected { id, error, .. } if id == mine => {
                self.end(Err(ClientError::Rejected(error)))
            }
            Event::BlockwiseFailed { id, error, .. } if id == mine => {
                self.end(Err(ClientError::Blockwise(error)))
            }
            Event::ConnectionClosed { peer, .. } if peer == self.server => {
                self.end(Err(ClientError::ConnectionClosed))
            }
            _ => Flow::Continue(()),
        }
    }

    fn poll_timeout(&self) -> Option<Duration> {
        Some(match self.progress {
            Some(_) => self.deadline.min(self.next_progress),
            None => self.deadline,
        })
    }

    fn handle_timeout(&mut self, io: &mut Io<'_, X>) -> Flow {
        if io.now >= self.deadline {
            if let Some(id) = self.id {
                let _over = io.endpoint.cancel(io.now, id);
            }
            let what = if self.seen == 0 {
                "response"
            } else {
                "notification"
            };
            return self.end(Err(ClientError::NoResponse {
                what,
                after: self.timeout,
            }));
        }
        if io.now >= self.next_progress {
            self.next_progress = io.now + PROGRESS_EVERY;
            if let (Some(report), Some(id)) = (self.progress.as_mut(), self.id) {
                if let Some(p) = io.endpoint.transfer_progress(id) {
                    report(p);
                }
            }
        }
        Flow::Continue(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::net::UdpSocket;
    use std::time::Duration;

    use mote_coap::code::{Code, MessageType};
    use mote_coap::endpoint::{EndpointConfig, NoProtection, Reliability, RequestOptions};
    use mote_coap::message::{Message, OwnedMessage};
    use mote_coap::transmission::TransmissionParameters;

    use super::{Client, ClientError};
    use crate::net::Listen;

    /// The first transmission of a client's first request leaves the new socket: with an
    /// ACK_TIMEOUT of a minute nothing would retransmit a dropped one before the read gives
    /// up. The server answers; the client returns that response.
    #[test]
    fn the_first_request_goes_out_at_once_and_its_answer_returns() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let addr = server.local_addr().unwrap();
        let answer = std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            let (n, from) = server
                .recv_from(&mut buf)
                .expect("the first request was dropped");
            let req = Message::decode(&buf[..n]).unwrap();
            assert_eq!((req.code(), req.payload()), (Code::PUT, &b"abc"[..]));
            let reply = OwnedMessage::new(MessageType::Ack, Code::CHANGED, req.message_id())
                .with_token(req.token())
                .with_payload("done");
            server.send_to(&reply.to_vec().unwrap(), from).unwrap();
        });
        let config = EndpointConfig {
            transmission: TransmissionParameters::new(Duration::from_secs(60), 1.0, 1).unwrap(),
            ..EndpointConfig::default()
        };
        let options = RequestOptions::new(Reliability::Confirmable, config.client_blockwise);
        let mut client = Client::connect(
            Listen::Udp(addr),
            config,
            NoProtection,
            Duration::from_secs(30),
        )
        .unwrap();
        let put = OwnedMessage::new(MessageType::Con, Code::PUT, 0).with_payload("abc");
        let response = client.request(put, options, None).unwrap();
        answer.join().unwrap();
        assert_eq!(
            (response.code, response.payload.as_slice()),
            (Code::CHANGED, &b"done"[..])
        );
    }

    /// Nothing answers: the client's own timeout ends the wait with `NoResponse`.
    #[test]
    fn silence_ends_with_no_response() {
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let config = EndpointConfig::default();
        let options = RequestOptions::new(Reliability::Confirmable, config.client_blockwise);
        let mut client = Client::connect(
            Listen::Udp(silent.local_addr().unwrap()),
            config,
            NoProtection,
            Duration::from_millis(300),
        )
        .unwrap();
        let get = OwnedMessage::new(MessageType::Con, Code::GET, 0);
        let err = client.request(get, options, None).unwrap_err();
        assert!(
            matches!(
                err,
                ClientError::NoResponse {
                    what: "response",
                    ..
                }
            ),
            "{err}"
        );
    }
}
