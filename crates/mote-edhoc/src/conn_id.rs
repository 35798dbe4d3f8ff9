//! Connection identifiers C_I and C_R (RFC 9528 §3.3).

use crate::buffer::Sink;
use crate::buffer::{Bytes, MAX_CONN_ID_LEN};
use crate::cbor;
use crate::error::Error;

/// A connection identifier: a byte string, sent as a CBOR int when it is the one-byte encoding
/// of an int in -24..=23, else as a CBOR bstr (RFC 9528 §3.3.2).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ConnId(Bytes<MAX_CONN_ID_LEN>);

impl ConnId {
    /// The identifier with these bytes (at most [`MAX_CONN_ID_LEN`]).
    ///
    /// ```
    /// use mote_edhoc::ConnId;
    /// let c = ConnId::from_slice(&[0x01, 0x02])?;
    /// assert_eq!(c.as_bytes(), [0x01, 0x02]);
    /// assert!(ConnId::from_slice(&[0u8; 64]).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        Bytes::from_slice(bytes)
            .map(Self)
            .map_err(|_| Error::InvalidConnectionId(diag!("too long")))
    }

    /// The one-byte identifier whose byte is the CBOR encoding of `v` (-24..=23), e.g. `-24` is
    /// the byte 0x37. This is how RFC 9529 writes C_I and C_R.
    ///
    /// ```
    /// use mote_edhoc::ConnId;
    /// assert_eq!(ConnId::from_int(-24)?.as_bytes(), [0x37]);
    /// assert_eq!(ConnId::from_int(10)?.as_bytes(), [0x0a]);
    /// assert!(ConnId::from_int(24).is_err()); // not one CBOR byte
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn from_int(v: i8) -> Result<Self, Error> {
        let b = if (0..=23).contains(&v) {
            v as u8
        } else if (-24..0).contains(&v) {
            0x20 | (-1 - v) as u8
        } else {
            return Err(Error::InvalidConnectionId(diag!("not in -24..=23")));
        };
        Self::from_slice(&[b])
    }

    /// The identifier's bytes (the OSCORE Sender/Recipient ID of Appendix A.1).
    ///
    /// ```
    /// use mote_edhoc::ConnId;
    /// assert_eq!(ConnId::from_int(-8)?.as_bytes(), [0x27]); // also the OSCORE ID (Appendix A.1)
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// Encodes the identifier as one CBOR data item (§3.3.2).
    ///
    /// ```
    /// use mote_edhoc::{Bytes, ConnId};
    /// let mut out = Bytes::<8>::new();
    /// ConnId::from_int(-24)?.encode(&mut out)?;
    /// assert_eq!(out.as_slice(), [0x37]); // a one-byte int encodes as the int (§3.3.2)
    /// let mut out = Bytes::<8>::new();
    /// ConnId::from_slice(&[0x01, 0x02])?.encode(&mut out)?;
    /// assert_eq!(out.as_slice(), [0x42, 0x01, 0x02]); // otherwise as a bstr
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn encode<const N: usize>(&self, out: &mut Bytes<N>) -> Result<(), Error> {
        self.encode_to(out)
    }

    pub(crate) fn encode_to(&self, out: &mut dyn Sink) -> Result<(), Error> {
        cbor::id(out, self.as_bytes())
    }

    /// Length of [`ConnId::encode`]'s output.
    ///
    /// ```
    /// use mote_edhoc::ConnId;
    /// assert_eq!(ConnId::from_int(-24)?.encoded_len(), 1);
    /// assert_eq!(ConnId::from_slice(&[1, 2])?.encoded_len(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn encoded_len(&self) -> usize {
        mote_cose::cbor::bstr_or_int_id_len(self.as_bytes())
    }

    /// Reads one identifier; rejects a bstr that should have been an int (RFC 9529 §4.1.2).
    #[inline(never)]
    pub(crate) fn decode(r: &mut cbor::Decoder<'_>) -> Result<Self, Error> {
        // RFC 9529 §4.1.2: h'0e' for the identifier 0x0e is not the compact form (the reader
        // rejects it too; checked here first to report it as an invalid identifier).
        if let [0x41, b, ..] = r.remaining() {
            if cbor::is_one_byte_int(*b) {
                return Err(Error::InvalidConnectionId(diag!(
                    "one-byte int identifier encoded as bstr"
                )));
            }
        }
        Self::from_slice(r.bstr_or_int_id()?)
    }

    /// Parses one identifier from its CBOR encoding, requiring the whole input to be used.
    ///
    /// ```
    /// use mote_edhoc::ConnId;
    /// assert_eq!(ConnId::from_cbor(&[0x37])?, ConnId::from_int(-24)?);
    /// assert_eq!(ConnId::from_cbor(&[0x42, 0x01, 0x02])?.as_bytes(), [0x01, 0x02]);
    /// assert!(ConnId::from_cbor(&[0x37, 0x00]).is_err()); // trailing bytes
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn from_cbor(encoded: &[u8]) -> Result<Self, Error> {
        let mut r = cbor::reader(encoded);
        let id = Self::decode(&mut r)?;
        if !r.is_empty() {
            return Err(cbor::malformed(
                &r,
                diag!("trailing bytes after connection identifier"),
            ));
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9528_section_3_3_2_representation() {
        // RFC 9529: 0x37 is -24 (sent as 37), 0x27 is -8, 0x0e is 14, 0x18 is sent as 41 18.
        for (bytes, wire) in [
            (&[0x37u8][..], &[0x37u8][..]),
            (&[0x27], &[0x27]),
            (&[0x0e], &[0x0e]),
            (&[0x18], &[0x41, 0x18]),
            (&[], &[0x40]),
        ] {
            let id = ConnId::from_slice(bytes).unwrap();
            let mut b = crate::buffer::Bytes::<8>::new();
            id.encode(&mut b).unwrap();
            assert_eq!(b.as_slice(), wire);
            assert_eq!(id.encoded_len(), wire.len());
            assert_eq!(ConnId::from_cbor(wire).unwrap(), id);
        }
        assert_eq!(ConnId::from_int(-24).unwrap().as_bytes(), &[0x37]);
        assert_eq!(ConnId::from_int(-8).unwrap().as_bytes(), &[0x27]);
        assert!(ConnId::from_int(24).is_err());
        assert!(ConnId::from_cbor(&[0x41, 0x0e]).is_err()); // RFC 9529 §4.1.2
        assert!(ConnId::from_slice(&[0; MAX_CONN_ID_LEN + 1]).is_err());
    }
}
