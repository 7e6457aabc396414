//! A worker: one thread's share of the connections, everything it needs to process its packets
//! (decoder scratch, flow table, timers, weird policy, log handle), and nothing shared.
//!
//! Mirrors Zeek's `IPBasedAnalyzer::AnalyzePacket` (find or create the connection, detect reuse, work
//! out direction) and the TCP/UDP/ICMP/unknown-transport analyzers' `DeliverPacket`.

use crate::analysis::{Analysis, Env, WorkerStates};
use crate::community_id;
use crate::config::EngineConfig;
use crate::conn::{Conn, ConnCore, ConnKind, DatagramState, WeirdSource};
use crate::flows::{ConnRef, FlowTable};
use crate::key::ConnKey;
use crate::logs::{conn_row, WeirdOut};
use crate::ordered::{Event, EventKey, Registry, PHASE_END, PHASE_PACKET, PHASE_TIMERS};
use crate::tcp::{Segment, TcpSession};
use crate::tunnels::{
    apply_level_info, InnerPacket, IpTunnel, TunnelCid, TunnelEvent, UdpTuple, WorkerTunnelState, TUNNEL_MAX_CHANGES,
};
use crate::uid::Uid;
use core::net::IpAddr;
use std::sync::Arc;
use weir_api::Transport as ApiTransport;
use weir_api::Weird;
use weir_decode::{checksum, decode_frame_wire, decode_ip, DecodeWeird, Decoded, LinkMeta, LinkType, Transport};
use weir_reassembly::{Budget, Event as ReEvent, Reassembler};

/// One packet handed to a worker.
#[derive(Clone, Copy, Debug)]
pub struct PacketRef<'a> {
    /// The packet's own timestamp.
    pub ts: f64,
    /// Network time when the packet is processed: the largest timestamp seen so far (Zeek never lets
    /// network time go back).
    pub now: f64,
    /// Position in the input (the first packet is 0): makes uids reproducible.
    pub seq: u64,
    pub link: LinkType,
    /// The frame, or for a reassembled datagram the IP datagram.
    pub data: &'a [u8],
    /// For reassembled datagrams: the link-layer facts of the first fragment, and `data` starts at IP.
    pub reassembled: Option<LinkMeta>,
    /// The frame's length on the wire (may exceed `data.len()` when the capture was cut short).
    pub wire_len: u32,
    /// The capture layer vouches for the transport checksum (Zeek's `l4_checksummed`, e.g. AF_PACKET's
    /// kernel checksum mode): it is not verified again.
    pub l4_checksummed: bool,
    /// The innermost packet of an encapsulated one, handed over by the carrier (see [`crate::tunnels`]):
    /// `data` is the innermost frame, its carriers have been analysed already.
    pub inner: Option<&'a InnerPacket>,
}

/// An encapsulated packet's innermost level, for the worker that owns its connection.
pub struct Forward<'a> {
    /// The innermost frame's first layer, bytes and wire length.
    pub link: LinkType,
    pub data: &'a [u8],
    pub wire_len: usize,
    /// The innermost frame decoded (to find its worker).
    pub decoded: Decoded<'a>,
    pub inner: InnerPacket,
}

/// A tunnelled packet being analysed level by level, kept between [`Worker::carrier_packet`] and
/// [`Worker::carrier_next`] (an 802.11 A-MSDU inside gives one innermost packet per subframe).
pub struct TunnelWalk<'a> {
    decap: weir_decode::tunnel::Decap<'a>,
    /// The carriers entered so far, outermost first (no allocation: at most one per level).
    chain: [(Uid, TunnelCid); weir_decode::tunnel::MAX_LEVELS],
    /// The innermost carrier and the chain's length on entering each level (where a subframe resumes).
    entry: [(Option<(Uid, TunnelCid)>, usize); weir_decode::tunnel::MAX_LEVELS + 1],
    /// The level the walk starts from, the subframe it is at, and whether the next walk first moves on
    /// to the next subframe.
    start: usize,
    subframe: u16,
    resume: bool,
}

impl Default for TunnelWalk<'_> {
    fn default() -> Self {
        TunnelWalk {
            decap: weir_decode::tunnel::Decap::default(),
            chain: [(Uid::default(), TunnelCid::NONE); weir_decode::tunnel::MAX_LEVELS],
            entry: [(None, 0); weir_decode::tunnel::MAX_LEVELS + 1],
            start: 0,
            subframe: 0,
            resume: false,
        }
    }
}

/// Counters a worker keeps.
#[derive(Clone, Copy, Debug, Default)]
pub struct WorkerStats {
    pub packets: u64,
    pub bytes: u64,
    /// Of `packets`: innermost packets of tunnels, handed over by the carrier.
    pub tunnelled: u64,
    pub not_ip: u64,
    pub malformed: u64,
    pub connections: u64,
    /// Connections created, by transport.
    pub tcp_conns: u64,
    pub udp_conns: u64,
    pub icmp_conns: u64,
    pub evicted: u64,
    /// The most connections tracked at once.
    pub peak_connections: u64,
    /// The most bytes the worker's TCP reassemblers held at once (its budget's peak).
    pub reassembly_peak: u64,
    /// TCP bytes above holes given up, or refused, to stay within the reassembly budget.
    pub reassembly_given_up: u64,
}

pub struct Worker {
    cfg: Arc<EngineConfig>,
    flows: FlowTable,
    weirds_buf: Vec<DecodeWeird>,
    out: WeirdOut,
    states: WorkerStates,
    /// Reassembly memory of all this worker's connections, and Zeek's gap statistics.
    budget: Budget,
    /// capture_loss.log's measurement schedule and the rows it produced, when enabled.
    loss: Option<weir_reassembly::capture_loss::Scheduler>,
    loss_rows: Vec<weir_reassembly::capture_loss::Measurement>,
    /// Zeek's IP-tunnel table (`Tunnel::active` is run-wide state: see [`crate::ordered`]).
    ip_tunnels: std::collections::HashMap<((IpAddr, IpAddr), bool), IpTunnel>,
    /// The connection created (or whose tunnel parents changed) by the last `conn_level` call.
    last_new: Option<ConnRef>,
    /// Which 802.11 A-MSDU subframe of a tunnelled frame is being analysed (0: the first, or none): keeps
    /// the uids of connections that one frame's subframes create apart.
    subframe: u64,
    pub stats: WorkerStats,
    now: f64,
}

impl Worker {
    pub fn new(cfg: Arc<EngineConfig>, out: WeirdOut) -> Worker {
        // A private copy: the per-packet `Arc` clones then touch a reference count no other thread
        // shares (a shared one costs a cache-line transfer per packet).
        let cfg = Arc::new((*cfg).clone());
        let budget = Budget::new(cfg.reassembly_worker_limit, cfg.reassembly_direction_limit);
        let loss = cfg
            .capture_loss
            .clone()
            .map(weir_reassembly::capture_loss::Scheduler::new);
        let flows = FlowTable::new(cfg.max_flows);
        Worker {
            cfg,
            flows,
            weirds_buf: Vec::with_capacity(8),
            out,
            states: WorkerStates::default(),
            loss,
            loss_rows: Vec::new(),
            ip_tunnels: std::collections::HashMap::new(),
            last_new: None,
            subframe: 0,
            budget,
            stats: WorkerStats::default(),
            now: 0.0,
        }
    }

    /// Shares the run-wide state (`Tunnel::active`, log de-duplication) with the other threads of a run
    /// through `reg`, as its source `source` (see [`crate::ordered`]).
    pub fn share_run_state(&mut self, reg: Arc<Registry>, source: usize) {
        self.states.book.share(reg, source);
    }

    /// Hands this worker's run-wide events to the shared registry: it has processed every packet and
    /// timer before network time `upto`.
    pub fn sync_run_state(&mut self, upto: f64) {
        self.states.book.sync(upto);
    }

    /// Advances network time to `now`, firing every timer due (Zeek's `expire_timers` before each packet).
    /// Inlined: it runs at every clock mark (with several workers, every worker sees every mark), and at
    /// almost all of them nothing is due, which a look at the timer queue's head tells.
    #[inline]
    pub fn advance(&mut self, now: f64) {
        if now > self.now {
            self.now = now;
        }
        let now = self.now;
        self.states.book.at = EventKey::at(now, PHASE_TIMERS);
        if self.flows.timer_due(now) {
            self.fire_timers(now);
        }
    }

    #[inline(never)]
    fn fire_timers(&mut self, now: f64) {
        while let Some(r) = self.flows.next_due(now) {
            let mut remove = fire_conn_timers(self.flows.get_mut(r), now, &self.cfg);
            if !remove {
                remove = self.fire_analyzer_timers(r, now);
            }
            if remove {
                self.remove_and_log(r);
            } else {
                self.flows.reschedule(r);
            }
        }
    }

    /// Analyzer timers due at `now` (Zeek's `ADD_ANALYZER_TIMER`). True = remove the connection.
    fn fire_analyzer_timers(&mut self, r: ConnRef, now: f64) -> bool {
        let cfg = &*self.cfg;
        let c = self.flows.get_mut(r);
        if !c
            .analysis
            .as_ref()
            .and_then(|a| a.next_deadline())
            .is_some_and(|t| t <= now)
        {
            return false;
        }
        let Conn { core, kind, analysis } = c;
        let Some((transport, size, partial)) = analysis_view(kind) else {
            return false;
        };
        let Some(an) = analysis.as_deref_mut() else {
            return false;
        };
        let mut env = Env {
            reg: &cfg.registry,
            core,
            out: &mut self.out,
            states: &mut self.states,
            transport,
            now,
            pkt_ts: now,
            size,
            partial,
        };
        an.fire_timers(&mut env, now).remove
    }

    /// After the packet (if any) processed at network time `now`: scheduled measurements that are due
    /// (Zeek runs the event after the packet, so its counters include it).
    #[inline]
    pub fn after(&mut self, now: f64) {
        let due = self.loss.as_ref().and_then(|s| s.next_deadline());
        if due.is_some_and(|d| d <= now) {
            self.measure_loss(now);
        }
    }

    #[inline(never)]
    fn measure_loss(&mut self, now: f64) {
        if let Some(s) = self.loss.as_mut() {
            let rows = s.after_packet(now, &self.budget.gaps);
            self.loss_rows.extend(rows);
        }
    }

    /// capture_loss.log measurements so far (taken at the end of input by `finish`).
    pub fn take_capture_loss(&mut self) -> Vec<weir_reassembly::capture_loss::Measurement> {
        core::mem::take(&mut self.loss_rows)
    }

    /// Processes one packet (network time must already have been advanced to `p.now`).
    pub fn packet(&mut self, p: &PacketRef<'_>) {
        let cfg = &*self.cfg;
        let mut d = Decoded::default();
        self.weirds_buf.clear();
        if let Some(inner) = p.inner {
            self.stats.packets += 1;
            self.stats.tunnelled += 1;
            self.stats.bytes += p.data.len() as u64;
            // The carrier decoded this frame already and logged its weirds.
            let wire = p.wire_len as usize;
            if decode_frame_wire(&cfg.decode, p.link, p.data, wire, &mut d, &mut self.weirds_buf).is_ok() {
                self.inner_packet(p, &d, inner);
            }
            return;
        }
        let res = match p.reassembled {
            Some(meta) => {
                d.link = meta;
                decode_ip(&cfg.decode, p.data, &mut d, &mut self.weirds_buf)
            }
            None => decode_frame_wire(
                &cfg.decode,
                p.link,
                p.data,
                p.wire_len as usize,
                &mut d,
                &mut self.weirds_buf,
            ),
        };
        let weirds = core::mem::take(&mut self.weirds_buf);
        self.packet_decoded(p, res, &d, &weirds);
        self.weirds_buf = weirds;
    }

    /// Processes a packet the caller has already decoded (the single-worker dispatcher decodes once),
    /// with the decoder's result and weirds.
    pub fn packet_decoded(
        &mut self,
        p: &PacketRef<'_>,
        res: Result<(), weir_decode::Stop>,
        d: &Decoded<'_>,
        weirds: &[DecodeWeird],
    ) {
        self.stats.packets += 1;
        self.stats.bytes += p.data.len() as u64;
        for w in weirds {
            self.out.decode_weird(p.now, w);
        }
        match res {
            Ok(()) => {}
            Err(weir_decode::Stop::NotIp) => {
                self.stats.not_ip += 1;
                return;
            }
            Err(weir_decode::Stop::Malformed) => {
                self.stats.malformed += 1;
                return;
            }
        }
        self.at_packet(p);
        if self.cfg.tunnels && weir_decode::tunnel::may_be_tunnel(d) {
            self.tunnel_packet(p, d);
            return;
        }
        self.conn_level(p, d, 0, None);
    }

    /// A packet that may carry a tunnel, for the dispatcher's carrier worker: its carrying levels are
    /// analysed here; its innermost connection, if any, is returned for the worker that owns it. An
    /// 802.11 A-MSDU inside has more: [`Worker::carrier_next`] with the same `walk` returns them.
    pub fn carrier_packet<'a>(
        &mut self,
        p: &PacketRef<'a>,
        d: &Decoded<'a>,
        weirds: &[DecodeWeird],
        walk: &mut TunnelWalk<'a>,
    ) -> Option<Forward<'a>> {
        self.stats.packets += 1;
        self.stats.bytes += p.data.len() as u64;
        for w in weirds {
            self.out.decode_weird(p.now, w);
        }
        self.at_packet(p);
        self.tunnel_start(p, d, walk);
        self.tunnel_walk(p, walk, true)
    }

    /// The next innermost connection of the packet [`Worker::carrier_packet`] started `walk` with (the
    /// next A-MSDU subframe's), or None when there is none left.
    pub fn carrier_next<'a>(&mut self, p: &PacketRef<'a>, walk: &mut TunnelWalk<'a>) -> Option<Forward<'a>> {
        self.tunnel_walk(p, walk, true)
    }

    /// The innermost level of an encapsulated packet whose carriers another worker analysed: what
    /// [`Worker::tunnel_packet`] does at that level.
    fn inner_packet(&mut self, p: &PacketRef<'_>, d: &Decoded<'_>, inner: &InnerPacket) {
        self.at_packet(p);
        self.subframe = u64::from(inner.subframe);
        let conn = self.conn_level(p, d, inner.level as usize, inner.parent);
        self.subframe = 0;
        if let Some(r) = conn {
            apply_level_info(&mut self.flows.get_mut(r).core, &inner.info);
            self.flush_weirds(r, p.now);
        }
        if self.last_new.take().is_some() {
            for &(uid, cid) in inner.chain() {
                self.register_tunnel(uid, cid);
            }
        }
    }

    fn at_packet(&mut self, p: &PacketRef<'_>) {
        self.states.book.at = EventKey {
            seq: p.seq,
            ..EventKey::at(p.now, PHASE_PACKET)
        };
    }

    /// Zeek's tunnel packet analyzers: every level of an encapsulated packet is analysed (the carrying
    /// connections, then the inner one), inner connections get `tunnel_parents`, tunnels are logged; an
    /// 802.11 A-MSDU found inside repeats the levels from its own for each further subframe.
    fn tunnel_packet<'a>(&mut self, p: &PacketRef<'a>, d: &Decoded<'a>) {
        let mut walk = TunnelWalk::default();
        self.tunnel_start(p, d, &mut walk);
        self.tunnel_walk(p, &mut walk, false);
    }

    /// Decapsulates `d` into `walk`.
    fn tunnel_start<'a>(&mut self, p: &PacketRef<'a>, d: &Decoded<'a>, walk: &mut TunnelWalk<'a>) {
        let missing = (p.wire_len as usize).saturating_sub(p.data.len());
        let decap = &mut walk.decap;
        self.decap_step(p, |cfg, st, weirds| {
            weir_decode::tunnel::decapsulate(&cfg.decode, &cfg.tunnel, d, missing, st, decap, weirds);
            Some(0)
        });
    }

    /// Analyses the levels of `walk` (and of the A-MSDU subframes found inside). With `forward`, the
    /// innermost level is not analysed here but returned (see [`crate::tunnels`]); call again for the
    /// next one.
    fn tunnel_walk<'a>(&mut self, p: &PacketRef<'a>, walk: &mut TunnelWalk<'a>, forward: bool) -> Option<Forward<'a>> {
        loop {
            if walk.resume {
                // The next A-MSDU subframe found inside, if any: the levels from its own on again.
                let decap = &mut walk.decap;
                let level = self.decap_step(p, |cfg, st, weirds| {
                    weir_decode::tunnel::next_subframe(&cfg.decode, &cfg.tunnel, st, decap, weirds)
                })?;
                walk.start = level;
                walk.subframe = walk.subframe.wrapping_add(1);
            }
            walk.resume = true;
            self.subframe = u64::from(walk.subframe);
            let f = self.walk_levels(p, walk, forward);
            self.subframe = 0;
            if f.is_some() {
                return f;
            }
        }
    }

    /// The levels of `walk` from `walk.start` to the innermost.
    fn walk_levels<'a>(&mut self, p: &PacketRef<'a>, walk: &mut TunnelWalk<'a>, forward: bool) -> Option<Forward<'a>> {
        let decap = &walk.decap;
        let (mut parent, mut chain_len) = walk.entry[walk.start];
        for level in walk.start..=decap.depth {
            walk.entry[level] = (parent, chain_len);
            if level == decap.depth && decap.inner_result.is_err() {
                break;
            }
            let lvl = decap.levels[level];
            if forward && level == decap.depth && level > 0 {
                let (Some(ip), Some(_)) = (lvl.ip, lvl.transport) else {
                    break;
                };
                if !makes_connection(ip.proto) {
                    break;
                }
                let (link, data, wire_len) = decap.inner_frame?;
                let outer_full = p.reassembled.is_some() || p.wire_len as usize <= p.data.len();
                let chain = &walk.chain[..level.min(chain_len)];
                let mut inner = InnerPacket::new(level, parent.map(|x| x.0), chain, decap.infos[level], outer_full);
                inner.subframe = walk.subframe;
                return Some(Forward {
                    link,
                    data,
                    wire_len,
                    decoded: lvl,
                    inner,
                });
            }
            let carrier = self.conn_level(p, &lvl, level, parent.map(|x| x.0));
            if let Some(r) = carrier {
                // What the tunnel analyzer did to this level's (carrying) connection.
                apply_level_info(&mut self.flows.get_mut(r).core, &decap.infos[level]);
                self.flush_weirds(r, p.now);
            }
            if level < decap.depth {
                let enc = decap.encaps[level];
                let next = if enc.is_udp_conn() {
                    carrier.map(|r| {
                        let c = &mut self.flows.get_mut(r).core;
                        // Its removal closes the tunnel if the tunnel is active then (`finalize_tunnel`).
                        c.tunnel_registered = true;
                        (
                            c.uid,
                            TunnelCid {
                                orig_h: c.orig_h,
                                orig_p: c.orig_p,
                                resp_h: c.resp_h,
                                resp_p: c.resp_p,
                                proto: 17,
                                kind: enc.kind,
                            },
                        )
                    })
                } else {
                    Some(self.ip_tunnel(p, level, &enc))
                };
                if let Some(n) = next {
                    walk.chain[chain_len] = n;
                    chain_len += 1;
                }
                parent = next;
            }
            // A new connection inside tunnels registers the whole chain (Zeek's Tunnel::register_all).
            if level > 0 {
                if self.last_new.take().is_some() {
                    for i in 0..level.min(chain_len) {
                        let (uid, cid) = walk.chain[i];
                        self.register_tunnel(uid, cid);
                    }
                }
            }
            self.last_new = None;
        }
        None
    }

    /// One step of decapsulation with this worker's connection state; its weirds are logged.
    fn decap_step(
        &mut self,
        p: &PacketRef<'_>,
        step: impl FnOnce(&EngineConfig, &mut WorkerTunnelState<'_>, &mut Vec<DecodeWeird>) -> Option<usize>,
    ) -> Option<usize> {
        let cfg = &*self.cfg;
        let mut weirds = core::mem::take(&mut self.weirds_buf);
        weirds.clear();
        let r = {
            let mut st = WorkerTunnelState { flows: &mut self.flows };
            step(cfg, &mut st, &mut weirds)
        };
        for w in &weirds {
            self.out.decode_weird(p.now, w);
        }
        self.weirds_buf = weirds;
        r
    }

    /// Zeek's `IPTunnelAnalyzer::ip_tunnels`: IP and GRE tunnels keyed by their address pair, with the
    /// first packet's direction and a uid of their own; expired after `Tunnel::ip_tunnel_timeout`.
    fn ip_tunnel(&mut self, p: &PacketRef<'_>, level: usize, enc: &weir_decode::tunnel::Encap) -> (Uid, TunnelCid) {
        let key = (enc.ip_pair(), enc.kind == weir_decode::tunnel::TunnelType::Gre);
        let now = p.now;
        let seed = self.cfg.seed;
        let e = self.ip_tunnels.entry(key).or_insert_with(|| IpTunnel {
            uid: Uid::new(seed, p.seq, 100 + level as u64),
            cid: TunnelCid {
                orig_h: enc.src,
                orig_p: 0,
                resp_h: enc.dst,
                resp_p: 0,
                proto: enc.proto,
                kind: enc.kind,
            },
            last: now,
        });
        if now - e.last > weir_decode::tunnel::IP_TUNNEL_TIMEOUT {
            e.uid = Uid::new(seed, p.seq, 100 + level as u64);
            e.cid = TunnelCid {
                orig_h: enc.src,
                orig_p: 0,
                resp_h: enc.dst,
                resp_p: 0,
                proto: enc.proto,
                kind: enc.kind,
            };
        }
        e.last = now;
        (e.uid, e.cid)
    }

    /// Tunnel::register: a DISCOVER row the first time a tunnel is seen (until it is closed).
    fn register_tunnel(&mut self, uid: Uid, cid: TunnelCid) {
        self.tunnel_event(TunnelEvent::Register(uid, cid), 1);
    }

    /// A tunnel event at the worker's current point of work: applied at once, or recorded for the
    /// shared registry. `sub` orders removals (0) before registrations (1) within one level.
    fn tunnel_event(&mut self, ev: TunnelEvent, sub: u8) {
        self.states.book.event(Event::Tunnel(ev), sub, &mut self.out);
    }

    /// One level's packet: find or create its connection and analyse the packet on it (Zeek's
    /// `IPBasedAnalyzer::AnalyzePacket` and the transport analyzers). Returns the connection.
    fn conn_level(&mut self, p: &PacketRef<'_>, d: &Decoded<'_>, level: usize, parent: Option<Uid>) -> Option<ConnRef> {
        self.last_new = None;
        self.states.book.at.level = level as u8;
        // Borrowed, not copied out of `d` (the IP packet and transport headers are a few hundred bytes).
        let (Some(ip), Some(tr)) = (&d.ip, &d.transport) else {
            return None;
        };
        if !makes_connection(ip.proto) {
            return None;
        }
        let (sport, dport, one_way) = match tr {
            Transport::Tcp(t) => (t.src_port, t.dst_port, false),
            Transport::Udp(u) => (u.src_port, u.dst_port, false),
            Transport::Icmp(i) => {
                let (counter, one_way) = icmp_counterpart(i.v6, i.icmp_type, i.code);
                (i.icmp_type as u16, counter, one_way)
            }
            Transport::Other(..) => (0, 0, false),
        };
        let key = ConnKey::new(ip.src, sport, ip.dst, dport, ip.proto, one_way);

        let r = match self.flows.find(&key) {
            None => self.new_conn(p, key, ip.src, sport, ip.dst, dport, ip.proto, tr, level),
            Some(r) => {
                let reuse = match (&mut self.flows.get_mut(r).kind, tr) {
                    (ConnKind::Tcp(_), Transport::Tcp(t)) => {
                        let c = self.flows.get_mut(r);
                        let ConnKind::Tcp(s) = &mut c.kind else { unreachable!() };
                        let reuse = s.is_reuse(&mut c.core, p.ts, t, &self.cfg.tcp);
                        if reuse {
                            // The weird belongs to the old connection, logged with it.
                            self.flush_weirds(r, p.now);
                        }
                        reuse
                    }
                    _ => false,
                };
                if reuse {
                    self.remove_and_log(r);
                    self.new_conn(p, key, ip.src, sport, ip.dst, dport, ip.proto, tr, level)
                } else {
                    r
                }
            }
        };

        // Borrowed, not cloned: an `Arc` clone is two atomic operations per packet.
        let cfg = &*self.cfg;
        let c = self.flows.get_mut(r);
        // Zeek's set_conn at new_connection, and Connection::CheckEncapsulation for existing ones: a
        // change of encapsulation raises tunnel_changed (the new innermost uid joins tunnel_parents, the
        // chain is registered) up to Tunnel::max_changes_per_connection times, then a weird and `X`.
        if self.last_new == Some(r) {
            c.core.encap = parent;
            if let Some(u) = parent {
                c.core.tunnel_parents.push(u);
            }
        } else if c.core.encap != parent {
            c.core.encap = parent;
            if c.core.tunnel_changes >= TUNNEL_MAX_CHANGES {
                c.core.weird(
                    Weird::tunnel_max_changes_per_connection_exceeded,
                    Some("5"),
                    WeirdSource::None,
                );
                c.core.check_history(0x400, b'X');
            } else {
                c.core.tunnel_changes += 1;
                if let Some(u) = parent {
                    if !c.core.tunnel_parents.contains(&u) {
                        c.core.tunnel_parents.push(u);
                    }
                    self.last_new = Some(r);
                }
            }
        }
        let is_orig = ip.src == c.core.orig_h && sport == c.core.orig_p;
        c.core.tunnel_last_dir = if is_orig { 1 } else { 2 };
        // ConnSize adds Zeek's `IP_Hdr::TotalLen()`, the header's own length field: 0 for a segment whose
        // length was zeroed by segmentation offload (which the decoder otherwise measures from the capture).
        let ip_len = header_total_len(ip);
        // Zeek's payload length, from the IP length fields; 0 means segmentation offload, use what we have.
        let ip_payload_len = (ip.total_len as i64 - ip.hdr_len as i64).max(0);
        let captured = ip.payload.len() as i64;
        let skip_cksum = cfg.ignore_checksums || p.l4_checksummed || cfg.ignore_checksums_nets.contains(ip.src);
        // Zeek validates UDP checksums only when the frame was captured whole (`pkt->len <= pkt->cap_len`).
        let full_frame = match p.inner {
            Some(i) => i.outer_full,
            None => p.reassembled.is_some() || p.wire_len as usize <= p.data.len(),
        };
        match (&mut c.kind, tr) {
            (ConnKind::Tcp(s), Transport::Tcp(t)) => {
                let len_total = if ip.total_len == 0 { captured } else { ip_payload_len };
                let len = len_total - t.hdr_len as i64;
                let caplen = captured - t.hdr_len as i64;
                // TCPAnalyzer::ExtractTCP_Header: the connection exists, but a segment whose header
                // does not fit is not analysed (and not counted).
                if t.hdr_len < 20 {
                    c.core.weird(Weird::bad_TCP_header_len, None, WeirdSource::Tcp);
                } else if len < 0 || caplen < 0 {
                    c.core.weird(Weird::truncated_header, None, WeirdSource::Tcp);
                } else if !skip_cksum && caplen >= len && !checksum::transport_ok(ip) {
                    c.core.weird(Weird::bad_TCP_checksum, None, WeirdSource::Tcp);
                    s.checksum_error(&mut c.core, is_orig);
                } else {
                    let seg = Segment {
                        tcp: t,
                        len,
                        caplen,
                        now: p.ts,
                    };
                    let mut pr = s.process(&mut c.core, is_orig, &seg, &cfg.tcp);
                    // ConnSize is a packet child of the TCP adapter: it counts after Process, with the
                    // direction as it stands after any flip.
                    c.core.count_packet(pr.is_orig, ip_len);
                    let data = t
                        .payload
                        .get(..(len.max(0) as usize).min(t.payload.len()))
                        .unwrap_or(&[]);
                    let close = pr.take_close();
                    let flip = if s.reasm.is_some() {
                        stream_reassembled(
                            cfg,
                            &mut self.budget,
                            &mut self.out,
                            &mut self.states,
                            &mut c.core,
                            s,
                            c.analysis.as_deref_mut(),
                            &pr,
                            len,
                            data,
                            close,
                            (p.now, p.ts),
                        )
                    } else {
                        let mut flip = false;
                        if let Some(an) = c.analysis.as_deref_mut() {
                            let size = s.orig_size() + s.resp_size();
                            let mut env = Env {
                                reg: &cfg.registry,
                                core: &mut c.core,
                                out: &mut self.out,
                                states: &mut self.states,
                                transport: ApiTransport::Tcp,
                                now: p.now,
                                pkt_ts: p.ts,
                                size,
                                partial: s.is_partial(),
                            };
                            if pr.stream_ok {
                                if caplen >= len {
                                    flip |= an.segment(&mut env, pr.is_orig, pr.rel_data_seq, data).flip;
                                } else {
                                    env.core.weird(Weird::truncated_tcp_payload, None, WeirdSource::Tcp);
                                }
                            }
                            if pr.fin || pr.rst {
                                flip |= an.end_of_data(&mut env, pr.is_orig).flip;
                            }
                        }
                        s.finish(&mut c.core, close, false, &cfg.tcp);
                        flip
                    };
                    if flip {
                        // The connection core already flipped when the analyzer asked.
                        s.flip_roles();
                        if let Some(an) = c.analysis.as_deref_mut() {
                            an.flip_roles();
                        }
                    }
                }
            }
            (ConnKind::Udp(st), Transport::Udp(u)) => {
                let len = if ip_payload_len == 0 { captured } else { ip_payload_len };
                let mut validate = !skip_cksum && captured >= len && full_frame;
                if validate && u.checksum == 0 && cfg.vxlan_ports.contains(&u.dst_port) {
                    validate = false;
                }
                let bad = validate && !(ip.version == 4 && u.checksum == 0) && !checksum::transport_ok(ip);
                if bad {
                    c.core.weird(Weird::bad_UDP_checksum, None, WeirdSource::Udp);
                    if is_orig {
                        c.core.scaled_history(b'C', &mut st.req_chk_cnt, &mut st.req_chk_thresh);
                    } else {
                        c.core.scaled_history(b'c', &mut st.rep_chk_cnt, &mut st.rep_chk_thresh);
                    }
                } else {
                    let ulen = u.length as i64;
                    if ulen != len {
                        let addl = format!("{ulen} != {len}");
                        c.core
                            .weird(Weird::UDP_datagram_length_mismatch, Some(&addl), WeirdSource::Udp);
                    }
                    c.core.last_time = p.ts;
                    if is_orig {
                        c.core.check_history(0x1, b'D');
                    } else {
                        c.core.check_history(0x2, b'd');
                    }
                    st.update_length(is_orig, ulen - 8);
                    // ConnSize sees the packet when the UDP analyzer forwards it, after the checksum check.
                    c.core.count_packet(is_orig, ip_len);
                    if let Some(an) = c.analysis.as_deref_mut() {
                        let size = (st.req_len.max(0) + st.rep_len.max(0)) as u64;
                        let mut env = Env {
                            reg: &cfg.registry,
                            core: &mut c.core,
                            out: &mut self.out,
                            states: &mut self.states,
                            transport: ApiTransport::Udp,
                            now: p.now,
                            pkt_ts: p.ts,
                            size,
                            partial: false,
                        };
                        // Zeek forwards min(len, captured) bytes of payload.
                        let n = ((len - 8).max(0) as usize).min(u.payload.len());
                        let req = an.packet(&mut env, is_orig, &u.payload[..n]);
                        if req.flip {
                            an.flip_roles();
                        }
                        if req.flip_before_count {
                            // The flip swapped this packet's count to the other side; Zeek counts it
                            // after the flip, with its pre-flip direction.
                            c.core.uncount_packet(!is_orig, ip_len);
                            c.core.count_packet(is_orig, ip_len);
                        }
                    }
                }
            }
            (ConnKind::Icmp(st), Transport::Icmp(i)) => {
                let len = if ip_payload_len == 0 { captured } else { ip_payload_len };
                if !skip_cksum && captured >= len && !checksum::transport_ok(ip) {
                    c.core.weird(Weird::bad_ICMP_checksum, None, WeirdSource::Icmp);
                } else {
                    c.core.last_time = p.ts;
                    st.update_length(is_orig, len - 8);
                    if i.v6 {
                        icmp6_weirds(&mut c.core, i);
                    }
                    if captured >= len {
                        c.core.count_packet(is_orig, ip_len);
                    }
                }
            }
            (ConnKind::Other, Transport::Other(..)) => {
                c.core.last_time = p.ts;
                c.core.count_packet(is_orig, ip_len);
            }
            _ => {}
        }
        self.flush_weirds(r, p.now);
        self.flows.reschedule(r);
        Some(r)
    }

    #[allow(clippy::too_many_arguments)]
    fn new_conn(
        &mut self,
        p: &PacketRef<'_>,
        key: ConnKey,
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        proto: u8,
        tr: &Transport<'_>,
        level: usize,
    ) -> ConnRef {
        if self.flows.is_full() {
            if let Some(victim) = self.flows.eviction_candidate() {
                self.stats.evicted += 1;
                self.flows.evictions += 1;
                self.remove_and_log(victim);
            }
        }
        self.stats.connections += 1;
        match tr {
            Transport::Tcp(_) => self.stats.tcp_conns += 1,
            Transport::Udp(_) => self.stats.udp_conns += 1,
            Transport::Icmp(_) => self.stats.icmp_conns += 1,
            Transport::Other(..) => {}
        }
        let cfg = &self.cfg;
        // A packet can create one connection per tunnel level: the level keeps their uids apart.
        let uid = Uid::new(cfg.seed, p.seq, level as u64 | self.subframe << 8);
        let mut core = ConnCore::new(key, uid, src, sport, dst, dport, proto, p.ts);
        let (kind, flip) = match tr {
            Transport::Tcp(t) => {
                let f = t.flags;
                let mut flip = false;
                let syn = f & weir_decode::tcp_flags::SYN != 0;
                let ack = f & weir_decode::tcp_flags::ACK != 0;
                if (!syn || ack) && cfg.is_likely_server_port(6, sport) {
                    flip = if cfg.is_likely_server_port(6, dport) {
                        !syn && sport < dport
                    } else {
                        true
                    };
                }
                // TCPAnalyzer::MakeSessionAdapter sets the UDP inactivity timeout until the handshake ends.
                core.set_inactivity_timeout(cfg.udp_inactivity_timeout);
                (ConnKind::Tcp(Box::new(TcpSession::new(p.now, &cfg.tcp))), flip)
            }
            Transport::Udp(_) => {
                core.set_inactivity_timeout(cfg.udp_inactivity_timeout);
                let flip = cfg.is_likely_server_port(17, sport) && !cfg.is_likely_server_port(17, dport);
                (ConnKind::Udp(DatagramState::default()), flip)
            }
            Transport::Icmp(_) => {
                core.set_inactivity_timeout(cfg.icmp_inactivity_timeout);
                (ConnKind::Icmp(DatagramState::default()), false)
            }
            Transport::Other(..) => {
                core.set_inactivity_timeout(cfg.unknown_ip_inactivity_timeout);
                (ConnKind::Other, false)
            }
        };
        let transport = match kind {
            ConnKind::Tcp(_) => Some(ApiTransport::Tcp),
            ConnKind::Udp(_) => Some(ApiTransport::Udp),
            _ => None,
        };
        let mut conn = Conn {
            core,
            kind,
            analysis: None,
        };
        if flip && !crate::site::is_broadcast(conn.core.resp_h) {
            conn.core.flip_roles();
            if let ConnKind::Tcp(s) = &mut conn.kind {
                s.flip_roles();
            }
        }
        // Analyzers attach by the responder port as it stands after the initial flip (Zeek's
        // BuildSessionAnalyzerTree runs after FlipRoles).
        if let Some(t) = transport {
            conn.analysis = Analysis::new(&cfg.registry, t, conn.core.resp_p);
        }
        // TCPSessionAdapter::AddExtraAnalyzers: reassemble when an analyzer is attached or
        // `dpd_reassemble_first_packets` says so (Zeek's default).
        if let ConnKind::Tcp(s) = &mut conn.kind {
            if conn.analysis.is_some() {
                s.reasm = Some(Box::new([Reassembler::new(), Reassembler::new()]));
            } else if cfg.reassemble_all {
                // Nobody reads the bytes: track sequence ranges only (the same gaps, history and
                // weirds as full reassembly, without holding data).
                s.reasm = Some(Box::new([Reassembler::tracking(), Reassembler::tracking()]));
            }
        }
        let r = self.flows.insert(conn);
        self.stats.peak_connections = self.stats.peak_connections.max(self.flows.len() as u64);
        self.last_new = Some(r);
        r
    }

    /// Inlined up to the check: almost no packet leaves a weird behind.
    #[inline]
    fn flush_weirds(&mut self, r: ConnRef, now: f64) {
        if !self.flows.get_mut(r).core.pending_weirds.is_empty() {
            self.log_pending_weirds(r, now);
        }
    }

    #[inline(never)]
    fn log_pending_weirds(&mut self, r: ConnRef, now: f64) {
        let c = self.flows.get_mut(r);
        let pending = core::mem::take(&mut c.core.pending_weirds);
        for w in &pending {
            self.out.conn_weird(now, &c.core, w);
        }
        let mut pending = pending;
        pending.clear();
        c.core.pending_weirds = pending;
    }

    fn remove_and_log(&mut self, r: ConnRef) {
        let mut conn = self.flows.remove(r);
        self.close_tunnel(&conn);
        self.conn_done(&mut conn);
        self.log_conn(&conn);
    }

    /// Zeek's `finalize_tunnel` removal hook: a UDP tunnel closes with its carrying connection.
    fn close_tunnel(&mut self, conn: &Conn) {
        if conn.core.tunnel_registered {
            self.tunnel_event(TunnelEvent::Close(UdpTuple::of(&conn.core)), 0);
        }
    }

    /// The analyzers' last word before the connection is logged (Zeek's `Done`).
    fn conn_done(&mut self, conn: &mut Conn) {
        let Conn { core, kind, analysis } = conn;
        if let ConnKind::Tcp(s) = kind {
            if analysis.is_none() {
                reassembly_done(&self.cfg, &mut self.budget, core, s);
                return;
            }
        }
        let Some(an) = analysis.as_deref_mut() else { return };
        let Some((transport, size, partial)) = analysis_view(kind) else {
            return;
        };
        let mut env = Env {
            reg: &self.cfg.registry,
            core,
            out: &mut self.out,
            states: &mut self.states,
            transport,
            now: self.now,
            pkt_ts: self.now,
            size,
            partial,
        };
        an.done(&mut env);
        // Zeek's TCPSessionAdapter::Done: the analyzers are done first, then the endpoints'
        // reassemblers, whose last gaps still count in missed_bytes.
        if let ConnKind::Tcp(s) = kind {
            reassembly_done(&self.cfg, &mut self.budget, core, s);
        }
    }

    fn log_conn(&mut self, conn: &Conn) {
        let cid = self
            .cfg
            .community_id_seed
            .map(|seed| community_id::compute(seed, &conn.core));
        conn_row(&mut self.out, &self.cfg, conn, cid.as_deref());
    }

    /// End of input: every remaining connection is logged as it stands (Zeek's `Drain` at exit).
    pub fn finish(&mut self) {
        self.states.book.at = EventKey::at(self.now, PHASE_END);
        if let Some(s) = self.loss.as_mut() {
            let rows = s.finish(self.now, &self.budget.gaps);
            self.loss_rows.extend(rows);
        }
        for mut conn in self.flows.drain() {
            self.close_tunnel(&conn);
            self.conn_done(&mut conn);
            self.log_conn(&conn);
        }
        self.out.flush();
        let b = &self.budget.stats;
        self.stats.reassembly_peak = b.peak;
        self.stats.reassembly_given_up = b.evicted_undelivered_bytes + b.refused_bytes;
    }

    /// Open connections by transport (TCP, UDP, ICMP), for stats.log.
    pub fn open_by_transport(&self) -> (u64, u64, u64) {
        self.flows.count_by_transport()
    }

    /// Bytes held by this worker's TCP reassemblers (stats.log's `reassem_tcp_size`).
    pub fn reassembly_bytes(&self) -> u64 {
        self.budget.used()
    }

    pub fn open_connections(&self) -> usize {
        self.flows.len()
    }
}

/// IGMP has a packet analyzer in Zeek that makes no connection; IP protocols 4, 41 and 47 are tunnels,
/// never connections.
fn makes_connection(proto: u8) -> bool {
    !matches!(proto, 2 | 4 | 41 | 47)
}

/// Fires the timers of one connection that are due at `now`, earliest first. True = remove it.
fn fire_conn_timers(c: &mut Conn, now: f64, cfg: &EngineConfig) -> bool {
    loop {
        let tcp_next = match &c.kind {
            ConnKind::Tcp(s) => s.next_deadline(),
            _ => None,
        };
        let inact = c.core.inactivity_at;
        let next = match (tcp_next, inact) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(x) => x,
                None => return false,
            },
        };
        if next > now {
            return false;
        }
        if inact == Some(next) {
            if c.core.inactivity_timer(now) {
                return true;
            }
            continue;
        }
        if let ConnKind::Tcp(s) = &mut c.kind {
            if s.fire_timers(&c.core, now, &cfg.tcp) {
                return true;
            }
        }
    }
}

/// Zeek's `ICMP4_counterpart` / `ICMP6_counterpart`: the type of the answer, or the code for one-way
/// messages.
pub fn icmp_counterpart(v6: bool, t: u8, code: u8) -> (u16, bool) {
    let c: Option<u8> = if !v6 {
        match t {
            8 => Some(0),
            0 => Some(8),
            13 => Some(14),
            14 => Some(13),
            15 => Some(16),
            16 => Some(15),
            10 => Some(9),
            9 => Some(10),
            17 => Some(18),
            18 => Some(17),
            _ => None,
        }
    } else {
        match t {
            128 => Some(129),
            129 => Some(128),
            133 => Some(134),
            134 => Some(133),
            135 => Some(136),
            136 => Some(135),
            130 => Some(131),
            131 => Some(130),
            139 => Some(140),
            140 => Some(139),
            144 => Some(145),
            145 => Some(144),
            _ => None,
        }
    };
    match c {
        Some(c) => (c as u16, false),
        None => (code as u16, true),
    }
}

/// The IP header's length field as Zeek's `TotalLen()` reads it: IPv4 total length, IPv6 payload length + 40.
fn header_total_len(ip: &weir_decode::IpPacket<'_>) -> u64 {
    let field = |i: usize| ip.raw.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]) as u64);
    if ip.version == 4 {
        field(2).unwrap_or(ip.total_len as u64)
    } else {
        field(4).map(|p| p + 40).unwrap_or(ip.total_len as u64)
    }
}

/// The ICMPv6 weirds Zeek's ICMP analyzer raises whatever scripts are loaded (MLD reports; the
/// neighbour-discovery option weirds are raised only when a script handles those events, so not here).
fn icmp6_weirds(core: &mut ConnCore, i: &weir_decode::IcmpHeader<'_>) {
    // Zeek's `data` starts after the 8-byte ICMP header; our payload starts after the first 4 bytes.
    let data = i.payload.get(4..).unwrap_or(&[]);
    match i.icmp_type {
        // MLD_LISTENER_REPORT, MLD_LISTENER_DONE
        131 | 132 if data.len() < 16 => core.weird(Weird::truncated_ICMPv6_MLDv1, None, WeirdSource::Icmp),
        // MLDV2_LISTENER_REPORT
        143 => {
            let records = i
                .payload
                .get(2..4)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .unwrap_or(0) as usize;
            if data.len() < records * 20 {
                core.weird(Weird::truncated_ICMPv6_MLDv2, None, WeirdSource::Icmp);
                return;
            }
            let mut rest = data;
            for _ in 0..records {
                if rest.is_empty() {
                    break;
                }
                if rest.len() < 4 {
                    core.weird(Weird::truncated_ICMPv6_MLDv2_record, None, WeirdSource::Icmp);
                    break;
                }
                let aux_len = rest[1] as usize * 4;
                let sources = u16::from_be_bytes([rest[2], rest[3]]) as usize;
                rest = &rest[4..];
                let need = 16 + sources * 16 + aux_len;
                if rest.len() < need {
                    core.weird(Weird::truncated_ICMPv6_MLDv2_record, None, WeirdSource::Icmp);
                    break;
                }
                // Zeek steps over the address and the sources; the aux data is not skipped.
                rest = &rest[16 + sources * 16..];
            }
        }
        _ => {}
    }
}

/// Zeek's stream steps of `TCPSessionAdapter::Process` for one segment, with reassembly: the peer's
/// `AckReceived`, the sender's `DataSent`, `CheckEOF`, then `ConnectionClosed` (deferred while data is
/// pending, carried out at the endpoint's EOF). Returns whether an analyzer asked for a flip.
#[allow(clippy::too_many_arguments)]
fn stream_reassembled(
    cfg: &EngineConfig,
    budget: &mut Budget,
    out: &mut crate::logs::WeirdOut,
    states: &mut WorkerStates,
    core: &mut ConnCore,
    s: &mut TcpSession,
    mut analysis: Option<&mut Analysis>,
    pr: &crate::tcp::Processed,
    len: i64,
    data: &[u8],
    close: Option<crate::tcp::PendingClose>,
    (now, ts): (f64, f64),
) -> bool {
    let i = TcpSession::index(pr.is_orig);
    let p = 1 - i;
    let mut flip = false;
    let mut eof = [false; 2];
    // As the segment left the session (before `finish`); only analyzers read them.
    let size = if analysis.is_some() {
        s.orig_size() + s.resp_size()
    } else {
        0
    };
    let partial = s.is_partial();
    // The analyzers' view of this segment's connection, for one call (only built with analyzers).
    macro_rules! stream_env {
        ($core:expr) => {
            Env {
                reg: &cfg.registry,
                core: &mut *$core,
                out: &mut *out,
                states: &mut *states,
                transport: ApiTransport::Tcp,
                now,
                pkt_ts: ts,
                size,
                partial,
            }
        };
    }
    // Handles the reassembler's events for endpoint `k`, whose `info` the caller computed.
    let mut step =
        |s: &mut TcpSession,
         k: usize,
         info: &weir_reassembly::EndpointInfo,
         core: &mut ConnCore,
         analysis: &mut Option<&mut Analysis>,
         call: &mut dyn FnMut(&mut Reassembler, &weir_reassembly::EndpointInfo, &mut dyn FnMut(ReEvent<'_>))| {
            let is_orig = info.is_orig;
            let Some(r) = s.reasm.as_deref_mut() else { return };
            call(&mut r[k], info, &mut |ev| match ev {
                ReEvent::Data { .. } | ReEvent::Undelivered { .. } => {
                    let Some(an) = analysis.as_deref_mut() else { return };
                    let mut env = stream_env!(core);
                    let req = match ev {
                        ReEvent::Data { data, .. } => an.stream_data(&mut env, is_orig, data),
                        ReEvent::Undelivered { seq, len } => an.stream_gap(&mut env, is_orig, seq, len),
                        _ => Default::default(),
                    };
                    flip |= req.flip;
                }
                ReEvent::ContentGap { len, .. } => core.missed_bytes += len,
                ReEvent::History { code, .. } => core.add_history(code),
                ReEvent::Weird(w) => core.weird(w, None, WeirdSource::Tcp),
                ReEvent::EndpointEof => eof[k] = true,
                _ => {}
            });
        };
    let rcfg = &cfg.reassembly;
    // Most ACKs acknowledge nothing new (every data segment carries one): skip building the info.
    let stale = |s: &TcpSession, ack| s.reasm.as_deref().is_none_or(|r| r[p].ack_is_stale(s.fin_seq(p), ack));
    if let Some(ack) = pr.rel_ack.filter(|&ack| !stale(s, ack)) {
        let info = s.endpoint_info(p);
        step(s, p, &info, core, &mut analysis, &mut |r, info, cb| {
            r.ack_received(rcfg, budget, info, ack, &mut |ev| cb(ev))
        });
    }
    // Endpoint i's view, after the peer's ACK processing (peer_has_undelivered) and unchanged until
    // `finish`: the reassembler and the analyzers' callbacks do not touch the session's endpoints. Built
    // only when something reads it: data to add, a close to carry out or defer, or an endpoint that may
    // be at its end (`check_eof` does nothing before a FIN, a close or a reset). A bare ACK in an open
    // connection, a third of all packets, needs none of them.
    if pr.stream_ok || close.is_some() || s.may_be_at_eof(i) {
        let info = s.endpoint_info(i);
        if pr.stream_ok {
            step(s, i, &info, core, &mut analysis, &mut |r, info, cb| {
                r.data_sent(rcfg, budget, info, pr.rel_data_seq, len as u64, data, &mut |ev| cb(ev));
            });
        }
        step(s, i, &info, core, &mut analysis, &mut |r, info, cb| {
            r.check_eof(info, &mut |ev| cb(ev))
        });
        let pending = close.is_some() && s.reasm.as_deref().is_some_and(|r| r[i].data_pending(&info));
        s.finish(core, close, pending, &cfg.tcp);
    }
    for k in [i, p] {
        if eof[k] {
            let info = s.endpoint_info(k);
            if let Some(an) = analysis.as_deref_mut() {
                let mut env = stream_env!(core);
                flip |= an.end_of_data(&mut env, info.is_orig).flip;
            }
            let still = s.reasm.as_deref().is_some_and(|r| r[k].data_pending(&info));
            s.endpoint_eof(core, k, still, &cfg.tcp);
        }
    }
    flip
}

/// The endpoints' reassemblers at connection removal (Zeek's `TCP_Endpoint::Done`): last gaps
/// count in missed_bytes; their memory goes back to the worker's budget.
fn reassembly_done(cfg: &EngineConfig, budget: &mut Budget, core: &mut ConnCore, s: &mut TcpSession) {
    let Some(mut r) = s.reasm.take() else { return };
    for k in 0..2 {
        r[k].done(&cfg.reassembly, budget, &mut |ev| match ev {
            ReEvent::ContentGap { len, .. } => core.missed_bytes += len,
            ReEvent::History { code, .. } => core.add_history(code),
            ReEvent::Weird(w) => core.weird(w, None, WeirdSource::Tcp),
            _ => {}
        });
    }
}

/// What analyzers see of a connection's transport: which one, the bytes carried so far (for DPD's
/// `ignore_violations_after`), and whether a TCP connection is partial. None where no analyzer runs.
fn analysis_view(kind: &ConnKind) -> Option<(ApiTransport, u64, bool)> {
    match kind {
        ConnKind::Tcp(s) => Some((ApiTransport::Tcp, s.orig_size() + s.resp_size(), s.is_partial())),
        ConnKind::Udp(d) => Some((ApiTransport::Udp, (d.req_len.max(0) + d.rep_len.max(0)) as u64, false)),
        _ => None,
    }
}
