//! Never panics on any input; decode → encode → decode is stable (mote_lwm2m::fuzzing::senml_json).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = mote_lwm2m::fuzzing::senml_json(data) {
        panic!("{e}");
    }
});
