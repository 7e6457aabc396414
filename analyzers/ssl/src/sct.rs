//! `policy/protocols/ssl/validate-sct.zeek`: Signed Certificate Timestamps (RFC 6962) from the TLS extension
//! and the host certificates' extension, checked against the known CT logs (`SSL::ct_logs`); ssl.log gains
//! `valid_ct_logs` and `valid_ct_operators`, the numbers of distinct logs and log operators with a valid SCT.
//!
//! As Zeek's `sct_verify`: a TLS-extension SCT signs the host certificate (`x509_entry`); a certificate
//! extension SCT signs the precertificate (`precert_entry`: the TBSCertificate without the SCT extension, and
//! the SHA-256 of the issuer's SubjectPublicKeyInfo, which the script looks for among the cached
//! intermediates, the verified chain and the certificates sent). SCTs stapled in an OCSP response are not
//! seen (weir does not parse OCSP responses); an SCT of a log not in `SSL::ct_logs` is invalid.
//!
//! CT logs: Zeek ships a list (`base/protocols/ssl/ct-list.zeek`); weir has none built in. `SSL::ct_logs=FILE`
//! reads Google's CT log list (`log_list.json`, version 3: operators with their logs' `log_id`, `key`,
//! `description`), `SSL::ct_logs+=FILE` adds one.

use crate::der::{der, elements, tlv};
use crate::parse::{self, Sct};
use crate::verify::{self, Cert};
use sha2::Digest;
use std::collections::HashMap;
use std::sync::Arc;

/// `&read_expire=5mins` of `recently_validated_scts`.
const RESULT_READ_EXPIRE: f64 = 300.0;
/// Bound on cached SCT results per worker (Zeek's table is unbounded); see `validation::MAX_CACHED_RESULTS`.
const MAX_CACHED_RESULTS: usize = 100_000;

/// The DER of the precertificate SCT list extension's OID (1.3.6.1.4.1.11129.2.4.2).
const OID_SCT_LIST: &[u8] = &[0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02];

/// Where an SCT was seen (`SSL::SctSource`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SctSource {
    X509Ext,
    TlsExt,
    OcspExt,
}

/// One SCT of a connection (`SSL::SctInfo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SctInfo {
    pub version: u8,
    pub log_id: Vec<u8>,
    pub timestamp: u64,
    pub hash_alg: u8,
    pub sig_alg: u8,
    pub signature: Vec<u8>,
    pub source: SctSource,
}

impl SctInfo {
    pub(crate) fn new(s: &Sct<'_>, source: SctSource) -> SctInfo {
        SctInfo {
            version: s.version,
            log_id: s.log_id.to_vec(),
            timestamp: s.timestamp,
            hash_alg: s.hash_alg,
            sig_alg: s.sig_alg,
            signature: s.signature.to_vec(),
            source,
        }
    }
}

impl From<&Sct<'_>> for SctInfo {
    /// An SCT of the TLS extension.
    fn from(s: &Sct<'_>) -> SctInfo {
        SctInfo::new(s, SctSource::TlsExt)
    }
}

/// The SCTs of a certificate's SCT list extension (the extension's OCTET STRING holds an OCTET STRING with
/// the TLS-encoded list). As Zeek's binpac parser, SCTs before a damaged one count.
pub fn certificate_scts(cert_der: &[u8]) -> Vec<SctInfo> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(cert_der) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for ext in cert.tbs_certificate.extensions() {
        if ext.oid.as_bytes() != &OID_SCT_LIST[2..] {
            continue;
        }
        let Some((0x04, h, l)) = tlv(ext.value) else { continue };
        let (list, _) = parse::parse_sct_list_partial(&ext.value[h..h + l]);
        out.extend(list.iter().map(|s| SctInfo::new(s, SctSource::X509Ext)));
    }
    out
}

/// The precertificate's TBSCertificate: `tbs` without its SCT list extension, re-encoded (what
/// `X509_delete_ext` then `i2d_re_X509_tbs` give). None when the TBS does not decode.
pub fn precert_tbs(tbs: &[u8]) -> Option<Vec<u8>> {
    let (0x30, h, l) = tlv(tbs)? else { return None };
    let mut content = Vec::new();
    for el in elements(&tbs[h..h + l])? {
        if el[0] != 0xa3 {
            content.extend_from_slice(el);
            continue;
        }
        let (_, eh, el_len) = tlv(el)?;
        let (0x30, sh, sl) = tlv(&el[eh..eh + el_len])? else {
            return None;
        };
        let list = &el[eh + sh..eh + sh + sl];
        let mut kept = Vec::new();
        for ext in elements(list)? {
            let (_, xh, _) = tlv(ext)?;
            if !ext[xh..].starts_with(OID_SCT_LIST) {
                kept.extend_from_slice(ext);
            }
        }
        content.extend(der(0xa3, &der(0x30, &kept)));
    }
    Some(der(0x30, &content))
}

/// A CT log (`SSL::CTInfo`, the parts validation uses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtLog {
    pub description: String,
    pub operator: String,
    /// DER SubjectPublicKeyInfo.
    pub key: Vec<u8>,
}

/// The known CT logs by log id (`SSL::ct_logs`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CtLogs {
    pub logs: HashMap<Vec<u8>, CtLog>,
}

impl CtLogs {
    /// Adds the logs of a CT log list in Google's JSON format (version 3: `operators[]` with `name` and
    /// `logs[]`/`tiled_logs[]` of `log_id`, `key` (base64) and `description`).
    pub fn add_json(&mut self, text: &str) -> Result<usize, String> {
        use base64ct::{Base64, Encoding};
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let operators = v["operators"].as_array().ok_or("no \"operators\" list")?;
        let mut n = 0;
        for op in operators {
            let operator = op["name"].as_str().unwrap_or_default().to_string();
            let logs = ["logs", "tiled_logs"]
                .iter()
                .filter_map(|k| op[*k].as_array())
                .flatten();
            for log in logs {
                let field = |k: &str| log[k].as_str().ok_or_else(|| format!("a log without \"{k}\""));
                let b64 = |k: &str| Base64::decode_vec(field(k)?).map_err(|e| format!("\"{k}\": {e}"));
                let id = b64("log_id")?;
                let entry = CtLog {
                    description: log["description"].as_str().unwrap_or_default().to_string(),
                    operator: operator.clone(),
                    key: b64("key")?,
                };
                self.logs.insert(id, entry);
                n += 1;
            }
        }
        Ok(n)
    }
}

/// Which CT log lists to read (`SSL::ct_logs`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CtLogFiles(pub Vec<String>);

impl CtLogFiles {
    /// From `SSL::ct_logs` (`=`) and its `+=` additions; `{}` for none.
    pub fn from_settings(set: Option<&str>, added: &[String]) -> CtLogFiles {
        CtLogFiles(crate::validation::setting_files(set, added))
    }

    pub fn load(&self) -> Result<CtLogs, String> {
        let mut logs = CtLogs::default();
        for f in &self.0 {
            let text = std::fs::read_to_string(f).map_err(|e| format!("SSL::ct_logs: {f}: {e}"))?;
            logs.add_json(&text).map_err(|e| format!("SSL::ct_logs: {f}: {e}"))?;
        }
        Ok(logs)
    }
}

/// `recently_validated_scts` of one worker.
#[derive(Debug, Default)]
pub struct SctCache {
    recent: HashMap<[u8; 20], (bool, f64)>,
}

/// What the `ssl_finishing` hook of validate-sct.zeek knows about the connection.
pub struct Chain<'a> {
    /// The parsed certificates the server sent, the host certificate first.
    pub sent: &'a [Arc<Cert>],
    /// The SPKI hash of the issuer in the verified chain when validation succeeded (`c$ssl$valid_chain[1]`).
    pub valid_issuer_key_hash: Option<[u8; 32]>,
    /// The SPKI hash of the first cached intermediate for the host certificate's issuer
    /// (`intermediate_cache[...][0]`).
    pub cached_intermediate_key_hash: Option<[u8; 32]>,
    /// `c$ssl$validation_code`.
    pub validation_code: Option<i64>,
}

/// The signed data of an SCT (`sct_verify`): x509_entry with the certificate, or precert_entry with the
/// issuer key hash and the precertificate TBS.
fn signed_data(cert: &Cert, sct: &SctInfo, issuer_key_hash: Option<&[u8; 32]>) -> Option<Vec<u8>> {
    let mut d = vec![0, 0];
    d.extend_from_slice(&sct.timestamp.to_be_bytes());
    let entry = match issuer_key_hash {
        Some(h) => {
            d.extend_from_slice(&[0, 1]);
            d.extend_from_slice(h);
            precert_tbs(cert.tbs())?
        }
        None => {
            d.extend_from_slice(&[0, 0]);
            cert.der().to_vec()
        }
    };
    d.extend_from_slice(&(entry.len() as u32).to_be_bytes()[1..]);
    d.extend(entry);
    d.extend_from_slice(&[0, 0]);
    Some(d)
}

fn sct_verify(cert: &Cert, sct: &SctInfo, log: &CtLog, issuer_key_hash: Option<&[u8; 32]>) -> bool {
    signed_data(cert, sct, issuer_key_hash)
        .is_some_and(|d| verify::verify_with_spki(&log.key, sct.hash_alg, &d, &sct.signature))
}

impl SctCache {
    pub fn new() -> SctCache {
        SctCache::default()
    }

    /// validate-sct.zeek's `ssl_finishing` hook: (valid_ct_logs, valid_ct_operators) for the SCTs seen.
    pub fn validate(&mut self, proofs: &[SctInfo], chain: &Chain<'_>, logs: &CtLogs, now: f64) -> (u64, u64) {
        let Some(cert) = chain.sent.first() else { return (0, 0) };
        let certhash = verify::sha1(cert.der());
        let mut issuer_key_hash: Option<[u8; 32]> = None;
        let mut valid_logs: Vec<&[u8]> = Vec::new();
        let mut operators: Vec<&str> = Vec::new();
        for proof in proofs {
            let Some(log) = logs.logs.get(&proof.log_id) else {
                continue;
            };
            let key = cache_key(&certhash, proof, chain.validation_code);
            let valid = match self.recent.get_mut(&key) {
                Some((v, last)) if now - *last <= RESULT_READ_EXPIRE => {
                    *last = now;
                    *v
                }
                _ => {
                    let v = if proof.source == SctSource::X509Ext {
                        precert_valid(cert, proof, log, chain, &mut issuer_key_hash)
                    } else {
                        sct_verify(cert, proof, log, None)
                    };
                    self.remember(key, v, now);
                    v
                }
            };
            if valid {
                if !valid_logs.contains(&proof.log_id.as_slice()) {
                    valid_logs.push(&proof.log_id);
                }
                if !operators.contains(&log.operator.as_str()) {
                    operators.push(&log.operator);
                }
            }
        }
        (valid_logs.len() as u64, operators.len() as u64)
    }

    fn remember(&mut self, key: [u8; 20], valid: bool, now: f64) {
        if self.recent.len() >= MAX_CACHED_RESULTS {
            self.recent.retain(|_, (_, last)| now - *last <= RESULT_READ_EXPIRE);
        }
        if self.recent.len() < MAX_CACHED_RESULTS {
            self.recent.insert(key, (valid, now));
        }
    }
}

/// The script's search for the issuer key of a certificate-extension SCT: the hash a previous SCT of the
/// connection settled on, the cached intermediate, the verified chain's issuer, then every certificate sent.
/// The last hash tried is kept for the next SCT, as the script's variable is.
fn precert_valid(cert: &Cert, sct: &SctInfo, log: &CtLog, chain: &Chain<'_>, ikh: &mut Option<[u8; 32]>) -> bool {
    if ikh.is_some_and(|h| sct_verify(cert, sct, log, Some(&h))) {
        return true;
    }
    let known = [chain.cached_intermediate_key_hash, chain.valid_issuer_key_hash];
    let sent = chain.sent.iter().skip(1).map(|c| c.spki_sha256());
    for h in known.into_iter().flatten().chain(sent) {
        *ikh = Some(h);
        if sct_verify(cert, sct, log, Some(&h)) {
            return true;
        }
    }
    false
}

/// `sha1_hash(cat(certhash, logid, timestamp, hash_alg, signature, source[, validation_code]))`.
fn cache_key(certhash: &[u8; 20], p: &SctInfo, code: Option<i64>) -> [u8; 20] {
    let mut h = sha1::Sha1::new();
    h.update(certhash);
    h.update(&p.log_id);
    h.update(p.timestamp.to_be_bytes());
    h.update([p.hash_alg]);
    h.update(&p.signature);
    h.update([p.source as u8]);
    if let (SctSource::X509Ext, Some(c)) = (p.source, code) {
        h.update(c.to_be_bytes());
    }
    h.finalize().into()
}
