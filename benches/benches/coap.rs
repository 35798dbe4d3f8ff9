//! mote-coap beside coap-lite 0.13 on the same three messages (see `docs/performance.md`):
//! (a) CON GET, 4-byte token, Uri-Path 3/0/9, Accept 11542;
//! (b) ACK 2.05, Content-Format 11542, 100-byte payload;
//! (c) LwM2M registration: CON POST /rd?ep=device-0001&lt=86400&lwm2m=1.1&b=U, Content-Format 40,
//!     a ~200-byte link-format payload.
//!
//! Parse: bytes → a message whose options and payload have been read (mote-coap: validated
//! borrowed view plus one walk over the options; coap-lite: `Packet::from_bytes`). Encode: a
//! prebuilt message → its bytes (mote-coap: `OwnedMessage::encode` into a caller `&mut [u8]`,
//! `encode_to` a reused `BufMut`, and `to_vec` into a fresh vector; coap-lite: `Packet::to_bytes`,
//! which always returns a fresh vector).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group};
use mote_coap::code::{Code, MessageType};
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;

const LINKS: &str = "</>;rt=\"oma.lwm2m\";ct=11543,</1/0>,</1/1>,</2/0>,</2/1>,</3/0>,</4/0>,</5/0>,\
</6/0>,</7/0>,</19/0>,</19/1>,</21/0>,</3303/0>,</3303/1>,</3303/2>,</3304/0>,</3311/0>,</3311/1>,</3340/0>";

fn messages() -> Vec<(&'static str, OwnedMessage)> {
    let get = OwnedMessage::new(MessageType::Con, Code::GET, 0x1234)
        .with_token([0xa1, 0xb2, 0xc3, 0xd4])
        .with_option(OptionNumber::URI_PATH, "3")
        .with_option(OptionNumber::URI_PATH, "0")
        .with_option(OptionNumber::URI_PATH, "9")
        .with_uint_option(OptionNumber::ACCEPT, 11542);
    let content = OwnedMessage::new(MessageType::Ack, Code::CONTENT, 0x1234)
        .with_token([0xa1, 0xb2, 0xc3, 0xd4])
        .with_uint_option(OptionNumber::CONTENT_FORMAT, 11542)
        .with_payload((0..100u8).collect::<Vec<_>>());
    let register = OwnedMessage::new(MessageType::Con, Code::POST, 0x4321)
        .with_token([0x01, 0x02, 0x03, 0x04])
        .with_option(OptionNumber::URI_PATH, "rd")
        .with_uint_option(OptionNumber::CONTENT_FORMAT, 40)
        .with_option(OptionNumber::URI_QUERY, "ep=device-0001")
        .with_option(OptionNumber::URI_QUERY, "lt=86400")
        .with_option(OptionNumber::URI_QUERY, "lwm2m=1.1")
        .with_option(OptionNumber::URI_QUERY, "b=U")
        .with_payload(LINKS);
    vec![
        ("a_con_get", get),
        ("b_ack_content", content),
        ("c_registration", register),
    ]
}

/// What "parsing" yields for mote-coap: the validated view, with every option and the payload read.
fn parse_mote(bytes: &[u8]) -> usize {
    let m = Message::decode(bytes).unwrap();
    let mut seen = m.payload().len() + m.token().len();
    for o in m.options() {
        seen += usize::from(o.number.0) + o.value.len();
    }
    seen
}

fn bench(c: &mut Criterion) {
    for (name, msg) in messages() {
        let bytes = msg.to_vec().unwrap();
        let packet = coap_lite::Packet::from_bytes(&bytes).unwrap();
        assert_eq!(
            packet.to_bytes().unwrap(),
            bytes,
            "coap-lite encodes {name} identically"
        );

        let mut group = c.benchmark_group(format!("coap/parse/{name}"));
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("mote-coap", |b| b.iter(|| parse_mote(black_box(&bytes))));
        group.bench_function("coap-lite", |b| {
            b.iter(|| coap_lite::Packet::from_bytes(black_box(&bytes)).unwrap())
        });
        group.finish();

        let mut group = c.benchmark_group(format!("coap/encode/{name}"));
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        // The designed API: into a caller buffer (`&mut [u8]`, or a reused `BufMut`).
        let mut buf = vec![0u8; 1500];
        group.bench_function("mote-coap", |b| {
            b.iter(|| black_box(&msg).encode(black_box(&mut buf)).unwrap())
        });
        let mut out: Vec<u8> = Vec::with_capacity(1500);
        group.bench_function("mote-coap-bufmut", |b| {
            b.iter(|| {
                out.clear();
                black_box(&msg).encode_to(black_box(&mut out)).unwrap()
            })
        });
        // A fresh vector per message, as coap-lite's `to_bytes` returns.
        group.bench_function("mote-coap-to-vec", |b| {
            b.iter(|| black_box(&msg).to_vec().unwrap())
        });
        group.bench_function("coap-lite", |b| {
            b.iter(|| black_box(&packet).to_bytes().unwrap())
        });
        group.finish();
    }
}

/// Paired, interleaved timing of the same work: alternating batches of mote-coap and coap-lite
/// so that both see the same machine load (the 2-core build machine is shared), reporting the
/// median of the per-round ratios. Printed after the criterion groups; used for the ratios in
/// `docs/performance.md`.
fn paired_ratios() {
    use std::time::Instant;
    const ROUNDS: usize = 301;
    const BATCH: usize = 1000;
    fn median_ratio(mut ours: impl FnMut(), mut anchor: impl FnMut()) -> f64 {
        let mut ratios = Vec::with_capacity(ROUNDS);
        for round in 0..ROUNDS {
            let time = |f: &mut dyn FnMut()| {
                let start = Instant::now();
                for _ in 0..BATCH {
                    f();
                }
                start.elapsed().as_secs_f64()
            };
            let (a, b) = if round % 2 == 0 {
                let a = time(&mut ours);
                (a, time(&mut anchor))
            } else {
                let b = time(&mut anchor);
                (time(&mut ours), b)
            };
            ratios.push(b / a);
        }
        ratios.sort_by(f64::total_cmp);
        ratios[ROUNDS / 2]
    }
    println!(
        "paired ratios (coap-lite time / mote-coap time, median of {ROUNDS} interleaved rounds):"
    );
    for (name, msg) in messages() {
        let bytes = msg.to_vec().unwrap();
        let packet = coap_lite::Packet::from_bytes(&bytes).unwrap();
        let parse = median_ratio(
            || {
                black_box(parse_mote(black_box(&bytes)));
            },
            || {
                black_box(coap_lite::Packet::from_bytes(black_box(&bytes)).unwrap());
            },
        );
        let encode_vec = median_ratio(
            || {
                black_box(black_box(&msg).to_vec().unwrap());
            },
            || {
                black_box(black_box(&packet).to_bytes().unwrap());
            },
        );
        let mut buf = vec![0u8; 1500];
        let encode_slice = median_ratio(
            || {
                black_box(black_box(&msg).encode(black_box(&mut buf)).unwrap());
            },
            || {
                black_box(black_box(&packet).to_bytes().unwrap());
            },
        );
        println!(
            "  {name:16} {} bytes: parse {parse:.1}x, encode into &mut [u8] {encode_slice:.1}x, encode to a new Vec {encode_vec:.1}x",
            bytes.len()
        );
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        paired_ratios();
    }
}
