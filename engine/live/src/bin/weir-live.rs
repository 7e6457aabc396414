//! `weir-live`: live capture from the command line, with the flags `weir -i` takes
//! ([`weir_live::cli`]). Used by the tests and the benchmarks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use weir_engine::config::{AnalyzerSet, EngineConfig};
use weir_live::cli::{take_live_flags, LIVE_USAGE};
use weir_live::run_live;
use weir_logs::{Format, LogConfig};

static STOP: AtomicBool = AtomicBool::new(false);
static HUP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(s: libc::c_int) {
    if s == libc::SIGHUP {
        HUP.store(true, Ordering::Relaxed);
    } else {
        STOP.store(true, Ordering::Relaxed);
    }
}

fn usage() -> String {
    format!(
        "usage: weir-live -i IFACE [options] | --node-cfg FILE | --config FILE.toml
{LIVE_USAGE}
  -w, --workers N        workers (sockets in the fanout group) for -i, default 1
  -f FILTER              libpcap filter, attached to every socket
  -l, --logdir DIR       default .
  --json                 JSON logs (default TSV)
  --set NAME=VALUE       engine setting (as weir --set)
  --duration SECS        stop after SECS"
    )
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("weir-live: {e}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<(), String> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{}", usage());
        return Ok(());
    }
    let Some(mut la) = take_live_flags(&mut args)? else {
        return Err(usage());
    };
    let mut workers = None;
    let mut filter = None;
    let mut logdir = la.log_dir.clone().unwrap_or_else(|| ".".into());
    let mut format = if la.log_format.as_deref() == Some("json") {
        Format::Json
    } else {
        Format::Tsv
    };
    let mut sets = la.engine_sets.clone();
    let mut duration: Option<f64> = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].clone();
        let mut val = || -> Result<String, String> {
            i += 1;
            args.get(i).cloned().ok_or_else(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "-w" | "--workers" => workers = Some(val()?.parse().map_err(|_| "bad --workers")?),
            "-f" | "--filter" => filter = Some(val()?),
            "-l" | "--logdir" => logdir = val()?,
            "--json" => format = Format::Json,
            "--set" => sets.push(val()?),
            "--duration" => duration = Some(val()?.parse().map_err(|_| "bad --duration")?),
            _ => return Err(format!("unknown argument {a:?}\n{}", usage())),
        }
        i += 1;
    }
    la.apply_common(workers, filter);
    let mut engine = EngineConfig::new(&AnalyzerSet::All);
    for s in &sets {
        engine.set(s)?;
    }
    // SAFETY: installing an async-signal-safe handler (one atomic store).
    unsafe {
        for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::signal(s, on_signal as *const () as libc::sighandler_t);
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let t0 = std::time::Instant::now();
            loop {
                if HUP.swap(false, Ordering::Relaxed) {
                    // Zeek's SIGHUP rotation: run_live rotates every open log.
                    weir_live::ROTATE_REQUESTED.store(true, Ordering::Relaxed);
                }
                if STOP.load(Ordering::Relaxed) || duration.is_some_and(|d| t0.elapsed().as_secs_f64() >= d) {
                    stop.store(true, Ordering::Relaxed);
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
    }
    let report = run_live(la.live, engine, LogConfig::new(logdir, format), stop).map_err(|e| e.to_string())?;
    for p in &report.pinning {
        eprintln!("pinning {p}");
    }
    for w in &report.workers {
        eprintln!(
            "worker {} cpu={} received={} bytes={} kernel_packets={} kernel_drops={} freeze_q={} fwd_out={} fwd_in={} fwd_drops={} tunnelled={} frag_evicted={} connections={} evicted={}",
            w.name,
            w.cpu.map(|c| c.to_string()).unwrap_or_else(|| "-".into()),
            w.received,
            w.bytes,
            w.kernel.packets,
            w.kernel.drops,
            w.kernel.freeze_q,
            w.forwarded_out,
            w.forwarded_in,
            w.forward_drops,
            w.tunnelled,
            w.frag_evicted,
            w.connections,
            w.evicted_connections
        );
    }
    eprintln!(
        "total received={} dropped={} log_rows={} lost_log_rows={}",
        report.received(),
        report.dropped(),
        report.log_rows,
        report.lost_log_rows
    );
    Ok(())
}
