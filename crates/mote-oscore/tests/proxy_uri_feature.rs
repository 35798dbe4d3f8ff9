//! A request with Proxy-Uri is protected (RFC 8613 §4.1.3.3) only with the `proxy-uri`
//! feature; without it `protect_request` refuses it and changes nothing. Run it also with
//! `--no-default-features --features alloc` (the device configuration).

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use mote_oscore::{Error, Framing, SecurityContext, SecurityContextParams, peek_oscore_option};

#[test]
fn proxy_uri_requests_are_protected_only_with_its_feature() {
    let secret = [0x11u8; 16];
    let mut client =
        SecurityContext::new(&SecurityContextParams::new(&secret, &[1], &[2])).unwrap();
    // CON GET, Message ID 1, no token; Proxy-Uri (35: delta 13 + 22, length 13 + 5)
    // "coap://example.com/a" (20 bytes).
    let mut request = b"\x40\x01\x00\x01\xdd\x16\x07".to_vec();
    request.extend_from_slice(b"coap://example.com/a");
    let mut out = [0u8; 128];
    let result = client.protect_request(Framing::Udp, &request, &mut out);
    if cfg!(feature = "proxy-uri") {
        let (n, binding) = result.unwrap();
        assert_eq!(binding.request_piv(), [0]);
        assert_eq!(client.sender_sequence_number(), 1);
        // §4.1.3.3: only scheme and host stay outside; the path went inside.
        let outer = &out[..n];
        assert!(outer.windows(18).any(|w| w == b"coap://example.com"));
        assert!(!outer.windows(20).any(|w| w == b"coap://example.com/a"));
        assert_eq!(
            peek_oscore_option(Framing::Udp, outer).unwrap().partial_iv,
            Some(&[0][..])
        );
    } else {
        assert!(matches!(result, Err(Error::InvalidParameter(_))));
        assert_eq!(client.sender_sequence_number(), 0);
    }
}
