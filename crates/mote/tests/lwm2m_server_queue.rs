//! `mote lwm2m-server` over real sockets: queue mode (a sleeping client's REST request is
//! held and sent when the client wakes, with `awake` / `sleeping` events), lifetime
//! expiry as an `expiration` event, and the JSON bodies of the REST errors (a CoAP error's
//! status and diagnostic, 404 for an unknown client, 400 for a malformed request, 504 for a
//! silent client), a held request that timed out and is then dropped, OSCORE contexts told
//! apart by kid context, and Send accepted only from the registered identity. The client is
//! hand-built CoAP over UDP (or `mote coap --oscore`), driven step by step.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use mote_coap::code::{Code, MessageType};
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;
use mote_lwm2m::{Format, Path, Record, Value};
use serde_json::{Value as Json, json};

use common::lwm2m::{events, http, next_any, next_event, server};

fn client_socket(coap: u16) -> UdpSocket {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.connect(("127.0.0.1", coap)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    sock
}

fn recv(sock: &UdpSocket) -> OwnedMessage {
    let mut buf = [0u8; 2048];
    let n = sock.recv(&mut buf).unwrap();
    Message::decode(&buf[..n]).unwrap().to_owned()
}

/// A CON request with message ID and token `mid`.
fn con(code: Code, mid: u16, path: &[&str], query: &[&str]) -> OwnedMessage {
    let mut m = OwnedMessage::new(MessageType::Con, code, mid);
    m.token = mid.to_be_bytes().to_vec();
    for s in path {
        m = m.with_option(OptionNumber::URI_PATH, *s);
    }
    for q in query {
        m = m.with_option(OptionNumber::URI_QUERY, *q);
    }
    m
}

/// Registers `ep` with these extra query parameters; returns the registration id.
fn register(sock: &UdpSocket, ep: &str, extra: &[&str]) -> String {
    register_objects(sock, ep, extra, "</1/0>,</3/0>")
}

/// Registers `ep` with these extra query parameters and this link payload.
fn register_objects(sock: &UdpSocket, ep: &str, extra: &[&str], links: &str) -> String {
    let mut query = vec![format!("ep={ep}"), "lwm2m=1.1".to_string()];
    query.extend(extra.iter().map(|s| (*s).to_string()));
    let q: Vec<&str> = query.iter().map(String::as_str).collect();
    let m = con(Code::POST, 1, &["rd"], &q)
        .with_option(OptionNumber::CONTENT_FORMAT, [40u8])
        .with_payload(links.to_string());
    sock.send(&m.to_vec().unwrap()).unwrap();
    let r = recv(sock);
    assert_eq!(r.code, Code::CREATED, "{r:?}");
    let loc: Vec<String> = r
        .options
        .get_all(OptionNumber::LOCATION_PATH)
        .map(|o| o.as_str().unwrap().to_string())
        .collect();
    assert_eq!(loc.len(), 2, "{loc:?}");
    loc[1].clone()
}

/// The piggybacked answer to the server's request `req`.
fn answer(sock: &UdpSocket, req: &OwnedMessage, mut a: OwnedMessage) {
    a.mtype = MessageType::Ack;
    a.message_id = req.message_id;
    a.token = req.token.clone();
    sock.send(&a.to_vec().unwrap()).unwrap();
}

fn uri_path(m: &OwnedMessage) -> String {
    let segs: Vec<&str> = m
        .options
        .get_all(OptionNumber::URI_PATH)
        .map(|o| o.as_str().unwrap())
        .collect();
    format!("/{}", segs.join("/"))
}

/// /3/0/9 = `value` in TLV (the records written out here, the encoder is mote-lwm2m's).
fn battery(value: i64) -> OwnedMessage {
    let path: Path = "/3/0/9".parse().unwrap();
    let body = mote_lwm2m::encode(
        Format::Tlv,
        &path,
        &[Record::new(path, Value::Integer(value))],
    )
    .unwrap();
    OwnedMessage::new(MessageType::Ack, Code::CONTENT, 0)
        .with_option(OptionNumber::CONTENT_FORMAT, [0x2d_u8, 0x16].as_slice())
        .with_payload(body)
}

#[test]
fn a_sleeping_queue_mode_client_gets_its_held_read_when_it_wakes() {
    let (_srv, coap, web) = server(&["--queue-awake", "1", "--request-timeout", "60"]);
    let ev = events(web);
    let sock = client_socket(coap);
    let id = register(&sock, "q1", &["lt=300", "Q"]);
    let reg = next_event(&ev, "registration");
    assert_eq!(
        (&reg["endpoint"], &reg["queue_mode"]),
        (&json!("q1"), &json!(true))
    );
    // Awake after the Register, asleep once the 1 s window ran out.
    let (name, data) = next_any(&ev);
    assert_eq!((name.as_str(), data), ("awake", json!({"endpoint": "q1"})));
    let (name, data) = next_any(&ev);
    assert_eq!(
        (name.as_str(), data),
        ("sleeping", json!({"endpoint": "q1"}))
    );

    // A Read while it sleeps: held, nothing goes to the client.
    let reader =
        std::thread::spawn(move || http(web, "GET", "/api/clients/q1/3/0/9?format=tlv", ""));
    sock.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let mut buf = [0u8; 2048];
    assert!(
        sock.recv(&mut buf).is_err(),
        "a request reached a sleeping client"
    );
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();

    // The client wakes with an Update: the Update is answered and the held Read arrives.
    let update = con(Code::POST, 2, &["rd", &id], &[]);
    sock.send(&update.to_vec().unwrap()).unwrap();
    let mut updated = false;
    let mut read = None;
    while !(updated && read.is_some()) {
        let m = recv(&sock);
        if m.code == Code::CHANGED && m.message_id == 2 {
            updated = true;
        } else if m.code == Code::GET {
            assert_eq!(uri_path(&m), "/3/0/9");
            read = Some(m);
        } else {
            panic!("unexpected {m:?}");
        }
    }
    answer(&sock, &read.unwrap(), battery(61));
    let (st, r) = reader.join().unwrap();
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["status"], "2.05");
    assert_eq!(
        r["records"],
        json!([{"path": "/3/0/9", "type": "integer", "value": 61}])
    );
    assert_eq!(next_event(&ev, "awake"), json!({"endpoint": "q1"}));
}

#[test]
fn an_expired_registration_is_an_event_and_then_unknown() {
    let (_srv, coap, web) = server(&[]);
    let ev = events(web);
    let sock = client_socket(coap);
    let id = register(&sock, "e1", &["lt=1"]);
    assert_eq!(next_event(&ev, "registration")["endpoint"], "e1");
    assert_eq!(
        next_event(&ev, "expiration"),
        json!({"endpoint": "e1", "registration_id": id})
    );
    assert_eq!(
        http(web, "GET", "/api/clients/e1", ""),
        (404, json!({"error": "no client e1"}))
    );
    // Its Update is refused: the registration is gone (Transport §6.7: 4.04).
    let update = con(Code::POST, 3, &["rd", &id], &[]);
    sock.send(&update.to_vec().unwrap()).unwrap();
    assert_eq!(recv(&sock).code, Code::NOT_FOUND);
}

#[test]
fn rest_errors_are_json_with_the_coap_status_and_diagnostic() {
    let (_srv, coap, web) = server(&["--request-timeout", "2"]);
    let sock = client_socket(coap);
    // It announces SenML JSON (ct=110) on its root link.
    register_objects(
        &sock,
        "dev1",
        &["lt=300"],
        "</>;rt=\"oma.lwm2m\";ct=110,</1/0>,</3/0>",
    );

    // The client's CoAP error: HTTP 200, its code and its diagnostic payload.
    let reader = std::thread::spawn(move || http(web, "GET", "/api/clients/dev1/9/0", ""));
    let req = recv(&sock);
    assert_eq!((req.code, uri_path(&req).as_str()), (Code::GET, "/9/0"));
    // No `format`: the Read asks for the format the client announced (Accept 110).
    assert_eq!(
        req.options
            .get(OptionNumber::ACCEPT)
            .map(|o| o.as_uint().unwrap()),
        Some(110)
    );
    answer(
        &sock,
        &req,
        OwnedMessage::new(MessageType::Ack, Code::NOT_FOUND, 0).with_payload("no such instance"),
    );
    assert_eq!(
        reader.join().unwrap(),
        (
            200,
            json!({"status": "4.04", "diagnostic": "no such instance"})
        )
    );

    // Unknown client: 404, for the client and for an operation on it.
    for target in ["/api/clients/nobody", "/api/clients/nobody/3/0"] {
        assert_eq!(
            http(web, "GET", target, ""),
            (404, json!({"error": "no client nobody"})),
            "{target}"
        );
    }
    // Malformed: 400 with an error text, and nothing is sent to the client.
    for (method, target, body) in [
        ("GET", "/api/clients/dev1/3/x", ""),
        ("GET", "/api/clients/dev1/3/0?format=xml", ""),
        ("PUT", "/api/clients/dev1/3/0/0", "not json"),
        ("POST", "/api/clients/dev1/3/execute", ""),
    ] {
        let (st, r) = http(web, method, target, body);
        assert_eq!(st, 400, "{method} {target}: {r}");
        assert!(
            r["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{method} {target}: {r}"
        );
    }
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 2048];
    assert!(
        sock.recv(&mut buf).is_err(),
        "a malformed call reached the client"
    );

    // A client that does not answer: 504 once --request-timeout ran out.
    let (st, r) = http(web, "GET", "/api/clients/dev1/3/0", "");
    assert_eq!(
        (st, r),
        (504, json!({"error": "the client did not answer"}))
    );
}

/// An OSCORE context file (RFC 8613 Appendix C.1.1 secret and salt, this ID Context).
fn context_file(
    dir: &std::path::Path,
    name: &str,
    ids: (&str, &str),
    id_context: &str,
    endpoint: Option<&str>,
) -> String {
    let mut j = json!({
        "master_secret": "0102030405060708090a0b0c0d0e0f10",
        "master_salt": "9e7ca92223786340",
        "sender_id": ids.0,
        "recipient_id": ids.1,
        "id_context": id_context,
    });
    if let Some(ep) = endpoint {
        j["endpoint"] = Json::from(ep);
    }
    let path = dir.join(name);
    common::write_private(&path, j.to_string()).unwrap();
    path.to_str().unwrap().to_string()
}

/// `mote coap post …/rd?ep=EP --oscore CONTEXT`: the response code.
fn oscore_register(coap: u16, ep: &str, context: &str) -> String {
    let uri = format!("coap://127.0.0.1:{coap}/rd?ep={ep}&lt=300&lwm2m=1.1");
    let out = common::mote(&[
        "coap",
        "post",
        &uri,
        "--payload",
        "</1/0>,</3/0>",
        "--content-format",
        "40",
        "--json",
        "--timeout",
        "20",
        "--oscore",
        context,
    ]);
    let v: Json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    v["code"].as_str().unwrap().to_string()
}

/// Two clients with the same kid (Sender ID 00) under different kid contexts (ID Contexts aa
/// and bb) are two identities (RFC 8613 §3.3: the pair names the context): each registers
/// its own endpoint name, and neither may register the other's.
#[test]
fn oscore_contexts_are_told_apart_by_kid_context() {
    let dir = common::fresh_dir("mote-lwq-kidctx");
    let server_a = context_file(&dir, "sa.json", ("01", "00"), "aa", Some("dev-a"));
    let server_b = context_file(&dir, "sb.json", ("01", "00"), "bb", Some("dev-b"));
    let client_a = context_file(&dir, "ca.json", ("00", "01"), "aa", None);
    let client_b = context_file(&dir, "cb.json", ("00", "01"), "bb", None);
    let (_srv, coap, web) = server(&["--oscore", &server_a, "--oscore", &server_b]);
    // Transport, OSCORE "Endpoint Client Name": a name that does not match is 4.00.
    assert_eq!(oscore_register(coap, "dev-b", &client_a), "4.00");
    assert_eq!(oscore_register(coap, "dev-a", &client_b), "4.00");
    assert_eq!(oscore_register(coap, "dev-a", &client_a), "2.01");
    assert_eq!(oscore_register(coap, "dev-b", &client_b), "2.01");
    let (st, list) = http(web, "GET", "/api/clients", "");
    assert_eq!(st, 200);
    let mut names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["endpoint"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["dev-a", "dev-b"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A request held for a sleeping client counts against `--request-timeout` (HTTP 504), and
/// is dropped: when the client wakes, it is not sent.
#[test]
fn a_held_request_times_out_and_is_not_sent_after_the_client_wakes() {
    let (_srv, coap, web) = server(&["--queue-awake", "1", "--request-timeout", "2"]);
    let ev = events(web);
    let sock = client_socket(coap);
    let id = register(&sock, "q2", &["lt=300", "Q"]);
    assert_eq!(next_event(&ev, "sleeping"), json!({"endpoint": "q2"}));
    assert_eq!(
        http(web, "GET", "/api/clients/q2/3/0/9", ""),
        (504, json!({"error": "the client did not answer"}))
    );
    let update = con(Code::POST, 4, &["rd", &id], &[]);
    sock.send(&update.to_vec().unwrap()).unwrap();
    let m = recv(&sock);
    assert_eq!((m.code, m.message_id), (Code::CHANGED, 4));
    sock.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let mut buf = [0u8; 2048];
    assert!(
        sock.recv(&mut buf).is_err(),
        "the timed-out request went to the client"
    );
}

/// `mote coap post …/dp` of one SenML JSON record (with `--oscore CONTEXT` when given): the
/// response code.
fn send_dp(coap: u16, context: Option<&str>) -> String {
    common::lwm2m::coap_post_code(
        &format!("coap://127.0.0.1:{coap}/dp"),
        r#"[{"n":"/3/0/9","v":55,"t":1700000000}]"#,
        "110",
        context,
    )
}

/// Send (Transport §6.4.5) over real sockets to a server with OSCORE contexts: refused 4.04
/// without OSCORE and under a provisioned context that has not registered (no registration
/// bound to the identity, §6.7); accepted from the registered context, and reported exactly
/// once as a `send` event with its record and timestamp.
#[test]
fn send_is_accepted_only_from_the_registered_identity() {
    let dir = common::fresh_dir("mote-lwq-send");
    let server_a = context_file(&dir, "sa.json", ("01", "0a"), "aa", Some("dev-a"));
    let server_c = context_file(&dir, "sc.json", ("03", "0c"), "cc", Some("dev-c"));
    let client_a = context_file(&dir, "ca.json", ("0a", "01"), "aa", None);
    let client_c = context_file(&dir, "cc.json", ("0c", "03"), "cc", None);
    let (_srv, coap, web) = server(&["--oscore", &server_a, "--oscore", &server_c]);
    let ev = events(web);
    assert_eq!(oscore_register(coap, "dev-a", &client_a), "2.01");
    assert_eq!(next_event(&ev, "registration")["endpoint"], "dev-a");
    assert_eq!(send_dp(coap, None), "4.04", "plain Send");
    assert_eq!(
        send_dp(coap, Some(&client_c)),
        "4.04",
        "unregistered context"
    );
    assert_eq!(send_dp(coap, Some(&client_a)), "2.04");
    let (name, data) = next_any(&ev);
    assert_eq!(name, "send", "{data}");
    assert_eq!(
        data,
        json!({"endpoint": "dev-a", "records": [
            {"path": "/3/0/9", "type": "integer", "value": 55, "time": 1_700_000_000}
        ]})
    );
    assert!(
        ev.recv_timeout(Duration::from_millis(500)).is_err(),
        "one event for one Send"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A sleeping client's queue of held requests is bounded (16, docs/cli.md `--queue-awake`):
/// of 20 concurrent Reads 16 are held (and time out, 504) and 4 are refused at once with
/// HTTP 503 — whatever order they arrive in.
#[test]
fn the_held_queue_of_a_sleeping_client_is_bounded() {
    let (_srv, coap, web) = server(&["--queue-awake", "1", "--request-timeout", "4"]);
    let ev = events(web);
    let sock = client_socket(coap);
    register(&sock, "q3", &["lt=300", "Q"]);
    assert_eq!(next_event(&ev, "sleeping"), json!({"endpoint": "q3"}));
    let readers: Vec<_> = (0..20)
        .map(|_| std::thread::spawn(move || http(web, "GET", "/api/clients/q3/3/0/9", "")))
        .collect();
    let mut statuses: Vec<u16> = readers.into_iter().map(|r| r.join().unwrap().0).collect();
    statuses.sort_unstable();
    let mut want = vec![503; 4];
    want.extend([504; 16]);
    assert_eq!(statuses, want);
}

/// One OSCORE-protected request from `ctx` (a hand-built client, RFC 8613 §8.1) and the
/// verified inner response (§8.4).
fn oscore_exchange(
    sock: &UdpSocket,
    ctx: &mut mote_oscore::SecurityContext,
    request: &OwnedMessage,
) -> OwnedMessage {
    use mote_oscore::Framing;
    let plain = request.to_vec().unwrap();
    let mut out = [0u8; 2048];
    let (n, mut binding) = ctx.protect_request(Framing::Udp, &plain, &mut out).unwrap();
    sock.send(&out[..n]).unwrap();
    let mut buf = [0u8; 2048];
    let got = sock.recv(&mut buf).unwrap();
    let mut inner = [0u8; 2048];
    let len = ctx
        .unprotect_response(Framing::Udp, &mut binding, &buf[..got], &mut inner)
        .unwrap();
    Message::decode(&inner[..len]).unwrap().to_owned()
}

/// LwM2M TS 1.2 Transport, OSCORE: "The Echo option MUST be used by the receiving endpoint
/// when the OSCORE security context is used for the first time (e.g. ... Register)". The
/// first Register under a provisioned context is answered with a protected 4.01 carrying an
/// Echo value (RFC 9175 §2.3, RFC 8613 Appendix B.1.2) and registers nothing; repeated with
/// that Echo it registers (2.01). RFC 8613 Appendix B.2 runs for a request #1 under an unknown
/// 'kid context': answered with a protected 4.01 carrying R2, and request #2 under R2 || R3
/// registers.
#[test]
fn the_first_register_under_a_context_is_challenged_with_echo() {
    let dir = common::fresh_dir("mote-lwq-echo");
    let server_ctx = dir.join("s.json");
    common::write_private(
        &server_ctx,
        json!({"master_secret": "0102030405060708090a0b0c0d0e0f10",
               "master_salt": "9e7ca92223786340", "sender_id": "01", "recipient_id": "00",
               "endpoint": "dev1"})
        .to_string(),
    )
    .unwrap();
    let (_srv, coap, web) = server(&["--oscore", server_ctx.to_str().unwrap()]);
    let secret: Vec<u8> = (1..=16).collect();
    let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    let mut params = mote_oscore::SecurityContextParams::new(&secret, &[0x00], &[0x01]);
    params.master_salt = &salt;
    let mut ctx = mote_oscore::SecurityContext::new(&params).unwrap();
    let sock = client_socket(coap);
    let register = |mid: u16| {
        con(
            Code::POST,
            mid,
            &["rd"],
            &["ep=dev1", "lt=300", "lwm2m=1.1"],
        )
        .with_option(OptionNumber::CONTENT_FORMAT, [40u8])
        .with_payload("</1/0>,</3/0>")
    };
    let first = oscore_exchange(&sock, &mut ctx, &register(10));
    assert_eq!(first.code, Code::UNAUTHORIZED, "{first:?}");
    let echo = first
        .options
        .get(OptionNumber::ECHO)
        .expect("an Echo value")
        .value
        .to_vec();
    assert!(!echo.is_empty());
    assert_eq!(http(web, "GET", "/api/clients", "").1, json!([]));
    let second = oscore_exchange(
        &sock,
        &mut ctx,
        &register(11).with_option(OptionNumber::ECHO, echo),
    );
    assert_eq!(second.code, Code::CREATED, "{second:?}");
    assert_eq!(http(web, "GET", "/api/clients/dev1", "").0, 200);

    // RFC 8613 Appendix B.2 (LwM2M TS 1.2 Transport: on first use of a context): a request #1
    // under a 'kid context' R1 that names no configured context but carries the context's
    // 'kid' is verified under ID1 = R1 and answered with a protected 4.01 carrying R2; it
    // registers nothing.
    use mote_oscore::Framing;
    use mote_oscore::rederive::{client_verify_response_1, concat_id_context};
    let r1 = [0xee_u8; 8];
    let mut out = [0u8; 2048];
    let mut inner = [0u8; 2048];
    let (n, mut binding) = ctx
        .rederive(&r1)
        .unwrap()
        .protect_request(Framing::Udp, &register(12).to_vec().unwrap(), &mut out)
        .unwrap();
    sock.send(&out[..n]).unwrap();
    let mut buf = [0u8; 2048];
    let got = sock.recv(&mut buf).unwrap();
    let (len, r2) = client_verify_response_1(
        &ctx,
        &r1,
        &mut binding,
        Framing::Udp,
        &buf[..got],
        &mut inner,
    )
    .expect("response #1 verifies under R2 || R1");
    assert_eq!(r2.len(), 8);
    let response_1 = Message::decode(&inner[..len]).unwrap().to_owned();
    assert_eq!(response_1.code, Code::UNAUTHORIZED, "{response_1:?}");
    // Request #2 under ID3 = R2 || R3 is served under the same registration identity (the
    // context's first-use Echo was answered above; request #2 is fresh by R2).
    let id3 = concat_id_context(r2, &[0x33; 8]).unwrap();
    let mut third = ctx.rederive(id3.as_slice()).unwrap();
    let registered = oscore_exchange(&sock, &mut third, &register(13));
    assert_eq!(registered.code, Code::CREATED, "{registered:?}");
    assert_eq!(http(web, "GET", "/api/clients/dev1", "").0, 200);
    // A request #2 with an R2 the server never sent is only ever a new request #1: answered
    // 4.01, never served.
    let forged = concat_id_context(&[0x44; 8], &[0x33; 8]).unwrap();
    let (n, mut binding) = ctx
        .rederive(forged.as_slice())
        .unwrap()
        .protect_request(Framing::Udp, &register(15).to_vec().unwrap(), &mut out)
        .unwrap();
    sock.send(&out[..n]).unwrap();
    let got = sock.recv(&mut buf).unwrap();
    let (len, new_r2) = client_verify_response_1(
        &ctx,
        forged.as_slice(),
        &mut binding,
        Framing::Udp,
        &buf[..got],
        &mut inner,
    )
    .expect("a response #1 under a new R2");
    assert_ne!(new_r2, [0x44; 8]);
    let refused = Message::decode(&inner[..len]).unwrap().to_owned();
    assert_eq!(refused.code, Code::UNAUTHORIZED, "{refused:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
