//! The registrar never hands its caller a deadline it has already run at and left due: after
//! `handle_timeout(now)` and the answers to what it sent, `poll_timeout()` is later than
//! `now` or `None` — for any /1 timing resources (TS 1.2 Core §6.2.1.1), Client Hold Off
//! Time, queue mode, server answers (success, errors, timeouts), /1/x/4 Disable, /1/x/8 and
//! /1/x/9 triggers and a Bootstrap-Server deleting, writing and finishing at any time. A
//! driver sleeping until `poll_timeout` (as `mote lwm2m-client` does) would otherwise spin.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use mote_coap::code::Code;
use mote_coap::content_format::ContentFormat;
use mote_coap::option::OptionNumber;
use mote_lwm2m::Value;
use mote_lwm2m_client::registration::{Operation, Registrar, RegistrationConfig};
use mote_lwm2m_client::{Client, Request};
use proptest::prelude::*;

#[derive(Clone, Copy, Debug)]
enum Answer {
    Ok,
    Timeout,
    Error(u8),
}

#[derive(Clone, Debug)]
enum Action {
    Tick,
    Disable(u16),
    Update(u16),
    BootstrapTrigger,
    BsDeleteAll,
    BsWriteServer(u16, i64),
    BsFinish,
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        3 => Just(Answer::Ok),
        1 => Just(Answer::Timeout),
        1 => prop_oneof![Just(0x84u8), Just(0xa0u8), Just(0x8du8)].prop_map(Answer::Error),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => Just(Action::Tick),
        1 => (0u16..2).prop_map(Action::Disable),
        1 => (0u16..2).prop_map(Action::Update),
        1 => Just(Action::BootstrapTrigger),
        1 => Just(Action::BsDeleteAll),
        1 => ((0u16..2), (101i64..103)).prop_map(|(i, s)| Action::BsWriteServer(i, s)),
        1 => Just(Action::BsFinish),
    ]
}

fn set(c: &mut Client, path: &str, v: Value) {
    c.bootstrap_write(&p(path), &[rec(path, v)]).unwrap();
}

/// Answers everything the registrar sent, in order, with the scripted answers.
fn answer_all(
    reg: &mut Registrar,
    c: &mut Client,
    now: Duration,
    answers: &[Answer],
    n: &mut usize,
) {
    let loc: [(OptionNumber, &[u8]); 2] = [
        (OptionNumber::LOCATION_PATH, b"rd"),
        (OptionNumber::LOCATION_PATH, b"x"),
    ];
    for _ in 0..1000 {
        let Some(out) = reg.poll_transmit() else {
            return;
        };
        let a = answers[*n % answers.len()];
        *n += 1;
        match a {
            Answer::Ok => {
                let code = match out.operation {
                    Operation::Register => Code::CREATED,
                    Operation::Deregister => Code::DELETED,
                    _ => Code::CHANGED,
                };
                reg.on_response(c, out.handle, code, &loc, &[], now);
            }
            Answer::Timeout => reg.on_failure(c, out.handle, now),
            Answer::Error(code) => {
                reg.on_response(c, out.handle, Code::from(code), &[], &[], now);
            }
        }
    }
    panic!("more than 1000 requests at one instant");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_deadline_is_left_due(
        timing in proptest::collection::vec((0usize..8, 0i64..40), 0..8),
        hold_off in 0i64..30,
        queue_mode in any::<bool>(),
        answers in proptest::collection::vec(answer(), 1..8),
        actions in proptest::collection::vec(((0u64..60_000), action()), 1..40),
    ) {
        let mut c = fixture();
        let resources = [13u16, 14, 17, 18, 19, 20, 15, 16];
        for (k, (r, v)) in timing.iter().enumerate() {
            let id = resources[*r];
            let path = format!("/1/{}/{id}", k % 2);
            let value = if id == 15 || id == 16 { Value::Boolean(*v % 2 == 0) } else { int(*v) };
            set(&mut c, &path, value);
        }
        set(&mut c, "/0/0/11", int(hold_off));
        let mut reg = Registrar::new(RegistrationConfig {
            queue_mode,
            ..RegistrationConfig::default()
        });
        let mut n = 0;
        let mut now = Duration::ZERO;
        reg.start(&c, now);
        answer_all(&mut reg, &mut c, now, &answers, &mut n);
        for (dt, action) in actions {
            now += Duration::from_millis(dt);
            // The timers due until `now`, each run checked.
            for _ in 0..10_000 {
                let Some(at) = reg.poll_timeout().filter(|t| *t <= now) else { break };
                reg.handle_timeout(&mut c, at);
                answer_all(&mut reg, &mut c, at, &answers, &mut n);
                while reg.poll_event().is_some() {}
                let next = reg.poll_timeout();
                prop_assert!(next.is_none_or(|t| t > at), "at {:?}: {:?} left due", at, next);
            }
            match action {
                Action::Tick => {}
                Action::Disable(i) => { c.handle(S101, &post(&format!("/1/{i}/4"))); }
                Action::Update(i) => { c.handle(S101, &post(&format!("/1/{i}/8"))); }
                Action::BootstrapTrigger => { c.handle(S101, &post("/1/0/9")); }
                Action::BsDeleteAll => { c.handle(BS, &Request::new(Code::DELETE, "/1")); }
                Action::BsWriteServer(i, ssid) => {
                    let body = format!(r#"[{{"bn":"/1/{i}/","n":"0","v":{ssid}}},{{"n":"1","v":60}}]"#);
                    c.handle(BS, &put(&format!("/1/{i}"), ContentFormat::SENML_JSON, body.as_bytes()));
                }
                Action::BsFinish => { c.handle(BS, &post("/bs")); }
            }
            // The engine's call order: every request is followed by `handle_timeout`.
            reg.handle_timeout(&mut c, now);
            answer_all(&mut reg, &mut c, now, &answers, &mut n);
            while reg.poll_event().is_some() {}
            let next = reg.poll_timeout();
            prop_assert!(next.is_none_or(|t| t > now), "at {:?} after {:?}: {:?} left due", now, action, next);
        }
    }
}
