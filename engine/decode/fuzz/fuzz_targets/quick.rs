//! The dispatcher's header-only look (`weir_decode::quick`) against the full decoder; input as
//! `decode_frame`'s. See weir_decode::fuzzing::quick_target.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    weir_decode::fuzzing::quick_target(data);
});
