//! The script layer: `base/protocols/ssl/main.zeek` and `files.zeek` (the `SSL::Info` record of one
//! connection, its history, when it is written) and `base/files/x509/main.zeek` (x509.log rows and their
//! de-duplication), driven by the protocol layer's [`Event`]s.

use crate::consts;
use crate::fingerprint::{Ja3, Ja4};
use crate::proto::Event;
use crate::x509::{self, CertInfo};
use crate::Config;

/// What the script layer asks of its caller after an event.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Confirm,
    Violation(String),
    /// A weird: name, addl, who reports it.
    Weird(String, Option<String>, WeirdSource),
    /// Write this ssl.log row.
    LogSsl(SslRow),
    /// Write this x509.log row, subject to the worker's de-duplication cache.
    LogX509 {
        ts: f64,
        cert: Box<CertInfo>,
        host_cert: bool,
        client_cert: bool,
    },
    /// `disable_analyzer`: stop analyzing the connection.
    Disable,
}

/// Who reports a weird, which decides weird.log's `source`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeirdSource {
    /// The analyzer itself (`SSL`, or `DTLS` over UDP).
    Analyzer,
    /// A script's `Reporter::conn_weird` (empty source).
    Script,
    /// A fixed source string (`Reporter::limit_reached_weird(..., "SSL")`, the X509 file analyzer).
    Named(&'static str),
}

/// One ssl.log row, owned (the connection's id fields are added by the caller).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SslRow {
    pub ts: f64,
    pub version: Option<String>,
    pub cipher: Option<String>,
    pub curve: Option<String>,
    pub server_name: Option<Vec<u8>>,
    pub resumed: bool,
    pub last_alert: Option<String>,
    pub next_protocol: Option<Vec<u8>>,
    pub established: bool,
    pub ssl_history: String,
    pub cert_chain_fps: Option<Vec<String>>,
    pub client_cert_chain_fps: Option<Vec<String>>,
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub client_subject: Option<String>,
    pub client_issuer: Option<String>,
    pub sni_matches_cert: Option<bool>,
    /// `validation_status` (policy/protocols/ssl/validate-certs), filled in by the analyzer from
    /// `server_chain_der`.
    pub validation_status: Option<&'static str>,
    /// With `SSL::validate_certs` or `SSL::validate_ocsp`: the DER of the server's certificates that parsed, in order, when the
    /// first one did (what validate-certs.zeek validates); empty otherwise. Not a column.
    pub server_chain_der: Vec<Vec<u8>>,
    /// With `SSL::validate_sct`: the SCTs seen (`ct_proofs`). Not a column.
    pub ct_proofs: Vec<crate::sct::SctInfo>,
    /// `valid_ct_logs`, `valid_ct_operators` (policy/protocols/ssl/validate-sct).
    pub valid_ct_logs: Option<u64>,
    pub valid_ct_operators: Option<u64>,
    /// With `SSL::validate_ocsp`: the last stapled OCSP response (`ocsp_response`). Not a column.
    pub ocsp_response: Option<Vec<u8>>,
    /// `ocsp_status` (policy/protocols/ssl/validate-ocsp).
    pub ocsp_status: Option<&'static str>,
    /// `requested_client_certificate_authorities` (policy/protocols/ssl/certificate-request-info).
    pub requested_client_certificate_authorities: Option<Vec<String>>,
    /// The columns of `policy/protocols/ssl/ssl-log-ext.zeek`.
    pub ext: LogExt,
    pub ja3: Option<String>,
    pub ja3s: Option<String>,
    pub ja4: Option<String>,
    pub ja4s: Option<String>,
}

/// The fields `policy/protocols/ssl/ssl-log-ext.zeek` adds to `SSL::Info`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogExt {
    pub server_version: Option<u64>,
    pub client_version: Option<u64>,
    pub client_ciphers: Option<Vec<u64>>,
    pub ssl_client_exts: Option<Vec<u64>>,
    pub ssl_server_exts: Option<Vec<u64>>,
    pub ticket_lifetime_hint: Option<u64>,
    pub dh_param_size: Option<u64>,
    pub point_formats: Option<Vec<u64>>,
    pub client_curves: Option<Vec<u64>>,
    pub orig_alpn: Option<Vec<Vec<u8>>>,
    pub client_supported_versions: Option<Vec<u64>>,
    pub server_supported_version: Option<u64>,
    pub psk_key_exchange_modes: Option<Vec<u64>>,
    pub client_key_share_groups: Option<Vec<u64>>,
    pub server_key_share_group: Option<u64>,
    pub client_comp_methods: Option<Vec<u64>>,
    pub sigalgs: Option<Vec<u64>>,
    pub hashalgs: Option<Vec<u64>>,
    pub ech_kdf_id: Option<u64>,
    pub ech_aead_id: Option<u64>,
}

fn counts<T: Copy + Into<u64>>(v: &[T]) -> Option<Vec<u64>> {
    Some(v.iter().map(|&x| x.into()).collect())
}

/// `SSL::Info` plus the connection fields the handlers use.
#[derive(Debug, Default)]
struct Info {
    row: SslRow,
    version_num: Option<u16>,
    session_id: Option<String>,
    client_ticket_empty_session_seen: bool,
    client_key_exchange_seen: bool,
    client_psk_seen: bool,
    analyzer_id: bool,
    logged: bool,
    hrr_seen: bool,
    /// `cert_chain` / `client_cert_chain`: one entry per certificate file (None: not parsed).
    cert_chain: Option<Vec<Option<CertInfo>>>,
    client_cert_chain: Option<Vec<Option<CertInfo>>>,
}

/// The script state of one connection.
#[derive(Debug, Default)]
pub struct Session {
    ssl: Option<Info>,
    ja3: Ja3,
    ja4: Ja4,
}

fn version_string(v: u16) -> String {
    match v {
        0x0002 => "SSLv2".into(),
        0x0300 => "SSLv3".into(),
        0x0301 => "TLSv10".into(),
        0x0302 => "TLSv11".into(),
        0x0303 => "TLSv12".into(),
        0x0304 => "TLSv13".into(),
        0xfeff => "DTLSv10".into(),
        0xfefd => "DTLSv12".into(),
        0xfefc => "DTLSv13".into(),
        _ if u32::from(v) / 0xFF == 0x7F => format!("TLSv13-draft{}", u32::from(v) % 0x7F),
        _ => format!("unknown-{v}"),
    }
}

fn table(v: Option<&'static str>, n: u64) -> String {
    v.map(str::to_string).unwrap_or_else(|| format!("unknown-{n}"))
}

const HRR_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91, 0xC2, 0xA2, 0x11,
    0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

impl Session {
    pub fn new() -> Session {
        Session::default()
    }

    /// True once the row has been written.
    pub fn logged(&self) -> bool {
        self.ssl.as_ref().is_some_and(|i| i.logged)
    }

    fn set_session(&mut self, now: f64) -> &mut Info {
        self.ssl.get_or_insert_with(|| Info {
            row: SslRow {
                ts: now,
                ..SslRow::default()
            },
            ..Info::default()
        })
    }

    fn add_to_history(&mut self, cfg: &Config, is_client: bool, ch: char, out: &mut Vec<Action>) {
        let Some(info) = self.ssl.as_mut() else { return };
        let max = cfg.max_ssl_history_length;
        let h = &mut info.row.ssl_history;
        if h.chars().count() as u64 == max {
            return;
        }
        h.push(if is_client {
            ch.to_ascii_uppercase()
        } else {
            ch.to_ascii_lowercase()
        });
        if h.chars().count() as u64 == max {
            out.push(Action::Weird(
                "SSL_max_ssl_history_length_reached".into(),
                Some(max.to_string()),
                WeirdSource::Named("SSL"),
            ));
        }
    }

    /// The handlers of ssl-log-ext.zeek (they only fill columns).
    fn handle_ext(&mut self, now: f64, ev: &Event) {
        fn e(s: &mut Session, now: f64) -> &mut LogExt {
            &mut s.set_session(now).row.ext
        }
        match ev {
            Event::ClientHello {
                version,
                ciphers,
                comp_methods,
                ..
            } => {
                let x = e(self, now);
                x.client_ciphers = counts(ciphers);
                x.client_version = Some(u64::from(*version));
                x.client_comp_methods = counts(comp_methods);
            }
            Event::ServerHello { version, .. } => e(self, now).server_version = Some(u64::from(*version)),
            Event::SessionTicket { lifetime_hint } => {
                e(self, now).ticket_lifetime_hint = Some(u64::from(*lifetime_hint))
            }
            Event::Extension { is_client, code, .. } => {
                let x = e(self, now);
                let v = if *is_client {
                    &mut x.ssl_client_exts
                } else {
                    &mut x.ssl_server_exts
                };
                v.get_or_insert_with(Vec::new).push(u64::from(*code));
            }
            Event::EcPointFormats {
                is_client: true,
                formats,
            } => e(self, now).point_formats = counts(formats),
            Event::EllipticCurves {
                is_client: true,
                curves,
            } => e(self, now).client_curves = counts(curves),
            Event::Alpn { is_client, protocols } => {
                let x = e(self, now);
                if *is_client {
                    x.orig_alpn = Some(protocols.clone());
                }
            }
            Event::DhServerParams { ys_len } => e(self, now).dh_param_size = Some(*ys_len as u64 * 8),
            Event::SupportedVersions { is_client, versions } => {
                let x = e(self, now);
                if *is_client {
                    x.client_supported_versions = counts(versions);
                } else {
                    x.server_supported_version = versions.first().map(|&v| u64::from(v));
                }
            }
            Event::PskKeyExchangeModes { is_client: true, modes } => {
                e(self, now).psk_key_exchange_modes = counts(modes)
            }
            Event::KeyShare { is_client, groups } => {
                let x = e(self, now);
                if *is_client {
                    x.client_key_share_groups = counts(groups);
                } else {
                    x.server_key_share_group = groups.first().map(|&g| u64::from(g));
                }
            }
            Event::SignatureAlgorithms { is_client: true, algs } => {
                let x = e(self, now);
                x.sigalgs = Some(algs.iter().map(|&a| u64::from(a & 0xff)).collect());
                x.hashalgs = Some(algs.iter().map(|&a| u64::from(a >> 8)).collect());
            }
            Event::EncryptedClientHello {
                is_client: true,
                kdf_id,
                aead_id,
            } => {
                let x = e(self, now);
                x.ech_kdf_id = Some(u64::from(*kdf_id));
                x.ech_aead_id = Some(u64::from(*aead_id));
            }
            _ => {}
        }
    }

    /// Handles one event at network time `now`; appends what the caller must do.
    pub fn handle(&mut self, cfg: &Config, now: f64, ev: Event, out: &mut Vec<Action>) {
        if cfg.log_ext && !self.logged() {
            self.handle_ext(now, &ev);
        }
        match ev {
            Event::Confirm => {
                out.push(Action::Confirm);
                self.set_session(now).analyzer_id = true;
            }
            Event::Violation(msg) => {
                out.push(Action::Violation(msg));
                if let Some(info) = self.ssl.as_mut() {
                    info.analyzer_id = false;
                    self.finish(cfg, false, out);
                }
            }
            Event::Weird(name, addl) => out.push(Action::Weird(name.into(), addl, WeirdSource::Analyzer)),
            Event::StapledOcsp { response, .. } => {
                if let Some(info) = self.ssl.as_mut() {
                    if cfg.validate_sct {
                        // The OCSP file analyzer's x509_ocsp_ext_signed_certificate_timestamp.
                        info.row.ct_proofs.extend(crate::ocsp::response_scts(&response));
                    }
                    if cfg.validate_ocsp {
                        info.row.ocsp_response = Some(response);
                    }
                }
            }
            Event::SignedCertificateTimestamp(sct) => {
                // validate-sct.zeek's handler appends to c$ssl$ct_proofs (nothing without c$ssl).
                if let (true, Some(info)) = (cfg.validate_sct, self.ssl.as_mut()) {
                    info.row.ct_proofs.push(sct);
                }
            }
            Event::ClientHello {
                version,
                record_version,
                session_id,
                ciphers,
                ext_codes,
                ..
            } => {
                self.ja3.client_hello(version, &ciphers, &ext_codes);
                self.ja4.client_hello(version, &ciphers, &ext_codes, cfg.dtls_hint);
                let info = self.set_session(now);
                if !session_id.is_empty() && !(session_id.len() == 32 && session_id.iter().all(|&b| b == 0)) {
                    info.session_id = Some(x509::hex(&session_id));
                    info.client_ticket_empty_session_seen = false;
                }
                if record_version == 0 {
                    self.add_to_history(cfg, true, 'c', out);
                }
            }
            Event::ServerHello {
                version,
                server_random,
                session_id,
                cipher,
                ext_codes,
                ..
            } => {
                self.ja3.server_hello(version, cipher, &ext_codes);
                self.ja4.server_hello(version, cipher, &ext_codes);
                let info = self.set_session(now);
                if info.version_num.is_none() {
                    info.version_num = Some(version);
                    info.row.version = Some(version_string(version));
                }
                info.row.cipher = Some(table(consts::cipher_name(u64::from(cipher)), u64::from(cipher)));
                if server_random == HRR_RANDOM {
                    info.hrr_seen = true;
                }
                let vn = info.version_num.unwrap_or(0);
                if info.session_id.as_deref() == Some(x509::hex(&session_id).as_str())
                    && u32::from(vn) / 0xFF != 0x7F
                    && vn != 0x0304
                {
                    info.row.resumed = true;
                }
                if version == 2 {
                    self.add_to_history(cfg, false, 's', out);
                }
            }
            Event::SupportedVersions { is_client, versions } => {
                if is_client {
                    self.ja4.client_versions(&versions);
                }
                if !is_client {
                    self.ja4.server_version(versions.first().copied());
                }
                if is_client || versions.len() != 1 {
                    return;
                }
                let info = self.set_session(now);
                info.version_num = Some(versions[0]);
                info.row.version = Some(version_string(versions[0]));
            }
            Event::EcdhServerParams { curve } => {
                let info = self.set_session(now);
                info.row.curve = Some(table(consts::ec_curve(u64::from(curve)), u64::from(curve)));
            }
            Event::KeyShare { is_client, groups } => {
                if is_client || groups.len() != 1 {
                    return;
                }
                let info = self.set_session(now);
                info.row.curve = Some(table(consts::ec_curve(u64::from(groups[0])), u64::from(groups[0])));
            }
            Event::ServerName { is_client, names } => {
                if is_client {
                    self.ja4.sni(!names.is_empty());
                }
                let info = self.set_session(now);
                if is_client && !names.is_empty() {
                    info.row.server_name = Some(names[0].clone());
                    if names.len() > 1 {
                        let list: Vec<String> = names.iter().map(|n| String::from_utf8_lossy(n).into_owned()).collect();
                        out.push(Action::Weird(
                            "SSL_many_server_names".into(),
                            Some(format!("[{}]", list.join(", "))),
                            WeirdSource::Script,
                        ));
                    }
                }
            }
            Event::Alpn { is_client, protocols } => {
                if is_client {
                    self.ja4.alpn(protocols.first().map(|p| p.as_slice()));
                } else {
                    self.ja4.server_alpn(protocols.first().map(|p| p.as_slice()));
                }
                let info = self.set_session(now);
                if is_client {
                    return;
                }
                if let Some(p) = protocols.first() {
                    info.row.next_protocol = Some(p.clone());
                }
            }
            Event::EllipticCurves { is_client, curves } => {
                if is_client {
                    self.ja3.curves(&curves);
                }
            }
            Event::EcPointFormats { is_client, formats } => {
                if is_client {
                    self.ja3.point_formats(&formats);
                }
            }
            Event::SignatureAlgorithms { is_client, algs } => {
                if is_client {
                    self.ja4.sig_algs(&algs);
                }
            }
            Event::ConnectionFlipped => {
                self.set_session(now).row.ssl_history.push('^');
            }
            Event::HandshakeMessage {
                is_client, msg_type, ..
            } => {
                let info = self.set_session(now);
                if is_client && msg_type == 16 {
                    info.client_key_exchange_seen = true;
                }
                let ch = match msg_type {
                    0 => 'h',
                    1 => 'c',
                    2 => {
                        if info.hrr_seen {
                            info.hrr_seen = false;
                            'j'
                        } else {
                            's'
                        }
                    }
                    3 => 'v',
                    4 => 't',
                    5 => 'e',
                    6 => 'j',
                    8 => 'o',
                    11 => 'x',
                    12 => 'k',
                    13 => 'r',
                    14 => 'n',
                    15 => 'y',
                    16 => 'g',
                    20 => 'f',
                    21 => 'w',
                    22 => 'u',
                    23 => 'a',
                    24 => 'p',
                    254 => 'm',
                    _ => 'z',
                };
                self.add_to_history(cfg, is_client, ch, out);
            }
            Event::Extension { is_client, code, len } => {
                let info = self.set_session(now);
                if is_client && code == crate::parse::EXT_SESSION_TICKET && len > 0 {
                    info.client_ticket_empty_session_seen = true;
                } else if is_client && code == crate::parse::EXT_PRE_SHARED_KEY {
                    info.client_psk_seen = true;
                } else if !is_client && code == crate::parse::EXT_PRE_SHARED_KEY && info.client_psk_seen {
                    info.row.resumed = true;
                }
            }
            Event::ChangeCipherSpec { is_client } => {
                self.set_session(now);
                self.add_to_history(cfg, is_client, 'i', out);
                let info = self.ssl.as_mut().unwrap();
                if is_client && info.client_ticket_empty_session_seen && !info.client_key_exchange_seen {
                    info.row.resumed = true;
                }
            }
            Event::Alert { is_client, desc, .. } => {
                self.set_session(now);
                self.add_to_history(cfg, is_client, 'l', out);
                let info = self.ssl.as_mut().unwrap();
                info.row.last_alert = Some(table(consts::alert_description(u64::from(desc)), u64::from(desc)));
            }
            Event::Heartbeat { is_client } => {
                self.set_session(now);
                self.add_to_history(cfg, is_client, 'b', out);
            }
            Event::Established => {
                // priority 20: set_session + ssl_finishing; 7: established = T; -5: finish(c, T)
                self.set_session(now);
                self.ssl.as_mut().unwrap().row.established = true;
                self.finish(cfg, true, out);
            }
            Event::PlaintextData { content_type, .. } => {
                let info = self.set_session(now);
                if info.row.version.is_none() || info.row.established || content_type != 23 {
                    return;
                }
                out.push(Action::Weird(
                    "ssl_early_application_data".into(),
                    None,
                    WeirdSource::Script,
                ));
            }
            Event::CertificateRequest { is_client, authorities } => {
                if is_client {
                    return;
                }
                let info = self.set_session(now);
                info.row.requested_client_certificate_authorities =
                    Some(authorities.iter().map(|a| x509::parse_distinguished_name(a)).collect());
            }
            Event::SessionTicket { .. }
            | Event::DhServerParams { .. }
            | Event::PskKeyExchangeModes { .. }
            | Event::EncryptedClientHello { .. } => {
                self.set_session(now);
            }
            Event::Certificates { is_client, certs } => {
                for (i, der) in certs.iter().enumerate() {
                    let mut weirds = Vec::new();
                    let cert = x509::parse_certificate(der, &mut weirds);
                    for w in weirds {
                        out.push(Action::Weird(w.into(), None, WeirdSource::Named("X509")));
                    }
                    // file_sniff: the chain gains the file, parsed or not
                    if let Some(info) = self.ssl.as_mut() {
                        if info.cert_chain.is_none() {
                            info.cert_chain = Some(Vec::new());
                            info.client_cert_chain = Some(Vec::new());
                        }
                        let chain = if is_client {
                            info.client_cert_chain.as_mut()
                        } else {
                            info.cert_chain.as_mut()
                        };
                        chain.unwrap().push(cert.clone());
                    }
                    if let (true, 0, Some(_), Some(info)) = (cfg.validate_sct, i, &cert, self.ssl.as_mut()) {
                        // x509_ocsp_ext_signed_certificate_timestamp of a host certificate's file.
                        info.row.ct_proofs.extend(crate::sct::certificate_scts(der));
                    }
                    if let Some(cert) = cert {
                        out.push(Action::LogX509 {
                            ts: now,
                            cert: Box::new(cert),
                            host_cert: i == 0,
                            client_cert: is_client,
                        });
                    }
                }
            }
        }
    }

    /// `hook ssl_finishing` (files.zeek) then `finish(c, remove_analyzer)`.
    fn finish(&mut self, cfg: &Config, remove_analyzer: bool, out: &mut Vec<Action>) {
        let Some(info) = self.ssl.as_mut() else { return };
        if info.logged {
            return;
        }
        // ssl_finishing
        let fps = |chain: &Option<Vec<Option<CertInfo>>>| {
            chain
                .as_ref()
                .map(|c| c.iter().flatten().map(|ci| ci.fingerprint.clone()).collect::<Vec<_>>())
        };
        info.row.cert_chain_fps = fps(&info.cert_chain);
        info.row.client_cert_chain_fps = fps(&info.client_cert_chain);
        if let Some(Some(first)) = info.cert_chain.as_ref().and_then(|c| c.first()) {
            if let Some(sn) = &info.row.server_name {
                info.row.sni_matches_cert = Some(x509::cert_matches_host(first, &String::from_utf8_lossy(sn)));
            }
            info.row.subject = Some(first.subject.clone());
            info.row.issuer = Some(first.issuer.clone());
        }
        if cfg.validate_certs || cfg.validate_ocsp {
            if let Some(chain @ [Some(_), ..]) = info.cert_chain.as_deref() {
                info.row.server_chain_der = chain.iter().flatten().map(|c| c.der.clone()).collect();
            }
        }
        if let Some(Some(first)) = info.client_cert_chain.as_ref().and_then(|c| c.first()) {
            info.row.client_subject = Some(first.subject.clone());
            info.row.client_issuer = Some(first.issuer.clone());
        }
        if cfg.ja3 {
            info.row.ja3 = self.ja3.client();
            info.row.ja3s = self.ja3.server();
        }
        if cfg.ja4 {
            info.row.ja4 = self.ja4.client();
            info.row.ja4s = self.ja4.server();
        }
        out.push(Action::LogSsl(info.row.clone()));
        info.logged = true;
        if remove_analyzer && cfg.disable_analyzer_after_detection && info.analyzer_id {
            info.analyzer_id = false;
            out.push(Action::Disable);
        }
    }

    /// The connection is removed (`finalize_ssl`): write the row if it was not written yet.
    pub fn done(&mut self, cfg: &Config, out: &mut Vec<Action>) {
        if self.ssl.is_some() {
            self.finish(cfg, false, out);
        }
    }
}
