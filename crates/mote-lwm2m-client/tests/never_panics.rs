//! No request panics the client, and every answer is a response code (2.xx, 4.xx, 5.xx);
//! whatever a peer sends, the Bootstrap-Server account survives a management server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use mote_coap::code::Code;
use mote_coap::content_format::ContentFormat as Cf;
use mote_lwm2m::Value;
use mote_lwm2m_client::{Request, Requester};
use proptest::prelude::*;

fn requester() -> impl Strategy<Value = Requester> {
    prop_oneof![Just(S101), Just(S102), Just(BS), Just(NOBODY)]
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_string()),
        Just("1".to_string()),
        Just("2".to_string()),
        Just("3".to_string()),
        Just("5".to_string()),
        Just("21".to_string()),
        Just("3303".to_string()),
        Just("bs".to_string()),
        "[0-9]{1,6}",
        ".{0,4}",
    ]
}

fn content_format() -> impl Strategy<Value = Option<Cf>> {
    prop_oneof![
        Just(None),
        Just(Some(Cf::TEXT_PLAIN)),
        Just(Some(Cf::LINK_FORMAT)),
        Just(Some(Cf::OCTET_STREAM)),
        Just(Some(Cf::CBOR)),
        Just(Some(Cf::SENML_JSON)),
        Just(Some(Cf::SENML_CBOR)),
        Just(Some(Cf::LWM2M_TLV)),
        Just(Some(Cf::LWM2M_CBOR)),
        any::<u16>().prop_map(|n| Some(Cf(n))),
    ]
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..48),
        Just(br#"[{"n":"/3/0/13","v":5}]"#.to_vec()),
        Just(br#"[{"n":"/0/1/10","v":5}]"#.to_vec()),
        Just(br#"[{"bn":"/3303/7/","n":"5750","vs":"x"}]"#.to_vec()),
        Just(b"0='a',1".to_vec()),
        Just(b"1".to_vec()),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    (
        0u8..9,
        proptest::collection::vec(segment(), 0..6),
        proptest::collection::vec(
            prop_oneof![
                Just("pmin=1".to_string()),
                Just("gt=5".to_string()),
                ".{0,8}"
            ],
            0..3,
        ),
        content_format(),
        content_format(),
        proptest::option::of(0u32..3),
        payload(),
    )
        .prop_map(
            |(code, path, query, cf, accept, observe, payload)| Request {
                code: Code(code),
                uri_path: path,
                uri_query: query,
                content_format: cf,
                accept,
                observe,
                payload,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_request_sequences_never_panic(
        steps in proptest::collection::vec((requester(), request()), 1..6)
    ) {
        let mut c = fixture();
        for (who, req) in &steps {
            let r = c.handle(*who, req);
            prop_assert!(matches!(r.code.0 >> 5, 2 | 4 | 5), "{:?} -> {}", req, r.code);
            if *who == NOBODY {
                prop_assert_eq!(r.code, Code::UNAUTHORIZED);
            }
        }
        // Management servers never touch the Bootstrap-Server account.
        if !steps.iter().any(|(w, _)| *w == BS) {
            prop_assert_eq!(
                value(&c, "/0/0/3"),
                Some(Value::Opaque(b"bs-identity".to_vec()))
            );
            prop_assert_eq!(c.object(0).unwrap().instances(), vec![0, 1, 2]);
        }
    }
}
