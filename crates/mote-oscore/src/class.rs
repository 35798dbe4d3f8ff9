//! How each CoAP option is protected (RFC 8613 §4.1, Figure 5, and the later registrations).

/// The protection class of an option (RFC 8613 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionClass {
    /// Class E only: encrypted and integrity protected (Inner), removed from the outer message.
    Inner,
    /// Class U only: unprotected (Outer), visible to and changeable by proxies.
    Outer,
    /// Both classes: an Inner instance for the peer and an independent Outer instance for
    /// proxies (Observe, Max-Age, the Block options, Size1/Size2, No-Response).
    InnerAndOuter,
    /// Class U that OSCORE transforms before sending: Proxy-Uri is decomposed (§4.1.3.3).
    ProxyUri,
    /// The OSCORE option itself (§4.1.3.7): never in a message to protect.
    Oscore,
}

/// Registered option numbers that OSCORE handles specially (RFC 7252 §12.2 and later).
pub mod number {
    /// If-Match (RFC 7252).
    pub const IF_MATCH: u16 = 1;
    /// Uri-Host (RFC 7252).
    pub const URI_HOST: u16 = 3;
    /// ETag (RFC 7252).
    pub const ETAG: u16 = 4;
    /// If-None-Match (RFC 7252).
    pub const IF_NONE_MATCH: u16 = 5;
    /// Observe (RFC 7641).
    pub const OBSERVE: u16 = 6;
    /// Uri-Port (RFC 7252).
    pub const URI_PORT: u16 = 7;
    /// Location-Path (RFC 7252).
    pub const LOCATION_PATH: u16 = 8;
    /// OSCORE (RFC 8613).
    pub const OSCORE: u16 = 9;
    /// Uri-Path (RFC 7252).
    pub const URI_PATH: u16 = 11;
    /// Content-Format (RFC 7252).
    pub const CONTENT_FORMAT: u16 = 12;
    /// Max-Age (RFC 7252).
    pub const MAX_AGE: u16 = 14;
    /// Uri-Query (RFC 7252).
    pub const URI_QUERY: u16 = 15;
    /// Hop-Limit (RFC 8768).
    pub const HOP_LIMIT: u16 = 16;
    /// Accept (RFC 7252).
    pub const ACCEPT: u16 = 17;
    /// Q-Block1 (RFC 9177).
    pub const Q_BLOCK1: u16 = 19;
    /// Location-Query (RFC 7252).
    pub const LOCATION_QUERY: u16 = 20;
    /// EDHOC (RFC 9668).
    pub const EDHOC: u16 = 21;
    /// Block2 (RFC 7959).
    pub const BLOCK2: u16 = 23;
    /// Block1 (RFC 7959).
    pub const BLOCK1: u16 = 27;
    /// Size2 (RFC 7959).
    pub const SIZE2: u16 = 28;
    /// Q-Block2 (RFC 9177).
    pub const Q_BLOCK2: u16 = 31;
    /// Proxy-Uri (RFC 7252).
    pub const PROXY_URI: u16 = 35;
    /// Proxy-Scheme (RFC 7252).
    pub const PROXY_SCHEME: u16 = 39;
    /// Size1 (RFC 7252, RFC 7959).
    pub const SIZE1: u16 = 60;
    /// Echo (RFC 9175).
    pub const ECHO: u16 = 252;
    /// No-Response (RFC 7967).
    pub const NO_RESPONSE: u16 = 258;
    /// Request-Tag (RFC 9175).
    pub const REQUEST_TAG: u16 = 292;
}

/// The class of option `number` (RFC 8613 §4.1).
///
/// | option | class | reference |
/// |---|---|---|
/// | If-Match, ETag, If-None-Match, Location-Path, Uri-Path, Content-Format, Uri-Query, Accept, Location-Query | E | RFC 8613 Fig. 5 |
/// | Uri-Host, Uri-Port, Proxy-Scheme | U | Fig. 5 |
/// | Proxy-Uri | U, decomposed | §4.1.3.3 |
/// | Observe, Max-Age, Block1, Block2, Size1, Size2, No-Response | E and U | Fig. 5, §4.1.3 |
/// | Hop-Limit | U | RFC 8768 §3 |
/// | EDHOC | U | RFC 9668 §3.1 |
/// | Echo, Request-Tag | E | RFC 9175 §2.2.1, §3.2 |
/// | Q-Block1, Q-Block2 | E and U | RFC 9177 §4.1 ("can be Class E or U") |
/// | anything else | E | RFC 8613 §4.1 ("unknown … SHALL be processed as Class E") |
pub const fn option_class(number: u16) -> OptionClass {
    use number::*;
    match number {
        URI_HOST | URI_PORT | PROXY_SCHEME | HOP_LIMIT | EDHOC => OptionClass::Outer,
        PROXY_URI => OptionClass::ProxyUri,
        OSCORE => OptionClass::Oscore,
        OBSERVE | MAX_AGE | BLOCK1 | BLOCK2 | SIZE1 | SIZE2 | NO_RESPONSE | Q_BLOCK1 | Q_BLOCK2 => {
            OptionClass::InnerAndOuter
        }
        _ => OptionClass::Inner,
    }
}

/// Whether the sender copies this option of the original message into the protected
/// plaintext (Class E), RFC 8613 §4.1.1.
pub(crate) const fn is_inner(number: u16) -> bool {
    matches!(
        option_class(number),
        OptionClass::Inner | OptionClass::InnerAndOuter
    )
}

/// Whether the sender copies this option of the original message unchanged into the
/// outer message (Class U), RFC 8613 §4.1.2.
///
/// Of the options with both an Inner and Outer instance, the original value goes outside
/// only for Observe (§4.1.3.5: the proxy needs it) and for the Outer No-Response
/// value 26 (§4.1.3.6); Max-Age, Block and Size options in the original message are the
/// endpoint's own (Inner, §4.1.3.1 and §4.1.3.4.1) and outer instances are added by proxies.
pub(crate) fn is_outer_copy(number: u16, value: &[u8]) -> bool {
    match option_class(number) {
        OptionClass::Outer => true,
        OptionClass::InnerAndOuter => {
            number == number::OBSERVE || (number == number::NO_RESPONSE && value == [26])
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
pub(crate) const fn keep_received_outer(number: u16) -> bool {
    matches!(
        option_class(number),
        OptionClass::Outer | OptionClass::ProxyUri
    )
}

/// The options (as [`present_bit`](crate::wire::present_bit) bits) that keep a message's
/// options from being copied verbatim into the plaintext of a request: those that are not
/// Class E (RFC 8613 §4.1), and the OSCORE option (§4.1.3.7, an error). Every option number
/// of 63 or more is Class E (checked by a test), so bit 63 is not in the mask.
pub(crate) const NOT_VERBATIM_INNER: u64 = {
    let mut mask = 0u64;
    let mut n = 0u16;
    while n < 63 {
        if !is_inner(n) {
            mask |= 1 << n;
        }
        n += 1;
    }
    mask
};

/// The options that may have to be copied into the outer message (Class U, §4.1.2, and the
/// Proxy-Uri to decompose, §4.1.3.3): when none occurs, the OSCORE option is the only outer
/// option. Observe (§4.1.3.5) is both; bit 63 stands for No-Response (258), outer only with
/// the value 26 (§4.1.3.6).
pub(crate) const OUTER_CANDIDATES: u64 = {
    let mut mask = 1u64 << 63 | 1 << number::OBSERVE;
    let mut n = 0u16;
    while n < 63 {
        if matches!(
            option_class(n),
            OptionClass::Outer | OptionClass::ProxyUri | OptionClass::Oscore
        ) {
            mask |= 1 << n;
        }
        n += 1;
    }
    mask
};

/// The received outer options a receiver keeps ([`keep_received_outer`]); no option number of
/// 63 or more is among them (checked by a test).
pub(crate) const KEPT_OUTER: u64 = {
    let mut mask = 0u64;
    let mut n = 0u16;
    while n < 63 {
        if keep_received_outer(n) {
            mask |= 1 << n;
        }
        n += 1;
    }
    mask
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figure_5() {
        // RFC 8613 Figure 5, row by row.
        let e = [1u16, 4, 5, 8, 11, 12, 15, 17, 20];
        let u = [3u16, 7, 39];
        let both = [6u16, 14, 23, 27, 28, 60, 258];
        for n in e {
            assert_eq!(option_class(n), OptionClass::Inner, "{n}");
        }
        for n in u {
            assert_eq!(option_class(n), OptionClass::Outer, "{n}");
        }
        for n in both {
            assert_eq!(option_class(n), OptionClass::InnerAndOuter, "{n}");
        }
        assert_eq!(option_class(35), OptionClass::ProxyUri);
        assert_eq!(option_class(9), OptionClass::Oscore);
        // Unknown options are Class E.
        assert_eq!(option_class(65000), OptionClass::Inner);
        assert_eq!(option_class(252), OptionClass::Inner);
        assert_eq!(option_class(292), OptionClass::Inner);
        assert_eq!(option_class(16), OptionClass::Outer);
        assert_eq!(option_class(21), OptionClass::Outer);
    }

    #[test]
    fn summary_masks_cover_every_option_number() {
        use crate::wire::present_bit;
        for n in 0..=u16::MAX {
            let bit = present_bit(n);
            if !is_inner(n) {
                assert_ne!(NOT_VERBATIM_INNER & bit, 0, "{n}");
            }
            if is_outer_copy(n, &[26]) || is_outer_copy(n, &[0]) || n == number::PROXY_URI {
                assert_ne!(OUTER_CANDIDATES & bit, 0, "{n}");
            }
            if keep_received_outer(n) {
                assert_ne!(KEPT_OUTER & bit, 0, "{n}");
            }
        }
        assert_eq!(
            NOT_VERBATIM_INNER & present_bit(number::OSCORE),
            present_bit(9)
        );
        assert_eq!(
            OUTER_CANDIDATES & present_bit(number::OSCORE),
            present_bit(9)
        );
    }
}
