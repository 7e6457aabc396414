//! A connection: Zeek's `Connection` plus its session adapter (TCP, UDP, ICMP or unknown transport),
//! the ConnSize counters, history, timers, and the conn.log row it becomes.

use crate::key::ConnKey;
use crate::tcp::TcpSession;
use crate::uid::Uid;
use core::net::IpAddr;
use weir_api::Weird;

/// weird.log's `source` for a connection weird: Zeek passes the analyzer name for `Analyzer::Weird`
/// calls and nothing for direct `Connection::Weird` calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeirdSource {
    None,
    Tcp,
    Udp,
    Icmp,
    /// A packet analyzer's name (`VXLAN`, `TEREDO`...).
    Named(&'static str),
}

impl WeirdSource {
    pub fn name(self) -> &'static str {
        match self {
            WeirdSource::Named(n) => n,
            WeirdSource::None => "",
            WeirdSource::Tcp => "TCP",
            WeirdSource::Udp => "UDP",
            WeirdSource::Icmp => "ICMP",
        }
    }
}

/// A weird raised while processing a packet, logged once the packet is done (Zeek queues the event and
/// its handler sees the connection as it is after the packet).
#[derive(Clone, Debug, PartialEq)]
pub struct PendingWeird {
    pub weird: Weird,
    pub addl: Option<Box<str>>,
    pub source: WeirdSource,
}

/// What every connection has, whatever its transport (Zeek's `Connection`/`Session` and ConnSize).
#[derive(Clone, Debug)]
pub struct ConnCore {
    pub orig_h: IpAddr,
    pub orig_p: u16,
    pub resp_h: IpAddr,
    pub resp_p: u16,
    /// The IP protocol number.
    pub proto: u8,
    pub key: ConnKey,
    pub uid: Uid,
    pub start_time: f64,
    pub last_time: f64,
    history: Vec<u8>,
    hist_seen: u32,
    pub did_weird: bool,
    /// Session inactivity timeout (0 = none) and the pending inactivity timer.
    pub inactivity_timeout: f64,
    pub inactivity_at: Option<f64>,
    // ConnSize
    pub orig_pkts: u64,
    pub orig_ip_bytes: u64,
    pub resp_pkts: u64,
    pub resp_ip_bytes: u64,
    /// conn.log `missed_bytes`: the sum of the content gaps Zeek reports (`content_gap` events).
    pub missed_bytes: u64,
    /// conn.log `tunnel_parents`: uids of the encapsulations the connection was seen in.
    pub tunnel_parents: Vec<Uid>,
    /// The current encapsulation (its innermost tunnel's uid), and how often it changed.
    pub encap: Option<Uid>,
    pub tunnel_changes: u8,
    /// Services confirmed by tunnel analyzers on this (carrying) connection (`vxlan`...).
    pub services: Vec<&'static str>,
    pub tunnel_confirmed: bool,
    pub tunnel_violated: bool,
    /// Directions with a valid encapsulation so far (1 originator, 2 responder), and the last packet's.
    pub tunnel_valid_dirs: u8,
    pub tunnel_last_dir: u8,
    /// The connection carries a tunnel listed in tunnel.log (closed with it).
    pub tunnel_registered: bool,
    pub pending_weirds: Vec<PendingWeird>,
}

impl ConnCore {
    pub fn new(
        key: ConnKey,
        uid: Uid,
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        proto: u8,
        t: f64,
    ) -> ConnCore {
        ConnCore {
            orig_h: src,
            orig_p: sport,
            resp_h: dst,
            resp_p: dport,
            proto,
            key,
            uid,
            start_time: t,
            last_time: t,
            history: Vec::new(),
            hist_seen: 0,
            did_weird: false,
            inactivity_timeout: 0.0,
            inactivity_at: None,
            orig_pkts: 0,
            orig_ip_bytes: 0,
            resp_pkts: 0,
            resp_ip_bytes: 0,
            missed_bytes: 0,
            tunnel_parents: Vec::new(),
            encap: None,
            tunnel_changes: 0,
            services: Vec::new(),
            tunnel_confirmed: false,
            tunnel_violated: false,
            tunnel_valid_dirs: 0,
            tunnel_last_dir: 0,
            tunnel_registered: false,
            pending_weirds: Vec::new(),
        }
    }

    pub fn history(&self) -> &[u8] {
        &self.history
    }
    pub fn add_history(&mut self, c: u8) {
        self.history.push(c);
    }
    pub fn replace_history(&mut self, h: &[u8]) {
        self.history.clear();
        self.history.extend_from_slice(h);
    }
    /// Zeek's `Session::CheckHistory`: record `code` the first time `mask` is seen. Returns true if it
    /// had been seen before.
    pub fn check_history(&mut self, mask: u32, code: u8) -> bool {
        if self.hist_seen & mask == 0 {
            self.hist_seen |= mask;
            self.history.push(code);
            false
        } else {
            true
        }
    }
    /// Zeek's `Session::ScaledHistoryEntry` with base 10: `code` at the 1st, 10th, 100th... occurrence.
    pub fn scaled_history(&mut self, code: u8, counter: &mut u32, threshold: &mut u32) -> bool {
        *counter = counter.wrapping_add(1);
        if *counter == *threshold {
            self.history.push(code);
            let next = threshold.wrapping_mul(10);
            if next <= *threshold {
                *counter = 0;
            } else {
                *threshold = next;
            }
            true
        } else {
            false
        }
    }

    pub fn weird(&mut self, weird: Weird, addl: Option<&str>, source: WeirdSource) {
        self.did_weird = true;
        self.pending_weirds.push(PendingWeird {
            weird,
            addl: addl.map(Into::into),
            source,
        });
    }

    /// Zeek's `Connection::FlipRoles` (the transport part is the caller's).
    pub fn flip_roles(&mut self) {
        core::mem::swap(&mut self.orig_h, &mut self.resp_h);
        core::mem::swap(&mut self.orig_p, &mut self.resp_p);
        core::mem::swap(&mut self.orig_pkts, &mut self.resp_pkts);
        core::mem::swap(&mut self.orig_ip_bytes, &mut self.resp_ip_bytes);
        self.history.push(b'^');
    }

    /// Zeek's `Session::SetInactivityTimeout`.
    pub fn set_inactivity_timeout(&mut self, timeout: f64) {
        if timeout == self.inactivity_timeout {
            return;
        }
        self.inactivity_at = if timeout != 0.0 {
            Some(self.last_time + timeout)
        } else {
            None
        };
        self.inactivity_timeout = timeout;
    }

    /// Zeek's `Session::InactivityTimer`, fired at network time `now`. True = remove the connection.
    pub fn inactivity_timer(&mut self, now: f64) -> bool {
        if self.last_time + self.inactivity_timeout <= now {
            self.inactivity_at = None;
            return true;
        }
        self.inactivity_at = Some(self.last_time + self.inactivity_timeout);
        false
    }

    /// ConnSize: one more packet of `ip_len` bytes (Zeek's `IP_Hdr::TotalLen`).
    pub fn count_packet(&mut self, is_orig: bool, ip_len: u64) {
        if is_orig {
            self.orig_pkts += 1;
            self.orig_ip_bytes += ip_len;
        } else {
            self.resp_pkts += 1;
            self.resp_ip_bytes += ip_len;
        }
    }

    /// Takes back one [`ConnCore::count_packet`].
    pub fn uncount_packet(&mut self, is_orig: bool, ip_len: u64) {
        let (pkts, bytes) = if is_orig {
            (&mut self.orig_pkts, &mut self.orig_ip_bytes)
        } else {
            (&mut self.resp_pkts, &mut self.resp_ip_bytes)
        };
        *pkts = pkts.saturating_sub(1);
        *bytes = bytes.saturating_sub(ip_len);
    }
}

/// UDP and ICMP endpoint sizes (Zeek's `request_len`/`reply_len`, -1 until a packet arrives).
#[derive(Clone, Debug)]
pub struct DatagramState {
    pub req_len: i64,
    pub rep_len: i64,
    pub req_chk_cnt: u32,
    pub req_chk_thresh: u32,
    pub rep_chk_cnt: u32,
    pub rep_chk_thresh: u32,
}

impl Default for DatagramState {
    fn default() -> Self {
        DatagramState {
            req_len: -1,
            rep_len: -1,
            req_chk_cnt: 0,
            req_chk_thresh: 1,
            rep_chk_cnt: 0,
            rep_chk_thresh: 1,
        }
    }
}

impl DatagramState {
    pub fn update_length(&mut self, is_orig: bool, len: i64) {
        let l = if is_orig { &mut self.req_len } else { &mut self.rep_len };
        if *l < 0 {
            *l = len;
        } else {
            *l += len;
        }
    }
}

/// The transport-specific part of a connection.
#[derive(Debug)]
pub enum ConnKind {
    Tcp(Box<TcpSession>),
    Udp(DatagramState),
    Icmp(DatagramState),
    /// An IP protocol with no analyzer (Zeek's `unknown_transport`).
    Other,
}

#[derive(Debug)]
pub struct Conn {
    pub core: ConnCore,
    pub kind: ConnKind,
    /// Application analyzers, when any may run on this connection.
    pub analysis: Option<Box<crate::analysis::Analysis>>,
}

/// The values of one conn.log row, computed when the connection is removed (Zeek's `set_conn`).
#[derive(Clone, Copy, Debug)]
pub struct ConnSummary {
    pub proto_name: &'static str,
    pub duration: f64,
    pub orig_bytes: u64,
    pub resp_bytes: u64,
    pub conn_state: &'static str,
}

impl Conn {
    pub fn summary(&self) -> ConnSummary {
        let c = &self.core;
        let (proto_name, orig_bytes, resp_bytes, conn_state) = match &self.kind {
            ConnKind::Tcp(t) => ("tcp", t.orig_size(), t.resp_size(), t.conn_state(c.history())),
            ConnKind::Udp(d) => {
                let st = match (d.req_len >= 0, d.rep_len >= 0) {
                    (true, true) => "SF",
                    (true, false) => "S0",
                    (false, true) => "SHR",
                    (false, false) => "OTH",
                };
                ("udp", d.req_len.max(0) as u64, d.rep_len.max(0) as u64, st)
            }
            ConnKind::Icmp(d) => ("icmp", d.req_len.max(0) as u64, d.rep_len.max(0) as u64, "OTH"),
            ConnKind::Other => ("unknown_transport", 0, 0, "OTH"),
        };
        ConnSummary {
            proto_name,
            duration: c.last_time - c.start_time,
            orig_bytes,
            resp_bytes,
            conn_state,
        }
    }

    /// The earliest timer deadline of this connection.
    pub fn next_deadline(&self) -> Option<f64> {
        let t = match &self.kind {
            ConnKind::Tcp(t) => t.next_deadline(),
            _ => None,
        };
        let a = self.analysis.as_ref().and_then(|a| a.next_deadline());
        earliest(earliest(t, a), self.core.inactivity_at)
    }
}

/// The earlier of two optional deadlines (`f64::min` when both are set).
#[inline]
pub(crate) fn earliest(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}
