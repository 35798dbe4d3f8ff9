//! RFC 7252 §4.8 Tables 2 and 3, transcribed in `tests/data/`, against
//! `TransmissionParameters::default()` and its derived times; and the §4.2 schedule at the two
//! ends of the random range, which must reach MAX_TRANSMIT_SPAN and MAX_TRANSMIT_WAIT.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use mote_coap::transmission::{Retransmission, Timeout, TransmissionParameters};

fn table() -> Vec<(String, f64)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/rfc7252-transmission-parameters.txt");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

#[test]
fn rfc7252_tables_2_and_3() {
    let p = TransmissionParameters::default();
    let secs = |d: Duration| d.as_secs_f64();
    let rows = table();
    assert_eq!(rows.len(), 13);
    for (name, value) in rows {
        let ours = match name.as_str() {
            "ACK_TIMEOUT" => secs(p.ack_timeout()),
            "ACK_RANDOM_FACTOR" => p.ack_random_factor(),
            "MAX_RETRANSMIT" => f64::from(p.max_retransmit()),
            "NSTART" => f64::from(p.nstart()),
            "DEFAULT_LEISURE" => secs(p.default_leisure()),
            "PROBING_RATE" => f64::from(p.probing_rate()),
            "MAX_TRANSMIT_SPAN" => secs(p.max_transmit_span()),
            "MAX_TRANSMIT_WAIT" => secs(p.max_transmit_wait()),
            "MAX_LATENCY" => secs(p.max_latency()),
            "PROCESSING_DELAY" => secs(p.processing_delay()),
            "MAX_RTT" => secs(p.max_rtt()),
            "EXCHANGE_LIFETIME" => secs(p.exchange_lifetime()),
            "NON_LIFETIME" => secs(p.non_lifetime()),
            other => panic!("unknown parameter {other}"),
        };
        assert!((ours - value).abs() < 1e-9, "{name}: {ours} != {value}");
    }
}

/// Runs the schedule to the end, returning the retransmission times and the give-up time.
fn run(p: &TransmissionParameters, random: u32) -> (Vec<Duration>, Duration) {
    let mut rt = Retransmission::start(p, Duration::ZERO, random);
    let mut sent = Vec::new();
    loop {
        let at = rt.deadline();
        match rt.on_timeout(at) {
            Timeout::Retransmit { .. } => sent.push(at),
            Timeout::GaveUp => return (sent, at),
            Timeout::Wait(_) => panic!("an on-time caller never waits"),
        }
    }
}

#[test]
fn schedule_stays_within_span_and_wait() {
    let p = TransmissionParameters::default();
    let rows = table();
    let get = |n: &str| rows.iter().find(|(k, _)| k == n).unwrap().1;
    let span = Duration::from_secs_f64(get("MAX_TRANSMIT_SPAN"));
    let wait = Duration::from_secs_f64(get("MAX_TRANSMIT_WAIT"));
    for random in [0, 1 << 31, u32::MAX] {
        let (sent, gave_up) = run(&p, random);
        assert_eq!(sent.len(), get("MAX_RETRANSMIT") as usize);
        assert!(*sent.last().unwrap() <= span);
        assert!(gave_up <= wait);
        // The first retransmission comes after ACK_TIMEOUT .. ACK_TIMEOUT × ACK_RANDOM_FACTOR
        // (RFC 7252 Figure 18: "After ACK_TIMEOUT seconds, the client retransmits").
        assert!(sent[0] >= Duration::from_secs(2) && sent[0] <= Duration::from_secs(3));
        // Intervals double.
        for w in sent.windows(3) {
            let a = w[1] - w[0];
            let b = w[2] - w[1];
            assert!((b.as_secs_f64() - 2.0 * a.as_secs_f64()).abs() < 1e-6);
        }
    }
    // The largest draw reaches the envelope.
    let (sent, gave_up) = run(&p, u32::MAX);
    assert!(span - *sent.last().unwrap() < Duration::from_millis(1));
    assert!(wait - gave_up < Duration::from_millis(1));
}
