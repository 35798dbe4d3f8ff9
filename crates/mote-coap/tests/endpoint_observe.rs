//! The endpoint's Observe components (RFC 7641; RFC 8323 §7): the server's bounded observer
//! registry and the client's observations. Expected values are taken from the RFC text (cited at
//! each test), not computed by the code under test. Time is simulated.

#![cfg(feature = "alloc")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use core::time::Duration;

use mote_coap::code::{Code, MessageType};
use mote_coap::content_format::ContentFormat;
use mote_coap::endpoint::observe::{
    ClientConfig, Delivery, NotificationVerdict, NotifyOptions, ObservationClient,
    ObservationError, ObserveDecision, ObserverHandle, ObserverRegistry, RegistryConfig,
    ResourceKey,
};
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::observe::Transport;
use mote_coap::option::OptionNumber;
use proptest::prelude::*;

const HOUR: u64 = 3600;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A request as bytes: `code`, `token`, an optional Observe value, the path segments of `path`.
fn request(code: Code, token: &[u8], observe: Option<u32>, path: &str) -> Vec<u8> {
    let mut m = OwnedMessage::new(MessageType::Con, code, 0x1000).with_token(token.to_vec());
    if let Some(v) = observe {
        m = m.with_uint_option(OptionNumber::OBSERVE, v);
    }
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        m = m.with_option(OptionNumber::URI_PATH, segment);
    }
    m.to_vec().unwrap()
}

fn get(token: &[u8], observe: Option<u32>, path: &str) -> Vec<u8> {
    request(Code::GET, token, observe, path)
}

/// A response as bytes: `code`, `token`, an optional Observe value and Max-Age.
fn response(code: Code, token: &[u8], observe: Option<u32>, max_age: Option<u32>) -> Vec<u8> {
    let mut m = OwnedMessage::new(MessageType::Non, code, 0x2000).with_token(token.to_vec());
    if let Some(v) = observe {
        m = m.with_uint_option(OptionNumber::OBSERVE, v);
    }
    if let Some(v) = max_age {
        m = m.with_uint_option(OptionNumber::MAX_AGE, v);
    }
    m.to_vec().unwrap()
}

type Registry = ObserverRegistry<&'static str, u32>;

/// Registers `peer`/`token` on `path` over UDP at `now` through a GET with Observe 0.
fn register(
    r: &mut Registry,
    peer: &'static str,
    token: &[u8],
    path: &str,
    now: Duration,
) -> ObserveDecision<u32> {
    let bytes = get(token, Some(0), path);
    r.handle_request(
        &peer,
        &Message::decode(&bytes).unwrap(),
        Transport::Unreliable,
        now,
        || 7,
    )
    .unwrap()
}

fn registered(d: ObserveDecision<u32>) -> (ObserverHandle, u32, bool) {
    match d {
        ObserveDecision::Registered {
            handle,
            sequence,
            replaced,
        } => (handle, sequence, replaced),
        other => panic!("expected a registration, got {other:?}"),
    }
}

fn config(total: usize, per_peer: usize, per_resource: usize) -> RegistryConfig {
    RegistryConfig {
        max_observers: total,
        max_observers_per_peer: per_peer,
        max_observers_per_resource: per_resource,
        ..RegistryConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Server role: registration (RFC 7641 §4.1)

#[test]
fn registration_replacement_and_second_token() {
    // No per-peer rate here: all three notifications go out at once.
    let mut r = Registry::new(RegistryConfig {
        non_interval: None,
        ..RegistryConfig::default()
    });
    let (h1, _, replaced) = registered(register(&mut r, "a", &[1], "/temp", secs(0)));
    assert!(!replaced);
    // §4.1: the same endpoint and token again replaces the entry (same handle, no new entry).
    let (h1b, _, replaced) = registered(register(&mut r, "a", &[1], "/temp", secs(5)));
    assert!(replaced);
    assert_eq!(h1b, h1);
    assert_eq!(r.len(), 1);
    // Another token from the same peer for the same resource is a second observation.
    let (h2, _, replaced) = registered(register(&mut r, "a", &[2], "/temp", secs(6)));
    assert!(!replaced);
    assert_ne!(h2, h1);
    assert_eq!(r.count_for_peer(&"a"), 2);
    // The same token from another peer is another observation too.
    let (h3, _, _) = registered(register(&mut r, "b", &[1], "/temp", secs(7)));
    assert_eq!(r.len(), 3);
    let mut targets: Vec<_> = r
        .notify(&ResourceKey::from_path("/temp"), secs(8))
        .map(|p| (p.handle, p.peer, p.token))
        .collect();
    targets.sort();
    assert_eq!(
        targets,
        vec![(h1, "a", vec![1]), (h2, "a", vec![2]), (h3, "b", vec![1])]
    );
    assert_eq!(r.find(&"a", &[2]), Some(h2));
    assert_eq!(r.peer_and_token(h3), Some((&"b", &[1u8][..])));
}

#[test]
fn requests_that_are_not_registrations_are_plain() {
    let mut r = Registry::new(RegistryConfig::default());
    // No Observe option, an Observe value other than 0/1 (RFC 7641 §2), a POST with Observe 0.
    for bytes in [
        get(&[1], None, "/temp"),
        get(&[1], Some(5), "/temp"),
        request(Code::POST, &[1], Some(0), "/temp"),
    ] {
        let d = r
            .handle_request(
                &"a",
                &Message::decode(&bytes).unwrap(),
                Transport::Unreliable,
                secs(0),
                || 0,
            )
            .unwrap();
        assert_eq!(d, ObserveDecision::Plain);
    }
    assert!(r.is_empty());
    // FETCH with Observe 0 registers (RFC 8132 §2.4).
    let bytes = request(Code::FETCH, &[1], Some(0), "/temp");
    let d = r
        .handle_request(
            &"a",
            &Message::decode(&bytes).unwrap(),
            Transport::Unreliable,
            secs(0),
            || 0,
        )
        .unwrap();
    assert!(matches!(d, ObserveDecision::Registered { .. }));
}

#[test]
fn resource_key_covers_path_query_and_accept() {
    let bytes = OwnedMessage::new(MessageType::Con, Code::GET, 1)
        .with_token([9])
        .with_uint_option(OptionNumber::OBSERVE, 0)
        .with_option(OptionNumber::URI_PATH, "sensors")
        .with_option(OptionNumber::URI_PATH, "temp")
        .with_option(OptionNumber::URI_QUERY, "unit=C")
        .with_uint_option(OptionNumber::ACCEPT, 60)
        .to_vec()
        .unwrap();
    let key = ResourceKey::from_request(&Message::decode(&bytes).unwrap()).unwrap();
    assert_eq!(
        key,
        ResourceKey::from_path("/sensors/temp")
            .with_query("unit=C")
            .with_accept(ContentFormat(60))
    );
    let mut r = Registry::new(RegistryConfig::default());
    registered(
        r.handle_request(
            &"a",
            &Message::decode(&bytes).unwrap(),
            Transport::Unreliable,
            secs(0),
            || 1,
        )
        .unwrap(),
    );
    registered(register(&mut r, "b", &[1], "/sensors/temp", secs(0)));
    // Exact key: only the plain registration; by path: both.
    assert_eq!(
        r.notify(&ResourceKey::from_path("/sensors/temp"), secs(1))
            .count(),
        1
    );
    let by_path = r.notify_where(
        |k, _| k.has_path("/sensors/temp"),
        secs(2),
        NotifyOptions::default(),
    );
    assert_eq!(by_path.count(), 2);
}

// ---------------------------------------------------------------------------------------------
// Server role: bounds (a flood fills each and it holds)

#[test]
fn total_bound_holds_under_flood() {
    let mut r = Registry::new(config(4, 100, 100));
    let peers: Vec<&'static str> = (0..200)
        .map(|i| &*Box::leak(format!("p{i}").into_boxed_str()))
        .collect();
    let mut accepted = 0;
    for peer in &peers {
        match register(&mut r, peer, &[1], "/temp", secs(0)) {
            ObserveDecision::Registered { .. } => accepted += 1,
            ObserveDecision::Refused(e) => {
                assert_eq!(e, ObservationError::TooManyObservers { limit: 4 });
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((accepted, r.len()), (4, 4));
    // §4.1: re-registering an existing entry is a replacement, allowed while full.
    let (_, _, replaced) = registered(register(&mut r, peers[0], &[1], "/temp", secs(1)));
    assert!(replaced);
    assert_eq!(r.len(), 4);
    // A refused client gets no notifications.
    assert!(
        r.notify(&ResourceKey::from_path("/temp"), secs(2))
            .all(|p| peers[..4].contains(&p.peer))
    );
}

#[test]
fn per_peer_bound_holds_under_flood() {
    let mut r = Registry::new(config(100, 3, 100));
    let mut accepted = 0;
    for token in 0u16..500 {
        let path = if token % 2 == 0 { "/a" } else { "/b" };
        match register(&mut r, "greedy", &token.to_be_bytes(), path, secs(0)) {
            ObserveDecision::Registered { .. } => accepted += 1,
            ObserveDecision::Refused(e) => {
                assert_eq!(e, ObservationError::TooManyObserversForPeer { limit: 3 });
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(accepted, 3);
    assert_eq!(r.count_for_peer(&"greedy"), 3);
    // Another peer is not affected.
    registered(register(&mut r, "other", &[1], "/a", secs(0)));
}

#[test]
fn per_resource_bound_holds_under_flood() {
    let mut r = Registry::new(config(100, 100, 2));
    for token in 0u8..50 {
        let d = register(&mut r, "a", &[token], "/hot", secs(0));
        if token < 2 {
            registered(d);
        } else {
            assert_eq!(
                d,
                ObserveDecision::Refused(ObservationError::TooManyObserversForResource {
                    limit: 2
                })
            );
        }
    }
    assert_eq!(r.count_for_resource(&ResourceKey::from_path("/hot")), 2);
    registered(register(&mut r, "a", &[0xEE], "/cold", secs(0)));
}

#[test]
fn token_longer_than_bound_is_refused() {
    let mut r = Registry::new(RegistryConfig {
        max_token_len: 4,
        ..RegistryConfig::default()
    });
    let e = r
        .register(
            &"a",
            &[0; 5],
            ResourceKey::from_path("/t"),
            Transport::Unreliable,
            secs(0),
            || 0,
        )
        .unwrap_err();
    assert_eq!(e, ObservationError::TokenTooLong { len: 5, limit: 4 });
    assert!(r.is_empty());
    // RFC 8974 extended tokens when configured.
    let mut r = Registry::new(RegistryConfig {
        max_token_len: 300,
        ..RegistryConfig::default()
    });
    r.register(
        &"a",
        &[7; 300],
        ResourceKey::from_path("/t"),
        Transport::Unreliable,
        secs(0),
        || 0,
    )
    .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Server role: sequence numbers (RFC 7641 §4.4)

#[test]
fn sequence_numbers_increase_per_notification() {
    let mut r = Registry::new(RegistryConfig::default());
    let key = ResourceKey::from_path("/temp");
    let (h, first, _) = registered(register(&mut r, "a", &[1], "/temp", secs(0)));
    assert_eq!(first, 0);
    let seqs: Vec<u32> = (1..=3)
        .map(|i| r.notify(&key, secs(i)).next().unwrap().sequence.unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
    // Re-registration: the response's value continues past the notifications already sent,
    // so the client (which keeps its §3.4 state for the token) accepts it.
    let (h2, again, _) = registered(register(&mut r, "a", &[1], "/temp", secs(10)));
    assert_eq!((h2, again), (h, 4));
    assert_eq!(r.notify(&key, secs(11)).next().unwrap().sequence, Some(5));
}

#[test]
fn sequence_numbers_wrap_at_24_bits() {
    let mut r = Registry::new(RegistryConfig {
        first_sequence: 0xFF_FFFE,
        ..RegistryConfig::default()
    });
    let key = ResourceKey::from_path("/temp");
    let (_, first, _) = registered(register(&mut r, "a", &[1], "/temp", secs(0)));
    let seqs: Vec<u32> = (1..=3)
        .map(|i| r.notify(&key, secs(i)).next().unwrap().sequence.unwrap())
        .collect();
    // 2^24 - 2, 2^24 - 1, then 0 and 1: the 24 least significant bits (§4.4).
    assert_eq!(first, 0xFF_FFFE);
    assert_eq!(seqs, [0xFF_FFFF, 0, 1]);
}

// ---------------------------------------------------------------------------------------------
// Server role: message types (RFC 7641 §4.5, §4.5.2; RFC 8323 §7.2)

/// Plans one notification to the single observer, reports it sent with `mid` and, if it is
/// Confirmable, acknowledged.
fn notify_acked(
    r: &mut Registry,
    key: &ResourceKey,
    now: Duration,
    mid: u16,
    opts: NotifyOptions,
) -> Delivery {
    let plan = r.notify_with(key, now, opts).next().unwrap();
    assert!(r.on_sent(plan.handle, mid));
    if plan.delivery.is_confirmable() {
        assert_eq!(r.on_ack(&plan.peer, mid), Some(plan.handle));
    }
    plan.delivery
}

#[test]
fn confirmable_at_least_every_24_hours() {
    let mut r = Registry::new(RegistryConfig::default());
    let key = ResourceKey::from_path("/temp");
    registered(register(&mut r, "a", &[1], "/temp", secs(0)));
    const NON: Delivery = Delivery::NonConfirmable;
    const CON: Delivery = Delivery::Confirmable { supersedes: None };
    // Times since registration (seconds) and the type RFC 7641 §4.5 asks for: NON normally,
    // CON once 24 h passed since the last CON (or the registration).
    let table: [(u64, Delivery); 10] = [
        (HOUR, NON),
        (12 * HOUR, NON),
        (24 * HOUR - 1, NON),
        (24 * HOUR, CON),
        (24 * HOUR + 1, NON),
        (30 * HOUR, NON),
        (48 * HOUR - 1, NON),
        (48 * HOUR, CON),
        (71 * HOUR, NON),
        (100 * HOUR, CON),
    ];
    for (i, (t, expected)) in table.into_iter().enumerate() {
        let got = notify_acked(&mut r, &key, secs(t), i as u16, NotifyOptions::default());
        assert_eq!(got, expected, "at t = {t} s");
    }
}

/// Finding 5: every `confirmable_every`-th notification is Confirmable, counted from the
/// last Confirmable one (whatever made it Confirmable) or the registration.
#[test]
fn every_nth_notification_is_confirmable() {
    let mut r = Registry::new(RegistryConfig {
        confirmable_every: 3,
        ..RegistryConfig::default()
    });
    let key = ResourceKey::from_path("/temp");
    registered(register(&mut r, "a", &[1], "/temp", secs(0)));
    const NON: Delivery = Delivery::NonConfirmable;
    const CON: Delivery = Delivery::Confirmable { supersedes: None };
    let asked = NotifyOptions {
        confirmable: true,
        ..NotifyOptions::default()
    };
    // (asked Confirmable, expected)
    let table = [
        (false, NON),
        (false, NON),
        (false, CON),
        (false, NON),
        (true, CON), // asked: restarts the count
        (false, NON),
        (false, NON),
        (false, CON),
        (false, NON),
    ];
    for (i, (ask, expected)) in table.into_iter().enumerate() {
        let opts = if ask { asked } else { NotifyOptions::default() };
        let got = notify_acked(&mut r, &key, secs(i as u64 + 1), i as u16, opts);
        assert_eq!(got, expected, "notification {}", i + 1);
    }
    // 0: only the 24-hour rule.
    let mut r = Registry::new(RegistryConfig {
        confirmable_every: 0,
        ..RegistryConfig::default()
    });
    registered(register(&mut r, "a", &[1], "/temp", secs(0)));
    for i in 0..100u16 {
        let got = notify_acked(
            &mut r,
            &key,
            secs(u64::from(i) + 1),
            i,
            NotifyOptions::default(),
        );
        assert_eq!(got, NON, "notification {}", i + 1);
    }
}

#[test]
fn application_asked_confirmable_restarts_the_24_hours() {
    let mut r = Registry::new(RegistryConfig::default());
    let key = ResourceKey::from_path("/temp");
    registered(register(&mut r, "a", &[1], "/temp", secs(0)));
    let con = NotifyOptions {
        confirmable: true,
        ..NotifyOptions::default()
    };
    assert_eq!(
        notify_acked(&mut r, &key, secs(10 * HOUR), 1, con),
        Delivery::Confirmable { supersedes: None }
    );
    let d = NotifyOptions::default();
    assert_eq!(
        notify_acked(&mut r, &key, secs(34 * HOUR - 1), 2, d),
        Delivery::NonConfirmable
    );
    assert_eq!(
        notify_acked(&mut r, &key, secs(34 * HOUR), 3, d),
        Delivery::Confirmable { supersedes: None }
    );
}

#[test]
fn reregistration_does_not_postpone_the_daily_confirmable() {
    // RFC 7641 §4.5 asks for a Confirmable *notification* at least every 24 h; a client's
    // re-registration at 20 h is not one.
    let mut r = Registry::new(RegistryConfig::default());
    let key = ResourceKey::from_path("/temp");
    registered(register(&mut r, "a", &[1], "/temp", secs(0)));
    registered(register(&mut r, "a", &[1], "/temp", secs(20 * HOUR)));
    let d = NotifyOptions::default();
    assert_eq!(
        notify_acked(&mut r, &key, secs(23 * HOUR), 1, d),
        Delivery::NonConfirmable
    );
    assert_eq!(
        notify_acked(&mut r, &key, secs(24 * HOUR), 2, d),
        Delivery::Confirmable { supersedes: None }
    );
}

#[test]
fn non_confirmable_rate_is_limited_per_peer() {
    // RFC 7641 §4.5.1: without an RTT estimate, at most one NON notification every 3 s to a
    // client; what comes in between is deferred, only the latest state kept (§4.5.2).
    let mut r = Registry::new(RegistryConfig {
        non_interval: Some(secs(3)),
        ..RegistryConfig::default()
    });
    let (x, y) = (ResourceKey::from_path("/x"), ResourceKey::from_path("/y"));
    let (a1, _, _) = registered(register(&mut r, "a", &[1], "/x", secs(0)));
    let (a2, _, _) = registered(register(&mut r, "a", &[2], "/y", secs(0)));
    let (b1, _, _) = registered(register(&mut r, "b", &[1], "/x", secs(0)));
    let first: Vec<_> = r.notify(&x, secs(0)).collect();
    assert_eq!(first.iter().map(|p| p.handle).collect::<Vec<_>>(), [a1, b1]);
    assert!(first.iter().all(|p| p.delivery == Delivery::NonConfirmable));
    assert_eq!(r.poll_timeout(), None);
    // 1 s and 2 s later: too early for both peers; /y shares peer a's budget.
    assert_eq!(r.notify(&x, secs(1)).count(), 0);
    assert_eq!(r.notify(&x, secs(2)).count(), 0);
    assert_eq!(r.notify(&y, secs(2)).count(), 0);
    assert!(r.is_deferred(a1) && r.is_deferred(a2) && r.is_deferred(b1));
    assert_eq!(r.poll_timeout(), Some(secs(3)));
    assert_eq!(r.poll_deferred(Duration::from_millis(2999)).count(), 0);
    // At 3 s: one notification per peer (the latest state), a's second one 3 s later.
    let due: Vec<_> = r.poll_deferred(secs(3)).collect();
    assert_eq!(due.iter().map(|p| p.handle).collect::<Vec<_>>(), [a1, b1]);
    assert!(due[0].sequence.unwrap() > first[0].sequence.unwrap());
    assert!(r.is_deferred(a2) && !r.is_deferred(a1));
    assert_eq!(r.poll_timeout(), Some(secs(6)));
    assert_eq!(r.poll_deferred(secs(5)).count(), 0);
    let due: Vec<_> = r.poll_deferred(secs(6)).collect();
    assert_eq!(due.iter().map(|p| p.handle).collect::<Vec<_>>(), [a2]);
    assert_eq!(r.poll_timeout(), None);
    // At 6.5 s peer a (NON at 6 s) waits, peer b (NON at 3 s) does not.
    let now = Duration::from_millis(6500);
    assert_eq!(
        r.notify(&x, now).map(|p| p.handle).collect::<Vec<_>>(),
        [b1]
    );
    assert!(r.is_deferred(a1));
    // A Confirmable notification is paced by the retransmission back-off, not by this limit,
    // and it carries the latest state: nothing stays deferred.
    let con = NotifyOptions {
        confirmable: true,
        ..NotifyOptions::default()
    };
    let plans: Vec<_> = r.notify_with(&x, secs(7), con).collect();
    assert_eq!(plans.iter().map(|p| p.handle).collect::<Vec<_>>(), [a1, b1]);
    assert!(
        plans
            .iter()
            .all(|p| p.delivery == Delivery::Confirmable { supersedes: None })
    );
    assert!(!r.is_deferred(a1));
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn reliable_transport_is_never_confirmable() {
    let mut r = Registry::new(RegistryConfig::default());
    let key = ResourceKey::from_path("/temp");
    r.register(
        &"tcp",
        &[1],
        key.clone(),
        Transport::Reliable,
        secs(0),
        || 0,
    )
    .unwrap();
    let con = NotifyOptions {
        confirmable: true,
        ..NotifyOptions::default()
    };
    for (t, opts) in [
        (HOUR, NotifyOptions::default()),
        (25 * HOUR, NotifyOptions::default()),
        (26 * HOUR, con),
    ] {
        let plan = r.notify_with(&key, secs(t), opts).next().unwrap();
        assert_eq!(plan.delivery, Delivery::Reliable);
        assert_eq!(plan.delivery.message_type(), None);
    }
}

#[test]
fn newer_notification_supersedes_outstanding_confirmable() {
    let mut r = Registry::new(RegistryConfig::default());
    let key = ResourceKey::from_path("/temp");
    let (h, _, _) = registered(register(&mut r, "a", &[1], "/temp", secs(0)));
    let con = NotifyOptions {
        confirmable: true,
        ..NotifyOptions::default()
    };
    let p1 = r.notify_with(&key, secs(1), con).next().unwrap();
    assert_eq!(p1.delivery, Delivery::Confirmable { supersedes: None });
    r.on_sent(h, 100);
    assert_eq!(r.outstanding(h), Some(100));
    // §4.5.2: a new state while 100 is unacknowledged: one message replaces it, Confirmable.
    let p2 = r.notify(&key, secs(2)).next().unwrap();
    assert_eq!(
        p2.delivery,
        Delivery::Confirmable {
            supersedes: Some(100)
        }
    );
    assert!(p2.sequence > p1.sequence);
    r.on_sent(h, 101);
    assert_eq!(r.outstanding(h), Some(101));
    // A late ACK of the superseded message is recognized but does not end the new one.
    assert_eq!(r.on_ack(&"a", 100), Some(h));
    assert_eq!(r.outstanding(h), Some(101));
    assert_eq!(r.on_ack(&"a", 101), Some(h));
    assert_eq!(r.outstanding(h), None);
    // Nothing outstanding, not yet 24 h: back to NON.
    assert_eq!(
        r.notify(&key, secs(3)).next().unwrap().delivery,
        Delivery::NonConfirmable
    );
}

// ---------------------------------------------------------------------------------------------
// Server role: removal (RFC 7641 §3.6, §4.2, §4.5; RFC 8323 §7.4)

#[test]
fn reset_to_a_notification_removes_the_observer() {
    let mut r = Registry::new(RegistryConfig::default());
    let key = ResourceKey::from_path("/temp");
    let (h, _, _) = registered(register(&mut r, "a", &[1], "/temp", secs(0)));
    registered(register(&mut r, "b", &[1], "/temp", secs(0)));
    let plans: Vec<_> = r.notify(&key, secs(1)).collect();
    for (mid, p) in (7u16..).zip(&plans) {
        assert_eq!(p.delivery, Delivery::NonConfirmable);
        r.on_sent(p.handle, mid);
    }
    // A Reset from another peer with a's Message ID does nothing.
    let a_mid = 7 + plans.iter().position(|p| p.peer == "a").unwrap() as u16;
    let b_mid = 7 + plans.iter().position(|p| p.peer == "b").unwrap() as u16;
    assert_eq!(r.on_reset(&"b", a_mid), None);
    assert_eq!(r.on_reset(&"a", a_mid), Some((h, 7)));
    assert_eq!(r.len(), 1);
    assert!(r.notify(&key, secs(2)).all(|p| p.peer == "b"));
    // A Reset from a to b's notification does not remove b.
    assert_eq!(r.on_reset(&"a", b_mid), None);
    assert_eq!(r.len(), 1);
}

#[test]
fn reset_to_a_confirmable_notification_removes_the_observer() {
    let mut r = Registry::new(RegistryConfig::default());
    let key = ResourceKey::from_path("/temp");
    let (h, _, _) = registered(register(&mut r, "a", &[1], "/temp", secs(0)));
    let con = NotifyOptions {
        confirmable: true,
        ..NotifyOptions::default()
    };
    r.notify_with(&key, secs(1), con).for_each(drop);
    r.on_sent(h, 55);
    assert_eq!(r.on_reset(&"a", 55), Some((h, 7)));
    assert!(r.is_empty());
}

#[test]
fn confirmable_timeout_removes_the_observer() {
    let mut r = Registry::new(RegistryConfig::default());
    let key = ResourceKey::from_path("/temp");
    let (h, _, _) = registered(register(&mut r, "a", &[1], "/temp", secs(0)));
    // A NON notification cannot time out.
    r.notify(&key, secs(1)).for_each(drop);
    r.on_sent(h, 1);
    assert_eq!(r.on_timeout(&"a", 1), None);
    assert_eq!(r.len(), 1);
    // The 24-hour CON is never acknowledged: MAX_RETRANSMIT reached, observer removed (§4.5).
    let plan = r.notify(&key, secs(24 * HOUR)).next().unwrap();
    assert!(plan.delivery.is_confirmable());
    r.on_sent(h, 2);
    assert_eq!(r.on_timeout(&"a", 2), Some((h, 7)));
    assert!(r.is_empty());
    assert_eq!(r.notify(&key, secs(24 * HOUR + 1)).count(), 0);
}

#[test]
fn observe_1_deregisters() {
    let mut r = Registry::new(RegistryConfig::default());
    let key = ResourceKey::from_path("/temp");
    let (h, _, _) = registered(register(&mut r, "a", &[1], "/temp", secs(0)));
    registered(register(&mut r, "a", &[2], "/temp", secs(0)));
    let bytes = get(&[1], Some(1), "/temp");
    let d = r
        .handle_request(
            &"a",
            &Message::decode(&bytes).unwrap(),
            Transport::Unreliable,
            secs(1),
            || 0,
        )
        .unwrap();
    assert_eq!(
        d,
        ObserveDecision::Deregistered {
            removed: Some((h, 7))
        }
    );
    // Only token 2 is left; deregistering an unknown token removes nothing.
    assert_eq!(
        r.notify(&key, secs(2)).map(|p| p.token).collect::<Vec<_>>(),
        vec![vec![2]]
    );
    let bytes = get(&[3], Some(1), "/temp");
    let d = r
        .handle_request(
            &"a",
            &Message::decode(&bytes).unwrap(),
            Transport::Unreliable,
            secs(3),
            || 0,
        )
        .unwrap();
    assert_eq!(d, ObserveDecision::Deregistered { removed: None });
    assert_eq!(r.len(), 1);
}

#[test]
fn non_success_notification_ends_the_observation() {
    let mut r = Registry::new(RegistryConfig::default());
    let key = ResourceKey::from_path("/temp");
    registered(register(&mut r, "a", &[1], "/temp", secs(0)));
    registered(register(&mut r, "b", &[1], "/temp", secs(0)));
    let plans: Vec<_> = r
        .notify_with(
            &key,
            secs(1),
            NotifyOptions {
                code: Code::NOT_FOUND,
                confirmable: false,
            },
        )
        .collect();
    assert_eq!(plans.len(), 2);
    for p in &plans {
        // §4.2: a non-2.xx notification carries no Observe option and ends the observation.
        assert_eq!((p.code, p.sequence, p.ended), (Code::NOT_FOUND, None, true));
    }
    assert!(r.is_empty());
    assert_eq!(r.notify(&key, secs(2)).count(), 0);
}

#[test]
fn non_success_registration_response_drops_the_entry() {
    let mut r = Registry::new(RegistryConfig::default());
    let (h, _, _) = registered(register(&mut r, "a", &[1], "/temp", secs(0)));
    assert_eq!(r.on_response(h, Code::CONTENT), None);
    assert_eq!(r.len(), 1);
    assert_eq!(r.on_response(h, Code::UNAUTHORIZED), Some(7));
    assert!(r.is_empty());
}

#[test]
fn closed_connection_removes_all_of_the_peer() {
    let mut r = Registry::new(RegistryConfig::default());
    for token in 0u8..3 {
        r.register(
            &"tcp",
            &[token],
            ResourceKey::from_path("/t"),
            Transport::Reliable,
            secs(0),
            || u32::from(token),
        )
        .unwrap();
    }
    registered(register(&mut r, "udp", &[1], "/t", secs(0)));
    let mut gone: Vec<u32> = r.remove_peer(&"tcp").into_iter().map(|(_, d)| d).collect();
    gone.sort_unstable();
    assert_eq!(gone, [0, 1, 2]);
    assert_eq!(r.len(), 1);
    assert_eq!(r.count_for_peer(&"tcp"), 0);
}

#[test]
fn cancel_and_per_registration_data() {
    let mut r = Registry::new(RegistryConfig::default());
    let key = ResourceKey::from_path("/temp");
    let (h1, _, _) = registered(register(&mut r, "a", &[1], "/temp", secs(0)));
    let (h2, _, _) = registered(register(&mut r, "b", &[1], "/temp", secs(0)));
    assert_eq!(r.data(h1), Some(&7));
    *r.data_mut(h2).unwrap() = 99;
    // The application selects by its data (e.g. LwM2M attributes).
    let chosen: Vec<_> = r
        .notify_where(
            |k, d| k == &key && *d == 99,
            secs(1),
            NotifyOptions::default(),
        )
        .map(|p| p.handle)
        .collect();
    assert_eq!(chosen, [h2]);
    assert_eq!(r.cancel(&"b", &[1]), Some((h2, 99)));
    assert_eq!(r.cancel(&"b", &[1]), None);
    assert_eq!(r.remove(h1), Some(7));
    assert!(r.is_empty());
    assert!(
        r.notify_observer(h1, secs(2), NotifyOptions::default())
            .is_none()
    );
}

// ---------------------------------------------------------------------------------------------
// Client role (RFC 7641 §3)

type Client = ObservationClient<&'static str>;

fn start(
    c: &mut Client,
    token: &[u8],
    transport: Transport,
    now: Duration,
) -> mote_coap::endpoint::observe::ObservationHandle {
    let bytes = get(token, Some(0), "/temp");
    c.start_request(&"srv", &Message::decode(&bytes).unwrap(), transport, now)
        .unwrap()
}

fn deliver(c: &mut Client, token: &[u8], value: u32, now: Duration) -> NotificationVerdict {
    let bytes = response(Code::CONTENT, token, Some(value), None);
    c.handle_notification(&"srv", &Message::decode(&bytes).unwrap(), now)
        .unwrap()
}

fn is_fresh(v: NotificationVerdict) -> bool {
    match v {
        NotificationVerdict::Fresh { .. } => true,
        NotificationVerdict::Stale { .. } => false,
        other => panic!("{other:?}"),
    }
}

#[test]
fn client_reorders_out_of_order_delivery() {
    let mut c = Client::new(ClientConfig::default());
    start(&mut c, &[1], Transport::Unreliable, secs(0));
    // Sent 10, 11, 12, 13; delivered 10, 12, 11, 13 (§3.4 rule, all within 128 s).
    let verdicts: Vec<bool> = [(10, 1), (12, 2), (11, 3), (13, 4)]
        .into_iter()
        .map(|(v, t)| is_fresh(deliver(&mut c, &[1], v, secs(t))))
        .collect();
    assert_eq!(verdicts, [true, true, false, true]);
    // Duplicates are not newer either.
    assert!(!is_fresh(deliver(&mut c, &[1], 13, secs(5))));
}

#[test]
fn client_128_second_rule() {
    let mut c = Client::new(ClientConfig::default());
    let h = start(&mut c, &[1], Transport::Unreliable, secs(0));
    assert!(is_fresh(deliver(&mut c, &[1], 100, secs(0))));
    // An older value within 128 s is stale; T2 > T1 + 128 s makes anything newer.
    assert!(!is_fresh(deliver(&mut c, &[1], 50, secs(128))));
    assert!(is_fresh(deliver(&mut c, &[1], 50, Duration::new(128, 1))));
    assert_eq!(c.latest(h).unwrap().value, 50);
}

#[test]
fn client_wraps_at_2_pow_23() {
    let mut c = Client::new(ClientConfig::default());
    start(&mut c, &[1], Transport::Unreliable, secs(0));
    // 0xFF_FFF0 → 5: V1 > V2 and V1 − V2 > 2^23, the counter wrapped: newer.
    assert!(is_fresh(deliver(&mut c, &[1], 0xFF_FFF0, secs(0))));
    assert!(is_fresh(deliver(&mut c, &[1], 5, secs(1))));
    // 5 → 5 + 2^23: distance exactly 2^23 is not "< 2^23": not newer.
    assert!(!is_fresh(deliver(&mut c, &[1], 5 + (1 << 23), secs(2))));
    // 5 → 5 + 2^23 − 1: newer.
    assert!(is_fresh(deliver(&mut c, &[1], 5 + (1 << 23) - 1, secs(3))));
    // Latest is now 0x80_0004. V2 = 4: V1 − V2 = 2^23 exactly, not "> 2^23": old.
    assert!(!is_fresh(deliver(&mut c, &[1], 4, secs(4))));
    // V2 = 3: V1 − V2 = 2^23 + 1 > 2^23: the counter wrapped, newer.
    assert!(is_fresh(deliver(&mut c, &[1], 3, secs(5))));
}

#[test]
fn client_over_reliable_transport_ignores_values() {
    let mut c = Client::new(ClientConfig::default());
    start(&mut c, &[1], Transport::Reliable, secs(0));
    // RFC 8323 §7.1: the value MUST be ignored; every notification is the newest.
    assert!(is_fresh(deliver(&mut c, &[1], 10, secs(0))));
    assert!(is_fresh(deliver(&mut c, &[1], 3, secs(1))));
}

#[test]
fn client_reregisters_after_max_age() {
    let mut c = Client::new(ClientConfig {
        freshness_margin: secs(2),
        reregistration_retry: secs(30),
        ..ClientConfig::default()
    });
    let h = start(&mut c, &[0xAB], Transport::Unreliable, secs(0));
    // Before any notification: the default Max-Age of 60 s (RFC 7252 §5.10.5) plus margin.
    assert_eq!(c.poll_timeout(), Some(secs(62)));
    let bytes = response(Code::CONTENT, &[0xAB], Some(1), Some(30));
    let v = c
        .handle_notification(&"srv", &Message::decode(&bytes).unwrap(), secs(10))
        .unwrap();
    assert_eq!(
        v,
        NotificationVerdict::Fresh {
            handle: h,
            value: 1,
            fresh_until: secs(40)
        }
    );
    assert_eq!(c.is_fresh(h, secs(39)), Some(true));
    assert_eq!(c.is_fresh(h, secs(40)), Some(false));
    assert_eq!(c.poll_timeout(), Some(secs(42)));
    assert!(c.handle_timeout(secs(41)).is_empty());
    assert_eq!(c.handle_timeout(secs(42)), [h]);
    // The re-registration: same token, same options, Observe 0 (§3.3.1).
    let rereg = c.reregistration_request(h, MessageType::Con, 77).unwrap();
    assert_eq!(
        (rereg.code, rereg.message_id, rereg.token.as_slice()),
        (Code::GET, 77, &[0xAB][..])
    );
    assert_eq!(
        rereg.option(OptionNumber::OBSERVE).unwrap().value,
        &[] as &[u8]
    );
    assert_eq!(rereg.option(OptionNumber::URI_PATH).unwrap().value, b"temp");
    // Not asked again before the retry interval.
    assert_eq!(c.poll_timeout(), Some(secs(72)));
    assert!(c.handle_timeout(secs(71)).is_empty());
    // A fresh notification without Max-Age: fresh for 60 s.
    assert!(is_fresh(deliver(&mut c, &[0xAB], 2, secs(50))));
    assert_eq!(c.poll_timeout(), Some(secs(112)));
}

#[test]
fn client_bound_and_token_rules() {
    let mut c = Client::new(ClientConfig {
        max_observations: 3,
        ..ClientConfig::default()
    });
    for token in 0u8..3 {
        start(&mut c, &[token], Transport::Unreliable, secs(0));
    }
    for token in 3u8..100 {
        let bytes = get(&[token], Some(0), "/temp");
        let e = c
            .start_request(
                &"srv",
                &Message::decode(&bytes).unwrap(),
                Transport::Unreliable,
                secs(0),
            )
            .unwrap_err();
        assert_eq!(e, ObservationError::TooManyObservations { limit: 3 });
    }
    assert_eq!(c.len(), 3);
    let mut c = Client::new(ClientConfig::default());
    start(&mut c, &[1], Transport::Unreliable, secs(0));
    let e = c
        .start(&"srv", Code::GET, &[1], [], Transport::Unreliable, secs(0))
        .unwrap_err();
    assert_eq!(e, ObservationError::TokenInUse);
    let e = c
        .start(
            &"srv",
            Code::GET,
            &[0; 9],
            [],
            Transport::Unreliable,
            secs(0),
        )
        .unwrap_err();
    assert_eq!(e, ObservationError::TokenTooLong { len: 9, limit: 8 });
}

#[test]
fn client_cancellation_explicit_and_passive() {
    let mut c = Client::new(ClientConfig::default());
    let h = start(&mut c, &[1], Transport::Unreliable, secs(0));
    assert!(is_fresh(deliver(&mut c, &[1], 4, secs(1))));
    // Explicit (§3.6): GET, same token and options, Observe 1.
    let dereg = c.cancel(h, MessageType::Con, 9).unwrap();
    assert_eq!((dereg.code, dereg.token.as_slice()), (Code::GET, &[1][..]));
    assert_eq!(dereg.option(OptionNumber::OBSERVE).unwrap().value, &[1]);
    assert_eq!(dereg.option(OptionNumber::URI_PATH).unwrap().value, b"temp");
    assert_eq!(
        deliver(&mut c, &[1], 5, secs(2)),
        NotificationVerdict::Unknown
    );
    // Passive: forget, and the next notification is unknown (answered with a Reset).
    let h = start(&mut c, &[2], Transport::Unreliable, secs(3));
    assert!(c.forget(h));
    assert!(!c.forget(h));
    assert_eq!(
        deliver(&mut c, &[2], 5, secs(4)),
        NotificationVerdict::Unknown
    );
    assert!(c.is_empty());
}

#[test]
fn client_ends_on_error_or_missing_observe() {
    let mut c = Client::new(ClientConfig::default());
    let h1 = start(&mut c, &[1], Transport::Unreliable, secs(0));
    let h2 = start(&mut c, &[2], Transport::Unreliable, secs(0));
    // §3.2: a non-2.xx notification ends the observation.
    let bytes = response(Code::NOT_FOUND, &[1], None, None);
    let v = c
        .handle_notification(&"srv", &Message::decode(&bytes).unwrap(), secs(1))
        .unwrap();
    assert_eq!(
        v,
        NotificationVerdict::Ended {
            handle: h1,
            code: Code::NOT_FOUND
        }
    );
    // A 2.05 without Observe: the server did not add the client (§3.1, §4.1).
    let bytes = response(Code::CONTENT, &[2], None, None);
    let v = c
        .handle_notification(&"srv", &Message::decode(&bytes).unwrap(), secs(1))
        .unwrap();
    assert_eq!(
        v,
        NotificationVerdict::Ended {
            handle: h2,
            code: Code::CONTENT
        }
    );
    assert!(c.is_empty());
    // A non-2.xx response ends it even if it (wrongly) carries an Observe option.
    let h3 = start(&mut c, &[3], Transport::Unreliable, secs(2));
    assert!(is_fresh(deliver(&mut c, &[3], 1, secs(2))));
    let bytes = response(Code::SERVICE_UNAVAILABLE, &[3], Some(2), None);
    let v = c
        .handle_notification(&"srv", &Message::decode(&bytes).unwrap(), secs(3))
        .unwrap();
    assert_eq!(
        v,
        NotificationVerdict::Ended {
            handle: h3,
            code: Code::SERVICE_UNAVAILABLE
        }
    );
    assert!(c.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Server and client together

#[test]
fn registry_values_pass_the_client_filter_across_the_wrap() {
    let mut r = Registry::new(RegistryConfig {
        first_sequence: 0xFF_FFFD,
        ..RegistryConfig::default()
    });
    let mut c = Client::new(ClientConfig::default());
    let key = ResourceKey::from_path("/temp");
    let bytes = get(&[1], Some(0), "/temp");
    let req = Message::decode(&bytes).unwrap();
    let (_, first, _) = registered(
        r.handle_request(&"cli", &req, Transport::Unreliable, secs(0), || 0)
            .unwrap(),
    );
    c.start_request(&"srv", &req, Transport::Unreliable, secs(0))
        .unwrap();
    assert!(is_fresh(deliver(&mut c, &[1], first, secs(0))));
    let values: Vec<u32> = (1..=5)
        .map(|t| r.notify(&key, secs(t)).next().unwrap().sequence.unwrap())
        .collect();
    // Delivered in order, each is newer; delivered again in reverse, none is.
    for (t, v) in (1..).zip(&values) {
        assert!(is_fresh(deliver(&mut c, &[1], *v, secs(t))), "value {v:#x}");
    }
    for v in values.iter().rev() {
        assert!(
            !is_fresh(deliver(&mut c, &[1], *v, secs(10))),
            "value {v:#x}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// RFC 7641 §3.4: whatever the delivery order of notifications sent with consecutive
    /// sequence numbers (starting anywhere, possibly wrapping past 2^24) and delivered within
    /// 128 s, the notifications the client accepts are in strictly increasing send order, and
    /// the last one sent is always accepted.
    #[test]
    fn client_accepts_strictly_increasing(
        start_value in 0u32..(1 << 24),
        order in (1usize..48).prop_flat_map(|n| Just((0..n).collect::<Vec<_>>()).prop_shuffle()),
    ) {
        let mut c = Client::new(ClientConfig::default());
        start(&mut c, &[1], Transport::Unreliable, secs(0));
        let n = order.len();
        let mut accepted = Vec::new();
        for (t, &index) in order.iter().enumerate() {
            let value = (start_value + index as u32) & 0xFF_FFFF;
            // One delivery per second: at most 47 s in all.
            if is_fresh(deliver(&mut c, &[1], value, secs(t as u64))) {
                accepted.push(index);
            }
        }
        prop_assert!(accepted.windows(2).all(|w| w[0] < w[1]), "accepted {:?}", accepted);
        prop_assert_eq!(accepted.first(), order.first());
        prop_assert_eq!(accepted.last(), Some(&(n - 1)));
    }
}

/// RFC 7641 §3.4 for two notifications received at the same time: V2 is newer than V1 iff
/// (V1 < V2 and V2 − V1 < 2^23) or (V1 > V2 and V1 − V2 > 2^23).
fn newer_by_rfc(v1: u32, v2: u32) -> bool {
    (v1 < v2 && v2 - v1 < 1 << 23) || (v1 > v2 && v1 - v2 > 1 << 23)
}

/// One step a peer or the application takes against the registry.
#[derive(Debug, Clone)]
enum Op {
    Register { peer: u8, token: u8, path: u8 },
    Deregister { peer: u8, token: u8 },
    Notify { path: u8, confirmable: bool },
    Ack { peer: u8, mid: u16 },
    Reset { peer: u8, mid: u16 },
    Timeout { peer: u8, mid: u16 },
    ClosePeer { peer: u8 },
    Wait { secs: u32 },
    Poll,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..6, 0u8..6, 0u8..3).prop_map(|(peer, token, path)| Op::Register { peer, token, path }),
        1 => (0u8..6, 0u8..6).prop_map(|(peer, token)| Op::Deregister { peer, token }),
        4 => (0u8..3, any::<bool>()).prop_map(|(path, confirmable)| Op::Notify { path, confirmable }),
        2 => (0u8..6, 0u16..64).prop_map(|(peer, mid)| Op::Ack { peer, mid }),
        1 => (0u8..6, 0u16..64).prop_map(|(peer, mid)| Op::Reset { peer, mid }),
        1 => (0u8..6, 0u16..64).prop_map(|(peer, mid)| Op::Timeout { peer, mid }),
        1 => (0u8..6).prop_map(|peer| Op::ClosePeer { peer }),
        2 => (0u32..(100 * 3600)).prop_map(|secs| Op::Wait { secs }),
        2 => (0u32..5).prop_map(|secs| Op::Wait { secs }),
        2 => Just(Op::Poll),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Under any sequence of registrations, notifications, ACKs, Resets, timeouts and closed
    /// connections: the three bounds hold, every observer's Observe values are newer than its
    /// previous one by RFC 7641 §3.4 (from any starting value, so across the 2^24 wrap), a
    /// notification planned while a Confirmable one is outstanding supersedes exactly that one
    /// (§4.5.2), no observer goes more than 24 h without a Confirmable one (§4.5), and with the
    /// rate limit on, no peer gets two Non-confirmable notifications within 3 s (§4.5.1).
    #[test]
    fn registry_invariants_under_any_operations(
        first_sequence in prop_oneof![0u32..(1 << 24), (0xFF_FF00u32..=0xFF_FFFF)],
        rate_limited: bool,
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        use std::collections::BTreeMap;
        let cfg = RegistryConfig { max_observers: 7, max_observers_per_peer: 3, max_observers_per_resource: 5, first_sequence,
            non_interval: rate_limited.then_some(Duration::from_secs(3)), ..RegistryConfig::default() };
        let mut r = ObserverRegistry::<u8, ()>::new(cfg);
        let paths = ["/a", "/b", "/c"];
        let mut now = Duration::ZERO;
        let mut mid: u16 = 0;
        // Per observer: last Observe value and when it last got a CON (or registered).
        let mut last_value: BTreeMap<ObserverHandle, u32> = BTreeMap::new();
        let mut last_con: BTreeMap<ObserverHandle, Duration> = BTreeMap::new();
        let mut last_non: BTreeMap<u8, Duration> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Register { peer, token, path } => {
                    let key = ResourceKey::from_path(paths[usize::from(path)]);
                    if let Ok((h, seq, _)) = r.register(&peer, &[token], key, Transport::Unreliable, now, || ()) {
                        if let Some(prev) = last_value.get(&h) {
                            prop_assert!(newer_by_rfc(*prev, seq), "{:#x} after {:#x}", seq, prev);
                        }
                        last_value.insert(h, seq);
                        last_con.insert(h, now);
                    }
                }
                Op::Deregister { peer, token } => { r.cancel(&peer, &[token]); }
                Op::Notify { .. } | Op::Poll => {
                    let before: BTreeMap<ObserverHandle, Option<u16>> =
                        r.handles().map(|h| (h, r.outstanding(h))).collect();
                    let (plans, confirmable): (Vec<_>, bool) = match op {
                        Op::Notify { path, confirmable } => {
                            let key = ResourceKey::from_path(paths[usize::from(path)]);
                            let opts = NotifyOptions { confirmable, ..NotifyOptions::default() };
                            (r.notify_with(&key, now, opts).collect(), confirmable)
                        }
                        _ => (r.poll_deferred(now).collect(), false),
                    };
                    for plan in plans {
                        if plan.delivery == Delivery::NonConfirmable && rate_limited {
                            // RFC 7641 §4.5.1: one NON per 3 s and peer.
                            if let Some(last) = last_non.insert(plan.peer, now) {
                                prop_assert!(now >= last + Duration::from_secs(3), "NON at {:?} after {:?}", now, last);
                            }
                        }
                        if let Some(old) = before[&plan.handle] {
                            prop_assert_eq!(plan.delivery, Delivery::Confirmable { supersedes: Some(old) });
                        }
                        let seq = plan.sequence.unwrap();
                        prop_assert!(seq <= 0xFF_FFFF);
                        let prev = last_value.insert(plan.handle, seq).unwrap();
                        prop_assert!(newer_by_rfc(prev, seq), "{:#x} after {:#x}", seq, prev);
                        let con_due = now >= last_con[&plan.handle] + Duration::from_secs(24 * 3600);
                        if con_due || confirmable {
                            prop_assert!(plan.delivery.is_confirmable());
                        }
                        if plan.delivery.is_confirmable() {
                            last_con.insert(plan.handle, now);
                        }
                        r.on_sent(plan.handle, mid);
                        mid = (mid + 1) % 64;
                    }
                }
                Op::Ack { peer, mid } => { r.on_ack(&peer, mid); }
                Op::Reset { peer, mid } => { r.on_reset(&peer, mid); }
                Op::Timeout { peer, mid } => { r.on_timeout(&peer, mid); }
                Op::ClosePeer { peer } => { r.remove_peer(&peer); }
                Op::Wait { secs } => now += Duration::from_secs(u64::from(secs)),
            }
            prop_assert!(r.len() <= 7);
            for peer in 0u8..6 {
                prop_assert!(r.count_for_peer(&peer) <= 3);
            }
            for path in paths {
                prop_assert!(r.count_for_resource(&ResourceKey::from_path(path)) <= 5);
            }
        }
    }
}
