//! `mote oscore …` and `mote decode --as oscore-option` against RFC 8613 Appendix C
//! (the vectors transcribed in `crates/mote-oscore/tests/data/`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

type Vector = BTreeMap<String, String>;

fn vectors() -> BTreeMap<String, Vector> {
    let text = include_str!("../../mote-oscore/tests/data/rfc8613_appendix_c.txt");
    let mut out = BTreeMap::new();
    let mut cur: Option<(String, Vector)> = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(n) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if let Some((k, v)) = cur.take() {
                out.insert(k, v);
            }
            cur = Some((n.to_string(), Vector::new()));
        } else {
            let (k, v) = line.split_once('=').unwrap();
            cur.as_mut()
                .unwrap()
                .1
                .insert(k.trim().into(), v.trim().into());
        }
    }
    let (k, v) = cur.unwrap();
    out.insert(k, v);
    out
}

fn val(v: &Vector, k: &str) -> String {
    let s = &v[k];
    if s == "-" { String::new() } else { s.clone() }
}

fn mote(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mote"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let o = mote(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

fn context_file(name: &str, v: &Vector) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mote-cli-oscore-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut obj = serde_json::Map::new();
    for (k, key) in [
        ("master_secret", "master_secret"),
        ("master_salt", "master_salt"),
        ("sender_id", "sender_id"),
        ("recipient_id", "recipient_id"),
        ("id_context", "id_context"),
    ] {
        if v.contains_key(key) {
            obj.insert(k.into(), val(v, key).into());
        }
    }
    obj.insert("aead".into(), 10.into());
    obj.insert("hkdf".into(), "SHA-256".into());
    let path = dir.join(format!("{name}.json"));
    // Tests running in parallel write the same file: write aside and rename, so that no
    // reader sees it half-written.
    let tmp = dir.join(format!("{name}.{:?}.tmp", std::thread::current().id()));
    write_private(&tmp, serde_json::Value::Object(obj).to_string()).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    path
}

#[test]
fn derive_c1_to_c3() {
    let all = vectors();
    for name in ["C.1.1", "C.1.2", "C.2.1", "C.2.2", "C.3.1", "C.3.2"] {
        let v = &all[name];
        let mut args = vec![
            "oscore".to_string(),
            "derive".into(),
            "--master-secret".into(),
            val(v, "master_secret"),
            "--sender-id".into(),
            val(v, "sender_id"),
            "--recipient-id".into(),
            val(v, "recipient_id"),
            "--json".into(),
        ];
        if v.contains_key("master_salt") {
            args.extend(["--master-salt".into(), val(v, "master_salt")]);
        }
        if v.contains_key("id_context") {
            args.extend(["--id-context".into(), val(v, "id_context")]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = ok(&args);
        let want = format!(
            r#"{{"sender_key":"{}","recipient_key":"{}","common_iv":"{}"}}"#,
            val(v, "sender_key"),
            val(v, "recipient_key"),
            val(v, "common_iv")
        );
        assert_eq!(out, want, "{name}");
    }
    // HKDF named as COSE -10 or HMAC 5 gives the same keys.
    let base = [
        "oscore",
        "derive",
        "--master-secret",
        "0102030405060708090a0b0c0d0e0f10",
        "--sender-id",
        "00",
        "--recipient-id",
        "01",
        "--json",
    ];
    let a = ok(&base);
    for alias in ["-10", "5", "HKDF-SHA-256"] {
        let mut args = base.to_vec();
        args.extend(["--hkdf", alias]);
        assert_eq!(ok(&args), a, "{alias}");
    }
}

#[test]
fn protect_and_unprotect_c4_to_c8() {
    let all = vectors();
    let servers = [("C.4", "C.1.2"), ("C.5", "C.2.2"), ("C.6", "C.3.2")];
    for (name, server) in servers {
        let v = &all[name];
        let client_ctx = context_file(&v["context"], &all[&v["context"]]);
        let server_ctx = context_file(server, &all[server]);
        let out = ok(&[
            "oscore",
            "protect-request",
            "--context",
            client_ctx.to_str().unwrap(),
            "--seq",
            &v["sender_seq"],
            &val(v, "unprotected"),
        ]);
        assert_eq!(out, val(v, "protected"), "{name}");
        let out = ok(&[
            "oscore",
            "unprotect-request",
            "--context",
            server_ctx.to_str().unwrap(),
            &val(v, "protected"),
        ]);
        assert_eq!(out, val(v, "unprotected"), "{name}");
        // Already seen (window from 21): rejected, exit 1.
        let o = mote(&[
            "oscore",
            "unprotect-request",
            "--context",
            server_ctx.to_str().unwrap(),
            "--replay-window-from",
            "21",
            &val(v, "protected"),
        ]);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&o.stderr).starts_with("error: replay"),
            "{name}"
        );
    }
    let req = &all["C.4"];
    for (name, seq) in [("C.7", None), ("C.8", Some("0"))] {
        let v = &all[name];
        let server_ctx = context_file("C.1.2", &all["C.1.2"]);
        let client_ctx = context_file("C.1.1", &all["C.1.1"]);
        let kid = val(req, "kid");
        let piv = val(req, "partial_iv");
        let mut args = vec![
            "oscore",
            "protect-response",
            "--context",
            server_ctx.to_str().unwrap(),
            "--request-kid",
            &kid,
            "--request-piv",
            &piv,
        ];
        if let Some(s) = seq {
            args.extend(["--seq", s]);
        }
        let unprotected = val(v, "unprotected");
        args.push(&unprotected);
        assert_eq!(ok(&args), val(v, "protected"), "{name}");
        let out = ok(&[
            "oscore",
            "unprotect-response",
            "--context",
            client_ctx.to_str().unwrap(),
            "--request-kid",
            &kid,
            "--request-piv",
            &piv,
            &val(v, "protected"),
        ]);
        assert_eq!(out, val(v, "unprotected"), "{name}");
    }
}

#[test]
fn unprotect_json_and_rejections() {
    let all = vectors();
    let server_ctx = context_file("C.1.2", &all["C.1.2"]);
    let ctx = server_ctx.to_str().unwrap();
    let protected = val(&all["C.4"], "protected");
    let json = ok(&[
        "oscore",
        "unprotect-request",
        "--context",
        ctx,
        "--json",
        &protected,
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["code"], "0.01");
    assert_eq!(v["code_name"], "GET");
    assert_eq!(v["options"][1]["name"], "Uri-Path");
    assert_eq!(v["options"][1]["value"], "tv1");
    // A flipped ciphertext byte: exit 1, decryption failed.
    let mut t = protected.clone();
    let last = t.len() - 1;
    t.replace_range(last.., if t.ends_with('e') { "f" } else { "e" });
    let o = mote(&["oscore", "unprotect-request", "--context", ctx, &t]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        "error: decryption failed"
    );
    // Unknown kid: security context not found.
    let client_ctx = context_file("C.2.1", &all["C.2.1"]);
    let other = ok(&[
        "oscore",
        "protect-request",
        "--context",
        client_ctx.to_str().unwrap(),
        "--seq",
        "1",
        &val(&all["C.4"], "unprotected"),
    ]);
    let o = mote(&["oscore", "unprotect-request", "--context", ctx, &other]);
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        "error: security context not found"
    );
}

#[test]
fn decode_oscore_option() {
    // RFC 8613 §6.3 examples.
    for (value, want) in [
        (
            "090525",
            r#"{"partial_iv":"05","kid_context":null,"kid":"25"}"#,
        ),
        ("0900", r#"{"partial_iv":"00","kid_context":null,"kid":""}"#),
        (
            "19050544616c656b",
            r#"{"partial_iv":"05","kid_context":"44616c656b","kid":""}"#,
        ),
        (
            "0107",
            r#"{"partial_iv":"07","kid_context":null,"kid":null}"#,
        ),
    ] {
        assert_eq!(
            ok(&["decode", "--as", "oscore-option", "--json", value]),
            want
        );
    }
    assert_eq!(
        ok(&["decode", "--as", "oscore-option", ""]),
        "OSCORE option: Partial IV absent, kid context absent, kid absent"
    );
    // Reserved flag bits.
    let o = mote(&["decode", "--as", "oscore-option", "2914"]);
    assert_eq!(o.status.code(), Some(1));
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
