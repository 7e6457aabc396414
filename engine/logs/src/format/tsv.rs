//! Zeek's default TSV logs (`threading::formatter::Ascii` inside the ascii writer, with its defaults:
//! separator `\t`, set separator `,`, empty field `(empty)`, unset field `-`, `LogAscii::enable_utf_8=T`).
//!
//! Value rules: unset → `-`; empty string, set or vector → `(empty)`; a string that *is* `-` or
//! `(empty)` gets its first byte escaped (`\x2d`, `\x28empty)`); bools `T`/`F`; time and interval
//! `%.6f`; doubles with trailing zeros trimmed but at least one decimal (`0.0`, `2.5`); container
//! elements joined by `,`. Strings are escaped by `ODesc::AddBytes`: a backslash becomes `\\`, the
//! separator `\x09` (and inside a set or vector the `,` too: `\x2c`); each stretch between those goes
//! through `escape_utf8` with both control flags, which keeps printable ASCII and well-formed
//! non-control UTF-8 unless the stretch holds one bad byte, in which case every non-ASCII-printable
//! byte of the stretch becomes `\xNN`. A row starting with `#` gets that byte escaped as `\x23`.

use std::io::Write;

use weir_api::log::{Schema, Value};

use super::{push_addr, push_hex_escape, push_i64, push_subnet, push_u64, utf8_has_bad};

pub const SEPARATOR: u8 = b'\t';
pub const SET_SEPARATOR: u8 = b',';
pub const EMPTY_FIELD: &[u8] = b"(empty)";
pub const UNSET_FIELD: &[u8] = b"-";

/// The header Zeek writes when it opens a log: `open` is the wall-clock time as [`crate::zeek_timestamp`]
/// prints it.
pub fn tsv_header(out: &mut Vec<u8>, schema: &Schema, open: &str) {
    out.extend_from_slice(b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t");
    // get_escaped_string(path, false): whitespace and non-printable bytes as \xNN.
    for &b in schema.path.as_bytes() {
        if b.is_ascii_graphic() {
            out.push(b);
        } else {
            push_hex_escape(out, b);
        }
    }
    out.extend_from_slice(b"\n#open\t");
    out.extend_from_slice(open.as_bytes());
    out.extend_from_slice(b"\n#fields");
    for f in &schema.fields {
        out.push(SEPARATOR);
        out.extend_from_slice(f.name.as_bytes());
    }
    out.extend_from_slice(b"\n#types");
    for f in &schema.fields {
        out.push(SEPARATOR);
        out.extend_from_slice(f.ty.zeek_name().as_bytes());
    }
    out.push(b'\n');
}

/// The trailer Zeek writes when it closes a log.
pub fn tsv_close(out: &mut Vec<u8>, close: &str) {
    out.extend_from_slice(b"#close\t");
    out.extend_from_slice(close.as_bytes());
    out.push(b'\n');
}

/// Appends one TSV row for `row` (in `schema` order), newline included.
pub fn tsv_row(out: &mut Vec<u8>, schema: &Schema, row: &[Option<Value<'_>>]) {
    debug_assert_eq!(
        schema.fields.len(),
        row.len(),
        "row does not match the {} schema",
        schema.path
    );
    let start = out.len();
    for (i, value) in row.iter().enumerate() {
        if i > 0 {
            out.push(SEPARATOR);
        }
        match value {
            None => out.extend_from_slice(UNSET_FIELD),
            Some(v) => tsv_value(out, v, false),
        }
    }
    // Ascii::DoWrite: a line that would look like a header gets its first byte escaped.
    if out.get(start) == Some(&b'#') {
        out.splice(start..start + 1, *b"\\x23");
    }
    out.push(b'\n');
}

/// One value as `formatter::Ascii::Describe` writes it; `in_list` adds `,` to the escaped sequences.
pub fn tsv_value(out: &mut Vec<u8>, value: &Value<'_>, in_list: bool) {
    match *value {
        Value::Bool(b) => out.push(if b { b'T' } else { b'F' }),
        Value::Int(i) => push_i64(out, i),
        Value::Count(c) => push_u64(out, c),
        Value::Port(p) => push_u64(out, p as u64),
        Value::Subnet(a, len) => push_subnet(out, a, len),
        Value::Addr(a) => push_addr(out, a),
        Value::Double(d) => push_tsv_double(out, d),
        Value::Time(d) | Value::Interval(d) => push_fixed6(out, d),
        Value::Str(s) => push_tsv_string(out, s, in_list),
        Value::Enum(s) => push_tsv_string(out, s.as_bytes(), in_list),
        Value::List(items) => {
            if items.is_empty() {
                out.extend_from_slice(EMPTY_FIELD);
                return;
            }
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(SET_SEPARATOR);
                }
                tsv_value(out, item, true);
            }
        }
    }
}

/// `Formatter::Render(double)`: `std::to_chars(.., fixed, 6)`.
pub(crate) fn push_fixed6(out: &mut Vec<u8>, d: f64) {
    if d.is_nan() {
        out.extend_from_slice(if d.is_sign_negative() { b"-nan" } else { b"nan" });
    } else {
        let _ = write!(out, "{d:.6}");
    }
}

/// `ODesc::Add(double, no_exp=true)`: `util::double_to_str(d, precision 6, no_exp)` (fixed, 6 places,
/// trailing zeros and then a bare `.` trimmed), then `.0` appended when the value is within 1e-9 of
/// an integer. So `0.0`, `2.5`, `100.0`, and `1e-7` prints as `0` (the rounded text lost the `.0` test).
pub(crate) fn push_tsv_double(out: &mut Vec<u8>, d: f64) {
    if d.is_nan() {
        out.extend_from_slice(b"nan");
        return;
    }
    let start = out.len();
    if d < 0.0 {
        out.push(b'-');
    }
    let mag = d.abs();
    let _ = write!(out, "{mag:.6}");
    if mag.is_finite() {
        while out.last() == Some(&b'0') {
            out.pop();
        }
        if out.last() == Some(&b'.') {
            out.pop();
        }
        if (d - d.round_ties_even()).abs() < 1e-9 && !out[start..].contains(&b'e') {
            out.extend_from_slice(b".0");
        }
    }
}

/// A string or enum value: empty → `(empty)`, the reserved `-`/`(empty)` escaped on their first byte,
/// otherwise [`push_tsv_escaped`].
fn push_tsv_string(out: &mut Vec<u8>, s: &[u8], in_list: bool) {
    if s.is_empty() {
        out.extend_from_slice(EMPTY_FIELD);
    } else if s == UNSET_FIELD || s == EMPTY_FIELD {
        push_hex_escape(out, s[0]);
        push_tsv_escaped(out, &s[1..], in_list);
    } else {
        push_tsv_escaped(out, s, in_list);
    }
}

/// `ODesc::AddBytes` with escaping and UTF-8 enabled and the separator (plus `,` in a list) as escape
/// sequences.
pub(crate) fn push_tsv_escaped(out: &mut Vec<u8>, s: &[u8], in_list: bool) {
    let mut seg = 0;
    for (i, &b) in s.iter().enumerate() {
        let special = b == b'\\' || b == SEPARATOR || (in_list && b == SET_SEPARATOR);
        if !special {
            continue;
        }
        push_utf8_segment(out, &s[seg..i]);
        // get_escaped_string(.., escape_all=true)
        if b == b'\\' {
            out.extend_from_slice(b"\\\\");
        } else {
            push_hex_escape(out, b);
        }
        seg = i + 1;
    }
    push_utf8_segment(out, &s[seg..]);
}

/// `escape_utf8(seg, ESCAPE_PRINTABLE_CONTROLS | ESCAPE_UNPRINTABLE_CONTROLS)`.
fn push_utf8_segment(out: &mut Vec<u8>, seg: &[u8]) {
    if !utf8_has_bad(seg, tsv_passthrough) {
        out.extend_from_slice(seg);
        return;
    }
    for &b in seg {
        if tsv_passthrough(b) {
            out.push(b);
        } else {
            push_hex_escape(out, b);
        }
    }
}

fn tsv_passthrough(b: u8) -> bool {
    (32..127).contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_api::log::{Field, FieldType};

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        String::from_utf8_lossy(&{
            let mut v = Vec::new();
            f(&mut v);
            v
        })
        .into_owned()
    }

    #[test]
    fn numbers() {
        let d = |x: f64| s(|v| push_tsv_double(v, x));
        assert_eq!(d(0.0), "0.0");
        assert_eq!(d(-0.0), "0.0");
        assert_eq!(d(2.5), "2.5");
        assert_eq!(d(100.0), "100.0");
        assert_eq!(d(-1.25), "-1.25");
        assert_eq!(d(0.1234567), "0.123457");
        assert_eq!(d(1e-7), "0");
        assert_eq!(d(3.0000000001), "3.0");
        assert_eq!(d(f64::INFINITY), "inf");
        assert_eq!(d(f64::NEG_INFINITY), "-inf");
        assert_eq!(d(f64::NAN), "nan");
        let t = |x: f64| s(|v| push_fixed6(v, x));
        assert_eq!(t(900.0), "900.000000");
        assert_eq!(t(2.10256), "2.102560");
        assert_eq!(t(1384251451.0), "1384251451.000000");
    }

    #[test]
    fn string_escaping() {
        let e = |b: &[u8], l: bool| s(|v| push_tsv_string(v, b, l));
        assert_eq!(e(b"", false), "(empty)");
        assert_eq!(e(b"-", false), "\\x2d");
        assert_eq!(e(b"(empty)", false), "\\x28empty)");
        assert_eq!(e(b"a-b", false), "a-b");
        assert_eq!(e(b"a\tb", false), "a\\x09b");
        assert_eq!(e(b"a,b", false), "a,b");
        assert_eq!(e(b"a,b", true), "a\\x2cb");
        assert_eq!(e(b"a\\b", false), "a\\\\b");
        assert_eq!(e(b"line\r\n", false), "line\\x0d\\x0a");
        assert_eq!(e("héllo".as_bytes(), false), "héllo");
        // One bad byte escapes every non-ASCII byte of its stretch, but only of its stretch.
        assert_eq!(e("é\x01".as_bytes(), false), "\\xc3\\xa9\\x01");
        assert_eq!(e("é\t\x01".as_bytes(), false), "é\\x09\\x01");
        assert_eq!(e(b"\xff", false), "\\xff");
    }

    static STR: FieldType = FieldType::String;
    static ADDR: FieldType = FieldType::Addr;

    fn conn_schema() -> Schema {
        use FieldType::*;
        Schema::new(
            "conn",
            &[
                Field::new("ts", Time),
                Field::new("uid", String),
                Field::new("id.orig_h", Addr),
                Field::new("id.orig_p", Port),
                Field::new("id.resp_h", Addr),
                Field::new("id.resp_p", Port),
                Field::new("proto", Enum),
                Field::new("service", String),
                Field::new("duration", Interval),
                Field::new("orig_bytes", Count),
                Field::new("resp_bytes", Count),
                Field::new("conn_state", String),
                Field::new("local_orig", Bool),
                Field::new("local_resp", Bool),
                Field::new("missed_bytes", Count),
                Field::new("history", String),
                Field::new("orig_pkts", Count),
                Field::new("orig_ip_bytes", Count),
                Field::new("resp_pkts", Count),
                Field::new("resp_ip_bytes", Count),
                Field::new("tunnel_parents", Set(&STR)),
                Field::new("ip_proto", Count),
            ],
        )
    }

    /// The baseline lines of expected/core.vlan-mpls/conn.log, header and first row, with the
    /// masked `ts` and `#open` put back to values we choose.
    #[test]
    fn conn_log_from_baseline() {
        let schema = conn_schema();
        let mut out = Vec::new();
        tsv_header(&mut out, &schema, "XXXX-XX-XX-XX-XX-XX");
        let row = [
            Some(Value::Time(1300475167.096535)),
            Some(Value::str("CHhAvVGS1DHFjwGM9")),
            Some(Value::Addr("10.1.2.1".parse().unwrap())),
            Some(Value::Port(11001)),
            Some(Value::Addr("10.34.0.1".parse().unwrap())),
            Some(Value::Port(23)),
            Some(Value::Enum("tcp")),
            None,
            Some(Value::Interval(2.10256)),
            Some(Value::Count(26)),
            Some(Value::Count(0)),
            Some(Value::str("SH")),
            Some(Value::Bool(true)),
            Some(Value::Bool(true)),
            Some(Value::Count(0)),
            Some(Value::str("SADF")),
            Some(Value::Count(11)),
            Some(Value::Count(470)),
            Some(Value::Count(0)),
            Some(Value::Count(0)),
            None,
            Some(Value::Count(6)),
        ];
        tsv_row(&mut out, &schema, &row);
        tsv_close(&mut out, "XXXX-XX-XX-XX-XX-XX");
        let expected = "#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tconn
#open\tXXXX-XX-XX-XX-XX-XX
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\tip_proto
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\tcount
1300475167.096535\tCHhAvVGS1DHFjwGM9\t10.1.2.1\t11001\t10.34.0.1\t23\ttcp\t-\t2.102560\t26\t0\tSH\tT\tT\t0\tSADF\t11\t470\t0\t0\t-\t6
#close\tXXXX-XX-XX-XX-XX-XX
";
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        // The baseline file itself (masking aside) has the same header lines.
        let baseline = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/testdata/zeek/expected/core.vlan-mpls/conn.log"
        ));
        if let Ok(baseline) = baseline {
            for line in expected
                .lines()
                .filter(|l| l.starts_with("#fields") || l.starts_with("#types"))
            {
                assert!(baseline.lines().any(|b| b == line), "{line}");
            }
        }
    }

    /// expected/scripts.policy.protocols.ssl.certificate-request-info/ssl.log, last three columns:
    /// an empty vector, an unset vector, and a vector whose element holds commas.
    #[test]
    fn ssl_vectors_from_baseline() {
        let schema = Schema::new(
            "ssl",
            &[
                Field::new("client_cert_chain_fps", FieldType::Vector(&STR)),
                Field::new("sni_matches_cert", FieldType::Bool),
                Field::new("requested_client_certificate_authorities", FieldType::Vector(&STR)),
            ],
        );
        let cas = [Value::str("O=SomeOrg,L=Somewhere,ST=Some-State,C=US")];
        let row = [Some(Value::List(&[])), None, Some(Value::List(&cas))];
        let mut out = Vec::new();
        tsv_row(&mut out, &schema, &row);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "(empty)\t-\tO=SomeOrg\\x2cL=Somewhere\\x2cST=Some-State\\x2cC=US\n"
        );
    }

    /// expected/scripts.base.files.x509.1999/x509.log, first row: commas in a plain string stay,
    /// times keep 6 decimals, a vector joins with `,`.
    #[test]
    fn x509_row_from_baseline() {
        use FieldType::*;
        let schema = Schema::new(
            "x509",
            &[
                Field::new("certificate.version", Count),
                Field::new("certificate.serial", String),
                Field::new("certificate.subject", String),
                Field::new("certificate.not_valid_before", Time),
                Field::new("certificate.not_valid_after", Time),
                Field::new("certificate.exponent", String),
                Field::new("certificate.curve", String),
                Field::new("san.dns", Vector(&STR)),
                Field::new("san.ip", Vector(&ADDR)),
                Field::new("basic_constraints.ca", Bool),
            ],
        );
        let dns = [Value::str("imap.gmx.net"), Value::str("imap.gmx.de")];
        let row = [
            Some(Value::Count(3)),
            Some(Value::str("339D9ED8E73927C9")),
            Some(Value::str("CN=imap.gmx.net,emailAddress=server-certs@1und1.de,L=Montabaur,ST=Rhineland-Palatinate,O=1&1 Mail & Media GmbH,C=DE")),
            Some(Value::Time(1384251451.0)),
            Some(Value::Time(1479427199.0)),
            Some(Value::str("65537")),
            None,
            Some(Value::List(&dns)),
            None,
            Some(Value::Bool(false)),
        ];
        let mut out = Vec::new();
        tsv_row(&mut out, &schema, &row);
        assert_eq!(
            std::string::String::from_utf8(out).unwrap(),
            "3\t339D9ED8E73927C9\tCN=imap.gmx.net,emailAddress=server-certs@1und1.de,L=Montabaur,ST=Rhineland-Palatinate,O=1&1 Mail & Media GmbH,C=DE\t1384251451.000000\t1479427199.000000\t65537\t-\timap.gmx.net,imap.gmx.de\t-\tF\n"
        );
    }

    /// expected/scripts.policy.misc.capture-loss/capture_loss.log: `interval` 0 and `double` 0.
    #[test]
    fn capture_loss_double() {
        use FieldType::*;
        let schema = Schema::new(
            "capture_loss",
            &[
                Field::new("ts_delta", Interval),
                Field::new("peer", String),
                Field::new("gaps", Count),
                Field::new("acks", Count),
                Field::new("percent_lost", Double),
            ],
        );
        let row = [
            Some(Value::Interval(0.0)),
            Some(Value::str("zeek")),
            Some(Value::Count(0)),
            Some(Value::Count(0)),
            Some(Value::Double(0.0)),
        ];
        let mut out = Vec::new();
        tsv_row(&mut out, &schema, &row);
        assert_eq!(out, b"0.000000\tzeek\t0\t0\t0.0\n");
    }

    #[test]
    fn leading_hash_and_set_elements() {
        let schema = Schema::new(
            "x",
            &[
                Field::new("s", FieldType::String),
                Field::new("set", FieldType::Set(&STR)),
            ],
        );
        let set = [Value::str(""), Value::str("-"), Value::str("a\\,b")];
        let mut out = Vec::new();
        tsv_row(&mut out, &schema, &[Some(Value::str("#x")), Some(Value::List(&set))]);
        assert_eq!(String::from_utf8(out).unwrap(), "\\x23x\t(empty),\\x2d,a\\\\\\x2cb\n");
    }
}
