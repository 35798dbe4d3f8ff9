//! Checks the footprint probe's AES-CCM-16-64-128 (`../src/ccm.rs`) against the `ccm` crate:
//! 100 message/AAD length pairs (empty, partial, whole and several blocks), opening, a wrong tag,
//! a changed ciphertext and a changed AAD (refused, buffer restored); and RFC 3610 packet
//! vector 1 (M = 8, L = 2, 13-byte nonce).

#[path = "../../src/ccm.rs"]
mod probe;

use ccm::aead::{AeadInPlace, KeyInit};
use ccm::consts::{U8, U13};

type Reference = ccm::Ccm<aes::Aes128, U8, U13>;

fn main() {
    let mut seed = 0x1234_5678u32;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed as u8
    };
    let mut count = 0;
    for mlen in [0usize, 1, 15, 16, 17, 31, 32, 33, 100, 300] {
        for alen in [0usize, 1, 13, 14, 15, 16, 17, 30, 45, 200] {
            let key: Vec<u8> = (0..16).map(|_| rnd()).collect();
            let nonce: Vec<u8> = (0..13).map(|_| rnd()).collect();
            let aad: Vec<u8> = (0..alen).map(|_| rnd()).collect();
            let msg: Vec<u8> = (0..mlen).map(|_| rnd()).collect();
            let mut expected = msg.clone();
            let tag = Reference::new_from_slice(&key)
                .unwrap()
                .encrypt_in_place_detached(nonce.as_slice().into(), &aad, &mut expected)
                .unwrap();
            expected.extend_from_slice(&tag);

            let mut buf = msg.clone();
            buf.resize(mlen + probe::TAG_LEN, 0);
            assert_eq!(
                probe::seal(&key, &nonce, &aad, &mut buf, mlen),
                Ok(mlen + 8)
            );
            assert_eq!(buf, expected, "seal, message {mlen} B, AAD {alen} B");
            assert_eq!(probe::open(&key, &nonce, &aad, &mut buf), Ok(mlen));
            assert_eq!(buf[..mlen], msg[..], "open, message {mlen} B, AAD {alen} B");

            let last = expected.len() - 1;
            let mut bad = expected.clone();
            bad[last] ^= 1;
            let before = bad.clone();
            assert!(probe::open(&key, &nonce, &aad, &mut bad).is_err());
            assert_eq!(bad, before, "restored after a wrong tag");
            if mlen > 0 {
                let mut bad = expected.clone();
                bad[0] ^= 1;
                assert!(probe::open(&key, &nonce, &aad, &mut bad).is_err());
            }
            let mut aad2 = aad.clone();
            aad2.push(0);
            assert!(probe::open(&key, &nonce, &aad2, &mut expected.clone()).is_err());
            count += 1;
        }
    }

    // RFC 3610 §8, packet vector #1: 8 bytes of AAD, 23 of message.
    let key = hex("C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF");
    let nonce = hex("00000003020100A0A1A2A3A4A5");
    let packet = hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E");
    let (aad, msg) = packet.split_at(8);
    let mut buf = msg.to_vec();
    buf.resize(msg.len() + probe::TAG_LEN, 0);
    probe::seal(&key, &nonce, aad, &mut buf, msg.len()).unwrap();
    assert_eq!(
        buf,
        hex("588C979A61C663D2F066D0C2C0F989806D5F6B61DAC38417E8D12CFDF926E0")
    );
    println!("ok: {count} length pairs against the ccm crate, RFC 3610 packet vector 1");
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
