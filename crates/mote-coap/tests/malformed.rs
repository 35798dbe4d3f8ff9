//! The malformed-input table of `tests/data/malformed.txt`: each input is rejected with the
//! expected error variant (and never panics).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use mote_coap::message::{DecodeLimits, Message};
use mote_coap::tcp::{Frame, FrameLimits};

/// Hex with `xN*HH` repetitions; `(empty)` is no bytes.
fn input_bytes(text: &str) -> Vec<u8> {
    if text == "(empty)" {
        return Vec::new();
    }
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        if let Some(rep) = word.strip_prefix('x') {
            let (n, byte) = rep.split_once('*').unwrap();
            out.extend(std::iter::repeat_n(
                support::hex(byte)[0],
                n.parse().unwrap(),
            ));
        } else {
            out.extend(support::hex(word));
        }
    }
    out
}

/// The variant name of an error's `Debug` output.
fn variant(err: &dyn std::fmt::Debug) -> String {
    let text = format!("{err:?}");
    text.split([' ', '{', '(']).next().unwrap().to_owned()
}

fn outcome(kind: &str, input: &str) -> Result<(), String> {
    let ext = FrameLimits {
        max_token_len: 300,
        ..FrameLimits::DEFAULT
    };
    match kind {
        "udp" => Message::decode(&input_bytes(input))
            .map(drop)
            .map_err(|e| variant(&e)),
        "udp-ext" => Message::decode_with(&input_bytes(input), &DecodeLimits::extended_tokens(300))
            .map(drop)
            .map_err(|e| variant(&e)),
        "tcp" => Frame::decode_exact(&input_bytes(input), &FrameLimits::DEFAULT)
            .map(drop)
            .map_err(|e| variant(&e)),
        "tcp-ext" => Frame::decode_exact(&input_bytes(input), &ext)
            .map(drop)
            .map_err(|e| variant(&e)),
        "block" => mote_coap::block::BlockValue::decode(&input_bytes(input), false)
            .map(drop)
            .map_err(|e| variant(&e)),
        "uri" => mote_coap::uri::Uri::parse(input)
            .map(drop)
            .map_err(|e| variant(&e)),
        other => panic!("unknown kind {other}"),
    }
}

#[test]
fn malformed_inputs_are_rejected_with_the_expected_variant() {
    let text = std::fs::read_to_string(support::data_dir().join("malformed.txt")).unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        let [kind, input, expected, what] = cols[..] else {
            panic!("bad line {line:?}")
        };
        match outcome(kind, input) {
            Err(got) if got == expected => {}
            other => failures.push(format!(
                "{what}: {kind} {input}: expected {expected}, got {other:?}"
            )),
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 70, "only {checked} rows");
}
