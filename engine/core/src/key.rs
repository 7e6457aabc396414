//! Connection keys and the symmetric flow hash.
//!
//! A [`ConnKey`] is direction-free, as Zeek's `IPBasedConnKey`: the (address, port) pairs are stored in
//! canonical order, so both directions of a connection find the same entry. One-way ICMP messages keep
//! their direction (Zeek's `is_one_way`): each direction is its own connection.

use core::hash::{BuildHasher, Hasher};
use core::net::IpAddr;

/// Addresses as 16 bytes, IPv4 mapped (`::ffff:a.b.c.d`), as Zeek stores them.
pub type Addr16 = [u8; 16];

pub fn addr16(a: IpAddr) -> Addr16 {
    addr128(a).to_be_bytes()
}

/// An address as Zeek stores it (IPv4 mapped to `::ffff:a.b.c.d`), as a big-endian number: numbers
/// compare as the 16 bytes do, and are built and compared without going byte by byte.
#[inline]
pub fn addr128(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v4) => (0xffff_u128 << 32) | u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// A connection's key. The addresses are [`addr128`] values: `a1`'s 16 bytes are `a1.to_be_bytes()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnKey {
    pub a1: u128,
    pub a2: u128,
    pub p1: u16,
    pub p2: u16,
    pub proto: u8,
}

impl core::hash::Hash for ConnKey {
    /// Five words for the flow table's hasher, instead of the derived byte-slice hashing.
    #[inline]
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.a1 as u64);
        h.write_u64((self.a1 >> 64) as u64);
        h.write_u64(self.a2 as u64);
        h.write_u64((self.a2 >> 64) as u64);
        h.write_u64((u64::from(self.p1) << 24) | (u64::from(self.p2) << 8) | u64::from(self.proto));
    }
}

impl ConnKey {
    /// The key for a packet from `(src, sport)` to `(dst, dport)`.
    #[inline]
    pub fn new(src: IpAddr, sport: u16, dst: IpAddr, dport: u16, proto: u8, one_way: bool) -> ConnKey {
        let (s, d) = (addr128(src), addr128(dst));
        // Zeek's addr_port_canon_lt: compare addresses (IPv6 byte order, v4-mapped), then ports.
        if one_way || (s, sport) < (d, dport) {
            ConnKey {
                a1: s,
                a2: d,
                p1: sport,
                p2: dport,
                proto,
            }
        } else {
            ConnKey {
                a1: d,
                a2: s,
                p1: dport,
                p2: sport,
                proto,
            }
        }
    }

    /// A direction-free 64-bit hash, for choosing a worker. Both directions hash alike.
    pub fn flow_hash(&self) -> u64 {
        let mut h = FxHasher::default();
        h.write(&self.a1.to_be_bytes());
        h.write(&self.a2.to_be_bytes());
        h.write_u32(((self.p1 as u32) << 16) | self.p2 as u32);
        h.write_u8(self.proto);
        mix(h.finish())
    }
}

/// A hash of an address pair alone, direction-free: for packets without ports (unknown transports,
/// damaged transport headers) and for weirds between two hosts.
pub fn pair_hash(a: IpAddr, b: IpAddr) -> u64 {
    let (a, b) = (addr16(a), addr16(b));
    let (x, y) = if a <= b { (a, b) } else { (b, a) };
    let mut h = FxHasher::default();
    h.write(&x);
    h.write(&y);
    mix(h.finish())
}

/// A direction-free hash of a connection's endpoints, for choosing its worker: cheaper than building a
/// [`ConnKey`] (no address mapping, no byte hashing), and the same for both directions.
#[inline]
pub fn lane_hash(src: IpAddr, sport: u16, dst: IpAddr, dport: u16, proto: u8) -> u64 {
    #[inline]
    fn fold(a: IpAddr) -> u64 {
        match a {
            IpAddr::V4(v) => u32::from(v) as u64,
            IpAddr::V6(v) => {
                let x = u128::from(v);
                (x as u64) ^ ((x >> 64) as u64).rotate_left(29)
            }
        }
    }
    let a = (fold(src), sport);
    let b = (fold(dst), dport);
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let x = lo.0.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ ((lo.1 as u64) << 48 | (hi.1 as u64) << 32 | proto as u64);
    mix(x ^ hi.0.rotate_left(23).wrapping_mul(0xc2b2_ae3d_27d4_eb4f))
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    z = (z ^ (z >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    z ^ (z >> 33)
}

/// The Fx hash (rustc's): fast, good enough for keys of fixed-size integers, and not keyed. Flow keys are
/// attacker-chosen, so the table that uses it is bounded in size (see `FlowTable`), and the dispatcher's
/// choice of worker is run through [`mix`].
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.hash = (self.hash.rotate_left(5) ^ w).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64)
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(i as u64)
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64)
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i)
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64)
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

#[derive(Default, Clone, Copy)]
pub struct FxBuild;

impl BuildHasher for FxBuild {
    type Hasher = FxHasher;
    fn build_hasher(&self) -> FxHasher {
        FxHasher::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_share_a_key() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let k1 = ConnKey::new(a, 1234, b, 80, 6, false);
        let k2 = ConnKey::new(b, 80, a, 1234, 6, false);
        assert_eq!(k1, k2);
        assert_eq!(k1.flow_hash(), k2.flow_hash());
        assert_eq!(pair_hash(a, b), pair_hash(b, a));
        assert_eq!(lane_hash(a, 1234, b, 80, 6), lane_hash(b, 80, a, 1234, 6));
        assert_ne!(lane_hash(a, 1234, b, 80, 6), lane_hash(a, 1235, b, 80, 6));
    }

    #[test]
    fn one_way_keys_keep_direction() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert_ne!(ConnKey::new(a, 3, b, 1, 1, true), ConnKey::new(b, 3, a, 1, 1, true));
    }
}
