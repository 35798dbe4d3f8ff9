//! `mote demo`: the end-to-end story on loopback, in one command.
//!
//! 1. The device's LwM2M 1.1 Register request through the CoAP codec.
//! 2. EDHOC (RFC 9528, method 3, suite 2) between the LwM2M Server and the device, in memory,
//!    handing its output to OSCORE (RFC 9528 Appendix A.1).
//! 3. The device (`mote serve`, its LwM2M object tree behind OSCORE, Echo demanded for
//!    actuation) and two OSCORE-unaware forward proxies (`mote proxy`, one honest, one that
//!    tampers) started as real processes on loopback UDP.
//! 4. The server reads /3/0 through the proxy (LightweightM2M-E2E-1/2/4/5), writes the
//!    Current Time after an Echo round trip (E2E-6), downloads a 4 KiB resource block by block,
//!    each block verified on arrival (E2E-13), is refused through the tampering proxy, and a
//!    replayed request is refused by the device (E2E-3).
//! 5. What the proxies see: the outer message of a protected request.
//! 6. The device's access control (mote-access): what a second server may do.

use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail, ensure};
use clap::Args;
use mote_coap::code::{Code, MessageType};
use mote_coap::content_format::ContentFormat;
use mote_coap::link_format::LinkFormat;
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;

use crate::net::Listen;

/// Arguments of `mote demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Endpoint client name of the simulated device.
    #[arg(long, default_value = "device-0001")]
    pub(crate) endpoint: String,
}

/// The objects and instances the simulated device registers (LwM2M 1.1 Core §6.2.1).
const OBJECTS: &str =
    "</>;rt=\"oma.lwm2m\";ct=11543,</1/0>,</3/0>,</4/0>,</5/0>,</6>,</19/0>,</19/1>,</21/0>";

/// The Register request (LwM2M Transport 1.1 §6.4.1: POST /rd with ep, lt, lwm2m and b).
pub(crate) fn registration(endpoint: &str, message_id: u16, token: [u8; 4]) -> OwnedMessage {
    OwnedMessage::new(MessageType::Con, Code::POST, message_id)
        .with_token(token)
        .with_option(OptionNumber::URI_PATH, "rd")
        .with_content_format(ContentFormat::LINK_FORMAT)
        .with_option(OptionNumber::URI_QUERY, format!("ep={endpoint}"))
        .with_option(OptionNumber::URI_QUERY, "lt=86400")
        .with_option(OptionNumber::URI_QUERY, "lwm2m=1.1")
        .with_option(OptionNumber::URI_QUERY, "b=U")
        .with_payload(OBJECTS)
}

/// Runs `mote demo`.
pub(crate) fn run(args: &DemoArgs) -> Result<()> {
    println!(
        "Mote demo: an LwM2M Server manages device {:?} end to end, through proxies, on loopback.",
        args.endpoint
    );
    register(&args.endpoint)?;
    let dir = ScratchDir::new()?;
    let (server_ctx, device_ctx) = edhoc_to_oscore(dir.path())?;
    let (server_edhoc, device_edhoc) = edhoc_files(dir.path())?;
    let mut processes = Processes::default();
    let exe = std::env::current_exe().context("locating the mote binary")?;
    let device_port = processes.spawn(
        &exe,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--oscore",
            path_str(&device_ctx)?,
            "--edhoc",
            path_str(&device_edhoc)?,
            "--fresh-echo",
            "--print-port",
        ],
    )?;
    let device: SocketAddr = ([127, 0, 0, 1], device_port).into();
    let to = device.to_string();
    let proxy_port = processes.spawn(
        &exe,
        &[
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--to",
            &to,
            "--print-port",
        ],
    )?;
    let tamper_port = processes.spawn(
        &exe,
        &[
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--to",
            &to,
            "--tamper",
            "--print-port",
        ],
    )?;
    section("3. The device and two OSCORE-unaware proxies, as separate processes");
    println!(
        "  device   `mote serve` on udp/{device_port}: LwM2M objects /1 /3 /5 /19 behind OSCORE, Echo demanded for PUT/POST/DELETE, EDHOC at /.well-known/edhoc"
    );
    println!(
        "  proxy    `mote proxy` on udp/{proxy_port}: forwards, new Message IDs and Tokens, sees only ciphertext"
    );
    println!(
        "  attacker `mote proxy --tamper` on udp/{tamper_port}: flips one byte of every request"
    );

    operations(&server_ctx, ([127, 0, 0, 1], proxy_port).into())?;
    edhoc_over_coap(&server_edhoc, ([127, 0, 0, 1], proxy_port).into())?;
    attacks(&server_ctx, ([127, 0, 0, 1], tamper_port).into(), device)?;
    access_control()?;
    section("Done");
    println!(
        "  every step above ran over real sockets; `scripts/test.sh` runs the same checks against"
    );
    println!("  libcoap, aiocoap, lakers, pycose and cbor2 (docs/interop.md).");
    Ok(())
}

fn section(title: &str) {
    println!();
    println!("== {title}");
}

/// Step 1: the Register request through the codec (what the LwM2M Server receives).
fn register(endpoint: &str) -> Result<()> {
    section("1. Register (LwM2M 1.1 Transport §6.4.1): the device's request, encoded and decoded");
    let request = registration(endpoint, 0x1f2e, [0x5a, 0x17, 0xc0, 0x01]);
    let bytes = request.to_vec().context("encoding the Register request")?;
    ensure!(
        bytes.len() == request.encoded_len(),
        "encoded_len() disagrees with the encoder"
    );
    println!("  {} bytes: {}", bytes.len(), hex::encode(&bytes));
    let decoded = Message::decode(&bytes).context("decoding our own Register request")?;
    decoded
        .check_options()
        .context("option check (RFC 7252 §5.4)")?;
    ensure!(
        decoded.to_owned() == request,
        "decode(encode(request)) differs from the request"
    );
    for line in crate::commands::decode::coap::render_message(&decoded, false)?.lines() {
        println!("  {line}");
    }
    let links = LinkFormat::parse_bytes(decoded.payload()).context("registration payload")?;
    let targets: Vec<String> = links.links().map(|l| format!("<{}>", l.target())).collect();
    println!("  registered objects (RFC 6690): {}", targets.join(" "));
    Ok(())
}

/// RFC 9529 Trace 2 credentials (CCS, P-256, identified by 'kid'): test keys, published.
const CRED_I: &str = "a2027734322d35302d33312d46462d45462d33372d33322d333908a101a5010202412b2001215820ac75e9ece3e50bfc8ed60399889522405c47bf16df96660a41298cb4307f7eb62258206e5de611388a4b8a8211334ac7d37ecb52a387d257e6db3c2a93df21ff3affc8";
const CRED_R: &str = "a2026b6578616d706c652e65647508a101a501020241322001215820bbc34960526ea4d32e940cad2a234148ddc21791a12afbcbac93622046dd44f02258204519e257236b2a0ce2023f0931f1f386ca7afda64fcde0108c224c51eabf6072";
const SK_I: &str = "fb13adeb6518cee5f88417660841142e830a81fe334380a953406a1305e8706b";
const SK_R: &str = "72cc4761dbd4c78f758931aa589d348d1ef874a7e303ede2f140dcf3e6aa4aac";

/// Step 2: EDHOC between the LwM2M Server (Initiator) and the device (Responder), fresh
/// ephemeral keys from the OS; the result becomes an OSCORE context file for each side.
fn edhoc_to_oscore(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    use mote_edhoc::{
        ConnId, Credential, Ead, Identity, Initiator, InitiatorConfig, KnownCredentials, Method,
        MoteCrypto, Responder, ResponderConfig,
    };
    section(
        "2. EDHOC (RFC 9528): method 3 (static DH both sides), cipher suite 2, fresh ephemeral keys",
    );
    let edhoc = |e: mote_edhoc::Error| anyhow!("EDHOC: {e}");
    fn rejected<S>(r: mote_edhoc::Rejected<S>) -> anyhow::Error {
        anyhow!("EDHOC: {}", r.error)
    }
    let cred_i = Credential::ccs(&hex::decode(CRED_I)?).map_err(edhoc)?;
    let cred_r = Credential::ccs(&hex::decode(CRED_R)?).map_err(edhoc)?;
    let sk_i = hex::decode(SK_I)?;
    let sk_r = hex::decode(SK_R)?;
    let initiator = Initiator::new(
        MoteCrypto::new(),
        InitiatorConfig::new(
            Method::StaticStatic,
            2,
            Identity::by_reference(cred_i.clone(), &sk_i).map_err(edhoc)?,
        ),
    );
    let responder = Responder::new(
        MoteCrypto::new(),
        ResponderConfig::new(
            2,
            Identity::by_reference(cred_r.clone(), &sk_r).map_err(edhoc)?,
        ),
    );
    let (initiator, m1) = initiator
        .prepare_message_1(ConnId::from_int(-24).map_err(edhoc)?, &Ead::new())
        .map_err(edhoc)?;
    let responder = responder
        .process_message_1(m1.as_slice())
        .map_err(rejected)?;
    let (responder, m2) = responder
        .prepare_message_2(ConnId::from_int(-8).map_err(edhoc)?, &Ead::new())
        .map_err(edhoc)?;
    let initiator = initiator.parse_message_2(m2.as_slice()).map_err(rejected)?;
    ensure!(
        cred_r.matches(initiator.id_cred_r()),
        "the device presented an unknown credential"
    );
    let initiator = initiator.verify_message_2(&cred_r).map_err(rejected)?;
    let (initiator, m3) = initiator.prepare_message_3(&Ead::new()).map_err(edhoc)?;
    let responder = responder.parse_message_3(m3.as_slice()).map_err(rejected)?;
    let responder = responder
        .verify_message_3_with(&mut KnownCredentials(&[cred_i]))
        .map_err(rejected)?;
    let (mut device_session, m4) = responder.prepare_message_4(&Ead::new()).map_err(edhoc)?;
    let (mut server_session, _) = initiator
        .process_message_4(m4.as_slice())
        .map_err(rejected)?;
    println!(
        "  message_1 {} B, message_2 {} B, message_3 {} B, message_4 {} B: both sides authenticated",
        m1.len(),
        m2.len(),
        m3.len(),
        m4.len()
    );
    let server = server_session.oscore_parameters().map_err(edhoc)?;
    let device = device_session.oscore_parameters().map_err(edhoc)?;
    ensure!(
        server.master_secret.as_bytes() == device.master_secret.as_bytes(),
        "the two sides derived different OSCORE Master Secrets"
    );
    println!(
        "  OSCORE (Appendix A.1): Master Secret {} B, Master Salt {}, server Sender ID {} / device Sender ID {}",
        server.master_secret.as_bytes().len(),
        hex::encode(server.master_salt.as_slice()),
        hex::encode(server.sender_id.as_bytes()),
        hex::encode(device.sender_id.as_bytes())
    );
    let write = |name: &str, p: &mote_edhoc::OscoreParameters| -> Result<PathBuf> {
        let aead = p.aead.cose_id();
        let file = serde_json::json!({
            "master_secret": hex::encode(p.master_secret.as_bytes()),
            "master_salt": hex::encode(p.master_salt.as_slice()),
            "sender_id": hex::encode(p.sender_id.as_bytes()),
            "recipient_id": hex::encode(p.recipient_id.as_bytes()),
            "aead": aead,
            "hkdf": "SHA-256",
        });
        let path = dir.join(name);
        crate::context_file::write_private(&path, file.to_string().as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    };
    Ok((
        write("server.json", &server)?,
        write("device.json", &device)?,
    ))
}

/// A GET, PUT… of `path` (the endpoint sets type, Message ID and token).
fn request(code: Code, path: &[&str]) -> OwnedMessage {
    let mut m = OwnedMessage::new(MessageType::Con, code, 0);
    for seg in path {
        m.options.push(OptionNumber::URI_PATH, seg.as_bytes());
    }
    m
}

/// How long the demo waits for any one response.
const WAIT: Duration = Duration::from_secs(5);

/// Step 4: LwM2M operations from the server through the honest proxy.
fn operations(server_ctx: &Path, proxy: SocketAddr) -> Result<()> {
    use crate::commands::coap::{oscore_client, send};
    use mote_lwm2m::Format;

    section("4. LwM2M operations, OSCORE-protected end to end through the proxy");
    let (mut client, ctx) = oscore_client(Listen::Udp(proxy), server_ctx, WAIT)?;

    // Read /3/0 in SenML-CBOR (LwM2M Core §6.3.1 Read, content format 112).
    let read = request(Code::GET, &["3", "0"]).with_uint_option(OptionNumber::ACCEPT, 112);
    let response = send(&mut client, Some(ctx), read, 1024)?;
    ensure!(
        response.code == Code::CONTENT,
        "Read /3/0: {}",
        response.code
    );
    let records =
        crate::commands::lwm2m::decode_records(Format::SenmlCbor, &response.payload, false)?;
    println!(
        "  Read /3/0 -> {:?}, {} B of SenML-CBOR, decrypted and verified (E2E-1, -2, -4, -5):",
        response.code,
        response.payload.len()
    );
    for line in records.lines().take(6) {
        println!("    {line}");
    }
    println!("    … ({} records)", records.lines().count());

    // Write /3/0/13 (Current Time): the device demands a fresh Echo first (RFC 9175); the
    // client's endpoint answers that challenge by sending the request again with the Echo.
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let write = request(Code::PUT, &["3", "0", "13"])
        .with_uint_option(OptionNumber::CONTENT_FORMAT, 0)
        .with_payload(time.to_string());
    let retries = client.endpoint().stats().echo_retries;
    let response = send(&mut client, Some(ctx), write, 1024)?;
    let echoed = client.endpoint().stats().echo_retries - retries;
    if echoed != 1 {
        bail!(
            "the device accepted an actuation after {echoed} Echo round trips: {}",
            response.code
        );
    }
    println!(
        "  Write /3/0/13 -> {:?} with Echo (the device wants proof of freshness, E2E-6)",
        Code::UNAUTHORIZED
    );
    ensure!(
        response.code == Code::CHANGED,
        "Write /3/0/13: {}",
        response.code
    );
    println!(
        "  Write /3/0/13 again, with the Echo -> {:?}",
        response.code
    );

    // Block-wise download of a 4 KiB resource: every block is its own OSCORE message
    // (inner Block2, RFC 8613 §4.1.3.4.1), verified on arrival (E2E-13).
    let get = request(Code::GET, &["19", "0", "0", "0"]).with_uint_option(OptionNumber::ACCEPT, 42);
    let response = send(&mut client, Some(ctx), get, 256)?;
    ensure!(
        response.code == Code::CONTENT,
        "Read /19/0/0/0: {}",
        response.code
    );
    println!(
        "  Read /19/0/0/0 -> {} B in {} blocks of 256 B, each decrypted and verified on arrival (E2E-13)",
        response.payload.len(),
        response.payload.len().div_ceil(256)
    );
    Ok(())
}

/// EDHOC credential files (docs/edhoc-credentials.md) for the networked handshake of step 4b:
/// the same Trace 2 identities, each side knowing the other's credential.
fn edhoc_files(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let write = |name: &str, cred: &str, key: &str, peer: &str| -> Result<PathBuf> {
        let file = serde_json::json!({
            "methods": [3],
            "suites": [2],
            "credential": {"ccs": cred},
            "private_key": key,
            "peers": [{"ccs": peer}],
        });
        let path = dir.join(name);
        crate::context_file::write_private(&path, file.to_string().as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    };
    Ok((
        write("server-edhoc.json", CRED_I, SK_I, CRED_R)?,
        write("device-edhoc.json", CRED_R, SK_R, CRED_I)?,
    ))
}

/// Step 4b: a new session keyed over the network, through the same proxy: EDHOC over CoAP
/// (RFC 9528 Appendix A.2), message_3 inside the first OSCORE request (RFC 9668).
fn edhoc_over_coap(credentials: &Path, proxy: SocketAddr) -> Result<()> {
    use crate::commands::coap::{edhoc_client, send};

    section("4b. New keys over the network: EDHOC over CoAP through the proxy");
    let text = std::fs::read_to_string(credentials)
        .with_context(|| format!("reading {}", credentials.display()))?;
    let setup = crate::commands::edhoc::load_credential_file(&text)?;
    let (mut client, ctx) = edhoc_client(Listen::Udp(proxy), &setup, WAIT)?;
    println!("  POST /.well-known/edhoc: message_1 -> message_2; the server's credential verified");
    let response = send(
        &mut client,
        Some(ctx),
        request(Code::GET, &["3", "0", "0"]),
        1024,
    )?;
    ensure!(
        response.code == Code::CONTENT,
        "Read /3/0/0 with EDHOC keys: {}",
        response.code
    );
    println!(
        "  Read /3/0/0 carrying message_3 (EDHOC + OSCORE request) -> {:?} {:?}, under the new context (E2E-4)",
        response.code,
        String::from_utf8_lossy(&response.payload)
    );
    Ok(())
}

/// Step 5: the tampering proxy, what a proxy sees, and a replayed request.
fn attacks(server_ctx: &Path, tamper: SocketAddr, device: SocketAddr) -> Result<()> {
    use crate::commands::coap::{oscore_client, send};
    use mote_oscore::Framing;

    section("5. Attacks on the path");
    let (mut client, ctx) = oscore_client(Listen::Udp(tamper), server_ctx, WAIT)?;
    match send(
        &mut client,
        Some(ctx),
        request(Code::GET, &["3", "0"]),
        1024,
    ) {
        Ok(response) => bail!("a tampered request was answered with {}", response.code),
        Err(e) => println!("  through the tampering proxy: {e:#} (E2E-1)"),
    }
    let mut read = request(Code::GET, &["3", "0"]);

    // A replay: the first request the server ever sent (Partial IV 0), sent again straight to
    // the device by someone who recorded it.
    let inputs = crate::commands::oscore::ContextInputs::load(server_ctx)?;
    let mut recorded = inputs.context()?;
    read.message_id = 0x7a11;
    read.token = vec![0x0b, 0xad];
    let plain = read.to_vec()?;
    let mut wire = vec![0u8; plain.len() + 64];
    let (n, _) = recorded.protect_request(Framing::Udp, &plain, &mut wire)?;
    wire.truncate(n);
    let outer = Message::decode(&wire).context("decoding the protected request")?;
    println!(
        "  what every proxy sees of a protected Read /3/0 (no path, no method, ciphertext only):"
    );
    for line in crate::commands::decode::coap::render_message(&outer, false)?.lines() {
        println!("    {line}");
    }
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.set_read_timeout(Some(Duration::from_secs(5)))?;
    sock.send_to(&wire, device)?;
    let mut buf = [0u8; 1500];
    let (len, _) = sock
        .recv_from(&mut buf)
        .context("no answer to the replayed request")?;
    let answer = Message::decode(&buf[..len]).context("decoding the device's answer")?;
    ensure!(
        answer.code() == Code::UNAUTHORIZED,
        "a replayed request got {}",
        answer.code()
    );
    println!(
        "  the recorded request replayed to the device -> {:?} {:?} (E2E-3)",
        answer.code(),
        String::from_utf8_lossy(answer.payload())
    );
    Ok(())
}

/// Step 6: what a second server may do, decided by the device's Access Control objects.
fn access_control() -> Result<()> {
    use mote_access::{Operation, Requester, ShortServerId, Target};

    section("6. Access control on the device (Access Control Object /2, LwM2M Core §7.3)");
    // Server 101 owns /3/0; server 102 may only read it and create /5 instances.
    let state = r#"{"servers":[101,102],
        "instances":["/3/0","/5/0"],
        "acl":[{"object":3,"instance":0,"acl":{"102":1},"owner":101},
               {"object":5,"instance":65535,"acl":{"102":16},"owner":65535}]}"#;
    let ac = crate::commands::access::load_state(state)?;
    let defs = crate::commands::access::load_objects(None)?;
    let cases = [
        (101, Operation::Execute, "/3/0/4"),
        (102, Operation::Read, "/3/0"),
        (102, Operation::Execute, "/3/0/4"),
        (102, Operation::Write, "/3/0/13"),
        (102, Operation::Read, "/0/0"),
    ];
    for (ssid, op, path) in cases {
        let target: Target = path.parse().map_err(|e| anyhow!("{path}: {e}"))?;
        let (allowed, code, reason) = crate::commands::access::decide(
            &ac,
            &defs,
            Requester::Server(ShortServerId(ssid)),
            op,
            &[target],
        )?;
        let verdict = if allowed {
            "allowed".to_string()
        } else {
            format!("denied {}", code.unwrap_or("?"))
        };
        println!("  server {ssid} {op} {path}: {verdict} ({reason})");
    }
    Ok(())
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .ok_or_else(|| anyhow!("{} is not UTF-8", p.display()))
}

/// Child processes, killed when the demo ends (also on error).
#[derive(Default)]
struct Processes(Vec<Child>);

impl Processes {
    /// Starts `exe args…` and reads the port it prints on its first line.
    fn spawn(&mut self, exe: &Path, args: &[&str]) -> Result<u16> {
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting mote {}", args.join(" ")))?;
        let stdout = child.stdout.take();
        self.0.push(child);
        let mut line = String::new();
        BufReader::new(stdout.ok_or_else(|| anyhow!("no stdout"))?)
            .read_line(&mut line)
            .context("reading the port")?;
        line.trim()
            .parse()
            .with_context(|| format!("mote {} printed {line:?}, not a port", args.join(" ")))
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A private directory for the context and sequence-number files, removed at the end.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("mote-demo-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self(dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
