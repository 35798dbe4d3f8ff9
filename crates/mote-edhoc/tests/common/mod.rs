//! Test-vector loading shared by the integration tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::HashMap;

/// `key = hex` lines from a file in `tests/data/`.
pub struct Vectors(HashMap<String, Vec<u8>>);

impl Vectors {
    pub fn load(name: &str) -> Self {
        let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut map = HashMap::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line.split_once('=').expect("key = hex");
            map.insert(k.trim().to_string(), hex::decode(v.trim()).expect("hex"));
        }
        Self(map)
    }

    pub fn get(&self, key: &str) -> &[u8] {
        self.0
            .get(key)
            .unwrap_or_else(|| panic!("missing vector {key}"))
    }

    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }
}

/// Asserts equality with a readable hex diff.
#[track_caller]
pub fn eq(name: &str, got: &[u8], want: &[u8]) {
    assert_eq!(
        hex::encode(got),
        hex::encode(want),
        "{name} differs from RFC 9529"
    );
}

use mote_edhoc::{CipherSuite, Credential, Crypto, Identity, MoteCrypto, Secret};

/// A fresh identity (CCS with a COSE_Key) whose key fits `suite` for static DH or signatures.
pub fn identity(
    suite: &CipherSuite,
    static_dh: bool,
    name: &str,
    kid: &[u8],
    by_value: bool,
) -> Identity {
    let mut c = MoteCrypto::new();
    let mut sk = [0u8; 32];
    c.random_bytes(&mut sk);
    let secret = Secret::from_slice(&sk).unwrap();
    let cred =
        Credential::ccs_for_private_key(&mut c, suite, static_dh, name, kid, &secret).unwrap();
    if by_value {
        Identity::by_value(cred, &sk).unwrap()
    } else {
        Identity::by_reference(cred, &sk).unwrap()
    }
}
