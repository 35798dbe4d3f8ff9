//! Persistence of the Sender Sequence Number (RFC 8613 Appendix B.1.1).
//!
//! The context writes the current sequence number to a [`SequenceStore`] every K numbers,
//! *before* the first of them is sent; after a reboot it reads the stored value `s` and
//! continues at `s + F` (`F ≥ K`), so no (Sender ID, sequence number) pair is used twice
//! (§7.2, §7.5). See [`SecurityContext::restore`](crate::SecurityContext::restore).

use crate::Error;

/// Non-volatile storage for one Sender Sequence Number.
///
/// [`store`](Self::store) must be durable when it returns `Ok` (e.g. written and fsync'd):
/// the number may be used on the wire right after. An `Err` stops the message (fail closed).
/// # Example
/// A store that keeps the number in a "file" (here a `Cell`), used with K = 10, F = 20 across
/// a simulated reboot (Appendix B.1.1).
/// ```
/// use std::cell::Cell;
/// use mote_oscore::{Error, Framing, SecurityContext, SecurityContextParams};
/// use mote_oscore::sequence::SequenceStore;
///
/// struct Flash<'a>(&'a Cell<Option<u64>>);
/// impl SequenceStore for Flash<'_> {
///     fn load(&mut self) -> Result<Option<u64>, Error> { Ok(self.0.get()) }
///     fn store(&mut self, seq: u64) -> Result<(), Error> { self.0.set(Some(seq)); Ok(()) }
/// }
///
/// let flash = Cell::new(None);
/// let params = SecurityContextParams::new(&[7; 16], &[0x01], &[0x02]);
/// let mut ctx = SecurityContext::restore(&params, Flash(&flash), 10, 20, false)?;
/// let get = b"\x41\x01\x00\x01\x42\xb4temp";
/// let mut wire = [0u8; 64];
/// for _ in 0..12 {
///     ctx.protect_request(Framing::Udp, get, &mut wire)?;
/// }
/// // Stored before 0 and before 10 were used: the highest stored value is 10.
/// assert_eq!(flash.get(), Some(10));
/// // After a reboot, sending resumes at 10 + F: no number can have been used twice.
/// let ctx = SecurityContext::restore(&params, Flash(&flash), 10, 20, false)?;
/// assert_eq!(ctx.sender_sequence_number(), 30);
/// # Ok::<(), Error>(())
/// ```
pub trait SequenceStore {
    /// The last stored value, `None` if nothing was ever stored.
    fn load(&mut self) -> Result<Option<u64>, Error>;
    /// Durably records `seq`.
    fn store(&mut self, seq: u64) -> Result<(), Error>;
}

/// No persistence: the sequence number lives in memory only (tests, contexts that are
/// re-derived at every boot as in Appendix B.2, or EDHOC-derived contexts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Volatile;

impl SequenceStore for Volatile {
    fn load(&mut self) -> Result<Option<u64>, Error> {
        Ok(None)
    }

    fn store(&mut self, _seq: u64) -> Result<(), Error> {
        Ok(())
    }
}

/// A store in memory that counts its writes: for tests and simulations of reboots.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryStore {
    /// The stored value.
    pub value: Option<u64>,
    /// How many times [`store`](SequenceStore::store) was called.
    pub writes: u64,
    /// When set, every store fails (to test the fail-closed path).
    pub fail: bool,
}

impl SequenceStore for MemoryStore {
    fn load(&mut self) -> Result<Option<u64>, Error> {
        Ok(self.value)
    }

    fn store(&mut self, seq: u64) -> Result<(), Error> {
        if self.fail {
            return Err(Error::Store);
        }
        self.value = Some(seq);
        self.writes += 1;
        Ok(())
    }
}

impl<T: SequenceStore + ?Sized> SequenceStore for &mut T {
    fn load(&mut self) -> Result<Option<u64>, Error> {
        (**self).load()
    }

    fn store(&mut self, seq: u64) -> Result<(), Error> {
        (**self).store(seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mutation testing (docs/mutation-testing.md): `Volatile` never claims a stored value
    /// (a context with it starts at 0), and `MemoryStore` counts every write.
    #[test]
    fn volatile_stores_nothing_and_memory_store_counts_writes() {
        let mut v = Volatile;
        v.store(7).unwrap();
        assert_eq!(v.load(), Ok(None));
        let mut m = MemoryStore::default();
        assert_eq!(m.load(), Ok(None));
        m.store(16).unwrap();
        m.store(32).unwrap();
        assert_eq!(m.writes, 2);
        assert_eq!(m.load(), Ok(Some(32)));
        // Through `&mut T`.
        let mut r = &mut m;
        <&mut MemoryStore as SequenceStore>::store(&mut r, 48).unwrap();
        assert_eq!(
            <&mut MemoryStore as SequenceStore>::load(&mut r),
            Ok(Some(48))
        );
        assert_eq!(m.writes, 3);
        m.fail = true;
        assert_eq!(m.store(64), Err(Error::Store));
        assert_eq!(m.value, Some(48));
    }
}
