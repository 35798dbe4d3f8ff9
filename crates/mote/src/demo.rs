//! `mote demo`: the end-to-end story on loopback. Until the networked roles exist, it shows the
//! CoAP layer they stand on: it builds the LwM2M 1.1 Register request a device sends
//! (CON POST /rd?ep=…&lt=…&lwm2m=1.1&b=U, Content-Format 40, a link-format payload), encodes it,
//! decodes the bytes again with full validation and prints what a server sees.

use anyhow::{Context, Result, ensure};
use clap::Args;
use mote_coap::code::{Code, MessageType};
use mote_coap::content_format::ContentFormat;
use mote_coap::link_format::LinkFormat;
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;

/// Arguments of `mote demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Endpoint client name of the simulated device.
    #[arg(long, default_value = "device-0001")]
    pub(crate) endpoint: String,
}

/// The objects and instances the simulated device registers (LwM2M 1.1 Core §6.2.1).
const OBJECTS: &str =
    "</>;rt=\"oma.lwm2m\";ct=11543,</1/0>,</3/0>,</4/0>,</5/0>,</6>,</19/0>,</19/1>,</21/0>";

/// The Register request (LwM2M Transport 1.1 §6.4.1: POST /rd with ep, lt, lwm2m and b).
pub(crate) fn registration(endpoint: &str, message_id: u16, token: [u8; 4]) -> OwnedMessage {
    OwnedMessage::new(MessageType::Con, Code::POST, message_id)
        .with_token(token)
        .with_option(OptionNumber::URI_PATH, "rd")
        .with_uint_option(
            OptionNumber::CONTENT_FORMAT,
            u32::from(ContentFormat::LINK_FORMAT.0),
        )
        .with_option(OptionNumber::URI_QUERY, format!("ep={endpoint}"))
        .with_option(OptionNumber::URI_QUERY, "lt=86400")
        .with_option(OptionNumber::URI_QUERY, "lwm2m=1.1")
        .with_option(OptionNumber::URI_QUERY, "b=U")
        .with_payload(OBJECTS)
}

/// Runs `mote demo`.
pub(crate) fn run(args: &DemoArgs) -> Result<()> {
    let request = registration(&args.endpoint, 0x1f2e, [0x5a, 0x17, 0xc0, 0x01]);
    let bytes = request.to_vec().context("encoding the Register request")?;
    println!(
        "Mote demo: the LwM2M 1.1 Register request of endpoint {:?}",
        args.endpoint
    );
    println!();
    println!(
        "encoded ({} bytes, {} predicted by encoded_len):",
        bytes.len(),
        request.encoded_len()
    );
    for chunk in bytes.chunks(24) {
        println!("  {}", hex::encode(chunk));
    }
    println!();

    let decoded = Message::decode(&bytes).context("decoding our own Register request")?;
    decoded
        .check_options()
        .context("option check (RFC 7252 §5.4)")?;
    ensure!(
        decoded.to_owned() == request,
        "decode(encode(request)) differs from the request"
    );
    println!("decoded and validated (what the LwM2M server sees):");
    println!("{}", crate::decode::coap::render_message(&decoded, false)?);
    println!();

    let links = LinkFormat::parse_bytes(decoded.payload()).context("registration payload")?;
    println!("registered objects (application/link-format, RFC 6690):");
    for link in links.links() {
        let attrs: Vec<String> = link
            .attributes()
            .map(|a| match a.value() {
                Some(v) => format!("{}={}", a.name(), v.raw()),
                None => a.name().to_owned(),
            })
            .collect();
        if attrs.is_empty() {
            println!("  <{}>", link.target());
        } else {
            println!("  <{}>  {}", link.target(), attrs.join(" "));
        }
    }
    println!();
    println!(
        "JSON (as `mote decode --as coap --json {}`):",
        hex::encode(&bytes)
    );
    println!("{}", crate::decode::coap::render_message(&decoded, true)?);
    Ok(())
}
