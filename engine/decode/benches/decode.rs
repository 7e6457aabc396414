//! `decode_frame` per frame, on the frames a sensor sees most: an Ethernet/IPv4/TCP full-size data
//! segment and a bare ACK, an IPv6/UDP DNS query, an 802.1Q-tagged IPv4/TCP segment, and a VXLAN
//! packet (the outer frame, the VXLAN header, then the inner Ethernet frame, as the worker decodes it).
//!
//! `cargo bench -p weir-decode --bench decode`. The frames are built with weir-bench's packet builders
//! (the generator's), with correct checksums. Times are the benchmark thread's CPU time
//! (`weir_bench::cpu::ThreadCpu`: this project's machines are shared).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use weir_bench::cpu::{criterion, ThreadCpu};
use weir_bench::pkt::{self, Ip, Tcp, Vxlan, ACK, PSH};
use weir_decode::{decode_frame, tunnel, DecodeConfig, Decoded, LinkType, Transport};

const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 2];
const V4_CLIENT: Ip = Ip::V4([10, 1, 2, 3]);
const V4_SERVER: Ip = Ip::V4([192, 0, 2, 80]);
const V6_CLIENT: Ip = Ip::V6([0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34]);
const V6_SERVER: Ip = Ip::V6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53]);
const VLAN_TPID: u16 = 0x8100;

/// An IPv4 TCP segment from the server: `payload` bytes of data, or a bare ACK when empty.
fn v4_tcp(payload: &[u8]) -> (u16, Vec<u8>) {
    let seg = pkt::tcp(
        &V4_SERVER,
        &V4_CLIENT,
        &Tcp {
            sport: 443,
            dport: 51000,
            seq: 1_000_000,
            ack: 2_000_000,
            flags: if payload.is_empty() { ACK } else { ACK | PSH },
            win: 501,
            // NOP, NOP, timestamps: what Linux puts on every segment.
            options: &[1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2],
            payload,
        },
    );
    pkt::ip(&V4_SERVER, &V4_CLIENT, pkt::PROTO_TCP, 64, 7, true, &seg)
}

fn ethernet(ethertype: u16, ip: &[u8]) -> Vec<u8> {
    pkt::eth(CLIENT_MAC, SERVER_MAC, ethertype, ip, true)
}

/// The frames, by name.
fn frames() -> Vec<(&'static str, Vec<u8>)> {
    let full = vec![0x5a; 1448];
    let (et, data) = v4_tcp(&full);
    let (_, ack) = v4_tcp(&[]);
    // A DNS query for www.example.com, A.
    let query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07example\x03com\x00\x00\x01\x00\x01";
    let dns = pkt::udp(&V6_CLIENT, &V6_SERVER, 53124, 53, query);
    let (et6, dns6) = pkt::ip(&V6_CLIENT, &V6_SERVER, pkt::PROTO_UDP, 64, 9, false, &dns);
    // 802.1Q: tag (priority 0, VLAN 100), then the inner EtherType.
    let mut tagged = vec![0x00, 100];
    tagged.extend_from_slice(&et.to_be_bytes());
    tagged.extend_from_slice(&data);
    let mut vx = Vxlan {
        src: Ip::V4([172, 16, 0, 1]),
        dst: Ip::V4([172, 16, 0, 2]),
        src_mac: SERVER_MAC,
        dst_mac: CLIENT_MAC,
        sport: 49152,
        vni: 4242,
        ip_id: 0,
    };
    vec![
        ("eth/ipv4/tcp 1448 B data", ethernet(et, &data)),
        ("eth/ipv4/tcp bare ACK", ethernet(et, &ack)),
        ("eth/ipv6/udp DNS query", ethernet(et6, &dns6)),
        ("eth/vlan/ipv4/tcp 1448 B data", ethernet(VLAN_TPID, &tagged)),
        (
            "vxlan: eth/ipv4/udp/vxlan/eth/ipv4/tcp 1448 B data",
            vx.wrap(&ethernet(et, &data)),
        ),
    ]
}

/// Decodes `frame`, and when it is VXLAN (UDP to 4789) the inner frame too, as the worker does.
/// Returns the innermost transport's payload length, so nothing is optimised away.
fn decode(cfg: &DecodeConfig, frame: &[u8], weirds: &mut Vec<weir_decode::DecodeWeird>) -> usize {
    let mut out = Decoded::default();
    if decode_frame(cfg, LinkType::ETHERNET, frame, &mut out, weirds).is_err() {
        return 0;
    }
    match out.transport {
        Some(Transport::Udp(u)) if u.dst_port == tunnel::ports::VXLAN => match tunnel::vxlan(u.payload) {
            tunnel::Step::Inner(inner) => decode(cfg, inner.data, weirds),
            _ => 0,
        },
        Some(Transport::Tcp(t)) => t.payload.len(),
        Some(Transport::Udp(u)) => u.payload.len(),
        _ => 0,
    }
}

fn bench(c: &mut Criterion<ThreadCpu>) {
    let cfg = DecodeConfig::default();
    let mut g = c.benchmark_group("decode_frame");
    for (name, frame) in frames() {
        let mut weirds = Vec::new();
        assert!(
            decode(&cfg, &frame, &mut weirds) > 0 || name.contains("ACK"),
            "{name}: not decoded"
        );
        assert!(weirds.is_empty(), "{name}: {weirds:?}");
        g.throughput(Throughput::Elements(1));
        g.bench_function(name, |b| {
            b.iter(|| {
                weirds.clear();
                decode(&cfg, black_box(&frame), &mut weirds)
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = bench
}
criterion_main!(benches);
