//! The flow table: each worker's connections, keyed by [`ConnKey`], with their timers.
//!
//! Owned by one worker thread, so no locks. Bounded: when `max_flows` connections are open, the one with
//! the earliest timer deadline is evicted (logged as it stands, and counted) to make room.

use crate::conn::Conn;
use crate::key::{ConnKey, FxBuild};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

/// A timer entry: the deadline of a connection's earliest timer when it was scheduled.
#[derive(Clone, Copy, Debug)]
struct TimerEntry {
    at: f64,
    slot: u32,
    gen: u32,
}

impl PartialEq for TimerEntry {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for TimerEntry {}
impl PartialOrd for TimerEntry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for TimerEntry {
    // Reversed: BinaryHeap is a max-heap and we want the earliest deadline first; ties by slot for
    // a deterministic order.
    fn cmp(&self, o: &Self) -> Ordering {
        o.at.total_cmp(&self.at)
            .then_with(|| o.slot.cmp(&self.slot))
            .then_with(|| o.gen.cmp(&self.gen))
    }
}

struct Slot {
    gen: u32,
    conn: Option<Conn>,
    /// The deadline this slot has in the heap (earliest one if several).
    scheduled: Option<f64>,
}

pub struct FlowTable {
    map: HashMap<ConnKey, u32, FxBuild>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    timers: BinaryHeap<TimerEntry>,
    pub max_flows: usize,
    pub evictions: u64,
}

/// A handle to a connection in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnRef {
    slot: u32,
}

impl FlowTable {
    pub fn new(max_flows: usize) -> FlowTable {
        FlowTable {
            map: HashMap::with_capacity_and_hasher(1024, FxBuild),
            slots: Vec::new(),
            free: Vec::new(),
            timers: BinaryHeap::new(),
            max_flows,
            evictions: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn find(&self, key: &ConnKey) -> Option<ConnRef> {
        self.map.get(key).map(|&slot| ConnRef { slot })
    }

    pub fn get_mut(&mut self, r: ConnRef) -> &mut Conn {
        self.slots[r.slot as usize].conn.as_mut().expect("live connection")
    }

    /// Inserts a new connection. The caller has checked `is_full` and evicted if needed.
    pub fn insert(&mut self, conn: Conn) -> ConnRef {
        let key = conn.core.key;
        let slot = match self.free.pop() {
            Some(s) => {
                let sl = &mut self.slots[s as usize];
                sl.gen = sl.gen.wrapping_add(1);
                sl.conn = Some(conn);
                sl.scheduled = None;
                s
            }
            None => {
                self.slots.push(Slot {
                    gen: 0,
                    conn: Some(conn),
                    scheduled: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        self.map.insert(key, slot);
        let r = ConnRef { slot };
        self.reschedule(r);
        r
    }

    pub fn is_full(&self) -> bool {
        self.map.len() >= self.max_flows
    }

    /// Removes a connection and hands it back (to be logged).
    pub fn remove(&mut self, r: ConnRef) -> Conn {
        let sl = &mut self.slots[r.slot as usize];
        let conn = sl.conn.take().expect("live connection");
        sl.scheduled = None;
        self.map.remove(&conn.core.key);
        self.free.push(r.slot);
        conn
    }

    /// Call after anything that may have changed a connection's timers.
    pub fn reschedule(&mut self, r: ConnRef) {
        let sl = &mut self.slots[r.slot as usize];
        let Some(conn) = sl.conn.as_ref() else { return };
        if let Some(d) = conn.next_deadline() {
            if sl.scheduled.is_none_or(|s| d < s) {
                sl.scheduled = Some(d);
                self.timers.push(TimerEntry {
                    at: d,
                    slot: r.slot,
                    gen: sl.gen,
                });
            }
        }
    }

    /// Whether [`FlowTable::next_due`] may find a connection at `now`: the earliest entry of the timer
    /// queue is at or before it (an entry left by a rescheduled or removed connection counts too, so
    /// this is never false when a timer is due).
    #[inline]
    pub fn timer_due(&self, now: f64) -> bool {
        self.timers.peek().is_some_and(|t| t.at <= now)
    }

    /// The next connection with a timer due at or before `now`, if any. The caller fires its timers,
    /// then calls [`FlowTable::reschedule`] or [`FlowTable::remove`].
    pub fn next_due(&mut self, now: f64) -> Option<ConnRef> {
        while let Some(top) = self.timers.peek().copied() {
            if top.at > now {
                return None;
            }
            self.timers.pop();
            let sl = &mut self.slots[top.slot as usize];
            if sl.gen != top.gen || sl.conn.is_none() {
                continue;
            }
            if sl.scheduled == Some(top.at) {
                sl.scheduled = None;
            }
            let r = ConnRef { slot: top.slot };
            match sl.conn.as_ref().and_then(|c| c.next_deadline()) {
                Some(d) if d <= now => return Some(r),
                _ => self.reschedule(r),
            }
        }
        None
    }

    /// Open connections by transport: (TCP, UDP, ICMP).
    pub fn count_by_transport(&self) -> (u64, u64, u64) {
        let mut n = (0, 0, 0);
        for c in self.slots.iter().filter_map(|s| s.conn.as_ref()) {
            match c.kind {
                crate::conn::ConnKind::Tcp(_) => n.0 += 1,
                crate::conn::ConnKind::Udp(_) => n.1 += 1,
                crate::conn::ConnKind::Icmp(_) => n.2 += 1,
                crate::conn::ConnKind::Other => {}
            }
        }
        n
    }

    /// The connection to evict when the table is full: the one whose timers are due first.
    pub fn eviction_candidate(&mut self) -> Option<ConnRef> {
        while let Some(top) = self.timers.pop() {
            let sl = &mut self.slots[top.slot as usize];
            if sl.gen == top.gen && sl.conn.is_some() {
                sl.scheduled = None;
                return Some(ConnRef { slot: top.slot });
            }
        }
        // No timers at all (cannot happen for live connections, which all have an inactivity or TCP
        // timer); fall back to any connection.
        self.map.values().next().map(|&slot| ConnRef { slot })
    }

    /// Takes every remaining connection (end of input), in a deterministic order (by start time, then
    /// key).
    pub fn drain(&mut self) -> Vec<Conn> {
        let mut v: Vec<Conn> = self.slots.iter_mut().filter_map(|s| s.conn.take()).collect();
        self.map.clear();
        self.free.clear();
        self.slots.clear();
        self.timers.clear();
        v.sort_by(|a, b| {
            a.core
                .start_time
                .total_cmp(&b.core.start_time)
                .then_with(|| a.core.key.cmp_bytes(&b.core.key))
        });
        v
    }
}

impl ConnKey {
    fn cmp_bytes(&self, o: &ConnKey) -> Ordering {
        (self.a1, self.a2, self.p1, self.p2, self.proto).cmp(&(o.a1, o.a2, o.p1, o.p2, o.proto))
    }
}
