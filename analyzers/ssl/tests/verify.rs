//! Certificate verification (`weir_ssl::verify`, `weir_ssl::validation`) on real chains taken from Zeek's
//! traces: each OpenSSL outcome weir reproduces, provoked by changing the time, the trust store or the
//! certificates.

mod common;

use common::{corpus_dir, run_trace};
use std::sync::Arc;
use weir_api::analyzer::Settings;
use weir_ssl::validation::{status_string, Caches, RootCerts};
use weir_ssl::verify::{verify, Cert, RootStore, VerifyError};

/// The server chains (DER, as sent) of a trace's ssl.log rows, and the rows' network times.
fn chains(trace: &str) -> Vec<(f64, Vec<Vec<u8>>)> {
    let mut s = Settings::new();
    s.insert("X509::log_cert_base64", "T");
    s.insert("X509::relog_known_certificates_after", "0secs");
    let out = run_trace(&corpus_dir().join("traces/tls").join(trace), &s);
    let mut certs = std::collections::HashMap::new();
    for row in &out.x509 {
        let cols: Vec<&str> = row.split('\t').collect();
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            cols[cols.len() - 1]
        );
        let block = x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
            .next()
            .unwrap()
            .unwrap();
        certs.insert(cols[1].to_string(), block.contents);
    }
    out.ssl
        .iter()
        .map(|row| {
            let cols: Vec<&str> = row.split('\t').collect();
            let fps = cols[15].split(',').map(|fp| certs[fp].clone()).collect();
            (cols[0].parse().unwrap(), fps)
        })
        .collect()
}

fn parse(chain: &[Vec<u8>]) -> Vec<Arc<Cert>> {
    chain.iter().map(|d| Arc::new(Cert::from_der(d).unwrap())).collect()
}

fn mozilla() -> RootStore {
    RootCerts::default().load().unwrap()
}

/// missing-intermediate.pcap's second connection: host certificate, intermediate, and a third one.
fn full_chain() -> (i64, Vec<Arc<Cert>>) {
    let c = chains("missing-intermediate.pcap");
    assert_eq!(c.len(), 3);
    assert_eq!(c[1].1.len(), 3);
    (c[1].0 as i64, parse(&c[1].1))
}

#[test]
fn chain_to_a_built_in_root_verifies() {
    let (t, chain) = full_chain();
    let path = verify(&chain, &mozilla(), t).expect("ok");
    assert_eq!(path.len(), 3);
    assert_eq!(path[0].der(), chain[0].der());
    assert_eq!(path[1].der(), chain[1].der());
}

#[test]
fn validity_is_checked_at_the_given_time() {
    let (_, chain) = full_chain();
    let store = mozilla();
    let leaf = &chain[0];
    assert_eq!(
        verify(&chain, &store, leaf.not_after()).err(),
        Some(VerifyError::CertHasExpired)
    );
    assert!(verify(&chain, &store, leaf.not_after() - 1).is_ok());
    assert_eq!(
        verify(&chain, &store, leaf.not_before() - 1).err(),
        Some(VerifyError::CertNotYetValid)
    );
    assert!(verify(&chain, &store, leaf.not_before()).is_ok());
}

#[test]
fn missing_issuers() {
    let (t, chain) = full_chain();
    let empty = RootStore::new();
    // No trust anchor at all; the chain ends in a certificate that is not self-signed.
    let r = verify(&chain[..2], &empty, t);
    assert_eq!(r.as_ref().err(), Some(&VerifyError::UnableToGetIssuerCertLocally));
    assert_eq!(status_string(&r), "unable to get local issuer certificate");
    // The host certificate alone: its issuer is neither sent nor a root.
    assert_eq!(
        verify(&chain[..1], &mozilla(), t).err(),
        Some(VerifyError::UnableToGetIssuerCertLocally)
    );
    // The intermediate in the store but not its root: the chain ends in the store, untrusted.
    let mut only_intermediate = RootStore::new();
    assert!(only_intermediate.add_der(chain[1].der()));
    assert_eq!(
        verify(&chain[..1], &only_intermediate, t).err(),
        Some(VerifyError::UnableToGetIssuerCert)
    );
}

#[test]
fn self_signed_certificates_not_in_the_store() {
    let (t, chain) = full_chain();
    let root = verify(&chain, &mozilla(), t).unwrap().pop().unwrap();
    let empty = RootStore::new();
    let alone = verify(std::slice::from_ref(&root), &empty, t);
    assert_eq!(alone.as_ref().err(), Some(&VerifyError::DepthZeroSelfSignedCert));
    assert_eq!(status_string(&alone), "self signed certificate");
    let with_root = vec![chain[0].clone(), chain[1].clone(), root.clone()];
    let r = verify(&with_root, &empty, t);
    assert_eq!(r.as_ref().err(), Some(&VerifyError::SelfSignedCertInChain));
    // The same root, trusted: sending it does not matter.
    let mut store = RootStore::new();
    assert!(store.add_der(root.der()));
    assert_eq!(verify(&with_root, &store, t).unwrap().len(), 3);
}

#[test]
fn a_damaged_signature_fails() {
    let (t, chain) = full_chain();
    let mut der = chain[0].der().to_vec();
    let last = der.len() - 1;
    der[last] ^= 1; // the last byte is the signature's
    let mut damaged = parse(&[der]);
    damaged.extend(chain[1..].iter().cloned());
    assert_eq!(
        verify(&damaged, &mozilla(), t).err(),
        Some(VerifyError::CertSignatureFailure)
    );
}

#[test]
fn intermediate_cache_completes_later_chains() {
    let c = chains("missing-intermediate.pcap");
    let store = mozilla();
    let statuses = |cache_intermediates: bool| -> Vec<&'static str> {
        let mut caches = Caches::new();
        c.iter()
            .map(|(t, chain)| status_string(&caches.validate(&parse(chain), &store, cache_intermediates, *t).result))
            .collect()
    };
    let unable = "unable to get local issuer certificate";
    assert_eq!(statuses(true), vec![unable, "ok", "ok"]);
    assert_eq!(statuses(false), vec![unable, "ok", unable]);
}

#[test]
fn pem_bundles() {
    let (_, chain) = full_chain();
    let mut store = RootStore::new();
    assert!(store.add_pem(b"no PEM here\n").is_ok());
    assert!(store.is_empty());
    let bad = b"-----BEGIN CERTIFICATE-----\nMAMCAQU=\n-----END CERTIFICATE-----\n";
    assert!(
        store.add_pem(bad).is_err(),
        "a block that is not a certificate is an error"
    );
    let dir = std::env::temp_dir().join(format!("weir-ssl-roots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("one.pem");
    let der = chain[1].der();
    let b64 = weir_ssl::x509::base64(der);
    std::fs::write(
        &file,
        format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n"),
    )
    .unwrap();
    let only = RootCerts::from_settings(Some(file.to_str().unwrap()), &[])
        .load()
        .unwrap();
    assert_eq!(only.len(), 1);
    let added = RootCerts::from_settings(None, &[file.to_str().unwrap().to_string()])
        .load()
        .unwrap();
    assert_eq!(added.len(), mozilla().len() + 1);
    assert_eq!(RootCerts::from_settings(Some("{}"), &[]).load().unwrap().len(), 0);
    assert!(RootCerts::from_settings(Some("/nonexistent/roots.pem"), &[])
        .load()
        .is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
