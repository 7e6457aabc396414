//! Reader tests: corpus traces (copied from Zeek's test corpus into `testdata/zeek/traces`), byte-swapped
//! and synthetic files, truncation at every byte of the last records, corrupt and garbage input.

use super::*;
use std::io::Cursor;

fn trace(rel: &str) -> Vec<u8> {
    let p = format!("{}/../../testdata/zeek/traces/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn trace_path(rel: &str) -> String {
    format!("{}/../../testdata/zeek/traces/{rel}", env!("CARGO_MANIFEST_DIR"))
}

/// What a test compares about a packet.
#[derive(Clone, Debug, PartialEq)]
struct Pkt {
    tv_sec: i64,
    tv_usec: i64,
    ts_bits: u64,
    caplen: u32,
    wire_len: u32,
    link: u32,
    iface: u32,
    data: Vec<u8>,
}

fn drain(r: &mut PcapReader) -> (Vec<Pkt>, Option<CaptureError>) {
    let mut out = Vec::new();
    loop {
        match r.next_packet() {
            Ok(Some(p)) => {
                assert_eq!(p.data.len(), p.caplen as usize);
                out.push(Pkt {
                    tv_sec: p.tv_sec,
                    tv_usec: p.tv_usec,
                    ts_bits: p.ts.to_bits(),
                    caplen: p.caplen,
                    wire_len: p.wire_len,
                    link: p.link.0,
                    iface: p.interface,
                    data: p.data.to_vec(),
                })
            }
            Ok(None) => return (out, None),
            Err(e) => {
                // After an error the reader is finished.
                assert!(matches!(r.next_packet(), Ok(None)));
                return (out, Some(e));
            }
        }
    }
}

/// Reads `b` as a stream, and also as a file through mappings of one page at a time (so records straddle
/// windows and records larger than a window get one of their own): both must give the same packets and
/// the same error.
fn read_bytes(name: &str, b: &[u8]) -> Result<(Vec<Pkt>, Option<CaptureError>), CaptureError> {
    let streamed = PcapReader::from_reader(name, Box::new(Cursor::new(b.to_vec()))).map(|mut r| drain(&mut r));
    let mapped = read_mapped(b, 4096);
    let summary = |e: &CaptureError| (e.kind(), e.offset(), e.message().to_string());
    match (&streamed, &mapped) {
        (Ok((p1, e1)), Ok((p2, e2))) => {
            assert!(p1 == p2, "{name}: mapped and streamed packets differ");
            assert_eq!(e1.as_ref().map(summary), e2.as_ref().map(summary), "{name}");
        }
        (Err(e1), Err(e2)) => assert_eq!(summary(e1), summary(e2), "{name}"),
        _ => panic!("{name}: mapped and streamed reads disagree"),
    }
    streamed
}

/// Writes `b` to a temporary file and reads it through mappings of `window` bytes.
fn read_mapped(b: &[u8], window: usize) -> Result<(Vec<Pkt>, Option<CaptureError>), CaptureError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "weir-capture-test-{}-{}.pcap",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, b).unwrap();
    let f = File::open(&path).unwrap();
    let m = MappedFile::with_window(&f, window).expect("a regular file maps");
    let res = PcapReader::start("mapped", Input::new(Source::Mapped(m))).map(|mut r| drain(&mut r));
    std::fs::remove_file(&path).unwrap();
    res
}

/// The stream buffer's size.
fn buf_len(r: &PcapReader) -> usize {
    match &r.input.src {
        Source::Stream { buf, .. } => buf.len(),
        Source::Mapped(_) => unreachable!("a stream"),
    }
}

fn read_ok(name: &str, b: &[u8]) -> Vec<Pkt> {
    let (p, e) = read_bytes(name, b).unwrap();
    assert!(e.is_none(), "{}", e.unwrap());
    p
}

/// Zeek's `double(tv_sec) + double(tv_usec) / 1e6`.
fn zeek_ts(sec: i64, usec: i64) -> u64 {
    (sec as f64 + usec as f64 / 1e6).to_bits()
}

/// Offsets of the records of a legacy little-endian pcap (16-byte record headers).
fn legacy_offsets(b: &[u8]) -> Vec<usize> {
    let mut v = Vec::new();
    let mut o = 24;
    while o + 16 <= b.len() {
        v.push(o);
        o += 16 + u32::from_le_bytes(b[o + 8..o + 12].try_into().unwrap()) as usize;
    }
    v
}

/// Offsets and types of the blocks of a little-endian pcapng file.
fn ng_blocks(b: &[u8]) -> Vec<(usize, u32)> {
    let mut v = Vec::new();
    let mut o = 0;
    while o + 8 <= b.len() {
        let t = u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
        v.push((o, t));
        o += u32::from_le_bytes(b[o + 4..o + 8].try_into().unwrap()) as usize;
    }
    v
}

#[test]
fn legacy_pcap_counts_and_timestamps() {
    let p = read_ok("wikipedia.pcap", &trace("wikipedia.pcap"));
    assert_eq!(p.len(), 136);
    assert_eq!(
        (p[0].tv_sec, p[0].tv_usec, p[0].caplen, p[0].wire_len),
        (1300475167, 96535, 87, 87)
    );
    assert_eq!((p[135].tv_sec, p[135].tv_usec, p[135].caplen), (1300475173, 475401, 92));
    assert!(p.iter().all(|x| x.link == 1 && x.iface == 0));
    for x in &p {
        assert_eq!(x.ts_bits, zeek_ts(x.tv_sec, x.tv_usec));
    }
    // The sum Zeek computes is not always the nearest double to the decimal: keep the sum.
    assert_eq!(p[0].ts_bits, (1300475167f64 + 96535f64 / 1e6).to_bits());
}

#[test]
fn nanosecond_pcap_truncates_to_microseconds() {
    for (rel, n) in [("vntag.pcap", 3), ("http/get-to-ssh-server.pcap", 9)] {
        let b = trace(rel);
        assert_eq!(&b[..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        let p = read_ok(rel, &b);
        assert_eq!(p.len(), n);
        for (x, off) in p.iter().zip(legacy_offsets(&b)) {
            let nanos = u32::from_le_bytes(b[off + 4..off + 8].try_into().unwrap()) as i64;
            assert_eq!(x.tv_usec, nanos / 1000, "{rel}");
            assert_eq!(x.ts_bits, zeek_ts(x.tv_sec, x.tv_usec));
        }
    }
    let p = read_ok("vntag.pcap", &trace("vntag.pcap"));
    assert_eq!((p[0].tv_sec, p[0].tv_usec), (1342606813, 729856));
}

#[test]
fn caplen_beyond_snaplen_is_cut_like_libpcap() {
    // trunc-hdr.pcap: snaplen 1, one record with caplen 8: libpcap reads 8 bytes and keeps 1.
    let p = read_ok("trunc/trunc-hdr.pcap", &trace("trunc/trunc-hdr.pcap"));
    assert_eq!(p.len(), 1);
    assert_eq!((p[0].caplen, p[0].wire_len, p[0].data.len()), (1, 78, 1));
}

#[test]
fn pcapng_multi_interface() {
    let p = read_ok("pcapng-multi-interface.pcapng", &trace("pcapng-multi-interface.pcapng"));
    assert_eq!(p.len(), 6);
    assert_eq!(
        (p[0].tv_sec, p[0].tv_usec, p[0].caplen, p[0].iface),
        (1767663089, 500330, 96, 0)
    );
    assert_eq!(
        (p[5].tv_sec, p[5].tv_usec, p[5].caplen, p[5].iface),
        (1767663437, 140942, 182, 1)
    );
    let ifaces: std::collections::BTreeSet<u32> = p.iter().map(|x| x.iface).collect();
    assert_eq!(ifaces.len(), 2);
    for x in &p {
        assert_eq!(x.ts_bits, zeek_ts(x.tv_sec, x.tv_usec));
    }
}

#[test]
fn pcapng_single_interface() {
    let rel = "tcp/http-on-irc-port-missing-syn.pcapng";
    let mut r = PcapReader::open(&trace_path(rel)).unwrap();
    assert_eq!(r.format(), Format::PcapNg);
    let (p, e) = drain(&mut r);
    assert!(e.is_none());
    assert_eq!(p.len(), 13);
    assert_eq!((p[0].tv_sec, p[0].tv_usec, p[0].caplen), (1362692526, 939084, 74));
    assert_eq!((p[12].tv_sec, p[12].tv_usec, p[12].caplen), (1362692527, 80972, 66));
    assert_eq!(r.total_bytes(), Some(trace(rel).len() as u64));
    assert_eq!(r.bytes_read(), trace(rel).len() as u64);
}

/// A legacy little-endian pcap rewritten big-endian.
fn swap_legacy(b: &[u8]) -> Vec<u8> {
    let mut o = b.to_vec();
    let sw = |o: &mut Vec<u8>, at: usize, n: usize| o[at..at + n].reverse();
    sw(&mut o, 0, 4);
    sw(&mut o, 4, 2);
    sw(&mut o, 6, 2);
    for at in [8, 12, 16, 20] {
        sw(&mut o, at, 4);
    }
    for r in legacy_offsets(b) {
        for k in 0..4 {
            sw(&mut o, r + 4 * k, 4);
        }
    }
    o
}

#[test]
fn byte_swapped_legacy_pcap() {
    for rel in ["wikipedia.pcap", "vntag.pcap"] {
        let b = trace(rel);
        let be = swap_legacy(&b);
        let mut r = PcapReader::from_reader(rel, Box::new(Cursor::new(be))).unwrap();
        assert!(matches!(r.format(), Format::Pcap { big_endian: true, .. }));
        let (p, e) = drain(&mut r);
        assert!(e.is_none());
        assert_eq!(p, read_ok(rel, &b), "{rel}");
    }
}

/// A little-endian pcapng rewritten big-endian (the block types in our traces: SHB, IDB, EPB, others
/// passed through with only their header swapped, as the reader skips them).
fn swap_ng(b: &[u8]) -> Vec<u8> {
    let mut o = b.to_vec();
    for (at, t) in ng_blocks(b) {
        let len = u32::from_le_bytes(b[at + 4..at + 8].try_into().unwrap()) as usize;
        o[at..at + 4].reverse();
        o[at + 4..at + 8].reverse();
        o[at + len - 4..at + len].reverse();
        let body = at + 8;
        match t {
            NG_SHB => {
                o[body..body + 4].reverse();
                o[body + 4..body + 6].reverse();
                o[body + 6..body + 8].reverse();
                o[body + 8..body + 16].reverse();
            }
            NG_IDB => {
                o[body..body + 2].reverse();
                o[body + 4..body + 8].reverse();
                let mut p = body + 8;
                while p + 4 <= at + len - 4 {
                    let code = u16::from_le_bytes([b[p], b[p + 1]]);
                    let l = u16::from_le_bytes([b[p + 2], b[p + 3]]) as usize;
                    o[p..p + 2].reverse();
                    o[p + 2..p + 4].reverse();
                    if code == IF_TSOFFSET {
                        o[p + 4..p + 12].reverse();
                    }
                    if code == 0 {
                        break;
                    }
                    p += 4 + ((l + 3) & !3);
                }
            }
            NG_EPB => {
                for k in 0..5 {
                    o[body + 4 * k..body + 4 * k + 4].reverse();
                }
            }
            _ => {}
        }
    }
    o
}

#[test]
fn byte_swapped_pcapng() {
    for rel in [
        "pcapng-multi-interface.pcapng",
        "tcp/http-on-irc-port-missing-syn.pcapng",
    ] {
        let b = trace(rel);
        let p = read_ok(rel, &swap_ng(&b));
        assert_eq!(p, read_ok(rel, &b), "{rel}");
    }
}

#[test]
fn stdin_style_reader_one_byte_at_a_time() {
    /// A reader that returns at most one byte per call, like a slow pipe.
    struct Trickle(Cursor<Vec<u8>>);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }
    for rel in ["wikipedia.pcap", "pcapng-multi-interface.pcapng"] {
        let b = trace(rel);
        let mut r = PcapReader::from_reader("-", Box::new(Trickle(Cursor::new(b.clone())))).unwrap();
        assert_eq!(r.total_bytes(), None);
        let (p, e) = drain(&mut r);
        assert!(e.is_none());
        assert_eq!(p, read_ok(rel, &b));
    }
}

#[test]
fn truncated_legacy_at_every_byte_of_the_last_records() {
    let b = trace("wikipedia.pcap");
    let offs = legacy_offsets(&b);
    let n = offs.len();
    let full = read_ok("w", &b);
    let first = offs[n - 4];
    for cut in first..b.len() {
        let (p, e) = read_bytes("cut.pcap", &b[..cut]).unwrap();
        // Records wholly before the cut are all delivered, intact.
        let rec_start = *offs.iter().rfind(|&&o| o <= cut).unwrap();
        let whole = offs.iter().filter(|&&o| o < rec_start).count();
        assert_eq!(p.len(), whole, "cut {cut}");
        if cut == rec_start {
            assert!(e.is_none(), "cut at a record boundary {cut} is a clean end");
        } else {
            let e = e.unwrap_or_else(|| panic!("cut at {cut} must fail"));
            assert_eq!(e.kind(), ErrorKind::Truncated);
            assert_eq!(e.offset(), rec_start as u64, "cut {cut}");
            assert!(e.to_string().starts_with("cut.pcap: truncated file"), "{e}");
            assert!(e.to_string().contains(&format!("byte offset {rec_start}")), "{e}");
        }
        assert_eq!(&full[..p.len()], &p[..]);
    }
    // A cut inside the file header.
    for cut in 4..24 {
        let e = read_bytes("hdr.pcap", &b[..cut]).unwrap_err();
        assert_eq!((e.kind(), e.offset()), (ErrorKind::Truncated, 0));
    }
}

#[test]
fn truncated_pcapng_at_every_byte_of_the_last_blocks() {
    let rel = "tcp/http-on-irc-port-missing-syn.pcapng";
    let b = trace(rel);
    let blocks = ng_blocks(&b);
    let full = read_ok(rel, &b);
    let first = blocks[blocks.len() - 4].0;
    for cut in first..b.len() {
        let (p, e) = read_bytes("cut.pcapng", &b[..cut]).unwrap();
        let (start, _) = *blocks.iter().rfind(|(o, _)| *o <= cut).unwrap();
        let whole = blocks.iter().filter(|(o, t)| *o < start && *t == NG_EPB).count();
        assert_eq!(p.len(), whole, "cut {cut}");
        assert_eq!(&full[..whole], &p[..]);
        if cut == start {
            assert!(e.is_none());
        } else {
            let e = e.unwrap();
            assert_eq!(
                (e.kind(), e.offset()),
                (ErrorKind::Truncated, start as u64),
                "cut {cut}: {e}"
            );
        }
    }
}

#[test]
fn absurd_caplen_is_an_error_at_its_record() {
    let mut b = trace("wikipedia.pcap");
    let offs = legacy_offsets(&b);
    let bad = offs[100];
    b[bad + 8..bad + 12].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    let (p, e) = read_bytes("bad.pcap", &b).unwrap();
    assert_eq!(p.len(), 100);
    let e = e.unwrap();
    assert_eq!((e.kind(), e.offset()), (ErrorKind::Corrupt, bad as u64));
    assert!(e.message().contains("invalid packet capture length 2147483632"), "{e}");

    // pcapng: a block length past the bound, then one that is not a multiple of 4.
    let rel = "tcp/http-on-irc-port-missing-syn.pcapng";
    let b = trace(rel);
    let (at, _) = ng_blocks(&b)[5];
    for len in [MAX_BLOCK_LEN + 4, 30, 4] {
        let mut c = b.clone();
        c[at + 4..at + 8].copy_from_slice(&len.to_le_bytes());
        let (_, e) = read_bytes("bad.pcapng", &c).unwrap();
        let e = e.unwrap();
        assert_eq!((e.kind(), e.offset()), (ErrorKind::Corrupt, at as u64), "{e}");
    }
    // An EPB whose captured length exceeds its block.
    let (at, t) = ng_blocks(&b)[4];
    assert_eq!(t, NG_EPB);
    let mut c = b.clone();
    c[at + 20..at + 24].copy_from_slice(&5000u32.to_le_bytes());
    let e = read_bytes("bad.pcapng", &c).unwrap().1.unwrap();
    assert_eq!((e.kind(), e.offset()), (ErrorKind::Corrupt, at as u64), "{e}");
    // A packet on an interface that was never described.
    let mut c = b.clone();
    c[at + 8..at + 12].copy_from_slice(&7u32.to_le_bytes());
    let e = read_bytes("bad.pcapng", &c).unwrap().1.unwrap();
    assert!(e.message().contains("interface 7"), "{e}");
}

#[test]
fn garbage_and_empty_input() {
    let e = read_bytes("notes.txt", b"This is not a capture file at all").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotPcap);
    assert_eq!(e.to_string(), "notes.txt: not a pcap or pcapng file (at byte offset 0)");
    let e = read_bytes("-", b"").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotPcap);
    assert!(e.to_string().starts_with("<stdin>: not a pcap or pcapng file"), "{e}");
    let e = read_bytes("x", &[0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 1, 2, 3, 4]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotPcap);
    let e = PcapReader::open("/nonexistent/weir.pcap").err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(e.to_string().starts_with("/nonexistent/weir.pcap: cannot open"), "{e}");
}

// ---- synthetic files ----

/// Builds pcapng blocks in either byte order.
struct Ng {
    big: bool,
    out: Vec<u8>,
}

impl Ng {
    fn u16(&self, v: u16) -> [u8; 2] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    fn u32(&self, v: u32) -> [u8; 4] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    fn block(&mut self, t: u32, body: &[u8]) {
        let mut body = body.to_vec();
        while body.len() & 3 != 0 {
            body.push(0);
        }
        let len = body.len() as u32 + 12;
        let (a, b) = (self.u32(t), self.u32(len));
        self.out.extend_from_slice(&a);
        self.out.extend_from_slice(&b);
        self.out.extend_from_slice(&body);
        self.out.extend_from_slice(&b);
    }
    fn shb(&mut self, big: bool) {
        self.big = big;
        let mut b = self.u32(NG_BYTE_ORDER_MAGIC).to_vec();
        b.extend_from_slice(&self.u16(1));
        b.extend_from_slice(&self.u16(0));
        b.extend_from_slice(&[0xff; 8]);
        self.block(NG_SHB, &b);
    }
    /// An IDB with optional if_tsresol byte and if_tsoffset.
    fn idb(&mut self, link: u16, snaplen: u32, tsresol: Option<u8>, tsoffset: Option<u64>) {
        let mut b = self.u16(link).to_vec();
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&self.u32(snaplen));
        // An unknown option first, to be skipped.
        b.extend_from_slice(&self.u16(2));
        b.extend_from_slice(&self.u16(3));
        b.extend_from_slice(b"et0\0");
        if let Some(r) = tsresol {
            b.extend_from_slice(&self.u16(IF_TSRESOL));
            b.extend_from_slice(&self.u16(1));
            b.extend_from_slice(&[r, 0, 0, 0]);
        }
        if let Some(o) = tsoffset {
            b.extend_from_slice(&self.u16(IF_TSOFFSET));
            b.extend_from_slice(&self.u16(8));
            let (hi, lo) = ((o >> 32) as u32, o as u32);
            if self.big {
                b.extend_from_slice(&hi.to_be_bytes());
                b.extend_from_slice(&lo.to_be_bytes());
            } else {
                b.extend_from_slice(&o.to_le_bytes());
            }
        }
        b.extend_from_slice(&[0, 0, 0, 0]);
        self.block(NG_IDB, &b);
    }
    fn epb(&mut self, iface: u32, ts: u64, data: &[u8], wire: u32) {
        let mut b = self.u32(iface).to_vec();
        b.extend_from_slice(&self.u32((ts >> 32) as u32));
        b.extend_from_slice(&self.u32(ts as u32));
        b.extend_from_slice(&self.u32(data.len() as u32));
        b.extend_from_slice(&self.u32(wire));
        b.extend_from_slice(data);
        while b.len() & 3 != 0 {
            b.push(0);
        }
        // An option (a comment) after the data.
        b.extend_from_slice(&self.u16(1));
        b.extend_from_slice(&self.u16(2));
        b.extend_from_slice(b"hi\0\0");
        b.extend_from_slice(&[0, 0, 0, 0]);
        self.block(NG_EPB, &b);
    }
    fn pb(&mut self, iface: u16, ts: u64, data: &[u8]) {
        let mut b = self.u16(iface).to_vec();
        b.extend_from_slice(&self.u16(0));
        b.extend_from_slice(&self.u32((ts >> 32) as u32));
        b.extend_from_slice(&self.u32(ts as u32));
        b.extend_from_slice(&self.u32(data.len() as u32));
        b.extend_from_slice(&self.u32(data.len() as u32));
        b.extend_from_slice(data);
        self.block(NG_PB, &b);
    }
    fn spb(&mut self, data: &[u8], wire: u32) {
        let mut b = self.u32(wire).to_vec();
        b.extend_from_slice(data);
        self.block(NG_SPB, &b);
    }
}

#[test]
fn synthetic_pcapng_sections_resolutions_and_block_kinds() {
    let mut g = Ng {
        big: false,
        out: Vec::new(),
    };
    g.shb(false);
    g.idb(1, 65535, None, None); // 0: Ethernet, microseconds
    g.idb(101, 65535, Some(9), None); // 1: raw IP, nanoseconds
    g.idb(113, 4, Some(0x80 | 20), Some(1000)); // 2: SLL, 2^-20 s, offset 1000 s, snaplen 4
    g.idb(1, 0, Some(3), None); // 3: milliseconds, snaplen 0 = the maximum
    g.block(0x0000_0bad, b"unknown block, skipped");
    g.epb(0, 1_300_000_000_123_456, b"abcdef", 60);
    g.epb(1, 1_300_000_000_123_456_789, b"raw", 3);
    g.epb(2, (5u64 << 20) | 0x8_0000, b"cook", 100); // 5.5 s
    g.epb(3, 1_300_000_000_999, b"m", 1);
    g.pb(1, 7_000_000_001, b"old");
    g.spb(b"simple", 6);
    // A second section, big-endian, where interface ids start again.
    g.shb(true);
    g.idb(228, 1500, Some(6), None);
    g.epb(0, 42_000_001, b"v4", 2);
    let p = read_ok("syn.pcapng", &g.out);
    let got: Vec<_> = p
        .iter()
        .map(|x| (x.tv_sec, x.tv_usec, x.caplen, x.wire_len, x.link, x.iface))
        .collect();
    assert_eq!(
        got,
        vec![
            (1_300_000_000, 123_456, 6, 60, 1, 0),
            (1_300_000_000, 123_456, 3, 3, 101, 1), // nanoseconds truncated
            (1005, 500_000, 4, 100, 113, 2),        // 2^-20 resolution, offset added
            (1_300_000_000, 999_000, 1, 1, 1, 3),   // milliseconds scaled up
            (7, 0, 3, 3, 101, 1),                   // obsolete packet block
            (0, 0, 6, 6, 1, 0),                     // SPB: interface 0, no timestamp
            (42, 1, 2, 2, 228, 0),
        ]
    );
    assert_eq!(p[2].data, b"cook");
    // Unlike legacy pcap, libpcap refuses a pcapng record longer than its interface's snapshot length.
    let mut g2 = Ng {
        big: false,
        out: Vec::new(),
    };
    g2.shb(false);
    g2.idb(1, 4, None, None);
    g2.epb(0, 1, b"abcd", 4);
    g2.epb(0, 2, b"abcde", 5);
    let (p2, e) = read_bytes("snap.pcapng", &g2.out).unwrap();
    assert_eq!(p2.len(), 1);
    let e = e.unwrap();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(e.message().contains("bigger than snaplen of 4"), "{e}");
    assert_eq!(p[0].data, b"abcdef");
    assert_eq!(p[5].data, b"simple");
    for x in &p {
        assert_eq!(x.ts_bits, zeek_ts(x.tv_sec, x.tv_usec));
    }
}

#[test]
fn binary_resolution_matches_libpcap_arithmetic() {
    // libpcap: frac = frac * 1_000_000 / 2^n (SCALE_DOWN_BIN), 64-bit.
    let iface = Iface {
        link: LinkType(1),
        snapshot: 65535,
        tsresol: 1 << 32,
        binary: true,
        tsoffset: 0,
    };
    let t = (1_600_000_000u64 << 32) | 0xffff_ffff;
    assert_eq!(
        scale_ts(t, &iface),
        (1_600_000_000, (0xffff_ffffu64 * 1_000_000 / (1 << 32)) as i64)
    );
    let iface = Iface {
        tsresol: 1000,
        binary: false,
        ..iface
    };
    assert_eq!(scale_ts(1_234_567, &iface), (1234, 567_000));
    let iface = Iface {
        tsresol: 1,
        binary: true,
        tsoffset: u64::MAX,
        ..iface
    };
    assert_eq!(scale_ts(10, &iface), (9, 0)); // offset -1 s
}

/// A legacy pcap file (snapshot length [`MAX_SNAPLEN`], Ethernet) whose record `i` holds `lens[i]` bytes of
/// value `i`, timestamped `i` seconds.
fn pcap_of_lengths(lens: &[u32]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&PCAP_MAGIC.to_le_bytes());
    f.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    f.extend_from_slice(&MAX_SNAPLEN.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    for (i, &len) in lens.iter().enumerate() {
        for v in [i as u32, 0, len, len] {
            f.extend_from_slice(&v.to_le_bytes());
        }
        f.extend_from_slice(&vec![i as u8; len as usize]);
    }
    f
}

#[test]
fn large_records_grow_the_buffer_once_and_stay_bounded() {
    let f = pcap_of_lengths(&[MAX_SNAPLEN, 60, MAX_SNAPLEN, 60, MAX_SNAPLEN]);
    let mut r = PcapReader::from_reader("big", Box::new(Cursor::new(f))).unwrap();
    let mut n = 0;
    let mut cap = 0;
    while let Some(p) = r.next_packet().unwrap() {
        assert!(p.data.iter().all(|&b| b == n as u8));
        n += 1;
        if n == 2 {
            cap = buf_len(&r);
        }
    }
    assert_eq!(n, 5);
    assert_eq!(buf_len(&r), cap, "no growth after the first large record");
    assert!(cap <= MAX_SNAPLEN as usize + 16 + INITIAL_BUF);
}

#[test]
fn a_huge_claimed_record_in_a_tiny_input_allocates_little() {
    let b = trace("tcp/http-on-irc-port-missing-syn.pcapng");
    let (at, _) = ng_blocks(&b)[4];
    let mut c = b[..at + 64].to_vec();
    c[at + 4..at + 8].copy_from_slice(&(MAX_BLOCK_LEN - 4).to_le_bytes());
    let mut r = PcapReader::from_reader("huge", Box::new(Cursor::new(c))).unwrap();
    let (_, e) = drain(&mut r);
    assert_eq!(e.unwrap().kind(), ErrorKind::Truncated);
    assert_eq!(buf_len(&r), INITIAL_BUF);
}

#[test]
fn old_versions_with_swapped_lengths() {
    // pcap 2.2: caplen and len are stored the other way round.
    let mut f = Vec::new();
    f.extend_from_slice(&PCAP_MAGIC.to_le_bytes());
    f.extend_from_slice(&[2, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    f.extend_from_slice(&65535u32.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    for v in [1u32, 2, 100, 4] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    f.extend_from_slice(b"data");
    let p = read_ok("old", &f);
    assert_eq!((p[0].caplen, p[0].wire_len), (4, 100));
    // Archaic major version 1.
    f[4] = 1;
    assert_eq!(read_bytes("old", &f).unwrap_err().kind(), ErrorKind::Corrupt);
}

/// Every trace of the corpus: `open` maps it, and gives the same packets as reading it as a stream, each
/// one's `mapped` place naming its bytes in the window.
#[test]
fn mapped_files_read_like_streams() {
    let mut files = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from(trace_path(""))];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p
                .extension()
                .is_some_and(|x| x == "pcap" || x == "pcapng" || x == "trace")
            {
                files.push(p);
            }
        }
    }
    assert!(files.len() > 50, "the corpus is there");
    for f in files {
        let path = f.to_str().unwrap();
        let streamed = PcapReader::open_copying(path).map(|mut r| drain(&mut r));
        let mut r = match PcapReader::open(path) {
            Ok(r) => r,
            Err(e) => {
                assert_eq!(streamed.err().map(|s| s.to_string()), Some(e.to_string()));
                continue;
            }
        };
        assert!(matches!(r.input.src, Source::Mapped(_)), "{path} is mapped");
        let mut pkts = Vec::new();
        while let Ok(Some(p)) = r.next_packet() {
            let w = p.window.expect("a mapped packet says where it is");
            let at = w.place(p.data).expect("in its window");
            assert_eq!(&w.bytes()[at..at + p.data.len()], p.data);
            let copy = p.data.to_vec();
            assert_eq!(w.place(&copy), None, "a copy is elsewhere");
            pkts.push(copy);
        }
        let (s, _) = streamed.unwrap();
        assert_eq!(pkts, s.into_iter().map(|p| p.data).collect::<Vec<_>>(), "{path}");
    }
}

#[test]
fn mapped_records_larger_than_a_window() {
    let f = pcap_of_lengths(&[MAX_SNAPLEN, 60, 4096, 4095, 1, MAX_SNAPLEN - 1, 3]);
    let streamed = read_ok("big", &f);
    assert_eq!(streamed.len(), 7);
    for window in [4096, 8192, 1 << 20] {
        let (mapped, e) = read_mapped(&f, window).unwrap();
        assert!(e.is_none());
        assert!(mapped == streamed, "window {window}");
    }
}
