#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![deny(clippy::indexing_slicing)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "alloc")]
pub mod bootstrap;
#[cfg(feature = "alloc")]
pub mod bootstrap_engine;
#[cfg(feature = "alloc")]
pub mod engine;
#[cfg(feature = "alloc")]
pub mod message;
#[cfg(feature = "alloc")]
pub mod operation;
#[cfg(feature = "alloc")]
pub mod registration;
#[cfg(feature = "alloc")]
pub mod store;

#[cfg(feature = "alloc")]
pub use bootstrap::{
    BootstrapConfig, BootstrapError, BootstrapLimits, BootstrapOutcome, BootstrapServer,
    BootstrapStep,
};
#[cfg(feature = "alloc")]
pub use engine::{
    EngineConfig, Lwm2mServer, OpError, OpHandle, PackageError, ServerEvent, SubmitError,
};
#[cfg(feature = "alloc")]
pub use message::{Identity, Request, RequestError, Response};
#[cfg(feature = "alloc")]
pub use operation::{ClientProfile, Operation, OperationError, RequestParts};
#[cfg(feature = "alloc")]
pub use registration::{
    Binding, EndpointPolicy, Event, LwM2mVersion, QueueError, Registration, RegistrationError,
    RegistrationId, Server, ServerConfig,
};
#[cfg(feature = "alloc")]
pub use store::{InMemoryStore, RegistrationStore, StoreError};
