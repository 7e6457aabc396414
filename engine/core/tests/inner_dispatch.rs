//! Dispatch on the inner connection: one VXLAN mirror session carrying many connections spreads over
//! every worker, and conn.log and tunnel.log hold the same rows for any number of workers (the carrying
//! connection once, `tunnel_parents` pointing at it, DISCOVER and CLOSE at the times one process
//! writes them, even when the tunnel closes and is rediscovered while other workers lag behind).

mod common;

use common::{eth, ip4, run_logs, write_pcap};
use std::path::PathBuf;
use weir_engine::config::{AnalyzerSet, EngineConfig};
use weir_engine::RunReport;

/// UDP with no checksum (allowed over IPv4).
fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

/// An inner UDP packet `src:sport -> 10.9.0.1:7000` inside VXLAN from mirror source `mirror`.
fn vxlan_frame(mirror: u8, src: [u8; 4], sport: u16, reply: bool) -> Vec<u8> {
    let dst = [10, 9, 0, 1];
    let inner = if reply {
        ip4(17, dst, src, &udp(7000, sport, b"pong"))
    } else {
        ip4(17, src, dst, &udp(sport, 7000, b"ping"))
    };
    let mut vx = vec![0x08, 0, 0, 0, 0, 0, 7, 0];
    vx.extend_from_slice(&eth(&inner));
    eth(&ip4(
        17,
        [192, 168, 1, mirror],
        [192, 168, 1, 100],
        &udp(40000, 4789, &vx),
    ))
}

/// Mirror 1: 200 short exchanges in the first seconds. Mirror 2: a few connections, then silent long
/// enough for its carrying connection (and the inner ones) to expire (CLOSE), then two new connections
/// (one DISCOVER again, on the carrier's new uid).
fn trace() -> Vec<(f64, Vec<u8>)> {
    let mut f = Vec::new();
    let t0 = 1_700_000_000.0;
    for i in 0..200u32 {
        let src = [10, 1, (i / 250) as u8, (i % 250) as u8 + 1];
        let t = t0 + f64::from(i) * 0.01;
        f.push((t, vxlan_frame(1, src, 1000 + i as u16, false)));
        f.push((t + 0.001, vxlan_frame(1, src, 1000 + i as u16, true)));
    }
    for i in 0..4u16 {
        f.push((
            t0 + 0.5 + f64::from(i) * 0.01,
            vxlan_frame(2, [10, 2, 0, 1], 2000 + i, false),
        ));
    }
    // After the UDP inactivity timeout (1 min): the carrier's expiry closes the tunnel meanwhile.
    f.push((t0 + 100.0, vxlan_frame(2, [10, 2, 0, 1], 2000, true)));
    f.push((t0 + 100.5, vxlan_frame(2, [10, 2, 0, 9], 2999, false)));
    f.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    f
}

fn run(pcap: &PathBuf, workers: usize) -> (RunReport, Vec<String>, Vec<String>) {
    let engine = EngineConfig::with_analyzers(&AnalyzerSet::Only(vec![]), &[]);
    let (report, mut logs) = run_logs(pcap, engine, workers, "inner", &["conn.log", "tunnel.log"]);
    let tunnel = logs.pop().unwrap();
    (report, logs.pop().unwrap(), tunnel)
}

#[test]
fn one_mirror_session_spreads_and_logs_as_one_process() {
    let pcap = std::env::temp_dir().join(format!("weir-inner-{}.pcap", std::process::id()));
    write_pcap(&pcap, &trace());
    let (r1, conn1, tun1) = run(&pcap, 1);
    // Two carrying connections for mirror 2 (before and after its expiry), one for mirror 1, and 206
    // inner connections (200 + 4, then 2 after the expiry).
    assert_eq!(conn1.len(), 3 + 206, "{conn1:#?}");
    let carriers: Vec<&String> = conn1.iter().filter(|l| l.contains("\"id.resp_p\":4789")).collect();
    assert_eq!(carriers.len(), 3);
    assert!(carriers.iter().all(|l| l.contains("\"service\":\"vxlan\"")));
    let inner = conn1.iter().filter(|l| l.contains("\"tunnel_parents\":[\"C")).count();
    assert_eq!(inner, 206);
    let actions: Vec<&str> = tun1
        .iter()
        .map(|l| if l.contains("DISCOVER") { "D" } else { "C" })
        .collect();
    // Mirror 1: DISCOVER, CLOSE at the end. Mirror 2: DISCOVER, CLOSE at expiry, DISCOVER for the new
    // connection, CLOSE at the end.
    assert_eq!(actions.iter().filter(|a| **a == "D").count(), 3, "{tun1:#?}");
    assert_eq!(actions.iter().filter(|a| **a == "C").count(), 3, "{tun1:#?}");
    assert!(r1.workers.is_empty(), "one worker reports no shares");

    for workers in [2, 4] {
        let (r, conn, tun) = run(&pcap, workers);
        assert_eq!(conn, conn1, "conn.log with {workers} workers");
        assert_eq!(tun, tun1, "tunnel.log with {workers} workers");
        let (lanes, carrier) = r.workers.split_at(workers);
        assert_eq!(carrier[0].name, "carrier");
        assert_eq!(carrier[0].packets, 406, "the carrier sees every packet");
        assert_eq!(carrier[0].connections, 3, "and holds only the carrying connections");
        for w in lanes {
            assert!(
                w.tunnelled > 20,
                "{} got {} inner packets: {:?}",
                w.name,
                w.tunnelled,
                r.workers
            );
        }
        assert_eq!(lanes.iter().map(|w| w.tunnelled).sum::<u64>(), 406);
    }
    let _ = std::fs::remove_file(&pcap);
}
