//! Loader for the spec vectors in `tests/data/`: one file per figure, one `[title]` section per
//! message, `key = value` lines (see the header of `tests/data/rfc7252/figure-16.txt`).

#![allow(dead_code, unreachable_pub, missing_docs)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

/// One message transcribed from a spec figure.
#[derive(Debug, Default, Clone)]
pub struct Vector {
    pub file: String,
    pub title: String,
    pub transport: String,
    pub bytes: Vec<u8>,
    pub mtype: Option<String>,
    pub code: String,
    pub message_id: Option<u16>,
    pub token: Vec<u8>,
    /// (number, value bytes)
    pub options: Vec<(u16, Vec<u8>)>,
    pub payload: Vec<u8>,
}

pub fn hex(text: &str) -> Vec<u8> {
    let digits: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    hex::decode(digits).unwrap_or_else(|e| panic!("bad hex {text:?}: {e}"))
}

/// A value: `"text"`, `hex:HEX`, `uint:N` (minimal big-endian), or a bare hex string.
fn value(text: &str) -> Vec<u8> {
    let text = text.trim();
    if let Some(quoted) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        quoted.as_bytes().to_vec()
    } else if let Some(h) = text.strip_prefix("hex:") {
        hex(h)
    } else if let Some(n) = text.strip_prefix("uint:") {
        let n: u32 = n.parse().unwrap();
        let be = n.to_be_bytes();
        be[(n.leading_zeros() / 8) as usize..].to_vec()
    } else {
        hex(text)
    }
}

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Every vector of every file under `tests/data/<dir>`.
pub fn load_dir(dir: &str) -> Vec<Vector> {
    let mut files: Vec<_> = std::fs::read_dir(data_dir().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    files.iter().flat_map(|f| load_file(f)).collect()
}

pub fn load_file(path: &Path) -> Vec<Vector> {
    let text = std::fs::read_to_string(path).unwrap();
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut out: Vec<Vector> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(title) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push(Vector {
                file: file.clone(),
                title: title.to_owned(),
                ..Vector::default()
            });
            continue;
        }
        let (key, val) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("{file}: bad line {line:?}"));
        let (key, val) = (key.trim(), val.trim());
        let v = out
            .last_mut()
            .unwrap_or_else(|| panic!("{file}: line before any section"));
        match key {
            "transport" => v.transport = val.to_owned(),
            "hex" => v.bytes = hex(val),
            "type" => v.mtype = Some(val.to_owned()),
            "code" => v.code = val.to_owned(),
            "message_id" => {
                v.message_id = Some(u16::from_str_radix(val.trim_start_matches("0x"), 16).unwrap())
            }
            "token" => v.token = hex(val),
            "option" => {
                let (n, rest) = val.split_once(' ').unwrap();
                v.options.push((n.parse().unwrap(), value(rest)));
            }
            "payload" => {
                v.payload = if val.is_empty() {
                    Vec::new()
                } else {
                    value(val)
                }
            }
            other => panic!("{file}: unknown key {other}"),
        }
    }
    out
}
