//! Parser throughput on the corpus's DNS messages (every DNS message of every corpus trace, deduplicated).
//!
//! `cargo bench -p weir-dns --bench parse` prints, besides criterion's timings, the messages per second
//! of the general parser (`parser::parse`) and of the analyzer's Zeek walk (one UDP message each).

#[path = "../tests/common/mod.rs"]
#[allow(dead_code)]
mod common;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::time::Instant;
use weir_api::Analyzer;
use weir_dns::fuzzing::NullContext;
use weir_dns::{parser, DnsAnalyzer, DnsConfig};

fn bench(c: &mut Criterion) {
    let msgs = common::dns_messages(&common::all_traces());
    let bytes: usize = msgs.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("dns");
    g.throughput(Throughput::Elements(msgs.len() as u64));
    g.bench_function("parser::parse (corpus messages)", |b| {
        b.iter(|| {
            let mut ok = 0;
            for m in &msgs {
                if parser::parse(black_box(m)).is_ok() {
                    ok += 1;
                }
            }
            ok
        })
    });
    g.bench_function("analyzer (Zeek walk + dns.log state)", |b| {
        b.iter(|| {
            let mut cx = NullContext {
                tcp: false,
                now: 1.0,
                rows: 0,
                weirds: 0,
            };
            let mut a = DnsAnalyzer::new(DnsConfig::default());
            for (i, m) in msgs.iter().enumerate() {
                a.deliver_packet(&mut cx, i % 2 == 0, black_box(m));
            }
            a.done(&mut cx);
            cx.rows
        })
    });
    g.finish();

    // A plain figure for the report: messages per second over a fixed amount of work.
    let rounds = 2000;
    let t = Instant::now();
    let mut ok = 0usize;
    for _ in 0..rounds {
        for m in &msgs {
            ok += parser::parse(black_box(m)).is_ok() as usize;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let n = (rounds * msgs.len()) as f64;
    println!(
        "parser: {} messages ({} bytes, {} parse), {:.0} messages/s, {:.1} MB/s",
        msgs.len(),
        bytes,
        ok / rounds,
        n / secs,
        (rounds * bytes) as f64 / secs / 1e6
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
