//! The output side: one writer thread owns every log file; workers own [`LogHandle`]s.
//!
//! A handle formats each row straight into a per-stream buffer and ships the buffer to the writer
//! thread once it holds [`CHUNK_SIZE`] bytes (or on [`LogHandle::flush`], or when the handle is
//! dropped). A chunk only ever holds whole rows, so rows from different workers interleave but are
//! never torn. The channel is bounded: a writer that falls behind slows the workers down instead of
//! growing memory without limit.
//!
//! The writer thread opens `<dir>/<path>.log` when the stream's first chunk arrives (Zeek writes no
//! empty logs), writes the TSV header then, and `#close` at [`Logs::finish`]. Everything about files
//! lives in [`Output`], so rotation can be added there.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::SystemTime;

use weir_api::log::{Schema, Value};

use crate::format::{json_row, tsv_close, tsv_header, tsv_row};
use crate::zeek_timestamp;

/// A handle ships a stream's buffer once it holds this many bytes: large enough that the writer
/// thread makes few, large writes; small enough that a burst of streams stays cheap in memory.
pub const CHUNK_SIZE: usize = 64 * 1024;
/// Chunks in flight between the handles and the writer thread (16 MiB at most): back-pressure.
const CHANNEL_CHUNKS: usize = 256;
/// The writer thread's buffer per open file: small flushes from many handles become large writes.
const FILE_BUFFER: usize = 256 * 1024;

/// Zeek's two ascii-writer layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `LogAscii::use_json=T`: one JSON object per line, no header.
    Json,
    /// The default: tab-separated with `#` header lines.
    Tsv,
}

/// Where and how the logs are written.
#[derive(Clone, Debug)]
pub struct LogConfig {
    /// The directory the `<path>.log` files go to (created if missing).
    pub dir: PathBuf,
    pub format: Format,
    /// Stream paths (`"conn"`, `"weird"`) that are never written.
    pub disabled: Vec<String>,
}

impl LogConfig {
    pub fn new(dir: impl Into<PathBuf>, format: Format) -> LogConfig {
        LogConfig {
            dir: dir.into(),
            format,
            disabled: Vec::new(),
        }
    }
}

/// A log stream, looked up once with [`Logs::stream`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamId(u32);

/// What [`Logs::finish`] reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogStats {
    /// One entry per stream, in the order the schemas were given.
    pub streams: Vec<StreamStats>,
    /// Rows that reached no file: shipped after `finish`, or lost to a write error.
    pub lost_rows: u64,
}

impl LogStats {
    /// Rows written, all streams together.
    pub fn rows(&self) -> u64 {
        self.streams.iter().map(|s| s.rows).sum()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamStats {
    pub path: &'static str,
    /// Rows written to the file.
    pub rows: u64,
    /// Bytes written to the file, header and `#close` included.
    pub bytes: u64,
}

/// What the handles and the writer thread share (read-only, apart from the counter).
struct Shared {
    schemas: Vec<Schema>,
    enabled: Vec<bool>,
    format: Format,
    lost_rows: AtomicU64,
}

enum Msg {
    /// Whole formatted rows of one stream.
    Chunk { stream: u32, rows: u64, data: Vec<u8> },
    /// Close every file and stop.
    Finish,
    /// Close every open file and rename it as Zeek rotates logs; the next row opens a new file.
    Rotate,
}

/// The log output: owns the writer thread. Dropping it without [`Logs::finish`] still closes the files.
pub struct Logs {
    shared: Arc<Shared>,
    tx: Option<SyncSender<Msg>>,
    thread: Option<JoinHandle<io::Result<Vec<StreamStats>>>>,
}

impl Logs {
    /// Starts the writer thread for these streams. Nothing is created on disk but `cfg.dir`.
    pub fn start(cfg: LogConfig, schemas: Vec<Schema>) -> io::Result<Logs> {
        std::fs::create_dir_all(&cfg.dir)?;
        let enabled = schemas
            .iter()
            .map(|s| !cfg.disabled.iter().any(|d| d == s.path))
            .collect();
        let shared = Arc::new(Shared {
            schemas,
            enabled,
            format: cfg.format,
            lost_rows: AtomicU64::new(0),
        });
        let (tx, rx) = sync_channel(CHANNEL_CHUNKS);
        let output = Output::new(cfg.dir, Arc::clone(&shared));
        let thread = std::thread::Builder::new()
            .name("weir-logs".into())
            .spawn(move || output.run(rx))?;
        Ok(Logs {
            shared,
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// The id of the stream with this path. A disabled stream has an id too; writing to it does nothing.
    pub fn stream(&self, path: &str) -> Option<StreamId> {
        self.shared
            .schemas
            .iter()
            .position(|s| s.path == path)
            .map(|i| StreamId(i as u32))
    }

    /// The schema of a stream.
    pub fn schema(&self, stream: StreamId) -> &Schema {
        &self.shared.schemas[stream.0 as usize]
    }

    /// A new handle, for one worker thread.
    /// Rotates every open log (Zeek's interval and SIGHUP rotation): rows already shipped to the writer
    /// end up in the rotated files, later ones in new files.
    pub fn rotate(&self) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Msg::Rotate);
        }
    }

    pub fn handle(&self) -> LogHandle {
        let tx = self.tx.clone().expect("Logs used after finish");
        let bufs = (0..self.shared.schemas.len()).map(|_| Pending::default()).collect();
        LogHandle {
            shared: Arc::clone(&self.shared),
            tx,
            bufs,
        }
    }

    /// Writes what the handles have shipped, writes `#close` to every TSV file, closes the files and
    /// joins the writer thread. Handles should be flushed or dropped first: rows they ship later are
    /// counted in [`LogStats::lost_rows`] of nobody and do not reach a file.
    pub fn finish(mut self) -> io::Result<LogStats> {
        self.stop()
    }

    fn stop(&mut self) -> io::Result<LogStats> {
        if let Some(tx) = self.tx.take() {
            // The channel is FIFO: every chunk sent before this is written first.
            let _ = tx.send(Msg::Finish);
        }
        let Some(thread) = self.thread.take() else {
            return Ok(LogStats::default());
        };
        let streams = thread
            .join()
            .map_err(|_| io::Error::other("log writer thread panicked"))??;
        Ok(LogStats {
            streams,
            lost_rows: self.shared.lost_rows.load(Ordering::Relaxed),
        })
    }
}

impl Drop for Logs {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

#[derive(Default)]
struct Pending {
    data: Vec<u8>,
    rows: u64,
}

/// A worker's way to write rows. `Send`; one per thread, not shared. Dropping it ships what it holds.
pub struct LogHandle {
    shared: Arc<Shared>,
    tx: SyncSender<Msg>,
    bufs: Vec<Pending>,
}

impl LogHandle {
    /// Formats one row (in schema order; `None` = unset) into the stream's buffer, and ships the
    /// buffer when it is full. Does nothing for a disabled stream.
    pub fn write(&mut self, stream: StreamId, row: &[Option<Value<'_>>]) {
        let i = stream.0 as usize;
        if !self.shared.enabled[i] {
            return;
        }
        let schema = &self.shared.schemas[i];
        let buf = &mut self.bufs[i];
        if buf.data.capacity() == 0 {
            buf.data.reserve(CHUNK_SIZE + CHUNK_SIZE / 8);
        }
        match self.shared.format {
            Format::Json => json_row(&mut buf.data, schema, row),
            Format::Tsv => tsv_row(&mut buf.data, schema, row),
        }
        buf.rows += 1;
        if buf.data.len() >= CHUNK_SIZE {
            self.ship(i);
        }
    }

    /// Formats one row as [`LogHandle::write`] would, into `out` (appended), for writing later with
    /// [`LogHandle::write_formatted`] (possibly by another handle of the same [`Logs`]). Nothing for a
    /// disabled stream.
    pub fn format(&self, stream: StreamId, row: &[Option<Value<'_>>], out: &mut Vec<u8>) {
        let i = stream.0 as usize;
        if !self.shared.enabled[i] {
            return;
        }
        let schema = &self.shared.schemas[i];
        match self.shared.format {
            Format::Json => json_row(out, schema, row),
            Format::Tsv => tsv_row(out, schema, row),
        }
    }

    /// Writes one row formatted by [`LogHandle::format`].
    pub fn write_formatted(&mut self, stream: StreamId, line: &[u8]) {
        let i = stream.0 as usize;
        if !self.shared.enabled[i] || line.is_empty() {
            return;
        }
        let buf = &mut self.bufs[i];
        buf.data.extend_from_slice(line);
        buf.rows += 1;
        if buf.data.len() >= CHUNK_SIZE {
            self.ship(i);
        }
    }

    /// Ships every non-empty buffer to the writer thread.
    pub fn flush(&mut self) {
        for i in 0..self.bufs.len() {
            if self.bufs[i].rows > 0 {
                self.ship(i);
            }
        }
    }

    fn ship(&mut self, i: usize) {
        let buf = &mut self.bufs[i];
        let rows = std::mem::take(&mut buf.rows);
        let data = std::mem::replace(&mut buf.data, Vec::with_capacity(CHUNK_SIZE + CHUNK_SIZE / 8));
        if self
            .tx
            .send(Msg::Chunk {
                stream: i as u32,
                rows,
                data,
            })
            .is_err()
        {
            self.shared.lost_rows.fetch_add(rows, Ordering::Relaxed);
        }
    }
}

impl Drop for LogHandle {
    fn drop(&mut self) {
        self.flush();
    }
}

/// The writer thread's side: every open file, in one place.
struct Output {
    dir: PathBuf,
    shared: Arc<Shared>,
    files: Vec<Option<OpenFile>>,
    stats: Vec<StreamStats>,
    error: Option<io::Error>,
}

struct OpenFile {
    w: BufWriter<File>,
    dirty: bool,
    /// When the file was opened (its rotated name carries it).
    opened: SystemTime,
}

impl Output {
    fn new(dir: PathBuf, shared: Arc<Shared>) -> Output {
        let files = shared.schemas.iter().map(|_| None).collect();
        let stats = shared
            .schemas
            .iter()
            .map(|s| StreamStats {
                path: s.path,
                rows: 0,
                bytes: 0,
            })
            .collect();
        Output {
            dir,
            shared,
            files,
            stats,
            error: None,
        }
    }

    fn run(mut self, rx: Receiver<Msg>) -> io::Result<Vec<StreamStats>> {
        loop {
            let msg = match rx.try_recv() {
                Ok(msg) => msg,
                Err(TryRecvError::Empty) => {
                    // Idle: put what we hold on disk before waiting.
                    self.flush_dirty();
                    match rx.recv() {
                        Ok(msg) => msg,
                        Err(_) => break,
                    }
                }
                Err(TryRecvError::Disconnected) => break,
            };
            match msg {
                Msg::Chunk { stream, rows, data } => self.write(stream as usize, rows, &data),
                Msg::Finish => break,
                Msg::Rotate => self.rotate(),
            }
        }
        self.close_all();
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.stats),
        }
    }

    fn write(&mut self, i: usize, rows: u64, data: &[u8]) {
        if let Err(e) = self.try_write(i, data) {
            self.shared.lost_rows.fetch_add(rows, Ordering::Relaxed);
            self.error.get_or_insert(e);
            return;
        }
        self.stats[i].rows += rows;
        self.stats[i].bytes += data.len() as u64;
    }

    fn try_write(&mut self, i: usize, data: &[u8]) -> io::Result<()> {
        if self.files[i].is_none() {
            let schema = &self.shared.schemas[i];
            let path = log_path(&self.dir, schema.path);
            let mut w = BufWriter::with_capacity(FILE_BUFFER, File::create(&path)?);
            if self.shared.format == Format::Tsv {
                let mut header = Vec::new();
                tsv_header(&mut header, schema, &zeek_timestamp(SystemTime::now()));
                w.write_all(&header)?;
                self.stats[i].bytes += header.len() as u64;
            }
            self.files[i] = Some(OpenFile {
                w,
                dirty: true,
                opened: SystemTime::now(),
            });
        }
        let f = self.files[i].as_mut().expect("opened above");
        f.dirty = true;
        f.w.write_all(data)
    }

    fn flush_dirty(&mut self) {
        for f in self.files.iter_mut().flatten().filter(|f| f.dirty) {
            f.dirty = false;
            if let Err(e) = f.w.flush() {
                self.error.get_or_insert(e);
            }
        }
    }

    /// Zeek's log rotation: each open file is finished (`#close`) and renamed
    /// `<path>.<open time as %Y-%m-%d-%H-%M-%S>.log` (the ascii writer's default rotation format, local
    /// time); the stream's next row starts a new file with fresh headers.
    fn rotate(&mut self) {
        let opened: Vec<(usize, SystemTime)> = self
            .files
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.as_ref().map(|f| (i, f.opened)))
            .collect();
        self.close_all();
        for (i, open) in opened {
            let path = self.shared.schemas[i].path;
            let from = log_path(&self.dir, path);
            let to = self.dir.join(format!("{path}.{}.log", zeek_timestamp(open)));
            if let Err(e) = std::fs::rename(&from, &to) {
                self.error.get_or_insert(e);
            }
        }
    }

    fn close_all(&mut self) {
        let close = zeek_timestamp(SystemTime::now());
        for (i, slot) in self.files.iter_mut().enumerate() {
            let Some(mut f) = slot.take() else { continue };
            let mut res = Ok(());
            if self.shared.format == Format::Tsv {
                let mut trailer = Vec::new();
                tsv_close(&mut trailer, &close);
                res = f.w.write_all(&trailer);
                self.stats[i].bytes += trailer.len() as u64;
            }
            let res = res.and_then(|_| f.w.flush());
            if let Err(e) = res {
                self.error.get_or_insert(e);
            }
        }
    }
}

fn log_path(dir: &Path, path: &str) -> PathBuf {
    dir.join(format!("{path}.log"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_api::log::{Field, FieldType};

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> TempDir {
            static N: AtomicU64 = AtomicU64::new(0);
            let n = N.fetch_add(1, Ordering::Relaxed);
            let p = std::env::temp_dir().join(format!("weir-logs-{tag}-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn rotation_renames_and_reopens() {
        let d = TempDir::new("rotate");
        let logs = Logs::start(LogConfig::new(&d.0, Format::Tsv), schemas()).unwrap();
        let id = logs.stream(schemas()[0].path).unwrap();
        let n = schemas()[0].fields.len();
        let row: Vec<Option<weir_api::log::Value<'_>>> = vec![None; n];
        let mut h = logs.handle();
        h.write(id, &row);
        h.flush();
        logs.rotate();
        h.write(id, &row);
        h.flush();
        drop(h);
        logs.finish().unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&d.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let path = schemas()[0].path;
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.iter().any(|n| n == &format!("{path}.log")), "{names:?}");
        let rotated = names.iter().find(|n| n.as_str() != format!("{path}.log")).unwrap();
        assert!(
            rotated.starts_with(&format!("{path}.")) && rotated.ends_with(".log") && rotated.len() == path.len() + 24
        );
        for n in &names {
            let text = std::fs::read_to_string(d.0.join(n)).unwrap();
            assert!(
                text.starts_with("#separator") && text.contains("#close"),
                "{n}: headers and trailer"
            );
            assert_eq!(
                text.lines().filter(|l| !l.starts_with('#')).count(),
                1,
                "{n}: one row each"
            );
        }
    }

    fn schemas() -> Vec<Schema> {
        vec![
            Schema::new(
                "conn",
                &[
                    Field::new("ts", FieldType::Time),
                    Field::new("uid", FieldType::String),
                    Field::new("n", FieldType::Count),
                    Field::new("worker", FieldType::Count),
                ],
            ),
            Schema::new(
                "dns",
                &[
                    Field::new("ts", FieldType::Time),
                    Field::new("query", FieldType::String),
                ],
            ),
            Schema::new("empty", &[Field::new("ts", FieldType::Time)]),
            Schema::new("off", &[Field::new("ts", FieldType::Time)]),
        ]
    }

    const PER_WORKER: u64 = 20_000;

    /// Two workers on two threads write interleaved rows; everything arrives, whole, in order per worker.
    fn two_workers(format: Format) -> (TempDir, LogStats) {
        let dir = TempDir::new(if format == Format::Tsv { "tsv" } else { "json" });
        let mut cfg = LogConfig::new(dir.0.join("logs"), format);
        cfg.disabled.push("off".into());
        let logs = Logs::start(cfg, schemas()).unwrap();
        let conn = logs.stream("conn").unwrap();
        let dns = logs.stream("dns").unwrap();
        let off = logs.stream("off").unwrap();
        assert!(logs.stream("nope").is_none());
        let threads: Vec<_> = (0..2u64)
            .map(|w| {
                let mut h = logs.handle();
                std::thread::spawn(move || {
                    for n in 0..PER_WORKER {
                        let uid = format!("C{w}x{n}");
                        h.write(
                            conn,
                            &[
                                Some(Value::Time(1000.0 + n as f64)),
                                Some(Value::str(&uid)),
                                Some(Value::Count(n)),
                                Some(Value::Count(w)),
                            ],
                        );
                        if n % 1000 == 0 {
                            h.write(dns, &[Some(Value::Time(5.0)), Some(Value::str("a\tb"))]);
                            h.write(off, &[Some(Value::Time(5.0))]);
                        }
                        if n % 7777 == 0 {
                            h.flush();
                        }
                    }
                    // dropped here: the rest is shipped
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let stats = logs.finish().unwrap();
        (dir, stats)
    }

    fn check_counts(stats: &LogStats) {
        assert_eq!(stats.lost_rows, 0);
        assert_eq!(stats.streams[0].rows, 2 * PER_WORKER);
        assert_eq!(stats.streams[1].rows, 2 * PER_WORKER / 1000);
        assert_eq!(stats.streams[2].rows, 0);
        assert_eq!(stats.streams[3].rows, 0);
    }

    fn check_no_empty_or_disabled(dir: &Path) {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["conn.log", "dns.log"]);
    }

    #[test]
    fn tsv_two_threads() {
        let (dir, stats) = two_workers(Format::Tsv);
        check_counts(&stats);
        let logs = dir.0.join("logs");
        check_no_empty_or_disabled(&logs);
        let text = std::fs::read_to_string(logs.join("conn.log")).unwrap();
        assert_eq!(stats.streams[0].bytes, text.len() as u64);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "#separator \\x09");
        assert_eq!(lines[4], "#path\tconn");
        assert!(lines[5].starts_with("#open\t") && lines[5].len() == 6 + 19);
        assert_eq!(lines[6], "#fields\tts\tuid\tn\tworker");
        assert_eq!(lines[7], "#types\ttime\tstring\tcount\tcount");
        assert!(lines.last().unwrap().starts_with("#close\t"));
        let rows = &lines[8..lines.len() - 1];
        assert_eq!(rows.len() as u64, 2 * PER_WORKER);
        let mut next = [0u64; 2];
        for row in rows {
            let cols: Vec<&str> = row.split('\t').collect();
            assert_eq!(cols.len(), 4, "torn row {row:?}");
            let (n, w): (u64, usize) = (cols[2].parse().unwrap(), cols[3].parse().unwrap());
            assert_eq!(n, next[w], "rows of one worker stay in order");
            assert_eq!(cols[1], format!("C{w}x{n}"));
            assert_eq!(cols[0], format!("{}.000000", 1000 + n));
            next[w] += 1;
        }
        let dns = std::fs::read_to_string(logs.join("dns.log")).unwrap();
        assert!(dns.contains("\n5.000000\ta\\x09b\n"));
    }

    #[test]
    fn json_two_threads() {
        let (dir, stats) = two_workers(Format::Json);
        check_counts(&stats);
        let logs = dir.0.join("logs");
        check_no_empty_or_disabled(&logs);
        let text = std::fs::read_to_string(logs.join("conn.log")).unwrap();
        let mut next = [0u64; 2];
        let mut count = 0;
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let (n, w) = (v["n"].as_u64().unwrap(), v["worker"].as_u64().unwrap() as usize);
            assert_eq!(n, next[w]);
            assert_eq!(v["ts"].as_f64().unwrap(), 1000.0 + n as f64);
            next[w] += 1;
            count += 1;
        }
        assert_eq!(count, 2 * PER_WORKER);
        let dns = std::fs::read_to_string(logs.join("dns.log")).unwrap();
        assert_eq!(dns.lines().next().unwrap(), r#"{"ts":5.0,"query":"a\tb"}"#);
    }

    #[test]
    fn handle_is_send() {
        fn send<T: Send>() {}
        send::<LogHandle>();
        send::<Logs>();
    }

    #[test]
    fn no_rows_no_files() {
        let dir = TempDir::new("none");
        let logs = Logs::start(LogConfig::new(&dir.0, Format::Tsv), schemas()).unwrap();
        let mut h = logs.handle();
        h.flush();
        drop(h);
        let stats = logs.finish().unwrap();
        assert_eq!(stats.rows(), 0);
        assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 0);
    }

    #[test]
    fn rows_after_finish_are_counted_lost() {
        let dir = TempDir::new("late");
        let logs = Logs::start(LogConfig::new(&dir.0, Format::Json), schemas()).unwrap();
        let shared = Arc::clone(&logs.shared);
        let dns = logs.stream("dns").unwrap();
        let mut h = logs.handle();
        h.write(dns, &[Some(Value::Time(1.0)), None]);
        h.flush();
        logs.finish().unwrap();
        h.write(dns, &[Some(Value::Time(2.0)), None]);
        drop(h);
        assert_eq!(shared.lost_rows.load(Ordering::Relaxed), 1);
        assert_eq!(
            std::fs::read_to_string(dir.0.join("dns.log")).unwrap(),
            "{\"ts\":1.0}\n"
        );
    }
}
