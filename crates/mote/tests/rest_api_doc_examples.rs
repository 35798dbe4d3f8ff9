//! docs/rest-api.md's examples are paste-able: every `curl` command of the document runs, in
//! the document's order, against `mote lwm2m-server` with `mote lwm2m-client` registered as
//! `dev1` (the document's setting; only the ports are the test's own). Each gets HTTP 200, and
//! where the document shows the answer (`# {…}` under the command, without an ellipsis) the
//! answer is exactly that JSON. The event stream (`curl -N`) is tested in
//! `lwm2m_server_rest.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use sha2::{Digest, Sha256};

/// One `curl` example: method, target (path and query), body, and the answer the document
/// shows, if it shows one in full.
#[derive(Debug)]
struct Example {
    line: String,
    method: String,
    target: String,
    body: String,
    answer: Option<Json>,
}

/// Splits a shell command line into words (single and double quotes, no escapes inside).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut started = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                started = true;
            }
            (None, c) if c.is_whitespace() => {
                if started || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                started = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if started || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The `curl` commands of the document's `sh` blocks, in order.
fn examples(doc: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut in_sh = false;
    let mut lines: Vec<String> = Vec::new();
    for raw in doc.lines() {
        if raw.starts_with("```") {
            in_sh = raw == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        // Join `\` continuations.
        match lines.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push_str(raw.trim_start());
            }
            _ => lines.push(raw.to_string()),
        }
    }
    for (i, line) in lines.iter().enumerate() {
        let Some(cmd) = line.trim().strip_prefix("curl ") else {
            continue;
        };
        // A trailing `# comment` on the command line is not part of the command.
        let cmd = cmd.split(" # ").next().unwrap().trim();
        let w = words(cmd);
        if w.iter().any(|x| x == "-sN" || x == "-N") {
            continue; // the event stream
        }
        let mut method = "GET".to_string();
        let mut body = String::new();
        let mut url = None;
        let mut it = w.iter();
        while let Some(x) = it.next() {
            match x.as_str() {
                "-X" => method = it.next().unwrap().clone(),
                "-d" => {
                    body = it.next().unwrap().clone();
                    if method == "GET" {
                        method = "POST".to_string(); // curl's default with -d
                    }
                }
                "-s" => {}
                other if other.starts_with("http://") => url = Some(other.to_string()),
                other => panic!("unknown curl argument {other:?} in {line:?}"),
            }
        }
        let url = url.unwrap_or_else(|| panic!("no URL in {line:?}"));
        let target = url
            .strip_prefix("http://127.0.0.1:8080")
            .unwrap_or_else(|| panic!("{url} is not on the documented server"))
            .to_string();
        let answer = lines
            .get(i + 1)
            .and_then(|l| l.strip_prefix("# "))
            .filter(|a| a.starts_with('{') && !a.contains('…'))
            .map(|a| serde_json::from_str(a).unwrap_or_else(|e| panic!("{a}: {e}")));
        out.push(Example {
            line: line.clone(),
            method,
            target,
            body,
            answer,
        });
    }
    out
}

/// One HTTP/1.1 request as curl sends it with -d: a form content type (the API does not look
/// at it); returns (status, body as JSON or Null).
fn http(port: u16, method: &str, target: &str, body: &str) -> (u16, Json) {
    common::lwm2m::http_typed(
        port,
        method,
        target,
        "application/x-www-form-urlencoded",
        body,
    )
}

#[test]
fn every_curl_example_of_the_rest_api_reference_runs_as_documented() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/rest-api.md"
    ))
    .unwrap();
    let examples = examples(&doc);
    // The document's examples, counted by hand: clients (2), Read (2), Write / Execute /
    // Write-Attributes / Observe / Cancel (5), Observe and cancel by reset (2), Read-Composite
    // (1), firmware (4).
    assert_eq!(examples.len(), 16, "{examples:#?}");

    let dir = common::fresh_dir("mote-rest-doc");
    // A package of `mote lwm2m-client`'s format: magic, SHA-256 of the image, the image.
    let image = b"version:2.0\nthe image".to_vec();
    let mut package = b"MOTEFW1\n".to_vec();
    package.extend_from_slice(&Sha256::digest(&image));
    package.extend_from_slice(&image);
    let fw = dir.join("fw.bin");
    std::fs::write(&fw, package).unwrap();
    let (_server, coap, web) = common::lwm2m::server(&[
        "--request-timeout",
        "10",
        "--firmware",
        fw.to_str().unwrap(),
    ]);
    let client = Command::new(env!("CARGO_BIN_EXE_mote"))
        .args([
            "lwm2m-client",
            "--endpoint",
            "dev1",
            "--server",
            &format!("coap://127.0.0.1:{coap}"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _client = common::Proc(client);
    let deadline = Instant::now() + Duration::from_secs(30);
    while http(web, "GET", "/api/clients/dev1", "").0 != 200 {
        assert!(Instant::now() < deadline, "dev1 did not register");
        std::thread::sleep(Duration::from_millis(100));
    }

    for e in &examples {
        let body = e
            .body
            .replace("127.0.0.1:5683", &format!("127.0.0.1:{coap}"));
        if e.target.ends_with("/5/0/3") {
            // "2 once downloaded": the document's reader waits for State 2 before the
            // Update.
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let (st, answer) = http(web, &e.method, &e.target, &body);
                assert_eq!(st, 200, "{}: {answer}", e.line);
                if answer["records"][0]["value"] == 2 {
                    break;
                }
                assert!(Instant::now() < deadline, "never downloaded: {answer}");
                std::thread::sleep(Duration::from_millis(100));
            }
            continue;
        }
        if e.target.ends_with("/5/0/5") {
            // Update Result 1 (success) once the Update ran.
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let (st, answer) = http(web, &e.method, &e.target, &body);
                assert_eq!(st, 200, "{}: {answer}", e.line);
                if answer["records"][0]["value"] == 1 {
                    break;
                }
                assert!(Instant::now() < deadline, "never updated: {answer}");
                std::thread::sleep(Duration::from_millis(100));
            }
            continue;
        }
        let (st, answer) = http(web, &e.method, &e.target, &body);
        assert_eq!(st, 200, "{}: {answer}", e.line);
        if let Some(want) = &e.answer {
            assert_eq!(&answer, want, "{}", e.line);
        } else if answer.get("status").is_some() {
            let status = answer["status"].as_str().unwrap();
            assert!(status.starts_with("2."), "{}: {answer}", e.line);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
