//! # weir-ssh: SSH protocol detection as Zeek decides it
//!
//! Zeek's SSH analyzer (`src/analyzer/protocol/ssh/*.pac`) reads each direction's version line (a
//! server may send other lines before it; a client's first line must be its version), then the
//! unencrypted binary packets of the key exchange (SSH-2: `packet_length`, `padding_length`,
//! `msg_type`; SSH-1: length, padding, type), until the direction's `NEWKEYS` (SSH-2) or session key
//! (SSH-1) makes it encrypted. That message is Zeek's one **confirmation** point (`proc_newkeys`); a
//! client whose first line is not a version is a **violation** (a binpac exception in Zeek).
//! Detection on other ports than 22 follows Zeek's signatures: the server's version line, then the
//! client's (`requires-reverse-signature`).
//!
//! ssh.log is not written yet.
//!
//! ```
//! use weir_api::testing::{chunk, drive, RecordingContext};
//! use weir_api::Transport;
//! let newkeys = [0, 0, 0, 12, 10, 21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
//! let mut s = chunk(false, false, b"SSH-2.0-OpenSSH_9.6\r\n");
//! s.extend(chunk(true, false, b"SSH-2.0-OpenSSH_9.6\r\n"));
//! s.extend(chunk(true, false, &newkeys));
//! let mut cx = RecordingContext::new(Transport::Tcp, 22);
//! drive(&mut weir_ssh::SshAnalyzer::default(), &mut cx, &s);
//! assert!(cx.confirmed);
//! ```

#[doc(hidden)]
pub mod fuzzing;

use weir_api::analyzer::{Analyzer, AnalyzerInfo, Context, Probe, Settings, Transport};
use weir_api::log::Schema;

/// Longest version line kept (RFC 4253 allows 255 bytes; a longer one is cut).
const MAX_LINE: usize = 4096;
/// Zeek's `SSH::max_packet_length` default: longer packet lengths are capped to it.
const MAX_PACKET_LENGTH: u64 = 1 << 20;
const MSG_NEWKEYS: u8 = 21;
const SSH1_SMSG_PUBLIC_KEY: u8 = 2;
const SSH1_CMSG_SESSION_KEY: u8 = 3;

/// A side's protocol version, from its version line (Zeek's `update_version`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Version {
    #[default]
    Unknown,
    Ssh1,
    Ssh199,
    Ssh2,
}

fn version_of(line: &[u8]) -> Version {
    match line.get(4) {
        Some(b'2') => Version::Ssh2,
        Some(b'1') if line.get(6) == Some(&b'9') && line.get(7) == Some(&b'9') => Version::Ssh199,
        Some(b'1') => Version::Ssh1,
        _ => Version::Unknown,
    }
}

/// The connection's version from both sides (RFC 4253 section 5: 1.99 goes with either).
fn resolve(a: Version, b: Version) -> Version {
    use Version::*;
    match (a, b) {
        (Ssh2, Ssh2 | Ssh199) | (Ssh199, Ssh2 | Ssh199) => Ssh2,
        (Ssh1, Ssh1 | Ssh199) | (Ssh199, Ssh1) => Ssh1,
        _ => Unknown,
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    VersionExchange,
    Kex,
    Encrypted,
}

/// One direction.
#[derive(Debug, Default)]
struct Side {
    state: State,
    version: Version,
    /// A version line or packet header being assembled across deliveries.
    buf: Vec<u8>,
    /// Bytes of the current packet still to skip.
    skip: u64,
}

/// The SSH analyzer of one connection.
#[derive(Debug, Default)]
pub struct SshAnalyzer {
    /// 0: client (originator), 1: server.
    sides: [Side; 2],
    had_gap: bool,
    failed: bool,
}

impl SshAnalyzer {
    fn version(&self) -> Version {
        resolve(self.sides[0].version, self.sides[1].version)
    }

    /// Version exchange: consumes bytes of `data` up to and including the version line; returns the rest.
    fn version_line<'a>(&mut self, cx: &mut dyn Context, d: usize, mut data: &'a [u8]) -> &'a [u8] {
        while !data.is_empty() && self.sides[d].state == State::VersionExchange {
            let side = &mut self.sides[d];
            let Some(nl) = data.iter().position(|&c| c == b'\n') else {
                let room = MAX_LINE.saturating_sub(side.buf.len());
                side.buf.extend_from_slice(&data[..data.len().min(room)]);
                return &[];
            };
            let room = MAX_LINE.saturating_sub(side.buf.len());
            side.buf.extend_from_slice(&data[..nl.min(room)]);
            data = &data[nl + 1..];
            let line = std::mem::take(&mut side.buf);
            let is_version = line.starts_with(b"SSH-");
            if is_version {
                side.version = version_of(&line);
                side.state = State::Kex;
            } else if d == 0 {
                // A client's first line must be its version (binpac's RE/SSH-.*/ fails).
                cx.violation("Binpac exception: client version line does not start with SSH-");
                self.failed = true;
                return &[];
            }
            let mut line = line;
            line.clear();
            self.sides[d].buf = line;
        }
        data
    }

    /// Key-exchange packets until the direction is encrypted.
    fn kex(&mut self, cx: &mut dyn Context, d: usize, mut data: &[u8]) {
        let version = self.version();
        if version == Version::Unknown {
            // Zeek's get_kex_length is 1 here: the data is dropped.
            return;
        }
        while !data.is_empty() && self.sides[d].state == State::Kex {
            let side = &mut self.sides[d];
            if side.skip > 0 {
                let n = (data.len() as u64).min(side.skip) as usize;
                side.skip -= n as u64;
                data = &data[n..];
                continue;
            }
            // Header: length (4), then for SSH-2 padding length and type; for SSH-1 the padding comes
            // first (8 - len % 8 bytes), then the type.
            let need: usize = if version == Version::Ssh2 { 6 } else { 4 };
            let take = need.saturating_sub(side.buf.len()).min(data.len());
            side.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if side.buf.len() < need {
                return;
            }
            let len = u32::from_be_bytes([side.buf[0], side.buf[1], side.buf[2], side.buf[3]]) as u64;
            let len = len.min(MAX_PACKET_LENGTH);
            if version == Version::Ssh2 {
                let msg_type = side.buf[5];
                side.buf.clear();
                side.skip = len.saturating_sub(2);
                if msg_type == MSG_NEWKEYS {
                    side.state = State::Encrypted;
                    cx.confirm();
                }
            } else {
                let pad = 8 - len % 8;
                let total = pad + 1;
                // The type byte follows the padding.
                if side.buf.len() == 4 {
                    side.skip = 0;
                }
                let have = side.buf.len() as u64 - 4;
                let more = (total - have.min(total)) as usize;
                let t = more.min(data.len());
                side.buf.extend_from_slice(&data[..t]);
                data = &data[t..];
                if (side.buf.len() as u64) < 4 + total {
                    return;
                }
                let msg_type = side.buf[side.buf.len() - 1];
                side.buf.clear();
                side.skip = len.saturating_sub(1);
                if msg_type == SSH1_SMSG_PUBLIC_KEY || msg_type == SSH1_CMSG_SESSION_KEY {
                    side.state = State::Encrypted;
                    if msg_type == SSH1_CMSG_SESSION_KEY {
                        cx.confirm();
                    }
                }
            }
        }
    }
}

impl Analyzer for SshAnalyzer {
    fn name(&self) -> &'static str {
        "ssh"
    }

    fn deliver_stream(&mut self, cx: &mut dyn Context, is_orig: bool, data: &[u8]) {
        // Zeek ignores partial connections, and everything after a content gap.
        if self.failed || self.had_gap || cx.is_partial() {
            return;
        }
        let d = (!is_orig) as usize;
        let rest = self.version_line(cx, d, data);
        if !rest.is_empty() && self.sides[d].state == State::Kex {
            self.kex(cx, d, rest);
        }
    }

    fn undelivered(&mut self, _cx: &mut dyn Context, _is_orig: bool, _seq: u64, _len: u64) {
        self.had_gap = true;
    }

    fn flip_roles(&mut self) {
        self.sides.swap(0, 1);
    }
}

/// Zeek's DPD signatures `dpd_ssh_server` (responder) and `dpd_ssh_client` (originator, which requires
/// the server's): `^[sS][sS][hH]-[12]\.`. The responder's match keeps the analyzer waiting; the
/// originator's attaches it.
pub fn probe(transport: Transport, is_orig: bool, d: &[u8]) -> Probe {
    if transport != Transport::Tcp {
        return Probe::No;
    }
    let pat: [&[u8]; 6] = [b"sS", b"sS", b"hH", b"-", b"12", b"."];
    for (i, set) in pat.iter().enumerate() {
        match d.get(i) {
            None => return Probe::Unsure,
            Some(c) if set.contains(c) => {}
            Some(_) => return Probe::No,
        }
    }
    if is_orig {
        Probe::Yes
    } else {
        Probe::Unsure
    }
}

fn new_analyzer(_s: &Settings) -> Box<dyn Analyzer> {
    Box::new(SshAnalyzer::default())
}

/// Zeek's ANALYZER_SSH on `SSH::ports` (22/tcp).
pub static SSH: AnalyzerInfo = AnalyzerInfo {
    name: "ssh",
    transports: &[Transport::Tcp],
    ports: &[(Transport::Tcp, 22)],
    probe: Some(probe),
    logs: |_| Vec::<Schema>::new(),
    settings: &[],
    new: new_analyzer,
    worker_state: None,
};

#[cfg(test)]
mod tests {
    use super::*;
    use weir_api::testing::{chunk, drive, RecordingContext};

    fn packet(msg_type: u8, body: usize) -> Vec<u8> {
        let len = (body + 2 + 4) as u32;
        let mut p = len.to_be_bytes().to_vec();
        p.extend([4, msg_type]);
        p.extend(std::iter::repeat_n(0xaa, body + 4));
        p
    }

    fn run(chunks: &[(bool, Vec<u8>)]) -> RecordingContext {
        let mut s = Vec::new();
        for (o, d) in chunks {
            s.extend(chunk(*o, false, d));
        }
        let mut cx = RecordingContext::new(Transport::Tcp, 22);
        drive(&mut SshAnalyzer::default(), &mut cx, &s);
        cx
    }

    #[test]
    fn newkeys_confirms_after_kexinit_split_across_chunks() {
        let mut client = b"SSH-2.0-c\r\n".to_vec();
        client.extend(packet(20, 300));
        client.extend(packet(MSG_NEWKEYS, 0));
        let (a, b) = client.split_at(17);
        let cx = run(&[
            (false, b"Welcome\r\nSSH-1.99-s\r\n".to_vec()),
            (true, a.to_vec()),
            (true, b.to_vec()),
        ]);
        assert!(cx.confirmed);
    }

    #[test]
    fn no_newkeys_no_confirmation() {
        let mut client = b"SSH-2.0-c\r\n".to_vec();
        client.extend(packet(20, 30));
        let cx = run(&[(false, b"SSH-2.0-s\r\n".to_vec()), (true, client)]);
        assert!(!cx.confirmed);
        assert!(cx.violations.is_empty());
    }

    #[test]
    fn client_without_version_is_a_violation() {
        let cx = run(&[(true, b"GET / HTTP/1.1\r\n".to_vec())]);
        assert_eq!(cx.violations.len(), 1);
    }

    #[test]
    fn ssh1_session_key_confirms() {
        // length 5: padding 3, type 3 (session key), then 4 more bytes.
        let mut p = vec![0, 0, 0, 5, 0, 0, 0, SSH1_CMSG_SESSION_KEY];
        p.extend([0; 4]);
        let mut client = b"SSH-1.5-c\n".to_vec();
        client.extend(p);
        let cx = run(&[(false, b"SSH-1.5-s\n".to_vec()), (true, client)]);
        assert!(cx.confirmed);
    }

    #[test]
    fn signatures() {
        assert_eq!(probe(Transport::Tcp, false, b"SSH-2.0-x"), Probe::Unsure);
        assert_eq!(probe(Transport::Tcp, true, b"ssh-1.99-x"), Probe::Yes);
        assert_eq!(probe(Transport::Tcp, true, b"SSH-3.0"), Probe::No);
    }
}
