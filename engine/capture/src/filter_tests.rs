//! Filter tests: the interpreter on hand-written programs, validation, and libpcap-compiled expressions
//! over corpus traces (these need libpcap at run time: `scripts/install-test-deps`).

use super::op::*;
use super::*;
use crate::PcapReader;

fn i(code: u16, jt: u8, jf: u8, k: u32) -> BpfInsn {
    BpfInsn::new(code, jt, jf, k)
}

fn prog(v: &[BpfInsn]) -> Program {
    Program::new(v.to_vec()).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `ops` (which leave a result in A) followed by `ret A`.
fn eval(ops: &[BpfInsn], pkt: &[u8]) -> u32 {
    let mut v = ops.to_vec();
    v.push(i(RET | A, 0, 0, 0));
    prog(&v).run(pkt, 1000)
}

#[test]
fn loads() {
    let pkt = [0x12, 0x34, 0x56, 0x78, 0x9a, 0x45];
    assert_eq!(eval(&[i(LD | W | ABS, 0, 0, 0)], &pkt), 0x1234_5678);
    assert_eq!(eval(&[i(LD | H | ABS, 0, 0, 2)], &pkt), 0x5678);
    assert_eq!(eval(&[i(LD | B | ABS, 0, 0, 5)], &pkt), 0x45);
    assert_eq!(eval(&[i(LDX | IMM, 0, 0, 1), i(LD | H | IND, 0, 0, 1)], &pkt), 0x5678);
    assert_eq!(eval(&[i(LDX | B | MSH, 0, 0, 5), i(MISC | TXA, 0, 0, 0)], &pkt), 0x14);
    assert_eq!(eval(&[i(LD | W | LEN, 0, 0, 0)], &pkt), 1000);
    assert_eq!(eval(&[i(LDX | W | LEN, 0, 0, 0), i(MISC | TXA, 0, 0, 0)], &pkt), 1000);
    assert_eq!(eval(&[i(LD | IMM, 0, 0, 77)], &pkt), 77);
    assert_eq!(
        eval(
            &[
                i(LD | IMM, 0, 0, 5),
                i(ST, 0, 0, 15),
                i(LD | IMM, 0, 0, 0),
                i(LD | MEM, 0, 0, 15)
            ],
            &pkt
        ),
        5
    );
    assert_eq!(
        eval(
            &[
                i(LDX | IMM, 0, 0, 9),
                i(STX, 0, 0, 3),
                i(LDX | IMM, 0, 0, 0),
                i(LDX | MEM, 0, 0, 3),
                i(MISC | TXA, 0, 0, 0)
            ],
            &pkt
        ),
        9
    );
    // Scratch memory starts zeroed.
    assert_eq!(eval(&[i(LD | IMM, 0, 0, 5), i(LD | MEM, 0, 0, 7)], &pkt), 0);
}

#[test]
fn out_of_bounds_loads_reject() {
    let pkt = [1u8, 2, 3, 4];
    // Each would leave a non-zero A; an out-of-bounds load ends the program with 0 instead.
    let cases: [&[BpfInsn]; 7] = [
        &[i(LD | IMM, 0, 0, 1), i(LD | W | ABS, 0, 0, 1)],
        &[i(LD | IMM, 0, 0, 1), i(LD | H | ABS, 0, 0, 3)],
        &[i(LD | IMM, 0, 0, 1), i(LD | B | ABS, 0, 0, 4)],
        &[i(LD | IMM, 0, 0, 1), i(LD | W | ABS, 0, 0, u32::MAX)],
        &[
            i(LD | IMM, 0, 0, 1),
            i(LDX | IMM, 0, 0, u32::MAX),
            i(LD | B | IND, 0, 0, 2),
        ],
        &[i(LD | IMM, 0, 0, 1), i(LDX | IMM, 0, 0, 2), i(LD | W | IND, 0, 0, 0)],
        &[i(LD | IMM, 0, 0, 1), i(LDX | B | MSH, 0, 0, 4)],
    ];
    for c in cases {
        assert_eq!(eval(c, &pkt), 0, "{c:?}");
    }
    // In bounds at the very end.
    assert_eq!(eval(&[i(LD | W | ABS, 0, 0, 0)], &pkt), 0x0102_0304);
    assert_eq!(eval(&[i(LD | B | ABS, 0, 0, 3)], &pkt), 4);
}

#[test]
fn alu() {
    let k = |op: u16, a: u32, k: u32| eval(&[i(LD | IMM, 0, 0, a), i(ALU | op | K, 0, 0, k)], &[]);
    let x = |op: u16, a: u32, x: u32| {
        eval(
            &[i(LD | IMM, 0, 0, a), i(LDX | IMM, 0, 0, x), i(ALU | op | X, 0, 0, 0)],
            &[],
        )
    };
    for f in [k, x] {
        assert_eq!(f(ADD, u32::MAX, 2), 1);
        assert_eq!(f(SUB, 1, 2), u32::MAX);
        assert_eq!(f(MUL, 0x8000_0000, 2), 0);
        assert_eq!(f(DIV, 7, 2), 3);
        assert_eq!(f(MOD, 7, 4), 3);
        assert_eq!(f(OR, 0xf0, 0x0f), 0xff);
        assert_eq!(f(AND, 0xf0, 0x3c), 0x30);
        assert_eq!(f(XOR, 0xff, 0x0f), 0xf0);
        assert_eq!(f(LSH, 1, 31), 0x8000_0000);
        assert_eq!(f(RSH, 0x8000_0000, 31), 1);
    }
    assert_eq!(x(LSH, 1, 32), 0);
    assert_eq!(x(RSH, 1, 40), 0);
    // Division or modulo by X == 0 ends the program with 0.
    let before = |op| {
        eval(
            &[i(LD | IMM, 0, 0, 9), i(LDX | IMM, 0, 0, 0), i(ALU | op | X, 0, 0, 0)],
            &[],
        )
    };
    assert_eq!(before(DIV), 0);
    assert_eq!(before(MOD), 0);
    assert_eq!(eval(&[i(LD | IMM, 0, 0, 1), i(ALU | NEG, 0, 0, 0)], &[]), u32::MAX);
    assert_eq!(
        eval(
            &[
                i(LD | IMM, 0, 0, 6),
                i(MISC | TAX, 0, 0, 0),
                i(LD | IMM, 0, 0, 0),
                i(MISC | TXA, 0, 0, 0)
            ],
            &[]
        ),
        6
    );
}

#[test]
fn jumps_and_returns() {
    // if A <cond> 5 then ret 1 else ret 2
    let j = |cond: u16, a: u32, src_x: bool| {
        let src = if src_x { X } else { K };
        prog(&[
            i(LD | IMM, 0, 0, a),
            i(LDX | IMM, 0, 0, 5),
            i(JMP | cond | src, 0, 1, 5),
            i(RET | K, 0, 0, 1),
            i(RET | K, 0, 0, 2),
        ])
        .run(&[], 0)
    };
    for x in [false, true] {
        assert_eq!(j(JEQ, 5, x), 1);
        assert_eq!(j(JEQ, 4, x), 2);
        assert_eq!(j(JGT, 6, x), 1);
        assert_eq!(j(JGT, 5, x), 2);
        assert_eq!(j(JGE, 5, x), 1);
        assert_eq!(j(JGE, 4, x), 2);
        assert_eq!(j(JSET, 4, x), 1);
        assert_eq!(j(JSET, 2, x), 2);
    }
    let ja = prog(&[i(JMP | JA, 0, 0, 1), i(RET | K, 0, 0, 1), i(RET | K, 0, 0, 2)]);
    assert_eq!(ja.run(&[], 0), 2);
    assert!(!prog(&[i(RET | K, 0, 0, 0)]).matches(&[], 0));
    assert!(prog(&[i(RET | K, 0, 0, 262144)]).matches(&[], 0));
}

#[test]
fn validation_refuses_bad_programs() {
    let bad: [&[BpfInsn]; 12] = [
        &[],
        &[i(LD | IMM, 0, 0, 0)],                            // no return at the end
        &[i(JMP | JA, 0, 0, 1), i(RET | K, 0, 0, 0)],       // jump past the end
        &[i(JMP | JEQ | K, 1, 0, 0), i(RET | K, 0, 0, 0)],  // jt past the end
        &[i(JMP | JEQ | K, 0, 1, 0), i(RET | K, 0, 0, 0)],  // jf past the end
        &[i(LD | MEM, 0, 0, 16), i(RET | K, 0, 0, 0)],      // scratch index
        &[i(ST, 0, 0, 16), i(RET | K, 0, 0, 0)],            // scratch index
        &[i(ALU | DIV | K, 0, 0, 0), i(RET | K, 0, 0, 0)],  // division by constant 0
        &[i(ALU | LSH | K, 0, 0, 32), i(RET | K, 0, 0, 0)], // shift by 32
        &[i(0xff, 0, 0, 0), i(RET | K, 0, 0, 0)],           // unknown opcode
        &[i(LDX | W | ABS, 0, 0, 0), i(RET | K, 0, 0, 0)],  // LDX has no ABS mode
        &[i(ALU | 0xb0, 0, 0, 0), i(RET | K, 0, 0, 0)],     // unknown ALU op
    ];
    for p in bad {
        assert!(Program::new(p.to_vec()).is_err(), "{p:?}");
    }
    let too_long = vec![i(RET | K, 0, 0, 0); MAX_INSNS + 1];
    assert!(Program::new(too_long).is_err());
    let e = Program::new(vec![i(LD | IMM, 0, 0, 0)]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid BPF program at instruction 0: the program does not end with a return"
    );
}

fn trace_path(rel: &str) -> String {
    format!("{}/../../testdata/zeek/traces/{rel}", env!("CARGO_MANIFEST_DIR"))
}

fn count(f: &Filter, rel: &str) -> usize {
    let mut r = PcapReader::open(&trace_path(rel)).unwrap();
    let mut n = 0;
    while let Some(p) = r.next_packet().unwrap() {
        n += usize::from(f.matches(p.link, p.data, p.wire_len));
    }
    n
}

#[test]
fn libpcap_expressions_over_a_trace() {
    // Expected counts from an independent parse of wikipedia.pcap (Ethernet: 121 IPv4, 5 IPv6 (all
    // UDP), 6 ARP; 78 TCP packets all on port 80; 43 UDP over IPv4, 28 of them DNS).
    for (expr, n) in [
        ("tcp port 80", 78),
        ("udp", 48),
        ("arp", 6),
        ("ip6", 5),
        ("ip and udp port 53", 28),
        ("", 136),
        ("not tcp", 58),
        ("greater 1000", 0),
    ] {
        let f = Filter::new(expr).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(count(&f, "wikipedia.pcap"), n, "{expr}");
    }
    // The greater/less tests use the wire length.
    let f = Filter::new("less 64").unwrap();
    let mut r = PcapReader::open(&trace_path("wikipedia.pcap")).unwrap();
    while let Some(p) = r.next_packet().unwrap() {
        assert_eq!(f.matches(p.link, p.data, p.wire_len), p.wire_len <= 64);
    }
    // pcapng traces too.
    let f = Filter::new("tcp").unwrap();
    assert_eq!(count(&f, "tcp/http-on-irc-port-missing-syn.pcapng"), 13);
    assert_eq!(count(&Filter::new("").unwrap(), "pcapng-multi-interface.pcapng"), 6);
}

#[test]
fn libpcap_program_is_exposed_and_per_link_type() {
    let f = Filter::new("tcp port 80").unwrap();
    let eth = f.program(LinkType::ETHERNET).unwrap();
    // libpcap's Ethernet program starts by loading the EtherType at offset 12.
    assert_eq!(eth.insns()[0], BpfInsn::new(LD | H | ABS, 0, 0, 12));
    let raw = f.program(LinkType::RAW).unwrap();
    assert_ne!(raw.insns(), eth.insns());
    // A raw IPv4 TCP packet to port 80 on link type 101 (LINKTYPE_RAW, compiled as DLT_RAW).
    let mut pkt = vec![0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
    pkt.extend_from_slice(&[
        0x30, 0x39, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
    ]);
    assert!(f.matches(LinkType::RAW, &pkt, 40));
    pkt[23] = 81;
    assert!(!f.matches(LinkType::RAW, &pkt, 40));
    // Truncated capture: the port is beyond caplen, so the load fails and the packet is rejected.
    pkt[23] = 80;
    assert!(!f.matches(LinkType::RAW, &pkt[..22], 40));
}

#[test]
fn bad_expression_reports_libpcaps_message() {
    let e = Filter::new("tcp port eighty").err().unwrap();
    let FilterError::Compile { ref message, .. } = e else {
        panic!("{e:?}")
    };
    assert!(!message.is_empty());
    let s = e.to_string();
    assert!(
        s.starts_with("bad filter expression 'tcp port eighty' (link type 1): "),
        "{s}"
    );
    assert!(s.contains("eighty"), "libpcap's message names the bad token: {s}");
    let e = Filter::new("host (").err().unwrap();
    assert!(e.to_string().contains("syntax error"), "{e}");
    // An expression that compiles for Ethernet but not for raw IP matches nothing there.
    let f = Filter::new("ether host 00:11:22:33:44:55").unwrap();
    assert!(f.program(LinkType::RAW).is_err());
    assert!(!f.matches(LinkType::RAW, &[0x45; 40], 40));
}

#[test]
fn libpcap_missing_message() {
    let e = FilterError::LibpcapMissing {
        tried: "libpcap.so.1: not found".into(),
    };
    let s = e.to_string();
    assert!(
        s.contains("need libpcap") && s.contains("apt-get install libpcap0.8"),
        "{s}"
    );
}

#[test]
fn thread_safety_of_the_public_types() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<Filter>(); // one per reader thread
    send::<Program>();
    sync::<Program>(); // a compiled program can be shared
    send::<PcapReader>();
    send::<crate::CaptureError>();
}
