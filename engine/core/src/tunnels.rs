//! Tunnels in the engine: Zeek's tunnel framework (`base/frameworks/tunnels`: the `Tunnel::active`
//! table, DISCOVER and CLOSE rows), what tunnel analyzers do to their carrying connections, and how an
//! encapsulated packet's innermost connection is handed to the worker that owns it.
//!
//! **Dispatch on the inner connection.** With several workers, the dispatcher runs a *carrier* worker of
//! its own: every packet that may carry a tunnel is decapsulated there, the carrying levels (the VXLAN or
//! GENEVE UDP connection, the IP/GRE tunnel table, nested carriers) are analysed there, and the innermost
//! packet is sent as an [`InnerPacket`] to the worker its own 5-tuple hashes to. A single mirror session
//! therefore spreads over every worker, the carrying connection is logged once, and the inner connection
//! gets the carrier's uid in `tunnel_parents` as in one Zeek process.
//!
//! Zeek's `Tunnel::active` is one table for the process: a tunnel is DISCOVERed when a new connection
//! appears inside it and CLOSEd when its carrying UDP connection goes away. The workers that see the new
//! inner connections and the carrier that removes the carrying connection run on different threads, so
//! each of them records its tunnel events with the network time and packet position at which a single
//! process would have raised them, and the run's [`crate::ordered::Registry`] replays the events of all
//! threads in that order once every thread has passed them. The rows are the ones one Zeek process
//! writes, for any number of workers.

use crate::conn::ConnCore;
use crate::flows::FlowTable;
use crate::key::ConnKey;
use crate::logs::WeirdOut;
use crate::uid::Uid;
use core::net::{IpAddr, Ipv4Addr};
use weir_api::log::Value;
use weir_decode::tunnel::{LevelInfo, TunnelType, MAX_LEVELS};

/// Zeek's `Tunnel::max_changes_per_connection`.
pub(crate) const TUNNEL_MAX_CHANGES: u8 = 5;

/// A tunnel's identity as tunnel.log writes it (Zeek's `EncapsulatingConn$cid` and type).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TunnelCid {
    pub orig_h: IpAddr,
    pub orig_p: u16,
    pub resp_h: IpAddr,
    pub resp_p: u16,
    pub proto: u8,
    pub kind: TunnelType,
}

impl TunnelCid {
    pub(crate) const NONE: TunnelCid = TunnelCid {
        orig_h: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        orig_p: 0,
        resp_h: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        resp_p: 0,
        proto: 0,
        kind: TunnelType::Ip,
    };

    /// The carrying UDP connection of this tunnel is `c` (Zeek's `finalize_tunnel` looks `c$id` up).
    fn carried_by(&self, c: &UdpTuple) -> bool {
        self.proto == 17
            && self.orig_h == c.orig_h
            && self.orig_p == c.orig_p
            && self.resp_h == c.resp_h
            && self.resp_p == c.resp_p
    }
}

/// A carrying UDP connection's 5-tuple, in its roles.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct UdpTuple {
    orig_h: IpAddr,
    orig_p: u16,
    resp_h: IpAddr,
    resp_p: u16,
}

impl UdpTuple {
    pub(crate) fn of(c: &ConnCore) -> UdpTuple {
        UdpTuple {
            orig_h: c.orig_h,
            orig_p: c.orig_p,
            resp_h: c.resp_h,
            resp_p: c.resp_p,
        }
    }
}

/// An entry of Zeek's `IPTunnelAnalyzer::ip_tunnels`.
pub(crate) struct IpTunnel {
    pub uid: Uid,
    pub cid: TunnelCid,
    pub last: f64,
}

/// The innermost packet of an encapsulated packet, handed by the carrier to the worker that owns the
/// inner connection, with what the carrier knows of the levels around it. The packet's bytes travel
/// beside it: the innermost frame as [`weir_decode::tunnel::Decap::inner_frame`] gives it.
#[derive(Clone, Copy, Debug)]
pub struct InnerPacket {
    /// How many encapsulations the packet was found in (its uid's level).
    pub level: u8,
    /// The uid of the innermost carrier (the inner connection's `tunnel_parents`).
    pub parent: Option<Uid>,
    /// The chain of carriers, outermost first: registered when the inner connection is new.
    chain: [(Uid, TunnelCid); MAX_LEVELS],
    chain_len: u8,
    /// What a tunnel analyzer did at the innermost level (the depth limit's `X`, ...).
    pub info: LevelInfo,
    /// The outermost frame was captured whole (Zeek validates UDP checksums only then).
    pub outer_full: bool,
    /// Which 802.11 A-MSDU subframe of its frame this is (0: the first, or none); salts the uid.
    pub subframe: u16,
}

impl InnerPacket {
    pub(crate) fn new(
        level: usize,
        parent: Option<Uid>,
        chain: &[(Uid, TunnelCid)],
        info: LevelInfo,
        outer_full: bool,
    ) -> Self {
        let mut c = [(Uid::default(), TunnelCid::NONE); MAX_LEVELS];
        let n = chain.len().min(MAX_LEVELS);
        c[..n].copy_from_slice(&chain[..n]);
        InnerPacket {
            level: level as u8,
            parent,
            chain: c,
            chain_len: n as u8,
            info,
            outer_full,
            subframe: 0,
        }
    }

    pub(crate) fn chain(&self) -> &[(Uid, TunnelCid)] {
        &self.chain[..self.chain_len as usize]
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum TunnelEvent {
    /// Zeek's `Tunnel::register`.
    Register(Uid, TunnelCid),
    /// Zeek's `finalize_tunnel` removal hook of a carrying UDP connection.
    Close(UdpTuple),
}

/// Zeek's `Tunnel::active` and the rows it writes. One per process (single worker) or shared by the
/// carrier and every worker through a [`crate::ordered::Registry`].
#[derive(Default)]
pub(crate) struct ActiveTunnels {
    active: Vec<(TunnelCid, Uid)>,
}

impl ActiveTunnels {
    /// Applies one event; returns the row to write, if any.
    fn apply(&mut self, ev: &TunnelEvent) -> Option<(Uid, TunnelCid, &'static str)> {
        match *ev {
            TunnelEvent::Register(uid, cid) => {
                if self.active.iter().any(|(c, _)| *c == cid) {
                    return None;
                }
                self.active.push((cid, uid));
                Some((uid, cid, "Tunnel::DISCOVER"))
            }
            TunnelEvent::Close(t) => {
                let i = self.active.iter().position(|(cid, _)| cid.carried_by(&t))?;
                let (cid, uid) = self.active.remove(i);
                Some((uid, cid, "Tunnel::CLOSE"))
            }
        }
    }

    /// Applies an event and writes its row at network time `t`.
    pub(crate) fn apply_and_log(&mut self, t: f64, ev: &TunnelEvent, out: &mut WeirdOut) {
        if let Some((uid, cid, action)) = self.apply(ev) {
            tunnel_row(out, t, uid, cid, action);
        }
    }
}

/// A tunnel.log row.
fn tunnel_row(out: &mut WeirdOut, now: f64, uid: Uid, cid: TunnelCid, action: &'static str) {
    let mut ubuf = [0u8; 24];
    let u = uid.render(b'C', &mut ubuf);
    let row = [
        Some(Value::Time(now)),
        Some(Value::str(u)),
        Some(Value::Addr(cid.orig_h)),
        Some(Value::Port(cid.orig_p)),
        Some(Value::Addr(cid.resp_h)),
        Some(Value::Port(cid.resp_p)),
        Some(Value::Enum(cid.kind.zeek_name())),
        Some(Value::Enum(action)),
    ];
    out.write_named("tunnel", &row);
}

/// The worker's answers to the tunnel analyzers' questions about carrying UDP connections.
pub(crate) struct WorkerTunnelState<'f> {
    pub flows: &'f mut FlowTable,
}

impl weir_decode::tunnel::TunnelState for WorkerTunnelState<'_> {
    fn udp_resp_port(
        &mut self,
        _level: usize,
        ip: &weir_decode::IpPacket<'_>,
        udp: &weir_decode::UdpHeader<'_>,
    ) -> u16 {
        let key = ConnKey::new(ip.src, udp.src_port, ip.dst, udp.dst_port, 17, false);
        match self.flows.find(&key) {
            Some(r) => self.flows.get_mut(r).core.resp_p,
            None => weir_decode::tunnel::guess_resp_port(udp),
        }
    }
    fn violated(
        &mut self,
        _level: usize,
        ip: &weir_decode::IpPacket<'_>,
        udp: &weir_decode::UdpHeader<'_>,
        _kind: TunnelType,
    ) -> bool {
        let key = ConnKey::new(ip.src, udp.src_port, ip.dst, udp.dst_port, 17, false);
        self.flows
            .find(&key)
            .is_some_and(|r| self.flows.get_mut(r).core.tunnel_violated)
    }
}

/// What a tunnel analyzer did to its carrying connection: confirmation (service), violation, weird, `X`.
pub(crate) fn apply_level_info(core: &mut ConnCore, info: &LevelInfo) {
    use weir_decode::tunnel::Confirm;
    let Some(kind) = info.analyzer else { return };
    match info.valid_dir {
        // GTPv1's per-direction validity (Zeek's `set_valid`): the last packet of each direction counts.
        Some(true) => core.tunnel_valid_dirs |= core.tunnel_last_dir,
        Some(false) => core.tunnel_valid_dirs &= !core.tunnel_last_dir,
        None => {}
    }
    match info.confirm {
        Confirm::No => {}
        Confirm::Now => core.tunnel_confirmed = true,
        Confirm::BothSides => {
            core.tunnel_valid_dirs |= core.tunnel_last_dir;
            if core.tunnel_valid_dirs == 3 {
                core.tunnel_confirmed = true;
            }
        }
    }
    if core.tunnel_confirmed {
        if let Some(svc) = kind.service() {
            if !core.services.contains(&svc) {
                core.services.push(svc);
            }
        }
    }
    if info.violation.is_some() {
        core.tunnel_violated = true;
    }
    if let Some((w, forced)) = info.conn_weird {
        if forced || core.tunnel_confirmed {
            core.weird(w, None, crate::conn::WeirdSource::Named(kind.analyzer()));
        }
    }
    if info.history_x {
        core.check_history(0x400, b'X');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cid(port: u16) -> TunnelCid {
        TunnelCid {
            orig_h: "10.0.0.1".parse().unwrap(),
            orig_p: port,
            resp_h: "10.0.0.2".parse().unwrap(),
            resp_p: 4789,
            proto: 17,
            kind: TunnelType::Vxlan,
        }
    }

    fn tuple(port: u16) -> UdpTuple {
        let c = cid(port);
        UdpTuple {
            orig_h: c.orig_h,
            orig_p: c.orig_p,
            resp_h: c.resp_h,
            resp_p: c.resp_p,
        }
    }

    #[test]
    fn discover_once_until_closed() {
        let mut a = ActiveTunnels::default();
        let u = Uid::default();
        let reg = TunnelEvent::Register(u, cid(1));
        assert_eq!(a.apply(&reg).map(|r| r.2), Some("Tunnel::DISCOVER"));
        assert_eq!(a.apply(&reg), None, "an active tunnel is not discovered again");
        assert_eq!(
            a.apply(&TunnelEvent::Close(tuple(2))),
            None,
            "another tuple closes nothing"
        );
        assert_eq!(
            a.apply(&TunnelEvent::Close(tuple(1))).map(|r| r.2),
            Some("Tunnel::CLOSE")
        );
        assert_eq!(a.apply(&TunnelEvent::Close(tuple(1))), None, "closed once");
        assert_eq!(
            a.apply(&reg).map(|r| r.2),
            Some("Tunnel::DISCOVER"),
            "rediscovered after close"
        );
    }
}
