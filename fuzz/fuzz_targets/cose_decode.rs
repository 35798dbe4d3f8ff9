//! Every COSE message decoder of mote-cose: never panics; decoded messages round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mote_cose::fuzz::cose_decode(data));
