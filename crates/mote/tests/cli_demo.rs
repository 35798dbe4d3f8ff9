//! `mote demo` runs the whole story on loopback with the real roles (README's main job): each
//! step's outcome is checked here from its transcript, so a demo that stops proving what it
//! claims fails the test suite — and the demo checks itself (exit 1 when a step, an attack
//! above all, does not behave as expected).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn demo_runs_every_step_with_the_expected_outcomes() {
    let out = Command::new(env!("CARGO_BIN_EXE_mote"))
        .arg("demo")
        .output()
        .expect("run mote demo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        // Bootstrap, registration with both servers through the proxies, OSCORE from /21.
        "device: bootstrap finished",
        r#"server 101: registration of "device-0001" over "tcp""#,
        r#"server 102: registration of "device-0001" over "udp""#,
        r#"security "oscore""#,
        // Read in TLV and SenML-CBOR.
        "3/0?format=tlv -> HTTP 200 {\"content_format\":11542",
        "3/0?format=senml-cbor -> HTTP 200 {\"content_format\":112",
        // Write, challenged for freshness first (--fresh-echo), then applied; Execute.
        r#"device: {"event":"echo-challenge","path":"/3303/0/5750","ssid":101}"#,
        r#"device: {"event":"write","path":"/3303/0/5750","server":101,"value":"kitchen"}"#,
        r#""event":"execute","path":"/3/0/4","server":101"#,
        // Observe: 23 is not notified (gt=25), 26 is.
        "attributes?pmin=0&pmax=600&gt=25 -> HTTP 200 {\"status\":\"2.04\"}",
        "server 101: notification /3303/0/5700 = 26.0",
        // Send.
        "server 101: send /3303/0/5700 = 26",
        "server 102: send received too",
        // Firmware: 256 KiB pulled block-wise, installed.
        r#"device: {"bytes":262144,"event":"firmware-progress","total":262144}"#,
        r#"device: {"event":"firmware","result":0,"state":2}"#,
        r#"Update Result 1, /3/0/3 "0.1.0" -> "2.0.0""#,
        // New keys by EDHOC.
        r#"device <- rekey 101: {"event":"rekeyed""#,
        r#"HTTP 200 security "edhoc""#,
        // The device's ACL refuses server 102's Write.
        "server 102 has access rights R---- on /3303/0; Write needs -W---\",\"status\":\"4.01\"",
        // Attacks, each carried out and detected.
        r#""attack":"tamper","bytes":50,"code":"0.02","direction":"downstream","event":"attacked""#,
        "the device refused it, the REST call got HTTP 502 the answer did not verify; value kept",
        r#""code":"4.01","code_name":"Unauthorized","event":"replay-response","payload":"5265706c6179206465746563746564""#,
        "?format=senml-cbor -> HTTP 504 {\"error\":\"the client did not answer\"}",
        r#""attack":"delay","bytes":"#,
        "REST 504, the device demanded a fresh Echo, nothing applied",
        r#""attack":"swap","#,
        "responses crossed: the server rejected both (HTTP 502",
        r#""attack":"forge-block","bytes":"#,
        r#"device: {"event":"firmware","result":5,"state":0}"#,
        r#"Update Result 5 (integrity), "2.0.0" kept"#,
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // An answer that did not verify shows no diagnostic made of its ciphertext.
    assert!(!text.contains('\u{fffd}'), "{text}");
    let swap = text
        .split("== attack: swap responses")
        .nth(1)
        .and_then(|rest| rest.split("== ").next())
        .expect("the swap step is printed");
    assert!(!swap.contains("diagnostic"), "{swap}");
    // The summary table: every step ok, none failed.
    let table = text
        .split("step  ")
        .nth(1)
        .expect("the summary table is printed");
    assert!(!table.contains("FAILED"), "{table}");
    assert!(table.contains("14 steps, 0 failed"), "{table}");
    for step in [
        "bootstrap and register",
        "Read /3/0 in TLV and SenML-CBOR",
        "Observe with pmin/pmax/gt",
        "Write with Echo freshness",
        "Execute",
        "Send",
        "firmware update, 256 KiB block-wise",
        "server 102 refused by the ACL",
        "new keys by EDHOC (rekey 101)",
        "attack: modify",
        "attack: replay with a fresh Message ID",
        "attack: delay",
        "attack: swap responses",
        "attack: forge a firmware block",
    ] {
        let line = table
            .lines()
            .find(|l| l.starts_with(step))
            .unwrap_or_else(|| panic!("no row {step:?} in {table}"));
        assert!(line.trim_end().ends_with("ok"), "{line}");
    }
}
