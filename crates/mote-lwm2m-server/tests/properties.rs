//! No panic on any input: random registration-interface requests and random bootstrap
//! responses; every answer is a success or a client/server error code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use core::time::Duration;

use mote_coap::code::Code;
use mote_coap::content_format::ContentFormat;
use mote_coap::option::{OptionNumber, OptionRef};
use mote_lwm2m_server::bootstrap::ServerInstance;
use mote_lwm2m_server::{
    BootstrapConfig, BootstrapLimits, BootstrapServer, Identity, InMemoryStore, RegistrationStore,
    Request, Server, ServerConfig,
};
use proptest::prelude::*;

fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        "(ep|lt|lwm2m|b|Q|sms|pid|x)(=[-0-9A-Za-z.+]{0,6})?",
        "[ -~]{0,10}",
    ]
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"</1/0>,</3/0>".to_vec()),
        Just(br#"[{"n":"/3/0/9","v":1}]"#.to_vec()),
        proptest::collection::vec(any::<u8>(), 0..40),
        "(</[0-9]{0,3}(/[0-9]{0,3}){0,3}>(;[a-z]{1,4}(=\"?[0-9. a-z]{0,6}\"?)?)?,?){0,5}"
            .prop_map(String::into_bytes),
    ]
}

fn code() -> impl Strategy<Value = Code> {
    prop_oneof![
        Just(Code::POST),
        Just(Code::DELETE),
        Just(Code::GET),
        any::<u8>().prop_map(Code)
    ]
}

proptest! {
    #[test]
    fn registration_interface_never_panics(
        steps in proptest::collection::vec(
            (code(), prop_oneof![Just(0usize), Just(1), Just(2)], prop_oneof![
                Just(vec!["ep=e".to_string(), "lwm2m=1.1".to_string(), "Q".to_string()]),
                proptest::collection::vec(query(), 0..6)
             ],
             payload(), proptest::option::of(prop_oneof![Just(40u16), Just(110), Just(112), any::<u16>()]),
             any::<bool>(), 0u64..200),
            1..12),
    ) {
        let mut s = Server::new(ServerConfig { max_registrations: 3, max_objects: 4, ..ServerConfig::default() }, InMemoryStore::new());
        let mut n = 0u32;
        let mut rng = move || { n = n.wrapping_add(0x9e37_79b9); n };
        let mut ids: Vec<String> = vec!["x".into()];
        for (code, route, query, payload, cf, authenticated, t) in steps {
            let id = ids.last().cloned().unwrap_or_default();
            let path: Vec<&str> = match route {
                0 => vec!["rd"],
                1 => vec!["rd", id.as_str()],
                _ => vec!["dp"],
            };
            let mut req = Request::new(code, &path).with_payload(payload);
            req.query = query;
            req.content_format = cf.map(ContentFormat);
            let who = if authenticated { Identity::Oscore(vec![1]) } else { Identity::None };
            let now = Duration::from_secs(t);
            let r = s.handle_request(&req, &who, now, &mut rng);
            prop_assert!(matches!(r.code.class(), 2 | 4 | 5), "{r:?}");
            if r.code == Code::CREATED {
                let loc = r.location_path();
                prop_assert_eq!(loc.len(), 2);
                ids.push(loc[1].to_string());
            }
            s.handle_timeout(now);
            while s.poll_event().is_some() {}
            prop_assert!(s.store().len() <= 3);
        }
    }

    #[test]
    fn bootstrap_never_panics(
        answers in proptest::collection::vec(
            (any::<u8>(), proptest::option::of(any::<u16>()), payload()), 0..16),
        pct in proptest::option::of(any::<u16>()),
    ) {
        let mut s = BootstrapServer::new(BootstrapLimits::default());
        s.set_plan("dev", BootstrapConfig {
            servers: vec![ServerInstance { instance: 0, short_server_id: 1, lifetime: 60, default_pmin: None,
                default_pmax: None, notification_storing: false, binding: "U".into() }],
            ..BootstrapConfig::default()
        });
        let mut req = Request::new(Code::POST, &["bs"]).with_query("ep=dev");
        if let Some(p) = pct {
            req = req.with_query(&format!("pct={p}"));
        }
        let r = s.handle_request(&req, &Identity::None, Duration::ZERO);
        prop_assert!(matches!(r.code.class(), 2 | 4 | 5));
        for (code, cf, payload) in answers {
            let Some(_) = s.poll_request(Duration::ZERO) else { break };
            let c = cf.map(|c| c.to_be_bytes());
            let opts: Vec<OptionRef<'_>> = c.iter().map(|b| OptionRef::new(OptionNumber::CONTENT_FORMAT, b)).collect();
            s.handle_response("dev", Code(code), opts, &payload).unwrap();
        }
        while s.poll_outcome().is_some() {}
    }

    /// Any Bootstrap-Pack-Request (method, path, query, Accept) is answered 2.05 with a pack in
    /// the accepted format, or refused with one of the codes of the TS table (Transport §6.7).
    #[test]
    fn bootstrap_pack_request_never_panics(
        method in code(),
        path in prop_oneof![Just("bspack".to_string()), "[a-z]{0,7}"],
        queries in prop_oneof![
            Just(vec!["ep=dev".to_string()]),
            proptest::collection::vec(query(), 0..3),
        ],
        accept in proptest::option::of(prop_oneof![Just(110u16), Just(112), Just(11544), any::<u16>()]),
    ) {
        let mut s = BootstrapServer::new(BootstrapLimits::default());
        s.set_plan("dev", BootstrapConfig {
            servers: vec![ServerInstance { instance: 0, short_server_id: 1, lifetime: 60, default_pmin: None,
                default_pmax: None, notification_storing: false, binding: "U".into() }],
            ..BootstrapConfig::default()
        });
        let mut req = Request::new(method, &[path.as_str()]);
        for q in &queries {
            req = req.with_query(q);
        }
        req.accept = accept.map(ContentFormat);
        let r = s.handle_pack_request(&req);
        let allowed = [Code::CONTENT, Code::BAD_REQUEST, Code::NOT_FOUND,
            Code::METHOD_NOT_ALLOWED, Code::NOT_ACCEPTABLE];
        prop_assert!(allowed.contains(&r.code), "{}", r.code);
        if r.code == Code::CONTENT {
            let cf = r.options.get(OptionNumber::CONTENT_FORMAT).and_then(|o| o.as_uint().ok());
            prop_assert!(matches!(cf, Some(110 | 112 | 11544)), "{cf:?}");
            prop_assert!(accept.is_none() || accept.map(u32::from) == cf);
        }
        prop_assert_eq!(s.sessions(), 0);
        // The well-formed request is served.
        if method == Code::GET && path == "bspack" && queries == ["ep=dev"]
            && matches!(accept, None | Some(110 | 112 | 11544)) {
            prop_assert_eq!(r.code, Code::CONTENT);
        }
    }
}
