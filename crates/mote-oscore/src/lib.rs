#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![deny(clippy::indexing_slicing)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod block;
pub mod class;
pub mod context;
pub mod cose;
#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
pub mod endpoint;
mod error;
pub mod freshness;
pub mod option;
pub mod protect;
mod proxy_uri;
pub mod rederive;
pub mod replay;
pub mod sequence;

pub use context::{SecurityContext, SecurityContextParams};
pub use error::{Error, ErrorResponse};
pub use mote_coap::framing::Framing;
pub use mote_cose::algorithm::{AeadAlgorithm, HkdfAlgorithm};
pub use option::OscoreOption;
pub use protect::{RequestBinding, VerifiedRequest, peek_oscore_option};
pub use replay::ReplayWindow;
