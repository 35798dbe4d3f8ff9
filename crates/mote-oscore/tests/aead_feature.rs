//! A context whose AEAD the build leaves out (mote-cose's `aes-gcm` and `chacha20` features,
//! on with `std`) is refused when it is derived, not at its first message; AES-CCM, RFC 8613's
//! default, derives in every build. Run it also with `--no-default-features --features alloc`
//! (the device configuration).

use mote_oscore::context::{aead_from_cose_id, derive_keys};
use mote_oscore::{AeadAlgorithm, Error, SecurityContext, SecurityContextParams};

#[test]
fn gcm_and_chacha20_contexts_derive_only_when_built() {
    let secret = [0x11u8; 16];
    let mut params = SecurityContextParams::new(&secret, &[1], &[2]);
    assert!(derive_keys(&params).is_ok(), "AES-CCM must always derive");
    for (alg, id) in [
        (AeadAlgorithm::A128Gcm, 1),
        (AeadAlgorithm::A256Gcm, 3),
        (AeadAlgorithm::ChaCha20Poly1305, 24),
    ] {
        params.aead = alg;
        // `std` turns mote-cose's `aes-gcm` and `chacha20` on; `alloc` alone does not.
        let built = cfg!(feature = "std");
        let context = SecurityContext::new(&params);
        if built {
            assert!(context.is_ok(), "{alg:?} derives with std");
            assert_eq!(aead_from_cose_id(id).ok(), Some(alg));
        } else {
            assert!(matches!(context, Err(Error::UnsupportedAlgorithm(i)) if i == id));
            assert!(
                matches!(aead_from_cose_id(id), Err(Error::UnsupportedAlgorithm(i)) if i == id)
            );
        }
    }
}
