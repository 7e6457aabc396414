//! Replays the TLS/DTLS/x509 tests of Zeek's corpus through the analyzer (no engine: a test-only
//! connection table and TCP reassembly) and compares ssl.log and x509.log with Zeek's baselines,
//! row by row (uids dropped: rows carry their 5-tuple; first timestamp masked as Zeek's canonifier does).

mod common;

use common::*;
use std::collections::BTreeMap;
use weir_api::analyzer::Settings;

struct Expect {
    aux: bool,
    test: String,
    file: String,
    ty: String,
    traces: Vec<String>,
    /// zeek-cut columns (None: the whole log).
    cut: Option<Vec<String>>,
    cut_header: bool,
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
        if tier == "print" || tier == "throughput" {
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
        if notes.contains("X509::Certificate$tbs_sig_alg += { &log }") {
            settings.insert("X509::log_tbs_sig_alg", "T");
        }
        if scripts.contains("protocols/ssl/certificate-request-info") {
            settings.insert("SSL::log_requested_client_certificate_authorities", "T");
        }
        if scripts.contains("protocols/ssl/ssl-log-ext") {
            settings.insert("SSL::log_ext", "T");
        }
        if scripts.contains("protocols/ssl/log-certs-base64") {
            settings.insert("X509::log_cert_base64", "T");
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
            if ty != "ssl" && ty != "x509" && ty != "weird" {
                continue;
            }
            let cut_args: Option<Vec<String>> = rest.split_once("cut=\"").map(|(_, c)| {
                c.split('"')
                    .next()
                    .unwrap_or("")
                    .split_whitespace()
                    .skip(1)
                    .map(str::to_string)
                    .collect()
            });
            if ty == "weird" && cut_args.is_none() {
                continue;
            }
            let mut settings = settings.clone();
            if file.contains("-default") {
                settings = Settings::new(); // that run had no command-line settings
            }
            let mut traces: Vec<String> = traces.split(',').map(str::to_string).collect();
            if test == "scripts.base.protocols.ssl.dtls-13" {
                // MANIFEST names only the second run; the exec lines `cp` the first run's log in too.
                traces.insert(0, "tls/dtls13-wolfssl.pcap".into());
            }
            out.push(Expect {
                aux: tier == "aux",
                test: test.to_string(),
                file: file.trim().to_string(),
                ty: ty.to_string(),
                traces,
                cut_header: cut_args.as_ref().is_some_and(|c| c.iter().any(|a| a == "-m")),
                cut: cut_args.map(|c| c.into_iter().filter(|a| !a.starts_with('-')).collect()),
                settings,
            });
        }
    }
    out
}

fn ssl_test(name: &str) -> bool {
    name.starts_with("scripts.base.protocols.ssl.")
        || name.starts_with("scripts.policy.protocols.ssl.")
        || name.starts_with("scripts.base.files.x509.")
        || name.contains("-ssl-")
}

/// Result of one expected file: (matched rows, expected rows, produced rows, detail, extra baseline columns).
fn compare(e: &Expect) -> Result<(usize, usize, usize, Vec<String>, usize), String> {
    let path = corpus_dir().join("expected").join(&e.test).join(&e.file);
    let (fields, mut exp_rows) = read_log(&path).ok_or("no baseline")?;
    let cfg = weir_ssl::Config::from_settings(&e.settings).map_err(|x| x.to_string())?;
    let schema = match e.ty.as_str() {
        "ssl" => weir_ssl::ssl_schema(&cfg),
        "x509" => weir_ssl::x509_schema_for(&cfg),
        _ => weir_api::log::Schema::new(
            "weird",
            &["uid", "name", "addl", "source"].map(|n| weir_api::log::Field::new(n, weir_api::log::FieldType::String)),
        ),
    };
    let ours: Vec<&str> = schema.fields.iter().map(|f| f.name).collect();
    let mut extra_cols = 0;
    if e.cut.is_none() && ours != fields.iter().map(String::as_str).collect::<Vec<_>>() {
        // A policy script added columns we do not produce: compare the columns we share, if ours are a prefix.
        if fields.len() > ours.len() && fields[..ours.len()].iter().map(String::as_str).eq(ours.iter().copied()) {
            extra_cols = fields.len() - ours.len();
        } else {
            return Err(format!("fields differ: baseline has {}", fields.len()));
        }
    }
    if extra_cols > 0 {
        exp_rows = exp_rows
            .iter()
            .map(|r| {
                let v: Vec<&str> = r.split('\t').collect();
                v[..v.len().saturating_sub(extra_cols)].join("\t")
            })
            .collect();
    }
    let mut got = Vec::new();
    for t in &e.traces {
        let out = run_trace_opts(&corpus_dir().join("traces").join(t), &e.settings, e.aux);
        got.extend(match e.ty.as_str() {
            "ssl" => out.ssl,
            "x509" => out.x509,
            _ => out.weirds.iter().map(|w| format!("-\t{w}")).collect(),
        });
    }
    let mut e_uid_dropped = e.ty == "ssl";
    if let Some(cols) = &e.cut {
        // zeek-cut: keep the named columns; a uid column cannot match, drop it on both sides
        let idx: Vec<Option<usize>> = cols.iter().map(|c| ours.iter().position(|f| f == c)).collect();
        if idx.iter().any(Option::is_none) {
            return Err(format!("cut column not in schema: {cols:?}"));
        }
        let uid_pos = cols.iter().position(|c| c == "uid");
        let pick = |r: &str| -> String {
            let v: Vec<&str> = r.split('\t').collect();
            let mut out: Vec<&str> = idx.iter().map(|i| v.get(i.unwrap()).copied().unwrap_or("-")).collect();
            if let Some(u) = uid_pos {
                out.remove(u);
            }
            out.join("\t")
        };
        got = got.iter().map(|r| pick(r)).collect();
        if e.cut_header && !exp_rows.is_empty() {
            exp_rows.remove(0);
        }
        exp_rows = exp_rows
            .iter()
            .map(|r| {
                let mut v: Vec<&str> = r.split('\t').collect();
                if let Some(u) = uid_pos {
                    if u < v.len() {
                        v.remove(u);
                    }
                }
                v.join("\t")
            })
            .collect();
        e_uid_dropped = false;
    }
    let norm = |rows: &[String]| -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for r in rows {
            let masked = mask_first_ts(r);
            let mut cols: Vec<&str> = masked.split('\t').collect();
            if e_uid_dropped && cols.len() > 1 {
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
    Ok((matched, exp_rows.len(), got.len(), detail, extra_cols))
}

#[test]
fn golden_ssl_x509() {
    if !corpus_dir().join("MANIFEST.tsv").exists() {
        eprintln!("corpus missing: skipped");
        return;
    }
    let verbose = std::env::var("SSL_GOLDEN_VERBOSE").is_ok();
    let mut full = 0;
    let mut partial = 0;
    let mut aux_total = 0;
    let mut aux_ok = 0;
    let mut total = 0;
    let mut failures = Vec::new();
    for e in manifest().iter().filter(|e| ssl_test(&e.test) || e.aux) {
        total += 1;
        match compare(e) {
            Ok((m, n, g, detail, extra)) => {
                let ok = m == n && g == n;
                let what = if extra > 0 {
                    format!(" (shared columns only; {extra} policy columns not produced)")
                } else {
                    String::new()
                };
                if e.aux {
                    aux_total += 1;
                    aux_ok += usize::from(ok);
                    total -= 1;
                } else if ok && extra == 0 {
                    full += 1;
                } else if ok {
                    partial += 1;
                }
                println!(
                    "{} {}/{}: {m}/{n} rows match ({g} produced){what}",
                    match (ok, e.aux) {
                        (true, _) => "PASS",
                        (false, false) => "FAIL",
                        (false, true) => "AUX-FAIL",
                    },
                    e.test,
                    e.file
                );
                if !ok {
                    if verbose {
                        for d in &detail {
                            println!("{d}");
                        }
                    }
                    if !e.aux {
                        failures.push(format!("{}/{}", e.test, e.file));
                    }
                }
            }
            Err(why) => println!("SKIP {}/{}: {why}", e.test, e.file),
        }
    }
    println!("{full}/{total} expected files match completely, {partial} more on the columns we produce");
    println!("other-protocol (aux) baselines, which need STARTTLS/QUIC/RDP/... analyzers: {aux_ok}/{aux_total} match");
    // Every baseline we can compare must match: a FAIL is a regression.
    assert!(failures.is_empty(), "mismatching baselines: {failures:?}");
}
