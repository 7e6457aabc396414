//! Golden test: replays every `core` and `ext` test of Zeek's btest corpus (testdata/zeek)
//! against this binary, with --workers 1 and --workers 4, prints the per-log per-field match
//! table, and fails on any difference not listed in testdata/known-differences.tsv (and on
//! listed differences that no longer occur).
//!
//! Run: `cargo test -p weir --test golden -- --nocapture`.
//! Environment: WEIR_GOLDEN_TESTS=name,name (only these tests), WEIR_GOLDEN_TIERS=core,ext,aux,
//! WEIR_GOLDEN_WORKERS=1,4, WEIR_GOLDEN_SCRATCH=DIR (keep the scratch directories there).
//! For iterating on one test: `cargo run -p weir-golden -- --weir target/debug/weir --test NAME`.

use std::path::PathBuf;
use std::time::Duration;
use weir_golden::suite;

fn env_list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn golden() {
    let weir = PathBuf::from(env!("CARGO_BIN_EXE_weir"));
    let scratch = std::env::var("WEIR_GOLDEN_SCRATCH")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join(format!("weir-golden-{}", std::process::id())));
    let workers: Vec<usize> = env_list("WEIR_GOLDEN_WORKERS", "1,4")
        .iter()
        .map(|w| w.parse().expect("WEIR_GOLDEN_WORKERS: numbers"))
        .collect();
    let opts = suite::Options {
        weir,
        tiers: env_list("WEIR_GOLDEN_TIERS", "core,ext"),
        tests: env_list("WEIR_GOLDEN_TESTS", ""),
        workers,
        scratch: scratch.clone(),
        timeout: Duration::from_secs(300),
    };
    let run = suite::run_suite(&opts, &mut |_| {}).expect("golden suite");
    let results = &run.results;
    println!("{}", suite::report(results, 5));
    println!("{}", suite::report_notes(&run, false));
    if std::env::var("WEIR_GOLDEN_SCRATCH").is_err() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    let known_path = suite::known_differences_path();
    let text = std::fs::read_to_string(&known_path).unwrap_or_else(|e| panic!("{}: {e}", known_path.display()));
    let known = suite::parse_known(&text).expect("known-differences.tsv");
    // With a subset of tests selected, only judge the selected ones.
    let known: Vec<suite::Known> = known
        .into_iter()
        .filter(|k| results.iter().any(|r| r.test == k.test))
        .collect();
    let problems = suite::verdict(results, &known);
    if !problems.is_empty() {
        panic!(
            "{} golden-test problem(s) (list accepted differences in {}):\n{}",
            problems.len(),
            known_path.display(),
            problems.join("\n")
        );
    }
}
