//! Byte 0 selects the link type, byte 1 the decoding and tunnel options, byte 2 the connection state; the
//! rest is a frame, decoded and decapsulated. See weir_decode::fuzzing::decapsulate_target.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    weir_decode::fuzzing::decapsulate_target(data);
});
