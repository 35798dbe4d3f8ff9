//! Information Reporting and Send (LwM2M TS 1.2 Core §6.4, §6.5, §5.1.2;
//! LightweightM2M-RMo-001…003, DSE-003…005, IR-001) on a simulated clock. The expected
//! notification times and causes of the table are worked out by hand from the attribute
//! rules of Core §5.1.2, not computed by the code under test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::borrow::Cow;
use std::time::Duration;

use common::*;
use mote_access::ShortServerId;
use mote_coap::code::Code;
use mote_coap::content_format::ContentFormat;
use mote_lwm2m::attributes::Causes;
use mote_lwm2m::data::ResourceData;
use mote_lwm2m::object::{ObjectDef, Operations, Range, ResourceDef, ResourceText, Version};
use mote_lwm2m::{Format, Path, ResourceType, Value};
use mote_lwm2m_client::Client;
use mote_lwm2m_client::object::DataObject;
use mote_lwm2m_client::reporting::{
    ObservationToken, Report, ReportEvent, Reporter, ReportingConfig, ReportingError,
};

const A: ShortServerId = ShortServerId(101);
const B: ShortServerId = ShortServerId(102);
const TOKEN: ObservationToken = ObservationToken(7);

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn set(c: &mut Client, path: &str, v: Value) {
    c.bootstrap_write(&p(path), &[rec(path, v)]).unwrap();
}

/// An On/Off switch (OMNA 3342, reduced) with a Boolean Resource, owned by 101.
fn with_switch(c: &mut Client) {
    c.define(ObjectDef {
        id: 3342,
        name: Cow::Borrowed("On/Off switch"),
        urn: Cow::Borrowed("urn:oma:lwm2m:ext:3342"),
        version: Version { major: 1, minor: 0 },
        lwm2m_version: Version { major: 1, minor: 0 },
        multiple: true,
        mandatory: false,
        resources: Cow::Owned(vec![ResourceDef {
            id: 5500,
            operations: Operations::R,
            multiple: false,
            mandatory: true,
            kind: ResourceType::Boolean,
            range: Range::Any,
        }]),
        texts: Cow::Owned(vec![ResourceText {
            id: 5500,
            name: Cow::Borrowed("Digital Input State"),
            units: Cow::Borrowed(""),
        }]),
    });
    c.register(3342, Box::new(DataObject::new())).unwrap();
    set(c, "/3342/0/5500", Value::Boolean(false));
    acl(c, 11, 3342, 0, 101, &[]);
}

/// Write-Attributes by `server` (through the DM interface, as a server would).
fn attrs(c: &mut Client, server: ShortServerId, path: &str, query: &str) {
    let mut req = mote_lwm2m_client::Request::new(Code::PUT, path);
    for q in query.split('&').filter(|q| !q.is_empty()) {
        req = req.with_query(q);
    }
    let resp = c.handle(mote_lwm2m_client::Requester::Server(server), &req);
    assert_eq!(
        resp.code,
        Code::CHANGED,
        "{query}: {}",
        resp.diagnostic_text()
    );
}

/// Changes a value the way the application does (no access control).
fn write(c: &mut Client, path: &Path, v: Value) {
    let ids = path.ids();
    c.object_mut(ids[0])
        .unwrap()
        .write(ids[1], ids[2], ResourceData::Single(v))
        .unwrap();
}

/// The temperature /3303/0/5700 becomes `v` at `now`, and the reporter is told.
fn temperature(c: &mut Client, rep: &mut Reporter, v: f64, now: Duration) {
    write(c, &p("/3303/0/5700"), Value::Float(v));
    rep.value_changed(c, &p("/3303/0/5700"), now);
}

/// [`storing_observation_with`] the default bound of the store.
fn storing_observation(c: &mut Client, path: &str, query: &str) -> Reporter {
    storing_observation_with(c, path, query, ReportingConfig::default().max_stored)
}

/// Server A stores notifications while offline (/1/0/6 true) and has `query` as its
/// attributes on `path`; a reporter storing at most `max_stored` notifications in which A
/// observes /3303/0/5700 (`TOKEN`, SenML-JSON) from time 0.
fn storing_observation_with(
    c: &mut Client,
    path: &str,
    query: &str,
    max_stored: usize,
) -> Reporter {
    set(c, "/1/0/6", Value::Boolean(true));
    attrs(c, A, path, query);
    let mut rep = Reporter::new(ReportingConfig {
        max_stored,
        ..ReportingConfig::default()
    });
    rep.observe(c, A, TOKEN, &[p("/3303/0/5700")], Format::SenmlJson, s(0))
        .unwrap();
    rep
}

fn drain(rep: &mut Reporter, out: &mut Vec<Report>) {
    while let Some(r) = rep.poll_report() {
        out.push(r);
    }
}

/// Runs timers due up to `t`.
fn timers_until(rep: &mut Reporter, c: &Client, t: u64, out: &mut Vec<Report>) {
    while let Some(at) = rep.poll_timeout().filter(|at| *at <= s(t)) {
        rep.handle_timeout(c, at);
        drain(rep, out);
    }
}

/// One step of a value series: at `t` the value becomes `v`; `announce` says whether the
/// application calls `value_changed` (false: only an epmax evaluation can see it).
struct Change {
    t: u64,
    v: Value,
    announce: bool,
}

fn at(t: u64, v: f64) -> Change {
    Change {
        t,
        v: Value::Float(v),
        announce: true,
    }
}

fn causes(names: &[&str]) -> Causes {
    let mut c = Causes::default();
    for n in names {
        match *n {
            "gt" => c.greater_than = true,
            "lt" => c.less_than = true,
            "st" => c.step = true,
            "edge" => c.edge = true,
            "changed" => c.changed = true,
            "pmax" => c.max_period = true,
            _ => panic!("{n}"),
        }
    }
    c
}

struct Row {
    name: &'static str,
    path: &'static str,
    attrs: &'static str,
    series: Vec<Change>,
    until: u64,
    expect: Vec<(u64, Causes)>,
}

#[test]
fn notification_table() {
    let t = "/3303/0/5700";
    let rows = vec![
        Row {
            // pmin 5 from /1/0/2 (Default Minimum Period); any change counts.
            name: "no attributes: server default pmin",
            path: t,
            attrs: "",
            series: vec![at(1, 22.0), at(7, 23.0), at(20, 23.0)],
            until: 40,
            expect: vec![(5, causes(&["changed"])), (10, causes(&["changed"]))],
        },
        Row {
            name: "pmin=10",
            path: t,
            attrs: "pmin=10",
            series: vec![at(1, 22.0), at(12, 23.0)],
            until: 40,
            expect: vec![(10, causes(&["changed"])), (20, causes(&["changed"]))],
        },
        Row {
            name: "pmax=30 without changes",
            path: t,
            attrs: "pmin=0&pmax=30",
            series: vec![],
            until: 95,
            expect: vec![
                (30, causes(&["pmax"])),
                (60, causes(&["pmax"])),
                (90, causes(&["pmax"])),
            ],
        },
        Row {
            // Crossing 25 in either direction, compared with the last notified value.
            name: "gt=25",
            path: t,
            attrs: "pmin=0&gt=25",
            series: vec![at(1, 24.0), at(2, 26.0), at(3, 27.0), at(4, 24.0)],
            until: 10,
            expect: vec![(2, causes(&["gt"])), (4, causes(&["gt"]))],
        },
        Row {
            // RMo-002 / RMo-003: several conditions on one resource, every cause reported.
            name: "lt=20&gt=25&st=2",
            path: t,
            attrs: "pmin=0&lt=20&gt=25&st=2",
            series: vec![at(1, 19.0), at(2, 19.5), at(3, 26.0)],
            until: 10,
            expect: vec![(1, causes(&["lt", "st"])), (3, causes(&["gt", "lt", "st"]))],
        },
        Row {
            name: "st=1",
            path: t,
            attrs: "pmin=0&st=1",
            series: vec![at(1, 22.0), at(2, 22.6), at(3, 23.0)],
            until: 10,
            expect: vec![(2, causes(&["st"]))],
        },
        Row {
            // Evaluations at least epmin apart: the change at 2 is seen at 6, the one at 8
            // at 11.
            name: "epmin=5",
            path: t,
            attrs: "pmin=0&epmin=5",
            series: vec![at(1, 22.0), at(2, 23.0), at(8, 24.0)],
            until: 20,
            expect: vec![
                (1, causes(&["changed"])),
                (6, causes(&["changed"])),
                (11, causes(&["changed"])),
            ],
        },
        Row {
            // A change nobody announced is found by the epmax evaluation at 10.
            name: "epmax=10",
            path: t,
            attrs: "pmin=0&epmax=10",
            series: vec![Change {
                t: 3,
                v: Value::Float(30.5),
                announce: false,
            }],
            until: 15,
            expect: vec![(10, causes(&["changed"]))],
        },
        Row {
            name: "pmin=3&pmax=10&gt=25",
            path: t,
            attrs: "pmin=3&pmax=10&gt=25",
            series: vec![at(1, 26.0)],
            until: 15,
            expect: vec![(3, causes(&["gt"])), (13, causes(&["pmax"]))],
        },
        Row {
            // Attributes on the Object Instance apply to its Resources (§5.1.2 levels).
            name: "instance-level pmin=7 on an instance observation",
            path: "/3303/0",
            attrs: "pmin=7",
            series: vec![at(1, 24.0), at(9, 26.0)],
            until: 20,
            expect: vec![(7, causes(&["changed"])), (14, causes(&["changed"]))],
        },
        Row {
            name: "edge=1 on a Boolean",
            path: "/3342/0/5500",
            attrs: "pmin=0&edge=1",
            series: vec![
                Change {
                    t: 1,
                    v: Value::Boolean(true),
                    announce: true,
                },
                Change {
                    t: 2,
                    v: Value::Boolean(false),
                    announce: true,
                },
                Change {
                    t: 3,
                    v: Value::Boolean(true),
                    announce: true,
                },
            ],
            until: 10,
            expect: vec![(1, causes(&["edge"])), (3, causes(&["edge"]))],
        },
        Row {
            name: "edge=0 on a Boolean",
            path: "/3342/0/5500",
            attrs: "pmin=0&edge=0",
            series: vec![
                Change {
                    t: 1,
                    v: Value::Boolean(true),
                    announce: true,
                },
                Change {
                    t: 2,
                    v: Value::Boolean(false),
                    announce: true,
                },
            ],
            until: 10,
            expect: vec![(2, causes(&["edge"]))],
        },
    ];
    for row in rows {
        let mut c = fixture();
        with_switch(&mut c);
        let observed = p(row.path);
        let attr_path = if row.path == "/3303/0" {
            "/3303/0"
        } else {
            row.path
        };
        if !row.attrs.is_empty() {
            attrs(&mut c, A, attr_path, row.attrs);
        }
        let mut rep = Reporter::new(ReportingConfig::default());
        rep.set_online(&c, A, true, s(0));
        rep.observe(&c, A, TOKEN, &[observed], Format::SenmlJson, s(0))
            .unwrap();
        let mut out = Vec::new();
        for ch in row.series {
            timers_until(&mut rep, &c, ch.t, &mut out);
            let target = if row.path == "/3303/0" {
                p("/3303/0/5700")
            } else {
                observed
            };
            write(&mut c, &target, ch.v);
            if ch.announce {
                rep.value_changed(&c, &target, s(ch.t));
                drain(&mut rep, &mut out);
            }
        }
        timers_until(&mut rep, &c, row.until, &mut out);
        let got: Vec<(u64, Causes)> = out
            .iter()
            .map(|r| match r {
                Report::Notify(n) => (n.time.as_secs(), n.causes),
                Report::Send(_) => panic!("send"),
            })
            .collect();
        assert_eq!(got, row.expect, "{}", row.name);
    }
}

fn notify_of(r: &Report) -> &mote_lwm2m_client::reporting::Notification {
    match r {
        Report::Notify(n) => n,
        Report::Send(_) => panic!("a Send"),
    }
}

#[test]
fn confirmable_from_con_or_the_default_notification_mode() {
    for (query, mode, expect) in [
        ("pmin=0", None, false),
        ("pmin=0&con=1", None, true),
        ("pmin=0", Some(1), true),
        ("pmin=0&con=0", Some(1), false),
    ] {
        let mut c = fixture();
        if let Some(m) = mode {
            // /1/x/26 Default Notification Mode: 0 NON, 1 CON.
            set(&mut c, "/1/0/26", int(m));
        }
        attrs(&mut c, A, "/3303/0/5700", query);
        let mut rep = Reporter::new(ReportingConfig::default());
        rep.set_online(&c, A, true, s(0));
        rep.observe(&c, A, TOKEN, &[p("/3303/0/5700")], Format::SenmlJson, s(0))
            .unwrap();
        temperature(&mut c, &mut rep, 30.5, s(1));
        let n = rep.poll_report().unwrap();
        assert_eq!(notify_of(&n).confirmable, expect, "{query} {mode:?}");
    }
}

#[test]
fn access_is_checked_again_before_each_notification() {
    let mut c = fixture();
    attrs(&mut c, B, "/3303/0/5700", "pmin=0");
    let mut rep = Reporter::new(ReportingConfig::default());
    rep.set_online(&c, B, true, s(0));
    rep.observe(&c, B, TOKEN, &[p("/3303/0/5700")], Format::SenmlJson, s(0))
        .unwrap();
    temperature(&mut c, &mut rep, 30.5, s(1));
    let n = rep.poll_report().unwrap();
    assert_eq!(
        decode_senml_json(&notify_of(&n).payload)["/3303/0/5700"],
        Value::Float(30.5)
    );
    // 101 (the owner) takes 102's Read right away.
    acl(&mut c, 3, 3303, 0, 101, &[(102, 0)]);
    temperature(&mut c, &mut rep, 31.5, s(2));
    assert_eq!(rep.poll_report(), None);
    match rep.poll_event() {
        Some(ReportEvent::ObservationCancelled { server, token, .. }) => {
            assert_eq!((server, token), (B, TOKEN));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(rep.observation_count(), 0);
}

fn values(r: &Report) -> Vec<Value> {
    let n = notify_of(r);
    assert!(n.stored);
    decode_senml_json(&n.payload).into_values().collect()
}

#[test]
fn notifications_are_stored_offline_with_hqmax_and_delivered_in_order() {
    let mut c = fixture();
    // /1/0/6 Notification Storing When Disabled or Offline.
    let mut rep = storing_observation(&mut c, "/3303/0/5700", "pmin=0&hqmax=2");
    for (t, v) in [(1, 22.5), (2, 23.5), (3, 24.5)] {
        temperature(&mut c, &mut rep, v, s(t));
    }
    assert_eq!(rep.poll_report(), None);
    assert_eq!(rep.stored_count(), 2);
    assert_eq!(rep.poll_event(), Some(ReportEvent::StoredDropped(A)));
    // A Send while offline is stored after them.
    let h = rep.send(&c, A, &[p("/3303/0/5700")], s(4)).unwrap();
    rep.set_online(&c, A, true, s(10));
    let mut out = Vec::new();
    drain(&mut rep, &mut out);
    // One notification of the observation at a time (the CoAP layer would let the second
    // replace the first, RFC 7641 §4.5.2); the Send is no notification and goes at once.
    assert_eq!(out.len(), 2);
    assert_eq!(values(&out[0]), [Value::Float(23.5)]);
    assert_eq!(notify_of(&out[0]).time, s(2));
    match &out[1] {
        Report::Send(x) => assert!(x.stored && x.handle == h),
        other => panic!("{other:?}"),
    }
    assert_eq!(rep.awaiting().collect::<Vec<_>>(), [TOKEN]);
    // No timer: the next one waits for the CoAP layer, however long that takes.
    assert_eq!(rep.poll_timeout(), None);
    rep.handle_timeout(&c, s(100));
    assert_eq!(rep.poll_report(), None);
    // A live change meanwhile queues behind the stored one.
    temperature(&mut c, &mut rep, 25.5, s(101));
    assert_eq!(rep.poll_report(), None);
    assert!(rep.notification_done(TOKEN));
    drain(&mut rep, &mut out);
    assert_eq!(out.len(), 3);
    assert_eq!(values(&out[2]), [Value::Float(24.5)]);
    assert!(rep.notification_done(TOKEN));
    let live = rep.poll_report().unwrap();
    assert!(!notify_of(&live).stored);
    assert!(rep.notification_done(TOKEN));
    assert!(!rep.notification_done(TOKEN), "nothing awaited any more");
    assert_eq!(rep.poll_report(), None);
    assert_eq!(rep.stored_count(), 0);
}

/// A stored notification the CoAP layer could not deliver (a Confirmable one never
/// acknowledged) is stored again with the rest, in order, and all of them go out on the
/// next return; going offline while one is in flight keeps the rest stored too.
#[test]
fn undelivered_stored_notifications_are_stored_again_in_order() {
    let mut c = fixture();
    let mut rep = storing_observation(&mut c, "/3303/0/5700", "pmin=0&hqmax=5");
    let history = [31.5, 32.5, 33.5, 34.5, 35.5];
    for (t, v) in (1..).zip(history) {
        temperature(&mut c, &mut rep, v, s(t));
    }
    assert_eq!(rep.stored_count(), 5);
    let next = |rep: &mut Reporter| {
        let r = rep.poll_report().expect("a report");
        assert_eq!(rep.poll_report(), None, "one at a time");
        values(&r)
    };
    rep.set_online(&c, A, true, s(10));
    assert_eq!(next(&mut rep), [Value::Float(31.5)]);
    assert!(rep.notification_done(TOKEN));
    assert_eq!(next(&mut rep), [Value::Float(32.5)]);
    // Never acknowledged: 32.5 and the three behind it are stored again.
    assert!(rep.notification_failed(TOKEN));
    assert_eq!(rep.stored_count(), 4);
    assert_eq!(rep.poll_report(), None);
    rep.set_online(&c, A, false, s(20));
    rep.set_online(&c, A, true, s(30));
    assert_eq!(next(&mut rep), [Value::Float(32.5)]);
    // Offline again while 32.5 is in flight: the rest stays stored, none is handed out
    // when 32.5 is done.
    rep.set_online(&c, A, false, s(31));
    assert!(rep.notification_done(TOKEN));
    assert_eq!(rep.poll_report(), None);
    assert_eq!(rep.stored_count(), 3);
    rep.set_online(&c, A, true, s(40));
    let mut got = Vec::new();
    while rep.awaiting().next().is_some() {
        got.extend(next(&mut rep));
        rep.notification_done(TOKEN);
    }
    assert_eq!(
        got,
        [Value::Float(33.5), Value::Float(34.5), Value::Float(35.5)]
    );
    assert_eq!(rep.stored_count(), 0);
    // A cancelled observation awaits nothing.
    rep.cancel(TOKEN);
    assert!(!rep.notification_failed(TOKEN));
}

#[test]
fn without_storing_the_server_gets_the_current_value_on_return() {
    let mut c = fixture();
    attrs(&mut c, B, "/3303/0/5700", "pmin=0");
    let mut rep = Reporter::new(ReportingConfig::default());
    rep.observe(&c, B, TOKEN, &[p("/3303/0/5700")], Format::SenmlJson, s(0))
        .unwrap();
    for (t, v) in [(1, 22.5), (2, 23.5)] {
        temperature(&mut c, &mut rep, v, s(t));
    }
    assert_eq!(rep.stored_count(), 0);
    assert_eq!(
        rep.send(&c, B, &[p("/3303/0/5700")], s(3)),
        Err(ReportingError::Offline(102))
    );
    rep.set_online(&c, B, true, s(5));
    let r = rep.poll_report().unwrap();
    let n = notify_of(&r);
    assert!(!n.stored);
    assert_eq!(
        decode_senml_json(&n.payload)["/3303/0/5700"],
        Value::Float(23.5)
    );
    assert_eq!(rep.poll_report(), None);
}

#[test]
fn the_store_is_bounded() {
    let mut c = fixture();
    let mut rep = storing_observation_with(&mut c, "/3303/0", "pmin=0", 3);
    rep.observe(
        &c,
        A,
        ObservationToken(8),
        &[p("/3303/0/5750")],
        Format::SenmlJson,
        s(0),
    )
    .unwrap();
    for t in 1..=2 {
        temperature(&mut c, &mut rep, t as f64, s(t));
        write(&mut c, &p("/3303/0/5750"), Value::String(format!("r{t}")));
        rep.value_changed(&c, &p("/3303/0/5750"), s(t));
    }
    assert_eq!(rep.stored_count(), 3);
    assert_eq!(rep.poll_event(), Some(ReportEvent::StoredDropped(A)));
    assert_eq!(
        rep.send(&c, A, &[p("/3303/0/5700")], s(3)),
        Err(ReportingError::StoreFull { limit: 3 })
    );
    rep.set_online(&c, A, true, s(4));
    let mut out = Vec::new();
    drain(&mut rep, &mut out);
    // The oldest (5700 = 1.0 at t=1) was dropped.
    let first: Vec<Value> = values(&out[0]);
    assert_eq!(first, [Value::String("r1".into())]);
}

/// A failed notification stored again does not take the store over its bound: the oldest
/// is dropped, as for a new one (§5.1.2 hqmax).
#[test]
fn a_failed_notification_stored_again_keeps_the_store_bound() {
    let mut c = fixture();
    let mut rep = storing_observation_with(&mut c, "/3303/0/5700", "pmin=0&hqmax=5", 2);
    let change = |c: &mut Client, rep: &mut Reporter, t: u64, v: f64| {
        write(c, &p("/3303/0/5700"), Value::Float(v));
        rep.value_changed(c, &p("/3303/0/5700"), s(t));
    };
    change(&mut c, &mut rep, 1, 41.5);
    change(&mut c, &mut rep, 2, 42.5);
    rep.set_online(&c, A, true, s(3));
    assert_eq!(values(&rep.poll_report().unwrap()), [Value::Float(41.5)]);
    // Offline with 41.5 in flight: 42.5 and a newer change fill the store.
    rep.set_online(&c, A, false, s(4));
    change(&mut c, &mut rep, 5, 43.5);
    assert_eq!(rep.stored_count(), 2);
    assert_eq!(rep.poll_event(), None);
    assert!(rep.notification_failed(TOKEN));
    assert_eq!(rep.stored_count(), 2);
    assert_eq!(rep.poll_event(), Some(ReportEvent::StoredDropped(A)));
    rep.set_online(&c, A, true, s(6));
    assert_eq!(values(&rep.poll_report().unwrap()), [Value::Float(42.5)]);
}

/// A Confirmable notification that is never acknowledged ends the CoAP observation (RFC 7641
/// §4.5): the transport cancels it, and its notifications stored again are dropped on the
/// next return with `StoredDropped` rather than handed out for an observation that is gone.
#[test]
fn stored_notifications_of_a_cancelled_observation_are_dropped_on_return() {
    let mut c = fixture();
    let mut rep = storing_observation(&mut c, "/3303/0/5700", "pmin=0&hqmax=5");
    for (t, v) in [(1, 51.5), (2, 52.5), (3, 53.5)] {
        temperature(&mut c, &mut rep, v, s(t));
    }
    rep.set_online(&c, A, true, s(4));
    assert_eq!(values(&rep.poll_report().unwrap()), [Value::Float(51.5)]);
    assert!(rep.notification_failed(TOKEN));
    assert_eq!(rep.stored_count(), 3);
    assert!(rep.cancel(TOKEN));
    rep.set_online(&c, A, false, s(5));
    rep.set_online(&c, A, true, s(6));
    assert_eq!(rep.poll_report(), None);
    assert_eq!(rep.stored_count(), 0);
    let dropped: Vec<ReportEvent> = core::iter::from_fn(|| rep.poll_event()).collect();
    assert_eq!(dropped, vec![ReportEvent::StoredDropped(A); 3]);
    assert_eq!(rep.awaiting().count(), 0);
}

#[test]
fn the_observation_table_is_bounded() {
    let c = fixture();
    let mut rep = Reporter::new(ReportingConfig {
        max_observations: 2,
        ..ReportingConfig::default()
    });
    for t in 0..2 {
        rep.observe(
            &c,
            A,
            ObservationToken(t),
            &[p("/3303/0/5700")],
            Format::SenmlJson,
            s(0),
        )
        .unwrap();
    }
    assert_eq!(
        rep.observe(
            &c,
            A,
            ObservationToken(9),
            &[p("/3/0")],
            Format::SenmlJson,
            s(0)
        ),
        Err(ReportingError::TooManyObservations { limit: 2 })
    );
    // The same token again replaces.
    rep.observe(
        &c,
        A,
        ObservationToken(1),
        &[p("/3/0")],
        Format::SenmlJson,
        s(0),
    )
    .unwrap();
    assert!(rep.cancel(ObservationToken(0)));
    assert_eq!(rep.observation_count(), 1);
}

#[test]
#[cfg(feature = "composite")]
fn observe_composite_notifies_every_target_at_once() {
    let mut c = fixture();
    attrs(&mut c, A, "/3303/0/5700", "pmin=0");
    let mut rep = Reporter::new(ReportingConfig::default());
    rep.set_online(&c, A, true, s(0));
    rep.observe(
        &c,
        A,
        TOKEN,
        &[p("/3303/0/5700"), p("/3/0/0")],
        Format::SenmlJson,
        s(0),
    )
    .unwrap();
    temperature(&mut c, &mut rep, 30.5, s(1));
    let r = rep.poll_report().unwrap();
    let v = decode_senml_json(&notify_of(&r).payload);
    assert_eq!(v["/3303/0/5700"], Value::Float(30.5));
    assert_eq!(v["/3/0/0"], Value::String("Mote".into()));
}

/// Without the `composite` feature several paths (Observe-Composite) are refused.
#[test]
#[cfg(not(feature = "composite"))]
fn observe_composite_needs_the_composite_feature() {
    let c = fixture();
    let mut rep = Reporter::new(ReportingConfig::default());
    assert_eq!(
        rep.observe(
            &c,
            A,
            TOKEN,
            &[p("/3303/0/5700"), p("/3/0/0")],
            Format::SenmlJson,
            s(0),
        ),
        Err(ReportingError::CompositeUnsupported)
    );
    assert_eq!(rep.observation_count(), 0);
}

fn send_records(r: &Report) -> std::collections::BTreeMap<String, Value> {
    let Report::Send(x) = r else {
        panic!("not a Send")
    };
    assert_eq!(x.request.code, Code::POST);
    assert_eq!(x.request.uri_path, ["dp"]);
    assert_eq!(x.request.content_format, Some(ContentFormat::SENML_CBOR));
    mote_lwm2m::senml::cbor::decode(&x.request.payload, &mote_lwm2m::object::NoDefs)
        .unwrap()
        .into_iter()
        .map(|r| (r.path.to_string(), r.value))
        .collect()
}

#[test]
fn send_reports_several_objects_atomically_and_honours_mute_send() {
    // DSE-003, DSE-005, IR-001: /3/0 and /3303/0 in one POST /dp.
    let mut c = fixture();
    let mut rep = Reporter::new(ReportingConfig::default());
    rep.set_online(&c, A, true, s(0));
    rep.set_online(&c, B, true, s(0));
    let h = rep.send(&c, A, &[p("/3/0"), p("/3303/0")], s(1)).unwrap();
    let r = rep.poll_report().unwrap();
    let v = send_records(&r);
    assert_eq!(v["/3/0/0"], Value::String("Mote".into()));
    assert_eq!(v["/3303/0/5700"], Value::Float(21.5));
    rep.on_send_response(h, Code::CHANGED);
    assert_eq!(rep.poll_event(), Some(ReportEvent::SendDelivered(h)));

    // 102 may read /3303/0 but not /5/0: /5/0 is left out; alone, nothing to send.
    let _ = rep.send(&c, B, &[p("/5/0"), p("/3303/0")], s(2)).unwrap();
    let v = send_records(&rep.poll_report().unwrap());
    assert!(v.keys().all(|k| k.starts_with("/3303/0/")), "{v:?}");
    assert_eq!(
        rep.send(&c, B, &[p("/5/0")], s(3)),
        Err(ReportingError::NothingToReport)
    );

    // DSE-004: Mute Send (/1/0/23).
    set(&mut c, "/1/0/23", Value::Boolean(true));
    assert_eq!(
        rep.send(&c, A, &[p("/3/0")], s(4)),
        Err(ReportingError::Muted(101))
    );
    assert_eq!(rep.poll_report(), None);
    assert_eq!(
        rep.send(&c, ShortServerId(7), &[p("/3/0")], s(4)),
        Err(ReportingError::UnknownServer(7))
    );
}

/// A notification the observation's format cannot carry (text/plain for an Object
/// Instance) is not sent, and the pmin / pmax deadline that asked for it is spent:
/// `poll_timeout` never reports a time `handle_timeout` has already run at and left in
/// place (a driver sleeping until that deadline would spin, as `mote lwm2m-client` did).
#[test]
fn an_unencodable_notification_leaves_no_due_deadline_behind() {
    let mut c = fixture();
    attrs(&mut c, A, "/3303/0", "pmin=10&pmax=30");
    let mut rep = Reporter::new(ReportingConfig::default());
    rep.set_online(&c, A, true, s(0));
    rep.observe(&c, A, TOKEN, &[p("/3303/0")], Format::Text, s(0))
        .unwrap();
    let mut out = Vec::new();
    // A change at 2 is held until pmin (10); pmax then asks again at 40, 70, ….
    temperature(&mut c, &mut rep, 30.0, s(2));
    assert_eq!(rep.poll_timeout(), Some(s(10)));
    let mut deadlines = Vec::new();
    for _ in 0..4 {
        let Some(at) = rep.poll_timeout() else { break };
        rep.handle_timeout(&c, at);
        drain(&mut rep, &mut out);
        let next = rep.poll_timeout();
        assert!(
            next.is_none_or(|n| n > at),
            "handle_timeout at {at:?} left {next:?} due"
        );
        deadlines.push(at.as_secs());
    }
    assert_eq!(deadlines, [10, 40, 70, 100]);
    assert!(out.is_empty(), "nothing encodable to send: {out:?}");
    // The observation stays (the server may cancel it).
    assert_eq!(rep.observation_count(), 1);
}
