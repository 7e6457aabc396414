//! weir's symmetric flow hash as a fanout program, in classic BPF (`PACKET_FANOUT_CBPF`) and extended
//! BPF (`PACKET_FANOUT_EBPF`), assembled here (no clang, no LLVM), and the same hash in Rust.
//!
//! A fanout program sees the packet from its **network header** (the kernel has already pulled the
//! link-layer header, and a VLAN tag it stripped is in the skb's metadata). The program reads the
//! network protocol from the skb (`SKF_AD_PROTOCOL`, or `__sk_buff.protocol`), steps over one VLAN tag
//! left in the data (the inner tag of a Q-in-Q frame), and hashes:
//!
//! * IPv4 / IPv6, TCP, UDP or SCTP, not a fragment: the IP pair and the port pair;
//! * any other IP packet, and every fragment (IPv4 MF or offset, IPv6 Fragment header or any other
//!   extension header): the IP pair only.
//!
//! Both are symmetric (sums of the two addresses and of the two ports), so both directions of a
//! connection reach one socket, and all fragments of a datagram reach one socket. Non-IP packets
//! hash to 0. The kernel takes the result modulo the number of sockets.
//!
//! `h = (sum(addr words) ^ (sport + dport)) * 0x9e3779b1; h ^= h >> 16` in 32-bit arithmetic.

use crate::sys::{BpfInsn, SockFilter};

pub const MIX: u32 = 0x9e37_79b1;
const SKF_AD_OFF: u32 = 0xffff_f000; // -0x1000
const SKF_AD_PROTOCOL: u32 = 0;

fn is_port_proto(p: u8) -> bool {
    matches!(p, 6 | 17 | 132)
}

fn mix(a: u32, ports: u32) -> u32 {
    let h = (a ^ ports).wrapping_mul(MIX);
    h ^ (h >> 16)
}

fn be32(d: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(o..o + 4)?.try_into().ok()?))
}
fn be16(d: &[u8], o: usize) -> Option<u32> {
    Some(u16::from_be_bytes(d.get(o..o + 2)?.try_into().ok()?) as u32)
}

/// The programs' hash of an IP packet (`ip` starts at the IP header). `None` where a program would
/// read past the packet (it returns 0 then).
pub fn flow_hash_ip(ip: &[u8]) -> Option<u32> {
    match ip.first()? >> 4 {
        4 => {
            let a = be32(ip, 12)?.wrapping_add(be32(ip, 16)?);
            if be16(ip, 6)? & 0x3fff != 0 || !is_port_proto(ip[9]) {
                return Some(mix(a, 0));
            }
            let hl = ((ip[0] & 0xf) as usize) * 4;
            let ports = be16(ip, hl)? + be16(ip, hl + 2)?;
            Some(mix(a, ports))
        }
        6 => {
            let mut a = 0u32;
            for k in 0..8 {
                a = a.wrapping_add(be32(ip, 8 + 4 * k)?);
            }
            if !is_port_proto(*ip.get(6)?) {
                return Some(mix(a, 0));
            }
            let ports = be16(ip, 40)? + be16(ip, 42)?;
            Some(mix(a, ports))
        }
        _ => None,
    }
}

/// The hash of a whole Ethernet frame (VLAN tags skipped), as the programs compute it on the kernel's
/// view of that frame. 0 for what is not IP.
pub fn flow_hash_frame(frame: &[u8]) -> u32 {
    let mut off = 12;
    let mut et = be16(frame, off).unwrap_or(0);
    while et == 0x8100 || et == 0x88a8 {
        off += 4;
        et = be16(frame, off).unwrap_or(0);
    }
    match et {
        0x0800 | 0x86dd => frame.get(off + 2..).and_then(flow_hash_ip).unwrap_or(0),
        _ => 0,
    }
}

// ---------------------------------------------------------------------------------------------
// Classic BPF

#[allow(dead_code)]
mod c {
    pub const LD: u16 = 0x00;
    pub const LDX: u16 = 0x01;
    pub const ST: u16 = 0x02;
    pub const ALU: u16 = 0x04;
    pub const JMP: u16 = 0x05;
    pub const RET: u16 = 0x06;
    pub const W: u16 = 0x00;
    pub const H: u16 = 0x08;
    pub const B: u16 = 0x10;
    pub const IMM: u16 = 0x00;
    pub const ABS: u16 = 0x20;
    pub const IND: u16 = 0x40;
    pub const MEM: u16 = 0x60;
    pub const MSH: u16 = 0xa0;
    pub const ADD: u16 = 0x00;
    pub const MUL: u16 = 0x20;
    pub const RSH: u16 = 0x70;
    pub const XOR: u16 = 0xa0;
    pub const JA: u16 = 0x00;
    pub const JEQ: u16 = 0x10;
    pub const JSET: u16 = 0x40;
    pub const K: u16 = 0x00;
    pub const X: u16 = 0x08;
    pub const A: u16 = 0x10;
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tgt {
    Next,
    L(&'static str),
}

struct CAsm {
    code: Vec<(SockFilter, Tgt, Tgt)>,
    labels: Vec<(&'static str, usize)>,
}

impl CAsm {
    fn i(&mut self, code: u16, k: u32) {
        self.code
            .push((SockFilter { code, jt: 0, jf: 0, k }, Tgt::Next, Tgt::Next));
    }
    fn j(&mut self, code: u16, k: u32, jt: Tgt, jf: Tgt) {
        self.code.push((SockFilter { code, jt: 0, jf: 0, k }, jt, jf));
    }
    fn label(&mut self, l: &'static str) {
        self.labels.push((l, self.code.len()));
    }
    fn finish(self) -> Vec<SockFilter> {
        let find = |l: &str| self.labels.iter().find(|(n, _)| *n == l).map(|x| x.1).expect("label");
        let mut out = Vec::new();
        for (i, (mut ins, jt, jf)) in self.code.iter().copied().enumerate() {
            let rel = |t: Tgt| match t {
                Tgt::Next => 0usize,
                Tgt::L(l) => find(l) - (i + 1),
            };
            if ins.code == c::JMP | c::JA {
                ins.k = rel(jt) as u32;
            } else if ins.code & 0x07 == c::JMP {
                let (t, f) = (rel(jt), rel(jf));
                assert!(t < 256 && f < 256, "cBPF jump too long");
                ins.jt = t as u8;
                ins.jf = f as u8;
            }
            out.push(ins);
        }
        out
    }
}

fn c_v4(a: &mut CAsm, b: u32, pair: &'static str, ports: &'static str, mixl: &'static str) {
    use c::*;
    a.i(LD | W | ABS, b + 12);
    a.i(ST, 0);
    a.i(LD | W | ABS, b + 16);
    a.i(LDX | W | MEM, 0);
    a.i(ALU | ADD | X, 0);
    a.i(ST, 0);
    a.i(LD | H | ABS, b + 6);
    a.j(JMP | JSET | K, 0x3fff, Tgt::L(pair), Tgt::Next);
    a.i(LD | B | ABS, b + 9);
    a.j(JMP | JEQ | K, 6, Tgt::L(ports), Tgt::Next);
    a.j(JMP | JEQ | K, 17, Tgt::L(ports), Tgt::Next);
    a.j(JMP | JEQ | K, 132, Tgt::L(ports), Tgt::L(pair));
    a.label(ports);
    a.i(LDX | B | MSH, b);
    a.i(LD | H | IND, b);
    a.i(ST, 1);
    a.i(LD | H | IND, b + 2);
    a.i(LDX | W | MEM, 1);
    a.i(ALU | ADD | X, 0);
    a.i(LDX | W | MEM, 0);
    a.i(ALU | XOR | X, 0);
    a.j(JMP | JA, 0, Tgt::L(mixl), Tgt::Next);
}

fn c_v6(a: &mut CAsm, b: u32, pair: &'static str, ports: &'static str, mixl: &'static str) {
    use c::*;
    a.i(LD | W | ABS, b + 8);
    a.i(ST, 0);
    for k in 1..8 {
        a.i(LD | W | ABS, b + 8 + 4 * k);
        a.i(LDX | W | MEM, 0);
        a.i(ALU | ADD | X, 0);
        a.i(ST, 0);
    }
    a.i(LD | B | ABS, b + 6);
    a.j(JMP | JEQ | K, 6, Tgt::L(ports), Tgt::Next);
    a.j(JMP | JEQ | K, 17, Tgt::L(ports), Tgt::Next);
    a.j(JMP | JEQ | K, 132, Tgt::L(ports), Tgt::L(pair));
    a.label(ports);
    a.i(LD | H | ABS, b + 40);
    a.i(ST, 1);
    a.i(LD | H | ABS, b + 42);
    a.i(LDX | W | MEM, 1);
    a.i(ALU | ADD | X, 0);
    a.i(LDX | W | MEM, 0);
    a.i(ALU | XOR | X, 0);
    a.j(JMP | JA, 0, Tgt::L(mixl), Tgt::Next);
}

/// The classic-BPF fanout program.
pub fn cbpf_program() -> Vec<SockFilter> {
    use c::*;
    let mut a = CAsm {
        code: Vec::new(),
        labels: Vec::new(),
    };
    a.i(LD | W | ABS, SKF_AD_OFF + SKF_AD_PROTOCOL);
    a.j(JMP | JEQ | K, 0x0800, Tgt::L("v4_0"), Tgt::Next);
    a.j(JMP | JEQ | K, 0x86dd, Tgt::L("v6_0"), Tgt::Next);
    a.j(JMP | JEQ | K, 0x8100, Tgt::L("vlan"), Tgt::Next);
    a.j(JMP | JEQ | K, 0x88a8, Tgt::L("vlan"), Tgt::L("zero"));
    a.label("vlan");
    a.i(LD | H | ABS, 2);
    a.j(JMP | JEQ | K, 0x0800, Tgt::L("v4_4"), Tgt::Next);
    a.j(JMP | JEQ | K, 0x86dd, Tgt::L("v6_4"), Tgt::L("zero"));
    a.label("v4_0");
    c_v4(&mut a, 0, "pair", "p4_0", "mix");
    a.label("v4_4");
    c_v4(&mut a, 4, "pair", "p4_4", "mix");
    a.label("v6_0");
    c_v6(&mut a, 0, "pair", "p6_0", "mix");
    a.label("v6_4");
    c_v6(&mut a, 4, "pair", "p6_4", "mix");
    a.label("pair");
    a.i(LD | W | MEM, 0);
    a.label("mix");
    a.i(ALU | MUL | K, MIX);
    a.i(ST, 0);
    a.i(ALU | RSH | K, 16);
    a.i(LDX | W | MEM, 0);
    a.i(ALU | XOR | X, 0);
    a.i(RET | A, 0);
    a.label("zero");
    a.i(RET | K, 0);
    a.finish()
}

// ---------------------------------------------------------------------------------------------
// Extended BPF

#[allow(dead_code)]
mod e {
    pub const LD: u8 = 0x00;
    pub const LDX: u8 = 0x01;
    pub const ALU: u8 = 0x04;
    pub const JMP: u8 = 0x05;
    pub const ALU64: u8 = 0x07;
    pub const W: u8 = 0x00;
    pub const H: u8 = 0x08;
    pub const B: u8 = 0x10;
    pub const ABS: u8 = 0x20;
    pub const IND: u8 = 0x40;
    pub const MEM: u8 = 0x60;
    pub const ADD: u8 = 0x00;
    pub const MUL: u8 = 0x20;
    pub const AND: u8 = 0x50;
    pub const LSH: u8 = 0x60;
    pub const RSH: u8 = 0x70;
    pub const XOR: u8 = 0xa0;
    pub const MOV: u8 = 0xb0;
    pub const END: u8 = 0xd0;
    pub const TO_BE: u8 = 0x08;
    pub const K: u8 = 0x00;
    pub const X: u8 = 0x08;
    pub const JA: u8 = 0x00;
    pub const JEQ: u8 = 0x10;
    pub const JNE: u8 = 0x50;
    pub const EXIT: u8 = 0x90;
}

struct EAsm {
    code: Vec<(BpfInsn, Option<&'static str>)>,
    labels: Vec<(&'static str, usize)>,
}

impl EAsm {
    fn i(&mut self, code: u8, dst: u8, src: u8, off: i16, imm: i32) {
        self.code.push((
            BpfInsn {
                code,
                regs: (src << 4) | dst,
                off,
                imm,
            },
            None,
        ));
    }
    fn j(&mut self, code: u8, dst: u8, imm: i32, l: &'static str) {
        self.code.push((
            BpfInsn {
                code,
                regs: dst,
                off: 0,
                imm,
            },
            Some(l),
        ));
    }
    fn label(&mut self, l: &'static str) {
        self.labels.push((l, self.code.len()));
    }
    fn finish(self) -> Vec<BpfInsn> {
        let find = |l: &str| self.labels.iter().find(|(n, _)| *n == l).map(|x| x.1).expect("label");
        self.code
            .iter()
            .enumerate()
            .map(|(i, (ins, l))| {
                let mut ins = *ins;
                if let Some(l) = l {
                    ins.off = (find(l) as isize - (i as isize + 1)) as i16;
                }
                ins
            })
            .collect()
    }
}

// Registers: r6 = ctx (LD_ABS/IND need it), r7 = address sum, r8 = port sum, r9 = base offset.
fn e_v4(a: &mut EAsm, pair: &'static str, ports: &'static str, mixl: &'static str) {
    use e::*;
    a.i(LD | IND | W, 0, 9, 0, 12);
    a.i(ALU | MOV | X, 7, 0, 0, 0);
    a.i(LD | IND | W, 0, 9, 0, 16);
    a.i(ALU | ADD | X, 7, 0, 0, 0);
    a.i(LD | IND | H, 0, 9, 0, 6);
    a.i(ALU | AND | K, 0, 0, 0, 0x3fff);
    a.j(JMP | JNE | K, 0, 0, pair);
    a.i(LD | IND | B, 0, 9, 0, 9);
    a.j(JMP | JEQ | K, 0, 6, ports);
    a.j(JMP | JEQ | K, 0, 17, ports);
    a.j(JMP | JEQ | K, 0, 132, ports);
    a.j(JMP | JA, 0, 0, pair);
    a.label(ports);
    a.i(LD | IND | B, 0, 9, 0, 0);
    a.i(ALU | AND | K, 0, 0, 0, 0xf);
    a.i(ALU | LSH | K, 0, 0, 0, 2);
    a.i(ALU | ADD | X, 9, 0, 0, 0);
    a.i(LD | IND | H, 0, 9, 0, 0);
    a.i(ALU | MOV | X, 8, 0, 0, 0);
    a.i(LD | IND | H, 0, 9, 0, 2);
    a.i(ALU | ADD | X, 8, 0, 0, 0);
    a.j(JMP | JA, 0, 0, mixl);
}

fn e_v6(a: &mut EAsm, pair: &'static str, ports: &'static str, mixl: &'static str) {
    use e::*;
    a.i(ALU | MOV | K, 7, 0, 0, 0);
    for k in 0..8 {
        a.i(LD | IND | W, 0, 9, 0, 8 + 4 * k);
        a.i(ALU | ADD | X, 7, 0, 0, 0);
    }
    a.i(LD | IND | B, 0, 9, 0, 6);
    a.j(JMP | JEQ | K, 0, 6, ports);
    a.j(JMP | JEQ | K, 0, 17, ports);
    a.j(JMP | JEQ | K, 0, 132, ports);
    a.j(JMP | JA, 0, 0, pair);
    a.label(ports);
    a.i(LD | IND | H, 0, 9, 0, 40);
    a.i(ALU | MOV | X, 8, 0, 0, 0);
    a.i(LD | IND | H, 0, 9, 0, 42);
    a.i(ALU | ADD | X, 8, 0, 0, 0);
    a.j(JMP | JA, 0, 0, mixl);
}

/// The extended-BPF fanout program (`BPF_PROG_TYPE_SOCKET_FILTER`).
pub fn ebpf_program() -> Vec<BpfInsn> {
    use e::*;
    let mut a = EAsm {
        code: Vec::new(),
        labels: Vec::new(),
    };
    a.i(ALU64 | MOV | X, 6, 1, 0, 0);
    a.i(ALU | MOV | K, 7, 0, 0, 0);
    a.i(ALU | MOV | K, 8, 0, 0, 0);
    a.i(ALU | MOV | K, 9, 0, 0, 0);
    // r0 = __sk_buff.protocol (offset 16, network byte order)
    a.i(LDX | MEM | W, 0, 6, 16, 0);
    a.i(ALU | END | TO_BE, 0, 0, 0, 16);
    a.j(JMP | JEQ | K, 0, 0x8100, "vlan");
    a.j(JMP | JEQ | K, 0, 0x88a8, "vlan");
    a.j(JMP | JA, 0, 0, "disp");
    a.label("vlan");
    a.i(LD | ABS | H, 0, 0, 0, 2);
    a.i(ALU | MOV | K, 9, 0, 0, 4);
    a.label("disp");
    a.j(JMP | JEQ | K, 0, 0x0800, "v4");
    a.j(JMP | JEQ | K, 0, 0x86dd, "v6");
    a.i(ALU | MOV | K, 0, 0, 0, 0);
    a.i(JMP | EXIT, 0, 0, 0, 0);
    a.label("v4");
    e_v4(&mut a, "pair", "p4", "mix");
    a.label("v6");
    e_v6(&mut a, "pair", "p6", "mix");
    a.label("pair");
    a.i(ALU | MOV | K, 8, 0, 0, 0);
    a.label("mix");
    a.i(ALU | XOR | X, 7, 8, 0, 0);
    a.i(ALU | MUL | K, 7, 0, 0, MIX as i32);
    a.i(ALU | MOV | X, 0, 7, 0, 0);
    a.i(ALU | RSH | K, 7, 0, 0, 16);
    a.i(ALU | XOR | X, 0, 7, 0, 0);
    a.i(JMP | EXIT, 0, 0, 0, 0);
    a.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small classic-BPF interpreter for the instructions the program uses, with the fanout view
    /// (data from the network header, protocol from the skb).
    fn run_c(prog: &[SockFilter], proto: u16, data: &[u8]) -> u32 {
        let (mut a, mut x, mut m) = (0u32, 0u32, [0u32; 16]);
        let mut pc = 0;
        loop {
            let i = prog[pc];
            pc += 1;
            let ld = |off: u32, size: u32| -> Option<u32> {
                let o = off as usize;
                let b = data.get(o..o + size as usize)?;
                Some(b.iter().fold(0u32, |acc, &v| (acc << 8) | v as u32))
            };
            match i.code {
                0x20 if i.k == SKF_AD_OFF => a = proto as u32,
                0x20 => match ld(i.k, 4) {
                    Some(v) => a = v,
                    None => return 0,
                },
                0x28 => match ld(i.k, 2) {
                    Some(v) => a = v,
                    None => return 0,
                },
                0x30 => match ld(i.k, 1) {
                    Some(v) => a = v,
                    None => return 0,
                },
                0x48 => match ld(x + i.k, 2) {
                    Some(v) => a = v,
                    None => return 0,
                },
                0xb1 => match ld(i.k, 1) {
                    Some(v) => x = (v & 0xf) * 4,
                    None => return 0,
                },
                0x60 => a = m[i.k as usize],
                0x61 => x = m[i.k as usize],
                0x02 => m[i.k as usize] = a,
                0x0c => a = a.wrapping_add(x),
                0xac => a ^= x,
                0x24 => a = a.wrapping_mul(i.k),
                0x74 => a >>= i.k,
                0x05 => pc += i.k as usize,
                0x15 => pc += if a == i.k { i.jt } else { i.jf } as usize,
                0x45 => pc += if a & i.k != 0 { i.jt } else { i.jf } as usize,
                0x16 => return a,
                0x06 => return i.k,
                c => panic!("opcode {c:#x}"),
            }
        }
    }

    fn v4_tcp(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, frag: u16) -> Vec<u8> {
        let mut p = vec![0x45, 0, 0, 40, 0, 0, (frag >> 8) as u8, frag as u8, 64, 6, 0, 0];
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p.extend_from_slice(&sp.to_be_bytes());
        p.extend_from_slice(&dp.to_be_bytes());
        p.extend_from_slice(&[0; 16]);
        p
    }

    #[test]
    fn cbpf_matches_rust_and_is_symmetric() {
        let prog = cbpf_program();
        assert!(prog.len() < 200);
        for i in 0..200u16 {
            let s = [10, 0, (i >> 8) as u8, i as u8];
            let d = [192, 168, 1, (i * 7) as u8];
            let f = v4_tcp(s, d, 1024 + i, 80, 0);
            let r = v4_tcp(d, s, 80, 1024 + i, 0);
            let h = run_c(&prog, 0x0800, &f);
            assert_eq!(h, run_c(&prog, 0x0800, &r));
            assert_eq!(Some(h), flow_hash_ip(&f));
            // A non-first fragment hashes by the pair: like the unfragmented packet with ports 0.
            let fr = v4_tcp(s, d, 1, 2, 0x00b9);
            assert_eq!(run_c(&prog, 0x0800, &fr), flow_hash_ip(&fr).unwrap());
            // Inner VLAN tag in the data.
            let mut q = vec![0, 5, 0x08, 0x00];
            q.extend_from_slice(&f);
            assert_eq!(run_c(&prog, 0x8100, &q), h);
        }
        let mut v6 = vec![0x60, 0, 0, 0, 0, 20, 17, 64];
        v6.extend((0..32).map(|i| i as u8));
        v6.extend_from_slice(&[0x12, 0x34, 0x00, 0x35, 0, 20, 0, 0]);
        assert_eq!(run_c(&prog, 0x86dd, &v6), flow_hash_ip(&v6).unwrap());
    }

    #[test]
    fn ebpf_assembles() {
        let p = ebpf_program();
        assert!(p.len() > 20 && p.len() < 200);
        assert_eq!(p.last().unwrap().code, e::JMP | e::EXIT);
    }
}
