//! The fuzz targets' bodies, shared by `fuzz/fuzz_targets/*.rs` and `tests/fuzz_corpus.rs` (which replays
//! the seed corpus and any saved artifacts in `cargo test`). Not part of the stable API.

use crate::frag::{Config, Reassembler};
use crate::{checksum, decode_frame_wire, decode_ip, DecodeConfig, Decoded, LinkType};

/// Link types the `decode_frame` target selects with its first byte (index modulo the length).
pub const LINK_TYPES: [u32; 17] = [
    1, 0, 9, 50, 101, 12, 14, 108, 113, 228, 229, 276, 239, 10, 105, 127, AMSDU,
];

/// weir's A-MSDU subframe list, last so that the selectors of the older seeds keep their link type.
const AMSDU: u32 = LinkType::AMSDU_SUBFRAMES.0;

/// Selector byte for a link type (for building seeds); 1 (Ethernet) when unknown.
pub fn selector(link: u32) -> u8 {
    LINK_TYPES.iter().position(|&l| l == link).unwrap_or(0) as u8
}

/// `decode_frame` target: byte 0 picks the link type, byte 1 bit 0 turns on `ignore_checksums`, the
/// rest is the frame. Every successful decode is checksummed, and its IP packet re-decoded by `decode_ip`;
/// an 802.11 A-MSDU's further subframes are decoded in turn.
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
    let (mut link, mut frame, mut wire) = (link, frame, wire);
    loop {
        let ok = decode_frame_wire(&cfg, link, frame, wire, &mut out, &mut weirds).is_ok();
        if let Some(ip) = out.ip.filter(|_| ok) {
            if checksum::should_verify(&cfg, &ip) {
                let _ = checksum::transport_ok(&ip);
            }
            let mut out2 = Decoded::default();
            let _ = decode_ip(&cfg, ip.raw, &mut out2, &mut weirds);
        }
        let rest = out.amsdu_rest;
        if rest.is_empty() {
            break;
        }
        // Every subframe strictly shortens what is left.
        assert!(rest.len() < frame.len());
        wire -= frame.len() - rest.len();
        (link, frame) = (LinkType::AMSDU_SUBFRAMES, rest);
    }
    for w in &weirds {
        let _ = w.detail.to_string();
    }
}

/// `quick` target: the input of `decode_frame` (byte 1 bits 2-3 also pick `PacketAnalyzer::max_depth`).
/// Whenever [`tcp_tuple`](crate::quick::tcp_tuple) answers, the full decoder must decode the frame without
/// a weird as an unfragmented TCP segment between the same endpoints. Returns whether it answered.
pub fn quick_target(data: &[u8]) -> bool {
    let [sel, flags, frame @ ..] = data else {
        return false;
    };
    let link = LinkType(LINK_TYPES[usize::from(*sel) % LINK_TYPES.len()]);
    let cfg = DecodeConfig {
        ignore_checksums: flags & 1 != 0,
        max_depth: [crate::DEFAULT_MAX_DEPTH, 0, 3, 7][usize::from(flags >> 2 & 3)],
        ..DecodeConfig::default()
    };
    let wire = if flags & 2 != 0 { frame.len() + 100 } else { frame.len() };
    let Some(t) = crate::quick::tcp_tuple(&cfg, link, frame, wire) else {
        return false;
    };
    let mut out = Decoded::default();
    let mut weirds = Vec::new();
    let r = decode_frame_wire(&cfg, link, frame, wire, &mut out, &mut weirds);
    assert_eq!(
        r,
        Ok(()),
        "the full decoder refuses what the quick look took: {weirds:?}"
    );
    assert!(weirds.is_empty(), "the full decoder finds weirds: {weirds:?}");
    let ip = out.ip.expect("an IP packet");
    assert!(ip.frag.is_none() && out.amsdu_rest.is_empty());
    let Some(crate::Transport::Tcp(tcp)) = out.transport else {
        panic!("not TCP to the full decoder: {:?}", out.transport);
    };
    assert_eq!(
        (ip.src, tcp.src_port, ip.dst, tcp.dst_port),
        (t.src, t.src_port, t.dst, t.dst_port)
    );
    assert!(!crate::tunnel::may_be_tunnel(&out));
    true
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

/// A [`TunnelState`](crate::tunnel::TunnelState) driven by the fuzz input: responder ports from the source
/// or destination, and some analyzers reported violated.
struct FuzzState(u8);

impl crate::tunnel::TunnelState for FuzzState {
    fn udp_resp_port(&mut self, level: usize, _ip: &crate::IpPacket<'_>, udp: &crate::UdpHeader<'_>) -> u16 {
        if self.0 >> (level % 8) & 1 != 0 {
            udp.src_port
        } else {
            crate::tunnel::guess_resp_port(udp)
        }
    }
    fn violated(
        &mut self,
        level: usize,
        _ip: &crate::IpPacket<'_>,
        _udp: &crate::UdpHeader<'_>,
        _kind: crate::tunnel::TunnelType,
    ) -> bool {
        level == 7 && self.0 == 0xff
    }
}

/// `decapsulate` target: byte 0 picks the link type (as `decode_frame`), byte 1 holds options (bit 0
/// `ignore_checksums`, bits 1-3 `Tunnel::max_depth`, bits 4-5 the delayed confirmations), byte 2 drives
/// the connection state (responder ports, violations); the rest is the frame. The frame is decoded, its
/// fragments ignored, and decapsulated, with every 802.11 A-MSDU subframe found inside; every level and
/// weird is then read back.
pub fn decapsulate_target(data: &[u8]) {
    use crate::tunnel::{decapsulate, next_subframe, Decap, TunnelConfig, MAX_LEVELS};
    let [sel, flags, st, frame @ ..] = data else {
        return;
    };
    let link = LinkType(LINK_TYPES[usize::from(*sel) % LINK_TYPES.len()]);
    let cfg = DecodeConfig {
        ignore_checksums: flags & 1 != 0,
        ..DecodeConfig::default()
    };
    let tcfg = TunnelConfig {
        max_depth: usize::from(flags >> 1 & 7) + 1,
        delay_teredo_confirmation: flags & 0x10 != 0,
        delay_gtp_confirmation: flags & 0x20 != 0,
        validate_vxlan_checksums: flags & 0x40 == 0,
    };
    let mut out = Decoded::default();
    let mut weirds = Vec::new();
    if decode_frame_wire(&cfg, link, frame, frame.len(), &mut out, &mut weirds).is_err() {
        return;
    }
    let mut d = Decap::default();
    decapsulate(&cfg, &tcfg, &out, 0, &mut FuzzState(*st), &mut d, &mut weirds);
    let mut resumed = Some(0);
    while let Some(from) = resumed {
        assert!(from <= d.depth && d.depth <= MAX_LEVELS && d.depth <= tcfg.max_depth.max(1));
        assert_eq!(d.chain().len(), d.depth);
        let _ = d.inner_tuple();
        for lvl in &d.levels[..=d.depth] {
            if let Some(ip) = lvl.ip {
                // Every level is a view into the frame.
                let (s, e) = (frame.as_ptr() as usize, frame.as_ptr() as usize + frame.len());
                let p = ip.raw.as_ptr() as usize;
                assert!(ip.raw.is_empty() || (p >= s && p + ip.raw.len() <= e));
            }
        }
        resumed = next_subframe(&cfg, &tcfg, &mut FuzzState(*st), &mut d, &mut weirds);
    }
    for w in &weirds {
        let _ = w.log_name();
        let _ = w.detail.to_string();
    }
}
