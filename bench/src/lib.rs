//! weir's benchmark side: a seeded, streaming pcap traffic generator ([`gen`]) and the pieces of
//! the end-to-end benchmark runner (a minimal pcap reader in [`pcap`], process measurement in
//! [`run`], the log summary in [`logs`]), and the thread CPU clock the engine crates' criterion
//! benchmarks measure with ([`cpu`]).

pub mod cpu;
pub mod dns;
pub mod gen;
pub mod logs;
pub mod pcap;
pub mod pkt;
pub mod rng;
pub mod run;
pub mod tls;
