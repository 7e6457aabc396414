//! Community ID flow hashing, version 1 (https://github.com/corelight/community-id-spec), as Zeek's
//! `community_id_v1` computes it for conn.log's `community_id` (policy/protocols/conn/community-id-logging).

use crate::conn::ConnCore;
use crate::key::addr16;
use core::net::IpAddr;
use sha1_smol::Sha1;

/// `1:` followed by base64 of the SHA-1 of seed, ordered addresses, protocol, padding and ordered ports.
pub fn compute(seed: u16, c: &ConnCore) -> String {
    hash(seed, c.orig_h, c.orig_p, c.resp_h, c.resp_p, c.proto)
}

fn is_icmp(proto: u8) -> bool {
    proto == 1 || proto == 58
}

/// ICMP types whose answer has a known type (the spec's "two-way" table); others are one-way.
fn icmp_pair(v6: bool, t: u16) -> Option<u16> {
    let v = if !v6 {
        match t {
            8 => 0,
            0 => 8,
            13 => 14,
            14 => 13,
            15 => 16,
            16 => 15,
            10 => 9,
            9 => 10,
            17 => 18,
            18 => 17,
            _ => return None,
        }
    } else {
        match t {
            128 => 129,
            129 => 128,
            133 => 134,
            134 => 133,
            135 => 136,
            136 => 135,
            130 => 131,
            131 => 130,
            139 => 140,
            140 => 139,
            144 => 145,
            145 => 144,
            _ => return None,
        }
    };
    Some(v)
}

pub fn hash(seed: u16, oh: IpAddr, op: u16, rh: IpAddr, rp: u16, proto: u8) -> String {
    let v4 = oh.is_ipv4() && rh.is_ipv4();
    let bytes = |a: IpAddr| -> ([u8; 16], usize) {
        match a {
            IpAddr::V4(v) if v4 => {
                let mut b = [0u8; 16];
                b[..4].copy_from_slice(&v.octets());
                (b, 4)
            }
            other => (addr16(other), 16),
        }
    };
    let (mut sa, mut sp, mut da, mut dp) = (bytes(oh), op, bytes(rh), rp);
    let mut one_way = false;
    if is_icmp(proto) {
        // ICMP: the "ports" are type and code; two-way types use the answer's type as the destination.
        match icmp_pair(proto == 58, sp) {
            Some(counter) => dp = counter,
            None => one_way = true,
        }
    }
    let lt = (sa.0[..sa.1].to_vec(), sp) < (da.0[..da.1].to_vec(), dp);
    if !one_way && !lt && !(sa.0[..sa.1] == da.0[..da.1] && sp == dp) {
        core::mem::swap(&mut sa, &mut da);
        core::mem::swap(&mut sp, &mut dp);
    }
    let mut h = Sha1::new();
    h.update(&seed.to_be_bytes());
    h.update(&sa.0[..sa.1]);
    h.update(&da.0[..da.1]);
    h.update(&[proto, 0]);
    if matches!(proto, 6 | 17 | 132) || is_icmp(proto) {
        h.update(&sp.to_be_bytes());
        h.update(&dp.to_be_bytes());
    }
    let digest = h.digest().bytes();
    let mut s = String::from("1:");
    base64(&digest, &mut s);
    s
}

fn base64(data: &[u8], out: &mut String) {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Test vectors from the Community ID specification's baseline (seed 0).
    #[test]
    fn spec_vectors() {
        let h = |a: &str, ap, b: &str, bp, p| hash(0, a.parse().unwrap(), ap, b.parse().unwrap(), bp, p);
        assert_eq!(
            h("128.232.110.120", 34855, "66.35.250.204", 80, 6),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        assert_eq!(
            h("66.35.250.204", 80, "128.232.110.120", 34855, 6),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        assert_eq!(
            h("192.168.1.52", 54585, "8.8.8.8", 53, 17),
            "1:d/FP5EW3wiY1vCndhwleRRKHowQ="
        );
        assert_eq!(
            h("192.168.0.89", 8, "192.168.0.1", 0, 1),
            "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="
        );
    }
}
