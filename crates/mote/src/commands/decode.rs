//! `mote decode --as KIND [--json] (HEX | --file PATH)`.

use anyhow::Result;
use clap::{Args, ValueEnum};

use crate::input::BytesInput;

pub(crate) mod coap;
pub(crate) mod link_format;

/// What `mote decode` is asked to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Kind {
    /// A COSE message (RFC 9052): Encrypt0, Mac0, Sign1, Encrypt, Mac, Sign, tagged or not.
    Cose,
    /// A CoAP message in UDP framing (RFC 7252 §3).
    Coap,
    /// A CoAP message in TCP framing (RFC 8323 §3.2).
    CoapTcp,
    /// An OMA-TLV payload (LwM2M TS Core §7.4.3): its TLV structure.
    Tlv,
    /// A SenML-JSON payload (RFC 8428, LwM2M TS Core §7.4.4): LwM2M records.
    SenmlJson,
    /// A SenML-CBOR payload (RFC 8428, LwM2M TS Core §7.4.5): LwM2M records.
    SenmlCbor,
    /// An LwM2M-CBOR payload (LwM2M TS Core 1.2 §7.4.6): LwM2M records.
    Lwm2mCbor,
    /// The value of an OSCORE option (RFC 8613 §6.1).
    OscoreOption,
    /// An EDHOC message (RFC 9528 §5, §6) named by `--message 1|2|3|4|error`; nothing is decrypted.
    Edhoc,
    /// A CoRE Link Format document (RFC 6690), e.g. an LwM2M registration payload.
    LinkFormat,
}

/// Arguments of `mote decode`.
#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    /// What the input is.
    #[arg(long = "as", value_enum, value_name = "KIND")]
    pub(crate) kind: Kind,
    /// Print JSON in the stable shape of the command-line contract.
    #[arg(long)]
    pub(crate) json: bool,
    /// With `--as edhoc`: which message the input is (1, 2, 3, 4 or error).
    #[arg(long, value_name = "N")]
    pub(crate) message: Option<String>,
    #[command(flatten)]
    pub(crate) input: BytesInput,
}

/// Runs `mote decode`.
pub(crate) fn run(args: &DecodeArgs) -> Result<()> {
    let bytes = args.input.bytes()?;
    let output = match args.kind {
        Kind::Cose => crate::commands::cose::decode(&bytes, args.json)?,
        Kind::Coap => coap::decode_udp(&bytes, args.json)?,
        Kind::CoapTcp => coap::decode_tcp(&bytes, args.json)?,
        Kind::Tlv => crate::commands::lwm2m::decode_tlv_structure(&bytes, args.json)?,
        Kind::SenmlJson => crate::commands::lwm2m::decode_records(
            mote_lwm2m::Format::SenmlJson,
            &bytes,
            args.json,
        )?,
        Kind::SenmlCbor => crate::commands::lwm2m::decode_records(
            mote_lwm2m::Format::SenmlCbor,
            &bytes,
            args.json,
        )?,
        Kind::Lwm2mCbor => crate::commands::lwm2m::decode_records(
            mote_lwm2m::Format::LwM2mCbor,
            &bytes,
            args.json,
        )?,
        Kind::OscoreOption => crate::commands::oscore::decode_option(&bytes, args.json)?,
        Kind::Edhoc => crate::commands::edhoc::decode(&bytes, args.message.as_deref(), args.json)?,
        Kind::LinkFormat => link_format::decode(&bytes, args.json)?,
    };
    println!("{output}");
    Ok(())
}
