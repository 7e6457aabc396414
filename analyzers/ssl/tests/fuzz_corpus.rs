//! Replays the fuzz seed corpora (`fuzz/corpus/<target>/`) through the fuzz entry points, so every seed
//! (and every crash reproducer added there) runs under `cargo test`.

use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(&dir) {
        let mut files: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        files.sort();
        for p in files {
            let data = std::fs::read(&p).unwrap();
            f(&data);
            n += 1;
        }
    }
    n
}

#[test]
fn tls_stream_corpus() {
    let n = replay("tls_stream", |d| {
        let _ = weir_ssl::fuzzing::fuzz_tls_stream(d);
    });
    assert!(n > 0, "no tls_stream seeds");
}

#[test]
fn dtls_corpus() {
    let n = replay("dtls", |d| {
        let _ = weir_ssl::fuzzing::fuzz_dtls(d);
    });
    assert!(n > 0, "no dtls seeds");
}

#[test]
fn x509_corpus() {
    let n = replay("x509", weir_ssl::fuzzing::fuzz_x509);
    assert!(n > 0, "no x509 seeds");
}

#[test]
fn ocsp_corpus() {
    let n = replay("ocsp", weir_ssl::fuzzing::fuzz_ocsp);
    assert!(n > 0, "no ocsp seeds");
}

/// Truncations and bit flips of every OCSP seed must not panic.
#[test]
fn ocsp_mutations() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/ocsp");
    let Ok(rd) = std::fs::read_dir(&dir) else { return };
    for p in rd.flatten().map(|e| e.path()) {
        let data = std::fs::read(&p).unwrap();
        for cut in (0..data.len()).step_by(13) {
            weir_ssl::fuzzing::fuzz_ocsp(&data[..cut]);
        }
        for i in (0..data.len()).step_by(7) {
            let mut m = data.clone();
            m[i] ^= 0xff;
            weir_ssl::fuzzing::fuzz_ocsp(&m);
        }
    }
}

/// Truncations and bit flips of every stream seed must not panic.
#[test]
fn tls_stream_mutations() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/tls_stream");
    let Ok(rd) = std::fs::read_dir(&dir) else { return };
    for p in rd.flatten().map(|e| e.path()).take(20) {
        let data = std::fs::read(&p).unwrap();
        for cut in (0..data.len()).step_by(97) {
            let _ = weir_ssl::fuzzing::fuzz_tls_stream(&data[..cut]);
        }
        let mut m = data.clone();
        for i in (0..m.len()).step_by(31) {
            m[i] ^= 0x5a;
        }
        let _ = weir_ssl::fuzzing::fuzz_tls_stream(&m);
    }
}
