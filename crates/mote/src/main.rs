//! `mote`: the command-line tool and runtime glue of the Mote workspace.
//!
//! The command-line contract (subcommands, `--json` shapes, exit codes) is described in
//! `docs/cli.md` and is stable: scripts and tests depend on it.
//!
//! Exit status: 0 success; 1 the input was rejected (message on stderr starting with
//! `error:`); 2 usage error (clap's own exit code).

mod commands;
mod context_file;
mod edhoc_coap;
mod input;
mod logging;
mod net;
mod object_tree;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Mote: end-to-end secure device management for constrained IoT devices.
#[derive(Debug, Parser)]
#[command(name = "mote", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// LwM2M access control: decide an operation against a client's ACL state.
    Access(commands::access::AccessArgs),
    /// COSE: verify/decrypt (open) or create (seal) COSE messages.
    Cose(commands::cose::CoseArgs),
    /// Decode a message or payload and print its fields.
    Decode(commands::decode::DecodeArgs),
    /// EDHOC (RFC 9528): check credential files.
    Edhoc(commands::edhoc::EdhocArgs),
    /// Run the end-to-end demo on loopback: EDHOC, OSCORE through proxies, attacks, access control.
    Demo(commands::demo::DemoArgs),
    /// OSCORE (RFC 8613): derive contexts, protect and verify messages.
    Oscore(commands::oscore::OscoreArgs),
    /// Send a CoAP request over UDP (coap://) or TCP (coap+tcp://); block-wise, Observe, OSCORE.
    Coap(commands::coap::CoapArgs),
    /// Run a CoAP server exposing an LwM2M Client's object tree (UDP and/or TCP; OSCORE).
    Serve(commands::serve::ServeArgs),
    /// Run an LwM2M server: registrations, operations and events over a REST API.
    Lwm2mServer(commands::lwm2m_server::Lwm2mServerArgs),
    /// An OSCORE-unaware CoAP forward proxy (UDP or TCP on either side), optionally an on-path attacker.
    Proxy(commands::proxy::ProxyArgs),
    /// LwM2M payloads: decode or encode TLV, SenML, LwM2M-CBOR, text, opaque, CBOR.
    Lwm2m(commands::lwm2m::Lwm2mArgs),
    /// An LwM2M Bootstrap-Server provisioning clients from a JSON plan (UDP and/or TCP; OSCORE).
    BootstrapServer(commands::bootstrap_server::BootstrapServerArgs),
    /// An LwM2M Client: registers, is managed and observed, reports; stdin controls it.
    Lwm2mClient(commands::lwm2m_client::Lwm2mClientArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Held until `main` returns: dropping it flushes what the logging thread still holds.
    let _log = logging::init();
    let result = match cli.command {
        Command::Access(args) => commands::access::run(&args),
        Command::Cose(args) => commands::cose::run(&args),
        Command::Decode(args) => commands::decode::run(&args),
        Command::Edhoc(args) => commands::edhoc::run(&args),
        Command::Demo(args) => commands::demo::run(&args),
        Command::Oscore(args) => commands::oscore::run(&args),
        Command::Coap(args) => commands::coap::run(&args),
        Command::Serve(args) => commands::serve::run(&args),
        Command::Lwm2mServer(args) => commands::lwm2m_server::run(&args),
        Command::Proxy(args) => commands::proxy::run(&args),
        Command::Lwm2m(args) => commands::lwm2m::run(&args),
        Command::BootstrapServer(args) => commands::bootstrap_server::run(&args),
        Command::Lwm2mClient(args) => commands::lwm2m_client::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
