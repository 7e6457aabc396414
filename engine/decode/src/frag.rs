//! IP fragment reassembly after Zeek's `Frag.cc` (and the block handling of `Reassem.cc`), bounded.
//!
//! One [`Reassembler`] runs in the engine's dispatcher. Each fragment [`decode_frame`](crate::decode_frame)
//! reports (`IpPacket::frag` set) goes to [`Reassembler::add`]; when a datagram is complete it comes back
//! as an owned buffer starting with the IP header, for [`decode_ip`](crate::decode_ip).
//!
//! Zeek's behaviour kept: datagrams keyed by (src, dst, id) with Zeek's `SrcAddr()`/`DstAddr()`; the
//! unfragmentable header of the first fragment to arrive is the reassembled header; data already held wins
//! over overlapping new data (`fragment_overlap` when equal, `fragment_inconsistency` when not); the
//! fragment weirds (`fragment_protocol_inconsistency`, `fragment_with_DF`, `excessively_small_fragment`,
//! `excessively_large_fragment`, `fragment_size_inconsistency`) with Zeek's conditions and scopes (flow
//! between the addresses, no source); expiry `frag_timeout` after the first fragment, in network time.
//!
//! Added bounds (Zeek has none): bytes held per datagram, datagrams in flight, and bytes held in total.
//! A datagram over its bound is dropped; when a new datagram would exceed the others, the oldest are
//! evicted. Drops and evictions are counted in [`Stats`].

use crate::ip::proto;
use crate::{push_weird, Addl, DecodeWeird, IpPacket, WeirdScope};
use core::net::IpAddr;
use std::collections::HashMap;
use weir_api::Weird;

/// Zeek's `MIN_ACCEPTABLE_FRAG_SIZE`: a non-final fragment smaller than this is noted.
pub const MIN_ACCEPTABLE_FRAG_SIZE: u64 = 64;
/// Zeek's `MAX_ACCEPTABLE_FRAG_SIZE`: a fragment reaching past this offset is noted.
pub const MAX_ACCEPTABLE_FRAG_SIZE: u64 = 64000;
/// Zeek's `frag_timeout` default (`init-bare.zeek`: 5 min).
pub const DEFAULT_TIMEOUT: f64 = 300.0;
/// Largest payload an IP datagram can have after reassembly: offset 8191*8 plus a 65535-byte fragment.
pub const DEFAULT_MAX_DATAGRAM_BYTES: usize = 131_072;
/// Default cap on datagrams being reassembled at once.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 65_536;
/// Default cap on fragment bytes held at once (64 MiB).
pub const DEFAULT_MAX_TOTAL_BYTES: usize = 64 << 20;

/// Reassembly limits.
#[derive(Clone, Debug)]
pub struct Config {
    /// Seconds after a datagram's first fragment when it is dropped (Zeek's `frag_timeout`; 0 = never).
    pub timeout: f64,
    /// Payload bytes one datagram may hold; a fragment reaching past this drops the datagram.
    pub max_datagram_bytes: usize,
    /// Datagrams held at once; the oldest is evicted to make room.
    pub max_in_flight: usize,
    /// Bytes held at once over all datagrams; the oldest are evicted to make room.
    pub max_total_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            timeout: DEFAULT_TIMEOUT,
            max_datagram_bytes: DEFAULT_MAX_DATAGRAM_BYTES,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_total_bytes: DEFAULT_MAX_TOTAL_BYTES,
        }
    }
}

/// Counters, for stats logs and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams being reassembled now.
    pub in_flight: usize,
    /// Fragment bytes held now.
    pub bytes: usize,
    /// Datagrams completed and returned.
    pub completed: u64,
    /// Datagrams dropped by `frag_timeout`.
    pub expired: u64,
    /// Datagrams evicted to respect `max_in_flight` / `max_total_bytes`.
    pub evicted: u64,
    /// Datagrams dropped for exceeding `max_datagram_bytes`.
    pub oversized: u64,
}

type Key = (IpAddr, IpAddr, u32);

struct Datagram {
    /// Unfragmentable header of the first fragment to arrive (IPv6: without the Fragment header).
    hdr: Vec<u8>,
    /// IPv4: header length and protocol of that fragment, for consistency checks.
    v4_proto_hl: Option<(u8, u8)>,
    /// Offset in `hdr` of the next-header byte to set to `next_proto` (IPv6).
    next_hdr_off: usize,
    next_proto: u8,
    /// Payload length, from the last fragment (0: not known yet).
    frag_size: u64,
    /// Non-overlapping blocks (payload offset, bytes), sorted by offset.
    blocks: Vec<(u64, Vec<u8>)>,
    held: usize,
    start: f64,
    /// Insertion order, for eviction of the oldest.
    serial: u64,
    /// Addresses of the first fragment's header, for weirds about the datagram.
    scope: WeirdScope,
}

/// Bounded IP fragment reassembler.
pub struct Reassembler {
    cfg: Config,
    map: HashMap<Key, Datagram>,
    stats: Stats,
    serial: u64,
}

impl Default for Reassembler {
    fn default() -> Self {
        Reassembler::new(Config::default())
    }
}

fn weird(weirds: &mut Vec<DecodeWeird>, w: Weird, scope: WeirdScope) {
    push_weird(weirds, w, scope, "", Addl::None);
}

impl Reassembler {
    pub fn new(cfg: Config) -> Self {
        Reassembler {
            cfg,
            map: HashMap::new(),
            stats: Stats::default(),
            serial: 0,
        }
    }

    pub fn stats(&self) -> Stats {
        Stats {
            in_flight: self.map.len(),
            ..self.stats
        }
    }

    /// Drops datagrams whose timeout has passed at network time `now` (Zeek's fragment timers).
    pub fn expire(&mut self, now: f64) {
        if self.cfg.timeout <= 0.0 {
            return;
        }
        let t = self.cfg.timeout;
        let before = self.map.len();
        let mut freed = 0;
        self.map.retain(|_, d| {
            let keep = d.start + t > now;
            if !keep {
                freed += d.held;
            }
            keep
        });
        self.stats.expired += (before - self.map.len()) as u64;
        self.stats.bytes -= freed;
    }

    fn remove(&mut self, key: &Key) -> Option<Datagram> {
        let d = self.map.remove(key)?;
        self.stats.bytes -= d.held;
        Some(d)
    }

    fn evict_oldest(&mut self, keep: &Key) -> bool {
        let oldest = self
            .map
            .iter()
            .filter(|(k, _)| *k != keep)
            .min_by_key(|(_, d)| d.serial)
            .map(|(k, _)| *k);
        match oldest {
            Some(k) => {
                self.remove(&k);
                self.stats.evicted += 1;
                true
            }
            None => false,
        }
    }

    /// Respects the total bound by evicting other datagrams (oldest first), then `key`'s if it alone is
    /// too big. False when `key` was evicted.
    fn enforce_total(&mut self, key: &Key) -> bool {
        while self.stats.bytes > self.cfg.max_total_bytes {
            if !self.evict_oldest(key) {
                self.remove(key);
                self.stats.evicted += 1;
                return false;
            }
        }
        true
    }

    /// Adds one fragment seen at network time `now`. `ip` must be a fully captured fragment as
    /// [`decode_frame`](crate::decode_frame) reports it (`ip.frag` set); anything else returns None.
    /// Returns the reassembled datagram, from its IP header, once complete; its IPv4 header has the
    /// fragment fields cleared and a fresh checksum, its IPv6 header chain no Fragment header.
    pub fn add(&mut self, now: f64, ip: &IpPacket<'_>, weirds: &mut Vec<DecodeWeird>) -> Option<Vec<u8>> {
        let f = ip.frag?;
        self.expire(now);
        let key: Key = (ip.src, ip.dst, f.id);
        let flow = WeirdScope::Flow(ip.src, ip.dst);
        let v4 = ip.version == 4;
        let unfrag = usize::from(f.unfrag_len);
        if !self.map.contains_key(&key) {
            let hdr = ip.raw.get(..unfrag)?.to_vec();
            if self.map.len() >= self.cfg.max_in_flight.max(1) {
                self.evict_oldest(&key);
            }
            self.serial += 1;
            let d = Datagram {
                v4_proto_hl: if v4 {
                    Some((f.next_proto, (unfrag / 4) as u8))
                } else {
                    None
                },
                next_hdr_off: usize::from(f.next_hdr_off),
                next_proto: f.next_proto,
                frag_size: 0,
                blocks: Vec::new(),
                held: hdr.len(),
                hdr,
                start: now,
                serial: self.serial,
                scope: flow,
            };
            self.stats.bytes += d.held;
            self.map.insert(key, d);
            if !self.enforce_total(&key) {
                return None;
            }
        } else if let Some(d) = self.map.get(&key) {
            // Zeek: the protocol and header length must match the first fragment's.
            let consistent = match d.v4_proto_hl {
                Some((p, hl)) => v4 && p == f.next_proto && usize::from(hl) * 4 == unfrag,
                None => !v4 && f.next_proto == d.next_proto && unfrag == d.hdr.len(),
            };
            if !consistent {
                weird(weirds, Weird::fragment_protocol_inconsistency, flow);
            }
        }
        if ip.df {
            // Linux MTU discovery for UDP can do this.
            weird(weirds, Weird::fragment_with_DF, flow);
        }
        let hdr_len = usize::from(ip.hdr_len);
        let total = ip.total_len as usize;
        if total < hdr_len {
            weird(weirds, Weird::fragment_protocol_inconsistency, flow);
            return None;
        }
        let data = ip.raw.get(hdr_len..total)?;
        let offset = u64::from(f.offset);
        let upper = offset + data.len() as u64;

        let d = self.map.get_mut(&key)?;
        if offset == 0 {
            // The first fragment's Fragment header names the real next protocol.
            d.next_proto = f.next_proto;
        }
        if !f.more {
            if d.frag_size == 0 {
                d.frag_size = upper;
            } else if upper != d.frag_size {
                weird(weirds, Weird::fragment_size_inconsistency, flow);
                d.frag_size = d.frag_size.max(upper);
            }
        } else if (total as u64) < MIN_ACCEPTABLE_FRAG_SIZE {
            weird(weirds, Weird::excessively_small_fragment, flow);
        }
        if upper > MAX_ACCEPTABLE_FRAG_SIZE {
            weird(weirds, Weird::excessively_large_fragment, flow);
        }
        if d.frag_size != 0 && upper > d.frag_size {
            weird(weirds, Weird::fragment_size_inconsistency, flow);
            d.frag_size = upper;
        }
        if upper as usize > self.cfg.max_datagram_bytes {
            self.remove(&key);
            self.stats.oversized += 1;
            return None;
        }
        let added = insert_block(d, offset, data, weirds);
        self.stats.bytes += added;
        if !self.enforce_total(&key) {
            return None;
        }
        let d = self.map.get_mut(&key)?;
        if !complete(d, weirds) {
            return None;
        }
        let d = self.remove(&key)?;
        self.stats.completed += 1;
        Some(build(&d))
    }
}

/// Inserts `data` at `seq`, keeping held data where it overlaps (Zeek's `DataBlockList::Insert`), after
/// noting each overlap (Zeek's `CheckOverlap`). Returns the bytes added.
fn insert_block(d: &mut Datagram, seq: u64, data: &[u8], weirds: &mut Vec<DecodeWeird>) -> usize {
    let upper = seq + data.len() as u64;
    if data.is_empty() {
        return 0;
    }
    for (bseq, b) in &d.blocks {
        let bupper = bseq + b.len() as u64;
        if upper <= *bseq || seq >= bupper {
            continue;
        }
        let s = seq.max(*bseq);
        let e = upper.min(bupper);
        let old = b.get((s - bseq) as usize..(e - bseq) as usize);
        let new = data.get((s - seq) as usize..(e - seq) as usize);
        let w = if old == new {
            Weird::fragment_overlap
        } else {
            Weird::fragment_inconsistency
        };
        weird(weirds, w, d.scope);
    }
    // Fill the gaps of [seq, upper) between held blocks.
    let mut pieces: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut cur = seq;
    for (bseq, b) in &d.blocks {
        let bupper = bseq + b.len() as u64;
        if bupper <= cur {
            continue;
        }
        if *bseq >= upper {
            break;
        }
        if *bseq > cur {
            if let Some(p) = data.get((cur - seq) as usize..(*bseq - seq) as usize) {
                pieces.push((cur, p.to_vec()));
            }
        }
        cur = cur.max(bupper);
        if cur >= upper {
            break;
        }
    }
    if cur < upper {
        if let Some(p) = data.get((cur - seq) as usize..) {
            pieces.push((cur, p.to_vec()));
        }
    }
    let added: usize = pieces.iter().map(|(_, p)| p.len()).sum();
    d.blocks.extend(pieces);
    d.blocks.sort_by_key(|(s, _)| *s);
    d.held += added;
    added
}

/// Zeek's `BlockInserted`: whether the datagram is complete (possibly after settling for a contiguous
/// prefix, with `fragment_size_inconsistency`).
fn complete(d: &mut Datagram, weirds: &mut Vec<DecodeWeird>) -> bool {
    let Some((first, _)) = d.blocks.first() else {
        return false;
    };
    if *first > 0 || d.frag_size == 0 {
        return false;
    }
    let mut reach = 0u64;
    let mut hole = false;
    for (s, b) in &d.blocks {
        if *s != reach && reach != 0 {
            hole = true;
            break;
        }
        reach = s + b.len() as u64;
    }
    let last_upper = d.blocks.last().map(|(s, b)| s + b.len() as u64).unwrap_or(0);
    if hole {
        if reach >= d.frag_size {
            // Contiguous through the expected end but more data beyond: analyse the contiguous part.
            weird(weirds, Weird::fragment_size_inconsistency, d.scope);
            d.frag_size = reach;
        } else {
            return false;
        }
    } else if last_upper > d.frag_size {
        weird(weirds, Weird::fragment_size_inconsistency, d.scope);
        d.frag_size = last_upper;
    } else if last_upper < d.frag_size {
        return false;
    }
    true
}

/// Builds the datagram: the stored header, then the contiguous blocks up to `frag_size`.
fn build(d: &Datagram) -> Vec<u8> {
    let size = d.frag_size as usize;
    let mut out = Vec::with_capacity(d.hdr.len() + size);
    out.extend_from_slice(&d.hdr);
    for (s, b) in &d.blocks {
        let s = *s as usize;
        if s != out.len() - d.hdr.len() || s >= size {
            break;
        }
        let take = b.len().min(size - s);
        out.extend_from_slice(b.get(..take).unwrap_or(b));
    }
    let total = out.len();
    if d.v4_proto_hl.is_some() {
        // Zeek writes the length into the 16-bit field as is: an oversized datagram wraps (and then fails
        // `invalid_IP_header_size`, as in core.ipv6-reassembly-state-leak).
        let tl = (total as u16).to_be_bytes();
        if let Some(x) = out.get_mut(2..4) {
            x.copy_from_slice(&tl);
        }
        // Keep DF; clear MF and the offset: this is no longer a fragment.
        if let Some(x) = out.get_mut(6) {
            *x &= 0x40;
        }
        if let Some(x) = out.get_mut(7) {
            *x = 0;
        }
        if let Some(x) = out.get_mut(10..12) {
            x.copy_from_slice(&[0, 0]);
        }
        let hl = d.hdr.len();
        let sum = !crate::checksum::ones_sum(0, out.get(..hl).unwrap_or(&[]));
        if let Some(x) = out.get_mut(10..12) {
            x.copy_from_slice(&sum.to_be_bytes());
        }
    } else {
        let plen = (total.saturating_sub(crate::ip::IPV6_HDR) as u16).to_be_bytes();
        if let Some(x) = out.get_mut(4..6) {
            x.copy_from_slice(&plen);
        }
        if let Some(x) = out.get_mut(d.next_hdr_off) {
            if *x == proto::FRAGMENT {
                *x = d.next_proto;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{decode_frame, decode_ip, DecodeConfig, Decoded, LinkType, Transport};

    /// IPv4 fragment 10.0.0.1 -> 10.0.0.2, id 7, proto UDP, `off` in bytes, `mf`, with payload `pl`.
    fn frag4(off: u16, mf: bool, pl: &[u8]) -> Vec<u8> {
        let total = (20 + pl.len()) as u16;
        let fo = (off / 8) | if mf { 0x2000 } else { 0 };
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[0, 7]);
        p.extend_from_slice(&fo.to_be_bytes());
        p.extend_from_slice(&[64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        let s = !crate::checksum::ones_sum(0, &p);
        p[10..12].copy_from_slice(&s.to_be_bytes());
        p.extend_from_slice(pl);
        p
    }

    fn feed(r: &mut Reassembler, t: f64, p: &[u8], w: &mut Vec<DecodeWeird>) -> Option<Vec<u8>> {
        let mut out = Decoded::default();
        decode_frame(&DecodeConfig::default(), LinkType::RAW, p, &mut out, w).ok()?;
        r.add(t, &out.ip?, w)
    }

    /// A UDP datagram 1000 -> 2000 with 64 bytes of 0xab, split at 40.
    fn udp_payload() -> Vec<u8> {
        let mut u = vec![0x03, 0xe8, 0x07, 0xd0, 0, 72, 0, 0];
        u.extend_from_slice(&[0xab; 64]);
        u
    }

    #[test]
    fn v4_in_order_and_reversed() {
        let u = udp_payload();
        for order in [[0usize, 1], [1, 0]] {
            let mut r = Reassembler::default();
            let mut w = Vec::new();
            let parts = [frag4(0, true, &u[..40]), frag4(40, false, &u[40..])];
            assert!(feed(&mut r, 1.0, &parts[order[0]], &mut w).is_none());
            let d = feed(&mut r, 1.1, &parts[order[1]], &mut w).expect("complete");
            // excessively_small_fragment: the first part is 60 bytes < 64.
            assert!(w.iter().all(|x| x.weird == Weird::excessively_small_fragment), "{w:?}");
            let mut out = Decoded::default();
            let mut w2 = Vec::new();
            decode_ip(&DecodeConfig::default(), &d, &mut out, &mut w2).unwrap();
            assert!(matches!(out.transport, Some(Transport::Udp(x)) if x.dst_port == 2000 && x.payload.len() == 64));
            assert_eq!(r.stats().in_flight, 0);
            assert_eq!(r.stats().completed, 1);
        }
    }

    #[test]
    fn overlap_and_inconsistency() {
        let u = udp_payload();
        let mut r = Reassembler::default();
        let mut w = Vec::new();
        feed(&mut r, 1.0, &frag4(0, true, &u[..48]), &mut w);
        let mut changed = u[40..].to_vec();
        changed[0] ^= 1; // overlaps 40..48 with different bytes
        let d = feed(&mut r, 1.0, &frag4(40, false, &changed), &mut w).unwrap();
        assert!(w.iter().any(|x| x.weird == Weird::fragment_inconsistency));
        // Held data wins.
        assert_eq!(d[20 + 40], u[40]);
    }

    #[test]
    fn timeout_and_bounds() {
        let u = udp_payload();
        let mut r = Reassembler::default();
        let mut w = Vec::new();
        feed(&mut r, 1.0, &frag4(0, true, &u[..40]), &mut w);
        assert_eq!(r.stats().in_flight, 1);
        assert!(feed(&mut r, 302.0, &frag4(40, false, &u[40..]), &mut w).is_none());
        assert_eq!(r.stats().expired, 1);
        let mut r = Reassembler::new(Config {
            max_in_flight: 1,
            ..Config::default()
        });
        feed(&mut r, 1.0, &frag4(0, true, &u[..40]), &mut w);
        let mut other = frag4(0, true, &u[..40]);
        other[5] = 8; // id 8
        other[10] = 0;
        other[11] = 0;
        let s = !crate::checksum::ones_sum(0, &other[..20]);
        other[10..12].copy_from_slice(&s.to_be_bytes());
        feed(&mut r, 1.0, &other, &mut w);
        assert_eq!((r.stats().in_flight, r.stats().evicted), (1, 1));
    }

    #[test]
    fn v6_reassembly_restores_next_header() {
        // IPv6 2001:db8::1 -> 2001:db8::2, Fragment header (next UDP), two fragments of the UDP datagram.
        let u = udp_payload();
        let mk = |off: u16, mf: bool, pl: &[u8]| {
            let mut p = vec![0x60, 0, 0, 0];
            p.extend_from_slice(&((8 + pl.len()) as u16).to_be_bytes());
            p.extend_from_slice(&[44, 64]);
            p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
            p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
            p.extend_from_slice(&[17, 0]);
            p.extend_from_slice(&(off | u16::from(mf)).to_be_bytes());
            p.extend_from_slice(&[0, 0, 0, 9]);
            p.extend_from_slice(pl);
            p
        };
        let mut r = Reassembler::default();
        let mut w = Vec::new();
        assert!(feed(&mut r, 0.0, &mk(0, true, &u[..40]), &mut w).is_none());
        let d = feed(&mut r, 0.0, &mk(40, false, &u[40..]), &mut w).unwrap();
        assert_eq!(d.len(), 40 + 72);
        assert_eq!(d[6], 17);
        let mut out = Decoded::default();
        decode_ip(&DecodeConfig::default(), &d, &mut out, &mut w).unwrap();
        assert!(matches!(out.transport, Some(Transport::Udp(x)) if x.src_port == 1000));
    }
}
