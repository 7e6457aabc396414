//! A classic-BPF program and a packet derived from the input: validation and interpretation must never
//! panic, and every accepted program must terminate.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    weir_capture::fuzzing::run_bpf(data);
});
