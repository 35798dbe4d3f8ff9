//! Checks of the simulation harness itself (`tests/sim`): the network really loses,
//! duplicates and reorders datagrams, deterministically per seed, so that tests built on it
//! exercise what they claim to.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod sim;

use std::time::Duration;

use sim::{LinkProfile, Network, XorShift64};

fn run(seed: u64) -> (Vec<Vec<u8>>, usize, usize) {
    let profile = LinkProfile {
        loss_permille: 200,
        duplicate_permille: 300,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(500),
    };
    let mut net = Network::new(profile, seed);
    for i in 0..200u8 {
        net.send(Duration::from_millis(u64::from(i)), 1, 2, vec![i]);
    }
    let mut delivered = Vec::new();
    while let Some(d) = net.take_due(Duration::from_secs(10)) {
        assert_eq!((d.from, d.to), (1, 2));
        delivered.push(d.bytes);
    }
    (delivered, net.lost, net.duplicated)
}

#[test]
fn network_loses_duplicates_and_reorders_deterministically() {
    let (delivered, lost, duplicated) = run(42);
    // 200 sent at 20 % loss and 30 % duplication of the rest: well away from 0 and from 200.
    assert!((10..=80).contains(&lost), "lost {lost}");
    assert!((10..=100).contains(&duplicated), "duplicated {duplicated}");
    assert_eq!(delivered.len(), 200 - lost + duplicated);
    assert!(
        delivered.windows(2).any(|w| w[0] > w[1]),
        "nothing was reordered"
    );
    // Same seed, same run; another seed, another run.
    assert_eq!(run(42).0, delivered);
    assert_ne!(run(43).0, delivered);
}

#[test]
fn perfect_link_delivers_in_order_once() {
    let mut net = Network::new(LinkProfile::PERFECT, 1);
    for i in 0..50u8 {
        net.send(Duration::from_millis(u64::from(i)), 1, 2, vec![i]);
    }
    let got: Vec<u8> = std::iter::from_fn(|| net.take_due(Duration::from_secs(1)))
        .map(|d| d.bytes[0])
        .collect();
    assert_eq!(got, (0..50).collect::<Vec<u8>>());
}

#[test]
fn xorshift_is_the_published_sequence() {
    // xorshift64 (13, 7, 17) from seed 1: 1 ^ 1<<13 = 8193; ^ >>7 = 8193 ^ 64 = 8257;
    // ^ <<17 = 8257 ^ 1082261504 = 1082269761.
    let mut r = XorShift64::new(1);
    assert_eq!(r.next_u64(), 1_082_269_761);
}
