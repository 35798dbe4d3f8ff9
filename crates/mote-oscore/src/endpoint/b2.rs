//! RFC 8613 Appendix B.2 inside [`OscoreProtection`](super::OscoreProtection): the state of
//! the contexts added with [`add_context_b2`](super::OscoreProtection::add_context_b2).
//!
//! A *root* is the provisioned context (Master Secret, Master Salt, Sender ID, Recipient ID).
//! Per root the set holds at most one *derived* context (ID Context R2 ‖ R3, Appendix B.2
//! step 3), replaced by each new run of the procedure, and the server keeps the R2 values of
//! the responses #1 it sent in a bounded list (Appendix B.2.1: the oldest is dropped).

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use mote_coap::transmission::RandomSource;

use super::ContextId;
use crate::context::{IdContext, SecurityContext};
use crate::sequence::Volatile;

/// Length of R1, R2 and R3 (Appendix B.2: "at least 64 bits"), and of the marker Echo value
/// the client uses to have the endpoint send request #2.
pub(super) const NONCE_LEN: usize = 8;

/// `NONCE_LEN` bytes from the caller's random source.
pub(super) fn random<R: RandomSource>(rng: &mut R) -> [u8; NONCE_LEN] {
    let mut out = [0u8; NONCE_LEN];
    for chunk in out.chunks_mut(4) {
        let r = rng.next_u32().to_be_bytes();
        chunk.copy_from_slice(r.get(..chunk.len()).unwrap_or_default());
    }
    out
}

/// The context derived for a root (Appendix B.2 step 3/4). Its keys are new, so it starts at
/// Sender Sequence Number 0 with an empty replay window and needs no Appendix B.1
/// persistence: after a reboot, the procedure runs again and derives another one.
#[derive(Debug)]
pub(super) struct Derived {
    /// Its name (ID Context R2 ‖ R3).
    pub id: ContextId,
    /// The context.
    pub context: SecurityContext<Volatile>,
}

/// Client: how many retry markers a root keeps (requests sent concurrently on first use each
/// get a response #1 and a marker; the oldest is forgotten beyond).
pub(super) const MAX_RETRY_MARKERS: usize = 4;

/// One root and its derived context.
#[derive(Debug)]
// Only `add_context_b2` (feature `appendix-b2`) makes roots.
#[cfg_attr(not(feature = "appendix-b2"), allow(dead_code))]
pub(super) struct Root {
    /// The root's name (its own ID Context, possibly none).
    pub id: ContextId,
    /// The derived context, once the procedure completed.
    pub derived: Option<Derived>,
    /// The peer used the root itself (plain OSCORE, no B.2): requests to it then go out under
    /// the root too instead of starting the procedure.
    pub plain_peer: bool,
    /// Client: the Echo values added to responses #1 so the endpoint sends each request
    /// again (as request #2); removed from that request before it is protected. At most
    /// [`MAX_RETRY_MARKERS`].
    pub retry_markers: VecDeque<[u8; NONCE_LEN]>,
}

/// A response #1 the server sent (Appendix B.2 step 2).
#[derive(Debug)]
pub(super) struct PendingR2 {
    /// The root whose keys were used.
    pub root: ContextId,
    /// The R2 it carried.
    pub r2: IdContext,
    /// ID1 of request #1 and its Partial IV: the same request #1 again is a replay.
    pub id1: IdContext,
    /// The Partial IV of request #1.
    pub piv: Vec<u8>,
}

/// Every root, and the pending R2 values (bounded by `max_pending`).
#[derive(Debug)]
pub(super) struct AppendixB2 {
    pub roots: Vec<Root>,
    pub pending: VecDeque<PendingR2>,
    pub max_pending: usize,
}

/// The default bound of the pending R2 values.
pub(super) const DEFAULT_MAX_PENDING_R2: usize = 8;

impl AppendixB2 {
    pub(super) fn new() -> Self {
        Self {
            roots: Vec::new(),
            pending: VecDeque::new(),
            max_pending: DEFAULT_MAX_PENDING_R2,
        }
    }

    /// The roots: always none without the `appendix-b2` feature (no context can be added as
    /// a root), so every Appendix B.2 branch of the endpoint protection is dead code there.
    pub(super) fn roots(&self) -> &[Root] {
        if cfg!(feature = "appendix-b2") {
            &self.roots
        } else {
            &[]
        }
    }

    pub(super) fn root(&self, id: &ContextId) -> Option<&Root> {
        self.roots().iter().find(|r| r.id == *id)
    }

    pub(super) fn root_mut(&mut self, id: &ContextId) -> Option<&mut Root> {
        if !cfg!(feature = "appendix-b2") {
            return None;
        }
        self.roots.iter_mut().find(|r| r.id == *id)
    }

    /// The derived context `derived` of root `root`, if it is still the current one.
    pub(super) fn derived_mut(
        &mut self,
        root: &ContextId,
        derived: &ContextId,
    ) -> Option<&mut Derived> {
        self.root_mut(root)?
            .derived
            .as_mut()
            .filter(|d| d.id == *derived)
    }

    /// Installs `context` as the derived context of `root` (a previous one is dropped: at most
    /// one per root) and forgets the root's pending R2 values (step 4).
    pub(super) fn install(
        &mut self,
        root: &ContextId,
        context: SecurityContext<Volatile>,
        retry_marker: Option<[u8; NONCE_LEN]>,
    ) -> Option<ContextId> {
        let id = ContextId::of(&context);
        let r = self.root_mut(root)?;
        r.derived = Some(Derived { id, context });
        if let Some(marker) = retry_marker {
            while r.retry_markers.len() >= MAX_RETRY_MARKERS.max(1) {
                r.retry_markers.pop_front();
            }
            r.retry_markers.push_back(marker);
        }
        self.pending.retain(|p| p.root != *root);
        Some(id)
    }

    /// Remembers a response #1; when `max_pending` are held, the oldest is dropped
    /// (Appendix B.2.1).
    pub(super) fn remember(&mut self, entry: PendingR2) {
        if self.max_pending == 0 {
            return;
        }
        while self.pending.len() >= self.max_pending {
            self.pending.pop_front();
        }
        self.pending.push_back(entry);
    }

    /// Whether `kid_context` (ID3) of a request to `root` starts with an R2 the server sent
    /// and is longer (step 4: ID3 = R2 ‖ R3).
    pub(super) fn is_request_2(&self, root: &ContextId, kid_context: &[u8]) -> bool {
        self.pending.iter().any(|p| {
            p.root == *root
                && kid_context.len() > p.r2.as_slice().len()
                && kid_context.starts_with(p.r2.as_slice())
        })
    }

    /// Whether this request #1 (ID1, Partial IV) was answered already.
    pub(super) fn is_replayed_request_1(&self, root: &ContextId, id1: &[u8], piv: &[u8]) -> bool {
        self.pending
            .iter()
            .any(|p| p.root == *root && p.id1.as_slice() == id1 && p.piv == piv)
    }
}
