//! An OSCORE client and server over real UDP sockets, only std: two threads in one program,
//! each with a `mote_coap` endpoint whose protection layer is [`OscoreProtection`] holding the
//! RFC 8613 Appendix C.1 context of its side. Asserts the response and the server's identity.
//!
//! Run with `cargo run -p mote-oscore --example oscore_udp`.
//!
//! [`OscoreProtection`]: mote_oscore::endpoint::OscoreProtection

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{
    Endpoint, EndpointConfig, Event, Protection, Reliability, RequestOptions,
};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use mote_coap::transmission::RandomSource;
use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
use mote_oscore::{SecurityContext, SecurityContextParams};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// RFC 8613 C.1: the client's Sender ID is empty, the server's is 0x01.
fn context(sender_id: &[u8], recipient_id: &[u8]) -> Result<SecurityContext, Error> {
    let secret = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    let mut params = SecurityContextParams::new(&secret, sender_id, recipient_id);
    params.master_salt = &[0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    Ok(SecurityContext::new(&params)?)
}

fn rng(mut seed: u32) -> impl FnMut() -> u32 + Send {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    }
}

/// One turn of the socket loop: send, wait for a datagram up to the next timer, hand it in.
fn turn<R: RandomSource, X: Protection<SocketAddr>>(
    ep: &mut Endpoint<SocketAddr, R, X>,
    socket: &UdpSocket,
    epoch: Instant,
) -> Result<(), Error> {
    while let Some(t) = ep.poll_transmit() {
        socket.send_to(&t.datagram, t.peer)?;
    }
    let wait = ep.poll_timeout().map_or(Duration::from_millis(200), |at| {
        at.saturating_sub(epoch.elapsed())
    });
    socket.set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
    let mut buf = [0u8; 1500];
    match socket.recv_from(&mut buf) {
        Ok((len, from)) => ep.handle(epoch.elapsed(), from, buf.get(..len).unwrap_or(&[])),
        Err(_) => ep.handle_timeout(epoch.elapsed()), // read timeout: a timer is due
    }
    Ok(())
}

fn main() -> Result<(), Error> {
    let server_socket = UdpSocket::bind("127.0.0.1:0")?;
    let server_addr = server_socket.local_addr()?;
    let server = std::thread::spawn(move || -> Result<(), Error> {
        let mut oscore = OscoreProtection::new(OscoreConfig::default(), rng(3));
        let client_id = oscore.add_context(context(&[0x01], &[])?)?; // C.1.2
        let (epoch, mut ep) = (
            Instant::now(),
            Endpoint::with_protection(EndpointConfig::default(), rng(5), oscore)?,
        );
        loop {
            turn(&mut ep, &server_socket, epoch)?;
            if let Some(Event::Request { id, message, .. }) = ep.poll_event() {
                // Only a request that verified in the client's context is served.
                assert_eq!(message.identity, Some(client_id));
                let hello = OwnedMessage::new(MessageType::Ack, Code::CONTENT, 0)
                    .with_payload(*b"Hello World!");
                ep.respond(epoch.elapsed(), id, hello)?;
                while let Some(t) = ep.poll_transmit() {
                    server_socket.send_to(&t.datagram, t.peer)?;
                }
                return Ok(());
            }
        }
    });

    let socket = UdpSocket::bind("127.0.0.1:0")?;
    let mut oscore = OscoreProtection::new(OscoreConfig::default(), rng(7));
    let server_id = oscore.add_context(context(&[], &[0x01])?)?; // C.1.1
    let (epoch, mut client) = (
        Instant::now(),
        Endpoint::with_protection(EndpointConfig::default(), rng(9), oscore)?,
    );
    let get = OwnedMessage::new(MessageType::Con, Code::GET, 0)
        .with_option(OptionNumber::URI_PATH, "tv1");
    let options = RequestOptions::new(
        Reliability::Confirmable,
        EndpointConfig::default().client_blockwise,
    );
    client.request_protected(epoch.elapsed(), server_addr, get, options, server_id)?;
    let response = loop {
        turn(&mut client, &socket, epoch)?;
        match client.poll_event() {
            Some(Event::Response { message, .. }) => break message,
            Some(other @ (Event::TimedOut { .. } | Event::ProtectionFailed { .. })) => {
                return Err(format!("{other:?}").into());
            }
            _ => {}
        }
    };
    println!(
        "OSCORE GET /tv1 -> {} {:?}",
        response.code,
        String::from_utf8_lossy(&response.payload)
    );
    assert_eq!(
        (response.code, &response.payload[..]),
        (Code::CONTENT, &b"Hello World!"[..])
    );
    server.join().map_err(|_| "server thread panicked")?
}
