//! Running tests, evaluating their snapshots against the baselines, the known-differences list
//! and the Markdown report.

use crate::canon::{parse_log, Canon, CutSpec, Parsed};
use crate::compare::{compare, prepare, row_multiset, FileCompare, UidMap, UidMode};
use crate::manifest::{ExpectedFile, Test};
use crate::shell::{Engine, Replay, Shell, WeirEngine};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const CHECKS: &str = "(checks)";
pub const EXIT: &str = "(exit)";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    Unsupported(String),
}

#[derive(Debug, Clone)]
pub struct FileResult {
    pub test: String,
    pub file: String,
    pub log_type: String,
    pub status: Status,
    /// Filled when compared (also for unsupported files, for information).
    pub cmp: Option<FileCompare>,
    /// Why it failed, short.
    pub reason: String,
    /// `Some(false)` when the runs with different worker counts gave different rows.
    pub workers_same: Option<bool>,
    pub workers_note: String,
}

pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../zeek")
}

pub fn known_differences_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../known-differences.tsv")
}

/// Replays one test in a fresh scratch directory.
pub fn replay(test: &Test, corpus: &Path, engine: &mut dyn Engine, scratch: &Path) -> Replay {
    let _ = std::fs::remove_dir_all(scratch);
    std::fs::create_dir_all(scratch).expect("scratch dir");
    let traces = corpus.join("traces");
    let traces = traces.canonicalize().unwrap_or(traces);
    let mut sh = Shell::new(
        scratch.to_path_buf(),
        traces.to_string_lossy().to_string(),
        test,
        engine,
    );
    sh.run_all();
    sh.replay
}

fn expected_uid_map(test: &Test, corpus: &Path) -> UidMap {
    let mut m = UidMap::default();
    for ef in &test.expected {
        if let Ok(t) = std::fs::read_to_string(corpus.join("expected").join(&test.name).join(&ef.name)) {
            let cut = ef.cut.as_deref().map(CutSpec::from_cmd);
            m.add_parsed_typed(
                &parse_log(&t, Canon::from_spec(&ef.canon), cut.as_ref()),
                Some(ef.log_type.as_str()),
            );
        }
    }
    m
}

fn actual_uid_map(r: &Replay) -> UidMap {
    let mut m = UidMap::default();
    let c = Canon::from_spec("");
    for run in &r.run_logs {
        for (name, d) in run {
            let ty = match name.as_str() {
                "conn.log" => Some("conn"),
                "tunnel.log" => Some("tunnel"),
                _ => None,
            };
            m.add_parsed_typed(&parse_log(&String::from_utf8_lossy(d), c, None), ty);
        }
    }
    m
}

fn canon_for(ef: &ExpectedFile, snap_canon: &Option<String>) -> Canon {
    match snap_canon {
        Some(c) => Canon::from_spec(c),
        None => Canon::from_spec(&ef.canon),
    }
}

fn cut_for(ef: &ExpectedFile, snap_cut: &Option<CutSpec>) -> Option<CutSpec> {
    snap_cut.clone().or_else(|| ef.cut.as_deref().map(CutSpec::from_cmd))
}

/// Canonified rows of our snapshot of `ef` in replay `r` (for comparing two of our runs).
fn actual_rows(ef: &ExpectedFile, r: &Replay, mode: UidMode) -> Option<Vec<String>> {
    let snap = r.snapshots.iter().find(|s| s.file == ef.name)?;
    let text = String::from_utf8_lossy(snap.content.as_ref()?).to_string();
    let p = parse_log(&text, canon_for(ef, &snap.canonifier), cut_for(ef, &snap.cut).as_ref());
    let map = actual_uid_map(r);
    Some(row_multiset(&p.headers, &prepare(&p, &map, mode)))
}

/// Compares a test's replay(s) with its baselines. `others` are runs with other worker counts.
pub fn evaluate(test: &Test, corpus: &Path, main: &Replay, others: &[(usize, Replay)]) -> Vec<FileResult> {
    let emap = expected_uid_map(test, corpus);
    let amap = actual_uid_map(main);
    let mut out = Vec::new();
    for ef in &test.expected {
        let mut fr = FileResult {
            test: test.name.clone(),
            file: ef.name.clone(),
            log_type: ef.log_type.clone(),
            status: Status::Fail,
            cmp: None,
            reason: String::new(),
            workers_same: None,
            workers_note: String::new(),
        };
        let base_path = corpus.join("expected").join(&test.name).join(&ef.name);
        let Ok(base) = std::fs::read_to_string(&base_path) else {
            fr.reason = format!("baseline {} missing from the corpus", base_path.display());
            out.push(fr);
            continue;
        };
        let snap = main.snapshots.iter().find(|s| s.file == ef.name);
        let canon = canon_for(ef, &snap.and_then(|s| s.canonifier.clone()));
        let cut = cut_for(ef, &snap.and_then(|s| s.cut.clone()));
        let pe: Parsed = parse_log(&base, canon, cut.as_ref());
        let mode = if emap.resolves_all(&pe) {
            UidMode::Keys
        } else {
            UidMode::Presence
        };
        let erows = prepare(&pe, &emap, mode);
        let actual = snap.and_then(|s| s.content.as_ref()).map(|c| {
            let pa = parse_log(&String::from_utf8_lossy(c), canon, cut.as_ref());
            let arows = prepare(&pa, &amap, mode);
            compare(&pe.headers, &erows, &pa.headers, &arows)
        });
        let unsupported = snap.map(|s| s.unsupported.clone()).unwrap_or_default();
        match (&actual, snap) {
            (_, None) => fr.reason = "the exec lines never btest-diff this file".into(),
            (None, Some(_)) => fr.reason = "file not produced".into(),
            (Some(c), _) if c.pass => fr.status = Status::Pass,
            (Some(c), _) => {
                fr.reason = format!(
                    "{} of {} rows differ ({} missing, {} extra){}",
                    c.expected_rows.saturating_sub(count_exact(c)),
                    c.expected_rows,
                    c.missing_rows,
                    c.extra_rows,
                    if c.header_diffs.is_empty() {
                        ""
                    } else {
                        ", header differs"
                    }
                )
            }
        }
        if !unsupported.is_empty() {
            fr.status = Status::Unsupported(unsupported.join("; "));
        }
        // Field stats: missing or unsupported files count every expected value as not matched.
        let mut cmp = actual.unwrap_or_else(|| {
            let mut c = compare(&pe.headers, &erows, &[], &[]);
            c.header_diffs.clear();
            c
        });
        if matches!(fr.status, Status::Unsupported(_)) {
            for f in cmp.fields.iter_mut() {
                f.1 = 0;
            }
        }
        fr.cmp = Some(cmp);
        // Worker-count determinism.
        if !others.is_empty() {
            let base_rows = actual_rows(ef, main, mode);
            let mut same = true;
            let mut notes = Vec::new();
            for (w, r) in others {
                let rows = actual_rows(ef, r, mode);
                if rows != base_rows {
                    same = false;
                    let (a, b) = (base_rows.clone().unwrap_or_default(), rows.unwrap_or_default());
                    let only_a = a.iter().filter(|x| !b.contains(x)).count();
                    let only_b = b.iter().filter(|x| !a.contains(x)).count();
                    notes.push(format!(
                        "--workers {w}: {only_b} rows not in the first run, {only_a} first-run rows missing"
                    ));
                }
            }
            fr.workers_same = Some(same);
            fr.workers_note = notes.join("; ");
            if !same && fr.status == Status::Pass {
                fr.status = Status::Fail;
                fr.reason = format!("rows differ between worker counts: {}", fr.workers_note);
            }
        }
        out.push(fr);
    }
    // Pseudo-files: failed checks and weir exit codes.
    let mut checks = main.check_failures.clone();
    for (w, r) in others {
        for c in &r.check_failures {
            if !checks.contains(c) {
                checks.push(format!("{c} (with --workers {w})"));
            }
        }
    }
    if !checks.is_empty() {
        let unsup = !main.unsupported_runs.is_empty();
        out.push(FileResult {
            test: test.name.clone(),
            file: CHECKS.into(),
            log_type: "-".into(),
            status: if unsup {
                Status::Unsupported(dedup(&main.unsupported_runs).join("; "))
            } else {
                Status::Fail
            },
            cmp: None,
            reason: checks.join(" | "),
            workers_same: None,
            workers_note: String::new(),
        });
    }
    if !main.exit_failures.is_empty() {
        out.push(FileResult {
            test: test.name.clone(),
            file: EXIT.into(),
            log_type: "-".into(),
            status: Status::Fail,
            cmp: None,
            reason: main.exit_failures.join(" | "),
            workers_same: None,
            workers_note: String::new(),
        });
    }
    out
}

fn dedup(v: &[String]) -> Vec<String> {
    let mut o: Vec<String> = Vec::new();
    for x in v {
        if !o.contains(x) {
            o.push(x.clone());
        }
    }
    o
}

fn count_exact(c: &FileCompare) -> usize {
    c.expected_rows - c.missing_rows - c.diffs.iter().filter(|d| d.starts_with('~')).count()
}

/// Options of a suite run.
pub struct Options {
    pub weir: PathBuf,
    pub tiers: Vec<String>,
    pub tests: Vec<String>,
    pub workers: Vec<usize>,
    pub scratch: PathBuf,
    pub timeout: Duration,
}

pub fn select<'a>(all: &'a [Test], tiers: &[String], names: &[String]) -> Vec<&'a Test> {
    all.iter()
        .filter(|t| {
            if !names.is_empty() {
                names.iter().any(|n| n == &t.name)
            } else {
                tiers.iter().any(|x| x == &t.tier)
            }
        })
        .collect()
}

/// Results plus per-test notes (skipped steps; weir command lines).
#[derive(Debug, Default)]
pub struct SuiteRun {
    pub results: Vec<FileResult>,
    /// (test, skipped exec step with the reason)
    pub skipped: Vec<(String, String)>,
    /// (test, weir command line) of the first worker count
    pub commands: Vec<(String, String)>,
}

pub fn run_suite(opts: &Options, progress: &mut dyn FnMut(&str)) -> Result<SuiteRun, String> {
    let corpus = corpus_dir();
    let all = crate::manifest::load(&corpus)?;
    let tests = select(&all, &opts.tiers, &opts.tests);
    if tests.is_empty() {
        return Err("no test selected".into());
    }
    let workers = if opts.workers.is_empty() {
        vec![1]
    } else {
        opts.workers.clone()
    };
    let mut run = SuiteRun::default();
    for t in tests {
        progress(&t.name);
        let mut runs = Vec::new();
        for &w in &workers {
            let mut eng = WeirEngine {
                bin: opts.weir.clone(),
                workers: w,
                timeout: opts.timeout,
            };
            let dir = opts.scratch.join(format!("{}.w{w}", t.name));
            runs.push((w, replay(t, &corpus, &mut eng, &dir)));
        }
        let (_, main) = runs.remove(0);
        run.results.extend(evaluate(t, &corpus, &main, &runs));
        for s in &main.skipped {
            run.skipped.push((t.name.clone(), s.clone()));
        }
        for c in &main.commands {
            run.commands.push((t.name.clone(), c.clone()));
        }
    }
    Ok(run)
}

/// Markdown sections for the skipped steps and (optionally) the weir command lines.
pub fn report_notes(run: &SuiteRun, with_commands: bool) -> String {
    let mut s = String::new();
    if !run.skipped.is_empty() {
        let _ = writeln!(s, "### Exec steps not replayed\n");
        for (t, l) in &run.skipped {
            let _ = writeln!(s, "- {t}: `{}`", l.replace('`', "'"));
        }
        s.push('\n');
    }
    if with_commands && !run.commands.is_empty() {
        let _ = writeln!(s, "### weir command lines\n\n```");
        for (t, c) in &run.commands {
            let _ = writeln!(s, "{t}: {c}");
        }
        let _ = writeln!(s, "```");
    }
    s
}

/// known-differences.tsv: `test<TAB>file<TAB>reason`, `#` comments, file may be `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub test: String,
    pub file: String,
    pub reason: String,
}

pub fn parse_known(text: &str) -> Result<Vec<Known>, String> {
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() || l.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = l.splitn(3, '\t').collect();
        if f.len() < 2 || f[0].is_empty() || f[1].is_empty() {
            return Err(format!(
                "known-differences line {}: need test<TAB>file<TAB>reason",
                i + 1
            ));
        }
        out.push(Known {
            test: f[0].to_string(),
            file: f[1].to_string(),
            reason: f.get(2).unwrap_or(&"").to_string(),
        });
    }
    Ok(out)
}

/// Problems that make the golden test fail: unlisted failures and listed files that pass.
pub fn verdict(results: &[FileResult], known: &[Known]) -> Vec<String> {
    let mut problems = Vec::new();
    let listed = |r: &FileResult| {
        known
            .iter()
            .any(|k| k.test == r.test && (k.file == r.file || k.file == "*"))
    };
    for r in results {
        let bad = r.status != Status::Pass;
        match (bad, listed(r)) {
            (true, false) => problems.push(format!(
                "{} {}: {} — {}",
                r.test,
                r.file,
                status_word(&r.status),
                match &r.status {
                    Status::Unsupported(why) => why.clone(),
                    _ => r.reason.clone(),
                }
            )),
            (false, true) if known.iter().any(|k| k.test == r.test && k.file == r.file) => problems.push(format!(
                "{} {}: passes now but is listed in known-differences.tsv; remove the line",
                r.test, r.file
            )),
            _ => {}
        }
    }
    // A `*` entry whose test now passes entirely is stale too.
    for k in known.iter().filter(|k| k.file == "*") {
        let rs: Vec<&FileResult> = results.iter().filter(|r| r.test == k.test).collect();
        if !rs.is_empty() && rs.iter().all(|r| r.status == Status::Pass) {
            problems.push(format!(
                "{} *: every file passes now but the test is listed in known-differences.tsv; remove the line",
                k.test
            ));
        }
    }
    problems
}

pub fn status_word(s: &Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::Fail => "FAIL",
        Status::Unsupported(_) => "unsupported",
    }
}

/// Markdown report: per-log per-field table, then per-file results with the first differences.
pub fn report(results: &[FileResult], max_diffs: usize) -> String {
    let mut s = String::new();
    let (mut p, mut f, mut u) = (0, 0, 0);
    for r in results {
        match r.status {
            Status::Pass => p += 1,
            Status::Fail => f += 1,
            Status::Unsupported(_) => u += 1,
        }
    }
    let _ = writeln!(
        s,
        "## Golden tests: {} files: {p} pass, {f} fail, {u} unsupported\n",
        results.len()
    );
    // Per-log per-field table.
    type Counts = BTreeMap<String, (usize, usize, usize)>;
    let mut table: BTreeMap<String, (Vec<String>, Counts)> = BTreeMap::new();
    for r in results {
        let Some(c) = &r.cmp else { continue };
        let e = table.entry(r.log_type.clone()).or_default();
        let unsup = matches!(r.status, Status::Unsupported(_));
        for (field, m, t) in &c.fields {
            if !e.1.contains_key(field) {
                e.0.push(field.clone());
            }
            let x = e.1.entry(field.clone()).or_insert((0, 0, 0));
            x.0 += m;
            x.1 += t;
            if unsup {
                x.2 += t;
            }
        }
    }
    let _ = writeln!(s, "### Field match table (expected values matched / expected values; unsupported files count as not matched, their values are in the last column)\n");
    let _ = writeln!(
        s,
        "| log | field | matched | total | % | in unsupported files |\n|---|---|---:|---:|---:|---:|"
    );
    for (log, (order, m)) in &table {
        for field in order {
            let (a, b, u) = m[field];
            let pct = if b == 0 { 100.0 } else { 100.0 * a as f64 / b as f64 };
            let _ = writeln!(s, "| {log} | {field} | {a} | {b} | {pct:.1} | {u} |");
        }
    }
    let ws: Vec<&FileResult> = results.iter().filter(|r| r.workers_same.is_some()).collect();
    if !ws.is_empty() {
        let same = ws.iter().filter(|r| r.workers_same == Some(true)).count();
        let _ = writeln!(
            s,
            "\nWorker counts: {same} of {} compared files gave the same rows with every worker count.",
            ws.len()
        );
    }
    let _ = writeln!(
        s,
        "\n### Files\n\n| test | file | log | status | rows exp/ours | detail |\n|---|---|---|---|---|---|"
    );
    for r in results {
        let rows = r
            .cmp
            .as_ref()
            .map(|c| format!("{}/{}", c.expected_rows, c.actual_rows))
            .unwrap_or_default();
        let detail = match &r.status {
            Status::Unsupported(w) => w.clone(),
            _ => r.reason.clone(),
        };
        let mut detail = detail.replace('|', "\\|");
        if r.workers_same == Some(false) && !detail.contains("worker") {
            detail.push_str(&format!(" — workers differ: {}", r.workers_note));
        }
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            r.test,
            r.file,
            r.log_type,
            status_word(&r.status),
            rows,
            detail
        );
    }
    let failing: Vec<&FileResult> = results.iter().filter(|r| r.status == Status::Fail).collect();
    if !failing.is_empty() && max_diffs > 0 {
        let _ = writeln!(s, "\n### First differences\n");
        for r in failing {
            let _ = writeln!(s, "#### {} {}\n\n```", r.test, r.file);
            if let Some(c) = &r.cmp {
                for h in &c.header_diffs {
                    let _ = writeln!(s, "{h}");
                }
                for d in c.diffs.iter().take(max_diffs) {
                    let _ = writeln!(s, "{d}");
                }
                if c.diffs.len() > max_diffs {
                    let _ = writeln!(s, "... {} more", c.diffs.len() - max_diffs);
                }
            } else {
                let _ = writeln!(s, "{}", r.reason);
            }
            let _ = writeln!(s, "```\n");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::Snapshot;

    /// A replay whose snapshots are the baselines themselves (and whose "weir logs" are the
    /// full baseline logs, for the uid map).
    fn replay_of_baselines(t: &Test, corpus: &Path, alter: &dyn Fn(&str, String) -> String) -> Replay {
        let mut r = Replay::default();
        let mut logs = Vec::new();
        for ef in &t.expected {
            let p = corpus.join("expected").join(&t.name).join(&ef.name);
            let content = std::fs::read_to_string(&p).ok().map(|c| alter(&ef.name, c));
            if let Some(c) = &content {
                // Our runs' logs are full Zeek logs; give cut baselines a #fields line.
                let full = match ef.cut.as_deref().map(CutSpec::from_cmd) {
                    Some(cs) if cs.m_header && !cs.full_header => c
                        .lines()
                        .enumerate()
                        .map(|(i, l)| if i == 1 { format!("#fields\t{l}") } else { l.to_string() })
                        .collect::<Vec<_>>()
                        .join("\n"),
                    Some(cs) if !cs.full_header && !cs.negate => {
                        format!("#fields\t{}\n{c}", cs.cols.join("\t"))
                    }
                    _ => c.clone(),
                };
                logs.push((ef.name.clone(), full.into_bytes()));
            }
            r.snapshots.push(Snapshot {
                file: ef.name.clone(),
                content: content.map(String::into_bytes),
                canonifier: None,
                unsupported: vec![],
                cut: None,
            });
        }
        r.run_logs.push(logs);
        r
    }

    fn tests() -> (PathBuf, Vec<Test>) {
        let c = corpus_dir();
        let all = crate::manifest::load(&c).unwrap();
        let sel = all
            .into_iter()
            .filter(|t| ["core", "ext", "aux"].contains(&t.tier.as_str()))
            .collect();
        (c, sel)
    }

    #[test]
    fn every_baseline_matches_itself() {
        let (c, tests) = tests();
        let mut n = 0;
        for t in &tests {
            let r = replay_of_baselines(t, &c, &|_, s| s);
            let r4 = replay_of_baselines(t, &c, &|_, s| s);
            for fr in evaluate(t, &c, &r, &[(4, r4)]) {
                assert_eq!(fr.status, Status::Pass, "{} {}: {}", fr.test, fr.file, fr.reason);
                assert_eq!(fr.workers_same, Some(true));
                let cmp = fr.cmp.unwrap();
                assert!(cmp.fields.iter().all(|(_, m, t)| m == t));
                n += 1;
            }
        }
        assert!(n > 400, "{n}");
    }

    /// Baselines with other uids (consistently renamed) and shuffled data rows still match.
    #[test]
    fn renamed_uids_and_reordered_rows_still_match() {
        let (c, tests) = tests();
        let rename = |_: &str, s: String| -> String {
            let mut lines: Vec<String> = s
                .lines()
                .map(|l| {
                    l.split('\t')
                        .map(|f| {
                            f.split(',')
                                .map(|x| {
                                    if x.len() >= 15
                                        && x.len() <= 20
                                        && x.starts_with('C')
                                        && x.chars().all(|ch| ch.is_ascii_alphanumeric())
                                    {
                                        format!("Z{}", x.chars().rev().collect::<String>())
                                    } else {
                                        x.to_string()
                                    }
                                })
                                .collect::<Vec<_>>()
                                .join(",")
                        })
                        .collect::<Vec<_>>()
                        .join("\t")
                })
                .collect();
            // Reverse the order of the data rows between the header blocks.
            let mut i = 0;
            while i < lines.len() {
                if lines[i].starts_with('#') {
                    i += 1;
                    continue;
                }
                let j = (i..lines.len())
                    .find(|&k| lines[k].starts_with('#'))
                    .unwrap_or(lines.len());
                lines[i..j].reverse();
                i = j;
            }
            lines.join("\n") + "\n"
        };
        let mut n = 0;
        for t in &tests {
            let r = replay_of_baselines(t, &c, &rename);
            for fr in evaluate(t, &c, &r, &[]) {
                // Files with a -m header line: reversing puts the header last; skip those.
                if t.expected.iter().any(|e| e.name == fr.file && e.cut.is_some()) {
                    continue;
                }
                assert_eq!(fr.status, Status::Pass, "{} {}: {}", fr.test, fr.file, fr.reason);
                n += 1;
            }
        }
        assert!(n > 250, "{n}");
    }

    /// One altered `history` value costs exactly one matched history value.
    #[test]
    fn one_altered_field_is_one_mismatch() {
        let c = corpus_dir();
        let all = crate::manifest::load(&c).unwrap();
        let t = all.iter().find(|t| t.name == "core.cisco-fabric-path").unwrap();
        let alter = |_: &str, s: String| -> String {
            let mut done = false;
            s.lines()
                .map(|l| {
                    if !done && !l.starts_with('#') {
                        let mut f: Vec<String> = l.split('\t').map(String::from).collect();
                        if f.len() > 15 {
                            f[15].push('Z'); // history
                            done = true;
                        }
                        f.join("\t")
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
                + "\n"
        };
        let r = replay_of_baselines(t, &c, &alter);
        let fr = &evaluate(t, &c, &r, &[])[0];
        assert_eq!(fr.status, Status::Fail);
        let cmp = fr.cmp.as_ref().unwrap();
        for (f, m, tot) in &cmp.fields {
            if f == "history" {
                assert_eq!(*m + 1, *tot);
            } else {
                assert_eq!(m, tot, "{f}");
            }
        }
        assert_eq!(cmp.missing_rows, 0);
        assert_eq!(cmp.extra_rows, 0);
        let rep = report(&[fr.clone()], 3);
        assert!(rep.contains("| conn | history |"), "{rep}");
        assert!(rep.contains("history: expected"), "{rep}");
    }

    #[test]
    fn missing_file_and_worker_difference() {
        let c = corpus_dir();
        let all = crate::manifest::load(&c).unwrap();
        let t = all.iter().find(|t| t.name == "core.checksums").unwrap();
        let r = replay_of_baselines(t, &c, &|_, s| s);
        let drop_row = |n: &str, s: String| -> String {
            if n == "bad.out" {
                let mut lines: Vec<&str> = s.lines().collect();
                let i = lines.iter().rposition(|l| !l.starts_with('#')).unwrap();
                lines.remove(i);
                lines.join("\n") + "\n"
            } else {
                s
            }
        };
        let r4 = replay_of_baselines(t, &c, &drop_row);
        let res = evaluate(t, &c, &r, &[(4, r4)]);
        let bad = res.iter().find(|f| f.file == "bad.out").unwrap();
        assert_eq!(bad.status, Status::Fail);
        assert_eq!(bad.workers_same, Some(false));
        assert!(bad.reason.contains("worker"), "{}", bad.reason);
        let good = res.iter().find(|f| f.file == "good.out").unwrap();
        assert_eq!(good.status, Status::Pass);

        let mut empty = Replay::default();
        for ef in &t.expected {
            empty.snapshots.push(Snapshot {
                file: ef.name.clone(),
                content: None,
                canonifier: None,
                unsupported: vec![],
                cut: None,
            });
        }
        let res = evaluate(t, &c, &empty, &[]);
        assert!(res
            .iter()
            .all(|f| f.status == Status::Fail && f.reason == "file not produced"));
        assert!(res
            .iter()
            .all(|f| f.cmp.as_ref().unwrap().fields.iter().all(|x| x.1 == 0 && x.2 > 0)));
    }

    #[test]
    fn known_differences_verdict() {
        let mk = |test: &str, file: &str, status: Status| FileResult {
            test: test.into(),
            file: file.into(),
            log_type: "conn".into(),
            status,
            cmp: None,
            reason: "r".into(),
            workers_same: None,
            workers_note: String::new(),
        };
        let results = vec![
            mk("a", "conn.log", Status::Fail),
            mk("b", "conn.log", Status::Pass),
            mk("c", "x.log", Status::Unsupported("why".into())),
            mk("d", "conn.log", Status::Pass),
        ];
        let known = parse_known(
            "# comment\na\tconn.log\tengine bug\nb\tconn.log\tstale\nc\t*\tpolicy script\nd\t*\tstale too\n",
        )
        .unwrap();
        let p = verdict(&results, &known);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].starts_with("b conn.log: passes now"));
        assert!(p[1].starts_with("d *"));
        let p = verdict(&results, &[]);
        assert_eq!(p.len(), 2);
        assert!(parse_known("bad line\n").is_err());
        // The committed file parses.
        let text = std::fs::read_to_string(known_differences_path()).unwrap();
        parse_known(&text).unwrap();
    }

    /// Writes a test's uncut baseline logs, as if weir had produced them.
    struct BaselineEngine {
        files: Vec<(String, String)>,
    }

    impl Engine for BaselineEngine {
        fn run(&mut self, inv: &crate::zeek::Invocation, dir: &Path, _stdin: &[u8]) -> (i32, Vec<u8>, Vec<u8>) {
            assert!(inv.args.iter().any(|a| a == "--format"));
            for (n, c) in &self.files {
                let body: String = c
                    .lines()
                    .filter(|l| !l.starts_with(crate::canon::BTEST_HEADER))
                    .map(|l| format!("{l}\n"))
                    .collect();
                std::fs::write(dir.join(n), body).unwrap();
            }
            (0, Vec::new(), Vec::new())
        }
    }

    /// End to end through the interpreter: every single-run test whose baselines are plain
    /// weir logs passes when "weir" writes exactly those baselines.
    #[test]
    fn single_run_tests_pass_end_to_end_with_baseline_output() {
        let (c, tests) = tests();
        let mut n = 0;
        for t in &tests {
            let zeek_runs = t
                .exec_lines
                .iter()
                .filter(|l| l.contains("zeek ") && !l.starts_with("zeek-cut"))
                .count();
            let plain = t.expected.iter().all(|e| {
                e.cut.is_none()
                    && e.name
                        .strip_suffix(".log")
                        .map(|b| crate::zeek::WEIR_LOGS.contains(&b))
                        .unwrap_or(false)
            });
            if zeek_runs != 1 || !plain || t.expected.is_empty() {
                continue;
            }
            let files: Vec<(String, String)> = t
                .expected
                .iter()
                .map(|e| {
                    let p = c.join("expected").join(&t.name).join(&e.name);
                    (e.name.clone(), std::fs::read_to_string(p).unwrap())
                })
                .collect();
            let mut eng = BaselineEngine { files };
            let dir = std::env::temp_dir()
                .join(format!("weir-golden-e2e-{}", std::process::id()))
                .join(&t.name);
            let r = replay(t, &c, &mut eng, &dir);
            let _ = std::fs::remove_dir_all(&dir);
            for fr in evaluate(t, &c, &r, &[]) {
                if matches!(fr.status, Status::Unsupported(_)) {
                    continue;
                }
                assert_eq!(fr.status, Status::Pass, "{} {}: {}", fr.test, fr.file, fr.reason);
                n += 1;
            }
        }
        assert!(n > 50, "{n}");
    }
}
