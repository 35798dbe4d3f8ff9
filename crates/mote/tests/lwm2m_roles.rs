//! `mote lwm2m-client` against `mote lwm2m-server`, both as built binaries on loopback
//! sockets, for what the demo needs of the two roles:
//!
//! - `--edhoc` on both sides: the client runs EDHOC (RFC 9528) before it registers and
//!   registers under the derived OSCORE context (`"security":"edhoc"`); `rekey 1` runs it
//!   again and registers anew, and the server binds the registration to the new identity.
//! - `--fresh-echo`: a REST Write is challenged for freshness (RFC 9175 §2.3), repeated with
//!   the Echo by the server's endpoint, and applied once.
//! - `--firmware FILE`: a 256 KiB package pulled by the client over OSCORE (Block2, each
//!   block verified), installed (Update Result 1, the new version in /3/0/3); a package whose
//!   digest is wrong is Update Result 5 and the old version stays.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::{ChildStdin, Command};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use sha2::{Digest as _, Sha256};

use common::Proc;

use common::lwm2m::{http, server};

// RFC 9529 Trace 2: CRED_I / CRED_R (CCS with P-256 keys, kid 0x2b / 0x32) and the keys.
const CRED_I: &str = "a2027734322d35302d33312d46462d45462d33372d33322d333908a101a5010202412b2001215820ac75e9ece3e50bfc8ed60399889522405c47bf16df96660a41298cb4307f7eb62258206e5de611388a4b8a8211334ac7d37ecb52a387d257e6db3c2a93df21ff3affc8";
const CRED_R: &str = "a2026b6578616d706c652e65647508a101a501020241322001215820bbc34960526ea4d32e940cad2a234148ddc21791a12afbcbac93622046dd44f02258204519e257236b2a0ce2023f0931f1f386ca7afda64fcde0108c224c51eabf6072";
const SK_I: &str = "fb13adeb6518cee5f88417660841142e830a81fe334380a953406a1305e8706b";
const SK_R: &str = "72cc4761dbd4c78f758931aa589d348d1ef874a7e303ede2f140dcf3e6aa4aac";

fn cred_file(dir: &Path, name: &str, cred: &str, key: &str, peer: &str) -> String {
    let v = serde_json::json!({
        "methods": [3],
        "suites": [2],
        "credential": {"ccs": cred},
        "private_key": key,
        "peers": [{"ccs": peer}],
    });
    let p = dir.join(name);
    std::fs::write(&p, v.to_string()).unwrap();
    p.to_str().unwrap().to_string()
}

/// `mote lwm2m-client … --json --print-port`: the child, its stdin, its events.
struct Client {
    _proc: Proc,
    stdin: ChildStdin,
    /// Its stdout lines after the port.
    events: Receiver<String>,
    /// Every event seen so far.
    seen: Vec<Json>,
}

impl Client {
    fn start(args: &[&str]) -> Client {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mote"));
        cmd.arg("lwm2m-client")
            .args(args)
            .args(["--json", "--print-port"]);
        let (proc, stdin, ports, events) = common::start_interactive(cmd, 1);
        assert_ne!(ports[0], 0, "--print-port prints the bound port");
        Client {
            _proc: proc,
            stdin,
            events,
            seen: Vec::new(),
        }
    }

    /// The next event named `name` within 30 s (others are kept in `seen`).
    fn wait(&mut self, name: &str) -> Json {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .events
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {name} event; seen: {:#?}", self.seen));
            // Lines that are not JSON events are passed over.
            let Ok(j) = serde_json::from_str::<Json>(&line) else {
                continue;
            };
            self.seen.push(j.clone());
            if j["event"] == name {
                return j;
            }
        }
    }

    fn command(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn count(&self, name: &str) -> usize {
        self.seen.iter().filter(|e| e["event"] == name).count()
    }
}

fn read_value(web: u16, path: &str) -> Json {
    let (status, body) = http(web, "GET", &format!("/api/clients/dev1{path}"), "");
    assert_eq!(status, 200, "{body}");
    body["records"][0]["value"].clone()
}

#[test]
fn edhoc_keys_the_account_before_register_and_rekey_moves_the_registration() {
    let d = common::fresh_dir("mote-roles-edhoc");
    let server_cred = cred_file(&d, "server.json", CRED_R, SK_R, CRED_I);
    let client_cred = cred_file(&d, "client.json", CRED_I, SK_I, CRED_R);
    let (_srv, coap, web) = server(&["--edhoc", &server_cred]);
    let state = d.join("state");
    let uri = format!("coap://127.0.0.1:{coap}");
    let mut c = Client::start(&[
        "--endpoint",
        "dev1",
        "--server",
        &uri,
        "--edhoc",
        &client_cred,
        "--state",
        state.to_str().unwrap(),
    ]);
    let rekeyed = c.wait("rekeyed");
    assert_eq!(rekeyed["ssid"], 1);
    assert_eq!(rekeyed["server"], uri.as_str());
    c.wait("registered");
    let (status, first) = http(web, "GET", "/api/clients/dev1", "");
    assert_eq!(status, 200);
    assert_eq!(first["security"], "edhoc", "{first}");
    // The derived context persists in the state directory.
    let context: Json =
        serde_json::from_slice(&std::fs::read(state.join("oscore-0.json")).unwrap()).unwrap();
    let first_secret = context["master_secret"].as_str().unwrap().to_string();
    assert_eq!(first_secret.len(), 32, "a 16-byte Master Secret (suite 2)");

    c.command("rekey 1");
    c.wait("rekeyed");
    c.wait("registered");
    let (_, second) = http(web, "GET", "/api/clients/dev1", "");
    assert_eq!(second["security"], "edhoc");
    assert_ne!(
        second["registration_id"], first["registration_id"],
        "a new Register, bound to the new identity"
    );
    let context: Json =
        serde_json::from_slice(&std::fs::read(state.join("oscore-0.json")).unwrap()).unwrap();
    assert_ne!(context["master_secret"].as_str().unwrap(), first_secret);
    // The client still answers under the new context.
    assert_eq!(read_value(web, "/3/0/0"), "Mote");
    // Exactly one registration for the endpoint.
    let (_, all) = http(web, "GET", "/api/clients", "");
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");

    // A restart with the same --state keeps the context and its sequence number: no
    // handshake, the registration resumes (an Update under the same identity).
    drop(c);
    let seq_before = std::fs::read(state.join("oscore-0.seq")).unwrap();
    let mut c = Client::start(&[
        "--endpoint",
        "dev1",
        "--server",
        &uri,
        "--edhoc",
        &client_cred,
        "--state",
        state.to_str().unwrap(),
    ]);
    c.wait("updated");
    assert_eq!(c.count("rekeyed"), 0, "{:#?}", c.seen);
    let (_, third) = http(web, "GET", "/api/clients/dev1", "");
    assert_eq!(third["registration_id"], second["registration_id"]);
    assert_eq!(third["security"], "edhoc");
    assert_eq!(read_value(web, "/3/0/0"), "Mote");
    assert_ne!(
        std::fs::read(state.join("oscore-0.seq")).unwrap(),
        seq_before,
        "the sequence number moved on from the stored one"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn fresh_echo_challenges_a_write_that_then_applies_once() {
    let (_srv, coap, web) = server(&[]);
    let uri = format!("coap://127.0.0.1:{coap}");
    let mut c = Client::start(&["--endpoint", "dev1", "--server", &uri, "--fresh-echo"]);
    c.wait("registered");
    // A Read (safe) is not challenged.
    assert_eq!(read_value(web, "/32769/0/1"), 0);
    let (status, body) = http(
        web,
        "PUT",
        "/api/clients/dev1/32769/0/1",
        r#"[{"path":"/32769/0/1","type":"integer","value":7}]"#,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "2.04", "{body}");
    let challenge = c.wait("echo-challenge");
    assert_eq!(challenge["path"], "/32769/0/1");
    assert_eq!(challenge["ssid"], 1);
    let write = c.wait("write");
    assert_eq!(write["path"], "/32769/0/1");
    assert_eq!(write["value"], "7");
    assert_eq!(read_value(web, "/32769/0/1"), 7);
    // Nothing else: one challenge, one write.
    std::thread::sleep(Duration::from_millis(300));
    while let Ok(line) = c.events.try_recv() {
        if let Ok(j) = serde_json::from_str::<Json>(&line) {
            c.seen.push(j);
        }
    }
    assert_eq!(c.count("echo-challenge"), 1, "{:#?}", c.seen);
    assert_eq!(c.count("write"), 1, "{:#?}", c.seen);
}

/// A package of the client's format: magic, SHA-256 of the image, the image (whose first
/// line names its version).
fn package(version: &str, len: usize) -> Vec<u8> {
    let mut image = format!("version:{version}\n").into_bytes();
    let mut x: u32 = 0x1234_5678;
    while image.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        image.push(x as u8);
    }
    let mut p = b"MOTEFW1\n".to_vec();
    p.extend_from_slice(&Sha256::digest(&image));
    p.extend_from_slice(&image);
    p
}

#[test]
fn a_256_kib_package_streams_over_oscore_and_installs_and_a_bad_digest_does_not() {
    let d = common::fresh_dir("mote-roles-fw");
    let server_cred = cred_file(&d, "server.json", CRED_R, SK_R, CRED_I);
    let client_cred = cred_file(&d, "client.json", CRED_I, SK_I, CRED_R);
    let good = package("2.0.0", 256 * 1024 - 40);
    assert_eq!(good.len(), 256 * 1024);
    let mut bad = package("3.0.0", 8 * 1024);
    let last = bad.len() - 1;
    bad[last] ^= 0x55;
    std::fs::write(d.join("good.bin"), &good).unwrap();
    std::fs::write(d.join("bad.bin"), &bad).unwrap();
    let (_srv, coap, web) = server(&[
        "--edhoc",
        &server_cred,
        "--firmware",
        d.join("good.bin").to_str().unwrap(),
        "--firmware",
        d.join("bad.bin").to_str().unwrap(),
    ]);
    let uri = format!("coap://127.0.0.1:{coap}");
    let mut c = Client::start(&[
        "--endpoint",
        "dev1",
        "--server",
        &uri,
        "--edhoc",
        &client_cred,
        "--state",
        d.join("state").to_str().unwrap(),
    ]);
    c.wait("registered");
    let old = read_value(web, "/3/0/3");

    // The corrupted package first: Update Result 5, the old firmware stays.
    let write_uri = |name: &str| {
        let body = format!(r#"[{{"path":"/5/0/1","type":"string","value":"{uri}/fw/{name}"}}]"#);
        let (status, j) = http(web, "PUT", "/api/clients/dev1/5/0/1", &body);
        assert_eq!((status, j["status"].as_str()), (200, Some("2.04")), "{j}");
    };
    write_uri("bad.bin");
    let fw = c.wait("firmware");
    assert_eq!(
        (fw["state"].as_i64(), fw["result"].as_i64()),
        (Some(0), Some(5))
    );
    assert_eq!(read_value(web, "/5/0/5"), 5);
    assert_eq!(read_value(web, "/3/0/3"), old);

    // The good one, 256 KiB in blocks, each verified under OSCORE.
    let before = c.seen.len();
    write_uri("good.bin");
    let fw = c.wait("firmware");
    assert_eq!(
        (fw["state"].as_i64(), fw["result"].as_i64()),
        (Some(2), Some(0))
    );
    // One report per 64 KiB received, the last one at the end, with the announced size.
    let progress: Vec<(i64, i64)> = c.seen[before..]
        .iter()
        .filter(|e| e["event"] == "firmware-progress")
        .map(|e| (e["bytes"].as_i64().unwrap(), e["total"].as_i64().unwrap()))
        .collect();
    let k = 64 * 1024;
    assert_eq!(
        progress,
        [(k, 4 * k), (2 * k, 4 * k), (3 * k, 4 * k), (4 * k, 4 * k)]
    );
    let (status, j) = http(web, "POST", "/api/clients/dev1/5/0/2/execute", "");
    assert_eq!((status, j["status"].as_str()), (200, Some("2.04")), "{j}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while read_value(web, "/5/0/5") != 1 {
        assert!(Instant::now() < deadline, "Update Result never 1");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(read_value(web, "/3/0/3"), "2.0.0");
    assert_eq!(read_value(web, "/5/0/3"), 0);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn firmware_is_served_to_registered_clients_only() {
    let d = common::fresh_dir("mote-roles-fw-auth");
    std::fs::write(d.join("p.bin"), package("1", 100)).unwrap();
    let (_srv, coap, _web) = server(&["--firmware", d.join("p.bin").to_str().unwrap()]);
    // A peer that never registered: 4.01, for a known and an unknown name alike.
    for name in ["p.bin", "nope.bin"] {
        let o = common::mote(&[
            "coap",
            "get",
            &format!("coap://127.0.0.1:{coap}/fw/{name}"),
            "--json",
            "--timeout",
            "10",
        ]);
        let v: Json = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["code"], "4.01", "{v}");
    }
    let _ = std::fs::remove_dir_all(&d);
}
