//! Link layers, dispatched as Zeek's packet analyzers dispatch them.
//!
//! Each layer mirrors one analyzer in Zeek's `src/packet_analysis/protocol/` and the identifier tables in
//! `scripts/base/packet-protocols/*/main.zeek`. A layer either names the next layer and the bytes it gets,
//! or stops: `Stop::NotIp` where Zeek would report an unknown protocol (no weird), `Stop::Malformed`
//! after pushing the weird Zeek raises. Weird sources are Zeek's canonical analyzer names.

use crate::wifi::{self, Amsdu};
use crate::{
    be16, ip, mac_at, push_weird, Addl, DecodeConfig, DecodeWeird, Decoded, LinkMeta, LinkType, Stop, WeirdScope,
};
use weir_api::Weird;

/// Decoding state shared by the layers of one packet.
pub(crate) struct Ctx<'c> {
    pub cfg: &'c DecodeConfig,
    pub weirds: &'c mut Vec<DecodeWeird>,
    /// Zeek's analyzer stack depth: analyzers entered so far.
    pub depth: usize,
}

impl Ctx<'_> {
    #[cold]
    pub fn weird(&mut self, w: Weird, scope: WeirdScope, source: &'static str) {
        push_weird(self.weirds, w, scope, source, Addl::None);
    }

    /// Zeek's `Analyzer::ForwardPacket` depth check: `from` hands the packet to one more analyzer.
    /// `scope` is called only for the weird (a flow scope copies two addresses).
    pub fn enter(&mut self, from: &'static str, scope: impl FnOnce() -> WeirdScope) -> Result<(), Stop> {
        if self.cfg.max_depth > 0 && self.depth == self.cfg.max_depth {
            self.weird(Weird::max_packet_analyzer_depth_exceeded, scope(), from);
            return Err(Stop::Malformed);
        }
        self.depth += 1;
        Ok(())
    }
}

/// The packet analyzers weir implements below IP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layer {
    Root,
    Ethernet,
    Vlan,
    Mpls,
    Pbb,
    VnTag,
    Pppoe,
    Ppp,
    PppSerial,
    Sll,
    Sll2,
    Null,
    /// DLT_LOOP (108): Zeek has no analyzer for it; weir reads the AF value big-endian as OpenBSD writes it.
    Loop,
    NfLog,
    Llc,
    Snap,
    Novell,
    /// Radiotap header (DLT 127), Zeek's `IEEE802_11_RADIO`.
    Radiotap,
    /// 802.11 header (DLT 105).
    Ieee80211,
    /// A-MSDU subframe header: part of Zeek's `IEEE802_11` analyzer, not an analyzer of its own.
    Amsdu,
    /// LLC/SNAP of an 802.11 MSDU: part of Zeek's `IEEE802_11` analyzer as well.
    WifiLlc,
    Ip,
}

impl Layer {
    /// Zeek's canonical analyzer name (weird.log `source`).
    pub fn name(self) -> &'static str {
        match self {
            Layer::Root => "ROOT",
            Layer::Ethernet => "ETHERNET",
            Layer::Vlan => "VLAN",
            Layer::Mpls => "MPLS",
            Layer::Pbb => "PBB",
            Layer::VnTag => "VNTAG",
            Layer::Pppoe => "PPPOE",
            Layer::Ppp => "PPP",
            Layer::PppSerial => "PPPSERIAL",
            Layer::Sll => "LINUXSLL",
            Layer::Sll2 => "LINUXSLL2",
            Layer::Null | Layer::Loop => "NULL",
            Layer::NfLog => "NFLOG",
            Layer::Llc => "LLC",
            Layer::Snap => "SNAP",
            Layer::Novell => "NOVELL_802_3",
            Layer::Radiotap => "IEEE802_11_RADIO",
            Layer::Ieee80211 | Layer::Amsdu | Layer::WifiLlc => "IEEE802_11",
            Layer::Ip => "IP",
        }
    }

    /// A step inside one Zeek analyzer rather than a forward to the next (no depth counted).
    fn internal(self) -> bool {
        matches!(self, Layer::Amsdu | Layer::WifiLlc)
    }
}

/// EtherType values (Zeek's `ETHERNET` / `VLAN` tables).
mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const RARP: u16 = 0x8035;
    pub const VLAN: u16 = 0x8100;
    pub const IPV6: u16 = 0x86dd;
    pub const MPLS: u16 = 0x8847;
    pub const PPPOE_SESSION: u16 = 0x8864;
    pub const QINQ: u16 = 0x88a8;
    pub const PBB: u16 = 0x88e7;
    pub const CFP: u16 = 0x8903;
    pub const VNTAG: u16 = 0x8926;
    pub const QINQ_OLD: u16 = 0x9100;
}

/// PPP protocol numbers (Zeek's `PPP`, `PPP_SERIAL`, `PPPOE` tables).
mod ppp_proto {
    pub const IPV4: u16 = 0x0021;
    pub const IPV6: u16 = 0x0057;
    pub const MPLS: u16 = 0x0281;
}

/// Ethernet header: dst MAC, src MAC, EtherType/length.
const ETH_HDR_LEN: usize = 14;
/// Cisco FabricPath header preceding the Ethernet header (Zeek's `cfplen`).
const CFP_LEN: usize = 16;
/// 802.1Q tag: TCI + EtherType.
const VLAN_LEN: usize = 4;
/// PBB (802.1ah) I-TAG header before the customer Ethernet header (Zeek's `PBB_LEN`, `PBB_C_DST_OFF`).
const PBB_LEN: usize = 18;
const PBB_C_DST_OFF: usize = 4;
const VNTAG_LEN: usize = 6;
const PPPOE_LEN: usize = 8;
const SLL_LEN: usize = 16;
const SLL2_LEN: usize = 20;
/// Largest 802.3 length value; values from 1536 up are EtherTypes, between is undefined.
const MAX_8023_LEN: u16 = 1500;
const MIN_ETHERTYPE: u16 = 1536;

pub(crate) type Step<'a> = Result<(Layer, &'a [u8]), Stop>;

fn ether_dispatch(from: Layer, proto: u16) -> Result<Layer, Stop> {
    use ethertype::*;
    Ok(match proto {
        MPLS => Layer::Mpls,
        PBB => Layer::Pbb,
        IPV4 | IPV6 => Layer::Ip,
        ARP | RARP => return Err(Stop::NotIp),
        VLAN => Layer::Vlan,
        // The VLAN analyzer only registers 0x8100 for an inner tag.
        QINQ | QINQ_OLD if from == Layer::Ethernet => Layer::Vlan,
        PPPOE_SESSION => Layer::Pppoe,
        VNTAG => Layer::VnTag,
        _ => return Err(Stop::NotIp),
    })
}

/// 802.3 length frame: the LLC/SNAP/Novell choice shared by Ethernet and VLAN.
fn llc_choice<'a>(cx: &mut Ctx<'_>, me: Layer, trunc: Weird, data: &'a [u8], len_field: u16) -> Step<'a> {
    if data.len() < 2 {
        cx.weird(trunc, WeirdScope::Net, me.name());
        return Err(Stop::Malformed);
    }
    let data = data.get(..usize::from(len_field).min(data.len())).unwrap_or(data);
    match (data.first(), data.get(1)) {
        (Some(0xaa), Some(0xaa)) => Ok((Layer::Snap, data)),
        (Some(0xff), Some(0xff)) => Ok((Layer::Novell, data)),
        _ => Ok((Layer::Llc, data)),
    }
}

fn ethernet<'a>(cx: &mut Ctx<'_>, meta: &mut LinkMeta, data: &'a [u8]) -> Step<'a> {
    let me = Layer::Ethernet;
    if data.len() <= 16 {
        cx.weird(Weird::truncated_ethernet_frame, WeirdScope::Net, me.name());
        return Err(Stop::Malformed);
    }
    let mut data = data;
    if be16(data, 12) == Some(ethertype::CFP) {
        if data.len() <= CFP_LEN + ETH_HDR_LEN {
            cx.weird(Weird::truncated_link_header_cfp, WeirdScope::Net, me.name());
            return Err(Stop::Malformed);
        }
        data = data.get(CFP_LEN..).ok_or(Stop::Malformed)?;
    }
    let proto = be16(data, 12).ok_or(Stop::Malformed)?;
    meta.dst_mac = mac_at(data, 0);
    meta.src_mac = mac_at(data, 6);
    let rest = data.get(ETH_HDR_LEN..).ok_or(Stop::Malformed)?;
    if proto >= MIN_ETHERTYPE {
        return Ok((ether_dispatch(me, proto)?, rest));
    }
    if proto <= MAX_8023_LEN {
        return llc_choice(cx, me, Weird::truncated_ethernet_frame, rest, proto);
    }
    cx.weird(Weird::undefined_ether_type, WeirdScope::Net, me.name());
    Err(Stop::Malformed)
}

fn vlan<'a>(cx: &mut Ctx<'_>, meta: &mut LinkMeta, data: &'a [u8]) -> Step<'a> {
    let me = Layer::Vlan;
    if data.len() <= VLAN_LEN {
        cx.weird(Weird::truncated_VLAN_header, WeirdScope::Net, me.name());
        return Err(Stop::Malformed);
    }
    let tci = be16(data, 0).ok_or(Stop::Malformed)?;
    let id = tci & 0x0fff;
    if meta.vlan.is_none() {
        meta.vlan = Some(id);
    } else {
        if meta.inner_vlan.is_some() {
            push_weird(
                cx.weirds,
                Weird::triple_tagged_vlan_unsupported,
                WeirdScope::Net,
                me.name(),
                Addl::Text("inner VLAN tag overwritten"),
            );
        }
        meta.inner_vlan = Some(id);
    }
    let proto = be16(data, 2).ok_or(Stop::Malformed)?;
    let rest = data.get(VLAN_LEN..).ok_or(Stop::Malformed)?;
    if proto >= MIN_ETHERTYPE {
        return Ok((ether_dispatch(me, proto)?, rest));
    }
    if proto <= MAX_8023_LEN {
        return llc_choice(cx, me, Weird::truncated_VLAN_header, rest, proto);
    }
    cx.weird(Weird::undefined_vlan_protocol, WeirdScope::Net, me.name());
    Err(Stop::Malformed)
}

fn mpls<'a>(cx: &mut Ctx<'_>, data: &'a [u8]) -> Step<'a> {
    let mut data = data;
    loop {
        if data.len() <= 4 {
            cx.weird(Weird::truncated_link_header, WeirdScope::Net, Layer::Mpls.name());
            return Err(Stop::Malformed);
        }
        let bottom = data.get(2).is_some_and(|b| b & 0x01 != 0);
        data = data.get(4..).ok_or(Stop::Malformed)?;
        if bottom {
            // Zeek's MPLS default analyzer is IP, which tells v4 from v6 by the version nibble.
            return Ok((Layer::Ip, data));
        }
    }
}

fn pbb<'a>(cx: &mut Ctx<'_>, data: &'a [u8]) -> Step<'a> {
    if data.len() <= PBB_LEN {
        cx.weird(Weird::truncated_PBB_header, WeirdScope::Net, Layer::Pbb.name());
        return Err(Stop::Malformed);
    }
    Ok((Layer::Ethernet, data.get(PBB_C_DST_OFF..).ok_or(Stop::Malformed)?))
}

fn vntag<'a>(cx: &mut Ctx<'_>, data: &'a [u8]) -> Step<'a> {
    if data.len() <= VNTAG_LEN {
        cx.weird(Weird::truncated_vntag_header, WeirdScope::Net, Layer::VnTag.name());
        return Err(Stop::Malformed);
    }
    let proto = be16(data, 4).ok_or(Stop::Malformed)?;
    let next = match proto {
        ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD => Layer::Vlan,
        _ => return Err(Stop::NotIp),
    };
    Ok((next, data.get(VNTAG_LEN..).ok_or(Stop::Malformed)?))
}

fn ppp_dispatch(proto: u16, with_mpls: bool) -> Result<Layer, Stop> {
    match proto {
        ppp_proto::IPV4 | ppp_proto::IPV6 => Ok(Layer::Ip),
        ppp_proto::MPLS if with_mpls => Ok(Layer::Mpls),
        _ => Err(Stop::NotIp),
    }
}

fn pppoe<'a>(cx: &mut Ctx<'_>, meta: &mut LinkMeta, data: &'a [u8]) -> Step<'a> {
    let me = Layer::Pppoe;
    let len = data.len();
    if len <= PPPOE_LEN {
        cx.weird(Weird::truncated_pppoe_header, WeirdScope::Net, me.name());
        return Err(Stop::Malformed);
    }
    meta.pppoe_session = be16(data, 2);
    let payload_length = usize::from(be16(data, 4).ok_or(Stop::Malformed)?);
    let proto = be16(data, 6).ok_or(Stop::Malformed)?;
    if payload_length != len - 6 {
        let w = if payload_length < len - 6 {
            Weird::pppoe_extra_data_after_payload
        } else {
            Weird::pppoe_truncated_payload
        };
        cx.weird(w, WeirdScope::Net, me.name());
    }
    let payload_length = payload_length.saturating_sub(2);
    let rest = data.get(PPPOE_LEN..).ok_or(Stop::Malformed)?;
    let rest = rest.get(..payload_length.min(rest.len())).unwrap_or(rest);
    Ok((ppp_dispatch(proto, false)?, rest))
}

fn ppp<'a>(cx: &mut Ctx<'_>, data: &'a [u8]) -> Step<'a> {
    let me = Layer::Ppp;
    if data.len() <= 2 {
        cx.weird(Weird::truncated_ppp_header, WeirdScope::Net, me.name());
        return Err(Stop::Malformed);
    }
    if data.get(..2) == Some(&[0xff, 0x03]) {
        if data.len() <= 4 {
            cx.weird(Weird::truncated_ppp_hdlc_header, WeirdScope::Net, me.name());
            return Err(Stop::Malformed);
        }
        let proto = be16(data, 2).ok_or(Stop::Malformed)?;
        return Ok((ppp_dispatch(proto, true)?, data.get(4..).ok_or(Stop::Malformed)?));
    }
    let proto = be16(data, 0).ok_or(Stop::Malformed)?;
    Ok((ppp_dispatch(proto, true)?, data.get(2..).ok_or(Stop::Malformed)?))
}

fn ppp_serial<'a>(cx: &mut Ctx<'_>, data: &'a [u8]) -> Step<'a> {
    if data.len() <= 4 {
        cx.weird(
            Weird::truncated_ppp_serial_header,
            WeirdScope::Net,
            Layer::PppSerial.name(),
        );
        return Err(Stop::Malformed);
    }
    let proto = be16(data, 2).ok_or(Stop::Malformed)?;
    Ok((ppp_dispatch(proto, true)?, data.get(4..).ok_or(Stop::Malformed)?))
}

fn sll_dispatch(proto: u16) -> Result<Layer, Stop> {
    match proto {
        ethertype::IPV4 | ethertype::IPV6 => Ok(Layer::Ip),
        _ => Err(Stop::NotIp),
    }
}

/// Linux cooked capture v1: packet type(2) ARPHRD(2) addr len(2) addr(8) protocol(2).
fn sll<'a>(cx: &mut Ctx<'_>, meta: &mut LinkMeta, data: &'a [u8]) -> Step<'a> {
    if data.len() <= SLL_LEN {
        cx.weird(Weird::truncated_Linux_SLL_header, WeirdScope::Net, Layer::Sll.name());
        return Err(Stop::Malformed);
    }
    let proto = be16(data, 14).ok_or(Stop::Malformed)?;
    meta.src_mac = mac_at(data, 6);
    // Zeek points l2_dst at an all-zero address for cooked captures.
    meta.dst_mac = Some([0; 6]);
    Ok((sll_dispatch(proto)?, data.get(SLL_LEN..).ok_or(Stop::Malformed)?))
}

/// Linux cooked capture v2: protocol(2) reserved(2) ifindex(4) ARPHRD(2) type(1) addr len(1) addr(8).
fn sll2<'a>(cx: &mut Ctx<'_>, meta: &mut LinkMeta, data: &'a [u8]) -> Step<'a> {
    if data.len() <= SLL2_LEN {
        cx.weird(Weird::truncated_Linux_SLL2_header, WeirdScope::Net, Layer::Sll2.name());
        return Err(Stop::Malformed);
    }
    let proto = be16(data, 0).ok_or(Stop::Malformed)?;
    meta.src_mac = mac_at(data, 12);
    meta.dst_mac = Some([0; 6]);
    Ok((sll_dispatch(proto)?, data.get(SLL2_LEN..).ok_or(Stop::Malformed)?))
}

/// BSD AF values Zeek's NULL analyzer sends to IP: AF_INET 2, and AF_INET6 as 24 (NetBSD/OpenBSD),
/// 28 (FreeBSD), 30 (macOS).
fn null_af(af: u32) -> Result<Layer, Stop> {
    match af {
        2 | 24 | 28 | 30 => Ok(Layer::Ip),
        _ => Err(Stop::NotIp),
    }
}

fn null<'a>(cx: &mut Ctx<'_>, data: &'a [u8], big_endian: bool) -> Step<'a> {
    let hdr: [u8; 4] = match data.get(..4) {
        Some(&[a, b, c, d]) if data.len() > 4 => [a, b, c, d],
        _ => {
            cx.weird(Weird::null_analyzer_failed, WeirdScope::Net, Layer::Null.name());
            return Err(Stop::Malformed);
        }
    };
    // Zeek reads DLT_NULL's family little-endian (host order of the capturing machine as libpcap leaves it).
    let af = if big_endian {
        u32::from_be_bytes(hdr)
    } else {
        u32::from_le_bytes(hdr)
    };
    Ok((null_af(af)?, data.get(4..).ok_or(Stop::Malformed)?))
}

/// NFLOG TLV type carrying the packet.
const NFULA_PAYLOAD: u16 = 9;

fn nflog<'a>(cx: &mut Ctx<'_>, data: &'a [u8]) -> Step<'a> {
    let me = Layer::NfLog;
    if data.len() <= 4 {
        cx.weird(Weird::truncated_nflog_header, WeirdScope::Net, me.name());
        return Err(Stop::Malformed);
    }
    let family = data.first().copied().unwrap_or(0);
    if data.get(1) != Some(&0) {
        cx.weird(Weird::unknown_nflog_version, WeirdScope::Net, me.name());
        return Err(Stop::Malformed);
    }
    let mut data = data.get(4..).ok_or(Stop::Malformed)?;
    loop {
        let (tlv_len, tlv_type) = match data.get(..4) {
            // TLV type and length are in host order; libpcap files from Linux are little-endian.
            Some(&[a, b, c, d]) if data.len() > 4 => (u16::from_le_bytes([a, b]), u16::from_le_bytes([c, d])),
            _ => {
                cx.weird(Weird::nflog_no_pcap_payload, WeirdScope::Net, me.name());
                return Err(Stop::Malformed);
            }
        };
        if tlv_type == NFULA_PAYLOAD {
            data = data.get(4..).ok_or(Stop::Malformed)?;
            break;
        }
        if tlv_len < 4 {
            cx.weird(Weird::nflog_bad_tlv_len, WeirdScope::Net, me.name());
            return Err(Stop::Malformed);
        }
        let skip = usize::from(tlv_len).next_multiple_of(4);
        if skip > data.len() {
            push_weird(
                cx.weirds,
                Weird::nflog_bad_tlv_len,
                WeirdScope::Net,
                me.name(),
                Addl::Exceeds(skip as u64, data.len() as u64),
            );
            return Err(Stop::Malformed);
        }
        data = data.get(skip..).ok_or(Stop::Malformed)?;
    }
    let next = match family {
        2 | 10 => Layer::Ip,
        _ => return Err(Stop::NotIp),
    };
    Ok((next, data))
}

fn llc<'a>(cx: &mut Ctx<'_>, data: &'a [u8]) -> Step<'a> {
    let hdr_len = match data.get(2) {
        Some(c) if c & 0x03 != 0x03 => 4,
        Some(_) => 3,
        None => 0,
    };
    if hdr_len == 0 || data.len() < hdr_len {
        cx.weird(Weird::truncated_llc_header, WeirdScope::Net, Layer::Llc.name());
        return Err(Stop::Malformed);
    }
    // Zeek's LLC analyzer forwards on the DSAP, and nothing is registered for it.
    Err(Stop::NotIp)
}

fn snap<'a>(cx: &mut Ctx<'_>, data: &'a [u8]) -> Step<'a> {
    let me = Layer::Snap;
    let hdr_len = match data.get(2) {
        Some(c) if c & 0x03 != 0x03 => 4,
        Some(_) => 3,
        None => {
            cx.weird(Weird::truncated_snap_llc_header, WeirdScope::Net, me.name());
            return Err(Stop::Malformed);
        }
    };
    if data.len() < hdr_len + 5 {
        cx.weird(Weird::truncated_snap_header, WeirdScope::Net, me.name());
        return Err(Stop::Malformed);
    }
    let oui = data.get(hdr_len..hdr_len + 3).ok_or(Stop::Malformed)?;
    let proto = be16(data, hdr_len + 3).ok_or(Stop::Malformed)?;
    let rest = data.get(hdr_len + 5..).ok_or(Stop::Malformed)?;
    // Zeek's identifier is oui << 16 | protocol, so only OUI 0 matches the EtherType registrations.
    if oui != [0, 0, 0] {
        return Err(Stop::NotIp);
    }
    Ok((sll_dispatch(proto)?, rest))
}

/// Decodes a captured frame whose wire length equals its captured length. See [`decode_frame_wire`].
pub fn decode_frame<'a>(
    cfg: &DecodeConfig,
    link: LinkType,
    frame: &'a [u8],
    out: &mut Decoded<'a>,
    weirds: &mut Vec<DecodeWeird>,
) -> Result<(), Stop> {
    decode_frame_wire(cfg, link, frame, frame.len(), out, weirds)
}

/// Decodes a captured frame from its link layer down to its transport header.
///
/// `wire_len` is the packet's length on the wire (pcap `orig_len`): Zeek raises `truncated_IP_len` only when
/// the IP total length exceeds the wire length, and analyses a snaplen-cut packet as far as it was captured.
/// `out` is overwritten (`link`, `ip`, `transport`, `amsdu_rest`); weirds are appended to `weirds`.
///
/// Link types: Zeek's root table (Ethernet 1, Linux SLL 113, SLL2 276, NFLOG 239, NULL 0, PPP 9,
/// PPP serial 50, 802.11 105, radiotap 127), DLT_LOOP 108 (big-endian AF, a weir extension), FDDI 10
/// (not implemented, `Stop::NotIp`), weir's [`LinkType::AMSDU_SUBFRAMES`], and every other value as raw
/// IP (Zeek's root default analyzer is IP: DLT_RAW 101, 12, 14, IPV4 228, IPV6 229).
///
/// An 802.11 A-MSDU decodes to its first subframe; when Zeek would go on to the next one,
/// `out.amsdu_rest` is not empty (whatever the result, e.g. after an ARP subframe) and is decoded next
/// with link type [`LinkType::AMSDU_SUBFRAMES`] and a wire length shortened by the bytes before it.
pub fn decode_frame_wire<'a>(
    cfg: &DecodeConfig,
    link: LinkType,
    frame: &'a [u8],
    wire_len: usize,
    out: &mut Decoded<'a>,
    weirds: &mut Vec<DecodeWeird>,
) -> Result<(), Stop> {
    out.link = LinkMeta::default();
    out.ip = None;
    out.transport = None;
    out.amsdu_rest = &[];
    let mut cx = Ctx { cfg, weirds, depth: 0 };
    let layer = match link.0 {
        1 => Layer::Ethernet,
        9 => Layer::Ppp,
        50 => Layer::PppSerial,
        113 => Layer::Sll,
        276 => Layer::Sll2,
        0 => Layer::Null,
        108 => Layer::Loop,
        239 => Layer::NfLog,
        105 => Layer::Ieee80211,
        127 => Layer::Radiotap,
        _ if link == LinkType::AMSDU_SUBFRAMES => Layer::Amsdu,
        10 => return Err(Stop::NotIp),
        _ => Layer::Ip,
    };
    cx.enter(Layer::Root.name(), || WeirdScope::Net)?;
    let mut amsdu = Amsdu::default();
    let r = walk(&mut cx, layer, frame, wire_len, out, &mut amsdu);
    if let Some(rest) = amsdu.rest {
        // Zeek's A-MSDU loop stops at a subframe its inner analyzers refused.
        if r.is_ok() || amsdu.arp_ok {
            out.amsdu_rest = rest;
        } else {
            cx.weird(
                Weird::invalid_802_11_amsdu_inner_packet,
                WeirdScope::Net,
                Layer::Ieee80211.name(),
            );
            return Err(Stop::Malformed);
        }
    }
    r
}

/// The layers from `layer` down to IP, then IP and the transport header.
fn walk<'a>(
    cx: &mut Ctx<'_>,
    mut layer: Layer,
    frame: &'a [u8],
    wire_len: usize,
    out: &mut Decoded<'a>,
    amsdu: &mut Amsdu<'a>,
) -> Result<(), Stop> {
    let mut data = frame;
    let meta = &mut out.link;
    while layer != Layer::Ip {
        let (next, rest) = match layer {
            Layer::Ethernet => ethernet(cx, meta, data),
            Layer::Vlan => vlan(cx, meta, data),
            Layer::Mpls => mpls(cx, data),
            Layer::Pbb => pbb(cx, data),
            Layer::VnTag => vntag(cx, data),
            Layer::Pppoe => pppoe(cx, meta, data),
            Layer::Ppp => ppp(cx, data),
            Layer::PppSerial => ppp_serial(cx, data),
            Layer::Sll => sll(cx, meta, data),
            Layer::Sll2 => sll2(cx, meta, data),
            Layer::Null => null(cx, data, false),
            Layer::Loop => null(cx, data, true),
            Layer::NfLog => nflog(cx, data),
            Layer::Llc => llc(cx, data),
            Layer::Snap => snap(cx, data),
            Layer::Novell => {
                // Zeek's NOVELL_802_3 analyzer has no default analyzer to forward to.
                cx.weird(Weird::no_suitable_analyzer_found, WeirdScope::Net, layer.name());
                Err(Stop::Malformed)
            }
            Layer::Radiotap => wifi::radiotap(cx, data),
            Layer::Ieee80211 => wifi::ieee802_11(cx, meta, data),
            Layer::Amsdu => wifi::amsdu_subframe(cx, meta, data, amsdu),
            Layer::WifiLlc => wifi::llc_snap(cx, meta, data, amsdu),
            Layer::Root | Layer::Ip => Err(Stop::Malformed),
        }?;
        if !next.internal() {
            cx.enter(layer.name(), || WeirdScope::Net)?;
        }
        layer = next;
        data = rest;
    }
    // Where the IP header starts in the frame (Zeek's `hdr_size`); `data` is always a sub-slice of `frame`.
    let hdr_size = (data.as_ptr() as usize).saturating_sub(frame.as_ptr() as usize);
    ip::analyze(
        cx,
        data,
        ip::Lens {
            cap_len: frame.len(),
            wire_len,
            hdr_size,
        },
        false,
        out,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Transport;

    fn run(link: LinkType, frame: &[u8]) -> (Result<(), Stop>, Decoded<'_>, Vec<DecodeWeird>) {
        let mut out = Decoded::default();
        let mut w = Vec::new();
        let r = decode_frame(&DecodeConfig::default(), link, frame, &mut out, &mut w);
        (r, out, w)
    }

    /// A 20-byte IPv4 header 10.0.0.1 -> 10.0.0.2, proto UDP, total length 28, valid checksum,
    /// followed by an 8-byte UDP header 1234 -> 53, length 8, checksum 0.
    const IP_UDP: [u8; 28] = [
        0x45, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x66, 0xce, // ver/ihl .. checksum
        0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, // src, dst
        0x04, 0xd2, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00, // UDP
    ];

    fn with_prefix(prefix: &[u8]) -> Vec<u8> {
        let mut v = prefix.to_vec();
        v.extend_from_slice(&IP_UDP);
        v
    }

    fn assert_udp(out: &Decoded<'_>) {
        assert!(matches!(out.transport, Some(Transport::Udp(u)) if u.src_port == 1234 && u.dst_port == 53));
    }

    #[test]
    fn ethernet_ipv4() {
        // dst 00:11:22:33:44:55, src 66:77:88:99:aa:bb, EtherType 0x0800
        let f = with_prefix(&[
            0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x08, 0x00,
        ]);
        let (r, out, w) = run(LinkType::ETHERNET, &f);
        assert_eq!(r, Ok(()));
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(out.link.dst_mac, Some([0, 0x11, 0x22, 0x33, 0x44, 0x55]));
        assert_eq!(out.link.src_mac, Some([0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb]));
        assert_udp(&out);
    }

    #[test]
    fn ethernet_truncated_and_arp() {
        let (r, _, w) = run(LinkType::ETHERNET, &[0u8; 16]);
        assert_eq!(r, Err(Stop::Malformed));
        assert_eq!(w[0].weird, Weird::truncated_ethernet_frame);
        assert_eq!(w[0].source, "ETHERNET");
        // EtherType 0x0806 (ARP): silently not IP.
        let mut f = [0u8; 42];
        f[12] = 0x08;
        f[13] = 0x06;
        let (r, _, w) = run(LinkType::ETHERNET, &f);
        assert_eq!((r, w.len()), (Err(Stop::NotIp), 0));
        // EtherType 0x05ff: neither a length nor a type.
        f[12] = 0x05;
        f[13] = 0xff;
        let (r, _, w) = run(LinkType::ETHERNET, &f);
        assert_eq!(r, Err(Stop::Malformed));
        assert_eq!(w[0].weird, Weird::undefined_ether_type);
    }

    #[test]
    fn qinqinq() {
        // Ethernet 0x8100, tag vid 1 0x8100, tag vid 2 0x8100, tag vid 3 0x0800
        let f = with_prefix(&[
            0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x81, 0x00, // Ethernet
            0x00, 0x01, 0x81, 0x00, // vid 1
            0x00, 0x02, 0x81, 0x00, // vid 2
            0x00, 0x03, 0x08, 0x00, // vid 3
        ]);
        let (r, out, w) = run(LinkType::ETHERNET, &f);
        assert_eq!(r, Ok(()));
        assert_eq!(out.link.vlan, Some(1));
        assert_eq!(out.link.inner_vlan, Some(3));
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].weird, Weird::triple_tagged_vlan_unsupported);
        assert_eq!(w[0].detail.to_string(), "inner VLAN tag overwritten");
        assert_eq!(w[0].source, "VLAN");
        assert_udp(&out);
    }

    #[test]
    fn mpls_stack_then_ip() {
        // Ethernet 0x8847, label 1 (not bottom), label 2 (bottom of stack, S bit in byte 2)
        let f = with_prefix(&[
            0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x88, 0x47, // Ethernet
            0x00, 0x00, 0x10, 0x40, // label 1, S=0
            0x00, 0x00, 0x21, 0x40, // label 2, S=1
        ]);
        let (r, out, _) = run(LinkType::ETHERNET, &f);
        assert_eq!(r, Ok(()));
        assert_udp(&out);
    }

    #[test]
    fn pppoe_session() {
        // Ethernet 0x8864; PPPoE ver/type 0x11, code 0, session 0x1234, length 30, PPP proto 0x0021
        let f = with_prefix(&[
            0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x88, 0x64, // Ethernet
            0x11, 0x00, 0x12, 0x34, 0x00, 0x1e, 0x00, 0x21, // PPPoE + PPP
        ]);
        let (r, out, w) = run(LinkType::ETHERNET, &f);
        assert_eq!(r, Ok(()));
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(out.link.pppoe_session, Some(0x1234));
        assert_udp(&out);
    }

    #[test]
    fn pbb_vntag_cfp() {
        // PBB: Ethernet 0x88e7, I-TAG (4 bytes) then customer Ethernet 0x0800
        let f = with_prefix(&[
            0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x88, 0xe7, // B-Ethernet
            0, 0, 0, 1, // I-TAG
            0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 4, 0x08, 0x00, // C-Ethernet
        ]);
        let (r, out, _) = run(LinkType::ETHERNET, &f);
        assert_eq!(r, Ok(()));
        assert_eq!(out.link.src_mac, Some([0, 0, 0, 0, 0, 4]));
        // VN-Tag 0x8926 (6 bytes, EtherType at 4) then 802.1Q vid 5 then IPv4
        let f = with_prefix(&[
            0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x89, 0x26, // Ethernet
            0, 0, 0, 0, 0x81, 0x00, // VN-Tag
            0x00, 0x05, 0x08, 0x00, // VLAN
        ]);
        let (r, out, _) = run(LinkType::ETHERNET, &f);
        assert_eq!((r, out.link.vlan), (Ok(()), Some(5)));
        // Cisco FabricPath: 16 bytes with 0x8903 at 12, then Ethernet
        let mut p = vec![0u8; 12];
        p.extend_from_slice(&[0x89, 0x03, 0, 0]);
        p.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x08, 0x00]);
        let f = with_prefix(&p);
        let (r, out, _) = run(LinkType::ETHERNET, &f);
        assert_eq!(r, Ok(()));
        assert_udp(&out);
    }

    #[test]
    fn cooked_null_ppp_raw() {
        // SLL: type 0, ARPHRD 1, addr len 6, addr (8), proto 0x0800
        let f = with_prefix(&[0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00]);
        let (r, out, _) = run(LinkType::LINUX_SLL, &f);
        assert_eq!((r, out.link.src_mac), (Ok(()), Some([1, 2, 3, 4, 5, 6])));
        // SLL2: proto 0x0800, reserved, ifindex, ARPHRD, type, addr len, addr (8)
        let f = with_prefix(&[0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0]);
        let (r, out, _) = run(LinkType::LINUX_SLL2, &f);
        assert_eq!(r, Ok(()));
        assert_udp(&out);
        // NULL: AF_INET little-endian; LOOP: AF_INET big-endian; AF 7 is not IP.
        assert_eq!(run(LinkType::NULL, &with_prefix(&[2, 0, 0, 0])).0, Ok(()));
        assert_eq!(run(LinkType::LOOP, &with_prefix(&[0, 0, 0, 2])).0, Ok(()));
        assert_eq!(run(LinkType::NULL, &with_prefix(&[7, 0, 0, 0])).0, Err(Stop::NotIp));
        // PPP with and without HDLC framing, PPP serial.
        assert_eq!(run(LinkType::PPP, &with_prefix(&[0xff, 0x03, 0x00, 0x21])).0, Ok(()));
        assert_eq!(run(LinkType::PPP, &with_prefix(&[0x00, 0x21])).0, Ok(()));
        assert_eq!(
            run(LinkType::PPP_SERIAL, &with_prefix(&[0x0f, 0x00, 0x00, 0x21])).0,
            Ok(())
        );
        for lt in [LinkType::RAW, LinkType::RAW_12, LinkType::RAW_14, LinkType::IPV4] {
            let (r, out, _) = run(lt, &IP_UDP);
            assert_eq!(r, Ok(()));
            assert_udp(&out);
        }
    }

    #[test]
    fn llc_snap_novell() {
        // 802.3 length 36 then SNAP AA AA 03, OUI 0, EtherType 0x0800
        let f = with_prefix(&[
            0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x00, 0x24, 0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00,
        ]);
        let (r, out, _) = run(LinkType::ETHERNET, &f);
        assert_eq!(r, Ok(()));
        assert_udp(&out);
        // Novell raw 802.3 (FF FF): Zeek has no analyzer after it.
        let f = with_prefix(&[0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x00, 0x24, 0xff, 0xff]);
        let (r, _, w) = run(LinkType::ETHERNET, &f);
        assert_eq!(r, Err(Stop::Malformed));
        assert_eq!(
            (w[0].weird, w[0].source),
            (Weird::no_suitable_analyzer_found, "NOVELL_802_3")
        );
        // Plain LLC (STP): not IP.
        let f = with_prefix(&[0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x00, 0x24, 0x42, 0x42, 0x03]);
        assert_eq!(run(LinkType::ETHERNET, &f).0, Err(Stop::NotIp));
    }

    #[test]
    fn nflog_tlvs() {
        // family 2, version 0, resource id; TLV len 8 type 1 (4 bytes value); TLV len 4+28 type 9 (payload)
        let f = with_prefix(&[2, 0, 0, 0, 8, 0, 1, 0, 0, 0, 0, 0, 32, 0, 9, 0]);
        let (r, out, _) = run(LinkType(239), &f);
        assert_eq!(r, Ok(()));
        assert_udp(&out);
        // TLV length 256 with only 8 bytes left.
        let f = [2, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0];
        let (r, _, w) = run(LinkType(239), &f);
        assert_eq!(r, Err(Stop::Malformed));
        assert_eq!(w[0].weird, Weird::nflog_bad_tlv_len);
        assert_eq!(w[0].detail.to_string(), "(256 > 8)");
    }

    #[test]
    fn depth_limit() {
        // PBB inside PBB forever: Zeek stops at 25 analyzers with a weird from ETHERNET.
        let mut f = Vec::new();
        for _ in 0..40 {
            f.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x88, 0xe7, 0, 0, 0, 1]);
        }
        f.extend_from_slice(&[0u8; 40]);
        let (r, _, w) = run(LinkType::ETHERNET, &f);
        assert_eq!(r, Err(Stop::Malformed));
        assert_eq!(w.len(), 1);
        assert_eq!(
            (w[0].weird, w[0].source),
            (Weird::max_packet_analyzer_depth_exceeded, "ETHERNET")
        );
    }
}
