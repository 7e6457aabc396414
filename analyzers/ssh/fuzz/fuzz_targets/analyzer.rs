#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| weir_ssh::fuzzing::analyzer_target(data));
