//! Fixed-capacity byte buffers: the crate's only storage, so the core needs no allocator.
//!
//! The capacities are the constants below; inputs longer than a capacity are rejected with
//! [`Error::Capacity`] before anything is copied.

use zeroize::Zeroize;

use crate::error::Error;

/// Capacity of an encoded EDHOC message (and of PLAINTEXT_2/3/4), in bytes.
///
/// 512 bytes hold an X.509 certificate of about 350 bytes carried by value (`x5chain`)
/// in message_2 or message_3. With the `large-buffers` feature the capacity is 1024 bytes.
pub const MAX_MESSAGE_LEN: usize = if cfg!(feature = "large-buffers") {
    1024
} else {
    512
};
/// Capacity of an authentication credential CRED_x (a CCS map, or a certificate as CBOR bstr).
pub const MAX_CRED_LEN: usize = MAX_MESSAGE_LEN - 64;
/// Capacity of an encoded ID_CRED_x header map.
pub const MAX_ID_CRED_LEN: usize = MAX_MESSAGE_LEN - 64;
/// Capacity of one EAD field (all items of EAD_x together).
pub const MAX_EAD_LEN: usize = 128;
/// Longest connection identifier accepted (RFC 9528 §3.3 leaves the length to the application).
pub const MAX_CONN_ID_LEN: usize = 16;
/// Longest 'kid' accepted in ID_CRED_x.
pub const MAX_KID_LEN: usize = 16;
/// Largest hash output of the supported cipher suites (SHA-256).
pub const MAX_HASH_LEN: usize = 32;

/// A byte buffer of capacity `N` holding `len()` bytes; zeroized when dropped.
///
/// Only the bytes ever written are zeroized (a high-water mark), so a large, mostly empty
/// buffer costs nothing extra to drop.
#[derive(Clone)]
pub struct Bytes<const N: usize> {
    data: [u8; N],
    len: usize,
    written: usize,
}

impl<const N: usize> Bytes<N> {
    /// An empty buffer.
    ///
    /// ```
    /// # use mote_edhoc::Bytes;
    /// let b = Bytes::<16>::new();
    /// assert!(b.is_empty() && b.capacity() == 16);
    /// ```
    pub const fn new() -> Self {
        Self {
            data: [0; N],
            len: 0,
            written: 0,
        }
    }

    /// A buffer holding a copy of `src`, or [`Error::Capacity`] if it does not fit.
    ///
    /// ```
    /// # use mote_edhoc::Bytes;
    /// assert_eq!(Bytes::<4>::from_slice(&[1, 2, 3])?.as_slice(), [1, 2, 3]);
    /// assert!(Bytes::<2>::from_slice(&[1, 2, 3]).is_err()); // does not fit
    /// # Ok::<(), mote_edhoc::Error>(())
    /// ```
    pub fn from_slice(src: &[u8]) -> Result<Self, Error> {
        let mut b = Self::new();
        b.extend(src)?;
        Ok(b)
    }

    /// The bytes held.
    ///
    /// ```
    /// # use mote_edhoc::Bytes;
    /// assert_eq!(Bytes::<4>::from_slice(b"ab")?.as_slice(), b"ab");
    /// # Ok::<(), mote_edhoc::Error>(())
    /// ```
    pub fn as_slice(&self) -> &[u8] {
        // `len <= N` always holds; `min` says so to the optimizer, which then drops the bounds
        // check (`get(..len)` alone costs a compare and two selects at every call site, about
        // 0.5 KB of a device build; docs/performance.md).
        self.data.get(..self.len.min(N)).unwrap_or(&[])
    }

    /// The bytes held, mutably.
    ///
    /// ```
    /// # use mote_edhoc::Bytes;
    /// let mut b = Bytes::<4>::from_slice(b"ab")?;
    /// b.as_mut_slice()[0] = b'x';
    /// assert_eq!(b.as_slice(), b"xb");
    /// # Ok::<(), mote_edhoc::Error>(())
    /// ```
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        let len = self.len.min(N);
        self.data.get_mut(..len).unwrap_or(&mut [])
    }

    /// Number of bytes held.
    ///
    /// ```
    /// # use mote_edhoc::Bytes;
    /// assert_eq!(Bytes::<4>::from_slice(b"ab")?.len(), 2);
    /// # Ok::<(), mote_edhoc::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no bytes are held.
    ///
    /// ```
    /// # use mote_edhoc::Bytes;
    /// assert!(Bytes::<4>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The capacity `N`.
    ///
    /// ```
    /// # use mote_edhoc::Bytes;
    /// assert_eq!(Bytes::<64>::new().capacity(), 64);
    /// ```
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Empties the buffer (and zeroizes what it held).
    ///
    /// ```
    /// # use mote_edhoc::Bytes;
    /// let mut b = Bytes::<4>::from_slice(b"ab")?;
    /// b.clear();
    /// assert!(b.is_empty());
    /// # Ok::<(), mote_edhoc::Error>(())
    /// ```
    pub fn clear(&mut self) {
        self.wipe();
        self.len = 0;
    }

    fn wipe(&mut self) {
        wipe_into(&mut self.data, &mut self.written);
    }

    /// Appends `src`, or fails with [`Error::Capacity`] leaving the buffer unchanged.
    ///
    /// ```
    /// # use mote_edhoc::Bytes;
    /// let mut b = Bytes::<4>::from_slice(b"ab")?;
    /// b.extend(b"cd")?;
    /// assert!(b.extend(b"e").is_err());
    /// assert_eq!(b.as_slice(), b"abcd"); // unchanged by the failed extend
    /// # Ok::<(), mote_edhoc::Error>(())
    /// ```
    pub fn extend(&mut self, src: &[u8]) -> Result<(), Error> {
        extend_into(&mut self.data, &mut self.len, &mut self.written, src)
    }

    /// Appends one byte.
    ///
    /// ```
    /// # use mote_edhoc::Bytes;
    /// let mut b = Bytes::<1>::new();
    /// b.push(7)?;
    /// assert!(b.push(8).is_err());
    /// # Ok::<(), mote_edhoc::Error>(())
    /// ```
    pub fn push(&mut self, b: u8) -> Result<(), Error> {
        self.extend(&[b])
    }

    /// Sets the length to `len` (≤ capacity), keeping the first `len` bytes of storage.
    pub(crate) fn set_len(&mut self, len: usize) -> Result<(), Error> {
        if len > N {
            return Err(Error::Capacity {
                what: diag!("buffer"),
                needed: len,
            });
        }
        self.len = len;
        self.written = self.written.max(len);
        Ok(())
    }
}

/// The body of [`Bytes::wipe`] (and so of every `Bytes` drop), shared by every capacity.
#[inline(never)]
fn wipe_into(data: &mut [u8], written: &mut usize) {
    if let Some(d) = data.get_mut(..*written) {
        d.zeroize();
    }
    *written = 0;
}

/// The body of [`Bytes::extend`], shared by every capacity (one copy in the binary).
fn extend_into(
    data: &mut [u8],
    len: &mut usize,
    written: &mut usize,
    src: &[u8],
) -> Result<(), Error> {
    let end = len
        .checked_add(src.len())
        .filter(|e| *e <= data.len())
        .ok_or(Error::Capacity {
            what: diag!("buffer"),
            needed: len.saturating_add(src.len()),
        })?;
    if let Some(dst) = data.get_mut(*len..end) {
        dst.copy_from_slice(src);
    }
    *len = end;
    *written = (*written).max(end);
    Ok(())
}

/// Where EDHOC's CBOR writing appends (see `crate::cbor`): any [`Bytes`], behind one
/// non-generic interface.
pub(crate) trait Sink {
    fn put(&mut self, src: &[u8]) -> Result<(), Error>;
}

impl<const N: usize> Sink for Bytes<N> {
    fn put(&mut self, src: &[u8]) -> Result<(), Error> {
        self.extend(src)
    }
}

impl<const N: usize> Default for Bytes<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Drop for Bytes<N> {
    fn drop(&mut self) {
        self.wipe();
    }
}

impl<const N: usize> PartialEq for Bytes<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<const N: usize> Eq for Bytes<N> {}

impl<const N: usize> AsRef<[u8]> for Bytes<N> {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl<const N: usize> core::fmt::Debug for Bytes<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "h'")?;
        for b in self.as_slice() {
            write!(f, "{b:02x}")?;
        }
        write!(f, "'")
    }
}

/// `src` as a 32-byte array (a key or coordinate), `None` if it has another length.
///
/// Inlined, `<[u8; 32]>::try_from(&[u8])` (or a copy into a local) became a `memmove` call on
/// Cortex-M, because LLVM cannot tell the input from the destination apart; that call alone
/// links 1.5 KB of compiler-builtins into an otherwise memmove-free device build
/// (docs/performance.md, mote-edhoc Footprint). Out of line, the copy is a `memcpy`.
#[inline(never)]
pub(crate) fn array32(src: &[u8]) -> Option<[u8; 32]> {
    let mut a = [0u8; 32];
    if src.len() != a.len() {
        return None;
    }
    a.copy_from_slice(src);
    Some(a)
}

/// An encoded EDHOC message (message_1..4 or an error message).
pub type MessageBuf = Bytes<MAX_MESSAGE_LEN>;

/// What every private-key parameter of this crate takes: a [`Secret`] (what
/// [`Crypto::generate_ecdh_key`](crate::Crypto::generate_ecdh_key) returns) or the key's bytes
/// (a slice, an array, a `Vec`), so keys go in the same way everywhere.
///
/// ```
/// use mote_edhoc::*;
/// let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
/// let mut crypto = MoteCrypto::new();
/// let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
/// let cred = Credential::ccs_for_private_key(&mut crypto, 2, true, "device", b"D", &key)?;
/// // The same key as a `Secret` or as bytes makes the same identity.
/// let a = Identity::by_reference(cred.clone(), &key)?;
/// let b = Identity::by_reference(cred, key.as_bytes())?;
/// assert_eq!(a.id_cred, b.id_cred);
/// assert_eq!(key.key_bytes(), key.as_bytes());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait KeyInput {
    /// The key's bytes.
    fn key_bytes(&self) -> &[u8];
}

impl KeyInput for [u8] {
    fn key_bytes(&self) -> &[u8] {
        self
    }
}

impl<const N: usize> KeyInput for [u8; N] {
    fn key_bytes(&self) -> &[u8] {
        self
    }
}

#[cfg(feature = "alloc")]
impl KeyInput for alloc::vec::Vec<u8> {
    fn key_bytes(&self) -> &[u8] {
        self
    }
}

impl KeyInput for Secret {
    fn key_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// A secret of up to 32 bytes (private keys, PRKs, shared secrets); zeroized when dropped and
/// never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    bytes: [u8; MAX_HASH_LEN],
    len: usize,
}

impl Secret {
    /// A secret holding a copy of `src` (at most 32 bytes).
    ///
    /// ```
    /// # use mote_edhoc::Secret;
    /// let key = Secret::from_slice(&[7; 32])?;
    /// assert_eq!(key.len(), 32);
    /// assert!(Secret::from_slice(&[7; 33]).is_err());
    /// # Ok::<(), mote_edhoc::Error>(())
    /// ```
    pub fn from_slice(src: &[u8]) -> Result<Self, Error> {
        let mut bytes = [0u8; MAX_HASH_LEN];
        bytes
            .get_mut(..src.len())
            .ok_or(Error::Capacity {
                what: diag!("secret"),
                needed: src.len(),
            })?
            .copy_from_slice(src);
        Ok(Self {
            bytes,
            len: src.len(),
        })
    }

    /// The secret bytes. Handle with care.
    ///
    /// ```
    /// # use mote_edhoc::Secret;
    /// let key = Secret::from_slice(&[7; 16])?;
    /// assert_eq!(key.as_bytes(), [7; 16]);
    /// assert!(!format!("{key:?}").contains('7')); // never printed
    /// # Ok::<(), mote_edhoc::Error>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        // `min`: see `Bytes::as_slice`.
        self.bytes.get(..self.len.min(MAX_HASH_LEN)).unwrap_or(&[])
    }

    /// Length in bytes.
    ///
    /// ```
    /// # use mote_edhoc::Secret;
    /// assert_eq!(Secret::from_slice(&[1; 16])?.len(), 16);
    /// # Ok::<(), mote_edhoc::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the secret is empty.
    ///
    /// ```
    /// # use mote_edhoc::Secret;
    /// assert!(Secret::from_slice(&[])?.is_empty());
    /// # Ok::<(), mote_edhoc::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl core::fmt::Debug for Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Secret({} bytes, redacted)", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_is_enforced_without_partial_writes() {
        let mut b = Bytes::<4>::new();
        b.extend(&[1, 2, 3]).unwrap();
        assert_eq!(
            b.extend(&[4, 5]),
            Err(Error::Capacity {
                what: diag!("buffer"),
                needed: 5
            })
        );
        assert_eq!(b.as_slice(), &[1, 2, 3]);
        b.push(4).unwrap();
        assert!(b.push(5).is_err());
        b.clear();
        assert!(b.is_empty());
        assert!(Secret::from_slice(&[0; 33]).is_err());
        assert_eq!(
            std::format!("{:?}", Secret::from_slice(&[7; 4]).unwrap()),
            "Secret(4 bytes, redacted)"
        );
    }
}
