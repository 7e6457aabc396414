//! Replays the fuzz seed corpus (`fuzz/corpus/<target>/`) and saved crashes (`fuzz/artifacts/<target>/`)
//! through the fuzz targets' code, so `cargo test` keeps every input that ever mattered passing.
//! `cargo test -p weir-decode --test fuzz_corpus -- --ignored generate` rebuilds the seed corpus from
//! Zeek's traces.

mod common;

use std::path::{Path, PathBuf};
use weir_decode::fuzzing::{decapsulate_target, decode_frame_target, frag_target, quick_target, selector};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let mut n = 0;
    for sub in ["corpus", "artifacts"] {
        let Ok(rd) = std::fs::read_dir(fuzz_dir().join(sub).join(target)) else {
            continue;
        };
        let mut files: Vec<_> = rd.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
        files.sort();
        for p in files {
            let data = std::fs::read(&p).unwrap();
            let r = std::panic::catch_unwind(|| f(&data));
            assert!(r.is_ok(), "{target}: {} panicked", p.display());
            n += 1;
        }
    }
    n
}

#[test]
fn replay_decode_frame() {
    let n = replay("decode_frame", decode_frame_target);
    assert!(n >= 100, "decode_frame corpus has only {n} files");
}

/// The `quick` target's seeds are `decode_frame`'s; its own corpus holds what fuzzing added.
#[test]
fn replay_quick() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static TAKEN: AtomicUsize = AtomicUsize::new(0);
    let f = |d: &[u8]| {
        if quick_target(d) {
            TAKEN.fetch_add(1, Ordering::Relaxed);
        }
    };
    let n = replay("decode_frame", f) + replay("quick", f);
    let taken = TAKEN.load(Ordering::Relaxed);
    assert!(n >= 100 && taken >= 20, "quick: {taken} of {n} inputs taken");
}

#[test]
fn replay_decapsulate() {
    let n = replay("decapsulate", decapsulate_target);
    assert!(n >= 50, "decapsulate corpus has only {n} files");
}

/// Seeds for `decapsulate`: from every tunnel trace (`tunnels/`, `erspan*`, the 6in6 truncation traces) up
/// to 6 packets that enter a tunnel or raise a weird (cut to 600 bytes), plus a shorter copy of the first;
/// options byte alternately 0x06 (`Tunnel::max_depth` 4) and 0x00 (max depth 1).
#[test]
#[ignore]
fn generate_decapsulate() {
    use common::*;
    use weir_decode::tunnel::{decapsulate, Decap, Stateless, TunnelConfig};
    let Some(dir) = traces_dir() else { return };
    let out = fuzz_dir().join("corpus/decapsulate");
    std::fs::create_dir_all(&out).unwrap();
    let mut traces: Vec<PathBuf> = std::fs::read_dir(dir.join("tunnels"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    for sub in ["tunnels/gtp", "trunc", "."] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap().flatten() {
            let n = e.file_name().to_string_lossy().to_string();
            if sub == "tunnels/gtp" || n.starts_with("erspan") || n.starts_with("mpls-6in6") {
                traces.push(e.path());
            }
        }
    }
    traces.retain(|p| p.is_file());
    traces.sort();
    let cfg = weir_decode::DecodeConfig::default();
    let mut n = 0;
    for (ti, t) in traces.iter().enumerate() {
        let mut k = 0;
        for p in read_trace(t) {
            let mut d = weir_decode::Decoded::default();
            let mut w = Vec::new();
            if weir_decode::decode_frame(&cfg, weir_decode::LinkType(p.link), &p.data, &mut d, &mut w).is_err() {
                continue;
            }
            let mut dc = Decap::default();
            decapsulate(&cfg, &TunnelConfig::default(), &d, 0, &mut Stateless, &mut dc, &mut w);
            if dc.depth == 0 && w.is_empty() {
                continue;
            }
            let frame = &p.data[..p.data.len().min(600)];
            let mut v = vec![selector(p.link), if k % 2 == 0 { 0x06 } else { 0x00 }, 0];
            v.extend_from_slice(frame);
            std::fs::write(out.join(format!("t{ti:03}-p{k}")), &v).unwrap();
            n += 1;
            if k == 0 && frame.len() > 40 {
                std::fs::write(out.join(format!("t{ti:03}-p{k}-cut")), &v[..3 + frame.len() * 2 / 3]).unwrap();
                n += 1;
            }
            k += 1;
            if k == 6 {
                break;
            }
        }
    }
    eprintln!("wrote {n} decapsulate seeds");
}

#[test]
fn replay_frag() {
    let n = replay("frag", frag_target);
    assert!(n >= 10, "frag corpus has only {n} files");
}

/// Seeds: from each corpus trace its first packets (cut to 512 bytes) plus truncated variants; for the
/// reassembler, runs of consecutive fragments found in the traces and synthetic overlapping ones.
#[test]
#[ignore]
fn generate() {
    use common::*;
    let Some(dir) = traces_dir() else { return };
    let out_frames = fuzz_dir().join("corpus/decode_frame");
    let out_frag = fuzz_dir().join("corpus/frag");
    std::fs::create_dir_all(&out_frames).unwrap();
    std::fs::create_dir_all(&out_frag).unwrap();
    let mut traces = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let s = p.to_string_lossy().to_string();
                if s.ends_with(".pcap") || s.ends_with(".pcapng") || s.ends_with(".pcap.gz") || s.ends_with(".trace") {
                    traces.push(p);
                }
            }
        }
    }
    traces.sort();
    let mut nframes = 0;
    let mut nfrag = 0;
    for (ti, t) in traces.iter().enumerate() {
        let pkts = read_trace(t);
        // Frames: first packet of each trace, its half, and a second packet for every fourth trace.
        for (pi, p) in pkts.iter().take(if ti % 4 == 0 { 2 } else { 1 }).enumerate() {
            let frame = &p.data[..p.data.len().min(512)];
            let mut v = vec![selector(p.link), 0];
            v.extend_from_slice(frame);
            std::fs::write(out_frames.join(format!("t{ti:03}-p{pi}")), &v).unwrap();
            nframes += 1;
            if pi == 0 && frame.len() > 20 {
                let cut = 2 + frame.len() / 2;
                std::fs::write(out_frames.join(format!("t{ti:03}-p{pi}-half")), &v[..cut]).unwrap();
                nframes += 1;
            }
        }
        // Fragment runs: raw IP packets of fragments, as frag target records.
        let cfg = weir_decode::DecodeConfig::default();
        let mut rec = Vec::new();
        let mut count = 0;
        for p in &pkts {
            let mut out = weir_decode::Decoded::default();
            let mut w = Vec::new();
            if weir_decode::decode_frame(&cfg, weir_decode::LinkType(p.link), &p.data, &mut out, &mut w).is_ok() {
                if let Some(ip) = out.ip.filter(|i| i.frag.is_some()) {
                    let raw = &ip.raw[..ip.raw.len().min(4000)];
                    rec.push(1u8);
                    rec.extend_from_slice(&(raw.len() as u16).to_be_bytes());
                    rec.extend_from_slice(raw);
                    count += 1;
                    if count == 6 {
                        break;
                    }
                }
            }
        }
        if count > 0 {
            std::fs::write(out_frag.join(format!("t{ti:03}")), &rec).unwrap();
            nfrag += 1;
        }
    }
    // Synthetic IPv4 fragment sets: in order, reversed, overlapping with different bytes, duplicate.
    let frag4 = |off: u16, mf: bool, id: u8, pl: &[u8]| {
        let total = (20 + pl.len()) as u16;
        let fo = (off / 8) | if mf { 0x2000 } else { 0 };
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[0, id]);
        p.extend_from_slice(&fo.to_be_bytes());
        p.extend_from_slice(&[64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        p.extend_from_slice(pl);
        p
    };
    let mut udp = vec![0x03, 0xe8, 0x07, 0xd0, 0, 72, 0, 0];
    udp.extend_from_slice(&[0xab; 64]);
    let sets: Vec<Vec<Vec<u8>>> = vec![
        vec![frag4(0, true, 1, &udp[..40]), frag4(40, false, 1, &udp[40..])],
        vec![frag4(40, false, 2, &udp[40..]), frag4(0, true, 2, &udp[..40])],
        vec![frag4(0, true, 3, &udp[..48]), frag4(40, false, 3, &[0x11; 32])],
        vec![
            frag4(0, true, 4, &udp[..40]),
            frag4(0, true, 4, &udp[..40]),
            frag4(40, false, 4, &udp[40..]),
        ],
        vec![
            frag4(16, true, 5, &udp[16..40]),
            frag4(40, false, 5, &udp[40..]),
            frag4(0, true, 5, &udp[..24]),
        ],
        vec![frag4(65000, false, 6, &udp), frag4(0, true, 6, &udp[..40])],
    ];
    for (i, s) in sets.iter().enumerate() {
        let mut rec = Vec::new();
        for p in s {
            rec.push(0);
            rec.extend_from_slice(&(p.len() as u16).to_be_bytes());
            rec.extend_from_slice(p);
        }
        std::fs::write(out_frag.join(format!("synthetic-{i}")), &rec).unwrap();
        nfrag += 1;
    }
    eprintln!("wrote {nframes} frame seeds, {nfrag} fragment seeds");
}
