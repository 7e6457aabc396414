//! IEEE 802.11, after Zeek's `IEEE802_11` and `IEEE802_11_Radio` packet analyzers
//! (`src/packet_analysis/protocol/ieee802_11{,_radio}/`): a radiotap header is skipped by its length; of
//! 802.11 only data frames that carry data are analysed, their payload must be LLC/SNAP with OUI 0, and the
//! SNAP protocol goes to IP (IPv4 and IPv6) or ARP.
//!
//! An A-MSDU (QoS control bit 7) carries several subframes, and Zeek analyses each of them as a packet of
//! its own. Decoding yields the first; [`Decoded::amsdu_rest`](crate::Decoded::amsdu_rest) holds the
//! subframes after it, which decode as a frame of link type [`LinkType::AMSDU_SUBFRAMES`](crate::LinkType).
//!
//! What Zeek does not look at, neither does this: the HT control field (+HTC/Order), management and
//! control frames, and protected frames (silently skipped).

use crate::link::{Ctx, Layer, Step};
use crate::{be16, mac_at, LinkMeta, Stop, WeirdScope};
use weir_api::Weird;

/// The 802.11 data header without Address 4 and QoS control (Zeek's `len_80211`).
const DATA_HDR_LEN: usize = 24;
/// Address 4, present when both To DS and From DS are set.
const ADDR4_LEN: usize = 6;
const QOS_LEN: usize = 2;
/// A-MSDU subframe header: DA, SA, length.
const SUBFRAME_HDR_LEN: usize = 14;
/// LLC (DSAP, SSAP, control) + SNAP (OUI, protocol) in front of every MSDU.
const LLC_SNAP_LEN: usize = 8;
/// The LLC/SNAP prefix Zeek requires: SNAP SAPs, unnumbered information, OUI 0 (encapsulated Ethernet).
const LLC_SNAP_ETHERNET: [u8; 6] = [0xaa, 0xaa, 0x03, 0, 0, 0];

/// Frame control, first byte: type `data` (binary 10 in bits 2-3; Zeek tests the high bit only).
const FC_TYPE_DATA: u8 = 0x08;
/// Subtype bit 2: the "no data" subtypes (Null, CF-Ack, ... without payload).
const FC_SUBTYPE_NO_DATA: u8 = 0x40;
/// Subtype bit 3: QoS data, with a QoS control field.
const FC_SUBTYPE_QOS: u8 = 0x80;
/// Frame control, second byte: To DS and From DS.
const FLAGS_DS: u8 = 0x03;
const FLAGS_PROTECTED: u8 = 0x40;
/// QoS control, first byte: A-MSDU present.
const QOS_AMSDU: u8 = 0x80;

/// What decoding one 802.11 frame leaves for the frame's end.
#[derive(Default)]
pub(crate) struct Amsdu<'a> {
    /// Inside an A-MSDU whose current subframe's header was accepted: the subframes after it.
    pub rest: Option<&'a [u8]>,
    /// The current subframe was an ARP packet Zeek's ARP analyzer accepts (the A-MSDU goes on).
    pub arp_ok: bool,
}

fn weird<'a>(cx: &mut Ctx<'_>, w: Weird, me: Layer) -> Step<'a> {
    cx.weird(w, WeirdScope::Net, me.name());
    Err(Stop::Malformed)
}

/// Radiotap (DLT 127): skips the header by its little-endian length field.
pub(crate) fn radiotap<'a>(cx: &mut Ctx<'_>, data: &'a [u8]) -> Step<'a> {
    let me = Layer::Radiotap;
    let len = match data.get(..4) {
        Some(&[_, _, lo, hi]) if data.len() > 3 => usize::from(u16::from_le_bytes([lo, hi])),
        _ => return weird(cx, Weird::truncated_radiotap_header, me),
    };
    match data.get(len..) {
        Some(rest) if !rest.is_empty() => Ok((Layer::Ieee80211, rest)),
        _ => weird(cx, Weird::truncated_radiotap_header, me),
    }
}

/// The 802.11 header (DLT 105): the MSDU (or the A-MSDU's subframes) after it, or a silent stop for frames
/// Zeek does not analyse.
pub(crate) fn ieee802_11<'a>(cx: &mut Ctx<'_>, meta: &mut LinkMeta, data: &'a [u8]) -> Step<'a> {
    let me = Layer::Ieee80211;
    let len = data.len();
    let (fc, flags) = match data {
        [fc, flags, ..] if len > DATA_HDR_LEN => (*fc, *flags),
        _ => return weird(cx, Weird::truncated_802_11_header, me),
    };
    if fc & FC_TYPE_DATA == 0 || fc & FC_SUBTYPE_NO_DATA != 0 {
        return Err(Stop::NotIp);
    }
    let ds = flags & FLAGS_DS;
    let mut hdr = DATA_HDR_LEN;
    if ds == FLAGS_DS {
        hdr += ADDR4_LEN;
    }
    let mut is_amsdu = false;
    if fc & FC_SUBTYPE_QOS != 0 {
        let Some(qos) = data.get(hdr) else {
            return weird(cx, Weird::truncated_802_11_header, me);
        };
        is_amsdu = qos & QOS_AMSDU != 0;
        if flags & FLAGS_PROTECTED != 0 {
            // Encrypted: Zeek counts it as handled and looks no further.
            return Err(Stop::NotIp);
        }
        hdr += QOS_LEN;
    }
    let rest = match data.get(hdr..) {
        Some(r) if !r.is_empty() => r,
        _ => return weird(cx, Weird::truncated_802_11_header, me),
    };
    // Source and destination by To DS / From DS: (SA, DA) are (addr2, addr1), (addr2, addr3),
    // (addr3, addr1) or (addr4, addr3).
    let (src, dst) = match ds {
        0 => (10, 4),
        1 => (10, 16),
        2 => (16, 4),
        _ => (24, 16),
    };
    meta.src_mac = mac_at(data, src);
    meta.dst_mac = mac_at(data, dst);
    Ok((if is_amsdu { Layer::Amsdu } else { Layer::WifiLlc }, rest))
}

/// The next A-MSDU subframe: its MSDU, and (in `amsdu`) the subframes after it, past Zeek's padding.
pub(crate) fn amsdu_subframe<'a>(
    cx: &mut Ctx<'_>,
    meta: &mut LinkMeta,
    data: &'a [u8],
    amsdu: &mut Amsdu<'a>,
) -> Step<'a> {
    let me = Layer::Amsdu;
    if data.is_empty() {
        // No subframe left (only reachable through LinkType::AMSDU_SUBFRAMES).
        return Err(Stop::NotIp);
    }
    let Some(msdu_len) = be16(data, 12).map(usize::from) else {
        return weird(cx, Weird::truncated_802_11_amsdu_header, me);
    };
    let Some(msdu) = data.get(SUBFRAME_HDR_LEN..SUBFRAME_HDR_LEN + msdu_len) else {
        return weird(cx, Weird::truncated_802_11_amsdu_packet, me);
    };
    let after = data.get(SUBFRAME_HDR_LEN + msdu_len..).unwrap_or(&[]);
    // Zeek pads each subframe to its length modulo 4 when that many bytes are left (none after the last).
    let pad = msdu_len % 4;
    amsdu.rest = Some(after.get(pad..).unwrap_or(after));
    if meta.src_mac.is_none() {
        // A subframe decoded on its own: the subframe header's addresses are all there is.
        meta.dst_mac = mac_at(data, 0);
        meta.src_mac = mac_at(data, 6);
    }
    Ok((Layer::WifiLlc, msdu))
}

/// An MSDU: LLC/SNAP with OUI 0, then IP; ARP and anything else stop here.
pub(crate) fn llc_snap<'a>(cx: &mut Ctx<'_>, meta: &LinkMeta, data: &'a [u8], amsdu: &mut Amsdu<'a>) -> Step<'a> {
    if data.len() < LLC_SNAP_LEN {
        return weird(cx, Weird::truncated_802_11_llc_header, Layer::WifiLlc);
    }
    if data.get(..LLC_SNAP_ETHERNET.len()) != Some(&LLC_SNAP_ETHERNET) {
        return Err(Stop::NotIp);
    }
    let proto = be16(data, 6).ok_or(Stop::Malformed)?;
    let rest = data.get(LLC_SNAP_LEN..).ok_or(Stop::Malformed)?;
    match proto {
        0x0800 | 0x86dd => Ok((Layer::Ip, rest)),
        0x0806 | 0x8035 => {
            amsdu.arp_ok = arp_accepted(rest, meta.src_mac);
            Err(Stop::NotIp)
        }
        _ => Err(Stop::NotIp),
    }
}

/// Whether Zeek's ARP analyzer returns true for `data` (a complete Ethernet/IPv4 request or reply whose
/// sender hardware address is the frame's source). weir has no ARP analyzer; this only decides whether an
/// A-MSDU goes on after an ARP subframe.
fn arp_accepted(data: &[u8], l2_src: Option<[u8; 6]>) -> bool {
    let [hrd0, hrd1, pro0, pro1, hln, pln, op0, op1, ..] = *data else {
        return false;
    };
    let (hrd, pro, op) = (
        u16::from_be_bytes([hrd0, hrd1]),
        u16::from_be_bytes([pro0, pro1]),
        u16::from_be_bytes([op0, op1]),
    );
    let need = 8 + 2 * usize::from(hln) + 2 * usize::from(pln);
    data.len() >= need
        && matches!(hrd, 1 | 6)
        && hln == 6
        && pro == 0x0800
        && pln == 4
        && l2_src.is_some_and(|m| data.get(8..14) == Some(&m[..]))
        && matches!(op, 1 | 2)
}

#[cfg(test)]
mod tests {
    use crate::{decode_frame, DecodeConfig, DecodeWeird, Decoded, LinkType, Stop, Transport};
    use weir_api::Weird;

    /// IPv4 10.0.0.1 -> 10.0.0.2 UDP 1234 -> 53, empty (as in `link.rs`'s tests).
    const IP_UDP: [u8; 28] = [
        0x45, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x66, 0xce, // ver/ihl .. checksum
        0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, // src, dst
        0x04, 0xd2, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00, // UDP
    ];
    /// LLC/SNAP, OUI 0, EtherType IPv4.
    const SNAP_IP: [u8; 8] = [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00];

    /// A data frame header: frame control, flags, duration, addr1 = 1:1:1:1:1:1, addr2 = 2:.., addr3 = 3:..,
    /// sequence control; addr4 = 4:.. when To DS and From DS are both set; QoS control when `qos` is Some.
    fn hdr(fc: u8, flags: u8, qos: Option<u8>) -> Vec<u8> {
        let mut h = vec![fc, flags, 0, 0];
        for a in 1..=3 {
            h.extend_from_slice(&[a; 6]);
        }
        h.extend_from_slice(&[0, 0]);
        if flags & 3 == 3 {
            h.extend_from_slice(&[4; 6]);
        }
        if let Some(q) = qos {
            h.extend_from_slice(&[q, 0]);
        }
        h
    }

    fn msdu() -> Vec<u8> {
        [&SNAP_IP[..], &IP_UDP[..]].concat()
    }

    fn run(link: LinkType, f: &[u8]) -> (Result<(), Stop>, Decoded<'_>, Vec<DecodeWeird>) {
        let mut out = Decoded::default();
        let mut w = Vec::new();
        let r = decode_frame(&DecodeConfig::default(), link, f, &mut out, &mut w);
        (r, out, w)
    }

    fn is_udp(d: &Decoded<'_>) -> bool {
        matches!(d.transport, Some(Transport::Udp(u)) if u.src_port == 1234 && u.dst_port == 53)
    }

    #[test]
    fn data_frames_by_ds_bits() {
        // (flags, expected source, expected destination): SA/DA by To DS / From DS.
        for (flags, src, dst) in [(0u8, 2u8, 1u8), (1, 2, 3), (2, 3, 1), (3, 4, 3)] {
            let f = [hdr(0x08, flags, None), msdu()].concat();
            let (r, out, w) = run(LinkType::IEEE802_11, &f);
            assert_eq!(r, Ok(()), "flags {flags}");
            assert!(w.is_empty() && is_udp(&out) && out.amsdu_rest.is_empty());
            assert_eq!((out.link.src_mac, out.link.dst_mac), (Some([src; 6]), Some([dst; 6])));
        }
        // QoS data (subtype 8), not an A-MSDU.
        let f = [hdr(0x88, 1, Some(0)), msdu()].concat();
        assert!(is_udp(&run(LinkType::IEEE802_11, &f).1));
    }

    #[test]
    fn frames_zeek_skips_silently() {
        let body = msdu();
        // Management (beacon), control (ACK type 1), Null data (subtype 4), protected QoS data.
        for h in [
            hdr(0x80, 0, None),
            hdr(0xd4, 0, None),
            hdr(0x48, 1, None),
            hdr(0x88, 0x41, Some(0)),
        ] {
            let f = [h, body.clone()].concat();
            let (r, _, w) = run(LinkType::IEEE802_11, &f);
            assert_eq!((r, w.len()), (Err(Stop::NotIp), 0));
        }
        // Not SNAP (STP's LLC), SNAP with another OUI, EAPOL: no weird either.
        for llc in [
            [0x42, 0x42, 0x03, 0, 0, 0, 0, 0],
            [0xaa, 0xaa, 0x03, 0, 0, 0xf8, 0x08, 0x00],
            {
                let mut e = SNAP_IP;
                e[6..].copy_from_slice(&[0x88, 0x8e]);
                e
            },
        ] {
            let f = [hdr(0x08, 1, None), llc.to_vec(), IP_UDP.to_vec()].concat();
            assert_eq!(run(LinkType::IEEE802_11, &f).0, Err(Stop::NotIp));
        }
    }

    #[test]
    fn truncation_weirds() {
        let one = |link: LinkType, f: &[u8]| {
            let (r, _, w) = run(link, f);
            assert_eq!(r, Err(Stop::Malformed));
            assert_eq!(w.len(), 1, "{w:?}");
            (w[0].weird, w[0].source)
        };
        let t80211 = (Weird::truncated_802_11_header, "IEEE802_11");
        // 24 bytes: Zeek wants more than the minimal header.
        assert_eq!(one(LinkType::IEEE802_11, &hdr(0x08, 1, None)), t80211);
        // Four addresses, or QoS control, cut short.
        assert_eq!(one(LinkType::IEEE802_11, &hdr(0x08, 3, None)[..28]), t80211);
        assert_eq!(one(LinkType::IEEE802_11, &hdr(0x88, 1, Some(0))), t80211);
        // LLC/SNAP needs 8 bytes.
        let f = [hdr(0x08, 1, None), SNAP_IP[..7].to_vec()].concat();
        assert_eq!(
            one(LinkType::IEEE802_11, &f),
            (Weird::truncated_802_11_llc_header, "IEEE802_11")
        );
        // Radiotap: 3 bytes, or a length covering the whole frame.
        let tr = (Weird::truncated_radiotap_header, "IEEE802_11_RADIO");
        assert_eq!(one(LinkType::IEEE802_11_RADIO, &[0, 0, 8]), tr);
        assert_eq!(one(LinkType::IEEE802_11_RADIO, &[0, 0, 8, 0, 0, 0, 0, 0]), tr);
    }

    #[test]
    fn radiotap_then_802_11() {
        // Radiotap version 0, length 12 (little-endian), present flags, 4 bytes of fields.
        let f = [vec![0, 0, 12, 0, 0, 0, 0, 0, 1, 2, 3, 4], hdr(0x08, 2, None), msdu()].concat();
        let (r, out, w) = run(LinkType::IEEE802_11_RADIO, &f);
        assert_eq!((r, w.len()), (Ok(()), 0));
        assert!(is_udp(&out));
        assert_eq!(out.link.src_mac, Some([3; 6]));
    }

    /// An A-MSDU subframe: DA 5:.., SA 6:.., length, MSDU, and Zeek's padding (length modulo 4).
    fn subframe(msdu: &[u8], pad: bool) -> Vec<u8> {
        let mut s = [[5u8; 6], [6u8; 6]].concat();
        s.extend_from_slice(&(msdu.len() as u16).to_be_bytes());
        s.extend_from_slice(msdu);
        if pad {
            s.resize(s.len() + msdu.len() % 4, 0);
        }
        s
    }

    #[test]
    fn amsdu_every_subframe() {
        // Two subframes (36-byte MSDUs: no padding) then a third whose MSDU is cut: Zeek analyses the
        // first two, then raises truncated_802_11_amsdu_packet.
        let mut f = hdr(0x88, 2, Some(0x80));
        f.extend(subframe(&msdu(), true));
        f.extend(subframe(&msdu(), true));
        let mut cut = subframe(&msdu(), false);
        cut.truncate(30);
        f.extend(&cut);
        let (r, out, w) = run(LinkType::IEEE802_11, &f);
        assert_eq!((r, w.len()), (Ok(()), 0));
        assert!(is_udp(&out));
        assert_eq!(
            out.link.src_mac,
            Some([3; 6]),
            "the 802.11 header's addresses, as Zeek keeps them"
        );
        let rest = out.amsdu_rest;
        assert_eq!(rest.len(), 50 + 30);
        let (r, out, w) = run(LinkType::AMSDU_SUBFRAMES, rest);
        assert_eq!((r, w.len()), (Ok(()), 0));
        assert!(is_udp(&out));
        assert_eq!(out.amsdu_rest.len(), 30);
        let (r, out, w) = run(LinkType::AMSDU_SUBFRAMES, out.amsdu_rest);
        assert_eq!(r, Err(Stop::Malformed));
        assert_eq!(w[0].weird, Weird::truncated_802_11_amsdu_packet);
        assert!(out.amsdu_rest.is_empty());
        // Fewer than 14 bytes left: a truncated subframe header.
        let (_, _, w) = run(LinkType::AMSDU_SUBFRAMES, &[0; 13]);
        assert_eq!(w[0].weird, Weird::truncated_802_11_amsdu_header);
    }

    #[test]
    fn amsdu_stops_at_a_refused_subframe() {
        // A non-SNAP subframe stops the A-MSDU with invalid_802_11_amsdu_inner_packet.
        let mut f = hdr(0x88, 2, Some(0x80));
        f.extend(subframe(&[0x42, 0x42, 0x03, 0, 0, 0, 0, 0], true));
        f.extend(subframe(&msdu(), true));
        let (r, out, w) = run(LinkType::IEEE802_11, &f);
        assert_eq!(r, Err(Stop::Malformed));
        assert_eq!(w.len(), 1);
        assert_eq!(
            (w[0].weird, w[0].source),
            (Weird::invalid_802_11_amsdu_inner_packet, "IEEE802_11")
        );
        assert!(out.amsdu_rest.is_empty());
        // A short LLC header: both weirds, in Zeek's order.
        let mut f = hdr(0x88, 2, Some(0x80));
        f.extend(subframe(&SNAP_IP[..4], true));
        let (_, _, w) = run(LinkType::IEEE802_11, &f);
        let names: Vec<_> = w.iter().map(|w| w.weird).collect();
        assert_eq!(
            names,
            [
                Weird::truncated_802_11_llc_header,
                Weird::invalid_802_11_amsdu_inner_packet
            ]
        );
    }

    #[test]
    fn amsdu_goes_on_after_arp() {
        // ARP request from the frame's source (addr3 with From DS) over SNAP, then an IP subframe.
        let mut arp = vec![0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1];
        arp.extend_from_slice(&[3; 6]);
        arp.extend_from_slice(&[10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2]);
        let mut f = hdr(0x88, 2, Some(0x80));
        f.extend(subframe(&arp, true));
        f.extend(subframe(&msdu(), true));
        let (r, out, w) = run(LinkType::IEEE802_11, &f);
        assert_eq!((r, w.len()), (Err(Stop::NotIp), 0));
        let (r, out, _) = run(LinkType::AMSDU_SUBFRAMES, out.amsdu_rest);
        assert_eq!(r, Ok(()));
        assert!(is_udp(&out));
        // The same ARP from another sender: Zeek's ARP analyzer refuses it, and the A-MSDU stops.
        arp[16] = 9;
        let mut f = hdr(0x88, 2, Some(0x80));
        f.extend(subframe(&arp, true));
        f.extend(subframe(&msdu(), true));
        let (r, _, w) = run(LinkType::IEEE802_11, &f);
        assert_eq!(r, Err(Stop::Malformed));
        assert_eq!(w[0].weird, Weird::invalid_802_11_amsdu_inner_packet);
    }
}
