//! Replays the fuzz seed corpus (`fuzz/corpus/reassembly/`) and a batch of pseudo-random inputs
//! through the fuzz driver, so `cargo test` checks the invariants without cargo-fuzz.

use std::path::Path;

#[test]
fn seed_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/reassembly");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let r = std::panic::catch_unwind(|| weir_reassembly::fuzzing::run(&data));
        assert!(r.is_ok(), "corpus file {} fails", path.display());
        n += 1;
    }
    assert!(n >= 8, "only {n} corpus files");
}

#[test]
fn pseudo_random_inputs() {
    // xorshift64*: deterministic.
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        s.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let iters: usize = std::env::var("WEIR_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let mut total = weir_reassembly::fuzzing::Summary::default();
    for i in 0..iters {
        let len = 2 + (next() % 600) as usize;
        let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let r = std::panic::catch_unwind(|| weir_reassembly::fuzzing::run(&data));
        let Ok(s) = r else {
            let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
            panic!("input {i} fails: {hex}");
        };
        total.data_events += s.data_events;
        total.gaps += s.gaps;
        total.rexmit += s.rexmit;
        total.weirds += s.weirds;
        total.eofs += s.eofs;
        total.evictions += s.evictions;
        total.refused += s.refused;
    }
    eprintln!("{total:?}");
    // The inputs exercise every path the invariants are about.
    assert!(total.data_events > 0 && total.gaps > 0 && total.rexmit > 0 && total.weirds > 0);
    assert!(total.eofs > 0 && total.evictions > 0 && total.refused > 0, "{total:?}");
}

/// A ranges-only reassembler shows exactly what a full one shows, except the bytes.
#[test]
fn tracking_matches_full() {
    use weir_reassembly::fuzzing::{run_mode, Mode};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/reassembly");
    let mut inputs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    let mut s: u64 = 0x1234_5678_9abc_def1;
    let mut next = move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        s.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let iters: usize = std::env::var("WEIR_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    for _ in 0..iters {
        let len = 2 + (next() % 600) as usize;
        inputs.push((0..len).map(|_| next() as u8).collect());
    }
    for (i, data) in inputs.iter().enumerate() {
        let (_, full) = run_mode(data, Mode::Full);
        let (_, tracking) = run_mode(data, Mode::Tracking);
        if full != tracking {
            let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
            let at = full
                .iter()
                .zip(&tracking)
                .position(|(a, b)| a != b)
                .unwrap_or(full.len().min(tracking.len()));
            panic!(
                "input {i} {hex}: first difference at {at}: {:?} vs {:?}",
                full.get(at),
                tracking.get(at)
            );
        }
    }
}
