//! A small, strict, zero-copy CBOR reader and a caller-sized CBOR writer (RFC 8949).
//!
//! This is the CBOR layer of the crate and is public so that protocols built on COSE (EDHOC's
//! CBOR sequences, OSCORE's `external_aad`) can use the same code.
//!
//! # Reader
//! [`Decoder`] walks a byte slice item by item and hands out borrowed views (`&[u8]`, `&str`)
//! into it. It is strict:
//! - only definite lengths (RFC 8949 §3.2.2 indefinite lengths are rejected: COSE's zero-copy
//!   views need contiguous strings, and RFC 9052 §9 asks for deterministic encoding when sending);
//! - only preferred (shortest) heads for integers, lengths and tags (RFC 8949 §4.2.1), so that
//!   every accepted item has one encoding and re-encoding a decoded message reproduces it;
//! - the reserved additional-information values 28–30 (RFC 8949 §3) are rejected;
//! - a length is compared with the bytes actually present before anything uses it, so an
//!   attacker's length field never causes an allocation or a read past the input;
//! - text strings must be valid UTF-8 (RFC 8949 §3.1, major type 3);
//! - [`Decoder::skip`] and [`Decoder::item`] bound nesting at [`MAX_DEPTH`];
//! - with [`Decoder::reject_floats`], floating-point items are rejected too (this reader does
//!   not check their preferred serialization, RFC 8949 §4.2.2, so a protocol without floats,
//!   such as EDHOC, keeps every accepted item deterministic by refusing them).
//!
//! A CBOR sequence (RFC 8742) is read by calling the decoder until [`Decoder::is_empty`]:
//! [`Decoder::remaining`] is the rest of the sequence, [`Decoder::position`] the offset of the
//! next item. Identifiers that are a byte string or, when that byte string is the one-byte
//! encoding of an integer in −24..=23, that integer (EDHOC's connection identifiers and 'kid's,
//! RFC 9528 §3.3.2) are read with [`Decoder::bstr_or_int_id`] and written with
//! [`Encoder::bstr_or_int_id`].
//!
//! ```
//! use mote_cose::cbor::{Decoder, Encoder, SliceWriter};
//!
//! let mut buf = [0u8; 16];
//! let mut w = SliceWriter::new(&mut buf);
//! let mut enc = Encoder::new(&mut w);
//! enc.array(2)?.i64(-7)?.bytes(b"hi")?;
//! let len = w.len();
//! assert_eq!(&buf[..len], &[0x82, 0x26, 0x42, b'h', b'i']);
//!
//! let mut dec = Decoder::new(&buf[..len]);
//! assert_eq!(dec.array()?, 2);
//! assert_eq!(dec.i64()?, -7);
//! assert_eq!(dec.bytes()?, b"hi");
//! dec.finish()?;
//! # Ok::<(), mote_cose::Error>(())
//! ```
//!
//! # Writer
//! [`Encoder`] writes through the [`Write`] trait, implemented for [`SliceWriter`] (a caller's
//! `&mut [u8]`), [`LenCounter`] (predicts the encoded length) and, with `alloc`, `Vec<u8>`.
//! It always writes the shortest ("preferred", RFC 8949 §4.2.1) heads.

use crate::error::Error;

/// Maximum nesting depth [`Decoder::skip`] follows before rejecting the input.
pub const MAX_DEPTH: usize = 16;

/// CBOR major types (RFC 8949 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Major {
    /// Major type 0: unsigned integer.
    Unsigned = 0,
    /// Major type 1: negative integer.
    Negative = 1,
    /// Major type 2: byte string.
    Bytes = 2,
    /// Major type 3: text string.
    Text = 3,
    /// Major type 4: array.
    Array = 4,
    /// Major type 5: map.
    Map = 5,
    /// Major type 6: tag.
    Tag = 6,
    /// Major type 7: simple values and floats.
    Simple = 7,
}

impl Major {
    fn from_bits(b: u8) -> Self {
        match b >> 5 {
            0 => Self::Unsigned,
            1 => Self::Negative,
            2 => Self::Bytes,
            3 => Self::Text,
            4 => Self::Array,
            5 => Self::Map,
            6 => Self::Tag,
            _ => Self::Simple,
        }
    }
}

/// A strict, zero-copy CBOR reader over a byte slice.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    floats: bool,
}

impl<'a> Decoder<'a> {
    /// A decoder positioned at the start of `buf`.
    #[inline]
    pub fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            floats: true,
        }
    }

    /// The same decoder, rejecting floating-point items (major type 7 with additional
    /// information 25–27) wherever [`Decoder::skip`] or [`Decoder::item`] meets them.
    ///
    /// The reader checks preferred serialization of heads but not of floats (RFC 8949 §4.2.2),
    /// so for a protocol that has no floats this keeps "one encoding per accepted item" true.
    #[inline]
    pub fn reject_floats(mut self) -> Self {
        self.floats = false;
        self
    }

    /// Byte offset of the next item.
    #[inline]
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The input not read yet.
    #[inline]
    pub fn remaining(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// Whether the whole input has been read.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Fails unless the whole input has been read (no trailing bytes).
    #[inline]
    pub fn finish(&self) -> Result<(), Error> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.err("trailing bytes"))
        }
    }

    fn err(&self, what: &'static str) -> Error {
        Error::cbor(self.pos, what)
    }

    /// Major type of the next item, without consuming it.
    #[inline]
    pub fn peek_major(&self) -> Result<Major, Error> {
        self.buf
            .get(self.pos)
            .map(|b| Major::from_bits(*b))
            .ok_or_else(|| self.err("unexpected end of input"))
    }

    /// Major type of the next item, `None` at the end of the input: a cheaper
    /// [`Decoder::peek_major`] for parsers that choose between forms (no error to build).
    #[inline]
    pub fn next_major(&self) -> Option<Major> {
        self.buf.get(self.pos).map(|b| Major::from_bits(*b))
    }

    /// Reads the next item if it is an integer in −24..=23 (a one-byte head, as every
    /// registered header label is); consumes nothing otherwise.
    #[inline]
    pub(crate) fn small_int(&mut self) -> Option<i64> {
        let b = *self.buf.get(self.pos)?;
        let v = match b {
            0x00..=0x17 => i64::from(b),
            0x20..=0x37 => -1 - i64::from(b - 0x20),
            _ => return None,
        };
        self.pos += 1;
        Some(v)
    }

    /// The initial byte of the next item (major type and additional information), if any.
    #[inline]
    pub fn peek_initial_byte(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// Whether the next item is `null` (simple value 22).
    #[inline]
    pub fn peek_null(&self) -> bool {
        self.buf.get(self.pos) == Some(&0xf6)
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| self.err("length overflow"))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| self.err("unexpected end of input"))?;
        self.pos = end;
        Ok(s)
    }

    /// Reads an item head: (major type, argument). Indefinite lengths and reserved values fail.
    #[inline]
    fn head(&mut self) -> Result<(Major, u64), Error> {
        let start = self.pos;
        let ib = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| self.err("unexpected end of input"))?;
        self.pos += 1;
        let major = Major::from_bits(ib);
        let ai = ib & 0x1f;
        if ai < 24 {
            return Ok((major, u64::from(ai)));
        }
        if ai > 27 {
            // RFC 8949 §3: 28-30 reserved; 31 indefinite length / break, rejected by this reader.
            self.pos = start;
            return Err(self.err("indefinite length or reserved additional information"));
        }
        // 1, 2, 4 or 8 argument bytes, big-endian (a loop: small on a device, and as fast as
        // a load for these few bytes).
        let width = ai - 24;
        let arg = self
            .take(1 << width)?
            .iter()
            .fold(0u64, |a, b| a << 8 | u64::from(*b));
        // RFC 8949 §4.2.1 preferred serialization: an argument must use the shortest head (at
        // least 24, 2^8, 2^16, 2^32 for 1, 2, 4, 8 bytes), so every accepted item has exactly
        // one encoding (floats, major type 7, are exempt).
        let min = if width == 0 { 24 } else { 1u64 << (4 << width) };
        if major == Major::Simple {
            // RFC 8949 §3.3: simple values below 32 in the extension byte are not
            // well-formed; floats (25..=27) only where they are accepted.
            if (width == 0 && arg < 32) || (width > 0 && !self.floats) {
                self.pos = start;
                return Err(self.err("invalid simple value or float not accepted here"));
            }
        } else if arg < min {
            self.pos = start;
            return Err(self.err("non-preferred (overlong) integer or length encoding"));
        }
        Ok((major, arg))
    }

    #[inline]
    fn expect(&mut self, want: Major, what: &'static str) -> Result<u64, Error> {
        let start = self.pos;
        let (major, arg) = self.head()?;
        if major != want {
            self.pos = start;
            return Err(self.err(what));
        }
        Ok(arg)
    }

    fn len_arg(&self, arg: u64) -> Result<usize, Error> {
        usize::try_from(arg).map_err(|_| self.err("length too large"))
    }

    /// Reads an unsigned integer (major type 0).
    #[inline]
    pub fn u64(&mut self) -> Result<u64, Error> {
        self.expect(Major::Unsigned, "expected unsigned integer")
    }

    /// Reads an integer (major type 0 or 1) that fits in an `i64`.
    #[inline]
    pub fn i64(&mut self) -> Result<i64, Error> {
        let start = self.pos;
        let (major, arg) = self.head()?;
        let v = match major {
            Major::Unsigned => i64::try_from(arg).ok(),
            Major::Negative => i64::try_from(arg).ok().map(|a| -1 - a),
            _ => None,
        };
        v.ok_or_else(|| {
            self.pos = start;
            self.err("expected integer in i64 range")
        })
    }

    /// Reads a byte string (major type 2), borrowed from the input.
    #[inline]
    pub fn bytes(&mut self) -> Result<&'a [u8], Error> {
        let arg = self.expect(Major::Bytes, "expected byte string")?;
        let n = self.len_arg(arg)?;
        self.take(n)
    }

    /// Reads a text string (major type 3), borrowed from the input and checked as UTF-8.
    #[inline]
    pub fn text(&mut self) -> Result<&'a str, Error> {
        let arg = self.expect(Major::Text, "expected text string")?;
        let n = self.len_arg(arg)?;
        let at = self.pos;
        let b = self.take(n)?;
        core::str::from_utf8(b).map_err(|_| Error::cbor(at, "invalid UTF-8 in text string"))
    }

    /// Reads an identifier that is a byte string or its compact integer form (RFC 9528 §3.3.2):
    /// a one-byte integer (−24..=23) stands for the byte string holding that one byte, so its
    /// bytes are returned (borrowed from the input) either way. A byte string of one byte that
    /// is such an integer's encoding is not the compact form and is rejected, as RFC 9529
    /// §4.1.2 and §4.1.7 require.
    #[inline]
    pub fn bstr_or_int_id(&mut self) -> Result<&'a [u8], Error> {
        let start = self.pos;
        if self.peek_initial_byte().is_some_and(is_one_byte_int) {
            return self.take(1);
        }
        let id = self.bytes()?;
        if let [one] = id {
            if is_one_byte_int(*one) {
                self.pos = start;
                return Err(self.err("one-byte integer identifier encoded as byte string"));
            }
        }
        Ok(id)
    }

    /// Reads an array head and returns its (definite) number of items.
    #[inline]
    pub fn array(&mut self) -> Result<usize, Error> {
        let arg = self.expect(Major::Array, "expected array")?;
        let n = self.len_arg(arg)?;
        // Every item takes at least one byte: a count beyond the input is malformed.
        if n > self.buf.len().saturating_sub(self.pos) {
            return Err(self.err("array longer than the input"));
        }
        Ok(n)
    }

    /// Reads a map head and returns its (definite) number of pairs.
    #[inline]
    pub fn map(&mut self) -> Result<usize, Error> {
        let arg = self.expect(Major::Map, "expected map")?;
        let n = self.len_arg(arg)?;
        if n > self.buf.len().saturating_sub(self.pos) / 2 {
            return Err(self.err("map longer than the input"));
        }
        Ok(n)
    }

    /// Reads a tag number (major type 6).
    #[inline]
    pub fn tag(&mut self) -> Result<u64, Error> {
        self.expect(Major::Tag, "expected tag")
    }

    /// Reads a tag if the next item is one; returns `None` and consumes nothing otherwise.
    #[inline]
    pub fn optional_tag(&mut self) -> Result<Option<u64>, Error> {
        if self.peek_major()? == Major::Tag {
            self.tag().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Reads `true` or `false`.
    #[inline]
    pub fn bool(&mut self) -> Result<bool, Error> {
        match self.buf.get(self.pos) {
            Some(0xf4) => {
                self.pos += 1;
                Ok(false)
            }
            Some(0xf5) => {
                self.pos += 1;
                Ok(true)
            }
            _ => Err(self.err("expected boolean")),
        }
    }

    /// Reads `null`.
    #[inline]
    pub fn null(&mut self) -> Result<(), Error> {
        if self.peek_null() {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err("expected null"))
        }
    }

    /// Skips one complete data item (including nested items), bounded by [`MAX_DEPTH`].
    pub fn skip(&mut self) -> Result<(), Error> {
        self.skip_depth(0)
    }

    fn skip_depth(&mut self, depth: usize) -> Result<(), Error> {
        if depth >= MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        let (major, arg) = self.head()?;
        match major {
            Major::Unsigned | Major::Negative => Ok(()),
            Major::Bytes | Major::Text => {
                let n = self.len_arg(arg)?;
                let at = self.pos;
                let s = self.take(n)?;
                // A skipped string needs no `&str`: the small validator below, not core's
                // (whose tables cost a device about 0.5 KB).
                if major == Major::Text && !is_utf8(s) {
                    return Err(Error::cbor(at, "invalid UTF-8 in text string"));
                }
                Ok(())
            }
            Major::Array | Major::Map => {
                let per = if major == Major::Map { 2 } else { 1 };
                let n = self.len_arg(arg)?;
                if n > self.buf.len().saturating_sub(self.pos) {
                    return Err(self.err("container longer than the input"));
                }
                for _ in 0..n.saturating_mul(per) {
                    self.skip_depth(depth + 1)?;
                }
                Ok(())
            }
            Major::Tag => self.skip_depth(depth + 1),
            // Simple values and floats were checked with their head.
            Major::Simple => Ok(()),
        }
    }

    /// Reads one complete data item and returns its encoded bytes, borrowed from the input.
    pub fn item(&mut self) -> Result<&'a [u8], Error> {
        let start = self.pos;
        self.skip()?;
        Ok(self.buf.get(start..self.pos).unwrap_or(&[]))
    }
}

/// Whether `b` is a complete one-byte encoding of an integer in −24..=23 (major type 0 or 1
/// with the argument in the initial byte), the compact identifiers of RFC 9528 §3.3.2.
#[inline]
pub fn is_one_byte_int(b: u8) -> bool {
    b <= 0x17 || (0x20..=0x37).contains(&b)
}

/// Whether `b` is valid UTF-8 (RFC 3629): the answer of `core::str::from_utf8(b).is_ok()`,
/// for text strings that are skipped and so need no `&str`. A short loop instead of core's
/// validator, whose 256-byte width table and word-at-a-time fast path cost a device about
/// 0.5 KB (docs/performance.md, mote-edhoc Footprint).
fn is_utf8(b: &[u8]) -> bool {
    let mut it = b.iter();
    while let Some(&c) = it.next() {
        // Continuation bytes, smallest code point of that length (no overlong forms), bits.
        let (n, min, mut cp) = match c {
            0x00..=0x7f => continue,
            0xc2..=0xdf => (1, 0x80, u32::from(c & 0x1f)),
            0xe0..=0xef => (2, 0x800, u32::from(c & 0x0f)),
            0xf0..=0xf4 => (3, 0x1_0000, u32::from(c & 0x07)),
            _ => return false,
        };
        for _ in 0..n {
            match it.next() {
                Some(&d) if d & 0xc0 == 0x80 => cp = cp << 6 | u32::from(d & 0x3f),
                _ => return false,
            }
        }
        // No surrogates, nothing above U+10FFFF.
        if cp < min || cp > 0x10_ffff || (0xd800..=0xdfff).contains(&cp) {
            return false;
        }
    }
    true
}

/// A sink for encoded CBOR.
pub trait Write {
    /// Appends `bytes`; fails with [`Error::BufferTooSmall`] when the sink is full.
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Error>;
}

/// A [`Write`] over a caller's buffer.
#[derive(Debug)]
pub struct SliceWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
    wanted: usize,
}

impl<'b> SliceWriter<'b> {
    /// A writer that fills `buf` from its start.
    #[inline]
    pub fn new(buf: &'b mut [u8]) -> Self {
        Self {
            buf,
            len: 0,
            wanted: 0,
        }
    }

    /// Number of bytes written.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes written so far.
    #[inline]
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// Consumes the writer, returning the written part of the buffer.
    #[inline]
    pub fn into_written(self) -> &'b mut [u8] {
        let len = self.len;
        self.buf.get_mut(..len).unwrap_or_default()
    }
}

impl Write for SliceWriter<'_> {
    #[inline]
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let end = self.len + bytes.len();
        match self.buf.get_mut(self.len..end) {
            Some(dst) => {
                copy_short(dst, bytes);
                self.len = end;
                Ok(())
            }
            None => {
                self.wanted = self.wanted.max(end);
                Err(Error::BufferTooSmall {
                    required: self.wanted,
                })
            }
        }
    }
}

/// Copies `src` into the start of `dst` (nothing when `dst` is shorter).
///
/// Heads, labels, IDs and IVs are a few bytes long. For lengths unknown at compile time
/// `copy_from_slice` (and any byte loop, which LLVM turns back into one) becomes a call to
/// `memcpy`, several times the cost of the copy itself; up to 16 bytes this copies with two
/// overlapping fixed-size moves instead, as `memcpy` does internally.
#[inline]
pub(crate) fn copy_short(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    let Some(dst) = dst.get_mut(..n) else {
        return;
    };
    match n {
        0 => {}
        1..=3 => {
            for i in [0, n / 2, n - 1] {
                if let (Some(d), Some(s)) = (dst.get_mut(i), src.get(i)) {
                    *d = *s;
                }
            }
        }
        4..=7 => copy_ends::<4>(dst, src),
        8..=16 => copy_ends::<8>(dst, src),
        _ => dst.copy_from_slice(src),
    }
}

/// Copies the first and the last `N` bytes of `src` (of length `N..=2N`, equal to `dst`'s).
#[inline(always)]
fn copy_ends<const N: usize>(dst: &mut [u8], src: &[u8]) {
    if let (Some(d), Some(s)) = (dst.first_chunk_mut::<N>(), src.first_chunk::<N>()) {
        *d = *s;
    }
    if let (Some(d), Some(s)) = (dst.last_chunk_mut::<N>(), src.last_chunk::<N>()) {
        *d = *s;
    }
}

/// A [`Write`] that only counts bytes: encode into it to learn the length up front.
#[derive(Debug, Default, Clone, Copy)]
pub struct LenCounter(pub usize);

impl Write for LenCounter {
    #[inline]
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.0 += bytes.len();
        Ok(())
    }
}

#[cfg(feature = "alloc")]
impl Write for alloc::vec::Vec<u8> {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}

impl<W: Write + ?Sized> Write for &mut W {
    #[inline]
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Error> {
        (**self).write_all(bytes)
    }
}

/// A CBOR writer with preferred (shortest) heads; methods chain.
#[derive(Debug)]
pub struct Encoder<W: Write> {
    w: W,
}

/// Length of the head (initial byte plus argument) that encodes `arg` (RFC 8949 §3).
#[inline]
pub fn head_len(arg: u64) -> usize {
    match arg {
        0..=23 => 1,
        24..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// The head (initial byte and argument, RFC 8949 §3) of an item of major type `major` (0..=7)
/// with argument `arg`, in preferred (shortest) form: the bytes and how many of them are used.
///
/// [`Encoder::head`] writes it; this is for heads assembled by hand, such as the bstr head in
/// front of a wrapped CBOR sequence that is hashed piece by piece.
pub fn encode_head(major: u8, arg: u64) -> ([u8; 9], usize) {
    // Additional information: the argument itself below 24, else 24..=27 for 1, 2, 4 or 8
    // argument bytes (big-endian) after the initial byte.
    let (ai, n) = match arg {
        0..=23 => (arg as u8, 0),
        24..=0xff => (24, 1),
        0x100..=0xffff => (25, 2),
        0x1_0000..=0xffff_ffff => (26, 4),
        _ => (27, 8),
    };
    let mut b = [major << 5 | ai, 0, 0, 0, 0, 0, 0, 0, 0];
    let be = arg.to_be_bytes();
    if let (Some(dst), Some(src)) = (b.get_mut(1..=n), be.get(8 - n..)) {
        dst.copy_from_slice(src);
    }
    (b, n + 1)
}

/// Encoded length of an integer.
#[inline]
pub fn int_len(v: i64) -> usize {
    head_len(if v < 0 { (-1 - v) as u64 } else { v as u64 })
}

/// Encoded length of a byte or text string of `n` bytes.
#[inline]
pub fn str_len(n: usize) -> usize {
    head_len(n as u64) + n
}

/// Encoded length of [`Encoder::bstr_or_int_id`]'s output for `id`.
#[inline]
pub fn bstr_or_int_id_len(id: &[u8]) -> usize {
    match id {
        [b] if is_one_byte_int(*b) => 1,
        _ => str_len(id.len()),
    }
}

impl<W: Write> Encoder<W> {
    /// An encoder writing into `w`.
    #[inline]
    pub fn new(w: W) -> Self {
        Self { w }
    }

    /// The underlying writer.
    #[inline]
    pub fn into_inner(self) -> W {
        self.w
    }

    /// Mutable access to the underlying writer.
    #[inline]
    pub fn writer(&mut self) -> &mut W {
        &mut self.w
    }

    /// Writes a head of the given major type (0..=7) and argument.
    #[inline]
    pub fn head(&mut self, major: u8, arg: u64) -> Result<&mut Self, Error> {
        let m = major << 5;
        if arg < 24 {
            // The common case (labels, small lengths): one byte, no staging buffer.
            self.w.write_all(&[m | arg as u8])?;
            return Ok(self);
        }
        let (b, n) = encode_head(major, arg);
        self.w.write_all(b.get(..n).unwrap_or(&[]))?;
        Ok(self)
    }

    /// Writes an unsigned integer.
    #[inline]
    pub fn u64(&mut self, v: u64) -> Result<&mut Self, Error> {
        self.head(0, v)
    }

    /// Writes an integer.
    #[inline]
    pub fn i64(&mut self, v: i64) -> Result<&mut Self, Error> {
        if v < 0 {
            self.head(1, (-1 - v) as u64)
        } else {
            self.head(0, v as u64)
        }
    }

    /// Writes a byte string.
    #[inline]
    pub fn bytes(&mut self, v: &[u8]) -> Result<&mut Self, Error> {
        self.head(2, v.len() as u64)?;
        self.w.write_all(v)?;
        Ok(self)
    }

    /// Writes an identifier in the form [`Decoder::bstr_or_int_id`] reads (RFC 9528 §3.3.2):
    /// a one-byte `id` that is the encoding of an integer in −24..=23 as that integer (the byte
    /// itself), any other `id` as a byte string.
    #[inline]
    pub fn bstr_or_int_id(&mut self, id: &[u8]) -> Result<&mut Self, Error> {
        match id {
            [b] if is_one_byte_int(*b) => self.raw(id),
            _ => self.bytes(id),
        }
    }

    /// Writes the head of a byte string of `len` bytes, whose content the caller writes next
    /// (for example a CBOR sequence wrapped in a bstr, `<< … >>`, written piece by piece).
    #[inline]
    pub fn bytes_head(&mut self, len: usize) -> Result<&mut Self, Error> {
        self.head(2, len as u64)
    }

    /// Writes a text string.
    #[inline]
    pub fn text(&mut self, v: &str) -> Result<&mut Self, Error> {
        self.head(3, v.len() as u64)?;
        self.w.write_all(v.as_bytes())?;
        Ok(self)
    }

    /// Writes an array head for `n` items.
    #[inline]
    pub fn array(&mut self, n: usize) -> Result<&mut Self, Error> {
        self.head(4, n as u64)
    }

    /// Writes a map head for `n` pairs.
    #[inline]
    pub fn map(&mut self, n: usize) -> Result<&mut Self, Error> {
        self.head(5, n as u64)
    }

    /// Writes a tag.
    #[inline]
    pub fn tag(&mut self, t: u64) -> Result<&mut Self, Error> {
        self.head(6, t)
    }

    /// Writes `true` or `false`.
    #[inline]
    pub fn bool(&mut self, v: bool) -> Result<&mut Self, Error> {
        self.w.write_all(&[if v { 0xf5 } else { 0xf4 }])?;
        Ok(self)
    }

    /// Writes `null`.
    #[inline]
    pub fn null(&mut self) -> Result<&mut Self, Error> {
        self.w.write_all(&[0xf6])?;
        Ok(self)
    }

    /// Writes already-encoded CBOR verbatim.
    #[inline]
    pub fn raw(&mut self, encoded: &[u8]) -> Result<&mut Self, Error> {
        self.w.write_all(encoded)?;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_indefinite_and_reserved() {
        assert!(Decoder::new(&[0x5f, 0x41, 0x00, 0xff]).bytes().is_err());
        assert!(Decoder::new(&[0x9f, 0xff]).array().is_err());
        assert!(Decoder::new(&[0x1c]).skip().is_err());
    }

    #[test]
    fn rejects_length_past_input() {
        assert!(
            Decoder::new(&[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
                .bytes()
                .is_err()
        );
        assert!(
            Decoder::new(&[0x9a, 0xff, 0xff, 0xff, 0xff])
                .array()
                .is_err()
        );
    }

    #[test]
    fn rejects_overlong_heads() {
        assert!(Decoder::new(&[0x18, 0x05]).u64().is_err());
        assert!(Decoder::new(&[0x38, 0x07]).i64().is_err());
        assert!(Decoder::new(&[0x59, 0x00, 0x01, 0x00]).bytes().is_err());
        assert_eq!(Decoder::new(&[0x18, 0x18]).u64().unwrap(), 24);
        // half-precision float 0.0 is not an integer head
        assert!(Decoder::new(&[0xf9, 0x00, 0x00]).skip().is_ok());
    }

    #[test]
    fn depth_is_bounded() {
        let deep = [0x81u8; 64];
        assert!(Decoder::new(&deep).skip().is_err());
    }

    #[test]
    fn int_edges() {
        let mut d = Decoder::new(&[0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(d.i64().unwrap(), i64::MIN);
        let mut d = Decoder::new(&[0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0]);
        assert!(d.i64().is_err());
    }

    #[test]
    fn bstr_or_int_id_follows_rfc9528_section_3_3_2() {
        // RFC 9529: C_I 0x37 (-24) and 0x27 (-8) are sent as ints, 0x18 as h'18', the empty
        // identifier as h''.
        for (id, wire) in [
            (&[0x37u8][..], &[0x37u8][..]),
            (&[0x27], &[0x27]),
            (&[0x0e], &[0x0e]),
            (&[0x18], &[0x41, 0x18]),
            (&[], &[0x40]),
            (&[1, 2], &[0x42, 1, 2]),
        ] {
            let mut buf = [0u8; 8];
            let mut w = SliceWriter::new(&mut buf);
            Encoder::new(&mut w).bstr_or_int_id(id).unwrap();
            assert_eq!(w.written(), wire);
            assert_eq!(bstr_or_int_id_len(id), wire.len());
            let mut d = Decoder::new(wire);
            assert_eq!(d.bstr_or_int_id().unwrap(), id);
            assert!(d.is_empty());
        }
        // RFC 9529 §4.1.2: an identifier that should have been an int, sent as bstr.
        let mut d = Decoder::new(&[0x41, 0x0e]);
        assert!(d.bstr_or_int_id().is_err());
        assert_eq!(d.position(), 0);
        // Neither form: a two-byte int, a text string, nothing.
        assert!(Decoder::new(&[0x18, 0x18]).bstr_or_int_id().is_err());
        assert!(Decoder::new(&[0x61, b'a']).bstr_or_int_id().is_err());
        assert!(Decoder::new(&[]).bstr_or_int_id().is_err());
        assert!(is_one_byte_int(0x00) && is_one_byte_int(0x17));
        assert!(is_one_byte_int(0x20) && is_one_byte_int(0x37));
        assert!(!is_one_byte_int(0x18) && !is_one_byte_int(0x38) && !is_one_byte_int(0x40));
    }

    #[test]
    fn reject_floats_refuses_every_float_width() {
        for float in [
            &[0xf9, 0, 0][..],
            &[0xfa, 0, 0, 0, 0],
            &[0xfb, 0, 0, 0, 0, 0, 0, 0, 0],
        ] {
            assert!(Decoder::new(float).item().is_ok());
            assert!(Decoder::new(float).reject_floats().item().is_err());
            // Also inside a container.
            let mut nested = [0u8; 10];
            nested[0] = 0x81;
            nested[1..=float.len()].copy_from_slice(float);
            let nested = &nested[..=float.len()];
            assert!(Decoder::new(nested).reject_floats().skip().is_err());
        }
        // Simple values and booleans stay.
        for ok in [&[0xf5][..], &[0xf6], &[0xf8, 0x20]] {
            assert!(Decoder::new(ok).reject_floats().item().is_ok());
        }
    }

    // `is_utf8` gives core's answer: every 1- and 2-byte input, every 3-byte input starting
    // with a lead byte, 4-byte inputs over every lead and second byte with boundary
    // continuation bytes, and valid text of every length class with its first byte changed.
    #[test]
    fn is_utf8_agrees_with_core() {
        let same = |b: &[u8]| {
            assert_eq!(is_utf8(b), core::str::from_utf8(b).is_ok(), "{b:02x?}");
        };
        for a in 0..=255u8 {
            same(&[a]);
            for b in 0..=255u8 {
                same(&[a, b]);
                if a >= 0xc0 {
                    for c in 0..=255u8 {
                        same(&[a, b, c]);
                    }
                }
            }
        }
        let edges = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff];
        for a in 0xc0..=0xffu8 {
            for b in 0..=255u8 {
                for c in edges {
                    for d in edges {
                        same(&[a, b, c, d]);
                        same(&[b'x', a, b, c, d, b'y']);
                    }
                }
            }
        }
        let text = "a\u{7f}\u{80}\u{7ff}\u{800}\u{d7ff}\u{e000}\u{fffd}\u{10000}\u{10ffff}";
        same(text.as_bytes());
        for i in 0..text.len() {
            let mut b = [0u8; 32];
            let b = &mut b[..text.len()];
            b.copy_from_slice(text.as_bytes());
            for v in [0x80, 0xbf, 0xc1, 0xed, 0xf4, 0xf5] {
                b[i] = v;
                same(b);
                same(&b[..i]);
            }
        }
        // A skipped text string with invalid UTF-8 is malformed at its content's offset.
        let mut d = Decoder::new(&[0x82, 0x61, b'a', 0x62, 0xc3, 0x28]);
        assert!(matches!(d.item(), Err(Error::Cbor { offset: 4, .. })));
        assert!(
            Decoder::new(&[0x82, 0x61, b'a', 0x62, 0xc3, 0xa9])
                .item()
                .is_ok()
        );
    }

    #[test]
    fn encode_head_is_preferred_serialization() {
        // RFC 8949 Appendix A: 0 → 00, 23 → 17, 24 → 18 18, 100 → 18 64, 1000 → 19 03 e8,
        // 1000000 → 1a 00 0f 42 40, 1000000000000 → 1b 00 00 00 e8 d4 a5 10 00; h'' → 40.
        for (major, arg, enc) in [
            (0u8, 0u64, &[0x00][..]),
            (0, 23, &[0x17]),
            (0, 24, &[0x18, 0x18]),
            (0, 100, &[0x18, 0x64]),
            (0, 1000, &[0x19, 0x03, 0xe8]),
            (0, 1_000_000, &[0x1a, 0x00, 0x0f, 0x42, 0x40]),
            (
                0,
                1_000_000_000_000,
                &[0x1b, 0x00, 0x00, 0x00, 0xe8, 0xd4, 0xa5, 0x10, 0x00],
            ),
            (2, 0, &[0x40]),
            (4, 0xffff, &[0x99, 0xff, 0xff]),
            (1, 0x1_0000, &[0x3a, 0x00, 0x01, 0x00, 0x00]),
        ] {
            let (b, n) = encode_head(major, arg);
            assert_eq!(&b[..n], enc, "{major} {arg}");
            assert_eq!(n, head_len(arg));
            let mut buf = [0u8; 9];
            let mut w = SliceWriter::new(&mut buf);
            Encoder::new(&mut w).head(major, arg).unwrap();
            assert_eq!(w.written(), enc);
        }
    }
}
