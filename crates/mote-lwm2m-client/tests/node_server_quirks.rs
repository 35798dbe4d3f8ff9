//! What an LwM2M 1.0-era server (lwm2m-node-lib 1.4.0 over node-coap 0.22, measured on the
//! wire in docs/interop.md, "lwm2m-node-lib") sends that the standard allows or that a 1.0
//! client must understand, and what this crate does with it. The interop test itself is
//! `node_server_with_mote_client` in the `mote` crate; each test here fails without the
//! change it names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use mote_coap::code::{Code, MessageType};
use mote_coap::content_format::ContentFormat as Cf;
use mote_coap::endpoint::{Endpoint, EndpointConfig, Event, Reliability};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use mote_lwm2m::Value;
use mote_lwm2m_client::registration::{
    Event as RegEvent, Operation, Registrar, RegistrationConfig,
};
use mote_lwm2m_client::reporting::{Reporter, ReportingConfig, endpoint_config};
use mote_lwm2m_client::{ClientConfig, Engine, EngineConfig, Request};

/// Content-Format 1541, the LwM2M 1.0 drafts' `application/vnd.oma.lwm2m+text`.
const CF_1541: Cf = Cf(1541);

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

/// Register answered 2.01 with ONE Location-Path option `rd/1` (node server): the location
/// is kept as it came and Update and De-register go to exactly that, one Uri-Path `rd/1`
/// (RFC 7252 §5.10.7: the Location-Path options are opaque segments; the server joins its
/// Uri-Path options with `/`, so the request reaches it).
#[test]
fn location_path_with_a_slash_is_kept_verbatim() {
    let mut c = fixture();
    let mut reg = Registrar::new(RegistrationConfig {
        lwm2m_version: "1.0".into(),
        ..RegistrationConfig::default()
    });
    reg.start(&c, s(0));
    reg.handle_timeout(&mut c, s(0));
    let out = reg.poll_transmit().unwrap();
    assert_eq!(out.operation, Operation::Register);
    let location: [(OptionNumber, &[u8]); 1] = [(OptionNumber::LOCATION_PATH, b"rd/1")];
    reg.on_response(&mut c, out.handle, Code::CREATED, &location, &[], s(1));
    let ssid = match std::iter::from_fn(|| reg.poll_event()).next() {
        Some(RegEvent::Registered(ssid)) => ssid,
        other => panic!("{other:?}"),
    };
    assert_eq!(reg.location(ssid), Some(&["rd/1".to_string()][..]));

    // (The fixture's other account registers meanwhile: only `ssid`'s requests matter.)
    assert!(reg.request_update(ssid));
    reg.handle_timeout(&mut c, s(2));
    let out = std::iter::from_fn(|| reg.poll_transmit())
        .find(|o| o.operation == Operation::Update)
        .unwrap();
    assert_eq!(out.request.uri_path, ["rd/1"]);
    reg.on_response(&mut c, out.handle, Code::CHANGED, &[], &[], s(2));

    reg.deregister(ssid);
    let out = std::iter::from_fn(|| reg.poll_transmit())
        .find(|o| o.operation == Operation::Deregister)
        .unwrap();
    assert_eq!(out.request.uri_path, ["rd/1"]);
}

/// Write with Content-Format 1541 (the node server's Write and Execute): plain text for a
/// client registered as LwM2M 1.0, 4.15 Unsupported Content-Format otherwise.
#[test]
fn pre_standard_text_is_text_only_when_enabled() {
    let write = || Request::new(Code::PUT, "/3/0/14").with_payload(CF_1541, b"+02:00".to_vec());
    let mut c = fixture_with(ClientConfig {
        lwm2m_1_0: true,
        ..ClientConfig::default()
    });
    assert_eq!(c.handle(S101, &write()).code, Code::CHANGED);
    assert_eq!(value(&c, "/3/0/14"), Some(Value::String("+02:00".into())));

    let mut c = fixture();
    assert_eq!(
        c.handle(S101, &write()).code,
        Code::UNSUPPORTED_CONTENT_FORMAT
    );
    assert_ne!(value(&c, "/3/0/14"), Some(Value::String("+02:00".into())));
}

/// The engine enables 1541 exactly when it registers as LwM2M 1.0.
#[test]
fn the_engine_takes_1541_only_when_registering_as_1_0() {
    for (version, expected) in [
        ("1.0", Code::CHANGED),
        ("1.1", Code::UNSUPPORTED_CONTENT_FORMAT),
        ("1.2", Code::UNSUPPORTED_CONTENT_FORMAT),
    ] {
        let mut engine: Engine<u16> = Engine::new(
            fixture(),
            Registrar::new(RegistrationConfig {
                lwm2m_version: version.into(),
                ..RegistrationConfig::default()
            }),
            Reporter::new(ReportingConfig::default()),
            |_: &str| None,
            EngineConfig::default(),
        );
        let put = Request::new(Code::PUT, "/3/0/14").with_payload(CF_1541, b"+03:00".to_vec());
        assert_eq!(
            engine.client_mut().handle(S101, &put).code,
            expected,
            "{version}"
        );
    }
}

/// Read (and Observe) of a single resource with no Accept (the node server with its
/// library defaults) is answered as text/plain by a 1.0 client; an instance still gets the
/// default format, and a 1.1 / 1.2 client keeps the default for both.
#[test]
fn read_of_a_single_resource_without_accept_is_text_for_1_0() {
    let mut c = fixture_with(ClientConfig {
        lwm2m_1_0: true,
        ..ClientConfig::default()
    });
    let r = c.handle(S101, &get("/3/0/0"));
    assert_eq!(r.code, Code::CONTENT);
    assert_eq!(r.content_format, Some(Cf::TEXT_PLAIN));
    assert_eq!(r.payload, b"Mote");
    let r = c.handle(S101, &get("/3/0/0").with_observe(0));
    assert_eq!(r.content_format, Some(Cf::TEXT_PLAIN));
    // Accept 0 is the same answer.
    let r = c.handle(S101, &get("/3/0/0").with_accept(Cf::TEXT_PLAIN));
    assert_eq!(r.content_format, Some(Cf::TEXT_PLAIN));
    // An instance without Accept: the configured default (SenML CBOR).
    let r = c.handle(S101, &get("/3/0"));
    assert_eq!(r.code, Code::CONTENT);
    assert_eq!(r.content_format, Some(Cf::SENML_CBOR));

    let mut c = fixture();
    let r = c.handle(S101, &get("/3/0/0"));
    assert_eq!(r.content_format, Some(Cf::SENML_CBOR));
}

/// The first Observe response carries Observe 1 with the endpoint configuration this crate
/// recommends: node-coap drops a first response with Observe 0 (it keeps a value only when
/// Observe is greater than the last, which starts at 0) and would take the next notification
/// as the Observe result.
#[test]
fn first_observe_response_carries_observe_1() {
    let mut seed = 7u32;
    let rng = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    let mut server = Endpoint::new(EndpointConfig::default(), rng).unwrap();
    let mut client = Endpoint::new(endpoint_config(EndpointConfig::default()), rng).unwrap();
    let now = s(100);
    let get = OwnedMessage::new(MessageType::Con, Code::GET, 0)
        .with_option(OptionNumber::URI_PATH, "3303")
        .with_option(OptionNumber::URI_PATH, "0")
        .with_option(OptionNumber::URI_PATH, "5700")
        .with_uint_option(OptionNumber::OBSERVE, 0);
    let id = server
        .request(now, "client", get, Reliability::Confirmable)
        .unwrap();
    while let Some(t) = server.poll_transmit() {
        client.handle(now, "server", &t.datagram);
    }
    let mut observed = false;
    while let Some(event) = client.poll_event() {
        if let Event::Request { id, message, .. } = event {
            observed = message.observation.is_some();
            let content =
                OwnedMessage::new(MessageType::Ack, Code::CONTENT, 0).with_payload(*b"21.5");
            client.respond(now, id, content).unwrap();
        }
    }
    assert!(observed, "the client endpoint registered the observation");
    while let Some(t) = client.poll_transmit() {
        server.handle(now, "client", &t.datagram);
    }
    let mut first = None;
    while let Some(event) = server.poll_event() {
        if let Event::Response {
            id: got, message, ..
        } = event
        {
            assert_eq!(got, id);
            first = Some(
                message
                    .option(OptionNumber::OBSERVE)
                    .map(|o| o.as_uint().unwrap()),
            );
        }
    }
    assert_eq!(first, Some(Some(1)));
}
