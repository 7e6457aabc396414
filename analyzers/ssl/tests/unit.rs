//! Unit tests of the pieces on synthetic input: the DPD probe, record/handshake stitching, SSLv2, DTLS
//! fragment reassembly, gaps, the history cap, and the rendering helpers.

use weir_api::analyzer::{Analyzer, Probe, Settings, Transport};
use weir_ssl::fuzzing::NullContext;
use weir_ssl::proto::{Event, Proto};
use weir_ssl::session::{Action, Session};
use weir_ssl::{probe, Config, SslAnalyzer};

fn hs(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![msg_type];
    v.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    v.extend_from_slice(body);
    v
}

fn record(ct: u8, version: u16, body: &[u8]) -> Vec<u8> {
    let mut v = vec![ct];
    v.extend_from_slice(&version.to_be_bytes());
    v.extend_from_slice(&(body.len() as u16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn ext(code: u16, data: &[u8]) -> Vec<u8> {
    let mut v = code.to_be_bytes().to_vec();
    v.extend_from_slice(&(data.len() as u16).to_be_bytes());
    v.extend_from_slice(data);
    v
}

fn sni(name: &str) -> Vec<u8> {
    let mut entry = vec![0u8];
    entry.extend_from_slice(&(name.len() as u16).to_be_bytes());
    entry.extend_from_slice(name.as_bytes());
    let mut d = (entry.len() as u16).to_be_bytes().to_vec();
    d.extend(entry);
    ext(0, &d)
}

fn client_hello(version: u16, exts: &[Vec<u8>]) -> Vec<u8> {
    let mut b = version.to_be_bytes().to_vec();
    b.extend_from_slice(&[7u8; 32]);
    b.push(0); // session id
    b.extend_from_slice(&[0, 4, 0xc0, 0x2f, 0x0a, 0x0a]); // ciphers (one GREASE)
    b.extend_from_slice(&[1, 0]); // compression
    let all: Vec<u8> = exts.concat();
    b.extend_from_slice(&(all.len() as u16).to_be_bytes());
    b.extend(all);
    hs(1, &b)
}

fn server_hello(version: u16, cipher: u16, exts: &[Vec<u8>]) -> Vec<u8> {
    let mut b = version.to_be_bytes().to_vec();
    b.extend_from_slice(&[9u8; 32]);
    b.push(0);
    b.extend_from_slice(&cipher.to_be_bytes());
    b.push(0);
    let all: Vec<u8> = exts.concat();
    if !all.is_empty() {
        b.extend_from_slice(&(all.len() as u16).to_be_bytes());
        b.extend(all);
    }
    hs(2, &b)
}

fn feed(p: &mut Proto, parts: &[(bool, Vec<u8>)]) -> Vec<Event> {
    let mut ev = Vec::new();
    for (o, d) in parts {
        p.deliver_stream(*o, d, &mut ev);
    }
    ev
}

fn rows(cfg: &Config, events: Vec<Event>) -> Vec<Action> {
    let mut s = Session::new();
    let mut out = Vec::new();
    for e in events {
        s.handle(cfg, 1.0, e, &mut out);
    }
    s.done(cfg, &mut out);
    out
}

fn ssl_row(actions: &[Action]) -> weir_ssl::session::SslRow {
    actions
        .iter()
        .find_map(|a| {
            if let Action::LogSsl(r) = a {
                Some(r.clone())
            } else {
                None
            }
        })
        .expect("an ssl.log row")
}

#[test]
fn probe_matches_zeek_signatures() {
    let ch = record(22, 0x0301, &client_hello(0x0303, &[]));
    assert_eq!(probe(Transport::Tcp, true, &ch), Probe::Yes);
    assert_eq!(probe(Transport::Tcp, true, &ch[..5]), Probe::Unsure);
    assert_eq!(probe(Transport::Tcp, true, b"GET / HTTP/1.1\r\n"), Probe::No);
    // a server hello only matches from the responder
    let sh = record(22, 0x0303, &server_hello(0x0303, 0xc02f, &[]));
    assert_eq!(probe(Transport::Tcp, false, &sh), Probe::Yes);
    assert_eq!(probe(Transport::Tcp, true, &sh), Probe::No);
    // an alert may precede it
    let mut al = record(21, 0x0303, &[2, 40]);
    al.extend_from_slice(&sh);
    assert_eq!(probe(Transport::Tcp, false, &al), Probe::Yes);
    // DTLS client hello
    let mut d = vec![
        22, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 1, 0, 0, 0x34, 0, 0, 0, 0, 0, 0, 0, 0x34, 0xfe, 0xfd,
    ];
    d.extend_from_slice(&[0; 40]);
    assert_eq!(probe(Transport::Udp, true, &d), Probe::Yes);
    d[1] = 0x03;
    assert_eq!(probe(Transport::Udp, true, &d), Probe::No);
}

#[test]
fn handshake_stitched_across_records_and_deliveries() {
    let ch = client_hello(0x0303, &[sni("example.com")]);
    // split the handshake message over three records, each delivered one byte at a time
    let mut stream = Vec::new();
    for part in ch.chunks(ch.len() / 3 + 1) {
        stream.extend(record(22, 0x0301, part));
    }
    let mut p = Proto::new(false);
    let parts: Vec<(bool, Vec<u8>)> = stream.iter().map(|&b| (true, vec![b])).collect();
    let ev = feed(&mut p, &parts);
    assert!(ev.contains(&Event::Confirm));
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::ServerName { names, .. } if names == &vec![b"example.com".to_vec()])));
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, Event::HandshakeMessage { msg_type: 1, .. }))
            .count(),
        1
    );
}

#[test]
fn tls12_row_and_establishment() {
    let mut p = Proto::new(false);
    let ev = feed(
        &mut p,
        &[
            (true, record(22, 0x0301, &client_hello(0x0303, &[sni("a.example")]))),
            (
                false,
                record(22, 0x0303, &[server_hello(0x0303, 0xc02f, &[]), hs(14, &[])].concat()),
            ),
            (
                true,
                [
                    record(22, 0x0303, &hs(16, &[1, 2, 3])),
                    record(20, 0x0303, &[1]),
                    record(22, 0x0303, &[0; 40]),
                ]
                .concat(),
            ),
            (false, [record(20, 0x0303, &[1]), record(22, 0x0303, &[0; 40])].concat()),
        ],
    );
    assert!(ev.contains(&Event::Established));
    let row = ssl_row(&rows(&Config::default(), ev));
    assert_eq!(row.version.as_deref(), Some("TLSv12"));
    assert_eq!(row.cipher.as_deref(), Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
    assert_eq!(row.ssl_history, "CsnGIi");
    assert!(row.established);
    assert_eq!(row.server_name.as_deref(), Some(&b"a.example"[..]));
}

#[test]
fn history_length_cap_and_weird() {
    let cfg = Config {
        max_ssl_history_length: 3,
        ..Config::default()
    };
    let mut p = Proto::new(false);
    let ev = feed(
        &mut p,
        &[
            (true, record(22, 0x0301, &client_hello(0x0303, &[]))),
            (
                false,
                record(
                    22,
                    0x0303,
                    &[server_hello(0x0303, 0x002f, &[]), hs(11, &[0, 0, 0]), hs(14, &[])].concat(),
                ),
            ),
        ],
    );
    let out = rows(&cfg, ev);
    assert_eq!(ssl_row(&out).ssl_history, "Csx");
    assert!(out
        .iter()
        .any(|a| matches!(a, Action::Weird(n, Some(x), _) if n == "SSL_max_ssl_history_length_reached" && x == "3")));
}

#[test]
fn bad_record_version_is_a_violation_and_stops() {
    let mut p = Proto::new(false);
    let ev = feed(&mut p, &[(true, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec())]);
    assert!(matches!(ev.first(), Some(Event::Violation(m)) if m.starts_with("Invalid version in TLS connection")));
    assert!(p.skip);
}

#[test]
fn sslv2_client_hello() {
    // SSLv2 record: 2-byte header (0x80 | len), msg type 1, version 0x0301, cipher/session/challenge lengths
    let mut body = vec![0x01, 0x03, 0x01, 0, 3, 0, 0, 0, 16];
    body.extend_from_slice(&[0x00, 0x00, 0x2f]);
    body.extend_from_slice(&[5; 16]);
    let mut rec = vec![0x80 | (body.len() >> 8) as u8, body.len() as u8];
    rec.extend(body);
    let mut p = Proto::new(false);
    let ev = feed(&mut p, &[(true, rec)]);
    assert!(ev.contains(&Event::Confirm), "{ev:?}");
    assert!(ev.iter().any(|e| matches!(e, Event::ClientHello { version: 0x0301, record_version: 0, ciphers, .. } if ciphers == &vec![0x2f])));
    let row = ssl_row(&rows(&Config::default(), ev));
    assert_eq!(row.ssl_history, "C");
}

#[test]
fn gap_stops_analysis() {
    let mut cx = NullContext::new(Transport::Tcp);
    let mut a = SslAnalyzer::new(Config::default());
    a.undelivered(&mut cx, true, 0, 10);
    a.deliver_stream(&mut cx, true, &record(22, 0x0301, &client_hello(0x0303, &[])));
    assert!(!cx.confirmed);
}

#[test]
fn dtls_fragmented_client_hello() {
    let ch = client_hello(0xfefd, &[]);
    // DTLS client hello carries a cookie length after the session id: rebuild the body with one
    let mut body = ch[4..].to_vec();
    body.insert(2 + 32 + 1, 0);
    let total = body.len() as u32;
    let mut pkts = Vec::new();
    for (i, frag) in body.chunks(20).enumerate() {
        let off = (i * 20) as u32;
        let mut h = vec![1u8];
        h.extend_from_slice(&total.to_be_bytes()[1..]);
        h.extend_from_slice(&0u16.to_be_bytes());
        h.extend_from_slice(&off.to_be_bytes()[1..]);
        h.extend_from_slice(&(frag.len() as u32).to_be_bytes()[1..]);
        h.extend_from_slice(frag);
        let mut r = vec![22, 0xfe, 0xff, 0, 0];
        r.extend_from_slice(&(i as u64).to_be_bytes()[2..]);
        r.extend_from_slice(&(h.len() as u16).to_be_bytes());
        r.extend(h);
        pkts.push(r);
    }
    // out of order
    pkts.swap(0, 1);
    let mut p = Proto::new(true);
    let mut ev = Vec::new();
    for d in &pkts {
        p.deliver_packet(true, d, &mut ev);
    }
    assert!(ev.contains(&Event::Confirm), "{ev:?}");
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, Event::HandshakeMessage { msg_type: 1, .. }))
            .count(),
        1
    );
}

#[test]
fn settings_and_schema() {
    let mut s = Settings::new();
    s.insert("SSL::log_include_server_certificate_subject_issuer", "T");
    s.insert("X509::relog_known_certificates_after", "10min");
    s.insert("SSL::log_ja3", "T");
    let cfg = Config::from_settings(&s).unwrap();
    assert_eq!(cfg.relog_known_certificates_after, 600.0);
    let names: Vec<_> = weir_ssl::ssl_schema(&cfg).fields.iter().map(|f| f.name).collect();
    assert_eq!(&names[17..21], &["subject", "issuer", "sni_matches_cert", "ja3"]);
    assert_eq!(weir_ssl::parse_interval("0secs").unwrap(), 0.0);
    assert_eq!(weir_ssl::parse_interval("1day").unwrap(), 86400.0);
    let logs = weir_ssl::logs_for(&s);
    assert_eq!(logs[0], weir_ssl::ssl_schema(&cfg));
    assert_eq!(
        (weir_ssl::SSL.logs)(&weir_api::Settings::new())[0],
        weir_ssl::ssl_schema(&Config::default())
    );
    for name in weir_ssl::SETTINGS {
        assert!(weir_ssl::SSL.settings.contains(name));
    }
}

#[test]
fn ja3_string_skips_grease() {
    let mut j = weir_ssl::fingerprint::Ja3::default();
    j.client_hello(771, &[0x0a0a, 0xc02f, 0x002f], &[0x1a1a, 0, 10, 11]);
    j.curves(&[0x2a2a, 29, 23]);
    j.point_formats(&[0]);
    assert_eq!(j.client_string().unwrap(), "771,49199-47,0-10-11,29-23,0");
    assert_eq!(j.client().unwrap().len(), 32);
}

#[test]
fn rendering_helpers() {
    use weir_ssl::x509::*;
    assert_eq!(serial_string(&[0x00, 0x8f, 0x01]), "8F01");
    assert_eq!(serial_string(&[0x0b, 0x67, 0x71]), "0B6771");
    assert_eq!(serial_string(&[0xff]), "-01");
    assert_eq!(serial_string(&[]), "00");
    assert!(check_hostname("www.example.com", "*.example.com"));
    assert!(!check_hostname("example.com", "*.example.com"));
    assert!(!check_hostname("a.b.example.com", "*.example.com"));
    assert!(!check_hostname("www.com", "*.com"));
    assert!(check_hostname("foo.example.com", "f*.example.com"));
    assert_eq!(base64(b"any carnal pleas"), "YW55IGNhcm5hbCBwbGVhcw==");
    assert_eq!(oid_long_name("1.2.3.4"), "1.2.3.4");
}

#[test]
fn oversized_handshake_message_is_refused() {
    let mut p = Proto::new(false);
    // a handshake header announcing 16 MiB
    let ev = feed(&mut p, &[(true, record(22, 0x0301, &[1, 0xff, 0xff, 0xff, 3, 3]))]);
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::Violation(m) if m.contains("too large"))),
        "{ev:?}"
    );
}

#[test]
fn registrations() {
    assert_eq!(
        weir_ssl::SSL.ports.len(),
        weir_ssl::TLS.ports.len() + weir_ssl::DTLS.ports.len()
    );
    assert_eq!(weir_ssl::DTLS.name, "dtls");
    assert_eq!(weir_ssl::TLS.transports, &[Transport::Tcp]);
}

/// The worked example of FoxIO's JA4 documentation (Chrome, TLS 1.3, h2).
#[test]
fn ja4_reference_vector() {
    let mut j = weir_ssl::fingerprint::Ja4::default();
    let ciphers = [
        0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f,
        0x0035,
    ];
    let exts = [
        0x0a0a, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01,
        0x000b, 0x000a, 0x0015,
    ];
    j.client_hello(0x0303, &ciphers, &exts, false);
    j.client_versions(&[0x1a1a, 0x0304, 0x0303]);
    j.alpn(Some(b"h2"));
    j.sig_algs(&[0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]);
    j.sni(true);
    assert_eq!(j.client().unwrap(), "t13d1516h2_8daaf6152771_e5627efa2ab1");
}

/// The example of salesforce/ja3's README.
#[test]
fn ja3_reference_vector() {
    let mut j = weir_ssl::fingerprint::Ja3::default();
    j.client_hello(
        769,
        &[47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4],
        &[0, 10, 11],
    );
    j.curves(&[23, 24, 25]);
    j.point_formats(&[0]);
    assert_eq!(j.client().unwrap(), "ada70206e40642a3e4461f35503241d5");
}
