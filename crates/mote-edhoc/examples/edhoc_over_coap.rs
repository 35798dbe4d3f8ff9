//! EDHOC over CoAP with two `mote_coap` endpoints (RFC 9528 Appendix A.2) and the combined
//! EDHOC + OSCORE request (RFC 9668): the client POSTs message_1 to `/.well-known/edhoc` with
//! [`EdhocInitiator`], gets message_2, and sends message_3 inside its first OSCORE request; the
//! server's [`EdhocProtection`] completes the handshake, adds the OSCORE context and delivers
//! the request. Later requests are plain OSCORE. Asserts each step.
//!
//! Run with `cargo run -p mote-edhoc --features oscore --example edhoc_over_coap`.
//!
//! [`EdhocInitiator`]: mote_edhoc::protection::EdhocInitiator
//! [`EdhocProtection`]: mote_edhoc::protection::EdhocProtection

use std::time::Duration;

use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{Endpoint, EndpointConfig, Event, Reliability, RequestOptions};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use mote_edhoc::protection::{EdhocInitiator, EdhocProtection, EdhocProtectionConfig};
use mote_edhoc::transport::CONTENT_FORMAT_CID_EDHOC;
use mote_edhoc::{
    CipherSuite, ConnId, Credential, Crypto, Identity, InitiatorConfig, Method, MoteCrypto,
    ResponderConfig,
};
use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};
use mote_oscore::sequence::Volatile;

type Error = Box<dyn std::error::Error>;
type Rng = Box<dyn FnMut() -> u32>;
type Lookup = Box<dyn FnMut(&mote_edhoc::IdCred) -> Option<Credential>>;
type Layer = EdhocProtection<Volatile, Rng, MoteCrypto<rand_core::OsRng>, Lookup>;
type Ep = Endpoint<&'static str, Rng, Layer>;
type Ev = Event<&'static str, ContextId>;

fn rng(mut seed: u32) -> Rng {
    Box::new(move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    })
}

fn fresh_identity(suite: &CipherSuite, subject: &str, kid: &[u8]) -> Result<Identity, Error> {
    let mut crypto = MoteCrypto::new();
    let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
    let credential = Credential::ccs_for_private_key(&mut crypto, suite, true, subject, kid, &key)?;
    Ok(Identity::by_reference(credential, key.as_bytes())?)
}

/// An endpoint whose protection layer is EDHOC + OSCORE, trusting the credentials `trusted`.
fn endpoint(own: &Identity, trusted: Vec<Credential>, seed: u32) -> Result<Ep, Error> {
    let oscore = OscoreProtection::new(OscoreConfig::default(), rng(seed ^ 0x5555));
    let lookup: Lookup =
        Box::new(move |id_cred| trusted.iter().find(|c| c.matches(id_cred)).cloned());
    let responder = ResponderConfig::new(2, own.clone());
    let layer = EdhocProtection::new(
        oscore,
        EdhocProtectionConfig::default(),
        responder,
        MoteCrypto::new(),
        lookup,
    );
    Ok(Endpoint::with_protection(
        EndpointConfig::default(),
        rng(seed),
        layer,
    )?)
}

/// Delivers every datagram until both endpoints are quiet. The server routes POSTs to the EDHOC
/// resource to `edhoc_post` and answers every protected request with its path. Returns the
/// client's events and the identities the server's requests arrived with.
fn pump(
    now: Duration,
    client: &mut Ep,
    server: &mut Ep,
) -> Result<(Vec<Ev>, Vec<Option<ContextId>>), Error> {
    let (mut events, mut identities) = (Vec::new(), Vec::new());
    loop {
        let mut moved = false;
        while let Some(t) = client.poll_transmit() {
            server.handle(now, "client", &t.datagram);
            moved = true;
        }
        while let Some(event) = server.poll_event() {
            let Event::Request { id, message, peer } = event else {
                continue;
            };
            let path: Vec<&[u8]> = message
                .options
                .get_all(OptionNumber::URI_PATH)
                .map(|o| o.value)
                .collect();
            let response = if path == [&b".well-known"[..], b"edhoc"] && message.identity.is_none()
            {
                // The source for the admission limits: here the peer's number.
                let echo = message.options.get(OptionNumber::ECHO).map(|o| o.value);
                let reply = server.protection_mut().edhoc_post(
                    now,
                    peer.as_bytes(),
                    echo,
                    &message.payload,
                );
                reply.into_parts().into_message(MessageType::Ack, 0, &[])
            } else if message.identity.is_some() {
                OwnedMessage::new(MessageType::Ack, Code::CONTENT, 0).with_payload(path.concat())
            } else {
                OwnedMessage::new(MessageType::Ack, Code::UNAUTHORIZED, 0) // OSCORE required
            };
            identities.push(message.identity);
            server.respond(now, id, response)?;
        }
        while let Some(t) = server.poll_transmit() {
            client.handle(now, "server", &t.datagram);
            moved = true;
        }
        events.extend(std::iter::from_fn(|| client.poll_event()));
        if !moved {
            return Ok((events, identities));
        }
    }
}

fn only_response(events: &[Ev]) -> Result<&OwnedMessage, Error> {
    match events {
        [Event::Response { message, .. }] => Ok(message),
        other => Err(format!("unexpected events {other:?}").into()),
    }
}

fn main() -> Result<(), Error> {
    let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    let (id_i, id_r) = (
        fresh_identity(&suite, "client", b"I")?,
        fresh_identity(&suite, "server", b"R")?,
    );
    let mut client = endpoint(&id_i, vec![], 1)?;
    let mut server = endpoint(&id_r, vec![id_i.credential.clone()], 2)?;
    let now = Duration::from_secs(100);

    // 1. POST /.well-known/edhoc with `true, message_1` (Appendix A.2.1); 2.04 with message_2.
    let config = InitiatorConfig::new(Method::StaticStatic, 2, id_i.clone());
    let mut initiator =
        EdhocInitiator::new(MoteCrypto::new(), config, ConnId::from_slice(&[0x0a])?);
    let mut post = OwnedMessage::new(MessageType::Con, Code::POST, 0)
        .with_option(OptionNumber::URI_PATH, ".well-known")
        .with_option(OptionNumber::URI_PATH, "edhoc")
        .with_payload(initiator.message_1()?);
    post.options.push_uint(
        OptionNumber::CONTENT_FORMAT,
        u32::from(CONTENT_FORMAT_CID_EDHOC),
    );
    client.request(now, "server", post, Reliability::Confirmable)?;
    let (events, _) = pump(now, &mut client, &mut server)?;
    let message_2 = only_response(&events)?;
    assert_eq!(message_2.code, Code::CHANGED);

    // 2. Verify message_2 against the server's known credential; message_3 and the context.
    let trusted = [id_r.credential.clone()];
    let initiated = initiator.message_2(
        &message_2.payload,
        &mut mote_edhoc::KnownCredentials(&trusted),
    )?;
    // RFC 9528 Appendix A.1: C_R (drawn by the server) is the client's Sender ID, C_I its
    // Recipient ID.
    let c_r = initiated.c_r().as_bytes().to_vec();
    let context = client.protection_mut().add_initiated(initiated)?;
    assert_eq!(context.recipient_id(), [0x0a]);

    // 3. The first protected request carries message_3 (RFC 9668 §3.2), then plain OSCORE.
    let options = RequestOptions::new(
        Reliability::Confirmable,
        EndpointConfig::default().client_blockwise,
    );
    for path in ["first", "second"] {
        let get = OwnedMessage::new(MessageType::Con, Code::GET, 0)
            .with_option(OptionNumber::URI_PATH, path);
        client.request_protected(now, "server", get, options, context)?;
        let (events, identities) = pump(now, &mut client, &mut server)?;
        let response = only_response(&events)?;
        assert_eq!(
            (response.code, &response.payload[..]),
            (Code::CONTENT, path.as_bytes())
        );
        // The server saw the request under the context EDHOC established (Recipient ID = C_R).
        let [Some(server_context)] = identities[..] else {
            return Err("no OSCORE request".into());
        };
        assert_eq!(server_context.recipient_id(), c_r.as_slice());
        println!(
            "OSCORE GET /{path} -> {} {:?}",
            response.code,
            String::from_utf8_lossy(&response.payload)
        );
    }
    assert_eq!(server.protection_mut().pending_sessions(), 0);
    Ok(())
}
