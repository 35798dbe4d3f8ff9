//! Key derivation with HKDF-SHA-512 (COSE -11) needs the `hkdf-sha512` feature; HKDF-SHA-256,
//! RFC 8613's default, derives in every build. Run it also with
//! `--no-default-features --features alloc` (the device configuration).

use mote_oscore::context::derive_keys;
use mote_oscore::{Error, HkdfAlgorithm, SecurityContextParams};

#[test]
fn hkdf_sha512_derives_only_with_its_feature() {
    let secret = [0x11u8; 16];
    let mut params = SecurityContextParams::new(&secret, &[1], &[2]);
    let sha256 = derive_keys(&params).map(|k| k.common_iv);
    assert!(sha256.is_ok(), "HKDF-SHA-256 must always derive");
    params.hkdf = HkdfAlgorithm::Sha512;
    let sha512 = derive_keys(&params).map(|k| k.common_iv);
    if cfg!(feature = "hkdf-sha512") {
        // A different hash gives a different Common IV.
        assert!(sha512.is_ok() && sha512 != sha256);
    } else {
        assert!(matches!(sha512, Err(Error::InvalidParameter(_))));
    }
}
