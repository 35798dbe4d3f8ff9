//! `mote access check` (docs/cli.md, "mote access check"): the JSON shape, the state-file format and a
//! few decisions of the LwM2M 1.2 Core TS "Authorization" section through the binary.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The state of the docs/cli.md example, with a third server and the 1.1 TS example ACLs.
const STATE: &str = r#"{"servers":[101,102,{"ssid":103,"mute_send":true}],
 "instances":["/1/0","/1/1","/3/0","/4/0"],
 "acl":[{"object":1,"instance":0,"acl":{"101":15},"owner":101},
        {"object":1,"instance":1,"acl":{"102":15},"owner":102},
        {"object":3,"instance":0,"acl":{"101":15,"102":1},"owner":101},
        {"object":4,"instance":0,"acl":{"101":1,"0":1},"owner":101},
        {"object":5,"instance":65535,"acl":{"102":16},"owner":65535}]}"#;

/// Writes `text` to a fresh file (tests run in parallel: one file per call).
fn state_file(name: &str, text: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("mote-cli-access-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}-{name}", NEXT.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&path, text).unwrap();
    path
}

fn mote(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mote"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs `mote access check --json` on STATE and returns the parsed JSON.
fn check(requester: &[&str], op: &str, paths: &[&str]) -> serde_json::Value {
    let state = state_file("state.json", STATE);
    let mut args = vec!["access", "check", "--state", state.to_str().unwrap()];
    args.extend_from_slice(requester);
    args.extend_from_slice(&["--op", op]);
    for p in paths {
        args.extend_from_slice(&["--path", p]);
    }
    args.push("--json");
    let out = mote(&args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// (requester arguments, operation, paths, expected code or `None` for allowed).
type Case = (
    &'static [&'static str],
    &'static str,
    &'static [&'static str],
    Option<&'static str>,
);

fn code(v: &serde_json::Value) -> Option<&str> {
    v["code"].as_str()
}

#[test]
fn json_shape_for_allowed_and_denied() {
    let denied = check(&["--server", "102"], "execute", &["/3/0/4"]);
    assert_eq!(denied["allowed"], false);
    assert_eq!(code(&denied), Some("4.01"));
    assert!(denied["reason"].as_str().unwrap().contains("102"));
    let keys: Vec<&String> = denied.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["allowed", "code", "reason"]);

    let allowed = check(&["--server", "101"], "execute", &["/3/0/4"]);
    assert_eq!(allowed["allowed"], true);
    assert!(allowed["code"].is_null());
}

#[test]
fn decisions_follow_the_ts() {
    // (requester, op, paths, expected code) — TS clause in the comment.
    let cases: &[Case] = &[
        // Obtaining Access Right 2: own entry R.
        (&["--server", "102"], "read", &["/3/0/0"], None),
        (&["--server", "102"], "write", &["/3/0/13"], Some("4.01")),
        // Obtaining Access Right 3: default entry on /4/0 grants R to 103.
        (&["--server", "103"], "read", &["/4/0/2"], None),
        // Obtaining Access Right 4: no entry, no default.
        (&["--server", "103"], "read", &["/3/0/0"], Some("4.01")),
        // Security Object never reachable.
        (&["--server", "101"], "read", &["/0/0"], Some("4.01")),
        // Read Operation: a Resource that does not support Read: 4.05.
        (&["--server", "101"], "read", &["/3/0/4"], Some("4.05")),
        // Execute only on a Resource.
        (&["--server", "101"], "execute", &["/3/0"], Some("4.05")),
        // Create: C from the Object-level ACL (Bootstrap-owned).
        (&["--server", "102"], "create", &["/5"], None),
        (&["--server", "101"], "create", &["/5"], Some("4.01")),
        // Delete of /3/0 is never allowed.
        (&["--server", "101"], "delete", &["/3/0"], Some("4.05")),
        // Discover on an Object needs no right.
        (&["--server", "103"], "discover", &["/3"], None),
        // Write-Attributes needs R below the Object level.
        (
            &["--server", "103"],
            "write-attributes",
            &["/3/0/9"],
            Some("4.01"),
        ),
        (&["--server", "102"], "observe", &["/3/0/9"], None),
        // Composite: non-atomic read ignores unreadable targets, atomic write needs W everywhere.
        (
            &["--server", "102"],
            "read-composite",
            &["/3/0/0", "/1/0/1"],
            None,
        ),
        (
            &["--server", "103"],
            "read-composite",
            &["/3/0/0", "/1/0/1"],
            Some("4.01"),
        ),
        (
            &["--server", "101"],
            "write-composite",
            &["/3/0/13", "/1/1/1"],
            Some("4.01"),
        ),
        (
            &["--server", "101"],
            "observe-composite",
            &["/3/0/9", "/4/0/2"],
            None,
        ),
        // Send: Mute Send on 103.
        (&["--server", "103"], "send", &["/4/0/2"], Some("4.05")),
        (&["--server", "102"], "send", &["/3/0/9"], None),
        // Bootstrap-Read only /1 and /2 (BsR-001).
        (&["--bootstrap"], "read", &["/2"], None),
        (&["--bootstrap"], "read", &["/3/0"], Some("4.05")),
        // Unknown server.
        (&["--server", "104"], "read", &["/3/0/0"], Some("4.01")),
    ];
    for (requester, op, paths, expected) in cases {
        let v = check(requester, op, paths);
        assert_eq!(code(&v), *expected, "{requester:?} {op} {paths:?}: {v}");
        assert_eq!(v["allowed"], expected.is_none());
    }
}

#[test]
fn rejected_input_exits_1_usage_errors_exit_2() {
    let bad = state_file(
        "bad.json",
        r#"{"servers":[101],"acl":[{"object":3,"instance":0,"acl":{"101":99},"owner":101}]}"#,
    );
    let out = mote(&[
        "access",
        "check",
        "--state",
        bad.to_str().unwrap(),
        "--server",
        "101",
        "--op",
        "read",
        "--path",
        "/3/0",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error:"));

    let good = state_file("good.json", STATE);
    let good = good.to_str().unwrap();
    let out = mote(&[
        "access", "check", "--state", good, "--server", "101", "--op", "read", "--path", "3/0",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a path without a leading / is rejected input"
    );
    let out = mote(&[
        "access", "check", "--state", good, "--server", "101", "--op", "read", "--path", "/3/0",
        "--path", "/4/0",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "read takes one path: a second --path is a usage error"
    );
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error:"));
    let out = mote(&[
        "access", "check", "--state", good, "--server", "101", "--op", "read",
    ]);
    assert_eq!(out.status.code(), Some(2), "--path is required");
    let missing = state_file("removed.json", STATE);
    std::fs::remove_file(&missing).unwrap();
    let out = mote(&[
        "access",
        "check",
        "--state",
        missing.to_str().unwrap(),
        "--server",
        "101",
        "--op",
        "read",
        "--path",
        "/3/0",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unreadable state file is rejected input"
    );
    // A decision, allowed or not, is the command's output, not a rejected input: exit 0.
    for server in ["101", "102"] {
        let out = mote(&[
            "access", "check", "--state", good, "--server", server, "--op", "execute", "--path",
            "/3/0/4", "--json",
        ]);
        assert_eq!(out.status.code(), Some(0), "server {server}");
    }
    let out = mote(&[
        "access",
        "check",
        "--state",
        good,
        "--server",
        "101",
        "--bootstrap",
        "--op",
        "read",
        "--path",
        "/3/0",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "--server and --bootstrap exclude each other"
    );
    let out = mote(&[
        "access", "check", "--state", good, "--server", "101", "--op", "frob", "--path", "/3/0",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn human_output_without_json() {
    let state = state_file("human.json", STATE);
    let out = mote(&[
        "access",
        "check",
        "--state",
        state.to_str().unwrap(),
        "--server",
        "102",
        "--op",
        "write",
        "--path",
        "/3/0/13",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("denied: 4.01 "), "{text}");
}

/// The README of mote-access shows `mote access check` at work: run it and compare the output
/// byte for byte, so the example cannot drift from the binary.
#[test]
fn readme_example_runs_as_shown() {
    let readme = include_str!("../../mote-access/README.md");
    let section = readme
        .split("## The command line")
        .nth(1)
        .expect("README has a 'The command line' section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the section has a sh block");
    let mut lines = block.lines().peekable();
    let mut state = None;
    let mut commands = 0;
    while let Some(line) = lines.next() {
        let Some(command) = line.strip_prefix("$ ") else {
            panic!("unexpected line outside a command: {line}");
        };
        let mut output = Vec::new();
        while let Some(next) = lines.peek() {
            if next.starts_with("$ ") {
                break;
            }
            output.push(lines.next().unwrap());
        }
        if command == "cat state.json" {
            state = Some(state_file("readme-state.json", &output.join("\n")));
            continue;
        }
        let state = state.as_ref().expect("cat state.json comes first");
        let args: Vec<String> = command
            .split_whitespace()
            .skip(1) // "mote"
            .map(|a| {
                if a == "state.json" {
                    state.to_str().unwrap().to_string()
                } else {
                    a.to_string()
                }
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = mote(&args);
        assert_eq!(out.status.code(), Some(0), "{command}");
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            format!("{}\n", output.join("\n")),
            "{command}"
        );
        commands += 1;
    }
    assert!(commands >= 2, "the README example runs {commands} commands");
}

/// docs/cli.md: "Whether a resource supports the operation comes from the built-in object
/// definitions and the DDF XML files in `--objects DIR`": a vendor Object is unknown (4.04) until its DDF
/// is given, then its Resources' operations decide (an E-only Resource is not readable: 4.05).
#[test]
fn objects_dir_adds_ddf_definitions() {
    const DDF: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<LWM2M><Object ObjectType="MODefinition"><Name>Test</Name><Description1></Description1>
<ObjectID>3442</ObjectID><ObjectURN>urn:oma:lwm2m:ext:3442</ObjectURN>
<LWM2MVersion>1.0</LWM2MVersion><ObjectVersion>1.0</ObjectVersion>
<MultipleInstances>Multiple</MultipleInstances><Mandatory>Optional</Mandatory><Resources>
<Item ID="0"><Name>A</Name><Operations>R</Operations><MultipleInstances>Single</MultipleInstances>
<Mandatory>Mandatory</Mandatory><Type>String</Type><RangeEnumeration></RangeEnumeration>
<Units></Units><Description></Description></Item>
<Item ID="1"><Name>B</Name><Operations>E</Operations><MultipleInstances>Single</MultipleInstances>
<Mandatory>Optional</Mandatory><Type></Type><RangeEnumeration></RangeEnumeration><Units></Units>
<Description></Description></Item>
</Resources><Description2></Description2></Object></LWM2M>
"#;
    let ddf = state_file("3442.xml", DDF);
    let dir = ddf.with_extension("d");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::rename(&ddf, dir.join("3442.xml")).unwrap();
    let state = state_file(
        "vendor.json",
        r#"{"servers":[101,102],"instances":["/3442/0"],
            "acl":[{"object":3442,"instance":0,"acl":{"102":1},"owner":101}]}"#,
    );
    let run = |path: &str, objects: bool| {
        let mut args = vec![
            "access",
            "check",
            "--state",
            state.to_str().unwrap(),
            "--server",
            "102",
            "--op",
            "read",
            "--path",
            path,
            "--json",
        ];
        if objects {
            args.extend_from_slice(&["--objects", dir.to_str().unwrap()]);
        }
        let out = mote(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    assert_eq!(code(&run("/3442/0/0", false)), Some("4.04"));
    assert_eq!(code(&run("/3442/0/0", true)), None);
    assert_eq!(code(&run("/3442/0/1", true)), Some("4.05"));
}
