//! The engine's side of the analyzer API, with a toy analyzer: attachment by port, stream delivery
//! in order, confirmation into conn.log's `service`, violations detaching, analyzer log rows, `done`.

use std::path::{Path, PathBuf};
use weir_api::log::{Field, FieldType, Schema, Value};
use weir_api::{Analyzer, AnalyzerInfo, Context, Probe, Settings, Transport};
use weir_engine::config::{AnalyzerSet, EngineConfig};
use weir_engine::{run_offline, RunConfig};
use weir_logs::{Format, LogConfig};

/// Confirms on an HTTP request line, logs the first line of each direction, violates on anything else.
#[derive(Default)]
struct FirstLine {
    seen: [bool; 2],
    bytes: [u64; 2],
}

impl Analyzer for FirstLine {
    fn name(&self) -> &'static str {
        "firstline"
    }
    fn deliver_stream(&mut self, cx: &mut dyn Context, is_orig: bool, data: &[u8]) {
        let d = if is_orig { 0 } else { 1 };
        self.bytes[d] += data.len() as u64;
        if self.seen[d] {
            return;
        }
        self.seen[d] = true;
        let line = data.split(|&b| b == b'\r').next().unwrap_or(data);
        if is_orig && !(line.starts_with(b"GET ") || line.starts_with(b"POST ")) {
            cx.violation("not a request line");
            return;
        }
        if is_orig {
            cx.confirm();
            // The first connection with each request line, run-wide (as one process decides).
            let at = cx.network_time();
            cx.log_once("firstline_once", line, at, 1e9, 1000, &[Some(Value::Str(line))]);
        }
        let uid = cx.conn().uid.to_string();
        cx.log(
            "firstline",
            &[
                Some(Value::str(&uid)),
                Some(Value::Bool(is_orig)),
                Some(Value::Str(line)),
            ],
        );
    }
    fn done(&mut self, cx: &mut dyn Context) {
        let uid = cx.conn().uid.to_string();
        let total = format!("total {} {}", self.bytes[0], self.bytes[1]);
        cx.log("firstline", &[Some(Value::str(&uid)), None, Some(Value::str(&total))]);
    }
}

fn schema(_s: &Settings) -> Vec<Schema> {
    vec![
        Schema::new(
            "firstline",
            &[
                Field::new("uid", FieldType::String),
                Field::new("is_orig", FieldType::Bool),
                Field::new("line", FieldType::String),
            ],
        ),
        Schema::new("firstline_once", &[Field::new("line", FieldType::String)]),
    ]
}

static FIRSTLINE: AnalyzerInfo = AnalyzerInfo {
    name: "http",
    transports: &[Transport::Tcp],
    ports: &[(Transport::Tcp, 80)],
    probe: Some(|_t, is_orig, data| {
        if !is_orig {
            Probe::Unsure
        } else if data.starts_with(b"GET ") {
            Probe::Yes
        } else {
            Probe::No
        }
    }),
    logs: schema,
    settings: &["FirstLine::enabled"],
    new: |_s: &Settings| Box::new(FirstLine::default()),
    worker_state: None,
};

fn trace(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/zeek/traces")
        .join(p)
        .to_string_lossy()
        .into_owned()
}

fn run(t: &str, workers: usize) -> (PathBuf, String, String, String) {
    let dir = std::env::temp_dir().join(format!("weir-plumbing-{}-{workers}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut engine = EngineConfig::with_analyzers(&AnalyzerSet::All, &[&FIRSTLINE]);
    engine
        .set("FirstLine::enabled=T")
        .expect("an analyzer's setting is accepted");
    let mut rc = RunConfig::new(vec![trace(t)], LogConfig::new(&dir, Format::Tsv), engine);
    rc.workers = workers;
    run_offline(rc).unwrap();
    let conn = std::fs::read_to_string(dir.join("conn.log")).unwrap();
    let fl = std::fs::read_to_string(dir.join("firstline.log")).unwrap_or_default();
    let once = std::fs::read_to_string(dir.join("firstline_once.log")).unwrap_or_default();
    (dir, conn, fl, once)
}

#[test]
fn toy_analyzer_sets_service_and_logs() {
    let mut once_rows: Vec<Vec<String>> = Vec::new();
    for workers in [1, 2, 4] {
        let (_dir, conn, fl, once) = run("wikipedia.pcap", workers);
        let mut rows: Vec<String> = once.lines().filter(|l| !l.starts_with('#')).map(String::from).collect();
        rows.sort();
        once_rows.push(rows);
        let http_rows: Vec<&str> = conn.lines().filter(|l| l.contains("\t80\ttcp\t")).collect();
        assert!(!http_rows.is_empty());
        // Every port-80 connection with a request confirmed: service is the analyzer's name.
        let confirmed = http_rows.iter().filter(|l| l.contains("\ttcp\thttp\t")).count();
        assert!(confirmed >= 5, "{confirmed} of {}", http_rows.len());
        // The analyzer's log: a first line per direction, and a `done` row per connection.
        assert!(fl.contains("\tT\tGET /"), "{fl}");
        assert_eq!(
            fl.matches("total ").count(),
            http_rows.len(),
            "done() runs once per connection"
        );
        // uids in the analyzer's log are the connections' uids.
        let uid = http_rows[0].split('\t').nth(1).unwrap();
        assert!(fl.contains(uid));
        // Non-port-80 connections get no service.
        assert!(conn
            .lines()
            .filter(|l| !l.starts_with('#') && !l.contains("\t80\ttcp\t"))
            .all(|l| !l.contains("\thttp\t")));
        // log_once: one row per distinct request line, however many connections sent it.
        let mut lines: Vec<&str> = fl
            .lines()
            .filter(|l| l.contains("\tT\t"))
            .map(|l| l.rsplit('\t').next().unwrap())
            .collect();
        lines.sort();
        lines.dedup();
        let rows = once_rows.last().unwrap();
        assert_eq!(rows.len(), lines.len(), "{rows:?}");
        assert!(
            rows.len() < http_rows.len(),
            "some request lines repeat across connections"
        );
    }
    // The same rows whatever the number of workers.
    assert_eq!(once_rows[0], once_rows[1]);
    assert_eq!(once_rows[0], once_rows[2]);
}

#[test]
fn unknown_settings_are_refused() {
    let mut engine = EngineConfig::with_analyzers(&AnalyzerSet::All, &[&FIRSTLINE]);
    assert!(engine.set("Nope::x=1").is_err());
    let mut none = EngineConfig::with_analyzers(&AnalyzerSet::Only(vec![]), &[&FIRSTLINE]);
    assert!(
        none.set("FirstLine::enabled=T").is_err(),
        "a deselected analyzer's settings are unknown"
    );
}

#[test]
fn analyzer_settings_keep_additions_apart() {
    let mut engine = EngineConfig::with_analyzers(&AnalyzerSet::All, &[&FIRSTLINE]);
    engine.set("FirstLine::enabled+=a.pem").unwrap();
    engine.set("FirstLine::enabled += b.pem").unwrap();
    let s = &engine.registry.settings;
    assert_eq!(s.get("FirstLine::enabled"), None, "`+=` is not `=`");
    assert_eq!(s.added("FirstLine::enabled"), ["a.pem", "b.pem"]);
    engine.set("FirstLine::enabled=c.pem").unwrap();
    assert_eq!(engine.registry.settings.get("FirstLine::enabled"), Some("c.pem"));
}
