//! EDHOC over CoAP (RFC 9528 Appendix A.2) and the combined EDHOC + OSCORE request
//! (RFC 9668 §3).
//!
//! The payload helpers work without any CoAP crate: a client prepends `true` to message_1 and
//! C_R to later messages; the server reads that prefix back ([`ClientPayload`]). With the
//! `oscore` feature, the CoAP requests and responses themselves are written and the combined
//! request is built and split (`mote-coap`).

use crate::buffer::MessageBuf;
use crate::cbor;
use crate::conn_id::ConnId;
use crate::error::Error;

/// Uri-Path of the EDHOC resource, one segment per element (RFC 9528 §10.7).
pub const EDHOC_PATH: [&str; 2] = [".well-known", "edhoc"];
/// Content-Format application/edhoc+cbor-seq (RFC 9528 §10.9): server responses.
pub const CONTENT_FORMAT_EDHOC: u16 = 64;
/// Content-Format application/cid-edhoc+cbor-seq (RFC 9528 §10.9): client requests.
pub const CONTENT_FORMAT_CID_EDHOC: u16 = 65;
/// The EDHOC CoAP option number (RFC 9668 §3.1).
pub const EDHOC_OPTION: u16 = 21;

/// Request payload carrying message_1: `true, message_1` (Appendix A.2).
///
/// ```
/// use mote_edhoc::transport::message_1_payload;
/// assert_eq!(message_1_payload(&[0x03, 0x02])?.as_slice(), [0xf5, 0x03, 0x02]); // true, message_1
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn message_1_payload(message_1: &[u8]) -> Result<MessageBuf, Error> {
    let mut p = MessageBuf::new();
    p.push(cbor::TRUE)?;
    p.extend(message_1)?;
    Ok(p)
}

/// Request payload carrying message_3 (or an error) in an ongoing session: `C_R, message`.
///
/// ```
/// use mote_edhoc::{ConnId, transport::prefixed_payload};
/// // C_R = -8 (the byte 0x27), then message_3 (a bstr).
/// let payload = prefixed_payload(&ConnId::from_int(-8)?, &[0x43, 1, 2, 3])?;
/// assert_eq!(payload.as_slice(), [0x27, 0x43, 1, 2, 3]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn prefixed_payload(c_r: &ConnId, message: &[u8]) -> Result<MessageBuf, Error> {
    let mut p = MessageBuf::new();
    c_r.encode(&mut p)?;
    p.extend(message)?;
    Ok(p)
}

/// What a client's request payload carries (Appendix A.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientPayload<'a> {
    /// `true, message_1`: a new EDHOC session.
    NewSession {
        /// message_1.
        message_1: &'a [u8],
    },
    /// `C_R, message`: a message of the session the server knows as C_R.
    Session {
        /// C_R, the server's connection identifier.
        c_r: ConnId,
        /// message_3 or an error message.
        message: &'a [u8],
    },
}

/// Reads the prefix of a client's request payload.
///
/// ```
/// use mote_edhoc::ConnId;
/// use mote_edhoc::transport::{ClientPayload, parse_client_payload};
/// assert_eq!(
///     parse_client_payload(&[0xf5, 0x03, 0x02])?,
///     ClientPayload::NewSession { message_1: &[0x03, 0x02] }
/// );
/// assert_eq!(
///     parse_client_payload(&[0x27, 0x43, 1, 2, 3])?,
///     ClientPayload::Session { c_r: ConnId::from_int(-8)?, message: &[0x43, 1, 2, 3] }
/// );
/// assert!(parse_client_payload(&[]).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_client_payload(payload: &[u8]) -> Result<ClientPayload<'_>, Error> {
    match payload.split_first() {
        Some((&cbor::TRUE, message_1)) => Ok(ClientPayload::NewSession { message_1 }),
        Some(_) => {
            let mut r = cbor::reader(payload);
            let c_r = ConnId::decode(&mut r)?;
            Ok(ClientPayload::Session {
                c_r,
                message: r.remaining(),
            })
        }
        None => Err(Error::Transport(diag!("empty EDHOC request payload"))),
    }
}

#[cfg(feature = "oscore")]
pub use coap::*;

#[cfg(feature = "oscore")]
mod coap {
    use mote_coap::block::BlockValue;
    use mote_coap::code::{Code, MessageType};
    use mote_coap::message::{Message, MessageWriter};
    use mote_coap::option::{OptionNumber, OptionRef, Options};
    use mote_coap::tcp::{Frame, FrameLimits};

    use super::{CONTENT_FORMAT_CID_EDHOC, CONTENT_FORMAT_EDHOC, EDHOC_OPTION, EDHOC_PATH};
    use crate::conn_id::ConnId;
    use crate::error::Error;

    fn coap_err<E>(_: E) -> Error {
        Error::Transport(diag!(
            "CoAP encoding failed (buffer too small or invalid header)"
        ))
    }

    /// Writes the POST request to `/.well-known/edhoc` with Content-Format 65 carrying
    /// `payload` (from [`message_1_payload`](super::message_1_payload) or
    /// [`prefixed_payload`](super::prefixed_payload)); returns its length.
    ///
    /// ```
    /// use mote_coap::{code::Code, message::Message, option::OptionNumber};
    /// use mote_edhoc::transport::{is_edhoc_request, message_1_payload, write_request};
    /// let mut buf = [0u8; 64];
    /// let n = write_request(&mut buf, 0x1234, &[0x7b], message_1_payload(&[0x03, 0x02])?.as_slice())?;
    /// let request = Message::decode(&buf[..n])?;
    /// assert_eq!(request.code(), Code::POST);
    /// assert!(is_edhoc_request(&request)); // POST /.well-known/edhoc
    /// assert_eq!(request.uint_option(OptionNumber::CONTENT_FORMAT)?, Some(65));
    /// assert_eq!(request.payload(), [0xf5, 0x03, 0x02]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_request(
        buf: &mut [u8],
        message_id: u16,
        token: &[u8],
        payload: &[u8],
    ) -> Result<usize, Error> {
        let mut w = MessageWriter::new(buf, MessageType::Con, Code::POST, message_id, token)
            .map_err(coap_err)?;
        for seg in EDHOC_PATH {
            w.option(OptionNumber::URI_PATH, seg.as_bytes())
                .map_err(coap_err)?;
        }
        w.uint_option(
            OptionNumber::CONTENT_FORMAT,
            u32::from(CONTENT_FORMAT_CID_EDHOC),
        )
        .map_err(coap_err)?;
        w.payload(payload).map_err(coap_err)
    }

    /// Writes the piggybacked response (ACK) carrying message_2, message_4 or an EDHOC error
    /// message: 2.04 (Changed) for a message, `error_code` (4.00 for client errors, 5.00 for
    /// server errors, Appendix A.2.3) for an error message; Content-Format 64 in both cases.
    ///
    /// ```
    /// use mote_coap::{code::Code, message::Message, option::OptionNumber};
    /// use mote_edhoc::{Error, ErrorMessage};
    /// use mote_edhoc::transport::{error_response_code, write_response};
    /// let mut buf = [0u8; 64];
    /// // message_2 in a 2.04 ...
    /// let n = write_response(&mut buf, 0x1234, &[0x7b], &[0x58, 0x01, 0xaa], None)?;
    /// let response = Message::decode(&buf[..n])?;
    /// assert_eq!((response.code(), response.payload()), (Code::CHANGED, &[0x58, 0x01, 0xaa][..]));
    /// assert_eq!(response.uint_option(OptionNumber::CONTENT_FORMAT)?, Some(64));
    /// // ... an error message with the code of Appendix A.2.3.
    /// let error = Error::UnknownCredential;
    /// let message = ErrorMessage::for_error(&error)?;
    /// let n = write_response(&mut buf, 0x1235, &[0x7c], message.as_slice(), Some(error_response_code(&error)))?;
    /// assert_eq!(Message::decode(&buf[..n])?.code(), Code::BAD_REQUEST);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_response(
        buf: &mut [u8],
        message_id: u16,
        token: &[u8],
        message: &[u8],
        error_code: Option<Code>,
    ) -> Result<usize, Error> {
        let code = error_code.unwrap_or(Code::CHANGED);
        let mut w =
            MessageWriter::new(buf, MessageType::Ack, code, message_id, token).map_err(coap_err)?;
        w.uint_option(
            OptionNumber::CONTENT_FORMAT,
            u32::from(CONTENT_FORMAT_EDHOC),
        )
        .map_err(coap_err)?;
        w.payload(message).map_err(coap_err)
    }

    /// The response code for an EDHOC error message answering `error` (Appendix A.2.3).
    ///
    /// ```
    /// use mote_coap::code::Code;
    /// use mote_edhoc::{Error, transport::error_response_code};
    /// assert_eq!(error_response_code(&Error::UnknownCredential), Code::BAD_REQUEST); // the peer's fault
    /// assert_eq!(error_response_code(&Error::Crypto), Code::INTERNAL_SERVER_ERROR); // ours
    /// ```
    pub fn error_response_code(error: &Error) -> Code {
        match error {
            Error::Crypto | Error::Capacity { .. } | Error::TableFull { .. } => {
                Code::INTERNAL_SERVER_ERROR
            }
            _ => Code::BAD_REQUEST,
        }
    }

    /// Whether a request targets the EDHOC resource (POST to `/.well-known/edhoc`).
    ///
    /// ```
    /// use mote_coap::message::Message;
    /// use mote_edhoc::transport::is_edhoc_request;
    /// // CON POST, MID 1, Uri-Path ".well-known" "edhoc".
    /// let edhoc = Message::decode(b"\x40\x02\x00\x01\xbb.well-known\x05edhoc")?;
    /// assert!(is_edhoc_request(&edhoc));
    /// let other = Message::decode(b"\x40\x02\x00\x01\xb5edhoc")?; // POST /edhoc
    /// assert!(!is_edhoc_request(&other));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_edhoc_request(msg: &Message<'_>) -> bool {
        let mut path = msg.options_with(OptionNumber::URI_PATH).map(|o| o.value);
        msg.code() == Code::POST
            && path.next() == Some(EDHOC_PATH[0].as_bytes())
            && path.next() == Some(EDHOC_PATH[1].as_bytes())
            && path.next().is_none()
    }

    /// RFC 9668 §3.2.1 steps 3–5: from the OSCORE-protected request (payload = OSCORE
    /// ciphertext) and message_3, the EDHOC + OSCORE request: payload `message_3 ‖ ciphertext`
    /// and an empty EDHOC option. Returns its length in `out`.
    ///
    /// ```
    /// # use mote_edhoc::transport::*;
    /// # use mote_edhoc::ConnId;
    /// // An OSCORE request from the Initiator: CON POST, MID 1, token 0x7b, OSCORE option (9)
    /// // with Partial IV 0x14 and 'kid' C_R = -8 (0x27), then the ciphertext.
    /// let oscore_request = b"\x41\x02\x00\x01\x7b\x93\x09\x14\x27\xff\xc1\xc2\xc3\xc4\xc5\xc6\xc7\xc8";
    /// let message_3 = [0x43, 0xaa, 0xbb, 0xcc];
    /// let mut combined = [0u8; 64];
    /// let n = combine_request(oscore_request, &message_3, &mut combined)?;
    /// // The EDHOC option (21) is added empty (delta 12: 0xc0); the payload is message_3 ‖ ciphertext.
    /// assert_eq!(
    ///     &combined[..n],
    ///     b"\x41\x02\x00\x01\x7b\x93\x09\x14\x27\xc0\xff\x43\xaa\xbb\xcc\xc1\xc2\xc3\xc4\xc5\xc6\xc7\xc8"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn combine_request(
        oscore_request: &[u8],
        message_3: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let m = Message::decode(oscore_request)
            .map_err(|_| Error::Transport(diag!("OSCORE request does not parse")))?;
        if m.option(OptionNumber::OSCORE).is_none() {
            return Err(Error::Transport(diag!("request without OSCORE option")));
        }
        if m.option(OptionNumber(EDHOC_OPTION)).is_some() {
            return Err(Error::Transport(diag!(
                "request already carries the EDHOC option"
            )));
        }
        let mut w = MessageWriter::new(out, m.mtype(), m.code(), m.message_id(), m.token())
            .map_err(coap_err)?;
        let mut inserted = false;
        for o in m.options() {
            if !inserted && o.number.0 > EDHOC_OPTION {
                w.option(OptionNumber(EDHOC_OPTION), &[])
                    .map_err(coap_err)?;
                inserted = true;
            }
            w.option(o.number, o.value).map_err(coap_err)?;
        }
        if !inserted {
            w.option(OptionNumber(EDHOC_OPTION), &[])
                .map_err(coap_err)?;
        }
        let total = message_3.len() + m.payload().len();
        let mut payload = [0u8; crate::buffer::MAX_MESSAGE_LEN * 2];
        let dst = payload.get_mut(..total).ok_or(Error::Capacity {
            what: diag!("combined payload"),
            needed: total,
        })?;
        let (a, b) = dst.split_at_mut(message_3.len());
        a.copy_from_slice(message_3);
        b.copy_from_slice(m.payload());
        w.payload(dst).map_err(coap_err)
    }

    /// What to send for one OSCORE-protected block of the first application request, when
    /// that request is fragmented with inner Block1 options (RFC 9668 §3.2.2).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum CombinedBlock {
        /// The EDHOC + OSCORE request, this many bytes in `out`: the request carries no inner
        /// Block1 option, or its first block (NUM 0).
        Combined(usize),
        /// §3.2.2 step A: a non-first inner block (NUM ≠ 0). Send the OSCORE-protected request
        /// as it is, without the EDHOC option and without message_3.
        NonFirstBlock,
        /// §3.2.2 step B: COMB_PAYLOAD exceeds MAX_UNFRAGMENTED_SIZE. Abandon the block-wise
        /// transfer and use the sequential flow: send `C_R, message_3`
        /// ([`prefixed_payload`](super::prefixed_payload)) to the EDHOC resource, then the
        /// OSCORE request once EDHOC has completed.
        Sequential,
    }

    /// RFC 9668 §3.2.1 with the block-wise steps of §3.2.2: `inner_request` is the original
    /// (unprotected) CoAP request, or the inner block of it, that `oscore_request` protects;
    /// `max_unfragmented_size` is the MAX_UNFRAGMENTED_SIZE of RFC 8613 §4.1.3.4.2.
    ///
    /// ```
    /// # use mote_edhoc::transport::*;
    /// # use mote_edhoc::ConnId;
    /// // An OSCORE request from the Initiator: CON POST, MID 1, token 0x7b, OSCORE option (9)
    /// // with Partial IV 0x14 and 'kid' C_R = -8 (0x27), then the ciphertext.
    /// let oscore_request = b"\x41\x02\x00\x01\x7b\x93\x09\x14\x27\xff\xc1\xc2\xc3\xc4\xc5\xc6\xc7\xc8";
    /// let message_3 = [0x43, 0xaa, 0xbb, 0xcc];
    /// // The inner (unprotected) request has no Block1 option: one combined request.
    /// let inner_request = b"\x41\x03\x00\x01\x7b\xff\x01";
    /// let mut out = [0u8; 64];
    /// let sent = combine_request_block(inner_request, oscore_request, &message_3, 1152, &mut out)?;
    /// assert_eq!(sent, CombinedBlock::Combined(23));
    /// // Too large for MAX_UNFRAGMENTED_SIZE: fall back to the sequential flow (§3.2.2 step B).
    /// let sent = combine_request_block(inner_request, oscore_request, &message_3, 8, &mut out)?;
    /// assert_eq!(sent, CombinedBlock::Sequential);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn combine_request_block(
        inner_request: &[u8],
        oscore_request: &[u8],
        message_3: &[u8],
        max_unfragmented_size: usize,
        out: &mut [u8],
    ) -> Result<CombinedBlock, Error> {
        let inner = Message::decode(inner_request)
            .map_err(|_| Error::Transport(diag!("inner request does not parse")))?;
        let block1 = BlockValue::from_message(&inner, OptionNumber::BLOCK1)
            .map_err(|_| Error::Transport(diag!("invalid inner Block1 option")))?;
        // Step A: only the first inner block carries the EDHOC option and message_3.
        if block1.is_some_and(|b| b.num() != 0) {
            return Ok(CombinedBlock::NonFirstBlock);
        }
        // Step B: COMB_PAYLOAD = EDHOC_MSG_3 | OSCORE_PAYLOAD must not exceed
        // MAX_UNFRAGMENTED_SIZE.
        let oscore = Message::decode(oscore_request)
            .map_err(|_| Error::Transport(diag!("OSCORE request does not parse")))?;
        if message_3.len() + oscore.payload().len() > max_unfragmented_size {
            return Ok(CombinedBlock::Sequential);
        }
        combine_request(oscore_request, message_3, out).map(CombinedBlock::Combined)
    }

    /// RFC 9668 §3.3.1 step 8: in the request decrypted from an EDHOC + OSCORE request, an
    /// EDHOC option (class U, so never inner) is an unprocessed critical option: `Err` means
    /// answer 4.02 (Bad Option, RFC 7252 §5.4.1) instead of delivering the request.
    ///
    /// ```
    /// use mote_edhoc::transport::check_decrypted_request;
    /// check_decrypted_request(b"\x40\x01\x00\x01\xb4temp")?; // GET /temp
    /// // An EDHOC option (21: delta 10 after Uri-Path 11, empty: 0xa0) must not be inside.
    /// assert!(check_decrypted_request(b"\x40\x01\x00\x01\xb4temp\xa0").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_decrypted_request(request: &[u8]) -> Result<(), Error> {
        let m = Message::decode(request)
            .map_err(|_| Error::Transport(diag!("decrypted request does not parse")))?;
        if m.option(OptionNumber(EDHOC_OPTION)).is_some() {
            return Err(Error::Transport(diag!(
                "EDHOC option inside the OSCORE-protected request: unprocessed critical option (RFC 9668 §3.3.1 step 8)"
            )));
        }
        Ok(())
    }

    /// The EDHOC error message answering a failed EDHOC + OSCORE request (RFC 9668 §3.3.1:
    /// "error code 1" whatever failed in step 4, unprotected, Content-Format 64 with
    /// [`write_response`] and [`error_response_code`]). The diagnostic is the error's
    /// description, which names no secret (RFC 9528 §9.5).
    ///
    /// ```
    /// use mote_edhoc::{Error, ErrorMessage, transport::combined_request_error};
    /// let message = combined_request_error(&Error::UnknownCredential)?;
    /// // RFC 9668 §3.3.1: ERR_CODE 1 whatever failed, with a description.
    /// assert_eq!(ErrorMessage::parse(message.as_slice())?.code(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn combined_request_error(error: &Error) -> Result<crate::buffer::MessageBuf, Error> {
        crate::message::unspecified_for(error)
    }

    /// The parts of an EDHOC + OSCORE request (RFC 9668 §3.3.1).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct CombinedRequest<'a> {
        /// C_R: the 'kid' of the OSCORE option (step 3), to find the EDHOC session.
        pub c_r: ConnId,
        /// EDHOC message_3, the first CBOR item of the payload (step 2).
        pub message_3: &'a [u8],
        /// Length in `out` of the OSCORE request rebuilt without message_3 and without the
        /// EDHOC option (step 7), to unprotect once the session is complete (step 8).
        pub oscore_request_len: usize,
    }

    /// How a CoAP message is framed on its transport (UDP, RFC 7252 §3; TCP, RFC 8323 §3.2):
    /// mote-coap's type, so the splitter and OSCORE speak one vocabulary.
    pub use mote_coap::framing::Framing;

    /// RFC 9668 §3.3.1 steps 1–3, 6 and 7 for a request in the UDP message format: see
    /// [`split_combined_request_framed`].
    ///
    /// ```
    /// # use mote_edhoc::transport::*;
    /// # use mote_edhoc::ConnId;
    /// // An OSCORE request from the Initiator: CON POST, MID 1, token 0x7b, OSCORE option (9)
    /// // with Partial IV 0x14 and 'kid' C_R = -8 (0x27), then the ciphertext.
    /// let oscore_request = b"\x41\x02\x00\x01\x7b\x93\x09\x14\x27\xff\xc1\xc2\xc3\xc4\xc5\xc6\xc7\xc8";
    /// let message_3 = [0x43, 0xaa, 0xbb, 0xcc];
    /// let mut combined = [0u8; 64];
    /// let n = combine_request(oscore_request, &message_3, &mut combined)?;
    /// let mut out = [0u8; 64];
    /// let parts = split_combined_request(&combined[..n], &mut out)?;
    /// assert_eq!(parts.c_r, ConnId::from_int(-8)?); // the OSCORE 'kid'
    /// assert_eq!(parts.message_3, message_3);
    /// assert_eq!(&out[..parts.oscore_request_len], oscore_request); // as the client protected it
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn split_combined_request<'a>(
        request: &'a [u8],
        out: &mut [u8],
    ) -> Result<CombinedRequest<'a>, Error> {
        split_combined_request_framed(request, Framing::Udp, out)
    }

    /// RFC 9668 §3.3.1 steps 1–3, 6 and 7. A request that fails step 1 must be answered with
    /// 4.00 (Bad Request).
    ///
    /// `request` is one message in `framing` (over TCP one whole frame, RFC 8323 §3.2); it is
    /// parsed once, and the OSCORE request is written once into `out`, in the same framing.
    ///
    /// A request with an outer Block1 option is one block of a fragmented EDHOC + OSCORE
    /// request: per §3.3.2 step A the server first collects every block (RFC 7959, up to
    /// MAX_UNFRAGMENTED_SIZE, RFC 8613 §4.1.3.4.2) and then calls
    /// [`split_reassembled_combined_request_framed`]; here such a block is rejected, unless it
    /// is the only one (NUM 0 without M).
    ///
    /// ```
    /// # use mote_edhoc::transport::*;
    /// # use mote_edhoc::ConnId;
    /// // An OSCORE request from the Initiator: CON POST, MID 1, token 0x7b, OSCORE option (9)
    /// // with Partial IV 0x14 and 'kid' C_R = -8 (0x27), then the ciphertext.
    /// let oscore_request = b"\x41\x02\x00\x01\x7b\x93\x09\x14\x27\xff\xc1\xc2\xc3\xc4\xc5\xc6\xc7\xc8";
    /// let message_3 = [0x43, 0xaa, 0xbb, 0xcc];
    /// let mut combined = [0u8; 64];
    /// let n = combine_request(oscore_request, &message_3, &mut combined)?;
    /// let mut out = [0u8; 64];
    /// let parts = split_combined_request_framed(&combined[..n], Framing::Udp, &mut out)?;
    /// assert_eq!(parts.message_3, message_3);
    /// // Step 1: a request without the EDHOC option is no combined request (answer 4.00).
    /// assert!(split_combined_request_framed(oscore_request, Framing::Udp, &mut out).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn split_combined_request_framed<'a>(
        request: &'a [u8],
        framing: Framing,
        out: &mut [u8],
    ) -> Result<CombinedRequest<'a>, Error> {
        let m = Received::parse(request, framing)?;
        if let Some(o) = m.option(OptionNumber::BLOCK1) {
            // BERT (SZX 7) exists only over TCP (RFC 8323 §6).
            let b = BlockValue::decode(o.value, framing == Framing::Tcp)
                .map_err(|_| Error::Transport(diag!("invalid Block1 option")))?;
            if b.num() != 0 || b.more() {
                return Err(Error::Transport(diag!(
                    "one block of a fragmented EDHOC + OSCORE request: reassemble all blocks first (RFC 9668 §3.3.2)"
                )));
            }
        }
        split(&m, m.payload, false, out)
    }

    /// [`split_reassembled_combined_request_framed`] for the UDP message format.
    ///
    /// ```
    /// # use mote_edhoc::transport::*;
    /// # use mote_edhoc::ConnId;
    /// // An OSCORE request from the Initiator: CON POST, MID 1, token 0x7b, OSCORE option (9)
    /// // with Partial IV 0x14 and 'kid' C_R = -8 (0x27), then the ciphertext.
    /// let oscore_request = b"\x41\x02\x00\x01\x7b\x93\x09\x14\x27\xff\xc1\xc2\xc3\xc4\xc5\xc6\xc7\xc8";
    /// let message_3 = [0x43, 0xaa, 0xbb, 0xcc];
    /// let mut combined = [0u8; 64];
    /// let n = combine_request(oscore_request, &message_3, &mut combined)?;
    /// // The body as a block-wise reassembly would hand it over: message_3 ‖ ciphertext.
    /// let body = &combined[11..n];
    /// let mut out = [0u8; 64];
    /// let parts = split_reassembled_combined_request(&combined[..n], body, &mut out)?;
    /// assert_eq!((parts.message_3, &out[..parts.oscore_request_len]), (&message_3[..], &oscore_request[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn split_reassembled_combined_request<'a>(
        request: &[u8],
        body: &'a [u8],
        out: &mut [u8],
    ) -> Result<CombinedRequest<'a>, Error> {
        split_reassembled_combined_request_framed(request, body, Framing::Udp, out)
    }

    /// §3.3.2 step A, then §3.3.1 steps 1–3, 6 and 7, for an EDHOC + OSCORE request that
    /// arrived in outer Block1 blocks: `request` is one block of the transfer in `framing` (its
    /// options are the request's), `body` the reassembled payload (for example from
    /// `mote_coap::block::BlockReassembler`). The rebuilt OSCORE request, in the same framing,
    /// carries `body`'s OSCORE ciphertext and no Block1, Size1 or EDHOC option.
    ///
    /// ```
    /// # use mote_edhoc::transport::*;
    /// # use mote_edhoc::ConnId;
    /// // An OSCORE request from the Initiator: CON POST, MID 1, token 0x7b, OSCORE option (9)
    /// // with Partial IV 0x14 and 'kid' C_R = -8 (0x27), then the ciphertext.
    /// let oscore_request = b"\x41\x02\x00\x01\x7b\x93\x09\x14\x27\xff\xc1\xc2\xc3\xc4\xc5\xc6\xc7\xc8";
    /// let message_3 = [0x43, 0xaa, 0xbb, 0xcc];
    /// let mut combined = [0u8; 64];
    /// let n = combine_request(oscore_request, &message_3, &mut combined)?;
    /// let mut out = [0u8; 64];
    /// let parts = split_reassembled_combined_request_framed(&combined[..n], &combined[11..n], Framing::Udp, &mut out)?;
    /// assert_eq!(parts.c_r, ConnId::from_int(-8)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn split_reassembled_combined_request_framed<'a>(
        request: &[u8],
        body: &'a [u8],
        framing: Framing,
        out: &mut [u8],
    ) -> Result<CombinedRequest<'a>, Error> {
        let m = Received::parse(request, framing)?;
        split(&m, body, true, out)
    }

    /// A request parsed once, in either framing: what the splitter reads and writes back.
    struct Received<'a> {
        /// UDP: the type and Message ID; `None` over TCP, which has neither (RFC 8323 §3.2).
        udp: Option<(MessageType, u16)>,
        code: Code,
        token: &'a [u8],
        options: Options<'a>,
        payload: &'a [u8],
    }

    impl<'a> Received<'a> {
        fn parse(request: &'a [u8], framing: Framing) -> Result<Self, Error> {
            let bad = |_| Error::Transport(diag!("request does not parse"));
            Ok(match framing {
                Framing::Udp => {
                    let m = Message::decode(request).map_err(bad)?;
                    Self {
                        udp: Some((m.mtype(), m.message_id())),
                        code: m.code(),
                        token: m.token(),
                        options: m.options(),
                        payload: m.payload(),
                    }
                }
                Framing::Tcp => {
                    // The frame is in memory already: the connection applied its limits.
                    let f = Frame::decode_exact(request, &FrameLimits::UNLIMITED).map_err(bad)?;
                    Self {
                        udp: None,
                        code: f.code(),
                        token: f.token(),
                        options: f.options(),
                        payload: f.payload(),
                    }
                }
            })
        }

        fn option(&self, number: OptionNumber) -> Option<OptionRef<'a>> {
            self.options.clone().find(|o| o.number == number)
        }
    }

    fn split<'a>(
        m: &Received<'_>,
        payload: &'a [u8],
        reassembled: bool,
        out: &mut [u8],
    ) -> Result<CombinedRequest<'a>, Error> {
        // §3.1: the option occurs at most once (its value, if any, is ignored). Repeated, it is
        // an unrecognized critical option (RFC 7252 §5.4.5).
        let edhoc = OptionNumber(EDHOC_OPTION);
        match m.options.clone().filter(|o| o.number == edhoc).count() {
            0 => return Err(Error::Transport(diag!("no EDHOC option"))),
            1 => {}
            _ => {
                return Err(Error::Transport(diag!(
                    "EDHOC option repeated (RFC 9668 §3.1)"
                )));
            }
        }
        let oscore = m
            .option(OptionNumber::OSCORE)
            .ok_or(Error::Transport(diag!(
                "EDHOC option without OSCORE option"
            )))?;
        let opt = mote_oscore::OscoreOption::decode(oscore.value)
            .map_err(|_| Error::Transport(diag!("invalid OSCORE option")))?;
        let kid = opt
            .kid
            .ok_or(Error::Transport(diag!("OSCORE option without kid")))?;
        let c_r = ConnId::from_slice(kid)?;
        // COMB_PAYLOAD = EDHOC_MSG_3 | OSCORE_PAYLOAD, message_3 being one CBOR bstr.
        let mut r = crate::cbor::reader(payload);
        if r.next_major() != Some(crate::cbor::Major::Bytes) {
            return Err(Error::Transport(diag!(
                "payload does not start with message_3"
            )));
        }
        let message_3 = r
            .item()
            .map_err(|_| Error::Transport(diag!("payload does not start with message_3")))?;
        let ciphertext = r.remaining();
        if ciphertext.is_empty() {
            return Err(Error::Transport(diag!(
                "no OSCORE ciphertext after message_3"
            )));
        }
        // Step 7: without the EDHOC option; after reassembly also without the outer
        // block-wise options, which described the fragments.
        let outer_block = |n: OptionNumber| n == OptionNumber::BLOCK1 || n == OptionNumber::SIZE1;
        let kept = m
            .options
            .clone()
            .filter(|o| o.number != edhoc && !(reassembled && outer_block(o.number)));
        let oscore_request_len = match m.udp {
            Some((mtype, message_id)) => {
                let mut w = MessageWriter::new(out, mtype, m.code, message_id, m.token)
                    .map_err(coap_err)?;
                for o in kept {
                    w.option(o.number, o.value).map_err(coap_err)?;
                }
                w.payload(ciphertext).map_err(coap_err)?
            }
            None => write_frame(out, m.code, m.token, kept, ciphertext)?,
        };
        Ok(CombinedRequest {
            c_r,
            message_3,
            oscore_request_len,
        })
    }

    /// Writes one CoAP over TCP frame (RFC 8323 §3.2) into `out`: Len/TKL, Extended Length,
    /// Code, the TKL extension of RFC 8974 §2.1, Token, then `options` and the payload in the
    /// format of RFC 7252 §3.1. The body length goes in the header, so a counting pass over the
    /// options comes first; then every byte is written once, in place. Returns the length.
    fn write_frame<'o>(
        out: &mut [u8],
        code: Code,
        token: &[u8],
        options: impl Iterator<Item = OptionRef<'o>> + Clone,
        payload: &[u8],
    ) -> Result<usize, Error> {
        let mut body = 0usize;
        let mut prev = 0u16;
        for o in options.clone() {
            let delta = usize::from(o.number.0.saturating_sub(prev));
            body = body.saturating_add(1 + ext_len(delta) + ext_len(o.value.len()) + o.value.len());
            prev = o.number.0;
        }
        if !payload.is_empty() {
            body = body.saturating_add(1 + payload.len());
        }
        let too_long = || Error::Transport(diag!("CoAP over TCP frame or token too long"));
        // Len: 0..=12, or 13/14/15 with 1/2/4 extension bytes holding Len − 13/269/65805.
        let (len_nibble, len_ext) = length_field(body, usize::MAX).ok_or_else(too_long)?;
        // TKL: 0..=12, or 13/14 with 1/2 extension bytes holding TKL − 13/269 (RFC 8974).
        let (tkl, tkl_ext) = length_field(token.len(), 269 + 0xffff).ok_or_else(too_long)?;
        let mut w = FrameWriter { out, pos: 0 };
        w.put(&[len_nibble << 4 | tkl])?;
        w.put(len_ext.as_slice())?;
        w.put(&[code.0])?;
        w.put(tkl_ext.as_slice())?;
        w.put(token)?;
        prev = 0;
        for o in options {
            let delta = usize::from(o.number.0.saturating_sub(prev));
            let (dn, de) = length_field(delta, 269 + 0xffff).ok_or_else(too_long)?;
            let (ln, le) = length_field(o.value.len(), 269 + 0xffff).ok_or_else(too_long)?;
            // RFC 7252 §3.1: delta and length nibbles, the delta extension, the length
            // extension, the value.
            w.put(&[dn << 4 | ln])?;
            w.put(de.as_slice())?;
            w.put(le.as_slice())?;
            w.put(o.value)?;
            prev = o.number.0;
        }
        if !payload.is_empty() {
            w.put(&[0xff])?;
            w.put(payload)?;
        }
        Ok(w.pos)
    }

    /// Bytes of the extension of an option delta or length (RFC 7252 §3.1).
    fn ext_len(v: usize) -> usize {
        match v {
            0..=12 => 0,
            13..=268 => 1,
            _ => 2,
        }
    }

    /// The nibble and extension bytes of a length in the shared scheme of RFC 7252 §3.1 and
    /// RFC 8323 §3.2 (12 direct; 13, 14, 15 followed by 1, 2, 4 bytes of `v` − 13, 269, 65805);
    /// `None` above `max`.
    fn length_field(v: usize, max: usize) -> Option<(u8, Extension)> {
        if v > max {
            return None;
        }
        let mut e = Extension::default();
        let nibble = match v {
            0..=12 => v as u8,
            13..=268 => {
                e.push(&[(v - 13) as u8]);
                13
            }
            269..=65804 => {
                e.push(&((v - 269) as u16).to_be_bytes());
                14
            }
            _ => {
                e.push(&(u32::try_from(v - 65805).ok()?).to_be_bytes());
                15
            }
        };
        Some((nibble, e))
    }

    /// Up to 4 extension bytes.
    #[derive(Default)]
    struct Extension {
        bytes: [u8; 4],
        len: usize,
    }

    impl Extension {
        fn push(&mut self, b: &[u8]) {
            if let Some(dst) = self.bytes.get_mut(..b.len()) {
                dst.copy_from_slice(b);
                self.len = b.len();
            }
        }

        fn as_slice(&self) -> &[u8] {
            self.bytes.get(..self.len).unwrap_or(&[])
        }
    }

    /// A cursor over the caller's buffer.
    struct FrameWriter<'b> {
        out: &'b mut [u8],
        pos: usize,
    }

    impl FrameWriter<'_> {
        fn put(&mut self, b: &[u8]) -> Result<(), Error> {
            let end = self.pos + b.len();
            let dst = self
                .out
                .get_mut(self.pos..end)
                .ok_or_else(|| coap_err(()))?;
            dst.copy_from_slice(b);
            self.pos = end;
            Ok(())
        }
    }
}
