//! The generator is deterministic and its output parses, with valid checksums.

use weir_bench::gen::{generate, Config};
use weir_bench::pcap::{scan, scan_mapped, PcapReader};
use weir_bench::pkt::{checksum, l4_checksum, Ip};

fn gen(cfg: &Config) -> Vec<u8> {
    generate(cfg, Vec::new()).unwrap().1
}

fn cfg(seed: u64, packets: u64) -> Config {
    Config {
        seed,
        packets: Some(packets),
        connections: 200,
        ..Config::default()
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = gen(&cfg(42, 5_000));
    let b = gen(&cfg(42, 5_000));
    assert!(a == b, "same seed and options must give the same bytes");
    let c = gen(&cfg(43, 5_000));
    assert!(a != c);
}

#[test]
fn output_parses_with_the_requested_packet_count() {
    let a = gen(&cfg(1, 5_000));
    let s = scan(&a[..]).unwrap();
    assert_eq!(s.packets, 5_000);
    assert!(s.monotonic, "timestamps must never go backwards");
    assert_eq!(a.len() as u64, 24 + 16 * s.packets + s.bytes);
    // The mapped floor reads the same records.
    let path = std::env::temp_dir().join(format!("weir-bench-scan-{}.pcap", std::process::id()));
    std::fs::write(&path, &a).unwrap();
    let m = scan_mapped(&path);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(m.unwrap(), s);

    let v = gen(&Config {
        vxlan: true,
        ..cfg(1, 2_000)
    });
    assert_eq!(scan(&v[..]).unwrap().packets, 2_000);

    let by_size = generate(
        &Config {
            packets: None,
            bytes: Some(1_000_000),
            ..cfg(1, 0)
        },
        Vec::new(),
    )
    .unwrap()
    .1;
    assert!(by_size.len() >= 1_000_000 && by_size.len() < 1_000_000 + 70_000);
}

/// Checks the IPv4 header checksum and the TCP/UDP/ICMP checksum of an IP packet; returns the
/// protocol and the layer-4 bytes.
fn check_ip(p: &[u8]) -> (u8, Vec<u8>) {
    match p[0] >> 4 {
        4 => {
            let hl = (p[0] & 0xf) as usize * 4;
            assert_eq!(checksum(&p[..hl]), 0, "bad IPv4 header checksum");
            let total = u16::from_be_bytes([p[2], p[3]]) as usize;
            let (s, d) = (
                Ip::V4(p[12..16].try_into().unwrap()),
                Ip::V4(p[16..20].try_into().unwrap()),
            );
            let l4 = &p[hl..total];
            match p[9] {
                1 => assert_eq!(checksum(l4), 0, "bad ICMP checksum"),
                proto => assert_eq!(l4_checksum(&s, &d, proto, l4), 0, "bad L4 checksum (proto {proto})"),
            }
            (p[9], l4.to_vec())
        }
        6 => {
            let len = u16::from_be_bytes([p[4], p[5]]) as usize;
            let (s, d) = (
                Ip::V6(p[8..24].try_into().unwrap()),
                Ip::V6(p[24..40].try_into().unwrap()),
            );
            let l4 = &p[40..40 + len];
            assert_eq!(
                l4_checksum(&s, &d, p[6], l4),
                0,
                "bad IPv6 L4 checksum (proto {})",
                p[6]
            );
            (p[6], l4.to_vec())
        }
        v => panic!("IP version {v}"),
    }
}

#[test]
fn every_checksum_is_valid_and_the_mix_is_there() {
    for vxlan in [false, true] {
        let a = gen(&Config {
            vxlan,
            ..cfg(7, 20_000)
        });
        let mut rd = PcapReader::new(&a[..]).unwrap();
        let (mut v4, mut v6, mut tcp, mut udp, mut icmp, mut dns, mut tls) = (0, 0, 0, 0, 0, 0, 0);
        while let Some(r) = rd.next_record().unwrap() {
            let mut f = r.data.to_vec();
            if vxlan {
                assert_eq!(u16::from_be_bytes([f[12], f[13]]), 0x0800);
                let (proto, l4) = check_ip(&f[14..]);
                assert_eq!(proto, 17);
                assert_eq!(u16::from_be_bytes([l4[2], l4[3]]), 4789);
                f = l4[16..].to_vec();
            }
            let (proto, l4) = match u16::from_be_bytes([f[12], f[13]]) {
                0x0800 => {
                    v4 += 1;
                    check_ip(&f[14..])
                }
                0x86dd => {
                    v6 += 1;
                    check_ip(&f[14..])
                }
                e => panic!("ethertype {e:#x}"),
            };
            let ports = [u16::from_be_bytes([l4[0], l4[1]]), u16::from_be_bytes([l4[2], l4[3]])];
            match proto {
                6 => {
                    tcp += 1;
                    let off = (l4[12] >> 4) as usize * 4;
                    if ports.contains(&443) && l4.len() > off && l4[off] == 0x16 && l4.get(off + 5) == Some(&1) {
                        tls += 1; // a ClientHello at the start of a segment
                    }
                }
                17 => {
                    udp += 1;
                    if ports.contains(&53) {
                        dns += 1;
                    }
                }
                1 | 58 => icmp += 1,
                p => panic!("protocol {p}"),
            }
        }
        assert!(
            v4 > 0 && v6 > 0 && tcp > 0 && udp > 0 && icmp > 0 && dns > 0 && tls > 0,
            "v4 {v4} v6 {v6} tcp {tcp} udp {udp} icmp {icmp} dns {dns} tls {tls}"
        );
    }
}

/// TCP bookkeeping is consistent: no side acknowledges a byte the other side has not sent (as
/// seen at the sensor, counting SYN and FIN), ACK numbers never go backwards, data never precedes
/// the ISN, and a segment seen twice carries the same bytes both times.
#[test]
fn tcp_sequence_and_ack_numbers_are_consistent() {
    use std::collections::HashMap;
    #[derive(Default)]
    struct Side {
        isn: Option<u32>,
        /// Highest sequence number sent so far plus one (relative to the ISN).
        end: u32,
        /// Highest acknowledgement sent so far (relative to the peer's ISN).
        acked: u32,
    }
    let a = gen(&cfg(11, 30_000));
    let mut rd = PcapReader::new(&a[..]).unwrap();
    // key: (client ip+port, server ip+port) as bytes; value: [client side, server side]
    let mut conns: HashMap<(Vec<u8>, Vec<u8>), [Side; 2]> = HashMap::new();
    let mut seen: HashMap<(Vec<u8>, Vec<u8>, u32), Vec<u8>> = HashMap::new();
    let (mut acks, mut retrans) = (0u64, 0u64);
    while let Some(r) = rd.next_record().unwrap() {
        let f = r.data;
        let (src, dst, l4) = match u16::from_be_bytes([f[12], f[13]]) {
            0x0800 if f[23] == 6 => {
                let p = &f[14..];
                let total = u16::from_be_bytes([p[2], p[3]]) as usize;
                (p[12..16].to_vec(), p[16..20].to_vec(), &p[20..total])
            }
            0x86dd if f[20] == 6 => {
                let p = &f[14..];
                let len = u16::from_be_bytes([p[4], p[5]]) as usize;
                (p[8..24].to_vec(), p[24..40].to_vec(), &p[40..40 + len])
            }
            _ => continue,
        };
        let mut s = src.clone();
        s.extend_from_slice(&l4[0..2]);
        let mut d = dst.clone();
        d.extend_from_slice(&l4[2..4]);
        let seq = u32::from_be_bytes(l4[4..8].try_into().unwrap());
        let ack = u32::from_be_bytes(l4[8..12].try_into().unwrap());
        let flags = l4[13];
        let payload = &l4[(l4[12] >> 4) as usize * 4..];
        let (syn, fin, has_ack) = (flags & 0x02 != 0, flags & 0x01 != 0, flags & 0x10 != 0);
        let (key, dir) = if conns.contains_key(&(d.clone(), s.clone())) {
            ((d.clone(), s.clone()), 1)
        } else {
            if syn && !has_ack {
                let e = conns.entry((s.clone(), d.clone())).or_default();
                if e[0].isn != Some(seq) {
                    *e = Default::default(); // a new connection on this 4-tuple
                }
            }
            match conns.contains_key(&(s.clone(), d.clone())) {
                true => ((s.clone(), d.clone()), 0),
                false => continue, // a flow whose SYN came before the capture (none here)
            }
        };
        let c = conns.get_mut(&key).unwrap();
        if syn {
            c[dir].isn = Some(seq);
        }
        let Some(isn) = c[dir].isn else { continue };
        let rel = seq.wrapping_sub(isn);
        assert!(syn || rel >= 1 || flags & 0x04 != 0, "data before the ISN");
        let end = rel + payload.len() as u32 + syn as u32 + fin as u32;
        c[dir].end = c[dir].end.max(end);
        if has_ack {
            if let Some(peer_isn) = c[1 - dir].isn {
                let rel_ack = ack.wrapping_sub(peer_isn);
                assert!(
                    rel_ack <= c[1 - dir].end,
                    "ack {rel_ack} beyond what the peer sent ({}), flags {flags:#x}",
                    c[1 - dir].end
                );
                // (RSTs may carry any ACK; every other segment acknowledges in order.)
                if flags & 0x04 == 0 {
                    assert!(
                        rel_ack >= c[dir].acked,
                        "ACK numbers went backwards: {rel_ack} < {}",
                        c[dir].acked
                    );
                    c[dir].acked = rel_ack;
                }
                acks += 1;
            }
        }
        if !payload.is_empty() {
            let k = (s, d, seq); // sender, receiver, sequence number
            match seen.get(&k) {
                Some(prev) => {
                    assert_eq!(prev.as_slice(), payload, "a retransmission with different bytes");
                    retrans += 1;
                }
                None => {
                    seen.insert(k, payload.to_vec());
                }
            }
        }
    }
    assert!(acks > 10_000, "{acks} acks checked");
    assert!(retrans > 0, "the mix has retransmissions seen twice");
}
