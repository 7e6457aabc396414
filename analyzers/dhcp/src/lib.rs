//! # weir-dhcp: DHCP protocol detection as Zeek decides it
//!
//! DHCP/BOOTP over UDP, attached on Zeek's `DHCP::server_ports` (67, 4011) and detected anywhere else
//! by Zeek's DPD signature `dhcp_cookie` (the magic cookie at offset 236), parsed as Zeek's binpac grammar
//! (`src/analyzer/protocol/dhcp/*.pac`): the fixed BOOTP header, then options up to the END option.
//! Each message that parses confirms the protocol; a message that does not parse, has no message-type
//! option (`no DHCP message type option`) or a wrong cookie (`bad cookie (N)`) is a violation.
//!
//! dhcp.log is not written yet (Zeek aggregates it per transaction with timers in
//! `base/protocols/dhcp/main.zeek`).
//!
//! ```
//! let mut m = vec![0u8; 236];
//! m[0] = 1; // BOOTREQUEST
//! m.extend([0x63, 0x82, 0x53, 0x63, 53, 1, 1, 255]); // cookie, DHCPDISCOVER, END
//! assert_eq!(weir_dhcp::parse(&m).unwrap().msg_type, 1);
//! ```

#[doc(hidden)]
pub mod fuzzing;

use weir_api::analyzer::{Analyzer, AnalyzerInfo, Context, Probe, Settings, Transport};
use weir_api::log::Schema;

/// The BOOTP header's length up to the magic cookie.
const HEADER_LEN: usize = 236;
const COOKIE: u32 = 0x6382_5363;
const MSG_TYPE_OPTION: u8 = 53;
const END_OPTION: u8 = 255;
const PAD_OPTION: u8 = 0;

/// Why a datagram is not a DHCP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than the header and cookie (a binpac exception in Zeek).
    Truncated,
    /// The options run past the end without an END option (a binpac exception in Zeek).
    UnterminatedOptions,
}

/// What detection needs of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message {
    pub op: u8,
    pub xid: u32,
    pub cookie: u32,
    /// The DHCP message type (option 53), 0 when absent.
    pub msg_type: u8,
}

/// Parses one datagram as Zeek's `DHCP_Message`.
pub fn parse(d: &[u8]) -> Result<Message, Error> {
    let cookie = d.get(HEADER_LEN..HEADER_LEN + 4).ok_or(Error::Truncated)?;
    let cookie = u32::from_be_bytes([cookie[0], cookie[1], cookie[2], cookie[3]]);
    let xid = u32::from_be_bytes([d[4], d[5], d[6], d[7]]);
    let mut opts = &d[HEADER_LEN + 4..];
    let mut msg_type = 0;
    loop {
        let (&code, rest) = opts.split_first().ok_or(Error::UnterminatedOptions)?;
        opts = rest;
        match code {
            END_OPTION => break,
            PAD_OPTION => {}
            _ => {
                let (&len, rest) = opts.split_first().ok_or(Error::UnterminatedOptions)?;
                // binpac reads the message type as one byte whatever the length says.
                let n = if code == MSG_TYPE_OPTION { 1 } else { len as usize };
                let value = rest.get(..n).ok_or(Error::UnterminatedOptions)?;
                if code == MSG_TYPE_OPTION && msg_type == 0 {
                    msg_type = value[0];
                }
                opts = &rest[n..];
            }
        }
    }
    Ok(Message {
        op: d[0],
        xid,
        cookie,
        msg_type,
    })
}

/// The DHCP analyzer of one connection (it keeps no state between messages).
#[derive(Debug, Default)]
pub struct DhcpAnalyzer;

impl Analyzer for DhcpAnalyzer {
    fn name(&self) -> &'static str {
        "dhcp"
    }

    fn deliver_packet(&mut self, cx: &mut dyn Context, _is_orig: bool, data: &[u8]) {
        match parse(data) {
            Err(e) => cx.violation(&format!("Binpac exception: {e:?}")),
            Ok(m) if m.msg_type == 0 => cx.violation("no DHCP message type option"),
            Ok(m) if m.cookie != COOKIE => cx.violation(&format!("bad cookie ({})", m.cookie as i32)),
            Ok(_) => cx.confirm(),
        }
    }
}

/// Zeek's DPD signature `dhcp_cookie`: `^.{236}\x63\x82\x53\x63` on UDP.
pub fn probe(transport: Transport, _is_orig: bool, d: &[u8]) -> Probe {
    if transport != Transport::Udp {
        return Probe::No;
    }
    match d.get(HEADER_LEN..HEADER_LEN + 4) {
        None => Probe::No,
        Some(c) if c == COOKIE.to_be_bytes() => Probe::Yes,
        Some(_) => Probe::No,
    }
}

fn new_analyzer(_s: &Settings) -> Box<dyn Analyzer> {
    Box::new(DhcpAnalyzer)
}

/// Zeek's ANALYZER_DHCP on `DHCP::server_ports`. Zeek also attaches it on the client port 68 without
/// making 68 a likely server port; weir's registration cannot say that, so port 68 is left to the DPD
/// signature (which every DHCP message matches).
pub static DHCP: AnalyzerInfo = AnalyzerInfo {
    name: "dhcp",
    transports: &[Transport::Udp],
    ports: &[(Transport::Udp, 67), (Transport::Udp, 4011)],
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

    fn msg(options: &[u8]) -> Vec<u8> {
        let mut m = vec![0u8; HEADER_LEN];
        m[0] = 1;
        m[4..8].copy_from_slice(&[1, 2, 3, 4]);
        m.extend(COOKIE.to_be_bytes());
        m.extend(options);
        m
    }

    fn verdict(d: &[u8]) -> RecordingContext {
        let mut cx = RecordingContext::new(Transport::Udp, 67);
        drive(&mut DhcpAnalyzer, &mut cx, &chunk(true, false, d));
        cx
    }

    #[test]
    fn discover_confirms() {
        let cx = verdict(&msg(&[0, 53, 1, 1, 12, 3, b'a', b'b', b'c', 255]));
        assert!(cx.confirmed && cx.violations.is_empty());
        assert_eq!(parse(&msg(&[53, 1, 3, 255])).unwrap().xid, 0x01020304);
    }

    #[test]
    fn violations() {
        assert_eq!(
            verdict(&msg(&[12, 1, b'a', 255])).violations,
            ["no DHCP message type option"]
        );
        let mut bad = msg(&[53, 1, 1, 255]);
        bad[HEADER_LEN] = 0;
        assert_eq!(verdict(&bad).violations, ["bad cookie (8541027)"]);
        assert_eq!(parse(&msg(&[53, 1, 1])), Err(Error::UnterminatedOptions));
        assert_eq!(parse(&[1, 2, 3]), Err(Error::Truncated));
    }

    #[test]
    fn signature() {
        assert_eq!(probe(Transport::Udp, true, &msg(&[])), Probe::Yes);
        assert_eq!(probe(Transport::Udp, true, &[0u8; 300]), Probe::No);
        assert_eq!(probe(Transport::Tcp, true, &msg(&[])), Probe::No);
    }
}
