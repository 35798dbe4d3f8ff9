//! The client's access-control state: server accounts, Object Instances, Access Control Object
//! (/2) instances, and their lifecycle.
//!
//! Everything is kept in sorted vectors so that a decision costs a few binary searches: Object
//! Instances and the /2 instance controlling each are stored together under the key
//! `object << 16 | instance`, so one search finds both.

use alloc::vec::Vec;

use crate::Error;
use crate::rights::{AccessRights, MAX_ID, Owner, ShortServerId};

/// How many ACL Resource Instances a /2 instance keeps inline, without a heap allocation: a
/// decision then reads them from the same cache lines as the rest of the instance.
const INLINE_ACL: usize = 4;

type AclEntry = (ShortServerId, AccessRights);

/// The ACL Resource Instances of a /2 instance, sorted by ID: inline while they fit, on the
/// heap beyond.
#[derive(Clone, Default)]
struct AclList {
    inline: [AclEntry; INLINE_ACL],
    /// Entries used in `inline` (0 once the list lives in `heap`).
    len: u8,
    /// All entries once there are more than `INLINE_ACL` of them.
    heap: Vec<AclEntry>,
}

impl AclList {
    fn as_slice(&self) -> &[AclEntry] {
        if self.heap.is_empty() {
            self.inline.get(..usize::from(self.len)).unwrap_or(&[])
        } else {
            &self.heap
        }
    }

    fn as_mut_slice(&mut self) -> &mut [AclEntry] {
        if self.heap.is_empty() {
            self.inline
                .get_mut(..usize::from(self.len))
                .unwrap_or(&mut [])
        } else {
            &mut self.heap
        }
    }

    fn insert(&mut self, at: usize, entry: AclEntry) {
        let len = usize::from(self.len);
        if self.heap.is_empty() && len < INLINE_ACL {
            if let Some(tail) = self.inline.get_mut(at..=len) {
                tail.rotate_right(1);
                if let Some(slot) = tail.first_mut() {
                    *slot = entry;
                }
                self.len += 1;
            }
            return;
        }
        if self.heap.is_empty() {
            self.heap
                .extend_from_slice(self.inline.get(..len).unwrap_or(&[]));
            self.len = 0;
        }
        self.heap.insert(at, entry);
    }

    fn remove(&mut self, at: usize) -> Option<AclEntry> {
        if !self.heap.is_empty() {
            return (at < self.heap.len()).then(|| self.heap.remove(at));
        }
        let len = usize::from(self.len);
        let tail = self.inline.get_mut(at..len)?;
        let removed = *tail.first()?;
        tail.rotate_left(1);
        self.len -= 1;
        Some(removed)
    }
}

impl PartialEq for AclList {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for AclList {}

impl core::fmt::Debug for AclList {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// One instance of the Access Control Object (/2): the Object (Instance) it controls, its ACL
/// Resource Instances and its Access Control Owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessControlInstance {
    object: u16,
    instance: u16,
    owner: Owner,
    /// ACL Resource Instances sorted by Resource Instance ID (= Short Server ID, 0 = default).
    acl: AclList,
}

impl AccessControlInstance {
    /// A /2 instance for `/object/instance` (Resources 0 and 1; `instance` 65535 for the Object
    /// level) with `owner` (Resource 3) and no ACL Resource Instance.
    ///
    /// ```
    /// use mote_access::{AccessControlInstance, AccessRights, Owner, ShortServerId};
    ///
    /// let acl = AccessControlInstance::new(3, 0, Owner::Server(ShortServerId(101)));
    /// assert_eq!((acl.object(), acl.instance()), (3, 0));
    /// assert_eq!(acl.acl_entries().count(), 0);
    /// // The owner without its own entry has full rights; anyone else none.
    /// assert_eq!(acl.rights_of(ShortServerId(101)), AccessRights::FULL);
    /// assert_eq!(acl.rights_of(ShortServerId(102)), AccessRights::NONE);
    /// ```
    pub fn new(object: u16, instance: u16, owner: Owner) -> Self {
        Self {
            object,
            instance,
            owner,
            acl: AclList::default(),
        }
    }

    /// Builder form of [`AccessControlInstance::set_acl`].
    ///
    /// ```
    /// use mote_access::{AccessControlInstance, AccessRights, Owner, ShortServerId};
    ///
    /// let acl = AccessControlInstance::new(3, 0, Owner::Bootstrap)
    ///     .with_acl(ShortServerId(102), AccessRights::READ)
    ///     .with_acl(ShortServerId::DEFAULT, AccessRights::NONE);
    /// assert_eq!(acl.acl(ShortServerId(102)), Some(AccessRights::READ));
    /// assert_eq!(acl.acl_entries().count(), 2);
    /// ```
    #[must_use]
    pub fn with_acl(mut self, server: ShortServerId, rights: AccessRights) -> Self {
        self.set_acl(server, rights);
        self
    }

    /// Resource 0: the Object ID.
    ///
    /// ```
    /// use mote_access::{AccessControlInstance, Owner};
    ///
    /// assert_eq!(AccessControlInstance::new(5, 65535, Owner::Bootstrap).object(), 5);
    /// ```
    pub fn object(&self) -> u16 {
        self.object
    }

    /// Resource 1: the Object Instance ID, 65535 (`MAX_ID`) for Object-level access control.
    ///
    /// ```
    /// use mote_access::{AccessControlInstance, Owner};
    ///
    /// assert_eq!(AccessControlInstance::new(5, 65535, Owner::Bootstrap).instance(), 65535);
    /// ```
    pub fn instance(&self) -> u16 {
        self.instance
    }

    /// Whether this instance grants Create rights on an Object (Resource 1 = `MAX_ID`).
    ///
    /// ```
    /// use mote_access::{AccessControlInstance, MAX_ID, Owner};
    ///
    /// assert!(AccessControlInstance::new(5, MAX_ID, Owner::Bootstrap).is_object_level());
    /// assert!(!AccessControlInstance::new(5, 0, Owner::Bootstrap).is_object_level());
    /// ```
    pub fn is_object_level(&self) -> bool {
        self.instance == MAX_ID
    }

    /// Resource 3: the Access Control Owner.
    ///
    /// ```
    /// use mote_access::{AccessControlInstance, Owner, ShortServerId};
    ///
    /// let acl = AccessControlInstance::new(3, 0, Owner::Server(ShortServerId(101)));
    /// assert_eq!(acl.owner(), Owner::Server(ShortServerId(101)));
    /// ```
    pub fn owner(&self) -> Owner {
        self.owner
    }

    /// Sets Resource 3.
    ///
    /// ```
    /// use mote_access::{AccessControlInstance, AccessRights, Owner, ShortServerId};
    ///
    /// let mut acl = AccessControlInstance::new(3, 0, Owner::Server(ShortServerId(101)));
    /// acl.set_owner(Owner::Server(ShortServerId(102)));
    /// assert_eq!(acl.rights_of(ShortServerId(102)), AccessRights::FULL);
    /// assert_eq!(acl.rights_of(ShortServerId(101)), AccessRights::NONE);
    /// ```
    pub fn set_owner(&mut self, owner: Owner) {
        self.owner = owner;
    }

    /// The ACL Resource Instance for `server` (`ShortServerId::DEFAULT` for the default entry).
    ///
    /// ```
    /// use mote_access::{AccessControlInstance, AccessRights, Owner, ShortServerId};
    ///
    /// let acl = AccessControlInstance::new(3, 0, Owner::Bootstrap)
    ///     .with_acl(ShortServerId::DEFAULT, AccessRights::READ);
    /// assert_eq!(acl.acl(ShortServerId::DEFAULT), Some(AccessRights::READ));
    /// assert_eq!(acl.acl(ShortServerId(101)), None); // no own entry (its rights: the default)
    /// ```
    pub fn acl(&self, server: ShortServerId) -> Option<AccessRights> {
        let entries = self.acl.as_slice();
        let at = entries.binary_search_by_key(&server, |e| e.0).ok()?;
        entries.get(at).map(|e| e.1)
    }

    /// Creates or replaces the ACL Resource Instance for `server`.
    ///
    /// ```
    /// use mote_access::{AccessControlInstance, AccessRights, Owner, ShortServerId};
    ///
    /// let mut acl = AccessControlInstance::new(3, 0, Owner::Bootstrap);
    /// acl.set_acl(ShortServerId(102), AccessRights::READ);
    /// acl.set_acl(ShortServerId(102), AccessRights::WRITE); // replaces
    /// assert_eq!(acl.acl(ShortServerId(102)), Some(AccessRights::WRITE));
    /// ```
    pub fn set_acl(&mut self, server: ShortServerId, rights: AccessRights) {
        match self.acl.as_slice().binary_search_by_key(&server, |e| e.0) {
            Ok(at) => {
                if let Some(e) = self.acl.as_mut_slice().get_mut(at) {
                    e.1 = rights;
                }
            }
            Err(at) => self.acl.insert(at, (server, rights)),
        }
    }

    /// Removes the ACL Resource Instance for `server`, returning its value.
    ///
    /// ```
    /// use mote_access::{AccessControlInstance, AccessRights, Owner, ShortServerId};
    ///
    /// let mut acl = AccessControlInstance::new(3, 0, Owner::Bootstrap)
    ///     .with_acl(ShortServerId(102), AccessRights::READ);
    /// assert_eq!(acl.remove_acl(ShortServerId(102)), Some(AccessRights::READ));
    /// assert_eq!(acl.remove_acl(ShortServerId(102)), None);
    /// ```
    pub fn remove_acl(&mut self, server: ShortServerId) -> Option<AccessRights> {
        let at = self
            .acl
            .as_slice()
            .binary_search_by_key(&server, |e| e.0)
            .ok()?;
        self.acl.remove(at).map(|e| e.1)
    }

    /// The ACL Resource Instances in Resource Instance ID order.
    ///
    /// ```
    /// use mote_access::{AccessControlInstance, AccessRights, Owner, ShortServerId};
    ///
    /// let acl = AccessControlInstance::new(3, 0, Owner::Bootstrap)
    ///     .with_acl(ShortServerId(102), AccessRights::READ)
    ///     .with_acl(ShortServerId::DEFAULT, AccessRights::NONE);
    /// let ids: Vec<u16> = acl.acl_entries().map(|(ssid, _)| ssid.0).collect();
    /// assert_eq!(ids, [0, 102]); // Resource Instance ID order
    /// ```
    pub fn acl_entries(&self) -> impl Iterator<Item = (ShortServerId, AccessRights)> + '_ {
        self.acl.as_slice().iter().copied()
    }

    /// LwM2M 1.2 Core TS, "Obtaining Access Right", "Access Control-Enabled" context, for
    /// operations other than Create, steps 1 to 4:
    /// 1. the Access Control Owner without its own ACL Resource Instance gets full rights;
    /// 2. a server with its own ACL Resource Instance gets that value;
    /// 3. any other server gets the default entry (ID 0) if it exists;
    /// 4. otherwise no rights.
    ///
    /// ```
    /// use mote_access::{AccessControlInstance, AccessRights, Owner, ShortServerId};
    ///
    /// let (owner, own_entry, other) = (ShortServerId(101), ShortServerId(102), ShortServerId(103));
    /// let acl = AccessControlInstance::new(3, 0, Owner::Server(owner))
    ///     .with_acl(own_entry, AccessRights::WRITE)
    ///     .with_acl(ShortServerId::DEFAULT, AccessRights::READ);
    /// assert_eq!(acl.rights_of(owner), AccessRights::FULL); // step 1
    /// assert_eq!(acl.rights_of(own_entry), AccessRights::WRITE); // step 2
    /// assert_eq!(acl.rights_of(other), AccessRights::READ); // step 3: the default entry
    /// ```
    pub fn rights_of(&self, server: ShortServerId) -> AccessRights {
        match self.acl(server) {
            Some(own) => own,
            None if self.owner == Owner::Server(server) => AccessRights::FULL,
            // The entries are sorted by ID: the default entry (ID 0), if any, is the first.
            None => match self.acl.as_slice().first() {
                Some(&(ShortServerId::DEFAULT, rights)) => rights,
                _ => AccessRights::NONE,
            },
        }
    }
}

/// An LwM2M Server account of the client (a /1 instance paired with a /0 instance).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerAccount {
    /// Short Server ID.
    pub ssid: ShortServerId,
    /// Server Object Resource 23 "Mute Send": when true the client must not use Send towards
    /// this server.
    pub mute_send: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Slot {
    key: u32,
    exists: bool,
    acl: Option<(u16, AccessControlInstance)>,
}

/// What [`AccessControl::remove_server`] changed besides removing the account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerRemoval {
    /// Object Instances only the removed server could access: they were deleted together with
    /// their /2 instance; the caller deletes their data.
    pub deleted_instances: Vec<(u16, u16)>,
    /// /2 instances whose Access Control Owner changed: (/2 instance ID, new owner).
    pub new_owners: Vec<(u16, ShortServerId)>,
}

/// For every server, how many existing instances of each Object it may read (R), and how many
/// in all: Read-Composite, Observe-Composite and Send on an Object or on `/` are decided from it
/// (§7.3.2.1 item 5: "If at least one of the Object Instances involved in the requested operation
/// has a Read access right granted to the LwM2M Server, the Read access right is globally
/// granted") without scanning the instances. Kept in step by every change of the state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ReadableIndex {
    /// (`object << 16 | ssid`, count), sorted by key, no zero counts.
    per_object: Vec<(u32, u32)>,
    /// (ssid, count), sorted by ssid, no zero counts (the ssid widened: both tables share
    /// one `bump`).
    per_server: Vec<(u32, u32)>,
}

fn bump(counts: &mut Vec<(u32, u32)>, k: u32, up: bool) {
    match counts.binary_search_by_key(&k, |e| e.0) {
        Ok(at) => {
            if let Some(e) = counts.get_mut(at) {
                e.1 = if up { e.1 + 1 } else { e.1.saturating_sub(1) };
                if e.1 == 0 {
                    counts.remove(at);
                }
            }
        }
        Err(at) => {
            if up {
                counts.insert(at, (k, 1));
            }
        }
    }
}

impl ReadableIndex {
    fn change(&mut self, object: u16, ssid: u16, up: bool) {
        bump(&mut self.per_object, key(object, ssid), up);
        bump(&mut self.per_server, u32::from(ssid), up);
    }

    fn any(&self, ssid: u16, object: Option<u16>) -> bool {
        match object {
            Some(o) => self
                .per_object
                .binary_search_by_key(&key(o, ssid), |e| e.0)
                .is_ok(),
            None => self
                .per_server
                .binary_search_by_key(&u32::from(ssid), |e| e.0)
                .is_ok(),
        }
    }
}

/// The access-control state of an LwM2M Client.
///
/// Build it at bootstrap time (server accounts, Object Instances, /2 instances), keep it in step
/// with the data model through the lifecycle calls ([`AccessControl::instance_created`],
/// [`AccessControl::instance_deleted`], [`AccessControl::remove_server`]), and ask it for a
/// decision per request ([`AccessControl::authorize`] and friends).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessControl {
    /// Sorted by Short Server ID.
    servers: Vec<ServerAccount>,
    /// The keys `object << 16 | instance` of `slots`, sorted: the binary search of every
    /// decision runs over this compact array (4 bytes per entry) rather than over the slots.
    keys: Vec<u32>,
    /// Sorted by key, parallel to `keys`.
    slots: Vec<Slot>,
    /// /2 instance ID → slot key, sorted by /2 instance ID.
    acl_ids: Vec<(u16, u32)>,
    /// Who may read how many instances of what (derived from the rest).
    readable: ReadableIndex,
}

const fn key(object: u16, instance: u16) -> u32 {
    (object as u32) << 16 | instance as u32
}

const fn split(key: u32) -> (u16, u16) {
    ((key >> 16) as u16, key as u16)
}

impl AccessControl {
    /// An empty state: no server, no Object Instance, no /2 instance.
    ///
    /// ```
    /// use mote_access::AccessControl;
    ///
    /// let ac = AccessControl::new();
    /// assert_eq!(ac.servers().count(), 0);
    /// assert_eq!(ac.all_instances().count(), 0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    // ---- the readable index ----------------------------------------------------------------

    /// What slot `k` adds to the readable index: (Object, server) for every server that may
    /// read the Object Instance, and (2, owner) for its /2 instance.
    fn readers(&self, k: u32) -> Vec<(u16, u16)> {
        let mut out = Vec::new();
        let (object, instance) = split(k);
        let Some(slot) = self.slot_index(k).ok().and_then(|at| self.slots.get(at)) else {
            return out;
        };
        if slot.exists {
            for s in &self.servers {
                if self
                    .rights(s.ssid, object, instance)
                    .contains(AccessRights::READ)
                {
                    out.push((object, s.ssid.0));
                }
            }
        }
        if let Some((id, _)) = &slot.acl {
            for s in &self.servers {
                if self.rights(s.ssid, 2, *id).contains(AccessRights::READ) {
                    out.push((2, s.ssid.0));
                }
            }
        }
        out
    }

    /// Runs a change that touches slot `k` only, keeping the readable index in step.
    fn track<T>(&mut self, k: u32, change: impl FnOnce(&mut Self) -> T) -> T {
        let before = self.readers(k);
        let out = change(self);
        let after = self.readers(k);
        for (o, s) in before {
            self.readable.change(o, s, false);
        }
        for (o, s) in after {
            self.readable.change(o, s, true);
        }
        out
    }

    /// Rebuilds the readable index (after a change of the server accounts, which changes every
    /// server's rights: the default entry, the single-account rule).
    fn reindex(&mut self) {
        self.readable = ReadableIndex::default();
        let all: Vec<(u16, u16)> = self.keys.iter().flat_map(|&k| self.readers(k)).collect();
        for (o, s) in all {
            self.readable.change(o, s, true);
        }
    }

    /// Whether `server` may read at least one existing instance of `object` (`None`: of any
    /// Object), by the readable index.
    pub(crate) fn any_readable(&self, server: ShortServerId, object: Option<u16>) -> bool {
        self.server(server).is_some() && self.readable.any(server.0, object)
    }

    // ---- server accounts -------------------------------------------------------------------

    /// Adds a server account.
    ///
    /// ```
    /// use mote_access::{AccessControl, Error, ShortServerId};
    ///
    /// let mut ac = AccessControl::new();
    /// ac.add_server(ShortServerId(101))?;
    /// assert_eq!(ac.add_server(ShortServerId(101)), Err(Error::DuplicateServer(101)));
    /// assert_eq!(ac.add_server(ShortServerId(0)), Err(Error::InvalidServerId(0)));
    /// # Ok::<(), mote_access::Error>(())
    /// ```
    pub fn add_server(&mut self, ssid: ShortServerId) -> Result<(), Error> {
        if !ssid.is_server() {
            return Err(Error::InvalidServerId(ssid.0));
        }
        match self.servers.binary_search_by_key(&ssid, |s| s.ssid) {
            Ok(_) => Err(Error::DuplicateServer(ssid.0)),
            Err(at) => {
                self.servers.insert(
                    at,
                    ServerAccount {
                        ssid,
                        mute_send: false,
                    },
                );
                self.reindex();
                Ok(())
            }
        }
    }

    /// Sets the server's "Mute Send" (/1 Resource 23).
    ///
    /// ```
    /// # use mote_access::*;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// ac.set_mute_send(s101, true)?;
    /// assert!(ac.server(s101).is_some_and(|s| s.mute_send));
    /// assert_eq!(ac.set_mute_send(ShortServerId(9), true), Err(Error::UnknownServer(9)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_mute_send(&mut self, ssid: ShortServerId, mute: bool) -> Result<(), Error> {
        let at = self
            .servers
            .binary_search_by_key(&ssid, |s| s.ssid)
            .map_err(|_| Error::UnknownServer(ssid.0))?;
        if let Some(s) = self.servers.get_mut(at) {
            s.mute_send = mute;
        }
        Ok(())
    }

    /// The server account with this Short Server ID.
    ///
    /// ```
    /// # use mote_access::*;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// assert_eq!(ac.server(s102), Some(&ServerAccount { ssid: s102, mute_send: false }));
    /// assert_eq!(ac.server(ShortServerId(9)), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn server(&self, ssid: ShortServerId) -> Option<&ServerAccount> {
        let at = self.servers.binary_search_by_key(&ssid, |s| s.ssid).ok()?;
        self.servers.get(at)
    }

    /// The server accounts in Short Server ID order.
    ///
    /// ```
    /// # use mote_access::*;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// let ids: Vec<u16> = ac.servers().map(|s| s.ssid.0).collect();
    /// assert_eq!(ids, [101, 102]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn servers(&self) -> impl Iterator<Item = &ServerAccount> + '_ {
        self.servers.iter()
    }

    /// Whether exactly one server account exists: the only server then has full access rights
    /// without any ACL lookup (LwM2M 1.0 §7.2.3.1 step 1; 1.2 "Access Control-Disabled").
    ///
    /// ```
    /// use mote_access::{AccessControl, AccessRights, ShortServerId};
    ///
    /// let mut ac = AccessControl::new();
    /// ac.add_server(ShortServerId(101))?;
    /// ac.insert_instance(3, 0)?;
    /// assert!(ac.single_server());
    /// // The only server has full rights without any /2 instance.
    /// assert_eq!(ac.rights(ShortServerId(101), 3, 0), AccessRights::FULL);
    /// ac.add_server(ShortServerId(102))?;
    /// assert!(!ac.single_server());
    /// assert_eq!(ac.rights(ShortServerId(101), 3, 0), AccessRights::NONE);
    /// # Ok::<(), mote_access::Error>(())
    /// ```
    pub fn single_server(&self) -> bool {
        self.servers.len() == 1
    }

    // ---- Object Instances --------------------------------------------------------------------

    fn slot_index(&self, key: u32) -> Result<usize, usize> {
        self.keys.binary_search(&key)
    }

    fn slot(&self, object: u16, instance: u16) -> Option<&Slot> {
        self.slots.get(self.slot_index(key(object, instance)).ok()?)
    }

    fn slot_mut_or_insert(&mut self, k: u32) -> Option<&mut Slot> {
        let at = match self.slot_index(k) {
            Ok(at) => at,
            Err(at) => {
                self.keys.insert(at, k);
                self.slots.insert(
                    at,
                    Slot {
                        key: k,
                        exists: false,
                        acl: None,
                    },
                );
                at
            }
        };
        self.slots.get_mut(at)
    }

    fn drop_slot_if_empty(&mut self, k: u32) {
        if let Ok(at) = self.slot_index(k) {
            if self
                .slots
                .get(at)
                .is_some_and(|s| !s.exists && s.acl.is_none())
            {
                self.keys.remove(at);
                self.slots.remove(at);
            }
        }
    }

    /// Records that `/object/instance` exists (created at bootstrap or by the client itself; a
    /// server-created instance goes through [`AccessControl::instance_created`]).
    ///
    /// ```
    /// use mote_access::{AccessControl, Error};
    ///
    /// let mut ac = AccessControl::new();
    /// ac.insert_instance(3, 0)?;
    /// assert!(ac.contains_instance(3, 0));
    /// assert_eq!(ac.insert_instance(3, 0), Err(Error::InstanceExists(3, 0)));
    /// assert_eq!(ac.insert_instance(3, 65535), Err(Error::ReservedInstanceId));
    /// # Ok::<(), mote_access::Error>(())
    /// ```
    pub fn insert_instance(&mut self, object: u16, instance: u16) -> Result<(), Error> {
        if instance == MAX_ID {
            return Err(Error::ReservedInstanceId);
        }
        if object == 2 {
            return Err(Error::AccessControlObjectInstance);
        }
        let k = key(object, instance);
        self.track(k, |ac| {
            let slot = ac.slot_mut_or_insert(k).ok_or(Error::InvalidPath)?;
            if slot.exists {
                return Err(Error::InstanceExists(object, instance));
            }
            slot.exists = true;
            Ok(())
        })
    }

    /// Whether `/object/instance` exists. For Object 2 this is whether the /2 instance exists.
    ///
    /// ```
    /// # use mote_access::*;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// ac.insert_instance(3, 0)?;
    /// ac.insert_acl_instance(7, AccessControlInstance::new(3, 0, Owner::Server(s101)))?;
    /// assert!(ac.contains_instance(3, 0));
    /// assert!(!ac.contains_instance(3, 1));
    /// assert!(ac.contains_instance(2, 7)); // the /2 instance
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn contains_instance(&self, object: u16, instance: u16) -> bool {
        if object == 2 {
            return self
                .acl_ids
                .binary_search_by_key(&instance, |e| e.0)
                .is_ok();
        }
        self.slot(object, instance).is_some_and(|s| s.exists)
    }

    /// The existing instances of `object` in ID order.
    ///
    /// ```
    /// use mote_access::AccessControl;
    ///
    /// let mut ac = AccessControl::new();
    /// ac.insert_instance(5, 2)?;
    /// ac.insert_instance(5, 0)?;
    /// ac.insert_instance(3, 0)?;
    /// assert_eq!(ac.instances(5).collect::<Vec<_>>(), [0, 2]);
    /// # Ok::<(), mote_access::Error>(())
    /// ```
    pub fn instances(&self, object: u16) -> impl Iterator<Item = u16> + '_ {
        let from = self.keys.partition_point(|k| *k < key(object, 0));
        let to = self.keys.partition_point(|k| *k <= key(object, MAX_ID));
        let ordinary = self.slots.get(from..to).unwrap_or(&[]);
        let acl = if object == 2 {
            self.acl_ids.as_slice()
        } else {
            &[]
        };
        ordinary
            .iter()
            .filter(|s| s.exists)
            .map(|s| split(s.key).1)
            .chain(acl.iter().map(|e| e.0))
    }

    /// All existing Object Instances (not counting /2 instances) in path order.
    ///
    /// ```
    /// use mote_access::AccessControl;
    ///
    /// let mut ac = AccessControl::new();
    /// ac.insert_instance(5, 0)?;
    /// ac.insert_instance(3, 0)?;
    /// assert_eq!(ac.all_instances().collect::<Vec<_>>(), [(3, 0), (5, 0)]);
    /// # Ok::<(), mote_access::Error>(())
    /// ```
    pub fn all_instances(&self) -> impl Iterator<Item = (u16, u16)> + '_ {
        self.slots.iter().filter(|s| s.exists).map(|s| split(s.key))
    }

    /// The lowest free instance ID of `object` (for Create without an ID in the payload).
    ///
    /// ```
    /// use mote_access::AccessControl;
    ///
    /// let mut ac = AccessControl::new();
    /// assert_eq!(ac.free_instance_id(5), Some(0));
    /// ac.insert_instance(5, 0)?;
    /// ac.insert_instance(5, 2)?;
    /// assert_eq!(ac.free_instance_id(5), Some(1));
    /// # Ok::<(), mote_access::Error>(())
    /// ```
    pub fn free_instance_id(&self, object: u16) -> Option<u16> {
        let mut next = 0u16;
        for id in self.instances(object) {
            if id != next {
                break;
            }
            next = next.checked_add(1)?;
        }
        (next != MAX_ID).then_some(next)
    }

    // ---- /2 instances ------------------------------------------------------------------------

    /// Adds /2 instance `id` (a Bootstrap-Write, or loading the persisted state).
    ///
    /// Refused: an ID in use; a second /2 instance for the same Object (Instance), which would
    /// make "the" Access Control Object Instance of an Object Instance ambiguous; Object 0,
    /// 2 or 65535 as target (the ACL Object ID range is 1..65534; the Security Object is never
    /// reachable by a server and /2 instances are managed by their owner, so an ACL on them
    /// could only confuse); owner or ACL keys that are not server IDs.
    ///
    /// ```
    /// # use mote_access::*;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// ac.insert_instance(3, 0)?;
    /// let acl = AccessControlInstance::new(3, 0, Owner::Server(s101)).with_acl(s102, AccessRights::READ);
    /// ac.insert_acl_instance(0, acl.clone())?;
    /// assert_eq!(ac.rights(s102, 3, 0), AccessRights::READ);
    /// // /2/0 is taken; one /2 instance per Object Instance; none for the Security Object.
    /// assert_eq!(ac.insert_acl_instance(0, acl.clone()), Err(Error::AclInstanceExists(0)));
    /// assert!(matches!(ac.insert_acl_instance(1, acl), Err(Error::DuplicateAcl { .. })));
    /// assert_eq!(
    ///     ac.insert_acl_instance(2, AccessControlInstance::new(0, 0, Owner::Bootstrap)),
    ///     Err(Error::InvalidAclTarget(0))
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn insert_acl_instance(
        &mut self,
        id: u16,
        acl: AccessControlInstance,
    ) -> Result<(), Error> {
        let (object, instance) = (acl.object, acl.instance);
        if matches!(object, 0 | 2 | MAX_ID) {
            return Err(Error::InvalidAclTarget(object));
        }
        if let Owner::Server(s) = acl.owner {
            if !s.is_server() {
                return Err(Error::InvalidServerId(s.0));
            }
        }
        if let Some((s, _)) = acl.acl.as_slice().iter().find(|(s, _)| s.0 == MAX_ID) {
            return Err(Error::InvalidServerId(s.0));
        }
        let at = match self.acl_ids.binary_search_by_key(&id, |e| e.0) {
            Ok(_) => return Err(Error::AclInstanceExists(id)),
            Err(at) => at,
        };
        let k = key(object, instance);
        if let Some((existing, _)) = self.slot(object, instance).and_then(|s| s.acl.as_ref()) {
            return Err(Error::DuplicateAcl {
                object,
                instance,
                existing: *existing,
            });
        }
        self.track(k, |ac| {
            let slot = ac.slot_mut_or_insert(k).ok_or(Error::InvalidPath)?;
            slot.acl = Some((id, acl));
            ac.acl_ids.insert(at, (id, k));
            Ok(())
        })
    }

    /// The /2 instance with this ID.
    ///
    /// ```
    /// # use mote_access::*;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// ac.insert_acl_instance(4, AccessControlInstance::new(3, 0, Owner::Server(s101)))?;
    /// assert_eq!(ac.acl_instance(4).map(|a| a.object()), Some(3));
    /// assert!(ac.acl_instance(5).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn acl_instance(&self, id: u16) -> Option<&AccessControlInstance> {
        let at = self.acl_ids.binary_search_by_key(&id, |e| e.0).ok()?;
        let (_, k) = *self.acl_ids.get(at)?;
        let slot = self.slots.get(self.slot_index(k).ok()?)?;
        slot.acl.as_ref().map(|(_, a)| a)
    }

    /// The slot key of /2 instance `id`.
    fn acl_key(&self, id: u16) -> Option<u32> {
        let at = self.acl_ids.binary_search_by_key(&id, |e| e.0).ok()?;
        self.acl_ids.get(at).map(|e| e.1)
    }

    /// Changes /2 instance `id` (its ACL or owner), keeping the readable index in step.
    fn change_acl_instance<T>(
        &mut self,
        id: u16,
        change: impl FnOnce(&mut AccessControlInstance) -> T,
    ) -> Result<T, Error> {
        let k = self.acl_key(id).ok_or(Error::UnknownAclInstance(id))?;
        self.track(k, |ac| {
            ac.acl_instance_mut(id)
                .map(change)
                .ok_or(Error::UnknownAclInstance(id))
        })
    }

    fn acl_instance_mut(&mut self, id: u16) -> Option<&mut AccessControlInstance> {
        let at = self.acl_ids.binary_search_by_key(&id, |e| e.0).ok()?;
        let (_, k) = *self.acl_ids.get(at)?;
        let at = self.slot_index(k).ok()?;
        self.slots.get_mut(at)?.acl.as_mut().map(|(_, a)| a)
    }

    /// The /2 instance controlling `/object/instance` (`instance` 65535 for the Object level),
    /// with its ID.
    ///
    /// ```
    /// # use mote_access::*;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// ac.insert_acl_instance(4, AccessControlInstance::new(3, 0, Owner::Server(s101)))?;
    /// assert_eq!(ac.acl_for(3, 0).map(|(id, _)| id), Some(4));
    /// assert!(ac.acl_for(3, 1).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn acl_for(&self, object: u16, instance: u16) -> Option<(u16, &AccessControlInstance)> {
        self.slot(object, instance)
            .and_then(|s| s.acl.as_ref())
            .map(|(id, a)| (*id, a))
    }

    /// All /2 instances in ID order.
    ///
    /// ```
    /// # use mote_access::*;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// ac.insert_acl_instance(4, AccessControlInstance::new(3, 0, Owner::Server(s101)))?;
    /// ac.insert_acl_instance(1, AccessControlInstance::new(5, 65535, Owner::Bootstrap))?;
    /// let ids: Vec<u16> = ac.acl_instances().map(|(id, _)| id).collect();
    /// assert_eq!(ids, [1, 4]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn acl_instances(&self) -> impl Iterator<Item = (u16, &AccessControlInstance)> + '_ {
        self.acl_ids
            .iter()
            .filter_map(|&(id, _)| self.acl_instance(id).map(|a| (id, a)))
    }

    /// Sets the ACL Resource Instance `server` of /2 instance `id` (a Write the caller has
    /// authorized: only the Access Control Owner, or the Bootstrap-Server, may do it).
    ///
    /// ```
    /// # use mote_access::*;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// ac.insert_instance(3, 0)?;
    /// ac.insert_acl_instance(0, AccessControlInstance::new(3, 0, Owner::Server(s101)))?;
    /// assert_eq!(ac.rights(s102, 3, 0), AccessRights::NONE);
    /// ac.set_acl_entry(0, s102, AccessRights::READ)?;
    /// assert_eq!(ac.rights(s102, 3, 0), AccessRights::READ);
    /// assert_eq!(ac.set_acl_entry(9, s102, AccessRights::READ), Err(Error::UnknownAclInstance(9)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_acl_entry(
        &mut self,
        id: u16,
        server: ShortServerId,
        rights: AccessRights,
    ) -> Result<(), Error> {
        if server.0 == MAX_ID {
            return Err(Error::InvalidServerId(server.0));
        }
        self.change_acl_instance(id, |acl| acl.set_acl(server, rights))
    }

    /// Removes the ACL Resource Instance `server` of /2 instance `id`.
    ///
    /// ```
    /// # use mote_access::*;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// ac.insert_instance(3, 0)?;
    /// let acl = AccessControlInstance::new(3, 0, Owner::Server(s101)).with_acl(s102, AccessRights::READ);
    /// ac.insert_acl_instance(0, acl)?;
    /// assert_eq!(ac.remove_acl_entry(0, s102)?, Some(AccessRights::READ));
    /// assert_eq!(ac.rights(s102, 3, 0), AccessRights::NONE);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remove_acl_entry(
        &mut self,
        id: u16,
        server: ShortServerId,
    ) -> Result<Option<AccessRights>, Error> {
        self.change_acl_instance(id, |acl| acl.remove_acl(server))
    }

    /// Sets the Access Control Owner of /2 instance `id`.
    ///
    /// ```
    /// # use mote_access::*;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// ac.insert_instance(3, 0)?;
    /// ac.insert_acl_instance(0, AccessControlInstance::new(3, 0, Owner::Server(s101)))?;
    /// ac.set_owner(0, Owner::Server(s102))?;
    /// assert_eq!(ac.rights(s102, 3, 0), AccessRights::FULL);
    /// assert_eq!(ac.rights(s101, 3, 0), AccessRights::NONE);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_owner(&mut self, id: u16, owner: Owner) -> Result<(), Error> {
        if let Owner::Server(s) = owner {
            if !s.is_server() {
                return Err(Error::InvalidServerId(s.0));
            }
        }
        self.change_acl_instance(id, |acl| acl.set_owner(owner))
    }

    /// Removes /2 instance `id`.
    ///
    /// ```
    /// # use mote_access::*;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// ac.insert_instance(3, 0)?;
    /// ac.insert_acl_instance(0, AccessControlInstance::new(3, 0, Owner::Server(s101)))?;
    /// assert_eq!(ac.remove_acl_instance(0).map(|a| a.object()), Some(3));
    /// assert_eq!(ac.rights(s101, 3, 0), AccessRights::NONE); // no /2 instance, no rights
    /// assert!(ac.remove_acl_instance(0).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remove_acl_instance(&mut self, id: u16) -> Option<AccessControlInstance> {
        let k = self.acl_key(id)?;
        self.track(k, |ac| {
            let at = ac.acl_ids.binary_search_by_key(&id, |e| e.0).ok()?;
            ac.acl_ids.remove(at);
            let slot_at = ac.slot_index(k).ok()?;
            let removed = ac.slots.get_mut(slot_at)?.acl.take().map(|(_, a)| a);
            ac.drop_slot_if_empty(k);
            removed
        })
    }

    fn free_acl_id(&self) -> Option<u16> {
        let mut next = 0u16;
        for &(id, _) in &self.acl_ids {
            if id != next {
                break;
            }
            next = next.checked_add(1)?;
        }
        (next != MAX_ID).then_some(next)
    }

    // ---- lifecycle ---------------------------------------------------------------------------

    /// A server created `/object/instance` (after [`AccessControl::authorize_create`] allowed
    /// it). Records the instance and creates its /2 instance, returning the /2 instance ID.
    ///
    /// LwM2M 1.2 Core TS, "Create Operation": "the Access Control Owner MUST be the LwM2M Server"
    /// and "the LwM2M Server MUST have full access rights to the created Object Instance";
    /// "Access Control on Object Instance": Resources 0 and 1 name the new instance, Resource 3
    /// the creator. The /2 instance gets no ACL Resource Instance, so the owner's rights are full
    /// by step 1 of "Obtaining Access Right" and other servers have none until the owner grants
    /// them. It is created even when only one server account exists, so that access stays
    /// defined if a second account is bootstrapped later.
    ///
    /// ```
    /// # use mote_access::*;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// let id = ac.instance_created(s102, 5, 0)?;
    /// assert_eq!(ac.acl_instance(id).map(|a| a.owner()), Some(Owner::Server(s102)));
    /// assert_eq!(ac.rights(s102, 5, 0), AccessRights::FULL);
    /// assert_eq!(ac.rights(s101, 5, 0), AccessRights::NONE);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn instance_created(
        &mut self,
        server: ShortServerId,
        object: u16,
        instance: u16,
    ) -> Result<u16, Error> {
        if !server.is_server() || self.server(server).is_none() {
            return Err(Error::UnknownServer(server.0));
        }
        if matches!(object, 0 | 2 | MAX_ID) {
            return Err(Error::InvalidAclTarget(object));
        }
        if instance == MAX_ID {
            return Err(Error::ReservedInstanceId);
        }
        if self.contains_instance(object, instance) {
            return Err(Error::InstanceExists(object, instance));
        }
        if let Some((existing, _)) = self.acl_for(object, instance) {
            return Err(Error::DuplicateAcl {
                object,
                instance,
                existing,
            });
        }
        let id = self.free_acl_id().ok_or(Error::AclInstancesExhausted)?;
        self.insert_acl_instance(
            id,
            AccessControlInstance::new(object, instance, Owner::Server(server)),
        )?;
        self.insert_instance(object, instance)?;
        Ok(id)
    }

    /// `/object/instance` was deleted (by a server's Delete or by the client). Removes it and
    /// its /2 instance, returning the removed /2 instance ID.
    ///
    /// LwM2M 1.2 Core TS, "Access Control on Object Instance": "when an Object Instance is
    /// removed via Delete operation performed by the LwM2M Server which is the Access Control
    /// Owner, the associated Access Control Object Instance MUST be removed". The TS does not say
    /// what happens when another server (holding D) or the client deletes it; the /2 instance is
    /// removed in every case (fail closed: a left-over ACL would grant rights on a future
    /// instance that reuses the ID).
    ///
    /// For Object 2 this removes the /2 instance itself.
    ///
    /// ```
    /// # use mote_access::*;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// let id = ac.instance_created(s102, 5, 0)?;
    /// assert_eq!(ac.instance_deleted(5, 0), Some(id)); // its /2 instance goes with it
    /// assert!(!ac.contains_instance(5, 0));
    /// assert!(ac.acl_instance(id).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn instance_deleted(&mut self, object: u16, instance: u16) -> Option<u16> {
        if object == 2 {
            return self.remove_acl_instance(instance).map(|_| instance);
        }
        let k = key(object, instance);
        self.track(k, |ac| {
            let at = ac.slot_index(k).ok()?;
            let slot = ac.slots.get_mut(at)?;
            slot.exists = false;
            let removed = slot.acl.take().map(|(id, _)| id);
            if let Some(id) = removed {
                if let Ok(i) = ac.acl_ids.binary_search_by_key(&id, |e| e.0) {
                    ac.acl_ids.remove(i);
                }
            }
            ac.drop_slot_if_empty(k);
            removed
        })
    }

    /// Removes a server account and cleans the access control that refers to it.
    ///
    /// LwM2M 1.2 Transport TS, "Unbootstrapping" (1.1 Core TS draft 2017-09-15, Appendix E.1),
    /// steps 2 and 3, applied to every /2 instance:
    /// - the ACL Resource Instance of the server is deleted;
    /// - an Object Instance that only the removed server, as Access Control Owner, could access
    ///   is deleted with its /2 instance (reported in [`ServerRemoval::deleted_instances`]);
    /// - otherwise, if the server was the Access Control Owner, the owner becomes the server
    ///   "who has highest sum of each number assigned to an access right (Write: 1, Delete: 1)";
    ///   "if two or more Servers have the same sum, the Client MUST choose one of them".
    ///
    /// Readings where the text leaves a choice (each fails closed):
    /// - "can be accessed" means the server's rights from steps 2-4 of "Obtaining Access Right"
    ///   are not empty; servers whose entry is 0 are no candidates.
    /// - A tie goes to the lowest Short Server ID, so the result is deterministic.
    /// - When the new owner had no ACL Resource Instance of its own (it had the default
    ///   rights), an entry with those default rights is written for it: otherwise step 1 would
    ///   turn it into a full-rights owner and the removal would widen its rights.
    /// - Object-level /2 instances (owner 65535) only lose the server's entry.
    ///
    /// The rest of App. E.1 is the caller's: cancel the server's observations ("Observation
    /// operations from the Server MUST be deleted"), delete its Server Object Instance and the
    /// data of [`ServerRemoval::deleted_instances`]. Call this too when a server's /1 instance
    /// is deleted through the Device Management interface.
    ///
    /// ```
    /// # use mote_access::*;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// // /5/0 created by 102, which lets 101 read it; /5/1 only 102 can access.
    /// let id = ac.instance_created(s102, 5, 0)?;
    /// ac.set_acl_entry(id, s101, AccessRights::READ)?;
    /// ac.instance_created(s102, 5, 1)?;
    /// let removal = ac.remove_server(s102)?;
    /// assert_eq!(removal.deleted_instances, [(5, 1)]);
    /// assert_eq!(removal.new_owners, [(id, s101)]);
    /// assert!(ac.server(s102).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remove_server(&mut self, ssid: ShortServerId) -> Result<ServerRemoval, Error> {
        let at = self
            .servers
            .binary_search_by_key(&ssid, |s| s.ssid)
            .map_err(|_| Error::UnknownServer(ssid.0))?;
        self.servers.remove(at);
        let mut report = ServerRemoval::default();
        let ids: Vec<u16> = self.acl_ids.iter().map(|e| e.0).collect();
        for id in ids {
            let Some(acl) = self.acl_instance_mut(id) else {
                continue;
            };
            acl.remove_acl(ssid);
            if acl.owner != Owner::Server(ssid) {
                continue;
            }
            let (object, instance) = (acl.object, acl.instance);
            let acl_snapshot = acl.clone();
            let mut best: Option<(u8, ShortServerId, AccessRights)> = None;
            for server in &self.servers {
                let rights = acl_snapshot.rights_of(server.ssid);
                if rights.is_empty() {
                    continue;
                }
                let score = u8::from(rights.contains(AccessRights::WRITE))
                    + u8::from(rights.contains(AccessRights::DELETE));
                // Servers are visited in ascending ID order: `>` keeps the lowest on ties.
                if best.is_none_or(|(b, _, _)| score > b) {
                    best = Some((score, server.ssid, rights));
                }
            }
            match best {
                Some((_, new_owner, rights)) => {
                    if let Some(acl) = self.acl_instance_mut(id) {
                        if acl.acl(new_owner).is_none() {
                            acl.set_acl(new_owner, rights);
                        }
                        acl.set_owner(Owner::Server(new_owner));
                    }
                    report.new_owners.push((id, new_owner));
                }
                None => {
                    if instance == MAX_ID {
                        // An Object-level /2 instance owned by a server grants nothing (Create
                        // rights come from Bootstrap-owned ones only): drop it with its owner.
                        self.remove_acl_instance(id);
                    } else {
                        self.instance_deleted(object, instance);
                        report.deleted_instances.push((object, instance));
                    }
                }
            }
        }
        self.reindex();
        Ok(report)
    }

    /// LwM2M 1.2 Core TS, "Obtaining Access Right", for every operation except Create: the
    /// access rights of `server` on `/object/instance`.
    ///
    /// - No rights for a Short Server ID without a server account (fail closed).
    /// - None on the Security (0) and OSCORE (21) Objects, whatever the ACLs say: "The LwM2M
    ///   Client MUST reject any LwM2M Server operation on the Security Object (ID: 0)" / "on an
    ///   OSCORE Object (ID: 21)" (1.2 Core TS, Device Management and Service Enablement
    ///   Interface).
    /// - Object 2: full rights on the /2 instances the server owns, none on the others ("an
    ///   Access Control Object Instance MUST only be managed by the LwM2M Server declared as
    ///   the Access Control Owner in it", §7.3.1.2.2; Object 2 Resource 3: "only such an LwM2M
    ///   Server can manage the Resources of this Object Instance. The specific value
    ///   MAX_ID=65535 means this Access Control Object Instance is created and modified during
    ///   a Bootstrap phase only"). This holds with a single server account too: "In the case
    ///   the Access Control Object is instantiated in a single LwM2M Server context, section
    ///   7.3.1 and its sub-sections MUST also be applied" (1.1 Core TS §7.3).
    /// - Only one server account: full rights without ACL lookup (1.0 §7.2.3.1 step 1;
    ///   1.2 "Access Control-Disabled").
    /// - Otherwise steps 1-4 on the /2 instance controlling the Object Instance; none without
    ///   one.
    ///
    /// ```
    /// # use mote_access::*;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// ac.insert_instance(3, 0)?;
    /// let acl = AccessControlInstance::new(3, 0, Owner::Server(s101)).with_acl(s102, AccessRights::READ);
    /// ac.insert_acl_instance(0, acl)?;
    /// assert_eq!(ac.rights(s101, 3, 0), AccessRights::FULL);
    /// assert_eq!(ac.rights(s102, 3, 0), AccessRights::READ);
    /// // Object 2: only the owner of the /2 instance manages it.
    /// assert_eq!(ac.rights(s101, 2, 0), AccessRights::FULL);
    /// assert_eq!(ac.rights(s102, 2, 0), AccessRights::NONE);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rights(&self, server: ShortServerId, object: u16, instance: u16) -> AccessRights {
        if self.server(server).is_none() || object == 0 || object == 21 {
            return AccessRights::NONE;
        }
        if object == 2 {
            return self.acl_instance_rights(server, instance);
        }
        if self.single_server() {
            return AccessRights::FULL;
        }
        match self.slot(object, instance).and_then(|s| s.acl.as_ref()) {
            Some((_, acl)) if !acl.is_object_level() => acl.rights_of(server),
            _ => AccessRights::NONE,
        }
    }

    /// The rights of a server on /2 instance `id`: full for its Access Control Owner, none
    /// for anyone else (the Bootstrap-owned ones included). An Object-level /2 instance
    /// (Object Instance ID 65535) is managed by no server, whatever its owner says: "This kind
    /// of Access Control Object Instance associated with a certain Object, MUST only be created
    /// or updated during a Bootstrap Phase" (§7.3.1.2.1).
    fn acl_instance_rights(&self, server: ShortServerId, id: u16) -> AccessRights {
        match self.acl_instance(id) {
            Some(acl) if acl.owner == Owner::Server(server) && !acl.is_object_level() => {
                AccessRights::FULL
            }
            _ => AccessRights::NONE,
        }
    }

    /// Whether the Object Instance exists, with the server's rights on it, from one lookup.
    pub(crate) fn lookup(
        &self,
        server: ShortServerId,
        object: u16,
        instance: u16,
    ) -> (AccessRights, bool) {
        if object == 2 {
            return (
                self.acl_instance_rights(server, instance),
                self.contains_instance(object, instance),
            );
        }
        let slot = self.slot(object, instance);
        let exists = slot.is_some_and(|s| s.exists);
        let rights = if self.single_server() {
            AccessRights::FULL
        } else {
            match slot.and_then(|s| s.acl.as_ref()) {
                Some((_, acl)) if !acl.is_object_level() => acl.rights_of(server),
                _ => AccessRights::NONE,
            }
        };
        (rights, exists)
    }

    /// LwM2M 1.2 Core TS, "Obtaining Access Right", Create: the rights of `server` on
    /// `object` from the Object-level /2 instance.
    ///
    /// Only the server's own ACL Resource Instance counts ("the ACL Resource Instance
    /// corresponding to this LwM2M Server"), not the default entry, and only in a /2 instance
    /// owned by the Bootstrap-Server ("has been provisioned during a Bootstrap Phase (Access
    /// Control Owner is MAX_ID=65535)"); anything else yields no rights (fail closed).
    ///
    /// ```
    /// # use mote_access::*;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// let acl = AccessControlInstance::new(5, 65535, Owner::Bootstrap).with_acl(s102, AccessRights::CREATE);
    /// ac.insert_acl_instance(1, acl)?;
    /// assert_eq!(ac.create_rights(s102, 5), AccessRights::CREATE);
    /// assert_eq!(ac.create_rights(s101, 5), AccessRights::NONE);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_rights(&self, server: ShortServerId, object: u16) -> AccessRights {
        // No server creates Security (0), Access Control (2, §7.3.1.2.1: "MUST only be created
        // or updated during a Bootstrap Phase") or OSCORE (21) instances.
        if self.server(server).is_none() || matches!(object, 0 | 2 | 21) {
            return AccessRights::NONE;
        }
        if self.single_server() {
            return AccessRights::FULL;
        }
        match self.acl_for(object, MAX_ID) {
            Some((_, acl)) if acl.owner == Owner::Bootstrap => {
                acl.acl(server).unwrap_or(AccessRights::NONE)
            }
            _ => AccessRights::NONE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: ShortServerId = ShortServerId(101);
    const B: ShortServerId = ShortServerId(102);
    const C: ShortServerId = ShortServerId(103);

    fn three_servers() -> AccessControl {
        let mut ac = AccessControl::new();
        for s in [A, B, C] {
            ac.add_server(s).unwrap();
        }
        ac
    }

    #[test]
    fn rights_steps_1_to_4() {
        let acl = AccessControlInstance::new(3, 0, Owner::Server(A))
            .with_acl(B, AccessRights::READ)
            .with_acl(ShortServerId::DEFAULT, AccessRights::WRITE);
        assert_eq!(acl.rights_of(A), AccessRights::FULL); // 1: owner without own entry
        assert_eq!(acl.rights_of(B), AccessRights::READ); // 2: own entry
        assert_eq!(acl.rights_of(C), AccessRights::WRITE); // 3: default
        let no_default = AccessControlInstance::new(3, 0, Owner::Server(A));
        assert_eq!(no_default.rights_of(C), AccessRights::NONE); // 4
        let owner_with_entry =
            AccessControlInstance::new(3, 0, Owner::Server(A)).with_acl(A, AccessRights::READ);
        assert_eq!(owner_with_entry.rights_of(A), AccessRights::READ); // 2 beats 1
    }

    #[test]
    fn created_instance_gets_owned_acl_and_deletion_removes_it() {
        let mut ac = three_servers();
        let id = ac.instance_created(B, 5, 0).unwrap();
        assert_eq!(
            ac.acl_instance(id).map(|a| a.owner()),
            Some(Owner::Server(B))
        );
        assert_eq!(ac.rights(B, 5, 0), AccessRights::FULL);
        assert_eq!(ac.rights(A, 5, 0), AccessRights::NONE);
        assert_eq!(
            ac.instance_created(B, 5, 0),
            Err(Error::InstanceExists(5, 0))
        );
        assert_eq!(ac.instance_deleted(5, 0), Some(id));
        assert!(ac.acl_instance(id).is_none());
        assert!(!ac.contains_instance(5, 0));
        assert_eq!(ac.rights(B, 5, 0), AccessRights::NONE);
    }

    #[test]
    fn duplicate_acl_refused() {
        let mut ac = three_servers();
        ac.insert_acl_instance(0, AccessControlInstance::new(3, 0, Owner::Server(A)))
            .unwrap();
        assert_eq!(
            ac.insert_acl_instance(1, AccessControlInstance::new(3, 0, Owner::Server(B))),
            Err(Error::DuplicateAcl {
                object: 3,
                instance: 0,
                existing: 0
            })
        );
        assert_eq!(
            ac.insert_acl_instance(0, AccessControlInstance::new(4, 0, Owner::Server(B))),
            Err(Error::AclInstanceExists(0))
        );
        assert_eq!(
            ac.insert_acl_instance(2, AccessControlInstance::new(0, 0, Owner::Bootstrap)),
            Err(Error::InvalidAclTarget(0))
        );
    }

    #[test]
    fn owner_election_prefers_write_delete_sum_then_lowest_id() {
        let mut ac = three_servers();
        ac.insert_instance(3, 0).unwrap();
        ac.insert_acl_instance(
            7,
            AccessControlInstance::new(3, 0, Owner::Server(A))
                .with_acl(B, AccessRights::READ)
                .with_acl(C, AccessRights::from_bits(0b1011).unwrap()),
        )
        .unwrap();
        let report = ac.remove_server(A).unwrap();
        assert_eq!(report.new_owners, [(7, C)]);
        assert_eq!(
            ac.rights(C, 3, 0).bits(),
            0b1011,
            "own entry kept, not widened"
        );
        assert_eq!(ac.rights(B, 3, 0), AccessRights::READ);
    }

    #[test]
    fn owner_only_instance_deleted_with_its_server() {
        let mut ac = three_servers();
        let id = ac.instance_created(A, 5, 0).unwrap();
        let report = ac.remove_server(A).unwrap();
        assert_eq!(report.deleted_instances, [(5, 0)]);
        assert!(ac.acl_instance(id).is_none());
        assert!(!ac.contains_instance(5, 0));
    }

    #[test]
    fn elected_default_holder_gets_explicit_entry() {
        let mut ac = three_servers();
        ac.insert_instance(4, 0).unwrap();
        ac.insert_acl_instance(
            1,
            AccessControlInstance::new(4, 0, Owner::Server(A))
                .with_acl(ShortServerId::DEFAULT, AccessRights::READ),
        )
        .unwrap();
        let report = ac.remove_server(A).unwrap();
        assert_eq!(report.new_owners, [(1, B)]);
        assert_eq!(ac.rights(B, 4, 0), AccessRights::READ);
        assert_eq!(ac.rights(C, 4, 0), AccessRights::READ);
    }

    #[test]
    fn acl_list_spills_to_the_heap_and_stays_sorted() {
        let mut acl = AccessControlInstance::new(3, 0, Owner::Bootstrap);
        for id in [9u16, 3, 7, 1, 5, 8, 2] {
            acl.set_acl(
                ShortServerId(id),
                AccessRights::from_bits(u64::from(id) % 32).unwrap(),
            );
        }
        let ids: Vec<u16> = acl.acl_entries().map(|(s, _)| s.0).collect();
        assert_eq!(ids, [1, 2, 3, 5, 7, 8, 9]);
        assert_eq!(acl.acl(ShortServerId(7)).map(AccessRights::bits), Some(7));
        for id in [1u16, 9, 5, 2, 3] {
            assert!(acl.remove_acl(ShortServerId(id)).is_some());
        }
        assert_eq!(acl.remove_acl(ShortServerId(4)), None);
        let ids: Vec<u16> = acl.acl_entries().map(|(s, _)| s.0).collect();
        assert_eq!(ids, [7, 8]);
        let mut small = AccessControlInstance::new(3, 0, Owner::Bootstrap);
        small.set_acl(ShortServerId(8), AccessRights::from_bits(8).unwrap());
        small.set_acl(ShortServerId(7), AccessRights::from_bits(7).unwrap());
        assert_eq!(small, acl, "equal whether inline or on the heap");
        small.set_acl(ShortServerId(7), AccessRights::READ);
        assert_eq!(small.acl(ShortServerId(7)), Some(AccessRights::READ));
        assert_eq!(small.remove_acl(ShortServerId(7)), Some(AccessRights::READ));
        assert_eq!(
            small.remove_acl(ShortServerId(8)).map(AccessRights::bits),
            Some(8)
        );
        assert_eq!(small.acl_entries().count(), 0);
    }

    #[test]
    fn security_objects_and_acl_instances_are_never_shortcut() {
        let mut ac = AccessControl::new();
        ac.add_server(A).unwrap();
        ac.insert_instance(0, 0).unwrap();
        ac.insert_instance(3, 0).unwrap();
        ac.insert_acl_instance(0, AccessControlInstance::new(3, 0, Owner::Bootstrap))
            .unwrap();
        ac.insert_acl_instance(1, AccessControlInstance::new(4, 65535, Owner::Bootstrap))
            .unwrap();
        // One server account: full rights on ordinary instances, without ACL lookup...
        assert_eq!(ac.rights(A, 3, 0), AccessRights::FULL);
        assert_eq!(ac.create_rights(A, 4), AccessRights::FULL);
        // ...but never on the Security and OSCORE Objects...
        assert_eq!(ac.rights(A, 0, 0), AccessRights::NONE);
        assert_eq!(ac.rights(A, 21, 0), AccessRights::NONE);
        assert_eq!(ac.create_rights(A, 0), AccessRights::NONE);
        assert_eq!(ac.create_rights(A, 2), AccessRights::NONE);
        // ...and /2 instances stay managed by their owner (here the Bootstrap-Server).
        assert_eq!(ac.rights(A, 2, 0), AccessRights::NONE);
        assert_eq!(ac.rights(A, 2, 1), AccessRights::NONE);
        let id = ac.instance_created(A, 5, 0).unwrap();
        assert_eq!(ac.rights(A, 2, id), AccessRights::FULL);
    }

    #[test]
    fn readable_index_follows_every_change() {
        let mut ac = three_servers();
        ac.insert_instance(3, 0).unwrap();
        ac.insert_instance(4, 0).unwrap();
        assert!(
            !ac.any_readable(B, None),
            "no /2 instance: nothing readable"
        );
        ac.insert_acl_instance(0, AccessControlInstance::new(3, 0, Owner::Server(A)))
            .unwrap();
        assert!(ac.any_readable(A, Some(3)) && ac.any_readable(A, Some(2)));
        assert!(!ac.any_readable(B, Some(3)));
        ac.set_acl_entry(0, ShortServerId::DEFAULT, AccessRights::READ)
            .unwrap();
        assert!(ac.any_readable(B, Some(3)) && ac.any_readable(C, None));
        ac.set_acl_entry(0, C, AccessRights::WRITE).unwrap();
        assert!(
            !ac.any_readable(C, Some(3)),
            "own entry W beats the default R"
        );
        ac.remove_acl_entry(0, C).unwrap();
        assert!(ac.any_readable(C, Some(3)));
        ac.set_owner(0, Owner::Server(B)).unwrap();
        assert!(ac.any_readable(B, Some(2)) && !ac.any_readable(A, Some(2)));
        assert!(ac.any_readable(A, Some(3)), "A keeps the default R");
        let id = ac.instance_created(C, 5, 0).unwrap();
        assert!(ac.any_readable(C, Some(5)) && !ac.any_readable(A, Some(5)));
        ac.instance_deleted(5, 0);
        assert!(!ac.any_readable(C, Some(5)) && ac.acl_instance(id).is_none());
        ac.remove_acl_instance(0).unwrap();
        assert!(!ac.any_readable(A, None) && !ac.any_readable(B, None));
        // With one account left, that server reads every instance without ACLs.
        ac.remove_server(A).unwrap();
        ac.remove_server(B).unwrap();
        assert!(ac.any_readable(C, Some(3)) && ac.any_readable(C, Some(4)));
        assert!(!ac.any_readable(C, Some(0)) && !ac.any_readable(A, Some(3)));
    }

    #[test]
    fn free_ids() {
        let mut ac = three_servers();
        ac.insert_instance(1, 0).unwrap();
        ac.insert_instance(1, 2).unwrap();
        assert_eq!(ac.free_instance_id(1), Some(1));
        assert_eq!(ac.instances(1).collect::<Vec<_>>(), [0, 2]);
    }
}
