//! Object, Object Instance, Resource and Resource Instance identifiers and Object Link values.
//!
//! LwM2M TS Core 1.2 §7.1 (Object model) and Appendix C (Data Types): every identifier is a
//! 16-bit unsigned integer; the value 65535 (`MAX_ID`) is reserved and never names an
//! Object, Object Instance, Resource or Resource Instance. It does appear inside values:
//! an Object Link `65535:65535` is the null link, and the Access Control Object uses it as
//! "Object level" and "owned by the Bootstrap-Server".

use core::fmt;
use core::str::FromStr;

use crate::error::Error;

/// The reserved identifier value `MAX_ID` (LwM2M TS Core §7.1): never a valid ID of a node.
pub const MAX_ID: u16 = 65535;

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident, $what:literal) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u16);

        impl $name {
            #[doc = concat!("A ", $what, " ID; `None` for the reserved value 65535.")]
            ///
            /// ```
            #[doc = concat!("use mote_lwm2m::", stringify!($name), ";")]
            ///
            #[doc = concat!("let id = ", stringify!($name), "::new(3).ok_or(\"reserved\")?;")]
            /// assert_eq!(id.to_string(), "3");
            #[doc = concat!("assert_eq!(", stringify!($name), "::new(65535), None);")]
            #[doc = concat!("assert_eq!(\"3\".parse::<", stringify!($name), ">()?, id);")]
            /// # Ok::<(), Box<dyn std::error::Error>>(())
            /// ```
            pub const fn new(id: u16) -> Option<Self> {
                if id == MAX_ID { None } else { Some(Self(id)) }
            }

            /// The numeric identifier.
            ///
            /// ```
            #[doc = concat!("use mote_lwm2m::", stringify!($name), ";")]
            ///
            #[doc = concat!("assert_eq!(", stringify!($name), "::new(7).map(", stringify!($name), "::get), Some(7));")]
            /// ```
            pub const fn get(self) -> u16 {
                self.0
            }
        }

        impl From<$name> for u16 {
            fn from(id: $name) -> u16 {
                id.0
            }
        }

        impl TryFrom<u16> for $name {
            type Error = Error;
            fn try_from(id: u16) -> Result<Self, Error> {
                Self::new(id).ok_or(Error::ReservedId)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                parse_id(s)?.try_into()
            }
        }
    };
}

id_type!(
    /// An Object ID (LwM2M TS Core §7.1, OMNA registry), 0..=65534.
    ObjectId,
    "Object"
);
id_type!(
    /// An Object Instance ID, 0..=65534.
    InstanceId,
    "Object Instance"
);
id_type!(
    /// A Resource ID, 0..=65534.
    ResourceId,
    "Resource"
);
id_type!(
    /// A Resource Instance ID (index inside a Multiple-Instance Resource), 0..=65534.
    ResourceInstanceId,
    "Resource Instance"
);

/// Parses one decimal path segment: 1 to 5 ASCII digits, value at most 65535.
pub(crate) fn parse_id(s: &str) -> Result<u16, Error> {
    if s.is_empty() || s.len() > 5 {
        return Err(Error::InvalidPath);
    }
    let mut v: u32 = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return Err(Error::InvalidPath);
        }
        v = v * 10 + u32::from(b - b'0');
    }
    u16::try_from(v).map_err(|_| Error::InvalidPath)
}

/// An Object Link value (`Objlnk`, LwM2M TS Core Appendix C): an Object ID and an Object
/// Instance ID. `65535:65535` is the null link ("no link"), so both fields are raw `u16`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectLink {
    /// The Object ID part.
    pub object: u16,
    /// The Object Instance ID part.
    pub instance: u16,
}

impl ObjectLink {
    /// The null link `65535:65535`.
    pub const NULL: ObjectLink = ObjectLink {
        object: MAX_ID,
        instance: MAX_ID,
    };

    /// A link to `object:instance`.
    ///
    /// ```
    /// use mote_lwm2m::ObjectLink;
    ///
    /// let link = ObjectLink::new(66, 0);
    /// assert_eq!(link.to_string(), "66:0");
    /// assert_eq!("66:0".parse::<ObjectLink>()?, link);
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub const fn new(object: u16, instance: u16) -> Self {
        ObjectLink { object, instance }
    }

    /// Whether this is the null link.
    ///
    /// ```
    /// use mote_lwm2m::ObjectLink;
    ///
    /// assert!(ObjectLink::NULL.is_null());
    /// assert!("65535:65535".parse::<ObjectLink>()?.is_null());
    /// assert!(!ObjectLink::new(66, 0).is_null());
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub const fn is_null(&self) -> bool {
        self.object == MAX_ID && self.instance == MAX_ID
    }

    /// The 4-byte big-endian form used by TLV and opaque encodings (Appendix C:
    /// "two 16-bit unsigned integers one beside the other").
    ///
    /// ```
    /// use mote_lwm2m::ObjectLink;
    ///
    /// assert_eq!(ObjectLink::new(66, 1).to_bytes(), [0x00, 0x42, 0x00, 0x01]);
    /// ```
    pub const fn to_bytes(self) -> [u8; 4] {
        let o = self.object.to_be_bytes();
        let i = self.instance.to_be_bytes();
        [o[0], o[1], i[0], i[1]]
    }

    /// Reads the 4-byte form.
    ///
    /// ```
    /// use mote_lwm2m::ObjectLink;
    ///
    /// assert_eq!(ObjectLink::from_bytes(&[0x00, 0x42, 0x00, 0x01])?, ObjectLink::new(66, 1));
    /// assert!(ObjectLink::from_bytes(&[0x00, 0x42]).is_err());
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn from_bytes(b: &[u8]) -> Result<Self, Error> {
        match b {
            [a, b, c, d] => Ok(ObjectLink {
                object: u16::from_be_bytes([*a, *b]),
                instance: u16::from_be_bytes([*c, *d]),
            }),
            _ => Err(Error::InvalidValue),
        }
    }
}

impl ObjectLink {
    /// The text of [`Display`](fmt::Display) in a fixed buffer, without the formatting
    /// machinery.
    pub(crate) fn ascii(&self) -> crate::ascii::Ascii<11> {
        let mut a = crate::ascii::Ascii::new();
        a.push_u64(u64::from(self.object));
        a.push(b':');
        a.push_u64(u64::from(self.instance));
        a
    }
}

impl fmt::Display for ObjectLink {
    /// `object:instance` in decimal, e.g. `66:0` (Appendix C, text representation).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ascii().as_str())
    }
}

impl FromStr for ObjectLink {
    type Err = Error;

    /// Parses `object:instance` in decimal. The hexadecimal spelling `FFFF:FFFF` of the
    /// null link, used by an example of the TS (SenML JSON, Read /65/0), is accepted too.
    fn from_str(s: &str) -> Result<Self, Error> {
        let (o, i) = s.split_once(':').ok_or(Error::InvalidValue)?;
        if o.eq_ignore_ascii_case("ffff") && i.eq_ignore_ascii_case("ffff") {
            return Ok(ObjectLink::NULL);
        }
        let o = parse_id(o).map_err(|_| Error::InvalidValue)?;
        let i = parse_id(i).map_err(|_| Error::InvalidValue)?;
        Ok(ObjectLink {
            object: o,
            instance: i,
        })
    }
}
