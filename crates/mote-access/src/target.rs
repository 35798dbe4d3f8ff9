//! The target of an operation: an LwM2M path at one of its five levels.

use core::fmt;
use core::str::FromStr;

use crate::Error;

/// What an operation targets (LwM2M 1.2 Core TS, "Identifiers"): the root `/` (Bootstrap-Discover,
/// Read-Composite), an Object, an Object Instance, a Resource or a Resource Instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// `/`.
    Root,
    /// `/O`.
    Object(u16),
    /// `/O/I`.
    Instance(u16, u16),
    /// `/O/I/R`.
    Resource(u16, u16, u16),
    /// `/O/I/R/RI`.
    ResourceInstance(u16, u16, u16, u16),
}

/// The level of a [`Target`], used in reasons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// `/`.
    Root,
    /// `/O`.
    Object,
    /// `/O/I`.
    Instance,
    /// `/O/I/R`.
    Resource,
    /// `/O/I/R/RI`.
    ResourceInstance,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Root => "the root path",
            Self::Object => "an Object",
            Self::Instance => "an Object Instance",
            Self::Resource => "a Resource",
            Self::ResourceInstance => "a Resource Instance",
        })
    }
}

impl Target {
    /// The level of the path.
    ///
    /// ```
    /// use mote_access::{Level, Target};
    ///
    /// let t: Target = "/3/0/7/1".parse()?;
    /// assert_eq!(t, Target::ResourceInstance(3, 0, 7, 1));
    /// assert_eq!(t.level(), Level::ResourceInstance);
    /// assert_eq!("/".parse::<Target>()?.level(), Level::Root);
    /// # Ok::<(), mote_access::Error>(())
    /// ```
    pub const fn level(&self) -> Level {
        match self {
            Self::Root => Level::Root,
            Self::Object(..) => Level::Object,
            Self::Instance(..) => Level::Instance,
            Self::Resource(..) => Level::Resource,
            Self::ResourceInstance(..) => Level::ResourceInstance,
        }
    }

    /// The Object ID, `None` for the root.
    ///
    /// ```
    /// use mote_access::Target;
    ///
    /// assert_eq!(Target::Resource(3, 0, 9).object(), Some(3));
    /// assert_eq!(Target::Root.object(), None);
    /// ```
    pub const fn object(&self) -> Option<u16> {
        match *self {
            Self::Root => None,
            Self::Object(o)
            | Self::Instance(o, _)
            | Self::Resource(o, _, _)
            | Self::ResourceInstance(o, _, _, _) => Some(o),
        }
    }

    /// The (Object ID, Object Instance ID) pair, `None` above the instance level.
    ///
    /// ```
    /// use mote_access::Target;
    ///
    /// assert_eq!(Target::Resource(3, 0, 9).instance(), Some((3, 0)));
    /// assert_eq!(Target::Object(3).instance(), None);
    /// ```
    pub const fn instance(&self) -> Option<(u16, u16)> {
        match *self {
            Self::Root | Self::Object(_) => None,
            Self::Instance(o, i) | Self::Resource(o, i, _) | Self::ResourceInstance(o, i, _, _) => {
                Some((o, i))
            }
        }
    }

    /// The Resource ID, `None` above the resource level.
    ///
    /// ```
    /// use mote_access::Target;
    ///
    /// assert_eq!(Target::ResourceInstance(3, 0, 7, 1).resource(), Some(7));
    /// assert_eq!(Target::Instance(3, 0).resource(), None);
    /// ```
    pub const fn resource(&self) -> Option<u16> {
        match *self {
            Self::Resource(_, _, r) | Self::ResourceInstance(_, _, r, _) => Some(r),
            _ => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Root => f.write_str("/"),
            Self::Object(o) => write!(f, "/{o}"),
            Self::Instance(o, i) => write!(f, "/{o}/{i}"),
            Self::Resource(o, i, r) => write!(f, "/{o}/{i}/{r}"),
            Self::ResourceInstance(o, i, r, ri) => write!(f, "/{o}/{i}/{r}/{ri}"),
        }
    }
}

impl FromStr for Target {
    type Err = Error;

    /// Parses `/`, `/O`, `/O/I`, `/O/I/R` or `/O/I/R/RI` (decimal IDs 0..=65535, one trailing
    /// `/` accepted).
    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = || Error::InvalidPath;
        if s == "/" {
            return Ok(Self::Root);
        }
        let rest = s.strip_prefix('/').ok_or_else(invalid)?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let mut ids = [0u16; 4];
        let mut n = 0usize;
        for segment in rest.split('/') {
            let slot = ids.get_mut(n).ok_or_else(invalid)?;
            if segment.is_empty()
                || segment.len() > 5
                || !segment.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(invalid());
            }
            *slot = segment.parse().map_err(|_| invalid())?;
            n += 1;
        }
        let [o, i, r, ri] = ids;
        Ok(match n {
            1 => Self::Object(o),
            2 => Self::Instance(o, i),
            3 => Self::Resource(o, i, r),
            _ => Self::ResourceInstance(o, i, r, ri),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_level() {
        assert_eq!("/".parse::<Target>(), Ok(Target::Root));
        assert_eq!("/3".parse::<Target>(), Ok(Target::Object(3)));
        assert_eq!("/3/0/".parse::<Target>(), Ok(Target::Instance(3, 0)));
        assert_eq!("/3/0/7".parse::<Target>(), Ok(Target::Resource(3, 0, 7)));
        assert_eq!(
            "/3/0/7/1".parse::<Target>(),
            Ok(Target::ResourceInstance(3, 0, 7, 1))
        );
    }

    #[test]
    fn rejects_malformed_paths() {
        for bad in [
            "",
            "3/0",
            "/3//0",
            "/65536",
            "/1/2/3/4/5",
            "/a",
            "/+1",
            "//",
        ] {
            assert_eq!(bad.parse::<Target>(), Err(Error::InvalidPath), "{bad}");
        }
    }
}
