//! Certificates that reach x509.log through other analyzers (RDP): found by scanning the trace for DER
//! certificates, rendered, and compared with the baseline on the certificate columns.

mod common;

use common::*;

fn scan(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 4 < data.len() {
        if data[i] == 0x30 && data[i + 1] == 0x82 {
            let len = usize::from(data[i + 2]) << 8 | usize::from(data[i + 3]);
            if i + 4 + len <= data.len() {
                let der = &data[i..i + 4 + len];
                let mut w = Vec::new();
                if weir_ssl::x509::parse_certificate(der, &mut w).is_some() {
                    out.push(der.to_vec());
                    i += 4 + len;
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

#[test]
fn rdp_x509_certificate_columns() {
    let dir = corpus_dir();
    let trace = dir.join("traces/rdp/rdp-x509.pcap");
    let Some((_, rows)) = read_log(&dir.join("expected/scripts.base.protocols.rdp.rdp-x509/x509.log")) else {
        return;
    };
    let mut bytes = Vec::new();
    for p in read_trace(&trace) {
        bytes.extend_from_slice(&p.data);
    }
    let certs = scan(&bytes);
    let cfg = weir_ssl::Config::default();
    let schema = weir_ssl::x509_schema();
    let mut ours = Vec::new();
    for der in certs {
        let mut w = Vec::new();
        let c = weir_ssl::x509::parse_certificate(&der, &mut w).unwrap();
        weir_ssl::with_x509_row(&cfg, 0.0, &c, false, false, |row| {
            let mut out = Vec::new();
            weir_logs::format::tsv::tsv_row(&mut out, &schema, row);
            let line = String::from_utf8_lossy(&out).trim_end().to_string();
            // fingerprint .. basic_constraints.path_len (host_cert/client_cert come from RDP)
            ours.push(line.split('\t').skip(1).take(19).collect::<Vec<_>>().join("\t"));
        });
    }
    for r in &rows {
        let want = r.split('\t').skip(1).take(19).collect::<Vec<_>>().join("\t");
        assert!(ours.contains(&want), "missing x509 row {want}\nours: {ours:#?}");
    }
}
