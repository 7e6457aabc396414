//! Test support: a minimal trace reader and connection tracker that feeds the DNS analyzer without the
//! engine, a mock `Context`, and Zeek-TSV rendering of what the analyzer logged.

use core::net::IpAddr;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use weir_api::analyzer::{ConnInfo, Context, Transport};
use weir_api::log::{Schema, Value};
use weir_api::{Analyzer, Weird};
use weir_decode::{checksum, frag, DecodeConfig, Decoded, LinkType};
use weir_dns::{DnsAnalyzer, DnsConfig};

pub fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/zeek")
}

/// One captured frame: time, link type, bytes.
pub use weir_capture::owned::OwnedPacket as Frame;

pub fn read_trace(path: &Path) -> Vec<Frame> {
    weir_capture::owned::read_file(path).unwrap_or_else(|e| panic!("{e}"))
}

/// A transport payload pulled out of a trace (after fragment reassembly and the checksum check).
pub struct Payload {
    pub ts: f64,
    pub tcp: bool,
    pub src: IpAddr,
    pub sport: u16,
    pub dst: IpAddr,
    pub dport: u16,
    pub tcp_flags: u8,
    pub seq: u32,
    pub data: Vec<u8>,
}

pub fn payloads(frames: &[Frame], ignore_checksums: bool) -> Vec<Payload> {
    let cfg = DecodeConfig {
        ignore_checksums,
        ..DecodeConfig::default()
    };
    let mut reasm = frag::Reassembler::new(frag::Config::default());
    let mut out = Vec::new();
    for f in frames {
        let mut dec = Decoded::default();
        let mut weirds = Vec::new();
        if weir_decode::decode_frame(&cfg, LinkType(f.link), &f.data, &mut dec, &mut weirds).is_err() {
            continue;
        }
        let Some(ip) = dec.ip else { continue };
        if ip.frag.is_some() {
            if let Some(dgram) = reasm.add(f.ts, &ip, &mut weirds) {
                let mut d2 = Decoded::default();
                if weir_decode::decode_ip(&cfg, &dgram, &mut d2, &mut weirds).is_ok() {
                    push(&cfg, f.ts, &d2, &mut out);
                }
            }
            continue;
        }
        push(&cfg, f.ts, &dec, &mut out);
    }
    out
}

fn push(cfg: &DecodeConfig, ts: f64, dec: &Decoded<'_>, out: &mut Vec<Payload>) {
    push_depth(cfg, ts, dec, out, 0)
}

/// Decodes a tunnelled inner frame and pushes its payloads.
fn inner(cfg: &DecodeConfig, ts: f64, link: LinkType, frame: &[u8], out: &mut Vec<Payload>, depth: usize) {
    if depth >= 3 {
        return;
    }
    let mut dec = Decoded::default();
    let mut weirds = Vec::new();
    if weir_decode::decode_frame(cfg, link, frame, &mut dec, &mut weirds).is_ok() {
        push_depth(cfg, ts, &dec, out, depth + 1);
    }
}

/// A GRE packet's payload and how to decode it (Zeek's GRE analyzer, simplified: versions 0 and 1,
/// IPv4/IPv6/Ethernet/PPP payloads).
fn gre(cfg: &DecodeConfig, ts: f64, seg: &[u8], out: &mut Vec<Payload>, depth: usize) {
    if seg.len() < 4 {
        return;
    }
    let flags = u16::from_be_bytes([seg[0], seg[1]]);
    let proto = u16::from_be_bytes([seg[2], seg[3]]);
    let version = flags & 7;
    let mut off = 4;
    if flags & 0xc000 != 0 {
        off += 4; // checksum (+ offset)
    }
    if flags & 0x2000 != 0 {
        off += 4; // key
    }
    if flags & 0x1000 != 0 {
        off += 4; // sequence
    }
    if version == 1 && flags & 0x0080 != 0 {
        off += 4; // ack
    }
    let Some(p) = seg.get(off..) else { return };
    match proto {
        0x0800 | 0x86dd => inner(cfg, ts, LinkType::RAW, p, out, depth),
        0x6558 => inner(cfg, ts, LinkType::ETHERNET, p, out, depth),
        0x880b => {
            let mut p = p;
            if p.starts_with(&[0xff, 0x03]) {
                p = &p[2..];
            }
            let (pp, rest) = if p.first().is_some_and(|b| b & 1 == 1) {
                (p[0] as u16, &p[1..])
            } else if p.len() >= 2 {
                (u16::from_be_bytes([p[0], p[1]]), &p[2..])
            } else {
                return;
            };
            if pp == 0x0021 || pp == 0x0057 {
                inner(cfg, ts, LinkType::RAW, rest, out, depth);
            }
        }
        _ => {}
    }
}

fn push_depth(cfg: &DecodeConfig, ts: f64, dec: &Decoded<'_>, out: &mut Vec<Payload>, depth: usize) {
    let Some(ip) = dec.ip else { return };
    if checksum::should_verify(cfg, &ip) && !checksum::transport_ok(&ip) {
        return;
    }
    match dec.transport {
        Some(weir_decode::Transport::Udp(u)) => {
            let ports = [u.src_port, u.dst_port];
            // Tunnels over UDP on their well-known ports: GRE-in-UDP 4754, Geneve 6081, VXLAN 4789, GTP-U 2152.
            if ports.contains(&4754) {
                return gre(cfg, ts, u.payload, out, depth);
            }
            if u.dst_port == 6081 && u.payload.len() > 8 {
                let off = 8 + (u.payload[0] & 0x3f) as usize * 4;
                let proto = u16::from_be_bytes([u.payload[2], u.payload[3]]);
                if let Some(p) = u.payload.get(off..) {
                    match proto {
                        0x6558 => return inner(cfg, ts, LinkType::ETHERNET, p, out, depth),
                        0x0800 | 0x86dd => return inner(cfg, ts, LinkType::RAW, p, out, depth),
                        _ => {}
                    }
                }
            }
            if u.dst_port == 4789 && u.payload.len() > 8 && u.payload[0] & 0x08 != 0 {
                return inner(cfg, ts, LinkType::ETHERNET, &u.payload[8..], out, depth);
            }
            if ports.contains(&2152) && u.payload.len() > 8 && u.payload[0] >> 5 == 1 && u.payload[1] == 0xff {
                let mut off = 8;
                if u.payload[0] & 0x07 != 0 {
                    off += 4;
                }
                if let Some(p) = u.payload.get(off..) {
                    if p.first().is_some_and(|b| b >> 4 == 4 || b >> 4 == 6) {
                        return inner(cfg, ts, LinkType::RAW, p, out, depth);
                    }
                }
            }
            out.push(Payload {
                ts,
                tcp: false,
                src: ip.src,
                sport: u.src_port,
                dst: ip.dst,
                dport: u.dst_port,
                tcp_flags: 0,
                seq: 0,
                data: u.payload.to_vec(),
            })
        }
        Some(weir_decode::Transport::Tcp(t)) => out.push(Payload {
            ts,
            tcp: true,
            src: ip.src,
            sport: t.src_port,
            dst: ip.dst,
            dport: t.dst_port,
            tcp_flags: t.flags,
            seq: t.seq,
            data: t.payload.to_vec(),
        }),
        Some(weir_decode::Transport::Other(47, seg)) => gre(cfg, ts, seg, out, depth),
        Some(weir_decode::Transport::Other(4 | 41, seg)) => inner(cfg, ts, LinkType::RAW, seg, out, depth),
        _ => {}
    }
}

/// What a mock context recorded.
#[derive(Default, Debug, Clone)]
pub struct Recorded {
    pub rows: Vec<String>,
    pub weirds: Vec<(String, Option<String>, String)>,
    pub confirmed: bool,
    pub violations: Vec<String>,
    pub history: Vec<u8>,
    /// The connection as conn.log would write it: proto, orig_h, orig_p, resp_h, resp_p (after flips).
    pub conn: Option<(&'static str, IpAddr, u16, IpAddr, u16)>,
}

pub struct MockCx<'a> {
    pub uid: String,
    pub orig_h: IpAddr,
    pub orig_p: u16,
    pub resp_h: IpAddr,
    pub resp_p: u16,
    pub tcp: bool,
    pub start: f64,
    pub now: f64,
    pub schema: &'a Schema,
    pub rec: Recorded,
    /// Engine requests the analyzer made during a call (the harness applies them as the engine does).
    pub timer: Option<f64>,
    pub remove: bool,
    pub flip_req: bool,
    pub last: f64,
}

impl Context for MockCx<'_> {
    fn set_timer(&mut self, at: f64) {
        self.timer = Some(at);
    }
    fn remove_connection(&mut self) {
        self.remove = true;
    }
    fn last_time(&self) -> f64 {
        self.last
    }
    fn flip_roles(&mut self) {
        self.flip_req = true;
    }
    fn conn(&self) -> ConnInfo<'_> {
        ConnInfo {
            uid: &self.uid,
            orig_h: self.orig_h,
            orig_p: self.orig_p,
            resp_h: self.resp_h,
            resp_p: self.resp_p,
            transport: if self.tcp { Transport::Tcp } else { Transport::Udp },
            start_time: self.start,
        }
    }
    fn network_time(&self) -> f64 {
        self.now
    }
    fn packet_time(&self) -> f64 {
        self.now
    }
    fn confirm(&mut self) {
        self.rec.confirmed = true;
    }
    fn violation(&mut self, reason: &str) {
        self.rec.violations.push(reason.to_string());
    }
    fn weird(&mut self, weird: Weird, addl: Option<&str>, source: &str) {
        self.rec
            .weirds
            .push((weird.name().to_string(), addl.map(str::to_string), source.to_string()));
    }
    fn weird_named(&mut self, name: &str, addl: Option<&str>, source: &str) {
        self.rec
            .weirds
            .push((name.to_string(), addl.map(str::to_string), source.to_string()));
    }
    fn log(&mut self, stream: &'static str, row: &[Option<Value<'_>>]) {
        assert_eq!(stream, "dns");
        let mut out = Vec::new();
        weir_logs::format::tsv_row(&mut out, self.schema, row);
        while out.last() == Some(&b'\n') {
            out.pop();
        }
        self.rec.rows.push(String::from_utf8_lossy(&out).into_owned());
    }
    fn history_once(&mut self, code: u8) {
        if !self.rec.history.contains(&code) {
            self.rec.history.push(code);
        }
    }
    fn worker_state(&mut self) -> Option<&mut (dyn std::any::Any + Send)> {
        None
    }
}

pub const DNS_UDP_PORTS: [u16; 4] = [53, 137, 5353, 5355];

/// One connection with the DNS analyzer attached.
pub struct Conn {
    pub orig: (IpAddr, u16),
    pub resp: (IpAddr, u16),
    pub tcp: bool,
    pub start: f64,
    pub last: f64,
    pub next_check: f64,
    pub an: DnsAnalyzer,
    pub next_seq: [Option<u32>; 2],
    pub pending: [BTreeMap<u32, Vec<u8>>; 2],
    pub rec: Recorded,
    pub fin: [bool; 2],
    /// The connection tracker flipped it at creation (UDP likely-server-port rule, TCP SYN-ACK first).
    pub engine_flipped: bool,
    /// Flips the analyzer asked for (applied after the call, as the engine does).
    pub flips: usize,
    pub timer: Option<f64>,
}

/// What one run produced: for each connection (in removal order) its rows, weirds and flags.
pub struct Output {
    pub conns: Vec<(Conn, Recorded)>,
}

fn key(p: &Payload) -> (bool, IpAddr, u16, IpAddr, u16) {
    let a = (p.src, p.sport);
    let b = (p.dst, p.dport);
    if a <= b {
        (p.tcp, a.0, a.1, b.0, b.1)
    } else {
        (p.tcp, b.0, b.1, a.0, a.1)
    }
}

#[allow(clippy::map_entry)] // the entry is skipped (`continue`) for connections DNS is not attached to
/// Runs the analyzer over a trace's payloads, with connections as Zeek would form them (simplified).
pub fn run(payloads: &[Payload], cfg: &DnsConfig, schema: &Schema) -> Vec<Recorded> {
    let mut conns: HashMap<(bool, IpAddr, u16, IpAddr, u16), Conn> = HashMap::new();
    let mut done: Vec<Recorded> = Vec::new();
    let mut order: Vec<(bool, IpAddr, u16, IpAddr, u16)> = Vec::new();
    for p in payloads {
        let k = key(p);
        // Analyzer timers due before this packet (Zeek's DNS_Analyzer::ExpireTimer), in time order.
        loop {
            let due = conns
                .iter()
                .filter_map(|(k, c)| c.timer.filter(|&t| t <= p.ts).map(|t| (t, *k)))
                .min_by(|a, b| a.0.total_cmp(&b.0));
            let Some((t, dk)) = due else { break };
            let c = conns.get_mut(&dk).unwrap();
            c.timer = None;
            let mut cx = c.cx(schema, t);
            c.an.timer(&mut cx, t);
            let (timer, remove, rec) = (cx.timer, cx.remove, cx.rec);
            c.rec = rec;
            c.timer = timer;
            if remove {
                let c = conns.remove(&dk).unwrap();
                done.push(finish(c, schema));
            }
        }
        if !conns.contains_key(&k) {
            let mut orig = (p.src, p.sport);
            let mut resp = (p.dst, p.dport);
            let first = orig;
            if p.tcp {
                // SYN-ACK first: the receiver is the originator; no SYN: the port decides.
                let synack = p.tcp_flags & 0x12 == 0x12;
                let by_port = p.tcp_flags & 0x02 == 0 && resp.1 != 53 && orig.1 == 53;
                if synack || by_port {
                    core::mem::swap(&mut orig, &mut resp);
                }
                if resp.1 != 53 {
                    continue;
                }
            } else {
                let likely = |port: u16| DNS_UDP_PORTS.contains(&port);
                if !likely(resp.1) && likely(orig.1) {
                    core::mem::swap(&mut orig, &mut resp);
                }
                if !likely(resp.1) {
                    continue;
                }
            }
            conns.insert(
                k,
                Conn {
                    orig,
                    resp,
                    tcp: p.tcp,
                    start: p.ts,
                    last: p.ts,
                    next_check: p.ts + 10.0,
                    an: DnsAnalyzer::new(cfg.clone()),
                    next_seq: [None, None],
                    pending: [BTreeMap::new(), BTreeMap::new()],
                    rec: Recorded::default(),
                    fin: [false, false],
                    engine_flipped: orig != first,
                    flips: 0,
                    timer: None,
                },
            );
            order.push(k);
        }
        let c = conns.get_mut(&k).unwrap();
        c.last = p.ts;
        let is_orig = (p.src, p.sport) == c.orig;
        let mut cx = c.cx(schema, p.ts);
        if !c.tcp {
            c.an.deliver_packet(&mut cx, is_orig, &p.data);
        } else {
            let side = is_orig as usize;
            let syn = p.tcp_flags & 0x02 != 0;
            let fin = p.tcp_flags & 0x05 != 0;
            let mut seq = p.seq;
            if syn {
                seq = seq.wrapping_add(1);
                c.next_seq[side] = Some(seq);
            }
            if c.next_seq[side].is_none() {
                c.next_seq[side] = Some(seq);
            }
            if !p.data.is_empty() {
                c.pending[side].entry(seq).or_insert_with(|| p.data.clone());
            }
            // Deliver in order.
            loop {
                let next = c.next_seq[side].unwrap();
                let Some((&s, _)) = c.pending[side].iter().find(|(&s, d)| {
                    let off = next.wrapping_sub(s);
                    (off as i32) >= 0 && (off as usize) < d.len()
                }) else {
                    // Drop stale segments entirely before `next`.
                    c.pending[side].retain(|&s, d| {
                        let end = s.wrapping_add(d.len() as u32);
                        (end.wrapping_sub(next) as i32) > 0
                    });
                    break;
                };
                let d = c.pending[side].remove(&s).unwrap();
                let off = next.wrapping_sub(s) as usize;
                c.an.deliver_stream(&mut cx, is_orig, &d[off..]);
                c.next_seq[side] = Some(s.wrapping_add(d.len() as u32));
            }
            if fin && !c.fin[side] {
                c.fin[side] = true;
                c.an.end_of_data(&mut cx, is_orig);
            }
        }
        let (timer, remove, flip, rec) = (cx.timer, cx.remove, cx.flip_req, cx.rec);
        c.rec = rec;
        if timer.is_some() {
            c.timer = timer;
        }
        if flip {
            // The engine applies the flip after the call and tells the analyzers.
            core::mem::swap(&mut c.orig, &mut c.resp);
            c.flips += 1;
            c.an.flip_roles();
        }
        if remove {
            let c = conns.remove(&k).unwrap();
            done.push(finish(c, schema));
        }
    }
    // End of input: remove the rest, in creation order.
    for k in order {
        if let Some(c) = conns.remove(&k) {
            done.push(finish(c, schema));
        }
    }
    done
}

impl Conn {
    fn cx<'a>(&mut self, schema: &'a Schema, now: f64) -> MockCx<'a> {
        MockCx {
            uid: "C".into(),
            orig_h: self.orig.0,
            orig_p: self.orig.1,
            resp_h: self.resp.0,
            resp_p: self.resp.1,
            tcp: self.tcp,
            start: self.start,
            now,
            schema,
            rec: core::mem::take(&mut self.rec),
            timer: None,
            remove: false,
            flip_req: false,
            last: self.last,
        }
    }
}

fn finish(mut c: Conn, schema: &Schema) -> Recorded {
    let mut cx = c.cx(schema, c.last);
    c.an.done(&mut cx);
    let mut rec = cx.rec;
    // weird.log ids are the connection's after its flips (Zeek flips before the weirds that follow).
    let (o, r) = if c.an.flipped() {
        (c.resp, c.orig)
    } else {
        (c.orig, c.resp)
    };
    let ids = format!("{}\t{}\t{}\t{}", o.0, o.1, r.0, r.1);
    rec.weirds = rec
        .weirds
        .into_iter()
        .map(|(n, a, s)| (n, a, format!("{s}\t{ids}")))
        .collect();
    for _ in 0..c.flips + usize::from(c.engine_flipped) + usize::from(c.an.flipped()) {
        rec.history.insert(0, b'^');
    }
    rec.conn = Some((if c.tcp { "tcp" } else { "udp" }, o.0, o.1, r.0, r.1));
    rec
}

/// Every trace file of the corpus.
pub fn all_traces() -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if let Ok(mut f) = std::fs::File::open(&p) {
                let mut magic = [0u8; 4];
                if f.read_exact(&mut magic).is_ok()
                    && (magic == [0xd4, 0xc3, 0xb2, 0xa1]
                        || magic == [0xa1, 0xb2, 0xc3, 0xd4]
                        || magic == [0x4d, 0x3c, 0xb2, 0xa1]
                        || magic == [0xa1, 0xb2, 0x3c, 0x4d]
                        || magic == [0x0a, 0x0d, 0x0d, 0x0a]
                        || magic[..2] == [0x1f, 0x8b])
                {
                    out.push(p);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&corpus().join("traces"), &mut out);
    out.sort();
    out
}

/// The DNS messages of a set of traces: UDP payloads to or from 53, 137, 5353 or 5355, and the
/// length-prefixed messages of TCP port 53 streams (segments taken in order of sequence number, each
/// sequence number once). Duplicates are kept once.
pub fn dns_messages(traces: &[PathBuf]) -> Vec<Vec<u8>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for t in traces {
        let frames = read_trace(t);
        let ps = payloads(&frames, true);
        type Flow = (IpAddr, u16, IpAddr, u16);
        let mut streams: HashMap<Flow, BTreeMap<u32, Vec<u8>>> = HashMap::new();
        for p in &ps {
            if p.data.is_empty() {
                continue;
            }
            if !p.tcp {
                if (DNS_UDP_PORTS.contains(&p.sport) || DNS_UDP_PORTS.contains(&p.dport)) && seen.insert(p.data.clone())
                {
                    out.push(p.data.clone());
                }
            } else if p.sport == 53 || p.dport == 53 {
                streams
                    .entry((p.src, p.sport, p.dst, p.dport))
                    .or_default()
                    .entry(p.seq)
                    .or_insert_with(|| p.data.clone());
            }
        }
        for (_, segs) in streams {
            let mut bytes = Vec::new();
            let mut next: Option<u32> = None;
            for (s, d) in segs {
                let off = next.map(|n| n.wrapping_sub(s) as usize).unwrap_or(0);
                if off < d.len() {
                    bytes.extend_from_slice(&d[off..]);
                    next = Some(s.wrapping_add(d.len() as u32));
                }
            }
            let mut i = 0;
            while i + 2 <= bytes.len() {
                let l = u16::from_be_bytes([bytes[i], bytes[i + 1]]) as usize;
                if i + 2 + l > bytes.len() {
                    break;
                }
                let m = bytes[i + 2..i + 2 + l].to_vec();
                if seen.insert(m.clone()) {
                    out.push(m);
                }
                i += 2 + l;
            }
        }
    }
    out
}

/// The fuzz corpus directory of a target.
pub fn fuzz_corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target)
}

pub fn read_dir_files(d: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(d)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().is_file())
                .map(|e| (e.path(), std::fs::read(e.path()).unwrap()))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
