//! Local networks (Zeek's `Site::local_nets`), which set conn.log's `local_orig` and `local_resp`.
//!
//! Zeek counts `Site::private_address_space` as local by default (`Site::private_address_space_is_local`),
//! so even with nothing configured, RFC 1918 space, loopback, link-local, documentation ranges and the rest
//! of the IANA special-purpose list are local. The list below is Zeek's, in Zeek's order.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A subnet: an address and a prefix length. IPv4 subnets match only IPv4 addresses, as in Zeek.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subnet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Subnet {
    pub fn contains(&self, a: IpAddr) -> bool {
        match (self.addr, a) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let p = self.prefix.min(32) as u32;
                if p == 0 {
                    return true;
                }
                let mask = u32::MAX << (32 - p);
                (u32::from(n) & mask) == (u32::from(a) & mask)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let p = self.prefix.min(128) as u32;
                if p == 0 {
                    return true;
                }
                let mask = u128::MAX << (128 - p);
                (u128::from(n) & mask) == (u128::from(a) & mask)
            }
            _ => false,
        }
    }

    /// Parses `10.0.0.0/8`, `[2001:db8::]/32` or `2001:db8::/32`; a bare address is a host subnet.
    pub fn parse(s: &str) -> Result<Subnet, String> {
        let s = s.trim();
        let (a, p) = match s.rsplit_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let a = a.trim().trim_start_matches('[').trim_end_matches(']');
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("not an address: {a:?} in subnet {s:?}"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("bad prefix length in subnet {s:?}"))?,
            None => max,
        };
        Ok(Subnet { addr, prefix })
    }
}

/// Zeek's `Site::private_address_space` (base/utils/site.zeek).
pub const PRIVATE_ADDRESS_SPACE: &[&str] = &[
    "0.0.0.0/8",
    "[2002::]/24",
    "10.0.0.0/8",
    "[2002:a00::]/24",
    "100.64.0.0/10",
    "[2002:6440::]/26",
    "127.0.0.0/8",
    "[2002:7f00::]/24",
    "169.254.0.0/16",
    "[2002:a9fe::]/32",
    "172.16.0.0/12",
    "[2002:ac10::]/28",
    "192.0.0.0/24",
    "[2002:c000::]/40",
    "192.0.2.0/24",
    "[2002:c000:200::]/40",
    "192.168.0.0/16",
    "[2002:c0a8::]/32",
    "198.18.0.0/15",
    "[2002:c612::]/31",
    "198.51.100.0/24",
    "[2002:c633:6400::]/40",
    "203.0.113.0/24",
    "[2002:cb00:7100::]/40",
    "224.0.0.0/24",
    "[2002:e000::]/40",
    "239.0.0.0/8",
    "[2002:ef00::]/24",
    "240.0.0.0/4",
    "[2002:f000::]/20",
    "255.255.255.255/32",
    "[2002:ffff:ffff::]/48",
    "[::]/128",
    "[::1]/128",
    "[64:ff9b:1::]/48",
    "[100::]/64",
    "[2001::]/23",
    "[2001:2::]/48",
    "[2001:db8::]/32",
    "[fc00::]/7",
    "[fe80::]/10",
    "[fec0::]/10",
];

/// A set of subnets with a membership test.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetSet {
    nets: Vec<Subnet>,
}

impl NetSet {
    pub fn new(nets: Vec<Subnet>) -> NetSet {
        NetSet { nets }
    }

    /// Zeek's default `Site::local_nets`: the private address space.
    pub fn private_address_space() -> NetSet {
        NetSet {
            nets: PRIVATE_ADDRESS_SPACE
                .iter()
                .map(|s| Subnet::parse(s).expect("the built-in list parses"))
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    pub fn contains(&self, a: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(a))
    }

    pub fn extend(&mut self, other: &NetSet) {
        for n in &other.nets {
            if !self.nets.contains(n) {
                self.nets.push(*n);
            }
        }
    }

    pub fn subnets(&self) -> &[Subnet] {
        &self.nets
    }

    /// Parses Zeek's set syntax: `{10.0.0.0/8, [2001:db8::]/32}` or a plain comma-separated list.
    pub fn parse(s: &str) -> Result<NetSet, String> {
        let inner = s.trim().trim_start_matches('{').trim_end_matches('}');
        let mut nets = Vec::new();
        for part in inner.split(',') {
            if part.trim().is_empty() {
                continue;
            }
            nets.push(Subnet::parse(part)?);
        }
        Ok(NetSet { nets })
    }
}

/// Zeek's `IPAddr::IsBroadcast`: only 255.255.255.255 (a UDP flip towards it is not done).
pub fn is_broadcast(a: IpAddr) -> bool {
    a == IpAddr::V4(Ipv4Addr::BROADCAST)
}

/// `::` for an unset address in places that need one.
pub const UNSPECIFIED_V6: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_space_matches_zeek_readme_examples() {
        let s = NetSet::private_address_space();
        assert!(!s.contains("1.1.1.1".parse().unwrap()));
        assert!(s.contains("192.168.1.1".parse().unwrap()));
        assert!(s.contains("224.0.0.5".parse().unwrap()));
        assert!(!s.contains("224.2.127.254".parse().unwrap()));
        assert!(s.contains("2001:0:4136:e378::1".parse().unwrap())); // Teredo, in 2001::/23
        assert!(s.contains("fe80::1".parse().unwrap()));
        assert!(!s.contains("2607:f8b0::1".parse().unwrap()));
    }

    #[test]
    fn parses_zeek_set_syntax() {
        let s = NetSet::parse("{192.168.0.0/16, 192.169.0.0/16}").unwrap();
        assert!(s.contains("192.169.3.4".parse().unwrap()));
        assert!(!s.contains("192.170.3.4".parse().unwrap()));
        assert!(NetSet::parse("{10.0.0.0/33}").is_err());
    }
}
