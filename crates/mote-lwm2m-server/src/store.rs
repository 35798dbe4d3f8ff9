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

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

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
#[derive(Clone, Debug, Default)]
pub struct InMemoryStore {
    by_id: BTreeMap<RegistrationId, Registration>,
    by_endpoint: BTreeMap<String, RegistrationId>,
    by_expiry: BTreeMap<(Duration, RegistrationId), ()>,
}

impl InMemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        InMemoryStore::default()
    }

    fn unindex(&mut self, reg: &Registration) {
        self.by_endpoint.remove(&reg.endpoint);
        self.by_expiry.remove(&(reg.expires_at(), reg.id.clone()));
    }
}

impl RegistrationStore for InMemoryStore {
    fn get(&self, id: &RegistrationId) -> Option<Registration> {
        self.by_id.get(id).cloned()
    }

    fn get_by_endpoint(&self, endpoint: &str) -> Option<Registration> {
        self.by_endpoint
            .get(endpoint)
            .and_then(|id| self.by_id.get(id))
            .cloned()
    }

    fn get_by_identity(&self, identity: &Identity) -> Option<Registration> {
        self.by_id
            .values()
            .find(|r| r.identity == *identity)
            .cloned()
    }

    fn insert(&mut self, reg: Registration) -> Result<Option<Registration>, StoreError> {
        let old = self
            .by_endpoint
            .get(&reg.endpoint)
            .cloned()
            .and_then(|id| self.remove(&id));
        self.by_endpoint
            .insert(reg.endpoint.clone(), reg.id.clone());
        self.by_expiry
            .insert((reg.expires_at(), reg.id.clone()), ());
        self.by_id.insert(reg.id.clone(), reg);
        Ok(old)
    }

    fn update(&mut self, reg: Registration) -> Result<(), StoreError> {
        let Some(old) = self.by_id.get(&reg.id).cloned() else {
            return Err(StoreError::Gone(reg.id));
        };
        self.unindex(&old);
        self.by_endpoint
            .insert(reg.endpoint.clone(), reg.id.clone());
        self.by_expiry
            .insert((reg.expires_at(), reg.id.clone()), ());
        self.by_id.insert(reg.id.clone(), reg);
        Ok(())
    }

    fn remove(&mut self, id: &RegistrationId) -> Option<Registration> {
        let reg = self.by_id.remove(id)?;
        self.unindex(&reg);
        Some(reg)
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
