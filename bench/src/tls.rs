//! TLS 1.2 / 1.3 handshakes that look right on the wire. Certificates are well-formed DER X.509
//! structures (subject, issuer, validity, subjectAltName) whose public keys and signatures are
//! random bytes of realistic sizes: they parse, but do not verify.

use crate::rng::Rng;

fn record(out: &mut Vec<u8>, typ: u8, version: u16, body: &[u8]) {
    out.push(typ);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(body);
}

fn handshake(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + body.len());
    v.push(typ);
    v.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    v.extend_from_slice(body);
    v
}

fn ext(out: &mut Vec<u8>, typ: u16, body: &[u8]) {
    out.extend_from_slice(&typ.to_be_bytes());
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(body);
}

fn u16s(vals: &[u16]) -> Vec<u8> {
    vals.iter().flat_map(|v| v.to_be_bytes()).collect()
}

fn with_len16(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

/// A ClientHello record with SNI, offering TLS 1.3 (supported_versions) when `tls13`.
pub fn client_hello(rng: &mut Rng, sni: &str, tls13: bool) -> Vec<u8> {
    let mut b = Vec::with_capacity(512);
    b.extend_from_slice(&0x0303u16.to_be_bytes());
    b.extend_from_slice(&rng.bytes(32));
    b.push(32);
    b.extend_from_slice(&rng.bytes(32));
    let suites: &[u16] = if tls13 {
        &[
            0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d,
            0x002f, 0x0035,
        ]
    } else {
        &[
            0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
        ]
    };
    b.extend_from_slice(&with_len16(&u16s(suites)));
    b.extend_from_slice(&[1, 0]); // compression: null
    let mut e = Vec::with_capacity(256);
    // server_name
    let mut sn = vec![0u8];
    sn.extend_from_slice(&with_len16(sni.as_bytes()));
    ext(&mut e, 0, &with_len16(&sn));
    ext(&mut e, 23, &[]); // extended_master_secret
    ext(&mut e, 0xff01, &[0]); // renegotiation_info
    ext(&mut e, 10, &with_len16(&u16s(&[0x001d, 0x0017, 0x0018]))); // supported_groups
    ext(&mut e, 11, &[1, 0]); // ec_point_formats
    ext(&mut e, 35, &[]); // session_ticket
    let mut alpn = Vec::new();
    for p in ["h2", "http/1.1"] {
        alpn.push(p.len() as u8);
        alpn.extend_from_slice(p.as_bytes());
    }
    ext(&mut e, 16, &with_len16(&alpn));
    ext(&mut e, 5, &[1, 0, 0, 0, 0]); // status_request
    ext(
        &mut e,
        13,
        &with_len16(&u16s(&[0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601])),
    ); // signature_algorithms
    if tls13 {
        let mut ks = Vec::new();
        ks.extend_from_slice(&0x001du16.to_be_bytes());
        ks.extend_from_slice(&with_len16(&rng.bytes(32)));
        ext(&mut e, 51, &with_len16(&ks)); // key_share
        ext(&mut e, 45, &[1, 1]); // psk_key_exchange_modes
        ext(&mut e, 43, &[4, 0x03, 0x04, 0x03, 0x03]); // supported_versions
    }
    // padding to a 512-byte ClientHello body, as browsers do
    let cur = b.len() + 2 + e.len();
    if cur + 4 < 508 {
        ext(&mut e, 21, &vec![0; 508 - cur - 4]);
    }
    b.extend_from_slice(&with_len16(&e));
    let mut out = Vec::new();
    record(&mut out, 22, 0x0301, &handshake(1, &b));
    out
}

fn server_hello(rng: &mut Rng, tls13: bool) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0x0303u16.to_be_bytes());
    b.extend_from_slice(&rng.bytes(32));
    b.push(32);
    b.extend_from_slice(&rng.bytes(32));
    let mut e = Vec::new();
    if tls13 {
        b.extend_from_slice(&0x1301u16.to_be_bytes());
        b.push(0);
        let mut ks = 0x001du16.to_be_bytes().to_vec();
        ks.extend_from_slice(&with_len16(&rng.bytes(32)));
        ext(&mut e, 51, &ks);
        ext(&mut e, 43, &[0x03, 0x04]);
    } else {
        b.extend_from_slice(&0xc02fu16.to_be_bytes());
        b.push(0);
        ext(&mut e, 0xff01, &[0]);
        ext(&mut e, 23, &[]);
        ext(&mut e, 11, &[1, 0]);
        ext(
            &mut e,
            16,
            &with_len16(&[8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1']),
        );
    }
    b.extend_from_slice(&with_len16(&e));
    handshake(2, &b)
}

/// The server's first flight: ServerHello and, for TLS 1.2, Certificate (random bytes of
/// realistic sizes), ServerKeyExchange and ServerHelloDone; for TLS 1.3, ChangeCipherSpec and
/// encrypted records standing for EncryptedExtensions..Finished.
pub fn server_flight(rng: &mut Rng, sni: &str, tls13: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let sh = server_hello(rng, tls13);
    if tls13 {
        record(&mut out, 22, 0x0303, &sh);
        record(&mut out, 20, 0x0303, &[1]);
        let n = rng.range(2500, 5000) as usize;
        record(&mut out, 23, 0x0303, &rng.bytes(n));
        return out;
    }
    let mut hs = sh;
    let mut certs = Vec::new();
    let chain = rng.range(2, 3);
    for i in 0..chain {
        let c = certificate(rng, sni, i == 0);
        certs.extend_from_slice(&(c.len() as u32).to_be_bytes()[1..]);
        certs.extend_from_slice(&c);
    }
    let mut cm = (certs.len() as u32).to_be_bytes()[1..].to_vec();
    cm.extend_from_slice(&certs);
    hs.extend_from_slice(&handshake(11, &cm));
    let mut ske = vec![3, 0x00, 0x1d, 32];
    ske.extend_from_slice(&rng.bytes(32));
    ske.extend_from_slice(&0x0804u16.to_be_bytes());
    ske.extend_from_slice(&with_len16(&rng.bytes(256)));
    hs.extend_from_slice(&handshake(12, &ske));
    hs.extend_from_slice(&handshake(14, &[]));
    // Split the handshake messages over records of at most 16 KiB.
    for chunk in hs.chunks(16384) {
        record(&mut out, 22, 0x0303, chunk);
    }
    out
}

/// The client's second flight: (1.2) ClientKeyExchange, ChangeCipherSpec, encrypted Finished;
/// (1.3) ChangeCipherSpec and an encrypted record standing for Finished.
pub fn client_finish(rng: &mut Rng, tls13: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if tls13 {
        record(&mut out, 20, 0x0303, &[1]);
        record(&mut out, 23, 0x0303, &rng.bytes(53));
    } else {
        let mut cke = vec![32];
        cke.extend_from_slice(&rng.bytes(32));
        record(&mut out, 22, 0x0303, &handshake(16, &cke));
        record(&mut out, 20, 0x0303, &[1]);
        record(&mut out, 22, 0x0303, &rng.bytes(40));
    }
    out
}

/// TLS 1.2's server ChangeCipherSpec + encrypted Finished (TLS 1.3 has none at this point).
pub fn server_finish(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    record(&mut out, 20, 0x0303, &[1]);
    record(&mut out, 22, 0x0303, &rng.bytes(40));
    out
}

/// `len` bytes of application data as application_data records (each at most 16 KiB + 256).
pub fn app_data(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + len / 16384 * 5 + 5);
    let mut left = len.max(1);
    while left > 0 {
        let n = left.clamp(1, 16384 + 256 - 5);
        let start = out.len();
        out.extend_from_slice(&[23, 3, 3]);
        out.extend_from_slice(&(n as u16).to_be_bytes());
        out.resize(start + 5 + n, 0);
        rng.fill(&mut out[start + 5..]);
        left -= n;
    }
    out
}

fn der(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = body.len();
    if n < 0x80 {
        v.push(n as u8);
    } else if n < 0x100 {
        v.extend_from_slice(&[0x81, n as u8]);
    } else {
        v.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
    v.extend_from_slice(body);
    v
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    der(0x30, &parts.concat())
}

fn oid(bytes: &[u8]) -> Vec<u8> {
    der(0x06, bytes)
}

const OID_SHA256_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
const OID_O: &[u8] = &[0x55, 0x04, 0x0a];
const OID_C: &[u8] = &[0x55, 0x04, 0x06];
const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];
const OID_BASIC: &[u8] = &[0x55, 0x1d, 0x13];

fn name(c: &str, o: &str, cn: &str) -> Vec<u8> {
    let rdn = |t: &[u8], tag: u8, v: &str| der(0x31, &seq(&[oid(t), der(tag, v.as_bytes())]));
    seq(&[rdn(OID_C, 0x13, c), rdn(OID_O, 0x0c, o), rdn(OID_CN, 0x0c, cn)])
}

/// A DER X.509 v3 certificate for `host` (a leaf with subjectAltName) or an intermediate CA,
/// with a random 2048-bit "RSA key" and random signature.
fn certificate(rng: &mut Rng, host: &str, leaf: bool) -> Vec<u8> {
    let alg = seq(&[oid(OID_SHA256_RSA), vec![0x05, 0x00]]);
    let mut serial = rng.bytes(16);
    serial[0] &= 0x7f;
    serial[0] |= 0x10;
    let year = rng.range(23, 25);
    let validity = seq(&[
        der(0x17, format!("{year}0{}01000000Z", rng.range(1, 9)).as_bytes()),
        der(0x17, format!("{}0{}01235959Z", year + 1, rng.range(1, 9)).as_bytes()),
    ]);
    let ca = *rng.pick(&[
        "Example Trust Services",
        "Demo Certificate Authority",
        "Sample Global CA",
    ]);
    let issuer = name("US", ca, &format!("{ca} R{}", rng.range(1, 4)));
    let subject = if leaf {
        name("US", crate::dns::domain_of(host), host)
    } else {
        name("US", ca, ca)
    };
    let mut key = vec![0x00]; // BIT STRING: no unused bits
    let mut modulus = rng.bytes(257);
    modulus[0] = 0;
    modulus[1] |= 0x80;
    key.extend_from_slice(&seq(&[der(0x02, &modulus), der(0x02, &[0x01, 0x00, 0x01])]));
    let spki = seq(&[seq(&[oid(OID_RSA), vec![0x05, 0x00]]), der(0x03, &key)]);
    let ext = if leaf {
        let domain = crate::dns::domain_of(host);
        let mut names = vec![der(0x82, host.as_bytes()), der(0x82, domain.as_bytes())];
        for _ in 0..rng.range(0, 12) {
            names.push(der(0x82, format!("{}.{domain}", rng.range(1, 999)).as_bytes()));
        }
        seq(&[oid(OID_SAN), der(0x04, &seq(&names))])
    } else {
        seq(&[
            oid(OID_BASIC),
            vec![0x01, 0x01, 0xff],
            der(0x04, &seq(&[vec![0x01, 0x01, 0xff]])),
        ])
    };
    let tbs = seq(&[
        der(0xa0, &der(0x02, &[2])),
        der(0x02, &serial),
        alg.clone(),
        issuer,
        validity,
        subject,
        spki,
        der(0xa3, &seq(&[ext])),
    ]);
    let mut sig = vec![0x00];
    sig.extend_from_slice(&rng.bytes(256));
    seq(&[tbs, alg, der(0x03, &sig)])
}
