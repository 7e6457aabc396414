//! Row formatting: Zeek's ascii writer in its two modes, TSV (the default) and JSON (`LogAscii::use_json=T`).
//!
//! Everything here is a pure function that appends to a caller's `Vec<u8>` and allocates nothing else.
//! The byte-level rules (which bytes are escaped, how numbers and addresses are printed) are taken from
//! Zeek's sources; each helper names the function it reproduces.

pub mod json;
pub mod tsv;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use json::json_row;
pub use tsv::{tsv_close, tsv_header, tsv_row};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `\xNN` with lower-case hex digits (Zeek's `util::bytetohex`).
#[inline]
pub(crate) fn push_hex_escape(out: &mut Vec<u8>, b: u8) {
    out.extend_from_slice(&[b'\\', b'x', HEX[(b >> 4) as usize], HEX[(b & 0xf) as usize]]);
}

/// Decimal, as `{n}` prints it, without going through `core::fmt`.
#[inline]
pub(crate) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    for d in buf.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        i -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(buf.get(i..).unwrap_or_default());
}

#[inline]
pub(crate) fn push_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_u64(out, n.unsigned_abs());
}

/// An address as Zeek renders it (`Formatter::Render(addr)` → `zeek_inet_ntop`). An IPv4-mapped IPv6
/// address is an IPv4 address to Zeek (it stores both families in 16 bytes), so it prints dotted.
pub(crate) fn push_addr(out: &mut Vec<u8>, addr: IpAddr) {
    match addr {
        IpAddr::V4(a) => push_v4(out, a),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => push_v4(out, v4),
            None => push_v6(out, a),
        },
    }
}

/// A subnet as Zeek renders it: `prefix/len`. For an IPv4-mapped prefix Zeek stores the length plus 96.
pub(crate) fn push_subnet(out: &mut Vec<u8>, addr: IpAddr, len: u8) {
    let len = match addr {
        IpAddr::V6(a) if a.to_ipv4_mapped().is_some() && len >= 96 => len - 96,
        _ => len,
    };
    push_addr(out, addr);
    out.push(b'/');
    push_u64(out, len as u64);
}

fn push_v4(out: &mut Vec<u8>, a: Ipv4Addr) {
    let o = a.octets();
    for (i, b) in o.iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        push_u64(out, *b as u64);
    }
}

/// A 16-bit word in lower-case hex without leading zeros, as `{:x}` prints it.
fn push_hex_word(out: &mut Vec<u8>, w: u16) {
    let digits = (16 - w.leading_zeros()).div_ceil(4).max(1);
    for k in (0..digits).rev() {
        out.push(HEX[usize::from((w >> (4 * k)) & 0xf)]);
    }
}

/// `zeek_inet_ntop6` (Paul Vixie's inet_ntop, modified by Zeek for IPv4-translated forms): the longest
/// run of at least two zero words becomes `::` (the first such run on a tie), and a few prefixes print
/// their last 32 bits as a dotted quad.
fn push_v6(out: &mut Vec<u8>, a: Ipv6Addr) {
    let words = a.segments();
    let (mut best_base, mut best_len): (Option<usize>, usize) = (None, 0);
    let (mut cur_base, mut cur_len): (Option<usize>, usize) = (None, 0);
    for (i, w) in words.iter().enumerate() {
        if *w == 0 {
            if cur_base.is_none() {
                cur_base = Some(i);
                cur_len = 1;
            } else {
                cur_len += 1;
            }
        } else if cur_base.is_some() {
            if best_base.is_none() || cur_len > best_len {
                best_base = cur_base;
                best_len = cur_len;
            }
            cur_base = None;
        }
    }
    if cur_base.is_some() && (best_base.is_none() || cur_len > best_len) {
        best_base = cur_base;
        best_len = cur_len;
    }
    if best_len < 2 {
        best_base = None;
    }

    let mut i = 0;
    while i < 8 {
        if let Some(base) = best_base {
            if i >= base && i < base + best_len {
                if i == base {
                    out.push(b':');
                }
                i += 1;
                continue;
            }
        }
        if i != 0 {
            out.push(b':');
        }
        if i == 6
            && best_base == Some(0)
            && (best_len == 6
                || (best_len == 7 && words[7] != 0x0001)
                || (best_len == 5 && words[5] == 0xffff)
                || (best_len == 4 && words[4] == 0xffff && words[5] == 0))
        {
            let o = a.octets();
            push_v4(out, Ipv4Addr::new(o[12], o[13], o[14], o[15]));
            return;
        }
        push_hex_word(out, words[i]);
        i += 1;
    }
    if let Some(base) = best_base {
        if base + best_len == 8 {
            out.push(b':');
        }
    }
}

/// Why Zeek's `escape_utf8` keeps or escapes a byte. Shared by both formats.
///
/// Returns whether `s` holds a byte that `escape_utf8` treats as "bad": a byte outside printable ASCII
/// (and outside `passthrough`) that does not start a well-formed UTF-8 character, or starts one that is a
/// control, private-use or U+FFFx character (`check_ok_utf8`). When that happens Zeek escapes **every**
/// non-passthrough byte of the string, the valid multi-byte characters included.
pub(crate) fn utf8_has_bad(s: &[u8], passthrough: fn(u8) -> bool) -> bool {
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if passthrough(b) {
            i += 1;
            continue;
        }
        let size = utf8_char_size(b);
        if i + size > s.len() || !utf8_char_ok(&s[i..i + size]) {
            return true;
        }
        i += size;
    }
    false
}

/// `getNumBytesForUTF8`: the length announced by a lead byte (`trailingBytesForUTF8 + 1`, up to 6).
#[inline]
fn utf8_char_size(b: u8) -> usize {
    match b {
        0x00..=0xbf => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        0xf8..=0xfb => 5,
        0xfc..=0xff => 6,
    }
}

/// `check_ok_utf8`: exactly one well-formed character (strict: no overlong forms, no surrogates, at most
/// 4 bytes, at most U+10FFFF), which is not a C0/C1 control, DEL, private-use (U+E000..U+F8FF) or U+FFF0..U+FFFF.
fn utf8_char_ok(c: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(c) else {
        return false;
    };
    let mut chars = s.chars();
    let (Some(ch), None) = (chars.next(), chars.next()) else {
        return false;
    };
    let cp = ch as u32;
    !(cp <= 0x1f
        || cp == 0x7f
        || (0x80..=0x9f).contains(&cp)
        || (0xe000..=0xf8ff).contains(&cp)
        || (0xfff0..=0xffff).contains(&cp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_words_as_display_prints_them() {
        for w in [0u16, 1, 0xf, 0x10, 0xff, 0x100, 0xabc, 0x1000, 0xffff] {
            let mut v = Vec::new();
            push_hex_word(&mut v, w);
            assert_eq!(v, format!("{w:x}").as_bytes());
        }
    }

    #[test]
    fn integers_as_display_prints_them() {
        for n in [0u64, 1, 9, 10, 99, 100, 12345, u32::MAX as u64, u64::MAX - 1, u64::MAX] {
            let mut v = Vec::new();
            push_u64(&mut v, n);
            assert_eq!(v, n.to_string().as_bytes());
        }
        for n in [0i64, 1, -1, -10, 4711, i64::MAX, i64::MIN, i64::MIN + 1] {
            let mut v = Vec::new();
            push_i64(&mut v, n);
            assert_eq!(v, n.to_string().as_bytes());
        }
    }

    fn addr(s: &str) -> String {
        let mut v = Vec::new();
        push_addr(&mut v, s.parse().unwrap());
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn addresses_as_zeek_inet_ntop() {
        assert_eq!(addr("10.1.2.1"), "10.1.2.1");
        assert_eq!(addr("fd42:496a:d659:bb85::1"), "fd42:496a:d659:bb85::1");
        assert_eq!(
            addr("fd42:496a:d659:bb85:216:3eff:fe6a:a257"),
            "fd42:496a:d659:bb85:216:3eff:fe6a:a257"
        );
        assert_eq!(addr("::"), "::");
        assert_eq!(addr("::1"), "::1");
        assert_eq!(addr("fe80::"), "fe80::");
        // A single zero word is not compressed; the first of two equal runs is.
        assert_eq!(addr("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
        assert_eq!(addr("2001:0:0:1:0:0:1:1"), "2001::1:0:0:1:1");
        // IPv4-mapped is IPv4 to Zeek; IPv4-compatible prints its tail dotted (Rust would say ::102:304).
        assert_eq!(addr("::ffff:1.2.3.4"), "1.2.3.4");
        assert_eq!(addr("::1.2.3.4"), "::1.2.3.4");
        assert_eq!(addr("::ffff:0:1.2.3.4"), "::ffff:0:1.2.3.4");
    }

    #[test]
    fn subnets() {
        let mut v = Vec::new();
        push_subnet(&mut v, "10.0.0.0".parse().unwrap(), 8);
        v.push(b' ');
        push_subnet(&mut v, "2001:db8::".parse().unwrap(), 32);
        assert_eq!(v, b"10.0.0.0/8 2001:db8::/32");
    }
}
