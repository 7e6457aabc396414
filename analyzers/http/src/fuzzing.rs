//! The fuzz target, shared by `fuzz/` (cargo-fuzz) and `tests/fuzz_corpus.rs` (corpus replay in `cargo test`).

use weir_api::testing::{drive, RecordingContext};
use weir_api::Transport;

/// The analyzer target: the input is a [`weir_api::testing::drive`] script of TCP chunks; the probe is
/// run on the first chunk of each direction too.
pub fn analyzer_target(data: &[u8]) {
    let mut cx = RecordingContext::new(Transport::Tcp, 80);
    cx.keep_rows = false;
    if data.len() > 3 {
        let _ = crate::probe(Transport::Tcp, data[0] & 1 != 0, &data[3..]);
    }
    drive(&mut crate::HttpAnalyzer::new(), &mut cx, data);
}
