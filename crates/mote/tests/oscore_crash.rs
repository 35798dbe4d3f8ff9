//! Crash safety of the file-backed sequence-number store (RFC 8613 Appendix B.1.1): a
//! `mote coap` client uploading block-wise with OSCORE is killed with SIGKILL at random
//! moments mid-traffic and restarted, 200+ times; every OSCORE request it ever sent is
//! recorded, and no (Sender ID, Partial IV) pair may appear twice with different content.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mote_coap::code::{Code, MessageType};
use mote_coap::message::{Message, MessageWriter};
use mote_coap::option::OptionNumber;
use mote_oscore::{Framing, SecurityContext, SecurityContextParams, peek_oscore_option};

const SECRET: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

type Seen = BTreeMap<(Vec<u8>, Vec<u8>), Vec<u8>>;

/// The OSCORE server: records every request's (kid, Partial IV) → datagram, answers
/// Block1 requests with a protected 2.31 Continue.
fn serve(sock: UdpSocket, seen: Arc<Mutex<(Seen, Vec<String>)>>) {
    let mut ctx =
        SecurityContext::new(&SecurityContextParams::new(&SECRET, &[0x01], &[0x00])).unwrap();
    let mut buf = [0u8; 2048];
    let mut plain = [0u8; 4096];
    let mut out = [0u8; 2048];
    loop {
        let Ok((n, peer)) = sock.recv_from(&mut buf) else {
            return;
        };
        let d = &buf[..n];
        if d == b"stop" {
            return;
        }
        let Ok(opt) = peek_oscore_option(Framing::Udp, d) else {
            continue;
        };
        let key = (
            opt.kid.unwrap_or_default().to_vec(),
            opt.partial_iv.unwrap_or_default().to_vec(),
        );
        {
            let mut g = seen.lock().unwrap();
            let (map, violations) = &mut *g;
            match map.get(&key) {
                // A CON retransmission repeats the datagram: same bytes but the Message ID
                // and type are outside OSCORE; compare from the token on.
                Some(prev) if prev[4..] != d[4..] => violations.push(format!("reused {key:?}")),
                Some(_) => {}
                None => {
                    map.insert(key, d.to_vec());
                }
            }
        }
        let Ok(v) = ctx.unprotect_request(Framing::Udp, d, &mut plain) else {
            continue;
        };
        let req = Message::decode(&plain[..v.len]).unwrap();
        let block1 = req
            .option(OptionNumber::BLOCK1)
            .map(|o| o.value.to_vec())
            .unwrap_or_default();
        let mut rb = [0u8; 64];
        let mut w = MessageWriter::new(
            &mut rb,
            MessageType::Ack,
            Code::CONTINUE,
            req.message_id(),
            req.token(),
        )
        .unwrap();
        w.option(OptionNumber::BLOCK1, &block1).unwrap();
        let rl = w.payload(&[]).unwrap();
        let mut b = v.binding;
        let m = ctx
            .protect_response(Framing::Udp, &mut b, &rb[..rl], false, &mut out)
            .unwrap();
        let _ = sock.send_to(&out[..m], peer);
    }
}

#[test]
fn sigkill_never_reuses_a_partial_iv() {
    let dir = std::env::temp_dir().join(format!("mote-oscore-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ctx_file = dir.join("client.json");
    write_private(
        &ctx_file,
        r#"{"master_secret":"0102030405060708090a0b0c0d0e0f10","sender_id":"00","recipient_id":"01"}"#,
    )
    .unwrap();
    let payload = dir.join("payload.bin");
    std::fs::write(&payload, vec![0x5a; 16 * 400]).unwrap();

    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    let seen = Arc::new(Mutex::new((Seen::new(), Vec::new())));
    let server = {
        let sock = sock.try_clone().unwrap();
        let seen = seen.clone();
        std::thread::spawn(move || serve(sock, seen))
    };
    let uri = format!("coap://{addr}/data/x");
    // Deterministic pseudo-random kill delays (xorshift).
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let restarts = 220;
    for _ in 0..restarts {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let delay = Duration::from_micros(x % 40_000);
        let mut child = Command::new(env!("CARGO_BIN_EXE_mote"))
            .args([
                "coap",
                "put",
                &uri,
                "--block-size",
                "16",
                "--timeout",
                "5",
                "--oscore",
            ])
            .arg(&ctx_file)
            .arg("--payload-file")
            .arg(&payload)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let stop = UdpSocket::bind("127.0.0.1:0").unwrap();
    stop.send_to(b"stop", addr).unwrap();
    server.join().unwrap();
    let (map, violations) = &*seen.lock().unwrap();
    assert!(violations.is_empty(), "{violations:?}");
    assert!(
        map.len() >= 2 * restarts,
        "too little traffic: {} requests",
        map.len()
    );
    eprintln!(
        "{} distinct OSCORE requests over {restarts} SIGKILL restarts",
        map.len()
    );
}

/// Writes a context file readable by its owner only, as `mote` requires of a file holding a
/// master secret.
fn write_private(
    path: impl AsRef<std::path::Path>,
    contents: impl AsRef<[u8]>,
) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // An older file of the same name keeps its mode through `open`: restrict it too.
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(contents.as_ref())
}
