//! Certificate chain verification as Zeek's `x509_verify` gets it from OpenSSL 3's `X509_verify_cert`
//! (`crypto/x509/x509_vfy.c`) with Zeek's parameters: no purpose, no host name, no CRLs, the check time
//! given by the caller (`X509_V_FLAG_USE_CHECK_TIME`, whole seconds), the default flags (trusted first, no
//! partial chains, no strict mode). The result is OpenSSL's error code and its error string, which is what
//! `validation_status` shows.
//!
//! The steps, in OpenSSL's order, each stopping at the first error:
//! 1. build the chain: from the host certificate, look for its issuer in the trust store first, then among
//!    the other certificates the server sent; a self-signed certificate of the store ends it (trusted);
//! 2. extensions: unhandled critical extensions, CA flags (`X509_check_ca`), path length constraints;
//! 3. signatures and validity times, from the trust anchor down to the host certificate.
//!
//! Not reproduced (none of Zeek's baselines shows them): name constraints, DSA and Ed25519 signatures
//! (a signature weir cannot check is a `certificate signature failure`), explicit EC curve parameters.

use sha2::Digest;
use std::collections::HashMap;
use std::sync::Arc;
use x509_parser::der_parser::asn1_rs::{Any, Tag};
use x509_parser::prelude::*;
use x509_parser::public_key::PublicKey;
use x509_parser::signature_algorithm::SignatureAlgorithm;

/// OpenSSL's `X509_V_*` results weir can produce: code and `X509_verify_cert_error_string`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyError {
    UnableToGetIssuerCert,
    UnableToDecodeIssuerPublicKey,
    CertSignatureFailure,
    CertNotYetValid,
    CertHasExpired,
    DepthZeroSelfSignedCert,
    SelfSignedCertInChain,
    UnableToGetIssuerCertLocally,
    UnableToVerifyLeafSignature,
    CertChainTooLong,
    InvalidCa,
    PathLengthExceeded,
    UnhandledCriticalExtension,
    KeyUsageNoCertSign,
}

impl VerifyError {
    /// OpenSSL's `X509_V_ERR_*` number (Zeek's `validation_code`).
    pub fn code(self) -> i64 {
        use VerifyError::*;
        match self {
            UnableToGetIssuerCert => 2,
            UnableToDecodeIssuerPublicKey => 6,
            CertSignatureFailure => 7,
            CertNotYetValid => 9,
            CertHasExpired => 10,
            DepthZeroSelfSignedCert => 18,
            SelfSignedCertInChain => 19,
            UnableToGetIssuerCertLocally => 20,
            UnableToVerifyLeafSignature => 21,
            CertChainTooLong => 22,
            InvalidCa => 24,
            PathLengthExceeded => 25,
            UnhandledCriticalExtension => 34,
            KeyUsageNoCertSign => 32,
        }
    }

    /// OpenSSL 3's `X509_verify_cert_error_string`, except that Zeek's `x509_verify` replaces the depth-zero
    /// self-signed string by OpenSSL 1's ("self signed certificate") to keep its baselines stable.
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyError::DepthZeroSelfSignedCert => "self signed certificate",
            e => e.openssl_str(),
        }
    }

    /// OpenSSL 3's `X509_verify_cert_error_string` (what Zeek's `x509_ocsp_verify` shows).
    pub fn openssl_str(self) -> &'static str {
        use VerifyError::*;
        match self {
            UnableToGetIssuerCert => "unable to get issuer certificate",
            UnableToDecodeIssuerPublicKey => "unable to decode issuer public key",
            CertSignatureFailure => "certificate signature failure",
            CertNotYetValid => "certificate is not yet valid",
            CertHasExpired => "certificate has expired",
            DepthZeroSelfSignedCert => "self-signed certificate",
            SelfSignedCertInChain => "self-signed certificate in certificate chain",
            UnableToGetIssuerCertLocally => "unable to get local issuer certificate",
            UnableToVerifyLeafSignature => "unable to verify the first certificate",
            CertChainTooLong => "certificate chain too long",
            InvalidCa => "invalid CA certificate",
            PathLengthExceeded => "path length constraint exceeded",
            UnhandledCriticalExtension => "unhandled critical extension",
            KeyUsageNoCertSign => "key usage does not include certificate signing",
        }
    }
}

/// OpenSSL's default verification depth (`X509_VERIFY_PARAM` "default": 100 certificates below the anchor).
const MAX_DEPTH: usize = 100;

/// The extensions OpenSSL handles (`X509_supported_extension`); any other critical extension fails.
const SUPPORTED_EXTENSIONS: &[&str] = &[
    "2.16.840.1.113730.1.1", // netscape cert type
    "2.5.29.15",             // key usage
    "2.5.29.17",             // subject alt name
    "2.5.29.19",             // basic constraints
    "2.5.29.32",             // certificate policies
    "2.5.29.31",             // CRL distribution points
    "2.5.29.37",             // extended key usage
    "1.3.6.1.5.5.7.1.7",     // IP address blocks (RFC 3779)
    "1.3.6.1.5.5.7.1.8",     // AS identifiers (RFC 3779)
    "1.3.6.1.5.5.7.48.1.5",  // OCSP no check
    "2.5.29.36",             // policy constraints
    "1.3.6.1.5.5.7.1.14",    // proxy cert info
    "2.5.29.30",             // name constraints
    "2.5.29.33",             // policy mappings
    "2.5.29.54",             // inhibit any policy
];

/// The public key of a certificate, as far as verification needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Key {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// Curve OID (dotted) and SEC1 point.
    Ec {
        curve: String,
        point: Vec<u8>,
    },
    /// Another algorithm (DSA, Ed25519, ...), or a key that did not decode.
    Other,
}

/// The kind of key a signature algorithm needs (OpenSSL's `check_sig_alg_match`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    Ec,
    Other,
}

/// `AuthorityKeyIdentifier` as `X509_check_akid` uses it.
#[derive(Clone, Debug, Default)]
struct Akid {
    key_id: Option<Vec<u8>>,
    /// Canonical forms of the directory names among `authorityCertIssuer`.
    issuer_names: Vec<Vec<u8>>,
    serial: Option<Vec<u8>>,
}

/// One certificate, decoded once for verification.
#[derive(Debug)]
pub struct Cert {
    der: Vec<u8>,
    /// DER of the subject name (the intermediate cache key of validate-certs.zeek).
    pub subject_der: Vec<u8>,
    /// DER of the issuer name.
    pub issuer_der: Vec<u8>,
    /// Canonical subject and issuer names (equal when `X509_NAME_cmp` says so).
    pub(crate) subject: Vec<u8>,
    pub(crate) issuer: Vec<u8>,
    /// Serial number, leading zeros dropped.
    pub(crate) serial: Vec<u8>,
    /// The subjectPublicKey BIT STRING's bits (what `X509_pubkey_digest` hashes).
    key_bits: Vec<u8>,
    not_before: i64,
    not_after: i64,
    v1: bool,
    skid: Option<Vec<u8>>,
    akid: Option<Akid>,
    /// keyUsage present and lacking keyCertSign.
    ku_no_cert_sign: bool,
    ku_present: bool,
    /// basicConstraints: (cA, pathLenConstraint).
    basic_constraints: Option<(bool, Option<u32>)>,
    ns_any_ca: bool,
    unhandled_critical: bool,
    key: Key,
    spki: Vec<u8>,
    sig_kind: KeyKind,
    tbs: Vec<u8>,
    /// None when weir cannot check the signature (or OpenSSL would refuse its parameters).
    scheme: Option<Scheme>,
    signature: Vec<u8>,
    self_issued: bool,
    self_signed: bool,
}

impl Cert {
    /// Decodes a DER certificate; None when it does not parse.
    pub fn from_der(der: &[u8]) -> Option<Cert> {
        let (_, x) = X509Certificate::from_der(der).ok()?;
        let tbs = &x.tbs_certificate;
        let mut akid = None;
        let mut skid = None;
        let mut ku = None;
        let mut basic_constraints = None;
        let mut ns_any_ca = false;
        let mut unhandled_critical = false;
        for ext in tbs.extensions() {
            if ext.critical && !SUPPORTED_EXTENSIONS.contains(&ext.oid.to_id_string().as_str()) {
                unhandled_critical = true;
            }
            match ext.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    let issuer_names = a
                        .authority_cert_issuer
                        .iter()
                        .flatten()
                        .filter_map(|gn| match gn {
                            GeneralName::DirectoryName(n) => Some(canonical_name(n)),
                            _ => None,
                        })
                        .collect();
                    akid = Some(Akid {
                        key_id: a.key_identifier.as_ref().map(|k| k.0.to_vec()),
                        issuer_names,
                        serial: a.authority_cert_serial.map(|s| strip_leading_zeros(s).to_vec()),
                    });
                }
                ParsedExtension::SubjectKeyIdentifier(k) => skid = Some(k.0.to_vec()),
                ParsedExtension::KeyUsage(k) => ku = Some(k.key_cert_sign()),
                ParsedExtension::BasicConstraints(bc) => basic_constraints = Some((bc.ca, bc.path_len_constraint)),
                ParsedExtension::NSCertType(t) => ns_any_ca = t.ssl_ca() || t.smime_ca() || t.object_signing_ca(),
                _ => {}
            }
        }
        let key = key_of(&tbs.subject_pki);
        let sig_kind = match SignatureAlgorithm::try_from(&x.signature_algorithm) {
            Ok(SignatureAlgorithm::RSA | SignatureAlgorithm::RSASSA_PSS(_)) => KeyKind::Rsa,
            // A PSS signature whose parameters do not decode still names an RSA algorithm.
            Err(_) if x.signature_algorithm.algorithm.to_id_string() == OID_RSASSA_PSS => KeyKind::Rsa,
            Ok(SignatureAlgorithm::ECDSA) => KeyKind::Ec,
            _ => KeyKind::Other,
        };
        let mut c = Cert {
            der: der.to_vec(),
            subject_der: tbs.subject.as_raw().to_vec(),
            issuer_der: tbs.issuer.as_raw().to_vec(),
            subject: canonical_name(&tbs.subject),
            issuer: canonical_name(&tbs.issuer),
            serial: strip_leading_zeros(tbs.raw_serial()).to_vec(),
            not_before: tbs.validity.not_before.timestamp(),
            not_after: tbs.validity.not_after.timestamp(),
            v1: tbs.version.0 == 0,
            skid,
            akid,
            ku_no_cert_sign: ku == Some(false),
            ku_present: ku.is_some(),
            basic_constraints,
            ns_any_ca,
            unhandled_critical,
            key,
            spki: tbs.subject_pki.raw.to_vec(),
            key_bits: tbs.subject_pki.subject_public_key.data.to_vec(),
            sig_kind,
            tbs: tbs.as_ref().to_vec(),
            scheme: scheme(&x.signature_algorithm),
            signature: x.signature_value.data.to_vec(),
            self_issued: false,
            self_signed: false,
        };
        c.self_issued = c.subject == c.issuer;
        c.self_signed = c.self_issued && likely_issued(&c, &c);
        Some(c)
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The DER of the TBSCertificate.
    pub fn tbs(&self) -> &[u8] {
        &self.tbs
    }

    /// The DER of the SubjectPublicKeyInfo.
    pub fn spki(&self) -> &[u8] {
        &self.spki
    }

    /// SHA-256 of the SubjectPublicKeyInfo (`x509_spki_hash(cert, 4)`: CT's issuer key hash).
    pub fn spki_sha256(&self) -> [u8; 32] {
        sha2::Sha256::digest(&self.spki).into()
    }

    /// SHA-1 of the public key bits (`X509_pubkey_digest`: OCSP responder and issuer key hashes).
    pub fn key_sha1(&self) -> [u8; 20] {
        sha1(&self.key_bits)
    }

    /// Whether this certificate's key signed `data` with `signature` under the algorithm identifier
    /// `alg_der` (DER), as `ASN1_item_verify` checks a signed structure.
    pub fn signed(&self, alg_der: &[u8], data: &[u8], signature: &[u8]) -> bool {
        let Ok((_, alg)) = AlgorithmIdentifier::from_der(alg_der) else {
            return false;
        };
        scheme(&alg).is_some_and(|sch| signature_ok(&self.key, sch, data, signature))
    }

    /// notBefore, seconds since the epoch.
    pub fn not_before(&self) -> i64 {
        self.not_before
    }

    /// notAfter, seconds since the epoch.
    pub fn not_after(&self) -> i64 {
        self.not_after
    }

    /// `X509_check_ca`: 0 = not a CA; 1 = basicConstraints CA; 3 = v1 self-signed; 4 = keyUsage with
    /// keyCertSign; 5 = Netscape CA type.
    fn check_ca(&self) -> u8 {
        if self.ku_no_cert_sign {
            return 0;
        }
        match self.basic_constraints {
            Some((ca, _)) => u8::from(ca),
            None if self.v1 && self.self_signed => 3,
            None if self.ku_present => 4,
            None if self.ns_any_ca => 5,
            None => 0,
        }
    }

    /// `ossl_x509_check_cert_time` at `t`.
    fn check_time(&self, t: i64) -> Result<(), VerifyError> {
        if self.not_before > t {
            return Err(VerifyError::CertNotYetValid);
        }
        if self.not_after <= t {
            return Err(VerifyError::CertHasExpired);
        }
        Ok(())
    }
}

const OID_RSASSA_PSS: &str = "1.2.840.113549.1.1.10";

fn key_of(spki: &SubjectPublicKeyInfo<'_>) -> Key {
    match spki.parsed() {
        Ok(PublicKey::RSA(k)) => Key::Rsa {
            n: k.modulus.to_vec(),
            e: k.exponent.to_vec(),
        },
        Ok(PublicKey::EC(p)) => match spki.algorithm.parameters.as_ref().and_then(param_oid) {
            Some(curve) => Key::Ec {
                curve,
                point: p.data().to_vec(),
            },
            None => Key::Other,
        },
        _ => Key::Other,
    }
}

fn param_oid(p: &Any<'_>) -> Option<String> {
    (p.tag() == Tag::Oid)
        .then(|| p.clone().oid().ok().map(|o| o.to_id_string()))
        .flatten()
}

fn strip_leading_zeros(s: &[u8]) -> &[u8] {
    let i = s.iter().position(|&b| b != 0).unwrap_or(s.len());
    &s[i..]
}

/// OpenSSL's canonical name encoding (`x509_name_canon`): per RDN, each attribute's type and value, string
/// values converted to UTF-8, leading and trailing white space dropped, inner runs of white space made one
/// space, ASCII lower-cased. Two names are equal for `X509_NAME_cmp` when these are.
pub(crate) fn canonical_name(name: &X509Name<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    for rdn in name.iter_rdn() {
        out.push(0x31);
        for atv in rdn.iter() {
            let oid = atv.attr_type().as_bytes();
            out.push(oid.len() as u8);
            out.extend_from_slice(oid);
            let v = atv.attr_value();
            let text = match v.tag() {
                Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::VisibleString => {
                    std::str::from_utf8(v.data).ok().map(str::to_string)
                }
                Tag::T61String => Some(v.data.iter().map(|&b| char::from(b)).collect()),
                Tag::BmpString => char::decode_utf16(v.data.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])))
                    .collect::<Result<String, _>>()
                    .ok(),
                Tag::UniversalString => v
                    .data
                    .chunks_exact(4)
                    .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                    .collect(),
                _ => None,
            };
            match text {
                Some(t) => {
                    let canon = t
                        .split_ascii_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .to_ascii_lowercase();
                    out.push(0x0c);
                    out.extend_from_slice(&(canon.len() as u32).to_be_bytes());
                    out.extend_from_slice(canon.as_bytes());
                }
                None => {
                    out.push(v.tag().0 as u8);
                    out.extend_from_slice(&(v.data.len() as u32).to_be_bytes());
                    out.extend_from_slice(v.data);
                }
            }
        }
    }
    out
}

/// `X509_check_akid`: the subject's authority key identifier does not contradict the issuer.
fn akid_matches(issuer: &Cert, subject: &Cert) -> bool {
    let Some(a) = &subject.akid else { return true };
    if let (Some(k), Some(s)) = (&a.key_id, &issuer.skid) {
        if k != s {
            return false;
        }
    }
    if let Some(serial) = &a.serial {
        if *serial != issuer.serial {
            return false;
        }
    }
    if let Some(n) = a.issuer_names.first() {
        if *n != issuer.issuer {
            return false;
        }
    }
    true
}

/// `ossl_x509_likely_issued`: names, key identifiers and key type fit.
fn likely_issued(issuer: &Cert, subject: &Cert) -> bool {
    let key_kind = match issuer.key {
        Key::Rsa { .. } => KeyKind::Rsa,
        Key::Ec { .. } => KeyKind::Ec,
        Key::Other => KeyKind::Other,
    };
    issuer.subject == subject.issuer && akid_matches(issuer, subject) && key_kind == subject.sig_kind
}

/// `X509_check_issued`: likely issued, and the issuer's key usage allows signing certificates.
fn check_issued(issuer: &Cert, subject: &Cert) -> bool {
    likely_issued(issuer, subject) && !issuer.ku_no_cert_sign
}

/// The first candidate that issued `subject` and is valid at `t`, else the one that expires last
/// (`find_issuer`, and `X509_STORE_CTX_get1_issuer` for the store).
fn pick_issuer<'a>(candidates: impl Iterator<Item = &'a Arc<Cert>>, subject: &Cert, t: i64) -> Option<&'a Arc<Cert>> {
    let mut best: Option<&Arc<Cert>> = None;
    for c in candidates.filter(|c| check_issued(c, subject)) {
        if c.check_time(t).is_ok() {
            return Some(c);
        }
        if best.is_none_or(|b| c.not_after > b.not_after) {
            best = Some(c);
        }
    }
    best
}

/// The trusted certificates (Zeek's `SSL::root_certs`): self-signed ones are trust anchors, others can
/// complete a chain.
#[derive(Debug, Default)]
pub struct RootStore {
    by_subject: HashMap<Vec<u8>, Vec<Arc<Cert>>>,
    len: usize,
}

impl RootStore {
    pub fn new() -> RootStore {
        RootStore::default()
    }

    /// Adds one DER certificate; false when it does not parse (OpenSSL's `d2i_X509` failing: Zeek skips it).
    pub fn add_der(&mut self, der: &[u8]) -> bool {
        let Some(c) = Cert::from_der(der) else { return false };
        let same = self.by_subject.entry(c.subject.clone()).or_default();
        if !same.iter().any(|o| o.der == c.der) {
            same.push(Arc::new(c));
            self.len += 1;
        }
        true
    }

    /// Adds the certificates of a PEM text (`-----BEGIN CERTIFICATE-----` blocks; other blocks ignored).
    /// Returns how many were added, or an error for a damaged block or certificate.
    pub fn add_pem(&mut self, pem: &[u8]) -> Result<usize, String> {
        let mut n = 0;
        for (i, block) in x509_parser::pem::Pem::iter_from_buffer(pem).enumerate() {
            let block = block.map_err(|e| format!("PEM block {}: {e}", i + 1))?;
            if block.label != "CERTIFICATE" && block.label != "TRUSTED CERTIFICATE" {
                continue;
            }
            if !self.add_der(&block.contents) {
                return Err(format!("PEM block {}: not a certificate", i + 1));
            }
            n += 1;
        }
        Ok(n)
    }

    /// The number of certificates.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first certificate with this canonical subject name (`X509_STORE_get_by_subject`).
    pub(crate) fn find_by_subject(&self, subject: &[u8]) -> Option<&Arc<Cert>> {
        self.by_subject.get(subject)?.first()
    }

    fn issuer_of(&self, subject: &Cert, t: i64) -> Option<&Arc<Cert>> {
        pick_issuer(self.by_subject.get(&subject.issuer)?.iter(), subject, t)
    }
}

/// The outcome of [`verify`]: OK with the verified chain (host certificate first, trust anchor last), or
/// OpenSSL's error.
pub type Verdict = Result<Vec<Arc<Cert>>, VerifyError>;

/// `X509_verify_cert` of `chain` (host certificate first, then the untrusted certificates in the order the
/// server sent them) against `store` at time `t` (seconds).
pub fn verify(chain: &[Arc<Cert>], store: &RootStore, t: i64) -> Verdict {
    let Some(leaf) = chain.first() else {
        return Err(VerifyError::UnableToGetIssuerCertLocally);
    };
    let path = build_chain(leaf, &chain[1..], store, t)?;
    check_extensions(&path)?;
    check_signatures_and_times(&path, t)?;
    Ok(path)
}

/// `build_chain` with `X509_V_FLAG_TRUSTED_FIRST`.
fn build_chain(leaf: &Arc<Cert>, untrusted: &[Arc<Cert>], store: &RootStore, t: i64) -> Verdict {
    let mut untrusted: Vec<Arc<Cert>> = untrusted.to_vec();
    let mut path = vec![leaf.clone()];
    let mut num_untrusted = 1;
    loop {
        let cur = path.last().unwrap().clone();
        if path.len() <= MAX_DEPTH {
            if let Some(issuer) = store.issuer_of(&cur, t) {
                if !cur.self_signed {
                    path.push(issuer.clone());
                    if issuer.self_signed {
                        return Ok(path);
                    }
                    // A store certificate that is not self-signed: only the store can continue.
                    continue;
                }
                if issuer.der == cur.der {
                    // The untrusted self-signed certificate is the trust anchor itself.
                    let last = path.len() - 1;
                    path[last] = issuer.clone();
                    return Ok(path);
                }
            }
        }
        if path.len() > num_untrusted || cur.self_signed || path.len() > MAX_DEPTH {
            break;
        }
        let in_path = |c: &Arc<Cert>| path.iter().any(|p| Arc::ptr_eq(p, c) || p.der == c.der);
        let candidates: Vec<Arc<Cert>> = untrusted
            .iter()
            .filter(|c| (cur.self_issued && path.len() == 1) || !in_path(c))
            .cloned()
            .collect();
        let Some(issuer) = pick_issuer(candidates.iter(), &cur, t).cloned() else {
            break;
        };
        if let Some(i) = untrusted.iter().position(|c| Arc::ptr_eq(c, &issuer)) {
            untrusted.remove(i);
        }
        path.push(issuer);
        num_untrusted += 1;
    }
    let n = path.len();
    Err(if n > MAX_DEPTH + 1 {
        VerifyError::CertChainTooLong
    } else if path[n - 1].self_signed {
        if n == 1 {
            VerifyError::DepthZeroSelfSignedCert
        } else {
            VerifyError::SelfSignedCertInChain
        }
    } else if num_untrusted < n {
        VerifyError::UnableToGetIssuerCert
    } else {
        VerifyError::UnableToGetIssuerCertLocally
    })
}

/// `check_extensions` (no purpose, not strict; strictness is implicit for intermediate CAs).
fn check_extensions(path: &[Arc<Cert>]) -> Result<(), VerifyError> {
    let num = path.len();
    let mut plen: u64 = 0;
    for (i, x) in path.iter().enumerate() {
        if x.unhandled_critical {
            return Err(VerifyError::UnhandledCriticalExtension);
        }
        if i > 0 {
            let ca = x.check_ca();
            if ca == 0 || (i + 1 < num && ca != 1) {
                return Err(VerifyError::InvalidCa);
            }
        }
        if let (true, Some((true, Some(max)))) = (i > 1, x.basic_constraints) {
            if plen > u64::from(max) {
                return Err(VerifyError::PathLengthExceeded);
            }
        }
        if i > 0 && !x.self_issued {
            plen += 1;
        }
    }
    Ok(())
}

/// `internal_verify`: from the trust anchor down, each signature with its issuer's key, then each
/// certificate's validity at `t` (the anchor's too; its own signature is not checked).
fn check_signatures_and_times(path: &[Arc<Cert>], t: i64) -> Result<(), VerifyError> {
    let mut n = path.len() - 1;
    let top = &path[n];
    let mut xi = top;
    let mut xs = top;
    if !check_issued(top, top) {
        if n == 0 {
            return Err(VerifyError::UnableToVerifyLeafSignature);
        }
        n -= 1;
        xs = &path[n];
    }
    loop {
        if !std::ptr::eq(xs, xi) {
            if xi.ku_no_cert_sign {
                return Err(VerifyError::KeyUsageNoCertSign);
            }
            match &xi.key {
                Key::Other => return Err(VerifyError::UnableToDecodeIssuerPublicKey),
                key => {
                    if !check_signature(key, xs) {
                        return Err(VerifyError::CertSignatureFailure);
                    }
                }
            }
        }
        xs.check_time(t)?;
        if n == 0 {
            return Ok(());
        }
        n -= 1;
        xi = xs;
        xs = &path[n];
    }
}

/// The hash functions of certificate signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hash {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn from_oid(oid: &str) -> Option<Hash> {
        Some(match oid {
            "1.2.840.113549.2.5" => Hash::Md5,
            "1.3.14.3.2.26" => Hash::Sha1,
            "2.16.840.1.101.3.4.2.4" => Hash::Sha224,
            "2.16.840.1.101.3.4.2.1" => Hash::Sha256,
            "2.16.840.1.101.3.4.2.2" => Hash::Sha384,
            "2.16.840.1.101.3.4.2.3" => Hash::Sha512,
            _ => return None,
        })
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Md5 => md5::Md5::digest(data).to_vec(),
            Hash::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Hash::Sha224 => sha2::Sha224::digest(data).to_vec(),
            Hash::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Hash::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Hash::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    fn pkcs1(self) -> rsa::Pkcs1v15Sign {
        match self {
            Hash::Md5 => rsa::Pkcs1v15Sign::new::<md5::Md5>(),
            Hash::Sha1 => rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
            Hash::Sha224 => rsa::Pkcs1v15Sign::new::<sha2::Sha224>(),
            Hash::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
            Hash::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
            Hash::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
        }
    }

    fn pss(self, salt_len: usize) -> rsa::Pss {
        match self {
            Hash::Md5 => rsa::Pss::new_with_salt::<md5::Md5>(salt_len),
            Hash::Sha1 => rsa::Pss::new_with_salt::<sha1::Sha1>(salt_len),
            Hash::Sha224 => rsa::Pss::new_with_salt::<sha2::Sha224>(salt_len),
            Hash::Sha256 => rsa::Pss::new_with_salt::<sha2::Sha256>(salt_len),
            Hash::Sha384 => rsa::Pss::new_with_salt::<sha2::Sha384>(salt_len),
            Hash::Sha512 => rsa::Pss::new_with_salt::<sha2::Sha512>(salt_len),
        }
    }
}

/// The signature schemes weir checks.
#[derive(Clone, Copy, Debug)]
enum Scheme {
    Pkcs1(Hash),
    Pss { hash: Hash, salt_len: usize },
    Ecdsa(Hash),
}

/// The signature scheme of an algorithm identifier; None for what OpenSSL would refuse or weir cannot
/// check (PSS parameters that do not decode, a mask generation hash other than the message hash, ...).
fn scheme(alg: &AlgorithmIdentifier<'_>) -> Option<Scheme> {
    Some(match alg.algorithm.to_id_string().as_str() {
        "1.2.840.113549.1.1.4" => Scheme::Pkcs1(Hash::Md5),
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => Scheme::Pkcs1(Hash::Sha1),
        "1.2.840.113549.1.1.14" => Scheme::Pkcs1(Hash::Sha224),
        "1.2.840.113549.1.1.11" => Scheme::Pkcs1(Hash::Sha256),
        "1.2.840.113549.1.1.12" => Scheme::Pkcs1(Hash::Sha384),
        "1.2.840.113549.1.1.13" => Scheme::Pkcs1(Hash::Sha512),
        "1.2.840.10045.4.1" => Scheme::Ecdsa(Hash::Sha1),
        "1.2.840.10045.4.3.1" => Scheme::Ecdsa(Hash::Sha224),
        "1.2.840.10045.4.3.2" => Scheme::Ecdsa(Hash::Sha256),
        "1.2.840.10045.4.3.3" => Scheme::Ecdsa(Hash::Sha384),
        "1.2.840.10045.4.3.4" => Scheme::Ecdsa(Hash::Sha512),
        OID_RSASSA_PSS => {
            let p = x509_parser::signature_algorithm::RsaSsaPssParams::try_from(alg.parameters.as_ref()?).ok()?;
            let hash = Hash::from_oid(&p.hash_algorithm_oid().to_id_string())?;
            let mgf = p.mask_gen_algorithm().ok()?;
            if mgf.mgf.to_id_string() != "1.2.840.113549.1.1.8" || Hash::from_oid(&mgf.hash.to_id_string())? != hash {
                return None;
            }
            if p.trailer_field() != 1 {
                return None;
            }
            Scheme::Pss {
                hash,
                salt_len: p.salt_length() as usize,
            }
        }
        _ => return None,
    })
}

/// `X509_verify(subject, issuer key)`.
fn check_signature(key: &Key, subject: &Cert) -> bool {
    subject
        .scheme
        .is_some_and(|scheme| signature_ok(key, scheme, &subject.tbs, &subject.signature))
}

fn signature_ok(key: &Key, scheme: Scheme, data: &[u8], signature: &[u8]) -> bool {
    match (key, scheme) {
        (Key::Rsa { n, e }, Scheme::Pkcs1(h)) => {
            rsa_key(n, e).is_some_and(|k| k.verify(h.pkcs1(), &h.digest(data), signature).is_ok())
        }
        (Key::Rsa { n, e }, Scheme::Pss { hash, salt_len }) => {
            rsa_key(n, e).is_some_and(|k| k.verify(hash.pss(salt_len), &hash.digest(data), signature).is_ok())
        }
        (Key::Ec { curve, point }, Scheme::Ecdsa(h)) => ecdsa_verify(curve, point, &h.digest(data), signature),
        _ => false,
    }
}

/// `EVP_DigestVerify` of `data` with a DER SubjectPublicKeyInfo and a TLS `HashAlgorithm` code (1 MD5, 2
/// SHA-1, 3 SHA-224, 4 SHA-256, 5 SHA-384, 6 SHA-512): RSA PKCS#1 v1.5 or ECDSA, as the key's type says
/// (what Zeek's `sct_verify` does with a CT log's key).
pub fn verify_with_spki(spki_der: &[u8], tls_hash: u8, data: &[u8], signature: &[u8]) -> bool {
    let hash = match tls_hash {
        1 => Hash::Md5,
        2 => Hash::Sha1,
        3 => Hash::Sha224,
        4 => Hash::Sha256,
        5 => Hash::Sha384,
        6 => Hash::Sha512,
        _ => return false,
    };
    let Ok((_, spki)) = SubjectPublicKeyInfo::from_der(spki_der) else {
        return false;
    };
    let key = key_of(&spki);
    let scheme = match key {
        Key::Rsa { .. } => Scheme::Pkcs1(hash),
        Key::Ec { .. } => Scheme::Ecdsa(hash),
        Key::Other => return false,
    };
    signature_ok(&key, scheme, data, signature)
}

fn rsa_key(n: &[u8], e: &[u8]) -> Option<rsa::RsaPublicKey> {
    let n = rsa::BigUint::from_bytes_be(n);
    let e = rsa::BigUint::from_bytes_be(e);
    // OpenSSL accepts RSA keys up to 16384 bits (OPENSSL_RSA_MAX_MODULUS_BITS).
    rsa::RsaPublicKey::new_with_max_size(n, e, 16384).ok()
}

fn ecdsa_verify(curve: &str, point: &[u8], prehash: &[u8], sig: &[u8]) -> bool {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    // The same steps for each curve crate (their types differ).
    macro_rules! verify_on {
        ($c:ident) => {
            match (
                $c::ecdsa::VerifyingKey::from_sec1_bytes(point),
                $c::ecdsa::Signature::from_der(sig),
            ) {
                (Ok(k), Ok(s)) => k.verify_prehash(prehash, &s).is_ok(),
                _ => false,
            }
        };
    }
    match curve {
        "1.2.840.10045.3.1.7" => verify_on!(p256),
        "1.3.132.0.34" => verify_on!(p384),
        _ => false,
    }
}

/// SHA-1 of a certificate, the element of validate-certs.zeek's chain ids.
pub fn sha1(der: &[u8]) -> [u8; 20] {
    sha1::Sha1::digest(der).into()
}
