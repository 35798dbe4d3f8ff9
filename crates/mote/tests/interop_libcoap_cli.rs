//! Interop of the `mote` networking commands with Debian's libcoap 4.3.1 (`libcoap3-bin`) over
//! real loopback sockets, over TCP (RFC 8323, `coap+tcp://`) and UDP:
//!
//! - `mote coap` as the client of `coap-server-notls -A 127.0.0.1 -d 16`: GET `/time`, PUT and
//!   DELETE of a dynamic resource, a Block1 upload and Block2 download of `/example_data`,
//!   Observe of `/time`.
//! - `coap-client-notls` as the client of `mote serve --listen coap+tcp://…`: Read of /3/0/0
//!   (text) and /3/0 (SenML-JSON by Accept), Write of /1/0/1, a Block2 download of the opaque
//!   /19/0/0/0, a Block1 firmware upload to /5/0/0, Observe of /3/0/13.
//!
//! (`interop_libcoap.rs` drives libcoap with the mote-coap codec alone; this file runs the
//! `mote` binary.) Run by `scripts/test.sh` with `--ignored`; a missing peer fails the tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Proc, coap_json, free_port, mote, start};

const SERVER: &str = "coap-server-notls";
const CLIENT: &str = "coap-client-notls";

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "mote-interop-libcoap-cli-{}-{tag}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn start_libcoap_server() -> (Proc, u16) {
    let port = free_port();
    let child = Command::new(SERVER)
        .args([
            "-A",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-d",
            "16",
            "-v",
            "0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{SERVER} must be installed (apt-get install libcoap3-bin): {e}")
        });
    let proc = Proc(child);
    // Ready when its TCP listener accepts (polled: the server has no readiness signal).
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{SERVER} did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (proc, port)
}

/// `mote coap ARGS --json`: (code, payload bytes).
fn mote_coap(args: &[&str]) -> (String, Vec<u8>) {
    let v = coap_json(args);
    (
        v["code"].as_str().unwrap().to_owned(),
        hex::decode(v["payload"].as_str().unwrap()).unwrap(),
    )
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn mote_coap_against_libcoap_server_over_tcp_and_udp() {
    let dir = tempdir("client");
    let upload: Vec<u8> = (0..5000u32).map(|i| b'0' + (i % 10) as u8).collect();
    let file = dir.join("upload.bin");
    std::fs::write(&file, &upload).unwrap();
    for scheme in ["coap+tcp", "coap"] {
        let (_server, port) = start_libcoap_server();
        let u = |p: &str| format!("{scheme}://127.0.0.1:{port}{p}");
        // GET /time: 2.05 with the server's clock as text.
        let (code, body) = mote_coap(&["get", &u("/time")]);
        assert_eq!(code, "2.05", "{scheme}");
        assert!(!body.is_empty(), "{scheme}");
        // PUT creates a dynamic resource (-d), GET reads it, DELETE removes it.
        let (code, _) = mote_coap(&["put", &u("/mote-put"), "--payload", "put by mote"]);
        assert_eq!(code, "2.01", "{scheme}");
        assert_eq!(mote_coap(&["get", &u("/mote-put")]).1, b"put by mote");
        assert_eq!(mote_coap(&["delete", &u("/mote-put")]).0, "2.02");
        assert_eq!(mote_coap(&["get", &u("/mote-put")]).0, "4.04");
        // Block1 upload of 5000 bytes in 256-byte blocks, Block2 download in 64-byte blocks.
        let (code, _) = mote_coap(&[
            "put",
            &u("/example_data"),
            "--payload-file",
            file.to_str().unwrap(),
            "--block-size",
            "256",
        ]);
        assert!(code == "2.04" || code == "2.01", "{scheme}: {code}");
        let (code, body) = mote_coap(&["get", &u("/example_data"), "--block-size", "64"]);
        assert_eq!(code, "2.05");
        assert_eq!(body, upload, "{scheme}");
        // Observe /time: the registration response and one notification (about 1 s later).
        let o = mote(&[
            "coap",
            "get",
            &u("/time"),
            "--observe",
            "--count",
            "2",
            "--timeout",
            "10",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 2);
    }
}

fn start_mote_server() -> (Proc, u16) {
    let (child, ports) = start(
        &[
            "serve",
            "--listen",
            "coap+tcp://127.0.0.1:0",
            "--print-port",
            "--notify-ms",
            "300",
        ],
        1,
    );
    (child, ports[0])
}

/// `coap-client-notls ARGS URI` to completion; (stdout, stderr).
fn libcoap_client(args: &[&str], uri: &str) -> (Vec<u8>, String) {
    let o = Command::new(CLIENT)
        .args(["-B", "8"])
        .args(args)
        .arg(uri)
        .output()
        .unwrap_or_else(|e| {
            panic!("{CLIENT} must be installed (apt-get install libcoap3-bin): {e}")
        });
    (o.stdout, String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn libcoap_client_against_mote_serve_over_tcp() {
    let dir = tempdir("server");
    let (_server, port) = start_mote_server();
    let u = |p: &str| format!("coap+tcp://127.0.0.1:{port}{p}");
    let trim = |b: Vec<u8>| String::from_utf8(b).unwrap().trim_end().to_owned();
    // Read a single resource (text) and an instance as SenML-JSON (Accept 110).
    assert_eq!(trim(libcoap_client(&[], &u("/3/0/0")).0), "Mote");
    let (senml, err) = libcoap_client(&["-A", "110"], &u("/3/0"));
    let senml = trim(senml);
    assert!(senml.starts_with("[{\"bn\":\"/3/0/\""), "{senml} {err}");
    assert!(senml.contains("\"vs\":\"Mote\""), "{senml}");
    // Write, read back.
    libcoap_client(&["-m", "put", "-e", "600"], &u("/1/0/1"));
    assert_eq!(trim(libcoap_client(&[], &u("/1/0/1")).0), "600");
    // Block2 download of the 4 KiB opaque resource instance, 64-byte blocks, to a file.
    let out = dir.join("big.bin");
    libcoap_client(&["-b", "64", "-o", out.to_str().unwrap()], &u("/19/0/0/0"));
    let want: Vec<u8> = (0..4096u32).map(|i| ((i * 31) >> 3) as u8).collect();
    assert_eq!(std::fs::read(&out).unwrap(), want);
    // Block1 firmware upload (opaque, 256-byte blocks); State becomes Downloaded (2).
    let fw = dir.join("fw.bin");
    std::fs::write(
        &fw,
        (0..3000u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>(),
    )
    .unwrap();
    libcoap_client(
        &[
            "-m",
            "put",
            "-t",
            "42",
            "-b",
            "256",
            "-f",
            fw.to_str().unwrap(),
        ],
        &u("/5/0/0"),
    );
    assert_eq!(trim(libcoap_client(&[], &u("/5/0/3")).0), "2");
    // Observe the Current Time for 2 s: several notifications, each a Unix time.
    let (notes, err) = libcoap_client(&["-s", "2", "-w"], &u("/3/0/13"));
    let notes = String::from_utf8(notes).unwrap();
    let times: Vec<i64> = notes
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert!(times.len() >= 3, "{notes:?} {err}");
    assert!(times.iter().all(|t| *t > 1_600_000_000), "{times:?}");
}
