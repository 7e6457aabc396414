//! Handshake parsing throughput: complete TLS connections (both directions, as captured in the seed
//! corpus) through the analyzer with a null context, including certificate parsing and log rows.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::Path;
use weir_ssl::fuzzing::{chunks, NullContext};
use weir_ssl::{Config, SslAnalyzer};

fn seeds() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/tls_stream");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    files.sort();
    files
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .filter(|d| {
            let cx = weir_ssl::fuzzing::fuzz_tls_stream(d);
            cx.confirmed && cx.rows > 0
        })
        .collect()
}

fn run(data: &[u8], cfg: &Config) -> usize {
    let mut cx = NullContext::new(weir_api::Transport::Tcp);
    let mut a = SslAnalyzer::new(cfg.clone());
    for (is_orig, d) in chunks(data) {
        weir_api::Analyzer::deliver_stream(&mut a, &mut cx, is_orig, d);
    }
    weir_api::Analyzer::done(&mut a, &mut cx);
    cx.rows
}

fn bench(c: &mut Criterion) {
    let seeds = seeds();
    let bytes: usize = seeds.iter().map(|s| s.len()).sum();
    let cfg = Config::default();
    let mut g = c.benchmark_group("handshake");
    g.throughput(Throughput::Elements(seeds.len() as u64));
    g.bench_function(format!("{}_connections_{}_bytes", seeds.len(), bytes), |b| {
        b.iter(|| seeds.iter().map(|s| run(s, &cfg)).sum::<usize>())
    });
    // Record layer and handshake only: the certificate-free TLS 1.3 handshakes.
    let small: Vec<_> = seeds.iter().filter(|s| s.len() < 4096).cloned().collect();
    if !small.is_empty() {
        g.throughput(Throughput::Elements(small.len() as u64));
        g.bench_function(format!("{}_small_connections", small.len()), |b| {
            b.iter(|| small.iter().map(|s| run(s, &cfg)).sum::<usize>())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
