//! Observe (RFC 7641) driven by the endpoint, both roles: registration, notifications with
//! sequence numbers and NON/CON choice, ordering under reordering and duplication, the ways
//! an observation ends, bounds, re-registration, and large notifications (RFC 7959 §3.4).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod sim;

use std::time::Duration;

use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::observe::{ObserverHandle, RegistryConfig};
use mote_coap::endpoint::{
    EndpointConfig, EndpointError, Event, ObservationEndReason, Reliability, RequestId,
};
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;
use proptest::prelude::*;
use sim::{Addr, LinkProfile, Sim};

const CLIENT: Addr = 1;
const SERVER: Addr = 2;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn observe_get() -> OwnedMessage {
    OwnedMessage::new(MessageType::Con, Code::GET, 0)
        .with_option(OptionNumber::URI_PATH, "temp")
        .with_uint_option(OptionNumber::OBSERVE, 0)
}

fn content(payload: &[u8]) -> OwnedMessage {
    OwnedMessage::new(MessageType::Non, Code::CONTENT, 0).with_payload(payload.to_vec())
}

/// Sets up a client observing `/temp` on the server; returns the sim, the registration's
/// request id and the server's observer handle.
fn observed(
    profile: LinkProfile,
    seed: u64,
    server: EndpointConfig,
) -> (Sim, RequestId, ObserverHandle) {
    let mut sim = Sim::new(profile, seed);
    sim.add(CLIENT, EndpointConfig::default());
    sim.add(SERVER, server);
    let now = sim.now;
    let id = sim
        .node(CLIENT)
        .request(now, SERVER, observe_get(), Reliability::Confirmable)
        .unwrap();
    let mut handle = None;
    sim.run_for(secs(60), &mut |ep, now, node, e| {
        if let (SERVER, Event::Request { id, message, .. }) = (node, e) {
            handle = message.observation;
            ep.respond(now, id, content(b"0")).unwrap();
        }
    });
    (sim, id, handle.expect("registered"))
}

fn notifications(sim: &Sim) -> Vec<Vec<u8>> {
    sim.events_of(CLIENT)
        .filter_map(|e| match e {
            Event::Notification { message, .. } => Some(message.payload.clone()),
            _ => None,
        })
        .collect()
}

fn ended(sim: &Sim) -> Vec<ObservationEndReason> {
    sim.events_of(SERVER)
        .filter_map(|e| match e {
            Event::ObservationEnded { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect()
}

fn nothing(_: &mut sim::SimEndpoint, _: Duration, _: Addr, _: Event<Addr>) {}

#[test]
fn registration_and_notifications_reach_the_client_in_order() {
    let (mut sim, id, handle) = observed(LinkProfile::PERFECT, 1, EndpointConfig::default());
    // The first response is the Response event, with an Observe value.
    let first = sim
        .events_of(CLIENT)
        .find_map(|e| match e {
            Event::Response {
                id: got, message, ..
            } if *got == id => Some(message.clone()),
            _ => None,
        })
        .unwrap();
    assert!(first.option(OptionNumber::OBSERVE).is_some());
    for i in 1..=5u8 {
        let now = sim.now;
        sim.node(SERVER)
            .notify(now, handle, content(&[b'0' + i]), false)
            .unwrap();
        sim.run_for(secs(5), &mut nothing);
    }
    assert_eq!(notifications(&sim), [b"1", b"2", b"3", b"4", b"5"]);
    // The endpoint numbered them (RFC 7641 §4.4): increasing Observe values, NON by default.
    let sent: Vec<_> = sim
        .sent(SERVER, CLIENT)
        .map(|d| Message::decode(&d.bytes).unwrap().to_owned())
        .collect();
    let values: Vec<u32> = sent
        .iter()
        .map(|m| {
            let o = m.option(OptionNumber::OBSERVE).unwrap();
            o.value.iter().fold(0u32, |a, b| a << 8 | u32::from(*b))
        })
        .collect();
    assert!(values.windows(2).all(|w| w[0] < w[1]), "{values:?}");
    assert!(sent[1..].iter().all(|m| m.mtype == MessageType::Non));
    assert_eq!(sim.node(CLIENT).stats().observations, 1);
    assert_eq!(sim.node(SERVER).stats().observers, 1);
}

#[test]
fn confirmable_notifications_are_acknowledged_and_time_out_without_client() {
    let config = EndpointConfig {
        observe: RegistryConfig {
            confirmable_interval: Duration::ZERO,
            ..RegistryConfig::default()
        },
        ..EndpointConfig::default()
    };
    let (mut sim, _, handle) = observed(LinkProfile::PERFECT, 2, config);
    let now = sim.now;
    sim.node(SERVER)
        .notify(now, handle, content(b"1"), false)
        .unwrap();
    sim.run_for(secs(5), &mut nothing);
    let last = sim.sent(SERVER, CLIENT).last().unwrap().bytes.clone();
    assert_eq!(Message::decode(&last).unwrap().mtype(), MessageType::Con);
    assert_eq!(notifications(&sim), [b"1"]);
    assert_eq!(sim.node(SERVER).stats().pending_notifications, 0);
    // The client disappears: the CON notification is retransmitted, then the observer goes.
    sim.nodes.remove(&CLIENT);
    let now = sim.now;
    sim.node(SERVER)
        .notify(now, handle, content(b"2"), false)
        .unwrap();
    sim.run_for(secs(300), &mut nothing);
    assert_eq!(ended(&sim), [ObservationEndReason::TimedOut]);
    assert_eq!(sim.node(SERVER).stats().observers, 0);
    let now = sim.now;
    assert!(matches!(
        sim.node(SERVER).notify(now, handle, content(b"3"), false),
        Err(EndpointError::UnknownObservation { .. })
    ));
}

#[test]
fn active_cancellation_deregisters_on_the_server() {
    let (mut sim, id, _) = observed(LinkProfile::PERFECT, 3, EndpointConfig::default());
    let now = sim.now;
    let dereg = sim.node(CLIENT).cancel_observation(now, id, true).unwrap();
    assert!(dereg.is_some());
    sim.run_for(secs(10), &mut |ep, now, node, e| {
        if let (SERVER, Event::Request { id, message, .. }) = (node, e) {
            assert!(message.observation.is_none());
            ep.respond(now, id, content(b"last")).unwrap();
        }
    });
    assert_eq!(ended(&sim), [ObservationEndReason::Deregistered]);
    assert_eq!(sim.node(SERVER).stats().observers, 0);
    assert_eq!(sim.node(CLIENT).stats().observations, 0);
}

#[test]
fn passive_cancellation_resets_the_next_notification() {
    let (mut sim, id, handle) = observed(LinkProfile::PERFECT, 4, EndpointConfig::default());
    let now = sim.now;
    assert_eq!(
        sim.node(CLIENT).cancel_observation(now, id, false).unwrap(),
        None
    );
    sim.node(SERVER)
        .notify(now, handle, content(b"1"), false)
        .unwrap();
    sim.run_for(secs(10), &mut nothing);
    assert!(notifications(&sim).is_empty());
    assert_eq!(ended(&sim), [ObservationEndReason::Reset]);
}

#[test]
fn error_notification_ends_the_observation_both_sides() {
    let (mut sim, id, handle) = observed(LinkProfile::PERFECT, 5, EndpointConfig::default());
    let now = sim.now;
    let gone = OwnedMessage::new(MessageType::Non, Code::NOT_FOUND, 0);
    sim.node(SERVER).notify(now, handle, gone, false).unwrap();
    sim.run_for(secs(10), &mut nothing);
    assert_eq!(ended(&sim), [ObservationEndReason::ErrorResponse]);
    let finals: Vec<Code> = sim
        .events_of(CLIENT)
        .filter_map(|e| match e {
            Event::Response {
                id: got, message, ..
            } if *got == id => Some(message.code),
            _ => None,
        })
        .collect();
    assert_eq!(finals, [Code::CONTENT, Code::NOT_FOUND]);
    assert_eq!(sim.node(CLIENT).stats().observations, 0);
}

#[test]
fn a_full_registry_answers_as_a_plain_get() {
    let config = EndpointConfig {
        observe: RegistryConfig {
            max_observers: 2,
            ..RegistryConfig::default()
        },
        ..EndpointConfig::default()
    };
    let mut sim = Sim::new(LinkProfile::PERFECT, 6);
    sim.add(SERVER, config);
    for c in 10..15u16 {
        sim.add(c, EndpointConfig::default());
        let now = sim.now;
        sim.node(c)
            .request(now, SERVER, observe_get(), Reliability::Confirmable)
            .unwrap();
    }
    let mut handles = 0;
    sim.run_for(secs(30), &mut |ep, now, node, e| {
        if let (SERVER, Event::Request { id, message, .. }) = (node, e) {
            handles += usize::from(message.observation.is_some());
            ep.respond(now, id, content(b"x")).unwrap();
        }
    });
    assert_eq!(handles, 2);
    assert_eq!(sim.node(SERVER).stats().observers, 2);
    assert_eq!(sim.node(SERVER).stats().refused_observations, 3);
    // The refused ones got a response without Observe (RFC 7641 §4.1) and hold nothing.
    let plain = (10..15u16)
        .filter(|c| {
            sim.events_of(*c).any(|e| {
                matches!(e, Event::Response { message, .. }
                    if message.option(OptionNumber::OBSERVE).is_none())
            })
        })
        .count();
    assert_eq!(plain, 3);
    let observing: usize = (10..15u16).map(|c| sim.node(c).stats().observations).sum();
    assert_eq!(observing, 2);
}

#[test]
fn client_reregisters_after_max_age() {
    let (mut sim, id, handle) = observed(LinkProfile::PERFECT, 7, EndpointConfig::default());
    let mut reregistrations = 0;
    // Default Max-Age 60 s + 5 s margin: the client asks again with the same token.
    sim.run_for(secs(70), &mut |ep, now, node, e| {
        if let (SERVER, Event::Request { id, message, .. }) = (node, e) {
            assert_eq!(message.observation, Some(handle));
            reregistrations += 1;
            ep.respond(now, id, content(b"again")).unwrap();
        }
    });
    assert_eq!(reregistrations, 1);
    // Its response is a notification of the original request.
    assert!(
        sim.events_of(CLIENT).any(|e| matches!(e,
        Event::Notification { id: got, message, .. } if *got == id && message.payload == b"again"))
    );
    assert_eq!(sim.node(SERVER).stats().observers, 1);
}

fn small_blocks() -> EndpointConfig {
    let mut config = EndpointConfig::default();
    config.block2.preferred_szx = mote_coap::block::Szx::S64;
    config
}

/// A 200-byte body (four 64-byte blocks) whose bytes all differ from those of `tag + 1`.
fn large(tag: u8) -> Vec<u8> {
    (0..200u8).map(|i| i.wrapping_mul(3) ^ tag).collect()
}

#[test]
fn large_notification_carries_its_first_block_and_the_client_fetches_the_rest() {
    let (mut sim, id, handle) = observed(LinkProfile::PERFECT, 8, small_blocks());
    let now = sim.now;
    sim.node(SERVER)
        .notify(now, handle, content(&large(1)), false)
        .unwrap();
    sim.run_for(secs(5), &mut nothing);
    let sent: Vec<_> = sim
        .sent(SERVER, CLIENT)
        .map(|d| Message::decode(&d.bytes).unwrap().to_owned())
        .collect();
    // The registration's response, the notification with the first block, then blocks 1-3.
    let notification = &sent[1];
    assert_eq!(notification.payload.len(), 64);
    assert!(notification.option(OptionNumber::BLOCK2).is_some());
    assert!(notification.option(OptionNumber::OBSERVE).is_some());
    // RFC 7959 §3.4: the client asks for NUM 1.. with GET, without Observe.
    let fetches: Vec<_> = sim
        .sent(CLIENT, SERVER)
        .map(|d| Message::decode(&d.bytes).unwrap().to_owned())
        .skip(1)
        .collect();
    assert_eq!(fetches.len(), 3);
    for (i, f) in fetches.iter().enumerate() {
        assert_eq!(f.code, Code::GET);
        assert!(f.option(OptionNumber::OBSERVE).is_none());
        assert_eq!(
            f.option(OptionNumber::URI_PATH).unwrap().value,
            b"temp".as_slice()
        );
        // NUM i+1, SZX 2 (64 bytes): (NUM << 4) | SZX.
        let block = f.option(OptionNumber::BLOCK2).unwrap().value.to_vec();
        assert_eq!(block, vec![(((i + 1) as u8) << 4) | 2]);
    }
    // One notification with the whole body and the first block's Observe, no Block2.
    let delivered: Vec<_> = sim
        .events_of(CLIENT)
        .filter_map(|e| match e {
            Event::Notification {
                id: got, message, ..
            } if *got == id => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].payload, large(1));
    assert!(delivered[0].option(OptionNumber::BLOCK2).is_none());
    assert_eq!(
        delivered[0].option(OptionNumber::OBSERVE),
        notification.option(OptionNumber::OBSERVE)
    );
    assert_eq!(sim.node(CLIENT).stats().failed_notification_fetches, 0);
    assert_eq!(sim.node(CLIENT).stats().outstanding_requests, 0);
}

#[test]
fn large_notifications_arrive_whole_and_in_order_under_loss() {
    let profile = LinkProfile {
        loss_permille: 200,
        duplicate_permille: 100,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(300),
    };
    for seed in 1..=4u64 {
        // The registration goes over a perfect link; the loss starts with the notifications.
        // Every response has a long Max-Age: no re-registration (RFC 7641 §3.3.1) meanwhile.
        let mut sim = Sim::new(LinkProfile::PERFECT, seed);
        sim.add(CLIENT, EndpointConfig::default());
        sim.add(SERVER, small_blocks());
        let now = sim.now;
        sim.node(CLIENT)
            .request(now, SERVER, observe_get(), Reliability::Confirmable)
            .unwrap();
        let mut handle = None;
        sim.run_for(secs(10), &mut |ep, now, node, e| {
            if let (SERVER, Event::Request { id, message, .. }) = (node, e) {
                handle = message.observation;
                let answer = content(b"0").with_uint_option(OptionNumber::MAX_AGE, 3600);
                ep.respond(now, id, answer).unwrap();
            }
        });
        let handle = handle.unwrap();
        sim.net.profile = profile;
        for tag in 1..=5u8 {
            let now = sim.now;
            let notification = content(&large(tag)).with_uint_option(OptionNumber::MAX_AGE, 3600);
            sim.node(SERVER)
                .notify(now, handle, notification, true)
                .unwrap();
            // Long enough for the CON notification and the fetch to get through.
            sim.run_for(secs(120), &mut nothing);
        }
        let got = notifications(&sim);
        let failed = sim.node(CLIENT).stats().failed_notification_fetches;
        assert!(sim.net.lost > 0, "seed {seed}: the link lost nothing");
        // Whole bodies only, each of a notification that was sent.
        let tags: Vec<u8> = got
            .iter()
            .map(|p| {
                (1..=5u8)
                    .find(|t| *p == large(*t))
                    .unwrap_or_else(|| panic!("seed {seed}: not a whole body: {} bytes", p.len()))
            })
            .collect();
        // In order, none twice, none missing: CON notifications and CON fetches are
        // retransmitted, and with these seeds every one gets through.
        assert_eq!(tags, [1, 2, 3, 4, 5], "seed {seed}");
        assert_eq!(failed, 0, "seed {seed}");
    }
}

#[test]
fn a_newer_notification_supersedes_a_fetch_in_progress() {
    let profile = LinkProfile {
        loss_permille: 0,
        duplicate_permille: 0,
        min_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(100),
    };
    let (mut sim, _, handle) = observed(profile, 10, small_blocks());
    let now = sim.now;
    sim.node(SERVER)
        .notify(now, handle, content(&large(1)), false)
        .unwrap();
    // The first notification arrives at +100 ms and its fetch starts; the second one is sent
    // at +150 ms and arrives while block 1 of the first is on its way back.
    sim.run_for(Duration::from_millis(150), &mut nothing);
    assert_eq!(sim.node(CLIENT).stats().outstanding_requests, 1);
    let now = sim.now;
    sim.node(SERVER)
        .notify(now, handle, content(&large(2)), false)
        .unwrap();
    sim.run_for(secs(30), &mut nothing);
    assert_eq!(notifications(&sim), vec![large(2)]);
    assert_eq!(sim.node(CLIENT).stats().outstanding_requests, 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Under reordering and duplication, notifications reach the client application in the
    /// order they were produced, each at most once (RFC 7641 §3.4).
    #[test]
    fn notifications_are_never_delivered_out_of_order(
        seed in any::<u64>(),
        dup in 0u32..400,
        spread in 0u64..2000,
        n in 2usize..20,
    ) {
        let profile = LinkProfile {
            loss_permille: 0,
            duplicate_permille: dup,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(5 + spread),
        };
        let (mut sim, _, handle) = observed(profile, seed, EndpointConfig::default());
        for i in 0..n {
            let now = sim.now;
            sim.node(SERVER)
                .notify(now, handle, content(&[i as u8]), false)
                .unwrap();
            sim.run_for(Duration::from_millis(50), &mut nothing);
        }
        sim.run_for(secs(30), &mut nothing);
        let got: Vec<u8> = notifications(&sim).into_iter().map(|p| p[0]).collect();
        prop_assert!(got.windows(2).all(|w| w[0] < w[1]), "{:?}", got);
        prop_assert!(!got.is_empty());
        prop_assert_eq!(got.last().copied(), Some((n - 1) as u8));
    }
}

#[test]
fn an_unanswered_registration_is_forgotten() {
    let mut sim = Sim::new(LinkProfile::PERFECT, 9);
    sim.add(CLIENT, EndpointConfig::default());
    sim.add(SERVER, EndpointConfig::default());
    let now = sim.now;
    sim.node(CLIENT)
        .request(now, SERVER, observe_get(), Reliability::Confirmable)
        .unwrap();
    // The server application never answers.
    sim.run_for(secs(10), &mut nothing);
    assert_eq!(sim.node(SERVER).stats().observers, 1);
    sim.run_for(secs(300), &mut nothing);
    assert_eq!(sim.node(SERVER).stats().observers, 0);
    assert_eq!(sim.node(SERVER).stats().pending_incoming, 0);
}

/// A registration the application forgets before answering (the resource is not observable)
/// is answered as a plain GET: no Observe option on the response (RFC 7641 §4.1, §2: a
/// response without Observe tells the client it is not on the list), and no observer kept.
#[test]
fn a_forgotten_registration_is_answered_without_observe() {
    let mut sim = Sim::new(LinkProfile::PERFECT, 7);
    sim.add(CLIENT, EndpointConfig::default());
    sim.add(SERVER, EndpointConfig::default());
    let now = sim.now;
    sim.node(CLIENT)
        .request(now, SERVER, observe_get(), Reliability::Confirmable)
        .unwrap();
    let mut forgotten = false;
    sim.run_for(secs(60), &mut |ep, now, node, e| {
        if let (SERVER, Event::Request { id, message, .. }) = (node, e) {
            forgotten = ep.forget_observer(message.observation.expect("registered"));
            ep.respond(now, id, content(b"plain")).unwrap();
        }
    });
    assert!(forgotten);
    let sent: Vec<_> = sim
        .sent(SERVER, CLIENT)
        .map(|d| Message::decode(&d.bytes).unwrap().to_owned())
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].payload, b"plain");
    assert!(sent[0].option(OptionNumber::OBSERVE).is_none());
    assert_eq!(sim.node(SERVER).stats().observers, 0);
}

/// Finding 5 (reflection by a departed or spoofed observer): with the default
/// `confirmable_every` (8), a peer that never acknowledges gets seven Non-confirmable
/// notifications, then one Confirmable one with its retransmissions (RFC 7252 §4.2:
/// MAX_RETRANSMIT 4), and the observation ends: nothing more is sent to it. Newer
/// notifications supersede the unacknowledged Confirmable one (RFC 7641 §4.5.2) and share its
/// retransmission counter, so the end comes within MAX_TRANSMIT_WAIT (93 s) of the first
/// Confirmable notification.
#[test]
fn a_silent_observer_stops_receiving_after_the_bound() {
    assert_eq!(RegistryConfig::default().confirmable_every, 8);
    let (mut sim, _, handle) = observed(LinkProfile::PERFECT, 3, EndpointConfig::default());
    // The client goes away without a word.
    sim.nodes.remove(&CLIENT);
    let before = sim.sent(SERVER, CLIENT).count();
    let mut refused = 0;
    for i in 0..100u32 {
        let now = sim.now;
        if sim
            .node(SERVER)
            .notify(now, handle, content(&i.to_be_bytes()), false)
            .is_err()
        {
            refused += 1;
        }
        sim.run_for(secs(10), &mut nothing);
    }
    sim.run_for(secs(300), &mut nothing);
    let sent: Vec<MessageType> = sim
        .sent(SERVER, CLIENT)
        .skip(before)
        .map(|d| Message::decode(&d.bytes).unwrap().mtype())
        .collect();
    let cons = sent.iter().filter(|t| **t == MessageType::Con).count();
    let nons = sent.iter().filter(|t| **t == MessageType::Non).count();
    assert_eq!(nons, 7, "{sent:?}");
    assert_eq!(sent[..7], [MessageType::Non; 7]);
    // At most one superseding Confirmable notification per 10 s within the 93 s, plus the
    // MAX_RETRANSMIT (4) retransmissions.
    assert!((1..=10 + 4).contains(&cons), "{sent:?}");
    assert_eq!(ended(&sim), [ObservationEndReason::TimedOut]);
    // 8 notifications went out before the first CON, at most 10 more while it was pending.
    assert!(refused >= 100 - 8 - 10, "notify refused {refused} times");
    let stats = sim.node(SERVER).stats();
    assert_eq!(stats.observers, 0);
    assert_eq!(stats.observations_timed_out, 1);
    assert_eq!(stats.observations_reset, 0);
}

/// An observer that acknowledges the periodic Confirmable notifications keeps its
/// observation however many notifications come.
#[test]
fn an_acknowledging_observer_keeps_its_observation() {
    let (mut sim, _, handle) = observed(LinkProfile::PERFECT, 4, EndpointConfig::default());
    for i in 0..40u32 {
        let now = sim.now;
        sim.node(SERVER)
            .notify(now, handle, content(&i.to_be_bytes()), false)
            .unwrap();
        sim.run_for(secs(5), &mut nothing);
    }
    assert_eq!(notifications(&sim).len(), 40);
    let types: Vec<MessageType> = sim
        .sent(SERVER, CLIENT)
        .skip(1)
        .map(|d| Message::decode(&d.bytes).unwrap().mtype())
        .collect();
    // Every eighth notification is Confirmable: the 8th, 16th, 24th, 32nd, 40th.
    let con_at: Vec<usize> = types
        .iter()
        .enumerate()
        .filter(|(_, t)| **t == MessageType::Con)
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(con_at, [8, 16, 24, 32, 40]);
    assert!(ended(&sim).is_empty());
    let stats = sim.node(SERVER).stats();
    assert_eq!(stats.observers, 1);
    assert_eq!(stats.confirmable_notifications, 5);
    assert_eq!(stats.pending_notifications, 0);
    assert_eq!(stats.observations_timed_out, 0);
}

/// A Reset to a periodic Confirmable notification ends the observation and is counted.
#[test]
fn a_reset_to_the_periodic_confirmable_ends_the_observation() {
    let config = EndpointConfig {
        observe: RegistryConfig {
            confirmable_every: 1,
            ..RegistryConfig::default()
        },
        ..EndpointConfig::default()
    };
    let (mut sim, _, handle) = observed(LinkProfile::PERFECT, 5, config);
    // The client endpoint is replaced by hand: it answers the CON notification with a Reset.
    sim.nodes.remove(&CLIENT);
    let now = sim.now;
    sim.node(SERVER)
        .notify(now, handle, content(b"1"), false)
        .unwrap();
    sim.run_for(secs(1), &mut nothing);
    let con = sim.sent(SERVER, CLIENT).last().unwrap().bytes.clone();
    let con = Message::decode(&con).unwrap();
    assert_eq!(con.mtype(), MessageType::Con);
    let mid = con.message_id().to_be_bytes();
    let rst = [0x70, 0x00, mid[0], mid[1]];
    let now = sim.now;
    sim.node(SERVER).handle(now, CLIENT, &rst);
    sim.run_for(secs(1), &mut nothing);
    assert_eq!(ended(&sim), [ObservationEndReason::Reset]);
    assert_eq!(sim.node(SERVER).stats().observations_reset, 1);
    assert_eq!(sim.node(SERVER).stats().observers, 0);
}

/// Finding 5: Non-confirmable notifications to one peer are rate limited (default one per
/// 100 ms, `RegistryConfig::non_interval`, RFC 7641 §4.5.1); a burst is coalesced into the
/// newest state (§4.5.2), sent when the interval has passed.
#[test]
fn a_burst_of_notifications_to_one_peer_is_rate_limited_to_the_newest_state() {
    assert_eq!(
        RegistryConfig::default().non_interval,
        Some(Duration::from_millis(100))
    );
    let (mut sim, _, handle) = observed(LinkProfile::PERFECT, 6, EndpointConfig::default());
    let before = sim.sent(SERVER, CLIENT).count();
    let now = sim.now;
    for i in 1..=5u8 {
        sim.node(SERVER)
            .notify(now, handle, content(&[b'0' + i]), false)
            .unwrap();
    }
    // Only the first went out at once; four were held back, the newest of them kept.
    assert_eq!(sim.node(SERVER).stats().deferred_notifications, 4);
    sim.run_for(secs(5), &mut nothing);
    assert_eq!(sim.sent(SERVER, CLIENT).count() - before, 2);
    assert_eq!(notifications(&sim), [b"1", b"5"]);
    // Spaced by the interval, every one goes out.
    for i in 6..=8u8 {
        let now = sim.now;
        sim.node(SERVER)
            .notify(now, handle, content(&[b'0' + i]), false)
            .unwrap();
        sim.run_for(Duration::from_millis(150), &mut nothing);
    }
    assert_eq!(notifications(&sim), [b"1", b"5", b"6", b"7", b"8"]);
    assert_eq!(sim.node(SERVER).stats().deferred_notifications, 4);
}
