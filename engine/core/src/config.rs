//! Engine settings, named and written as Zeek's script-level settings so a Zeek user can carry theirs
//! over (`--set tcp_inactivity_timeout=10 min`, `--set "ignore_checksums_nets+={10.0.0.0/8}"`).

use crate::ports::{PortProto, REGISTRATIONS};
use crate::site::NetSet;
use crate::tcp::TcpTimeouts;
use weir_decode::DecodeConfig;

/// Everything a worker needs to know, fixed for the run.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub decode: DecodeConfig,
    pub tcp: TcpTimeouts,
    pub udp_inactivity_timeout: f64,
    pub icmp_inactivity_timeout: f64,
    pub unknown_ip_inactivity_timeout: f64,
    pub ignore_checksums: bool,
    pub ignore_checksums_nets: NetSet,
    /// `Site::local_nets` (including the private address space unless turned off).
    pub local_nets: NetSet,
    /// Zeek's `likely_server_ports` as two bitsets (TCP, UDP).
    likely_tcp: Box<[u64; 1024]>,
    likely_udp: Box<[u64; 1024]>,
    pub vxlan_ports: Vec<u16>,
    /// `--community-id`: the seed (Zeek's `CommunityID::seed`, 0 by default).
    pub community_id_seed: Option<u16>,
    /// Seed for uids.
    pub seed: u64,
    /// The most connections one worker tracks at once.
    pub max_flows: usize,
    /// Zeek's `dpd_reassemble_first_packets` (T): reassemble every TCP connection's streams, as Zeek
    /// does, which is what gives conn.log its `G`/`g` history and `missed_bytes`. With F, only
    /// connections with an application analyzer are reassembled (cheaper; conn.log then reports gaps
    /// only for those).
    pub reassemble_all: bool,
    /// Zeek's TCP reassembly tunables.
    pub reassembly: weir_reassembly::Config,
    /// Bytes a worker may hold in reassembly buffers, and one direction of one connection.
    pub reassembly_worker_limit: u64,
    pub reassembly_direction_limit: u64,
    /// Tunnel decapsulation (Zeek's tunnel packet analyzers) and its settings.
    pub tunnels: bool,
    pub tunnel: weir_decode::tunnel::TunnelConfig,
    /// capture_loss.log (Zeek's `policy/misc/capture-loss`), when loaded.
    pub capture_loss: Option<weir_reassembly::capture_loss::Params>,
    /// The application analyzers of this run and their settings.
    pub registry: crate::analysis::Registry,
    /// The most IP datagrams being reassembled at once.
    pub max_frag_datagrams: usize,
    /// Zeek's `frag_timeout`, seconds.
    pub frag_timeout: f64,
}

/// Analyzer selection, as a Zeek test's loaded scripts would have it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnalyzerSet {
    All,
    Only(Vec<String>),
}

impl AnalyzerSet {
    pub fn parse(s: &str) -> Result<AnalyzerSet, String> {
        match s.trim() {
            "all" => Ok(AnalyzerSet::All),
            "none" | "" => Ok(AnalyzerSet::Only(Vec::new())),
            list => {
                let mut v = Vec::new();
                for name in list.split(',').map(|n| n.trim().to_ascii_lowercase()) {
                    if name.is_empty() {
                        continue;
                    }
                    let known = REGISTRATIONS
                        .iter()
                        .any(|r| r.name == name || r.name.replace('-', "_") == name)
                        || KNOWN_WITHOUT_PORTS.contains(&name.as_str());
                    if !known {
                        return Err(format!(
                            "unknown analyzer {name:?} in --analyzers (known: {})",
                            known_analyzers().join(", ")
                        ));
                    }
                    v.push(name);
                }
                Ok(AnalyzerSet::Only(v))
            }
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        match self {
            AnalyzerSet::All => true,
            // Zeek's base/protocols/ssl loads both the SSL and the DTLS analyzer.
            AnalyzerSet::Only(v) => v
                .iter()
                .any(|n| n == name || n.replace('_', "-") == name || (name == "dtls" && n == "ssl")),
        }
    }
}

/// Zeek protocol directories that register no ports but may be named in `--analyzers`.
const KNOWN_WITHOUT_PORTS: &[&str] = &["conn", "ntlm", "pop3", "rfb", "tunnels", "websocket"];

pub fn known_analyzers() -> Vec<&'static str> {
    let mut v: Vec<&str> = REGISTRATIONS
        .iter()
        .map(|r| r.name)
        .chain(KNOWN_WITHOUT_PORTS.iter().copied())
        .collect();
    v.sort();
    v.dedup();
    v
}

impl EngineConfig {
    /// The configuration for a run with the analyzers `available` (those the binary was built with),
    /// of which `analyzers` selects the ones to run.
    pub fn with_analyzers(analyzers: &AnalyzerSet, available: &[&'static weir_api::AnalyzerInfo]) -> EngineConfig {
        let mut c = EngineConfig::new(analyzers);
        c.registry.infos = available
            .iter()
            .copied()
            .filter(|i| analyzers.contains(i.name))
            .collect();
        c
    }

    pub fn new(analyzers: &AnalyzerSet) -> EngineConfig {
        let mut c = EngineConfig {
            decode: DecodeConfig::default(),
            tcp: TcpTimeouts::default(),
            udp_inactivity_timeout: 60.0,
            icmp_inactivity_timeout: 60.0,
            unknown_ip_inactivity_timeout: 60.0,
            ignore_checksums: false,
            ignore_checksums_nets: NetSet::default(),
            local_nets: NetSet::private_address_space(),
            likely_tcp: Box::new([0; 1024]),
            likely_udp: Box::new([0; 1024]),
            vxlan_ports: vec![4789],
            community_id_seed: None,
            seed: 0x7765_6972,
            max_flows: 4_000_000,
            max_frag_datagrams: 65_536,
            registry: crate::analysis::Registry::default(),
            reassemble_all: true,
            capture_loss: None,
            tunnels: true,
            tunnel: weir_decode::tunnel::TunnelConfig::default(),
            reassembly: weir_reassembly::Config::default(),
            reassembly_worker_limit: 256 << 20,
            reassembly_direction_limit: 8 << 20,
            frag_timeout: 300.0,
        };
        for r in REGISTRATIONS {
            if r.always_loaded || analyzers.contains(r.name) {
                for &(p, port) in r.server_ports {
                    c.add_likely_server_port(p, port);
                }
            }
        }
        c
    }

    fn capture_loss_params(&mut self) -> Result<&mut weir_reassembly::capture_loss::Params, String> {
        self.capture_loss
            .as_mut()
            .ok_or_else(|| "CaptureLoss settings need --load misc/capture-loss first".to_string())
    }

    /// Zeek's `@load` of a policy script weir implements (`misc/capture-loss`,
    /// `protocols/conn/community-id-logging`).
    pub fn load(&mut self, script: &str) -> Result<(), String> {
        let s = script.trim().trim_start_matches("policy/").trim_end_matches(".zeek");
        match s {
            "misc/capture-loss" => {
                self.capture_loss.get_or_insert_with(Default::default);
            }
            "protocols/conn/community-id-logging" => {
                self.community_id_seed.get_or_insert(0);
            }
            _ => {
                return Err(format!(
                    "--load {script}: not a policy script weir implements (it knows {})",
                    LOADABLE.join(", ")
                ))
            }
        }
        Ok(())
    }

    pub fn add_likely_server_port(&mut self, p: PortProto, port: u16) {
        let set = match p {
            PortProto::Tcp => &mut self.likely_tcp,
            PortProto::Udp => &mut self.likely_udp,
        };
        set[(port >> 6) as usize] |= 1 << (port & 63);
    }

    /// Zeek's `IsLikelyServerPort` for TCP (6) or UDP (17).
    #[inline]
    pub fn is_likely_server_port(&self, proto: u8, port: u16) -> bool {
        let set = match proto {
            6 => &self.likely_tcp,
            17 => &self.likely_udp,
            _ => return false,
        };
        set[(port >> 6) as usize] & (1 << (port & 63)) != 0
    }

    /// Applies one Zeek setting, `NAME=VALUE` or `NAME+=VALUE`.
    pub fn set(&mut self, assignment: &str) -> Result<(), String> {
        let (name, add, value) = if let Some((n, v)) = assignment.split_once("+=") {
            (n.trim(), true, v.trim())
        } else if let Some((n, v)) = assignment.split_once('=') {
            (n.trim(), false, v.trim())
        } else {
            return Err(format!("--set {assignment:?}: expected NAME=VALUE"));
        };
        let interval = |v: &str| parse_interval(v).ok_or_else(|| format!("{name}: not an interval: {v:?}"));
        match name {
            "ignore_checksums" => self.ignore_checksums = parse_bool(value)?,
            "ignore_checksums_nets" => {
                let nets = NetSet::parse(value)?;
                if add {
                    self.ignore_checksums_nets.extend(&nets);
                } else {
                    self.ignore_checksums_nets = nets;
                }
            }
            "Site::local_nets" => {
                let nets = NetSet::parse(value)?;
                // Zeek adds the private address space to local_nets when private_address_space_is_local.
                let mut all = NetSet::private_address_space();
                all.extend(&nets);
                if add {
                    self.local_nets.extend(&nets);
                } else {
                    self.local_nets = all;
                }
            }
            "likely_server_ports" => {
                let inner = value.trim().trim_start_matches('{').trim_end_matches('}');
                if !add {
                    self.likely_tcp = Box::new([0; 1024]);
                    self.likely_udp = Box::new([0; 1024]);
                }
                for p in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let (num, proto) = p.split_once('/').ok_or_else(|| format!("{name}: bad port {p:?}"))?;
                    let num: u16 = num.parse().map_err(|_| format!("{name}: bad port {p:?}"))?;
                    match proto {
                        "tcp" => self.add_likely_server_port(PortProto::Tcp, num),
                        "udp" => self.add_likely_server_port(PortProto::Udp, num),
                        _ => return Err(format!("{name}: bad port {p:?}")),
                    }
                }
            }
            "tcp_inactivity_timeout" => self.tcp.inactivity_timeout = interval(value)?,
            "udp_inactivity_timeout" => self.udp_inactivity_timeout = interval(value)?,
            "icmp_inactivity_timeout" => self.icmp_inactivity_timeout = interval(value)?,
            "unknown_ip_inactivity_timeout" => self.unknown_ip_inactivity_timeout = interval(value)?,
            "tcp_SYN_timeout" => self.tcp.syn_timeout = interval(value)?,
            "tcp_session_timer" => self.tcp.session_timer = interval(value)?,
            "tcp_connection_linger" => self.tcp.connection_linger = interval(value)?,
            "tcp_attempt_delay" => self.tcp.attempt_delay = interval(value)?,
            "tcp_close_delay" => self.tcp.close_delay = interval(value)?,
            "frag_timeout" => self.frag_timeout = interval(value)?,
            "dpd_reassemble_first_packets" => self.reassemble_all = parse_bool(value)?,
            "Tunnel::max_depth" => {
                self.tunnel.max_depth = value.parse().map_err(|_| format!("{name}: not a count: {value:?}"))?
            }
            "Tunnel::delay_teredo_confirmation" => self.tunnel.delay_teredo_confirmation = parse_bool(value)?,
            "Tunnel::delay_gtp_confirmation" => self.tunnel.delay_gtp_confirmation = parse_bool(value)?,
            "Tunnel::validate_vxlan_checksums" => self.tunnel.validate_vxlan_checksums = parse_bool(value)?,
            "CaptureLoss::watch_interval" => self.capture_loss_params()?.watch_interval = interval(value)?,
            "CaptureLoss::initial_watch_interval" => {
                self.capture_loss_params()?.initial_watch_interval = interval(value)?
            }
            "CaptureLoss::too_much_loss" => {
                self.capture_loss_params()?.too_much_loss =
                    value.parse().map_err(|_| format!("{name}: not a double: {value:?}"))?
            }
            "CaptureLoss::minimum_acks" => {
                self.capture_loss_params()?.minimum_acks =
                    value.parse().map_err(|_| format!("{name}: not a count: {value:?}"))?
            }
            "report_gaps_for_partial" => self.reassembly.report_gaps_for_partial = parse_bool(value)?,
            "tcp_max_old_segments" => {
                self.reassembly.max_old_segments = value.parse().map_err(|_| format!("{name}: not a count"))?
            }
            "tcp_max_initial_window" => {
                self.reassembly.max_initial_window = value.parse().map_err(|_| format!("{name}: not a count"))?
            }
            "tcp_max_above_hole_without_any_acks" => {
                self.reassembly.max_above_hole_without_any_acks =
                    value.parse().map_err(|_| format!("{name}: not a count"))?
            }
            "tcp_excessive_data_without_further_acks" => {
                self.reassembly.excessive_data_without_further_acks =
                    value.parse().map_err(|_| format!("{name}: not a count"))?
            }
            "CommunityID::seed" => {
                self.community_id_seed = Some(value.parse().map_err(|_| format!("{name}: not a count: {value:?}"))?)
            }
            // weir's own: the per-worker reassembly budget and its per-direction share (bytes).
            "weir::reassembly_worker_limit" => {
                self.reassembly_worker_limit = value.parse().map_err(|_| format!("{name}: not a count"))?
            }
            "weir::reassembly_direction_limit" => {
                self.reassembly_direction_limit = value.parse().map_err(|_| format!("{name}: not a count"))?
            }
            "max_timer_expires" => {
                // weir expires every due timer before each packet, which is Zeek with max_timer_expires=0.
                let _: u64 = value.parse().map_err(|_| format!("{name}: not a count: {value:?}"))?;
            }
            // Settings of the selected analyzers (`dns_max_queries`, `SSL::max_ssl_history_length`...).
            _ if self.registry.accepts_setting(name) && add => self.registry.settings.add(name, value),
            _ if self.registry.accepts_setting(name) => self.registry.settings.insert(name, value),
            _ => {
                return Err(format!(
                    "unknown setting {name:?} (see `weir --help` for the settings weir knows)"
                ))
            }
        }
        Ok(())
    }
}

/// The policy scripts `--load` accepts.
pub const LOADABLE: &[&str] = &["misc/capture-loss", "protocols/conn/community-id-logging"];

/// The settings `--set` accepts, for `--help`.
pub const SETTINGS: &[&str] = &[
    "ignore_checksums",
    "ignore_checksums_nets",
    "Site::local_nets",
    "likely_server_ports",
    "tcp_inactivity_timeout",
    "udp_inactivity_timeout",
    "icmp_inactivity_timeout",
    "unknown_ip_inactivity_timeout",
    "tcp_SYN_timeout",
    "tcp_session_timer",
    "tcp_connection_linger",
    "tcp_attempt_delay",
    "tcp_close_delay",
    "frag_timeout",
    "dpd_reassemble_first_packets",
    "Tunnel::max_depth",
    "Tunnel::delay_teredo_confirmation",
    "Tunnel::delay_gtp_confirmation",
    "Tunnel::validate_vxlan_checksums",
    "CaptureLoss::watch_interval",
    "CaptureLoss::initial_watch_interval",
    "CaptureLoss::too_much_loss",
    "CaptureLoss::minimum_acks",
    "report_gaps_for_partial",
    "tcp_max_old_segments",
    "tcp_max_initial_window",
    "tcp_max_above_hole_without_any_acks",
    "tcp_excessive_data_without_further_acks",
    "CommunityID::seed",
    "max_timer_expires",
    "weir::reassembly_worker_limit",
    "weir::reassembly_direction_limit",
];

fn parse_bool(v: &str) -> Result<bool, String> {
    match v {
        "T" | "true" | "1" => Ok(true),
        "F" | "false" | "0" => Ok(false),
        _ => Err(format!("not a bool: {v:?} (T or F)")),
    }
}

/// Zeek intervals: `5 min`, `30secs`, `1.5 hr`, `100 msec`, or a bare number of seconds.
pub fn parse_interval(v: &str) -> Option<f64> {
    let v = v.trim();
    let split = v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: f64 = num.trim().parse().ok()?;
    let mul = match unit.trim() {
        "" | "sec" | "secs" => 1.0,
        "usec" | "usecs" => 1e-6,
        "msec" | "msecs" => 1e-3,
        "min" | "mins" => 60.0,
        "hr" | "hrs" => 3600.0,
        "day" | "days" => 86400.0,
        _ => return None,
    };
    Some(n * mul)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("5 min"), Some(300.0));
        assert_eq!(parse_interval("30secs"), Some(30.0));
        assert_eq!(parse_interval("2"), Some(2.0));
        assert_eq!(parse_interval("x"), None);
    }

    #[test]
    fn likely_server_ports_follow_analyzers() {
        let all = EngineConfig::new(&AnalyzerSet::All);
        assert!(all.is_likely_server_port(6, 80));
        assert!(all.is_likely_server_port(17, 53));
        let none = EngineConfig::new(&AnalyzerSet::Only(vec![]));
        assert!(!none.is_likely_server_port(6, 80));
        assert!(
            none.is_likely_server_port(17, 4789),
            "vxlan is a packet protocol, always loaded"
        );
        let mut c = none.clone();
        c.set("likely_server_ports += { 40190/udp }").unwrap();
        assert!(c.is_likely_server_port(17, 40190));
        assert!(c.set("nonsense=1").is_err());
    }
}
