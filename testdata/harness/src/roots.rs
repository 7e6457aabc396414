//! Root certificates that a Zeek script adds with `redef SSL::root_certs += { ["name"] = "<DER>", ... };`
//! (btest's `external-ca-list.zeek`, a test's own %INPUT), turned into the PEM bundle that weir's
//! `SSL::root_certs` setting reads.

/// The DER certificates of the script's `root_certs` redefs (entries `["subject"] = "\x30\x82..."`), in
/// order; None when the script has no such redef.
pub fn root_certs_in_script(text: &str) -> Option<Vec<Vec<u8>>> {
    let mut out = None;
    let mut rest = text;
    while let Some(i) = find_root_certs_redef(rest) {
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

/// The offset just past `redef [SSL::]root_certs += {` (white space between the words free).
fn find_root_certs_redef(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find("redef") {
        let start = from + i;
        let after = text[start + 5..].trim_start();
        let after = after.strip_prefix("SSL::").unwrap_or(after);
        if let Some(a) = after.strip_prefix("root_certs") {
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

/// A PEM bundle (`-----BEGIN CERTIFICATE-----`, base64 in lines of 64) of DER certificates.
pub fn pem_bundle(certs: &[Vec<u8>]) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    for der in certs {
        let mut b64 = Vec::new();
        for chunk in der.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (k, &v)| n | u32::from(v) << (16 - 8 * k));
            for k in 0..4 {
                b64.push(if k <= chunk.len() {
                    ALPHABET[(n >> (18 - 6 * k) & 63) as usize]
                } else {
                    b'='
                });
            }
        }
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
    fn pem_base64_with_padding() {
        let pem = String::from_utf8(pem_bundle(&[b"Man".to_vec(), b"Ma".to_vec(), b"M".to_vec()])).unwrap();
        let bodies: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert_eq!(bodies, vec!["TWFu", "TWE=", "TQ=="]);
    }
}
