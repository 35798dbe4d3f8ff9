//! `mote coap get|put|post|delete|fetch|patch|ipatch URI …`: a CoAP client over UDP
//! (`coap://`) or TCP (`coap+tcp://`, RFC 8323) on the sans-IO endpoint of mote-coap, which
//! does retransmission (RFC 7252 §4.2), block-wise transfers both ways (RFC 7959), Observe
//! (RFC 7641), Echo (RFC 9175) and, through its protection layer, OSCORE (RFC 8613) and the
//! EDHOC + OSCORE combined request (RFC 9668). This module parses the arguments, builds the
//! request and prints what comes back.

use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use mote_coap::block::Szx;
use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{
    EndpointConfig, NoProtection, Protection, Reliability, RequestOptions, TransferProgress,
};
use mote_coap::message::OwnedMessage;
use mote_coap::option::{OptionFormat, OptionNumber};
use mote_coap::uri::{Destination, Scheme, Uri};
use mote_edhoc::protection::{EdhocInitiator, EdhocProtection, EdhocProtectionConfig, Initiated};
use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};

use crate::context_file::{FileSequenceStore, persistent_context};
use crate::edhoc_coap::EdhocCrypto;
use crate::net::client::{Client, ClientError};
use crate::net::{Listen, OsRandom, Remote};

/// The request method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Method {
    Get,
    Post,
    Put,
    Delete,
    Fetch,
    Patch,
    Ipatch,
}

impl Method {
    fn code(self) -> Code {
        match self {
            Self::Get => Code::GET,
            Self::Post => Code::POST,
            Self::Put => Code::PUT,
            Self::Delete => Code::DELETE,
            Self::Fetch => Code::FETCH,
            Self::Patch => Code::PATCH,
            Self::Ipatch => Code::IPATCH,
        }
    }
}

/// `mote coap METHOD URI …`
#[derive(Debug, Args)]
pub(crate) struct CoapArgs {
    /// The method.
    #[arg(value_enum)]
    method: Method,
    /// The target, `coap://host[:port]/path?query` (UDP) or `coap+tcp://host[:port]/path`
    /// (TCP, RFC 8323: CSM exchange first, default port 5683).
    uri: String,
    /// Request payload (text).
    #[arg(long, conflicts_with = "payload_file")]
    payload: Option<String>,
    /// Request payload from a file.
    #[arg(long, value_name = "PATH")]
    payload_file: Option<PathBuf>,
    /// Content-Format of the payload.
    #[arg(long, value_name = "N")]
    content_format: Option<u16>,
    /// Accept option.
    #[arg(long, value_name = "N")]
    accept: Option<u16>,
    /// If-Match option with this ETag (hex; `""` for the empty value: "the resource
    /// exists", RFC 7252 §5.10.8.1). Repeatable.
    #[arg(long, value_name = "HEX")]
    if_match: Vec<String>,
    /// If-None-Match option: only if the resource does not exist (RFC 7252 §5.10.8.2).
    #[arg(long)]
    if_none_match: bool,
    /// Any option, `NUMBER=VALUE`, the value in the registry's format for that number (a
    /// decimal uint, a string, or hex for opaque and unknown numbers). Repeatable.
    #[arg(long = "option", value_name = "NUMBER=VALUE")]
    options: Vec<String>,
    /// Register an observation and print notifications.
    #[arg(long)]
    observe: bool,
    /// With --observe: stop after N notifications (the first response counts).
    #[arg(long, value_name = "N", requires = "observe")]
    count: Option<u32>,
    /// Block size for block-wise transfers (16…1024).
    #[arg(long, value_name = "N", default_value_t = 1024)]
    block_size: u16,
    /// OSCORE context file (JSON, see `mote oscore`).
    #[arg(long, value_name = "FILE", conflicts_with = "edhoc")]
    oscore: Option<PathBuf>,
    /// EDHOC credential file (docs/edhoc-credentials.md): run EDHOC with the server's
    /// /.well-known/edhoc first (RFC 9528 Appendix A.2) and protect the request with the
    /// OSCORE context it yields; over UDP message_3 travels inside that request (RFC 9668).
    #[arg(long, value_name = "FILE")]
    edhoc: Option<PathBuf>,
    /// Print each response in the `decode --as coap` JSON shape (payload: the whole body).
    #[arg(long)]
    json: bool,
    /// Give up after this many seconds without a response.
    #[arg(long, value_name = "S", default_value_t = 30)]
    timeout: u64,
}

/// The client's endpoint configuration: 8-byte tokens drawn from the OS RNG (RFC 7252
/// §5.3.1: a client not protected by a secure transport uses non-trivial, randomized tokens
/// against spoofed responses).
fn client_config() -> EndpointConfig {
    EndpointConfig {
        token_len: 8,
        ..EndpointConfig::default()
    }
}

/// The longest response body accepted (a server cannot make the client hold more).
const MAX_BODY: usize = 16 << 20;

/// The text of an EDHOC error message in a response with Content-Format 64 (RFC 9528 §6).
fn edhoc_error_text(response: &OwnedMessage) -> Option<String> {
    let cf = response
        .option(OptionNumber::CONTENT_FORMAT)?
        .as_uint()
        .ok()?;
    (cf == u32::from(mote_edhoc::transport::CONTENT_FORMAT_EDHOC))
        .then(|| edhoc_error_message(&response.payload))
}

/// The value of `--option NUMBER=VALUE` in the registry's format for NUMBER (RFC 7252 §3.2):
/// a decimal uint, a string, nothing for an empty option, hex for opaque and unregistered
/// numbers.
fn parse_option(text: &str) -> Result<(OptionNumber, Vec<u8>)> {
    let (number, value) = text
        .split_once('=')
        .ok_or_else(|| anyhow!("--option {text:?}: expected NUMBER=VALUE"))?;
    let number = OptionNumber(
        number
            .trim()
            .parse()
            .map_err(|_| anyhow!("--option {text:?}: the number must be 0…65535"))?,
    );
    let format = number
        .definition()
        .map_or(OptionFormat::Opaque, |d| d.format);
    let bytes = match format {
        OptionFormat::Uint => {
            let v: u32 = value
                .trim()
                .parse()
                .map_err(|_| anyhow!("--option {text:?}: option {} takes a uint", number.0))?;
            mote_coap::option::UintValue::new(v).as_bytes().to_vec()
        }
        OptionFormat::String => value.as_bytes().to_vec(),
        OptionFormat::Empty if value.is_empty() => Vec::new(),
        OptionFormat::Empty => bail!("--option {text:?}: option {} is empty", number.0),
        OptionFormat::Opaque => crate::input::parse_hex(value)?,
    };
    if let Some(def) = number.definition() {
        if !def.accepts_len(bytes.len()) {
            bail!(
                "--option {text:?}: {} takes {}…{} bytes",
                def.name,
                def.min_len,
                def.max_len
            );
        }
    }
    Ok((number, bytes))
}

/// The request of `args` to `uri` at `peer` (RFC 7252 §6.4: the URI decomposed into options).
fn build_request(
    args: &CoapArgs,
    uri: &Uri<'_>,
    peer: std::net::SocketAddr,
) -> Result<OwnedMessage> {
    let mut request = OwnedMessage::new(MessageType::Con, args.method.code(), 0);
    let dest = Destination {
        ip: peer.ip(),
        port: peer.port(),
    };
    uri.decompose(&dest).add_to(&mut request.options);
    if let Some(cf) = args.content_format {
        request
            .options
            .push_uint(OptionNumber::CONTENT_FORMAT, u32::from(cf));
    }
    if let Some(a) = args.accept {
        request
            .options
            .push_uint(OptionNumber::ACCEPT, u32::from(a));
    }
    for etag in &args.if_match {
        let value = crate::input::parse_hex(etag)?;
        if value.len() > 8 {
            bail!("--if-match {etag}: an ETag has at most 8 bytes");
        }
        request.options.push(OptionNumber::IF_MATCH, value);
    }
    if args.if_none_match {
        request
            .options
            .push(OptionNumber::IF_NONE_MATCH, Vec::new());
    }
    for option in &args.options {
        let (number, value) = parse_option(option)?;
        request.options.push(number, value);
    }
    if args.observe {
        // RFC 7641 §2: Observe 0 registers.
        request.options.set(OptionNumber::OBSERVE, Vec::new());
    }
    request.payload = match (&args.payload, &args.payload_file) {
        (Some(p), _) => p.as_bytes().to_vec(),
        (None, Some(f)) => {
            std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?
        }
        (None, None) => vec![],
    };
    Ok(request)
}

/// Block-wise options for `--block-size` (RFC 7959 §2.2): Block1 blocks of that size, and a
/// smaller size than the default asked for the response's blocks too (early negotiation,
/// §2.4).
fn request_options(block_size: u16) -> Result<RequestOptions> {
    let szx = Szx::from_size(usize::from(block_size))
        .filter(|s| !s.is_bert())
        .ok_or_else(|| anyhow!("block size must be a power of two from 16 to 1024"))?;
    let mut blockwise = client_config().client_blockwise;
    blockwise.szx = szx;
    blockwise.download.max_body = MAX_BODY;
    if szx != Szx::S1024 {
        blockwise.response_szx = Some(szx);
        blockwise.download.preferred_szx = szx;
        blockwise.download.early_negotiation = true;
    }
    Ok(RequestOptions::new(Reliability::Confirmable, blockwise))
}

/// A response as printed: the body (as text when it is UTF-8, else hex) preceded by the code
/// when it is not 2.xx; with `json` the `decode --as coap` shape (`coap-tcp` over TCP).
fn render(response: &OwnedMessage, json: bool, tcp: bool) -> Result<String> {
    if json {
        return if tcp {
            let frame = mote_coap::tcp::OwnedFrame {
                code: response.code,
                token: response.token.clone(),
                options: response.options.clone(),
                payload: response.payload.clone(),
            };
            let bytes = frame.to_vec().map_err(|e| anyhow!("{e}"))?;
            crate::commands::decode::coap::decode_tcp(&bytes, true)
        } else {
            let bytes = response.to_vec().map_err(|e| anyhow!("{e}"))?;
            crate::commands::decode::coap::decode_udp(&bytes, true)
        };
    }
    let body = &response.payload;
    let text = std::str::from_utf8(body)
        .map(str::to_owned)
        .unwrap_or_else(|_| hex::encode(body));
    if response.code.is_response() && response.code.class() != 2 {
        return Ok(format!("{} {}", response.code, text));
    }
    Ok(text)
}

/// The error for a request that got no answer to show; with `json`, an unverified response
/// (an unprotected error answer, RFC 8613 §8.2) is printed first in the JSON shape.
fn failure(error: ClientError, json: bool, tcp: bool) -> anyhow::Error {
    let ClientError::Unverified { response } = &error else {
        return anyhow!(error);
    };
    if json {
        match render(response, true, tcp) {
            Ok(line) => println!("{line}"),
            Err(e) => return e,
        }
    }
    let code = response.code;
    if response.option(OptionNumber::OSCORE).is_some() || code.class() == 2 {
        return anyhow!("the {code} response failed verification (OSCORE)");
    }
    if let Some(text) = edhoc_error_text(response) {
        return anyhow!("unprotected {code} response: EDHOC error: {text}");
    }
    anyhow!(
        "unprotected {code} response: {}",
        String::from_utf8_lossy(&response.payload)
    )
}

/// A progress bar on stderr for block-wise transfers, drawn only when stderr is a terminal
/// (docs/cli.md, "mote coap": a progress bar on a terminal for large transfers). The endpoint
/// counts the bytes ([`TransferProgress`]); this only draws them.
#[derive(Default)]
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    /// Shows `p` (the bar appears with the first block-wise progress).
    fn show(&mut self, p: TransferProgress) {
        use std::io::IsTerminal as _;
        let (done, total, what) = match p {
            TransferProgress::Upload {
                acknowledged,
                total,
            } => (acknowledged, Some(total), "upload"),
            TransferProgress::Download { received } => (received, None, "download"),
        };
        if done == 0 || !std::io::stderr().is_terminal() {
            return;
        }
        let bar = self.0.get_or_insert_with(|| {
            let bar = match total {
                Some(t) => indicatif::ProgressBar::new(t as u64),
                None => indicatif::ProgressBar::new_spinner(),
            };
            let template = match total {
                Some(_) => "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec}",
                None => "{msg} {spinner} {bytes} {bytes_per_sec}",
            };
            if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            bar
        });
        bar.set_message(what);
        bar.set_position(done as u64);
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// Runs `mote coap …`.
pub(crate) fn run(args: &CoapArgs) -> Result<()> {
    let uri = Uri::parse(&args.uri).map_err(|e| anyhow!("invalid URI: {e}"))?;
    let tcp = match uri.scheme() {
        Scheme::Coap => false,
        Scheme::CoapTcp => true,
        s => bail!(
            "{}:// is not supported by `mote coap` (coap:// and coap+tcp:// are)",
            s.as_str()
        ),
    };
    let host = uri.host_str().trim_start_matches('[').trim_end_matches(']');
    let port = uri.effective_port();
    let peer = (host, port)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {host}"))?
        .next()
        .ok_or_else(|| anyhow!("cannot resolve {host}"))?;
    let server = if tcp {
        Listen::Tcp(peer)
    } else {
        Listen::Udp(peer)
    };
    let request = build_request(args, &uri, peer)?;
    let options = request_options(args.block_size)?;
    let timeout = Duration::from_secs(args.timeout);
    let config = client_config();
    let connect = |e: ClientError| failure(e, false, tcp);
    if let Some(path) = &args.oscore {
        let (mut client, id) = oscore_client(server, path, timeout)?;
        return perform(&mut client, Some(id), request, options, args);
    }
    if let Some(path) = &args.edhoc {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let setup = crate::commands::edhoc::load_credential_file(&text)?;
        if tcp {
            return edhoc_tcp(server, config, &setup, request, options, args);
        }
        let (mut client, context) = edhoc_client(server, &setup, timeout)?;
        return perform(&mut client, Some(context), request, options, args);
    }
    let mut client = Client::connect(server, config, NoProtection, timeout).map_err(connect)?;
    perform(&mut client, None, request, options, args)
}

/// Sends the request (protected under `identity` when given) and prints the response and,
/// with `--observe`, the notifications.
fn perform<X: Protection<Remote>>(
    client: &mut Client<X>,
    identity: Option<X::Identity>,
    request: OwnedMessage,
    options: RequestOptions,
    args: &CoapArgs,
) -> Result<()> {
    let tcp = client.is_tcp();
    let count = if args.observe {
        args.count.unwrap_or(u32::MAX)
    } else {
        1
    };
    let mut printed = 0u32;
    let mut last_code = None;
    let mut output_error = None;
    let progress = std::cell::RefCell::new(Progress::default());
    let result = client.exchange_with_progress(
        request,
        options,
        identity,
        &mut |response| {
            progress.borrow().finish();
            match render(response, args.json, tcp) {
                Ok(line) => println!("{line}"),
                Err(e) => {
                    output_error = Some(e);
                    return std::ops::ControlFlow::Break(());
                }
            }
            printed += 1;
            last_code = Some(response.code);
            if printed >= count {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        },
        Some(&mut |p| progress.borrow_mut().show(p)),
    );
    progress.borrow().finish();
    if let Some(e) = output_error {
        return Err(e);
    }
    result.map_err(|e| failure(e, args.json, tcp))?;
    // docs/cli.md: a final 4.xx or 5.xx response (also one that ends an observation) is exit
    // 1; its body was printed on stdout like any other response.
    match last_code {
        Some(code) if code.class() >= 4 => Err(anyhow!("the server answered {code}")),
        _ => Ok(()),
    }
}

/// An EDHOC Initiator for `setup` (RFC 9528 §5.2): C_I from the file, or one random byte.
pub(crate) fn initiator(
    setup: &crate::commands::edhoc::EdhocSetup,
) -> Result<EdhocInitiator<EdhocCrypto>> {
    use mote_edhoc::Crypto as _;
    let e = |e: mote_edhoc::Error| anyhow!("EDHOC: {e}");
    let crypto = EdhocCrypto::new().prepare(&setup.identity).map_err(e)?;
    let c_i = match &setup.connection_id {
        Some(c) => c.clone(),
        None => {
            let mut b = [0u8; 1];
            EdhocCrypto::new().random_bytes(&mut b);
            mote_edhoc::ConnId::from_slice(&b).map_err(e)?
        }
    };
    Ok(EdhocInitiator::new(
        crypto,
        setup.initiator_config().map_err(e)?,
        c_i,
    ))
}

/// POSTs `payload` (Content-Format 65) to `/.well-known/edhoc`, unprotected (RFC 9528
/// Appendix A.2); returns the response.
fn edhoc_post<X: Protection<Remote>>(
    client: &mut Client<X>,
    payload: Vec<u8>,
) -> Result<OwnedMessage> {
    let tcp = client.is_tcp();
    let request = OwnedMessage::new(MessageType::Con, Code::POST, 0)
        .with_option(OptionNumber::URI_PATH, ".well-known")
        .with_option(OptionNumber::URI_PATH, "edhoc")
        .with_uint_option(
            OptionNumber::CONTENT_FORMAT,
            u32::from(mote_edhoc::transport::CONTENT_FORMAT_CID_EDHOC),
        )
        .with_payload(payload);
    let mut options = client_config().client_blockwise;
    options.download.max_body = MAX_BODY;
    client
        .request(
            request,
            RequestOptions::new(Reliability::Confirmable, options),
            None,
        )
        .map_err(|e| failure(e, false, tcp))
}

/// message_1 → message_2 (RFC 9528 Appendix A.2), again with the server's suites after an
/// ERR_CODE 2 (§6.3.2); returns the Initiator with message_3 prepared.
fn handshake<X: Protection<Remote>>(
    client: &mut Client<X>,
    setup: &crate::commands::edhoc::EdhocSetup,
) -> Result<Initiated<EdhocCrypto>> {
    let mut initiator = initiator(setup)?;
    for _ in 0..2 {
        let message_1 = initiator.message_1().map_err(|e| anyhow!("EDHOC: {e}"))?;
        let response = edhoc_post(client, message_1)?;
        let code = response.code;
        let mut lookup = |id: &mote_edhoc::IdCred| setup.peer_credential(id);
        match initiator.message_2(&response.payload, &mut lookup) {
            Ok(initiated) => return Ok(initiated),
            Err(mote_edhoc::Error::PeerWrongSelectedSuite { .. }) => continue,
            // The lookup found nothing for the server's ID_CRED_R.
            Err(mote_edhoc::Error::UnknownCredential) => {
                bail!("EDHOC: the server's credential is not known or trusted")
            }
            Err(other) => bail!("EDHOC message_2 ({code}): {other}"),
        }
    }
    bail!("EDHOC: the server rejected the cipher suite twice")
}

/// A client over UDP that has run EDHOC with `server` (`--edhoc`, RFC 9528 Appendix A.2):
/// its first request under the returned context is the EDHOC + OSCORE combined request
/// (RFC 9668 §3.2).
///
/// # Errors
/// Connecting, or any failure of the handshake.
pub(crate) fn edhoc_client(
    server: Listen,
    setup: &crate::commands::edhoc::EdhocSetup,
    timeout: Duration,
) -> Result<(
    Client<impl Protection<Remote, Identity = ContextId>>,
    ContextId,
)> {
    let oscore = OscoreProtection::<FileSequenceStore, _>::new(OscoreConfig::default(), OsRandom);
    // The client is never the Responder: its responder configuration answers nothing.
    let suite = setup.suites.first().copied().unwrap_or(2);
    let layer = EdhocProtection::new(
        oscore,
        EdhocProtectionConfig::default(),
        mote_edhoc::ResponderConfig::new(suite, setup.identity.clone()),
        EdhocCrypto::new(),
        |_: &mote_edhoc::IdCred| None,
    );
    let mut client = Client::connect(server, client_config(), layer, timeout)
        .map_err(|e| failure(e, false, false))?;
    let initiated = handshake(&mut client, setup)?;
    let context = client
        .endpoint()
        .protection_mut()
        .add_initiated(initiated)
        .map_err(|e| anyhow!("EDHOC: {e}"))?;
    Ok((client, context))
}

/// A client protecting its requests with the context file at `path` (`--oscore`; the
/// sequence number persists, RFC 8613 Appendix B.1.1).
///
/// # Errors
/// The context file, connecting.
pub(crate) fn oscore_client(
    server: Listen,
    path: &std::path::Path,
    timeout: Duration,
) -> Result<(OscoreClient, ContextId)> {
    let mut oscore = OscoreProtection::new(OscoreConfig::default(), OsRandom);
    let id = oscore
        .add_context(persistent_context(path, false)?)
        .map_err(|e| anyhow!("{e:?}"))?;
    let client = Client::connect(server, client_config(), oscore, timeout)
        .map_err(|e| failure(e, false, matches!(server, Listen::Tcp(_))))?;
    Ok((client, id))
}

/// A client with one OSCORE context from a context file.
pub(crate) type OscoreClient = Client<OscoreProtection<FileSequenceStore, OsRandom>>;

/// `--edhoc` over TCP: the handshake, `C_R, message_3` posted to the EDHOC resource
/// (message_4 back, Appendix A.2), then the request under the new context.
fn edhoc_tcp(
    server: Listen,
    config: EndpointConfig,
    setup: &crate::commands::edhoc::EdhocSetup,
    request: OwnedMessage,
    options: RequestOptions,
    args: &CoapArgs,
) -> Result<()> {
    let oscore = OscoreProtection::<FileSequenceStore, _>::new(OscoreConfig::default(), OsRandom);
    let timeout = Duration::from_secs(args.timeout);
    let mut client =
        Client::connect(server, config, oscore, timeout).map_err(|e| failure(e, false, true))?;
    let initiated = handshake(&mut client, setup)?;
    let payload = initiated
        .message_3_payload()
        .map_err(|e| anyhow!("EDHOC: {e}"))?;
    let answer = edhoc_post(&mut client, payload)?;
    if answer.code != Code::CHANGED {
        bail!(
            "EDHOC message_3 refused with {}: {}",
            answer.code,
            edhoc_error_message(&answer.payload)
        );
    }
    let message_4 = (!answer.payload.is_empty()).then_some(answer.payload.as_slice());
    let context = initiated
        .context(message_4, FileSequenceStore::none())
        .map_err(|e| anyhow!("EDHOC: {e}"))?;
    let id = client
        .endpoint()
        .protection_mut()
        .add_context(context)
        .map_err(|e| anyhow!("{e:?}"))?;
    perform(&mut client, Some(id), request, options, args)
}

/// An EDHOC error message (RFC 9528 §6) as text.
pub(crate) fn edhoc_error_message(payload: &[u8]) -> String {
    match mote_edhoc::ErrorMessage::parse(payload) {
        Ok(mote_edhoc::ErrorMessage::Unspecified(t)) => format!("{t} (ERR_CODE 1)"),
        Ok(mote_edhoc::ErrorMessage::WrongSelectedCipherSuite(s)) => format!(
            "wrong selected cipher suite, supported {:?} (ERR_CODE 2)",
            s.as_slice()
        ),
        Ok(mote_edhoc::ErrorMessage::UnknownCredential) => "unknown credential (ERR_CODE 3)".into(),
        Ok(other) => format!("ERR_CODE {}", other.code()),
        Err(e) => format!("not an EDHOC error message ({e})"),
    }
}
