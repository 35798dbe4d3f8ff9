//! The Client Registration Interface and Send: LwM2M TS 1.2 Core §6.2, Transport §6.4.3,
//! §6.5, §6.7 (response codes), queue mode (Transport §6.5), bounds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use core::time::Duration;

use mote_coap::code::{Code, MessageType};
use mote_coap::content_format::ContentFormat;
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;
use mote_lwm2m::{Path, Record, Value};
use mote_lwm2m_server::registration::Binding;
use mote_lwm2m_server::{
    Event, Identity, InMemoryStore, LwM2mVersion, QueueError, RegistrationId, RegistrationStore,
    Request, RequestParts, Response, Server, ServerConfig,
};

fn a() -> Identity {
    Identity::Oscore(b"client-a".to_vec())
}
fn b() -> Identity {
    Identity::Oscore(b"client-b".to_vec())
}

/// An RNG returning 1, 2, 3, … (so ids are predictable in tests only).
fn counter() -> impl FnMut() -> u32 {
    let mut n = 0u32;
    move || {
        n += 1;
        n
    }
}

fn register(query: &[&str], payload: &str) -> Request {
    let mut r = Request::new(Code::POST, &["rd"]).with_payload(payload.as_bytes());
    for q in query {
        r = r.with_query(q);
    }
    r
}

fn server(config: ServerConfig) -> Server<InMemoryStore> {
    Server::new(config, InMemoryStore::new())
}

fn id_of(r: &Response) -> RegistrationId {
    let loc = r.location_path();
    assert_eq!(loc.len(), 2, "{loc:?}");
    assert_eq!(loc[0], "rd");
    RegistrationId::from_text(loc[1])
}

fn events(s: &mut Server<InMemoryStore>) -> Vec<Event> {
    core::iter::from_fn(|| s.poll_event()).collect()
}

const OBJECTS: &str = "</1/0>,</3/0>";

#[test]
fn invalid_registrations_table() {
    // (query, payload, expected code, diagnostic substring); codes from Transport §6.7.
    let table: &[(&[&str], &str, Code, &str)] = &[
        (
            &["lwm2m=1.2", "lt=60"],
            OBJECTS,
            Code::BAD_REQUEST,
            "missing parameter ep",
        ),
        (
            &["ep=x", "lwm2m=1.3"],
            OBJECTS,
            Code::PRECONDITION_FAILED,
            "unsupported LwM2M version 1.3",
        ),
        (
            &["ep=x", "lwm2m=2.0"],
            OBJECTS,
            Code::PRECONDITION_FAILED,
            "unsupported LwM2M version 2.0",
        ),
        (
            &["ep=x", "lwm2m=one"],
            OBJECTS,
            Code::BAD_REQUEST,
            "invalid parameter lwm2m",
        ),
        (
            &["ep=x", "lwm2m=1.1", "lt=0"],
            OBJECTS,
            Code::BAD_REQUEST,
            "invalid parameter lt",
        ),
        (
            &["ep=x", "lwm2m=1.1", "lt=-5"],
            OBJECTS,
            Code::BAD_REQUEST,
            "invalid parameter lt",
        ),
        (
            &["ep=x", "lwm2m=1.1", "lt=99999999999"],
            OBJECTS,
            Code::BAD_REQUEST,
            "invalid parameter lt",
        ),
        (
            &["ep=x", "lwm2m=1.1", "b=X"],
            OBJECTS,
            Code::BAD_REQUEST,
            "invalid parameter b",
        ),
        (
            &["ep=x", "lwm2m=1.1", "b=UU"],
            OBJECTS,
            Code::BAD_REQUEST,
            "invalid parameter b",
        ),
        (
            &["ep=x", "lwm2m=1.1", "b=UQ"],
            OBJECTS,
            Code::BAD_REQUEST,
            "invalid parameter b",
        ),
        (
            &["ep=x", "lwm2m=1.0", "Q"],
            OBJECTS,
            Code::BAD_REQUEST,
            "invalid parameter Q",
        ),
        (
            &["ep=x", "lwm2m=1.1", "Q=1"],
            OBJECTS,
            Code::BAD_REQUEST,
            "invalid parameter Q",
        ),
        (
            &["ep=x", "lwm2m=1.1", "sms=+4912"],
            OBJECTS,
            Code::BAD_REQUEST,
            "invalid parameter sms",
        ),
        (
            &["ep=x", "lwm2m=1.1", "foo=1"],
            OBJECTS,
            Code::BAD_REQUEST,
            "unknown parameter foo",
        ),
        (
            &["ep=x", "ep=y", "lwm2m=1.1"],
            OBJECTS,
            Code::BAD_REQUEST,
            "duplicate parameter ep",
        ),
        (
            &["ep=", "lwm2m=1.1"],
            OBJECTS,
            Code::BAD_REQUEST,
            "invalid parameter ep",
        ),
        (
            &["ep=x", "lwm2m=1.1"],
            "</0/0>,</1/0>",
            Code::BAD_REQUEST,
            "Security (0)",
        ),
        (
            &["ep=x", "lwm2m=1.1"],
            "</1/0>,</21/0>",
            Code::BAD_REQUEST,
            "OSCORE (21)",
        ),
        (
            &["ep=x", "lwm2m=1.1"],
            "</1/0/1>",
            Code::BAD_REQUEST,
            "must be /O or /O/I",
        ),
        (
            &["ep=x", "lwm2m=1.1"],
            "1/0",
            Code::BAD_REQUEST,
            "invalid object list",
        ),
        (
            &["ep=x", "lwm2m=1.1"],
            "</a/b>",
            Code::BAD_REQUEST,
            "invalid object list",
        ),
        (
            &["ep=x", "lwm2m=1.1"],
            "",
            Code::CONFLICT,
            "cannot determine",
        ),
        (
            &["ep=x", "lwm2m=1.1", "pid=p1"],
            "",
            Code::CONFLICT,
            "cannot determine",
        ),
    ];
    for (query, payload, code, diag) in table {
        let mut s = server(ServerConfig::default());
        let r = s.handle_request(
            &register(query, payload),
            &a(),
            Duration::ZERO,
            &mut counter(),
        );
        assert_eq!(r.code, *code, "{query:?} {payload:?}: {}", r.diagnostic());
        assert!(
            r.diagnostic().contains(diag),
            "{query:?}: diagnostic {:?} lacks {diag:?}",
            r.diagnostic()
        );
        assert!(r.location_path().is_empty());
        assert!(s.store().is_empty(), "{query:?} must not register");
        assert_eq!(s.poll_event(), None);
    }
}

#[test]
fn payload_content_format_must_be_link_format() {
    let mut s = server(ServerConfig::default());
    let req =
        register(&["ep=x", "lwm2m=1.1"], OBJECTS).with_content_format(ContentFormat::SENML_JSON);
    let r = s.handle_request(&req, &a(), Duration::ZERO, &mut counter());
    assert_eq!(r.code, Code::BAD_REQUEST);
    assert!(r.diagnostic().contains("application/link-format"));
    let ok =
        register(&["ep=x", "lwm2m=1.1"], OBJECTS).with_content_format(ContentFormat::LINK_FORMAT);
    assert_eq!(
        s.handle_request(&ok, &a(), Duration::ZERO, &mut counter())
            .code,
        Code::CREATED
    );
}

#[test]
fn valid_registration_fields_and_location_path() {
    let mut s = server(ServerConfig::default());
    let req = register(
        &[
            "ep=dev-1",
            "lt=300",
            "lwm2m=1.2",
            "b=UT",
            "Q",
            "sms=4912345",
            "pid=p1",
            "pid=p2",
        ],
        r#"</>;rt="oma.lwm2m";ct="60 110 112 11544",</1>;ver=1.1,</1/0>,</3/0>,</5>"#,
    );
    let now = Duration::from_secs(1000);
    let r = s.handle_request(&req, &a(), now, &mut counter());
    assert_eq!(r.code, Code::CREATED, "{}", r.diagnostic());
    // 128 bits from the RNG words 1, 2, 3, 4, as hex (written by hand).
    let expected = "00000001000000020000000300000004";
    assert_eq!(r.location_path(), ["rd", expected]);
    // The options as they go on the wire: Location-Path (8) "rd", then the id.
    let msg = r.to_message(MessageType::Ack, 7, &[0x42]);
    let bytes = msg.to_vec().unwrap();
    let mut want = vec![
        0x61,
        0x41,
        0x00,
        0x07,
        0x42,
        0x82,
        b'r',
        b'd',
        0x0d,
        32 - 13,
    ];
    want.extend_from_slice(expected.as_bytes());
    assert_eq!(bytes, want);

    let reg = s
        .registration(&RegistrationId::from_text(expected))
        .unwrap();
    assert_eq!(reg.endpoint, "dev-1");
    assert_eq!(reg.identity, a());
    assert_eq!(reg.version, LwM2mVersion::V1_2);
    assert_eq!(reg.lifetime, Duration::from_secs(300));
    assert_eq!(
        reg.binding,
        Binding {
            udp: true,
            tcp: true,
            sms: false,
            non_ip: false
        }
    );
    assert!(reg.queue_mode);
    assert_eq!(reg.sms.as_deref(), Some("4912345"));
    assert_eq!(reg.profile_ids, ["p1", "p2"]);
    assert_eq!(reg.root_path, "/");
    assert_eq!(
        reg.content_formats,
        [
            ContentFormat(60),
            ContentFormat(110),
            ContentFormat(112),
            ContentFormat(11544)
        ]
    );
    let paths: Vec<String> = reg.objects.iter().map(|l| l.path.to_string()).collect();
    assert_eq!(paths, ["/1", "/1/0", "/3/0", "/5"]);
    assert_eq!(
        reg.objects[0].attributes.ver.map(|v| (v.major, v.minor)),
        Some((1, 1))
    );
    assert_eq!(reg.expires_at(), Duration::from_secs(1300));
    let ev = events(&mut s);
    assert_eq!(
        ev[0],
        Event::Registered {
            id: RegistrationId::from_text(expected),
            endpoint: "dev-1".into()
        }
    );
}

#[test]
fn registration_from_a_decoded_message() {
    let bytes = OwnedMessage::new(MessageType::Con, Code::POST, 1)
        .with_option(OptionNumber::URI_PATH, "rd")
        .with_option(OptionNumber::URI_QUERY, "ep=m")
        .with_option(OptionNumber::URI_QUERY, "lwm2m=1.1")
        .with_uint_option(OptionNumber::CONTENT_FORMAT, 40)
        .with_payload(OBJECTS)
        .to_vec()
        .unwrap();
    let req = Request::from_message(&Message::decode(&bytes).unwrap()).unwrap();
    assert_eq!(req.path, ["rd"]);
    assert_eq!(req.query, ["ep=m", "lwm2m=1.1"]);
    assert_eq!(req.content_format, Some(ContentFormat::LINK_FORMAT));
    let mut s = server(ServerConfig::default());
    assert_eq!(
        s.handle_request(&req, &a(), Duration::ZERO, &mut counter())
            .code,
        Code::CREATED
    );
}

#[test]
fn lwm2m_1_0_defaults_and_queue_letter() {
    let mut s = server(ServerConfig::default());
    let r = s.handle_request(
        &register(&["ep=old", "b=UQ"], OBJECTS),
        &a(),
        Duration::ZERO,
        &mut counter(),
    );
    assert_eq!(r.code, Code::CREATED, "{}", r.diagnostic());
    let reg = s.registration(&id_of(&r)).unwrap();
    assert_eq!(reg.version, LwM2mVersion::V1_0);
    assert_eq!(reg.lifetime, Duration::from_secs(86_400));
    assert!(reg.queue_mode);
    assert_eq!(reg.binding, Binding::UDP);
}

#[test]
fn alternate_path() {
    let mut s = server(ServerConfig::default());
    let r = s.handle_request(
        &register(
            &["ep=alt", "lwm2m=1.1"],
            r#"</lwm2m>;rt="oma.lwm2m";ct=110,</lwm2m/1/0>,</lwm2m/3/0>"#,
        ),
        &a(),
        Duration::ZERO,
        &mut counter(),
    );
    assert_eq!(r.code, Code::CREATED, "{}", r.diagnostic());
    let reg = s.registration(&id_of(&r)).unwrap();
    assert_eq!(reg.root_path, "/lwm2m");
    assert_eq!(reg.content_formats, [ContentFormat::SENML_JSON]);
    assert_eq!(reg.objects.len(), 2);
    assert_eq!(reg.objects[1].path, "/3/0".parse::<Path>().unwrap());
}

#[test]
fn update_and_identity_binding() {
    let mut s = server(ServerConfig::default());
    let mut rng = counter();
    let r = s.handle_request(
        &register(&["ep=d", "lwm2m=1.1", "lt=100"], OBJECTS),
        &a(),
        Duration::ZERO,
        &mut rng,
    );
    let id = id_of(&r);
    events(&mut s);
    let upd = |q: &[&str]| {
        let mut r = Request::new(Code::POST, &["rd", id.as_str()]);
        for x in q {
            r = r.with_query(x);
        }
        r
    };
    // Another identity: 4.04 (the table allows 4.00 / 4.04; the registration is not
    // revealed), nothing changes.
    let r = s.handle_request(&upd(&["lt=999"]), &b(), Duration::from_secs(10), &mut rng);
    assert_eq!(r.code, Code::NOT_FOUND);
    let r = s.handle_request(
        &upd(&["lt=999"]),
        &Identity::None,
        Duration::from_secs(10),
        &mut rng,
    );
    assert_eq!(r.code, Code::NOT_FOUND);
    assert_eq!(
        s.registration(&id).unwrap().lifetime,
        Duration::from_secs(100)
    );
    assert_eq!(s.poll_event(), None);
    // Unknown id.
    let r = s.handle_request(
        &Request::new(Code::POST, &["rd", "nope"]),
        &a(),
        Duration::ZERO,
        &mut rng,
    );
    assert_eq!(r.code, Code::NOT_FOUND);
    // ep / lwm2m are not Update parameters.
    let r = s.handle_request(&upd(&["ep=d"]), &a(), Duration::ZERO, &mut rng);
    assert_eq!(
        (r.code, r.diagnostic()),
        (Code::BAD_REQUEST, "unknown parameter ep")
    );
    // The owner: 2.04, lifetime and binding change, expiry counted from the update.
    let r = s.handle_request(
        &upd(&["lt=200", "b=T"]),
        &a(),
        Duration::from_secs(50),
        &mut rng,
    );
    assert_eq!(r.code, Code::CHANGED, "{}", r.diagnostic());
    let reg = s.registration(&id).unwrap();
    assert_eq!(reg.lifetime, Duration::from_secs(200));
    assert!(reg.binding.tcp && !reg.binding.udp);
    assert_eq!(reg.expires_at(), Duration::from_secs(250));
    assert_eq!(
        events(&mut s),
        [Event::Updated {
            id: id.clone(),
            objects_changed: false
        }]
    );
    // A new object list.
    let r = s.handle_request(
        &upd(&[]).with_payload("</1/0>,</3/0>,</6/0>"),
        &a(),
        Duration::from_secs(60),
        &mut rng,
    );
    assert_eq!(r.code, Code::CHANGED);
    assert_eq!(s.registration(&id).unwrap().objects.len(), 3);
    assert_eq!(
        events(&mut s),
        [Event::Updated {
            id: id.clone(),
            objects_changed: true
        }]
    );
}

#[test]
fn deregister() {
    let mut s = server(ServerConfig::default());
    let mut rng = counter();
    let id = id_of(&s.handle_request(
        &register(&["ep=d", "lwm2m=1.1"], OBJECTS),
        &a(),
        Duration::ZERO,
        &mut rng,
    ));
    events(&mut s);
    let del = Request::new(Code::DELETE, &["rd", id.as_str()]);
    assert_eq!(
        s.handle_request(&del, &b(), Duration::ZERO, &mut rng).code,
        Code::NOT_FOUND
    );
    assert!(s.registration(&id).is_some());
    assert_eq!(
        s.handle_request(&del, &a(), Duration::ZERO, &mut rng).code,
        Code::DELETED
    );
    assert_eq!(
        events(&mut s),
        [Event::Deregistered {
            id: id.clone(),
            endpoint: "d".into()
        }]
    );
    assert!(s.registration(&id).is_none());
    assert_eq!(
        s.handle_request(&del, &a(), Duration::ZERO, &mut rng).code,
        Code::NOT_FOUND
    );
}

#[test]
fn routing_codes() {
    let mut s = server(ServerConfig::default());
    let mut rng = counter();
    assert_eq!(
        s.handle_request(
            &Request::new(Code::GET, &["rd"]),
            &a(),
            Duration::ZERO,
            &mut rng
        )
        .code,
        Code::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        s.handle_request(
            &Request::new(Code::PUT, &["rd", "x"]),
            &a(),
            Duration::ZERO,
            &mut rng
        )
        .code,
        Code::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        s.handle_request(
            &Request::new(Code::POST, &["x"]),
            &a(),
            Duration::ZERO,
            &mut rng
        )
        .code,
        Code::NOT_FOUND
    );
}

#[test]
fn lifetime_expiry_on_a_simulated_clock() {
    let mut s = server(ServerConfig::default());
    let mut rng = counter();
    let t0 = Duration::from_secs(10);
    let id = id_of(&s.handle_request(
        &register(&["ep=e", "lwm2m=1.1", "lt=60"], OBJECTS),
        &a(),
        t0,
        &mut rng,
    ));
    events(&mut s);
    assert_eq!(s.poll_timeout(), Some(Duration::from_secs(70)));
    s.handle_timeout(Duration::from_secs(69));
    assert_eq!(s.poll_event(), None);
    // An update at 40 s moves the expiry to 100 s.
    let upd = Request::new(Code::POST, &["rd", id.as_str()]);
    assert_eq!(
        s.handle_request(&upd, &a(), Duration::from_secs(40), &mut rng)
            .code,
        Code::CHANGED
    );
    events(&mut s);
    assert_eq!(s.poll_timeout(), Some(Duration::from_secs(100)));
    s.handle_timeout(Duration::from_secs(99));
    assert_eq!(s.poll_event(), None);
    s.handle_timeout(Duration::from_secs(100));
    assert_eq!(
        events(&mut s),
        [Event::Expired {
            id: id.clone(),
            endpoint: "e".into()
        }]
    );
    assert!(s.registration(&id).is_none());
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn re_registration_replaces() {
    let mut s = server(ServerConfig::default());
    let mut rng = counter();
    let old = id_of(&s.handle_request(
        &register(&["ep=same", "lwm2m=1.1"], OBJECTS),
        &a(),
        Duration::ZERO,
        &mut rng,
    ));
    events(&mut s);
    // A new security context (identity b) registers the same endpoint name again.
    let new = id_of(&s.handle_request(
        &register(&["ep=same", "lwm2m=1.2"], OBJECTS),
        &b(),
        Duration::from_secs(1),
        &mut rng,
    ));
    assert_ne!(old, new);
    assert_eq!(
        events(&mut s),
        [Event::Replaced {
            old: old.clone(),
            new: new.clone(),
            endpoint: "same".into()
        }]
    );
    assert_eq!(s.store().len(), 1);
    assert!(s.registration(&old).is_none());
    assert_eq!(s.registration(&new).unwrap().identity, b());
    // The old identity no longer owns anything.
    let upd = Request::new(Code::POST, &["rd", new.as_str()]);
    assert_eq!(
        s.handle_request(&upd, &a(), Duration::from_secs(2), &mut rng)
            .code,
        Code::NOT_FOUND
    );
    assert_eq!(
        s.handle_request(&upd, &b(), Duration::from_secs(2), &mut rng)
            .code,
        Code::CHANGED
    );
}

#[test]
fn unauthenticated_registration() {
    let mut s = server(ServerConfig::default());
    let r = s.handle_request(
        &register(&["ep=n", "lwm2m=1.1"], OBJECTS),
        &Identity::None,
        Duration::ZERO,
        &mut counter(),
    );
    assert_eq!(r.code, Code::FORBIDDEN);
    assert!(r.diagnostic().contains("not allowed"));
    let mut s = server(ServerConfig {
        allow_unsecured: true,
        ..ServerConfig::default()
    });
    let r = s.handle_request(
        &register(&["ep=n", "lwm2m=1.1"], OBJECTS),
        &Identity::None,
        Duration::ZERO,
        &mut counter(),
    );
    assert_eq!(r.code, Code::CREATED);
}

#[test]
fn bound_max_registrations() {
    let mut s = server(ServerConfig {
        max_registrations: 2,
        ..ServerConfig::default()
    });
    let mut rng = counter();
    for ep in ["ep=1", "ep=2"] {
        assert_eq!(
            s.handle_request(
                &register(&[ep, "lwm2m=1.1"], OBJECTS),
                &a(),
                Duration::ZERO,
                &mut rng
            )
            .code,
            Code::CREATED
        );
    }
    let r = s.handle_request(
        &register(&["ep=3", "lwm2m=1.1"], OBJECTS),
        &a(),
        Duration::ZERO,
        &mut rng,
    );
    assert_eq!(r.code, Code::SERVICE_UNAVAILABLE);
    assert_eq!(r.diagnostic(), "registration table full (2)");
    assert_eq!(s.store().len(), 2);
    // Re-registering a known endpoint is still possible when full.
    assert_eq!(
        s.handle_request(
            &register(&["ep=2", "lwm2m=1.1"], OBJECTS),
            &a(),
            Duration::ZERO,
            &mut rng
        )
        .code,
        Code::CREATED
    );
}

#[test]
fn bound_endpoint_name_length() {
    let mut s = server(ServerConfig {
        max_endpoint_len: 8,
        ..ServerConfig::default()
    });
    let mut rng = counter();
    assert_eq!(
        s.handle_request(
            &register(&["ep=12345678", "lwm2m=1.1"], OBJECTS),
            &a(),
            Duration::ZERO,
            &mut rng
        )
        .code,
        Code::CREATED
    );
    let r = s.handle_request(
        &register(&["ep=123456789", "lwm2m=1.1"], OBJECTS),
        &b(),
        Duration::ZERO,
        &mut rng,
    );
    assert_eq!(
        (r.code, r.diagnostic()),
        (Code::BAD_REQUEST, "endpoint name longer than 8 bytes")
    );
}

#[test]
fn bound_objects_per_registration() {
    let mut s = server(ServerConfig {
        max_objects: 3,
        ..ServerConfig::default()
    });
    let mut rng = counter();
    let ok = r#"</>;rt="oma.lwm2m";ct=110,</1/0>,</3/0>,</5>"#;
    assert_eq!(
        s.handle_request(
            &register(&["ep=a", "lwm2m=1.1"], ok),
            &a(),
            Duration::ZERO,
            &mut rng
        )
        .code,
        Code::CREATED
    );
    let r = s.handle_request(
        &register(&["ep=b", "lwm2m=1.1"], "</1/0>,</3/0>,</5>,</6>"),
        &b(),
        Duration::ZERO,
        &mut rng,
    );
    assert_eq!(
        (r.code, r.diagnostic()),
        (Code::BAD_REQUEST, "object list longer than 3 links")
    );
}

#[test]
fn bound_pending_events() {
    let mut s = server(ServerConfig {
        max_pending_events: 2,
        ..ServerConfig::default()
    });
    let mut rng = counter();
    for ep in ["ep=1", "ep=2"] {
        assert_eq!(
            s.handle_request(
                &register(&[ep, "lwm2m=1.1"], OBJECTS),
                &a(),
                Duration::ZERO,
                &mut rng
            )
            .code,
            Code::CREATED
        );
    }
    let r = s.handle_request(
        &register(&["ep=3", "lwm2m=1.1"], OBJECTS),
        &a(),
        Duration::ZERO,
        &mut rng,
    );
    assert_eq!(
        (r.code, r.diagnostic()),
        (Code::SERVICE_UNAVAILABLE, "event queue full (2)")
    );
    events(&mut s);
    assert_eq!(
        s.handle_request(
            &register(&["ep=3", "lwm2m=1.1"], OBJECTS),
            &a(),
            Duration::ZERO,
            &mut rng
        )
        .code,
        Code::CREATED
    );
}

fn parts(code: Code) -> RequestParts {
    mote_lwm2m_server::Operation::Delete {
        path: "/1/0".parse().unwrap(),
    }
    .encode(&mote_lwm2m_server::ClientProfile::new(LwM2mVersion::V1_1))
    .map(|mut p| {
        p.code = code;
        p
    })
    .unwrap()
}

#[test]
fn queue_mode_awake_sleep_and_held_requests() {
    let cfg = ServerConfig {
        awake_window: Duration::from_secs(10),
        max_queued_requests: 2,
        ..ServerConfig::default()
    };
    let mut s = server(cfg);
    let mut rng = counter();
    let id = id_of(&s.handle_request(
        &register(&["ep=q", "lwm2m=1.1", "Q", "lt=1000"], OBJECTS),
        &a(),
        Duration::ZERO,
        &mut rng,
    ));
    assert_eq!(
        events(&mut s),
        [
            Event::Registered {
                id: id.clone(),
                endpoint: "q".into()
            },
            Event::Awake { id: id.clone() },
        ]
    );
    assert!(s.is_awake(&id));
    // Awake: released at once.
    assert_eq!(s.submit(&id, parts(Code::GET)), Ok(false));
    assert_eq!(s.poll_request(), Some((id.clone(), parts(Code::GET))));
    // The window ends at 10 s (before the lifetime).
    assert_eq!(s.poll_timeout(), Some(Duration::from_secs(10)));
    s.handle_timeout(Duration::from_secs(9));
    assert_eq!(s.poll_event(), None);
    s.handle_timeout(Duration::from_secs(10));
    assert_eq!(events(&mut s), [Event::Sleeping { id: id.clone() }]);
    assert!(!s.is_awake(&id));
    // Asleep: held, bounded.
    assert_eq!(s.submit(&id, parts(Code::GET)), Ok(true));
    assert_eq!(s.submit(&id, parts(Code::PUT)), Ok(true));
    assert_eq!(
        s.submit(&id, parts(Code::POST)),
        Err(QueueError::Full {
            id: id.clone(),
            max: 2
        })
    );
    assert_eq!(s.held_requests(&id), 2);
    assert_eq!(s.poll_request(), None);
    // An Update wakes it: Awake, then the held requests in order.
    let upd = Request::new(Code::POST, &["rd", id.as_str()]);
    assert_eq!(
        s.handle_request(&upd, &a(), Duration::from_secs(20), &mut rng)
            .code,
        Code::CHANGED
    );
    assert_eq!(
        events(&mut s),
        [
            Event::Updated {
                id: id.clone(),
                objects_changed: false
            },
            Event::Awake { id: id.clone() },
        ]
    );
    assert_eq!(s.poll_request(), Some((id.clone(), parts(Code::GET))));
    assert_eq!(s.poll_request(), Some((id.clone(), parts(Code::PUT))));
    assert_eq!(s.poll_request(), None);
    // Activity (a response) extends the window.
    s.note_activity(&id, Duration::from_secs(25));
    s.handle_timeout(Duration::from_secs(30));
    assert_eq!(s.poll_event(), None);
    s.handle_timeout(Duration::from_secs(35));
    assert_eq!(events(&mut s), [Event::Sleeping { id: id.clone() }]);
    // Unknown registration.
    let nope = RegistrationId::from_text("nope");
    assert_eq!(
        s.submit(&nope, parts(Code::GET)),
        Err(QueueError::UnknownRegistration(nope))
    );
}

#[test]
fn non_queue_clients_are_always_reachable() {
    let mut s = server(ServerConfig {
        max_queued_requests: 0,
        ..ServerConfig::default()
    });
    let id = id_of(&s.handle_request(
        &register(&["ep=n", "lwm2m=1.1"], OBJECTS),
        &a(),
        Duration::ZERO,
        &mut counter(),
    ));
    assert!(s.is_awake(&id));
    assert_eq!(s.submit(&id, parts(Code::GET)), Ok(false));
    assert!(s.poll_request().is_some());
}

fn send(payload: &str, cf: ContentFormat) -> Request {
    Request::new(Code::POST, &["dp"])
        .with_content_format(cf)
        .with_payload(payload.as_bytes())
}

#[test]
fn send_from_registered_client() {
    let mut s = server(ServerConfig::default());
    let id = id_of(&s.handle_request(
        &register(&["ep=s", "lwm2m=1.1"], OBJECTS),
        &a(),
        Duration::ZERO,
        &mut counter(),
    ));
    events(&mut s);
    let body = r#"[{"n":"/3/0/9","v":87,"t":1700000000},{"n":"/3/0/9","v":86,"t":1700000060}]"#;
    let r = s.handle_request(
        &send(body, ContentFormat::SENML_JSON),
        &a(),
        Duration::ZERO,
        &mut counter(),
    );
    assert_eq!(r.code, Code::CHANGED, "{}", r.diagnostic());
    let p: Path = "/3/0/9".parse().unwrap();
    assert_eq!(
        events(&mut s),
        [Event::Data {
            id,
            format: mote_lwm2m::Format::SenmlJson,
            records: vec![
                Record::with_time(p, Value::Integer(87), 1_700_000_000.0),
                Record::with_time(p, Value::Integer(86), 1_700_000_060.0),
            ],
        }]
    );
}

#[test]
fn send_refused() {
    let mut s = server(ServerConfig {
        allow_unsecured: true,
        ..ServerConfig::default()
    });
    let mut rng = counter();
    s.handle_request(
        &register(&["ep=s", "lwm2m=1.1"], OBJECTS),
        &a(),
        Duration::ZERO,
        &mut rng,
    );
    s.handle_request(
        &register(&["ep=n", "lwm2m=1.1"], OBJECTS),
        &Identity::None,
        Duration::ZERO,
        &mut rng,
    );
    events(&mut s);
    let ok = r#"[{"n":"/3/0/9","v":87}]"#;
    // Unregistered identity and unauthenticated peer (even with a NoSec registration):
    // 4.04, Transport §6.7 Send.
    for who in [b(), Identity::None] {
        let r = s.handle_request(
            &send(ok, ContentFormat::SENML_JSON),
            &who,
            Duration::ZERO,
            &mut rng,
        );
        assert_eq!(r.code, Code::NOT_FOUND, "{who:?}");
    }
    // An Object the client did not register.
    let r = s.handle_request(
        &send(r#"[{"n":"/6/0/0","v":1.5}]"#, ContentFormat::SENML_JSON),
        &a(),
        Duration::ZERO,
        &mut rng,
    );
    assert_eq!(
        (r.code, r.diagnostic()),
        (Code::NOT_FOUND, "object 6 was not registered")
    );
    // Not SenML.
    let r = s.handle_request(
        &send(ok, ContentFormat::LWM2M_TLV),
        &a(),
        Duration::ZERO,
        &mut rng,
    );
    assert_eq!(r.code, Code::BAD_REQUEST);
    assert!(r.diagnostic().contains("SenML"));
    // Malformed SenML.
    let r = s.handle_request(
        &send("[{", ContentFormat::SENML_JSON),
        &a(),
        Duration::ZERO,
        &mut rng,
    );
    assert_eq!(r.code, Code::BAD_REQUEST);
    assert_eq!(s.poll_event(), None);
}

#[test]
fn in_memory_store_indexes() {
    let mut s = server(ServerConfig::default());
    let mut rng = counter();
    let id = id_of(&s.handle_request(
        &register(&["ep=x", "lwm2m=1.1", "lt=5"], OBJECTS),
        &a(),
        Duration::ZERO,
        &mut rng,
    ));
    let st = s.store();
    assert_eq!(st.get_by_endpoint("x").unwrap().id, id);
    assert_eq!(st.get_by_identity(&a()).unwrap().id, id);
    assert!(st.get_by_identity(&b()).is_none());
    assert_eq!(st.ids(), [id]);
    assert_eq!(st.next_expiry(), Some(Duration::from_secs(5)));
}

#[test]
fn endpoint_policy_ties_names_to_identities() {
    fn policy(ep: &str, who: &Identity) -> bool {
        matches!(who, Identity::Oscore(ctx) if ctx.as_slice() == b"client-a") && ep == "dev-a"
    }
    let mut s = server(ServerConfig::default());
    s.set_endpoint_policy(policy);
    let mut rng = counter();
    let id = id_of(&s.handle_request(
        &register(&["ep=dev-a", "lwm2m=1.1"], OBJECTS),
        &a(),
        Duration::ZERO,
        &mut rng,
    ));
    events(&mut s);
    // Another identity cannot take the name over by re-registering: 4.03 (Transport §6.7).
    let r = s.handle_request(
        &register(&["ep=dev-a", "lwm2m=1.1"], OBJECTS),
        &b(),
        Duration::ZERO,
        &mut rng,
    );
    assert_eq!(r.code, Code::FORBIDDEN);
    assert!(r.diagnostic().contains("not allowed"));
    assert_eq!(s.registration(&id).unwrap().identity, a());
    assert_eq!(s.poll_event(), None);
    let r = s.handle_request(
        &register(&["ep=other", "lwm2m=1.1"], OBJECTS),
        &a(),
        Duration::ZERO,
        &mut rng,
    );
    assert_eq!(r.code, Code::FORBIDDEN);
}

#[test]
fn id_collisions_are_redrawn() {
    let mut s = server(ServerConfig::default());
    // A broken RNG: always 7. The second registration cannot get a fresh id.
    let mut rng = || 7u32;
    let r = s.handle_request(
        &register(&["ep=one", "lwm2m=1.1"], OBJECTS),
        &a(),
        Duration::ZERO,
        &mut rng,
    );
    assert_eq!(r.code, Code::CREATED);
    let r = s.handle_request(
        &register(&["ep=two", "lwm2m=1.1"], OBJECTS),
        &b(),
        Duration::ZERO,
        &mut rng,
    );
    assert_eq!(r.code, Code::SERVICE_UNAVAILABLE);
    assert_eq!(s.store().len(), 1);
    // With a working RNG the redraw succeeds.
    let mut n = 0u32;
    let mut rng = move || {
        n += 1;
        if n <= 4 { 7 } else { n }
    };
    let r = s.handle_request(
        &register(&["ep=two", "lwm2m=1.1"], OBJECTS),
        &b(),
        Duration::ZERO,
        &mut rng,
    );
    assert_eq!(r.code, Code::CREATED);
    assert_ne!(id_of(&r).as_str(), "00000007000000070000000700000007");
}

#[test]
fn update_binding_keeps_1_1_queue_mode() {
    let mut s = server(ServerConfig::default());
    let mut rng = counter();
    let id = id_of(&s.handle_request(
        &register(&["ep=q", "lwm2m=1.1", "Q"], OBJECTS),
        &a(),
        Duration::ZERO,
        &mut rng,
    ));
    let upd = Request::new(Code::POST, &["rd", id.as_str()]).with_query("b=T");
    assert_eq!(
        s.handle_request(&upd, &a(), Duration::ZERO, &mut rng).code,
        Code::CHANGED
    );
    assert!(s.registration(&id).unwrap().queue_mode);
    // A 1.0 client's binding carries it: `b=U` turns it off.
    let id0 = id_of(&s.handle_request(
        &register(&["ep=old", "b=UQ"], OBJECTS),
        &b(),
        Duration::ZERO,
        &mut rng,
    ));
    let upd = Request::new(Code::POST, &["rd", id0.as_str()]).with_query("b=U");
    assert_eq!(
        s.handle_request(&upd, &b(), Duration::ZERO, &mut rng).code,
        Code::CHANGED
    );
    assert!(!s.registration(&id0).unwrap().queue_mode);
}

#[test]
fn nosec_address_identity_binds_update_and_send_only_where_nosec_is_allowed() {
    let here = || Identity::Address(b"127.0.0.1:5000".to_vec());
    let there = || Identity::Address(b"127.0.0.1:6000".to_vec());
    let ok = r#"[{"n":"/3/0/9","v":87}]"#;
    let mut s = server(ServerConfig {
        allow_unsecured: true,
        ..ServerConfig::default()
    });
    let mut rng = counter();
    let r = s.handle_request(
        &register(&["ep=n", "lwm2m=1.1"], OBJECTS),
        &here(),
        Duration::ZERO,
        &mut rng,
    );
    assert_eq!(r.code, Code::CREATED);
    let id = id_of(&r);
    events(&mut s);
    // Send from the registering address is accepted, from another address refused.
    let send_from = |s: &mut Server<InMemoryStore>, who: Identity, rng: &mut _| {
        s.handle_request(
            &send(ok, ContentFormat::SENML_JSON),
            &who,
            Duration::ZERO,
            rng,
        )
        .code
    };
    assert_eq!(send_from(&mut s, here(), &mut rng), Code::CHANGED);
    assert_eq!(send_from(&mut s, there(), &mut rng), Code::NOT_FOUND);
    // Update from another address: 4.04, as for another identity.
    let update = Request::new(Code::POST, &["rd", id.as_str()]);
    let r = s.handle_request(&update, &there(), Duration::ZERO, &mut rng);
    assert_eq!(r.code, Code::NOT_FOUND);
    let r = s.handle_request(&update, &here(), Duration::ZERO, &mut rng);
    assert_eq!(r.code, Code::CHANGED);
    // Without NoSec an address is no identity: registration refused 4.03.
    let mut strict = server(ServerConfig::default());
    let r = strict.handle_request(
        &register(&["ep=n", "lwm2m=1.1"], OBJECTS),
        &here(),
        Duration::ZERO,
        &mut rng,
    );
    assert_eq!(r.code, Code::FORBIDDEN);
}

/// lwm2m-node-lib's registration: no Content-Format option, no `</>` root link, no `ct`;
/// each Update from a new source port with `lwm2m=1.0` among its queries, the De-register
/// from yet another. With NoSec registrations bound to the host (`Identity::nosec_host`)
/// every step is accepted; another host is refused.
#[test]
fn nosec_registration_is_bound_to_the_host_not_the_port() {
    let at = |s: &str| Identity::nosec_host(&s.parse().unwrap());
    let mut s = server(ServerConfig {
        allow_unsecured: true,
        ..ServerConfig::default()
    });
    let mut rng = counter();
    let r = s.handle_request(
        &register(
            &["ep=node1", "lt=60", "lwm2m=1.0", "b=U"],
            "</3/0>,</3303/0>",
        ),
        &at("127.0.0.1:40001"),
        Duration::ZERO,
        &mut rng,
    );
    assert_eq!(r.code, Code::CREATED);
    let id = id_of(&r);
    let update = Request::new(Code::POST, &["rd", id.as_str()]).with_query("lt=60");
    // Another host: 4.04, as for another identity.
    let r = s.handle_request(&update, &at("127.0.0.2:40001"), Duration::ZERO, &mut rng);
    assert_eq!(r.code, Code::NOT_FOUND);
    // The same host from a new port: 2.04.
    let r = s.handle_request(&update, &at("127.0.0.1:40002"), Duration::ZERO, &mut rng);
    assert_eq!(r.code, Code::CHANGED);
    let r = s.handle_request(
        &Request::new(Code::DELETE, &["rd", id.as_str()]),
        &at("127.0.0.1:40003"),
        Duration::ZERO,
        &mut rng,
    );
    assert_eq!(r.code, Code::DELETED);
}

/// Transport "Registration Interface": an Update has no `lwm2m` parameter, but LwM2M 1.0
/// clients send it again on each Update: tolerated and ignored (the registered version
/// stays), while a malformed one is still 4.00.
#[test]
fn lwm2m_version_on_update_is_tolerated_and_ignored() {
    let mut s = server(ServerConfig::default());
    let mut rng = counter();
    let r = s.handle_request(
        &register(&["ep=v10", "lwm2m=1.0"], OBJECTS),
        &a(),
        Duration::ZERO,
        &mut rng,
    );
    assert_eq!(r.code, Code::CREATED);
    let id = id_of(&r);
    for (query, code) in [
        ("lwm2m=1.0", Code::CHANGED),
        ("lwm2m=1.1", Code::CHANGED),
        ("lwm2m=x", Code::BAD_REQUEST),
    ] {
        let update = Request::new(Code::POST, &["rd", id.as_str()])
            .with_query("lt=60")
            .with_query(query)
            .with_query("b=U");
        let r = s.handle_request(&update, &a(), Duration::ZERO, &mut rng);
        assert_eq!(r.code, code, "{query}");
    }
    assert_eq!(
        s.registration(&id).unwrap().version,
        mote_lwm2m_server::LwM2mVersion::V1_0
    );
}
