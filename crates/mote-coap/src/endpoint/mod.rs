//! The sans-IO CoAP endpoint: one object that owns the message layer (RFC 7252 §4), request and
//! response matching, block-wise transfers (RFC 7959), Observe (RFC 7641), Echo (RFC 9175) and
//! CoAP over TCP sessions (RFC 8323), for the client and the server role at once.

pub mod blockwise;
pub mod observe;
pub mod tcp_session;
