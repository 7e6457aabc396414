//! A header-only look at the commonest packet, for choosing its worker without decoding it.
//!
//! With several workers the dispatcher only needs a packet's connection to choose its worker, and the
//! worker decodes the packet anyway. [`tcp_tuple`] reads the addresses and ports of a plain TCP segment
//! (Ethernet, one optional 802.1Q tag or raw IP; IPv4 without fragmentation, or IPv6 without extension
//! headers) and nothing else. It answers only when [`decode_frame_wire`](crate::decode_frame_wire) is
//! certain to decode the frame without a weird, as an unfragmented TCP segment with exactly these
//! endpoints: every check of the full decoder that could fail on such a frame is made here too, and
//! anything else (tunnels, fragments, ICMP and UDP, damaged headers) gets `None` and a full decode. The
//! fuzz target `quick` holds it to that.

use crate::ip::proto::TCP;
use crate::{be16, checksum, DecodeConfig, LinkType};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A TCP segment's endpoints, as [`decode_frame_wire`](crate::decode_frame_wire) would find them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpTuple {
    pub src: IpAddr,
    pub src_port: u16,
    pub dst: IpAddr,
    pub dst_port: u16,
}

const ETH_HDR: usize = 14;
const VLAN_TAG: usize = 4;
const IPV4_MIN: usize = 20;
const IPV6_HDR: usize = 40;
const TCP_MIN: usize = 20;

/// More packet analyzers than the full decoder enters for any frame taken here (root, Ethernet, VLAN, IP):
/// with a `PacketAnalyzer::max_depth` below this, leave the depth check to the full decoder.
const DEPTH: usize = 8;

/// The endpoints of a plain TCP segment in `frame`, or `None` when the frame needs the full decoder.
///
/// Inlined into its caller: returned through memory, the answer was read back (as the lane hash's
/// words) before the stores that wrote it could be forwarded, a stall that was a fifth of the reading
/// thread's dispatch time with two workers.
#[inline]
pub fn tcp_tuple(cfg: &DecodeConfig, link: LinkType, frame: &[u8], wire_len: usize) -> Option<TcpTuple> {
    if cfg.max_depth != 0 && cfg.max_depth < DEPTH {
        return None;
    }
    let hdr_size = match link {
        LinkType::ETHERNET => {
            // The Ethernet analyzer's minimum (it refuses 16 bytes or fewer).
            if frame.len() <= 16 {
                return None;
            }
            match be16(frame, 12)? {
                0x0800 | 0x86dd => ETH_HDR,
                // One 802.1Q tag, then IP (the VLAN analyzer wants more than the tag's 4 bytes).
                0x8100 if frame.len() > ETH_HDR + VLAN_TAG && matches!(be16(frame, 16)?, 0x0800 | 0x86dd) => {
                    ETH_HDR + VLAN_TAG
                }
                _ => return None,
            }
        }
        LinkType::RAW => 0,
        _ => return None,
    };
    let ip = frame.get(hdr_size..)?;
    match ip.first()? >> 4 {
        4 => v4(ip, hdr_size, wire_len),
        6 => v6(ip, hdr_size, wire_len),
        _ => None,
    }
}

/// IPv4: the IP analyzer's length, header-size and header-checksum checks, no fragment, no option
/// processing needed (options are skipped by the header length).
#[inline]
fn v4(ip: &[u8], hdr_size: usize, wire_len: usize) -> Option<TcpTuple> {
    if ip.len() < IPV4_MIN {
        return None;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(be16(ip, 2)?);
    let frag = be16(ip, 6)?;
    if ihl < IPV4_MIN || ihl > ip.len() || total < ihl || wire_len < total + hdr_size {
        return None;
    }
    if frag & 0x3fff != 0 || ip[9] != TCP {
        return None;
    }
    // A bad header checksum is a weird (or, with checksums ignored, not): the full decoder decides.
    if !checksum::ipv4_header_ok(&ip[..ihl]) {
        return None;
    }
    let src = IpAddr::V4(Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]));
    tcp(ip.get(ihl..total.min(ip.len()))?, total - ihl, src, dst)
}

/// IPv6: TCP right after the fixed header (any extension header needs the full decoder).
#[inline]
fn v6(ip: &[u8], hdr_size: usize, wire_len: usize) -> Option<TcpTuple> {
    if ip.len() < IPV6_HDR || ip[6] != TCP {
        return None;
    }
    let plen = usize::from(be16(ip, 4)?);
    let total = plen + IPV6_HDR;
    if plen == 0 || wire_len < total + hdr_size {
        return None;
    }
    let addr = |at: usize| -> Option<IpAddr> {
        let b: [u8; 16] = ip.get(at..at + 16)?.try_into().ok()?;
        Some(IpAddr::V6(Ipv6Addr::from(b)))
    };
    tcp(ip.get(IPV6_HDR..total.min(ip.len()))?, plen, addr(8)?, addr(24)?)
}

/// The TCP analyzer's truncation checks (`CheckHeaderTrunc`): `seg` is the captured part of the IP
/// payload, `payload_len` its length by the IP header.
#[inline]
fn tcp(seg: &[u8], payload_len: usize, src: IpAddr, dst: IpAddr) -> Option<TcpTuple> {
    if payload_len < TCP_MIN || seg.len() < TCP_MIN {
        return None;
    }
    Some(TcpTuple {
        src,
        src_port: be16(seg, 0)?,
        dst,
        dst_port: be16(seg, 2)?,
    })
}
