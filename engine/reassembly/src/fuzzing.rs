//! The fuzz driver, shared by `fuzz/fuzz_targets/reassembly.rs` and `tests/fuzz_corpus.rs`.
//!
//! Input bytes are read as operations on the two directions of one connection sharing a small
//! [`Budget`]: segments (at arbitrary relative sequence numbers, consistent or corrupted bytes,
//! some truncated), ACKs, FINs, state changes, tracking/keeping bytes, `skip_to_seq`, `shed`, `done`. After every operation it
//! checks:
//! * the budget: `used() <= worker_limit`, every direction `<= direction_limit`, and `used()`
//!   equals the sum of what the directions hold;
//! * deliveries and gaps form one contiguous, increasing sequence from 1 (no byte delivered
//!   twice, none skipped without an `Undelivered`), unless skipping is involved;
//! * every delivered byte was sent, with the value sent (when no corrupted retransmission was
//!   sent, the value is the stream's); delivered bytes never exceed the distinct bytes sent;
//! * `missed_bytes` equals the sum of `ContentGap` lengths.

use crate::{Budget, Config, EndpointInfo, Event, Reassembler, TcpState};
use std::collections::HashMap;

struct Dir {
    r: Reassembler,
    info: EndpointInfo,
    /// Every byte value ever sent at each position.
    sent: HashMap<u64, Vec<u8>>,
    cursor: u64,
    delivered: u64,
    missed: u64,
    skip_involved: bool,
    ended: bool,
}

fn stream_byte(dir: usize, seq: u64) -> u8 {
    (seq.wrapping_mul(31).wrapping_add(dir as u64 * 7) >> 1) as u8
}

struct Input<'a> {
    d: &'a [u8],
}

impl Input<'_> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.d.split_first()?;
        self.d = rest;
        Some(b)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.u8()?, self.u8()?]))
    }
}

fn check_events(d: &mut Dir, ev: &[(bool, u64, u64, Vec<u8>)]) {
    for (is_data, seq, len, data) in ev {
        if !d.skip_involved {
            assert_eq!(*seq, d.cursor, "events not contiguous: {ev:?}");
        }
        d.cursor = seq + len;
        if *is_data {
            d.delivered += len;
            for (i, b) in data.iter().enumerate() {
                let s = seq + i as u64;
                let vals = d
                    .sent
                    .get(&s)
                    .unwrap_or_else(|| panic!("delivered byte {s} never sent"));
                assert!(vals.contains(b), "delivered byte {s} = {b} not among sent {vals:?}");
            }
        }
    }
    assert!(d.delivered <= d.sent.len() as u64, "delivered more bytes than sent");
}

/// What one input exercised (for coverage checks in tests).
#[derive(Clone, Copy, Debug, Default)]
pub struct Summary {
    pub data_events: u64,
    pub gaps: u64,
    pub rexmit: u64,
    pub weirds: u64,
    pub eofs: u64,
    pub evictions: u64,
    pub refused: u64,
}

/// Runs one fuzz input; panics on a violated invariant.
pub fn run(data: &[u8]) -> Summary {
    run_mode(data, Mode::Normal).0
}

/// How [`run_mode`] sets up the reassemblers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Small budget, full reassemblers, all operations.
    Normal,
    /// Unlimited budget, full reassemblers; no keep-data toggles, no shedding.
    Full,
    /// As `Full`, with [`Reassembler::tracking`] reassemblers.
    Tracking,
}

/// Runs one input; returns the summary and a log of everything visible outside the byte stream
/// (gaps, history letters, weirds, EOFs, missed bytes, gap statistics). `Full` and `Tracking`
/// must give the same log.
pub fn run_mode(data: &[u8], mode: Mode) -> (Summary, Vec<String>) {
    let mut sum = Summary::default();
    let mut log: Vec<String> = Vec::new();
    let compare = mode != Mode::Normal;
    let mut inp = Input { d: data };
    let Some(cfg_byte) = inp.u8() else { return (sum, log) };
    let Some(lim) = inp.u8() else { return (sum, log) };
    let cfg = Config {
        max_old_segments: (cfg_byte & 3) as u32,
        max_initial_window: if cfg_byte & 4 != 0 { 300 } else { 16384 },
        max_above_hole_without_any_acks: if cfg_byte & 8 != 0 { 2000 } else { 16384 },
        excessive_data_without_further_acks: if cfg_byte & 16 != 0 { 3000 } else { 10 << 20 },
        report_gaps_for_partial: cfg_byte & 32 != 0,
        detect_filtered_trace: cfg_byte & 64 != 0,
        match_undelivered: true,
        signatures_loaded: cfg_byte & 128 != 0,
        rexmit_inconsistency_handled: true,
    };
    let (worker, direction) = if compare {
        (u64::MAX / 2, u64::MAX / 4)
    } else {
        (200 + (lim as u64 & 0x0f) * 300, 150 + (lim as u64 >> 4) * 200)
    };
    let mut budget = Budget::new(worker, direction);
    let mk = |is_orig| Dir {
        r: if mode == Mode::Tracking {
            Reassembler::tracking()
        } else {
            Reassembler::new()
        },
        info: EndpointInfo {
            is_orig,
            state: TcpState::Established,
            prev_state: TcpState::SynSent,
            peer_state: TcpState::Established,
            peer_prev_state: TcpState::SynSent,
            no_data_acked: true,
            peer_has_contents: true,
            peer_has_done_something: true,
            start_seq: 1000,
            last_seq_full: 1001,
            ..EndpointInfo::default()
        },
        sent: HashMap::new(),
        cursor: 1,
        delivered: 0,
        missed: 0,
        skip_involved: cfg.detect_filtered_trace,
        ended: false,
    };
    let mut dirs = [mk(true), mk(false)];

    while let Some(op) = inp.u8() {
        let di = (op & 1) as usize;
        let mut evs: Vec<(bool, u64, u64, Vec<u8>)> = Vec::new();
        let mut missed = 0u64;
        let mut sink = |e: Event<'_>| match e {
            Event::Data { seq, data } => evs.push((true, seq, data.len() as u64, data.to_vec())),
            Event::Undelivered { seq, len } => {
                log.push(format!("{di} undelivered {seq} {len}"));
                evs.push((false, seq, len, Vec::new()))
            }
            Event::NotKept { seq, len } => evs.push((false, seq, len, Vec::new())),
            Event::ContentGap { seq, len } => {
                missed += len;
                log.push(format!("{di} content_gap {seq} {len}"));
            }
            Event::RexmitInconsistency { .. } => sum.rexmit += 1,
            Event::Weird(w) => {
                sum.weirds += 1;
                log.push(format!("{di} weird {w:?}"));
            }
            Event::EndpointEof => {
                sum.eofs += 1;
                log.push(format!("{di} eof"));
            }
            Event::History { code, threshold } => log.push(format!("{di} history {} {threshold}", code as char)),
            _ => {}
        };
        let peer_undelivered = dirs[1 - di].r.has_undelivered_data();
        let d = &mut dirs[di];
        d.info.peer_has_undelivered = peer_undelivered;
        if d.ended {
            continue;
        }
        match (op >> 1) % 8 {
            0..=2 => {
                // A segment.
                let (Some(off), Some(len), Some(mode)) = (inp.u16(), inp.u8(), inp.u8()) else {
                    break;
                };
                // Half the segments land near the next expected byte (in order, overlapping,
                // or just above), the rest anywhere in the first 4 KiB.
                let seq = if mode & 0x80 != 0 {
                    (d.r.data_seq() + (off % 256) as u64).saturating_sub(64).max(1)
                } else {
                    1 + (off as u64 % 4096)
                };
                let len = len as u64 % 200 + 1;
                let corrupt = mode & 3 == 0;
                let payload: Vec<u8> = (0..len)
                    .map(|i| stream_byte(di, seq + i) ^ if corrupt && i % 3 == 0 { 0x55 } else { 0 })
                    .collect();
                let captured = if mode & 0x1c == 0 {
                    &payload[..(len / 2) as usize]
                } else {
                    &payload[..]
                };
                if captured.len() as u64 == len {
                    for (i, b) in payload.iter().enumerate() {
                        let v = d.sent.entry(seq + i as u64).or_default();
                        if !v.contains(b) {
                            v.push(*b);
                        }
                    }
                }
                let last = (d.info.start_seq as u64) + seq + len;
                d.info.last_seq_full = d.info.last_seq_full.max(last);
                d.info.size = d.info.last_seq_full - d.info.start_seq as u64 - 1;
                d.r.data_sent(&cfg, &mut budget, &d.info, seq, len, captured, &mut sink);
                d.r.check_eof(&d.info, &mut sink);
            }
            3 | 4 => {
                let Some(off) = inp.u16() else { break };
                let ack = off as u64 % 4400;
                if ack > 1 {
                    d.info.no_data_acked = false;
                }
                d.r.ack_received(&cfg, &mut budget, &d.info, ack, &mut sink);
            }
            5 => {
                let Some(x) = inp.u8() else { break };
                match x % 7 {
                    0 => {
                        let fin = d.info.last_seq_full - d.info.start_seq as u64;
                        d.info.fin_seq = Some(fin + 1);
                        d.info.last_seq_full += 1;
                    }
                    1 => d.info.state = TcpState::Closed,
                    2 => d.info.state = TcpState::Reset,
                    3 => d.info.partial = !d.info.partial,
                    4 => d.info.peer_has_contents = !d.info.peer_has_contents,
                    5 => d.info.rst_seen = true,
                    _ => {
                        if compare {
                            continue;
                        }
                        let keep = d.r.keeps_data();
                        d.r.set_keep_data(!keep);
                    }
                }
                d.r.check_eof(&d.info, &mut sink);
            }
            6 => {
                let Some(off) = inp.u16() else { break };
                if off & 0x8000 != 0 {
                    if compare {
                        continue;
                    }
                    // Worker-wide shedding by the engine.
                    d.r.shed(&mut budget, (off & 0x3ff) as u64);
                } else {
                    d.skip_involved = true;
                    d.r.skip_to_seq(&cfg, &mut budget, &d.info, off as u64 % 4400, &mut sink);
                }
            }
            _ => {
                d.r.done(&cfg, &mut budget, &mut sink);
                assert_eq!(d.r.buffered_bytes(), 0);
                d.ended = true;
            }
        }
        if d.info.partial || d.r.skipping_deliveries() {
            // Partial connections' first gap is swallowed; skip mode moves on silently.
            d.skip_involved = true;
        }
        check_events(d, &evs);
        // In skip mode nothing is delivered or reported any more, and the position is not
        // observable (DataPending is false); a tracking reassembler's merged ranges may leave it
        // elsewhere.
        if !d.r.skipping_deliveries() {
            let (next, pending) = (d.r.data_seq(), d.r.data_pending(&d.info));
            log.push(format!("{di} next {next} pending {pending}"));
        }
        sum.data_events += evs.iter().filter(|e| e.0).count() as u64;
        sum.gaps += evs.iter().filter(|e| !e.0).count() as u64;
        d.missed += missed;
        assert_eq!(d.missed, d.r.missed_bytes());
        assert!(budget.used() <= budget.worker_limit(), "worker budget exceeded");
        for x in &dirs {
            assert!(
                x.r.buffered_bytes() <= budget.direction_limit(),
                "direction budget exceeded"
            );
        }
        assert_eq!(budget.used(), dirs[0].r.buffered_bytes() + dirs[1].r.buffered_bytes());
    }
    for d in &mut dirs {
        d.r.release(&mut budget);
    }
    assert_eq!(budget.used(), 0);
    sum.evictions = budget.stats.eviction_events;
    sum.refused = budget.stats.refused_bytes;
    log.push(format!("gaps {:?}", budget.gaps));
    (sum, log)
}
