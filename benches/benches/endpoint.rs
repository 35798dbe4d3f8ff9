//! The cost per piggybacked request of the sans-IO server [`Endpoint`]: `handle` of a CON GET
//! datagram + `poll_event` + `respond` + `poll_transmit`, no I/O (see `docs/performance.md`),
//! beside two anchors on the same datagram:
//! * the mote-coap codec alone: `Message::decode` (every option read) and the response written
//!   with `MessageWriter` into a caller buffer, no state at all;
//! * coap-lite 0.13: `Packet::from_bytes` and the response `Packet` built and `to_bytes`'d.
//!
//! And with OSCORE (RFC 8613 C.1 contexts, a fresh Partial IV per request): the endpoint with
//! `OscoreProtection` beside the raw server-side `SecurityContext::unprotect_request` +
//! `protect_response` of the same datagram (no endpoint, no message layer).
//!
//! The request is the CON GET /3/0/0 with a 4-byte token; the response an ACK 2.05 with
//! Content-Format 0 and a 20-byte payload ("Open Mobile Alliance"). Each call gets the next
//! datagram of a ring of `RING` requests with consecutive Message IDs (and, for OSCORE,
//! consecutive Partial IVs, protected beforehand by the client context C.1.1; the server's
//! replay window is reset once per lap). The simulated clock advances by an eighth of
//! EXCHANGE_LIFETIME per request, so the peer holds about 8 live deduplication entries
//! (RFC 7252 §4.5), a steady state below `max_dedup_per_peer`.
//!
//! With `MOTE_BENCH_PAIRED=1`, after the criterion groups an interleaved paired timing
//! (`common/paired.rs`, median of the per-round ratios) prints the ratios reported in
//! `docs/performance.md`; it stays meaningful on a loaded machine.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a bench aborts on a broken fixture

#[path = "common/paired.rs"]
mod paired_timing;
use paired_timing::{paired, paired_enabled};

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group};
use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{Endpoint, EndpointConfig, Event, NoProtection, Protection};
use mote_coap::message::{Message, MessageWriter, OwnedMessage};
use mote_coap::option::OptionNumber;
use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};
use mote_oscore::sequence::Volatile;
use mote_oscore::{Framing, ReplayWindow, SecurityContext, SecurityContextParams};

/// Requests in the ring (distinct Message IDs and, for OSCORE, Partial IVs 0..RING).
const RING: usize = 1024;
const TOKEN: [u8; 4] = [0xa1, 0xb2, 0xc3, 0xd4];
const PAYLOAD: &[u8] = b"Open Mobile Alliance";

// RFC 8613 Appendix C.1.1 (client) and C.1.2 (server).
const MASTER_SECRET: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
const MASTER_SALT: [u8; 8] = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];

fn context(sender: &[u8], recipient: &[u8]) -> SecurityContext {
    let mut p = SecurityContextParams::new(&MASTER_SECRET, sender, recipient);
    p.master_salt = &MASTER_SALT;
    SecurityContext::new(&p).unwrap()
}

fn rng() -> impl FnMut() -> u32 {
    let mut seed = 0x2545_f491_u32;
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    }
}

fn request(message_id: u16) -> Vec<u8> {
    OwnedMessage::new(MessageType::Con, Code::GET, message_id)
        .with_token(TOKEN)
        .with_option(OptionNumber::URI_PATH, "3")
        .with_option(OptionNumber::URI_PATH, "0")
        .with_option(OptionNumber::URI_PATH, "0")
        .to_vec()
        .unwrap()
}

/// What the application hands to `respond` (type, Message ID and token set by the endpoint).
fn response() -> OwnedMessage {
    OwnedMessage::new(MessageType::Ack, Code::CONTENT, 0)
        .with_uint_option(OptionNumber::CONTENT_FORMAT, 0)
        .with_payload(PAYLOAD)
}

type Rng = Box<dyn FnMut() -> u32>;

/// A server endpoint and its ring of request datagrams.
struct Server<X: Protection<&'static str>> {
    endpoint: Endpoint<&'static str, Rng, X>,
    ring: Vec<Vec<u8>>,
    next: usize,
    now: Duration,
    step: Duration,
}

impl<X: Protection<&'static str>> Server<X> {
    fn new(protection: X, ring: Vec<Vec<u8>>) -> Self {
        let config = EndpointConfig::default();
        let step = config.transmission.exchange_lifetime() / 8;
        let endpoint =
            Endpoint::with_protection(config, Box::new(rng()) as Rng, protection).unwrap();
        Self {
            endpoint,
            ring,
            next: 0,
            now: Duration::from_secs(1000),
            step,
        }
    }

    /// One piggybacked request: handle, poll_event, respond, poll_transmit. Returns the
    /// response datagram's length; `lap` runs when the ring starts over.
    fn serve(&mut self, lap: impl FnOnce(&mut X)) -> usize {
        if self.next == self.ring.len() {
            self.next = 0;
            lap(self.endpoint.protection_mut());
        }
        self.now += self.step;
        let now = self.now;
        let datagram = &self.ring[self.next];
        self.next += 1;
        self.endpoint.handle(now, "client", black_box(datagram));
        let Some(Event::Request { id, .. }) = self.endpoint.poll_event() else {
            panic!("no request event")
        };
        self.endpoint.respond(now, id, response()).unwrap();
        let t = self.endpoint.poll_transmit().unwrap();
        t.datagram.len()
    }
}

fn plain_ring() -> Vec<Vec<u8>> {
    (0..RING).map(|i| request(i as u16)).collect()
}

/// The mote-coap codec alone: decode the request (every option read), write the response.
fn codec(datagram: &[u8], out: &mut [u8]) -> usize {
    let m = Message::decode(datagram).unwrap();
    let mut seen = 0usize;
    for o in m.options() {
        seen += usize::from(o.number.0) + o.value.len();
    }
    black_box(seen);
    let mut w = MessageWriter::new(
        out,
        MessageType::Ack,
        Code::CONTENT,
        m.message_id(),
        m.token(),
    )
    .unwrap();
    w.uint_option(OptionNumber::CONTENT_FORMAT, 0).unwrap();
    w.payload(PAYLOAD).unwrap()
}

/// coap-lite: parse the request, build the response packet, serialize it.
fn coap_lite(datagram: &[u8]) -> Vec<u8> {
    use coap_lite::{ContentFormat, MessageClass, MessageType as LiteType, Packet, ResponseType};
    let request = Packet::from_bytes(datagram).unwrap();
    let mut response = Packet::new();
    response.header.set_type(LiteType::Acknowledgement);
    response.header.code = MessageClass::Response(ResponseType::Content);
    response.header.message_id = request.header.message_id;
    response.set_token(request.get_token().to_vec());
    response.set_content_format(ContentFormat::TextPlain);
    response.payload = PAYLOAD.to_vec();
    response.to_bytes().unwrap()
}

/// OSCORE fixture: the protected ring (Partial IVs 0..RING from the client context C.1.1), a
/// server endpoint with `OscoreProtection` (C.1.2) and a bare server context for the anchor.
struct Oscore {
    endpoint: Server<OscoreProtection<Volatile, Rng>>,
    id: ContextId,
    raw: SecurityContext,
    ring: Vec<Vec<u8>>,
    next: usize,
    response: Vec<u8>,
    plain: Vec<u8>,
    wire: Vec<u8>,
}

impl Oscore {
    fn new() -> Self {
        let mut client = context(&[], &[0x01]);
        let mut wire = vec![0u8; 512];
        let ring: Vec<Vec<u8>> = (0..RING)
            .map(|i| {
                let (len, _) = client
                    .protect_request(Framing::Udp, &request(i as u16), &mut wire)
                    .unwrap();
                wire[..len].to_vec()
            })
            .collect();
        let mut protection = OscoreProtection::new(OscoreConfig::default(), Box::new(rng()) as Rng);
        let id = protection.add_context(context(&[0x01], &[])).unwrap();
        let endpoint = Server::new(protection, ring.clone());
        let response = OwnedMessage::new(MessageType::Ack, Code::CONTENT, 0)
            .with_token(TOKEN)
            .with_uint_option(OptionNumber::CONTENT_FORMAT, 0)
            .with_payload(PAYLOAD)
            .to_vec()
            .unwrap();
        Self {
            endpoint,
            id,
            raw: context(&[0x01], &[]),
            ring,
            next: 0,
            response,
            plain: vec![0u8; 512],
            wire,
        }
    }

    fn serve_endpoint(&mut self) -> usize {
        let id = self.id;
        self.endpoint.serve(|p| {
            p.context_mut(&id)
                .unwrap()
                .set_replay_window(ReplayWindow::default());
        })
    }

    /// The anchor: unprotect the request and protect the response with the bare context.
    fn serve_raw(&mut self) -> usize {
        if self.next == self.ring.len() {
            self.next = 0;
            self.raw.set_replay_window(ReplayWindow::default());
        }
        let datagram = &self.ring[self.next];
        self.next += 1;
        let mut verified = self
            .raw
            .unprotect_request(Framing::Udp, black_box(datagram), &mut self.plain)
            .unwrap();
        black_box(&self.plain[..verified.len]);
        self.raw
            .protect_response(
                Framing::Udp,
                &mut verified.binding,
                black_box(&self.response),
                false,
                &mut self.wire,
            )
            .unwrap()
    }
}

fn bench(c: &mut Criterion) {
    let ring = plain_ring();
    let sample = &ring[0];

    let mut group = c.benchmark_group("endpoint/piggybacked");
    group.throughput(Throughput::Elements(1));
    let mut server = Server::new(NoProtection, ring.clone());
    group.bench_function("mote-coap endpoint", |b| b.iter(|| server.serve(|_| ())));
    let mut out = vec![0u8; 1500];
    let mut i = 0;
    group.bench_function("mote-coap codec", |b| {
        b.iter(|| {
            i = (i + 1) % RING;
            codec(black_box(&ring[i]), &mut out)
        })
    });
    group.bench_function("coap-lite", |b| b.iter(|| coap_lite(black_box(sample))));
    group.finish();

    let mut o = Oscore::new();
    let mut group = c.benchmark_group("endpoint/piggybacked-oscore");
    group.throughput(Throughput::Elements(1));
    group.bench_function("mote-coap endpoint + OscoreProtection", |b| {
        b.iter(|| o.serve_endpoint())
    });
    group.bench_function("mote-oscore raw unprotect + protect", |b| {
        b.iter(|| o.serve_raw())
    });
    group.finish();
}

/// The interleaved, paired ratios (printed after the criterion groups).
fn paired_ratios() {
    let ring = plain_ring();
    let mut server = Server::new(NoProtection, ring.clone());
    let mut out = vec![0u8; 1500];
    let mut i = 0;
    let codec_ring = ring.clone();
    paired(
        "endpoint/piggybacked",
        41,
        2000,
        &mut [
            ("mote-coap endpoint", &mut || {
                black_box(server.serve(|_| ()));
            }),
            ("mote-coap codec", &mut || {
                i = (i + 1) % RING;
                black_box(codec(black_box(&codec_ring[i]), &mut out));
            }),
            ("coap-lite", &mut || {
                black_box(coap_lite(black_box(&ring[0])));
            }),
        ],
    );
    let o = std::cell::RefCell::new(Oscore::new());
    let mut plain_server = Server::new(NoProtection, plain_ring());
    paired(
        "endpoint/piggybacked-oscore",
        41,
        1000,
        &mut [
            ("mote-coap endpoint + OscoreProtection", &mut || {
                black_box(o.borrow_mut().serve_endpoint());
            }),
            ("mote-oscore raw unprotect + protect", &mut || {
                black_box(o.borrow_mut().serve_raw());
            }),
            ("mote-coap endpoint without OSCORE", &mut || {
                black_box(plain_server.serve(|_| ()));
            }),
        ],
    );
}

criterion_group!(benches, bench);

fn main() {
    // Check the fixtures once: every path answers 2.05 with the payload.
    let ring = plain_ring();
    let mut server = Server::new(NoProtection, ring.clone());
    let mut out = vec![0u8; 1500];
    let n = codec(&ring[0], &mut out);
    let lite = coap_lite(&ring[0]);
    assert_eq!(
        lite,
        out[..n],
        "coap-lite and MessageWriter write the same response"
    );
    // Several requests in a row: each is new to the endpoint (distinct Message IDs, fresh
    // Partial IVs) and answered piggybacked.
    for _ in 0..3 {
        assert_eq!(
            server.serve(|_| ()),
            n,
            "the endpoint's response has the same size"
        );
    }
    let mut o = Oscore::new();
    for _ in 0..3 {
        assert!(o.serve_endpoint() > n && o.serve_raw() > n);
    }

    benches();
    Criterion::default().configure_from_args().final_summary();
    if paired_enabled() && !std::env::args().any(|a| a == "--test" || a == "--list") {
        paired_ratios();
    }
}
