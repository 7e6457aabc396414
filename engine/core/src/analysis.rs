//! Application analyzers on connections: which analyzers a connection gets (well-known ports, DPD
//! probes), delivering payload to them (packets for UDP, an ordered stream for TCP), and what they
//! report back (confirmations → conn.log `service`, violations, weirds, log rows).
//!
//! The engine knows analyzers only through `weir_api::AnalyzerInfo`; the `weir` binary passes the
//! list it was built with, so a third-party analyzer plugs in the same way as ours.

use crate::conn::ConnCore;
use crate::logs::WeirdOut;
use std::any::Any;
use weir_api::log::Value;
use weir_api::{Analyzer, AnalyzerInfo, ConnInfo, Context, Probe, Settings, Transport, Weird};
use weir_logs::{WeirdEvent, WeirdName, WeirdScope};

/// Zeek's DPD (`DPD::ignore_violations_after`): violations on connections that have already carried
/// more than this many bytes do not detach the analyzer.
const IGNORE_VIOLATIONS_AFTER: u64 = 10 * 1024;

/// Zeek's `dpd_max_packets`: how many packets DPD looks at.
const DPD_MAX_PACKETS: u32 = 100;

/// Zeek's `dpd_buffer_size`: how many stream bytes DPD keeps to replay to an analyzer it attaches.
const DPD_BUFFER_SIZE: usize = 1024;

/// The analyzers of a run and their settings.
#[derive(Clone, Default)]
pub struct Registry {
    pub infos: Vec<&'static AnalyzerInfo>,
    pub settings: Settings,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.infos.iter().map(|i| i.name)).finish()
    }
}

impl Registry {
    /// Analyzers for a new connection: those registered for its responder port and transport.
    pub fn for_port(&self, t: Transport, resp_p: u16) -> Vec<usize> {
        (0..self.infos.len())
            .filter(|&i| self.infos[i].ports.contains(&(t, resp_p)))
            .collect()
    }

    /// Analyzers that may be detected on any port by probing the payload.
    pub fn probes(&self, t: Transport, attached: &[usize]) -> Vec<usize> {
        (0..self.infos.len())
            .filter(|&i| {
                self.infos[i].probe.is_some() && self.infos[i].transports.contains(&t) && !attached.contains(&i)
            })
            .collect()
    }

    /// Whether an analyzer accepts a setting name.
    pub fn accepts_setting(&self, name: &str) -> bool {
        self.infos.iter().any(|i| i.settings.contains(&name))
    }
}

struct Attached {
    idx: usize,
    /// Attached by well-known port (not by a DPD probe).
    by_port: bool,
    a: Box<dyn Analyzer>,
    confirmed: bool,
    timer_at: Option<f64>,
}

/// Per-direction stream position for TCP delivery: the next relative sequence number expected.
#[derive(Clone, Copy, Debug, Default)]
struct StreamPos {
    next: Option<u64>,
    ended: bool,
    probed: bool,
}

/// A connection's analyzers.
#[derive(Default)]
pub struct Analysis {
    attached: Vec<Attached>,
    /// Analyzers still being probed for (DPD), with whether each direction has been probed.
    probing: Vec<usize>,
    /// conn.log `service`, in confirmation order.
    pub service: Vec<&'static str>,
    /// Payloads probed so far (Zeek's `dpd_max_packets` bounds UDP probing).
    probed_packets: u32,
    stream: [StreamPos; 2],
    /// TCP: the stream chunks seen while probing (Zeek's PIA_TCP stream buffer), replayed to an analyzer
    /// DPD attaches so it sees both directions from their start, as Zeek's does.
    pia: PiaBuffer,
    /// Position of the first analyzer the last probe attached, until the buffer is replayed to it.
    new_attached: Option<usize>,
}

/// Zeek's PIA_TCP stream buffer: chunks in arrival order (direction, bytes; gaps as `None`) until
/// `dpd_buffer_size` bytes or `dpd_max_packets` chunks; past that, DPD stops matching on the connection
/// (`dpd_match_only_beginning`).
#[derive(Default)]
struct PiaBuffer {
    chunks: Vec<(bool, Option<Vec<u8>>, u64, u64)>,
    size: usize,
    skipping: bool,
}

impl PiaBuffer {
    /// Adds one chunk; returns whether DPD may still match on this chunk (it may on the one that overflows).
    fn add(&mut self, is_orig: bool, data: Option<&[u8]>, seq: u64, len: u64) -> bool {
        if self.skipping {
            return false;
        }
        self.size += data.map_or(0, <[u8]>::len);
        self.chunks.push((is_orig, data.map(<[u8]>::to_vec), seq, len));
        if self.size > DPD_BUFFER_SIZE || self.chunks.len() > DPD_MAX_PACKETS as usize {
            self.skipping = true;
        }
        true
    }
}

impl std::fmt::Debug for Analysis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analysis").field("service", &self.service).finish()
    }
}

/// Per-worker analyzer state (one slot per registered analyzer).
#[derive(Default)]
pub struct WorkerStates {
    slots: Vec<Option<Box<dyn Any + Send>>>,
    /// Run-wide state (log de-duplication) and where in one process's order of work the worker is.
    pub(crate) book: crate::ordered::Book,
}

/// Everything an analyzer call needs besides the analyzer.
pub struct Env<'a> {
    pub reg: &'a Registry,
    pub core: &'a mut ConnCore,
    pub out: &'a mut WeirdOut,
    pub states: &'a mut WorkerStates,
    pub transport: Transport,
    pub now: f64,
    pub pkt_ts: f64,
    /// Bytes the connection has carried (for `DPD::ignore_violations_after`).
    pub size: u64,
    /// TCP: no SYN seen from the originator (Zeek's `IsPartial`).
    pub partial: bool,
}

struct Cx<'e, 'a> {
    env: &'e mut Env<'a>,
    /// The connection's uid as text, rendered the first time an analyzer asks (most calls never do).
    uid: std::cell::OnceCell<([u8; 24], usize)>,
    idx: usize,
    confirmed: bool,
    violated: bool,
    flip: bool,
    remove: bool,
    timer: Option<Option<f64>>,
    service: &'e mut Vec<&'static str>,
}

impl<'e, 'a> Cx<'e, 'a> {
    fn new(env: &'e mut Env<'a>, idx: usize, confirmed: bool, service: &'e mut Vec<&'static str>) -> Cx<'e, 'a> {
        Cx {
            env,
            uid: std::cell::OnceCell::new(),
            idx,
            confirmed,
            violated: false,
            flip: false,
            remove: false,
            timer: None,
            service,
        }
    }
}

impl Context for Cx<'_, '_> {
    fn conn(&self) -> ConnInfo<'_> {
        ConnInfo {
            uid: {
                let (buf, len) = self.uid.get_or_init(|| {
                    let mut buf = [0u8; 24];
                    let len = self.env.core.uid.render(b'C', &mut buf).len();
                    (buf, len)
                });
                core::str::from_utf8(&buf[..*len]).unwrap_or("")
            },
            orig_h: self.env.core.orig_h,
            orig_p: self.env.core.orig_p,
            resp_h: self.env.core.resp_h,
            resp_p: self.env.core.resp_p,
            transport: self.env.transport,
            start_time: self.env.core.start_time,
        }
    }
    fn network_time(&self) -> f64 {
        self.env.now
    }
    fn packet_time(&self) -> f64 {
        self.env.pkt_ts
    }
    fn confirm(&mut self) {
        if !self.confirmed {
            self.confirmed = true;
            let name = self.env.reg.infos[self.idx].name;
            if !self.service.contains(&name) {
                self.service.push(name);
            }
        }
    }
    fn violation(&mut self, _reason: &str) {
        if self.env.size > IGNORE_VIOLATIONS_AFTER {
            return;
        }
        self.violated = true;
    }
    fn weird(&mut self, weird: Weird, addl: Option<&str>, source: &str) {
        self.env.core.did_weird = true;
        emit(self.env, WeirdName::Known(weird), addl, source);
    }
    fn weird_named(&mut self, name: &str, addl: Option<&str>, source: &str) {
        self.env.core.did_weird = true;
        emit(self.env, WeirdName::Other(name), addl, source);
    }
    fn log(&mut self, stream: &'static str, row: &[Option<Value<'_>>]) {
        self.env.out.write_named(stream, row);
    }
    fn log_once(
        &mut self,
        stream: &'static str,
        key: &[u8],
        at: f64,
        keep_for: f64,
        max_keys: usize,
        row: &[Option<Value<'_>>],
    ) {
        if keep_for <= 0.0 {
            return self.log(stream, row);
        }
        let Some(id) = self.env.out.named_stream(stream) else {
            return;
        };
        let mut line = Vec::new();
        self.env.out.handle.format(id, row, &mut line);
        let ev = crate::ordered::Event::LogOnce {
            stream: id,
            key: key.into(),
            at,
            keep_for,
            max_keys,
            line,
        };
        self.env.states.book.event(ev, 1, self.env.out);
    }
    fn history_once(&mut self, code: u8) {
        // Zeek's session-level masks for analyzer history letters (HIST_ANALYZER_LIMIT_REACHED = 0x400).
        let mask = match code {
            b'X' => 0x400,
            _ => 0x800 << (code & 7),
        };
        self.env.core.check_history(mask, code);
    }
    fn worker_state(&mut self) -> Option<&mut (dyn Any + Send)> {
        let factory = self.env.reg.infos[self.idx].worker_state?;
        let slots = &mut self.env.states.slots;
        if slots.len() < self.env.reg.infos.len() {
            slots.resize_with(self.env.reg.infos.len(), || None);
        }
        Some(slots[self.idx].get_or_insert_with(factory).as_mut())
    }
    fn flip_roles(&mut self) {
        // Zeek flips at once: what the analyzer reports afterwards (weirds) already sees the new
        // orientation. The caller flips the transport state and the analyzers when the call returns.
        self.env.core.flip_roles();
        self.flip = !self.flip;
    }
    fn set_timer(&mut self, at: f64) {
        self.timer = Some(Some(at));
    }
    fn remove_connection(&mut self) {
        self.remove = true;
    }
    fn last_time(&self) -> f64 {
        self.env.core.last_time
    }
    fn is_partial(&self) -> bool {
        self.env.partial
    }
}

fn emit(env: &mut Env<'_>, name: WeirdName<'_>, addl: Option<&str>, source: &str) {
    let c = &*env.core;
    let mut ubuf = [0u8; 24];
    let uid = c.uid.render(b'C', &mut ubuf);
    let scope = WeirdScope::Conn {
        uid,
        orig_h: c.orig_h,
        orig_p: c.orig_p,
        resp_h: c.resp_h,
        resp_p: c.resp_p,
    };
    env.out.emit_event(&WeirdEvent {
        ts: env.now,
        name,
        scope,
        addl,
        source,
    });
}

/// What a call asked the engine to do.
#[derive(Clone, Copy, Debug, Default)]
pub struct Requests {
    pub flip: bool,
    /// The flip came from an analyzer attached by port. Zeek adds those to the session adapter before
    /// ConnSize (DPD's come after it), so ConnSize then counts the packet with its pre-flip direction.
    pub flip_before_count: bool,
    /// An analyzer asked for the connection to be removed.
    pub remove: bool,
}

impl Analysis {
    /// The analysis of a new connection, or None when no analyzer could ever run on it.
    pub fn new(reg: &Registry, t: Transport, resp_p: u16) -> Option<Box<Analysis>> {
        let by_port = reg.for_port(t, resp_p);
        let probing = reg.probes(t, &by_port);
        if by_port.is_empty() && probing.is_empty() {
            return None;
        }
        let attached = by_port
            .into_iter()
            .map(|idx| Attached {
                idx,
                by_port: true,
                a: (reg.infos[idx].new)(&reg.settings),
                confirmed: false,
                timer_at: None,
            })
            .collect();
        Some(Box::new(Analysis {
            attached,
            probing,
            service: Vec::new(),
            probed_packets: 0,
            stream: Default::default(),
            pia: PiaBuffer::default(),
            new_attached: None,
        }))
    }

    /// Runs `f` on every attached analyzer, applying confirmations and violations.
    fn each(&mut self, env: &mut Env<'_>, f: impl FnMut(&mut dyn Analyzer, &mut dyn Context)) -> Requests {
        self.each_from(env, 0, f)
    }

    /// Runs `f` on the attached analyzers from position `first` on.
    fn each_from(
        &mut self,
        env: &mut Env<'_>,
        first: usize,
        mut f: impl FnMut(&mut dyn Analyzer, &mut dyn Context),
    ) -> Requests {
        let mut req = Requests::default();
        let mut i = first;
        while i < self.attached.len() {
            let at = &mut self.attached[i];
            let mut cx = Cx::new(env, at.idx, at.confirmed, &mut self.service);
            f(at.a.as_mut(), &mut cx);
            let (confirmed, violated, flip, remove, timer) = (cx.confirmed, cx.violated, cx.flip, cx.remove, cx.timer);
            at.confirmed = confirmed;
            req.flip |= flip;
            req.flip_before_count |= flip && at.by_port;
            req.remove |= remove;
            if let Some(t) = timer {
                at.timer_at = t;
            }
            if violated {
                // DPD disables the analyzer, and a service it had confirmed is removed again.
                let name = env.reg.infos[at.idx].name;
                self.service.retain(|s| *s != name);
                let mut gone = self.attached.remove(i);
                let mut cx = Cx::new(env, gone.idx, confirmed, &mut self.service);
                gone.a.done(&mut cx);
                continue;
            }
            i += 1;
        }
        req
    }

    /// DPD: probe the first payload of a direction for analyzers not attached by port.
    fn probe(&mut self, reg: &Registry, t: Transport, is_orig: bool, data: &[u8]) {
        if self.probing.is_empty() || data.is_empty() {
            return;
        }
        let first_new = self.attached.len();
        self.probed_packets += 1;
        let mut keep = Vec::new();
        for &idx in &self.probing {
            let Some(probe) = reg.infos[idx].probe else { continue };
            let verdict = probe(t, is_orig, data);
            // Zeek's PIA_UDP matches signatures on every datagram (up to `dpd_max_packets`), so for
            // UDP a packet that does not match does not rule the protocol out.
            let verdict = if verdict == Probe::No && t == Transport::Udp && self.probed_packets < DPD_MAX_PACKETS {
                Probe::Unsure
            } else {
                verdict
            };
            match verdict {
                Probe::Yes => self.attached.push(Attached {
                    idx,
                    by_port: false,
                    a: (reg.infos[idx].new)(&reg.settings),
                    confirmed: false,
                    timer_at: None,
                }),
                Probe::Unsure => keep.push(idx),
                Probe::No => {}
            }
        }
        self.probing = keep;
        if self.attached.len() > first_new {
            self.new_attached = Some(first_new);
        }
    }

    /// Replays the DPD stream buffer (all but the chunk being delivered) to the analyzers the last probe
    /// attached, as Zeek's `PIA_TCP::ReplayStreamBuffer` does.
    fn replay(&mut self, env: &mut Env<'_>) -> Requests {
        let mut req = Requests::default();
        let Some(first) = self.new_attached.take() else {
            return req;
        };
        let chunks = std::mem::take(&mut self.pia.chunks);
        let replay = &chunks[..chunks.len().saturating_sub(1)];
        for (is_orig, data, seq, len) in replay {
            let r = self.each_from(env, first, |a, cx| match data {
                Some(d) => a.deliver_stream(cx, *is_orig, d),
                None => a.undelivered(cx, *is_orig, *seq, *len),
            });
            req.flip |= r.flip;
            req.remove |= r.remove;
        }
        self.pia.chunks = chunks;
        req
    }

    /// A datagram's payload (UDP).
    pub fn packet(&mut self, env: &mut Env<'_>, is_orig: bool, data: &[u8]) -> Requests {
        self.probe(env.reg, env.transport, is_orig, data);
        self.each(env, |a, cx| a.deliver_packet(cx, is_orig, data))
    }

    /// A TCP segment's payload at relative sequence `seq`: in-order bytes go to the stream.
    ///
    /// Until full reassembly is in place, segments that arrive out of order are not buffered: the
    /// bytes before them are reported as a gap when data beyond them arrives.
    pub fn segment(&mut self, env: &mut Env<'_>, is_orig: bool, seq: u64, data: &[u8]) -> Requests {
        let d = if is_orig { 0 } else { 1 };
        let pos = &mut self.stream[d];
        if pos.ended {
            return Requests::default();
        }
        let next = *pos.next.get_or_insert(seq);
        let end = seq + data.len() as u64;
        if end <= next {
            return Requests::default(); // a retransmission of delivered bytes
        }
        let mut req = Requests::default();
        if seq > next {
            let (gap_seq, gap_len) = (next, seq - next);
            let r = self.each(env, |a, cx| a.undelivered(cx, is_orig, gap_seq, gap_len));
            req.flip |= r.flip;
        }
        let skip = next.saturating_sub(seq) as usize;
        let fresh = &data[skip.min(data.len())..];
        self.stream[d].next = Some(end);
        if skip == 0 {
            self.probe(env.reg, env.transport, is_orig, fresh);
        }
        let r = self.each(env, |a, cx| a.deliver_stream(cx, is_orig, fresh));
        req.flip |= r.flip;
        req
    }

    /// In-order stream bytes from the reassembler.
    pub fn stream_data(&mut self, env: &mut Env<'_>, is_orig: bool, data: &[u8]) -> Requests {
        let d = if is_orig { 0 } else { 1 };
        let mut req = Requests::default();
        if !self.probing.is_empty() {
            let matching = self.pia.add(is_orig, Some(data), 0, data.len() as u64);
            if matching && !self.stream[d].probed {
                self.stream[d].probed = true;
                self.probe(env.reg, env.transport, is_orig, data);
                req = self.replay(env);
            }
            if self.probing.is_empty() || self.pia.skipping {
                self.probing.clear();
                self.pia = PiaBuffer::default();
            }
        }
        let r = self.each(env, |a, cx| a.deliver_stream(cx, is_orig, data));
        req.flip |= r.flip;
        req.remove |= r.remove;
        req
    }

    /// A gap in the stream, from the reassembler.
    pub fn stream_gap(&mut self, env: &mut Env<'_>, is_orig: bool, seq: u64, len: u64) -> Requests {
        if !self.probing.is_empty() {
            self.pia.add(is_orig, None, seq, len);
        }
        self.each(env, |a, cx| a.undelivered(cx, is_orig, seq, len))
    }

    /// One direction of a TCP connection ended (FIN or RST).
    pub fn end_of_data(&mut self, env: &mut Env<'_>, is_orig: bool) -> Requests {
        let d = if is_orig { 0 } else { 1 };
        if self.stream[d].ended {
            return Requests::default();
        }
        self.stream[d].ended = true;
        self.each(env, |a, cx| a.end_of_data(cx, is_orig))
    }

    /// The connection flipped: stream positions and analyzers follow.
    pub fn flip_roles(&mut self) {
        self.stream.swap(0, 1);
        for c in &mut self.pia.chunks {
            c.0 = !c.0;
        }
        for at in &mut self.attached {
            at.a.flip_roles();
        }
    }

    /// The earliest analyzer timer.
    pub fn next_deadline(&self) -> Option<f64> {
        self.attached.iter().filter_map(|a| a.timer_at).reduce(f64::min)
    }

    /// Fires the analyzer timers due at `now`.
    pub fn fire_timers(&mut self, env: &mut Env<'_>, now: f64) -> Requests {
        let due: Vec<bool> = self
            .attached
            .iter()
            .map(|a| a.timer_at.is_some_and(|t| t <= now))
            .collect();
        for (a, d) in self.attached.iter_mut().zip(&due) {
            if *d {
                a.timer_at = None;
            }
        }
        let mut k = 0;
        self.each(env, |a, cx| {
            let fire = due.get(k).copied().unwrap_or(false);
            k += 1;
            if fire {
                a.timer(cx, now);
            }
        })
    }

    /// The connection is being removed.
    pub fn done(&mut self, env: &mut Env<'_>) {
        self.each(env, |a, cx| a.done(cx));
    }
}
