//! A rough end-to-end check against Zeek's own output: a minimal TCP tracker (full handshakes
//! only, Zeek's `Process` order: peer `AckReceived`, then `DataSent`, then `CheckEOF`) feeds
//! corpus traces through the reassembler, and conn.log's `missed_bytes` and the `G`/`g` history
//! letters are compared with the Zeek 9.1 baselines. The tracker is not the engine's (the engine
//! ports Zeek's state machine in full); it is just enough for these traces.

#![allow(clippy::type_complexity, clippy::map_entry)]

use std::collections::HashMap;
use std::path::PathBuf;
use weir_reassembly::{Budget, Config, EndpointInfo, Event, Reassembler, TcpState};

fn trace(rel: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/zeek/traces")
        .join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

struct Pkt<'a> {
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
    ack: u32,
    flags: u8,
    len: u64,
    payload: &'a [u8],
}

/// Ethernet/IPv4/TCP packets of a little-endian microsecond pcap.
fn packets(d: &[u8]) -> Vec<Pkt<'_>> {
    let mut v = Vec::new();
    if d.len() < 24 || d[..4] != [0xd4, 0xc3, 0xb2, 0xa1] || d[20..24] != [1, 0, 0, 0] {
        return v;
    }
    let mut o = 24;
    while o + 16 <= d.len() {
        let cap = u32::from_le_bytes(d[o + 8..o + 12].try_into().unwrap()) as usize;
        if o + 16 + cap > d.len() {
            break;
        }
        let f = &d[o + 16..o + 16 + cap];
        o += 16 + cap;
        if f.len() < 14 + 20 || f[12..14] != [8, 0] {
            continue;
        }
        let ip = &f[14..];
        let ihl = (ip[0] & 15) as usize * 4;
        let tot = u16::from_be_bytes([ip[2], ip[3]]) as usize;
        if ip[9] != 6 || ip.len() < ihl + 20 {
            continue;
        }
        if ip[6] & 0x3f != 0 || ip[7] != 0 {
            continue; // fragments
        }
        let t = &ip[ihl..];
        if t.len() < 14 {
            continue;
        }
        let off = (t[12] >> 4) as usize * 4;
        let len = tot.saturating_sub(ihl + off) as u64;
        let cap_payload = &t[off.min(t.len())..];
        v.push(Pkt {
            src: (ip[12..16].try_into().unwrap(), u16::from_be_bytes([t[0], t[1]])),
            dst: (ip[16..20].try_into().unwrap(), u16::from_be_bytes([t[2], t[3]])),
            seq: u32::from_be_bytes(t[4..8].try_into().unwrap()),
            ack: u32::from_be_bytes(t[8..12].try_into().unwrap()),
            flags: t[13],
            len,
            payload: &cap_payload[..cap_payload.len().min(len as usize)],
        });
    }
    v
}

#[derive(Default)]
struct Ep {
    isn: u64,
    last: u64, // full (unwrapped) highest seq + 1 seen
    ack: u64,  // full highest ack received for this endpoint
    state: TcpState,
    prev: TcpState,
    fin_seq: Option<u64>,
    active: bool,
    missed: u64,
    hist: Vec<u8>,
}

fn unwrap(reference: u64, s: u32) -> u64 {
    let delta = s.wrapping_sub(reference as u32) as i32 as i64;
    (reference as i64 + delta) as u64
}

fn set_state(e: &mut Ep, s: TcpState) {
    if e.state != s {
        e.prev = e.state;
        e.state = s;
    }
}

struct Conn {
    ep: [Ep; 2],
    r: [Reassembler; 2],
}

fn info(c: &Conn, i: usize) -> EndpointInfo {
    let (e, p) = (&c.ep[i], &c.ep[1 - i]);
    let size = e
        .last
        .max(e.ack)
        .saturating_sub(e.isn)
        .saturating_sub(1 + e.fin_seq.is_some() as u64);
    EndpointInfo {
        is_orig: i == 0,
        state: e.state,
        prev_state: e.prev,
        peer_state: p.state,
        peer_prev_state: p.prev,
        fin_seq: e.fin_seq,
        rst_seen: false,
        peer_fin_or_rst: p.fin_seq.is_some(),
        no_data_acked: e.ack == e.isn || e.ack == e.isn + 1,
        size,
        start_seq: e.isn as i64,
        last_seq_full: e.last,
        peer_has_contents: true,
        peer_has_done_something: p.active,
        peer_has_undelivered: c.r[1 - i].has_undelivered_data(),
        partial: false,
        skipping: false,
    }
}

/// Per connection (orig port, resp port): (orig missed, resp missed, history letters).
fn run(rel: &str) -> HashMap<(u16, u16), (u64, u64, String)> {
    let full = run_mode(rel, false);
    // A ranges-only reassembler must show exactly the same gaps.
    assert_eq!(full, run_mode(rel, true), "tracking mode differs on {rel}");
    full
}

fn run_mode(rel: &str, tracking: bool) -> HashMap<(u16, u16), (u64, u64, String)> {
    let mk = || {
        if tracking {
            Reassembler::tracking()
        } else {
            Reassembler::new()
        }
    };
    let d = trace(rel);
    let cfg = Config::default();
    let mut budget = Budget::default();
    let mut conns: HashMap<(([u8; 4], u16), ([u8; 4], u16)), Conn> = HashMap::new();
    for p in packets(&d) {
        let (syn, fin, rst, ack) = (p.flags & 2 != 0, p.flags & 1 != 0, p.flags & 4 != 0, p.flags & 16 != 0);
        let (key, i) = if conns.contains_key(&(p.dst, p.src)) {
            ((p.dst, p.src), 1)
        } else if conns.contains_key(&(p.src, p.dst)) {
            ((p.src, p.dst), 0)
        } else if syn && !ack {
            let mut c = Conn {
                ep: Default::default(),
                r: [mk(), mk()],
            };
            c.ep[0].isn = p.seq as u64;
            c.ep[0].last = p.seq as u64 + 1;
            c.ep[0].ack = p.seq as u64;
            c.ep[1].state = TcpState::Inactive;
            conns.insert((p.src, p.dst), c);
            ((p.src, p.dst), 0)
        } else {
            continue;
        };
        let c = conns.get_mut(&key).unwrap();
        let j = 1 - i;
        if syn && i == 1 && c.ep[1].state == TcpState::Inactive {
            c.ep[1].isn = p.seq as u64;
            c.ep[1].last = p.seq as u64 + 1;
            c.ep[1].ack = p.seq as u64;
        }
        let seq_full = unwrap(c.ep[i].last, p.seq);
        let rel_seq = seq_full - c.ep[i].isn;
        let seg_end = seq_full + p.len + syn as u64 + fin as u64;
        if fin {
            c.ep[i].fin_seq = Some(rel_seq + p.len + 1 + syn as u64);
        }
        let mut rel_ack = None;
        if ack {
            let a = unwrap(c.ep[j].ack.max(c.ep[j].isn), p.ack);
            if !rst && a > c.ep[j].ack {
                c.ep[j].ack = a;
            }
            rel_ack = Some(a - c.ep[j].isn);
        }
        if seg_end > c.ep[i].last {
            c.ep[i].last = seg_end;
        }
        // A crude state machine: enough for clean handshakes and FIN closes.
        if syn {
            set_state(&mut c.ep[i], if ack { TcpState::SynAckSent } else { TcpState::SynSent });
        } else if c.ep[i].state != TcpState::Closed {
            set_state(&mut c.ep[i], TcpState::Established);
            if c.ep[j].state == TcpState::SynAckSent || c.ep[j].state == TcpState::SynSent {
                set_state(&mut c.ep[j], TcpState::Established);
            }
        }
        if ack && c.ep[i].state == TcpState::SynAckSent && c.ep[j].state == TcpState::SynSent {
            // SYN-ACK: the originator is established once it acks; the tracker keeps it simple.
        }
        if fin {
            set_state(&mut c.ep[i], TcpState::Closed);
        }
        c.ep[i].active = true;

        let mut ev: Vec<(usize, u8, u64)> = Vec::new();
        if let Some(a) = rel_ack {
            let inf = info(c, j);
            c.r[j].ack_received(&cfg, &mut budget, &inf, a, &mut |e| match e {
                Event::ContentGap { len, .. } => ev.push((j, 0, len)),
                Event::History { code, .. } => ev.push((j, code, 0)),
                _ => {}
            });
        }
        if p.len > 0 && !rst {
            let inf = info(c, i);
            let rel_data = rel_seq + syn as u64;
            c.r[i].data_sent(&cfg, &mut budget, &inf, rel_data, p.len, p.payload, &mut |e| match e {
                Event::ContentGap { len, .. } => ev.push((i, 0, len)),
                Event::History { code, .. } => ev.push((i, code, 0)),
                _ => {}
            });
        }
        let inf = info(c, i);
        c.r[i].check_eof(&inf, &mut |_| {});
        for (k, code, len) in ev {
            c.ep[k].missed += len;
            if code != 0 {
                c.ep[k].hist.push(code);
            }
        }
    }
    conns
        .into_iter()
        .map(|((o, r), mut c)| {
            for x in c.r.iter_mut() {
                x.done(&cfg, &mut budget, &mut |_| {});
            }
            let h: String = c.ep[0]
                .hist
                .iter()
                .chain(c.ep[1].hist.iter())
                .map(|&b| b as char)
                .collect();
            ((o.1, r.1), (c.ep[0].missed, c.ep[1].missed, h))
        })
        .collect()
}

#[test]
fn miss_end_data() {
    // conn.log: 60648 -> 80, missed_bytes 2902, history ShADafgF.
    let m = run("tcp/miss_end_data.pcap");
    let (o, r, h) = &m[&(60648, 80)];
    assert_eq!(o + r, 2902, "{m:?}");
    assert_eq!(h, "g");
}

#[test]
fn large_file_reassembly() {
    // conn.log: 59764 -> 37150, missed_bytes 5416642848, history ShAdgfFa.
    let m = run("ftp/bigtransfer.pcap");
    let (o, r, h) = &m[&(59764, 37150)];
    assert_eq!(o + r, 5416642848, "{m:?}");
    assert_eq!(h, "g");
}

#[test]
fn ftp_cwd_navigation() {
    // conn.log: 58218 -> 21, missed_bytes 233, history ShAdDaGg (S1: no FIN).
    let m = run("ftp/cwd-navigation.pcap");
    let (o, r, h) = &m[&(58218, 21)];
    assert_eq!(o + r, 233, "{m:?}");
    let mut h: Vec<char> = h.chars().collect();
    h.sort();
    assert_eq!(h, vec!['G', 'g']);
}

/// Exploration over the whole corpus (`cargo test -- --ignored --nocapture survey`): every
/// single-trace test with a conn.log, connections identified by their ports.
#[test]
#[ignore]
fn survey() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/zeek");
    let manifest = std::fs::read_to_string(root.join("MANIFEST.tsv")).unwrap();
    let (mut agree, mut disagree) = (0, 0);
    let mut seen = std::collections::HashSet::new();
    for line in manifest.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let (test, tr) = (f[1], f[2]);
        if tr.contains(',') || !tr.ends_with(".pcap") || !seen.insert(tr.to_string()) {
            continue;
        }
        let Ok(log) = std::fs::read_to_string(root.join("expected").join(test).join("conn.log")) else {
            continue;
        };
        let mut idx = HashMap::new();
        let mut rows: HashMap<(u16, u16), Vec<(u64, String)>> = HashMap::new();
        for l in log.lines() {
            let c: Vec<&str> = l.split('\t').collect();
            if l.starts_with("#fields") {
                for (i, n) in c[1..].iter().enumerate() {
                    idx.insert(n.to_string(), i);
                }
                continue;
            }
            if l.starts_with('#') || !idx.contains_key("missed_bytes") {
                continue;
            }
            if c.get(idx["proto"]) != Some(&"tcp") {
                continue;
            }
            let gg: String = c[idx["history"]].chars().filter(|&x| x == 'G' || x == 'g').collect();
            let (Ok(op), Ok(rp), Ok(m)) = (
                c[idx["id.orig_p"]].parse::<u16>(),
                c[idx["id.resp_p"]].parse::<u16>(),
                c[idx["missed_bytes"]].parse::<u64>(),
            ) else {
                continue;
            };
            rows.entry((op, rp)).or_default().push((m, gg));
        }
        let got = std::panic::catch_unwind(|| run(tr));
        let Ok(got) = got else {
            println!("PANIC {tr}");
            continue;
        };
        for (k, (o, r, h)) in got {
            let Some(v) = rows.get(&k) else { continue };
            if v.len() != 1 {
                continue;
            }
            let mut ours: Vec<char> = h.chars().collect();
            let mut theirs: Vec<char> = v[0].1.chars().collect();
            ours.sort();
            theirs.sort();
            if v[0].0 == o + r && ours == theirs {
                agree += 1;
            } else {
                disagree += 1;
                println!("{test} {tr} {k:?}: zeek {:?} ours {} (hist {h})", v[0], o + r);
            }
        }
    }
    println!("agree {agree} disagree {disagree}");
}
