//! `mote demo` runs the whole story on loopback (README's main job): each step's outcome is
//! checked here, so a demo that stops proving what it claims fails the test suite.

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
        // 1. Register through the codec.
        "CON 0.02 POST",
        "Uri-Query (15): \"ep=device-0001\"",
        // 2. EDHOC completes with message_4 and hands off to OSCORE.
        "message_4 9 B: both sides authenticated",
        "OSCORE (Appendix A.1): Master Secret 16 B",
        // 4. Operations through the OSCORE-unaware proxy.
        "Read /3/0 -> 2.05 Content",
        "/3/0/0 string \"Mote\"",
        "Write /3/0/13 -> 4.01 Unauthorized with Echo",
        "with the Echo -> 2.04 Changed",
        "Read /19/0/0/0 -> 4096 B in 16 blocks of 256 B",
        // 4b. EDHOC over CoAP through the proxy, the combined request.
        "message_1 -> message_2; the server's credential verified",
        "Read /3/0/0 carrying message_3 (EDHOC + OSCORE request) -> 2.05 Content \"Mote\"",
        // 5. Attacks.
        "through the tampering proxy: unprotected 4.00 response: Decryption failed",
        "OSCORE (9): 0x09",
        "replayed to the device -> 4.01 Unauthorized \"Replay detected\"",
        // 6. Access control.
        "server 102 Read /3/0: allowed",
        "server 102 Execute /3/0/4: denied 4.01",
        "server 102 Read /0/0: denied 4.01",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // A protected request shows the proxy no Uri-Path.
    let seen = text
        .split("what every proxy sees")
        .nth(1)
        .and_then(|rest| rest.split("replayed").next())
        .expect("the outer message is printed");
    assert!(!seen.contains("Uri-Path"), "{seen}");
}
