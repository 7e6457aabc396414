//! The fuzz targets' bodies, shared by `fuzz/fuzz_targets/*.rs` and `tests/fuzz_corpus.rs` (which replays
//! the seed corpus and any saved artifacts in `cargo test`). Not part of the stable API.

use crate::frag::{Config, Reassembler};
use crate::{checksum, decode_frame_wire, decode_ip, DecodeConfig, Decoded, LinkType};

/// Link types the `decode_frame` target selects with its first byte (index modulo the length).
pub const LINK_TYPES: [u32; 16] = [1, 0, 9, 50, 101, 12, 14, 108, 113, 228, 229, 276, 239, 10, 105, 127];

/// Selector byte for a link type (for building seeds); 1 (Ethernet) when unknown.
pub fn selector(link: u32) -> u8 {
    LINK_TYPES.iter().position(|&l| l == link).unwrap_or(0) as u8
}

/// `decode_frame` target: byte 0 picks the link type, byte 1 bit 0 turns on `ignore_checksums`, the
/// rest is the frame. Every successful decode is checksummed, and its IP packet re-decoded by `decode_ip`.
pub fn decode_frame_target(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Some((&flags, frame)) = rest.split_first() else {
        return;
    };
    let link = LinkType(LINK_TYPES[usize::from(sel) % LINK_TYPES.len()]);
    let cfg = DecodeConfig {
        ignore_checksums: flags & 1 != 0,
        ..DecodeConfig::default()
    };
    let mut out = Decoded::default();
    let mut weirds = Vec::new();
    // Wire length: as captured, or longer (snaplen cut) when flag bit 1 is set.
    let wire = if flags & 2 != 0 { frame.len() + 100 } else { frame.len() };
    if decode_frame_wire(&cfg, link, frame, wire, &mut out, &mut weirds).is_ok() {
        if let Some(ip) = out.ip {
            if checksum::should_verify(&cfg, &ip) {
                let _ = checksum::transport_ok(&ip);
            }
            let mut out2 = Decoded::default();
            let _ = decode_ip(&cfg, ip.raw, &mut out2, &mut weirds);
        }
    }
    for w in &weirds {
        let _ = w.detail.to_string();
    }
}

/// `frag` target: a sequence of records `[time: u8][len: u16 BE][raw IP packet: len bytes]`, each decoded
/// as raw IP and fed to one small-bounded reassembler; completed datagrams go through `decode_ip`.
pub fn frag_target(data: &[u8]) {
    let cfg = DecodeConfig {
        ignore_checksums: true,
        ..DecodeConfig::default()
    };
    let mut r = Reassembler::new(Config {
        timeout: 30.0,
        max_datagram_bytes: 70_000,
        max_in_flight: 4,
        max_total_bytes: 100_000,
    });
    let mut weirds = Vec::new();
    let mut rest = data;
    let mut now = 0.0;
    while let [t, hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (pkt, next) = tail.split_at(len);
        rest = next;
        now += f64::from(*t);
        weirds.clear();
        let mut out = Decoded::default();
        if decode_frame_wire(&cfg, LinkType::RAW, pkt, pkt.len(), &mut out, &mut weirds).is_err() {
            continue;
        }
        let Some(ip) = out.ip else { continue };
        if let Some(d) = r.add(now, &ip, &mut weirds) {
            let mut out2 = Decoded::default();
            let _ = decode_ip(&cfg, &d, &mut out2, &mut weirds);
        }
        let s = r.stats();
        assert!(s.in_flight <= 4 && s.bytes <= 100_000, "bounds broken: {s:?}");
    }
}
