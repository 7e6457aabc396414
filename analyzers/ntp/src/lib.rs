//! # weir-ntp: the NTP analyzer
//!
//! NTP over UDP port 123 (Zeek registers no DPD signature for it), parsed as Zeek's binpac grammar
//! (`src/analyzer/protocol/ntp/*.pac`) does: the standard modes 1-5 with extension fields and MACs,
//! mode 6 control messages and mode 7 private messages. As in Zeek, every message that parses confirms
//! the protocol, one that does not is a violation, a server-mode message from the originator (or a
//! client-mode one from the responder) flips the connection once, and each message writes a row of
//! ntp.log (modes 1-5), ntp_control.log (6) or ntp_private.log (7) (`base/protocols/ntp/main.zeek`).
//!
//! ```
//! let mut m = [0u8; 48];
//! m[0] = 0x23; // version 4, mode 3 (client)
//! let msg = weir_ntp::parse(&m).unwrap();
//! assert_eq!((msg.version, msg.mode), (4, 3));
//! ```

#[doc(hidden)]
pub mod fuzzing;

use weir_api::analyzer::{Analyzer, AnalyzerInfo, Context, Settings, Transport};
use weir_api::log::{ConnId, Field, FieldType, Schema, Value};

/// NTP's epoch (1900) in Unix time.
const EPOCH_OFFSET: f64 = -2_208_988_800.0;
const CLIENT: u8 = 3;
const SERVER: u8 = 4;

/// Why a datagram is not an NTP message (Zeek's binpac exceptions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The message ends before a field it must have.
    Truncated(&'static str),
    /// An extension field's lengths are inconsistent (binpac `&enforce`).
    BadExtension,
}

/// A standard (modes 1-5) message.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Std<'a> {
    pub stratum: u8,
    /// Seconds (`2^poll`).
    pub poll: f64,
    pub precision: f64,
    pub root_delay: f64,
    pub root_disp: f64,
    pub ref_id: &'a [u8; 4],
    pub ref_time: f64,
    pub org_time: f64,
    pub rec_time: f64,
    pub xmt_time: f64,
    pub num_exts: u64,
}

/// A mode 6 control message.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Control<'a> {
    pub op_code: u8,
    pub resp: bool,
    pub err: bool,
    pub more: bool,
    pub sequence: u16,
    pub status: u16,
    pub association_id: u16,
    pub data: Option<&'a [u8]>,
    pub mac: Option<(u32, &'a [u8])>,
}

/// A mode 7 private message.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Private<'a> {
    pub req_code: u8,
    pub auth: bool,
    pub sequence: u8,
    pub implementation: u8,
    pub err: u8,
    pub data: Option<&'a [u8]>,
}

/// The body of a message, by mode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Body<'a> {
    Std(Std<'a>),
    Control(Control<'a>),
    Private(Private<'a>),
    /// Mode 0: no body Zeek parses.
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Message<'a> {
    pub version: u8,
    pub mode: u8,
    pub body: Body<'a>,
}

/// A bounds-checked reader.
struct Rd<'a>(&'a [u8]);

impl<'a> Rd<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Error> {
        if self.0.len() < n {
            return Err(Error::Truncated(what));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, Error> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, Error> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, Error> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// An NTP short-format time (signed 16.16 as binpac reads it), in seconds.
fn short_time(v: u32) -> f64 {
    let (s, f) = ((v >> 16) as u16 as i16, v as u16 as i16);
    s as f64 + f as f64 * 2f64.powi(-16)
}

/// An NTP timestamp in Unix time (0 stays 0).
fn timestamp(s: u32, f: u32) -> f64 {
    if s == 0 && f == 0 {
        return 0.0;
    }
    EPOCH_OFFSET + s as f64 + f as f64 * 2f64.powi(-32)
}

fn parse_std(d: &[u8]) -> Result<Std<'_>, Error> {
    let mut r = Rd(d);
    let stratum = r.u8("stratum")?;
    let poll = r.u8("poll")? as i8;
    let precision = r.u8("precision")? as i8;
    let root_delay = short_time(r.u32("root_delay")?);
    let root_disp = short_time(r.u32("root_dispersion")?);
    let ref_id: &[u8; 4] = r
        .take(4, "reference_id")?
        .try_into()
        .map_err(|_| Error::Truncated("reference_id"))?;
    let mut ts = [0.0; 4];
    for t in &mut ts {
        let s = r.u32("timestamp")?;
        *t = timestamp(s, r.u32("timestamp")?);
    }
    // Extension fields while more than a MAC's worth (24 bytes) is left.
    let mut num_exts = 0;
    if r.0.len() > 24 {
        while r.0.len() > 24 {
            let start = r.0.len();
            r.take(2, "extension")?;
            let len = r.u16("extension length")? as u32;
            if len < 16 {
                return Err(Error::BadExtension);
            }
            r.take(10, "extension")?;
            let value_len = r.u32("extension value_len")?;
            if len < 18 || value_len > len - 18 {
                return Err(Error::BadExtension);
            }
            r.take(value_len as usize, "extension value")?;
            let sig_len = r.u32("extension sig_len")?;
            if len < 22 || value_len > len - 22 {
                return Err(Error::BadExtension);
            }
            r.take(sig_len as usize, "extension signature")?;
            let used = start - r.0.len();
            r.take((len as usize).saturating_sub(used), "extension padding")?;
            num_exts += 1;
        }
    }
    // A 20- or 24-byte MAC is parsed but not logged; anything else left is ignored.
    Ok(Std {
        stratum,
        poll: 2f64.powi(poll as i32),
        precision: 2f64.powi(precision as i32),
        root_delay,
        root_disp,
        ref_id,
        ref_time: ts[0],
        org_time: ts[1],
        rec_time: ts[2],
        xmt_time: ts[3],
        num_exts,
    })
}

fn parse_control(d: &[u8]) -> Result<Control<'_>, Error> {
    let mut r = Rd(d);
    let b = r.u8("control")?;
    let sequence = r.u16("sequence")?;
    let status = r.u16("status")?;
    let association_id = r.u16("association_id")?;
    r.u16("offset")?;
    let c = r.u16("count")?;
    let data = r.take(c as usize, "data")?;
    let mac = if r.0.len() == 12 {
        let key = r.u32("key_id")?;
        Some((key, r.take(8, "crypto_checksum")?))
    } else {
        None
    };
    Ok(Control {
        op_code: b & 0x1f,
        resp: b & 0x80 != 0,
        err: b & 0x40 != 0,
        more: b & 0x20 != 0,
        sequence,
        status,
        association_id,
        data: (c > 0).then_some(data),
        mac,
    })
}

fn parse_private(d: &[u8]) -> Result<Private<'_>, Error> {
    let mut r = Rd(d);
    let b = r.u8("mode7")?;
    let implementation = r.u8("implementation")?;
    let req_code = r.u8("request_code")?;
    let el = r.u16("err_and_data_len")?;
    let len = (el & 0x0fff) as usize;
    let data = r.take(len, "data")?;
    let auth = b & 0x80 != 0;
    if auth {
        r.take(20, "mac")?;
    }
    Ok(Private {
        req_code,
        auth,
        sequence: b & 0x7f,
        implementation,
        err: (el >> 12) as u8,
        data: (len > 0).then_some(data),
    })
}

/// Parses one datagram.
pub fn parse(d: &[u8]) -> Result<Message<'_>, Error> {
    let (&first, rest) = d.split_first().ok_or(Error::Truncated("first byte"))?;
    let (version, mode) = ((first >> 3) & 7, first & 7);
    let body = match mode {
        1..=5 => Body::Std(parse_std(rest)?),
        6 => Body::Control(parse_control(rest)?),
        7 => Body::Private(parse_private(rest)?),
        _ => Body::Other,
    };
    Ok(Message { version, mode, body })
}

/// The NTP analyzer of one connection.
#[derive(Debug, Default)]
pub struct NtpAnalyzer {
    flipped: bool,
}

use FieldType::{Bool, Count, Interval, String, Time};

const NTP_FIELDS: &[Field] = &[
    Field::new("version", Count),
    Field::new("mode", Count),
    Field::new("stratum", Count),
    Field::new("poll", Interval),
    Field::new("precision", Interval),
    Field::new("root_delay", Interval),
    Field::new("root_disp", Interval),
    Field::new("ref_id", String),
    Field::new("ref_time", Time),
    Field::new("org_time", Time),
    Field::new("rec_time", Time),
    Field::new("xmt_time", Time),
    Field::new("num_exts", Count),
];

const CONTROL_FIELDS: &[Field] = &[
    Field::new("version", Count),
    Field::new("mode", Count),
    Field::new("op_code", Count),
    Field::new("sequence", Count),
    Field::new("status", Count),
    Field::new("association_id", Count),
    Field::new("resp_bit", Bool),
    Field::new("err_bit", Bool),
    Field::new("more_bit", Bool),
    Field::new("data", String),
    Field::new("key_id", Count),
    Field::new("crypto_checksum", String),
];

const PRIVATE_FIELDS: &[Field] = &[
    Field::new("version", Count),
    Field::new("mode", Count),
    Field::new("req_code", Count),
    Field::new("sequence", Count),
    Field::new("implementation", Count),
    Field::new("auth_bit", Bool),
    Field::new("err", Count),
    Field::new("data", String),
];

/// The logs: ntp, ntp_control, ntp_private.
pub fn logs(_s: &Settings) -> Vec<Schema> {
    vec![
        Schema::with_conn_prefix("ntp", NTP_FIELDS),
        Schema::with_conn_prefix("ntp_control", CONTROL_FIELDS),
        Schema::with_conn_prefix("ntp_private", PRIVATE_FIELDS),
    ]
}

/// The dotted form of a reference id read as an IPv4 address (Zeek's `cat(addr)`).
fn dotted(id: &[u8; 4], buf: &mut [u8; 15]) -> usize {
    use std::io::Write;
    let mut w = &mut buf[..];
    let _ = write!(w, "{}.{}.{}.{}", id[0], id[1], id[2], id[3]);
    15 - w.len()
}

/// Columns every NTP log starts with ([`NtpAnalyzer::log`]'s `head`), and the most any log has.
const HEAD: usize = 8;
const MOST: usize = HEAD + 11;

/// One row of `stream`: `head`, then `body`.
fn log_row(cx: &mut dyn Context, stream: &'static str, head: &[Option<Value<'_>>; HEAD], body: &[Option<Value<'_>>]) {
    let mut row = [None; MOST];
    row[..HEAD].copy_from_slice(head);
    row[HEAD..HEAD + body.len()].copy_from_slice(body);
    cx.log(stream, &row[..HEAD + body.len()]);
}

impl NtpAnalyzer {
    fn log(cx: &mut dyn Context, m: &Message<'_>) {
        let ts = cx.network_time();
        let id = ConnId::of(&cx.conn());
        let [p0, p1, p2, p3, p4, p5] = id.prefix(ts);
        // The columns every NTP log starts with: the connection's, then `version` and `mode`.
        let head = [
            p0,
            p1,
            p2,
            p3,
            p4,
            p5,
            Some(Value::Count(m.version as u64)),
            Some(Value::Count(m.mode as u64)),
        ];
        match m.body {
            Body::Std(s) => {
                let mut buf = [0u8; 15];
                let ref_id: &[u8] = if s.stratum <= 1 {
                    s.ref_id
                } else {
                    let n = dotted(s.ref_id, &mut buf);
                    &buf[..n]
                };
                let body = [
                    Some(Value::Count(s.stratum as u64)),
                    Some(Value::Interval(s.poll)),
                    Some(Value::Interval(s.precision)),
                    Some(Value::Interval(s.root_delay)),
                    Some(Value::Interval(s.root_disp)),
                    Some(Value::Str(ref_id)),
                    Some(Value::Time(s.ref_time)),
                    Some(Value::Time(s.org_time)),
                    Some(Value::Time(s.rec_time)),
                    Some(Value::Time(s.xmt_time)),
                    Some(Value::Count(s.num_exts)),
                ];
                log_row(cx, "ntp", &head, &body);
            }
            Body::Control(k) => {
                let body = [
                    Some(Value::Count(k.op_code as u64)),
                    Some(Value::Count(k.sequence as u64)),
                    Some(Value::Count(k.status as u64)),
                    Some(Value::Count(k.association_id as u64)),
                    Some(Value::Bool(k.resp)),
                    Some(Value::Bool(k.err)),
                    Some(Value::Bool(k.more)),
                    k.data.map(Value::Str),
                    k.mac.map(|(key, _)| Value::Count(key as u64)),
                    k.mac.map(|(_, sum)| Value::Str(sum)),
                ];
                log_row(cx, "ntp_control", &head, &body);
            }
            Body::Private(q) => {
                let body = [
                    Some(Value::Count(q.req_code as u64)),
                    Some(Value::Count(q.sequence as u64)),
                    Some(Value::Count(q.implementation as u64)),
                    Some(Value::Bool(q.auth)),
                    Some(Value::Count(q.err as u64)),
                    q.data.map(Value::Str),
                ];
                log_row(cx, "ntp_private", &head, &body);
            }
            Body::Other => {}
        }
    }
}

impl Analyzer for NtpAnalyzer {
    fn name(&self) -> &'static str {
        "ntp"
    }

    fn deliver_packet(&mut self, cx: &mut dyn Context, is_orig: bool, data: &[u8]) {
        match parse(data) {
            Ok(m) => {
                cx.confirm();
                let wrong_way = (m.mode == SERVER && is_orig) || (m.mode == CLIENT && !is_orig);
                if wrong_way && !self.flipped {
                    self.flipped = true;
                    cx.flip_roles();
                }
                Self::log(cx, &m);
            }
            Err(e) => cx.violation(&format!("Binpac exception: {e:?}")),
        }
    }
}

fn new_analyzer(_s: &Settings) -> Box<dyn Analyzer> {
    Box::new(NtpAnalyzer::default())
}

/// Zeek's ANALYZER_NTP on `NTP::ports` (123/udp).
pub static NTP: AnalyzerInfo = AnalyzerInfo {
    name: "ntp",
    transports: &[Transport::Udp],
    ports: &[(Transport::Udp, 123)],
    probe: None,
    logs,
    settings: &[],
    new: new_analyzer,
    worker_state: None,
};

#[cfg(test)]
mod tests {
    use super::*;
    use weir_api::testing::{chunk, drive, RecordingContext};

    /// A server reply: version 4, mode 4, stratum 2, poll 6, precision -20, ref id 10.0.0.9.
    fn server_msg() -> Vec<u8> {
        let mut m = vec![0x24, 2, 6, 0xec, 0, 0, 0x40, 0, 0, 1, 0, 0, 10, 0, 0, 9];
        for i in 0..4u32 {
            m.extend((0xe000_0000u32 + i).to_be_bytes());
            m.extend(0x8000_0000u32.to_be_bytes());
        }
        m
    }

    #[test]
    fn parses_a_server_message() {
        let d = server_msg();
        let m = parse(&d).unwrap();
        let Body::Std(s) = m.body else { panic!("{m:?}") };
        assert_eq!((m.version, m.mode, s.stratum), (4, 4, 2));
        assert_eq!((s.poll, s.precision), (64.0, 2f64.powi(-20)));
        // Short-format fractions are signed 16-bit values, as binpac reads them.
        assert_eq!((s.root_delay, s.root_disp), (0.25, 1.0));
        assert_eq!(s.xmt_time, EPOCH_OFFSET + 3_758_096_387.5);
    }

    #[test]
    fn short_message_is_a_violation() {
        let mut cx = RecordingContext::new(Transport::Udp, 123);
        drive(&mut NtpAnalyzer::default(), &mut cx, &chunk(true, false, &[0x23, 0, 0]));
        assert!(!cx.confirmed);
        assert_eq!(cx.violations.len(), 1);
    }

    #[test]
    fn server_message_from_originator_flips_once_and_logs() {
        let mut cx = RecordingContext::new(Transport::Udp, 123);
        let mut script = chunk(true, false, &server_msg());
        script.extend(chunk(true, false, &server_msg()));
        drive(&mut NtpAnalyzer::default(), &mut cx, &script);
        assert!(cx.confirmed);
        assert_eq!(cx.flips, 1);
        let rows = cx.rows_of("ntp");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0][13], "Str([49, 48, 46, 48, 46, 48, 46, 57])"); // "10.0.0.9"
    }

    #[test]
    fn control_and_private_messages() {
        // Mode 6, op 2, response bit, 2 data bytes.
        let m = [0x16, 0x82, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, b'a', b'b'];
        let Body::Control(c) = parse(&m).unwrap().body else {
            panic!()
        };
        assert_eq!((c.op_code, c.resp, c.data), (2, true, Some(&b"ab"[..])));
        // Mode 7 with the auth bit but no MAC is truncated.
        assert!(parse(&[0x17, 0x80, 0, 1, 0, 0]).is_err());
        let Body::Private(p) = parse(&[0x17, 0x05, 3, 42, 0x10, 0]).unwrap().body else {
            panic!()
        };
        assert_eq!((p.sequence, p.implementation, p.req_code, p.err), (5, 3, 42, 1));
    }

    #[test]
    fn bad_extension_is_rejected() {
        let mut m = server_msg();
        m.extend([0, 0, 0, 4]); // extension length 4 < 16
        m.extend([0u8; 40]);
        assert_eq!(parse(&m), Err(Error::BadExtension));
    }
}
