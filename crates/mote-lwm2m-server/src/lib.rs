//! Sans-IO LwM2M server core (LwM2M TS 1.2 Core §6.2, Transport §6.3–§6.5).
//!
//! * [`message`]: the owned view of an incoming request ([`Request`], built from a
//!   [`mote_coap::message::Message`]), the requester's security [`Identity`] and the
//!   [`Response`] parts the engine answers with.
//! * [`registration`]: the Client Registration Interface — Register, Update, De-register,
//!   lifetime expiry, identity binding, Send (`/dp`) and queue mode — in [`Server`].
//! * [`store`]: the [`RegistrationStore`] trait and its in-memory implementation.
//! * [`operation`]: typed Device Management and Information Reporting operations encoded
//!   as CoAP request parts, and their responses decoded into typed results.
//! * [`bootstrap`]: a typed provisioning plan per endpoint and the bootstrap session that
//!   turns it into the Bootstrap-Discover / Read / Delete / Write / Finish sequence.
//!
//! Nothing here opens a socket or reads a clock: the caller passes every request in with
//! `now` (a [`core::time::Duration`] since an arbitrary epoch) and a
//! [`mote_coap::transmission::RandomSource`], and pulls responses, events, held requests
//! and timers out.
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use core::time::Duration;
//! use mote_coap::code::{Code, MessageType};
//! use mote_coap::message::{Message, OwnedMessage};
//! use mote_coap::option::OptionNumber;
//! use mote_lwm2m_server::{Identity, Request, Server, ServerConfig, InMemoryStore};
//!
//! let bytes = OwnedMessage::new(MessageType::Con, Code::POST, 1)
//!     .with_option(OptionNumber::URI_PATH, "rd")
//!     .with_option(OptionNumber::URI_QUERY, "ep=dev1")
//!     .with_option(OptionNumber::URI_QUERY, "lwm2m=1.2")
//!     .with_option(OptionNumber::URI_QUERY, "lt=300")
//!     .with_payload("</1/0>,</3/0>")
//!     .to_vec()
//!     .unwrap();
//! let request = Request::from_message(&Message::decode(&bytes).unwrap()).unwrap();
//! let mut server = Server::new(ServerConfig::default(), InMemoryStore::new());
//! let mut rng = || 7u32;
//! let identity = Identity::Oscore(b"dev1".to_vec());
//! let response = server.handle_request(&request, &identity, Duration::ZERO, &mut rng);
//! assert_eq!(response.code, Code::CREATED);
//! # }
//! ```
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
