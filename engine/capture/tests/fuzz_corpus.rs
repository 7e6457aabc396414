//! Replays every file of the fuzz corpus (`fuzz/corpus/<target>/`) through the code the fuzz targets
//! run, so `cargo test` keeps every seed and every saved crash input as a regression test.

use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_file() {
            let data = std::fs::read(&path).unwrap();
            f(&data);
            n += 1;
        }
    }
    assert!(n > 0, "empty corpus in {}", dir.display());
}

#[test]
fn read_capture_corpus() {
    replay("read_capture", weir_capture::fuzzing::read_capture);
}

#[test]
fn run_bpf_corpus() {
    replay("run_bpf", weir_capture::fuzzing::run_bpf);
}

/// xorshift64: a fixed-seed generator, so the smoke test below is reproducible.
fn next(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// A stable-Rust stand-in for the fuzzer: deterministic mutations (byte overwrites, bit flips,
/// truncations, duplicated spans) of every corpus file, run through both targets.
#[test]
fn mutated_corpus_smoke() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for (target, f) in [
        ("read_capture", weir_capture::fuzzing::read_capture as fn(&[u8])),
        ("run_bpf", weir_capture::fuzzing::run_bpf),
    ] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            // Only the hand-named seeds; the fuzzer's own finds (named by their SHA-1) are replayed above.
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.len() == 40 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            let orig = std::fs::read(&path).unwrap();
            for _ in 0..3000 {
                let mut d = orig.clone();
                for _ in 0..1 + next(&mut seed) % 4 {
                    if d.is_empty() {
                        break;
                    }
                    let at = (next(&mut seed) % d.len() as u64) as usize;
                    match next(&mut seed) % 4 {
                        0 => d[at] = next(&mut seed) as u8,
                        1 => d[at] ^= 1 << (next(&mut seed) % 8),
                        2 => d.truncate(at),
                        _ => {
                            let end = (at + 1 + (next(&mut seed) % 64) as usize).min(d.len());
                            let span = d[at..end].to_vec();
                            d.splice(at..at, span);
                        }
                    }
                }
                f(&d);
            }
        }
    }
}
