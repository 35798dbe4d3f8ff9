#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![deny(clippy::indexing_slicing)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "alloc")]
mod bootstrap;
#[cfg(feature = "alloc")]
mod client;
#[cfg(feature = "alloc")]
pub mod device;
#[cfg(feature = "alloc")]
mod dm;
#[cfg(feature = "alloc")]
pub mod edhoc;
#[cfg(feature = "alloc")]
pub mod engine;
#[cfg(feature = "alloc")]
pub mod error;
#[cfg(feature = "alloc")]
pub mod firmware;
#[cfg(feature = "alloc")]
pub mod object;
#[cfg(feature = "alloc")]
pub mod registration;
#[cfg(feature = "alloc")]
pub mod reporting;
#[cfg(feature = "alloc")]
pub mod request;

#[cfg(feature = "alloc")]
pub use client::{Client, ClientConfig, Requester, SecurityIdentity, Trigger};
#[cfg(feature = "alloc")]
pub use device::{Device, DeviceInfo};
#[cfg(feature = "alloc")]
pub use edhoc::{AfterMessage2, EdhocHandshake, EdhocOutput, RekeyError};
#[cfg(feature = "alloc")]
pub use engine::{
    AccountIdentity, ClientEvent, Engine, EngineConfig, MemoryStorage, OscoreAccount, Resolver,
    Storage, StorageError,
};
#[cfg(feature = "alloc")]
pub use error::{Error, ObjectError};
#[cfg(feature = "alloc")]
pub use firmware::{FirmwareHooks, FirmwarePull, FirmwareUpdate, State, UpdateResult};
#[cfg(feature = "alloc")]
pub use object::{DataObject, ExecuteArgument, Object};
#[cfg(feature = "alloc")]
pub use request::{Request, Response};
