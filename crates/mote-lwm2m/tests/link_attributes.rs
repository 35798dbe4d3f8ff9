//! Link-format payloads with LwM2M attributes (the TS examples in
//! `tests/data/link_format.txt`), Write-Attributes queries, and the notification decision
//! (RMo-002: every cause; RMo-003: several conditions on one resource).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mote_lwm2m::attributes::{Causes, Decision, NotificationAttributes, evaluate};
use mote_lwm2m::link::{self, Link};
use mote_lwm2m::object::Version;
use mote_lwm2m::{Path, Value};

fn examples() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/link_format.txt"),
    )
    .unwrap();
    text.split("\n=== ")
        .skip(1)
        .map(|b| {
            let mut lines = b.lines();
            let name = lines.next().unwrap().to_string();
            let mut payload = String::new();
            let mut canonical = String::new();
            for l in lines {
                if let Some(p) = l.strip_prefix("payload: ") {
                    payload = p.to_string();
                } else if let Some(c) = l.strip_prefix("canonical: ") {
                    canonical = c.to_string();
                }
            }
            (name, payload, canonical)
        })
        .collect()
}

fn p(s: &str) -> Path {
    s.parse().unwrap()
}

#[test]
fn ts_examples_parse_and_write_canonically() {
    let ex = examples();
    assert_eq!(ex.len(), 12);
    for (name, payload, canonical) in &ex {
        let links = link::parse(payload, "/").unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&link::write(&links, "/").unwrap(), canonical, "{name}");
        assert_eq!(link::parse(canonical, "/").unwrap(), links, "{name}");
    }
}

#[test]
fn discover_attributes_are_typed() {
    let ex = examples();
    let (_, payload, _) = ex
        .iter()
        .find(|(n, _, _)| n == "discover /3/0 depth 3")
        .unwrap();
    let links = link::parse(payload, "/").unwrap();
    let l7 = links.iter().find(|l| l.path == p("/3/0/7")).unwrap();
    assert_eq!(l7.attributes.dim, Some(2));
    assert_eq!(l7.attributes.notification.gt, Some(50.0));
    assert_eq!(l7.attributes.notification.lt, Some(42.2));
    let l0 = &links[0];
    assert_eq!(
        (
            l0.attributes.notification.pmin,
            l0.attributes.notification.pmax
        ),
        (Some(10), Some(60))
    );
    let (_, payload, _) = ex
        .iter()
        .find(|(n, _, _)| n == "bootstrap-discover with OSCORE")
        .unwrap();
    let links = link::parse(payload, "/").unwrap();
    assert_eq!(links[0].path, Path::ROOT);
    assert_eq!(
        links[0].attributes.lwm2m,
        Some(Version { major: 1, minor: 1 })
    );
    assert_eq!(
        links[2].attributes.uri.as_deref(),
        Some("coap://server_1.example.com")
    );
    assert_eq!(links[4].path, p("/21/2"));
    assert_eq!(links[4].attributes.ssid, Some(102));
}

#[test]
fn registration_payloads_of_the_ts() {
    // Enabler 1.1 ships Server 1.1, Device 1.1, Connectivity Monitoring 1.2.
    let v = |major, minor| Version { major, minor };
    let enabler_1_1 = |o: u16| match o {
        1 | 3 => v(1, 1),
        4 => v(1, 2),
        _ => v(1, 0),
    };
    let ex = examples();
    let canon = |n: &str| ex.iter().find(|(name, _, _)| name == n).unwrap().2.clone();
    let objs = vec![(1, v(1, 1), vec![0, 1]), (3, v(1, 1), vec![0])];
    assert_eq!(
        link::registration_payload(&[], &objs, enabler_1_1, "/").unwrap(),
        canon("register 1")
    );
    let objs = vec![(1, v(1, 0), vec![0, 1]), (3, v(1, 1), vec![0])];
    assert_eq!(
        link::registration_payload(&[], &objs, enabler_1_1, "/").unwrap(),
        canon("register 2")
    );
    // With the root link of LwM2M 1.1+ and an alternate path.
    let objs = vec![
        (1, v(1, 1), vec![0]),
        (3, v(1, 1), vec![0]),
        (5, v(1, 0), vec![]),
    ];
    let out = link::registration_payload(&[110, 112], &objs, enabler_1_1, "/lwm2m").unwrap();
    assert_eq!(
        out,
        r#"</lwm2m/>;rt="oma.lwm2m";ct="110 112",</lwm2m/1/0>,</lwm2m/3/0>,</lwm2m/5>"#
    );
    let back = link::parse(&out, "/lwm2m").unwrap();
    assert_eq!(back[0].attributes.rt.as_deref(), Some("oma.lwm2m"));
    assert_eq!(back[0].attributes.ct, [110, 112]);
    assert_eq!(back[3].path, p("/5"));
    let single = link::registration_payload(&[11544], &[], enabler_1_1, "/").unwrap();
    assert_eq!(single, r#"</>;rt="oma.lwm2m";ct=11544"#);
}

#[test]
fn invalid_links_are_rejected() {
    for bad in [
        "</3/0>;dim=256",
        "</0/0>;ssid=0",
        "</3/0>;pmin=-1",
        "</3/0>;edge=2",
        "</3/0>;ver=1",
        "<3/x>",
        "</3/0/1/2/3>",
        "</a/3>",
    ] {
        assert!(link::parse(bad, "/").is_err(), "{bad}");
    }
    assert!(link::parse("</lwm2m/3/0>", "/other").is_err());
    // lt/gt/st violating the Change Value Conditions are refused at Write-Attributes.
    let mut a = NotificationAttributes::default();
    assert!(a.apply_query("gt=10&lt=20").is_err());
    assert!(a.apply_query("gt=50&lt=42&st=5").is_err());
    assert_eq!(
        a,
        NotificationAttributes::default(),
        "a rejected query changes nothing"
    );
    assert!(a.apply_query("dim=3").is_err());
    a.apply_query("pmin=10&pmax=60&gt=50&lt=42.2&st=2&epmin=1&epmax=5&edge=1&con=0&hqmax=8")
        .unwrap();
    assert_eq!(
        a.to_query(),
        "pmin=10&pmax=60&gt=50&lt=42.2&st=2&epmin=1&epmax=5&edge=1&con=0&hqmax=8"
    );
    a.apply_query("gt&lt&st").unwrap();
    assert_eq!(
        a.to_query(),
        "pmin=10&pmax=60&epmin=1&epmax=5&edge=1&con=0&hqmax=8"
    );
    let l = Link {
        path: p("/3/0/9"),
        attributes: mote_lwm2m::attributes::LinkAttributes {
            notification: a,
            ..Default::default()
        },
    };
    assert_eq!(
        link::write(&[l], "/").unwrap(),
        "</3/0/9>;pmin=10;pmax=60;epmin=1;epmax=5;edge=1;con=0;hqmax=8"
    );
}

fn attrs(q: &str) -> NotificationAttributes {
    let mut a = NotificationAttributes::default();
    a.apply_query(q).unwrap();
    a
}

fn i(v: i64) -> Value {
    Value::Integer(v)
}

#[test]
fn notification_causes() {
    // No attributes: any change notifies at once; no change waits forever.
    let none = NotificationAttributes::default();
    assert_eq!(
        evaluate(&none, &i(1), 0, &i(2), 0),
        Decision::Notify(Causes {
            changed: true,
            ..Causes::default()
        })
    );
    assert_eq!(
        evaluate(&none, &i(1), 0, &i(1), 1000),
        Decision::Wait { deadline: None }
    );
    // pmin holds a change back until it expires.
    let a = attrs("pmin=10&pmax=60");
    assert_eq!(
        evaluate(&a, &i(1), 100, &i(2), 105),
        Decision::NotifyAt {
            at: 110,
            causes: Causes {
                changed: true,
                ..Causes::default()
            }
        }
    );
    assert_eq!(
        evaluate(&a, &i(1), 100, &i(2), 110),
        Decision::Notify(Causes {
            changed: true,
            ..Causes::default()
        })
    );
    // pmax forces one.
    assert_eq!(
        evaluate(&a, &i(1), 100, &i(1), 159),
        Decision::Wait {
            deadline: Some(160)
        }
    );
    assert_eq!(
        evaluate(&a, &i(1), 100, &i(1), 160),
        Decision::Notify(Causes {
            max_period: true,
            ..Causes::default()
        })
    );
    // pmax smaller than pmin, or 0, is ignored.
    for q in ["pmin=60&pmax=10", "pmax=0"] {
        assert_eq!(
            evaluate(&attrs(q), &i(1), 0, &i(1), 10_000),
            Decision::Wait { deadline: None },
            "{q}"
        );
    }
}

#[test]
fn change_value_conditions() {
    let gt = attrs("gt=50");
    // Crossing up and down notifies; moving on one side does not.
    assert_eq!(
        evaluate(&gt, &i(49), 0, &i(51), 1),
        Decision::Notify(Causes {
            greater_than: true,
            ..Causes::default()
        })
    );
    assert_eq!(
        evaluate(&gt, &i(51), 0, &i(49), 1),
        Decision::Notify(Causes {
            greater_than: true,
            ..Causes::default()
        })
    );
    assert_eq!(
        evaluate(&gt, &i(51), 0, &i(60), 1),
        Decision::Wait { deadline: None }
    );
    let lt = attrs("lt=42.2");
    assert_eq!(
        evaluate(&lt, &Value::Float(43.0), 0, &Value::Float(42.0), 1),
        Decision::Notify(Causes {
            less_than: true,
            ..Causes::default()
        })
    );
    assert_eq!(
        evaluate(&lt, &Value::Float(30.0), 0, &Value::Float(40.0), 1),
        Decision::Wait { deadline: None }
    );
    let st = attrs("st=5");
    assert_eq!(
        evaluate(&st, &i(10), 0, &i(15), 1),
        Decision::Notify(Causes {
            step: true,
            ..Causes::default()
        })
    );
    assert_eq!(
        evaluate(&st, &i(10), 0, &i(6), 1),
        Decision::Wait { deadline: None }
    );
    assert_eq!(
        evaluate(
            &st,
            &Value::UnsignedInteger(10),
            0,
            &Value::UnsignedInteger(4),
            1
        ),
        Decision::Notify(Causes {
            step: true,
            ..Causes::default()
        })
    );
    // Several conditions on one resource (RMo-003): each is reported.
    let all = attrs("gt=50&lt=20&st=10&pmin=5");
    let both = Causes {
        greater_than: true,
        step: true,
        ..Causes::default()
    };
    assert_eq!(
        evaluate(&all, &i(45), 0, &i(60), 2),
        Decision::NotifyAt {
            at: 5,
            causes: both
        }
    );
    assert_eq!(evaluate(&all, &i(45), 0, &i(60), 5), Decision::Notify(both));
    let three = Causes {
        greater_than: true,
        less_than: true,
        step: true,
        ..Causes::default()
    };
    assert_eq!(
        evaluate(&all, &i(10), 0, &i(60), 9),
        Decision::Notify(three)
    );
    // Edge on booleans.
    let rising = attrs("edge=1");
    assert_eq!(
        evaluate(&rising, &Value::Boolean(false), 0, &Value::Boolean(true), 1),
        Decision::Notify(Causes {
            edge: true,
            ..Causes::default()
        })
    );
    assert_eq!(
        evaluate(&rising, &Value::Boolean(true), 0, &Value::Boolean(false), 1),
        Decision::Wait { deadline: None }
    );
    let falling = attrs("edge=0");
    assert_eq!(
        evaluate(
            &falling,
            &Value::Boolean(true),
            0,
            &Value::Boolean(false),
            1
        ),
        Decision::Notify(Causes {
            edge: true,
            ..Causes::default()
        })
    );
    // Thresholds on a string do not apply: a change is a change.
    assert_eq!(
        evaluate(
            &gt,
            &Value::String("a".into()),
            0,
            &Value::String("b".into()),
            1
        ),
        Decision::Notify(Causes {
            changed: true,
            ..Causes::default()
        })
    );
}
