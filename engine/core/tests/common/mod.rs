//! Test-trace building shared by the engine's integration tests.

use std::path::{Path, PathBuf};
use weir_engine::config::EngineConfig;
use weir_engine::{run_offline, RunConfig, RunReport};
use weir_logs::{Format, LogConfig};

fn csum(words: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in words.chunks(2) {
        s += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// An IPv4 header (checksum computed) and `payload`.
pub fn ip4(proto: u8, src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let len = (20 + payload.len()) as u16;
    let mut h = vec![0x45, 0, 0, 0, 0, 1, 0, 0, 64, proto, 0, 0];
    h[2..4].copy_from_slice(&len.to_be_bytes());
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let c = csum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

/// A legacy pcap file (Ethernet, microsecond timestamps) holding `frames`.
pub fn write_pcap(path: &PathBuf, frames: &[(f64, Vec<u8>)]) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (ts, f) in frames {
        out.extend_from_slice(&(ts.trunc() as u32).to_le_bytes());
        out.extend_from_slice(&((ts.fract() * 1e6).round() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    std::fs::write(path, out).unwrap();
}

/// An Ethernet frame (IPv4 EtherType) around `payload`.
pub fn eth(payload: &[u8]) -> Vec<u8> {
    let mut e = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
    e.extend_from_slice(payload);
    e
}

/// Runs `pcap` through the engine on `workers` workers with JSON logs; returns the report and the rows
/// of each log in `logs`, sorted (the logs' directory is removed).
pub fn run_logs(
    pcap: &Path,
    engine: EngineConfig,
    workers: usize,
    tag: &str,
    logs: &[&str],
) -> (RunReport, Vec<Vec<String>>) {
    let dir = std::env::temp_dir().join(format!("weir-{tag}-{}-{workers}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut rc = RunConfig::new(
        vec![pcap.to_string_lossy().into_owned()],
        LogConfig::new(&dir, Format::Json),
        engine,
    );
    rc.workers = workers;
    let report = run_offline(rc).unwrap();
    let rows = logs
        .iter()
        .map(|name| {
            let mut rows: Vec<String> = std::fs::read_to_string(dir.join(name))
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect();
            rows.sort();
            rows
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    (report, rows)
}
