//! The protocol state machine: TLS/SSLv2 record reassembly per direction, DTLS records and handshake
//! fragment reassembly, handshake message stitching across records, encryption state, negotiated
//! version and cipher, and direction flipping. It turns bytes into [`Event`]s, the way Zeek's binpac
//! analyzers (`ssl-protocol.pac`, `dtls-analyzer.pac`, `tls-handshake-analyzer.pac`) raise events;
//! the script-level logic lives in `session.rs`.

use crate::parse::{self, ExtContent, HelloKind};
use crate::wire::{Reader, Short};

pub const SSLV20: u16 = 0x0002;
pub const SSLV30: u16 = 0x0300;
pub const TLSV10: u16 = 0x0301;
pub const TLSV11: u16 = 0x0302;
pub const TLSV12: u16 = 0x0303;
pub const UNKNOWN_VERSION: u16 = 0;
const NO_CHOSEN_CIPHER: u32 = 0xFF_FFFF;
const MAX_DTLS_HANDSHAKE_RECORD: i64 = 100_000;
/// `BinPAC::flowbuffer_capacity_max` (10 MiB): the largest handshake message Zeek buffers.
const FLOWBUFFER_CAPACITY_MAX: usize = 10 * 1024 * 1024;

const CHANGE_CIPHER_SPEC: u16 = 20;
const ALERT: u16 = 21;
const HANDSHAKE: u16 = 22;
const APPLICATION_DATA: u16 = 23;
const HEARTBEAT: u16 = 24;
const V2_ERROR: u16 = 300;
const V2_CLIENT_HELLO: u16 = 301;
const V2_CLIENT_MASTER_KEY: u16 = 302;
const V2_SERVER_HELLO: u16 = 304;

/// What the protocol layer reports, in Zeek's event order. `is_client` is already corrected for
/// flipped directions (`is_orig ^ flipped`).
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Confirm,
    /// `ssl_stapled_ocsp`: an OCSP response in a CertificateStatus message (status type 1, not empty).
    StapledOcsp {
        is_client: bool,
        response: Vec<u8>,
    },
    /// `ssl_extension_signed_certificate_timestamp` (either side's hello).
    SignedCertificateTimestamp(crate::sct::SctInfo),
    Violation(String),
    /// A weird raised by the analyzer (name, addl).
    Weird(&'static str, Option<String>),
    ClientHello {
        version: u16,
        record_version: u16,
        session_id: Vec<u8>,
        ciphers: Vec<u32>,
        comp_methods: Vec<u8>,
        /// Extension codes in order (JA3/JA4).
        ext_codes: Vec<u16>,
    },
    ServerHello {
        version: u16,
        server_random: Vec<u8>,
        session_id: Vec<u8>,
        cipher: u32,
        comp_method: u8,
        ext_codes: Vec<u16>,
    },
    SessionTicket {
        lifetime_hint: u32,
    },
    DhServerParams {
        ys_len: usize,
    },
    PskKeyExchangeModes {
        is_client: bool,
        modes: Vec<u8>,
    },
    EncryptedClientHello {
        is_client: bool,
        kdf_id: u16,
        aead_id: u16,
    },
    Extension {
        is_client: bool,
        code: u16,
        len: usize,
    },
    SupportedVersions {
        is_client: bool,
        versions: Vec<u16>,
    },
    EcdhServerParams {
        curve: u16,
    },
    KeyShare {
        is_client: bool,
        groups: Vec<u16>,
    },
    ServerName {
        is_client: bool,
        names: Vec<Vec<u8>>,
    },
    Alpn {
        is_client: bool,
        protocols: Vec<Vec<u8>>,
    },
    EllipticCurves {
        is_client: bool,
        curves: Vec<u16>,
    },
    EcPointFormats {
        is_client: bool,
        formats: Vec<u8>,
    },
    SignatureAlgorithms {
        is_client: bool,
        algs: Vec<u16>,
    },
    ConnectionFlipped,
    HandshakeMessage {
        is_client: bool,
        msg_type: u8,
        length: u32,
    },
    ChangeCipherSpec {
        is_client: bool,
    },
    Alert {
        is_client: bool,
        level: i32,
        desc: u32,
    },
    Heartbeat {
        is_client: bool,
    },
    Established,
    PlaintextData {
        is_client: bool,
        content_type: u16,
    },
    /// A CertificateRequest: the certificate authorities' DER names.
    CertificateRequest {
        is_client: bool,
        authorities: Vec<Vec<u8>>,
    },
    /// A Certificate message's certificates (DER), as files from the client or the server.
    Certificates {
        is_client: bool,
        certs: Vec<Vec<u8>>,
    },
}

/// Per-direction reassembly of DTLS handshake fragments (`message_info` in dtls-analyzer.pac).
#[derive(Clone, Debug, Default)]
struct FragInfo {
    first_sequence: u64,
    first_sequence_seen: bool,
    last_sequence: u64,
    handshake_sequence: u16,
    length: u32,
    sequence_seen: u32,
    buffer: Option<Vec<u8>>,
}

/// The protocol state of one connection (both directions).
#[derive(Debug)]
pub struct Proto {
    pub dtls: bool,
    /// Zeek's `SetSkip(true)`: no more parsing.
    pub skip: bool,
    had_gap: bool,
    rec_buf: [Vec<u8>; 2],
    hs_buf: [Vec<u8>; 2],
    record_layer_version: u16,
    client_encrypted: bool,
    server_encrypted: bool,
    established: bool,
    chosen_version: u16,
    chosen_cipher: u32,
    record_version: u16,
    flipped: bool,
    already_alerted: bool,
    confirmed: bool,
    frag: [FragInfo; 2],
    dtls_seq: u64,
    invalid_version_count: u32,
    reported_errors: u32,
    /// `SSL::max_alerts_per_record`.
    pub max_alerts_per_record: usize,
    /// `SSL::dtls_max_version_errors`, `SSL::dtls_max_reported_version_errors`.
    pub dtls_max_version_errors: u32,
    pub dtls_max_reported_version_errors: u32,
}

fn idx(is_orig: bool) -> usize {
    usize::from(is_orig)
}

pub fn version_ok(v: u16) -> bool {
    v >> 8 == 0x7f
        || matches!(
            v,
            SSLV20
                | SSLV30
                | TLSV10
                | TLSV11
                | TLSV12
                | parse::TLSV13
                | parse::DTLSV10
                | parse::DTLSV12
                | parse::DTLSV13
        )
}

fn orig_label(is_orig: bool) -> &'static str {
    if is_orig {
        "originator"
    } else {
        "responder"
    }
}

impl Proto {
    pub fn new(dtls: bool) -> Proto {
        Proto {
            dtls,
            skip: false,
            had_gap: false,
            rec_buf: [Vec::new(), Vec::new()],
            hs_buf: [Vec::new(), Vec::new()],
            record_layer_version: UNKNOWN_VERSION,
            client_encrypted: false,
            server_encrypted: false,
            established: false,
            chosen_version: UNKNOWN_VERSION,
            chosen_cipher: NO_CHOSEN_CIPHER,
            record_version: 0,
            flipped: false,
            already_alerted: false,
            confirmed: false,
            frag: [FragInfo::default(), FragInfo::default()],
            dtls_seq: 0,
            invalid_version_count: 0,
            reported_errors: 0,
            max_alerts_per_record: 10,
            dtls_max_version_errors: 10,
            dtls_max_reported_version_errors: 1,
        }
    }

    /// The version the handshake settled on (`GetNegotiatedVersion`), 0 if none yet.
    pub fn negotiated_version(&self) -> u16 {
        self.chosen_version
    }

    pub fn flipped(&self) -> bool {
        self.flipped
    }

    fn violation(&mut self, ev: &mut Vec<Event>, msg: String) {
        ev.push(Event::Violation(msg));
    }

    fn confirm(&mut self, ev: &mut Vec<Event>) {
        // AnalyzerConfirmation raises analyzer_confirmation_info only the first time
        if !self.confirmed {
            self.confirmed = true;
            ev.push(Event::Confirm);
        }
    }

    /// The engine swapped originator and responder: keep each direction's buffered bytes and state with
    /// its endpoint.
    pub fn flip_roles(&mut self) {
        self.rec_buf.swap(0, 1);
        self.hs_buf.swap(0, 1);
        self.frag.swap(0, 1);
        std::mem::swap(&mut self.client_encrypted, &mut self.server_encrypted);
    }

    fn is_tls13(&self) -> bool {
        self.chosen_version == parse::TLSV13 || self.chosen_version / 0xFF == 0x7F
    }

    fn start_encryption(&mut self, is_orig: bool) {
        if is_orig {
            self.client_encrypted = true;
        } else {
            self.server_encrypted = true;
        }
    }

    fn state_encrypted(&self, is_orig: bool) -> bool {
        if is_orig {
            self.client_encrypted
        } else {
            self.server_encrypted
        }
    }

    // ---------------------------------------------------------------- TLS over a stream

    /// A gap in a direction: Zeek's SSL analyzer stops delivering data to its parsers altogether.
    pub fn gap(&mut self) {
        self.had_gap = true;
    }

    /// In-order stream bytes of one direction (TLS over TCP).
    pub fn deliver_stream(&mut self, is_orig: bool, data: &[u8], ev: &mut Vec<Event>) {
        if self.had_gap || self.skip {
            return;
        }
        let i = idx(is_orig);
        let mut owned = std::mem::take(&mut self.rec_buf[i]);
        let direct = owned.is_empty();
        if !direct {
            owned.extend_from_slice(data);
        }
        // Parse straight from the caller's bytes when nothing is pending; only a partial record is kept.
        let buf: &[u8] = if direct { data } else { &owned };
        let mut pos = 0;
        while !self.skip && buf.len() - pos >= 5 {
            let h = &buf[pos..pos + 5];
            let (h0, h1, h2, h3, h4) = (h[0], h[1], h[2], h[3], h[4]);
            let layer = self.determine_record_layer(h0, h1, h2, h3, h4, is_orig, ev);
            let (length, content_type, raw_version): (i64, u16, u16) = match layer {
                UNKNOWN_VERSION => (0, u16::from(h0), 0),
                SSLV20 => (
                    ((i64::from(h0 & 0x7f) << 8) | i64::from(h1)) - 3,
                    u16::from(h2) + 300,
                    0,
                ),
                _ => (
                    (i64::from(h3) << 8) | i64::from(h4),
                    u16::from(h0),
                    u16::from(h1) << 8 | u16::from(h2),
                ),
            };
            if length < 0 {
                self.violation(ev, "Binpac exception: negative SSLv2 record length".into());
                self.skip = true;
                break;
            }
            let total = length as usize + 5;
            if buf.len() - pos < total {
                break;
            }
            let body = &buf[pos + 5..pos + total];
            pos += total;
            if layer == UNKNOWN_VERSION {
                continue;
            }
            self.record(is_orig, layer, content_type, raw_version, (h3, h4), body, ev);
        }
        if self.skip {
            owned.clear();
        } else if direct {
            owned.extend_from_slice(&data[pos..]);
        } else {
            owned.drain(..pos);
        }
        self.rec_buf[i] = owned;
    }

    #[allow(clippy::too_many_arguments)]
    fn determine_record_layer(
        &mut self,
        h0: u8,
        h1: u8,
        h2: u8,
        h3: u8,
        h4: u8,
        is_orig: bool,
        ev: &mut Vec<Event>,
    ) -> u16 {
        let ok3 = |v: u16| matches!(v, SSLV30 | TLSV10 | TLSV11 | TLSV12);
        if self.record_layer_version != UNKNOWN_VERSION && self.record_layer_version != SSLV20 {
            let version = u16::from(h1) << 8 | u16::from(h2);
            if !ok3(version) {
                self.violation(
                    ev,
                    format!("Invalid version late in TLS connection. Packet reported version: {version}"),
                );
                self.skip = true;
                return UNKNOWN_VERSION;
            }
        }
        if self.record_layer_version != UNKNOWN_VERSION {
            return self.record_layer_version;
        }
        if h0 & 0x80 != 0 {
            if h2 == 0x01 && is_orig {
                let version = u16::from(h3) << 8 | u16::from(h4);
                if !(version == SSLV20 || ok3(version)) {
                    self.violation(ev, format!("Invalid version in SSL client hello. Version: {version}"));
                    self.skip = true;
                    return UNKNOWN_VERSION;
                }
                return SSLV20;
            } else if h2 == 0x04 && h4 < 2 && !is_orig {
                self.record_layer_version = SSLV20;
                return SSLV20;
            } else {
                self.violation(
                    ev,
                    format!("Invalid headers in SSL connection. Head1: {h1}, head2: {h2}, head3: {h3}"),
                );
                self.skip = true;
                return UNKNOWN_VERSION;
            }
        }
        let version = u16::from(h1) << 8 | u16::from(h2);
        if !ok3(version) {
            self.violation(ev, format!("Invalid version in TLS connection. Version: {version}"));
            self.skip = true;
            return UNKNOWN_VERSION;
        }
        if (20..=30).contains(&h0) {
            self.record_layer_version = version;
            return version;
        }
        self.violation(
            ev,
            format!("Invalid type in TLS connection. Version: {version}, Type: {h0}"),
        );
        self.skip = true;
        UNKNOWN_VERSION
    }

    fn determine_state(&mut self, is_orig: bool, content_type: u16) -> bool {
        let enc = self.state_encrypted(is_orig);
        if enc || content_type != APPLICATION_DATA {
            return enc;
        }
        let v = self.chosen_version;
        if !matches!(v, SSLV20 | SSLV30 | TLSV10 | TLSV11 | TLSV12) {
            self.start_encryption(is_orig);
            return true;
        }
        false
    }

    /// One record's contents (`RecordText[] &length=length`).
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        is_orig: bool,
        layer: u16,
        content_type: u16,
        raw_version: u16,
        head34: (u8, u8),
        body: &[u8],
        ev: &mut Vec<Event>,
    ) {
        if body.is_empty() {
            return;
        }
        let encrypted = self.determine_state(is_orig, content_type);
        if encrypted {
            self.ciphertext(is_orig, body.len(), ev);
            return;
        }
        let _ = layer;
        self.plaintext(is_orig, content_type, raw_version, head34, body, ev);
    }

    fn ciphertext(&mut self, _is_orig: bool, _len: usize, ev: &mut Vec<Event>) {
        if self.client_encrypted && self.server_encrypted && !self.established {
            self.established = true;
            ev.push(Event::Established);
        }
    }

    fn plaintext(
        &mut self,
        is_orig: bool,
        content_type: u16,
        raw_version: u16,
        head34: (u8, u8),
        body: &[u8],
        ev: &mut Vec<Event>,
    ) {
        let is_client = is_orig ^ self.flipped;
        let mut ok = true;
        match content_type {
            CHANGE_CIPHER_SPEC => {
                for _ in 0..body.len() {
                    if !self.is_tls13() {
                        self.start_encryption(is_orig);
                    }
                    ev.push(Event::ChangeCipherSpec {
                        is_client: is_orig ^ self.flipped,
                    });
                    ev.push(Event::PlaintextData {
                        is_client: is_orig ^ self.flipped,
                        content_type,
                    });
                }
                return;
            }
            ALERT => {
                let mut len = body.len();
                let max = if self.is_tls13() {
                    2
                } else {
                    self.max_alerts_per_record * 2
                };
                if len > max {
                    ev.push(Event::Weird(
                        "SSL_excessive_alerts_in_record",
                        Some(format!("{}", len / 2)),
                    ));
                    len = max;
                }
                for pair in body[..len].chunks(2) {
                    if pair.len() < 2 {
                        self.violation(ev, "Binpac exception: out_of_bound: Alert".into());
                        ok = false;
                        break;
                    }
                    ev.push(Event::Alert {
                        is_client,
                        level: i32::from(pair[0]),
                        desc: u32::from(pair[1]),
                    });
                }
            }
            HEARTBEAT => {
                if body.len() < 3 {
                    self.violation(ev, "Binpac exception: out_of_bound: Heartbeat".into());
                    ok = false;
                } else {
                    ev.push(Event::Heartbeat { is_client });
                }
            }
            APPLICATION_DATA => {}
            HANDSHAKE if !self.dtls => {
                self.record_version = raw_version;
                self.handshake_data(is_orig, body, ev);
            }
            HANDSHAKE => {
                self.dtls_handshake_fragment(is_orig, raw_version, body, ev);
            }
            V2_ERROR => {
                let code = u32::from(head34.0) << 8 | u32::from(head34.1);
                ev.push(Event::Alert {
                    is_client,
                    level: -1,
                    desc: code,
                });
            }
            V2_CLIENT_HELLO => ok = self.v2_client_hello(head34, body, ev),
            V2_SERVER_HELLO => ok = self.v2_server_hello(is_orig, body, ev),
            V2_CLIENT_MASTER_KEY => {
                let mut r = Reader::new(body);
                let parsed = (|| -> Result<(), Short> {
                    r.u8()?;
                    let a = r.u16()? as usize;
                    let b = r.u16()? as usize;
                    let c = r.u16()? as usize;
                    r.bytes(a + b + c)?;
                    Ok(())
                })();
                if parsed.is_err() {
                    self.violation(ev, "Binpac exception: out_of_bound: V2ClientMasterKey".into());
                    ok = false;
                } else {
                    self.start_encryption(true);
                    self.start_encryption(false);
                    ev.push(Event::Established);
                }
            }
            _ => {
                self.violation(
                    ev,
                    format!("unknown SSL record type ({content_type}) from {}", orig_label(is_orig)),
                );
            }
        }
        if ok {
            ev.push(Event::PlaintextData {
                is_client: is_orig ^ self.flipped,
                content_type,
            });
        }
    }

    fn v2_client_hello(&mut self, head34: (u8, u8), body: &[u8], ev: &mut Vec<Event>) -> bool {
        let version = u16::from(head34.0) << 8 | u16::from(head34.1);
        let mut r = Reader::new(body);
        let parsed = (|| -> Result<(Vec<u32>, Vec<u8>), Short> {
            let cl = r.u16()? as usize;
            let sl = r.u16()? as usize;
            let chl = r.u16()? as usize;
            let mut ciphers = Vec::new();
            for _ in 0..cl / 3 {
                let b = r.bytes(3)?;
                ciphers.push(u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]));
            }
            r.bytes(cl % 3)?;
            let sid = r.bytes(sl)?.to_vec();
            r.bytes(chl)?;
            Ok((ciphers, sid))
        })();
        match parsed {
            Err(_) => {
                self.violation(ev, "Binpac exception: out_of_bound: V2ClientHello".into());
                false
            }
            Ok((ciphers, session_id)) => {
                self.client_hello_checks(version, ev);
                ev.push(Event::ClientHello {
                    version,
                    record_version: 0,
                    session_id,
                    ciphers,
                    comp_methods: Vec::new(),
                    ext_codes: Vec::new(),
                });
                true
            }
        }
    }

    fn client_hello_checks(&mut self, version: u16, ev: &mut Vec<Event>) {
        if !version_ok(version) {
            self.violation(ev, format!("unsupported client SSL version 0x{version:04x}"));
            self.skip = true;
        } else {
            self.confirm(ev);
        }
    }

    fn v2_server_hello(&mut self, is_orig: bool, body: &[u8], ev: &mut Vec<Event>) -> bool {
        let mut r = Reader::new(body);
        let parsed = (|| -> Result<(u16, Vec<u8>, Vec<u32>, Vec<u8>), Short> {
            let version = r.u16()?;
            let cert_len = r.u16()? as usize;
            let cl = r.u16()? as usize;
            let idl = r.u16()? as usize;
            let cert = r.bytes(cert_len)?.to_vec();
            let mut ciphers = Vec::new();
            for _ in 0..cl / 3 {
                let b = r.bytes(3)?;
                ciphers.push(u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]));
            }
            let conn_id = r.bytes(idl)?.to_vec();
            Ok((version, cert, ciphers, conn_id))
        })();
        let Ok((version, cert, ciphers, conn_id)) = parsed else {
            self.violation(ev, "Binpac exception: out_of_bound: V2ServerHello".into());
            return false;
        };
        if version != SSLV20 {
            self.violation(ev, format!("Invalid version in SSL server hello. Version: {version}"));
            self.skip = true;
            return true;
        }
        ev.push(Event::ServerHello {
            version,
            server_random: conn_id,
            session_id: Vec::new(),
            cipher: ciphers.first().copied().unwrap_or(0),
            comp_method: 0,
            ext_codes: Vec::new(),
        });
        if !cert.is_empty() {
            ev.push(Event::Certificates {
                is_client: is_orig ^ self.flipped,
                certs: vec![cert],
            });
        } else {
            ev.push(Event::Weird("zero_length_certificate", None));
        }
        true
    }

    // ---------------------------------------------------------------- handshake messages

    /// Handshake-protocol bytes of one direction; messages are stitched across records.
    fn handshake_data(&mut self, is_orig: bool, data: &[u8], ev: &mut Vec<Event>) {
        let i = idx(is_orig);
        let mut buf = std::mem::take(&mut self.hs_buf[i]);
        buf.extend_from_slice(data);
        let mut pos = 0;
        let mut failed = false;
        while buf.len() - pos >= 4 {
            let len = (usize::from(buf[pos + 1]) << 16) | (usize::from(buf[pos + 2]) << 8) | usize::from(buf[pos + 3]);
            if 4 + len > FLOWBUFFER_CAPACITY_MAX {
                // binpac cannot grow its flow buffer that far (BinPAC::flowbuffer_capacity_max)
                self.violation(ev, "Binpac exception: binpac exception: Buffer length too large".into());
                failed = true;
                break;
            }
            if buf.len() - pos < 4 + len {
                break;
            }
            let msg_type = buf[pos];
            let body = &buf[pos + 4..pos + 4 + len];
            pos += 4 + len;
            if !self.handshake_message(is_orig, msg_type, len as u32, body, ev) {
                failed = true;
                break;
            }
            if self.skip {
                break;
            }
        }
        if failed {
            buf.clear(); // binpac discards the flow's buffered data after an exception
        } else {
            buf.drain(..pos);
        }
        self.hs_buf[i] = buf;
    }

    fn check_flipped(&mut self, desired: bool, is_orig: bool, ev: &mut Vec<Event>) {
        if self.flipped {
            if desired == is_orig {
                self.flipped = false;
                ev.push(Event::ConnectionFlipped);
                if !self.already_alerted {
                    self.already_alerted = true;
                    ev.push(Event::Weird("SSL_unclear_connection_direction", None));
                }
            }
        } else if desired != is_orig {
            self.flipped = true;
            ev.push(Event::ConnectionFlipped);
        }
    }

    fn set_version(&mut self, v: u16) {
        if self.chosen_version == UNKNOWN_VERSION {
            self.chosen_version = v;
        }
    }

    fn uses_sig_alg(&self) -> bool {
        self.chosen_version > TLSV11 && self.chosen_version != parse::DTLSV10
    }

    /// One complete handshake message. Returns false on a parse error (a binpac exception).
    fn handshake_message(
        &mut self,
        is_orig: bool,
        msg_type: u8,
        length: u32,
        body: &[u8],
        ev: &mut Vec<Event>,
    ) -> bool {
        match msg_type {
            0 => self.check_flipped(false, is_orig, ev),
            1 => {
                self.check_flipped(true, is_orig, ev);
                let server_side = !(is_orig ^ self.flipped);
                match parse::parse_client_hello(body, server_side) {
                    Err(_) => return self.exception(ev, "ClientHello"),
                    Ok(ch) => {
                        self.extension_events(is_orig, &ch.extensions, HelloKind::Client, ev);
                        self.client_hello_checks(ch.version, ev);
                        ev.push(Event::ClientHello {
                            version: ch.version,
                            record_version: self.record_version,
                            session_id: ch.session_id.to_vec(),
                            ciphers: ch.ciphers.clone(),
                            comp_methods: ch.compression.clone(),
                            ext_codes: ch.extensions.iter().map(|e| e.code).collect(),
                        });
                    }
                }
            }
            2 => {
                self.check_flipped(false, is_orig, ev);
                let server_side = !(is_orig ^ self.flipped);
                match parse::parse_server_hello(body, server_side) {
                    Err(_) => return self.exception(ev, "ServerHello"),
                    Ok(sh) => {
                        self.extension_events(is_orig, &sh.extensions, HelloKind::Server, ev);
                        self.chosen_cipher = sh.cipher;
                        if !version_ok(sh.version) {
                            self.violation(ev, format!("unsupported server SSL version 0x{:04x}", sh.version));
                            self.skip = true;
                        }
                        ev.push(Event::ServerHello {
                            version: sh.version,
                            server_random: sh.random.to_vec(),
                            session_id: sh.session_id.to_vec(),
                            cipher: sh.cipher,
                            comp_method: sh.compression,
                            ext_codes: sh.extensions.iter().map(|e| e.code).collect(),
                        });
                        self.set_version(sh.version);
                    }
                }
            }
            3 => {
                let mut r = Reader::new(body);
                let p = (|| -> Result<(), Short> {
                    r.u16()?;
                    let l = r.u8()? as usize;
                    r.bytes(l)?;
                    Ok(())
                })();
                if p.is_err() {
                    return self.exception(ev, "HelloVerifyRequest");
                }
            }
            4 => {
                let mut r = Reader::new(body);
                let p = (|| -> Result<u32, Short> {
                    let hint = r.u32()?;
                    let l = r.u16()? as usize;
                    r.bytes(l)?;
                    Ok(hint)
                })();
                match p {
                    Err(_) => return self.exception(ev, "SessionTicketHandshake"),
                    Ok(lifetime_hint) => ev.push(Event::SessionTicket { lifetime_hint }),
                }
            }
            11 => match parse::parse_certificate_list(body) {
                Err(_) => return self.exception(ev, "Certificate"),
                Ok(certs) => {
                    let is_client = is_orig ^ self.flipped;
                    let mut list = Vec::new();
                    for c in certs {
                        if c.is_empty() {
                            ev.push(Event::Weird("zero_length_certificate", None));
                        } else {
                            list.push(c.to_vec());
                        }
                    }
                    if !list.is_empty() {
                        ev.push(Event::Certificates { is_client, certs: list });
                    }
                }
            },
            12 => {
                let kex = parse::kex_kind(self.chosen_cipher);
                match parse::parse_server_key_exchange(body, kex, self.uses_sig_alg()) {
                    Err(_) => return self.exception(ev, "ServerKeyExchange"),
                    Ok(parse::KexParams::Curve(curve)) => ev.push(Event::EcdhServerParams { curve }),
                    Ok(parse::KexParams::Dh { ys_len }) => ev.push(Event::DhServerParams { ys_len }),
                    Ok(parse::KexParams::None) => {}
                }
            }
            13 => {
                let uses = self.uses_sig_alg();
                let mut r = Reader::new(body);
                let p = (|| -> Result<Vec<Vec<u8>>, Short> {
                    let l = r.u8()? as usize;
                    r.bytes(l)?;
                    if uses {
                        let l = r.u16()? as usize;
                        let mut s = Reader::new(r.bytes(l)?);
                        while s.remaining() > 0 {
                            s.u16()?;
                        }
                    }
                    let l = r.u16()? as usize;
                    let mut c = Reader::new(r.bytes(l)?);
                    let mut cas = Vec::new();
                    while c.remaining() > 0 {
                        let l = c.u16()? as usize;
                        cas.push(c.bytes(l)?.to_vec());
                    }
                    Ok(cas)
                })();
                match p {
                    Err(_) => return self.exception(ev, "CertificateRequest"),
                    Ok(authorities) => ev.push(Event::CertificateRequest {
                        is_client: is_orig ^ self.flipped,
                        authorities,
                    }),
                }
            }
            14 | 15 | 16 | 20 | 21 => {}
            22 => {
                let mut r = Reader::new(body);
                let p = (|| -> Result<(u8, usize), Short> {
                    let t = r.u8()?;
                    r.u24()?;
                    Ok((t, r.rest().len()))
                })();
                match p {
                    Err(_) => return self.exception(ev, "CertificateStatus"),
                    Ok((_, 0)) => ev.push(Event::Weird("SSL_zero_length_stapled_OCSP_message", None)),
                    Ok((1, _)) => ev.push(Event::StapledOcsp {
                        is_client: is_orig ^ self.flipped,
                        response: body[4..].to_vec(),
                    }),
                    Ok(_) => {}
                }
            }
            _ => {
                self.violation(
                    ev,
                    format!("unknown handshake message ({msg_type}) from {}", orig_label(is_orig)),
                );
            }
        }
        ev.push(Event::HandshakeMessage {
            is_client: is_orig ^ self.flipped,
            msg_type,
            length,
        });
        true
    }

    fn exception(&mut self, ev: &mut Vec<Event>, what: &str) -> bool {
        self.violation(ev, format!("Binpac exception: binpac exception: out_of_bound: {what}"));
        false
    }

    fn extension_events(&mut self, is_orig: bool, exts: &[parse::Extension<'_>], kind: HelloKind, ev: &mut Vec<Event>) {
        for e in exts {
            let is_client = is_orig ^ self.flipped;
            match &e.content {
                ExtContent::Alpn(p) => ev.push(Event::Alpn {
                    is_client,
                    protocols: p.iter().map(|x| x.to_vec()).collect(),
                }),
                ExtContent::EllipticCurves(c) => ev.push(Event::EllipticCurves {
                    is_client,
                    curves: c.clone(),
                }),
                ExtContent::EcPointFormats(f) => ev.push(Event::EcPointFormats {
                    is_client,
                    formats: f.clone(),
                }),
                ExtContent::ServerName(list) => {
                    let mut names = Vec::new();
                    for (t, n) in list {
                        if *t != 0 {
                            ev.push(Event::Weird("ssl_ext_unknown_server_name_type", Some(t.to_string())));
                            continue;
                        }
                        if let Some(n) = n {
                            names.push(n.to_vec());
                        }
                    }
                    ev.push(Event::ServerName { is_client, names });
                }
                ExtContent::SignatureAlgorithms(a) if e.code == parse::EXT_SIGNATURE_ALGORITHMS => {
                    ev.push(Event::SignatureAlgorithms {
                        is_client,
                        algs: a.clone(),
                    })
                }
                ExtContent::KeyShareClient(g) => ev.push(Event::KeyShare {
                    is_client,
                    groups: g.clone(),
                }),
                ExtContent::KeyShareServer(g) => ev.push(Event::KeyShare {
                    is_client,
                    groups: vec![*g],
                }),
                ExtContent::SupportedVersionsClient(v) => ev.push(Event::SupportedVersions {
                    is_client,
                    versions: v.clone(),
                }),
                ExtContent::SupportedVersionServer(v) => {
                    self.set_version(*v);
                    ev.push(Event::SupportedVersions {
                        is_client,
                        versions: vec![*v],
                    });
                }
                ExtContent::Ech(t, ids) => {
                    if *t != 0 {
                        ev.push(Event::Weird("ssl_unexpected_inner_encrypted_client_hello", None));
                    }
                    if let Some((kdf_id, aead_id)) = ids {
                        ev.push(Event::EncryptedClientHello {
                            is_client,
                            kdf_id: *kdf_id,
                            aead_id: *aead_id,
                        });
                    }
                }
                ExtContent::PskModes(m) => ev.push(Event::PskKeyExchangeModes {
                    is_client,
                    modes: m.clone(),
                }),
                ExtContent::Scts(list) => {
                    for sct in list {
                        ev.push(Event::SignedCertificateTimestamp(sct.into()))
                    }
                }
                _ => {}
            }
            let _ = kind;
            ev.push(Event::Extension {
                is_client,
                code: e.code,
                len: e.data.len(),
            });
        }
    }

    // ---------------------------------------------------------------- DTLS

    /// One UDP datagram (DTLS).
    pub fn deliver_packet(&mut self, is_orig: bool, data: &[u8], ev: &mut Vec<Event>) {
        if self.skip {
            return;
        }
        // A STUN packet: skipped without complaint.
        if data.len() > 20 && data[4..8] == [0x21, 0x12, 0xa4, 0x42] {
            return;
        }
        let mut r = Reader::new(data);
        while r.remaining() > 0 && !self.skip {
            let Ok(first) = r.u8() else { break };
            if self.chosen_version == parse::DTLSV13 && first & 0xE0 == 0x20 {
                // unified header: the rest of the datagram
                let with_cid = first & 0x10 != 0;
                if !with_cid {
                    let seqlen = if first & 0x08 != 0 { 2 } else { 1 };
                    if r.bytes(seqlen).is_err() {
                        break;
                    }
                    if first & 0x04 != 0 && r.u16().is_err() {
                        break;
                    }
                }
                r.rest();
                self.start_encryption(is_orig);
                if self.client_encrypted && self.server_encrypted && !self.established {
                    self.established = true;
                    ev.push(Event::Established);
                }
                break;
            }
            let hdr = (|| -> Result<(u16, u16, u64, usize), Short> {
                let version = r.u16()?;
                let epoch = r.u16()?;
                let s = r.bytes(6)?;
                let seq = s.iter().fold(0u64, |a, &b| a << 8 | u64::from(b));
                let len = r.u16()? as usize;
                Ok((version, epoch, seq, len))
            })();
            let Ok((version, epoch, seq, len)) = hdr else { break };
            if !self.dtls_version_ok(version, ev) {
                r.rest();
                break;
            }
            let Ok(body) = r.bytes(len) else { break };
            if body.is_empty() {
                continue;
            }
            let content_type = u16::from(first);
            if epoch != 0 {
                self.ciphertext(is_orig, body.len(), ev);
                continue;
            }
            if content_type == HANDSHAKE {
                self.dtls_seq = seq;
            }
            self.plaintext(is_orig, content_type, version, (0, 0), body, ev);
        }
    }

    fn dtls_version_ok(&mut self, version: u16, ev: &mut Vec<Event>) -> bool {
        if version == parse::DTLSV10 || version == parse::DTLSV12 {
            if self.confirmed {
                self.invalid_version_count = 0;
            }
            return true;
        }
        self.invalid_version_count += 1;
        if self.confirmed {
            self.reported_errors += 1;
            if self.reported_errors <= self.dtls_max_reported_version_errors {
                self.violation(
                    ev,
                    format!("Invalid version in DTLS connection. Packet reported version: {version}"),
                );
            }
        }
        if self.invalid_version_count > self.dtls_max_version_errors {
            self.skip = true;
        }
        false
    }

    fn dtls_handshake_fragment(&mut self, is_orig: bool, raw_version: u16, body: &[u8], ev: &mut Vec<Event>) {
        let mut r = Reader::new(body);
        let hdr =
            (|| -> Result<(u8, u32, u16, u32, u32), Short> { Ok((r.u8()?, r.u24()?, r.u16()?, r.u24()?, r.u24()?)) })();
        let Ok((msg_type, length, message_seq, foffset, flength)) = hdr else {
            self.violation(ev, "Binpac exception: out_of_bound: DTLS Handshake".into());
            return;
        };
        let data = r.rest();
        let sequence_number = self.dtls_seq;
        if foffset == 0 && length == flength {
            self.send_dtls_handshake(is_orig, raw_version, msg_type, length, data, ev);
            return;
        }
        if i64::from(length) > MAX_DTLS_HANDSHAKE_RECORD {
            self.violation(ev, format!("DTLS record length {length} larger than allowed maximum."));
            return;
        }
        let i = idx(is_orig);
        {
            let f = &mut self.frag[i];
            if f.handshake_sequence != message_seq || f.length != length || f.buffer.is_none() {
                *f = FragInfo {
                    handshake_sequence: message_seq,
                    length,
                    buffer: Some(vec![0; length as usize]),
                    first_sequence: sequence_number,
                    ..FragInfo::default()
                };
            }
        }
        let f = &mut self.frag[i];
        let dist = f.first_sequence.abs_diff(sequence_number);
        if dist >= 32 {
            ev.push(Event::Violation(
                "DTLS handshake fragment sequence number outside reassembly window.".into(),
            ));
            return;
        }
        if f.first_sequence > sequence_number {
            if f.first_sequence_seen {
                ev.push(Event::Violation(
                    "Saw second and different first message fragment for handshake.".into(),
                ));
                return;
            }
            let diff = f.first_sequence - sequence_number;
            f.sequence_seen = f.sequence_seen.checked_shl(diff as u32).unwrap_or(0);
            f.first_sequence = sequence_number;
        }
        if foffset == 0 {
            f.first_sequence_seen = true;
        }
        let bit = 1u32 << (sequence_number - f.first_sequence);
        if f.sequence_seen & bit != 0 {
            return;
        }
        if data.len() != flength as usize {
            ev.push(Event::Violation(
                "DTLS handshake record length does not match packet length".into(),
            ));
            return;
        }
        if foffset + flength > length {
            ev.push(Event::Violation(
                "DTLS handshake fragment trying to write past end of buffer".into(),
            ));
            return;
        }
        f.sequence_seen |= bit;
        if let Some(b) = f.buffer.as_mut() {
            b[foffset as usize..(foffset + flength) as usize].copy_from_slice(data);
        }
        if foffset + flength == length {
            f.last_sequence = sequence_number;
        }
        if f.last_sequence != 0 && f.first_sequence_seen {
            let total = f.last_sequence - f.first_sequence;
            if total > 30 {
                ev.push(Event::Violation(
                    "DTLS Message fragmented over more than 30 pieces. Cannot reassemble.".into(),
                ));
                return;
            }
            let mask = (1u64 << (total + 1)) - 1;
            if (!u64::from(f.sequence_seen)) & mask == 0 {
                let buffer = f.buffer.clone().unwrap_or_default();
                self.send_dtls_handshake(is_orig, raw_version, msg_type, length, &buffer, ev);
            }
        }
    }

    fn send_dtls_handshake(
        &mut self,
        is_orig: bool,
        raw_version: u16,
        msg_type: u8,
        length: u32,
        data: &[u8],
        ev: &mut Vec<Event>,
    ) {
        self.record_version = raw_version;
        let mut msg = Vec::with_capacity(4 + data.len());
        msg.push(msg_type);
        msg.extend_from_slice(&length.to_be_bytes()[1..]);
        msg.extend_from_slice(data);
        self.handshake_data(is_orig, &msg, ev);
    }
}
