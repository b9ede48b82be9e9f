//! The tabs and line breaks of ods cell text, which calamine drops: an ods file saves a tab
//! in a cell as `<text:tab/>` and a line break within a paragraph as `<text:line-break/>`
//! (LibreOffice and odfpy both do), and calamine 0.32 reads only the text around them
//! (`before<text:tab/>after` reads `beforeafter`). Before calamine opens an ods file that holds
//! either, the file is rewritten in memory with each one as the character itself, which
//! calamine keeps; line breaks between paragraphs (`<text:p>`) it already keeps.

use std::io::{Cursor, Read, Write};

/// The ods file `bytes` with its cells' `<text:tab/>` and `<text:line-break/>` written as a
/// tab and a line feed; `None` when the file is not an ods file or holds neither (it is then
/// read as it is: a first pass over its cells' XML, held nowhere, tells).
pub(super) fn with_tabs_and_breaks(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut book = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let mut mimetype = String::new();
    book.by_name("mimetype")
        .ok()?
        .take(200)
        .read_to_string(&mut mimetype)
        .ok()?;
    if !mimetype.starts_with("application/vnd.oasis.opendocument") {
        return None;
    }
    if !holds_any(book.by_name("content.xml").ok()?) {
        return None;
    }
    let mut content = Vec::new();
    book.by_name("content.xml")
        .ok()?
        .read_to_end(&mut content)
        .ok()?;
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::with_capacity(bytes.len() + content.len())));
    for index in 0..book.len() {
        let entry = book.by_index_raw(index).ok()?;
        if entry.name() == "content.xml" {
            drop(entry);
            let stored = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored)
                .large_file(content.len() >= u32::MAX as usize);
            out.start_file("content.xml", stored).ok()?;
            replace_into(&content, &mut out).ok()?;
        } else {
            out.raw_copy_file(entry).ok()?;
        }
    }
    Some(out.finish().ok()?.into_inner())
}

/// The elements written as characters, and the character each stands for.
const ELEMENTS: [(&[u8], u8); 2] = [(b"text:tab", b'\t'), (b"text:line-break", b'\n')];

/// Whether the XML `reader` gives holds the start of one of [`ELEMENTS`], read a piece at a
/// time.
fn holds_any(mut reader: impl Read) -> bool {
    const KEPT: usize = 32;
    let finders = ELEMENTS.map(|(name, _)| memchr::memmem::Finder::new(name));
    let mut buf = vec![0u8; 1 << 16];
    let mut kept = 0;
    loop {
        let read = match reader.read(&mut buf[kept..]) {
            Ok(0) | Err(_) => return false,
            Ok(read) => read,
        };
        let end = kept + read;
        if finders.iter().any(|f| f.find(&buf[..end]).is_some()) {
            return true;
        }
        // The last bytes stay in front of the next piece: an element may straddle the two.
        kept = end.min(KEPT);
        buf.copy_within(end - kept..end, 0);
    }
}

/// `xml` with each of [`ELEMENTS`] (`<text:tab/>`, `<text:tab text:tab-ref="1"/>`, or
/// `<text:tab></text:tab>`) as its character; `None` when it holds none.
#[cfg(test)]
fn replaced(xml: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let count = replace_into(xml, &mut out).ok()?;
    (count > 0).then_some(out)
}

/// Writes `xml` to `out` with each of [`ELEMENTS`] as its character; how many there were.
fn replace_into(xml: &[u8], out: &mut impl Write) -> std::io::Result<usize> {
    let finder = memchr::memmem::Finder::new(b"<text:");
    let mut count = 0;
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = finder.find(&xml[from..]) {
        let start = from + found;
        from = start + 1;
        let Some((element, character)) = ELEMENTS.iter().find_map(|(name, c)| {
            let after = xml[start + 1..].strip_prefix(*name)?;
            matches!(
                after.first(),
                Some(b'/' | b'>' | b' ' | b'\t' | b'\r' | b'\n')
            )
            .then_some((*name, *c))
        }) else {
            continue;
        };
        let Some(end) = memchr::memchr(b'>', &xml[start..]).map(|e| start + e + 1) else {
            break;
        };
        let self_closing = xml[end - 2] == b'/';
        // `<text:tab></text:tab>`: the end tag goes too.
        let end_tag = [b"</".as_slice(), element, b">"].concat();
        let end = if !self_closing && xml[end..].starts_with(&end_tag) {
            end + end_tag.len()
        } else {
            end
        };
        out.write_all(&xml[copied..start])?;
        out.write_all(&[character])?;
        count += 1;
        copied = end;
        from = end;
    }
    out.write_all(&xml[copied..])?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(xml: &str) -> Option<String> {
        replaced(xml.as_bytes()).map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn tabs_and_line_breaks_become_their_characters() {
        assert_eq!(
            text("<text:p>before<text:tab/>after</text:p>").as_deref(),
            Some("<text:p>before\tafter</text:p>")
        );
        assert_eq!(
            text("<text:p>x<text:line-break/>y<text:line-break/>z</text:p>").as_deref(),
            Some("<text:p>x\ny\nz</text:p>")
        );
        assert_eq!(
            text(r#"<text:p>a<text:tab text:tab-ref="1"/>b<text:tab></text:tab>c</text:p>"#)
                .as_deref(),
            Some("<text:p>a\tb\tc</text:p>")
        );
        assert_eq!(
            text("<text:p>a<text:s/>b</text:p><style:tab-stops/><text:tabs/>"),
            None,
            "other elements are left alone"
        );
        assert!(holds_any(&b"<text:p>a<text:tab/>b</text:p>"[..]));
        assert!(!holds_any(&b"<text:p>a<text:s/>b</text:p>"[..]));
        // An element split between two pieces read.
        let mut long = vec![b' '; (1 << 16) - 4];
        long.extend_from_slice(b"<text:line-break/>");
        assert!(holds_any(&long[..]));
    }
}
