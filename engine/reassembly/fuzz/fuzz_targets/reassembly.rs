//! `cargo fuzz run reassembly` (from engine/reassembly): random segment/ACK/FIN sequences on
//! both directions of a connection sharing a small memory budget; see
//! `weir_reassembly::fuzzing::run` for the invariants checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = weir_reassembly::fuzzing::run(data);
});
