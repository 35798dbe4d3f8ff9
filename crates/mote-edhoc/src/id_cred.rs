//! ID_CRED_x: COSE header maps identifying a credential (RFC 9528 §3.5.3).

use crate::buffer::Sink;
use crate::buffer::{Bytes, MAX_ID_CRED_LEN, MAX_KID_LEN};
use crate::cbor;
use crate::error::Error;

/// COSE header parameter 'kid' (RFC 9052 §3.1).
pub const LABEL_KID: i64 = 4;
/// COSE header parameter 'kcwt' (RFC 9528 §3.5.3.1).
pub const LABEL_KCWT: i64 = 13;
/// COSE header parameter 'kccs' (RFC 9528 §3.5.3.1).
pub const LABEL_KCCS: i64 = 14;
/// COSE header parameter 'x5chain' (RFC 9360 §2).
pub const LABEL_X5CHAIN: i64 = 33;
/// COSE header parameter 'x5t' (RFC 9360 §2).
pub const LABEL_X5T: i64 = 34;

/// ID_CRED_I or ID_CRED_R, kept as its full header-map encoding (the form used in context_2/3
/// and the Sig_structure); [`IdCred::encode_compact`] gives the PLAINTEXT form of §3.5.3.2.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct IdCred(Bytes<MAX_ID_CRED_LEN>);

/// What an ID_CRED map refers to, as far as EDHOC knows the parameter.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum IdCredRef<'a> {
    /// 'kid': a key identifier (a CCS or CWT known out of band).
    Kid(&'a [u8]),
    /// 'kccs': the CWT Claims Set by value.
    Kccs(&'a [u8]),
    /// 'kcwt': the CWT by value (its encoding).
    Kcwt(&'a [u8]),
    /// 'x5t': a certificate by hash: (COSE hash algorithm, hash value).
    X5t(i64, &'a [u8]),
    /// 'x5chain' with a single certificate (DER).
    X5chainLeaf(&'a [u8]),
    /// 'x5chain' with several certificates: the encoded array, leaf first.
    X5chain(&'a [u8]),
    /// Another header parameter or several: the encoded map.
    Other(&'a [u8]),
}

impl IdCred {
    /// `{ 4 : kid }`.
    ///
    /// ```
    /// use mote_edhoc::{IdCred, IdCredRef};
    /// let id_cred = IdCred::kid(&[0x32])?;
    /// assert_eq!(id_cred.as_map(), [0xa1, 0x04, 0x41, 0x32]); // {4: h'32'}
    /// assert_eq!(id_cred.reference(), IdCredRef::Kid(&[0x32]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn kid(kid: &[u8]) -> Result<Self, Error> {
        if kid.len() > MAX_KID_LEN {
            return Err(Error::Capacity {
                what: diag!("kid"),
                needed: kid.len(),
            });
        }
        let mut b = Bytes::new();
        cbor::head(&mut b, cbor::Major::Map, 1)?;
        cbor::int(&mut b, LABEL_KID)?;
        cbor::bytes(&mut b, kid)?;
        Ok(Self(b))
    }

    /// `{ 14 : CCS }`: a CWT Claims Set by value (`ccs` is its CBOR encoding).
    ///
    /// ```
    /// use mote_edhoc::{IdCred, IdCredRef};
    /// let ccs = [0xa1, 0x02, 0x61, b'R']; // {2: "R"} (a real CCS also has 'cnf')
    /// let id_cred = IdCred::kccs(&ccs)?;
    /// assert_eq!(id_cred.as_map(), [0xa1, 0x0e, 0xa1, 0x02, 0x61, b'R']); // {14: CCS}
    /// assert_eq!(id_cred.reference(), IdCredRef::Kccs(&ccs));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kccs(ccs: &[u8]) -> Result<Self, Error> {
        Self::single(LABEL_KCCS, ccs)
    }

    /// `{ 13 : CWT }`: a CWT by value (`cwt` is its CBOR encoding).
    ///
    /// ```
    /// use mote_edhoc::{IdCred, IdCredRef};
    /// let cwt = [0x84, 0x40, 0xa0, 0x40, 0x40]; // stands for a COSE_Mac0/Sign1 array
    /// let id_cred = IdCred::kcwt(&cwt)?;
    /// assert_eq!(id_cred.as_map()[..2], [0xa1, 0x0d]); // {13: CWT}
    /// assert_eq!(id_cred.reference(), IdCredRef::Kcwt(&cwt));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kcwt(cwt: &[u8]) -> Result<Self, Error> {
        Self::single(LABEL_KCWT, cwt)
    }

    /// `{ 34 : [alg, hash] }`: an X.509 certificate by hash (RFC 9360 COSE_CertHash).
    ///
    /// ```
    /// use mote_edhoc::{IdCred, IdCredRef};
    /// // A certificate by its SHA-256/64 hash (COSE algorithm -15).
    /// let id_cred = IdCred::x5t(-15, &[1, 2, 3, 4, 5, 6, 7, 8])?;
    /// assert_eq!(id_cred.as_map()[..5], [0xa1, 0x18, 0x22, 0x82, 0x2e]); // {34: [-15, h'…']}
    /// assert_eq!(id_cred.reference(), IdCredRef::X5t(-15, &[1, 2, 3, 4, 5, 6, 7, 8]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn x5t(alg: i64, hash: &[u8]) -> Result<Self, Error> {
        let mut b = Bytes::new();
        cbor::head(&mut b, cbor::Major::Map, 1)?;
        cbor::int(&mut b, LABEL_X5T)?;
        cbor::head(&mut b, cbor::Major::Array, 2)?;
        cbor::int(&mut b, alg)?;
        cbor::bytes(&mut b, hash)?;
        Ok(Self(b))
    }

    /// `{ 33 : cert }`: one X.509 certificate (DER) by value.
    ///
    /// ```
    /// use mote_edhoc::{IdCred, IdCredRef};
    /// let der = [0x30, 0x03, 0x02, 0x01, 0x01]; // stands for a DER certificate
    /// let id_cred = IdCred::x5chain(&der)?;
    /// assert_eq!(id_cred.as_map()[..3], [0xa1, 0x18, 0x21]); // {33: bstr}
    /// assert_eq!(id_cred.reference(), IdCredRef::X5chainLeaf(&der));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn x5chain(der: &[u8]) -> Result<Self, Error> {
        let mut b = Bytes::new();
        cbor::head(&mut b, cbor::Major::Map, 1)?;
        cbor::int(&mut b, LABEL_X5CHAIN)?;
        cbor::bytes(&mut b, der)?;
        Ok(Self(b))
    }

    /// `{ 33 : [leaf, intermediate, …] }`: a certificate chain (DER), leaf first.
    ///
    /// ```
    /// use mote_edhoc::{IdCred, IdCredRef};
    /// let (leaf, ca) = ([0x30, 0x00], [0x30, 0x01, 0x05]);
    /// let id_cred = IdCred::x5chain_multi(&[&leaf, &ca])?;
    /// // {33: [leaf, ca]}
    /// assert_eq!(id_cred.as_map(), [0xa1, 0x18, 0x21, 0x82, 0x42, 0x30, 0x00, 0x43, 0x30, 0x01, 0x05]);
    /// assert!(matches!(id_cred.reference(), IdCredRef::X5chain(_)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn x5chain_multi(chain: &[&[u8]]) -> Result<Self, Error> {
        if chain.len() < 2 {
            return match chain {
                [leaf] => Self::x5chain(leaf),
                _ => Err(Error::InvalidCredential(diag!("empty certificate chain"))),
            };
        }
        let mut b = Bytes::new();
        cbor::head(&mut b, cbor::Major::Map, 1)?;
        cbor::int(&mut b, LABEL_X5CHAIN)?;
        cbor::head(&mut b, cbor::Major::Array, chain.len() as u64)?;
        chain.iter().try_for_each(|c| cbor::bytes(&mut b, c))?;
        Ok(Self(b))
    }

    #[inline(never)]
    fn single(label: i64, item: &[u8]) -> Result<Self, Error> {
        let mut r = cbor::reader(item);
        r.item()?;
        if !r.is_empty() {
            return Err(cbor::malformed(
                &r,
                diag!("credential is not one CBOR item"),
            ));
        }
        let mut b = Bytes::new();
        cbor::head(&mut b, cbor::Major::Map, 1)?;
        cbor::int(&mut b, label)?;
        b.extend(item)?;
        Ok(Self(b))
    }

    /// A header map given in its CBOR encoding (any COSE header parameters).
    ///
    /// ```
    /// use mote_edhoc::{IdCred, IdCredRef};
    /// let id_cred = IdCred::from_map(&[0xa1, 0x04, 0x41, 0x32])?;
    /// assert_eq!(id_cred, IdCred::kid(&[0x32])?);
    /// assert!(IdCred::from_map(&[0x04]).is_err()); // not a map
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn from_map(encoded: &[u8]) -> Result<Self, Error> {
        let mut r = cbor::reader(encoded);
        let n = r.map()?;
        if n == 0 {
            return Err(cbor::malformed(&r, diag!("empty ID_CRED map")));
        }
        for _ in 0..n {
            r.i64()
                .map_err(|_| cbor::malformed(&r, diag!("ID_CRED label is not an int")))?;
            r.item()?;
        }
        if !r.is_empty() {
            return Err(cbor::malformed(
                &r,
                diag!("trailing bytes after ID_CRED map"),
            ));
        }
        Bytes::from_slice(encoded).map(Self)
    }

    /// The full header-map encoding.
    ///
    /// ```
    /// use mote_edhoc::IdCred;
    /// assert_eq!(IdCred::kid(b"R")?.as_map(), b"\xa1\x04\x41R");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_map(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// What the map refers to.
    ///
    /// ```
    /// use mote_edhoc::{IdCred, IdCredRef};
    /// match IdCred::kid(&[0x32])?.reference() {
    ///     IdCredRef::Kid(kid) => assert_eq!(kid, [0x32]), // look the credential up by kid
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn reference(&self) -> IdCredRef<'_> {
        let map = self.0.as_slice();
        let mut r = cbor::reader(map);
        let single = (|| -> Result<Option<IdCredRef<'_>>, Error> {
            if r.map()? != 1 {
                return Ok(None);
            }
            let label = r.i64()?;
            Ok(Some(match label {
                LABEL_KID => IdCredRef::Kid(r.bytes()?),
                LABEL_KCCS => IdCredRef::Kccs(r.item()?),
                LABEL_KCWT => IdCredRef::Kcwt(r.item()?),
                LABEL_X5T => {
                    if r.array()? != 2 {
                        return Ok(None);
                    }
                    let alg = r.i64()?;
                    IdCredRef::X5t(alg, r.bytes()?)
                }
                LABEL_X5CHAIN => match r.next_major() {
                    Some(cbor::Major::Bytes) => IdCredRef::X5chainLeaf(r.bytes()?),
                    _ => IdCredRef::X5chain(r.item()?),
                },
                _ => return Ok(None),
            }))
        })();
        match single {
            Ok(Some(x)) => x,
            _ => IdCredRef::Other(map),
        }
    }

    /// The 'kid' if the map is exactly `{ 4 : kid }`.
    ///
    /// The same as `reference()` giving [`IdCredRef::Kid`], without classifying the other
    /// parameters (the compact encoding of PLAINTEXT_2/3 only asks this).
    ///
    /// ```
    /// use mote_edhoc::IdCred;
    /// assert_eq!(IdCred::kid(&[0x32])?.kid_value(), Some(&[0x32][..]));
    /// assert_eq!(IdCred::x5t(-15, &[0; 8])?.kid_value(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn kid_value(&self) -> Option<&[u8]> {
        let mut r = cbor::reader(self.0.as_slice());
        if r.map().ok()? != 1 || r.i64().ok()? != LABEL_KID {
            return None;
        }
        r.bytes().ok()
    }

    /// Writes the PLAINTEXT_2/3 form (§3.5.3.2): for `{ 4 : kid }` the kid alone, as a one-byte
    /// CBOR int when it is one, else as a bstr; any other map as is.
    ///
    /// ```
    /// use mote_edhoc::{Bytes, IdCred};
    /// // RFC 9528 §3.5.3.2: a one-byte kid that is a CBOR int is sent as that int ...
    /// let mut out = Bytes::<16>::new();
    /// IdCred::kid(&[0x32])?.encode_compact(&mut out)?;
    /// assert_eq!(out.as_slice(), [0x32]);
    /// // ... other kids as a bstr, other ID_CREDs as the map.
    /// let mut out = Bytes::<16>::new();
    /// IdCred::kid(&[0x01, 0x02])?.encode_compact(&mut out)?;
    /// assert_eq!(out.as_slice(), [0x42, 0x01, 0x02]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn encode_compact<const N: usize>(&self, out: &mut Bytes<N>) -> Result<(), Error> {
        self.encode_compact_to(out)
    }

    #[inline(never)]
    fn encode_compact_to(&self, out: &mut dyn Sink) -> Result<(), Error> {
        match self.kid_value() {
            Some(kid) => cbor::id(out, kid),
            None => out.put(self.as_map()),
        }
    }

    /// Reads the PLAINTEXT form; rejects the non-compact forms of a lone kid (RFC 9529 §4.1.6,
    /// §4.1.7).
    #[inline(never)]
    pub(crate) fn decode_compact(r: &mut cbor::Decoder<'_>) -> Result<Self, Error> {
        match r.next_major() {
            #[cfg(feature = "id-cred-maps")]
            Some(cbor::Major::Map) => {
                let at = r.position();
                let map = r.item()?;
                let id = Self::from_map(map).map_err(|_| Error::Malformed {
                    offset: at,
                    reason: diag!("invalid ID_CRED map"),
                })?;
                if id.kid_value().is_some() {
                    return Err(Error::Malformed {
                        offset: at,
                        reason: diag!("ID_CRED { 4 : kid } not in compact form (§3.5.3.2)"),
                    });
                }
                Ok(id)
            }
            // Without `id-cred-maps` a device knows its peers by 'kid' only: a credential
            // referenced any other way (x5t, x5chain, kccs, kcwt, ...) is one it cannot look up.
            #[cfg(not(feature = "id-cred-maps"))]
            Some(cbor::Major::Map) => Err(Error::UnknownCredential),
            // The kid alone, as a one-byte int or a bstr; a bstr holding a one-byte int is not
            // the compact form (§3.5.3.2, RFC 9529 §4.1.6, §4.1.7).
            _ => Self::kid(r.bstr_or_int_id()?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_forms_and_maps_follow_the_id_cred_maps_feature() {
        // RFC 9528 §3.5.3.2: a one-byte-int kid as the int, a longer kid as bstr.
        for (wire, kid) in [(&[0x2b][..], &[0x2b][..]), (&[0x42, 0x01, 0x02], &[1, 2])] {
            let mut r = cbor::reader(wire);
            let id = IdCred::decode_compact(&mut r).unwrap();
            assert_eq!(id.kid_value(), Some(kid));
            assert_eq!(id, IdCred::kid(kid).unwrap());
        }
        // { 34 : [-15, h'0102030405060708'] } (x5t): a map in PLAINTEXT_2/3.
        let x5t = [0xa1, 0x18, 0x22, 0x82, 0x2e, 0x48, 1, 2, 3, 4, 5, 6, 7, 8];
        let got = IdCred::decode_compact(&mut cbor::reader(&x5t));
        if cfg!(feature = "id-cred-maps") {
            let id = got.unwrap();
            assert_eq!(id.as_map(), &x5t);
            assert_eq!(id.kid_value(), None);
        } else {
            // A device that knows its peers by 'kid' cannot look such a credential up.
            assert_eq!(got, Err(Error::UnknownCredential));
        }
    }
}
