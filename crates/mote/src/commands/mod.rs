//! The subcommands of `mote`, one module each (the contract is `docs/cli.md`). Networking is
//! in [`crate::net`]; these modules parse arguments, drive the libraries and print.

pub(crate) mod access;
pub(crate) mod bootstrap_server;
pub(crate) mod coap;
pub(crate) mod cose;
pub(crate) mod decode;
pub(crate) mod demo;
pub(crate) mod edhoc;
pub(crate) mod lwm2m;
pub(crate) mod lwm2m_client;
pub(crate) mod lwm2m_server;
pub(crate) mod oscore;
pub(crate) mod proxy;
pub(crate) mod serve;
