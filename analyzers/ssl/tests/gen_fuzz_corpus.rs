//! Writes the fuzz seed corpora from the corpus traces (run by hand:
//! `cargo test -p weir-ssl --test gen_fuzz_corpus -- --ignored`).

mod common;

use common::*;
use sha2::Digest;
use std::collections::BTreeSet;
use std::path::Path;
use weir_api::analyzer::Settings;
use weir_ssl::fuzzing::encode_chunks;
use weir_ssl::proto::{Event, Proto};

const MAX_SEED: usize = 48 * 1024;

fn write(dir: &Path, data: &[u8], seen: &mut BTreeSet<String>) {
    let name = weir_ssl::x509::hex(&sha2::Sha256::digest(data))[..16].to_string();
    if seen.insert(name.clone()) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(name), data).unwrap();
    }
}

#[test]
#[ignore]
fn generate_fuzz_corpus() {
    let manifest = std::fs::read_to_string(corpus_dir().join("MANIFEST.tsv")).unwrap();
    let mut traces = BTreeSet::new();
    for line in manifest.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() > 2 && (cols[1].contains(".ssl.") || cols[1].contains(".x509.")) && !cols[0].starts_with("aux") {
            for t in cols[2].split(',') {
                traces.insert(t.to_string());
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut seen = BTreeSet::new();
    for t in &traces {
        let out = run_trace(&corpus_dir().join("traces").join(t), &Settings::new());
        for (tcp, chunks) in out.streams.iter().take(4) {
            let mut kept = Vec::new();
            let mut size = 0;
            for c in chunks {
                if size + c.1.len() > MAX_SEED {
                    break;
                }
                size += c.1.len();
                kept.push(c.clone());
            }
            let target = if *tcp { "tls_stream" } else { "dtls" };
            write(&root.join(target), &encode_chunks(&kept), &mut seen);
            // certificates for the x509 target
            let mut p = Proto::new(!tcp);
            let mut ev = Vec::new();
            for (o, d) in chunks {
                if *tcp {
                    p.deliver_stream(*o, d, &mut ev);
                } else {
                    p.deliver_packet(*o, d, &mut ev);
                }
            }
            for e in ev {
                match e {
                    Event::Certificates { certs, .. } => {
                        for c in certs {
                            write(&root.join("x509"), &c, &mut seen);
                        }
                    }
                    Event::StapledOcsp { response, .. } => write(&root.join("ocsp"), &response, &mut seen),
                    _ => {}
                }
            }
        }
    }
    println!("{} seeds", seen.len());
}
