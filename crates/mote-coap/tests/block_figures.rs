//! RFC 7959 §3 and RFC 8323 §6 block-wise sequences, transcribed in `tests/data/rfc7959/`,
//! replayed through the sending and receiving state machines of `mote_coap::block`: every
//! Block option they produce must equal the figure's, in order, and the bodies must arrive
//! intact. For UDP figures every option also travels through an encoded CoAP message.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;
use std::path::{Path, PathBuf};

use mote_coap::block::{
    Block1Sender, BlockKind, BlockReassembler, BlockSplitter, BlockValue, Progress, Szx,
};
use mote_coap::code::{Code, MessageType};
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc7959")
}

#[derive(Debug, Clone, Copy)]
struct Notation {
    kind: u8,
    value: BlockValue,
    /// `BERT(n)`: the payload length of a BERT block.
    payload: Option<usize>,
}

fn parse_size(text: &str) -> (Szx, Option<usize>) {
    if let Some(rest) = text.strip_prefix("BERT") {
        let payload = rest
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .map(|n| n.parse().unwrap());
        (Szx::BERT, payload)
    } else {
        (Szx::from_size(text.parse().unwrap()).unwrap(), None)
    }
}

/// `2:3/1/128` or `1:8/1/BERT(16384)`.
fn parse_notation(token: &str) -> Option<Notation> {
    let token = token.trim_end_matches(',');
    let (kind, rest) = token.split_once(':')?;
    let kind = match kind {
        "1" => 1,
        "2" => 2,
        _ => return None,
    };
    let mut parts = rest.split('/');
    let num: u32 = parts.next()?.parse().ok()?;
    let more = match parts.next()? {
        "0" => false,
        "1" => true,
        _ => return None,
    };
    let (szx, payload) = parse_size(parts.next()?);
    Some(Notation {
        kind,
        value: BlockValue::new(num, more, szx).unwrap(),
        payload,
    })
}

#[derive(Debug)]
struct Line {
    from_client: bool,
    code: Option<(u8, u8)>,
    block1: Option<Notation>,
    block2: Option<Notation>,
    text: String,
}

#[derive(Debug, Default)]
struct Figure {
    upload: usize,
    download: usize,
    client_block2: Option<Szx>,
    server_block2: Option<Szx>,
    server_block1: Option<Szx>,
    lines: Vec<Line>,
}

fn load(path: &Path) -> Figure {
    let mut fig = Figure::default();
    for raw in fs::read_to_string(path).unwrap().lines() {
        let line = raw.split('#').next().unwrap().trim();
        if line.is_empty() {
            continue;
        }
        let (head, rest) = line.split_once(' ').unwrap();
        match head {
            "upload" => fig.upload = rest.parse().unwrap(),
            "download" => fig.download = rest.parse().unwrap(),
            "client-block2" => fig.client_block2 = Some(parse_size(rest).0),
            "server-block2" => fig.server_block2 = Some(parse_size(rest).0),
            "server-block1" => fig.server_block1 = Some(parse_size(rest).0),
            "C" | "S" => {
                let mut l = Line {
                    from_client: head == "C",
                    code: None,
                    block1: None,
                    block2: None,
                    text: line.to_string(),
                };
                for token in rest.split_whitespace() {
                    if let Some(n) = parse_notation(token) {
                        if n.kind == 1 {
                            l.block1 = Some(n);
                        } else {
                            l.block2 = Some(n);
                        }
                    } else if let Some((c, d)) = token.split_once('.') {
                        if c.len() == 1 && d.len() == 2 {
                            if let (Ok(c), Ok(d)) = (c.parse(), d.parse()) {
                                l.code = Some((c, d));
                            }
                        }
                    }
                }
                fig.lines.push(l);
            }
            other => panic!("{}: unknown line kind {other}", path.display()),
        }
    }
    fig
}

fn body(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Sends a Block option through an encoded UDP message and reads it back.
fn through_message(n: &Notation, from_client: bool, payload: &[u8]) -> BlockValue {
    let number = if n.kind == 1 {
        OptionNumber::BLOCK1
    } else {
        OptionNumber::BLOCK2
    };
    let (bytes, len) = n.value.to_bytes();
    let code = if from_client {
        Code::PUT
    } else {
        Code::CONTENT
    };
    let mtype = if from_client {
        MessageType::Con
    } else {
        MessageType::Ack
    };
    let wire = OwnedMessage::new(mtype, code, 1)
        .with_option(number, &bytes[..len])
        .with_payload(payload.to_vec())
        .to_vec()
        .unwrap();
    let msg = Message::decode(&wire).unwrap();
    assert_eq!(msg.payload(), payload);
    BlockValue::from_message(&msg, number).unwrap().unwrap()
}

fn replay(path: &Path) -> usize {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let fig = load(path);
    let bert = name.starts_with("rfc8323");
    let up = body(fig.upload, 1);
    let down = body(fig.download, 2);

    let first_block1 = fig
        .lines
        .iter()
        .find_map(|l| l.block1.filter(|_| l.from_client));
    let mut sender = Block1Sender::new(
        &up,
        first_block1.map_or(Szx::S1024, |n| n.value.szx()),
        first_block1.and_then(|n| n.payload).unwrap_or(0),
    );
    let mut server_rx = BlockReassembler::new(
        BlockKind::Block1,
        Vec::new(),
        1 << 20,
        fig.server_block1.unwrap_or(Szx::S1024),
    );
    let splitter = BlockSplitter::new(&down);
    let mut client_rx = BlockReassembler::new(
        BlockKind::Block2,
        Vec::new(),
        1 << 20,
        fig.client_block2.unwrap_or(Szx::S1024),
    );
    let mut pending_ack: Option<Progress> = None;
    let mut next_block2: Option<BlockValue> = None;
    let mut request_block2: Option<BlockValue> = None;
    let mut checked = 0;

    for line in &fig.lines {
        let ctx = format!("{name}: {}", line.text);
        if line.from_client {
            pending_ack = None;
            if let Some(b1) = line.block1 {
                if let Some(n) = b1.payload {
                    sender.set_max_payload(n);
                }
                let (value, payload) = sender.current().unwrap();
                assert_eq!(value, b1.value, "{ctx}: Block1 sent");
                if let Some(n) = b1.payload {
                    assert_eq!(payload.len(), n, "{ctx}: BERT payload length");
                }
                if !bert {
                    assert_eq!(through_message(&b1, true, payload), value, "{ctx}");
                }
                pending_ack = Some(server_rx.push(&value, payload, None).unwrap());
                checked += 1;
            }
            request_block2 = line.block2.map(|n| n.value);
            if let Some(expected) = next_block2.take() {
                assert_eq!(request_block2, Some(expected), "{ctx}: Block2 requested");
                checked += 1;
            }
        } else {
            if let Some(b1) = line.block1 {
                match pending_ack
                    .take()
                    .expect("a Block1 response follows a Block1 request")
                {
                    Progress::NeedMore(ack) => {
                        assert_eq!(ack, b1.value, "{ctx}: Block1 in 2.31");
                        assert_eq!(line.code, Some((2, 31)), "{ctx}: code");
                        sender.on_continue(&ack).unwrap();
                    }
                    Progress::Complete(ack) => {
                        assert_eq!(ack, b1.value, "{ctx}: Block1 in final response");
                        assert_ne!(line.code, Some((2, 31)), "{ctx}: code");
                        assert!(server_rx.is_complete());
                        assert_eq!(server_rx.body(), &up[..], "{ctx}: request body");
                    }
                }
                if !bert {
                    assert_eq!(through_message(&b1, false, &[]), b1.value, "{ctx}");
                }
                checked += 1;
            }
            if let Some(b2) = line.block2 {
                let (value, payload) = match b2.payload {
                    Some(n) => splitter
                        .bert_block(request_block2.map_or(0, |r| r.num()), Szx::BERT, n)
                        .unwrap(),
                    None => splitter
                        .respond(request_block2, fig.server_block2.unwrap_or(Szx::S1024))
                        .unwrap(),
                };
                assert_eq!(value, b2.value, "{ctx}: Block2 sent");
                if let Some(n) = b2.payload {
                    assert_eq!(payload.len(), n, "{ctx}: BERT payload length");
                }
                if !bert {
                    assert_eq!(through_message(&b2, false, payload), value, "{ctx}");
                }
                match client_rx.push(&value, payload, None).unwrap() {
                    Progress::NeedMore(next) => next_block2 = Some(next),
                    Progress::Complete(_) => {
                        assert_eq!(client_rx.body(), &down[..], "{ctx}: response body");
                    }
                }
                checked += 1;
            }
        }
    }
    if fig.upload > 0 {
        assert!(server_rx.is_complete(), "{name}: upload incomplete");
    }
    if fig.download > 0 {
        assert!(client_rx.is_complete(), "{name}: download incomplete");
    }
    assert!(
        next_block2.is_none(),
        "{name}: the figure ends while more blocks were expected"
    );
    checked
}

#[test]
fn rfc7959_and_rfc8323_figures_replay() {
    let mut files: Vec<PathBuf> = fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains("figure-"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 9, "all transcribed figures are replayed");
    for f in &files {
        let checked = replay(f);
        assert!(
            checked >= 4,
            "{}: only {checked} options checked",
            f.display()
        );
    }
}

#[test]
fn rfc7959_notation_values() {
    let text = fs::read_to_string(data_dir().join("notation.txt")).unwrap();
    let mut n = 0;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (value, notation) = line.split_once(' ').unwrap();
        let value: u8 = value.parse().unwrap();
        let expected = parse_notation(notation).unwrap();
        assert_eq!(BlockValue::decode(&[value], false).unwrap(), expected.value);
        assert_eq!(expected.value.to_bytes(), ([value, 0, 0], 1));
        assert_eq!(
            expected.value.to_string(),
            notation.split_once(':').unwrap().1
        );
        n += 1;
    }
    assert_eq!(n, 2);
}

#[test]
fn etag_change_restarts_a_block2_download() {
    // RFC 7959 §2.4: a different ETag in a later block means the resource changed.
    let v1 = body(100, 3);
    let v2 = body(100, 4);
    let mut rx = BlockReassembler::new(BlockKind::Block2, Vec::new(), 1000, Szx::S32);
    let (b0, p0) = BlockSplitter::new(&v1).block(0, Szx::S32).unwrap();
    let Progress::NeedMore(next) = rx.push(&b0, p0, Some(b"v1")).unwrap() else {
        panic!()
    };
    let (b1, p1) = BlockSplitter::new(&v2)
        .block(next.num(), next.szx())
        .unwrap();
    assert_eq!(
        rx.push(&b1, p1, Some(b"v2")),
        Err(mote_coap::block::BlockError::EtagChanged)
    );
    rx.reset();
    let mut request = None;
    loop {
        let (b, p) = BlockSplitter::new(&v2).respond(request, Szx::S32).unwrap();
        match rx.push(&b, p, Some(b"v2")).unwrap() {
            Progress::NeedMore(n) => request = Some(n),
            Progress::Complete(_) => break,
        }
    }
    assert_eq!(rx.body(), &v2[..]);
}
