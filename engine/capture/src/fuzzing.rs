//! Entry points shared by the fuzz targets (`fuzz/`) and the corpus replay test
//! (`tests/fuzz_corpus.rs`), so `cargo test` runs exactly what the fuzzer runs.

use crate::filter::{BpfInsn, Program};
use crate::PcapReader;

/// Most packets one fuzz input may yield before we stop (keeps each run short).
const MAX_PACKETS: usize = 100_000;

/// Reads `data` as a capture to its end or first error, checking the reader's invariants.
pub fn read_capture(data: &[u8]) {
    let Ok(mut r) = PcapReader::from_reader("fuzz", Box::new(std::io::Cursor::new(data.to_vec()))) else {
        return;
    };
    for _ in 0..MAX_PACKETS {
        let before = r.bytes_read();
        match r.next_packet() {
            Ok(Some(p)) => {
                assert_eq!(p.data.len(), p.caplen as usize);
                let _ = (p.ts, p.link, p.wire_len);
            }
            Ok(None) => break,
            Err(e) => {
                assert!(e.offset() <= data.len() as u64);
                assert!(e.offset() >= before);
                let _ = e.to_string();
                break;
            }
        }
        assert!(r.bytes_read() <= data.len() as u64);
    }
}

/// Splits `data` into a program (first byte: instruction count) and a packet, validates the program
/// and, when valid, runs it over the packet.
pub fn run_bpf(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = (n as usize).min(rest.len() / 8);
    let (code, pkt) = rest.split_at(n * 8);
    let insns: Vec<BpfInsn> = code
        .chunks_exact(8)
        .map(|c| {
            BpfInsn::new(
                u16::from_le_bytes([c[0], c[1]]),
                c[2],
                c[3],
                u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
            )
        })
        .collect();
    if let Ok(p) = Program::new(insns) {
        let wire = pkt.len() as u32;
        let _ = p.run(pkt, wire);
        let _ = p.run(&pkt[..pkt.len() / 2], wire);
    }
}
