//! The input's text on its way to the CSV reader ([`Decoded`]), and the lines where its
//! records start, counted from those same bytes as they pass: the file is read once for its
//! records and their lines, not once for each.
//!
//! The csv crate's own line numbers drift on CRLF files and blank lines; its byte offsets do
//! not, so a record's line is counted from its offset. The bytes between the last offset asked
//! for and the reader's position are kept until then: the CSV reader's buffer ahead, and the
//! record being read (all of the file only when a quote left open swallowed it).

use std::io::Read;

/// The decoded text the CSV reader reads, keeping what it needs to say the line of a record
/// from its byte offset, when it counts lines at all.
pub struct Decoded {
    /// The text.
    inner: Box<dyn Read + Send>,
    /// The bytes read and not yet counted, when lines are counted.
    kept: Option<Kept>,
}

/// Bytes read and not yet counted, and the count so far.
struct Kept {
    /// Bytes read; those before `at` are counted.
    bytes: Vec<u8>,
    /// The first byte of `bytes` not counted.
    at: usize,
    /// The offset (in the text) of `bytes[at]`.
    pos: u64,
    /// The line at `pos`.
    lines: Lines,
}

impl Read for Decoded {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(kept) = &mut self.kept {
            kept.bytes.extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }
}

impl Decoded {
    /// `inner`, whose first byte is on line `first_line`, counting lines when `count`.
    pub(super) fn new(inner: Box<dyn Read + Send>, count: bool, first_line: u64) -> Decoded {
        Decoded {
            inner,
            kept: count.then(|| Kept {
                bytes: Vec::new(),
                at: 0,
                pos: 0,
                lines: Lines {
                    line: first_line,
                    after_cr: false,
                },
            }),
        }
    }

    /// The line of the first byte at or after `offset` that is not a line ending; `offset`s
    /// asked for never go back. `None` when lines are not counted.
    pub(super) fn line_at(&mut self, offset: u64) -> Option<u64> {
        let kept = self.kept.as_mut()?;
        let want = offset.saturating_sub(kept.pos) as usize;
        let n = want.min(kept.bytes.len() - kept.at);
        kept.lines.count(&kept.bytes[kept.at..kept.at + n]);
        kept.at += n;
        kept.pos += n as u64;
        // A record's offset may point at the end of the line before it.
        while let Some(&b @ (b'\n' | b'\r')) = kept.bytes.get(kept.at) {
            kept.lines.count(&[b]);
            kept.at += 1;
            kept.pos += 1;
        }
        if kept.at >= 64 * 1024 && kept.at * 2 >= kept.bytes.len() {
            kept.bytes.drain(..kept.at);
            kept.at = 0;
        }
        Some(kept.lines.line)
    }

    /// The rest of the text from the last offset asked for ([`Decoded::line_at`]): at the end
    /// of the file, the last record and what follows it.
    pub(super) fn rest(&mut self) -> Option<&[u8]> {
        let kept = self.kept.as_mut()?;
        let mut more = Vec::new();
        self.inner.read_to_end(&mut more).ok()?;
        kept.bytes.extend_from_slice(&more);
        Some(&kept.bytes[kept.at..])
    }
}

/// Counting lines as the CSV reader ends records: at LF, at CRLF, or at a lone CR (old Mac
/// exports), so the three and any mix of them count alike.
pub(super) struct Lines {
    /// The line reached (1-based).
    pub(super) line: u64,
    /// The last byte counted was a CR: an LF right after it ends no further line.
    pub(super) after_cr: bool,
}

impl Lines {
    /// Counts the line endings in `bytes`, which follow what was counted before.
    pub(super) fn count(&mut self, bytes: &[u8]) {
        // Most files end lines with LF or CRLF alone: count LFs the fast way when no CR can
        // change the count.
        if !self.after_cr && memchr::memchr(b'\r', bytes).is_none() {
            self.line += memchr::memchr_iter(b'\n', bytes).count() as u64;
            return;
        }
        for &b in bytes {
            match b {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' => self.line += 1,
                b'\r' => {
                    self.line += 1;
                    self.after_cr = true;
                }
                _ => self.after_cr = false,
            }
        }
    }
}

/// Reads past the first `lines` lines of `text` (ended as [`Lines`] ends them): the title
/// rows above a header named by `--header-row`. The text after them.
pub(super) fn skip_lines(
    text: Box<dyn Read + Send>,
    lines: u64,
) -> std::io::Result<Box<dyn Read + Send>> {
    use std::io::BufRead;
    if lines == 0 {
        return Ok(text);
    }
    let mut text = std::io::BufReader::with_capacity(64 * 1024, text);
    let mut counted = Lines {
        line: 0,
        after_cr: false,
    };
    loop {
        let buf = text.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        if counted.line == lines {
            // The LF of a CRLF that ended the last line skipped.
            if counted.after_cr && buf[0] == b'\n' {
                text.consume(1);
            }
            break;
        }
        let mut used = 0;
        for &b in buf {
            counted.count(&[b]);
            used += 1;
            if counted.line == lines {
                break;
            }
        }
        text.consume(used);
    }
    Ok(Box::new(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_lines_are_skipped_whatever_ends_them() {
        for (text, rest) in [
            (&b"title\r\n\r\nname\nx\n"[..], "name\nx\n"),
            (b"title\r\rname\n", "name\n"),
            (b"t\n\nname", "name"),
            (b"t\n", ""),
        ] {
            let mut out = String::new();
            skip_lines(Box::new(text), 2)
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            assert_eq!(out, rest, "{text:?}");
        }
    }

    #[test]
    fn lines_are_counted_from_the_bytes_read() {
        let mut text = Decoded::new(Box::new(&b"a\r\nb\rc\n\nd"[..]), true, 5);
        let mut all = Vec::new();
        text.read_to_end(&mut all).unwrap();
        assert_eq!(text.line_at(0), Some(5));
        assert_eq!(text.line_at(1), Some(6));
        assert_eq!(text.line_at(4), Some(7));
        assert_eq!(text.line_at(6), Some(9));
        assert_eq!(text.rest(), Some(&b"d"[..]));
    }
}
