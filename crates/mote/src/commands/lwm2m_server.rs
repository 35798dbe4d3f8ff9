//! `mote lwm2m-server --listen URI … --http HOST:PORT [--oscore FILE …] [--store FILE]
//! [--objects DIR]`: the LwM2M management server.
//!
//! One driver task owns the CoAP endpoint and the sans-IO engine
//! ([`mote_lwm2m_server::Lwm2mServer`]); the HTTP REST API and its server-sent event stream
//! ([`http`], axum on the same tokio runtime) talk to it only through a bounded command
//! channel (plus a wake-up of the driver) and a broadcast channel of events, so the endpoint
//! never leaves its task.

mod http;
mod store;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, anyhow};
use clap::Args;
use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{EndpointConfig, EndpointLimits, Event, NoProtection, Protection};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use mote_lwm2m_server::operation::OperationResult;
use mote_lwm2m_server::{
    EngineConfig, Identity, Lwm2mServer, OpError, OpHandle, Operation, Registration, Server,
    ServerConfig, ServerEvent, SubmitError,
};
use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};
use serde_json::{Value as Json, json};
use tokio::sync::{broadcast, mpsc, oneshot};
use tracing::{info, warn};

use crate::commands::serve::{Edhoc, PeerCredentials};
use crate::context_file::{FileSequenceStore, persistent_context};
use crate::edhoc_coap::EdhocCrypto;
use crate::net::{Application, Driver, DriverConfig, Flow, Io, Listen, OsRandom, Remote};
use crate::net::{parse_listen, runtime};
use mote_coap::endpoint::MessageParts;
use mote_edhoc::protection::EdhocProtectionConfig;

use self::store::PersistentStore;

/// `mote lwm2m-server …`
#[derive(Debug, Args)]
pub(crate) struct Lwm2mServerArgs {
    /// Where to listen for LwM2M clients; repeat for several. `coap://HOST:PORT` is UDP,
    /// `coap+tcp://HOST:PORT` is TCP (RFC 8323).
    #[arg(long, value_name = "URI", required = true, value_parser = parse_listen)]
    listen: Vec<Listen>,
    /// Where the REST API (`/api/…`) and its event stream (`/api/events`) listen.
    #[arg(long, value_name = "HOST:PORT")]
    http: std::net::SocketAddr,
    /// OSCORE context files, one per client; the `"endpoint"` key names the client that
    /// may register with it. With at least one, clients without OSCORE are refused.
    #[arg(long, value_name = "FILE")]
    oscore: Vec<PathBuf>,
    /// EDHOC credential file (docs/edhoc-credentials.md): be the EDHOC Responder at
    /// /.well-known/edhoc (RFC 9528 Appendix A.2, and the RFC 9668 combined request); each
    /// completed handshake adds an OSCORE context that may register any one endpoint name.
    #[arg(long, value_name = "FILE")]
    edhoc: Option<PathBuf>,
    /// With --edhoc: OSCORE contexts from EDHOC kept at most (the oldest replaced beyond).
    #[arg(long, value_name = "N", default_value_t = 1024)]
    edhoc_contexts: usize,
    /// Keep registrations in this file (redb) across restarts.
    #[arg(long, value_name = "FILE")]
    store: Option<PathBuf>,
    /// DDF XML object definitions to add to (or replace) the built-in ones.
    #[arg(long, value_name = "DIR")]
    objects: Option<PathBuf>,
    /// How long a REST request waits for the client's answer (held time of a sleeping
    /// queue-mode client included) before HTTP 504.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    request_timeout: u64,
    /// How long a queue-mode client counts as awake after its last message (LwM2M TS 1.2
    /// Transport §6.5: the client stays up MAX_TRANSMIT_WAIT, 93 s, RFC 7252 §4.8.2); the
    /// server holds requests for it while it sleeps.
    #[arg(long, value_name = "SECONDS", default_value_t = 93)]
    queue_awake: u64,
    /// Print the ports actually bound (useful with port 0): one line per --listen, in
    /// order, then the HTTP port.
    #[arg(long)]
    print_port: bool,
    /// A firmware package to serve at CoAP `/fw/<file name>` (GET, Block2) to registered
    /// clients, over the security they registered with; repeatable.
    #[arg(long, value_name = "FILE")]
    firmware: Vec<PathBuf>,
}

/// The protection layer's identity as the [`Identity`] a registration is bound to.
pub(crate) trait ServerProtection: Protection<Remote> {
    /// The identity of a request that arrived in `identity`.
    fn identity(identity: &Self::Identity) -> Identity;

    /// Answers a POST to `/.well-known/edhoc` (RFC 9528 Appendix A.2); `None` when this layer
    /// is no EDHOC Responder.
    fn edhoc_post(
        &mut self,
        _now: Duration,
        _peer: &Remote,
        _request: &OwnedMessage,
    ) -> Option<MessageParts> {
        None
    }

    /// The identities of the OSCORE contexts an EDHOC handshake established.
    fn edhoc_identities(&self) -> std::collections::BTreeSet<Identity> {
        std::collections::BTreeSet::new()
    }
}

impl ServerProtection for NoProtection {
    fn identity(_: &()) -> Identity {
        Identity::None
    }
}

type Oscore = OscoreProtection<FileSequenceStore, OsRandom>;

impl ServerProtection for Oscore {
    fn identity(c: &ContextId) -> Identity {
        Identity::oscore_context(c.id_context(), c.recipient_id())
    }
}

impl ServerProtection for Edhoc {
    fn identity(c: &ContextId) -> Identity {
        Identity::oscore_context(c.id_context(), c.recipient_id())
    }

    fn edhoc_post(
        &mut self,
        now: Duration,
        peer: &Remote,
        request: &OwnedMessage,
    ) -> Option<MessageParts> {
        // The same admission as `mote serve --edhoc` (per-source limits, Echo under load).
        <Edhoc as crate::commands::serve::ServeProtection>::edhoc_resource(self, now, peer, request)
    }

    fn edhoc_identities(&self) -> std::collections::BTreeSet<Identity> {
        self.edhoc_contexts()
            .map(<Self as ServerProtection>::identity)
            .collect()
    }
}

/// What the HTTP side asks of the driver task.
#[derive(Debug)]
pub(crate) enum Command {
    /// Every client, as JSON.
    Clients(oneshot::Sender<Vec<Json>>),
    /// One client, as JSON.
    Client(String, oneshot::Sender<Option<Json>>),
    /// An operation on a client.
    Operation {
        /// The endpoint name.
        endpoint: String,
        /// What to do.
        op: Operation,
        /// Where the answer goes.
        reply: oneshot::Sender<Reply>,
    },
    /// A Cancel Observation by Reset (RFC 7641 §3.6): the observation a cancel operation
    /// names is forgotten at once, its next notification answered with a Reset.
    ForgetObservation {
        /// The endpoint name.
        endpoint: String,
        /// The cancel operation naming the observation.
        op: Operation,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<(), SubmitError>>,
    },
}

/// The driver task's answer to [`Command::Operation`].
#[derive(Debug)]
pub(crate) enum Reply {
    /// The client's answer, or why there is none.
    Done(Result<OperationResult, OpError>),
    /// The engine refused the operation.
    Refused(SubmitError),
}

/// One server-sent event: its name and JSON data.
#[derive(Debug, Clone)]
pub(crate) struct SseEvent {
    pub(crate) name: &'static str,
    pub(crate) data: String,
}

/// Clients (peers, TCP connections) the server is sized for; the registration core's own
/// bound (`ServerConfig::max_registrations`) is the same 1,024.
const MAX_CLIENTS: usize = 1024;

/// The endpoint's tables sized for [`MAX_CLIENTS`] peers (the defaults suit one client).
fn endpoint_config() -> EndpointConfig {
    let defaults = EndpointConfig::default();
    EndpointConfig {
        limits: EndpointLimits {
            max_peers: 4 * MAX_CLIENTS,
            max_dedup_total: 16 * MAX_CLIENTS,
            max_outstanding_requests: MAX_CLIENTS,
            max_queued_requests: MAX_CLIENTS,
            max_pending_incoming: MAX_CLIENTS,
            max_queued_transmits: 4 * MAX_CLIENTS,
            max_queued_events: 4 * MAX_CLIENTS,
            max_connections: MAX_CLIENTS,
            ..defaults.limits
        },
        ..defaults
    }
}

/// Commands queued from the HTTP side at most.
const COMMAND_QUEUE: usize = 64;
/// Server-sent events buffered for a slow reader (it skips the oldest beyond).
const EVENT_BUFFER: usize = 256;

/// Runs `mote lwm2m-server`.
pub(crate) fn run(args: &Lwm2mServerArgs) -> Result<()> {
    let store = match &args.store {
        Some(path) => PersistentStore::open(path)?,
        None => PersistentStore::memory(),
    };
    let defs = crate::commands::lwm2m::registry(args.objects.as_deref())?;
    let mut names = BTreeMap::new();
    let mut contexts = Vec::new();
    for path in &args.oscore {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let j: Json = serde_json::from_str(&text)
            .with_context(|| format!("invalid context file {}", path.display()))?;
        let endpoint = j["endpoint"]
            .as_str()
            .with_context(|| format!("{}: no \"endpoint\" key", path.display()))?
            .to_string();
        let context = persistent_context(path, true)?;
        let id = ContextId::of(&context);
        names.insert(
            Identity::oscore_context(id.id_context(), id.recipient_id()),
            endpoint,
        );
        contexts.push((context, path));
    }
    let nosec = contexts.is_empty() && args.edhoc.is_none();
    let config = ServerConfig {
        allow_unsecured: nosec,
        awake_window: Duration::from_secs(args.queue_awake.max(1)),
        ..ServerConfig::default()
    };
    let mut core = Server::new(config, store);
    core.set_object_defs(defs.clone());
    let settings = Settings {
        nosec,
        names,
        timeout: Duration::from_secs(args.request_timeout.max(1)),
        defs,
    };
    let runtime = runtime()?;
    if nosec {
        return runtime.block_on(serve(args, NoProtection, core, settings));
    }
    let edhoc_contexts = if args.edhoc.is_some() {
        args.edhoc_contexts.max(1)
    } else {
        0
    };
    let mut oscore = Oscore::new(
        OscoreConfig {
            max_contexts: contexts.len() + edhoc_contexts,
        },
        OsRandom,
    );
    for (context, path) in contexts {
        // LwM2M TS 1.2 Transport (OSCORE): Appendix B.2 of RFC 8613 on first use of a context.
        let b2 = crate::context_file::appendix_b2(path, true)?;
        crate::context_file::add_context(&mut oscore, context, b2)
            .with_context(|| format!("{}", path.display()))?;
    }
    let Some(path) = &args.edhoc else {
        return runtime.block_on(serve(args, oscore, core, settings));
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let setup = crate::commands::edhoc::load_credential_file(&text)?;
    let crypto = EdhocCrypto::new()
        .prepare(&setup.identity)
        .map_err(|e| anyhow!("EDHOC credential: {e}"))?;
    let responder = setup
        .responder_config()
        .map_err(|e| anyhow!("EDHOC configuration: {e}"))?;
    let config = EdhocProtectionConfig {
        max_contexts: edhoc_contexts,
        ..EdhocProtectionConfig::default()
    };
    let layer = Edhoc::new(oscore, config, responder, crypto, PeerCredentials(setup));
    runtime.block_on(serve(args, layer, core, settings))
}

struct Settings {
    nosec: bool,
    names: BTreeMap<Identity, String>,
    timeout: Duration,
    defs: mote_lwm2m::object::ObjectRegistry,
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

async fn serve<X: ServerProtection>(
    args: &Lwm2mServerArgs,
    protection: X,
    core: Server<PersistentStore>,
    settings: Settings,
) -> Result<()> {
    let driver_config = DriverConfig {
        max_connections: MAX_CLIENTS,
        input_queue: 1024,
        ..DriverConfig::default()
    };
    let mut driver = Driver::with_protection(driver_config, endpoint_config(), protection)?;
    // The server's clock is the Unix time: registration times stay meaningful in the store
    // across restarts and are shown as they are.
    driver.start_clock_at(unix_now());
    for listen in &args.listen {
        let addr = driver.bind(*listen).await?;
        if args.print_port {
            println!("{}", addr.port());
        }
    }
    let (commands, rx) = mpsc::channel(COMMAND_QUEUE);
    let (events, _) = broadcast::channel(EVENT_BUFFER);
    let waker = driver.waker();
    let listener = tokio::net::TcpListener::bind(args.http)
        .await
        .with_context(|| format!("cannot bind the HTTP listener {}", args.http))?;
    let local = listener.local_addr()?;
    if args.print_port {
        println!("{}", local.port());
    }
    info!(%local, "REST API listening");
    let router = http::router(http::State {
        commands,
        waker: Arc::clone(&waker),
        events: events.clone(),
        wait: settings.timeout + Duration::from_secs(5),
    });
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            warn!(error = %e, "HTTP server stopped");
        }
    });
    let mut engine = Lwm2mServer::new(EngineConfig::default(), core, OsRandom, X::identity);
    engine.set_object_defs(settings.defs);
    for path in &args.firmware {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{}: no file name", path.display()))?;
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        engine
            .add_package(name, bytes)
            .with_context(|| format!("{}", path.display()))?;
    }
    if settings.nosec {
        // NoSec: a client is known by the host it registered from; an accepted Update from
        // another port of it moves the registration there.
        engine.set_unsecured_identity(|r: &Remote| Identity::nosec_host(&r.addr()));
    }
    let mut app = App {
        engine,
        commands: rx,
        waiting: BTreeMap::new(),
        events,
        names: settings.names,
        timeout: settings.timeout,
        edhoc_identities: std::collections::BTreeSet::new(),
    };
    driver.run(&mut app).await?;
    Ok(())
}

struct App<X: ServerProtection> {
    engine: Lwm2mServer<Remote, X::Identity, PersistentStore, OsRandom>,
    commands: mpsc::Receiver<Command>,
    waiting: BTreeMap<OpHandle, oneshot::Sender<Reply>>,
    events: broadcast::Sender<SseEvent>,
    /// The endpoint name each OSCORE context may register.
    names: BTreeMap<Identity, String>,
    timeout: Duration,
    /// The identities of the contexts EDHOC established (`"security": "edhoc"`).
    edhoc_identities: std::collections::BTreeSet<Identity>,
}

impl<X: ServerProtection> App<X> {
    fn client_json(&self, r: &Registration) -> Json {
        let mut j = client_json(r, self.engine.peer(&r.id));
        if self.edhoc_identities.contains(&r.identity) {
            j["security"] = json!("edhoc");
        }
        j
    }

    fn publish(&self, name: &'static str, data: &Json) {
        // No subscriber is fine: nobody listens to the stream.
        let _ = self.events.send(SseEvent {
            name,
            data: data.to_string(),
        });
    }

    /// Forwards the engine's events to the event stream and to the waiting HTTP requests.
    fn pump(&mut self) {
        while let Some(e) = self.engine.poll_event() {
            match e {
                ServerEvent::Registered { registration, .. } => {
                    info!(endpoint = %registration.endpoint, "registered");
                    self.publish("registration", &self.client_json(&registration));
                }
                ServerEvent::Updated { registration, .. } => {
                    self.publish("update", &self.client_json(&registration));
                }
                ServerEvent::Deregistered { id, endpoint } => self.publish(
                    "deregistration",
                    &json!({"endpoint": endpoint, "registration_id": id.as_str()}),
                ),
                ServerEvent::Expired { id, endpoint } => self.publish(
                    "expiration",
                    &json!({"endpoint": endpoint, "registration_id": id.as_str()}),
                ),
                ServerEvent::Awake { endpoint } => {
                    self.publish("awake", &json!({"endpoint": endpoint}));
                }
                ServerEvent::Sleeping { endpoint } => {
                    self.publish("sleeping", &json!({"endpoint": endpoint}));
                }
                ServerEvent::Send { endpoint, records } => self.publish(
                    "send",
                    &json!({"endpoint": endpoint, "records": http::records_json(&records)}),
                ),
                ServerEvent::Notification {
                    endpoint,
                    path,
                    result: Ok(OperationResult::Content { records, .. }),
                    ..
                } => self.publish(
                    "notification",
                    &json!({"endpoint": endpoint, "path": path.to_string(),
                            "records": http::records_json(&records)}),
                ),
                ServerEvent::OperationResult { handle, result, .. } => {
                    if let Some(reply) = self.waiting.remove(&handle) {
                        let _ = reply.send(Reply::Done(result));
                    }
                }
                _ => {}
            }
        }
    }

    fn command(&mut self, io: &mut Io<'_, X>, command: Command) {
        match command {
            Command::Clients(reply) => {
                let list = self
                    .engine
                    .registrations()
                    .iter()
                    .map(|r| self.client_json(r))
                    .collect();
                let _ = reply.send(list);
            }
            Command::Client(endpoint, reply) => {
                let one = self
                    .engine
                    .registration(&endpoint)
                    .map(|r| self.client_json(&r));
                let _ = reply.send(one);
            }
            Command::Operation {
                endpoint,
                op,
                reply,
            } => {
                match self
                    .engine
                    .submit(io.endpoint, io.now, &endpoint, op, Some(self.timeout))
                {
                    Ok(handle) => {
                        self.waiting.insert(handle, reply);
                    }
                    Err(e) => {
                        let _ = reply.send(Reply::Refused(e));
                    }
                }
            }
            Command::ForgetObservation {
                endpoint,
                op,
                reply,
            } => {
                let r = self
                    .engine
                    .forget_observation(io.endpoint, io.now, &endpoint, op);
                let _ = reply.send(r);
            }
        }
    }

    /// RFC 8613 + LwM2M TS 1.2 Transport §6.4.3: a context provisioned for one endpoint
    /// registers only that endpoint name (4.03 otherwise).
    fn refuse_foreign_name(&self, io: &mut Io<'_, X>, event: &Event<Remote, X::Identity>) -> bool {
        let Event::Request { id, message, .. } = event else {
            return false;
        };
        let Some(identity) = &message.identity else {
            return false;
        };
        let is_register = message.message.code == Code::POST && {
            let segs: Vec<_> = message
                .message
                .options
                .get_all(OptionNumber::URI_PATH)
                .collect();
            segs.len() == 1 && segs.first().is_some_and(|s| s.value == b"rd")
        };
        if !is_register {
            return false;
        }
        let Some(allowed) = self.names.get(&X::identity(identity)) else {
            return false;
        };
        let ep = message
            .message
            .options
            .get_all(OptionNumber::URI_QUERY)
            .filter_map(|o| o.as_str().ok())
            .find_map(|q| q.strip_prefix("ep="));
        if ep == Some(allowed.as_str()) {
            return false;
        }
        // LwM2M TS 1.2 Transport, OSCORE "Endpoint Client Name": the server compares the
        // Endpoint Client Name with the client's OSCORE identity and "MUST respond with a
        // 4.00 Bad Request" when they do not match.
        let answer = OwnedMessage::new(MessageType::Ack, Code::BAD_REQUEST, 0)
            .with_payload("the endpoint client name does not match this security context");
        let _ = io.endpoint.respond(io.now, *id, answer);
        true
    }
}

impl<X: ServerProtection> Application<X> for App<X> {
    fn event(&mut self, io: &mut Io<'_, X>, event: Event<Remote, X::Identity>) -> Flow {
        if let Event::Request {
            id, peer, message, ..
        } = &event
        {
            let edhoc = message.message.code == Code::POST && {
                let segs: Vec<_> = message
                    .message
                    .options
                    .get_all(OptionNumber::URI_PATH)
                    .map(|o| o.value)
                    .collect();
                segs == [b".well-known".as_slice(), b"edhoc".as_slice()]
            };
            if edhoc {
                if let Some(reply) =
                    io.endpoint
                        .protection_mut()
                        .edhoc_post(io.now, peer, &message.message)
                {
                    let _ = io.endpoint.respond(
                        io.now,
                        *id,
                        reply.into_message(MessageType::Ack, 0, &[]),
                    );
                    return Flow::Continue(());
                }
            }
        }
        if let Event::Request {
            message:
                mote_coap::endpoint::IncomingRequest {
                    identity: Some(_), ..
                },
            ..
        } = &event
        {
            self.edhoc_identities = io.endpoint.protection_mut().edhoc_identities();
        }
        if !self.refuse_foreign_name(io, &event) {
            self.engine.handle_event(io.endpoint, event, io.now);
        }
        self.pump();
        Flow::Continue(())
    }

    fn poll_timeout(&self) -> Option<Duration> {
        self.engine.poll_timeout()
    }

    fn handle_timeout(&mut self, io: &mut Io<'_, X>) -> Flow {
        self.engine.handle_timeout(io.endpoint, io.now);
        self.pump();
        Flow::Continue(())
    }

    fn wake(&mut self, io: &mut Io<'_, X>) -> Flow {
        while let Ok(command) = self.commands.try_recv() {
            self.command(io, command);
        }
        // An HTTP request that gave up (its connection closed) no longer waits.
        self.waiting.retain(|_, reply| !reply.is_closed());
        self.pump();
        Flow::Continue(())
    }
}

/// RFC 3339 UTC time of a Unix time.
fn rfc3339(t: Duration) -> String {
    let secs = t.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

fn client_json(r: &Registration, peer: Option<&Remote>) -> Json {
    let mut binding = String::new();
    for (on, c) in [
        (r.binding.udp, 'U'),
        (r.binding.tcp, 'T'),
        (r.binding.sms, 'S'),
        (r.binding.non_ip, 'N'),
    ] {
        if on {
            binding.push(c);
        }
    }
    let (address, transport) = match peer {
        Some(Remote::Udp { addr, .. }) => (json!(addr.to_string()), json!("udp")),
        Some(Remote::Tcp { addr, .. }) => (json!(addr.to_string()), json!("tcp")),
        None => (Json::Null, Json::Null),
    };
    let security = match r.identity {
        Identity::Oscore(_) => "oscore",
        _ => "none",
    };
    json!({
        "endpoint": r.endpoint,
        "registration_id": r.id.as_str(),
        "lwm2m_version": r.version.as_str(),
        "binding": binding,
        "queue_mode": r.queue_mode,
        "lifetime": r.lifetime.as_secs(),
        "address": address,
        "transport": transport,
        "security": security,
        "objects": r.objects.iter().map(|l| l.path.to_string()).collect::<Vec<_>>(),
        "registered_at": rfc3339(r.registered_at),
        "last_update": rfc3339(r.last_update),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_of_known_instants() {
        assert_eq!(rfc3339(Duration::ZERO), "1970-01-01T00:00:00Z");
        // 2000-02-29 12:34:56 UTC (a leap day) = 951827696.
        assert_eq!(
            rfc3339(Duration::from_secs(951_827_696)),
            "2000-02-29T12:34:56Z"
        );
        // 2026-12-07 00:00:00 UTC = 1796601600.
        assert_eq!(
            rfc3339(Duration::from_secs(1_796_601_600)),
            "2026-12-07T00:00:00Z"
        );
    }
}
