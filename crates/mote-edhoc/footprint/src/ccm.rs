//! AES-CCM-16-64-128 (COSE algorithm 10: RFC 3610 with L = 2, M = 8, a 13-byte nonce) from
//! AES-128 block encryption alone: CBC-MAC and CTR over the `aes` block cipher, without the
//! `ccm` and `ctr` crates' generic stream machinery, which a single-algorithm device need not
//! carry (docs/performance.md, mote-edhoc Footprint).

use aes::Aes128;
use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};
use subtle::ConstantTimeEq;

/// Tag length M.
pub const TAG_LEN: usize = 8;
const NONCE_LEN: usize = 13;

/// Why a call failed: a wrong key, nonce or buffer length, or (opening) a wrong tag.
#[derive(Debug, PartialEq, Eq)]
pub struct CcmError;

type Block = GenericArray<u8, aes::cipher::consts::U16>;

/// B_0 (flags with M and L, nonce, message length) or A_i (flags with L, nonce, counter i).
fn block(flags: u8, nonce: &[u8], n: u16) -> Block {
    let mut b = Block::default();
    b[0] = flags;
    for (d, s) in b[1..14].iter_mut().zip(nonce) {
        *d = *s;
    }
    b[14..].copy_from_slice(&n.to_be_bytes());
    b
}

/// CBC-MAC over B_0, the AAD with its 2-byte length (when not empty) and the message, each
/// zero-padded to whole blocks; returns T (the first M bytes of the last block).
fn mac(aes: &Aes128, nonce: &[u8], aad: &[u8], msg: &[u8]) -> Block {
    let adata = if aad.is_empty() { 0 } else { 0x40 };
    let mut x = block(
        adata | (((TAG_LEN as u8 - 2) / 2) << 3) | 1,
        nonce,
        msg.len() as u16,
    );
    aes.encrypt_block(&mut x);
    let len = (aad.len() as u16).to_be_bytes();
    let aad_part = if aad.is_empty() { &[][..] } else { &len[..] };
    absorb(aes, &mut x, aad_part.iter().chain(aad));
    absorb(aes, &mut x, msg.iter());
    x
}

fn absorb<'a>(aes: &Aes128, x: &mut Block, data: impl Iterator<Item = &'a u8>) {
    let mut i = 0;
    for b in data {
        x[i] ^= b;
        i += 1;
        if i == 16 {
            aes.encrypt_block(x);
            i = 0;
        }
    }
    if i != 0 {
        aes.encrypt_block(x);
    }
}

/// CTR with A_1, A_2, ... over `buf`; returns S_0 = E(A_0) for the tag.
fn ctr(aes: &Aes128, nonce: &[u8], buf: &mut [u8]) -> Block {
    let mut s0 = block(1, nonce, 0);
    aes.encrypt_block(&mut s0);
    for (i, chunk) in buf.chunks_mut(16).enumerate() {
        let mut s = block(1, nonce, i as u16 + 1);
        aes.encrypt_block(&mut s);
        for (b, k) in chunk.iter_mut().zip(s.iter()) {
            *b ^= k;
        }
    }
    s0
}

fn setup(key: &[u8], nonce: &[u8], aad: &[u8], n: usize) -> Result<Aes128, CcmError> {
    // L = 2: messages below 2^16 bytes; the AAD length in its 2-byte form (< 2^16 - 2^8).
    if nonce.len() != NONCE_LEN || n > 0xffff || aad.len() >= 0xff00 {
        return Err(CcmError);
    }
    Aes128::new_from_slice(key).map_err(|_| CcmError)
}

/// Encrypts `buf[..n]` in place and writes the tag behind it; returns `n + TAG_LEN`.
pub fn seal(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    buf: &mut [u8],
    n: usize,
) -> Result<usize, CcmError> {
    let aes = setup(key, nonce, aad, n)?;
    let (msg, rest) = buf.split_at_mut_checked(n).ok_or(CcmError)?;
    let tag = rest.get_mut(..TAG_LEN).ok_or(CcmError)?;
    let t = mac(&aes, nonce, aad, msg);
    let s0 = ctr(&aes, nonce, msg);
    for ((d, t), s) in tag.iter_mut().zip(t.iter()).zip(s0.iter()) {
        *d = t ^ s;
    }
    Ok(n + TAG_LEN)
}

/// Checks the tag at the end of `buf` and decrypts in place; returns the plaintext length. On
/// a wrong tag the ciphertext is restored and the error returned.
pub fn open(key: &[u8], nonce: &[u8], aad: &[u8], buf: &mut [u8]) -> Result<usize, CcmError> {
    let n = buf.len().checked_sub(TAG_LEN).ok_or(CcmError)?;
    let aes = setup(key, nonce, aad, n)?;
    let (msg, tag) = buf.split_at_mut(n);
    let s0 = ctr(&aes, nonce, msg);
    let t = mac(&aes, nonce, aad, msg);
    let mut expected = [0u8; TAG_LEN];
    for ((d, t), s) in expected.iter_mut().zip(t.iter()).zip(s0.iter()) {
        *d = t ^ s;
    }
    if bool::from(expected.ct_eq(tag)) {
        Ok(n)
    } else {
        ctr(&aes, nonce, msg);
        Err(CcmError)
    }
}
