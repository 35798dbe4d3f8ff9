//! Loader for the transcribed RFC 8613 test vectors in `tests/data/`.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod endpoint;

use std::collections::BTreeMap;

pub type Vector = BTreeMap<String, String>;

/// Parses `[section]` blocks of `key = value` lines.
pub fn load(text: &str) -> BTreeMap<String, Vector> {
    let mut out = BTreeMap::new();
    let mut current: Option<(String, Vector)> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if let Some((n, v)) = current.take() {
                out.insert(n, v);
            }
            current = Some((name.to_string(), Vector::new()));
            continue;
        }
        let (k, v) = line.split_once('=').expect("key = value");
        current
            .as_mut()
            .expect("section")
            .1
            .insert(k.trim().to_string(), v.trim().to_string());
    }
    if let Some((n, v)) = current.take() {
        out.insert(n, v);
    }
    out
}

/// Hex value of a key ("-" = empty).
pub fn hex(v: &Vector, key: &str) -> Vec<u8> {
    let s = v.get(key).unwrap_or_else(|| panic!("missing {key}"));
    if s == "-" {
        return Vec::new();
    }
    hex::decode(s).unwrap_or_else(|e| panic!("{key}: {e}"))
}

pub fn opt_hex(v: &Vector, key: &str) -> Option<Vec<u8>> {
    v.contains_key(key).then(|| hex(v, key))
}

pub fn appendix_c() -> BTreeMap<String, Vector> {
    load(include_str!("../data/rfc8613_appendix_c.txt"))
}

/// A tiny CoAP message builder for tests (RFC 7252 §3, RFC 8323 §3.2), independent of the
/// crate under test.
pub mod coap {
    /// Framing of a test message.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum F {
        Udp,
        Tcp,
    }

    fn ext(v: usize) -> (u8, Vec<u8>) {
        if v < 13 {
            (v as u8, vec![])
        } else if v < 269 {
            (13, vec![(v - 13) as u8])
        } else {
            (14, ((v - 269) as u16).to_be_bytes().to_vec())
        }
    }

    /// Encodes options (sorted by number, stable) and payload.
    pub fn body(options: &[(u16, Vec<u8>)], payload: &[u8]) -> Vec<u8> {
        let mut opts = options.to_vec();
        opts.sort_by_key(|o| o.0);
        let mut out = vec![];
        let mut last = 0u16;
        for (n, v) in opts {
            let (dn, de) = ext((n - last) as usize);
            let (ln, le) = ext(v.len());
            out.push((dn << 4) | ln);
            out.extend(de);
            out.extend(le);
            out.extend(&v);
            last = n;
        }
        if !payload.is_empty() {
            out.push(0xff);
            out.extend(payload);
        }
        out
    }

    /// A UDP message: type 0..3, code, message ID, token.
    pub fn udp(
        ty: u8,
        code: u8,
        mid: u16,
        token: &[u8],
        options: &[(u16, Vec<u8>)],
        payload: &[u8],
    ) -> Vec<u8> {
        let mut out = vec![0x40 | (ty << 4) | token.len() as u8, code];
        out.extend(mid.to_be_bytes());
        out.extend(token);
        out.extend(body(options, payload));
        out
    }

    /// A TCP message.
    pub fn tcp(code: u8, token: &[u8], options: &[(u16, Vec<u8>)], payload: &[u8]) -> Vec<u8> {
        let b = body(options, payload);
        let tkl = token.len() as u8;
        let mut out = vec![];
        let l = b.len();
        if l < 13 {
            out.push(((l as u8) << 4) | tkl);
        } else if l < 269 {
            out.push((13 << 4) | tkl);
            out.push((l - 13) as u8);
        } else if l < 65805 {
            out.push((14 << 4) | tkl);
            out.extend(((l - 269) as u16).to_be_bytes());
        } else {
            out.push((15 << 4) | tkl);
            out.extend(((l - 65805) as u32).to_be_bytes());
        }
        out.push(code);
        out.extend(token);
        out.extend(b);
        out
    }

    /// A decoded test message.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Msg {
        pub ty: u8,
        pub code: u8,
        pub mid: u16,
        pub token: Vec<u8>,
        pub options: Vec<(u16, Vec<u8>)>,
        pub payload: Vec<u8>,
    }

    fn read_ext(n: u8, b: &[u8], i: &mut usize) -> usize {
        match n {
            13 => {
                let v = b[*i] as usize + 13;
                *i += 1;
                v
            }
            14 => {
                let v = u16::from_be_bytes([b[*i], b[*i + 1]]) as usize + 269;
                *i += 2;
                v
            }
            n => n as usize,
        }
    }

    fn parse_body(b: &[u8]) -> (Vec<(u16, Vec<u8>)>, Vec<u8>) {
        let mut i = 0;
        let mut n = 0u16;
        let mut opts = vec![];
        while i < b.len() {
            if b[i] == 0xff {
                return (opts, b[i + 1..].to_vec());
            }
            let h = b[i];
            i += 1;
            let d = read_ext(h >> 4, b, &mut i);
            let l = read_ext(h & 0xf, b, &mut i);
            n += d as u16;
            opts.push((n, b[i..i + l].to_vec()));
            i += l;
        }
        (opts, vec![])
    }

    /// Decodes a message in framing `f`.
    pub fn parse(f: F, m: &[u8]) -> Msg {
        match f {
            F::Udp => {
                let tkl = (m[0] & 0xf) as usize;
                let (options, payload) = parse_body(&m[4 + tkl..]);
                Msg {
                    ty: (m[0] >> 4) & 3,
                    code: m[1],
                    mid: u16::from_be_bytes([m[2], m[3]]),
                    token: m[4..4 + tkl].to_vec(),
                    options,
                    payload,
                }
            }
            F::Tcp => {
                let tkl = (m[0] & 0xf) as usize;
                let ext = match m[0] >> 4 {
                    13 => 1,
                    14 => 2,
                    15 => 4,
                    _ => 0,
                };
                let code = m[1 + ext];
                let token = m[2 + ext..2 + ext + tkl].to_vec();
                let (options, payload) = parse_body(&m[2 + ext + tkl..]);
                Msg {
                    ty: 0,
                    code,
                    mid: 0,
                    token,
                    options,
                    payload,
                }
            }
        }
    }

    /// Re-encodes a message in framing `f` (UDP uses ty/mid).
    pub fn encode(f: F, m: &Msg) -> Vec<u8> {
        match f {
            F::Udp => udp(m.ty, m.code, m.mid, &m.token, &m.options, &m.payload),
            F::Tcp => tcp(m.code, &m.token, &m.options, &m.payload),
        }
    }
}
