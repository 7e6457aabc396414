//! A sequence of `[time][len u16][raw IP packet]` records through one bounded reassembler.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    weir_decode::fuzzing::frag_target(data);
});
