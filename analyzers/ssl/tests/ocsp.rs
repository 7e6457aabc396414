//! Stapled OCSP responses (`weir_ssl::ocsp`) from Zeek's traces: validation as `x509_ocsp_verify` does it,
//! each outcome provoked by changing the time, the trust store, the chain or the response, and the SCTs of
//! a response's extensions.

mod common;

use common::{corpus_dir, run_trace};
use std::sync::Arc;
use weir_api::analyzer::Settings;
use weir_ssl::ocsp::{response_scts, verify_response};
use weir_ssl::proto::{Event, Proto};
use weir_ssl::sct::{Chain, CtLogs, SctCache, SctSource};
use weir_ssl::validation::RootCerts;
use weir_ssl::verify::{Cert, RootStore};

struct Stapled {
    /// Network time of the connection's start (ssl.log `ts`).
    ts: i64,
    response: Vec<u8>,
    chain: Vec<Arc<Cert>>,
}

/// The first connection's stapled OCSP response and server chain, through the protocol layer.
fn stapled(trace: &str) -> Stapled {
    let out = run_trace(&corpus_dir().join("traces/tls").join(trace), &Settings::new());
    let ts = out.ssl[0].split('\t').next().unwrap().parse::<f64>().unwrap() as i64;
    let (_, chunks) = &out.streams[0];
    let mut p = Proto::new(false);
    let mut ev = Vec::new();
    for (o, d) in chunks {
        p.deliver_stream(*o, d, &mut ev);
    }
    let mut response = None;
    let mut chain = Vec::new();
    for e in ev {
        match e {
            Event::StapledOcsp { response: r, .. } => response = Some(r),
            Event::Certificates {
                is_client: false,
                certs,
            } => chain = certs.iter().map(|c| Arc::new(Cert::from_der(c).unwrap())).collect(),
            _ => {}
        }
    }
    Stapled {
        ts,
        response: response.expect("a stapled OCSP response"),
        chain,
    }
}

/// Mozilla's list and the roots of Zeek's btest helper `external-ca-list.zeek` (Mozilla's list of 2014, when
/// the traces were made), as Zeek's validate-ocsp test has them.
fn store() -> RootStore {
    let mut store = RootCerts::default().load().unwrap();
    let helper = corpus_dir().join("scripts/external-ca-list.zeek");
    let script = std::fs::read_to_string(helper).unwrap();
    for der in weir_golden::roots::root_certs_in_script(&script).unwrap() {
        store.add_der(&der);
    }
    store
}

#[test]
fn good_response_and_time_window() {
    let s = stapled("ocsp-stapling-digicert.pcap");
    let store = store();
    assert_eq!(verify_response(&s.response, &s.chain, &store, s.ts), "good");
    assert_eq!(
        verify_response(&s.response, &s.chain, &store, s.ts + 365 * 86400),
        "OCSP reply expired"
    );
    assert_eq!(
        verify_response(&s.response, &s.chain, &store, s.ts - 30 * 86400),
        "OCSP reply specifies time in future"
    );
}

#[test]
fn responder_chain_and_signature() {
    let s = stapled("ocsp-stapling-digicert.pcap");
    let empty = RootStore::new();
    assert_eq!(
        verify_response(&s.response, &s.chain, &empty, s.ts),
        "unable to get local issuer certificate"
    );
    let store = store();
    // The host certificate alone: the responder (its issuer) is then nowhere.
    let alone = verify_response(&s.response, &s.chain[..1], &store, s.ts);
    assert_eq!(alone, "Could not find OCSP responder certificate");
    let mut damaged = s.response.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    // The last byte is the signature's.
    let r = verify_response(&damaged, &s.chain, &store, s.ts);
    assert_eq!(r, "OCSP response signature failure");
    // Another certificate's response: a different CertID.
    let other = stapled("ocsp-stapling-twimg.pcap");
    let mut chain = other.chain.clone();
    chain.extend(s.chain[1..].iter().cloned());
    let r = verify_response(&s.response, &chain, &store, s.ts);
    assert_eq!(r, "OCSP reply is not for host certificate");
    assert_eq!(
        verify_response(b"\x30\x03\x0a\x01\x03", &s.chain, &store, s.ts),
        "trylater"
    );
    assert_eq!(
        verify_response(b"junk", &s.chain, &store, s.ts),
        "Could not parse OCSP response"
    );
}

#[test]
fn response_scts_verify_as_certificate_entries() {
    let s = stapled("signed_certificate_timestamp.pcap");
    let proofs = response_scts(&s.response);
    assert_eq!(proofs.len(), 2);
    assert!(proofs.iter().all(|p| p.source == SctSource::OcspExt));
    let mut logs = CtLogs::default();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/ct-logs-validate-sct.json"
    ));
    logs.add_json(&text.unwrap()).unwrap();
    let chain = Chain {
        sent: &s.chain,
        valid_issuer_key_hash: None,
        cached_intermediate_key_hash: None,
        validation_code: None,
    };
    // Google's Pilot and Aviator logs.
    assert_eq!(SctCache::new().validate(&proofs, &chain, &logs, s.ts as f64), (2, 1));
}
