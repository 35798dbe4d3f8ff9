//! `mote`: the command-line tool and runtime glue of the Mote workspace.
//!
//! The command-line contract (subcommands, `--json` shapes, exit codes) is described in
//! `docs/architecture.md` and is stable: scripts and tests depend on it.
//!
//! Exit status: 0 success; 1 the input was rejected (message on stderr starting with
//! `error:`); 2 usage error (clap's own exit code).

mod decode;
mod input;

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
    /// Decode a message or payload and print its fields.
    Decode(decode::DecodeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode(args) => decode::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
