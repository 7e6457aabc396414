//! The `weir` command: read packets, write Zeek's logs.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_engine::config::{AnalyzerSet, EngineConfig, SETTINGS};
use weir_engine::{run_offline, Progress, RunConfig};
use weir_logs::{Format, LogConfig};

/// The application analyzers this binary is built with.
const AVAILABLE_ANALYZERS: &[&weir_api::AnalyzerInfo] = &[
    &weir_dns::DNS,
    &weir_ssl::TLS,
    &weir_ssl::DTLS,
    &weir_http::HTTP,
    &weir_ntp::NTP,
    &weir_dhcp::DHCP,
    &weir_ssh::SSH,
];

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const HELP: &str = "\
NAME
    weir - network security monitor that writes Zeek's logs, on every core

SYNOPSIS
    weir -r FILE [-r FILE ...] [OPTIONS]
    weir -i IFACE [LIVE OPTIONS] [OPTIONS]
    weir --node-cfg node.cfg | --config weir.toml [OPTIONS]

DESCRIPTION
    weir reads packets from pcap or pcapng files or live from AF_PACKET, tracks every connection as
    Zeek does, and writes Zeek's logs (conn, weird, dns, ssl, x509, tunnel, capture_loss, stats) in
    Zeek's JSON or TSV format, field for field. Work is spread over
    several workers; each connection belongs to exactly one, and the logs do not depend on how many
    there are. Time is network time (packet timestamps), so a replay is reproducible.

OPTIONS
    -r, --readfile FILE
        Read packets from FILE, a pcap or pcapng file; '-' reads a pcap stream on standard input
        (tcpdump -w - | weir -r -). Several -r are merged by timestamp, as Zeek does.
    -C, --no-checksums
        Ignore checksums (Zeek's -C). Without it, packets with bad IP checksums are dropped and packets
        with bad TCP/UDP/ICMP checksums are counted as Zeek counts them (weird, history C) but not
        analysed.
    -f, --filter EXPR
        Only analyse packets matching the libpcap filter expression EXPR (needs libpcap at run time).
        A bad expression is reported before any packet is read.
    --logdir DIR
        Write logs into DIR (created if missing). Default: the current directory, as Zeek.
    --format json|tsv
        Log format: Zeek's JSON lines (default) or Zeek's tab-separated ascii format with #headers,
        readable by zeek-cut.
    --workers N
        Number of worker threads. Default: one per core.
    --analyzers LIST
        Comma-separated Zeek analyzer names, 'all' (default) or 'none'. Reproduces the set of protocol
        scripts a Zeek run loads: each named analyzer's well-known ports join Zeek's
        likely_server_ports, which decides originator and responder. weir implements the dns, ssl
        (TLS, DTLS), http, ssh, ntp and dhcp analyzers (http, ssh, dhcp: service only, no log yet);
        other names contribute their ports only (no service, no log).
    --disable-logs LIST
        Comma-separated log names not to write (e.g. weird,conn), like Zeek's Log::disable_stream.
    --set NAME=VALUE, --set NAME+=VALUE
        A Zeek setting, by Zeek's name and in Zeek's syntax, e.g.
            --set 'ignore_checksums_nets+={192.168.0.0/16}'  --set 'tcp_inactivity_timeout=10 min'
            --set 'Site::local_nets={10.0.0.0/8}'            --set 'likely_server_ports+={40190/udp}'
        Known settings: SETTINGS_LIST
    --load SCRIPT
        Load one of the Zeek policy scripts weir implements: misc/capture-loss (capture_loss.log, from
        TCP gaps and acks, every 15 minutes of network time and at the end), or
        protocols/conn/community-id-logging (same as --community-id).
    --community-id
        Add conn.log's community_id field (Zeek's policy/protocols/conn/community-id-logging).
    --seed N
        Seed for connection uids (default fixed, so runs are reproducible).
    --max-flows N
        Most connections tracked at once per worker (default 4000000). When full, the connection whose
        timers fall due first is logged and evicted; evictions are counted and reported.
    --no-mmap
        Read input files with read() copies instead of memory mappings. Mapping is faster, but if a
        file is truncated while weir reads it, the process is stopped by SIGBUS (weir then says so
        and exits with status 1, without finishing its logs).
    -q, --quiet
        No progress display. (Progress is shown only when standard error is a terminal.)
    -h, --help
        This text.
    --version
        weir's version.

LIVE CAPTURE (AF_PACKET, TPACKET_V3 rings, one socket per worker in one fanout group)
LIVE_USAGE_TEXT

EXIT STATUS
    0 on success; 1 when an input was damaged or unreadable (the logs of every packet before the damage
    are still written); 2 for a usage error.

EXAMPLES
    weir -r trace.pcap --logdir logs
    weir -r trace.pcap --format tsv --workers 4 -C
    tcpdump -i eth0 -w - | weir -r -
";

struct Args {
    rc_inputs: Vec<String>,
    /// Read input files with copies, not mappings.
    no_mmap: bool,
    checksums: bool,
    filter: Option<String>,
    logdir: String,
    format: Format,
    workers: usize,
    analyzers: AnalyzerSet,
    disabled: Vec<String>,
    sets: Vec<String>,
    loads: Vec<String>,
    community_id: bool,
    seed: Option<u64>,
    max_flows: Option<usize>,
    quiet: bool,
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("weir: {msg}\nTry 'weir --help'.");
    ExitCode::from(2)
}

fn parse_args(argv: Vec<String>, live: bool) -> Result<Option<Args>, String> {
    let mut a = Args {
        rc_inputs: Vec::new(),
        checksums: true,
        filter: None,
        logdir: ".".into(),
        format: Format::Json,
        workers: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        analyzers: AnalyzerSet::All,
        disabled: Vec::new(),
        sets: Vec::new(),
        loads: Vec::new(),
        community_id: false,
        seed: None,
        max_flows: None,
        quiet: false,
        no_mmap: false,
    };
    let mut it = argv.into_iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it.next().ok_or_else(|| format!("{name} needs a value")),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => {
                print!(
                    "{}",
                    HELP.replace("SETTINGS_LIST", &SETTINGS.join(", "))
                        .replace("LIVE_USAGE_TEXT", weir_live::cli::LIVE_USAGE)
                );
                return Ok(None);
            }
            "--version" => {
                println!("weir {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            "-r" | "--readfile" => a.rc_inputs.push(value(&flag)?),
            "-C" | "--no-checksums" => a.checksums = false,
            "-f" | "--filter" => a.filter = Some(value(&flag)?),
            "--logdir" => a.logdir = value(&flag)?,
            "--format" => {
                a.format = match value(&flag)?.as_str() {
                    "json" => Format::Json,
                    "tsv" => Format::Tsv,
                    other => return Err(format!("--format: {other:?} is not json or tsv")),
                }
            }
            "--workers" => {
                a.workers = value(&flag)?
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1 && *n <= 1024)
                    .ok_or("--workers needs a number from 1 to 1024")?
            }
            "--analyzers" => a.analyzers = AnalyzerSet::parse(&value(&flag)?)?,
            "--disable-logs" => a
                .disabled
                .extend(value(&flag)?.split(',').map(|s| s.trim().to_string())),
            "--set" => a.sets.push(value(&flag)?),
            "--load" => a.loads.push(value(&flag)?),
            "--community-id" => a.community_id = true,
            "--seed" => a.seed = Some(value(&flag)?.parse().map_err(|_| "--seed needs a number")?),
            "--max-flows" => {
                a.max_flows = Some(
                    value(&flag)?
                        .parse()
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or("--max-flows needs a positive number")?,
                )
            }
            "-q" | "--quiet" => a.quiet = true,
            "--no-mmap" => a.no_mmap = true,
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unknown option {s}")),
            s => return Err(format!("unexpected argument {s:?} (input files are given with -r)")),
        }
    }
    if a.rc_inputs.is_empty() && !live {
        return Err(
            "no input: give a pcap or pcapng file with -r FILE (or -r - for standard input), \
                    or an interface with -i IFACE"
                .into(),
        );
    }
    if !a.rc_inputs.is_empty() && live {
        return Err("-r and -i (or --node-cfg/--config) cannot be combined".into());
    }
    Ok(Some(a))
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

extern "C" fn on_hup(_: libc::c_int) {
    // Live capture rotates its logs (Zeek's SIGHUP rotation); offline runs ignore it.
    weir_live::ROTATE_REQUESTED.store(true, Ordering::Relaxed);
}

/// A mapped input file shrank under the reader (weir_capture::mapped): say so instead of dying silently.
extern "C" fn on_sigbus(_: libc::c_int) {
    const MSG: &[u8] = b"weir: SIGBUS: an input file was truncated while weir read it through a memory mapping; \
logs are incomplete (--no-mmap reads with copies instead)\n";
    // SAFETY: write(2) and _exit(2) are async-signal-safe; MSG is a static buffer.
    unsafe {
        libc::write(2, MSG.as_ptr().cast(), MSG.len());
        libc::_exit(1);
    }
}

fn install_signal_handlers() {
    // SAFETY: the handlers only store to atomics, or write and exit, all async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGHUP, on_hup as *const () as libc::sighandler_t);
        libc::signal(libc::SIGBUS, on_sigbus as *const () as libc::sighandler_t);
    }
}

fn human(n: f64) -> String {
    if n >= 1e9 {
        format!("{:.2}G", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.2}M", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.1}k", n / 1e3)
    } else {
        format!("{n:.0}")
    }
}

fn main() -> ExitCode {
    // No transparent huge pages for the heap: the allocator's arenas would fault in (and zero) 2 MiB at a
    // time, which raised peak RSS by about 20 MiB on the benchmark workloads for no measurable speed
    // (bench/RESULTS.md). Best effort: an old kernel without the option changes nothing.
    // SAFETY: prctl with PR_SET_THP_DISABLE only sets a flag of this process.
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    let live = match weir_live::cli::take_live_flags(&mut argv) {
        Ok(l) => l,
        Err(e) => return usage_error(&e),
    };
    let args = match parse_args(argv, live.is_some()) {
        Ok(Some(a)) => a,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => return usage_error(&e),
    };
    let mut engine = EngineConfig::with_analyzers(&args.analyzers, AVAILABLE_ANALYZERS);
    if !args.checksums {
        engine.ignore_checksums = true;
        engine.decode.ignore_checksums = true;
    }
    if args.community_id {
        engine.community_id_seed = Some(0);
    }
    for l in &args.loads {
        if let Err(e) = engine.load(l) {
            return usage_error(&e);
        }
    }
    for s in &args.sets {
        if let Err(e) = engine.set(s) {
            return usage_error(&e);
        }
    }
    if args.community_id && engine.community_id_seed.is_none() {
        engine.community_id_seed = Some(0);
    }
    engine.decode.ignore_checksums_nets = engine
        .ignore_checksums_nets
        .subnets()
        .iter()
        .map(|n| (n.addr, n.prefix))
        .collect();
    if let Some(seed) = args.seed {
        engine.seed = seed;
    }
    if let Some(m) = args.max_flows {
        engine.max_flows = m;
    }
    if let Err(e) = std::fs::create_dir_all(&args.logdir) {
        eprintln!("weir: cannot create log directory {}: {e}", args.logdir);
        return ExitCode::from(1);
    }
    let mut logs = LogConfig::new(&args.logdir, args.format);
    logs.disabled = args.disabled.clone();

    install_signal_handlers();
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || loop {
            if STOP.load(Ordering::Relaxed) {
                stop.store(true, Ordering::Relaxed);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        });
    }

    if let Some(mut live) = live {
        for set in &live.engine_sets {
            if let Err(e) = engine.set(set) {
                return usage_error(&e);
            }
        }
        if let Some(dir) = &live.log_dir {
            logs.dir = dir.into();
        }
        if let Some(f) = live.log_format.as_deref() {
            logs.format = if f == "tsv" { Format::Tsv } else { Format::Json };
        }
        let workers = std::env::args().any(|a| a == "--workers").then_some(args.workers);
        live.apply_common(workers, args.filter.clone());
        return match weir_live::run_live(live.live, engine, logs, stop) {
            Ok(report) => {
                if !args.quiet {
                    let files: Vec<String> = report
                        .log_files
                        .iter()
                        .map(|(f, n)| format!("{f} ({n} rows)"))
                        .collect();
                    eprintln!(
                        "weir: {} packets received, {} dropped; logs: {}",
                        report.received(),
                        report.dropped(),
                        if files.is_empty() {
                            "none written".to_string()
                        } else {
                            files.join(", ")
                        }
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("weir: {e}");
                ExitCode::from(1)
            }
        };
    }
    let mut rc = RunConfig::new(args.rc_inputs.clone(), logs, engine);
    rc.filter = args.filter.clone();
    rc.workers = args.workers;
    rc.stop = stop;
    rc.map_inputs = !args.no_mmap;
    let show = !args.quiet && std::io::stderr().is_terminal();
    if show {
        let start = Instant::now();
        let mut last = Instant::now() - Duration::from_secs(1);
        rc.progress = Some(Box::new(move |p: &Progress| {
            if last.elapsed() < Duration::from_millis(250) {
                return;
            }
            last = Instant::now();
            let secs = start.elapsed().as_secs_f64().max(1e-9);
            let mut line = format!(
                "\r{} pkts  {}B  {} pkt/s",
                human(p.packets as f64),
                human(p.bytes as f64),
                human(p.packets as f64 / secs)
            );
            if let Some(total) = p.input_total.filter(|t| *t > 0) {
                let frac = (p.input_read as f64 / total as f64).min(1.0);
                let left = if frac > 0.0 { secs * (1.0 - frac) / frac } else { 0.0 };
                line.push_str(&format!("  {:5.1}%  {:.0}s left", frac * 100.0, left));
            }
            line.push_str("   ");
            let mut e = std::io::stderr();
            let _ = e.write_all(line.as_bytes());
            let _ = e.flush();
        }));
    }
    let result = run_offline(rc);
    if show {
        eprintln!();
    }
    match result {
        Ok(report) => {
            let mut code = ExitCode::SUCCESS;
            for e in &report.input_errors {
                eprintln!("weir: {e}");
                code = ExitCode::from(1);
            }
            if report.reassembly_given_up > 0 {
                eprintln!(
                    "weir: {} bytes of TCP data above holes were given up to stay within the reassembly budget \
                     (peak {} bytes in one worker; --set weir::reassembly_worker_limit=BYTES)",
                    report.reassembly_given_up, report.reassembly_peak
                );
            }
            if report.evicted_connections > 0 {
                eprintln!(
                    "weir: {} connections were evicted early to stay within --max-flows",
                    report.evicted_connections
                );
            }
            if !args.quiet {
                let dir = std::fs::canonicalize(&args.logdir).unwrap_or_else(|_| args.logdir.clone().into());
                let files: Vec<String> = report
                    .log_files
                    .iter()
                    .map(|(f, n)| format!("{f} ({n} rows)"))
                    .collect();
                eprintln!(
                    "weir: {} packets, {} connections (at most {} tracked at once); logs in {}: {}",
                    report.packets,
                    report.connections,
                    report.peak_connections,
                    dir.display(),
                    if files.is_empty() {
                        "none written".to_string()
                    } else {
                        files.join(", ")
                    }
                );
            }
            if !args.quiet && !report.workers.is_empty() {
                let shares: Vec<String> = report
                    .workers
                    .iter()
                    .map(|w| {
                        format!(
                            "{}: {} packets ({} inside tunnels), {} connections",
                            w.name, w.packets, w.tunnelled, w.connections
                        )
                    })
                    .collect();
                eprintln!("weir: {}", shares.join("; "));
            }
            if report.interrupted {
                eprintln!("weir: interrupted; logs of everything read so far are complete");
            }
            code
        }
        Err(e) => {
            eprintln!("weir: {e}");
            ExitCode::from(1)
        }
    }
}
