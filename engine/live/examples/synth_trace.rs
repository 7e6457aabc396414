//! Writes the live tests' synthetic trace (TCP, some in VLAN 10, UDP, ICMP, IPv6, fragmented UDP):
//! `cargo run --example synth_trace -- OUT.pcap [N_TCP]`. Used by `bench/live-rate.sh`.

#[path = "../tests/common/mod.rs"]
mod common;

fn main() {
    let mut args = std::env::args().skip(1);
    let out = args.next().expect("usage: synth_trace OUT.pcap [N_TCP]");
    let n: u32 = args.next().map(|v| v.parse().expect("N_TCP")).unwrap_or(400);
    let (bytes, packets) = common::synthetic(n);
    std::fs::write(&out, bytes).expect("write");
    println!("{out}: {packets} packets");
}
