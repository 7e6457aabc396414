//! # weir-ssl: the TLS/DTLS analyzer
//!
//! SSLv2-compatible ClientHello, SSL 3.0, TLS 1.0–1.3 over TCP and DTLS 1.0–1.3 over UDP, writing ssl.log and
//! x509.log as Zeek 9.1 does (`base/protocols/ssl`, `base/files/x509`).
//!
//! Layers, each testable alone:
//! * [`parse`]: pure parsers of handshake bodies and extensions (binpac's grammar);
//! * [`proto`]: the protocol state machine (record reassembly, handshake stitching, DTLS fragments,
//!   encryption state, negotiated version, flips) producing [`proto::Event`]s;
//! * [`session`]: the script logic of main.zeek / files.zeek / x509 main.zeek turning events into
//!   [`session::Action`]s (log rows, weirds, confirmation);
//! * [`x509`]: certificate rendering and the x509 de-duplication cache;
//! * [`SslAnalyzer`]: the [`weir_api::Analyzer`] gluing them to a [`weir_api::Context`].

pub mod consts;
mod der;
pub mod fingerprint;
#[doc(hidden)]
pub mod fuzzing;
pub mod ocsp;
pub mod parse;
pub mod proto;
pub mod sct;
pub mod session;
pub mod validation;
pub mod verify;
mod wire;
pub mod x509;

use session::{Action, Session, SslRow};
use std::sync::Arc;
use weir_api::analyzer::{Analyzer, AnalyzerInfo, Context, Probe, Settings, Transport};
use weir_api::log::{Field, FieldType, Schema, Value, CONN_PREFIX};

/// Settings of this analyzer (Zeek's names; `SSL::log_ja3` / `SSL::log_ja4` are weir's own flags).
pub const SETTINGS: &[&str] = &[
    "SSL::max_ssl_history_length",
    "SSL::disable_analyzer_after_detection",
    "SSL::log_include_server_certificate_subject_issuer",
    "SSL::log_include_client_certificate_subject_issuer",
    "SSL::max_alerts_per_record",
    "SSL::dtls_max_version_errors",
    "SSL::dtls_max_reported_version_errors",
    "X509::relog_known_certificates_after",
    "X509::known_log_certs_maximum_size",
    "SSL::log_ja3",
    "SSL::log_ja4",
    "X509::log_hostcerts_only",
    "X509::log_tbs_sig_alg",
    "SSL::log_requested_client_certificate_authorities",
    "SSL::log_ext",
    "X509::log_cert_base64",
    "SSL::validate_certs",
    "SSL::ssl_cache_intermediate_ca",
    "SSL::root_certs",
    "SSL::validate_sct",
    "SSL::ct_logs",
    "SSL::validate_ocsp",
    "X509::caching_required_encounters",
    "X509::caching_required_encounters_interval",
];

/// The analyzer's configuration, from [`Settings`].
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub max_ssl_history_length: u64,
    pub disable_analyzer_after_detection: bool,
    pub log_server_subject_issuer: bool,
    pub log_client_subject_issuer: bool,
    pub max_alerts_per_record: u64,
    pub dtls_max_version_errors: u64,
    pub dtls_max_reported_version_errors: u64,
    /// Seconds; 0 disables the x509.log de-duplication.
    pub relog_known_certificates_after: f64,
    pub known_log_certs_maximum_size: usize,
    /// Add `ja3`, `ja3s` to ssl.log.
    pub ja3: bool,
    /// Add `ja4`, `ja4s` to ssl.log.
    pub ja4: bool,
    /// Set by the analyzer for DTLS connections (JA4's protocol letter).
    pub dtls_hint: bool,
    /// `policy/protocols/ssl/log-hostcerts-only.zeek` loaded: x509.log only gets host certificates (the
    /// de-duplication cache still records the others, as the log policy hook runs after it).
    pub log_hostcerts_only: bool,
    /// `redef record X509::Certificate$tbs_sig_alg += { &log }`: x509.log gains `certificate.tbs_sig_alg`.
    pub log_tbs_sig_alg: bool,
    /// `policy/protocols/ssl/log-certs-base64.zeek`: x509.log gains `cert` (base64 DER).
    pub log_cert_base64: bool,
    /// `policy/protocols/ssl/certificate-request-info.zeek`: ssl.log gains
    /// `requested_client_certificate_authorities`.
    pub log_requested_cas: bool,
    /// `policy/protocols/ssl/ssl-log-ext.zeek`: its 20 columns.
    pub log_ext: bool,
    /// `policy/protocols/ssl/validate-certs.zeek`: ssl.log gains `validation_status`.
    pub validate_certs: bool,
    /// `SSL::ssl_cache_intermediate_ca` (validate-certs.zeek).
    pub cache_intermediate_ca: bool,
    /// `SSL::root_certs`: the trusted certificates.
    pub root_certs: validation::RootCerts,
    /// `policy/protocols/ssl/validate-sct.zeek` (which loads validate-certs): ssl.log gains `valid_ct_logs`,
    /// `valid_ct_operators`.
    pub validate_sct: bool,
    /// `SSL::ct_logs`: the known CT logs (files of Google's log list format).
    pub ct_logs: sct::CtLogFiles,
    /// `policy/protocols/ssl/validate-ocsp.zeek`: ssl.log gains `ocsp_status`.
    pub validate_ocsp: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_ssl_history_length: 100,
            disable_analyzer_after_detection: true,
            log_server_subject_issuer: false,
            log_client_subject_issuer: false,
            max_alerts_per_record: 10,
            dtls_max_version_errors: 10,
            dtls_max_reported_version_errors: 1,
            relog_known_certificates_after: 86400.0,
            known_log_certs_maximum_size: 1_000_000,
            ja3: false,
            ja4: false,
            dtls_hint: false,
            log_hostcerts_only: false,
            log_tbs_sig_alg: false,
            log_cert_base64: false,
            log_requested_cas: false,
            log_ext: false,
            validate_certs: false,
            cache_intermediate_ca: true,
            root_certs: validation::RootCerts::default(),
            validate_sct: false,
            ct_logs: sct::CtLogFiles::default(),
            validate_ocsp: false,
        }
    }
}

/// Parses a Zeek interval (`1day`, `0secs`, `11min`, `2.5 hrs`, `30`), in seconds.
pub fn parse_interval(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.trim().parse().map_err(|_| format!("not an interval: {s:?}"))?;
    let mult = match unit.trim() {
        "" | "sec" | "secs" => 1.0,
        "usec" | "usecs" => 1e-6,
        "msec" | "msecs" => 1e-3,
        "min" | "mins" => 60.0,
        "hr" | "hrs" => 3600.0,
        "day" | "days" => 86400.0,
        u => return Err(format!("unknown interval unit {u:?} in {s:?}")),
    };
    Ok(n * mult)
}

impl Config {
    pub fn from_settings(s: &Settings) -> Result<Config, String> {
        let d = Config::default();
        // Zeek's certificate event cache (base/files/x509/certificate-event-cache.zeek) decides only
        // whether a repeated certificate's events are replayed from the cache or parsed again; the logs
        // are the same either way (unless a script's `X509::x509_certificate_cache_replay` hook breaks).
        // weir parses every certificate and runs no scripts: the settings are checked and change nothing.
        s.count("X509::caching_required_encounters", 10)?;
        if let Some(v) = s.get("X509::caching_required_encounters_interval") {
            parse_interval(v)?;
        }
        Ok(Config {
            max_ssl_history_length: s.count("SSL::max_ssl_history_length", d.max_ssl_history_length)?,
            disable_analyzer_after_detection: s.bool(
                "SSL::disable_analyzer_after_detection",
                d.disable_analyzer_after_detection,
            )?,
            log_server_subject_issuer: s.bool("SSL::log_include_server_certificate_subject_issuer", false)?,
            log_client_subject_issuer: s.bool("SSL::log_include_client_certificate_subject_issuer", false)?,
            max_alerts_per_record: s.count("SSL::max_alerts_per_record", d.max_alerts_per_record)?,
            dtls_max_version_errors: s.count("SSL::dtls_max_version_errors", d.dtls_max_version_errors)?,
            dtls_max_reported_version_errors: s.count(
                "SSL::dtls_max_reported_version_errors",
                d.dtls_max_reported_version_errors,
            )?,
            relog_known_certificates_after: match s.get("X509::relog_known_certificates_after") {
                None => d.relog_known_certificates_after,
                Some(v) => parse_interval(v)?,
            },
            known_log_certs_maximum_size: s.count("X509::known_log_certs_maximum_size", 1_000_000)? as usize,
            ja3: s.bool("SSL::log_ja3", false)?,
            ja4: s.bool("SSL::log_ja4", false)?,
            dtls_hint: false,
            log_hostcerts_only: s.bool("X509::log_hostcerts_only", false)?,
            log_tbs_sig_alg: s.bool("X509::log_tbs_sig_alg", false)?,
            log_cert_base64: s.bool("X509::log_cert_base64", false)?,
            log_requested_cas: s.bool("SSL::log_requested_client_certificate_authorities", false)?,
            log_ext: s.bool("SSL::log_ext", false)?,
            validate_sct: s.bool("SSL::validate_sct", false)?,
            validate_certs: s.bool("SSL::validate_certs", false)? || s.bool("SSL::validate_sct", false)?,
            ct_logs: sct::CtLogFiles::from_settings(s.get("SSL::ct_logs"), s.added("SSL::ct_logs")),
            validate_ocsp: s.bool("SSL::validate_ocsp", false)?,
            cache_intermediate_ca: s.bool("SSL::ssl_cache_intermediate_ca", d.cache_intermediate_ca)?,
            root_certs: validation::RootCerts::from_settings(s.get("SSL::root_certs"), s.added("SSL::root_certs")),
        })
    }
}

static STRING: FieldType = FieldType::String;
static ADDR: FieldType = FieldType::Addr;
static COUNT: FieldType = FieldType::Count;

const EXT_FIELDS: &[(&str, bool)] = &[
    ("server_version", false),
    ("client_version", false),
    ("client_ciphers", true),
    ("ssl_client_exts", true),
    ("ssl_server_exts", true),
    ("ticket_lifetime_hint", false),
    ("dh_param_size", false),
    ("point_formats", true),
    ("client_curves", true),
    ("orig_alpn", true),
    ("client_supported_versions", true),
    ("server_supported_version", false),
    ("psk_key_exchange_modes", true),
    ("client_key_share_groups", true),
    ("server_key_share_group", false),
    ("client_comp_methods", true),
    ("sigalgs", true),
    ("hashalgs", true),
    ("ech_kdf_id", false),
    ("ech_aead_id", false),
];

/// ssl.log's columns for a configuration: the subject/issuer columns only when their `SSL::log_include_*`
/// option is set (files.zeek excludes them from the default filter otherwise); JA3/JA4 at the end.
pub fn ssl_schema(cfg: &Config) -> Schema {
    use FieldType::*;
    let mut f = CONN_PREFIX.to_vec();
    f.extend([
        Field::new("version", String),
        Field::new("cipher", String),
        Field::new("curve", String),
        Field::new("server_name", String),
        Field::new("resumed", Bool),
        Field::new("last_alert", String),
        Field::new("next_protocol", String),
        Field::new("established", Bool),
        Field::new("ssl_history", String),
        Field::new("cert_chain_fps", Vector(&STRING)),
        Field::new("client_cert_chain_fps", Vector(&STRING)),
    ]);
    if cfg.log_server_subject_issuer {
        f.push(Field::new("subject", String));
        f.push(Field::new("issuer", String));
    }
    if cfg.log_client_subject_issuer {
        f.push(Field::new("client_subject", String));
        f.push(Field::new("client_issuer", String));
    }
    f.push(Field::new("sni_matches_cert", Bool));
    if cfg.log_requested_cas {
        f.push(Field::new("requested_client_certificate_authorities", Vector(&STRING)));
    }
    if cfg.validate_certs {
        f.push(Field::new("validation_status", String));
    }
    if cfg.validate_sct {
        f.push(Field::new("valid_ct_logs", Count));
        f.push(Field::new("valid_ct_operators", Count));
    }
    if cfg.validate_ocsp {
        f.push(Field::new("ocsp_status", String));
    }
    if cfg.log_ext {
        for &(name, vec) in EXT_FIELDS {
            let ty = match (name, vec) {
                ("orig_alpn", _) => Vector(&STRING),
                (_, true) => Vector(&COUNT),
                (_, false) => Count,
            };
            f.push(Field::new(name, ty));
        }
    }
    if cfg.ja3 {
        f.push(Field::new("ja3", String));
        f.push(Field::new("ja3s", String));
    }
    if cfg.ja4 {
        f.push(Field::new("ja4", String));
        f.push(Field::new("ja4s", String));
    }
    Schema::new("ssl", &f)
}

/// x509.log's default columns (`X509::Info` with `certificate`, `san`, `basic_constraints` flattened).
pub fn x509_schema() -> Schema {
    x509_schema_for(&Config::default())
}

/// x509.log's columns for a configuration (`certificate.tbs_sig_alg`, `cert` when enabled).
pub fn x509_schema_for(cfg: &Config) -> Schema {
    use FieldType::*;
    let mut f = vec![
        Field::new("ts", Time),
        Field::new("fingerprint", String),
        Field::new("certificate.version", Count),
        Field::new("certificate.serial", String),
        Field::new("certificate.subject", String),
        Field::new("certificate.issuer", String),
        Field::new("certificate.not_valid_before", Time),
        Field::new("certificate.not_valid_after", Time),
        Field::new("certificate.key_alg", String),
        Field::new("certificate.sig_alg", String),
        Field::new("certificate.key_type", String),
        Field::new("certificate.key_length", Count),
        Field::new("certificate.exponent", String),
        Field::new("certificate.curve", String),
    ];
    if cfg.log_tbs_sig_alg {
        f.push(Field::new("certificate.tbs_sig_alg", String));
    }
    f.extend([
        Field::new("san.dns", Vector(&STRING)),
        Field::new("san.uri", Vector(&STRING)),
        Field::new("san.email", Vector(&STRING)),
        Field::new("san.ip", Vector(&ADDR)),
        Field::new("basic_constraints.ca", Bool),
        Field::new("basic_constraints.path_len", Count),
        Field::new("host_cert", Bool),
        Field::new("client_cert", Bool),
    ]);
    if cfg.log_cert_base64 {
        f.push(Field::new("cert", String));
    }
    Schema::new("x509", &f)
}

/// Calls `f` with the ssl.log row (schema order of [`ssl_schema`]) as values.
pub fn with_ssl_row<R>(
    cfg: &Config,
    conn: &weir_api::ConnInfo<'_>,
    row: &SslRow,
    f: impl FnOnce(&[Option<Value<'_>>]) -> R,
) -> R {
    let fps: Option<Vec<Value<'_>>> = row
        .cert_chain_fps
        .as_ref()
        .map(|v| v.iter().map(|s| Value::str(s)).collect());
    let cfps: Option<Vec<Value<'_>>> = row
        .client_cert_chain_fps
        .as_ref()
        .map(|v| v.iter().map(|s| Value::str(s)).collect());
    fn s(o: &Option<String>) -> Option<Value<'_>> {
        o.as_deref().map(Value::str)
    }
    let mut vals: Vec<Option<Value<'_>>> = vec![
        Some(Value::Time(row.ts)),
        Some(Value::str(conn.uid)),
        Some(Value::Addr(conn.orig_h)),
        Some(Value::Port(conn.orig_p)),
        Some(Value::Addr(conn.resp_h)),
        Some(Value::Port(conn.resp_p)),
        s(&row.version),
        s(&row.cipher),
        s(&row.curve),
        row.server_name.as_deref().map(Value::Str),
        Some(Value::Bool(row.resumed)),
        s(&row.last_alert),
        row.next_protocol.as_deref().map(Value::Str),
        Some(Value::Bool(row.established)),
        Some(Value::str(&row.ssl_history)),
        fps.as_deref().map(Value::List),
        cfps.as_deref().map(Value::List),
    ];
    if cfg.log_server_subject_issuer {
        vals.push(s(&row.subject));
        vals.push(s(&row.issuer));
    }
    if cfg.log_client_subject_issuer {
        vals.push(s(&row.client_subject));
        vals.push(s(&row.client_issuer));
    }
    vals.push(row.sni_matches_cert.map(Value::Bool));
    let cas: Option<Vec<Value<'_>>> = row
        .requested_client_certificate_authorities
        .as_ref()
        .map(|v| v.iter().map(|s| Value::str(s)).collect());
    if cfg.log_requested_cas {
        vals.push(cas.as_deref().map(Value::List));
    }
    if cfg.validate_certs {
        vals.push(row.validation_status.map(Value::str));
    }
    if cfg.validate_sct {
        vals.push(row.valid_ct_logs.map(Value::Count));
        vals.push(row.valid_ct_operators.map(Value::Count));
    }
    if cfg.validate_ocsp {
        vals.push(row.ocsp_status.map(Value::str));
    }
    let x = &row.ext;
    let cl = |v: &Option<Vec<u64>>| -> Option<Vec<Value<'static>>> {
        v.as_ref().map(|v| v.iter().map(|&c| Value::Count(c)).collect())
    };
    let lists = [
        cl(&x.client_ciphers),
        cl(&x.ssl_client_exts),
        cl(&x.ssl_server_exts),
        cl(&x.point_formats),
        cl(&x.client_curves),
        cl(&x.client_supported_versions),
        cl(&x.psk_key_exchange_modes),
        cl(&x.client_key_share_groups),
        cl(&x.client_comp_methods),
        cl(&x.sigalgs),
        cl(&x.hashalgs),
    ];
    let alpn: Option<Vec<Value<'_>>> = x.orig_alpn.as_ref().map(|v| v.iter().map(|p| Value::Str(p)).collect());
    if cfg.log_ext {
        let c = |v: Option<u64>| v.map(Value::Count);
        let l = |i: usize| lists[i].as_deref().map(Value::List);
        vals.extend([
            c(x.server_version),
            c(x.client_version),
            l(0),
            l(1),
            l(2),
            c(x.ticket_lifetime_hint),
            c(x.dh_param_size),
            l(3),
            l(4),
            alpn.as_deref().map(Value::List),
            l(5),
            c(x.server_supported_version),
            l(6),
            l(7),
            c(x.server_key_share_group),
            l(8),
            l(9),
            l(10),
            c(x.ech_kdf_id),
            c(x.ech_aead_id),
        ]);
    }
    if cfg.ja3 {
        vals.push(s(&row.ja3));
        vals.push(s(&row.ja3s));
    }
    if cfg.ja4 {
        vals.push(s(&row.ja4));
        vals.push(s(&row.ja4s));
    }
    f(&vals)
}

/// Calls `f` with the x509.log row (schema order of [`x509_schema_for`]).
pub fn with_x509_row<R>(
    cfg: &Config,
    ts: f64,
    c: &x509::CertInfo,
    host_cert: bool,
    client_cert: bool,
    f: impl FnOnce(&[Option<Value<'_>>]) -> R,
) -> R {
    fn strs(v: &Option<Vec<String>>) -> Option<Vec<Value<'_>>> {
        v.as_ref().map(|v| v.iter().map(|s| Value::str(s)).collect())
    }
    let san = c.san.clone().unwrap_or_default();
    let dns = strs(&san.dns);
    let uri = strs(&san.uri);
    let email = strs(&san.email);
    let ip: Option<Vec<Value<'_>>> = san.ip.as_ref().map(|v| v.iter().map(|a| Value::Addr(*a)).collect());
    let b64 = cfg.log_cert_base64.then(|| x509::base64(&c.der));
    let mut vals: Vec<Option<Value<'_>>> = vec![
        Some(Value::Time(ts)),
        Some(Value::str(&c.fingerprint)),
        Some(Value::Count(c.version)),
        Some(Value::str(&c.serial)),
        Some(Value::str(&c.subject)),
        Some(Value::str(&c.issuer)),
        Some(Value::Time(c.not_valid_before)),
        Some(Value::Time(c.not_valid_after)),
        Some(Value::str(&c.key_alg)),
        Some(Value::str(&c.sig_alg)),
        c.key_type.as_deref().map(Value::str),
        c.key_length.map(Value::Count),
        c.exponent.as_deref().map(Value::str),
        c.curve.as_deref().map(Value::str),
    ];
    if cfg.log_tbs_sig_alg {
        vals.push(Some(Value::str(&c.tbs_sig_alg)));
    }
    vals.extend([
        dns.as_deref().map(Value::List),
        uri.as_deref().map(Value::List),
        email.as_deref().map(Value::List),
        ip.as_deref().map(Value::List),
        c.basic_constraints.map(|b| Value::Bool(b.0)),
        c.basic_constraints.and_then(|b| b.1).map(Value::Count),
        Some(Value::Bool(host_cert)),
        Some(Value::Bool(client_cert)),
    ]);
    if let Some(b) = &b64 {
        vals.push(Some(Value::str(b)));
    }
    f(&vals)
}

/// The analyzer of one connection.
pub struct SslAnalyzer {
    cfg: Config,
    proto: Option<proto::Proto>,
    session: Session,
    disabled: bool,
    events: Vec<proto::Event>,
    actions: Vec<Action>,
}

impl SslAnalyzer {
    pub fn new(cfg: Config) -> SslAnalyzer {
        SslAnalyzer {
            cfg,
            proto: None,
            session: Session::new(),
            disabled: false,
            events: Vec::new(),
            actions: Vec::new(),
        }
    }

    fn proto(&mut self, dtls: bool) -> &mut proto::Proto {
        let cfg = &self.cfg;
        self.proto.get_or_insert_with(|| {
            let mut p = proto::Proto::new(dtls);
            p.max_alerts_per_record = cfg.max_alerts_per_record as usize;
            p.dtls_max_version_errors = cfg.dtls_max_version_errors as u32;
            p.dtls_max_reported_version_errors = cfg.dtls_max_reported_version_errors as u32;
            p
        })
    }

    /// True once the analyzer stopped (detection done with `SSL::disable_analyzer_after_detection`).
    pub fn disabled(&self) -> bool {
        self.disabled
    }

    fn drain(&mut self, cx: &mut dyn Context) {
        let now = cx.network_time();
        let events = std::mem::take(&mut self.events);
        for ev in events {
            self.session.handle(&self.cfg, now, ev, &mut self.actions);
        }
        self.apply(cx);
    }

    fn apply(&mut self, cx: &mut dyn Context) {
        let actions = std::mem::take(&mut self.actions);
        for a in actions {
            match a {
                Action::Confirm => cx.confirm(),
                Action::Violation(m) => cx.violation(&m),
                Action::Weird(name, addl, src) => {
                    let source = match src {
                        session::WeirdSource::Analyzer if self.cfg.dtls_hint => "DTLS",
                        session::WeirdSource::Analyzer => "SSL",
                        session::WeirdSource::Script => "",
                        session::WeirdSource::Named(n) => n,
                    };
                    emit_weird(cx, &name, addl.as_deref(), source)
                }
                Action::LogSsl(mut row) => {
                    if self.cfg.validate_certs || self.cfg.validate_ocsp {
                        self.validate(cx, &mut row);
                    }
                    let cfg = self.cfg.clone();
                    let conn = cx.conn();
                    let uid = conn.uid.to_string();
                    let conn = weir_api::ConnInfo { uid: &uid, ..conn };
                    with_ssl_row(&cfg, &conn, &row, |vals| cx.log("ssl", vals));
                }
                Action::LogX509 {
                    ts,
                    cert,
                    host_cert,
                    client_cert,
                } => {
                    if host_cert || !self.cfg.log_hostcerts_only {
                        // `X509::known_log_certs`: once per (fingerprint, host_cert, client_cert) per
                        // `X509::relog_known_certificates_after`, decided run-wide by the engine.
                        let mut key = cert.fingerprint.as_bytes().to_vec();
                        key.extend_from_slice(&[host_cert as u8, client_cert as u8]);
                        let (keep, max) = (
                            self.cfg.relog_known_certificates_after,
                            self.cfg.known_log_certs_maximum_size,
                        );
                        with_x509_row(&self.cfg, ts, &cert, host_cert, client_cert, |vals| {
                            cx.log_once("x509", &key, ts, keep, max, vals)
                        });
                    }
                }
                Action::Disable => {
                    self.disabled = true;
                    if let Some(p) = self.proto.as_mut() {
                        p.skip = true;
                    }
                }
            }
        }
    }
}

/// What the analyzer keeps across the connections of one worker.
#[derive(Debug, Default)]
pub struct WorkerState {
    /// validate-certs.zeek's result and intermediate caches.
    pub validation: validation::Caches,
    /// validate-sct.zeek's result cache.
    pub sct: sct::SctCache,
}

fn worker_state(cx: &mut dyn Context) -> Option<&mut WorkerState> {
    cx.worker_state().and_then(|s| s.downcast_mut::<WorkerState>())
}

impl SslAnalyzer {
    /// The `ssl_finishing` hooks of validate-certs.zeek (`validation_status` for the server's chain, at
    /// network time) and, with `SSL::validate_sct`, validate-sct.zeek (`valid_ct_logs`,
    /// `valid_ct_operators`); validate-ocsp.zeek's `ssl_established` handler (`ocsp_status` of the stapled
    /// response, for rows written at establishment). A root or CT log file that cannot be loaded is reported
    /// once on stderr; for roots, the status is Zeek's message for a failed root store.
    fn validate(&self, cx: &mut dyn Context, row: &mut SslRow) {
        let certs: Vec<Arc<verify::Cert>> = row
            .server_chain_der
            .iter()
            .filter_map(|d| verify::Cert::from_der(d))
            .map(Arc::new)
            .collect();
        let ocsp = row
            .ocsp_response
            .as_deref()
            .filter(|_| self.cfg.validate_ocsp && row.established);
        if certs.is_empty() || (!self.cfg.validate_certs && ocsp.is_none()) {
            return;
        }
        let store = self.cfg.root_certs.store();
        let Some(store) = loaded(&store) else {
            const NO_STORE: &str = "Problem initializing root store";
            if self.cfg.validate_certs {
                row.validation_status = Some(NO_STORE);
            }
            if ocsp.is_some() {
                row.ocsp_status = Some(NO_STORE);
            }
            return;
        };
        let now = cx.network_time();
        if let Some(response) = ocsp {
            row.ocsp_status = Some(ocsp::verify_response(response, &certs, store, now.trunc() as i64));
        }
        if !self.cfg.validate_certs {
            return;
        }
        let mut own = None;
        let state = match worker_state(cx) {
            Some(s) => s,
            None => own.insert(WorkerState::default()),
        };
        let validated = state
            .validation
            .validate(&certs, store, self.cfg.cache_intermediate_ca, now);
        row.validation_status = Some(validation::status_string(&validated.result));
        if !self.cfg.validate_sct {
            return;
        }
        static LOGS: validation::Loaded<sct::CtLogFiles, sct::CtLogs> = std::sync::OnceLock::new();
        let logs = validation::load_once(&LOGS, &self.cfg.ct_logs, sct::CtLogFiles::load);
        let no_logs = sct::CtLogs::default();
        let chain = sct::Chain {
            sent: &certs,
            valid_issuer_key_hash: validated.issuer_key_hash,
            cached_intermediate_key_hash: state.validation.cached_intermediate_key_hash(&certs[0].issuer_der),
            validation_code: Some(validated.code()),
        };
        let (logs, operators) = state
            .sct
            .validate(&row.ct_proofs, &chain, loaded(&logs).unwrap_or(&no_logs), now);
        row.valid_ct_logs = Some(logs);
        row.valid_ct_operators = Some(operators);
    }
}

/// The loaded value, or None after reporting the error once.
fn loaded<T>(r: &Result<T, String>) -> Option<&T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            static REPORTED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
            let mut seen = REPORTED.lock().unwrap_or_else(|p| p.into_inner());
            if !seen.contains(e) {
                eprintln!("weir: {e}");
                seen.push(e.clone());
            }
            None
        }
    }
}

/// Reports a weird by its Zeek name, typed where [`weir_api::Weird`] has the variant.
fn emit_weird(cx: &mut dyn Context, name: &str, addl: Option<&str>, source: &str) {
    match weird_variant(name) {
        Some(w) => cx.weird(w, addl, source),
        None => cx.weird_named(name, addl, source),
    }
}

fn weird_variant(name: &str) -> Option<weir_api::Weird> {
    use weir_api::Weird as W;
    Some(match name {
        "SSL_excessive_alerts_in_record" => W::SSL_excessive_alerts_in_record,
        "SSL_many_server_names" => W::SSL_many_server_names,
        "SSL_max_ssl_history_length_reached" => W::SSL_max_ssl_history_length_reached,
        "SSL_unclear_connection_direction" => W::SSL_unclear_connection_direction,
        "SSL_zero_length_stapled_OCSP_message" => W::SSL_zero_length_stapled_OCSP_message,
        "ssl_early_application_data" => W::ssl_early_application_data,
        "ssl_ext_unknown_server_name_type" => W::ssl_ext_unknown_server_name_type,
        "ssl_unexpected_inner_encrypted_client_hello" => W::ssl_unexpected_inner_encrypted_client_hello,
        "x509_san_ip_length" => W::x509_san_ip_length,
        "x509_san_non_string" => W::x509_san_non_string,
        "zero_length_certificate" => W::zero_length_certificate,
        _ => return None,
    })
}

impl Analyzer for SslAnalyzer {
    fn name(&self) -> &'static str {
        "ssl"
    }

    fn deliver_stream(&mut self, cx: &mut dyn Context, is_orig: bool, data: &[u8]) {
        // Zeek's SSL analyzer ignores the streams of partial connections (no SYN seen).
        if self.disabled || cx.is_partial() {
            return;
        }
        let mut ev = std::mem::take(&mut self.events);
        self.proto(false).deliver_stream(is_orig, data, &mut ev);
        self.events = ev;
        self.drain(cx);
    }

    fn undelivered(&mut self, _cx: &mut dyn Context, _is_orig: bool, _seq: u64, _len: u64) {
        self.proto(false).gap();
    }

    fn deliver_packet(&mut self, cx: &mut dyn Context, is_orig: bool, data: &[u8]) {
        if self.disabled {
            return;
        }
        self.cfg.dtls_hint = true;
        let mut ev = std::mem::take(&mut self.events);
        self.proto(true).deliver_packet(is_orig, data, &mut ev);
        self.events = ev;
        self.drain(cx);
    }

    fn flip_roles(&mut self) {
        if let Some(p) = self.proto.as_mut() {
            p.flip_roles();
        }
    }

    fn done(&mut self, cx: &mut dyn Context) {
        self.session.done(&self.cfg, &mut self.actions);
        self.apply(cx);
    }
}

/// Zeek's DPD signatures for SSL/TLS/DTLS (`base/protocols/ssl/dpd.sig`).
pub fn probe(transport: Transport, is_orig: bool, d: &[u8]) -> Probe {
    match transport {
        Transport::Tcp => {
            if is_orig {
                // ^\x16\x03[\x00-\x03]..\x01...\x03[\x00-\x03]
                let pat: [Option<&[u8]>; 11] = [
                    Some(&[0x16]),
                    Some(&[0x03]),
                    Some(&[0, 1, 2, 3]),
                    None,
                    None,
                    Some(&[0x01]),
                    None,
                    None,
                    None,
                    Some(&[0x03]),
                    Some(&[0, 1, 2, 3]),
                ];
                match_prefix(&pat, d)
            } else {
                // ^(\x15\x03[\x00-\x03]....)?\x16\x03[\x00-\x03]..\x02...((\x03[\x00-\x04])|(\x7F[\x00-\x50]))
                let server = |d: &[u8]| -> Probe {
                    let pat: [Option<&[u8]>; 9] = [
                        Some(&[0x16]),
                        Some(&[0x03]),
                        Some(&[0, 1, 2, 3]),
                        None,
                        None,
                        Some(&[0x02]),
                        None,
                        None,
                        None,
                    ];
                    match match_prefix(&pat, d) {
                        Probe::Yes => {}
                        other => return other,
                    }
                    match (d.get(9), d.get(10)) {
                        (None, _) | (Some(3 | 0x7f), None) => Probe::Unsure,
                        (Some(3), Some(&b)) if b <= 4 => Probe::Yes,
                        (Some(0x7f), Some(&b)) if b <= 0x50 => Probe::Yes,
                        _ => Probe::No,
                    }
                };
                let direct = server(d);
                if direct != Probe::No {
                    return direct;
                }
                let alert: [Option<&[u8]>; 3] = [Some(&[0x15]), Some(&[0x03]), Some(&[0, 1, 2, 3])];
                match match_prefix(&alert, d) {
                    Probe::Yes if d.len() >= 7 => server(&d[7..]),
                    Probe::Yes => Probe::Unsure,
                    other => other,
                }
            }
        }
        Transport::Udp => {
            // ^\x16\xfe[\xff\xfd]\x00{7}...\x01...........\xfe[\xff\xfd]
            let mut pat: Vec<Option<&[u8]>> = vec![Some(&[0x16]), Some(&[0xfe]), Some(&[0xff, 0xfd])];
            pat.extend(std::iter::repeat_n(Some(&[0u8][..]), 7));
            pat.extend([None, None, None, Some(&[0x01][..])]);
            pat.extend(std::iter::repeat_n(None, 11));
            pat.extend([Some(&[0xfe][..]), Some(&[0xff, 0xfd][..])]);
            match_prefix(&pat, d)
        }
        _ => Probe::No,
    }
}

fn match_prefix(pat: &[Option<&[u8]>], d: &[u8]) -> Probe {
    for (i, p) in pat.iter().enumerate() {
        let Some(&b) = d.get(i) else { return Probe::Unsure };
        if let Some(set) = p {
            if !set.contains(&b) {
                return Probe::No;
            }
        }
    }
    Probe::Yes
}

fn new_analyzer(settings: &Settings) -> Box<dyn Analyzer> {
    // The engine checks settings before the run; fall back to defaults for a bad value.
    Box::new(SslAnalyzer::new(Config::from_settings(settings).unwrap_or_default()))
}

fn new_worker_state() -> Box<dyn std::any::Any + Send> {
    Box::new(WorkerState::default())
}

/// The log schemas for these settings (several settings add columns); every registration's `logs`.
pub fn logs_for(settings: &Settings) -> Vec<Schema> {
    let cfg = Config::from_settings(settings).unwrap_or_default();
    vec![ssl_schema(&cfg), x509_schema_for(&cfg)]
}

/// Zeek's `SSL::ssl_ports` (TCP) followed by `SSL::dtls_ports` (UDP).
const SSL_PORTS: &[(Transport, u16)] = &[
    (Transport::Tcp, 443),
    (Transport::Tcp, 465),
    (Transport::Tcp, 563),
    (Transport::Tcp, 585),
    (Transport::Tcp, 614),
    (Transport::Tcp, 636),
    (Transport::Tcp, 989),
    (Transport::Tcp, 990),
    (Transport::Tcp, 992),
    (Transport::Tcp, 993),
    (Transport::Tcp, 995),
    (Transport::Tcp, 5223),
    (Transport::Udp, 443),
];
const TLS_PORTS: &[(Transport, u16)] = SSL_PORTS.split_at(SSL_PORTS.len() - 1).0;
const DTLS_PORTS: &[(Transport, u16)] = SSL_PORTS.split_at(SSL_PORTS.len() - 1).1;

/// Zeek's ANALYZER_SSL alone: TCP (`SSL::ssl_ports`), conn.log service `ssl`.
pub static TLS: AnalyzerInfo = AnalyzerInfo {
    name: "ssl",
    transports: &[Transport::Tcp],
    ports: TLS_PORTS,
    probe: Some(probe),
    logs: logs_for,
    settings: SETTINGS,
    new: new_analyzer,
    worker_state: Some(new_worker_state),
};

/// Zeek's ANALYZER_DTLS: UDP (`SSL::dtls_ports`). Zeek names its service `dtls` in conn.log (the analyzer
/// tag's name), which only a registration of its own can give.
pub static DTLS: AnalyzerInfo = AnalyzerInfo {
    name: "dtls",
    transports: &[Transport::Udp],
    ports: DTLS_PORTS,
    probe: Some(probe),
    logs: logs_for,
    settings: SETTINGS,
    new: new_analyzer,
    worker_state: Some(new_worker_state),
};

/// The combined registration: `ssl` on TCP (`SSL::ssl_ports`) and UDP (`SSL::dtls_ports`), detected on any
/// port. Simplest to wire, but DTLS connections then get service `ssl` where Zeek writes `dtls`; use
/// [`TLS`] + [`DTLS`] instead for exact conn.log services.
pub static SSL: AnalyzerInfo = AnalyzerInfo {
    name: "ssl",
    transports: &[Transport::Tcp, Transport::Udp],
    ports: SSL_PORTS,
    probe: Some(probe),
    logs: logs_for,
    settings: SETTINGS,
    new: new_analyzer,
    worker_state: Some(new_worker_state),
};
