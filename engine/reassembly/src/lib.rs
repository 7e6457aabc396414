//! TCP stream reassembly for weir: a port of Zeek 9.1's `Reassembler` (`src/Reassem.cc`) and
//! `TCP_Reassembler` (`src/analyzer/protocol/tcp/TCP_Reassembler.cc`), one object per direction.
//!
//! What it reproduces (sequence numbers are Zeek's relative ones: the first data byte after the
//! SYN is 1):
//! * in-order delivery; out-of-order segments held until the hole before them is filled;
//! * overlaps resolved as Zeek resolves them: the data already held wins, and only the parts of
//!   a new segment that fill holes are kept; differing retransmitted bytes are reported
//!   ([`Event::RexmitInconsistency`], Zeek's `rexmit_inconsistency` event, with Zeek's gate);
//! * data delivered but not yet acknowledged is kept until the peer ACKs it (as Zeek does: it is
//!   what retransmissions are compared against), except when Zeek lets it go early (peer without
//!   reassembler, `tcp_max_initial_window`);
//! * an ACK above a hole (`AckReceived` → `TrimToSeq` → `Undelivered`): the hole becomes a gap,
//!   reported as [`Event::History`] (scaled `G`/`g`), [`Event::ContentGap`] (conn.log
//!   `missed_bytes`) and [`Event::Undelivered`] (the analyzer's `NextUndelivered`), gated as Zeek
//!   gates them; delivery resumes after it;
//! * Zeek's gap statistics (`get_gap_stats()`: `ack_events`, `ack_bytes`, `gap_events`,
//!   `gap_bytes`) counted per worker in [`GapStats`], from which [`capture_loss`] computes
//!   capture_loss.log;
//! * `tcp_max_old_segments`, `tcp_max_initial_window`, `tcp_max_above_hole_without_any_acks`
//!   (weird `above_hole_data_without_any_acks`), `tcp_excessive_data_without_further_acks` (weird
//!   `excessive_data_without_further_acks`), `truncated_tcp_payload`, `detect_filtered_trace`,
//!   `report_gaps_for_partial`, `tcp_match_undelivered`, `CheckEOF`/`DataPending`, `Done`,
//!   `SkipToSeq`.
//!
//! What Zeek does not have: a memory [`Budget`] (per worker, shared by all reassemblers of the
//! worker, and per direction). See [`Budget`] for what happens when it is exceeded.
//!
//! Not ported: contents files (`SetContentsFile`/`RecordToSeq`), the `tcp_contents` event, the
//! `replaying=false` path of `DataSent` (Zeek never takes it: `TCP_Endpoint::DataSent` uses the
//! default `replaying = true`).

//!
//! # Integration with the engine (`engine/core`)
//!
//! Per worker: one [`Budget`] (e.g. in the worker struct), one [`Config`], and one
//! [`capture_loss::Scheduler`] fed with `budget.gaps`.
//!
//! Per TCP connection: a pair of reassemblers indexed like `TcpSession::ep` (`[Reassembler; 2]`,
//! e.g. `Option<Box<[Reassembler; 2]>>` in the session; `Reassembler::new()`/`tracking()` allocate
//! nothing, blocks are allocated only when data must be held). On a flip the pair is swapped
//! together with `ep` (in Zeek the reassembler belongs to the `TCP_Endpoint`).
//!
//! Which connections: **Zeek reassembles every TCP connection** (`dpd_reassemble_first_packets`
//! is T, so `TCPSessionAdapter::AddExtraAnalyzers` calls `EnableReassembly()` for all, in bare
//! mode too), and conn.log's `missed_bytes`, the `G`/`g` history letters and the capture_loss.log
//! counters come from it. So every TCP connection needs at least a [`Reassembler::tracking`]
//! pair (ranges only, no bytes: [`BLOCK_OVERHEAD`] per held range; in-order segments are held
//! until acknowledged, as in Zeek, so typically a few per direction); a connection an analyzer
//! reads gets
//! [`Reassembler::new`] (or `set_keep_data(true)` when an analyzer attaches later). Without any
//! reassembler, Zeek's conn.log cannot be reproduced for lossy connections.
//!
//! In Zeek's `TCPSessionAdapter::Process` order, for a segment from endpoint `i` (peer `p`),
//! with `Processed` as returned by `TcpSession::process`:
//! 1. `peer->AckReceived(rel_ack)` (after `UpdateStateMachine`, only for segments with ACK):
//!    `r[p].ack_received(cfg, budget, &info(p), rel_ack, out)` with `processed.rel_ack`
//!    (0 on ack underflow, as Zeek).
//! 2. `endpoint->DataSent(...)` when `len > 0 && (caplen >= len || packet children, i.e. always
//!    with ConnSize) && !RST && !Skipping() && !seq_underflow` (`processed.stream_ok`):
//!    `r[i].data_sent(cfg, budget, &info(i), processed.rel_data_seq, len, captured_payload, out)`.
//!    It raises `truncated_tcp_payload` itself when `captured_payload.len() < len` (so the engine's
//!    own raise of that weird goes away for reassembled connections).
//! 3. `endpoint->CheckEOF()` for every segment: `r[i].check_eof(&info(i), out)`.
//! 4. `ConnectionClosed` (`TcpSession::finish`): Zeek defers the close while
//!    `DataPending(endpoint)` (`!Skipping() && r[i].data_pending(&info(i))`, `close_deferred`);
//!    on [`Event::EndpointEof`] Zeek's `EndpointEOF` runs: analyzers' `EndpointEOF(is_orig)` (the
//!    analyzer API's `end_of_data`, which then replaces the call on `fin || rst`), and if the
//!    close was deferred: `pending_data_when_closed` weird if still `DataPending` and both closed,
//!    then `ConnectionClosed(endpoint, peer, deferred_gen_event)`.
//! 5. Connection removal (`TCP_Endpoint::Done`): `r[k].done(cfg, budget, out)` for both (this
//!    also returns the memory to the budget; use [`Reassembler::release`] if dropping otherwise).
//!
//! `info(k)` ([`EndpointInfo`]) is built from `ep[k]` and `ep[1-k]` (field docs name the Zeek
//! accessor); the engine needs one new field, Zeek's `FIN_seq` (`rel_seq + seg_len` when the
//! segment has FIN, next to `fin_cnt += 1`), and `peer_has_undelivered` is
//! `r[1-k].has_undelivered_data()`.
//!
//! Events, for the direction `k` of the call (`is_orig = ep[k].is_orig`):
//! * [`Event::Data`] → DPD probing and `deliver_stream(is_orig, data)` of the attached analyzers
//!   (Zeek's `ForwardStream`);
//! * [`Event::Undelivered`] → analyzers' `undelivered(is_orig, seq, len)`;
//! * [`Event::NotKept`] → nothing without analyzers (tracking); with analyzers that attached
//!   after the data was tracked, `undelivered` (their bytes are not available);
//! * [`Event::ContentGap`] → conn.log `missed_bytes += len`;
//! * [`Event::History`] → `core.add_history(code)` (already scaled: 1st, 10th, 100th gap);
//! * [`Event::Weird`] → `core.weird(w, None, WeirdSource::Tcp)`;
//! * [`Event::RexmitInconsistency`], [`Event::MatchUndelivered`] → nothing until
//!   `policy/protocols/conn/weirds.zeek` / signatures exist (off in the default [`Config`]).
//!
//! capture_loss.log: call `scheduler.after_packet(network_time, &budget.gaps)` after each packet
//! and `scheduler.finish(network_time, &budget.gaps)` at the end of input; write the rows with
//! [`capture_loss::schema`] and [`capture_loss::Measurement::row`]. Zeek is one process: with
//! several workers, sum their `GapStats` for one row per tick to match Zeek's output.

#![forbid(unsafe_code)]

pub mod capture_loss;
#[doc(hidden)]
pub mod fuzzing;

mod blocks;

use blocks::BlockMap;
pub use weir_api::Weird;

/// Zeek's tunables (script-level constants in `init-bare.zeek`), with Zeek's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `tcp_max_old_segments` (0): how many trimmed blocks are kept to detect inconsistent
    /// retransmissions of already-acknowledged data.
    pub max_old_segments: u32,
    /// `tcp_max_initial_window` (16384): if nothing of this endpoint was acked and it sent more
    /// than this, delivered data is not held for ACKs. 0 disables.
    pub max_initial_window: u64,
    /// `tcp_max_above_hole_without_any_acks` (16384). 0 disables.
    pub max_above_hole_without_any_acks: u64,
    /// `tcp_excessive_data_without_further_acks` (10 MiB). 0 disables.
    pub excessive_data_without_further_acks: u64,
    /// `report_gaps_for_partial` (F).
    pub report_gaps_for_partial: bool,
    /// `detect_filtered_trace` (F).
    pub detect_filtered_trace: bool,
    /// `tcp_match_undelivered` (T). Only matters with `signatures_loaded`.
    pub match_undelivered: bool,
    /// Whether a signature matcher exists (Zeek's `rule_matcher != nullptr`, i.e. signatures are
    /// loaded). Without it Zeek's `MatchUndelivered` does nothing; so does ours.
    pub signatures_loaded: bool,
    /// Whether a script handles `rexmit_inconsistency` (Zeek raises it only then; base scripts do
    /// not, `policy/protocols/conn/weirds.zeek` does).
    pub rexmit_inconsistency_handled: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_old_segments: 0,
            max_initial_window: 16384,
            max_above_hole_without_any_acks: 16384,
            excessive_data_without_further_acks: 10 * 1024 * 1024,
            report_gaps_for_partial: false,
            detect_filtered_trace: false,
            match_undelivered: true,
            signatures_loaded: false,
            rexmit_inconsistency_handled: false,
        }
    }
}

/// Zeek's `get_gap_stats()` record (`GapStats`), per worker. Zeek keeps these as process-wide
/// globals (`tot_ack_events`...), incremented in `TCP_Reassembler::AckReceived`; a Zeek worker is
/// one process, so one weir worker has one set. Sum them over workers for a process-wide value.
///
/// Note on `ack_bytes`: Zeek adds `seq - trim_seq` *after* `TrimToSeq(seq)` has set `trim_seq`
/// to `seq`, so in Zeek 9.1 it is always 0. We reproduce that.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GapStats {
    pub ack_events: u64,
    pub ack_bytes: u64,
    pub gap_events: u64,
    pub gap_bytes: u64,
}

/// Counters of what the memory budget did (none of this exists in Zeek).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BudgetStats {
    /// Times a reassembler had to give something up to stay within the budget.
    pub eviction_events: u64,
    /// Delivered-but-unacknowledged bytes dropped early (no effect on delivery; only the
    /// retransmission-consistency check and the gap-statistics details of a later ACK can differ).
    pub evicted_delivered_bytes: u64,
    /// Buffered bytes above a hole dropped (the oldest first, i.e. lowest sequence number first).
    /// They are treated as never captured: if the peer later ACKs them they are part of the gap
    /// then reported (`content_gap`, `missed_bytes`, `G`/`g`), exactly as for lost packets.
    pub evicted_undelivered_bytes: u64,
    /// Blocks dropped by evictions (both kinds above, and old blocks).
    pub evicted_blocks: u64,
    /// Bytes of new segments that could not be buffered at all because the budget was taken by
    /// other reassemblers (and this one had nothing left to give up). Data that was deliverable
    /// at once is still delivered (and not held); the rest is treated as never captured.
    pub refused_bytes: u64,
    /// Highest `used()` ever seen.
    pub peak: u64,
}

/// Accounting overhead charged per buffered block on top of its bytes (map node and box header),
/// so that floods of tiny segments are bounded too.
pub const BLOCK_OVERHEAD: u64 = 64;

/// A per-worker memory budget for buffered TCP data, shared by all the worker's reassemblers
/// (the engine owns one per worker and passes `&mut` to every call). It also carries the
/// worker's Zeek [`GapStats`].
///
/// Every buffered block costs `len + BLOCK_OVERHEAD`. Before a block is stored, the reassembler
/// makes room if storing it would take its direction above `direction_limit` or the worker above
/// `worker_limit`, giving up its own data in this order:
/// 1. old (already acknowledged) blocks kept for `tcp_max_old_segments`;
/// 2. delivered but not yet acknowledged blocks, lowest sequence first (free: nothing is lost);
/// 3. undelivered blocks above a hole, lowest sequence first ("the oldest buffered data"). They
///    are dropped as if never captured: the gap is reported when (and if) the peer ACKs past it,
///    exactly as Zeek reports lost packets, so conn.log's `missed_bytes`, the `G`/`g` history and
///    the gap statistics include them.
///
/// If that is not enough (the worker budget is held by other connections), the new piece is not
/// stored: when it is deliverable at once it is delivered without being kept, otherwise it is
/// dropped as never captured ([`BudgetStats::refused_bytes`]). Hence `used() <= worker_limit` and
/// every direction's `buffered_bytes() <= direction_limit` always hold.
#[derive(Clone, Debug)]
pub struct Budget {
    worker_limit: u64,
    direction_limit: u64,
    used: u64,
    pub stats: BudgetStats,
    pub gaps: GapStats,
}

impl Default for Budget {
    /// 256 MiB per worker, 16 MiB per direction (Zeek's own per-direction bound is the 10 MiB of
    /// `tcp_excessive_data_without_further_acks`, which counts bytes only; ours includes overhead).
    fn default() -> Budget {
        Budget::new(256 << 20, 16 << 20)
    }
}

impl Budget {
    pub fn new(worker_limit: u64, direction_limit: u64) -> Budget {
        Budget {
            worker_limit,
            direction_limit,
            used: 0,
            stats: BudgetStats::default(),
            gaps: GapStats::default(),
        }
    }
    /// Bytes (with overhead) currently held by all reassemblers using this budget.
    pub fn used(&self) -> u64 {
        self.used
    }
    pub fn worker_limit(&self) -> u64 {
        self.worker_limit
    }
    pub fn direction_limit(&self) -> u64 {
        self.direction_limit
    }
    fn charge(&mut self, n: u64) {
        self.used += n;
        if self.used > self.stats.peak {
            self.stats.peak = self.used;
        }
    }
    fn credit(&mut self, n: u64) {
        self.used -= n;
    }
}

/// Zeek's `EndpointState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TcpState {
    #[default]
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

/// What the reassembler needs to know about the TCP state at the time of a call (Zeek reads it
/// through `endp`, `endp->peer` and `tcp_analyzer`). "Endpoint" is the endpoint that owns this
/// reassembler (the sender of the data it reassembles); "peer" is the other one. All values
/// as they are *at the call*, i.e. after Zeek's `Process` updated them for the current packet.
#[derive(Clone, Copy, Debug, Default)]
pub struct EndpointInfo {
    /// `endp->IsOrig()` (after any flip).
    pub is_orig: bool,
    pub state: TcpState,
    pub prev_state: TcpState,
    pub peer_state: TcpState,
    pub peer_prev_state: TcpState,
    /// `FIN_cnt > 0 ? Some(FIN_seq) : None`; Zeek's `FIN_seq = rel_seq + seg_len` of the FIN
    /// (relative, so one past the FIN octet).
    pub fin_seq: Option<u64>,
    /// `RST_cnt > 0`.
    pub rst_seen: bool,
    /// `peer->FIN_cnt > 0 || peer->RST_cnt > 0`.
    pub peer_fin_or_rst: bool,
    /// `endp->NoDataAcked()`.
    pub no_data_acked: bool,
    /// `endp->Size()`.
    pub size: u64,
    /// `endp->StartSeqI64()`.
    pub start_seq: i64,
    /// `ToFullSeqSpace(endp->LastSeq(), endp->SeqWraps())`.
    pub last_seq_full: u64,
    /// `endp->peer->HasContents()`: the peer direction has a reassembler too.
    pub peer_has_contents: bool,
    /// `endp->peer->HasDoneSomething()` (`peer->last_time != 0`).
    pub peer_has_done_something: bool,
    /// `endp->peer->HasUndeliveredData()`: the peer's reassembler
    /// [`has_undelivered_data`](Reassembler::has_undelivered_data).
    pub peer_has_undelivered: bool,
    /// `tcp_analyzer->IsPartial()`.
    pub partial: bool,
    /// `tcp_analyzer->Skipping()`.
    pub skipping: bool,
}

/// The ACK `AckReceived` works with: one before the FIN's sequence number when it acknowledges the FIN.
fn effective_ack(fin_seq: Option<u64>, seq: u64) -> u64 {
    match fin_seq {
        Some(fin_seq) if seq >= fin_seq => fin_seq.wrapping_sub(1),
        _ => seq,
    }
}

fn is_clean(state: TcpState, prev: TcpState) -> bool {
    state == TcpState::Established || (state == TcpState::Closed && prev == TcpState::Established)
}

impl EndpointInfo {
    fn established_or_cleanly_closing(&self) -> bool {
        is_clean(self.state, self.prev_state) && is_clean(self.peer_state, self.peer_prev_state)
    }
}

/// What the reassembler tells the engine, in Zeek's order.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// In-order stream data for the analyzers (Zeek's `DeliverBlock` → `NextStream`/`ForwardStream`).
    Data { seq: u64, data: &'a [u8] },
    /// A content gap for the analyzers (`NextUndelivered`/`ForwardUndelivered`). Always sent.
    Undelivered { seq: u64, len: u64 },
    /// Zeek's `content_gap` event, raised only when Zeek raises it (`report_gap`). conn.log's
    /// `missed_bytes` is the sum of these `len` (see [`Reassembler::missed_bytes`]).
    ContentGap { seq: u64, len: u64 },
    /// A history letter (`G` for the originator, `g` for the responder) from Zeek's
    /// `ScaledHistoryEntry` (1st, 10th, 100th... gap). Append `code` to the connection's
    /// history; `threshold` is the threshold that was reached (Zeek raises `tcp_multiple_gap(c,
    /// is_orig, threshold)` for it when `threshold > 1`, in `HistoryThresholdEvent`).
    History { code: u8, threshold: u32 },
    /// Zeek's `rexmit_inconsistency(c, t1=old, t2=new, tcp_flags)` event (only with
    /// `Config::rexmit_inconsistency_handled`); `tcp_flags` are the current packet's flags.
    RexmitInconsistency { old: &'a [u8], new: &'a [u8] },
    /// A weird for the connection (`tcp_analyzer->Weird(name)`, source TCP).
    Weird(Weird),
    /// Data for the signature matcher (`Conn()->Match(PAYLOAD, data, is_orig, bol=false,
    /// eol=false, clear=false)`), from `MatchUndelivered`.
    MatchUndelivered { data: &'a [u8] },
    /// In-order data whose bytes were not kept (a [`Reassembler::tracking`] reassembler, or
    /// ranges buffered before [`Reassembler::set_keep_data`] turned byte keeping on). Nothing
    /// was lost on the wire: this is not a content gap. Ignore it without analyzers; with
    /// analyzers attached later, hand it to them as undelivered.
    NotKept { seq: u64, len: u64 },
    /// `CheckEOF` decided this endpoint has delivered everything: call Zeek's
    /// `TCPSessionAdapter::EndpointEOF` for this direction (once per reassembler).
    EndpointEof,
}

#[derive(Debug)]
struct Block {
    upper: u64,
    /// The bytes of `[seq, upper)`, or empty when they were not kept (tracking mode) or will
    /// never be read again (delivered at once, and neither retransmission checks nor
    /// signatures read delivered blocks).
    data: Box<[u8]>,
    /// What the block is charged to the budget: its bytes when the reassembler keeps data (held
    /// or not, so that budget decisions do not depend on which blocks are held), plus
    /// [`BLOCK_OVERHEAD`].
    cost: u64,
}

impl Block {
    fn cost(&self) -> u64 {
        self.cost
    }
}

/// One direction's reassembler (Zeek's `TCP_Reassembler`). Construction allocates nothing; blocks
/// are allocated only when data has to be held.
///
/// The owner must call [`done`](Reassembler::done) or [`release`](Reassembler::release) before
/// dropping it, so that its bytes are returned to the [`Budget`].
#[derive(Debug)]
pub struct Reassembler {
    blocks: BlockMap,
    old_blocks: BlockMap,
    /// Bytes (with overhead) held in `blocks` + `old_blocks`, charged to the budget.
    mem: u64,
    /// Data bytes in `blocks` (Zeek's `block_list.DataSize()`).
    data_size: u64,
    last_reassem_seq: u64,
    trim_seq: u64,
    seq_to_skip: u64,
    had_gap: bool,
    did_eof: bool,
    skip_deliveries: bool,
    gap_cnt: u32,
    gap_thresh: u32,
    missed_bytes: u64,
    gaps: u64,
    delivered_bytes: u64,
    keep_data: bool,
}

impl Default for Reassembler {
    fn default() -> Self {
        Self::new()
    }
}

impl Reassembler {
    /// A reassembler whose next expected byte is relative sequence 1 (Zeek's `Reassembler(1)`).
    pub const fn new() -> Reassembler {
        Reassembler {
            blocks: BlockMap::new(),
            old_blocks: BlockMap::new(),
            mem: 0,
            data_size: 0,
            last_reassem_seq: 1,
            trim_seq: 1,
            seq_to_skip: 0,
            had_gap: false,
            did_eof: false,
            skip_deliveries: false,
            gap_cnt: 0,
            gap_thresh: 1,
            missed_bytes: 0,
            gaps: 0,
            delivered_bytes: 0,
            keep_data: true,
        }
    }

    /// A reassembler that keeps sequence ranges but not bytes: for connections no analyzer
    /// reads. Zeek reassembles every TCP connection (`dpd_reassemble_first_packets = T` makes
    /// `AddExtraAnalyzers` enable reassembly for all), and what conn.log shows of it (gaps:
    /// `missed_bytes`, `G`/`g`; the gap statistics behind capture_loss.log; the weirds) depends
    /// only on which ranges are held, not on their bytes. Such a reassembler produces exactly
    /// the same events as a full one except that in-order data comes as [`Event::NotKept`]
    /// instead of [`Event::Data`], and no `RexmitInconsistency`/`MatchUndelivered` (which need
    /// bytes). A held range costs [`BLOCK_OVERHEAD`] bytes of budget.
    pub const fn tracking() -> Reassembler {
        let mut r = Reassembler::new();
        r.keep_data = false;
        r
    }

    /// Starts (or stops) keeping bytes, e.g. when an analyzer attaches to a connection that was
    /// only tracked. Ranges already held without bytes are delivered as [`Event::NotKept`].
    pub fn set_keep_data(&mut self, keep: bool) {
        self.keep_data = keep;
    }

    pub fn keeps_data(&self) -> bool {
        self.keep_data
    }

    // ----- accessors -----

    /// conn.log `missed_bytes` contribution of this direction: the sum of the lengths of the
    /// `content_gap` events raised ([`Event::ContentGap`]).
    pub fn missed_bytes(&self) -> u64 {
        self.missed_bytes
    }
    /// Number of `content_gap` events raised.
    pub fn content_gaps(&self) -> u64 {
        self.gaps
    }
    /// Zeek's `HadGap()`: a gap was reported to the analyzer.
    pub fn had_gap(&self) -> bool {
        self.had_gap
    }
    /// Zeek's `DataSeq()`/`LastReassemSeq()`: next sequence number to deliver.
    pub fn data_seq(&self) -> u64 {
        self.last_reassem_seq
    }
    pub fn trim_seq(&self) -> u64 {
        self.trim_seq
    }
    /// Zeek's `HasUndeliveredData()` (any block held, delivered-unacked ones included).
    pub fn has_undelivered_data(&self) -> bool {
        !self.blocks.is_empty()
    }
    /// Zeek's `SkipDeliveries` state (set by the two "without acks" weirds and filtered traces).
    pub fn skipping_deliveries(&self) -> bool {
        self.skip_deliveries
    }
    /// Bytes (including per-block overhead) held and charged to the budget.
    pub fn buffered_bytes(&self) -> u64 {
        self.mem
    }
    /// Data bytes delivered to the analyzers through [`Event::Data`].
    pub fn delivered_bytes(&self) -> u64 {
        self.delivered_bytes
    }
    /// Zeek's `NumUndeliveredBytes()`.
    pub fn num_undelivered_bytes(&self) -> u64 {
        match self.blocks.values().next_back() {
            Some(b) => b.upper.saturating_sub(self.last_reassem_seq),
            None => 0,
        }
    }
    /// Zeek's `SizeBufferedData`: (waiting on a hole, waiting on an ACK).
    pub fn size_buffered_data(&self) -> (u64, u64) {
        let (mut below, mut above) = (0, 0);
        let cut = self.last_reassem_seq;
        for (&seq, b) in self.blocks.iter() {
            if seq <= cut {
                if b.upper <= cut {
                    below += b.upper - seq;
                } else {
                    below += cut - seq;
                    above += b.upper - cut;
                }
            } else {
                above += b.upper - seq;
            }
        }
        (above, below)
    }

    // ----- Zeek's entry points -----

    /// Zeek's `TCP_Endpoint::DataSent` + `TCP_Reassembler::DataSent` for a segment carrying
    /// `len` payload bytes at relative sequence `seq` (Zeek's `rel_data_seq`: `rel_seq + 1` for
    /// a SYN), of which `captured` were captured (Zeek's `data`/`caplen`; extra bytes such as
    /// Ethernet padding are ignored). Returns Zeek's `need_contents` status.
    ///
    /// Call it where Zeek's `Process` does: after `AckReceived` of the peer, only when
    /// `len > 0 && (caplen >= len || has_packet_children) && !RST && !Skipping() && !seq_underflow`.
    #[allow(clippy::too_many_arguments)]
    pub fn data_sent<F: FnMut(Event<'_>)>(
        &mut self,
        cfg: &Config,
        budget: &mut Budget,
        info: &EndpointInfo,
        seq: u64,
        len: u64,
        captured: &[u8],
        out: &mut F,
    ) -> bool {
        if (captured.len() as u64) < len {
            out(Event::Weird(Weird::truncated_tcp_payload));
            return false;
        }
        if self.skip_deliveries {
            return false;
        }
        let data = &captured[..len as usize];
        self.new_block(cfg, budget, info, seq, data, out);

        if info.no_data_acked
            && cfg.max_above_hole_without_any_acks != 0
            && self.num_undelivered_bytes() > cfg.max_above_hole_without_any_acks
        {
            out(Event::Weird(Weird::above_hole_data_without_any_acks));
            self.clear_blocks(budget);
            self.skip_deliveries = true;
        }
        if cfg.excessive_data_without_further_acks != 0 && self.data_size > cfg.excessive_data_without_further_acks {
            out(Event::Weird(Weird::excessive_data_without_further_acks));
            self.clear_blocks(budget);
            self.skip_deliveries = true;
        }
        true
    }

    /// Zeek's `TCP_Reassembler::AckReceived(rel_ack)`, called on the reassembler of the
    /// endpoint being acknowledged (the packet sender's *peer*) with the packet's relative ACK,
    /// after the state machine update (Zeek: `peer->AckReceived(rel_ack)` in `Process`). Counts
    /// Zeek's gap statistics into `budget.gaps` and may emit gaps, deliveries and `EndpointEof`.
    pub fn ack_received<F: FnMut(Event<'_>)>(
        &mut self,
        cfg: &Config,
        budget: &mut Budget,
        info: &EndpointInfo,
        seq: u64,
        out: &mut F,
    ) {
        let seq = effective_ack(info.fin_seq, seq);
        if seq <= self.trim_seq {
            return;
        }
        let test_active = !self.skip_deliveries
            && !info.skipping
            && (cfg.report_gaps_for_partial
                || (info.state == TcpState::Established && info.peer_state == TcpState::Established));

        let num_missing = self.trim_to_seq(cfg, budget, info, seq, out);

        if test_active {
            budget.gaps.ack_events += 1;
            // Zeek: `tot_ack_bytes += seq - trim_seq` after TrimToSeq set trim_seq = seq.
            // (trim_seq can exceed seq after a nested trim; Zeek's uint64 arithmetic wraps.)
            budget.gaps.ack_bytes = budget.gaps.ack_bytes.wrapping_add(seq.wrapping_sub(self.trim_seq));
            if num_missing > 0 {
                budget.gaps.gap_events += 1;
                budget.gaps.gap_bytes += num_missing;
            }
        }
        self.check_eof(info, out);
    }

    /// True when [`ack_received`](Self::ack_received) with this ACK and `fin_seq` (the
    /// [`EndpointInfo::fin_seq`] it would be given) returns at once, changing and emitting
    /// nothing: the ACK is at or below what was already trimmed. Lets the caller skip building
    /// the [`EndpointInfo`].
    pub fn ack_is_stale(&self, fin_seq: Option<u64>, seq: u64) -> bool {
        effective_ack(fin_seq, seq) <= self.trim_seq
    }

    /// Zeek's `CheckEOF`: emits [`Event::EndpointEof`] once, when the endpoint has closed (FIN,
    /// CLOSED or RESET) and no data is pending. Zeek calls it after every `DataSent` position of
    /// `Process` (`endpoint->CheckEOF()`, also for packets without payload) and at the end of
    /// `AckReceived` (done by [`ack_received`](Self::ack_received)).
    pub fn check_eof<F: FnMut(Event<'_>)>(&mut self, info: &EndpointInfo, out: &mut F) {
        if !self.did_eof
            && (info.fin_seq.is_some() || info.state == TcpState::Closed || info.state == TcpState::Reset)
            && !self.data_pending(info)
        {
            self.did_eof = true;
            self.blocks.release_if_empty();
            out(Event::EndpointEof);
        }
    }

    /// Zeek's `TCP_Reassembler::DataPending` (used by `TCPSessionAdapter::DataPending` in
    /// `ConnectionClosed`/`EndpointEOF`; Zeek's adapter returns false first when `Skipping()`).
    pub fn data_pending(&self, info: &EndpointInfo) -> bool {
        if self.skip_deliveries {
            return false;
        }
        let delivered_seq = (info.start_seq as u64).wrapping_add(self.last_reassem_seq);
        let last_seq = info.last_seq_full;
        if last_seq < delivered_seq {
            return false;
        }
        if delivered_seq != last_seq.wrapping_sub(1) && delivered_seq != last_seq {
            return true;
        }
        if info.state != TcpState::Reset && info.peer_has_undelivered {
            return true;
        }
        false
    }

    /// Zeek's `TCP_Reassembler::Done` at the end of the connection: `MatchUndelivered(-1, true)`
    /// (data above holes is *not* reported as a gap, nor delivered, as in Zeek). Then all blocks
    /// are released to the budget.
    pub fn done<F: FnMut(Event<'_>)>(&mut self, cfg: &Config, budget: &mut Budget, out: &mut F) {
        self.match_undelivered(cfg, u64::MAX, true, out);
        self.release(budget);
    }

    /// Frees everything held (returns it to the budget). Use when dropping a reassembler without
    /// [`done`](Self::done).
    pub fn release(&mut self, budget: &mut Budget) {
        self.clear_blocks(budget);
        let old = std::mem::take(&mut self.old_blocks);
        for b in old.values() {
            self.uncharge(budget, b.cost());
        }
    }

    /// Zeek's `SkipToSeq` (an analyzer asks not to be given data below `seq`). Call it between
    /// packets (Zeek defers the trim when called during a delivery; our events cannot call back).
    pub fn skip_to_seq<F: FnMut(Event<'_>)>(
        &mut self,
        cfg: &Config,
        budget: &mut Budget,
        info: &EndpointInfo,
        seq: u64,
        out: &mut F,
    ) {
        if seq > self.seq_to_skip {
            self.seq_to_skip = seq;
            self.trim_to_seq(cfg, budget, info, seq, out);
        }
    }

    // ----- internals -----

    fn charge(&mut self, budget: &mut Budget, n: u64) {
        self.mem += n;
        budget.charge(n);
    }
    fn uncharge(&mut self, budget: &mut Budget, n: u64) {
        self.mem -= n;
        budget.credit(n);
    }

    /// Zeek's `ClearBlocks` (the block list, not the old blocks).
    fn clear_blocks(&mut self, budget: &mut Budget) {
        let blocks = std::mem::take(&mut self.blocks);
        for b in blocks.values() {
            self.uncharge(budget, b.cost());
        }
        self.data_size = 0;
    }

    fn remove_block(&mut self, budget: &mut Budget, seq: u64) -> Block {
        let b = self.blocks.remove(&seq).expect("block");
        self.data_size -= b.upper - seq;
        self.uncharge(budget, b.cost());
        if self.did_eof {
            // Done: a connection that stays tracked for its timers holds no block memory.
            self.blocks.release_if_empty();
        }
        b
    }

    /// Makes room for `need` more bytes; false if impossible.
    fn make_room(&mut self, budget: &mut Budget, need: u64) -> bool {
        let fits = |s: &Self, b: &Budget| s.mem + need <= b.direction_limit && b.used + need <= b.worker_limit;
        if fits(self, budget) {
            return true;
        }
        budget.stats.eviction_events += 1;
        while !fits(self, budget) {
            if !self.evict_one(budget) {
                return false;
            }
        }
        true
    }

    /// Gives up the oldest thing held: an old block, else the lowest block (delivered ones come
    /// first since they lie below the undelivered ones). False if nothing is held.
    fn evict_one(&mut self, budget: &mut Budget) -> bool {
        if let Some((&k, _)) = self.old_blocks.iter().next() {
            let b = self.old_blocks.remove(&k).unwrap();
            self.uncharge(budget, b.cost());
            budget.stats.evicted_blocks += 1;
            return true;
        }
        let Some((&k, b)) = self.blocks.iter().next() else {
            return false;
        };
        let delivered = k < self.last_reassem_seq;
        let n = b.upper - k;
        self.remove_block(budget, k);
        budget.stats.evicted_blocks += 1;
        if delivered {
            budget.stats.evicted_delivered_bytes += n;
        } else {
            budget.stats.evicted_undelivered_bytes += n;
        }
        true
    }

    /// Gives up held data, in the eviction order of [`Budget`], until at least `bytes` (with
    /// overhead) were freed or nothing is left; returns what was freed. For an engine that
    /// wants worker-wide "oldest first" eviction: when `budget.used()` nears the worker limit
    /// (or `budget.stats.refused_bytes` grows), shed from its least recently active connections.
    pub fn shed(&mut self, budget: &mut Budget, bytes: u64) -> u64 {
        let before = self.mem;
        if before > 0 {
            budget.stats.eviction_events += 1;
        }
        while before - self.mem < bytes && self.evict_one(budget) {}
        before - self.mem
    }

    fn overlap<F: FnMut(Event<'_>)>(cfg: &Config, info: &EndpointInfo, b1: &[u8], b2: &[u8], out: &mut F) {
        if cfg.rexmit_inconsistency_handled && b1 != b2 && (b1.len() > 1 || info.peer_has_done_something) {
            out(Event::RexmitInconsistency { old: b1, new: b2 });
        }
    }

    /// Zeek's `Reassembler::CheckOverlap`, called when [`BlockMap::may_overlap`] says it can find one
    /// (nothing held, as the old blocks by default, and in-order data need no call).
    #[inline(never)]
    fn check_overlap<F: FnMut(Event<'_>)>(
        cfg: &Config,
        info: &EndpointInfo,
        list: &BlockMap,
        seq: u64,
        data: &[u8],
        out: &mut F,
    ) {
        let upper = seq + data.len() as u64;
        let start = list.range(..=seq).next_back().map(|(&k, _)| k).unwrap_or(0);
        for (&bseq, b) in list.range(start..) {
            if upper <= bseq {
                break;
            }
            if seq >= b.upper {
                continue;
            }
            let (nseq, off) = if seq < bseq {
                (bseq, (bseq - seq) as usize)
            } else {
                (seq, 0)
            };
            let nupper = upper.min(b.upper);
            let n = (nupper - nseq) as usize;
            if n > 0 && !b.data.is_empty() {
                let o = (nseq - bseq) as usize;
                Self::overlap(cfg, info, &b.data[o..o + n], &data[off..off + n], out);
            }
        }
    }

    /// Zeek's `Reassembler::NewBlock` + `DataBlockList::Insert` + `BlockInserted`.
    fn new_block<F: FnMut(Event<'_>)>(
        &mut self,
        cfg: &Config,
        budget: &mut Budget,
        info: &EndpointInfo,
        mut seq: u64,
        mut data: &[u8],
        out: &mut F,
    ) {
        let max = u64::MAX - seq;
        if (data.len() as u64) > max {
            data = &data[..max as usize];
        }
        if data.is_empty() {
            return;
        }
        let upper = seq + data.len() as u64;
        if self.old_blocks.may_overlap(seq) {
            Self::check_overlap(cfg, info, &self.old_blocks, seq, data, out);
        }
        if upper <= self.trim_seq {
            return;
        }
        if self.blocks.may_overlap(seq) {
            Self::check_overlap(cfg, info, &self.blocks, seq, data, out);
        }
        if seq < self.trim_seq {
            let old = (self.trim_seq - seq) as usize;
            data = &data[old..];
            seq = self.trim_seq;
        }

        // Common case: appending after everything held (or nothing held): one piece.
        if self.blocks.values().next_back().map_or(0, |b| b.upper) <= seq {
            self.insert_piece(cfg, budget, info, seq, data, out);
            return;
        }
        // The parts of [seq, upper) no block covers (the data already held wins).
        let mut pieces: Vec<(u64, u64)> = Vec::new();
        let mut cursor = seq;
        let start = self.blocks.range(..=seq).next_back().map(|(&k, _)| k).unwrap_or(seq);
        for (&bseq, b) in self.blocks.range(start..upper) {
            if b.upper <= cursor {
                continue;
            }
            if bseq > cursor {
                pieces.push((cursor, bseq));
            }
            cursor = cursor.max(b.upper);
            if cursor >= upper {
                break;
            }
        }
        if cursor < upper {
            pieces.push((cursor, upper));
        }
        for (pseq, pupper) in pieces {
            let bytes = &data[(pseq - seq) as usize..(pupper - seq) as usize];
            self.insert_piece(cfg, budget, info, pseq, bytes, out);
        }
    }

    /// Stores one piece of new data (no block overlaps it) and delivers what became deliverable.
    fn insert_piece<F: FnMut(Event<'_>)>(
        &mut self,
        cfg: &Config,
        budget: &mut Budget,
        info: &EndpointInfo,
        pseq: u64,
        bytes: &[u8],
        out: &mut F,
    ) {
        let pupper = pseq + bytes.len() as u64;
        let stored: &[u8] = if self.keep_data { bytes } else { &[] };
        let cost = stored.len() as u64 + BLOCK_OVERHEAD;
        if self.make_room(budget, cost) {
            self.data_size += bytes.len() as u64;
            self.charge(budget, cost);
            // In-order data above everything held (the common case): what block_inserted would
            // do, without looking the block up again. It delivers exactly this block (nothing
            // lies above it) and then trims as it does.
            let in_order =
                pseq == self.last_reassem_seq && self.blocks.values().next_back().is_none_or(|b| b.upper <= pseq);
            // A block delivered at once is read again only by the retransmission check and
            // MatchUndelivered; without them its bytes need no copy.
            let read_again = cfg.rexmit_inconsistency_handled || cfg.signatures_loaded;
            let data = if in_order && !read_again { &[] } else { stored };
            self.blocks.insert(
                pseq,
                Block {
                    upper: pupper,
                    data: data.into(),
                    cost,
                },
            );
            if in_order && pupper > pseq {
                self.last_reassem_seq = pupper;
                let kept = if self.keep_data { Some(bytes) } else { None };
                self.deliver_block(pseq, pupper - pseq, kept, out);
                self.trim_after_delivery(cfg, budget, info, out);
                return;
            }
            // Delivering as each piece is inserted gives the same deliveries, in the same
            // order, as Zeek's single BlockInserted(first inserted piece).
            self.block_inserted(cfg, budget, info, pseq, out);
        } else {
            budget.stats.refused_bytes += bytes.len() as u64;
            if pseq <= self.last_reassem_seq && pupper > self.last_reassem_seq && !self.skip_deliveries {
                // Deliverable now: deliver without holding it, then whatever follows.
                let off = (self.last_reassem_seq - pseq) as usize;
                let s = self.last_reassem_seq;
                self.last_reassem_seq = pupper;
                let kept = if self.keep_data { Some(&bytes[off..]) } else { None };
                self.deliver_block(s, pupper - s, kept, out);
                if let Some((&k, _)) = self.blocks.range(self.last_reassem_seq..).next() {
                    if k == self.last_reassem_seq {
                        self.block_inserted(cfg, budget, info, k, out);
                    }
                }
            }
        }
    }

    /// Zeek's `TCP_Reassembler::BlockInserted(it)`.
    fn block_inserted<F: FnMut(Event<'_>)>(
        &mut self,
        cfg: &Config,
        budget: &mut Budget,
        info: &EndpointInfo,
        start: u64,
        out: &mut F,
    ) {
        {
            let b = &self.blocks[&start];
            if start > self.last_reassem_seq || b.upper <= self.last_reassem_seq {
                return;
            }
        }
        let mut cur = start;
        while let Some((&bseq, b)) = self.blocks.range(cur..).next() {
            if bseq > self.last_reassem_seq {
                break;
            }
            // Zeek delivers blocks starting exactly at last_reassem_seq. A block straddling it only
            // arises here after budget evictions; deliver its new tail (never in skip mode, where
            // Zeek's straddling blocks stay undelivered).
            if b.upper > self.last_reassem_seq && (bseq == self.last_reassem_seq || !self.skip_deliveries) {
                let s = self.last_reassem_seq;
                let off = (s - bseq) as usize;
                self.last_reassem_seq = b.upper;
                let stored = &self.blocks[&bseq].data;
                let len = self.last_reassem_seq - s;
                let data = if stored.is_empty() { None } else { Some(&stored[off..]) };
                Self::deliver_block_to(
                    &mut self.delivered_bytes,
                    self.seq_to_skip,
                    self.skip_deliveries,
                    s,
                    len,
                    data,
                    out,
                );
            }
            cur = bseq + 1;
        }

        self.trim_after_delivery(cfg, budget, info, out);
    }

    /// The end of Zeek's `BlockInserted`: without a peer reassembler, or above the initial window
    /// before any ACK, delivered data is not held.
    fn trim_after_delivery<F: FnMut(Event<'_>)>(
        &mut self,
        cfg: &Config,
        budget: &mut Budget,
        info: &EndpointInfo,
        out: &mut F,
    ) {
        if !info.peer_has_contents
            || (info.no_data_acked && cfg.max_initial_window != 0 && info.size > cfg.max_initial_window)
        {
            let s = self.last_reassem_seq;
            self.trim_to_seq(cfg, budget, info, s, out);
        }
    }

    fn deliver_block<F: FnMut(Event<'_>)>(&mut self, seq: u64, len: u64, data: Option<&[u8]>, out: &mut F) {
        Self::deliver_block_to(
            &mut self.delivered_bytes,
            self.seq_to_skip,
            self.skip_deliveries,
            seq,
            len,
            data,
            out,
        );
    }

    /// Zeek's `DeliverBlock`.
    /// `data` is `None` for ranges whose bytes were not kept.
    #[allow(clippy::too_many_arguments)]
    fn deliver_block_to<F: FnMut(Event<'_>)>(
        delivered: &mut u64,
        seq_to_skip: u64,
        skip_deliveries: bool,
        mut seq: u64,
        mut len: u64,
        mut data: Option<&[u8]>,
        out: &mut F,
    ) {
        if seq + len <= seq_to_skip {
            return;
        }
        if seq < seq_to_skip {
            let n = seq_to_skip - seq;
            data = data.map(|d| &d[n as usize..]);
            len -= n;
            seq = seq_to_skip;
        }
        if skip_deliveries {
            return;
        }
        match data {
            Some(data) => {
                *delivered += len;
                out(Event::Data { seq, data });
            }
            None => out(Event::NotKept { seq, len }),
        }
    }

    /// Zeek's `Reassembler::TrimToSeq` / `DataBlockList::Trim`. Returns the number of missing
    /// bytes (Zeek's `num_missing`).
    fn trim_to_seq<F: FnMut(Event<'_>)>(
        &mut self,
        cfg: &Config,
        budget: &mut Budget,
        info: &EndpointInfo,
        seq: u64,
        out: &mut F,
    ) -> u64 {
        let mut num_missing = 0;
        if let Some((&first, _)) = self.blocks.iter().next() {
            if first > self.last_reassem_seq {
                num_missing += first - self.last_reassem_seq;
            }
        } else if seq > self.last_reassem_seq {
            num_missing += seq - self.last_reassem_seq;
        }

        if seq > self.last_reassem_seq {
            self.undelivered(cfg, budget, info, seq, out);
        }

        loop {
            let mut it = self.blocks.iter();
            let Some((&fseq, first)) = it.next() else { break };
            if first.upper > seq {
                break;
            }
            let fupper = first.upper;
            match it.next() {
                Some((&nseq, _)) if nseq <= seq => {
                    if fupper != nseq {
                        num_missing += nseq - fupper;
                    }
                }
                _ => {
                    if fupper != seq && fupper != seq.wrapping_sub(1) {
                        num_missing += seq - fupper;
                    }
                }
            }
            let b = self.remove_block(budget, fseq);
            if cfg.max_old_segments > 0 {
                // Zeek's DataBlockList::Append into old_block_list (std::map: an existing key wins).
                let cost = b.cost();
                if !self.old_blocks.contains_key(&fseq) {
                    self.charge(budget, cost);
                    // Old blocks are only kept when within budget; never evict for them.
                    if self.mem > budget.direction_limit || budget.used > budget.worker_limit {
                        self.uncharge(budget, cost);
                        budget.stats.evicted_blocks += 1;
                    } else {
                        self.old_blocks.insert(fseq, b);
                    }
                }
                while self.old_blocks.len() > cfg.max_old_segments as usize {
                    let (&k, _) = self.old_blocks.iter().next().unwrap();
                    let ob = self.old_blocks.remove(&k).unwrap();
                    self.uncharge(budget, ob.cost());
                }
            }
        }

        if let Some((&first, _)) = self.blocks.iter().next() {
            if first == self.last_reassem_seq {
                self.block_inserted(cfg, budget, info, first, out);
            }
        }
        if seq > self.trim_seq {
            self.trim_seq = seq;
        }
        num_missing
    }

    /// Zeek's `TCP_Reassembler::Undelivered(up_to_seq)`.
    fn undelivered<F: FnMut(Event<'_>)>(
        &mut self,
        cfg: &Config,
        budget: &mut Budget,
        info: &EndpointInfo,
        up_to_seq: u64,
        out: &mut F,
    ) {
        if up_to_seq <= 2 && info.partial {
            // Faked-up initial sequence numbers of a partial connection (Zeek returns without
            // touching last_reassem_seq).
            return;
        }
        if up_to_seq <= self.last_reassem_seq {
            return; // Zeek: InternalError; unreachable from trim_to_seq.
        }
        if cfg.detect_filtered_trace
            && self.last_reassem_seq == 1
            && (info.fin_seq.is_some() || info.rst_seen || info.peer_fin_or_rst)
        {
            self.skip_deliveries = true;
        } else if !self.skip_deliveries {
            loop {
                // The first block at or above last_reassem_seq (Zeek skips blocks starting below).
                let next = self.blocks.range(self.last_reassem_seq..).next().map(|(&k, _)| k);
                let Some(bseq) = next else { break };
                if bseq >= up_to_seq {
                    break;
                }
                let gap_at = self.last_reassem_seq;
                let gap_len = bseq - gap_at;
                self.gap(cfg, info, gap_at, gap_len, out);
                self.last_reassem_seq += gap_len;
                self.block_inserted(cfg, budget, info, bseq, out);
            }
            if up_to_seq > self.last_reassem_seq {
                let s = self.last_reassem_seq;
                self.gap(cfg, info, s, up_to_seq - s, out);
            }
        }
        self.match_undelivered(cfg, up_to_seq, false, out);
        if up_to_seq > self.last_reassem_seq {
            self.last_reassem_seq = up_to_seq;
        }
    }

    /// Zeek's `TCP_Reassembler::Gap`.
    fn gap<F: FnMut(Event<'_>)>(&mut self, cfg: &Config, info: &EndpointInfo, seq: u64, len: u64, out: &mut F) {
        let clean = info.established_or_cleanly_closing();
        if clean {
            // TCP_Endpoint::Gap → Session::ScaledHistoryEntry(code, gap_cnt, gap_thresh, 10).
            let t = self.gap_thresh;
            self.gap_cnt = self.gap_cnt.wrapping_add(1);
            if self.gap_cnt == self.gap_thresh {
                let next = self.gap_thresh.wrapping_mul(10);
                if next <= self.gap_thresh {
                    self.gap_cnt = 0;
                } else {
                    self.gap_thresh = next;
                }
                out(Event::History {
                    code: if info.is_orig { b'G' } else { b'g' },
                    threshold: t,
                });
            }
        }
        // report_gap(): content_gap has a handler (base/protocols/conn) in every weir setup.
        if clean || cfg.report_gaps_for_partial {
            self.missed_bytes += len;
            self.gaps += 1;
            out(Event::ContentGap { seq, len });
        }
        out(Event::Undelivered { seq, len });
        self.had_gap = true;
    }

    /// Zeek's `MatchUndelivered` (which, despite its name, matches the blocks at or below
    /// `last_reassem_seq`, i.e. delivered-but-unacked ones; we reproduce that).
    fn match_undelivered<F: FnMut(Event<'_>)>(&self, cfg: &Config, up_to_seq: u64, use_last_upper: bool, out: &mut F) {
        if !cfg.signatures_loaded || (!cfg.match_undelivered && !use_last_upper) {
            return;
        }
        let Some(last) = self.blocks.values().next_back() else {
            return;
        };
        let up_to_seq = if use_last_upper { last.upper } else { up_to_seq };
        if up_to_seq <= self.last_reassem_seq || last.upper <= self.last_reassem_seq {
            return;
        }
        for b in self.blocks.values() {
            if b.upper > self.last_reassem_seq {
                break;
            }
            if b.data.is_empty() {
                continue;
            }
            out(Event::MatchUndelivered { data: &b.data });
        }
    }
}
