//! `weir-live`: live capture from the command line, with the flags `weir -i` takes. Used by the
//! tests and the benchmarks; the `weir` binary offers the same through `weir -i`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use weir_engine::config::{AnalyzerSet, EngineConfig};
use weir_live::config::{parse_node_cfg, parse_size, parse_toml};
use weir_live::{run_live, ChecksumMode, FanoutMode, LiveConfig, Pinning};
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

const USAGE: &str = "usage: weir-live -i IFACE [options] | --node-cfg FILE | --config FILE.toml
  -i IFACE               interface (af_packet::IFACE accepted)
  -w, --workers N        workers (sockets in the fanout group), default 1
  --fanout MODE          hash (default), qm, cpu, cbpf, ebpf, lb, off
  --fanout-id N          default 23
  --buffer-size SIZE     ring per socket, default 128MiB
  --block-size N         default 32768
  --block-timeout MS     default 10
  --defrag               PACKET_FANOUT_FLAG_DEFRAG
  --checksum MODE        on (default), off, kernel
  --no-promisc
  --pin LIST|auto|off    cores (0-3,8); default auto (the NIC's NUMA node)
  -f FILTER              libpcap filter, attached to every socket
  --stats-interval SECS  stats.log interval, default 300; 0 = none
  --user USER            switch to USER once the sockets are open
  -l, --logdir DIR       default .
  --json                 JSON logs (default TSV)
  --set NAME=VALUE       engine setting (as weir --set)
  --duration SECS        stop after SECS
  --ready-file PATH      written once the sockets are open";

fn main() {
    match real_main() {
        Ok(()) => {}
        Err(e) => {
            eprintln!("weir-live: {e}");
            std::process::exit(1);
        }
    }
}

fn real_main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut live = LiveConfig::new("", 1);
    live.groups.clear();
    let mut iface: Option<String> = None;
    let mut g = weir_live::Group::new("", 1);
    let mut logdir = ".".to_string();
    let mut format = Format::Tsv;
    let mut sets = Vec::new();
    let mut duration: Option<f64> = None;
    let mut file_groups = None;
    let mut i = 0;
    let next = |i: &mut usize| -> Result<String, String> {
        *i += 1;
        args.get(*i)
            .cloned()
            .ok_or_else(|| format!("{} needs a value", args[*i - 1]))
    };
    while i < args.len() {
        let a = args[i].clone();
        match a.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            "-i" => iface = Some(next(&mut i)?),
            "-w" | "--workers" => g.workers = next(&mut i)?.parse().map_err(|_| "bad --workers")?,
            "--fanout" => {
                let m = next(&mut i)?;
                g.socket.fanout = if m == "off" { None } else { Some(FanoutMode::parse(&m)?) };
            }
            "--fanout-id" => g.socket.fanout_id = next(&mut i)?.parse().map_err(|_| "bad --fanout-id")?,
            "--buffer-size" => g.socket.buffer_size = parse_size(&next(&mut i)?)?,
            "--block-size" => g.socket.block_size = parse_size(&next(&mut i)?)?,
            "--block-timeout" => {
                g.socket.block_timeout_ms = next(&mut i)?.parse().map_err(|_| "bad --block-timeout")?
            }
            "--defrag" => g.socket.defrag = true,
            "--checksum" => g.checksum = ChecksumMode::parse(&next(&mut i)?)?,
            "--no-promisc" => g.socket.promisc = false,
            "--pin" => {
                let v = next(&mut i)?;
                g.pin = match v.as_str() {
                    "auto" => Pinning::Auto,
                    "off" => Pinning::Off,
                    l => Pinning::Cpus(weir_live::pin::parse_cpulist(l).ok_or("bad --pin")?),
                }
            }
            "-f" => live.filter = Some(next(&mut i)?),
            "--stats-interval" => live.stats_interval = next(&mut i)?.parse().map_err(|_| "bad --stats-interval")?,
            "--user" => live.user = Some(next(&mut i)?),
            "-l" | "--logdir" => logdir = next(&mut i)?,
            "--json" => format = Format::Json,
            "--set" => sets.push(next(&mut i)?),
            "--duration" => duration = Some(next(&mut i)?.parse().map_err(|_| "bad --duration")?),
            "--ready-file" => live.ready_file = Some(next(&mut i)?.into()),
            "--node-cfg" => {
                let p = next(&mut i)?;
                let t = std::fs::read_to_string(&p).map_err(|e| format!("{p}: {e}"))?;
                file_groups = Some(parse_node_cfg(&t)?.groups);
            }
            "--config" => {
                let p = next(&mut i)?;
                let t = std::fs::read_to_string(&p).map_err(|e| format!("{p}: {e}"))?;
                let fc = parse_toml(&t)?;
                file_groups = Some(fc.live.groups);
                live.stats_interval = fc.live.stats_interval;
                if fc.live.filter.is_some() {
                    live.filter = fc.live.filter;
                }
                if fc.live.user.is_some() {
                    live.user = fc.live.user;
                }
                sets.extend(fc.engine_sets);
                if let Some(d) = fc.log_dir {
                    logdir = d;
                }
                if fc.log_format.as_deref() == Some("json") {
                    format = Format::Json;
                }
            }
            _ => return Err(format!("unknown argument {a:?}\n{USAGE}")),
        }
        i += 1;
    }
    match (iface, file_groups) {
        (Some(ifc), None) => {
            g.interface = ifc.strip_prefix("af_packet::").unwrap_or(&ifc).to_string();
            live.groups.push(g);
        }
        (None, Some(groups)) => live.groups = groups,
        (Some(_), Some(_)) => return Err("give -i or a configuration file, not both".into()),
        (None, None) => return Err(USAGE.into()),
    }
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
                    eprintln!(
                        "weir-live: SIGHUP: log rotation needs rotation support in weir-logs (see tuning/README.md); ignored"
                    );
                }
                if STOP.load(Ordering::Relaxed) || duration.is_some_and(|d| t0.elapsed().as_secs_f64() >= d) {
                    stop.store(true, Ordering::Relaxed);
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
    }
    let report = run_live(live, engine, LogConfig::new(logdir, format), stop).map_err(|e| e.to_string())?;
    for p in &report.pinning {
        eprintln!("pinning {p}");
    }
    for w in &report.workers {
        eprintln!(
            "worker {} cpu={} received={} bytes={} kernel_packets={} kernel_drops={} freeze_q={} fwd_out={} fwd_in={} fwd_drops={} frag_evicted={} connections={} evicted={}",
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
