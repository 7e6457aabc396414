//! Tables that a Zeek script adds to and weir reads from files: root certificates
//! (`redef SSL::root_certs += { ["name"] = "<DER>", ... };`, in btest's `external-ca-list.zeek` or a test's
//! own %INPUT) become the PEM bundle of weir's `SSL::root_certs` setting, CT logs
//! (`redef SSL::ct_logs += { ["<log id>"] = SSL::CTInfo($description=..., $operator=..., $key=...), ... };`)
//! the CT log list (Google's JSON format) of weir's `SSL::ct_logs`.

/// The DER certificates of the script's `root_certs` redefs (entries `["subject"] = "\x30\x82..."`), in
/// order; None when the script has no such redef.
pub fn root_certs_in_script(text: &str) -> Option<Vec<Vec<u8>>> {
    let mut out = None;
    let mut rest = text;
    while let Some(i) = find_table_redef(rest, "root_certs") {
        let body = &rest[i..];
        let end = body.find("};").unwrap_or(body.len());
        let certs: &mut Vec<Vec<u8>> = out.get_or_insert_with(Vec::new);
        let mut block = &body[..end];
        while let Some(j) = block.find("] = \"") {
            let (value, used) = zeek_string(&block[j + 5..]);
            certs.push(value);
            block = &block[j + 5 + used..];
        }
        rest = &body[end..];
    }
    out
}

/// One CT log of a `redef SSL::ct_logs += {...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtLog {
    pub log_id: Vec<u8>,
    pub description: String,
    pub operator: String,
    pub url: String,
    pub mmd: u64,
    pub key: Vec<u8>,
}

/// The CT logs of the script's first `ct_logs` redef, in order; None when it has none.
pub fn ct_logs_in_script(text: &str) -> Option<Vec<CtLog>> {
    let i = find_table_redef(text, "ct_logs")?;
    let body = &text[i..];
    let body = &body[..body.find("};").unwrap_or(body.len())];
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(j) = rest.find("[\"") {
        let (log_id, used) = zeek_string(&rest[j + 2..]);
        rest = &rest[j + 2 + used..];
        let end = rest.find("),").or_else(|| rest.rfind(')')).unwrap_or(rest.len());
        let fields = &rest[..end];
        let field = |name: &str| -> Option<&str> {
            let k = fields.find(&format!("${name}="))?;
            Some(&fields[k + name.len() + 2..])
        };
        let bytes = |name: &str| {
            field(name)
                .and_then(|v| v.strip_prefix('"'))
                .map(|v| zeek_string(v).0)
                .unwrap_or_default()
        };
        let text = |name: &str| String::from_utf8_lossy(&bytes(name)).into_owned();
        let mmd = field("maximum_merge_delay")
            .map(|v| v.chars().take_while(char::is_ascii_digit).collect::<String>())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        out.push(CtLog {
            log_id,
            description: text("description"),
            operator: text("operator"),
            url: text("url"),
            mmd,
            key: bytes("key"),
        });
        rest = &rest[end..];
    }
    Some(out)
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A CT log list in Google's JSON format (version 3): operators in order of appearance, with their logs.
pub fn ct_log_list_json(logs: &[CtLog]) -> Vec<u8> {
    let mut operators: Vec<&str> = Vec::new();
    for l in logs {
        if !operators.contains(&l.operator.as_str()) {
            operators.push(&l.operator);
        }
    }
    let ops: Vec<String> = operators
        .iter()
        .map(|op| {
            let entries: Vec<String> = logs
                .iter()
                .filter(|l| l.operator == *op)
                .map(|l| {
                    format!(
                        "{{\"description\":{},\"log_id\":\"{}\",\"key\":\"{}\",\"url\":{},\"mmd\":{}}}",
                        json_str(&l.description),
                        base64(&l.log_id),
                        base64(&l.key),
                        json_str(&l.url),
                        l.mmd
                    )
                })
                .collect();
            format!("{{\"name\":{},\"logs\":[{}]}}", json_str(op), entries.join(","))
        })
        .collect();
    format!("{{\"version\":\"3\",\"operators\":[{}]}}\n", ops.join(",")).into_bytes()
}

/// The offset just past `redef [SSL::]NAME += {` (white space between the words free).
fn find_table_redef(text: &str, name: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find("redef") {
        let start = from + i;
        let after = text[start + 5..].trim_start();
        let after = after.strip_prefix("SSL::").unwrap_or(after);
        if let Some(a) = after.strip_prefix(name) {
            if let Some(b) = a.trim_start().strip_prefix("+=") {
                if let Some(c) = b.trim_start().strip_prefix('{') {
                    return Some(text.len() - c.len());
                }
            }
        }
        from = start + 5;
    }
    None
}

/// Decodes a Zeek string literal's body up to its closing quote: the bytes and the characters used.
fn zeek_string(s: &str) -> (Vec<u8>, usize) {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() && b[i] != b'"' {
        if b[i] == b'\\' && i + 1 < b.len() {
            let hex = |j: usize| {
                b.get(j..j + 2)
                    .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok())
            };
            match b[i + 1] {
                b'x' if hex(i + 2).is_some() => {
                    out.push(hex(i + 2).unwrap());
                    i += 4;
                    continue;
                }
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                c => out.push(c),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    (out, (i + 1).min(b.len()))
}

/// Standard base64 with padding.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (k, &v)| n | u32::from(v) << (16 - 8 * k));
        for k in 0..4 {
            b64.push(if k <= chunk.len() {
                char::from(ALPHABET[(n >> (18 - 6 * k) & 63) as usize])
            } else {
                '='
            });
        }
    }
    b64
}

/// A PEM bundle (`-----BEGIN CERTIFICATE-----`, base64 in lines of 64) of DER certificates.
pub fn pem_bundle(certs: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for der in certs {
        let b64 = base64(der).into_bytes();
        out.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
        for line in b64.chunks(64) {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        out.extend_from_slice(b"-----END CERTIFICATE-----\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_redef_entries_and_escapes() {
        let script = r#"
module SSL;
redef SSL::ca_other += { ["x"] = "\x01" };
redef root_certs += {
	["CN=A"] = "\x30\x03\x02\x01\x05",
	["CN=B \"q\""] = "ab\\c",
};
"#;
        let certs = root_certs_in_script(script).unwrap();
        assert_eq!(certs, vec![vec![0x30, 0x03, 0x02, 0x01, 0x05], b"ab\\c".to_vec()]);
        assert!(root_certs_in_script("redef SSL::ssl_cache_intermediate_ca = F;").is_none());
    }

    #[test]
    fn ct_logs_to_json() {
        let script = r#"
redef SSL::ct_logs += {
["\x01\x02"] = SSL::CTInfo($description="Log \"A\"", $operator="Op", $url="a/", $maximum_merge_delay=86400, $key="\x30\x01"),
["\x03"] = SSL::CTInfo($description="B", $operator="Other", $url="b/", $maximum_merge_delay=60, $key="\xff"),
};
"#;
        let logs = ct_logs_in_script(script).unwrap();
        assert_eq!(logs.len(), 2);
        assert_eq!(logs[0].log_id, vec![1, 2]);
        assert_eq!(logs[0].description, "Log \"A\"");
        assert_eq!(
            (logs[1].operator.as_str(), logs[1].mmd, logs[1].key.clone()),
            ("Other", 60, vec![0xff])
        );
        let json = String::from_utf8(ct_log_list_json(&logs)).unwrap();
        let expect = r#"{"version":"3","operators":[{"name":"Op","logs":[{"description":"Log \"A\"","log_id":"AQI=","key":"MAE=","url":"a/","mmd":86400}]},{"name":"Other","logs":[{"description":"B","log_id":"Aw==","key":"/w==","url":"b/","mmd":60}]}]}"#;
        assert_eq!(json, format!("{expect}\n"));
        assert!(ct_logs_in_script("redef SSL::root_certs += { };").is_none());
    }

    #[test]
    fn pem_base64_with_padding() {
        let pem = String::from_utf8(pem_bundle(&[b"Man".to_vec(), b"Ma".to_vec(), b"M".to_vec()])).unwrap();
        let bodies: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert_eq!(bodies, vec!["TWFu", "TWE=", "TQ=="]);
    }
}
