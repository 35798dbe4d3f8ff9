//! The Replay Window of a Recipient Context (RFC 8613 §3.2.2, §7.4) and the Notification
//! Number of an observation (§7.4.1).

use crate::Error;

/// Largest Sender Sequence Number: SHALL be less than 2^40 (RFC 8613 §7.2.1).
pub const MAX_SEQUENCE_NUMBER: u64 = (1 << 40) - 1;

/// Default window size: "the default is DTLS-type replay protection with a window size of 32"
/// (RFC 8613 §3.2.2).
pub const DEFAULT_REPLAY_WINDOW: u8 = 32;

/// Largest supported window size.
pub const MAX_REPLAY_WINDOW: u8 = 128;

/// A sliding anti-replay window over received Partial IVs (RFC 8613 §7.4, the DTLS-type
/// window of RFC 6347 §4.1.2.6).
///
/// A Partial IV is accepted once if it lies above the window or inside it and was not seen
/// before; anything below the window is rejected as a possible replay. Checking
/// ([`check`](Self::check)) and updating ([`accept`](Self::accept)) are separate so that a
/// message failing decryption changes nothing (§8.2 step 6);
/// [`check_and_accept`](Self::check_and_accept) does both atomically (§7.4).
///
/// After a reboot without persisted window (Appendix B.1.2), the window starts
/// [`uninitialized`](Self::uninitialized): every Partial IV is rejected with
/// [`Error::ReplayWindowUninitialized`] until it is initialized from a request whose
/// freshness was established with the Echo option.
/// # Example
/// ```
/// use mote_oscore::{Error, ReplayWindow};
/// let mut window = ReplayWindow::new(32)?;
/// window.check_and_accept(5)?;
/// window.check_and_accept(3)?; // older, but inside the window and not seen
/// assert_eq!(window.check(5), Err(Error::Replay));
/// // check() alone changes nothing: accept only after the message verified (§8.2 step 6).
/// window.check(40)?;
/// window.accept(40)?;
/// assert_eq!(window.highest(), Some(40));
/// assert_eq!(window.check(8), Err(Error::Replay)); // fell out of the 32-wide window
/// // After a reboot without the window (Appendix B.1.2) nothing verifies until Echo.
/// let mut lost = ReplayWindow::uninitialized(32)?;
/// assert!(!lost.is_initialized());
/// assert!(lost.check(41).is_err());
/// lost.initialize_at(41)?;
/// assert_eq!(lost.check(41), Err(Error::Replay));
/// lost.check_and_accept(42)?;
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayWindow {
    size: u8,
    state: WindowState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WindowState {
    /// Nothing can be verified (Appendix B.1.2, after a reboot).
    Uninitialized,
    /// Nothing received yet: every Partial IV is new.
    Empty,
    /// `highest` is the largest accepted Partial IV; bit `i` of `seen` marks `highest - i`.
    Active { highest: u64, seen: u128 },
}

impl Default for ReplayWindow {
    fn default() -> Self {
        Self::new(DEFAULT_REPLAY_WINDOW).unwrap_or(Self {
            size: DEFAULT_REPLAY_WINDOW,
            state: WindowState::Empty,
        })
    }
}

impl ReplayWindow {
    /// A fresh window for a newly derived context, accepting any Partial IV.
    /// `size` is between 1 and [`MAX_REPLAY_WINDOW`].
    ///
    /// ```
    /// # use mote_oscore::ReplayWindow;
    /// let mut window = ReplayWindow::new(32)?;
    /// window.check_and_accept(7)?;
    /// assert!(window.check(7).is_err()); // a replay
    /// assert!(window.check(3).is_ok()); // older, but not seen yet
    /// assert!(ReplayWindow::new(0).is_err());
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn new(size: u8) -> Result<Self, Error> {
        if size == 0 || size > MAX_REPLAY_WINDOW {
            return Err(Error::InvalidParameter(crate::error::reason(
                "replay window size must be 1..=128",
            )));
        }
        Ok(Self {
            size,
            state: WindowState::Empty,
        })
    }

    /// A window that cannot verify anything yet (RFC 8613 Appendix B.1.2): the server lost
    /// its window, e.g. at reboot, and must re-establish it with an Echo exchange.
    ///
    /// ```
    /// # use mote_oscore::ReplayWindow;
    /// let window = ReplayWindow::uninitialized(32)?;
    /// assert!(!window.is_initialized());
    /// assert!(window.check(0).is_err()); // nothing verifies until the Echo exchange (B.1.2)
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn uninitialized(size: u8) -> Result<Self, Error> {
        let mut w = Self::new(size)?;
        w.state = WindowState::Uninitialized;
        Ok(w)
    }

    /// A window that treats every Partial IV below `lowest_unseen` as already received,
    /// e.g. restored from a persisted lower bound.
    ///
    /// ```
    /// # use mote_oscore::ReplayWindow;
    /// let window = ReplayWindow::starting_at(32, 100)?;
    /// assert!(window.check(99).is_err());
    /// assert!(window.check(100).is_ok());
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn starting_at(size: u8, lowest_unseen: u64) -> Result<Self, Error> {
        let mut w = Self::new(size)?;
        if lowest_unseen > 0 {
            w.state = WindowState::Active {
                highest: lowest_unseen - 1,
                seen: u128::MAX,
            };
        }
        Ok(w)
    }

    /// The window size.
    ///
    /// ```
    /// # use mote_oscore::ReplayWindow;
    /// assert_eq!(ReplayWindow::new(64)?.size(), 64);
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn size(&self) -> u8 {
        self.size
    }

    /// Whether the window must still be initialized (Appendix B.1.2).
    ///
    /// ```
    /// # use mote_oscore::ReplayWindow;
    /// assert!(ReplayWindow::new(32)?.is_initialized());
    /// assert!(!ReplayWindow::uninitialized(32)?.is_initialized());
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn is_initialized(&self) -> bool {
        self.state != WindowState::Uninitialized
    }

    /// The largest accepted Partial IV, if any.
    ///
    /// ```
    /// # use mote_oscore::ReplayWindow;
    /// let mut window = ReplayWindow::new(32)?;
    /// assert_eq!(window.highest(), None);
    /// window.accept(5)?;
    /// window.accept(2)?;
    /// assert_eq!(window.highest(), Some(5));
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn highest(&self) -> Option<u64> {
        match self.state {
            WindowState::Active { highest, .. } => Some(highest),
            _ => None,
        }
    }

    /// Checks, without changing anything, whether `piv` may be accepted (RFC 8613 §7.4).
    ///
    /// ```
    /// # use mote_oscore::ReplayWindow;
    /// let mut window = ReplayWindow::new(8)?;
    /// window.accept(20)?;
    /// assert!(window.check(21).is_ok());
    /// assert!(window.check(20).is_err()); // seen
    /// assert!(window.check(12).is_err()); // below the 8-wide window: treated as a replay
    /// assert!(window.check(13).is_ok()); // in the window, unseen
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    #[inline]
    pub fn check(&self, piv: u64) -> Result<(), Error> {
        if piv > MAX_SEQUENCE_NUMBER {
            return Err(Error::Replay);
        }
        match self.state {
            WindowState::Uninitialized => Err(Error::ReplayWindowUninitialized),
            WindowState::Empty => Ok(()),
            WindowState::Active { highest, seen } => {
                if piv > highest {
                    return Ok(());
                }
                let age = highest - piv;
                if age >= u64::from(self.size) {
                    return Err(Error::Replay);
                }
                if seen & (1u128 << age) != 0 {
                    Err(Error::Replay)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Records `piv` as received. Call only after the message carrying it was verified
    /// (RFC 8613 §8.2 step 6); an unverified Partial IV must never move the window.
    ///
    /// ```
    /// # use mote_oscore::ReplayWindow;
    /// let mut window = ReplayWindow::new(32)?;
    /// // Only after the message with this Partial IV verified (RFC 8613 §8.2 step 6).
    /// window.accept(1)?;
    /// assert!(window.check(1).is_err());
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    #[inline]
    pub fn accept(&mut self, piv: u64) -> Result<(), Error> {
        self.check(piv)?;
        self.state = match self.state {
            WindowState::Uninitialized => return Err(Error::ReplayWindowUninitialized),
            WindowState::Empty => WindowState::Active {
                highest: piv,
                seen: 1,
            },
            WindowState::Active { highest, seen } => {
                if piv > highest {
                    let shift = piv - highest;
                    let seen = if shift >= 128 { 0 } else { seen << shift };
                    WindowState::Active {
                        highest: piv,
                        seen: (seen | 1) & self.mask(),
                    }
                } else {
                    WindowState::Active {
                        highest,
                        seen: seen | (1u128 << (highest - piv)),
                    }
                }
            }
        };
        Ok(())
    }

    /// [`check`](Self::check) and [`accept`](Self::accept) as one atomic step (RFC 8613 §7.4).
    ///
    /// ```
    /// # use mote_oscore::ReplayWindow;
    /// let mut window = ReplayWindow::new(32)?;
    /// window.check_and_accept(4)?;
    /// assert!(window.check_and_accept(4).is_err());
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn check_and_accept(&mut self, piv: u64) -> Result<(), Error> {
        self.accept(piv)
    }

    /// Initializes an uninitialized window from the Partial IV of a request whose freshness
    /// was verified with Echo (RFC 8613 Appendix B.1.2): `piv` is recorded and every lower
    /// Partial IV is treated as received.
    ///
    /// ```
    /// # use mote_oscore::ReplayWindow;
    /// let mut window = ReplayWindow::uninitialized(32)?;
    /// window.initialize_at(1000)?; // the request that returned our Echo value had Partial IV 1000
    /// assert!(window.is_initialized());
    /// assert!(window.check(999).is_err() && window.check(1000).is_err());
    /// assert!(window.check(1001).is_ok());
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn initialize_at(&mut self, piv: u64) -> Result<(), Error> {
        if piv > MAX_SEQUENCE_NUMBER {
            return Err(Error::Replay);
        }
        self.state = WindowState::Active {
            highest: piv,
            seen: self.mask(),
        };
        Ok(())
    }

    fn mask(&self) -> u128 {
        if self.size >= 128 {
            u128::MAX
        } else {
            (1u128 << self.size) - 1
        }
    }
}

/// The Notification Number of one observation (RFC 8613 §4.1.3.5.2, §7.4.1).
///
/// The client keeps the largest Partial IV of the verified notifications and accepts only
/// notifications with a greater Partial IV (the option §7.4.1 gives applications), and at
/// most one notification without Partial IV, which counts as the oldest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NotificationNumber {
    number: Option<u64>,
    unnumbered_seen: bool,
}

impl NotificationNumber {
    /// The state from its parts (the largest Partial IV, whether the unnumbered notification
    /// was seen).
    // Used by the endpoint protection, which needs `alloc`.
    #[cfg_attr(not(feature = "alloc"), allow(dead_code))]
    pub(crate) fn from_parts(number: Option<u64>, unnumbered_seen: bool) -> Self {
        Self {
            number,
            unnumbered_seen,
        }
    }

    /// Whether the notification without Partial IV was accepted.
    // Used by the endpoint protection, which needs `alloc`.
    #[cfg_attr(not(feature = "alloc"), allow(dead_code))]
    pub(crate) fn unnumbered_seen(&self) -> bool {
        self.unnumbered_seen
    }

    /// The largest Partial IV received so far.
    /// ```
    /// use mote_oscore::replay::NotificationNumber;
    /// let mut number = NotificationNumber::default();
    /// assert_eq!(number.get(), None);
    /// number.accept(Some(5))?;
    /// assert_eq!(number.get(), Some(5));
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn get(&self) -> Option<u64> {
        self.number
    }

    /// Checks a notification's Partial IV (`None`: no Partial IV) without changing state.
    /// ```
    /// use mote_oscore::Error;
    /// use mote_oscore::replay::NotificationNumber;
    /// let mut number = NotificationNumber::default();
    /// number.check(None)?; // the first notification may come without Partial IV
    /// number.accept(Some(5))?;
    /// assert_eq!(number.check(Some(5)), Err(Error::Replay)); // not greater
    /// assert_eq!(number.check(Some(4)), Err(Error::Replay));
    /// number.check(Some(6))?;
    /// assert_eq!(number.get(), Some(5)); // checking changes nothing
    /// // Without Partial IV a notification counts as the oldest: too late now.
    /// assert_eq!(number.check(None), Err(Error::Replay));
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn check(&self, piv: Option<u64>) -> Result<(), Error> {
        match (piv, self.number) {
            // §7.4.1: at most one notification without Partial IV, and it is the oldest.
            (None, None) if !self.unnumbered_seen => Ok(()),
            (None, _) => Err(Error::Replay),
            (Some(_), None) => Ok(()),
            (Some(p), Some(n)) if p > n => Ok(()),
            (Some(_), Some(_)) => Err(Error::Replay),
        }
    }

    /// Records a verified notification.
    /// ```
    /// use mote_oscore::Error;
    /// use mote_oscore::replay::NotificationNumber;
    /// let mut number = NotificationNumber::default();
    /// number.accept(None)?; // the one notification without Partial IV (RFC 8613 §7.4.1)
    /// assert_eq!(number.accept(None), Err(Error::Replay));
    /// number.accept(Some(3))?;
    /// number.accept(Some(9))?; // gaps are fine, only the order counts
    /// assert_eq!(number.accept(Some(9)), Err(Error::Replay));
    /// assert_eq!(number.get(), Some(9)); // a refused notification changes nothing
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn accept(&mut self, piv: Option<u64>) -> Result<(), Error> {
        self.check(piv)?;
        match piv {
            None => self.unnumbered_seen = true,
            Some(p) => self.number = Some(p),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_basics() {
        let mut w = ReplayWindow::default();
        w.accept(5).unwrap();
        assert_eq!(w.check(5), Err(Error::Replay));
        w.accept(3).unwrap();
        w.accept(40).unwrap();
        assert_eq!(w.check(8), Err(Error::Replay), "below the window");
        w.check(9).unwrap();
        assert_eq!(w.check(MAX_SEQUENCE_NUMBER + 1), Err(Error::Replay));
    }

    #[test]
    fn uninitialized_until_echo() {
        let mut w = ReplayWindow::uninitialized(32).unwrap();
        assert_eq!(w.check(0), Err(Error::ReplayWindowUninitialized));
        w.initialize_at(100).unwrap();
        assert_eq!(w.check(100), Err(Error::Replay));
        assert_eq!(w.check(99), Err(Error::Replay));
        w.check(101).unwrap();
    }

    #[test]
    fn notifications() {
        let mut n = NotificationNumber::default();
        n.accept(None).unwrap();
        assert!(n.accept(None).is_err());
        n.accept(Some(3)).unwrap();
        assert!(n.check(Some(3)).is_err());
        assert!(n.check(Some(2)).is_err());
        n.accept(Some(9)).unwrap();
    }

    /// Mutation testing (docs/mutation-testing.md): the size is what was asked for, and the
    /// largest Partial IV (2^40 − 1, RFC 8613 §7.2.1) is accepted, one more is not.
    #[test]
    fn size_and_the_largest_partial_iv() {
        assert_eq!(ReplayWindow::new(32).unwrap().size(), 32);
        assert_eq!(ReplayWindow::new(64).unwrap().size(), 64);
        let w = ReplayWindow::default();
        assert_eq!(w.check(MAX_SEQUENCE_NUMBER), Ok(()));
        assert_eq!(w.check(MAX_SEQUENCE_NUMBER + 1), Err(Error::Replay));
        let mut u = ReplayWindow::uninitialized(32).unwrap();
        assert_eq!(u.initialize_at(MAX_SEQUENCE_NUMBER + 1), Err(Error::Replay));
        assert!(!u.is_initialized());
        assert_eq!(u.initialize_at(MAX_SEQUENCE_NUMBER), Ok(()));
        assert_eq!(u.highest(), Some(MAX_SEQUENCE_NUMBER));
        let mut z = ReplayWindow::uninitialized(32).unwrap();
        assert_eq!(z.initialize_at(0), Ok(()));
        assert_eq!(z.check(0), Err(Error::Replay));
        assert_eq!(z.check(1), Ok(()));
    }

    /// A window restored from a lower bound treats everything below it as received.
    #[test]
    fn starting_at_a_lower_bound() {
        let w = ReplayWindow::starting_at(64, 10).unwrap();
        assert_eq!(w.size(), 64);
        assert_eq!(w.highest(), Some(9));
        for piv in 0..10 {
            assert_eq!(w.check(piv), Err(Error::Replay), "{piv}");
        }
        assert_eq!(w.check(10), Ok(()));
        // Nothing received yet: everything from 0 on is new.
        let w = ReplayWindow::starting_at(32, 0).unwrap();
        assert_eq!(w.highest(), None);
        assert_eq!(w.check(0), Ok(()));
        let w = ReplayWindow::starting_at(32, 1).unwrap();
        assert_eq!(w.highest(), Some(0));
        assert_eq!(w.check(0), Err(Error::Replay));
        assert_eq!(w.check(1), Ok(()));
    }

    /// The unnumbered notification is remembered (and carried across clones of a binding
    /// through `unnumbered_seen`).
    #[test]
    fn the_unnumbered_notification_is_remembered() {
        let mut n = NotificationNumber::default();
        assert!(!n.unnumbered_seen());
        n.accept(None).unwrap();
        assert!(n.unnumbered_seen());
        let restored = NotificationNumber::from_parts(None, n.unnumbered_seen());
        assert_eq!(restored.check(None), Err(Error::Replay));
        let fresh = NotificationNumber::from_parts(None, false);
        assert_eq!(fresh.check(None), Ok(()));
    }
}
