//! Whole captures read into memory, for tests and benchmarks that look at every packet of a corpus
//! trace (feature `gzip`: Zeek's corpus holds gzipped traces).

use crate::{CaptureError, PcapReader};
use std::io::Read;
use std::path::Path;

/// One captured packet, copied out of the capture.
#[derive(Clone, Debug)]
pub struct OwnedPacket {
    pub ts: f64,
    /// The link type's number (`LinkType`'s).
    pub link: u32,
    pub wire_len: usize,
    pub data: Vec<u8>,
}

/// Every packet of a pcap or pcapng file (gunzipped when its name ends in `.gz`), read with weir's own
/// reader as `weir -r` reads: at damage, what precedes it is kept and the rest ignored. Errors only when
/// the file cannot be opened or does not start as a capture.
pub fn read_file(path: &Path) -> Result<Vec<OwnedPacket>, CaptureError> {
    let name = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|e| CaptureError::cannot_open(&name, e))?;
    let input: Box<dyn Read + Send> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(f))
    } else {
        Box::new(f)
    };
    let mut r = PcapReader::from_reader(&name, input)?;
    let mut pkts = Vec::new();
    while let Ok(Some(p)) = r.next_packet() {
        pkts.push(OwnedPacket {
            ts: p.ts,
            link: p.link.0,
            wire_len: p.wire_len as usize,
            data: p.data.to_vec(),
        });
    }
    Ok(pkts)
}
