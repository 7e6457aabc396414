//! The script layer: `scripts/base/protocols/dns/main.zeek` (and `policy/protocols/dns/log-original-query-case`)
//! in Rust. It owns the connection's `c$dns` / `c$dns_state`, matches requests with replies through the
//! pending queues, and writes dns.log rows when main.zeek does (at `dns_end` once both a query and a reply
//! were seen, when a pending queue overflows, and at connection removal).
//!
//! Zeek records are references: `c$dns` and the entry of a pending queue are the same `Info`. Here they
//! are ids into a small store; an `Info` is freed once nothing refers to it.

use crate::consts;
use crate::interp::{is_multicast, AnswerType, ConnView, MsgInfo, OP_DYNAMIC_UPDATE, OP_NOTIFY, OP_QUERY};
use std::collections::{HashMap, VecDeque};

/// `DNS::max_pending_msgs`.
pub const MAX_PENDING_MSGS: usize = 50;
/// `DNS::max_pending_query_ids`.
pub const MAX_PENDING_QUERY_IDS: usize = 50;

/// `DNS::Info`.
#[derive(Clone, Debug, Default)]
pub struct Info {
    pub ts: f64,
    pub trans_id: u16,
    pub rtt: Option<f64>,
    pub query: Option<Vec<u8>>,
    pub qclass: Option<u16>,
    pub qtype: Option<u16>,
    pub qtype_name: Option<String>,
    pub rcode: Option<u8>,
    pub aa: bool,
    pub tc: bool,
    pub rd: bool,
    pub ra: bool,
    pub z: u8,
    pub answers: Option<Vec<Vec<u8>>>,
    pub ttls: Option<Vec<f64>>,
    pub rejected: bool,
    pub opcode: Option<u8>,
    pub opcode_name: Option<String>,
    pub total_answers: Option<u16>,
    pub total_replies: Option<u32>,
    pub saw_query: bool,
    pub saw_reply: bool,
    pub original_query: Option<Vec<u8>>,
    /// `auth` / `addl` of `policy/protocols/dns/auth-addl` (sets, kept in insertion order).
    pub auth: Option<Vec<Vec<u8>>>,
    pub addl: Option<Vec<Vec<u8>>>,
}

/// Insertion-ordered `table[count] of Queue` (Zeek iterates its tables in hash order; we use arrival).
type Pending = Vec<(u16, VecDeque<u32>)>;

#[derive(Default)]
struct State {
    pending_query: Option<u32>,
    pending_queries: Pending,
    pending_replies: Pending,
}

/// What `Log::write(DNS::LOG, info)` needs from the caller.
pub trait Writer {
    fn write(&mut self, info: &Info);
}

#[derive(Default)]
pub struct Script {
    store: HashMap<u32, Info>,
    next: u32,
    cur: Option<u32>,
    state: Option<State>,
    /// `policy/protocols/dns/log-original-query-case` is loaded.
    pub original_query: bool,
    /// `policy/protocols/dns/auth-addl` is loaded.
    pub auth_addl: bool,
}

fn tracked(opcode: u8) -> bool {
    opcode == OP_QUERY || opcode == OP_DYNAMIC_UPDATE || opcode == OP_NOTIFY
}

fn find(p: &Pending, id: u16) -> Option<usize> {
    p.iter().position(|(k, _)| *k == id)
}

/// Zeek's `decode_netbios_name`.
pub fn decode_netbios_name(name: &[u8]) -> Vec<u8> {
    if name.len() != 32 {
        return Vec::new();
    }
    let mut buf = [0u8; 16];
    let mut length = 0;
    for i in 0..16 {
        let c0 = name[2 * i].to_ascii_uppercase();
        let c1 = name[2 * i + 1].to_ascii_uppercase();
        if !(b'A'..=b'P').contains(&c0) || !(b'A'..=b'P').contains(&c1) {
            return Vec::new();
        }
        buf[i] = ((c0 - b'A') << 4) + (c1 - b'A');
        let b = buf[i];
        if b.is_ascii_alphanumeric() || b.is_ascii_punctuation() || b == b' ' || b < 3 {
            length += 1;
        } else {
            break;
        }
    }
    if length == 16 {
        length = 15;
    }
    loop {
        if length == 0 {
            return Vec::new();
        }
        let c = buf[length - 1];
        if c != b' ' && c != 0 {
            break;
        }
        length -= 1;
    }
    buf[..length].to_vec()
}

impl Script {
    pub fn new(original_query: bool, auth_addl: bool) -> Script {
        Script {
            original_query,
            auth_addl,
            ..Script::default()
        }
    }

    fn new_session(&mut self, now: f64, trans_id: u16) -> u32 {
        let id = self.next;
        self.next = self.next.wrapping_add(1);
        self.store.insert(
            id,
            Info {
                ts: now,
                trans_id,
                ..Info::default()
            },
        );
        id
    }

    fn referenced(&self, id: u32) -> bool {
        if self.cur == Some(id) {
            return true;
        }
        let Some(st) = &self.state else { return false };
        st.pending_query == Some(id)
            || st.pending_queries.iter().any(|(_, q)| q.contains(&id))
            || st.pending_replies.iter().any(|(_, q)| q.contains(&id))
    }

    fn write_id(&mut self, w: &mut dyn Writer, id: u32) {
        if let Some(info) = self.store.get(&id) {
            w.write(info);
        }
    }

    fn maybe_free(&mut self, id: u32) {
        if !self.referenced(id) {
            self.store.remove(&id);
        }
    }

    fn log_queue(&mut self, w: &mut dyn Writer, q: VecDeque<u32>) {
        for id in q {
            self.write_id(w, id);
            self.maybe_free(id);
        }
    }

    /// `enqueue_new_msg`; `replies` selects `pending_replies` over `pending_queries`.
    fn enqueue(&mut self, w: &mut dyn Writer, replies: bool, tid: u16, msg: u32) {
        let st = self.state.as_mut().expect("state");
        let table = if replies {
            &mut st.pending_replies
        } else {
            &mut st.pending_queries
        };
        let flushed: Vec<VecDeque<u32>>;
        match find(table, tid) {
            None => {
                if table.len() > MAX_PENDING_QUERY_IDS {
                    flushed = table.drain(..).map(|(_, q)| q).collect();
                } else {
                    flushed = Vec::new();
                }
                table.push((tid, VecDeque::new()));
            }
            Some(i) => {
                if table[i].1.len() > MAX_PENDING_MSGS {
                    flushed = vec![core::mem::take(&mut table[i].1)];
                } else {
                    flushed = Vec::new();
                }
            }
        }
        let i = find(table, tid).expect("entry");
        table[i].1.push_back(msg);
        for q in flushed {
            self.log_queue(w, q);
        }
    }

    fn pop(table: &mut Pending, tid: u16) -> Option<u32> {
        let i = find(table, tid)?;
        let v = table[i].1.pop_front();
        if table[i].1.is_empty() {
            table.remove(i);
        }
        v
    }

    fn has(table: &Pending, tid: u16) -> bool {
        find(table, tid).is_some_and(|i| !table[i].1.is_empty())
    }

    fn cur(&mut self) -> Option<&mut Info> {
        let id = self.cur?;
        self.store.get_mut(&id)
    }

    /// `event dns_message` → `hook set_session`.
    pub fn dns_message(&mut self, w: &mut dyn Writer, now: f64, conn: &ConnView, msg: &MsgInfo) {
        if !tracked(msg.opcode) {
            return;
        }
        let is_query = !msg.qr;
        if self.state.is_none() {
            self.state = Some(State::default());
        }
        if is_multicast(conn.resp_h) {
            let id = self.new_session(now, msg.id);
            let prev = self.cur.replace(id);
            if let Some(p) = prev {
                self.maybe_free(p);
            }
            let info = self.store.get_mut(&id).expect("info");
            info.saw_query = true;
            info.saw_reply = true;
        } else if is_query {
            let st = self.state.as_mut().expect("state");
            let new_cur = if Self::has(&st.pending_replies, msg.id) {
                Self::pop(&mut st.pending_replies, msg.id).expect("pending reply")
            } else {
                let id = self.new_session(now, msg.id);
                let st = self.state.as_mut().expect("state");
                if st.pending_query.is_none() {
                    st.pending_query = Some(id);
                } else {
                    self.enqueue(w, false, msg.id, id);
                }
                id
            };
            self.set_cur(new_cur);
        } else {
            let st = self.state.as_mut().expect("state");
            let pq_matches = st
                .pending_query
                .and_then(|pq| self.store.get(&pq))
                .is_some_and(|i| i.trans_id == msg.id);
            let new_cur = if pq_matches {
                let st = self.state.as_mut().expect("state");
                let c = st.pending_query.take().expect("pending query");
                if Self::has(&st.pending_queries, msg.id) {
                    st.pending_query = Self::pop(&mut st.pending_queries, msg.id);
                } else if let Some(tid) = st.pending_queries.iter().find(|(_, q)| !q.is_empty()).map(|(k, _)| *k) {
                    st.pending_query = Self::pop(&mut st.pending_queries, tid);
                }
                c
            } else if Self::has(&st.pending_queries, msg.id) {
                Self::pop(&mut st.pending_queries, msg.id).expect("pending query")
            } else {
                let id = self.new_session(now, msg.id);
                self.enqueue(w, true, msg.id, id);
                id
            };
            self.set_cur(new_cur);
        }

        let Some(info) = self.cur() else { return };
        if !is_query {
            info.rcode = Some(msg.rcode);
            if info.total_answers.is_none() {
                info.total_answers = Some(msg.an_pr_count);
            }
            if info.total_replies.is_none() {
                info.total_replies = Some(msg.an_pr_count as u32 + msg.arcount as u32 + msg.ns_up_count as u32);
            }
            if msg.rcode != 0 && msg.qd_zo_count == 0 {
                info.rejected = true;
            }
        }
        info.opcode = Some(msg.opcode);
        info.opcode_name = Some(if msg.is_netbios {
            consts::netbios_opcode_name(msg.opcode as u64).into_owned()
        } else {
            consts::opcode_name(msg.opcode as u64).into_owned()
        });
    }

    fn set_cur(&mut self, id: u32) {
        if let Some(p) = self.cur.replace(id) {
            if p != id {
                self.maybe_free(p);
            }
        }
    }

    /// `event dns_request`.
    #[allow(clippy::too_many_arguments)]
    pub fn dns_request(
        &mut self,
        conn: &ConnView,
        msg: &MsgInfo,
        query: &[u8],
        qtype: u16,
        qclass: u16,
        original: &[u8],
    ) {
        if !tracked(msg.opcode) {
            return;
        }
        let original_query = self.original_query;
        let Some(info) = self.cur() else { return };
        info.rd = msg.rd;
        info.tc = msg.tc;
        info.qclass = Some(qclass);
        info.qtype = Some(qtype);
        info.qtype_name = Some(consts::query_type_name(qtype as u64).into_owned());
        info.z = msg.z;
        let mut q = query.to_vec();
        if conn.udp && conn.resp_p == 137 {
            let decoded = decode_netbios_name(query);
            if !decoded.is_empty() {
                q = decoded;
            }
            if info.qtype_name.as_deref() == Some("SRV") {
                info.qtype_name = Some("NBSTAT".into());
            }
        }
        info.query = Some(q);
        if original_query && msg.opcode == 0 {
            info.original_query = Some(original.to_vec());
        }
    }

    /// `event dns_rejected`.
    pub fn dns_rejected(&mut self) {
        if let Some(info) = self.cur() {
            info.rejected = true;
        }
    }

    /// `hook DNS::do_reply`.
    pub fn do_reply(&mut self, now: f64, msg: &MsgInfo, mut reply: Vec<u8>) {
        if self.auth_addl && msg.opcode == 0 && msg.qr {
            // auth-addl.zeek's do_reply hook (same priority as main.zeek's; it sees the reply unchanged).
            if let Some(info) = self.cur() {
                let set = match msg.answer_type {
                    AnswerType::Authority => Some(info.auth.get_or_insert_with(Vec::new)),
                    AnswerType::Additional => Some(info.addl.get_or_insert_with(Vec::new)),
                    _ => None,
                };
                if let Some(set) = set {
                    if !set.contains(&reply) {
                        set.push(reply.clone());
                    }
                }
            }
        }
        if !tracked(msg.opcode) || !msg.qr {
            return;
        }
        if !matches!(
            msg.answer_type,
            AnswerType::Answer | AnswerType::Prerequisites | AnswerType::Updates
        ) {
            return;
        }
        let Some(info) = self.cur() else { return };
        if info.query.is_none() {
            info.query = Some(msg.query_name.clone());
        }
        info.aa = msg.aa;
        info.ra = msg.ra;
        if info.rtt.is_none() {
            let rtt = now - info.ts;
            info.rtt = if rtt == 0.0 { None } else { Some(rtt) };
        }
        if !reply.is_empty() {
            if msg.opcode == OP_DYNAMIC_UPDATE && msg.answer_type == AnswerType::Updates && !reply.starts_with(b"del:")
            {
                let mut r = b"add: ".to_vec();
                r.append(&mut reply);
                reply = r;
            }
            info.answers.get_or_insert_with(Vec::new).push(reply);
            info.ttls.get_or_insert_with(Vec::new).push(msg.ttl as f64);
        }
    }

    /// `event dns_end` (both priorities).
    pub fn dns_end(&mut self, w: &mut dyn Writer, msg: &MsgInfo) {
        let Some(info) = self.cur() else { return };
        if msg.qr {
            info.saw_reply = true;
        } else {
            info.saw_query = true;
        }
        if info.saw_reply && info.saw_query {
            let id = self.cur.take().expect("cur");
            self.write_id(w, id);
            self.maybe_free(id);
        }
    }

    /// `hook finalize_dns` (connection removal).
    pub fn finalize(&mut self, w: &mut dyn Writer) {
        let Some(st) = self.state.take() else { return };
        if let Some(pq) = st.pending_query {
            self.write_id(w, pq);
        }
        for (_, q) in st.pending_queries {
            for id in q {
                self.write_id(w, id);
            }
        }
        for (_, q) in st.pending_replies {
            for id in q {
                self.write_id(w, id);
            }
        }
        self.store.clear();
        self.cur = None;
    }
}
