//! The Registration Interface and client-initiated bootstrap (LwM2M TS 1.2 Core §6.2,
//! §6.1; Transport §6.3, §6.4.1) on a simulated clock with a scripted server answering the
//! emitted requests. The expected request times of the tables are worked out by hand from
//! the retry algorithm of Core §6.2.1.1 (attempt n fails → wait Retry Timer × 2^(n−1); a
//! failed sequence → wait Sequence Delay Timer), not computed by the code under test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use mote_access::ShortServerId;
use mote_coap::code::Code;
use mote_coap::option::OptionNumber;
use mote_lwm2m::Value;
use mote_lwm2m_client::Client;
use mote_lwm2m_client::registration::{
    BootstrapState, Event, Operation, Outgoing, Peer, Registrar, RegistrationConfig,
    RegistrationState,
};

const A: ShortServerId = ShortServerId(101);
const B: ShortServerId = ShortServerId(102);

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn set(c: &mut Client, path: &str, v: Value) {
    c.bootstrap_write(&p(path), &[rec(path, v)]).unwrap();
}

/// What the scripted server does with one request.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Answer {
    /// 2.01 (Register, with a Location-Path), 2.04 (Update, Bootstrap-Request), 2.02.
    Ok,
    /// No answer: the transport reports a timeout.
    Timeout,
    /// An error code.
    Error(Code),
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    at: u64,
    out: Outgoing,
}

/// Drives `reg` until `until` (seconds): each emitted request is answered at once by
/// `script(request, how many of this peer's requests came before)`; the clock jumps to
/// the next timer.
fn run(
    reg: &mut Registrar,
    c: &mut Client,
    from: u64,
    until: u64,
    seen: &mut Vec<Seen>,
    events: &mut Vec<(u64, Event)>,
    script: &mut dyn FnMut(&Outgoing, usize) -> Answer,
) {
    let mut now = s(from);
    loop {
        reg.handle_timeout(c, now);
        while let Some(out) = reg.poll_transmit() {
            let n = seen.iter().filter(|x| x.out.peer == out.peer).count();
            let answer = script(&out, n);
            seen.push(Seen {
                at: now.as_secs(),
                out: out.clone(),
            });
            let loc: [(OptionNumber, &[u8]); 2] = [
                (OptionNumber::LOCATION_PATH, b"rd"),
                (OptionNumber::LOCATION_PATH, b"ab12"),
            ];
            match answer {
                Answer::Ok => {
                    let code = match out.operation {
                        Operation::Register => Code::CREATED,
                        Operation::Deregister => Code::DELETED,
                        _ => Code::CHANGED,
                    };
                    reg.on_response(c, out.handle, code, &loc, &[], now);
                }
                Answer::Timeout => reg.on_failure(c, out.handle, now),
                Answer::Error(code) => reg.on_response(c, out.handle, code, &[], &[], now),
            }
        }
        while let Some(e) = reg.poll_event() {
            events.push((now.as_secs(), e));
        }
        match reg.poll_timeout() {
            Some(t) if t <= s(until) => now = t.max(now),
            _ => break,
        }
    }
}

/// [`run`] with a server that accepts every request.
fn run_ok(
    reg: &mut Registrar,
    c: &mut Client,
    from: u64,
    until: u64,
    seen: &mut Vec<Seen>,
    events: &mut Vec<(u64, Event)>,
) {
    run(reg, c, from, until, seen, events, &mut |_, _| OK);
}

fn times(seen: &[Seen], peer: Peer, op: Operation) -> Vec<u64> {
    seen.iter()
        .filter(|x| x.out.peer == peer && x.out.operation == op)
        .map(|x| x.at)
        .collect()
}

fn query(out: &Outgoing) -> Vec<String> {
    out.request.uri_query.clone()
}

/// /1 timing resources for 101 (/1/0) and 102 (/1/1).
#[derive(Default, Clone, Copy)]
struct Timing {
    priority: Option<i64>,
    initial_delay: Option<i64>,
    block: Option<bool>,
    bootstrap_on_failure: Option<bool>,
    retry_count: Option<i64>,
    retry_timer: Option<i64>,
    sequence_delay: Option<i64>,
    sequence_retry_count: Option<i64>,
}

fn configure(c: &mut Client, instance: u16, t: Timing) {
    let base = format!("/1/{instance}");
    let int_res = [
        (13, t.priority),
        (14, t.initial_delay),
        (17, t.retry_count),
        (18, t.retry_timer),
        (19, t.sequence_delay),
        (20, t.sequence_retry_count),
    ];
    for (r, v) in int_res {
        if let Some(v) = v {
            set(c, &format!("{base}/{r}"), int(v));
        }
    }
    for (r, v) in [(15, t.block), (16, t.bootstrap_on_failure)] {
        if let Some(v) = v {
            set(c, &format!("{base}/{r}"), Value::Boolean(v));
        }
    }
}

struct Row {
    name: &'static str,
    a: Timing,
    b: Timing,
    /// 101 answers Register attempts with these (then Ok); `None`: 102 never answers.
    a_answers: &'static [Answer],
    b_answers: &'static [Answer],
    hold_off: Option<i64>,
    until: u64,
    expect_a: &'static [u64],
    expect_b: &'static [u64],
    expect_bootstrap: &'static [u64],
}

const T: Answer = Answer::Timeout;
const OK: Answer = Answer::Ok;

#[test]
fn registration_timing_table() {
    let rows = [
        Row {
            // Unordered: both start at once after their Initial Registration Delay; 101's
            // sequence 10 s, 20 s back-off; sequence 2 after 100 s; exhausted → bootstrap
            // (Bootstrap on Registration Failure defaults to true).
            name: "unordered, retries and sequences, bootstrap on failure",
            a: Timing {
                initial_delay: Some(5),
                retry_count: Some(3),
                retry_timer: Some(10),
                sequence_delay: Some(100),
                sequence_retry_count: Some(2),
                ..Timing::default()
            },
            b: Timing {
                initial_delay: Some(2),
                ..Timing::default()
            },
            a_answers: &[T, T, T, T, T, T],
            b_answers: &[OK],
            hold_off: None,
            until: 400,
            expect_a: &[5, 15, 35, 135, 145, 165],
            expect_b: &[2],
            expect_bootstrap: &[165],
        },
        Row {
            // Ordered, 101 first and blocking: 102 waits until 101 is registered
            // (LightweightM2M-BsR-005, MaU-4 lag mode).
            name: "ordered, blocking first server registers on its third attempt",
            a: Timing {
                priority: Some(1),
                block: Some(true),
                retry_count: Some(3),
                retry_timer: Some(10),
                ..Timing::default()
            },
            b: Timing {
                priority: Some(2),
                initial_delay: Some(4),
                ..Timing::default()
            },
            a_answers: &[T, T, OK],
            b_answers: &[OK],
            hold_off: None,
            until: 100,
            expect_a: &[0, 10, 30],
            expect_b: &[34],
            expect_bootstrap: &[],
        },
        Row {
            // Ordered, 101 non-blocking: it hands over after its first sequence (at 10), 102
            // starts after its own delay (17); 101 goes on alone with sequence 2 (60, 70)
            // and fails without bootstrapping (/1/0/16 false).
            name: "ordered, non-blocking first server hands over after one sequence",
            a: Timing {
                priority: Some(1),
                block: Some(false),
                bootstrap_on_failure: Some(false),
                retry_count: Some(2),
                retry_timer: Some(10),
                sequence_delay: Some(50),
                sequence_retry_count: Some(2),
                ..Timing::default()
            },
            b: Timing {
                priority: Some(2),
                initial_delay: Some(7),
                ..Timing::default()
            },
            a_answers: &[T, T, T, T],
            b_answers: &[OK],
            hold_off: None,
            until: 500,
            expect_a: &[0, 10, 60, 70],
            expect_b: &[17],
            expect_bootstrap: &[],
        },
        Row {
            // Ordered, 101 blocking without bootstrap: 102 never gets its turn.
            name: "ordered, blocking failure blocks the next server",
            a: Timing {
                priority: Some(1),
                block: Some(true),
                bootstrap_on_failure: Some(false),
                retry_count: Some(2),
                retry_timer: Some(10),
                sequence_delay: Some(50),
                sequence_retry_count: Some(2),
                ..Timing::default()
            },
            b: Timing {
                priority: Some(2),
                ..Timing::default()
            },
            a_answers: &[T, T, T, T],
            b_answers: &[OK],
            hold_off: None,
            until: 1000,
            expect_a: &[0, 10, 60, 70],
            expect_b: &[],
            expect_bootstrap: &[],
        },
        Row {
            // Ordered, 101 blocking with bootstrap: after the last attempt (70) the client
            // waits its Client Hold Off Time (/0/0/11 = 20 s) and bootstraps at 90.
            name: "ordered, blocking failure bootstraps after the hold-off",
            a: Timing {
                priority: Some(1),
                block: Some(true),
                bootstrap_on_failure: Some(true),
                retry_count: Some(2),
                retry_timer: Some(10),
                sequence_delay: Some(50),
                sequence_retry_count: Some(2),
                ..Timing::default()
            },
            b: Timing {
                priority: Some(2),
                ..Timing::default()
            },
            a_answers: &[T, T, T, T],
            b_answers: &[OK],
            hold_off: Some(20),
            until: 1000,
            expect_a: &[0, 10, 60, 70],
            expect_b: &[],
            expect_bootstrap: &[90],
        },
        Row {
            // A 4.xx answer counts as a failed attempt like a timeout; the default Retry
            // Timer is 60 s (TS default table), so attempts 0, 60, 180.
            name: "error answers fail attempts; default retry timer",
            a: Timing {
                retry_count: Some(3),
                sequence_retry_count: Some(1),
                bootstrap_on_failure: Some(false),
                ..Timing::default()
            },
            b: Timing {
                initial_delay: Some(1000),
                ..Timing::default()
            },
            a_answers: &[
                Answer::Error(Code::FORBIDDEN),
                Answer::Error(Code::BAD_REQUEST),
                T,
            ],
            b_answers: &[OK],
            hold_off: None,
            until: 500,
            expect_a: &[0, 60, 180],
            expect_b: &[],
            expect_bootstrap: &[],
        },
    ];
    for row in rows {
        let mut c = fixture();
        configure(&mut c, 0, row.a);
        configure(&mut c, 1, row.b);
        if let Some(h) = row.hold_off {
            set(&mut c, "/0/0/11", int(h));
        }
        let mut reg = Registrar::new(RegistrationConfig::default());
        reg.start(&c, s(0));
        let (mut seen, mut events) = (Vec::new(), Vec::new());
        run(
            &mut reg,
            &mut c,
            0,
            row.until,
            &mut seen,
            &mut events,
            &mut |out, n| match out.peer {
                Peer::Server(x) if x == A => *row.a_answers.get(n).unwrap_or(&OK),
                Peer::Server(_) => *row.b_answers.get(n).unwrap_or(&OK),
                // The Bootstrap-Server does not answer: only the request time matters.
                Peer::BootstrapServer => T,
            },
        );
        assert_eq!(
            times(&seen, Peer::Server(A), Operation::Register),
            row.expect_a,
            "{}: 101",
            row.name
        );
        assert_eq!(
            times(&seen, Peer::Server(B), Operation::Register),
            row.expect_b,
            "{}: 102",
            row.name
        );
        let bs = times(&seen, Peer::BootstrapServer, Operation::BootstrapRequest);
        assert_eq!(
            bs.first().copied(),
            row.expect_bootstrap.first().copied(),
            "{}: bootstrap",
            row.name
        );
        let failed = row.a_answers.get(row.expect_a.len() - 1) != Some(&OK);
        assert_eq!(
            events
                .iter()
                .any(|(_, e)| *e == Event::RegistrationFailed(A)),
            failed,
            "{}: failure reported",
            row.name
        );
        assert_eq!(reg.is_registered(A), !failed, "{}", row.name);
    }
}

#[test]
fn register_carries_the_parameters_and_the_object_links() {
    let mut c = fixture();
    // An object of version 1.1 is announced with `ver` (TS 1.2 Core §7.2.2 "Object
    // Versioning").
    let mut t = temperature();
    t.version = mote_lwm2m::object::Version { major: 1, minor: 1 };
    c.define(t);
    let mut reg = Registrar::new(RegistrationConfig {
        endpoint: "urn:dev:1".into(),
        queue_mode: true,
        ..RegistrationConfig::default()
    });
    reg.start(&c, s(0));
    reg.handle_timeout(&mut c, s(0));
    let out = reg.poll_transmit().unwrap();
    assert_eq!(out.request.code, Code::POST);
    assert_eq!(out.request.uri_path, vec!["rd"]);
    assert_eq!(
        query(&out),
        vec!["ep=urn:dev:1", "lt=300", "lwm2m=1.2", "b=U", "Q"]
    );
    let body = String::from_utf8(out.request.payload.clone()).unwrap();
    assert!(
        body.starts_with("</>;rt=\"oma.lwm2m\";ct=\"112 110 11544\","),
        "{body}"
    );
    // Security /0 and OSCORE /21 are never registered; the others with their instances.
    for l in [
        "</1/0>",
        "</1/1>",
        "</2/0>",
        "</3/0>",
        "</5/0>",
        "</3303/0>",
    ] {
        assert!(body.contains(l), "{l} in {body}");
    }
    assert!(!body.contains("</0/") && !body.contains("</21/"), "{body}");
    // Core Objects in the Enabler's version carry no `ver`; 3303 (non-core, 1.1) does.
    assert_eq!(
        body,
        "</>;rt=\"oma.lwm2m\";ct=\"112 110 11544\",</1/0>,</1/1>,</2/0>,</2/1>,</2/2>,\
         </2/3>,</3/0>,</5/0>,</3303>;ver=1.1,</3303/0>"
    );
    assert_eq!(
        out.request.content_format,
        Some(mote_coap::content_format::ContentFormat::LINK_FORMAT)
    );
}

/// The Register payload in the form of the version registered with, byte for byte. The
/// expected strings are written out by hand from the TS texts:
/// - 1.0 (TS 1.0 §5.3.1): no root link for the default path `/`; a `ct` attribute exists
///   only as `</>;ct=11543` for a client with the LwM2M JSON format, never a quoted list
///   and never SenML or LwM2M CBOR (110, 112, 11544 are not 1.0 formats);
/// - 1.1: the quoted list without LwM2M CBOR (11544 came with TS 1.2);
/// - 1.2: every configured format.
///
/// An Update that carries the object links uses the same form.
#[test]
fn the_registration_payload_has_the_form_of_the_registered_version() {
    const OBJECTS: &str = "</1/0>,</1/1>,</2/0>,</2/1>,</2/2>,</2/3>,</3/0>,</5/0>,</3303/0>";
    let register = |version: &str, formats: Option<Vec<u16>>| {
        let mut c = fixture();
        let mut config = RegistrationConfig {
            lwm2m_version: version.into(),
            ..RegistrationConfig::default()
        };
        if let Some(f) = formats {
            config.content_formats = f;
        }
        let mut reg = Registrar::new(config);
        reg.start(&c, s(0));
        reg.handle_timeout(&mut c, s(0));
        let out = reg.poll_transmit().unwrap();
        assert_eq!(out.operation, Operation::Register);
        assert!(
            query(&out).contains(&format!("lwm2m={version}")),
            "{version}"
        );
        String::from_utf8(out.request.payload).unwrap()
    };
    // The default formats (112 110 11544).
    assert_eq!(register("1.0", None), OBJECTS);
    assert_eq!(
        register("1.1", None),
        format!("</>;rt=\"oma.lwm2m\";ct=\"112 110\",{OBJECTS}")
    );
    assert_eq!(
        register("1.2", None),
        format!("</>;rt=\"oma.lwm2m\";ct=\"112 110 11544\",{OBJECTS}")
    );
    // A 1.0 client configured with LwM2M JSON announces it the 1.0 way, and only it.
    assert_eq!(
        register("1.0", Some(vec![11543, 112, 11542])),
        format!("</>;ct=11543,{OBJECTS}")
    );
    // Nothing configured: the object links only, whatever the version.
    assert_eq!(register("1.2", Some(vec![])), OBJECTS);

    // A 1.0 Update with a changed object set carries the links in the 1.0 form too.
    let mut c = fixture_with_101_only();
    let mut reg = Registrar::new(RegistrationConfig {
        lwm2m_version: "1.0".into(),
        ..RegistrationConfig::default()
    });
    reg.start(&c, s(0));
    let (mut seen, mut events) = (Vec::new(), Vec::new());
    run_ok(&mut reg, &mut c, 0, 0, &mut seen, &mut events);
    assert!(reg.is_registered(A));
    // (This fixture has the Access Control instance /2/10 of 101's own /1/0.)
    assert_eq!(
        String::from_utf8(seen[0].out.request.payload.clone()).unwrap(),
        "</1/0>,</1/1>,</2/0>,</2/1>,</2/2>,</2/3>,</2/10>,</3/0>,</5/0>,</3303/0>"
    );
    c.object_mut(3303).unwrap().create(1).unwrap();
    seen.clear();
    run_ok(&mut reg, &mut c, 6, 6, &mut seen, &mut events);
    let update = seen
        .iter()
        .find(|x| x.out.operation == Operation::Update && x.out.peer == Peer::Server(A))
        .expect("an Update after the object set changed");
    assert_eq!(
        String::from_utf8(update.out.request.payload.clone()).unwrap(),
        "</1/0>,</1/1>,</2/0>,</2/1>,</2/2>,</2/3>,</2/10>,</3/0>,</5/0>,</3303/0>,</3303/1>"
    );
}

/// The fixture, with 101 owning its own /1/0 instance (an Access Control instance is
/// needed for it to Execute /1/0/x when two servers exist, TS 1.2 Core §7.3).
fn fixture_owning_server_0() -> Client {
    let mut c = fixture();
    acl(&mut c, 10, 1, 0, 101, &[]);
    c
}

/// `fixture_owning_server_0` with 102 out of the way (its first Register 100 s away).
fn fixture_with_101_only() -> Client {
    let mut c = fixture_owning_server_0();
    configure(
        &mut c,
        1,
        Timing {
            initial_delay: Some(100_000),
            ..Timing::default()
        },
    );
    c
}

fn registered_with_101(queue_mode: bool) -> (Registrar, Client) {
    let mut c = fixture_with_101_only();
    let mut reg = Registrar::new(RegistrationConfig {
        queue_mode,
        ..RegistrationConfig::default()
    });
    reg.start(&c, s(0));
    let (mut seen, mut ev) = (Vec::new(), Vec::new());
    run_ok(&mut reg, &mut c, 0, 0, &mut seen, &mut ev);
    assert_eq!(reg.state(A), Some(RegistrationState::Registered));
    assert_eq!(reg.location(A).unwrap(), ["rd", "ab12"]);
    (reg, c)
}

#[test]
fn update_before_the_lifetime_runs_out_with_only_what_changed() {
    let (mut reg, mut c) = registered_with_101(false);
    let (mut seen, mut ev) = (Vec::new(), Vec::new());
    // Lifetime 300 s (/1/0/1), margin min(93, 150) = 93 → Updates at 207, 414.
    run_ok(&mut reg, &mut c, 0, 500, &mut seen, &mut ev);
    assert_eq!(times(&seen, Peer::Server(A), Operation::Update), [207, 414]);
    let upd = &seen[0].out;
    assert_eq!(upd.request.uri_path, ["rd", "ab12"]);
    assert!(upd.request.uri_query.is_empty() && upd.request.payload.is_empty());

    // A lifetime change (the server writes /1/0/1): Update with lt only.
    let w = put(
        "/1/0/1",
        mote_coap::content_format::ContentFormat::TEXT_PLAIN,
        b"600",
    );
    assert_eq!(c.handle(S101, &w).code, Code::CHANGED);
    seen.clear();
    run_ok(&mut reg, &mut c, 450, 450, &mut seen, &mut ev);
    assert_eq!(seen.len(), 1);
    assert_eq!(query(&seen[0].out), ["lt=600"]);
    assert!(seen[0].out.request.payload.is_empty());

    // A new object instance: Update with the object links only.
    c.object_mut(3303).unwrap().create(1).unwrap();
    seen.clear();
    run_ok(&mut reg, &mut c, 460, 460, &mut seen, &mut ev);
    assert_eq!(seen.len(), 1);
    assert!(query(&seen[0].out).is_empty());
    let body = String::from_utf8(seen[0].out.request.payload.clone()).unwrap();
    assert!(body.contains("</3303/1>"), "{body}");

    // The Registration Update Trigger /1/0/8.
    assert_eq!(c.handle(S101, &post("/1/0/8")).code, Code::CHANGED);
    seen.clear();
    run_ok(&mut reg, &mut c, 470, 470, &mut seen, &mut ev);
    assert_eq!(times(&seen, Peer::Server(A), Operation::Update), [470]);
    assert!(query(&seen[0].out).is_empty() && seen[0].out.request.payload.is_empty());
    // Next periodic Update counts from the last one: 470 + 600 − 93.
    seen.clear();
    run_ok(&mut reg, &mut c, 471, 1000, &mut seen, &mut ev);
    assert_eq!(times(&seen, Peer::Server(A), Operation::Update), [977]);
}

#[test]
fn failed_update_registers_again_and_deregister_deletes_the_location() {
    let (mut reg, mut c) = registered_with_101(false);
    let (mut seen, mut ev) = (Vec::new(), Vec::new());
    run(
        &mut reg,
        &mut c,
        0,
        207,
        &mut seen,
        &mut ev,
        &mut |out, _| {
            if out.operation == Operation::Update {
                Answer::Error(Code::NOT_FOUND)
            } else {
                OK
            }
        },
    );
    assert_eq!(times(&seen, Peer::Server(A), Operation::Update), [207]);
    assert_eq!(times(&seen, Peer::Server(A), Operation::Register), [207]);
    assert!(reg.is_registered(A));

    reg.deregister(A);
    let out = reg.poll_transmit().unwrap();
    assert_eq!(out.operation, Operation::Deregister);
    assert_eq!(out.request.code, Code::DELETE);
    assert_eq!(out.request.uri_path, ["rd", "ab12"]);
    reg.on_response(&mut c, out.handle, Code::DELETED, &[], &[], s(210));
    assert_eq!(reg.state(A), Some(RegistrationState::Stopped));
    assert!(std::iter::from_fn(|| reg.poll_event()).any(|e| e == Event::Deregistered(A)));
    assert_eq!(reg.poll_timeout().filter(|t| *t < s(100_000)), None);
}

#[test]
fn disable_deregisters_and_comes_back_after_the_disable_timeout() {
    let (mut reg, mut c) = registered_with_101(false);
    set(&mut c, "/1/0/5", int(50));
    assert_eq!(c.handle(S101, &post("/1/0/4")).code, Code::CHANGED);
    let (mut seen, mut ev) = (Vec::new(), Vec::new());
    run_ok(&mut reg, &mut c, 10, 100, &mut seen, &mut ev);
    assert_eq!(times(&seen, Peer::Server(A), Operation::Deregister), [10]);
    assert_eq!(
        times(&seen, Peer::Server(A), Operation::Register),
        [60],
        "{ev:?} {:?}",
        reg.state(A)
    );
    assert!(ev.contains(&(10, Event::Disabled(A, s(60)))));
}

#[test]
fn queue_mode_tells_when_the_client_may_sleep() {
    let (mut reg, mut c) = registered_with_101(true);
    let (mut seen, mut ev) = (Vec::new(), Vec::new());
    // Awake for MAX_TRANSMIT_WAIT (93 s) after the registration at 0.
    run_ok(&mut reg, &mut c, 0, 92, &mut seen, &mut ev);
    assert!(!ev.iter().any(|(_, e)| *e == Event::MaySleep(A)));
    reg.activity(A, s(50));
    run_ok(&mut reg, &mut c, 50, 200, &mut seen, &mut ev);
    assert_eq!(
        ev.iter()
            .filter(|(_, e)| *e == Event::MaySleep(A))
            .map(|(t, _)| *t)
            .collect::<Vec<_>>(),
        [143]
    );
    assert!(!reg.wake(B));
    // Something to report while asleep: an Update says the client is awake again.
    assert!(reg.wake(A));
    seen.clear();
    run_ok(&mut reg, &mut c, 150, 150, &mut seen, &mut ev);
    assert_eq!(times(&seen, Peer::Server(A), Operation::Update), [150]);
    assert!(!reg.wake(A));
}

#[cfg(feature = "bootstrap-interface")]
#[test]
fn bootstrap_when_no_server_account_then_register() {
    let mut c = fixture();
    for i in [0, 1] {
        c.object_mut(1).unwrap().delete(i).unwrap();
    }
    set(&mut c, "/0/0/11", int(30));
    set(&mut c, "/0/0/12", int(500));
    let mut reg = Registrar::new(RegistrationConfig {
        endpoint: "dev".into(),
        ..RegistrationConfig::default()
    });
    reg.start(&c, s(0));
    assert_eq!(reg.bootstrap_state(), BootstrapState::HoldOff(s(30)));
    let (mut seen, mut ev) = (Vec::new(), Vec::new());
    run_ok(&mut reg, &mut c, 0, 40, &mut seen, &mut ev);
    assert_eq!(seen.len(), 1);
    let bs = &seen[0].out;
    assert_eq!((seen[0].at, bs.peer), (30, Peer::BootstrapServer));
    assert_eq!(bs.request.uri_path, ["bs"]);
    assert_eq!(query(bs), ["ep=dev", "pct=112"]);
    assert_eq!(
        reg.bootstrap_state(),
        BootstrapState::AwaitingFinish(s(30 + 247))
    );
    // The Bootstrap-Server writes a server account and finishes.
    c.handle(
        BS,
        &put(
            "/1/0",
            mote_coap::content_format::ContentFormat::SENML_JSON,
            br#"[{"bn":"/1/0/","n":"0","v":101},{"n":"1","v":120}]"#,
        ),
    );
    c.handle(
        BS,
        &put(
            "/1/1",
            mote_coap::content_format::ContentFormat::SENML_JSON,
            br#"[{"bn":"/1/1/","n":"0","v":102},{"n":"14","v":1000}]"#,
        ),
    );
    let finish = c.handle(BS, &post("/bs"));
    assert_eq!(finish.code, Code::CHANGED, "{}", finish.diagnostic_text());
    seen.clear();
    run_ok(&mut reg, &mut c, 100, 100, &mut seen, &mut ev);
    assert!(
        ev.iter()
            .any(|(t, e)| (*t, e) == (100, &Event::Bootstrapped))
    );
    assert_eq!(times(&seen, Peer::Server(A), Operation::Register), [100]);
    assert!(query(&seen[0].out).contains(&"lt=120".to_string()));
    // Bootstrap-Server Account Timeout (/0/0/12 = 500 s) purges the account at 600.
    assert!(value(&c, "/0/0/1").is_some());
    run_ok(&mut reg, &mut c, 101, 600, &mut seen, &mut ev);
    assert!(ev.contains(&(600, Event::BootstrapAccountPurged)));
    assert!(value(&c, "/0/0/1").is_none());
}

#[test]
fn bootstrap_finish_timeout_and_retries() {
    let mut c = fixture();
    for i in [0, 1] {
        c.object_mut(1).unwrap().delete(i).unwrap();
    }
    let mut reg = Registrar::new(RegistrationConfig {
        bootstrap_attempts: 2,
        ..RegistrationConfig::default()
    });
    reg.start(&c, s(0));
    let (mut seen, mut ev) = (Vec::new(), Vec::new());
    // The Bootstrap-Server accepts the request but never sends Bootstrap-Finish: after
    // EXCHANGE_LIFETIME (247 s) the bootstrap failed; one retry, then BootstrapFailed.
    run_ok(&mut reg, &mut c, 0, 2000, &mut seen, &mut ev);
    assert_eq!(
        times(&seen, Peer::BootstrapServer, Operation::BootstrapRequest),
        [0, 247]
    );
    assert!(ev.contains(&(494, Event::BootstrapFailed)));
    assert_eq!(reg.bootstrap_state(), BootstrapState::Idle);
}

/// Server 101 executes /1/0/9 (Bootstrap-Request Trigger); at 20 s the registrar sends the
/// Bootstrap-Request.
#[cfg(feature = "bootstrap-interface")]
fn bootstrap_request_trigger_at_20(
    reg: &mut Registrar,
    c: &mut Client,
    seen: &mut Vec<Seen>,
    ev: &mut Vec<(u64, Event)>,
) {
    assert_eq!(c.handle(S101, &post("/1/0/9")).code, Code::CHANGED);
    run_ok(reg, c, 20, 20, seen, ev);
    assert_eq!(
        times(seen, Peer::BootstrapServer, Operation::BootstrapRequest),
        [20]
    );
}

#[cfg(feature = "bootstrap-interface")]
#[test]
fn bootstrap_request_trigger_starts_bootstrap_again() {
    // LightweightM2M-BsR-002: a server executes /1/x/9.
    let (mut reg, mut c) = registered_with_101(false);
    let (mut seen, mut ev) = (Vec::new(), Vec::new());
    bootstrap_request_trigger_at_20(&mut reg, &mut c, &mut seen, &mut ev);
    // The Bootstrap-Server deletes every server account: 101 counts as de-registered.
    c.handle(BS, &mote_lwm2m_client::Request::new(Code::DELETE, "/1"));
    c.handle(BS, &mote_lwm2m_client::Request::new(Code::DELETE, "/2"));
    c.handle(
        BS,
        &put(
            "/1/5",
            mote_coap::content_format::ContentFormat::SENML_JSON,
            br#"[{"bn":"/1/5/","n":"0","v":102}]"#,
        ),
    );
    let finish = c.handle(BS, &post("/bs"));
    assert_eq!(finish.code, Code::CHANGED, "{}", finish.diagnostic_text());
    seen.clear();
    run_ok(&mut reg, &mut c, 30, 30, &mut seen, &mut ev);
    assert!(ev.contains(&(30, Event::Deregistered(A))));
    assert_eq!(reg.state(A), None);
    assert_eq!(times(&seen, Peer::Server(B), Operation::Register), [30]);
}

/// LightweightM2M-BsR-002 as a Bootstrap-Server runs it (`mote bootstrap-server`: Delete `/`,
/// then Write /0 and /1, then Finish) on a client registered with 101 that executed /1/0/9:
/// between the Delete and the Finish the half-written configuration sends nothing to 101
/// (its /0 instance is gone: no Update, no error) and leaves no timer that is already due
/// (a driver waiting for `poll_timeout` would spin); at Bootstrap-Finish the account that
/// was deleted counts as de-registered even though it was written again (TS 1.2 Core §6.1
/// Step #3) and 101 is registered anew.
#[cfg(feature = "bootstrap-interface")]
#[test]
fn an_account_deleted_and_written_again_by_a_triggered_bootstrap_registers_anew() {
    let (mut reg, mut c) = registered_with_101(false);
    let (mut seen, mut ev) = (Vec::new(), Vec::new());
    bootstrap_request_trigger_at_20(&mut reg, &mut c, &mut seen, &mut ev);
    // Step #1 as `mote bootstrap-server` sends it, one request at a time, each followed by
    // the caller's `handle_timeout` (the engine's call order).
    let step = |reg: &mut Registrar, c: &mut Client, request: mote_lwm2m_client::Request, at| {
        let code = c.handle(BS, &request).code;
        reg.handle_timeout(c, s(at));
        let sent: Vec<Outgoing> = std::iter::from_fn(|| reg.poll_transmit()).collect();
        (code, sent)
    };
    let (code, sent) = step(
        &mut reg,
        &mut c,
        mote_lwm2m_client::Request::new(Code::DELETE, "/"),
        21,
    );
    assert_eq!(code, Code::DELETED);
    assert!(
        sent.is_empty(),
        "nothing to 101 while its account is gone: {sent:?}"
    );
    assert!(
        reg.poll_timeout().is_none_or(|t| t > s(21)),
        "a timer already due that handle_timeout does not clear: {:?}",
        reg.poll_timeout()
    );
    for (path, body) in [
        (
            "/0/1",
            r#"[{"bn":"/0/1/","n":"0","vs":"coaps://s101.example"},{"n":"1","vb":false},{"n":"2","v":3},{"n":"10","v":101}]"#,
        ),
        (
            "/1/0",
            r#"[{"bn":"/1/0/","n":"0","v":101},{"n":"1","v":300},{"n":"7","vs":"U"}]"#,
        ),
    ] {
        let (code, sent) = step(
            &mut reg,
            &mut c,
            put(
                path,
                mote_coap::content_format::ContentFormat::SENML_JSON,
                body.as_bytes(),
            ),
            22,
        );
        assert_eq!(code, Code::CHANGED, "{path}");
        assert!(sent.is_empty(), "{path}: {sent:?}");
        assert!(reg.poll_timeout().is_none_or(|t| t > s(22)), "{path}");
    }
    let finish = c.handle(BS, &post("/bs"));
    assert_eq!(finish.code, Code::CHANGED, "{}", finish.diagnostic_text());
    seen.clear();
    ev.clear();
    run_ok(&mut reg, &mut c, 23, 23, &mut seen, &mut ev);
    assert!(ev.contains(&(23, Event::Bootstrapped)), "{ev:?}");
    assert!(ev.contains(&(23, Event::Deregistered(A))), "{ev:?}");
    assert_eq!(times(&seen, Peer::Server(A), Operation::Register), [23]);
    assert!(times(&seen, Peer::Server(A), Operation::Update).is_empty());
    assert_eq!(reg.state(A), Some(RegistrationState::Registered));
}

/// A server whose Initial Registration Delay runs out while a bootstrap is in progress does
/// not register until Bootstrap-Finish (Transport §6.4.1), and meanwhile its timer is not
/// reported as due: `poll_timeout` never returns a deadline already passed that
/// `handle_timeout` leaves in place (a driver sleeping until it would spin).
#[cfg(feature = "bootstrap-interface")]
#[test]
fn a_registration_held_by_a_bootstrap_leaves_no_due_timer_behind() {
    let mut c = fixture_owning_server_0();
    configure(
        &mut c,
        1,
        Timing {
            initial_delay: Some(25),
            ..Timing::default()
        },
    );
    let mut reg = Registrar::new(RegistrationConfig::default());
    reg.start(&c, s(0));
    let (mut seen, mut ev) = (Vec::new(), Vec::new());
    run_ok(&mut reg, &mut c, 0, 0, &mut seen, &mut ev);
    assert_eq!(reg.state(A), Some(RegistrationState::Registered));
    bootstrap_request_trigger_at_20(&mut reg, &mut c, &mut seen, &mut ev);
    // 102's delay ends at 25, during the bootstrap.
    for now in [25, 30, 40] {
        reg.handle_timeout(&mut c, s(now));
        assert!(std::iter::from_fn(|| reg.poll_transmit()).next().is_none());
        assert!(
            reg.poll_timeout().is_none_or(|t| t > s(now)),
            "at {now}: {:?} is due and stays due",
            reg.poll_timeout()
        );
    }
    let finish = c.handle(BS, &post("/bs"));
    assert_eq!(finish.code, Code::CHANGED, "{}", finish.diagnostic_text());
    seen.clear();
    run_ok(&mut reg, &mut c, 41, 100, &mut seen, &mut ev);
    // Bootstrap-Finish starts 102's registration procedure again (its delay of 25 s from
    // the Finish at 41).
    assert_eq!(times(&seen, Peer::Server(B), Operation::Register), [66]);
    // 101 was not deleted: it stays registered, nothing sent to it.
    assert!(
        seen.iter().all(|x| x.out.peer != Peer::Server(A)),
        "{seen:?}"
    );
}

#[test]
fn repeated_triggers_do_not_grow_the_trigger_list() {
    let mut c = fixture_owning_server_0();
    for _ in 0..100 {
        assert_eq!(c.handle(S101, &post("/1/0/8")).code, Code::CHANGED);
    }
    assert_eq!(c.take_triggers().len(), 1);
}

#[test]
fn extreme_timer_values_never_panic() {
    // Every /1 timer at its maximum (a server or the Bootstrap-Server can write them).
    let mut c = fixture_owning_server_0();
    let max = i64::MAX;
    for r in [1, 5, 13, 14, 17, 18, 19, 20] {
        set(&mut c, &format!("/1/0/{r}"), int(max));
    }
    set(&mut c, "/1/1/18", int(max));
    set(&mut c, "/1/1/17", int(70));
    set(&mut c, "/0/0/11", int(max));
    let mut reg = Registrar::new(RegistrationConfig::default());
    reg.start(&c, s(0));
    let (mut seen, mut ev) = (Vec::new(), Vec::new());
    run(
        &mut reg,
        &mut c,
        0,
        u64::MAX,
        &mut seen,
        &mut ev,
        &mut |out, _| {
            if out.peer == Peer::Server(B) { T } else { OK }
        },
    );
    // 101 registered (its initial delay saturates far in the future: nothing sent), 102
    // failed twice then waits "for ever".
    assert!(times(&seen, Peer::Server(B), Operation::Register).len() >= 2);
    reg.handle_timeout(&mut c, Duration::MAX);
    assert_eq!(c.handle(S101, &post("/1/0/4")).code, Code::CHANGED);
    reg.handle_timeout(&mut c, Duration::MAX);
}

/// A bootstrap that deleted and rewrote 101's account but then failed (no Bootstrap-Finish
/// within EXCHANGE_LIFETIME, every attempt) does not count (TS 1.2 Core §6.1 Step #2: "If
/// Bootstrapping was unsuccessful … further statements below in Step #3 do not apply"):
/// 101 gets its Updates again, and a later bootstrap that leaves 101 alone keeps it
/// registered — no "deleted during bootstrap" mark survives the failed one.
#[cfg(feature = "bootstrap-interface")]
#[test]
fn a_failed_bootstrap_leaves_no_deleted_mark_behind() {
    let (mut reg, mut c) = registered_with_101(false);
    let (mut seen, mut ev) = (Vec::new(), Vec::new());
    bootstrap_request_trigger_at_20(&mut reg, &mut c, &mut seen, &mut ev);
    // The Bootstrap-Server reads 101's account, deletes it and writes it back, but never
    // sends Bootstrap-Finish.
    let read = c.handle(BS, &get("/1/0"));
    assert_eq!(read.code, Code::CONTENT);
    let cf = read.content_format.unwrap();
    assert_eq!(
        c.handle(BS, &mote_lwm2m_client::Request::new(Code::DELETE, "/1/0"))
            .code,
        Code::DELETED
    );
    reg.handle_timeout(&mut c, s(21));
    assert_eq!(
        c.handle(BS, &put("/1/0", cf, &read.payload)).code,
        Code::CHANGED
    );
    reg.handle_timeout(&mut c, s(22));
    assert!(std::iter::from_fn(|| reg.poll_transmit()).next().is_none());
    // Three attempts of 247 s each, then the bootstrap failed. The first attempt's
    // deletion does not count once it failed: 101's Update, held while its account looked
    // deleted, goes out at 267 and the next ones on time (lifetime 300 s, margin 93 s).
    seen.clear();
    ev.clear();
    run_ok(&mut reg, &mut c, 22, 761, &mut seen, &mut ev);
    assert_eq!(
        times(&seen, Peer::BootstrapServer, Operation::BootstrapRequest),
        [267, 514]
    );
    assert!(ev.contains(&(761, Event::BootstrapFailed)), "{ev:?}");
    assert_eq!(reg.bootstrap_state(), BootstrapState::Idle);
    assert_eq!(
        times(&seen, Peer::Server(A), Operation::Update),
        [267, 474, 681],
        "{seen:?} {ev:?}"
    );
    assert_eq!(reg.state(A), Some(RegistrationState::Registered));
    // A second bootstrap that touches nothing: 101 gets its Update on time during it, and
    // is neither de-registered nor registered again at its Bootstrap-Finish. (The
    // rewrite left /1/0 without its Access Control instance: the application starts it.)
    reg.request_bootstrap(&c, s(800));
    seen.clear();
    ev.clear();
    run_ok(&mut reg, &mut c, 800, 888, &mut seen, &mut ev);
    assert_eq!(
        times(&seen, Peer::BootstrapServer, Operation::BootstrapRequest),
        [800]
    );
    assert_eq!(times(&seen, Peer::Server(A), Operation::Update), [888]);
    let finish = c.handle(BS, &post("/bs"));
    assert_eq!(finish.code, Code::CHANGED, "{}", finish.diagnostic_text());
    run_ok(&mut reg, &mut c, 890, 890, &mut seen, &mut ev);
    assert!(ev.contains(&(890, Event::Bootstrapped)), "{ev:?}");
    assert!(
        !ev.iter().any(|(_, e)| *e == Event::Deregistered(A)),
        "{ev:?}"
    );
    assert!(
        times(&seen, Peer::Server(A), Operation::Register).is_empty(),
        "{seen:?}"
    );
    assert_eq!(reg.state(A), Some(RegistrationState::Registered));
}

/// A registrar configured for the Bootstrap-Pack-Request (`ep=dev`), started at 0 on a
/// client without server accounts.
fn pack_configured() -> (Registrar, Client) {
    let mut c = fixture();
    for i in [0, 1] {
        c.object_mut(1).unwrap().delete(i).unwrap();
    }
    let mut reg = Registrar::new(RegistrationConfig {
        endpoint: "dev".into(),
        bootstrap_pack: true,
        ..RegistrationConfig::default()
    });
    reg.start(&c, s(0));
    (reg, c)
}

/// Without the `bootstrap-interface` feature the Bootstrap-Pack-Request (a Bootstrap
/// Interface operation) is not used: a registrar configured for it asks with a
/// Bootstrap-Request (`POST /bs?ep=…`).
#[test]
#[cfg(not(feature = "bootstrap-interface"))]
fn without_the_bootstrap_interface_a_pack_configuration_sends_bootstrap_request() {
    let (mut reg, _) = pack_configured();
    let out = reg.poll_transmit().expect("a Bootstrap-Request");
    assert_eq!(
        (out.peer, out.operation),
        (Peer::BootstrapServer, Operation::BootstrapRequest)
    );
    assert_eq!(out.request.uri_path, ["bs"]);
    assert_eq!(query(&out), ["ep=dev", "pct=112"]);
}

/// A SenML-CBOR Bootstrap-Pack of `records`.
#[cfg(feature = "bootstrap-interface")]
fn pack(records: &[mote_lwm2m::Record]) -> Vec<u8> {
    mote_lwm2m::encode(mote_lwm2m::Format::SenmlCbor, &p("/"), records).unwrap()
}

/// Starts a registrar configured for the Bootstrap-Pack-Request on a client without
/// server accounts; returns it with the request it sent.
#[cfg(feature = "bootstrap-interface")]
fn pack_requested() -> (Registrar, Client, Outgoing) {
    let (mut reg, c) = pack_configured();
    let out = reg.poll_transmit().expect("a Bootstrap-Pack-Request");
    assert!(reg.poll_transmit().is_none());
    // TS 1.2 Transport §6.4.1: GET /bspack?ep=…, Accept SenML-CBOR.
    assert_eq!(
        (out.peer, out.operation),
        (Peer::BootstrapServer, Operation::BootstrapPackRequest)
    );
    assert_eq!(out.request.code, Code::GET);
    assert_eq!(out.request.uri_path, ["bspack"]);
    assert_eq!(query(&out), ["ep=dev"]);
    assert_eq!(
        out.request.accept,
        Some(mote_coap::content_format::ContentFormat::SENML_CBOR)
    );
    (reg, c, out)
}

#[cfg(feature = "bootstrap-interface")]
const SENML_CBOR: [(OptionNumber, &[u8]); 1] = [(OptionNumber::CONTENT_FORMAT, &[112])];

/// TS 1.2 Core §6.1.7.x Bootstrap-Pack-Request: the pack replaces every instance of the
/// Objects it carries (the Bootstrap-Server account and its /21 instance spared), skips
/// Resources the client does not know, needs no Bootstrap-Finish, and the accounts it
/// writes register.
#[test]
#[cfg(feature = "bootstrap-interface")]
fn a_bootstrap_pack_configures_the_client_without_bootstrap_finish() {
    let (mut reg, mut c, out) = pack_requested();
    let body = pack(&[
        rec("/0/1/0", Value::String("coap://s101.example".into())),
        rec("/0/1/1", Value::Boolean(false)),
        rec("/0/1/2", int(3)),
        rec("/0/1/10", int(101)),
        rec("/0/2/0", Value::String("coap://s102.example".into())),
        rec("/0/2/1", Value::Boolean(false)),
        rec("/0/2/2", int(3)),
        rec("/0/2/10", int(102)),
        rec("/1/0/0", int(101)),
        rec("/1/0/1", int(120)),
        rec("/1/0/30999", int(1)),
        rec("/1/1/0", int(102)),
        rec("/1/1/1", int(150)),
    ]);
    reg.on_response(&mut c, out.handle, Code::CONTENT, &SENML_CBOR, &body, s(1));
    let events: Vec<Event> = std::iter::from_fn(|| reg.poll_event()).collect();
    assert!(events.contains(&Event::Bootstrapped), "{events:?}");
    assert_eq!(reg.bootstrap_state(), BootstrapState::Idle);
    // /0 was replaced, not merged: 101's old identity (/0/1/3) and 102's OSCORE link
    // (/0/2/17) are gone; the Bootstrap-Server account and its /21 instance stay.
    assert_eq!(value(&c, "/0/1/2"), Some(int(3)));
    assert_eq!(value(&c, "/0/1/3"), None);
    assert_eq!(value(&c, "/0/2/17"), None);
    assert_eq!(value(&c, "/0/0/1"), Some(Value::Boolean(true)));
    assert!(value(&c, "/21/0/1").is_some());
    assert_eq!(value(&c, "/1/0/1"), Some(int(120)));
    // Both accounts register, with the lifetimes of the pack.
    let (mut seen, mut ev) = (Vec::new(), Vec::new());
    run_ok(&mut reg, &mut c, 1, 1, &mut seen, &mut ev);
    assert_eq!(times(&seen, Peer::Server(A), Operation::Register), [1]);
    assert_eq!(times(&seen, Peer::Server(B), Operation::Register), [1]);
    assert!(
        query(&seen[0].out).contains(&"lt=120".to_string()),
        "{seen:?}"
    );
    assert!(times(&seen, Peer::BootstrapServer, Operation::BootstrapRequest).is_empty());
}

/// "After receiving an error in response to a Bootstrap-Pack-Request, the LwM2M Client MUST
/// use Bootstrap-Request operation", and "in case of any inconsistency, the LwM2M Client
/// MUST retry bootstrapping with Bootstrap-Request" (TS 1.2 Core §6.1).
#[test]
#[cfg(feature = "bootstrap-interface")]
fn a_refused_or_inconsistent_bootstrap_pack_falls_back_to_bootstrap_request() {
    // 4.05: the Bootstrap-Server wants the Bootstrap-Request. 5.01: it has no packs.
    // 2.05 with an inconsistent pack: an account without a Security instance.
    let inconsistent = pack(&[rec("/1/0/0", int(105)), rec("/1/0/1", int(60))]);
    for (code, body) in [
        (Code::METHOD_NOT_ALLOWED, Vec::new()),
        (Code::NOT_IMPLEMENTED, Vec::new()),
        (Code::CONTENT, inconsistent),
    ] {
        let (mut reg, mut c, out) = pack_requested();
        reg.on_response(&mut c, out.handle, code, &SENML_CBOR, &body, s(1));
        let events: Vec<Event> = std::iter::from_fn(|| reg.poll_event()).collect();
        assert!(
            events.contains(&Event::BootstrapPackRefused),
            "{code}: {events:?}"
        );
        assert!(!events.contains(&Event::Bootstrapped), "{code}: {events:?}");
        let next = reg.poll_transmit().expect("a Bootstrap-Request");
        assert_eq!(next.operation, Operation::BootstrapRequest, "{code}");
        assert_eq!(next.request.code, Code::POST);
        assert_eq!(next.request.uri_path, ["bs"]);
        assert_eq!(query(&next), ["ep=dev", "pct=112"]);
        // The Bootstrap-Request sequence then runs as usual: Finish after the writes.
        reg.on_response(&mut c, next.handle, Code::CHANGED, &[], &[], s(2));
        assert_eq!(
            reg.bootstrap_state(),
            BootstrapState::AwaitingFinish(s(2 + 247)),
            "{code}"
        );
    }
}

/// Server-Initiated bootstrap as LwM2M 1.0 had it (TS 1.0 §5.2.3: the Bootstrap-Server
/// writes without a Bootstrap-Request; TS 1.2 Core §6.1 makes it the /1/x/9 trigger, tested
/// above): the authenticated Bootstrap-Server's Write and Finish are taken while the client
/// is registered, the new account registers at the Finish and the untouched one stays
/// registered without a new Register.
#[cfg(feature = "bootstrap-interface")]
#[test]
fn an_unsolicited_bootstrap_write_and_finish_add_an_account() {
    let (mut reg, mut c) = registered_with_101(false);
    assert_eq!(reg.bootstrap_state(), BootstrapState::Idle);
    // /1/1 (102) delays its registration for ever in the fixture: remove it first, as the
    // Bootstrap-Server would, and write a fresh account 102 without a delay.
    let r = c.handle(BS, &mote_lwm2m_client::Request::new(Code::DELETE, "/1/1"));
    assert_eq!(r.code, Code::DELETED);
    let r = c.handle(
        BS,
        &put(
            "/1/1",
            mote_coap::content_format::ContentFormat::SENML_JSON,
            br#"[{"bn":"/1/1/","n":"0","v":102},{"n":"1","v":600}]"#,
        ),
    );
    assert_eq!(r.code, Code::CHANGED, "{}", r.diagnostic_text());
    let finish = c.handle(BS, &post("/bs"));
    assert_eq!(finish.code, Code::CHANGED, "{}", finish.diagnostic_text());
    let (mut seen, mut ev) = (Vec::new(), Vec::new());
    run_ok(&mut reg, &mut c, 30, 30, &mut seen, &mut ev);
    assert!(ev.contains(&(30, Event::Bootstrapped)), "{ev:?}");
    assert_eq!(times(&seen, Peer::Server(B), Operation::Register), [30]);
    assert!(
        query(&seen[0].out).contains(&"lt=600".to_string()),
        "{seen:?}"
    );
    assert!(
        times(&seen, Peer::Server(A), Operation::Register).is_empty(),
        "{seen:?}"
    );
    assert!(
        !ev.iter().any(|(_, e)| *e == Event::Deregistered(A)),
        "{ev:?}"
    );
    assert_eq!(reg.state(A), Some(RegistrationState::Registered));
    assert_eq!(reg.state(B), Some(RegistrationState::Registered));
}
