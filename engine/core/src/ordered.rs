//! State one Zeek process keeps for the whole run, kept exact when the run has several workers.
//!
//! A few of Zeek's script-level tables are global to the process and decide whether a row is written:
//! `Tunnel::active` (tunnel.log's DISCOVER and CLOSE) and de-duplication sets such as
//! `X509::known_log_certs` (`&create_expire`). With one worker they are the worker's own. With several,
//! the threads that raise the events run at their own pace, so each records its events with the point
//! in one process's order of work at which it happened ([`EventKey`]: network time, timers before
//! packets, the packet's input position and tunnel level), and the run's [`Registry`] applies the events
//! of all threads in that order once every thread has passed them. The rows written are the ones one
//! process writes, whatever the number of workers. Only decisions about what to write can be deferred
//! this way; state that changes how later packets are analysed stays per worker (as in a Zeek cluster).

use crate::logs::WeirdOut;
use crate::tunnels::{ActiveTunnels, TunnelEvent};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use weir_logs::StreamId;

/// When, in one process's order of work, an event happened: network time, then the phase (timers fire
/// before the packets of their time; the connections left at the end are flushed last), then the
/// packet's position and level, then removals before registrations within one level.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub(crate) struct EventKey {
    pub t: f64,
    pub phase: u8,
    pub seq: u64,
    pub level: u8,
    pub sub: u8,
}

pub(crate) const PHASE_TIMERS: u8 = 0;
pub(crate) const PHASE_PACKET: u8 = 1;
pub(crate) const PHASE_END: u8 = 2;

impl EventKey {
    pub(crate) fn at(t: f64, phase: u8) -> EventKey {
        EventKey {
            t,
            phase,
            seq: 0,
            level: 0,
            sub: 0,
        }
    }
}

/// An event that changes run-wide state.
#[derive(Clone, Debug)]
pub(crate) enum Event {
    Tunnel(TunnelEvent),
    /// A row written unless a row with the same key went to the stream less than `keep_for` seconds
    /// (of the given network time `at`) before; at most `max_keys` keys are remembered.
    LogOnce {
        stream: StreamId,
        key: Box<[u8]>,
        at: f64,
        keep_for: f64,
        max_keys: usize,
        line: Vec<u8>,
    },
}

/// The run-wide tables.
#[derive(Default)]
struct RunState {
    tunnels: ActiveTunnels,
    /// (stream, key) -> network time the key's row was written.
    once: HashMap<(StreamId, Box<[u8]>), f64>,
}

impl RunState {
    fn apply(&mut self, k: &EventKey, ev: Event, out: &mut WeirdOut) {
        match ev {
            Event::Tunnel(t) => self.tunnels.apply_and_log(k.t, &t, out),
            Event::LogOnce {
                stream,
                key,
                at,
                keep_for,
                max_keys,
                line,
            } => {
                let id = (stream, key);
                if let Some(&t) = self.once.get(&id) {
                    if at - t < keep_for {
                        return;
                    }
                    self.once.remove(&id);
                }
                if self.once.len() < max_keys {
                    self.once.insert(id, at);
                }
                out.handle.write_formatted(stream, &line);
            }
        }
    }
}

/// A worker's side: where it is in one process's order of work, and where its events go.
pub(crate) struct Book {
    pub at: EventKey,
    sink: Sink,
}

enum Sink {
    /// One worker: the run-wide state is its own, applied at once.
    Local(Box<RunState>),
    /// Several: events wait in the shared registry.
    Shared {
        reg: Arc<Registry>,
        source: usize,
        events: Vec<(EventKey, Event)>,
    },
}

impl Default for Book {
    fn default() -> Book {
        Book {
            at: EventKey::at(0.0, PHASE_TIMERS),
            sink: Sink::Local(Box::default()),
        }
    }
}

impl Book {
    /// Shares the run-wide state through `reg`, as its source `source`.
    pub(crate) fn share(&mut self, reg: Arc<Registry>, source: usize) {
        self.sink = Sink::Shared {
            reg,
            source,
            events: Vec::new(),
        };
    }

    /// An event at the current point of work; `sub` orders events within one packet level.
    pub(crate) fn event(&mut self, ev: Event, sub: u8, out: &mut WeirdOut) {
        let k = EventKey { sub, ..self.at };
        match &mut self.sink {
            Sink::Local(st) => st.apply(&k, ev, out),
            Sink::Shared { events, .. } => events.push((k, ev)),
        }
    }

    /// Every event before network time `upto` has been recorded: hand them over.
    pub(crate) fn sync(&mut self, upto: f64) {
        if let Sink::Shared { reg, source, events } = &mut self.sink {
            reg.submit(*source, events, upto);
        }
    }
}

/// The run-wide state shared by the threads of one run: events arrive from each source (the carrier and
/// every worker) in that source's order, each source says how far it has got, and events are applied in
/// [`EventKey`] order once no source can still send an earlier one.
pub struct Registry {
    /// Per source: every event with a network time before this (an `f64`'s bits) has been submitted.
    progress: Vec<AtomicU64>,
    /// The network time of the earliest event waiting (an `f64`'s bits; infinity when none): a source
    /// takes the lock to apply events only when every source has got past it, not on every call while
    /// events wait for a slower source (that was a lock, a sort and a scan per packet on the reading
    /// thread).
    earliest: AtomicU64,
    state: Mutex<RegistryState>,
}

struct RegistryState {
    pending: Vec<(EventKey, Event)>,
    run: RunState,
    out: WeirdOut,
}

impl Registry {
    /// A registry for `sources` threads, writing its rows through `out`.
    pub fn new(sources: usize, out: WeirdOut) -> Registry {
        Registry {
            progress: (0..sources)
                .map(|_| AtomicU64::new(f64::NEG_INFINITY.to_bits()))
                .collect(),
            earliest: AtomicU64::new(f64::INFINITY.to_bits()),
            state: Mutex::new(RegistryState {
                pending: Vec::new(),
                run: RunState::default(),
                out,
            }),
        }
    }

    /// Source `source` hands over its events (in its own order) and says it will send no event earlier
    /// than network time `upto`. Cheap when there is nothing to do: no lock is taken.
    fn submit(&self, source: usize, events: &mut Vec<(EventKey, Event)>, upto: f64) {
        if !events.is_empty() {
            let first = events.iter().map(|(k, _)| k.t).fold(f64::INFINITY, f64::min);
            let mut st = self.lock();
            st.pending.append(events);
            // Under the lock, as apply_ready sets it: `earliest` matches `pending` whenever the lock is free.
            let earliest = f64::from_bits(self.earliest.load(Ordering::Acquire)).min(first);
            self.earliest.store(earliest.to_bits(), Ordering::Release);
        }
        if let Some(p) = self.progress.get(source) {
            p.store(upto.to_bits(), Ordering::Release);
        }
        // Applied only once something is ready (every source past the earliest waiting event); an
        // earlier value read here only delays that to a later call, or to `finish`.
        if f64::from_bits(self.earliest.load(Ordering::Acquire)) < self.progress_min() {
            let mut st = self.lock();
            self.apply_ready(&mut st);
        }
    }

    /// Every source has submitted all its events before this network time.
    fn progress_min(&self) -> f64 {
        self.progress
            .iter()
            .map(|p| f64::from_bits(p.load(Ordering::Acquire)))
            .fold(f64::INFINITY, f64::min)
    }

    /// Every source has finished: applies what is left and flushes the rows.
    pub fn finish(&self) {
        for p in &self.progress {
            p.store(f64::INFINITY.to_bits(), Ordering::Release);
        }
        let mut st = self.lock();
        self.apply_ready(&mut st);
        st.out.flush();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RegistryState> {
        // A source that panicked while holding the lock left whole events behind: keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn apply_ready(&self, st: &mut RegistryState) {
        let upto = self.progress_min();
        // Stable: events with equal keys keep their source's order (a chain registers outermost first).
        st.pending
            .sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(core::cmp::Ordering::Equal));
        let n = st.pending.iter().take_while(|(k, _)| k.t < upto).count();
        let RegistryState { pending, run, out } = st;
        for (k, ev) in pending.drain(..n) {
            run.apply(&k, ev, out);
        }
        let earliest = pending.first().map_or(f64::INFINITY, |(k, _)| k.t);
        self.earliest.store(earliest.to_bits(), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_order_like_one_process() {
        let k = |t: f64, phase: u8, seq: u64, level: u8, sub: u8| EventKey {
            t,
            phase,
            seq,
            level,
            sub,
        };
        // Timers at a time fire before that time's packets; packets in input order; the end last.
        assert!(k(5.0, PHASE_TIMERS, 9, 0, 0) < k(5.0, PHASE_PACKET, 1, 0, 0));
        assert!(k(5.0, PHASE_PACKET, 1, 2, 1) < k(5.0, PHASE_PACKET, 2, 0, 0));
        assert!(k(5.0, PHASE_PACKET, 1, 1, 0) < k(5.0, PHASE_PACKET, 1, 1, 1));
        assert!(k(5.0, PHASE_PACKET, 7, 0, 0) < k(5.0, PHASE_END, 0, 0, 0));
        assert!(k(4.0, PHASE_END, 0, 0, 0) < k(5.0, PHASE_TIMERS, 0, 0, 0));
    }
}
