//! The live-capture command-line flags, for `weir -i` and `weir-live`: [`take_live_flags`] removes
//! the flags that only live capture has from an argument list and leaves the rest (the flags
//! `weir -r` shares: `--workers`, `-f`, `--logdir`, `--format`, `--set`, ...) to the caller, which
//! hands the shared ones to [`LiveArgs::apply_common`].

use crate::config::{parse_node_cfg, parse_size, parse_toml};
use crate::{ChecksumMode, FanoutMode, Group, LiveConfig, Pinning};

/// Live-capture flags, as help text (one flag a line).
pub const LIVE_USAGE: &str = "  -i IFACE               capture on IFACE (af_packet::IFACE accepted)
  --node-cfg FILE        run the worker sections of a zeekctl node.cfg
  --config FILE          run weir's TOML configuration (config/weir.toml)
  --fanout MODE          hash (default), qm, cpu, cbpf, ebpf, lb, off
  --fanout-id N          fanout group id, default 23
  --buffer-size SIZE     ring per socket, default 128MiB (AF_Packet::buffer_size)
  --block-size N         default 32768 (AF_Packet::block_size)
  --block-timeout MS     default 10 (AF_Packet::block_timeout)
  --defrag               the kernel reassembles IPv4 before the fanout (AF_Packet::enable_defrag)
  --checksum MODE        on (default), off, kernel
  --no-promisc           no promiscuous mode
  --pin LIST|auto|off    worker cores (0-3,8); default auto: the NIC's NUMA node
  --stats-interval SECS  stats.log interval, default 300; 0 = no stats.log
  --rotate-interval SECS rotate logs every SECS (wall clock, aligned on local midnight as Zeek);
                         SIGHUP rotates at once. Rotated names: conn.YYYY-MM-DD-HH-MM-SS.log
  --user USER            switch to USER once the sockets are open
  --ready-file PATH      written once the sockets are open";

/// What the live flags (and a configuration file) said.
#[derive(Clone, Debug)]
pub struct LiveArgs {
    pub live: LiveConfig,
    /// From a TOML file's `[engine] set`.
    pub engine_sets: Vec<String>,
    /// From a TOML file's `[logs]`.
    pub log_dir: Option<String>,
    pub log_format: Option<String>,
    /// The groups come from a configuration file (which has its own worker counts).
    pub from_file: bool,
}

impl LiveArgs {
    /// Applies the flags shared with `weir -r`: `--workers` (lb_procs of a `-i` capture; a
    /// configuration file's own counts win) and `-f` (attached to every socket).
    pub fn apply_common(&mut self, workers: Option<usize>, filter: Option<String>) {
        if let Some(w) = workers {
            if !self.from_file {
                self.live.groups[0].workers = w.max(1);
            }
        }
        if filter.is_some() {
            self.live.filter = filter;
        }
    }
}

/// Removes the live-capture flags from `args`. `Ok(None)` when there is neither `-i` nor a
/// configuration file (not a live run); the other flags are then left untouched.
pub fn take_live_flags(args: &mut Vec<String>) -> Result<Option<LiveArgs>, String> {
    let mut rest = Vec::new();
    let mut live = LiveConfig::new("", 1);
    live.groups.clear();
    let mut g = Group::new("", 1);
    let mut iface: Option<String> = None;
    let mut file_groups: Option<Vec<Group>> = None;
    let mut out = LiveArgs {
        live: live.clone(),
        engine_sets: Vec::new(),
        log_dir: None,
        log_format: None,
        from_file: false,
    };
    let mut i = 0;
    while i < args.len() {
        let a = args[i].clone();
        let mut val = || -> Result<String, String> {
            i += 1;
            args.get(i).cloned().ok_or_else(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "-i" | "--interface" => iface = Some(val()?),
            "--fanout" => {
                let m = val()?;
                g.socket.fanout = if m == "off" { None } else { Some(FanoutMode::parse(&m)?) };
            }
            "--fanout-id" => g.socket.fanout_id = val()?.parse().map_err(|_| "bad --fanout-id")?,
            "--buffer-size" => g.socket.buffer_size = parse_size(&val()?)?,
            "--block-size" => g.socket.block_size = parse_size(&val()?)?,
            "--block-timeout" => g.socket.block_timeout_ms = val()?.parse().map_err(|_| "bad --block-timeout")?,
            "--defrag" => g.socket.defrag = true,
            "--checksum" => g.checksum = ChecksumMode::parse(&val()?)?,
            "--no-promisc" => g.socket.promisc = false,
            "--pin" => {
                let v = val()?;
                g.pin = match v.as_str() {
                    "auto" => Pinning::Auto,
                    "off" => Pinning::Off,
                    l => Pinning::Cpus(crate::pin::parse_cpulist(l).ok_or("bad --pin")?),
                }
            }
            "--stats-interval" => out.live.stats_interval = val()?.parse().map_err(|_| "bad --stats-interval")?,
            "--rotate-interval" => {
                out.live.rotate_interval = val()?.parse().map_err(|_| "bad --rotate-interval (seconds)")?
            }
            "--user" => out.live.user = Some(val()?),
            "--ready-file" => out.live.ready_file = Some(val()?.into()),
            "--node-cfg" => {
                let p = val()?;
                let t = std::fs::read_to_string(&p).map_err(|e| format!("{p}: {e}"))?;
                file_groups = Some(parse_node_cfg(&t)?.groups);
            }
            "--config" => {
                let p = val()?;
                let t = std::fs::read_to_string(&p).map_err(|e| format!("{p}: {e}"))?;
                let fc = parse_toml(&t)?;
                file_groups = Some(fc.live.groups);
                out.live.stats_interval = fc.live.stats_interval;
                out.live.filter = fc.live.filter;
                if fc.live.user.is_some() {
                    out.live.user = fc.live.user;
                }
                out.engine_sets = fc.engine_sets;
                out.log_dir = fc.log_dir;
                out.log_format = fc.log_format;
            }
            _ => rest.push(a.clone()),
        }
        i += 1;
    }
    match (iface, file_groups) {
        (Some(ifc), None) => {
            g.interface = ifc.strip_prefix("af_packet::").unwrap_or(&ifc).to_string();
            out.live.groups.push(g);
        }
        (None, Some(groups)) => {
            out.live.groups = groups;
            out.from_file = true;
        }
        (Some(_), Some(_)) => return Err("give -i or a configuration file (--node-cfg, --config), not both".into()),
        (None, None) => return Ok(None),
    }
    *args = rest;
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn takes_live_flags_leaves_the_rest() {
        let mut a = v("-i af_packet::eth0 --workers 4 --fanout ebpf --pin 0-3 --logdir /x -f tcp --defrag");
        let mut l = take_live_flags(&mut a).unwrap().unwrap();
        assert_eq!(a, v("--workers 4 --logdir /x -f tcp"));
        l.apply_common(Some(4), Some("tcp".into()));
        let g = &l.live.groups[0];
        assert_eq!((g.interface.as_str(), g.workers), ("eth0", 4));
        assert_eq!(g.socket.fanout, Some(FanoutMode::Ebpf));
        assert!(g.socket.defrag);
        assert_eq!(g.pin, Pinning::Cpus(vec![0, 1, 2, 3]));
        assert_eq!(l.live.filter.as_deref(), Some("tcp"));
        let mut a = v("-r x.pcap --workers 2");
        assert!(take_live_flags(&mut a).unwrap().is_none());
        assert_eq!(a, v("-r x.pcap --workers 2"));
        assert!(take_live_flags(&mut v("--fanout bogus -i x")).is_err());
    }
}
