//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the corpus replay test
//! (`tests/fuzz_corpus.rs`). Not part of the stable API.

use crate::{Config, SslAnalyzer};
use std::net::{IpAddr, Ipv4Addr};
use weir_api::analyzer::{Analyzer, ConnInfo, Context, Transport};
use weir_api::log::Value;
use weir_api::Weird;

/// A Context that accepts everything and keeps counts (for fuzzing and benchmarks).
pub struct NullContext {
    pub transport: Transport,
    pub rows: usize,
    pub confirmed: bool,
    pub violations: usize,
    cache: Box<dyn std::any::Any + Send>,
}

impl NullContext {
    pub fn new(transport: Transport) -> NullContext {
        NullContext {
            transport,
            rows: 0,
            confirmed: false,
            violations: 0,
            cache: Box::new(crate::WorkerState::default()),
        }
    }
}

impl Context for NullContext {
    fn conn(&self) -> ConnInfo<'_> {
        ConnInfo {
            uid: "CFuzz",
            orig_h: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            orig_p: 40000,
            resp_h: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            resp_p: 443,
            transport: self.transport,
            start_time: 1.0,
        }
    }
    fn network_time(&self) -> f64 {
        1.0
    }
    fn packet_time(&self) -> f64 {
        1.0
    }
    fn confirm(&mut self) {
        self.confirmed = true;
    }
    fn violation(&mut self, _reason: &str) {
        self.violations += 1;
    }
    fn weird(&mut self, _weird: Weird, _addl: Option<&str>, _source: &str) {}
    fn weird_named(&mut self, _name: &str, _addl: Option<&str>, _source: &str) {}
    fn log(&mut self, _stream: &'static str, row: &[Option<Value<'_>>]) {
        self.rows += row.len().min(1);
    }
    fn history_once(&mut self, _code: u8) {}
    fn worker_state(&mut self) -> Option<&mut (dyn std::any::Any + Send)> {
        Some(self.cache.as_mut())
    }
}

/// Splits a fuzz input into chunks: `[flags][len_hi][len_lo][data...]` repeated; flags bit 0 = from the
/// originator. A truncated last chunk takes what is left.
pub fn chunks(data: &[u8]) -> Vec<(bool, &[u8])> {
    let mut out = Vec::new();
    let mut p = 0;
    while p < data.len() {
        let flags = data[p];
        let len = match data.get(p + 1..p + 3) {
            Some(l) => usize::from(u16::from_be_bytes([l[0], l[1]])),
            None => break,
        };
        p += 3;
        let end = (p + len).min(data.len());
        out.push((flags & 1 == 1, &data[p..end]));
        p = end;
    }
    out
}

/// Encodes chunks in the format [`chunks`] reads (for writing seeds).
pub fn encode_chunks(list: &[(bool, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (is_orig, d) in list {
        for part in d.chunks(0xffff) {
            out.push(u8::from(*is_orig));
            out.extend_from_slice(&(part.len() as u16).to_be_bytes());
            out.extend_from_slice(part);
        }
    }
    out
}

/// The record/handshake layer over a stream (TLS over TCP), both directions interleaved; certificate
/// chains are validated against the built-in roots, and SCTs collected (no CT logs are known).
pub fn fuzz_tls_stream(data: &[u8]) -> NullContext {
    let mut cx = NullContext::new(Transport::Tcp);
    let mut a = SslAnalyzer::new(Config {
        ja3: true,
        ja4: true,
        validate_certs: true,
        validate_sct: true,
        ..Config::default()
    });
    for (is_orig, d) in chunks(data) {
        a.deliver_stream(&mut cx, is_orig, d);
    }
    a.done(&mut cx);
    cx
}

/// The DTLS layer: each chunk one datagram.
pub fn fuzz_dtls(data: &[u8]) -> NullContext {
    let mut cx = NullContext::new(Transport::Udp);
    let mut a = SslAnalyzer::new(Config {
        ja3: true,
        ja4: true,
        ..Config::default()
    });
    for (is_orig, d) in chunks(data) {
        a.deliver_packet(&mut cx, is_orig, d);
    }
    a.done(&mut cx);
    cx
}

/// Certificate handling: parsing and rendering every x509.log field of one DER certificate, its decoding
/// for verification, its SCT list extension and precertificate TBS.
pub fn fuzz_x509(data: &[u8]) {
    let mut weirds = Vec::new();
    if let Some(c) = crate::x509::parse_certificate(data, &mut weirds) {
        crate::with_x509_row(&Config::default(), 1.0, &c, true, false, |row| {
            assert_eq!(row.len(), crate::x509_schema().fields.len())
        });
        let _ = crate::x509::cert_matches_host(&c, "www.example.com");
    }
    // Verification: the certificate as its own chain, untrusted and then as a trust anchor (the
    // signature of a non-self-signed one is checked with its own key).
    let _ = crate::sct::certificate_scts(data);
    if let Some(c) = crate::verify::Cert::from_der(data) {
        let _ = crate::sct::precert_tbs(c.tbs());
        let c = std::sync::Arc::new(c);
        let chain = [c.clone(), c.clone()];
        let mut store = crate::verify::RootStore::new();
        let _ = crate::verify::verify(&chain, &store, 1_400_000_000);
        store.add_der(data);
        let _ = crate::verify::verify(&chain, &store, 1_400_000_000);
    }
}

/// Stapled OCSP responses: parsing, the SCTs of their extensions, and validation for a host certificate
/// (one of the built-in roots stands in) against an empty store.
pub fn fuzz_ocsp(data: &[u8]) {
    let _ = crate::ocsp::response_scts(data);
    let host = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .first()
        .and_then(|d| crate::verify::Cert::from_der(d.as_ref()));
    let chain: Vec<std::sync::Arc<crate::verify::Cert>> = host.into_iter().map(std::sync::Arc::new).collect();
    let _ = crate::ocsp::verify_response(data, &chain, &crate::verify::RootStore::new(), 1_400_000_000);
}
