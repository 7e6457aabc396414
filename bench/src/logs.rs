//! A one-line summary of a weir log directory (JSON logs), for the output column of the benchmark
//! table: how many rows each log has, conn.log's services and weird.log's most frequent names, so a
//! run that logged the wrong things is visible next to its timings.

use std::fs;
use std::path::Path;

/// The logs summarised after conn.log, in this order, when present.
const ANALYZER_LOGS: [&str; 4] = ["dns.log", "ssl.log", "x509.log", "tunnel.log"];

/// How many of the most frequent values are shown.
const TOP: usize = 3;

/// "conn.log N (service a=N b=N), dns.log N, ..., weird.log N (name=N ...)" for a log directory.
pub fn summary(dir: &Path) -> String {
    let rows = |name: &str| -> Option<Vec<String>> {
        let text = fs::read_to_string(dir.join(name)).ok()?;
        Some(
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .map(str::to_string)
                .collect(),
        )
    };
    let conn = rows("conn.log").unwrap_or_default();
    let mut out = format!("conn.log {}", conn.len());
    let services = top(&conn, "service");
    if !services.is_empty() {
        out.push_str(&format!(" (service {services})"));
    }
    for log in ANALYZER_LOGS {
        if let Some(r) = rows(log) {
            out.push_str(&format!(", {log} {}", r.len()));
        }
    }
    match rows("weird.log") {
        Some(w) => out.push_str(&format!(", weird.log {} ({})", w.len(), top(&w, "name"))),
        None => out.push_str(", no weird.log"),
    }
    out
}

/// The `TOP` most frequent values of a string field over JSON rows, as "value=count ...".
fn top(rows: &[String], field: &str) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for v in rows.iter().filter_map(|r| string_field(r, field)) {
        match counts.iter_mut().find(|(k, _)| *k == v) {
            Some((_, c)) => *c += 1,
            None => counts.push((v, 1)),
        }
    }
    // Stable sort: equal counts keep the order of first appearance.
    counts.sort_by_key(|&(_, c)| std::cmp::Reverse(c));
    let shown: Vec<String> = counts.iter().take(TOP).map(|(v, c)| format!("{v}={c}")).collect();
    shown.join(" ")
}

/// The value of `"field":"value"` in a JSON row (weir writes no escaped quotes in the fields read here).
fn string_field<'a>(row: &'a str, field: &str) -> Option<&'a str> {
    let key = format!("\"{field}\":\"");
    let rest = &row[row.find(&key)? + key.len()..];
    Some(&rest[..rest.find('"')?])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[(&str, &str)]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("weir-bench-logs-{}-{}", std::process::id(), files.len()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            fs::write(dir.join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn counts_rows_services_and_weird_names() {
        let dir = dir_with(&[
            (
                "conn.log",
                "{\"uid\":\"C1\",\"service\":\"dns\"}\n{\"uid\":\"C2\",\"service\":\"ssl\"}\n\
                 {\"uid\":\"C3\",\"service\":\"dns\"}\n{\"uid\":\"C4\"}\n",
            ),
            ("dns.log", "{}\n{}\n"),
            ("x509.log", "{}\n"),
            ("weird.log", "{\"name\":\"bad_ICMP_checksum\"}\n"),
        ]);
        assert_eq!(
            summary(&dir),
            "conn.log 4 (service dns=2 ssl=1), dns.log 2, x509.log 1, weird.log 1 (bad_ICMP_checksum=1)"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tsv_header_lines_are_not_rows_and_missing_logs_are_said() {
        let dir = dir_with(&[("conn.log", "#separator \\x09\n#fields\tts\n1.0\n")]);
        assert_eq!(summary(&dir), "conn.log 1, no weird.log");
        fs::remove_dir_all(&dir).unwrap();
    }
}
