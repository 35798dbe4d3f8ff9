//! The properties the mote-coap companion fuzz targets check (`link_format_parse`,
//! `uri_parse`, `block_reassembly`), shared with the corpus replay test
//! (`workspace-tests/tests/fuzz_corpus_coap.rs`) so that stable `cargo test` runs the same code.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use mote_coap::block::{
    BlockError, BlockKind, BlockReassembler, BlockSplitter, BlockValue, Progress, Szx,
};
use mote_coap::link_format::{LinkFormat, to_string};
use mote_coap::uri::{Destination, Uri, compose_string};

/// `link_format_parse`: parsing never panics (strict and lenient); whatever parses can be
/// walked completely, converted to the owned form, serialized, and parses back to the same
/// links.
pub(crate) fn link_format_parse(data: &[u8]) {
    let strict = LinkFormat::parse_bytes(data);
    let Ok(text) = std::str::from_utf8(data) else {
        assert!(strict.is_err());
        return;
    };
    for doc in [strict, LinkFormat::parse_lenient(text)]
        .into_iter()
        .flatten()
    {
        for link in doc.links() {
            let _ = (
                link.size(),
                link.content_formats().count(),
                link.resource_types().count(),
            );
            for a in link.attributes() {
                if let Some(v) = a.value() {
                    let _ = (
                        v.raw(),
                        v.content(),
                        v.as_str(),
                        v.ext_parts(),
                        v.items().count(),
                    );
                    let _ = (
                        v.unescaped_chars().count(),
                        v.ext_decoded_bytes().count(),
                        v.to_unescaped(),
                    );
                }
            }
        }
        let owned = doc.to_owned_links();
        let text = to_string(&owned).expect("parsed links serialize");
        let again = LinkFormat::parse(&text).expect("serialized links parse");
        assert_eq!(again.to_owned_links(), owned);
    }
}

/// `uri_parse`: parsing never panics; a parsed URI decomposes (RFC 7252 §6.4) and composes
/// (§6.5) to a URI that parses and composes to itself again; Display re-parses to the same URI.
pub(crate) fn uri_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(uri) = Uri::parse(text) else { return };
    assert_eq!(Uri::parse(&uri.to_string()).unwrap(), uri);
    let destinations = [
        Destination {
            ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            port: 5683,
        },
        Destination {
            ip: IpAddr::V6(Ipv6Addr::LOCALHOST),
            port: 61616,
        },
    ];
    for dest in destinations {
        let compose = |u: &Uri<'_>| {
            let o = u.decompose(&dest);
            let host = o.uri_host.map(|h| h.to_vec());
            let path: Vec<Vec<u8>> = o.uri_path.map(|s| s.to_vec()).collect();
            let query: Vec<Vec<u8>> = o.uri_query.map(|s| s.to_vec()).collect();
            compose_string(
                u.scheme(),
                &dest,
                host.as_deref(),
                o.uri_port,
                path.iter().map(Vec::as_slice),
                query.iter().map(Vec::as_slice),
            )
        };
        // A decoded Uri-Host may be invalid for composition (e.g. "%25" decodes to "%").
        if let Ok(first) = compose(&uri) {
            let reparsed = Uri::parse(&first).expect("composed URIs parse");
            assert_eq!(compose(&reparsed).unwrap(), first);
        }
    }
}

/// `block_reassembly`: a reassembler fed arbitrary blocks never panics, never exceeds its
/// limit, changes nothing when it rejects a block, and rejects everything after completion;
/// the rest of the input, split and reassembled in any block size, comes back intact.
pub(crate) fn block_reassembly(data: &[u8]) {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let Some((limit_bytes, mut rest)) = rest.split_first_chunk::<2>() else {
        return;
    };
    let kind = if head & 0x80 != 0 {
        BlockKind::Block1
    } else {
        BlockKind::Block2
    };
    let bert = head & 0x40 != 0;
    let preferred = Szx::new(head & 7).unwrap();
    let limit = usize::from(u16::from_be_bytes(*limit_bytes)) % 5000;
    let mut rx = BlockReassembler::new(kind, Vec::new(), limit, preferred);
    while let Some((record, tail)) = rest.split_first_chunk::<5>() {
        let [a, b, c, len, etag] = *record;
        let len = usize::from(len) * 8;
        let (payload, tail) = tail.split_at(len.min(tail.len()));
        rest = tail;
        let Ok(block) = BlockValue::decode(&[a, b, c], bert) else {
            continue;
        };
        let etag_value = [etag >> 1];
        let etag = (etag & 1 != 0).then_some(&etag_value[..]);
        let before = rx.body().len();
        let was_complete = rx.is_complete();
        match rx.push(&block, payload, etag) {
            Ok(_) => assert!(!was_complete),
            Err(e) => {
                assert_eq!(rx.body().len(), before);
                if was_complete {
                    assert_eq!(e, BlockError::AlreadyComplete);
                }
            }
        }
        assert!(rx.body().len() <= limit);
    }
    // Split the remaining bytes and reassemble them.
    let body = rest;
    let szx = if bert { Szx::BERT } else { preferred };
    let client = if bert {
        Szx::BERT
    } else {
        Szx::new((head >> 3) & 7).unwrap()
    };
    let mut rx = BlockReassembler::new(BlockKind::Block2, Vec::new(), body.len(), client);
    let splitter = BlockSplitter::new(body);
    let mut request = Some(BlockValue::new(0, false, szx).unwrap());
    for _ in 0..=body.len() {
        let (b, p) = if bert {
            let num = request.map_or(0, |r| r.num());
            splitter.bert_block(num, Szx::BERT, 2048).unwrap()
        } else {
            splitter.respond(request, preferred).unwrap()
        };
        match rx.push(&b, p, None).unwrap() {
            Progress::NeedMore(next) => request = Some(next),
            Progress::Complete(_) => break,
        }
    }
    assert!(rx.is_complete());
    assert_eq!(rx.body(), body);
}
