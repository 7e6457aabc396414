//! `cargo fuzz run reassembly` (from engine/reassembly): random segment/ACK/FIN sequences on
//! both directions of a connection sharing a small memory budget; see
//! `weir_reassembly::fuzzing::run` for the invariants checked. Each input is also run with an
//! unlimited budget through a full and a ranges-only (tracking) reassembler, which must show
//! the same gaps, history letters, weirds, EOFs and gap statistics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_reassembly::fuzzing::{run, run_mode, Mode};

fuzz_target!(|data: &[u8]| {
    let _ = run(data);
    assert_eq!(run_mode(data, Mode::Full).1, run_mode(data, Mode::Tracking).1);
});
