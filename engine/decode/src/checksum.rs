//! Internet checksums as Zeek verifies them.
//!
//! The engine raises `bad_TCP_checksum`, `bad_UDP_checksum` and `bad_ICMP_checksum` (they need a
//! connection); it asks [`should_verify`] first (Zeek's `-C` and `ignore_checksums_nets`) and then
//! [`transport_ok`]. The pseudo-header uses Zeek's `SrcAddr()`/`DstAddr()` (`IpPacket::src`/`dst`): the
//! Mobile IPv6 home address and the final destination of a routing header with segments left.

use crate::ip::proto;
use crate::{be16, DecodeConfig, IpPacket};
use core::net::IpAddr;

/// VXLAN's UDP port (Zeek's `PacketAnalyzer::VXLAN::vxlan_ports`).
pub const VXLAN_PORT: u16 = 4789;

/// The 16-bit ones-complement sum of `data` added to `sum` (big-endian words, an odd last byte padded
/// with zero), folded. A header or segment including its checksum is valid when the sum is `0xffff`.
///
/// Summed as native-endian 64-bit words whose 32-bit halves go into two 64-bit sums (no carries to
/// handle, and LLVM vectorises it), byte-swapped at the end: RFC 1071 section 2(B), the ones-complement
/// sum does not depend on byte order, and a 32-bit word is two 16-bit words since 2^16 = 1 (mod 0xffff).
/// The result is 0 only when `sum` and every byte are 0, as with a plain word-by-word sum.
pub fn ones_sum(sum: u32, data: &[u8]) -> u16 {
    /// Bytes per block: below 2^32 halves of at most 2^32 - 1 each, the 64-bit sums cannot overflow.
    const BLOCK: usize = 1 << 20;
    let mut s = 0u64;
    for block in data.chunks(BLOCK) {
        let mut words = block.chunks_exact(8);
        let (mut lo, mut hi) = (0u64, 0u64);
        for w in &mut words {
            let w = ne64(w);
            lo += w & 0xffff_ffff;
            hi += w >> 32;
        }
        // Native-order 16-bit words are the 64-bit word's lanes (mod 0xffff); an odd last byte is the
        // high byte, in network order, of a zero-padded word. No copy into a padded buffer (a memcpy call).
        let mut pairs = words.remainder().chunks_exact(2);
        for p in &mut pairs {
            if let &[x, y] = p {
                lo += u64::from(u16::from_ne_bytes([x, y]));
            }
        }
        if let &[x] = pairs.remainder() {
            lo += u64::from(u16::from_ne_bytes([x, 0]));
        }
        s = add_carry(s, add_carry(lo, hi));
    }
    // Native order back to network order; fold(x) is in 0..=0xffff, so the swap is exact.
    let be = u16::from_be(fold(s));
    fold(u64::from(sum) + u64::from(be))
}

/// Whether an IPv4 header (its IHL * 4 bytes) with its checksum sums to `0xffff`: `ones_sum(0, hdr) ==
/// 0xffff`, without that function's block, vector and remainder loops, which cost more than the sum of a
/// 20-byte header. Its 32-bit words summed big-endian in a u64 (at most 15, no overflow) are the sum of its
/// 16-bit words modulo 0xffff, since 2^16 = 1 (mod 0xffff); `fold` keeps that residue and gives 0 only
/// for 0, so its result is 0xffff exactly when the sum is a non-zero multiple of 0xffff (tested so here:
/// `fold`'s loop runs a data-dependent number of times, a branch mispredicted on every other packet).
pub(crate) fn ipv4_header_ok(hdr: &[u8]) -> bool {
    let (Some((fixed, options)), 0) = (hdr.split_first_chunk::<20>(), hdr.len() % 4) else {
        // Not a header length; not reached from the decoder.
        return ones_sum(0, hdr) == 0xffff;
    };
    let word = |w: &[u8]| w.first_chunk::<4>().map_or(0, |w| u64::from(u32::from_be_bytes(*w)));
    let s = fixed
        .chunks_exact(4)
        .chain(options.chunks_exact(4))
        .map(word)
        .sum::<u64>();
    s != 0 && s % 0xffff == 0
}

/// 64-bit ones-complement addition (the carry out goes back in at the bottom).
fn add_carry(a: u64, b: u64) -> u64 {
    let (s, c) = a.overflowing_add(b);
    s + u64::from(c)
}

/// The first 8 bytes of `b` as a native-endian word (callers pass 8 bytes; the check compiles away).
fn ne64(b: &[u8]) -> u64 {
    b.first_chunk::<8>().map_or(0, |w| u64::from_ne_bytes(*w))
}

/// Folds a sum of 16-bit words into 16 bits with end-around carries; 0 only for 0.
fn fold(mut s: u64) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// An address's 16-bit words summed (not folded: the caller's [`ones_sum`] folds), IPv4 as the mapped
/// IPv6 address `::ffff:a.b.c.d` when `v6`.
fn addr_sum(a: IpAddr, v6: bool) -> u32 {
    match (a, v6) {
        (IpAddr::V4(a), v6) => {
            let x = u32::from(a);
            (x >> 16) + (x & 0xffff) + if v6 { 0xffff } else { 0 }
        }
        (IpAddr::V6(a), _) => a.segments().iter().map(|&w| u32::from(w)).sum(),
    }
}

/// Sum of the pseudo-header Zeek builds (`ip4_in_cksum` / `ip6_in_cksum`), folded into a u32.
fn pseudo_sum(ip: &IpPacket<'_>, next: u8, len: usize, v6: bool) -> u32 {
    let mut s = addr_sum(ip.src, v6) + addr_sum(ip.dst, v6) + u32::from(next);
    if v6 {
        let l = len as u32;
        s += (l >> 16) + (l & 0xffff);
    } else {
        s += (len & 0xffff) as u32;
    }
    s
}

/// Whether Zeek verifies transport checksums for this packet: not with `-C`, not when the IP header's
/// source is in `ignore_checksums_nets`.
pub fn should_verify(cfg: &DecodeConfig, ip: &IpPacket<'_>) -> bool {
    !cfg.skips_checksums(&ip.hdr_src)
}

/// Verifies the transport checksum of a decoded (non-fragment or reassembled) packet as Zeek does. True
/// when it is good, or when Zeek would not check it: segment not fully captured, UDP over IPv4 with
/// checksum 0, VXLAN with checksum 0, protocols without a transport checksum. Call only when
/// [`should_verify`] says so.
pub fn transport_ok(ip: &IpPacket<'_>) -> bool {
    // Zeek's `len`: the IP payload length, or what was captured if the length field was 0.
    let hdr = usize::from(ip.hdr_len);
    let ip_len = if (ip.total_len as usize) > hdr {
        ip.total_len as usize - hdr
    } else {
        ip.payload.len()
    };
    let Some(seg) = ip.payload.get(..ip_len) else {
        // Not all captured: Zeek does not verify.
        return true;
    };
    let v4 = ip.version == 4;
    match ip.proto {
        proto::TCP => ones_sum(pseudo_sum(ip, proto::TCP, seg.len(), !v4), seg) == 0xffff,
        proto::UDP => {
            let chk = be16(seg, 6).unwrap_or(0);
            // VXLAN (flags byte with the I bit) on its port with checksum 0: accepted.
            if seg.len() > 8 + 8 + 14
                && seg.get(8).is_some_and(|f| f & 0x08 == 0x08)
                && be16(seg, 2) == Some(VXLAN_PORT)
                && chk == 0
            {
                return true;
            }
            if v4 && chk == 0 {
                return true;
            }
            ones_sum(pseudo_sum(ip, proto::UDP, seg.len(), !v4), seg) == 0xffff
        }
        // ICMP (v4) has no pseudo-header, even over IPv6.
        proto::ICMP => ones_sum(0, seg) == 0xffff,
        proto::ICMPV6 => ones_sum(pseudo_sum(ip, proto::ICMPV6, seg.len(), true), seg) == 0xffff,
        _ => true,
    }
}

/// Zeek's `mobility_header_checksum`: `mh` starts at the Mobility header. Zeek keeps the header length in
/// 8 bits and sums only whole 16-bit words; both are reproduced.
pub(crate) fn mobility_ok(ip: &IpPacket<'_>, mh: &[u8]) -> bool {
    let units = mh.get(1).copied().unwrap_or(0);
    let mh_len = 8u8.wrapping_add(8u8.wrapping_mul(units));
    let body = mh.get(..usize::from(mh_len & !1)).unwrap_or(mh);
    let s = addr_sum(ip.src, true) + addr_sum(ip.dst, true) + u32::from(proto::MOBILITY) + u32::from(mh_len);
    ones_sum(s, body) == 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{decode_frame, Decoded, LinkType};

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3 example bytes: 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2.
        assert_eq!(ones_sum(0, &[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), 0xddf2);
        // An odd trailing byte is the high byte of a zero-padded word.
        assert_eq!(ones_sum(0, &[0x12]), 0x1200);
    }

    /// The word-by-word sum `ones_sum` must equal (the definition, RFC 1071).
    fn reference(sum: u32, data: &[u8]) -> u16 {
        let mut s = u64::from(sum);
        for (i, b) in data.iter().enumerate() {
            s += u64::from(*b) << if i % 2 == 0 { 8 } else { 0 };
        }
        fold(s)
    }

    #[test]
    fn wide_sum_matches_word_sum() {
        // Every length 0..=70 (all remainders), all-0xff bytes (carries everywhere), zeros and a pattern,
        // with and without a starting sum.
        for len in 0..=70usize {
            let ff = vec![0xffu8; len];
            let zero = vec![0u8; len];
            let pat: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            for data in [&ff, &zero, &pat] {
                for sum in [0u32, 1, 0xffff, 0x1_fffe] {
                    assert_eq!(ones_sum(sum, data), reference(sum, data), "len {len} sum {sum:#x}");
                }
            }
        }
    }

    #[test]
    fn wide_sum_across_blocks() {
        // More than one 1 MiB block, odd length, all carries.
        let data = vec![0xffu8; (1 << 20) + 13];
        assert_eq!(ones_sum(7, &data), reference(7, &data));
        let pat: Vec<u8> = (0..(1usize << 21) + 5).map(|i| (i * 131 + 7) as u8).collect();
        assert_eq!(ones_sum(0, &pat), reference(0, &pat));
    }

    #[test]
    fn ipv4_header_sum_matches_ones_sum() {
        // Headers of every IHL, and lengths that are not a multiple of 4, with patterns and all-0xff bytes.
        for len in 0..=64usize {
            let ff = vec![0xffu8; len];
            let pat: Vec<u8> = (0..len).map(|i| (i * 53 + 3) as u8).collect();
            for data in [&ff, &pat] {
                assert_eq!(ipv4_header_ok(data), ones_sum(0, data) == 0xffff, "len {len}");
                // The same bytes with a checksum that makes them valid.
                if len >= 12 && len % 4 == 0 {
                    let mut h = data.clone();
                    h[10..12].fill(0);
                    let c = !ones_sum(0, &h);
                    h[10..12].copy_from_slice(&c.to_be_bytes());
                    assert!(ipv4_header_ok(&h) && ones_sum(0, &h) == 0xffff, "len {len}");
                }
            }
        }
    }

    #[test]
    fn udp_v4_zero_and_bad() {
        // IPv4 10.0.0.1 -> 10.0.0.2 UDP, UDP 1234 -> 53 length 8 checksum 0 (not computed: fine).
        let mut p = vec![
            0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0x66, 0xce, 10, 0, 0, 1, 10, 0, 0, 2, // IPv4
            0x04, 0xd2, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00, // UDP
        ];
        let check = |p: &[u8]| {
            let mut out = Decoded::default();
            let mut w = Vec::new();
            decode_frame(&DecodeConfig::default(), LinkType::RAW, p, &mut out, &mut w).unwrap();
            transport_ok(&out.ip.unwrap())
        };
        assert!(check(&p));
        p[27] = 1;
        assert!(!check(&p));
    }
}
