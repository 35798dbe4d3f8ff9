//! Register edge cases found by the issue 13 audit (LwM2M TS 1.2 Core §6.2.1, Transport
//! §6.4.3 and §6.7): object versions and content formats of the link payload, and the three
//! Enabler versions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use core::time::Duration;

use mote_coap::code::Code;
use mote_lwm2m_server::{
    Identity, InMemoryStore, LwM2mVersion, Request, Response, Server, ServerConfig,
};

fn register(query: &[&str], payload: &str) -> Response {
    let mut s = Server::new(ServerConfig::default(), InMemoryStore::new());
    let mut r = Request::new(Code::POST, &["rd"]).with_payload(payload.as_bytes());
    for q in query {
        r = r.with_query(q);
    }
    let mut n = 0u32;
    let mut rng = move || {
        n += 1;
        n
    };
    s.handle_request(
        &r,
        &Identity::Oscore(b"a".to_vec()),
        Duration::ZERO,
        &mut rng,
    )
}

/// (query, payload, expected code, diagnostic substring).
type Case = (&'static [&'static str], &'static str, Code, &'static str);

#[test]
fn link_payload_and_parameter_edges() {
    let table: &[Case] = &[
        // Core §6.2.1: an Object version is MAJOR.MINOR.
        (
            &["ep=x", "lwm2m=1.1"],
            "</1>;ver=x,</1/0>",
            Code::BAD_REQUEST,
            "ver is not MAJOR.MINOR",
        ),
        (
            &["ep=x", "lwm2m=1.1"],
            "</1>;ver=1,</1/0>",
            Code::BAD_REQUEST,
            "ver is not MAJOR.MINOR",
        ),
        (
            &["ep=x", "lwm2m=1.1"],
            "</1>;ver=2.0,</1/0>",
            Code::CREATED,
            "",
        ),
        // A Content-Format that is not a number.
        (
            &["ep=x", "lwm2m=1.1"],
            "</>;rt=\"oma.lwm2m\";ct=abc,</1/0>",
            Code::BAD_REQUEST,
            "invalid object list",
        ),
        // Core §7.1: Object ID and Instance ID 65535 are reserved; IDs are 16 bits.
        (
            &["ep=x", "lwm2m=1.1"],
            "</1/65535>",
            Code::BAD_REQUEST,
            "not an LwM2M path",
        ),
        (
            &["ep=x", "lwm2m=1.1"],
            "</65536/0>",
            Code::BAD_REQUEST,
            "not an LwM2M path",
        ),
        // Transport §6.4.3: `lt` is a 32-bit unsigned number of seconds.
        (
            &["ep=x", "lwm2m=1.1", "lt=4294967295"],
            "</1/0>",
            Code::CREATED,
            "",
        ),
        (
            &["ep=x", "lwm2m=1.1", "lt=4294967296"],
            "</1/0>",
            Code::BAD_REQUEST,
            "invalid parameter lt",
        ),
    ];
    for (query, payload, code, diag) in table {
        let r = register(query, payload);
        assert_eq!(r.code, *code, "{query:?} {payload:?}: {}", r.diagnostic());
        assert!(
            r.diagnostic().contains(diag),
            "{query:?} {payload:?}: {:?} lacks {diag:?}",
            r.diagnostic()
        );
    }
}

#[test]
fn each_enabler_version_registers_and_is_kept() {
    for (text, version) in [
        ("1.0", LwM2mVersion::V1_0),
        ("1.1", LwM2mVersion::V1_1),
        ("1.2", LwM2mVersion::V1_2),
    ] {
        let mut s = Server::new(ServerConfig::default(), InMemoryStore::new());
        let q = format!("lwm2m={text}");
        let r = Request::new(Code::POST, &["rd"])
            .with_payload(b"</1/0>,</3/0>".as_slice())
            .with_query("ep=x")
            .with_query(&q);
        let mut rng = || 7u32;
        let resp = s.handle_request(
            &r,
            &Identity::Oscore(b"a".to_vec()),
            Duration::ZERO,
            &mut rng,
        );
        assert_eq!(resp.code, Code::CREATED, "{text}: {}", resp.diagnostic());
        let id = mote_lwm2m_server::RegistrationId::from_text(resp.location_path()[1]);
        assert_eq!(s.registration(&id).unwrap().version, version, "{text}");
    }
}
