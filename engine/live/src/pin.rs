//! Which cores the workers run on, from `/sys` (no hwloc): the cores the operator lists, or by
//! default the cores of the NIC's NUMA node (`/sys/class/net/IF/device/numa_node`, then
//! `/sys/devices/system/node/nodeN/cpulist`), or, where the NIC has no node (virtual NICs, veth,
//! single-node machines: the file is missing or says -1), every core the process may run on.
//! Threads are pinned with `sched_setaffinity` (what `core_affinity` calls; one syscall, no crate).

use std::path::Path;

/// Parses a kernel CPU list (`0-3,8,10-11`).
pub fn parse_cpulist(s: &str) -> Option<Vec<usize>> {
    let mut v = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                if b < a {
                    return None;
                }
                v.extend(a..=b);
            }
            None => v.push(part.trim().parse().ok()?),
        }
    }
    Some(v)
}

/// The cores this process may run on.
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: a zeroed cpu_set_t is valid; sched_getaffinity fills it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return vec![0];
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

/// The NIC's NUMA node, if it has one.
pub fn nic_numa_node(sys: &Path, iface: &str) -> Option<u32> {
    let s = std::fs::read_to_string(sys.join("class/net").join(iface).join("device/numa_node")).ok()?;
    let n: i64 = s.trim().parse().ok()?;
    (n >= 0).then_some(n as u32)
}

/// The default cores for workers capturing on `iface`, and a sentence saying where they came from.
pub fn default_cpus(sys: &Path, iface: &str, allowed: &[usize]) -> (Vec<usize>, String) {
    if let Some(node) = nic_numa_node(sys, iface) {
        let list = std::fs::read_to_string(sys.join(format!("devices/system/node/node{node}/cpulist")))
            .ok()
            .and_then(|s| parse_cpulist(&s))
            .unwrap_or_default();
        let cpus: Vec<usize> = list.into_iter().filter(|c| allowed.contains(c)).collect();
        if !cpus.is_empty() {
            return (cpus, format!("cores of NUMA node {node}, the node of {iface}"));
        }
    }
    (
        allowed.to_vec(),
        format!("{iface} reports no NUMA node: every allowed core"),
    )
}

/// Pins the calling thread to one core.
pub fn pin_current_thread(cpu: usize) -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t with one bit set.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpulists() {
        assert_eq!(parse_cpulist("0-3,8,10-11\n"), Some(vec![0, 1, 2, 3, 8, 10, 11]));
        assert_eq!(parse_cpulist("5"), Some(vec![5]));
        assert_eq!(parse_cpulist("3-1"), None);
    }

    #[test]
    fn numa_from_a_fake_sys() {
        let d = std::env::temp_dir().join(format!("weir-live-sys-{}", std::process::id()));
        std::fs::create_dir_all(d.join("class/net/eth9/device")).unwrap();
        std::fs::create_dir_all(d.join("devices/system/node/node1")).unwrap();
        std::fs::write(d.join("class/net/eth9/device/numa_node"), "1\n").unwrap();
        std::fs::write(d.join("devices/system/node/node1/cpulist"), "2-3\n").unwrap();
        let (c, why) = default_cpus(&d, "eth9", &[0, 1, 2, 3]);
        assert_eq!(c, vec![2, 3]);
        assert!(why.contains("node 1"));
        std::fs::write(d.join("class/net/eth9/device/numa_node"), "-1\n").unwrap();
        assert_eq!(default_cpus(&d, "eth9", &[0, 1]).0, vec![0, 1]);
        assert_eq!(default_cpus(&d, "nonexistent", &[0]).0, vec![0]);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
