//! # weir-http: HTTP protocol detection as Zeek decides it
//!
//! Zeek's HTTP analyzer (`src/analyzer/protocol/http/HTTP.cc`) frames each direction into messages:
//! a request or status line, MIME headers, and a body whose end follows from the request method, the
//! status code, `Content-Length`, `Transfer-Encoding: chunked`, a 206's `Content-Range`, a multipart
//! boundary, or the end of the connection. Following that framing is what lets it recognise the next
//! request of a persistent or pipelined connection, and so decide as Zeek does:
//!
//! * **confirmation** (conn.log `service` gains `http`) on every well-formed request line, and on a
//!   status line answering an outstanding request (or HTTP/0.9 data answering one);
//! * **violation** `not a http request line` when a line is not a request where one is expected, and
//!   `not a http reply line` when a non-empty line is not a status line where one is expected;
//! * the framing weirds Zeek raises on the way (`unexpected_multiple_HTTP_requests`,
//!   `HTTP_bad_chunk_size`, `HTTP_content_length_and_chunked`, ...).
//!
//! http.log is not written: its `fuids`/`mime_types` fields need Zeek's file analysis, which weir lacks.
//! After a successful `CONNECT` or a `101` upgrade Zeek hands the stream to other analyzers; weir stops
//! parsing there.
//!
//! ```
//! use weir_api::testing::{chunk, drive, RecordingContext};
//! use weir_api::Transport;
//! let mut cx = RecordingContext::new(Transport::Tcp, 80);
//! let mut script = chunk(true, false, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
//! script.extend(chunk(false, false, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"));
//! drive(&mut weir_http::HttpAnalyzer::default(), &mut cx, &script);
//! assert!(cx.confirmed && cx.violations.is_empty());
//! ```

#[doc(hidden)]
pub mod fuzzing;
mod line;

use line::{LineSplitter, Piece};
use std::collections::VecDeque;
use weir_api::analyzer::{Analyzer, AnalyzerInfo, Context, Probe, Settings, Transport};
use weir_api::log::Schema;

/// Weird source name, as Zeek writes it.
const SOURCE: &str = "HTTP";

/// Bounds the requests remembered without a reply (Zeek's queue is unbounded; the only thing kept per
/// request here is whether it was a HEAD or a CONNECT, and a flood of unanswered requests beyond this is
/// not plausible HTTP).
const MAX_UNANSWERED: usize = 10_000;

/// A version number `major.minor`, as Zeek's `HTTP_VersionNumber` (0.0 = unset).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Version(u8, u8);

/// How a message's body ends.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Body {
    /// Still reading header lines.
    Headers,
    /// `Content-Length` bytes left (plain delivery).
    Length(u64),
    /// Chunked transfer: a chunk-size line is next.
    ChunkSize,
    /// Chunked transfer: bytes of the current chunk left.
    ChunkData(u64),
    /// Chunked transfer: the CRLF after a chunk's data.
    ChunkCrlf,
    /// Chunked transfer: trailer header lines until an empty one.
    Trailer,
    /// A multipart body without a length: lines until the closing boundary.
    Multipart,
    /// A multipart/message body bounded by `Content-Length` but read as lines.
    LinesCounted(i64),
    /// No end but the connection's.
    UntilClose,
}

/// What the headers of the message being read said.
#[derive(Debug, Default)]
struct Headers {
    content_length: Option<u64>,
    chunked: bool,
    multipart_boundary: Option<Vec<u8>>,
    message_type: bool,
    compressed: bool,
    range_length: Option<u64>,
    expect_100: bool,
    /// The last header's name (for the folding weird; cut to its first 32 bytes) and whether it was
    /// folded already.
    last_name: ([u8; 32], usize),
    folded: bool,
}

/// One direction's message in progress.
#[derive(Debug)]
struct Message {
    body: Body,
    /// Whether a body is expected without a length (replies other than to HEAD, 1xx, 204, 304).
    expect_body: Expect,
    headers: Headers,
    /// Bytes of body delivered (Zeek's `body_length`: a gap before any body byte stops parsing).
    body_len: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Not,
    Maybe,
    Yes,
}

/// Zeek's `request_state` / `reply_state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    ExpectLine,
    Message,
    /// HTTP/0.9 reply: raw data until the end.
    Http09,
    Nothing,
}

/// The state of one direction.
#[derive(Debug)]
struct Side {
    lines: LineSplitter,
    state: State,
    msg: Option<Message>,
    ongoing: bool,
}

impl Default for Side {
    fn default() -> Side {
        Side {
            lines: LineSplitter::default(),
            state: State::ExpectLine,
            msg: None,
            ongoing: false,
        }
    }
}

/// What a request was, as far as its reply depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Head,
    Connect,
    Other,
}

/// The HTTP analyzer of one connection.
#[derive(Debug, Default)]
pub struct HttpAnalyzer {
    /// 0: requests (originator), 1: replies (responder).
    sides: [Side; 2],
    unanswered: VecDeque<Method>,
    keep_alive: bool,
    connection_close: bool,
    num_requests: u64,
    num_replies: u64,
    request_version: Version,
    reply_version: Version,
    reply_code: u16,
    upgrade_connection: bool,
    upgrade_protocol: bool,
    connect_request: bool,
    /// After a CONNECT tunnel or an upgrade the stream is no longer HTTP.
    handed_off: bool,
    /// Zeek's `SetSkip` (a flip after messages were seen).
    skip: bool,
}

fn is_token_char(c: u8) -> bool {
    c > 31 && c < 127 && !b" \t()<>@,;:\\\"/[]?={}".contains(&c)
}

fn is_ws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn skip_ws(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| is_ws(c)).count();
    &s[n..]
}

/// Zeek's `PrefixMatch`: `s` starts with `p` (case-insensitively if `nocase`); returns the rest.
fn prefix<'a>(s: &'a [u8], p: &[u8], nocase: bool) -> Option<&'a [u8]> {
    let head = s.get(..p.len())?;
    let ok = if nocase {
        head.eq_ignore_ascii_case(p)
    } else {
        head == p
    };
    ok.then(|| &s[p.len()..])
}

/// Zeek's URI character classes (`is_reserved_URI_char`, `is_unreserved_URI_char`).
fn is_uri_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b";/?:@&=+$,-_.!~*'()%".contains(&c)
}

/// Only `[0-9].[0-9]` is a version.
fn parse_version(s: &[u8]) -> Version {
    match s {
        [a @ b'0'..=b'9', b'.', b @ b'0'..=b'9', ..] => Version(a - b'0', b - b'0'),
        _ => Version::default(),
    }
}

/// A header's value token (Zeek's `get_value_token`: the value up to the first whitespace or `;`).
fn value_token(v: &[u8]) -> (&[u8], &[u8]) {
    let v = skip_ws(v);
    let n = v.iter().take_while(|&&c| !is_ws(c) && c != b';' && c != b',').count();
    (&v[..n], &v[n..])
}

/// Parses a decimal (or hex) count as Zeek's `atoi_n` does: digits up to the first non-digit, at least one.
fn atoi(s: &[u8], radix: u32) -> Option<u64> {
    let s = skip_ws(s);
    let mut n: u64 = 0;
    let mut any = false;
    for &c in s {
        let Some(d) = (c as char).to_digit(radix) else { break };
        n = n.checked_mul(radix as u64)?.checked_add(d as u64)?;
        any = true;
    }
    any.then_some(n)
}

impl HttpAnalyzer {
    pub fn new() -> HttpAnalyzer {
        HttpAnalyzer::default()
    }

    fn weird(cx: &mut dyn Context, name: &str, addl: Option<&[u8]>) {
        let addl = addl.map(String::from_utf8_lossy);
        cx.weird_named(name, addl.as_deref(), SOURCE);
    }

    fn set_version(&mut self, cx: &mut dyn Context, reply: bool, v: Version) {
        let cur = if reply {
            &mut self.reply_version
        } else {
            &mut self.request_version
        };
        if *cur != Version::default() && *cur != v {
            *cur = v;
            Self::weird(cx, "HTTP_version_mismatch", None);
        } else {
            *cur = v;
        }
        if v.0 > 1 || (v.0 == 1 && v.1 > 0) {
            self.keep_alive = true;
        }
    }

    fn request_expected(&self) -> bool {
        self.num_requests == 0 || self.keep_alive
    }

    /// Zeek's `HTTP_RequestLine` + `ParseRequest`: 1 = a request, 0 = not.
    fn request_line(&mut self, cx: &mut dyn Context, line: &[u8]) -> Option<Method> {
        let mlen = line.iter().take_while(|&&c| is_token_char(c)).count();
        if mlen == 0 {
            let with_version = line.len() >= 9 && line[line.len() - 9..line.len() - 3].eq_ignore_ascii_case(b" HTTP/");
            let name = if with_version {
                "bad_HTTP_request_with_version"
            } else {
                "bad_HTTP_request"
            };
            Self::weird(cx, name, None);
            return None;
        }
        let method = &line[..mlen];
        let rest = skip_ws(&line[mlen..]);
        if rest.len() == line.len() - mlen {
            Self::weird(cx, "bad_HTTP_request", None);
            return None;
        }
        // ParseRequest.
        let mut end_of_uri = rest.iter().take_while(|&&c| is_uri_char(c)).count();
        let at_start = match prefix(rest, b"HTTP/", false) {
            Some(_) => true,
            None => {
                let m = prefix(rest, b"HTTP/", true).is_some();
                if m {
                    Self::weird(cx, "lowercase_HTTP_keyword", None);
                }
                m
            }
        };
        if end_of_uri >= rest.len() && at_start {
            Self::weird(cx, "missing_HTTP_uri", None);
            end_of_uri = 0;
        }
        let mut vstart = end_of_uri;
        let mut found = false;
        while vstart < rest.len() {
            end_of_uri = vstart;
            vstart = rest.len() - skip_ws(&rest[vstart..]).len();
            if prefix(&rest[vstart..], b"HTTP/", false).is_some() {
                found = true;
                break;
            }
            if prefix(&rest[vstart..], b"HTTP/", true).is_some() {
                Self::weird(cx, "lowercase_HTTP_keyword", None);
                found = true;
                break;
            }
            vstart += 1;
        }
        let version = if !found {
            Version(0, 9)
        } else if vstart + 8 <= rest.len() {
            parse_version(&rest[vstart + 5..])
        } else {
            // Zeek raises only an http_event here and leaves the version as it was.
            self.request_version
        };
        if found && vstart + 8 > rest.len() {
            // bad_HTTP_version: no version change.
        } else {
            self.set_version(cx, false, version);
        }
        if self.request_version == Version(0, 9) && (mlen < 3 || end_of_uri == 0) {
            Self::weird(cx, "bad_HTTP_request", None);
            return None;
        }
        Some(if method == b"HEAD" || method.eq_ignore_ascii_case(b"HEAD") {
            Method::Head
        } else if method.eq_ignore_ascii_case(b"CONNECT") {
            Method::Connect
        } else {
            Method::Other
        })
    }

    /// Zeek's `HTTP_ReplyLine`: whether `line` is a status line; sets the reply code.
    fn reply_line(&mut self, cx: &mut dyn Context, line: &[u8]) -> bool {
        let rest = match prefix(line, b"HTTP/", false) {
            Some(r) => r,
            None => match prefix(line, b"HTTP/", true) {
                Some(r) => {
                    Self::weird(cx, "lowercase_HTTP_keyword", None);
                    r
                }
                None => return false,
            },
        };
        self.set_version(cx, true, parse_version(rest));
        let Some(sp) = rest.iter().position(|&c| is_ws(c)) else {
            return false;
        };
        let code = skip_ws(&rest[sp..]);
        if code.len() < 3 {
            return false;
        }
        self.reply_code = if code[..3].iter().all(u8::is_ascii_digit) {
            code[..3].iter().fold(0u16, |n, &d| n * 10 + (d - b'0') as u16)
        } else {
            0
        };
        true
    }

    /// Zeek's `ExpectReplyMessageBody`.
    fn expect_reply_body(&self) -> Expect {
        if self.unanswered.front() == Some(&Method::Head) {
            return Expect::Not;
        }
        let c = self.reply_code;
        if (100..200).contains(&c) || c == 204 || c == 304 {
            return Expect::Not;
        }
        Expect::Yes
    }

    fn begin_message(&mut self, cx: &mut dyn Context, d: usize, expect_body: Expect) {
        let side = &mut self.sides[d];
        if side.msg.is_some() {
            Self::weird(cx, "HTTP_overlapping_messages", None);
        }
        side.msg = Some(Message {
            body: Body::Headers,
            expect_body,
            headers: Headers::default(),
            body_len: 0,
        });
        side.state = State::Message;
        side.ongoing = true;
    }

    /// The message of direction `d` is complete (Zeek's `RequestMade` / `ReplyMade`).
    fn message_made(&mut self, d: usize, interrupted: bool) {
        if !self.sides[d].ongoing {
            return;
        }
        self.sides[d].ongoing = false;
        self.sides[d].msg = None;
        self.sides[d].lines.set_plain(0);
        if d == 1 {
            if !(100..200).contains(&self.reply_code) {
                self.unanswered.pop_front();
            }
            let upgrade = self.reply_code == 101
                && self.unanswered.len() == 1
                && self.upgrade_connection
                && self.upgrade_protocol;
            self.reply_code = 0;
            self.upgrade_connection = false;
            self.upgrade_protocol = false;
            if upgrade {
                self.handed_off = true;
            }
        }
        self.sides[d].state = if interrupted || (d == 1 && self.handed_off) {
            State::Nothing
        } else {
            State::ExpectLine
        };
    }

    /// One header line of direction `d` (Zeek's MIME header handling plus `HTTP_Entity::SubmitHeader`).
    fn header(&mut self, cx: &mut dyn Context, d: usize, name: &[u8], value: &[u8]) {
        let is_orig = d == 0;
        let (tok, after) = value_token(value);
        if is_orig && name.eq_ignore_ascii_case(b"connection") && tok.eq_ignore_ascii_case(b"keep-alive") {
            self.keep_alive = true;
        }
        if !is_orig && name.eq_ignore_ascii_case(b"connection") {
            if tok.eq_ignore_ascii_case(b"close") {
                self.connection_close = true;
            } else if tok.eq_ignore_ascii_case(b"upgrade") {
                self.upgrade_connection = true;
            }
        }
        if !is_orig && name.eq_ignore_ascii_case(b"upgrade") {
            self.upgrade_protocol = !tok.is_empty();
        }
        let version = if self.sides[0].ongoing {
            self.request_version
        } else {
            self.reply_version
        };
        let reply_code = self.reply_code;
        let Some(msg) = self.sides[d].msg.as_mut() else { return };
        let h = &mut msg.headers;
        if name.eq_ignore_ascii_case(b"content-length") {
            if h.chunked {
                Self::weird(cx, "HTTP_content_length_and_chunked", None);
            }
            if !tok.is_empty() {
                match atoi(tok, 10).filter(|_| tok[0] != b'-') {
                    Some(n) => {
                        if n > 0 && tok[0] == b'0' {
                            Self::weird(cx, "HTTP_content_length_leading_zeros", Some(tok));
                        }
                        let mut n = n;
                        if let Some(r) = h.range_length.filter(|&r| r != n) {
                            Self::weird(cx, "HTTP_range_not_matching_len", None);
                            n = n.max(r);
                        }
                        h.content_length = Some(n);
                        if n == 0 && h.expect_100 {
                            Self::weird(cx, "HTTP_content_length_0_and_expect_100_cont", None);
                        }
                    }
                    None => {
                        Self::weird(cx, "HTTP_bad_content_length", Some(tok));
                        h.content_length = Some(0);
                    }
                }
            }
        } else if name.eq_ignore_ascii_case(b"content-range") && reply_code == 206 {
            if h.chunked {
                Self::weird(cx, "HTTP_content_range_and_chunked", None);
            }
            // "bytes first-last/instance": the range's length bounds the body.
            let v = skip_ws(value);
            if let Some(r) = prefix(v, b"bytes", true) {
                let r = skip_ws(r);
                let dash = r.iter().position(|&c| c == b'-');
                let slash = r.iter().position(|&c| c == b'/');
                if let (Some(dash), Some(slash)) = (dash, slash) {
                    let first = atoi(&r[..dash], 10);
                    let last = atoi(&r[dash + 1..slash], 10);
                    if let (Some(f), Some(l)) = (first, last) {
                        if l >= f {
                            let len = l - f + 1;
                            h.range_length = Some(len);
                            match h.content_length {
                                Some(cl) if cl != len => {
                                    Self::weird(cx, "HTTP_range_not_matching_len", None);
                                    h.content_length = Some(cl.max(len));
                                }
                                _ => h.content_length = Some(len),
                            }
                        }
                    }
                }
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            if tok.eq_ignore_ascii_case(b"chunked") && version == Version(1, 1) {
                h.chunked = true;
                let rest = skip_ws(after);
                if !rest.is_empty() {
                    Self::weird(cx, "HTTP_chunked_multi", Some(rest));
                }
                if h.content_length.is_some() {
                    Self::weird(cx, "HTTP_content_length_and_chunked", None);
                }
            }
        } else if name.eq_ignore_ascii_case(b"content-encoding") {
            if tok.eq_ignore_ascii_case(b"gzip")
                || tok.eq_ignore_ascii_case(b"x-gzip")
                || tok.eq_ignore_ascii_case(b"deflate")
            {
                h.compressed = true;
            }
        } else if name.eq_ignore_ascii_case(b"expect") {
            if !tok.eq_ignore_ascii_case(b"100-continue") {
                Self::weird(cx, "HTTP_expect_not_100_continue", Some(tok));
            }
            h.expect_100 = true;
            if h.content_length == Some(0) {
                Self::weird(cx, "HTTP_content_length_0_and_expect_100_cont", None);
            }
        } else if name.eq_ignore_ascii_case(b"content-type") {
            let (ty, _) = value_token(value);
            let mut parts = ty.splitn(2, |&c| c == b'/');
            let major = parts.next().unwrap_or_default();
            if major.eq_ignore_ascii_case(b"multipart") {
                h.multipart_boundary = boundary_param(value).map(<[u8]>::to_vec);
            } else if major.eq_ignore_ascii_case(b"message") {
                h.message_type = true;
            }
        }
    }

    /// The empty line after the headers of direction `d` (`HTTP_Entity::SubmitAllHeaders`).
    fn all_headers(&mut self, cx: &mut dyn Context, d: usize) {
        let close = self.connection_close;
        let Some(msg) = self.sides[d].msg.as_mut() else { return };
        if msg.body == Body::Trailer {
            self.message_made(d, false);
            return;
        }
        let h = &msg.headers;
        let multipart = h.multipart_boundary.is_some() || h.message_type;
        let body = if msg.expect_body == Expect::Not {
            None
        } else if multipart {
            if h.chunked {
                Self::weird(cx, "HTTP_chunked_transfer_for_multipart_message", None);
            }
            match h.content_length {
                Some(0) => None,
                Some(n) => Some(Body::LinesCounted(n.min(i64::MAX as u64) as i64)),
                None if h.multipart_boundary.is_some() => Some(Body::Multipart),
                None => Some(Body::UntilClose),
            }
        } else if h.chunked {
            Some(Body::ChunkSize)
        } else if let Some(n) = h.content_length {
            (n > 0).then_some(Body::Length(n))
        } else if close || h.compressed || msg.expect_body == Expect::Yes {
            Some(Body::UntilClose)
        } else {
            None
        };
        match body {
            None => self.message_made(d, false),
            Some(b) => {
                match b {
                    Body::Length(n) => self.sides[d].lines.set_plain(n),
                    Body::UntilClose if close || msg.headers.compressed => self.sides[d].lines.set_plain(u64::MAX),
                    _ => {}
                }
                msg.body = b;
            }
        }
        // A successful CONNECT: what follows is a tunnel, no longer HTTP.
        if d == 1 && self.connect_request && self.sides[1].state == State::Message {
            self.handed_off = true;
        }
    }

    /// One line or plain chunk of direction `d` inside a message.
    fn message_data(&mut self, cx: &mut dyn Context, d: usize, data: &[u8], is_line: bool) {
        let Some(msg) = self.sides[d].msg.as_mut() else { return };
        match msg.body.clone() {
            Body::Headers | Body::Trailer => {
                if !is_line {
                    return;
                }
                if data.is_empty() {
                    self.all_headers(cx, d);
                    if d == 1 && self.connect_request {
                        self.handed_off = true;
                    }
                    return;
                }
                let h = &mut msg.headers;
                if is_ws(data[0]) {
                    // A folded continuation of the previous header (once per header).
                    if h.last_name.1 > 0 && !h.folded && msg.body == Body::Headers {
                        h.folded = true;
                        Self::weird(cx, "HTTP_obsolete_line_folding", Some(&h.last_name.0[..h.last_name.1]));
                    }
                    return;
                }
                let colon = data.iter().position(|&c| c == b':');
                let Some(colon) = colon else { return };
                let name = &data[..colon];
                let n = name.len().min(32);
                h.last_name.0[..n].copy_from_slice(&name[..n]);
                h.last_name.1 = n;
                h.folded = false;
                if msg.body == Body::Trailer {
                    return;
                }
                let value = &data[colon + 1..];
                self.header(cx, d, name, value);
            }
            Body::Length(n) => {
                let k = data.len() as u64;
                msg.body_len += k;
                if k >= n {
                    self.message_made(d, false);
                } else {
                    msg.body = Body::Length(n - k);
                }
            }
            Body::ChunkSize => {
                let size = match atoi(data, 16) {
                    Some(n) => n,
                    None => {
                        Self::weird(cx, "HTTP_bad_chunk_size", Some(data));
                        0
                    }
                };
                if size > 0 {
                    msg.body = Body::ChunkData(size);
                    self.sides[d].lines.set_plain(size);
                } else {
                    msg.body = Body::Trailer;
                }
            }
            Body::ChunkData(n) => {
                let k = data.len() as u64;
                msg.body_len += k;
                msg.body = if k >= n {
                    Body::ChunkCrlf
                } else {
                    Body::ChunkData(n - k)
                };
            }
            Body::ChunkCrlf => msg.body = Body::ChunkSize,
            Body::Multipart => {
                msg.body_len += data.len() as u64 + 2;
                let b = msg.headers.multipart_boundary.as_deref().unwrap_or_default();
                let closing = data.len() >= b.len() + 4
                    && data.starts_with(b"--")
                    && &data[2..2 + b.len()] == b
                    && data[2 + b.len()..].starts_with(b"--");
                if closing {
                    self.message_made(d, false);
                }
            }
            Body::LinesCounted(n) => {
                let k = data.len() as i64 + if is_line { 2 } else { 0 };
                msg.body_len += k as u64;
                if n - k <= 0 {
                    self.message_made(d, false);
                } else {
                    msg.body = Body::LinesCounted(n - k);
                }
            }
            Body::UntilClose => msg.body_len += data.len() as u64,
        }
    }

    /// One line (or plain chunk) of direction `d`: Zeek's `DeliverStream` after the content-line split.
    fn deliver(&mut self, cx: &mut dyn Context, d: usize, data: &[u8], is_line: bool) {
        if self.handed_off {
            return;
        }
        if !is_line || self.sides[d].state == State::Message {
            if self.sides[d].state == State::Message {
                self.message_data(cx, d, data, is_line);
            } else if !is_line {
                let name = if d == 0 {
                    "unexpected_client_HTTP_data"
                } else {
                    "unexpected_server_HTTP_data"
                };
                Self::weird(cx, name, None);
            }
            return;
        }
        if d == 0 {
            if self.sides[0].state != State::ExpectLine {
                return;
            }
            match self.request_line(cx, data) {
                Some(method) => {
                    self.num_requests += 1;
                    if !self.keep_alive && self.num_requests > 1 {
                        Self::weird(cx, "unexpected_multiple_HTTP_requests", None);
                    }
                    if self.unanswered.len() < MAX_UNANSWERED {
                        self.unanswered.push_back(method);
                    }
                    self.connect_request = method == Method::Connect;
                    cx.confirm();
                    self.begin_message(cx, 0, Expect::Maybe);
                    if self.request_version == Version(0, 9) {
                        if self.sides[1].msg.is_some() {
                            Self::weird(cx, "http_09_reply_before_request", None);
                            self.sides[1].msg = None;
                        }
                        self.sides[1].state = State::Http09;
                    }
                }
                None if !self.request_expected() => {}
                None if data.is_empty() => Self::weird(cx, "empty_http_request", None),
                None => {
                    cx.violation("not a http request line");
                    self.sides[0].state = State::Nothing;
                }
            }
        } else {
            if self.sides[1].state != State::ExpectLine {
                return;
            }
            if self.reply_line(cx, data) {
                self.num_replies += 1;
                if !self.unanswered.is_empty() {
                    cx.confirm();
                }
                if self.connect_request && self.reply_code != 200 {
                    self.connect_request = false;
                }
                let expect = self.expect_reply_body();
                self.begin_message(cx, 1, expect);
            } else if !data.is_empty() {
                cx.violation("not a http reply line");
                self.sides[1].state = State::Nothing;
            }
        }
    }
}

/// The `boundary` parameter of a multipart Content-Type value.
fn boundary_param(value: &[u8]) -> Option<&[u8]> {
    for param in value.split(|&c| c == b';').skip(1) {
        let param = skip_ws(param);
        if let Some(v) = prefix(param, b"boundary=", true) {
            let v = v.strip_prefix(b"\"").unwrap_or(v);
            let end = v.iter().position(|&c| c == b'"' || c == b';').unwrap_or(v.len());
            let b = &v[..end];
            let b = &b[..b.len() - b.iter().rev().take_while(|&&c| is_ws(c)).count()];
            return (!b.is_empty()).then_some(b);
        }
    }
    None
}

impl Analyzer for HttpAnalyzer {
    fn name(&self) -> &'static str {
        "http"
    }

    fn deliver_stream(&mut self, cx: &mut dyn Context, is_orig: bool, data: &[u8]) {
        // Zeek's HTTP analyzer ignores partial connections (no SYN seen).
        if self.skip || self.handed_off || cx.is_partial() {
            return;
        }
        let d = (!is_orig) as usize;
        if !is_orig && self.sides[1].state == State::Http09 {
            if self.sides[1].msg.is_none() {
                self.reply_version = Version(0, 9);
                if self.unanswered.pop_front().is_some() {
                    cx.confirm();
                }
                self.connection_close = true;
                self.sides[1].ongoing = true;
                self.sides[1].msg = Some(Message {
                    body: Body::UntilClose,
                    expect_body: Expect::Yes,
                    headers: Headers::default(),
                    body_len: 0,
                });
            }
            return;
        }
        let mut rest = data;
        while !self.handed_off && !self.skip {
            let Some((piece, used)) = self.sides[d].lines.next(rest) else {
                break;
            };
            match piece {
                Piece::Slice { start, end, is_line } => self.deliver(cx, d, &rest[start..end], is_line),
                Piece::Buffered { cut } => {
                    if cut {
                        Self::weird(cx, "contentline_size_exceeded", None);
                    }
                    let buf = self.sides[d].lines.take_buffer();
                    self.deliver(cx, d, &buf, true);
                    self.sides[d].lines.return_buffer(buf);
                }
            }
            rest = &rest[used..];
        }
    }

    fn undelivered(&mut self, _cx: &mut dyn Context, is_orig: bool, _seq: u64, len: u64) {
        let d = (!is_orig) as usize;
        let side = &mut self.sides[d];
        // A gap inside a body of known length is skipped; anything else stops parsing (Zeek).
        if let Some(msg) = side.msg.as_mut() {
            if msg.body_len > 0 {
                match msg.body {
                    Body::Length(n) if n >= len => {
                        msg.body_len += len;
                        side.lines.set_plain(n - len);
                        if n == len {
                            self.message_made(d, false);
                        } else {
                            msg.body = Body::Length(n - len);
                        }
                        return;
                    }
                    Body::ChunkData(n) if n >= len => {
                        msg.body_len += len;
                        side.lines.set_plain(n - len);
                        msg.body = if n == len {
                            Body::ChunkCrlf
                        } else {
                            Body::ChunkData(n - len)
                        };
                        return;
                    }
                    _ => {}
                }
            }
        }
        if is_orig {
            self.message_made(0, true);
            self.message_made(1, true);
        } else {
            self.message_made(1, true);
        }
        self.sides[d].lines.skip_all();
    }

    fn end_of_data(&mut self, cx: &mut dyn Context, is_orig: bool) {
        let d = (!is_orig) as usize;
        // A last line without its newline is delivered at the end (Zeek's ContentLine EndpointEOF).
        if let Some(buf) = self.sides[d].lines.flush() {
            if !buf.is_empty() {
                self.deliver(cx, d, &buf, true);
            }
            self.sides[d].lines.return_buffer(buf);
        }
        self.message_made(d, false);
    }

    fn flip_roles(&mut self) {
        if self.handed_off || self.num_requests > 0 || self.num_replies > 0 {
            self.skip = true;
            return;
        }
        self.sides.swap(0, 1);
    }
}

/// Zeek's DPD signatures `dpd_http_client` and `dpd_http_server` (`base/protocols/http/dpd.sig`): each
/// side is matched on its own.
pub fn probe(transport: Transport, is_orig: bool, d: &[u8]) -> Probe {
    if transport != Transport::Tcp {
        return Probe::No;
    }
    if is_orig {
        let s = &d[d.iter().take_while(|c| c.is_ascii_whitespace()).count()..];
        if s.is_empty() {
            return Probe::Unsure;
        }
        if METHODS.iter().any(|m| s.starts_with(m.as_bytes())) {
            return Probe::Yes;
        }
        if METHODS.iter().any(|m| m.as_bytes().starts_with(s)) {
            return Probe::Unsure;
        }
        Probe::No
    } else {
        const PAT: &[u8] = b"http/";
        for (i, &c) in d.iter().take(5).enumerate() {
            if c.to_ascii_lowercase() != PAT[i] {
                return Probe::No;
            }
        }
        match d.get(5) {
            None => Probe::Unsure,
            Some(c) if c.is_ascii_digit() => Probe::Yes,
            Some(_) => Probe::No,
        }
    }
}

/// The methods of `dpd_http_client`.
const METHODS: &[&str] = &[
    "OPTIONS",
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "QUERY",
    "ACL",
    "BASELINE-CONTROL",
    "BIND",
    "CHECKIN",
    "CHECKOUT",
    "CONNECT",
    "COPY",
    "LABEL",
    "LINK",
    "LOCK",
    "MERGE",
    "MKACTIVITY",
    "MKCALENDAR",
    "MKCOL",
    "MKREDIRECTREF",
    "MOVE",
    "ORDERPATCH",
    "PATCH",
    "PROPFIND",
    "PROPPATCH",
    "REBIND",
    "REPORT",
    "SEARCH",
    "TRACE",
    "UNBIND",
    "UNCHECKOUT",
    "UNLINK",
    "UNLOCK",
    "UPDATE",
    "VERSION-CONTROL",
    "BCOPY",
    "BDELETE",
    "BMOVE",
    "BPROPFIND",
    "BPROPPATCH",
    "NOTIFY",
    "POLL",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "X-MS-ENUMATTS",
    "MKWORKSPACE",
    "RPC_IN_DATA",
    "RPC_OUT_DATA",
];

fn new_analyzer(_s: &Settings) -> Box<dyn Analyzer> {
    Box::new(HttpAnalyzer::new())
}

/// Zeek's `HTTP::ports`.
const PORTS: &[(Transport, u16)] = &[
    (Transport::Tcp, 80),
    (Transport::Tcp, 81),
    (Transport::Tcp, 631),
    (Transport::Tcp, 1080),
    (Transport::Tcp, 3128),
    (Transport::Tcp, 8000),
    (Transport::Tcp, 8080),
    (Transport::Tcp, 8888),
];

/// Zeek's ANALYZER_HTTP: detection and confirmation only (no http.log yet).
pub static HTTP: AnalyzerInfo = AnalyzerInfo {
    name: "http",
    transports: &[Transport::Tcp],
    ports: PORTS,
    probe: Some(probe),
    logs: |_| Vec::<Schema>::new(),
    settings: &[],
    new: new_analyzer,
    worker_state: None,
};

#[cfg(test)]
mod tests;
