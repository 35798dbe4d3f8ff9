//! Block-wise transfers (RFC 7959) driven by the endpoint itself, client and server role:
//! the application sees one request with the whole body and one response with the whole body,
//! under loss, duplication and reordering.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod sim;

use std::time::Duration;

use mote_coap::block::{BlockValue, Szx};
use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::blockwise::{Block1ClientConfig, Block1ServerConfig};
use mote_coap::endpoint::{
    Endpoint, EndpointConfig, Event, IncomingId, Reliability, RequestOptions, TransferProgress,
};
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;
use proptest::prelude::*;
use sim::{Addr, LinkProfile, Sim, SimEndpoint, XorShift64};

const CLIENT: Addr = 1;
const SERVER: Addr = 2;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A body whose every byte depends on its offset, so misplaced blocks show.
fn body(len: usize, salt: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ salt).collect()
}

fn request(code: Code, path: &str, payload: Vec<u8>) -> OwnedMessage {
    OwnedMessage::new(MessageType::Con, code, 0)
        .with_option(OptionNumber::URI_PATH, path)
        .with_payload(payload)
}

fn response(code: Code, payload: Vec<u8>) -> OwnedMessage {
    OwnedMessage::new(MessageType::Ack, code, 0).with_payload(payload)
}

fn small_blocks() -> EndpointConfig {
    let mut config = EndpointConfig::default();
    config.client_blockwise.szx = Szx::S64;
    config.block1.preferred_szx = Szx::S1024;
    config.block2.preferred_szx = Szx::S128;
    config
}

/// Runs one exchange: the client sends `req`, the server answers every request with
/// `answer_len` bytes (code 2.05 for GET, 2.04 otherwise). Returns the request bodies the server
/// application saw and the client's events.
fn exchange(
    profile: LinkProfile,
    seed: u64,
    req: OwnedMessage,
    answer_len: usize,
    reliability: Reliability,
) -> (Vec<Vec<u8>>, Vec<Event<Addr>>) {
    let mut sim = Sim::new(profile, seed);
    sim.add(CLIENT, small_blocks());
    sim.add(SERVER, small_blocks());
    let now = sim.now;
    sim.node(CLIENT)
        .request(now, SERVER, req, reliability)
        .unwrap();
    let mut seen = Vec::new();
    sim.run_for(secs(900), &mut |ep, now, node, e| {
        if let (SERVER, Event::Request { id, message, .. }) = (node, e) {
            seen.push(message.message.payload.clone());
            let code = if message.code == Code::GET {
                Code::CONTENT
            } else {
                Code::CHANGED
            };
            ep.respond(now, id, response(code, body(answer_len, 0x5a)))
                .unwrap();
        }
    });
    let client = sim.events_of(CLIENT).cloned().collect();
    (seen, client)
}

fn the_response(events: &[Event<Addr>]) -> &OwnedMessage {
    let responses: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Response { message, .. } => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(responses.len(), 1, "events: {events:?}");
    responses[0]
}

#[test]
fn upload_is_reassembled_by_the_server_endpoint() {
    let (seen, events) = exchange(
        LinkProfile::PERFECT,
        1,
        request(Code::PUT, "fw", body(1000, 1)),
        0,
        Reliability::Confirmable,
    );
    // One Request event with the whole body: no Block1 seen by the application.
    assert_eq!(seen, vec![body(1000, 1)]);
    let r = the_response(&events);
    assert_eq!(r.code, Code::CHANGED);
    assert!(r.option(OptionNumber::BLOCK1).is_none());
}

#[test]
fn upload_travels_in_blocks_with_2_31_continue() {
    let mut sim = Sim::new(LinkProfile::PERFECT, 2);
    sim.add(CLIENT, small_blocks());
    sim.add(SERVER, small_blocks());
    let now = sim.now;
    sim.node(CLIENT)
        .request(
            now,
            SERVER,
            request(Code::PUT, "fw", body(200, 2)),
            Reliability::Confirmable,
        )
        .unwrap();
    sim.run_for(secs(60), &mut |ep, now, node, e| {
        if let (SERVER, Event::Request { id, .. }) = (node, e) {
            ep.respond(now, id, response(Code::CHANGED, vec![]))
                .unwrap();
        }
    });
    // 200 bytes in 64-byte blocks: 4 requests, 3 answered 2.31 by the endpoint itself.
    let up: Vec<_> = sim.sent(CLIENT, SERVER).map(|d| d.bytes.clone()).collect();
    assert_eq!(up.len(), 4);
    let down: Vec<_> = sim.sent(SERVER, CLIENT).map(|d| d.bytes.clone()).collect();
    let codes: Vec<Code> = down
        .iter()
        .map(|b| Message::decode(b).unwrap().code())
        .collect();
    assert_eq!(
        codes,
        [
            Code::CONTINUE,
            Code::CONTINUE,
            Code::CONTINUE,
            Code::CHANGED
        ]
    );
    let last = Message::decode(&up[3]).unwrap();
    let b1 = BlockValue::from_message(&last, OptionNumber::BLOCK1)
        .unwrap()
        .unwrap();
    assert_eq!((b1.num(), b1.more(), b1.size()), (3, false, 64));
    assert_eq!(last.payload(), &body(200, 2)[192..]);
    // The final response acknowledges the last block (RFC 7959 §2.5).
    let fin = Message::decode(&down[3]).unwrap();
    let ack = BlockValue::from_message(&fin, OptionNumber::BLOCK1)
        .unwrap()
        .unwrap();
    assert_eq!(ack.num(), 3);
    assert_eq!(sim.node(SERVER).stats().block1_transfers, 0);
}

#[test]
fn download_is_sliced_and_served_from_the_cache() {
    let mut sim = Sim::new(LinkProfile::PERFECT, 3);
    sim.add(CLIENT, small_blocks());
    sim.add(SERVER, small_blocks());
    let now = sim.now;
    sim.node(CLIENT)
        .request(
            now,
            SERVER,
            request(Code::GET, "log", vec![]),
            Reliability::Confirmable,
        )
        .unwrap();
    let mut requests = 0;
    sim.run_for(secs(60), &mut |ep, now, node, e| {
        if let (SERVER, Event::Request { id, .. }) = (node, e) {
            requests += 1;
            ep.respond(now, id, response(Code::CONTENT, body(1000, 3)))
                .unwrap();
        }
    });
    // The application answered once; 1000 bytes in 128-byte blocks took 8 exchanges.
    assert_eq!(requests, 1);
    assert_eq!(sim.sent(CLIENT, SERVER).count(), 8);
    for d in sim.sent(SERVER, CLIENT) {
        let m = Message::decode(&d.bytes).unwrap();
        assert!(m.payload().len() <= 128);
        assert!(m.option(OptionNumber::ETAG).is_some());
    }
    let events: Vec<_> = sim.events_of(CLIENT).cloned().collect();
    let r = the_response(&events);
    assert_eq!(r.payload, body(1000, 3));
    assert!(r.option(OptionNumber::BLOCK2).is_none());
    assert_eq!(sim.node(SERVER).stats().block2_entries, 0);
}

#[test]
fn early_negotiation_asks_for_smaller_blocks() {
    let mut sim = Sim::new(LinkProfile::PERFECT, 4);
    sim.add(CLIENT, small_blocks());
    sim.add(SERVER, small_blocks());
    let now = sim.now;
    let mut blockwise = Block1ClientConfig::default();
    blockwise.download.early_negotiation = true;
    blockwise.download.preferred_szx = Szx::S32;
    blockwise.response_szx = Some(Szx::S32);
    sim.node(CLIENT)
        .request_with(
            now,
            SERVER,
            request(Code::GET, "log", vec![]),
            RequestOptions::new(Reliability::Confirmable, blockwise),
        )
        .unwrap();
    sim.run_for(secs(60), &mut |ep, now, node, e| {
        if let (SERVER, Event::Request { id, .. }) = (node, e) {
            ep.respond(now, id, response(Code::CONTENT, body(100, 4)))
                .unwrap();
        }
    });
    let first = sim.sent(CLIENT, SERVER).next().unwrap().bytes.clone();
    let asked = BlockValue::from_message(&Message::decode(&first).unwrap(), OptionNumber::BLOCK2)
        .unwrap()
        .unwrap();
    assert_eq!((asked.num(), asked.size()), (0, 32));
    // 100 bytes in 32-byte blocks: 4 responses.
    assert_eq!(sim.sent(SERVER, CLIENT).count(), 4);
    let events: Vec<_> = sim.events_of(CLIENT).cloned().collect();
    assert_eq!(the_response(&events).payload, body(100, 4));
}

#[test]
fn combined_block1_and_block2() {
    let (seen, events) = exchange(
        LinkProfile::PERFECT,
        5,
        request(Code::POST, "rpc", body(500, 5)),
        700,
        Reliability::Confirmable,
    );
    assert_eq!(seen, vec![body(500, 5)]);
    let r = the_response(&events);
    assert_eq!(r.code, Code::CHANGED);
    assert_eq!(r.payload, body(700, 0x5a));
}

#[test]
fn non_confirmable_blockwise_completes() {
    let (seen, events) = exchange(
        LinkProfile::PERFECT,
        6,
        request(Code::POST, "rpc", body(300, 6)),
        300,
        Reliability::NonConfirmable,
    );
    assert_eq!(seen, vec![body(300, 6)]);
    assert_eq!(the_response(&events).payload, body(300, 0x5a));
}

// ---------------------------------------------------------------------------------------------
// Server-side corner cases, driven with hand-made requests.

fn lone(config: EndpointConfig) -> SimEndpoint {
    Endpoint::new(config, XorShift64::new(77)).unwrap()
}

fn wire(code: Code, mid: u16, token: &[u8]) -> OwnedMessage {
    OwnedMessage::new(MessageType::Con, code, mid)
        .with_token(token)
        .with_option(OptionNumber::URI_PATH, "r")
}

fn with_block(
    m: OwnedMessage,
    number: OptionNumber,
    num: u32,
    more: bool,
    szx: Szx,
) -> OwnedMessage {
    m.with_uint_option(number, BlockValue::new(num, more, szx).unwrap().to_uint())
}

fn requests(ep: &mut SimEndpoint) -> Vec<(IncomingId, OwnedMessage)> {
    std::iter::from_fn(|| ep.poll_event())
        .filter_map(|e| match e {
            Event::Request { id, message, .. } => Some((id, message.message)),
            _ => None,
        })
        .collect()
}

fn replies(ep: &mut SimEndpoint) -> Vec<OwnedMessage> {
    std::iter::from_fn(|| ep.poll_transmit())
        .map(|t| Message::decode(&t.datagram).unwrap().to_owned())
        .collect()
}

#[test]
fn cache_miss_goes_to_the_application_for_get_and_is_4_08_for_post() {
    let mut config = small_blocks();
    config.block2.max_entries = 1;
    let mut ep = lone(config);
    let t = Duration::from_secs(10);
    // GET block 2 with nothing cached: the application answers, the endpoint cuts block 2.
    let get = with_block(
        wire(Code::GET, 1, &[1]),
        OptionNumber::BLOCK2,
        2,
        false,
        Szx::S128,
    );
    ep.handle(t, 9, &get.to_vec().unwrap());
    let got = requests(&mut ep);
    assert_eq!(got.len(), 1);
    ep.respond(t, got[0].0, response(Code::CONTENT, body(1000, 7)))
        .unwrap();
    let out = replies(&mut ep);
    assert_eq!(out[0].payload, body(1000, 7)[256..384]);
    // POST block 1 with nothing cached: the method is not re-run, 4.08.
    let post = with_block(
        wire(Code::POST, 2, &[2]),
        OptionNumber::BLOCK2,
        1,
        false,
        Szx::S128,
    );
    ep.handle(t, 9, &post.to_vec().unwrap());
    assert!(requests(&mut ep).is_empty());
    let out = replies(&mut ep);
    assert_eq!(out[0].code, Code::REQUEST_ENTITY_INCOMPLETE);
}

#[test]
fn block1_transfer_table_fills_and_holds() {
    let mut config = small_blocks();
    config.block1 = Block1ServerConfig {
        max_transfers: 3,
        max_transfers_per_peer: 1,
        ..Block1ServerConfig::default()
    };
    let mut ep = lone(config);
    let t = Duration::from_secs(10);
    for peer in 0..10u16 {
        let first = with_block(
            wire(Code::PUT, peer, &[1]),
            OptionNumber::BLOCK1,
            0,
            true,
            Szx::S64,
        )
        .with_payload(vec![0; 64]);
        ep.handle(t, peer, &first.to_vec().unwrap());
        let out = replies(&mut ep);
        let expected = if peer < 3 {
            Code::CONTINUE
        } else {
            Code::SERVICE_UNAVAILABLE
        };
        assert_eq!(out[0].code, expected, "peer {peer}");
        assert!(ep.stats().block1_transfers <= 3);
    }
    assert_eq!(ep.stats().block1_transfers, 3);
    // Idle transfers go after their lifetime.
    ep.handle_timeout(t + secs(300));
    assert_eq!(ep.stats().block1_transfers, 0);
}

#[test]
fn block2_cache_fills_and_holds() {
    let mut config = small_blocks();
    config.block2.max_entries = 2;
    config.block2.max_entries_per_peer = 1;
    let mut ep = lone(config);
    let t = Duration::from_secs(10);
    for peer in 0..6u16 {
        ep.handle(t, peer, &wire(Code::GET, peer, &[1]).to_vec().unwrap());
        let got = requests(&mut ep);
        ep.respond(t, got[0].0, response(Code::CONTENT, body(1000, 0)))
            .unwrap();
        let out = replies(&mut ep);
        assert_eq!(out[0].payload.len(), 128);
        assert!(ep.stats().block2_entries <= 2);
    }
    assert_eq!(ep.stats().block2_entries, 2);
    assert_eq!(ep.stats().block2_not_cached, 4);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Under loss, duplication and reordering, a combined upload and download completes with
    /// the right bodies, and the server application sees the request exactly once.
    #[test]
    fn blockwise_survives_a_bad_link(
        seed in any::<u64>(),
        up in 0usize..900,
        down in 0usize..900,
        loss in 0u32..150,
        dup in 0u32..200,
        spread in 0u64..400,
    ) {
        let profile = LinkProfile {
            loss_permille: loss,
            duplicate_permille: dup,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(5 + spread),
        };
        let (seen, events) = exchange(
            profile,
            seed,
            request(Code::POST, "rpc", body(up, 9)),
            down,
            Reliability::Confirmable,
        );
        let outcome = events.iter().find(|e| matches!(e, Event::Response { .. } | Event::TimedOut { .. }));
        match outcome {
            Some(Event::Response { message, .. }) => {
                prop_assert_eq!(&message.payload, &body(down, 0x5a));
                prop_assert_eq!(seen.len(), 1);
                prop_assert_eq!(&seen[0], &body(up, 9));
            }
            // With up to 15 % loss a CON can still exhaust MAX_RETRANSMIT.
            Some(Event::TimedOut { .. }) => prop_assert!(loss > 0),
            other => prop_assert!(false, "no outcome: {:?}", other),
        }
        prop_assert!(seen.len() <= 1);
    }
}

#[test]
fn cancel_stops_a_request_and_its_transfer() {
    let mut sim = Sim::new(LinkProfile::PERFECT, 11);
    sim.add(CLIENT, small_blocks());
    let now = sim.now;
    // No server: the upload's first block would be retransmitted until MAX_RETRANSMIT.
    let id = sim
        .node(CLIENT)
        .request(
            now,
            SERVER,
            request(Code::PUT, "fw", body(500, 1)),
            Reliability::Confirmable,
        )
        .unwrap();
    sim.node(CLIENT).cancel(now, id).unwrap();
    assert_eq!(sim.node(CLIENT).stats().outstanding_requests, 0);
    sim.run_for(secs(300), &mut |_, _, _, _| {});
    // Cancelled before the socket loop took its first block: nothing goes out, and nothing
    // is reported for a cancelled request.
    assert_eq!(sim.sent(CLIENT, SERVER).count(), 0);
    assert_eq!(sim.events_of(CLIENT).count(), 0);
    assert!(matches!(
        sim.node(CLIENT).cancel(now, id),
        Err(mote_coap::endpoint::EndpointError::UnknownRequest { .. })
    ));
}

/// The answer to the request the client just sent, with `f` adding the block option.
fn answer_last(
    client: &mut SimEndpoint,
    code: Code,
    payload: Vec<u8>,
    f: impl FnOnce(OwnedMessage) -> OwnedMessage,
) -> Vec<u8> {
    let sent = replies(client).pop().unwrap();
    let reply = OwnedMessage::new(MessageType::Ack, code, sent.message_id)
        .with_token(sent.token.clone())
        .with_payload(payload);
    f(reply).to_vec().unwrap()
}

/// `transfer_progress` follows a Block2 download and a Block1 upload block by block (what a
/// progress bar shows), and is `None` once the request is over.
#[test]
fn transfer_progress_counts_each_block() {
    let mut client = lone(small_blocks());
    let now = secs(1);
    let get = client
        .request(
            now,
            SERVER,
            request(Code::GET, "log", vec![]),
            Reliability::Confirmable,
        )
        .unwrap();
    // Before the first response there is nothing to download yet.
    assert_eq!(
        client.transfer_progress(get),
        Some(TransferProgress::Upload {
            acknowledged: 0,
            total: 0
        })
    );
    let first = answer_last(&mut client, Code::CONTENT, body(64, 1), |m| {
        with_block(m, OptionNumber::BLOCK2, 0, true, Szx::S64)
    });
    client.handle(now, SERVER, &first);
    assert_eq!(
        client.transfer_progress(get),
        Some(TransferProgress::Download { received: 64 })
    );
    let last = answer_last(&mut client, Code::CONTENT, body(10, 2), |m| {
        with_block(m, OptionNumber::BLOCK2, 1, false, Szx::S64)
    });
    client.handle(now, SERVER, &last);
    assert_eq!(client.transfer_progress(get), None);

    let put = client
        .request(
            now,
            SERVER,
            request(Code::PUT, "fw", body(150, 3)),
            Reliability::Confirmable,
        )
        .unwrap();
    assert_eq!(
        client.transfer_progress(put),
        Some(TransferProgress::Upload {
            acknowledged: 0,
            total: 150
        })
    );
    let cont = answer_last(&mut client, Code::CONTINUE, vec![], |m| {
        with_block(m, OptionNumber::BLOCK1, 0, true, Szx::S64)
    });
    client.handle(now, SERVER, &cont);
    assert_eq!(
        client.transfer_progress(put),
        Some(TransferProgress::Upload {
            acknowledged: 64,
            total: 150
        })
    );
}

/// The Request-Tag options of a request (empty: the absent option).
fn request_tags(m: &OwnedMessage) -> Vec<Vec<u8>> {
    m.options
        .iter()
        .filter(|o| o.number == OptionNumber::REQUEST_TAG)
        .map(|o| o.value.to_vec())
        .collect()
}

/// RFC 9175 §3.4, §3.5.2: block-wise uploads in progress at the same time to one server carry
/// distinct Request-Tags, the absent option counting as one value (the first goes without a
/// tag, as compact messages are encouraged); once an upload has concluded its tag (here the
/// absent option) is free again for the next one.
#[test]
fn concurrent_uploads_to_one_peer_carry_distinct_request_tags() {
    let mut config = small_blocks();
    config.transmission = config.transmission.with_nstart(3).unwrap();
    let mut client = lone(config);
    let now = secs(1);
    for salt in 0..3 {
        client
            .request(
                now,
                SERVER,
                request(Code::PUT, "fw", body(500, salt)),
                Reliability::Confirmable,
            )
            .unwrap();
    }
    let first_blocks = replies(&mut client);
    assert_eq!(first_blocks.len(), 3);
    let tags: Vec<Vec<Vec<u8>>> = first_blocks.iter().map(request_tags).collect();
    for (i, a) in tags.iter().enumerate() {
        assert!(a.len() <= 1, "one Request-Tag at most: {a:?}");
        for b in &tags[i + 1..] {
            assert_ne!(a, b, "two concurrent uploads with the same Request-Tag");
        }
    }
    assert_eq!(
        tags[0],
        Vec::<Vec<u8>>::new(),
        "the first upload goes untagged"
    );

    // The untagged upload concludes (its blocks answered 2.31 … 2.04); the next upload may
    // recycle the absent option, the other two still hold their tags.
    let untagged = first_blocks[0].clone();
    let mut sent = untagged;
    loop {
        let block = BlockValue::from_message(
            &Message::decode(&sent.to_vec().unwrap()).unwrap(),
            OptionNumber::BLOCK1,
        )
        .unwrap()
        .unwrap();
        let code = if block.more() {
            Code::CONTINUE
        } else {
            Code::CHANGED
        };
        let reply = with_block(
            OwnedMessage::new(MessageType::Ack, code, sent.message_id)
                .with_token(sent.token.clone()),
            OptionNumber::BLOCK1,
            block.num(),
            block.more(),
            Szx::S64,
        );
        client.handle(now, SERVER, &reply.to_vec().unwrap());
        if !block.more() {
            break;
        }
        let next = replies(&mut client);
        assert_eq!(next.len(), 1);
        sent = next.into_iter().next().unwrap();
        assert_eq!(request_tags(&sent), Vec::<Vec<u8>>::new(), "the tag stays");
    }
    client
        .request(
            now,
            SERVER,
            request(Code::PUT, "fw", body(500, 9)),
            Reliability::Confirmable,
        )
        .unwrap();
    let fourth = replies(&mut client);
    assert_eq!(fourth.len(), 1);
    assert_eq!(request_tags(&fourth[0]), Vec::<Vec<u8>>::new());
}

/// RFC 9175 §3.4 with NSTART 1 (RFC 7252 §4.7): uploads held back in the queue hold their
/// Request-Tags too, so three uploads started together, sent one after another as the
/// server acknowledges blocks, still carry three distinct ones.
/// RFC 9175 §3.4 tags block-wise operations only: a request that goes whole carries no
/// Request-Tag (a critical option a server may not know), also while an upload to the same
/// peer is in progress; the upload beside it is still tagged apart from the whole request's
/// reserved value.
#[test]
fn a_whole_request_beside_an_upload_carries_no_request_tag() {
    let mut config = small_blocks();
    config.transmission = config.transmission.with_nstart(3).unwrap();
    let mut client = lone(config);
    let now = secs(1);
    for (len, salt) in [(500, 0), (10, 1), (500, 2)] {
        client
            .request(
                now,
                SERVER,
                request(Code::PUT, "fw", body(len, salt)),
                Reliability::Confirmable,
            )
            .unwrap();
    }
    let sent = replies(&mut client);
    assert_eq!(sent.len(), 3);
    let tags: Vec<Vec<Vec<u8>>> = sent.iter().map(request_tags).collect();
    assert_eq!(
        tags[0],
        Vec::<Vec<u8>>::new(),
        "the first upload goes untagged"
    );
    assert_eq!(
        tags[1],
        Vec::<Vec<u8>>::new(),
        "a whole request carries no Request-Tag"
    );
    assert_eq!(
        tags[2].len(),
        1,
        "the second upload is tagged: {:?}",
        tags[2]
    );
}

#[test]
fn queued_uploads_hold_their_request_tags() {
    let mut client = lone(small_blocks());
    let now = secs(1);
    for salt in 1..=3 {
        client
            .request(
                now,
                SERVER,
                request(Code::PUT, "fw", body(200, salt)),
                Reliability::Confirmable,
            )
            .unwrap();
    }
    // Block 0 of each upload, found by its first byte (the body's salt): its Request-Tags.
    let mut first_blocks: Vec<(u8, Vec<Vec<u8>>)> = Vec::new();
    for _ in 0..100 {
        let sent = replies(&mut client);
        if sent.is_empty() {
            break;
        }
        for m in sent {
            let block = BlockValue::from_message(
                &Message::decode(&m.to_vec().unwrap()).unwrap(),
                OptionNumber::BLOCK1,
            )
            .unwrap()
            .unwrap();
            if block.num() == 0 {
                first_blocks.push((m.payload[0], request_tags(&m)));
            }
            let code = if block.more() {
                Code::CONTINUE
            } else {
                Code::CHANGED
            };
            let reply = with_block(
                OwnedMessage::new(MessageType::Ack, code, m.message_id).with_token(m.token.clone()),
                OptionNumber::BLOCK1,
                block.num(),
                block.more(),
                Szx::S64,
            );
            client.handle(now, SERVER, &reply.to_vec().unwrap());
        }
    }
    first_blocks.sort();
    assert_eq!(
        first_blocks
            .iter()
            .map(|(salt, _)| *salt)
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let tags: Vec<&Vec<Vec<u8>>> = first_blocks.iter().map(|(_, t)| t).collect();
    assert_ne!(tags[0], tags[1]);
    assert_ne!(tags[0], tags[2]);
    assert_ne!(tags[1], tags[2]);
}
