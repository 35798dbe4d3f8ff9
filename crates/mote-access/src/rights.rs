//! Access rights and identifiers of the Access Control Object (/2).
//!
//! LwM2M Object 2 (Access Control, v1.1), Resource 2 "ACL": each bit set in a Resource
//! Instance value grants an access right: 1st LSB R (Read, Observe, Write-Attributes),
//! 2nd LSB W (Write), 3rd LSB E (Execute), 4th LSB D (Delete), 5th LSB C (Create); the other
//! bits are reserved (range 0..31).

use core::fmt;

/// `MAX_ID` of the LwM2M Core TS: Object Instance ID 65535 marks an Access Control Object
/// Instance for the Object level, Access Control Owner 65535 marks a /2 instance managed by the
/// Bootstrap Interface only (LwM2M 1.2 Core TS, Table "Access Control on Object").
pub const MAX_ID: u16 = 65535;

/// The Short Server ID of an LwM2M Server (Server Object /1 Resource 0, 1..=65534).
///
/// As an ACL Resource Instance ID, the value 0 ([`ShortServerId::DEFAULT`]) names the default
/// access rights (LwM2M 1.2 Core TS, "Access Control on Object Instance").
///
/// `Default` is ID 0, the default ACL entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShortServerId(pub u16);

impl ShortServerId {
    /// ACL Resource Instance ID 0: the default access rights for servers without their own entry.
    pub const DEFAULT: Self = Self(0);

    /// Whether the value may name an LwM2M Server account (1..=65534): 0 is the default ACL
    /// entry and 65535 is `MAX_ID`.
    ///
    /// ```
    /// use mote_access::{MAX_ID, ShortServerId};
    ///
    /// assert!(ShortServerId(101).is_server());
    /// assert!(!ShortServerId::DEFAULT.is_server()); // 0: the default ACL entry
    /// assert!(!ShortServerId(MAX_ID).is_server());
    /// ```
    pub const fn is_server(self) -> bool {
        self.0 != 0 && self.0 != MAX_ID
    }
}

impl fmt::Display for ShortServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The Access Control Owner (Resource 3 of a /2 instance).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Owner {
    /// The LwM2M Server with this Short Server ID manages the /2 instance.
    Server(ShortServerId),
    /// `MAX_ID` = 65535: created and modified during a Bootstrap phase only.
    Bootstrap,
}

impl Owner {
    /// Decodes the Resource 3 value: 65535 is [`Owner::Bootstrap`], anything else a server.
    ///
    /// ```
    /// use mote_access::{Owner, ShortServerId};
    ///
    /// assert_eq!(Owner::from_u16(65535), Owner::Bootstrap);
    /// assert_eq!(Owner::from_u16(101), Owner::Server(ShortServerId(101)));
    /// ```
    pub const fn from_u16(value: u16) -> Self {
        if value == MAX_ID {
            Self::Bootstrap
        } else {
            Self::Server(ShortServerId(value))
        }
    }

    /// The Resource 3 value.
    ///
    /// ```
    /// use mote_access::{Owner, ShortServerId};
    ///
    /// assert_eq!(Owner::Bootstrap.to_u16(), 65535);
    /// assert_eq!(Owner::Server(ShortServerId(7)).to_u16(), 7);
    /// ```
    pub const fn to_u16(self) -> u16 {
        match self {
            Self::Server(ssid) => ssid.0,
            Self::Bootstrap => MAX_ID,
        }
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Server(ssid) => write!(f, "server {ssid}"),
            Self::Bootstrap => f.write_str("the Bootstrap-Server (65535)"),
        }
    }
}

/// A set of access rights: the value of an ACL Resource Instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccessRights(u8);

impl AccessRights {
    /// No access right.
    pub const NONE: Self = Self(0);
    /// R: Read, Observe, Write-Attributes (and Discover, see [`crate::Operation::required_rights`]).
    pub const READ: Self = Self(1);
    /// W: Write.
    pub const WRITE: Self = Self(2);
    /// E: Execute.
    pub const EXECUTE: Self = Self(4);
    /// D: Delete.
    pub const DELETE: Self = Self(8);
    /// C: Create (meaningful only in an Object-level /2 instance).
    pub const CREATE: Self = Self(16);
    /// Every defined right: what the Access Control Owner without its own ACL entry, and the
    /// only server of an "Access Control-Disabled" client, get.
    pub const FULL: Self = Self(31);

    /// The rights of an ACL value, or `None` when a reserved bit (above the 5th LSB) is set.
    ///
    /// ```
    /// use mote_access::AccessRights;
    ///
    /// let rw = AccessRights::from_bits(3).ok_or("reserved bit")?;
    /// assert_eq!(rw, AccessRights::READ.union(AccessRights::WRITE));
    /// assert_eq!(rw.to_string(), "RW---");
    /// assert_eq!(AccessRights::from_bits(32), None); // a reserved bit
    /// # Ok::<(), &str>(())
    /// ```
    pub const fn from_bits(bits: u64) -> Option<Self> {
        if bits > 31 {
            None
        } else {
            Some(Self(bits as u8))
        }
    }

    /// The ACL value.
    ///
    /// ```
    /// use mote_access::AccessRights;
    ///
    /// assert_eq!(AccessRights::READ.union(AccessRights::CREATE).bits(), 17);
    /// assert_eq!(AccessRights::FULL.bits(), 31);
    /// ```
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether every right of `other` is in `self`.
    ///
    /// ```
    /// use mote_access::AccessRights;
    ///
    /// let rw = AccessRights::READ.union(AccessRights::WRITE);
    /// assert!(rw.contains(AccessRights::READ));
    /// assert!(!rw.contains(AccessRights::EXECUTE));
    /// assert!(rw.contains(AccessRights::NONE));
    /// ```
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no right is set.
    ///
    /// ```
    /// use mote_access::AccessRights;
    ///
    /// assert!(AccessRights::NONE.is_empty());
    /// assert!(!AccessRights::DELETE.is_empty());
    /// ```
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The rights in either set.
    ///
    /// ```
    /// use mote_access::AccessRights;
    ///
    /// assert_eq!(AccessRights::READ.union(AccessRights::EXECUTE).to_string(), "R-E--");
    /// ```
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// The rights in both sets.
    ///
    /// ```
    /// use mote_access::AccessRights;
    ///
    /// let granted = AccessRights::READ.union(AccessRights::WRITE);
    /// assert_eq!(granted.intersection(AccessRights::WRITE.union(AccessRights::DELETE)), AccessRights::WRITE);
    /// ```
    #[must_use]
    pub const fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }
}

impl fmt::Display for AccessRights {
    /// `RWEDC` with `-` for each missing right, e.g. `R----` for read-only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, letter) in [(1u8, 'R'), (2, 'W'), (4, 'E'), (8, 'D'), (16, 'C')] {
            let c = if self.0 & bit != 0 { letter } else { '-' };
            fmt::Write::write_char(f, c)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn acl_bits_follow_object_2_resource_2() {
        assert_eq!(AccessRights::READ.bits(), 0b1);
        assert_eq!(AccessRights::WRITE.bits(), 0b10);
        assert_eq!(AccessRights::EXECUTE.bits(), 0b100);
        assert_eq!(AccessRights::DELETE.bits(), 0b1000);
        assert_eq!(AccessRights::CREATE.bits(), 0b10000);
        assert_eq!(AccessRights::from_bits(32), None);
        assert_eq!(
            AccessRights::from_bits(15)
                .map(|r| r.to_string())
                .as_deref(),
            Some("RWED-")
        );
    }

    #[test]
    fn owner_max_id_is_bootstrap() {
        assert_eq!(Owner::from_u16(65535), Owner::Bootstrap);
        assert_eq!(Owner::from_u16(101), Owner::Server(ShortServerId(101)));
        assert_eq!(Owner::Bootstrap.to_u16(), 65535);
    }
}
