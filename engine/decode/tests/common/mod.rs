//! Shared helpers for the integration tests: reading Zeek's corpus traces and running the decode
//! pipeline (frame -> fragment reassembly -> reassembled datagram) the way the engine does.

#![allow(dead_code)]

use pcap_parser::{create_reader, Block, PcapBlockOwned, PcapError};
use std::io::Read;
use std::path::{Path, PathBuf};
use weir_decode::frag::Reassembler;
use weir_decode::{decode_frame_wire, decode_ip, DecodeConfig, DecodeWeird, Decoded, LinkType, Stop};

/// One captured packet.
pub struct Pkt {
    pub ts: f64,
    pub link: u32,
    pub wire_len: usize,
    pub data: Vec<u8>,
}

/// `testdata/zeek/traces` of the workspace, if present.
pub fn traces_dir() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/zeek/traces");
    d.is_dir().then_some(d)
}

/// Reads a pcap or pcapng file (optionally gzipped). Unreadable tails are ignored.
pub fn read_trace(path: &Path) -> Vec<Pkt> {
    let mut bytes = Vec::new();
    let Ok(mut f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    if f.read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        if flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut out).is_err() {
            return Vec::new();
        }
        bytes = out;
    }
    let mut pkts = Vec::new();
    let Ok(mut reader) = create_reader(1 << 16, &bytes[..]) else {
        return pkts;
    };
    let mut legacy_link = 1u32;
    let mut nanos = false;
    let mut ifaces: Vec<(u32, u64)> = Vec::new();
    loop {
        match reader.next() {
            Ok((off, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        legacy_link = h.network.0 as u32;
                        nanos = h.is_nanosecond_precision();
                    }
                    PcapBlockOwned::Legacy(b) => {
                        let frac = if nanos { 1e-9 } else { 1e-6 };
                        let n = (b.caplen as usize).min(b.data.len());
                        pkts.push(Pkt {
                            ts: b.ts_sec as f64 + b.ts_usec as f64 * frac,
                            link: legacy_link,
                            wire_len: b.origlen as usize,
                            data: b.data[..n].to_vec(),
                        });
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => ifaces.clear(),
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        ifaces.push((idb.linktype.0 as u32, idb.ts_resolution().unwrap_or(1_000_000)));
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        let (link, res) = ifaces.get(epb.if_id as usize).copied().unwrap_or((1, 1_000_000));
                        let t = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                        let n = (epb.caplen as usize).min(epb.data.len());
                        pkts.push(Pkt {
                            ts: t as f64 / res as f64,
                            link,
                            wire_len: epb.origlen as usize,
                            data: epb.data[..n].to_vec(),
                        });
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        let (link, _) = ifaces.first().copied().unwrap_or((1, 1_000_000));
                        pkts.push(Pkt {
                            ts: 0.0,
                            link,
                            wire_len: spb.origlen as usize,
                            data: spb.data.to_vec(),
                        });
                    }
                    _ => {}
                }
                reader.consume(off);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                if reader.refill().is_err() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    pkts
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
