//! The bootstrap session: LwM2M TS 1.2 Core §6.1, Transport §6.4.2 and §6.7 (Bootstrap
//! response codes), requirement LightweightM2M-BsR-001 (read what is in place first).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use core::time::Duration;

use mote_coap::code::{Code, MessageType};
use mote_coap::option::{OptionNumber, OptionRef};
use mote_lwm2m::{Path, Record, Value};
use mote_lwm2m_server::bootstrap::{
    AccessControlInstance, OscoreInstance, SecurityInstance, SecurityMode, ServerInstance,
};
use mote_lwm2m_server::{
    BootstrapConfig, BootstrapError, BootstrapLimits, BootstrapOutcome, BootstrapServer,
    BootstrapStep, Identity, Request, RequestParts,
};

fn p(s: &str) -> Path {
    s.parse().unwrap()
}

fn id() -> Identity {
    Identity::Oscore(b"bs-client".to_vec())
}

fn plan() -> BootstrapConfig {
    BootstrapConfig {
        security: vec![SecurityInstance {
            instance: 1,
            server_uri: "coap://dm.example:5683".into(),
            bootstrap_server: false,
            security_mode: SecurityMode::NoSec,
            public_key_or_identity: vec![],
            server_public_key: vec![],
            secret_key: vec![],
            short_server_id: Some(101),
            client_hold_off_time: None,
            oscore_security_mode: Some(0),
        }],
        oscore: vec![OscoreInstance {
            instance: 0,
            master_secret: vec![1; 16],
            sender_id: vec![0x01],
            recipient_id: vec![],
            aead_algorithm: Some(10),
            hmac_algorithm: None,
            master_salt: None,
            id_context: None,
        }],
        servers: vec![ServerInstance {
            instance: 0,
            short_server_id: 101,
            lifetime: 300,
            default_pmin: None,
            default_pmax: None,
            notification_storing: false,
            binding: "U".into(),
        }],
        access_control: vec![AccessControlInstance {
            instance: 0,
            object_id: 3,
            object_instance_id: 0,
            acl: vec![(101, 7)],
            owner: 101,
        }],
        ..BootstrapConfig::default()
    }
}

fn bs_request(q: &[&str]) -> Request {
    let mut r = Request::new(Code::POST, &["bs"]);
    for x in q {
        r = r.with_query(x);
    }
    r
}

fn started(limits: BootstrapLimits) -> BootstrapServer {
    let mut s = BootstrapServer::new(limits);
    s.set_plan("dev", plan());
    let r = s.handle_request(&bs_request(&["ep=dev", "pct=11542"]), &id(), Duration::ZERO);
    assert_eq!(r.code, Code::CHANGED, "{}", r.diagnostic());
    s
}

fn next(s: &mut BootstrapServer) -> (BootstrapStep, RequestParts) {
    let req = s.poll_request(Duration::ZERO).expect("a request");
    assert_eq!((req.endpoint.as_str(), req.identity), ("dev", id()));
    let (step, parts) = (req.step, req.parts);
    // One outstanding request per session.
    assert!(s.poll_request(Duration::ZERO).is_none());
    (step, parts)
}

fn answer(s: &mut BootstrapServer, code: Code, cf: Option<&[u8]>, payload: &[u8]) {
    let opts: Vec<OptionRef<'_>> = cf
        .map(|c| OptionRef::new(OptionNumber::CONTENT_FORMAT, c))
        .into_iter()
        .collect();
    s.handle_response("dev", code, opts, payload).unwrap();
}

const DISCOVER: &[u8] = br#"</>;lwm2m=1.1,</0/0>,</1/0>;ssid=101,</2/0>,</3/0>"#;
// Read /1 in TLV: instance 0 (0x08: instance, 8-bit id, length 9) with resource 0 = 101
// and resource 1 = 86400 (4-byte integer, 0xc4).
const READ_1: &[u8] = &[
    0x08, 0x00, 0x09, 0xc1, 0x00, 0x65, 0xc4, 0x01, 0x00, 0x01, 0x51, 0x80,
];

#[test]
fn full_sequence_reads_before_writing() {
    let mut s = started(BootstrapLimits::default());
    let tlv: &[u8] = &[0x2d, 0x16];
    let mut steps = Vec::new();
    // Discover: GET with no Uri-Path and Accept 40, bytes by hand.
    let (step, parts) = next(&mut s);
    assert_eq!(
        parts.to_message(MessageType::Con, 1, &[]).to_vec().unwrap(),
        [0x40, 0x01, 0x00, 0x01, 0xd1, 0x04, 40]
    );
    steps.push(step);
    answer(&mut s, Code::CONTENT, Some(&[40]), DISCOVER);
    // Read /1: GET /1, Accept TLV.
    let (step, parts) = next(&mut s);
    assert_eq!(
        parts.to_message(MessageType::Con, 1, &[]).to_vec().unwrap(),
        [0x40, 0x01, 0x00, 0x01, 0xb1, b'1', 0x62, 0x2d, 0x16]
    );
    steps.push(step);
    answer(&mut s, Code::CONTENT, Some(tlv), READ_1);
    let (step, _) = next(&mut s);
    steps.push(step);
    answer(&mut s, Code::CONTENT, Some(tlv), &[]);
    // Delete /: DELETE with no Uri-Path.
    let (step, parts) = next(&mut s);
    assert_eq!(
        parts.to_message(MessageType::Con, 1, &[]).to_vec().unwrap(),
        [0x40, 0x04, 0x00, 0x01]
    );
    steps.push(step);
    answer(&mut s, Code::DELETED, None, &[]);
    for _ in 0..4 {
        let (step, parts) = next(&mut s);
        if step == BootstrapStep::Write(p("/1/0")) {
            // PUT /1/0, Content-Format TLV; resources 0 = 101, 1 = 300 (0x012c), 6 =
            // false, 7 = "U".
            let want = [
                0x40, 0x03, 0x00, 0x01, 0xb1, b'1', 0x01, b'0', 0x12, 0x2d, 0x16, 0xff, 0xc1, 0x00,
                0x65, 0xc2, 0x01, 0x01, 0x2c, 0xc1, 0x06, 0x00, 0xc1, 0x07, b'U',
            ];
            assert_eq!(
                parts.to_message(MessageType::Con, 1, &[]).to_vec().unwrap(),
                want
            );
        }
        assert_eq!(parts.code, Code::PUT);
        steps.push(step);
        answer(&mut s, Code::CHANGED, None, &[]);
    }
    // Finish: POST /bs.
    let (step, parts) = next(&mut s);
    assert_eq!(
        parts.to_message(MessageType::Con, 1, &[]).to_vec().unwrap(),
        [0x40, 0x02, 0x00, 0x01, 0xb2, b'b', b's']
    );
    steps.push(step);
    answer(&mut s, Code::CHANGED, None, &[]);
    assert_eq!(
        steps,
        [
            BootstrapStep::Discover,
            BootstrapStep::Read(p("/1")),
            BootstrapStep::Read(p("/2")),
            BootstrapStep::Delete(Path::ROOT),
            BootstrapStep::Write(p("/0/1")),
            BootstrapStep::Write(p("/21/0")),
            BootstrapStep::Write(p("/1/0")),
            BootstrapStep::Write(p("/2/0")),
            BootstrapStep::Finish,
        ]
    );
    let (ep, outcome) = s.poll_outcome().unwrap();
    assert_eq!(ep, "dev");
    let BootstrapOutcome::Finished { discovered, read } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(discovered.len(), 5);
    assert_eq!(
        read,
        vec![
            Record::new(p("/1/0/0"), Value::Integer(101)),
            Record::new(p("/1/0/1"), Value::Integer(86400)),
        ]
    );
    assert_eq!(s.sessions(), 0);
    assert!(s.poll_request(Duration::ZERO).is_none());
}

fn run_to(s: &mut BootstrapServer, target: &BootstrapStep) {
    loop {
        let (step, _) = next(s);
        if &step == target {
            return;
        }
        match step {
            BootstrapStep::Discover => answer(s, Code::CONTENT, Some(&[40]), b"</1/0>,</3/0>"),
            BootstrapStep::Read(_) => answer(s, Code::CONTENT, Some(&[0x2d, 0x16]), READ_1),
            BootstrapStep::Delete(_) => answer(s, Code::DELETED, None, &[]),
            _ => answer(s, Code::CHANGED, None, &[]),
        }
    }
}

#[test]
fn finish_not_acceptable_fails_the_session() {
    let mut s = started(BootstrapLimits::default());
    run_to(&mut s, &BootstrapStep::Finish);
    answer(&mut s, Code::NOT_ACCEPTABLE, None, b"inconsistent");
    assert_eq!(
        s.poll_outcome(),
        Some((
            "dev".into(),
            BootstrapOutcome::Failed {
                step: BootstrapStep::Finish,
                code: Some(Code::NOT_ACCEPTABLE),
                diagnostic: "inconsistent".into(),
            }
        ))
    );
    assert_eq!(s.sessions(), 0);
}

#[test]
fn no_acl_object_no_read_of_2() {
    let mut s = started(BootstrapLimits::default());
    let (step, _) = next(&mut s);
    assert_eq!(step, BootstrapStep::Discover);
    answer(&mut s, Code::CONTENT, Some(&[40]), b"</1/0>,</3/0>");
    assert_eq!(next(&mut s).0, BootstrapStep::Read(p("/1")));
    answer(&mut s, Code::CONTENT, Some(&[0x2d, 0x16]), READ_1);
    assert_eq!(next(&mut s).0, BootstrapStep::Delete(Path::ROOT));
}

#[test]
fn write_failure_names_the_step() {
    let mut s = started(BootstrapLimits::default());
    run_to(&mut s, &BootstrapStep::Write(p("/21/0")));
    answer(&mut s, Code::UNSUPPORTED_CONTENT_FORMAT, None, &[]);
    let (_, outcome) = s.poll_outcome().unwrap();
    assert_eq!(
        outcome,
        BootstrapOutcome::Failed {
            step: BootstrapStep::Write(p("/21/0")),
            code: Some(Code::UNSUPPORTED_CONTENT_FORMAT),
            diagnostic: String::new(),
        }
    );
}

#[test]
fn bootstrap_request_refusals() {
    let mut s = BootstrapServer::new(BootstrapLimits::default());
    s.set_plan("dev", plan());
    let cases: &[(&[&str], Code)] = &[
        (&["ep=other"], Code::BAD_REQUEST), // Unknown Endpoint Client Name
        (&["pct=11542"], Code::BAD_REQUEST), // no ep
        (&["ep=dev", "pct=0"], Code::UNSUPPORTED_CONTENT_FORMAT), // text cannot carry instances
        (&["ep=dev", "pct=9999"], Code::UNSUPPORTED_CONTENT_FORMAT),
        (&["ep=dev", "pct=x"], Code::BAD_REQUEST),
    ];
    for (q, code) in cases {
        let r = s.handle_request(&bs_request(q), &id(), Duration::ZERO);
        assert_eq!(r.code, *code, "{q:?}: {}", r.diagnostic());
        assert!(!r.diagnostic().is_empty());
    }
    assert_eq!(s.sessions(), 0);
    let r = s.handle_request(&Request::new(Code::POST, &["rd"]), &id(), Duration::ZERO);
    assert_eq!(r.code, Code::NOT_FOUND);
    assert_eq!(
        s.handle_response("dev", Code::CHANGED, [], &[]),
        Err(BootstrapError::NoOutstandingRequest)
    );
    // Without pct: the plan's format, else TLV.
    assert_eq!(
        s.handle_request(&bs_request(&["ep=dev"]), &id(), Duration::ZERO)
            .code,
        Code::CHANGED
    );
    let parts = s.poll_request(Duration::ZERO).unwrap().parts;
    assert_eq!(
        parts.options.get(OptionNumber::ACCEPT).unwrap().value,
        &[40]
    );
}

#[test]
fn bound_sessions() {
    let mut s = BootstrapServer::new(BootstrapLimits {
        max_sessions: 1,
        ..BootstrapLimits::default()
    });
    s.set_plan("dev", plan());
    s.set_plan("dev2", plan());
    assert_eq!(
        s.handle_request(&bs_request(&["ep=dev"]), &id(), Duration::ZERO)
            .code,
        Code::CHANGED
    );
    let r = s.handle_request(&bs_request(&["ep=dev2"]), &id(), Duration::ZERO);
    assert_eq!(
        (r.code, r.diagnostic()),
        (Code::SERVICE_UNAVAILABLE, "too many bootstrap sessions (1)")
    );
    // The same endpoint may restart its session.
    assert_eq!(
        s.handle_request(&bs_request(&["ep=dev"]), &id(), Duration::ZERO)
            .code,
        Code::CHANGED
    );
    assert_eq!(s.sessions(), 1);
}

#[test]
fn stalled_session_times_out() {
    let limits = BootstrapLimits {
        response_timeout: Duration::from_secs(30),
        ..BootstrapLimits::default()
    };
    let mut s = started(limits);
    assert_eq!(s.poll_timeout(), None);
    assert!(s.poll_request(Duration::from_secs(5)).is_some());
    assert_eq!(s.poll_timeout(), Some(Duration::from_secs(35)));
    s.handle_timeout(Duration::from_secs(34));
    assert!(s.poll_outcome().is_none());
    s.handle_timeout(Duration::from_secs(35));
    assert_eq!(
        s.poll_outcome(),
        Some((
            "dev".into(),
            BootstrapOutcome::Failed {
                step: BootstrapStep::Discover,
                code: None,
                diagnostic: "no response".into(),
            }
        ))
    );
    assert_eq!(s.sessions(), 0);
}

#[test]
fn plan_records_use_the_ts_resource_ids() {
    let c = plan();
    let sec = c.security[0].records();
    let ids: Vec<String> = sec.iter().map(|r| r.path.to_string()).collect();
    assert_eq!(
        ids,
        [
            "/0/1/0", "/0/1/1", "/0/1/2", "/0/1/3", "/0/1/4", "/0/1/5", "/0/1/10", "/0/1/17"
        ]
    );
    assert_eq!(sec[2].value, Value::Integer(3)); // NoSec
    assert_eq!(
        sec[7].value,
        Value::Objlnk(mote_lwm2m::ObjectLink::new(21, 0))
    );
    let acl = c.access_control[0].records();
    let ids: Vec<String> = acl.iter().map(|r| r.path.to_string()).collect();
    assert_eq!(ids, ["/2/0/0", "/2/0/1", "/2/0/2/101", "/2/0/3"]);
    let os = c.oscore[0].records();
    let ids: Vec<String> = os.iter().map(|r| r.path.to_string()).collect();
    assert_eq!(ids, ["/21/0/0", "/21/0/1", "/21/0/2", "/21/0/3"]);
}

#[test]
fn writes_use_the_preferred_content_format() {
    let mut s = BootstrapServer::new(BootstrapLimits::default());
    s.set_plan(
        "dev",
        BootstrapConfig {
            read_before_write: false,
            ..plan()
        },
    );
    let r = s.handle_request(&bs_request(&["ep=dev", "pct=110"]), &id(), Duration::ZERO);
    assert_eq!(r.code, Code::CHANGED);
    // Without read_before_write (a 1.0 client): Delete first.
    assert_eq!(next(&mut s).0, BootstrapStep::Delete(Path::ROOT));
    answer(&mut s, Code::DELETED, None, &[]);
    loop {
        let (step, parts) = next(&mut s);
        if step == BootstrapStep::Write(p("/1/0")) {
            assert_eq!(
                parts
                    .options
                    .get(OptionNumber::CONTENT_FORMAT)
                    .unwrap()
                    .value,
                &[110]
            );
            let back = mote_lwm2m::decode(
                mote_lwm2m::Format::SenmlJson,
                &p("/1/0"),
                &parts.payload,
                &mote_lwm2m::object::Builtin,
            )
            .unwrap();
            assert_eq!(
                back,
                vec![
                    Record::new(p("/1/0/0"), Value::Integer(101)),
                    Record::new(p("/1/0/1"), Value::Integer(300)),
                    Record::new(p("/1/0/6"), Value::Boolean(false)),
                    Record::new(p("/1/0/7"), Value::String("U".into())),
                ]
            );
            return;
        }
        answer(&mut s, Code::CHANGED, None, &[]);
    }
}

/// The outcome queue is bounded ([`BootstrapLimits::max_queued_outcomes`]): with it full, the
/// outcome of another ended session is dropped and counted, and the queued ones stay intact.
#[test]
fn outcome_queue_is_bounded() {
    let mut s = BootstrapServer::new(BootstrapLimits {
        max_queued_outcomes: 2,
        ..BootstrapLimits::default()
    });
    for ep in ["a", "b", "c"] {
        s.set_plan(ep, plan());
        let q = format!("ep={ep}");
        assert_eq!(
            s.handle_request(&bs_request(&[&q]), &id(), Duration::ZERO)
                .code,
            Code::CHANGED
        );
    }
    for ep in ["a", "b", "c"] {
        assert!(s.abort(ep, "gone"));
    }
    assert_eq!(s.sessions(), 0);
    assert_eq!(s.dropped_outcomes(), 1);
    let ended: Vec<String> = std::iter::from_fn(|| s.poll_outcome())
        .map(|(ep, _)| ep)
        .collect();
    assert_eq!(ended, ["a", "b"]);
    // Room again.
    s.handle_request(&bs_request(&["ep=a"]), &id(), Duration::ZERO);
    assert!(s.abort("a", "gone"));
    assert_eq!(s.poll_outcome().map(|(ep, _)| ep).as_deref(), Some("a"));
    assert_eq!(s.dropped_outcomes(), 1);
}
