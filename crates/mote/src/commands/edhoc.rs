//! `mote decode --as edhoc --message N` (fields of an EDHOC message, RFC 9528 §5 and §6,
//! decrypting nothing) and the EDHOC credential file shared with `mote coap --edhoc` and
//! `mote serve --edhoc` (format in `docs/edhoc-credentials.md`).

use anyhow::{Result, anyhow, bail};
use mote_edhoc::{Ead, ErrorMessage, Message1, Message2, message};
use serde_json::{Value, json};

/// Which EDHOC message `--message` names.
fn which(message: Option<&str>) -> Result<&str> {
    match message {
        Some(m @ ("1" | "2" | "3" | "4" | "error")) => Ok(m),
        Some(other) => bail!("--message must be 1, 2, 3, 4 or error, not {other:?}"),
        None => bail!("--as edhoc needs --message 1|2|3|4|error"),
    }
}

fn ead_json(ead: &[u8]) -> Result<Value> {
    let ead = Ead::from_bytes(ead).map_err(|e| anyhow!("EAD: {e}"))?;
    Ok(Value::Array(
        ead.items()
            .map(|i| json!({"label": i.label, "critical": i.is_critical(), "value": i.value.map(hex::encode)}))
            .collect(),
    ))
}

/// Decodes one EDHOC message into the JSON of the command-line contract.
pub(crate) fn decode_json(bytes: &[u8], message: Option<&str>) -> Result<Value> {
    let which = which(message)?;
    Ok(match which {
        "1" => {
            let m = Message1::parse(bytes).map_err(|e| anyhow!("message_1: {e}"))?;
            json!({
                "message": 1,
                "method": m.method,
                "suites_i": m.suites_i.as_slice(),
                "selected_suite": m.suites_i.last(),
                "g_x": hex::encode(m.g_x),
                "c_i": hex::encode(m.c_i.as_bytes()),
                "ead_1": ead_json(m.ead_1)?,
            })
        }
        "2" => {
            // G_Y is 32 bytes in every supported cipher suite (X25519, P-256 x-coordinate).
            let m = Message2::parse(bytes, 32).map_err(|e| anyhow!("message_2: {e}"))?;
            json!({"message": 2, "g_y": hex::encode(m.g_y), "ciphertext_2": hex::encode(m.ciphertext_2)})
        }
        "3" | "4" => {
            let ct =
                message::single_bstr_message(bytes).map_err(|e| anyhow!("message_{which}: {e}"))?;
            let n: u8 = if which == "3" { 3 } else { 4 };
            json!({"message": n, format!("ciphertext_{n}"): hex::encode(ct)})
        }
        _ => {
            let e = ErrorMessage::parse(bytes).map_err(|e| anyhow!("error message: {e}"))?;
            let mut v = json!({"message": "error", "err_code": e.code()});
            match e {
                ErrorMessage::Unspecified(text) => v["diagnostic"] = json!(text),
                ErrorMessage::WrongSelectedCipherSuite(s) => v["suites_r"] = json!(s.as_slice()),
                ErrorMessage::UnknownCredential => v["unknown_credential"] = json!(true),
                ErrorMessage::Other { info, .. } => v["err_info"] = json!(hex::encode(info)),
                _ => {}
            }
            v
        }
    })
}

/// `mote decode --as edhoc`: JSON, or one `field: value` line per field.
pub(crate) fn decode(bytes: &[u8], message: Option<&str>, as_json: bool) -> Result<String> {
    let v = decode_json(bytes, message)?;
    if as_json {
        return Ok(v.to_string());
    }
    let Value::Object(map) = v else {
        return Ok(v.to_string());
    };
    // Text output in the order of the message's fields (RFC 9528 §5), "message" first.
    let order = [
        "message",
        "method",
        "suites_i",
        "selected_suite",
        "g_x",
        "c_i",
        "ead_1",
        "g_y",
        "ciphertext_2",
        "ciphertext_3",
        "ciphertext_4",
        "err_code",
    ];
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by_key(|k| order.iter().position(|o| o == k).unwrap_or(order.len()));
    let mut out = Vec::new();
    for k in keys {
        let text = match map.get(k) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        out.push(format!("{k}: {text}"));
    }
    Ok(out.join("\n"))
}

/// The EDHOC credential file (`--edhoc FILE`), documented in `docs/edhoc-credentials.md`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CredentialFile {
    /// METHOD (0..=3) this endpoint uses as Initiator; as Responder, the methods accepted.
    #[serde(default = "default_methods")]
    methods: Vec<u8>,
    /// Cipher suites, most preferred first.
    #[serde(default = "default_suites")]
    suites: Vec<u8>,
    /// Own credential.
    credential: CredentialSpec,
    /// Own private authentication key (hex).
    private_key: String,
    /// How ID_CRED identifies the own credential: "reference" (kid / x5t, default) or "value"
    /// (kccs / x5chain).
    #[serde(default)]
    send: Send,
    /// Peer credentials known in advance (looked up by ID_CRED).
    #[serde(default)]
    peers: Vec<CredentialSpec>,
    /// Root certificates (DER hex) that peer chains sent by value must lead to.
    #[serde(default)]
    trust_anchors: Vec<String>,
    /// Own connection identifier (hex), C_I as Initiator or C_R as Responder; random if absent.
    connection_id: Option<String>,
    /// Labels of critical EAD items the application understands.
    #[serde(default)]
    ead_labels: Vec<i64>,
}

fn default_methods() -> Vec<u8> {
    vec![3]
}

fn default_suites() -> Vec<u8> {
    vec![2]
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum Send {
    #[default]
    Reference,
    Value,
}

/// A credential: a CWT Claims Set (hex CBOR) or an X.509 certificate (hex DER).
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
enum CredentialSpec {
    Ccs(String),
    X509(String),
}

impl CredentialSpec {
    fn load(&self) -> Result<mote_edhoc::Credential> {
        let mut c = mote_edhoc::MoteCrypto::new();
        match self {
            Self::Ccs(h) => mote_edhoc::Credential::ccs(&crate::input::parse_hex(h)?)
                .map_err(|e| anyhow!("CCS: {e}")),
            Self::X509(h) => mote_edhoc::Credential::x509(&crate::input::parse_hex(h)?, &mut c)
                .map_err(|e| anyhow!("X.509: {e}")),
        }
    }
}

/// A loaded credential file.
pub(crate) struct EdhocSetup {
    pub(crate) methods: Vec<mote_edhoc::Method>,
    pub(crate) suites: Vec<u8>,
    pub(crate) identity: mote_edhoc::Identity,
    pub(crate) peers: Vec<mote_edhoc::Credential>,
    pub(crate) trust_anchors: Vec<mote_edhoc::TrustAnchor>,
    pub(crate) connection_id: Option<mote_edhoc::ConnId>,
    pub(crate) ead_labels: Vec<i64>,
}

/// The system time since the Unix epoch, for certificate validity (zero if the clock is set
/// before 1970, which fails every validity period).
fn system_time() -> std::time::Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

/// Reads and checks a credential file: every key, credential and certificate must parse and
/// the own key must fit at least one of the listed suites.
pub(crate) fn load_credential_file(text: &str) -> Result<EdhocSetup> {
    let f: CredentialFile =
        serde_json::from_str(text).map_err(|e| anyhow!("EDHOC credential file: {e}"))?;
    let methods = f
        .methods
        .iter()
        .map(|m| {
            mote_edhoc::Method::from_value(i64::from(*m))
                .ok_or_else(|| anyhow!("method {m} is not 0..=3"))
        })
        .collect::<Result<Vec<_>>>()?;
    if methods.is_empty() || f.suites.is_empty() {
        bail!("EDHOC credential file: methods and suites must not be empty");
    }
    for s in &f.suites {
        mote_edhoc::CipherSuite::from_id(i64::from(*s))
            .ok_or_else(|| anyhow!("cipher suite {s} is not supported (0..=6)"))?;
    }
    let credential = f.credential.load()?;
    let key = crate::input::parse_hex(&f.private_key)?;
    let identity = match f.send {
        Send::Reference => mote_edhoc::Identity::by_reference(credential, &key),
        Send::Value => mote_edhoc::Identity::by_value(credential, &key),
    }
    .map_err(|e| anyhow!("own credential: {e}"))?;
    let peers = f
        .peers
        .iter()
        .map(CredentialSpec::load)
        .collect::<Result<Vec<_>>>()?;
    let trust_anchors = f
        .trust_anchors
        .iter()
        .map(|h| {
            // Peer chains are checked at the system time of each validation (RFC 5280 §6.1.3).
            mote_edhoc::TrustAnchor::new(
                &crate::input::parse_hex(h)?,
                mote_edhoc::ValidationTime::Clock(system_time),
            )
            .map_err(|e| anyhow!("trust anchor: {e}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let connection_id = f
        .connection_id
        .as_deref()
        .map(|h| {
            mote_edhoc::ConnId::from_slice(&crate::input::parse_hex(h)?)
                .map_err(|e| anyhow!("connection_id: {e}"))
        })
        .transpose()?;
    Ok(EdhocSetup {
        methods,
        suites: f.suites,
        identity,
        peers,
        trust_anchors,
        connection_id,
        ead_labels: f.ead_labels,
    })
}

/// `mote edhoc check-credentials FILE [--json]`: loads a credential file and summarizes it.
pub(crate) fn check_credentials(path: &std::path::Path, as_json: bool) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
    let s = load_credential_file(&text)?;
    let v = json!({
        "methods": s.methods.iter().map(|m| m.value()).collect::<Vec<_>>(),
        "suites": s.suites,
        "credential": match s.identity.credential.kind() { mote_edhoc::CredentialKind::Ccs => "ccs", mote_edhoc::CredentialKind::Cwt => "cwt", mote_edhoc::CredentialKind::X509 => "x509" },
        "id_cred": hex::encode(s.identity.id_cred.as_map()),
        "peers": s.peers.len(),
        "trust_anchors": s.trust_anchors.len(),
        "connection_id": s.connection_id.map(|c| hex::encode(c.as_bytes())),
        "ead_labels": s.ead_labels,
    });
    Ok(if as_json {
        v.to_string()
    } else {
        serde_json::to_string_pretty(&v)?
    })
}

/// `mote edhoc …`
#[derive(Debug, clap::Args)]
pub(crate) struct EdhocArgs {
    #[command(subcommand)]
    command: EdhocCommand,
}

#[derive(Debug, clap::Subcommand)]
enum EdhocCommand {
    /// Check an EDHOC credential file (as used by `--edhoc FILE`) and summarize it.
    CheckCredentials {
        /// The JSON credential file.
        file: std::path::PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `mote edhoc`.
pub(crate) fn run(args: &EdhocArgs) -> Result<()> {
    match &args.command {
        EdhocCommand::CheckCredentials { file, json } => {
            println!("{}", check_credentials(file, *json)?)
        }
    }
    Ok(())
}
