//! `mote lwm2m-client --bootstrap` over real loopback: `mote bootstrap-server` provisions a
//! server account whose /0/x/17 links an OSCORE instance /21/x, and the client registers with
//! `mote lwm2m-server --oscore` under that context (TS 1.2 Transport §5.5). The server only
//! takes a Register under OSCORE (docs/cli.md), so a registration it lists proves the
//! context was derived from the bootstrapped /21 values and used; its sequence number file
//! lands in the client's `--state` directory (RFC 8613 Appendix B.1.1).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

#[test]
fn a_bootstrapped_oscore_account_registers_under_its_context() {
    let dir = common::fresh_dir("mote-lwc-bs-oscore");
    // The server's side of the context: its Sender ID is the client's Recipient ID.
    let server_ctx = dir.join("server.json");
    common::write_private(
        &server_ctx,
        json!({
            "master_secret": "0102030405060708090a0b0c0d0e0f10",
            "master_salt": "9e7ca92223786340",
            "sender_id": "02",
            "recipient_id": "01",
            "endpoint": "bs-dev",
        })
        .to_string(),
    )
    .unwrap();
    // It prints nothing after its ports.
    let (_server, coap, web) = common::lwm2m::server(&["--oscore", server_ctx.to_str().unwrap()]);
    let config = dir.join("bs.json");
    std::fs::write(
        &config,
        json!({"endpoints": {"bs-dev": {
            "format": "senml-cbor",
            "security": [{"instance": 1, "uri": format!("coap://127.0.0.1:{coap}"),
                          "ssid": 101, "oscore": 0}],
            "oscore": [{"instance": 0, "master_secret": "0102030405060708090a0b0c0d0e0f10",
                        "sender_id": "01", "recipient_id": "02", "aead": 10, "hmac": 5,
                        "master_salt": "9e7ca92223786340"}],
            "servers": [{"instance": 0, "ssid": 101, "lifetime": 300}]
        }}})
        .to_string(),
    )
    .unwrap();
    // Its event lines are read (and dropped) by a thread: a closed stdout would end it.
    let (_bs, bs_ports, _bs_events) = common::start_with_output(
        &[
            "bootstrap-server",
            "--listen",
            "coap://127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
            "--print-port",
        ],
        1,
    );
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let bs_uri = format!("coap://127.0.0.1:{}", bs_ports[0]);
    let client = Command::new(env!("CARGO_BIN_EXE_mote"))
        .args([
            "lwm2m-client",
            "--endpoint",
            "bs-dev",
            "--bootstrap",
            &bs_uri,
        ])
        .args(["--state", state.to_str().unwrap(), "--json"])
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(dir.join("client.out")).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _client = common::Proc(client);
    let deadline = Instant::now() + Duration::from_secs(30);
    let registered = loop {
        let c = common::lwm2m::http(web, "GET", "/api/clients/bs-dev", "").1;
        if c.is_object() && c.get("error").is_none() {
            break c;
        }
        assert!(
            Instant::now() < deadline,
            "bs-dev never registered; the client printed:\n{}",
            std::fs::read_to_string(dir.join("client.out")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // Registered under the OSCORE context (the server refuses a plain Register with 4.03).
    assert_eq!(registered["security"], "oscore", "{registered}");
    // The context derived from /21/0 keeps its sequence number in the state directory.
    let seq = std::fs::read_to_string(state.join("oscore-1.seq")).unwrap();
    assert!(seq.trim().parse::<u64>().is_ok(), "{seq:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
