//! capture_loss.log, as Zeek's `policy/misc/capture-loss.zeek` computes and schedules it, from
//! the worker's [`GapStats`] (Zeek's `get_gap_stats()`).
//!
//! Zeek's script, step by step (with `-r`, where `network_time()` is 0 in `zeek_init`):
//! 1. `zeek_init` schedules `take_measurement(0, 0, 0)` in `initial_watch_interval` (1 min), i.e.
//!    at absolute network time 60.
//! 2. That timer fires at the first packet whose time is >= 60 (every real trace: the first
//!    packet); since `last_ts == 0` it writes nothing and schedules
//!    `take_measurement(now, 0, 0)` at `now + initial_watch_interval`.
//! 3. When that fires, a row is written: `ts = now`, `ts_delta = now - last_ts`,
//!    `acks`/`gaps` = counter deltas, `percent_lost = 100 * gaps / acks` (0 when no acks), and the
//!    next measurement is scheduled at `now + watch_interval` (15 min) with the current counters.
//! 4. At the end of input Zeek expires all timers: the pending measurement fires once more with
//!    the last network time (and cannot reschedule: `schedule` does nothing while terminating).
//!
//! Timers are checked when a packet arrives, before it is processed (Zeek's `expire_timers()` in
//! `dispatch_packet`), but the event runs when the event queue is drained after the packet, so
//! the counters include that packet: call [`Scheduler::after_packet`] after processing each
//! packet, with that packet's network time, and [`Scheduler::finish`] at the end of input.
//! The counters are per worker ([`crate::Budget::gaps`]); a Zeek worker is one process.
//!
//! The btest `scripts.policy.misc.capture-loss` additionally raises `take_measurement(0, 0, 0)`
//! from its own `zeek_init`, i.e. a second chain: [`Scheduler::add_chain`] reproduces that
//! (the baseline's two rows with `ts_delta` 0 on the one-packet `dns53.pcap`).

use crate::GapStats;
use weir_api::log::{Field, FieldType, Schema, Value};

/// `CaptureLoss::watch_interval` default (15 min).
pub const WATCH_INTERVAL: f64 = 15.0 * 60.0;
/// `CaptureLoss::initial_watch_interval` default (1 min).
pub const INITIAL_WATCH_INTERVAL: f64 = 60.0;
/// `CaptureLoss::too_much_loss` default.
pub const TOO_MUCH_LOSS: f64 = 0.1;
/// `CaptureLoss::minimum_acks` default.
pub const MINIMUM_ACKS: u64 = 1;

/// The capture_loss log: `ts ts_delta peer gaps acks percent_lost`.
pub fn schema() -> Schema {
    Schema::new(
        "capture_loss",
        &[
            Field::new("ts", FieldType::Time),
            Field::new("ts_delta", FieldType::Interval),
            Field::new("peer", FieldType::String),
            Field::new("gaps", FieldType::Count),
            Field::new("acks", FieldType::Count),
            Field::new("percent_lost", FieldType::Double),
        ],
    )
}

/// The script's options.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub watch_interval: f64,
    pub initial_watch_interval: f64,
    pub too_much_loss: f64,
    pub minimum_acks: u64,
    /// `peer_description` ("zeek").
    pub peer: String,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            watch_interval: WATCH_INTERVAL,
            initial_watch_interval: INITIAL_WATCH_INTERVAL,
            too_much_loss: TOO_MUCH_LOSS,
            minimum_acks: MINIMUM_ACKS,
            peer: "zeek".into(),
        }
    }
}

/// One capture_loss.log row and the notices raised with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    pub ts: f64,
    pub ts_delta: f64,
    pub gaps: u64,
    pub acks: u64,
    pub percent_lost: f64,
    /// `CaptureLoss::Too_Much_Loss` notice message, if raised (raised before the row is written).
    pub too_much_loss: Option<String>,
    /// `CaptureLoss::Too_Little_Traffic` notice message, if raised.
    pub too_little_traffic: Option<String>,
}

impl Measurement {
    /// The row, in [`schema`] order.
    pub fn row<'a>(&self, peer: &'a str) -> [Option<Value<'a>>; 6] {
        [
            Some(Value::Time(self.ts)),
            Some(Value::Interval(self.ts_delta)),
            Some(Value::str(peer)),
            Some(Value::Count(self.gaps)),
            Some(Value::Count(self.acks)),
            Some(Value::Double(self.percent_lost)),
        ]
    }
}

/// The body of `CaptureLoss::take_measurement` once `last_ts != 0`: a pure function of the
/// previous tick (`last_ts`, `last_acks`, `last_gaps`), the current network time and counters.
pub fn measure(last_ts: f64, last_acks: u64, last_gaps: u64, now: f64, g: &GapStats, p: &Params) -> Measurement {
    let acks = g.ack_events.wrapping_sub(last_acks);
    let gaps = g.gap_events.wrapping_sub(last_gaps);
    let pct_lost = if acks == 0 {
        0.0
    } else {
        100.0 * (1.0 * gaps as f64) / (1.0 * acks as f64)
    };
    let too_much_loss = (pct_lost >= p.too_much_loss * 100.0)
        .then(|| format!("The capture loss script detected an estimated loss rate above {pct_lost:.3}%"));
    let too_little_traffic = (acks < p.minimum_acks).then(|| {
        format!(
            "Only observed {acks} TCP ACKs and was expecting at least {}.",
            p.minimum_acks
        )
    });
    Measurement {
        ts: now,
        ts_delta: now - last_ts,
        gaps,
        acks,
        percent_lost: pct_lost,
        too_much_loss,
        too_little_traffic,
    }
}

/// Several workers' rows for the same tick merged into the row a single Zeek process writes:
/// `gaps` and `acks` summed, `percent_lost` and the notices recomputed as the script computes
/// them; `ts`/`ts_delta` from the first row (the workers measure at the same network times).
pub fn merge(rows: &[Measurement], p: &Params) -> Option<Measurement> {
    let first = rows.first()?;
    let g = GapStats {
        ack_events: rows.iter().map(|r| r.acks).sum(),
        gap_events: rows.iter().map(|r| r.gaps).sum(),
        ..GapStats::default()
    };
    Some(measure(first.ts - first.ts_delta, 0, 0, first.ts, &g, p))
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Pending {
    at: f64,
    last_ts: f64,
    last_acks: u64,
    last_gaps: u64,
}

/// The script's timer chain(s).
#[derive(Clone, Debug)]
pub struct Scheduler {
    params: Params,
    pending: Vec<Pending>,
    finished: bool,
}

impl Scheduler {
    /// The state after the script's `zeek_init` when reading traces or live traffic (network
    /// time 0): one measurement pending at `initial_watch_interval`, with `last_ts = 0`.
    pub fn new(params: Params) -> Scheduler {
        let at = params.initial_watch_interval;
        Scheduler {
            params,
            pending: vec![Pending {
                at,
                last_ts: 0.0,
                last_acks: 0,
                last_gaps: 0,
            }],
            finished: false,
        }
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Raise `take_measurement(last_ts, last_acks, last_gaps)` now (at network time `now`), as
    /// the btest does from `zeek_init` with `(network_time(), 0, 0)` = `(0, 0, 0)`. Returns the
    /// row if `last_ts != 0`.
    pub fn add_chain(
        &mut self,
        now: f64,
        g: &GapStats,
        last_ts: f64,
        last_acks: u64,
        last_gaps: u64,
    ) -> Option<Measurement> {
        self.fire(
            Pending {
                at: now,
                last_ts,
                last_acks,
                last_gaps,
            },
            now,
            g,
        )
    }

    /// The earliest pending measurement time.
    #[inline]
    pub fn next_deadline(&self) -> Option<f64> {
        self.pending.iter().map(|p| p.at).reduce(f64::min)
    }

    fn fire(&mut self, p: Pending, now: f64, g: &GapStats) -> Option<Measurement> {
        if p.last_ts == 0.0 {
            if !self.finished {
                let at = now + self.params.initial_watch_interval;
                self.pending.push(Pending {
                    at,
                    last_ts: now,
                    last_acks: 0,
                    last_gaps: 0,
                });
            }
            return None;
        }
        let m = measure(p.last_ts, p.last_acks, p.last_gaps, now, g, &self.params);
        if !self.finished {
            let at = now + self.params.watch_interval;
            self.pending.push(Pending {
                at,
                last_ts: now,
                last_acks: g.ack_events,
                last_gaps: g.gap_events,
            });
        }
        Some(m)
    }

    fn take_due(&mut self, limit: Option<f64>) -> Vec<Pending> {
        let mut due: Vec<Pending> = Vec::new();
        self.pending.retain(|p| {
            if !matches!(limit, Some(t) if p.at > t) {
                due.push(*p);
                false
            } else {
                true
            }
        });
        due.sort_by(|a, b| a.at.total_cmp(&b.at));
        due
    }

    /// After a packet at network time `now` was processed, with the worker's counters `g`: the
    /// rows due (normally none).
    pub fn after_packet(&mut self, now: f64, g: &GapStats) -> Vec<Measurement> {
        if self.finished || !matches!(self.next_deadline(), Some(t) if t <= now) {
            return Vec::new();
        }
        let mut rows = Vec::new();
        for p in self.take_due(Some(now)) {
            rows.extend(self.fire(p, now, g));
        }
        rows
    }

    /// End of input (Zeek's `timer_mgr->Expire()` while terminating): every pending measurement
    /// fires at the last network time `now`; nothing is rescheduled.
    pub fn finish(&mut self, now: f64, g: &GapStats) -> Vec<Measurement> {
        self.finished = true;
        let mut rows = Vec::new();
        for p in self.take_due(None) {
            rows.extend(self.fire(p, now, g));
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn btest_dns53_two_rows() {
        // One packet at T; the btest's zeek_init raises take_measurement(0, 0, 0) too.
        let t = 964953086.310131;
        let g = GapStats::default();
        let mut s = Scheduler::new(Params::default());
        assert_eq!(s.add_chain(0.0, &g, 0.0, 0, 0), None);
        assert!(s.after_packet(t, &g).is_empty());
        let rows = s.finish(t, &g);
        assert_eq!(rows.len(), 2);
        for r in &rows {
            assert_eq!((r.ts, r.ts_delta, r.gaps, r.acks, r.percent_lost), (t, 0.0, 0, 0, 0.0));
            assert_eq!(r.too_much_loss, None);
            assert_eq!(
                r.too_little_traffic.as_deref(),
                Some("Only observed 0 TCP ACKs and was expecting at least 1.")
            );
        }
        assert_eq!(schema().fields.len(), 6);
    }

    #[test]
    fn intervals_and_percent() {
        let mut s = Scheduler::new(Params::default());
        let t0 = 1000.0;
        let mut g = GapStats::default();
        assert!(s.after_packet(t0, &g).is_empty()); // first chain step, no row
        g.ack_events = 10;
        g.gap_events = 1;
        assert!(s.after_packet(t0 + 59.0, &g).is_empty());
        let r = s.after_packet(t0 + 61.5, &g);
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].ts_delta, r[0].acks, r[0].gaps, r[0].percent_lost),
            (61.5, 10, 1, 10.0)
        );
        assert_eq!(
            r[0].too_much_loss.as_deref(),
            Some("The capture loss script detected an estimated loss rate above 10.000%")
        );
        assert_eq!(s.next_deadline(), Some(t0 + 61.5 + 900.0));
        g.ack_events = 13;
        let r = s.finish(t0 + 100.0, &g);
        assert_eq!(
            (r[0].ts_delta, r[0].acks, r[0].gaps, r[0].percent_lost),
            (38.5, 3, 0, 0.0)
        );
        assert!(s.next_deadline().is_none());
    }

    #[test]
    fn merge_workers() {
        let p = Params::default();
        let a = measure(
            100.0,
            0,
            0,
            160.0,
            &GapStats {
                ack_events: 10,
                gap_events: 0,
                ..Default::default()
            },
            &p,
        );
        let b = measure(
            100.0,
            0,
            0,
            160.0,
            &GapStats {
                ack_events: 10,
                gap_events: 5,
                ..Default::default()
            },
            &p,
        );
        assert!(a.too_much_loss.is_none() && b.too_much_loss.is_some());
        let m = merge(&[a, b], &p).unwrap();
        assert_eq!(
            (m.ts, m.ts_delta, m.acks, m.gaps, m.percent_lost),
            (160.0, 60.0, 20, 5, 25.0)
        );
        assert!(m.too_much_loss.is_some() && m.too_little_traffic.is_none());
        assert_eq!(merge(&[], &p), None);
    }
}
