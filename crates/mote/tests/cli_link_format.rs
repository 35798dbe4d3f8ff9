//! `mote decode --as link-format`, run as the built binary: the JSON shape of the command-line
//! contract, the text form, and exit code 1 for rejected input.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::{Command, Output};

fn mote(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mote"))
        .args(args)
        .output()
        .expect("run mote")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn hex_of(text: &str) -> String {
    hex::encode(text.as_bytes())
}

#[test]
fn lwm2m_registration_as_json() {
    let doc = r#"</1/0>,</3/0>;ver=1.1,</>;rt="oma.lwm2m";ct=11543"#;
    let out = mote(&["decode", "--as", "link-format", "--json", &hex_of(doc)]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        stdout(&out),
        concat!(
            r#"[{"target":"/1/0","attributes":[]},"#,
            r#"{"target":"/3/0","attributes":[{"name":"ver","value":"1.1"}]},"#,
            r#"{"target":"/","attributes":[{"name":"rt","value":"oma.lwm2m"},{"name":"ct","value":"11543"}]}]"#,
            "\n"
        )
    );
}

#[test]
fn valueless_attribute_is_null_and_escapes_are_resolved() {
    let doc = r#"</time>;obs;title="a \"b\"""#;
    let out = mote(&["decode", "--as", "link-format", "--json", &hex_of(doc)]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        stdout(&out),
        "[{\"target\":\"/time\",\"attributes\":[{\"name\":\"obs\",\"value\":null},{\"name\":\"title\",\"value\":\"a \\\"b\\\"\"}]}]\n"
    );
}

#[test]
fn discover_response_as_text_from_a_file() {
    let dir = std::env::temp_dir().join(format!("mote-cli-link-format-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("discover.wlnk");
    std::fs::write(&path, "</3/0/7>;dim=8;pmin=10,</3/0/7/0>").unwrap();
    let out = mote(&[
        "decode",
        "--as",
        "link-format",
        "--file",
        path.to_str().unwrap(),
    ]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        stdout(&out),
        "</3/0/7>\n  dim = 8\n  pmin = 10\n</3/0/7/0>\n2 links\n"
    );
}

#[test]
fn malformed_document_is_rejected_with_exit_1() {
    let out = mote(&["decode", "--as", "link-format", &hex_of("</a>;sz=x")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("error:"), "{err}");
    assert!(err.contains("sz must be a cardinal"), "{err}");
    let out = mote(&["decode", "--as", "link-format", "ff"]);
    assert_eq!(out.status.code(), Some(1));
}
