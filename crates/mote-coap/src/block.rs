//! Block-wise transfers (RFC 7959) and BERT (RFC 8323 §6).
//!
//! * [`BlockValue`]: the Block1/Block2 option value (NUM, M, SZX) and its 0–3 byte uint codec.
//! * [`decode_size`] / [`encode_size`]: the Size1/Size2 options (RFC 7959 §4).
//! * [`BlockReassembler`]: a sans-IO receiver of a body in blocks — Block1 on a server,
//!   Block2 on a client — with order, offset, size-change, total-size and ETag checks.
//! * [`BlockSplitter`] and [`Block1Sender`]: the sending side, which honour a peer's smaller
//!   block size.
//!
//! Nothing here does I/O: the caller moves the option values and payloads between messages.
//!
//! ```
//! use mote_coap::block::{BlockReassembler, BlockKind, BlockSplitter, Progress, Szx};
//!
//! // Server side of a Block2 download: the body is split in 64-byte blocks.
//! let body = [7u8; 150];
//! let splitter = BlockSplitter::new(&body);
//! // Client side: reassemble into a Vec, never more than 4 KiB.
//! let mut client = BlockReassembler::new(BlockKind::Block2, Vec::new(), 4096, Szx::S64);
//! let mut request = None; // the first GET carries no Block2 option
//! loop {
//!     let (block, payload) = splitter.respond(request, Szx::S64).unwrap();
//!     match client.push(&block, payload, None).unwrap() {
//!         Progress::NeedMore(next) => request = Some(next),
//!         Progress::Complete(_) => break,
//!     }
//! }
//! assert_eq!(client.body(), &body[..]);
//! ```

#![deny(clippy::indexing_slicing)]

#[cfg(feature = "alloc")]
use alloc::vec::Vec;
use core::fmt;

use crate::message::Message;
use crate::option::{OptionNumber, OptionRef};

/// Largest block number: NUM is a 20-bit field (RFC 7959 §2.2, Figure 1).
pub const MAX_BLOCK_NUMBER: u32 = (1 << 20) - 1;

/// Size of one BERT block unit (RFC 8323 §6).
pub const BERT_UNIT: usize = 1024;

/// Longest ETag option value (RFC 7252 §5.10.6).
pub const MAX_ETAG_LEN: usize = 8;

/// Errors of block-wise option values and transfers.
///
/// [`BlockError::response_class`] tells which CoAP response a server sends for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    /// A Block1/Block2 option value longer than 3 bytes (RFC 7959 §2.2).
    #[error("block option value is {len} bytes long; at most 3 bytes are allowed (RFC 7959 §2.2)")]
    ValueTooLong {
        /// Length of the offending option value.
        len: usize,
    },
    /// A block number that does not fit the 20-bit NUM field.
    #[error("block number {num} does not fit in the 20-bit NUM field (RFC 7959 §2.2)")]
    NumberTooLarge {
        /// The block number asked for.
        num: u32,
    },
    /// SZX 7 where BERT has not been negotiated (RFC 7959 §2.2: reserved, 4.00 on reception).
    #[error(
        "SZX 7 is reserved unless BERT is negotiated on a reliable transport (RFC 7959 §2.2, RFC 8323 §6)"
    )]
    ReservedSzx,
    /// An SZX value above 7 given to a constructor.
    #[error("SZX {szx} is out of range 0..=7")]
    InvalidSzx {
        /// The value given.
        szx: u8,
    },
    /// A Size1/Size2 option value longer than 4 bytes (RFC 7959 §4).
    #[error(
        "Size1/Size2 option value is {len} bytes long; at most 4 bytes are allowed (RFC 7959 §4)"
    )]
    SizeValueTooLong {
        /// Length of the offending option value.
        len: usize,
    },
    /// An ETag option value longer than 8 bytes (RFC 7252 §5.10.6).
    #[error(
        "ETag option value is {len} bytes long; at most 8 bytes are allowed (RFC 7252 §5.10.6)"
    )]
    EtagTooLong {
        /// Length of the offending option value.
        len: usize,
    },
    /// A block that does not continue the body where the previous one ended.
    #[error("block starts at byte offset {got}, expected offset {expected} (RFC 7959 §2.5: 4.08)")]
    OutOfOrder {
        /// Offset of the next byte the reassembler expects.
        expected: usize,
        /// Offset the block claims (NUM × block size).
        got: usize,
    },
    /// A non-final block whose payload does not fill its block size (RFC 7959 §2.3;
    /// for BERT, a non-zero multiple of 1024 bytes, RFC 8323 §6).
    #[error("non-final block carries {len} payload bytes; its block size requires {size}")]
    PayloadSizeMismatch {
        /// Payload length received.
        len: usize,
        /// Block size required by SZX (1024 for BERT; BERT allows multiples).
        size: usize,
    },
    /// A block size that grew during one transfer (sizes may only shrink, RFC 7959 §2.4, §2.5).
    #[error("block size grew from {from} to {to} bytes within one transfer (RFC 7959 §2.4, §2.5)")]
    SizeIncreased {
        /// Block size in use so far.
        from: usize,
        /// Block size of the new block.
        to: usize,
    },
    /// The body (or its announced Size1/Size2) exceeds the configured limit (4.13 for Block1).
    #[error(
        "body of {size} bytes exceeds the configured limit of {limit} bytes (RFC 7959 §2.9.3: 4.13)"
    )]
    TooLarge {
        /// Size reached or announced.
        size: u64,
        /// The configured limit.
        limit: usize,
    },
    /// The ETag changed between Block2 responses: the representation changed (RFC 7959 §2.4).
    #[error(
        "ETag changed during a Block2 transfer: the representation changed, restart the transfer (RFC 7959 §2.4)"
    )]
    EtagChanged,
    /// A block pushed after the final block was received.
    #[error("the block-wise transfer is already complete")]
    AlreadyComplete,
    /// A block asked for beyond the end of the body being sent (RFC 7959 §2.4).
    #[error("block at byte offset {offset} lies beyond the body of {len} bytes")]
    BeyondEnd {
        /// Byte offset of the block asked for.
        offset: usize,
        /// Length of the body.
        len: usize,
    },
    /// A 2.31 Continue whose Block1 number does not acknowledge the block just sent.
    #[error("Block1 in the response acknowledges block {got}, but block {sent} was sent")]
    UnexpectedAcknowledgement {
        /// Block number sent.
        sent: u32,
        /// Block number acknowledged.
        got: u32,
    },
}

impl BlockError {
    /// The response code class and detail a server answers with for this error in a request
    /// (`(4, 8)` is 4.08 Request Entity Incomplete, `(4, 13)` 4.13 Request Entity Too Large,
    /// `(4, 0)` 4.00 Bad Request, `(4, 2)` 4.02 Bad Option).
    #[must_use]
    pub const fn response_class(&self) -> (u8, u8) {
        match self {
            // RFC 7959 §2.9.2: missing or out-of-order blocks.
            Self::OutOfOrder { .. } | Self::AlreadyComplete => (4, 8),
            // RFC 7959 §2.9.3.
            Self::TooLarge { .. } => (4, 13),
            // RFC 7252 §5.4.1: a malformed critical option (Block1/Block2 are critical).
            Self::ValueTooLong { .. }
            | Self::SizeValueTooLong { .. }
            | Self::EtagTooLong { .. } => (4, 2),
            // RFC 7959 §2.2 (SZX 7) and everything else a client got wrong.
            _ => (4, 0),
        }
    }
}

/// The block size exponent SZX: block size = 2^(SZX + 4); 7 denotes BERT (RFC 8323 §6).
///
/// Ordered by block size, with BERT above 1024.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Szx(u8);

impl Szx {
    /// 16-byte blocks.
    pub const S16: Szx = Szx(0);
    /// 32-byte blocks.
    pub const S32: Szx = Szx(1);
    /// 64-byte blocks.
    pub const S64: Szx = Szx(2);
    /// 128-byte blocks.
    pub const S128: Szx = Szx(3);
    /// 256-byte blocks.
    pub const S256: Szx = Szx(4);
    /// 512-byte blocks.
    pub const S512: Szx = Szx(5);
    /// 1024-byte blocks.
    pub const S1024: Szx = Szx(6);
    /// BERT: multiples of 1024-byte blocks over a reliable transport (RFC 8323 §6).
    pub const BERT: Szx = Szx(7);

    /// The SZX with this 3-bit value, `None` above 7.
    #[must_use]
    pub const fn new(value: u8) -> Option<Szx> {
        if value <= 7 { Some(Szx(value)) } else { None }
    }

    /// The SZX for a block size of 16..=1024 bytes (a power of two), `None` otherwise.
    #[must_use]
    pub const fn from_size(size: usize) -> Option<Szx> {
        match size {
            16 => Some(Self::S16),
            32 => Some(Self::S32),
            64 => Some(Self::S64),
            128 => Some(Self::S128),
            256 => Some(Self::S256),
            512 => Some(Self::S512),
            1024 => Some(Self::S1024),
            _ => None,
        }
    }

    /// The 3-bit value.
    #[must_use]
    pub const fn value(self) -> u8 {
        self.0
    }

    /// Whether this is the BERT value 7.
    #[must_use]
    pub const fn is_bert(self) -> bool {
        self.0 == 7
    }

    /// The block size in bytes: 2^(SZX + 4), and 1024 for BERT (RFC 8323 §6: "interpreted in
    /// the same way as the equivalent Option with SZX == 6").
    #[must_use]
    pub const fn size(self) -> usize {
        if self.0 >= 6 { 1024 } else { 1 << (self.0 + 4) }
    }
}

impl fmt::Display for Szx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_bert() {
            f.write_str("BERT")
        } else {
            write!(f, "{}", self.size())
        }
    }
}

/// A Block1 or Block2 option value (RFC 7959 §2.2, Figure 1).
///
/// Displayed in the RFC's notation `NUM/M/SIZE` (e.g. `2/0/32`; `3/1/BERT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockValue {
    num: u32,
    more: bool,
    szx: Szx,
}

impl BlockValue {
    /// A block value; `num` must fit in 20 bits.
    ///
    /// # Errors
    /// [`BlockError::NumberTooLarge`] when `num` exceeds [`MAX_BLOCK_NUMBER`].
    pub const fn new(num: u32, more: bool, szx: Szx) -> Result<Self, BlockError> {
        if num > MAX_BLOCK_NUMBER {
            return Err(BlockError::NumberTooLarge { num });
        }
        Ok(Self { num, more, szx })
    }

    /// Decodes an option value of 0–3 bytes (RFC 7959 §2.2). SZX 7 is accepted only when
    /// `bert_negotiated` (RFC 8323 §6: a BERT-capable peer on a reliable transport).
    ///
    /// # Errors
    /// [`BlockError::ValueTooLong`] for 4 or more bytes, [`BlockError::ReservedSzx`] for SZX 7
    /// without BERT.
    pub fn decode(value: &[u8], bert_negotiated: bool) -> Result<Self, BlockError> {
        if value.len() > 3 {
            return Err(BlockError::ValueTooLong { len: value.len() });
        }
        let raw = value.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
        Self::from_uint(raw, bert_negotiated)
    }

    /// Interprets an already decoded uint (at most 24 bits significant).
    ///
    /// # Errors
    /// As [`BlockValue::decode`]; values above 2^24 − 1 are [`BlockError::ValueTooLong`].
    pub fn from_uint(raw: u32, bert_negotiated: bool) -> Result<Self, BlockError> {
        if raw > 0x00FF_FFFF {
            return Err(BlockError::ValueTooLong { len: 4 });
        }
        // RFC 7959 §2.2: "val & 7" is SZX, "val & 8" is M, "val >> 4" is NUM.
        let szx = Szx((raw & 0x7) as u8);
        if szx.is_bert() && !bert_negotiated {
            return Err(BlockError::ReservedSzx);
        }
        Ok(Self {
            num: raw >> 4,
            more: raw & 0x8 != 0,
            szx,
        })
    }

    /// The option value as a uint.
    #[must_use]
    pub const fn to_uint(&self) -> u32 {
        (self.num << 4) | ((self.more as u32) << 3) | self.szx.0 as u32
    }

    /// Length of the minimal uint encoding (0–3 bytes; RFC 7252 §3.2).
    #[must_use]
    pub const fn encoded_len(&self) -> usize {
        uint_len(self.to_uint())
    }

    /// Writes the minimal encoding into `out` and returns the number of bytes written.
    ///
    /// # Errors
    /// Returns the length needed when `out` is shorter than [`BlockValue::encoded_len`].
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, usize> {
        write_uint(self.to_uint(), out)
    }

    /// The minimal encoding in a fixed array, with its length.
    #[must_use]
    pub fn to_bytes(&self) -> ([u8; 3], usize) {
        let raw = self.to_uint().to_be_bytes();
        let len = self.encoded_len();
        let mut out = [0u8; 3];
        for (dst, src) in out.iter_mut().zip(raw.iter().skip(4 - len)) {
            *dst = *src;
        }
        (out, len)
    }

    /// The block number NUM.
    #[must_use]
    pub const fn num(&self) -> u32 {
        self.num
    }

    /// The M ("more") flag.
    #[must_use]
    pub const fn more(&self) -> bool {
        self.more
    }

    /// The block size exponent.
    #[must_use]
    pub const fn szx(&self) -> Szx {
        self.szx
    }

    /// The block size in bytes (1024 for BERT).
    #[must_use]
    pub const fn size(&self) -> usize {
        self.szx.size()
    }

    /// Byte position of the block's first byte: NUM << (SZX + 4) (RFC 7959 §2.2).
    #[must_use]
    pub const fn offset(&self) -> usize {
        // NUM < 2^20 and size <= 2^10: the product fits in 30 bits (saturating on 16-bit
        // targets rather than overflowing).
        (self.num as usize).saturating_mul(self.szx.size())
    }

    /// The same value with the M flag set to `more`.
    #[must_use]
    pub const fn with_more(self, more: bool) -> Self {
        Self { more, ..self }
    }
}

impl BlockValue {
    /// The first option `number` ([`OptionNumber::BLOCK1`] or [`OptionNumber::BLOCK2`]) among
    /// `options` (of a UDP message or a TCP frame); `Ok(None)` when absent.
    ///
    /// # Errors
    /// As [`BlockValue::decode`].
    pub fn from_options<'a>(
        options: impl IntoIterator<Item = OptionRef<'a>>,
        number: OptionNumber,
        bert_negotiated: bool,
    ) -> Result<Option<Self>, BlockError> {
        options
            .into_iter()
            .find(|o| o.number == number)
            .map(|o| Self::decode(o.value, bert_negotiated))
            .transpose()
    }

    /// The Block1 or Block2 option of a UDP message (BERT is never negotiated over UDP).
    ///
    /// # Errors
    /// As [`BlockValue::decode`].
    pub fn from_message(
        message: &Message<'_>,
        number: OptionNumber,
    ) -> Result<Option<Self>, BlockError> {
        message
            .option(number)
            .map(|o| Self::decode(o.value, false))
            .transpose()
    }
}

/// The Size1 or Size2 option ([`OptionNumber::SIZE1`], [`OptionNumber::SIZE2`]) among
/// `options`; `Ok(None)` when absent.
///
/// # Errors
/// As [`decode_size`].
pub fn size_from_options<'a>(
    options: impl IntoIterator<Item = OptionRef<'a>>,
    number: OptionNumber,
) -> Result<Option<u32>, BlockError> {
    options
        .into_iter()
        .find(|o| o.number == number)
        .map(|o| decode_size(o.value))
        .transpose()
}

impl fmt::Display for BlockValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.num, u8::from(self.more), self.szx)
    }
}

/// Decodes a Size1 or Size2 option value: a uint of 0–4 bytes (RFC 7959 §4).
///
/// # Errors
/// [`BlockError::SizeValueTooLong`] for 5 or more bytes.
pub fn decode_size(value: &[u8]) -> Result<u32, BlockError> {
    if value.len() > 4 {
        return Err(BlockError::SizeValueTooLong { len: value.len() });
    }
    Ok(value.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
}

/// Encodes a Size1 or Size2 value minimally into `out`, returning the length written.
///
/// # Errors
/// Returns the length needed when `out` is too short.
pub fn encode_size(size: u32, out: &mut [u8]) -> Result<usize, usize> {
    write_uint(size, out)
}

const fn uint_len(v: u32) -> usize {
    match v {
        0 => 0,
        1..=0xFF => 1,
        0x100..=0xFFFF => 2,
        0x1_0000..=0xFF_FFFF => 3,
        _ => 4,
    }
}

fn write_uint(v: u32, out: &mut [u8]) -> Result<usize, usize> {
    let len = uint_len(v);
    let dst = out.get_mut(..len).ok_or(len)?;
    for (d, s) in dst.iter_mut().zip(v.to_be_bytes().iter().skip(4 - len)) {
        *d = *s;
    }
    Ok(len)
}

/// Storage for a reassembled body: a `Vec<u8>` (with `alloc`) or a caller's slice
/// ([`SliceBuffer`]).
pub trait BodyBuffer {
    /// The bytes stored so far.
    fn as_slice(&self) -> &[u8];
    /// Most bytes this buffer can ever hold.
    fn capacity_limit(&self) -> usize;
    /// Appends `data`; called only when the data fits in [`BodyBuffer::capacity_limit`].
    fn append(&mut self, data: &[u8]);
    /// Forgets the stored bytes.
    fn clear(&mut self);
}

#[cfg(feature = "alloc")]
impl BodyBuffer for Vec<u8> {
    fn as_slice(&self) -> &[u8] {
        self
    }
    fn capacity_limit(&self) -> usize {
        usize::MAX
    }
    fn append(&mut self, data: &[u8]) {
        self.extend_from_slice(data);
    }
    fn clear(&mut self) {
        Vec::clear(self);
    }
}

/// A [`BodyBuffer`] over a caller-provided slice, for targets without an allocator.
#[derive(Debug)]
pub struct SliceBuffer<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> SliceBuffer<'b> {
    /// An empty buffer that can hold `buf.len()` bytes.
    pub fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, len: 0 }
    }
}

impl BodyBuffer for SliceBuffer<'_> {
    fn as_slice(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
    fn capacity_limit(&self) -> usize {
        self.buf.len()
    }
    fn append(&mut self, data: &[u8]) {
        let end = self.len.saturating_add(data.len());
        if let Some(dst) = self.buf.get_mut(self.len..end) {
            dst.copy_from_slice(data);
            self.len = end;
        }
    }
    fn clear(&mut self) {
        self.len = 0;
    }
}

/// Which Block option a reassembler receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// Block1 in requests: a server receiving a request body (RFC 7959 §2.5).
    Block1,
    /// Block2 in responses: a client receiving a response body (RFC 7959 §2.4).
    Block2,
}

/// What a reassembler wants after a block was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// More blocks follow.
    ///
    /// For [`BlockKind::Block2`] the value is the Block2 option of the next request
    /// (control usage, M = 0). For [`BlockKind::Block1`] it is the Block1 option of the
    /// 2.31 (Continue) response: the received NUM, M = 1, and the SZX the server wants for the
    /// following blocks (RFC 7959 §2.5, Figure 9).
    NeedMore(BlockValue),
    /// The body is complete ([`BlockReassembler::body`]). For Block1 the value is the Block1
    /// option of the final response (received NUM, M = 0; RFC 7959 §2.5, Figure 7).
    Complete(BlockValue),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Etag {
    bytes: [u8; MAX_ETAG_LEN],
    len: u8,
}

impl Etag {
    fn new(value: &[u8]) -> Result<Self, BlockError> {
        let mut bytes = [0u8; MAX_ETAG_LEN];
        bytes
            .get_mut(..value.len())
            .ok_or(BlockError::EtagTooLong { len: value.len() })?
            .copy_from_slice(value);
        Ok(Self {
            bytes,
            len: value.len() as u8,
        })
    }
}

/// Sans-IO reassembly of a body received block-wise (RFC 7959 §2.4, §2.5; BERT per
/// RFC 8323 §6).
///
/// Call order: [`BlockReassembler::new`]; optionally [`BlockReassembler::check_announced_size`]
/// with a Size1/Size2 value; then [`BlockReassembler::push`] for each received block, in the
/// order they arrive, until it returns [`Progress::Complete`]; then read
/// [`BlockReassembler::body`]. A block that fails a check changes no state.
///
/// The total size is always bounded: by `max_body` and by the buffer's capacity.
#[derive(Debug)]
pub struct BlockReassembler<B> {
    kind: BlockKind,
    buf: B,
    max_body: usize,
    preferred: Szx,
    current: Option<Szx>,
    etag: Option<Option<Etag>>,
    complete: bool,
    /// Body bytes accepted so far, including those handed out by
    /// [`BlockReassembler::forget_stored`].
    received: usize,
}

impl<B: BodyBuffer> BlockReassembler<B> {
    /// A reassembler for `kind` storing into `buf`, accepting at most `max_body` bytes, and
    /// asking for blocks of at most `preferred` size (use [`Szx::BERT`] to accept BERT blocks).
    pub fn new(kind: BlockKind, buf: B, max_body: usize, preferred: Szx) -> Self {
        Self {
            kind,
            buf,
            max_body,
            preferred,
            current: None,
            etag: None,
            complete: false,
            received: 0,
        }
    }

    /// The effective limit: the smaller of `max_body` and the buffer's capacity.
    #[must_use]
    pub fn limit(&self) -> usize {
        self.max_body.min(self.buf.capacity_limit())
    }

    /// Checks an announced total size (Size1 in a Block1 request, Size2 in a Block2 response;
    /// RFC 7959 §4) against the limit, so a server can answer 4.13 before any data is stored.
    ///
    /// # Errors
    /// [`BlockError::TooLarge`] when `size` exceeds the limit.
    pub fn check_announced_size(&self, size: u32) -> Result<(), BlockError> {
        let limit = self.limit();
        if u64::from(size) > limit as u64 {
            return Err(BlockError::TooLarge {
                size: u64::from(size),
                limit,
            });
        }
        Ok(())
    }

    /// Accepts one received block: its Block option, payload and (for Block2) the ETag option
    /// value of the response carrying it.
    ///
    /// # Errors
    /// [`BlockError::OutOfOrder`], [`BlockError::PayloadSizeMismatch`],
    /// [`BlockError::SizeIncreased`], [`BlockError::TooLarge`], [`BlockError::EtagChanged`],
    /// [`BlockError::EtagTooLong`], [`BlockError::AlreadyComplete`]. On error nothing changes.
    pub fn push(
        &mut self,
        block: &BlockValue,
        payload: &[u8],
        etag: Option<&[u8]>,
    ) -> Result<Progress, BlockError> {
        if self.complete {
            return Err(BlockError::AlreadyComplete);
        }
        let received = self.received;
        let size = block.size();
        // RFC 7959 §2.4/§2.5: sizes may shrink during a transfer, never grow. BERT counts as
        // larger than 1024 (it carries several 1024-byte blocks).
        if let Some(current) = self.current {
            if block.szx() > current {
                return Err(BlockError::SizeIncreased {
                    from: current.size(),
                    to: size,
                });
            }
        }
        // RFC 7959 §2.2: the block starts at NUM << (SZX + 4); it must continue the body.
        let offset = block.offset();
        if offset != received {
            return Err(BlockError::OutOfOrder {
                expected: received,
                got: offset,
            });
        }
        if block.more() {
            // RFC 7959 §2.3: with M set the payload size matches the block size; RFC 8323 §6:
            // a non-final BERT block is a non-zero multiple of 1024 bytes.
            let fits = if block.szx().is_bert() {
                !payload.is_empty() && payload.len() % BERT_UNIT == 0
            } else {
                payload.len() == size
            };
            if !fits {
                return Err(BlockError::PayloadSizeMismatch {
                    len: payload.len(),
                    size,
                });
            }
        }
        let total = received.saturating_add(payload.len());
        let limit = self.limit();
        if total > limit {
            return Err(BlockError::TooLarge {
                size: total as u64,
                limit,
            });
        }
        // RFC 7959 §2.4: an ETag that differs between blocks means the representation changed.
        let etag = match (self.kind, etag) {
            (BlockKind::Block2, Some(value)) => Some(Etag::new(value)?),
            _ => None,
        };
        if let Some(first) = self.etag {
            if first != etag {
                return Err(BlockError::EtagChanged);
            }
        }

        // All checks passed: commit.
        self.etag = Some(etag);
        self.buf.append(payload);
        self.received = total;
        self.current = Some(block.szx());
        let next_szx = block.szx().min(self.preferred);
        if !block.more() {
            self.complete = true;
            return Ok(Progress::Complete(*block));
        }
        match self.kind {
            BlockKind::Block1 => Ok(Progress::NeedMore(BlockValue {
                num: block.num(),
                more: true,
                szx: next_szx,
            })),
            BlockKind::Block2 => {
                // The next request asks for the block at the new offset in the (possibly
                // smaller) size the client prefers (late negotiation, RFC 7959 §2.4, Figure 4).
                let num = u32::try_from(total / next_szx.size()).unwrap_or(u32::MAX);
                BlockValue::new(num, false, next_szx).map(Progress::NeedMore)
            }
        }
    }

    /// Whether the final block was received.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// The body received so far (complete once [`Progress::Complete`] was returned).
    #[must_use]
    pub fn body(&self) -> &[u8] {
        self.buf.as_slice()
    }

    /// Body bytes accepted so far, counting those dropped by
    /// [`BlockReassembler::forget_stored`] (the offset the next block must start at).
    #[must_use]
    pub fn received(&self) -> usize {
        self.received
    }

    /// Drops the stored bytes but keeps the position, ETag and block size: for a receiver
    /// that hands each block on as it arrives instead of holding the body.
    pub fn forget_stored(&mut self) {
        self.buf.clear();
    }

    /// Discards the body and state, e.g. to restart after [`BlockError::EtagChanged`].
    pub fn reset(&mut self) {
        self.received = 0;
        self.buf.clear();
        self.current = None;
        self.etag = None;
        self.complete = false;
    }

    /// Gives the buffer back.
    pub fn into_buffer(self) -> B {
        self.buf
    }
}

/// Cuts a body into blocks for sending: Block2 responses on a server, or Block1 requests
/// through [`Block1Sender`].
#[derive(Debug, Clone, Copy)]
pub struct BlockSplitter<'a> {
    body: &'a [u8],
}

impl<'a> BlockSplitter<'a> {
    /// A splitter over `body`.
    #[must_use]
    pub const fn new(body: &'a [u8]) -> Self {
        Self { body }
    }

    /// The whole body.
    #[must_use]
    pub const fn body(&self) -> &'a [u8] {
        self.body
    }

    /// Block `num` of size `szx` (a single 1024-byte block for BERT) and its payload; the M
    /// flag says whether more bytes follow.
    ///
    /// # Errors
    /// [`BlockError::BeyondEnd`] when the block starts past the body (block 0 of an empty body
    /// is an empty final block), [`BlockError::NumberTooLarge`].
    pub fn block(&self, num: u32, szx: Szx) -> Result<(BlockValue, &'a [u8]), BlockError> {
        self.bert_block(num, szx, 0)
    }

    /// Like [`BlockSplitter::block`], but with [`Szx::BERT`] the payload holds as many whole
    /// 1024-byte blocks as fit in `max_payload` (at least one), or — when the rest of the body
    /// fits in `max_payload` — the whole rest as the final BERT block ("a multiple (possibly 0)
    /// of 1024 bytes plus a partial block", RFC 8323 §6).
    ///
    /// # Errors
    /// As [`BlockSplitter::block`].
    pub fn bert_block(
        &self,
        num: u32,
        szx: Szx,
        max_payload: usize,
    ) -> Result<(BlockValue, &'a [u8]), BlockError> {
        let value = BlockValue::new(num, false, szx)?;
        let offset = value.offset();
        let len = self.body.len();
        if offset > len || (offset == len && num != 0) {
            return Err(BlockError::BeyondEnd { offset, len });
        }
        let span = if szx.is_bert() {
            let rest = len - offset;
            if rest <= max_payload.max(BERT_UNIT) {
                rest
            } else {
                (max_payload / BERT_UNIT).max(1) * BERT_UNIT
            }
        } else {
            szx.size()
        };
        let end = offset.saturating_add(span).min(len);
        let payload = self.body.get(offset..end).unwrap_or(&[]);
        Ok((value.with_more(end < len), payload))
    }

    /// The Block2 response to a request carrying `request` (`None` when the request had no
    /// Block2 option): the block at the requested offset, in the smaller of the requested and
    /// the server's `preferred` size (RFC 7959 §2.4). The request's M flag is ignored
    /// (RFC 7959 §2.2).
    ///
    /// # Errors
    /// As [`BlockSplitter::block`].
    pub fn respond(
        &self,
        request: Option<BlockValue>,
        preferred: Szx,
    ) -> Result<(BlockValue, &'a [u8]), BlockError> {
        let (offset, szx) = match request {
            None => (0, preferred),
            Some(req) => (req.offset(), req.szx().min(preferred)),
        };
        let num = u32::try_from(offset / szx.size()).unwrap_or(u32::MAX);
        self.block(num, szx)
    }

    /// Iterates over all blocks of size `szx` (one 1024-byte block per item for BERT).
    #[must_use]
    pub fn blocks(&self, szx: Szx) -> Blocks<'a> {
        Blocks {
            splitter: *self,
            szx,
            num: 0,
            done: false,
        }
    }
}

/// Iterator over the blocks of a body, from [`BlockSplitter::blocks`].
#[derive(Debug, Clone)]
pub struct Blocks<'a> {
    splitter: BlockSplitter<'a>,
    szx: Szx,
    num: u32,
    done: bool,
}

impl<'a> Iterator for Blocks<'a> {
    type Item = (BlockValue, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.splitter.block(self.num, self.szx) {
            Ok((value, payload)) => {
                self.done = !value.more();
                self.num = self.num.saturating_add(1);
                Some((value, payload))
            }
            Err(_) => {
                self.done = true;
                None
            }
        }
    }
}

/// Client side of a Block1 upload (RFC 7959 §2.5): yields the block to send next and adapts
/// to the server's smaller block size from a 2.31 (Continue) response (RFC 7959 §3.2,
/// Figure 9: "it MUST adjust the block number to properly count in that smaller size").
///
/// Call order: [`Block1Sender::current`] → send → on 2.31 call [`Block1Sender::on_continue`]
/// with the response's Block1 value → repeat until [`Block1Sender::current`] is the final
/// block (M = 0) and its response arrived.
#[derive(Debug, Clone)]
pub struct Block1Sender<'a> {
    body: &'a [u8],
    offset: usize,
    szx: Szx,
    max_payload: usize,
}

impl<'a> Block1Sender<'a> {
    /// A sender of `body` starting with blocks of `szx`. With [`Szx::BERT`], each request
    /// carries as many whole 1024-byte blocks as fit in `max_payload` (RFC 8323 §6).
    #[must_use]
    pub const fn new(body: &'a [u8], szx: Szx, max_payload: usize) -> Self {
        Self {
            body,
            offset: 0,
            szx,
            max_payload,
        }
    }

    /// The Block1 value and payload of the request to send now.
    ///
    /// # Errors
    /// [`BlockError::NumberTooLarge`] when the body is too long for 20-bit block numbers.
    pub fn current(&self) -> Result<(BlockValue, &'a [u8]), BlockError> {
        let num = u32::try_from(self.offset / self.szx.size()).unwrap_or(u32::MAX);
        BlockSplitter::new(self.body).bert_block(num, self.szx, self.max_payload)
    }

    /// Processes the Block1 option of a 2.31 (Continue) response: checks it acknowledges the
    /// block just sent, moves past it, and adopts a smaller SZX if the server asked for one.
    ///
    /// # Errors
    /// [`BlockError::UnexpectedAcknowledgement`] for a NUM (in the sent size) that is not the
    /// block sent; [`BlockError::AlreadyComplete`] when the final block was already sent.
    pub fn on_continue(&mut self, ack: &BlockValue) -> Result<(), BlockError> {
        let (sent, payload) = self.current()?;
        if !sent.more() {
            return Err(BlockError::AlreadyComplete);
        }
        if ack.num() != sent.num() {
            return Err(BlockError::UnexpectedAcknowledgement {
                sent: sent.num(),
                got: ack.num(),
            });
        }
        self.offset += payload.len();
        // RFC 7959 §2.5: the client SHOULD continue with the server's smaller size.
        self.szx = self.szx.min(ack.szx());
        Ok(())
    }

    /// Changes the payload limit for BERT requests from the next [`Block1Sender::current`] on.
    pub fn set_max_payload(&mut self, max_payload: usize) {
        self.max_payload = max_payload;
    }

    /// Bytes acknowledged so far.
    #[must_use]
    pub const fn acknowledged(&self) -> usize {
        self.offset
    }
}

#[cfg(all(test, feature = "alloc"))] // the tests build owned values
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn rfc7959_section3_notation_examples() {
        // RFC 7959 §3: "a Block2 Option value of 33 would be shown as 2:2/0/32) and a Block1
        // Option value of 59 would be shown as 1:3/1/128".
        let b = BlockValue::decode(&[33], false).unwrap();
        assert_eq!((b.num(), b.more(), b.size()), (2, false, 32));
        let b = BlockValue::decode(&[59], false).unwrap();
        assert_eq!((b.num(), b.more(), b.size()), (3, true, 128));
        assert_eq!(b.to_string(), "3/1/128");
    }

    #[test]
    fn zero_length_value_is_block_zero_of_16() {
        // RFC 7959 §2.2: all-zero fields are sent as a zero-byte uint.
        let b = BlockValue::decode(&[], false).unwrap();
        assert_eq!((b.num(), b.more(), b.size()), (0, false, 16));
        assert_eq!(b.encoded_len(), 0);
    }

    #[test]
    fn four_byte_values_and_reserved_szx_rejected() {
        assert_eq!(
            BlockValue::decode(&[0, 0, 0, 0], false),
            Err(BlockError::ValueTooLong { len: 4 })
        );
        assert_eq!(
            BlockValue::decode(&[0x0f], false),
            Err(BlockError::ReservedSzx)
        );
        assert!(BlockValue::decode(&[0x0f], true).unwrap().szx().is_bert());
        assert_eq!(
            BlockValue::new(1 << 20, false, Szx::S16),
            Err(BlockError::NumberTooLarge { num: 1 << 20 })
        );
    }

    #[test]
    fn size_options() {
        assert_eq!(decode_size(&[0x01, 0x00]).unwrap(), 256);
        assert_eq!(
            decode_size(&[1, 2, 3, 4, 5]),
            Err(BlockError::SizeValueTooLong { len: 5 })
        );
        let mut out = [0u8; 4];
        assert_eq!(encode_size(0x1_0000, &mut out), Ok(3));
        assert_eq!(out[..3], [1, 0, 0]);
        assert_eq!(encode_size(0x1_0000, &mut out[..2]), Err(3));
    }

    #[test]
    fn reassembler_rejects_without_changing_state() {
        let mut r = BlockReassembler::new(BlockKind::Block2, Vec::new(), 100, Szx::S1024);
        let b0 = BlockValue::new(0, true, Szx::S32).unwrap();
        assert!(matches!(
            r.push(&b0, &[0; 31], None),
            Err(BlockError::PayloadSizeMismatch { len: 31, size: 32 })
        ));
        assert_eq!(
            r.push(&b0, &[0; 32], Some(b"e1")),
            Ok(Progress::NeedMore(
                BlockValue::new(1, false, Szx::S32).unwrap()
            ))
        );
        let b2 = BlockValue::new(2, true, Szx::S32).unwrap();
        assert_eq!(
            r.push(&b2, &[0; 32], Some(b"e1")),
            Err(BlockError::OutOfOrder {
                expected: 32,
                got: 64
            })
        );
        let b1 = BlockValue::new(1, true, Szx::S32).unwrap();
        assert_eq!(
            r.push(&b1, &[0; 32], Some(b"e2")),
            Err(BlockError::EtagChanged)
        );
        assert_eq!(r.push(&b1, &[0; 32], None), Err(BlockError::EtagChanged));
        let big = BlockValue::new(1, true, Szx::S64).unwrap();
        assert!(matches!(
            r.push(&big, &[0; 64], Some(b"e1")),
            Err(BlockError::SizeIncreased { .. })
        ));
        assert_eq!(r.body().len(), 32);
        let b1_last = BlockValue::new(1, false, Szx::S32).unwrap();
        assert_eq!(
            r.push(&b1_last, &[0; 69], Some(b"e1")),
            Err(BlockError::TooLarge {
                size: 101,
                limit: 100
            })
        );
        assert_eq!(
            r.push(&b1_last, &[0; 68], Some(b"e1")),
            Ok(Progress::Complete(b1_last))
        );
        assert_eq!(
            r.push(&b1_last, &[], Some(b"e1")),
            Err(BlockError::AlreadyComplete)
        );
        assert_eq!(r.body().len(), 100);
    }

    #[test]
    fn bert_blocks_need_whole_kilobytes() {
        // RFC 8323 §6: a non-final BERT block is a non-zero multiple of 1024 bytes.
        let mut r = BlockReassembler::new(BlockKind::Block1, Vec::new(), 10_000, Szx::BERT);
        let b0 = BlockValue::new(0, true, Szx::BERT).unwrap();
        assert!(matches!(
            r.push(&b0, &[0; 1500], None),
            Err(BlockError::PayloadSizeMismatch { .. })
        ));
        assert!(matches!(
            r.push(&b0, &[], None),
            Err(BlockError::PayloadSizeMismatch { .. })
        ));
        assert_eq!(r.push(&b0, &[0; 2048], None), Ok(Progress::NeedMore(b0)));
        let b2 = BlockValue::new(2, false, Szx::BERT).unwrap();
        assert_eq!(r.push(&b2, &[0; 1500], None), Ok(Progress::Complete(b2)));
        assert_eq!(r.body().len(), 3548);
    }

    #[test]
    fn errors_map_to_response_codes() {
        // RFC 7959 §2.9.2 (4.08), §2.9.3 (4.13), §2.2 (SZX 7: 4.00).
        assert_eq!(
            BlockError::OutOfOrder {
                expected: 0,
                got: 16
            }
            .response_class(),
            (4, 8)
        );
        assert_eq!(
            BlockError::TooLarge { size: 9, limit: 8 }.response_class(),
            (4, 13)
        );
        assert_eq!(BlockError::ReservedSzx.response_class(), (4, 0));
        assert_eq!(BlockError::ValueTooLong { len: 4 }.response_class(), (4, 2));
    }

    #[test]
    fn slice_buffer_bounds_the_body() {
        let mut storage = [0u8; 40];
        let mut r = BlockReassembler::new(
            BlockKind::Block1,
            SliceBuffer::new(&mut storage),
            1000,
            Szx::S16,
        );
        assert_eq!(r.limit(), 40);
        assert!(r.check_announced_size(41).is_err());
        assert!(r.check_announced_size(40).is_ok());
        let b0 = BlockValue::new(0, true, Szx::S32).unwrap();
        assert_eq!(
            r.push(&b0, &[1; 32], None),
            Ok(Progress::NeedMore(
                BlockValue::new(0, true, Szx::S16).unwrap()
            ))
        );
        let b2 = BlockValue::new(2, false, Szx::S16).unwrap();
        assert!(matches!(
            r.push(&b2, &[2; 9], None),
            Err(BlockError::TooLarge { .. })
        ));
        assert_eq!(r.push(&b2, &[2; 8], None), Ok(Progress::Complete(b2)));
        assert_eq!(r.body()[31..34], [1, 2, 2]);
    }

    #[test]
    fn splitter_edges() {
        let body = [0u8; 64];
        let s = BlockSplitter::new(&body);
        let (v, p) = s.block(1, Szx::S32).unwrap();
        assert_eq!((v.more(), p.len()), (false, 32));
        assert_eq!(
            s.block(2, Szx::S32),
            Err(BlockError::BeyondEnd {
                offset: 64,
                len: 64
            })
        );
        let empty = BlockSplitter::new(&[]);
        let (v, p) = empty.block(0, Szx::S16).unwrap();
        assert_eq!((v.more(), p.len()), (false, 0));
        assert_eq!(s.blocks(Szx::S16).count(), 4);
    }
}
