//! Session analyzers: the trait an application-protocol analyzer implements, and how it is registered.
//!
//! The engine owns connections; an analyzer attached to one receives its payload: one call per packet
//! for datagram protocols (UDP), or an ordered byte stream per direction for TCP, with gaps reported
//! through [`Analyzer::undelivered`]. It reports back through the [`Context`]: a confirmation (this
//! really is my protocol: conn.log's `service` gains the analyzer's name, in confirmation order), a
//! violation (it is not, or it broke: the engine detaches the analyzer, as Zeek's DPD does), weirds,
//! and log rows.
//!
//! Registration is static data ([`AnalyzerInfo`]): the well-known ports (Zeek's `register_for_ports`),
//! an optional probe for detection on any port (Zeek's DPD signatures), the log streams, and the Zeek
//! settings the analyzer accepts (`--set dns_max_queries=3`).
//!
//! ```
//! use weir_api::analyzer::*;
//! use weir_api::log::Schema;
//!
//! struct Echo;
//! impl Analyzer for Echo {
//!     fn name(&self) -> &'static str { "echo" }
//!     fn deliver_packet(&mut self, cx: &mut dyn Context, _is_orig: bool, data: &[u8]) {
//!         if data.starts_with(b"ECHO") { cx.confirm() } else { cx.violation("not echo") }
//!     }
//! }
//! pub static ECHO: AnalyzerInfo = AnalyzerInfo {
//!     name: "echo",
//!     transports: &[Transport::Udp],
//!     ports: &[(Transport::Udp, 7)],
//!     probe: None,
//!     logs: |_settings| Vec::<Schema>::new(),
//!     settings: &[],
//!     new: |_settings| Box::new(Echo),
//!     worker_state: None,
//! };
//! assert_eq!(ECHO.name, "echo");
//! ```

use crate::log::{Schema, Value};
use crate::Weird;
use core::net::IpAddr;
use std::collections::HashMap;

/// The transport protocol of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    Tcp,
    Udp,
    Icmp,
    /// An IP protocol the engine has no analyzer for (Zeek's `unknown_transport`).
    Unknown(u8),
}

/// What an analyzer may know about the connection it is attached to.
#[derive(Clone, Copy, Debug)]
pub struct ConnInfo<'a> {
    /// The connection's uid, as written in its logs (`C...`).
    pub uid: &'a str,
    pub orig_h: IpAddr,
    pub orig_p: u16,
    pub resp_h: IpAddr,
    pub resp_p: u16,
    pub transport: Transport,
    /// Network time of the first packet.
    pub start_time: f64,
}

/// Handed to every analyzer call: the connection, the clock, and the ways to report back.
pub trait Context {
    fn conn(&self) -> ConnInfo<'_>;
    /// Network time (Zeek's `network_time()`).
    fn network_time(&self) -> f64;
    /// The timestamp of the packet being processed (Zeek's current packet time).
    fn packet_time(&self) -> f64;
    /// The analyzer is sure the traffic is its protocol: conn.log's `service` gains its name.
    /// Confirming again is harmless.
    fn confirm(&mut self);
    /// The traffic broke the protocol. The engine detaches the analyzer (Zeek's DPD) unless it had
    /// already confirmed; `reason` is for diagnostics.
    fn violation(&mut self, reason: &str);
    /// Something unusual, logged to weird.log against this connection; `source` is the analyzer's
    /// name as Zeek writes it (`DNS`, `SSL`), or empty.
    fn weird(&mut self, weird: Weird, addl: Option<&str>, source: &str);
    /// A weird whose name is not in [`Weird`] (rare: prefer adding the variant).
    fn weird_named(&mut self, name: &str, addl: Option<&str>, source: &str);
    /// Emit one row of a log stream the analyzer declared in [`AnalyzerInfo::logs`].
    fn log(&mut self, stream: &'static str, row: &[Option<Value<'_>>]);
    /// Emit a row unless a row with the same `key` went to `stream` less than `keep_for` seconds of
    /// network time before `at` (Zeek's de-duplication sets with `&create_expire`, such as
    /// `X509::known_log_certs` with `X509::relog_known_certificates_after`); at most `max_keys` keys are
    /// remembered, and `keep_for` 0 writes every row. The decision is the run's, as one Zeek process makes
    /// it, whatever the number of workers. (The default body always writes, for test doubles.)
    fn log_once(
        &mut self,
        stream: &'static str,
        key: &[u8],
        at: f64,
        keep_for: f64,
        max_keys: usize,
        row: &[Option<Value<'_>>],
    ) {
        let _ = (key, at, keep_for, max_keys);
        self.log(stream, row);
    }
    /// Adds the connection's history letter `code` once (Zeek's `CheckHistory` with an analyzer mask),
    /// e.g. `X` when an analyzer limit is reached.
    fn history_once(&mut self, code: u8);
    /// Ask for [`Analyzer::timer`] to be called at network time `at` (one timer per analyzer: a later
    /// call replaces it). Zeek's `ADD_ANALYZER_TIMER`, e.g. DNS's `dns_session_timeout` expiry.
    fn set_timer(&mut self, _at: f64) {}
    /// Remove the connection now (Zeek's `session_mgr->Remove(Conn())` from an analyzer, e.g. DNS's
    /// expire timer): it is logged as it stands.
    fn remove_connection(&mut self) {}
    /// Whether the TCP connection started without a SYN seen from its originator (Zeek's
    /// `TCP()->IsPartial()`; several Zeek analyzers ignore such streams).
    fn is_partial(&self) -> bool {
        false
    }
    /// Network time of the connection's last packet (Zeek's `Conn()->LastTime()`).
    fn last_time(&self) -> f64 {
        self.network_time()
    }
    /// Swap the connection's originator and responder (Zeek's `Conn()->FlipRoles()`, e.g. when DNS
    /// sees a response first). Every attached analyzer's [`Analyzer::flip_roles`] is called, and the
    /// history gains `^`. (A default body so test doubles need not implement it; the engine does.)
    fn flip_roles(&mut self) {}
    /// State the analyzer keeps across connections in this worker (e.g. a certificate cache), created
    /// by [`AnalyzerInfo::worker_state`] on first use. None if the analyzer declared none.
    fn worker_state(&mut self) -> Option<&mut (dyn std::any::Any + Send)>;
}

/// A session analyzer. All methods but `name` have empty defaults.
pub trait Analyzer: Send {
    fn name(&self) -> &'static str;
    /// One packet's payload (datagram protocols); `data` is what was captured of it.
    fn deliver_packet(&mut self, _cx: &mut dyn Context, _is_orig: bool, _data: &[u8]) {}
    /// The next in-order bytes of one direction (stream protocols).
    fn deliver_stream(&mut self, _cx: &mut dyn Context, _is_orig: bool, _data: &[u8]) {}
    /// `len` bytes at relative stream offset `seq` of one direction were never seen (a gap). After a
    /// gap, stream delivery resumes past it; the analyzer may resynchronise or give up.
    fn undelivered(&mut self, _cx: &mut dyn Context, _is_orig: bool, _seq: u64, _len: u64) {}
    /// One direction ended (FIN or RST seen, all its data delivered).
    fn end_of_data(&mut self, _cx: &mut dyn Context, _is_orig: bool) {}
    /// The engine swapped originator and responder (`is_orig` means the new originator afterwards).
    fn flip_roles(&mut self) {}
    /// The timer asked for with [`Context::set_timer`] is due (`now` is network time).
    fn timer(&mut self, _cx: &mut dyn Context, _now: f64) {}
    /// The connection is being removed (timeout, close, end of input): flush whatever is pending,
    /// e.g. log requests that never got a reply.
    fn done(&mut self, _cx: &mut dyn Context) {}
}

/// Result of probing the first payload of a direction for a protocol (Zeek's DPD signatures).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// This is the protocol: attach the analyzer.
    Yes,
    /// Certainly not.
    No,
    /// Need more data.
    Unsure,
}

/// Zeek settings given on the command line (`--set NAME=VALUE`), by Zeek's name.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    values: HashMap<String, String>,
    /// `--set NAME+=VALUE` values, in order (a table or set setting gaining elements).
    additions: HashMap<String, Vec<String>>,
}

impl Settings {
    pub fn new() -> Settings {
        Settings::default()
    }
    pub fn insert(&mut self, name: &str, value: &str) {
        self.values.insert(name.to_string(), value.to_string());
    }
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }
    /// Records `NAME+=VALUE`: an addition to the setting's value (see [`Settings::added`]).
    pub fn add(&mut self, name: &str, value: &str) {
        self.additions
            .entry(name.to_string())
            .or_default()
            .push(value.to_string());
    }
    /// The values given with `NAME+=VALUE`, in order; [`Settings::get`] has the `NAME=VALUE` one.
    pub fn added(&self, name: &str) -> &[String] {
        self.additions.get(name).map_or(&[], Vec::as_slice)
    }
    /// A count setting (`dns_max_queries=3`), or `default` when unset; Err when it is not a count.
    pub fn count(&self, name: &str, default: u64) -> Result<u64, String> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| format!("{name}: not a count: {v:?}")),
        }
    }
    /// A bool setting (`T`/`F`), or `default` when unset.
    pub fn bool(&self, name: &str, default: bool) -> Result<bool, String> {
        match self.get(name).map(str::trim) {
            None => Ok(default),
            Some("T") | Some("true") => Ok(true),
            Some("F") | Some("false") => Ok(false),
            Some(v) => Err(format!("{name}: not a bool: {v:?}")),
        }
    }
}

/// How an analyzer is registered with the engine.
pub struct AnalyzerInfo {
    /// Lower-case name, as in conn.log `service` and `--analyzers` (`dns`, `ssl`).
    pub name: &'static str,
    /// The transports it runs on.
    pub transports: &'static [Transport],
    /// Well-known server ports (Zeek's `register_for_ports`): they attach the analyzer to connections
    /// whose responder port matches, and feed `likely_server_ports`.
    pub ports: &'static [(Transport, u16)],
    /// Detection on any port from the first payload of a direction (Zeek's DPD signatures), if any.
    pub probe: Option<fn(transport: Transport, is_orig: bool, data: &[u8]) -> Probe>,
    /// The log streams it writes, for the given settings (some settings add columns).
    pub logs: fn(&Settings) -> Vec<Schema>,
    /// The Zeek settings it accepts through `--set` (checked by the engine before the run).
    pub settings: &'static [&'static str],
    /// A fresh analyzer for one connection.
    pub new: fn(&Settings) -> Box<dyn Analyzer>,
    /// State shared by this analyzer's instances within one worker, if it needs any.
    pub worker_state: Option<WorkerStateFactory>,
}

/// Optional per-worker state of an analyzer (see [`Context::worker_state`]).
pub type WorkerStateFactory = fn() -> Box<dyn std::any::Any + Send>;
