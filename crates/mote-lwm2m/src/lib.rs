#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![deny(clippy::indexing_slicing)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod ascii;
pub mod error;
pub mod ids;
pub mod path;
pub mod value;

#[cfg(feature = "alloc")]
pub mod attributes;
#[cfg(feature = "alloc")]
mod base64;
#[cfg(feature = "alloc")]
mod cbor_util;
#[cfg(feature = "alloc")]
pub mod data;
#[cfg(feature = "std")]
pub mod ddf;
#[cfg(feature = "alloc")]
mod decimal;
#[cfg(feature = "alloc")]
pub mod format;
#[cfg(all(feature = "senml-json", feature = "tlv", feature = "lwm2m-cbor"))]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "alloc")]
pub mod link;
#[cfg(feature = "alloc")]
pub mod lwm2m_cbor;
#[cfg(feature = "alloc")]
pub mod object;
#[cfg(feature = "alloc")]
pub mod senml;
#[cfg(feature = "alloc")]
pub mod single;
#[cfg(feature = "tlv")]
pub mod tlv;

pub use error::Error;
pub use ids::{InstanceId, ObjectId, ObjectLink, ResourceId, ResourceInstanceId};
pub use path::{Path, PathLevel};
pub use value::ResourceType;

#[cfg(feature = "alloc")]
pub use data::{DataTree, Record};
#[cfg(feature = "alloc")]
pub use format::{Format, decode, encode, encoded_len};
#[cfg(feature = "alloc")]
pub use object::{ObjectDef, ObjectDefs, Operations, ResourceDef};
#[cfg(feature = "alloc")]
pub use value::Value;
