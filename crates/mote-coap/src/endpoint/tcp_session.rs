//! CoAP over TCP sessions (RFC 8323): CSM exchange, Ping/Pong, Release/Abort and bounded
//! framing for one connection.
