//! Block-wise transfers (RFC 7959) for the endpoint: bounded server-side reassembly and
//! serving, client-side upload and download.
