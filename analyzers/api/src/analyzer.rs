//! Session analyzers: the trait an application-protocol analyzer implements.
//!
//! The engine owns connections; an analyzer attached to one receives its payload, one call per packet
//! (UDP, or TCP before reassembly) or as an ordered byte stream per direction (TCP, with gaps reported
//! through [`Analyzer::undelivered`]). It reports back through the [`Context`]: a confirmation (this
//! really is my protocol; the connection's `service` gains the analyzer's name), a violation (it is not,
//! or it broke), weirds, and log rows.

use crate::log::{Schema, Value};
use crate::Weird;
use core::net::IpAddr;

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
    /// Network time (the timestamp of the packet being processed).
    fn network_time(&self) -> f64;
    /// The analyzer is sure the traffic is its protocol.
    fn confirm(&mut self);
    /// The traffic broke the protocol; after too many, the engine detaches the analyzer.
    fn violation(&mut self, reason: &str);
    /// Something unusual, logged to weird.log against this connection.
    fn weird(&mut self, weird: Weird, addl: Option<&str>);
    /// Emit one row of a log stream the analyzer declared in [`AnalyzerInfo::logs`].
    fn log(&mut self, stream: &'static str, row: &[Option<Value<'_>>]);
}

/// A session analyzer. All methods but `name` have empty defaults.
pub trait Analyzer: Send {
    fn name(&self) -> &'static str;
    /// One packet's payload (datagram analyzers).
    fn deliver_packet(&mut self, _cx: &mut dyn Context, _is_orig: bool, _data: &[u8]) {}
    /// The next in-order bytes of one direction (stream analyzers).
    fn deliver_stream(&mut self, _cx: &mut dyn Context, _is_orig: bool, _data: &[u8]) {}
    /// `len` bytes at stream offset `seq` of one direction were never seen (a gap).
    fn undelivered(&mut self, _cx: &mut dyn Context, _is_orig: bool, _seq: u64, _len: u64) {}
    /// One direction ended (FIN, RST, or the connection is being removed).
    fn end_of_data(&mut self, _cx: &mut dyn Context, _is_orig: bool) {}
    /// The engine swapped originator and responder.
    fn flip_roles(&mut self) {}
    /// The connection is being removed: flush whatever is pending.
    fn done(&mut self, _cx: &mut dyn Context) {}
}

/// How an analyzer is registered with the engine.
pub struct AnalyzerInfo {
    /// Lower-case name, as in conn.log `service` and `--analyzers`.
    pub name: &'static str,
    /// Well-known ports (Zeek's `register_for_ports`): they attach the analyzer and feed
    /// `likely_server_ports`, which decides originator/responder flips.
    pub ports: &'static [(Transport, u16)],
    /// The log streams the analyzer writes.
    pub logs: fn() -> Vec<Schema>,
    /// A fresh analyzer for one connection.
    pub new: fn() -> Box<dyn Analyzer>,
}
