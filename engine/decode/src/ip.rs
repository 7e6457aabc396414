//! IPv4 and IPv6 (with extension headers) and the transport header, after Zeek's IP analyzer
//! (`src/packet_analysis/protocol/ip/IP.cc`), its IPv6 header chain (`src/IP.cc`) and the header checks of
//! the TCP, UDP and ICMP analyzers that run before a connection exists (`IPBasedAnalyzer::CheckHeaderTrunc`).

use crate::link::Ctx;
use crate::{
    be16, be32, checksum, push_weird, Addl, DecodeConfig, DecodeWeird, Decoded, FragInfo, IcmpHeader, IpPacket, Stop,
    TcpHeader, Transport, UdpHeader, WeirdScope,
};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use weir_api::Weird;

/// IP protocol / IPv6 next-header numbers.
pub mod proto {
    pub const HOPOPTS: u8 = 0;
    pub const ICMP: u8 = 1;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const IPV6: u8 = 41;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const ESP: u8 = 50;
    pub const AH: u8 = 51;
    pub const ICMPV6: u8 = 58;
    pub const NONE: u8 = 59;
    pub const DSTOPTS: u8 = 60;
    pub const MOBILITY: u8 = 135;
}

/// Minimum IPv4 header (`sizeof(struct ip)`).
pub(crate) const IPV4_MIN_HDR: usize = 20;
/// Fixed IPv6 header (`sizeof(struct ip6_hdr)`).
pub(crate) const IPV6_HDR: usize = 40;
const TCP_MIN_HDR: usize = 20;
const UDP_HDR: usize = 8;
/// Zeek's `ICMP_MINLEN`.
const ICMP_MIN_HDR: usize = 8;
/// Mobile IPv6 Home Address destination option (RFC 6275 section 6.3).
const OPT_HOME_ADDRESS: u8 = 201;

/// The lengths Zeek's IP analyzer compares: captured frame, wire length, and the IP header's offset.
#[derive(Clone, Copy)]
pub(crate) struct Lens {
    pub cap_len: usize,
    pub wire_len: usize,
    pub hdr_size: usize,
}

fn is_ext_header(t: u8) -> bool {
    use proto::*;
    matches!(t, HOPOPTS | ROUTING | DSTOPTS | FRAGMENT | AH | ESP | MOBILITY)
}

fn v6_addr(b: &[u8], off: usize) -> Option<Ipv6Addr> {
    let s: [u8; 16] = b.get(off..off.checked_add(16)?)?.try_into().ok()?;
    Some(Ipv6Addr::from(s))
}

/// The IPv6 header chain as Zeek's `IPv6_Hdr_Chain` builds it.
#[derive(Default)]
struct V6Chain {
    /// Bytes of all headers in the chain (Zeek's `TotalLength()` = `HdrLen()`).
    len: usize,
    /// Type of the last header in the chain (Zeek's `LastHeader()`).
    last_type: u8,
    /// Offset of the last header.
    last_off: usize,
    /// Next header named by the last header (Zeek's `NextProto()`).
    next: u8,
    /// Offset of the next-header byte that names the last header.
    last_named_at: usize,
    home: Option<Ipv6Addr>,
    final_dst: Option<Ipv6Addr>,
}

struct V6Weirds<'w> {
    weirds: &'w mut Vec<DecodeWeird>,
    src: Ipv6Addr,
    dst: Ipv6Addr,
}

impl V6Chain {
    fn src(&self, w: &V6Weirds<'_>) -> IpAddr {
        IpAddr::V6(self.home.unwrap_or(w.src))
    }
    fn dst(&self, w: &V6Weirds<'_>) -> IpAddr {
        IpAddr::V6(self.final_dst.unwrap_or(w.dst))
    }
    fn weird(&self, w: &mut V6Weirds<'_>, name: Weird, addl: Addl) {
        let scope = WeirdScope::Flow(self.src(w), self.dst(w));
        push_weird(w.weirds, name, scope, "", addl);
    }

    /// Walks the chain over the captured bytes `data` (starting with the fixed IPv6 header).
    fn walk(data: &[u8], w: &mut V6Weirds<'_>) -> V6Chain {
        let mut c = V6Chain::default();
        let mut remaining = data.len();
        let mut off = 0usize;
        let mut next_type = proto::IPV6;
        let mut named_at = 0usize;
        loop {
            // An extension header's length is in its second byte.
            if remaining < 2 {
                break;
            }
            let current = next_type;
            let (nh, cur_len, nh_off) = match current {
                proto::IPV6 => (data.get(off + 6).copied(), IPV6_HDR, off + 6),
                proto::HOPOPTS | proto::DSTOPTS | proto::ROUTING | proto::MOBILITY => (
                    data.get(off).copied(),
                    8 + 8 * usize::from(data.get(off + 1).copied().unwrap_or(0)),
                    off,
                ),
                proto::FRAGMENT => (data.get(off).copied(), 8, off),
                proto::AH => (
                    data.get(off).copied(),
                    8 + 4 * usize::from(data.get(off + 1).copied().unwrap_or(0)),
                    off,
                ),
                // ESP: the encrypted payload begins after 8 bytes; nothing follows in the chain.
                _ => (Some(proto::NONE), 8, off),
            };
            // A truncated header is not added and ends the chain.
            let Some(nh) = nh else { break };
            if cur_len > remaining {
                break;
            }
            let hdr = data.get(off..off + cur_len).unwrap_or(&[]);
            c.last_type = current;
            c.last_off = off;
            c.next = nh;
            c.last_named_at = named_at;
            if current == proto::ROUTING {
                c.routing(hdr, w);
            }
            if current == proto::DSTOPTS {
                c.dst_opts(hdr, w);
            }
            named_at = nh_off;
            off += cur_len;
            remaining -= cur_len;
            c.len = off;
            next_type = nh;
            if matches!(current, proto::FRAGMENT | proto::ESP | proto::MOBILITY) || !is_ext_header(nh) {
                break;
            }
        }
        c
    }

    /// Zeek's `ProcessRoutingHeader`: remembers the final destination and raises the routing weirds.
    fn routing(&mut self, r: &[u8], w: &mut V6Weirds<'_>) {
        if self.final_dst.is_some() {
            self.weird(w, Weird::multiple_routing_headers, Addl::None);
            return;
        }
        let hdr_len_units = r.get(1).copied().unwrap_or(0);
        let rtype = r.get(2).copied().unwrap_or(0);
        let segleft = r.get(3).copied().unwrap_or(0);
        // The last 16 bytes of the header hold the address (for every known type).
        let last_addr = r.len().checked_sub(16).and_then(|o| v6_addr(r, o));
        match rtype {
            0 => {
                if segleft > 0 && hdr_len_units >= 2 {
                    if hdr_len_units % 2 == 0 {
                        self.final_dst = last_addr;
                    } else {
                        self.weird(w, Weird::odd_routing0_len, Addl::None);
                    }
                }
                // Deprecated (RFC 5095): always noted.
                self.weird(w, Weird::routing0_hdr, Addl::None);
            }
            2 => {
                if segleft > 0 {
                    if hdr_len_units == 2 {
                        self.final_dst = last_addr;
                    } else {
                        self.weird(w, Weird::bad_routing2_len, Addl::None);
                    }
                }
            }
            t => self.weird(w, Weird::unknown_routing_type, Addl::Num(u32::from(t))),
        }
    }

    /// Zeek's `ProcessDstOpts`: only the Mobile IPv6 Home Address option matters.
    fn dst_opts(&mut self, d: &[u8], w: &mut V6Weirds<'_>) {
        let mut i = 2usize;
        while i < d.len() {
            let t = d.get(i).copied().unwrap_or(0);
            if t == 0 {
                // Pad1.
                i += 1;
                continue;
            }
            let rem = d.len() - i;
            let opt_len = d.get(i + 1).copied().map(usize::from);
            let Some(opt_len) = opt_len.filter(|&l| rem >= 2 && rem >= 2 + l) else {
                self.weird(w, Weird::bad_ipv6_dest_opt_len, Addl::None);
                break;
            };
            if t == OPT_HOME_ADDRESS {
                if opt_len == 16 {
                    if self.home.is_some() {
                        self.weird(w, Weird::multiple_home_addr_opts, Addl::None);
                    } else {
                        self.home = v6_addr(d, i + 2);
                    }
                } else {
                    self.weird(w, Weird::bad_home_addr_len, Addl::None);
                }
            }
            i += 2 + opt_len;
        }
    }
}

/// What the IP analyzer learns from the header besides the [`IpPacket`] fields, before it decides what to
/// do with the packet. No addresses: they go straight into the caller's `IpPacket` (see [`analyze`]).
struct Hdr {
    hdr_len: usize,
    total_len: usize,
    /// Zeek's `PayloadLen()` (0 when unknown, e.g. an IPv4 length field of 0).
    payload_len: usize,
    /// Zeek's `NextProto()`.
    next: u8,
    /// Zeek's `LastHeader()` (IPv4: 255, `IPPROTO_RAW`).
    last_type: u8,
    last_off: usize,
    frag: Option<FragInfo>,
}

/// Parses an IPv4 header (`data` holds at least [`IPV4_MIN_HDR`] bytes) into `slot`.
fn parse_v4<'a, 's>(data: &'a [u8], slot: &'s mut Option<IpPacket<'a>>) -> Option<(Hdr, &'s mut IpPacket<'a>)> {
    let h: &[u8; IPV4_MIN_HDR] = data.first_chunk()?;
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let off = u16::from_be_bytes([h[6], h[7]]);
    let next = h[9];
    let src = IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19]));
    let frag = (off & 0x3fff != 0).then(|| FragInfo {
        id: u32::from(u16::from_be_bytes([h[4], h[5]])),
        offset: u32::from(off & 0x1fff) * 8,
        more: off & 0x2000 != 0,
        unfrag_len: ihl as u16,
        next_proto: next,
        next_hdr_off: 9,
    });
    let ip = slot.insert(IpPacket {
        version: 4,
        src,
        dst,
        hdr_src: src,
        proto: next,
        ttl: h[8],
        // Set by `analyze` once checked; `raw` and `payload` are all of `data` until then.
        hdr_len: 0,
        total_len: 0,
        frag: None,
        df: off & 0x4000 != 0,
        raw: data,
        payload: data,
    });
    let hdr = Hdr {
        hdr_len: ihl,
        total_len: total,
        payload_len: if total != 0 {
            total.wrapping_sub(ihl) & 0xffff
        } else {
            0
        },
        next,
        last_type: 255,
        last_off: 0,
        frag,
    };
    Some((hdr, ip))
}

/// Parses an IPv6 header and its extension headers (`data` holds at least [`IPV6_HDR`] bytes) into `slot`.
fn parse_v6<'a, 's>(
    data: &'a [u8],
    weirds: &mut Vec<DecodeWeird>,
    slot: &'s mut Option<IpPacket<'a>>,
) -> Option<(Hdr, &'s mut IpPacket<'a>)> {
    let hsrc = v6_addr(data, 8)?;
    let hdst = v6_addr(data, 24)?;
    let plen = usize::from(be16(data, 4)?);
    let ttl = *data.get(7)?;
    let mut w = V6Weirds {
        weirds,
        src: hsrc,
        dst: hdst,
    };
    let c = V6Chain::walk(data, &mut w);
    let frag = if c.last_type == proto::FRAGMENT {
        let offlg = be16(data, c.last_off + 2).unwrap_or(0);
        Some(FragInfo {
            id: be32(data, c.last_off + 4).unwrap_or(0),
            offset: u32::from(offlg & 0xfff8),
            more: offlg & 0x0001 != 0,
            unfrag_len: c.last_off as u16,
            next_proto: c.next,
            next_hdr_off: c.last_named_at as u16,
        })
    } else {
        None
    };
    let total = plen + IPV6_HDR;
    let next = c.next;
    let ip = slot.insert(IpPacket {
        version: 6,
        src: IpAddr::V6(c.home.unwrap_or(hsrc)),
        dst: IpAddr::V6(c.final_dst.unwrap_or(hdst)),
        hdr_src: IpAddr::V6(hsrc),
        proto: next,
        ttl,
        // Set by `analyze` once checked; `raw` and `payload` are all of `data` until then.
        hdr_len: 0,
        total_len: 0,
        frag: None,
        df: false,
        raw: data,
        payload: data,
    });
    let hdr = Hdr {
        hdr_len: c.len,
        total_len: total,
        // Zeek computes this in 16 bits.
        payload_len: total.wrapping_sub(c.len) & 0xffff,
        next,
        last_type: c.last_type,
        last_off: c.last_off,
        frag,
    };
    Some((hdr, ip))
}

fn net<T>(cx: &mut Ctx<'_>, w: Weird) -> Result<T, Stop> {
    cx.weird(w, WeirdScope::Net, "IP");
    Err(Stop::Malformed)
}

/// The weird scope between the packet's addresses (Zeek's `flow_weird`). Built only when a weird is
/// raised: copying the addresses is most of what a packet would otherwise cost here.
#[cold]
fn flow(ip: &IpPacket<'_>) -> WeirdScope {
    WeirdScope::Flow(ip.src, ip.dst)
}

/// Zeek's `IPAnalyzer::AnalyzePacket` from the version check on. `reassembled` skips what Zeek does only
/// for packets off the wire (length/truncation checks, header checksum, fragment handling).
///
/// The header is parsed straight into `out.ip`, which is reset to `None` on the errors that come before
/// Zeek's IP analyzer has a packet; building the packet aside and moving it in costs more than decoding it.
pub(crate) fn analyze<'a>(
    cx: &mut Ctx<'_>,
    data: &'a [u8],
    lens: Lens,
    reassembled: bool,
    out: &mut Decoded<'a>,
) -> Result<(), Stop> {
    out.ip = None;
    out.transport = None;
    let len = data.len();
    if len < IPV4_MIN_HDR {
        return net(cx, Weird::truncated_IP);
    }
    let version = data.first().copied().unwrap_or(0) >> 4;
    let Decoded {
        ip: slot,
        transport: transport_slot,
        ..
    } = out;
    let parsed = match version {
        4 => parse_v4(data, slot),
        6 if len < IPV6_HDR => return net(cx, Weird::truncated_IP),
        6 => parse_v6(data, cx.weirds, slot),
        _ => return net(cx, Weird::unknown_ip_version),
    };
    let Some((mut h, ip)) = parsed else {
        return Err(Stop::Malformed);
    };

    let total_len = match checks(cx, data, lens, reassembled, &h, ip) {
        Ok(total_len) => total_len,
        Err(stop) => {
            *slot = None;
            return Err(stop);
        }
    };

    let raw = data.get(..total_len.min(len)).unwrap_or(data);
    let hdr_len = h.hdr_len.min(raw.len());
    let payload = raw.get(hdr_len..).unwrap_or(&[]);
    ip.hdr_len = hdr_len as u16;
    ip.total_len = total_len as u32;
    ip.raw = raw;
    ip.payload = payload;

    if !reassembled {
        if let Some(f) = h.frag.take() {
            if len < total_len {
                cx.weird(Weird::incompletely_captured_fragment, flow(ip), "IP");
                // Only the first fragment is worth analysing (header-only traces); it goes on as a whole packet.
                if f.offset != 0 {
                    *slot = None;
                    return Err(Stop::Malformed);
                }
            } else {
                ip.frag = Some(f);
                return Ok(());
            }
        }
    }

    if h.last_type == proto::ESP {
        // Encrypted: nothing more to see, and no connection.
        return Ok(());
    }
    if h.last_type == proto::MOBILITY {
        if !cx.cfg.ignore_checksums && !checksum::mobility_ok(ip, data.get(h.last_off..).unwrap_or(&[])) {
            cx.weird(Weird::bad_MH_checksum, flow(ip), "IP");
            *slot = None;
            return Err(Stop::Malformed);
        }
        if h.next != proto::NONE {
            cx.weird(Weird::mobility_piggyback, flow(ip), "IP");
        }
        return Ok(());
    }

    // Zeek's `len`: what is left after the header, cut to the IP payload length when that is known.
    let remaining = if h.payload_len != 0 {
        payload.len().min(h.payload_len)
    } else {
        payload.len()
    };
    let seg = payload.get(..remaining).unwrap_or(payload);
    ip.payload = seg;

    if total_len < h.hdr_len {
        cx.weird(Weird::bogus_IP_header_lengths, flow(ip), "IP");
        return Err(Stop::Malformed);
    }
    if h.next == proto::NONE {
        cx.weird(Weird::ipv6_no_next, flow(ip), "IP");
        return Err(Stop::Malformed);
    }
    cx.enter("IP", || flow(ip))?;
    // What the transport analyzers take as the segment length: the IP payload length, or what was
    // captured when the length field was zeroed.
    let ip_payload_len = if h.payload_len != 0 { h.payload_len } else { remaining };
    transport(cx, ip, h.next, h.payload_len, ip_payload_len, transport_slot)
}

/// The length, truncation and header checksum checks Zeek's IP analyzer makes before it has a packet.
/// Returns the total length to go on with (what was captured when the length field was zeroed).
fn checks(
    cx: &mut Ctx<'_>,
    data: &[u8],
    lens: Lens,
    reassembled: bool,
    h: &Hdr,
    ip: &IpPacket<'_>,
) -> Result<usize, Stop> {
    let mut total_len = h.total_len;
    if reassembled {
        if h.hdr_len > total_len {
            cx.weird(Weird::invalid_IP_header_size, flow(ip), "IP");
            return Err(Stop::Malformed);
        }
        return Ok(total_len);
    }
    if total_len == 0 {
        // TCP segmentation offload can zero the length field.
        cx.weird(Weird::ip_hdr_len_zero, WeirdScope::Net, "IP");
        if !cx.cfg.ignore_checksums {
            return Err(Stop::Malformed);
        }
        total_len = lens.cap_len.saturating_sub(lens.hdr_size);
    }
    if lens.wire_len < total_len + lens.hdr_size {
        return net(cx, Weird::truncated_IP_len);
    }
    if h.hdr_len > total_len {
        return net(cx, Weird::invalid_IP_header_size);
    }
    if h.hdr_len > data.len() {
        return net(cx, Weird::internally_truncated_header);
    }
    if ip.version == 4 && h.hdr_len < IPV4_MIN_HDR {
        return net(cx, Weird::IPv4_min_header_size);
    }
    if ip.version == 6 && h.hdr_len < IPV6_HDR {
        return net(cx, Weird::IPv6_min_header_size);
    }
    if ip.version == 4 && !cx.cfg.skips_checksums(&ip.hdr_src) {
        let hdr = data.get(..h.hdr_len).unwrap_or(&[]);
        if !checksum::ipv4_header_ok(hdr) {
            cx.weird(Weird::bad_IP_checksum, flow(ip), "IP");
            return Err(Stop::Malformed);
        }
    }
    Ok(total_len)
}

/// Zeek's `CheckHeaderTrunc`.
fn check_trunc(
    cx: &mut Ctx<'_>,
    ip: &IpPacket<'_>,
    min: usize,
    payload_len: usize,
    source: &'static str,
) -> Result<(), Stop> {
    if payload_len != 0 && payload_len < min {
        cx.weird(Weird::truncated_header, flow(ip), source);
        return Err(Stop::Malformed);
    }
    if ip.payload.len() < min {
        cx.weird(Weird::internally_truncated_header, flow(ip), source);
        return Err(Stop::Malformed);
    }
    Ok(())
}

/// The transport header of `ip.payload` (the segment), written to `slot` (left as it is on errors).
fn transport<'a>(
    cx: &mut Ctx<'_>,
    ip: &IpPacket<'a>,
    next: u8,
    payload_len: usize,
    seg_len: usize,
    slot: &mut Option<Transport<'a>>,
) -> Result<(), Stop> {
    let seg = ip.payload;
    let seg_len32 = u32::try_from(seg_len).unwrap_or(u32::MAX);
    match next {
        proto::TCP => {
            check_trunc(cx, ip, TCP_MIN_HDR, payload_len, "TCP")?;
            let Some(h) = seg.first_chunk::<TCP_MIN_HDR>() else {
                return Err(Stop::Malformed);
            };
            let hdr_len = usize::from(h[12] >> 4) * 4;
            let (options, payload) = if hdr_len >= TCP_MIN_HDR && hdr_len <= seg.len() {
                (
                    seg.get(TCP_MIN_HDR..hdr_len).unwrap_or(&[]),
                    seg.get(hdr_len..).unwrap_or(&[]),
                )
            } else {
                (&[][..], &[][..])
            };
            *slot = Some(Transport::Tcp(TcpHeader {
                src_port: u16::from_be_bytes([h[0], h[1]]),
                dst_port: u16::from_be_bytes([h[2], h[3]]),
                seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
                ack: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
                flags: h[13],
                window: u16::from_be_bytes([h[14], h[15]]),
                hdr_len: hdr_len as u8,
                options,
                payload,
                payload_len: seg_len32.saturating_sub(hdr_len as u32),
            }));
        }
        proto::UDP => {
            check_trunc(cx, ip, UDP_HDR, payload_len, "UDP")?;
            let Some((h, payload)) = seg.split_first_chunk::<UDP_HDR>() else {
                return Err(Stop::Malformed);
            };
            *slot = Some(Transport::Udp(UdpHeader {
                src_port: u16::from_be_bytes([h[0], h[1]]),
                dst_port: u16::from_be_bytes([h[2], h[3]]),
                length: u16::from_be_bytes([h[4], h[5]]),
                checksum: u16::from_be_bytes([h[6], h[7]]),
                payload,
                payload_len: seg_len32.saturating_sub(UDP_HDR as u32),
            }));
        }
        proto::ICMP | proto::ICMPV6 => {
            check_trunc(cx, ip, ICMP_MIN_HDR, payload_len, "ICMP")?;
            *slot = Some(Transport::Icmp(IcmpHeader {
                v6: next == proto::ICMPV6,
                icmp_type: seg.first().copied().unwrap_or(0),
                code: seg.get(1).copied().unwrap_or(0),
                payload: seg.get(4..).unwrap_or(&[]),
                len: seg_len32,
            }));
        }
        p => *slot = Some(Transport::Other(p, seg)),
    }
    Ok(())
}

/// Decodes a datagram from its IP header, as Zeek's IP analyzer goes on after reassembling fragments:
/// the length, truncation and header-checksum checks were made on the fragments and are not repeated
/// (only `invalid_IP_header_size`, a flow weird here, as in Zeek); the datagram is not a fragment.
/// `out.link` is left as the caller set it. For tunnelled packets use
/// [`decode_frame`](crate::decode_frame) with [`LinkType::RAW`](crate::LinkType::RAW), which makes all checks.
pub fn decode_ip<'a>(
    cfg: &DecodeConfig,
    ip: &'a [u8],
    out: &mut Decoded<'a>,
    weirds: &mut Vec<DecodeWeird>,
) -> Result<(), Stop> {
    let mut cx = Ctx { cfg, weirds, depth: 0 };
    let lens = Lens {
        cap_len: ip.len(),
        wire_len: ip.len(),
        hdr_size: 0,
    };
    // The IP analyzer is the stack's second analyzer at least (Zeek counts the link layer too).
    cx.depth = 2;
    analyze(&mut cx, ip, lens, true, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{decode_frame, decode_frame_wire, LinkType};

    fn raw(frame: &[u8]) -> (Result<(), Stop>, Decoded<'_>, Vec<DecodeWeird>) {
        let mut out = Decoded::default();
        let mut w = Vec::new();
        let r = decode_frame(&DecodeConfig::default(), LinkType::RAW, frame, &mut out, &mut w);
        (r, out, w)
    }

    /// IPv4 10.0.0.1 -> 10.0.0.2 TCP, total length 40, checksum filled by `fix_v4`, then a TCP header
    /// 1234 -> 80, seq 1, ack 0, data offset 5, SYN, window 8192.
    fn v4_tcp() -> Vec<u8> {
        let mut p = vec![
            0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, // header, checksum 0
            0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, // addresses
            0x04, 0xd2, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x20, 0x00, 0, 0, 0, 0, // TCP
        ];
        fix_v4(&mut p);
        p
    }

    fn fix_v4(p: &mut [u8]) {
        let hl = usize::from(p[0] & 0xf) * 4;
        p[10] = 0;
        p[11] = 0;
        let s = !checksum::ones_sum(0, &p[..hl]);
        p[10..12].copy_from_slice(&s.to_be_bytes());
    }

    #[test]
    fn v4_tcp_ok() {
        let p = v4_tcp();
        let (r, out, w) = raw(&p);
        assert_eq!(r, Ok(()));
        assert!(w.is_empty());
        let ip = out.ip.unwrap();
        assert_eq!((ip.version, ip.proto, ip.hdr_len, ip.total_len), (4, 6, 20, 40));
        match out.transport {
            Some(Transport::Tcp(t)) => {
                assert_eq!(
                    (t.src_port, t.dst_port, t.seq, t.flags, t.hdr_len),
                    (1234, 80, 1, 0x02, 20)
                );
                assert_eq!(t.payload_len, 0);
            }
            t => panic!("{t:?}"),
        }
    }

    #[test]
    fn v4_bad_checksum_and_ignore() {
        let mut p = v4_tcp();
        p[11] ^= 0xff;
        let (r, _, w) = raw(&p);
        assert_eq!(r, Err(Stop::Malformed));
        assert_eq!(w[0].weird, Weird::bad_IP_checksum);
        assert!(matches!(w[0].scope, WeirdScope::Flow(..)));
        let cfg = DecodeConfig {
            ignore_checksums_nets: vec![("10.0.0.0".parse().unwrap(), 8)],
            ..DecodeConfig::default()
        };
        let mut out = Decoded::default();
        let mut w = Vec::new();
        assert_eq!(decode_frame(&cfg, LinkType::RAW, &p, &mut out, &mut w), Ok(()));
    }

    #[test]
    fn v4_truncations() {
        // Fewer than 20 bytes.
        assert_eq!(raw(&v4_tcp()[..19]).2[0].weird, Weird::truncated_IP);
        // Captured 30 of 40 bytes with wire length 30: truncated_IP_len (Net).
        let p = v4_tcp();
        let (_, _, w) = raw(&p[..30]);
        assert_eq!((w[0].weird, w[0].scope), (Weird::truncated_IP_len, WeirdScope::Net));
        // The same capture cut by the snaplen (wire length 40): decoded as far as it goes.
        let mut out = Decoded::default();
        let mut w = Vec::new();
        let r = decode_frame_wire(&DecodeConfig::default(), LinkType::RAW, &p[..30], 40, &mut out, &mut w);
        assert_eq!((r, w.len()), (Err(Stop::Malformed), 1));
        assert_eq!((w[0].weird, w[0].source), (Weird::internally_truncated_header, "TCP"));
        // IHL 15 (60 bytes) > total length 40.
        let mut p = v4_tcp();
        p[0] = 0x4f;
        assert_eq!(raw(&p).2[0].weird, Weird::invalid_IP_header_size);
        // Total length 0: ip_hdr_len_zero.
        let mut p = v4_tcp();
        p[2] = 0;
        p[3] = 0;
        fix_v4(&mut p);
        assert_eq!(raw(&p).2[0].weird, Weird::ip_hdr_len_zero);
        // Version 5.
        let mut p = v4_tcp();
        p[0] = 0x55;
        assert_eq!(raw(&p).2[0].weird, Weird::unknown_ip_version);
        // IHL 4 (16 bytes).
        let mut p = v4_tcp();
        p[0] = 0x44;
        assert_eq!(raw(&p).2[0].weird, Weird::IPv4_min_header_size);
    }

    #[test]
    fn v4_fragment() {
        let mut p = v4_tcp();
        p[6] = 0x20; // MF
        fix_v4(&mut p);
        let (r, out, w) = raw(&p);
        assert_eq!((r, w.len()), (Ok(()), 0));
        let f = out.ip.unwrap().frag.unwrap();
        assert_eq!(
            (f.id, f.offset, f.more, f.unfrag_len, f.next_proto),
            (1, 0, true, 20, 6)
        );
        assert!(out.transport.is_none());
    }

    /// IPv6 2001:db8::1 -> 2001:db8::2, next header `nh`, payload `pl`.
    fn v6(nh: u8, pl: &[u8]) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&(pl.len() as u16).to_be_bytes());
        p.extend_from_slice(&[nh, 64]);
        p.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        p.extend_from_slice(&"2001:db8::2".parse::<Ipv6Addr>().unwrap().octets());
        p.extend_from_slice(pl);
        p
    }

    #[test]
    fn v6_ext_headers_udp() {
        // Hop-by-hop (8 bytes: next 60, len 0, PadN 4) -> dest opts (8 bytes: next 17, PadN) -> UDP 53 -> 53
        let pl = [
            60, 0, 1, 4, 0, 0, 0, 0, // hop-by-hop
            17, 0, 1, 4, 0, 0, 0, 0, // dest opts
            0, 53, 0, 53, 0, 8, 0, 0, // UDP
        ];
        let p = v6(0, &pl);
        let (r, out, w) = raw(&p);
        assert_eq!(r, Ok(()));
        assert!(w.is_empty(), "{w:?}");
        let ip = out.ip.unwrap();
        assert_eq!((ip.proto, ip.hdr_len, ip.total_len), (17, 56, 64));
        assert!(matches!(out.transport, Some(Transport::Udp(u)) if u.dst_port == 53));
    }

    #[test]
    fn v6_routing0_final_dst_and_home_address() {
        // Routing type 0, 1 address (len 2), segments left 1, address 2001:db8::99 -> TCP (truncated here).
        let mut pl = vec![59, 2, 0, 1, 0, 0, 0, 0];
        pl.extend_from_slice(&"2001:db8::99".parse::<Ipv6Addr>().unwrap().octets());
        let p = v6(43, &pl);
        let (r, out, w) = raw(&p);
        assert_eq!(r, Err(Stop::Malformed));
        assert_eq!((w[0].weird, w[0].source), (Weird::routing0_hdr, ""));
        let fin: IpAddr = "2001:db8::99".parse().unwrap();
        assert_eq!(w[0].scope, WeirdScope::Flow("2001:db8::1".parse().unwrap(), fin));
        assert_eq!(w[1].weird, Weird::ipv6_no_next);
        assert_eq!(out.ip.unwrap().dst, fin);
        // Destination options with a Home Address option (type 201, length 16) -> no next header.
        let mut pl = vec![59, 2, 1, 2, 0, 0, 201, 16];
        pl.extend_from_slice(&"2001:db8::77".parse::<Ipv6Addr>().unwrap().octets());
        let p = v6(60, &pl);
        let (_, out, _) = raw(&p);
        let ip = out.ip.unwrap();
        assert_eq!(ip.src, "2001:db8::77".parse::<IpAddr>().unwrap());
        assert_eq!(ip.hdr_src, "2001:db8::1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn v6_fragment_and_unknown_routing() {
        // Fragment header: next 17, offset 0, M=1, id 0x01020304
        let p = v6(44, &[17, 0, 0, 1, 1, 2, 3, 4, 0, 53, 0, 53, 0, 16, 0, 0]);
        let (r, out, _) = raw(&p);
        assert_eq!(r, Ok(()));
        let f = out.ip.unwrap().frag.unwrap();
        assert_eq!(
            (f.id, f.more, f.unfrag_len, f.next_proto, f.next_hdr_off),
            (0x01020304, true, 40, 17, 6)
        );
        // Routing type 7: unknown_routing_type with addl 7.
        let p = v6(43, &[59, 0, 7, 0, 0, 0, 0, 0]);
        let (_, _, w) = raw(&p);
        assert_eq!((w[0].weird, w[0].addl), (Weird::unknown_routing_type, Some(7)));
    }

    #[test]
    fn transport_truncation() {
        // UDP payload length 4 (< 8): truncated_header from UDP.
        let p = v6(17, &[0, 53, 0, 53]);
        let (_, _, w) = raw(&p);
        assert_eq!((w[0].weird, w[0].source), (Weird::truncated_header, "UDP"));
        // ICMPv6 echo request, 8 bytes.
        let p = v6(58, &[128, 0, 0, 0, 0, 1, 0, 1]);
        let (_, out, _) = raw(&p);
        assert!(matches!(out.transport, Some(Transport::Icmp(i)) if i.v6 && i.icmp_type == 128 && i.len == 8));
    }
}
