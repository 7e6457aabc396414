//! # weir-engine: the engine
//!
//! Reads packets, sends each to the worker that owns its connection, and writes the logs Zeek writes.
//!
//! * [`dispatch`]: the dispatcher (decode enough to hash, reassemble fragments, batch to workers, carry
//!   network time to every worker);
//! * [`worker`]: a worker thread's state (flow table, timers, weird policy, log handle);
//! * [`tcp`], [`conn`]: Zeek's connection semantics (TCP endpoint state machine, history, sizes,
//!   `conn_state`, UDP/ICMP/unknown-transport sessions);
//! * [`flows`]: the bounded per-worker flow table with its timer queue;
//! * [`config`]: settings under Zeek's names; [`ports`]: the ports Zeek's analyzers register;
//! * [`site`], [`uid`], [`key`], [`community_id`]: local networks, uids, connection keys and hashes.
//!
//! ```no_run
//! use weir_engine::{run_offline, RunConfig, config::{AnalyzerSet, EngineConfig}};
//! use weir_logs::{Format, LogConfig};
//! let engine = EngineConfig::new(&AnalyzerSet::All);
//! let rc = RunConfig::new(vec!["trace.pcap".into()], LogConfig::new(".", Format::Json), engine);
//! let report = run_offline(rc).unwrap();
//! println!("{} packets", report.packets);
//! ```

pub mod analysis;
pub mod community_id;
pub mod config;
pub mod conn;
pub mod dispatch;
pub mod flows;
pub mod key;
pub mod logs;
pub mod ordered;
pub mod ports;
pub mod site;
pub mod tcp;
pub mod tunnels;
pub mod uid;
pub mod worker;

use config::EngineConfig;
use dispatch::{run_batch, Batch, Dispatcher, Lanes};
use logs::{conn_schema, WeirdOut};
use ordered::Registry;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use weir_capture::filter::Filter;
use weir_capture::{CaptureError, PcapReader};
use weir_logs::{LogConfig, Logs, WeirdPolicy};
use worker::{Worker, WorkerStats};

/// Progress of a replay, for a progress bar.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    pub packets: u64,
    pub bytes: u64,
    /// Bytes of input consumed and, when known, the total.
    pub input_read: u64,
    pub input_total: Option<u64>,
}

/// What to run.
pub struct RunConfig {
    pub inputs: Vec<String>,
    pub filter: Option<String>,
    pub workers: usize,
    pub logs: LogConfig,
    pub engine: EngineConfig,
    /// Set (e.g. by a SIGINT handler) to stop reading; logs are still finished.
    pub stop: Arc<AtomicBool>,
    pub progress: Option<Box<dyn FnMut(&Progress)>>,
    /// Read input files through memory mappings (the default; see `weir_capture::mapped`), or with
    /// `read` copies when false.
    pub map_inputs: bool,
}

impl RunConfig {
    pub fn new(inputs: Vec<String>, logs: LogConfig, engine: EngineConfig) -> RunConfig {
        RunConfig {
            inputs,
            filter: None,
            workers: 1,
            logs,
            engine,
            stop: Arc::new(AtomicBool::new(false)),
            progress: None,
            map_inputs: true,
        }
    }
}

/// What a run did.
#[derive(Debug, Default)]
pub struct RunReport {
    pub packets: u64,
    pub bytes: u64,
    pub filtered_out: u64,
    pub connections: u64,
    /// The most connections tracked at once, summed over the workers (each worker's own peak).
    pub peak_connections: u64,
    /// The largest of the workers' reassembly memory peaks (each worker has its own budget).
    pub reassembly_peak: u64,
    /// TCP bytes above holes given up or refused to stay within the reassembly budgets.
    pub reassembly_given_up: u64,
    pub evicted_connections: u64,
    pub frag_evicted: u64,
    pub log_rows: u64,
    /// Rows written per log file (`conn.log`, ...), for logs that got any.
    pub log_files: Vec<(String, u64)>,
    /// With several workers: what each worker did (the last is the dispatcher's tunnel carrier).
    pub workers: Vec<WorkerShare>,
    /// Input errors (damaged files), each naming the file and offset. Packets before the damage were
    /// processed and logged.
    pub input_errors: Vec<CaptureError>,
    pub interrupted: bool,
}

impl RunReport {
    /// Adds one worker's counters (the carrier's too) to the run's.
    fn add_worker(&mut self, s: &WorkerStats) {
        self.connections += s.connections;
        self.peak_connections += s.peak_connections;
        self.evicted_connections += s.evicted;
        self.reassembly_peak = self.reassembly_peak.max(s.reassembly_peak);
        self.reassembly_given_up += s.reassembly_given_up;
    }
}

/// One worker's share of a run.
#[derive(Clone, Debug, Default)]
pub struct WorkerShare {
    /// `worker N`, or `carrier` for the dispatcher's tunnel carrier.
    pub name: String,
    pub packets: u64,
    /// Of `packets`: innermost packets of tunnels, handed over by the carrier.
    pub tunnelled: u64,
    pub connections: u64,
}

impl WorkerShare {
    fn of(name: String, s: &WorkerStats) -> WorkerShare {
        WorkerShare {
            name,
            packets: s.packets,
            tunnelled: s.tunnelled,
            connections: s.connections,
        }
    }
}

#[derive(Debug)]
pub enum RunError {
    Input(CaptureError),
    Filter(String),
    Io(std::io::Error),
    WorkerPanicked,
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Input(e) => write!(f, "{e}"),
            RunError::Filter(e) => write!(f, "{e}"),
            RunError::Io(e) => write!(f, "writing logs: {e}"),
            RunError::WorkerPanicked => write!(f, "a worker thread failed"),
        }
    }
}

impl std::error::Error for RunError {}

/// The log streams a run writes (conn, weird, and what the configuration adds: capture_loss, tunnel,
/// the analyzers' logs), and the paths of the streams beyond conn and weird that workers write to
/// (for [`weird_out_for`]). Offline and live runs write the same logs.
pub fn log_schemas(cfg: &EngineConfig) -> (Vec<weir_api::log::Schema>, Vec<&'static str>) {
    let mut schemas = vec![conn_schema(cfg.community_id_seed.is_some()), weir_logs::weird::schema()];
    if cfg.capture_loss.is_some() {
        schemas.push(weir_reassembly::capture_loss::schema());
    }
    let mut paths: Vec<&'static str> = Vec::new();
    if cfg.tunnels {
        schemas.push(weir_decode::tunnel::tunnel_log_schema());
        paths.push("tunnel");
    }
    for info in &cfg.registry.infos {
        for schema in (info.logs)(&cfg.registry.settings) {
            if !paths.contains(&schema.path) {
                paths.push(schema.path);
                schemas.push(schema);
            }
        }
    }
    (schemas, paths)
}

/// A worker's output side: its log handle, the stream ids (engine logs and the analyzers' logs whose
/// paths are given), and a weird policy.
pub fn weird_out_for(logs: &Logs, analyzer_paths: &[&'static str]) -> WeirdOut {
    let named = analyzer_paths
        .iter()
        .filter_map(|p| logs.stream(p).map(|id| (*p, id)))
        .collect();
    WeirdOut {
        handle: logs.handle(),
        conn: logs.stream("conn"),
        weird: logs.stream("weird"),
        policy: WeirdPolicy::default(),
        named,
    }
}

/// Reads the inputs (merged by timestamp, as Zeek merges several `-r` files), analyses them on
/// `workers` workers, and writes the logs.
pub fn run_offline(mut rc: RunConfig) -> Result<RunReport, RunError> {
    let filter = match &rc.filter {
        Some(expr) => Some(Filter::new(expr).map_err(|e| RunError::Filter(e.to_string()))?),
        None => None,
    };
    let mut readers = Vec::new();
    for path in &rc.inputs {
        let r = if path == "-" {
            let stdin = StopAwareStdin {
                stop: Arc::clone(&rc.stop),
            };
            PcapReader::from_reader("-", Box::new(stdin)).map_err(RunError::Input)?
        } else if rc.map_inputs {
            PcapReader::open(path).map_err(RunError::Input)?
        } else {
            PcapReader::open_copying(path).map_err(RunError::Input)?
        };
        if let (Some(f), Some(link)) = (&filter, r.link_type()) {
            // Compile up front, so a bad expression is reported before any packet is read.
            f.program(link).map_err(|e| RunError::Filter(e.to_string()))?;
        }
        readers.push(r);
    }
    let (schemas, analyzer_paths) = log_schemas(&rc.engine);
    let logs = Logs::start(rc.logs.clone(), schemas).map_err(RunError::Io)?;
    let cfg = Arc::new(rc.engine.clone());
    let n = rc.workers.max(1);

    let mut handles = Vec::new();
    // Several workers share `Tunnel::active` (source 0 is the dispatcher's carrier, see `tunnels`).
    let registry = (n > 1).then(|| Arc::new(Registry::new(n + 1, weird_out_for(&logs, &analyzer_paths))));
    let lanes = if n == 1 {
        Lanes::Inline(
            Box::new(Worker::new(Arc::clone(&cfg), weird_out_for(&logs, &analyzer_paths))),
            Batch::default(),
        )
    } else {
        let (back_tx, back_rx) = mpsc::sync_channel::<Batch>(n * 8);
        let mut txs = Vec::new();
        // Worker 0 runs on the dispatcher's thread; workers 1.. on their own.
        let new_worker = |i: usize| {
            let mut w = Worker::new(Arc::clone(&cfg), weird_out_for(&logs, &analyzer_paths));
            if let Some(reg) = &registry {
                // Source 0 is the carrier.
                w.share_run_state(Arc::clone(reg), i + 1);
            }
            w
        };
        for i in 1..n {
            let (tx, rx) = mpsc::sync_channel::<Batch>(4);
            txs.push(tx);
            let mut w = new_worker(i);
            let back = back_tx.clone();
            handles.push(
                std::thread::Builder::new()
                    .name(format!("weir-worker-{i}"))
                    .spawn(move || {
                        for mut b in rx {
                            run_batch(&mut w, &b);
                            // Let go of the input's windows now, not when the dispatcher reuses the batch:
                            // batches waiting to be reused must not keep old windows mapped.
                            b.windows.clear();
                            let _ = back.try_send(b);
                        }
                        w.finish();
                        w.sync_run_state(f64::INFINITY);
                        (w.stats, w.take_capture_loss())
                    })
                    .expect("spawn worker thread"),
            );
        }
        let mut carrier = Worker::new(Arc::clone(&cfg), weird_out_for(&logs, &analyzer_paths));
        if let Some(reg) = &registry {
            carrier.share_run_state(Arc::clone(reg), 0);
        }
        Lanes::Threads {
            tx: txs,
            back: back_rx,
            current: (1..n).map(|_| Batch::default()).collect(),
            local: Box::new(new_worker(0)),
            carrier: Box::new(carrier),
        }
    };
    let mut disp = Dispatcher::new(Arc::clone(&cfg), lanes, weird_out_for(&logs, &analyzer_paths));
    let mut report = RunReport::default();
    let mut progress = Progress::default();
    let total: Option<u64> = readers.iter().map(|r| r.total_bytes()).sum();
    progress.input_total = total;

    read_all(
        &mut readers,
        &filter,
        &mut disp,
        &mut report,
        &mut progress,
        &rc.stop,
        &mut rc.progress,
    );

    let mut fin = disp.finish();
    drop(fin.out);
    report.frag_evicted = fin.frags.evicted;
    let mut loss: Vec<Vec<weir_reassembly::capture_loss::Measurement>> = Vec::new();
    for w in &mut fin.workers {
        report.add_worker(&w.stats);
        loss.push(w.take_capture_loss());
        if n > 1 {
            report.workers.push(WorkerShare::of("worker 0".into(), &w.stats));
        }
    }
    // (The carrier holds no TCP connection: it takes no capture-loss measurements.)
    let carrier = fin
        .carrier
        .as_ref()
        .map(|w| WorkerShare::of("carrier".into(), &w.stats));
    if let Some(c) = &fin.carrier {
        report.add_worker(&c.stats);
    }
    drop(fin.workers);
    drop(fin.carrier);
    let mut panicked = false;
    for (i, h) in handles.into_iter().enumerate() {
        match h.join() {
            Ok((s, rows)) => {
                report.workers.push(WorkerShare::of(format!("worker {}", i + 1), &s));
                report.add_worker(&s);
                loss.push(rows);
            }
            Err(_) => panicked = true,
        }
    }
    if let Some(reg) = registry {
        reg.finish();
    }
    report.workers.extend(carrier);
    if let Some(params) = &cfg.capture_loss {
        write_capture_loss(&logs, params, &loss);
    }
    let stats = logs.finish().map_err(RunError::Io)?;
    report.log_rows = stats.rows();
    report.log_files = stats
        .streams
        .iter()
        .filter(|s| s.rows > 0)
        .map(|s| (format!("{}.log", s.path), s.rows))
        .collect();
    if panicked {
        return Err(RunError::WorkerPanicked);
    }
    Ok(report)
}

/// The packet loop: k-way merge of the inputs by timestamp (one input: straight through).
fn read_all(
    readers: &mut [PcapReader],
    filter: &Option<Filter>,
    disp: &mut Dispatcher,
    report: &mut RunReport,
    progress: &mut Progress,
    stop: &AtomicBool,
    cb: &mut Option<Box<dyn FnMut(&Progress)>>,
) {
    // Heads of every input but the one being read, copied (only when there are several inputs).
    let mut heads: Vec<Option<(f64, weir_decode::LinkType, Vec<u8>, u32)>> = vec![None; readers.len()];
    let mut done = vec![false; readers.len()];
    let mut tick = 0u64;
    loop {
        if stop.load(Ordering::Relaxed) {
            report.interrupted = true;
            break;
        }
        if readers.len() == 1 {
            match readers[0].next_packet() {
                Ok(Some(p)) => {
                    report.packets += 1;
                    report.bytes += p.data.len() as u64;
                    if filter.as_ref().is_some_and(|f| !f.matches(p.link, p.data, p.wire_len)) {
                        report.filtered_out += 1;
                    } else {
                        disp.packet(p.ts, p.link, p.data, p.wire_len, p.window);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    report.input_errors.push(e);
                    break;
                }
            }
        } else {
            for i in 0..readers.len() {
                if heads[i].is_none() && !done[i] {
                    match readers[i].next_packet() {
                        Ok(Some(p)) => heads[i] = Some((p.ts, p.link, p.data.to_vec(), p.wire_len)),
                        Ok(None) => done[i] = true,
                        Err(e) => {
                            report.input_errors.push(e);
                            done[i] = true;
                        }
                    }
                }
            }
            let next = (0..readers.len())
                .filter(|&i| heads[i].is_some())
                .min_by(|&a, &b| heads[a].as_ref().unwrap().0.total_cmp(&heads[b].as_ref().unwrap().0));
            let Some(i) = next else { break };
            let (ts, link, data, wire_len) = heads[i].take().unwrap();
            report.packets += 1;
            report.bytes += data.len() as u64;
            if filter.as_ref().is_some_and(|f| !f.matches(link, &data, wire_len)) {
                report.filtered_out += 1;
            } else {
                disp.packet(ts, link, &data, wire_len, None);
            }
        }
        tick += 1;
        if tick & 0x3fff == 0 {
            if let Some(cb) = cb.as_mut() {
                progress.packets = report.packets;
                progress.bytes = report.bytes;
                progress.input_read = readers.iter().map(|r| r.bytes_read()).sum();
                cb(progress);
            }
        }
    }
    if let Some(cb) = cb.as_mut() {
        progress.packets = report.packets;
        progress.bytes = report.bytes;
        progress.input_read = readers.iter().map(|r| r.bytes_read()).sum();
        cb(progress);
    }
}

/// Standard input that gives up (end of input) once `stop` is set, even while no data arrives: a
/// `tcpdump -w - | weir -r -` pipeline stopped with SIGINT still finishes its logs.
struct StopAwareStdin {
    stop: Arc<AtomicBool>,
}

impl std::io::Read for StopAwareStdin {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Ok(0);
            }
            let mut pfd = libc::pollfd {
                fd: 0,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd for the duration of the call.
            let n = unsafe { libc::poll(&mut pfd, 1, 100) };
            if n > 0 {
                // SAFETY: reading into a buffer we own, at most its length.
                let r = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
                if r >= 0 {
                    return Ok(r as usize);
                }
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(e);
                }
            } else if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}

/// capture_loss.log: Zeek measures one process's gap counters; weir's workers each measured theirs at
/// the same network times (every worker sees every clock value), so the rows are merged tick by tick:
/// gaps and acks summed, the loss percentage recomputed as Zeek computes it.
fn write_capture_loss(
    logs: &Logs,
    params: &weir_reassembly::capture_loss::Params,
    per_worker: &[Vec<weir_reassembly::capture_loss::Measurement>],
) {
    let Some(stream) = logs.stream("capture_loss") else {
        return;
    };
    let ticks = per_worker.iter().map(Vec::len).max().unwrap_or(0);
    let mut handle = logs.handle();
    for i in 0..ticks {
        let mut rows = per_worker.iter().filter_map(|w| w.get(i));
        let Some(first) = rows.next() else { continue };
        let mut m = first.clone();
        for r in rows {
            m.gaps += r.gaps;
            m.acks += r.acks;
        }
        m.percent_lost = if m.acks == 0 {
            0.0
        } else {
            100.0 * m.gaps as f64 / m.acks as f64
        };
        handle.write(stream, &m.row(&params.peer));
    }
}
