//! What OSCORE does with each option class when it splits a message into its outer message and
//! its plaintext and back (RFC 8613 §4.1). The class of each option is a property of
//! mote-coap's option registry ([`OptionNumber::oscore_class`]); this module holds the rules
//! of this crate on top of it, and the option sets that let the common messages skip a pass.
//!
//! ```
//! use mote_coap::option::OptionNumber;
//! use mote_oscore::class::OscoreClass;
//! // RFC 8613 §4.1: Uri-Path is encrypted (Class E), Uri-Host stays outside for the proxy
//! // (Class U), Observe has an Inner and an Outer instance.
//! assert_eq!(OptionNumber::URI_PATH.oscore_class(), OscoreClass::Inner);
//! assert_eq!(OptionNumber::URI_HOST.oscore_class(), OscoreClass::Outer);
//! assert_eq!(OptionNumber::OBSERVE.oscore_class(), OscoreClass::InnerAndOuter);
//! assert!(OscoreClass::InnerAndOuter.is_inner() && OscoreClass::InnerAndOuter.is_outer());
//! ```

pub use mote_coap::option::OscoreClass;
use mote_coap::option::{OptionNumber, OptionSet};

/// Whether the sender copies this option of the original message unchanged into the
/// outer message (Class U), RFC 8613 §4.1.2.
///
/// Of the options with both an Inner and Outer instance, the original value goes outside
/// only for Observe (§4.1.3.5: the proxy needs it) and for the Outer No-Response
/// value 26 (§4.1.3.6); Max-Age, Block and Size options in the original message are the
/// endpoint's own (Inner, §4.1.3.1 and §4.1.3.4.1) and outer instances are added by proxies.
pub(crate) fn is_outer_copy(number: OptionNumber, value: &[u8]) -> bool {
    match number.oscore_class() {
        OscoreClass::Outer => true,
        OscoreClass::InnerAndOuter => {
            number == OptionNumber::OBSERVE
                || (number == OptionNumber::NO_RESPONSE && value == [26])
        }
        _ => false,
    }
}

/// Whether a received outer option is used by the receiver (Class U) rather than discarded
/// as a Class E option that should not be outside (RFC 8613 §8.2 step 1, §8.4 step 1).
///
/// Outer instances of options with both classes are for intermediaries and the inner
/// instance wins: the outer Observe, Max-Age, Block and Size options and No-Response are
/// discarded when the decrypted message is assembled.
pub(crate) const fn keep_received_outer(number: OptionNumber) -> bool {
    matches!(
        number.oscore_class(),
        OscoreClass::Outer | OscoreClass::ProxyUri
    )
}

/// The options that keep a message's options from being copied verbatim into the plaintext
/// of a request: those that are not Class E (RFC 8613 §4.1), and the OSCORE option
/// (§4.1.3.7, an error). Every option number of 63 or more is Class E (checked by a test), so
/// the shared bit of those numbers is not in the set.
pub(crate) const NOT_VERBATIM_INNER: OptionSet = {
    let mut set = OptionSet::EMPTY;
    let mut n = 0u16;
    while n < 63 {
        if !OptionNumber(n).oscore_class().is_inner() {
            set = set.with(OptionNumber(n));
        }
        n += 1;
    }
    set
};

/// The options that may have to be copied into the outer message (Class U, §4.1.2, and the
/// Proxy-Uri to decompose, §4.1.3.3): when none occurs, the OSCORE option is the only outer
/// option. Observe (§4.1.3.5) is both; the shared bit of the numbers of 63 and more stands for
/// No-Response (258), outer only with the value 26 (§4.1.3.6).
pub(crate) const OUTER_CANDIDATES: OptionSet = {
    let mut set = OptionSet::EMPTY
        .with(OptionNumber::NO_RESPONSE)
        .with(OptionNumber::OBSERVE);
    let mut n = 0u16;
    while n < 63 {
        if matches!(
            OptionNumber(n).oscore_class(),
            OscoreClass::Outer | OscoreClass::ProxyUri | OscoreClass::Oscore
        ) {
            set = set.with(OptionNumber(n));
        }
        n += 1;
    }
    set
};

/// The received outer options a receiver keeps ([`keep_received_outer`]); no option number of
/// 63 or more is among them (checked by a test).
pub(crate) const KEPT_OUTER: OptionSet = {
    let mut set = OptionSet::EMPTY;
    let mut n = 0u16;
    while n < 63 {
        if keep_received_outer(OptionNumber(n)) {
            set = set.with(OptionNumber(n));
        }
        n += 1;
    }
    set
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figure_5() {
        // RFC 8613 Figure 5, row by row, as mote-coap's registry says.
        let e = [1u16, 4, 5, 8, 11, 12, 15, 17, 20];
        let u = [3u16, 7, 39];
        let both = [6u16, 14, 23, 27, 28, 60, 258];
        for n in e {
            assert_eq!(OptionNumber(n).oscore_class(), OscoreClass::Inner, "{n}");
        }
        for n in u {
            assert_eq!(OptionNumber(n).oscore_class(), OscoreClass::Outer, "{n}");
        }
        for n in both {
            assert_eq!(
                OptionNumber(n).oscore_class(),
                OscoreClass::InnerAndOuter,
                "{n}"
            );
        }
        assert_eq!(OptionNumber(35).oscore_class(), OscoreClass::ProxyUri);
        assert_eq!(OptionNumber(9).oscore_class(), OscoreClass::Oscore);
        // Unknown options are Class E.
        assert_eq!(OptionNumber(65000).oscore_class(), OscoreClass::Inner);
        // RFC 9175 §2.3, §3.2: Echo and Request-Tag are Class E; RFC 8768 Hop-Limit and
        // RFC 9668 EDHOC are Class U; RFC 9177 Q-Block1/2 both.
        assert_eq!(OptionNumber(252).oscore_class(), OscoreClass::Inner);
        assert_eq!(OptionNumber(292).oscore_class(), OscoreClass::Inner);
        assert_eq!(OptionNumber(16).oscore_class(), OscoreClass::Outer);
        assert_eq!(OptionNumber(21).oscore_class(), OscoreClass::Outer);
        assert_eq!(OptionNumber(19).oscore_class(), OscoreClass::InnerAndOuter);
        assert_eq!(OptionNumber(31).oscore_class(), OscoreClass::InnerAndOuter);
    }

    #[test]
    fn summary_sets_cover_every_option_number() {
        for n in 0..=u16::MAX {
            let number = OptionNumber(n);
            if !number.oscore_class().is_inner() {
                assert!(NOT_VERBATIM_INNER.may_contain(number), "{n}");
            }
            if is_outer_copy(number, &[26])
                || is_outer_copy(number, &[0])
                || number == OptionNumber::PROXY_URI
            {
                assert!(OUTER_CANDIDATES.may_contain(number), "{n}");
            }
            if keep_received_outer(number) {
                assert!(KEPT_OUTER.may_contain(number), "{n}");
            }
        }
        let oscore = OptionSet::EMPTY.with(OptionNumber::OSCORE);
        assert!(NOT_VERBATIM_INNER.intersects(oscore));
        assert!(OUTER_CANDIDATES.intersects(oscore));
        assert!(!KEPT_OUTER.intersects(oscore));
        // Class E options do not spoil the verbatim copy.
        assert!(!NOT_VERBATIM_INNER.may_contain(OptionNumber::URI_PATH));
        assert!(!NOT_VERBATIM_INNER.may_contain(OptionNumber::ECHO));
    }
}
