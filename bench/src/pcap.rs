//! Legacy pcap (libpcap 2.4) writing and a minimal reader.

use std::io::{self, Read, Write};

pub const LINKTYPE_ETHERNET: u32 = 1;
pub const SNAPLEN: u32 = 262_144;

/// Streams packets to a legacy pcap file: little-endian, microsecond timestamps, Ethernet.
pub struct PcapWriter<W: Write> {
    out: W,
    bytes: u64,
    packets: u64,
}

impl<W: Write> PcapWriter<W> {
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes());
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone, sigfigs: 0
        h[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
        h[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out.write_all(&h)?;
        Ok(PcapWriter {
            out,
            bytes: 24,
            packets: 0,
        })
    }

    /// Writes one packet; `ts_us` is microseconds since the epoch.
    pub fn write(&mut self, ts_us: u64, frame: &[u8]) -> io::Result<()> {
        let mut r = [0u8; 16];
        r[0..4].copy_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
        r[4..8].copy_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
        r[8..12].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        r[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        self.out.write_all(&r)?;
        self.out.write_all(frame)?;
        self.bytes += 16 + frame.len() as u64;
        self.packets += 1;
        Ok(())
    }

    /// File bytes written so far (headers included).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn packets(&self) -> u64 {
        self.packets
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// One record of a pcap file.
#[derive(Debug)]
pub struct Record<'a> {
    pub ts_sec: u32,
    /// Microseconds, or nanoseconds when the file's magic says so.
    pub ts_frac: u32,
    pub orig_len: u32,
    pub data: &'a [u8],
}

/// A minimal streaming reader for legacy pcap (either byte order, µs or ns timestamps).
pub struct PcapReader<R: Read> {
    inp: R,
    swapped: bool,
    pub nanos: bool,
    pub linktype: u32,
    buf: Vec<u8>,
}

fn u32_at(b: &[u8], swapped: bool) -> u32 {
    let v = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    if swapped {
        v.swap_bytes()
    } else {
        v
    }
}

impl<R: Read> PcapReader<R> {
    pub fn new(mut inp: R) -> io::Result<Self> {
        let mut h = [0u8; 24];
        inp.read_exact(&mut h)?;
        let magic = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let (swapped, nanos) = match magic {
            0xa1b2_c3d4 => (false, false),
            0xa1b2_3c4d => (false, true),
            0xd4c3_b2a1 => (true, false),
            0x4d3c_b2a1 => (true, true),
            _ => return Err(io::Error::new(io::ErrorKind::InvalidData, "not a legacy pcap file")),
        };
        let linktype = u32_at(&h[20..24], swapped);
        Ok(PcapReader {
            inp,
            swapped,
            nanos,
            linktype,
            buf: Vec::with_capacity(SNAPLEN as usize),
        })
    }

    /// The next record, or None at a clean end of file. A truncated last record is an error.
    pub fn next_record(&mut self) -> io::Result<Option<Record<'_>>> {
        let mut r = [0u8; 16];
        let mut got = 0;
        while got < 16 {
            let n = self.inp.read(&mut r[got..])?;
            if n == 0 {
                if got == 0 {
                    return Ok(None);
                }
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "truncated record header"));
            }
            got += n;
        }
        let incl = u32_at(&r[8..12], self.swapped);
        if incl > 16 * 1024 * 1024 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "record length too large"));
        }
        self.buf.resize(incl as usize, 0);
        self.inp.read_exact(&mut self.buf)?;
        Ok(Some(Record::new(&r, self.swapped, &self.buf)))
    }
}

impl<'a> Record<'a> {
    /// The record with the 16-byte header `h` and the captured bytes `data`.
    fn new(h: &[u8; 16], swapped: bool, data: &'a [u8]) -> Record<'a> {
        Record {
            ts_sec: u32_at(&h[0..4], swapped),
            ts_frac: u32_at(&h[4..8], swapped),
            orig_len: u32_at(&h[12..16], swapped),
            data,
        }
    }
}

/// Summary of a pcap file read end to end.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Scan {
    pub packets: u64,
    /// Sum of captured lengths.
    pub bytes: u64,
    /// A fold over every byte of every packet, so that nothing can be skipped.
    pub digest: u64,
    /// Timestamps never went backwards.
    pub monotonic: bool,
    last: (u32, u32),
}

/// Reads a pcap file and touches every byte of every packet.
pub fn scan<R: Read>(inp: R) -> io::Result<Scan> {
    let mut rd = PcapReader::new(inp)?;
    let mut s = Scan {
        monotonic: true,
        ..Scan::default()
    };
    while let Some(rec) = rd.next_record()? {
        s.touch(&rec);
    }
    Ok(s)
}

impl Scan {
    /// Counts a record and folds every byte of it into the digest.
    fn touch(&mut self, rec: &Record<'_>) {
        let ts = (rec.ts_sec, rec.ts_frac);
        if self.packets > 0 && ts < self.last {
            self.monotonic = false;
        }
        self.last = ts;
        self.packets += 1;
        self.bytes += rec.data.len() as u64;
        // Four independent sums of 64-bit words (vectorised): touching the bytes costs memory
        // bandwidth, not a serial chain of multiplications, so the floor is as low as reading can be.
        let mut acc = [0u64; 4];
        let mut chunks = rec.data.chunks_exact(32);
        for c in &mut chunks {
            for (k, a) in acc.iter_mut().enumerate() {
                *a = a.wrapping_add(u64::from_le_bytes(c[8 * k..8 * k + 8].try_into().unwrap()));
            }
        }
        let mut h = self.digest ^ rec.data.len() as u64;
        for v in acc.into_iter().chain(chunks.remainder().iter().map(|&b| b as u64)) {
            h = (h ^ v).wrapping_mul(0x100_0000_01b3);
        }
        self.digest = h;
    }
}

/// [`scan`] of a legacy pcap file mapped into memory instead of read: no copy of any byte, the least a
/// reader can do (weir reads files through mappings too).
pub fn scan_mapped(path: &std::path::Path) -> io::Result<Scan> {
    let f = std::fs::File::open(path)?;
    let map = Mapped::new(&f)?;
    let b = map.bytes();
    // The file header, read as the streaming reader reads it.
    let swapped = PcapReader::new(b)?.swapped;
    let mut s = Scan {
        monotonic: true,
        ..Scan::default()
    };
    let mut at = 24;
    while at < b.len() {
        let r: &[u8; 16] = b
            .get(at..at + 16)
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "truncated record header"))?;
        let incl = u32_at(&r[8..12], swapped) as usize;
        let data = b
            .get(at + 16..at + 16 + incl)
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "truncated record"))?;
        s.touch(&Record::new(r, swapped, data));
        at += 16 + incl;
    }
    Ok(s)
}

/// A whole file mapped read-only. The C library's `mmap`, declared here: this crate has no dependencies.
struct Mapped {
    ptr: *mut std::ffi::c_void,
    len: usize,
}

extern "C" {
    fn mmap(addr: *mut std::ffi::c_void, len: usize, prot: i32, flags: i32, fd: i32, off: i64)
        -> *mut std::ffi::c_void;
    fn munmap(addr: *mut std::ffi::c_void, len: usize) -> i32;
}

impl Mapped {
    fn new(f: &std::fs::File) -> io::Result<Mapped> {
        use std::os::fd::AsRawFd;
        const PROT_READ: i32 = 1;
        const MAP_PRIVATE: i32 = 2;
        const MAP_POPULATE: i32 = 0x8000;
        let len = usize::try_from(f.metadata()?.len()).map_err(io::Error::other)?;
        if len == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "empty file"));
        }
        // SAFETY: a fresh private read-only mapping of an open file; checked before use.
        let ptr = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                PROT_READ,
                MAP_PRIVATE | MAP_POPULATE,
                f.as_raw_fd(),
                0,
            )
        };
        if ptr as isize == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapped { ptr, len })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes until `Drop`.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: exactly the mapping `new` made.
        unsafe { munmap(self.ptr, self.len) };
    }
}
