//! `mote lwm2m-server` with real peers over loopback, for the requirements that are about the
//! system rather than one library: the Bootstrap-Request Trigger carried out end to end by
//! `mote lwm2m-client` and `mote bootstrap-server` (LightweightM2M-BsR-002), a server
//! restarted on its `--store` that never reuses an OSCORE nonce (RFC 8613 §7.2.1, Appendix
//! B.1.1), the binding of a registration to the OSCORE context it arrived under (TS 1.2
//! Transport §6.4.3 / §6.7: another context's Update or De-register is refused), and every
//! operation of the REST API carried out by the real `mote lwm2m-client`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{ChildStdin, Command};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mote_coap::message::Message;
use mote_coap::option::OptionNumber;
use serde_json::{Value as Json, json};

use common::lwm2m;

/// One HTTP/1.1 request without a body; (status, body as JSON or Null).
fn http(port: u16, method: &str, target: &str) -> (u16, Json) {
    lwm2m::http(port, method, target, "")
}

/// JSON lines of a process's stdout, read by a thread.
struct Lines {
    rx: Receiver<String>,
    /// Every line so far (for failure messages and for counting).
    all: Vec<Json>,
}

impl Lines {
    fn new(rx: Receiver<String>) -> Lines {
        Lines {
            rx,
            all: Vec::new(),
        }
    }

    /// Waits (at most 30 s) for a line for which `want` holds; returns it.
    fn wait(&mut self, what: &str, want: impl Fn(&Json) -> bool) -> Json {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    let j: Json = serde_json::from_str(&line).unwrap_or(Json::String(line));
                    self.all.push(j.clone());
                    if want(&j) {
                        return j;
                    }
                }
                Err(_) => panic!("timed out waiting for {what}; seen so far: {:#?}", self.all),
            }
        }
    }
}

/// `mote lwm2m-client ARGS… --json`: the process, its stdin and its event lines.
fn lwm2m_client(args: &[&str]) -> (common::Proc, ChildStdin, Lines) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mote"));
    cmd.arg("lwm2m-client").args(args).arg("--json");
    let (child, stdin, _, rx) = common::start_interactive(cmd, 0);
    (child, stdin, Lines::new(rx))
}

fn event_is(j: &Json, name: &str) -> bool {
    j["event"] == name
}

/// LightweightM2M-BsR-002 (TS 1.2 Core §6.1, Server Object Resource 9 "Bootstrap-Request
/// Trigger"), end to end with the shipped binaries: `mote lwm2m-client --bootstrap` is
/// bootstrapped by `mote bootstrap-server` and registers with `mote lwm2m-server`; the REST
/// call `POST /api/clients/{ep}/bootstrap` executes /1/0/9 on it (2.04); the client goes back
/// to the Bootstrap-Server (`bootstrap-started`), is bootstrapped a second time (the
/// bootstrap server's second `bootstrap-finished` for the endpoint, the client's
/// `bootstrap-finished`), and registers again with the management server: a new
/// registration (new location and registration id), listed by the server.
#[test]
fn bsr_002_the_bootstrap_request_trigger_sends_the_client_back_to_the_bootstrap_server() {
    let dir = common::fresh_dir("mote-lws-sys-bsr002");
    let (_server, coap, web) = lwm2m::server(&[]);
    let config = dir.join("bs.json");
    std::fs::write(
        &config,
        json!({"endpoints": {"trig-dev": {
            "format": "senml-cbor",
            "security": [{"instance": 1, "uri": format!("coap://127.0.0.1:{coap}"),
                          "ssid": 101}],
            "servers": [{"instance": 0, "ssid": 101, "lifetime": 300}]
        }}})
        .to_string(),
    )
    .unwrap();
    let (_bs, bs_ports, bs_rx) = common::start_with_output(
        &[
            "bootstrap-server",
            "--listen",
            "coap://127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
            "--print-port",
            "--json",
        ],
        1,
    );
    let mut bs_events = Lines::new(bs_rx);
    let bs_uri = format!("coap://127.0.0.1:{}", bs_ports[0]);
    let (_client, mut stdin, mut events) =
        lwm2m_client(&["--endpoint", "trig-dev", "--bootstrap", &bs_uri]);

    // The first bootstrap and registration.
    events.wait("the first bootstrap-started", |j| {
        event_is(j, "bootstrap-started")
    });
    bs_events.wait("the bootstrap server's first bootstrap-finished", |j| {
        event_is(j, "bootstrap-finished") && j["endpoint"] == "trig-dev"
    });
    events.wait("the first bootstrap-finished", |j| {
        event_is(j, "bootstrap-finished")
    });
    let first = events.wait("the first registration", |j| event_is(j, "registered"));
    assert_eq!(first["ssid"], 101, "{first}");
    let (st, listed) = http(web, "GET", "/api/clients/trig-dev");
    assert_eq!(st, 200, "{listed}");
    let first_id = listed["registration_id"].clone();
    assert!(first_id.is_string(), "{listed}");
    assert_eq!(listed["objects"].as_array().unwrap()[0], "/1/0", "{listed}");

    // The Bootstrap-Request Trigger, through the REST API.
    let (st, r) = http(web, "POST", "/api/clients/trig-dev/bootstrap");
    assert_eq!((st, &r["status"]), (200, &Json::from("2.04")), "{r}");
    let execute = events.wait("the Execute of /1/0/9", |j| event_is(j, "execute"));
    assert_eq!(execute["path"], "/1/0/9", "{execute}");

    // Back to the Bootstrap-Server, bootstrapped again, registered again.
    events.wait("the second bootstrap-started", |j| {
        event_is(j, "bootstrap-started")
    });
    bs_events.wait("the bootstrap server's second bootstrap-finished", |j| {
        event_is(j, "bootstrap-finished") && j["endpoint"] == "trig-dev"
    });
    events.wait("the second bootstrap-finished", |j| {
        event_is(j, "bootstrap-finished")
    });
    let second = events.wait("the second registration", |j| event_is(j, "registered"));
    // TS 1.2 Core §6.1 Step #3: the account was deleted (Bootstrap-Delete `/`) and written
    // again, so the client considered itself de-registered before registering anew.
    let after_trigger: Vec<&Json> = events
        .all
        .iter()
        .skip_while(|j| !event_is(j, "execute"))
        .collect();
    assert!(
        after_trigger
            .iter()
            .any(|j| event_is(j, "deregistered") && j["ssid"] == 101),
        "{after_trigger:#?}"
    );
    assert!(
        !after_trigger.iter().any(|j| event_is(j, "error")),
        "{after_trigger:#?}"
    );
    assert_eq!(second["ssid"], 101, "{second}");
    assert_ne!(second["location"], first["location"], "a new registration");
    // The management server lists the new registration (the old one was replaced).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (st, c) = http(web, "GET", "/api/clients");
        assert_eq!(st, 200);
        let list = c.as_array().unwrap();
        if list.len() == 1 && list[0]["registration_id"] != first_id {
            assert_eq!(list[0]["endpoint"], "trig-dev");
            break;
        }
        assert!(Instant::now() < deadline, "still the old registration: {c}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The bootstrap server saw exactly two sessions for the endpoint, both finished.
    let finished = bs_events
        .all
        .iter()
        .filter(|j| event_is(j, "bootstrap-finished"))
        .count();
    assert_eq!(finished, 2, "{:#?}", bs_events.all);
    writeln!(stdin, "quit").unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Writes an OSCORE context file (0600; RFC 8613 Appendix C.1.1 secret and salt).
fn context_file(dir: &Path, name: &str, sender: &str, recipient: &str, ep: Option<&str>) -> String {
    let mut j = json!({
        "master_secret": "0102030405060708090a0b0c0d0e0f10",
        "master_salt": "9e7ca92223786340",
        "sender_id": sender,
        "recipient_id": recipient,
    });
    if let Some(ep) = ep {
        j["endpoint"] = Json::from(ep);
    }
    let path = dir.join(name);
    common::write_private(&path, j.to_string()).unwrap();
    path.to_str().unwrap().to_string()
}

/// The (Partial IV, 'kid') of an OSCORE message (RFC 8613 §6.1), `None` without an OSCORE
/// option or without a Partial IV.
fn partial_iv(d: &[u8]) -> Option<(u64, Vec<u8>)> {
    let m = Message::decode(d).ok()?;
    let v = m.option(OptionNumber::OSCORE)?.value;
    let flags = *v.first()?;
    let n = usize::from(flags & 0x07);
    if n == 0 {
        return None;
    }
    let piv = v.get(1..1 + n)?;
    let mut rest = v.get(1 + n..)?;
    if flags & 0x10 != 0 {
        let s = usize::from(*rest.first()?);
        rest = rest.get(1 + s..)?;
    }
    let kid = if flags & 0x08 != 0 {
        rest.to_vec()
    } else {
        Vec::new()
    };
    Some((piv.iter().fold(0u64, |a, b| a << 8 | u64::from(*b)), kid))
}

/// What the relay saw the server send: (Partial IV, ('kid context', 'kid'), datagram from the
/// token on, sent after the restart).
type FromServer = Arc<Mutex<Vec<(u64, ContextKey, Vec<u8>, bool)>>>;

/// The context a message names on the wire: ('kid context', 'kid').
type ContextKey = (Option<Vec<u8>>, Vec<u8>);

/// The 'kid context' of each client datagram that carries one, and whether it was sent after
/// the restart.
type FromClient = Arc<Mutex<Vec<(Vec<u8>, bool)>>>;

/// The 'kid context' of an OSCORE message, if it carries one.
fn kid_context(d: &[u8]) -> Option<Vec<u8>> {
    mote_oscore::peek_oscore_option(mote_oscore::Framing::Udp, d)
        .ok()?
        .kid_context
        .map(<[u8]>::to_vec)
}

/// A UDP relay between one client (front socket) and the server (back socket, towards the
/// port in `upstream`, which the test changes when the server restarts). The server sees the
/// back socket as the client's address, so its own requests come through here too; every
/// server datagram carrying a Partial IV is recorded.
struct Relay {
    front: u16,
    upstream: Arc<AtomicU16>,
    restarted: Arc<std::sync::atomic::AtomicBool>,
    seen: FromServer,
    /// The 'kid context' of every client datagram that carries one (RFC 8613 Appendix B.2
    /// runs on first use of a context), and whether it was sent after the restart.
    client_kid_contexts: FromClient,
}

fn relay(upstream: u16) -> Relay {
    let front = UdpSocket::bind("127.0.0.1:0").unwrap();
    let back = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = front.local_addr().unwrap().port();
    let upstream = Arc::new(AtomicU16::new(upstream));
    let restarted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen: FromServer = Arc::default();
    let client_kid_contexts: FromClient = Arc::default();
    let client: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
    {
        let (front, back, upstream, client) = (
            front.try_clone().unwrap(),
            back.try_clone().unwrap(),
            upstream.clone(),
            client.clone(),
        );
        let (kid_contexts, restarted) = (client_kid_contexts.clone(), restarted.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while let Ok((n, from)) = front.recv_from(&mut buf) {
                if let Some(kc) = kid_context(&buf[..n]) {
                    let after = restarted.load(Ordering::SeqCst);
                    kid_contexts.lock().unwrap().push((kc, after));
                }
                *client.lock().unwrap() = Some(from);
                let to = ("127.0.0.1", upstream.load(Ordering::SeqCst));
                let _ = back.send_to(&buf[..n], to);
            }
        });
    }
    {
        let (seen, restarted) = (seen.clone(), restarted.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while let Ok(n) = back.recv(&mut buf) {
                let d = &buf[..n];
                if let Some((piv, kid)) = partial_iv(d) {
                    let after = restarted.load(Ordering::SeqCst);
                    // From the token on: a retransmission repeats exactly these bytes.
                    seen.lock()
                        .unwrap()
                        .push((piv, (kid_context(d), kid), d[4..].to_vec(), after));
                }
                if let Some(c) = *client.lock().unwrap() {
                    let _ = front.send_to(d, c);
                }
            }
        });
    }
    Relay {
        front: port,
        upstream,
        restarted,
        seen,
        client_kid_contexts,
    }
}

/// `n` REST Reads of /3/0/0 (each is a request the server protects with a new Partial IV).
fn reads(web: u16, n: usize) {
    for _ in 0..n {
        let (st, r) = http(web, "GET", "/api/clients/nonce-dev/3/0/0");
        assert_eq!((st, &r["status"]), (200, &Json::from("2.05")), "{r}");
        assert_eq!(r["records"][0]["value"], "Mote", "{r}");
    }
}

/// RFC 8613 §7.2.1 / Appendix B.1.1 for `mote lwm2m-server --store FILE --oscore FILE`: the
/// real `mote lwm2m-client` registers under OSCORE (through a recording relay); the server
/// sends it Reads; the server is killed (SIGKILL) and restarted on the same store and context
/// file. It still knows the client (`GET /api/clients/{ep}` without a re-registration; the
/// client's `update` brings its address back), its Reads work, and every message it sends
/// with a Partial IV after the restart has one above every Partial IV it used before under
/// the same context, or runs under a context RFC 8613 Appendix B.2 derived anew (which the
/// relay sees on the wire: R1, R2, ID3 = R2 || R3); no (context, Partial IV) is ever sent
/// twice with different bytes.
#[test]
fn a_restarted_oscore_server_keeps_its_client_and_never_reuses_a_partial_iv() {
    let dir = common::fresh_dir("mote-lws-sys-nonce");
    let store = dir.join("server.redb");
    let store = store.to_str().unwrap();
    let server_ctx = context_file(&dir, "server.json", "01", "0c", Some("nonce-dev"));
    let client_ctx = context_file(&dir, "client.json", "0c", "01", None);
    let (first, coap, web) = lwm2m::server(&["--store", store, "--oscore", &server_ctx]);
    let relay = relay(coap);
    let server_uri = format!("coap://127.0.0.1:{}", relay.front);
    let (_client, mut stdin, mut events) = lwm2m_client(&[
        "--endpoint",
        "nonce-dev",
        "--server",
        &server_uri,
        "--oscore",
        &client_ctx,
        "--lwm2m-version",
        "1.1",
    ]);
    events.wait("the registration", |j| event_is(j, "registered"));
    let (_, c) = http(web, "GET", "/api/clients/nonce-dev");
    assert_eq!(c["security"], "oscore", "{c}");
    // More requests than two blocks of K = F = 16 numbers (RFC 8613 App. B.1.1, the
    // command's SEQUENCE_K): a restart that forgot what was stored could not stay above them.
    reads(web, 40);
    let before: Vec<u64> = relay.seen.lock().unwrap().iter().map(|s| s.0).collect();
    assert!(
        before.len() >= 40,
        "the server's Reads carry Partial IVs: {before:?}"
    );

    // SIGKILL (Child::kill), then the same store and context file.
    drop(first);
    relay.restarted.store(true, Ordering::SeqCst);
    let (_second, coap, web) = lwm2m::server(&["--store", store, "--oscore", &server_ctx]);
    relay.upstream.store(coap, Ordering::SeqCst);
    let (st, c) = http(web, "GET", "/api/clients/nonce-dev");
    assert_eq!(st, 200, "the restarted server knows the client: {c}");
    assert_eq!(c["security"], "oscore", "{c}");
    // Its next message (an Update) brings the address back; no new Register.
    writeln!(stdin, "update").unwrap();
    events.wait("the Update after the restart", |j| event_is(j, "updated"));
    reads(web, 5);
    assert!(
        !events.all.iter().skip(1).any(|j| event_is(j, "registered")),
        "the client had to register again: {:#?}",
        events.all
    );

    let seen = relay.seen.lock().unwrap().clone();
    let after: Vec<u64> = seen.iter().filter(|s| s.3).map(|s| s.0).collect();
    assert!(after.len() >= 5, "{seen:?}");
    // A Partial IV is a nonce per key, and the key is per security context ('kid context',
    // 'kid'): a context used both before and after the restart continues above every
    // Partial IV it used before (Appendix B.1.1); a context derived after the restart by
    // Appendix B.2 has new keys and starts at 0.
    for (piv, key, _, _) in seen.iter().filter(|s| s.3) {
        let max_before = seen
            .iter()
            .filter(|s| !s.3 && s.1 == *key)
            .map(|s| s.0)
            .max();
        assert!(
            max_before.is_none_or(|m| *piv > m),
            "Partial IV {piv} at or below {max_before:?} after the restart under {key:02x?}"
        );
    }
    // RFC 8613 Appendix B.2 on first use (the provisioned contexts have no ID Context): the
    // client's request #1 carries an 8-byte R1, the server's response #1 an 8-byte R2, and
    // request #2 ID3 = R2 || R3; the server's Reads go out under ID3. After the restart the
    // server lost ID3: the procedure ran again and the Reads use a new ID3.
    let from_client = relay.client_kid_contexts.lock().unwrap().clone();
    assert_eq!(
        from_client.first().map(|c| c.0.len()),
        Some(8),
        "{from_client:02x?}"
    );
    let r2: Vec<&Vec<u8>> = seen
        .iter()
        .filter_map(|s| s.1.0.as_ref())
        .filter(|kc| kc.len() == 8)
        .collect();
    let id3_before: Vec<&Vec<u8>> = from_client
        .iter()
        .filter(|c| !c.1 && c.0.len() == 16)
        .map(|c| &c.0)
        .collect();
    assert!(
        id3_before
            .first()
            .is_some_and(|id3| r2.iter().any(|r| id3.starts_with(r))),
        "request #2 starts with an R2 of the server: {from_client:02x?} {r2:02x?}"
    );
    let reads_under = |after: bool| -> Vec<Vec<u8>> {
        seen.iter()
            .filter(|s| s.3 == after)
            .filter_map(|s| s.1.0.clone())
            .filter(|kc| kc.len() == 16)
            .collect()
    };
    let (before_ids, after_ids) = (reads_under(false), reads_under(true));
    assert!(
        !before_ids.is_empty() && !after_ids.is_empty(),
        "{seen:02x?}"
    );
    assert!(
        after_ids.iter().all(|id| !before_ids.contains(id)),
        "the server's Reads after the restart run under a new derived context"
    );
    let mut by_pair: BTreeMap<(u64, ContextKey), Vec<u8>> = BTreeMap::new();
    for (piv, kid, bytes, _) in &seen {
        if let Some(prev) = by_pair.insert((*piv, kid.clone()), bytes.clone()) {
            assert_eq!(
                &prev, bytes,
                "(Partial IV {piv}, kid {kid:02x?}) sent twice"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// TS 1.2 Transport §6.4.3 / §6.7 over real sockets, with two OSCORE context files: dev-a
/// registers under its context; under dev-b's context an Update and a De-register of
/// dev-a's registration get 4.04 and change nothing; dev-a's own Update gets 2.04 and its
/// De-register 2.02.
#[test]
fn another_contexts_update_and_deregister_are_refused() {
    let dir = common::fresh_dir("mote-lws-sys-binding");
    let server_a = context_file(&dir, "server-a.json", "01", "0a", Some("dev-a"));
    let server_b = context_file(&dir, "server-b.json", "02", "0b", Some("dev-b"));
    let client_a = context_file(&dir, "client-a.json", "0a", "01", None);
    let client_b = context_file(&dir, "client-b.json", "0b", "02", None);
    let (_srv, coap, web) = lwm2m::server(&["--oscore", &server_a, "--oscore", &server_b]);
    let base = format!("coap://127.0.0.1:{coap}");
    let register = |ep: &str, ctx: &str| {
        common::coap_json(&[
            "post",
            &format!("{base}/rd?ep={ep}&lt=300&lwm2m=1.1"),
            "--payload",
            "</1/0>,</3/0>",
            "--content-format",
            "40",
            "--oscore",
            ctx,
        ])
    };
    let r = register("dev-a", &client_a);
    assert_eq!(r["code"], "2.01", "{r}");
    let (_, listed) = http(web, "GET", "/api/clients/dev-a");
    let id = listed["registration_id"].as_str().unwrap().to_string();
    let location = format!("{base}/rd/{id}");
    // dev-b, under its own context, registered too (so it is a known, authenticated peer).
    assert_eq!(register("dev-b", &client_b)["code"], "2.01");

    let r = common::coap_json(&["post", &format!("{location}?lt=999"), "--oscore", &client_b]);
    assert_eq!(r["code"], "4.04", "another context's Update: {r}");
    let r = common::coap_json(&["delete", &location, "--oscore", &client_b]);
    assert_eq!(r["code"], "4.04", "another context's De-register: {r}");
    let (_, a) = http(web, "GET", "/api/clients/dev-a");
    assert_eq!(a["registration_id"], id.as_str(), "{a}");
    assert_eq!(
        a["lifetime"], 300,
        "the refused Update changed nothing: {a}"
    );

    let r = common::coap_json(&["post", &format!("{location}?lt=600"), "--oscore", &client_a]);
    assert_eq!(r["code"], "2.04", "{r}");
    assert_eq!(http(web, "GET", "/api/clients/dev-a").1["lifetime"], 600);
    let r = common::coap_json(&["delete", &location, "--oscore", &client_a]);
    assert_eq!(r["code"], "2.02", "{r}");
    assert_eq!(http(web, "GET", "/api/clients/dev-a").0, 404);
    assert_eq!(http(web, "GET", "/api/clients/dev-b").0, 200);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The answer of a REST call that must be HTTP 200 with the CoAP `code`.
#[track_caller]
fn ok((status, answer): (u16, Json), code: &str) -> Json {
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some(code)),
        "{answer}"
    );
    answer
}

/// The value of the record at `path` in an answer's `records`.
fn value_at<'a>(answer: &'a Json, path: &str) -> &'a Json {
    answer["records"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["path"] == path))
        .map_or(&Json::Null, |r| &r["value"])
}

/// Issue 13 "every operation against mote-lwm2m-client", over real sockets: `mote
/// lwm2m-server` (NoSec) and `mote lwm2m-client` (LwM2M 1.1), every operation of the REST
/// API (TS 1.2 Transport §6.4.4 Device Management, §6.4.5 Information Reporting): Read (the
/// default format and SenML-CBOR), Discover, Write (replace) and Write partial update, each
/// seen by the client (`write` events) and read back, Write-Attributes shown by Discover,
/// Execute (the client's `execute` event), Create (2.01 with the location, `create` event) and
/// Delete (`delete` event, then 4.04), Read-Composite, Write-Composite, Observe with a
/// notification of a value the device changed, Cancel, Observe-Composite with a notification
/// and its Cancel, and Send (`send` event with both records).
#[test]
fn every_operation_of_the_rest_api_against_mote_lwm2m_client() {
    let (_server, coap, web) = lwm2m::server(&[]);
    let sse = lwm2m::events(web);
    let server_uri = format!("coap://127.0.0.1:{coap}");
    let (_client, mut stdin, mut events) =
        lwm2m_client(&["--endpoint", "ops-dev", "--server", &server_uri]);
    events.wait("the registration", |j| event_is(j, "registered"));
    let registration = lwm2m::next_event(&sse, "registration");
    assert_eq!(registration["endpoint"], "ops-dev", "{registration}");
    let api = |rest: &str| format!("/api/clients/ops-dev{rest}");

    // Read, in the default format and in SenML-CBOR.
    let r = ok(http(web, "GET", &api("/3/0/0")), "2.05");
    assert_eq!(value_at(&r, "/3/0/0"), "Mote", "{r}");
    let r = ok(http(web, "GET", &api("/3303/0?format=senml-cbor")), "2.05");
    assert_eq!(r["content_format"], 112, "{r}");
    assert_eq!(value_at(&r, "/3303/0/5700"), 21.5, "{r}");
    // Discover.
    let r = ok(http(web, "GET", &api("/32769/0/discover")), "2.05");
    let links = r["links"].as_str().unwrap();
    for l in ["</32769/0>", "</32769/0/0>", "</32769/0/4>"] {
        assert!(links.contains(l), "{l} in {links}");
    }
    // Write (replace), seen by the client, read back.
    let body = r#"[{"path":"/32769/0/0","type":"string","value":"written"}]"#;
    ok(lwm2m::http(web, "PUT", &api("/32769/0/0"), body), "2.04");
    let w = events.wait("the write event", |j| event_is(j, "write"));
    assert_eq!(
        (&w["path"], &w["value"]),
        (&json!("/32769/0/0"), &json!("written"))
    );
    let r = ok(http(web, "GET", &api("/32769/0/0")), "2.05");
    assert_eq!(value_at(&r, "/32769/0/0"), "written");
    // Write, partial update of the instance.
    let body = r#"[{"path":"/32769/0/1","type":"integer","value":41}]"#;
    ok(
        lwm2m::http(web, "POST", &api("/32769/0?mode=update"), body),
        "2.04",
    );
    let r = ok(http(web, "GET", &api("/32769/0")), "2.05");
    assert_eq!(value_at(&r, "/32769/0/1"), 41, "{r}");
    assert_eq!(
        value_at(&r, "/32769/0/0"),
        "written",
        "partial update kept it: {r}"
    );
    // Write-Attributes, then Discover shows them.
    ok(
        http(web, "PUT", &api("/3303/0/5700/attributes?pmin=1&pmax=600")),
        "2.04",
    );
    let r = ok(http(web, "GET", &api("/3303/0/5700/discover")), "2.05");
    let links = r["links"].as_str().unwrap();
    assert!(
        links.contains("pmin=1") && links.contains("pmax=600"),
        "{links}"
    );
    // Execute.
    ok(http(web, "POST", &api("/3/0/4/execute")), "2.04");
    let e = events.wait("the execute event", |j| event_is(j, "execute"));
    assert_eq!(e["path"], "/3/0/4", "{e}");
    // Create and Delete.
    let body = r#"[{"path":"/32769/1/0","type":"string","value":"created"}]"#;
    let r = ok(lwm2m::http(web, "POST", &api("/32769"), body), "2.01");
    assert_eq!(r["location"], "/32769/1", "{r}");
    events.wait("the create event", |j| event_is(j, "create"));
    let r = ok(http(web, "GET", &api("/32769/1/0")), "2.05");
    assert_eq!(value_at(&r, "/32769/1/0"), "created");
    ok(http(web, "DELETE", &api("/32769/1")), "2.02");
    events.wait("the delete event", |j| event_is(j, "delete"));
    ok(http(web, "GET", &api("/32769/1/0")), "4.04");
    // Read-Composite and Write-Composite.
    let body = r#"{"paths":["/3/0/0","/3303/0/5700"]}"#;
    let r = ok(
        lwm2m::http(web, "POST", &api("/composite/read"), body),
        "2.05",
    );
    assert_eq!(value_at(&r, "/3/0/0"), "Mote", "{r}");
    assert_eq!(value_at(&r, "/3303/0/5700"), 21.5, "{r}");
    let body = r#"[{"path":"/32769/0/0","type":"string","value":"composite"},
                   {"path":"/32769/0/1","type":"integer","value":7}]"#;
    ok(
        lwm2m::http(web, "POST", &api("/composite/write"), body),
        "2.04",
    );
    let r = ok(http(web, "GET", &api("/32769/0")), "2.05");
    assert_eq!(value_at(&r, "/32769/0/0"), "composite", "{r}");
    assert_eq!(value_at(&r, "/32769/0/1"), 7, "{r}");
    // Observe: the first value, then a notification of the device's change; Cancel.
    let r = ok(http(web, "POST", &api("/3303/0/5700/observe")), "2.05");
    assert_eq!(value_at(&r, "/3303/0/5700"), 21.5, "{r}");
    writeln!(stdin, "set /3303/0/5700 23.5").unwrap();
    let n = lwm2m::next_event(&sse, "notification");
    assert_eq!(
        (&n["endpoint"], &n["path"]),
        (&json!("ops-dev"), &json!("/3303/0/5700"))
    );
    assert_eq!(value_at(&n, "/3303/0/5700"), 23.5, "{n}");
    ok(http(web, "DELETE", &api("/3303/0/5700/observe")), "2.05");
    assert_eq!(http(web, "DELETE", &api("/3303/0/5700/observe")).0, 404);
    // Observe-Composite: one notification with both targets; Cancel.
    let body = r#"{"paths":["/3/0/9","/3303/0/5700"]}"#;
    let r = ok(
        lwm2m::http(web, "POST", &api("/composite/observe"), body),
        "2.05",
    );
    assert_eq!(value_at(&r, "/3303/0/5700"), 23.5, "{r}");
    writeln!(stdin, "set /3303/0/5700 24.5").unwrap();
    let n = lwm2m::next_event(&sse, "notification");
    assert_eq!(n["path"], "/", "{n}");
    assert_eq!(value_at(&n, "/3303/0/5700"), 24.5, "{n}");
    assert!(value_at(&n, "/3/0/9").is_number(), "{n}");
    ok(
        lwm2m::http(web, "DELETE", &api("/composite/observe"), body),
        "2.05",
    );
    // Send (Information Reporting): both records reach the server's event stream.
    writeln!(stdin, "send /3303/0/5700 /32769/0/0").unwrap();
    let s = lwm2m::next_event(&sse, "send");
    assert_eq!(s["endpoint"], "ops-dev", "{s}");
    assert_eq!(value_at(&s, "/3303/0/5700"), 24.5, "{s}");
    assert_eq!(value_at(&s, "/32769/0/0"), "composite", "{s}");
    writeln!(stdin, "quit").unwrap();
    let d = lwm2m::next_event(&sse, "deregistration");
    assert_eq!(d["endpoint"], "ops-dev", "{d}");
}
