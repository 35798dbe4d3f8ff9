//! `mote bootstrap-server --listen URI [--listen URI…] --config FILE [--oscore FILE…] [--json]`:
//! an LwM2M Bootstrap-Server (LwM2M TS 1.2 Core §6.1, Transport §6.4.1) over UDP (RFC 7252) and
//! TCP (RFC 8323). A client's Bootstrap-Request (`POST /bs?ep=NAME[&pct=…]`) for a name in the
//! configuration file is answered 2.04, then the session runs: Bootstrap-Discover and -Read of
//! /1 and /2 (LightweightM2M-BsR-001), Bootstrap-Delete, Bootstrap-Write of the configured
//! /0, /21, /1, /2 instances, Bootstrap-Finish. A Bootstrap-Pack-Request (`GET
//! /bspack?ep=NAME`, Accept SenML CBOR, SenML JSON or LwM2M CBOR) is answered 2.05 with the
//! whole plan in one pack (Block2 when large). Every session is reported on stdout, one line
//! per event (JSON with `--json`).
//!
//! The protocol is mote-lwm2m-server's [`BootstrapEngine`] on the driver's endpoint; this
//! module parses the arguments and the configuration ([`config`]), checks which security
//! context may bootstrap which endpoint, and prints.

mod config;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;
use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{
    EchoPolicy, EchoRequirement, EndpointConfig, Event, IncomingRequest, NoProtection, Protection,
};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use mote_lwm2m::link;
use mote_lwm2m_server::bootstrap_engine::{BootstrapEngine, BootstrapEngineConfig, BootstrapEvent};
use mote_lwm2m_server::{BootstrapLimits, BootstrapServer, BootstrapStep, Identity};
use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};
use serde_json::json;

use crate::commands::lwm2m::record_json;
use crate::context_file::{FileSequenceStore, persistent_context};
use crate::net::{Application, Driver, DriverConfig, Flow, Io, Listen, OsRandom, Remote};
use crate::net::{parse_listen, runtime};

use self::config::RequiredContext;

/// `mote bootstrap-server …`
#[derive(Debug, Args)]
pub(crate) struct BootstrapServerArgs {
    /// Where to listen; repeat for several. `coap://HOST:PORT` (or `HOST:PORT`) is UDP,
    /// `coap+tcp://HOST:PORT` is TCP (RFC 8323).
    #[arg(long, value_name = "URI", required = true, value_parser = parse_listen)]
    listen: Vec<Listen>,
    /// The provisioning plans: per Endpoint Client Name, the /0, /1, /2 and /21 instances to
    /// write (format in docs/cli.md).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// OSCORE context files (server side) of clients that reach the bootstrap server over
    /// OSCORE; with at least one, a plain Bootstrap-Request is refused (4.01).
    #[arg(long, value_name = "FILE")]
    oscore: Vec<PathBuf>,
    /// Print one JSON object per line for each event.
    #[arg(long)]
    json: bool,
    /// Bootstrap sessions running at once; a Bootstrap-Request beyond is answered 5.03.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..))]
    max_sessions: u16,
    /// Seconds a session waits for one response before it fails.
    #[arg(long, value_name = "S", default_value_t = 247)]
    response_timeout: u64,
    /// Print the port actually bound (useful with port 0), one line per --listen, in order.
    #[arg(long)]
    print_port: bool,
}

/// The OSCORE layer: context files with persistent sequence numbers (RFC 8613 App. B.1).
type Oscore = OscoreProtection<FileSequenceStore, OsRandom>;

/// What the command needs of its protection layer's identity: the name the bootstrap engine
/// records, and whether it is the context an endpoint's plan requires.
trait PeerIdentity: Clone {
    /// The engine's [`Identity`].
    fn identity(&self) -> Identity;
    /// Whether this is the context `required` names.
    fn is(&self, required: &RequiredContext) -> bool;
}

impl PeerIdentity for () {
    fn identity(&self) -> Identity {
        Identity::None
    }

    fn is(&self, _: &RequiredContext) -> bool {
        false
    }
}

impl PeerIdentity for ContextId {
    fn identity(&self) -> Identity {
        Identity::oscore_context(self.id_context(), self.recipient_id())
    }

    fn is(&self, required: &RequiredContext) -> bool {
        self.recipient_id() == required.kid.as_slice()
            && self.id_context() == required.kid_context.as_deref()
    }
}

/// Runs `mote bootstrap-server`.
pub(crate) fn run(args: &BootstrapServerArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("cannot read {}", args.config.display()))?;
    let plans = config::parse(&text).with_context(|| format!("{}", args.config.display()))?;
    let mut server = BootstrapServer::new(BootstrapLimits {
        max_sessions: usize::from(args.max_sessions),
        response_timeout: std::time::Duration::from_secs(args.response_timeout.max(1)),
        ..BootstrapLimits::default()
    });
    let mut required = BTreeMap::new();
    for plan in plans {
        if let Some(c) = plan.context {
            required.insert(plan.endpoint.clone(), c);
        }
        server.set_plan(&plan.endpoint, plan.config);
    }
    let contexts = args
        .oscore
        .iter()
        .map(|p| persistent_context(p, true))
        .collect::<Result<Vec<_>>>()?;
    if contexts.is_empty() && !required.is_empty() {
        anyhow::bail!(
            "the configuration names OSCORE contexts (\"kid\") but no --oscore file is given"
        );
    }
    let runtime = runtime()?;
    if contexts.is_empty() {
        let engine = BootstrapEngine::with_identity(
            server,
            BootstrapEngineConfig::default(),
            <() as PeerIdentity>::identity,
        );
        let app = App::new(engine, required, false, args.json);
        return runtime.block_on(serve(args, EndpointConfig::default(), NoProtection, app));
    }
    let mut oscore = Oscore::new(
        OscoreConfig {
            max_contexts: contexts.len(),
        },
        OsRandom,
    );
    for (context, path) in contexts.into_iter().zip(&args.oscore) {
        // LwM2M TS 1.2 Transport (OSCORE): Appendix B.2 of RFC 8613 on first use of a context.
        let b2 = crate::context_file::appendix_b2(path, true)?;
        crate::context_file::add_context(&mut oscore, context, b2)
            .with_context(|| format!("{}", path.display()))?;
    }
    let engine = BootstrapEngine::with_identity(
        server,
        BootstrapEngineConfig::default(),
        <ContextId as PeerIdentity>::identity,
    );
    let app = App::new(engine, required, true, args.json);
    // LwM2M TS 1.2 Transport §6.4.1: "If OSCORE is used to secure Client Bootstrap then the
    // Bootstrap-Server receiving the Bootstrap-Request or Bootstrap-Pack-Request operation
    // MUST use the Echo Option" — every request (the pack is a GET) is first answered 4.01
    // with a fresh Echo value (RFC 9175 §2.3, §2.4) and served when repeated with it.
    let endpoint = EndpointConfig {
        echo: Some(EchoPolicy {
            window: std::time::Duration::from_secs(ECHO_WINDOW_SECS),
            require: EchoRequirement::AllRequests,
        }),
        ..EndpointConfig::default()
    };
    runtime.block_on(serve(args, endpoint, oscore, app))
}

/// How long an Echo value of the bootstrap server stays fresh (the client repeats its request
/// at once; RFC 9175 §2.3 leaves the window to the server).
const ECHO_WINDOW_SECS: u64 = 30;

async fn serve<X>(
    args: &BootstrapServerArgs,
    endpoint: EndpointConfig,
    protection: X,
    mut app: App<X::Identity>,
) -> Result<()>
where
    X: Protection<Remote>,
    X::Identity: PeerIdentity,
{
    let mut driver = Driver::with_protection(DriverConfig::default(), endpoint, protection)?;
    for listen in &args.listen {
        let addr = driver.bind(*listen).await?;
        if args.print_port {
            println!("{}", addr.port());
        }
    }
    driver.run(&mut app).await?;
    Ok(())
}

/// The application on the driver: the engine, the context each endpoint must use, and the
/// printer.
struct App<I> {
    engine: BootstrapEngine<Remote, I>,
    required: BTreeMap<String, RequiredContext>,
    /// With OSCORE contexts: plain Bootstrap-Requests are refused.
    protected: bool,
    json: bool,
}

impl<I: PeerIdentity> App<I> {
    fn new(
        engine: BootstrapEngine<Remote, I>,
        required: BTreeMap<String, RequiredContext>,
        protected: bool,
        json: bool,
    ) -> Self {
        App {
            engine,
            required,
            protected,
            json,
        }
    }

    /// Whether the security context of a Bootstrap-Request or Bootstrap-Pack-Request may
    /// bootstrap the endpoint it names; `Err` says why not.
    fn authorize(&self, message: &IncomingRequest<I>) -> Result<(), (Option<String>, String)> {
        let ep = message
            .message
            .options
            .get_all(OptionNumber::URI_QUERY)
            .find_map(|q| q.value.strip_prefix(b"ep="))
            .map(|v| String::from_utf8_lossy(v).into_owned());
        match (
            &message.identity,
            ep.as_ref().and_then(|e| self.required.get(e)),
        ) {
            (None, _) if self.protected => Err((ep, "OSCORE required".into())),
            (None, Some(_)) => Err((ep, "OSCORE required".into())),
            (Some(id), Some(required)) if !id.is(required) => {
                Err((ep, "not the security context of this endpoint".into()))
            }
            _ => Ok(()),
        }
    }

    fn report(&mut self) {
        while let Some(event) = self.engine.poll_event() {
            self.print(event);
        }
    }

    fn print(&self, event: BootstrapEvent<Remote>) {
        let line = match event {
            BootstrapEvent::Started { endpoint, peer } => {
                let (address, transport) = address(&peer);
                if self.json {
                    json!({"event": "bootstrap-started", "endpoint": endpoint,
                           "address": address, "transport": transport})
                    .to_string()
                } else {
                    format!("{endpoint}: bootstrap started from {address} ({transport})")
                }
            }
            BootstrapEvent::Refused {
                endpoint,
                peer,
                code,
                reason,
            } => refused_line(self.json, endpoint.as_deref(), &peer, code, &reason),
            BootstrapEvent::PackServed {
                endpoint,
                peer,
                format,
                size,
            } => {
                let (address, transport) = address(&peer);
                if self.json {
                    json!({"event": "bootstrap-pack", "endpoint": endpoint,
                           "address": address, "transport": transport,
                           "format": format.name(), "size": size})
                    .to_string()
                } else {
                    format!(
                        "{endpoint}: bootstrap-pack sent to {address} ({transport}): {} bytes of {}",
                        size,
                        format.name()
                    )
                }
            }
            BootstrapEvent::StepSent { endpoint, step } => {
                let (operation, path) = step_parts(&step);
                if self.json {
                    json!({"event": "bootstrap-request", "endpoint": endpoint,
                           "operation": operation, "path": path})
                    .to_string()
                } else {
                    format!(
                        "{endpoint}: bootstrap-{operation} {}",
                        path.unwrap_or_default()
                    )
                    .trim_end()
                    .to_string()
                }
            }
            BootstrapEvent::Finished {
                endpoint,
                discovered,
                read,
            } => {
                let links = link::write(&discovered, "/").unwrap_or_default();
                if self.json {
                    let records: Vec<serde_json::Value> = read
                        .iter()
                        .filter_map(|r| serde_json::from_str(&record_json(r)).ok())
                        .collect();
                    json!({"event": "bootstrap-finished", "endpoint": endpoint,
                           "discovered": links, "read": records})
                    .to_string()
                } else {
                    format!(
                        "{endpoint}: bootstrap finished ({} records read before writing)",
                        read.len()
                    )
                }
            }
            BootstrapEvent::Failed {
                endpoint,
                step,
                code,
                reason,
            } => {
                let (operation, path) = step_parts(&step);
                let code = code.map(|c| c.to_string());
                if self.json {
                    json!({"event": "bootstrap-failed", "endpoint": endpoint,
                           "operation": operation, "path": path, "code": code,
                           "reason": reason})
                    .to_string()
                } else {
                    format!(
                        "{endpoint}: bootstrap failed at {operation}{}: {}{reason}",
                        path.map(|p| format!(" {p}")).unwrap_or_default(),
                        code.map(|c| format!("{c} ")).unwrap_or_default()
                    )
                }
            }
            // The engine's event set may grow; an unknown event is not printed.
            _ => return,
        };
        println!("{line}");
    }
}

fn refused_line(
    json: bool,
    endpoint: Option<&str>,
    peer: &Remote,
    code: Code,
    reason: &str,
) -> String {
    let (address, transport) = address(peer);
    if json {
        json!({"event": "bootstrap-refused", "endpoint": endpoint, "address": address,
               "transport": transport, "code": code.to_string(), "reason": reason})
        .to_string()
    } else {
        format!(
            "{}: bootstrap refused from {address} ({transport}): {code} {reason}",
            endpoint.unwrap_or("(no endpoint name)")
        )
    }
}

fn address(peer: &Remote) -> (String, &'static str) {
    match peer {
        Remote::Udp { addr, .. } => (addr.to_string(), "udp"),
        Remote::Tcp { addr, .. } => (addr.to_string(), "tcp"),
    }
}

/// The operation name and target path of a step.
fn step_parts(step: &BootstrapStep) -> (&'static str, Option<String>) {
    match step {
        BootstrapStep::Discover => ("discover", Some("/".into())),
        BootstrapStep::Read(p) => ("read", Some(p.to_string())),
        BootstrapStep::Delete(p) => ("delete", Some(p.to_string())),
        BootstrapStep::Write(p) => ("write", Some(p.to_string())),
        BootstrapStep::Finish => ("finish", None),
        _ => ("unknown", None),
    }
}

/// Whether a request asks for an endpoint's plan: a Bootstrap-Request (`POST /bs`) or a
/// Bootstrap-Pack-Request (`/bspack`, which carries the plan's keys in its answer).
fn asks_for_a_plan<I>(message: &IncomingRequest<I>) -> bool {
    let mut path = message.message.options.get_all(OptionNumber::URI_PATH);
    let first = path.next().map(|p| p.value);
    path.next().is_none()
        && match first {
            Some(b"bs") => message.message.code == Code::POST,
            Some(b"bspack") => true,
            _ => false,
        }
}

fn answer<X: Protection<Remote>>(
    io: &mut Io<'_, X>,
    id: mote_coap::endpoint::IncomingId,
    code: Code,
    text: &str,
) {
    let reply = OwnedMessage::new(MessageType::Ack, code, 0).with_payload(text.as_bytes().to_vec());
    // The request may be over already (the endpoint answered it itself).
    let _ = io.endpoint.respond(io.now, id, reply);
}

impl<X> Application<X> for App<X::Identity>
where
    X: Protection<Remote>,
    X::Identity: PeerIdentity,
{
    fn event(&mut self, io: &mut Io<'_, X>, event: Event<Remote, X::Identity>) -> Flow {
        let event = match event {
            Event::Request { id, peer, message } if asks_for_a_plan(&message) => {
                if let Err((ep, reason)) = self.authorize(&message) {
                    // RFC 7252 §5.9.2.2: 4.01, the client is not authorized.
                    answer(io, id, Code::UNAUTHORIZED, &reason);
                    println!(
                        "{}",
                        refused_line(self.json, ep.as_deref(), &peer, Code::UNAUTHORIZED, &reason)
                    );
                    return Flow::Continue(());
                }
                Event::Request { id, peer, message }
            }
            other => other,
        };
        if let Some(Event::Request { id, .. }) =
            self.engine.handle_event(io.endpoint, event, io.now)
        {
            answer(io, id, Code::NOT_FOUND, "");
        }
        self.report();
        Flow::Continue(())
    }

    fn poll_timeout(&self) -> Option<std::time::Duration> {
        self.engine.poll_timeout()
    }

    fn handle_timeout(&mut self, io: &mut Io<'_, X>) -> Flow {
        self.engine.handle_timeout(io.endpoint, io.now);
        self.report();
        Flow::Continue(())
    }
}
