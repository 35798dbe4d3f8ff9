//! `mote oscore derive | protect-request | protect-response | unprotect-request |
//! unprotect-response` (docs/cli.md, "mote oscore") and the OSCORE context file shared with
//! `mote coap --oscore` and `mote serve --oscore`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, Subcommand};
use mote_oscore::context::{aead_from_cose_id, derive_keys, hkdf_from_cose_id, hkdf_from_name};
use mote_oscore::{
    AeadAlgorithm, Framing, HkdfAlgorithm, OscoreOption, ReplayWindow, RequestBinding,
    SecurityContext, SecurityContextParams,
};
use serde::Deserialize;
use serde_json::Value;

use crate::input::{BytesInput, parse_hex};

/// `mote oscore …`
#[derive(Debug, Args)]
pub(crate) struct OscoreArgs {
    #[command(subcommand)]
    command: OscoreCommand,
}

#[derive(Debug, Subcommand)]
enum OscoreCommand {
    /// Derive Sender Key, Recipient Key and Common IV (RFC 8613 §3.2).
    Derive(DeriveArgs),
    /// Protect a CoAP request (RFC 8613 §8.1).
    ProtectRequest(ProtectRequestArgs),
    /// Protect a CoAP response (RFC 8613 §8.3).
    ProtectResponse(ProtectResponseArgs),
    /// Verify and decrypt an OSCORE request (RFC 8613 §8.2).
    UnprotectRequest(UnprotectRequestArgs),
    /// Verify and decrypt an OSCORE response (RFC 8613 §8.4).
    UnprotectResponse(UnprotectResponseArgs),
}

#[derive(Debug, Args)]
struct DeriveArgs {
    /// Master Secret (hex).
    #[arg(long, value_name = "HEX")]
    master_secret: String,
    /// Master Salt (hex); absent means empty.
    #[arg(long, value_name = "HEX")]
    master_salt: Option<String>,
    /// Sender ID (hex, may be empty: "").
    #[arg(long, value_name = "HEX")]
    sender_id: String,
    /// Recipient ID (hex, may be empty: "").
    #[arg(long, value_name = "HEX")]
    recipient_id: String,
    /// ID Context (hex).
    #[arg(long, value_name = "HEX")]
    id_context: Option<String>,
    /// AEAD Algorithm (COSE identifier; default 10, AES-CCM-16-64-128).
    #[arg(
        long,
        value_name = "ALG",
        default_value_t = 10,
        allow_negative_numbers = true
    )]
    aead: i64,
    /// HKDF Algorithm: SHA-256 (default), SHA-512, or a COSE identifier (-10, -11, 5, 7).
    #[arg(
        long,
        value_name = "ALG",
        default_value = "SHA-256",
        allow_hyphen_values = true
    )]
    hkdf: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Framing of the messages on the command line.
#[derive(Debug, Args)]
struct FramingArg {
    /// The messages use CoAP-over-TCP framing (RFC 8323) instead of UDP.
    #[arg(long)]
    tcp: bool,
}

impl FramingArg {
    fn framing(&self) -> Framing {
        if self.tcp { Framing::Tcp } else { Framing::Udp }
    }
}

#[derive(Debug, Args)]
struct ProtectRequestArgs {
    /// Context file (JSON).
    #[arg(long, value_name = "FILE")]
    context: PathBuf,
    /// Sender Sequence Number to use.
    #[arg(long, value_name = "N")]
    seq: u64,
    #[command(flatten)]
    framing: FramingArg,
    #[command(flatten)]
    input: BytesInput,
}

#[derive(Debug, Args)]
struct ProtectResponseArgs {
    #[arg(long, value_name = "FILE")]
    context: PathBuf,
    /// The request's 'kid' (hex).
    #[arg(long, value_name = "HEX")]
    request_kid: String,
    /// The request's Partial IV (hex).
    #[arg(long, value_name = "HEX")]
    request_piv: String,
    /// Give the response its own Partial IV from this sequence number.
    #[arg(long, value_name = "N")]
    seq: Option<u64>,
    #[command(flatten)]
    framing: FramingArg,
    #[command(flatten)]
    input: BytesInput,
}

#[derive(Debug, Args)]
struct UnprotectRequestArgs {
    #[arg(long, value_name = "FILE")]
    context: PathBuf,
    /// Treat every Partial IV below N as already received.
    #[arg(long, value_name = "N")]
    replay_window_from: Option<u64>,
    /// Print the decrypted message in the `decode --as coap` JSON shape.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    framing: FramingArg,
    #[command(flatten)]
    input: BytesInput,
}

#[derive(Debug, Args)]
struct UnprotectResponseArgs {
    #[arg(long, value_name = "FILE")]
    context: PathBuf,
    #[arg(long, value_name = "HEX")]
    request_kid: String,
    #[arg(long, value_name = "HEX")]
    request_piv: String,
    /// The request was an Observe registration (accept a notification).
    #[arg(long)]
    observe: bool,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    framing: FramingArg,
    #[command(flatten)]
    input: BytesInput,
}

/// The context file: `{"master_secret":"hex","master_salt":"hex","sender_id":"hex",
/// "recipient_id":"hex","id_context":"hex","aead":10,"hkdf":"SHA-256"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContextFile {
    master_secret: String,
    #[serde(default)]
    master_salt: Option<String>,
    sender_id: String,
    recipient_id: String,
    #[serde(default)]
    id_context: Option<String>,
    #[serde(default)]
    aead: Option<i64>,
    /// "SHA-256", "SHA-512" or a COSE identifier (number or string).
    #[serde(default)]
    hkdf: Option<Value>,
    #[serde(default)]
    send_kid_context: Option<bool>,
    #[serde(default)]
    replay_window: Option<u8>,
    /// Where the Sender Sequence Number persists (App. B.1.1); default `<file>.seq`.
    #[serde(default)]
    sequence_file: Option<PathBuf>,
    /// The LwM2M endpoint name the context belongs to (read by `mote lwm2m-server`).
    #[serde(default)]
    #[allow(
        dead_code,
        reason = "read from the JSON by lwm2m-server, not through this struct"
    )]
    endpoint: Option<String>,
    /// Set to `true` by `mote coap` / `mote serve` when the context is first used with a
    /// sequence file: from then on that file must exist (see `context_file.rs`).
    #[serde(default)]
    used: Option<bool>,
    /// Whether the context is an RFC 8613 Appendix B.2 root (fresh contexts derived on first
    /// use); default true for the LwM2M roles, false for `mote coap` / `mote serve`.
    #[serde(default)]
    appendix_b2: Option<bool>,
}

/// A context file's values, decoded.
#[derive(Debug)]
pub(crate) struct ContextInputs {
    master_secret: Vec<u8>,
    master_salt: Vec<u8>,
    sender_id: Vec<u8>,
    recipient_id: Vec<u8>,
    id_context: Option<Vec<u8>>,
    aead: AeadAlgorithm,
    hkdf: HkdfAlgorithm,
    send_kid_context: bool,
    replay_window: u8,
    pub(crate) sequence_file: Option<PathBuf>,
    /// Whether the file records that the context was used with a sequence file.
    pub(crate) used: bool,
    /// The `"appendix_b2"` key (`None`: absent, the command's default applies).
    pub(crate) appendix_b2: Option<bool>,
}

impl ContextInputs {
    /// Reads and checks a context file.
    pub(crate) fn load(path: &Path) -> Result<Self> {
        crate::context_file::check_private(path)?;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Self::parse(path, &text)
    }

    /// Checks the text of the context file at `path` (relative paths inside are resolved
    /// against `path`'s directory).
    pub(crate) fn parse(path: &Path, text: &str) -> Result<Self> {
        let f: ContextFile = serde_json::from_str(text)
            .with_context(|| format!("invalid context file {}", path.display()))?;
        let hkdf = match &f.hkdf {
            None => HkdfAlgorithm::Sha256,
            Some(Value::Number(n)) => {
                hkdf_from_cose_id(n.as_i64().ok_or_else(|| anyhow!("invalid hkdf"))?)?
            }
            Some(Value::String(s)) => hkdf_from_name(s)?,
            Some(other) => bail!("invalid hkdf {other}"),
        };
        Ok(Self {
            master_secret: parse_hex(&f.master_secret)?,
            master_salt: f
                .master_salt
                .as_deref()
                .map(parse_hex)
                .transpose()?
                .unwrap_or_default(),
            sender_id: parse_hex(&f.sender_id)?,
            recipient_id: parse_hex(&f.recipient_id)?,
            id_context: f.id_context.as_deref().map(parse_hex).transpose()?,
            aead: aead_from_cose_id(f.aead.unwrap_or(10))?,
            hkdf,
            send_kid_context: f.send_kid_context.unwrap_or(true),
            replay_window: f
                .replay_window
                .unwrap_or(mote_oscore::replay::DEFAULT_REPLAY_WINDOW),
            sequence_file: f.sequence_file.map(|p| match path.parent() {
                Some(dir) if p.is_relative() => dir.join(p),
                _ => p,
            }),
            used: f.used.unwrap_or(false),
            appendix_b2: f.appendix_b2,
        })
    }

    /// The derivation parameters.
    pub(crate) fn params(&self) -> SecurityContextParams<'_> {
        SecurityContextParams {
            master_secret: &self.master_secret,
            master_salt: &self.master_salt,
            sender_id: &self.sender_id,
            recipient_id: &self.recipient_id,
            id_context: self.id_context.as_deref(),
            aead: self.aead,
            hkdf: self.hkdf,
            replay_window: self.replay_window,
            send_kid_context: self.send_kid_context,
        }
    }

    /// A fresh context (sequence number 0, empty window).
    pub(crate) fn context(&self) -> Result<SecurityContext> {
        Ok(SecurityContext::new(&self.params())?)
    }
}

/// Runs `mote oscore …`.
pub(crate) fn run(args: &OscoreArgs) -> Result<()> {
    match &args.command {
        OscoreCommand::Derive(a) => derive(a),
        OscoreCommand::ProtectRequest(a) => protect_request(a),
        OscoreCommand::ProtectResponse(a) => protect_response(a),
        OscoreCommand::UnprotectRequest(a) => unprotect_request(a),
        OscoreCommand::UnprotectResponse(a) => unprotect_response(a),
    }
}

fn derive(a: &DeriveArgs) -> Result<()> {
    let secret = parse_hex(&a.master_secret)?;
    let salt = a
        .master_salt
        .as_deref()
        .map(parse_hex)
        .transpose()?
        .unwrap_or_default();
    let sender = parse_hex(&a.sender_id)?;
    let recipient = parse_hex(&a.recipient_id)?;
    let id_context = a.id_context.as_deref().map(parse_hex).transpose()?;
    let mut p = SecurityContextParams::new(&secret, &sender, &recipient);
    p.master_salt = &salt;
    p.id_context = id_context.as_deref();
    p.aead = aead_from_cose_id(a.aead)?;
    p.hkdf = hkdf_from_name(&a.hkdf)?;
    let keys = derive_keys(&p)?;
    let sk = hex::encode(keys.sender_key.expose());
    let rk = hex::encode(keys.recipient_key.expose());
    let iv = hex::encode(keys.common_iv.as_slice());
    if a.json {
        // Field order is part of the contract (docs/cli.md).
        #[derive(serde::Serialize)]
        struct Keys<'a> {
            sender_key: &'a str,
            recipient_key: &'a str,
            common_iv: &'a str,
        }
        let keys = Keys {
            sender_key: &sk,
            recipient_key: &rk,
            common_iv: &iv,
        };
        println!("{}", serde_json::to_string(&keys)?);
    } else {
        println!("sender_key: {sk}\nrecipient_key: {rk}\ncommon_iv: {iv}");
    }
    Ok(())
}

/// Output buffer size for a message of `len` bytes.
fn out_len(len: usize) -> usize {
    2 * len + 512
}

fn protect_request(a: &ProtectRequestArgs) -> Result<()> {
    let msg = a.input.bytes()?;
    let mut ctx = ContextInputs::load(&a.context)?.context()?;
    ctx.set_sender_sequence_number(a.seq)?;
    let mut out = vec![0u8; out_len(msg.len())];
    let (n, _) = ctx.protect_request(a.framing.framing(), &msg, &mut out)?;
    println!("{}", hex::encode(&out[..n]));
    Ok(())
}

fn binding(kid: &str, piv: &str, observe: bool) -> Result<RequestBinding> {
    Ok(RequestBinding::new(
        &parse_hex(kid)?,
        &parse_hex(piv)?,
        observe,
    )?)
}

fn protect_response(a: &ProtectResponseArgs) -> Result<()> {
    let msg = a.input.bytes()?;
    let mut ctx = ContextInputs::load(&a.context)?.context()?;
    let mut b = binding(&a.request_kid, &a.request_piv, false)?;
    if let Some(seq) = a.seq {
        ctx.set_sender_sequence_number(seq)?;
    }
    let mut out = vec![0u8; out_len(msg.len())];
    let n = ctx.protect_response(a.framing.framing(), &mut b, &msg, a.seq.is_some(), &mut out)?;
    println!("{}", hex::encode(&out[..n]));
    Ok(())
}

fn print_message(framing: Framing, msg: &[u8], json: bool) -> Result<()> {
    if json {
        let s = match framing {
            Framing::Udp => crate::commands::decode::coap::decode_udp(msg, true)?,
            Framing::Tcp => crate::commands::decode::coap::decode_tcp(msg, true)?,
        };
        println!("{s}");
    } else {
        println!("{}", hex::encode(msg));
    }
    Ok(())
}

fn unprotect_request(a: &UnprotectRequestArgs) -> Result<()> {
    let msg = a.input.bytes()?;
    let inputs = ContextInputs::load(&a.context)?;
    let mut ctx = inputs.context()?;
    if let Some(from) = a.replay_window_from {
        ctx.set_replay_window(ReplayWindow::starting_at(inputs.replay_window, from)?);
    }
    let mut out = vec![0u8; out_len(msg.len())];
    let v = ctx.unprotect_request(a.framing.framing(), &msg, &mut out)?;
    print_message(a.framing.framing(), &out[..v.len], a.json)
}

fn unprotect_response(a: &UnprotectResponseArgs) -> Result<()> {
    let msg = a.input.bytes()?;
    let mut ctx = ContextInputs::load(&a.context)?.context()?;
    let mut b = binding(&a.request_kid, &a.request_piv, a.observe)?;
    let mut out = vec![0u8; out_len(msg.len())];
    let n = ctx.unprotect_response(a.framing.framing(), &mut b, &msg, &mut out)?;
    print_message(a.framing.framing(), &out[..n], a.json)
}

/// `mote decode --as oscore-option`: the OSCORE option value (RFC 8613 §6.1).
pub(crate) fn decode_option(bytes: &[u8], json: bool) -> Result<String> {
    let o = OscoreOption::decode(bytes)?;
    let h = |v: Option<&[u8]>| v.map(hex::encode);
    if json {
        #[derive(serde::Serialize)]
        struct Fields {
            partial_iv: Option<String>,
            kid_context: Option<String>,
            kid: Option<String>,
        }
        let fields = Fields {
            partial_iv: h(o.partial_iv),
            kid_context: h(o.kid_context),
            kid: h(o.kid),
        };
        return Ok(serde_json::to_string(&fields)?);
    }
    let show = |v: Option<&[u8]>| {
        v.map_or_else(|| "absent".to_owned(), |b| format!("h'{}'", hex::encode(b)))
    };
    Ok(format!(
        "OSCORE option: Partial IV {}, kid context {}, kid {}",
        show(o.partial_iv),
        show(o.kid_context),
        show(o.kid)
    ))
}
