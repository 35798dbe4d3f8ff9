//! Block-wise transfers (RFC 7959) for the endpoint: bounded server-side reassembly and
//! serving, client-side upload and download, with Request-Tag (RFC 9175 §3).
//!
//! Four sans-IO components, built on the codec pieces of [`crate::block`]:
//!
//! * [`Block1Server`]: reassembles request bodies sent with Block1 (RFC 7959 §2.5), in a table
//!   keyed by peer and [`RequestKey`], bounded per peer, in total, in bytes and in age.
//! * [`Block2Server`]: slices a response body the application produced once into Block2
//!   responses (RFC 7959 §2.4), with ETag and Size2, and keeps the representation for the
//!   follow-up requests in a bounded cache.
//! * [`Block1Client`]: sends a body in Block1 requests, following the server's 2.31 (Continue)
//!   and 4.13 hints; a final response with Block2 starts a [`Block2Client`] (RFC 7959 §3.3).
//! * [`Block2Client`]: fetches a body in Block2 responses, checks ETag, block numbers and block
//!   sizes, and refuses a server whose transfer could never end.
//!
//! Messages come in as zero-copy [`Message`] views; what goes out is [`MessageParts`] (code,
//! options and payload), which the endpoint stamps with type, Message ID and token. Time is
//! the caller's `now`; nothing here reads a clock or does I/O.
//!
//! On the server side the endpoint calls, for each request (after deduplication):
//! 1. [`Block2Server::serve_cached`]: a follow-up Block2 request answered from the cache
//!    needs nothing else;
//! 2. [`Block1Server::handle`]: a 2.31 or an error response ends here; a complete body (or a
//!    request without Block1) goes on;
//! 3. the application, with the whole body, produces the whole response (plus the Block1
//!    option of [`Block1Action::Complete`]);
//! 4. [`Block2Server::respond`] cuts the block the request asks for.
//!
//! Both servers drop idle state after a lifetime; the endpoint merges their
//! `poll_timeout` into its own and calls `handle_timeout`.
//!
//! ```
//! use core::time::Duration;
//! use mote_coap::code::{Code, MessageType};
//! use mote_coap::endpoint::blockwise::*;
//! use mote_coap::message::Message;
//! use mote_coap::option::{OptionList, OptionNumber};
//!
//! let mut server: Block1Server<u8> = Block1Server::new(Block1ServerConfig::default());
//! let mut options = OptionList::new();
//! options.push(OptionNumber::URI_PATH, &b"upload"[..]);
//! let config = Block1ClientConfig { szx: mote_coap::block::Szx::S64, ..Default::default() };
//! let mut client = Block1Client::new(Code::PUT, options, vec![7; 150], config, None).unwrap();
//! let mut request = client.request().unwrap();
//! let body = loop {
//!     let bytes = request.into_message(MessageType::Con, 1, &[]).to_vec().unwrap();
//!     let message = Message::decode(&bytes).unwrap();
//!     let response = match server.handle(&1, &message, Duration::ZERO).unwrap() {
//!         Block1Action::Continue(response) => response,
//!         Block1Action::Complete { body, .. } => break body,
//!         Block1Action::NotBlockwise => unreachable!(),
//!     };
//!     let bytes = response.into_message(MessageType::Ack, 1, &[]).to_vec().unwrap();
//!     match client.handle_response(&Message::decode(&bytes).unwrap()).unwrap() {
//!         Block1Progress::Send(next) => request = next,
//!         _ => unreachable!(),
//!     }
//! };
//! assert_eq!(body, vec![7; 150]);
//! ```

#![deny(clippy::indexing_slicing)]

#[cfg(not(feature = "vec-maps"))]
use alloc::collections::BTreeMap;

#[cfg(feature = "vec-maps")]
use crate::vec_map::VecMap as BTreeMap;
use alloc::vec::Vec;
use core::time::Duration;

use crate::block::{
    BlockError, BlockKind, BlockReassembler, BlockSplitter, BlockValue, MAX_ETAG_LEN, Progress,
    Szx, decode_size,
};
use crate::code::{Code, MessageType};
use crate::echo::{EchoError, MAX_REQUEST_TAG_LEN, choose_request_tag};
use crate::message::{Message, OwnedMessage};
use crate::option::{OptionList, OptionNumber};

/// Whether [`Block2Server`] keeps representations (the `block2-cache` feature).
const CACHE: bool = cfg!(feature = "block2-cache");

/// Whether [`Block1Client`] slices bodies into blocks (the `block1-client` feature).
const SLICES: bool = cfg!(feature = "block1-client");

/// RFC 7252 §4.8.2: EXCHANGE_LIFETIME, the default age after which idle block-wise state is
/// dropped (RFC 7959 §2.4, §2.5: "a period of EXCHANGE_LIFETIME ... after the last access").
pub const EXCHANGE_LIFETIME: Duration = Duration::from_secs(247);

/// Errors of block-wise transfers at the endpoint.
///
/// On a server, [`BlockwiseError::response_code`] is the response the peer gets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockwiseError {
    /// A Block1, Block2, Size1, Size2 or ETag option was malformed, or a block did not fit the
    /// transfer (order, size, ETag): see the nested error.
    #[error(transparent)]
    Block(#[from] BlockError),
    /// A Block1 request with NUM > 0 for which no transfer is in progress (never started,
    /// expired, or already finished): RFC 7959 §2.9.2, 4.08.
    #[error("Block1 block {num} does not continue any transfer in progress (RFC 7959 §2.9.2)")]
    UnknownTransfer {
        /// The block number received.
        num: u32,
    },
    /// A block whose payload is longer than its block size (RFC 7959 §2.2: a block carries at
    /// most 2^(SZX + 4) bytes).
    #[error("block carries {len} payload bytes, more than its block size of {size}")]
    PayloadTooLong {
        /// Payload length received.
        len: usize,
        /// Block size of the SZX.
        size: usize,
    },
    /// A body (or its announced Size1/Size2) larger than the configured limit (RFC 7959
    /// §2.9.3: 4.13 with Size1).
    #[error("body of {size} bytes exceeds the limit of {limit} bytes (RFC 7959 §2.9.3)")]
    TooLarge {
        /// Size reached or announced.
        size: u64,
        /// The configured limit.
        limit: usize,
    },
    /// The peer already has as many transfers in progress as allowed.
    #[error("peer already has {limit} block-wise transfers in progress")]
    PeerTransfersFull {
        /// The configured per-peer limit.
        limit: usize,
    },
    /// The table holds as many transfers as allowed in total.
    #[error("{limit} block-wise transfers are in progress, the configured maximum")]
    TransfersFull {
        /// The configured total limit.
        limit: usize,
    },
    /// Storing the block would exceed the bytes allowed across all transfers.
    #[error("storing {needed} more bytes exceeds the {limit} bytes allowed across all transfers")]
    BufferFull {
        /// Bytes the block needs.
        needed: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A Block2 request for a block that starts past the end of the representation.
    #[error("Block2 block {num} starts past the end of the {len}-byte representation")]
    BeyondEnd {
        /// The block number asked for.
        num: u32,
        /// Length of the representation.
        len: usize,
    },
    /// A response with M = 1 whose payload does not fill its block (in particular an empty
    /// one): the transfer could never end (RFC 7959 §2.2).
    #[error("block {num} has M=1 but carries {len} bytes instead of {size}")]
    ShortBlock {
        /// The block number received.
        num: u32,
        /// Payload length received.
        len: usize,
        /// The block size.
        size: usize,
    },
    /// A Block2 response for another block (or in a larger size) than the one asked for.
    #[error("asked for block {asked} of size {asked_size}, got block {got} of size {got_size}")]
    UnexpectedBlock {
        /// Block number asked for.
        asked: u32,
        /// Block size asked for.
        asked_size: usize,
        /// Block number received.
        got: u32,
        /// Block size received.
        got_size: usize,
    },
    /// A block with M = 1 after which the next block number would not fit 20 bits.
    #[error("block number overflow: more blocks announced after block {num}")]
    BlockNumberOverflow {
        /// The block number received.
        num: u32,
    },
    /// The representation changed (ETag) more often than the configured number of restarts.
    #[error("the representation changed {restarts} times during the download")]
    TooManyRestarts {
        /// Restarts done.
        restarts: u32,
    },
    /// A response without the Block1/Block2 option the transfer needs.
    #[error("response lacks the {option:?} option the block-wise transfer needs")]
    MissingBlockOption {
        /// The option expected.
        option: OptionNumber,
    },
    /// A response code the transfer cannot continue with at this point.
    #[error("unexpected response code {code:?} during the block-wise transfer")]
    UnexpectedResponse {
        /// The code received.
        code: Code,
    },
    /// The server cannot take the request body (4.13), and smaller blocks do not help.
    #[error("the server refuses the {len}-byte body (4.13; Size1 {size1:?})")]
    RequestTooLarge {
        /// Length of the body.
        len: usize,
        /// The Size1 value of the 4.13 response, if any.
        size1: Option<u32>,
    },
    /// A Request-Tag value longer than 8 bytes (RFC 9175 §3.2.1).
    #[error("Request-Tag of {len} bytes; at most 8 are allowed (RFC 9175 §3.2.1)")]
    RequestTagLength {
        /// The length given.
        len: usize,
    },
    /// No Request-Tag value is free for a new upload (RFC 9175 §3.4, §3.5).
    #[error(transparent)]
    RequestTag(#[from] EchoError),
    /// The transfer is already finished.
    #[error("the block-wise transfer is already finished")]
    Finished,
    /// A response in Block2 blocks (M = 1, RFC 7959 §2.4) to a request of an endpoint built
    /// without the `block2-client` feature, which does not fetch the other blocks.
    #[error("block-wise response not followed (built without the block2-client feature)")]
    DownloadUnsupported,
}

impl BlockwiseError {
    /// The response a server sends for this error in a request.
    #[must_use]
    pub fn response_code(&self) -> Code {
        match self {
            Self::Block(e) => {
                let (class, detail) = e.response_class();
                Code::new(class, detail).unwrap_or(Code::BAD_REQUEST)
            }
            // RFC 7959 §2.9.2: blocks missing, out of order, or discarded.
            Self::UnknownTransfer { .. } | Self::Finished => Code::REQUEST_ENTITY_INCOMPLETE,
            // RFC 7959 §2.9.3: too large for the server, or no resources to store the blocks
            // "at this time".
            Self::TooLarge { .. } | Self::BufferFull { .. } => Code::REQUEST_ENTITY_TOO_LARGE,
            // RFC 9175 §3.3: "a server that can only serve a limited number of block-wise
            // operations at the same time can delay the start of the operation by replying
            // with 5.03 (Service unavailable) and a Max-Age indicating how long it expects the
            // existing operation to go on".
            Self::PeerTransfersFull { .. } | Self::TransfersFull { .. } => {
                Code::SERVICE_UNAVAILABLE
            }
            // RFC 7959 does not name a code for a Block2 request past the end; the Block2
            // option is critical and cannot be acted upon, which RFC 7252 §5.4.1 answers with
            // 4.02 (Bad Option).
            Self::BeyondEnd { .. } => Code::BAD_OPTION,
            _ => Code::BAD_REQUEST,
        }
    }
}

/// A request or response without type, Message ID and token: the endpoint stamps those.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageParts {
    /// The code.
    pub code: Code,
    /// The options.
    pub options: OptionList,
    /// The payload (empty: none).
    pub payload: Vec<u8>,
}

impl MessageParts {
    /// Parts with no options and no payload.
    #[must_use]
    pub const fn new(code: Code) -> Self {
        Self {
            code,
            options: OptionList::new(),
            payload: Vec::new(),
        }
    }

    /// Copies the code, options and payload of a received message.
    #[must_use]
    pub fn from_message(message: &Message<'_>) -> Self {
        Self {
            code: message.code(),
            options: message.options().collect(),
            payload: message.payload().to_vec(),
        }
    }

    /// The message with this type, Message ID and token.
    #[must_use]
    pub fn into_message(self, mtype: MessageType, message_id: u16, token: &[u8]) -> OwnedMessage {
        OwnedMessage {
            mtype,
            code: self.code,
            message_id,
            token: token.to_vec(),
            options: self.options,
            payload: self.payload,
        }
    }
}

/// A refused block-wise request: why, and the response to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// What was wrong.
    pub error: BlockwiseError,
    /// The error response (code from [`BlockwiseError::response_code`], with Size1 for 4.13
    /// and Max-Age for 5.03).
    pub response: MessageParts,
}

fn rejected(error: BlockwiseError) -> Rejected {
    let response = MessageParts::new(error.response_code());
    Rejected { error, response }
}

/// Which options identify a block-wise operation besides the peer: the method and the request
/// options that are part of the cache key (RFC 7252 §5.4.6), without Block1, Block2, Size1 and
/// Size2 (RFC 7959 §2.5: "other than Block1, Block2, Size1"), without Observe (RFC 7641 §2:
/// not part of the cache key), and including every Request-Tag value (RFC 9175 §3.3).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestKey {
    method: Code,
    options: Vec<(OptionNumber, Vec<u8>)>,
}

impl RequestKey {
    /// The key of a Block1 request (RFC 7959 §2.5): Content-Format is part of it, so blocks
    /// with a mismatching Content-Format are never assembled together (§2.3).
    #[must_use]
    pub fn block1(request: &Message<'_>) -> Self {
        Self::build(request, false)
    }

    /// The key of a Block2 request (RFC 7959 §2.4). Content-Format describes a request
    /// payload, which follow-up Block2 requests do not carry (§3.3, Figure 10), so it is left
    /// out.
    #[must_use]
    pub fn block2(request: &Message<'_>) -> Self {
        Self::build(request, true)
    }

    fn build(request: &Message<'_>, skip_content_format: bool) -> Self {
        let options = request
            .options()
            .filter(|o| {
                let n = o.number;
                !(n.is_no_cache_key()
                    || n == OptionNumber::BLOCK1
                    || n == OptionNumber::BLOCK2
                    || n == OptionNumber::SIZE1
                    || n == OptionNumber::SIZE2
                    || n == OptionNumber::OBSERVE
                    || (skip_content_format && n == OptionNumber::CONTENT_FORMAT))
            })
            .map(|o| (o.number, o.value.to_vec()))
            .collect();
        Self {
            method: request.code(),
            options,
        }
    }

    /// Bytes of option values the key holds (counted against the byte limits).
    #[must_use]
    pub fn byte_len(&self) -> usize {
        self.options.iter().map(|(_, v)| v.len() + 2).sum()
    }
}

fn expires(touched: Duration, lifetime: Duration) -> Duration {
    touched.saturating_add(lifetime)
}

/// Whole seconds (rounded up, at least 1) from `now` until `at`: a Max-Age value.
fn max_age_until(at: Duration, now: Duration) -> u32 {
    let left = at.saturating_sub(now);
    let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    u32::try_from(secs.max(1)).unwrap_or(u32::MAX)
}

fn block_option(
    request: &Message<'_>,
    number: OptionNumber,
) -> Result<Option<BlockValue>, Rejected> {
    BlockValue::from_message(request, number).map_err(|e| rejected(e.into()))
}

fn size_option(message: &Message<'_>, number: OptionNumber) -> Result<Option<u32>, BlockError> {
    message
        .option(number)
        .map(|o| decode_size(o.value))
        .transpose()
}

// ---------------------------------------------------------------------------------------------
// Block1 server.

/// Bounds and preferences of a [`Block1Server`]; every bound has a safe default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block1ServerConfig {
    /// Largest request body accepted (4.13 with Size1 above it).
    pub max_body: usize,
    /// Transfers one peer may have in progress at once.
    pub max_transfers_per_peer: usize,
    /// Transfers in progress across all peers.
    pub max_transfers: usize,
    /// Bytes buffered across all transfers (bodies and keys).
    pub max_buffered_bytes: usize,
    /// An idle transfer is dropped this long after its last block.
    pub lifetime: Duration,
    /// The largest block size the server wants; a 2.31 asks the client for it when the
    /// client's blocks are larger (RFC 7959 §2.3, §2.5).
    pub preferred_szx: Szx,
}

impl Default for Block1ServerConfig {
    fn default() -> Self {
        Self {
            max_body: 16 * 1024,
            max_transfers_per_peer: 4,
            max_transfers: 32,
            max_buffered_bytes: 128 * 1024,
            lifetime: EXCHANGE_LIFETIME,
            preferred_szx: Szx::S1024,
        }
    }
}

/// What the endpoint does with a request after [`Block1Server::handle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block1Action {
    /// The request has no Block1 option: handle it as it is.
    NotBlockwise,
    /// Send this 2.31 (Continue) with the Block1 option acknowledging the block (RFC 7959
    /// §2.5, Figure 7); its SZX is the server's preferred size when that is smaller (§2.3).
    Continue(MessageParts),
    /// The body is complete: the application handles the request with `body`, and its final
    /// response carries the Block1 option `block1` (received NUM, M = 0; RFC 7959 §2.5).
    Complete {
        /// The whole request body.
        body: Vec<u8>,
        /// The Block1 option value for the final response.
        block1: BlockValue,
    },
}

#[derive(Debug)]
struct Upload {
    reassembler: BlockReassembler<Vec<u8>>,
    /// The last block accepted and the 2.31 sent for it (to answer a repeated block again).
    last: (BlockValue, BlockValue),
    touched: Duration,
    key_len: usize,
}

impl Upload {
    fn bytes(&self) -> usize {
        self.reassembler.body().len() + self.key_len
    }
}

/// Server-side reassembly of Block1 request bodies (RFC 7959 §2.5) for many peers at once.
///
/// Call order: for every request, [`Block1Server::handle`] before the application sees it;
/// [`Block1Server::poll_timeout`] tells when [`Block1Server::handle_timeout`] has idle
/// transfers to drop (expired transfers are also dropped on every `handle`).
#[derive(Debug)]
pub struct Block1Server<P> {
    config: Block1ServerConfig,
    uploads: BTreeMap<(P, RequestKey), Upload>,
}

impl<P: Clone + Eq + Ord + core::fmt::Debug> Block1Server<P> {
    /// An empty table.
    #[must_use]
    pub fn new(config: Block1ServerConfig) -> Self {
        Self {
            config,
            uploads: BTreeMap::new(),
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &Block1ServerConfig {
        &self.config
    }

    /// Transfers in progress.
    #[must_use]
    pub fn len(&self) -> usize {
        self.uploads.len()
    }

    /// Whether no transfer is in progress.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.uploads.is_empty()
    }

    /// Transfers in progress from `peer`.
    #[must_use]
    pub fn peer_len(&self, peer: &P) -> usize {
        self.uploads.keys().filter(|(p, _)| p == peer).count()
    }

    /// Bytes held across all transfers (bodies and keys).
    #[must_use]
    pub fn bytes_held(&self) -> usize {
        self.uploads.values().map(Upload::bytes).sum()
    }

    /// When the next idle transfer expires.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.uploads
            .values()
            .map(|u| expires(u.touched, self.config.lifetime))
            .min()
    }

    /// Drops every transfer idle for the configured lifetime.
    pub fn handle_timeout(&mut self, now: Duration) {
        let lifetime = self.config.lifetime;
        self.uploads
            .retain(|_, u| expires(u.touched, lifetime) > now);
    }

    /// Processes one request from `peer`.
    ///
    /// # Errors
    /// A [`Rejected`] with the response to send: 4.08 for a block that continues no transfer
    /// or is out of order, 4.13 (with Size1) for a body or Size1 over the limit or when the
    /// byte budget is exhausted, 5.03 (with Max-Age) when the transfer table is full, 4.00 for
    /// a payload that does not match its SZX, 4.00 for SZX 7 (RFC 7959 §2.2) and 4.02 for a
    /// Block1 or Size1 value of the wrong length (RFC 7252 §5.4.3: treated like an
    /// unrecognized critical option). A transfer that grows past `max_body` or the byte budget
    /// is dropped; one whose block fails an order or size check is kept unchanged.
    pub fn handle(
        &mut self,
        peer: &P,
        request: &Message<'_>,
        now: Duration,
    ) -> Result<Block1Action, Rejected> {
        self.handle_timeout(now);
        let Some(block) = block_option(request, OptionNumber::BLOCK1)? else {
            return Ok(Block1Action::NotBlockwise);
        };
        let payload = request.payload();
        // RFC 7959 §2.2/§2.3: a block carries at most its block size, exactly that with M = 1.
        if payload.len() > block.size() {
            return Err(rejected(BlockwiseError::PayloadTooLong {
                len: payload.len(),
                size: block.size(),
            }));
        }
        if block.more() && payload.len() != block.size() {
            return Err(rejected(
                BlockError::PayloadSizeMismatch {
                    len: payload.len(),
                    size: block.size(),
                }
                .into(),
            ));
        }
        // RFC 7959 §4: Size1 announces the whole body; refuse early (4.13 with our Size1).
        let size1 = size_option(request, OptionNumber::SIZE1).map_err(|e| rejected(e.into()))?;
        if let Some(size) = size1 {
            if u64::from(size) > self.config.max_body as u64 {
                return Err(self.too_large(u64::from(size)));
            }
        }
        let key = (peer.clone(), RequestKey::block1(request));
        if block.num() == 0 {
            return self.start(key, block, payload, now);
        }
        let limit = self.config.max_buffered_bytes;
        let held = self.bytes_held();
        let Some(upload) = self.uploads.get_mut(&key) else {
            return Err(rejected(BlockwiseError::UnknownTransfer {
                num: block.num(),
            }));
        };
        if upload.last.0 == block {
            // The same block again (its 2.31 was lost): answer it again, store nothing.
            upload.touched = now;
            return Ok(Block1Action::Continue(continue_response(upload.last.1)));
        }
        if held.saturating_add(payload.len()) > limit {
            self.uploads.remove(&key);
            return Err(self.buffer_full(payload.len()));
        }
        match upload.reassembler.push(&block, payload, None) {
            Ok(Progress::NeedMore(ack)) => {
                upload.last = (block, ack);
                upload.touched = now;
                Ok(Block1Action::Continue(continue_response(ack)))
            }
            Ok(Progress::Complete(last)) => {
                let body = self
                    .uploads
                    .remove(&key)
                    .map(|u| u.reassembler.into_buffer())
                    .unwrap_or_default();
                Ok(Block1Action::Complete {
                    body,
                    block1: last.with_more(false),
                })
            }
            Err(BlockError::TooLarge { size, .. }) => {
                self.uploads.remove(&key);
                Err(self.too_large(size))
            }
            // Out of order, size grew: the state is unchanged; the client may still send the
            // right block before the transfer expires (RFC 7959 §2.9.2).
            Err(e) => Err(rejected(e.into())),
        }
    }

    fn start(
        &mut self,
        key: (P, RequestKey),
        block: BlockValue,
        payload: &[u8],
        now: Duration,
    ) -> Result<Block1Action, Rejected> {
        // RFC 9175 §3.3: a new initial (NUM = 0) block with the same key overwrites the old
        // operation's state.
        self.uploads.remove(&key);
        if payload.len() > self.config.max_body {
            return Err(self.too_large(payload.len() as u64));
        }
        if !block.more() {
            // The whole body in one block: nothing to store.
            return Ok(Block1Action::Complete {
                body: payload.to_vec(),
                block1: block,
            });
        }
        let per_peer = self.peer_len(&key.0);
        if per_peer >= self.config.max_transfers_per_peer {
            let oldest = self
                .uploads
                .iter()
                .filter(|((p, _), _)| *p == key.0)
                .map(|(_, u)| u.touched)
                .min();
            return Err(self.table_full(
                BlockwiseError::PeerTransfersFull {
                    limit: self.config.max_transfers_per_peer,
                },
                oldest,
                now,
            ));
        }
        if self.uploads.len() >= self.config.max_transfers {
            let oldest = self.uploads.values().map(|u| u.touched).min();
            return Err(self.table_full(
                BlockwiseError::TransfersFull {
                    limit: self.config.max_transfers,
                },
                oldest,
                now,
            ));
        }
        let key_len = key.1.byte_len();
        let needed = key_len.saturating_add(payload.len());
        if self.bytes_held().saturating_add(needed) > self.config.max_buffered_bytes {
            return Err(self.buffer_full(needed));
        }
        let mut reassembler = BlockReassembler::new(
            BlockKind::Block1,
            Vec::new(),
            self.config.max_body,
            self.config.preferred_szx,
        );
        match reassembler.push(&block, payload, None) {
            Ok(Progress::NeedMore(ack)) => {
                self.uploads.insert(
                    key,
                    Upload {
                        reassembler,
                        last: (block, ack),
                        touched: now,
                        key_len,
                    },
                );
                Ok(Block1Action::Continue(continue_response(ack)))
            }
            Ok(Progress::Complete(last)) => Ok(Block1Action::Complete {
                body: reassembler.into_buffer(),
                block1: last,
            }),
            Err(BlockError::TooLarge { size, .. }) => Err(self.too_large(size)),
            Err(e) => Err(rejected(e.into())),
        }
    }

    /// 4.13 with Size1: the largest body the server takes (RFC 7959 §2.9.3, §4).
    fn too_large(&self, size: u64) -> Rejected {
        let mut r = rejected(BlockwiseError::TooLarge {
            size,
            limit: self.config.max_body,
        });
        let limit = u32::try_from(self.config.max_body).unwrap_or(u32::MAX);
        r.response.options.push_uint(OptionNumber::SIZE1, limit);
        r
    }

    /// The byte budget is exhausted: RFC 7959 §2.9.3 allows 4.13 "at any time by a server that
    /// does not currently have the resources to store blocks". Size1 says how much would fit
    /// now, so the client does not retry a body that cannot fit.
    fn buffer_full(&self, needed: usize) -> Rejected {
        let mut r = rejected(BlockwiseError::BufferFull {
            needed,
            limit: self.config.max_buffered_bytes,
        });
        let free = self
            .config
            .max_buffered_bytes
            .saturating_sub(self.bytes_held())
            .min(self.config.max_body);
        r.response
            .options
            .push_uint(OptionNumber::SIZE1, u32::try_from(free).unwrap_or(u32::MAX));
        r
    }

    /// A full table: 5.03 with Max-Age until the oldest transfer that blocks this one expires
    /// (RFC 9175 §3.3). 5.03 rather than 4.13: the body is not too large, the server is
    /// momentarily busy, and 4.13 would make a client shrink blocks to no avail.
    fn table_full(
        &self,
        error: BlockwiseError,
        oldest: Option<Duration>,
        now: Duration,
    ) -> Rejected {
        let mut r = rejected(error);
        let at = expires(oldest.unwrap_or(now), self.config.lifetime);
        r.response
            .options
            .push_uint(OptionNumber::MAX_AGE, max_age_until(at, now));
        r
    }
}

fn continue_response(ack: BlockValue) -> MessageParts {
    let mut r = MessageParts::new(Code::CONTINUE);
    r.options.push_uint(OptionNumber::BLOCK1, ack.to_uint());
    r
}

// ---------------------------------------------------------------------------------------------
// Block2 server.

/// Bounds and preferences of a [`Block2Server`]; every bound has a safe default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block2ServerConfig {
    /// Block size used when the request does not ask for a smaller one (RFC 7959 §2.4).
    pub preferred_szx: Szx,
    /// The largest body sent whole to a request without Block2; `None`: one block of
    /// `preferred_szx`. RFC 7959 §2.4 lets a server slice any response, but an intermediary
    /// that relays bodies it cannot read (an OSCORE ciphertext, RFC 8613 §4.1.3.4.2) should
    /// not slice one that fits a datagram, since the client may not expect outer blocks.
    pub max_unsliced: Option<usize>,
    /// Representations kept for one peer; a new one replaces the peer's least recently used.
    pub max_entries_per_peer: usize,
    /// Representations kept across all peers.
    pub max_entries: usize,
    /// Bytes kept across all representations (bodies, options, keys).
    pub max_bytes: usize,
    /// A representation is dropped this long after its last access (RFC 7959 §2.4:
    /// EXCHANGE_LIFETIME).
    pub lifetime: Duration,
}

impl Default for Block2ServerConfig {
    fn default() -> Self {
        Self {
            preferred_szx: Szx::S1024,
            max_unsliced: None,
            max_entries_per_peer: 4,
            max_entries: 32,
            max_bytes: 128 * 1024,
            lifetime: EXCHANGE_LIFETIME,
        }
    }
}

/// Whether [`Block2Server::respond`] kept the representation for follow-up requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Kept: follow-up requests are served by [`Block2Server::serve_cached`].
    Stored,
    /// Nothing to keep: the response holds the whole (rest of the) body.
    NotNeeded,
    /// Not kept because a bound would be exceeded; follow-up requests need the application
    /// to produce the body again (RFC 7959 §2.4: the server need not keep state; the ETag
    /// lets the client notice a changed representation).
    Refused(BlockwiseError),
}

/// The result of [`Block2Server::respond`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block2Response {
    /// The response to send.
    pub response: MessageParts,
    /// What happened to the representation.
    pub cache: CacheOutcome,
}

#[derive(Debug)]
struct Representation {
    code: Code,
    options: OptionList,
    body: Vec<u8>,
    touched: Duration,
    bytes: usize,
}

/// Server-side Block2 serving (RFC 7959 §2.4) with a bounded cache of representations.
///
/// Call order, per request: [`Block2Server::serve_cached`] first; if it gives a response,
/// send it (the application is not involved). Otherwise the application produces the full
/// response and [`Block2Server::respond`] cuts the block the request asks for.
/// [`Block2Server::poll_timeout`] / [`Block2Server::handle_timeout`] drop idle entries.
/// Without the `block2-cache` feature nothing is kept ([`CacheOutcome::Refused`] with
/// [`BlockwiseError::TransfersFull`] `{ limit: 0 }`): every follow-up request goes to the
/// application, whose answer is sliced again (the ETag lets the client notice a change).
#[derive(Debug)]
pub struct Block2Server<P> {
    config: Block2ServerConfig,
    cache: BTreeMap<(P, RequestKey), Representation>,
}

impl<P: Clone + Eq + Ord + core::fmt::Debug> Block2Server<P> {
    /// An empty cache.
    #[must_use]
    pub fn new(config: Block2ServerConfig) -> Self {
        Self {
            config,
            cache: BTreeMap::new(),
        }
    }

    /// Representations kept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// Whether none is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// Representations kept for `peer`.
    #[must_use]
    pub fn peer_len(&self, peer: &P) -> usize {
        self.cache.keys().filter(|(p, _)| p == peer).count()
    }

    /// Bytes kept.
    #[must_use]
    pub fn bytes_held(&self) -> usize {
        self.cache.values().map(|r| r.bytes).sum()
    }

    /// When the next entry expires.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        if !CACHE {
            return None;
        }
        self.cache
            .values()
            .map(|r| expires(r.touched, self.config.lifetime))
            .min()
    }

    /// Drops entries idle for the configured lifetime.
    pub fn handle_timeout(&mut self, now: Duration) {
        if !CACHE {
            return;
        }
        let lifetime = self.config.lifetime;
        self.cache.retain(|_, r| expires(r.touched, lifetime) > now);
    }

    /// Serves a follow-up Block2 request (NUM > 0) from the cache; `Ok(None)` when the request
    /// is not one or the representation is not kept (the application must answer).
    ///
    /// # Errors
    /// A [`Rejected`] for a malformed Block2 option, or 4.02 for a block past the end.
    pub fn serve_cached(
        &mut self,
        peer: &P,
        request: &Message<'_>,
        now: Duration,
    ) -> Result<Option<MessageParts>, Rejected> {
        self.handle_timeout(now);
        let Some(asked) = block_option(request, OptionNumber::BLOCK2)? else {
            return Ok(None);
        };
        if asked.num() == 0 || !CACHE {
            // A new transfer (or a restart after an ETag change) gets a fresh representation;
            // without the `block2-cache` feature every request does.
            return Ok(None);
        }
        let key = (peer.clone(), RequestKey::block2(request));
        let Some(entry) = self.cache.get_mut(&key) else {
            return Ok(None);
        };
        entry.touched = now;
        let size2 = request.option(OptionNumber::SIZE2).is_some();
        let response = slice(
            entry.code,
            &entry.options,
            &entry.body,
            Some(asked),
            self.config.preferred_szx,
            size2,
        )?;
        if !block_more(&response) {
            self.cache.remove(&key);
        }
        Ok(Some(response))
    }

    /// Cuts the block a request asks for (its Block2 option, or block 0 in the server's
    /// preferred size) out of the full `response` the application produced. Adds Block2, an
    /// ETag (a hash of the body) unless the application set one, and Size2 when the request
    /// carried Size2 (RFC 7959 §4). A body that fits one block, asked for without Block2,
    /// goes out unchanged. A response that carries a Block2 option already is one block the
    /// application cut itself (a representation it does not hold as one buffer, such as a
    /// firmware package): it goes out unchanged and nothing is kept, so every follow-up
    /// request reaches the application again (RFC 7959 §2.4: the server slices; Block2,
    /// ETag and Size2 are then the application's).
    ///
    /// # Errors
    /// A [`Rejected`] for a malformed Block2 option, or 4.02 for a block past the end.
    pub fn respond(
        &mut self,
        peer: &P,
        request: &Message<'_>,
        response: MessageParts,
        now: Duration,
    ) -> Result<Block2Response, Rejected> {
        self.handle_timeout(now);
        let asked = block_option(request, OptionNumber::BLOCK2)?;
        if response.options.get(OptionNumber::BLOCK2).is_some() {
            return Ok(Block2Response {
                response,
                cache: CacheOutcome::NotNeeded,
            });
        }
        let size2 = request.option(OptionNumber::SIZE2).is_some();
        let unsliced = self
            .config
            .max_unsliced
            .unwrap_or(self.config.preferred_szx.size());
        if asked.is_none() && response.payload.len() <= unsliced {
            let mut response = response;
            if size2 {
                let len = u32::try_from(response.payload.len()).unwrap_or(u32::MAX);
                response.options.set_uint(OptionNumber::SIZE2, len);
            }
            return Ok(Block2Response {
                response,
                cache: CacheOutcome::NotNeeded,
            });
        }
        let MessageParts {
            code,
            mut options,
            payload: body,
        } = response;
        // RFC 7959 §2.4: "the server SHOULD include an ETag Option in each response".
        if options.get(OptionNumber::ETAG).is_none() {
            options.push(OptionNumber::ETAG, etag_of(&body).to_vec());
        }
        options.remove(OptionNumber::BLOCK2);
        options.remove(OptionNumber::SIZE2);
        let out = slice(
            code,
            &options,
            &body,
            asked,
            self.config.preferred_szx,
            size2,
        )?;
        let cache = if !CACHE {
            // Without the `block2-cache` feature nothing is kept: no entry fits (RFC 7959
            // §2.4 lets a server keep no state; a follow-up goes to the application again).
            if block_more(&out) {
                CacheOutcome::Refused(BlockwiseError::TransfersFull { limit: 0 })
            } else {
                CacheOutcome::NotNeeded
            }
        } else if block_more(&out) {
            let key = (peer.clone(), RequestKey::block2(request));
            // The Block1 option of a combined exchange acknowledges the last request block and
            // belongs to this response only (RFC 7959 §3.3, Figure 10).
            options.remove(OptionNumber::BLOCK1);
            let bytes = body.len() + options.iter().map(|o| o.value.len() + 2).sum::<usize>();
            let bytes = bytes.saturating_add(key.1.byte_len());
            match self.store(key, bytes) {
                Ok(key) => {
                    self.cache.insert(
                        key,
                        Representation {
                            code,
                            options,
                            body,
                            touched: now,
                            bytes,
                        },
                    );
                    CacheOutcome::Stored
                }
                Err(e) => CacheOutcome::Refused(e),
            }
        } else {
            self.cache
                .remove(&(peer.clone(), RequestKey::block2(request)));
            CacheOutcome::NotNeeded
        };
        Ok(Block2Response {
            response: out,
            cache,
        })
    }

    /// Makes room for an entry of `bytes` under `key`, or says which bound refuses it.
    fn store(
        &mut self,
        key: (P, RequestKey),
        bytes: usize,
    ) -> Result<(P, RequestKey), BlockwiseError> {
        self.cache.remove(&key);
        if bytes > self.config.max_bytes {
            return Err(BlockwiseError::TooLarge {
                size: bytes as u64,
                limit: self.config.max_bytes,
            });
        }
        // A peer can only displace its own entries (least recently used first).
        while self.peer_len(&key.0) >= self.config.max_entries_per_peer {
            let lru = self
                .cache
                .iter()
                .filter(|((p, _), _)| *p == key.0)
                .min_by_key(|(_, r)| r.touched)
                .map(|(k, _)| k.clone());
            match lru {
                Some(k) => {
                    self.cache.remove(&k);
                }
                None => {
                    return Err(BlockwiseError::PeerTransfersFull {
                        limit: self.config.max_entries_per_peer,
                    });
                }
            }
        }
        if self.cache.len() >= self.config.max_entries {
            return Err(BlockwiseError::TransfersFull {
                limit: self.config.max_entries,
            });
        }
        if self.bytes_held().saturating_add(bytes) > self.config.max_bytes {
            return Err(BlockwiseError::BufferFull {
                needed: bytes,
                limit: self.config.max_bytes,
            });
        }
        Ok(key)
    }
}

fn block_more(parts: &MessageParts) -> bool {
    parts
        .options
        .get(OptionNumber::BLOCK2)
        .and_then(|o| BlockValue::decode(o.value, false).ok())
        .is_some_and(|b| b.more())
}

/// The Block2 response for `asked` out of `body`.
fn slice(
    code: Code,
    options: &OptionList,
    body: &[u8],
    asked: Option<BlockValue>,
    preferred: Szx,
    size2: bool,
) -> Result<MessageParts, Rejected> {
    let (block, payload) =
        BlockSplitter::new(body)
            .respond(asked, preferred)
            .map_err(|e| match e {
                BlockError::BeyondEnd { len, .. } => rejected(BlockwiseError::BeyondEnd {
                    num: asked.map_or(0, |a| a.num()),
                    len,
                }),
                other => rejected(other.into()),
            })?;
    let mut out = MessageParts {
        code,
        options: options.clone(),
        payload: payload.to_vec(),
    };
    out.options.set_uint(OptionNumber::BLOCK2, block.to_uint());
    if size2 {
        // RFC 7959 §4: Size2 in a request asks for the size of the whole representation.
        let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
        out.options.set_uint(OptionNumber::SIZE2, len);
    }
    Ok(out)
}

/// An ETag for a representation: FNV-1a (64 bits) over the body, so the same body keeps its
/// ETag and a changed one (almost certainly) gets another (RFC 7252 §5.10.6, RFC 7959 §2.4).
fn etag_of(body: &[u8]) -> [u8; MAX_ETAG_LEN] {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h.to_be_bytes()
}

// ---------------------------------------------------------------------------------------------
// Block2 client.

/// Bounds and preferences of a [`Block2Client`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block2ClientConfig {
    /// Largest body accepted.
    pub max_body: usize,
    /// The largest block size the client wants. From the second request on it asks for
    /// blocks of at most this size (late negotiation, RFC 7959 §2.4, Figure 4).
    pub preferred_szx: Szx,
    /// Early negotiation (RFC 7959 §2.4, Figure 3): the first request already carries Block2
    /// with NUM 0 and `preferred_szx`; otherwise it carries no Block2 option.
    pub early_negotiation: bool,
    /// How often the download restarts from block 0 after the ETag changed before it fails.
    pub max_restarts: u32,
    /// Hand each block on as it arrives ([`Block2Client::take_block`]) instead of
    /// reassembling the body in memory: [`Block2Progress::Complete`] then carries no payload,
    /// and an ETag change ends the download with [`BlockError::EtagChanged`] (the blocks
    /// already handed on belong to the old representation, RFC 7959 §2.4).
    pub deliver_blocks: bool,
}

impl Default for Block2ClientConfig {
    fn default() -> Self {
        Self {
            max_body: 64 * 1024,
            preferred_szx: Szx::S1024,
            early_negotiation: false,
            max_restarts: 3,
            deliver_blocks: false,
        }
    }
}

/// What a [`Block2Client`] wants after a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block2Progress {
    /// Send this request next (the following block, or block 0 after an ETag change).
    Send(MessageParts),
    /// The download is complete: the final response's code and options (without Block2) and
    /// the whole body.
    Complete(MessageParts),
}

/// One block of a download handed on as it arrived ([`Block2ClientConfig::deliver_blocks`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveredBlock {
    /// Where the payload starts in the body (RFC 7959 §2.2: NUM << (SZX + 4)).
    pub offset: usize,
    /// The block's payload.
    pub payload: Vec<u8>,
    /// More blocks follow (the M bit).
    pub more: bool,
}

/// Client-side download of a body in Block2 responses (RFC 7959 §2.4).
///
/// Call order: [`Block2Client::request`] → send → [`Block2Client::handle_response`] with each
/// response → send what [`Block2Progress::Send`] holds, until [`Block2Progress::Complete`] or
/// an error. Every accepted response adds a full block, every ETag change costs one of a
/// bounded number of restarts, and anything else is an error: the download always ends.
#[derive(Debug)]
pub struct Block2Client {
    code: Code,
    options: OptionList,
    config: Block2ClientConfig,
    reassembler: BlockReassembler<Vec<u8>>,
    asked: Option<BlockValue>,
    restarts: u32,
    responses: u32,
    finished: bool,
    delivered: Option<DeliveredBlock>,
}

impl Block2Client {
    /// A download for the request `code` with `options` (a Block2 option among them is
    /// replaced).
    #[must_use]
    pub fn new(code: Code, mut options: OptionList, config: Block2ClientConfig) -> Self {
        options.remove(OptionNumber::BLOCK2);
        let asked = config
            .early_negotiation
            .then(|| block0(config.preferred_szx));
        Self {
            code,
            options,
            config,
            reassembler: Self::reassembler(&config),
            asked,
            restarts: 0,
            responses: 0,
            finished: false,
            delivered: None,
        }
    }

    fn reassembler(config: &Block2ClientConfig) -> BlockReassembler<Vec<u8>> {
        BlockReassembler::new(
            BlockKind::Block2,
            Vec::new(),
            config.max_body,
            config.preferred_szx,
        )
    }

    /// The request to send now.
    #[must_use]
    pub fn request(&self) -> MessageParts {
        let mut r = MessageParts {
            code: self.code,
            options: self.options.clone(),
            payload: Vec::new(),
        };
        if let Some(asked) = self.asked {
            r.options.set_uint(OptionNumber::BLOCK2, asked.to_uint());
        }
        r
    }

    /// Body bytes held in memory (always 0 with [`Block2ClientConfig::deliver_blocks`] once
    /// the block was taken with [`Block2Client::take_block`]).
    #[must_use]
    pub fn bytes_held(&self) -> usize {
        self.reassembler.body().len() + self.delivered.as_ref().map_or(0, |b| b.payload.len())
    }

    /// Body bytes received so far, whether held or handed on.
    #[must_use]
    pub fn bytes_received(&self) -> usize {
        self.reassembler.received()
    }

    /// With [`Block2ClientConfig::deliver_blocks`]: the block the last
    /// [`Block2Client::handle_response`] accepted, once.
    pub fn take_block(&mut self) -> Option<DeliveredBlock> {
        self.delivered.take()
    }

    /// Restarts after an ETag change so far.
    #[must_use]
    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    /// Responses handled so far.
    #[must_use]
    pub fn responses(&self) -> u32 {
        self.responses
    }

    /// Processes the response to the last [`Block2Client::request`].
    ///
    /// # Errors
    /// [`BlockwiseError::ShortBlock`] (M = 1 with a payload not filling the block, e.g. empty),
    /// [`BlockwiseError::UnexpectedBlock`], [`BlockwiseError::BlockNumberOverflow`],
    /// [`BlockwiseError::TooManyRestarts`], [`BlockwiseError::TooLarge`],
    /// [`BlockwiseError::PayloadTooLong`], [`BlockwiseError::MissingBlockOption`],
    /// [`BlockwiseError::UnexpectedResponse`], [`BlockwiseError::Block`] for malformed options,
    /// [`BlockwiseError::Finished`] after completion. After an error the download is over.
    pub fn handle_response(
        &mut self,
        response: &Message<'_>,
    ) -> Result<Block2Progress, BlockwiseError> {
        if self.finished {
            return Err(BlockwiseError::Finished);
        }
        self.responses = self.responses.saturating_add(1);
        let result = self.step(response);
        if !matches!(result, Ok(Block2Progress::Send(_))) {
            self.finished = true;
        }
        result
    }

    fn step(&mut self, response: &Message<'_>) -> Result<Block2Progress, BlockwiseError> {
        let received = self.reassembler.received();
        let Some(block) = BlockValue::from_message(response, OptionNumber::BLOCK2)? else {
            // A response without Block2 is the whole answer, but only to a first request.
            if received == 0 && self.asked.is_none_or(|a| a.num() == 0) {
                if response.payload().len() > self.config.max_body {
                    return Err(BlockwiseError::TooLarge {
                        size: response.payload().len() as u64,
                        limit: self.config.max_body,
                    });
                }
                return Ok(Block2Progress::Complete(MessageParts::from_message(
                    response,
                )));
            }
            if response.code().class() != 2 {
                return Err(BlockwiseError::UnexpectedResponse {
                    code: response.code(),
                });
            }
            return Err(BlockwiseError::MissingBlockOption {
                option: OptionNumber::BLOCK2,
            });
        };
        if response.code().class() != 2 {
            return Err(BlockwiseError::UnexpectedResponse {
                code: response.code(),
            });
        }
        // RFC 7959 §2.4: the server uses the size asked for or a smaller one, and the block
        // must start where the body received so far ends.
        let asked = self.asked.unwrap_or_else(|| block0(Szx::BERT));
        if block.szx() > asked.szx() || block.offset() != asked.offset() {
            return Err(BlockwiseError::UnexpectedBlock {
                asked: asked.num(),
                asked_size: asked.size(),
                got: block.num(),
                got_size: block.size(),
            });
        }
        let payload = response.payload();
        if block.more() && payload.len() != block.size() {
            return Err(BlockwiseError::ShortBlock {
                num: block.num(),
                len: payload.len(),
                size: block.size(),
            });
        }
        if payload.len() > block.size() {
            return Err(BlockwiseError::PayloadTooLong {
                len: payload.len(),
                size: block.size(),
            });
        }
        if let Some(size2) = size_option(response, OptionNumber::SIZE2)? {
            self.reassembler
                .check_announced_size(size2)
                .map_err(map_too_large)?;
        }
        let etag = response.option(OptionNumber::ETAG).map(|o| o.value);
        let pushed = self.reassembler.push(&block, payload, etag);
        if self.config.deliver_blocks && pushed.is_ok() {
            // The block is handed on now and not kept; the reassembler keeps only the
            // position, ETag and block size for the checks of the next block.
            self.delivered = Some(DeliveredBlock {
                offset: block.offset(),
                payload: self.reassembler.body().to_vec(),
                more: block.more(),
            });
            self.reassembler.forget_stored();
        }
        match pushed {
            Ok(Progress::NeedMore(next)) => {
                self.asked = Some(next);
                Ok(Block2Progress::Send(self.request()))
            }
            Ok(Progress::Complete(_)) => {
                let mut parts = MessageParts::from_message(response);
                parts.options.remove(OptionNumber::BLOCK2);
                parts.options.remove(OptionNumber::SIZE2);
                let fresh = Self::reassembler(&self.config);
                parts.payload = core::mem::replace(&mut self.reassembler, fresh).into_buffer();
                Ok(Block2Progress::Complete(parts))
            }
            // RFC 7959 §2.4: blocks already handed on cannot be taken back, so a changed
            // representation ends a delivering download.
            Err(BlockError::EtagChanged) if self.config.deliver_blocks => {
                Err(BlockError::EtagChanged.into())
            }
            Err(BlockError::EtagChanged) => {
                // RFC 7959 §2.4: the representation changed; fetch it again from block 0, a
                // bounded number of times.
                if self.restarts >= self.config.max_restarts {
                    return Err(BlockwiseError::TooManyRestarts {
                        restarts: self.restarts,
                    });
                }
                self.restarts += 1;
                self.reassembler.reset();
                self.asked = Some(block0(block.szx()));
                Ok(Block2Progress::Send(self.request()))
            }
            // The next block number would not fit 20 bits (RFC 7959 §2.2): a server announcing
            // more after block 2^20 - 1 could never finish.
            Err(BlockError::NumberTooLarge { .. }) => {
                Err(BlockwiseError::BlockNumberOverflow { num: block.num() })
            }
            Err(e) => Err(map_too_large(e)),
        }
    }
}

fn block0(szx: Szx) -> BlockValue {
    BlockValue::new(0, false, szx).unwrap_or_else(|_| block0(Szx::S16))
}

fn map_too_large(e: BlockError) -> BlockwiseError {
    match e {
        BlockError::TooLarge { size, limit } => BlockwiseError::TooLarge { size, limit },
        other => other.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Block1 client.

/// Preferences of a [`Block1Client`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block1ClientConfig {
    /// Block size to start with; the server may ask for smaller ones (RFC 7959 §2.5).
    pub szx: Szx,
    /// Early negotiation of a block-wise response (RFC 7959 §3.3, Figure 11): the request with
    /// the final block asks for Block2 blocks of this size.
    pub response_szx: Option<Szx>,
    /// The download started when the final response carries Block2 with M = 1.
    pub download: Block2ClientConfig,
}

impl Default for Block1ClientConfig {
    fn default() -> Self {
        Self {
            szx: Szx::S1024,
            response_szx: None,
            download: Block2ClientConfig::default(),
        }
    }
}

/// What a [`Block1Client`] wants after a response.
#[derive(Debug)]
pub enum Block1Progress {
    /// Send this request next.
    Send(MessageParts),
    /// The upload is over: this is the final response (a success or an error code).
    Done(MessageParts),
    /// The final response started a block-wise response (RFC 7959 §3.3): send `request`, and
    /// feed the responses to `download`.
    Download {
        /// The download, holding the first block.
        download: Block2Client,
        /// The request for the next block.
        request: MessageParts,
    },
}

/// Client-side upload of a body in Block1 requests (RFC 7959 §2.5) with a Request-Tag
/// (RFC 9175 §3).
///
/// Call order: [`Block1Client::request`] → send → [`Block1Client::handle_response`] → send
/// what [`Block1Progress::Send`] holds, until [`Block1Progress::Done`] or
/// [`Block1Progress::Download`] (then continue with the [`Block2Client`]).
///
/// The Request-Tag is chosen by the caller with [`crate::echo::choose_request_tag`] over the
/// tags of the uploads to the same resource still in progress ([`Block1Client::request_tag`]):
/// RFC 9175 §3.4 lets the first use no tag, and concurrent ones need distinct values.
#[derive(Debug)]
pub struct Block1Client {
    code: Code,
    options: OptionList,
    body: Vec<u8>,
    offset: usize,
    szx: Szx,
    blockwise: bool,
    request_tag: Option<Vec<u8>>,
    config: Block1ClientConfig,
    finished: bool,
}

impl Block1Client {
    /// An upload of `body` with the request `code` and `options` (Block1, Block2, Size1 and
    /// Request-Tag among them are replaced), tagged with `request_tag` (`None`: no
    /// Request-Tag option).
    ///
    /// A body that fits one block of `config.szx` goes out as a plain request; without the
    /// `block1-client` feature every body does (a 4.13 answer is then final).
    ///
    /// # Errors
    /// [`BlockwiseError::RequestTagLength`] for a tag over 8 bytes;
    /// [`BlockwiseError::Block`] with [`BlockError::NumberTooLarge`] for a body too long for
    /// 20-bit block numbers in blocks of `config.szx`. BERT is not used ([`Szx::BERT`] means
    /// 1024-byte blocks).
    pub fn new(
        code: Code,
        mut options: OptionList,
        body: Vec<u8>,
        config: Block1ClientConfig,
        request_tag: Option<&[u8]>,
    ) -> Result<Self, BlockwiseError> {
        if let Some(tag) = request_tag {
            if tag.len() > MAX_REQUEST_TAG_LEN {
                return Err(BlockwiseError::RequestTagLength { len: tag.len() });
            }
        }
        for n in [
            OptionNumber::BLOCK1,
            OptionNumber::BLOCK2,
            OptionNumber::SIZE1,
            OptionNumber::REQUEST_TAG,
        ] {
            options.remove(n);
        }
        let szx = if config.szx.is_bert() {
            Szx::S1024
        } else {
            config.szx
        };
        let client = Self {
            code,
            options,
            blockwise: SLICES && body.len() > szx.size(),
            body,
            offset: 0,
            szx,
            request_tag: request_tag.map(<[u8]>::to_vec),
            config,
            finished: false,
        };
        client.current()?;
        Ok(client)
    }

    /// Like [`Block1Client::new`], with the Request-Tag chosen by
    /// [`crate::echo::choose_request_tag`] (RFC 9175 §3.4, §3.5): `in_use` holds the tags
    /// ([`Block1Client::request_tag`]) of the uploads in progress that are matchable to this
    /// one (same server, same request options). The first upload goes without a tag; each
    /// concurrent one gets the shortest value not in use.
    ///
    /// # Errors
    /// [`BlockwiseError::RequestTag`] when no tag of up to 2 bytes is free, and as
    /// [`Block1Client::new`].
    pub fn with_free_tag<'x, I>(
        code: Code,
        options: OptionList,
        body: Vec<u8>,
        config: Block1ClientConfig,
        in_use: I,
    ) -> Result<Self, BlockwiseError>
    where
        I: IntoIterator<Item = Option<&'x [u8]>>,
        I::IntoIter: Clone,
    {
        let choice = choose_request_tag(in_use)?;
        Self::new(code, options, body, config, choice.value())
    }

    /// The Request-Tag value used (`None`: no option), for choosing the tag of a concurrent
    /// upload (RFC 9175 §3.4).
    #[must_use]
    pub fn request_tag(&self) -> Option<&[u8]> {
        self.request_tag.as_deref()
    }

    /// Bytes the server acknowledged so far.
    #[must_use]
    pub fn acknowledged(&self) -> usize {
        self.offset
    }

    /// The length of the whole body being uploaded.
    #[must_use]
    pub fn body_len(&self) -> usize {
        self.body.len()
    }

    /// The block size in use.
    #[must_use]
    pub fn szx(&self) -> Szx {
        self.szx
    }

    /// The Block1 value and payload of the block to send now.
    fn current(&self) -> Result<(BlockValue, &[u8]), BlockwiseError> {
        let num = u32::try_from(self.offset / self.szx.size()).unwrap_or(u32::MAX);
        Ok(BlockSplitter::new(&self.body).block(num, self.szx)?)
    }

    /// The request to send now.
    ///
    /// # Errors
    /// [`BlockwiseError::Finished`] after the final response.
    pub fn request(&self) -> Result<MessageParts, BlockwiseError> {
        if self.finished {
            return Err(BlockwiseError::Finished);
        }
        let mut r = MessageParts {
            code: self.code,
            options: self.options.clone(),
            payload: Vec::new(),
        };
        // RFC 9175 §3.4: the tag tells concurrent block-wise operations apart; a request that
        // goes whole carries none (Request-Tag is critical: a server that does not know it
        // would refuse the request, RFC 7252 §5.4.1). It is chosen up front all the same, so
        // that an upload turned block-wise by a 4.13 has a value no other upload uses.
        if let Some(tag) = self
            .request_tag
            .as_ref()
            .filter(|_| SLICES && self.blockwise)
        {
            r.options.push(OptionNumber::REQUEST_TAG, tag.clone());
        }
        if !SLICES || !self.blockwise {
            r.payload.clone_from(&self.body);
            if let Some(szx) = self.config.response_szx {
                r.options
                    .set_uint(OptionNumber::BLOCK2, block0(szx).to_uint());
            }
            return Ok(r);
        }
        let (block, payload) = self.current()?;
        r.options.set_uint(OptionNumber::BLOCK1, block.to_uint());
        if block.num() == 0 {
            // RFC 7959 §4: Size1 in a Block1 request announces the size of the whole body.
            let len = u32::try_from(self.body.len()).unwrap_or(u32::MAX);
            r.options.set_uint(OptionNumber::SIZE1, len);
        }
        if !block.more() {
            if let Some(szx) = self.config.response_szx {
                r.options
                    .set_uint(OptionNumber::BLOCK2, block0(szx).to_uint());
            }
        }
        r.payload = payload.to_vec();
        Ok(r)
    }

    /// The request and its follow-up Block2 requests for a download (same options, no
    /// payload, the Request-Tag kept; RFC 7959 §3.3, Figure 10).
    fn download_options(&self) -> OptionList {
        let mut options = self.options.clone();
        options.remove(OptionNumber::CONTENT_FORMAT);
        if let Some(tag) = self
            .request_tag
            .as_ref()
            .filter(|_| SLICES && self.blockwise)
        {
            options.push(OptionNumber::REQUEST_TAG, tag.clone());
        }
        options
    }

    /// Processes the response to the last [`Block1Client::request`].
    ///
    /// # Errors
    /// [`BlockError::UnexpectedAcknowledgement`] (nested) for a 2.31 or final response
    /// acknowledging another block, [`BlockwiseError::MissingBlockOption`] for a 2.31 without
    /// Block1, [`BlockwiseError::UnexpectedResponse`] for a 2.31 to the final block,
    /// [`BlockwiseError::RequestTooLarge`] for a 4.13 that smaller blocks cannot help,
    /// errors of [`Block2Client::handle_response`] for the first block of a download,
    /// [`BlockwiseError::Finished`] after the final response. After an error the upload is
    /// over.
    pub fn handle_response(
        &mut self,
        response: &Message<'_>,
    ) -> Result<Block1Progress, BlockwiseError> {
        if self.finished {
            return Err(BlockwiseError::Finished);
        }
        let result = self.step(response);
        if !matches!(result, Ok(Block1Progress::Send(_))) {
            self.finished = true;
        }
        result
    }

    fn step(&mut self, response: &Message<'_>) -> Result<Block1Progress, BlockwiseError> {
        let code = response.code();
        let ack = BlockValue::from_message(response, OptionNumber::BLOCK1)?;
        if code == Code::REQUEST_ENTITY_TOO_LARGE {
            return self.on_too_large(response, ack);
        }
        let (sent, payload_len) = if SLICES && self.blockwise {
            let (b, p) = self.current()?;
            (Some(b), p.len())
        } else {
            (None, self.body.len())
        };
        let more = sent.is_some_and(|b| b.more());
        // RFC 7959 §2.3: 2.31 asks for the next block; a 2.xx acknowledging a non-final block
        // (M = 0 in the response) means the server enacted it on its own and the client still
        // sends the rest.
        let per_block = more && code.class() == 2 && ack.is_some();
        if code == Code::CONTINUE || per_block {
            let Some(sent) = sent else {
                return Err(BlockwiseError::UnexpectedResponse { code });
            };
            let Some(ack) = ack else {
                return Err(BlockwiseError::MissingBlockOption {
                    option: OptionNumber::BLOCK1,
                });
            };
            if !sent.more() {
                return Err(BlockwiseError::UnexpectedResponse { code });
            }
            check_ack(sent, ack)?;
            self.offset += payload_len;
            // RFC 7959 §2.5: use the server's smaller size from now on, "possibly scaling the
            // block number accordingly" (the offset is in bytes, so the number follows).
            if ack.szx() < self.szx {
                self.szx = ack.szx();
            }
            return Ok(Block1Progress::Send(self.request()?));
        }
        // A final response (success or error) ends the upload.
        if let (Some(sent), Some(ack)) = (sent, ack) {
            if code.class() == 2 {
                check_ack(sent, ack)?;
            }
        }
        let starts_download = code.class() == 2
            && BlockValue::from_message(response, OptionNumber::BLOCK2)?.is_some_and(|b| b.more());
        if starts_download {
            if cfg!(not(feature = "block2-client")) {
                // Without the `block2-client` feature the client takes one-block responses
                // only: the request ends with this error rather than with a partial body.
                return Err(BlockwiseError::DownloadUnsupported);
            }
            let mut download =
                Block2Client::new(self.code, self.download_options(), self.config.download);
            download.asked = self.config.response_szx.map(block0);
            return match download.handle_response(response)? {
                Block2Progress::Send(request) => Ok(Block1Progress::Download { download, request }),
                Block2Progress::Complete(parts) => Ok(Block1Progress::Done(parts)),
            };
        }
        let mut parts = MessageParts::from_message(response);
        parts.options.remove(OptionNumber::BLOCK1);
        Ok(Block1Progress::Done(parts))
    }

    /// RFC 7959 §2.9.3: 4.13 with Size1 below the body: the server will not take it. A smaller
    /// SZX in its Block1 is "a hint to try a smaller SZX", and a 4.13 to a request without
    /// Block1 "a hint for the client to try sending Block1": restart from block 0. Each
    /// restart uses strictly smaller blocks, so there are at most seven.
    fn on_too_large(
        &mut self,
        response: &Message<'_>,
        ack: Option<BlockValue>,
    ) -> Result<Block1Progress, BlockwiseError> {
        let size1 = size_option(response, OptionNumber::SIZE1)?;
        let refuse = || BlockwiseError::RequestTooLarge {
            len: self.body.len(),
            size1,
        };
        // Without the `block1-client` feature the body is never sliced: the 4.13 is final.
        if !SLICES || size1.is_some_and(|s| (s as usize) < self.body.len()) {
            return Err(refuse());
        }
        let smaller = match ack {
            Some(hint) if hint.szx() < self.szx => Some(hint.szx()),
            // Not block-wise yet: the largest size that splits the body.
            None if !self.blockwise => (0..self.szx.value())
                .rev()
                .filter_map(Szx::new)
                .find(|s| s.size() < self.body.len()),
            _ => None,
        };
        let Some(szx) = smaller else {
            return Err(refuse());
        };
        self.szx = szx;
        self.offset = 0;
        self.blockwise = true;
        Ok(Block1Progress::Send(self.request()?))
    }
}

/// The acknowledged NUM counts in the size the block was sent in (RFC 7959 §3.2, Figure 9:
/// "2.31 Continue, 1:0/1/32" acknowledges the 128-byte block 0 while asking for 32-byte
/// blocks).
fn check_ack(sent: BlockValue, ack: BlockValue) -> Result<(), BlockwiseError> {
    if ack.num() != sent.num() {
        return Err(BlockError::UnexpectedAcknowledgement {
            sent: sent.num(),
            got: ack.num(),
        }
        .into());
    }
    Ok(())
}
