//! The traffic generator: many concurrent flows, interleaved in time through a priority queue of
//! flows keyed by their next packet's time. Each flow produces its packets one phase at a time
//! (handshake, one request/response, close), so memory depends on the number of concurrent flows
//! and on message sizes, never on the size of the output.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{self, Write};
use std::rc::Rc;

use crate::dns;
use crate::pcap::PcapWriter;
use crate::pkt::{self, Ip, ACK, FIN, PSH, RST, SYN};
use crate::rng::Rng;
use crate::tls;

/// What to generate.
#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    /// Stop after this many packets...
    pub packets: Option<u64>,
    /// ...or once the file has at least this many bytes.
    pub bytes: Option<u64>,
    /// Number of concurrent flows.
    pub connections: usize,
    /// Wrap every frame in VXLAN (UDP 4789) from one outer flow.
    pub vxlan: bool,
    /// Timestamp of the first flow's start, in microseconds since the epoch.
    pub start_time_us: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 1,
            packets: Some(10_000),
            bytes: None,
            connections: 1000,
            vxlan: false,
            start_time_us: 1_700_000_000_000_000,
        }
    }
}

/// What was generated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub packets: u64,
    pub file_bytes: u64,
    pub flows_started: u64,
    pub flows_by_kind: [u64; KINDS.len()],
    pub first_ts_us: u64,
    pub last_ts_us: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Http,
    Tls,
    DnsUdp,
    DnsTcp,
    Ping,
    Unreachable,
    Ntp,
    TcpRejected,
    TcpNoAnswer,
}

pub const KINDS: [Kind; 9] = [
    Kind::Http,
    Kind::Tls,
    Kind::DnsUdp,
    Kind::DnsTcp,
    Kind::Ping,
    Kind::Unreachable,
    Kind::Ntp,
    Kind::TcpRejected,
    Kind::TcpNoAnswer,
];

/// Share of new flows (per mille) by kind, in the order of KINDS.
const MIX: [u32; 9] = [200, 330, 300, 20, 40, 20, 30, 40, 20];

#[derive(Clone, Copy)]
struct Host {
    ip: Ip,
    mac: [u8; 6],
    ttl: u8,
    ip_id: u16,
}

const ROUTER_MAC: [u8; 6] = [0x00, 0x1c, 0x73, 0x5a, 0x10, 0x01];

enum Body {
    Tcp {
        flags: u8,
        seq: u32,
        ack: u32,
        win: u16,
        syn_opts: bool,
        data: Option<(Payload, usize, usize)>,
    },
    Udp(Rc<[u8]>),
    Icmp {
        typ: u8,
        code: u8,
        rest: [u8; 4],
        body: Rc<[u8]>,
    },
}

struct Spec {
    t: u64,
    from_client: bool,
    body: Body,
}

/// A TCP message's bytes: stored, or synthesised on demand from a seed so that large responses
/// cost no memory (a retransmission rebuilds exactly the same bytes).
#[derive(Clone)]
enum Payload {
    Bytes(Rc<[u8]>),
    Synth(Rc<Synth>),
}

impl From<Vec<u8>> for Payload {
    fn from(v: Vec<u8>) -> Self {
        Payload::Bytes(v.into())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Body2 {
    /// Incompressible bytes (images, archives).
    Random,
    /// Text, from a fixed block of HTML/JavaScript-like lines.
    Text,
    /// TLS application_data records of at most 16384 bytes each, random contents.
    TlsRecords,
}

struct Synth {
    /// Bytes before the body (HTTP response headers).
    head: Vec<u8>,
    /// Body length: for TlsRecords, the application data inside the records.
    len: usize,
    body: Body2,
    seed: u64,
}

const TLS_CHUNK: usize = 16384 - 5;
const TEXT: &[u8] = b"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Network monitoring</title>\n<link rel=\"stylesheet\" href=\"/static/site.css\"></head>\n<body class=\"page\"><div id=\"main\"><p>The sensor reads every packet and writes one line per connection.</p>\nfunction update(data) { var n = data.length; for (var i = 0; i < n; i++) { render(data[i]); } return n; }\n.header { margin: 0 auto; padding: 12px 16px; font-family: sans-serif; color: #333; }\n{\"id\": 12345, \"name\": \"example\", \"tags\": [\"alpha\", \"beta\"], \"active\": true}\n</div></body></html>\n";

impl Synth {
    fn body_bytes(&self) -> usize {
        match self.body {
            Body2::TlsRecords => self.len + 5 * self.len.div_ceil(TLS_CHUNK).max(1),
            _ => self.len,
        }
    }

    fn random_at(&self, p: usize) -> u8 {
        let mut x = self.seed ^ ((p / 8) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
        (x >> ((p % 8) * 8)) as u8
    }

    fn byte_at(&self, p: usize) -> u8 {
        if p < self.head.len() {
            return self.head[p];
        }
        let q = p - self.head.len();
        match self.body {
            Body2::Random => self.random_at(q),
            Body2::Text => TEXT[(q + (self.seed as usize % TEXT.len())) % TEXT.len()],
            Body2::TlsRecords => {
                let rec = q / 16384;
                let w = q % 16384;
                if w >= 5 {
                    return self.random_at(q);
                }
                let nrec = self.len.div_ceil(TLS_CHUNK).max(1);
                let plen = if rec + 1 < nrec {
                    TLS_CHUNK
                } else {
                    self.len - TLS_CHUNK * (nrec - 1)
                };
                [23, 3, 3, (plen >> 8) as u8, plen as u8][w]
            }
        }
    }
}

impl Payload {
    fn len(&self) -> usize {
        match self {
            Payload::Bytes(b) => b.len(),
            Payload::Synth(s) => s.head.len() + s.body_bytes(),
        }
    }

    fn write(&self, a: usize, b: usize, out: &mut Vec<u8>) {
        match self {
            Payload::Bytes(v) => out.extend_from_slice(&v[a..b]),
            Payload::Synth(s) => out.extend((a..b).map(|p| s.byte_at(p))),
        }
    }
}

#[derive(Default)]
struct TcpState {
    /// Next sequence number each side will send.
    c_nxt: u32,
    s_nxt: u32,
    mss: usize,
    cwnd: usize,
}

struct Flow {
    rng: Rng,
    kind: Kind,
    client: Host,
    server: Host,
    cport: u16,
    sport: u16,
    /// Round-trip time between the sensor and the server, in µs.
    rtt: u64,
    /// Per-flow bottleneck bandwidth in bits per µs (i.e. Mbit/s).
    mbps: u64,
    /// Time of the flow's latest packet so far.
    t: u64,
    step: u32,
    exchanges: u32,
    tls13: bool,
    /// The receiver ACKs every `ack_every` segments (1: quick ACKs, 2: delayed ACKs).
    ack_every: usize,
    sni: String,
    tcp: TcpState,
    pending: VecDeque<Spec>,
}

fn client_host(rng: &mut Rng, v6: bool) -> Host {
    let i = rng.range(0, 1999) as u16;
    let ip = if v6 {
        let mut a = [0u8; 16];
        a[0] = 0xfd;
        a[1] = 0x00;
        a[3] = 0x01;
        a[14..16].copy_from_slice(&(i + 0x100).to_be_bytes());
        Ip::V6(a)
    } else {
        Ip::V4([10, 1, (i / 250) as u8, (i % 250) as u8 + 2])
    };
    Host {
        ip,
        mac: [0x02, 0x42, 0x0a, 0x01, (i >> 8) as u8, i as u8],
        ttl: 64,
        ip_id: rng.u16(),
    }
}

fn server_host(rng: &mut Rng, v6: bool, dns: bool) -> Host {
    let ip = if dns {
        if v6 {
            Ip::V6([
                0xfd,
                0,
                0,
                1,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0x53 + rng.range(0, 1) as u8,
            ])
        } else {
            Ip::V4([10, 0, 0, 53 + rng.range(0, 1) as u8])
        }
    } else if v6 {
        let mut a = [0x26, 0x06, 0x47, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let i = rng.range(0, 499) as u16;
        a[6..8].copy_from_slice(&i.to_be_bytes());
        a[15] = 1;
        Ip::V6(a)
    } else {
        let nets: &[[u8; 2]] = &[
            [93, 184],
            [151, 101],
            [104, 16],
            [142, 250],
            [13, 107],
            [23, 45],
            [185, 199],
            [52, 84],
        ];
        let n = rng.pick(nets);
        Ip::V4([n[0], n[1], rng.range(0, 15) as u8, rng.range(1, 254) as u8])
    };
    let ttl = if dns {
        64
    } else {
        *rng.pick(&[52u8, 54, 57, 58, 113, 116, 118, 242])
    };
    Host {
        ip,
        mac: ROUTER_MAC,
        ttl,
        ip_id: rng.u16(),
    }
}

const SYN_OPTS_V4: [u8; 8] = [2, 4, 0x05, 0xb4, 1, 1, 4, 2];
const SYN_OPTS_V6: [u8; 8] = [2, 4, 0x05, 0xa0, 1, 1, 4, 2];

impl Flow {
    fn new(mut rng: Rng, kind: Kind, t: u64) -> Flow {
        let v6 = rng.chance(0.15);
        let dns_server = matches!(kind, Kind::DnsUdp | Kind::DnsTcp);
        let client = client_host(&mut rng, v6);
        let server = server_host(&mut rng, v6, dns_server);
        let sport = match kind {
            Kind::Http => *rng.pick(&[80, 80, 80, 8080]),
            Kind::Tls => 443,
            Kind::DnsUdp | Kind::DnsTcp => 53,
            Kind::Ntp => 123,
            Kind::Unreachable => rng.range(33434, 33534) as u16,
            Kind::TcpRejected | Kind::TcpNoAnswer => *rng.pick(&[22, 23, 25, 445, 3389, 8443, 5900, 1433]),
            Kind::Ping => 0,
        };
        let rtt = if dns_server {
            rng.range(300, 40_000)
        } else {
            rng.log_uniform(2_000.0, 250_000.0) as u64
        };
        let mss = if v6 { 1440 } else { 1460 };
        let sni = dns::host_name(&mut rng);
        Flow {
            kind,
            client,
            server,
            cport: rng.range(32768, 60999) as u16,
            sport,
            rtt,
            mbps: *rng.pick(&[10, 50, 100, 300, 1000]),
            t,
            step: 0,
            exchanges: match kind {
                Kind::Http => rng.range(1, 6) as u32,
                Kind::Tls => rng.range(1, 10) as u32,
                Kind::Ping => rng.range(1, 8) as u32,
                _ => 1,
            },
            tls13: rng.chance(0.7),
            ack_every: if rng.chance(0.4) { 1 } else { 2 },
            sni,
            tcp: TcpState {
                c_nxt: rng.u32(),
                s_nxt: rng.u32(),
                mss,
                cwnd: 10,
            },
            pending: VecDeque::new(),
            rng,
        }
    }

    fn push_tcp(&mut self, t: u64, from_client: bool, flags: u8, data: Option<(Payload, usize, usize)>) {
        let (seq, ack) = if from_client {
            (self.tcp.c_nxt, self.tcp.s_nxt)
        } else {
            (self.tcp.s_nxt, self.tcp.c_nxt)
        };
        let win = if from_client { 64240 } else { 65160 };
        self.pending.push_back(Spec {
            t,
            from_client,
            body: Body::Tcp {
                flags,
                seq,
                ack,
                win,
                syn_opts: flags & SYN != 0,
                data,
            },
        });
    }

    fn jitter(&mut self, us: u64) -> u64 {
        us + self.rng.range(0, us / 10 + 1)
    }

    fn handshake(&mut self) {
        let t = self.t;
        self.push_tcp(t, true, SYN, None);
        self.tcp.c_nxt = self.tcp.c_nxt.wrapping_add(1);
        let t1 = t + self.jitter(self.rtt);
        self.push_tcp(t1, false, SYN | ACK, None);
        self.tcp.s_nxt = self.tcp.s_nxt.wrapping_add(1);
        let t2 = t1 + self.rng.range(20, 150);
        self.push_tcp(t2, true, ACK, None);
        self.t = t2;
    }

    /// Delay between a packet seen at the sensor and the answer to it seen at the sensor.
    fn answer_lag(&mut self, answer_from_client: bool) -> u64 {
        if answer_from_client {
            self.rng.range(20, 300)
        } else {
            let rtt = self.rtt;
            self.jitter(rtt)
        }
    }

    /// Sends `data` from one side, segmented at the MSS, in flights of `cwnd` segments, with the
    /// other side's ACKs (every segment or every second one), and occasional loss before or after the sensor
    /// (then a retransmission) and reordering.
    fn transfer(&mut self, from_client: bool, data: Payload) {
        let n = data.len();
        if n == 0 {
            return;
        }
        let mss = self.tcp.mss;
        let nseg = n.div_ceil(mss);
        let base = if from_client { self.tcp.c_nxt } else { self.tcp.s_nxt };
        let recv_ack_seq = if from_client { self.tcp.s_nxt } else { self.tcp.c_nxt };
        let sender_ack = recv_ack_seq; // what the sender has received
        let mut got = vec![false; nseg];
        let mut cum = 0usize; // segments received in order by the receiver
        let mut i = 0usize;
        let mut t = self.t;
        let mut t_max = t;
        // A host sends its ACKs in order: each is seen no earlier than the previous one.
        let mut last_ack = t;
        let seg = |k: usize| (k * mss, ((k + 1) * mss).min(n));
        while i < nseg {
            let flight = self.tcp.cwnd.min(nseg - i);
            let mut order: Vec<usize> = (i..i + flight).collect();
            if flight >= 2 && self.rng.chance(0.03) {
                let k = self.rng.range(0, flight as u64 - 2) as usize;
                order.swap(k, k + 1);
            }
            let mut lost = Vec::new();
            let mut unacked = 0;
            let mut ts = t;
            for (pos, &k) in order.iter().enumerate() {
                let (a, b) = seg(k);
                ts += ((b - a + 54) as u64 * 8 / self.mbps).max(1);
                let roll = self.rng.f64();
                let before = roll < 0.003;
                let after = !before && roll < 0.006;
                let flags = if b == n { ACK | PSH } else { ACK };
                if !before {
                    let (seq, ack) = (base.wrapping_add(a as u32), sender_ack);
                    let win = if from_client { 64240 } else { 65160 };
                    let body = Body::Tcp {
                        flags,
                        seq,
                        ack,
                        win,
                        syn_opts: false,
                        data: Some((data.clone(), a, b)),
                    };
                    self.pending.push_back(Spec {
                        t: ts,
                        from_client,
                        body,
                    });
                }
                if before || after {
                    lost.push(k);
                } else {
                    got[k] = true;
                }
                while cum < nseg && got[cum] {
                    cum += 1;
                }
                unacked += 1;
                let hole = got[cum.min(nseg - 1)..].iter().any(|&g| g) && cum < nseg;
                if unacked >= self.ack_every || pos + 1 == flight || (hole && !before && !after) {
                    let ack_at = (ts + self.answer_lag(!from_client)).max(last_ack + 1);
                    last_ack = ack_at;
                    let ack = base.wrapping_add(seg(cum.min(nseg)).0.min(n) as u32);
                    let ack = if cum == nseg { base.wrapping_add(n as u32) } else { ack };
                    self.push_ack(ack_at, !from_client, recv_ack_seq, ack);
                    t_max = t_max.max(ack_at);
                    unacked = 0;
                }
            }
            t_max = t_max.max(ts);
            let mut next = t + self.jitter(self.rtt).max(ts - t);
            if !lost.is_empty() {
                // Retransmitted after the duplicate ACKs reach the sender.
                let mut rt = ts + self.rtt + self.rng.range(100, 2000);
                for &k in &lost {
                    let (a, b) = seg(k);
                    let flags = if b == n { ACK | PSH } else { ACK };
                    let win = if from_client { 64240 } else { 65160 };
                    let body = Body::Tcp {
                        flags,
                        seq: base.wrapping_add(a as u32),
                        ack: sender_ack,
                        win,
                        syn_opts: false,
                        data: Some((data.clone(), a, b)),
                    };
                    self.pending.push_back(Spec {
                        t: rt,
                        from_client,
                        body,
                    });
                    got[k] = true;
                    rt += 5;
                }
                while cum < nseg && got[cum] {
                    cum += 1;
                }
                let ack_at = (rt + self.answer_lag(!from_client)).max(last_ack + 1);
                last_ack = ack_at;
                let ack = if cum == nseg {
                    base.wrapping_add(n as u32)
                } else {
                    base.wrapping_add(seg(cum).0 as u32)
                };
                self.push_ack(ack_at, !from_client, recv_ack_seq, ack);
                t_max = t_max.max(ack_at);
                next = next.max(rt + self.rtt);
                self.tcp.cwnd = (self.tcp.cwnd / 2).max(2);
            } else {
                self.tcp.cwnd = (self.tcp.cwnd * 2).min(44);
            }
            i += flight;
            t = next;
        }
        if from_client {
            self.tcp.c_nxt = base.wrapping_add(n as u32);
        } else {
            self.tcp.s_nxt = base.wrapping_add(n as u32);
        }
        self.sort_pending();
        self.t = t_max;
    }

    fn push_ack(&mut self, t: u64, from_client: bool, seq: u32, ack: u32) {
        let win = if from_client { 64240 } else { 65160 };
        self.pending.push_back(Spec {
            t,
            from_client,
            body: Body::Tcp {
                flags: ACK,
                seq,
                ack,
                win,
                syn_opts: false,
                data: None,
            },
        });
    }

    fn sort_pending(&mut self) {
        self.pending.make_contiguous().sort_by_key(|s| s.t);
    }

    fn think(&mut self, mean_us: f64, max_us: f64) {
        let d = self.rng.exp(mean_us).min(max_us) as u64;
        self.t += d.max(1);
    }

    fn close(&mut self) {
        let t = self.t;
        let r = self.rng.f64();
        if r < 0.70 {
            // Client closes: FIN, FIN-ACK, ACK.
            self.push_tcp(t, true, FIN | ACK, None);
            self.tcp.c_nxt = self.tcp.c_nxt.wrapping_add(1);
            let t1 = t + self.answer_lag(false);
            self.push_tcp(t1, false, FIN | ACK, None);
            self.tcp.s_nxt = self.tcp.s_nxt.wrapping_add(1);
            let t2 = t1 + self.answer_lag(true);
            self.push_tcp(t2, true, ACK, None);
            self.t = t2;
        } else if r < 0.85 {
            // Server closes: FIN, ACK, FIN, ACK.
            self.push_tcp(t, false, FIN | ACK, None);
            self.tcp.s_nxt = self.tcp.s_nxt.wrapping_add(1);
            let t1 = t + self.answer_lag(true);
            self.push_tcp(t1, true, ACK, None);
            let t2 = t1 + self.rng.range(50, 5000);
            self.push_tcp(t2, true, FIN | ACK, None);
            self.tcp.c_nxt = self.tcp.c_nxt.wrapping_add(1);
            let t3 = t2 + self.answer_lag(false);
            self.push_tcp(t3, false, ACK, None);
            self.t = t3;
        } else if r < 0.95 {
            self.push_tcp(t, true, RST | ACK, None);
        } else {
            self.push_tcp(t, false, RST | ACK, None);
        }
    }

    fn http_request(&mut self) -> Vec<u8> {
        let path = format!(
            "/{}/{}{}",
            self.rng
                .pick(&["static", "api/v1", "images", "assets/js", "news", "search", "cdn-cgi"]),
            self.rng.range(1000, 999_999),
            self.rng.pick(&[".js", ".css", ".png", ".html", "", ".json", ".jpg"])
        );
        let method = if self.rng.chance(0.9) { "GET" } else { "POST" };
        let body_len = if method == "POST" {
            self.rng.range(100, 4000) as usize
        } else {
            0
        };
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\nAccept: */*\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n",
            self.sni
        );
        if body_len > 0 {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {body_len}\r\n"
            ));
        }
        req.push_str("\r\n");
        let mut v = req.into_bytes();
        let pat = b"{\"k\":\"value\",\"n\":12345}";
        v.extend((0..body_len).map(|i| pat[i % pat.len()]));
        v
    }

    fn response_size(&mut self) -> usize {
        let r = self.rng.f64();
        let (lo, hi) = if r < 0.5 {
            (200.0, 5_000.0)
        } else if r < 0.8 {
            (5_000.0, 50_000.0)
        } else if r < 0.96 {
            (50_000.0, 300_000.0)
        } else {
            (300_000.0, 2_000_000.0)
        };
        self.rng.log_uniform(lo, hi) as usize
    }

    fn http_response(&mut self) -> Payload {
        let len = self.response_size();
        let ctype = *self.rng.pick(&[
            "text/html; charset=utf-8",
            "application/javascript",
            "application/octet-stream",
            "text/plain",
            "text/css",
        ]);
        let head = format!(
            "HTTP/1.1 200 OK\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\nServer: nginx\r\nContent-Type: {ctype}\r\nContent-Length: {len}\r\nConnection: keep-alive\r\nCache-Control: max-age=3600\r\n\r\n"
        );
        let body = if ctype == "application/octet-stream" {
            Body2::Random
        } else {
            Body2::Text
        };
        Payload::Synth(Rc::new(Synth {
            head: head.into_bytes(),
            len,
            body,
            seed: self.rng.next_u64(),
        }))
    }

    fn udp(&mut self, t: u64, from_client: bool, payload: Vec<u8>) {
        self.pending.push_back(Spec {
            t,
            from_client,
            body: Body::Udp(payload.into()),
        });
    }

    /// Generates the flow's next phase into `pending`; false when the flow is over.
    fn refill(&mut self) -> bool {
        let step = self.step;
        self.step += 1;
        match self.kind {
            Kind::Http | Kind::Tls => {
                let tls_steps = if self.kind == Kind::Tls { 2 } else { 0 };
                if step == 0 {
                    self.handshake();
                } else if self.kind == Kind::Tls && step == 1 {
                    self.think(300.0, 5_000.0);
                    let ch = tls::client_hello(&mut self.rng, &self.sni.clone(), self.tls13);
                    self.transfer(true, ch.into());
                    self.t += self.rng.range(100, 3_000);
                    let sni = self.sni.clone();
                    let sf = tls::server_flight(&mut self.rng, &sni, self.tls13);
                    self.transfer(false, sf.into());
                } else if self.kind == Kind::Tls && step == 2 {
                    self.think(200.0, 2_000.0);
                    let cf = tls::client_finish(&mut self.rng, self.tls13);
                    self.transfer(true, cf.into());
                    if !self.tls13 {
                        self.t += self.rng.range(100, 2_000);
                        let sf = tls::server_finish(&mut self.rng);
                        self.transfer(false, sf.into());
                    }
                } else if step <= tls_steps + self.exchanges {
                    if step > tls_steps + 1 {
                        self.think(150_000.0, 3_000_000.0);
                    } else {
                        self.think(500.0, 5_000.0);
                    }
                    let (req, resp) = if self.kind == Kind::Http {
                        (self.http_request(), self.http_response())
                    } else {
                        let q = self.rng.range(300, 2_000) as usize;
                        let r = self.response_size();
                        let seed = self.rng.next_u64();
                        let resp = Synth {
                            head: Vec::new(),
                            len: r,
                            body: Body2::TlsRecords,
                            seed,
                        };
                        (tls::app_data(&mut self.rng, q), Payload::Synth(Rc::new(resp)))
                    };
                    self.transfer(true, req.into());
                    self.think(5_000.0, 200_000.0);
                    self.transfer(false, resp);
                } else if step == tls_steps + self.exchanges + 1 {
                    self.think(100_000.0, 2_000_000.0);
                    self.close();
                } else {
                    return false;
                }
            }
            Kind::DnsTcp => match step {
                0 => self.handshake(),
                1 => {
                    self.think(100.0, 1_000.0);
                    let id = self.rng.u16();
                    let name = dns::host_name(&mut self.rng);
                    let ex = dns::exchange(&mut self.rng, id, &name);
                    let mut q = (ex.query.len() as u16).to_be_bytes().to_vec();
                    q.extend_from_slice(&ex.query);
                    let mut r = (ex.response.len() as u16).to_be_bytes().to_vec();
                    r.extend_from_slice(&ex.response);
                    self.transfer(true, q.into());
                    self.t += self.rng.range(50, 3_000);
                    self.transfer(false, r.into());
                }
                2 => {
                    self.think(1_000.0, 10_000.0);
                    self.close();
                }
                _ => return false,
            },
            Kind::DnsUdp => {
                if step > 0 {
                    return false;
                }
                let id = self.rng.u16();
                let name = dns::host_name(&mut self.rng);
                let ex = dns::exchange(&mut self.rng, id, &name);
                let t = self.t;
                self.udp(t, true, ex.query.clone());
                let r = self.rng.f64();
                if r < 0.05 {
                    // Unanswered, retried once after a second, still unanswered.
                    let t1 = t + 1_000_000 + self.rng.range(0, 1000);
                    self.udp(t1, true, ex.query);
                } else if r < 0.08 {
                    // Unanswered.
                } else {
                    let t1 = t + self.answer_lag(false);
                    self.udp(t1, false, ex.response);
                }
            }
            Kind::Ntp => {
                if step > 0 {
                    return false;
                }
                let mut q = vec![0u8; 48];
                q[0] = 0x23; // v4, client
                self.rng.fill(&mut q[40..48]);
                let t = self.t;
                self.udp(t, true, q.clone());
                let mut r = vec![0u8; 48];
                r[0] = 0x24; // v4, server
                r[1] = 2;
                r[2] = 3;
                r[3] = 0xe9;
                self.rng.fill(&mut r[4..24]);
                r[24..32].copy_from_slice(&q[40..48]);
                self.rng.fill(&mut r[32..48]);
                let t1 = t + self.answer_lag(false);
                self.udp(t1, false, r);
            }
            Kind::Ping => {
                if step >= self.exchanges {
                    return false;
                }
                if step > 0 {
                    self.t += 1_000_000 + self.rng.range(0, 2_000);
                }
                let v6 = self.client.ip.is_v6();
                let id = (self.cport as u32 ^ 0x5a5a) as u16;
                let rest = [(id >> 8) as u8, id as u8, 0, step as u8 + 1];
                let mut body = vec![0u8; 56];
                body[..8].copy_from_slice(&(self.t / 1_000_000).to_le_bytes());
                for (i, b) in body.iter_mut().enumerate().skip(8) {
                    *b = i as u8;
                }
                let body: Rc<[u8]> = body.into();
                let (req, rep) = if v6 { (128, 129) } else { (8, 0) };
                let t = self.t;
                self.pending.push_back(Spec {
                    t,
                    from_client: true,
                    body: Body::Icmp {
                        typ: req,
                        code: 0,
                        rest,
                        body: body.clone(),
                    },
                });
                if !self.rng.chance(0.05) {
                    let t1 = t + self.answer_lag(false);
                    self.pending.push_back(Spec {
                        t: t1,
                        from_client: false,
                        body: Body::Icmp {
                            typ: rep,
                            code: 0,
                            rest,
                            body,
                        },
                    });
                    self.t = t1;
                }
            }
            Kind::Unreachable => {
                if step > 0 {
                    return false;
                }
                // A UDP probe to a closed port and the ICMP port unreachable quoting it.
                let payload = self.rng.bytes(32);
                let mut client = self.client;
                let l4 = pkt::udp(&client.ip, &self.server.ip, self.cport, self.sport, &payload);
                client.ip_id = client.ip_id.wrapping_add(1);
                let qid = if client.ip.is_v6() { self.cport } else { client.ip_id };
                let (_, quoted) = pkt::ip(&client.ip, &self.server.ip, pkt::PROTO_UDP, client.ttl, qid, false, &l4);
                let t = self.t;
                self.udp(t, true, payload);
                let v6 = client.ip.is_v6();
                let (typ, code) = if v6 { (1, 4) } else { (3, 3) };
                let t1 = t + self.answer_lag(false);
                self.pending.push_back(Spec {
                    t: t1,
                    from_client: false,
                    body: Body::Icmp {
                        typ,
                        code,
                        rest: [0; 4],
                        body: quoted.into(),
                    },
                });
            }
            Kind::TcpRejected => {
                if step > 0 {
                    return false;
                }
                let t = self.t;
                self.push_tcp(t, true, SYN, None);
                self.tcp.c_nxt = self.tcp.c_nxt.wrapping_add(1);
                let t1 = t + self.answer_lag(false);
                self.push_tcp(t1, false, RST | ACK, None);
            }
            Kind::TcpNoAnswer => {
                if step > 0 {
                    return false;
                }
                let t = self.t;
                for d in [0, 1_000_000, 3_000_000] {
                    let at = t + d + self.rng.range(0, 500);
                    self.push_tcp(at, true, SYN, None);
                }
                self.tcp.c_nxt = self.tcp.c_nxt.wrapping_add(1);
            }
        }
        true
    }

    /// The frame for one spec (IP IDs advance per sending host).
    fn frame(&mut self, spec: &Spec) -> Vec<u8> {
        let (src, dst) = if spec.from_client {
            (&mut self.client, &self.server)
        } else {
            (&mut self.server, &self.client)
        };
        src.ip_id = src.ip_id.wrapping_add(1);
        let (src_ip, dst_ip) = (src.ip, dst.ip);
        let (sport, dport) = if spec.from_client {
            (self.cport, self.sport)
        } else {
            (self.sport, self.cport)
        };
        let (proto, l4, df) = match &spec.body {
            Body::Tcp {
                flags,
                seq,
                ack,
                win,
                syn_opts,
                data,
            } => {
                let opts: &[u8] = if *syn_opts {
                    if src_ip.is_v6() {
                        &SYN_OPTS_V6
                    } else {
                        &SYN_OPTS_V4
                    }
                } else {
                    &[]
                };
                let mut buf = Vec::new();
                if let Some((d, a, b)) = data {
                    d.write(*a, *b, &mut buf);
                }
                let payload: &[u8] = &buf;
                let t = pkt::Tcp {
                    sport,
                    dport,
                    seq: *seq,
                    ack: *ack,
                    flags: *flags,
                    win: *win,
                    options: opts,
                    payload,
                };
                (pkt::PROTO_TCP, pkt::tcp(&src_ip, &dst_ip, &t), true)
            }
            Body::Udp(p) => (pkt::PROTO_UDP, pkt::udp(&src_ip, &dst_ip, sport, dport, p), false),
            Body::Icmp { typ, code, rest, body } => {
                let proto = if src_ip.is_v6() {
                    pkt::PROTO_ICMP6
                } else {
                    pkt::PROTO_ICMP
                };
                (proto, pkt::icmp(&src_ip, &dst_ip, *typ, *code, *rest, body), false)
            }
        };
        let id = if src_ip.is_v6() { self.cport } else { src.ip_id };
        let (ethertype, ipp) = pkt::ip(&src_ip, &dst_ip, proto, src.ttl, id, df, &l4);
        if spec.from_client {
            pkt::eth(ROUTER_MAC, self.client.mac, ethertype, &ipp, false)
        } else {
            pkt::eth(self.client.mac, ROUTER_MAC, ethertype, &ipp, true)
        }
    }
}

fn pick_kind(rng: &mut Rng) -> Kind {
    let total: u32 = MIX.iter().sum();
    let mut r = rng.range(0, total as u64 - 1) as u32;
    for (k, &w) in KINDS.iter().zip(MIX.iter()) {
        if r < w {
            return *k;
        }
        r -= w;
    }
    Kind::Http
}

/// Generates the configured traffic into `out`.
pub fn generate<W: Write>(cfg: &Config, out: W) -> io::Result<(Stats, W)> {
    let mut w = PcapWriter::new(out)?;
    let mut rng = Rng::new(cfg.seed);
    let mut stats = Stats {
        first_ts_us: cfg.start_time_us,
        ..Stats::default()
    };
    let mut vx = if cfg.vxlan {
        Some(pkt::Vxlan {
            src: Ip::V4([192, 168, 50, 11]),
            dst: Ip::V4([192, 168, 50, 1]),
            src_mac: [0x02, 0x00, 0x00, 0x32, 0x00, 0x0b],
            dst_mac: [0x02, 0x00, 0x00, 0x32, 0x00, 0x01],
            sport: 49152 + (rng.u16() % 16384),
            vni: 4242,
            ip_id: rng.u16(),
        })
    } else {
        None
    };
    let n = cfg.connections.max(1);
    let mut flows: Vec<Flow> = Vec::with_capacity(n);
    let mut heap = BinaryHeap::with_capacity(n);
    let mut tie = 0u64;
    let spawn = |rng: &mut Rng, t: u64, stats: &mut Stats| {
        let kind = pick_kind(rng);
        stats.flows_started += 1;
        stats.flows_by_kind[KINDS.iter().position(|k| *k == kind).unwrap()] += 1;
        let mut f = Flow::new(rng.fork(), kind, t);
        while f.pending.is_empty() && f.refill() {}
        f
    };
    for i in 0..n {
        // Start the first flows spread over a second so that they interleave from the outset.
        let t = cfg.start_time_us + rng.range(0, 1_000_000);
        let f = spawn(&mut rng, t, &mut stats);
        heap.push(Reverse((f.pending[0].t, tie, i)));
        tie += 1;
        flows.push(f);
    }
    let packet_limit = cfg.packets.unwrap_or(u64::MAX);
    let byte_limit = cfg.bytes.unwrap_or(u64::MAX);
    let mut last = cfg.start_time_us;
    while w.packets() < packet_limit && w.bytes() < byte_limit {
        let Some(Reverse((t, _, i))) = heap.pop() else { break };
        let f = &mut flows[i];
        let spec = f.pending.pop_front().expect("queued flows have packets");
        debug_assert!(spec.t == t && t >= last);
        last = t;
        let frame = f.frame(&spec);
        match &mut vx {
            Some(v) => w.write(t, &v.wrap(&frame))?,
            None => w.write(t, &frame)?,
        }
        while f.pending.is_empty() && f.refill() {}
        if f.pending.is_empty() {
            let start = t + rng.range(0, 2_000);
            *f = spawn(&mut rng, start, &mut stats);
        }
        heap.push(Reverse((flows[i].pending[0].t, tie, i)));
        tie += 1;
    }
    stats.packets = w.packets();
    stats.file_bytes = w.bytes();
    stats.last_ts_us = last;
    let out = w.finish()?;
    Ok((stats, out))
}
