//! Property tests of the companion codecs: Block values, Observe values, block-wise transfer
//! (split then reassemble), URIs (compose ∘ decompose) and CoRE Link Format
//! (parse ∘ serialize).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{IpAddr, Ipv4Addr};

use mote_coap::block::{
    Block1Sender, BlockKind, BlockReassembler, BlockSplitter, BlockValue, Progress, Szx,
};
use mote_coap::link_format::{LinkFormat, OwnedAttribute, OwnedLink, OwnedValue, to_string};
use mote_coap::observe;
use mote_coap::uri::{Destination, Scheme, Uri, compose_string};
use proptest::prelude::*;

fn szx() -> impl Strategy<Value = Szx> {
    (0u8..=6).prop_map(|v| Szx::new(v).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn block_value_round_trip(num in 0u32..(1 << 20), more: bool, sz in 0u8..=7) {
        let v = BlockValue::new(num, more, Szx::new(sz).unwrap()).unwrap();
        let (bytes, len) = v.to_bytes();
        prop_assert_eq!(len, v.encoded_len());
        let mut buf = [0u8; 3];
        prop_assert_eq!(v.encode(&mut buf), Ok(len));
        prop_assert_eq!(&buf[..len], &bytes[..len]);
        // Minimal: no leading zero byte.
        prop_assert!(len == 0 || bytes[0] != 0);
        prop_assert_eq!(BlockValue::decode(&bytes[..len], true).unwrap(), v);
        if sz == 7 {
            prop_assert!(BlockValue::decode(&bytes[..len], false).is_err());
        }
    }

    #[test]
    fn block_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..6), bert: bool) {
        let r = BlockValue::decode(&bytes, bert);
        prop_assert_eq!(r.is_ok(), bytes.len() <= 3 && (bert || bytes.last().map_or(0, |b| b & 7) != 7));
    }

    #[test]
    fn observe_round_trip(v in 0u32..(1 << 24)) {
        let (bytes, len) = observe::encode(v).unwrap();
        prop_assert_eq!(observe::encoded_len(v), Ok(len));
        prop_assert_eq!(observe::decode(&bytes[..len]), Ok(v));
    }

    #[test]
    fn observe_freshness_is_antisymmetric_within_the_window(a in 0u32..(1 << 24), b in 0u32..(1 << 24)) {
        use core::time::Duration;
        let t = Duration::from_secs(1);
        let n1 = observe::Notification { value: a, received_at: t };
        let n2 = observe::Notification { value: b, received_at: t };
        // Exactly one direction is newer unless equal or exactly 2^23 apart.
        let d = a.abs_diff(b);
        if a != b && d != 1 << 23 {
            prop_assert!(observe::is_newer(&n1, &n2) ^ observe::is_newer(&n2, &n1));
        } else {
            prop_assert!(!observe::is_newer(&n1, &n2) && !observe::is_newer(&n2, &n1));
        }
    }

    #[test]
    fn block2_transfer_reassembles(
        body in proptest::collection::vec(any::<u8>(), 0..3000),
        server in szx(),
        client in szx(),
        early: bool,
    ) {
        let splitter = BlockSplitter::new(&body);
        let mut rx = BlockReassembler::new(BlockKind::Block2, Vec::new(), body.len(), client);
        let mut request = early.then(|| BlockValue::new(0, false, client).unwrap());
        let mut rounds = 0;
        loop {
            let (b, p) = splitter.respond(request, server).unwrap();
            match rx.push(&b, p, Some(b"etag")).unwrap() {
                Progress::NeedMore(next) => request = Some(next),
                Progress::Complete(_) => break,
            }
            rounds += 1;
            prop_assert!(rounds <= body.len() / 16 + 1);
        }
        prop_assert_eq!(rx.body(), &body[..]);
    }

    #[test]
    fn block1_transfer_reassembles(
        body in proptest::collection::vec(any::<u8>(), 0..3000),
        client in szx(),
        server in szx(),
        bert: bool,
        bert_payload in 1usize..5000,
    ) {
        let (start, pref) = if bert { (Szx::BERT, Szx::BERT) } else { (client, server) };
        let mut tx = Block1Sender::new(&body, start, bert_payload);
        let mut rx = BlockReassembler::new(BlockKind::Block1, Vec::new(), 4096, pref);
        loop {
            let (b, p) = tx.current().unwrap();
            match rx.push(&b, p, None).unwrap() {
                Progress::NeedMore(ack) => tx.on_continue(&ack).unwrap(),
                Progress::Complete(_) => break,
            }
        }
        prop_assert_eq!(rx.body(), &body[..]);
    }

    #[test]
    fn block_reassembly_of_arbitrary_blocks_never_panics(
        blocks in proptest::collection::vec((any::<u32>(), proptest::collection::vec(any::<u8>(), 0..70), proptest::option::of(proptest::collection::vec(any::<u8>(), 0..10))), 0..20),
        limit in 0usize..500,
    ) {
        let mut rx = BlockReassembler::new(BlockKind::Block2, Vec::new(), limit, Szx::S64);
        for (raw, payload, etag) in &blocks {
            if let Ok(b) = BlockValue::from_uint(raw & 0xFF_FFFF, true) {
                let before = rx.body().len();
                if rx.push(&b, payload, etag.as_deref()).is_err() {
                    prop_assert_eq!(rx.body().len(), before);
                }
                prop_assert!(rx.body().len() <= limit);
            }
        }
    }
}

fn host() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,10}(\\.[a-z]{1,5})?(é)?"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn uri_options_round_trip(
        scheme in prop_oneof![Just(Scheme::Coap), Just(Scheme::Coaps), Just(Scheme::CoapTcp), Just(Scheme::CoapsTcp)],
        host in proptest::option::of(host()),
        port in proptest::option::of(any::<u16>()),
        path in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..8), 0..5),
        query in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..8), 0..4),
    ) {
        let dest = Destination { ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), port: 5683 };
        let uri = compose_string(
            scheme,
            &dest,
            host.as_deref().map(str::as_bytes),
            port,
            path.iter().map(Vec::as_slice),
            query.iter().map(Vec::as_slice),
        )
        .unwrap();
        let parsed = Uri::parse(&uri).unwrap();
        prop_assert_eq!(parsed.scheme(), scheme);
        let o = parsed.decompose(&dest);
        prop_assert_eq!(o.uri_host.map(|h| h.to_vec()), host.map(String::into_bytes));
        let expected_port = port.filter(|p| *p != dest.port);
        prop_assert_eq!(o.uri_port, expected_port);
        // A single empty Uri-Path is the same resource as none (RFC 7252 §6.4 step 8).
        let expected_path = if path == [Vec::<u8>::new()] { vec![] } else { path };
        prop_assert_eq!(o.uri_path.map(|s| s.to_vec()).collect::<Vec<_>>(), expected_path);
        prop_assert_eq!(o.uri_query.map(|s| s.to_vec()).collect::<Vec<_>>(), query);
    }

    #[test]
    fn compose_of_decompose_is_stable(
        text in "(coap|COAPS|coap\\+tcp|coaps\\+tcp)://([a-zA-Z0-9.~-]{1,8}|\\[::1\\]|192\\.0\\.2\\.[0-9]{1,2})(:[0-9]{0,5})?(/[a-zA-Z0-9%:@!$'()*+,;=._~-]{0,6}){0,4}(\\?[a-zA-Z0-9%/?:@=&._~-]{0,10})?"
    ) {
        let dest = Destination { ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), port: 5683 };
        let Ok(uri) = Uri::parse(&text) else { return Ok(()) };
        let compose = |u: &Uri<'_>| {
            let o = u.decompose(&dest);
            let host = o.uri_host.map(|h| h.to_vec());
            let path: Vec<Vec<u8>> = o.uri_path.map(|s| s.to_vec()).collect();
            let query: Vec<Vec<u8>> = o.uri_query.map(|s| s.to_vec()).collect();
            compose_string(u.scheme(), &dest, host.as_deref(), o.uri_port, path.iter().map(Vec::as_slice), query.iter().map(Vec::as_slice))
        };
        let Ok(first) = compose(&uri) else { return Ok(()) };
        let second = compose(&Uri::parse(&first).unwrap()).unwrap();
        prop_assert_eq!(first, second);
    }

    #[test]
    fn uri_parse_never_panics(text in "\\PC{0,40}") {
        if let Ok(u) = Uri::parse(&text) {
            let dest = Destination { ip: IpAddr::V4(Ipv4Addr::LOCALHOST), port: 5683 };
            let o = u.decompose(&dest);
            let decoded: Vec<Vec<u8>> = o.uri_path.map(|s| s.to_vec()).collect();
            prop_assert!(decoded.iter().all(|s| s.len() <= text.len()));
        }
    }
}

const DEFINED: [&str; 8] = ["anchor", "title", "sz", "ct", "rel", "rev", "rt", "if"];

fn value() -> impl Strategy<Value = Option<OwnedValue>> {
    prop_oneof![
        Just(None),
        "[a-zA-Z0-9.:/<>=?@!#$%&'()*+^_`{|}~-]{1,8}".prop_map(|t| Some(OwnedValue::Token(t))),
        "[^\\x00-\\x1f\\x7f]{0,12}".prop_map(|q| Some(OwnedValue::Quoted(q))),
    ]
}

fn attribute() -> impl Strategy<Value = OwnedAttribute> {
    prop_oneof![
        3 => ("[a-z][a-z0-9]{0,5}", value())
            .prop_filter("defined attributes have their own syntax", |(n, _)| !DEFINED.contains(&n.as_str()))
            .prop_map(|(name, value)| OwnedAttribute { name, value }),
        1 => ("[a-z]{1,5}", "[a-z]{0,2}", proptest::collection::vec(any::<u8>(), 0..8)).prop_map(|(n, language, value)| {
            OwnedAttribute {
                name: format!("{n}*"),
                value: Some(OwnedValue::Ext { charset: "UTF-8".into(), language, value }),
            }
        }),
        1 => "(0|[1-9][0-9]{0,4})".prop_map(|v| OwnedAttribute { name: "sz".into(), value: Some(OwnedValue::Token(v)) }),
        1 => "[a-z][a-z0-9.-]{0,6}( [a-z][a-z0-9.-]{0,6}){0,2}".prop_map(|v| OwnedAttribute { name: "rt".into(), value: Some(OwnedValue::Quoted(v)) }),
    ]
}

fn link() -> impl Strategy<Value = OwnedLink> {
    (
        "(/[a-zA-Z0-9._~-]{0,6}){0,4}",
        proptest::collection::vec(attribute(), 0..5),
    )
        .prop_map(|(target, attributes)| OwnedLink { target, attributes })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn link_format_parse_of_serialize(links in proptest::collection::vec(link(), 0..6)) {
        let text = to_string(&links).unwrap();
        let parsed = LinkFormat::parse(&text).unwrap();
        prop_assert_eq!(parsed.to_owned_links(), links);
        // And serialization is canonical: the text comes back byte-identical.
        prop_assert_eq!(to_string(&parsed.to_owned_links()).unwrap(), text);
    }

    #[test]
    fn link_format_parse_never_panics(text in "[<>;=,\"\\\\/a-z0-9* '%]{0,40}") {
        for doc in [LinkFormat::parse(&text), LinkFormat::parse_lenient(&text)].into_iter().flatten() {
            let owned = doc.to_owned_links();
            let again = to_string(&owned).unwrap();
            prop_assert_eq!(LinkFormat::parse(&again).unwrap().to_owned_links(), owned);
        }
    }
}
