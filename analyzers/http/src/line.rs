//! Zeek's `ContentLine_Analyzer` as HTTP uses it: a direction's bytes become lines (ended by CRLF, a lone
//! LF or a lone CR; an LF right after a lone CR that ended a line is swallowed), or pass through
//! unsplit while "plain delivery" of a known number of body bytes is on.

/// Longest line kept; a longer one is cut there and delivered (Zeek emits the line it has when it
/// cannot grow its buffer, with the weird `contentline_size_exceeded`).
pub const MAX_LINE: usize = 1 << 20;

/// What [`LineSplitter::next`] produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    /// `data[start..end]`: a whole line (without its end) or plain bytes.
    Slice { start: usize, end: usize, is_line: bool },
    /// A line assembled in the splitter's buffer ([`LineSplitter::take_buffer`]).
    Buffered { cut: bool },
}

/// One direction's line state.
#[derive(Debug, Default)]
pub struct LineSplitter {
    buf: Vec<u8>,
    /// The last byte handled ended a line with a lone CR.
    after_cr: bool,
    /// Plain-delivery bytes left (`u64::MAX`: until the end).
    plain: u64,
    /// Nothing more is delivered (Zeek's `SetSkipDeliveries`).
    skip: bool,
}

impl LineSplitter {
    /// Delivers the next `n` bytes unsplit (0 turns plain delivery off).
    pub fn set_plain(&mut self, n: u64) {
        self.plain = n;
    }

    pub fn skip_all(&mut self) {
        self.skip = true;
        self.buf.clear();
    }

    /// The next piece of `data` and how many bytes of it were used; None when everything left was
    /// buffered as the start of a line.
    pub fn next(&mut self, data: &[u8]) -> Option<(Piece, usize)> {
        if self.skip || data.is_empty() {
            return None;
        }
        if self.plain > 0 {
            let n = (data.len() as u64).min(self.plain) as usize;
            if self.plain != u64::MAX {
                self.plain -= n as u64;
            }
            self.after_cr = false;
            return Some((
                Piece::Slice {
                    start: 0,
                    end: n,
                    is_line: false,
                },
                n,
            ));
        }
        let mut start = 0;
        if self.after_cr && data[0] == b'\n' && self.buf.is_empty() {
            start = 1;
        }
        self.after_cr = false;
        for i in start..data.len() {
            let (end, used) = match data[i] {
                b'\r' if data.get(i + 1) == Some(&b'\n') => (i, i + 2),
                b'\r' => {
                    self.after_cr = true;
                    (i, i + 1)
                }
                b'\n' => (i, i + 1),
                _ => {
                    if self.buf.len() + (i - start) >= MAX_LINE {
                        self.buf.extend_from_slice(&data[start..i]);
                        return Some((Piece::Buffered { cut: true }, i));
                    }
                    continue;
                }
            };
            if self.buf.is_empty() {
                return Some((
                    Piece::Slice {
                        start,
                        end,
                        is_line: true,
                    },
                    used,
                ));
            }
            self.buf.extend_from_slice(&data[start..end]);
            return Some((Piece::Buffered { cut: false }, used));
        }
        self.buf.extend_from_slice(&data[start..]);
        None
    }

    /// The buffered line (to be handed back with [`LineSplitter::return_buffer`], which keeps the
    /// allocation).
    pub fn take_buffer(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    pub fn return_buffer(&mut self, mut buf: Vec<u8>) {
        buf.clear();
        self.buf = buf;
    }

    /// At the end of the direction: a started line without its end, if any.
    pub fn flush(&mut self) -> Option<Vec<u8>> {
        (!self.buf.is_empty() && !self.skip).then(|| self.take_buffer())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<(Vec<u8>, bool)> {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        for c in chunks {
            let mut rest: &[u8] = c;
            while let Some((p, used)) = s.next(rest) {
                match p {
                    Piece::Slice { start, end, is_line } => out.push((rest[start..end].to_vec(), is_line)),
                    Piece::Buffered { .. } => {
                        let b = s.take_buffer();
                        out.push((b.clone(), true));
                        s.return_buffer(b);
                    }
                }
                rest = &rest[used..];
            }
        }
        out
    }

    #[test]
    fn line_ends() {
        let l = split(&[b"a\r\nb\nc\rd\r", b"\ne\r\n"]);
        let lines: Vec<&[u8]> = l.iter().map(|(v, _)| v.as_slice()).collect();
        // "d\r" ends a line; the LF that follows in the next chunk is swallowed.
        assert_eq!(lines, [&b"a"[..], b"b", b"c", b"d", b"e"]);
    }

    #[test]
    fn lines_across_chunks_are_buffered() {
        let l = split(&[b"GE", b"T / HT", b"TP/1.0\r", b"\n"]);
        assert_eq!(l, vec![(b"GET / HTTP/1.0".to_vec(), true)]);
    }

    #[test]
    fn plain_delivery() {
        let mut s = LineSplitter::default();
        s.set_plain(3);
        assert_eq!(
            s.next(b"abcd\n"),
            Some((
                Piece::Slice {
                    start: 0,
                    end: 3,
                    is_line: false
                },
                3
            ))
        );
        assert_eq!(
            s.next(b"d\n"),
            Some((
                Piece::Slice {
                    start: 0,
                    end: 1,
                    is_line: true
                },
                2
            ))
        );
    }
}
