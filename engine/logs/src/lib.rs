//! # weir-logs: Zeek-compatible log writers
//!
//! Three parts:
//!
//! * [`format`](mod@format): pure functions that append one row (or a TSV header) to a `Vec<u8>`, byte for byte
//!   as Zeek's ascii writer does, in TSV ([`format::tsv_row`]) or JSON ([`format::json_row`]).
//! * [`Logs`] / [`LogHandle`]: the output side. One writer thread owns the files; each worker thread
//!   owns a [`LogHandle`], formats rows into per-stream buffers and ships whole-row chunks to it.
//! * [`weird`]: the weird.log schema and [`WeirdPolicy`], which decides which weirds get a row the way
//!   Zeek's Reporter sampling and `base/frameworks/notice/weird.zeek` do together.
//!
//! ```
//! use weir_api::log::{Field, FieldType, Schema, Value};
//! use weir_logs::{Format, LogConfig, Logs};
//!
//! let dir = std::env::temp_dir().join(format!("weir-logs-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let schema = Schema::new("demo", &[Field::new("ts", FieldType::Time), Field::new("msg", FieldType::String)]);
//! let logs = Logs::start(LogConfig::new(&dir, Format::Tsv), vec![schema]).unwrap();
//! let demo = logs.stream("demo").unwrap();
//! let mut handle = logs.handle(); // one per worker thread
//! handle.write(demo, &[Some(Value::Time(1.5)), Some(Value::str("hello"))]);
//! drop(handle); // a dropped handle ships what it holds
//! let stats = logs.finish().unwrap();
//! assert_eq!(stats.rows(), 1);
//! let text = std::fs::read_to_string(dir.join("demo.log")).unwrap();
//! assert!(text.contains("\n1.500000\thello\n#close\t"));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

pub mod format;
pub mod weird;
mod writer;

pub use weird::{WeirdAction, WeirdConfig, WeirdEvent, WeirdName, WeirdPolicy, WeirdRow, WeirdScope};
pub use writer::{Format, LogConfig, LogHandle, LogStats, Logs, StreamId, StreamStats, CHUNK_SIZE};

/// Wall-clock time as Zeek writes `#open`/`#close` (`Ascii::Timestamp`: `localtime_r`, then
/// `strftime("%Y-%m-%d-%H-%M-%S")`), so it follows the `TZ` of the process as Zeek's does.
pub fn zeek_timestamp(t: std::time::SystemTime) -> String {
    let secs = match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as libc::time_t,
        Err(e) => -(e.duration().as_secs() as libc::time_t),
    };
    // SAFETY: localtime_r and strftime only write into the buffers we pass, sized as given.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            return String::from("0000-00-00-00-00-00");
        }
        let mut buf = [0u8; 64];
        let n = libc::strftime(buf.as_mut_ptr().cast(), buf.len(), c"%Y-%m-%d-%H-%M-%S".as_ptr(), &tm);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamp_shape() {
        let s = super::zeek_timestamp(std::time::SystemTime::now());
        assert_eq!(s.len(), 19, "{s}");
        assert!(s.bytes().enumerate().all(|(i, b)| if [4, 7, 10, 13, 16].contains(&i) {
            b == b'-'
        } else {
            b.is_ascii_digit()
        }));
    }
}
