//! `mote lwm2m decode|encode`: LwM2M payloads in every content format, to and from the flat
//! record array of docs/cli.md ("mote lwm2m").

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use mote_lwm2m::object::ObjectRegistry;
use mote_lwm2m::{Format, ObjectLink, Path, Record, Value};
use serde_json::{Value as Json, json};

use crate::input::BytesInput;

/// `mote lwm2m`.
#[derive(Debug, Args)]
pub(crate) struct Lwm2mArgs {
    #[command(subcommand)]
    command: Lwm2mCommand,
}

#[derive(Debug, Subcommand)]
enum Lwm2mCommand {
    /// Decode a payload into records sorted by path.
    Decode(DecodeArgs),
    /// Encode records (the JSON array printed by `decode --json`) into a payload, as hex.
    Encode(EncodeArgs),
}

/// The content formats, by their command-line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Fmt {
    /// OMA-TLV (11542).
    Tlv,
    /// SenML-JSON (110).
    SenmlJson,
    /// SenML-CBOR (112).
    SenmlCbor,
    /// LwM2M-CBOR (11544).
    Lwm2mCbor,
    /// Plain text (0).
    Text,
    /// Opaque (42).
    Opaque,
    /// CBOR single value (60).
    Cbor,
}

impl From<Fmt> for Format {
    fn from(f: Fmt) -> Format {
        match f {
            Fmt::Tlv => Format::Tlv,
            Fmt::SenmlJson => Format::SenmlJson,
            Fmt::SenmlCbor => Format::SenmlCbor,
            Fmt::Lwm2mCbor => Format::LwM2mCbor,
            Fmt::Text => Format::Text,
            Fmt::Opaque => Format::Opaque,
            Fmt::Cbor => Format::Cbor,
        }
    }
}

#[derive(Debug, Args)]
struct DecodeArgs {
    /// The payload's content format.
    #[arg(long, value_enum)]
    format: Fmt,
    /// The request path the payload answers (`/O`, `/O/I`, `/O/I/R`, `/O/I/R/RI`); needed
    /// by TLV and the single-value formats.
    #[arg(long, default_value = "/")]
    path: String,
    /// A directory of DDF XML object definitions, added to the built-in ones.
    #[arg(long, value_name = "DIR")]
    objects: Option<PathBuf>,
    /// Print the JSON record array of the command-line contract.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    input: BytesInput,
}

#[derive(Debug, Args)]
struct EncodeArgs {
    /// The content format to write.
    #[arg(long, value_enum)]
    format: Fmt,
    /// The request path the payload is for.
    #[arg(long, default_value = "/")]
    path: String,
    /// The records as a JSON array (`[{"path":"/3/0/0","type":"string","value":"…"}]`).
    #[arg(
        value_name = "JSON",
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    json: Option<String>,
    /// Read the JSON records from a file instead.
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
}

/// Runs `mote lwm2m`.
pub(crate) fn run(args: &Lwm2mArgs) -> Result<()> {
    match &args.command {
        Lwm2mCommand::Decode(a) => {
            let defs = registry(a.objects.as_deref())?;
            let base = parse_path(&a.path)?;
            let records = mote_lwm2m::decode(a.format.into(), &base, &a.input.bytes()?, &defs)?;
            println!("{}", render(&records, a.json));
        }
        Lwm2mCommand::Encode(a) => {
            let text = match (&a.json, &a.file) {
                (Some(j), None) => j.clone(),
                (None, Some(p)) => std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read {}", p.display()))?,
                _ => bail!("give either JSON or --file PATH"),
            };
            let records = records_from_json(&text)?;
            let bytes = mote_lwm2m::encode(a.format.into(), &parse_path(&a.path)?, &records)?;
            println!("{}", hex::encode(bytes));
        }
    }
    Ok(())
}

fn parse_path(s: &str) -> Result<Path> {
    s.parse().map_err(|_| anyhow!("invalid LwM2M path {s:?}"))
}

/// The built-in object definitions plus the DDF files of `dir`.
pub(crate) fn registry(dir: Option<&std::path::Path>) -> Result<ObjectRegistry> {
    let mut reg = ObjectRegistry::with_builtin();
    if let Some(dir) = dir {
        let defs = mote_lwm2m::ddf::load_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .map_err(|(file, e)| anyhow!("{}: {e}", file.display()))?;
        for d in defs {
            reg.insert(d);
        }
    }
    Ok(reg)
}

/// Records as the JSON array of the contract, or as one line per record.
pub(crate) fn render(records: &[Record], as_json: bool) -> String {
    if as_json {
        let items: Vec<String> = records.iter().map(record_json).collect();
        return format!("[{}]", items.join(","));
    }
    let mut out = String::new();
    for r in records {
        out.push_str(&format!(
            "{} {} {}",
            r.path,
            r.value.resource_type().json_name(),
            value_json(&r.value)
        ));
        if let Some(t) = r.time {
            out.push_str(&format!(" @{}", time_json(t)));
        }
        out.push('\n');
    }
    out.trim_end().to_string()
}

fn value_json(v: &Value) -> Json {
    match v {
        Value::String(s) | Value::Corelnk(s) => json!(s),
        Value::Integer(i) | Value::Time(i) => json!(i),
        Value::UnsignedInteger(u) => json!(u),
        Value::Float(f) => json!(f),
        Value::Boolean(b) => json!(b),
        Value::Opaque(o) => json!(hex::encode(o)),
        Value::Objlnk(l) => json!(l.to_string()),
    }
}

fn time_json(t: f64) -> Json {
    if t.fract() == 0.0 && t.abs() < 9.0e15 {
        json!(t as i64)
    } else {
        json!(t)
    }
}

/// `{"path":…,"type":…,"value":…}` and `"time"` when there is one, in this key order.
pub(crate) fn record_json(r: &Record) -> String {
    let mut s = format!(
        "{{\"path\":{},\"type\":{},\"value\":{}",
        json!(r.path.to_string()),
        json!(r.value.resource_type().json_name()),
        value_json(&r.value)
    );
    if let Some(t) = r.time {
        s.push_str(&format!(",\"time\":{}", time_json(t)));
    }
    s.push('}');
    s
}

/// Parses the record array of the contract.
pub(crate) fn records_from_json(text: &str) -> Result<Vec<Record>> {
    let arr: Vec<Json> = serde_json::from_str(text).context("records must be a JSON array")?;
    arr.iter()
        .enumerate()
        .map(|(i, r)| record_from_json(r).with_context(|| format!("record {i}")))
        .collect()
}

fn record_from_json(r: &Json) -> Result<Record> {
    let path = parse_path(r["path"].as_str().context("missing \"path\"")?)?;
    let ty = r["type"].as_str().context("missing \"type\"")?;
    let v = &r["value"];
    let bad = || anyhow!("\"value\" is not a valid {ty}");
    let value = match ty {
        "string" => Value::String(v.as_str().ok_or_else(bad)?.to_string()),
        "corelnk" => Value::Corelnk(v.as_str().ok_or_else(bad)?.to_string()),
        "integer" => Value::Integer(v.as_i64().ok_or_else(bad)?),
        "time" => Value::Time(v.as_i64().ok_or_else(bad)?),
        "unsigned" => Value::UnsignedInteger(v.as_u64().ok_or_else(bad)?),
        "float" => Value::Float(v.as_f64().ok_or_else(bad)?),
        "boolean" => Value::Boolean(v.as_bool().ok_or_else(bad)?),
        "opaque" => Value::Opaque(hex::decode(v.as_str().ok_or_else(bad)?).map_err(|_| bad())?),
        "objlnk" => Value::Objlnk(
            v.as_str()
                .ok_or_else(bad)?
                .parse::<ObjectLink>()
                .map_err(|_| bad())?,
        ),
        other => bail!("unknown type {other:?}"),
    };
    let time = match &r["time"] {
        Json::Null => None,
        t => Some(t.as_f64().context("\"time\" is not a number")?),
    };
    Ok(Record { path, value, time })
}

/// `mote decode --as tlv`: the TLV structure (no request path is given, so no Object ID
/// and no types): `[{"kind":"object_instance","id":0,"value":[…]},
/// {"kind":"resource","id":0,"value":"hex"}]`.
pub(crate) fn decode_tlv_structure(bytes: &[u8], as_json: bool) -> Result<String> {
    let tree = tlv_json(bytes, 0)?;
    if as_json {
        return Ok(tree.to_string());
    }
    let mut out = String::new();
    tlv_lines(&tree, 0, &mut out);
    Ok(out.trim_end().to_string())
}

fn tlv_json(bytes: &[u8], base: usize) -> Result<Json> {
    use mote_lwm2m::tlv::{TlvIter, TlvKind};
    let mut out = Vec::new();
    for t in TlvIter::new(bytes, base) {
        let t = t?;
        let (kind, value) = match t.kind {
            TlvKind::ObjectInstance => ("object_instance", tlv_json(t.value, t.offset)?),
            TlvKind::MultipleResource => ("multiple_resource", tlv_json(t.value, t.offset)?),
            TlvKind::Resource => ("resource", json!(hex::encode(t.value))),
            TlvKind::ResourceInstance => ("resource_instance", json!(hex::encode(t.value))),
        };
        out.push(json!({"kind": kind, "id": t.id, "value": value}));
    }
    Ok(Json::Array(out))
}

fn tlv_lines(tree: &Json, depth: usize, out: &mut String) {
    for e in tree.as_array().into_iter().flatten() {
        out.push_str(&format!(
            "{}{} {}",
            "  ".repeat(depth),
            e["kind"].as_str().unwrap_or(""),
            e["id"]
        ));
        match &e["value"] {
            Json::Array(_) => {
                out.push('\n');
                tlv_lines(&e["value"], depth + 1, out);
            }
            v => out.push_str(&format!(" {}\n", v.as_str().unwrap_or(""))),
        }
    }
}

/// `mote decode --as senml-json|senml-cbor|lwm2m-cbor`: records (names are absolute in
/// these formats), typed with the built-in object definitions.
pub(crate) fn decode_records(format: Format, bytes: &[u8], as_json: bool) -> Result<String> {
    let records = mote_lwm2m::decode(format, &Path::ROOT, bytes, &ObjectRegistry::with_builtin())?;
    Ok(render(&records, as_json))
}
