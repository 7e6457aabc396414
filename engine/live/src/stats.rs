//! stats.log: Zeek's `policy/misc/stats.zeek` (`Stats::Info`), one row per worker every
//! `Stats::report_interval` (5 min by default) of that worker's network time.

use weir_api::log::{Field, FieldType, Schema, Value};

/// Zeek's default `Stats::report_interval`.
pub const DEFAULT_INTERVAL: f64 = 300.0;

pub fn schema() -> Schema {
    use FieldType::*;
    let f = |n, t| Field::new(n, t);
    Schema {
        path: "stats",
        fields: vec![
            f("ts", Time),
            f("peer", String),
            f("mem", Count),
            f("pkts_proc", Count),
            f("bytes_recv", Count),
            f("pkts_dropped", Count),
            f("pkts_link", Count),
            f("pkt_lag", Interval),
            f("pkts_filtered", Count),
            f("events_proc", Count),
            f("events_queued", Count),
            f("active_tcp_conns", Count),
            f("active_udp_conns", Count),
            f("active_icmp_conns", Count),
            f("tcp_conns", Count),
            f("udp_conns", Count),
            f("icmp_conns", Count),
            f("timers", Count),
            f("active_timers", Count),
            f("files", Count),
            f("active_files", Count),
            f("dns_requests", Count),
            f("active_dns_requests", Count),
            f("reassem_tcp_size", Count),
            f("reassem_file_size", Count),
            f("reassem_frag_size", Count),
            f("reassem_unknown_size", Count),
        ],
    }
}

/// The counters one row reports (differences since the previous row, as stats.zeek computes them,
/// apart from the gauges).
#[derive(Clone, Copy, Debug, Default)]
pub struct Row {
    pub ts: f64,
    pub mem_mb: u64,
    pub pkts_proc: u64,
    pub bytes_recv: u64,
    pub pkts_dropped: u64,
    pub pkts_link: u64,
    pub pkt_lag: f64,
    /// Open connections now (TCP, UDP, ICMP).
    pub active: (u64, u64, u64),
    /// Connections created since the previous row (TCP, UDP, ICMP).
    pub new: (u64, u64, u64),
    pub reassem_tcp_size: u64,
    pub reassem_frag_size: u64,
}

pub fn write(h: &mut weir_logs::LogHandle, stream: weir_logs::StreamId, peer: &str, r: &Row) {
    let c = Value::Count;
    let row = [
        Some(Value::Time(r.ts)),
        Some(Value::str(peer)),
        Some(c(r.mem_mb)),
        Some(c(r.pkts_proc)),
        Some(c(r.bytes_recv)),
        Some(c(r.pkts_dropped)),
        Some(c(r.pkts_link)),
        Some(Value::Interval(r.pkt_lag)),
        None,
        // Zeek's event, timer, file and DNS-request counters have no counterpart in weir (no event
        // engine, no file analysis): unset rather than a made-up 0.
        None,
        None,
        Some(c(r.active.0)),
        Some(c(r.active.1)),
        Some(c(r.active.2)),
        Some(c(r.new.0)),
        Some(c(r.new.1)),
        Some(c(r.new.2)),
        None,
        None,
        None,
        None,
        None,
        None,
        Some(c(r.reassem_tcp_size)),
        None,
        Some(c(r.reassem_frag_size)),
        None,
    ];
    h.write(stream, &row);
}

/// The process's resident memory in MiB (`/proc/self/statm`).
pub fn mem_mb() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = s.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0);
    pages * 4096 / (1024 * 1024)
}
