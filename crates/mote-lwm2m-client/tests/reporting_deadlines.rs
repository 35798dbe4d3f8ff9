//! The reporter never hands its caller a deadline it has already run at and left due:
//! after `handle_timeout(at)`, `poll_timeout()` is later than `at` or `None`, for any mix
//! of notification attributes (TS 1.2 Core §5.1.2: pmin, pmax, epmin, epmax, gt, lt, st),
//! value series, observation formats and the server going offline and back (stored
//! notifications released over time). A driver that sleeps until `poll_timeout` — as
//! `mote lwm2m-client` does — would otherwise spin.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use mote_access::ShortServerId;
use mote_coap::code::Code;
use mote_lwm2m::data::ResourceData;
use mote_lwm2m::{Format, Value};
use mote_lwm2m_client::reporting::{ObservationToken, Reporter, ReportingConfig};
use proptest::prelude::*;

const A: ShortServerId = ShortServerId(101);

fn attribute() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..8).prop_map(|v| format!("pmin={v}")),
        (0u32..20).prop_map(|v| format!("pmax={v}")),
        (0u32..6).prop_map(|v| format!("epmin={v}")),
        (0u32..15).prop_map(|v| format!("epmax={v}")),
        (15i32..30).prop_map(|v| format!("gt={v}")),
        (0i32..15).prop_map(|v| format!("lt={v}")),
        (1i32..4).prop_map(|v| format!("st={v}")),
        (0u32..4).prop_map(|v| format!("hqmax={v}")),
    ]
}

/// One step: after `dt` ms the value becomes `v` (announced or not), or the server goes
/// offline / online.
#[derive(Clone, Debug)]
enum Step {
    Value { dt: u64, v: i32, announce: bool },
    Online { dt: u64, online: bool },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u64..9000, 0i32..40, any::<bool>())
            .prop_map(|(dt, v, announce)| Step::Value { dt, v, announce }),
        1 => (0u64..9000, any::<bool>()).prop_map(|(dt, online)| Step::Online { dt, online }),
    ]
}

/// Runs the timers due up to `until`, checking each run leaves nothing due behind.
fn run_timers(rep: &mut Reporter, c: &mote_lwm2m_client::Client, until: Duration) {
    for _ in 0..10_000 {
        let Some(at) = rep.poll_timeout().filter(|at| *at <= until) else {
            return;
        };
        rep.handle_timeout(c, at);
        while rep.poll_report().is_some() {}
        let next = rep.poll_timeout();
        assert!(
            next.is_none_or(|n| n > at),
            "handle_timeout at {at:?} left {next:?} due"
        );
    }
    panic!("more than 10000 timer runs");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_deadline_is_left_due(
        attrs in proptest::collection::vec(attribute(), 0..5),
        steps in proptest::collection::vec(step(), 1..25),
        format in prop_oneof![Just(Format::Text), Just(Format::SenmlJson), Just(Format::Tlv)],
        instance in any::<bool>(),
        storing in any::<bool>(),
    ) {
        let mut c = fixture();
        c.bootstrap_write(&p("/1/0/6"), &[rec("/1/0/6", Value::Boolean(storing))]).unwrap();
        // /3303/0/5700 Sensor Value: a Float 101 owns.
        let mut req = mote_lwm2m_client::Request::new(Code::PUT, "/3303/0/5700");
        for a in &attrs {
            req = req.with_query(a);
        }
        // Inconsistent combinations are refused (4.00); the rest applies.
        let _ = c.handle(mote_lwm2m_client::Requester::Server(A), &req);
        let mut rep = Reporter::new(ReportingConfig::default());
        rep.set_online(&c, A, true, Duration::ZERO);
        let path = if instance { "/3303/0" } else { "/3303/0/5700" };
        rep.observe(&c, A, ObservationToken(1), &[p(path)], format, Duration::ZERO).unwrap();
        let mut now = Duration::ZERO;
        for s in steps {
            let dt = match s {
                Step::Value { dt, .. } | Step::Online { dt, .. } => dt,
            };
            now += Duration::from_millis(dt);
            run_timers(&mut rep, &c, now);
            match s {
                Step::Value { v, announce, .. } => {
                    c.object_mut(3303)
                        .unwrap()
                        .write(0, 5700, ResourceData::Single(Value::Float(f64::from(v))))
                        .unwrap();
                    if announce {
                        rep.value_changed(&c, &p("/3303/0/5700"), now);
                    }
                }
                Step::Online { online, .. } => rep.set_online(&c, A, online, now),
            }
            while rep.poll_report().is_some() {}
        }
        run_timers(&mut rep, &c, now + Duration::from_secs(60));
    }
}
