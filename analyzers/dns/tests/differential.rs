//! Differential test of `weir_dns::parser` against `hickory-proto` on every DNS message of the corpus
//! traces and of the parser's fuzz corpus.
//!
//! Both parsers are run on each message. Where both accept it, the header, the questions, the section
//! sizes and every record (owner name, type, class, TTL, and the rdata of the types both decode: A, AAAA,
//! NS, CNAME, PTR, MX, TXT, SOA, SRV) must agree. Where only one accepts it, the message is classified,
//! and every class must be one of the explained ones below; Zeek's behaviour decides which side is
//! "right" for weir (the analyzer itself follows Zeek's walk in `interp`, not either parser).

#[allow(dead_code)]
mod common;

use common::*;
use hickory_proto::op::Message as HMessage;
use hickory_proto::rr::{RData as HRData, Record as HRecord};
use std::collections::BTreeMap;
use weir_dns::parser::{self, Name, RData, Record};

fn labels_eq(ours: Name<'_>, theirs: &hickory_proto::rr::Name) -> bool {
    let a: Vec<&[u8]> = ours.labels().collect();
    let b: Vec<&[u8]> = theirs.iter().collect();
    a == b
}

/// Compares one record; Err names the field that differs.
fn cmp_record(o: &Record<'_>, t: &HRecord) -> Result<(), &'static str> {
    if !labels_eq(o.name, t.name()) {
        return Err("owner name");
    }
    if o.rtype != u16::from(t.record_type()) {
        return Err("type");
    }
    if o.rclass != u16::from(t.dns_class()) {
        return Err("class");
    }
    if o.ttl != t.ttl() {
        return Err("ttl");
    }
    let Some(d) = t.data() else { return Ok(()) };
    match (o.data, d) {
        (RData::A(a), HRData::A(b)) if a != b.0 => Err("A"),
        (RData::Aaaa(a), HRData::AAAA(b)) if a != b.0 => Err("AAAA"),
        (RData::Ns(a), HRData::NS(b)) if !labels_eq(a, &b.0) => Err("NS"),
        (RData::Cname(a), HRData::CNAME(b)) if !labels_eq(a, &b.0) => Err("CNAME"),
        (RData::Ptr(a), HRData::PTR(b)) if !labels_eq(a, &b.0) => Err("PTR"),
        (RData::Mx { preference, exchange }, HRData::MX(b))
            if preference != b.preference() || !labels_eq(exchange, b.exchange()) =>
        {
            Err("MX")
        }
        (RData::Txt(s), HRData::TXT(b)) => {
            let ours: Vec<&[u8]> = s.iter().collect();
            let theirs: Vec<&[u8]> = b.txt_data().iter().map(|x| &x[..]).collect();
            if ours == theirs {
                Ok(())
            } else {
                Err("TXT")
            }
        }
        (
            RData::Soa {
                mname, rname, serial, ..
            },
            HRData::SOA(b),
        ) if !labels_eq(mname, b.mname()) || !labels_eq(rname, b.rname()) || serial != b.serial() => Err("SOA"),
        (RData::Srv { port, target, .. }, HRData::SRV(b)) if port != b.port() || !labels_eq(target, b.target()) => {
            Err("SRV")
        }
        _ => Ok(()),
    }
}

/// Compares two accepted parses; Err names the first difference.
fn compare(o: &parser::Message<'_>, t: &HMessage) -> Result<(), String> {
    if o.header.id != t.id() {
        return Err("id".into());
    }
    if o.header.qr() != (t.message_type() == hickory_proto::op::MessageType::Response) {
        return Err("qr".into());
    }
    if o.header.opcode() != u8::from(t.op_code()) {
        return Err("opcode".into());
    }
    if o.questions.len() != t.queries().len() {
        return Err("question count".into());
    }
    for (a, b) in o.questions.iter().zip(t.queries()) {
        if !labels_eq(a.name, b.name()) {
            return Err("question name".into());
        }
        if a.qtype != u16::from(b.query_type()) || a.qclass != u16::from(b.query_class()) {
            return Err("question type/class".into());
        }
    }
    let secs: [(&str, &[Record<'_>], &[HRecord]); 2] = [
        ("answer", &o.answers, t.answers()),
        ("authority", &o.authority, t.name_servers()),
    ];
    for (n, a, b) in secs {
        if a.len() != b.len() {
            return Err(format!("{n} count"));
        }
        for (x, y) in a.iter().zip(b) {
            cmp_record(x, y).map_err(|e| format!("{n} {e}"))?;
        }
    }
    // hickory takes OPT out of the additional section (into `extensions`); SIG(0)/TSIG go into
    // `signature` only with its `dnssec` feature, which is off here, so they stay in `additionals`.
    let addl: Vec<&Record<'_>> = o.additional.iter().filter(|r| r.rtype != 41).collect();
    if addl.len() != t.additionals().len() {
        return Err(format!(
            "additional count (ours {:?}, hickory {} + {} signature, edns {})",
            o.additional.iter().map(|r| r.rtype).collect::<Vec<_>>(),
            t.additionals().len(),
            t.signature().len(),
            t.extensions().is_some()
        ));
    }
    for (x, y) in addl.iter().zip(t.additionals()) {
        cmp_record(x, y).map_err(|e| format!("additional {e}"))?;
    }
    let opt = o.additional.iter().filter(|r| r.rtype == 41).count();
    if opt > 1 || (opt == 1) != t.extensions().is_some() {
        return Err("EDNS".into());
    }
    Ok(())
}

/// Why a message is accepted by one parser and not the other. Each class is explained where it is
/// allowed (see `EXPLAINED`).
fn classify(m: &[u8], ours: &Result<parser::Message<'_>, parser::Error>, theirs: &Result<HMessage, String>) -> String {
    match (ours, theirs) {
        (Ok(_), Ok(_)) => "agree".into(),
        (Err(e), Err(_)) => format!("both reject (ours: {e:?})"),
        (Err(e), Ok(t)) => {
            // hickory is built without its `dnssec` feature here: it keeps the rdata of these types opaque,
            // where ours decodes and checks it.
            let opaque = [24u16, 25, 43, 46, 47, 48, 50, 51, 250];
            let has_opaque = t
                .answers()
                .iter()
                .chain(t.name_servers())
                .chain(t.additionals())
                .any(|r| opaque.contains(&u16::from(r.record_type())));
            if has_opaque {
                format!("only hickory accepts, in rdata it keeps opaque (ours: {e:?})")
            } else {
                format!("only hickory accepts (ours: {e:?})")
            }
        }
        (Ok(p), Err(h)) => {
            let _ = m;
            let reason = if p.additional.iter().filter(|r| r.rtype == 41).count() > 1 {
                "several OPT records".to_string()
            } else if h.contains("edns") || h.contains("EDNS") || h.contains("OPT") {
                "EDNS OPT content".to_string()
            } else {
                h.split(':').next().unwrap_or(h).chars().take(60).collect()
            };
            format!("only ours accepts (hickory: {reason})")
        }
    }
}

/// Classes of disagreement that are understood. Zeek decides: the analyzer's walk (`interp`) is Zeek's,
/// so these differences between the two general parsers do not reach dns.log.
const EXPLAINED: &[(&str, &str)] = &[
    (
        "only ours accepts (hickory: unexpected end of input",
        "records whose rdata hickory decodes further than rdlength allows for SVCB/HTTPS params it \
         validates; ours keeps SvcParams as data (Zeek parses them leniently with weirds, in interp)",
    ),
    (
        "only ours accepts",
        "hickory validates rdata semantics (EDNS option contents, SVCB keys, CAA tags, DNSSEC algorithms, \
         name length after decompression) and rejects the whole message; ours keeps such rdata as data, as \
         Zeek keeps going past a malformed record's content",
    ),
    (
        "only hickory accepts (ours: CountsExceedData)",
        "the header claims more records than the bytes can hold and hickory stops early without error \
         for some truncated messages (Zeek raises a weird and stops there too; the analyzer handles it)",
    ),
    (
        "only hickory accepts (ours: RdataLength)",
        "typed rdata whose fields do not fill rdlength exactly (ours refuses; hickory reads what it needs; \
         Zeek raises DNS_RR_length_mismatch and goes on, which the analyzer does)",
    ),
    (
        "only hickory accepts (ours: Truncated)",
        "a field cut short inside rdata that hickory treats as opaque",
    ),
    (
        "only hickory accepts (ours: BadPointer)",
        "compression pointer to a later offset: hickory follows forward pointers; ours (like Zeek: \
         DNS_label_forward_compress_offset) refuses them",
    ),
    (
        "only hickory accepts, in rdata it keeps opaque",
        "DNSSEC and TSIG rdata (RRSIG, DNSKEY, DS, NSEC, NSEC3, NSEC3PARAM, TSIG, SIG, KEY): hickory without \
         its dnssec feature does not decode it; ours does and refuses it when malformed. Zeek decodes these \
         types too (with weirds, stopping the message where its walk fails), which is what the analyzer does",
    ),
    ("both reject", "both refuse the message"),
];

#[test]
fn differential_against_hickory() {
    let traces = all_traces();
    let mut msgs = dns_messages(&traces);
    let n_trace = msgs.len();
    // The fuzz corpus (its seeds are the traces' messages; only what the fuzzer added is new).
    let known: std::collections::HashSet<Vec<u8>> = msgs.iter().cloned().collect();
    for (_, d) in read_dir_files(&fuzz_corpus("parser")) {
        if !known.contains(&d) {
            msgs.push(d);
        }
    }
    let mut classes: BTreeMap<String, usize> = BTreeMap::new();
    let mut trace_agree = 0usize;
    let mut field_diffs: BTreeMap<String, usize> = BTreeMap::new();
    let mut examples: BTreeMap<String, String> = BTreeMap::new();
    for (idx, m) in msgs.iter().enumerate() {
        let ours = parser::parse(m);
        let theirs = HMessage::from_vec(m).map_err(|e| e.to_string());
        let mut class = classify(m, &ours, &theirs);
        if let (Ok(o), Ok(t)) = (&ours, &theirs) {
            if let Err(f) = compare(o, t) {
                *field_diffs.entry(f.clone()).or_default() += 1;
                class = format!("both accept, differ in {f}");
            }
        }
        examples.entry(class.clone()).or_insert_with(|| {
            m.iter()
                .take(if std::env::var("FULL").is_ok() { 4096 } else { 48 })
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join("")
        });
        if idx < n_trace && class == "agree" {
            trace_agree += 1;
        }
        *classes.entry(class).or_default() += 1;
    }
    println!(
        "differential: {} messages ({} from {} traces, {} from the fuzz corpus)",
        msgs.len(),
        n_trace,
        traces.len(),
        msgs.len() - n_trace
    );
    for (c, n) in &classes {
        println!("  {n:6}  {c}   e.g. {}", examples[c]);
    }
    let unexplained: Vec<&String> = classes
        .keys()
        .filter(|c| *c != "agree" && !EXPLAINED.iter().any(|(p, _)| c.starts_with(p)))
        .collect();
    assert!(
        unexplained.is_empty(),
        "unexplained disagreements: {unexplained:?} (field differences: {field_diffs:?})"
    );
    println!("trace messages: {trace_agree} of {n_trace} agree field for field");
    // The fuzz corpus is mostly malformed on purpose; the traces' messages must agree.
    assert!(
        trace_agree * 10 >= n_trace * 9,
        "agreement under 90% on trace messages: {classes:?}"
    );
}
