//! Every TSV row of every Zeek baseline log in the shared corpus, read back into values and written
//! again with `tsv_row`, must come out byte for byte as Zeek wrote it (after the same timestamp
//! masking). This checks escaping, number formats, sets and vectors against real Zeek output.
//! The corpus lives beside the repository (`../shared/testdata/zeek`); without it the test says so
//! and passes.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use weir_api::log::{Field, FieldType, Schema, Value};
use weir_logs::format::{json_row, tsv_header, tsv_row};

/// Stands in for a masked timestamp; masked again after formatting.
const TS: f64 = 1234567890.123456;
const TS_TEXT: &str = "1234567890.123456";
const MASK: &str = "XXXXXXXXXX.XXXXXX";

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/zeek/expected");
    p.is_dir().then_some(p)
}

#[derive(Debug)]
enum Owned {
    Time(f64),
    Interval(f64),
    Double(f64),
    Str(Vec<u8>),
    Enum(String),
    Addr(IpAddr),
    Subnet(IpAddr, u8),
    Port(u16),
    Count(u64),
    Int(i64),
    Bool(bool),
    List(Vec<Owned>),
}

fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() && b[i + 1] == b'\\' {
            out.push(b'\\');
            i += 2;
        } else if b[i] == b'\\' && i + 3 < b.len() && b[i + 1] == b'x' {
            out.push(u8::from_str_radix(&s[i + 2..i + 4], 16).unwrap());
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn parse_type(t: &str) -> FieldType {
    fn leak(t: FieldType) -> &'static FieldType {
        Box::leak(Box::new(t))
    }
    if let Some(inner) = t.strip_prefix("set[").and_then(|r| r.strip_suffix(']')) {
        return FieldType::Set(leak(parse_type(inner)));
    }
    if let Some(inner) = t.strip_prefix("vector[").and_then(|r| r.strip_suffix(']')) {
        return FieldType::Vector(leak(parse_type(inner)));
    }
    match t {
        "time" => FieldType::Time,
        "interval" => FieldType::Interval,
        "string" => FieldType::String,
        "addr" => FieldType::Addr,
        "subnet" => FieldType::Subnet,
        "port" => FieldType::Port,
        "count" => FieldType::Count,
        "int" => FieldType::Int,
        "double" => FieldType::Double,
        "bool" => FieldType::Bool,
        "enum" => FieldType::Enum,
        other => panic!("type {other}"),
    }
}

fn parse_value(s: &str, ty: &FieldType) -> Option<Owned> {
    Some(match ty {
        FieldType::Set(t) | FieldType::Vector(t) => {
            if s == "(empty)" {
                Owned::List(Vec::new())
            } else {
                Owned::List(s.split(',').map(|e| parse_value(e, t)).collect::<Option<_>>()?)
            }
        }
        FieldType::Time if s == MASK => Owned::Time(TS),
        FieldType::Time => Owned::Time(s.parse().ok()?),
        FieldType::Interval => Owned::Interval(s.parse().ok()?),
        FieldType::Double => Owned::Double(s.parse().ok()?),
        FieldType::String if s == "(empty)" => Owned::Str(Vec::new()),
        FieldType::String => Owned::Str(unescape(s)),
        FieldType::Enum => Owned::Enum(String::from_utf8(unescape(s)).ok()?),
        FieldType::Addr => Owned::Addr(s.parse().ok()?),
        FieldType::Subnet => {
            let (a, l) = s.split_once('/')?;
            Owned::Subnet(a.parse().ok()?, l.parse().ok()?)
        }
        FieldType::Port => Owned::Port(s.parse().ok()?),
        FieldType::Count => Owned::Count(s.parse().ok()?),
        FieldType::Int => Owned::Int(s.parse().ok()?),
        FieldType::Bool => Owned::Bool(match s {
            "T" => true,
            "F" => false,
            _ => return None,
        }),
    })
}

fn scalar(o: &Owned) -> Value<'_> {
    match o {
        Owned::Time(t) => Value::Time(*t),
        Owned::Interval(t) => Value::Interval(*t),
        Owned::Double(t) => Value::Double(*t),
        Owned::Str(s) => Value::Str(s),
        Owned::Enum(s) => Value::Enum(s),
        Owned::Addr(a) => Value::Addr(*a),
        Owned::Subnet(a, l) => Value::Subnet(*a, *l),
        Owned::Port(p) => Value::Port(*p),
        Owned::Count(c) => Value::Count(*c),
        Owned::Int(i) => Value::Int(*i),
        Owned::Bool(b) => Value::Bool(*b),
        Owned::List(_) => unreachable!("nested list"),
    }
}

#[test]
fn every_baseline_row_round_trips() {
    let Some(root) = corpus() else {
        eprintln!("no Zeek corpus beside the repository; skipped");
        return;
    };
    let (mut files, mut rows, mut skipped) = (0, 0, 0);
    let mut failures = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    for dir in dirs {
        let mut logs: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        logs.sort();
        for log in logs.into_iter().filter(|p| p.extension().is_some_and(|e| e == "log")) {
            let Ok(text) = std::fs::read_to_string(&log) else {
                continue;
            };
            let Some(fields_line) = text.lines().find(|l| l.starts_with("#fields\t")) else {
                continue;
            };
            let Some(types_line) = text.lines().find(|l| l.starts_with("#types\t")) else {
                continue;
            };
            let path_line = text.lines().find(|l| l.starts_with("#path\t")).unwrap_or("#path\tx");
            let names: Vec<&'static str> = fields_line
                .split('\t')
                .skip(1)
                .map(|n| &*Box::leak(n.to_string().into_boxed_str()))
                .collect();
            let types: Vec<FieldType> = types_line.split('\t').skip(1).map(parse_type).collect();
            let fields: Vec<Field> = names.iter().zip(&types).map(|(n, t)| Field::new(n, *t)).collect();
            let path: &'static str = Box::leak(path_line[6..].to_string().into_boxed_str());
            let schema = Schema::new(path, &fields);
            files += 1;

            // The #fields/#types lines as we write them.
            let mut header = Vec::new();
            tsv_header(&mut header, &schema, "XXXX-XX-XX-XX-XX-XX");
            let header = String::from_utf8(header).unwrap();
            for want in [fields_line, types_line, path_line] {
                assert!(header.lines().any(|l| l == want), "{}: header {want:?}", log.display());
            }

            for line in text.lines().filter(|l| !l.starts_with('#')) {
                let cols: Vec<&str> = line.split('\t').collect();
                if cols.len() != types.len() {
                    skipped += 1;
                    continue;
                }
                let parsed: Option<Vec<Option<Owned>>> = cols
                    .iter()
                    .zip(&types)
                    .map(|(c, t)| {
                        if *c == "-" {
                            Some(None)
                        } else {
                            parse_value(c, t).map(Some)
                        }
                    })
                    .collect();
                let Some(parsed) = parsed else {
                    // Another canonifier masked something that is not a value of its type.
                    skipped += 1;
                    continue;
                };
                let lists: Vec<Vec<Value>> = parsed
                    .iter()
                    .map(|o| match o {
                        Some(Owned::List(items)) => items.iter().map(scalar).collect(),
                        _ => Vec::new(),
                    })
                    .collect();
                let row: Vec<Option<Value>> = parsed
                    .iter()
                    .zip(&lists)
                    .map(|(o, l)| {
                        o.as_ref().map(|o| match o {
                            Owned::List(_) => Value::List(l),
                            o => scalar(o),
                        })
                    })
                    .collect();
                let mut out = Vec::new();
                tsv_row(&mut out, &schema, &row);
                let got = String::from_utf8_lossy(&out).replacen(TS_TEXT, MASK, 1);
                rows += 1;
                // The same row as JSON is valid JSON with one key per set field.
                let mut json = Vec::new();
                json_row(&mut json, &schema, &row);
                let v: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&json)
                    .unwrap_or_else(|e| panic!("{}: {e}: {}", log.display(), String::from_utf8_lossy(&json)));
                let mut set: Vec<&str> = names
                    .iter()
                    .zip(&row)
                    .filter(|(_, v)| v.is_some())
                    .map(|(n, _)| *n)
                    .collect();
                set.sort_unstable();
                // (serde_json's map sorts its keys; the order itself is checked in the unit tests.)
                assert_eq!(
                    v.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
                    set,
                    "{}",
                    log.display()
                );
                if got.trim_end_matches('\n') != line {
                    failures.push(format!(
                        "{}:\n  zeek: {line}\n  ours: {}",
                        log.display(),
                        got.trim_end()
                    ));
                }
            }
        }
    }
    eprintln!("{files} baseline logs, {rows} rows compared, {skipped} skipped");
    assert!(rows > 1000, "too few rows compared: {rows}");
    assert!(
        failures.is_empty(),
        "{} rows differ:\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
}
