//! The engine's per-packet and per-connection costs outside the protocol state machines:
//!
//! - `dispatch hash`: the symmetric hash the dispatcher picks a worker with (`key::lane_hash`, per
//!   packet), the address-pair hash of port-less packets (`key::pair_hash`), and building a connection's
//!   direction-free key and hashing it as the flow table does (`ConnKey::new` + `flow_hash`);
//! - `flow table`: `FlowTable::find` hits and misses in a table of 10,000 and 100,000 connections, and the
//!   steady-state turnover of a worker: one new connection inserted, the connection whose inactivity
//!   timer is due taken out (`next_due` + `remove`);
//! - `conn.log row`: one conn.log row (a finished HTTPS connection) formatted as Zeek's JSON and TSV by
//!   weir-logs' writers (the schema is weir-engine's `conn_schema`, hence the benchmark lives here).
//!
//! `cargo bench -p weir-engine --bench engine`. Times are the benchmark thread's CPU time
//! (`weir_bench::cpu::ThreadCpu`: this project's machines are shared).

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use weir_api::log::Value;
use weir_bench::cpu::{criterion, ThreadCpu};
use weir_bench::rng::Rng;
use weir_engine::conn::{Conn, ConnCore, ConnKind, DatagramState};
use weir_engine::flows::FlowTable;
use weir_engine::key::{lane_hash, pair_hash, ConnKey};
use weir_engine::logs::conn_schema;
use weir_engine::uid::Uid;
use weir_logs::format::{json_row, tsv_row};

const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
/// Distinct endpoint tuples the hash benchmarks cycle through (so no result is a constant).
const TUPLES: usize = 4096;

/// A random (src, sport, dst, dport, proto) tuple; one in six is IPv6, as in weir-gen's traffic.
#[derive(Clone, Copy)]
struct Tuple {
    src: IpAddr,
    sport: u16,
    dst: IpAddr,
    dport: u16,
    proto: u8,
}

fn tuple(rng: &mut Rng) -> Tuple {
    let v6 = rng.range(0, 5) == 0;
    let addr = |rng: &mut Rng| -> IpAddr {
        if v6 {
            IpAddr::V6(Ipv6Addr::from(
                ((rng.next_u64() as u128) << 64) | rng.next_u64() as u128,
            ))
        } else {
            IpAddr::V4(Ipv4Addr::from(rng.u32()))
        }
    };
    Tuple {
        src: addr(rng),
        sport: rng.range(1024, 65535) as u16,
        dst: addr(rng),
        dport: *rng.pick(&[53, 80, 443, 8080]),
        proto: if rng.chance(0.3) { PROTO_UDP } else { PROTO_TCP },
    }
}

fn key(t: &Tuple) -> ConnKey {
    ConnKey::new(t.src, t.sport, t.dst, t.dport, t.proto, false)
}

/// A UDP connection as the worker creates it, with its inactivity timer due at `deadline`.
fn conn(t: &Tuple, seq: u64, deadline: f64) -> Conn {
    let mut core = ConnCore::new(
        key(t),
        Uid::new(1, seq, 0),
        t.src,
        t.sport,
        t.dst,
        t.dport,
        t.proto,
        deadline,
    );
    core.inactivity_at = Some(deadline);
    Conn {
        core,
        kind: ConnKind::Udp(DatagramState::default()),
        analysis: None,
    }
}

fn dispatch_hash(c: &mut Criterion<ThreadCpu>) {
    let mut rng = Rng::new(1);
    let tuples: Vec<Tuple> = (0..TUPLES).map(|_| tuple(&mut rng)).collect();
    let mut g = c.benchmark_group("dispatch hash");
    g.throughput(Throughput::Elements(TUPLES as u64));
    g.bench_function("lane_hash (worker choice, per packet)", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for t in black_box(&tuples) {
                acc ^= lane_hash(t.src, t.sport, t.dst, t.dport, t.proto);
            }
            acc
        })
    });
    g.bench_function("pair_hash (packets without ports)", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for t in black_box(&tuples) {
                acc ^= pair_hash(t.src, t.dst);
            }
            acc
        })
    });
    g.bench_function("ConnKey::new + flow_hash", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for t in black_box(&tuples) {
                acc ^= key(t).flow_hash();
            }
            acc
        })
    });
    g.finish();
}

fn flow_table(c: &mut Criterion<ThreadCpu>) {
    let mut g = c.benchmark_group("flow table");
    for n in [10_000usize, 100_000] {
        let mut rng = Rng::new(2);
        let live: Vec<Tuple> = (0..n).map(|_| tuple(&mut rng)).collect();
        let absent: Vec<Tuple> = (0..TUPLES).map(|_| tuple(&mut rng)).collect();
        let mut table = FlowTable::new(usize::MAX);
        for (i, t) in live.iter().enumerate() {
            table.insert(conn(t, i as u64, i as f64));
        }
        // Look up the live keys in a scattered order, as packets of many flows arrive.
        let probes: Vec<ConnKey> = (0..TUPLES)
            .map(|_| key(&live[rng.range(0, n as u64 - 1) as usize]))
            .collect();
        let misses: Vec<ConnKey> = absent.iter().map(key).collect();
        assert!(probes.iter().all(|k| table.find(k).is_some()));
        assert!(misses.iter().all(|k| table.find(k).is_none()));
        g.throughput(Throughput::Elements(TUPLES as u64));
        g.bench_function(format!("find hit ({n} connections)"), |b| {
            b.iter(|| black_box(&probes).iter().filter(|k| table.find(k).is_some()).count())
        });
        g.bench_function(format!("find miss ({n} connections)"), |b| {
            b.iter(|| black_box(&misses).iter().filter(|k| table.find(k).is_some()).count())
        });

        // Turnover: connection i (deadline i) comes in, connection i - n (deadline i - n) times out.
        g.throughput(Throughput::Elements(1));
        let mut next = n as u64;
        g.bench_function(format!("insert new + expire oldest ({n} connections)"), |b| {
            b.iter_batched(
                || {
                    next += 1;
                    conn(&tuple(&mut rng), next, next as f64)
                },
                |c| {
                    let deadline = c.core.start_time;
                    table.insert(c);
                    let due = table
                        .next_due(deadline - n as f64)
                        .expect("the oldest connection is due");
                    table.remove(due)
                },
                BatchSize::SmallInput,
            )
        });
        assert_eq!(table.len(), n);
    }
    g.finish();
}

fn conn_log_row(c: &mut Criterion<ThreadCpu>) {
    let schema = conn_schema(false);
    let orig = IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3));
    let resp = IpAddr::V6("2001:db8::443".parse().unwrap());
    // A finished HTTPS connection, as weir's conn_row fills it (no local_nets: local_* unset).
    let row: [Option<Value<'_>>; 22] = [
        Some(Value::Time(1_700_000_123.456_789)),
        Some(Value::str("CHhAvVGS1DHFjwGM9")),
        Some(Value::Addr(orig)),
        Some(Value::Port(51234)),
        Some(Value::Addr(resp)),
        Some(Value::Port(443)),
        Some(Value::Enum("tcp")),
        Some(Value::str("ssl")),
        Some(Value::Interval(1.234_567)),
        Some(Value::Count(2_345)),
        Some(Value::Count(1_234_567)),
        Some(Value::str("SF")),
        None,
        None,
        Some(Value::Count(0)),
        Some(Value::Str(b"ShADadFf")),
        Some(Value::Count(412)),
        Some(Value::Count(24_837)),
        Some(Value::Count(903)),
        Some(Value::Count(1_281_015)),
        None,
        Some(Value::Count(6)),
    ];
    let mut g = c.benchmark_group("conn.log row");
    g.throughput(Throughput::Elements(1));
    let mut out = Vec::with_capacity(1024);
    json_row(&mut out, &schema, &row);
    assert!(out.starts_with(b"{\"ts\":1700000123.456789,\"uid\":\"CHhAvVGS1DHFjwGM9\""));
    g.bench_function("JSON", |b| {
        b.iter(|| {
            out.clear();
            json_row(&mut out, &schema, black_box(&row));
            out.len()
        })
    });
    g.bench_function("TSV", |b| {
        b.iter(|| {
            out.clear();
            tsv_row(&mut out, &schema, black_box(&row));
            out.len()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = dispatch_hash, flow_table, conn_log_row
}
criterion_main!(benches);
