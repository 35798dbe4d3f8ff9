//! Input handling shared by every subcommand: hex arguments and `--file` paths.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

/// Message input: a hex argument or `--file PATH` with raw bytes.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct BytesInput {
    /// The input as hex (upper or lower case; spaces and colons are ignored).
    #[arg(value_name = "HEX")]
    pub(crate) hex: Option<String>,
    /// Read the raw bytes from a file instead.
    #[arg(long, value_name = "PATH")]
    pub(crate) file: Option<PathBuf>,
}

impl BytesInput {
    /// The bytes this input names.
    pub(crate) fn bytes(&self) -> Result<Vec<u8>> {
        match (&self.hex, &self.file) {
            (Some(hex), None) => parse_hex(hex),
            (None, Some(path)) => {
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
            }
            _ => bail!("give either HEX or --file PATH"),
        }
    }
}

/// Parses hex with optional spaces, colons, newlines and tabs between digits, in either case.
pub(crate) fn parse_hex(text: &str) -> Result<Vec<u8>> {
    let digits: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | ':' | '\n' | '\r' | '\t'))
        .collect();
    hex::decode(&digits).map_err(|e| anyhow::anyhow!("invalid hex input: {e}"))
}

#[cfg(test)]
mod tests {
    use super::parse_hex;

    #[test]
    fn hex_accepts_case_spaces_and_colons() {
        assert_eq!(parse_hex("A1 b2:C3").unwrap(), vec![0xa1, 0xb2, 0xc3]);
        assert_eq!(parse_hex("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn hex_rejects_odd_length_and_non_hex() {
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex("zz").is_err());
    }
}
