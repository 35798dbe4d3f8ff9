//! `mote lwm2m-server` over real loopback sockets: a scripted LwM2M client (hand-built CoAP
//! over UDP) registers, and the REST API is driven over real HTTP (a raw TCP client):
//! list, Read in TLV and SenML-CBOR, Write, Execute, Observe with its notification on the
//! server-sent event stream, Send as an event, 404 for an unknown client, 504 for a silent
//! one, 400 for a malformed request, and a restart over the same `--store` file.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mote_coap::code::{Code, MessageType};
use mote_coap::content_format::ContentFormat;
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;
use mote_lwm2m::object::ObjectRegistry;
use mote_lwm2m::{Format, Path, Record, Value};
use serde_json::Value as Json;

use common::lwm2m::{events, http, next_event, server};

fn p(s: &str) -> Path {
    s.parse().unwrap()
}

enum ToClient {
    /// Send a CON request to the server and hand back the response.
    Request(OwnedMessage, Sender<OwnedMessage>),
    /// Notify the observer of /3/0/9 with this value.
    Notify(i64),
    /// Talk to the server at this port from now on (same client socket).
    Retarget(u16),
}

/// A scripted LwM2M client over UDP: answers the server's requests from a value table.
struct Client {
    tx: Sender<ToClient>,
    silent: Arc<AtomicBool>,
    values: Arc<Mutex<BTreeMap<String, Value>>>,
    executed: Arc<Mutex<Vec<String>>>,
}

impl Client {
    fn start(server_port: u16) -> Client {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.connect(("127.0.0.1", server_port)).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let (tx, rx) = channel::<ToClient>();
        let silent = Arc::new(AtomicBool::new(false));
        let mut initial = BTreeMap::new();
        initial.insert("/3/0/0".to_string(), Value::String("Mote".into()));
        initial.insert("/3/0/9".to_string(), Value::Integer(87));
        let values = Arc::new(Mutex::new(initial));
        let executed = Arc::new(Mutex::new(Vec::new()));
        let (s2, v2, e2) = (
            Arc::clone(&silent),
            Arc::clone(&values),
            Arc::clone(&executed),
        );
        std::thread::spawn(move || run_client(&sock, &rx, &s2, &v2, &e2));
        Client {
            tx,
            silent,
            values,
            executed,
        }
    }

    fn request(&self, m: OwnedMessage) -> OwnedMessage {
        let (tx, rx) = channel();
        self.tx.send(ToClient::Request(m, tx)).unwrap();
        rx.recv_timeout(Duration::from_secs(20)).unwrap()
    }

    fn register(&self, ep: &str) -> Vec<String> {
        let mut m = OwnedMessage::new(MessageType::Con, Code::POST, 0)
            .with_option(OptionNumber::URI_PATH, "rd")
            .with_option(OptionNumber::CONTENT_FORMAT, [40u8]);
        for q in [format!("ep={ep}"), "lt=300".into(), "lwm2m=1.1".into()] {
            m = m.with_option(OptionNumber::URI_QUERY, q);
        }
        let r = self.request(m.with_payload("</>;rt=\"oma.lwm2m\";ct=\"112 11542\",</1/0>,</3/0>"));
        assert_eq!(r.code, Code::CREATED, "{r:?}");
        r.options
            .get_all(OptionNumber::LOCATION_PATH)
            .map(|o| o.as_str().unwrap().to_string())
            .collect()
    }
}

fn content(values: &BTreeMap<String, Value>, path: &Path, accept: Option<u32>) -> OwnedMessage {
    let format = accept
        .and_then(|a| Format::from_content_format(ContentFormat(a as u16)))
        .unwrap_or(Format::Tlv);
    let prefix = path.to_string();
    let records: Vec<Record> = values
        .iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .map(|(k, v)| Record::new(p(k), v.clone()))
        .collect();
    let mut m = OwnedMessage::new(MessageType::Ack, Code::CONTENT, 0)
        .with_payload(mote_lwm2m::encode(format, path, &records).unwrap());
    m.options.push_uint(
        OptionNumber::CONTENT_FORMAT,
        u32::from(format.content_format().0),
    );
    m
}

#[allow(clippy::too_many_lines)]
fn run_client(
    sock: &UdpSocket,
    rx: &Receiver<ToClient>,
    silent: &AtomicBool,
    values: &Mutex<BTreeMap<String, Value>>,
    executed: &Mutex<Vec<String>>,
) {
    let mut mid: u16 = 0x100;
    let mut waiting: BTreeMap<u16, Sender<OwnedMessage>> = BTreeMap::new();
    let mut observe_token: Option<Vec<u8>> = None;
    let mut observe_seq = 2u32;
    let mut buf = [0u8; 2048];
    let defs = ObjectRegistry::with_builtin();
    loop {
        match rx.try_recv() {
            Ok(ToClient::Request(mut m, reply)) => {
                mid += 1;
                m.message_id = mid;
                m.token = mid.to_be_bytes().to_vec();
                m.mtype = MessageType::Con;
                sock.send(&m.to_vec().unwrap()).unwrap();
                waiting.insert(mid, reply);
            }
            Ok(ToClient::Notify(v)) => {
                values
                    .lock()
                    .unwrap()
                    .insert("/3/0/9".into(), Value::Integer(v));
                if let Some(token) = &observe_token {
                    mid += 1;
                    let mut n = content(&values.lock().unwrap(), &p("/3/0/9"), Some(11542));
                    n.mtype = MessageType::Non;
                    n.message_id = mid;
                    n.token = token.clone();
                    n.options.push_uint(OptionNumber::OBSERVE, observe_seq);
                    observe_seq += 1;
                    sock.send(&n.to_vec().unwrap()).unwrap();
                }
            }
            Ok(ToClient::Retarget(port)) => sock.connect(("127.0.0.1", port)).unwrap(),
            Err(std::sync::mpsc::TryRecvError::Disconnected) => return,
            Err(_) => {}
        }
        let Ok(n) = sock.recv(&mut buf) else {
            continue;
        };
        let Ok(msg) = Message::decode(&buf[..n]) else {
            continue;
        };
        let msg = msg.to_owned();
        if msg.code.is_response() {
            // Our request's piggybacked answer (retransmissions are not needed on loopback).
            if let Some(reply) = waiting.remove(&msg.message_id) {
                let _ = reply.send(msg);
            }
            continue;
        }
        if msg.code == Code::EMPTY || silent.load(Ordering::SeqCst) {
            continue;
        }
        let segs: Vec<String> = msg
            .options
            .get_all(OptionNumber::URI_PATH)
            .map(|o| o.as_str().unwrap().to_string())
            .collect();
        let text = format!("/{}", segs.join("/"));
        let path = if segs.is_empty() {
            Path::ROOT
        } else {
            p(&text)
        };
        let accept = msg
            .options
            .get(OptionNumber::ACCEPT)
            .map(|o| o.as_uint().unwrap());
        let plain = |c: Code| OwnedMessage::new(MessageType::Ack, c, 0);
        let mut answer = match msg.code {
            Code::GET if accept == Some(40) => {
                let mut a = plain(Code::CONTENT).with_payload(format!("<{text}>,<{text}/0>"));
                a.options.push_uint(OptionNumber::CONTENT_FORMAT, 40);
                a
            }
            Code::PUT if msg.options.get(OptionNumber::URI_QUERY).is_some() => {
                let q: Vec<&str> = msg
                    .options
                    .get_all(OptionNumber::URI_QUERY)
                    .map(|o| o.as_str().unwrap())
                    .collect();
                executed
                    .lock()
                    .unwrap()
                    .push(format!("{text}?{}", q.join("&")));
                plain(Code::CHANGED)
            }
            Code::POST if segs.len() == 1 => plain(Code::CREATED)
                .with_option(OptionNumber::LOCATION_PATH, segs[0].as_str())
                .with_option(OptionNumber::LOCATION_PATH, "1"),
            Code::DELETE if segs.first().is_some_and(|s| s == "3303") => plain(Code::DELETED),
            Code::FETCH => {
                let paths = mote_lwm2m::senml::cbor::decode_paths(&msg.payload).unwrap();
                let values = values.lock().unwrap();
                let records: Vec<Record> = paths
                    .iter()
                    .filter_map(|q| {
                        values
                            .get(&q.to_string())
                            .map(|v| Record::new(*q, v.clone()))
                    })
                    .collect();
                let mut a = plain(Code::CONTENT).with_payload(
                    mote_lwm2m::encode(Format::SenmlCbor, &Path::ROOT, &records).unwrap(),
                );
                a.options.push_uint(OptionNumber::CONTENT_FORMAT, 112);
                a
            }
            Code::GET => {
                let mut a = content(&values.lock().unwrap(), &path, accept);
                if msg
                    .options
                    .get(OptionNumber::OBSERVE)
                    .is_some_and(|o| o.as_uint().unwrap() == 0)
                {
                    observe_token = Some(msg.token.clone());
                    a.options.push_uint(OptionNumber::OBSERVE, 1);
                }
                a
            }
            Code::PUT | Code::POST
                if msg.options.get(OptionNumber::CONTENT_FORMAT).is_some() && segs.len() >= 2 =>
            {
                let cf = msg
                    .options
                    .get(OptionNumber::CONTENT_FORMAT)
                    .unwrap()
                    .as_uint()
                    .unwrap();
                let f = Format::from_content_format(ContentFormat(cf as u16)).unwrap();
                if f == Format::Text {
                    executed.lock().unwrap().push(text.clone());
                } else {
                    for r in mote_lwm2m::decode(f, &path, &msg.payload, &defs).unwrap() {
                        values.lock().unwrap().insert(r.path.to_string(), r.value);
                    }
                }
                plain(Code::CHANGED)
            }
            Code::POST => {
                executed.lock().unwrap().push(text.clone());
                plain(Code::CHANGED)
            }
            _ => plain(Code::METHOD_NOT_ALLOWED),
        };
        answer.message_id = msg.message_id;
        answer.token = msg.token.clone();
        sock.send(&answer.to_vec().unwrap()).unwrap();
    }
}

#[test]
fn list_read_write_execute_observe_send_and_errors() {
    let (_srv, coap, web) = server(&["--request-timeout", "2"]);
    let ev = events(web);
    let client = Client::start(coap);
    let loc = client.register("dev1");
    assert_eq!(loc[0], "rd");
    let reg = next_event(&ev, "registration");
    assert_eq!(reg["endpoint"], "dev1");

    // List and one client.
    let (st, list) = http(web, "GET", "/api/clients", "");
    assert_eq!(st, 200);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    let c = &list[0];
    assert_eq!(c["endpoint"], "dev1");
    assert_eq!(c["registration_id"], loc[1].as_str());
    assert_eq!(c["lwm2m_version"], "1.1");
    assert_eq!(c["binding"], "U");
    assert_eq!(c["lifetime"], 300);
    assert_eq!(c["transport"], "udp");
    assert_eq!(c["security"], "none");
    assert_eq!(c["objects"], serde_json::json!(["/1/0", "/3/0"]));
    assert!(c["address"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert!(c["registered_at"].as_str().unwrap().ends_with('Z'));
    let (st, one) = http(web, "GET", "/api/clients/dev1", "");
    assert_eq!((st, &one["endpoint"]), (200, &Json::from("dev1")));

    // Read in TLV and SenML-CBOR.
    for (format, cf) in [("tlv", 11542), ("senml-cbor", 112)] {
        let (st, r) = http(
            web,
            "GET",
            &format!("/api/clients/dev1/3/0?format={format}"),
            "",
        );
        assert_eq!(st, 200, "{r}");
        assert_eq!(r["status"], "2.05");
        assert_eq!(r["content_format"], cf);
        assert_eq!(
            r["records"],
            serde_json::json!([
                {"path": "/3/0/0", "type": "string", "value": "Mote"},
                {"path": "/3/0/9", "type": "integer", "value": 87},
            ])
        );
    }

    // Write (replace) and Execute reach the device.
    let (st, r) = http(
        web,
        "PUT",
        "/api/clients/dev1/3/0/0?format=senml-cbor",
        r#"[{"path":"/3/0/0","type":"string","value":"Renamed"}]"#,
    );
    assert_eq!((st, &r["status"]), (200, &Json::from("2.04")), "{r}");
    assert_eq!(
        client.values.lock().unwrap()["/3/0/0"],
        Value::String("Renamed".into())
    );
    let (st, r) = http(web, "POST", "/api/clients/dev1/3/0/4/execute", "");
    assert_eq!((st, &r["status"]), (200, &Json::from("2.04")), "{r}");
    assert_eq!(*client.executed.lock().unwrap(), vec!["/3/0/4".to_string()]);

    // Observe: the first answer like a Read, then the notification as an event.
    let (st, r) = http(
        web,
        "POST",
        "/api/clients/dev1/3/0/9/observe?format=tlv",
        "",
    );
    assert_eq!((st, &r["status"]), (200, &Json::from("2.05")), "{r}");
    assert_eq!(r["records"][0]["value"], 87);
    client.tx.send(ToClient::Notify(42)).unwrap();
    let n = next_event(&ev, "notification");
    assert_eq!(n["endpoint"], "dev1");
    assert_eq!(n["path"], "/3/0/9");
    assert_eq!(
        n["records"],
        serde_json::json!([{"path": "/3/0/9", "type": "integer", "value": 42}])
    );

    // Send (POST /dp) arrives as an event with its timestamp.
    let mut rec = Record::new(p("/3/0/9"), Value::Integer(55));
    rec.time = Some(1_700_000_000.0);
    let mut dp = OwnedMessage::new(MessageType::Con, Code::POST, 0)
        .with_option(OptionNumber::URI_PATH, "dp")
        .with_payload(mote_lwm2m::encode(Format::SenmlCbor, &Path::ROOT, &[rec]).unwrap());
    dp.options.push_uint(OptionNumber::CONTENT_FORMAT, 112);
    assert_eq!(client.request(dp).code, Code::CHANGED);
    let s = next_event(&ev, "send");
    assert_eq!(s["endpoint"], "dev1");
    assert_eq!(
        s["records"],
        serde_json::json!([{"path": "/3/0/9", "type": "integer", "value": 55, "time": 1_700_000_000}])
    );

    // A CoAP error is HTTP 200 with its status and diagnostic.
    let (st, r) = http(web, "DELETE", "/api/clients/dev1/3/0", "");
    assert_eq!((st, &r["status"]), (200, &Json::from("4.05")), "{r}");

    // Unknown client: 404; malformed: 400; silent client: 504.
    assert_eq!(http(web, "GET", "/api/clients/nobody", "").0, 404);
    assert_eq!(http(web, "GET", "/api/clients/nobody/3/0", "").0, 404);
    assert_eq!(http(web, "GET", "/api/clients/dev1/3/x", "").0, 400);
    assert_eq!(
        http(web, "GET", "/api/clients/dev1/3/0?format=xml", "").0,
        400
    );
    assert_eq!(
        http(web, "PUT", "/api/clients/dev1/3/0/0", "not json").0,
        400
    );
    client.silent.store(true, Ordering::SeqCst);
    let (st, r) = http(web, "GET", "/api/clients/dev1/3/0", "");
    assert_eq!(st, 504, "{r}");
}

#[test]
fn a_restarted_server_keeps_its_clients() {
    let dir = std::env::temp_dir().join(format!("mote-lws-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = dir.join("registrations.redb");
    let _ = std::fs::remove_file(&store);
    let store_arg = store.to_str().unwrap();
    let (first, coap, _) = server(&["--store", store_arg]);
    // NoSec: the client is known by its address, so it keeps its socket across the restart.
    let client = Client::start(coap);
    let loc = client.register("dev1");
    drop(first); // the server process is killed
    let (_srv, coap, web) = server(&["--store", store_arg]);
    let (st, list) = http(web, "GET", "/api/clients", "");
    assert_eq!(st, 200);
    assert_eq!(list[0]["endpoint"], "dev1");
    assert_eq!(list[0]["registration_id"], loc[1].as_str());
    // Not heard from since the restart: no address yet.
    assert_eq!(list[0]["address"], Json::Null);
    client.tx.send(ToClient::Retarget(coap)).unwrap();
    let mut update = OwnedMessage::new(MessageType::Con, Code::POST, 0);
    for s in &loc {
        update = update.with_option(OptionNumber::URI_PATH, s.as_str());
    }
    assert_eq!(client.request(update).code, Code::CHANGED);
    let (_, one) = http(web, "GET", "/api/clients/dev1", "");
    assert!(one["address"].as_str().is_some(), "{one}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Writes an OSCORE context file (RFC 8613 Appendix C.1.1 secret and salt) and returns its
/// path.
fn context_file(
    dir: &std::path::Path,
    name: &str,
    sender: &str,
    recipient: &str,
    endpoint: Option<&str>,
) -> String {
    let mut j = serde_json::json!({
        "master_secret": "0102030405060708090a0b0c0d0e0f10",
        "master_salt": "9e7ca92223786340",
        "sender_id": sender,
        "recipient_id": recipient,
    });
    if let Some(ep) = endpoint {
        j["endpoint"] = Json::from(ep);
    }
    let path = dir.join(name);
    common::write_private(&path, j.to_string()).unwrap();
    path.to_str().unwrap().to_string()
}

/// `mote coap post …/rd?ep=EP` (with OSCORE when `context` is given): the response code.
fn coap_register(coap: u16, ep: &str, context: Option<&str>) -> String {
    coap_register_at(&format!("coap://127.0.0.1:{coap}"), ep, context)
}

fn coap_register_at(base: &str, ep: &str, context: Option<&str>) -> String {
    common::lwm2m::coap_post_code(
        &format!("{base}/rd?ep={ep}&lt=300&lwm2m=1.1"),
        "</1/0>,</3/0>",
        "40",
        context,
    )
}

#[test]
fn oscore_contexts_bind_endpoint_names() {
    let dir = common::fresh_dir("mote-lws-oscore");
    let server_ctx = context_file(&dir, "server.json", "01", "00", Some("dev1"));
    let client_ctx = context_file(&dir, "client.json", "00", "01", None);
    let (_srv, coap, web) = server(&["--oscore", &server_ctx]);
    // Without OSCORE: refused (4.03, registration without a security context).
    assert_eq!(coap_register(coap, "dev1", None), "4.03");
    // Under the context provisioned for dev1, another name is refused: 4.00 (Transport,
    // OSCORE "Endpoint Client Name": the name does not match the OSCORE identity).
    assert_eq!(coap_register(coap, "intruder", Some(&client_ctx)), "4.00");
    assert_eq!(
        http(web, "GET", "/api/clients", "").1,
        serde_json::json!([])
    );
    // Its own name registers, bound to the context.
    assert_eq!(coap_register(coap, "dev1", Some(&client_ctx)), "2.01");
    let (_, c) = http(web, "GET", "/api/clients/dev1", "");
    assert_eq!(c["security"], "oscore");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn registration_over_tcp() {
    let (_srv, ports) = common::start(
        &[
            "lwm2m-server",
            "--listen",
            "coap+tcp://127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--print-port",
        ],
        2,
    );
    let base = format!("coap+tcp://127.0.0.1:{}", ports[0]);
    assert_eq!(coap_register_at(&base, "tcp1", None), "2.01");
    let (st, c) = http(ports[1], "GET", "/api/clients/tcp1", "");
    assert_eq!(st, 200);
    assert_eq!(c["transport"], "tcp");
}

// RFC 9529 Trace 2: CRED_I / CRED_R (CCS with P-256 keys) and the private keys.
const CRED_I: &str = "a2027734322d35302d33312d46462d45462d33372d33322d333908a101a5010202412b2001215820ac75e9ece3e50bfc8ed60399889522405c47bf16df96660a41298cb4307f7eb62258206e5de611388a4b8a8211334ac7d37ecb52a387d257e6db3c2a93df21ff3affc8";
const CRED_R: &str = "a2026b6578616d706c652e65647508a101a501020241322001215820bbc34960526ea4d32e940cad2a234148ddc21791a12afbcbac93622046dd44f02258204519e257236b2a0ce2023f0931f1f386ca7afda64fcde0108c224c51eabf6072";
const SK_I: &str = "fb13adeb6518cee5f88417660841142e830a81fe334380a953406a1305e8706b";
const SK_R: &str = "72cc4761dbd4c78f758931aa589d348d1ef874a7e303ede2f140dcf3e6aa4aac";

fn credential_file(dir: &std::path::Path, name: &str, cred: &str, key: &str, peer: &str) -> String {
    let v = serde_json::json!({
        "methods": [3],
        "suites": [2],
        "credential": {"ccs": cred},
        "private_key": key,
        "peers": [{"ccs": peer}],
    });
    let p = dir.join(name);
    common::write_private(&p, v.to_string()).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn a_client_registers_with_an_edhoc_derived_context() {
    let dir = common::fresh_dir("mote-lws-edhoc");
    let server_cred = credential_file(&dir, "server.json", CRED_R, SK_R, CRED_I);
    let client_cred = credential_file(&dir, "client.json", CRED_I, SK_I, CRED_R);
    let (_srv, coap, web) = server(&["--edhoc", &server_cred]);
    // Without a security context: refused.
    assert_eq!(coap_register(coap, "dev1", None), "4.03");
    // EDHOC at /.well-known/edhoc, then the Register protected with the derived context
    // (message_3 carried in the request, RFC 9668).
    let uri = format!("coap://127.0.0.1:{coap}/rd?ep=dev1&lt=300&lwm2m=1.1");
    let out = common::mote(&[
        "coap",
        "post",
        &uri,
        "--payload",
        "</1/0>,</3/0>",
        "--content-format",
        "40",
        "--edhoc",
        &client_cred,
        "--json",
        "--timeout",
        "20",
    ]);
    let v: Json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(v["code"], "2.01", "{v}");
    let (st, c) = http(web, "GET", "/api/clients/dev1", "");
    assert_eq!(st, 200);
    // An OSCORE context that EDHOC established shows as such.
    assert_eq!(c["security"], "edhoc");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn discover_attributes_create_delete_composite_partial_update_and_cancel() {
    let (_srv, coap, web) = server(&[]);
    let client = Client::start(coap);
    client.register("dev1");
    let (st, r) = http(web, "GET", "/api/clients/dev1/3/0/discover", "");
    assert_eq!((st, &r["status"]), (200, &Json::from("2.05")), "{r}");
    assert_eq!(r["links"], "</3/0>,</3/0/0>");
    let (st, r) = http(web, "PUT", "/api/clients/dev1/3/0/9/attributes?pmin=5", "");
    assert_eq!((st, &r["status"]), (200, &Json::from("2.04")), "{r}");
    let (st, r) = http(
        web,
        "POST",
        "/api/clients/dev1/3303?format=tlv",
        r#"[{"path":"/3303/1/5700","type":"float","value":1.5}]"#,
    );
    assert_eq!((st, &r["status"]), (200, &Json::from("2.01")), "{r}");
    assert_eq!(r["location"], "/3303/1");
    let (st, r) = http(web, "DELETE", "/api/clients/dev1/3303/1", "");
    assert_eq!((st, &r["status"]), (200, &Json::from("2.02")), "{r}");
    let (st, r) = http(
        web,
        "POST",
        "/api/clients/dev1/3/0?mode=update&format=senml-cbor",
        r#"[{"path":"/3/0/0","type":"string","value":"Partly"}]"#,
    );
    assert_eq!((st, &r["status"]), (200, &Json::from("2.04")), "{r}");
    assert_eq!(
        client.values.lock().unwrap()["/3/0/0"],
        Value::String("Partly".into())
    );
    let (st, r) = http(
        web,
        "POST",
        "/api/clients/dev1/composite/read",
        r#"{"paths":["/3/0/0","/3/0/9"]}"#,
    );
    assert_eq!((st, &r["status"]), (200, &Json::from("2.05")), "{r}");
    assert_eq!(r["records"].as_array().unwrap().len(), 2);
    assert_eq!(
        http(web, "POST", "/api/clients/dev1/composite/read", "{}").0,
        400
    );
    let (st, r) = http(web, "POST", "/api/clients/dev1/bootstrap", "");
    assert_eq!((st, &r["status"]), (200, &Json::from("2.04")), "{r}");
    assert_eq!(
        *client.executed.lock().unwrap(),
        vec!["/3/0/9?pmin=5".to_string(), "/1/0/9".to_string()]
    );
    // Observe, cancel, and a second cancel finds nothing: 404.
    let (st, _) = http(web, "POST", "/api/clients/dev1/3/0/9/observe", "");
    assert_eq!(st, 200);
    let (st, r) = http(web, "DELETE", "/api/clients/dev1/3/0/9/observe", "");
    assert_eq!((st, &r["status"]), (200, &Json::from("2.05")), "{r}");
    assert_eq!(
        http(web, "DELETE", "/api/clients/dev1/3/0/9/observe", "").0,
        404
    );
    // Cancel by Reset (RFC 7641 §3.6): nothing is asked of the client, the observation is
    // gone (404 next).
    let (st, _) = http(web, "POST", "/api/clients/dev1/3/0/9/observe", "");
    assert_eq!(st, 200);
    let reset = "/api/clients/dev1/3/0/9/observe?mode=reset";
    let (st, r) = http(web, "DELETE", reset, "");
    assert_eq!((st, &r["cancelled"]), (200, &Json::from("reset")), "{r}");
    assert_eq!(http(web, "DELETE", reset, "").0, 404);
}
