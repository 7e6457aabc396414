//! Live capture for real: a veth pair in a network namespace, `tcpreplay` into one end, `weir-live`
//! on the other. Needs root; installs tcpreplay/ethtool/iproute2 through `tests/setup.sh`.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

fn synthetic_trace(tag: &str, n_tcp: u32) -> (PathBuf, u64) {
    let (bytes, n) = synthetic(n_tcp);
    let p = tmpdir(tag).join("synthetic.pcap");
    std::fs::write(&p, bytes).unwrap();
    (p, n)
}

fn assert_same_logs(live: &std::path::Path, off: &std::path::Path, what: &str) {
    let a = logs_of(live);
    let b = logs_of(off);
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "{what}: different log files"
    );
    for (name, rows) in &b {
        let live_rows = &a[name];
        if name == "weird.log" && live_rows != rows {
            // Weirds Zeek logs once per originator (ACTION_LOG_PER_ORIG, e.g. bad_IP_checksum) or
            // once per pair are deduplicated by each worker, as on a Zeek cluster's workers: with
            // several workers the same weird may be logged once per worker that saw it. Every
            // offline row must be there, and every extra row must repeat an offline row's weird
            // from the same originator.
            for r in rows {
                assert!(live_rows.contains(r), "{what}: weird.log lacks {r}");
            }
            let orig_name = |r: &str| {
                let f: Vec<&str> = r.split('\t').collect();
                (
                    f.first().copied().unwrap_or("").to_string(),
                    f.get(4).copied().unwrap_or("").to_string(),
                )
            };
            for r in live_rows.iter().filter(|r| !rows.contains(r)) {
                assert!(
                    rows.iter().any(|o| orig_name(o) == orig_name(r)),
                    "{what}: weird.log has an unexpected row {r}"
                );
            }
            continue;
        }
        if live_rows != rows {
            let only_live: Vec<_> = live_rows.iter().filter(|r| !rows.contains(r)).take(5).collect();
            let only_off: Vec<_> = rows.iter().filter(|r| !live_rows.contains(r)).take(5).collect();
            panic!(
                "{what}: {name} differs ({} live rows, {} offline)\nonly live: {only_live:#?}\nonly offline: {only_off:#?}",
                live_rows.len(),
                rows.len()
            );
        }
    }
}

/// Every fanout mode, 1, 2 and 4 workers: logs equal `weir -r`'s (time fields and uids aside), no
/// packet lost, every connection logged once (none split between workers: a split connection
/// would log two partial rows). Prints how each mode spread the packets over 4 sockets.
#[test]
fn every_fanout_mode_matches_offline() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !prepare() {
        return;
    }
    let (trace, n) = synthetic_trace("modes-trace", 400);
    let off = offline(&trace, "modes-offline");
    let conn_rows = rows(&off.join("conn.log")).len();
    assert!(conn_rows > 500, "offline conn.log has {conn_rows} rows");
    let ns = Netns::new("modes");
    let mut spread: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    // The trace has 400 / 20 datagrams sent as two fragments each.
    let fragmented = 20;
    for mode in ["hash", "qm", "cpu", "cbpf", "ebpf"] {
        // The kernel's own hashes (HASH, QM's queue choice) see a fragment's IP pair only, so with
        // several sockets a fragmented datagram and its connection's other packets may part ways:
        // those modes need the kernel to reassemble first (AF_Packet::enable_defrag), as in Zeek.
        // weir's BPF programs keep fragments together without it, and the worker that reassembles
        // forwards the datagram to its connection's worker; that path has its own test below
        // (a forwarded datagram can arrive after the connection's later packets). Here, all modes
        // run with kernel defrag so the logs can be compared exactly.
        let defrag = true;
        for workers in [1usize, 2, 4] {
            let w = workers.to_string();
            let mut args = vec![
                "--fanout",
                mode,
                "-w",
                &w,
                "--buffer-size",
                "16MiB",
                "--stats-interval",
                "0",
            ];
            if defrag {
                args.push("--defrag");
            }
            // QM and CPU follow the sender: on a veth the queue and CPU tcpreplay happens to use,
            // which need not be the same for all packets of a flow; pinned to one core, the
            // sender is consistent (what symmetric RSS gives on a NIC). Unpinned runs below.
            let pin = matches!(mode, "qm" | "cpu").then_some(1);
            // For QM, one transmit queue on the sending end: tcpreplay's per-packet queue choice
            // is not per flow (packets with payload take another queue than the bare ACKs).
            let (ok, out) = ns.exec(&format!("ethtool -L vb tx {}", if mode == "qm" { 1 } else { 4 }));
            assert!(ok, "ethtool -L: {out}");
            let run = capture_pinned(
                &ns,
                &format!("{mode}-{workers}"),
                &args,
                &trace,
                "",
                Duration::from_millis(1500),
                pin,
            );
            let what = format!("fanout {mode}, {workers} workers");
            assert_eq!(
                run.sent, n,
                "{what}: tcpreplay sent {} of {n}\n{}",
                run.sent, run.replay_out
            );
            assert_eq!(run.workers.len(), workers, "{what}: {}", run.stderr);
            // With kernel defrag, two fragments reach the socket as one packet.
            let expect = if defrag { run.sent - fragmented } else { run.sent };
            assert_eq!(run.received() + run.drops(), expect, "{what}: {}", run.stderr);
            assert_eq!(run.drops(), 0, "{what}: drops: {}", run.stderr);
            for wl in &run.workers {
                assert_eq!(
                    wl.kernel_packets,
                    wl.received + wl.kernel_drops,
                    "{what}: {}",
                    run.stderr
                );
            }
            assert_same_logs(&run.logdir, &off, &what);
            if workers == 4 {
                spread.insert(mode, run.workers.iter().map(|w| w.received).collect());
            }
        }
    }
    // QM and CPU with an unpinned sender: how they spread, and how many connections they split
    // (conn.log rows beyond the offline count).
    let mut split_note = String::new();
    for mode in ["qm", "cpu"] {
        let run = capture(
            &ns,
            &format!("{mode}-unpinned"),
            &[
                "--fanout",
                mode,
                "-w",
                "4",
                "--buffer-size",
                "16MiB",
                "--stats-interval",
                "0",
                "--defrag",
            ],
            &trace,
            "",
            Duration::from_millis(1500),
        );
        let live_rows = rows(&run.logdir.join("conn.log")).len();
        spread.insert(
            if mode == "qm" {
                "qm (sender unpinned)"
            } else {
                "cpu (sender unpinned)"
            },
            run.workers.iter().map(|w| w.received).collect(),
        );
        split_note.push_str(&format!(
            "{mode}, sender unpinned: {live_rows} conn.log rows against {conn_rows} offline\n"
        ));
    }
    let mut table = String::from("| mode | socket 0 | socket 1 | socket 2 | socket 3 |\n|---|---|---|---|---|\n");
    for (mode, v) in &spread {
        table.push_str(&format!(
            "| {mode} | {} |\n",
            v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" | ")
        ));
    }
    table.push_str(&split_note);
    println!("packets per socket, 4 workers, {n} packets:\n{table}");
    let _ = std::fs::write(std::env::temp_dir().join("weir-live-spread.md"), &table);
    // The flow-hash modes must actually spread the load.
    for mode in ["hash", "cbpf", "ebpf"] {
        let v = &spread[mode];
        assert!(v.iter().all(|&x| x > n / 10), "{mode} spread badly: {v:?}");
    }
}

/// CBPF and EBPF without kernel defrag: all fragments of a datagram reach one worker, which
/// reassembles it and forwards it to the worker of its connection. No connection is split and none
/// is lost; connections without fragments are logged exactly as offline.
#[test]
fn bpf_modes_keep_fragments_and_connections_together() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !prepare() {
        return;
    }
    let (trace, n) = synthetic_trace("frag-trace", 400);
    let off = offline(&trace, "frag-offline");
    let ns = Netns::new("frag");
    let key = |r: &BTreeMap<String, String>| {
        let a = format!("{}/{}", r["id.orig_h"], r["id.orig_p"]);
        let b = format!("{}/{}", r["id.resp_h"], r["id.resp_p"]);
        let (x, y) = if a < b { (a, b) } else { (b, a) };
        format!("{x} {y} {}", r["proto"])
    };
    let off_rows = rows(&off.join("conn.log"));
    let mut off_keys: Vec<String> = off_rows.iter().map(key).collect();
    off_keys.sort();
    let frag_hosts =
        |r: &BTreeMap<String, String>| r["id.orig_h"].starts_with("10.4.") || r["id.resp_h"].starts_with("10.4.");
    for mode in ["cbpf", "ebpf"] {
        for workers in ["2", "4"] {
            let run = capture(
                &ns,
                &format!("frag-{mode}-{workers}"),
                &fanout_args(mode, workers),
                &trace,
                "",
                Duration::from_millis(1500),
            );
            let what = format!("{mode}, {workers} workers, no kernel defrag");
            assert_eq!(run.sent, n, "{what}");
            assert_eq!(run.received() + run.drops(), run.sent, "{what}: {}", run.stderr);
            assert_eq!(run.drops(), 0, "{what}: {}", run.stderr);
            let fwd_out: u64 = run.workers.iter().map(|w| w.fwd_out).sum();
            let fwd_in: u64 = run.workers.iter().map(|w| w.fwd_in).sum();
            assert!(
                fwd_out > 0 && fwd_in == fwd_out,
                "{what}: forwarded {fwd_out}/{fwd_in}: {}",
                run.stderr
            );
            let live_rows = rows(&run.logdir.join("conn.log"));
            let mut live_keys: Vec<String> = live_rows.iter().map(key).collect();
            live_keys.sort();
            assert_eq!(live_keys, off_keys, "{what}: connections differ (split or lost)");
            // Connections without fragments: exactly as offline.
            let strip = |rs: &[BTreeMap<String, String>]| {
                let mut v: Vec<String> = rs
                    .iter()
                    .filter(|r| !frag_hosts(r))
                    .map(|r| {
                        r.iter()
                            .filter(|(k, _)| !matches!(k.as_str(), "ts" | "uid" | "duration"))
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .collect();
                v.sort();
                v
            };
            assert_eq!(strip(&live_rows), strip(&off_rows), "{what}");
            eprintln!("{what}: {fwd_out} datagrams forwarded between workers");
        }
    }
}

/// weir-live's arguments for `workers` workers in fanout `mode`, a 16 MiB ring, no stats.log.
fn fanout_args<'a>(mode: &'a str, workers: &'a str) -> [&'a str; 8] {
    [
        "--fanout",
        mode,
        "-w",
        workers,
        "--buffer-size",
        "16MiB",
        "--stats-interval",
        "0",
    ]
}

/// Replays `trace` into weir-live with fanout `mode` on `workers` workers: nothing lost, and the same
/// logs as `offline` (`off`).
fn replay_matches_offline(
    ns: &Netns,
    tag: &str,
    mode: &str,
    workers: &str,
    trace: &std::path::Path,
    off: &std::path::Path,
    name: &str,
) -> Run {
    let run = capture(
        ns,
        tag,
        &fanout_args(mode, workers),
        trace,
        "",
        Duration::from_millis(1200),
    );
    let what = format!("{name}, fanout {mode}, {workers} workers");
    assert_eq!(run.received() + run.drops(), run.sent, "{what}: {}", run.stderr);
    assert_eq!(run.drops(), 0, "{what}: {}", run.stderr);
    assert_same_logs(&run.logdir, off, &what);
    run
}

/// Corpus traces (VLAN, TLS, SCTP, QUIC with IP fragments) through weir's own BPF hash and the
/// kernel's: same logs as offline.
#[test]
fn corpus_traces_match_offline() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !prepare() {
        return;
    }
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/zeek/traces"));
    let ns = Netns::new("corpus");
    for t in [
        "vlan-collisions.pcap",
        "tls/ecdhe.pcap",
        "communityid/sctp.pcap",
        "ncp.pcap",
        "quic/chromium-115.0.5790.110-google-de-fragmented.pcap",
        "tunnels/gtp/gtp1_gn_normal_incl_fragmentation.pcap",
    ] {
        let trace = root.join(t);
        let tag = t.replace('/', "_");
        let off = offline(&trace, &format!("{tag}-off"));
        for (mode, workers) in [("cbpf", "4"), ("ebpf", "2"), ("hash", "2")] {
            replay_matches_offline(&ns, &format!("{tag}-{mode}"), mode, workers, &trace, &off, t);
        }
    }
}

/// A VXLAN mirror (one outer flow) on 2 workers: the kernel's hash gives the whole mirror to one
/// socket; that worker analyses the VXLAN connection and forwards each innermost packet to the worker of
/// its own connection, so both workers analyse inner connections, and the logs are those of `weir -r`.
#[test]
fn vxlan_mirror_spreads_over_workers() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !prepare() {
        return;
    }
    let (bytes, _) = vxlan_mirror(200);
    let trace = tmpdir("vxlan-trace").join("vxlan.pcap");
    std::fs::write(&trace, bytes).unwrap();
    let off = offline(&trace, "vxlan-offline");
    let conn_rows = rows(&off.join("conn.log")).len();
    assert_eq!(
        conn_rows, 201,
        "200 inner connections and the mirror's VXLAN connection"
    );
    let ns = Netns::new("vxlan");
    for mode in ["hash", "cbpf"] {
        let run = replay_matches_offline(&ns, &format!("vxlan-{mode}"), mode, "2", &trace, &off, "VXLAN mirror");
        let what = format!("VXLAN mirror, fanout {mode}, 2 workers");
        let tunnelled: Vec<u64> = run.workers.iter().map(|w| w.tunnelled).collect();
        assert_eq!(tunnelled.iter().sum::<u64>(), 2000, "{what}: {}", run.stderr);
        assert!(
            tunnelled.iter().all(|&t| t > 400),
            "{what}: inner packets per worker {tunnelled:?}"
        );
        eprintln!("{what}: inner packets per worker {tunnelled:?}");
    }
}

/// Overload: a tiny ring and a replay at top speed. Every packet sent is either received or
/// counted as dropped, by the kernel's counters and by stats.log.
#[test]
fn overload_accounts_for_every_packet() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !prepare() {
        return;
    }
    let (trace, n) = synthetic_trace("overload-trace", 4000);
    let ns = Netns::new("overload");
    for workers in ["1", "2"] {
        let run = capture(
            &ns,
            &format!("overload-{workers}"),
            &[
                "--fanout",
                "cbpf",
                "-w",
                workers,
                "--buffer-size",
                "8192",
                "--block-size",
                "4096",
                "--stats-interval",
                "0.5",
            ],
            &trace,
            "--topspeed",
            Duration::from_millis(2500),
        );
        let what = format!("overload, {workers} workers");
        assert_eq!(run.sent, n, "{what}: {}", run.replay_out);
        assert!(
            run.drops() > 0,
            "{what}: expected drops with a 2-block ring: {}",
            run.stderr
        );
        assert_eq!(run.received() + run.drops(), run.sent, "{what}: {}", run.stderr);
        // stats.log: per worker, the sums of its rows are the worker's totals.
        let rows = rows(&run.logdir.join("stats.log"));
        assert!(!rows.is_empty(), "{what}: no stats.log");
        let sum = |f: &str| -> u64 { rows.iter().map(|r| r[f].parse::<u64>().unwrap_or(0)).sum() };
        assert_eq!(sum("pkts_proc"), run.received(), "{what}: stats.log pkts_proc");
        assert_eq!(sum("pkts_dropped"), run.drops(), "{what}: stats.log pkts_dropped");
        assert_eq!(sum("pkts_link"), run.sent, "{what}: stats.log pkts_link");
        eprintln!(
            "{what}: sent {} received {} dropped {} (stats.log rows: {})",
            run.sent,
            run.received(),
            run.drops(),
            rows.len()
        );
    }
}

/// `-f`: the filter runs in the kernel; the sockets see only matching packets.
#[test]
fn capture_filter_is_attached_to_every_socket() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !prepare() {
        return;
    }
    let (trace, _) = synthetic_trace("filter-trace", 200);
    // How many packets match, by the offline engine's filter.
    let f = weir_capture::filter::Filter::new("tcp and port 80").unwrap();
    let data = std::fs::read(&trace).unwrap();
    let mut off = 24;
    let mut matching = 0u64;
    while off + 16 <= data.len() {
        let cl = u32::from_le_bytes(data[off + 8..off + 12].try_into().unwrap()) as usize;
        if f.matches(
            weir_capture::LinkType::ETHERNET,
            &data[off + 16..off + 16 + cl],
            cl as u32,
        ) {
            matching += 1;
        }
        off += 16 + cl;
    }
    assert!(matching > 0);
    let ns = Netns::new("filter");
    let run = capture(
        &ns,
        "filter",
        &[
            "--fanout",
            "hash",
            "-w",
            "2",
            "--buffer-size",
            "16MiB",
            "-f",
            "tcp and port 80",
        ],
        &trace,
        "",
        Duration::from_millis(1200),
    );
    let kernel: u64 = run.workers.iter().map(|w| w.kernel_packets).sum();
    assert_eq!(kernel, matching, "{}", run.stderr);
    assert_eq!(run.received(), matching, "{}", run.stderr);
    for r in rows(&run.logdir.join("conn.log")) {
        assert_eq!(r["id.resp_p"], "80");
    }
}

/// Operation: `--user` drops root once the sockets are open (the logs are then written by that
/// user), SIGTERM finishes every log, and weir runs with CAP_NET_RAW alone (no root).
#[test]
fn runs_unprivileged_and_stops_on_sigterm() {
    use std::os::unix::fs::MetadataExt;
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !prepare() {
        return;
    }
    let (trace, n) = synthetic_trace("priv-trace", 100);
    let off = offline(&trace, "priv-offline");
    let ns = Netns::new("priv");
    let o = Opts {
        signal: libc::SIGTERM,
        ..Opts::default()
    };
    let run = capture_with(
        &ns,
        "user",
        &[
            "--fanout",
            "cbpf",
            "-w",
            "2",
            "--buffer-size",
            "16MiB",
            "--defrag",
            "--user",
            "nobody",
        ],
        &trace,
        "",
        Duration::from_millis(1200),
        &o,
    );
    assert_eq!(run.received() + run.drops(), n - 100 / 20, "{}", run.stderr);
    assert_same_logs(&run.logdir, &off, "--user nobody");
    let meta = std::fs::metadata(run.logdir.join("conn.log")).unwrap();
    assert_eq!(meta.uid(), 65534, "conn.log written by nobody");

    // No root at all: uid nobody with CAP_NET_RAW only (HASH mode: EBPF would need CAP_BPF).
    let o = Opts {
        wrapper: [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all,+net_raw",
            "--ambient-caps=-all,+net_raw",
            "--bounding-set=-all,+net_raw",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        ..Opts::default()
    };
    let run = capture_with(
        &ns,
        "capnetraw",
        &["--fanout", "hash", "-w", "2", "--buffer-size", "16MiB", "--defrag"],
        &trace,
        "",
        Duration::from_millis(1200),
        &o,
    );
    assert_eq!(run.received() + run.drops(), n - 100 / 20, "{}", run.stderr);
    assert_same_logs(&run.logdir, &off, "CAP_NET_RAW only");
}

/// A zeekctl node.cfg and weir's TOML run the same worker set as the flags.
#[test]
fn node_cfg_and_toml_run_the_worker_set() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !prepare() {
        return;
    }
    let (trace, n) = synthetic_trace("cfg-trace", 200);
    let off = offline(&trace, "cfg-offline");
    let ns = Netns::new("cfg");
    let dir = tmpdir("cfg-files");
    let node_cfg = dir.join("node.cfg");
    std::fs::write(
        &node_cfg,
        "[manager]\ntype=manager\nhost=localhost\n\n[worker-1]\ntype=worker\nhost=localhost\n\
         interface=af_packet::va\nlb_method=custom\nlb_procs=3\npin_cpus=0,1\naf_packet_fanout_id=77\n\
         af_packet_fanout_mode=AF_Packet::FANOUT_EBPF\naf_packet_buffer_size=16*1024*1024\n",
    )
    .unwrap();
    let toml = dir.join("weir.toml");
    std::fs::write(
        &toml,
        "[stats]\ninterval = 0\n[[worker]]\nname = \"worker-a\"\ninterface = \"va\"\nworkers = 2\n\
         fanout_mode = \"cbpf\"\nfanout_id = 78\nbuffer_size = \"16MiB\"\npin_cpus = \"auto\"\ndefrag = true\n",
    )
    .unwrap();
    let nc = node_cfg.display().to_string();
    let tc = toml.display().to_string();
    for (what, args, workers, names) in [
        (
            "node.cfg",
            vec!["--node-cfg", nc.as_str()],
            3,
            ["worker-1-1", "worker-1-3"],
        ),
        ("TOML", vec!["--config", tc.as_str()], 2, ["worker-a-1", "worker-a-2"]),
    ] {
        let run = capture(&ns, what, &args, &trace, "", Duration::from_millis(1200));
        assert_eq!(run.workers.len(), workers, "{what}: {}", run.stderr);
        for name in names {
            assert!(
                run.workers.iter().any(|w| w.name == name),
                "{what}: no {name}: {}",
                run.stderr
            );
        }
        let expect = if what == "TOML" { n - 200 / 20 } else { n };
        assert_eq!(run.received() + run.drops(), expect, "{what}: {}", run.stderr);
        assert_eq!(run.drops(), 0, "{what}: {}", run.stderr);
        let conn = rows(&run.logdir.join("conn.log"));
        assert_eq!(conn.len(), rows(&off.join("conn.log")).len(), "{what}");
        if what == "TOML" {
            assert_same_logs(&run.logdir, &off, what);
        }
    }
}

/// SIGHUP rotates every open log (Zeek's rotation): the open stats.log is finished and renamed
/// `stats.<open time>.log`, and the next rows go to a new stats.log.
#[test]
fn sighup_rotates_the_logs() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !prepare() {
        return;
    }
    let ns = Netns::new("rotate");
    let dir = tmpdir("rotate-logs");
    let mut child = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.name,
            weir_live_bin(),
            "-i",
            "vb",
            "-w",
            "1",
            "--stats-interval",
            "1",
            "-l",
        ])
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // An idle worker advances its network time with the wall clock: stats.log gets rows every second.
    std::thread::sleep(Duration::from_millis(2500));
    // SAFETY: signalling our child.
    unsafe { libc::kill(child.id() as i32, libc::SIGHUP) };
    std::thread::sleep(Duration::from_millis(2500));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert!(child.wait().unwrap().success());
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let rotated: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("stats.") && n.len() == "stats.".len() + 19 + 4)
        .collect();
    assert_eq!(rotated.len(), 1, "one rotated stats log: {names:?}");
    assert!(
        names.iter().any(|n| n == "stats.log"),
        "a new stats.log after the rotation: {names:?}"
    );
    for n in [rotated[0].as_str(), "stats.log"] {
        let text = std::fs::read_to_string(dir.join(n)).unwrap();
        assert!(
            text.starts_with("#separator") && text.trim_end().ends_with(|c: char| c.is_ascii_digit()),
            "{n}"
        );
        assert!(text.contains("#close"), "{n} is finished");
        assert!(text.lines().any(|l| !l.starts_with('#')), "{n} has rows");
    }
}
