//! `mote demo`: the whole story with the real roles, each a process of this binary on
//! loopback, no configuration.
//!
//! Roles: `mote bootstrap-server`; two `mote lwm2m-server` (Short Server IDs 101 and 102,
//! REST API on `--http`); two `mote proxy` (device —UDP→ proxy —TCP→ server 101, and
//! device —UDP→ proxy —UDP→ server 102), attackers on command (`--control`); the device,
//! `mote lwm2m-client --bootstrap`. The bootstrap server provisions the device with both
//! server accounts, their OSCORE contexts (/21) and Access Control instances that give 102
//! Read only; the device registers with both through the proxies. Then, driven through each
//! server's REST API and the device's stdin, each step asserts its outcome from the JSON lines
//! and server-sent events (see [`run`] for the steps), and the proxies attack server 101's
//! path. A summary table gives each step's bytes forwarded by the proxies, its time and its
//! result; the command exits non-zero when any step did not behave as expected.

mod roles;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use clap::Args;
use rand_core::RngCore as _;
use serde_json::{Value as Json, json};

use roles::{Events, Role, ScratchDir, event, http};

/// Arguments of `mote demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Endpoint client name of the device.
    #[arg(long, default_value = "device-0001")]
    pub(crate) endpoint: String,
}

/// How long one expected line or event may take.
const WAIT: Duration = Duration::from_secs(10);

/// How long the demo waits to be sure a message that must not come does not (it then
/// asserts on what came instead).
const QUIET: Duration = Duration::from_millis(300);

/// The REST API's request timeout of the servers (`--request-timeout`).
const REQUEST_TIMEOUT_S: u64 = 3;

/// How long the delay attack holds each message: past the servers' request timeout.
const DELAY_MS: u64 = 4000;

/// The firmware package's size (a 256 KiB pull, LwM2M TS 1.2 Core Appendix E.6).
const FIRMWARE_SIZE: usize = 256 * 1024;

/// The version the good package installs, and the one the forged download must not.
const FIRMWARE_VERSION: &str = "2.0.0";
const FORGED_VERSION: &str = "3.0.0";

// RFC 9529 Trace 2 (CCS credentials with P-256 keys, kid 0x2b / 0x32): the device is the
// EDHOC Initiator, server 101 the Responder. Public test vectors, for a demo only.
const CRED_I: &str = "a2027734322d35302d33312d46462d45462d33372d33322d333908a101a5010202412b2001215820ac75e9ece3e50bfc8ed60399889522405c47bf16df96660a41298cb4307f7eb62258206e5de611388a4b8a8211334ac7d37ecb52a387d257e6db3c2a93df21ff3affc8";
const CRED_R: &str = "a2026b6578616d706c652e65647508a101a501020241322001215820bbc34960526ea4d32e940cad2a234148ddc21791a12afbcbac93622046dd44f02258204519e257236b2a0ce2023f0931f1f386ca7afda64fcde0108c224c51eabf6072";
const SK_I: &str = "fb13adeb6518cee5f88417660841142e830a81fe334380a953406a1305e8706b";
const SK_R: &str = "72cc4761dbd4c78f758931aa589d348d1ef874a7e303ede2f140dcf3e6aa4aac";

/// An EDHOC credential file (docs/edhoc-credentials.md): method 3, suite 2.
fn edhoc_file(credential: &str, key: &str, peer: &str) -> String {
    json!({"methods": [3], "suites": [2], "credential": {"ccs": credential},
           "private_key": key, "peers": [{"ccs": peer}]})
    .to_string()
}

/// A firmware package of the device's format (docs/cli.md, `mote lwm2m-client`): `MOTEFW1\n`,
/// the SHA-256 of the image, the image, whose first line names its version; `len` bytes in all.
fn firmware_package(version: &str, len: usize) -> Vec<u8> {
    use sha2::Digest as _;
    let mut image = format!("version:{version}\n").into_bytes();
    let mut filler = vec![0u8; len.saturating_sub(40 + image.len())];
    rand_core::OsRng.fill_bytes(&mut filler);
    image.extend_from_slice(&filler);
    let mut package = b"MOTEFW1\n".to_vec();
    package.extend_from_slice(&sha2::Sha256::digest(&image));
    package.extend_from_slice(&image);
    package
}

/// One step's line of the summary table.
struct Outcome {
    step: String,
    bytes: u64,
    time: Duration,
    result: Result<String>,
}

/// The running roles.
struct Demo {
    endpoint: String,
    /// Proxy 101's port: the device's Server URI for 101 and its firmware Package URIs.
    proxy101_port: u16,
    dir: ScratchDir,
    device: Role,
    proxy101: Role,
    proxy102: Role,
    http101: u16,
    http102: u16,
    events101: Events,
    events102: Events,
    outcomes: Vec<Outcome>,
    // Kept running (and killed on drop) while the demo runs.
    _servers: Vec<Role>,
}

/// An OSCORE context pair: the client's /21 values and the server's context file.
struct Keys {
    master_secret: String,
    master_salt: String,
    client_id: String,
    server_id: String,
}

impl Keys {
    fn random(client_id: &str, server_id: &str) -> Self {
        let mut secret = [0u8; 16];
        let mut salt = [0u8; 8];
        rand_core::OsRng.fill_bytes(&mut secret);
        rand_core::OsRng.fill_bytes(&mut salt);
        Self {
            master_secret: hex::encode(secret),
            master_salt: hex::encode(salt),
            client_id: client_id.into(),
            server_id: server_id.into(),
        }
    }

    /// The server's context file (its Sender ID is the client's Recipient ID).
    fn server_file(&self, endpoint: &str) -> String {
        json!({"master_secret": self.master_secret, "master_salt": self.master_salt,
               "sender_id": self.server_id, "recipient_id": self.client_id,
               "endpoint": endpoint})
        .to_string()
    }

    /// The /21 instance the bootstrap server writes.
    fn instance(&self, instance: u16) -> Json {
        json!({"instance": instance, "master_secret": self.master_secret,
               "sender_id": self.client_id, "recipient_id": self.server_id,
               "aead": 10, "hmac": 5, "master_salt": self.master_salt})
    }
}

/// The ACL of every object instance the servers touch: 101 owns it with Read, Write and
/// Execute (7), 102 may only Read (1) (LwM2M TS 1.2 Core §7.3.3, Object 2).
fn access_control() -> Json {
    let instances = [(3, 0), (3303, 0), (5, 0), (32769, 0), (4, 0)];
    Json::Array(
        instances
            .iter()
            .enumerate()
            .map(|(i, (object, instance))| {
                json!({"instance": i, "object": object, "object_instance": instance,
                       "acl": {"101": 7, "102": 1}, "owner": 101})
            })
            .collect(),
    )
}

fn path_str(p: &std::path::Path) -> Result<&str> {
    p.to_str()
        .ok_or_else(|| anyhow!("{} is not UTF-8", p.display()))
}

impl Demo {
    /// Starts every role and returns once the device is registered with both servers.
    fn start(endpoint: &str) -> Result<Self> {
        let dir = ScratchDir::new()?;
        let exe: PathBuf = std::env::current_exe().context("locating the mote binary")?;
        let log = |name: &str| dir.path().join(format!("{name}.log"));
        let keys101 = Keys::random("01", "a1");
        let keys102 = Keys::random("02", "a2");
        let ctx101 = dir.write_private("server-101.json", &keys101.server_file(endpoint))?;
        let ctx102 = dir.write_private("server-102.json", &keys102.server_file(endpoint))?;
        let server_edhoc =
            dir.write_private("server-101-edhoc.json", &edhoc_file(CRED_R, SK_R, CRED_I))?;
        let device_edhoc =
            dir.write_private("device-edhoc.json", &edhoc_file(CRED_I, SK_I, CRED_R))?;
        let good = dir.path().join(format!("firmware-{FIRMWARE_VERSION}.bin"));
        std::fs::write(&good, firmware_package(FIRMWARE_VERSION, FIRMWARE_SIZE))?;
        let next = dir.path().join(format!("firmware-{FORGED_VERSION}.bin"));
        std::fs::write(&next, firmware_package(FORGED_VERSION, FIRMWARE_SIZE))?;
        let timeout = REQUEST_TIMEOUT_S.to_string();
        println!("Starting the roles (each a process of this binary, on loopback):");
        let server = |name: &str, listen: &str, ctx: &PathBuf, extra: &[&str]| -> Result<Role> {
            let mut args = vec![
                "lwm2m-server",
                "--listen",
                listen,
                "--http",
                "127.0.0.1:0",
                "--oscore",
                path_str(ctx)?,
                "--request-timeout",
                &timeout,
                "--print-port",
            ];
            args.extend_from_slice(extra);
            Role::start(name, &exe, &args, 2, &log(name))
        };
        let s101 = server(
            "server-101",
            "coap+tcp://127.0.0.1:0",
            &ctx101,
            &[
                "--edhoc",
                path_str(&server_edhoc)?,
                "--firmware",
                path_str(&good)?,
                "--firmware",
                path_str(&next)?,
            ],
        )?;
        let s102 = server("server-102", "coap://127.0.0.1:0", &ctx102, &[])?;
        let (http101, http102) = (s101.ports[1], s102.ports[1]);
        println!(
            "  mote lwm2m-server  SSID 101: CoAP over TCP :{}, REST :{http101}, OSCORE, EDHOC, \
             firmware {FIRMWARE_VERSION} and {FORGED_VERSION} ({} KiB each)",
            s101.ports[0],
            FIRMWARE_SIZE / 1024
        );
        println!(
            "  mote lwm2m-server  SSID 102: CoAP over UDP :{}, REST :{http102}, OSCORE",
            s102.ports[0]
        );
        let events101 = Events::subscribe(http101)?;
        let events102 = Events::subscribe(http102)?;
        let proxy = |name: &str, to: String| -> Result<Role> {
            Role::start(
                name,
                &exe,
                &[
                    "proxy",
                    "--listen",
                    "127.0.0.1:0",
                    "--to",
                    &to,
                    "--control",
                    "--json",
                    "--print-port",
                ],
                1,
                &log(name),
            )
        };
        let proxy101 = proxy(
            "proxy-101",
            format!("coap+tcp://127.0.0.1:{}", s101.ports[0]),
        )?;
        let proxy102 = proxy("proxy-102", format!("coap://127.0.0.1:{}", s102.ports[0]))?;
        println!(
            "  mote proxy         :{} (UDP) -> server 101 over TCP",
            proxy101.ports[0]
        );
        println!(
            "  mote proxy         :{} (UDP) -> server 102 over UDP",
            proxy102.ports[0]
        );
        let config = json!({"endpoints": {endpoint: {
            "format": "senml-cbor",
            // The configuration objects only: /3303/0 and /5/0 stay (their ACLs refer to them).
            "delete": ["/0", "/1", "/2", "/21"],
            "security": [
                {"instance": 1, "uri": format!("coap://127.0.0.1:{}", proxy101.ports[0]),
                 "ssid": 101, "oscore": 0},
                {"instance": 2, "uri": format!("coap://127.0.0.1:{}", proxy102.ports[0]),
                 "ssid": 102, "oscore": 1}
            ],
            "oscore": [keys101.instance(0), keys102.instance(1)],
            "servers": [
                {"instance": 0, "ssid": 101, "lifetime": 300, "binding": "U"},
                {"instance": 1, "ssid": 102, "lifetime": 300, "binding": "U"}
            ],
            "access_control": access_control()
        }}});
        let config = dir.write_private("bootstrap.json", &config.to_string())?;
        let bs = Role::start(
            "bootstrap-server",
            &exe,
            &[
                "bootstrap-server",
                "--listen",
                "coap://127.0.0.1:0",
                "--config",
                path_str(&config)?,
                "--json",
                "--print-port",
            ],
            1,
            &log("bootstrap-server"),
        )?;
        println!("  mote bootstrap-server :{} (UDP)", bs.ports[0]);
        let state = dir.path().join("device-state");
        std::fs::create_dir_all(&state)?;
        let bs_uri = format!("coap://127.0.0.1:{}", bs.ports[0]);
        let device = Role::start(
            "device",
            &exe,
            &[
                "lwm2m-client",
                "--endpoint",
                endpoint,
                "--bootstrap",
                &bs_uri,
                "--state",
                path_str(&state)?,
                "--edhoc",
                path_str(&device_edhoc)?,
                "--fresh-echo",
                "--json",
            ],
            0,
            &log("device"),
        )?;
        println!(
            "  mote lwm2m-client --bootstrap {bs_uri} --edhoc --fresh-echo (the device {endpoint:?})"
        );
        Ok(Self {
            endpoint: endpoint.to_string(),
            proxy101_port: proxy101.ports[0],
            dir,
            device,
            proxy101,
            proxy102,
            http101,
            http102,
            events101,
            events102,
            outcomes: Vec::new(),
            _servers: vec![s101, s102, bs],
        })
    }

    /// Bytes both proxies forwarded so far (their `stats`).
    fn proxy_bytes(&mut self) -> u64 {
        let mut total = 0;
        for proxy in [&mut self.proxy101, &mut self.proxy102] {
            if proxy.send_line("stats").is_ok() {
                if let Ok(v) = proxy.expect("stats", WAIT, event("stats")) {
                    total += v["bytes"].as_u64().unwrap_or(0);
                }
            }
        }
        total
    }

    /// Runs one step: prints it, times it, counts the proxies' bytes, records the outcome.
    fn step(&mut self, name: &str, run: impl FnOnce(&mut Self) -> Result<String>) {
        let before = self.proxy_bytes();
        let start = Instant::now();
        let result = run(self);
        let time = start.elapsed();
        let bytes = self.proxy_bytes().saturating_sub(before);
        for role in [&mut self.device, &mut self.proxy101, &mut self.proxy102] {
            role.forget_lines();
        }
        match &result {
            Ok(r) => println!("   ok: {r}"),
            Err(e) => println!("   FAILED: {e:#}"),
        }
        self.outcomes.push(Outcome {
            step: name.to_string(),
            bytes,
            time,
            result,
        });
    }

    /// A REST call on server `ssid`; prints it and its answer.
    fn rest(&self, ssid: u16, method: &str, path: &str, body: &str) -> Result<(u16, Json)> {
        let port = if ssid == 101 {
            self.http101
        } else {
            self.http102
        };
        let target = format!("/api/clients/{}{path}", self.endpoint);
        let (status, answer) = http(port, method, &target, body)?;
        let shown = answer.to_string();
        let shown: String = shown.chars().take(160).collect();
        println!("   server {ssid}: {method} {target} -> HTTP {status} {shown}");
        Ok((status, answer))
    }

    /// A control line to proxy 101, and its acknowledgement.
    fn attack(&mut self, line: &str) -> Result<()> {
        self.proxy101.send_line(line)?;
        let ack = self
            .proxy101
            .expect("attack acknowledgement", WAIT, event("attack"))?;
        println!("   proxy 101 <- {line:?}: {ack}");
        Ok(())
    }

    /// The device's value of a single resource, read by server 101 (plain text).
    fn read_value(&self, path: &str) -> Result<Json> {
        let (status, v) = self.rest(101, "GET", path, "")?;
        ensure!(status == 200 && v["status"] == "2.05", "Read {path}: {v}");
        Ok(v["records"][0]["value"].clone())
    }
}

/// The CoAP status of a REST answer, or the HTTP status and error when the API gave one
/// (502: the answer did not verify, 504: none came in time; docs/rest-api.md).
fn coap_status(status: u16, v: &Json) -> String {
    match (status, v["status"].as_str()) {
        (200, Some(code)) => code.to_string(),
        _ => format!("HTTP {status} {}", v["error"].as_str().unwrap_or("")),
    }
}

fn records_value(v: &Json, path: &str) -> Option<Json> {
    v["records"]
        .as_array()?
        .iter()
        .find(|r| r["path"] == path)
        .map(|r| r["value"].clone())
}

// ---- the steps ----

fn registered(d: &mut Demo) -> Result<String> {
    d.device
        .expect("bootstrap-finished", WAIT, event("bootstrap-finished"))?;
    println!("   device: bootstrap finished (/0, /21, /1, /2 written by the bootstrap server)");
    for ssid in [101, 102] {
        let v = d.device.expect("registered", WAIT, |v| {
            v["event"] == "registered" && v["ssid"] == ssid
        })?;
        println!("   device: {v}");
    }
    let mut shown = Vec::new();
    for (ssid, events, transport) in [
        (101, &mut d.events101, "tcp"),
        (102, &mut d.events102, "udp"),
    ] {
        let v = events.expect("registration", WAIT, |v| v["event"] == "registration")?;
        let c = &v["data"];
        println!(
            "   server {ssid}: registration of {} over {} from {}, security {}",
            c["endpoint"], c["transport"], c["address"], c["security"]
        );
        ensure!(c["security"] == "oscore", "server {ssid}: {c}");
        ensure!(c["transport"] == transport, "server {ssid}: {c}");
        shown.push(format!("{ssid} over {transport}"));
    }
    Ok(format!(
        "registered with {} through the proxies, under OSCORE from /21",
        shown.join(" and ")
    ))
}

fn read_formats(d: &mut Demo) -> Result<String> {
    let mut got = Vec::new();
    for (format, cf) in [("tlv", 11542), ("senml-cbor", 112)] {
        let (status, v) = d.rest(101, "GET", &format!("/3/0?format={format}"), "")?;
        ensure!(status == 200 && v["status"] == "2.05", "{v}");
        ensure!(
            v["content_format"] == cf,
            "content format {}",
            v["content_format"]
        );
        let maker = records_value(&v, "/3/0/0");
        ensure!(maker == Some(json!("Mote")), "/3/0/0 is {maker:?}");
        got.push(format!("{format} ({cf})"));
    }
    Ok(format!(
        "/3/0 read in {}: manufacturer \"Mote\"",
        got.join(" and ")
    ))
}

fn write(d: &mut Demo) -> Result<String> {
    let body = r#"[{"path":"/3303/0/5750","type":"string","value":"kitchen"}]"#;
    let (status, v) = d.rest(101, "PUT", "/3303/0/5750?format=senml-cbor", body)?;
    ensure!(status == 200 && v["status"] == "2.04", "{v}");
    // RFC 9175 §2.3: the device (--fresh-echo) answered the first Write 4.01 with an Echo;
    // the server's endpoint repeated it with the value, and only that one was applied.
    let challenge = d.device.expect("echo-challenge", WAIT, |v| {
        v["event"] == "echo-challenge" && v["path"] == "/3303/0/5750" && v["ssid"] == 101
    })?;
    println!("   device: {challenge}");
    let w = d.device.expect("write", WAIT, |v| {
        v["event"] == "write" && v["path"] == "/3303/0/5750"
    })?;
    println!("   device: {w}");
    ensure!(w["value"] == "kitchen", "{w}");
    Ok(
        "Write /3303/0/5750 = \"kitchen\": 4.01 + Echo first, the retry with it 2.04, applied once"
            .into(),
    )
}

fn execute(d: &mut Demo) -> Result<String> {
    let (status, v) = d.rest(101, "POST", "/3/0/4/execute", "")?;
    ensure!(status == 200 && v["status"] == "2.04", "{v}");
    let e = d.device.expect("execute", WAIT, |v| {
        v["event"] == "execute" && v["path"] == "/3/0/4"
    })?;
    println!("   device: {e}");
    Ok("Execute /3/0/4 (Reboot): 2.04, reported by the device".into())
}

fn observe(d: &mut Demo) -> Result<String> {
    let (status, v) = d.rest(
        101,
        "PUT",
        "/3303/0/5700/attributes?pmin=0&pmax=600&gt=25",
        "",
    )?;
    ensure!(status == 200 && v["status"] == "2.04", "{v}");
    let (status, v) = d.rest(101, "POST", "/3303/0/5700/observe", "")?;
    ensure!(status == 200 && v["status"] == "2.05", "{v}");
    for value in ["23", "26"] {
        d.device.send_line(&format!("set /3303/0/5700 {value}"))?;
        let s = d.device.expect("set", WAIT, |v| {
            v["event"] == "set" && v["path"] == "/3303/0/5700"
        })?;
        println!("   device <- set /3303/0/5700 {value}: {s}");
    }
    // The first notification after both values is 26: 23 did not cross gt=25 and was not
    // notified (LwM2M TS 1.2 Core §5.1.2, "gt"; pmax is far away).
    let n = d.events101.expect("notification", WAIT, |v| {
        v["event"] == "notification" && v["data"]["path"] == "/3303/0/5700"
    })?;
    let value = records_value(&n["data"], "/3303/0/5700");
    println!(
        "   server 101: notification /3303/0/5700 = {}",
        shown(value.as_ref())
    );
    ensure!(
        value.as_ref().and_then(Json::as_f64) == Some(26.0),
        "the first notification carried {}, not 26 (23 must not be notified)",
        shown(value.as_ref())
    );
    let notified = d.device.expect("notify", WAIT, event("notify"))?;
    println!("   device: {notified}");
    ensure!(
        !d.device.saw(QUIET, event("notify")),
        "a second notification went out"
    );
    Ok("Write-Attributes pmin=0 pmax=600 gt=25, Observe: 23 not notified, 26 notified".into())
}

/// A record's value as JSON text, or "nothing".
fn shown(value: Option<&Json>) -> String {
    value.map_or_else(|| "nothing".to_owned(), Json::to_string)
}

fn send(d: &mut Demo) -> Result<String> {
    d.device.send_line("send /3303/0/5700")?;
    let s = d.events101.expect("send", WAIT, |v| v["event"] == "send")?;
    let value = s["data"]["records"]
        .as_array()
        .and_then(|r| r.first())
        .map(|r| r["value"].clone());
    println!(
        "   server 101: send /3303/0/5700 = {}",
        shown(value.as_ref())
    );
    ensure!(
        value.as_ref().and_then(Json::as_f64) == Some(26.0),
        "Send carried {}",
        shown(value.as_ref())
    );
    d.events102.expect("send", WAIT, |v| v["event"] == "send")?;
    println!("   server 102: send received too");
    Ok("Send /3303/0/5700 = 26 reached both servers (/dp)".into())
}

fn firmware(d: &mut Demo) -> Result<String> {
    let old = d.read_value("/3/0/3")?;
    let uri = format!(
        "coap://127.0.0.1:{}/fw/firmware-{FIRMWARE_VERSION}.bin",
        d.proxy101_port
    );
    let body = json!([{"path": "/5/0/1", "type": "string", "value": uri}]).to_string();
    let (status, v) = d.rest(101, "PUT", "/5/0/1?format=senml-cbor", &body)?;
    ensure!(status == 200 && v["status"] == "2.04", "{v}");
    let mut reports = 0;
    let done = loop {
        let v = d.device.expect("firmware progress", WAIT, |v| {
            v["event"] == "firmware-progress" || v["event"] == "firmware"
        })?;
        if v["event"] == "firmware" {
            break v;
        }
        reports += 1;
        println!("   device: {v}");
    };
    println!("   device: {done}");
    ensure!(
        done["state"] == 2 && done["result"] == 0,
        "the download ended {done}"
    );
    ensure!(reports > 0, "no firmware-progress event");
    let (status, v) = d.rest(101, "POST", "/5/0/2/execute", "")?;
    ensure!(status == 200 && v["status"] == "2.04", "{v}");
    // The installation runs after the Execute was answered: its Update Result is read.
    let deadline = Instant::now() + WAIT;
    loop {
        let result = d.read_value("/5/0/5")?;
        if result == 1 {
            break;
        }
        ensure!(Instant::now() < deadline, "Update Result stays {result}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let version = d.read_value("/3/0/3")?;
    ensure!(version == FIRMWARE_VERSION, "/3/0/3 is {version}");
    Ok(format!(
        "{} KiB pulled block-wise from server 101 under OSCORE, each block verified; \
         Update Result 1, /3/0/3 {old} -> {version}",
        FIRMWARE_SIZE / 1024
    ))
}

fn acl(d: &mut Demo) -> Result<String> {
    let (status, v) = d.rest(102, "GET", "/3/0/0", "")?;
    ensure!(
        status == 200 && v["status"] == "2.05",
        "server 102 Read: {v}"
    );
    let body = r#"[{"path":"/3303/0/5750","type":"string","value":"hacked"}]"#;
    let (status, v) = d.rest(102, "PUT", "/3303/0/5750?format=senml-cbor", body)?;
    ensure!(
        status == 200 && v["status"] == "4.01",
        "server 102 Write: {v}"
    );
    let value = d.read_value("/3303/0/5750")?;
    ensure!(value == "kitchen", "the value is now {value}");
    Ok("server 102: Read 2.05, Write 4.01 Unauthorized (the device's ACL); value kept".into())
}

fn rekey(d: &mut Demo) -> Result<String> {
    d.device.send_line("rekey 101")?;
    let rekeyed = d.device.expect("rekeyed", WAIT, |v| {
        v["event"] == "rekeyed" && v["ssid"] == 101
    })?;
    println!("   device <- rekey 101: {rekeyed}");
    let registered = d.device.expect("registered", WAIT, |v| {
        v["event"] == "registered" && v["ssid"] == 101
    })?;
    println!("   device: {registered}");
    let (status, client) = http(
        d.http101,
        "GET",
        &format!("/api/clients/{}", d.endpoint),
        "",
    )?;
    println!(
        "   server 101: GET /api/clients/{} -> HTTP {status} security {}",
        d.endpoint, client["security"]
    );
    ensure!(client["security"] == "edhoc", "{client}");
    let maker = d.read_value("/3/0/0")?;
    ensure!(maker == "Mote", "/3/0/0 is {maker}");
    Ok(
        "EDHOC (RFC 9528) through the proxy: new OSCORE context, registered under it, Read ok"
            .into(),
    )
}

fn attack_modify(d: &mut Demo) -> Result<String> {
    d.attack("attack tamper")?;
    let body = r#"[{"path":"/3303/0/5750","type":"string","value":"tampered"}]"#;
    let answer = d.rest(101, "PUT", "/3303/0/5750?format=senml-cbor", body);
    let seen = d.proxy101.expect("attacked", WAIT, |v| {
        v["event"] == "attacked" && v["attack"] == "tamper"
    });
    d.attack("attack none")?;
    let (status, v) = answer?;
    println!("   proxy 101: {}", seen?);
    let code = coap_status(status, &v);
    ensure!(code != "2.04", "the tampered Write was applied: {v}");
    let value = d.read_value("/3303/0/5750")?;
    ensure!(value == "kitchen", "the value is now {value}");
    Ok(format!(
        "a flipped ciphertext byte: the device refused it, the REST call got {code}; value kept"
    ))
}

fn attack_replay(d: &mut Demo) -> Result<String> {
    d.attack("attack replay")?;
    let body = r#"[{"path":"/3303/0/5750","type":"string","value":"office"}]"#;
    let answer = d.rest(101, "PUT", "/3303/0/5750?format=senml-cbor", body);
    let copy = d
        .proxy101
        .expect("replay-response", WAIT, event("replay-response"));
    d.attack("attack none")?;
    let (status, v) = answer?;
    ensure!(status == 200 && v["status"] == "2.04", "the original: {v}");
    let copy = copy?;
    println!("   proxy 101: {copy}");
    ensure!(
        copy["code"] == "4.01" && copy["payload"] == hex::encode("Replay detected"),
        "the copy was answered {copy}"
    );
    Ok("the copy (fresh Message ID and Token) got 4.01 \"Replay detected\"".into())
}

/// The delay attack. OSCORE alone does not see a delay: a request held back and delivered
/// late still verifies, it is no replay (RFC 8613 §7.4 and Appendix D.3 leave freshness to
/// the application). An actuation must therefore prove it is fresh (RFC 9175 §2.3, the
/// device's `--fresh-echo`): the held Write reaches the device after the server gave up on it
/// (its request timeout, REST 504; the server cancels the request and never repeats it with
/// the Echo), the device answers 4.01 + Echo instead of acting, and the value stays. Detected
/// means: the caller is told (504), the device challenged the stale request, nothing applied.
fn attack_delay(d: &mut Demo) -> Result<String> {
    let before = d.read_value("/3303/0/5750")?;
    d.attack(&format!("attack delay {DELAY_MS}"))?;
    let body = r#"[{"path":"/3303/0/5750","type":"string","value":"stale"}]"#;
    let answer = d.rest(101, "PUT", "/3303/0/5750?format=senml-cbor", body);
    // The held request reaches the device DELAY_MS after it was sent.
    let challenge = d.device.expect("echo-challenge", WAIT, |v| {
        v["event"] == "echo-challenge" && v["path"] == "/3303/0/5750" && v["ssid"] == 101
    });
    let held = d.proxy101.expect("attacked delay", WAIT, |v| {
        v["event"] == "attacked" && v["attack"] == "delay" && v["direction"] == "downstream"
    });
    d.attack("attack none")?;
    let (status, v) = answer?;
    println!("   proxy 101: {}", held?);
    ensure!(
        status == 504,
        "the delayed Write was answered HTTP {status} {v}"
    );
    println!("   device: {}", challenge?);
    // The device's 4.01 + Echo is itself held DELAY_MS on its way back; the server must not
    // repeat the Write when it arrives.
    std::thread::sleep(Duration::from_millis(DELAY_MS) + QUIET);
    ensure!(
        !d.device.saw(QUIET, |v| {
            v["event"] == "write" && v["path"] == "/3303/0/5750"
        }),
        "the stale Write was applied"
    );
    let value = d.read_value("/3303/0/5750")?;
    ensure!(value == before, "the value is now {value}");
    Ok(format!(
        "held {DELAY_MS} ms (> the {REQUEST_TIMEOUT_S} s request timeout): REST 504, the device \
         demanded a fresh Echo, nothing applied"
    ))
}

fn attack_swap(d: &mut Demo) -> Result<String> {
    d.attack("attack swap")?;
    let (port, ep) = (d.http101, d.endpoint.clone());
    let reads: Vec<_> = ["/3/0/0", "/3/0/1"]
        .into_iter()
        .map(|path| {
            let target = format!("/api/clients/{ep}{path}");
            std::thread::spawn(move || http(port, "GET", &target, ""))
        })
        .collect();
    let answers: Vec<_> = reads
        .into_iter()
        .map(|t| t.join().map_err(|_| anyhow!("a reader panicked"))?)
        .collect();
    let swapped = d.proxy101.expect("attacked swap", WAIT, |v| {
        v["event"] == "attacked" && v["attack"] == "swap"
    });
    d.attack("attack none")?;
    println!("   proxy 101: {}", swapped?);
    let mut codes = Vec::new();
    for a in answers {
        let (status, v) = a?;
        let shown: String = v.to_string().chars().take(100).collect();
        println!("   server 101: -> HTTP {status} {shown}");
        let code = coap_status(status, &v);
        ensure!(
            code.starts_with("HTTP 502"),
            "a crossed response was not rejected: {v}"
        );
        codes.push(code);
    }
    Ok(format!(
        "two concurrent Reads, responses crossed: the server rejected both ({})",
        codes.join(", ")
    ))
}

fn attack_forge_block(d: &mut Demo) -> Result<String> {
    let uri = format!(
        "coap://127.0.0.1:{}/fw/firmware-{FORGED_VERSION}.bin",
        d.proxy101_port
    );
    let body = json!([{"path": "/5/0/1", "type": "string", "value": uri}]).to_string();
    let (status, v) = d.rest(101, "PUT", "/5/0/1?format=senml-cbor", &body)?;
    ensure!(status == 200 && v["status"] == "2.04", "{v}");
    // Armed once the pull runs: the next protected response towards the device is a block.
    let progress = d
        .device
        .expect("firmware progress", WAIT, event("firmware-progress"));
    let armed = d.attack("attack forge-block");
    let forged = d.proxy101.expect("attacked forge-block", WAIT, |v| {
        v["event"] == "attacked" && v["attack"] == "forge-block"
    });
    let done = d.device.expect("firmware", WAIT, event("firmware"));
    d.attack("attack none")?;
    println!("   device: {}", progress?);
    armed?;
    println!("   proxy 101: {}", forged?);
    let done = done?;
    println!("   device: {done}");
    ensure!(
        done["result"] == 5,
        "the download ended {done}, not Update Result 5"
    );
    let version = d.read_value("/3/0/3")?;
    ensure!(version == FIRMWARE_VERSION, "/3/0/3 is {version}");
    Ok(format!(
        "a block's payload replaced: the device rejected it, Update Result 5 (integrity), \
         {version} kept"
    ))
}

/// One step of the story: what it proved, or why it failed.
type Step = fn(&mut Demo) -> Result<String>;

/// Runs `mote demo`.
pub(crate) fn run(args: &DemoArgs) -> Result<()> {
    println!(
        "Mote demo: device {:?} bootstrapped, managed by two LwM2M servers through proxies, \
         attacked on the way; every role is a process of this binary on loopback.\n",
        args.endpoint
    );
    let started = Instant::now();
    let mut d = Demo::start(&args.endpoint)?;
    println!(
        "\n== bootstrap and register (101 via UDP->TCP, 102 via UDP->UDP)  \
         [LwM2M bootstrap; OSCORE from /21, TS 1.2 Transport §5.5; E2E-1, -2, -4]"
    );
    d.step(
        "bootstrap and register (101 via UDP->TCP, 102 via UDP->UDP)",
        registered,
    );
    if d.outcomes.iter().any(|o| o.result.is_err()) {
        bail!(
            "the device did not register; the roles' logs are in {} (set MOTE_DEMO_KEEP=1 to keep them)",
            d.dir.path().display()
        );
    }
    // Each step with the requirements it shows (docs/conformance.md's rows name the tests).
    let steps: [(&str, &str, Step); 13] = [
        (
            "Read /3/0 in TLV and SenML-CBOR",
            "LightweightM2M-E2E-1, -2, -4 through UDP->TCP",
            read_formats,
        ),
        (
            "Write with Echo freshness",
            "LightweightM2M-E2E-6 (RFC 9175 §2.3)",
            write,
        ),
        ("Execute", "LightweightM2M-E2E-6 (an actuation)", execute),
        (
            "Observe with pmin/pmax/gt",
            "LwM2M Core §5.1.2 attributes; E2E-1, -2 for notifications",
            observe,
        ),
        ("Send", "LwM2M Core §6.4.5 Send, protected end to end", send),
        (
            "firmware update, 256 KiB block-wise",
            "LightweightM2M-E2E-13 (inner Block2, each block verified)",
            firmware,
        ),
        (
            "server 102 refused by the ACL",
            "LwM2M Core §7.3 access control, on the device",
            acl,
        ),
        (
            "new keys by EDHOC (rekey 101)",
            "RFC 9528 through the proxy; E2E-4 key establishment",
            rekey,
        ),
        (
            "attack: modify",
            "LightweightM2M-E2E-1, -4; threat: modification",
            attack_modify,
        ),
        (
            "attack: replay with a fresh Message ID",
            "LightweightM2M-E2E-3; threat: replay",
            attack_replay,
        ),
        (
            "attack: delay",
            "LightweightM2M-E2E-6, -5; threat: delay",
            attack_delay,
        ),
        (
            "attack: swap responses",
            "LightweightM2M-E2E-5, -11; threat: response swap",
            attack_swap,
        ),
        (
            "attack: forge a firmware block",
            "LightweightM2M-E2E-13, -1; threat: block forgery",
            attack_forge_block,
        ),
    ];
    for (name, proves, run) in steps {
        println!("\n== {name}  [{proves}]");
        d.step(name, run);
    }
    println!("\n{:<58} {:>9} {:>8}  result", "step", "bytes", "ms");
    let mut failed = 0;
    for o in &d.outcomes {
        let result = match &o.result {
            Ok(_) => "ok".to_string(),
            Err(e) => {
                failed += 1;
                format!("FAILED: {e}")
            }
        };
        println!(
            "{:<58} {:>9} {:>8}  {result}",
            o.step,
            o.bytes,
            o.time.as_millis()
        );
    }
    println!(
        "\n{} steps, {} failed, {:.1} s",
        d.outcomes.len(),
        failed,
        started.elapsed().as_secs_f64()
    );
    if failed > 0 {
        bail!("{failed} step(s) did not behave as expected");
    }
    Ok(())
}
