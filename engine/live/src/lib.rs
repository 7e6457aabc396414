//! # weir-live: live capture
//!
//! One TPACKET_V3 RX ring per worker, mmapped, all sockets in one `PACKET_FANOUT` group, so the
//! kernel does the dispatching: each worker thread owns one socket and runs the engine's
//! [`Worker`] on the packets in place in its ring (no copy), with its own network time, as a Zeek
//! cluster worker does.
//!
//! * [`ring`]: the socket and ring (Zeek's AF_PACKET options and defaults);
//! * [`bpf`]: weir's symmetric flow hash as classic and extended BPF fanout programs;
//! * [`pin`]: cores from the operator or the NIC's NUMA node in `/sys`;
//! * [`stats`]: stats.log (Zeek's columns);
//! * [`config`]: zeekctl `node.cfg` and weir's TOML configuration.
//!
//! Entry point: [`run_live`].

pub mod bpf;
pub mod cli;
pub mod config;
pub mod pin;
pub mod ring;
pub mod rotate;
pub mod stats;
mod sys;

use ring::{KernelStats, Ring};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use weir_decode::frag::{self, Reassembler};
use weir_decode::{decode_frame_wire, DecodeWeird, Decoded, LinkMeta, LinkType};
use weir_engine::config::EngineConfig;
use weir_engine::dispatch::flow_lane;
use weir_engine::logs::WeirdOut;
use weir_engine::ordered::Registry;
use weir_engine::tunnels::InnerPacket;
use weir_engine::weird_out_for;
use weir_engine::worker::{PacketRef, TunnelWalk, Worker};
use weir_logs::{LogConfig, Logs};

/// `PACKET_FANOUT` modes (Zeek's `AF_Packet::FanoutMode`, plus LB for experiments).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanoutMode {
    /// `FANOUT_HASH`: the kernel's flow hash (Zeek's default).
    Hash,
    /// `FANOUT_QM`: the NIC's receive queue.
    Qm,
    /// `FANOUT_CPU`: the CPU that received the packet.
    Cpu,
    /// `FANOUT_CBPF`: weir's symmetric flow hash in classic BPF.
    Cbpf,
    /// `FANOUT_EBPF`: the same hash in extended BPF, loaded with `bpf(BPF_PROG_LOAD)`.
    Ebpf,
    /// `PACKET_FANOUT_LB` (round robin: splits connections; for measurements only).
    Lb,
}

impl FanoutMode {
    /// Accepts `hash`, `FANOUT_HASH`, `AF_Packet::FANOUT_HASH` and so on.
    pub fn parse(s: &str) -> Result<FanoutMode, String> {
        let t = s.trim().trim_start_matches("AF_Packet::").to_ascii_lowercase();
        Ok(match t.trim_start_matches("fanout_") {
            "hash" => FanoutMode::Hash,
            "qm" => FanoutMode::Qm,
            "cpu" => FanoutMode::Cpu,
            "cbpf" => FanoutMode::Cbpf,
            "ebpf" => FanoutMode::Ebpf,
            "lb" => FanoutMode::Lb,
            _ => return Err(format!("unknown fanout mode {s:?} (hash, qm, cpu, cbpf, ebpf)")),
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            FanoutMode::Hash => "hash",
            FanoutMode::Qm => "qm",
            FanoutMode::Cpu => "cpu",
            FanoutMode::Cbpf => "cbpf",
            FanoutMode::Ebpf => "ebpf",
            FanoutMode::Lb => "lb",
        }
    }
}

/// Zeek's `AF_Packet::ChecksumMode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecksumMode {
    /// `CHECKSUM_ON` (default): weir verifies checksums.
    On,
    /// `CHECKSUM_OFF`: checksums are assumed correct (`ignore_checksums=T`).
    Off,
    /// `CHECKSUM_KERNEL`: trust the kernel's verdict: packets the kernel marks checksum-valid (or
    /// not yet checksummed, outgoing) skip weir's transport checksum check, as in Zeek's AF_Packet.
    Kernel,
}

impl ChecksumMode {
    pub fn parse(s: &str) -> Result<ChecksumMode, String> {
        let t = s.trim().trim_start_matches("AF_Packet::").to_ascii_lowercase();
        Ok(match t.trim_start_matches("checksum_") {
            "on" => ChecksumMode::On,
            "off" => ChecksumMode::Off,
            "kernel" => ChecksumMode::Kernel,
            _ => return Err(format!("unknown checksum mode {s:?} (on, off, kernel)")),
        })
    }
}

/// One socket's options. Defaults are Zeek's (`AF_Packet` module, `init.zeek`).
#[derive(Clone, Debug)]
pub struct SocketOptions {
    /// `AF_Packet::buffer_size`: ring size per socket, 128 MiB.
    pub buffer_size: usize,
    /// `AF_Packet::block_size`: 4096 * 8 bytes.
    pub block_size: usize,
    /// `AF_Packet::block_timeout`: 10 ms.
    pub block_timeout_ms: u32,
    /// `AF_Packet::enable_fanout` (T) and `AF_Packet::fanout_mode` (`FANOUT_HASH`); `None` = no fanout.
    pub fanout: Option<FanoutMode>,
    /// `AF_Packet::fanout_id`: 23.
    pub fanout_id: u16,
    /// `AF_Packet::enable_defrag`: F. Sets `PACKET_FANOUT_FLAG_DEFRAG`.
    pub defrag: bool,
    /// `AF_Packet::enable_hw_timestamping`: F.
    pub hw_timestamps: bool,
    /// Promiscuous mode (Zeek always sets it).
    pub promisc: bool,
    /// Map the ring with `MAP_LOCKED` (needs CAP_IPC_LOCK or a large enough memlock limit).
    pub lock_ring: bool,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            buffer_size: 128 * 1024 * 1024,
            block_size: 4096 * 8,
            block_timeout_ms: 10,
            fanout: Some(FanoutMode::Hash),
            fanout_id: 23,
            defrag: false,
            hw_timestamps: false,
            promisc: true,
            lock_ring: false,
        }
    }
}

/// Where workers run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pinning {
    /// The NIC's NUMA node's cores (or all allowed cores where the NIC has no node).
    Auto,
    /// Worker i on `cpus[i % len]` (zeekctl's `pin_cpus`).
    Cpus(Vec<usize>),
    /// No pinning.
    Off,
}

/// A set of workers on one interface, sharing one fanout group (a node.cfg worker section).
#[derive(Clone, Debug)]
pub struct Group {
    /// Name of the node (`worker-1`); worker i is `<name>-<i+1>` in stats.log's `peer`.
    pub name: String,
    pub interface: String,
    /// zeekctl's `lb_procs`.
    pub workers: usize,
    pub socket: SocketOptions,
    pub checksum: ChecksumMode,
    pub pin: Pinning,
}

impl Group {
    pub fn new(interface: &str, workers: usize) -> Group {
        Group {
            name: "worker-1".into(),
            interface: interface.into(),
            workers: workers.max(1),
            socket: SocketOptions::default(),
            checksum: ChecksumMode::On,
            pin: Pinning::Auto,
        }
    }
}

/// What to capture.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    pub groups: Vec<Group>,
    /// `-f`: a libpcap filter expression, compiled once and attached to every socket.
    pub filter: Option<String>,
    /// `Stats::report_interval` in seconds of network time (0 = no stats.log).
    pub stats_interval: f64,
    /// After the sockets are open: switch to this user (and its primary group).
    pub user: Option<String>,
    /// How long a worker waits for a block before looking at the stop flag and advancing its
    /// network time to the wall clock (Zeek advances network time while idle in live mode).
    pub idle_ms: i32,
    /// Written (empty) once every socket is open and the workers are starting: a test or a
    /// supervisor can wait for it before sending traffic.
    pub ready_file: Option<std::path::PathBuf>,
    /// Zeek's `Log::default_rotation_interval` in seconds (wall clock, aligned on local midnight as
    /// Zeek aligns it); 0 = rotate only on SIGHUP ([`ROTATE_REQUESTED`]).
    pub rotate_interval: f64,
}

/// Set (e.g. from a SIGHUP handler) to rotate every log now.
pub static ROTATE_REQUESTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl LiveConfig {
    pub fn new(interface: &str, workers: usize) -> LiveConfig {
        LiveConfig {
            groups: vec![Group::new(interface, workers)],
            filter: None,
            stats_interval: stats::DEFAULT_INTERVAL,
            user: None,
            idle_ms: 100,
            ready_file: None,
            rotate_interval: 0.0,
        }
    }
}

/// What one worker saw.
#[derive(Clone, Debug, Default)]
pub struct WorkerReport {
    pub name: String,
    pub cpu: Option<usize>,
    /// Packets taken from the ring (processed).
    pub received: u64,
    pub bytes: u64,
    /// The socket's `PACKET_STATISTICS`, accumulated.
    pub kernel: KernelStats,
    /// Packets sent to, and received from, another worker: reassembled datagrams (CBPF/EBPF fragments)
    /// and innermost packets of tunnels (several workers).
    pub forwarded_out: u64,
    pub forwarded_in: u64,
    /// Reassembled datagrams and innermost tunnel packets lost because the other worker's queue was full.
    pub forward_drops: u64,
    /// Innermost packets of tunnels this worker analysed (its own and those forwarded to it).
    pub tunnelled: u64,
    /// Fragmented datagrams given up by the reassembler (timeouts, limits).
    pub frag_evicted: u64,
    pub connections: u64,
    /// Connections evicted because the flow table was full.
    pub evicted_connections: u64,
}

#[derive(Debug, Default)]
pub struct LiveReport {
    pub workers: Vec<WorkerReport>,
    pub log_rows: u64,
    pub log_files: Vec<(String, u64)>,
    /// Log rows that reached no file.
    pub lost_log_rows: u64,
    /// Where the workers were pinned, and why.
    pub pinning: Vec<String>,
}

impl LiveReport {
    pub fn received(&self) -> u64 {
        self.workers.iter().map(|w| w.received).sum()
    }
    pub fn dropped(&self) -> u64 {
        self.workers.iter().map(|w| w.kernel.drops + w.forward_drops).sum()
    }
}

#[derive(Debug)]
pub enum LiveError {
    Config(String),
    Filter(String),
    Socket(String),
    Bpf(String),
    Privileges(String),
    Io(std::io::Error),
    WorkerPanicked,
}

impl std::fmt::Display for LiveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LiveError::Config(e) => write!(f, "configuration: {e}"),
            LiveError::Filter(e) => write!(f, "capture filter: {e}"),
            LiveError::Socket(e) => write!(f, "capture: {e}"),
            LiveError::Bpf(e) => write!(f, "eBPF fanout program: {e}"),
            LiveError::Privileges(e) => write!(f, "dropping privileges: {e}"),
            LiveError::Io(e) => write!(f, "writing logs: {e}"),
            LiveError::WorkerPanicked => write!(f, "a worker thread failed"),
        }
    }
}

impl std::error::Error for LiveError {}

fn wall() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A packet for the worker that owns its connection: a reassembled datagram (`data` starts at IP), or
/// the innermost frame of a tunnelled packet whose carriers the sending worker analysed (`inner`).
struct Fwd {
    ts: f64,
    meta: LinkMeta,
    data: Vec<u8>,
    /// The sender's position for the packet (uids of connections it creates), for innermost packets.
    seq: Option<u64>,
    link: LinkType,
    wire_len: u32,
    inner: Option<InnerPacket>,
    /// The sending worker, which gets `data`'s buffer back.
    from: usize,
}

struct WorkerCtx {
    name: String,
    index: usize,
    n: usize,
    ring: Ring,
    cpu: Option<usize>,
    cfg: Arc<EngineConfig>,
    mode: Option<FanoutMode>,
    kernel_defrag: bool,
    stop: Arc<AtomicBool>,
    fwd_tx: Vec<SyncSender<Fwd>>,
    fwd_rx: Receiver<Fwd>,
    /// Buffers of forwarded packets go back to their sender (no allocation per forwarded packet).
    pool_tx: Vec<SyncSender<Vec<u8>>>,
    pool_rx: Receiver<Vec<u8>>,
    /// The worker set's shared `Tunnel::active` (several workers).
    tunnels: Option<Arc<Registry>>,
    stats_interval: f64,
    idle_ms: i32,
    /// `CHECKSUM_KERNEL`: trust the kernel's checksum verdict per packet.
    kernel_checksums: bool,
}

/// `TP_STATUS_CSUMNOTREADY` and `TP_STATUS_CSUM_VALID` (linux/if_packet.h): the kernel verified the
/// transport checksum, or it is an outgoing packet whose checksum is not computed yet.
const TP_STATUS_CSUMNOTREADY: u32 = 1 << 3;
const TP_STATUS_CSUM_VALID: u32 = 1 << 7;

/// Captures until `stop` is set, then flushes every open connection and finishes every log.
pub fn run_live(
    cfg: LiveConfig,
    engine: EngineConfig,
    logs_cfg: LogConfig,
    stop: Arc<AtomicBool>,
) -> Result<LiveReport, LiveError> {
    if cfg.groups.is_empty() {
        return Err(LiveError::Config("no interface to capture on".into()));
    }
    // The capture filter, compiled once for Ethernet (Zeek's AF_PACKET link type).
    let filter = match &cfg.filter {
        Some(expr) => {
            let p = weir_capture::filter::compile(expr, LinkType::ETHERNET)
                .map_err(|e| LiveError::Filter(e.to_string()))?;
            Some(
                p.insns()
                    .iter()
                    .map(|i| sys::SockFilter {
                        code: i.code,
                        jt: i.jt,
                        jf: i.jf,
                        k: i.k,
                    })
                    .collect::<Vec<_>>(),
            )
        }
        None => None,
    };
    let ebpf_fd = if cfg.groups.iter().any(|g| g.socket.fanout == Some(FanoutMode::Ebpf)) {
        Some(sys::bpf_prog_load(&bpf::ebpf_program()).map_err(|e| LiveError::Bpf(e.to_string()))?)
    } else {
        None
    };
    let allowed = pin::allowed_cpus();
    let mut report = LiveReport::default();
    let mut ctxs = Vec::new();
    let mut used_ids = Vec::new();
    for g in &cfg.groups {
        if g.socket.fanout.is_some() && used_ids.contains(&(g.interface.clone(), g.socket.fanout_id)) {
            return Err(LiveError::Config(format!(
                "two worker groups share fanout id {} on {}",
                g.socket.fanout_id, g.interface
            )));
        }
        used_ids.push((g.interface.clone(), g.socket.fanout_id));
        let ifindex = ring::ifindex(&g.interface)?;
        let cpus = match &g.pin {
            Pinning::Off => Vec::new(),
            Pinning::Cpus(c) => {
                report.pinning.push(format!("{}: cores {:?} (configured)", g.name, c));
                c.clone()
            }
            Pinning::Auto => {
                let (c, why) = pin::default_cpus(std::path::Path::new("/sys"), &g.interface, &allowed);
                report.pinning.push(format!("{}: {why}", g.name));
                c
            }
        };
        let mut ecfg = engine.clone();
        if g.checksum == ChecksumMode::Off {
            ecfg.ignore_checksums = true;
        }
        let ecfg = Arc::new(ecfg);
        let n = g.workers.max(1);
        let mut rxs = Vec::new();
        let mut txs = Vec::new();
        let mut pool_rxs = Vec::new();
        let mut pool_txs = Vec::new();
        for _ in 0..n {
            let (tx, rx) = sync_channel::<Fwd>(4096);
            txs.push(tx);
            rxs.push(rx);
            let (tx, rx) = sync_channel::<Vec<u8>>(4096);
            pool_txs.push(tx);
            pool_rxs.push(rx);
        }
        for (i, (rx, pool_rx)) in rxs.into_iter().zip(pool_rxs).enumerate() {
            let ring = Ring::open(ifindex, &g.socket, filter.as_deref(), ebpf_fd)?;
            ctxs.push(WorkerCtx {
                name: if n == 1 && cfg.groups.len() == 1 {
                    g.name.clone()
                } else {
                    format!("{}-{}", g.name, i + 1)
                },
                index: i,
                n,
                ring,
                cpu: (!cpus.is_empty()).then(|| cpus[i % cpus.len()]),
                cfg: Arc::clone(&ecfg),
                mode: g.socket.fanout,
                kernel_defrag: g.socket.defrag,
                stop: Arc::clone(&stop),
                fwd_tx: txs.clone(),
                fwd_rx: rx,
                pool_tx: pool_txs.clone(),
                pool_rx,
                tunnels: None,
                stats_interval: cfg.stats_interval,
                idle_ms: cfg.idle_ms.max(1),
                kernel_checksums: g.checksum == ChecksumMode::Kernel,
            });
        }
    }
    if let Some(fd) = ebpf_fd {
        // The sockets hold the program now.
        // SAFETY: our own fd.
        unsafe { libc::close(fd) };
    }
    // The same logs as `weir -r`, plus stats.log.
    let (mut schemas, analyzer_paths) = weir_engine::log_schemas(&engine);
    if cfg.stats_interval > 0.0 {
        schemas.push(stats::schema());
    }
    std::fs::create_dir_all(&logs_cfg.dir).map_err(LiveError::Io)?;
    if let Some(user) = &cfg.user {
        drop_privileges(user, &logs_cfg.dir)?;
    }
    let logs = Logs::start(logs_cfg, schemas).map_err(LiveError::Io)?;
    // Each worker set with several workers shares one `Tunnel::active`: a worker analyses the carriers
    // of the tunnels the kernel gives it and forwards each innermost packet to the worker of its own
    // connection, which registers new connections' tunnels.
    let mut registries: Vec<Arc<Registry>> = Vec::new();
    for ctx in &mut ctxs {
        if ctx.n > 1 && ctx.cfg.tunnels {
            if ctx.index == 0 {
                registries.push(Arc::new(Registry::new(ctx.n, weird_out_for(&logs, &analyzer_paths))));
            }
            ctx.tunnels = registries.last().cloned();
        }
    }
    let mut handles = Vec::new();
    for ctx in ctxs {
        let out = weird_out_for(&logs, &analyzer_paths);
        let frag_out = weird_out_for(&logs, &analyzer_paths);
        let stats_h = logs.handle();
        let stats_stream = logs.stream("stats");
        let loss_stream = logs.stream("capture_loss");
        handles.push(
            std::thread::Builder::new()
                .name(format!("weir-{}", ctx.name))
                .spawn(move || worker_loop(ctx, out, frag_out, stats_h, stats_stream, loss_stream))
                .map_err(LiveError::Io)?,
        );
    }
    if let Some(p) = &cfg.ready_file {
        std::fs::write(p, b"").map_err(LiveError::Io)?;
    }
    // Log rotation on the interval and on request (SIGHUP), while the workers run.
    let now_wall = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    };
    let mut next_rotate =
        (cfg.rotate_interval > 0.0).then(|| rotate::next_rotation(now_wall(), cfg.rotate_interval, 0.0));
    while !handles.iter().all(|h| h.is_finished()) {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let due = next_rotate.is_some_and(|t| now_wall() >= t);
        if ROTATE_REQUESTED.swap(false, Ordering::Relaxed) || due {
            logs.rotate();
            if due {
                next_rotate = Some(rotate::next_rotation(now_wall(), cfg.rotate_interval, 0.0));
            }
        }
    }
    let mut panicked = false;
    for h in handles {
        match h.join() {
            Ok(r) => report.workers.push(r),
            Err(_) => panicked = true,
        }
    }
    for r in registries {
        r.finish();
    }
    let st = logs.finish().map_err(LiveError::Io)?;
    report.log_rows = st.rows();
    report.lost_log_rows = st.lost_rows;
    report.log_files = st
        .streams
        .iter()
        .filter(|s| s.rows > 0)
        .map(|s| (format!("{}.log", s.path), s.rows))
        .collect();
    if panicked {
        return Err(LiveError::WorkerPanicked);
    }
    Ok(report)
}

/// Switches to `user` (its uid, primary gid, no supplementary groups) after handing it the log
/// directory. The sockets and rings stay usable: nothing more needs privileges.
fn drop_privileges(user: &str, dir: &std::path::Path) -> Result<(), LiveError> {
    let c = std::ffi::CString::new(user).map_err(|_| LiveError::Privileges("bad user name".into()))?;
    // SAFETY: getpwnam returns a pointer into static storage or null.
    let pw = unsafe { libc::getpwnam(c.as_ptr()) };
    if pw.is_null() {
        return Err(LiveError::Privileges(format!("no user {user:?}")));
    }
    // SAFETY: non-null passwd entry.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    let d = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap_or_default();
    // SAFETY: plain syscalls with valid arguments.
    unsafe {
        libc::chown(d.as_ptr(), uid, gid);
        if libc::setgroups(1, &gid) != 0 || libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
            return Err(LiveError::Privileges(format!(
                "switching to {user}: {}",
                std::io::Error::last_os_error()
            )));
        }
    }
    Ok(())
}

/// Could this frame be an IP fragment (cheap look before a full decode)?
fn maybe_fragment(f: &[u8]) -> bool {
    let mut off = 12;
    let mut et = match f.get(off..off + 2) {
        Some(b) => u16::from_be_bytes([b[0], b[1]]),
        None => return false,
    };
    while et == 0x8100 || et == 0x88a8 {
        off += 4;
        et = match f.get(off..off + 2) {
            Some(b) => u16::from_be_bytes([b[0], b[1]]),
            None => return false,
        };
    }
    let ip = off + 2;
    match et {
        0x0800 => f
            .get(ip + 6..ip + 8)
            .is_some_and(|b| u16::from_be_bytes([b[0], b[1]]) & 0x3fff != 0),
        0x86dd => f.get(ip + 6).is_some_and(|&nh| matches!(nh, 0 | 43 | 44 | 60)),
        _ => false,
    }
}

fn worker_loop(
    mut ctx: WorkerCtx,
    out: WeirdOut,
    mut frag_out: WeirdOut,
    mut stats_h: weir_logs::LogHandle,
    stats_stream: Option<weir_logs::StreamId>,
    loss_stream: Option<weir_logs::StreamId>,
) -> WorkerReport {
    let mut rep = WorkerReport {
        name: ctx.name.clone(),
        cpu: ctx.cpu,
        ..Default::default()
    };
    if let Some(c) = ctx.cpu {
        if let Err(e) = pin::pin_current_thread(c) {
            eprintln!("weir: {}: cannot pin to core {c}: {e}", ctx.name);
            rep.cpu = None;
        }
    }
    let cfg = Arc::clone(&ctx.cfg);
    let mut w = Worker::new(Arc::clone(&cfg), out);
    if let Some(reg) = &ctx.tunnels {
        w.share_run_state(Arc::clone(reg), ctx.index);
    }
    let mut frags = Reassembler::new(frag::Config {
        timeout: cfg.frag_timeout,
        max_in_flight: cfg.max_frag_datagrams,
        ..frag::Config::default()
    });
    let mut weirds: Vec<DecodeWeird> = Vec::new();
    // Network time: this worker's own, never going back, at least 1.0 (as the offline engine).
    let mut now = f64::NEG_INFINITY;
    let mut local_seq = 0u64;
    let n = ctx.n as u64;
    let idx = ctx.index as u64;
    let forward = ctx.n > 1 && !ctx.kernel_defrag && matches!(ctx.mode, Some(FanoutMode::Cbpf | FanoutMode::Ebpf));
    let mut next_stats = f64::INFINITY;
    let mut last = (0u64, 0u64, KernelStats::default());
    let mut last_conns = (0u64, 0u64, 0u64);
    let mut bytes = 0u64;
    let stats_on = stats_stream.is_some() && ctx.stats_interval > 0.0;
    let mut kstats = ctx.ring.stats_reader();
    let mut drain_until: Option<std::time::Instant> = None;

    macro_rules! tick {
        ($t:expr) => {{
            let t: f64 = $t;
            let floor = if now == f64::NEG_INFINITY { 1.0 } else { now };
            let t = t.max(floor);
            if t != now {
                now = t;
                w.advance(now);
                w.sync_run_state(now);
                if stats_on {
                    if next_stats == f64::INFINITY {
                        next_stats = now + ctx.stats_interval;
                    } else if now >= next_stats {
                        let k = kstats.read();
                        let row = stats::Row {
                            ts: now,
                            mem_mb: stats::mem_mb(),
                            pkts_proc: rep.received - last.0,
                            bytes_recv: bytes - last.1,
                            pkts_dropped: k.drops - last.2.drops,
                            pkts_link: k.packets - last.2.packets,
                            pkt_lag: (wall() - now).max(0.0),
                            active: w.open_by_transport(),
                            new: (
                                w.stats.tcp_conns - last_conns.0,
                                w.stats.udp_conns - last_conns.1,
                                w.stats.icmp_conns - last_conns.2,
                            ),
                            reassem_tcp_size: w.reassembly_bytes(),
                            reassem_frag_size: frags.stats().bytes as u64,
                        };
                        last = (rep.received, bytes, k);
                        last_conns = (w.stats.tcp_conns, w.stats.udp_conns, w.stats.icmp_conns);
                        stats::write(&mut stats_h, stats_stream.unwrap(), &ctx.name, &row);
                        stats_h.flush();
                        next_stats = now + ctx.stats_interval;
                    }
                }
            }
        }};
    }

    loop {
        // Datagrams other workers reassembled for our connections.
        while let Ok(mut f) = ctx.fwd_rx.try_recv() {
            rep.forwarded_in += 1;
            tick!(f.ts);
            let seq = f.seq.unwrap_or_else(|| {
                local_seq += 1;
                (local_seq - 1) * n + idx
            });
            let p = PacketRef {
                ts: f.ts,
                now,
                seq,
                link: f.link,
                data: &f.data,
                reassembled: f.inner.is_none().then_some(f.meta),
                wire_len: f.wire_len,
                l4_checksummed: false,
                inner: f.inner.as_ref(),
            };
            rep.tunnelled += u64::from(f.inner.is_some());
            w.packet(&p);
            f.data.clear();
            let _ = ctx.pool_tx[f.from].try_send(f.data);
        }
        // Stop: what is still in the ring was captured before the stop; take it (for at most
        // 200 ms), then finish.
        if drain_until.is_none() && ctx.stop.load(Ordering::Relaxed) {
            drain_until = Some(std::time::Instant::now() + Duration::from_millis(200));
        }
        if let Some(t) = drain_until {
            if !ctx.ring.ready() || std::time::Instant::now() >= t {
                break;
            }
        }
        let Some(mut block) = ctx.ring.next_block() else {
            ctx.ring.wait(ctx.idle_ms);
            if !ctx.ring.ready() {
                // Idle: network time follows the clock, so timers and stats.log keep going.
                tick!(wall());
            }
            continue;
        };
        while let Some(fr) = block.next() {
            rep.received += 1;
            bytes += fr.wire_len as u64;
            tick!(fr.ts);
            if !ctx.kernel_defrag && maybe_fragment(fr.data) {
                let mut d = Decoded::default();
                weirds.clear();
                let res = decode_frame_wire(
                    &cfg.decode,
                    LinkType::ETHERNET,
                    fr.data,
                    fr.wire_len as usize,
                    &mut d,
                    &mut weirds,
                );
                if let (Ok(()), Some(ip)) = (res, d.ip.filter(|ip| ip.frag.is_some())) {
                    for wd in weirds.drain(..) {
                        frag_out.decode_weird(now, &wd);
                    }
                    let meta = d.link;
                    let dg = frags.add(now, &ip, &mut weirds);
                    for wd in weirds.drain(..) {
                        frag_out.decode_weird(now, &wd);
                    }
                    let Some(dg) = dg else { continue };
                    let owner = if forward {
                        (bpf::flow_hash_ip(&dg).unwrap_or(0) as u64 % n) as usize
                    } else {
                        ctx.index
                    };
                    if owner != ctx.index {
                        let len = dg.len() as u32;
                        match ctx.fwd_tx[owner].try_send(Fwd {
                            ts: fr.ts,
                            meta,
                            data: dg,
                            seq: None,
                            link: LinkType::RAW,
                            wire_len: len,
                            inner: None,
                            from: ctx.index,
                        }) {
                            Ok(()) => rep.forwarded_out += 1,
                            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => rep.forward_drops += 1,
                        }
                        continue;
                    }
                    let p = PacketRef {
                        ts: fr.ts,
                        now,
                        seq: local_seq * n + idx,
                        link: LinkType::RAW,
                        data: &dg,
                        reassembled: Some(meta),
                        wire_len: dg.len() as u32,
                        l4_checksummed: false,
                        inner: None,
                    };
                    local_seq += 1;
                    w.packet(&p);
                    continue;
                }
            }
            let p = PacketRef {
                ts: fr.ts,
                now,
                seq: local_seq * n + idx,
                link: LinkType::ETHERNET,
                data: fr.data,
                reassembled: None,
                wire_len: fr.wire_len,
                l4_checksummed: ctx.kernel_checksums
                    && fr.status & (TP_STATUS_CSUM_VALID | TP_STATUS_CSUMNOTREADY) != 0,
                inner: None,
            };
            local_seq += 1;
            if ctx.tunnels.is_none() {
                w.packet(&p);
                continue;
            }
            // Several workers: decode here, and a packet that may carry a tunnel has its carriers
            // analysed here and its innermost packet sent to the worker of the innermost connection.
            let mut d = Decoded::default();
            weirds.clear();
            let res = decode_frame_wire(&cfg.decode, p.link, p.data, p.wire_len as usize, &mut d, &mut weirds);
            if res.is_err() || !weir_decode::tunnel::may_be_tunnel(&d) {
                w.packet_decoded(&p, res, &d, &weirds);
                continue;
            }
            // One innermost packet, or one per 802.11 A-MSDU subframe inside.
            let mut walk = TunnelWalk::default();
            let mut next = w.carrier_packet(&p, &d, &weirds, &mut walk);
            while let Some(f) = next {
                let owner = flow_lane(&f.decoded, ctx.n);
                if owner == ctx.index {
                    rep.tunnelled += 1;
                    let ip = PacketRef {
                        link: f.link,
                        data: f.data,
                        wire_len: f.wire_len as u32,
                        inner: Some(&f.inner),
                        ..p
                    };
                    w.packet(&ip);
                } else {
                    let mut buf = ctx.pool_rx.try_recv().unwrap_or_default();
                    buf.extend_from_slice(f.data);
                    match ctx.fwd_tx[owner].try_send(Fwd {
                        ts: p.ts,
                        meta: LinkMeta::default(),
                        data: buf,
                        seq: Some(p.seq),
                        link: f.link,
                        wire_len: f.wire_len as u32,
                        inner: Some(f.inner),
                        from: ctx.index,
                    }) {
                        Ok(()) => rep.forwarded_out += 1,
                        Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => rep.forward_drops += 1,
                    }
                }
                next = w.carrier_next(&p, &mut walk);
            }
        }
        drop(block);
        // capture_loss.log: each worker writes its own rows, as each Zeek cluster worker does.
        if let Some(ls) = loss_stream {
            for m in w.take_capture_loss() {
                stats_h.write(ls, &m.row(&ctx.name));
            }
        }
    }
    rep.kernel = kstats.read();
    rep.bytes = bytes;
    rep.frag_evicted = frags.stats().evicted;
    w.finish();
    w.sync_run_state(f64::INFINITY);
    if let Some(ls) = loss_stream {
        for m in w.take_capture_loss() {
            stats_h.write(ls, &m.row(&ctx.name));
        }
    }
    frag_out.flush();
    stats_h.flush();
    rep.connections = w.stats.connections;
    rep.evicted_connections = w.stats.evicted;
    rep
}
