//! Replays both fuzz corpora (`fuzz/corpus/parser`, `fuzz/corpus/analyzer`) through the fuzz targets, plus
//! a pseudo-random mutation pass over them, so `cargo test` exercises what the fuzzer found and seeded.
//!
//! `cargo test -p weir-dns --test fuzz_corpus -- --ignored write_seed_corpus` regenerates the seeds from
//! the corpus traces' DNS messages.

#[allow(dead_code)]
mod common;

use common::*;
use weir_dns::fuzzing::{analyzer_target, parser_target};

#[test]
fn replay_parser_corpus() {
    let files = read_dir_files(&fuzz_corpus("parser"));
    assert!(files.len() >= 100, "parser corpus has {} files", files.len());
    for (p, d) in &files {
        let r = std::panic::catch_unwind(|| parser_target(d));
        assert!(r.is_ok(), "parser target panicked on {}", p.display());
    }
}

#[test]
fn replay_analyzer_corpus() {
    let files = read_dir_files(&fuzz_corpus("analyzer"));
    assert!(files.len() >= 50, "analyzer corpus has {} files", files.len());
    for (p, d) in &files {
        let r = std::panic::catch_unwind(|| analyzer_target(d));
        assert!(r.is_ok(), "analyzer target panicked on {}", p.display());
    }
}

/// Cheap deterministic mutations (bit flips, truncations, byte stores) of every seed; 40 per seed, or
/// `WEIR_DNS_MUTATIONS` per seed.
#[test]
fn mutated_corpus() {
    let rounds: usize = std::env::var("WEIR_DNS_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for target in ["parser", "analyzer"] {
        for (_, d) in read_dir_files(&fuzz_corpus(target)) {
            for _ in 0..rounds {
                let mut m = d.clone();
                if m.is_empty() {
                    continue;
                }
                match rnd() % 4 {
                    0 => {
                        let i = rnd() as usize % m.len();
                        m[i] ^= 1 << (rnd() % 8);
                    }
                    1 => m.truncate(rnd() as usize % m.len()),
                    2 => {
                        let i = rnd() as usize % m.len();
                        m[i] = [0x00, 0xc0, 0xff, 0x3f, 0x40][rnd() as usize % 5];
                    }
                    _ => {
                        let i = rnd() as usize % m.len();
                        let j = rnd() as usize % m.len();
                        m[i] = m[j];
                    }
                }
                if target == "parser" {
                    parser_target(&m);
                } else {
                    analyzer_target(&m);
                }
            }
        }
    }
}

fn name_of(d: &[u8]) -> String {
    // FNV-1a, enough for stable file names.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in d {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    format!("{h:016x}")
}

#[test]
#[ignore]
fn write_seed_corpus() {
    let msgs = dns_messages(&all_traces());
    let pdir = fuzz_corpus("parser");
    let adir = fuzz_corpus("analyzer");
    std::fs::create_dir_all(&pdir).unwrap();
    std::fs::create_dir_all(&adir).unwrap();
    for m in &msgs {
        std::fs::write(pdir.join(name_of(m)), m).unwrap();
    }
    // Analyzer seeds: pairs of consecutive messages as a UDP exchange, and as a TCP exchange with the
    // length-prefixed stream cut at odd places (split messages, several messages in one chunk).
    for (k, w) in msgs.windows(2).enumerate().step_by(2) {
        let mut udp = vec![0u8];
        for (i, m) in w.iter().enumerate() {
            udp.push(if i == 0 { 1 } else { 0 });
            udp.extend_from_slice(&(m.len() as u16).to_be_bytes());
            udp.extend_from_slice(m);
        }
        std::fs::write(adir.join(format!("udp-{}", name_of(&udp))), &udp).unwrap();
        let mut stream = Vec::new();
        for m in w {
            stream.extend_from_slice(&(m.len() as u16).to_be_bytes());
            stream.extend_from_slice(m);
        }
        let mut tcp = vec![1u8 | if k % 3 == 0 { 2 } else { 0 }];
        let cut = [1usize, 3, 7, 13][k % 4];
        for (i, c) in stream.chunks(cut.max(stream.len() / 3)).enumerate() {
            let _ = i;
            tcp.push(1);
            tcp.extend_from_slice(&(c.len() as u16).to_be_bytes());
            tcp.extend_from_slice(c);
        }
        tcp.push(3);
        tcp.extend_from_slice(&[0, 0]);
        std::fs::write(adir.join(format!("tcp-{}", name_of(&tcp))), &tcp).unwrap();
    }
}
