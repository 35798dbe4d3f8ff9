//! Where registrations live: the [`RegistrationStore`] trait and [`InMemoryStore`].
//!
//! # For a persistent or shared implementation
//! Several server instances behind one address (a cluster) must see one registration
//! table. What must then be atomic across instances:
//! * [`RegistrationStore::insert`]: looking up the endpoint name, removing its old
//!   registration and inserting the new one is one step — two concurrent Registers of
//!   one endpoint must leave exactly one registration, and the identity binding of the
//!   survivor must be the one of its own request;
//! * [`RegistrationStore::update`]: a compare-and-set on the registration id (an Update
//!   racing a re-registration or an expiry must not resurrect a removed registration);
//! * [`RegistrationStore::remove_expired`]: each expired registration is reported by one
//!   instance only (or the application sees duplicate `Expired` events);
//! * the bound on the number of registrations (a count read and an insert in one step).
//!
//! Queue-mode state (awake windows, held requests) is kept per server instance, not in
//! the store: a request held on one instance is released when *that* instance sees the
//! client. The most critical shared state is not in this store at all: the **OSCORE
//! sequence numbers and replay windows** (RFC 8613 §7.2, §7.4) of each client's security
//! context must be shared and updated atomically by every instance that can receive from
//! or send to that client — two instances using the same Sender Sequence Number reuse an
//! AEAD nonce, and two replay windows accept the same request twice.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use mote_lwm2m::Path;
use mote_lwm2m::attributes::LinkAttributes;
use mote_lwm2m::link::Link;
use mote_lwm2m::object::Version;

use crate::message::Identity;
use crate::registration::{Registration, RegistrationId};

/// Why a store operation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// [`RegistrationStore::update`] of a registration that is no longer there.
    #[error("registration {0} is no longer stored")]
    Gone(RegistrationId),
    /// The backend could not be reached or refused the operation.
    #[error("store unavailable")]
    Unavailable,
}

/// The registrations of a server. Methods return owned copies so that a backend outside
/// the process can implement the trait.
///
/// A persistent implementation must make each change durable before it returns `Ok`: the
/// registration core answers the client right after (`2.01`, `2.04`, `2.02`), and a client
/// told it is registered must still be after a crash. An implementation shared by several
/// server instances must in addition make atomic, across instances: `insert` (look up the
/// endpoint name, remove its old registration, insert the new one), `update` (a
/// compare-and-set on the id), `remove_expired` (each expiry reported by one instance), and
/// the count behind the registration bound — and, outside this trait, the OSCORE Sender
/// Sequence Number of each client's context (RFC 8613 §7.2.1: two instances must never use
/// one number, or a nonce repeats; Appendix B.1.1) and its replay window (§7.4: two windows
/// accept one request twice). See the module docs.
pub trait RegistrationStore {
    /// The registration with this id.
    fn get(&self, id: &RegistrationId) -> Option<Registration>;
    /// The registration of this endpoint name.
    fn get_by_endpoint(&self, endpoint: &str) -> Option<Registration>;
    /// The registration bound to this security identity.
    fn get_by_identity(&self, identity: &Identity) -> Option<Registration>;
    /// Inserts `reg`, atomically replacing (and returning) the registration of the same
    /// endpoint name.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the backend fails.
    fn insert(&mut self, reg: Registration) -> Result<Option<Registration>, StoreError>;
    /// Replaces the stored registration with the same id.
    ///
    /// # Errors
    /// [`StoreError::Gone`] when it was removed meanwhile.
    fn update(&mut self, reg: Registration) -> Result<(), StoreError>;
    /// Removes and returns a registration.
    fn remove(&mut self, id: &RegistrationId) -> Option<Registration>;
    /// The number of registrations.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The earliest expiry time of any registration.
    fn next_expiry(&self) -> Option<Duration>;
    /// Removes and returns every registration with `expires_at() <= now`.
    fn remove_expired(&mut self, now: Duration) -> Vec<Registration>;
    /// The ids of all registrations.
    fn ids(&self) -> Vec<RegistrationId>;
}

/// A [`RegistrationStore`] in memory, indexed by id, endpoint name and expiry.
///
/// Layout (a server holds one entry per client; `tests/idle_memory.rs` bounds the whole
/// per-client cost): the registration record is kept once, in the index by id; the object
/// list is kept compact (a link whose only attribute is `ver` as its path and version, not as
/// a 200-byte parsed [`Link`]) and expanded again by the getters, which return owned copies
/// anyway; the secondary indexes hold the id, whose text is shared ([`RegistrationId`] is
/// reference-counted), not copied.
#[derive(Clone, Debug, Default)]
pub struct InMemoryStore {
    by_id: BTreeMap<RegistrationId, Stored>,
    by_endpoint: BTreeMap<String, RegistrationId>,
    by_expiry: BTreeMap<(Duration, RegistrationId), ()>,
}

/// One stored registration: the record with an empty object list, and the list compact.
#[derive(Clone, Debug)]
struct Stored {
    record: Registration,
    objects: Box<[StoredLink]>,
}

/// One link of an object list as the store keeps it.
#[derive(Clone, Debug)]
enum StoredLink {
    /// A link whose only attribute is (at most) `ver`: every link of a registration's object
    /// list in practice (LwM2M TS 1.2 Core §6.2.1: `</1/0>,</3/0>,</3303>;ver=1.1`).
    Plain { path: Path, ver: Option<Version> },
    /// Any other link, as it came.
    Full(Box<Link>),
}

impl StoredLink {
    fn new(link: Link) -> StoredLink {
        let ver = link.attributes.ver;
        let plain = LinkAttributes {
            ver,
            ..LinkAttributes::default()
        };
        if link.attributes == plain {
            StoredLink::Plain {
                path: link.path,
                ver,
            }
        } else {
            StoredLink::Full(Box::new(link))
        }
    }

    fn link(&self) -> Link {
        match self {
            StoredLink::Plain { path, ver } => Link {
                path: *path,
                attributes: LinkAttributes {
                    ver: *ver,
                    ..LinkAttributes::default()
                },
            },
            StoredLink::Full(link) => Link::clone(link),
        }
    }
}

impl Stored {
    fn new(mut record: Registration) -> Stored {
        let objects = core::mem::take(&mut record.objects)
            .into_iter()
            .map(StoredLink::new)
            .collect();
        record.endpoint.shrink_to_fit();
        record.content_formats.shrink_to_fit();
        record.profile_ids.shrink_to_fit();
        record.root_path.shrink_to_fit();
        Stored { record, objects }
    }

    fn registration(&self) -> Registration {
        let mut reg = self.record.clone();
        reg.objects = self.objects.iter().map(StoredLink::link).collect();
        reg
    }

    fn expires_at(&self) -> Duration {
        self.record.expires_at()
    }
}

impl InMemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        InMemoryStore::default()
    }

    fn unindex(&mut self, stored: &Stored) {
        self.by_endpoint.remove(&stored.record.endpoint);
        self.by_expiry
            .remove(&(stored.expires_at(), stored.record.id.clone()));
    }

    fn index_and_store(&mut self, reg: Registration) {
        let stored = Stored::new(reg);
        let id = stored.record.id.clone();
        self.by_endpoint
            .insert(stored.record.endpoint.clone(), id.clone());
        self.by_expiry.insert((stored.expires_at(), id.clone()), ());
        self.by_id.insert(id, stored);
    }
}

impl RegistrationStore for InMemoryStore {
    fn get(&self, id: &RegistrationId) -> Option<Registration> {
        self.by_id.get(id).map(Stored::registration)
    }

    fn get_by_endpoint(&self, endpoint: &str) -> Option<Registration> {
        self.by_endpoint
            .get(endpoint)
            .and_then(|id| self.by_id.get(id))
            .map(Stored::registration)
    }

    fn get_by_identity(&self, identity: &Identity) -> Option<Registration> {
        self.by_id
            .values()
            .find(|s| s.record.identity == *identity)
            .map(Stored::registration)
    }

    fn insert(&mut self, reg: Registration) -> Result<Option<Registration>, StoreError> {
        let old = self
            .by_endpoint
            .get(&reg.endpoint)
            .cloned()
            .and_then(|id| self.remove(&id));
        self.index_and_store(reg);
        Ok(old)
    }

    fn update(&mut self, reg: Registration) -> Result<(), StoreError> {
        let Some(old) = self.by_id.remove(&reg.id) else {
            return Err(StoreError::Gone(reg.id));
        };
        self.unindex(&old);
        self.index_and_store(reg);
        Ok(())
    }

    fn remove(&mut self, id: &RegistrationId) -> Option<Registration> {
        let stored = self.by_id.remove(id)?;
        self.unindex(&stored);
        Some(stored.registration())
    }

    fn len(&self) -> usize {
        self.by_id.len()
    }

    fn next_expiry(&self) -> Option<Duration> {
        self.by_expiry.keys().next().map(|(t, _)| *t)
    }

    fn remove_expired(&mut self, now: Duration) -> Vec<Registration> {
        let due: Vec<RegistrationId> = self
            .by_expiry
            .keys()
            .take_while(|(t, _)| *t <= now)
            .map(|(_, id)| id.clone())
            .collect();
        due.iter().filter_map(|id| self.remove(id)).collect()
    }

    fn ids(&self) -> Vec<RegistrationId> {
        self.by_id.keys().cloned().collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::registration::{Binding, LwM2mVersion};
    use mote_coap::content_format::ContentFormat;

    fn registration(id: &str, endpoint: &str, objects: &str) -> Registration {
        Registration {
            id: RegistrationId::from_text(id),
            endpoint: String::from(endpoint),
            identity: Identity::Oscore(alloc::vec![1, 2]),
            version: LwM2mVersion::V1_1,
            lifetime: Duration::from_secs(60),
            binding: Binding::UDP,
            queue_mode: false,
            sms: None,
            profile_ids: alloc::vec![String::from("p")],
            root_path: String::from("/"),
            content_formats: alloc::vec![ContentFormat::SENML_CBOR],
            objects: mote_lwm2m::link::parse(objects, "/").unwrap(),
            registered_at: Duration::from_secs(1),
            last_update: Duration::from_secs(2),
        }
    }

    /// The compact object list gives back every link as it came: plain links, links with
    /// `ver`, and links with any other attribute (kept whole).
    #[test]
    fn the_compact_object_list_round_trips() {
        let objects = "</1/0>,</3/0>,</3303>;ver=1.1,</3303/0>;pmin=10;dim=3,</5/0>;ver=2.0;gt=25";
        let reg = registration("abc", "dev", objects);
        assert_eq!(reg.objects.len(), 5);
        let mut store = InMemoryStore::new();
        assert_eq!(store.insert(reg.clone()).unwrap(), None);
        assert_eq!(store.get(&reg.id), Some(reg.clone()));
        assert_eq!(store.get_by_endpoint("dev"), Some(reg.clone()));
        assert_eq!(store.get_by_identity(&reg.identity), Some(reg.clone()));
        assert_eq!(store.next_expiry(), Some(Duration::from_secs(62)));
        assert_eq!(store.remove(&reg.id), Some(reg));
        assert!(store.is_empty());
    }

    /// The secondary indexes follow an update (new expiry) and a replacement (same endpoint
    /// name, new id).
    #[test]
    fn indexes_follow_update_and_replacement() {
        let mut store = InMemoryStore::new();
        let first = registration("a1", "dev", "</3/0>");
        store.insert(first.clone()).unwrap();
        let mut later = first.clone();
        later.last_update = Duration::from_secs(100);
        store.update(later.clone()).unwrap();
        assert_eq!(store.next_expiry(), Some(Duration::from_secs(160)));
        assert_eq!(store.remove_expired(Duration::from_secs(159)), Vec::new());
        let second = registration("b2", "dev", "</1/0>");
        assert_eq!(store.insert(second.clone()).unwrap(), Some(later));
        assert_eq!(store.len(), 1);
        assert_eq!(store.get(&first.id), None);
        assert_eq!(store.get_by_endpoint("dev"), Some(second.clone()));
        assert_eq!(store.ids(), alloc::vec![second.id.clone()]);
        assert_eq!(
            store.update(first.clone()),
            Err(StoreError::Gone(first.id.clone()))
        );
        assert_eq!(
            store.remove_expired(Duration::from_secs(62)),
            alloc::vec![second]
        );
        assert!(store.is_empty());
    }
}
