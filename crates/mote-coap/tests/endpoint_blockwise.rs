//! The block-wise components of the endpoint (`mote_coap::endpoint::blockwise`) talking to
//! each other through encoded CoAP messages: the RFC 7959 §3 figures end to end, Request-Tag
//! separation (RFC 9175 §3), every bound of the server tables filled, and clients that refuse
//! misbehaving servers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use core::time::Duration;

use mote_coap::block::{BlockError, BlockValue, Szx};
use mote_coap::code::{Code, MessageType};
use mote_coap::echo::{RequestTagChoice, choose_request_tag};
use mote_coap::endpoint::blockwise::{
    Block1Action, Block1Client, Block1ClientConfig, Block1Progress, Block1Server,
    Block1ServerConfig, Block2Client, Block2ClientConfig, Block2Progress, Block2Server,
    Block2ServerConfig, BlockwiseError, CacheOutcome, MessageParts, Rejected,
};
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::{OptionList, OptionNumber};
use proptest::prelude::*;

const T0: Duration = Duration::from_secs(1000);

/// Encodes parts as a datagram (what crosses the link).
fn wire(parts: MessageParts, mtype: MessageType) -> Vec<u8> {
    parts.into_message(mtype, 0x1234, &[0xab]).to_vec().unwrap()
}

fn block(message: &Message<'_>, number: OptionNumber) -> Option<BlockValue> {
    BlockValue::from_message(message, number).unwrap()
}

fn bv(num: u32, more: bool, size: usize) -> BlockValue {
    BlockValue::new(num, more, Szx::from_size(size).unwrap()).unwrap()
}

fn body(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

fn path(p: &str) -> OptionList {
    let mut o = OptionList::new();
    for seg in p.split('/') {
        o.push(OptionNumber::URI_PATH, seg.as_bytes());
    }
    o
}

/// A block-wise server as the endpoint composes it: Block2 cache first, then Block1
/// reassembly, then the application, then Block2 slicing.
struct Server {
    b1: Block1Server<u8>,
    b2: Block2Server<u8>,
    /// Bodies the application received, with their Request-Tag (for the concurrency test).
    received: Vec<Vec<u8>>,
    /// The representation a GET returns, and how often the application produced it.
    resource: Vec<u8>,
    app_calls: usize,
    /// Block1 rejections seen.
    rejections: Vec<BlockwiseError>,
}

impl Server {
    fn new(b1: Block1ServerConfig, b2: Block2ServerConfig, resource: Vec<u8>) -> Self {
        Self {
            b1: Block1Server::new(b1),
            b2: Block2Server::new(b2),
            received: Vec::new(),
            resource,
            app_calls: 0,
            rejections: Vec::new(),
        }
    }

    fn handle(&mut self, peer: u8, bytes: &[u8], now: Duration) -> Vec<u8> {
        let request = Message::decode(bytes).unwrap();
        if let Some(r) = self.b2.serve_cached(&peer, &request, now).unwrap() {
            return wire(r, MessageType::Ack);
        }
        let (request_body, block1) = match self.b1.handle(&peer, &request, now) {
            Ok(Block1Action::NotBlockwise) => (request.payload().to_vec(), None),
            Ok(Block1Action::Continue(r)) => return wire(r, MessageType::Ack),
            Ok(Block1Action::Complete { body, block1 }) => (body, Some(block1)),
            Err(Rejected { error, response }) => {
                self.rejections.push(error);
                return wire(response, MessageType::Ack);
            }
        };
        self.app_calls += 1;
        let mut response = if request.code() == Code::GET {
            let mut r = MessageParts::new(Code::CONTENT);
            r.payload = self.resource.clone();
            r
        } else {
            self.received.push(request_body);
            let mut r = MessageParts::new(Code::CHANGED);
            // A POST answers with the resource (RFC 7959 Figure 10: a block-wise response).
            if request.code() == Code::POST {
                r.payload = self.resource.clone();
            }
            r
        };
        if let Some(b1) = block1 {
            response
                .options
                .push_uint(OptionNumber::BLOCK1, b1.to_uint());
        }
        match self.b2.respond(&peer, &request, response, now) {
            Ok(r) => wire(r.response, MessageType::Ack),
            Err(Rejected { response, .. }) => wire(response, MessageType::Ack),
        }
    }
}

/// One line of a figure: who sent it, its code, and its Block1/Block2 options.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    from_client: bool,
    code: Code,
    block1: Option<BlockValue>,
    block2: Option<BlockValue>,
}

fn line(bytes: &[u8], from_client: bool) -> Line {
    let m = Message::decode(bytes).unwrap();
    Line {
        from_client,
        code: m.code(),
        block1: block(&m, OptionNumber::BLOCK1),
        block2: block(&m, OptionNumber::BLOCK2),
    }
}

fn c(code: Code, b1: Option<BlockValue>, b2: Option<BlockValue>) -> Line {
    Line {
        from_client: true,
        code,
        block1: b1,
        block2: b2,
    }
}

fn s(code: Code, b1: Option<BlockValue>, b2: Option<BlockValue>) -> Line {
    Line {
        from_client: false,
        code,
        block1: b1,
        block2: b2,
    }
}

/// Runs a download to the end; returns the final parts and the exchanged lines.
fn download(
    server: &mut Server,
    peer: u8,
    mut client: Block2Client,
    first: MessageParts,
    trace: &mut Vec<Line>,
) -> Result<MessageParts, BlockwiseError> {
    let mut request = first;
    for _ in 0..10_000 {
        let req = wire(request, MessageType::Con);
        trace.push(line(&req, true));
        let resp = server.handle(peer, &req, T0);
        trace.push(line(&resp, false));
        match client.handle_response(&Message::decode(&resp).unwrap())? {
            Block2Progress::Send(next) => request = next,
            Block2Progress::Complete(parts) => return Ok(parts),
        }
    }
    panic!("download did not end");
}

/// Runs an upload (and a download it starts) to the end.
fn upload(
    server: &mut Server,
    peer: u8,
    mut client: Block1Client,
    trace: &mut Vec<Line>,
) -> Result<MessageParts, BlockwiseError> {
    let mut request = client.request()?;
    for _ in 0..10_000 {
        let req = wire(request, MessageType::Con);
        trace.push(line(&req, true));
        let resp = server.handle(peer, &req, T0);
        trace.push(line(&resp, false));
        match client.handle_response(&Message::decode(&resp).unwrap())? {
            Block1Progress::Send(next) => request = next,
            Block1Progress::Done(parts) => return Ok(parts),
            Block1Progress::Download {
                download: d,
                request: r,
            } => return download(server, peer, d, r, trace),
        }
    }
    panic!("upload did not end");
}

fn b1cfg(szx: usize) -> Block1ClientConfig {
    Block1ClientConfig {
        szx: Szx::from_size(szx).unwrap(),
        ..Block1ClientConfig::default()
    }
}

fn server_b1(preferred: usize) -> Block1ServerConfig {
    Block1ServerConfig {
        preferred_szx: Szx::from_size(preferred).unwrap(),
        ..Block1ServerConfig::default()
    }
}

fn server_b2(preferred: usize) -> Block2ServerConfig {
    Block2ServerConfig {
        preferred_szx: Szx::from_size(preferred).unwrap(),
        ..Block2ServerConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// RFC 7959 §3 figures, end to end.

#[test]
fn figure_2_simple_get() {
    let resource = body(128 * 2 + 50, 2);
    let mut server = Server::new(server_b1(1024), server_b2(128), resource.clone());
    let client = Block2Client::new(Code::GET, path("status"), Block2ClientConfig::default());
    let first = client.request();
    let mut trace = Vec::new();
    let done = download(&mut server, 1, client, first, &mut trace).unwrap();
    assert_eq!(done.payload, resource);
    assert_eq!(done.code, Code::CONTENT);
    assert_eq!(
        trace,
        [
            c(Code::GET, None, None),
            s(Code::CONTENT, None, Some(bv(0, true, 128))),
            c(Code::GET, None, Some(bv(1, false, 128))),
            s(Code::CONTENT, None, Some(bv(1, true, 128))),
            c(Code::GET, None, Some(bv(2, false, 128))),
            s(Code::CONTENT, None, Some(bv(2, false, 128))),
        ]
    );
    // The follow-up blocks came from the cache: the application produced the body once.
    assert_eq!(server.app_calls, 1);
    assert!(
        server.b2.is_empty(),
        "the final block frees the cache entry"
    );
}

#[test]
fn figure_3_early_negotiation() {
    let resource = body(64 * 4 + 10, 3);
    let mut server = Server::new(server_b1(1024), server_b2(128), resource.clone());
    let config = Block2ClientConfig {
        preferred_szx: Szx::S64,
        early_negotiation: true,
        ..Block2ClientConfig::default()
    };
    let client = Block2Client::new(Code::GET, path("status"), config);
    let first = client.request();
    let mut trace = Vec::new();
    let done = download(&mut server, 1, client, first, &mut trace).unwrap();
    assert_eq!(done.payload, resource);
    let expected: Vec<Line> = (0..5u32)
        .flat_map(|n| {
            [
                c(Code::GET, None, Some(bv(n, false, 64))),
                s(Code::CONTENT, None, Some(bv(n, n < 4, 64))),
            ]
        })
        .collect();
    assert_eq!(trace, expected);
}

#[test]
fn figure_4_late_negotiation() {
    // RFC 7959 Figure 4: 2:0/1/128, then 2:2/0/64 ... 2:5/0/64.
    let resource = body(128 + 64 * 3 + 41, 4);
    let mut server = Server::new(server_b1(1024), server_b2(128), resource.clone());
    let config = Block2ClientConfig {
        preferred_szx: Szx::S64,
        ..Block2ClientConfig::default()
    };
    let client = Block2Client::new(Code::GET, path("status"), config);
    let first = client.request();
    let mut trace = Vec::new();
    let done = download(&mut server, 1, client, first, &mut trace).unwrap();
    assert_eq!(done.payload, resource);
    assert_eq!(
        trace,
        [
            c(Code::GET, None, None),
            s(Code::CONTENT, None, Some(bv(0, true, 128))),
            c(Code::GET, None, Some(bv(2, false, 64))),
            s(Code::CONTENT, None, Some(bv(2, true, 64))),
            c(Code::GET, None, Some(bv(3, false, 64))),
            s(Code::CONTENT, None, Some(bv(3, true, 64))),
            c(Code::GET, None, Some(bv(4, false, 64))),
            s(Code::CONTENT, None, Some(bv(4, true, 64))),
            c(Code::GET, None, Some(bv(5, false, 64))),
            s(Code::CONTENT, None, Some(bv(5, false, 64))),
        ]
    );
}

#[test]
fn figure_7_atomic_put() {
    let payload = body(128 * 2 + 100, 7);
    let mut server = Server::new(server_b1(1024), server_b2(1024), Vec::new());
    let client = Block1Client::new(
        Code::PUT,
        path("options"),
        payload.clone(),
        b1cfg(128),
        None,
    )
    .unwrap();
    let mut trace = Vec::new();
    let done = upload(&mut server, 1, client, &mut trace).unwrap();
    assert_eq!(done.code, Code::CHANGED);
    assert_eq!(server.received, [payload]);
    assert_eq!(
        trace,
        [
            c(Code::PUT, Some(bv(0, true, 128)), None),
            s(Code::CONTINUE, Some(bv(0, true, 128)), None),
            c(Code::PUT, Some(bv(1, true, 128)), None),
            s(Code::CONTINUE, Some(bv(1, true, 128)), None),
            c(Code::PUT, Some(bv(2, false, 128)), None),
            s(Code::CHANGED, Some(bv(2, false, 128)), None),
        ]
    );
    assert!(server.b1.is_empty());
}

#[test]
fn figure_9_server_prefers_smaller_blocks() {
    // RFC 7959 Figure 9: 1:0/1/128 → 2.31 1:0/1/32, then 1:4/1/32, 1:5/1/32, 1:6/0/32.
    let payload = body(128 + 32 * 2 + 20, 9);
    let mut server = Server::new(server_b1(32), server_b2(1024), Vec::new());
    let client = Block1Client::new(
        Code::PUT,
        path("options"),
        payload.clone(),
        b1cfg(128),
        None,
    )
    .unwrap();
    let mut trace = Vec::new();
    upload(&mut server, 1, client, &mut trace).unwrap();
    assert_eq!(server.received, [payload]);
    assert_eq!(
        trace,
        [
            c(Code::PUT, Some(bv(0, true, 128)), None),
            s(Code::CONTINUE, Some(bv(0, true, 32)), None),
            c(Code::PUT, Some(bv(4, true, 32)), None),
            s(Code::CONTINUE, Some(bv(4, true, 32)), None),
            c(Code::PUT, Some(bv(5, true, 32)), None),
            s(Code::CONTINUE, Some(bv(5, true, 32)), None),
            c(Code::PUT, Some(bv(6, false, 32)), None),
            s(Code::CHANGED, Some(bv(6, false, 32)), None),
        ]
    );
}

#[test]
fn figure_10_post_with_blockwise_response() {
    let payload = body(128 * 2 + 5, 10);
    let resource = body(128 * 3 + 7, 11);
    let mut server = Server::new(server_b1(1024), server_b2(128), resource.clone());
    let client =
        Block1Client::new(Code::POST, path("soap"), payload.clone(), b1cfg(128), None).unwrap();
    let mut trace = Vec::new();
    let done = upload(&mut server, 1, client, &mut trace).unwrap();
    assert_eq!(server.received, [payload]);
    assert_eq!(done.payload, resource);
    assert_eq!(done.code, Code::CHANGED);
    assert_eq!(
        trace,
        [
            c(Code::POST, Some(bv(0, true, 128)), None),
            s(Code::CONTINUE, Some(bv(0, true, 128)), None),
            c(Code::POST, Some(bv(1, true, 128)), None),
            s(Code::CONTINUE, Some(bv(1, true, 128)), None),
            c(Code::POST, Some(bv(2, false, 128)), None),
            s(
                Code::CHANGED,
                Some(bv(2, false, 128)),
                Some(bv(0, true, 128))
            ),
            c(Code::POST, None, Some(bv(1, false, 128))),
            s(Code::CHANGED, None, Some(bv(1, true, 128))),
            c(Code::POST, None, Some(bv(2, false, 128))),
            s(Code::CHANGED, None, Some(bv(2, true, 128))),
            c(Code::POST, None, Some(bv(3, false, 128))),
            s(Code::CHANGED, None, Some(bv(3, false, 128))),
        ]
    );
    // The POST was enacted once; the response blocks came from the cache.
    assert_eq!(server.app_calls, 1);
}

#[test]
fn figure_11_post_with_early_negotiated_response() {
    let payload = body(128 * 2 + 5, 12);
    let resource = body(64 * 3 + 1, 13);
    let mut server = Server::new(server_b1(1024), server_b2(128), resource.clone());
    let config = Block1ClientConfig {
        response_szx: Some(Szx::S64),
        ..b1cfg(128)
    };
    let client =
        Block1Client::new(Code::POST, path("soap"), payload.clone(), config, None).unwrap();
    let mut trace = Vec::new();
    let done = upload(&mut server, 1, client, &mut trace).unwrap();
    assert_eq!(done.payload, resource);
    assert_eq!(
        trace[4..8],
        [
            c(Code::POST, Some(bv(2, false, 128)), Some(bv(0, false, 64))),
            s(
                Code::CHANGED,
                Some(bv(2, false, 128)),
                Some(bv(0, true, 64))
            ),
            c(Code::POST, None, Some(bv(1, false, 64))),
            s(Code::CHANGED, None, Some(bv(1, true, 64))),
        ]
    );
    assert_eq!(trace.len(), 12);
}

// ---------------------------------------------------------------------------------------------
// Request-Tag (RFC 9175 §3).

#[test]
fn concurrent_uploads_with_distinct_request_tags_stay_apart() {
    let mut server = Server::new(server_b1(1024), server_b2(1024), Vec::new());
    let a_body = body(100, 0xa0);
    let b_body = body(90, 0xb0);
    let mut a = Block1Client::new(Code::PUT, path("fw"), a_body.clone(), b1cfg(16), None).unwrap();
    // RFC 9175 §3.4: the second concurrent upload to the same resource needs a tag of its own.
    let tag = choose_request_tag([a.request_tag()]).unwrap();
    assert_eq!(
        tag,
        RequestTagChoice::Tag {
            bytes: [0; 2],
            len: 0
        }
    );
    let mut b = Block1Client::with_free_tag(
        Code::PUT,
        path("fw"),
        b_body.clone(),
        b1cfg(16),
        [a.request_tag()],
    )
    .unwrap();
    assert_eq!(b.request_tag(), tag.value());
    // A third concurrent upload gets yet another tag; a lone one none.
    let third = Block1Client::with_free_tag(
        Code::PUT,
        path("fw"),
        vec![0; 40],
        b1cfg(16),
        [None, Some(&[][..])],
    )
    .unwrap();
    assert_eq!(third.request_tag(), Some(&[0u8][..]));
    let lone = Block1Client::with_free_tag(Code::PUT, path("fw"), vec![], b1cfg(16), []);
    assert_eq!(lone.unwrap().request_tag(), None);
    let mut next_a = Some(a.request().unwrap());
    let mut next_b = Some(b.request().unwrap());
    // Interleave the blocks of both uploads.
    while next_a.is_some() || next_b.is_some() {
        for (client, next) in [(&mut a, &mut next_a), (&mut b, &mut next_b)] {
            let Some(req) = next.take() else { continue };
            let resp = server.handle(1, &wire(req, MessageType::Con), T0);
            match client
                .handle_response(&Message::decode(&resp).unwrap())
                .unwrap()
            {
                Block1Progress::Send(r) => *next = Some(r),
                Block1Progress::Done(parts) => assert_eq!(parts.code, Code::CHANGED),
                Block1Progress::Download { .. } => panic!("no download expected"),
            }
        }
    }
    assert_eq!(server.received.len(), 2);
    assert!(server.received.contains(&a_body));
    assert!(server.received.contains(&b_body));
    assert!(server.rejections.is_empty());
}

#[test]
fn same_resource_without_distinct_tags_collides() {
    // The control for the test above: two uploads with the same (absent) tag are one
    // operation to the server (RFC 9175 §3.3), so b's block 0 replaces a's, and a's body
    // arrives corrupted — which is why the second upload needs its own tag.
    let mut server = Server::new(server_b1(1024), server_b2(1024), Vec::new());
    let a_body = body(100, 1);
    let mut a = Block1Client::new(Code::PUT, path("fw"), a_body.clone(), b1cfg(16), None).unwrap();
    let b = Block1Client::new(Code::PUT, path("fw"), body(100, 2), b1cfg(16), None).unwrap();
    let mut request = a.request().unwrap();
    let mut first = true;
    loop {
        let resp = server.handle(1, &wire(request, MessageType::Con), T0);
        if first {
            server.handle(1, &wire(b.request().unwrap(), MessageType::Con), T0);
            first = false;
        }
        match a.handle_response(&Message::decode(&resp).unwrap()).unwrap() {
            Block1Progress::Send(r) => request = r,
            _ => break,
        }
    }
    assert_eq!(server.received.len(), 1);
    assert_ne!(server.received[0], a_body);
    assert_eq!(server.received[0][..16], body(100, 2)[..16]);
}

// ---------------------------------------------------------------------------------------------
// Block1 server: errors and bounds.

/// A Block1 request, encoded.
fn b1_request(path_: &str, tag: Option<&[u8]>, block: BlockValue, payload: &[u8]) -> Vec<u8> {
    let mut parts = MessageParts::new(Code::PUT);
    parts.options = path(path_);
    if let Some(t) = tag {
        parts.options.push(OptionNumber::REQUEST_TAG, t);
    }
    parts
        .options
        .push_uint(OptionNumber::BLOCK1, block.to_uint());
    parts.payload = payload.to_vec();
    wire(parts, MessageType::Con)
}

fn b1_handle(
    server: &mut Block1Server<u8>,
    peer: u8,
    bytes: &[u8],
    now: Duration,
) -> Result<Block1Action, Rejected> {
    server.handle(&peer, &Message::decode(bytes).unwrap(), now)
}

fn uint(parts: &MessageParts, number: OptionNumber) -> Option<u32> {
    parts.options.get(number).map(|o| o.as_uint().unwrap())
}

#[test]
fn missing_first_block_is_4_08() {
    let mut server = Block1Server::new(Block1ServerConfig::default());
    let r = b1_handle(
        &mut server,
        1,
        &b1_request("x", None, bv(1, true, 16), &[0; 16]),
        T0,
    )
    .unwrap_err();
    assert_eq!(r.error, BlockwiseError::UnknownTransfer { num: 1 });
    assert_eq!(r.response.code, Code::REQUEST_ENTITY_INCOMPLETE);
    // Out of order after a good start: 4.08, and the transfer survives for the right block.
    b1_handle(
        &mut server,
        1,
        &b1_request("x", None, bv(0, true, 16), &[0; 16]),
        T0,
    )
    .unwrap();
    let r = b1_handle(
        &mut server,
        1,
        &b1_request("x", None, bv(2, true, 16), &[0; 16]),
        T0,
    )
    .unwrap_err();
    assert_eq!(r.response.code, Code::REQUEST_ENTITY_INCOMPLETE);
    assert!(matches!(
        b1_handle(&mut server, 1, &b1_request("x", None, bv(1, false, 16), &[1; 3]), T0),
        Ok(Block1Action::Complete { ref body, .. }) if body.len() == 19
    ));
}

#[test]
fn payload_longer_than_szx_is_refused() {
    let mut server = Block1Server::new(Block1ServerConfig::default());
    for (block, len) in [
        (bv(0, true, 16), 17),
        (bv(0, false, 16), 17),
        (bv(0, true, 32), 31),
    ] {
        let r = b1_handle(
            &mut server,
            1,
            &b1_request("x", None, block, &vec![0; len]),
            T0,
        )
        .unwrap_err();
        assert_eq!(
            r.response.code,
            Code::BAD_REQUEST,
            "{block} with {len} bytes"
        );
    }
    let r = b1_handle(
        &mut server,
        1,
        &b1_request("x", None, bv(0, true, 16), &[0; 17]),
        T0,
    )
    .unwrap_err();
    assert_eq!(
        r.error,
        BlockwiseError::PayloadTooLong { len: 17, size: 16 }
    );
    assert!(server.is_empty());
    // Malformed Block1 values: SZX 7 is 4.00 (RFC 7959 §2.2), 4 bytes is 4.02 (RFC 7252
    // §5.4.3, a critical option of wrong length).
    for (value, code) in [
        (&[0x0f][..], Code::BAD_REQUEST),
        (&[1, 2, 3, 4][..], Code::BAD_OPTION),
    ] {
        let msg = OwnedMessage::new(MessageType::Con, Code::PUT, 1)
            .with_option(OptionNumber::BLOCK1, value)
            .with_payload(vec![0; 16])
            .to_vec()
            .unwrap();
        let r = b1_handle(&mut server, 1, &msg, T0).unwrap_err();
        assert_eq!(r.response.code, code);
        assert!(matches!(r.error, BlockwiseError::Block(_)));
    }
}

#[test]
fn body_limit_and_size1() {
    let config = Block1ServerConfig {
        max_body: 40,
        ..Block1ServerConfig::default()
    };
    let mut server = Block1Server::new(config);
    // Size1 announcing more than the limit: 4.13 with Size1 = the limit, before any storage.
    let mut parts = MessageParts::new(Code::PUT);
    parts
        .options
        .push_uint(OptionNumber::BLOCK1, bv(0, true, 16).to_uint());
    parts.options.push_uint(OptionNumber::SIZE1, 41);
    parts.payload = vec![0; 16];
    let r = b1_handle(&mut server, 1, &wire(parts, MessageType::Con), T0).unwrap_err();
    assert_eq!(r.response.code, Code::REQUEST_ENTITY_TOO_LARGE);
    assert_eq!(uint(&r.response, OptionNumber::SIZE1), Some(40));
    assert!(server.is_empty());
    // Without Size1 the body grows past the limit: 4.13, and the transfer is gone.
    for n in 0..2 {
        b1_handle(
            &mut server,
            1,
            &b1_request("x", None, bv(n, true, 16), &[0; 16]),
            T0,
        )
        .unwrap();
    }
    let r = b1_handle(
        &mut server,
        1,
        &b1_request("x", None, bv(2, true, 16), &[0; 16]),
        T0,
    )
    .unwrap_err();
    assert_eq!(
        r.error,
        BlockwiseError::TooLarge {
            size: 48,
            limit: 40
        }
    );
    assert_eq!(uint(&r.response, OptionNumber::SIZE1), Some(40));
    assert!(server.is_empty());
    // Exactly the limit is fine.
    for n in 0..2 {
        b1_handle(
            &mut server,
            1,
            &b1_request("x", None, bv(n, true, 16), &[0; 16]),
            T0,
        )
        .unwrap();
    }
    assert!(matches!(
        b1_handle(
            &mut server,
            1,
            &b1_request("x", None, bv(2, false, 16), &[0; 8]),
            T0
        ),
        Ok(Block1Action::Complete { .. })
    ));
}

#[test]
fn flood_from_one_peer_is_bounded() {
    let config = Block1ServerConfig {
        max_transfers_per_peer: 3,
        ..Block1ServerConfig::default()
    };
    let mut server = Block1Server::new(config);
    for i in 0..3u8 {
        let req = b1_request("x", Some(&[i]), bv(0, true, 16), &[0; 16]);
        assert!(matches!(
            b1_handle(&mut server, 7, &req, T0),
            Ok(Block1Action::Continue(_))
        ));
    }
    for i in 3..20u8 {
        let req = b1_request("x", Some(&[i]), bv(0, true, 16), &[0; 16]);
        let r = b1_handle(&mut server, 7, &req, T0 + Duration::from_secs(7)).unwrap_err();
        assert_eq!(r.error, BlockwiseError::PeerTransfersFull { limit: 3 });
        assert_eq!(r.response.code, Code::SERVICE_UNAVAILABLE);
        // Max-Age: until the oldest transfer of the peer expires (247 s after T0).
        assert_eq!(uint(&r.response, OptionNumber::MAX_AGE), Some(240));
    }
    assert_eq!(server.peer_len(&7), 3);
    assert_eq!(server.len(), 3);
    // Another peer is not affected.
    let req = b1_request("x", Some(&[0]), bv(0, true, 16), &[0; 16]);
    assert!(b1_handle(&mut server, 8, &req, T0).is_ok());
}

#[test]
fn flood_from_many_peers_is_bounded() {
    let config = Block1ServerConfig {
        max_transfers: 5,
        ..Block1ServerConfig::default()
    };
    let mut server = Block1Server::new(config);
    for peer in 0..5u8 {
        let req = b1_request("x", None, bv(0, true, 16), &[0; 16]);
        assert!(b1_handle(&mut server, peer, &req, T0).is_ok());
    }
    for peer in 5..50u8 {
        let req = b1_request("x", None, bv(0, true, 16), &[0; 16]);
        let r = b1_handle(&mut server, peer, &req, T0).unwrap_err();
        assert_eq!(r.error, BlockwiseError::TransfersFull { limit: 5 });
        assert_eq!(r.response.code, Code::SERVICE_UNAVAILABLE);
        assert!(uint(&r.response, OptionNumber::MAX_AGE).is_some());
    }
    assert_eq!(server.len(), 5);
    // A single-block request needs no state and still goes through.
    let req = b1_request("x", None, bv(0, false, 16), &[0; 5]);
    assert!(matches!(
        b1_handle(&mut server, 99, &req, T0),
        Ok(Block1Action::Complete { .. })
    ));
}

#[test]
fn total_bytes_are_bounded() {
    let config = Block1ServerConfig {
        max_buffered_bytes: 300,
        ..Block1ServerConfig::default()
    };
    let mut server = Block1Server::new(config);
    // Each transfer: key "x" (1 + 2 bytes) + 64-byte blocks.
    let mut refused = 0;
    for peer in 0..10u8 {
        let req = b1_request("x", None, bv(0, true, 64), &[0; 64]);
        match b1_handle(&mut server, peer, &req, T0) {
            Ok(_) => {}
            Err(r) => {
                assert!(matches!(r.error, BlockwiseError::BufferFull { .. }));
                assert_eq!(r.response.code, Code::REQUEST_ENTITY_TOO_LARGE);
                assert!(uint(&r.response, OptionNumber::SIZE1).unwrap() < 64);
                refused += 1;
            }
        }
        assert!(
            server.bytes_held() <= 300,
            "{} bytes held",
            server.bytes_held()
        );
    }
    assert_eq!(server.len(), 4, "4 × 67 bytes fit in 300");
    assert_eq!(refused, 6);
    // A growing transfer hits the bound too, and is dropped.
    let req = b1_request("x", None, bv(1, true, 64), &[0; 64]);
    let r = b1_handle(&mut server, 0, &req, T0).unwrap_err();
    assert!(matches!(r.error, BlockwiseError::BufferFull { .. }));
    assert_eq!(server.len(), 3);
    assert!(server.bytes_held() <= 300);
}

#[test]
fn idle_transfers_expire() {
    let config = Block1ServerConfig {
        lifetime: Duration::from_secs(10),
        ..Block1ServerConfig::default()
    };
    let mut server = Block1Server::new(config);
    b1_handle(
        &mut server,
        1,
        &b1_request("x", None, bv(0, true, 16), &[0; 16]),
        T0,
    )
    .unwrap();
    let t1 = T0 + Duration::from_secs(4);
    b1_handle(
        &mut server,
        2,
        &b1_request("x", None, bv(0, true, 16), &[0; 16]),
        t1,
    )
    .unwrap();
    assert_eq!(server.poll_timeout(), Some(T0 + Duration::from_secs(10)));
    server.handle_timeout(T0 + Duration::from_secs(9));
    assert_eq!(server.len(), 2);
    server.handle_timeout(T0 + Duration::from_secs(10));
    assert_eq!(server.len(), 1);
    assert_eq!(server.poll_timeout(), Some(t1 + Duration::from_secs(10)));
    // Expiry on access: peer 2's next block after its lifetime is 4.08.
    let r = b1_handle(
        &mut server,
        2,
        &b1_request("x", None, bv(1, true, 16), &[0; 16]),
        t1 + Duration::from_secs(10),
    )
    .unwrap_err();
    assert_eq!(r.response.code, Code::REQUEST_ENTITY_INCOMPLETE);
    assert!(server.is_empty());
    assert_eq!(server.poll_timeout(), None);
}

#[test]
fn repeated_block_is_acknowledged_again() {
    let mut server = Block1Server::new(Block1ServerConfig::default());
    b1_handle(
        &mut server,
        1,
        &b1_request("x", None, bv(0, true, 16), &[1; 16]),
        T0,
    )
    .unwrap();
    let b1 = b1_request("x", None, bv(1, true, 16), &[2; 16]);
    let first = b1_handle(&mut server, 1, &b1, T0).unwrap();
    let again = b1_handle(&mut server, 1, &b1, T0).unwrap();
    assert_eq!(first, again);
    assert_eq!(server.bytes_held(), 32 + 3);
}

// ---------------------------------------------------------------------------------------------
// Block2 server.

fn get(path_: &str, block2: Option<BlockValue>, size2: bool) -> Vec<u8> {
    let mut parts = MessageParts::new(Code::GET);
    parts.options = path(path_);
    if let Some(b) = block2 {
        parts.options.push_uint(OptionNumber::BLOCK2, b.to_uint());
    }
    if size2 {
        parts.options.push_uint(OptionNumber::SIZE2, 0);
    }
    wire(parts, MessageType::Con)
}

fn content(len: usize) -> MessageParts {
    let mut r = MessageParts::new(Code::CONTENT);
    r.options.push_uint(OptionNumber::CONTENT_FORMAT, 0);
    r.payload = body(len, 0x55);
    r
}

#[test]
fn block2_beyond_end_size2_and_etag() {
    let mut server: Block2Server<u8> = Block2Server::new(server_b2(64));
    let req = get("r", Some(bv(0, false, 32)), true);
    let out = server
        .respond(&1, &Message::decode(&req).unwrap(), content(100), T0)
        .unwrap();
    assert_eq!(
        uint(&out.response, OptionNumber::BLOCK2),
        Some(bv(0, true, 32).to_uint())
    );
    assert_eq!(uint(&out.response, OptionNumber::SIZE2), Some(100));
    assert_eq!(
        out.response
            .options
            .get(OptionNumber::ETAG)
            .unwrap()
            .value
            .len(),
        8
    );
    assert_eq!(out.response.payload, body(100, 0x55)[..32]);
    assert_eq!(out.cache, CacheOutcome::Stored);
    // Past the end (block 4 of 32 bytes starts at 128 > 100): 4.02.
    let req = get("r", Some(bv(4, false, 32)), false);
    let r = server
        .serve_cached(&1, &Message::decode(&req).unwrap(), T0)
        .unwrap_err();
    assert_eq!(r.response.code, Code::BAD_OPTION);
    assert_eq!(r.error, BlockwiseError::BeyondEnd { num: 4, len: 100 });
    let r = server
        .respond(&1, &Message::decode(&req).unwrap(), content(100), T0)
        .unwrap_err();
    assert_eq!(r.response.code, Code::BAD_OPTION);
    // No Size2 in the request: none in the response.
    let req = get("r", Some(bv(1, false, 32)), false);
    let out = server
        .serve_cached(&1, &Message::decode(&req).unwrap(), T0)
        .unwrap()
        .unwrap();
    assert_eq!(uint(&out, OptionNumber::SIZE2), None);
    // A small body asked without Block2 goes out unchanged.
    let req = get("small", None, false);
    let out = server
        .respond(&1, &Message::decode(&req).unwrap(), content(10), T0)
        .unwrap();
    assert_eq!(out.response, content(10));
    assert_eq!(out.cache, CacheOutcome::NotNeeded);
}

#[test]
fn block2_cache_is_bounded() {
    let config = Block2ServerConfig {
        preferred_szx: Szx::S16,
        max_unsliced: None,
        max_entries_per_peer: 2,
        max_entries: 3,
        max_bytes: 1000,
        lifetime: Duration::from_secs(10),
    };
    let mut server: Block2Server<u8> = Block2Server::new(config);
    let respond = |server: &mut Block2Server<u8>, peer: u8, p: &str, len: usize, now| {
        let req = get(p, None, false);
        server
            .respond(&peer, &Message::decode(&req).unwrap(), content(len), now)
            .unwrap()
            .cache
    };
    // One peer: its third resource displaces its least recently used one.
    for (i, p) in ["a", "b", "c", "d"].iter().enumerate() {
        let t = T0 + Duration::from_secs(i as u64);
        assert_eq!(respond(&mut server, 1, p, 100, t), CacheOutcome::Stored);
        assert!(server.peer_len(&1) <= 2);
    }
    assert_eq!(server.len(), 2);
    // Many peers: the total bound refuses (the response is still served).
    assert_eq!(respond(&mut server, 2, "a", 100, T0), CacheOutcome::Stored);
    assert_eq!(
        respond(&mut server, 3, "a", 100, T0),
        CacheOutcome::Refused(BlockwiseError::TransfersFull { limit: 3 })
    );
    assert_eq!(server.len(), 3);
    // Bytes: a huge body is refused outright.
    assert!(matches!(
        respond(&mut server, 2, "big", 5000, T0),
        CacheOutcome::Refused(BlockwiseError::TooLarge { .. })
    ));
    assert!(server.bytes_held() <= 1000);
    // Age.
    server.handle_timeout(T0 + Duration::from_secs(20));
    assert!(server.is_empty());
}

#[test]
fn block2_cache_bytes_bound() {
    let config = Block2ServerConfig {
        preferred_szx: Szx::S16,
        max_bytes: 500,
        ..Block2ServerConfig::default()
    };
    let mut server: Block2Server<u8> = Block2Server::new(config);
    let mut refused = 0;
    for peer in 0..10u8 {
        let req = get("a", None, false);
        let out = server
            .respond(&peer, &Message::decode(&req).unwrap(), content(150), T0)
            .unwrap();
        if let CacheOutcome::Refused(e) = out.cache {
            assert!(matches!(e, BlockwiseError::BufferFull { .. }));
            refused += 1;
        }
        assert!(server.bytes_held() <= 500);
        // The response is served either way.
        assert_eq!(out.response.payload.len(), 16);
    }
    assert!(refused >= 7, "{refused}");
}

// ---------------------------------------------------------------------------------------------
// Misbehaving servers and the Block2 client.

/// A Block2 response with `block`, `etag`, `payload`.
fn b2_response(block: BlockValue, etag: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut m = OwnedMessage::new(MessageType::Ack, Code::CONTENT, 1)
        .with_uint_option(OptionNumber::BLOCK2, block.to_uint());
    if !etag.is_empty() {
        m = m.with_option(OptionNumber::ETAG, etag);
    }
    m.with_payload(payload.to_vec()).to_vec().unwrap()
}

fn asked(parts: &MessageParts) -> Option<BlockValue> {
    parts
        .options
        .get(OptionNumber::BLOCK2)
        .map(|o| BlockValue::decode(o.value, false).unwrap())
}

#[test]
fn server_answering_m1_with_empty_payloads_ends_the_download() {
    let mut client = Block2Client::new(Code::GET, path("r"), Block2ClientConfig::default());
    let mut request = client.request();
    let mut requests = 0;
    let error = loop {
        requests += 1;
        assert!(requests <= 3, "the client keeps asking");
        // The server echoes the block asked for, says M = 1, and sends nothing.
        let num = asked(&request).map_or(0, |b| b.num());
        let resp = b2_response(bv(num, true, 64), b"", &[]);
        match client.handle_response(&Message::decode(&resp).unwrap()) {
            Ok(Block2Progress::Send(next)) => request = next,
            Ok(Block2Progress::Complete(_)) => panic!("completed"),
            Err(e) => break e,
        }
    };
    assert_eq!(
        error,
        BlockwiseError::ShortBlock {
            num: 0,
            len: 0,
            size: 64
        }
    );
    assert_eq!(requests, 1);
    // Afterwards the client is finished.
    let resp = b2_response(bv(0, false, 64), b"", &[]);
    assert_eq!(
        client.handle_response(&Message::decode(&resp).unwrap()),
        Err(BlockwiseError::Finished)
    );
}

#[test]
fn short_nonfinal_block_wrong_number_and_larger_size_are_refused() {
    let cfg = Block2ClientConfig {
        preferred_szx: Szx::S64,
        early_negotiation: true,
        ..Block2ClientConfig::default()
    };
    // M = 1 with 63 of 64 bytes.
    let mut client = Block2Client::new(Code::GET, path("r"), cfg);
    let resp = b2_response(bv(0, true, 64), b"", &[0; 63]);
    assert!(matches!(
        client.handle_response(&Message::decode(&resp).unwrap()),
        Err(BlockwiseError::ShortBlock { len: 63, .. })
    ));
    // Another block than asked.
    let mut client = Block2Client::new(Code::GET, path("r"), cfg);
    let resp = b2_response(bv(0, true, 64), b"", &[0; 64]);
    let Block2Progress::Send(next) = client
        .handle_response(&Message::decode(&resp).unwrap())
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(asked(&next), Some(bv(1, false, 64)));
    let resp = b2_response(bv(5, true, 64), b"", &[0; 64]);
    assert!(matches!(
        client.handle_response(&Message::decode(&resp).unwrap()),
        Err(BlockwiseError::UnexpectedBlock {
            asked: 1,
            got: 5,
            ..
        })
    ));
    // A larger block than asked for (RFC 7959 §2.4: the server MUST use the size indicated
    // or a smaller one).
    let mut client = Block2Client::new(Code::GET, path("r"), cfg);
    let resp = b2_response(bv(0, true, 128), b"", &[0; 128]);
    assert!(matches!(
        client.handle_response(&Message::decode(&resp).unwrap()),
        Err(BlockwiseError::UnexpectedBlock { .. })
    ));
    // A final block longer than its size.
    let mut client = Block2Client::new(Code::GET, path("r"), cfg);
    let resp = b2_response(bv(0, false, 64), b"", &[0; 65]);
    assert!(matches!(
        client.handle_response(&Message::decode(&resp).unwrap()),
        Err(BlockwiseError::PayloadTooLong { len: 65, size: 64 })
    ));
}

#[test]
fn download_body_limit() {
    let cfg = Block2ClientConfig {
        max_body: 100,
        ..Block2ClientConfig::default()
    };
    let mut server = Server::new(server_b1(1024), server_b2(32), body(101, 1));
    let client = Block2Client::new(Code::GET, path("r"), cfg);
    let first = client.request();
    let r = download(&mut server, 1, client, first, &mut Vec::new());
    assert_eq!(
        r,
        Err(BlockwiseError::TooLarge {
            size: 101,
            limit: 100
        })
    );
    // Exactly the limit completes.
    let mut server = Server::new(server_b1(1024), server_b2(32), body(100, 1));
    let client = Block2Client::new(Code::GET, path("r"), cfg);
    let first = client.request();
    assert_eq!(
        download(&mut server, 1, client, first, &mut Vec::new())
            .unwrap()
            .payload,
        body(100, 1)
    );
}

#[test]
fn etag_change_restarts_from_block_0() {
    let cfg = Block2ClientConfig {
        preferred_szx: Szx::S16,
        early_negotiation: true,
        max_restarts: 2,
        ..Block2ClientConfig::default()
    };
    let mut client = Block2Client::new(Code::GET, path("r"), cfg);
    let v1 = body(40, 1);
    let v2 = body(40, 2);
    let step = |client: &mut Block2Client, num: u32, etag: &[u8], rep: &[u8]| {
        let end = ((num as usize + 1) * 16).min(rep.len());
        let resp = b2_response(
            bv(num, end < rep.len(), 16),
            etag,
            &rep[num as usize * 16..end],
        );
        client.handle_response(&Message::decode(&resp).unwrap())
    };
    assert!(matches!(
        step(&mut client, 0, b"v1", &v1),
        Ok(Block2Progress::Send(_))
    ));
    // The representation changed under us: back to block 0.
    let Ok(Block2Progress::Send(next)) = step(&mut client, 1, b"v2", &v2) else {
        panic!()
    };
    assert_eq!(asked(&next), Some(bv(0, false, 16)));
    assert_eq!(client.restarts(), 1);
    assert_eq!(client.bytes_held(), 0);
    for num in 0..2 {
        assert!(matches!(
            step(&mut client, num, b"v2", &v2),
            Ok(Block2Progress::Send(_))
        ));
    }
    let Ok(Block2Progress::Complete(done)) = step(&mut client, 2, b"v2", &v2) else {
        panic!()
    };
    assert_eq!(done.payload, v2);
}

#[test]
fn changed_representation_end_to_end_restarts_once() {
    // A stateless Block2 server (no cache entries allowed): each block is cut from the body
    // the application produces now. The resource changes after block 0; the server's ETag
    // (a hash of the body) changes with it, and the client starts over and gets v2 whole.
    let config = Block2ServerConfig {
        max_entries: 0,
        ..server_b2(32)
    };
    let v1 = body(100, 1);
    let v2 = body(100, 2);
    let mut server = Server::new(server_b1(1024), config, v1);
    let mut client = Block2Client::new(Code::GET, path("r"), Block2ClientConfig::default());
    let mut request = client.request();
    let mut responses = 0;
    let done = loop {
        let resp = server.handle(1, &wire(request, MessageType::Con), T0);
        responses += 1;
        server.resource.clone_from(&v2);
        match client
            .handle_response(&Message::decode(&resp).unwrap())
            .unwrap()
        {
            Block2Progress::Send(next) => request = next,
            Block2Progress::Complete(parts) => break parts,
        }
    };
    assert_eq!(done.payload, v2);
    assert_eq!(client.restarts(), 1);
    // v1 block 0, v2 block 1 (restart), then v2 blocks 0..=3.
    assert_eq!(responses, 6);
    assert!(server.b2.is_empty());
}

#[test]
fn etag_changing_every_block_fails_after_bounded_restarts() {
    let cfg = Block2ClientConfig {
        preferred_szx: Szx::S16,
        early_negotiation: true,
        max_restarts: 3,
        ..Block2ClientConfig::default()
    };
    let mut client = Block2Client::new(Code::GET, path("r"), cfg);
    let mut request = client.request();
    let mut generation = 0u8;
    let mut responses = 0;
    let error = loop {
        responses += 1;
        assert!(responses <= 20, "no end");
        generation = generation.wrapping_add(1);
        let num = asked(&request).unwrap().num();
        let resp = b2_response(bv(num, true, 16), &[generation], &[0; 16]);
        match client.handle_response(&Message::decode(&resp).unwrap()) {
            Ok(Block2Progress::Send(next)) => request = next,
            Ok(Block2Progress::Complete(_)) => panic!(),
            Err(e) => break e,
        }
    };
    assert_eq!(error, BlockwiseError::TooManyRestarts { restarts: 3 });
    // Block 0, then block 1 with a new ETag, three times over, then the fourth change fails.
    assert_eq!(responses, 8);
}

#[test]
fn block_number_overflow_is_an_error() {
    // A server that claims M = 1 on block 2^20 - 1 could never end: 16-byte blocks make that
    // reachable with a 16 MiB limit; the client must stop with a typed error.
    let cfg = Block2ClientConfig {
        max_body: 64 << 20,
        preferred_szx: Szx::S16,
        early_negotiation: true,
        ..Block2ClientConfig::default()
    };
    let mut client = Block2Client::new(Code::GET, OptionList::new(), cfg);
    let mut num = 0u32;
    let error = loop {
        let resp = b2_response(bv(num, true, 16), b"", &[0; 16]);
        match client.handle_response(&Message::decode(&resp).unwrap()) {
            Ok(Block2Progress::Send(next)) => num = asked(&next).unwrap().num(),
            Ok(Block2Progress::Complete(_)) => panic!(),
            Err(e) => break e,
        }
    };
    assert_eq!(
        error,
        BlockwiseError::BlockNumberOverflow {
            num: mote_coap::block::MAX_BLOCK_NUMBER
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Block1 client against 4.13.

#[test]
fn upload_too_large_for_the_server_is_an_error() {
    let config = Block1ServerConfig {
        max_body: 100,
        ..Block1ServerConfig::default()
    };
    let mut server = Server::new(config, server_b2(1024), Vec::new());
    let client = Block1Client::new(Code::PUT, path("x"), body(200, 1), b1cfg(64), None).unwrap();
    let mut trace = Vec::new();
    assert_eq!(
        upload(&mut server, 1, client, &mut trace),
        Err(BlockwiseError::RequestTooLarge {
            len: 200,
            size1: Some(100)
        })
    );
    // One request: Size1 in block 0 let the server refuse at once.
    assert_eq!(trace.len(), 2);
}

#[test]
fn upload_retries_with_the_smaller_szx_of_a_4_13() {
    // A server that only takes 32-byte blocks, saying so in a 4.13 with Block1 (RFC 7959
    // §2.9.3: "a hint to try a smaller SZX").
    let mut client =
        Block1Client::new(Code::PUT, path("x"), body(100, 3), b1cfg(64), None).unwrap();
    let first = client.request().unwrap();
    let resp = OwnedMessage::new(MessageType::Ack, Code::REQUEST_ENTITY_TOO_LARGE, 1)
        .with_uint_option(OptionNumber::BLOCK1, bv(0, true, 32).to_uint())
        .to_vec()
        .unwrap();
    let Block1Progress::Send(retry) = client
        .handle_response(&Message::decode(&resp).unwrap())
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(first.payload.len(), 64);
    assert_eq!(retry.payload, body(100, 3)[..32]);
    assert_eq!(
        uint(&retry, OptionNumber::BLOCK1),
        Some(bv(0, true, 32).to_uint())
    );
    // The same hint again does not help: an error, not a loop.
    assert!(matches!(
        client.handle_response(&Message::decode(&resp).unwrap()),
        Err(BlockwiseError::RequestTooLarge { .. })
    ));
}

#[test]
fn plain_request_4_13_switches_to_block1() {
    // RFC 7959 §2.9.3: "a 4.13 response to a request that does not employ Block1 is a hint
    // for the client to try sending Block1".
    let mut client =
        Block1Client::new(Code::PUT, path("x"), body(200, 3), b1cfg(256), None).unwrap();
    let first = client.request().unwrap();
    assert!(first.options.get(OptionNumber::BLOCK1).is_none());
    assert_eq!(first.payload.len(), 200);
    let resp = OwnedMessage::new(MessageType::Ack, Code::REQUEST_ENTITY_TOO_LARGE, 1)
        .to_vec()
        .unwrap();
    let Block1Progress::Send(retry) = client
        .handle_response(&Message::decode(&resp).unwrap())
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(
        uint(&retry, OptionNumber::BLOCK1),
        Some(bv(0, true, 128).to_uint())
    );
    assert_eq!(uint(&retry, OptionNumber::SIZE1), Some(200));
}

#[test]
fn wrong_acknowledgement_is_an_error() {
    let mut client =
        Block1Client::new(Code::PUT, path("x"), body(100, 3), b1cfg(16), None).unwrap();
    let resp = OwnedMessage::new(MessageType::Ack, Code::CONTINUE, 1)
        .with_uint_option(OptionNumber::BLOCK1, bv(3, true, 16).to_uint())
        .to_vec()
        .unwrap();
    assert_eq!(
        client
            .handle_response(&Message::decode(&resp).unwrap())
            .unwrap_err(),
        BlockwiseError::Block(BlockError::UnexpectedAcknowledgement { sent: 0, got: 3 })
    );
}

// ---------------------------------------------------------------------------------------------
// Property: any body, any block sizes on either side → the same body arrives.

const SIZES: [usize; 7] = [16, 32, 64, 128, 256, 512, 1024];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn upload_reassembles_any_body(
        len in 0usize..=4096,
        seed in any::<u8>(),
        client_size in 0usize..7,
        server_size in 0usize..7,
    ) {
        let payload = body(len, seed);
        let config = Block1ServerConfig { max_body: 4096, ..server_b1(SIZES[server_size]) };
        let mut server = Server::new(config, server_b2(1024), Vec::new());
        let client = Block1Client::new(
            Code::PUT, path("p"), payload.clone(), b1cfg(SIZES[client_size]), None,
        ).unwrap();
        let done = upload(&mut server, 1, client, &mut Vec::new()).unwrap();
        prop_assert_eq!(done.code, Code::CHANGED);
        prop_assert_eq!(&server.received, &vec![payload]);
        prop_assert!(server.b1.is_empty());
    }

    #[test]
    fn download_reassembles_any_body(
        len in 0usize..=4096,
        seed in any::<u8>(),
        client_size in 0usize..7,
        server_size in 0usize..7,
        early in any::<bool>(),
    ) {
        let resource = body(len, seed);
        let mut server = Server::new(server_b1(1024), server_b2(SIZES[server_size]), resource.clone());
        let cfg = Block2ClientConfig {
            max_body: 4096,
            preferred_szx: Szx::from_size(SIZES[client_size]).unwrap(),
            early_negotiation: early,
            ..Block2ClientConfig::default()
        };
        let client = Block2Client::new(Code::GET, path("p"), cfg);
        let first = client.request();
        let done = download(&mut server, 1, client, first, &mut Vec::new()).unwrap();
        prop_assert_eq!(done.payload, resource);
        prop_assert!(server.b2.is_empty());
    }
}

/// `max_unsliced`: a body up to that size goes out whole to a request without Block2 (an
/// intermediary relaying a ciphertext); beyond it, and without the setting, it is sliced.
#[test]
fn block2_max_unsliced_sends_a_fitting_body_whole() {
    let respond = |max_unsliced, len| {
        let config = Block2ServerConfig {
            max_unsliced,
            ..server_b2(64)
        };
        let mut server: Block2Server<u8> = Block2Server::new(config);
        let req = get("r", None, false);
        server
            .respond(&1, &Message::decode(&req).unwrap(), content(len), T0)
            .unwrap()
            .response
    };
    let whole = respond(Some(100), 100);
    assert_eq!(whole.payload.len(), 100);
    assert!(whole.options.get(OptionNumber::BLOCK2).is_none());
    for sliced in [respond(Some(100), 101), respond(None, 100)] {
        assert_eq!(sliced.payload.len(), 64);
        assert!(sliced.options.get(OptionNumber::BLOCK2).is_some());
    }
}

/// RFC 7959 §2.4: an application that cuts the block itself (a representation it does not hold
/// as one buffer) answers with Block2 set: that block goes out unchanged — not sliced again at
/// the request's offset, not kept — while a response without Block2 is still sliced.
#[test]
fn block2_a_block_the_application_cut_goes_out_unchanged() {
    let mut server: Block2Server<u8> = Block2Server::new(server_b2(64));
    let req = get("fw", Some(bv(5, false, 32)), false);
    let mut own = content(32);
    own.options
        .set_uint(OptionNumber::BLOCK2, bv(5, true, 32).to_uint());
    own.options.set_uint(OptionNumber::SIZE2, 4096);
    let out = server
        .respond(&1, &Message::decode(&req).unwrap(), own.clone(), T0)
        .unwrap();
    assert_eq!(out.response, own);
    assert_eq!(out.cache, CacheOutcome::NotNeeded);
    assert_eq!(server.len(), 0, "nothing kept");
    // The same request answered with a whole body is sliced at block 5 as before.
    let out = server
        .respond(&1, &Message::decode(&req).unwrap(), content(400), T0)
        .unwrap();
    assert_eq!(out.response.payload, body(400, 0x55)[160..192]);
}
