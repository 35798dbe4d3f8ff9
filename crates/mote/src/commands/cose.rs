//! `mote cose open|seal` and `mote decode --as cose`.
//!
//! - `mote cose open --key (HEX | --key-file PATH) [--aad HEX] [--detached-payload HEX] [--json]
//!   (HEX | --file PATH)` verifies or decrypts any COSE message with a COSE_Key and prints
//!   `{"type":"Encrypt0","verified":true,"payload":"hex"}`; a failed check is exit 1.
//! - `mote cose seal --type encrypt0|mac0|sign1 --alg N --key … [--kid HEX] [--iv HEX]
//!   [--aad HEX] [--untagged] --payload HEX` prints the message as lowercase hex.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use mote_cose::algorithm::{AeadAlgorithm, MacAlgorithm, SignatureAlgorithm};
use mote_cose::cbor::{Decoder, Major};
use mote_cose::header::{Header, Label, ProtectedHeader};
use mote_cose::key::{CoseKey, KeyOp};
use mote_cose::message::{Encrypt0Builder, Mac0Builder, Sign1Builder};
use mote_cose::multi::{Message, Recipient};
use rand_core::{OsRng, RngCore};
use serde_json::{Map, Value, json};

use crate::input::{BytesInput, parse_hex};

/// Arguments of `mote cose`.
#[derive(Debug, Args)]
pub(crate) struct CoseArgs {
    #[command(subcommand)]
    command: CoseCommand,
}

#[derive(Debug, Subcommand)]
enum CoseCommand {
    /// Verify or decrypt a COSE message with a COSE_Key.
    Open(OpenArgs),
    /// Create a COSE_Encrypt0, COSE_Mac0 or COSE_Sign1.
    Seal(SealArgs),
}

/// The key: a COSE_Key as hex or a file.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct KeyInput {
    /// COSE_Key as CBOR hex.
    #[arg(long = "key", value_name = "HEX")]
    key: Option<String>,
    /// Read the COSE_Key (raw CBOR) from a file.
    #[arg(long = "key-file", value_name = "PATH")]
    key_file: Option<PathBuf>,
}

impl KeyInput {
    fn bytes(&self) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        let v = match (&self.key, &self.key_file) {
            (Some(h), None) => parse_hex(h)?,
            (None, Some(p)) => {
                std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?
            }
            _ => bail!("give either --key HEX or --key-file PATH"),
        };
        Ok(zeroize::Zeroizing::new(v))
    }
}

#[derive(Debug, Args)]
struct OpenArgs {
    #[command(flatten)]
    key: KeyInput,
    /// External additional authenticated data (hex).
    #[arg(long, value_name = "HEX", default_value = "")]
    aad: String,
    /// The payload or ciphertext when the message carries it detached (hex).
    #[arg(long = "detached-payload", value_name = "HEX")]
    detached_payload: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    input: BytesInput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SealType {
    Encrypt0,
    Mac0,
    Sign1,
}

#[derive(Debug, Args)]
struct SealArgs {
    /// Message type.
    #[arg(long = "type", value_enum)]
    kind: SealType,
    /// COSE algorithm identifier (e.g. 10 AES-CCM-16-64-128, 4 HMAC 256/64, -7 ES256, -8 EdDSA).
    #[arg(long, allow_hyphen_values = true)]
    alg: i64,
    #[command(flatten)]
    key: KeyInput,
    /// `kid` to put in the unprotected bucket (hex).
    #[arg(long, value_name = "HEX")]
    kid: Option<String>,
    /// IV for encrypt0 (hex); a random one is drawn when absent.
    #[arg(long, value_name = "HEX")]
    iv: Option<String>,
    /// External additional authenticated data (hex).
    #[arg(long, value_name = "HEX", default_value = "")]
    aad: String,
    /// Write the message without its CBOR tag.
    #[arg(long)]
    untagged: bool,
    /// The payload (hex).
    #[arg(long, value_name = "HEX")]
    payload: String,
}

/// Runs `mote cose`.
pub(crate) fn run(args: &CoseArgs) -> Result<()> {
    match &args.command {
        CoseCommand::Open(a) => open(a),
        CoseCommand::Seal(a) => seal(a),
    }
}

fn open(args: &OpenArgs) -> Result<()> {
    let key_bytes = args.key.bytes()?;
    let key = CoseKey::decode(&key_bytes).map_err(|e| anyhow!("invalid COSE_Key: {e}"))?;
    let aad = parse_hex(&args.aad)?;
    let detached = args
        .detached_payload
        .as_deref()
        .map(parse_hex)
        .transpose()?;
    let bytes = args.input.bytes()?;
    let msg = Message::decode(&bytes).map_err(|e| anyhow!("not a valid COSE message: {e}"))?;
    let payload = open_message(&msg, &key, &aad, detached.as_deref())
        .map_err(|e| anyhow!("{} rejected: {e}", msg.type_name()))?;
    if args.json {
        println!(
            "{}",
            json!({"type": msg.type_name(), "verified": true, "payload": hex::encode(&payload)})
        );
    } else {
        println!(
            "type: {}\nverified: true\npayload: {}",
            msg.type_name(),
            hex::encode(&payload)
        );
    }
    Ok(())
}

fn open_message(
    msg: &Message<'_>,
    key: &CoseKey<'_>,
    aad: &[u8],
    detached: Option<&[u8]>,
) -> Result<Vec<u8>, mote_cose::Error> {
    Ok(match msg {
        Message::Encrypt0(m) => {
            key.check_alg(m.algorithm()?.id())?;
            key.check_op(KeyOp::Decrypt)?;
            m.decrypt(key.symmetric_key()?, key.base_iv, aad, detached)?
        }
        Message::Mac0(m) => {
            key.check_alg(m.algorithm()?.id())?;
            key.check_op(KeyOp::MacVerify)?;
            m.verify(key.symmetric_key()?, aad, detached)?.to_vec()
        }
        Message::Sign1(m) => {
            key.check_op(KeyOp::Verify)?;
            m.verify(&key.verifying_key(m.algorithm()?)?, aad, detached)?
                .to_vec()
        }
        Message::Encrypt(m) => m.decrypt(key, None, aad, detached)?,
        Message::Mac(m) => m.verify(key, None, aad, detached)?.to_vec(),
        Message::Sign(m) => {
            key.check_op(KeyOp::Verify)?;
            let mut last = mote_cose::Error::Crypto;
            for s in &m.signatures {
                let alg = s
                    .protected
                    .header
                    .alg_id()
                    .or(s.unprotected.alg_id())
                    .and_then(SignatureAlgorithm::from_id);
                let Some(alg) = alg else { continue };
                match key
                    .verifying_key(alg)
                    .and_then(|vk| m.verify(&vk, key.kid, aad, detached))
                {
                    Ok(p) => return Ok(p.to_vec()),
                    Err(e) => last = e,
                }
            }
            return Err(last);
        }
        _ => return Err(mote_cose::Error::Structure("unsupported message type")),
    })
}

fn seal(args: &SealArgs) -> Result<()> {
    let key_bytes = args.key.bytes()?;
    let key = CoseKey::decode(&key_bytes).map_err(|e| anyhow!("invalid COSE_Key: {e}"))?;
    let aad = parse_hex(&args.aad)?;
    let payload = parse_hex(&args.payload)?;
    let kid = args.kid.as_deref().map(parse_hex).transpose()?;
    let protected = Header {
        alg: Some(Label::Int(args.alg)),
        ..Header::default()
    };
    let tagged = !args.untagged;
    let out = match args.kind {
        SealType::Encrypt0 => {
            let alg = AeadAlgorithm::from_id(args.alg)
                .ok_or_else(|| anyhow!("{} is not an AEAD algorithm", args.alg))?;
            key.check_alg(args.alg)?;
            key.check_op(KeyOp::Encrypt)?;
            let iv = match &args.iv {
                Some(h) => parse_hex(h)?,
                None => {
                    let mut iv = vec![0u8; alg.nonce_len()];
                    OsRng.fill_bytes(&mut iv);
                    iv
                }
            };
            if iv.len() != alg.nonce_len() {
                bail!(
                    "the IV of algorithm {} is {} bytes",
                    args.alg,
                    alg.nonce_len()
                );
            }
            let unprotected = Header {
                kid: kid.as_deref(),
                iv: Some(&iv),
                ..Header::default()
            };
            Encrypt0Builder {
                protected,
                unprotected,
                tagged,
            }
            .seal_to_vec(key.symmetric_key()?, None, &payload, &aad)?
        }
        SealType::Mac0 => {
            MacAlgorithm::from_id(args.alg)
                .ok_or_else(|| anyhow!("{} is not a MAC algorithm", args.alg))?;
            key.check_alg(args.alg)?;
            key.check_op(KeyOp::MacCreate)?;
            let unprotected = Header {
                kid: kid.as_deref(),
                ..Header::default()
            };
            Mac0Builder {
                protected,
                unprotected,
                tagged,
                detached: false,
            }
            .seal_to_vec(key.symmetric_key()?, &payload, &aad)?
        }
        SealType::Sign1 => {
            let alg = SignatureAlgorithm::from_id(args.alg)
                .ok_or_else(|| anyhow!("{} is not a signature algorithm", args.alg))?;
            key.check_op(KeyOp::Sign)?;
            let sk = key.signing_key(alg)?;
            let unprotected = Header {
                kid: kid.as_deref(),
                ..Header::default()
            };
            Sign1Builder {
                protected,
                unprotected,
                tagged,
                detached: false,
            }
            .sign_to_vec(&sk, &payload, &aad)?
        }
    };
    println!("{}", hex::encode(out));
    Ok(())
}

/// `mote decode --as cose`: the message type, headers, content and signers/recipients.
pub(crate) fn decode(bytes: &[u8], json_out: bool) -> Result<String> {
    let msg = Message::decode(bytes).map_err(|e| anyhow!("not a valid COSE message: {e}"))?;
    let mut o = Map::new();
    o.insert("type".into(), json!(msg.type_name()));
    let opt_hex = |v: Option<&[u8]>| v.map_or(Value::Null, |b| json!(hex::encode(b)));
    match &msg {
        Message::Encrypt0(m) => {
            layer(&mut o, m.tagged, &m.protected, &m.unprotected);
            o.insert("ciphertext".into(), opt_hex(m.ciphertext));
        }
        Message::Mac0(m) => {
            layer(&mut o, m.tagged, &m.protected, &m.unprotected);
            o.insert("payload".into(), opt_hex(m.payload));
            o.insert("tag".into(), json!(hex::encode(m.tag)));
        }
        Message::Sign1(m) => {
            layer(&mut o, m.tagged, &m.protected, &m.unprotected);
            o.insert("payload".into(), opt_hex(m.payload));
            o.insert("signature".into(), json!(hex::encode(m.signature)));
        }
        Message::Encrypt(m) => {
            layer(&mut o, m.tagged, &m.protected, &m.unprotected);
            o.insert("ciphertext".into(), opt_hex(m.ciphertext));
            o.insert("recipients".into(), recipients(&m.recipients));
        }
        Message::Mac(m) => {
            layer(&mut o, m.tagged, &m.protected, &m.unprotected);
            o.insert("payload".into(), opt_hex(m.payload));
            o.insert("tag".into(), json!(hex::encode(m.tag)));
            o.insert("recipients".into(), recipients(&m.recipients));
        }
        Message::Sign(m) => {
            layer(&mut o, m.tagged, &m.protected, &m.unprotected);
            o.insert("payload".into(), opt_hex(m.payload));
            let sigs = m
                .signatures
                .iter()
                .map(|s| {
                    let mut so = Map::new();
                    so.insert("protected".into(), header_json(&s.protected.header));
                    so.insert("unprotected".into(), header_json(&s.unprotected));
                    so.insert("signature".into(), json!(hex::encode(s.signature)));
                    Value::Object(so)
                })
                .collect();
            o.insert("signatures".into(), Value::Array(sigs));
        }
        _ => bail!("unsupported COSE message type"),
    }
    let v = Value::Object(o);
    Ok(if json_out {
        v.to_string()
    } else {
        serde_json::to_string_pretty(&v)?
    })
}

fn layer(o: &mut Map<String, Value>, tagged: bool, p: &ProtectedHeader<'_>, u: &Header<'_>) {
    o.insert("tagged".into(), json!(tagged));
    o.insert("protected".into(), header_json(&p.header));
    o.insert("unprotected".into(), header_json(u));
}

fn recipients(list: &[Recipient<'_>]) -> Value {
    Value::Array(
        list.iter()
            .map(|r| {
                let mut ro = Map::new();
                ro.insert("protected".into(), header_json(&r.protected.header));
                ro.insert("unprotected".into(), header_json(&r.unprotected));
                ro.insert(
                    "ciphertext".into(),
                    r.ciphertext.map_or(Value::Null, |b| json!(hex::encode(b))),
                );
                if !r.recipients.is_empty() {
                    ro.insert("recipients".into(), recipients(&r.recipients));
                }
                Value::Object(ro)
            })
            .collect(),
    )
}

/// A header bucket as a JSON object: labels as keys (integers in decimal), values as numbers,
/// strings, lowercase hex for byte strings, arrays and objects.
fn header_json(h: &Header<'_>) -> Value {
    let mut o = Map::new();
    let mut buf = Vec::new();
    if h.encode(&mut mote_cose::cbor::Encoder::new(&mut buf))
        .is_ok()
    {
        let mut d = Decoder::new(&buf);
        if let Ok(n) = d.map() {
            for _ in 0..n {
                let Ok(l) = Label::decode(&mut d) else { break };
                let key = match l {
                    Label::Int(i) => i.to_string(),
                    Label::Text(t) => t.to_string(),
                };
                o.insert(key, cbor_json(&mut d, 0));
            }
        }
    }
    Value::Object(o)
}

fn cbor_json(d: &mut Decoder<'_>, depth: usize) -> Value {
    if depth > mote_cose::cbor::MAX_DEPTH {
        return Value::Null;
    }
    let Ok(major) = d.peek_major() else {
        return Value::Null;
    };
    match major {
        Major::Unsigned | Major::Negative => d.i64().map_or(Value::Null, |i| json!(i)),
        Major::Bytes => d.bytes().map_or(Value::Null, |b| json!(hex::encode(b))),
        Major::Text => d.text().map_or(Value::Null, |t| json!(t)),
        Major::Array => {
            let n = d.array().unwrap_or(0);
            Value::Array((0..n).map(|_| cbor_json(d, depth + 1)).collect())
        }
        Major::Map => {
            let n = d.map().unwrap_or(0);
            let mut o = Map::new();
            for _ in 0..n {
                let k = match cbor_json(d, depth + 1) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                o.insert(k, cbor_json(d, depth + 1));
            }
            Value::Object(o)
        }
        Major::Tag => {
            let _ = d.tag();
            cbor_json(d, depth + 1)
        }
        Major::Simple => {
            if let Ok(b) = d.bool() {
                json!(b)
            } else if d.null().is_ok() {
                Value::Null
            } else {
                d.item().map_or(Value::Null, |raw| json!(hex::encode(raw)))
            }
        }
    }
}
