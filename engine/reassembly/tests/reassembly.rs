//! Byte fixtures for the reassembler: in-order, out-of-order, overlaps, gaps, FIN, budget.

use weir_reassembly::{Budget, Config, EndpointInfo, Event, GapStats, Reassembler, TcpState, Weird};

#[derive(Debug, PartialEq, Eq, Clone)]
enum Ev {
    Data(u64, Vec<u8>),
    Undelivered(u64, u64),
    ContentGap(u64, u64),
    History(u8, u32),
    Rexmit(Vec<u8>, Vec<u8>),
    Weird(Weird),
    Match(Vec<u8>),
    NotKept(u64, u64),
    Eof,
}

fn own(e: Event<'_>) -> Ev {
    match e {
        Event::Data { seq, data } => Ev::Data(seq, data.to_vec()),
        Event::Undelivered { seq, len } => Ev::Undelivered(seq, len),
        Event::ContentGap { seq, len } => Ev::ContentGap(seq, len),
        Event::History { code, threshold } => Ev::History(code, threshold),
        Event::RexmitInconsistency { old, new } => Ev::Rexmit(old.to_vec(), new.to_vec()),
        Event::Weird(w) => Ev::Weird(w),
        Event::MatchUndelivered { data } => Ev::Match(data.to_vec()),
        Event::NotKept { seq, len } => Ev::NotKept(seq, len),
        Event::EndpointEof => Ev::Eof,
    }
}

/// One direction of an established connection, with a peer that does reassembly too.
struct T {
    cfg: Config,
    budget: Budget,
    info: EndpointInfo,
    r: Reassembler,
}

impl T {
    fn new() -> T {
        T::with(Config::default(), Budget::default())
    }
    fn with(cfg: Config, budget: Budget) -> T {
        T {
            cfg,
            budget,
            info: EndpointInfo {
                is_orig: true,
                state: TcpState::Established,
                prev_state: TcpState::SynSent,
                peer_state: TcpState::Established,
                peer_prev_state: TcpState::SynAckSent,
                no_data_acked: true,
                peer_has_contents: true,
                peer_has_done_something: true,
                start_seq: 1000,
                last_seq_full: 1001,
                ..EndpointInfo::default()
            },
            r: Reassembler::new(),
        }
    }
    fn send(&mut self, seq: u64, data: &[u8]) -> Vec<Ev> {
        let top = self.info.start_seq as u64 + seq + data.len() as u64;
        self.info.last_seq_full = self.info.last_seq_full.max(top);
        self.info.size = self.info.last_seq_full - self.info.start_seq as u64 - 1;
        let mut v = Vec::new();
        self.r.data_sent(
            &self.cfg,
            &mut self.budget,
            &self.info,
            seq,
            data.len() as u64,
            data,
            &mut |e| v.push(own(e)),
        );
        v
    }
    fn ack(&mut self, ack: u64) -> Vec<Ev> {
        if ack > 1 {
            self.info.no_data_acked = false;
        }
        let mut v = Vec::new();
        self.r
            .ack_received(&self.cfg, &mut self.budget, &self.info, ack, &mut |e| v.push(own(e)));
        v
    }
    fn fin(&mut self) -> Vec<Ev> {
        // FIN_seq = rel_seq + seg_len (one past the FIN octet); last_seq moves past it.
        let rel_last = self.info.last_seq_full - self.info.start_seq as u64;
        self.info.fin_seq = Some(rel_last + 1);
        self.info.last_seq_full += 1;
        let mut v = Vec::new();
        self.r.check_eof(&self.info, &mut |e| v.push(own(e)));
        v
    }
}

fn data(seq: u64, d: &[u8]) -> Ev {
    Ev::Data(seq, d.to_vec())
}

#[test]
fn construction_is_cheap() {
    let r = Reassembler::new();
    assert_eq!(r.buffered_bytes(), 0);
    assert!(!r.has_undelivered_data());
    assert!(
        std::mem::size_of::<Reassembler>() <= 160,
        "{}",
        std::mem::size_of::<Reassembler>()
    );
}

#[test]
fn in_order() {
    let mut t = T::new();
    assert_eq!(t.send(1, b"hello "), vec![data(1, b"hello ")]);
    assert_eq!(t.send(7, b"world"), vec![data(7, b"world")]);
    assert_eq!(t.r.data_seq(), 12);
    // Delivered data is held until acked, as in Zeek.
    assert!(t.r.has_undelivered_data());
    assert_eq!(t.ack(12), vec![]);
    assert!(!t.r.has_undelivered_data());
    assert_eq!(t.budget.used(), 0);
    assert_eq!(
        t.budget.gaps,
        GapStats {
            ack_events: 1,
            ack_bytes: 0,
            gap_events: 0,
            gap_bytes: 0
        }
    );
}

#[test]
fn out_of_order() {
    let mut t = T::new();
    assert_eq!(t.send(4, b"def"), vec![]);
    assert_eq!(t.send(7, b"ghi"), vec![]);
    assert_eq!(t.r.num_undelivered_bytes(), 9);
    assert_eq!(
        t.send(1, b"abc"),
        vec![data(1, b"abc"), data(4, b"def"), data(7, b"ghi")]
    );
    assert_eq!(t.r.data_seq(), 10);
}

#[test]
fn overlap_same_bytes() {
    let mut t = T::new();
    t.cfg.rexmit_inconsistency_handled = true;
    assert_eq!(t.send(1, b"abcd"), vec![data(1, b"abcd")]);
    // A retransmission with more data: only the new part is delivered, no inconsistency.
    assert_eq!(t.send(3, b"cdef"), vec![data(5, b"ef")]);
}

#[test]
fn overlap_different_bytes_old_data_wins() {
    let mut t = T::new();
    t.cfg.rexmit_inconsistency_handled = true;
    assert_eq!(t.send(5, b"EFGH"), vec![]);
    // Covers 1..=10; the held bytes 5..9 win; the inconsistency is reported.
    let ev = t.send(1, b"abcdXXXXij");
    assert_eq!(
        ev,
        vec![
            Ev::Rexmit(b"EFGH".to_vec(), b"XXXX".to_vec()),
            data(1, b"abcd"),
            data(5, b"EFGH"),
            data(9, b"ij"),
        ]
    );
    // Retransmission of delivered, unacked data that differs.
    assert_eq!(t.send(2, b"B"), vec![Ev::Rexmit(b"b".to_vec(), b"B".to_vec())]);
    // Zeek's gate: a 1-byte difference is not reported if the peer never did anything
    // (keep-alives).
    t.info.peer_has_done_something = false;
    assert_eq!(t.send(2, b"Z"), vec![]);
    // Not raised at all without a handler (Zeek's default scripts).
    t.cfg.rexmit_inconsistency_handled = false;
    assert_eq!(t.send(1, b"zz"), vec![]);
}

#[test]
fn hole_then_ack_past_it_is_a_gap() {
    let mut t = T::new();
    assert_eq!(t.send(1, b"abc"), vec![data(1, b"abc")]);
    // 4..=8 never seen.
    assert_eq!(t.send(9, b"ijk"), vec![]);
    // The peer acks past the hole and past the held data.
    let ev = t.ack(12);
    assert_eq!(
        ev,
        vec![
            Ev::History(b'G', 1),
            Ev::ContentGap(4, 5),
            Ev::Undelivered(4, 5),
            data(9, b"ijk"),
        ]
    );
    assert_eq!(t.r.missed_bytes(), 5);
    assert!(t.r.had_gap());
    assert_eq!(
        t.budget.gaps,
        GapStats {
            ack_events: 1,
            ack_bytes: 0,
            gap_events: 1,
            gap_bytes: 5
        }
    );
    // Delivery resumes after it.
    assert_eq!(t.send(12, b"l"), vec![data(12, b"l")]);
}

#[test]
fn ack_above_all_data() {
    let mut t = T::new();
    t.info.is_orig = false;
    assert_eq!(t.send(1, b"ab"), vec![data(1, b"ab")]);
    // Acked up to 10: 3..=9 acknowledged but never seen.
    assert_eq!(
        t.ack(10),
        vec![Ev::History(b'g', 1), Ev::ContentGap(3, 7), Ev::Undelivered(3, 7)]
    );
    assert_eq!(t.budget.gaps.gap_bytes, 7);
    assert_eq!(t.r.data_seq(), 10);
}

#[test]
fn gap_history_is_scaled() {
    let mut t = T::new();
    let mut hist = Vec::new();
    let mut seq = 1;
    for _ in 0..120 {
        // one byte missing, then one byte, then an ack past both
        for e in t.send(seq + 1, b"x") {
            assert!(matches!(e, Ev::Data(..)), "{e:?}");
        }
        for e in t.ack(seq + 2) {
            if let Ev::History(c, th) = e {
                hist.push((c, th));
            }
        }
        seq += 2;
    }
    assert_eq!(hist, vec![(b'G', 1), (b'G', 10), (b'G', 100)]);
    assert_eq!(t.r.missed_bytes(), 120);
    assert_eq!(t.r.content_gaps(), 120);
}

#[test]
fn gaps_not_reported_unless_clean() {
    let mut t = T::new();
    t.info.peer_state = TcpState::Partial;
    t.send(5, b"x");
    assert_eq!(t.ack(6), vec![Ev::Undelivered(1, 4), data(5, b"x")]);
    assert_eq!(t.r.missed_bytes(), 0);
    // Not counted in the gap statistics either (both endpoints must be ESTABLISHED).
    assert_eq!(t.budget.gaps, GapStats::default());
    // report_gaps_for_partial reports them.
    let mut t = T::new();
    t.cfg.report_gaps_for_partial = true;
    t.info.peer_state = TcpState::Partial;
    t.send(5, b"x");
    assert_eq!(
        t.ack(6),
        vec![Ev::ContentGap(1, 4), Ev::Undelivered(1, 4), data(5, b"x")]
    );
    assert_eq!(t.budget.gaps.gap_events, 1);
}

#[test]
fn partial_connection_first_ack_is_ignored() {
    let mut t = T::new();
    t.info.partial = true;
    // A keep-alive-like complaint about seq 1: Zeek ignores Undelivered(up_to <= 2).
    assert_eq!(t.ack(2), vec![]);
    assert_eq!(t.r.data_seq(), 1);
}

#[test]
fn fin_handling() {
    let mut t = T::new();
    assert_eq!(t.send(1, b"abc"), vec![data(1, b"abc")]);
    // FIN after the data: seq 4 is the FIN octet, FIN_seq = 5.
    // Peer data is still held (unacked), but our own data is all delivered: EOF.
    assert_eq!(t.fin(), vec![Ev::Eof]);
    // The ACK of the FIN (5) is clamped to FIN_seq - 1 = 4: no gap.
    assert_eq!(t.ack(5), vec![]);
    assert_eq!(t.r.missed_bytes(), 0);
    // EOF only once.
    assert_eq!(t.fin(), vec![]);
}

#[test]
fn fin_with_hole_waits_for_ack() {
    let mut t = T::new();
    t.send(4, b"def");
    // FIN at 7 (FIN_seq 8); data 1..=3 missing: data is pending, no EOF yet.
    assert_eq!(t.fin(), vec![]);
    assert!(t.r.data_pending(&t.info));
    // The ACK of everything reveals the gap, delivers, then CheckEOF fires.
    assert_eq!(
        t.ack(8),
        vec![
            Ev::History(b'G', 1),
            Ev::ContentGap(1, 3),
            Ev::Undelivered(1, 3),
            data(4, b"def"),
            Ev::Eof
        ]
    );
}

#[test]
fn eof_waits_for_peer_undelivered() {
    let mut t = T::new();
    t.send(1, b"ab");
    t.info.peer_has_undelivered = true;
    assert_eq!(t.fin(), vec![]);
    t.info.state = TcpState::Reset;
    let mut v = Vec::new();
    t.r.check_eof(&t.info, &mut |e| v.push(own(e)));
    assert_eq!(v, vec![Ev::Eof]);
}

#[test]
fn done_does_not_report_pending_data() {
    let mut t = T::new();
    t.send(1, b"ab");
    t.send(10, b"zz");
    let mut v = Vec::new();
    t.r.done(&t.cfg, &mut t.budget, &mut |e| v.push(own(e)));
    assert_eq!(v, vec![]);
    assert_eq!(t.budget.used(), 0);
    // With signatures loaded, Zeek matches the delivered-but-unacked blocks (sic).
    let mut t = T::new();
    t.cfg.signatures_loaded = true;
    t.send(1, b"ab");
    t.send(10, b"zz");
    let mut v = Vec::new();
    t.r.done(&t.cfg, &mut t.budget, &mut |e| v.push(own(e)));
    assert_eq!(v, vec![Ev::Match(b"ab".to_vec())]);
}

#[test]
fn truncated_payload() {
    let mut t = T::new();
    let mut v = Vec::new();
    let ok =
        t.r.data_sent(&t.cfg, &mut t.budget, &t.info, 1, 10, b"abc", &mut |e| v.push(own(e)));
    assert!(!ok);
    assert_eq!(v, vec![Ev::Weird(Weird::truncated_tcp_payload)]);
    // Extra captured bytes (padding) are ignored.
    let mut v = Vec::new();
    t.r.data_sent(&t.cfg, &mut t.budget, &t.info, 1, 2, b"abc", &mut |e| v.push(own(e)));
    assert_eq!(v, vec![data(1, b"ab")]);
}

#[test]
fn above_hole_without_any_acks() {
    let mut t = T::new();
    // NumUndeliveredBytes() = last upper - 1 must exceed 16384.
    let big = vec![b'x'; 16383];
    assert_eq!(t.send(2, &big), vec![]);
    assert_eq!(
        t.send(16385, b"y"),
        vec![Ev::Weird(Weird::above_hole_data_without_any_acks)]
    );
    assert!(t.r.skipping_deliveries());
    assert_eq!(t.budget.used(), 0);
    assert_eq!(t.send(1, b"a"), vec![]);
    assert!(!t.r.data_pending(&t.info));
}

#[test]
fn excessive_data_without_further_acks() {
    let mut t = T::new();
    t.cfg.excessive_data_without_further_acks = 100;
    t.info.no_data_acked = false;
    t.send(1, &[1; 60]);
    assert_eq!(
        t.send(61, &[2; 60]),
        vec![
            data(61, &[2; 60]),
            Ev::Weird(Weird::excessive_data_without_further_acks)
        ]
    );
    assert!(t.r.skipping_deliveries());
}

#[test]
fn max_initial_window_releases_delivered_data() {
    let mut t = T::new();
    t.cfg.max_initial_window = 10;
    t.send(1, &[1; 8]);
    assert!(t.r.has_undelivered_data());
    t.send(9, &[1; 8]); // size 16 > 10 and nothing acked: delivered data is not held
    assert!(!t.r.has_undelivered_data());
    assert_eq!(t.r.trim_seq(), 17);
    // Peer without reassembler: never held.
    let mut t = T::new();
    t.info.peer_has_contents = false;
    t.send(1, b"abc");
    assert!(!t.r.has_undelivered_data());
    assert_eq!(t.budget.used(), 0);
}

#[test]
fn old_segments_detect_rexmit_of_acked_data() {
    let mut t = T::new();
    t.cfg.rexmit_inconsistency_handled = true;
    t.cfg.max_old_segments = 2;
    t.send(1, b"abcd");
    t.ack(5);
    assert_eq!(t.send(1, b"abXd"), vec![Ev::Rexmit(b"abcd".to_vec(), b"abXd".to_vec())]);
    t.cfg.max_old_segments = 0;
    let mut t2 = T::new();
    t2.cfg.rexmit_inconsistency_handled = true;
    t2.send(1, b"abcd");
    t2.ack(5);
    assert_eq!(t2.send(1, b"abXd"), vec![]);
}

#[test]
fn budget_per_direction_evicts_oldest_above_hole() {
    let cost = |n: u64| n + weir_reassembly::BLOCK_OVERHEAD;
    let mut t = T::with(Config::default(), Budget::new(1 << 20, cost(100) * 2));
    t.send(11, &[b'a'; 100]);
    t.send(111, &[b'b'; 100]);
    assert_eq!(t.budget.stats.eviction_events, 0);
    // A third block does not fit: the oldest (lowest) buffered block is given up.
    t.send(211, &[b'c'; 100]);
    assert_eq!(t.budget.stats.eviction_events, 1);
    assert_eq!(t.budget.stats.evicted_undelivered_bytes, 100);
    assert_eq!(t.r.buffered_bytes(), cost(100) * 2);
    // The peer acks everything: the gap covers the hole and the given-up block.
    let ev = t.ack(311);
    assert_eq!(
        ev,
        vec![
            Ev::History(b'G', 1),
            Ev::ContentGap(1, 110),
            Ev::Undelivered(1, 110),
            data(111, &[b'b'; 100]),
            data(211, &[b'c'; 100]),
        ]
    );
    assert_eq!(t.r.missed_bytes(), 110);
    assert_eq!(t.budget.used(), 0);
}

#[test]
fn budget_delivered_data_is_given_up_first_and_in_order_data_flows() {
    let cost = |n: u64| n + weir_reassembly::BLOCK_OVERHEAD;
    let mut t = T::with(Config::default(), Budget::new(cost(100), cost(100)));
    let mut delivered = 0;
    for i in 0..50u64 {
        for e in t.send(1 + i * 100, &[i as u8; 100]) {
            if let Ev::Data(_, d) = e {
                delivered += d.len();
            }
        }
        assert!(t.budget.used() <= cost(100));
    }
    assert_eq!(delivered, 5000);
    assert_eq!(t.budget.stats.evicted_delivered_bytes, 4900);
    assert_eq!(t.budget.stats.evicted_undelivered_bytes, 0);
    // The ACK of everything finds no gap.
    assert_eq!(t.ack(5001), vec![]);
    assert_eq!(t.r.missed_bytes(), 0);
}

#[test]
fn budget_refuses_when_worker_is_full_but_delivers_in_order_data() {
    let cost = |n: u64| n + weir_reassembly::BLOCK_OVERHEAD;
    let mut budget = Budget::new(cost(10), 1 << 20);
    let cfg = Config::default();
    let mut a = T::with(cfg.clone(), Budget::new(0, 0));
    let mut b = T::with(cfg.clone(), Budget::new(0, 0));
    let mut v = Vec::new();
    a.r.data_sent(&cfg, &mut budget, &a.info, 5, 10, &[1; 10], &mut |e| v.push(own(e)));
    assert_eq!(budget.used(), cost(10));
    // b cannot buffer anything: out-of-order data is refused ...
    b.r.data_sent(&cfg, &mut budget, &b.info, 5, 10, &[2; 10], &mut |e| v.push(own(e)));
    assert_eq!(budget.stats.refused_bytes, 10);
    assert!(v.is_empty());
    // ... in-order data is delivered without being held.
    b.r.data_sent(&cfg, &mut budget, &b.info, 1, 4, &[3; 4], &mut |e| v.push(own(e)));
    assert_eq!(v, vec![data(1, &[3; 4])]);
    assert_eq!(b.r.buffered_bytes(), 0);
    assert_eq!(budget.used(), cost(10));
    a.r.release(&mut budget);
    assert_eq!(budget.used(), 0);
}

/// "A trace built to defeat it": many connections, each with a hole at its start and data
/// buffered above it, never acked. The worker budget must hold throughout.
#[test]
fn budget_holds_against_many_connections_with_initial_holes() {
    let worker_limit = 1 << 20;
    let mut budget = Budget::new(worker_limit, 64 << 10);
    let cfg = Config::default();
    let info = T::new().info;
    let mut conns: Vec<[Reassembler; 2]> = Vec::new();
    let mut sink = |_e: Event<'_>| {};
    let payload = [0x41u8; 1400];
    for c in 0..5000u64 {
        let mut pair = [Reassembler::new(), Reassembler::new()];
        for (d, r) in pair.iter_mut().enumerate() {
            // Byte 1 is missing; 8 segments buffered above the hole, in a shuffled order.
            for k in [3u64, 0, 7, 1, 5, 2, 6, 4] {
                let seq = 2 + k * 1400 + (c + d as u64) % 3;
                r.data_sent(&cfg, &mut budget, &info, seq, 1400, &payload, &mut sink);
                assert!(budget.used() <= worker_limit);
                assert!(r.buffered_bytes() <= budget.direction_limit());
            }
        }
        conns.push(pair);
    }
    let held: u64 = conns.iter().flat_map(|p| p.iter()).map(|r| r.buffered_bytes()).sum();
    assert_eq!(held, budget.used());
    assert!(budget.stats.peak <= worker_limit);
    assert!(budget.stats.refused_bytes > 0);
    // About 10000 directions * 11 KB were offered; at most 1 MiB is held.
    assert!(held > worker_limit / 2, "{held}");
    for p in conns.iter_mut() {
        for r in p.iter_mut() {
            r.done(&cfg, &mut budget, &mut sink);
        }
    }
    assert_eq!(budget.used(), 0);
}

#[test]
fn shed_gives_up_oldest_first() {
    let cost = |n: u64| n + weir_reassembly::BLOCK_OVERHEAD;
    let mut t = T::new();
    t.send(1, b"abc"); // delivered, unacked
    t.send(10, b"xyz"); // above a hole
    t.send(20, b"uvw");
    assert_eq!(t.r.shed(&mut t.budget, 1), cost(3));
    assert_eq!(t.budget.stats.evicted_delivered_bytes, 3);
    assert_eq!(t.r.shed(&mut t.budget, cost(3) + 1), 2 * cost(3));
    assert_eq!(t.budget.stats.evicted_undelivered_bytes, 6);
    assert_eq!(t.r.shed(&mut t.budget, 100), 0);
    assert_eq!(t.budget.used(), 0);
    // The shed data above the hole surfaces as part of the gap when acked.
    assert_eq!(
        t.ack(23),
        vec![Ev::History(b'G', 1), Ev::ContentGap(4, 19), Ev::Undelivered(4, 19)]
    );
}

#[test]
fn tracking_mode_same_gaps_no_bytes() {
    let mut t = T::new();
    t.r = Reassembler::tracking();
    assert!(!t.r.keeps_data());
    assert_eq!(t.send(1, b"abc"), vec![Ev::NotKept(1, 3)]);
    assert_eq!(t.send(9, b"ijk"), vec![]);
    // Only overhead is charged.
    assert_eq!(t.budget.used(), 2 * weir_reassembly::BLOCK_OVERHEAD);
    assert_eq!(
        t.ack(12),
        vec![
            Ev::History(b'G', 1),
            Ev::ContentGap(4, 5),
            Ev::Undelivered(4, 5),
            Ev::NotKept(9, 3)
        ]
    );
    assert_eq!(t.r.missed_bytes(), 5);
    assert_eq!(
        t.budget.gaps,
        GapStats {
            ack_events: 1,
            ack_bytes: 0,
            gap_events: 1,
            gap_bytes: 5
        }
    );
    // An analyzer attaches: bytes are kept from now on; ranges held before come as NotKept.
    t.send(20, b"tu");
    t.r.set_keep_data(true);
    t.send(22, b"vw");
    assert_eq!(
        t.send(12, &[b'l'; 8]),
        vec![data(12, &[b'l'; 8]), Ev::NotKept(20, 2), data(22, b"vw")]
    );
}
