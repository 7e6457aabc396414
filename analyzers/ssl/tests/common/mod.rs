//! Test-only plumbing: reading the corpus traces, grouping packets into connections, a simple TCP
//! reassembly per direction, a mock `Context`, and the Zeek TSV rendering/masking used to compare with
//! the baselines.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use weir_api::analyzer::{Analyzer, ConnInfo, Context, Probe, Settings, Transport};
use weir_api::log::{Schema, Value};
use weir_api::Weird;
use weir_decode::{decode_frame_wire, DecodeConfig, Decoded, LinkType};

/// One captured packet.
pub use weir_capture::owned::OwnedPacket as Pkt;

/// `testdata/zeek/traces` of the workspace, if present.
pub fn traces_dir() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/zeek/traces");
    d.is_dir().then_some(d)
}

/// Reads a pcap or pcapng file (optionally gzipped). Unreadable tails are ignored.
pub fn read_trace(path: &Path) -> Vec<Pkt> {
    weir_capture::owned::read_file(path).unwrap_or_default()
}

/// Everything one run (one `zeek -r trace`) wrote.
#[derive(Debug, Default)]
pub struct RunOutput {
    /// ssl.log rows as Zeek TSV lines (no newline).
    pub ssl: Vec<String>,
    pub x509: Vec<String>,
    pub weirds: Vec<String>,
    /// Connections whose analyzer confirmed (conn.log `service` = ssl), by key.
    pub confirmed: Vec<String>,
    pub violations: Vec<String>,
    /// What each analyzed connection was fed: (tcp, [(is_orig, bytes)]).
    pub streams: Vec<(bool, Vec<(bool, Vec<u8>)>)>,
    /// `Context::log_once`'s table, as the engine keeps it for a run: (stream, key) -> time written.
    pub once: std::collections::HashMap<(&'static str, Vec<u8>), f64>,
}

struct MockCx<'a> {
    conn: ConnInfo<'a>,
    now: f64,
    confirmed: bool,
    violated: bool,
    out: &'a mut RunOutput,
    ssl_schema: &'a Schema,
    x509_schema: &'a Schema,
    cache: &'a mut Box<dyn std::any::Any + Send>,
}

fn or_unset(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

fn row_tsv(schema: &Schema, row: &[Option<Value<'_>>]) -> String {
    let mut out = Vec::new();
    weir_logs::format::tsv::tsv_row(&mut out, schema, row);
    out.pop();
    String::from_utf8_lossy(&out).into_owned()
}

impl Context for MockCx<'_> {
    fn conn(&self) -> ConnInfo<'_> {
        self.conn
    }
    fn network_time(&self) -> f64 {
        self.now
    }
    fn packet_time(&self) -> f64 {
        self.now
    }
    fn confirm(&mut self) {
        self.confirmed = true;
    }
    fn violation(&mut self, reason: &str) {
        self.violated = true;
        self.out.violations.push(reason.to_string());
    }
    fn weird(&mut self, weird: Weird, addl: Option<&str>, source: &str) {
        let line = format!("{}\t{}\t{}", weird.name(), addl.unwrap_or("-"), or_unset(source));
        self.out.weirds.push(line);
    }
    fn weird_named(&mut self, name: &str, addl: Option<&str>, source: &str) {
        let line = format!("{}\t{}\t{}", name, addl.unwrap_or("-"), or_unset(source));
        self.out.weirds.push(line);
    }
    fn log(&mut self, stream: &'static str, row: &[Option<Value<'_>>]) {
        match stream {
            "ssl" => {
                let l = row_tsv(self.ssl_schema, row);
                self.out.ssl.push(l)
            }
            "x509" => {
                let l = row_tsv(self.x509_schema, row);
                self.out.x509.push(l)
            }
            _ => panic!("unknown stream {stream}"),
        }
    }
    fn log_once(
        &mut self,
        stream: &'static str,
        key: &[u8],
        at: f64,
        keep_for: f64,
        max_keys: usize,
        row: &[Option<Value<'_>>],
    ) {
        let id = (stream, key.to_vec());
        if keep_for > 0.0 {
            if let Some(&t) = self.out.once.get(&id) {
                if at - t < keep_for {
                    return;
                }
            }
            if self.out.once.len() < max_keys || self.out.once.contains_key(&id) {
                self.out.once.insert(id, at);
            }
        }
        self.log(stream, row);
    }
    fn history_once(&mut self, _code: u8) {}
    fn worker_state(&mut self) -> Option<&mut (dyn std::any::Any + Send)> {
        Some(self.cache.as_mut())
    }
}

#[derive(Default)]
struct Dir {
    next: Option<u32>,
    pending: BTreeMap<u32, Vec<u8>>,
}

struct Conn {
    orig: (IpAddr, u16),
    resp: (IpAddr, u16),
    tcp: bool,
    start: f64,
    uid: String,
    analyzer: Option<Box<dyn Analyzer>>,
    decided: bool,
    confirmed: bool,
    violated: bool,
    dirs: [Dir; 2],
    fed: Vec<(bool, Vec<u8>)>,
    /// TCP connection first seen without a SYN (Zeek's `IsPartial()`: SSL gets no data).
    partial: bool,
    /// Payloads held until detection decides (PIA buffering).
    held: Vec<(bool, Vec<u8>)>,
}

/// Runs one trace through the analyzer as the engine would: every TCP/UDP connection on an SSL port, or
/// whose first payload matches the DPD probe, gets an analyzer fed from the start.
pub fn run_trace(path: &Path, settings: &Settings) -> RunOutput {
    run_trace_opts(path, settings, false)
}

/// `starttls`: stand in for the other protocols' STARTTLS hand-over: a connection not detected at its
/// start gets the analyzer from the first chunk that looks like a ClientHello (that chunk on).
pub fn run_trace_opts(path: &Path, settings: &Settings, starttls: bool) -> RunOutput {
    let pkts = read_trace(path);
    let cfg = weir_ssl::Config::from_settings(settings).expect("settings");
    let ssl_schema = weir_ssl::ssl_schema(&cfg);
    let x509_schema = weir_ssl::x509_schema_for(&cfg);
    let mut cache = (weir_ssl::SSL.worker_state.unwrap())();
    let mut out = RunOutput::default();
    let dcfg = DecodeConfig {
        ignore_checksums: true,
        ..DecodeConfig::default()
    };
    let mut conns: HashMap<(bool, IpAddr, u16, IpAddr, u16), usize> = HashMap::new();
    let mut list: Vec<Conn> = Vec::new();
    let mut now = 0f64;
    for p in &pkts {
        now = now.max(p.ts);
        let mut d = Decoded::default();
        let mut w = Vec::new();
        if decode_frame_wire(&dcfg, LinkType(p.link), &p.data, p.wire_len, &mut d, &mut w).is_err() {
            continue;
        }
        let Some(ip) = d.ip else { continue };
        let (tcp, sp, dp, payload, seq, flags) = match d.transport {
            Some(weir_decode::Transport::Tcp(t)) => (true, t.src_port, t.dst_port, t.payload, t.seq, t.flags),
            Some(weir_decode::Transport::Udp(u)) => (false, u.src_port, u.dst_port, u.payload, 0, 0),
            _ => continue,
        };
        let key = (tcp, ip.src, sp, ip.dst, dp);
        let rkey = (tcp, ip.dst, dp, ip.src, sp);
        let (ci, is_orig) = if let Some(&i) = conns.get(&key) {
            (i, true)
        } else if let Some(&i) = conns.get(&rkey) {
            (i, false)
        } else {
            // originator: the SYN sender; a SYN-ACK first means the other side
            let syn_ack = tcp && flags & 0x12 == 0x12;
            let (o, r) = if syn_ack {
                ((ip.dst, dp), (ip.src, sp))
            } else {
                ((ip.src, sp), (ip.dst, dp))
            };
            let i = list.len();
            list.push(Conn {
                orig: o,
                resp: r,
                tcp,
                start: p.ts,
                uid: format!("C{i}"),
                analyzer: None,
                decided: false,
                confirmed: false,
                violated: false,
                dirs: [Dir::default(), Dir::default()],
                held: Vec::new(),
                partial: tcp && flags & 0x02 == 0,
                fed: Vec::new(),
            });
            conns.insert((tcp, o.0, o.1, r.0, r.1), i);
            (i, !syn_ack)
        };
        let c = &mut list[ci];
        // reassemble
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        if tcp {
            let dir = &mut c.dirs[usize::from(is_orig)];
            if flags & 0x02 != 0 {
                dir.next.get_or_insert(seq.wrapping_add(1));
            }
            if !payload.is_empty() {
                let mut seq = seq;
                if flags & 0x02 != 0 {
                    seq = seq.wrapping_add(1);
                }
                let next = *dir.next.get_or_insert(seq);
                let off = seq.wrapping_sub(next) as i32;
                let mut data = payload.to_vec();
                if off < 0 {
                    let skip = (-off) as usize;
                    if skip >= data.len() {
                        data.clear();
                    } else {
                        data.drain(..skip);
                    }
                    seq = next;
                }
                if !data.is_empty() {
                    if seq == next {
                        dir.next = Some(next.wrapping_add(data.len() as u32));
                        chunks.push(data);
                        // drain pending
                        loop {
                            let n = dir.next.unwrap();
                            let Some((&s, _)) = dir.pending.iter().find(|(&s, v)| {
                                let o = n.wrapping_sub(s) as i32;
                                o >= 0 && (o as usize) < v.len()
                            }) else {
                                // drop fully old segments
                                dir.pending.retain(|&s, v| {
                                    let o = n.wrapping_sub(s) as i32;
                                    !(o >= 0 && o as usize >= v.len())
                                });
                                break;
                            };
                            let v = dir.pending.remove(&s).unwrap();
                            let o = n.wrapping_sub(s) as usize;
                            let rest = v[o..].to_vec();
                            dir.next = Some(n.wrapping_add(rest.len() as u32));
                            chunks.push(rest);
                        }
                    } else {
                        dir.pending.entry(seq).or_insert(data);
                    }
                }
            }
        } else if !payload.is_empty() {
            chunks.push(payload.to_vec());
        }
        for data in chunks {
            if !c.decided {
                let transport = if tcp { Transport::Tcp } else { Transport::Udp };
                let port_ok = weir_ssl::SSL.ports.contains(&(transport, c.resp.1));
                let probe = (weir_ssl::SSL.probe.unwrap())(transport, is_orig, &data);
                if (port_ok && !starttls) || probe == Probe::Yes {
                    c.decided = true;
                    c.analyzer = Some((weir_ssl::SSL.new)(settings));
                    if starttls {
                        c.held.clear();
                    }
                } else {
                    if !starttls {
                        c.held.push((is_orig, data));
                        if c.held.len() > 10 {
                            c.decided = true;
                        }
                    }
                    continue;
                }
                let held = std::mem::take(&mut c.held);
                for (o, d) in held {
                    feed(c, &mut out, &ssl_schema, &x509_schema, &mut cache, now, o, &d);
                }
            }
            feed(c, &mut out, &ssl_schema, &x509_schema, &mut cache, now, is_orig, &data);
        }
    }
    for c in list.iter_mut() {
        let key = conn_key(c);
        let uid = c.uid.clone();
        if let Some(a) = c.analyzer.as_mut() {
            let conn = ConnInfo {
                uid: &uid,
                orig_h: c.orig.0,
                orig_p: c.orig.1,
                resp_h: c.resp.0,
                resp_p: c.resp.1,
                transport: if c.tcp { Transport::Tcp } else { Transport::Udp },
                start_time: c.start,
            };
            let mut cx = MockCx {
                conn,
                now,
                confirmed: false,
                violated: false,
                out: &mut out,
                ssl_schema: &ssl_schema,
                x509_schema: &x509_schema,
                cache: &mut cache,
            };
            a.done(&mut cx);
        }
        if c.confirmed {
            out.confirmed.push(key);
        }
        if !c.fed.is_empty() {
            out.streams.push((c.tcp, std::mem::take(&mut c.fed)));
        }
    }
    out
}

fn conn_key(c: &Conn) -> String {
    format!(
        "{} {} {} {} {}",
        if c.tcp { "tcp" } else { "udp" },
        c.orig.0,
        c.orig.1,
        c.resp.0,
        c.resp.1
    )
}

#[allow(clippy::too_many_arguments)]
fn feed(
    c: &mut Conn,
    out: &mut RunOutput,
    ssl_schema: &Schema,
    x509_schema: &Schema,
    cache: &mut Box<dyn std::any::Any + Send>,
    now: f64,
    is_orig: bool,
    data: &[u8],
) {
    if c.partial || (c.violated && !c.confirmed) {
        return; // DPD: a violation before confirmation detaches the analyzer
    }
    let uid = c.uid.clone();
    let Some(a) = c.analyzer.as_mut() else { return };
    c.fed.push((is_orig, data.to_vec()));
    let conn = ConnInfo {
        uid: &uid,
        orig_h: c.orig.0,
        orig_p: c.orig.1,
        resp_h: c.resp.0,
        resp_p: c.resp.1,
        transport: if c.tcp { Transport::Tcp } else { Transport::Udp },
        start_time: c.start,
    };
    let mut cx = MockCx {
        conn,
        now,
        confirmed: false,
        violated: false,
        out,
        ssl_schema,
        x509_schema,
        cache,
    };
    if c.tcp {
        a.deliver_stream(&mut cx, is_orig, data);
    } else {
        a.deliver_packet(&mut cx, is_orig, data);
    }
    c.confirmed |= cx.confirmed;
    c.violated |= cx.violated;
}

/// Masks the first `\d{9,10}\.\d{1,8}` of a line (Zeek's diff-remove-first-timestamp).
pub fn mask_first_ts(line: &str) -> String {
    if line.contains("XXXXXXXXXX.XXXXXX") {
        return line.to_string(); // already canonified
    }
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_digit()) {
            let mut j = i;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let int_len = j - i;
            if j < b.len() && b[j] == b'.' {
                let mut k = j + 1;
                while k < b.len() && b[k].is_ascii_digit() {
                    k += 1;
                }
                let frac = k - j - 1;
                if (9..=10).contains(&int_len) && frac >= 1 {
                    let k2 = j + 1 + frac.min(8);
                    return format!("{}XXXXXXXXXX.XXXXXX{}", &line[..i], &line[k2..]);
                }
            }
            i = j;
            continue;
        }
        i += 1;
    }
    line.to_string()
}

/// A Zeek TSV log: its `#fields` and its data lines.
pub fn read_log(path: &Path) -> Option<(Vec<String>, Vec<String>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut fields = Vec::new();
    let mut rows = Vec::new();
    for l in text.lines() {
        if let Some(f) = l.strip_prefix("#fields\t") {
            if fields.is_empty() {
                fields = f.split('\t').map(str::to_string).collect();
            }
        } else if !l.starts_with('#') && !l.is_empty() {
            rows.push(l.to_string());
        }
    }
    Some((fields, rows))
}

pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/zeek")
}
