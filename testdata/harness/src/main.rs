//! `weir-golden --weir PATH [--tier core,ext,aux] [--test NAME]... [--workers 1,4]`
//! Replays the Zeek corpus against weir and prints the Markdown match report.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use weir_golden::suite::{self, Options};

const USAGE: &str = "usage: weir-golden --weir PATH [--tier core,ext,aux] [--test NAME]... [--workers 1,4]
                   [--scratch DIR] [--timeout SECS] [--diffs N] [--known FILE]
  --tier     tiers to run (default core,ext); ignored when --test is given
  --test     one test by name (repeatable or comma-separated)
  --workers  worker counts; the first is compared with the baselines, the others with the first
  --scratch  where the tests run (default: a directory under the system temp dir)
  --diffs    differing rows shown per failing file (default 5)
  --known    also check a known-differences file (exit 1 on unlisted failures or stale entries)";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut weir: Option<PathBuf> = None;
    let mut tiers = vec!["core".to_string(), "ext".to_string()];
    let mut tests: Vec<String> = Vec::new();
    let mut workers = vec![1usize];
    let mut scratch = std::env::temp_dir().join(format!("weir-golden-{}", std::process::id()));
    let mut timeout = 300u64;
    let mut diffs = 5usize;
    let mut known: Option<PathBuf> = None;
    let list = |s: String| -> Vec<String> { s.split(',').filter(|x| !x.is_empty()).map(String::from).collect() };
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value"));
        let r: Result<(), String> = (|| {
            match a.as_str() {
                "--weir" => weir = Some(PathBuf::from(val()?)),
                "--tier" => tiers = list(val()?),
                "--test" => tests.extend(list(val()?)),
                "--workers" => {
                    workers = list(val()?)
                        .iter()
                        .map(|w| w.parse().map_err(|_| format!("bad worker count {w}")))
                        .collect::<Result<_, _>>()?
                }
                "--scratch" => scratch = PathBuf::from(val()?),
                "--timeout" => timeout = val()?.parse().map_err(|_| "bad --timeout")?,
                "--diffs" => diffs = val()?.parse().map_err(|_| "bad --diffs")?,
                "--known" => known = Some(PathBuf::from(val()?)),
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                _ => return Err(format!("unknown argument {a}")),
            }
            Ok(())
        })();
        if let Err(e) = r {
            eprintln!("weir-golden: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let Some(weir) = weir else {
        eprintln!("weir-golden: --weir PATH is required\n{USAGE}");
        return ExitCode::from(2);
    };
    let weir = weir.canonicalize().unwrap_or(weir);
    let opts = Options {
        weir,
        tiers,
        tests,
        workers,
        scratch: scratch.clone(),
        timeout: Duration::from_secs(timeout),
    };
    let few = !opts.tests.is_empty() && opts.tests.len() <= 3;
    let run = match suite::run_suite(&opts, &mut |t| eprintln!("running {t}")) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("weir-golden: {e}");
            return ExitCode::from(2);
        }
    };
    let results = &run.results;
    println!("{}", suite::report(results, diffs));
    println!("{}", suite::report_notes(&run, few));
    eprintln!("scratch directories kept in {}", scratch.display());
    if let Some(k) = known {
        let text = std::fs::read_to_string(&k).unwrap_or_default();
        match suite::parse_known(&text) {
            Ok(list) => {
                let problems = suite::verdict(results, &list);
                for p in &problems {
                    println!("- {p}");
                }
                if !problems.is_empty() {
                    return ExitCode::from(1);
                }
            }
            Err(e) => {
                eprintln!("weir-golden: {e}");
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::SUCCESS
}
