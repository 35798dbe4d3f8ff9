#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod error;

// Message codec and registries (RFC 7252 §3, §5.10, §12; RFC 8974; RFC 8323).
pub mod code;
pub mod content_format;
pub mod framing;
pub mod message;
pub mod option;
pub mod tcp;

// Extensions and companions (RFC 7959, RFC 7641, RFC 9175, RFC 7252 §6, RFC 6690, RFC 7252 §4).
pub mod block;
pub mod echo;
pub mod link_format;
pub mod observe;
pub mod transmission;
pub mod uri;

// The embedded CoAP ecosystem's message traits (the `coap-message` crate), optional.
#[cfg(feature = "coap-message")]
pub mod coap_message;

// The sans-IO endpoint that composes the pieces above (RFC 7252 §4, RFC 7959, RFC 7641, RFC 8323, RFC 9175).
#[cfg(feature = "alloc")]
pub mod endpoint;
#[cfg(feature = "alloc")]
pub mod vec_map;
