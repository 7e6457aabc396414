//! Signed Certificate Timestamps (`weir_ssl::sct`) on Zeek's traces: SCTs of the TLS extension and of the
//! host certificate's extension (precertificate entries, which need the issuer's key), checked against the CT
//! logs of Zeek's validate-sct test (`tests/data/ct-logs-validate-sct.json`, Google's log list format).

mod common;

use common::{corpus_dir, run_trace};
use std::sync::Arc;
use weir_api::analyzer::Settings;
use weir_ssl::sct::{certificate_scts, precert_tbs, Chain, CtLogs, SctCache, SctSource};
use weir_ssl::verify::Cert;

const LOGS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ct-logs-validate-sct.json");

fn logs() -> CtLogs {
    let mut l = CtLogs::default();
    assert_eq!(l.add_json(&std::fs::read_to_string(LOGS).unwrap()).unwrap(), 7);
    l
}

fn trace(name: &str) -> std::path::PathBuf {
    corpus_dir().join("traces/tls").join(name)
}

/// The server chain of the trace's only connection (DER), from x509.log's `cert` column.
fn server_chain(name: &str) -> Vec<Arc<Cert>> {
    let mut s = Settings::new();
    s.insert("X509::log_cert_base64", "T");
    let out = run_trace(&trace(name), &s);
    out.x509
        .iter()
        .map(|row| {
            let b64 = row.rsplit('\t').next().unwrap();
            let pem = format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n");
            let block = x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
                .next()
                .unwrap()
                .unwrap();
            Arc::new(Cert::from_der(&block.contents).unwrap())
        })
        .collect()
}

fn ssl_columns(name: &str, extra: &[(&str, &str)]) -> Vec<String> {
    let mut s = Settings::new();
    s.insert("SSL::validate_sct", "T");
    for (k, v) in extra {
        s.insert(k, v);
    }
    let out = run_trace(&trace(name), &s);
    assert_eq!(out.ssl.len(), 1);
    out.ssl[0].split('\t').map(str::to_string).collect()
}

#[test]
fn analyzer_counts_logs_and_operators() {
    let with_logs = [("SSL::ct_logs", LOGS)];
    let cols = ssl_columns("signed_certificate_timestamp.pcap", &with_logs);
    // ... validation_status, valid_ct_logs, valid_ct_operators
    assert_eq!(cols[cols.len() - 3..], ["ok", "3", "1"]);
    // (Its chain ends at a root that has left Mozilla's list: SCT validation does not depend on that.)
    let cols = ssl_columns("signed_certificate_timestamp-2.pcap", &with_logs);
    assert_eq!(cols[cols.len() - 2..], ["6", "3"]);
    // No CT logs known: every SCT is invalid.
    let cols = ssl_columns("signed_certificate_timestamp-2.pcap", &[]);
    assert_eq!(cols[cols.len() - 2..], ["0", "0"]);
}

#[test]
fn certificate_extension_scts_need_the_issuer_key() {
    let chain = server_chain("signed_certificate_timestamp-2.pcap");
    assert_eq!(chain.len(), 2);
    let proofs = certificate_scts(chain[0].der());
    assert_eq!(proofs.len(), 4);
    assert!(proofs.iter().all(|p| p.source == SctSource::X509Ext));
    let logs = logs();
    let count = |sent: &[Arc<Cert>]| {
        let c = Chain {
            sent,
            valid_issuer_key_hash: None,
            cached_intermediate_key_hash: None,
            validation_code: Some(0),
        };
        SctCache::new().validate(&proofs, &c, &logs, 1.5e9)
    };
    // The issuer is the second certificate sent: all four verify (DigiCert, Pilot, Rocketeer, Skydiver).
    assert_eq!(count(&chain), (4, 2));
    // Without it the issuer key hash cannot be found.
    assert_eq!(count(&chain[..1]), (0, 0));
    // A damaged signature does not verify.
    let mut bad = proofs.clone();
    let last = bad[0].signature.len() - 1;
    bad[0].signature[last] ^= 1;
    let c = Chain {
        sent: &chain,
        valid_issuer_key_hash: None,
        cached_intermediate_key_hash: None,
        validation_code: Some(0),
    };
    assert_eq!(SctCache::new().validate(&bad[..1], &c, &logs, 1.5e9), (0, 0));
    assert_eq!(SctCache::new().validate(&proofs[..1], &c, &logs, 1.5e9), (1, 1));
}

#[test]
fn precertificate_tbs_drops_only_the_sct_extension() {
    let chain = server_chain("signed_certificate_timestamp-2.pcap");
    let tbs = chain[0].tbs();
    let pre = precert_tbs(tbs).unwrap();
    assert!(pre.len() < tbs.len());
    let oid = [0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02];
    assert!(tbs.windows(oid.len()).any(|w| w == oid));
    assert!(!pre.windows(oid.len()).any(|w| w == oid));
    // Without the extension the TBS is unchanged; a damaged TBS gives nothing.
    assert_eq!(precert_tbs(&pre).unwrap(), pre);
    assert!(precert_tbs(&tbs[..tbs.len() - 1]).is_none());
}

#[test]
fn ct_log_list_errors() {
    let mut l = CtLogs::default();
    assert!(l.add_json("not json").is_err());
    assert!(l
        .add_json("{\"operators\":[{\"name\":\"x\",\"logs\":[{\"key\":\"AA==\"}]}]}")
        .is_err());
    assert_eq!(l.add_json("{\"operators\":[]}"), Ok(0));
}
