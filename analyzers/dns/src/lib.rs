//! # weir-dns: the DNS analyzer
//!
//! dns.log as Zeek 9.1 writes it, built on the public analyzer API ([`weir_api`]).
//!
//! * [`parser`]: a zero-copy, bounded DNS message parser (nom) for general use: typed records, unknown
//!   types kept as data, name compression with loop and depth limits, record counts checked against the
//!   bytes present. It is differential-tested against `hickory-proto`, fuzzed and benchmarked.
//! * [`interp`]: Zeek's `DNS_Interpreter` ported step for step: the walk whose quirks (which bytes a
//!   malformed record consumes, where parsing stops, which weird is raised, when the analyzer confirms)
//!   decide dns.log and weird.log.
//! * [`script`]: `base/protocols/dns/main.zeek` in Rust: request/reply matching through the pending
//!   queues, when rows are written, how `answers`/`TTLs` accumulate.
//! * [`DnsAnalyzer`]: the [`weir_api::Analyzer`] (UDP datagrams; TCP length-prefixed messages split or
//!   merged across segments), registered as [`DNS`].

pub mod consts;
pub mod fuzzing;
pub mod interp;
pub mod parser;
pub mod script;

use interp::{ConnView, Events, Interp, InterpConfig, MsgInfo};
use script::{Info, Script, Writer};
use weir_api::log::{Field, FieldType, Schema, Value, CONN_PREFIX};
use weir_api::{Analyzer, AnalyzerInfo, Context, Settings, Transport, Weird};

/// The Zeek settings the analyzer accepts (`--set NAME=VALUE`), with Zeek's defaults from
/// `init-bare.zeek`: `dns_session_timeout` (10 sec), `dns_max_queries` (25), `dns_max_compression_chain_depth` (20),
/// `dns_skip_all_auth` (T), `dns_skip_all_addl` (T).
pub const SETTINGS: &[&str] = &[
    // weir's stand-ins for loading Zeek's DNS policy scripts: `DNS::auth_addl=T` is
    // `@load policy/protocols/dns/auth-addl`, `DNS::log_original_query=T` is
    // `@load policy/protocols/dns/log-original-query-case`.
    "DNS::auth_addl",
    "DNS::log_original_query",
    "dns_session_timeout",
    "dns_max_queries",
    "dns_max_compression_chain_depth",
    "dns_skip_all_auth",
    "dns_skip_all_addl",
];

/// Registration: UDP 53/137/5353/5355 and TCP 53 (`DNS::ports` in main.zeek). Zeek has no DPD signature
/// for DNS, so there is no probe.
pub static DNS: AnalyzerInfo = AnalyzerInfo {
    name: "dns",
    transports: &[Transport::Udp, Transport::Tcp],
    ports: &[
        (Transport::Udp, 53),
        (Transport::Tcp, 53),
        (Transport::Udp, 137),
        (Transport::Udp, 5353),
        (Transport::Udp, 5355),
    ],
    probe: None,
    logs: |settings| vec![DnsConfig::from_settings(settings).schema()],
    settings: SETTINGS,
    new: |s| Box::new(DnsAnalyzer::new(DnsConfig::from_settings(s))),
    worker_state: None,
};

const STRING: FieldType = FieldType::String;
const INTERVAL: FieldType = FieldType::Interval;

/// dns.log's columns as Zeek 9.1 writes them; `original_query` adds the column of
/// `policy/protocols/dns/log-original-query-case`, `auth_addl` the `auth` and `addl` columns of
/// `policy/protocols/dns/auth-addl`.
pub fn schema(original_query: bool, auth_addl: bool) -> Schema {
    use FieldType::*;
    let mut f = CONN_PREFIX.to_vec();
    f.extend([
        Field::new("proto", Enum),
        Field::new("trans_id", Count),
        Field::new("rtt", Interval),
        Field::new("query", String),
        Field::new("qclass", Count),
        Field::new("qclass_name", String),
        Field::new("qtype", Count),
        Field::new("qtype_name", String),
        Field::new("rcode", Count),
        Field::new("rcode_name", String),
        Field::new("AA", Bool),
        Field::new("TC", Bool),
        Field::new("RD", Bool),
        Field::new("RA", Bool),
        Field::new("Z", Count),
        Field::new("answers", Vector(&STRING)),
        Field::new("TTLs", Vector(&INTERVAL)),
        Field::new("rejected", Bool),
        Field::new("opcode", Count),
        Field::new("opcode_name", String),
    ]);
    if original_query {
        f.push(Field::new("original_query", String));
    }
    if auth_addl {
        f.push(Field::new("auth", Set(&STRING)));
        f.push(Field::new("addl", Set(&STRING)));
    }
    Schema::new("dns", &f)
}

/// Analyzer configuration: the Zeek settings, and which optional scripts are loaded.
#[derive(Clone, Debug)]
pub struct DnsConfig {
    pub interp: InterpConfig,
    /// `policy/protocols/dns/log-original-query-case` is loaded (adds the `original_query` column; the
    /// engine must then register [`schema`]`(true)` for dns.log).
    pub original_query: bool,
    /// `dns_session_timeout` in seconds (10): UDP DNS connections idle this long are removed.
    pub session_timeout: f64,
    /// `policy/protocols/dns/auth-addl` is loaded (adds `auth` and `addl`; the script also sets
    /// `dns_skip_all_auth` and `dns_skip_all_addl` to F, which [`DnsConfig::with_auth_addl`] does).
    pub auth_addl: bool,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            interp: InterpConfig::default(),
            original_query: false,
            session_timeout: DEFAULT_SESSION_TIMEOUT,
            auth_addl: false,
        }
    }
}

/// `dns_session_timeout` (init-bare.zeek: 10 sec).
pub const DEFAULT_SESSION_TIMEOUT: f64 = 10.0;

/// A Zeek interval setting (`10 sec`, `2.5secs`, `1 min`, `10`) in seconds.
fn parse_interval(v: &str) -> Option<f64> {
    let v = v.trim();
    let split = v.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(v.len());
    let n: f64 = v[..split].parse().ok()?;
    let unit = v[split..].trim();
    let mult = match unit.trim_end_matches('s') {
        "" | "sec" => 1.0,
        "min" => 60.0,
        "hr" => 3600.0,
        "day" => 86400.0,
        "msec" => 1e-3,
        "usec" => 1e-6,
        _ => return None,
    };
    Some(n * mult)
}

impl DnsConfig {
    /// The configuration with `policy/protocols/dns/auth-addl` loaded.
    pub fn with_auth_addl(mut self) -> DnsConfig {
        self.auth_addl = true;
        self.interp.skip_all_auth = false;
        self.interp.skip_all_addl = false;
        self
    }

    /// The dns.log schema for this configuration.
    pub fn schema(&self) -> Schema {
        schema(self.original_query, self.auth_addl)
    }

    pub fn from_settings(s: &Settings) -> DnsConfig {
        let d = InterpConfig::default();
        let mut cfg = DnsConfig {
            interp: InterpConfig {
                max_queries: s.count("dns_max_queries", d.max_queries).unwrap_or(d.max_queries),
                max_compression_chain_depth: s
                    .count("dns_max_compression_chain_depth", d.max_compression_chain_depth)
                    .unwrap_or(d.max_compression_chain_depth),
                skip_all_auth: s.bool("dns_skip_all_auth", d.skip_all_auth).unwrap_or(d.skip_all_auth),
                skip_all_addl: s.bool("dns_skip_all_addl", d.skip_all_addl).unwrap_or(d.skip_all_addl),
                ..d
            },
            original_query: s.bool("DNS::log_original_query", false).unwrap_or(false),
            session_timeout: s
                .get("dns_session_timeout")
                .and_then(parse_interval)
                .unwrap_or(DEFAULT_SESSION_TIMEOUT),
            auth_addl: false,
        };
        if s.bool("DNS::auth_addl", false).unwrap_or(false) {
            cfg = cfg.with_auth_addl();
        }
        cfg
    }
}

/// Zeek's `Contents_DNS`: one direction of a TCP connection, cut into length-prefixed messages.
#[derive(Default)]
struct TcpFramer {
    /// 0: length high byte next; 1: low byte next; 2: message bytes.
    state: u8,
    msg_size: usize,
    buf: Vec<u8>,
}

/// The DNS analyzer of one connection.
pub struct DnsAnalyzer {
    interp: Interp,
    script: Script,
    original_query: bool,
    auth_addl: bool,
    /// The analyzer flipped the roles (Zeek's `Conn()->FlipRoles()` on a first message that is a reply)
    /// and the context does not show it yet: it asked the engine with [`Context::flip_roles`], which
    /// applies the flip after the call returns and then calls [`Analyzer::flip_roles`]; until then (and
    /// for ever with a context that does not flip, such as a test double) the analyzer applies the flip
    /// to what it writes and to the direction of what it is given.
    flipped: bool,
    /// A flip was requested from the engine and not yet acknowledged by [`Analyzer::flip_roles`].
    flip_requested: bool,
    /// UDP: `dns_session_timeout` (Zeek's `DNS_Analyzer::ExpireTimer`), and whether it was armed.
    session_timeout: f64,
    timer_armed: bool,
    /// Indexed by the engine's `is_orig`.
    tcp: [TcpFramer; 2],
}

struct Sink<'a> {
    script: &'a mut Script,
    cx: &'a mut dyn Context,
    flipped: &'a mut bool,
    flip_requested: &'a mut bool,
    original_query: bool,
    auth_addl: bool,
}

/// Writes `DNS::Info` rows through the context.
struct LogWriter<'a> {
    cx: &'a mut dyn Context,
    flipped: bool,
    original_query: bool,
    auth_addl: bool,
}

impl Writer for LogWriter<'_> {
    fn write(&mut self, info: &Info) {
        let conn = self.cx.conn();
        let uid = conn.uid.to_string();
        let v = view(self.cx, self.flipped);
        let proto = match conn.transport {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
            Transport::Icmp => "icmp",
            Transport::Unknown(_) => "unknown",
        };
        let qclass_name = info.qclass.map(|c| consts::class_name(c as u64));
        let rcode_name = info.rcode.map(|c| consts::rcode_name(c as u64));
        let answers: Option<Vec<Value<'_>>> = info.answers.as_ref().map(|a| a.iter().map(|s| Value::Str(s)).collect());
        let ttls: Option<Vec<Value<'_>>> = info
            .ttls
            .as_ref()
            .map(|t| t.iter().map(|&x| Value::Interval(x)).collect());
        let mut row: Vec<Option<Value<'_>>> = vec![
            Some(Value::Time(info.ts)),
            Some(Value::str(&uid)),
            Some(Value::Addr(v.orig_h)),
            Some(Value::Port(v.orig_p)),
            Some(Value::Addr(v.resp_h)),
            Some(Value::Port(v.resp_p)),
            Some(Value::Enum(proto)),
            Some(Value::Count(info.trans_id as u64)),
            info.rtt.map(Value::Interval),
            info.query.as_deref().map(Value::Str),
            info.qclass.map(|c| Value::Count(c as u64)),
            qclass_name.as_deref().map(Value::str),
            info.qtype.map(|c| Value::Count(c as u64)),
            info.qtype_name.as_deref().map(Value::str),
            info.rcode.map(|c| Value::Count(c as u64)),
            rcode_name.as_deref().map(Value::str),
            Some(Value::Bool(info.aa)),
            Some(Value::Bool(info.tc)),
            Some(Value::Bool(info.rd)),
            Some(Value::Bool(info.ra)),
            Some(Value::Count(info.z as u64)),
            answers.as_deref().map(Value::List),
            ttls.as_deref().map(Value::List),
            Some(Value::Bool(info.rejected)),
            info.opcode.map(|c| Value::Count(c as u64)),
            info.opcode_name.as_deref().map(Value::str),
        ];
        if self.original_query {
            row.push(info.original_query.as_deref().map(Value::Str));
        }
        let auth: Option<Vec<Value<'_>>> = info.auth.as_ref().map(|a| a.iter().map(|s| Value::Str(s)).collect());
        let addl: Option<Vec<Value<'_>>> = info.addl.as_ref().map(|a| a.iter().map(|s| Value::Str(s)).collect());
        if self.auth_addl {
            row.push(auth.as_deref().map(Value::List));
            row.push(addl.as_deref().map(Value::List));
        }
        self.cx.log("dns", &row);
    }
}

fn view(cx: &dyn Context, flipped: bool) -> ConnView {
    let c = cx.conn();
    let mut v = ConnView {
        orig_h: c.orig_h,
        orig_p: c.orig_p,
        resp_h: c.resp_h,
        resp_p: c.resp_p,
        udp: c.transport == Transport::Udp,
    };
    if flipped {
        v.flip();
    }
    v
}

impl Events for Sink<'_> {
    fn weird(&mut self, weird: Weird, addl: Option<String>) {
        self.cx.weird(weird, addl.as_deref(), "DNS");
    }
    fn history_limit(&mut self) {
        self.cx.history_once(b'X');
    }
    fn confirm(&mut self) {
        self.cx.confirm();
    }
    fn violation(&mut self, reason: &str) {
        self.cx.violation(reason);
    }
    fn flip(&mut self) {
        *self.flipped = !*self.flipped;
        *self.flip_requested = true;
        self.cx.flip_roles();
    }
    fn dns_message(&mut self, conn: &ConnView, _is_orig: bool, msg: &MsgInfo, _len: usize) {
        let now = self.cx.network_time();
        let script = &mut *self.script;
        let mut w = LogWriter {
            cx: &mut *self.cx,
            flipped: *self.flipped,
            original_query: self.original_query,
            auth_addl: self.auth_addl,
        };
        script.dns_message(&mut w, now, conn, msg);
    }
    fn dns_request(&mut self, conn: &ConnView, msg: &MsgInfo, query: &[u8], qtype: u16, qclass: u16, original: &[u8]) {
        self.script.dns_request(conn, msg, query, qtype, qclass, original);
    }
    fn dns_rejected(&mut self, _conn: &ConnView, _msg: &MsgInfo, _query: &[u8], _qtype: u16, _qclass: u16) {
        self.script.dns_rejected();
    }
    fn do_reply(&mut self, _conn: &ConnView, msg: &MsgInfo, reply: Vec<u8>) {
        let now = self.cx.network_time();
        self.script.do_reply(now, msg, reply);
    }
    fn dns_end(&mut self, _conn: &ConnView, msg: &MsgInfo) {
        let script = &mut *self.script;
        let mut w = LogWriter {
            cx: &mut *self.cx,
            flipped: *self.flipped,
            original_query: self.original_query,
            auth_addl: self.auth_addl,
        };
        script.dns_end(&mut w, msg);
    }
}

impl DnsAnalyzer {
    pub fn new(cfg: DnsConfig) -> DnsAnalyzer {
        let cfg_timeout = cfg.session_timeout;
        DnsAnalyzer {
            interp: Interp::new(cfg.interp),
            script: Script::new(cfg.original_query, cfg.auth_addl),
            auth_addl: cfg.auth_addl,
            original_query: cfg.original_query,
            flipped: false,
            flip_requested: false,
            session_timeout: cfg_timeout,
            timer_armed: false,
            tcp: Default::default(),
        }
    }

    /// Whether the analyzer applies a flip of its own that the context does not show (a flip it asked
    /// for with [`Context::flip_roles`] and the engine has not applied).
    pub fn flipped(&self) -> bool {
        self.flipped
    }

    /// One DNS message (a UDP payload or a reassembled TCP message). `is_query`: 1 / 0 by direction,
    /// 2 when unknown (a partial TCP message flushed at close).
    fn parse(&mut self, cx: &mut dyn Context, msg: &[u8], is_query: i32) {
        let mut v = view(cx, self.flipped);
        let mut sink = Sink {
            script: &mut self.script,
            cx,
            flipped: &mut self.flipped,
            flip_requested: &mut self.flip_requested,
            original_query: self.original_query,
            auth_addl: self.auth_addl,
        };
        self.interp.parse_message(&mut sink, &mut v, msg, is_query);
    }

    fn flush(&mut self, cx: &mut dyn Context, side: usize) {
        if !self.tcp[side].buf.is_empty() {
            let buf = core::mem::take(&mut self.tcp[side].buf);
            self.parse(cx, &buf, 2);
            // Zeek keeps the bytes (buf_n is not reset) and only zeroes the expected size.
            self.tcp[side].buf = buf;
            self.tcp[side].msg_size = 0;
        }
    }
}

impl Analyzer for DnsAnalyzer {
    fn name(&self) -> &'static str {
        "dns"
    }

    fn deliver_packet(&mut self, cx: &mut dyn Context, is_orig: bool, data: &[u8]) {
        if !self.timer_armed && cx.conn().transport == Transport::Udp {
            // DNS_Analyzer's constructor: ADD_ANALYZER_TIMER(ExpireTimer, network_time + dns_session_timeout).
            self.timer_armed = true;
            cx.set_timer(cx.conn().start_time + self.session_timeout);
        }
        let is_orig = is_orig != self.flipped;
        self.parse(cx, data, if is_orig { 1 } else { 0 });
    }

    fn deliver_stream(&mut self, cx: &mut dyn Context, is_orig: bool, mut data: &[u8]) {
        let side = is_orig as usize;
        // Zeek's Contents_DNS::ProcessChunk, looped.
        while !data.is_empty() {
            let f = &mut self.tcp[side];
            if f.state == 0 {
                f.msg_size = (data[0] as usize) << 8;
                f.state = 1;
                data = &data[1..];
                if data.is_empty() {
                    return;
                }
            }
            if f.state == 1 {
                f.msg_size += data[0] as usize;
                f.state = 2;
                f.buf.clear();
                data = &data[1..];
                if data.is_empty() {
                    return;
                }
            }
            let need = f.msg_size.saturating_sub(f.buf.len());
            let n = need.min(data.len());
            f.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            if f.buf.len() < f.msg_size {
                return;
            }
            let msg = core::mem::take(&mut f.buf);
            let msg = &msg[..f.msg_size.min(msg.len())];
            f.state = 0;
            let eff_orig = is_orig != self.flipped;
            self.parse(cx, msg, if eff_orig { 1 } else { 0 });
        }
    }

    fn undelivered(&mut self, _cx: &mut dyn Context, _is_orig: bool, _seq: u64, _len: u64) {
        // Zeek's DNS analyzer ignores content gaps: Contents_DNS goes on with the bytes after the gap.
    }

    fn end_of_data(&mut self, cx: &mut dyn Context, _is_orig: bool) {
        // Zeek's DNS_Analyzer::ConnectionClosed flushes both directions' partial messages.
        self.flush(cx, 1);
        self.flush(cx, 0);
    }

    fn flip_roles(&mut self) {
        // The engine's originator changed: its `is_orig` and `conn()` are swapped from now on.
        self.tcp.swap(0, 1);
        if self.flip_requested {
            // Our own request, now applied by the engine: stop applying it ourselves.
            self.flip_requested = false;
            self.flipped = !self.flipped;
        }
    }

    fn timer(&mut self, cx: &mut dyn Context, now: f64) {
        // DNS_Analyzer::ExpireTimer: the -1.0 lets the common request + reply pair finish without
        // rescheduling.
        if now - cx.last_time() >= self.session_timeout - 1.0 {
            cx.remove_connection();
        } else {
            cx.set_timer(now + self.session_timeout);
        }
    }

    fn done(&mut self, cx: &mut dyn Context) {
        let mut w = LogWriter {
            cx,
            flipped: self.flipped,
            original_query: self.original_query,
            auth_addl: self.auth_addl,
        };
        self.script.finalize(&mut w);
    }
}
