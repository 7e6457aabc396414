//! Configuration files: zeekctl's `node.cfg` and weir's own TOML.
//!
//! ## node.cfg
//!
//! Every `type=worker` section (and a `type=standalone` one) with an `interface` becomes a
//! [`Group`]: `interface=af_packet::eth0` (or plain `eth0`), `lb_method` (`custom` or `af_packet`;
//! anything else is refused), `lb_procs`, `pin_cpus`, `af_packet_fanout_id`, `af_packet_fanout_mode`
//! (`AF_Packet::FANOUT_HASH`, ...), `af_packet_buffer_size` (a number or a product such as
//! `128*1024*1024`). Manager, logger and proxy sections are ignored (weir writes the logs itself);
//! `host` must be local (`localhost`, `127.0.0.1`, `::1` or this machine's name).
//!
//! ## TOML
//!
//! ```toml
//! user = "weir"                 # optional
//! filter = "not port 22"        # optional
//! [logs]
//! dir = "/var/spool/weir"
//! format = "tsv"                # or "json"
//! [stats]
//! interval = 300                # seconds (Stats::report_interval); 0 = no stats.log
//! [engine]
//! set = ["tcp_inactivity_timeout=10 min"]
//! [[worker]]
//! name = "worker-1"
//! interface = "eth0"
//! workers = 4                   # lb_procs
//! pin_cpus = [0, 1, 2, 3]       # or "auto" (NIC's NUMA node) or "off"
//! fanout_mode = "hash"          # hash, qm, cpu, cbpf, ebpf
//! fanout_id = 23
//! buffer_size = 134217728       # bytes, or "128MiB"
//! block_size = 32768
//! block_timeout_ms = 10
//! defrag = false
//! checksum = "on"               # on, off, kernel
//! promisc = true
//! hw_timestamps = false
//! ```

use crate::{ChecksumMode, FanoutMode, Group, LiveConfig, Pinning};

/// What a configuration file holds beyond the capture itself.
#[derive(Clone, Debug)]
pub struct FileConfig {
    pub live: LiveConfig,
    /// `--set`-style engine assignments (`tcp_inactivity_timeout=10 min`).
    pub engine_sets: Vec<String>,
    pub log_dir: Option<String>,
    pub log_format: Option<String>,
}

/// `128*1024*1024`, `134217728`, `128MiB`, `128M`, `1GiB`.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let units: [(&str, usize); 8] = [
        ("KiB", 1 << 10),
        ("MiB", 1 << 20),
        ("GiB", 1 << 30),
        ("K", 1 << 10),
        ("M", 1 << 20),
        ("G", 1 << 30),
        ("kB", 1000),
        ("B", 1),
    ];
    for (u, m) in units {
        if let Some(num) = t.strip_suffix(u) {
            let v: usize = num.trim().parse().map_err(|_| format!("bad size {s:?}"))?;
            return Ok(v * m);
        }
    }
    let mut v = 1usize;
    for f in t.split('*') {
        let f: usize = f.trim().parse().map_err(|_| format!("bad size {s:?}"))?;
        v = v.checked_mul(f).ok_or_else(|| format!("size {s:?} too large"))?;
    }
    Ok(v)
}

fn parse_cpus(s: &str) -> Result<Pinning, String> {
    match s.trim() {
        "" | "auto" => Ok(Pinning::Auto),
        "off" | "none" => Ok(Pinning::Off),
        t => {
            let list = crate::pin::parse_cpulist(t).ok_or_else(|| format!("bad pin_cpus {s:?}"))?;
            Ok(Pinning::Cpus(list))
        }
    }
}

fn is_local_host(h: &str) -> bool {
    if matches!(h, "localhost" | "127.0.0.1" | "::1" | "") {
        return true;
    }
    let mut buf = [0u8; 256];
    // SAFETY: writing at most buf.len() bytes into our buffer.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(0);
    ok && std::str::from_utf8(&buf[..end]).is_ok_and(|me| me == h || me.split('.').next() == Some(h))
}

/// Parses a zeekctl `node.cfg`.
pub fn parse_node_cfg(text: &str) -> Result<LiveConfig, String> {
    let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for (ln, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            sections.push((name.trim().to_string(), Vec::new()));
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(format!("node.cfg line {}: expected key=value: {raw:?}", ln + 1));
        };
        let Some(sec) = sections.last_mut() else {
            return Err(format!("node.cfg line {}: key outside a section", ln + 1));
        };
        sec.1.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let mut cfg = LiveConfig::new("", 1);
    cfg.groups.clear();
    for (name, kv) in &sections {
        let get = |k: &str| kv.iter().rev().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
        let ty = get("type").unwrap_or("").to_ascii_lowercase();
        if ty != "worker" && ty != "standalone" {
            continue;
        }
        let Some(iface) = get("interface") else {
            return Err(format!("node.cfg [{name}]: no interface"));
        };
        if let Some(h) = get("host") {
            if !is_local_host(h) {
                return Err(format!(
                    "node.cfg [{name}]: host {h:?} is not this machine (run weir there with the same node.cfg)"
                ));
            }
        }
        let iface = iface.strip_prefix("af_packet::").unwrap_or(iface);
        if iface.contains("::") {
            return Err(format!("node.cfg [{name}]: packet source {iface:?} is not AF_PACKET"));
        }
        let mut g = Group::new(iface, 1);
        g.name = name.clone();
        if let Some(m) = get("lb_method") {
            if !matches!(m.to_ascii_lowercase().as_str(), "custom" | "af_packet") {
                return Err(format!(
                    "node.cfg [{name}]: lb_method {m:?} (weir supports custom/af_packet)"
                ));
            }
        }
        if let Some(p) = get("lb_procs") {
            g.workers = p
                .parse()
                .map_err(|_| format!("node.cfg [{name}]: bad lb_procs {p:?}"))?;
        }
        if let Some(p) = get("pin_cpus") {
            g.pin = parse_cpus(p).map_err(|e| format!("node.cfg [{name}]: {e}"))?;
        }
        if let Some(p) = get("af_packet_fanout_id") {
            g.socket.fanout_id = p
                .parse()
                .map_err(|_| format!("node.cfg [{name}]: bad fanout id {p:?}"))?;
        }
        if let Some(p) = get("af_packet_fanout_mode") {
            g.socket.fanout = Some(FanoutMode::parse(p).map_err(|e| format!("node.cfg [{name}]: {e}"))?);
        }
        if let Some(p) = get("af_packet_buffer_size") {
            g.socket.buffer_size = parse_size(p).map_err(|e| format!("node.cfg [{name}]: {e}"))?;
        }
        cfg.groups.push(g);
    }
    if cfg.groups.is_empty() {
        return Err("node.cfg has no worker section with an interface".into());
    }
    // zeekctl gives every worker section its own fanout id unless set: 23, 24, ... per interface.
    let explicit: Vec<bool> = sections
        .iter()
        .filter(|(_, kv)| {
            kv.iter()
                .any(|(k, v)| k == "type" && matches!(v.to_ascii_lowercase().as_str(), "worker" | "standalone"))
        })
        .map(|(_, kv)| kv.iter().any(|(k, _)| k == "af_packet_fanout_id"))
        .collect();
    let mut taken: Vec<(String, u16)> = Vec::new();
    for (i, g) in cfg.groups.iter_mut().enumerate() {
        if !explicit.get(i).copied().unwrap_or(true) {
            while taken.contains(&(g.interface.clone(), g.socket.fanout_id)) {
                g.socket.fanout_id += 1;
            }
        }
        taken.push((g.interface.clone(), g.socket.fanout_id));
    }
    Ok(cfg)
}

fn toml_err(e: impl std::fmt::Display) -> String {
    format!("TOML: {e}")
}

/// Parses weir's TOML configuration.
pub fn parse_toml(text: &str) -> Result<FileConfig, String> {
    use toml_edit::{DocumentMut, Item, Value};
    let doc: DocumentMut = text.parse().map_err(toml_err)?;
    let mut live = LiveConfig::new("", 1);
    live.groups.clear();
    let s = |v: &Item, k: &str| -> Result<Option<String>, String> {
        match v.get(k) {
            None => Ok(None),
            Some(i) => i
                .as_str()
                .map(|x| Some(x.to_string()))
                .ok_or_else(|| format!("{k}: expected a string")),
        }
    };
    let int = |v: &Item, k: &str| -> Result<Option<i64>, String> {
        match v.get(k) {
            None => Ok(None),
            Some(i) => i
                .as_integer()
                .map(Some)
                .ok_or_else(|| format!("{k}: expected an integer")),
        }
    };
    let boolean = |v: &Item, k: &str| -> Result<Option<bool>, String> {
        match v.get(k) {
            None => Ok(None),
            Some(i) => i
                .as_bool()
                .map(Some)
                .ok_or_else(|| format!("{k}: expected true or false")),
        }
    };
    let root = doc.as_item();
    live.user = s(root, "user")?;
    live.filter = s(root, "filter")?;
    let mut fc = FileConfig {
        live: live.clone(),
        engine_sets: Vec::new(),
        log_dir: None,
        log_format: None,
    };
    if let Some(l) = root.get("logs") {
        fc.log_dir = s(l, "dir")?;
        fc.log_format = s(l, "format")?;
    }
    if let Some(st) = root.get("stats") {
        if let Some(v) = st.get("interval") {
            fc.live.stats_interval = match v.as_value() {
                Some(Value::Integer(i)) => *i.value() as f64,
                Some(Value::Float(f)) => *f.value(),
                Some(Value::String(t)) => weir_engine::config::parse_interval(t.value())
                    .ok_or_else(|| format!("stats.interval: bad interval {:?}", t.value()))?,
                _ => return Err("stats.interval: expected seconds or an interval".into()),
            };
        }
    }
    if let Some(e) = root.get("engine") {
        if let Some(arr) = e.get("set").and_then(|a| a.as_array()) {
            for v in arr.iter() {
                fc.engine_sets
                    .push(v.as_str().ok_or("engine.set: expected strings")?.to_string());
            }
        }
    }
    let workers = root
        .get("worker")
        .and_then(|w| w.as_array_of_tables())
        .ok_or("no [[worker]] table")?;
    for (i, t) in workers.iter().enumerate() {
        let item = Item::Table(t.clone());
        let iface = s(&item, "interface")?.ok_or(format!("[[worker]] {}: no interface", i + 1))?;
        let mut g = Group::new(&iface, 1);
        g.name = s(&item, "name")?.unwrap_or_else(|| format!("worker-{}", i + 1));
        if let Some(n) = int(&item, "workers")? {
            g.workers = n.max(1) as usize;
        }
        match t.get("pin_cpus") {
            None => {}
            Some(v) if v.is_str() => g.pin = parse_cpus(v.as_str().unwrap_or(""))?,
            Some(v) => {
                let arr = v.as_array().ok_or("pin_cpus: expected a list or \"auto\"/\"off\"")?;
                g.pin = Pinning::Cpus(
                    arr.iter()
                        .map(|x| x.as_integer().map(|i| i as usize).ok_or("pin_cpus: expected integers"))
                        .collect::<Result<_, _>>()?,
                );
            }
        }
        if let Some(m) = s(&item, "fanout_mode")? {
            g.socket.fanout = if m == "off" { None } else { Some(FanoutMode::parse(&m)?) };
        }
        if let Some(v) = int(&item, "fanout_id")? {
            g.socket.fanout_id = u16::try_from(v).map_err(|_| "fanout_id: 0..65535")?;
        }
        match t.get("buffer_size") {
            None => {}
            Some(v) if v.is_str() => g.socket.buffer_size = parse_size(v.as_str().unwrap_or(""))?,
            Some(v) => g.socket.buffer_size = v.as_integer().ok_or("buffer_size: expected bytes")? as usize,
        }
        if let Some(v) = int(&item, "block_size")? {
            g.socket.block_size = v as usize;
        }
        if let Some(v) = int(&item, "block_timeout_ms")? {
            g.socket.block_timeout_ms = v as u32;
        }
        if let Some(v) = boolean(&item, "defrag")? {
            g.socket.defrag = v;
        }
        if let Some(v) = boolean(&item, "promisc")? {
            g.socket.promisc = v;
        }
        if let Some(v) = boolean(&item, "hw_timestamps")? {
            g.socket.hw_timestamps = v;
        }
        if let Some(v) = s(&item, "checksum")? {
            g.checksum = ChecksumMode::parse(&v)?;
        }
        fc.live.groups.push(g);
    }
    if fc.live.groups.is_empty() {
        return Err("no [[worker]] table".into());
    }
    Ok(fc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("128*1024*1024"), Ok(128 << 20));
        assert_eq!(parse_size("128MiB"), Ok(128 << 20));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("lots").is_err());
    }

    #[test]
    fn node_cfg() {
        let text = "# comment\n[logger]\ntype=logger\nhost=localhost\n\n[manager]\ntype=manager\nhost=localhost\n\n\
            [worker-1]\ntype=worker\nhost=localhost\ninterface=af_packet::eth0\nlb_method=custom\nlb_procs=4\n\
            pin_cpus=0,1,2,3\naf_packet_fanout_id=42\naf_packet_fanout_mode=AF_Packet::FANOUT_EBPF\n\
            af_packet_buffer_size=64*1024*1024\n\n[worker-2]\ntype=worker\nhost=localhost\ninterface=eth1\nlb_procs=2\n";
        let c = parse_node_cfg(text).unwrap();
        assert_eq!(c.groups.len(), 2);
        let g = &c.groups[0];
        assert_eq!(
            (g.name.as_str(), g.interface.as_str(), g.workers),
            ("worker-1", "eth0", 4)
        );
        assert_eq!(g.pin, Pinning::Cpus(vec![0, 1, 2, 3]));
        assert_eq!(g.socket.fanout, Some(FanoutMode::Ebpf));
        assert_eq!((g.socket.fanout_id, g.socket.buffer_size), (42, 64 << 20));
        let g = &c.groups[1];
        assert_eq!((g.interface.as_str(), g.workers, g.socket.fanout_id), ("eth1", 2, 23));
        assert_eq!(g.socket.fanout, Some(FanoutMode::Hash));
        assert!(parse_node_cfg("[w]\ntype=worker\ninterface=pf_ring::eth0\n").is_err());
        assert!(parse_node_cfg("[w]\ntype=worker\ninterface=eth0\nlb_method=pf_ring\n").is_err());
        assert!(parse_node_cfg("[m]\ntype=manager\n").is_err());
    }

    #[test]
    fn examples_in_config_dir_parse() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config");
        let n = std::fs::read_to_string(format!("{dir}/node.cfg")).unwrap();
        assert!(!parse_node_cfg(&n).unwrap().groups.is_empty());
        let t = std::fs::read_to_string(format!("{dir}/weir.toml")).unwrap();
        let fc = parse_toml(&t).unwrap();
        assert!(!fc.live.groups.is_empty());
    }

    #[test]
    fn toml() {
        let t = r#"
user = "nobody"
filter = "not port 22"
[logs]
dir = "/tmp/x"
format = "json"
[stats]
interval = "1 min"
[engine]
set = ["tcp_inactivity_timeout=10 min"]
[[worker]]
interface = "eth0"
workers = 2
pin_cpus = [0, 1]
fanout_mode = "cbpf"
fanout_id = 7
buffer_size = "32MiB"
checksum = "off"
defrag = true
[[worker]]
interface = "eth1"
pin_cpus = "off"
"#;
        let c = parse_toml(t).unwrap();
        assert_eq!(c.live.user.as_deref(), Some("nobody"));
        assert_eq!(c.live.stats_interval, 60.0);
        assert_eq!(c.engine_sets, vec!["tcp_inactivity_timeout=10 min".to_string()]);
        let g = &c.live.groups[0];
        assert_eq!((g.workers, g.socket.fanout_id, g.socket.buffer_size), (2, 7, 32 << 20));
        assert_eq!(g.socket.fanout, Some(FanoutMode::Cbpf));
        assert_eq!(g.checksum, ChecksumMode::Off);
        assert!(g.socket.defrag);
        assert_eq!(c.live.groups[1].pin, Pinning::Off);
        assert!(parse_toml("[[worker]]\nworkers = 2\n").is_err());
    }
}
