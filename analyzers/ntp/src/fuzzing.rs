//! The fuzz target, shared by `fuzz/` (cargo-fuzz) and `tests/fuzz_corpus.rs` (corpus replay in `cargo test`).

use weir_api::testing::{drive, RecordingContext};
use weir_api::Transport;

/// The analyzer target: the input is a [`weir_api::testing::drive`] script of UDP datagrams; the raw
/// input is also parsed as one datagram.
pub fn analyzer_target(data: &[u8]) {
    let _ = crate::parse(data);
    let mut cx = RecordingContext::new(Transport::Udp, 123);
    cx.keep_rows = false;
    drive(&mut crate::NtpAnalyzer::default(), &mut cx, data);
}
