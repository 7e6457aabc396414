//! Stapled OCSP responses (RFC 6960): `policy/protocols/ssl/validate-ocsp.zeek`'s `ocsp_status`, as Zeek's
//! `x509_ocsp_verify` computes it with OpenSSL, step by step and with its messages:
//! 1. the response parses and its status is `successful` (else the status, e.g. `trylater`);
//! 2. the responder certificate is found among the response's certificates and the server's chain (by name
//!    or by the SHA-1 of its key), and verifies to a root (`SSL::root_certs`) at network time;
//! 3. the response's signature verifies with the responder's key;
//! 4. the first single response is for the host certificate (SHA-1 CertID with the issuer the server
//!    sent), its thisUpdate is not in the future and its nextUpdate not in the past; then its status
//!    (`good`, `revoked`, `unknown`) is the result.
//!
//! Also the SCTs of the response's extensions (`SCT_OCSP_EXT` of validate-sct.zeek).

use crate::der::{elements, next};
use crate::sct::{SctInfo, SctSource};
use crate::verify::{self, Cert, RootStore};
use std::sync::Arc;
use x509_parser::prelude::{FromDer, X509Name};

const OID_BASIC: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01]; // 1.3.6.1.5.5.7.48.1.1
const OID_SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a]; // 1.3.14.3.2.26
const OID_SCT_LIST: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x05]; // 1.3.6.1.4.1.11129.2.4.5

/// `ResponderID`.
#[derive(Debug, PartialEq, Eq)]
enum Responder {
    /// Canonical name.
    ByName(Vec<u8>),
    ByKey(Vec<u8>),
}

/// `CertID`: hash algorithm OID (content bytes), issuer name hash, issuer key hash, serial (no leading zeros).
#[derive(Debug, PartialEq, Eq)]
struct CertId {
    hash_alg: Vec<u8>,
    name_hash: Vec<u8>,
    key_hash: Vec<u8>,
    serial: Vec<u8>,
}

/// `CertStatus`: 0 good, 1 revoked, 2 unknown.
#[derive(Debug)]
struct Single {
    id: CertId,
    status: u8,
    /// Seconds since the epoch; None for a time that is not a valid GeneralizedTime.
    this_update: Option<i64>,
    /// None: absent; Some(None): not a valid time.
    next_update: Option<Option<i64>>,
}

/// A `BasicOCSPResponse`.
#[derive(Debug)]
struct Basic {
    tbs: Vec<u8>,
    responder: Responder,
    responses: Vec<Single>,
    sig_alg: Vec<u8>,
    signature: Vec<u8>,
    certs: Vec<Arc<Cert>>,
}

/// An `OCSPResponse`: its status and, when it has one, the basic response (Err: present but damaged or of
/// another type).
struct Response {
    status: u8,
    basic: Result<Basic, ()>,
    /// SCT lists of the single responses' then the response's extensions.
    scts: Vec<SctInfo>,
}

/// Seconds since the epoch of a GeneralizedTime `YYYYMMDDHHMM[SS[.fff]]Z`.
fn generalized_time(s: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(s).ok()?.strip_suffix('Z')?;
    let s = s.split('.').next()?;
    if !(s.len() == 12 || s.len() == 14) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r).map_or(Some(0), |v| v.parse::<i64>().ok());
    let (y, mo, d, h, mi, sec) = (n(0..4)?, n(4..6)?, n(6..8)?, n(8..10)?, n(10..12)?, n(12..14)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    // Days from the civil date (proleptic Gregorian).
    let (y, m) = if mo <= 2 { (y - 1, mo + 9) } else { (y, mo - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + h * 3600 + mi * 60 + sec)
}

/// The SCTs of an `Extensions` SEQUENCE (content).
fn extension_scts(exts: &[u8], out: &mut Vec<SctInfo>) -> Option<()> {
    for ext in elements(exts)? {
        let (_, ext, _) = next(ext)?;
        let (0x06, oid, rest) = next(ext)? else { return None };
        let rest = match next(rest)? {
            (0x01, _, after) => after,
            _ => rest,
        };
        let (0x04, value, _) = next(rest)? else { return None };
        if oid == OID_SCT_LIST {
            if let Some((0x04, inner, _)) = next(value) {
                let (list, _) = crate::parse::parse_sct_list_partial(inner);
                out.extend(list.iter().map(|s| SctInfo::new(s, SctSource::OcspExt)));
            }
        }
    }
    Some(())
}

fn parse_single(d: &[u8], scts: &mut Vec<SctInfo>) -> Option<Single> {
    let (0x30, body, _) = next(d)? else { return None };
    let (0x30, cert_id, rest) = next(body)? else {
        return None;
    };
    let (0x30, alg, id_rest) = next(cert_id)? else {
        return None;
    };
    let (0x06, hash_alg, _) = next(alg)? else { return None };
    let (0x04, name_hash, id_rest) = next(id_rest)? else {
        return None;
    };
    let (0x04, key_hash, id_rest) = next(id_rest)? else {
        return None;
    };
    let (0x02, serial, _) = next(id_rest)? else { return None };
    let (tag, _, rest) = next(rest)?;
    let status = match tag {
        0x80 => 0,
        0xa1 => 1,
        0x82 => 2,
        _ => return None,
    };
    let (0x18, this_update, mut rest) = next(rest)? else {
        return None;
    };
    let mut next_update = None;
    if let Some((0xa0, inner, after)) = next(rest) {
        let (0x18, t, _) = next(inner)? else { return None };
        next_update = Some(generalized_time(t));
        rest = after;
    }
    if let Some((0xa1, inner, _)) = next(rest) {
        let (0x30, exts, _) = next(inner)? else { return None };
        extension_scts(exts, scts)?;
    }
    Some(Single {
        id: CertId {
            hash_alg: hash_alg.to_vec(),
            name_hash: name_hash.to_vec(),
            key_hash: key_hash.to_vec(),
            serial: strip_zeros(serial).to_vec(),
        },
        status,
        this_update: generalized_time(this_update),
        next_update,
    })
}

fn strip_zeros(s: &[u8]) -> &[u8] {
    let i = s.iter().position(|&b| b != 0).unwrap_or(s.len());
    &s[i..]
}

fn parse_basic(d: &[u8], scts: &mut Vec<SctInfo>) -> Option<Basic> {
    let (0x30, body, _) = next(d)? else { return None };
    let els = elements(body)?;
    let (tbs, sig_alg, bits) = (*els.first()?, *els.get(1)?, *els.get(2)?);
    let (0x30, data, _) = next(tbs)? else { return None };
    let (0x30, _, _) = next(sig_alg)? else { return None };
    let (0x03, bits, _) = next(bits)? else { return None };
    let mut certs = Vec::new();
    if let Some((0xa0, inner, _)) = els.get(3).and_then(|e| next(e)) {
        let (0x30, list, _) = next(inner)? else { return None };
        for c in elements(list)? {
            certs.push(Arc::new(Cert::from_der(c)?));
        }
    }
    // ResponseData
    let mut r = data;
    if let Some((0xa0, _, after)) = next(r) {
        r = after;
    }
    let (tag, id, r) = next(r)?;
    let responder = match tag {
        0xa1 => Responder::ByName(verify::canonical_name(&X509Name::from_der(id).ok()?.1)),
        0xa2 => match next(id)? {
            (0x04, key, _) => Responder::ByKey(key.to_vec()),
            _ => return None,
        },
        _ => return None,
    };
    let (0x18, _, r) = next(r)? else { return None };
    let (0x30, list, after) = next(r)? else { return None };
    let mut responses = Vec::new();
    for s in elements(list)? {
        responses.push(parse_single(s, scts)?);
    }
    if let Some((0xa1, inner, _)) = next(after) {
        let (0x30, exts, _) = next(inner)? else { return None };
        extension_scts(exts, scts)?;
    }
    Some(Basic {
        tbs: tbs.to_vec(),
        responder,
        responses,
        sig_alg: sig_alg.to_vec(),
        signature: bits.get(1..)?.to_vec(),
        certs,
    })
}

fn parse_response(d: &[u8]) -> Option<Response> {
    let (0x30, body, _) = next(d)? else { return None };
    let (0x0a, status, rest) = next(body)? else { return None };
    let status = *status.first()?;
    let mut scts = Vec::new();
    let basic = match next(rest) {
        Some((0xa0, inner, _)) => {
            let (0x30, rb, _) = next(inner)? else { return None };
            let (0x06, oid, rb) = next(rb)? else { return None };
            let (0x04, bytes, _) = next(rb)? else { return None };
            if oid == OID_BASIC {
                parse_basic(bytes, &mut scts).ok_or(())
            } else {
                Err(())
            }
        }
        _ => Err(()),
    };
    Some(Response { status, basic, scts })
}

/// The SCTs of a stapled OCSP response's extensions (for validate-sct.zeek; none if it does not parse).
pub fn response_scts(response: &[u8]) -> Vec<SctInfo> {
    parse_response(response).map(|r| r.scts).unwrap_or_default()
}

/// `OCSP_response_status_str`.
fn response_status_str(s: u8) -> &'static str {
    match s {
        0 => "successful",
        1 => "malformedrequest",
        2 => "internalerror",
        3 => "trylater",
        5 => "sigrequired",
        6 => "unauthorized",
        _ => "(UNKNOWN)",
    }
}

/// `x509_ocsp_verify(chain, response, root_certs)` at time `t` (seconds): `ocsp_status`. `chain` is the
/// server's chain (the certificates that parsed, host certificate first).
pub fn verify_response(response: &[u8], chain: &[Arc<Cert>], store: &RootStore, t: i64) -> &'static str {
    let Some(cert) = chain.first() else {
        return "no certificates";
    };
    let Some(resp) = parse_response(response) else {
        return "Could not parse OCSP response";
    };
    if resp.status != 0 {
        return response_status_str(resp.status);
    }
    let Ok(basic) = resp.basic else {
        return "Could not parse OCSP response";
    };
    // The server's certificates join the response's, for finding the signer and its chain.
    let mut certs = basic.certs.clone();
    certs.extend(chain[1..].iter().cloned());
    let issuer = chain[1..].iter().rev().find(|c| c.subject == cert.issuer);
    let signer = match &basic.responder {
        Responder::ByName(name) => certs.iter().find(|c| c.subject == *name),
        Responder::ByKey(k) if k.len() == 20 => certs.iter().find(|c| c.key_sha1()[..] == k[..]),
        Responder::ByKey(_) => None,
    };
    let Some(signer) = signer else {
        return "Could not find OCSP responder certificate";
    };
    let mut signer_chain = vec![signer.clone()];
    signer_chain.extend(certs.iter().cloned());
    if let Err(e) = verify::verify(&signer_chain, store, t) {
        return e.openssl_str();
    }
    if !signer.signed(&basic.sig_alg, &basic.tbs, &basic.signature) {
        // Zeek shows OpenSSL's first queued error here (provider-dependent); weir names the failure.
        return "OCSP response signature failure";
    }
    // Zeek looks the issuer up in the store by the host certificate's own subject when the server did not
    // send it (so it is found only for a host certificate that is itself a root).
    let issuer = issuer.or_else(|| store.find_by_subject(&cert.subject));
    let Some(issuer) = issuer else {
        return "Could not find issuer of host certificate";
    };
    let id = CertId {
        hash_alg: OID_SHA1.to_vec(),
        name_hash: verify::sha1(&issuer.subject_der).to_vec(),
        key_hash: issuer.key_sha1().to_vec(),
        serial: cert.serial.clone(),
    };
    let Some(single) = basic.responses.first() else {
        return "Could not lookup OCSP response information";
    };
    if single.id != id {
        return "OCSP reply is not for host certificate";
    }
    let Some(next_update) = single.next_update else {
        return "OCSP reply missing nextUpdate field";
    };
    let Some(this_update) = single.this_update else {
        return "OCSP reply contains invalid thisUpdate field";
    };
    let Some(next_update) = next_update else {
        return "OCSP reply contains invalid nextUpdate field";
    };
    if this_update > t {
        return "OCSP reply specifies time in future";
    }
    if next_update < t {
        return "OCSP reply expired";
    }
    match single.status {
        0 => "good",
        1 => "revoked",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generalized_times() {
        assert_eq!(generalized_time(b"19700101000000Z"), Some(0));
        assert_eq!(generalized_time(b"20140903120000Z"), Some(1_409_745_600));
        assert_eq!(generalized_time(b"20140903120000.123Z"), Some(1_409_745_600));
        assert_eq!(generalized_time(b"201409031200Z"), Some(1_409_745_600));
        assert_eq!(generalized_time(b"20140903120000"), None);
        assert_eq!(generalized_time(b"20141303120000Z"), None);
    }

    #[test]
    fn damaged_responses() {
        let store = RootStore::new();
        assert_eq!(verify_response(b"", &[], &store, 0), "no certificates");
        assert!(parse_response(&[0x30, 0x03, 0x0a, 0x01, 0x03]).is_some());
        assert!(parse_response(&[0x30, 0x03, 0x0a, 0x01]).is_none());
        assert!(response_scts(&[0xff]).is_empty());
    }
}
