//! `mote lwm2m-client` against a small scripted LwM2M server: a mote_coap endpoint on a real
//! loopback UDP socket in the test. It checks the registration (parameters, the JSON event),
//! a Read, a Write, an Execute, an Observe notification after `set`, a `send` and `quit`
//! de-registering and exiting 0.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{
    Endpoint, EndpointConfig, Event, NoProtection, Protection, Reliability, RequestId,
    RequestOptions,
};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use mote_coap::transmission::RandomSource;

struct Rng(u64);

impl RandomSource for Rng {
    fn next_u32(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 32) as u32
    }
}

/// A request the server received.
#[derive(Debug, Clone)]
struct Seen {
    /// It arrived under OSCORE.
    protected: bool,
    code: Code,
    path: String,
    query: Vec<String>,
    payload: Vec<u8>,
}

/// The scripted server: answers Register with 2.01 `rd/5`, Update and Send with 2.04,
/// De-register with 2.02; keeps the answers to its own requests.
struct Server<X: Protection<SocketAddr> = NoProtection> {
    sock: UdpSocket,
    ep: Endpoint<SocketAddr, Rng, X>,
    /// The security context of the server's own requests (OSCORE), if any.
    context: Option<X::Identity>,
    epoch: Instant,
    client: Option<SocketAddr>,
    seen: Vec<Seen>,
    answers: Vec<(RequestId, OwnedMessage, bool)>,
}

impl Server {
    fn new() -> Server {
        Server::with_protection(NoProtection, None)
    }
}

impl<X: Protection<SocketAddr>> Server<X> {
    fn with_protection(protection: X, context: Option<X::Identity>) -> Server<X> {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        Server {
            sock,
            ep: Endpoint::with_protection(
                EndpointConfig::default(),
                Rng(0x1234_5678_9abc),
                protection,
            )
            .unwrap(),
            context,
            epoch: Instant::now(),
            client: None,
            seen: Vec::new(),
            answers: Vec::new(),
        }
    }

    fn port(&self) -> u16 {
        self.sock.local_addr().unwrap().port()
    }

    /// Runs the server (at least one receive of up to 20 ms) until `done` holds (or 20 s
    /// pass: a failure).
    fn run_until(&mut self, what: &str, mut done: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut buf = [0u8; 2048];
        let mut first = true;
        while std::mem::take(&mut first) || !done(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            if let Ok((n, from)) = self.sock.recv_from(&mut buf) {
                let now = self.epoch.elapsed();
                self.ep.handle(now, from, &buf[..n]);
            }
            let now = self.epoch.elapsed();
            if self.ep.poll_timeout().is_some_and(|t| t <= now) {
                self.ep.handle_timeout(now);
            }
            while let Some(e) = self.ep.poll_event() {
                self.event(e);
            }
            while let Some(t) = self.ep.poll_transmit() {
                self.sock.send_to(&t.datagram, t.peer).unwrap();
            }
        }
    }

    fn event(&mut self, e: Event<SocketAddr, X::Identity>) {
        let now = self.epoch.elapsed();
        match e {
            Event::Request { id, peer, message } => {
                self.client = Some(peer);
                let text = |n: OptionNumber| -> Vec<String> {
                    message
                        .options
                        .get_all(n)
                        .map(|o| String::from_utf8(o.value.to_vec()).unwrap())
                        .collect()
                };
                let path = format!("/{}", text(OptionNumber::URI_PATH).join("/"));
                let seen = Seen {
                    protected: message.identity.is_some(),
                    code: message.code,
                    path: path.clone(),
                    query: text(OptionNumber::URI_QUERY),
                    payload: message.payload.clone(),
                };
                let reply = match (seen.code, path.as_str()) {
                    (Code::POST, "/rd") => OwnedMessage::new(MessageType::Ack, Code::CREATED, 0)
                        .with_option(OptionNumber::LOCATION_PATH, "rd")
                        .with_option(OptionNumber::LOCATION_PATH, "5"),
                    (Code::DELETE, _) => OwnedMessage::new(MessageType::Ack, Code::DELETED, 0),
                    _ => OwnedMessage::new(MessageType::Ack, Code::CHANGED, 0),
                };
                self.seen.push(seen);
                self.ep.respond(now, id, reply).unwrap();
            }
            Event::Response { id, message, .. } => self.answers.push((id, message, false)),
            Event::ProtectionFailed { id, response, .. } => {
                self.answers.push((id, response, false));
            }
            Event::Notification { id, message, .. } => self.answers.push((id, message, true)),
            _ => {}
        }
    }

    /// Sends a request to the client and waits for its final response.
    fn ask(&mut self, request: OwnedMessage) -> (RequestId, OwnedMessage) {
        let now = self.epoch.elapsed();
        let client = self.client.expect("the client registered");
        let options = RequestOptions::new(
            Reliability::Confirmable,
            EndpointConfig::default().client_blockwise,
        );
        let id = match self.context.clone() {
            Some(ctx) => self
                .ep
                .request_protected(now, client, request, options, ctx)
                .unwrap(),
            None => self.ep.request_with(now, client, request, options).unwrap(),
        };
        self.run_until("a response", |s| {
            s.answers.iter().any(|(i, _, n)| *i == id && !n)
        });
        let answer = self
            .answers
            .iter()
            .find(|(i, _, n)| *i == id && !n)
            .map(|(_, m, _)| m.clone())
            .unwrap();
        (id, answer)
    }
}

fn request(code: Code, path: &str) -> OwnedMessage {
    let mut m = OwnedMessage::new(MessageType::Con, code, 0);
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        m = m.with_option(OptionNumber::URI_PATH, seg);
    }
    m
}

/// The client process, its stdin and its stdout lines.
struct ClientProc {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    events: Vec<serde_json::Value>,
}

impl ClientProc {
    fn start(args: &[&str]) -> ClientProc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mote"))
            .arg("lwm2m-client")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let stdin = child.stdin.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        ClientProc {
            child,
            stdin,
            lines,
            events: Vec::new(),
        }
    }

    fn command(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Collects the event lines printed so far.
    fn collect(&mut self) {
        while let Ok(line) = self.lines.try_recv() {
            self.events
                .push(serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}")));
        }
    }

    fn has(&mut self, event: &str, key: &str, value: &serde_json::Value) -> bool {
        self.collect();
        self.events
            .iter()
            .any(|e| e["event"] == event && &e[key] == value)
    }
}

impl Drop for ClientProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits (serving the client meanwhile, at most 10 s) for an event line.
fn wait_for<X: Protection<SocketAddr>>(
    client: &mut ClientProc,
    server: &mut Server<X>,
    event: &str,
    key: &str,
    value: &serde_json::Value,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !client.has(event, key, value) {
        assert!(
            Instant::now() < deadline,
            "no {event} with {key} = {value}: {:?}",
            client.events
        );
        server.run_until("time", |_| true);
    }
}

#[test]
fn registers_is_managed_and_observed_sends_and_deregisters() {
    let mut server = Server::new();
    let uri = format!("coap://127.0.0.1:{}", server.port());
    let mut client = ClientProc::start(&["--endpoint", "dev-cli", "--server", &uri, "--json"]);

    // Registration.
    server.run_until("Register", |s| s.seen.iter().any(|r| r.path == "/rd"));
    let reg = server
        .seen
        .iter()
        .find(|r| r.path == "/rd")
        .unwrap()
        .clone();
    assert_eq!(reg.code, Code::POST);
    for q in ["ep=dev-cli", "lt=300", "lwm2m=1.1", "b=U"] {
        assert!(reg.query.iter().any(|x| x == q), "{q} in {:?}", reg.query);
    }
    let links = String::from_utf8(reg.payload.clone()).unwrap();
    for l in ["</3/0>", "</4/0>", "</5/0>", "</3303/0>", "</32769/0>"] {
        assert!(links.contains(l), "{l} in {links}");
    }
    wait_for(
        &mut client,
        &mut server,
        "registered",
        "location",
        &"/rd/5".into(),
    );
    assert!(client.has("registered", "server", &uri.clone().into()));

    // Read /3/0/0 (Manufacturer) as text.
    let (_, r) = server.ask(request(Code::GET, "/3/0/0").with_uint_option(OptionNumber::ACCEPT, 0));
    assert_eq!(r.code, Code::CONTENT);
    assert_eq!(r.payload, b"Mote");

    // Write the test object's text resource, read it back.
    let write = request(Code::PUT, "/32769/0/0")
        .with_uint_option(OptionNumber::CONTENT_FORMAT, 0)
        .with_payload(b"written by the server".to_vec());
    assert_eq!(server.ask(write).1.code, Code::CHANGED);
    let (_, r) =
        server.ask(request(Code::GET, "/32769/0/0").with_uint_option(OptionNumber::ACCEPT, 0));
    assert_eq!(r.payload, b"written by the server");

    // Execute Reboot.
    assert_eq!(
        server.ask(request(Code::POST, "/3/0/4")).1.code,
        Code::CHANGED
    );

    // Observe the temperature; `set` changes it and a notification follows.
    let observe = request(Code::GET, "/3303/0/5700")
        .with_uint_option(OptionNumber::OBSERVE, 0)
        .with_uint_option(OptionNumber::ACCEPT, 0);
    let (obs, first) = server.ask(observe);
    assert_eq!(first.code, Code::CONTENT);
    assert_eq!(first.payload, b"21.5");
    client.command("set /3303/0/5700 23.25");
    server.run_until("a notification", |s| {
        s.answers.iter().any(|(i, _, n)| *i == obs && *n)
    });
    let note = server
        .answers
        .iter()
        .find(|(i, _, n)| *i == obs && *n)
        .unwrap()
        .1
        .clone();
    assert_eq!(note.payload, b"23.25");

    // Send.
    client.command("send /3303/0/5700 /3/0/0");
    server.run_until("POST /dp", |s| s.seen.iter().any(|r| r.path == "/dp"));
    let dp = server.seen.iter().find(|r| r.path == "/dp").unwrap();
    let body = String::from_utf8(dp.payload.clone()).unwrap();
    assert!(body.contains("23.25") && body.contains("Mote"), "{body}");

    // The events so far.
    for (event, key, value) in [
        ("write", "path", serde_json::Value::from("/32769/0/0")),
        ("execute", "path", "/3/0/4".into()),
        ("notify", "path", "/3303/0/5700".into()),
        ("send", "ssid", 1.into()),
        ("send", "code", "2.04".into()),
    ] {
        wait_for(&mut client, &mut server, event, key, &value);
    }

    // quit: De-register, exit 0.
    client.command("quit");
    server.run_until("De-register", |s| {
        s.seen
            .iter()
            .any(|r| r.code == Code::DELETE && r.path == "/rd/5")
    });
    // Keep answering (the ACK went out with the response) until the process exits.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        server.run_until("time", |_| true);
        if let Some(status) = client.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the client did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    assert!(client.has("deregistered", "ssid", &1.into()));
}

#[test]
fn a_bad_server_uri_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_mote"))
        .args([
            "lwm2m-client",
            "--endpoint",
            "x",
            "--server",
            "coaps://127.0.0.1:5684",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only coap://"));
}

/// `--state DIR`: a value the server wrote into the client's configuration (/1/0/1 Lifetime)
/// is kept, so the restarted client registers with it rather than with `--lifetime`.
#[test]
fn the_state_directory_keeps_the_configuration_across_restarts() {
    let dir = std::env::temp_dir().join(format!("mote-lwm2m-client-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let state = dir.to_str().unwrap().to_string();
    let mut server = Server::new();
    let uri = format!("coap://127.0.0.1:{}", server.port());
    let args = [
        "--endpoint",
        "dev-state",
        "--server",
        &uri,
        "--json",
        "--state",
        &state,
    ];
    {
        let mut client = ClientProc::start(&args);
        server.run_until("Register", |s| s.seen.iter().any(|r| r.path == "/rd"));
        server.run_until("time", |_| true);
        let lifetime = request(Code::PUT, "/1/0/1")
            .with_uint_option(OptionNumber::CONTENT_FORMAT, 0)
            .with_payload(b"77".to_vec());
        assert_eq!(server.ask(lifetime).1.code, Code::CHANGED);
        // The lifetime change is announced with an Update carrying only `lt`.
        server.run_until("the Update", |s| {
            s.seen
                .iter()
                .any(|r| r.path == "/rd/5" && r.query == ["lt=77"])
        });
        client.command("quit");
        let deadline = Instant::now() + Duration::from_secs(10);
        while client.child.try_wait().unwrap().is_none() {
            if Instant::now() >= deadline {
                client.collect();
                panic!(
                    "the client did not exit: {:?} {:?}",
                    client.events, server.seen
                );
            }
            server.run_until("time", |_| true);
        }
    }
    assert!(dir.join("lwm2m-config.cbor").exists());
    server.seen.clear();
    let client = ClientProc::start(&args);
    server.run_until("Register", |s| s.seen.iter().any(|r| r.path == "/rd"));
    let reg = server.seen.iter().find(|r| r.path == "/rd").unwrap();
    assert!(reg.query.iter().any(|q| q == "lt=77"), "{:?}", reg.query);
    // The client writes into the directory: stop it first.
    drop(client);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--oscore FILE`: the client registers under the OSCORE context of the file, a server
/// request under the matching context is answered, the same request without OSCORE is 4.01.
#[test]
fn oscore_protects_registration_and_management() {
    oscore_registration_and_management(true);
}

/// `"appendix_b2": false` in the context file: the client uses the provisioned context as is,
/// with a server that does not do RFC 8613 Appendix B.2.
#[test]
fn oscore_without_appendix_b2_uses_the_provisioned_context_as_is() {
    oscore_registration_and_management(false);
}

/// With `b2`, the scripted server holds its context as an Appendix B.2 root and the client's
/// file leaves the LwM2M default (B.2 on first use); without, neither does B.2.
fn oscore_registration_and_management(b2: bool) {
    use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
    use mote_oscore::sequence::Volatile;
    use mote_oscore::{SecurityContext, SecurityContextParams};

    let dir = std::env::temp_dir().join(format!(
        "mote-lwm2m-client-oscore-{b2}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("client.json");
    let key = if b2 { "" } else { r#","appendix_b2":false"# };
    std::fs::write(
        &file,
        format!(
            r#"{{"master_secret":"0102030405060708090a0b0c0d0e0f10","master_salt":"9e7ca92223786340","sender_id":"01","recipient_id":"02"{key}}}"#
        ),
    )
    .unwrap();
    // A context file holds a secret: the client refuses one others can read (finding 14).
    #[cfg(unix)]
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let secret = hex::decode("0102030405060708090a0b0c0d0e0f10").unwrap();
    let salt = hex::decode("9e7ca92223786340").unwrap();
    let mut params = SecurityContextParams::new(&secret, &[0x02], &[0x01]);
    params.master_salt = &salt;
    let mut oscore: OscoreProtection<Volatile, Rng> =
        OscoreProtection::new(OscoreConfig::default(), Rng(99));
    let root = SecurityContext::new(&params).unwrap();
    let ctx = if b2 {
        oscore.add_context_b2(root).unwrap()
    } else {
        oscore.add_context(root).unwrap()
    };
    let mut server = Server::with_protection(oscore, Some(ctx));
    let uri = format!("coap://127.0.0.1:{}", server.port());
    let path = file.to_str().unwrap().to_string();
    let mut client = ClientProc::start(&[
        "--endpoint",
        "dev-oscore",
        "--server",
        &uri,
        "--oscore",
        &path,
        "--json",
    ]);
    server.run_until("Register", |s| s.seen.iter().any(|r| r.path == "/rd"));
    let reg = server.seen.iter().find(|r| r.path == "/rd").unwrap();
    assert!(reg.protected, "the Register came under OSCORE");
    // With B.2 the Register arrived (as request #2) under the context it derived.
    assert_eq!(
        server.ep.protection_ref().derived_context(&ctx).is_some(),
        b2
    );
    wait_for(
        &mut client,
        &mut server,
        "registered",
        "location",
        &"/rd/5".into(),
    );
    let (_, r) = server.ask(request(Code::GET, "/3/0/0").with_uint_option(OptionNumber::ACCEPT, 0));
    assert_eq!(r.code, Code::CONTENT);
    assert_eq!(r.payload, b"Mote");
    // Without OSCORE the account's server is not recognized.
    server.context = None;
    let (_, r) = server.ask(request(Code::GET, "/3/0/0").with_uint_option(OptionNumber::ACCEPT, 0));
    assert_eq!(r.code, Code::UNAUTHORIZED);
    drop(client);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--state DIR` keeps the registration (TS 1.2 Core §6.2.1: valid until its lifetime runs
/// out): a client killed while registered and started again sends an Update to the same
/// location, not a new Register.
#[test]
fn a_restarted_client_updates_its_kept_registration() {
    let dir = std::env::temp_dir().join(format!("mote-lwm2m-client-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let state = dir.to_str().unwrap().to_string();
    let mut server = Server::new();
    let uri = format!("coap://127.0.0.1:{}", server.port());
    let args = [
        "--endpoint",
        "dev-resume",
        "--server",
        &uri,
        "--json",
        "--state",
        &state,
    ];
    {
        let mut client = ClientProc::start(&args);
        wait_for(
            &mut client,
            &mut server,
            "registered",
            "location",
            &"/rd/5".into(),
        );
        // The registration is written after its event is printed: wait for the file.
        let file = dir.join("registrations.json");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !std::fs::read_to_string(&file).is_ok_and(|t| t.contains("\"rd\"")) {
            assert!(
                Instant::now() < deadline,
                "no registration kept in {file:?}"
            );
            server.run_until("time", |_| true);
        }
        // Killed (no De-register).
    }
    let kept = std::fs::read_to_string(dir.join("registrations.json")).unwrap();
    server.seen.clear();
    let client = ClientProc::start(&args);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server
        .seen
        .iter()
        .any(|r| r.code == Code::POST && r.path == "/rd/5")
    {
        assert!(
            Instant::now() < deadline,
            "no Update; kept: {kept}; seen: {:?}",
            server.seen.iter().map(|r| &r.path).collect::<Vec<_>>()
        );
        server.run_until("time", |_| true);
    }
    assert!(
        !server.seen.iter().any(|r| r.path == "/rd"),
        "no new Register: {:?}",
        server.seen.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    drop(client);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--objects DIR`: an object defined only by a DDF XML file in DIR is served: the Register
/// payload lists it (`</32770>`, no instance yet), the server creates an instance with a
/// value, reads it back and the object's definition types it (an Integer resource answers
/// a text Read with the number it was written). Before, the definitions were loaded but no
/// object was registered: the Register payload left it out and every request was 4.04.
#[test]
fn objects_dir_objects_are_served() {
    let dir = std::env::temp_dir().join(format!("mote-lwm2m-client-ddf-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("32770.xml"),
        r#"<LWM2M><Object ObjectType="MODefinition"><Name>Mote Vendor Counter</Name><ObjectID>32770</ObjectID>
        <MultipleInstances>Multiple</MultipleInstances><Mandatory>Optional</Mandatory><Resources>
        <Item ID="0"><Name>Label</Name><Operations>RW</Operations><MultipleInstances>Single</MultipleInstances>
        <Mandatory>Mandatory</Mandatory><Type>String</Type><RangeEnumeration></RangeEnumeration><Units></Units></Item>
        <Item ID="1"><Name>Count</Name><Operations>RW</Operations><MultipleInstances>Single</MultipleInstances>
        <Mandatory>Mandatory</Mandatory><Type>Integer</Type><RangeEnumeration></RangeEnumeration><Units></Units></Item>
        </Resources></Object></LWM2M>"#,
    )
    .unwrap();
    let mut server = Server::new();
    let uri = format!("coap://127.0.0.1:{}", server.port());
    let mut client = ClientProc::start(&[
        "--endpoint",
        "dev-ddf",
        "--server",
        &uri,
        "--objects",
        dir.to_str().unwrap(),
        "--json",
    ]);
    server.run_until("Register", |s| s.seen.iter().any(|r| r.path == "/rd"));
    let reg = server
        .seen
        .iter()
        .find(|r| r.path == "/rd")
        .unwrap()
        .clone();
    let links = String::from_utf8(reg.payload.clone()).unwrap();
    assert!(links.contains("</32770>"), "{links}");
    wait_for(
        &mut client,
        &mut server,
        "registered",
        "location",
        &"/rd/5".into(),
    );
    // Create /32770/0 (SenML-JSON, Content-Format 110).
    let create = request(Code::POST, "/32770")
        .with_uint_option(OptionNumber::CONTENT_FORMAT, 110)
        .with_payload(br#"[{"bn":"/32770/0/","n":"0","vs":"pulses"},{"n":"1","v":42}]"#.to_vec());
    let (_, r) = server.ask(create);
    assert_eq!(
        r.code,
        Code::CREATED,
        "{}",
        String::from_utf8_lossy(&r.payload)
    );
    for (path, want) in [("/32770/0/0", &b"pulses"[..]), ("/32770/0/1", b"42")] {
        let (_, r) = server.ask(request(Code::GET, path).with_uint_option(OptionNumber::ACCEPT, 0));
        assert_eq!(r.code, Code::CONTENT, "{path}");
        assert_eq!(r.payload, want, "{path}");
    }
    // A value of the wrong type for the DDF's Integer is refused.
    let bad = request(Code::PUT, "/32770/0/1")
        .with_uint_option(OptionNumber::CONTENT_FORMAT, 0)
        .with_payload(b"many".to_vec());
    assert_eq!(server.ask(bad).1.code, Code::BAD_REQUEST);
    client.command("quit");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `mote bootstrap-server`, killed when dropped.
struct BootstrapServer {
    child: Child,
    port: u16,
    lines: mpsc::Receiver<String>,
}

impl BootstrapServer {
    fn start(config: &std::path::Path) -> BootstrapServer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mote"))
            .args([
                "bootstrap-server",
                "--listen",
                "coap://127.0.0.1:0",
                "--config",
            ])
            .arg(config)
            .args(["--json", "--print-port"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let port = lines
            .recv_timeout(Duration::from_secs(10))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        BootstrapServer { child, port, lines }
    }
}

impl Drop for BootstrapServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `--bootstrap-pack` against `mote bootstrap-server` (TS 1.2 Core §6.1.7.x, Transport
/// §6.4.1): the client asks `GET /bspack?ep=pack-dev`, takes the pack (no Bootstrap-Request,
/// no Bootstrap-Finish) and registers with the server account it carries, whose Access
/// Control instance lets that server read /3/0.
#[test]
fn bootstrap_pack_from_mote_bootstrap_server_then_register() {
    let mut server = Server::new();
    let dir = std::env::temp_dir().join(format!("mote-lwm2m-client-pack-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("bootstrap.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"endpoints": {{"pack-dev": {{
  "format": "senml-cbor",
  "security": [{{"instance": 1, "uri": "coap://127.0.0.1:{}", "mode": "nosec", "ssid": 101}}],
  "servers": [{{"instance": 0, "ssid": 101, "lifetime": 120, "binding": "U"}}],
  "access_control": [{{"instance": 0, "object": 3, "object_instance": 0,
                      "acl": {{"101": 1}}, "owner": 101}}]
}}}}}}"#,
            server.port()
        ),
    )
    .unwrap();
    let bs = BootstrapServer::start(&config);
    let mut client = ClientProc::start(&[
        "--endpoint",
        "pack-dev",
        "--bootstrap",
        &format!("coap://127.0.0.1:{}", bs.port),
        "--bootstrap-pack",
        "--json",
    ]);
    server.run_until("Register", |s| s.seen.iter().any(|r| r.path == "/rd"));
    let reg = server
        .seen
        .iter()
        .find(|r| r.path == "/rd")
        .unwrap()
        .clone();
    for q in ["ep=pack-dev", "lt=120", "b=U"] {
        assert!(reg.query.iter().any(|x| x == q), "{q} in {:?}", reg.query);
    }
    wait_for(
        &mut client,
        &mut server,
        "registered",
        "location",
        &"/rd/5".into(),
    );
    let (_, r) = server.ask(request(Code::GET, "/3/0/0").with_uint_option(OptionNumber::ACCEPT, 0));
    assert_eq!(r.code, Code::CONTENT);
    assert_eq!(r.payload, b"Mote");
    // The Bootstrap-Server served a pack and saw no Bootstrap-Request.
    let events: Vec<serde_json::Value> = std::iter::from_fn(|| {
        bs.lines
            .recv_timeout(Duration::from_millis(200))
            .ok()
            .map(|l| serde_json::from_str(&l).unwrap())
    })
    .collect();
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "bootstrap-pack" && e["endpoint"] == "pack-dev"),
        "{events:?}"
    );
    assert!(
        !events.iter().any(|e| e["event"] == "bootstrap-request"),
        "{events:?}"
    );
    client.command("quit");
    let _ = std::fs::remove_dir_all(&dir);
}
