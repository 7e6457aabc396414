//! A minimal DER reader and writer for the structures weir re-encodes or that x509-parser does not cover
//! (precertificate TBS, OCSP responses): tag, length and content, nothing more. Lengths are checked
//! against the input, so no accessor can read past it.

/// One DER TLV at the start of `d`: (tag, header length, content length), the whole TLV within `d`.
pub fn tlv(d: &[u8]) -> Option<(u8, usize, usize)> {
    let tag = *d.first()?;
    let first = *d.get(1)?;
    let (h, len) = if first < 0x80 {
        (2, usize::from(first))
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        (
            2 + n,
            d.get(2..2 + n)?.iter().fold(0usize, |l, &b| l << 8 | usize::from(b)),
        )
    };
    (d.len() - h >= len).then_some((tag, h, len))
}

/// The first TLV of `d`: (tag, content, what follows it).
pub fn next(d: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (tag, h, l) = tlv(d)?;
    Some((tag, &d[h..h + l], &d[h + l..]))
}

/// The elements of a DER content, raw (header included).
pub fn elements(mut d: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !d.is_empty() {
        let (_, h, l) = tlv(d)?;
        out.push(&d[..h + l]);
        d = &d[h + l..];
    }
    Some(out)
}

/// Encodes a TLV with a one-byte tag.
pub fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|&b| b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_checked() {
        // SEQUENCE { INTEGER 5 } and a long-form length.
        assert_eq!(tlv(&[0x30, 0x03, 0x02, 0x01, 0x05]), Some((0x30, 2, 3)));
        assert_eq!(tlv(&[0x30, 0x04, 0x02, 0x01, 0x05]), None, "content past the end");
        assert_eq!(tlv(&[0x04, 0x81]), None);
        let long = der(0x04, &[7; 200]);
        assert_eq!(&long[..3], &[0x04, 0x81, 200]);
        assert_eq!(next(&long).map(|(t, c, r)| (t, c.len(), r.len())), Some((0x04, 200, 0)));
        assert_eq!(elements(&[0x05, 0x00, 0x05, 0x00]).unwrap().len(), 2);
        assert!(elements(&[0x05, 0x00, 0x05]).is_none());
    }
}
