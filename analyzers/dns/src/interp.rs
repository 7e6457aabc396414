//! A faithful port of Zeek's `DNS_Interpreter` (`src/analyzer/protocol/dns/DNS.cc`).
//!
//! Zeek's C++ walks a message with a `(data, len)` cursor, raising events as it goes and stopping at the
//! first section that fails; weird names, the order of checks, which bytes are consumed when a record is
//! malformed, and when the analyzer is confirmed all decide what dns.log and weird.log say. This module
//! keeps that walk step for step (the comments name the C++ functions) and reports to an [`Events`] sink,
//! which the script layer (`script.rs`) turns into dns.log rows. Every read is bounds-checked: the cursor is
//! an offset into the message and a signed remaining length, exactly as in Zeek, and bytes are fetched with
//! `get`, so no input can read out of bounds; name decompression is bounded by Zeek's
//! `dns_max_compression_chain_depth` (clamped to [`MAX_DEPTH_CAP`]) and by the fact that every pointer must
//! point strictly backwards.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use weir_api::Weird;

pub const TYPE_A: u16 = 1;
pub const TYPE_NS: u16 = 2;
pub const TYPE_CNAME: u16 = 5;
pub const TYPE_SOA: u16 = 6;
pub const TYPE_WKS: u16 = 11;
pub const TYPE_PTR: u16 = 12;
pub const TYPE_HINFO: u16 = 13;
pub const TYPE_MX: u16 = 15;
pub const TYPE_TXT: u16 = 16;
pub const TYPE_AAAA: u16 = 28;
pub const TYPE_LOC: u16 = 29;
pub const TYPE_NBS: u16 = 32;
pub const TYPE_SRV: u16 = 33;
pub const TYPE_NAPTR: u16 = 35;
pub const TYPE_A6: u16 = 38;
pub const TYPE_EDNS: u16 = 41;
pub const TYPE_DS: u16 = 43;
pub const TYPE_SSHFP: u16 = 44;
pub const TYPE_RRSIG: u16 = 46;
pub const TYPE_NSEC: u16 = 47;
pub const TYPE_DNSKEY: u16 = 48;
pub const TYPE_NSEC3: u16 = 50;
pub const TYPE_NSEC3PARAM: u16 = 51;
pub const TYPE_SVCB: u16 = 64;
pub const TYPE_HTTPS: u16 = 65;
pub const TYPE_SPF: u16 = 99;
pub const TYPE_TKEY: u16 = 249;
pub const TYPE_TSIG: u16 = 250;
pub const TYPE_CAA: u16 = 257;
pub const TYPE_BINDS: u16 = 65534;

pub const CLASS_NONE: u16 = 254;
pub const CLASS_ANY: u16 = 255;

pub const OP_QUERY: u8 = 0;
pub const OP_NOTIFY: u8 = 4;
pub const OP_DYNAMIC_UPDATE: u8 = 5;

const NETBIOS_PORT: u16 = 137;

/// Hard cap on name-decompression recursion whatever `dns_max_compression_chain_depth` says (Zeek has
/// none; pointers must point backwards so a chain ends, but a crafted 64 KiB message could nest
/// ~32 000 pointers deep).
pub const MAX_DEPTH_CAP: u64 = 1024;

/// Zeek's `DNS_AnswerType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerType {
    Question,
    Answer,
    Authority,
    Additional,
    Prerequisites,
    Updates,
}

/// Zeek's `DNS_MsgInfo`: the header, plus the record being parsed (Zeek keeps that in the message too).
#[derive(Clone, Debug)]
pub struct MsgInfo {
    pub id: u16,
    pub opcode: u8,
    pub rcode: u8,
    pub qr: bool,
    pub aa: bool,
    pub tc: bool,
    pub rd: bool,
    pub ra: bool,
    pub z: u8,
    pub ad: bool,
    pub cd: bool,
    pub qd_zo_count: u16,
    pub an_pr_count: u16,
    pub ns_up_count: u16,
    pub arcount: u16,
    pub is_netbios: bool,
    pub is_query: bool,
    pub is_dynamic_update: bool,
    // The current record.
    pub answer_type: AnswerType,
    pub query_name: Vec<u8>,
    pub atype: u16,
    pub aclass: u16,
    pub ttl: u32,
    pub zclass: u16,
    pub skip_event: bool,
}

impl MsgInfo {
    fn new(hdr: &[u8], is_query: bool, is_netbios: bool) -> MsgInfo {
        let be = |i: usize| u16::from_be_bytes([hdr[i], hdr[i + 1]]);
        let flags = be(2);
        let opcode = ((flags & 0x7800) >> 11) as u8;
        MsgInfo {
            id: be(0),
            opcode,
            rcode: (flags & 0x000f) as u8,
            qr: flags & 0x8000 != 0,
            aa: flags & 0x0400 != 0,
            tc: flags & 0x0200 != 0,
            rd: flags & 0x0100 != 0,
            ra: flags & 0x0080 != 0,
            z: ((flags & 0x0070) >> 4) as u8,
            ad: flags & 0x0020 != 0,
            cd: flags & 0x0010 != 0,
            qd_zo_count: be(4),
            an_pr_count: be(6),
            ns_up_count: be(8),
            arcount: be(10),
            is_netbios,
            is_query,
            is_dynamic_update: opcode == OP_DYNAMIC_UPDATE && !is_netbios,
            answer_type: AnswerType::Question,
            query_name: Vec::new(),
            atype: 0,
            aclass: 0,
            ttl: 0,
            zclass: 0,
            skip_event: false,
        }
    }
}

/// What the interpreter needs to know of the connection, as Zeek's `Conn()` would answer at that moment
/// (it changes when the interpreter flips the roles).
#[derive(Clone, Copy, Debug)]
pub struct ConnView {
    pub orig_h: IpAddr,
    pub orig_p: u16,
    pub resp_h: IpAddr,
    pub resp_p: u16,
    pub udp: bool,
}

impl ConnView {
    pub fn flip(&mut self) {
        core::mem::swap(&mut self.orig_h, &mut self.resp_h);
        core::mem::swap(&mut self.orig_p, &mut self.resp_p);
    }
}

/// Zeek's `IPAddr::IsMulticast`.
pub fn is_multicast(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v4) => v4.octets()[0] & 0xf0 == 0xe0,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.octets()[0] & 0xf0 == 0xe0,
            None => v6.octets()[0] == 0xff,
        },
    }
}

/// The Zeek settings the interpreter reads.
#[derive(Clone, Debug)]
pub struct InterpConfig {
    pub max_queries: u64,
    pub max_compression_chain_depth: u64,
    pub skip_all_auth: bool,
    pub skip_all_addl: bool,
    /// `dns_skip_auth` / `dns_skip_addl`: servers whose authority / additional sections are skipped.
    pub skip_auth: Vec<IpAddr>,
    pub skip_addl: Vec<IpAddr>,
    /// Whether the loaded scripts handle these events (Zeek parses the record only then). The base
    /// scripts handle none of them.
    pub handle_hinfo: bool,
    pub handle_caa: bool,
    pub handle_tkey: bool,
}

impl Default for InterpConfig {
    fn default() -> Self {
        InterpConfig {
            max_queries: 25,
            max_compression_chain_depth: 20,
            skip_all_auth: true,
            skip_all_addl: true,
            skip_auth: Vec::new(),
            skip_addl: Vec::new(),
            handle_hinfo: false,
            handle_caa: false,
            handle_tkey: false,
        }
    }
}

/// The events the interpreter raises that the base scripts handle, plus the analyzer's reports.
pub trait Events {
    fn weird(&mut self, weird: Weird, addl: Option<String>);
    /// `CheckHistory(HIST_ANALYZER_LIMIT_REACHED, 'X')`.
    fn history_limit(&mut self);
    fn confirm(&mut self);
    fn violation(&mut self, reason: &str);
    /// The interpreter flipped the connection's roles (`Conn()->FlipRoles()`).
    fn flip(&mut self);
    fn dns_message(&mut self, conn: &ConnView, is_orig: bool, msg: &MsgInfo, len: usize);
    fn dns_request(&mut self, conn: &ConnView, msg: &MsgInfo, query: &[u8], qtype: u16, qclass: u16, original: &[u8]);
    fn dns_rejected(&mut self, conn: &ConnView, msg: &MsgInfo, query: &[u8], qtype: u16, qclass: u16);
    /// `DNS::do_reply` from one of the `dns_*_reply` handlers of main.zeek, with its reply string; the
    /// answer is `msg`'s current record.
    fn do_reply(&mut self, conn: &ConnView, msg: &MsgInfo, reply: Vec<u8>);
    fn dns_end(&mut self, conn: &ConnView, msg: &MsgInfo);
}

enum Label {
    Continue,
    End,
    Error,
}

/// Zeek's `DNS_Interpreter`: per connection (it remembers whether the first message was seen).
pub struct Interp {
    pub cfg: InterpConfig,
    first_message: bool,
}

struct Cur<'m> {
    msg: &'m [u8],
}

impl<'m> Cur<'m> {
    #[inline]
    fn byte(&self, at: usize) -> u8 {
        self.msg.get(at).copied().unwrap_or(0)
    }
    fn slice(&self, at: usize, n: i64) -> &'m [u8] {
        if n <= 0 {
            return &[];
        }
        let end = at.saturating_add(n as usize).min(self.msg.len());
        self.msg.get(at.min(end)..end).unwrap_or(&[])
    }
    fn short(&self, d: &mut usize, len: &mut i64) -> u16 {
        if *len < 2 {
            return 0;
        }
        let v = u16::from_be_bytes([self.byte(*d), self.byte(*d + 1)]);
        *d += 2;
        *len -= 2;
        v
    }
    fn long(&self, d: &mut usize, len: &mut i64) -> u32 {
        if *len < 4 {
            return 0;
        }
        let v = u32::from_be_bytes([self.byte(*d), self.byte(*d + 1), self.byte(*d + 2), self.byte(*d + 3)]);
        *d += 4;
        *len -= 4;
        v
    }
    fn byte_adv(&self, d: &mut usize, len: &mut i64) -> u8 {
        if *len < 1 {
            return 0;
        }
        let v = self.byte(*d);
        *d += 1;
        *len -= 1;
        v
    }
    /// Zeek's `ExtractStream`.
    fn stream(&self, d: &mut usize, len: &mut i64, l: i64) -> &'m [u8] {
        let l = l.max(0);
        let dlen = (*len).min(l);
        let s = self.slice(*d, dlen);
        advance(d, len, dlen);
        s
    }
    /// Zeek's `ExtractOctets`.
    fn octets(&self, d: &mut usize, len: &mut i64) -> &'m [u8] {
        let dlen = (self.short(d, len) as i64).min(*len);
        let s = self.slice(*d, dlen);
        advance(d, len, dlen);
        s
    }
}

/// `data += n; len -= n;` (n may be negative in Zeek's arithmetic only when len is; keep the offset sane).
#[inline]
fn advance(d: &mut usize, len: &mut i64, n: i64) {
    if n >= 0 {
        *d = d.saturating_add(n as usize);
    } else {
        *d = d.saturating_sub((-n) as usize);
    }
    *len -= n;
}

/// Zeek's `extract_char_string`.
fn char_string<'m>(
    ev: &mut dyn Events,
    c: &Cur<'m>,
    d: &mut usize,
    len: &mut i64,
    rdlen: &mut i64,
) -> Option<&'m [u8]> {
    if *rdlen <= 0 {
        return None;
    }
    let size = c.byte(*d) as i64;
    *rdlen -= 1;
    *len -= 1;
    *d += 1;
    if size > *rdlen {
        ev.weird(Weird::DNS_TXT_char_str_past_rdlen, None);
        return None;
    }
    let s = c.slice(*d, size);
    *rdlen -= size;
    *len -= size;
    *d += size as usize;
    Some(s)
}

/// Zeek's rendering of an address (`fmt("%s", a)`): IPv4-mapped IPv6 addresses are IPv4 in Zeek;
/// otherwise glibc's `inet_ntop`, which writes `::a.b.c.d` for IPv4-compatible addresses.
pub fn fmt_addr(a: IpAddr) -> String {
    match a {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4.to_string();
            }
            let w = v6.segments();
            if w[..6].iter().all(|&x| x == 0) && w[6] != 0 {
                let o = v6.octets();
                return format!("::{}", Ipv4Addr::new(o[12], o[13], o[14], o[15]));
            }
            v6.to_string()
        }
    }
}

impl Interp {
    pub fn new(cfg: InterpConfig) -> Interp {
        Interp {
            cfg,
            first_message: true,
        }
    }

    /// Zeek's `ParseMessage`. `is_query`: 1 originator, 0 responder, 2 unknown (a TCP flush).
    pub fn parse_message(&mut self, ev: &mut dyn Events, conn: &mut ConnView, msg: &[u8], mut is_query: i32) {
        let is_netbios = conn.orig_p == NETBIOS_PORT || conn.resp_p == NETBIOS_PORT;
        if msg.len() < 12 {
            ev.weird(Weird::DNS_truncated_len_lt_hdr_len, None);
            return;
        }
        let flags = u16::from_be_bytes([msg[2], msg[3]]);
        let opcode = ((flags & 0x7800) >> 11) as u8;
        if opcode != OP_QUERY && opcode != OP_DYNAMIC_UPDATE && !is_netbios && opcode != OP_NOTIFY {
            ev.weird(Weird::DNS_unknown_opcode, Some(opcode.to_string()));
            ev.history_limit();
            return;
        }
        let mut m = MsgInfo::new(&msg[..12], is_query != 0, is_netbios);
        if self.first_message && m.qr && is_query == 1 {
            is_query = 0;
            m.is_query = false;
            if !is_multicast(conn.resp_h) {
                conn.flip();
                ev.flip();
            }
        }
        self.first_message = false;
        ev.dns_message(conn, is_query != 0, &m, msg.len());

        if self.cfg.max_queries > 0 && m.qd_zo_count as u64 > self.cfg.max_queries {
            ev.violation("DNS_Conn_count_too_large");
            ev.weird(
                Weird::DNS_Conn_count_too_large,
                Some(format!("{} > {}", m.qd_zo_count, self.cfg.max_queries)),
            );
            ev.history_limit();
            ev.dns_end(conn, &m);
            return;
        }

        let c = Cur { msg };
        let mut d = 12usize;
        let mut len = msg.len() as i64 - 12;

        if m.is_dynamic_update {
            if m.qd_zo_count != 1 {
                ev.weird(Weird::DNS_DU_invalid_zone_count, Some(m.qd_zo_count.to_string()));
                ev.dns_end(conn, &m);
                return;
            }
            if !self.answer_header(ev, conn, &c, &mut m, &mut d, &mut len) {
                ev.dns_end(conn, &m);
                return;
            }
            if m.atype != TYPE_SOA {
                ev.weird(Weird::DNS_DU_incorrect_zone_type, None);
                return;
            }
            m.zclass = m.aclass;
            let n = m.an_pr_count;
            if !self.answers(ev, conn, &c, &mut m, n, AnswerType::Prerequisites, &mut d, &mut len) {
                ev.dns_end(conn, &m);
                return;
            }
            let n = m.ns_up_count;
            if !self.answers(ev, conn, &c, &mut m, n, AnswerType::Updates, &mut d, &mut len) {
                ev.dns_end(conn, &m);
                return;
            }
        } else {
            let mut n = m.qd_zo_count;
            while n > 0 && self.question(ev, conn, &c, &mut m, &mut d, &mut len) {
                n -= 1;
            }
            if n != 0 {
                ev.dns_end(conn, &m);
                return;
            }
            let n = m.an_pr_count;
            if !self.answers(ev, conn, &c, &mut m, n, AnswerType::Answer, &mut d, &mut len) {
                ev.dns_end(conn, &m);
                return;
            }
        }

        ev.confirm();

        let mut skip_auth = self.cfg.skip_all_auth;
        let mut skip_addl = self.cfg.skip_all_addl;
        if m.an_pr_count > 0 {
            skip_auth = skip_auth || m.ns_up_count == 0 || self.cfg.skip_auth.contains(&conn.resp_h);
            skip_addl = skip_addl || m.arcount == 0 || self.cfg.skip_addl.contains(&conn.resp_h);
        }
        if skip_auth && skip_addl {
            ev.dns_end(conn, &m);
            return;
        }
        if !m.is_dynamic_update {
            m.skip_event = skip_auth;
            let n = m.ns_up_count;
            if !self.answers(ev, conn, &c, &mut m, n, AnswerType::Authority, &mut d, &mut len) {
                ev.dns_end(conn, &m);
                return;
            }
        }
        if skip_addl {
            ev.dns_end(conn, &m);
            return;
        }
        m.skip_event = skip_addl;
        let n = m.arcount;
        let _ = self.answers(ev, conn, &c, &mut m, n, AnswerType::Additional, &mut d, &mut len);
        ev.dns_end(conn, &m);
    }

    #[allow(clippy::too_many_arguments)]
    fn answers(
        &mut self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        m: &mut MsgInfo,
        mut n: u16,
        atype: AnswerType,
        d: &mut usize,
        len: &mut i64,
    ) -> bool {
        m.answer_type = atype;
        while n > 0 && self.answer(ev, conn, c, m, d, len) {
            n -= 1;
        }
        n == 0
    }

    /// Zeek's `ExtractName`: appends the name to `buf`; None on a parse error.
    #[allow(clippy::too_many_arguments)]
    fn extract_name(
        &self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        d: &mut usize,
        len: &mut i64,
        buf: &mut Vec<u8>,
        mut name_len: i64,
        downcase: bool,
        depth: u64,
    ) -> Option<()> {
        if depth > self.cfg.max_compression_chain_depth.min(MAX_DEPTH_CAP) {
            ev.weird(Weird::DNS_max_compression_chain_depth_exceeded, Some(depth.to_string()));
            ev.history_limit();
            return Some(());
        }
        let start = buf.len();
        loop {
            match self.extract_label(ev, conn, c, d, len, buf, &mut name_len, depth) {
                Label::Error => return None,
                Label::End => break,
                Label::Continue => {}
            }
        }
        let n = buf.len() - start;
        if n >= 255 {
            ev.weird(Weird::DNS_NAME_too_long, None);
        }
        if n >= 2 && buf.last() == Some(&b'.') {
            buf.pop();
        }
        if downcase {
            buf[start..].make_ascii_lowercase();
        }
        Some(())
    }

    #[allow(clippy::too_many_arguments)]
    fn extract_label(
        &self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        d: &mut usize,
        len: &mut i64,
        buf: &mut Vec<u8>,
        name_len: &mut i64,
        depth: u64,
    ) -> Label {
        if *len <= 0 {
            ev.weird(Weird::dns_invalid_name, None);
            return Label::Error;
        }
        let orig = *d;
        let label_len = c.byte(*d);
        *d += 1;
        *len -= 1;
        if label_len == 0 {
            return Label::End;
        }
        if label_len & 0xc0 == 0xc0 {
            if *len <= 0 {
                ev.weird(Weird::dns_invalid_name, None);
                return Label::Error;
            }
            let offset = (((label_len & 0x3f) as usize) << 8) | c.byte(*d) as usize;
            *d += 1;
            *len -= 1;
            if offset >= orig {
                ev.weird(Weird::DNS_label_forward_compress_offset, None);
                return Label::Error;
            }
            let mut rd = offset;
            let mut rlen = (orig - offset) as i64;
            let before = buf.len();
            if self
                .extract_name(ev, conn, c, &mut rd, &mut rlen, buf, *name_len, true, depth + 1)
                .is_none()
            {
                return Label::Error;
            }
            *name_len -= (buf.len() - before) as i64;
            return Label::End;
        }
        let ll = label_len as i64;
        if ll > *len {
            ev.weird(Weird::DNS_label_len_gt_pkt, None);
            advance(d, len, *len);
            return Label::Error;
        }
        if label_len > 63 && conn.resp_p != NETBIOS_PORT {
            ev.weird(Weird::DNS_label_too_long, None);
            return Label::Error;
        }
        if ll >= *name_len {
            ev.weird(Weird::DNS_label_len_gt_name_len, None);
            return Label::Error;
        }
        buf.extend_from_slice(c.slice(*d, ll));
        buf.push(b'.');
        *name_len -= ll + 1;
        advance(d, len, ll);
        Label::Continue
    }

    #[allow(clippy::too_many_arguments)]
    fn name(
        &self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        d: &mut usize,
        len: &mut i64,
        downcase: bool,
        buf_size: i64,
    ) -> Option<Vec<u8>> {
        let mut buf = Vec::new();
        self.extract_name(ev, conn, c, d, len, &mut buf, buf_size - 1, downcase, 0)?;
        Some(buf)
    }

    fn question(
        &mut self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        m: &mut MsgInfo,
        d: &mut usize,
        len: &mut i64,
    ) -> bool {
        let Some(original) = self.name(ev, conn, c, d, len, false, 513) else {
            return false;
        };
        if *len < 4 {
            ev.weird(Weird::DNS_truncated_quest_too_short, None);
            return false;
        }
        let qtype = c.short(d, len);
        let qclass = c.short(d, len);
        if m.skip_event {
            return true;
        }
        let mut lower = original.clone();
        lower.make_ascii_lowercase();
        if !m.qr {
            ev.dns_request(conn, m, &lower, qtype, qclass, &original);
        } else if m.an_pr_count == 0 && m.ns_up_count == 0 && m.arcount == 0 {
            ev.dns_rejected(conn, m, &lower, qtype, qclass);
        }
        // dns_query_reply: no handler in the base scripts.
        true
    }

    fn answer_header(
        &mut self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        m: &mut MsgInfo,
        d: &mut usize,
        len: &mut i64,
    ) -> bool {
        let Some(name) = self.name(ev, conn, c, d, len, true, 513) else {
            return false;
        };
        if *len < 4 {
            ev.weird(Weird::DNS_truncated_ans_too_short, None);
            return false;
        }
        m.query_name = name;
        m.atype = c.short(d, len);
        m.aclass = c.short(d, len);
        true
    }

    fn answer(
        &mut self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        m: &mut MsgInfo,
        d: &mut usize,
        len: &mut i64,
    ) -> bool {
        if !self.answer_header(ev, conn, c, m, d, len) {
            return false;
        }
        m.ttl = c.long(d, len);
        let rdlength = c.short(d, len) as i64;
        if rdlength > *len {
            ev.weird(Weird::DNS_truncated_RR_rdlength_lt_len, None);
            return false;
        }
        if m.is_dynamic_update {
            if m.answer_type == AnswerType::Updates {
                if m.aclass == CLASS_ANY && m.ttl == 0 && rdlength == 0 {
                    if !m.skip_event {
                        let what = if m.aclass == CLASS_ANY && m.atype == 255 {
                            format!("RRSet * {}", String::from_utf8_lossy(&m.query_name))
                        } else {
                            format!("RRSet {}", crate::consts::query_type_name(m.atype as u64))
                        };
                        // dns_dynamic_update_del
                        let mut r = b"del: ".to_vec();
                        r.extend_from_slice(what.as_bytes());
                        ev.do_reply(conn, m, r);
                    }
                    return true;
                } else if !((m.aclass == CLASS_NONE && m.ttl == 0) || m.aclass == m.zclass) {
                    ev.weird(Weird::DNS_dynamic_update_invalid_update, None);
                    return true;
                }
                if m.aclass == CLASS_NONE && m.ttl == 0 && rdlength == 0 {
                    // Falls through to the record parse below (as in Zeek).
                }
            } else if m.answer_type == AnswerType::Prerequisites {
                if m.ttl != 0 {
                    ev.weird(
                        Weird::DNS_dynamic_update_prereq_nonzero_ttl,
                        Some((m.ttl as i32).to_string()),
                    );
                    return true;
                } else if ((m.aclass == CLASS_ANY || m.aclass == CLASS_NONE) && rdlength == 0) || m.aclass == m.zclass {
                    if !m.skip_event {
                        let q = String::from_utf8_lossy(&m.query_name).into_owned();
                        let tn = crate::consts::query_type_name(m.atype as u64);
                        let what = if m.aclass == CLASS_NONE && m.atype == 255 {
                            format!("NameNotInUse {q}")
                        } else if m.aclass == CLASS_ANY && m.atype == 255 {
                            format!("NameInUse {q}")
                        } else if m.aclass == CLASS_NONE {
                            format!("NoRRSet {tn} {q}")
                        } else {
                            format!("RRSetExists {tn} {q}")
                        };
                        let mut r = b"pre: ".to_vec();
                        r.extend_from_slice(what.as_bytes());
                        ev.do_reply(conn, m, r);
                    }
                } else {
                    ev.weird(Weird::DNS_dynamic_update_invalid_prereq, None);
                }
                return true;
            }
        }
        if rdlength == 0 && *len > 0 {
            if m.is_dynamic_update {
                return true;
            }
            ev.weird(Weird::DNS_zero_rdlength, None);
            return false;
        }
        match m.atype {
            TYPE_A => self.rr_a(ev, conn, c, m, d, len, rdlength),
            TYPE_A6 | TYPE_AAAA => self.rr_aaaa(ev, conn, c, m, d, len),
            TYPE_NS | TYPE_CNAME | TYPE_PTR => self.rr_name(ev, conn, c, m, d, len, rdlength),
            TYPE_SOA => self.rr_soa(ev, conn, c, m, d, len, rdlength),
            TYPE_WKS => {
                if m.skip_event {
                    advance(d, len, rdlength);
                    return true;
                }
                // WKS handler: do_reply with "" (and the ports are not consumed, as in Zeek).
                ev.do_reply(conn, m, Vec::new());
                true
            }
            TYPE_HINFO => {
                if !self.cfg.handle_hinfo || m.skip_event {
                    advance(d, len, rdlength);
                    return true;
                }
                let mut rd = rdlength;
                let _ = char_string(ev, c, d, len, &mut rd);
                let _ = char_string(ev, c, d, len, &mut rd);
                rd == 0
            }
            TYPE_MX => self.rr_mx(ev, conn, c, m, d, len, rdlength),
            TYPE_TXT | TYPE_SPF => self.rr_txt(ev, conn, c, m, d, len, rdlength),
            TYPE_CAA => self.rr_caa(ev, c, m, d, len, rdlength),
            TYPE_NBS => {
                advance(d, len, rdlength);
                true
            }
            TYPE_SRV => {
                if conn.resp_p == NETBIOS_PORT {
                    // NBSTAT: Zeek does not parse it (nor consume it).
                    true
                } else {
                    self.rr_srv(ev, conn, c, m, d, len, rdlength)
                }
            }
            TYPE_NAPTR => self.rr_naptr(ev, conn, c, m, d, len, rdlength),
            TYPE_EDNS => self.rr_edns(ev, conn, c, d, len, rdlength),
            TYPE_TKEY => self.rr_tkey(ev, conn, c, m, d, len, rdlength),
            TYPE_TSIG => self.rr_tsig(ev, conn, c, d, len),
            TYPE_RRSIG => self.rr_rrsig(ev, conn, c, m, d, len, rdlength),
            TYPE_DNSKEY => self.rr_dnskey(ev, conn, c, m, d, len, rdlength),
            TYPE_NSEC => self.rr_nsec(ev, conn, c, m, d, len, rdlength, false),
            TYPE_NSEC3 => self.rr_nsec(ev, conn, c, m, d, len, rdlength, true),
            TYPE_NSEC3PARAM => self.rr_nsec3param(ev, conn, c, m, d, len, rdlength),
            TYPE_DS => self.rr_ds(ev, conn, c, m, d, len, rdlength),
            TYPE_BINDS => {
                if m.skip_event {
                    advance(d, len, rdlength);
                    return true;
                }
                if *len < 5 {
                    return false;
                }
                let _ = c.long(d, len);
                let _ = c.byte_adv(d, len);
                ev.do_reply(conn, m, b"BIND9 signing signal".to_vec());
                true
            }
            TYPE_SSHFP => {
                if m.skip_event {
                    advance(d, len, rdlength);
                    return true;
                }
                if *len < 2 {
                    return false;
                }
                let _ = c.short(d, len);
                let fp = c.stream(d, len, rdlength - 2);
                let mut r = b"SSHFP: ".to_vec();
                for b in fp {
                    r.extend_from_slice(format!("{b:02x}").as_bytes());
                }
                ev.do_reply(conn, m, r);
                true
            }
            TYPE_LOC => {
                if rdlength != 16 {
                    ev.weird(Weird::dns_invalid_loc_length, None);
                    return false;
                }
                if m.skip_event {
                    advance(d, len, rdlength);
                    return true;
                }
                let mut rd = *d;
                let mut rem = rdlength;
                let vs = c.short(&mut rd, &mut rem);
                let hv = c.short(&mut rd, &mut rem);
                let _ = c.long(&mut rd, &mut rem);
                let _ = c.long(&mut rd, &mut rem);
                let _ = c.long(&mut rd, &mut rem);
                if rem != 0 {
                    return false;
                }
                *d = rd;
                *len -= rdlength;
                let version = vs >> 8;
                if version != 0 {
                    ev.weird(Weird::DNS_LOC_version_unrecognized, Some(version.to_string()));
                }
                let r = format!("LOC:  {} {} {}", vs & 0xff, hv >> 8, hv & 0xff);
                ev.do_reply(conn, m, r.into_bytes());
                true
            }
            TYPE_SVCB | TYPE_HTTPS => self.rr_svcb(ev, conn, c, d, len, rdlength),
            _ => {
                if !m.skip_event {
                    ev.do_reply(conn, m, format!("<unknown type={}>", m.atype).into_bytes());
                }
                ev.weird(Weird::DNS_RR_unknown_type, Some(m.atype.to_string()));
                advance(d, len, rdlength);
                true
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn rr_a(
        &mut self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        m: &MsgInfo,
        d: &mut usize,
        len: &mut i64,
        rdlength: i64,
    ) -> bool {
        if rdlength != 4 {
            ev.weird(Weird::DNS_RR_bad_length, None);
            return false;
        }
        let a = IpAddr::V4(Ipv4Addr::from(c.long(d, len)));
        if !m.skip_event {
            self.addr_reply(ev, conn, m, "A", a);
        }
        true
    }

    fn addr_reply(&self, ev: &mut dyn Events, conn: &ConnView, m: &MsgInfo, kind: &str, a: IpAddr) {
        let r = if m.opcode == OP_DYNAMIC_UPDATE && !m.is_netbios {
            format!("{kind} {} {}", String::from_utf8_lossy(&m.query_name), fmt_addr(a))
        } else {
            fmt_addr(a)
        };
        ev.do_reply(conn, m, r.into_bytes());
    }

    fn rr_aaaa(
        &mut self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        m: &MsgInfo,
        d: &mut usize,
        len: &mut i64,
    ) -> bool {
        let mut o = [0u8; 16];
        for i in 0..4 {
            let w = c.long(d, len);
            o[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
            if *len < 0 {
                let w = if m.atype == TYPE_AAAA {
                    Weird::DNS_AAAA_neg_length
                } else {
                    Weird::DNS_A6_neg_length
                };
                ev.weird(w, None);
                return false;
            }
        }
        if !m.skip_event {
            let kind = if m.atype == TYPE_AAAA { "AAAA" } else { "A6" };
            self.addr_reply(ev, conn, m, kind, IpAddr::V6(Ipv6Addr::from(o)));
        }
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn rr_name(
        &mut self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        m: &MsgInfo,
        d: &mut usize,
        len: &mut i64,
        rdlength: i64,
    ) -> bool {
        let start = *d;
        let Some(name) = self.name(ev, conn, c, d, len, true, 513) else {
            return false;
        };
        if (*d - start) as i64 != rdlength {
            ev.weird(Weird::DNS_RR_length_mismatch, None);
        }
        if !m.skip_event {
            ev.do_reply(conn, m, name);
        }
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn rr_soa(
        &mut self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        m: &MsgInfo,
        d: &mut usize,
        len: &mut i64,
        rdlength: i64,
    ) -> bool {
        let start = *d;
        let Some(mname) = self.name(ev, conn, c, d, len, true, 513) else {
            return false;
        };
        if self.name(ev, conn, c, d, len, true, 513).is_none() {
            return false;
        }
        if *len < 20 {
            return false;
        }
        for _ in 0..5 {
            let _ = c.long(d, len);
        }
        if (*d - start) as i64 != rdlength {
            ev.weird(Weird::DNS_RR_length_mismatch, None);
        }
        if !m.skip_event {
            ev.do_reply(conn, m, mname);
        }
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn rr_mx(
        &mut self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        m: &MsgInfo,
        d: &mut usize,
        len: &mut i64,
        rdlength: i64,
    ) -> bool {
        let start = *d;
        let _ = c.short(d, len);
        let Some(name) = self.name(ev, conn, c, d, len, true, 513) else {
            return false;
        };
        if (*d - start) as i64 != rdlength {
            ev.weird(Weird::DNS_RR_length_mismatch, None);
        }
        if !m.skip_event {
            ev.do_reply(conn, m, name);
        }
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn rr_srv(
        &mut self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        m: &MsgInfo,
        d: &mut usize,
        len: &mut i64,
        rdlength: i64,
    ) -> bool {
        let start = *d;
        let _ = c.short(d, len);
        let _ = c.short(d, len);
        let _ = c.short(d, len);
        let Some(name) = self.name(ev, conn, c, d, len, true, 513) else {
            return false;
        };
        if (*d - start) as i64 != rdlength {
            ev.weird(Weird::DNS_RR_length_mismatch, None);
        }
        if !m.skip_event {
            ev.do_reply(conn, m, name);
        }
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn rr_naptr(
        &mut self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        m: &MsgInfo,
        d: &mut usize,
        len: &mut i64,
        rdlength: i64,
    ) -> bool {
        let order = c.short(d, len);
        let pref = c.short(d, len);
        let mut rd = rdlength - 4;
        if *len <= 0 || rd <= 0 {
            ev.violation("DNS_NAPTR_too_short");
            return false;
        }
        let flags = char_string(ev, c, d, len, &mut rd);
        let service = char_string(ev, c, d, len, &mut rd);
        let regexp = char_string(ev, c, d, len, &mut rd);
        let repl = self.name(ev, conn, c, d, len, false, 513);
        let (Some(flags), Some(service), Some(regexp), Some(repl)) = (flags, service, regexp, repl) else {
            ev.violation("DNS_NAPTR_RR_too_short");
            return false;
        };
        if !m.skip_event {
            let mut tmp = regexp.to_vec();
            if !repl.is_empty() {
                if !tmp.is_empty() {
                    tmp.push(b' ');
                }
                tmp.extend_from_slice(&repl);
            }
            let mut r = format!("NAPTR {order} {pref} ").into_bytes();
            r.extend_from_slice(flags);
            r.push(b' ');
            r.extend_from_slice(service);
            r.push(b' ');
            r.extend_from_slice(&tmp);
            ev.do_reply(conn, m, r);
        }
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn rr_txt(
        &mut self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        m: &MsgInfo,
        d: &mut usize,
        len: &mut i64,
        rdlength: i64,
    ) -> bool {
        if m.skip_event {
            advance(d, len, rdlength);
            return true;
        }
        let kind: &[u8] = if m.atype == TYPE_TXT { b"TXT" } else { b"SPF" };
        let mut rd = rdlength;
        let mut r = Vec::new();
        let mut i = 0;
        while let Some(s) = char_string(ev, c, d, len, &mut rd) {
            if i > 0 {
                r.push(b' ');
            }
            r.extend_from_slice(kind);
            r.extend_from_slice(format!(" {} ", s.len()).as_bytes());
            r.extend_from_slice(s);
            i += 1;
        }
        ev.do_reply(conn, m, r);
        rd == 0
    }

    fn rr_caa(
        &mut self,
        ev: &mut dyn Events,
        c: &Cur<'_>,
        m: &MsgInfo,
        d: &mut usize,
        len: &mut i64,
        rdlength: i64,
    ) -> bool {
        if !self.cfg.handle_caa || m.skip_event {
            advance(d, len, rdlength);
            return true;
        }
        let flags = c.short(d, len);
        let tag_len = (flags & 0xff) as i64;
        let mut rd = rdlength - 2;
        if tag_len >= rd {
            ev.weird(Weird::DNS_CAA_char_str_past_rdlen, None);
            return false;
        }
        advance(d, len, tag_len);
        rd -= tag_len;
        advance(d, len, rd);
        true
    }

    fn rr_edns(
        &mut self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        d: &mut usize,
        len: &mut i64,
        rdlength: i64,
    ) -> bool {
        let mut rem = rdlength;
        while rem >= 4 {
            let code = c.short(d, len);
            let olen = c.short(d, len) as i64;
            rem -= 4;
            if olen > rem {
                ev.weird(Weird::EDNS_truncated_option, None);
                return false;
            }
            let mut od = *d;
            let mut orem = olen;
            match code {
                8 => {
                    // ECS
                    if olen <= 4 {
                        ev.weird(Weird::EDNS_ECS_invalid_option_len, None);
                    } else {
                        let family = c.short(&mut od, &mut orem);
                        let ss = c.short(&mut od, &mut orem);
                        let src = (ss >> 8) & 0xff;
                        if family == 1 {
                            if src > 32 {
                                ev.weird(Weird::EDNS_ECS_invalid_addr_v4_prefix, Some(format!("{src} bits")));
                            } else if src as i64 > orem * 8 {
                                ev.weird(
                                    Weird::EDNS_ECS_invalid_addr_v4,
                                    Some(format!("need {src} bits, have {} bits", orem * 8)),
                                );
                            }
                        } else if family == 2 {
                            if src > 128 {
                                ev.weird(Weird::EDNS_ECS_invalid_addr_v6_prefix, Some(format!("{src} bits")));
                            } else if src as i64 > orem * 8 {
                                ev.weird(
                                    Weird::EDNS_ECS_invalid_addr_v6,
                                    Some(format!("need {src} bits, have {} bits", orem * 8)),
                                );
                            }
                        }
                    }
                }
                11 if (olen == 0 || olen == 2) && conn.udp => {
                    ev.weird(Weird::EDNS_TCP_Keepalive_In_UDP, None);
                }
                _ => {}
            }
            advance(d, len, olen);
            rem -= olen;
        }
        if rem != 0 {
            ev.weird(Weird::EDNS_truncated_option, None);
            return false;
        }
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn rr_tkey(
        &mut self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        m: &MsgInfo,
        d: &mut usize,
        len: &mut i64,
        rdlength: i64,
    ) -> bool {
        if !self.cfg.handle_tkey || m.skip_event {
            advance(d, len, rdlength);
            return true;
        }
        if *len < 16 {
            return false;
        }
        if self.name(ev, conn, c, d, len, true, 513).is_none() {
            return false;
        }
        let _ = c.long(d, len);
        let _ = c.long(d, len);
        let _ = c.short(d, len);
        let _ = c.short(d, len);
        let _ = c.octets(d, len);
        let _ = c.octets(d, len);
        true
    }

    fn rr_tsig(&mut self, ev: &mut dyn Events, conn: &ConnView, c: &Cur<'_>, d: &mut usize, len: &mut i64) -> bool {
        if self.name(ev, conn, c, d, len, true, 1024).is_none() {
            return false;
        }
        let _ = c.long(d, len);
        let _ = c.short(d, len);
        let _ = c.short(d, len);
        let _ = c.octets(d, len);
        let _ = c.short(d, len);
        let _ = c.short(d, len);
        let _ = c.octets(d, len);
        true
    }

    fn algo_weird(ev: &mut dyn Events, algo: u16, rrsig: bool) {
        let w = match algo {
            1 => Some(if rrsig {
                Weird::DNSSEC_RRSIG_NotRecommended_ZoneSignAlgo
            } else {
                Weird::DNSSEC_DNSKEY_NotRecommended_ZoneSignAlgo
            }),
            2..=8 | 10 | 12..=16 => None,
            252 => Some(if rrsig {
                Weird::DNSSEC_RRSIG_Indirect_ZoneSignAlgo
            } else {
                Weird::DNSSEC_DNSKEY_Indirect_ZoneSignAlgo
            }),
            253 => Some(if rrsig {
                Weird::DNSSEC_RRSIG_PrivateDNS_ZoneSignAlgo
            } else {
                Weird::DNSSEC_DNSKEY_PrivateDNS_ZoneSignAlgo
            }),
            254 => Some(if rrsig {
                Weird::DNSSEC_RRSIG_PrivateOID_ZoneSignAlgo
            } else {
                Weird::DNSSEC_DNSKEY_PrivateOID_ZoneSignAlgo
            }),
            _ => Some(if rrsig {
                Weird::DNSSEC_RRSIG_unknown_ZoneSignAlgo
            } else {
                Weird::DNSSEC_DNSKEY_unknown_ZoneSignAlgo
            }),
        };
        if let Some(w) = w {
            ev.weird(w, Some(algo.to_string()));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn rr_rrsig(
        &mut self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        m: &MsgInfo,
        d: &mut usize,
        len: &mut i64,
        rdlength: i64,
    ) -> bool {
        if m.skip_event {
            advance(d, len, rdlength);
            return true;
        }
        if *len < 18 {
            return false;
        }
        let type_covered = c.short(d, len);
        let algo_lab = c.short(d, len);
        let algo = (algo_lab >> 8) & 0xff;
        let _ = c.long(d, len);
        let _ = c.long(d, len);
        let _ = c.long(d, len);
        let _ = c.short(d, len);
        let start = *d;
        let Some(signer) = self.name(ev, conn, c, d, len, true, 513) else {
            return false;
        };
        let sig_len = rdlength - ((*d - start) as i64 + 18);
        let _ = c.stream(d, len, sig_len);
        Self::algo_weird(ev, algo, true);
        let mut r = format!("RRSIG {type_covered} ").into_bytes();
        if signer.is_empty() {
            r.extend_from_slice(b"<Root>");
        } else {
            r.extend_from_slice(&signer);
        }
        ev.do_reply(conn, m, r);
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn rr_dnskey(
        &mut self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        m: &MsgInfo,
        d: &mut usize,
        len: &mut i64,
        rdlength: i64,
    ) -> bool {
        if m.skip_event {
            advance(d, len, rdlength);
            return true;
        }
        if *len < 4 {
            return false;
        }
        let dflags = c.short(d, len);
        let pa = c.short(d, len);
        let proto = (pa >> 8) & 0xff;
        let algo = pa & 0xff;
        let _ = c.stream(d, len, rdlength - 4);
        if dflags & 0xfe7e != 0 {
            ev.weird(Weird::DNSSEC_DNSKEY_Invalid_Flag, Some(dflags.to_string()));
        }
        if dflags & 0x0181 == 0x0181 {
            ev.weird(Weird::DNSSEC_DNSKEY_Revoked_KSK, Some(dflags.to_string()));
        }
        if proto != 3 {
            ev.weird(Weird::DNSSEC_DNSKEY_Invalid_Protocol, Some(proto.to_string()));
        }
        Self::algo_weird(ev, algo, false);
        ev.do_reply(conn, m, format!("DNSKEY {algo}").into_bytes());
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn rr_nsec(
        &mut self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        m: &MsgInfo,
        d: &mut usize,
        len: &mut i64,
        rdlength: i64,
        nsec3: bool,
    ) -> bool {
        if m.skip_event {
            advance(d, len, rdlength);
            return true;
        }
        let start = *d;
        let mut next = Vec::new();
        if nsec3 {
            if *len < 6 {
                return false;
            }
            let _ = c.short(d, len);
            let _ = c.short(d, len);
            let salt_len = if *len > 0 { c.byte_adv(d, len) } else { 0 };
            let _ = c.stream(d, len, salt_len as i64);
            let hash_len = if *len > 0 { c.byte_adv(d, len) } else { 0 };
            let _ = c.stream(d, len, hash_len as i64);
        } else {
            let Some(n) = self.name(ev, conn, c, d, len, true, 513) else {
                return false;
            };
            next = n;
        }
        let mut bm_len = rdlength - (*d - start) as i64;
        while bm_len > 0 && *len > 0 {
            let bb = c.short(d, len);
            let win = (bb >> 8) & 0xff;
            let bl = (bb & 0xff) as i64;
            if bl == 0 {
                let w = if nsec3 {
                    Weird::DNSSEC_NSEC3_bitmapLen0
                } else {
                    Weird::DNSSEC_NSEC_bitmapLen0
                };
                ev.weird(w, Some(win.to_string()));
                break;
            }
            let _ = c.stream(d, len, bl);
            bm_len -= 2 + bl;
        }
        if nsec3 {
            ev.do_reply(conn, m, b"NSEC3".to_vec());
        } else {
            let mut r = b"NSEC ".to_vec();
            r.extend_from_slice(&m.query_name);
            r.push(b' ');
            r.extend_from_slice(&next);
            ev.do_reply(conn, m, r);
        }
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn rr_nsec3param(
        &mut self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        m: &MsgInfo,
        d: &mut usize,
        len: &mut i64,
        rdlength: i64,
    ) -> bool {
        if m.skip_event {
            advance(d, len, rdlength);
            return true;
        }
        if *len < 5 {
            return false;
        }
        let _ = c.short(d, len);
        let _ = c.short(d, len);
        let salt_len = if *len > 0 { c.byte_adv(d, len) } else { 0 };
        let _ = c.stream(d, len, salt_len as i64);
        ev.do_reply(conn, m, b"NSEC3PARAM".to_vec());
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn rr_ds(
        &mut self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        m: &MsgInfo,
        d: &mut usize,
        len: &mut i64,
        rdlength: i64,
    ) -> bool {
        if m.skip_event {
            advance(d, len, rdlength);
            return true;
        }
        if *len < 4 {
            return false;
        }
        let _ = c.short(d, len);
        let ad = c.short(d, len);
        let algo = (ad >> 8) & 0xff;
        let dtype = ad & 0xff;
        let _ = c.stream(d, len, rdlength - 4);
        match dtype {
            1..=4 => {}
            0 => ev.weird(Weird::DNSSEC_DS_ReservedDigestType, Some(dtype.to_string())),
            _ => ev.weird(Weird::DNSSEC_DS_unknown_DigestType, Some(dtype.to_string())),
        }
        ev.do_reply(conn, m, format!("DS {algo} {dtype}").into_bytes());
        true
    }

    fn rr_svcb(
        &mut self,
        ev: &mut dyn Events,
        conn: &ConnView,
        c: &Cur<'_>,
        d: &mut usize,
        len: &mut i64,
        rdlength: i64,
    ) -> bool {
        let start = *d;
        if rdlength < 3 {
            ev.weird(Weird::DNS_SVCB_wrong_length, None);
            return false;
        }
        let prio = c.short(d, len);
        if self.name(ev, conn, c, d, len, false, 513).is_none() {
            return false;
        }
        let params_len = rdlength - (*d - start) as i64;
        if params_len > 0 {
            if prio == 0 {
                ev.weird(Weird::DNS_SVCB_aliasmode_with_params, None);
            }
            self.svc_params(ev, c, d, len, params_len);
        }
        // dns_SVCB / dns_HTTPS: no handler in the base scripts.
        true
    }

    /// Zeek's `Parse_SvcParams`.
    fn svc_params(&mut self, ev: &mut dyn Events, c: &Cur<'_>, d: &mut usize, len: &mut i64, mut plen: i64) {
        while plen >= 4 {
            let key = c.short(d, len);
            let mut vlen = c.short(d, len) as i64;
            plen -= 4;
            let mut malformed = false;
            if vlen > plen {
                ev.weird(
                    Weird::DNS_SVCB_param_value_toobig,
                    Some(format!("{vlen} capped to {plen}")),
                );
                vlen = plen;
                malformed = true;
            }
            if !malformed {
                match key {
                    0 => {
                        if vlen == 0 || vlen % 2 != 0 {
                            ev.weird(Weird::DNS_SVCB_mandatory_length_invalid, None);
                            malformed = true;
                        } else {
                            let mut parsed = 0;
                            while parsed + 2 <= vlen {
                                let _ = c.short(d, len);
                                parsed += 2;
                            }
                        }
                    }
                    1 => {
                        let mut parsed = 0i64;
                        let mut bad = false;
                        while parsed + 2 <= vlen {
                            let alen = c.byte_adv(d, len) as i64;
                            parsed += 1;
                            if alen == 0 || alen + parsed > vlen {
                                bad = true;
                                break;
                            }
                            let _ = c.stream(d, len, alen);
                            parsed += alen;
                        }
                        if bad || vlen != parsed {
                            ev.weird(Weird::DNS_SVCB_alpn_length_invalid, None);
                            advance(d, len, -parsed);
                            malformed = true;
                        }
                    }
                    2 => {
                        if vlen > 0 {
                            ev.weird(Weird::DNS_SVCB_nodefaultalpn_value, None);
                            malformed = true;
                        }
                    }
                    3 => {
                        if vlen != 2 {
                            ev.weird(Weird::DNS_SVCB_port_length_invalid, None);
                            malformed = true;
                        } else {
                            let _ = c.short(d, len);
                        }
                    }
                    4 | 6 => {
                        let alen = if key == 4 { 4 } else { 16 };
                        if vlen % alen != 0 {
                            ev.weird(Weird::DNS_SVCB_hint_length_invalid, None);
                            malformed = true;
                        } else {
                            let mut parsed = 0;
                            while parsed + alen <= vlen {
                                advance(d, len, alen);
                                parsed += alen;
                            }
                        }
                    }
                    5 => {
                        let _ = c.stream(d, len, vlen);
                    }
                    _ => {
                        ev.weird(Weird::DNS_SVCB_key_reserved_or_invalid, None);
                        malformed = true;
                    }
                }
            }
            if malformed {
                let _ = c.stream(d, len, vlen);
            }
            plen -= vlen;
        }
    }
}
