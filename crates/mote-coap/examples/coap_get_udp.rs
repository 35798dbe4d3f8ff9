//! A CoAP GET over a real `std::net::UdpSocket`: a server thread and a client in one program,
//! each driving its own sans-IO [`Endpoint`] by hand. This is the loop a program writes around
//! the endpoint (as around quinn-proto): feed each received datagram to `handle`, send what
//! `poll_transmit` yields, act on `poll_event`, and sleep no longer than `poll_timeout` says,
//! calling `handle_timeout` when it has passed. Asserts the response.
//!
//! Run with `cargo run -p mote-coap --example coap_get_udp`.
//!
//! [`Endpoint`]: mote_coap::endpoint::Endpoint

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{Endpoint, EndpointConfig, Event, Reliability};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use mote_coap::transmission::RandomSource;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Randomness comes from the caller: here an xorshift seeded from the clock.
fn rng() -> impl FnMut() -> u32 + Send {
    let mut seed = Instant::now().elapsed().subsec_nanos() | 1;
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    }
}

/// One turn of the loop: send what the endpoint wants sent, wait for a datagram no longer than
/// the endpoint's next timer, hand it (or the timeout) to the endpoint.
fn turn<R: RandomSource>(
    endpoint: &mut Endpoint<SocketAddr, R>,
    socket: &UdpSocket,
    epoch: Instant,
) -> Result<(), Error> {
    while let Some(t) = endpoint.poll_transmit() {
        socket.send_to(&t.datagram, t.peer)?;
    }
    let now = epoch.elapsed();
    // Wake at the endpoint's next timer, or after a while to let the caller check its state.
    let wait = endpoint
        .poll_timeout()
        .map_or(Duration::from_millis(200), |at| at.saturating_sub(now))
        .max(Duration::from_millis(1));
    socket.set_read_timeout(Some(wait))?;
    let mut buf = [0u8; 1500];
    match socket.recv_from(&mut buf) {
        Ok((len, from)) => endpoint.handle(epoch.elapsed(), from, buf.get(..len).unwrap_or(&[])),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            endpoint.handle_timeout(epoch.elapsed());
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// The server: answers GET /hello until it has answered `count` requests.
fn serve(socket: UdpSocket, count: usize) -> Result<(), Error> {
    let epoch = Instant::now();
    let mut endpoint = Endpoint::new(EndpointConfig::default(), rng())?;
    let mut answered = 0;
    while answered < count {
        turn(&mut endpoint, &socket, epoch)?;
        while let Some(event) = endpoint.poll_event() {
            if let Event::Request { id, message, .. } = event {
                let hello =
                    message.option(OptionNumber::URI_PATH).map(|o| o.value) == Some(&b"hello"[..]);
                let response = if hello {
                    OwnedMessage::new(MessageType::Ack, Code::CONTENT, 0).with_payload(*b"world")
                } else {
                    OwnedMessage::new(MessageType::Ack, Code::NOT_FOUND, 0)
                };
                endpoint.respond(epoch.elapsed(), id, response)?;
                answered += 1;
            }
        }
    }
    // Send the last response out before the thread ends.
    while let Some(t) = endpoint.poll_transmit() {
        socket.send_to(&t.datagram, t.peer)?;
    }
    Ok(())
}

fn main() -> Result<(), Error> {
    let server_socket = UdpSocket::bind("127.0.0.1:0")?;
    let server_addr = server_socket.local_addr()?;
    let server = std::thread::spawn(move || serve(server_socket, 1));

    let socket = UdpSocket::bind("127.0.0.1:0")?;
    let epoch = Instant::now();
    let mut client = Endpoint::new(EndpointConfig::default(), rng())?;
    let get = OwnedMessage::new(MessageType::Con, Code::GET, 0)
        .with_option(OptionNumber::URI_PATH, "hello");
    let id = client.request(epoch.elapsed(), server_addr, get, Reliability::Confirmable)?;

    let response = loop {
        turn(&mut client, &socket, epoch)?;
        match client.poll_event() {
            Some(Event::Response {
                id: got, message, ..
            }) if got == id => break message,
            Some(Event::TimedOut { .. }) => return Err("no response".into()),
            _ => {}
        }
    };
    println!(
        "GET coap://{server_addr}/hello -> {} {:?}",
        response.code,
        String::from_utf8_lossy(&response.payload)
    );
    assert_eq!(response.code, Code::CONTENT);
    assert_eq!(response.payload, b"world");
    server.join().map_err(|_| "server thread panicked")??;
    Ok(())
}
