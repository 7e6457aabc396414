//! Shared helpers for the integration tests: reading Zeek's corpus traces and running the decode
//! pipeline (frame -> fragment reassembly -> reassembled datagram) the way the engine does.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use weir_decode::frag::Reassembler;
use weir_decode::{decode_frame_wire, decode_ip, DecodeConfig, DecodeWeird, Decoded, LinkType, Stop};

/// One captured packet.
pub use weir_capture::owned::OwnedPacket as Pkt;

/// `testdata/zeek/traces` of the workspace, if present.
pub fn traces_dir() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/zeek/traces");
    d.is_dir().then_some(d)
}

/// Reads a pcap or pcapng file (optionally gzipped). Unreadable tails are ignored.
pub fn read_trace(path: &Path) -> Vec<Pkt> {
    weir_capture::owned::read_file(path).unwrap_or_default()
}

/// What the pipeline saw for one packet.
pub struct Seen {
    pub result: Result<(), Stop>,
    /// Transport checksum verdict where Zeek would verify one (None: not checked).
    pub transport_ok: Option<bool>,
    pub src: Option<std::net::IpAddr>,
}

/// Runs every packet through decode_frame, the reassembler and decode_ip, collecting weirds.
pub fn run_pipeline(cfg: &DecodeConfig, pkts: &[Pkt], weirds: &mut Vec<DecodeWeird>) -> Vec<Seen> {
    let mut frag = Reassembler::default();
    let mut seen = Vec::new();
    for p in pkts {
        let mut out = Decoded::default();
        let r = decode_frame_wire(cfg, LinkType(p.link), &p.data, p.wire_len, &mut out, weirds);
        let mut s = Seen {
            result: r,
            transport_ok: None,
            src: out.ip.map(|i| i.src),
        };
        if r.is_ok() {
            if let Some(ip) = out.ip {
                if ip.frag.is_some() {
                    if let Some(dgram) = frag.add(p.ts, &ip, weirds) {
                        let mut out2 = Decoded {
                            link: out.link,
                            ..Decoded::default()
                        };
                        s.result = decode_ip(cfg, &dgram, &mut out2, weirds);
                        if let (Ok(()), Some(ip2), Some(_)) = (s.result, out2.ip, out2.transport) {
                            if weir_decode::checksum::should_verify(cfg, &ip2) {
                                s.transport_ok = Some(weir_decode::checksum::transport_ok(&ip2));
                            }
                        }
                    }
                } else if out.transport.is_some() && weir_decode::checksum::should_verify(cfg, &ip) {
                    s.transport_ok = Some(weir_decode::checksum::transport_ok(&ip));
                }
            }
        }
        seen.push(s);
    }
    seen
}
