//! `mote lwm2m-client --endpoint NAME (--server URI [--ssid N] | --bootstrap URI [--bootstrap-pack])
//! [--oscore FILE] [--edhoc FILE] [--fresh-echo] [--state DIR] [--objects DIR] [--lifetime S]
//! [--lwm2m-version 1.0|1.1|1.2] [--print-port] [--json]`: an LwM2M Client (the contract is in
//! `docs/cli.md`).
//!
//! Every protocol decision is `mote_lwm2m_client::Engine`'s; this module builds the objects
//! ([`objects`]), the factory configuration from the arguments, the driver and its protection
//! layer, forwards the endpoint's events to the engine, reads the control commands from stdin
//! and prints the engine's events.

mod objects;

use std::collections::BTreeMap;
use std::io::{BufRead as _, Write as _};
use std::net::ToSocketAddrs as _;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use mote_coap::endpoint::{EchoPolicy, EchoRequirement, EndpointConfig, Event, Protection};
use mote_lwm2m::object::ObjectDefs as _;
use mote_lwm2m::{Format, ObjectLink, Path, Record, Value};
use mote_lwm2m_client::registration::{Registrar, RegistrationConfig, Resumed};
use mote_lwm2m_client::reporting::{Reporter, ReportingConfig, endpoint_config};
use mote_lwm2m_client::{
    AccountIdentity, Client, ClientEvent, Engine, EngineConfig, FirmwareUpdate, OscoreAccount,
    Requester, State,
};
use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};
use serde_json::json;

use crate::context_file::{FileSequenceStore, persistent_context, write_private};
use crate::net::{Application, Driver, DriverConfig, Flow, Io, Listen, OsRandom, Remote, runtime};

use self::objects::{FileStorage, FirmwareImage};

/// `mote lwm2m-client …`
#[derive(Debug, Args)]
pub(crate) struct Lwm2mClientArgs {
    /// The Endpoint Client Name (`ep`).
    #[arg(long, value_name = "NAME")]
    endpoint: String,
    /// The LwM2M Server: `coap://HOST:PORT` or `coap+tcp://HOST:PORT`.
    #[arg(
        long,
        value_name = "URI",
        required_unless_present = "bootstrap",
        conflicts_with = "bootstrap"
    )]
    server: Option<String>,
    /// The Short Server ID of the --server account.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "server", value_parser = clap::value_parser!(u16).range(1..65535))]
    ssid: u16,
    /// The LwM2M Bootstrap-Server (`coap://HOST:PORT`): the client bootstraps from it.
    #[arg(long, value_name = "URI")]
    bootstrap: Option<String>,
    /// Bootstrap with a Bootstrap-Pack-Request (`GET /bspack?ep=NAME`, the whole
    /// configuration in one SenML-CBOR response, no Bootstrap-Finish); an error answer or an
    /// inconsistent pack falls back to the Bootstrap-Request.
    #[arg(long, requires = "bootstrap")]
    bootstrap_pack: bool,
    /// An OSCORE context file (docs/cli.md, "The OSCORE context file") for the configured
    /// account: provisioned as its /21 instance and used for every message to and from it.
    #[arg(long, value_name = "FILE")]
    oscore: Option<PathBuf>,
    /// EDHOC credential file (docs/edhoc-credentials.md): with --server, run EDHOC (RFC 9528,
    /// Initiator) with the server's /.well-known/edhoc before registering and use the
    /// derived OSCORE context for the account; enables the `rekey SSID` command. Needs
    /// --state DIR (the derived context and its sequence number persist there).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "oscore",
        requires = "state"
    )]
    edhoc: Option<PathBuf>,
    /// Demand a fresh Echo (RFC 9175 §2.3) on every unsafe request (Write, Execute, Create,
    /// Delete) from a server: the first is answered 4.01 with an Echo option.
    #[arg(long)]
    fresh_echo: bool,
    /// Print the local port of the client's socket as the first line of stdout.
    #[arg(long)]
    print_port: bool,
    /// Keep the configuration (what a bootstrap wrote) in this directory across restarts.
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// DDF XML object definitions to add to the built-in ones.
    #[arg(long, value_name = "DIR")]
    objects: Option<PathBuf>,
    /// The registration lifetime (/1/x/1), seconds.
    #[arg(long, value_name = "S", default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..))]
    lifetime: u32,
    /// The LwM2M version announced at registration.
    #[arg(long, value_name = "V", default_value = "1.1", value_parser = ["1.0", "1.1", "1.2"])]
    lwm2m_version: String,
    /// Print one JSON object per line for each event.
    #[arg(long)]
    json: bool,
}

/// How often stdin's commands are looked at while nothing else happens.
const STDIN_POLL: Duration = Duration::from_millis(20);

/// The registrations kept in `--state DIR` (TS 1.2 Core §6.2.1: valid until the lifetime
/// runs out, so a restart within it sends an Update instead of a Register).
const REGISTRATIONS_FILE: &str = "registrations.json";

/// How long `quit` waits for the De-register answers.
const QUIT_WAIT: Duration = Duration::from_secs(10);

/// The OSCORE instance (/21/0) of the configured account.
const OSCORE_INSTANCE: u16 = 0;

type Oscore = OscoreProtection<FileSequenceStore, OsRandom>;

/// OSCORE contexts the client holds (the --oscore one and those a bootstrap provisions).
const MAX_CONTEXTS: usize = 8;

/// How long an Echo value of `--fresh-echo` stays fresh (RFC 9175 §2.3).
const ECHO_WINDOW: Duration = Duration::from_secs(10);

/// Runs `mote lwm2m-client`.
pub(crate) fn run(args: &Lwm2mClientArgs) -> Result<()> {
    let uri = args
        .server
        .as_deref()
        .or(args.bootstrap.as_deref())
        .ok_or_else(|| anyhow!("--server or --bootstrap is required"))?;
    let target = parse_uri(uri)?;
    let mut client = objects::client(&args.endpoint, args.objects.as_deref())?;
    let context = args
        .oscore
        .as_deref()
        .map(|p| persistent_context(p, false))
        .transpose()?;
    factory_configuration(&mut client, args, uri, context.as_ref())?;
    let registration = RegistrationConfig {
        endpoint: args.endpoint.clone(),
        lwm2m_version: args.lwm2m_version.clone(),
        bootstrap_pack: args.bootstrap_pack,
        ..RegistrationConfig::default()
    };
    let runtime = runtime()?;
    // Always an OSCORE layer: a bootstrap may provision contexts (/21) at run time; requests
    // without the OSCORE option pass through it unprotected (NoSec accounts).
    let mut oscore = Oscore::new(
        OscoreConfig {
            max_contexts: MAX_CONTEXTS,
        },
        OsRandom,
    );
    let factory = context.is_some();
    if let (Some(context), Some(path)) = (context, args.oscore.as_deref()) {
        // LwM2M TS 1.2 Transport (OSCORE): Appendix B.2 of RFC 8613 on first use of a context.
        let b2 = crate::context_file::appendix_b2(path, true)?;
        crate::context_file::add_context(&mut oscore, context, b2)
            .map_err(|e| anyhow!("OSCORE context: {e:?}"))?;
    }
    runtime.block_on(drive(args, client, registration, target, oscore, factory))
}

/// `coap://HOST:PORT` / `coap+tcp://HOST:PORT` (nothing else: the client has no DTLS).
fn parse_uri(uri: &str) -> Result<Listen> {
    if !(uri.starts_with("coap://") || uri.starts_with("coap+tcp://")) {
        bail!("{uri}: only coap:// and coap+tcp:// URIs are supported");
    }
    crate::net::parse_listen(uri).map_err(|e| anyhow!(e))
}

fn rec(path: &str, value: Value) -> Result<Record> {
    let path: Path = path.parse().map_err(|_| anyhow!("invalid path {path}"))?;
    Ok(Record::new(path, value))
}

/// The factory configuration: /0/0 (and /1/0 for --server, /21/0 with --oscore), written as
/// a bootstrap would.
fn factory_configuration(
    client: &mut Client,
    args: &Lwm2mClientArgs,
    uri: &str,
    context: Option<&mote_oscore::SecurityContext<FileSequenceStore>>,
) -> Result<()> {
    let bootstrap = args.server.is_none();
    let mut security = vec![
        rec("/0/0/0", Value::String(uri.to_string()))?,
        rec("/0/0/1", Value::Boolean(bootstrap))?,
        // Security Mode 3, NoSec: OSCORE is the /0/x/17 link (TS 1.2 Transport §5.5).
        rec("/0/0/2", Value::Integer(3))?,
    ];
    if !bootstrap {
        security.push(rec("/0/0/10", Value::Integer(i64::from(args.ssid)))?);
    }
    if let Some(ctx) = context {
        security.push(rec(
            "/0/0/17",
            Value::Objlnk(ObjectLink::new(21, OSCORE_INSTANCE)),
        )?);
        let mut oscore = vec![
            rec("/21/0/1", Value::Opaque(ctx.sender_id().to_vec()))?,
            rec("/21/0/2", Value::Opaque(ctx.recipient_id().to_vec()))?,
        ];
        if let Some(id) = ctx.id_context() {
            oscore.push(rec("/21/0/6", Value::Opaque(id.to_vec()))?);
        }
        write(client, "/21/0", &oscore)?;
    }
    write(client, "/0/0", &security)?;
    if !bootstrap {
        let binding = if uri.starts_with("coap+tcp://") {
            "T"
        } else {
            "U"
        };
        write(
            client,
            "/1/0",
            &[
                rec("/1/0/0", Value::Integer(i64::from(args.ssid)))?,
                rec("/1/0/1", Value::Integer(i64::from(args.lifetime)))?,
                rec("/1/0/6", Value::Boolean(false))?,
                rec("/1/0/7", Value::String(binding.into()))?,
            ],
        )?;
    }
    Ok(())
}

fn write(client: &mut Client, base: &str, records: &[Record]) -> Result<()> {
    let base: Path = base.parse().map_err(|_| anyhow!("invalid path {base}"))?;
    client.bootstrap_write(&base, records)?;
    Ok(())
}

/// Connects to the configured server, builds the engine and runs the driver until `quit`.
async fn drive(
    args: &Lwm2mClientArgs,
    client: Client,
    registration: RegistrationConfig,
    target: Listen,
    protection: Oscore,
    factory_context: bool,
) -> Result<()> {
    let mut config = endpoint_config(EndpointConfig::default());
    if args.fresh_echo {
        // RFC 9175 §2.3/§2.4: Write, Execute, Create and Delete from a server prove they are
        // fresh; the server's endpoint repeats the request with the Echo value.
        config.echo = Some(EchoPolicy {
            window: ECHO_WINDOW,
            require: EchoRequirement::UnsafeMethods,
        });
    }
    let mut driver = Driver::with_protection(DriverConfig::default(), config, protection)?;
    let first = driver.connect(target).await?;
    if args.print_port {
        let port = driver.local_addr(first).map(|a| a.port()).unwrap_or(0);
        println!("{port}");
    }
    let uri = args
        .server
        .clone()
        .or_else(|| args.bootstrap.clone())
        .unwrap_or_default();
    // URIs known now map to the connection made for them; others (written by a bootstrap)
    // are UDP peers reached through the same socket.
    let mut known = BTreeMap::new();
    known.insert(uri, first);
    let udp_socket = match first {
        Remote::Udp { socket, .. } => Some(socket),
        Remote::Tcp { .. } => None,
    };
    let resolver = move |uri: &str| -> Option<Remote> {
        if let Some(r) = known.get(uri) {
            return Some(*r);
        }
        let rest = uri.strip_prefix("coap://")?.trim_end_matches('/');
        let addr = rest.to_socket_addrs().ok()?.next()?;
        Some(Remote::Udp {
            socket: udp_socket?,
            addr,
        })
    };
    let reporter = Reporter::new(ReportingConfig {
        send_format: Format::SenmlJson,
        ..ReportingConfig::default()
    });
    let mut engine = Engine::new(
        client,
        Registrar::new(registration),
        reporter,
        resolver,
        EngineConfig::default(),
    );
    if let Some(dir) = &args.state {
        engine
            .with_storage(FileStorage::new(dir)?)
            .map_err(|e| anyhow!("{}: {e}", dir.display()))?;
    }
    // The contexts of the OSCORE accounts a bootstrap wrote are installed when the engine
    // asks for them (ClientEvent::OscoreContextNeeded).
    engine.provision_contexts(true);
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let resumed = match &args.state {
        Some(dir) => load_registrations(&FileStorage::new(dir)?)?,
        None => Vec::new(),
    };
    let edhoc = match &args.edhoc {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Some(std::rc::Rc::new(
                crate::commands::edhoc::load_credential_file(&text)?,
            ))
        }
        None => None,
    };
    // --edhoc with --server: the account gets its key from EDHOC before it registers,
    // unless `--state DIR` kept the context of an earlier run.
    let first_key =
        (edhoc.is_some() && args.server.is_some() && engine.oscore_accounts().is_empty())
            .then_some(mote_access::ShortServerId(args.ssid));
    let mut app = ClientApp {
        edhoc,
        first_key,
        contexts: BTreeMap::new(),
        resumed,
        engine,
        lines,
        json: args.json,
        now: driver.now(),
        quit_by: None,
        state: args.state.clone(),
        factory_context,
        engine_ran_at: None,
    };
    driver.run(&mut app).await?;
    Ok(())
}

/// The driver's application: forwards to the engine.
struct ClientApp {
    engine: Engine<Remote>,
    lines: mpsc::Receiver<String>,
    json: bool,
    now: Duration,
    /// `quit` was asked: stop when the De-registers are answered, at the latest then.
    quit_by: Option<Duration>,
    /// `--state DIR`: where provisioned OSCORE contexts and their sequence numbers live.
    state: Option<PathBuf>,
    /// The --oscore context (the account /0/0) is installed from the start.
    factory_context: bool,
    /// Registrations kept by the previous run, still within their lifetime.
    resumed: Vec<Resumed>,
    /// `--edhoc FILE`: the credentials of the EDHOC Initiator.
    edhoc: Option<std::rc::Rc<crate::commands::edhoc::EdhocSetup>>,
    /// The account to key with EDHOC at the start (`--edhoc` with `--server`).
    first_key: Option<mote_access::ShortServerId>,
    /// The context installed for each /0 instance (replaced by a rekey).
    contexts: BTreeMap<u16, ContextId>,
    /// When the engine's timers last ran: a deadline at or before it is one the engine
    /// left in place, not one to wake for again.
    engine_ran_at: Option<Duration>,
}

/// When the event loop wakes next: the engine's deadline, unless it is one the engine
/// already ran at (`ran_at`) and left due — waking for it again at once would spin — and
/// at the latest after [`STDIN_POLL`] for the control commands.
fn next_wake(engine: Option<Duration>, ran_at: Option<Duration>, now: Duration) -> Duration {
    let stdin = now + STDIN_POLL;
    match engine {
        Some(t) if ran_at.is_none_or(|r| t > r) => t.min(stdin),
        _ => stdin,
    }
}

impl ClientApp {
    /// Installs the contexts the engine asks for, then prints its events.
    fn handle_events(&mut self, io: &mut Io<'_, Oscore>) {
        for _ in 0..MAX_CONTEXTS {
            let mut asked = Vec::new();
            self.print_events_with(|e| match e {
                ClientEvent::OscoreContextNeeded { account } => {
                    asked.push(account.clone());
                    true
                }
                _ => false,
            });
            if asked.is_empty() {
                break;
            }
            for account in asked {
                match self.install(io, &account) {
                    Ok(()) => {
                        self.engine
                            .context_installed(io.endpoint, account.security, io.now);
                    }
                    Err(e) => {
                        self.error(&format!("OSCORE context of /0/{}: {e:#}", account.security))
                    }
                }
            }
        }
    }

    /// Derives the context of a provisioned account (RFC 8613 §3.2) from a context file in
    /// the state directory, whose sequence file keeps the Sender Sequence Number across
    /// restarts (Appendix B.1.1), and adds it to the protection layer.
    fn install(&mut self, io: &mut Io<'_, Oscore>, account: &OscoreAccount) -> Result<()> {
        let dir = self.state.as_deref().ok_or_else(|| {
            anyhow!("an OSCORE context from a bootstrap needs --state DIR (its sequence number must persist)")
        })?;
        let file = dir.join(format!("oscore-{}.json", account.security));
        // A provisioned /21 context is an RFC 8613 Appendix B.2 root (LwM2M TS 1.2 Transport,
        // OSCORE); one an EDHOC handshake derived has fresh keys and is used as is, which its
        // file records ("appendix_b2": false) for the next start.
        let rekeyed = self.engine.rekeyed(account.security);
        let mut wanted = context_json(account);
        if rekeyed {
            wanted["appendix_b2"] = json!(false);
        }
        let same = std::fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .map(|mut v| {
                if let Some(o) = v.as_object_mut() {
                    o.remove("used");
                    if !rekeyed {
                        o.remove("appendix_b2");
                    }
                }
                v == wanted
            })
            .unwrap_or(false);
        if !same {
            // A new context (or new inputs): it starts at sequence number 0.
            let _ = std::fs::remove_file(file.with_extension("seq"));
            let mut bytes = serde_json::to_vec_pretty(&wanted)?;
            bytes.push(b'\n');
            write_private(&file, &bytes)
                .with_context(|| format!("cannot write {}", file.display()))?;
        }
        let context = persistent_context(&file, false)?;
        let id = ContextId::of(&context);
        let protection = io.endpoint.protection_mut();
        // A context with the same name (an earlier bootstrap's) is replaced, and so is the
        // account's previous one (a rekey).
        protection.remove_context(&id);
        if let Some(old) = self.contexts.remove(&account.security) {
            protection.remove_context(&old);
        }
        let b2 = crate::context_file::appendix_b2(&file, !rekeyed)?;
        crate::context_file::add_context(protection, context, b2).map_err(|e| anyhow!("{e:?}"))?;
        self.contexts.insert(account.security, id);
        Ok(())
    }

    /// Starts an EDHOC handshake with the server of account `ssid` (`--edhoc`).
    fn rekey<X>(&mut self, io: &mut Io<'_, X>, ssid: mote_access::ShortServerId)
    where
        X: Protection<Remote>,
        X::Identity: AccountIdentity,
    {
        let Some(setup) = self.edhoc.clone() else {
            self.error("rekey needs --edhoc FILE");
            return;
        };
        let initiator = match crate::commands::coap::initiator(&setup) {
            Ok(i) => i,
            Err(e) => return self.error(&format!("{e:#}")),
        };
        let lookup = move |id: &mote_edhoc::IdCred| setup.peer_credential(id);
        let handshake = mote_lwm2m_client::edhoc::MoteHandshake::new(initiator, lookup);
        if let Err(e) = self.engine.rekey(io.endpoint, ssid, handshake, io.now) {
            self.error(&e.to_string());
        }
    }

    fn print_events(&mut self) {
        self.print_events_with(|_| false);
    }

    /// Keeps the registrations in `--state DIR` with the wall-clock time each one ends.
    fn store_registrations(&self) {
        let Some(dir) = &self.state else { return };
        let wall = unix_now_secs();
        let entries: Vec<serde_json::Value> = self
            .engine
            .registrations(self.now)
            .into_iter()
            .map(|r| {
                json!({"ssid": r.ssid.0, "location": r.location,
                       "expires": wall + r.remaining.as_secs_f64()})
            })
            .collect();
        let result = FileStorage::new(dir)
            .map_err(|e| format!("{e:#}"))
            .and_then(|s| {
                s.replace(
                    REGISTRATIONS_FILE,
                    serde_json::Value::Array(entries).to_string().as_bytes(),
                )
                .map_err(|e| e.to_string())
            });
        if let Err(e) = result {
            self.error(&e);
        }
    }

    /// Prints the engine's events but those `take` keeps.
    fn print_events_with(&mut self, mut take: impl FnMut(&ClientEvent) -> bool) {
        let mut registrations_changed = false;
        let mut out = std::io::stdout().lock();
        while let Some(e) = self.engine.poll_event() {
            registrations_changed |= matches!(
                e,
                ClientEvent::Registered { .. }
                    | ClientEvent::Updated { .. }
                    | ClientEvent::Deregistered { .. }
                    | ClientEvent::RegistrationFailed { .. }
            );
            if take(&e) {
                continue;
            }
            let mut v = event_json(&e);
            // A Write of one resource: its value now, as LwM2M text.
            if let ClientEvent::Write { path, .. } = &e {
                if let Some(text) = resource_text(self.engine.client(), path) {
                    v["value"] = json!(text);
                }
            }
            let line = if self.json {
                v.to_string()
            } else {
                json_text(&v)
            };
            let _ = writeln!(out, "{line}");
        }
        let _ = out.flush();
        drop(out);
        if registrations_changed {
            self.store_registrations();
        }
    }

    /// `set` took effect: the value now, as LwM2M text (what observers are sent).
    fn print_set(&mut self, path: &Path) {
        self.print_events();
        let value = resource_text(self.engine.client(), path);
        let mut out = std::io::stdout().lock();
        let _ = if self.json {
            writeln!(
                out,
                "{}",
                json!({"event": "set", "path": path.to_string(), "value": value})
            )
        } else {
            writeln!(out, "set path={path} value={value:?}")
        };
        let _ = out.flush();
    }

    fn error(&self, reason: &str) {
        let mut out = std::io::stdout().lock();
        let _ = if self.json {
            writeln!(out, "{}", json!({"event": "error", "reason": reason}))
        } else {
            writeln!(out, "error {reason}")
        };
        let _ = out.flush();
    }

    /// Completes a firmware installation that the hook started (the simulated device
    /// installs at once).
    fn finish_firmware(&mut self) {
        if let Some(fw) = self
            .engine
            .client_mut()
            .object_as::<FirmwareUpdate<FirmwareImage>>(5)
        {
            if fw.state() == State::Updating {
                fw.update_finished(true);
            }
        }
    }

    fn command<X>(&mut self, io: &mut Io<'_, X>, line: &str) -> Flow
    where
        X: Protection<Remote>,
        X::Identity: AccountIdentity,
    {
        let mut words = line.split_whitespace();
        let now = io.now;
        match words.next() {
            None => {}
            Some("set") => {
                let (Some(path), Some(_)) = (words.next(), line.split_whitespace().nth(2)) else {
                    self.error("usage: set PATH VALUE");
                    return Flow::Continue(());
                };
                // The value is the rest of the line (it may contain spaces).
                let value = line
                    .trim_start()
                    .strip_prefix("set")
                    .map(str::trim_start)
                    .and_then(|r| r.strip_prefix(path))
                    .map(str::trim)
                    .unwrap_or_default();
                match parse_value(self.engine.client(), path, value) {
                    Ok((path, value)) => {
                        match self.engine.set_value(io.endpoint, &path, value, now) {
                            Ok(()) => self.print_set(&path),
                            Err(e) => self.error(&format!("{path}: {e}")),
                        }
                    }
                    Err(e) => self.error(&format!("{e:#}")),
                }
            }
            Some("send") => {
                let paths: Result<Vec<Path>, _> = words.map(str::parse::<Path>).collect();
                match paths {
                    Ok(p) if !p.is_empty() => {
                        self.engine.send(io.endpoint, &p, now);
                    }
                    _ => self.error("usage: send PATH [PATH…]"),
                }
            }
            Some("update") => self.engine.update(io.endpoint, now),
            Some("rekey") => match words.next().map(str::parse::<u16>) {
                Some(Ok(ssid)) => self.rekey(io, mote_access::ShortServerId(ssid)),
                _ => self.error("usage: rekey SSID"),
            },
            Some("bootstrap") => self.engine.bootstrap(io.endpoint, now),
            Some("quit") => {
                let sent = self.engine.deregister_all(io.endpoint, now);
                self.print_events();
                if sent == 0 {
                    return Flow::Break(());
                }
                self.quit_by = Some(now + QUIT_WAIT);
            }
            Some(other) => self.error(&format!("unknown command {other:?}")),
        }
        Flow::Continue(())
    }

    fn after(&mut self, io: &mut Io<'_, Oscore>) -> Flow {
        self.finish_firmware();
        self.handle_events(io);
        match self.quit_by {
            Some(by) if !self.engine.has_pending() || self.now >= by => Flow::Break(()),
            _ => Flow::Continue(()),
        }
    }
}

impl Application<Oscore> for ClientApp {
    fn start(&mut self, io: &mut Io<'_, Oscore>) -> Flow {
        self.now = io.now;
        if self.factory_context {
            self.engine.context_installed(io.endpoint, 0, io.now);
        }
        if let Some(ssid) = self.first_key.take() {
            // The first Register waits for the handshake.
            self.rekey(io, ssid);
        }
        let resumed = std::mem::take(&mut self.resumed);
        self.engine.start_resumed(io.endpoint, &resumed, io.now);
        self.handle_events(io);
        Flow::Continue(())
    }

    fn event(&mut self, io: &mut Io<'_, Oscore>, event: Event<Remote, ContextId>) -> Flow {
        self.now = io.now;
        self.engine.handle_event(io.endpoint, event, io.now);
        self.after(io)
    }

    fn poll_timeout(&self) -> Option<Duration> {
        Some(next_wake(
            self.engine.poll_timeout(),
            self.engine_ran_at,
            self.now,
        ))
    }

    fn handle_timeout(&mut self, io: &mut Io<'_, Oscore>) -> Flow {
        self.now = io.now;
        if self.engine.poll_timeout().is_some_and(|t| t <= io.now) {
            self.engine.handle_timeout(io.endpoint, io.now);
            self.engine_ran_at = Some(io.now);
        }
        while let Ok(line) = self.lines.try_recv() {
            if self.command(io, &line).is_break() {
                return Flow::Break(());
            }
        }
        self.after(io)
    }
}

fn unix_now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The registrations of `DIR/registrations.json` whose lifetime has not run out.
fn load_registrations(storage: &FileStorage) -> Result<Vec<Resumed>> {
    let Some(bytes) = storage.read(REGISTRATIONS_FILE)? else {
        return Ok(Vec::new());
    };
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&bytes)
        .with_context(|| format!("{REGISTRATIONS_FILE} is not a JSON array"))?;
    let wall = unix_now_secs();
    let mut resumed = Vec::new();
    for e in entries {
        let (Some(ssid), Some(location), Some(expires)) = (
            e["ssid"].as_u64().and_then(|v| u16::try_from(v).ok()),
            e["location"].as_array(),
            e["expires"].as_f64(),
        ) else {
            bail!("{REGISTRATIONS_FILE}: invalid entry {e}");
        };
        let left = expires - wall;
        if !(left.is_finite() && left > 0.0) {
            continue;
        }
        resumed.push(Resumed {
            ssid: mote_access::ShortServerId(ssid),
            location: location
                .iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect(),
            remaining: Duration::try_from_secs_f64(left).unwrap_or(Duration::ZERO),
        });
    }
    Ok(resumed)
}

/// The context file (docs/cli.md, "The OSCORE context file") of a provisioned account.
fn context_json(a: &OscoreAccount) -> serde_json::Value {
    let mut v = json!({
        "master_secret": hex::encode(&a.master_secret),
        "master_salt": hex::encode(&a.master_salt),
        "sender_id": hex::encode(&a.sender_id),
        "recipient_id": hex::encode(&a.recipient_id),
    });
    if let Some(c) = &a.id_context {
        v["id_context"] = json!(hex::encode(c));
    }
    if let Some(aead) = a.aead {
        v["aead"] = json!(aead);
    }
    if let Some(hkdf) = a.hkdf {
        v["hkdf"] = json!(hkdf);
    }
    v
}

/// `set PATH VALUE`: the value in the resource's type (text as in the LwM2M plain-text
/// format; hex for Opaque).
fn parse_value(client: &Client, path: &str, value: &str) -> Result<(Path, Value)> {
    let path: Path = path
        .parse()
        .map_err(|_| anyhow!("invalid LwM2M path {path:?}"))?;
    let (Some(o), Some(r)) = (path.object_id(), path.resource_id()) else {
        bail!("{path}: set needs a resource path /O/I/R");
    };
    let def = client
        .definitions()
        .object(u16::from(o))
        .and_then(|d| d.resource(u16::from(r)))
        .ok_or_else(|| anyhow!("{path}: no such resource"))?;
    if def.kind == mote_lwm2m::ResourceType::Opaque {
        let bytes = hex::decode(value).with_context(|| format!("{path}: opaque values are hex"))?;
        return Ok((path, Value::Opaque(bytes)));
    }
    let records = mote_lwm2m::decode(Format::Text, &path, value.as_bytes(), client.definitions())
        .map_err(|e| anyhow!("{path}: {e}"))?;
    let value = records
        .into_iter()
        .next()
        .map(|r| r.value)
        .ok_or_else(|| anyhow!("{path}: no value"))?;
    Ok((path, value))
}

fn requester_json(r: Requester) -> serde_json::Value {
    match r {
        Requester::Server(s) => json!(s.0),
        Requester::BootstrapServer => json!("bootstrap"),
        Requester::Unauthenticated => json!(null),
    }
}

/// The `--json` line of an event (docs/cli.md).
fn event_json(e: &ClientEvent) -> serde_json::Value {
    match e {
        ClientEvent::Registered {
            ssid,
            server,
            location,
        } => json!({"event": "registered", "server": server, "ssid": ssid.0, "location": location}),
        ClientEvent::Updated { ssid, server } => {
            json!({"event": "updated", "server": server, "ssid": ssid.0})
        }
        ClientEvent::Deregistered { ssid } => json!({"event": "deregistered", "ssid": ssid.0}),
        ClientEvent::RegistrationFailed { ssid } => {
            json!({"event": "error", "ssid": ssid.0, "reason": "registration failed"})
        }
        ClientEvent::BootstrapStarted => json!({"event": "bootstrap-started"}),
        ClientEvent::BootstrapFinished => json!({"event": "bootstrap-finished"}),
        ClientEvent::BootstrapFailed => json!({"event": "error", "reason": "bootstrap failed"}),
        ClientEvent::Write { requester, path } => {
            json!({"event": "write", "path": path.to_string(), "server": requester_json(*requester)})
        }
        ClientEvent::Execute {
            requester,
            path,
            arguments,
        } => json!({"event": "execute", "path": path.to_string(),
                    "server": requester_json(*requester),
                    "arguments": String::from_utf8_lossy(arguments)}),
        ClientEvent::Create { requester, path } => {
            json!({"event": "create", "path": path.to_string(), "server": requester_json(*requester)})
        }
        ClientEvent::Delete { requester, path } => {
            json!({"event": "delete", "path": path.to_string(), "server": requester_json(*requester)})
        }
        ClientEvent::Notify {
            ssid,
            path,
            confirmable,
            stored,
        } => json!({"event": "notify", "ssid": ssid.0, "path": path.to_string(),
                    "confirmable": confirmable, "stored": stored}),
        ClientEvent::Send { ssid, .. } => json!({"event": "send", "ssid": ssid.0}),
        ClientEvent::SendAnswered { code, .. } => {
            json!({"event": "send", "code": code.to_string()})
        }
        ClientEvent::FirmwareDownload { state, result } => {
            json!({"event": "firmware", "state": state.value(), "result": result.value()})
        }
        ClientEvent::FirmwareProgress { bytes, total } => {
            json!({"event": "firmware-progress", "bytes": bytes, "total": total.unwrap_or(*bytes)})
        }
        ClientEvent::Rekeyed { ssid, server } => {
            json!({"event": "rekeyed", "ssid": ssid.0, "server": server})
        }
        ClientEvent::RekeyFailed { ssid, error } => {
            json!({"event": "error", "ssid": ssid.0, "reason": format!("rekey failed: {error}")})
        }
        ClientEvent::EchoChallenge { ssid, path } => {
            json!({"event": "echo-challenge", "ssid": ssid.map(|s| s.0), "path": path})
        }
        ClientEvent::Error { path, code, reason } => {
            let mut v = json!({"event": "error", "reason": reason});
            if let Some(p) = path {
                v["path"] = json!(p.to_string());
            }
            if let Some(c) = code {
                v["code"] = json!(c.to_string());
            }
            v
        }
        other => json!({"event": "error", "reason": format!("{other:?}")}),
    }
}

/// The value of the single resource `path` as LwM2M plain text (hex for Opaque), if it has
/// one.
fn resource_text(client: &Client, path: &Path) -> Option<String> {
    path.resource_id()?;
    match client.value(path)? {
        Value::Opaque(bytes) => Some(hex::encode(bytes)),
        value => {
            let record = Record::new(*path, value);
            let bytes = mote_lwm2m::encode(Format::Text, path, &[record]).ok()?;
            String::from_utf8(bytes).ok()
        }
    }
}

/// The text line of an event's JSON object (without `--json`).
fn json_text(v: &serde_json::Value) -> String {
    let mut line = v["event"].as_str().unwrap_or("event").to_string();
    if let Some(map) = v.as_object() {
        for (k, val) in map {
            if k != "event" {
                line.push_str(&format!(" {k}={val}"));
            }
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn the_loop_wakes_for_a_due_deadline_once_then_polls_stdin() {
        // Not run yet: a due deadline is woken for now.
        assert_eq!(next_wake(Some(ms(1000)), None, ms(1005)), ms(1000));
        assert_eq!(next_wake(Some(ms(1000)), Some(ms(990)), ms(1005)), ms(1000));
        // The engine ran at 1005 and left 1000 (or 1005) due: only the stdin poll.
        assert_eq!(
            next_wake(Some(ms(1000)), Some(ms(1005)), ms(1005)),
            ms(1005) + STDIN_POLL
        );
        assert_eq!(
            next_wake(Some(ms(1005)), Some(ms(1005)), ms(1005)),
            ms(1005) + STDIN_POLL
        );
        // A later deadline: whichever comes first.
        assert_eq!(
            next_wake(Some(ms(1010)), Some(ms(1005)), ms(1005)),
            ms(1010)
        );
        assert_eq!(
            next_wake(Some(ms(9000)), Some(ms(1005)), ms(1005)),
            ms(1005) + STDIN_POLL
        );
        assert_eq!(next_wake(None, None, ms(7)), ms(7) + STDIN_POLL);
    }
}
