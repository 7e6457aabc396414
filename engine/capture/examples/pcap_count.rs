//! Counts the packets of each capture named on the command line (`-` for stdin), with an optional
//! filter: `cargo run -p weir-capture --example pcap_count -- [-f EXPR] FILE...`.
//! Prints `file packets matched first_ts last_ts [error]`.

use weir_capture::{filter::Filter, PcapReader};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut filter = None;
    if args.first().map(String::as_str) == Some("-f") && args.len() >= 2 {
        filter = Some(Filter::new(&args[1]).unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(1)
        }));
        args.drain(..2);
    }
    for path in &args {
        let mut r = match PcapReader::open(path) {
            Ok(r) => r,
            Err(e) => {
                println!("{path} 0 0 - - {e}");
                continue;
            }
        };
        let (mut n, mut m, mut first, mut last) = (0u64, 0u64, None, 0f64);
        let err = loop {
            match r.next_packet() {
                Ok(Some(p)) => {
                    n += 1;
                    first.get_or_insert(p.ts);
                    last = p.ts;
                    let keep = match &filter {
                        Some(f) => f.matches(p.link, p.data, p.wire_len),
                        None => true,
                    };
                    if keep {
                        m += 1;
                    }
                }
                Ok(None) => break String::new(),
                Err(e) => break e.to_string(),
            }
        };
        println!("{path} {n} {m} {:.6} {last:.6} {err}", first.unwrap_or(0.0));
    }
}
