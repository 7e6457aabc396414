//! Byte 0 selects the link type, byte 1 the options; the rest is a frame. See weir_decode::fuzzing.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    weir_decode::fuzzing::decode_frame_target(data);
});
