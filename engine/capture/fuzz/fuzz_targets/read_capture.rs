//! Arbitrary bytes as a pcap or pcapng stream: must never panic, loop or grow without bound.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    weir_capture::fuzzing::read_capture(data);
});
