//! Replays the fuzz corpus (`fuzz/corpus/analyzer`) through the fuzz target, plus deterministic
//! mutations of it, so `cargo test` exercises what the fuzzer found and was seeded with.

use weir_api::testing::replay_corpus;

#[test]
fn replay_analyzer_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/analyzer");
    replay_corpus(&dir, 3, weir_dhcp::fuzzing::analyzer_target);
}
