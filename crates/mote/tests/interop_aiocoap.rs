//! Interop over real UDP (loopback) with aiocoap 0.4.x (`aiocoap[oscore]`, PyPI): our client
//! (`mote coap`) against an aiocoap OSCORE server and an aiocoap client against our server
//! (`mote serve`), with the RFC 8613 Appendix C.1, C.2 and C.3 contexts, for GET, PUT, POST,
//! DELETE, Observe, a Block2 download and a Block1 upload, and Appendix B.1.2 Echo recovery
//! after the server restarts (killed, so its replay window is lost). The same over CoAP over
//! TCP (RFC 8323, `coap+tcp://`) in both directions, with B.1.2 recovery of our server.
//! And every AEAD and HKDF of the scope (24 contexts, both directions) with one GET each.
//!
//! The peer script is `tests/interop/aiocoap_peer.py`; the interpreter comes from `MOTE_PYTHON`
//! (set by scripts/test.sh, which creates the venv). A missing peer is a failure, not a skip.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{free_port, python};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

struct Ctx {
    name: &'static str,
    salt: Option<&'static str>,
    client_id: &'static str,
    server_id: &'static str,
    id_context: Option<&'static str>,
}

const SECRET: &str = "0102030405060708090a0b0c0d0e0f10";
// RFC 8613 Appendix C.1, C.2, C.3 (client = C.x.1, server = C.x.2).
const CONTEXTS: [Ctx; 3] = [
    Ctx {
        name: "c1",
        salt: Some("9e7ca92223786340"),
        client_id: "",
        server_id: "01",
        id_context: None,
    },
    Ctx {
        name: "c2",
        salt: None,
        client_id: "00",
        server_id: "01",
        id_context: None,
    },
    Ctx {
        name: "c3",
        salt: Some("9e7ca92223786340"),
        client_id: "",
        server_id: "01",
        id_context: Some("37cbf3210017a2d3"),
    },
];

fn peer_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/aiocoap_peer.py")
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mote-interop-aiocoap-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Our context file (client or server side).
fn mote_context(dir: &Path, c: &Ctx, client: bool) -> PathBuf {
    let (s, r) = if client {
        (c.client_id, c.server_id)
    } else {
        (c.server_id, c.client_id)
    };
    let mut v = serde_json::json!({"master_secret": SECRET, "sender_id": s, "recipient_id": r});
    if let Some(salt) = c.salt {
        v["master_salt"] = salt.into();
    }
    if let Some(ctx) = c.id_context {
        v["id_context"] = ctx.into();
    }
    let p = dir.join(if client {
        "mote-client.json"
    } else {
        "mote-server.json"
    });
    common::write_private(&p, v.to_string()).unwrap();
    p
}

/// An aiocoap FilesystemSecurityContext directory.
fn aiocoap_context(dir: &Path, c: &Ctx, client: bool) -> PathBuf {
    let (s, r) = if client {
        (c.client_id, c.server_id)
    } else {
        (c.server_id, c.client_id)
    };
    let mut v =
        serde_json::json!({"secret_hex": SECRET, "sender-id_hex": s, "recipient-id_hex": r});
    if let Some(salt) = c.salt {
        v["salt_hex"] = salt.into();
    }
    if let Some(ctx) = c.id_context {
        v["id-context_hex"] = ctx.into();
    }
    let d = dir.join(if client {
        "aiocoap-client"
    } else {
        "aiocoap-server"
    });
    std::fs::create_dir_all(&d).unwrap();
    common::write_private(d.join("secret.json"), v.to_string()).unwrap();
    d
}

/// Starts a server that prints its port on the first line.
fn start(mut cmd: Command) -> (Child, u16) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start server");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("server printed {line:?}"));
    (child, port)
}

fn mote(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_mote"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "mote {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn aiocoap_client(ctxdir: &Path, uri: &str, op: &[&str]) -> Vec<String> {
    let o = Command::new(python())
        .arg(peer_script())
        .arg("client")
        .arg(ctxdir)
        .arg(uri)
        .args(op)
        .output()
        .expect("run aiocoap client");
    assert!(
        o.status.success(),
        "aiocoap client {op:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn big() -> Vec<u8> {
    (0..4096u32).map(|i| ((i * 31) >> 3) as u8).collect()
}

/// `mote coap` against an aiocoap OSCORE server at `base` (`coap://` or `coap+tcp://`): GET,
/// PUT, POST, DELETE, a 4 KiB Block2 download, a Block1 upload in 64-byte blocks, Observe.
fn mote_client_operations(base: &str, ours: &str, dir: &Path, c: &Ctx) {
    let u = |p: &str| format!("{base}{p}");
    assert_eq!(
        mote(&["coap", "get", &u("/3/0/0"), "--oscore", ours]).trim(),
        "aiocoap",
        "{} {base}",
        c.name
    );
    mote(&[
        "coap",
        "put",
        &u("/data/x"),
        "--oscore",
        ours,
        "--payload",
        "hello",
    ]);
    assert_eq!(
        mote(&["coap", "get", &u("/data/x"), "--oscore", ours]).trim(),
        "hello"
    );
    assert_eq!(
        mote(&[
            "coap",
            "post",
            &u("/data/x"),
            "--oscore",
            ours,
            "--payload",
            "p2"
        ])
        .trim(),
        "posted"
    );
    let del = mote(&["coap", "delete", &u("/data/x"), "--oscore", ours, "--json"]);
    assert!(del.contains("\"code\":\"2.02\""), "{del}");
    // Block2 download of 4 KiB.
    let v: serde_json::Value = serde_json::from_str(&mote(&[
        "coap",
        "get",
        &u("/5/0/0"),
        "--oscore",
        ours,
        "--json",
    ]))
    .unwrap();
    assert_eq!(v["payload"], hex::encode(big()));
    // Block1 upload in 64-byte blocks.
    let upload: Vec<u8> = (0..3000u32).map(|i| (i % 253) as u8).collect();
    let f = dir.join("upload.bin");
    std::fs::write(&f, &upload).unwrap();
    mote(&[
        "coap",
        "put",
        &u("/data/x"),
        "--oscore",
        ours,
        "--payload-file",
        f.to_str().unwrap(),
        "--block-size",
        "64",
    ]);
    let v: serde_json::Value = serde_json::from_str(&mote(&[
        "coap",
        "get",
        &u("/data/x"),
        "--oscore",
        ours,
        "--json",
    ]))
    .unwrap();
    assert_eq!(v["payload"], hex::encode(&upload));
    // Observe: three increasing counter values.
    let notes: Vec<u64> = mote(&[
        "coap",
        "get",
        &u("/3/0/13"),
        "--oscore",
        ours,
        "--observe",
        "--count",
        "3",
    ])
    .lines()
    .map(|l| l.trim().parse().unwrap())
    .collect();
    assert_eq!(notes.len(), 3);
    assert!(notes.windows(2).all(|w| w[0] < w[1]), "{notes:?}");
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn mote_client_against_aiocoap_server() {
    for c in &CONTEXTS {
        let dir = tempdir(&format!("srv-{}", c.name));
        let ours = mote_context(&dir, c, true);
        let ours = ours.to_str().unwrap();
        let theirs = aiocoap_context(&dir, c, false);
        let spawn = || {
            let mut cmd = Command::new(python());
            cmd.arg(peer_script()).arg("server").arg(&theirs);
            start(cmd)
        };
        let (mut server, port) = spawn();
        let base = format!("coap://127.0.0.1:{port}");
        mote_client_operations(&base, ours, &dir, c);
        // B.1.2: the server is killed (its replay window is lost) and restarted.
        server.kill().unwrap();
        server.wait().unwrap();
        let (mut server, port) = spawn();
        let uri = format!("coap://127.0.0.1:{port}/3/0/0");
        assert_eq!(
            mote(&["coap", "get", &uri, "--oscore", ours]).trim(),
            "aiocoap",
            "after restart ({})",
            c.name
        );
        server.kill().unwrap();
        server.wait().unwrap();
    }
}

/// An aiocoap OSCORE client against `mote serve` at `base` (`coap://` or `coap+tcp://`):
/// GET, PUT, POST, DELETE, a Block2 download of /19/0/0/0, a Block1 upload, Observe.
fn aiocoap_client_operations(base: &str, theirs: &Path, c: &Ctx) {
    let u = |p: &str| format!("{base}{p}");
    assert_eq!(
        aiocoap_client(theirs, &u("/3/0/0"), &["get"]),
        ["2.05 4d6f7465"],
        "{} {base}",
        c.name
    );
    assert_eq!(
        aiocoap_client(theirs, &u("/data/x"), &["put", "hello"]),
        ["2.01 "]
    );
    assert_eq!(
        aiocoap_client(theirs, &u("/data/x"), &["get"]),
        ["2.05 68656c6c6f"]
    );
    assert_eq!(
        aiocoap_client(theirs, &u("/data/x"), &["post", "p2"]),
        ["2.04 "]
    );
    assert_eq!(
        aiocoap_client(theirs, &u("/data/x"), &["delete"]),
        ["2.02 "]
    );
    // Block2 download.
    assert_eq!(
        aiocoap_client(theirs, &u("/19/0/0/0"), &["get"]),
        [format!("2.05 {}", hex::encode(big()))]
    );
    // Block1 upload, read back.
    assert_eq!(
        aiocoap_client(theirs, &u("/data/big"), &["bigput", "3000"]),
        ["2.01 "]
    );
    let back = aiocoap_client(theirs, &u("/data/big"), &["get"]);
    let want: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(back, [format!("2.05 {}", hex::encode(want))]);
    // Observe: the registration response and two notifications.
    let notes = aiocoap_client(theirs, &u("/3/0/13"), &["observe", "3"]);
    assert_eq!(notes.len(), 3, "{notes:?}");
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn aiocoap_client_against_mote_server() {
    for c in &CONTEXTS {
        let dir = tempdir(&format!("cli-{}", c.name));
        let ours = mote_context(&dir, c, false);
        let theirs = aiocoap_context(&dir, c, true);
        let spawn = || {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_mote"));
            cmd.args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--print-port",
                "--notify-ms",
                "200",
                "--oscore",
            ])
            .arg(&ours);
            start(cmd)
        };
        // The server starts with its replay window unknown, so the very first request already
        // goes through the Echo exchange of Appendix B.1.2.
        let (mut server, port) = spawn();
        aiocoap_client_operations(&format!("coap://127.0.0.1:{port}"), &theirs, c);
        // B.1.2 after a restart of our server.
        server.kill().unwrap();
        server.wait().unwrap();
        let (mut server, port) = spawn();
        let uri = format!("coap://127.0.0.1:{port}/3/0/0");
        assert_eq!(
            aiocoap_client(&theirs, &uri, &["get"]),
            ["2.05 4d6f7465"],
            "after restart ({})",
            c.name
        );
        server.kill().unwrap();
        server.wait().unwrap();
    }
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn mote_client_against_aiocoap_server_over_tcp() {
    // OSCORE over CoAP over TCP (RFC 8323 framing, RFC 8613 §4.1: the same protection as over
    // UDP): `mote coap coap+tcp://…` against aiocoap's TCP server transport.
    for c in &CONTEXTS {
        let dir = tempdir(&format!("srv-tcp-{}", c.name));
        let ours = mote_context(&dir, c, true);
        let theirs = aiocoap_context(&dir, c, false);
        let port = free_port();
        let mut cmd = Command::new(python());
        cmd.arg(peer_script())
            .arg("server")
            .arg(&theirs)
            .arg(port.to_string());
        let (mut server, _) = start(cmd);
        let base = format!("coap+tcp://127.0.0.1:{port}");
        mote_client_operations(&base, ours.to_str().unwrap(), &dir, c);
        server.kill().unwrap();
        server.wait().unwrap();
    }
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn aiocoap_client_against_mote_server_over_tcp() {
    for c in &CONTEXTS {
        let dir = tempdir(&format!("cli-tcp-{}", c.name));
        let ours = mote_context(&dir, c, false);
        let theirs = aiocoap_context(&dir, c, true);
        let spawn = || {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_mote"));
            cmd.args([
                "serve",
                "--listen",
                "coap+tcp://127.0.0.1:0",
                "--print-port",
                "--notify-ms",
                "200",
                "--oscore",
            ])
            .arg(&ours);
            start(cmd)
        };
        // As over UDP, the first request goes through the Appendix B.1.2 Echo exchange.
        let (mut server, port) = spawn();
        aiocoap_client_operations(&format!("coap+tcp://127.0.0.1:{port}"), &theirs, c);
        server.kill().unwrap();
        server.wait().unwrap();
        // B.1.2 after a restart of our server, over TCP.
        let (mut server, port) = spawn();
        let uri = format!("coap+tcp://127.0.0.1:{port}/3/0/0");
        assert_eq!(
            aiocoap_client(&theirs, &uri, &["get"]),
            ["2.05 4d6f7465"],
            "after restart ({})",
            c.name
        );
        server.kill().unwrap();
        server.wait().unwrap();
    }
}

/// Every AEAD of RFC 8613's scope (COSE 10–13, 30–33, 1–3, 24) with HKDF SHA-256 and
/// SHA-512, the HKDF named each way peers name it in our context files (COSE −10/−11, HMAC
/// 5/7, text), Sender IDs of 1 byte and — where the nonce allows it — of the maximum length
/// (nonce length − 6, RFC 8613 §5.2), each as (our context file, aiocoap's secret.json, tag).
fn algorithm_contexts() -> Vec<(serde_json::Value, serde_json::Value, String)> {
    let aeads: [(i64, &str, usize); 12] = [
        (10, "AES-CCM-16-64-128", 13),
        (11, "AES-CCM-16-64-256", 13),
        (12, "AES-CCM-64-64-128", 7),
        (13, "AES-CCM-64-64-256", 7),
        (30, "AES-CCM-16-128-128", 13),
        (31, "AES-CCM-16-128-256", 13),
        (32, "AES-CCM-64-128-128", 7),
        (33, "AES-CCM-64-128-256", 7),
        (1, "A128GCM", 12),
        (2, "A192GCM", 12),
        (3, "A256GCM", 12),
        (24, "ChaCha20/Poly1305", 12),
    ];
    let hkdfs: [(&str, [serde_json::Value; 3]); 2] = [
        ("sha256", [(-10).into(), 5.into(), "SHA-256".into()]),
        ("sha512", [(-11).into(), 7.into(), "HKDF-SHA-512".into()]),
    ];
    let mut out = vec![];
    let mut n = 0u8;
    for (id, name, nonce_len) in aeads {
        for (hashfun, spellings) in &hkdfs {
            n += 1;
            // Alternate 1-byte IDs and IDs of the maximum length for the nonce.
            let len = if n % 2 == 0 { nonce_len - 6 } else { 1 };
            let client_id: String = (0..len)
                .map(|i| format!("{:02x}", n.wrapping_add(i as u8 * 16)))
                .collect();
            let ours = serde_json::json!({
                "master_secret": SECRET, "master_salt": "9e7ca92223786340",
                "sender_id": client_id, "recipient_id": "01",
                "aead": id, "hkdf": spellings[usize::from(n) % 3].clone(),
            });
            let theirs = serde_json::json!({
                "secret_hex": SECRET, "salt_hex": "9e7ca92223786340",
                "sender-id_hex": "01", "recipient-id_hex": client_id,
                "algorithm": name, "kdf-hashfun": hashfun,
            });
            out.push((ours, theirs, format!("aead {id} {hashfun} id {client_id}")));
        }
    }
    out
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn mote_client_against_aiocoap_server_every_aead_and_hkdf() {
    let dir = tempdir("algs-srv");
    let server_dir = dir.join("aiocoap-contexts");
    let mut ours = vec![];
    for (i, (mine, theirs, tag)) in algorithm_contexts().into_iter().enumerate() {
        let d = server_dir.join(format!("{i:02}"));
        std::fs::create_dir_all(&d).unwrap();
        common::write_private(d.join("secret.json"), theirs.to_string()).unwrap();
        let f = dir.join(format!("mote-{i:02}.json"));
        common::write_private(&f, mine.to_string()).unwrap();
        ours.push((f, tag));
    }
    let mut cmd = Command::new(python());
    cmd.arg(peer_script()).arg("server-multi").arg(&server_dir);
    let (mut server, port) = start(cmd);
    for (f, tag) in &ours {
        let uri = format!("coap://127.0.0.1:{port}/3/0/0");
        assert_eq!(
            mote(&["coap", "get", &uri, "--oscore", f.to_str().unwrap()]).trim(),
            "aiocoap",
            "{tag}"
        );
    }
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn aiocoap_client_against_mote_server_every_aead_and_hkdf() {
    let dir = tempdir("algs-cli");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mote"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--print-port"]);
    let mut theirs = vec![];
    for (i, (mine, their, tag)) in algorithm_contexts().into_iter().enumerate() {
        // Our server's view: the roles swap.
        let mut server_side = mine.clone();
        server_side["sender_id"] = "01".into();
        server_side["recipient_id"] = mine["sender_id"].clone();
        let f = dir.join(format!("mote-server-{i:02}.json"));
        common::write_private(&f, server_side.to_string()).unwrap();
        cmd.arg("--oscore").arg(&f);
        let mut client_side = their.clone();
        client_side["sender-id_hex"] = their["recipient-id_hex"].clone();
        client_side["recipient-id_hex"] = "01".into();
        let d = dir.join(format!("aiocoap-client-{i:02}"));
        std::fs::create_dir_all(&d).unwrap();
        common::write_private(d.join("secret.json"), client_side.to_string()).unwrap();
        theirs.push((d, tag));
    }
    let (mut server, port) = start(cmd);
    for (d, tag) in &theirs {
        let uri = format!("coap://127.0.0.1:{port}/3/0/0");
        assert_eq!(
            aiocoap_client(d, &uri, &["get"]),
            ["2.05 4d6f7465"],
            "{tag}"
        );
    }
    server.kill().unwrap();
    server.wait().unwrap();
}
