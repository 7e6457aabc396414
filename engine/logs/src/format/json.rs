//! Zeek's JSON log lines (`threading::formatter::JSON` with the ascii writer's defaults:
//! `JSON::TS_EPOCH`, `json_include_unset_fields=F`, `JSON::STRING_ESCAPE_POLICY_HEX`).
//!
//! One object per row, keys in schema order, unset fields left out. Numbers go through rapidjson:
//! integers as integers, doubles/intervals/times with rapidjson's `dtoa` (`1.0`, `0.25`, `1e21`),
//! NaN and infinities as `null`. Strings and enums go through `util::escape_utf8(s,
//! ESCAPE_UNPRINTABLE_CONTROLS)` and then rapidjson's string escaping, so a bad byte `0x82` becomes
//! the six characters `\\x82` in the file.

use weir_api::log::{Schema, Value};

use super::{push_addr, push_hex_escape, push_i64, push_subnet, push_u64, utf8_has_bad};

/// Appends one JSON line for `row` (in `schema` order), newline included.
pub fn json_row(out: &mut Vec<u8>, schema: &Schema, row: &[Option<Value<'_>>]) {
    debug_assert_eq!(
        schema.fields.len(),
        row.len(),
        "row does not match the {} schema",
        schema.path
    );
    out.push(b'{');
    let mut first = true;
    for (field, value) in schema.fields.iter().zip(row) {
        let Some(value) = value else { continue };
        if !first {
            out.push(b',');
        }
        first = false;
        out.push(b'"');
        push_json_escaped(out, field.name.as_bytes());
        out.push(b'"');
        out.push(b':');
        json_value(out, value);
    }
    out.extend_from_slice(b"}\n");
}

/// One value, as `JSON::BuildJSON` writes it.
pub fn json_value(out: &mut Vec<u8>, value: &Value<'_>) {
    match *value {
        Value::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        Value::Int(i) => push_i64(out, i),
        Value::Count(c) => push_u64(out, c),
        Value::Port(p) => push_u64(out, p as u64),
        Value::Subnet(a, len) => {
            out.push(b'"');
            push_subnet(out, a, len);
            out.push(b'"');
        }
        Value::Addr(a) => {
            out.push(b'"');
            push_addr(out, a);
            out.push(b'"');
        }
        Value::Double(d) | Value::Interval(d) | Value::Time(d) => push_json_double(out, d),
        Value::Str(s) => push_zeek_string(out, s),
        Value::Enum(s) => push_zeek_string(out, s.as_bytes()),
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json_value(out, item);
            }
            out.push(b']');
        }
    }
}

/// rapidjson's `Writer::Double` behind Zeek's `NullDoubleWriter`: NaN/inf → `null`, zero → `0.0` or
/// `-0.0`, otherwise Grisu2 digits laid out by `Prettify` (the `dtoa` crate is a port of that code).
pub(crate) fn push_json_double(out: &mut Vec<u8>, d: f64) {
    if !d.is_finite() {
        out.extend_from_slice(b"null");
        return;
    }
    let mut buf = dtoa::Buffer::new();
    out.extend_from_slice(buf.format_finite(d).as_bytes());
}

/// A Zeek string or enum as a JSON string: `escape_utf8(.., ESCAPE_UNPRINTABLE_CONTROLS)`, then quoted
/// and escaped by rapidjson.
pub(crate) fn push_zeek_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    if !utf8_has_bad(s, json_passthrough) {
        // escape_utf8 returns the string unchanged.
        push_json_escaped(out, s);
    } else {
        // escape_utf8 returns its escaped form: every byte that is neither printable ASCII nor one of
        // the five "printable controls" becomes `\xNN`, whose backslash rapidjson then escapes.
        for &b in s {
            if json_passthrough(b) {
                push_json_escaped(out, &[b]);
            } else {
                out.push(b'\\');
                push_hex_escape(out, b);
            }
        }
    }
    out.push(b'"');
}

/// Bytes `escape_utf8` copies as they are without `ESCAPE_PRINTABLE_CONTROLS`: printable ASCII and
/// `\b \f \n \r \t`.
fn json_passthrough(b: u8) -> bool {
    (32..127).contains(&b) || matches!(b, 0x08 | 0x0c | b'\n' | b'\r' | b'\t')
}

/// Whether `s` has a byte [`push_json_escaped`] escapes (`"`, `\\`, below 0x20), eight bytes at a
/// time: `has_less(w, n)` and `has_zero(w ^ byte)` from "Bit Twiddling Hacks" never miss such a byte.
fn needs_json_escape(s: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |w: u64| w.wrapping_sub(ONES) & !w & HIGH != 0;
    let mut words = s.chunks_exact(8);
    for c in &mut words {
        let w = c.first_chunk::<8>().map_or(0, |c| u64::from_le_bytes(*c));
        let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH != 0;
        if below_space || has_zero(w ^ (ONES * u64::from(b'"'))) || has_zero(w ^ (ONES * u64::from(b'\\'))) {
            return true;
        }
    }
    words.remainder().iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// rapidjson's string escaping: `"`, `\`, and bytes below 0x20 (short forms where JSON has them,
/// else `\u00XX` with upper-case hex). Bytes >= 0x7f are copied (rapidjson does not validate by default).
fn push_json_escaped(out: &mut Vec<u8>, s: &[u8]) {
    const UHEX: &[u8; 16] = b"0123456789ABCDEF";
    if !needs_json_escape(s) {
        // Field names and nearly every value: nothing to escape.
        out.extend_from_slice(s);
        return;
    }
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x0c => b'f',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0..=0x1f => 0,
            _ => continue,
        };
        out.extend_from_slice(&s[start..i]);
        start = i + 1;
        if short != 0 {
            out.extend_from_slice(&[b'\\', short]);
        } else {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                UHEX[(b >> 4) as usize],
                UHEX[(b & 0xf) as usize],
            ]);
        }
    }
    out.extend_from_slice(&s[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_scan_finds_every_escaped_byte() {
        // Every byte value at every position of strings of every length up to 20, on plain and on
        // high-bit filler.
        for filler in [b'a', 0xe9] {
            for len in 1..=20usize {
                for pos in 0..len {
                    for b in 0..=255u8 {
                        let mut s = vec![filler; len];
                        s[pos] = b;
                        let want = s.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
                        assert_eq!(needs_json_escape(&s), want, "{s:?}");
                    }
                }
            }
        }
    }
    use weir_api::log::{Field, FieldType};

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn doubles_as_rapidjson() {
        let d = |x: f64| s(|v| push_json_double(v, x));
        assert_eq!(d(0.0), "0.0");
        assert_eq!(d(-0.0), "-0.0");
        assert_eq!(d(1.0), "1.0");
        assert_eq!(d(2.10256), "2.10256");
        assert_eq!(d(1300475167.096535), "1300475167.096535");
        assert_eq!(d(1e21), "1e21");
        assert_eq!(d(1e20), "100000000000000000000.0");
        assert_eq!(d(1.5e-7), "1.5e-7");
        assert_eq!(d(0.000001), "0.000001");
        assert_eq!(d(-12.5), "-12.5");
        assert_eq!(d(f64::NAN), "null");
        assert_eq!(d(f64::INFINITY), "null");
    }

    #[test]
    fn strings_as_escape_utf8_then_rapidjson() {
        let z = |b: &[u8]| s(|v| push_zeek_string(v, b));
        assert_eq!(z(b"plain"), r#""plain""#);
        assert_eq!(z(b""), r#""""#);
        assert_eq!(z(b"a\"b\\c"), r#""a\"b\\c""#);
        // The five printable controls pass escape_utf8 and are escaped by rapidjson.
        assert_eq!(z(b"a\nb\tc"), r#""a\nb\tc""#);
        // Valid UTF-8 passes through untouched.
        assert_eq!(z("héllo".as_bytes()), "\"héllo\"");
        // A bad byte (invalid UTF-8) turns the whole string into escaped form, valid characters
        // included (util.cc's test: "\x07\xd4\xb7o" -> "\\x07\\xd4\\xb7o").
        assert_eq!(z(b"\x07\xd4\xb7o"), r#""\\x07\\xd4\\xb7o""#);
        assert_eq!(z(b"string\x82"), r#""string\\x82""#);
        assert_eq!(z(b"\x7f"), r#""\\x7f""#);
        // Escaped form keeps the printable controls for rapidjson.
        assert_eq!(z(b"\x01\n"), r#""\\x01\n""#);
        // C1 controls and private-use characters count as bad.
        assert_eq!(z("\u{85}".as_bytes()), r#""\\xc2\\x85""#);
        assert_eq!(z("\u{e000}".as_bytes()), r#""\\xee\\x80\\x80""#);
        // Truncated sequence at the end.
        assert_eq!(z(b"ab\xe2\x82"), r#""ab\\xe2\\x82""#);
    }

    static STR: FieldType = FieldType::String;

    #[test]
    fn row_skips_unset_and_keeps_order() {
        let schema = Schema::new(
            "x",
            &[
                Field::new("ts", FieldType::Time),
                Field::new("uid", FieldType::String),
                Field::new("id.orig_h", FieldType::Addr),
                Field::new("id.orig_p", FieldType::Port),
                Field::new("proto", FieldType::Enum),
                Field::new("duration", FieldType::Interval),
                Field::new("local_orig", FieldType::Bool),
                Field::new("tunnel_parents", FieldType::Set(&STR)),
                Field::new("names", FieldType::Vector(&STR)),
                Field::new("net", FieldType::Subnet),
                Field::new("i", FieldType::Int),
            ],
        );
        let names = [Value::str("a"), Value::str("b,c")];
        let row = [
            Some(Value::Time(1300475167.096535)),
            Some(Value::str("CHhAvVGS1DHFjwGM9")),
            Some(Value::Addr("10.1.2.1".parse().unwrap())),
            Some(Value::Port(11001)),
            Some(Value::Enum("tcp")),
            None,
            Some(Value::Bool(true)),
            Some(Value::List(&[])),
            Some(Value::List(&names)),
            Some(Value::Subnet("10.0.0.0".parse().unwrap(), 8)),
            Some(Value::Int(-3)),
        ];
        let line = s(|v| json_row(v, &schema, &row));
        assert_eq!(
            line,
            concat!(
                r#"{"ts":1300475167.096535,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"10.1.2.1","id.orig_p":11001,"#,
                r#""proto":"tcp","local_orig":true,"tunnel_parents":[],"names":["a","b,c"],"net":"10.0.0.0/8","i":-3}"#,
                "\n"
            )
        );
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["id.orig_p"], 11001);
    }
}
