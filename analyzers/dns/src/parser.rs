//! A zero-copy, bounded DNS message parser (RFC 1035 and the record types Zeek renders), written with nom.
//!
//! Everything borrows from the message: names are validated once and then read in place ([`Name`]),
//! rdata fields are slices. Bounds, all checked before anything is allocated or followed:
//!
//! * section counts against the bytes present (a question takes at least 5 bytes, a record 11), so a
//!   header cannot make the parser reserve more than the message can hold;
//! * labels at most 63 bytes, names at most 255 bytes in wire form (RFC 1035 2.3.4), label types
//!   `01`/`10` (obsolete extended labels) refused;
//! * compression pointers must point strictly before the label that holds them (which rules out loops)
//!   and at most [`MAX_POINTERS`] are followed for one name;
//! * every record's rdata must lie within the message, and typed rdata must fill its rdlength exactly.
//!
//! Unknown types are kept as data ([`RData::Unknown`]). This parser is the general one (differential-
//! tested against hickory-proto, fuzzed, benchmarked); the analyzer's Zeek-compatible walk, with Zeek's
//! quirks on malformed input, is [`crate::interp`].

use core::net::{Ipv4Addr, Ipv6Addr};
use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u32, be_u8};
use nom::IResult;

/// Longest name in wire form (RFC 1035 2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// Longest label (a length byte of 64 or more is a label type of 01 or 10, refused).
pub const MAX_LABEL_LEN: usize = 63;
/// Most compression pointers followed for one name.
pub const MAX_POINTERS: usize = 64;

/// Why a message did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The message ends inside a field.
    Truncated,
    /// The header's counts need more bytes than the message has.
    CountsExceedData,
    NameTooLong,
    /// A label type of `01` or `10` (which is also what a length byte over 63 is).
    BadLabelType,
    /// A compression pointer that does not point strictly backwards.
    BadPointer,
    TooManyPointers,
    /// Typed rdata shorter or longer than its rdlength.
    RdataLength,
}

impl<I> From<nom::Err<nom::error::Error<I>>> for Error {
    fn from(_: nom::Err<nom::error::Error<I>>) -> Error {
        Error::Truncated
    }
}

/// A validated domain name, read in place (it may continue through compression pointers).
#[derive(Clone, Copy)]
pub struct Name<'a> {
    msg: &'a [u8],
    start: usize,
}

impl<'a> Name<'a> {
    /// The labels, in order (the root's none).
    pub fn labels(&self) -> Labels<'a> {
        Labels {
            msg: self.msg,
            pos: self.start,
            hops: 0,
        }
    }

    /// Dotted form without the trailing dot (the root is empty), bytes as they are.
    pub fn to_dotted(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        for (i, l) in self.labels().enumerate() {
            if i > 0 {
                out.push(b'.');
            }
            out.extend_from_slice(l);
        }
        out
    }

    /// Case-insensitive comparison with a dotted name (a trailing dot is ignored).
    pub fn eq_dotted(&self, s: &str) -> bool {
        let s = s.strip_suffix('.').unwrap_or(s);
        self.to_dotted().eq_ignore_ascii_case(s.as_bytes())
    }
}

impl core::fmt::Debug for Name<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.to_dotted()))
    }
}

impl PartialEq for Name<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.labels().eq(o.labels())
    }
}

/// Iterator over a [`Name`]'s labels (validated at parse time, so it cannot fail).
pub struct Labels<'a> {
    msg: &'a [u8],
    pos: usize,
    hops: usize,
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            let b = *self.msg.get(self.pos)?;
            if b == 0 {
                return None;
            }
            if b & 0xc0 == 0xc0 {
                self.hops += 1;
                if self.hops > MAX_POINTERS {
                    return None;
                }
                let lo = *self.msg.get(self.pos + 1)? as usize;
                self.pos = (((b & 0x3f) as usize) << 8) | lo;
                continue;
            }
            let l = b as usize;
            let s = self.msg.get(self.pos + 1..self.pos + 1 + l)?;
            self.pos += 1 + l;
            return Some(s);
        }
    }
}

/// Parses a name starting at `input` (a suffix of `msg`): validates it, follows pointers, and returns
/// the input after the name's in-place part.
pub fn name<'a>(msg: &'a [u8], input: &'a [u8]) -> Result<(&'a [u8], Name<'a>), Error> {
    let start = msg.len() - input.len();
    let mut pos = start;
    let mut end_in_place: Option<usize> = None;
    let mut wire_len = 1usize; // the root label
    let mut hops = 0;
    // Pointers must go strictly below the lowest position reached so far.
    let mut floor = start;
    loop {
        let b = *msg.get(pos).ok_or(Error::Truncated)?;
        match b & 0xc0 {
            0x00 => {
                if b == 0 {
                    let after = end_in_place.unwrap_or(pos + 1);
                    return Ok((&msg[after..], Name { msg, start }));
                }
                // b < 0x40: at most MAX_LABEL_LEN.
                let l = b as usize;
                if pos + 1 + l > msg.len() {
                    return Err(Error::Truncated);
                }
                wire_len += 1 + l;
                if wire_len > MAX_NAME_LEN {
                    return Err(Error::NameTooLong);
                }
                pos += 1 + l;
            }
            0xc0 => {
                let lo = *msg.get(pos + 1).ok_or(Error::Truncated)? as usize;
                let target = (((b & 0x3f) as usize) << 8) | lo;
                if end_in_place.is_none() {
                    end_in_place = Some(pos + 2);
                }
                if target >= floor {
                    return Err(Error::BadPointer);
                }
                hops += 1;
                if hops > MAX_POINTERS {
                    return Err(Error::TooManyPointers);
                }
                floor = target;
                pos = target;
            }
            _ => return Err(Error::BadLabelType),
        }
    }
}

/// The 12-byte header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub id: u16,
    pub flags: u16,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
}

impl Header {
    pub fn qr(&self) -> bool {
        self.flags & 0x8000 != 0
    }
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xf) as u8
    }
    pub fn aa(&self) -> bool {
        self.flags & 0x0400 != 0
    }
    pub fn tc(&self) -> bool {
        self.flags & 0x0200 != 0
    }
    pub fn rd(&self) -> bool {
        self.flags & 0x0100 != 0
    }
    pub fn ra(&self) -> bool {
        self.flags & 0x0080 != 0
    }
    pub fn z(&self) -> u8 {
        ((self.flags >> 4) & 0x7) as u8
    }
    pub fn rcode(&self) -> u8 {
        (self.flags & 0xf) as u8
    }
}

fn header(i: &[u8]) -> IResult<&[u8], Header> {
    let (i, id) = be_u16(i)?;
    let (i, flags) = be_u16(i)?;
    let (i, qdcount) = be_u16(i)?;
    let (i, ancount) = be_u16(i)?;
    let (i, nscount) = be_u16(i)?;
    let (i, arcount) = be_u16(i)?;
    Ok((
        i,
        Header {
            id,
            flags,
            qdcount,
            ancount,
            nscount,
            arcount,
        },
    ))
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Question<'a> {
    pub name: Name<'a>,
    pub qtype: u16,
    pub qclass: u16,
}

/// `<character-string>`s of TXT/SPF rdata, read in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CharStrings<'a>(pub &'a [u8]);

impl<'a> CharStrings<'a> {
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> {
        let mut rest = self.0;
        core::iter::from_fn(move || {
            let (&l, r) = rest.split_first()?;
            let s = r.get(..l as usize)?;
            rest = &r[l as usize..];
            Some(s)
        })
    }
}

/// Typed rdata.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RData<'a> {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Ns(Name<'a>),
    Cname(Name<'a>),
    Ptr(Name<'a>),
    Mx {
        preference: u16,
        exchange: Name<'a>,
    },
    Soa {
        mname: Name<'a>,
        rname: Name<'a>,
        serial: u32,
        refresh: u32,
        retry: u32,
        expire: u32,
        minimum: u32,
    },
    Txt(CharStrings<'a>),
    Spf(CharStrings<'a>),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: Name<'a>,
    },
    Naptr {
        order: u16,
        preference: u16,
        flags: &'a [u8],
        services: &'a [u8],
        regexp: &'a [u8],
        replacement: Name<'a>,
    },
    Caa {
        flags: u8,
        tag: &'a [u8],
        value: &'a [u8],
    },
    /// EDNS OPT: the options, raw.
    Opt(&'a [u8]),
    Dnskey {
        flags: u16,
        protocol: u8,
        algorithm: u8,
        public_key: &'a [u8],
    },
    Rrsig {
        type_covered: u16,
        algorithm: u8,
        labels: u8,
        original_ttl: u32,
        expiration: u32,
        inception: u32,
        key_tag: u16,
        signer: Name<'a>,
        signature: &'a [u8],
    },
    Ds {
        key_tag: u16,
        algorithm: u8,
        digest_type: u8,
        digest: &'a [u8],
    },
    Nsec {
        next: Name<'a>,
        type_bitmaps: &'a [u8],
    },
    Nsec3 {
        hash_algorithm: u8,
        flags: u8,
        iterations: u16,
        salt: &'a [u8],
        next_hashed: &'a [u8],
        type_bitmaps: &'a [u8],
    },
    Nsec3Param {
        hash_algorithm: u8,
        flags: u8,
        iterations: u16,
        salt: &'a [u8],
    },
    Tsig {
        algorithm: Name<'a>,
        time_signed: u64,
        fudge: u16,
        mac: &'a [u8],
        original_id: u16,
        error: u16,
        other: &'a [u8],
    },
    /// SVCB and HTTPS: the SvcParams, raw.
    Svcb {
        priority: u16,
        target: Name<'a>,
        params: &'a [u8],
    },
    /// Any other type (or a known type with empty rdata, as in dynamic updates), kept as data.
    Unknown(&'a [u8]),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Record<'a> {
    pub name: Name<'a>,
    pub rtype: u16,
    pub rclass: u16,
    pub ttl: u32,
    /// The raw rdata.
    pub rdata: &'a [u8],
    pub data: RData<'a>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Message<'a> {
    pub header: Header,
    pub questions: Vec<Question<'a>>,
    pub answers: Vec<Record<'a>>,
    pub authority: Vec<Record<'a>>,
    pub additional: Vec<Record<'a>>,
}

fn char_string(i: &[u8]) -> IResult<&[u8], &[u8]> {
    let (i, l) = be_u8(i)?;
    take(l)(i)
}

/// Parses typed rdata. `rd` is the rdata slice (a suffix-bounded part of `msg`).
fn rdata<'a>(msg: &'a [u8], rtype: u16, rd: &'a [u8]) -> Result<RData<'a>, Error> {
    use RData::*;
    if rd.is_empty() && rtype != 41 {
        return Ok(Unknown(rd));
    }
    // A name inside rdata may not run past the rdata: parse it against the message cut at the rdata's
    // end, so in-place labels stay inside while pointers can still reach back.
    let rd_end = rd.as_ptr() as usize - msg.as_ptr() as usize + rd.len();
    let bounded = &msg[..rd_end];
    let rname = |i: &'a [u8]| -> Result<(&'a [u8], Name<'a>), Error> {
        let off = i.as_ptr() as usize - msg.as_ptr() as usize;
        let (rest, n) = name(bounded, &bounded[off..])?;
        let used = bounded.len() - rest.len() - off;
        Ok((&i[used..], Name { msg, start: n.start }))
    };
    let done = |rest: &[u8], v: RData<'a>| {
        if rest.is_empty() {
            Ok(v)
        } else {
            Err(Error::RdataLength)
        }
    };
    let v = match rtype {
        1 => {
            let b: [u8; 4] = rd.try_into().map_err(|_| Error::RdataLength)?;
            A(Ipv4Addr::from(b))
        }
        28 => {
            let b: [u8; 16] = rd.try_into().map_err(|_| Error::RdataLength)?;
            Aaaa(Ipv6Addr::from(b))
        }
        2 | 5 | 12 => {
            let (rest, n) = rname(rd)?;
            let v = match rtype {
                2 => Ns(n),
                5 => Cname(n),
                _ => Ptr(n),
            };
            return done(rest, v);
        }
        15 => {
            let (i, preference) = be_u16::<_, nom::error::Error<_>>(rd)?;
            let (rest, exchange) = rname(i)?;
            return done(rest, Mx { preference, exchange });
        }
        6 => {
            let (i, mname) = rname(rd)?;
            let (i, rname_) = rname(i)?;
            let (i, serial) = be_u32::<_, nom::error::Error<_>>(i)?;
            let (i, refresh) = be_u32::<_, nom::error::Error<_>>(i)?;
            let (i, retry) = be_u32::<_, nom::error::Error<_>>(i)?;
            let (i, expire) = be_u32::<_, nom::error::Error<_>>(i)?;
            let (rest, minimum) = be_u32::<_, nom::error::Error<_>>(i)?;
            return done(
                rest,
                Soa {
                    mname,
                    rname: rname_,
                    serial,
                    refresh,
                    retry,
                    expire,
                    minimum,
                },
            );
        }
        16 | 99 => {
            let mut i = rd;
            while !i.is_empty() {
                i = char_string(i).map_err(|_| Error::RdataLength)?.0;
            }
            if rtype == 16 {
                Txt(CharStrings(rd))
            } else {
                Spf(CharStrings(rd))
            }
        }
        33 => {
            let (i, priority) = be_u16::<_, nom::error::Error<_>>(rd)?;
            let (i, weight) = be_u16::<_, nom::error::Error<_>>(i)?;
            let (i, port) = be_u16::<_, nom::error::Error<_>>(i)?;
            let (rest, target) = rname(i)?;
            return done(
                rest,
                Srv {
                    priority,
                    weight,
                    port,
                    target,
                },
            );
        }
        35 => {
            let (i, order) = be_u16::<_, nom::error::Error<_>>(rd)?;
            let (i, preference) = be_u16::<_, nom::error::Error<_>>(i)?;
            let (i, flags) = char_string(i)?;
            let (i, services) = char_string(i)?;
            let (i, regexp) = char_string(i)?;
            let (rest, replacement) = rname(i)?;
            return done(
                rest,
                Naptr {
                    order,
                    preference,
                    flags,
                    services,
                    regexp,
                    replacement,
                },
            );
        }
        257 => {
            let (i, flags) = be_u8::<_, nom::error::Error<_>>(rd)?;
            let (value, tag) = char_string(i)?;
            Caa { flags, tag, value }
        }
        41 => {
            let mut i = rd;
            while !i.is_empty() {
                let (j, _code) = be_u16::<_, nom::error::Error<_>>(i).map_err(|_| Error::RdataLength)?;
                let (j, len) = be_u16::<_, nom::error::Error<_>>(j).map_err(|_| Error::RdataLength)?;
                i = take::<_, _, nom::error::Error<_>>(len)(j)
                    .map_err(|_| Error::RdataLength)?
                    .0;
            }
            Opt(rd)
        }
        48 => {
            let (i, flags) = be_u16::<_, nom::error::Error<_>>(rd)?;
            let (i, protocol) = be_u8::<_, nom::error::Error<_>>(i)?;
            let (public_key, algorithm) = be_u8::<_, nom::error::Error<_>>(i)?;
            Dnskey {
                flags,
                protocol,
                algorithm,
                public_key,
            }
        }
        46 => {
            let (i, type_covered) = be_u16::<_, nom::error::Error<_>>(rd)?;
            let (i, algorithm) = be_u8::<_, nom::error::Error<_>>(i)?;
            let (i, labels) = be_u8::<_, nom::error::Error<_>>(i)?;
            let (i, original_ttl) = be_u32::<_, nom::error::Error<_>>(i)?;
            let (i, expiration) = be_u32::<_, nom::error::Error<_>>(i)?;
            let (i, inception) = be_u32::<_, nom::error::Error<_>>(i)?;
            let (i, key_tag) = be_u16::<_, nom::error::Error<_>>(i)?;
            let (signature, signer) = rname(i)?;
            Rrsig {
                type_covered,
                algorithm,
                labels,
                original_ttl,
                expiration,
                inception,
                key_tag,
                signer,
                signature,
            }
        }
        43 => {
            let (i, key_tag) = be_u16::<_, nom::error::Error<_>>(rd)?;
            let (i, algorithm) = be_u8::<_, nom::error::Error<_>>(i)?;
            let (digest, digest_type) = be_u8::<_, nom::error::Error<_>>(i)?;
            Ds {
                key_tag,
                algorithm,
                digest_type,
                digest,
            }
        }
        47 => {
            let (type_bitmaps, next) = rname(rd)?;
            Nsec { next, type_bitmaps }
        }
        50 => {
            let (i, hash_algorithm) = be_u8::<_, nom::error::Error<_>>(rd)?;
            let (i, flags) = be_u8::<_, nom::error::Error<_>>(i)?;
            let (i, iterations) = be_u16::<_, nom::error::Error<_>>(i)?;
            let (i, salt) = char_string(i)?;
            let (type_bitmaps, next_hashed) = char_string(i)?;
            Nsec3 {
                hash_algorithm,
                flags,
                iterations,
                salt,
                next_hashed,
                type_bitmaps,
            }
        }
        51 => {
            let (i, hash_algorithm) = be_u8::<_, nom::error::Error<_>>(rd)?;
            let (i, flags) = be_u8::<_, nom::error::Error<_>>(i)?;
            let (i, iterations) = be_u16::<_, nom::error::Error<_>>(i)?;
            let (rest, salt) = char_string(i)?;
            return done(
                rest,
                Nsec3Param {
                    hash_algorithm,
                    flags,
                    iterations,
                    salt,
                },
            );
        }
        250 => {
            let (i, algorithm) = rname(rd)?;
            let (i, hi) = be_u16::<_, nom::error::Error<_>>(i)?;
            let (i, lo) = be_u32::<_, nom::error::Error<_>>(i)?;
            let (i, fudge) = be_u16::<_, nom::error::Error<_>>(i)?;
            let (i, mac_len) = be_u16::<_, nom::error::Error<_>>(i)?;
            let (i, mac) = take::<_, _, nom::error::Error<_>>(mac_len)(i)?;
            let (i, original_id) = be_u16::<_, nom::error::Error<_>>(i)?;
            let (i, error) = be_u16::<_, nom::error::Error<_>>(i)?;
            let (i, other_len) = be_u16::<_, nom::error::Error<_>>(i)?;
            let (rest, other) = take::<_, _, nom::error::Error<_>>(other_len)(i)?;
            return done(
                rest,
                Tsig {
                    algorithm,
                    time_signed: ((hi as u64) << 32) | lo as u64,
                    fudge,
                    mac,
                    original_id,
                    error,
                    other,
                },
            );
        }
        64 | 65 => {
            let (i, priority) = be_u16::<_, nom::error::Error<_>>(rd)?;
            let (params, target) = rname(i)?;
            Svcb {
                priority,
                target,
                params,
            }
        }
        _ => Unknown(rd),
    };
    Ok(v)
}

fn record<'a>(msg: &'a [u8], i: &'a [u8]) -> Result<(&'a [u8], Record<'a>), Error> {
    let (i, n) = name(msg, i)?;
    let (i, rtype) = be_u16::<_, nom::error::Error<_>>(i)?;
    let (i, rclass) = be_u16::<_, nom::error::Error<_>>(i)?;
    let (i, ttl) = be_u32::<_, nom::error::Error<_>>(i)?;
    let (i, rdlen) = be_u16::<_, nom::error::Error<_>>(i)?;
    let (i, rd) = take::<_, _, nom::error::Error<_>>(rdlen)(i)?;
    let data = rdata(msg, rtype, rd)?;
    Ok((
        i,
        Record {
            name: n,
            rtype,
            rclass,
            ttl,
            rdata: rd,
            data,
        },
    ))
}

/// Parses one DNS message. Bytes after the last record are ignored (as resolvers do).
pub fn parse(msg: &[u8]) -> Result<Message<'_>, Error> {
    let (mut i, header) = header(msg)?;
    let need = header.qdcount as usize * 5
        + (header.ancount as usize + header.nscount as usize + header.arcount as usize) * 11;
    if need > i.len() {
        return Err(Error::CountsExceedData);
    }
    let mut questions = Vec::with_capacity(header.qdcount as usize);
    for _ in 0..header.qdcount {
        let (j, n) = name(msg, i)?;
        let (j, qtype) = be_u16::<_, nom::error::Error<_>>(j)?;
        let (j, qclass) = be_u16::<_, nom::error::Error<_>>(j)?;
        questions.push(Question { name: n, qtype, qclass });
        i = j;
    }
    let mut sections: [Vec<Record<'_>>; 3] = [
        Vec::with_capacity(header.ancount as usize),
        Vec::with_capacity(header.nscount as usize),
        Vec::with_capacity(header.arcount as usize),
    ];
    for (s, n) in [header.ancount, header.nscount, header.arcount].into_iter().enumerate() {
        for _ in 0..n {
            let (j, r) = record(msg, i)?;
            sections[s].push(r);
            i = j;
        }
    }
    let [answers, authority, additional] = sections;
    Ok(Message {
        header,
        questions,
        answers,
        authority,
        additional,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg_with(body: &[u8], qd: u16, an: u16) -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, qd as u8, 0, an as u8, 0, 0, 0, 0];
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn question_and_compressed_answer() {
        let mut body = b"\x03www\x07example\x03com\x00\x00\x01\x00\x01".to_vec();
        body.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\x01\x02\x03\x04");
        let m = msg_with(&body, 1, 1);
        let p = parse(&m).unwrap();
        assert!(p.questions[0].name.eq_dotted("www.example.com."));
        assert_eq!(p.answers[0].name, p.questions[0].name);
        assert_eq!(p.answers[0].data, RData::A(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(p.answers[0].ttl, 3600);
    }

    #[test]
    fn pointer_loops_and_forward_pointers_are_refused() {
        // A pointer to itself.
        let m = msg_with(b"\xc0\x0c\x00\x01\x00\x01", 1, 0);
        assert_eq!(parse(&m).unwrap_err(), Error::BadPointer);
        // Two labels pointing at each other: the second points back to the first, which points forward.
        let m = msg_with(b"\x01a\xc0\x10\x00\x01\x00\x01", 1, 0);
        assert_eq!(parse(&m).unwrap_err(), Error::BadPointer);
    }

    #[test]
    fn limits() {
        let mut long = Vec::new();
        for _ in 0..5 {
            long.push(63);
            long.extend_from_slice(&[b'a'; 63]);
        }
        long.push(0);
        long.extend_from_slice(&[0, 1, 0, 1]);
        assert_eq!(parse(&msg_with(&long, 1, 0)).unwrap_err(), Error::NameTooLong);
        let mut l64 = vec![64];
        l64.extend_from_slice(&[b'a'; 64]);
        l64.extend_from_slice(&[0, 0, 1, 0, 1]);
        // A length over 63 has a label type of 01: refused.
        assert_eq!(parse(&msg_with(&l64, 1, 0)).unwrap_err(), Error::BadLabelType);
        // 0xffff answers in a short message: refused before anything is reserved.
        let mut m = msg_with(b"", 0, 0);
        m[6] = 0xff;
        m[7] = 0xff;
        assert_eq!(parse(&m).unwrap_err(), Error::CountsExceedData);
    }

    #[test]
    fn unknown_types_are_kept() {
        let body = b"\x00\x12\x34\x00\x01\x00\x00\x00\x05\x00\x03abc";
        let m = msg_with(body, 0, 1);
        let p = parse(&m).unwrap();
        assert_eq!(p.answers[0].rtype, 0x1234);
        assert_eq!(p.answers[0].data, RData::Unknown(b"abc"));
        assert!(p.answers[0].name.to_dotted().is_empty());
    }

    #[test]
    fn txt_strings() {
        let body = b"\x00\x00\x10\x00\x01\x00\x00\x00\x05\x00\x06\x02hi\x02yo";
        let m = msg_with(body, 0, 1);
        let p = parse(&m).unwrap();
        let RData::Txt(s) = p.answers[0].data else { panic!() };
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![&b"hi"[..], &b"yo"[..]]);
    }
}
