//! Reassembly of OSCORE messages fragmented by a proxy with Outer Block options
//! (RFC 8613 §4.1.3.4.2, §8.2.1, §8.4.1; RFC 7959 §2.2).
//!
//! An endpoint receiving an OSCORE message with an Outer Block1 (request) or Block2
//! (response) option collects the blocks until the last one, or until the cumulated size
//! exceeds MAX_UNFRAGMENTED_SIZE, in which case the message is discarded. The complete
//! message is then verified as usual. Outer blocks are not integrity protected, so nothing
//! here is trusted: the AEAD check of the reassembled message decides.

use mote_coap::code::Code;
use mote_coap::framing::{Cursor, Framing, Header};
use mote_coap::option::{OptionEncoder, OptionNumber};

use crate::Error;

/// Room kept in front of the collected body for the header (TCP: up to 6 bytes + token).
const HEADER_ROOM: usize = 6 + 8;

/// Which Outer Block option carries the fragments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OuterBlock {
    /// Block1: a fragmented request.
    Block1,
    /// Block2: a fragmented response.
    Block2,
}

impl OuterBlock {
    fn number(self) -> OptionNumber {
        match self {
            Self::Block1 => OptionNumber::BLOCK1,
            Self::Block2 => OptionNumber::BLOCK2,
        }
    }
}

/// Progress of a reassembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reassembly {
    /// More blocks are needed.
    NeedMore,
    /// The message is complete: `buffer[start..start + len]` (see [`OuterBlockAssembler::message`]).
    Complete,
}

/// Collects Outer Block fragments of one OSCORE message in a caller buffer, bounded by
/// MAX_UNFRAGMENTED_SIZE (the buffer length minus [`HEADER_ROOM`](Self::overhead)).
#[derive(Debug)]
pub struct OuterBlockAssembler<'b> {
    buf: &'b mut [u8],
    which: OuterBlock,
    framing: Framing,
    max: usize,
    /// Bytes of body (options, marker, payload) collected after HEADER_ROOM.
    body: usize,
    options_len: usize,
    next_num: u32,
    szx: u8,
    header: Option<(Header, Code, [u8; 8], usize)>,
    message: Option<(usize, usize)>,
}

impl<'b> OuterBlockAssembler<'b> {
    /// Bytes of `buffer` that are not available to the message.
    ///
    /// ```
    /// use mote_oscore::block::OuterBlockAssembler;
    /// // Size the buffer for the largest message you accept plus the overhead.
    /// let mut buffer = [0u8; 256 + OuterBlockAssembler::overhead()];
    /// assert_eq!(OuterBlockAssembler::overhead(), 14);
    /// # let _ = &mut buffer;
    /// ```
    pub const fn overhead() -> usize {
        HEADER_ROOM
    }

    /// An assembler for `which` fragments, storing up to `max_unfragmented_size` bytes of
    /// message in `buffer` (which must be at least that plus [`overhead`](Self::overhead)).
    ///
    /// ```
    /// use mote_oscore::{Error, Framing};
    /// use mote_oscore::block::{OuterBlock, OuterBlockAssembler};
    /// let mut buffer = [0u8; 64 + 14];
    /// let assembler = OuterBlockAssembler::new(&mut buffer, OuterBlock::Block2, Framing::Udp, 64)?;
    /// # drop(assembler);
    /// // A buffer too short for the bound is refused up front.
    /// let mut small = [0u8; 64];
    /// assert!(matches!(
    ///     OuterBlockAssembler::new(&mut small, OuterBlock::Block2, Framing::Udp, 64),
    ///     Err(Error::BufferTooSmall { required: 78 })
    /// ));
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn new(
        buffer: &'b mut [u8],
        which: OuterBlock,
        framing: Framing,
        max_unfragmented_size: usize,
    ) -> Result<Self, Error> {
        if buffer.len() < max_unfragmented_size + HEADER_ROOM {
            return Err(Error::BufferTooSmall {
                required: max_unfragmented_size + HEADER_ROOM,
            });
        }
        Ok(Self {
            buf: buffer,
            which,
            framing,
            max: max_unfragmented_size,
            body: 0,
            options_len: 0,
            next_num: 0,
            szx: 0,
            header: None,
            message: None,
        })
    }

    /// Feeds one received message. A message without the Outer Block option is complete
    /// by itself. Blocks must come in order (NUM 0, 1, …) with a constant size; a message
    /// growing beyond MAX_UNFRAGMENTED_SIZE fails with [`Error::TooLarge`] and the
    /// assembler must be discarded.
    ///
    /// ```
    /// use mote_oscore::Framing;
    /// use mote_oscore::block::{OuterBlock, OuterBlockAssembler, Reassembly};
    /// // A protected response split by a proxy into two Outer Block2 blocks of 16 bytes (RFC 8613
    /// // §4.1.3.4.2): ACK 2.04, MID 1, token 0x7a, OSCORE (9) empty, Block2 (23) NUM/M/SZX, payload.
    /// let ciphertext: Vec<u8> = (0u8..20).collect();
    /// // Block2 is option 23: delta 14 after OSCORE (9) = 13 + 1, so 0xd1 0x01, then the value.
    /// let mut first = b"\x61\x44\x00\x01\x7a\x90\xd1\x01\x08\xff".to_vec(); // NUM 0, M 1, SZX 0
    /// first.extend(&ciphertext[..16]);
    /// let mut second = b"\x61\x44\x00\x01\x7a\x90\xd1\x01\x10\xff".to_vec(); // NUM 1, M 0
    /// second.extend(&ciphertext[16..]);
    /// let mut buffer = [0u8; 128 + 14];
    /// let mut assembler = OuterBlockAssembler::new(&mut buffer, OuterBlock::Block2, Framing::Udp, 128)?;
    /// assert_eq!(assembler.feed(&first)?, Reassembly::NeedMore);
    /// assert_eq!(assembler.message(), None);
    /// assert_eq!(assembler.feed(&second)?, Reassembly::Complete);
    /// // The whole message, without Block2, ready for unprotect_response.
    /// let message = assembler.message().ok_or(mote_oscore::Error::Block("incomplete"))?;
    /// assert_eq!(&message[..7], b"\x61\x44\x00\x01\x7a\x90\xff");
    /// assert_eq!(&message[7..], &ciphertext[..]);
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn feed(&mut self, fragment: &[u8]) -> Result<Reassembly, Error> {
        if self.message.is_some() {
            return Err(Error::Block(crate::error::reason(
                "message already complete",
            )));
        }
        let parts = self.framing.decode(fragment)?;
        let mut block = None;
        for opt in parts.options() {
            if opt.number == self.which.number() {
                if block.is_some() {
                    return Err(Error::Block(crate::error::reason("repeated Block option")));
                }
                block = Some(
                    mote_coap::option::decode_uint(opt.value).ok_or(Error::Block(
                        crate::error::reason("Block option longer than 3 bytes"),
                    ))?,
                );
            }
        }
        let Some(block) = block else {
            if self.header.is_some() {
                return Err(Error::Block(crate::error::reason(
                    "fragment without Block option",
                )));
            }
            // Not fragmented: copy as is.
            let len = fragment.len();
            if len > self.max {
                return Err(Error::TooLarge { max: self.max });
            }
            let dst = self
                .buf
                .get_mut(HEADER_ROOM..HEADER_ROOM + len)
                .ok_or(Error::TooLarge { max: self.max })?;
            dst.copy_from_slice(fragment);
            self.message = Some((HEADER_ROOM, len));
            return Ok(Reassembly::Complete);
        };
        // RFC 7959 §2.2: NUM | M | SZX.
        let num = block >> 4;
        let more = block & 0x08 != 0;
        let szx = (block & 0x07) as u8;
        if szx == 7 {
            return Err(Error::Block(crate::error::reason("SZX 7 is reserved")));
        }
        let size = 16usize << szx;
        if num != self.next_num {
            return Err(Error::Block(crate::error::reason("block out of order")));
        }
        if num == 0 {
            // Options of the first block, without the Outer Block option.
            let mut token = [0u8; 8];
            token
                .get_mut(..parts.token().len())
                .ok_or(Error::Malformed(crate::error::reason("token")))?
                .copy_from_slice(parts.token());
            self.header = Some((parts.header(), parts.code(), token, parts.token().len()));
            self.szx = szx;
            let area = self.buf.get_mut(HEADER_ROOM..).unwrap_or_default();
            let mut w = Cursor::new(area);
            let mut enc = OptionEncoder::new();
            for opt in parts.options() {
                if opt.number != self.which.number() {
                    enc.write(&mut w, opt.number, opt.value)?;
                }
            }
            w.put_byte(0xff);
            let written = w.position();
            w.finish().map_err(|_| Error::TooLarge { max: self.max })?;
            self.options_len = written;
            self.body = written;
        } else if szx != self.szx {
            return Err(Error::Block(crate::error::reason("block size changed")));
        }
        let payload = parts.payload();
        if more && payload.len() != size {
            return Err(Error::Block(crate::error::reason(
                "non-final block of the wrong size",
            )));
        }
        let total = self.body + payload.len();
        if total > self.max {
            return Err(Error::TooLarge { max: self.max });
        }
        let dst = self
            .buf
            .get_mut(HEADER_ROOM + self.body..HEADER_ROOM + total)
            .ok_or(Error::TooLarge { max: self.max })?;
        dst.copy_from_slice(payload);
        self.body = total;
        self.next_num = num + 1;
        if more {
            return Ok(Reassembly::NeedMore);
        }
        let (header, code, token, tkl) = self
            .header
            .ok_or(Error::Block(crate::error::reason("no first block")))?;
        let token = token.get(..tkl).unwrap_or_default();
        // Without payload the marker is dropped.
        let body_len = if self.body == self.options_len {
            self.body - 1
        } else {
            self.body
        };
        let hlen = header.len(tkl, body_len);
        let start = HEADER_ROOM - hlen;
        let area = self.buf.get_mut(start..HEADER_ROOM).unwrap_or_default();
        let mut w = Cursor::new(area);
        header.write(&mut w, code, token, body_len)?;
        w.finish()?;
        self.message = Some((start, hlen + body_len));
        Ok(Reassembly::Complete)
    }

    /// The reassembled message, once [`feed`](Self::feed) returned [`Reassembly::Complete`].
    /// ```
    /// use mote_oscore::Framing;
    /// use mote_oscore::block::{OuterBlock, OuterBlockAssembler, Reassembly};
    /// let mut buffer = [0u8; 64 + 14];
    /// let mut assembler = OuterBlockAssembler::new(&mut buffer, OuterBlock::Block2, Framing::Udp, 64)?;
    /// assert_eq!(assembler.message(), None); // nothing fed yet
    /// // A response without Outer Block2 is complete as it is: ACK 2.04, OSCORE (9) empty.
    /// let whole = b"\x61\x44\x00\x01\x7a\x90\xff\x01\x02\x03";
    /// assert_eq!(assembler.feed(whole)?, Reassembly::Complete);
    /// assert_eq!(assembler.message(), Some(&whole[..]));
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn message(&self) -> Option<&[u8]> {
        let (start, len) = self.message?;
        self.buf.get(start..start + len)
    }
}
