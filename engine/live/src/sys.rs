//! Kernel interfaces not (or not reliably) in `libc`: AF_PACKET socket options, TPACKET_V3 ring
//! layouts, classic and extended BPF instruction formats and `bpf(BPF_PROG_LOAD)`'s attribute.
//! Values from `linux/if_packet.h`, `linux/filter.h` and `linux/bpf.h`.

#![allow(dead_code)]

use std::io;

pub const ETH_P_ALL: u16 = 0x0003;
pub const SOL_PACKET: libc::c_int = 263;

pub const PACKET_ADD_MEMBERSHIP: libc::c_int = 1;
pub const PACKET_MR_PROMISC: u16 = 1;
pub const PACKET_RX_RING: libc::c_int = 5;
pub const PACKET_STATISTICS: libc::c_int = 6;
pub const PACKET_VERSION: libc::c_int = 10;
pub const PACKET_TIMESTAMP: libc::c_int = 17;
pub const PACKET_FANOUT: libc::c_int = 18;
pub const PACKET_FANOUT_DATA: libc::c_int = 22;
pub const TPACKET_V3: libc::c_int = 2;

pub const PACKET_FANOUT_HASH: u32 = 0;
pub const PACKET_FANOUT_LB: u32 = 1;
pub const PACKET_FANOUT_CPU: u32 = 2;
pub const PACKET_FANOUT_QM: u32 = 5;
pub const PACKET_FANOUT_CBPF: u32 = 6;
pub const PACKET_FANOUT_EBPF: u32 = 7;
pub const PACKET_FANOUT_FLAG_DEFRAG: u32 = 0x8000;

pub const TP_STATUS_KERNEL: u32 = 0;
pub const TP_STATUS_USER: u32 = 1;
pub const TP_STATUS_CSUMNOTREADY: u32 = 1 << 3;
pub const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
pub const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;
pub const TP_STATUS_CSUM_VALID: u32 = 1 << 7;
pub const TP_FT_REQ_FILL_RXHASH: u32 = 1;

/// `SOF_TIMESTAMPING_RAW_HARDWARE` for `PACKET_TIMESTAMP` (hardware timestamps).
pub const SOF_TIMESTAMPING_RAW_HARDWARE: libc::c_int = 1 << 6;

pub const SO_ATTACH_FILTER: libc::c_int = 26;
pub const SO_DETACH_FILTER: libc::c_int = 27;

pub const BPF_PROG_LOAD: libc::c_long = 5;
pub const BPF_PROG_TYPE_SOCKET_FILTER: u32 = 1;

/// `struct tpacket_req3`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TpacketReq3 {
    pub tp_block_size: u32,
    pub tp_block_nr: u32,
    pub tp_frame_size: u32,
    pub tp_frame_nr: u32,
    pub tp_retire_blk_tov: u32,
    pub tp_sizeof_priv: u32,
    pub tp_feature_req_word: u32,
}

/// `struct tpacket_stats_v3`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TpacketStatsV3 {
    pub tp_packets: u32,
    pub tp_drops: u32,
    pub tp_freeze_q_cnt: u32,
}

/// `struct tpacket_block_desc` with its `tpacket_hdr_v1`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockDesc {
    pub version: u32,
    pub offset_to_priv: u32,
    pub block_status: u32,
    pub num_pkts: u32,
    pub offset_to_first_pkt: u32,
    pub blk_len: u32,
    pub seq_num: u64,
    pub ts_first_sec: u32,
    pub ts_first_nsec: u32,
    pub ts_last_sec: u32,
    pub ts_last_nsec: u32,
}

/// `struct tpacket3_hdr`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Tpacket3Hdr {
    pub tp_next_offset: u32,
    pub tp_sec: u32,
    pub tp_nsec: u32,
    pub tp_snaplen: u32,
    pub tp_len: u32,
    pub tp_status: u32,
    pub tp_mac: u16,
    pub tp_net: u16,
    pub tp_rxhash: u32,
    pub tp_vlan_tci: u32,
    pub tp_vlan_tpid: u16,
    pub tp_padding: u16,
    pub tp_padding2: [u8; 8],
}

/// Where the kernel's `sockaddr_ll` ends in a frame: `TPACKET_ALIGN(sizeof(tpacket3_hdr)) + sizeof(sockaddr_ll)`.
pub const TPACKET3_HDRLEN: usize = 48 + 20;

/// `struct packet_mreq`.
#[repr(C)]
pub struct PacketMreq {
    pub mr_ifindex: libc::c_int,
    pub mr_type: u16,
    pub mr_alen: u16,
    pub mr_address: [u8; 8],
}

/// `struct sock_filter` (classic BPF).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// `struct sock_fprog`.
#[repr(C)]
pub struct SockFprog {
    pub len: u16,
    pub filter: *const SockFilter,
}

/// `struct bpf_insn` (extended BPF).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BpfInsn {
    pub code: u8,
    /// dst_reg in the low nibble, src_reg in the high nibble.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

/// The `BPF_PROG_LOAD` part of `union bpf_attr`, padded with zeros (the kernel accepts a shorter
/// attribute than its own as long as what it does not know is zero).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct BpfProgLoadAttr {
    pub prog_type: u32,
    pub insn_cnt: u32,
    pub insns: u64,
    pub license: u64,
    pub log_level: u32,
    pub log_size: u32,
    pub log_buf: u64,
    pub kern_version: u32,
    pub prog_flags: u32,
    pub prog_name: [u8; 16],
    pub prog_ifindex: u32,
    pub expected_attach_type: u32,
    pub pad: [u64; 8],
}

pub fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `setsockopt` with a value of any plain type.
pub fn setsockopt<T>(fd: libc::c_int, level: libc::c_int, name: libc::c_int, val: &T) -> io::Result<()> {
    // SAFETY: `val` is a valid reference for its size for the duration of the call.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (val as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    cvt(r).map(|_| ())
}

/// Loads an eBPF program as `BPF_PROG_TYPE_SOCKET_FILTER`; returns its fd. On failure the
/// verifier's log is in the error.
pub fn bpf_prog_load(insns: &[BpfInsn]) -> io::Result<libc::c_int> {
    let license = b"GPL\0";
    let mut log = vec![0u8; 64 * 1024];
    let mut name = [0u8; 16];
    name[..11].copy_from_slice(b"weir_fanout");
    let mut attr = BpfProgLoadAttr {
        prog_type: BPF_PROG_TYPE_SOCKET_FILTER,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 0,
        log_size: 0,
        log_buf: 0,
        kern_version: 0,
        prog_flags: 0,
        prog_name: name,
        prog_ifindex: 0,
        expected_attach_type: 0,
        pad: [0; 8],
    };
    for attempt in 0..2 {
        if attempt == 1 {
            attr.log_level = 1;
            attr.log_size = log.len() as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
        }
        // SAFETY: the attribute and everything it points to outlive the call.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                BPF_PROG_LOAD,
                &attr as *const BpfProgLoadAttr,
                std::mem::size_of::<BpfProgLoadAttr>(),
            )
        };
        if fd >= 0 {
            return Ok(fd as libc::c_int);
        }
        if attempt == 1 {
            let e = io::Error::last_os_error();
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end]);
            return Err(io::Error::new(
                e.kind(),
                format!("bpf(BPF_PROG_LOAD): {e}; verifier: {text}"),
            ));
        }
    }
    unreachable!()
}
