//! Bootstrap Interface sequences (LwM2M TS 1.2 Core §6.1, §5.2.7; Transport §6.4.1 and its
//! "Response Codes" table).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use mote_coap::code::Code;
use mote_coap::content_format::ContentFormat as Cf;
#[cfg(feature = "bootstrap-interface")]
use mote_lwm2m::ObjectLink;
use mote_lwm2m::Value;
use mote_lwm2m_client::Request;

fn finish() -> Request {
    Request::new(Code::POST, "/bs")
}

fn bs_put(path: &str, body: &str) -> Request {
    put(path, Cf::SENML_JSON, body.as_bytes())
}

/// Without the `bootstrap-interface` feature (a device provisioned by factory bootstrap,
/// `Client::bootstrap_write`) the client answers none of the Bootstrap-Server's requests:
/// Bootstrap-Read, -Discover, -Write, -Delete and -Finish each get 4.01 and change nothing.
#[cfg(not(feature = "bootstrap-interface"))]
#[test]
fn without_the_bootstrap_interface_every_bootstrap_server_request_gets_4_01() {
    let mut c = fixture();
    let requests = [
        get("/2").with_accept(Cf::SENML_JSON),
        get("/").with_accept(Cf::LINK_FORMAT),
        bs_put("/3303/0/5700", r#"[{"n":"/3303/0/5700","v":30.5}]"#),
        Request::new(Code::DELETE, "/3303/0"),
        Request::new(Code::DELETE, "/"),
        finish(),
    ];
    for request in &requests {
        let r = c.handle(BS, request);
        assert_eq!(r.code, Code::UNAUTHORIZED, "{request:?}");
        assert!(r.payload.is_empty() || cfg!(feature = "diagnostics"));
    }
    assert_eq!(value(&c, "/3303/0/5700"), Some(Value::Float(21.5)));
    assert_eq!(value(&c, "/1/0/0"), Some(Value::Integer(101)));
    assert!(c.take_triggers().is_empty(), "no Bootstrap-Finish");
    // The same writes as factory bootstrap.
    c.bootstrap_write(
        &p("/3303/0/5700"),
        &[rec("/3303/0/5700", Value::Float(30.5))],
    )
    .unwrap();
    assert_eq!(value(&c, "/3303/0/5700"), Some(Value::Float(30.5)));
}

/// LightweightM2M-BsR-001: the Bootstrap-Server retrieves the Access Control Rights in place
/// — Bootstrap-Read of /2 (and /1) answers whatever the owners; any other target, /0 first
/// of all, is "Target is not allowed for Read" (4.05).
#[cfg(feature = "bootstrap-interface")]
#[test]
fn bootstrap_read_is_limited_to_server_and_access_control() {
    let mut c = fixture();
    let r = c.handle(BS, &get("/2").with_accept(Cf::SENML_JSON));
    assert_eq!(r.code, Code::CONTENT);
    let acl = decode_senml_json(&r.payload);
    assert_eq!(acl.get("/2/0/2/102").and_then(Value::as_i64), Some(1));
    assert_eq!(acl.get("/2/2/3").and_then(Value::as_i64), Some(65535));
    assert_eq!(acl.get("/2/3/0").and_then(Value::as_i64), Some(3303));
    let r = c.handle(BS, &get("/1/1").with_accept(Cf::SENML_JSON));
    assert_eq!(r.code, Code::CONTENT);
    assert_eq!(
        decode_senml_json(&r.payload)
            .get("/1/1/0")
            .and_then(Value::as_i64),
        Some(102)
    );
    for target in ["/0", "/0/1", "/21", "/3/0", "/3303"] {
        let r = c.handle(BS, &get(target).with_accept(Cf::SENML_JSON));
        assert_eq!(r.code, Code::METHOD_NOT_ALLOWED, "{target}");
        assert!(r.payload.is_empty() || !r.diagnostic_text().contains("id-101"));
    }
    assert_eq!(c.handle(BS, &get("/1/9")).code, Code::NOT_FOUND);
}

/// Bootstrap-Write writes "regardless of an existence of the targeting Object Instance(s)
/// or Resource(s) and access rights": new instances, the Security Object, read-only
/// resources.
#[cfg(feature = "bootstrap-interface")]
#[test]
fn bootstrap_write_regardless_of_existence_and_rights() {
    let mut c = fixture();
    let r = c.handle(
        BS,
        &bs_put(
            "/0/5",
            r#"[{"bn":"/0/5/","n":"1","vb":false},{"n":"10","v":103}]"#,
        ),
    );
    assert_eq!(r.code, Code::CHANGED, "{}", r.diagnostic_text());
    assert_eq!(value(&c, "/0/5/10"), Some(Value::Integer(103)));
    let r = c.handle(
        BS,
        &bs_put(
            "/1/4",
            r#"[{"bn":"/1/4/","n":"0","v":103},{"n":"1","v":60}]"#,
        ),
    );
    assert_eq!(r.code, Code::CHANGED);
    // The new account takes part in access control at once: with several accounts it has
    // no right on its own /1 instance until an ACL grants one.
    let s103 = mote_lwm2m_client::Requester::Server(mote_access::ShortServerId(103));
    let read = get("/1/4/1").with_accept(Cf::TEXT_PLAIN);
    assert_eq!(c.handle(s103, &read).code, Code::UNAUTHORIZED);
    let r = c.handle(
        BS,
        &bs_put(
            "/2/4",
            r#"[{"bn":"/2/4/","n":"0","v":1},{"n":"1","v":4},{"n":"3","v":103}]"#,
        ),
    );
    assert_eq!(r.code, Code::CHANGED);
    assert_eq!(c.handle(s103, &read).payload, b"60");
    // A read-only resource of a stored object, and the ACL of an instance owned by 101.
    let r = c.handle(
        BS,
        &bs_put("/3303/0/5700", r#"[{"n":"/3303/0/5700","v":30.5}]"#),
    );
    assert_eq!(r.code, Code::CHANGED);
    assert_eq!(value(&c, "/3303/0/5700"), Some(Value::Float(30.5)));
    let r = c.handle(BS, &bs_put("/2/0/2", r#"[{"n":"/2/0/2/102","v":3}]"#));
    assert_eq!(r.code, Code::CHANGED);
    assert_eq!(
        c.handle(S102, &put("/3/0/13", Cf::TEXT_PLAIN, b"9")).code,
        Code::CHANGED
    );
    // Wrong types and formats.
    assert_eq!(
        c.handle(BS, &bs_put("/1/4", r#"[{"n":"/1/4/1","vs":"x"}]"#))
            .code,
        Code::BAD_REQUEST
    );
    assert_eq!(
        c.handle(BS, &put("/1/4", Cf(9999), b"x")).code,
        Code::UNSUPPORTED_CONTENT_FORMAT
    );
}

/// Bootstrap-Delete of `/` deletes every instance except the Bootstrap-Server account (its
/// /0 instance and the /21 instance it links) and /3/0 (TS 1.2 Core §6.1.7.x); a following
/// Bootstrap-Finish finds no server account: 4.06 "Inconsistent loaded configuration".
#[cfg(feature = "bootstrap-interface")]
#[test]
fn delete_root_spares_the_bootstrap_account_and_finish_refuses_the_result() {
    let mut c = fixture();
    let wa = Request::new(Code::PUT, "/3/0/9").with_query("pmin=10");
    assert_eq!(c.handle(S101, &wa).code, Code::CHANGED);
    let r = c.handle(BS, &Request::new(Code::DELETE, "/"));
    assert_eq!(r.code, Code::DELETED);
    let ids = |c: &mut mote_lwm2m_client::Client, o: u16| c.object(o).unwrap().instances();
    assert_eq!(ids(&mut c, 0), [0]);
    assert_eq!(ids(&mut c, 21), [0]);
    assert_eq!(ids(&mut c, 3), [0]);
    assert!(ids(&mut c, 1).is_empty());
    assert!(ids(&mut c, 2).is_empty());
    assert!(ids(&mut c, 3303).is_empty());
    // The deleted accounts' attributes are gone with them.
    assert_eq!(
        c.attributes(mote_access::ShortServerId(101), &p("/3/0/9")),
        None
    );
    assert_eq!(
        value(&c, "/0/0/3"),
        Some(Value::Opaque(b"bs-identity".to_vec()))
    );
    assert_eq!(
        c.requester_for(mote_lwm2m_client::SecurityIdentity::Psk(b"bs-identity")),
        BS
    );
    // The former servers are strangers now.
    assert_eq!(
        c.requester_for(mote_lwm2m_client::SecurityIdentity::Psk(b"id-101")),
        NOBODY
    );

    let r = c.handle(BS, &finish());
    assert_eq!(r.code, Code::NOT_ACCEPTABLE);
    assert!(
        r.diagnostic_text().contains("no LwM2M Server account"),
        "{}",
        r.diagnostic_text()
    );

    // Provision one account and finish again.
    let r = c.handle(
        BS,
        &bs_put(
            "/0/1",
            r#"[{"bn":"/0/1/","n":"1","vb":false},{"n":"10","v":7}]"#,
        ),
    );
    assert_eq!(r.code, Code::CHANGED);
    assert_eq!(
        c.handle(BS, &bs_put("/1/0", r#"[{"n":"/1/0/0","v":7}]"#))
            .code,
        Code::CHANGED
    );
    assert_eq!(c.handle(BS, &finish()).code, Code::CHANGED);
}

#[cfg(feature = "bootstrap-interface")]
#[test]
fn delete_of_objects_and_instances() {
    let mut c = fixture();
    let wa = Request::new(Code::PUT, "/3/0/9").with_query("pmin=10");
    assert_eq!(c.handle(S102, &wa).code, Code::CHANGED);
    // /0 as a whole: the bootstrap account stays.
    assert_eq!(
        c.handle(BS, &Request::new(Code::DELETE, "/0")).code,
        Code::DELETED
    );
    assert_eq!(c.object(0).unwrap().instances(), [0]);
    // The Device instance: 4.00 "Bad or unknown URI provided".
    assert_eq!(
        c.handle(BS, &Request::new(Code::DELETE, "/3/0")).code,
        Code::BAD_REQUEST
    );
    assert_eq!(
        c.handle(BS, &Request::new(Code::DELETE, "/3303/0")).code,
        Code::DELETED
    );
    assert!(c.object(3303).unwrap().instances().is_empty());
    // 102 keeps its /1 instance, hence its attributes.
    let kept = c.attributes(mote_access::ShortServerId(102), &p("/3/0/9"));
    assert_eq!(kept.and_then(|a| a.pmin), Some(10));
    // Resources are not Bootstrap-Delete targets.
    assert_eq!(
        c.handle(BS, &Request::new(Code::DELETE, "/1/0/1")).code,
        Code::METHOD_NOT_ALLOWED
    );
}

#[cfg(feature = "bootstrap-interface")]
#[test]
fn finish_checks_the_configuration() {
    let mut c = fixture();
    assert_eq!(
        c.handle(BS, &finish()).code,
        Code::CHANGED,
        "the fixture is consistent"
    );

    // An ACL for a server that has no account.
    let mut bad = fixture();
    let r = bad.handle(BS, &bs_put("/2/0/2", r#"[{"n":"/2/0/2/999","v":1}]"#));
    assert_eq!(r.code, Code::CHANGED);
    let r = bad.handle(BS, &finish());
    assert_eq!(r.code, Code::NOT_ACCEPTABLE);
    assert!(
        r.diagnostic_text().contains("unknown server 999"),
        "{}",
        r.diagnostic_text()
    );

    // A /0 → /21 link that points nowhere.
    let mut bad = fixture();
    let link = Value::Objlnk(ObjectLink::new(21, 9));
    bad.bootstrap_write(&p("/0/2/17"), &[rec("/0/2/17", link)])
        .unwrap();
    let r = bad.handle(BS, &finish());
    assert_eq!(r.code, Code::NOT_ACCEPTABLE);
    assert!(
        r.diagnostic_text().contains("21:9"),
        "{}",
        r.diagnostic_text()
    );

    // A Server Object instance without a Security Object instance.
    let mut bad = fixture();
    assert_eq!(
        bad.handle(BS, &bs_put("/1/5", r#"[{"n":"/1/5/0","v":500}]"#))
            .code,
        Code::CHANGED
    );
    let r = bad.handle(BS, &finish());
    assert_eq!(r.code, Code::NOT_ACCEPTABLE);
    assert!(
        r.diagnostic_text().contains("/1/5"),
        "{}",
        r.diagnostic_text()
    );

    // An ACL owned by a server without account.
    let mut bad = fixture();
    assert_eq!(
        bad.handle(BS, &bs_put("/2/3/3", r#"[{"n":"/2/3/3","v":77}]"#))
            .code,
        Code::CHANGED
    );
    assert_eq!(bad.handle(BS, &finish()).code, Code::NOT_ACCEPTABLE);

    // Two ACLs for one Object Instance.
    let mut bad = fixture();
    acl(&mut bad, 9, 3, 0, 102, &[]);
    let r = bad.handle(BS, &finish());
    assert_eq!(r.code, Code::NOT_ACCEPTABLE);
    assert!(
        r.diagnostic_text().contains("second ACL for /3/0"),
        "{}",
        r.diagnostic_text()
    );

    // Bad URI: 4.00; a management server cannot finish.
    assert_eq!(
        c.handle(BS, &Request::new(Code::POST, "/bs/1")).code,
        Code::BAD_REQUEST
    );
    assert_eq!(c.handle(S101, &finish()).code, Code::UNAUTHORIZED);
}

#[cfg(feature = "bootstrap-interface")]
#[test]
fn bootstrap_discover_lists_accounts() {
    let mut c = fixture();
    let r = c.handle(BS, &get("/").with_accept(Cf::LINK_FORMAT));
    assert_eq!(r.code, Code::CONTENT);
    let text = String::from_utf8(r.payload).unwrap();
    assert!(text.starts_with("</>;lwm2m=1.2,"), "{text}");
    for link in [
        r#"</0/0>;uri="coaps://bs.example""#,
        r#"</0/1>;ssid=101;uri="coaps://s101.example""#,
        "</1/0>;ssid=101",
        "</1/1>;ssid=102",
        "</2/3>",
        "</3/0>",
        "</21/1>",
        "</3303/0>",
    ] {
        assert!(text.contains(link), "{link} in {text}");
    }
    let r = c.handle(BS, &get("/1").with_accept(Cf::LINK_FORMAT));
    assert_eq!(
        String::from_utf8(r.payload).unwrap(),
        "</>;lwm2m=1.2,</1/0>;ssid=101,</1/1>;ssid=102"
    );
    assert_eq!(
        c.handle(BS, &get("/1/0").with_accept(Cf::LINK_FORMAT)).code,
        Code::METHOD_NOT_ALLOWED
    );
}
