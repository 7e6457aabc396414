//! Packet building: Ethernet, IPv4/IPv6, TCP/UDP/ICMP/ICMPv6 with correct checksums, VXLAN.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ip {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl Ip {
    pub fn is_v6(&self) -> bool {
        matches!(self, Ip::V6(_))
    }
}

pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_ICMP6: u8 = 58;

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// Ones'-complement sum of `data` added to `acc` (not folded).
fn sum16(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u16::from_be_bytes([c[0], c[1]]) as u32;
        if acc > 0xffff_0000 {
            acc = (acc & 0xffff) + (acc >> 16);
        }
    }
    if let [b] = chunks.remainder() {
        acc += (*b as u32) << 8;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The Internet checksum of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    fold(sum16(0, data))
}

/// The TCP/UDP/ICMPv6 checksum of `l4` (whose checksum field is zero) with the pseudo-header.
pub fn l4_checksum(src: &Ip, dst: &Ip, proto: u8, l4: &[u8]) -> u16 {
    let mut acc = 0;
    match (src, dst) {
        (Ip::V4(s), Ip::V4(d)) => {
            acc = sum16(acc, s);
            acc = sum16(acc, d);
            acc += proto as u32;
            acc += l4.len() as u32;
        }
        (Ip::V6(s), Ip::V6(d)) => {
            acc = sum16(acc, s);
            acc = sum16(acc, d);
            acc += (l4.len() as u32 >> 16) + (l4.len() as u32 & 0xffff);
            acc += proto as u32;
        }
        _ => panic!("address families differ"),
    }
    fold(sum16(acc, l4))
}

pub struct Tcp<'a> {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub win: u16,
    pub options: &'a [u8],
    pub payload: &'a [u8],
}

/// A TCP segment (header + payload) with its checksum.
pub fn tcp(src: &Ip, dst: &Ip, t: &Tcp) -> Vec<u8> {
    assert!(t.options.len() & 3 == 0, "TCP options come in 4-byte words");
    let hl = 20 + t.options.len();
    let mut v = Vec::with_capacity(hl + t.payload.len());
    v.extend_from_slice(&t.sport.to_be_bytes());
    v.extend_from_slice(&t.dport.to_be_bytes());
    v.extend_from_slice(&t.seq.to_be_bytes());
    v.extend_from_slice(&(if t.flags & ACK != 0 { t.ack } else { 0 }).to_be_bytes());
    v.push(((hl / 4) as u8) << 4);
    v.push(t.flags);
    v.extend_from_slice(&t.win.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    v.extend_from_slice(t.options);
    v.extend_from_slice(t.payload);
    let c = l4_checksum(src, dst, PROTO_TCP, &v);
    v[16..18].copy_from_slice(&c.to_be_bytes());
    v
}

/// A UDP datagram with its checksum (0xffff when the sum is zero, as RFC 768 says).
pub fn udp(src: &Ip, dst: &Ip, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + payload.len());
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    let mut c = l4_checksum(src, dst, PROTO_UDP, &v);
    if c == 0 {
        c = 0xffff;
    }
    v[6..8].copy_from_slice(&c.to_be_bytes());
    v
}

/// An ICMP (v4) or ICMPv6 message: type, code, the 4 bytes after the checksum, then `body`.
pub fn icmp(src: &Ip, dst: &Ip, typ: u8, code: u8, rest: [u8; 4], body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + body.len());
    v.extend_from_slice(&[typ, code, 0, 0]);
    v.extend_from_slice(&rest);
    v.extend_from_slice(body);
    let c = if src.is_v6() {
        l4_checksum(src, dst, PROTO_ICMP6, &v)
    } else {
        checksum(&v)
    };
    v[2..4].copy_from_slice(&c.to_be_bytes());
    v
}

/// An IPv4 or IPv6 packet around `l4`. `proto` is the IPv4 protocol number (ICMP becomes 58
/// under IPv6 when the caller passes PROTO_ICMP6).
pub fn ip(src: &Ip, dst: &Ip, proto: u8, ttl: u8, id: u16, df: bool, l4: &[u8]) -> (u16, Vec<u8>) {
    match (src, dst) {
        (Ip::V4(s), Ip::V4(d)) => {
            let mut v = Vec::with_capacity(20 + l4.len());
            v.push(0x45);
            v.push(0);
            v.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
            v.extend_from_slice(&id.to_be_bytes());
            v.extend_from_slice(&(if df { 0x4000u16 } else { 0 }).to_be_bytes());
            v.push(ttl);
            v.push(proto);
            v.extend_from_slice(&[0, 0]);
            v.extend_from_slice(s);
            v.extend_from_slice(d);
            let c = checksum(&v[..20]);
            v[10..12].copy_from_slice(&c.to_be_bytes());
            v.extend_from_slice(l4);
            (0x0800, v)
        }
        (Ip::V6(s), Ip::V6(d)) => {
            let mut v = Vec::with_capacity(40 + l4.len());
            let flow = (id as u32) & 0xfffff;
            v.extend_from_slice(&((6u32 << 28) | flow).to_be_bytes());
            v.extend_from_slice(&(l4.len() as u16).to_be_bytes());
            v.push(proto);
            v.push(ttl);
            v.extend_from_slice(s);
            v.extend_from_slice(d);
            v.extend_from_slice(l4);
            (0x86dd, v)
        }
        _ => panic!("address families differ"),
    }
}

/// An Ethernet II frame; frames shorter than 60 bytes are padded when `pad` (as a received frame is).
pub fn eth(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8], pad: bool) -> Vec<u8> {
    let mut v = Vec::with_capacity(14 + payload.len().max(46));
    v.extend_from_slice(&dst);
    v.extend_from_slice(&src);
    v.extend_from_slice(&ethertype.to_be_bytes());
    v.extend_from_slice(payload);
    if pad && v.len() < 60 {
        v.resize(60, 0);
    }
    v
}

/// The one outer flow that VXLAN mode wraps every frame in.
pub struct Vxlan {
    pub src: Ip,
    pub dst: Ip,
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub sport: u16,
    pub vni: u32,
    pub ip_id: u16,
}

impl Vxlan {
    pub fn wrap(&mut self, inner: &[u8]) -> Vec<u8> {
        let mut p = Vec::with_capacity(8 + inner.len());
        p.extend_from_slice(&[0x08, 0, 0, 0]);
        p.extend_from_slice(&(self.vni << 8).to_be_bytes());
        p.extend_from_slice(inner);
        let u = udp(&self.src, &self.dst, self.sport, 4789, &p);
        self.ip_id = self.ip_id.wrapping_add(1);
        let (et, ipp) = ip(&self.src, &self.dst, PROTO_UDP, 64, self.ip_id, true, &u);
        eth(self.dst_mac, self.src_mac, et, &ipp, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_checksum_verifies() {
        let (_, p) = ip(
            &Ip::V4([10, 0, 0, 1]),
            &Ip::V4([10, 0, 0, 2]),
            PROTO_UDP,
            64,
            7,
            true,
            &[0; 8],
        );
        assert_eq!(checksum(&p[..20]), 0);
    }

    #[test]
    fn tcp_checksum_verifies_v4_and_v6() {
        for (s, d) in [
            (Ip::V4([10, 1, 2, 3]), Ip::V4([192, 0, 2, 9])),
            (
                Ip::V6([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
                Ip::V6([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]),
            ),
        ] {
            let t = Tcp {
                sport: 1234,
                dport: 80,
                seq: 1,
                ack: 2,
                flags: ACK | PSH,
                win: 1000,
                options: &[],
                payload: b"hello",
            };
            let seg = tcp(&s, &d, &t);
            assert_eq!(l4_checksum(&s, &d, PROTO_TCP, &seg), 0);
        }
    }
}
