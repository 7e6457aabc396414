//! DNS messages in wire format, with name compression, and a vocabulary of realistic names.

use crate::rng::Rng;

pub const A: u16 = 1;
pub const NS: u16 = 2;
pub const CNAME: u16 = 5;
pub const SOA: u16 = 6;
pub const MX: u16 = 15;
pub const TXT: u16 = 16;
pub const AAAA: u16 = 28;

const SUBS: &[&str] = &[
    "www",
    "api",
    "cdn",
    "mail",
    "static",
    "img",
    "login",
    "m",
    "edge",
    "assets",
    "auth",
    "app",
    "files",
    "update",
    "telemetry",
    "news",
    "shop",
    "docs",
    "video",
    "push",
];
const WORDS: &[&str] = &[
    "example",
    "acme",
    "globex",
    "initech",
    "contoso",
    "fabrikam",
    "umbrella",
    "hooli",
    "piedpiper",
    "wayne",
    "stark",
    "tyrell",
    "cyberdyne",
    "wonka",
    "soylent",
    "vandelay",
    "northwind",
    "adventure",
    "tailspin",
    "litware",
    "blueyonder",
    "proseware",
    "fourthcoffee",
    "margie",
    "wingtip",
    "alpine",
    "coho",
    "lucerne",
    "fineart",
    "trey",
];
const TLDS: &[&str] = &["com", "net", "org", "io", "de", "co.uk", "fr", "nl", "info", "cloud"];

/// A realistic host name, e.g. `cdn.globex.net`; drawn from a small vocabulary so names repeat.
pub fn host_name(rng: &mut Rng) -> String {
    let word = rng.pick(WORDS);
    let tld = rng.pick(TLDS);
    match rng.range(0, 9) {
        0 => format!("{word}.{tld}"),
        1 => format!(
            "{}{}.{}.{word}.{tld}",
            rng.pick(SUBS),
            rng.range(1, 9),
            rng.pick(&["eu", "us", "ap"])
        ),
        _ => format!("{}.{word}.{tld}", rng.pick(SUBS)),
    }
}

/// The registered domain of a host name (its last two labels, three for co.uk).
pub fn domain_of(name: &str) -> &str {
    let labels = if name.ends_with(".co.uk") { 3 } else { 2 };
    let mut idx = name.len();
    for _ in 0..labels {
        match name[..idx].rfind('.') {
            Some(i) => idx = i,
            None => return name,
        }
    }
    &name[idx + 1..]
}

/// Builds a DNS message, compressing names against those already written.
pub struct Msg {
    pub buf: Vec<u8>,
    /// (suffix, offset) of every name suffix written so far.
    names: Vec<(String, u16)>,
}

pub struct Rr<'a> {
    pub name: &'a str,
    pub typ: u16,
    pub ttl: u32,
    pub data: RData<'a>,
}

pub enum RData<'a> {
    A([u8; 4]),
    Aaaa([u8; 16]),
    Name(&'a str),
    Mx(u16, &'a str),
    Txt(&'a [&'a str]),
    Soa(&'a str, &'a str, u32),
}

impl Msg {
    pub fn new(id: u16, flags: u16, qd: u16, an: u16, ns: u16, ar: u16) -> Msg {
        let mut buf = Vec::with_capacity(512);
        for v in [id, flags, qd, an, ns, ar] {
            buf.extend_from_slice(&v.to_be_bytes());
        }
        Msg { buf, names: Vec::new() }
    }

    pub fn name(&mut self, name: &str) {
        let mut rest = name.trim_end_matches('.');
        while !rest.is_empty() {
            if let Some(&(_, off)) = self.names.iter().find(|(s, _)| s.eq_ignore_ascii_case(rest)) {
                self.buf.extend_from_slice(&(0xc000 | off).to_be_bytes());
                return;
            }
            if self.buf.len() < 0x3fff {
                self.names.push((rest.to_string(), self.buf.len() as u16));
            }
            let (label, tail) = match rest.find('.') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, ""),
            };
            let label = &label.as_bytes()[..label.len().min(63)];
            self.buf.push(label.len() as u8);
            self.buf.extend_from_slice(label);
            rest = tail;
        }
        self.buf.push(0);
    }

    pub fn question(&mut self, name: &str, typ: u16) {
        self.name(name);
        self.buf.extend_from_slice(&typ.to_be_bytes());
        self.buf.extend_from_slice(&1u16.to_be_bytes());
    }

    pub fn rr(&mut self, rr: &Rr) {
        self.name(rr.name);
        self.buf.extend_from_slice(&rr.typ.to_be_bytes());
        self.buf.extend_from_slice(&1u16.to_be_bytes());
        self.buf.extend_from_slice(&rr.ttl.to_be_bytes());
        let len_at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        match &rr.data {
            RData::A(a) => self.buf.extend_from_slice(a),
            RData::Aaaa(a) => self.buf.extend_from_slice(a),
            RData::Name(n) => self.name(n),
            RData::Mx(pref, n) => {
                self.buf.extend_from_slice(&pref.to_be_bytes());
                self.name(n);
            }
            RData::Txt(strings) => {
                for s in strings.iter() {
                    let b = &s.as_bytes()[..s.len().min(255)];
                    self.buf.push(b.len() as u8);
                    self.buf.extend_from_slice(b);
                }
            }
            RData::Soa(mname, rname, serial) => {
                self.name(mname);
                self.name(rname);
                for v in [*serial, 7200, 3600, 1_209_600, 300] {
                    self.buf.extend_from_slice(&v.to_be_bytes());
                }
            }
        }
        let len = (self.buf.len() - len_at - 2) as u16;
        self.buf[len_at..len_at + 2].copy_from_slice(&len.to_be_bytes());
    }
}

/// A query and, unless `answered` is false, its response.
pub struct Exchange {
    pub query: Vec<u8>,
    pub response: Vec<u8>,
}

fn v4_addr(rng: &mut Rng) -> [u8; 4] {
    let nets: &[[u8; 2]] = &[
        [93, 184],
        [151, 101],
        [104, 16],
        [142, 250],
        [13, 107],
        [23, 45],
        [185, 199],
    ];
    let n = rng.pick(nets);
    [n[0], n[1], rng.u8(), rng.range(1, 254) as u8]
}

fn v6_addr(rng: &mut Rng) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[0] = 0x26;
    a[1] = 0x06;
    a[2] = 0x47;
    a[3] = 0x00;
    rng.fill(&mut a[8..]);
    a
}

/// A realistic query of a random type and its response (A with CNAME chains, AAAA, MX, TXT,
/// NXDOMAIN with SOA). `qname` is the name asked.
pub fn exchange(rng: &mut Rng, id: u16, qname: &str) -> Exchange {
    let qtype = *rng.pick(&[A, A, A, A, A, AAAA, AAAA, AAAA, MX, TXT, A]);
    let mut q = Msg::new(id, 0x0100, 1, 0, 0, 0);
    q.question(qname, qtype);
    let domain = domain_of(qname).to_string();
    let nxdomain = rng.chance(0.06);
    let mname = format!("ns1.{domain}");
    let rname = format!("hostmaster.{domain}");
    let mut r;
    if nxdomain {
        r = Msg::new(id, 0x8183, 1, 0, 1, 0);
        r.question(qname, qtype);
        r.rr(&Rr {
            name: &domain,
            typ: SOA,
            ttl: 900,
            data: RData::Soa(&mname, &rname, rng.range(2020010100, 2026123199) as u32),
        });
        return Exchange {
            query: q.buf,
            response: r.buf,
        };
    }
    match qtype {
        A | AAAA => {
            let cname = if rng.chance(0.35) {
                Some(format!(
                    "{}.edge{}.{}",
                    qname.split('.').next().unwrap(),
                    rng.range(1, 99),
                    rng.pick(&["akamaiedge.net", "cloudfront.net", "fastly.net", "azureedge.net"])
                ))
            } else {
                None
            };
            let n_addr = rng.range(1, 4) as u16;
            r = Msg::new(id, 0x8180, 1, n_addr + cname.is_some() as u16, 0, 0);
            r.question(qname, qtype);
            let owner = match &cname {
                Some(c) => {
                    r.rr(&Rr {
                        name: qname,
                        typ: CNAME,
                        ttl: rng.range(60, 3600) as u32,
                        data: RData::Name(c),
                    });
                    c.as_str()
                }
                None => qname,
            };
            let ttl = rng.range(20, 300) as u32;
            for _ in 0..n_addr {
                let data = if qtype == A {
                    RData::A(v4_addr(rng))
                } else {
                    RData::Aaaa(v6_addr(rng))
                };
                r.rr(&Rr {
                    name: owner,
                    typ: qtype,
                    ttl,
                    data,
                });
            }
        }
        MX => {
            let n = rng.range(1, 3) as u16;
            r = Msg::new(id, 0x8180, 1, n, 0, 0);
            r.question(qname, qtype);
            for i in 0..n {
                let ex = format!("mx{}.{domain}", i + 1);
                r.rr(&Rr {
                    name: qname,
                    typ: MX,
                    ttl: 3600,
                    data: RData::Mx(10 * (i + 1), &ex),
                });
            }
        }
        _ => {
            let spf = format!("v=spf1 include:_spf.{domain} ~all");
            let verif = format!("site-verification={:016x}{:016x}", rng.next_u64(), rng.next_u64());
            r = Msg::new(id, 0x8180, 1, 2, 0, 0);
            r.question(qname, qtype);
            r.rr(&Rr {
                name: qname,
                typ: TXT,
                ttl: 300,
                data: RData::Txt(&[&spf]),
            });
            r.rr(&Rr {
                name: qname,
                typ: TXT,
                ttl: 300,
                data: RData::Txt(&[&verif]),
            });
        }
    }
    Exchange {
        query: q.buf,
        response: r.buf,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_points_back() {
        let mut m = Msg::new(1, 0x8180, 1, 1, 0, 0);
        m.question("www.example.com", A);
        m.rr(&Rr {
            name: "www.example.com",
            typ: A,
            ttl: 60,
            data: RData::A([1, 2, 3, 4]),
        });
        // The answer's name is a pointer to offset 12.
        assert_eq!(&m.buf[12 + 17 + 4..12 + 17 + 6], &[0xc0, 12]);
        assert_eq!(domain_of("a.b.example.co.uk"), "example.co.uk");
        assert_eq!(domain_of("cdn.globex.net"), "globex.net");
    }
}
