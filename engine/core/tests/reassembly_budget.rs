//! A trace built to defeat reassembly: thousands of connections to an analysed port, each with a hole
//! at the start of its data and segments buffered above it that are never acknowledged. The engine's
//! per-worker budget must hold (its peak stays under the limit), and what it gives up is counted.

mod common;

use common::{eth, ip4, run_logs, write_pcap};
use weir_api::{Analyzer, AnalyzerInfo, Settings, Transport};
use weir_engine::config::{AnalyzerSet, EngineConfig};
use weir_engine::RunReport;

/// Reads nothing; being attached is what makes the engine keep the stream's bytes.
struct Sink;

impl Analyzer for Sink {
    fn name(&self) -> &'static str {
        "sink"
    }
}

static SINK: AnalyzerInfo = AnalyzerInfo {
    name: "sink",
    transports: &[Transport::Tcp],
    ports: &[(Transport::Tcp, 443)],
    probe: None,
    logs: |_s: &Settings| Vec::new(),
    settings: &[],
    new: |_s: &Settings| Box::new(Sink),
    worker_state: None,
};

/// A TCP segment (checksum left 0: the runs ignore checksums, as `-C`).
fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, data: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(data);
    t
}

const CONNS: u32 = 3000;
const SEGMENTS: u32 = 8;
const SEG: usize = 1400;

/// `CONNS` handshakes to port 443, then per connection `SEGMENTS` segments of `SEG` bytes that start one
/// segment after the first data byte (the first segment is never sent), in shuffled order, unacknowledged.
fn trace() -> Vec<(f64, Vec<u8>)> {
    let payload = [0x17u8; SEG];
    let mut f = Vec::new();
    let t0 = 1_700_000_000.0;
    for c in 0..CONNS {
        let cli = [10, 20, (c >> 8) as u8, c as u8];
        let srv = [10, 30, 0, 1];
        let sport = 20000 + (c % 40000) as u16;
        let (isn, rsn) = (1000u32, 5000u32);
        let t = t0 + f64::from(c) * 0.0001;
        let frame = |src, dst, seg: Vec<u8>| eth(&ip4(6, src, dst, &seg));
        f.push((t, frame(cli, srv, tcp(sport, 443, isn, 0, 0x02, &[]))));
        f.push((t, frame(srv, cli, tcp(443, sport, rsn, isn + 1, 0x12, &[]))));
        f.push((t, frame(cli, srv, tcp(sport, 443, isn + 1, rsn + 1, 0x10, &[]))));
        for k in [3u32, 0, 7, 1, 5, 2, 6, 4].into_iter().take(SEGMENTS as usize) {
            let seq = isn + 1 + (k + 1) * SEG as u32;
            f.push((t, frame(cli, srv, tcp(sport, 443, seq, rsn + 1, 0x18, &payload))));
        }
    }
    f
}

fn run(pcap: &std::path::Path, workers: usize, limit: u64) -> (RunReport, Vec<String>) {
    let mut engine = EngineConfig::with_analyzers(&AnalyzerSet::All, &[&SINK]);
    engine.set("ignore_checksums=T").unwrap();
    engine.set(&format!("weir::reassembly_worker_limit={limit}")).unwrap();
    engine.set("weir::reassembly_direction_limit=65536").unwrap();
    let (report, mut logs) = run_logs(pcap, engine, workers, "reasm-budget", &["conn.log"]);
    (report, logs.pop().unwrap())
}

#[test]
fn budget_holds_against_many_connections_with_holes() {
    let pcap = std::env::temp_dir().join(format!("weir-reasm-budget-{}.pcap", std::process::id()));
    write_pcap(&pcap, &trace());
    let offered = u64::from(CONNS * SEGMENTS) * SEG as u64;
    let limit = 1u64 << 20;
    for workers in [1, 2] {
        let (r, conn) = run(&pcap, workers, limit);
        eprintln!(
            "{workers} workers: {offered} bytes offered above holes, peak held {} (limit {limit} per worker), {} given up",
            r.reassembly_peak, r.reassembly_given_up
        );
        assert_eq!(conn.len(), CONNS as usize, "every connection logged");
        assert!(
            r.reassembly_peak <= limit,
            "{workers} workers: peak {} over the {limit}-byte budget",
            r.reassembly_peak
        );
        assert!(
            r.reassembly_peak > limit / 2,
            "the budget was used: peak {}",
            r.reassembly_peak
        );
        // Nearly everything offered above the holes had to be given up or refused.
        assert!(
            r.reassembly_given_up > offered - limit * workers as u64,
            "{workers} workers: {} of {offered} bytes given up",
            r.reassembly_given_up
        );
    }
    // Without a limit in the way, the same trace is held whole (the test's trace does defeat the budget).
    let (r, _) = run(&pcap, 1, 1 << 30);
    assert_eq!(r.reassembly_given_up, 0);
    assert!(
        r.reassembly_peak >= offered,
        "peak {} < offered {offered}",
        r.reassembly_peak
    );
    let _ = std::fs::remove_file(&pcap);
}
