//! `Event::NotificationDone` and `Endpoint::notification_pending`: an application that hands
//! over a history of notifications one at a time — the next only when the endpoint no longer
//! holds the previous one — loses none of them, whatever the acknowledgement delay, the loss
//! and the Non-confirmable rate limit; handed over in one burst, RFC 7641 §4.5.1 / §4.5.2 keep
//! only the newest state and the endpoint says which ones were replaced.

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
use mote_coap::endpoint::{EndpointConfig, Event, NotificationOutcome, Reliability};
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;
use sim::{Addr, LinkProfile, Sim};

const CLIENT: Addr = 1;
const SERVER: Addr = 2;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn content(payload: &[u8]) -> OwnedMessage {
    OwnedMessage::new(MessageType::Non, Code::CONTENT, 0).with_payload(payload.to_vec())
}

fn observed(profile: LinkProfile, seed: u64, server: EndpointConfig) -> (Sim, ObserverHandle) {
    let mut sim = Sim::new(profile, seed);
    sim.add(CLIENT, EndpointConfig::default());
    sim.add(SERVER, server);
    let now = sim.now;
    let get = OwnedMessage::new(MessageType::Con, Code::GET, 0)
        .with_option(OptionNumber::URI_PATH, "temp")
        .with_uint_option(OptionNumber::OBSERVE, 0);
    sim.node(CLIENT)
        .request(now, SERVER, get, Reliability::Confirmable)
        .unwrap();
    let mut handle = None;
    sim.run_for(secs(60), &mut |ep, now, node, e| {
        if let (SERVER, Event::Request { id, message, .. }) = (node, e) {
            handle = message.observation;
            ep.respond(now, id, content(b"0")).unwrap();
        }
    });
    (sim, handle.expect("registered"))
}

fn notifications(sim: &Sim) -> Vec<Vec<u8>> {
    sim.events_of(CLIENT)
        .filter_map(|e| match e {
            Event::Notification { message, .. } => Some(message.payload.clone()),
            _ => None,
        })
        .collect()
}

fn outcomes(sim: &Sim) -> Vec<NotificationOutcome> {
    sim.events_of(SERVER)
        .filter_map(|e| match e {
            Event::NotificationDone { outcome, .. } => Some(*outcome),
            _ => None,
        })
        .collect()
}

const HISTORY: [&[u8]; 5] = [b"h1", b"h2", b"h3", b"h4", b"h5"];

/// Hands `HISTORY` to the server one at a time: the first now, each next one when the
/// endpoint reports the previous one done and holds nothing more for the observer.
fn deliver_history(sim: &mut Sim, handle: ObserverHandle, confirmable: bool, span: Duration) {
    let now = sim.now;
    sim.node(SERVER)
        .notify(now, handle, content(HISTORY[0]), confirmable)
        .unwrap();
    let mut next = 1;
    sim.run_for(span, &mut |ep, now, node, e| {
        if let (SERVER, Event::NotificationDone { handle: h, .. }) = (node, e) {
            if h == handle && !ep.notification_pending(h) && next < HISTORY.len() {
                ep.notify(now, h, content(HISTORY[next]), confirmable)
                    .unwrap();
                next += 1;
            }
        }
    });
}

/// Confirmable, acknowledgements slower than ACK_TIMEOUT (every CON is retransmitted before
/// its ACK comes back) and 10 % loss: all five arrive, in order, exactly once.
#[test]
fn confirmable_history_with_slow_acks_and_loss_arrives_whole_and_in_order() {
    let slow = LinkProfile {
        loss_permille: 100,
        duplicate_permille: 50,
        min_delay: Duration::from_millis(1500),
        max_delay: Duration::from_millis(3000),
    };
    let (mut sim, handle) = observed(slow, 3, EndpointConfig::default());
    deliver_history(&mut sim, handle, true, secs(600));
    assert_eq!(notifications(&sim), HISTORY);
    let done = outcomes(&sim);
    assert_eq!(done, [NotificationOutcome::Acknowledged; 5], "{done:?}");
    assert!(!sim.node(SERVER).notification_pending(handle));
    // The link really was slower than the retransmission timer: some CON went out twice.
    let cons = sim
        .sent(SERVER, CLIENT)
        .filter(|d| Message::decode(&d.bytes).unwrap().to_owned().mtype == MessageType::Con)
        .count();
    assert!(cons > 5, "{cons} CON datagrams");
}

/// Non-confirmable with the per-peer rate limit (3 s between two NON notifications, RFC 7641
/// §4.5.1) and the default one-CON-in-eight: every one arrives, in order.
#[test]
fn non_confirmable_history_under_the_rate_limit_arrives_whole_and_in_order() {
    let config = EndpointConfig {
        observe: RegistryConfig {
            non_interval: Some(secs(3)),
            confirmable_every: 3,
            ..RegistryConfig::default()
        },
        ..EndpointConfig::default()
    };
    let (mut sim, handle) = observed(LinkProfile::PERFECT, 4, config);
    deliver_history(&mut sim, handle, false, secs(120));
    assert_eq!(notifications(&sim), HISTORY);
    let done = outcomes(&sim);
    assert_eq!(done.len(), 5, "{done:?}");
    assert!(
        !done.contains(&NotificationOutcome::Replaced) && done.contains(&NotificationOutcome::Sent),
        "{done:?}"
    );
    // Some were held back by the rate (deferred), and one was the periodic CON.
    assert!(sim.node(SERVER).stats().deferred_notifications > 0);
    assert!(
        done.contains(&NotificationOutcome::Acknowledged),
        "{done:?}"
    );
}

/// The same history handed over in one burst: the endpoint keeps only the newest state
/// (RFC 7641 §4.5.1 / §4.5.2) and reports each one it dropped as replaced.
#[test]
fn a_burst_is_replaced_and_the_endpoint_says_so() {
    let config = EndpointConfig {
        observe: RegistryConfig {
            non_interval: Some(secs(3)),
            ..RegistryConfig::default()
        },
        ..EndpointConfig::default()
    };
    let (mut sim, handle) = observed(LinkProfile::PERFECT, 5, config);
    let now = sim.now;
    for h in HISTORY {
        sim.node(SERVER)
            .notify(now, handle, content(h), false)
            .unwrap();
    }
    sim.run_for(secs(30), &mut |_, _, _, _| {});
    assert_eq!(notifications(&sim), [HISTORY[0], HISTORY[4]]);
    assert_eq!(
        outcomes(&sim),
        [
            NotificationOutcome::Sent,
            NotificationOutcome::Replaced,
            NotificationOutcome::Replaced,
            NotificationOutcome::Replaced,
            NotificationOutcome::Sent,
        ]
    );
}

/// A Confirmable notification nobody acknowledges fails; the observation then ends (RFC 7641
/// §4.5) and the failure comes first.
#[test]
fn an_unacknowledged_confirmable_notification_fails_before_the_observation_ends() {
    let (mut sim, handle) = observed(LinkProfile::PERFECT, 6, EndpointConfig::default());
    // The client is gone: nothing reaches it any more.
    sim.net.profile.loss_permille = 1000;
    let now = sim.now;
    sim.node(SERVER)
        .notify(now, handle, content(b"x"), true)
        .unwrap();
    assert!(sim.node(SERVER).notification_pending(handle));
    sim.run_for(secs(300), &mut |_, _, _, _| {});
    let tail: Vec<String> = sim
        .events_of(SERVER)
        .filter(|e| {
            matches!(
                e,
                Event::NotificationDone { .. } | Event::ObservationEnded { .. }
            )
        })
        .map(|e| format!("{e:?}"))
        .collect();
    assert_eq!(tail.len(), 2, "{tail:?}");
    assert!(tail[0].contains("Failed"), "{tail:?}");
    assert!(tail[1].contains("TimedOut"), "{tail:?}");
    assert!(!sim.node(SERVER).notification_pending(handle));
}

/// `notification_pending` is `true` exactly while the endpoint holds a notification: one
/// deferred by the Non-confirmable rate (RFC 7641 §4.5.1), a Confirmable one until its ACK.
#[test]
fn notification_pending_follows_what_the_endpoint_holds() {
    let config = EndpointConfig {
        observe: RegistryConfig {
            non_interval: Some(secs(3)),
            ..RegistryConfig::default()
        },
        ..EndpointConfig::default()
    };
    let (mut sim, handle) = observed(LinkProfile::PERFECT, 7, config);
    let now = sim.now;
    let server = sim.node(SERVER);
    server.notify(now, handle, content(b"a"), false).unwrap();
    assert!(!server.notification_pending(handle), "sent at once");
    server.notify(now, handle, content(b"b"), false).unwrap();
    assert!(server.notification_pending(handle), "held back by the rate");
    sim.run_for(secs(5), &mut |_, _, _, _| {});
    assert!(!sim.node(SERVER).notification_pending(handle));
    let now = sim.now;
    sim.node(SERVER)
        .notify(now, handle, content(b"c"), true)
        .unwrap();
    assert!(
        sim.node(SERVER).notification_pending(handle),
        "awaiting its ACK"
    );
    sim.run_for(secs(5), &mut |_, _, _, _| {});
    assert!(!sim.node(SERVER).notification_pending(handle));
    assert_eq!(notifications(&sim), [b"a", b"b", b"c"]);
    assert_eq!(
        outcomes(&sim),
        [
            NotificationOutcome::Sent,
            NotificationOutcome::Sent,
            NotificationOutcome::Acknowledged
        ]
    );
}

/// A live Confirmable notification is still unacknowledged when the history starts: the
/// first of the history replaces it (RFC 7641 §4.5.2) and `Replaced` comes for the live
/// one while the first stays pending — the next waits for that one's ACK, and all five
/// arrive although the first one's initial transmission was lost.
#[test]
fn a_history_behind_a_pending_live_notification_waits_for_its_first() {
    let (mut sim, handle) = observed(LinkProfile::PERFECT, 8, EndpointConfig::default());
    sim.net.profile.loss_permille = 1000;
    let now = sim.now;
    sim.node(SERVER)
        .notify(now, handle, content(b"live"), true)
        .unwrap();
    sim.flush(&mut |_, _, _, _| {});
    deliver_history_lossy_start(&mut sim, handle);
    assert_eq!(notifications(&sim), HISTORY);
    assert_eq!(outcomes(&sim)[0], NotificationOutcome::Replaced);
}

/// As `deliver_history` (Confirmable), the first one's initial transmission lost.
fn deliver_history_lossy_start(sim: &mut Sim, handle: ObserverHandle) {
    let now = sim.now;
    sim.node(SERVER)
        .notify(now, handle, content(HISTORY[0]), true)
        .unwrap();
    let mut next = 1;
    let mut drive = |ep: &mut sim::SimEndpoint, now: Duration, node: Addr, e: Event<Addr>| {
        if let (SERVER, Event::NotificationDone { handle: h, .. }) = (node, e) {
            if h == handle && !ep.notification_pending(h) && next < HISTORY.len() {
                ep.notify(now, h, content(HISTORY[next]), true).unwrap();
                next += 1;
            }
        }
    };
    sim.flush(&mut drive);
    sim.net.profile.loss_permille = 0;
    sim.run_for(secs(300), &mut drive);
}
