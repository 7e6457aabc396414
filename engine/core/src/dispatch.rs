//! The dispatcher: reads packets, decodes just enough to find their connection, reassembles IP
//! fragments, and hands each packet to the worker that owns its connection (a symmetric hash, so both
//! directions meet in one worker). It also carries network time to every worker.
//!
//! Zeek expires timers against one global network time before each packet. To give every worker that
//! same sequence of clock values, whatever the number of workers, each batch carries the distinct
//! network times seen since the previous batch to that worker ("marks"), and the worker advances its
//! clock through all of them in order. Timers therefore fire at exactly the network times they would in
//! a single Zeek process, which is what makes the logs independent of the number of workers.
//!
//! With several workers, packets that may carry a tunnel go through the dispatcher's own carrier worker,
//! which analyses their carrying levels and sends the innermost packet to the worker of the innermost
//! connection ([`crate::tunnels`]).

use crate::config::EngineConfig;
use crate::key::{lane_hash, pair_hash};
use crate::logs::WeirdOut;
use crate::tunnels::InnerPacket;
use crate::worker::{icmp_counterpart, Forward, PacketRef, TunnelWalk, Worker};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;
use weir_capture::mapped::prefetch;
use weir_capture::Window;
use weir_decode::frag::{self, Reassembler};
use weir_decode::proto::TCP;
use weir_decode::quick::tcp_tuple;
use weir_decode::{decode_frame_wire, decode_ip, DecodeWeird, Decoded, LinkMeta, LinkType, Stop, Transport};

/// Hash slots of a worker on a thread of its own, against worker 0's one (see `Dispatcher::shares`).
/// Chosen so that, with 2 workers on the generated workload, both threads execute about as many
/// instructions (callgrind, 100,000 packets): with 2 slots the reading thread and worker 1 run 200 M
/// and 196 M instructions with analyzers off, 243 M and 276 M with all of them (3 slots: 170 M / 227 M
/// and 199 M / 320 M). Timed runs agree (bench/RESULTS.md, "Two workers").
const THREAD_WORKER_SLOTS: usize = 2;

/// Packets per batch before it is sent.
const BATCH_PACKETS: usize = 256;
/// Bytes of packet data per batch before it is sent.
const BATCH_BYTES: usize = 256 * 1024;
/// Clock marks a batch may hold before it is sent even without packets, so an idle worker's clock
/// keeps moving and the batch stays small.
const BATCH_MARKS: usize = 4096;
/// Clock marks between the reading thread's reports of worker 0's and the carrier's progress to the
/// run-wide registry ([`crate::ordered::Registry`]).
const SYNC_MARKS: u32 = 64;

#[derive(Clone, Copy, Debug)]
pub struct Meta {
    pub ts: f64,
    pub seq: u64,
    pub link: LinkType,
    pub off: u32,
    pub len: u32,
    pub wire_len: u32,
    /// Index in `marks` of the network time when this packet is processed.
    pub mark: u32,
    pub reassembled: Option<LinkMeta>,
    /// 1 + the index in `Batch::inner` of an innermost packet handed over by the carrier; 0 for others.
    pub inner: u32,
    /// 0: the packet's bytes are `data[off..off + len]`; `k`: they are at `off` in `windows[k - 1]`.
    pub window: u32,
}

/// A batch of packets for one worker, with the clock marks up to its last packet. Recycled.
///
/// A packet of a file read through mappings is not copied: the batch holds the mapping's window and the
/// packet's place in it. Other packets (standard input, reassembled fragments, several merged inputs)
/// are copied into `data`.
#[derive(Default)]
pub struct Batch {
    pub metas: Vec<Meta>,
    pub data: Vec<u8>,
    pub windows: Vec<Arc<Window>>,
    pub marks: Vec<f64>,
    pub inner: Vec<InnerPacket>,
}

impl Batch {
    fn clear(&mut self) {
        self.metas.clear();
        self.data.clear();
        self.windows.clear();
        self.marks.clear();
        self.inner.clear();
    }

    /// The bytes a packet's `off` and `len` index into: the batch's own, or a window's.
    fn bytes_of(&self, m: &Meta) -> &[u8] {
        match m.window {
            0 => &self.data,
            k => self.windows.get(k as usize - 1).map_or(&[][..], |w| w.bytes()),
        }
    }

    fn is_due(&self) -> bool {
        self.metas.len() >= BATCH_PACKETS || self.data.len() >= BATCH_BYTES || self.marks.len() >= BATCH_MARKS
    }
}

/// Runs a batch through a worker: advance the clock through each mark, process each packet at its mark.
pub fn run_batch(w: &mut Worker, b: &Batch) {
    let mut mi = 0usize;
    for (k, m) in b.metas.iter().enumerate() {
        // Marks before this packet's: advance and finish each (no packet of ours at them).
        while mi < m.mark as usize && mi < b.marks.len() {
            w.advance(b.marks[mi]);
            w.after(b.marks[mi]);
            mi += 1;
        }
        // This packet's own mark: advance once; `after` runs once all its packets are done.
        if mi == m.mark as usize && mi < b.marks.len() {
            w.advance(b.marks[mi]);
            mi += 1;
        }
        // The packet after next is asked for now, its headers first: in a mapped input nothing has
        // brought its bytes into this core's cache.
        if let Some(n) = b.metas.get(k + 2) {
            let (bytes, off) = (b.bytes_of(n), n.off as usize);
            prefetch(bytes, off);
            prefetch(bytes, off + 64);
        }
        let data = b
            .bytes_of(m)
            .get(m.off as usize..m.off as usize + m.len as usize)
            .unwrap_or(&[]);
        let p = PacketRef {
            ts: m.ts,
            now: b.marks.get(m.mark as usize).copied().unwrap_or(m.ts),
            seq: m.seq,
            link: m.link,
            data,
            reassembled: m.reassembled,
            wire_len: m.wire_len,
            l4_checksummed: false,
            inner: (m.inner as usize).checked_sub(1).and_then(|i| b.inner.get(i)),
        };
        w.packet(&p);
        if b.metas.get(k + 1).is_none_or(|n| n.mark != m.mark) {
            w.after(p.now);
        }
    }
    while mi < b.marks.len() {
        w.advance(b.marks[mi]);
        w.after(b.marks[mi]);
        mi += 1;
    }
    // The next batch may hold more packets at the last mark: events before it are all out.
    if let Some(&last) = b.marks.last() {
        w.sync_run_state(last);
    }
}

/// Where packets go: an in-thread worker (one worker), or several workers: worker 0 on the
/// dispatcher's own thread (it gets its packets without a copy or a second decode, and the reading
/// thread does a share of the analysis instead of waiting), the others on threads fed with batches.
pub enum Lanes {
    Inline(Box<Worker>, Batch),
    Threads {
        /// Workers 1.. (`tx[i - 1]`, `current[i - 1]` for worker `i`).
        tx: Vec<SyncSender<Batch>>,
        back: Receiver<Batch>,
        current: Vec<Batch>,
        /// Worker 0.
        local: Box<Worker>,
        /// Analyses the carrying levels of tunnelled packets (shares `Tunnel::active` as source 0).
        carrier: Box<Worker>,
    },
}

/// What [`Dispatcher::finish`] hands back.
pub struct Finished {
    /// The workers that ran on the dispatcher's thread (the inline worker, or worker 0), finished.
    pub workers: Vec<Worker>,
    /// The tunnel carrier, finished (several workers).
    pub carrier: Option<Worker>,
    pub out: WeirdOut,
    pub frags: frag::Stats,
}

pub struct Dispatcher {
    cfg: Arc<EngineConfig>,
    lanes: Lanes,
    frags: Reassembler,
    weirds: Vec<DecodeWeird>,
    out: WeirdOut,
    /// Which worker each hash slot goes to. Worker 0 shares the dispatcher's thread, which also reads and
    /// decodes every packet, so it gets one slot to every other worker's [`THREAD_WORKER_SLOTS`], so that
    /// the threads carry closer to the same load.
    shares: Vec<u16>,
    /// Network time: the largest timestamp so far.
    now: f64,
    /// The mapping of the input the current packet lies in (several workers only).
    window: Option<Arc<Window>>,
    pub seq: u64,
    pub frag_scratch: Vec<u8>,
    /// Marks since worker 0 and the carrier last told the run-wide registry how far they are.
    unsynced_marks: u32,
}

impl Dispatcher {
    pub fn new(cfg: Arc<EngineConfig>, lanes: Lanes, out: WeirdOut) -> Dispatcher {
        // A private copy, so the per-packet `Arc` clones do not share a reference count with workers.
        let cfg = Arc::new((*cfg).clone());
        let frags = Reassembler::new(frag::Config {
            timeout: cfg.frag_timeout,
            max_in_flight: cfg.max_frag_datagrams,
            ..frag::Config::default()
        });
        let shares = match &lanes {
            Lanes::Inline(..) => vec![0],
            Lanes::Threads { tx, .. } => {
                let mut v = vec![0u16];
                for i in 1..=tx.len() {
                    v.extend(std::iter::repeat_n(i as u16, THREAD_WORKER_SLOTS));
                }
                v
            }
        };
        Dispatcher {
            cfg,
            lanes,
            frags,
            weirds: Vec::new(),
            out,
            shares,
            now: f64::NEG_INFINITY,
            window: None,
            seq: 0,
            frag_scratch: Vec::new(),
            unsynced_marks: 0,
        }
    }

    /// One captured packet; `window` is the mapping of the input file it lies in, if any (a packet for a
    /// worker thread is then handed over in place instead of copied).
    pub fn packet(&mut self, ts: f64, link: LinkType, data: &[u8], wire_len: u32, window: Option<&Arc<Window>>) {
        if let (Some(w), Lanes::Threads { .. }) = (window, &self.lanes) {
            // A new window every few thousand packets: one reference count per window, not per packet.
            if !self.window.as_ref().is_some_and(|cur| Arc::ptr_eq(cur, w)) {
                self.window = Some(Arc::clone(w));
            }
        } else {
            self.window = None;
        }
        self.packet_inner(ts, link, data, wire_len);
        if let Lanes::Inline(w, _) = &mut self.lanes {
            w.after(self.now);
        }
    }

    /// One captured frame: a packet, or one per 802.11 A-MSDU subframe Zeek analyses (each a packet of its
    /// own, decoded from the subframes left as [`LinkType::AMSDU_SUBFRAMES`]).
    fn packet_inner(&mut self, ts: f64, link: LinkType, data: &[u8], wire_len: u32) {
        let (mut link, mut data, mut wire_len) = (link, data, wire_len);
        loop {
            let rest = self.packet_one(ts, link, data, wire_len);
            if rest.is_empty() {
                return;
            }
            let before = (data.len() - rest.len()) as u32;
            (link, data, wire_len) = (LinkType::AMSDU_SUBFRAMES, rest, wire_len.saturating_sub(before));
        }
    }

    /// One packet; returns the A-MSDU subframes left after it ([`Decoded::amsdu_rest`]).
    fn packet_one<'a>(&mut self, ts: f64, link: LinkType, data: &'a [u8], wire_len: u32) -> &'a [u8] {
        let seq = self.seq;
        self.seq += 1;
        // Zeek's network time never goes back, and starts at no less than 1.0: its timer manager reports
        // time 1 before it has advanced (`TimerMgr::Time`), and network time is the larger of the two.
        let floor = if self.now == f64::NEG_INFINITY { 1.0 } else { self.now };
        let now = ts.max(floor);
        if now != self.now {
            let prev = self.now;
            self.now = now;
            self.push_mark(prev, now);
        }
        let threads = matches!(self.lanes, Lanes::Threads { .. });
        // The lane of a plain TCP segment, from its headers alone (the full decode finds the same
        // endpoints: the fuzz target `quick` holds tcp_tuple to that).
        let mut quick_lane = None;
        if let Some(t) = threads
            .then(|| tcp_tuple(&self.cfg.decode, link, data, wire_len as usize))
            .flatten()
        {
            // A plain TCP segment for a worker thread: it decodes the packet itself, so the reading
            // thread only reads the endpoints. (Worker 0's packets are decoded here, below, once.)
            let lane = self.slot(lane_hash(t.src, t.src_port, t.dst, t.dst_port, TCP));
            if lane != 0 {
                self.enqueue(lane, ts, seq, link, data, wire_len, None, None);
                return &[];
            }
            quick_lane = Some(lane);
        }
        let mut d = Decoded::default();
        self.weirds.clear();
        let res = decode_frame_wire(
            &self.cfg.decode,
            link,
            data,
            wire_len as usize,
            &mut d,
            &mut self.weirds,
        );
        let rest = d.amsdu_rest;
        let now = self.now;
        if res.is_err() {
            // Nothing for a worker to do: the dispatcher logs what went wrong.
            if res == Err(Stop::Malformed) {
                for w in self.weirds.drain(..) {
                    self.out.decode_weird(now, &w);
                }
            }
            return rest;
        }
        if let Some(ip) = d.ip.filter(|ip| ip.frag.is_some()) {
            // A fragment: the workers never see it; its weirds are logged here.
            for w in self.weirds.drain(..) {
                self.out.decode_weird(now, &w);
            }
            let link_meta = d.link;
            let Some(datagram) = self.frags.add(now, &ip, &mut self.weirds) else {
                for w in self.weirds.drain(..) {
                    self.out.decode_weird(now, &w);
                }
                return rest;
            };
            for w in self.weirds.drain(..) {
                self.out.decode_weird(now, &w);
            }
            let mut d2 = Decoded {
                link: link_meta,
                ..Decoded::default()
            };
            let mut quiet = Vec::new();
            let decoded = decode_ip(&self.cfg.decode, &datagram, &mut d2, &mut quiet);
            let len = datagram.len() as u32;
            if decoded.is_ok() && self.carries_tunnel(&d2) {
                let p = PacketRef {
                    ts,
                    now,
                    seq,
                    link: LinkType::RAW,
                    data: &datagram,
                    reassembled: Some(link_meta),
                    wire_len: len,
                    l4_checksummed: false,
                    inner: None,
                };
                self.carrier_packet(&p, &d2, &quiet);
                return rest;
            }
            let lane = if decoded.is_ok() { self.lane_of(&d2) } else { 0 };
            self.enqueue(lane, ts, seq, LinkType::RAW, &datagram, len, Some(link_meta), None);
            return rest;
        }
        let p = PacketRef {
            ts,
            now,
            seq,
            link,
            data,
            reassembled: None,
            wire_len,
            l4_checksummed: false,
            inner: None,
        };
        if let Lanes::Inline(w, _) = &mut self.lanes {
            // One worker: hand it this decode instead of decoding again.
            w.packet_decoded(&p, Ok(()), &d, &self.weirds);
            return rest;
        }
        if self.carries_tunnel(&d) {
            let weirds = core::mem::take(&mut self.weirds);
            self.carrier_packet(&p, &d, &weirds);
            self.weirds = weirds;
            return rest;
        }
        let lane = quick_lane.unwrap_or_else(|| self.lane_of(&d));
        if let (0, Lanes::Threads { local, .. }) = (lane, &mut self.lanes) {
            local.packet_decoded(&p, Ok(()), &d, &self.weirds);
            return rest;
        }
        self.enqueue(lane, ts, seq, link, data, wire_len, None, None);
        rest
    }

    /// Several workers and a packet that may carry a tunnel: for the carrier.
    fn carries_tunnel(&self, d: &Decoded<'_>) -> bool {
        matches!(self.lanes, Lanes::Threads { .. }) && self.cfg.tunnels && weir_decode::tunnel::may_be_tunnel(d)
    }

    /// The carrier analyses the packet's carrying levels; its innermost packets (one per 802.11 A-MSDU
    /// subframe inside) go to the workers of the innermost connections, with what the carrier found out
    /// about the levels around them.
    fn carrier_packet(&mut self, p: &PacketRef<'_>, d: &Decoded<'_>, weirds: &[DecodeWeird]) {
        let mut walk = TunnelWalk::default();
        let mut first = true;
        loop {
            let Lanes::Threads { carrier, .. } = &mut self.lanes else {
                return;
            };
            // The carrier holds no TCP connection, so it takes no capture-loss measurements (no `after`).
            let next = if first {
                carrier.carrier_packet(p, d, weirds, &mut walk)
            } else {
                carrier.carrier_next(p, &mut walk)
            };
            first = false;
            let Some(f) = next else {
                return;
            };
            let lane = self.lane_of(&f.decoded);
            let Forward {
                link,
                data,
                wire_len,
                inner,
                ..
            } = f;
            self.enqueue(lane, p.ts, p.seq, link, data, wire_len as u32, None, Some(inner));
        }
    }

    /// The worker for a packet's connection: a slot of [`Dispatcher::shares`] by the connection's hash.
    fn lane_of(&self, d: &Decoded<'_>) -> usize {
        self.slot(flow_hash(d))
    }

    /// The worker of the slot a connection's hash picks.
    fn slot(&self, hash: u64) -> usize {
        if self.shares.len() <= 1 {
            return 0;
        }
        // The hash's high bits scaled to the slot count (a multiplication, where `%` is a division that
        // cost a fifth of the dispatcher's time per packet); `lane_hash` mixes every bit into them.
        let slot = ((u128::from(hash) * self.shares.len() as u128) >> 64) as usize;
        self.shares[slot] as usize
    }

    /// Network time moves from `prev` to `now`.
    fn push_mark(&mut self, prev: f64, now: f64) {
        match &mut self.lanes {
            Lanes::Inline(w, _) => w.advance(now),
            Lanes::Threads {
                tx,
                back,
                current,
                local,
                carrier,
            } => {
                // Worker 0 is done with `prev` (as `run_batch` finishes each mark), then moves on.
                if prev.is_finite() {
                    local.after(prev);
                }
                local.advance(now);
                carrier.advance(now);
                // Events before `now` are all out of these two (the packets at `now` are still to come).
                // Said every SYNC_MARKS marks, not at every one (a store and a look at every source's
                // progress per packet): saying it later only delays when the run-wide events of all
                // threads are applied, never their order.
                self.unsynced_marks += 1;
                if self.unsynced_marks >= SYNC_MARKS {
                    self.unsynced_marks = 0;
                    local.sync_run_state(now);
                    carrier.sync_run_state(now);
                }
                for i in 0..current.len() {
                    current[i].marks.push(now);
                    if current[i].marks.len() >= BATCH_MARKS {
                        send(tx, back, current, i);
                    }
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn enqueue(
        &mut self,
        lane: usize,
        ts: f64,
        seq: u64,
        link: LinkType,
        data: &[u8],
        wire_len: u32,
        re: Option<LinkMeta>,
        inner: Option<InnerPacket>,
    ) {
        match &mut self.lanes {
            Lanes::Inline(w, _) | Lanes::Threads { local: w, .. } if lane == 0 => {
                let p = PacketRef {
                    ts,
                    now: self.now,
                    seq,
                    link,
                    data,
                    reassembled: re,
                    wire_len,
                    l4_checksummed: false,
                    inner: inner.as_ref(),
                };
                w.packet(&p);
            }
            Lanes::Inline(..) => {}
            Lanes::Threads { tx, back, current, .. } => {
                let lane = lane - 1;
                let b = &mut current[lane];
                let inner = match inner {
                    Some(i) => {
                        b.inner.push(i);
                        b.inner.len() as u32
                    }
                    None => 0,
                };
                let in_window = self
                    .window
                    .as_ref()
                    .and_then(|w| Some((w, u32::try_from(w.place(data)?).ok()?)));
                let (window, off) = match in_window {
                    Some((w, at)) => {
                        if !b.windows.last().is_some_and(|last| Arc::ptr_eq(last, w)) {
                            b.windows.push(Arc::clone(w));
                        }
                        (b.windows.len() as u32, at)
                    }
                    None => {
                        let off = b.data.len() as u32;
                        b.data.extend_from_slice(data);
                        (0, off)
                    }
                };
                let mark = b.marks.len().saturating_sub(1) as u32;
                b.metas.push(Meta {
                    ts,
                    seq,
                    link,
                    off,
                    len: data.len() as u32,
                    wire_len,
                    mark,
                    reassembled: re,
                    inner,
                    window,
                });
                if b.is_due() {
                    send(tx, back, current, lane);
                }
            }
        }
    }

    /// End of input: flush every batch, let the workers finish, log what the dispatcher holds.
    pub fn finish(self) -> Finished {
        let frags = self.frags.stats();
        let mut out = self.out;
        out.flush();
        match self.lanes {
            Lanes::Inline(mut w, _) => {
                w.finish();
                Finished {
                    workers: vec![*w],
                    carrier: None,
                    out,
                    frags,
                }
            }
            Lanes::Threads {
                tx,
                back,
                mut current,
                mut local,
                mut carrier,
            } => {
                for i in 0..current.len() {
                    send(&tx, &back, &mut current, i);
                }
                drop(tx);
                drop(back);
                if self.now.is_finite() {
                    local.after(self.now);
                }
                for w in [&mut local, &mut carrier] {
                    w.finish();
                    w.sync_run_state(f64::INFINITY);
                }
                Finished {
                    workers: vec![*local],
                    carrier: Some(*carrier),
                    out,
                    frags,
                }
            }
        }
    }
}

/// Which of `n` workers owns a decoded packet's connection: a symmetric hash of its 5-tuple (ICMP:
/// type and counterpart type; one-way ICMP and other protocols: the address pair).
pub fn flow_lane(d: &Decoded<'_>, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    (flow_hash(d) % n as u64) as usize
}

/// The symmetric hash [`flow_lane`] spreads connections with (0 for packets without an IP header).
pub fn flow_hash(d: &Decoded<'_>) -> u64 {
    let Some(ip) = d.ip else { return 0 };
    match d.transport {
        Some(Transport::Tcp(t)) => lane_hash(ip.src, t.src_port, ip.dst, t.dst_port, ip.proto),
        Some(Transport::Udp(u)) => lane_hash(ip.src, u.src_port, ip.dst, u.dst_port, ip.proto),
        Some(Transport::Icmp(i)) => {
            let (c, one_way) = icmp_counterpart(i.v6, i.icmp_type, i.code);
            if one_way {
                // A one-way ICMP message is its own connection; any worker will do, the pair's is as good.
                pair_hash(ip.src, ip.dst)
            } else {
                lane_hash(ip.src, i.icmp_type as u16, ip.dst, c, ip.proto)
            }
        }
        _ => pair_hash(ip.src, ip.dst),
    }
}

fn send(tx: &[SyncSender<Batch>], back: &Receiver<Batch>, current: &mut [Batch], lane: usize) {
    let mut fresh = back.try_recv().unwrap_or_default();
    fresh.clear();
    // A worker's marks continue from the last one sent: the first mark of the new batch is the clock
    // the worker will already have reached, which is harmless to repeat.
    if let Some(&last) = current[lane].marks.last() {
        fresh.marks.push(last);
    }
    let full = core::mem::replace(&mut current[lane], fresh);
    // A worker that has gone away (panicked) can take nothing more; its packets are lost and the run
    // reports the failure when it joins the thread.
    let _ = tx[lane].send(full);
}
