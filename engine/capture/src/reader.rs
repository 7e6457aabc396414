//! Streaming legacy pcap and pcapng reader.
//!
//! One [`PcapReader`] per input. It owns one buffer that the input is read into and that every
//! [`RawPacket`] borrows: no allocation or copy per packet. The buffer grows only when a record is larger
//! than anything seen before, and never past the bounds below.
//!
//! Semantics follow libpcap 1.10 (`sf-pcap.c`, `sf-pcapng.c`), because Zeek reads files through libpcap:
//! the same timestamp scaling, the same snapshot-length truncation, the same limits on record sizes.
//! Where libpcap refuses a file that is nonetheless well formed (a pcapng file whose interfaces have
//! different link types, or sections in different byte orders) we read it; each packet carries its own
//! link type.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::sync::Arc;

use crate::mapped::{prefetch, MappedFile, Window};

use weir_decode::LinkType;

/// Largest captured length accepted for most link types: libpcap's `MAXIMUM_SNAPLEN`. libpcap refuses a
/// record longer than this ("invalid packet capture length"), so Zeek never sees one; a longer record is
/// damage, and refusing it bounds the buffer.
pub const MAX_SNAPLEN: u32 = 262_144;

/// Largest pcapng block accepted: libpcap's `INITIAL_MAX_BLOCKSIZE` (16 MiB), which it raises only for
/// the few link types below whose snapshot length exceeds it. Bounds the buffer for pcapng.
pub const MAX_BLOCK_LEN: u32 = 16 * 1024 * 1024;

/// libpcap's `max_snaplen_for_dlt`: a few link types carry records larger than [`MAX_SNAPLEN`].
fn max_snaplen_for(link: u32) -> u32 {
    match link {
        231 => 128 * 1024 * 1024, // DBUS: a D-Bus message may be up to 128 MiB
        279 => 8 * 1024 * 1024,   // EBHSCR
        249 => 1024 * 1024,       // USBPCAP
        _ => MAX_SNAPLEN,
    }
}

/// Size of the read buffer before any growth: large enough that reads from the OS are big.
const INITIAL_BUF: usize = 256 * 1024;

/// How far ahead of the reader [`Input::prefetch_ahead`] asks for the mapped input.
const PREFETCH_DISTANCE: usize = 2048;

/// The resolution libpcap hands Zeek: `struct timeval`, microseconds.
const USER_TSRESOL: u64 = 1_000_000;

/// Most pcapng interfaces per section we keep state for. A section with more Interface Description
/// Blocks is damage (or an attack on memory); real captures have a handful.
const MAX_INTERFACES: usize = 65_536;

/// A packet as read from the input; `data` borrows the reader's buffer until the next call.
#[derive(Clone, Copy, Debug)]
pub struct RawPacket<'a> {
    /// Zeek's packet time: `double(tv_sec) + double(tv_usec) / 1e6`, bit for bit.
    pub ts: f64,
    /// The `struct timeval` libpcap would hand Zeek: seconds...
    pub tv_sec: i64,
    /// ...and microseconds.
    pub tv_usec: i64,
    /// Captured length (`data.len()`), after libpcap's truncation to the snapshot length.
    pub caplen: u32,
    /// Length on the wire.
    pub wire_len: u32,
    /// Link type as written in the file (a LINKTYPE_ value, e.g. 101 for raw IP).
    pub link: LinkType,
    pub data: &'a [u8],
    /// pcapng interface id within its section; 0 for legacy pcap.
    pub interface: u32,
    /// The mapping of the file `data` lies in, when the file is read through mappings: whoever holds on
    /// to the window may keep the packet without copying it ([`Window::place`]).
    pub window: Option<&'a Arc<Window>>,
}

/// What went wrong, for callers that branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Reading the input failed (open, permission, I/O).
    Io,
    /// The input does not start with a pcap or pcapng magic number.
    NotPcap,
    /// The input ends inside a header or a record.
    Truncated,
    /// A header or record is malformed (absurd length, unknown interface, bad version).
    Corrupt,
}

/// An error reading a capture: names the input and the byte offset where the problem starts.
#[derive(Debug)]
pub struct CaptureError {
    file: String,
    offset: u64,
    kind: ErrorKind,
    message: String,
    source: Option<io::Error>,
}

impl CaptureError {
    fn new(file: &str, offset: u64, kind: ErrorKind, message: String) -> CaptureError {
        CaptureError {
            file: file.to_string(),
            offset,
            kind,
            message,
            source: None,
        }
    }
    /// A file that cannot be opened.
    pub(crate) fn cannot_open(file: &str, e: io::Error) -> CaptureError {
        let mut err = CaptureError::new(file, 0, ErrorKind::Io, format!("cannot open: {e}"));
        err.source = Some(e);
        err
    }
    /// The input's name (the path, or `-` for stdin).
    pub fn file(&self) -> &str {
        &self.file
    }
    /// Byte offset in the input where the damaged header or record starts.
    pub fn offset(&self) -> u64 {
        self.offset
    }
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The message without file and offset.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = if self.file == "-" { "<stdin>" } else { &self.file };
        write!(f, "{name}: {} (at byte offset {})", self.message, self.offset)
    }
}

impl std::error::Error for CaptureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The container format of an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Legacy pcap; `nanos` for the nanosecond magic.
    Pcap { big_endian: bool, nanos: bool },
    /// pcapng (byte order is per section).
    PcapNg,
}

/// The input: a stream read into one buffer, or a file read through mappings. `data()[start..end]` holds
/// read but unconsumed bytes.
struct Input {
    src: Source,
    start: usize,
    end: usize,
    /// Input offset of `data()[start]`.
    offset: u64,
    eof: bool,
    /// Mapped input: `data()` is asked for ([`prefetch`]) up to here.
    prefetched: usize,
}

enum Source {
    Stream { r: Box<dyn Read + Send>, buf: Vec<u8> },
    Mapped(MappedFile),
}

impl Input {
    fn stream(r: Box<dyn Read + Send>) -> Input {
        Input::new(Source::Stream {
            r,
            buf: vec![0; INITIAL_BUF],
        })
    }

    fn new(src: Source) -> Input {
        Input {
            src,
            start: 0,
            end: 0,
            offset: 0,
            eof: false,
            prefetched: 0,
        }
    }

    /// The buffer or the current window.
    fn data(&self) -> &[u8] {
        match &self.src {
            Source::Stream { buf, .. } => buf,
            Source::Mapped(m) => m.window().map_or(&[], |w| w.bytes()),
        }
    }

    /// The current window of a mapped input.
    fn window(&self) -> Option<&Arc<Window>> {
        match &self.src {
            Source::Mapped(m) => m.window(),
            Source::Stream { .. } => None,
        }
    }

    /// Makes `n` bytes available at `data()[start..]` if the input has them; returns how many are
    /// available (less than `n` only at end of input). `n` is bounded by the callers' limits. Inlined
    /// where the bytes are already there (every record but the first of each window or buffer-full).
    #[inline]
    fn fill(&mut self, n: usize) -> io::Result<usize> {
        if self.end - self.start >= n {
            return Ok(n);
        }
        self.fill_more(n)
    }

    #[inline(never)]
    fn fill_more(&mut self, n: usize) -> io::Result<usize> {
        match &mut self.src {
            Source::Stream { r, buf } => {
                if self.start + n > buf.len() && self.start > 0 {
                    buf.copy_within(self.start..self.end, 0);
                    self.end -= self.start;
                    self.start = 0;
                }
                while self.end - self.start < n && !self.eof {
                    if self.end == buf.len() {
                        // Grow by doubling as data arrives, not to `n` at once: a damaged header claiming a
                        // huge record in a tiny file must not cost a huge allocation.
                        let len = (buf.len() * 2).min(self.start + n);
                        buf.resize(len, 0);
                    }
                    match r.read(&mut buf[self.end..]) {
                        Ok(0) => self.eof = true,
                        Ok(k) => self.end += k,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Source::Mapped(m) if !self.eof => {
                // A window is at most the file's size from `offset`, so a damaged header claiming a huge
                // record maps no more than the file holds.
                let (start, avail) = m.remap(self.offset, n)?;
                self.start = start;
                self.end = start + avail;
                self.eof = avail < n;
                self.prefetched = 0;
            }
            Source::Mapped(_) => {}
        }
        Ok((self.end - self.start).min(n))
    }

    fn bytes(&self, n: usize) -> &[u8] {
        &self.data()[self.start..self.start + n]
    }

    /// Asks for every cache line up to [`PREFETCH_DISTANCE`] bytes ahead of the reader not asked for yet
    /// (on average a packet's worth per packet). Without it, a reader that only looks at headers (the
    /// dispatcher, with worker threads) waits for memory at every record header. (Streams: nothing.)
    fn prefetch_ahead(&mut self) {
        let Some(w) = self.window() else { return };
        let data = w.bytes();
        let upto = (self.start + PREFETCH_DISTANCE).min(data.len());
        let mut at = self.prefetched.max(self.start + 64) & !63;
        while at < upto {
            prefetch(data, at);
            at += 64;
        }
        self.prefetched = at;
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
    }
}

/// Byte-order-aware field access for a header that has been checked to be long enough.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endian {
    Little,
    Big,
}

impl Endian {
    fn u16(self, b: &[u8], at: usize) -> u16 {
        let v = [b[at], b[at + 1]];
        match self {
            Endian::Little => u16::from_le_bytes(v),
            Endian::Big => u16::from_be_bytes(v),
        }
    }
    fn u32(self, b: &[u8], at: usize) -> u32 {
        let v = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        match self {
            Endian::Little => u32::from_le_bytes(v),
            Endian::Big => u32::from_be_bytes(v),
        }
    }
    fn u64(self, b: &[u8], at: usize) -> u64 {
        let hi = self.u32(b, at) as u64;
        let lo = self.u32(b, at + 4) as u64;
        match self {
            Endian::Little => (lo << 32) | hi,
            Endian::Big => (hi << 32) | lo,
        }
    }
}

/// libpcap's handling of caplen/len in pcap files older than 2.4 (`lengths_swapped`).
#[derive(Clone, Copy, Debug)]
enum LengthsSwapped {
    No,
    Yes,
    Maybe,
}

struct Legacy {
    endian: Endian,
    nanos: bool,
    /// Kuznetsov's modified format: 8 more bytes in every record header.
    modified: bool,
    lengths: LengthsSwapped,
    snapshot: u32,
    max_caplen: u32,
    link: LinkType,
}

#[derive(Clone, Copy, Debug)]
struct Iface {
    link: LinkType,
    snapshot: u32,
    tsresol: u64,
    binary: bool,
    tsoffset: u64,
}

struct Ng {
    endian: Endian,
    ifaces: Vec<Iface>,
}

enum State {
    Legacy(Legacy),
    Ng(Ng),
    Done,
}

/// A streaming reader for one pcap or pcapng input.
pub struct PcapReader {
    name: String,
    input: Input,
    state: State,
    format: Format,
    total: Option<u64>,
}

const PCAP_MAGIC: u32 = 0xa1b2_c3d4;
const PCAP_NSEC_MAGIC: u32 = 0xa1b2_3c4d;
const PCAP_MODIFIED_MAGIC: u32 = 0xa1b2_cd34;
const NG_SHB: u32 = 0x0a0d_0d0a;
const NG_BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
const NG_IDB: u32 = 1;
const NG_PB: u32 = 2;
const NG_SPB: u32 = 3;
const NG_EPB: u32 = 6;
/// Block type, total length: the common block header.
const NG_BLOCK_HDR: usize = 8;
/// Smallest block: header plus the trailing total length.
const NG_MIN_BLOCK: u32 = 12;
/// SHB: header, byte-order magic, versions, section length, trailer.
const NG_MIN_SHB: u32 = 28;
const OPT_ENDOFOPT: u16 = 0;
const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;

impl PcapReader {
    /// Opens a file, or stdin when `path` is `-`, and reads its file header. A regular file is read
    /// through memory mappings ([`crate::mapped`]); anything else, or a file the system will not map,
    /// with `read`.
    pub fn open(path: &str) -> Result<PcapReader, CaptureError> {
        PcapReader::open_with(path, true)
    }

    /// [`PcapReader::open`], reading with `read` copies only (`weir --no-mmap`).
    pub fn open_copying(path: &str) -> Result<PcapReader, CaptureError> {
        PcapReader::open_with(path, false)
    }

    fn open_with(path: &str, map: bool) -> Result<PcapReader, CaptureError> {
        if path == "-" {
            return PcapReader::from_reader("-", Box::new(io::stdin()));
        }
        let f = File::open(path).map_err(|e| CaptureError::cannot_open(path, e))?;
        let total = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
        let input = match map.then(|| MappedFile::new(&f)).flatten() {
            Some(m) => Input::new(Source::Mapped(m)),
            None => Input::stream(Box::new(f)),
        };
        let mut r = PcapReader::start(path, input)?;
        r.total = total;
        Ok(r)
    }

    /// Reads from any byte stream; `name` is used in errors. Reads the file header now.
    pub fn from_reader(name: &str, r: Box<dyn Read + Send>) -> Result<PcapReader, CaptureError> {
        PcapReader::start(name, Input::stream(r))
    }

    fn start(name: &str, input: Input) -> Result<PcapReader, CaptureError> {
        let mut rd = PcapReader {
            name: name.to_string(),
            input,
            state: State::Done,
            format: Format::PcapNg,
            total: None,
        };
        let got = rd.fill(4)?;
        if got < 4 {
            return Err(rd.err(
                0,
                ErrorKind::NotPcap,
                format!("not a pcap or pcapng file (input is only {got} bytes long)"),
            ));
        }
        let magic = Endian::Little.u32(rd.input.bytes(4), 0);
        let legacy = |m: u32| match m {
            PCAP_MAGIC => Some((false, false)),
            PCAP_NSEC_MAGIC => Some((true, false)),
            PCAP_MODIFIED_MAGIC => Some((false, true)),
            _ => None,
        };
        if let Some((nanos, modified)) = legacy(magic) {
            rd.open_legacy(Endian::Little, nanos, modified)?;
        } else if let Some((nanos, modified)) = legacy(magic.swap_bytes()) {
            rd.open_legacy(Endian::Big, nanos, modified)?;
        } else if magic == NG_SHB {
            rd.format = Format::PcapNg;
            let endian = rd.read_shb()?;
            rd.state = State::Ng(Ng {
                endian,
                ifaces: Vec::new(),
            });
        } else {
            return Err(rd.err(0, ErrorKind::NotPcap, "not a pcap or pcapng file".to_string()));
        }
        Ok(rd)
    }

    /// The input's name as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The container format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Bytes consumed so far (the offset of the next record), for a progress bar.
    pub fn bytes_read(&self) -> u64 {
        self.input.offset
    }

    /// Size of the input when it is a regular file.
    pub fn total_bytes(&self) -> Option<u64> {
        self.total
    }

    /// Link type of a legacy pcap file, or of the first interface of a pcapng section once it is known.
    pub fn link_type(&self) -> Option<LinkType> {
        match &self.state {
            State::Legacy(l) => Some(l.link),
            State::Ng(ng) => ng.ifaces.first().map(|i| i.link),
            State::Done => None,
        }
    }

    /// The next packet, `Ok(None)` at a clean end of input. After an error, further calls return
    /// `Ok(None)`.
    pub fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        let res = match self.state {
            State::Legacy(_) => self.next_legacy(),
            State::Ng(_) => self.next_ng(),
            State::Done => Ok(None),
        };
        match res {
            Ok(Some(p)) => {
                self.input.prefetch_ahead();
                let start = self.input.start - p.len;
                let data = &self.input.data()[start..start + p.caplen as usize];
                let window = self.input.window();
                Ok(Some(RawPacket {
                    ts: p.tv_sec as f64 + p.tv_usec as f64 / 1e6,
                    tv_sec: p.tv_sec,
                    tv_usec: p.tv_usec,
                    caplen: p.caplen,
                    wire_len: p.wire_len,
                    link: p.link,
                    data,
                    interface: p.interface,
                    window,
                }))
            }
            Ok(None) => {
                self.state = State::Done;
                Ok(None)
            }
            Err(e) => {
                self.state = State::Done;
                Err(e)
            }
        }
    }

    fn err(&self, offset: u64, kind: ErrorKind, message: String) -> CaptureError {
        CaptureError::new(&self.name, offset, kind, message)
    }

    #[inline]
    fn fill(&mut self, n: usize) -> Result<usize, CaptureError> {
        self.input.fill(n).map_err(|e| self.read_error(e))
    }

    #[cold]
    #[inline(never)]
    fn read_error(&self, e: io::Error) -> CaptureError {
        let mut err = self.err(self.input.offset, ErrorKind::Io, format!("read error: {e}"));
        err.source = Some(e);
        err
    }

    /// Makes exactly `n` bytes available or fails with a truncation error that says what was cut.
    fn need(&mut self, n: usize, what: &str) -> Result<(), CaptureError> {
        let got = self.fill(n)?;
        if got < n {
            return Err(self.err(
                self.input.offset,
                ErrorKind::Truncated,
                format!("truncated file: {what} needs {n} bytes, only {got} left"),
            ));
        }
        Ok(())
    }

    fn open_legacy(&mut self, endian: Endian, nanos: bool, modified: bool) -> Result<(), CaptureError> {
        self.need(24, "pcap file header")?;
        let h = self.input.bytes(24);
        let major = endian.u16(h, 4);
        let minor = endian.u16(h, 6);
        let snaplen = endian.u32(h, 16);
        // The top bits carry the FCS length and a flag (LT_FCS_*); the link type is the low 26.
        let linktype = endian.u32(h, 20) & 0x03ff_ffff;
        if major < 2 {
            return Err(self.err(
                0,
                ErrorKind::Corrupt,
                format!("archaic pcap file format {major}.{minor}"),
            ));
        }
        let lengths = match (major, minor) {
            (2, m) if m < 3 => LengthsSwapped::Yes,
            (2, 3) => LengthsSwapped::Maybe,
            _ => LengthsSwapped::No,
        };
        let max_caplen = max_snaplen_for(linktype);
        let snapshot = if snaplen == 0 || snaplen > max_caplen {
            max_caplen
        } else {
            snaplen
        };
        self.input.consume(24);
        self.format = Format::Pcap {
            big_endian: endian == Endian::Big,
            nanos,
        };
        self.state = State::Legacy(Legacy {
            endian,
            nanos,
            modified,
            lengths,
            snapshot,
            max_caplen,
            link: LinkType(linktype),
        });
        Ok(())
    }

    fn next_legacy(&mut self) -> Result<Option<Pending>, CaptureError> {
        let State::Legacy(l) = &self.state else {
            return Ok(None);
        };
        let (endian, nanos, lengths, snapshot, max_caplen, link) =
            (l.endian, l.nanos, l.lengths, l.snapshot, l.max_caplen, l.link);
        let hlen = if l.modified { 24 } else { 16 };
        let at = self.input.offset;
        let got = self.fill(hlen)?;
        if got == 0 {
            return Ok(None);
        }
        if got < hlen {
            return Err(self.err(
                at,
                ErrorKind::Truncated,
                format!("truncated file: record header needs {hlen} bytes, only {got} left"),
            ));
        }
        let h = self.input.bytes(hlen);
        // Unsigned, as in the pcap specification and libpcap since 2024 (older libpcap read them as
        // signed 32-bit values; the two differ only after 2038 or for crafted microseconds).
        let sec = endian.u32(h, 0) as i64;
        let mut usec = endian.u32(h, 4) as i64;
        let mut caplen = endian.u32(h, 8);
        let mut len = endian.u32(h, 12);
        match lengths {
            LengthsSwapped::Yes => std::mem::swap(&mut caplen, &mut len),
            LengthsSwapped::Maybe if caplen > len => std::mem::swap(&mut caplen, &mut len),
            _ => {}
        }
        if caplen > max_caplen {
            return Err(self.err(
                at,
                ErrorKind::Corrupt,
                format!("invalid packet capture length {caplen}, bigger than maximum of {max_caplen}"),
            ));
        }
        if nanos {
            usec /= 1000; // libpcap's SCALE_DOWN: truncating division
        }
        self.input.consume(hlen);
        let n = caplen as usize;
        let got = self.fill(n)?;
        if got < n {
            return Err(self.err(
                at,
                ErrorKind::Truncated,
                format!("truncated file: record of {caplen} captured bytes has only {got} left"),
            ));
        }
        self.input.consume(n);
        // libpcap reads a record longer than the file's snapshot length whole and keeps the snapshot.
        let kept = caplen.min(snapshot);
        Ok(Some(Pending {
            len: n,
            caplen: kept,
            wire_len: len,
            tv_sec: sec,
            tv_usec: usec,
            link,
            interface: 0,
        }))
    }

    /// Reads a Section Header Block at the current offset; returns its byte order.
    fn read_shb(&mut self) -> Result<Endian, CaptureError> {
        let at = self.input.offset;
        self.need(12, "pcapng section header")?;
        let h = self.input.bytes(12);
        let endian = match Endian::Little.u32(h, 8) {
            NG_BYTE_ORDER_MAGIC => Endian::Little,
            m if m.swap_bytes() == NG_BYTE_ORDER_MAGIC => Endian::Big,
            _ => {
                let kind = if at == 0 {
                    ErrorKind::NotPcap
                } else {
                    ErrorKind::Corrupt
                };
                return Err(self.err(
                    at,
                    kind,
                    "not a pcap or pcapng file (pcapng section header has a bad byte-order magic)".to_string(),
                ));
            }
        };
        let total = endian.u32(h, 4);
        self.check_block_len(at, total, NG_MIN_SHB)?;
        self.need(total as usize, "pcapng section header block")?;
        let b = self.input.bytes(total as usize);
        let (major, minor) = (endian.u16(b, 12), endian.u16(b, 14));
        if major != 1 {
            return Err(self.err(
                at,
                ErrorKind::Corrupt,
                format!("unsupported pcapng version {major}.{minor}"),
            ));
        }
        self.input.consume(total as usize);
        Ok(endian)
    }

    fn check_block_len(&self, at: u64, total: u32, min: u32) -> Result<(), CaptureError> {
        if total < min || total & 3 != 0 || total > MAX_BLOCK_LEN {
            return Err(self.err(
                at,
                ErrorKind::Corrupt,
                format!(
                    "pcapng block has an invalid total length {total} (minimum {min}, multiple of 4, at most {MAX_BLOCK_LEN})"
                ),
            ));
        }
        Ok(())
    }

    fn next_ng(&mut self) -> Result<Option<Pending>, CaptureError> {
        loop {
            let State::Ng(ng) = &self.state else {
                return Ok(None);
            };
            let endian = ng.endian;
            let at = self.input.offset;
            let got = self.fill(NG_BLOCK_HDR)?;
            if got == 0 {
                return Ok(None);
            }
            if got < NG_BLOCK_HDR {
                return Err(self.err(
                    at,
                    ErrorKind::Truncated,
                    format!("truncated file: pcapng block header needs 8 bytes, only {got} left"),
                ));
            }
            let btype = endian.u32(self.input.bytes(8), 0);
            if btype == NG_SHB {
                let endian = self.read_shb()?;
                // A new section: interface ids start again.
                if let State::Ng(ng) = &mut self.state {
                    ng.endian = endian;
                    ng.ifaces.clear();
                }
                continue;
            }
            let total = endian.u32(self.input.bytes(8), 4);
            self.check_block_len(at, total, NG_MIN_BLOCK)?;
            let tlen = total as usize;
            let got = self.fill(tlen)?;
            if got < tlen {
                return Err(self.err(
                    at,
                    ErrorKind::Truncated,
                    format!("truncated file: pcapng block of {total} bytes has only {got} left"),
                ));
            }
            // The body, without block header and trailer.
            let body_len = tlen - 12;
            match btype {
                NG_IDB => {
                    let iface = self.parse_idb(at, endian, body_len)?;
                    let State::Ng(ng) = &mut self.state else {
                        return Ok(None);
                    };
                    if ng.ifaces.len() >= MAX_INTERFACES {
                        return Err(self.err(
                            at,
                            ErrorKind::Corrupt,
                            format!("more than {MAX_INTERFACES} interfaces in one pcapng section"),
                        ));
                    }
                    ng.ifaces.push(iface);
                    self.input.consume(tlen);
                }
                NG_EPB | NG_PB | NG_SPB => {
                    let p = self.parse_packet_block(at, btype, endian, body_len)?;
                    self.input.consume(tlen);
                    return Ok(Some(p));
                }
                _ => self.input.consume(tlen),
            }
        }
    }

    fn parse_idb(&self, at: u64, endian: Endian, body_len: usize) -> Result<Iface, CaptureError> {
        let corrupt = |msg: String| self.err(at, ErrorKind::Corrupt, msg);
        let body = &self.input.bytes(body_len + 8)[8..];
        if body.len() < 8 {
            return Err(corrupt("pcapng interface description block is too short".into()));
        }
        let link = endian.u16(body, 0) as u32;
        let snaplen = endian.u32(body, 4);
        let max = max_snaplen_for(link);
        let mut iface = Iface {
            link: LinkType(link),
            snapshot: if snaplen == 0 || snaplen > max { max } else { snaplen },
            tsresol: USER_TSRESOL,
            binary: false,
            tsoffset: 0,
        };
        let (mut seen_res, mut seen_off) = (false, false);
        let mut o = 8;
        while o + 4 <= body.len() {
            let code = endian.u16(body, o);
            let len = endian.u16(body, o + 2) as usize;
            let v = o + 4;
            if code == OPT_ENDOFOPT {
                break;
            }
            if v + len > body.len() {
                return Err(corrupt(format!(
                    "pcapng interface option {code} runs past the end of its block"
                )));
            }
            match code {
                IF_TSRESOL => {
                    if len != 1 {
                        return Err(corrupt(format!("pcapng if_tsresol option has length {len}, not 1")));
                    }
                    if seen_res {
                        return Err(corrupt("pcapng interface has more than one if_tsresol option".into()));
                    }
                    seen_res = true;
                    let r = body[v];
                    if r & 0x80 != 0 {
                        let exp = r & 0x7f;
                        if exp > 63 {
                            return Err(corrupt(format!("pcapng if_tsresol 2^-{exp} is too high")));
                        }
                        iface.tsresol = 1u64 << exp;
                        iface.binary = true;
                    } else {
                        if r > 19 {
                            return Err(corrupt(format!("pcapng if_tsresol 10^-{r} is too high")));
                        }
                        iface.tsresol = 10u64.pow(r as u32);
                    }
                }
                IF_TSOFFSET => {
                    if len != 8 {
                        return Err(corrupt(format!("pcapng if_tsoffset option has length {len}, not 8")));
                    }
                    if seen_off {
                        return Err(corrupt("pcapng interface has more than one if_tsoffset option".into()));
                    }
                    seen_off = true;
                    iface.tsoffset = endian.u64(body, v);
                }
                _ => {}
            }
            o = v + ((len + 3) & !3);
        }
        Ok(iface)
    }

    fn parse_packet_block(
        &self,
        at: u64,
        btype: u32,
        endian: Endian,
        body_len: usize,
    ) -> Result<Pending, CaptureError> {
        let State::Ng(ng) = &self.state else {
            return Err(self.err(at, ErrorKind::Corrupt, "reader state lost".into()));
        };
        let corrupt = |msg: String| self.err(at, ErrorKind::Corrupt, msg);
        let body = &self.input.bytes(body_len + 8)[8..];
        let (iface_id, ts, caplen, len, hdr) = match btype {
            NG_EPB | NG_PB => {
                if body.len() < 20 {
                    return Err(corrupt("pcapng packet block is too short".into()));
                }
                let iface = if btype == NG_EPB {
                    endian.u32(body, 0)
                } else {
                    endian.u16(body, 0) as u32
                };
                let ts = ((endian.u32(body, 4) as u64) << 32) | endian.u32(body, 8) as u64;
                (iface, Some(ts), endian.u32(body, 12), endian.u32(body, 16), 20usize)
            }
            _ => {
                if body.len() < 4 {
                    return Err(corrupt("pcapng simple packet block is too short".into()));
                }
                // The SPB has no captured length: it is the wire length cut to interface 0's snapshot.
                let len = endian.u32(body, 0);
                (0, None, len, len, 4usize)
            }
        };
        let Some(iface) = ng.ifaces.get(iface_id as usize).copied() else {
            return Err(corrupt(format!(
                "a packet arrived on interface {iface_id}, but there is no Interface Description Block for it"
            )));
        };
        let caplen = if btype == NG_SPB {
            caplen.min(iface.snapshot)
        } else {
            caplen
        };
        if caplen > iface.snapshot {
            // libpcap refuses this (where legacy pcap records are cut to the snapshot length instead).
            return Err(corrupt(format!(
                "invalid packet capture length {caplen}, bigger than snaplen of {}",
                iface.snapshot
            )));
        }
        if caplen as usize > body.len() - hdr {
            return Err(corrupt(format!(
                "pcapng packet block has captured length {caplen}, larger than its block allows ({})",
                body.len() - hdr
            )));
        }
        let (tv_sec, tv_usec) = match ts {
            Some(t) => scale_ts(t, &iface),
            None => (0, 0),
        };
        // The packet data starts at block offset 8 + hdr; make `len` count from there to the block's end
        // so `next_packet` finds the data right before `start` after the whole block is consumed.
        let total = body_len + 12;
        Ok(Pending {
            len: total - 8 - hdr,
            caplen,
            wire_len: len,
            tv_sec,
            tv_usec,
            link: iface.link,
            interface: iface_id,
        })
    }
}

/// libpcap's pcapng timestamp conversion to a microsecond `struct timeval`, with its 64-bit wrapping.
fn scale_ts(t: u64, iface: &Iface) -> (i64, i64) {
    let res = iface.tsresol;
    let sec = t / res;
    let mut frac = t % res;
    if res != USER_TSRESOL {
        if res > USER_TSRESOL {
            if iface.binary {
                frac = frac.wrapping_mul(USER_TSRESOL) / res;
            } else {
                frac /= res / USER_TSRESOL;
            }
        } else if iface.binary {
            frac = frac.wrapping_mul(USER_TSRESOL) / res;
        } else {
            frac = frac.wrapping_mul(USER_TSRESOL / res);
        }
    }
    // libpcap: `tv_sec = (time_t)sec; tv_usec = (int)frac;`
    (sec.wrapping_add(iface.tsoffset) as i64, frac as u32 as i32 as i64)
}

/// A packet found by a format reader, before it is turned into a borrowing [`RawPacket`]:
/// its data ends `len` bytes before the reader's current position (that is, the record's end, minus
/// any padding and options, which `len` includes).
struct Pending {
    len: usize,
    caplen: u32,
    wire_len: u32,
    tv_sec: i64,
    tv_usec: i64,
    link: LinkType,
    interface: u32,
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
