//! The analyzer through the public API with hand-made messages: TCP framing (messages split across
//! segments, several in one segment), request/reply matching corner cases, limits and the self-flip.

#[allow(dead_code)]
mod common;

use common::*;
use core::net::IpAddr;
use weir_api::Analyzer;
use weir_dns::{DnsAnalyzer, DnsConfig, DNS};

/// A message: header fields, questions (name, type), answers (name, A address, ttl).
fn msg(id: u16, flags: u16, qs: &[&str], ans: &[(&str, [u8; 4], u32)]) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&flags.to_be_bytes());
    m.extend_from_slice(&(qs.len() as u16).to_be_bytes());
    m.extend_from_slice(&(ans.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    let name = |m: &mut Vec<u8>, n: &str| {
        for l in n.split('.').filter(|l| !l.is_empty()) {
            m.push(l.len() as u8);
            m.extend_from_slice(l.as_bytes());
        }
        m.push(0);
    };
    for q in qs {
        name(&mut m, q);
        m.extend_from_slice(&[0, 1, 0, 1]);
    }
    for (n, a, ttl) in ans {
        name(&mut m, n);
        m.extend_from_slice(&[0, 1, 0, 1]);
        m.extend_from_slice(&ttl.to_be_bytes());
        m.extend_from_slice(&[0, 4]);
        m.extend_from_slice(a);
    }
    m
}

const Q: u16 = 0x0100; // RD
const R: u16 = 0x8180; // QR RD RA

struct Run {
    rows: Vec<Vec<String>>,
    rec: Recorded,
}

/// Feeds (is_orig, time, bytes) to one analyzer and returns its dns.log rows (split into fields).
fn feed(tcp: bool, cfg: DnsConfig, items: &[(bool, f64, Vec<u8>)], orig_p: u16, resp_p: u16) -> Run {
    let schema = cfg.schema();
    let mut a = DnsAnalyzer::new(cfg);
    let mut cx = MockCx {
        uid: "CTest".into(),
        orig_h: "10.0.0.1".parse::<IpAddr>().unwrap(),
        orig_p,
        resp_h: "10.0.0.2".parse::<IpAddr>().unwrap(),
        resp_p,
        tcp,
        start: 1.0,
        now: 1.0,
        schema: &schema,
        rec: Recorded::default(),
        timer: None,
        remove: false,
        flip_req: false,
        last: 1.0,
    };
    for (o, t, d) in items {
        cx.now = *t;
        if tcp {
            a.deliver_stream(&mut cx, *o, d);
        } else {
            a.deliver_packet(&mut cx, *o, d);
        }
    }
    a.done(&mut cx);
    let rows = cx
        .rec
        .rows
        .iter()
        .map(|r| r.split('\t').map(str::to_string).collect())
        .collect();
    Run { rows, rec: cx.rec }
}

fn col(r: &[String], name: &str) -> String {
    let s = weir_dns::schema(false, false);
    r[s.index_of(name).unwrap()].clone()
}

fn framed(m: &[u8]) -> Vec<u8> {
    let mut v = (m.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(m);
    v
}

#[test]
fn registration() {
    assert_eq!(DNS.name, "dns");
    assert!(DNS.probe.is_none());
    let s = (DNS.logs)(&weir_api::Settings::new());
    assert_eq!(s[0].path, "dns");
    let types: Vec<String> = s[0].fields.iter().map(|f| f.ty.zeek_name()).collect();
    assert_eq!(
        types.join("\t"),
        "time\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount\tstring\tcount\t\
         string\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool\tcount\tstring"
    );
    let mut set = weir_api::Settings::new();
    set.insert("dns_max_queries", "3");
    let _ = (DNS.new)(&set);
}

#[test]
fn udp_query_and_reply() {
    let r = feed(
        false,
        DnsConfig::default(),
        &[
            (true, 1.0, msg(7, Q, &["Example.COM"], &[])),
            (
                false,
                1.5,
                msg(7, R, &["example.com"], &[("example.com", [1, 2, 3, 4], 300)]),
            ),
        ],
        40000,
        53,
    );
    assert_eq!(r.rows.len(), 1);
    let row = &r.rows[0];
    assert_eq!(col(row, "query"), "example.com");
    assert_eq!(col(row, "rtt"), "0.500000");
    assert_eq!(col(row, "answers"), "1.2.3.4");
    assert_eq!(col(row, "TTLs"), "300.000000");
    assert_eq!(col(row, "rcode_name"), "NOERROR");
    assert_eq!(col(row, "qtype_name"), "A");
    assert!(r.rec.confirmed);
}

#[test]
fn tcp_split_and_merged_segments_match_udp() {
    let q1 = msg(1, Q, &["a.example"], &[]);
    let r1 = msg(1, R, &["a.example"], &[("a.example", [1, 1, 1, 1], 60)]);
    let q2 = msg(2, Q, &["b.example"], &[]);
    let r2 = msg(2, R, &["b.example"], &[("b.example", [2, 2, 2, 2], 60)]);
    let udp = feed(
        false,
        DnsConfig::default(),
        &[
            (true, 1.0, q1.clone()),
            (true, 1.0, q2.clone()),
            (false, 2.0, r1.clone()),
            (false, 2.0, r2.clone()),
        ],
        40000,
        53,
    );
    // Originator: both queries in one segment. Responder: both replies cut into 1-byte segments.
    let mut items = vec![(true, 1.0, [framed(&q1), framed(&q2)].concat())];
    for b in [framed(&r1), framed(&r2)].concat() {
        items.push((false, 2.0, vec![b]));
    }
    let tcp = feed(true, DnsConfig::default(), &items, 40000, 53);
    let strip = |rows: &[Vec<String>]| -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| {
                let mut r = r.clone();
                r[6] = String::new(); // proto
                r
            })
            .collect()
    };
    assert_eq!(tcp.rows.len(), 2);
    assert_eq!(strip(&tcp.rows), strip(&udp.rows));
    assert_eq!(col(&tcp.rows[0], "proto"), "tcp");
}

#[test]
fn duplicate_reply_and_reply_without_request() {
    let r = feed(
        false,
        DnsConfig::default(),
        &[
            (true, 1.0, msg(5, Q, &["x.example"], &[])),
            (false, 1.1, msg(5, R, &["x.example"], &[("x.example", [9, 9, 9, 9], 5)])),
            (false, 1.2, msg(5, R, &["x.example"], &[("x.example", [9, 9, 9, 9], 5)])),
            (false, 1.3, msg(6, R, &["y.example"], &[("y.example", [8, 8, 8, 8], 5)])),
        ],
        40000,
        53,
    );
    assert_eq!(r.rows.len(), 3);
    // The duplicate and the unsolicited reply are logged at removal, without qtype (no request seen).
    let unmatched: Vec<_> = r.rows.iter().filter(|x| col(x, "qtype") == "-").collect();
    assert_eq!(unmatched.len(), 2);
    assert!(unmatched.iter().all(|x| col(x, "rtt") == "-"));
}

#[test]
fn unanswered_query_logged_at_removal() {
    let r = feed(
        false,
        DnsConfig::default(),
        &[(true, 1.0, msg(9, Q, &["z.example"], &[]))],
        40000,
        53,
    );
    assert_eq!(r.rows.len(), 1);
    assert_eq!(col(&r.rows[0], "rcode"), "-");
    assert_eq!(col(&r.rows[0], "query"), "z.example");
}

#[test]
fn zero_questions_rejected_and_several_questions() {
    // A reply with an error rcode and no question: rejected.
    let r = feed(
        false,
        DnsConfig::default(),
        &[
            (true, 1.0, msg(3, Q, &["q.example"], &[])),
            (false, 1.1, msg(3, 0x8185, &[], &[])),
        ],
        40000,
        53,
    );
    assert_eq!(r.rows.len(), 1);
    assert_eq!(col(&r.rows[0], "rejected"), "T");
    assert_eq!(col(&r.rows[0], "rcode_name"), "REFUSED");
    // Several questions: dns_request per question, the last one wins (main.zeek overwrites query).
    let r = feed(
        false,
        DnsConfig::default(),
        &[(true, 1.0, msg(4, Q, &["one.example", "two.example"], &[]))],
        40000,
        53,
    );
    assert_eq!(col(&r.rows[0], "query"), "two.example");
}

#[test]
fn max_queries_violation() {
    let mut cfg = DnsConfig::default();
    cfg.interp.max_queries = 1;
    let r = feed(
        false,
        cfg,
        &[(true, 1.0, msg(4, Q, &["one.example", "two.example"], &[]))],
        40000,
        53,
    );
    assert_eq!(r.rec.violations, vec!["DNS_Conn_count_too_large".to_string()]);
    assert!(!r.rec.confirmed);
    assert_eq!(r.rec.history, b"X");
    assert_eq!(r.rec.weirds[0].0, "DNS_Conn_count_too_large");
    assert_eq!(r.rec.weirds[0].1.as_deref(), Some("2 > 1"));
}

#[test]
fn first_message_a_reply_from_the_originator_flips() {
    let r = feed(
        false,
        DnsConfig::default(),
        &[(true, 1.0, msg(1, R, &["f.example"], &[("f.example", [1, 2, 3, 4], 1)]))],
        53,
        40000,
    );
    assert_eq!(r.rows.len(), 1);
    assert_eq!(col(&r.rows[0], "id.orig_h"), "10.0.0.2");
    assert_eq!(col(&r.rows[0], "id.resp_p"), "53");
}

#[test]
fn compression_loop_is_bounded() {
    // A question whose name is a pointer to itself: Zeek's DNS_label_forward_compress_offset.
    let mut m = msg(1, Q, &[], &[]);
    m[5] = 1;
    m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    let r = feed(false, DnsConfig::default(), &[(true, 1.0, m)], 40000, 53);
    assert_eq!(r.rec.weirds[0].0, "DNS_label_forward_compress_offset");
    assert!(!r.rec.confirmed);
}

#[test]
fn flip_request_acknowledged_by_the_engine() {
    let cfg = DnsConfig::default();
    let schema = cfg.schema();
    let mut a = DnsAnalyzer::new(cfg);
    let mut cx = MockCx {
        uid: "CTest".into(),
        orig_h: "10.0.0.1".parse::<IpAddr>().unwrap(),
        orig_p: 53,
        resp_h: "10.0.0.2".parse::<IpAddr>().unwrap(),
        resp_p: 40000,
        tcp: false,
        start: 1.0,
        now: 1.0,
        schema: &schema,
        rec: Recorded::default(),
        timer: None,
        remove: false,
        flip_req: false,
        last: 1.0,
    };
    // A reply from the originator first: the analyzer asks for a flip.
    a.deliver_packet(
        &mut cx,
        true,
        &msg(1, R, &["f.example"], &[("f.example", [1, 2, 3, 4], 1)]),
    );
    assert!(cx.flip_req);
    assert_eq!(cx.timer, Some(11.0));
    // The engine applies it: swapped endpoints, then Analyzer::flip_roles.
    core::mem::swap(&mut cx.orig_h, &mut cx.resp_h);
    core::mem::swap(&mut cx.orig_p, &mut cx.resp_p);
    a.flip_roles();
    assert!(!a.flipped());
    // A query from the new originator (10.0.0.2) and its reply: ids as the engine now has them.
    cx.now = 2.0;
    a.deliver_packet(&mut cx, true, &msg(2, Q, &["g.example"], &[]));
    a.deliver_packet(
        &mut cx,
        false,
        &msg(2, R, &["g.example"], &[("g.example", [5, 6, 7, 8], 1)]),
    );
    a.done(&mut cx);
    assert_eq!(cx.rec.rows.len(), 2);
    for r in &cx.rec.rows {
        let f: Vec<&str> = r.split('\t').collect();
        assert_eq!((f[2], f[3], f[4], f[5]), ("10.0.0.2", "40000", "10.0.0.1", "53"));
    }
}

#[test]
fn udp_session_timer() {
    let cfg = DnsConfig::default();
    let schema = cfg.schema();
    let mut a = DnsAnalyzer::new(cfg);
    let mut cx = MockCx {
        uid: "CTest".into(),
        orig_h: "10.0.0.1".parse::<IpAddr>().unwrap(),
        orig_p: 40000,
        resp_h: "10.0.0.2".parse::<IpAddr>().unwrap(),
        resp_p: 53,
        tcp: false,
        start: 100.0,
        now: 100.0,
        schema: &schema,
        rec: Recorded::default(),
        timer: None,
        remove: false,
        flip_req: false,
        last: 100.0,
    };
    a.deliver_packet(&mut cx, true, &msg(1, Q, &["t.example"], &[]));
    assert_eq!(cx.timer, Some(110.0));
    // Busy 8.5 s ago: not idle enough (needs >= 9 s), reschedule 10 s later.
    cx.last = 101.5;
    cx.timer = None;
    a.timer(&mut cx, 110.0);
    assert_eq!(cx.timer, Some(120.0));
    assert!(!cx.remove);
    a.timer(&mut cx, 120.0);
    assert!(cx.remove);
}
