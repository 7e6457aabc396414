//! One AF_PACKET socket with its TPACKET_V3 RX ring, mmapped, in a fanout group.

use crate::sys::*;
use crate::{FanoutMode, LiveError, SocketOptions};
use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{fence, Ordering};

/// What the kernel counted for a socket (`PACKET_STATISTICS`), accumulated: the kernel resets its
/// counters on every read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Packets the socket was offered (kept in the ring or dropped): `tp_packets`.
    pub packets: u64,
    /// Packets dropped because the ring was full: `tp_drops`.
    pub drops: u64,
    /// Times the ring was frozen (all blocks full): `tp_freeze_q_cnt`.
    pub freeze_q: u64,
}

/// A socket and its ring.
pub struct Ring {
    fd: libc::c_int,
    map: NonNull<u8>,
    map_len: usize,
    block_size: usize,
    block_nr: usize,
    next: usize,
    stats: KernelStats,
}

// SAFETY: the ring is used by one thread at a time; the mapping is owned.
unsafe impl Send for Ring {}

fn err(what: &str, e: io::Error) -> LiveError {
    LiveError::Socket(format!("{what}: {e}"))
}

pub fn ifindex(name: &str) -> Result<u32, LiveError> {
    let c = std::ffi::CString::new(name).map_err(|_| LiveError::Config(format!("bad interface name {name:?}")))?;
    // SAFETY: a valid C string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        return Err(LiveError::Socket(format!(
            "interface {name}: {}",
            io::Error::last_os_error()
        )));
    }
    Ok(i)
}

fn attach_cbpf(fd: libc::c_int, level: libc::c_int, name: libc::c_int, prog: &[SockFilter]) -> io::Result<()> {
    let fprog = SockFprog {
        len: prog.len() as u16,
        filter: prog.as_ptr(),
    };
    setsockopt(fd, level, name, &fprog)
}

impl Ring {
    /// Opens the socket, sets up the ring, binds to `ifindex`, enables promiscuous mode, joins the
    /// fanout group and attaches the capture filter. Until the group is joined a drop-all filter
    /// keeps the socket from receiving packets that fanout would have sent elsewhere.
    pub fn open(
        ifindex: u32,
        o: &SocketOptions,
        filter: Option<&[SockFilter]>,
        ebpf_fd: Option<libc::c_int>,
    ) -> Result<Ring, LiveError> {
        // SAFETY: plain syscall.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                (ETH_P_ALL.to_be()) as libc::c_int,
            )
        };
        if fd < 0 {
            return Err(err(
                "socket(AF_PACKET) (needs root or CAP_NET_RAW)",
                io::Error::last_os_error(),
            ));
        }
        let mut ring = Ring {
            fd,
            map: NonNull::dangling(),
            map_len: 0,
            block_size: 0,
            block_nr: 0,
            next: 0,
            stats: KernelStats::default(),
        };
        let drop_all = [SockFilter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0,
        }];
        attach_cbpf(fd, libc::SOL_SOCKET, SO_ATTACH_FILTER, &drop_all).map_err(|e| err("SO_ATTACH_FILTER", e))?;
        setsockopt(fd, SOL_PACKET, PACKET_VERSION, &TPACKET_V3).map_err(|e| err("PACKET_VERSION", e))?;
        if o.hw_timestamps {
            setsockopt(fd, SOL_PACKET, PACKET_TIMESTAMP, &SOF_TIMESTAMPING_RAW_HARDWARE)
                .map_err(|e| err("PACKET_TIMESTAMP", e))?;
        }
        let page = 4096usize;
        let block_size = o.block_size.max(page).next_multiple_of(page);
        let block_nr = (o.buffer_size / block_size).max(2);
        let frame_size = 2048usize;
        let req = TpacketReq3 {
            tp_block_size: block_size as u32,
            tp_block_nr: block_nr as u32,
            tp_frame_size: frame_size as u32,
            tp_frame_nr: (block_size * block_nr / frame_size) as u32,
            tp_retire_blk_tov: o.block_timeout_ms,
            tp_sizeof_priv: 0,
            tp_feature_req_word: TP_FT_REQ_FILL_RXHASH,
        };
        setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req).map_err(|e| err("PACKET_RX_RING", e))?;
        let map_len = block_size * block_nr;
        // SAFETY: mapping the ring the kernel just allocated for this socket.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | if o.lock_ring { libc::MAP_LOCKED } else { 0 },
                fd,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(err("mmap of the ring", io::Error::last_os_error()));
        }
        ring.map = NonNull::new(p.cast()).expect("mmap");
        ring.map_len = map_len;
        ring.block_size = block_size;
        ring.block_nr = block_nr;

        // SAFETY: zeroed sockaddr_ll filled in below.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ETH_P_ALL.to_be();
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: a valid sockaddr_ll of the right size.
        let r = unsafe {
            libc::bind(
                fd,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        cvt(r).map_err(|e| err("bind", e))?;
        if o.promisc {
            let mr = PacketMreq {
                mr_ifindex: ifindex as i32,
                mr_type: PACKET_MR_PROMISC,
                mr_alen: 0,
                mr_address: [0; 8],
            };
            setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr).map_err(|e| err("promiscuous mode", e))?;
        }
        if let Some(mode) = o.fanout {
            let m = match mode {
                FanoutMode::Hash => PACKET_FANOUT_HASH,
                FanoutMode::Qm => PACKET_FANOUT_QM,
                FanoutMode::Cpu => PACKET_FANOUT_CPU,
                FanoutMode::Cbpf => PACKET_FANOUT_CBPF,
                FanoutMode::Ebpf => PACKET_FANOUT_EBPF,
                FanoutMode::Lb => PACKET_FANOUT_LB,
            };
            let flags = if o.defrag { PACKET_FANOUT_FLAG_DEFRAG } else { 0 };
            let arg: u32 = (o.fanout_id as u32) | ((m | flags) << 16);
            setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg).map_err(|e| {
                err(
                    &format!(
                        "PACKET_FANOUT (group {} {:?}; another process may hold that group id with other settings)",
                        o.fanout_id, mode
                    ),
                    e,
                )
            })?;
            match mode {
                FanoutMode::Cbpf => {
                    let prog = crate::bpf::cbpf_program();
                    attach_cbpf(fd, SOL_PACKET, PACKET_FANOUT_DATA, &prog)
                        .map_err(|e| err("PACKET_FANOUT_DATA (classic BPF)", e))?;
                }
                FanoutMode::Ebpf => {
                    let pfd = ebpf_fd.expect("eBPF program loaded");
                    setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, &pfd)
                        .map_err(|e| err("PACKET_FANOUT_DATA (eBPF)", e))?;
                }
                _ => {}
            }
        }
        // The real filter (or none) replaces the drop-all one; then whatever got into the ring
        // before is thrown away (there is nothing: the drop-all filter ran first).
        match filter {
            Some(f) => attach_cbpf(fd, libc::SOL_SOCKET, SO_ATTACH_FILTER, f).map_err(|e| err("capture filter", e))?,
            None => {
                setsockopt(fd, libc::SOL_SOCKET, SO_DETACH_FILTER, &0i32).map_err(|e| err("SO_DETACH_FILTER", e))?
            }
        }
        // Reset the counters: what the drop-all filter rejected was never counted, but be sure.
        let _ = ring.read_stats();
        ring.stats = KernelStats::default();
        Ok(ring)
    }

    pub fn fd(&self) -> libc::c_int {
        self.fd
    }

    fn block(&self, i: usize) -> *mut BlockDesc {
        // SAFETY: i < block_nr, inside the mapping.
        unsafe { self.map.as_ptr().add(i * self.block_size).cast() }
    }

    /// Whether the kernel has handed the next block to user space.
    pub fn ready(&self) -> bool {
        let b = self.block(self.next);
        // SAFETY: the descriptor lives in the mapping; the kernel writes it, hence volatile.
        let status = unsafe { std::ptr::read_volatile(std::ptr::addr_of!((*b).block_status)) };
        status & TP_STATUS_USER != 0
    }

    /// The next block, if the kernel has handed it to user space.
    pub fn next_block(&mut self) -> Option<Block<'_>> {
        if !self.ready() {
            return None;
        }
        let b = self.block(self.next);
        fence(Ordering::Acquire);
        Some(Block {
            ring: self,
            desc: b,
            left: 0,
            cur: std::ptr::null_mut(),
            started: false,
        })
    }

    /// Waits up to `ms` for the next block.
    pub fn wait(&self, ms: i32) {
        let mut pfd = libc::pollfd {
            fd: self.fd,
            events: libc::POLLIN | libc::POLLERR,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, ms) };
    }

    /// Reads `PACKET_STATISTICS` (which resets the kernel's counters) into the running totals.
    pub fn read_stats(&mut self) -> KernelStats {
        let mut r = StatsReader {
            fd: self.fd,
            acc: self.stats,
        };
        self.stats = r.read();
        self.stats
    }

    /// A reader of this socket's counters that does not borrow the ring (valid while it is open).
    pub fn stats_reader(&self) -> StatsReader {
        StatsReader {
            fd: self.fd,
            acc: self.stats,
        }
    }
}

/// Running totals of a socket's `PACKET_STATISTICS`.
pub struct StatsReader {
    fd: libc::c_int,
    acc: KernelStats,
}

impl StatsReader {
    pub fn read(&mut self) -> KernelStats {
        let mut st = TpacketStatsV3::default();
        let mut len = std::mem::size_of::<TpacketStatsV3>() as libc::socklen_t;
        // SAFETY: `st` is large enough for the kernel's answer.
        let r = unsafe {
            libc::getsockopt(
                self.fd,
                SOL_PACKET,
                PACKET_STATISTICS,
                (&mut st as *mut TpacketStatsV3).cast(),
                &mut len,
            )
        };
        if r == 0 {
            self.acc.packets += st.tp_packets as u64;
            self.acc.drops += st.tp_drops as u64;
            self.acc.freeze_q += st.tp_freeze_q_cnt as u64;
        }
        self.acc
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: our own mapping and fd.
        unsafe {
            if self.map_len > 0 {
                libc::munmap(self.map.as_ptr().cast(), self.map_len);
            }
            libc::close(self.fd);
        }
    }
}

/// A block handed to user space; its packets are read in place and the block goes back to the
/// kernel when this is dropped.
pub struct Block<'a> {
    ring: &'a mut Ring,
    desc: *mut BlockDesc,
    left: u32,
    cur: *mut u8,
    started: bool,
}

/// One packet in the ring, with the VLAN tag the kernel stripped put back into the frame.
pub struct Frame<'a> {
    pub ts: f64,
    pub data: &'a [u8],
    pub wire_len: u32,
    pub status: u32,
}

impl Block<'_> {
    /// The next packet of the block. The data is in the ring (no copy); a stripped VLAN tag is
    /// written back in front of the frame, in the gap the kernel leaves after its header.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Frame<'_>> {
        // SAFETY: offsets come from the kernel and stay inside the block.
        unsafe {
            if !self.started {
                self.started = true;
                self.left = (*self.desc).num_pkts;
                self.cur = (self.desc as *mut u8).add((*self.desc).offset_to_first_pkt as usize);
            } else if self.left > 0 {
                let h = self.cur as *const Tpacket3Hdr;
                self.cur = self.cur.add((*h).tp_next_offset as usize);
            }
            if self.left == 0 {
                return None;
            }
            self.left -= 1;
            let h = &*(self.cur as *const Tpacket3Hdr);
            let ts = h.tp_sec as f64 + h.tp_nsec as f64 * 1e-9;
            let mac = h.tp_mac as usize;
            let snap = h.tp_snaplen as usize;
            let mut start = self.cur.add(mac);
            let mut caplen = snap;
            let mut wire = h.tp_len;
            if h.tp_status & TP_STATUS_VLAN_VALID != 0 && mac >= TPACKET3_HDRLEN + 4 && snap >= 12 {
                let tpid = if h.tp_status & TP_STATUS_VLAN_TPID_VALID != 0 && h.tp_vlan_tpid != 0 {
                    h.tp_vlan_tpid
                } else {
                    0x8100
                };
                let tci = h.tp_vlan_tci as u16;
                let dst = start.sub(4);
                std::ptr::copy(start, dst, 12);
                let tag = [(tpid >> 8) as u8, tpid as u8, (tci >> 8) as u8, tci as u8];
                std::ptr::copy_nonoverlapping(tag.as_ptr(), dst.add(12), 4);
                start = dst;
                caplen += 4;
                wire += 4;
            }
            Some(Frame {
                ts,
                data: std::slice::from_raw_parts(start, caplen),
                wire_len: wire,
                status: h.tp_status,
            })
        }
    }
}

impl Drop for Block<'_> {
    fn drop(&mut self) {
        fence(Ordering::Release);
        // SAFETY: returning the block to the kernel.
        unsafe { std::ptr::write_volatile(std::ptr::addr_of_mut!((*self.desc).block_status), TP_STATUS_KERNEL) };
        self.ring.next = (self.ring.next + 1) % self.ring.block_nr;
    }
}
