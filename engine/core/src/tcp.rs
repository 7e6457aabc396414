//! Zeek's TCP connection semantics: endpoint states, relative sequence numbers, sizes from sequence
//! space, history letters, the weirds, and the timers that decide when a connection is removed.
//!
//! This follows Zeek's `TCPSessionAdapter` and `TCP_Endpoint` step by step (Zeek 9.1,
//! `src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc`, `src/analyzer/protocol/tcp/TCP_Endpoint.cc`),
//! because conn.log's `conn_state`, `history`, `orig_bytes`/`resp_bytes` and the moment a connection ends
//! all fall out of that exact sequence of updates. Comments name the Zeek function each part mirrors.

use crate::conn::{ConnCore, WeirdSource};
use weir_api::Weird;
use weir_decode::{tcp_flags as F, TcpHeader};

/// Zeek's `TCP_ENDPOINT_*` values (the numbers conn.log's `conn_state` logic compares).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum EndpointState {
    Inactive = 0,
    SynSent = 1,
    SynAckSent = 2,
    Partial = 3,
    Established = 4,
    Closed = 5,
    Reset = 6,
}

use EndpointState::*;

const TOO_LARGE_SEQ_DELTA: i32 = 1_048_576;

/// Zeek's TCP timing constants (init-bare.zeek), in seconds.
#[derive(Clone, Copy, Debug)]
pub struct TcpTimeouts {
    pub syn_timeout: f64,
    pub session_timer: f64,
    pub connection_linger: f64,
    pub attempt_delay: f64,
    pub close_delay: f64,
    pub inactivity_timeout: f64,
    pub storm_thresh: u32,
    pub storm_interarrival_thresh: f64,
}

impl Default for TcpTimeouts {
    fn default() -> Self {
        TcpTimeouts {
            syn_timeout: 5.0,
            session_timer: 6.0,
            connection_linger: 5.0,
            attempt_delay: 5.0,
            close_delay: 5.0,
            inactivity_timeout: 300.0,
            storm_thresh: 1000,
            storm_interarrival_thresh: 1.0,
        }
    }
}

#[inline]
fn seq_delta(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

#[inline]
fn seq_between(s: u32, low: u32, high: u32) -> bool {
    let d = seq_delta(high, low);
    if d < 0 {
        // A wrapped range.
        seq_delta(s, low) >= 0 || seq_delta(high, s) >= 0
    } else {
        seq_delta(s, low) >= 0 && seq_delta(high, s) >= 0
    }
}

/// One side of a TCP connection (Zeek's `TCP_Endpoint`).
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub state: EndpointState,
    pub prev_state: EndpointState,
    start_seq: i64,
    last_seq: u32,
    ack_seq: u32,
    seq_wraps: u32,
    ack_wraps: u32,
    window: u32,
    window_scale: i32,
    window_seq: u32,
    window_ack_seq: u32,
    fin_cnt: u32,
    rst_cnt: u32,
    pub did_close: bool,
    last_time: f64,
    chk_cnt: u32,
    chk_thresh: u32,
    rxmt_cnt: u32,
    rxmt_thresh: u32,
    win0_cnt: u32,
    win0_thresh: u32,
    hist_last_syn: u64,
    hist_last_fin: u64,
    hist_last_rst: u64,
    /// Zeek's `FIN_seq`: relative sequence one past the FIN octet, once a FIN was seen.
    fin_seq: u64,
    /// Whether this endpoint is currently the originator (changes on a flip).
    is_orig: bool,
}

impl Endpoint {
    fn new(is_orig: bool) -> Endpoint {
        Endpoint {
            state: Inactive,
            prev_state: Inactive,
            start_seq: 0,
            last_seq: 0,
            ack_seq: 0,
            seq_wraps: 0,
            ack_wraps: 0,
            window: 0,
            window_scale: 0,
            window_seq: 0,
            window_ack_seq: 0,
            fin_cnt: 0,
            rst_cnt: 0,
            did_close: false,
            last_time: 0.0,
            chk_cnt: 0,
            chk_thresh: 1,
            rxmt_cnt: 0,
            rxmt_thresh: 1,
            win0_cnt: 0,
            win0_thresh: 1,
            hist_last_syn: 0,
            hist_last_fin: 0,
            hist_last_rst: 0,
            fin_seq: 0,
            is_orig,
        }
    }

    fn start_seq32(&self) -> u32 {
        self.start_seq as u32
    }
    fn init_start_seq(&mut self, s: i64) {
        self.start_seq = s;
    }
    fn update_last_seq(&mut self, s: u32) {
        if s < self.last_seq {
            self.seq_wraps += 1;
        }
        self.last_seq = s;
    }
    fn update_ack_seq(&mut self, s: u32) {
        if s < self.ack_seq {
            self.ack_wraps += 1;
        }
        self.ack_seq = s;
    }
    fn full(seq: u32, wraps: u32) -> u64 {
        ((wraps as u64) << 32) + seq as u64
    }
    fn to_relative(&self, seq: u32, wraps: u32) -> u64 {
        Self::full(seq, wraps).wrapping_sub(self.start_seq as u64)
    }
    fn no_data_acked(&self) -> bool {
        let ack = Self::full(self.ack_seq, self.ack_wraps);
        let start = self.start_seq as u64;
        ack == start || ack == start.wrapping_add(1)
    }
    fn is_active(&self) -> bool {
        self.state != Inactive && !self.did_close
    }

    /// Zeek's `TCP_Endpoint::Size`: bytes sent, from the sequence space.
    fn size(&self, peer_state: EndpointState) -> u64 {
        if self.prev_state == SynSent && self.state == Reset && peer_state == Inactive && !self.no_data_acked() {
            return 0;
        }
        let last = Self::full(self.last_seq, self.seq_wraps);
        let ack = Self::full(self.ack_seq, self.ack_wraps);
        let top = if last > ack { last } else { ack };
        let mut size = top.wrapping_sub(self.start_seq as u64);
        if size != 0 {
            size -= 1;
        }
        if self.fin_cnt > 0 && size != 0 {
            size -= 1;
        }
        size
    }
}

/// The TCP part of a connection (Zeek's `TCPSessionAdapter`).
#[derive(Debug)]
pub struct TcpSession {
    /// `ep[0]` is the originator's endpoint, `ep[1]` the responder's; a flip swaps them.
    ep: [Endpoint; 2],
    seen_first_ack: bool,
    is_active: bool,
    first_packet_seen: u8,
    is_partial: bool,
    /// Analyzer timers (Zeek's ADD_ANALYZER_TIMER), as deadlines in network time.
    pub expire_at: Option<f64>,
    pub attempt_at: Option<f64>,
    pub delete_at: Option<f64>,
    /// Stream reassembly, per endpoint like `ep` (Zeek's `TCP_Reassembler`s), when enabled.
    pub reasm: Option<Box<[weir_reassembly::Reassembler; 2]>>,
    /// A close the state machine decided while data was still pending (Zeek's `close_deferred`).
    deferred_close: Option<PendingClose>,
}

const ORIG: u8 = 1;
const RESP: u8 = 2;

// History masks (TCP_Endpoint::HIST_*), shifted left 16 for the responder.
const HIST_SYN_PKT: u32 = 0x1;
const HIST_FIN_PKT: u32 = 0x2;
const HIST_RST_PKT: u32 = 0x4;
const HIST_FIN_RST_PKT: u32 = 0x8;
const HIST_DATA_PKT: u32 = 0x10;
const HIST_ACK_PKT: u32 = 0x20;
const HIST_MULTI_FLAG_PKT: u32 = 0x40;

/// What one segment did, for the stream layer and the caller.
#[derive(Clone, Copy, Debug)]
pub struct Processed {
    /// The connection flipped while processing the segment.
    pub flipped: bool,
    /// Whether the sender is the originator, after any flip.
    pub is_orig: bool,
    /// Relative sequence number of the first data byte (Zeek's `rel_data_seq`).
    pub rel_data_seq: u64,
    /// The relative acknowledgement number, when the segment acknowledges (Zeek's `rel_ack`).
    pub rel_ack: Option<u64>,
    /// Whether the payload goes to the stream (length > 0, no RST, no sequence underflow).
    pub stream_ok: bool,
    pub fin: bool,
    pub rst: bool,
    close: Option<PendingClose>,
}

impl Processed {
    pub fn take_close(&mut self) -> Option<PendingClose> {
        self.close.take()
    }
}

/// A close decided by the state machine, carried out by [`TcpSession::finish`].
#[derive(Clone, Copy, Debug)]
pub struct PendingClose {
    /// The closing endpoint's index.
    pub i: usize,
    p: usize,
    gen_event: bool,
}

/// Per-packet facts the TCP logic needs.
pub struct Segment<'a> {
    pub tcp: &'a TcpHeader<'a>,
    /// Payload length from the IP length fields (Zeek's `len`).
    pub len: i64,
    /// Captured payload bytes (Zeek's `remaining`).
    pub caplen: i64,
    pub now: f64,
}

impl TcpSession {
    /// A new TCP session, created by a packet at network time `network_time` (Zeek's constructor
    /// schedules the first expire timer at network time + tcp_SYN_timeout).
    pub fn new(network_time: f64, t: &TcpTimeouts) -> TcpSession {
        TcpSession {
            ep: [Endpoint::new(true), Endpoint::new(false)],
            seen_first_ack: false,
            is_active: true,
            first_packet_seen: 0,
            is_partial: false,
            expire_at: Some(network_time + t.syn_timeout),
            attempt_at: None,
            delete_at: None,
            reasm: None,
            deferred_close: None,
        }
    }

    pub fn orig(&self) -> &Endpoint {
        &self.ep[0]
    }
    pub fn resp(&self) -> &Endpoint {
        &self.ep[1]
    }
    /// Zeek's `IsPartial`: the connection did not start with the originator's SYN.
    pub fn is_partial(&self) -> bool {
        self.is_partial
    }

    pub fn orig_size(&self) -> u64 {
        self.ep[0].size(self.ep[1].state)
    }
    pub fn resp_size(&self) -> u64 {
        self.ep[1].size(self.ep[0].state)
    }
    fn is_closed(&self) -> bool {
        self.ep[0].did_close || self.ep[1].did_close
    }

    /// Zeek's `TCPSessionAdapter::FlipRoles` (the connection-level flip is the caller's).
    pub fn flip_roles(&mut self) {
        self.ep.swap(0, 1);
        if let Some(r) = self.reasm.as_deref_mut() {
            r.swap(0, 1);
        }
        self.ep[0].is_orig = !self.ep[0].is_orig;
        self.ep[1].is_orig = !self.ep[1].is_orig;
        let f = self.first_packet_seen;
        self.first_packet_seen = (if f & ORIG != 0 { RESP } else { 0 }) | (if f & RESP != 0 { ORIG } else { 0 });
        self.is_partial = false;
    }

    /// Zeek's `TCP_Endpoint::ChecksumError`: a scaled `C`/`c` history entry.
    pub fn checksum_error(&mut self, core: &mut ConnCore, is_orig: bool) {
        let e = &mut self.ep[if is_orig { 0 } else { 1 }];
        let code = if is_orig { b'C' } else { b'c' };
        core.scaled_history(code, &mut e.chk_cnt, &mut e.chk_thresh);
    }

    /// Zeek's `TCPSessionAdapter::IsReuse`: does this SYN start a new connection on the same key?
    pub fn is_reuse(&self, core: &mut ConnCore, now: f64, tcp: &TcpHeader<'_>, t: &TcpTimeouts) -> bool {
        if tcp.hdr_len < 20 {
            return false;
        }
        if tcp.flags & F::SYN == 0 {
            return false;
        }
        let mut conn_orig = 0;
        if tcp.flags & F::ACK != 0 {
            if self.ep[0].state != Inactive {
                return false;
            }
            conn_orig = 1;
        }
        let (o, r) = (&self.ep[0], &self.ep[1]);
        if !self.is_closed() {
            let co = &self.ep[conn_orig];
            if tcp.seq == co.start_seq32() {
                return false;
            }
            if tcp.flags & F::ACK == 0 && co.state == SynAckSent && r.state == Inactive && tcp.seq == r.start_seq32() {
                return false;
            }
            if co.state == SynSent {
                core.weird(Weird::SYN_seq_jump, None, WeirdSource::Tcp);
            } else {
                core.weird(Weird::active_connection_reuse, None, WeirdSource::Tcp);
            }
        } else if (o.is_active() || r.is_active()) && o.state != Reset && r.state != Reset {
            core.weird(Weird::active_connection_reuse, None, WeirdSource::Tcp);
        } else if now - core.last_time < t.connection_linger && o.state != Reset && r.state != Reset {
            core.weird(Weird::premature_connection_reuse, None, WeirdSource::Tcp);
        }
        true
    }

    /// Zeek's `TCPSessionAdapter::Process` for one segment that passed the checksum check. Returns
    /// whether the connection flipped during processing.
    pub fn process(&mut self, core: &mut ConnCore, is_orig_in: bool, seg: &Segment<'_>, t: &TcpTimeouts) -> Processed {
        let tp = seg.tcp;
        let flags = tp.flags;
        let (syn, fin, rst, ack) = (
            flags & F::SYN != 0,
            flags & F::FIN != 0,
            flags & F::RST != 0,
            flags & F::ACK != 0,
        );
        let base_seq = tp.seq;
        let ack_seq = tp.ack;
        let len = seg.len;
        let now = seg.now;
        let mut is_orig = is_orig_in;
        let mut flipped = false;

        // Which endpoint index sends this segment. A flip inside swaps the array, so we recompute
        // the index from `is_orig` after every step that may flip.
        let idx = |is_orig: bool| if is_orig { 0usize } else { 1 };

        self.set_partial_status(flags, is_orig);

        let seg_len: i64 = len + syn as i64 + fin as i64 - if rst { len } else { 0 };
        let seq_one_past = base_seq.wrapping_add(seg_len as u32);

        self.init_endpoint(core, idx(is_orig), flags, base_seq, seq_one_past);

        let mut seq_underflow = false;
        let rel_seq = {
            let e = &self.ep[idx(is_orig)];
            get_relative_seq(e, base_seq, e.last_seq, e.seq_wraps, Some(&mut seq_underflow))
        };
        if seq_underflow && !rst {
            core.weird(Weird::TCP_seq_underflow_or_misorder, None, WeirdSource::Tcp);
        }

        if self.update_history(core, flags, is_orig, rel_seq, len) {
            is_orig = !is_orig;
            flipped = true;
        }
        self.update_window(core, idx(is_orig), tp.window as u32, base_seq, ack_seq, flags);

        if !self.ep[0].did_close || !self.ep[1].did_close {
            core.last_time = now;
        }

        let i = idx(is_orig);
        let p = 1 - i;

        if syn {
            if rst {
                core.weird(Weird::TCP_christmas, None, WeirdSource::Tcp);
            }
            if flags & F::URG != 0 {
                core.weird(Weird::baroque_SYN, None, WeirdSource::Tcp);
            }
            if len > 0 {
                core.weird(Weird::SYN_with_data, None, WeirdSource::Tcp);
            }
            let scale = window_scale_option(tp.options);
            self.init_window(core, i, flags, scale, base_seq, ack_seq);
        }

        if fin {
            let e = &mut self.ep[i];
            e.fin_cnt += 1;
            e.fin_seq = rel_seq.wrapping_add(seg_len as u64);
            if e.fin_cnt >= t.storm_thresh && now < e.last_time + t.storm_interarrival_thresh {
                core.weird(Weird::FIN_storm, None, WeirdSource::Tcp);
            }
        }
        if rst {
            let e = &mut self.ep[i];
            e.rst_cnt += 1;
            if e.rst_cnt >= t.storm_thresh && now < e.last_time + t.storm_interarrival_thresh {
                core.weird(Weird::RST_storm, None, WeirdSource::Tcp);
            }
        }

        let mut rel_ack = None;
        if ack {
            if is_orig && !self.seen_first_ack && (self.ep[i].state == Established || self.ep[i].state == SynSent) {
                self.seen_first_ack = true;
            }
            if self.ep[p].state == Inactive {
                rel_ack = Some(1);
                // init_peer
                if !syn && !fin && !rst {
                    let s = self.ep[i].state;
                    if (s == SynSent || s == SynAckSent || s == Established) && !core.did_weird {
                        core.weird(Weird::possible_split_routing, None, WeirdSource::None);
                    }
                }
                let pe = &mut self.ep[p];
                let v = ack_seq.wrapping_sub(1);
                pe.init_start_seq(v as i64);
                pe.ack_seq = v;
                pe.last_seq = v;
            } else {
                let mut ack_underflow = false;
                let pe = &self.ep[p];
                let r = get_relative_seq(pe, ack_seq, pe.ack_seq, pe.ack_wraps, Some(&mut ack_underflow));
                rel_ack = Some(if ack_underflow { 0 } else { r });
                if ack_underflow {
                    core.weird(Weird::TCP_ack_underflow_or_misorder, None, WeirdSource::Tcp);
                } else if !rst {
                    // update_ack_seq
                    let pe = &mut self.ep[p];
                    let delta_ack = seq_delta(ack_seq, pe.ack_seq);
                    if ack_seq == 0 && delta_ack > TOO_LARGE_SEQ_DELTA {
                    } else if delta_ack > 0 {
                        pe.update_ack_seq(ack_seq);
                    }
                }
            }
        }

        // update_last_seq
        let delta_last = {
            let e = &mut self.ep[i];
            let delta_last = seq_delta(seq_one_past, e.last_seq);
            if (syn || rst) && !(-TOO_LARGE_SEQ_DELTA..=TOO_LARGE_SEQ_DELTA).contains(&delta_last) {
                // Ignore: an out-of-window SYN or RST must not move the sequence space.
            } else if fin && e.last_seq == e.start_seq32().wrapping_add(1) {
                e.update_last_seq(seq_one_past);
            } else if e.state == Reset {
            } else if delta_last > 0 {
                e.update_last_seq(seq_one_past);
            } else if delta_last <= 0 && len > 0 {
                let code = if e.is_orig { b'T' } else { b't' };
                core.scaled_history(code, &mut e.rxmt_cnt, &mut e.rxmt_thresh);
            }
            delta_last
        };
        self.ep[i].last_time = now;

        let (do_close, gen_event) = self.update_state_machine(
            core,
            now,
            &mut is_orig,
            &mut flipped,
            base_seq,
            ack_seq,
            len,
            delta_last,
            flags,
            t,
        );

        let i = idx(is_orig);
        let p = 1 - i;

        // CheckPIA_FirstPacket: remember which sides have sent something.
        if is_orig && self.first_packet_seen & ORIG == 0 {
            self.first_packet_seen |= ORIG;
        }
        if !is_orig && self.first_packet_seen & RESP == 0 {
            self.first_packet_seen |= RESP;
        }

        Processed {
            flipped,
            is_orig,
            rel_data_seq: if syn { rel_seq.wrapping_add(1) } else { rel_seq },
            rel_ack,
            // Zeek hands data to the stream only for such segments (`need_contents` in Process).
            stream_ok: len > 0 && !rst && !seq_underflow,
            fin,
            rst,
            close: do_close.then_some(PendingClose { i, p, gen_event }),
        }
    }

    /// Zeek's `ConnectionClosed` step of `Process`, which comes after the data was handed to the
    /// stream (the caller does that in between). With `data_pending` (the closing endpoint's
    /// reassembler still holds undelivered data), Zeek defers the close until that endpoint's EOF.
    pub fn finish(&mut self, core: &mut ConnCore, close: Option<PendingClose>, data_pending: bool, t: &TcpTimeouts) {
        if let Some(c) = close {
            if data_pending {
                let gen_event = c.gen_event || self.deferred_close.is_some_and(|d| d.gen_event);
                self.deferred_close = Some(PendingClose { gen_event, ..c });
                return;
            }
            self.deferred_close = None;
            self.connection_closed(core, c.i, c.p, c.gen_event, t);
        }
    }

    /// Zeek's `EndpointEOF` for endpoint `k`: a deferred close of that endpoint is carried out.
    /// Returns true when it raised `pending_data_when_closed`.
    pub fn endpoint_eof(&mut self, core: &mut ConnCore, k: usize, still_pending: bool, t: &TcpTimeouts) {
        if let Some(c) = self.deferred_close.filter(|c| c.i == k) {
            self.deferred_close = None;
            if still_pending && self.ep[0].did_close && self.ep[1].did_close {
                core.weird(Weird::pending_data_when_closed, None, WeirdSource::Tcp);
            }
            self.connection_closed(core, c.i, c.p, c.gen_event, t);
        }
    }

    /// Index in `ep` (and `reasm`) of the originator (`true`) or responder endpoint.
    pub fn index(is_orig: bool) -> usize {
        if is_orig {
            0
        } else {
            1
        }
    }

    /// Whether endpoint `k` has sent a FIN or is closed or reset: before that, its reassembler's
    /// `check_eof` cannot report its end. The same condition `Reassembler::check_eof` tests on the
    /// endpoint's [`EndpointInfo`](weir_reassembly::EndpointInfo) (`fin_seq`, `state`), asked here
    /// before that view is built; the two must change together.
    pub fn may_be_at_eof(&self, k: usize) -> bool {
        let e = &self.ep[k];
        e.fin_cnt > 0 || matches!(e.state, Closed | Reset)
    }

    /// [`EndpointInfo::fin_seq`](weir_reassembly::EndpointInfo::fin_seq) of endpoint `k`.
    pub fn fin_seq(&self, k: usize) -> Option<u64> {
        let e = &self.ep[k];
        (e.fin_cnt > 0).then_some(e.fin_seq)
    }

    /// What endpoint `k`'s reassembler needs to know of the TCP state (Zeek reads it through the
    /// endpoint, its peer and the adapter).
    pub fn endpoint_info(&self, k: usize) -> weir_reassembly::EndpointInfo {
        fn st(s: EndpointState) -> weir_reassembly::TcpState {
            use weir_reassembly::TcpState as T;
            match s {
                Inactive => T::Inactive,
                SynSent => T::SynSent,
                SynAckSent => T::SynAckSent,
                Partial => T::Partial,
                Established => T::Established,
                Closed => T::Closed,
                Reset => T::Reset,
            }
        }
        let (e, p) = (&self.ep[k], &self.ep[1 - k]);
        let peer_reasm = self.reasm.as_deref().map(|r| &r[1 - k]);
        weir_reassembly::EndpointInfo {
            is_orig: e.is_orig,
            state: st(e.state),
            prev_state: st(e.prev_state),
            peer_state: st(p.state),
            peer_prev_state: st(p.prev_state),
            fin_seq: self.fin_seq(k),
            rst_seen: e.rst_cnt > 0,
            peer_fin_or_rst: p.fin_cnt > 0 || p.rst_cnt > 0,
            no_data_acked: e.no_data_acked(),
            size: e.size(p.state),
            start_seq: e.start_seq,
            last_seq_full: Endpoint::full(e.last_seq, e.seq_wraps),
            peer_has_contents: peer_reasm.is_some(),
            peer_has_done_something: p.last_time != 0.0,
            peer_has_undelivered: peer_reasm.is_some_and(|r| r.has_undelivered_data()),
            partial: self.is_partial,
            skipping: false,
        }
    }

    fn set_partial_status(&mut self, flags: u8, is_orig: bool) {
        let syn = flags & F::SYN != 0;
        let ack = flags & F::ACK != 0;
        if is_orig {
            if self.first_packet_seen & ORIG == 0 {
                self.is_partial = !syn || ack;
            }
        } else if self.first_packet_seen & RESP == 0 && !self.is_partial {
            self.is_partial = !syn;
        }
    }

    fn init_endpoint(&mut self, core: &mut ConnCore, i: usize, flags: u8, first_seg_seq: u32, last_seq_in: u32) {
        let syn = flags & F::SYN != 0;
        let e = &mut self.ep[i];
        let mut last_seq = last_seq_in;
        match e.state {
            Inactive => {
                if syn {
                    e.ack_seq = first_seg_seq;
                    e.init_start_seq(first_seg_seq as i64);
                } else {
                    let v = first_seg_seq.wrapping_sub(1);
                    e.ack_seq = v;
                    e.init_start_seq(v as i64);
                    last_seq = first_seg_seq;
                }
                e.last_seq = last_seq;
            }
            SynSent | SynAckSent => {
                if syn && first_seg_seq != e.start_seq32() {
                    core.weird(Weird::SYN_seq_jump, None, WeirdSource::None);
                    e.init_start_seq(first_seg_seq as i64);
                    e.ack_seq = first_seg_seq;
                    e.last_seq = last_seq;
                }
            }
            Established | Partial => {
                if syn {
                    let peer_state = self.ep[1 - i].state;
                    let e = &mut self.ep[i];
                    if e.size(peer_state) > 0 {
                        core.weird(Weird::SYN_inside_connection, None, WeirdSource::None);
                    }
                    if first_seg_seq != e.start_seq32() {
                        core.weird(Weird::SYN_seq_jump, None, WeirdSource::None);
                    }
                    e.init_start_seq(first_seg_seq as i64);
                    e.ack_seq = first_seg_seq;
                    e.last_seq = last_seq;
                }
            }
            Reset => {
                if syn && e.prev_state == Inactive {
                    e.init_start_seq(first_seg_seq as i64);
                    e.ack_seq = first_seg_seq;
                    e.last_seq = last_seq;
                }
            }
            Closed => {}
        }
    }

    /// Zeek's `update_history`. Returns true if the connection flipped (a first `A`/`D` after a lone `H`).
    fn update_history(&mut self, core: &mut ConnCore, flags: u8, is_orig: bool, rel_seq: u64, len: i64) -> bool {
        let syn = flags & F::SYN != 0;
        let fin = flags & F::FIN != 0;
        let rst = flags & F::RST != 0;
        let ack = flags & F::ACK != 0;
        let bits = syn as u8 + fin as u8 + rst as u8;
        let mut flipped = false;
        let mut is_orig = is_orig;
        if bits > 1 {
            if fin && rst {
                self.check_history(core, &mut is_orig, &mut flipped, HIST_FIN_RST_PKT, b'I');
            } else {
                self.check_history(core, &mut is_orig, &mut flipped, HIST_MULTI_FLAG_PKT, b'Q');
            }
        } else if bits == 1 {
            if syn {
                let code = if ack { b'H' } else { b'S' };
                let seen = self.check_history(core, &mut is_orig, &mut flipped, HIST_SYN_PKT, code);
                let e = &mut self.ep[if is_orig { 0 } else { 1 }];
                if seen && rel_seq != e.hist_last_syn {
                    core.add_history(if is_orig { code } else { code.to_ascii_lowercase() });
                }
                e.hist_last_syn = rel_seq;
            }
            if fin {
                let seen = self.check_history(core, &mut is_orig, &mut flipped, HIST_FIN_PKT, b'F');
                let e = &mut self.ep[if is_orig { 0 } else { 1 }];
                let end = rel_seq.wrapping_add(len as u64);
                if seen && end != e.hist_last_fin {
                    core.add_history(if is_orig { b'F' } else { b'f' });
                }
                e.hist_last_fin = end;
            }
            if rst {
                let seen = self.check_history(core, &mut is_orig, &mut flipped, HIST_RST_PKT, b'R');
                let e = &mut self.ep[if is_orig { 0 } else { 1 }];
                if seen && rel_seq != e.hist_last_rst {
                    core.add_history(if is_orig { b'R' } else { b'r' });
                }
                e.hist_last_rst = rel_seq;
            }
        } else if len > 0 {
            self.check_history(core, &mut is_orig, &mut flipped, HIST_DATA_PKT, b'D');
        } else if ack {
            self.check_history(core, &mut is_orig, &mut flipped, HIST_ACK_PKT, b'A');
        }
        flipped
    }

    /// Zeek's `TCP_Endpoint::CheckHistory`, including its flip: a connection whose history is just `H`
    /// (a SYN-ACK seen first) turns around when the next `A` or `D` arrives.
    fn check_history(
        &mut self,
        core: &mut ConnCore,
        is_orig: &mut bool,
        flipped: &mut bool,
        mask: u32,
        code: u8,
    ) -> bool {
        if (code == b'A' || code == b'D') && core.history() == b"H" {
            core.flip_roles();
            self.flip_roles();
            core.replace_history(b"^h");
            self.first_packet_seen |= ORIG;
            *is_orig = !*is_orig;
            *flipped = !*flipped;
        }
        let (mask, code) = if *is_orig {
            (mask, code)
        } else {
            (mask << 16, code.to_ascii_lowercase())
        };
        core.check_history(mask, code)
    }

    fn update_window(&mut self, core: &mut ConnCore, i: usize, window: u32, base_seq: u32, ack_seq: u32, flags: u8) {
        let peer_state = self.ep[1 - i].state;
        let e = &mut self.ep[i];
        let scale = e.window_scale;
        let window = window << (scale.clamp(0, 14) as u32);
        let rst = flags & F::RST != 0;
        if window == 0 && !rst && peer_state != Closed && e.state != Reset {
            let code = if e.is_orig { b'W' } else { b'w' };
            core.scaled_history(code, &mut e.win0_cnt, &mut e.win0_thresh);
        }
        if flags & (F::SYN | F::FIN | F::RST) == 0 && e.state != Closed && e.state != Reset {
            if seq_delta(base_seq, e.window_seq) >= 0 && seq_delta(ack_seq, e.window_ack_seq) >= 0 {
                let new_edge = ack_seq.wrapping_add(window);
                let old_edge = e.window_ack_seq.wrapping_add(e.window);
                let advance = seq_delta(new_edge, old_edge);
                if advance < 0 && (-(advance as i64)) >= (1i64 << scale.clamp(0, 14)) {
                    core.weird(Weird::window_recision, None, WeirdSource::None);
                }
                e.window = window;
                e.window_ack_seq = ack_seq;
                e.window_seq = base_seq;
            }
        }
    }

    fn init_window(&mut self, core: &mut ConnCore, i: usize, flags: u8, scale: i64, base_seq: u32, ack_seq: u32) {
        let ack = flags & F::ACK != 0;
        if scale < 0 {
            if ack {
                self.ep[i].window_scale = 0;
                self.ep[1 - i].window_scale = 0;
            } else {
                self.ep[i].window_scale = 0;
            }
        } else {
            let mut scale = scale;
            if scale > 14 {
                if !core.did_weird {
                    let mut buf = itoa_buf();
                    core.weird(Weird::TCP_scale_range, Some(fmt_i64(scale, &mut buf)), WeirdSource::Tcp);
                }
                scale = 14;
            }
            let e = &mut self.ep[i];
            e.window_scale = scale as i32;
            e.window_seq = base_seq;
            e.window_ack_seq = ack_seq;
            let pe = &mut self.ep[1 - i];
            pe.window_seq = ack_seq;
            pe.window_ack_seq = base_seq;
        }
    }

    /// Zeek's `TCP_Endpoint::SetState`: leaving the handshake switches the inactivity timeout to TCP's.
    fn set_state(&mut self, core: &mut ConnCore, i: usize, new: EndpointState, t: &TcpTimeouts) {
        let hs = |s: EndpointState| matches!(s, Inactive | SynSent | SynAckSent);
        let peer_state = self.ep[1 - i].state;
        let e = &mut self.ep[i];
        if new != e.state {
            if !hs(new) && hs(e.state) && hs(peer_state) {
                core.set_inactivity_timeout(t.inactivity_timeout);
            }
            e.prev_state = e.state;
            e.state = new;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn update_state_machine(
        &mut self,
        core: &mut ConnCore,
        now: f64,
        is_orig: &mut bool,
        flipped: &mut bool,
        base_seq: u32,
        ack_seq: u32,
        len: i64,
        delta_last: i32,
        flags: u8,
        t: &TcpTimeouts,
    ) -> (bool, bool) {
        let mut do_close = false;
        let mut gen_event = false;
        let syn = flags & F::SYN != 0;
        let fin = flags & F::FIN != 0;
        let rst = flags & F::RST != 0;
        let ack = flags & F::ACK != 0;
        let i = if *is_orig { 0 } else { 1 };
        let p = 1 - i;

        match self.ep[i].state {
            Inactive => {
                if syn {
                    if *is_orig {
                        if ack {
                            core.weird(Weird::connection_originator_SYN_ack, None, WeirdSource::Tcp);
                            self.set_state(core, i, SynAckSent, t);
                        } else {
                            self.set_state(core, i, SynSent, t);
                        }
                        if t.attempt_delay != 0.0 {
                            self.attempt_at = Some(now + t.attempt_delay);
                        }
                    } else {
                        if ack {
                            let ps = self.ep[p].state;
                            if ps != Inactive
                                && ps != Partial
                                && !seq_between(ack_seq, self.ep[p].start_seq32(), self.ep[p].last_seq)
                            {
                                core.weird(Weird::bad_SYN_ack, None, WeirdSource::Tcp);
                            }
                        } else if self.ep[p].state == SynAckSent && base_seq == self.ep[i].start_seq32() {
                            // Our peer sent a SYN-ACK first: this SYN shows who really is the originator.
                            self.is_partial = false;
                            core.flip_roles();
                            self.flip_roles();
                            *is_orig = !*is_orig;
                            *flipped = !*flipped;
                            // After the flip, the peer (old originator) is at index `i` and we are at `p`.
                            self.set_state(core, i, Established, t);
                            self.first_packet_seen |= ORIG;
                        } else {
                            core.weird(Weird::simultaneous_open, None, WeirdSource::Tcp);
                        }
                        // Re-derive indices: after a flip the sender moved.
                        let (si, pi) = if *is_orig { (0, 1) } else { (1, 0) };
                        if self.ep[pi].state == SynSent {
                            self.set_state(core, pi, Established, t);
                        } else if self.ep[pi].state == Inactive {
                            core.weird(Weird::unsolicited_SYN_response, None, WeirdSource::Tcp);
                        }
                        self.set_state(core, si, Established, t);
                    }
                }
                let (si, pi) = if *is_orig { (0, 1) } else { (1, 0) };
                if fin {
                    self.set_state(core, si, Closed, t);
                    do_close = true;
                    gen_event = true;
                    if self.ep[pi].state != Partial && !syn {
                        core.weird(Weird::spontaneous_FIN, None, WeirdSource::Tcp);
                    }
                }
                if rst {
                    self.set_state(core, si, Reset, t);
                    let is_reject = if *is_orig {
                        self.ep[pi].state == Established
                    } else {
                        matches!(self.ep[pi].state, SynSent | SynAckSent)
                    };
                    do_close = true;
                    gen_event = !is_reject;
                    if is_reject {
                        self.is_active = false; // connection_rejected: no further effect on logs
                    } else if self.ep[pi].state == Inactive {
                        core.weird(Weird::spontaneous_RST, None, WeirdSource::Tcp);
                    }
                }
                if self.ep[si].state == Inactive {
                    if !*is_orig && len == 0 && self.ep[0].state == SynSent {
                        // A pure ACK (or window update) from the responder before its SYN-ACK: stay inactive.
                    } else if ack && self.ep[pi].state == Established {
                        self.set_state(core, si, Established, t);
                        self.is_partial = false;
                        self.first_packet_seen |= if *is_orig { ORIG } else { RESP };
                    } else {
                        self.set_state(core, si, Partial, t);
                    }
                }
            }
            SynSent | SynAckSent => {
                if syn {
                    if *is_orig {
                        if ack && !fin && !rst && self.ep[i].state != SynAckSent {
                            core.weird(Weird::repeated_SYN_with_ack, None, WeirdSource::Tcp);
                        }
                    } else if !ack && self.ep[i].state != SynSent {
                        core.weird(Weird::repeated_SYN_reply_wo_ack, None, WeirdSource::Tcp);
                    }
                }
                if fin {
                    if matches!(self.ep[p].state, Inactive | SynSent) {
                        core.weird(Weird::inappropriate_FIN, None, WeirdSource::Tcp);
                    }
                    self.set_state(core, i, Closed, t);
                    do_close = true;
                    gen_event = true;
                }
                if rst {
                    self.set_state(core, i, Reset, t);
                    self.is_active = false; // ConnectionReset
                    do_close = true;
                } else if len > 0 {
                    core.weird(Weird::data_before_established, None, WeirdSource::Tcp);
                }
            }
            Established | Partial => {
                if syn && self.ep[i].state == Partial && self.ep[p].state == Inactive && !ack {
                    core.weird(Weird::SYN_after_partial, None, WeirdSource::Tcp);
                    self.set_state(core, i, SynSent, t);
                }
                if fin && !rst {
                    self.set_state(core, i, Closed, t);
                    if self.ep[p].state == Reset && self.ep[p].prev_state == Closed {
                        self.set_state(core, p, Closed, t);
                    }
                    do_close = true;
                    gen_event = true;
                }
                if rst {
                    self.set_state(core, i, Reset, t);
                    do_close = true;
                    if self.ep[p].state != Reset || self.ep[p].prev_state != Established {
                        self.is_active = false; // ConnectionReset
                    }
                }
            }
            Closed => {
                if syn {
                    core.weird(Weird::SYN_after_close, None, WeirdSource::Tcp);
                }
                if fin && delta_last > 0 {
                    core.weird(Weird::FIN_advanced_last_seq, None, WeirdSource::Tcp);
                }
                if rst && self.ep[p].state != Closed {
                    self.set_state(core, i, Reset, t);
                    if !self.ep[i].did_close {
                        do_close = true;
                    }
                    // Zeek schedules a ResetTimer only when `connection_reset` has handlers; base scripts have none.
                }
            }
            Reset => {
                if syn {
                    core.weird(Weird::SYN_after_reset, None, WeirdSource::Tcp);
                }
                if fin {
                    core.weird(Weird::FIN_after_reset, None, WeirdSource::Tcp);
                }
                if len > 0 && !rst {
                    core.weird(Weird::data_after_reset, None, WeirdSource::Tcp);
                }
            }
        }
        (do_close, gen_event)
    }

    /// Zeek's `ConnectionClosed` (no reassembler, so no pending data).
    fn connection_closed(&mut self, core: &mut ConnCore, i: usize, p: usize, gen_event: bool, t: &TcpTimeouts) {
        if self.ep[i].did_close {
            return;
        }
        self.ep[i].did_close = true;
        let close_complete = self.ep[i].state == Reset || self.ep[p].did_close || self.ep[p].state == Inactive;
        if close_complete {
            if (self.ep[i].prev_state != Inactive || self.ep[p].state != Inactive) && gen_event {
                self.is_active = false; // ConnectionFinished
            }
            // CancelTimers: the analyzer's timers go; the session's inactivity timer stays.
            self.expire_at = None;
            self.attempt_at = None;
            // tcp_close_delay != 0: the connection is deleted that long after its last packet.
            self.delete_at = Some(core.last_time + t.close_delay);
        } else if self.ep[i].prev_state == Inactive {
            // Zeek schedules a PartialCloseTimer only when `connection_partial_close` has handlers; base
            // scripts have none.
        } else {
            self.expire_at = Some(core.last_time + t.session_timer);
        }
    }

    /// Zeek's `ExpireTimer`. Returns true when the connection is to be removed.
    pub fn expire_timer(&mut self, core: &ConnCore, now: f64, t: &TcpTimeouts) -> bool {
        self.expire_at = None;
        if !self.is_active {
            return false;
        }
        if core.last_time + t.connection_linger < now {
            let (o, r) = (&self.ep[0], &self.ep[1]);
            if (o.did_close || r.did_close)
                && ((o.did_close && r.did_close)
                    || o.state == Reset
                    || r.state == Reset
                    || o.state == Inactive
                    || r.state == Inactive)
            {
                self.is_active = false;
                return true;
            }
            if r.state == Inactive && o.state == Inactive {
                return true;
            }
        }
        self.expire_at = Some(now + t.session_timer);
        false
    }

    /// Zeek's `AttemptTimer`. Returns true when the connection is to be removed.
    pub fn attempt_timer(&mut self) -> bool {
        self.attempt_at = None;
        if !self.is_active {
            return false;
        }
        let (o, r) = (&self.ep[0], &self.ep[1]);
        if matches!(o.state, SynSent | SynAckSent) && r.state == Inactive {
            self.is_active = false;
            return true;
        }
        false
    }

    /// The earliest analyzer timer deadline.
    pub fn next_deadline(&self) -> Option<f64> {
        crate::conn::earliest(crate::conn::earliest(self.expire_at, self.attempt_at), self.delete_at)
    }

    /// Fire the analyzer timers due at `now`, in Zeek's order of scheduling. True = remove the connection.
    pub fn fire_timers(&mut self, core: &ConnCore, now: f64, t: &TcpTimeouts) -> bool {
        if self.delete_at.is_some_and(|d| d <= now) {
            return true;
        }
        if self.attempt_at.is_some_and(|d| d <= now) && self.attempt_timer() {
            return true;
        }
        if self.expire_at.is_some_and(|d| d <= now) && self.expire_timer(core, now, t) {
            return true;
        }
        false
    }

    /// conn.log's `conn_state`, from Zeek's `Conn::conn_state` (base/protocols/conn/main.zeek).
    pub fn conn_state(&self, history: &[u8]) -> &'static str {
        let os = self.ep[0].state;
        let rs = self.ep[1].state;
        let o_inactive = os == Inactive || os == Partial;
        let r_inactive = rs == Inactive || rs == Partial;
        if rs == Reset {
            if os == SynSent || os == SynAckSent || (os == Reset && self.orig_size() == 0 && self.resp_size() == 0) {
                "REJ"
            } else if o_inactive {
                "RSTRH"
            } else {
                "RSTR"
            }
        } else if os == Reset {
            if r_inactive {
                if rstos0_history(history) {
                    "RSTOS0"
                } else {
                    "OTH"
                }
            } else {
                "RSTO"
            }
        } else if rs == Closed && os == Closed {
            "SF"
        } else if os == Closed {
            if r_inactive {
                "SH"
            } else {
                "S2"
            }
        } else if rs == Closed {
            if o_inactive {
                "SHR"
            } else {
                "S3"
            }
        } else if os == SynSent && rs == Inactive {
            "S0"
        } else if os == Established && rs == Established {
            "S1"
        } else {
            "OTH"
        }
    }
}

/// Zeek's pattern `/\^?S[^HAFGIQ]*R.*/` matched against the whole history.
fn rstos0_history(h: &[u8]) -> bool {
    let h = h.strip_prefix(b"^").unwrap_or(h);
    let Some(rest) = h.strip_prefix(b"S") else {
        return false;
    };
    for &c in rest {
        if c == b'R' {
            return true;
        }
        if b"HAFGIQ".contains(&c) {
            return false;
        }
    }
    false
}

/// Zeek's `get_relative_seq`.
fn get_relative_seq(e: &Endpoint, cur_base: u32, last: u32, wraps: u32, underflow: Option<&mut bool>) -> u64 {
    let delta = seq_delta(cur_base, last);
    let mut wraps = wraps;
    if delta < 0 {
        if wraps != 0 && cur_base > last {
            wraps -= 1;
        }
    } else if delta > 0 && cur_base < last {
        wraps += 1;
    }
    if wraps == 0 {
        let d = seq_delta(cur_base, e.start_seq32());
        if let Some(u) = underflow {
            if d < 0 {
                *u = true;
            }
        }
        return d as i64 as u64;
    }
    e.to_relative(cur_base, wraps)
}

/// The window scale option of a SYN, or -1 (Zeek's `build_syn_packet_val` option walk).
fn window_scale_option(opts: &[u8]) -> i64 {
    let mut i = 0usize;
    let mut scale = -1i64;
    while i < opts.len() {
        let opt = opts[i];
        if opt == 0 {
            break;
        }
        if opt == 1 {
            i += 1;
            continue;
        }
        if i + 1 >= opts.len() {
            break;
        }
        let len = opts[i + 1] as usize;
        if i + len > opts.len() || len == 0 {
            break;
        }
        if opt == 3 && len >= 3 {
            scale = opts[i + 2] as i64;
        }
        i += len;
    }
    scale
}

fn itoa_buf() -> [u8; 24] {
    [0u8; 24]
}

fn fmt_i64(v: i64, buf: &mut [u8; 24]) -> &str {
    use std::io::Write;
    let mut c = std::io::Cursor::new(&mut buf[..]);
    let _ = write!(c, "{v}");
    let n = c.position() as usize;
    core::str::from_utf8(&buf[..n]).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rstos0_pattern() {
        // Zeek's /\^?S[^HAFGIQ]*R.*/ is case-sensitive: responder letters do not stop it.
        assert!(rstos0_history(b"SR"));
        assert!(rstos0_history(b"^SdR"));
        assert!(rstos0_history(b"SaR"));
        assert!(rstos0_history(b"ShR"));
        assert!(!rstos0_history(b"SAR"));
        assert!(!rstos0_history(b"SHR"));
        assert!(!rstos0_history(b"R"));
        assert!(!rstos0_history(b"S"));
    }

    #[test]
    fn seq_between_wraps() {
        assert!(seq_between(5, 1, 10));
        assert!(!seq_between(11, 1, 10));
        assert!(seq_between(2, 0xffff_fff0, 10));
    }
}
