//! Never panics on any input; LwM2M link-format payloads and Write-Attributes queries read
//! back what the writer produces (mote_lwm2m::fuzzing::link).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = mote_lwm2m::fuzzing::link(data) {
        panic!("{e}");
    }
});
