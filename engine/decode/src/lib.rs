//! # weir-decode: zero-copy packet decoding
//!
//! Decodes a captured frame from its link layer down to its transport header without allocating or
//! copying: every header is a view into the caller's buffer. Malformed input is never a panic; it is a
//! [`DecodeWeird`] named as Zeek names it, pushed to the caller's buffer, and decoding stops where the
//! damage starts.
//!
//! Layers: Ethernet, 802.1Q/802.1ad at any depth, MPLS, PBB, VN-Tag, Cisco FabricPath, PPPoE, PPP,
//! Linux cooked (SLL, SLL2), raw IP, null/loopback, IEEE 802.11 (radiotap, LLC/SNAP, A-MSDU); IPv4
//! (options, header checksum), IPv6 with extension headers; TCP, UDP, ICMP, ICMPv6, and any other IP
//! protocol as opaque payload. IP fragments are reassembled by [`frag::Reassembler`], bounded in memory.
//!
//! ```
//! use weir_decode::{checksum, decode_frame, frag, DecodeConfig, Decoded, LinkType, Transport};
//!
//! // Raw IPv4 10.0.0.1 -> 10.0.0.2, UDP 1234 -> 53, no payload, UDP checksum 0 (not computed).
//! let frame = [
//!     0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0x66, 0xce, 10, 0, 0, 1, 10, 0, 0, 2, // IPv4
//!     0x04, 0xd2, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00, // UDP
//! ];
//! let cfg = DecodeConfig::default();
//! let mut out = Decoded::default();
//! let mut weirds = Vec::new();
//! let mut frags = frag::Reassembler::default();
//! decode_frame(&cfg, LinkType::RAW, &frame, &mut out, &mut weirds).unwrap();
//! let ip = out.ip.unwrap();
//! if ip.frag.is_some() {
//!     // Fragment: feed `frags.add(ts, &ip, &mut weirds)`, then `decode_ip` the datagram it returns.
//!     let _ = frags.add(0.0, &ip, &mut weirds);
//! }
//! assert!(matches!(out.transport, Some(Transport::Udp(u)) if u.dst_port == 53));
//! assert!(!checksum::should_verify(&cfg, &ip) || checksum::transport_ok(&ip));
//! assert!(weirds.is_empty());
//! ```

use core::net::IpAddr;
use weir_api::Weird;

pub mod checksum;
pub mod frag;
#[doc(hidden)]
pub mod fuzzing;
mod ip;
mod link;
pub mod quick;
pub mod tunnel;
mod wifi;

pub use ip::{decode_ip, proto};
pub use link::{decode_frame, decode_frame_wire};

/// A pcap link type (DLT / LINKTYPE value). Open: an unknown value is data, not an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    pub const PPP: LinkType = LinkType(9);
    pub const PPP_SERIAL: LinkType = LinkType(50);
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD's DLT_RAW value, seen in some captures.
    pub const RAW_12: LinkType = LinkType(12);
    pub const RAW_14: LinkType = LinkType(14);
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);
    /// IEEE 802.11 (monitor mode without radio header; also what Aruba GRE carries).
    pub const IEEE802_11: LinkType = LinkType(105);
    /// IEEE 802.11 behind a radiotap header.
    pub const IEEE802_11_RADIO: LinkType = LinkType(127);
    /// weir's own (no pcap file has it): the A-MSDU subframes left after one, as
    /// [`Decoded::amsdu_rest`] gives them. Outside the 26 bits a pcap link type field holds.
    pub const AMSDU_SUBFRAMES: LinkType = LinkType(0x8000_0802);
}

/// Decoding settings (Zeek's `ignore_checksums`, `ignore_checksums_nets`, analyzer depth limit).
#[derive(Clone, Debug)]
pub struct DecodeConfig {
    /// `-C`: do not verify IP header checksums.
    pub ignore_checksums: bool,
    /// Networks whose packets skip checksum verification (Zeek's `ignore_checksums_nets`).
    pub ignore_checksums_nets: Vec<(IpAddr, u8)>,
    /// Zeek's `PacketAnalyzer::max_depth` (default 25, `base/packet-protocols/main.zeek`); 0 = no limit.
    pub max_depth: usize,
}

impl Default for DecodeConfig {
    /// Zeek's defaults: checksums verified, no ignored networks, analyzer depth limit 25.
    fn default() -> Self {
        DecodeConfig {
            ignore_checksums: false,
            ignore_checksums_nets: Vec::new(),
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

/// Zeek's `PacketAnalyzer::max_depth` default (`scripts/base/packet-protocols/main.zeek`).
pub const DEFAULT_MAX_DEPTH: usize = 25;

impl DecodeConfig {
    /// True when `addr` is inside one of `ignore_checksums_nets`.
    pub fn in_ignored_net(&self, addr: IpAddr) -> bool {
        self.ignore_checksums_nets
            .iter()
            .any(|&(net, len)| net_contains(net, len, addr))
    }

    /// Whether checksums go unverified for a packet whose IP header's source is `hdr_src`: `-C`, or the
    /// source in `ignore_checksums_nets`. The address is copied only when there are networks to look in:
    /// the copy, read back right after the decoder wrote it, costs more than the rest of the test.
    #[inline]
    pub(crate) fn skips_checksums(&self, hdr_src: &IpAddr) -> bool {
        self.ignore_checksums || (!self.ignore_checksums_nets.is_empty() && self.in_ignored_net(*hdr_src))
    }
}

/// Whether `addr` is inside `net/len` (families must match; an over-long prefix matches exactly).
pub(crate) fn net_contains(net: IpAddr, len: u8, addr: IpAddr) -> bool {
    fn prefix_eq(a: &[u8], b: &[u8], bits: usize) -> bool {
        let bits = bits.min(a.len() * 8);
        let (full, rest) = (bits / 8, bits % 8);
        if a.get(..full) != b.get(..full) {
            return false;
        }
        if rest == 0 {
            return true;
        }
        let mask = 0xffu8 << (8 - rest);
        match (a.get(full), b.get(full)) {
            (Some(x), Some(y)) => x & mask == y & mask,
            _ => false,
        }
    }
    match (net, addr) {
        (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), len as usize),
        (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), len as usize),
        _ => false,
    }
}

/// Link-layer facts kept for logging (vlan-logging, mac-logging, pppoe-session-id-logging) and for
/// Zeek's connection key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkMeta {
    pub src_mac: Option<[u8; 6]>,
    pub dst_mac: Option<[u8; 6]>,
    /// Outermost VLAN id.
    pub vlan: Option<u16>,
    /// Second VLAN id (Q-in-Q).
    pub inner_vlan: Option<u16>,
    pub pppoe_session: Option<u16>,
}

/// Fragment fields of an IP packet (IPv4 header, or IPv6 Fragment extension header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragInfo {
    pub id: u32,
    /// Offset of this fragment's payload in the datagram's payload, in bytes.
    pub offset: u32,
    pub more: bool,
    /// Length of the unfragmentable part (IPv4 header, or IPv6 header + extension headers before the
    /// Fragment header), i.e. where this fragment's payload starts in `IpPacket::raw`.
    pub unfrag_len: u16,
    /// Next header value to put back into the reassembled datagram (IPv6: the Fragment header's next header).
    pub next_proto: u8,
    /// Offset in `IpPacket::raw` of the next-header byte that names the Fragment header (IPv6), which the
    /// reassembler overwrites with `next_proto`; IPv4: 9, the protocol byte.
    pub next_hdr_off: u16,
}

/// An IP packet (v4 or v6), viewed in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpPacket<'a> {
    pub version: u8,
    /// Zeek's `SrcAddr()`: for IPv6 the Mobile IPv6 Home Address option when present, else the header's source.
    pub src: IpAddr,
    /// Zeek's `DstAddr()`: for IPv6 the final destination of a type 0/2 routing header with segments left,
    /// else the header's destination. Used for connection keys and checksum pseudo-headers.
    pub dst: IpAddr,
    /// The source address as written in the IP header (Zeek's `IPHeaderSrcAddr()`, used for
    /// `ignore_checksums_nets`).
    pub hdr_src: IpAddr,
    /// The transport protocol after all extension headers (TCP 6, UDP 17, ICMP 1, ICMPv6 58, ...).
    pub proto: u8,
    pub ttl: u8,
    /// Bytes of IP header including IPv6 extension headers (where the transport header starts in `raw`).
    pub hdr_len: u16,
    /// Zeek's `TotalLen()`: IPv4 total length; IPv6 payload length + 40. What conn.log's `*_ip_bytes` sums.
    pub total_len: u32,
    /// Set when the packet is a fragment; reassemble before using `payload`.
    pub frag: Option<FragInfo>,
    /// IPv4 Don't Fragment flag.
    pub df: bool,
    /// The packet from its IP header, cut to the smaller of the captured bytes and `total_len`.
    pub raw: &'a [u8],
    /// The transport header and payload: `raw[hdr_len..]`.
    pub payload: &'a [u8],
}

/// TCP flag bits.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpHeader<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    /// Header length in bytes (data offset * 4), 0..=60 as on the wire. Below 20 Zeek raises
    /// `bad_TCP_header_len`, above the segment `truncated_header` (both connection weirds: the engine's);
    /// in those cases `options` and `payload` are empty.
    pub hdr_len: u8,
    pub options: &'a [u8],
    /// Captured payload bytes (may be shorter than `payload_len` when the capture was cut).
    pub payload: &'a [u8],
    /// Payload length from the IP length fields (Zeek's `len`).
    pub payload_len: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpHeader<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    /// The UDP length field.
    pub length: u16,
    pub checksum: u16,
    pub payload: &'a [u8],
    /// Payload length from the IP length fields.
    pub payload_len: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpHeader<'a> {
    /// false: ICMP (v4); true: ICMPv6.
    pub v6: bool,
    pub icmp_type: u8,
    pub code: u8,
    /// Bytes after the 4-byte type/code/checksum header.
    pub payload: &'a [u8],
    /// Length of the whole ICMP message from the IP length fields.
    pub len: u32,
}

/// The transport layer of a (non-fragment or reassembled) IP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport<'a> {
    Tcp(TcpHeader<'a>),
    Udp(UdpHeader<'a>),
    Icmp(IcmpHeader<'a>),
    /// Any other IP protocol (Zeek's `unknown_transport`), with its payload.
    Other(u8, &'a [u8]),
}

/// The whole decoded packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Decoded<'a> {
    pub link: LinkMeta,
    pub ip: Option<IpPacket<'a>>,
    /// None for fragments (until reassembled) and for packets Zeek's IP analyzer consumes itself
    /// (IPv6 ESP and Mobility headers), in which cases decoding returns `Ok(())`.
    pub transport: Option<Transport<'a>>,
    /// An 802.11 A-MSDU's subframes after the one decoded, when Zeek would analyse them (empty otherwise):
    /// decode them with [`LinkType::AMSDU_SUBFRAMES`] as a packet of their own.
    pub amsdu_rest: &'a [u8],
}

/// Which log row a decode weird belongs to (Zeek's net_weird vs flow_weird).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeirdScope {
    /// No addresses known (Zeek `net_weird`): weird.log has no id fields.
    Net,
    /// Between two addresses (Zeek `flow_weird`): weird.log has id.orig_h/id.resp_h and ports 0.
    Flow(IpAddr, IpAddr),
}

/// A weird found while decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeWeird {
    pub weird: Weird,
    pub scope: WeirdScope,
    /// Zeek's `addl` when it is a number (e.g. the unknown routing type); None otherwise.
    pub addl: Option<u32>,
    /// Zeek's `addl` in full (number, fixed text, or `(a > b)`); `Addl::None` for `-`. Display writes it.
    pub detail: Addl,
    /// weird.log `source`: the layer that raised it as Zeek names it (`IP`, `TCP`, `ETHERNET`...), or "" for none.
    pub source: &'static str,
    /// Raised about a packet found inside a tunnel: Zeek then appends `_in_tunnel` to the name
    /// (`session::Manager::Weird`). Only [`tunnel::decapsulate`] sets it; see [`DecodeWeird::log_name`].
    pub in_tunnel: bool,
}

impl DecodeWeird {
    /// The name weird.log gets: `weird.name()`, plus `_in_tunnel` when [`in_tunnel`](Self::in_tunnel).
    pub fn log_name(&self) -> std::borrow::Cow<'static, str> {
        if self.in_tunnel {
            std::borrow::Cow::Owned(format!("{}_in_tunnel", self.weird.name()))
        } else {
            std::borrow::Cow::Borrowed(self.weird.name())
        }
    }
}

/// weird.log's `addl` as Zeek writes it, without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Addl {
    #[default]
    None,
    /// A number, e.g. `unknown_routing_type`'s type.
    Num(u32),
    /// Fixed text, e.g. `inner VLAN tag overwritten`.
    Text(&'static str),
    /// `(a > b)`, e.g. `nflog_bad_tlv_len`.
    Exceeds(u64, u64),
    /// `key=n`, e.g. `unknown_gre_version`'s `version=2`.
    KeyNum(&'static str, u32),
}

impl core::fmt::Display for Addl {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Addl::None => f.write_str("-"),
            Addl::Num(n) => write!(f, "{n}"),
            Addl::Text(t) => f.write_str(t),
            Addl::Exceeds(a, b) => write!(f, "({a} > {b})"),
            Addl::KeyNum(k, n) => write!(f, "{k}={n}"),
        }
    }
}

/// Why a frame produced no IP packet to analyse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Not IP (ARP, LLDP, ...): nothing to analyse, nothing wrong.
    NotIp,
    /// Damaged or refused (bad IP checksum, truncation); a weird was pushed.
    Malformed,
}

/// Pushes a weird; `addl` mirrors `detail` when it is a number. Cold and out of line: inlined, building
/// the 88-byte record and growing the vector took registers and code from every layer's common path.
#[cold]
#[inline(never)]
pub(crate) fn push_weird(
    weirds: &mut Vec<DecodeWeird>,
    weird: Weird,
    scope: WeirdScope,
    source: &'static str,
    detail: Addl,
) {
    let addl = match detail {
        Addl::Num(n) => Some(n),
        _ => None,
    };
    weirds.push(DecodeWeird {
        weird,
        scope,
        addl,
        detail,
        source,
        in_tunnel: false,
    });
}

/// Big-endian u16 at `off`, or None past the end.
#[inline]
pub(crate) fn be16(b: &[u8], off: usize) -> Option<u16> {
    match b.get(off..off.checked_add(2)?) {
        Some(&[x, y]) => Some(u16::from_be_bytes([x, y])),
        _ => None,
    }
}

/// Big-endian u32 at `off`, or None past the end.
#[inline]
pub(crate) fn be32(b: &[u8], off: usize) -> Option<u32> {
    match b.get(off..off.checked_add(4)?) {
        Some(&[a, c, d, e]) => Some(u32::from_be_bytes([a, c, d, e])),
        _ => None,
    }
}

/// The 6 bytes at `off` as a MAC address, or None past the end.
#[inline]
pub(crate) fn mac_at(b: &[u8], off: usize) -> Option<[u8; 6]> {
    let s = b.get(off..off.checked_add(6)?)?;
    let mut m = [0u8; 6];
    m.copy_from_slice(s);
    Some(m)
}
