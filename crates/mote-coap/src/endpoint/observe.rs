//! Observe (RFC 7641) for the endpoint: the bounded observer registry of the server role and
//! the notification ordering and re-registration of the client role.
