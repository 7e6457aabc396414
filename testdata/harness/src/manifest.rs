//! MANIFEST.tsv of the Zeek corpus (see testdata/zeek/README.md for the columns).

use std::path::Path;

/// One baseline file named in the `expected_files` column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedFile {
    pub name: String,
    /// Log type (`conn`, `weird`, ...), `?` when the manifest gives none.
    pub log_type: String,
    /// The `zeek-cut` command that produced it, if any (`zeek-cut -m uid history`).
    pub cut: Option<String>,
    /// The canonifier text (`default(diff-remove-first-timestamp)`, `diff-remove-x509-names | diff-remove-timestamps`).
    pub canon: String,
}

#[derive(Debug, Clone)]
pub struct Test {
    pub tier: String,
    pub name: String,
    pub traces: Vec<String>,
    pub zeek_cmds: Vec<String>,
    /// `(default base scripts)` removed; the scripts the %INPUT or the command lines load.
    pub scripts_loaded: Vec<String>,
    pub expected: Vec<ExpectedFile>,
    pub services: String,
    pub notes: Vec<String>,
    pub exec_lines: Vec<String>,
}

impl Test {
    /// Script-level redefs recorded in the notes (`redefs: a | b`).
    pub fn script_redefs(&self) -> Vec<String> {
        let mut out = Vec::new();
        for n in &self.notes {
            if let Some(rest) = n.strip_prefix("redefs:") {
                for r in rest.split(" | ") {
                    let r = r.trim();
                    if !r.is_empty() {
                        out.push(r.to_string());
                    }
                }
            }
        }
        out
    }

    pub fn has_note(&self, needle: &str) -> bool {
        self.notes.iter().any(|n| n.contains(needle))
    }
}

fn split_list(s: &str, sep: &str) -> Vec<String> {
    s.split(sep)
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty() && x != "-")
        .collect()
}

pub fn parse_expected_files(col: &str) -> Vec<ExpectedFile> {
    let mut out = Vec::new();
    for item in col.split(" ; ") {
        let item = item.trim();
        if item.is_empty() || item == "-" {
            continue;
        }
        let (name, rest) = match item.find("<-[") {
            Some(i) => (&item[..i], &item[i..]),
            None => (item, ""),
        };
        let attrs = match rest.find("] ") {
            Some(i) => &rest[i + 2..],
            None => "",
        };
        let mut log_type = "?".to_string();
        let mut cut = None;
        let mut canon = "default(diff-remove-first-timestamp)".to_string();
        let mut a = attrs;
        while !a.is_empty() {
            a = a.trim_start();
            if let Some(r) = a.strip_prefix("type=") {
                let end = r.find(' ').unwrap_or(r.len());
                log_type = r[..end].to_string();
                a = &r[end..];
            } else if let Some(r) = a.strip_prefix("cut=\"") {
                let end = r.find('"').unwrap_or(r.len());
                cut = Some(r[..end].to_string());
                a = r.get(end + 1..).unwrap_or("");
            } else if let Some(r) = a.strip_prefix("canon=") {
                canon = r.trim().to_string();
                a = "";
            } else {
                // Unknown attribute: skip one word.
                let end = a.find(' ').unwrap_or(a.len());
                a = &a[end..];
            }
        }
        out.push(ExpectedFile {
            name: name.trim().to_string(),
            log_type,
            cut,
            canon,
        });
    }
    out
}

pub fn parse(text: &str) -> Result<Vec<Test>, String> {
    let mut lines = text.lines();
    let header = lines.next().ok_or("empty manifest")?;
    let cols: Vec<&str> = header.split('\t').collect();
    let idx = |n: &str| {
        cols.iter()
            .position(|c| *c == n)
            .ok_or_else(|| format!("manifest lacks column {n}"))
    };
    let (ti, ni, tr, zc, sl, ef, sv, no, ex) = (
        idx("tier")?,
        idx("test")?,
        idx("traces")?,
        idx("zeek_cmds")?,
        idx("scripts_loaded")?,
        idx("expected_files")?,
        idx("services_in_baseline")?,
        idx("notes")?,
        idx("btest_exec_lines")?,
    );
    let mut out = Vec::new();
    for (n, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let get = |i: usize| f.get(i).copied().unwrap_or("");
        if f.len() < cols.len() {
            return Err(format!("manifest line {}: {} columns", n + 2, f.len()));
        }
        let scripts = get(sl).replace("(default base scripts)", "").replace('+', " ");
        out.push(Test {
            tier: get(ti).to_string(),
            name: get(ni).to_string(),
            traces: split_list(get(tr), ","),
            zeek_cmds: split_list(get(zc), ";;"),
            scripts_loaded: scripts.split_whitespace().map(String::from).collect(),
            expected: parse_expected_files(get(ef)),
            services: get(sv).to_string(),
            notes: split_list(get(no), " ; "),
            exec_lines: split_list(get(ex), ";;"),
        });
    }
    Ok(out)
}

pub fn load(corpus: &Path) -> Result<Vec<Test>, String> {
    let p = corpus.join("MANIFEST.tsv");
    let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    parse(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_files_attributes() {
        let v = parse_expected_files(
            "conn.log.ctu<-[tcp/a.pcap] type=conn cut=\"zeek-cut -m ts uid history\" canon=default(diff-remove-first-timestamp) ; ssl.log<-[a.pcap,b.pcap] type=ssl canon=diff-remove-x509-names | diff-remove-timestamps",
        );
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].name, "conn.log.ctu");
        assert_eq!(v[0].log_type, "conn");
        assert_eq!(v[0].cut.as_deref(), Some("zeek-cut -m ts uid history"));
        assert_eq!(v[1].log_type, "ssl");
        assert_eq!(v[1].cut, None);
        assert_eq!(v[1].canon, "diff-remove-x509-names | diff-remove-timestamps");
    }

    #[test]
    fn real_manifest_parses() {
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../zeek");
        let tests = load(&corpus).unwrap();
        assert_eq!(tests.iter().filter(|t| t.tier == "core").count(), 57);
        let cs = tests.iter().find(|t| t.name == "core.checksums").unwrap();
        assert_eq!(cs.expected.len(), 2);
        assert!(cs.exec_lines.iter().any(|l| l == "btest-diff bad.out"));
    }
}
