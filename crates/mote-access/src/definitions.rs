//! What the authorization needs from the object definitions: which Objects exist, which
//! Resources they have, the operations each Resource supports, whether it is mandatory and
//! whether it has multiple instances.
//!
//! LwM2M 1.2 Core TS, "Authorization" step 3: the client verifies "if the requested operation is
//! supported by the targeted Resource(s)"; "The operations allowed on a given Resource MUST apply
//! to all the Resource Instances of that Resource."
//!
//! [`ObjectDefinitions`] is the small trait the authorization uses; [`DefinitionTable`] is an
//! in-memory implementation, and with the `lwm2m` feature the object registry of `mote-lwm2m`
//! implements it too.

use alloc::vec::Vec;
use core::fmt;

/// The operations a Resource supports (the "Operations" field of the Object template:
/// `R`, `W`, `E` or a combination; none for Resources of the Security and OSCORE Objects).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ResourceOperations(u8);

impl ResourceOperations {
    /// No operation (e.g. Security Object Resources).
    pub const NONE: Self = Self(0);
    /// `R`.
    pub const READ: Self = Self(1);
    /// `W`.
    pub const WRITE: Self = Self(2);
    /// `E`.
    pub const EXECUTE: Self = Self(4);
    /// `RW`.
    pub const READ_WRITE: Self = Self(3);

    /// Parses the template notation: `R`, `W`, `E`, `RW`, ... and `-` or `""` for none.
    ///
    /// ```
    /// use mote_access::ResourceOperations;
    ///
    /// assert_eq!(ResourceOperations::parse("RW"), Some(ResourceOperations::READ_WRITE));
    /// assert_eq!(ResourceOperations::parse("-"), Some(ResourceOperations::NONE));
    /// assert_eq!(ResourceOperations::parse("RR"), None);
    /// assert_eq!(ResourceOperations::parse("X"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Self> {
        if s == "-" {
            return Some(Self::NONE);
        }
        let mut bits = 0u8;
        for c in s.chars() {
            let bit = match c {
                'R' => 1,
                'W' => 2,
                'E' => 4,
                _ => return None,
            };
            if bits & bit != 0 {
                return None;
            }
            bits |= bit;
        }
        Some(Self(bits))
    }

    /// Builds the set from its three flags.
    ///
    /// ```
    /// use mote_access::ResourceOperations;
    ///
    /// assert_eq!(ResourceOperations::new(true, true, false), ResourceOperations::READ_WRITE);
    /// assert_eq!(ResourceOperations::new(false, false, true), ResourceOperations::EXECUTE);
    /// ```
    pub const fn new(read: bool, write: bool, execute: bool) -> Self {
        Self(read as u8 | (write as u8) << 1 | (execute as u8) << 2)
    }

    /// Supports Read (and so Observe, Notify, Read-Composite, Send).
    ///
    /// ```
    /// use mote_access::ResourceOperations;
    ///
    /// assert!(ResourceOperations::READ_WRITE.read());
    /// assert!(!ResourceOperations::EXECUTE.read());
    /// ```
    pub const fn read(self) -> bool {
        self.0 & 1 != 0
    }

    /// Supports Write.
    ///
    /// ```
    /// use mote_access::ResourceOperations;
    ///
    /// assert!(ResourceOperations::READ_WRITE.write());
    /// assert!(!ResourceOperations::READ.write());
    /// ```
    pub const fn write(self) -> bool {
        self.0 & 2 != 0
    }

    /// Supports Execute.
    ///
    /// ```
    /// use mote_access::ResourceOperations;
    ///
    /// assert!(ResourceOperations::EXECUTE.execute());
    /// assert!(!ResourceOperations::READ_WRITE.execute());
    /// ```
    pub const fn execute(self) -> bool {
        self.0 & 4 != 0
    }

    /// Read-only (`R` and nothing else): in a Create payload such a value "MUST NOT be processed
    /// nor should it result in an error" (LwM2M 1.2 Core TS, "Create Operation").
    ///
    /// ```
    /// use mote_access::ResourceOperations;
    ///
    /// assert!(ResourceOperations::READ.read_only());
    /// assert!(!ResourceOperations::READ_WRITE.read_only());
    /// assert!(!ResourceOperations::NONE.read_only());
    /// ```
    pub const fn read_only(self) -> bool {
        self.0 == 1
    }
}

impl fmt::Display for ResourceOperations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("none");
        }
        for (bit, letter) in [(1u8, "R"), (2, "W"), (4, "E")] {
            if self.0 & bit != 0 {
                f.write_str(letter)?;
            }
        }
        Ok(())
    }
}

/// One Resource of an Object definition, as the authorization sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResourceDefinition {
    /// Resource ID.
    pub id: u16,
    /// Supported operations.
    pub operations: ResourceOperations,
    /// Multiple-Instance Resource.
    pub multiple: bool,
    /// Mandatory Resource.
    pub mandatory: bool,
}

/// The object-definition lookups the authorization needs.
///
/// Implementations should answer in O(log n) or better: the authorization calls
/// [`ObjectDefinitions::resource`] once per decision on a Resource.
pub trait ObjectDefinitions {
    /// `Some(multiple_instances)` when the client supports `object`, `None` otherwise.
    ///
    /// ```
    /// use mote_access::ObjectDefinitions;
    /// use mote_lwm2m::object::Builtin;
    ///
    /// assert_eq!(Builtin.object(3), Some(false)); // Device: single-instance
    /// assert_eq!(Builtin.object(3303), None); // not built in
    /// ```
    fn object(&self, object: u16) -> Option<bool>;

    /// The definition of `resource` in `object`, `None` when the Object does not define it.
    ///
    /// ```
    /// use mote_access::{ObjectDefinitions, ResourceOperations};
    /// use mote_lwm2m::object::Builtin;
    ///
    /// let reboot = Builtin.resource(3, 4).ok_or("no /3/x/4")?;
    /// assert_eq!(reboot.operations, ResourceOperations::EXECUTE);
    /// assert!(reboot.mandatory);
    /// # Ok::<(), &str>(())
    /// ```
    fn resource(&self, object: u16, resource: u16) -> Option<ResourceDefinition>;

    /// Calls `f` with every Resource the Object defines (used by Create for mandatory Resources).
    ///
    /// ```
    /// use mote_access::ObjectDefinitions;
    /// use mote_lwm2m::object::Builtin;
    ///
    /// let mut mandatory = Vec::new();
    /// Builtin.for_each_resource(5, &mut |r| if r.mandatory { mandatory.push(r.id) });
    /// assert!(mandatory.contains(&1)); // Firmware Update Package URI
    /// ```
    fn for_each_resource(&self, object: u16, f: &mut dyn FnMut(ResourceDefinition));
}

impl<T: ObjectDefinitions + ?Sized> ObjectDefinitions for &T {
    fn object(&self, object: u16) -> Option<bool> {
        (**self).object(object)
    }
    fn resource(&self, object: u16, resource: u16) -> Option<ResourceDefinition> {
        (**self).resource(object, resource)
    }
    fn for_each_resource(&self, object: u16, f: &mut dyn FnMut(ResourceDefinition)) {
        (**self).for_each_resource(object, f);
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ObjectEntry {
    multiple: bool,
    /// Resource IDs, sorted, parallel to `resources` (compact for the binary search).
    ids: Vec<u16>,
    /// Sorted by Resource ID.
    resources: Vec<ResourceDefinition>,
}

/// An in-memory [`ObjectDefinitions`]: Objects with their Resources, in sorted vectors searched
/// by binary search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DefinitionTable {
    /// Object IDs, sorted, parallel to `objects`.
    ids: Vec<u16>,
    objects: Vec<ObjectEntry>,
}

impl DefinitionTable {
    /// An empty table.
    ///
    /// ```
    /// use mote_access::{DefinitionTable, ObjectDefinitions};
    ///
    /// let defs = DefinitionTable::new();
    /// assert_eq!(defs.object(3), None); // knows no Object yet
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    fn entry_mut(&mut self, object: u16) -> Option<&mut ObjectEntry> {
        let at = match self.ids.binary_search(&object) {
            Ok(at) => at,
            Err(at) => {
                self.ids.insert(at, object);
                self.objects.insert(at, ObjectEntry::default());
                at
            }
        };
        self.objects.get_mut(at)
    }

    fn entry(&self, object: u16) -> Option<&ObjectEntry> {
        self.objects.get(self.ids.binary_search(&object).ok()?)
    }

    /// Declares an Object (replacing an earlier declaration's instance multiplicity, keeping
    /// its Resources).
    ///
    /// ```
    /// use mote_access::{DefinitionTable, ObjectDefinitions};
    ///
    /// let mut defs = DefinitionTable::new();
    /// defs.insert_object(3, false); // Device: single-instance
    /// defs.insert_object(5, true);
    /// assert_eq!(defs.object(3), Some(false));
    /// assert_eq!(defs.object(5), Some(true));
    /// ```
    pub fn insert_object(&mut self, object: u16, multiple_instances: bool) {
        if let Some(entry) = self.entry_mut(object) {
            entry.multiple = multiple_instances;
        }
    }

    /// Adds (or replaces) a Resource of `object`, declaring the Object as single-instance if it
    /// was not declared yet.
    ///
    /// ```
    /// use mote_access::{DefinitionTable, ObjectDefinitions, ResourceDefinition, ResourceOperations};
    ///
    /// let mut defs = DefinitionTable::new();
    /// defs.insert_object(3, false);
    /// let reboot = ResourceDefinition {
    ///     id: 4,
    ///     operations: ResourceOperations::EXECUTE,
    ///     multiple: false,
    ///     mandatory: true,
    /// };
    /// defs.insert_resource(3, reboot);
    /// assert_eq!(defs.resource(3, 4), Some(reboot));
    /// assert_eq!(defs.resource(3, 5), None);
    /// ```
    pub fn insert_resource(&mut self, object: u16, resource: ResourceDefinition) {
        let Some(entry) = self.entry_mut(object) else {
            return;
        };
        match entry.ids.binary_search(&resource.id) {
            Ok(at) => {
                if let Some(slot) = entry.resources.get_mut(at) {
                    *slot = resource;
                }
            }
            Err(at) => {
                entry.ids.insert(at, resource.id);
                entry.resources.insert(at, resource);
            }
        }
    }
}

impl ObjectDefinitions for DefinitionTable {
    fn object(&self, object: u16) -> Option<bool> {
        self.entry(object).map(|o| o.multiple)
    }

    fn resource(&self, object: u16, resource: u16) -> Option<ResourceDefinition> {
        let entry = self.entry(object)?;
        entry
            .resources
            .get(entry.ids.binary_search(&resource).ok()?)
            .copied()
    }

    fn for_each_resource(&self, object: u16, f: &mut dyn FnMut(ResourceDefinition)) {
        if let Some(entry) = self.entry(object) {
            entry.resources.iter().copied().for_each(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_notation() {
        assert_eq!(
            ResourceOperations::parse("RW"),
            Some(ResourceOperations::READ_WRITE)
        );
        assert_eq!(
            ResourceOperations::parse("-"),
            Some(ResourceOperations::NONE)
        );
        assert_eq!(ResourceOperations::parse("RR"), None);
        assert_eq!(ResourceOperations::parse("X"), None);
        assert!(ResourceOperations::parse("R").is_some_and(ResourceOperations::read_only));
        assert!(!ResourceOperations::READ_WRITE.read_only());
    }

    #[test]
    fn table_lookup() {
        let mut t = DefinitionTable::new();
        t.insert_object(3, false);
        let def = |id| ResourceDefinition {
            id,
            operations: ResourceOperations::READ,
            multiple: false,
            mandatory: false,
        };
        t.insert_resource(3, def(9));
        t.insert_resource(3, def(0));
        assert_eq!(t.object(3), Some(false));
        assert_eq!(t.object(4), None);
        assert_eq!(t.resource(3, 9), Some(def(9)));
        assert_eq!(t.resource(3, 1), None);
        let mut ids = Vec::new();
        t.for_each_resource(3, &mut |r| ids.push(r.id));
        assert_eq!(ids, [0, 9]);
    }
}
