//! Every Device Management operation × a representative format × each authorization
//! outcome. The expected codes are the TS's: LwM2M TS 1.2 Transport §6.4 "Response Codes"
//! (2.05 Read/Discover/Read-Composite, 2.04 Write/Write-Attributes/Execute/Write-Composite,
//! 2.01 Create, 2.02 Delete; 4.01 "Access Right Permission Denied"; 4.04 "URI ... not
//! found"; 4.05 "Target is not allowed"; 4.06 "None of the preferred Content-Formats can
//! be returned"; 4.15 "The specified format is not supported"; 4.00 "Undetermined error"),
//! and TS 1.2 Core §7.3 "the LwM2M Client MUST reject any LwM2M Server operation on the
//! Security Object (ID: 0) / an OSCORE Object (ID: 21) with a response code indicating that
//! the operation is not authorized" (4.01).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use mote_coap::code::Code;
use mote_coap::content_format::ContentFormat as Cf;
use mote_lwm2m_client::{Request, Requester};

const TLV: Cf = Cf::LWM2M_TLV;
const SENML: Cf = Cf::SENML_JSON;
const CBOR: Cf = Cf::LWM2M_CBOR;
const UNKNOWN: Cf = Cf(9999);

fn fetch(paths: &str) -> Request {
    Request::new(Code::FETCH, "/").with_payload(SENML, paths.as_bytes().to_vec())
}

fn ipatch(body: &str) -> Request {
    Request::new(Code::IPATCH, "/").with_payload(SENML, body.as_bytes().to_vec())
}

fn discover(path: &str) -> Request {
    get(path).with_accept(Cf::LINK_FORMAT)
}

#[test]
fn every_operation_by_authorization_outcome() {
    let create_body = br#"[{"bn":"/3303/7/","n":"5750","vs":"hall"}]"#;
    let mut rows: Vec<(&str, Requester, Request, Code)> = vec![
        // ---- Read
        (
            "read instance TLV, owner",
            S101,
            get("/3/0").with_accept(TLV),
            Code::CONTENT,
        ),
        (
            "read resource text, R by ACL",
            S102,
            get("/3/0/0").with_accept(Cf::TEXT_PLAIN),
            Code::CONTENT,
        ),
        (
            "read object LwM2M-CBOR, R on some instances",
            S102,
            get("/3303").with_accept(CBOR),
            Code::CONTENT,
        ),
        (
            "read, no right by ACL",
            S102,
            get("/5/0").with_accept(TLV),
            Code::UNAUTHORIZED,
        ),
        (
            "read, unauthenticated",
            NOBODY,
            get("/3/0"),
            Code::UNAUTHORIZED,
        ),
        ("read Security", S101, get("/0/1"), Code::UNAUTHORIZED),
        ("read OSCORE", S101, get("/21/0"), Code::UNAUTHORIZED),
        (
            "read, unsupported Accept",
            S101,
            get("/3/0").with_accept(UNKNOWN),
            Code::NOT_ACCEPTABLE,
        ),
        (
            "read instance as text",
            S101,
            get("/3/0").with_accept(Cf::TEXT_PLAIN),
            Code::NOT_ACCEPTABLE,
        ),
        (
            "read, missing resource",
            S101,
            get("/3/0/7"),
            Code::NOT_FOUND,
        ),
        // mote-access checks the rights before existence: no right on a missing instance.
        (
            "read, missing instance",
            S101,
            get("/3303/9"),
            Code::UNAUTHORIZED,
        ),
        (
            "read, executable resource",
            S101,
            get("/3/0/4"),
            Code::METHOD_NOT_ALLOWED,
        ),
        (
            "observe, R by ACL",
            S102,
            get("/3/0/9").with_observe(0).with_accept(Cf::TEXT_PLAIN),
            Code::CONTENT,
        ),
        // ---- Discover
        ("discover, owner", S101, discover("/3/0"), Code::CONTENT),
        (
            "discover, R by ACL",
            S102,
            discover("/3303/0"),
            Code::CONTENT,
        ),
        (
            "discover, no right",
            S102,
            discover("/5/0"),
            Code::UNAUTHORIZED,
        ),
        (
            "discover, unauthenticated",
            NOBODY,
            discover("/3"),
            Code::UNAUTHORIZED,
        ),
        (
            "discover Security",
            S101,
            discover("/0"),
            Code::UNAUTHORIZED,
        ),
        (
            "discover OSCORE",
            S101,
            discover("/21/0"),
            Code::UNAUTHORIZED,
        ),
        // ---- Write
        (
            "write resource text, owner",
            S101,
            put("/3/0/13", Cf::TEXT_PLAIN, b"1700000000"),
            Code::CHANGED,
        ),
        (
            "write resource SenML, owner",
            S101,
            put("/3/0/14", SENML, br#"[{"n":"/3/0/14","vs":"+02:00"}]"#),
            Code::CHANGED,
        ),
        (
            "partial update TLV, owner",
            S101,
            Request::new(Code::POST, "/3303/0")
                .with_payload(TLV, vec![0xE4, 0x16, 0x76, b'h', b'a', b'l', b'l']),
            Code::CHANGED,
        ),
        (
            "write, R only by ACL",
            S102,
            put("/3/0/13", Cf::TEXT_PLAIN, b"1"),
            Code::UNAUTHORIZED,
        ),
        (
            "write, unauthenticated",
            NOBODY,
            put("/3/0/13", Cf::TEXT_PLAIN, b"1"),
            Code::UNAUTHORIZED,
        ),
        (
            "write Security",
            S101,
            put("/0/1/10", Cf::TEXT_PLAIN, b"7"),
            Code::UNAUTHORIZED,
        ),
        (
            "write OSCORE",
            S101,
            put("/21/1/1", Cf::OCTET_STREAM, b"\x07"),
            Code::UNAUTHORIZED,
        ),
        (
            "write read-only resource",
            S101,
            put("/3/0/0", Cf::TEXT_PLAIN, b"x"),
            Code::METHOD_NOT_ALLOWED,
        ),
        (
            "write, unsupported Content-Format",
            S101,
            put("/3/0/13", UNKNOWN, b"1"),
            Code::UNSUPPORTED_CONTENT_FORMAT,
        ),
        (
            "write, malformed value",
            S101,
            put("/3/0/13", Cf::TEXT_PLAIN, b"soon"),
            Code::BAD_REQUEST,
        ),
        (
            "write, missing resource",
            S101,
            put("/3/0/99", Cf::TEXT_PLAIN, b"1"),
            Code::NOT_FOUND,
        ),
        // ---- Write-Attributes
        (
            "write-attributes, owner",
            S101,
            Request::new(Code::PUT, "/3/0/9")
                .with_query("pmin=10")
                .with_query("pmax=60"),
            Code::CHANGED,
        ),
        (
            "write-attributes, R by ACL",
            S102,
            Request::new(Code::PUT, "/3/0/9").with_query("gt=50"),
            Code::CHANGED,
        ),
        (
            "write-attributes, no right",
            S102,
            Request::new(Code::PUT, "/5/0/3").with_query("pmin=1"),
            Code::UNAUTHORIZED,
        ),
        (
            "write-attributes, unauthenticated",
            NOBODY,
            Request::new(Code::PUT, "/3/0/9").with_query("pmin=1"),
            Code::UNAUTHORIZED,
        ),
        (
            "write-attributes Security",
            S101,
            Request::new(Code::PUT, "/0/1").with_query("pmin=1"),
            Code::UNAUTHORIZED,
        ),
        (
            "write-attributes OSCORE",
            S101,
            Request::new(Code::PUT, "/21/0").with_query("pmin=1"),
            Code::UNAUTHORIZED,
        ),
        (
            "write-attributes lt >= gt",
            S101,
            Request::new(Code::PUT, "/3/0/9")
                .with_query("lt=60")
                .with_query("gt=50"),
            Code::BAD_REQUEST,
        ),
        (
            "write-attributes lt + 2st >= gt",
            S101,
            Request::new(Code::PUT, "/3/0/9").with_query("lt=10&gt=20&st=5"),
            Code::BAD_REQUEST,
        ),
        (
            "write-attributes gt on an instance",
            S101,
            Request::new(Code::PUT, "/3/0").with_query("gt=5"),
            Code::BAD_REQUEST,
        ),
        (
            "write-attributes gt on a string",
            S101,
            Request::new(Code::PUT, "/3/0/0").with_query("gt=5"),
            Code::BAD_REQUEST,
        ),
        (
            "write-attributes edge on a number",
            S101,
            Request::new(Code::PUT, "/3/0/9").with_query("edge=1"),
            Code::BAD_REQUEST,
        ),
        (
            "write-attributes epmin > epmax",
            S101,
            Request::new(Code::PUT, "/3/0/9").with_query("epmin=20&epmax=10"),
            Code::BAD_REQUEST,
        ),
        // §5.1.2: a pmax below pmin "MUST be ignored", not refused.
        (
            "write-attributes pmax < pmin",
            S101,
            Request::new(Code::PUT, "/3/0/9").with_query("pmin=10&pmax=5"),
            Code::CHANGED,
        ),
        (
            "write-attributes unknown",
            S101,
            Request::new(Code::PUT, "/3/0/9").with_query("foo=1"),
            Code::BAD_REQUEST,
        ),
        (
            "write-attributes dim is read-only",
            S101,
            Request::new(Code::PUT, "/3/0/11").with_query("dim=3"),
            Code::BAD_REQUEST,
        ),
        (
            "write-attributes + payload",
            S101,
            put("/3/0/13", Cf::TEXT_PLAIN, b"1").with_query("pmin=1"),
            Code::BAD_REQUEST,
        ),
        // ---- Execute
        ("execute, owner", S101, post("/3/0/4"), Code::CHANGED),
        (
            "execute with arguments",
            S101,
            Request::new(Code::POST, "/3/0/4").with_payload(Cf::TEXT_PLAIN, b"0='now',1".to_vec()),
            Code::CHANGED,
        ),
        ("execute, R only", S102, post("/3/0/4"), Code::UNAUTHORIZED),
        (
            "execute, unauthenticated",
            NOBODY,
            post("/3/0/4"),
            Code::UNAUTHORIZED,
        ),
        ("execute Security", S101, post("/0/1/1"), Code::UNAUTHORIZED),
        ("execute OSCORE", S101, post("/21/0/1"), Code::UNAUTHORIZED),
        (
            "execute a readable resource",
            S101,
            post("/3/0/0"),
            Code::METHOD_NOT_ALLOWED,
        ),
        (
            "execute, bad arguments",
            S101,
            Request::new(Code::POST, "/3/0/4").with_payload(Cf::TEXT_PLAIN, b"x=1".to_vec()),
            Code::BAD_REQUEST,
        ),
        // ---- Create
        (
            "create SenML, C by ACL",
            S102,
            Request::new(Code::POST, "/3303").with_payload(SENML, create_body.to_vec()),
            Code::CREATED,
        ),
        (
            "create, no C right",
            S101,
            Request::new(Code::POST, "/3303").with_payload(SENML, create_body.to_vec()),
            Code::UNAUTHORIZED,
        ),
        (
            "create, unauthenticated",
            NOBODY,
            Request::new(Code::POST, "/3303").with_payload(SENML, create_body.to_vec()),
            Code::UNAUTHORIZED,
        ),
        (
            "create Security",
            S101,
            Request::new(Code::POST, "/0")
                .with_payload(SENML, br#"[{"n":"/0/9/10","v":7}]"#.to_vec()),
            Code::UNAUTHORIZED,
        ),
        (
            "create OSCORE",
            S101,
            Request::new(Code::POST, "/21")
                .with_payload(SENML, br#"[{"n":"/21/9/3","v":7}]"#.to_vec()),
            Code::UNAUTHORIZED,
        ),
        (
            "create existing instance",
            S102,
            Request::new(Code::POST, "/3303")
                .with_payload(SENML, br#"[{"n":"/3303/0/5750","vs":"x"}]"#.to_vec()),
            Code::BAD_REQUEST,
        ),
        (
            "create, unsupported Content-Format",
            S102,
            Request::new(Code::POST, "/3303").with_payload(UNKNOWN, vec![1]),
            Code::UNSUPPORTED_CONTENT_FORMAT,
        ),
        (
            "create with a read-only resource (ignored)",
            S102,
            Request::new(Code::POST, "/3303")
                .with_payload(SENML, br#"[{"n":"/3303/8/5700","v":1.5}]"#.to_vec()),
            Code::CREATED,
        ),
        // ---- Delete
        (
            "delete, owner",
            S101,
            Request::new(Code::DELETE, "/3303/0"),
            Code::DELETED,
        ),
        (
            "delete, R only",
            S102,
            Request::new(Code::DELETE, "/3303/0"),
            Code::UNAUTHORIZED,
        ),
        (
            "delete, unauthenticated",
            NOBODY,
            Request::new(Code::DELETE, "/3303/0"),
            Code::UNAUTHORIZED,
        ),
        (
            "delete Security",
            S101,
            Request::new(Code::DELETE, "/0/1"),
            Code::UNAUTHORIZED,
        ),
        (
            "delete OSCORE",
            S101,
            Request::new(Code::DELETE, "/21/1"),
            Code::UNAUTHORIZED,
        ),
        (
            "delete the Device",
            S101,
            Request::new(Code::DELETE, "/3/0"),
            Code::METHOD_NOT_ALLOWED,
        ),
        (
            "delete a resource",
            S101,
            Request::new(Code::DELETE, "/3303/0/5750"),
            Code::METHOD_NOT_ALLOWED,
        ),
    ];
    // TS 1.2 Core §6.3.8 / §6.3.9: Read-Composite (FETCH) and Write-Composite (iPATCH) with
    // SenML-JSON bodies.
    let composite_rows: Vec<(&str, Requester, Request, Code)> = vec![
        // ---- Read-Composite
        (
            "read-composite, owner",
            S101,
            fetch(r#"[{"n":"/3/0/0"},{"n":"/5/0/3"}]"#),
            Code::CONTENT,
        ),
        (
            "read-composite, partly readable",
            S102,
            fetch(r#"[{"n":"/3/0/0"},{"n":"/5/0/3"}]"#),
            Code::CONTENT,
        ),
        (
            "read-composite, unauthenticated",
            NOBODY,
            fetch(r#"[{"n":"/3/0/0"}]"#),
            Code::UNAUTHORIZED,
        ),
        (
            "read-composite Security",
            S101,
            fetch(r#"[{"n":"/0/1/10"}]"#),
            Code::UNAUTHORIZED,
        ),
        (
            "read-composite OSCORE",
            S101,
            fetch(r#"[{"n":"/21/1"}]"#),
            Code::UNAUTHORIZED,
        ),
        (
            "read-composite, unsupported Content-Format",
            S101,
            Request::new(Code::FETCH, "/").with_payload(TLV, vec![]),
            Code::UNSUPPORTED_CONTENT_FORMAT,
        ),
        (
            "read-composite, unsupported Accept",
            S101,
            fetch(r#"[{"n":"/3/0/0"}]"#).with_accept(UNKNOWN),
            Code::NOT_ACCEPTABLE,
        ),
        // ---- Write-Composite
        (
            "write-composite, owner",
            S101,
            ipatch(r#"[{"n":"/3/0/13","v":5},{"n":"/3303/0/5750","vs":"x"}]"#),
            Code::CHANGED,
        ),
        (
            "write-composite, R only",
            S102,
            ipatch(r#"[{"n":"/3/0/13","v":5}]"#),
            Code::UNAUTHORIZED,
        ),
        (
            "write-composite, unauthenticated",
            NOBODY,
            ipatch(r#"[{"n":"/3/0/13","v":5}]"#),
            Code::UNAUTHORIZED,
        ),
        (
            "write-composite Security",
            S101,
            ipatch(r#"[{"n":"/0/1/10","v":5}]"#),
            Code::UNAUTHORIZED,
        ),
        (
            "write-composite OSCORE",
            S101,
            ipatch(r#"[{"n":"/21/1/3","v":5}]"#),
            Code::UNAUTHORIZED,
        ),
        (
            "write-composite, unsupported Content-Format",
            S101,
            Request::new(Code::IPATCH, "/").with_payload(UNKNOWN, vec![1]),
            Code::UNSUPPORTED_CONTENT_FORMAT,
        ),
    ];
    if cfg!(all(feature = "composite", feature = "senml-json")) {
        rows.extend(composite_rows);
    } else if cfg!(not(feature = "composite")) {
        // Without the `composite` feature FETCH and iPATCH on `/` are not allowed: 4.05 for
        // every server (TS 1.2 Transport §6.4 "Target is not allowed"); an unauthenticated
        // peer still gets 4.01 first.
        rows.extend(
            composite_rows
                .into_iter()
                .map(|(name, who, request, expected)| {
                    let expected = if who == NOBODY {
                        expected
                    } else {
                        Code::METHOD_NOT_ALLOWED
                    };
                    (name, who, request, expected)
                }),
        );
    }
    let mut failures = Vec::new();
    for (name, who, request, expected) in rows {
        let mut client = fixture();
        let response = client.handle(who, &request);
        if response.code != expected {
            failures.push(format!(
                "{name}: got {} ({}), expected {expected}",
                response.code,
                response.diagnostic_text()
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
