//! `mote decode --as coap|coap-tcp`: CoAP messages over UDP (RFC 7252 §3) and CoAP over TCP
//! frames (RFC 8323 §3.2), printed as text or in the stable JSON shape of docs/cli.md.

use std::fmt::Write as _;

use anyhow::Result;
use mote_coap::code::Code;
use mote_coap::content_format::ContentFormat;
use mote_coap::message::{DecodeLimits, Message};
use mote_coap::option::{self, OptionFormat, OptionNumber, OptionRef};
use mote_coap::tcp::{Frame, FrameLimits, signaling_option};
use serde::Serialize;
use serde_json::Value;

/// One option in the JSON shape: `{"number":11,"name":"Uri-Path","value":"3"}`.
#[derive(Debug, Serialize)]
pub(crate) struct JsonOption {
    number: u16,
    name: Option<&'static str>,
    value: Value,
}

/// A UDP message in the JSON shape (field order is part of the contract).
#[derive(Debug, Serialize)]
struct JsonMessage {
    #[serde(rename = "type")]
    mtype: &'static str,
    code: String,
    code_name: Option<&'static str>,
    message_id: u16,
    token: String,
    options: Vec<JsonOption>,
    payload: String,
}

/// A TCP frame in the JSON shape: the UDP object without `type` and `message_id`.
#[derive(Debug, Serialize)]
struct JsonFrame {
    code: String,
    code_name: Option<&'static str>,
    token: String,
    options: Vec<JsonOption>,
    payload: String,
}

/// The format of option `number` under `code`: signaling options have their own numbering
/// (RFC 8323 §5.2).
fn describe(code: Code, number: OptionNumber) -> Option<(&'static str, OptionFormat)> {
    if code.is_signaling() {
        let name = signaling_option::name(code, number.0)?;
        let format = match name {
            "Block-Wise-Transfer" | "Custody" => OptionFormat::Empty,
            "Alternative-Address" => OptionFormat::String,
            _ => OptionFormat::Uint,
        };
        Some((name, format))
    } else {
        number.definition().map(|d| (d.name, d.format))
    }
}

/// The JSON value of an option: a number for uint options, a string for string options, hex
/// for opaque, empty and unregistered options (and for values that do not fit their format:
/// uints over 4 bytes, strings that are not UTF-8).
fn option_value(format: Option<OptionFormat>, o: &OptionRef<'_>) -> Value {
    match format {
        Some(OptionFormat::Uint) => match o.as_uint() {
            Ok(n) => Value::from(n),
            Err(_) => Value::from(hex::encode(o.value)),
        },
        Some(OptionFormat::String) => match o.as_str() {
            Ok(s) => Value::from(s),
            Err(_) => Value::from(hex::encode(o.value)),
        },
        _ => Value::from(hex::encode(o.value)),
    }
}

pub(crate) fn json_options<'a>(
    code: Code,
    options: impl Iterator<Item = OptionRef<'a>>,
) -> Vec<JsonOption> {
    options
        .map(|o| {
            let described = describe(code, o.number);
            JsonOption {
                number: o.number.0,
                name: described.map(|d| d.0),
                value: option_value(described.map(|d| d.1), &o),
            }
        })
        .collect()
}

/// Human-readable lines for the options, with the RFC 7252 §5.4 check results.
fn text_options<'a>(
    out: &mut String,
    code: Code,
    options: impl Iterator<Item = OptionRef<'a>> + Clone,
) {
    for o in options.clone() {
        let described = describe(code, o.number);
        let name = described.map_or("(unregistered)", |d| d.0);
        let value = match option_value(described.map(|d| d.1), &o) {
            Value::Number(n) => {
                let n = n.as_u64().unwrap_or_default();
                let cf = matches!(
                    o.number,
                    OptionNumber::CONTENT_FORMAT | OptionNumber::ACCEPT
                ) && !code.is_signaling();
                match u16::try_from(n)
                    .ok()
                    .filter(|_| cf)
                    .and_then(|id| ContentFormat(id).media_type())
                {
                    Some(media) => format!("{n} ({media})"),
                    None => n.to_string(),
                }
            }
            Value::String(s)
                if matches!(described, Some((_, OptionFormat::String))) && o.as_str().is_ok() =>
            {
                format!("{s:?}")
            }
            Value::String(s) if s.is_empty() => "(empty)".to_owned(),
            Value::String(s) => format!("0x{s}"),
            other => other.to_string(),
        };
        let _ = writeln!(out, "  {name} ({}): {value}", o.number.0);
    }
    if !code.is_signaling() {
        for issue in option::issues(options) {
            let verdict = if issue.number().is_critical() {
                "rejected, critical"
            } else {
                "ignored, elective"
            };
            let _ = writeln!(out, "  warning: {issue} ({verdict})");
        }
    }
}

fn text_payload(out: &mut String, payload: &[u8]) {
    match std::str::from_utf8(payload) {
        _ if payload.is_empty() => out.push_str("  payload: none\n"),
        Ok(text)
            if !text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') =>
        {
            let _ = writeln!(out, "  payload ({} bytes): {text:?}", payload.len());
        }
        _ => {
            let _ = writeln!(
                out,
                "  payload ({} bytes): {}",
                payload.len(),
                hex::encode(payload)
            );
        }
    }
}

fn code_text(code: Code) -> String {
    match code.name() {
        Some(name) => format!("{code} {name}"),
        None => code.to_string(),
    }
}

fn token_text(token: &[u8]) -> String {
    if token.is_empty() {
        "(none)".to_owned()
    } else {
        hex::encode(token)
    }
}

/// Renders a decoded UDP message.
pub(crate) fn render_message(m: &Message<'_>, json: bool) -> Result<String> {
    if json {
        let shape = JsonMessage {
            mtype: m.mtype().as_str(),
            code: m.code().to_string(),
            code_name: m.code().name(),
            message_id: m.message_id(),
            token: hex::encode(m.token()),
            options: json_options(m.code(), m.options()),
            payload: hex::encode(m.payload()),
        };
        return Ok(serde_json::to_string(&shape)?);
    }
    let mut out = format!(
        "CoAP over UDP: {} {}, message ID {} (0x{:04x}), token {}\n",
        m.mtype(),
        code_text(m.code()),
        m.message_id(),
        m.message_id(),
        token_text(m.token())
    );
    text_options(&mut out, m.code(), m.options());
    text_payload(&mut out, m.payload());
    Ok(out.trim_end().to_owned())
}

/// Renders a decoded TCP frame.
fn render_frame(f: &Frame<'_>, json: bool) -> Result<String> {
    if json {
        let shape = JsonFrame {
            code: f.code().to_string(),
            code_name: f.code().name(),
            token: hex::encode(f.token()),
            options: json_options(f.code(), f.options()),
            payload: hex::encode(f.payload()),
        };
        return Ok(serde_json::to_string(&shape)?);
    }
    let mut out = format!(
        "CoAP over TCP: {}, token {}\n",
        code_text(f.code()),
        token_text(f.token())
    );
    text_options(&mut out, f.code(), f.options());
    text_payload(&mut out, f.payload());
    if f.code().is_signaling() {
        if let Err(e) = f.signal() {
            let _ = writeln!(out, "  warning: {e}");
        }
    }
    Ok(out.trim_end().to_owned())
}

/// `mote decode --as coap`: one datagram. Extended tokens (RFC 8974) are accepted, since an
/// inspection tool should show what is there.
pub(crate) fn decode_udp(bytes: &[u8], json: bool) -> Result<String> {
    let m = Message::decode_with(
        bytes,
        &DecodeLimits::extended_tokens(mote_coap::option::MAX_VALUE_LEN),
    )
    .map_err(mote_coap::error::Error::from)?;
    render_message(&m, json)
}

/// `mote decode --as coap-tcp`: exactly one frame.
pub(crate) fn decode_tcp(bytes: &[u8], json: bool) -> Result<String> {
    let f = Frame::decode_exact(bytes, &FrameLimits::UNLIMITED)
        .map_err(mote_coap::error::Error::from)?;
    render_frame(&f, json)
}
