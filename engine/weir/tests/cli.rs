//! The `weir` command end to end: inputs (files, stdin, damaged files), filters, formats, workers,
//! signals. Traces come from Zeek's test corpus in testdata/zeek.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn weir() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weir"))
}

fn trace(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/zeek/traces")
        .join(p)
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("weir-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Data rows of a TSV log, sorted, with the uid column dropped (uids are compared elsewhere).
fn rows(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut v: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let mut f: Vec<&str> = l.split('\t').collect();
            if f.len() > 1 {
                f.remove(1);
            }
            f.join("\t")
        })
        .collect();
    v.sort();
    v
}

fn run_tsv(args: &[&str], dir: &Path) -> std::process::Output {
    weir()
        .args(args)
        .args(["--format", "tsv", "-q", "--logdir"])
        .arg(dir)
        .output()
        .unwrap()
}

#[test]
fn stdin_gives_the_same_logs_as_the_file() {
    let t = trace("wikipedia.pcap");
    let a = tempdir("file");
    let out = run_tsv(&["-r", t.to_str().unwrap()], &a);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let b = tempdir("stdin");
    let mut child = weir()
        .args(["-r", "-", "--format", "tsv", "-q", "--logdir"])
        .arg(&b)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&t).unwrap())
        .unwrap();
    assert!(child.wait().unwrap().success());
    let ra = rows(&a.join("conn.log"));
    assert_eq!(ra.len(), 34);
    assert_eq!(ra, rows(&b.join("conn.log")));
}

#[test]
fn truncated_file_keeps_every_packet_before_the_damage() {
    let t = trace("wikipedia.pcap");
    let bytes = std::fs::read(&t).unwrap();
    let dir = tempdir("trunc");
    let cut = dir.join("cut.pcap");
    // Cut in the middle of a record.
    let n = bytes.len() * 2 / 3 + 7;
    std::fs::write(&cut, &bytes[..n]).unwrap();
    let out = run_tsv(&["-r", cut.to_str().unwrap()], &dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a damaged input is an error: {err}");
    assert!(err.contains("cut.pcap"), "the message names the file: {err}");
    assert!(err.contains("offset"), "the message gives the offset: {err}");
    let got = rows(&dir.join("conn.log"));
    assert!(
        got.len() >= 10,
        "connections before the damage are logged ({})",
        got.len()
    );
}

#[test]
fn not_a_pcap_is_a_clear_error() {
    let dir = tempdir("garbage");
    let f = dir.join("notes.txt");
    std::fs::write(&f, b"this is not a capture file at all\n").unwrap();
    let out = run_tsv(&["-r", f.to_str().unwrap()], &dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("notes.txt") && err.contains("pcap"), "{err}");
    assert!(!dir.join("conn.log").exists(), "no empty log files");
    let out = run_tsv(&["-r", dir.join("missing.pcap").to_str().unwrap()], &dir);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempdir("usage");
    assert_eq!(run_tsv(&[], &dir).status.code(), Some(2));
    assert_eq!(run_tsv(&["-r", "x", "--bogus"], &dir).status.code(), Some(2));
    assert_eq!(
        run_tsv(&["-r", "x", "--set", "no_such_setting=1"], &dir).status.code(),
        Some(2)
    );
    assert_eq!(
        run_tsv(&["-r", "x", "--analyzers", "nonsense"], &dir).status.code(),
        Some(2)
    );
    let help = weir().arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for section in ["NAME", "SYNOPSIS", "OPTIONS", "EXIT STATUS", "--workers", "--set"] {
        assert!(text.contains(section), "help lacks {section}");
    }
    let v = weir().arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("weir "));
}

fn have_libpcap() -> bool {
    Command::new("sh")
        .args(["-c", "ldconfig -p | grep -q 'libpcap\\.so'"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[test]
fn filter_selects_packets_and_bad_filters_fail_early() {
    assert!(
        have_libpcap(),
        "libpcap is needed at run time for -f; run scripts/install-test-deps"
    );
    let t = trace("wikipedia.pcap");
    let dir = tempdir("filter");
    let out = run_tsv(&["-r", t.to_str().unwrap(), "-f", "tcp port 50000"], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got = rows(&dir.join("conn.log"));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("\t50000\t"));

    let dir = tempdir("badfilter");
    let out = run_tsv(&["-r", t.to_str().unwrap(), "-f", "tcp port nonsense and"], &dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.to_lowercase().contains("filter"), "{err}");
    assert!(!dir.join("conn.log").exists(), "nothing is read after a bad filter");
}

#[test]
fn json_and_tsv_carry_the_same_rows() {
    let t = trace("wikipedia.pcap");
    let tsv = tempdir("fmt-tsv");
    assert!(run_tsv(&["-r", t.to_str().unwrap()], &tsv).status.success());
    let json = tempdir("fmt-json");
    let out = weir()
        .args(["-r", t.to_str().unwrap(), "-q", "--logdir"])
        .arg(&json)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = std::fs::read_to_string(tsv.join("conn.log")).unwrap();
    let fields: Vec<&str> = text
        .lines()
        .find(|l| l.starts_with("#fields"))
        .unwrap()
        .split('\t')
        .skip(1)
        .collect();
    let mut from_tsv: Vec<String> = text.lines().filter(|l| !l.starts_with('#')).map(String::from).collect();
    let mut from_json = Vec::new();
    for line in std::fs::read_to_string(json.join("conn.log")).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("each line is a JSON object");
        let obj = v.as_object().unwrap();
        for k in obj.keys() {
            assert!(fields.contains(&k.as_str()), "unexpected key {k}");
        }
        let cols: Vec<String> = fields
            .iter()
            .map(|f| match obj.get(*f) {
                None => "-".to_string(),
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Bool(b)) => (if *b { "T" } else { "F" }).to_string(),
                Some(serde_json::Value::Number(n)) if matches!(*f, "ts" | "duration") => {
                    format!("{:.6}", n.as_f64().unwrap())
                }
                Some(other) => other.to_string(),
            })
            .collect();
        from_json.push(cols.join("\t"));
    }
    from_tsv.sort();
    from_json.sort();
    assert_eq!(from_tsv, from_json);
}

#[test]
fn workers_do_not_change_the_logs() {
    let t = trace("wikipedia.pcap");
    let mut seen = None;
    // Workers on threads of their own get packets of a mapped file in place, copies otherwise.
    for (n, copies) in [
        ("1", false),
        ("2", false),
        ("3", false),
        ("4", false),
        ("1", true),
        ("3", true),
    ] {
        let dir = tempdir(&format!("w{n}-{copies}"));
        // uids included: they must not depend on the number of workers either.
        let out = weir()
            .args([
                "-r",
                t.to_str().unwrap(),
                "--format",
                "tsv",
                "-q",
                "--workers",
                n,
                "--logdir",
            ])
            .arg(&dir)
            .args(copies.then_some("--no-mmap"))
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = std::fs::read_to_string(dir.join("conn.log")).unwrap();
        let mut rows: Vec<String> = text.lines().filter(|l| !l.starts_with('#')).map(String::from).collect();
        rows.sort();
        match &seen {
            None => seen = Some(rows),
            Some(prev) => assert_eq!(prev, &rows, "--workers {n} (--no-mmap: {copies}) differs"),
        }
    }
}

#[test]
fn several_inputs_are_merged_by_time() {
    let a = trace("wikipedia.pcap");
    let dir = tempdir("merge");
    // The same trace twice: every packet seen twice, in time order, within the same connections.
    let out = run_tsv(&["-r", a.to_str().unwrap(), "-r", a.to_str().unwrap()], &dir);
    assert!(out.status.success());
    let single = tempdir("merge-single");
    assert!(run_tsv(&["-r", a.to_str().unwrap()], &single).status.success());
    assert_eq!(rows(&dir.join("conn.log")).len(), rows(&single.join("conn.log")).len());
}

#[test]
fn sigint_finishes_the_logs() {
    let t = trace("wikipedia.pcap");
    let bytes = std::fs::read(&t).unwrap();
    let dir = tempdir("sigint");
    let mut child = weir()
        .args(["-r", "-", "--format", "tsv", "-q", "--logdir"])
        .arg(&dir)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Send the whole trace but keep the pipe open: weir waits for more, as behind tcpdump.
    stdin.write_all(&bytes).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    drop(stdin);
    assert!(status.success(), "{status:?}");
    let text = std::fs::read_to_string(dir.join("conn.log")).unwrap();
    assert!(text.contains("#close"), "the log was finished");
    assert_eq!(
        rows(&dir.join("conn.log")).len(),
        34,
        "every open connection was flushed"
    );
}
