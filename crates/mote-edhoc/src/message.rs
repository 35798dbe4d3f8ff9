//! EDHOC message formats (RFC 9528 §5) and error messages (§6): parsers that validate
//! everything they return, and encoders into fixed buffers. Nothing here decrypts.

use crate::buffer::{Bytes, MessageBuf};
use crate::cbor;
use crate::conn_id::ConnId;
use crate::error::Error;
use crate::id_cred::IdCred;
use crate::suite::Suites;

/// message_1 (§5.2.1): `(METHOD, SUITES_I, G_X, C_I, ? EAD_1)`, a borrowed view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message1<'a> {
    /// METHOD as received (checked against 0..=3 by the responder).
    pub method: i64,
    /// SUITES_I; the last value is the selected cipher suite.
    pub suites_i: Suites,
    /// G_X, the Initiator's ephemeral public key.
    pub g_x: &'a [u8],
    /// C_I.
    pub c_i: ConnId,
    /// EAD_1 as encoded (a CBOR sequence of EAD items, possibly empty).
    pub ead_1: &'a [u8],
}

impl<'a> Message1<'a> {
    /// Parses message_1.
    ///
    /// ```
    /// use mote_edhoc::{ConnId, Message1};
    /// // METHOD 3, SUITES_I 2, G_X (bstr .size 32), C_I -24.
    /// let mut bytes = vec![0x03, 0x02, 0x58, 0x20];
    /// bytes.extend([0x11; 32]);
    /// bytes.push(0x37);
    /// let message_1 = Message1::parse(&bytes)?;
    /// assert_eq!((message_1.method, message_1.g_x), (3, &[0x11; 32][..]));
    /// assert_eq!((message_1.suites_i.as_slice(), &message_1.c_i), (&[2][..], &ConnId::from_int(-24)?));
    /// assert!(Message1::parse(&bytes[..20]).is_err()); // truncated
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn parse(msg: &'a [u8]) -> Result<Self, Error> {
        if msg.len() > crate::buffer::MAX_MESSAGE_LEN {
            return Err(Error::Capacity {
                what: diag!("message_1"),
                needed: msg.len(),
            });
        }
        let mut r = cbor::reader(msg);
        if !matches!(
            r.next_major(),
            Some(cbor::Major::Unsigned | cbor::Major::Negative)
        ) {
            return Err(cbor::malformed(
                &r,
                diag!("message_1 does not start with METHOD (int)"),
            ));
        }
        let method = r.i64()?;
        let suites_i = Suites::decode(&mut r)?;
        let g_x = r.bytes()?;
        let c_i = ConnId::decode(&mut r)?;
        let ead_1 = r.remaining();
        crate::ead::check(ead_1, None)?;
        Ok(Self {
            method,
            suites_i,
            g_x,
            c_i,
            ead_1,
        })
    }

    /// Encodes message_1.
    ///
    /// ```
    /// use mote_edhoc::{ConnId, Message1, Suites};
    /// let g_x = [0x11; 32];
    /// let message_1 = Message1 { method: 3, suites_i: Suites::from_values(&[2])?, g_x: &g_x, c_i: ConnId::from_int(-24)?, ead_1: &[] };
    /// let bytes = message_1.encode()?;
    /// assert_eq!(bytes.as_slice()[..4], [0x03, 0x02, 0x58, 0x20]);
    /// assert_eq!(Message1::parse(bytes.as_slice())?, message_1);
    /// # Ok::<(), mote_edhoc::Error>(())
    /// ```
    #[inline(never)]
    pub fn encode(&self) -> Result<MessageBuf, Error> {
        encode_message_1(self.method, &self.suites_i, self.g_x, &self.c_i, self.ead_1)
    }
}

/// message_1 from its fields, borrowed (the Initiator encodes without building a
/// [`Message1`], which would copy C_I).
#[inline(never)]
pub(crate) fn encode_message_1(
    method: i64,
    suites_i: &Suites,
    g_x: &[u8],
    c_i: &ConnId,
    ead_1: &[u8],
) -> Result<MessageBuf, Error> {
    let mut out = MessageBuf::new();
    cbor::int(&mut out, method)?;
    suites_i.encode(&mut out)?;
    cbor::bytes(&mut out, g_x)?;
    c_i.encode(&mut out)?;
    out.extend(ead_1)?;
    Ok(out)
}

/// message_2 (§5.3.1): a single bstr `G_Y || CIPHERTEXT_2`, split given the key length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message2<'a> {
    /// G_Y, the Responder's ephemeral public key.
    pub g_y: &'a [u8],
    /// CIPHERTEXT_2.
    pub ciphertext_2: &'a [u8],
}

impl<'a> Message2<'a> {
    /// Parses message_2 where public keys are `key_len` bytes long.
    ///
    /// ```
    /// use mote_edhoc::Message2;
    /// // bstr(G_Y ‖ CIPHERTEXT_2) with 32-byte keys.
    /// let mut bytes = vec![0x58, 0x24];
    /// bytes.extend([0x22; 32]);
    /// bytes.extend([0xc0; 4]);
    /// let message_2 = Message2::parse(&bytes, 32)?;
    /// assert_eq!((message_2.g_y, message_2.ciphertext_2), (&[0x22; 32][..], &[0xc0; 4][..]));
    /// # Ok::<(), mote_edhoc::Error>(())
    /// ```
    #[inline(never)]
    pub fn parse(msg: &'a [u8], key_len: usize) -> Result<Self, Error> {
        if msg.len() > crate::buffer::MAX_MESSAGE_LEN {
            return Err(Error::Capacity {
                what: diag!("message_2"),
                needed: msg.len(),
            });
        }
        let inner = single_bstr(msg, "message_2")?;
        if inner.len() <= key_len {
            return Err(Error::Malformed {
                offset: 0,
                reason: diag!("message_2 shorter than G_Y plus ciphertext"),
            });
        }
        let (g_y, ciphertext_2) = inner.split_at(key_len);
        Ok(Self { g_y, ciphertext_2 })
    }
}

/// Reads a message that is exactly one bstr (message_2, message_3, message_4).
#[inline(never)]
pub(crate) fn single_bstr<'a>(msg: &'a [u8], _what: &'static str) -> Result<&'a [u8], Error> {
    let mut r = cbor::reader(msg);
    if r.next_major() != Some(cbor::Major::Bytes) {
        return Err(cbor::malformed(
            &r,
            diag!("expected a message that is one CBOR byte string"),
        ));
    }
    let b = r.bytes()?;
    if !r.is_empty() {
        // RFC 9529 §4.1.5: wrong number of CBOR sequence elements.
        return Err(cbor::malformed(
            &r,
            diag!("trailing CBOR items after the message's byte string"),
        ));
    }
    Ok(b)
}

/// The ciphertext of message_3 or message_4 (§5.4.1, §5.5.1): the message is exactly one bstr.
///
/// ```
/// use mote_edhoc::message::single_bstr_message;
/// assert_eq!(single_bstr_message(&[0x43, 1, 2, 3])?, [1, 2, 3]);
/// assert!(single_bstr_message(&[0x43, 1, 2, 3, 4]).is_err()); // trailing byte
/// # Ok::<(), mote_edhoc::Error>(())
/// ```
pub fn single_bstr_message(msg: &[u8]) -> Result<&[u8], Error> {
    single_bstr(msg, "message")
}

/// PLAINTEXT_2 (§5.3.2): `(C_R, ID_CRED_R / bstr / -24..23, Signature_or_MAC_2, ? EAD_2)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plaintext2<'a> {
    /// C_R.
    pub c_r: ConnId,
    /// ID_CRED_R (expanded from the compact form).
    pub id_cred_r: IdCred,
    /// Signature_or_MAC_2.
    pub signature_or_mac_2: &'a [u8],
    /// EAD_2 as encoded.
    pub ead_2: &'a [u8],
}

impl<'a> Plaintext2<'a> {
    /// Parses PLAINTEXT_2.
    ///
    /// ```
    /// use mote_edhoc::{ConnId, IdCred, Plaintext2};
    /// # let trace = include_str!("../tests/data/rfc9529_trace2.txt");
    /// # let v = |key: &str| -> Vec<u8> {
    /// #     let line = trace.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(" = "));
    /// #     hex::decode(line.expect("key in the trace").trim()).expect("hex")
    /// # };
    /// // v(key): the value of `key` in RFC 9529 Trace 2 (the crate's tests/data).
    /// // PLAINTEXT_2 of RFC 9529 Trace 2: C_R = -8, ID_CRED_R = kid h'32' (compact), MAC_2.
    /// let plaintext_2 = v("PLAINTEXT_2.seq");
    /// let pt = Plaintext2::parse(&plaintext_2)?;
    /// assert_eq!(pt.c_r, ConnId::from_int(-8)?);
    /// assert_eq!(pt.id_cred_r, IdCred::kid(&[0x32])?);
    /// assert_eq!(pt.signature_or_mac_2, v("MAC_2.raw"));
    /// assert!(pt.ead_2.is_empty());
    /// assert!(Plaintext2::parse(&[0x27, 0x32]).is_err()); // no Signature_or_MAC_2
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn parse(pt: &'a [u8]) -> Result<Self, Error> {
        let mut r = cbor::reader(pt);
        let c_r = ConnId::decode(&mut r)?;
        let id_cred_r = IdCred::decode_compact(&mut r)?;
        let signature_or_mac_2 = r.bytes()?;
        let ead_2 = r.remaining();
        crate::ead::check(ead_2, None)?;
        Ok(Self {
            c_r,
            id_cred_r,
            signature_or_mac_2,
            ead_2,
        })
    }
}

/// PLAINTEXT_3 (§5.4.2): `(ID_CRED_I / bstr / -24..23, Signature_or_MAC_3, ? EAD_3)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plaintext3<'a> {
    /// ID_CRED_I (expanded from the compact form).
    pub id_cred_i: IdCred,
    /// Signature_or_MAC_3.
    pub signature_or_mac_3: &'a [u8],
    /// EAD_3 as encoded.
    pub ead_3: &'a [u8],
}

impl<'a> Plaintext3<'a> {
    /// Parses PLAINTEXT_3.
    ///
    /// ```
    /// use mote_edhoc::{IdCred, Plaintext3};
    /// # let trace = include_str!("../tests/data/rfc9529_trace2.txt");
    /// # let v = |key: &str| -> Vec<u8> {
    /// #     let line = trace.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(" = "));
    /// #     hex::decode(line.expect("key in the trace").trim()).expect("hex")
    /// # };
    /// // v(key): the value of `key` in RFC 9529 Trace 2 (the crate's tests/data).
    /// // PLAINTEXT_3 of RFC 9529 Trace 2: ID_CRED_I = kid h'2b' (compact), MAC_3.
    /// let plaintext_3 = v("PLAINTEXT_3.seq");
    /// let pt = Plaintext3::parse(&plaintext_3)?;
    /// assert_eq!(pt.id_cred_i, IdCred::kid(&[0x2b])?);
    /// assert_eq!(pt.signature_or_mac_3, v("MAC_3.raw"));
    /// assert!(pt.ead_3.is_empty());
    /// assert!(Plaintext3::parse(&[0x2b]).is_err()); // no Signature_or_MAC_3
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn parse(pt: &'a [u8]) -> Result<Self, Error> {
        let mut r = cbor::reader(pt);
        let id_cred_i = IdCred::decode_compact(&mut r)?;
        let signature_or_mac_3 = r.bytes()?;
        let ead_3 = r.remaining();
        crate::ead::check(ead_3, None)?;
        Ok(Self {
            id_cred_i,
            signature_or_mac_3,
            ead_3,
        })
    }
}

/// ERR_CODE values (§6, §10.4).
pub mod err_code {
    /// Success (reserved: never sent in an error message).
    pub const SUCCESS: i64 = 0;
    /// Unspecified error; ERR_INFO is a diagnostic text string.
    pub const UNSPECIFIED: i64 = 1;
    /// Wrong selected cipher suite; ERR_INFO is SUITES_R.
    pub const WRONG_SELECTED_CIPHER_SUITE: i64 = 2;
    /// Unknown credential referenced; ERR_INFO is `true`.
    pub const UNKNOWN_CREDENTIAL: i64 = 3;
}

/// An EDHOC error message (§6): `(ERR_CODE: int, ERR_INFO: any)`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorMessage<'a> {
    /// ERR_CODE 1 with a diagnostic message (§6.2).
    Unspecified(&'a str),
    /// ERR_CODE 2 with SUITES_R (§6.3).
    WrongSelectedCipherSuite(Suites),
    /// ERR_CODE 3 with `true` (§6.4).
    UnknownCredential,
    /// Another ERR_CODE with its ERR_INFO as encoded.
    Other {
        /// ERR_CODE.
        code: i64,
        /// ERR_INFO (one CBOR item).
        info: &'a [u8],
    },
}

impl<'a> ErrorMessage<'a> {
    /// Whether `msg` is an error message rather than message_2/3/4 (those are a bstr, an error
    /// starts with the int ERR_CODE).
    ///
    /// ```
    /// use mote_edhoc::ErrorMessage;
    /// assert!(ErrorMessage::is_error(b"\x03\xf5")); // (3, true): unknown credential
    /// assert!(!ErrorMessage::is_error(b"\x58\x20")); // message_2 starts with a bstr
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_error(msg: &[u8]) -> bool {
        matches!(
            cbor::reader(msg).next_major(),
            Some(cbor::Major::Unsigned | cbor::Major::Negative)
        )
    }

    /// The ERR_CODE.
    ///
    /// ```
    /// use mote_edhoc::ErrorMessage;
    /// assert_eq!(ErrorMessage::UnknownCredential.code(), 3);
    /// assert_eq!(ErrorMessage::Unspecified("oops").code(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn code(&self) -> i64 {
        match self {
            Self::Unspecified(_) => err_code::UNSPECIFIED,
            Self::WrongSelectedCipherSuite(_) => err_code::WRONG_SELECTED_CIPHER_SUITE,
            Self::UnknownCredential => err_code::UNKNOWN_CREDENTIAL,
            Self::Other { code, .. } => *code,
        }
    }

    /// Parses an error message.
    ///
    /// ```
    /// use mote_edhoc::{ErrorMessage, Suites};
    /// assert_eq!(ErrorMessage::parse(b"\x01\x64oops")?, ErrorMessage::Unspecified("oops"));
    /// let ErrorMessage::WrongSelectedCipherSuite(suites_r) = ErrorMessage::parse(b"\x02\x82\x00\x02")? else {
    ///     panic!("ERR_CODE 2")
    /// };
    /// assert_eq!(suites_r.as_slice(), [0, 2]);
    /// assert!(ErrorMessage::parse(b"\x00\xf5").is_err()); // ERR_CODE 0 is never sent
    /// # let _ = Suites::new();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn parse(msg: &'a [u8]) -> Result<Self, Error> {
        // Bounded like message_1..4: a parsed error message always fits `MessageBuf`, so it can
        // be re-encoded (and relayed) without a capacity failure (found by the fuzz target
        // edhoc_message_error; the input is in its corpus).
        if msg.len() > crate::buffer::MAX_MESSAGE_LEN {
            return Err(Error::Capacity {
                what: diag!("error message"),
                needed: msg.len(),
            });
        }
        let mut r = cbor::reader(msg);
        let code = r.i64()?;
        let m = match code {
            err_code::UNSPECIFIED => Self::Unspecified(r.text()?),
            err_code::WRONG_SELECTED_CIPHER_SUITE => {
                Self::WrongSelectedCipherSuite(Suites::decode(&mut r)?)
            }
            err_code::UNKNOWN_CREDENTIAL => {
                if r.peek_initial_byte() != Some(cbor::TRUE) {
                    return Err(cbor::malformed(
                        &r,
                        diag!("ERR_INFO of ERR_CODE 3 must be true"),
                    ));
                }
                r.item()?;
                Self::UnknownCredential
            }
            err_code::SUCCESS => {
                return Err(cbor::malformed(
                    &r,
                    diag!("ERR_CODE 0 is not used in error messages"),
                ));
            }
            _ => Self::Other {
                code,
                info: r.item()?,
            },
        };
        if !r.is_empty() {
            return Err(cbor::malformed(
                &r,
                diag!("trailing bytes after error message"),
            ));
        }
        Ok(m)
    }

    /// Encodes the error message.
    ///
    /// ```
    /// use mote_edhoc::ErrorMessage;
    /// assert_eq!(ErrorMessage::UnknownCredential.encode()?.as_slice(), b"\x03\xf5");
    /// assert_eq!(ErrorMessage::Unspecified("oops").encode()?.as_slice(), b"\x01\x64oops");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn encode(&self) -> Result<MessageBuf, Error> {
        let mut out = MessageBuf::new();
        cbor::int(&mut out, self.code())?;
        match self {
            Self::Unspecified(text) => {
                cbor::text(&mut out, text)?;
            }
            Self::WrongSelectedCipherSuite(s) => s.encode(&mut out)?,
            Self::UnknownCredential => out.push(cbor::TRUE)?,
            Self::Other { info, .. } => out.extend(info)?,
        }
        Ok(out)
    }

    /// The error message answering a local processing error (§6): ERR_CODE 2 with SUITES_R,
    /// ERR_CODE 3, or ERR_CODE 1 with the error's description (truncated to fit).
    ///
    /// ```
    /// use mote_edhoc::{Error, ErrorMessage};
    /// assert_eq!(ErrorMessage::for_error(&Error::UnknownCredential)?.as_slice(), b"\x03\xf5");
    /// // Any other local error: ERR_CODE 1 with its description.
    /// let message = ErrorMessage::for_error(&Error::NoCommonSuite)?;
    /// assert_eq!(ErrorMessage::parse(message.as_slice())?, ErrorMessage::Unspecified("no common cipher suite"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn for_error(error: &Error) -> Result<MessageBuf, Error> {
        match error {
            Error::WrongSelectedSuite { suites_r } => {
                ErrorMessage::WrongSelectedCipherSuite(*suites_r).encode()
            }
            Error::UnknownCredential => ErrorMessage::UnknownCredential.encode(),
            other => unspecified_for(other),
        }
    }
}

/// ERR_CODE 1 with the error's description (truncated to fit) as the diagnostic (§6.2).
pub(crate) fn unspecified_for(error: &Error) -> Result<MessageBuf, Error> {
    let mut text = Bytes::<96>::new();
    let mut w = TextWriter(&mut text);
    let _ = core::fmt::write(&mut w, format_args!("{error}"));
    let s = core::str::from_utf8(text.as_slice()).unwrap_or("error");
    ErrorMessage::Unspecified(s).encode()
}

/// Writes formatted text into a fixed buffer, dropping what does not fit at a char boundary.
struct TextWriter<'b, const N: usize>(&'b mut Bytes<N>);

impl<const N: usize> core::fmt::Write for TextWriter<'_, N> {
    #[inline(never)]
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for c in s.chars() {
            let mut tmp = [0u8; 4];
            if self.0.extend(c.encode_utf8(&mut tmp).as_bytes()).is_err() {
                break;
            }
        }
        Ok(())
    }
}
