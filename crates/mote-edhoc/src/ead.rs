//! External Authorization Data (RFC 9528 §3.8).

use crate::buffer::{Bytes, MAX_EAD_LEN};
use crate::cbor;
use crate::error::Error;

/// EAD label of padding (§3.8.1); always non-critical, ignored by the receiver.
pub const PADDING_LABEL: i64 = 0;

/// One EAD item: `(ead_label: int, ? ead_value: bstr)`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct EadItem<'a> {
    /// The label; negative means critical.
    pub label: i64,
    /// The optional value.
    pub value: Option<&'a [u8]>,
}

impl EadItem<'_> {
    /// Whether the item is critical (negative label).
    ///
    /// ```
    /// use mote_edhoc::EadItem;
    /// assert!(EadItem { label: -5, value: None }.is_critical());
    /// assert!(!EadItem { label: 5, value: Some(b"hint") }.is_critical());
    /// ```
    pub fn is_critical(&self) -> bool {
        self.label < 0
    }
}

/// An EAD field: a CBOR sequence of EAD items, kept in its encoded form.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Ead(Bytes<MAX_EAD_LEN>);

impl Ead {
    /// An empty EAD field.
    ///
    /// ```
    /// use mote_edhoc::Ead;
    /// let ead = Ead::new();
    /// assert!(ead.is_empty() && ead.as_bytes().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an item.
    ///
    /// ```
    /// use mote_edhoc::{Ead, EadItem};
    /// let mut ead = Ead::new();
    /// ead.push(EadItem { label: 5, value: Some(b"hi") })?;
    /// ead.push(EadItem { label: -1, value: None })?; // critical, no value
    /// assert_eq!(ead.as_bytes(), b"\x05\x42hi\x20"); // a CBOR sequence: 5, h'6869', -1
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn push(&mut self, item: EadItem<'_>) -> Result<(), Error> {
        cbor::int(&mut self.0, item.label)?;
        if let Some(v) = item.value {
            cbor::bytes(&mut self.0, v)?;
        }
        Ok(())
    }

    /// Appends padding of exactly `len` ≥ 1 bytes: label 0 followed by a value of zeros
    /// (§3.8.1; the value is not secret, the receiver discards it).
    ///
    /// ```
    /// use mote_edhoc::Ead;
    /// let mut ead = Ead::new();
    /// ead.push_padding(4)?; // label 0 and a bstr of zeros: 4 bytes in all
    /// assert_eq!(ead.as_bytes(), [0x00, 0x42, 0x00, 0x00]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn push_padding(&mut self, len: usize) -> Result<(), Error> {
        match len {
            0 => Ok(()),
            1 => self.0.push(0),
            _ => {
                // 1 byte label + bstr head + n bytes = len; choose n so the total fits.
                let mut n = len - 2;
                while 1 + cbor::head_len(n as u64) + n > len {
                    n -= 1;
                }
                let zeros = [0u8; MAX_EAD_LEN];
                let value = zeros.get(..n).ok_or(Error::Capacity {
                    what: diag!("EAD"),
                    needed: len,
                })?;
                self.push(EadItem {
                    label: PADDING_LABEL,
                    value: Some(value),
                })?;
                // A remainder of one byte (head-length step) is a bare label-0 item.
                if 1 + cbor::head_len(n as u64) + n < len {
                    self.0.push(0)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// The encoded field (empty when there are no items).
    ///
    /// ```
    /// use mote_edhoc::{Ead, EadItem};
    /// let mut ead = Ead::new();
    /// ead.push(EadItem { label: 1, value: None })?;
    /// assert_eq!(ead.as_bytes(), [0x01]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// Whether there are no items.
    ///
    /// ```
    /// use mote_edhoc::{Ead, EadItem};
    /// let mut ead = Ead::new();
    /// assert!(ead.is_empty());
    /// ead.push(EadItem { label: 1, value: None })?;
    /// assert!(!ead.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The items, including padding.
    ///
    /// ```
    /// use mote_edhoc::{Ead, EadItem};
    /// let ead = Ead::from_bytes(b"\x05\x42hi\x20")?;
    /// let items: Vec<EadItem<'_>> = ead.items().collect();
    /// assert_eq!(items, [EadItem { label: 5, value: Some(&b"hi"[..]) }, EadItem { label: -1, value: None }]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn items(&self) -> EadItems<'_> {
        EadItems {
            r: cbor::reader(self.0.as_slice()),
        }
    }

    /// Validates `encoded` as an EAD field and keeps it. Critical items whose label is not in
    /// `recognized` fail with [`Error::UnknownCriticalEad`] (§3.8).
    pub(crate) fn parse(encoded: &[u8], recognized: &[i64]) -> Result<Self, Error> {
        Self::parse_with(encoded, Some(recognized))
    }

    /// Parses an EAD field from its encoding, accepting every critical label (for inspection).
    ///
    /// ```
    /// use mote_edhoc::Ead;
    /// let ead = Ead::from_bytes(b"\x05\x42hi")?;
    /// assert_eq!(ead.items().count(), 1);
    /// assert!(Ead::from_bytes(b"\x05\x42h").is_err()); // truncated bstr
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_bytes(encoded: &[u8]) -> Result<Self, Error> {
        Self::parse_with(encoded, None)
    }

    /// The body of [`Ead::parse`] and [`Ead::from_bytes`] (one copy in the binary).
    #[inline(never)]
    fn parse_with(encoded: &[u8], recognized: Option<&[i64]>) -> Result<Self, Error> {
        check(encoded, recognized)?;
        // `check` enforced the capacity.
        Bytes::from_slice(encoded).map(Self)
    }
}

/// Checks that `encoded` is a sequence of EAD items that fits [`MAX_EAD_LEN`]; with `recognized`, also that every critical
/// item's label is in it (§3.8). The message parsers call it without labels: they only check
/// the form, the state machines then check the labels (and keep the field) with [`Ead::parse`].
#[inline(never)]
pub(crate) fn check(encoded: &[u8], recognized: Option<&[i64]>) -> Result<(), Error> {
    let mut r = cbor::reader(encoded);
    while !r.is_empty() {
        let item = read_item(&mut r)?;
        if let Some(recognized) = recognized {
            if item.is_critical()
                && !recognized
                    .iter()
                    .any(|l| *l == item.label || *l == -item.label)
            {
                return Err(Error::UnknownCriticalEad(item.label));
            }
        }
    }
    if encoded.len() > MAX_EAD_LEN {
        return Err(Error::Capacity {
            what: diag!("EAD"),
            needed: encoded.len(),
        });
    }
    Ok(())
}

#[inline(never)]
fn read_item<'a>(r: &mut cbor::Decoder<'a>) -> Result<EadItem<'a>, Error> {
    let label = r
        .i64()
        .map_err(|_| cbor::malformed(r, diag!("EAD label is not an int")))?;
    let value = if r.next_major() == Some(cbor::Major::Bytes) {
        Some(r.bytes()?)
    } else {
        None
    };
    Ok(EadItem { label, value })
}

/// Iterator over the items of an [`Ead`].
#[derive(Debug, Clone)]
pub struct EadItems<'a> {
    r: cbor::Decoder<'a>,
}

impl<'a> Iterator for EadItems<'a> {
    type Item = EadItem<'a>;
    #[inline(never)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.r.is_empty() {
            None
        } else {
            read_item(&mut self.r).ok()
        }
    }
}
