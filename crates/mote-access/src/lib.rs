#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![deny(clippy::indexing_slicing)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod authorize;
mod definitions;
mod error;
#[cfg(feature = "lwm2m")]
mod lwm2m;
mod model;
mod rights;
mod target;

pub use authorize::{
    CompositeGrant, Denial, Grant, NotifyDecision, Operation, Reason, Requester, ResponseCode,
    resource_readable,
};
pub use definitions::{DefinitionTable, ObjectDefinitions, ResourceDefinition, ResourceOperations};
pub use error::Error;
#[cfg(feature = "lwm2m")]
pub use lwm2m::Lwm2mDefinitions;
pub use model::{AccessControl, AccessControlInstance, ServerAccount, ServerRemoval};
pub use rights::{AccessRights, MAX_ID, Owner, ShortServerId};
pub use target::{Level, Target};
