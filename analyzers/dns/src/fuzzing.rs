//! Fuzz targets, shared by `fuzz/` (cargo-fuzz) and `tests/fuzz_corpus.rs` (corpus replay in `cargo test`).

use crate::{parser, DnsAnalyzer, DnsConfig};
use core::net::{IpAddr, Ipv4Addr};
use weir_api::analyzer::{ConnInfo, Context, Transport};
use weir_api::log::Value;
use weir_api::{Analyzer, Weird};

/// The parser target: parse, then touch everything the parse returned (names are read lazily).
pub fn parser_target(data: &[u8]) {
    if let Ok(m) = parser::parse(data) {
        let mut n = 0usize;
        for q in &m.questions {
            n += q.name.to_dotted().len();
        }
        for r in m.answers.iter().chain(&m.authority).chain(&m.additional) {
            n += r.name.to_dotted().len() + r.rdata.len();
            match r.data {
                parser::RData::Ns(x) | parser::RData::Cname(x) | parser::RData::Ptr(x) => n += x.to_dotted().len(),
                parser::RData::Txt(s) | parser::RData::Spf(s) => n += s.iter().count(),
                parser::RData::Soa { mname, rname, .. } => n += mname.to_dotted().len() + rname.to_dotted().len(),
                _ => {}
            }
        }
        assert!(n < 64 * data.len() + 1024);
    }
    // The analyzer's Zeek walk on the same bytes, as a UDP payload from the originator and the responder.
    analyzer_target(&[&[0u8][..], &[0, (data.len() >> 8) as u8, data.len() as u8], data].concat());
}

/// A context that checks what the analyzer reports and throws it away.
pub struct NullContext {
    pub tcp: bool,
    pub now: f64,
    pub rows: usize,
    pub weirds: usize,
}

impl Context for NullContext {
    fn conn(&self) -> ConnInfo<'_> {
        ConnInfo {
            uid: "CFuzz",
            orig_h: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            orig_p: 40000,
            resp_h: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            resp_p: 53,
            transport: if self.tcp { Transport::Tcp } else { Transport::Udp },
            start_time: 1.0,
        }
    }
    fn network_time(&self) -> f64 {
        self.now
    }
    fn packet_time(&self) -> f64 {
        self.now
    }
    fn confirm(&mut self) {}
    fn violation(&mut self, _reason: &str) {}
    fn weird(&mut self, _weird: Weird, _addl: Option<&str>, source: &str) {
        assert_eq!(source, "DNS");
        self.weirds += 1;
    }
    fn weird_named(&mut self, _name: &str, _addl: Option<&str>, _source: &str) {
        self.weirds += 1;
    }
    fn log(&mut self, stream: &'static str, row: &[Option<Value<'_>>]) {
        assert_eq!(stream, "dns");
        assert_eq!(row.len(), crate::schema(false, false).fields.len());
        self.rows += 1;
    }
    fn history_once(&mut self, _code: u8) {}
    fn worker_state(&mut self) -> Option<&mut (dyn std::any::Any + Send)> {
        None
    }
}

/// The analyzer target. Byte 0: bit 0 TCP, bit 1 `dns_skip_all_auth`/`addl` off, bits 2-3 a small
/// `dns_max_queries` (0 = default). Then chunks: a direction byte (bit 0: originator; bit 1: end of data
/// after this chunk), a 2-byte length, the bytes (cut to what is left).
pub fn analyzer_target(data: &[u8]) {
    let Some((&flags, mut rest)) = data.split_first() else {
        return;
    };
    let tcp = flags & 1 != 0;
    let mut cfg = DnsConfig::default();
    if flags & 2 != 0 {
        cfg.interp.skip_all_auth = false;
        cfg.interp.skip_all_addl = false;
    }
    let mq = (flags >> 2) & 3;
    if mq != 0 {
        cfg.interp.max_queries = mq as u64;
    }
    let mut a = DnsAnalyzer::new(cfg);
    let mut cx = NullContext {
        tcp,
        now: 1.0,
        rows: 0,
        weirds: 0,
    };
    while rest.len() >= 3 {
        let dir = rest[0];
        let len = u16::from_be_bytes([rest[1], rest[2]]) as usize;
        let body = &rest[3..];
        let chunk = &body[..len.min(body.len())];
        rest = &body[chunk.len()..];
        cx.now += 0.25;
        let is_orig = dir & 1 != 0;
        if tcp {
            a.deliver_stream(&mut cx, is_orig, chunk);
            if dir & 2 != 0 {
                a.end_of_data(&mut cx, is_orig);
            }
        } else {
            a.deliver_packet(&mut cx, is_orig, chunk);
        }
    }
    a.done(&mut cx);
}
