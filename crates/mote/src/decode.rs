//! `mote decode --as KIND [--json] (HEX | --file PATH)`.

use anyhow::Result;
use clap::{Args, ValueEnum};

use crate::input::BytesInput;

/// What `mote decode` is asked to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Kind {
    /// A CoAP message in UDP framing (RFC 7252 §3).
    Coap,
    /// A CoAP message in TCP framing (RFC 8323 §3.2).
    CoapTcp,
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
    #[command(flatten)]
    pub(crate) input: BytesInput,
}

/// Runs `mote decode`.
pub(crate) fn run(args: &DecodeArgs) -> Result<()> {
    let bytes = args.input.bytes()?;
    let _ = (bytes, args.kind, args.json);
    anyhow::bail!("decoder not available yet")
}
