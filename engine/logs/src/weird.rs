//! weird.log: its schema, and [`WeirdPolicy`], which decides which weirds get a row.
//!
//! Zeek filters a weird twice before it reaches weird.log:
//!
//! 1. **The Reporter's sampling** (`src/Reporter.cc`, `src/WeirdState.cc`). Per weird name, counted
//!    separately for net weirds (globally), flow weirds (per address pair) and conn weirds (per
//!    connection): the first `Weird::sampling_threshold` (25) pass, after that one in
//!    `sampling_rate` (1000) does. Names in `sampling_whitelist` always pass; names in
//!    `sampling_global_list` are counted as net weirds whatever their scope. Net counters are reset
//!    `sampling_duration` (10 min) after they were created; a flow's counters likewise; a
//!    connection's counter restarts when a weird comes more than `sampling_duration` after its
//!    sampling began.
//! 2. **The script layer** (`base/frameworks/notice/weird.zeek`, `do_weird`): the name's action
//!    (`Weird::actions`, default `ACTION_LOG`); `ACTION_IGNORE` drops it; a repeat of the same name
//!    with the same identifier (the connection or flow) within 10 min (`weird_ignore`,
//!    `&create_expire=10min`) is dropped unless the name is in `weird_do_not_ignore_repeats`;
//!    `ignore_hosts` drops it by originator or responder; the limiting actions log once per name
//!    (`_ONCE`), per connection/flow (`_PER_CONN`) or per originator (`_PER_ORIG`) for a day
//!    (`did_log` / `did_notice`, `&create_expire=1day`); the `NOTICE_*` actions also raise a notice
//!    (not written here) and set `notice=T` in the row.
//!
//! All of it runs in network time. One policy per worker thread: as in a Zeek cluster, where each
//! worker has its own Reporter and script state, net and flow counters are per worker. A connection
//! belongs to one worker, so per-connection state is exact.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use weir_api::log::{Field, FieldType, Schema, Value};
use weir_api::Weird;

/// weird.log's path.
pub const PATH: &str = "weird";

/// weird.log's columns, spelled and typed as in Zeek's baselines.
pub const FIELDS: [Field; 11] = [
    Field::new("ts", FieldType::Time),
    Field::new("uid", FieldType::String),
    Field::new("id.orig_h", FieldType::Addr),
    Field::new("id.orig_p", FieldType::Port),
    Field::new("id.resp_h", FieldType::Addr),
    Field::new("id.resp_p", FieldType::Port),
    Field::new("name", FieldType::String),
    Field::new("addl", FieldType::String),
    Field::new("notice", FieldType::Bool),
    Field::new("peer", FieldType::String),
    Field::new("source", FieldType::String),
];

/// The weird.log schema.
pub fn schema() -> Schema {
    Schema::new(PATH, &FIELDS)
}

/// `Weird::Action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WeirdAction {
    Unspecified,
    Ignore,
    Log,
    LogOnce,
    LogPerConn,
    LogPerOrig,
    Notice,
    NoticeOnce,
    NoticePerConn,
    NoticePerOrig,
}

impl WeirdAction {
    fn is_limiting(self) -> bool {
        use WeirdAction::*;
        matches!(
            self,
            LogOnce | LogPerConn | LogPerOrig | NoticeOnce | NoticePerConn | NoticePerOrig
        )
    }

    fn is_notice(self) -> bool {
        use WeirdAction::*;
        matches!(self, Notice | NoticeOnce | NoticePerConn | NoticePerOrig)
    }
}

/// A weird's name: a typed [`Weird`], or any other string (an analyzer-specific weird).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeirdName<'a> {
    Known(Weird),
    Other(&'a str),
}

impl<'a> WeirdName<'a> {
    pub fn as_str(&self) -> &'a str {
        match *self {
            WeirdName::Known(w) => w.name(),
            WeirdName::Other(s) => s,
        }
    }
}

impl From<Weird> for WeirdName<'_> {
    fn from(w: Weird) -> Self {
        WeirdName::Known(w)
    }
}

impl<'a> From<&'a str> for WeirdName<'a> {
    fn from(s: &'a str) -> Self {
        WeirdName::Other(s)
    }
}

/// What a weird is about, which decides how Zeek counts and identifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeirdScope<'a> {
    /// `net_weird`: about no connection or flow.
    Net,
    /// `flow_weird`: about an address pair (logged with ports 0).
    Flow { src: IpAddr, dst: IpAddr },
    /// `conn_weird`: about a connection.
    Conn {
        uid: &'a str,
        orig_h: IpAddr,
        orig_p: u16,
        resp_h: IpAddr,
        resp_p: u16,
    },
}

/// One weird occurrence.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WeirdEvent<'a> {
    /// Network time when it happened.
    pub ts: f64,
    pub name: WeirdName<'a>,
    pub scope: WeirdScope<'a>,
    /// Extra information; an empty string counts as none, as in Zeek.
    pub addl: Option<&'a str>,
    /// The analyzer or layer that raised it (`TCP`, `IP`, `VXLAN`); empty counts as none.
    pub source: &'a str,
}

/// A weird.log row the policy decided to write.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WeirdRow<'a> {
    pub ts: f64,
    pub uid: Option<&'a str>,
    /// `(orig_h, orig_p, resp_h, resp_p)`.
    pub id: Option<(IpAddr, u16, IpAddr, u16)>,
    pub name: &'a str,
    pub addl: Option<&'a str>,
    pub notice: bool,
    pub peer: &'static str,
    pub source: Option<&'a str>,
}

impl<'a> WeirdRow<'a> {
    /// The row's values in [`FIELDS`] order.
    pub fn values(&self) -> [Option<Value<'a>>; 11] {
        let (oh, op, rh, rp) = match self.id {
            Some((oh, op, rh, rp)) => (
                Some(Value::Addr(oh)),
                Some(Value::Port(op)),
                Some(Value::Addr(rh)),
                Some(Value::Port(rp)),
            ),
            None => (None, None, None, None),
        };
        [
            Some(Value::Time(self.ts)),
            self.uid.map(Value::str),
            oh,
            op,
            rh,
            rp,
            Some(Value::str(self.name)),
            self.addl.map(Value::str),
            Some(Value::Bool(self.notice)),
            Some(Value::str(self.peer)),
            self.source.map(Value::str),
        ]
    }
}

/// The settings of both layers, with Zeek's defaults from [`WeirdConfig::default`].
#[derive(Clone, Debug)]
pub struct WeirdConfig {
    /// `Weird::sampling_whitelist`: never sampled.
    pub sampling_whitelist: HashSet<String>,
    /// `Weird::sampling_global_list`: sampled globally (as net weirds) whatever their scope.
    pub sampling_global_list: HashSet<String>,
    /// `Weird::sampling_threshold`.
    pub sampling_threshold: u64,
    /// `Weird::sampling_rate`; 0 = nothing passes after the threshold.
    pub sampling_rate: u64,
    /// `Weird::sampling_duration`, seconds.
    pub sampling_duration: f64,
    /// `Weird::actions`, the names Zeek lists; the others get `default_action`.
    pub actions: HashMap<String, WeirdAction>,
    /// The `&default` of `Weird::actions`.
    pub default_action: WeirdAction,
    /// `Weird::ignore_hosts`: (address, name) pairs; matches originator or responder.
    pub ignore_hosts: HashMap<IpAddr, HashSet<String>>,
    /// `Weird::weird_do_not_ignore_repeats`.
    pub do_not_ignore_repeats: HashSet<String>,
    /// `&create_expire` of `Weird::weird_ignore`, seconds.
    pub ignore_repeats_for: f64,
    /// `&create_expire` of `Weird::did_log` and `Weird::did_notice`, seconds.
    pub limit_for: f64,
    /// `peer_description`.
    pub peer: &'static str,
}

/// `Weird::actions` in `base/frameworks/notice/weird.zeek` (Zeek 9.1), every entry that is not the
/// default `ACTION_LOG`.
const ZEEK_ACTIONS: &[(&str, WeirdAction)] = {
    use WeirdAction::*;
    &[
        ("unsolicited_SYN_response", Ignore),
        ("bad_ICMP_checksum", LogPerOrig),
        ("bad_RPC", LogPerOrig),
        ("bad_TCP_checksum", LogPerOrig),
        ("bad_UDP_checksum", LogPerOrig),
        ("connection_originator_SYN_ack", LogPerOrig),
        ("DNS_label_forward_compress_offset", LogPerOrig),
        ("DNS_label_len_gt_name_len", LogPerOrig),
        ("DNS_label_len_gt_pkt", LogPerOrig),
        ("DNS_label_too_long", LogPerOrig),
        ("excess_RPC", LogPerOrig),
        ("FIN_after_reset", Ignore),
        ("FIN_storm", NoticePerOrig),
        ("FTP_max_command_length_exceeded", LogPerConn),
        ("FTP_too_many_pending_commands", LogPerConn),
        ("FTP_user_too_long", LogPerConn),
        ("FTP_reply_msg_too_long", LogPerConn),
        ("FTP_arg_too_long", LogPerConn),
        ("FTP_password_too_long", LogPerConn),
        ("originator_RPC_reply", LogPerOrig),
        ("partial_RPC", LogPerOrig),
        ("responder_RPC_call", LogPerOrig),
        ("simultaneous_open", LogPerConn),
        ("smtp_mail_transaction_invalid", LogPerConn),
        ("smtp_excessive_invalid_mail_transactions", LogPerConn),
        ("spontaneous_FIN", Ignore),
        ("spontaneous_RST", Ignore),
        ("smb_tree_connect_andx_response_without_tree", LogPerConn),
        ("successful_RPC_reply_to_invalid_request", NoticePerOrig),
        ("SYN_after_partial", NoticePerOrig),
        ("SYN_with_data", LogPerOrig),
        ("UDP_datagram_length_mismatch", LogPerOrig),
        ("excessively_small_fragment", LogPerOrig),
        ("fragment_inconsistency", LogPerOrig),
        ("fragment_overlap", LogPerOrig),
        ("fragment_size_inconsistency", LogPerOrig),
        ("bad_IP_checksum", LogPerOrig),
        ("SSH_max_packet_length_exceeded", LogPerOrig),
        ("SSH_max_string_length_exceeded", LogPerOrig),
    ]
};

impl Default for WeirdConfig {
    fn default() -> WeirdConfig {
        let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<HashSet<_>>();
        WeirdConfig {
            sampling_whitelist: HashSet::new(),
            sampling_global_list: HashSet::new(),
            sampling_threshold: 25,
            sampling_rate: 1000,
            sampling_duration: 600.0,
            actions: ZEEK_ACTIONS.iter().map(|(n, a)| (n.to_string(), *a)).collect(),
            default_action: WeirdAction::Log,
            ignore_hosts: HashMap::new(),
            do_not_ignore_repeats: set(&[
                "bad_IP_checksum",
                "bad_TCP_checksum",
                "bad_UDP_checksum",
                "bad_ICMP_checksum",
            ]),
            ignore_repeats_for: 600.0,
            limit_for: 86400.0,
            peer: "zeek",
        }
    }
}

/// How often expired state is swept out, seconds of network time (Zeek's `table_expire_interval`).
const SWEEP_INTERVAL: f64 = 10.0;

/// An interned weird name.
type NameId = u32;

/// The `identifier` of `do_weird`: `id_string(c$id)` for connections ("orig_h:orig_p > resp_h:resp_p",
/// no protocol), `flow_id_string` ("src -> dst") for flows, "" for net weirds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Ident {
    Empty,
    Conn(IpAddr, u16, IpAddr, u16),
    Flow(IpAddr, IpAddr),
    /// `fmt("%s", orig_h)`: the key of the `_PER_ORIG` actions.
    Orig(IpAddr),
}

#[derive(Clone, Copy, Debug)]
struct Counter {
    count: u64,
    /// Network time at which the Reporter's timer would reset it.
    reset_at: f64,
}

#[derive(Default, Debug)]
struct FlowState {
    reset_at: f64,
    counts: HashMap<NameId, u64>,
}

/// `detail::WeirdState`.
#[derive(Clone, Copy, Debug, Default)]
struct ConnCounter {
    count: u64,
    sampling_start: f64,
}

/// Zeek's two weird filters, for one worker thread. See the module documentation.
#[derive(Debug)]
pub struct WeirdPolicy {
    cfg: WeirdConfig,
    names: HashMap<Box<str>, NameId>,
    net: HashMap<NameId, Counter>,
    flows: HashMap<(IpAddr, IpAddr), FlowState>,
    conns: HashMap<Box<str>, HashMap<NameId, ConnCounter>>,
    /// `weird_ignore`, with creation times.
    ignore: HashMap<(NameId, Ident), f64>,
    /// `did_log`, with creation times.
    did_log: HashMap<(NameId, Ident), f64>,
    /// `did_notice`, with creation times.
    did_notice: HashMap<(NameId, Ident), f64>,
    next_sweep: f64,
}

impl Default for WeirdPolicy {
    fn default() -> Self {
        WeirdPolicy::new(WeirdConfig::default())
    }
}

impl WeirdPolicy {
    pub fn new(cfg: WeirdConfig) -> WeirdPolicy {
        WeirdPolicy {
            cfg,
            names: HashMap::new(),
            net: HashMap::new(),
            flows: HashMap::new(),
            conns: HashMap::new(),
            ignore: HashMap::new(),
            did_log: HashMap::new(),
            did_notice: HashMap::new(),
            next_sweep: f64::NEG_INFINITY,
        }
    }

    pub fn config(&self) -> &WeirdConfig {
        &self.cfg
    }

    /// Both layers: `Some(row)` if Zeek would write this weird to weird.log.
    pub fn decide<'a>(&mut self, ev: &WeirdEvent<'a>) -> Option<WeirdRow<'a>> {
        let now = ev.ts;
        if now >= self.next_sweep {
            self.sweep(now);
        }
        let name = ev.name.as_str();
        let name_id = self.intern(name);
        if !self.sampled(now, name, name_id, &ev.scope) {
            return None;
        }
        self.script_layer(ev, name, name_id)
    }

    /// Drops the per-connection sampling state (Zeek's lives in the `Connection`): call when a
    /// connection is removed.
    pub fn conn_removed(&mut self, uid: &str) {
        self.conns.remove(uid);
    }

    /// The Reporter layer alone: whether the weird event would be raised at all.
    pub fn sampled_only(&mut self, ev: &WeirdEvent<'_>) -> bool {
        let name = ev.name.as_str();
        let id = self.intern(name);
        self.sampled(ev.ts, name, id, &ev.scope)
    }

    fn intern(&mut self, name: &str) -> NameId {
        if let Some(&id) = self.names.get(name) {
            return id;
        }
        let id = self.names.len() as NameId;
        self.names.insert(name.into(), id);
        id
    }

    /// `Reporter::Weird` for each scope.
    fn sampled(&mut self, now: f64, name: &str, id: NameId, scope: &WeirdScope<'_>) -> bool {
        if self.cfg.sampling_whitelist.contains(name) {
            return true;
        }
        let (threshold, rate, duration) = (
            self.cfg.sampling_threshold,
            self.cfg.sampling_rate,
            self.cfg.sampling_duration,
        );
        match *scope {
            WeirdScope::Net => self.permit_net(now, id),
            _ if self.cfg.sampling_global_list.contains(name) => self.permit_net(now, id),
            WeirdScope::Flow { src, dst } => {
                let flow = self.flows.entry((src, dst)).or_default();
                if flow.counts.is_empty() || now >= flow.reset_at {
                    // A new map starts the FlowWeirdTimer; the timer erases the whole map.
                    flow.counts.clear();
                    flow.reset_at = now + duration;
                }
                let count = flow.counts.entry(id).or_insert(0);
                *count += 1;
                permit_count(*count, threshold, rate)
            }
            WeirdScope::Conn { uid, .. } => {
                let state = match self.conns.get_mut(uid) {
                    Some(m) => m,
                    None => self.conns.entry(uid.into()).or_default(),
                };
                let s = state.entry(id).or_default();
                // detail::PermitWeird
                s.count += 1;
                if s.count <= threshold {
                    return true;
                }
                if s.count == threshold + 1 {
                    s.sampling_start = now;
                } else if now > s.sampling_start + duration {
                    s.sampling_start = 0.0;
                    s.count = 1;
                    return true;
                }
                permit_count(s.count, threshold, rate)
            }
        }
    }

    /// `Reporter::PermitNetWeird`: the counter is created with a NetWeirdTimer that erases it.
    fn permit_net(&mut self, now: f64, id: NameId) -> bool {
        let duration = self.cfg.sampling_duration;
        let c = self.net.entry(id).or_insert(Counter {
            count: 0,
            reset_at: now + duration,
        });
        if now >= c.reset_at {
            *c = Counter {
                count: 0,
                reset_at: now + duration,
            };
        }
        c.count += 1;
        permit_count(c.count, self.cfg.sampling_threshold, self.cfg.sampling_rate)
    }

    /// `Weird::do_weird`, after the event handler built the `Weird::Info`.
    fn script_layer<'a>(&mut self, ev: &WeirdEvent<'a>, name: &'a str, name_id: NameId) -> Option<WeirdRow<'a>> {
        let now = ev.ts;
        let action = self.cfg.actions.get(name).copied().unwrap_or(self.cfg.default_action);
        let (ident, uid, id) = match ev.scope {
            WeirdScope::Net => (Ident::Empty, None, None),
            WeirdScope::Flow { src, dst } => (Ident::Flow(canon(src), canon(dst)), None, Some((src, 0, dst, 0))),
            WeirdScope::Conn {
                uid,
                orig_h,
                orig_p,
                resp_h,
                resp_p,
            } => (
                Ident::Conn(canon(orig_h), orig_p, canon(resp_h), resp_p),
                Some(uid),
                Some((orig_h, orig_p, resp_h, resp_p)),
            ),
        };

        if action == WeirdAction::Ignore || live(&self.ignore, &(name_id, ident), now, self.cfg.ignore_repeats_for) {
            return None;
        }
        if let Some((orig_h, _, resp_h, _)) = id {
            if !self.cfg.ignore_hosts.is_empty() {
                let ignored = |h: IpAddr| {
                    self.cfg
                        .ignore_hosts
                        .get(&canon(h))
                        .is_some_and(|names| names.contains(name))
                };
                if ignored(orig_h) || ignored(resp_h) {
                    return None;
                }
            }
        }
        if action.is_limiting() {
            let key = match (action, id) {
                (WeirdAction::LogPerOrig | WeirdAction::NoticePerOrig, Some((orig_h, ..))) => {
                    Ident::Orig(canon(orig_h))
                }
                (WeirdAction::LogOnce | WeirdAction::NoticeOnce, _) => Ident::Empty,
                _ => ident,
            };
            let (table, expire) = if action.is_notice() {
                (&mut self.did_notice, self.cfg.limit_for)
            } else {
                (&mut self.did_log, self.cfg.limit_for)
            };
            if live(table, &(name_id, key), now, expire) {
                return None;
            }
            table.insert((name_id, key), now);
        }
        if !self.cfg.do_not_ignore_repeats.contains(name) {
            self.ignore.insert((name_id, ident), now);
        }
        Some(WeirdRow {
            ts: now,
            uid,
            id,
            name,
            addl: ev.addl.filter(|a| !a.is_empty()),
            notice: action.is_notice(),
            peer: self.cfg.peer,
            source: Some(ev.source).filter(|s| !s.is_empty()),
        })
    }

    /// Forgets what has expired (as Zeek's timers and table expiration would), every
    /// [`SWEEP_INTERVAL`] of network time, so state stays bounded.
    fn sweep(&mut self, now: f64) {
        self.next_sweep = now + SWEEP_INTERVAL;
        self.net.retain(|_, c| now < c.reset_at);
        self.flows.retain(|_, f| now < f.reset_at);
        let ignore_for = self.cfg.ignore_repeats_for;
        self.ignore.retain(|_, t| now < *t + ignore_for);
        let limit_for = self.cfg.limit_for;
        self.did_log.retain(|_, t| now < *t + limit_for);
        self.did_notice.retain(|_, t| now < *t + limit_for);
    }
}

/// Whether a `&create_expire` table entry still exists at `now`.
fn live<K: std::hash::Hash + Eq>(table: &HashMap<K, f64>, key: &K, now: f64, expire: f64) -> bool {
    table.get(key).is_some_and(|created| now < created + expire)
}

/// The Reporter's threshold-then-rate rule.
fn permit_count(count: u64, threshold: u64, rate: u64) -> bool {
    if count <= threshold {
        return true;
    }
    // `% rate` only when rate != 0: a rate of 0 lets nothing through after the threshold.
    (count - threshold).checked_rem(rate) == Some(0)
}

/// Zeek prints (and so compares) an IPv4-mapped IPv6 address as IPv4.
fn canon(a: IpAddr) -> IpAddr {
    a.to_canonical()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::tsv_row;

    fn a(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn conn(uid: &str) -> WeirdScope<'_> {
        WeirdScope::Conn {
            uid,
            orig_h: a("192.168.1.28"),
            orig_p: 53246,
            resp_h: a("35.221.46.9"),
            resp_p: 80,
        }
    }

    fn ev<'a>(ts: f64, name: &'a str, scope: WeirdScope<'a>) -> WeirdEvent<'a> {
        WeirdEvent {
            ts,
            name: WeirdName::Other(name),
            scope,
            addl: None,
            source: "TCP",
        }
    }

    fn logged(p: &mut WeirdPolicy, evs: impl IntoIterator<Item = WeirdEvent<'static>>) -> Vec<usize> {
        evs.into_iter()
            .enumerate()
            .filter_map(|(i, e)| p.decide(&e).map(|_| i + 1))
            .collect()
    }

    /// The baseline row of expected/core.checksums_ignore_nets_runtime_update/weird.log.
    #[test]
    fn weird_log_row_from_baseline() {
        let mut p = WeirdPolicy::default();
        let e = WeirdEvent {
            ts: 1.5,
            name: Weird::bad_TCP_checksum.into(),
            scope: conn("CHhAvVGS1DHFjwGM9"),
            addl: Some(""),
            source: "TCP",
        };
        let row = p.decide(&e).unwrap();
        let mut out = Vec::new();
        crate::format::tsv_header(&mut out, &schema(), "X");
        tsv_row(&mut out, &schema(), &row.values());
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[6],
            "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tname\taddl\tnotice\tpeer\tsource"
        );
        assert_eq!(
            lines[7],
            "#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tbool\tstring\tstring"
        );
        assert_eq!(
            lines[8],
            "1.500000\tCHhAvVGS1DHFjwGM9\t192.168.1.28\t53246\t35.221.46.9\t80\tbad_TCP_checksum\t-\tF\tzeek\tTCP"
        );
        // LOG_PER_ORIG: the same originator on another connection is not logged again.
        let again = WeirdEvent {
            scope: conn("Cother"),
            ..e
        };
        assert!(p.decide(&again).is_none());
    }

    fn tsv(row: &WeirdRow<'_>) -> String {
        let mut out = Vec::new();
        tsv_row(&mut out, &schema(), &row.values());
        String::from_utf8(out).unwrap()
    }

    /// Rows of expected/core.mobile-ipv6-dst-opts/weird.log (flow weirds with no source, a net weird)
    /// and expected/scripts.base.protocols.dns.dns-edns-ecs/weird.log (IPv6 conn weirds with addl),
    /// `ts` masked as the canonifier does.
    #[test]
    fn rows_from_baselines() {
        let mask = |s: String| s.replacen("1.000000", "XXXXXXXXXX.XXXXXX", 1);
        let mut p = WeirdPolicy::default();
        let flow = |src| WeirdScope::Flow {
            src: a(src),
            dst: a("2001:4f8:4:7:2e0:81ff:fe52:9a6b"),
        };
        let mut e = WeirdEvent {
            ts: 1.0,
            name: Weird::bad_ipv6_dest_opt_len.into(),
            scope: flow("2001:4f8:4:7:2e0:81ff:fe52:ffff"),
            addl: None,
            source: "",
        };
        assert_eq!(
            mask(tsv(&p.decide(&e).unwrap())),
            "XXXXXXXXXX.XXXXXX\t-\t2001:4f8:4:7:2e0:81ff:fe52:ffff\t0\t2001:4f8:4:7:2e0:81ff:fe52:9a6b\t0\tbad_ipv6_dest_opt_len\t-\tF\tzeek\t-\n"
        );
        e.name = WeirdName::Other("multiple_home_addr_opts");
        e.scope = flow("2001:78:1:32::1");
        assert_eq!(
            mask(tsv(&p.decide(&e).unwrap())),
            "XXXXXXXXXX.XXXXXX\t-\t2001:78:1:32::1\t0\t2001:4f8:4:7:2e0:81ff:fe52:9a6b\t0\tmultiple_home_addr_opts\t-\tF\tzeek\t-\n"
        );
        e.name = WeirdName::Other("invalid_IP_header_size");
        e.scope = WeirdScope::Net;
        e.source = "IP";
        assert_eq!(
            mask(tsv(&p.decide(&e).unwrap())),
            "XXXXXXXXXX.XXXXXX\t-\t-\t-\t-\t-\tinvalid_IP_header_size\t-\tF\tzeek\tIP\n"
        );
        let e = WeirdEvent {
            ts: 1.0,
            name: WeirdName::Other("EDNS_ECS_invalid_addr_v6"),
            scope: WeirdScope::Conn {
                uid: "CtPZjS20MLrsMUOJi2",
                orig_h: a("2a00:1450:4013:c06::105"),
                orig_p: 63369,
                resp_h: a("2001:470:765b::a25:53"),
                resp_p: 53,
            },
            addl: Some("need 66 bits, have 56 bits"),
            source: "DNS",
        };
        let row = p.decide(&e).unwrap();
        assert_eq!(
            mask(tsv(&row)),
            "XXXXXXXXXX.XXXXXX\tCtPZjS20MLrsMUOJi2\t2a00:1450:4013:c06::105\t63369\t2001:470:765b::a25:53\t53\tEDNS_ECS_invalid_addr_v6\tneed 66 bits, have 56 bits\tF\tzeek\tDNS\n"
        );
        let mut json = Vec::new();
        crate::format::json_row(&mut json, &schema(), &row.values());
        assert_eq!(
            String::from_utf8(json).unwrap(),
            concat!(
                r#"{"ts":1.0,"uid":"CtPZjS20MLrsMUOJi2","id.orig_h":"2a00:1450:4013:c06::105","id.orig_p":63369,"#,
                r#""id.resp_h":"2001:470:765b::a25:53","id.resp_p":53,"name":"EDNS_ECS_invalid_addr_v6","#,
                r#""addl":"need 66 bits, have 56 bits","notice":false,"peer":"zeek","source":"DNS"}"#,
                "\n"
            )
        );
    }

    #[test]
    fn conn_sampling_threshold_then_rate() {
        let mut p = WeirdPolicy::default();
        let hits: Vec<usize> = (1..=2100)
            .filter(|i| p.sampled_only(&ev(1.0 + *i as f64 * 1e-3, "x", conn("C1"))))
            .map(|i| i as usize)
            .collect();
        let mut want: Vec<usize> = (1..=25).collect();
        want.extend([1025, 2025]);
        assert_eq!(hits, want);
        // Another connection has its own counter.
        assert!(p.sampled_only(&ev(3.0, "x", conn("C2"))));
        // The counter restarts once a weird comes more than sampling_duration after sampling began
        // (sampling began at the 26th, ts 1.026).
        assert!(!p.sampled_only(&ev(601.0, "x", conn("C1"))));
        assert!(p.sampled_only(&ev(601.1, "x", conn("C1"))));
        assert!(p.sampled_only(&ev(601.2, "x", conn("C1"))));
    }

    #[test]
    fn thirty_identical_conn_weirds() {
        // Both layers: the Reporter lets 25 through, but weird_ignore drops repeats of the same
        // (name, connection) for 10 minutes, so an ACTION_LOG name logs once...
        let mut p = WeirdPolicy::default();
        let got = logged(
            &mut p,
            (0..30).map(|i| ev(10.0 + i as f64, "data_after_reset", conn("C1"))),
        );
        assert_eq!(got, [1]);
        // ...and a name in weird_do_not_ignore_repeats (with ACTION_LOG) shows the sampling: the first
        // 25, then every 1000th.
        let mut cfg = WeirdConfig::default();
        cfg.actions.insert("bad_TCP_checksum".into(), WeirdAction::Log);
        let mut p = WeirdPolicy::new(cfg);
        let got = logged(
            &mut p,
            (0..1030).map(|i| ev(10.0 + i as f64 * 0.01, "bad_TCP_checksum", conn("C1"))),
        );
        let mut want: Vec<usize> = (1..=25).collect();
        want.push(1025);
        assert_eq!(got, want);
    }

    #[test]
    fn ignore_repeats_expire_after_ten_minutes() {
        let mut p = WeirdPolicy::default();
        assert!(p.decide(&ev(0.0, "data_after_reset", conn("C1"))).is_some());
        assert!(p.decide(&ev(599.0, "data_after_reset", conn("C1"))).is_none());
        // Another connection is another identifier.
        assert!(
            p.decide(&ev(599.0, "data_after_reset", conn("C2"))).is_none(),
            "same 4-tuple, same id_string"
        );
        let other = WeirdScope::Conn {
            uid: "C3",
            orig_h: a("10.0.0.1"),
            orig_p: 1,
            resp_h: a("10.0.0.2"),
            resp_p: 2,
        };
        assert!(p.decide(&ev(599.0, "data_after_reset", other)).is_some());
        assert!(p.decide(&ev(600.5, "data_after_reset", conn("C1"))).is_some());
    }

    #[test]
    fn log_per_conn_once_per_connection() {
        let mut p = WeirdPolicy::default();
        let c2 = WeirdScope::Conn {
            uid: "C2",
            orig_h: a("10.0.0.1"),
            orig_p: 1,
            resp_h: a("10.0.0.2"),
            resp_p: 2,
        };
        assert!(p.decide(&ev(1.0, "simultaneous_open", conn("C1"))).is_some());
        assert!(
            p.decide(&ev(700.0, "simultaneous_open", conn("C1"))).is_none(),
            "did_log lasts a day"
        );
        assert!(p.decide(&ev(700.0, "simultaneous_open", c2)).is_some());
        assert!(p.decide(&ev(1.0 + 86400.0, "simultaneous_open", conn("C1"))).is_some());
    }

    #[test]
    fn log_once_and_ignore_and_notice() {
        let mut cfg = WeirdConfig::default();
        cfg.actions.insert("once".into(), WeirdAction::LogOnce);
        let mut p = WeirdPolicy::new(cfg);
        let c2 = WeirdScope::Conn {
            uid: "C2",
            orig_h: a("10.0.0.1"),
            orig_p: 1,
            resp_h: a("10.0.0.2"),
            resp_p: 2,
        };
        assert!(p.decide(&ev(1.0, "once", conn("C1"))).is_some());
        assert!(p.decide(&ev(2.0, "once", c2)).is_none());
        assert!(p.decide(&ev(2.0, "once", WeirdScope::Net)).is_none());
        // ACTION_IGNORE
        assert!(p.decide(&ev(1.0, "spontaneous_RST", conn("C1"))).is_none());
        // ACTION_NOTICE_PER_ORIG still logs, with notice=T, once per originator.
        let row = p.decide(&ev(1.0, "SYN_after_partial", conn("C1"))).unwrap();
        assert!(row.notice);
        assert!(p.decide(&ev(2.0, "SYN_after_partial", conn("C9"))).is_none());
        assert!(p.decide(&ev(2.0, "SYN_after_partial", c2)).is_some());
    }

    #[test]
    fn net_and_flow_rows() {
        let mut p = WeirdPolicy::default();
        let e = WeirdEvent {
            ts: 5.0,
            name: Weird::truncated_IP.into(),
            scope: WeirdScope::Net,
            addl: Some("20 < 40"),
            source: "",
        };
        let row = p.decide(&e).unwrap();
        assert_eq!(
            (row.uid, row.id, row.addl, row.source, row.notice),
            (None, None, Some("20 < 40"), None, false)
        );
        let f = WeirdEvent {
            scope: WeirdScope::Flow {
                src: a("1.2.3.4"),
                dst: a("5.6.7.8"),
            },
            ..e
        };
        let row = p.decide(&f).unwrap();
        assert_eq!(row.id, Some((a("1.2.3.4"), 0, a("5.6.7.8"), 0)));
        let mut out = Vec::new();
        tsv_row(&mut out, &schema(), &row.values());
        assert_eq!(
            out,
            b"5.000000\t-\t1.2.3.4\t0\t5.6.7.8\t0\ttruncated_IP\t20 < 40\tF\tzeek\t-\n"
        );
        // A repeat for the same flow is dropped by weird_ignore, a new flow is not.
        assert!(p.decide(&f).is_none());
        let g = WeirdEvent {
            scope: WeirdScope::Flow {
                src: a("1.2.3.4"),
                dst: a("5.6.7.9"),
            },
            ..e
        };
        assert!(p.decide(&g).is_some());
    }

    #[test]
    fn net_and_flow_sampling_reset_by_timer() {
        let mut p = WeirdPolicy::default();
        let n = |t| ev(t, "n", WeirdScope::Net);
        for i in 0..25 {
            assert!(p.sampled_only(&n(i as f64)));
        }
        assert!(!p.sampled_only(&n(100.0)));
        // The NetWeirdTimer started with the first one (ts 0) resets the counter at 600.
        assert!(!p.sampled_only(&n(599.9)));
        assert!(p.sampled_only(&n(600.0)));
        let fl = |t, dst| {
            ev(
                t,
                "f",
                WeirdScope::Flow {
                    src: a("1.1.1.1"),
                    dst: a(dst),
                },
            )
        };
        for i in 0..25 {
            assert!(p.sampled_only(&fl(i as f64, "2.2.2.2")));
        }
        assert!(!p.sampled_only(&fl(30.0, "2.2.2.2")));
        assert!(p.sampled_only(&fl(30.0, "3.3.3.3")));
        assert!(p.sampled_only(&fl(600.0, "2.2.2.2")));
    }

    #[test]
    fn whitelist_global_list_and_ignore_hosts() {
        let mut cfg = WeirdConfig::default();
        cfg.sampling_whitelist.insert("w".into());
        cfg.sampling_global_list.insert("g".into());
        cfg.ignore_hosts.entry(a("35.221.46.9")).or_default().insert("h".into());
        let mut p = WeirdPolicy::new(cfg);
        for i in 0..100 {
            assert!(p.sampled_only(&ev(1.0, "w", conn(if i % 2 == 0 { "A" } else { "B" }))));
        }
        // The global list counts across connections.
        let uids = ["A", "B", "C", "D", "E"];
        let n = (0..30)
            .filter(|i| p.sampled_only(&ev(1.0, "g", conn(uids[i % 5]))))
            .count();
        assert_eq!(n, 25);
        // ignore_hosts matches the responder.
        assert!(p.decide(&ev(1.0, "h", conn("A"))).is_none());
        assert!(p.decide(&ev(1.0, "h2", conn("A"))).is_some());
    }
}
