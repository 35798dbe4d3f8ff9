#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![deny(clippy::indexing_slicing)]
// States live in fixed buffers (no allocator) and a rejected input hands the state back, so the
// `Err` of a step is as large as its `Ok`; boxing is not available without `alloc`.
#![allow(clippy::result_large_err)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// Code size: the steps of both roles, the key-schedule helpers and the parsers are
// `#[inline(never)]`. Under LTO with opt-level "z" a device's single handshake call site
// otherwise gets every step inlined into one 22 KB function with a 21 KB stack frame, whose
// far stack offsets alone cost kilobytes of code; out of line, the minimal Initiator is about
// 8 KB smaller (docs/performance.md, mote-edhoc Footprint). Each of these runs a few times per
// handshake, so the calls cost nothing measurable.

/// A diagnostic text of [`Error`] (what was malformed, which capacity was exceeded): the
/// literal with the `diagnostics` feature, an empty string without it, so that a device build
/// carries none of the texts (docs/performance.md, mote-edhoc Footprint). The error variants
/// and offsets are the same either way.
macro_rules! diag {
    ($text:literal) => {{
        #[cfg(any(feature = "diagnostics", test))]
        let text: &'static str = $text;
        #[cfg(not(any(feature = "diagnostics", test)))]
        let text: &'static str = "";
        text
    }};
}

// Only X.509 parsing and the endpoint protection layer allocate; the EDHOC core never does.
#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod buffer;
mod cbor;
pub mod conn_id;
pub mod credential;
pub mod crypto;
pub mod ead;
pub mod endpoint;
pub mod error;
pub mod id_cred;
pub mod initiator;
pub mod message;
#[cfg(feature = "oscore")]
mod oscore;
#[cfg(all(feature = "oscore", feature = "alloc"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "oscore", feature = "alloc"))))]
pub mod protection;
mod provider;
pub mod responder;
pub mod schedule;
pub mod session;
pub mod suite;
pub mod transport;
#[cfg(feature = "x509")]
pub mod x509;

pub use buffer::{Bytes, KeyInput, MessageBuf, Secret};
pub use conn_id::ConnId;
pub use credential::{
    Credential, CredentialKind, CredentialLookup, CwtIssuer, KeyType, KnownCredentials,
};
pub use crypto::{Crypto, PublicKey};
pub use ead::{Ead, EadItem};
pub use endpoint::{Identity, InitiatorConfig, Rejected, ResponderConfig};
pub use error::Error;
pub use id_cred::{IdCred, IdCredRef};
pub use initiator::{
    Initiator, InitiatorProcessedM2, InitiatorProcessingM2, InitiatorWaitM2, InitiatorWaitM4,
};
pub use message::{ErrorMessage, Message1, Message2, Plaintext2, Plaintext3};
pub use provider::MoteCrypto;
pub use responder::{
    Responder, ResponderProcessingM1, ResponderProcessingM3, ResponderVerifiedM3, ResponderWaitM3,
};
pub use session::{OscoreParameters, Role, Session};
pub use suite::{
    AeadAlgorithm, CipherSuite, Curve, HashAlgorithm, Method, SignatureAlgorithm, SuiteInput,
    Suites,
};
#[cfg(feature = "x509")]
pub use x509::{CertificateError, LeafKeyUse, TrustAnchor, TrustAnchors, ValidationTime};
