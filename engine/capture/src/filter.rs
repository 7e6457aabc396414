//! libpcap filter expressions (`-f 'tcp port 80'`), compiled by libpcap and run in user space.
//!
//! libpcap is loaded at run time (`libpcap.so.1`, `libpcap.so.0.8`, `libpcap.so`) so that building weir
//! needs no libpcap headers; only a run that uses a filter needs the library. The expression is compiled
//! with `pcap_open_dead` + `pcap_compile`, exactly as Zeek compiles it (optimised, netmask unknown), and
//! the classic-BPF program is copied out. [`Program`] validates it (as libpcap's `bpf_validate` and the
//! kernel do) and interprets it with libpcap's `bpf_filter` semantics: a load outside the captured bytes
//! ends the program with 0, which rejects the packet.
//!
//! A pcapng file may mix link types, so [`Filter`] compiles once per link type, when it first sees one.
//!
//! ```no_run
//! use weir_capture::{filter::Filter, LinkType};
//! let f = Filter::new("tcp port 80")?;
//! let frame = [0u8; 64];
//! let keep = f.matches(LinkType::ETHERNET, &frame, 64);
//! # Ok::<(), weir_capture::filter::FilterError>(())
//! ```

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use weir_decode::LinkType;

/// One classic-BPF instruction, laid out as `struct bpf_insn` (and `struct sock_filter`), so a program
/// can be handed to `setsockopt(SO_ATTACH_FILTER)` as is.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BpfInsn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

impl BpfInsn {
    pub const fn new(code: u16, jt: u8, jf: u8, k: u32) -> BpfInsn {
        BpfInsn { code, jt, jf, k }
    }
}

/// Classic-BPF opcode parts (`pcap/bpf.h`).
pub mod op {
    pub const LD: u16 = 0x00;
    pub const LDX: u16 = 0x01;
    pub const ST: u16 = 0x02;
    pub const STX: u16 = 0x03;
    pub const ALU: u16 = 0x04;
    pub const JMP: u16 = 0x05;
    pub const RET: u16 = 0x06;
    pub const MISC: u16 = 0x07;
    pub const W: u16 = 0x00;
    pub const H: u16 = 0x08;
    pub const B: u16 = 0x10;
    pub const IMM: u16 = 0x00;
    pub const ABS: u16 = 0x20;
    pub const IND: u16 = 0x40;
    pub const MEM: u16 = 0x60;
    pub const LEN: u16 = 0x80;
    pub const MSH: u16 = 0xa0;
    pub const ADD: u16 = 0x00;
    pub const SUB: u16 = 0x10;
    pub const MUL: u16 = 0x20;
    pub const DIV: u16 = 0x30;
    pub const OR: u16 = 0x40;
    pub const AND: u16 = 0x50;
    pub const LSH: u16 = 0x60;
    pub const RSH: u16 = 0x70;
    pub const NEG: u16 = 0x80;
    pub const MOD: u16 = 0x90;
    pub const XOR: u16 = 0xa0;
    pub const JA: u16 = 0x00;
    pub const JEQ: u16 = 0x10;
    pub const JGT: u16 = 0x20;
    pub const JGE: u16 = 0x30;
    pub const JSET: u16 = 0x40;
    pub const K: u16 = 0x00;
    pub const X: u16 = 0x08;
    pub const A: u16 = 0x10;
    pub const TAX: u16 = 0x00;
    pub const TXA: u16 = 0x80;
}

/// Longest program accepted: `BPF_MAXINSNS`, the limit of libpcap's `bpf_validate` and of the kernel.
pub const MAX_INSNS: usize = 4096;
/// Scratch memory words: `BPF_MEMWORDS`.
pub const MEM_WORDS: usize = 16;
/// Snapshot length given to `pcap_open_dead`: libpcap's `MAXIMUM_SNAPLEN`. It only sets the value an
/// accepting program returns; any non-zero return is a match.
const COMPILE_SNAPLEN: c_int = 262_144;
/// `PCAP_NETMASK_UNKNOWN`: what Zeek passes for file sources (only `ip broadcast` needs a netmask).
const NETMASK_UNKNOWN: u32 = 0xffff_ffff;

/// Why a filter could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilterError {
    /// libpcap could not be loaded.
    LibpcapMissing { tried: String },
    /// libpcap refused the expression; `message` is libpcap's.
    Compile {
        expr: String,
        link: LinkType,
        message: String,
    },
    /// The program is not valid classic BPF.
    Invalid { at: usize, message: String },
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterError::LibpcapMissing { tried } => write!(
                f,
                "filter expressions need libpcap at run time, and it could not be loaded ({tried}); \
                 install it with `apt-get install libpcap0.8`"
            ),
            FilterError::Compile { expr, link, message } => {
                write!(f, "bad filter expression '{expr}' (link type {}): {message}", link.0)
            }
            FilterError::Invalid { at, message } => write!(f, "invalid BPF program at instruction {at}: {message}"),
        }
    }
}

impl std::error::Error for FilterError {}

/// A decoded instruction: opcodes are checked once, so the interpreter has no invalid cases.
#[derive(Clone, Copy, Debug)]
enum Ins {
    LdAbs(Size, u32),
    LdInd(Size, u32),
    LdLen,
    LdImm(u32),
    LdMem(usize),
    LdxImm(u32),
    LdxMem(usize),
    LdxLen,
    LdxMsh(u32),
    St(usize),
    Stx(usize),
    AluK(Alu, u32),
    AluX(Alu),
    Neg,
    Ja(u32),
    Jmp(Cond, Src, u32, u8, u8),
    RetK(u32),
    RetA,
    Tax,
    Txa,
}

#[derive(Clone, Copy, Debug)]
enum Size {
    W,
    H,
    B,
}

#[derive(Clone, Copy, Debug)]
enum Alu {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Or,
    And,
    Xor,
    Lsh,
    Rsh,
}

#[derive(Clone, Copy, Debug)]
enum Cond {
    Eq,
    Gt,
    Ge,
    Set,
}

#[derive(Clone, Copy, Debug)]
enum Src {
    K,
    X,
}

/// A validated classic-BPF program.
#[derive(Clone, Debug)]
pub struct Program {
    insns: Vec<BpfInsn>,
    decoded: Vec<Ins>,
}

impl Program {
    /// Validates `insns` as libpcap's `bpf_validate` and the kernel's checker do: known opcodes only,
    /// scratch-memory indices below 16, no constant division by zero or shift by 32 or more, jumps that
    /// land inside the program (forward only), and a return as the last instruction.
    pub fn new(insns: Vec<BpfInsn>) -> Result<Program, FilterError> {
        let len = insns.len();
        if len == 0 || len > MAX_INSNS {
            return Err(FilterError::Invalid {
                at: 0,
                message: format!("{len} instructions (1 to {MAX_INSNS})"),
            });
        }
        let mut decoded = Vec::with_capacity(len);
        for (i, ins) in insns.iter().enumerate() {
            let bad = |m: &str| FilterError::Invalid {
                at: i,
                message: format!("{m} (code {:#06x})", ins.code),
            };
            let c = ins.code;
            let k = ins.k;
            let class = c & 0x07;
            if c > 0xff {
                return Err(bad("unknown instruction"));
            }
            let mem = |k: u32| -> Result<usize, FilterError> {
                if (k as usize) < MEM_WORDS {
                    Ok(k as usize)
                } else {
                    Err(bad("scratch memory index out of range"))
                }
            };
            let size = |c: u16| match c & 0x18 {
                op::W => Some(Size::W),
                op::H => Some(Size::H),
                op::B => Some(Size::B),
                _ => None,
            };
            let d = match class {
                op::LD => match (c & 0xe0, size(c)) {
                    (op::ABS, Some(s)) => Ins::LdAbs(s, k),
                    (op::IND, Some(s)) => Ins::LdInd(s, k),
                    (op::LEN, Some(Size::W)) => Ins::LdLen,
                    (op::IMM, Some(Size::W)) => Ins::LdImm(k),
                    (op::MEM, Some(Size::W)) => Ins::LdMem(mem(k)?),
                    _ => return Err(bad("unknown load")),
                },
                op::LDX => match (c & 0xe0, size(c)) {
                    (op::IMM, Some(Size::W)) => Ins::LdxImm(k),
                    (op::MEM, Some(Size::W)) => Ins::LdxMem(mem(k)?),
                    (op::LEN, Some(Size::W)) => Ins::LdxLen,
                    (op::MSH, Some(Size::B)) => Ins::LdxMsh(k),
                    _ => return Err(bad("unknown index load")),
                },
                op::ST if c == op::ST => Ins::St(mem(k)?),
                op::STX if c == op::STX => Ins::Stx(mem(k)?),
                op::ALU if c == op::ALU | op::NEG => Ins::Neg,
                op::ALU => {
                    let alu = match c & 0xf0 {
                        op::ADD => Alu::Add,
                        op::SUB => Alu::Sub,
                        op::MUL => Alu::Mul,
                        op::DIV => Alu::Div,
                        op::MOD => Alu::Mod,
                        op::OR => Alu::Or,
                        op::AND => Alu::And,
                        op::XOR => Alu::Xor,
                        op::LSH => Alu::Lsh,
                        op::RSH => Alu::Rsh,
                        _ => return Err(bad("unknown ALU operation")),
                    };
                    if c & op::X != 0 {
                        Ins::AluX(alu)
                    } else if matches!(alu, Alu::Div | Alu::Mod) && k == 0 {
                        return Err(bad("division by constant zero"));
                    } else if matches!(alu, Alu::Lsh | Alu::Rsh) && k >= 32 {
                        return Err(bad("shift by 32 or more"));
                    } else {
                        Ins::AluK(alu, k)
                    }
                }
                op::JMP if c == op::JMP | op::JA => {
                    if (k as usize) >= len - (i + 1) {
                        return Err(bad("jump out of the program"));
                    }
                    Ins::Ja(k)
                }
                op::JMP => {
                    let cond = match c & 0xf0 {
                        op::JEQ => Cond::Eq,
                        op::JGT => Cond::Gt,
                        op::JGE => Cond::Ge,
                        op::JSET => Cond::Set,
                        _ => return Err(bad("unknown jump")),
                    };
                    let from = i + 1;
                    if from + ins.jt as usize >= len || from + ins.jf as usize >= len {
                        return Err(bad("jump out of the program"));
                    }
                    let src = if c & op::X != 0 { Src::X } else { Src::K };
                    Ins::Jmp(cond, src, k, ins.jt, ins.jf)
                }
                op::RET => match c & 0x18 {
                    op::K if c == op::RET | op::K => Ins::RetK(k),
                    op::A if c == op::RET | op::A => Ins::RetA,
                    _ => return Err(bad("unknown return")),
                },
                op::MISC => match c {
                    x if x == op::MISC | op::TAX => Ins::Tax,
                    x if x == op::MISC | op::TXA => Ins::Txa,
                    _ => return Err(bad("unknown misc operation")),
                },
                _ => return Err(bad("unknown instruction")),
            };
            decoded.push(d);
        }
        if !matches!(decoded[len - 1], Ins::RetK(_) | Ins::RetA) {
            return Err(FilterError::Invalid {
                at: len - 1,
                message: "the program does not end with a return".into(),
            });
        }
        Ok(Program { insns, decoded })
    }

    /// The instructions, as libpcap emitted them (to attach to a socket).
    pub fn insns(&self) -> &[BpfInsn] {
        &self.insns
    }

    /// Runs the program over a packet's captured bytes; `wire_len` is what `len` loads. Returns the
    /// program's result (0 = reject, otherwise the number of bytes to keep), as libpcap's `bpf_filter`.
    pub fn run(&self, pkt: &[u8], wire_len: u32) -> u32 {
        let (mut a, mut x) = (0u32, 0u32);
        let mut mem = [0u32; MEM_WORDS];
        let mut pc = 0usize;
        // Validation guarantees every jump lands inside the program and the last instruction returns,
        // so `pc` always indexes `decoded`; `get` keeps that an invariant rather than a panic.
        while let Some(&ins) = self.decoded.get(pc) {
            pc += 1;
            match ins {
                Ins::RetK(k) => return k,
                Ins::RetA => return a,
                Ins::LdAbs(s, k) => match load(pkt, s, k as u64) {
                    Some(v) => a = v,
                    None => return 0,
                },
                Ins::LdInd(s, k) => match load(pkt, s, x as u64 + k as u64) {
                    Some(v) => a = v,
                    None => return 0,
                },
                Ins::LdLen => a = wire_len,
                Ins::LdImm(k) => a = k,
                Ins::LdMem(m) => a = mem[m],
                Ins::LdxImm(k) => x = k,
                Ins::LdxMem(m) => x = mem[m],
                Ins::LdxLen => x = wire_len,
                Ins::LdxMsh(k) => match pkt.get(k as usize) {
                    Some(b) => x = ((b & 0x0f) as u32) << 2,
                    None => return 0,
                },
                Ins::St(m) => mem[m] = a,
                Ins::Stx(m) => mem[m] = x,
                Ins::AluK(op, k) => a = alu(op, a, k).unwrap_or(0),
                Ins::AluX(op) => match alu(op, a, x) {
                    Some(v) => a = v,
                    None => return 0, // division by zero ends the program with 0, as in libpcap
                },
                Ins::Neg => a = a.wrapping_neg(),
                Ins::Ja(k) => pc += k as usize,
                Ins::Jmp(cond, src, k, jt, jf) => {
                    let v = match src {
                        Src::K => k,
                        Src::X => x,
                    };
                    let taken = match cond {
                        Cond::Eq => a == v,
                        Cond::Gt => a > v,
                        Cond::Ge => a >= v,
                        Cond::Set => a & v != 0,
                    };
                    pc += if taken { jt as usize } else { jf as usize };
                }
                Ins::Tax => x = a,
                Ins::Txa => a = x,
            }
        }
        0
    }

    /// True when the program accepts the packet (returns non-zero).
    pub fn matches(&self, pkt: &[u8], wire_len: u32) -> bool {
        self.run(pkt, wire_len) != 0
    }
}

/// A big-endian load of `s` bytes at offset `k`, or `None` when any byte is outside `pkt`.
fn load(pkt: &[u8], s: Size, k: u64) -> Option<u32> {
    let n = match s {
        Size::W => 4,
        Size::H => 2,
        Size::B => 1,
    };
    let start = usize::try_from(k).ok()?;
    let b = pkt.get(start..start.checked_add(n)?)?;
    Some(match s {
        Size::W => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        Size::H => u16::from_be_bytes([b[0], b[1]]) as u32,
        Size::B => b[0] as u32,
    })
}

/// `None` for division or modulo by zero.
fn alu(op: Alu, a: u32, v: u32) -> Option<u32> {
    Some(match op {
        Alu::Add => a.wrapping_add(v),
        Alu::Sub => a.wrapping_sub(v),
        Alu::Mul => a.wrapping_mul(v),
        Alu::Div => a.checked_div(v)?,
        Alu::Mod => a.checked_rem(v)?,
        Alu::Or => a | v,
        Alu::And => a & v,
        Alu::Xor => a ^ v,
        // Shift counts of 32 or more give 0, as libpcap does them in software.
        Alu::Lsh => a.checked_shl(v).unwrap_or(0),
        Alu::Rsh => a.checked_shr(v).unwrap_or(0),
    })
}

// ---- libpcap, loaded at run time ----

#[repr(C)]
struct BpfProgram {
    bf_len: c_uint,
    bf_insns: *mut BpfInsn,
}

type OpenDead = unsafe extern "C" fn(c_int, c_int) -> *mut c_void;
type Compile = unsafe extern "C" fn(*mut c_void, *mut BpfProgram, *const c_char, c_int, u32) -> c_int;
type GetErr = unsafe extern "C" fn(*mut c_void) -> *mut c_char;
type FreeCode = unsafe extern "C" fn(*mut BpfProgram);
type Close = unsafe extern "C" fn(*mut c_void);

struct Libpcap {
    open_dead: OpenDead,
    compile: Compile,
    geterr: GetErr,
    freecode: FreeCode,
    close: Close,
    /// Keeps the library mapped while the function pointers above are used.
    _lib: libloading::Library,
}

/// Library names tried in order: the runtime package's soname first.
const LIBPCAP_NAMES: [&str; 3] = ["libpcap.so.1", "libpcap.so.0.8", "libpcap.so"];

fn libpcap() -> Result<&'static Libpcap, FilterError> {
    static LIB: OnceLock<Result<Libpcap, String>> = OnceLock::new();
    LIB.get_or_init(load_libpcap)
        .as_ref()
        .map_err(|tried| FilterError::LibpcapMissing { tried: tried.clone() })
}

fn load_libpcap() -> Result<Libpcap, String> {
    let mut tried = Vec::new();
    for name in LIBPCAP_NAMES {
        // SAFETY: loading libpcap runs its (trivial) initialisers; it is a well-known system library.
        let lib = match unsafe { libloading::Library::new(name) } {
            Ok(l) => l,
            Err(e) => {
                tried.push(format!("{name}: {e}"));
                continue;
            }
        };
        // SAFETY: the types match libpcap's prototypes in pcap/pcap.h; the pointers stay valid while
        // `_lib` keeps the library loaded, which is for the life of the process (a static).
        let syms = unsafe {
            (|| -> Result<Libpcap, libloading::Error> {
                Ok(Libpcap {
                    open_dead: *lib.get::<OpenDead>(b"pcap_open_dead\0")?,
                    compile: *lib.get::<Compile>(b"pcap_compile\0")?,
                    geterr: *lib.get::<GetErr>(b"pcap_geterr\0")?,
                    freecode: *lib.get::<FreeCode>(b"pcap_freecode\0")?,
                    close: *lib.get::<Close>(b"pcap_close\0")?,
                    _lib: lib,
                })
            })()
        };
        match syms {
            Ok(l) => return Ok(l),
            Err(e) => tried.push(format!("{name}: {e}")),
        }
    }
    Err(tried.join("; "))
}

/// libpcap's `linktype_to_dlt`: the few LINKTYPE_ values that differ from the DLT_ value libpcap's
/// compiler expects on Linux.
fn linktype_to_dlt(link: LinkType) -> c_int {
    match link.0 {
        101 => 12, // LINKTYPE_RAW -> DLT_RAW
        102 => 15, // SLIP_BSDOS
        103 => 16, // PPP_BSDOS
        106 => 19, // ATM_CLIP
        n => n as c_int,
    }
}

/// Compiles `expr` for one link type with libpcap and validates the result.
pub fn compile(expr: &str, link: LinkType) -> Result<Program, FilterError> {
    let lib = libpcap()?;
    let cexpr = CString::new(expr).map_err(|_| FilterError::Compile {
        expr: expr.to_string(),
        link,
        message: "the expression contains a NUL byte".into(),
    })?;
    // libpcap's compiler kept global state before 1.8; serialise calls to be safe with any version.
    static COMPILE_LOCK: Mutex<()> = Mutex::new(());
    let _guard = COMPILE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let compile_err = |message: String| FilterError::Compile {
        expr: expr.to_string(),
        link,
        message,
    };
    // SAFETY: calls follow libpcap's documented protocol: open_dead, compile into a zeroed program,
    // copy the instructions out, freecode, close. Pointers are checked for null before use.
    unsafe {
        let p = (lib.open_dead)(linktype_to_dlt(link), COMPILE_SNAPLEN);
        if p.is_null() {
            return Err(compile_err("pcap_open_dead failed".into()));
        }
        let mut prog = BpfProgram {
            bf_len: 0,
            bf_insns: std::ptr::null_mut(),
        };
        let rc = (lib.compile)(p, &mut prog, cexpr.as_ptr(), 1, NETMASK_UNKNOWN);
        if rc != 0 {
            let msg = (lib.geterr)(p);
            let message = if msg.is_null() {
                "pcap_compile failed".to_string()
            } else {
                CStr::from_ptr(msg).to_string_lossy().into_owned()
            };
            (lib.close)(p);
            return Err(compile_err(message));
        }
        let insns = if prog.bf_insns.is_null() || prog.bf_len == 0 {
            Vec::new()
        } else {
            std::slice::from_raw_parts(prog.bf_insns, prog.bf_len as usize).to_vec()
        };
        (lib.freecode)(&mut prog);
        (lib.close)(p);
        Program::new(insns)
    }
}

/// The outcome of compiling for one link type, kept so a failure is not retried per packet.
type Compiled = Result<Arc<Program>, FilterError>;

/// A filter expression, compiled lazily per link type. One per reader thread (it is `Send`, not `Sync`).
pub struct Filter {
    expr: String,
    programs: RefCell<Vec<(LinkType, Compiled)>>,
}

impl Filter {
    /// Compiles `expr` for Ethernet now, so a bad expression is reported before any packet is read.
    /// Use [`Filter::with_link`] when the input's first link type is known.
    pub fn new(expr: &str) -> Result<Filter, FilterError> {
        Filter::with_link(expr, LinkType::ETHERNET)
    }

    /// Compiles `expr` for `link` now (reporting libpcap's message for a bad expression).
    pub fn with_link(expr: &str, link: LinkType) -> Result<Filter, FilterError> {
        let prog = compile(expr, link)?;
        Ok(Filter {
            expr: expr.to_string(),
            programs: RefCell::new(vec![(link, Ok(Arc::new(prog)))]),
        })
    }

    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The program for `link`, compiling it the first time. An error is remembered (and returned again).
    pub fn program(&self, link: LinkType) -> Result<Arc<Program>, FilterError> {
        if let Some((_, p)) = self.programs.borrow().iter().find(|(l, _)| *l == link) {
            return p.clone();
        }
        let p = compile(&self.expr, link).map(Arc::new);
        self.programs.borrow_mut().push((link, p.clone()));
        p
    }

    /// True when the packet passes the filter. A link type for which the expression does not compile
    /// (e.g. `ether host ..` on raw IP) matches nothing; [`Filter::program`] gives the reason.
    pub fn matches(&self, link: LinkType, data: &[u8], wire_len: u32) -> bool {
        {
            let progs = self.programs.borrow();
            if let Some((_, p)) = progs.iter().find(|(l, _)| *l == link) {
                return matches!(p, Ok(p) if p.matches(data, wire_len));
            }
        }
        match self.program(link) {
            Ok(p) => p.matches(data, wire_len),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
