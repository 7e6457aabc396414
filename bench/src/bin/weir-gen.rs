//! weir-gen: writes a large, realistic, reproducible pcap (see bench/README.md).

use std::fs::File;
use std::io::{self, BufWriter};
use std::process::ExitCode;

use weir_bench::gen::{generate, Config, KINDS};

const USAGE: &str =
    "usage: weir-gen --out FILE [--seed N] [--packets N | --bytes N] [--connections N] [--vxlan] [--start-time SECONDS]

  --out FILE          pcap file to write ('-' for standard output)
  --seed N            PRNG seed (default 1); the same seed and options give the same bytes
  --packets N         stop after N packets (default 1000000)
  --bytes N           stop once the file holds at least N bytes (suffixes k, M, G accepted)
  --connections N     concurrent flows (default 1000)
  --vxlan             wrap every frame in VXLAN (UDP 4789) from one outer flow
  --start-time S      first timestamp, in seconds since the epoch (default 1700000000)
  -q                  no summary on standard error";

fn num(s: &str) -> Result<u64, String> {
    let (digits, mult) = match s.chars().last() {
        Some('k' | 'K') => (&s[..s.len() - 1], 1_000),
        Some('M') => (&s[..s.len() - 1], 1_000_000),
        Some('G') => (&s[..s.len() - 1], 1_000_000_000),
        _ => (s, 1),
    };
    digits
        .replace('_', "")
        .parse::<u64>()
        .map(|v| v * mult)
        .map_err(|_| format!("not a number: {s}"))
}

fn parse(args: &[String]) -> Result<(Config, String, bool), String> {
    let mut cfg = Config {
        packets: None,
        ..Config::default()
    };
    let mut out = None;
    let mut quiet = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--out" | "-o" => out = Some(val()?),
            "--seed" => cfg.seed = num(&val()?)?,
            "--packets" => cfg.packets = Some(num(&val()?)?),
            "--bytes" => cfg.bytes = Some(num(&val()?)?),
            "--connections" => cfg.connections = num(&val()?)?.max(1) as usize,
            "--vxlan" => cfg.vxlan = true,
            "--start-time" => {
                let v = val()?;
                let secs: f64 = v.parse().map_err(|_| format!("not a time: {v}"))?;
                cfg.start_time_us = (secs * 1e6) as u64;
            }
            "-q" | "--quiet" => quiet = true,
            "-h" | "--help" => return Err(String::new()),
            _ => return Err(format!("unknown argument: {a}")),
        }
    }
    if cfg.packets.is_none() && cfg.bytes.is_none() {
        cfg.packets = Some(1_000_000);
    }
    Ok((cfg, out.ok_or("--out is required")?, quiet))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cfg, out, quiet) = match parse(&args) {
        Ok(v) => v,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("weir-gen: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(if e.is_empty() { 0 } else { 2 });
        }
    };
    let res = if out == "-" {
        generate(&cfg, BufWriter::with_capacity(1 << 20, io::stdout().lock())).map(|(s, _)| s)
    } else {
        File::create(&out).and_then(|f| generate(&cfg, BufWriter::with_capacity(1 << 20, f)).map(|(s, _)| s))
    };
    match res {
        Ok(s) => {
            if !quiet {
                let kinds: Vec<String> = KINDS
                    .iter()
                    .zip(s.flows_by_kind.iter())
                    .map(|(k, n)| format!("{k:?}={n}"))
                    .collect();
                eprintln!(
                    "weir-gen: {} packets, {} bytes, {:.1} s of traffic, {} flows ({})",
                    s.packets,
                    s.file_bytes,
                    (s.last_ts_us.saturating_sub(s.first_ts_us)) as f64 / 1e6,
                    s.flows_started,
                    kinds.join(" ")
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("weir-gen: {out}: {e}");
            ExitCode::FAILURE
        }
    }
}
