//! Firmware package serving (`Lwm2mServer::add_package`, `GET /fw/NAME`) copies one block per
//! block request, not the package: the engine answers the block the request asks for (RFC 7959
//! §2.4) and the endpoint sends it as it is. Measured with a counting allocator over the
//! handling of one block request of a 256 KiB package; one test in this binary, so nothing
//! else allocates meanwhile. The block-wise pull of a 256 KiB package over OSCORE between real
//! roles is `crates/mote/tests/lwm2m_roles.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

#[allow(dead_code)] // the bootstrap tests' Device object is not needed here
mod common;
#[path = "common/counting.rs"]
mod counting;

use std::time::Duration;

use mote_coap::block::{BlockValue, Szx};
use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{Endpoint, EndpointConfig};
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;
use mote_lwm2m_server::{EngineConfig, Identity, InMemoryStore, Lwm2mServer, Server, ServerConfig};
use stats_alloc::Region;

use common::Xs;
use counting::GLOBAL;

type Addr = u16;
const CLIENT: Addr = 2;

/// NoSec (LwM2M TS 1.2 Transport §5) with the registration tied to the sender's address: a
/// protection layer would refuse the outer Block2 option of these requests (RFC 8613
/// §4.1.3.4.2), and what is measured here is the engine and the endpoint's Block2 path.
fn address_of(a: &Addr) -> Identity {
    Identity::Address(a.to_be_bytes().to_vec())
}

fn no_identity(_: &()) -> Identity {
    Identity::None
}

struct Harness {
    now: Duration,
    ep: Endpoint<Addr, Xs>,
    engine: Lwm2mServer<Addr, (), InMemoryStore, Xs>,
    mid: u16,
}

impl Harness {
    fn new() -> Self {
        let ep = Endpoint::new(EndpointConfig::default(), Xs(0x55)).unwrap();
        let config = ServerConfig {
            allow_unsecured: true,
            ..ServerConfig::default()
        };
        let core = Server::new(config, InMemoryStore::new());
        let mut engine = Lwm2mServer::new(EngineConfig::default(), core, Xs(0xaa), no_identity);
        engine.set_unsecured_identity(address_of);
        Self {
            now: Duration::from_secs(1),
            ep,
            engine,
            mid: 0,
        }
    }

    /// The client's request, as a datagram to the server endpoint; the server's answer.
    fn request(&mut self, mut req: OwnedMessage) -> OwnedMessage {
        self.mid += 1;
        req.message_id = self.mid;
        req.token = self.mid.to_be_bytes().to_vec();
        self.ep.handle(self.now, CLIENT, &req.to_vec().unwrap());
        let mut answers = vec![];
        loop {
            let mut progress = false;
            while let Some(e) = self.ep.poll_event() {
                progress = true;
                self.engine.handle_event(&mut self.ep, e, self.now);
            }
            while self.engine.poll_event().is_some() {
                progress = true;
            }
            while let Some(t) = self.ep.poll_transmit() {
                progress = true;
                answers.push(Message::decode(&t.datagram).unwrap().to_owned());
            }
            if !progress {
                break;
            }
        }
        assert_eq!(answers.len(), 1, "{answers:?}");
        answers.remove(0)
    }
}

fn fw_get(block: Option<BlockValue>) -> OwnedMessage {
    let mut m = OwnedMessage::new(MessageType::Con, Code::GET, 0)
        .with_option(OptionNumber::URI_PATH, "fw")
        .with_option(OptionNumber::URI_PATH, "big.bin");
    if let Some(b) = block {
        m = m.with_uint_option(OptionNumber::BLOCK2, b.to_uint());
    }
    m
}

fn uint(m: &OwnedMessage, number: OptionNumber) -> Option<u32> {
    m.options.get(number).and_then(|o| o.as_uint().ok())
}

/// A 256 KiB package pulled in 1 KiB blocks: every block is the package's bytes at its offset
/// with the package's ETag and Size2, the blocks make up the package, and handling one block
/// request allocates O(block) bytes (well under the package's size: the old engine copied the
/// whole package per block, 64 MiB for this pull). An unregistered identity gets no package
/// bytes, whatever the block.
#[test]
fn a_block_request_copies_one_block_not_the_package() {
    const SIZE: usize = 256 * 1024;
    let mut h = Harness::new();
    let package: Vec<u8> = (0..SIZE as u32).map(|i| (i % 251) as u8).collect();
    h.engine.add_package("big.bin", package.clone()).unwrap();

    // Not registered yet: 4.01 for block 0; a later block gets no package bytes either (the
    // endpoint may answer a block of the short 4.01 diagnostic past its end with 4.02).
    let b = BlockValue::new(0, false, Szx::S1024).unwrap();
    assert_eq!(h.request(fw_get(Some(b))).code, Code::UNAUTHORIZED);
    let later = h.request(fw_get(Some(BlockValue::new(7, false, Szx::S1024).unwrap())));
    assert_eq!(later.code.class(), 4, "{later:?}");
    assert!(later.payload.len() < 100, "no package bytes");
    let register = OwnedMessage::new(MessageType::Con, Code::POST, 0)
        .with_option(OptionNumber::URI_PATH, "rd")
        .with_option(OptionNumber::CONTENT_FORMAT, [40u8].as_slice())
        .with_option(OptionNumber::URI_QUERY, "ep=dev1")
        .with_option(OptionNumber::URI_QUERY, "lt=3600")
        .with_option(OptionNumber::URI_QUERY, "lwm2m=1.1")
        .with_payload("</1/0>,</3/0>,</5/0>");
    assert_eq!(h.request(register).code, Code::CREATED);

    // Block 0 without early negotiation: the endpoint's preferred size (1 KiB by default).
    let first = h.request(fw_get(None));
    assert_eq!(first.code, Code::CONTENT);
    let b0 = BlockValue::from_uint(uint(&first, OptionNumber::BLOCK2).unwrap(), false).unwrap();
    assert_eq!((b0.num(), b0.more(), b0.szx()), (0, true, Szx::S1024));
    let etag = first
        .options
        .get(OptionNumber::ETAG)
        .unwrap()
        .value
        .to_vec();
    let mut pulled = first.payload.clone();

    let mut worst = 0usize;
    for num in 1..(SIZE / 1024) as u32 {
        let asked = BlockValue::new(num, false, Szx::S1024).unwrap();
        let region = Region::new(GLOBAL);
        let got = h.request(fw_get(Some(asked)));
        worst = worst.max(region.change().bytes_allocated);
        assert_eq!(got.code, Code::CONTENT, "block {num}");
        let b = BlockValue::from_uint(uint(&got, OptionNumber::BLOCK2).unwrap(), false).unwrap();
        assert_eq!(b.num(), num);
        assert_eq!(b.more(), (num as usize + 1) * 1024 < SIZE);
        assert_eq!(got.options.get(OptionNumber::ETAG).unwrap().value, etag);
        assert_eq!(uint(&got, OptionNumber::SIZE2), Some(SIZE as u32));
        pulled.extend_from_slice(&got.payload);
        h.now += Duration::from_millis(10);
    }
    assert!(pulled == package, "the blocks make up the package");
    // One block is 1 KiB; a request's handling (decode, events, the answer's encoding) a few
    // KiB more. The whole package is 256 KiB.
    assert!(
        worst < 32 * 1024,
        "{worst} bytes allocated for one block request of a {SIZE}-byte package"
    );
    // Past the end: 4.02 (RFC 7959 §2.2).
    let past = BlockValue::new((SIZE / 1024) as u32, false, Szx::S1024).unwrap();
    assert_eq!(h.request(fw_get(Some(past))).code, Code::BAD_OPTION);
}
