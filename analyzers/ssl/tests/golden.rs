//! Replays the TLS/DTLS/x509 tests of Zeek's corpus through the analyzer (no engine: a test-only
//! connection table and TCP reassembly) and compares ssl.log and x509.log with Zeek's baselines,
//! row by row (uids dropped: rows carry their 5-tuple; first timestamp masked as Zeek's canonifier does).

mod common;

use common::*;
use std::collections::BTreeMap;
use weir_api::analyzer::Settings;

struct Expect {
    test: String,
    file: String,
    ty: String,
    traces: Vec<String>,
    cut: bool,
    settings: Settings,
}

fn manifest() -> Vec<Expect> {
    let text = std::fs::read_to_string(corpus_dir().join("MANIFEST.tsv")).expect("MANIFEST.tsv");
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 8 {
            continue;
        }
        let (tier, test, scripts, expected, notes) = (cols[0], cols[1], cols[4], cols[5], cols[7]);
        if tier == "aux" || tier == "print" || tier == "throughput" {
            continue;
        }
        let mut settings = Settings::new();
        for part in notes.split(['|', ';']) {
            let p = part
                .trim()
                .trim_start_matches("redefs:")
                .trim()
                .trim_start_matches("cmdline-redefs:")
                .trim();
            let p = p.trim_start_matches("redef ").trim().trim_end_matches(';');
            if let Some((k, v)) = p.split_once('=') {
                let k = k.trim();
                if (k.starts_with("SSL::") || k.starts_with("X509::")) && !k.contains(' ') {
                    settings.insert(k, v.trim());
                }
            }
        }
        if scripts.contains("protocols/ssl/log-hostcerts-only") {
            settings.insert("X509::log_hostcerts_only", "T");
        }
        for spec in expected.split(" ; ") {
            let Some((file, rest)) = spec.split_once("<-[") else {
                continue;
            };
            let Some((traces, rest)) = rest.split_once(']') else {
                continue;
            };
            let ty = rest
                .split_whitespace()
                .find_map(|w| w.strip_prefix("type="))
                .unwrap_or("");
            if ty != "ssl" && ty != "x509" {
                continue;
            }
            let mut traces: Vec<String> = traces.split(',').map(str::to_string).collect();
            if test == "scripts.base.protocols.ssl.dtls-13" {
                // MANIFEST names only the second run; the exec lines `cp` the first run's log in too.
                traces.insert(0, "tls/dtls13-wolfssl.pcap".into());
            }
            out.push(Expect {
                test: test.to_string(),
                file: file.trim().to_string(),
                ty: ty.to_string(),
                traces,
                cut: rest.contains("cut="),
                settings: settings.clone(),
            });
        }
    }
    out
}

fn ssl_test(name: &str) -> bool {
    name.starts_with("scripts.base.protocols.ssl.")
        || name.starts_with("scripts.policy.protocols.ssl.")
        || name.starts_with("scripts.base.files.x509.")
}

/// Result of one expected file: (matched rows, expected rows, produced rows, detail).
fn compare(e: &Expect) -> Result<(usize, usize, usize, Vec<String>), String> {
    let path = corpus_dir().join("expected").join(&e.test).join(&e.file);
    let (fields, exp_rows) = read_log(&path).ok_or("no baseline")?;
    if e.cut {
        return Err("zeek-cut output (not compared)".into());
    }
    let cfg = weir_ssl::Config::from_settings(&e.settings).map_err(|x| x.to_string())?;
    let schema = if e.ty == "ssl" {
        weir_ssl::ssl_schema(&cfg)
    } else {
        weir_ssl::x509_schema()
    };
    let ours: Vec<&str> = schema.fields.iter().map(|f| f.name).collect();
    if ours != fields.iter().map(String::as_str).collect::<Vec<_>>() {
        return Err(format!("fields differ: baseline has {}", fields.len()));
    }
    let mut got = Vec::new();
    for t in &e.traces {
        let out = run_trace(&corpus_dir().join("traces").join(t), &e.settings);
        got.extend(if e.ty == "ssl" { out.ssl } else { out.x509 });
    }
    let norm = |rows: &[String]| -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for r in rows {
            let masked = mask_first_ts(r);
            let mut cols: Vec<&str> = masked.split('\t').collect();
            if e.ty == "ssl" && cols.len() > 1 {
                cols.remove(1); // uid
            }
            *m.entry(cols.join("\t")).or_insert(0) += 1;
        }
        m
    };
    let exp = norm(&exp_rows);
    let ours = norm(&got);
    let mut matched = 0;
    let mut detail = Vec::new();
    for (r, &n) in &exp {
        let m = ours.get(r).copied().unwrap_or(0);
        matched += m.min(n);
        if m < n {
            detail.push(format!("  - {r}"));
        }
    }
    for (r, &n) in &ours {
        if exp.get(r).copied().unwrap_or(0) < n {
            detail.push(format!("  + {r}"));
        }
    }
    Ok((matched, exp_rows.len(), got.len(), detail))
}

/// Tests that must match completely (guarded against regressions).
const MUST_PASS: &[&str] = &[];

#[test]
fn golden_ssl_x509() {
    if !corpus_dir().join("MANIFEST.tsv").exists() {
        eprintln!("corpus missing: skipped");
        return;
    }
    let verbose = std::env::var("SSL_GOLDEN_VERBOSE").is_ok();
    let mut full = 0;
    let mut total = 0;
    let mut failures = Vec::new();
    for e in manifest().iter().filter(|e| ssl_test(&e.test)) {
        total += 1;
        match compare(e) {
            Ok((m, n, g, detail)) => {
                let ok = m == n && g == n;
                if ok {
                    full += 1;
                }
                println!(
                    "{} {}/{}: {m}/{n} rows match ({g} produced)",
                    if ok { "PASS" } else { "FAIL" },
                    e.test,
                    e.file
                );
                if !ok {
                    if verbose {
                        for d in &detail {
                            println!("{d}");
                        }
                    }
                    if MUST_PASS.contains(&e.test.as_str()) {
                        failures.push(format!("{}/{}", e.test, e.file));
                    }
                }
            }
            Err(why) => println!("SKIP {}/{}: {why}", e.test, e.file),
        }
    }
    println!("{full}/{total} expected files match completely");
    assert!(failures.is_empty(), "regressions: {failures:?}");
}
