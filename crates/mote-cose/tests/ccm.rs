//! mote-cose's AES-CCM (RustCrypto's `ccm` over one AES type for both key sizes, dispatched on
//! the tag and nonce lengths: four `Ccm` instances for the eight COSE AES-CCM algorithms,
//! RFC 9053 §4.2) against `ccm` over the `aes` types themselves: the same ciphertext and tag
//! for every algorithm, key, nonce, AAD and message length (AAD length prefixes of 2 and 6
//! bytes, partial blocks), the same refusals, and a failed check that leaves no plaintext.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aes::{Aes128, Aes256};
use ccm::aead::generic_array::GenericArray;
use ccm::aead::{AeadInPlace, KeyInit};
use ccm::consts::{U7, U8, U13, U16};
use mote_cose::Error;
use mote_cose::algorithm::{AeadAlgorithm, AeadKey};
use proptest::prelude::*;

const CCM: [AeadAlgorithm; 8] = [
    AeadAlgorithm::AesCcm16_64_128,
    AeadAlgorithm::AesCcm16_64_256,
    AeadAlgorithm::AesCcm64_64_128,
    AeadAlgorithm::AesCcm64_64_256,
    AeadAlgorithm::AesCcm16_128_128,
    AeadAlgorithm::AesCcm16_128_256,
    AeadAlgorithm::AesCcm64_128_128,
    AeadAlgorithm::AesCcm64_128_256,
];

fn reference_with<C: AeadInPlace + KeyInit>(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<Vec<u8>, ccm::Error> {
    let c = C::new(GenericArray::from_slice(key));
    c.encrypt_in_place_detached(GenericArray::from_slice(nonce), aad, buf)
        .map(|t| t.to_vec())
}

/// RustCrypto's `ccm` for `alg`: seals `buf` in place, returns the tag.
fn reference(
    alg: AeadAlgorithm,
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<Vec<u8>, ccm::Error> {
    use ccm::Ccm;
    match alg {
        AeadAlgorithm::AesCcm16_64_128 => {
            reference_with::<Ccm<Aes128, U8, U13>>(key, nonce, aad, buf)
        }
        AeadAlgorithm::AesCcm16_64_256 => {
            reference_with::<Ccm<Aes256, U8, U13>>(key, nonce, aad, buf)
        }
        AeadAlgorithm::AesCcm64_64_128 => {
            reference_with::<Ccm<Aes128, U8, U7>>(key, nonce, aad, buf)
        }
        AeadAlgorithm::AesCcm64_64_256 => {
            reference_with::<Ccm<Aes256, U8, U7>>(key, nonce, aad, buf)
        }
        AeadAlgorithm::AesCcm16_128_128 => {
            reference_with::<Ccm<Aes128, U16, U13>>(key, nonce, aad, buf)
        }
        AeadAlgorithm::AesCcm16_128_256 => {
            reference_with::<Ccm<Aes256, U16, U13>>(key, nonce, aad, buf)
        }
        AeadAlgorithm::AesCcm64_128_128 => {
            reference_with::<Ccm<Aes128, U16, U7>>(key, nonce, aad, buf)
        }
        AeadAlgorithm::AesCcm64_128_256 => {
            reference_with::<Ccm<Aes256, U16, U7>>(key, nonce, aad, buf)
        }
        other => panic!("{other:?} is no AES-CCM algorithm"),
    }
}

/// Seals with both `AeadAlgorithm` and `AeadKey`, checks both against the reference, opens,
/// and checks that a flipped bit is refused with the ciphertext left in place.
fn check_against_reference(
    alg: AeadAlgorithm,
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    pt: &[u8],
    flip: usize,
) {
    if !alg.is_available() {
        // AES-CCM-64-* without the `aes-ccm-64` feature: refused, nothing sealed.
        let mut buf = pt.to_vec();
        buf.resize(pt.len() + alg.tag_len(), 0);
        assert_eq!(
            alg.seal_in_place(key, nonce, aad, &mut buf, pt.len()),
            Err(Error::Algorithm(alg.id()))
        );
        assert_eq!(&buf[..pt.len()], pt);
        assert!(matches!(AeadKey::new(alg, key), Err(Error::Algorithm(_))));
        return;
    }
    let mut expected = pt.to_vec();
    let tag = reference(alg, key, nonce, aad, &mut expected).unwrap();
    expected.extend_from_slice(&tag);

    let mut ours = pt.to_vec();
    ours.resize(pt.len() + alg.tag_len(), 0);
    let n = alg
        .seal_in_place(key, nonce, aad, &mut ours, pt.len())
        .unwrap();
    assert_eq!(n, expected.len());
    assert_eq!(ours, expected, "{alg:?}: ciphertext and tag");

    let prepared = AeadKey::new(alg, key).unwrap();
    let mut again = pt.to_vec();
    again.resize(pt.len() + alg.tag_len(), 0);
    prepared
        .seal_in_place(nonce, aad, &mut again, pt.len())
        .unwrap();
    assert_eq!(again, expected, "{alg:?}: AeadKey ciphertext and tag");

    let m = alg.open_in_place(key, nonce, aad, &mut ours).unwrap();
    assert_eq!(&ours[..m], pt);
    let m = prepared.open_in_place(nonce, aad, &mut again).unwrap();
    assert_eq!(&again[..m], pt);

    // A flipped bit anywhere (ciphertext or tag) is refused, and no plaintext is left: CCM
    // decrypts before it can check, so the ciphertext part is wiped.
    let mut forged = expected.clone();
    let i = flip % forged.len();
    forged[i] ^= 0x01;
    let wiped = |b: &[u8]| b[..pt.len()].iter().all(|&x| x == 0);
    let mut f1 = forged.clone();
    assert_eq!(
        alg.open_in_place(key, nonce, aad, &mut f1),
        Err(Error::Crypto)
    );
    assert!(wiped(&f1), "{alg:?}: no plaintext after a failed check");
    let mut f2 = forged.clone();
    assert_eq!(
        prepared.open_in_place(nonce, aad, &mut f2),
        Err(Error::Crypto)
    );
    assert!(wiped(&f2));
    let mut f3 = forged.clone();
    let (ct, t) = f3.split_at_mut(pt.len());
    assert_eq!(
        prepared.open_in_place_detached(nonce, aad, ct, t),
        Err(Error::Crypto)
    );
    assert!(wiped(&f3));
    let mut f4 = forged;
    let (ct, t) = f4.split_at_mut(pt.len());
    assert_eq!(
        alg.open_in_place_detached(key, nonce, aad, ct, t),
        Err(Error::Crypto)
    );
    assert!(wiped(&f4));
}

proptest! {
    #[test]
    fn every_ccm_algorithm_matches_rustcrypto(
        idx in 0usize..8,
        seed in any::<u8>(),
        aad in proptest::collection::vec(any::<u8>(), 0..70),
        pt in proptest::collection::vec(any::<u8>(), 0..120),
        flip in any::<usize>(),
    ) {
        let alg = CCM[idx];
        let key: Vec<u8> = (0..alg.key_len()).map(|i| seed.wrapping_mul(31).wrapping_add(i as u8)).collect();
        let nonce: Vec<u8> = (0..alg.nonce_len()).map(|i| seed ^ (i as u8) ^ 0x5a).collect();
        check_against_reference(alg, &key, &nonce, &aad, &pt, flip);
    }
}

#[test]
fn long_aad_takes_the_six_byte_length_prefix() {
    // RFC 3610 §2.2: 2^16 − 2^8 ≤ l(a) < 2^32 is encoded as 0xff 0xfe and four bytes.
    let aad: Vec<u8> = (0..0xff00u32 + 3).map(|i| i as u8).collect();
    for alg in CCM {
        let key = vec![0x42; alg.key_len()];
        let nonce = vec![0x24; alg.nonce_len()];
        check_against_reference(alg, &key, &nonce, &aad, b"seventeen bytes!!", 5);
        // Just below the boundary: the two-byte prefix.
        check_against_reference(alg, &key, &nonce, &aad[..0xfeff], b"x", 0);
    }
}

#[test]
fn message_longer_than_the_length_field_is_refused() {
    // AES-CCM-16-*: L = 2, so at most 2^16 − 1 bytes (RFC 3610 §2.1).
    let alg = AeadAlgorithm::AesCcm16_64_128;
    let (key, nonce) = ([1u8; 16], [2u8; 13]);
    let mut big = vec![0u8; 0x1_0000 + 8];
    assert!(reference(alg, &key, &nonce, b"", &mut big.clone()[..0x1_0000]).is_err());
    assert_eq!(
        alg.seal_in_place(&key, &nonce, b"", &mut big, 0x1_0000),
        Err(Error::Crypto)
    );
    // The largest allowed length seals, as the reference does.
    let pt = vec![7u8; 0xffff];
    check_against_reference(alg, &key, &nonce, b"a", &pt, 3);
}

#[test]
fn wrong_lengths_are_refused_before_any_work() {
    let alg = AeadAlgorithm::AesCcm16_64_128;
    let mut buf = [0u8; 20];
    assert_eq!(
        alg.seal_in_place(&[0; 15], &[0; 13], b"", &mut buf, 4),
        Err(Error::Key("wrong key length"))
    );
    assert_eq!(
        alg.seal_in_place(&[0; 16], &[0; 12], b"", &mut buf, 4),
        Err(Error::Length("nonce"))
    );
    assert_eq!(
        alg.seal_in_place(&[0; 16], &[0; 13], b"", &mut buf, 13),
        Err(Error::BufferTooSmall { required: 21 })
    );
    assert_eq!(
        alg.open_in_place(&[0; 16], &[0; 13], b"", &mut buf[..7]),
        Err(Error::Crypto)
    );
    assert!(AeadKey::new(alg, &[0; 32]).is_err());
}
