//! The COSE_Key decoder of mote-cose: never panics; decode(encode(key)) == key.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mote_cose::fuzz::cose_key_decode(data));
