//! Helpers for testing and fuzzing analyzers outside the engine: a [`Context`] that records what an
//! analyzer reports, and [`drive`], which feeds an analyzer a byte script of chunks (the input format of
//! the analyzers' fuzz targets).
//!
//! ```
//! use weir_api::testing::{chunk, drive, RecordingContext};
//! use weir_api::{Analyzer, Transport};
//! struct Nop;
//! impl Analyzer for Nop { fn name(&self) -> &'static str { "nop" } }
//! let mut cx = RecordingContext::new(Transport::Tcp, 80);
//! let script = chunk(true, false, b"hello");
//! drive(&mut Nop, &mut cx, &script);
//! assert!(!cx.confirmed);
//! ```

use crate::analyzer::{Analyzer, ConnInfo, Context, Transport};
use crate::log::Value;
use crate::Weird;
use core::net::{IpAddr, Ipv4Addr};

/// A context that records confirmations, violations, weird names and log rows (rendered with `{:?}`).
#[derive(Debug)]
pub struct RecordingContext {
    pub transport: Transport,
    pub resp_p: u16,
    pub now: f64,
    pub confirmed: bool,
    pub violations: Vec<String>,
    pub weirds: Vec<String>,
    /// (stream, fields rendered with `{:?}`; unset fields as `-`).
    pub rows: Vec<(&'static str, Vec<String>)>,
    pub timer: Option<f64>,
    pub flips: usize,
    /// Keep rendered rows (off in fuzzing, where only the absence of panics matters).
    pub keep_rows: bool,
}

impl RecordingContext {
    pub fn new(transport: Transport, resp_p: u16) -> RecordingContext {
        RecordingContext {
            transport,
            resp_p,
            now: 1.0,
            confirmed: false,
            violations: Vec::new(),
            weirds: Vec::new(),
            rows: Vec::new(),
            timer: None,
            flips: 0,
            keep_rows: true,
        }
    }

    /// The rows of one stream.
    pub fn rows_of(&self, stream: &str) -> Vec<&Vec<String>> {
        self.rows.iter().filter(|(s, _)| *s == stream).map(|(_, r)| r).collect()
    }
}

impl Context for RecordingContext {
    fn conn(&self) -> ConnInfo<'_> {
        ConnInfo {
            uid: "CTest",
            orig_h: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            orig_p: 40000,
            resp_h: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            resp_p: self.resp_p,
            transport: self.transport,
            start_time: 1.0,
        }
    }
    fn network_time(&self) -> f64 {
        self.now
    }
    fn packet_time(&self) -> f64 {
        self.now
    }
    fn confirm(&mut self) {
        self.confirmed = true;
    }
    fn violation(&mut self, reason: &str) {
        self.violations.push(reason.to_string());
    }
    fn weird(&mut self, weird: Weird, _addl: Option<&str>, _source: &str) {
        self.weirds.push(weird.name().to_string());
    }
    fn weird_named(&mut self, name: &str, _addl: Option<&str>, _source: &str) {
        self.weirds.push(name.to_string());
    }
    fn log(&mut self, stream: &'static str, row: &[Option<Value<'_>>]) {
        let r = row
            .iter()
            .map(|v| v.as_ref().map_or_else(|| "-".to_string(), |v| format!("{v:?}")))
            .collect();
        if self.keep_rows {
            self.rows.push((stream, r));
        }
    }
    fn history_once(&mut self, _code: u8) {}
    fn set_timer(&mut self, at: f64) {
        self.timer = Some(at);
    }
    fn flip_roles(&mut self) {
        self.flips += 1;
    }
    fn worker_state(&mut self) -> Option<&mut (dyn std::any::Any + Send)> {
        None
    }
}

/// One chunk of a [`drive`] script: a direction byte (bit 0: from the originator; bit 1: that direction
/// ends after this chunk; bit 2: a gap of `len` bytes instead of data), a 2-byte big-endian length, the
/// bytes.
pub fn chunk(is_orig: bool, end: bool, data: &[u8]) -> Vec<u8> {
    let len = data.len().min(u16::MAX as usize);
    let mut v = vec![is_orig as u8 | (end as u8) << 1, (len >> 8) as u8, len as u8];
    v.extend_from_slice(&data[..len]);
    v
}

/// Feeds `script` (chunks as [`chunk`] writes them; a short or cut last chunk is delivered as far as it
/// goes) to `a`: stream delivery for TCP, one packet per chunk otherwise; the clock advances 0.25 s per
/// chunk, due timers fire, and `done` is called at the end.
pub fn drive(a: &mut dyn Analyzer, cx: &mut RecordingContext, mut script: &[u8]) {
    let tcp = cx.transport == Transport::Tcp;
    let mut seq = [0u64; 2];
    while script.len() >= 3 {
        let dir = script[0];
        let len = u16::from_be_bytes([script[1], script[2]]) as usize;
        let body = &script[3..];
        let is_orig = dir & 1 != 0;
        let d = (!is_orig) as usize;
        cx.now += 0.25;
        if let Some(t) = cx.timer.filter(|&t| t <= cx.now) {
            cx.timer = None;
            a.timer(cx, t);
        }
        if dir & 4 != 0 && tcp {
            a.undelivered(cx, is_orig, seq[d], len as u64);
            seq[d] += len as u64;
            script = body;
        } else {
            let c = &body[..len.min(body.len())];
            script = &body[c.len()..];
            seq[d] += c.len() as u64;
            if tcp {
                a.deliver_stream(cx, is_orig, c);
            } else {
                a.deliver_packet(cx, is_orig, c);
            }
        }
        if dir & 2 != 0 && tcp {
            a.end_of_data(cx, is_orig);
        }
    }
    a.done(cx);
}

/// Runs `target` on every file of a fuzz corpus directory (at least `min_files` of them) and on 40
/// deterministic mutations of each (bit flips, truncations, byte stores), failing on a panic.
pub fn replay_corpus(dir: &std::path::Path, min_files: usize, target: fn(&[u8])) {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    assert!(files.len() >= min_files, "{} has {} files", dir.display(), files.len());
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for p in files {
        let d = std::fs::read(&p).unwrap_or_default();
        let r = std::panic::catch_unwind(|| target(&d));
        assert!(r.is_ok(), "fuzz target panicked on {}", p.display());
        for _ in 0..40 {
            let mut m = d.clone();
            if m.is_empty() {
                break;
            }
            let i = rnd() as usize % m.len();
            match rnd() % 3 {
                0 => m[i] ^= 1 << (rnd() % 8),
                1 => m.truncate(i),
                _ => m[i] = [0x00, 0x0a, 0x0d, 0xff, 0x20][rnd() as usize % 5],
            }
            let r = std::panic::catch_unwind(|| target(&m));
            assert!(r.is_ok(), "fuzz target panicked on a mutation of {}", p.display());
        }
    }
}
