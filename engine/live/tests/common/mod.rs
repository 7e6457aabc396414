//! Shared helpers of the live-capture tests: namespaces with veth pairs, a synthetic trace, running
//! `weir-live` in a namespace while `tcpreplay` feeds the peer, and comparing logs.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Live tests run one at a time (two cores; parallel replays would cause drops).
pub static SERIAL: Mutex<()> = Mutex::new(());

pub fn sh(cmd: &str) -> (bool, String) {
    let o = Command::new("sh").arg("-c").arg(cmd).output().expect("sh");
    let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&o.stderr));
    (o.status.success(), s)
}

/// True if this process can run the live tests (root); installs the tools when missing.
pub fn prepare() -> bool {
    // SAFETY: plain syscall.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("live-capture tests need root (network namespaces, AF_PACKET): skipped");
        return false;
    }
    let setup = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/setup.sh");
    let (ok, out) = sh(setup);
    assert!(ok, "tests/setup.sh failed: {out}");
    true
}

/// A network namespace with a veth pair `va` (capture side) / `vb` (replay side), 4 queues on both
/// ends, offloads and IPv6 off (no stray router solicitations), large MTU. Deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = format!("weirlive-{tag}-{}", std::process::id());
        let _ = sh(&format!("ip netns del {name} 2>/dev/null"));
        let script = format!(
            "set -e
ip netns add {name}
ip -n {name} link add va numrxqueues 4 numtxqueues 4 type veth peer name vb numrxqueues 4 numtxqueues 4
for v in va vb; do
  ip netns exec {name} sysctl -qw net.ipv6.conf.$v.disable_ipv6=1
  ip netns exec {name} ethtool -K $v tso off gso off gro off >/dev/null
  ip -n {name} link set $v mtu 16000 up
done
ip -n {name} link set lo up"
        );
        let (ok, out) = sh(&script);
        assert!(ok, "namespace setup failed: {out}");
        Netns { name }
    }

    pub fn exec(&self, cmd: &str) -> (bool, String) {
        sh(&format!("ip netns exec {} {cmd}", self.name))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = sh(&format!("ip netns del {}", self.name));
        if std::thread::panicking() {
            eprintln!("test files kept in {}", tmproot().display());
        } else {
            let _ = std::fs::remove_dir_all(tmproot());
        }
    }
}

pub fn weir_live_bin() -> &'static str {
    option_env!("CARGO_BIN_EXE_weir-live").unwrap_or("weir-live")
}

/// Where a test process keeps its files; removed when a test's namespace goes away, unless the
/// test failed (kept for a look).
pub fn tmproot() -> PathBuf {
    std::env::temp_dir().join(format!("weir-live-test-{}", std::process::id()))
}

pub fn tmpdir(tag: &str) -> PathBuf {
    let d = tmproot().join(tag);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Per-worker counters from weir-live's report on stderr.
#[derive(Debug, Default, Clone)]
pub struct WorkerLine {
    pub name: String,
    pub received: u64,
    pub kernel_packets: u64,
    pub kernel_drops: u64,
    pub fwd_out: u64,
    pub fwd_in: u64,
    pub fwd_drops: u64,
    pub tunnelled: u64,
    pub connections: u64,
}

#[derive(Debug, Default)]
pub struct Run {
    pub workers: Vec<WorkerLine>,
    pub sent: u64,
    pub stderr: String,
    pub replay_out: String,
    pub logdir: PathBuf,
}

impl Run {
    pub fn received(&self) -> u64 {
        self.workers.iter().map(|w| w.received).sum()
    }
    pub fn drops(&self) -> u64 {
        self.workers.iter().map(|w| w.kernel_drops + w.fwd_drops).sum()
    }
}

fn parse_report(stderr: &str) -> Vec<WorkerLine> {
    let mut v = Vec::new();
    for line in stderr.lines().filter(|l| l.starts_with("worker ")) {
        let mut w = WorkerLine {
            name: line.split_whitespace().nth(1).unwrap_or("").to_string(),
            ..Default::default()
        };
        for kv in line.split_whitespace() {
            if let Some((k, val)) = kv.split_once('=') {
                let n: u64 = val.parse().unwrap_or(0);
                match k {
                    "received" => w.received = n,
                    "kernel_packets" => w.kernel_packets = n,
                    "kernel_drops" => w.kernel_drops = n,
                    "fwd_out" => w.fwd_out = n,
                    "fwd_in" => w.fwd_in = n,
                    "fwd_drops" => w.fwd_drops = n,
                    "tunnelled" => w.tunnelled = n,
                    "connections" => w.connections = n,
                    _ => {}
                }
            }
        }
        v.push(w);
    }
    v
}

/// Runs weir-live on `va` with `args`, replays `trace` into `vb` with `replay_args`, waits for the
/// ring to drain, stops weir-live with SIGINT and returns what happened.
pub fn capture(ns: &Netns, tag: &str, args: &[&str], trace: &Path, replay_args: &str, settle: Duration) -> Run {
    capture_with(ns, tag, args, trace, replay_args, settle, &Opts::default())
}

/// As [`capture`], with tcpreplay pinned to one core when `pin` is given.
pub fn capture_pinned(
    ns: &Netns,
    tag: &str,
    args: &[&str],
    trace: &Path,
    replay_args: &str,
    settle: Duration,
    pin: Option<usize>,
) -> Run {
    let o = Opts { pin, ..Opts::default() };
    capture_with(ns, tag, args, trace, replay_args, settle, &o)
}

/// How to run weir-live and tcpreplay.
pub struct Opts {
    /// Pin tcpreplay to this core.
    pub pin: Option<usize>,
    /// A command weir-live runs under (e.g. setpriv), inside the namespace.
    pub wrapper: Vec<String>,
    /// The signal that stops weir-live.
    pub signal: i32,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            pin: None,
            wrapper: Vec::new(),
            signal: libc::SIGINT,
        }
    }
}

pub fn capture_with(
    ns: &Netns,
    tag: &str,
    args: &[&str],
    trace: &Path,
    replay_args: &str,
    settle: Duration,
    o: &Opts,
) -> Run {
    let pin = o.pin;
    let dir = tmpdir(tag);
    {
        // Writable for an unprivileged weir-live (--user, setpriv): the ready file goes here.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let logdir = dir.join("logs");
    let ready = dir.join("ready");
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &ns.name])
        .args(&o.wrapper)
        .arg(weir_live_bin())
        .args(if args.iter().any(|a| *a == "--node-cfg" || *a == "--config") {
            &[][..]
        } else {
            &["-i", "va"][..]
        })
        .arg("-l")
        .arg(&logdir)
        .arg("--ready-file")
        .arg(&ready)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn weir-live");
    let t0 = Instant::now();
    while !ready.exists() {
        assert!(t0.elapsed() < Duration::from_secs(20), "weir-live did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let taskset = pin.map(|c| format!("taskset -c {c} ")).unwrap_or_default();
    let (ok, replay_out) = ns.exec(&format!("{taskset}tcpreplay -i vb {replay_args} {}", trace.display()));
    assert!(ok, "tcpreplay failed: {replay_out}");
    let sent = replay_out
        .lines()
        .find(|l| l.contains("Successful packets:"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    std::thread::sleep(settle);
    // SAFETY: signalling the child we started (ip netns exec and setpriv exec in place).
    unsafe { libc::kill(child.id() as i32, o.signal) };
    let out = child.wait_with_output().expect("wait weir-live");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "weir-live failed: {stderr}");
    Run {
        workers: parse_report(&stderr),
        sent,
        stderr,
        replay_out,
        logdir,
    }
}

/// `weir -r` of the same trace, through the engine's offline entry point.
pub fn offline(trace: &Path, tag: &str) -> PathBuf {
    use weir_engine::config::{AnalyzerSet, EngineConfig};
    let dir = tmpdir(tag).join("logs");
    let engine = EngineConfig::new(&AnalyzerSet::All);
    let rc = weir_engine::RunConfig::new(
        vec![trace.display().to_string()],
        weir_logs::LogConfig::new(&dir, weir_logs::Format::Tsv),
        engine,
    );
    weir_engine::run_offline(rc).expect("offline run");
    dir
}

/// A TSV log with its timing-dependent columns taken out (every `time` and `interval` column, and
/// uids, which weir derives from the packet's position in the input, also as `tunnel_parents`), rows
/// sorted.
pub fn normalized(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut names: Vec<String> = Vec::new();
    let mut types: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(r) = line.strip_prefix("#fields\t") {
            names = r.split('\t').map(String::from).collect();
        } else if let Some(r) = line.strip_prefix("#types\t") {
            types = r.split('\t').map(String::from).collect();
        } else if !line.starts_with('#') {
            let keep: Vec<&str> = line
                .split('\t')
                .enumerate()
                .filter(|(i, _)| {
                    let t = types.get(*i).map(String::as_str).unwrap_or("");
                    let n = names.get(*i).map(String::as_str).unwrap_or("");
                    !(t == "time"
                        || t == "interval"
                        || n == "uid"
                        || n.ends_with("uids")
                        || n == "fuid"
                        || n == "tunnel_parents")
                })
                .map(|(_, v)| v)
                .collect();
            rows.push(keep.join("\t"));
        }
    }
    rows.sort();
    rows
}

/// Every log but stats.log in `dir`, normalized.
pub fn logs_of(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut m = BTreeMap::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".log") && name != "stats.log" {
                m.insert(name, normalized(&e.path()));
            }
        }
    }
    m
}

/// A TSV log as rows of (field name -> value).
pub fn rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut names: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(r) = line.strip_prefix("#fields\t") {
            names = r.split('\t').map(String::from).collect();
        } else if !line.starts_with('#') && !line.is_empty() {
            out.push(names.iter().cloned().zip(line.split('\t').map(String::from)).collect());
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// A synthetic trace: many short connections of every kind.

pub struct PcapW {
    pub buf: Vec<u8>,
    pub packets: u64,
}

impl PcapW {
    pub fn new() -> PcapW {
        let mut buf = Vec::new();
        buf.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
        buf.extend_from_slice(&2u16.to_le_bytes());
        buf.extend_from_slice(&4u16.to_le_bytes());
        buf.extend_from_slice(&[0; 8]);
        buf.extend_from_slice(&65535u32.to_le_bytes());
        buf.extend_from_slice(&1u32.to_le_bytes());
        PcapW { buf, packets: 0 }
    }
    pub fn add(&mut self, ts_us: u64, frame: &[u8]) {
        self.buf.extend_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
        self.buf.extend_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
        self.buf.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(frame);
        self.packets += 1;
    }
}

fn csum(data: &[u8], init: u32) -> u16 {
    let mut s = init;
    for c in data.chunks(2) {
        s += (c[0] as u32) << 8 | *c.get(1).unwrap_or(&0) as u32;
    }
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

fn eth(vlan: Option<u16>, et: u16, payload: &[u8], dir: bool) -> Vec<u8> {
    let (a, b) = ([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    let mut f = Vec::new();
    f.extend_from_slice(if dir { &b } else { &a });
    f.extend_from_slice(if dir { &a } else { &b });
    if let Some(v) = vlan {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&v.to_be_bytes());
    }
    f.extend_from_slice(&et.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, id: u16, frag: u16, payload: &[u8]) -> Vec<u8> {
    let len = 20 + payload.len();
    let mut h = vec![0x45, 0, (len >> 8) as u8, len as u8];
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&frag.to_be_bytes());
    h.extend_from_slice(&[64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let c = csum(&h, 0);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

fn pseudo(src: &[u8], dst: &[u8], proto: u8, len: usize) -> u32 {
    let mut p = Vec::new();
    p.extend_from_slice(src);
    p.extend_from_slice(dst);
    if src.len() == 4 {
        p.extend_from_slice(&[0, proto, (len >> 8) as u8, len as u8]);
    } else {
        p.extend_from_slice(&(len as u32).to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, proto]);
    }
    let mut s = 0u32;
    for c in p.chunks(2) {
        s += (c[0] as u32) << 8 | c[1] as u32;
    }
    s
}

#[allow(clippy::too_many_arguments)]
fn tcp(src: &[u8], dst: &[u8], sp: u16, dp: u16, seq: u32, ack: u32, flags: u8, data: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sp.to_be_bytes());
    t.extend_from_slice(&dp.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(data);
    let c = csum(&t, pseudo(src, dst, 6, t.len()));
    t[16..18].copy_from_slice(&c.to_be_bytes());
    t
}

fn udp(src: &[u8], dst: &[u8], sp: u16, dp: u16, data: &[u8]) -> Vec<u8> {
    let len = 8 + data.len();
    let mut u = Vec::new();
    u.extend_from_slice(&sp.to_be_bytes());
    u.extend_from_slice(&dp.to_be_bytes());
    u.extend_from_slice(&(len as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(data);
    let c = csum(&u, pseudo(src, dst, 17, len));
    u[6..8].copy_from_slice(&(if c == 0 { 0xffff } else { c }).to_be_bytes());
    u
}

fn ipv6(src: [u8; 16], dst: [u8; 16], nh: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    h.extend_from_slice(&[nh, 64]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h.extend_from_slice(payload);
    h
}

/// One TCP connection: handshake, a request, a response, FIN both ways (10 packets).
#[allow(clippy::too_many_arguments)]
fn tcp_conn(w: &mut PcapW, t: &mut u64, c: [u8; 4], s: [u8; 4], cp: u16, sp: u16, vlan: Option<u16>, size: usize) {
    let (ci, si) = (1000u32, 5000u32);
    let req = vec![b'q'; 64];
    let resp = vec![b'r'; size];
    let pk = |dir: bool, seq, ack, fl, d: &[u8]| {
        let (a, b, pa, pb) = if dir { (s, c, sp, cp) } else { (c, s, cp, sp) };
        eth(
            vlan,
            0x0800,
            &ipv4(a, b, 6, 1, 0x4000, &tcp(&a, &b, pa, pb, seq, ack, fl, d)),
            dir,
        )
    };
    let steps: Vec<(bool, u32, u32, u8, Vec<u8>)> = vec![
        (false, ci, 0, 0x02, vec![]),
        (true, si, ci + 1, 0x12, vec![]),
        (false, ci + 1, si + 1, 0x10, vec![]),
        (false, ci + 1, si + 1, 0x18, req.clone()),
        (true, si + 1, ci + 65, 0x10, vec![]),
        (true, si + 1, ci + 65, 0x18, resp.clone()),
        (false, ci + 65, si + 1 + size as u32, 0x10, vec![]),
        (false, ci + 65, si + 1 + size as u32, 0x11, vec![]),
        (true, si + 1 + size as u32, ci + 66, 0x11, vec![]),
        (false, ci + 66, si + 2 + size as u32, 0x10, vec![]),
    ];
    for (dir, seq, ack, fl, d) in steps {
        w.add(*t, &pk(dir, seq, ack, fl, &d));
        *t += 150;
    }
}

/// The synthetic trace: `n_tcp` TCP connections (some in VLAN 10), UDP request/response pairs,
/// ICMP echo pairs, IPv6 TCP connections, and fragmented UDP datagrams with unfragmented answers,
/// interleaved over about one second. Returns the pcap bytes and the packet count.
pub fn synthetic(n_tcp: u32) -> (Vec<u8>, u64) {
    let mut w = PcapW::new();
    // Generate each flow on its own clock, then merge by time.
    let mut flows: Vec<Vec<(u64, Vec<u8>)>> = Vec::new();
    let base = 1_700_000_000_000_000u64;
    for i in 0..n_tcp {
        let mut fw = PcapW::new();
        let mut t = base + (i as u64 * 997_000 / n_tcp as u64);
        let c = [10, 1, (i >> 8) as u8, i as u8];
        let s = [192, 168, (i % 7) as u8, 10 + (i % 5) as u8];
        let vlan = (i % 10 == 3).then_some(10);
        tcp_conn(
            &mut fw,
            &mut t,
            c,
            s,
            20000 + (i as u16 % 40000),
            [80, 443, 8080, 25][i as usize % 4],
            vlan,
            200 + (i as usize % 900),
        );
        flows.push(split(&fw));
    }
    for i in 0..n_tcp / 4 {
        let mut fw = PcapW::new();
        let t = base + 3_000 + (i as u64 * 990_000 / (n_tcp / 4).max(1) as u64);
        let c = [10, 2, 0, (i % 250) as u8];
        let s = [172, 16, 0, 1 + (i % 3) as u8];
        let q = udp(&c, &s, 30000 + i as u16, 5555, &[1u8; 40]);
        let r = udp(&s, &c, 5555, 30000 + i as u16, &[2u8; 80]);
        fw.add(t, &eth(None, 0x0800, &ipv4(c, s, 17, i as u16, 0, &q), false));
        fw.add(t + 400, &eth(None, 0x0800, &ipv4(s, c, 17, i as u16, 0, &r), true));
        // ICMP echo request / reply.
        let mut e = vec![8, 0, 0, 0, 0, 7, (i >> 8) as u8, i as u8];
        e.extend_from_slice(&[0x55; 24]);
        let ck = csum(&e, 0);
        e[2..4].copy_from_slice(&ck.to_be_bytes());
        let mut rp = e.clone();
        rp[0] = 0;
        rp[2] = 0;
        rp[3] = 0;
        let ck = csum(&rp, 0);
        rp[2..4].copy_from_slice(&ck.to_be_bytes());
        let (ic, is) = ([10, 3, 0, (i % 200) as u8], [8, 8, (i % 4) as u8, 8]);
        fw.add(t + 700, &eth(None, 0x0800, &ipv4(ic, is, 1, 7, 0, &e), false));
        fw.add(t + 900, &eth(None, 0x0800, &ipv4(is, ic, 1, 7, 0, &rp), true));
        flows.push(split(&fw));
    }
    // IPv6 TCP.
    for i in 0..n_tcp / 10 {
        let mut fw = PcapW::new();
        let t = base + 5_000 + (i as u64 * 980_000 / (n_tcp / 10).max(1) as u64);
        let mut c = [0u8; 16];
        c[0] = 0x20;
        c[1] = 0x01;
        c[15] = i as u8;
        c[14] = (i >> 8) as u8;
        let mut s = [0u8; 16];
        s[0] = 0x20;
        s[1] = 0x01;
        s[2] = 0xd;
        s[15] = 1 + (i % 3) as u8;
        let (cp, sp) = (40000 + i as u16, 443u16);
        let steps: [(bool, u32, u32, u8, usize); 6] = [
            (false, 1, 0, 0x02, 0),
            (true, 9, 2, 0x12, 0),
            (false, 2, 10, 0x10, 0),
            (false, 2, 10, 0x18, 30),
            (true, 10, 32, 0x11, 0),
            (false, 32, 11, 0x11, 0),
        ];
        for (k, (dir, seq, ack, fl, n)) in steps.iter().enumerate() {
            let (a, b, pa, pb) = if *dir { (s, c, sp, cp) } else { (c, s, cp, sp) };
            let seg = tcp(&a, &b, pa, pb, *seq, *ack, *fl, &vec![7u8; *n]);
            fw.add(t + 200 * k as u64, &eth(None, 0x86dd, &ipv6(a, b, 6, &seg), *dir));
        }
        flows.push(split(&fw));
    }
    // Fragmented UDP datagrams (two fragments), answered unfragmented.
    for i in 0..n_tcp / 20 {
        let mut fw = PcapW::new();
        let t = base + 7_000 + (i as u64 * 970_000 / (n_tcp / 20).max(1) as u64);
        let c = [10, 4, 0, (i % 250) as u8];
        let s = [172, 17, 0, 9];
        let d = udp(&c, &s, 31000 + i as u16, 6666, &[3u8; 1200]);
        let id = 0x4000 + i as u16;
        fw.add(t, &eth(None, 0x0800, &ipv4(c, s, 17, id, 0x2000, &d[..800]), false));
        fw.add(t + 100, &eth(None, 0x0800, &ipv4(c, s, 17, id, 100, &d[800..]), false));
        let r = udp(&s, &c, 6666, 31000 + i as u16, &[4u8; 20]);
        fw.add(t + 600, &eth(None, 0x0800, &ipv4(s, c, 17, id, 0, &r), true));
        flows.push(split(&fw));
    }
    let mut all: Vec<(u64, Vec<u8>)> = flows.into_iter().flatten().collect();
    all.sort_by_key(|p| p.0);
    for (t, f) in &all {
        w.add(*t, f);
    }
    let n = w.packets;
    (w.buf, n)
}

fn split(w: &PcapW) -> Vec<(u64, Vec<u8>)> {
    let b = &w.buf;
    let mut off = 24;
    let mut v = Vec::new();
    while off + 16 <= b.len() {
        let s = u32::from_le_bytes(b[off..off + 4].try_into().unwrap()) as u64;
        let us = u32::from_le_bytes(b[off + 4..off + 8].try_into().unwrap()) as u64;
        let cl = u32::from_le_bytes(b[off + 8..off + 12].try_into().unwrap()) as usize;
        v.push((s * 1_000_000 + us, b[off + 16..off + 16 + cl].to_vec()));
        off += 16 + cl;
    }
    v
}

/// A cloud traffic mirror: `n` TCP connections (10 packets each, interleaved over about a second), every
/// frame wrapped in VXLAN (VNI 7) from one mirror source (192.0.2.1:40000 -> 192.0.2.2:4789). Returns the
/// pcap bytes and the packet count.
pub fn vxlan_mirror(n: u32) -> (Vec<u8>, u64) {
    let base = 1_700_000_000_000_000u64;
    let mut frames: Vec<(u64, Vec<u8>)> = Vec::new();
    for i in 0..n {
        let mut fw = PcapW::new();
        let mut t = base + (i as u64 * 990_000 / n as u64);
        let (c, s) = ([10, 7, (i >> 8) as u8, i as u8], [172, 16, (i % 3) as u8, 1]);
        tcp_conn(&mut fw, &mut t, c, s, 30000 + i as u16, 443, None, 300);
        frames.extend(split(&fw));
    }
    frames.sort_by_key(|(t, _)| *t);
    let (m, r) = ([192, 0, 2, 1], [192, 0, 2, 2]);
    let mut w = PcapW::new();
    for (t, f) in frames {
        let mut vx = vec![0x08, 0, 0, 0, 0, 0, 7, 0];
        vx.extend_from_slice(&f);
        let outer = eth(
            None,
            0x0800,
            &ipv4(m, r, 17, 1, 0x4000, &udp(&m, &r, 40000, 4789, &vx)),
            false,
        );
        w.add(t, &outer);
    }
    let n = w.packets;
    (w.buf, n)
}
