//! `mote serve --listen ADDR … [--oscore FILE …] [--objects DIR]`: a CoAP server that plays an
//! LwM2M Client's object tree (see [`crate::object_tree`]: /1/0 Server, /3/0 Device, /5/0
//! Firmware Update, /19/0 with the 4 KiB opaque /19/0/0/0 for block-wise) over UDP
//! (RFC 7252) and TCP (RFC 8323), plus a free-form scratch area `/data/…` for plain CoAP
//! method tests (PUT creates, DELETE removes; not part of the LwM2M tree).
//!
//! This module parses the arguments and builds the driver, the endpoint and its protection
//! layer; the resources are the [`resources::Server`] application. Everything below the
//! resources is the endpoint's (`mote_coap::endpoint`): deduplication, piggybacked and
//! separate responses, critical options (4.02), Block1 reassembly and Block2 slicing
//! (RFC 7959), the Observe registry and its notification schedule (RFC 7641), Echo freshness
//! (RFC 9175), CoAP over TCP sessions; and of the protection layers: OSCORE (RFC 8613, contexts
//! chosen by 'kid', App. B.1.2 after a restart) in `mote_oscore::endpoint`, EDHOC (RFC 9528
//! Appendix A.2, the RFC 9668 combined request) in `mote_edhoc::protection`.

mod plugtest;
mod resources;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use clap::Args;
use mote_coap::endpoint::{
    EchoPolicy, EchoRequirement, EndpointConfig, MessageParts, NoProtection, Protection,
};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use mote_edhoc::credential::CredentialLookup;
use mote_edhoc::protection::{EdhocEvent, EdhocProtection, EdhocProtectionConfig};
use mote_edhoc::{Credential, IdCred};
use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};

use crate::commands::edhoc::EdhocSetup;
use crate::context_file::{FileSequenceStore, persistent_context};
use crate::edhoc_coap::EdhocCrypto;
use crate::net::{Driver, DriverConfig, OsRandom, Remote, runtime};
use crate::object_tree::ObjectTree;

// Moved to the I/O layer; re-exported for `serve` and `proxy`.
pub(crate) use crate::net::{Listen, parse_listen};

use self::plugtest::Plugtest;
use self::resources::Server;

/// `mote serve …`
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Where to listen; repeat for several. `HOST:PORT` or `coap://HOST:PORT` is UDP,
    /// `coap+tcp://HOST:PORT` is TCP (RFC 8323; CSM exchange, then CoAP over TCP framing).
    /// Example: `--listen 127.0.0.1:5683 --listen coap+tcp://127.0.0.1:5683`.
    #[arg(long, value_name = "ADDR", required = true, value_parser = parse_listen)]
    listen: Vec<Listen>,
    /// OSCORE context files (server side); with at least one, every resource but
    /// /.well-known/core requires OSCORE, on every transport.
    #[arg(long, value_name = "FILE")]
    oscore: Vec<PathBuf>,
    /// EDHOC credential file (docs/edhoc-credentials.md): be the EDHOC Responder at
    /// /.well-known/edhoc (RFC 9528 Appendix A.2) and accept EDHOC + OSCORE requests (RFC 9668,
    /// over UDP); each completed handshake adds an OSCORE context. OSCORE is then required as
    /// with --oscore.
    #[arg(long, value_name = "FILE")]
    edhoc: Option<PathBuf>,
    /// With --edhoc: OSCORE contexts from EDHOC kept at most; a handshake beyond replaces
    /// the oldest (whose observations end).
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..))]
    edhoc_contexts: u16,
    /// DDF XML object definitions to add to (or replace) the built-in ones.
    #[arg(long, value_name = "DIR")]
    objects: Option<PathBuf>,
    /// Demand a fresh Echo (RFC 9175) for POST, PUT, DELETE, PATCH and iPATCH.
    #[arg(long)]
    fresh_echo: bool,
    /// Interval between notifications of observed resources, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    notify_ms: u64,
    /// Print the port actually bound (useful with port 0), one line per --listen, in order.
    #[arg(long)]
    print_port: bool,
    /// Serve the resources of the OSCORE interoperability test specification (/oscore/hello/…,
    /// /oscore/observe1, /oscore/observe2, /oscore/test) instead of the object tree; the
    /// contexts come from --oscore (without any, every resource is plain).
    #[arg(long, conflicts_with_all = ["edhoc", "objects"])]
    plugtest: bool,
}

/// Largest body accepted in a Block1 upload (RFC 7959 §2.9.3: 4.13 beyond it).
const MAX_UPLOAD: usize = 1 << 20;

/// How long an Echo value issued for request freshness stays valid (RFC 9175 §2.3).
const ECHO_WINDOW: Duration = Duration::from_secs(60);

/// A CoAP over TCP connection with no request or response in either direction for this long
/// is released (RFC 8323 §5.5: Release, then closed after the session's release timeout), so
/// connections that stop sending do not hold their slot forever (hardening finding 3).
const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(15);

/// The shortest `--notify-ms` honoured.
const MIN_NOTIFY_INTERVAL: Duration = Duration::from_millis(10);

/// What the application needs of its protection layer beyond [`Protection`]: the EDHOC
/// resource and the contexts EDHOC replaced. One request-handling path serves all three
/// layers (none, OSCORE, EDHOC + OSCORE).
pub(crate) trait ServeProtection: Protection<Remote> {
    /// Handles a POST to `/.well-known/edhoc` (RFC 9528 Appendix A.2) from `peer`; `None`
    /// when this layer is no EDHOC Responder.
    fn edhoc_resource(
        &mut self,
        now: Duration,
        peer: &Remote,
        request: &OwnedMessage,
    ) -> Option<MessageParts>;

    /// The identities whose contexts were replaced since the last call; their observations
    /// end (their notifications could not be protected any more).
    fn replaced_contexts(&mut self) -> Vec<Self::Identity>;
}

impl ServeProtection for NoProtection {
    fn edhoc_resource(
        &mut self,
        _now: Duration,
        _peer: &Remote,
        _request: &OwnedMessage,
    ) -> Option<MessageParts> {
        None
    }

    fn replaced_contexts(&mut self) -> Vec<()> {
        Vec::new()
    }
}

/// The OSCORE layer of `mote serve`: context files with persistent sequence numbers.
type Oscore = OscoreProtection<FileSequenceStore, OsRandom>;

impl ServeProtection for Oscore {
    fn edhoc_resource(
        &mut self,
        _now: Duration,
        _peer: &Remote,
        _request: &OwnedMessage,
    ) -> Option<MessageParts> {
        None
    }

    fn replaced_contexts(&mut self) -> Vec<ContextId> {
        Vec::new()
    }
}

/// The Initiators' credentials as the credential file lists them (peers, trust anchors).
pub(crate) struct PeerCredentials(pub(crate) EdhocSetup);

impl CredentialLookup for PeerCredentials {
    fn lookup(&mut self, id_cred: &IdCred) -> Option<Credential> {
        self.0.peer_credential(id_cred)
    }
}

/// The EDHOC + OSCORE layer of `mote serve --edhoc`.
pub(crate) type Edhoc = EdhocProtection<FileSequenceStore, OsRandom, EdhocCrypto, PeerCredentials>;

impl ServeProtection for Edhoc {
    fn edhoc_resource(
        &mut self,
        now: Duration,
        peer: &Remote,
        request: &OwnedMessage,
    ) -> Option<MessageParts> {
        // RFC 9528 §9.7: admission counts per host (the IP address, any port), and the Echo
        // challenge under load binds the value to that address (RFC 9175 §2.4 item 3).
        let source = match peer.addr().ip() {
            std::net::IpAddr::V4(a) => a.octets().to_vec(),
            std::net::IpAddr::V6(a) => a.octets().to_vec(),
        };
        let echo = request.options.get(OptionNumber::ECHO).map(|o| o.value);
        Some(Edhoc::edhoc_post(self, now, &source, echo, &request.payload).into_parts())
    }

    fn replaced_contexts(&mut self) -> Vec<ContextId> {
        std::iter::from_fn(|| self.poll_event())
            .filter_map(|e| match e {
                EdhocEvent::ContextReplaced { removed } => Some(removed),
                _ => None,
            })
            .collect()
    }
}

/// Runs `mote serve`.
pub(crate) fn run(args: &ServeArgs) -> Result<()> {
    let contexts = args
        .oscore
        .iter()
        .map(|p| persistent_context(p, true))
        .collect::<Result<Vec<_>>>()?;
    let defs = crate::commands::lwm2m::registry(args.objects.as_deref())?;
    let tree = ObjectTree::new(defs, resources::unix_now());
    // With any OSCORE context, every resource but /.well-known/core (and the EDHOC resource)
    // needs OSCORE.
    let protected = !contexts.is_empty() || args.edhoc.is_some();
    let endpoint = endpoint_config(args, protected);
    let edhoc_contexts = if args.edhoc.is_some() {
        usize::from(args.edhoc_contexts)
    } else {
        0
    };
    let mut oscore = Oscore::new(
        OscoreConfig {
            max_contexts: contexts.len() + edhoc_contexts,
        },
        OsRandom,
    );
    for (context, path) in contexts.into_iter().zip(&args.oscore) {
        oscore
            .add_context(context)
            .with_context(|| format!("{}", path.display()))?;
    }
    let runtime = runtime()?;
    match &args.edhoc {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
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
            runtime.block_on(serve(args, endpoint, layer, tree, protected))
        }
        None if protected => runtime.block_on(serve(args, endpoint, oscore, tree, protected)),
        None => runtime.block_on(serve(args, endpoint, NoProtection, tree, protected)),
    }
}

/// The endpoint's configuration: uploads up to [`MAX_UPLOAD`], idle TCP connections released
/// after [`TCP_IDLE_TIMEOUT`], and with `--fresh-echo` Echo
/// for unsafe methods, bound to the OSCORE context when there is one (plain requests are then
/// refused anyway, and the EDHOC resource's messages carry their own replay protection).
fn endpoint_config(args: &ServeArgs, protected: bool) -> EndpointConfig {
    let defaults = EndpointConfig::default();
    let mut block1 = defaults.block1;
    block1.max_body = MAX_UPLOAD;
    block1.max_buffered_bytes = block1.max_buffered_bytes.max(2 * MAX_UPLOAD);
    let echo = args.fresh_echo.then_some(EchoPolicy {
        window: ECHO_WINDOW,
        require: if protected {
            EchoRequirement::ProtectedUnsafeMethods
        } else {
            EchoRequirement::UnsafeMethods
        },
    });
    let mut session = defaults.session.clone();
    session.idle_timeout = Some(TCP_IDLE_TIMEOUT);
    EndpointConfig {
        echo,
        block1,
        session,
        ..defaults
    }
}

/// Binds every `--listen` (printing the ports with `--print-port`) and runs the server until
/// the process is killed.
async fn serve<X: ServeProtection>(
    args: &ServeArgs,
    endpoint: EndpointConfig,
    protection: X,
    tree: ObjectTree,
    protected: bool,
) -> Result<()> {
    let mut driver = Driver::with_protection(DriverConfig::default(), endpoint, protection)?;
    for listen in &args.listen {
        let addr = driver.bind(*listen).await?;
        if args.print_port {
            println!("{}", addr.port());
        }
    }
    if args.plugtest {
        driver.run(&mut Plugtest::new(protected)).await?;
        return Ok(());
    }
    let interval = Duration::from_millis(args.notify_ms).max(MIN_NOTIFY_INTERVAL);
    let mut server = Server::new(tree, protected, interval, driver.now());
    driver.run(&mut server).await?;
    Ok(())
}
