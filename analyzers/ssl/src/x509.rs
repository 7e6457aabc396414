//! Certificates: parsing (x509-parser) and rendering of every x509.log field as Zeek's X509.cc does it with
//! OpenSSL (`X509_NAME_print_ex` with `XN_FLAG_RFC2253`, `i2a_ASN1_INTEGER`, `i2t_ASN1_OBJECT`, ...), and the
//! once-per-`X509::relog_known_certificates_after` de-duplication of `base/files/x509/main.zeek`.

use sha2::Digest;
use std::net::IpAddr;
use x509_parser::der_parser::asn1_rs::{Any, Class, Tag};
use x509_parser::prelude::*;
use x509_parser::public_key::PublicKey;

/// One certificate as Zeek's `X509::Info` holds it (the logged part).
#[derive(Clone, Debug, PartialEq)]
pub struct CertInfo {
    /// SHA-256 of the DER encoding, lower-case hex (`X509::hash_function`).
    pub fingerprint: String,
    pub version: u64,
    pub serial: String,
    pub subject: String,
    pub issuer: String,
    pub not_valid_before: f64,
    pub not_valid_after: f64,
    pub key_alg: String,
    pub sig_alg: String,
    /// The signature algorithm inside the TBS part (`tbs_sig_alg`, not logged by default).
    pub tbs_sig_alg: String,
    pub key_type: Option<String>,
    pub key_length: Option<u64>,
    pub exponent: Option<String>,
    pub curve: Option<String>,
    /// Last CN of the subject (`certificate.cn`), if any.
    pub cn: Option<String>,
    pub san: Option<San>,
    pub basic_constraints: Option<(bool, Option<u64>)>,
    /// DNS names of the SAN extension as `x509_check_cert_hostname` sees them (None: no SAN extension).
    pub san_dns_for_match: Option<Vec<String>>,
    /// The DER encoding.
    pub der: Vec<u8>,
}

/// `X509::SubjectAlternativeName`: each list is None when the certificate has no entry of that kind.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct San {
    pub dns: Option<Vec<String>>,
    pub uri: Option<Vec<String>>,
    pub email: Option<Vec<String>>,
    pub ip: Option<Vec<IpAddr>>,
}

/// Weirds raised while parsing a certificate (file weirds in Zeek).
pub type CertWeirds = Vec<&'static str>;

/// Lower-case hex.
pub fn hex(data: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(data.len() * 2);
    for &b in data {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Parses one DER certificate as Zeek's X509 file analyzer does; None when OpenSSL would not parse it
/// (then Zeek raises no `x509_certificate` event, logs nothing and has no fingerprint for the chain).
pub fn parse_certificate(der: &[u8], weirds: &mut CertWeirds) -> Option<CertInfo> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let tbs = &cert.tbs_certificate;
    let fingerprint = hex(&sha2::Sha256::digest(der));
    let spki = tbs.subject_pki.clone();
    let key_alg = oid_long_name(&spki.algorithm.algorithm.to_id_string());
    let sig_alg = oid_long_name(&cert.signature_algorithm.algorithm.to_id_string());
    let tbs_sig_alg = oid_long_name(&tbs.signature.algorithm.to_id_string());
    let (key_type, key_length, exponent, curve) = key_details(&spki);
    let mut san = None;
    let mut san_dns_for_match = None;
    let mut basic_constraints = None;
    for ext in tbs.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(s) => {
                if san.is_some() {
                    continue;
                }
                let mut out = San::default();
                let mut dns_match = Vec::new();
                for gn in &s.general_names {
                    match gn {
                        GeneralName::DNSName(n) => {
                            out.dns.get_or_insert_with(Vec::new).push(n.to_string());
                            dns_match.push(n.to_string());
                        }
                        GeneralName::URI(n) => out.uri.get_or_insert_with(Vec::new).push(n.to_string()),
                        GeneralName::RFC822Name(n) => out.email.get_or_insert_with(Vec::new).push(n.to_string()),
                        GeneralName::IPAddress(a) => match a.len() {
                            4 => out
                                .ip
                                .get_or_insert_with(Vec::new)
                                .push(IpAddr::from(<[u8; 4]>::try_from(*a).unwrap())),
                            16 => out
                                .ip
                                .get_or_insert_with(Vec::new)
                                .push(IpAddr::from(<[u8; 16]>::try_from(*a).unwrap())),
                            _ => weirds.push("x509_san_ip_length"),
                        },
                        GeneralName::Invalid(..) => weirds.push("x509_san_non_string"),
                        _ => {}
                    }
                }
                san = Some(out);
                san_dns_for_match = Some(dns_match);
            }
            ParsedExtension::BasicConstraints(bc) => {
                basic_constraints = Some((bc.ca, bc.path_len_constraint.map(u64::from)));
            }
            _ => {}
        }
    }
    let cn = tbs
        .subject
        .iter_common_name()
        .last()
        .map(|a| String::from_utf8_lossy(a.attr_value().data).into_owned());
    Some(CertInfo {
        fingerprint,
        version: u64::from(tbs.version.0) + 1,
        serial: serial_string(tbs.raw_serial()),
        subject: name_rfc2253(&tbs.subject),
        issuer: name_rfc2253(&tbs.issuer),
        not_valid_before: tbs.validity.not_before.timestamp() as f64,
        not_valid_after: tbs.validity.not_after.timestamp() as f64,
        key_alg,
        sig_alg,
        tbs_sig_alg,
        key_type,
        key_length,
        exponent,
        curve,
        cn,
        san,
        basic_constraints,
        san_dns_for_match,
        der: der.to_vec(),
    })
}

/// Standard base64 with padding (Zeek's `encode_base64`).
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        s.push(A[(n >> 18) as usize & 63] as char);
        s.push(A[(n >> 12) as usize & 63] as char);
        s.push(if c.len() > 1 {
            A[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        s.push(if c.len() > 2 { A[n as usize & 63] as char } else { '=' });
    }
    s
}

/// `i2a_ASN1_INTEGER`: upper-case hex of the magnitude, `-` for negatives, `00` for zero, a `\` + newline
/// every 35 bytes.
pub fn serial_string(raw: &[u8]) -> String {
    let mut bytes: Vec<u8> = raw.to_vec();
    let neg = bytes.first().is_some_and(|b| b & 0x80 != 0);
    if neg {
        // two's complement magnitude
        let mut carry = true;
        for b in bytes.iter_mut().rev() {
            *b = !*b;
            if carry {
                let (v, c) = b.overflowing_add(1);
                *b = v;
                carry = c;
            }
        }
        while bytes.len() > 1 && bytes[0] == 0 {
            bytes.remove(0);
        }
    } else if bytes.len() > 1 && bytes[0] == 0 {
        bytes.remove(0);
    }
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    if bytes.is_empty() {
        s.push_str("00");
    }
    for (i, b) in bytes.iter().enumerate() {
        if i != 0 && i % 35 == 0 {
            s.push_str("\\\n");
        }
        const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

fn key_details(spki: &SubjectPublicKeyInfo<'_>) -> (Option<String>, Option<u64>, Option<String>, Option<String>) {
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        // rsaEncryption (and md5WithRSAEncryption, which Zeek decodes as RSA)
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.4" | "1.2.840.113549.1.1.10" => {
            // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }, read directly: x509-parser
            // does not decode it under md5WithRSAEncryption, which Zeek decodes as RSA.
            let (modulus, exponent) = match spki.parsed() {
                Ok(PublicKey::RSA(rsa)) => (rsa.modulus.to_vec(), rsa.exponent.to_vec()),
                _ => match rsa_key(&spki.subject_public_key.data) {
                    Some(k) => k,
                    None => return (None, None, None, None),
                },
            };
            let bits = bit_length(&modulus);
            let exp = big_dec(&exponent);
            let ty = if alg == "1.2.840.113549.1.1.10" {
                "RSA-PSS"
            } else {
                "rsa"
            };
            let exp = if ty == "rsa" { Some(exp) } else { None };
            (Some(ty.into()), (bits > 0).then_some(bits), exp, None)
        }
        "1.2.840.10040.4.1" | "1.3.14.3.2.12" => {
            // DSA: key length is the size of p, from the parameters
            let bits = spki.algorithm.parameters.as_ref().and_then(dsa_p_bits);
            (Some("dsa".into()), bits, None, None)
        }
        "1.2.840.10045.2.1" => {
            let curve_oid = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.clone().oid().ok())
                .map(|o| o.to_id_string());
            let (name, bits) = match curve_oid.as_deref().map(ec_curve) {
                Some(Some((n, b))) => (Some(n.to_string()), Some(b)),
                _ => (None, None),
            };
            (Some("ecdsa".into()), bits, None, name)
        }
        "1.3.101.112" => (Some("ED25519".into()), Some(253), None, None),
        "1.3.101.113" => (Some("ED448".into()), Some(456), None, None),
        "1.3.101.110" => (Some("X25519".into()), Some(253), None, None),
        "1.3.101.111" => (Some("X448".into()), Some(448), None, None),
        "2.16.840.1.101.3.4.3.17" => (Some("ML-DSA-44".into()), Some(1312 * 8), None, None),
        "2.16.840.1.101.3.4.3.18" => (Some("ML-DSA-65".into()), Some(1952 * 8), None, None),
        "2.16.840.1.101.3.4.3.19" => (Some("ML-DSA-87".into()), Some(2592 * 8), None, None),
        _ => (None, None, None, None),
    }
}

fn rsa_key(data: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (tag, len, hdr) = der_header(data)?;
    if tag != 0x30 {
        return None;
    }
    let seq = data.get(hdr..hdr + len)?;
    let (t1, l1, h1) = der_header(seq)?;
    let n = seq.get(h1..h1 + l1)?;
    let rest = &seq[h1 + l1..];
    let (t2, l2, h2) = der_header(rest)?;
    let e = rest.get(h2..h2 + l2)?;
    (t1 == 2 && t2 == 2).then(|| (n.to_vec(), e.to_vec()))
}

fn dsa_p_bits(params: &Any<'_>) -> Option<u64> {
    // Dss-Parms ::= SEQUENCE { p INTEGER, q INTEGER, g INTEGER }
    let data = params.data;
    let (tag, len, hdr) = der_header(data)?;
    if tag != 0x02 {
        return None;
    }
    let p = data.get(hdr..hdr + len)?;
    Some(bit_length(p))
}

fn der_header(data: &[u8]) -> Option<(u8, usize, usize)> {
    let tag = *data.first()?;
    let l0 = *data.get(1)? as usize;
    if l0 < 0x80 {
        return Some((tag, l0, 2));
    }
    let n = l0 & 0x7f;
    if n == 0 || n > 4 {
        return None;
    }
    let mut len = 0usize;
    for i in 0..n {
        len = (len << 8) | *data.get(2 + i)? as usize;
    }
    Some((tag, len, 2 + n))
}

fn bit_length(mut n: &[u8]) -> u64 {
    while let Some((&0, rest)) = n.split_first() {
        n = rest;
    }
    match n.first() {
        None => 0,
        Some(&b) => (n.len() as u64 - 1) * 8 + (8 - b.leading_zeros() as u64),
    }
}

/// Decimal rendering of an unsigned big-endian integer (`BN_bn2dec`).
fn big_dec(n: &[u8]) -> String {
    let mut digits: Vec<u8> = vec![0]; // little-endian base-10
    for &byte in n {
        let mut carry = byte as u32;
        for d in digits.iter_mut() {
            let v = *d as u32 * 256 + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    while digits.len() > 1 && *digits.last().unwrap() == 0 {
        digits.pop();
    }
    digits.iter().rev().map(|d| (b'0' + d) as char).collect()
}

fn ec_curve(oid: &str) -> Option<(&'static str, u64)> {
    Some(match oid {
        "1.2.840.10045.3.1.7" => ("prime256v1", 256),
        "1.3.132.0.34" => ("secp384r1", 384),
        "1.3.132.0.35" => ("secp521r1", 521),
        "1.3.132.0.10" => ("secp256k1", 256),
        "1.3.132.0.33" => ("secp224r1", 224),
        "1.2.840.10045.3.1.1" => ("prime192v1", 192),
        "1.3.36.3.3.2.8.1.1.7" => ("brainpoolP256r1", 256),
        "1.3.36.3.3.2.8.1.1.11" => ("brainpoolP384r1", 384),
        "1.3.36.3.3.2.8.1.1.13" => ("brainpoolP512r1", 512),
        _ => return None,
    })
}

/// OpenSSL's long name of an object (`i2t_ASN1_OBJECT`), or the dotted OID when it has none.
pub fn oid_long_name(oid: &str) -> String {
    let n = match oid {
        "1.2.840.113549.1.1.1" => "rsaEncryption",
        "1.2.840.113549.1.1.2" => "md2WithRSAEncryption",
        "1.2.840.113549.1.1.3" => "md4WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.7" => "rsaesOaep",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
        "1.2.840.10045.2.1" => "id-ecPublicKey",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.2.840.10040.4.1" => "dsaEncryption",
        "1.2.840.10040.4.3" => "dsaWithSHA1",
        "2.16.840.1.101.3.4.3.1" => "dsa_with_SHA224",
        "2.16.840.1.101.3.4.3.2" => "dsa_with_SHA256",
        "1.3.14.3.2.12" => "dsaEncryption-old",
        "1.3.14.3.2.13" => "dsaWithSHA",
        "1.3.14.3.2.27" => "dsaWithSHA1-old",
        "1.3.14.3.2.29" => "sha1WithRSA",
        "1.3.14.3.2.3" => "md5WithRSA",
        "1.3.101.110" => "X25519",
        "1.3.101.111" => "X448",
        "1.3.101.112" => "ED25519",
        "1.3.101.113" => "ED448",
        "2.16.840.1.101.3.4.3.17" => "ML-DSA-44",
        "2.16.840.1.101.3.4.3.18" => "ML-DSA-65",
        "2.16.840.1.101.3.4.3.19" => "ML-DSA-87",
        "1.2.643.2.2.19" => "GOST R 34.10-2001",
        "1.2.643.2.2.3" => "GOST R 34.11-94 with GOST R 34.10-2001",
        _ => return oid.to_string(),
    };
    n.to_string()
}

/// OpenSSL's short name of a name attribute (`XN_FLAG_FN_SN`); None: OpenSSL does not know it.
fn attr_short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "street",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "2.5.4.13" => "description",
        "2.5.4.15" => "businessCategory",
        "2.5.4.16" => "postalAddress",
        "2.5.4.17" => "postalCode",
        "2.5.4.18" => "postOfficeBox",
        "2.5.4.20" => "telephoneNumber",
        "2.5.4.41" => "name",
        "2.5.4.42" => "GN",
        "2.5.4.43" => "initials",
        "2.5.4.44" => "generationQualifier",
        "2.5.4.45" => "x500UniqueIdentifier",
        "2.5.4.46" => "dnQualifier",
        "2.5.4.65" => "pseudonym",
        "2.5.4.97" => "organizationIdentifier",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "1.2.840.113549.1.9.2" => "unstructuredName",
        "1.2.840.113549.1.9.8" => "unstructuredAddress",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        "1.3.6.1.4.1.311.60.2.1.1" => "jurisdictionL",
        "1.3.6.1.4.1.311.60.2.1.2" => "jurisdictionST",
        "1.3.6.1.4.1.311.60.2.1.3" => "jurisdictionC",
        _ => return None,
    })
}

/// `X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253)`: RDNs in reverse order joined by `,`, multi-valued
/// RDNs by `+`, short names, values escaped per RFC 2253 with non-ASCII bytes as `\XX`, unknown attribute
/// types dumped as `#` + hex DER.
pub fn name_rfc2253(name: &X509Name<'_>) -> String {
    let mut out = String::new();
    let rdns: Vec<_> = name.iter_rdn().collect();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // XN_FLAG_DN_REV reverses OpenSSL's flat entry list, so the values of a multi-valued RDN too
        let atvs: Vec<_> = rdn.iter().collect();
        for (j, atv) in atvs.iter().rev().enumerate() {
            if j > 0 {
                out.push('+');
            }
            let oid = atv.attr_type().to_id_string();
            match attr_short_name(&oid) {
                Some(sn) => {
                    out.push_str(sn);
                    out.push('=');
                    print_value(&mut out, atv.attr_value(), false);
                }
                None => {
                    out.push_str(&oid);
                    out.push('=');
                    print_value(&mut out, atv.attr_value(), true);
                }
            }
        }
    }
    out
}

fn der_encode(any: &Any<'_>) -> Vec<u8> {
    let mut v = Vec::new();
    let class = match any.header.class() {
        Class::Universal => 0u8,
        Class::Application => 0x40,
        Class::ContextSpecific => 0x80,
        Class::Private => 0xc0,
    };
    let cons = if any.header.is_constructed() { 0x20 } else { 0 };
    let tag = any.header.tag().0;
    if tag < 31 {
        v.push(class | cons | tag as u8);
    } else {
        v.push(class | cons | 0x1f);
        let mut parts = Vec::new();
        let mut t = tag;
        parts.push((t & 0x7f) as u8);
        t >>= 7;
        while t > 0 {
            parts.push(0x80 | (t & 0x7f) as u8);
            t >>= 7;
        }
        parts.reverse();
        v.extend(parts);
    }
    let len = any.data.len();
    if len < 0x80 {
        v.push(len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        v.push(0x80 | (8 - skip) as u8);
        v.extend_from_slice(&bytes[skip..]);
    }
    v.extend_from_slice(any.data);
    v
}

fn print_value(out: &mut String, any: &Any<'_>, dump_all: bool) {
    let tag = any.header.tag();
    let width: i32 = if dump_all || any.header.class() != Class::Universal {
        -1
    } else {
        match tag {
            Tag::Utf8String => 0,
            Tag::NumericString | Tag::PrintableString | Tag::T61String | Tag::Ia5String => 1,
            Tag::UtcTime | Tag::GeneralizedTime => 1,
            Tag(26) => 1,
            Tag::UniversalString => 4,
            Tag::BmpString => 2,
            _ => -1,
        }
    };
    if width == -1 {
        out.push('#');
        for b in der_encode(any) {
            out.push_str(&format!("{b:02X}"));
        }
        return;
    }
    let data = any.data;
    // Collect characters (code points) per the width, then apply the UTF-8 conversion and escaping.
    let mut chars: Vec<u32> = Vec::new();
    match width {
        0 | 1 => chars.extend(data.iter().map(|&b| b as u32)),
        2 => {
            if !data.len().is_multiple_of(2) {
                return;
            }
            chars.extend(data.chunks(2).map(|c| u32::from(c[0]) << 8 | u32::from(c[1])));
        }
        _ => {
            if !data.len().is_multiple_of(4) {
                return;
            }
            chars.extend(data.chunks(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])));
        }
    }
    let convert = width != 0; // UTF8String: bytes as they are; others: code points to UTF-8
    let n = chars.len();
    for (i, &c) in chars.iter().enumerate() {
        let first = i == 0;
        let last = i + 1 == n;
        if convert && c > 0x7f {
            let mut buf = [0u8; 4];
            let bytes: Vec<u8> = match char::from_u32(c) {
                Some(ch) => ch.encode_utf8(&mut buf).as_bytes().to_vec(),
                None => vec![b'?'],
            };
            for b in bytes {
                esc_char(out, b, first, last);
            }
        } else {
            esc_char(out, c as u8, first, last);
        }
    }
}

fn esc_char(out: &mut String, c: u8, first: bool, last: bool) {
    let bs = matches!(c, b',' | b'+' | b'"' | b'\\' | b'<' | b'>' | b';')
        || (first && (c == b'#' || c == b' '))
        || (last && c == b' ');
    if !(0x20..=0x7f).contains(&c) || c == 0x7f {
        out.push_str(&format!("\\{c:02X}"));
    } else if bs {
        out.push('\\');
        out.push(c as char);
    } else {
        out.push(c as char);
    }
}

/// `check_hostname` of Zeek's x509 functions.bif (RFC 6125 wildcard rules).
pub fn check_hostname(hostname: &str, certname: &str) -> bool {
    if hostname == certname {
        return true;
    }
    let Some(wildpos) = certname.find('*') else {
        return false;
    };
    let Some(firstpos) = certname.find('.') else {
        return false;
    };
    if !certname[firstpos + 1..].contains('.') {
        return false;
    }
    if wildpos + 1 != firstpos {
        return false;
    }
    let Some(host_firstpos) = hostname.find('.') else {
        return false;
    };
    if hostname[host_firstpos..] != certname[firstpos..] {
        return false;
    }
    if wildpos > 0 && hostname.get(..wildpos) != certname.get(..wildpos) {
        return false;
    }
    true
}

/// `x509_check_cert_hostname(cert, hostname) != ""`.
pub fn cert_matches_host(cert: &CertInfo, hostname: &str) -> bool {
    match &cert.san_dns_for_match {
        Some(names) => names.iter().any(|n| check_hostname(hostname, n)),
        None => cert.cn.as_deref().is_some_and(|cn| check_hostname(hostname, cn)),
    }
}

/// `parse_distinguished_name`: a DER Name rendered with `XN_FLAG_RFC2253` (at most 255 bytes, as Zeek's
/// buffer); "" when it does not parse.
pub fn parse_distinguished_name(der: &[u8]) -> String {
    match X509Name::from_der(der) {
        Ok((_, name)) => {
            let mut s = name_rfc2253(&name);
            if s.len() > 255 {
                let mut cut = 255;
                while !s.is_char_boundary(cut) {
                    cut -= 1;
                }
                s.truncate(cut);
            }
            s
        }
        Err(_) => String::new(),
    }
}
