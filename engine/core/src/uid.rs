//! Connection uids in Zeek's format.
//!
//! Zeek draws 96 random bits per connection and writes them as `C` followed by the base-62 digits
//! (least significant first) of the top 32 bits and then of the next 64 (`UID::Base62`). weir derives the
//! 96 bits from the run's seed and the input position of the connection's first packet instead of a
//! random generator: the uid of a connection is then the same run to run and whatever the number of
//! workers, and no two connections share one (a packet starts at most one connection).

const DIGITS: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// A 96-bit uid. `Copy` and 16 bytes; rendered only when a log row is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Uid {
    hi: u32,
    lo: u64,
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Uid {
    /// The uid for the connection whose first packet is input packet number `packet_seq`.
    pub fn new(seed: u64, packet_seq: u64, salt: u64) -> Uid {
        let a = splitmix64(seed ^ splitmix64(packet_seq));
        let b = splitmix64(a ^ salt.rotate_left(17) ^ 0x5745_4952);
        Uid {
            hi: (a >> 32) as u32,
            lo: b,
        }
    }

    /// Writes `C...` into `out` and returns the text (at most 1 + 6 + 11 characters).
    pub fn render<'a>(&self, prefix: u8, out: &'a mut [u8; 24]) -> &'a str {
        let mut n = 0;
        out[n] = prefix;
        n += 1;
        for mut v in [self.hi as u64, self.lo] {
            loop {
                out[n] = DIGITS[(v % 62) as usize];
                n += 1;
                v /= 62;
                if v == 0 {
                    break;
                }
            }
        }
        core::str::from_utf8(&out[..n]).unwrap_or("C")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_zeek_base62() {
        let mut buf = [0u8; 24];
        let u = Uid { hi: 61, lo: 62 };
        // 61 -> "Z"; 62 -> digits least significant first: "01".
        assert_eq!(u.render(b'C', &mut buf), "CZ01");
        let u = Uid { hi: 0, lo: 0 };
        assert_eq!(u.render(b'C', &mut buf), "C00");
    }

    #[test]
    fn deterministic_and_distinct() {
        assert_eq!(Uid::new(1, 5, 0), Uid::new(1, 5, 0));
        assert_ne!(Uid::new(1, 5, 0), Uid::new(1, 6, 0));
        let mut buf = [0u8; 24];
        let s = Uid::new(7, 123, 0).render(b'C', &mut buf).to_string();
        assert!(s.len() >= 10 && s.len() <= 18, "{s}");
    }
}
