//! Tunnel decapsulation, after Zeek's tunnel packet analyzers (`src/packet_analysis/protocol/{vxlan,geneve,
//! gre,iptunnel,teredo,ayiya,gtpv1}/`), their port and dispatch tables (`scripts/base/packet-protocols/*/
//! main.zeek`) and the encapsulation model (`src/TunnelEncapsulation.h`).
//!
//! Two layers:
//!
//! * one parser per encapsulation ([`vxlan`], [`geneve`], [`gre`], [`ip_in_ip`], [`teredo`], [`ayiya`],
//!   [`gtpv1`]): given the bytes after the outer header, each returns a [`Step`]: the inner packet (a slice
//!   of the outer buffer and the link type it starts with), or why not, exactly as Zeek decides it;
//! * [`decapsulate`], which takes a decoded packet, chooses the parser as Zeek's IP and UDP analyzers do
//!   (IP protocols 4, 41, 47; the UDP responder port, then AYIYA and Teredo detection), walks nested
//!   encapsulations up to `Tunnel::max_depth`, decodes every inner packet with [`decode_frame_wire`] (all
//!   checks run), and reports per level what Zeek does to that level's connection (service confirmation,
//!   protocol violation, connection weirds).
//!
//! Nothing is allocated: the chain is a fixed array of [`MAX_LEVELS`] levels.
//!
//! Zeek state the decoder cannot see (a UDP connection's orientation, whether a tunnel analyzer was
//! already violated on it) comes from the caller through [`TunnelState`]; [`Stateless`] guesses it, which is
//! what a dispatcher needs to find the innermost 5-tuple.
//!
//! ## Using it
//!
//! ```
//! use weir_decode::tunnel::{decapsulate, Decap, Stateless, TunnelConfig, TunnelType};
//! use weir_decode::{decode_frame, DecodeConfig, Decoded, LinkType};
//!
//! // IPv4 192.168.0.1 -> 192.168.0.2 carrying IPv4 (protocol 4) 10.0.0.1 -> 10.0.0.2 UDP 1234 -> 53.
//! let frame = [
//!     0x45, 0, 0, 48, 0, 1, 0, 0, 64, 4, 0xf9, 0x75, 192, 168, 0, 1, 192, 168, 0, 2, // outer IPv4
//!     0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0x66, 0xce, 10, 0, 0, 1, 10, 0, 0, 2, // inner IPv4
//!     0x04, 0xd2, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00, // UDP
//! ];
//! let cfg = DecodeConfig::default();
//! let mut outer = Decoded::default();
//! let mut weirds = Vec::new();
//! decode_frame(&cfg, LinkType::RAW, &frame, &mut outer, &mut weirds).unwrap();
//! let mut d = Decap::default();
//! decapsulate(&cfg, &TunnelConfig::default(), &outer, 0, &mut Stateless, &mut d, &mut weirds);
//! assert_eq!(d.depth, 1);
//! assert_eq!(d.chain()[0].kind, TunnelType::Ip);
//! let (_, sport, _, dport, proto) = d.inner_tuple().unwrap();
//! assert_eq!((sport, dport, proto), (1234, 53, 17));
//! assert!(weirds.is_empty());
//! ```
//!
//! ## Differences from Zeek
//!
//! * Zeek's `PacketAnalyzer::max_depth` (25) counts analyzers across tunnel levels; here every inner packet
//!   starts a fresh count.
//! * GTPv1 control messages are not parsed: binpac exceptions inside their information elements (an
//!   analyzer violation) are not seen, and `gtp_invalid_info_element` (raised only when scripts handle the
//!   `gtpv1_*_pdp_ctx_*` events, none in base) is never raised.
//! * More than [`MAX_LEVELS`] nested encapsulations count as exceeding `Tunnel::max_depth`.

use crate::{
    be16, checksum, decode_frame_wire, push_weird, Addl, DecodeConfig, DecodeWeird, Decoded, IpPacket, LinkType, Stop,
    Transport, UdpHeader, WeirdScope,
};
use core::net::{IpAddr, Ipv4Addr};
use weir_api::log::{Field, FieldType, Schema};
use weir_api::Weird;

/// Zeek's `Tunnel::max_depth` default (`scripts/base/init-bare.zeek`).
pub const DEFAULT_TUNNEL_MAX_DEPTH: usize = 4;
/// Capacity of a [`Decap`] chain: encapsulations beyond it are treated as exceeding `Tunnel::max_depth`.
pub const MAX_LEVELS: usize = 8;

/// Zeek's default tunnel ports (`scripts/base/packet-protocols/*/main.zeek`). All are also in
/// `likely_server_ports`.
pub mod ports {
    pub const VXLAN: u16 = 4789;
    pub const GENEVE: u16 = 6081;
    pub const GRE: u16 = 4754;
    pub const TEREDO: u16 = 3544;
    pub const AYIYA: u16 = 5072;
    pub const GTPV1_U: u16 = 2152;
    pub const GTPV1_C: u16 = 2123;
    /// Every port above.
    pub const ALL: [u16; 7] = [VXLAN, GENEVE, GRE, TEREDO, AYIYA, GTPV1_U, GTPV1_C];
}

/// Zeek's `Tunnel::Type` values weir decapsulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TunnelType {
    /// IPv4/IPv6 in IPv4/IPv6 (IP protocols 4 and 41).
    Ip,
    /// GRE, including over UDP 4754, ERSPAN, Aruba and PPTP's enhanced GRE.
    Gre,
    Vxlan,
    Geneve,
    Teredo,
    Ayiya,
    Gtpv1,
}

impl TunnelType {
    /// As tunnel.log and `tunnel_parents`-carrying records write it (`Tunnel::VXLAN`).
    pub const fn zeek_name(self) -> &'static str {
        match self {
            TunnelType::Ip => "Tunnel::IP",
            TunnelType::Gre => "Tunnel::GRE",
            TunnelType::Vxlan => "Tunnel::VXLAN",
            TunnelType::Geneve => "Tunnel::GENEVE",
            TunnelType::Teredo => "Tunnel::TEREDO",
            TunnelType::Ayiya => "Tunnel::AYIYA",
            TunnelType::Gtpv1 => "Tunnel::GTPv1",
        }
    }

    /// The conn.log `service` of the carrying UDP connection once Zeek confirms the analyzer
    /// (the analyzer's tag name, lower-cased); None for IP and GRE tunnels, which Zeek never confirms.
    pub const fn service(self) -> Option<&'static str> {
        match self {
            TunnelType::Vxlan => Some("vxlan"),
            TunnelType::Geneve => Some("geneve"),
            TunnelType::Teredo => Some("teredo"),
            TunnelType::Ayiya => Some("ayiya"),
            TunnelType::Gtpv1 => Some("gtpv1"),
            TunnelType::Ip | TunnelType::Gre => None,
        }
    }

    /// The packet analyzer's canonical name (weird.log `source`, analyzer.log `analyzer_name`).
    pub const fn analyzer(self) -> &'static str {
        match self {
            TunnelType::Ip => "IPTUNNEL",
            TunnelType::Gre => "GRE",
            TunnelType::Vxlan => "VXLAN",
            TunnelType::Geneve => "GENEVE",
            TunnelType::Teredo => "TEREDO",
            TunnelType::Ayiya => "AYIYA",
            TunnelType::Gtpv1 => "GTPV1",
        }
    }
}

/// tunnel.log's action (`Tunnel::Action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelAction {
    Discover,
    Close,
    Expire,
}

impl TunnelAction {
    pub const fn zeek_name(self) -> &'static str {
        match self {
            TunnelAction::Discover => "Tunnel::DISCOVER",
            TunnelAction::Close => "Tunnel::CLOSE",
            TunnelAction::Expire => "Tunnel::EXPIRE",
        }
    }
}

/// Zeek's `Tunnel::expiration_interval` default (1 hour): an entry of `Tunnel::active` not read for this
/// long is logged with `Tunnel::EXPIRE`.
pub const TUNNEL_EXPIRATION_INTERVAL: f64 = 3600.0;
/// Zeek's `Tunnel::ip_tunnel_timeout` default (24 hours): IP/GRE tunnel state (and its uid) is kept this
/// long after the last packet.
pub const IP_TUNNEL_TIMEOUT: f64 = 86400.0;

/// tunnel.log's columns, typed as Zeek's baselines' `#types`.
pub fn tunnel_log_schema() -> Schema {
    Schema::with_conn_prefix(
        "tunnel",
        &[
            Field::new("tunnel_type", FieldType::Enum),
            Field::new("action", FieldType::Enum),
        ],
    )
}

/// Tunnel settings (Zeek's `Tunnel::*` constants).
#[derive(Clone, Debug)]
pub struct TunnelConfig {
    /// `Tunnel::max_depth` (default 4). As in Zeek, the outermost encapsulation is always entered; a
    /// packet already inside `max_depth` encapsulations raises `exceeded_tunnel_max_depth_in_tunnel`.
    /// Clamped to [`MAX_LEVELS`].
    pub max_depth: usize,
    /// `Tunnel::validate_vxlan_checksums` (default true): verify a VXLAN packet's non-zero UDP checksum.
    pub validate_vxlan_checksums: bool,
    /// `Tunnel::delay_teredo_confirmation` (default true).
    pub delay_teredo_confirmation: bool,
    /// `Tunnel::delay_gtp_confirmation` (default false).
    pub delay_gtp_confirmation: bool,
}

impl Default for TunnelConfig {
    fn default() -> Self {
        TunnelConfig {
            max_depth: DEFAULT_TUNNEL_MAX_DEPTH,
            validate_vxlan_checksums: true,
            delay_teredo_confirmation: true,
            delay_gtp_confirmation: false,
        }
    }
}

/// One level of encapsulation as seen on the packet that carries it (Zeek's `EncapsulatingConn` before
/// it is oriented): the carrying packet's addresses and, for UDP-based tunnels, ports, in this packet's
/// direction. For IP and GRE tunnels (also GRE over UDP) the ports are 0, as in Zeek.
///
/// Orienting it (orig/resp) is the engine's: UDP tunnels take their connection's orientation and uid;
/// IP/GRE tunnels are keyed by the unordered address pair and take the direction of the first packet seen
/// (Zeek's `IPTunnelAnalyzer::ip_tunnels`), with a fresh uid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encap {
    pub kind: TunnelType,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    /// The carrying packet's IP protocol (17 for UDP tunnels, 4/41/47 for IP and GRE).
    pub proto: u8,
}

impl Encap {
    /// The key of Zeek's IP-tunnel table (`IPTunnelAnalyzer::ip_tunnels`, used for IP and GRE tunnels): the
    /// two addresses, smaller first. The entry keeps the first packet's direction and its uid, and expires
    /// `Tunnel::ip_tunnel_timeout` ([`IP_TUNNEL_TIMEOUT`]) after its last packet.
    pub fn ip_pair(&self) -> (IpAddr, IpAddr) {
        if self.src < self.dst {
            (self.src, self.dst)
        } else {
            (self.dst, self.src)
        }
    }

    /// Whether the carrying "connection" is a UDP connection with its own uid (VXLAN, GENEVE, Teredo,
    /// AYIYA, GTPv1), as opposed to an IP-tunnel table entry (IP, GRE including GRE over UDP).
    pub fn is_udp_conn(&self) -> bool {
        !matches!(self.kind, TunnelType::Ip | TunnelType::Gre)
    }
}

const NO_ENCAP: Encap = Encap {
    kind: TunnelType::Ip,
    src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    src_port: 0,
    dst_port: 0,
    proto: 0,
};

/// When Zeek confirms a tunnel analyzer on the carrying connection (adds its [`TunnelType::service`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Confirm {
    #[default]
    No,
    /// Confirmed by this packet.
    Now,
    /// This packet is a valid encapsulation in its direction; confirm once both directions of the
    /// connection have sent one (Teredo with `delay_teredo_confirmation`, GTPv1 with `delay_gtp_confirmation`;
    /// for GTPv1 the most recent packet of each direction must have been valid).
    BothSides,
}

/// What Zeek's tunnel analyzer did to one level's carrying connection, beyond the inner packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LevelInfo {
    /// The tunnel analyzer that looked at this level's packet, if any.
    pub analyzer: Option<TunnelType>,
    pub confirm: Confirm,
    /// Zeek's `AnalyzerViolation` reason: analyzer.log row; the analyzer is off for this connection from
    /// now on (report it back through [`TunnelState::violated`]).
    pub violation: Option<&'static str>,
    /// A connection weird (the carrying UDP connection's uid). `.1` = forced: Teredo's header weirds are
    /// written only once the connection's Teredo analyzer is confirmed, `Teredo_bubble_with_payload` always.
    pub conn_weird: Option<(Weird, bool)>,
    /// GTPv1 packets that are valid encapsulations mark their direction valid; invalid ones (`Some(false)`)
    /// clear it (Zeek's `set_valid`). None: no change.
    pub valid_dir: Option<bool>,
    /// Zeek adds `X` (`HIST_ANALYZER_LIMIT_REACHED`) to the carrying connection's history.
    pub history_x: bool,
}

/// What the next layer is after a tunnel header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inner<'a> {
    pub kind: TunnelType,
    /// The inner packet's first layer: [`LinkType::ETHERNET`], [`LinkType::RAW`] (IP), or
    /// [`LinkType::IEEE802_11`] (Aruba).
    pub link: LinkType,
    /// The inner packet: a slice of the outer buffer.
    pub data: &'a [u8],
    /// True when Zeek's IP-in-IP checks (`IP::ParsePacket`) already ran: the inner length is exact.
    pub checked_ip: bool,
}

/// One parser's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// An inner packet to analyse.
    Inner(Inner<'a>),
    /// Zeek's analyzer accepted the header but forwards nothing (AYIYA non-forward opcode, GTPv1 control
    /// or non-user-plane message, unknown GENEVE/AYIYA next protocol, ARP in GENEVE): no weird.
    Nothing,
    /// An analyzer violation (`AnalyzerViolation(reason)`): no inner packet.
    Violation(&'static str),
    /// A weird on the carrying packet (flow scope, the analyzer as source): no inner packet. The addl is
    /// Zeek's.
    Weird(Weird, Addl),
    /// A weird about the carrying UDP connection (Teredo's header weirds): no inner packet.
    ConnWeird(Weird, &'static str),
}

/// VXLAN (`VXLAN.cc`): 8-byte header with the I flag; the inner packet is Ethernet.
/// Confirmation happens before the empty-packet check.
pub fn vxlan(payload: &[u8]) -> Step<'_> {
    if payload.len() < 8 {
        return Step::Violation("VXLAN header truncation");
    }
    if payload[0] & 0x08 == 0 {
        return Step::Violation("VXLAN 'I' flag not set");
    }
    let rest = &payload[8..];
    if rest.is_empty() {
        return Step::Weird(Weird::vxlan_empty_packet, Addl::None);
    }
    Step::Inner(Inner {
        kind: TunnelType::Vxlan,
        link: LinkType::ETHERNET,
        data: rest,
        checked_ip: false,
    })
}

/// The VNI of a VXLAN or GENEVE header (bytes 4..7).
pub fn vni(header: &[u8]) -> Option<u32> {
    match header.get(4..7) {
        Some(&[a, b, c]) => Some(u32::from_be_bytes([0, a, b, c])),
        _ => None,
    }
}

/// GENEVE (`Geneve.cc`): version 0, options of `(b0 & 0x3f) * 4` bytes, next protocol 0x6558 (Ethernet),
/// 0x0800/0x86dd (IP), 0x0806 (ARP: not IP), anything else unknown.
pub fn geneve(payload: &[u8]) -> Step<'_> {
    if payload.len() < 8 {
        return Step::Violation("Geneve header truncation");
    }
    let version = payload[0] >> 6;
    if version != 0 {
        return Step::Weird(Weird::geneve_invalid_version, Addl::Num(u32::from(version)));
    }
    let hdr = 8 + usize::from(payload[0] & 0x3f) * 4;
    if hdr > payload.len() {
        return Step::Violation("Geneve option header truncation");
    }
    let next = be16(payload, 2).unwrap_or(0);
    let rest = &payload[hdr..];
    if rest.is_empty() {
        return Step::Weird(Weird::geneve_empty_packet, Addl::None);
    }
    let link = match next {
        0x6558 => LinkType::ETHERNET,
        0x0800 | 0x86dd => LinkType::RAW,
        _ => return Step::Nothing,
    };
    Step::Inner(Inner {
        kind: TunnelType::Geneve,
        link,
        data: rest,
        checked_ip: false,
    })
}

/// GENEVE options `(class, critical, type, data)` as Zeek's `parse_options` yields them.
pub fn geneve_options(payload: &[u8]) -> impl Iterator<Item = (u16, bool, u8, &[u8])> {
    let all = match payload.first() {
        Some(b) if payload.len() >= 8 && payload.len() - 8 >= usize::from(b & 0x3f) * 4 => {
            &payload[8..8 + usize::from(b & 0x3f) * 4]
        }
        _ => &[][..],
    };
    let mut p = all;
    core::iter::from_fn(move || {
        if p.len() < 4 {
            return None;
        }
        let class = u16::from_be_bytes([p[0], p[1]]);
        let critical = p[2] & 0x80 != 0;
        let typ = p[2] & 0x7f;
        let len = usize::from(p[3] & 0x1f) * 4;
        let rest = &p[4..];
        if rest.len() < len {
            return None;
        }
        let (d, next) = rest.split_at(len);
        p = next;
        Some((class, critical, typ, d))
    })
}

/// Zeek's `IP::ParsePacket` for an inner packet named by `proto` (4 or 41): the weird when it fails.
fn parse_inner_ip(data: &[u8], proto: u8) -> Result<&[u8], Weird> {
    let total = match proto {
        41 => {
            if data.len() < 40 {
                return Err(Weird::truncated_inner_IP);
            }
            if data[0] & 0xf0 != 0x60 {
                return Err(Weird::invalid_inner_IP_version);
            }
            usize::from(be16(data, 4).unwrap_or(0)) + 40
        }
        4 => {
            if data.len() < 20 || data[0] >> 4 != 4 {
                return Err(Weird::invalid_inner_IP_version);
            }
            usize::from(be16(data, 2).unwrap_or(0))
        }
        _ => return Err(Weird::invalid_inner_IP_version),
    };
    match data.len().cmp(&total) {
        core::cmp::Ordering::Equal => Ok(data),
        core::cmp::Ordering::Less => Err(Weird::truncated_inner_IP),
        core::cmp::Ordering::Greater => Err(Weird::inner_IP_payload_length_mismatch),
    }
}

/// IPv4/IPv6 in IP (protocols 4 and 41), Zeek's IP-tunnel path (`IPTunnel.cc` with no GRE version): the
/// inner packet must be exactly as long as its header says.
pub fn ip_in_ip(payload: &[u8], proto: u8) -> Step<'_> {
    match parse_inner_ip(payload, proto) {
        Ok(d) => Step::Inner(Inner {
            kind: TunnelType::Ip,
            link: LinkType::RAW,
            data: d,
            checked_ip: true,
        }),
        Err(w) => Step::Weird(w, Addl::None),
    }
}

/// The GRE header length for `flags` (`gre_header_len`): checksum, key, sequence, acknowledgment.
fn gre_header_len(flags: u16) -> usize {
    let mut len = 4;
    for bit in [0x8000, 0x2000, 0x1000, 0x0080] {
        if flags & bit != 0 {
            len += 4;
        }
    }
    len
}

/// GRE (`GRE.cc`), also over UDP 4754: version 0 (IP by default; 0x6558 transparent Ethernet bridging;
/// ERSPAN I/II 0x88be and III 0x22eb; Aruba 0x8200-0x8370 and 0x9000 as 802.11) and version 1 (PPTP,
/// protocol 0x880b, PPP IPv4/IPv6). Version 1's inner IP passes Zeek's IP-in-IP checks.
pub fn gre(payload: &[u8]) -> Step<'_> {
    let len = payload.len();
    let w = |w: Weird| Step::Weird(w, Addl::None);
    if len < 4 {
        return w(Weird::truncated_GRE);
    }
    let flags_ver = be16(payload, 0).unwrap_or(0);
    let proto_typ = be16(payload, 2).unwrap_or(0);
    let version = flags_ver & 0x0007;
    let gre_len = gre_header_len(flags_ver);
    let pptp_len = if version == 1 { 4 } else { 0 };
    let mut eth_len = 0;
    let mut erspan_len = 0;
    let mut link = LinkType::RAW;
    if version > 1 {
        return Step::Weird(Weird::unknown_gre_version, Addl::KeyNum("version", u32::from(version)));
    }
    if version == 0 {
        if proto_typ == 0x6558 {
            if len <= gre_len + 14 {
                return w(Weird::truncated_GRE);
            }
            eth_len = 14;
            link = LinkType::ETHERNET;
        } else if proto_typ == 0x88be {
            if len <= gre_len + 14 {
                return w(Weird::truncated_GRE);
            }
            eth_len = 14;
            link = LinkType::ETHERNET;
            if flags_ver & 0x1000 != 0 {
                // ERSPAN type II (a sequence number is present).
                erspan_len = 8;
                if len < gre_len + eth_len + erspan_len {
                    return w(Weird::truncated_GRE);
                }
            }
        } else if proto_typ == 0x22eb {
            // ERSPAN type III.
            if len <= gre_len + 14 + 12 {
                return w(Weird::truncated_GRE);
            }
            erspan_len = 12;
            eth_len = 14;
            link = LinkType::ETHERNET;
            let opt = payload.get(gre_len + erspan_len - 1).is_some_and(|f| f & 0x01 != 0);
            if opt {
                if len > gre_len + erspan_len + 8 + eth_len {
                    erspan_len += 8;
                } else {
                    return w(Weird::truncated_GRE);
                }
            }
        } else if (proto_typ & 0x8200 == 0x8200 && proto_typ & 0x0f == 0)
            || (proto_typ & 0x8300 == 0x8300 && proto_typ & 0x0f == 0 && proto_typ <= 0x8370)
            || proto_typ == 0x9000
        {
            // Aruba: 802.11 frames.
            if len <= gre_len {
                return w(Weird::truncated_GRE);
            }
            link = LinkType::IEEE802_11;
        }
    } else if proto_typ != 0x880b {
        // Enhanced GRE payload must be PPTP.
        return Step::Weird(Weird::egre_protocol_type, Addl::KeyNum("proto", u32::from(proto_typ)));
    }
    if flags_ver & 0x4000 != 0 {
        return w(Weird::gre_routing);
    }
    if flags_ver & 0x0078 != 0 {
        return w(Weird::unknown_gre_flags);
    }
    if len < gre_len + pptp_len + eth_len + erspan_len {
        return w(Weird::truncated_GRE);
    }
    let rest = &payload[gre_len + pptp_len + erspan_len..];
    if version == 1 {
        let proto = match be16(payload, gre_len + 2) {
            Some(0x0021) => 4,
            Some(0x0057) => 41,
            _ => return w(Weird::non_ip_packet_in_encap),
        };
        return match parse_inner_ip(rest, proto) {
            Ok(d) => Step::Inner(Inner {
                kind: TunnelType::Gre,
                link: LinkType::RAW,
                data: d,
                checked_ip: true,
            }),
            Err(e) => Step::Weird(e, Addl::None),
        };
    }
    Step::Inner(Inner {
        kind: TunnelType::Gre,
        link,
        data: rest,
        checked_ip: false,
    })
}

/// The `.` of Zeek's patterns: anything but a newline.
fn any(b: u8) -> bool {
    b != b'\n'
}

/// Teredo's pattern (`Teredo.cc`), matched at the start of the payload (Zeek's `Specific_RE_Matcher::Match`
/// accepts the first prefix that matches): an IPv6 header whose source or destination starts with 2001:0000.
fn teredo_pattern(d: &[u8]) -> bool {
    let Some(d) = d.get(..40) else { return false };
    if !(0x60..=0x6f).contains(&d[0]) {
        return false;
    }
    let pfx = [0x20, 0x01, 0x00, 0x00];
    let alt =
        |at: usize| d[1..at].iter().all(|&b| any(b)) && d[at..at + 4] == pfx && d[at + 4..].iter().all(|&b| any(b));
    alt(8) || alt(24)
}

/// Zeek's `TeredoAnalyzer::DetectProtocol`: whether a UDP payload on another port is Teredo.
pub fn teredo_detect(data: &[u8]) -> bool {
    let len = data.len();
    if len < 40 || (len > 8 && data[0] >> 4 != 6 && (data[0] != 0 || (data[1] != 0 && data[1] != 1))) {
        return false;
    }
    if teredo_pattern(data) {
        return true;
    }
    let mut d = data;
    let mut val = u16::from(d[1]);
    if val == 1 {
        let skip = 13 + usize::from(d[2]) + usize::from(d[3]);
        if d.len() < skip {
            return false;
        }
        d = &d[skip..];
        if d.len() < 40 {
            return false;
        }
        val = be16(d, 0).unwrap_or(0);
    }
    if val == 0 {
        if d.len() < 8 {
            return false;
        }
        d = &d[8..];
        if d.len() < 40 {
            return false;
        }
        return d[0] >> 4 == 6;
    }
    false
}

/// A parsed Teredo encapsulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TeredoHdr<'a> {
    /// The authentication header, whole.
    pub auth: Option<&'a [u8]>,
    /// The 8-byte origin indication.
    pub origin: Option<&'a [u8]>,
    /// The inner IPv6 packet and what follows it.
    pub inner: &'a [u8],
}

/// Teredo's `DoParse`: Ok, or None with a connection weird or a plain failure.
fn teredo_parse(data: &[u8]) -> Result<TeredoHdr<'_>, Option<Weird>> {
    let mut d = data;
    let (mut origin, mut auth) = (None, None);
    loop {
        if d.len() < 2 {
            return Err(Some(Weird::truncated_Teredo));
        }
        let tag = be16(d, 0).unwrap_or(0);
        if tag == 0 {
            if origin.is_some() {
                return Err(None);
            }
            if d.len() < 8 {
                return Err(Some(Weird::truncated_Teredo_origin_indication));
            }
            origin = Some(&d[..8]);
            d = &d[8..];
        } else if tag == 1 {
            if origin.is_some() || auth.is_some() {
                return Err(None);
            }
            if d.len() < 4 {
                return Err(Some(Weird::truncated_Teredo_authentication));
            }
            // Zeek keeps this in 16 bits; with 8-bit lengths it cannot overflow.
            let tot = 4 + usize::from(d[2]) + usize::from(d[3]) + 8 + 1;
            if d.len() < tot {
                return Err(Some(Weird::truncated_Teredo_authentication));
            }
            auth = Some(&d[..tot]);
            d = &d[tot..];
        } else if tag >> 12 == 6 {
            if d.len() < 40 {
                return Err(Some(Weird::truncated_IPv6_in_Teredo));
            }
            return Ok(TeredoHdr { auth, origin, inner: d });
        } else {
            return Err(None);
        }
    }
}

/// Teredo (`Teredo.cc`): origin indication and authentication headers, then IPv6 whose length must match
/// the rest, except that a bubble (no next header, payload length 0) may carry trailing bytes
/// (`Teredo_bubble_with_payload`, a forced connection weird, returned by [`teredo_full`]).
pub fn teredo(payload: &[u8]) -> Step<'_> {
    teredo_full(payload).0
}

/// [`teredo`], plus the forced connection weird and the parsed header.
pub fn teredo_full(payload: &[u8]) -> (Step<'_>, Option<Weird>, Option<TeredoHdr<'_>>) {
    let te = match teredo_parse(payload) {
        Ok(te) => te,
        Err(Some(w)) => return (Step::ConnWeird(w, "Bad Teredo encapsulation"), None, None),
        Err(None) => return (Step::Violation("Bad Teredo encapsulation"), None, None),
    };
    let d = te.inner;
    let total = usize::from(be16(d, 4).unwrap_or(0)) + 40;
    let mut forced = None;
    if d.len() > total {
        if d[6] == 59 && total == 40 {
            forced = Some(Weird::Teredo_bubble_with_payload);
        } else {
            return (Step::Violation("Teredo payload length"), None, Some(te));
        }
    } else if d.len() < total {
        return (
            Step::Violation("Truncated Teredo or invalid inner IP version"),
            None,
            Some(te),
        );
    }
    let step = Step::Inner(Inner {
        kind: TunnelType::Teredo,
        link: LinkType::RAW,
        data: d,
        checked_ip: false,
    });
    (step, forced, Some(te))
}

/// Zeek's `AYIYAAnalyzer::DetectProtocol`.
pub fn ayiya_detect(data: &[u8]) -> bool {
    data.len() >= 3 && data[1] == 0x52 && data[2] == 0x11
}

/// AYIYA (`AYIYA.cc`): identity and signature lengths, opcode 1 (forward) only, next header 4 or 41.
/// Confirmation happens for opcode 1 before the empty-packet check.
pub fn ayiya(payload: &[u8]) -> Step<'_> {
    if payload.len() < 8 {
        return Step::Violation("Truncated AYIYA");
    }
    let hdr = 8 + (1usize << (payload[0] >> 4)) + usize::from(payload[1] >> 4) * 4;
    if hdr > payload.len() {
        return Step::Violation("Truncated AYIYA");
    }
    if payload[2] & 0x0f != 1 {
        return Step::Nothing;
    }
    let next = payload[3];
    let rest = &payload[hdr..];
    if rest.is_empty() {
        return Step::Weird(Weird::ayiya_empty_packet, Addl::None);
    }
    if next != 4 && next != 41 {
        return Step::Nothing;
    }
    Step::Inner(Inner {
        kind: TunnelType::Ayiya,
        link: LinkType::RAW,
        data: rest,
        checked_ip: false,
    })
}

/// GTPv1 header facts (`gtpv1-protocol.pac`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GtpHdr {
    pub flags: u8,
    pub msg_type: u8,
    pub teid: u32,
    /// Header length including the optional fields and extension headers.
    pub hdr_len: usize,
}

/// Parses the GTPv1 header as binpac does (`&until` extension headers); Err = binpac exception.
fn gtp_header(d: &[u8]) -> Result<GtpHdr, ()> {
    if d.len() < 8 {
        return Err(());
    }
    let flags = d[0];
    let mut off = 8;
    if flags & 0x07 != 0 {
        if d.len() < 12 {
            return Err(());
        }
        off = 12;
    }
    if flags & 0x04 != 0 {
        loop {
            let units = usize::from(*d.get(off).ok_or(())?);
            // contents: length * 4 - 2 bytes; a 0 length is a negative length in binpac.
            let contents = (units * 4).checked_sub(2).ok_or(())?;
            let next = *d.get(off + 1 + contents).ok_or(())?;
            off += 2 + contents;
            if next == 0 {
                break;
            }
        }
    }
    Ok(GtpHdr {
        flags,
        msg_type: d[1],
        teid: u32::from_be_bytes([d[4], d[5], d[6], d[7]]),
        hdr_len: off,
    })
}

/// The GTPv1 header (flags, message type, TEID, length with extension headers), or None where binpac
/// would throw.
pub fn gtpv1_header(payload: &[u8]) -> Option<GtpHdr> {
    gtp_header(payload).ok()
}

/// GTPv1 (`GTPv1.cc`, `gtpv1-analyzer.pac`): version 1, protocol type GTP, message 255 (G-PDU) carries an
/// IPv4/IPv6 packet that must be exactly as long as its header says. Control messages (16..21) and other
/// types forward nothing. `in_gtp`: the carrying packet is itself inside GTPv1 (a violation).
pub fn gtpv1(payload: &[u8], in_gtp: bool) -> Step<'_> {
    let Ok(h) = gtp_header(payload) else {
        return Step::Violation("Binpac exception");
    };
    if in_gtp {
        return Step::Violation("GTP-in-GTP");
    }
    if h.flags >> 5 != 1 {
        return Step::Violation("GTPv1 bad Version");
    }
    if h.flags & 0x10 == 0 || h.msg_type != 255 {
        return Step::Nothing;
    }
    let pkt = &payload[h.hdr_len.min(payload.len())..];
    if pkt.len() < 20 {
        return Step::Violation("Truncated GTPv1");
    }
    let proto = match pkt[0] >> 4 {
        4 => 4,
        6 => 41,
        _ => return Step::Violation("non-IP packet in GTPv1"),
    };
    match parse_inner_ip(pkt, proto) {
        Ok(d) => Step::Inner(Inner {
            kind: TunnelType::Gtpv1,
            link: LinkType::RAW,
            data: d,
            checked_ip: true,
        }),
        Err(Weird::invalid_inner_IP_version) => Step::Violation("Invalid IP version in wrapped packet"),
        Err(Weird::truncated_inner_IP) => Step::Violation("Truncated GTPv1"),
        Err(_) => Step::Violation("GTPv1 payload length"),
    }
}

/// The UDP tunnel analyzer Zeek's UDP analyzer forwards to by responder port (`udp/UDP.cc`).
pub fn udp_port_analyzer(resp_port: u16) -> Option<TunnelType> {
    match resp_port {
        ports::VXLAN => Some(TunnelType::Vxlan),
        ports::GENEVE => Some(TunnelType::Geneve),
        ports::GRE => Some(TunnelType::Gre),
        ports::TEREDO => Some(TunnelType::Teredo),
        ports::AYIYA => Some(TunnelType::Ayiya),
        ports::GTPV1_U | ports::GTPV1_C => Some(TunnelType::Gtpv1),
        _ => None,
    }
}

/// The responder port Zeek would most likely give a UDP connection from this one packet: the source
/// port when it is a tunnel port and the destination is not (Zeek's `likely_server_ports` flip), else the
/// destination port.
pub fn guess_resp_port(udp: &UdpHeader<'_>) -> u16 {
    if ports::ALL.contains(&udp.src_port) && !ports::ALL.contains(&udp.dst_port) {
        udp.src_port
    } else {
        udp.dst_port
    }
}

/// A cheap pre-check for a dispatcher: false when [`decapsulate`] certainly finds no tunnel in `d` (not IP
/// protocol 4, 41 or 47, and not UDP on a tunnel port or looking like AYIYA or Teredo).
pub fn may_be_tunnel(d: &Decoded<'_>) -> bool {
    match d.transport {
        Some(Transport::Other(4 | 41 | 47, _)) => true,
        Some(Transport::Udp(u)) => {
            ports::ALL.contains(&u.dst_port)
                || ports::ALL.contains(&u.src_port)
                || ayiya_detect(u.payload)
                || teredo_detect(u.payload)
        }
        _ => false,
    }
}

/// Connection state Zeek consults while decapsulating, which the decoder cannot see. `level` is the index
/// of the carrying packet in [`Decap::levels`].
pub trait TunnelState {
    /// Zeek's `c->RespPort()` of the UDP connection of `udp` (after its `likely_server_ports` flip).
    fn udp_resp_port(&mut self, level: usize, ip: &IpPacket<'_>, udp: &UdpHeader<'_>) -> u16 {
        let _ = (level, ip);
        guess_resp_port(udp)
    }

    /// Zeek's `AnalyzerViolated(conn)` for `kind` on the connection of `udp`: a violation earlier on that
    /// connection turns the analyzer off (VXLAN, GENEVE, Teredo, AYIYA check it; GTPv1 does not).
    fn violated(&mut self, level: usize, ip: &IpPacket<'_>, udp: &UdpHeader<'_>, kind: TunnelType) -> bool {
        let _ = (level, ip, udp, kind);
        false
    }
}

/// No connection state: responder ports are guessed ([`guess_resp_port`]), nothing is violated. For the
/// dispatcher, and for tests.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stateless;

impl TunnelState for Stateless {}

/// The result of [`decapsulate`]: every level's packet, the encapsulations between them, and what Zeek's
/// tunnel analyzers did at each level.
#[derive(Clone, Copy, Debug)]
pub struct Decap<'a> {
    /// `levels[0]` is the packet given; `levels[i]` (1 ≤ i ≤ `depth`) was found inside `encaps[i - 1]`.
    pub levels: [Decoded<'a>; MAX_LEVELS + 1],
    pub encaps: [Encap; MAX_LEVELS],
    /// `infos[i]`: the tunnel analysis of `levels[i]`'s packet (its carrying connection).
    pub infos: [LevelInfo; MAX_LEVELS + 1],
    /// Number of encapsulations entered.
    pub depth: usize,
    /// Outcome of decoding the innermost level (`levels[depth]`); `Ok` when `depth` is 0.
    pub inner_result: Result<(), Stop>,
    /// The innermost level's frame as it was decoded (`depth` > 0): its first layer, its bytes and its
    /// wire length. Decoding it again with [`crate::decode_frame_wire`] gives `levels[depth]` back, so
    /// the innermost packet can be handed to another thread without its carriers.
    pub inner_frame: Option<(LinkType, &'a [u8], usize)>,
    /// `amsdu[i]`: the 802.11 A-MSDU subframes of `levels[i]`'s frame still to analyse, and how many bytes
    /// of them were not captured; see [`next_subframe`].
    pub amsdu: [Option<(&'a [u8], usize)>; MAX_LEVELS + 1],
}

impl Default for Decap<'_> {
    fn default() -> Self {
        Decap {
            levels: [Decoded::default(); MAX_LEVELS + 1],
            encaps: [NO_ENCAP; MAX_LEVELS],
            infos: [LevelInfo::default(); MAX_LEVELS + 1],
            depth: 0,
            inner_result: Ok(()),
            inner_frame: None,
            amsdu: [None; MAX_LEVELS + 1],
        }
    }
}

impl<'a> Decap<'a> {
    /// The encapsulation chain, outermost first (Zeek's `EncapsulationStack`).
    pub fn chain(&self) -> &[Encap] {
        &self.encaps[..self.depth]
    }

    /// The innermost packet (the given one when there is no tunnel).
    pub fn innermost(&self) -> &Decoded<'a> {
        &self.levels[self.depth]
    }

    /// The innermost packet's connection 5-tuple `(src, src_port, dst, dst_port, proto)` in packet
    /// direction (ICMP: type and code as ports), if it decoded to a transport header.
    pub fn inner_tuple(&self) -> Option<(IpAddr, u16, IpAddr, u16, u8)> {
        if self.inner_result.is_err() {
            return None;
        }
        let d = self.innermost();
        let ip = d.ip?;
        let (sp, dp) = match d.transport? {
            Transport::Tcp(t) => (t.src_port, t.dst_port),
            Transport::Udp(u) => (u.src_port, u.dst_port),
            Transport::Icmp(i) => (u16::from(i.icmp_type), u16::from(i.code)),
            Transport::Other(..) => (0, 0),
        };
        Some((ip.src, sp, ip.dst, dp, ip.proto))
    }
}

fn level_weird(
    weirds: &mut Vec<DecodeWeird>,
    ip: &IpPacket<'_>,
    level: usize,
    w: Weird,
    addl: Addl,
    src: &'static str,
) {
    push_weird(weirds, w, WeirdScope::Flow(ip.src, ip.dst), src, addl);
    if let Some(last) = weirds.last_mut() {
        last.in_tunnel = level > 0;
    }
}

/// Decapsulates `outer` (a decoded, non-fragment or reassembled packet) as Zeek's packet analysis does,
/// level by level, into `out`. `wire_missing` is how many bytes of the outer frame were not captured
/// (wire length − captured length); UDP tunnels carry it into the inner packet's wire length as Zeek's
/// `build_inner_packet` does.
///
/// Weirds are pushed to `weirds` with Zeek's names, scopes (flow: the carrying packet's addresses) and
/// sources; weirds about packets inside a tunnel have `in_tunnel` set. `out.depth == 0` means no tunnel
/// (or the outermost analyzer refused: see `out.infos[0]`).
pub fn decapsulate<'a, S: TunnelState>(
    cfg: &DecodeConfig,
    tcfg: &TunnelConfig,
    outer: &Decoded<'a>,
    wire_missing: usize,
    state: &mut S,
    out: &mut Decap<'a>,
    weirds: &mut Vec<DecodeWeird>,
) {
    out.levels[0] = *outer;
    out.infos = [LevelInfo::default(); MAX_LEVELS + 1];
    out.depth = 0;
    out.inner_result = Ok(());
    out.inner_frame = None;
    out.amsdu = [None; MAX_LEVELS + 1];
    walk(cfg, tcfg, wire_missing, state, out, weirds);
}

/// Goes on with the next 802.11 A-MSDU subframe found inside a tunnel by [`decapsulate`] (or by an
/// earlier call): Zeek analyses each subframe as a packet inside the same encapsulations. The deepest
/// pending subframe is decoded into `out.levels[level]` and decapsulated further from there; levels
/// below `level` are unchanged and were analysed already. Returns that level, or None when no subframe
/// is left.
pub fn next_subframe<'a, S: TunnelState>(
    cfg: &DecodeConfig,
    tcfg: &TunnelConfig,
    state: &mut S,
    out: &mut Decap<'a>,
    weirds: &mut Vec<DecodeWeird>,
) -> Option<usize> {
    let level = out.amsdu.iter().rposition(Option::is_some)?;
    let (rest, missing) = out.amsdu[level].take()?;
    let wire = rest.len() + missing;
    let first = weirds.len();
    let mut dec = Decoded::default();
    let r = decode_frame_wire(cfg, LinkType::AMSDU_SUBFRAMES, rest, wire, &mut dec, weirds);
    for w in &mut weirds[first..] {
        w.in_tunnel = true;
    }
    out.levels[level] = dec;
    out.depth = level;
    for info in &mut out.infos[level..] {
        *info = LevelInfo::default();
    }
    out.inner_result = r;
    out.inner_frame = Some((LinkType::AMSDU_SUBFRAMES, rest, wire));
    out.amsdu[level] = (!dec.amsdu_rest.is_empty()).then_some((dec.amsdu_rest, missing));
    if r.is_ok() {
        walk(cfg, tcfg, missing, state, out, weirds);
    }
    Some(level)
}

/// The decapsulation loop of [`decapsulate`], from `out.levels[out.depth]` on.
fn walk<S: TunnelState>(
    cfg: &DecodeConfig,
    tcfg: &TunnelConfig,
    wire_missing: usize,
    state: &mut S,
    out: &mut Decap<'_>,
    weirds: &mut Vec<DecodeWeird>,
) {
    let max_depth = tcfg.max_depth.min(MAX_LEVELS);
    let mut missing = wire_missing;
    loop {
        let level = out.depth;
        let d = out.levels[level];
        let Some(ip) = d.ip else { return };
        if ip.frag.is_some() {
            return;
        }
        let Some(t) = d.transport else { return };
        let in_gtp = level > 0 && out.encaps[level - 1].kind == TunnelType::Gtpv1;
        let info = &mut out.infos[level];
        // Which analyzer, and on what bytes.
        let (kind, payload, udp) = match t {
            Transport::Other(4 | 41, seg) => (TunnelType::Ip, seg, None),
            Transport::Other(47, seg) => (TunnelType::Gre, seg, None),
            Transport::Udp(u) => {
                // Zeek's UDP analyzer forwards only packets whose checksum passed (or was not verified).
                if checksum::should_verify(cfg, &ip) && missing == 0 && !checksum::transport_ok(&ip) {
                    let vx_skip = !tcfg.validate_vxlan_checksums
                        && u.dst_port == ports::VXLAN
                        && u.payload.len() > 8 + 14
                        && u.payload[0] & 0x08 != 0;
                    if !vx_skip {
                        return;
                    }
                }
                let resp = state.udp_resp_port(level, &ip, &u);
                let kind = match udp_port_analyzer(resp) {
                    Some(k) => k,
                    None if ayiya_detect(u.payload) => TunnelType::Ayiya,
                    None if teredo_detect(u.payload) => TunnelType::Teredo,
                    None => return,
                };
                (kind, u.payload, Some(u))
            }
            _ => return,
        };
        info.analyzer = Some(kind);
        let src = kind.analyzer();
        let exceeded = level > 0 && level >= max_depth || level == MAX_LEVELS;
        // Per-analyzer preamble: violated analyzers stop silently; the depth check.
        let step = match (kind, udp) {
            (TunnelType::Vxlan | TunnelType::Geneve | TunnelType::Teredo | TunnelType::Ayiya, Some(u)) => {
                if state.violated(level, &ip, &u, kind) {
                    return;
                }
                if exceeded {
                    info.history_x = true;
                    level_weird(weirds, &ip, level, Weird::exceeded_tunnel_max_depth, Addl::None, src);
                    return;
                }
                match kind {
                    TunnelType::Vxlan => {
                        let s = vxlan(payload);
                        if matches!(s, Step::Inner(_) | Step::Weird(Weird::vxlan_empty_packet, _)) {
                            info.confirm = Confirm::Now;
                        }
                        s
                    }
                    TunnelType::Geneve => {
                        let s = geneve(payload);
                        if matches!(
                            s,
                            Step::Inner(_) | Step::Nothing | Step::Weird(Weird::geneve_empty_packet, _)
                        ) {
                            info.confirm = Confirm::Now;
                        }
                        s
                    }
                    TunnelType::Ayiya => {
                        let s = ayiya(payload);
                        // Confirmed for a forward opcode (any next header), before the empty check.
                        if payload.len() >= 8 && !matches!(s, Step::Violation(_)) && payload[2] & 0x0f == 1 {
                            info.confirm = Confirm::Now;
                        }
                        s
                    }
                    _ => {
                        let (s, forced, _) = teredo_full(payload);
                        if let Some(w) = forced {
                            info.conn_weird = Some((w, true));
                        }
                        if let Step::Inner(_) = s {
                            info.confirm = if tcfg.delay_teredo_confirmation {
                                Confirm::BothSides
                            } else {
                                Confirm::Now
                            };
                        }
                        s
                    }
                }
            }
            (TunnelType::Gtpv1, Some(_)) => {
                if gtp_header(payload).is_ok() {
                    info.valid_dir = Some(false);
                }
                if level > 0 && level >= max_depth && gtp_header(payload).is_ok() {
                    // binpac's `a->Weird("tunnel_depth")`: no packet, so a net weird.
                    push_weird(weirds, Weird::tunnel_depth, WeirdScope::Net, src, Addl::None);
                    if let Some(last) = weirds.last_mut() {
                        last.in_tunnel = false;
                    }
                    return;
                }
                let s = gtpv1(payload, in_gtp);
                if let Step::Inner(_) = s {
                    info.valid_dir = Some(true);
                    info.confirm = if tcfg.delay_gtp_confirmation {
                        Confirm::BothSides
                    } else {
                        Confirm::Now
                    };
                }
                s
            }
            (TunnelType::Ip, _) => {
                if exceeded {
                    level_weird(
                        weirds,
                        &ip,
                        level,
                        Weird::exceeded_tunnel_max_depth,
                        Addl::None,
                        "IPTUNNEL",
                    );
                    return;
                }
                let p = if let Transport::Other(p, _) = t { p } else { 0 };
                ip_in_ip(payload, p)
            }
            (TunnelType::Gre, _) => {
                let s = gre(payload);
                if let Step::Inner(_) = s {
                    // GRE hands over to IPTUNNEL, which checks the depth.
                    if exceeded {
                        level_weird(
                            weirds,
                            &ip,
                            level,
                            Weird::exceeded_tunnel_max_depth,
                            Addl::None,
                            "IPTUNNEL",
                        );
                        return;
                    }
                }
                s
            }
            _ => return,
        };
        let inner = match step {
            Step::Inner(i) => i,
            Step::Nothing => return,
            Step::Violation(r) => {
                info.violation = Some(r);
                return;
            }
            Step::Weird(w, addl) => {
                // GRE's version-1 inner IP checks are IPTUNNEL's.
                let source = match w {
                    Weird::truncated_inner_IP
                    | Weird::invalid_inner_IP_version
                    | Weird::inner_IP_payload_length_mismatch => "IPTUNNEL",
                    _ => src,
                };
                level_weird(weirds, &ip, level, w, addl, source);
                return;
            }
            Step::ConnWeird(w, r) => {
                info.conn_weird = Some((w, false));
                info.violation = Some(r);
                return;
            }
        };
        let (src_port, dst_port) = match (kind, udp) {
            (TunnelType::Gre, _) | (TunnelType::Ip, _) => (0, 0),
            (_, Some(u)) => (u.src_port, u.dst_port),
            _ => (0, 0),
        };
        out.encaps[level] = Encap {
            kind: inner.kind,
            src: ip.src,
            dst: ip.dst,
            src_port,
            dst_port,
            proto: ip.proto,
        };
        out.depth = level + 1;
        // Inner wire length: UDP tunnels keep the outer packet's uncaptured bytes; IP and GRE tunnels
        // start a packet whose wire length is what is there.
        if udp.is_none() || kind == TunnelType::Gre {
            missing = 0;
        }
        let wire = inner.data.len() + missing;
        let first = weirds.len();
        let mut dec = Decoded::default();
        let r = decode_frame_wire(cfg, inner.link, inner.data, wire, &mut dec, weirds);
        let mut r = r;
        if kind == TunnelType::Teredo {
            // A bubble: Zeek's IP analyzer says nothing about a missing next header inside Teredo.
            if let Some(pos) = weirds[first..].iter().position(|w| w.weird == Weird::ipv6_no_next) {
                weirds.remove(first + pos);
                r = Ok(());
            }
        }
        for w in &mut weirds[first..] {
            w.in_tunnel = true;
        }
        out.levels[level + 1] = dec;
        out.inner_result = r;
        out.inner_frame = Some((inner.link, inner.data, wire));
        out.amsdu[level + 1] = (!dec.amsdu_rest.is_empty()).then_some((dec.amsdu_rest, missing));
        if r.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::ones_sum;

    fn ip4(proto: u8, src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
        let len = (20 + payload.len()) as u16;
        let mut h = vec![0x45, 0, (len >> 8) as u8, len as u8, 0, 1, 0, 0, 64, proto, 0, 0];
        h.extend_from_slice(&src);
        h.extend_from_slice(&dst);
        let c = !ones_sum(0, &h);
        h[10] = (c >> 8) as u8;
        h[11] = c as u8;
        h.extend_from_slice(payload);
        h
    }

    fn ip6(nh: u8, src: [u8; 16], dst: [u8; 16], payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u16;
        let mut h = vec![0x60, 0, 0, 0, (len >> 8) as u8, len as u8, nh, 64];
        h.extend_from_slice(&src);
        h.extend_from_slice(&dst);
        h.extend_from_slice(payload);
        h
    }

    /// UDP with checksum 0 (not verified over IPv4).
    fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let len = (8 + payload.len()) as u16;
        let mut u = sport.to_be_bytes().to_vec();
        u.extend_from_slice(&dport.to_be_bytes());
        u.extend_from_slice(&len.to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(payload);
        u
    }

    fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut e = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
        e.extend_from_slice(&ethertype.to_be_bytes());
        e.extend_from_slice(payload);
        e
    }

    const O1: [u8; 4] = [192, 168, 0, 1];
    const O2: [u8; 4] = [192, 168, 0, 2];

    /// Inner IPv4 10.0.0.1:1234 -> 10.0.0.2:53 UDP, empty.
    fn inner4() -> Vec<u8> {
        ip4(17, [10, 0, 0, 1], [10, 0, 0, 2], &udp(1234, 53, &[]))
    }

    fn inner6() -> Vec<u8> {
        let mut s = [0u8; 16];
        s[..4].copy_from_slice(&[0x20, 0x01, 0, 0]);
        s[15] = 1;
        let mut d = [0u8; 16];
        d[..2].copy_from_slice(&[0x20, 0x02]);
        d[15] = 2;
        ip6(17, s, d, &udp(1234, 53, &[]))
    }

    /// Decodes `frame` as raw IP and decapsulates it with the defaults.
    fn run<'a>(frame: &'a [u8], tcfg: &TunnelConfig) -> (Decap<'a>, Vec<DecodeWeird>) {
        let cfg = DecodeConfig::default();
        let mut d = Decoded::default();
        let mut w = Vec::new();
        decode_frame_wire(&cfg, LinkType::RAW, frame, frame.len(), &mut d, &mut w).unwrap();
        let mut out = Decap::default();
        decapsulate(&cfg, tcfg, &d, 0, &mut Stateless, &mut out, &mut w);
        (out, w)
    }

    fn over_udp(dport: u16, payload: &[u8]) -> Vec<u8> {
        ip4(17, O1, O2, &udp(40000, dport, payload))
    }

    fn inner_is_dns(out: &Decap<'_>) {
        let (_, sp, _, dp, p) = out.inner_tuple().expect("inner tuple");
        assert_eq!((sp, dp, p), (1234, 53, 17));
    }

    #[test]
    fn names_and_schema() {
        assert_eq!(TunnelType::Vxlan.zeek_name(), "Tunnel::VXLAN");
        assert_eq!(TunnelType::Gtpv1.zeek_name(), "Tunnel::GTPv1");
        assert_eq!(TunnelType::Ip.zeek_name(), "Tunnel::IP");
        assert_eq!(TunnelType::Teredo.service(), Some("teredo"));
        assert_eq!(TunnelType::Gre.service(), None);
        assert_eq!(TunnelAction::Discover.zeek_name(), "Tunnel::DISCOVER");
        let s = tunnel_log_schema();
        let types: Vec<String> = s.fields.iter().map(|f| f.ty.zeek_name()).collect();
        assert_eq!(
            types,
            ["time", "string", "addr", "port", "addr", "port", "enum", "enum"]
        );
        assert_eq!(s.index_of("tunnel_type"), Some(6));
        assert_eq!(TunnelConfig::default().max_depth, 4);
    }

    #[test]
    fn vxlan_cases() {
        let mut p = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
        p.extend_from_slice(&eth(0x0800, &inner4()));
        let f = over_udp(4789, &p);
        let (out, w) = run(&f, &TunnelConfig::default());
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(out.depth, 1);
        assert_eq!(out.encaps[0].kind, TunnelType::Vxlan);
        assert_eq!(
            (out.encaps[0].src_port, out.encaps[0].dst_port, out.encaps[0].proto),
            (40000, 4789, 17)
        );
        assert_eq!(out.infos[0].confirm, Confirm::Now);
        assert_eq!(vni(&p), Some(42));
        inner_is_dns(&out);
        // Truncated header, missing I flag: violations, no weird.
        assert_eq!(vxlan(&p[..5]), Step::Violation("VXLAN header truncation"));
        let mut noi = p.clone();
        noi[0] = 0;
        let frame = over_udp(4789, &noi);
        let (out, w) = run(&frame, &TunnelConfig::default());
        assert_eq!((out.depth, out.infos[0].violation), (0, Some("VXLAN 'I' flag not set")));
        assert!(w.is_empty());
        // Header only: confirmed, then vxlan_empty_packet (flow scope, source VXLAN).
        let frame = over_udp(4789, &p[..8]);
        let (out, w) = run(&frame, &TunnelConfig::default());
        assert_eq!((out.depth, out.infos[0].confirm), (0, Confirm::Now));
        assert_eq!(
            (w[0].weird, w[0].source, w[0].in_tunnel),
            (Weird::vxlan_empty_packet, "VXLAN", false)
        );
        assert!(matches!(w[0].scope, WeirdScope::Flow(..)));
        // Source port 4789 to an ephemeral port: the responder is the VXLAN side.
        let f = ip4(17, O1, O2, &udp(4789, 40000, &p));
        assert_eq!(run(&f, &TunnelConfig::default()).0.depth, 1);
        // Another port: not VXLAN.
        assert_eq!(run(&over_udp(4790, &p), &TunnelConfig::default()).0.depth, 0);
    }

    #[test]
    fn geneve_cases() {
        // Options: 2 words (one option, class 0x0102, critical, type 3, 1 word of data).
        let mut p = vec![
            0x02, 0, 0x08, 0x00, 0, 0, 7, 0, 0x01, 0x02, 0x83, 0x01, 0xde, 0xad, 0xbe, 0xef,
        ];
        p.extend_from_slice(&inner4());
        let frame = over_udp(6081, &p);
        let (out, w) = run(&frame, &TunnelConfig::default());
        assert!(w.is_empty(), "{w:?}");
        assert_eq!((out.depth, out.encaps[0].kind), (1, TunnelType::Geneve));
        inner_is_dns(&out);
        let opts: Vec<_> = geneve_options(&p).collect();
        assert_eq!(opts, vec![(0x0102, true, 3, &[0xde, 0xad, 0xbe, 0xef][..])]);
        // Version 1.
        let mut v1 = p.clone();
        v1[0] |= 0x40;
        let frame = over_udp(6081, &v1);
        let (out, w) = run(&frame, &TunnelConfig::default());
        assert_eq!(out.depth, 0);
        assert_eq!(
            (w[0].weird, w[0].detail, w[0].source),
            (Weird::geneve_invalid_version, Addl::Num(1), "GENEVE")
        );
        // Options longer than the packet.
        assert_eq!(geneve(&p[..12]), Step::Violation("Geneve option header truncation"));
        assert_eq!(geneve(&p[..7]), Step::Violation("Geneve header truncation"));
        // ARP inside: nothing to analyse.
        let mut arp = vec![0, 0, 0x08, 0x06, 0, 0, 7, 0];
        arp.extend_from_slice(&[0u8; 28]);
        assert_eq!(geneve(&arp), Step::Nothing);
        // Ethernet inside.
        let mut e = vec![0, 0, 0x65, 0x58, 0, 0, 7, 0];
        e.extend_from_slice(&eth(0x0800, &inner4()));
        inner_is_dns(&run(&over_udp(6081, &e), &TunnelConfig::default()).0);
        assert_eq!(geneve(&e[..8]), Step::Weird(Weird::geneve_empty_packet, Addl::None));
    }

    fn gre_frame(hdr: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut g = hdr.to_vec();
        g.extend_from_slice(payload);
        ip4(47, O1, O2, &g)
    }

    /// Aruba GRE (0x8200) carrying an 802.11 QoS data frame (From DS) that is an A-MSDU of `msdus`, each
    /// behind LLC/SNAP for IPv4, then `tail`.
    fn aruba_amsdu(msdus: &[Vec<u8>], tail: &[u8]) -> Vec<u8> {
        let mut w = vec![0x88, 0x02, 0, 0];
        w.extend_from_slice(&[1; 18]);
        w.extend_from_slice(&[0, 0, 0x80, 0]);
        for m in msdus {
            let body = [&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00][..], m].concat();
            w.extend_from_slice(&[2; 12]);
            w.extend_from_slice(&(body.len() as u16).to_be_bytes());
            w.extend_from_slice(&body);
            w.resize(w.len() + body.len() % 4, 0);
        }
        w.extend_from_slice(tail);
        gre_frame(&[0, 0, 0x82, 0x00], &w)
    }

    #[test]
    fn aruba_amsdu_subframes_one_by_one() {
        // A-MSDU: DNS 10.0.0.1 -> 10.0.0.2, then IPv4-in-IPv4 carrying it, then a cut subframe.
        let tunnelled = ip4(4, [10, 9, 9, 1], [10, 9, 9, 2], &inner4());
        let f = aruba_amsdu(&[inner4(), tunnelled], &[7; 5]);
        let cfg = DecodeConfig::default();
        let tcfg = TunnelConfig::default();
        let (mut out, mut w) = run(&f, &tcfg);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!((out.depth, out.chain()[0].kind), (1, TunnelType::Gre));
        inner_is_dns(&out);
        // The second subframe: an IP tunnel inside, analysed from level 1 on.
        assert_eq!(next_subframe(&cfg, &tcfg, &mut Stateless, &mut out, &mut w), Some(1));
        assert_eq!((out.depth, out.chain()[1].kind), (2, TunnelType::Ip));
        assert_eq!(out.chain()[0].kind, TunnelType::Gre);
        inner_is_dns(&out);
        // The third is cut: its weird is about a packet inside a tunnel.
        assert_eq!(next_subframe(&cfg, &tcfg, &mut Stateless, &mut out, &mut w), Some(1));
        assert_eq!(out.depth, 1);
        assert!(out.inner_result.is_err());
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].log_name(), "truncated_802_11_amsdu_header_in_tunnel");
        assert_eq!(next_subframe(&cfg, &tcfg, &mut Stateless, &mut out, &mut w), None);
    }

    #[test]
    fn gre_cases() {
        // Version 0, key + sequence, IPv4.
        let f = gre_frame(&[0x30, 0, 0x08, 0x00, 0, 0, 0, 9, 0, 0, 0, 1], &inner4());
        let (out, w) = run(&f, &TunnelConfig::default());
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(
            (out.depth, out.encaps[0].kind, out.encaps[0].proto),
            (1, TunnelType::Gre, 47)
        );
        assert_eq!((out.encaps[0].src_port, out.encaps[0].dst_port), (0, 0));
        inner_is_dns(&out);
        // Transparent Ethernet bridging.
        inner_is_dns(
            &run(
                &gre_frame(&[0, 0, 0x65, 0x58], &eth(0x0800, &inner4())),
                &TunnelConfig::default(),
            )
            .0,
        );
        // ERSPAN type II: sequence number, 8-byte ERSPAN header, Ethernet.
        let mut e2 = vec![0u8; 8];
        e2.extend_from_slice(&eth(0x0800, &inner4()));
        let f = gre_frame(&[0x10, 0, 0x88, 0xbe, 0, 0, 0, 1], &e2);
        inner_is_dns(&run(&f, &TunnelConfig::default()).0);
        // ERSPAN type III with the optional 8-byte subheader (O bit in the last header byte).
        let mut e3 = vec![0u8; 11];
        e3.push(0x01);
        e3.extend_from_slice(&[0u8; 8]);
        e3.extend_from_slice(&eth(0x0800, &inner4()));
        inner_is_dns(&run(&gre_frame(&[0, 0, 0x22, 0xeb], &e3), &TunnelConfig::default()).0);
        // Aruba: 802.11 frames.
        let s = gre(&[0, 0, 0x82, 0x00, 1, 2, 3]);
        assert!(matches!(
            s,
            Step::Inner(Inner {
                link: LinkType::IEEE802_11,
                ..
            })
        ));
        // Truncated, unknown version, routing, reserved flags.
        let weird_of = |f: &[u8]| {
            let (out, w) = run(f, &TunnelConfig::default());
            assert_eq!(out.depth, 0);
            (w[0].weird, w[0].detail.to_string(), w[0].source)
        };
        assert_eq!(
            weird_of(&gre_frame(&[0, 0, 8], &[])),
            (Weird::truncated_GRE, "-".into(), "GRE")
        );
        assert_eq!(
            weird_of(&gre_frame(&[0, 2, 0x08, 0], &inner4())),
            (Weird::unknown_gre_version, "version=2".into(), "GRE")
        );
        assert_eq!(
            weird_of(&gre_frame(&[0x40, 0, 0x08, 0], &inner4())).0,
            Weird::gre_routing
        );
        assert_eq!(
            weird_of(&gre_frame(&[0, 0x08, 0x08, 0], &inner4())).0,
            Weird::unknown_gre_flags
        );
        assert_eq!(
            weird_of(&gre_frame(&[0, 0, 0x65, 0x58], &[0u8; 14])).0,
            Weird::truncated_GRE
        );
        // Version 1 (PPTP): key present, PPP IPv4.
        let mut pptp = vec![0xff, 0x03, 0x00, 0x21];
        pptp.extend_from_slice(&inner4());
        let f = gre_frame(&[0x20, 0x01, 0x88, 0x0b, 0, 40, 0, 1], &pptp);
        inner_is_dns(&run(&f, &TunnelConfig::default()).0);
        assert_eq!(
            weird_of(&gre_frame(&[0x20, 0x01, 0x08, 0x00, 0, 40, 0, 1], &pptp)),
            (Weird::egre_protocol_type, "proto=2048".into(), "GRE")
        );
        let mut lcp = vec![0xff, 0x03, 0xc0, 0x21];
        lcp.extend_from_slice(&[1, 1, 0, 4]);
        assert_eq!(
            weird_of(&gre_frame(&[0x20, 0x01, 0x88, 0x0b, 0, 8, 0, 1], &lcp)).0,
            Weird::non_ip_packet_in_encap
        );
        // Version 1 with a short inner packet: IPTUNNEL's check.
        let mut short = pptp.clone();
        short.truncate(pptp.len() - 3);
        assert_eq!(
            weird_of(&gre_frame(&[0x20, 0x01, 0x88, 0x0b, 0, 8, 0, 1], &short)),
            (Weird::truncated_inner_IP, "-".into(), "IPTUNNEL")
        );
    }

    #[test]
    fn ip_in_ip_cases() {
        let frame = ip4(4, O1, O2, &inner4());
        let (out, w) = run(&frame, &TunnelConfig::default());
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(
            (out.depth, out.encaps[0].kind, out.encaps[0].proto),
            (1, TunnelType::Ip, 4)
        );
        inner_is_dns(&out);
        let frame = ip4(41, O1, O2, &inner6());
        let (out, _) = run(&frame, &TunnelConfig::default());
        inner_is_dns(&out);
        let weird_of = |f: &[u8]| {
            let (out, w) = run(f, &TunnelConfig::default());
            assert_eq!(out.depth, 0);
            (w[0].weird, w[0].source)
        };
        // IPv6 named but IPv4 inside; IPv4 too short; trailing bytes; a cut inner IPv6 packet.
        assert_eq!(
            weird_of(&ip4(41, O1, O2, &[inner4(), vec![0; 20]].concat())),
            (Weird::invalid_inner_IP_version, "IPTUNNEL")
        );
        assert_eq!(
            weird_of(&ip4(4, O1, O2, &inner4()[..19])).0,
            Weird::invalid_inner_IP_version
        );
        assert_eq!(
            weird_of(&ip4(4, O1, O2, &[inner4(), vec![0]].concat())).0,
            Weird::inner_IP_payload_length_mismatch
        );
        assert_eq!(weird_of(&ip4(41, O1, O2, &inner6()[..45])).0, Weird::truncated_inner_IP);
        assert_eq!(weird_of(&ip4(41, O1, O2, &inner6()[..30])).0, Weird::truncated_inner_IP);
    }

    #[test]
    fn depth_limit() {
        // 4in4in4in4 with max_depth 2: the packet inside two tunnels may not enter a third.
        let f = ip4(
            4,
            O1,
            O2,
            &ip4(
                4,
                [1, 1, 1, 1],
                [2, 2, 2, 2],
                &ip4(4, [3, 3, 3, 3], [4, 4, 4, 4], &inner4()),
            ),
        );
        let tcfg = TunnelConfig {
            max_depth: 2,
            ..TunnelConfig::default()
        };
        let (out, w) = run(&f, &tcfg);
        assert_eq!(out.depth, 2);
        assert_eq!(w.len(), 1);
        assert_eq!(
            (w[0].weird, w[0].source, w[0].in_tunnel),
            (Weird::exceeded_tunnel_max_depth, "IPTUNNEL", true)
        );
        assert_eq!(w[0].log_name(), "exceeded_tunnel_max_depth_in_tunnel");
        assert_eq!(
            w[0].scope,
            WeirdScope::Flow(IpAddr::from([3, 3, 3, 3]), IpAddr::from([4, 4, 4, 4]))
        );
        let (out, w) = run(&f, &TunnelConfig::default());
        assert_eq!((out.depth, w.len()), (3, 0));
        inner_is_dns(&out);
        assert_eq!(out.chain().len(), 3);
        // Max depth 0: Zeek still enters the outermost tunnel.
        let tcfg = TunnelConfig {
            max_depth: 0,
            ..TunnelConfig::default()
        };
        assert_eq!(run(&f, &tcfg).0.depth, 1);
    }

    #[test]
    fn inner_weirds_are_in_tunnel() {
        // Inner IPv4 with a bad header checksum inside IP-in-IP.
        let mut inner = inner4();
        inner[10] ^= 0xff;
        let frame = ip4(4, O1, O2, &inner);
        let (out, w) = run(&frame, &TunnelConfig::default());
        assert_eq!((out.depth, out.inner_result), (1, Err(Stop::Malformed)));
        assert_eq!(w[0].log_name(), "bad_IP_checksum_in_tunnel");
    }

    fn teredo_payload(prefix: &[u8], inner: &[u8]) -> Vec<u8> {
        [prefix, inner].concat()
    }

    #[test]
    fn teredo_cases() {
        let origin = [0, 0, 0xf2, 0x3f, 0x3f, 0x57, 0xff, 0xfe];
        let p = teredo_payload(&origin, &inner6());
        let frame = over_udp(3544, &p);
        let (out, w) = run(&frame, &TunnelConfig::default());
        assert!(w.is_empty(), "{w:?}");
        assert_eq!((out.depth, out.encaps[0].kind), (1, TunnelType::Teredo));
        assert_eq!(out.infos[0].confirm, Confirm::BothSides);
        inner_is_dns(&out);
        // Authentication (id 1 byte, auth 2 bytes, nonce, confirmation) then origin indication.
        let auth = [0, 1, 1, 2, 0xaa, 0xbb, 0xcc, 1, 2, 3, 4, 5, 6, 7, 8, 0];
        let p2 = teredo_payload(&[&auth[..], &origin[..]].concat(), &inner6());
        assert!(matches!(teredo(&p2), Step::Inner(_)));
        assert!(teredo_detect(&p2) && teredo_detect(&p));
        // Detection on another port: an IPv6 packet with a 2001:0000 source.
        assert_eq!(run(&over_udp(40001, &inner6()), &TunnelConfig::default()).0.depth, 1);
        assert!(!teredo_detect(&inner4()));
        // Truncations: connection weirds (logged once Teredo is confirmed) with a violation.
        assert_eq!(
            teredo(&[0]),
            Step::ConnWeird(Weird::truncated_Teredo, "Bad Teredo encapsulation")
        );
        assert_eq!(
            teredo(&origin[..6]),
            Step::ConnWeird(Weird::truncated_Teredo_origin_indication, "Bad Teredo encapsulation")
        );
        assert_eq!(
            teredo(&auth[..10]),
            Step::ConnWeird(Weird::truncated_Teredo_authentication, "Bad Teredo encapsulation")
        );
        assert_eq!(
            teredo(&inner6()[..30]),
            Step::ConnWeird(Weird::truncated_IPv6_in_Teredo, "Bad Teredo encapsulation")
        );
        // Not IPv6 (wrong version nibble) and a length mismatch: violations.
        assert_eq!(teredo(&inner4()), Step::Violation("Bad Teredo encapsulation"));
        assert_eq!(
            teredo(&[inner6(), vec![0]].concat()),
            Step::Violation("Teredo payload length")
        );
        // A bubble with trailing bytes: forced connection weird; the bubble itself raises nothing.
        let mut bubble = ip6(
            59,
            [0x20, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            &[],
        );
        bubble.extend_from_slice(&[1, 2, 3]);
        let frame = over_udp(3544, &bubble);
        let (out, w) = run(&frame, &TunnelConfig::default());
        assert_eq!((out.depth, out.inner_result), (1, Ok(())));
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(out.infos[0].conn_weird, Some((Weird::Teredo_bubble_with_payload, true)));
    }

    #[test]
    fn ayiya_cases() {
        // Identity length 2^4 = 16 bytes; signature 5 words (the 0x52 that detection looks for); opcode 1
        // (forward); next header 4.
        let mut p = vec![0x41, 0x52, 0x11, 4, 0, 0, 0, 0];
        p.extend_from_slice(&[0u8; 36]);
        p.extend_from_slice(&inner4());
        assert!(ayiya_detect(&p));
        let frame = over_udp(5072, &p);
        let (out, w) = run(&frame, &TunnelConfig::default());
        assert!(w.is_empty(), "{w:?}");
        assert_eq!((out.depth, out.infos[0].confirm), (1, Confirm::Now));
        inner_is_dns(&out);
        // Detected on another port too.
        assert_eq!(run(&over_udp(40001, &p), &TunnelConfig::default()).0.depth, 1);
        assert_eq!(ayiya(&p[..7]), Step::Violation("Truncated AYIYA"));
        assert_eq!(ayiya(&p[..20]), Step::Violation("Truncated AYIYA"));
        let mut other = p.clone();
        other[2] = 0x12;
        assert_eq!(ayiya(&other), Step::Nothing);
        assert_eq!(ayiya(&p[..44]), Step::Weird(Weird::ayiya_empty_packet, Addl::None));
        assert_eq!(ayiya(&p[..43]), Step::Violation("Truncated AYIYA"));
    }

    #[test]
    fn gtpv1_cases() {
        // Version 1, PT, E and S flags; G-PDU; seq, N-PDU, next ext type 0x85; one ext header (1 word).
        let mut p = vec![0x36, 0xff, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0x85, 1, 0xaa, 0xbb, 0];
        p.extend_from_slice(&inner4());
        let frame = over_udp(2152, &p);
        let (out, w) = run(&frame, &TunnelConfig::default());
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(
            (out.depth, out.encaps[0].kind, out.infos[0].valid_dir),
            (1, TunnelType::Gtpv1, Some(true))
        );
        assert_eq!(out.infos[0].confirm, Confirm::Now);
        inner_is_dns(&out);
        // Control plane port too.
        assert_eq!(run(&over_udp(2123, &p), &TunnelConfig::default()).0.depth, 1);
        // Version 2: violation. Create PDP context request: nothing. PT 0: nothing.
        let mut v2 = p.clone();
        v2[0] = 0x56;
        assert_eq!(gtpv1(&v2, false), Step::Violation("GTPv1 bad Version"));
        let mut ctl = p.clone();
        ctl[1] = 16;
        assert_eq!(gtpv1(&ctl, false), Step::Nothing);
        let mut pt0 = p.clone();
        pt0[0] = 0x26;
        assert_eq!(gtpv1(&pt0, false), Step::Nothing);
        // Short header, a cut inner packet, trailing bytes, a non-IP payload, GTP in GTP.
        assert_eq!(gtpv1(&p[..6], false), Step::Violation("Binpac exception"));
        assert_eq!(gtpv1(&p[..40], false), Step::Violation("Truncated GTPv1"));
        assert_eq!(
            gtpv1(&[&p[..], &[0][..]].concat(), false),
            Step::Violation("GTPv1 payload length")
        );
        let mut nonip = p.clone();
        nonip[16] = 0x25;
        assert_eq!(gtpv1(&nonip, false), Step::Violation("non-IP packet in GTPv1"));
        assert_eq!(gtpv1(&p, true), Step::Violation("GTP-in-GTP"));
        let h = gtpv1_header(&p).unwrap();
        assert_eq!((h.msg_type, h.teid, h.hdr_len), (255, 1, 16));
        let frame = over_udp(2152, &v2);
        let (out, _) = run(&frame, &TunnelConfig::default());
        assert_eq!(
            (out.infos[0].violation, out.infos[0].valid_dir),
            (Some("GTPv1 bad Version"), Some(false))
        );
    }

    #[test]
    fn precheck() {
        let f = ip4(4, O1, O2, &inner4());
        let cfg = DecodeConfig::default();
        let mut d = Decoded::default();
        decode_frame_wire(&cfg, LinkType::RAW, &f, f.len(), &mut d, &mut Vec::new()).unwrap();
        assert!(may_be_tunnel(&d));
        let f = inner4();
        decode_frame_wire(&cfg, LinkType::RAW, &f, f.len(), &mut d, &mut Vec::new()).unwrap();
        assert!(!may_be_tunnel(&d));
    }

    #[test]
    fn nested_vxlan_in_geneve() {
        let mut vx = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
        vx.extend_from_slice(&eth(0x0800, &inner4()));
        let mid = ip4(17, [1, 1, 1, 1], [1, 1, 1, 2], &udp(5555, 4789, &vx));
        let mut ge = vec![0, 0, 0x08, 0x00, 0, 0, 2, 0];
        ge.extend_from_slice(&mid);
        let frame = over_udp(6081, &ge);
        let (out, w) = run(&frame, &TunnelConfig::default());
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(out.depth, 2);
        let kinds: Vec<_> = out.chain().iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [TunnelType::Geneve, TunnelType::Vxlan]);
        assert_eq!(out.encaps[1].src, IpAddr::from([1, 1, 1, 1]));
        assert_eq!(out.infos[1].confirm, Confirm::Now);
        inner_is_dns(&out);
        // The innermost frame decodes again to the innermost level (what a worker given it sees).
        let (link, data, wire) = out.inner_frame.expect("inner frame");
        assert_eq!((link, wire), (LinkType::ETHERNET, data.len()));
        let mut again = Decoded::default();
        let cfg = DecodeConfig::default();
        decode_frame_wire(&cfg, link, data, wire, &mut again, &mut Vec::new()).unwrap();
        assert_eq!(again, *out.innermost());
        // No tunnel, no inner frame.
        let f = inner4();
        assert!(run(&f, &TunnelConfig::default()).0.inner_frame.is_none());
    }
}
