//! weir-bench: the end-to-end benchmark runner.
//!
//!   weir-bench scan FILE            read FILE and touch every byte of every packet (the floor)
//!   weir-bench scan --mmap FILE     the same through a memory mapping (no copies: the lower floor)
//!   weir-bench run -- CMD [ARGS]    run CMD and print wall time, CPU time, peak RSS (wait4)
//!   weir-bench e2e --pcap FILE --weir BIN [--repeat N] [--workers 1,2] [--analyzers none,all]
//!                  [--markdown OUT.md]
//!       runs weir over FILE for every workers x analyzers combination, N times each, plus the
//!       floor (and tcpdump, zeek, suricata when on PATH), and prints the table.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::BufReader;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use weir_bench::run::{measure, median, which, Measured};
use weir_bench::{logs, pcap};

fn usage() -> ExitCode {
    eprintln!(
        "usage: weir-bench scan [--mmap] FILE\n       weir-bench run -- CMD [ARGS...]\n       weir-bench e2e --pcap FILE --weir BIN [--repeat N] [--workers 1,2] [--analyzers none,all] [--markdown OUT.md] [--logs-keep DIR]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("scan") if args.len() == 2 => scan_cmd(&args[1], false),
        Some("scan") if args.len() == 3 && args[1] == "--mmap" => scan_cmd(&args[2], true),
        Some("run") if args.len() >= 3 && args[1] == "--" => match measure(Command::new(&args[2]).args(&args[3..])) {
            Ok(m) => {
                println!(
                    "wall_s={:.6} user_s={:.6} sys_s={:.6} maxrss_kib={} exit={}",
                    m.wall.as_secs_f64(),
                    m.user.as_secs_f64(),
                    m.sys.as_secs_f64(),
                    m.maxrss_kib,
                    m.code
                );
                ExitCode::from(m.code.clamp(0, 255) as u8)
            }
            Err(e) => {
                eprintln!("weir-bench: {}: {e}", args[2]);
                ExitCode::FAILURE
            }
        },
        Some("e2e") => match E2e::parse(&args[1..]) {
            Ok(cfg) => match cfg.run() {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("weir-bench: {e}");
                    ExitCode::FAILURE
                }
            },
            Err(e) => {
                eprintln!("weir-bench: {e}");
                usage()
            }
        },
        _ => usage(),
    }
}

fn scan_cmd(path: &str, mapped: bool) -> ExitCode {
    let start = Instant::now();
    let res = if mapped {
        pcap::scan_mapped(std::path::Path::new(path))
    } else {
        File::open(path).and_then(|f| pcap::scan(BufReader::with_capacity(1 << 20, f)))
    };
    match res {
        Ok(s) => {
            println!(
                "packets={} bytes={} digest={:016x} monotonic={} wall_s={:.6}",
                s.packets,
                s.bytes,
                s.digest,
                s.monotonic,
                start.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("weir-bench: {path}: {e}");
            ExitCode::FAILURE
        }
    }
}

struct E2e {
    pcap: PathBuf,
    weir: PathBuf,
    repeat: usize,
    workers: Vec<u32>,
    analyzers: Vec<String>,
    markdown: Option<PathBuf>,
}

struct Row {
    what: String,
    runs: Vec<Measured>,
    note: String,
}

impl E2e {
    fn parse(args: &[String]) -> Result<E2e, String> {
        let mut e = E2e {
            pcap: PathBuf::new(),
            weir: PathBuf::new(),
            repeat: 3,
            workers: vec![1, 2],
            analyzers: vec!["none".into(), "all".into()],
            markdown: None,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut val = || it.next().cloned().ok_or_else(|| format!("{a} needs a value"));
            match a.as_str() {
                "--pcap" => e.pcap = val()?.into(),
                "--weir" => e.weir = val()?.into(),
                "--repeat" => e.repeat = val()?.parse().map_err(|_| "--repeat: not a number")?,
                "--workers" => {
                    e.workers = val()?
                        .split(',')
                        .map(|s| {
                            s.trim()
                                .parse::<u32>()
                                .map_err(|_| format!("--workers: bad number {s}"))
                        })
                        .collect::<Result<_, _>>()?
                }
                "--analyzers" => e.analyzers = val()?.split(',').map(|s| s.trim().to_string()).collect(),
                "--markdown" => e.markdown = Some(val()?.into()),
                _ => return Err(format!("unknown argument: {a}")),
            }
        }
        if e.pcap.as_os_str().is_empty() || e.weir.as_os_str().is_empty() {
            return Err("--pcap and --weir are required".into());
        }
        e.repeat = e.repeat.max(1);
        Ok(e)
    }

    fn run(&self) -> Result<(), String> {
        let file_size = fs::metadata(&self.pcap)
            .map_err(|e| format!("{}: {e}", self.pcap.display()))?
            .len();
        // Warm the page cache and learn the packet count (not timed).
        let scan = File::open(&self.pcap)
            .and_then(|f| pcap::scan(BufReader::with_capacity(1 << 20, f)))
            .map_err(|e| format!("{}: {e}", self.pcap.display()))?;
        let tmp = std::env::temp_dir().join(format!("weir-bench-{}", std::process::id()));
        fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
        let me = std::env::current_exe().map_err(|e| e.to_string())?;
        let load_before = loadavg();
        let mut rows = Vec::new();

        // The floor (x floor is relative to it), then the lower floor of a reader that maps the file.
        for (what, mmap) in [
            ("floor: weir-bench scan (read + touch every byte)", false),
            ("floor, mapped: weir-bench scan --mmap (map + touch every byte)", true),
        ] {
            eprintln!("weir-bench: {what} x{}", self.repeat);
            rows.push(self.repeat_runs(what, String::new(), || {
                let mut c = Command::new(&me);
                c.arg("scan")
                    .args(mmap.then_some("--mmap"))
                    .arg(&self.pcap)
                    .stdout(Stdio::null());
                c
            })?);
        }
        if which("tcpdump").is_some() {
            eprintln!("weir-bench: tcpdump -r FILE -w /dev/null x{}", self.repeat);
            rows.push(self.repeat_runs("tcpdump -r FILE -w /dev/null", String::new(), || {
                let mut c = Command::new("tcpdump");
                c.arg("-r")
                    .arg(&self.pcap)
                    .args(["-w", "/dev/null"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                c
            })?);
        }
        let mut weir_rows = Vec::new();
        for an in &self.analyzers {
            for &w in &self.workers {
                eprintln!("weir-bench: weir --workers {w} --analyzers {an} x{}", self.repeat);
                let logdir = tmp.join(format!("w{w}-{an}"));
                let what = format!("weir --workers {w} --analyzers {an}");
                let mut row = self.repeat_runs(&what, String::new(), || {
                    let _ = fs::remove_dir_all(&logdir);
                    let mut c = Command::new(&self.weir);
                    c.arg("-r")
                        .arg(&self.pcap)
                        .arg("--logdir")
                        .arg(&logdir)
                        .args(["--workers", &w.to_string(), "--analyzers", an, "-q"])
                        .stdout(Stdio::null());
                    c
                })?;
                row.note = logs::summary(&logdir);
                let _ = fs::remove_dir_all(&logdir);
                weir_rows.push(rows.len());
                rows.push(row);
            }
        }
        let mut others = Vec::new();
        for tool in ["zeek", "suricata"] {
            match which(tool) {
                None => others.push(format!("{tool}: not on PATH, not run")),
                Some(bin) => {
                    eprintln!("weir-bench: {tool} x{}", self.repeat);
                    let dir = tmp.join(tool);
                    let row = self.repeat_runs(&format!("{tool} -r FILE"), String::new(), || {
                        let _ = fs::remove_dir_all(&dir);
                        let _ = fs::create_dir_all(&dir);
                        let mut c = Command::new(&bin);
                        if tool == "zeek" {
                            c.arg("-r").arg(&self.pcap).current_dir(&dir);
                        } else {
                            c.arg("-r").arg(&self.pcap).arg("-l").arg(&dir);
                        }
                        c.stdout(Stdio::null()).stderr(Stdio::null());
                        c
                    })?;
                    rows.push(row);
                }
            }
        }
        let _ = fs::remove_dir_all(&tmp);
        let load_after = loadavg();

        let floor = median(&rows[0].runs.iter().map(|m| m.wall).collect::<Vec<_>>());
        let mut out = String::new();
        let mib = |b: f64| b / (1024.0 * 1024.0);
        let _ = writeln!(
            out,
            "input: {} ({} packets, {} captured bytes, file {:.1} MiB, {:.0} bytes/packet on average)",
            self.pcap.display(),
            scan.packets,
            scan.bytes,
            mib(file_size as f64),
            scan.bytes as f64 / scan.packets.max(1) as f64
        );
        let _ = writeln!(
            out,
            "runs: {} each; time = median wall-clock time; CPU = mean user+sys time; RSS = max of the runs' ru_maxrss",
            self.repeat
        );
        let _ = writeln!(
            out,
            "load average (1/5/15 min) before: {load_before}; after: {load_after}"
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "| run | wall s (median) | min..max s | packets/s | Gbit/s | ns/packet | CPU s | CPU ns/packet | peak RSS MiB | x floor | output |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        for r in &rows {
            let walls: Vec<Duration> = r.runs.iter().map(|m| m.wall).collect();
            let med = median(&walls).as_secs_f64().max(1e-9);
            let min = walls.iter().min().unwrap().as_secs_f64();
            let max = walls.iter().max().unwrap().as_secs_f64();
            let cpu = r.runs.iter().map(|m| (m.user + m.sys).as_secs_f64()).sum::<f64>() / r.runs.len() as f64;
            let rss = r.runs.iter().map(|m| m.maxrss_kib).max().unwrap_or(0);
            let failed: Vec<i32> = r.runs.iter().map(|m| m.code).filter(|&c| c != 0).collect();
            let note = if failed.is_empty() {
                r.note.clone()
            } else {
                format!("FAILED (exit {failed:?}) {}", r.note)
            };
            let _ = writeln!(
                out,
                "| {} | {:.3} | {:.3}..{:.3} | {:.0} | {:.3} | {:.0} | {:.2} | {:.0} | {:.1} | {:.2} | {} |",
                r.what,
                med,
                min,
                max,
                scan.packets as f64 / med,
                scan.bytes as f64 * 8.0 / med / 1e9,
                med * 1e9 / scan.packets.max(1) as f64,
                cpu,
                cpu * 1e9 / scan.packets.max(1) as f64,
                rss as f64 / 1024.0,
                med / floor.as_secs_f64().max(1e-9),
                note
            );
        }
        let _ = writeln!(out);
        let peak = weir_rows
            .iter()
            .flat_map(|&i| rows[i].runs.iter())
            .map(|m| m.maxrss_kib)
            .max()
            .unwrap_or(0);
        let _ = writeln!(
            out,
            "input file {:.1} MiB vs weir's highest peak RSS {:.1} MiB (RSS / file = {:.3})",
            mib(file_size as f64),
            peak as f64 / 1024.0,
            peak as f64 * 1024.0 / file_size.max(1) as f64
        );
        for o in &others {
            let _ = writeln!(out, "{o}");
        }
        for (i, r) in rows.iter().enumerate() {
            if r.what.starts_with("zeek") || r.what.starts_with("suricata") {
                let t = median(&r.runs.iter().map(|m| m.wall).collect::<Vec<_>>()).as_secs_f64();
                for &wi in &weir_rows {
                    let wt = median(&rows[wi].runs.iter().map(|m| m.wall).collect::<Vec<_>>()).as_secs_f64();
                    let _ = writeln!(out, "{} / {}: {:.2}x", rows[i].what, rows[wi].what, t / wt.max(1e-9));
                }
            }
        }
        print!("{out}");
        if let Some(md) = &self.markdown {
            fs::write(md, &out).map_err(|e| format!("{}: {e}", md.display()))?;
        }
        let failed = rows.iter().filter(|r| r.runs.iter().any(|m| m.code != 0)).count();
        if failed > 0 {
            return Err(format!("{failed} configuration(s) had a failing run (see the table)"));
        }
        Ok(())
    }

    fn repeat_runs(&self, what: &str, note: String, mut make: impl FnMut() -> Command) -> Result<Row, String> {
        let mut runs = Vec::with_capacity(self.repeat);
        for _ in 0..self.repeat {
            let mut c = make();
            runs.push(measure(&mut c).map_err(|e| format!("{what}: {e}"))?);
        }
        Ok(Row {
            what: what.to_string(),
            runs,
            note,
        })
    }
}

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
