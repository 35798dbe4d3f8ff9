//! LwM2M paths: `/`, `/O`, `/O/I`, `/O/I/R`, `/O/I/R/RI` (LwM2M TS Core §7.1, §6.1).

use core::cmp::Ordering;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::str::FromStr;

use crate::error::Error;
use crate::ids::{InstanceId, MAX_ID, ObjectId, ResourceId, ResourceInstanceId};

/// The depth of a [`Path`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathLevel {
    /// `/` — every object.
    Root,
    /// `/O`
    Object,
    /// `/O/I`
    Instance,
    /// `/O/I/R`
    Resource,
    /// `/O/I/R/RI`
    ResourceInstance,
}

/// An LwM2M path: zero to four identifiers, none of them the reserved 65535.
///
/// Ordering is lexicographic on the identifiers, a prefix before its extensions, so
/// `/1 < /1/0 < /1/0/1 < /3 < /3/0/0 < /3/0/11 < /3/0/11/0`; this is the record order of
/// every decoder in this crate.
#[derive(Clone, Copy)]
pub struct Path {
    ids: [u16; 4],
    len: u8,
}

impl Path {
    /// `/`
    pub const ROOT: Path = Path {
        ids: [0; 4],
        len: 0,
    };

    /// `/`
    ///
    /// ```
    /// use mote_lwm2m::Path;
    ///
    /// assert_eq!(Path::root(), Path::ROOT);
    /// assert_eq!(Path::root().to_string(), "/");
    /// assert!(Path::root().is_root());
    /// ```
    pub const fn root() -> Path {
        Path::ROOT
    }

    /// `/O`
    ///
    /// ```
    /// use mote_lwm2m::{ObjectId, Path};
    ///
    /// let device = ObjectId::new(3).ok_or("reserved")?;
    /// assert_eq!(Path::object(device).to_string(), "/3");
    /// # Ok::<(), &str>(())
    /// ```
    pub const fn object(o: ObjectId) -> Path {
        Path {
            ids: [o.get(), 0, 0, 0],
            len: 1,
        }
    }

    /// `/O/I`
    ///
    /// ```
    /// use mote_lwm2m::{InstanceId, ObjectId, Path};
    ///
    /// let (o, i) = (ObjectId::new(3).ok_or("reserved")?, InstanceId::new(0).ok_or("reserved")?);
    /// assert_eq!(Path::instance(o, i).to_string(), "/3/0");
    /// # Ok::<(), &str>(())
    /// ```
    pub const fn instance(o: ObjectId, i: InstanceId) -> Path {
        Path {
            ids: [o.get(), i.get(), 0, 0],
            len: 2,
        }
    }

    /// `/O/I/R`
    ///
    /// ```
    /// use mote_lwm2m::{InstanceId, ObjectId, Path, ResourceId};
    ///
    /// let o = ObjectId::new(3).ok_or("reserved")?;
    /// let i = InstanceId::new(0).ok_or("reserved")?;
    /// let r = ResourceId::new(9).ok_or("reserved")?;
    /// assert_eq!(Path::resource(o, i, r), "/3/0/9".parse()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn resource(o: ObjectId, i: InstanceId, r: ResourceId) -> Path {
        Path {
            ids: [o.get(), i.get(), r.get(), 0],
            len: 3,
        }
    }

    /// `/O/I/R/RI`
    ///
    /// ```
    /// use mote_lwm2m::{InstanceId, ObjectId, Path, ResourceId, ResourceInstanceId};
    ///
    /// let o = ObjectId::new(3).ok_or("reserved")?;
    /// let i = InstanceId::new(0).ok_or("reserved")?;
    /// let r = ResourceId::new(7).ok_or("reserved")?;
    /// let ri = ResourceInstanceId::new(1).ok_or("reserved")?;
    /// assert_eq!(Path::resource_instance(o, i, r, ri).to_string(), "/3/0/7/1");
    /// # Ok::<(), &str>(())
    /// ```
    pub const fn resource_instance(
        o: ObjectId,
        i: InstanceId,
        r: ResourceId,
        ri: ResourceInstanceId,
    ) -> Path {
        Path {
            ids: [o.get(), i.get(), r.get(), ri.get()],
            len: 4,
        }
    }

    /// A path from up to four raw identifiers; fails on more than four or on 65535.
    ///
    /// ```
    /// use mote_lwm2m::Path;
    ///
    /// assert_eq!(Path::new(&[3, 0, 9])?.to_string(), "/3/0/9");
    /// assert_eq!(Path::new(&[])?, Path::ROOT);
    /// assert!(Path::new(&[3, 65535]).is_err()); // reserved ID
    /// assert!(Path::new(&[1, 2, 3, 4, 5]).is_err()); // too deep
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn new(ids: &[u16]) -> Result<Path, Error> {
        let mut p = Path::ROOT;
        // More than four: too deep (checked before the IDs, as `child` would).
        let slots = p.ids.get_mut(..ids.len()).ok_or(Error::InvalidPath)?;
        if ids.contains(&MAX_ID) {
            return Err(Error::ReservedId);
        }
        slots.copy_from_slice(ids);
        p.len = u8::try_from(ids.len()).map_err(|_| Error::InvalidPath)?;
        Ok(p)
    }

    /// This path extended by one identifier; fails at depth 4 or on 65535.
    ///
    /// ```
    /// use mote_lwm2m::Path;
    ///
    /// let instance: Path = "/3/0".parse()?;
    /// assert_eq!(instance.child(9)?.to_string(), "/3/0/9");
    /// assert!("/3/0/7/1".parse::<Path>()?.child(0).is_err());
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn child(&self, id: u16) -> Result<Path, Error> {
        if id == MAX_ID {
            return Err(Error::ReservedId);
        }
        let mut p = *self;
        let slot = p
            .ids
            .get_mut(usize::from(self.len))
            .ok_or(Error::InvalidPath)?;
        *slot = id;
        p.len += 1;
        Ok(p)
    }

    /// The identifiers, outermost first (empty for `/`).
    ///
    /// ```
    /// use mote_lwm2m::Path;
    ///
    /// assert_eq!("/3/0/9".parse::<Path>()?.ids(), [3, 0, 9]);
    /// assert!(Path::ROOT.ids().is_empty());
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn ids(&self) -> &[u16] {
        self.ids.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Number of identifiers (0 for `/`, 4 for a Resource Instance path).
    ///
    /// ```
    /// use mote_lwm2m::Path;
    ///
    /// assert_eq!("/3/0/9".parse::<Path>()?.len(), 3);
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether this is `/` (no identifiers).
    ///
    /// ```
    /// use mote_lwm2m::Path;
    ///
    /// assert!(Path::ROOT.is_empty());
    /// assert!(!"/3".parse::<Path>()?.is_empty());
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether this is `/`.
    ///
    /// ```
    /// use mote_lwm2m::Path;
    ///
    /// assert!("/".parse::<Path>()?.is_root());
    /// assert!(!"/3".parse::<Path>()?.is_root());
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub const fn is_root(&self) -> bool {
        self.len == 0
    }

    /// The depth of this path.
    ///
    /// ```
    /// use mote_lwm2m::{Path, PathLevel};
    ///
    /// assert_eq!("/3/0".parse::<Path>()?.level(), PathLevel::Instance);
    /// assert_eq!("/3/0/7/1".parse::<Path>()?.level(), PathLevel::ResourceInstance);
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub const fn level(&self) -> PathLevel {
        match self.len {
            0 => PathLevel::Root,
            1 => PathLevel::Object,
            2 => PathLevel::Instance,
            3 => PathLevel::Resource,
            _ => PathLevel::ResourceInstance,
        }
    }

    /// The Object ID, if the path has one.
    ///
    /// ```
    /// use mote_lwm2m::Path;
    ///
    /// assert_eq!("/3/0/9".parse::<Path>()?.object_id().map(u16::from), Some(3));
    /// assert_eq!(Path::ROOT.object_id(), None);
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn object_id(&self) -> Option<ObjectId> {
        self.id_at(0).and_then(ObjectId::new)
    }

    /// The Object Instance ID, if the path has one.
    ///
    /// ```
    /// use mote_lwm2m::Path;
    ///
    /// assert_eq!("/3/1/9".parse::<Path>()?.instance_id().map(u16::from), Some(1));
    /// assert_eq!("/3".parse::<Path>()?.instance_id(), None);
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn instance_id(&self) -> Option<InstanceId> {
        self.id_at(1).and_then(InstanceId::new)
    }

    /// The Resource ID, if the path has one.
    ///
    /// ```
    /// use mote_lwm2m::Path;
    ///
    /// assert_eq!("/3/0/9".parse::<Path>()?.resource_id().map(u16::from), Some(9));
    /// assert_eq!("/3/0".parse::<Path>()?.resource_id(), None);
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn resource_id(&self) -> Option<ResourceId> {
        self.id_at(2).and_then(ResourceId::new)
    }

    /// The Resource Instance ID, if the path has one.
    ///
    /// ```
    /// use mote_lwm2m::Path;
    ///
    /// assert_eq!("/3/0/7/1".parse::<Path>()?.resource_instance_id().map(u16::from), Some(1));
    /// assert_eq!("/3/0/7".parse::<Path>()?.resource_instance_id(), None);
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn resource_instance_id(&self) -> Option<ResourceInstanceId> {
        self.id_at(3).and_then(ResourceInstanceId::new)
    }

    fn id_at(&self, i: usize) -> Option<u16> {
        self.ids().get(i).copied()
    }

    /// The enclosing path (`/` for `/O`); `None` for `/`.
    ///
    /// ```
    /// use mote_lwm2m::Path;
    ///
    /// assert_eq!("/3/0/9".parse::<Path>()?.parent(), Some("/3/0".parse()?));
    /// assert_eq!("/3".parse::<Path>()?.parent(), Some(Path::ROOT));
    /// assert_eq!(Path::ROOT.parent(), None);
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn parent(&self) -> Option<Path> {
        if self.len == 0 {
            return None;
        }
        let mut p = *self;
        p.len -= 1;
        if let Some(slot) = p.ids.get_mut(usize::from(p.len)) {
            *slot = 0;
        }
        Some(p)
    }

    /// The first `n` identifiers of this path (itself when `n >= len`).
    ///
    /// ```
    /// use mote_lwm2m::Path;
    ///
    /// let p: Path = "/3/0/7/1".parse()?;
    /// assert_eq!(p.truncate(2).to_string(), "/3/0");
    /// assert_eq!(p.truncate(9), p);
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn truncate(&self, n: usize) -> Path {
        let mut p = Path::ROOT;
        for &id in self.ids().iter().take(n) {
            // IDs in a valid path are never 65535 and there are at most four.
            if let Ok(c) = p.child(id) {
                p = c;
            }
        }
        p
    }

    /// Whether `prefix` is this path or one of its ancestors (`/3/0/1` starts with `/`,
    /// `/3`, `/3/0` and `/3/0/1`).
    ///
    /// ```
    /// use mote_lwm2m::Path;
    ///
    /// let p: Path = "/3/0/1".parse()?;
    /// assert!(p.starts_with(&"/3/0".parse()?));
    /// assert!(p.starts_with(&Path::ROOT));
    /// assert!(!p.starts_with(&"/3/1".parse()?));
    /// assert!(!"/3/10".parse::<Path>()?.starts_with(&"/3/1".parse()?)); // IDs, not text
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn starts_with(&self, prefix: &Path) -> bool {
        self.ids().starts_with(prefix.ids())
    }
}

impl PartialEq for Path {
    fn eq(&self, other: &Path) -> bool {
        self.ids() == other.ids()
    }
}

impl Eq for Path {}

impl Hash for Path {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.ids().hash(state);
    }
}

impl PartialOrd for Path {
    fn partial_cmp(&self, other: &Path) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Path {
    fn cmp(&self, other: &Path) -> Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

impl Path {
    /// The path as one integer whose order is the path order: each ID plus one in 16 bits
    /// (IDs are below 65535), unused levels zero, so a prefix sorts before its extensions.
    pub(crate) fn sort_key(&self) -> u64 {
        let mut k = 0u64;
        for (i, id) in self.ids.iter().enumerate() {
            let part = if i < usize::from(self.len) {
                u64::from(*id) + 1
            } else {
                0
            };
            k = (k << 16) | part;
        }
        k
    }
}

impl Default for Path {
    fn default() -> Path {
        Path::ROOT
    }
}

impl Path {
    /// The text of [`Display`](fmt::Display) in a fixed buffer (`/65534/65534/65534/65534`
    /// is the longest), without the formatting machinery.
    pub(crate) fn ascii(&self) -> crate::ascii::Ascii<24> {
        let mut a = crate::ascii::Ascii::new();
        if self.len == 0 {
            a.push(b'/');
        }
        for &id in self.ids() {
            a.push(b'/');
            a.push_u64(u64::from(id));
        }
        a
    }
}

impl fmt::Display for Path {
    /// `/` for the root, otherwise `/O/I/R/RI` without a trailing slash.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ascii().as_str())
    }
}

impl fmt::Debug for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Path({self})")
    }
}

impl FromStr for Path {
    type Err = Error;

    /// Parses `/`, `/3`, `/3/0`, `/3/0/1`, `/3/0/6/1`. A leading `/` is required (an
    /// empty string is also the root); IDs are 1–5 decimal digits below 65535; no empty
    /// segments and no trailing `/`.
    fn from_str(s: &str) -> Result<Path, Error> {
        if s.is_empty() || s == "/" {
            return Ok(Path::ROOT);
        }
        let rest = s.strip_prefix('/').ok_or(Error::InvalidPath)?;
        Path::ROOT
            .join_relative(rest.as_bytes())
            .ok_or(Error::InvalidPath)
    }
}

impl Path {
    /// This path extended by the `/`-separated decimal IDs of `rel` (`b"6/0"`): one pass
    /// over the bytes, the rules of [`FromStr`] (1–5 digits per segment, no empty segment,
    /// no 65535, at most four IDs in all). `None` when `rel` does not follow them.
    pub(crate) fn join_relative(self, rel: &[u8]) -> Option<Path> {
        let mut p = self;
        let mut id: u32 = 0;
        let mut digits = 0u8;
        // Each segment ends at a `/` or at the end; the sentinel `/` closes the last one.
        for &b in rel.iter().chain(core::iter::once(&b'/')) {
            if b.is_ascii_digit() && digits < 5 {
                id = id * 10 + u32::from(b - b'0');
                digits += 1;
            } else if b == b'/' && digits > 0 && id < u32::from(MAX_ID) {
                *p.ids.get_mut(usize::from(p.len))? = id as u16;
                p.len += 1;
                id = 0;
                digits = 0;
            } else {
                return None;
            }
        }
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_takes_up_to_four_ids_and_refuses_the_reserved_one() {
        assert_eq!(Path::new(&[]), Ok(Path::ROOT));
        for ids in [&[3][..], &[3, 0], &[3, 0, 9], &[65534, 0, 7, 1]] {
            let p = Path::new(ids);
            assert_eq!(p.as_ref().map(Path::ids), Ok(ids), "{ids:?}");
            assert_eq!(p.map(|p| p.len()), Ok(ids.len()));
        }
        assert_eq!(Path::new(&[3, 65535]), Err(Error::ReservedId));
        assert_eq!(Path::new(&[65535]), Err(Error::ReservedId));
        assert_eq!(Path::new(&[1, 2, 3, 4, 5]), Err(Error::InvalidPath));
        // Too deep is said first, as extending a path one ID at a time would.
        assert_eq!(Path::new(&[65535, 2, 3, 4, 5]), Err(Error::InvalidPath));
    }
}
