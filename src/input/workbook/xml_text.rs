//! The XML of an xlsx sheet's cells, read by hand ([`super::sheet_xml`]): tags and their
//! attributes, a cell's type, style and place, text with its entities and Excel's escapes, and
//! inline strings. Each reads as calamine reads it; what does not is [`Unread`].

use super::sheet_xml::Unread;

/// Excel's widest sheet: a cell further right is not read here.
const COLUMNS: u32 = 16_384;

/// A tag at a place in the XML: where its name ends and its attributes end, whether it
/// closes itself (`<c/>`), and where the XML after it starts.
#[derive(Clone, Copy)]
pub(super) struct Tag {
    pub(super) start: usize,
    pub(super) name_end: usize,
    pub(super) end: usize,
    pub(super) empty: bool,
    pub(super) next: usize,
}

/// The tag starting at `xml[lt]` (a `<`); [`Unread`] when it does not end.
pub(super) fn tag_at(xml: &[u8], lt: usize) -> Result<Tag, Unread> {
    let start = lt + 1;
    let mut gt = start;
    let mut quote = None;
    loop {
        let b = *xml.get(gt).ok_or(Unread)?;
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'>' => break,
            None if matches!(b, b'"' | b'\'') => quote = Some(b),
            None => {}
        }
        gt += 1;
    }
    let (end, empty) = match xml[gt - 1] {
        b'/' if gt > start => (gt - 1, true),
        _ => (gt, false),
    };
    let mut name_end = start;
    while name_end < end && !xml[name_end].is_ascii_whitespace() {
        name_end += 1;
    }
    Ok(Tag {
        start,
        name_end,
        end,
        empty,
        next: gt + 1,
    })
}

/// The place of the next tag at or after `at`, the text before it blank unless `text_ok`;
/// `None` at the end of `xml`, when all that is left is blank.
pub(super) fn next_tag(xml: &[u8], at: usize, text_ok: bool) -> Result<Option<usize>, Unread> {
    if xml.get(at) == Some(&b'<') {
        return Ok(Some(at));
    }
    let rest = xml.get(at..).unwrap_or_default();
    let lt = memchr::memchr(b'<', rest);
    let text = &rest[..lt.unwrap_or(rest.len())];
    if !text_ok && !text.trim_ascii().is_empty() {
        return Err(Unread);
    }
    Ok(lt.map(|i| at + i))
}

/// The next tag at or after `at`, as [`next_tag`]; [`Unread`] at the end of `xml`.
pub(super) fn tag_after(xml: &[u8], at: usize, text_ok: bool) -> Result<Tag, Unread> {
    tag_at(xml, next_tag(xml, at, text_ok)?.ok_or(Unread)?)
}

/// The text from `at` to the next tag, and that tag, which must be `close`.
pub(super) fn text_to<'x>(
    xml: &'x [u8],
    at: usize,
    close: &[u8],
) -> Result<(&'x [u8], usize), Unread> {
    let lt = at + memchr::memchr(b'<', &xml[at..]).ok_or(Unread)?;
    let end = tag_at(xml, lt)?;
    if &xml[end.start..end.name_end] != close || end.empty {
        return Err(Unread);
    }
    Ok((&xml[at..lt], end.next))
}

/// The value of the attribute `key` in a tag's attributes `attrs`, as written (calamine reads
/// a cell's and a row's attributes so, unescaped); [`Unread`] when they are not as expected.
pub(super) fn attr<'a>(attrs: &'a [u8], key: &[u8]) -> Result<Option<&'a [u8]>, Unread> {
    let mut found = None;
    each_attr(attrs, |name, value| {
        if name == key {
            found = Some(value);
        }
    })?;
    Ok(found)
}

/// Each attribute of a tag's attributes `attrs` given to `each`, by name and value as written;
/// [`Unread`] when they are not `name="value"` or `name='value'` pairs.
pub(super) fn each_attr<'a>(
    attrs: &'a [u8],
    mut each: impl FnMut(&'a [u8], &'a [u8]),
) -> Result<(), Unread> {
    let n = attrs.len();
    let mut i = 0;
    loop {
        while i < n && attrs[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == n {
            return Ok(());
        }
        let (name, value, next) = attribute_at(attrs, i)?;
        each(name, value);
        i = next;
    }
}

/// The attribute starting at `xml[i]` (not blank): its name and value as written, and where
/// the XML after it starts; [`Unread`] when it is not `name="value"` or `name='value'`.
#[inline]
fn attribute_at(xml: &[u8], mut i: usize) -> Result<(&[u8], &[u8], usize), Unread> {
    let start = i;
    while xml
        .get(i)
        .is_some_and(|b| *b != b'=' && !b.is_ascii_whitespace())
    {
        i += 1;
    }
    let name = &xml[start..i];
    while xml.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    if xml.get(i) != Some(&b'=') {
        return Err(Unread);
    }
    i += 1;
    while xml.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    let quote = *xml
        .get(i)
        .filter(|q| matches!(q, b'"' | b'\''))
        .ok_or(Unread)?;
    let value_start = i + 1;
    let end = value_start
        + xml[value_start..]
            .iter()
            .position(|b| *b == quote)
            .ok_or(Unread)?;
    Ok((name, &xml[value_start..end], end + 1))
}

/// Whether a tag's attributes `attrs` are as expected, none given twice (an XML reader refuses
/// them so).
pub(super) fn distinct_attrs(attrs: &[u8]) -> Result<(), Unread> {
    let mut names: Vec<&[u8]> = Vec::new();
    let mut twice = false;
    each_attr(attrs, |name, _| {
        twice |= names.contains(&name);
        names.push(name);
    })?;
    if twice { Err(Unread) } else { Ok(()) }
}

/// Whether a tag before a sheet's rows, its `name` and attributes `attrs` (the XML
/// declaration's if `declaration`), reads as calamine reads it: a declared encoding but
/// UTF-8's, a comment, a processing instruction, CDATA, a prefixed `sheetData`, attributes not
/// as expected or given twice, and a dimension not a cell or a range of two are [`Unread`].
pub(super) fn before_rows(name: &[u8], attrs: &[u8], declaration: bool) -> Result<(), Unread> {
    if declaration {
        let encoding = attr(attrs, b"encoding")?.map(<[u8]>::to_ascii_lowercase);
        return match encoding.as_deref() {
            None | Some(b"utf-8" | b"utf8") => Ok(()),
            Some(_) => Err(Unread),
        };
    }
    if matches!(name.first(), Some(b'!' | b'?')) || name.ends_with(b":sheetData") {
        return Err(Unread);
    }
    distinct_attrs(attrs)?;
    let local = name.rsplit(|b| *b == b':').next().unwrap_or(name);
    if local == b"dimension" {
        let range = attr(attrs, b"ref")?.ok_or(Unread)?;
        let parts: Vec<&[u8]> = range.split(|b| *b == b':').collect();
        if parts.len() > 2 || parts.iter().any(|p| position(p, true).is_err()) {
            return Err(Unread);
        }
    }
    Ok(())
}

/// A cell's type (`t`).
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Kind {
    Untyped,
    Shared,
    Bool,
    Error,
    Date,
    Text,
    Number,
    Inline,
}

/// What a cell's tag says of it: where it is, its type and its style.
pub(super) struct CellTag {
    pub(super) at: Option<(u32, u32)>,
    pub(super) kind: Kind,
    pub(super) style: Option<usize>,
}

impl CellTag {
    /// The `<c>` tag starting at `xml[lt]` (a `<`), read in one pass: the cell, whether it
    /// closes itself, and where the XML after it starts; `None` when the tag there is not a
    /// `<c>`.
    pub(super) fn at(xml: &[u8], lt: usize) -> Result<Option<(CellTag, bool, usize)>, Unread> {
        if xml.get(lt + 1) != Some(&b'c')
            || !xml
                .get(lt + 2)
                .is_some_and(|b| matches!(b, b'>' | b'/') || b.is_ascii_whitespace())
        {
            return Ok(None);
        }
        let (mut r, mut t, mut s) = (None, None, None);
        let (mut others, mut twice) = (0, false);
        let mut i = lt + 2;
        let empty = loop {
            while xml.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            match xml.get(i) {
                Some(b'>') => break false,
                Some(b'/') if xml.get(i + 1) == Some(&b'>') => {
                    i += 1;
                    break true;
                }
                None => return Err(Unread),
                _ => {}
            }
            let (name, value, next) = attribute_at(xml, i)?;
            i = next;
            let slot = match name {
                [b'r'] => &mut r,
                [b't'] => &mut t,
                [b's'] => &mut s,
                _ => {
                    others += 1;
                    continue;
                }
            };
            twice |= slot.replace(value).is_some();
        };
        // Other attributes (`cm`, `vm`, `ph`) are rare: any given twice is refused as an XML
        // reader refuses it.
        let attrs = &xml[lt + 2..i - usize::from(empty)];
        if twice || (others > 0 && distinct_attrs(attrs).is_err()) {
            return Err(Unread);
        }
        Ok(Some((CellTag::of(r, t, s)?, empty, i + 1)))
    }

    /// A cell of the reference `r`, type `t` and style `s`, as written.
    fn of(r: Option<&[u8]>, t: Option<&[u8]>, s: Option<&[u8]>) -> Result<CellTag, Unread> {
        let kind = match t {
            None => Kind::Untyped,
            Some(b"s") => Kind::Shared,
            Some(b"b") => Kind::Bool,
            Some(b"e") => Kind::Error,
            Some(b"d") => Kind::Date,
            Some(b"str") => Kind::Text,
            Some(b"n") => Kind::Number,
            Some(b"inlineStr") => Kind::Inline,
            Some(_) => return Err(Unread),
        };
        Ok(CellTag {
            at: r.map(|r| position(r, true)).transpose()?,
            kind,
            style: s.map(|s| number(s).unwrap_or(0)),
        })
    }
}

/// An inline string's text, whose content starts at `xml[at]`, up to the end of its `<is>`:
/// its first `<t>`, or every `<t>` of its runs but the phonetic ones (`<rPh>`); and where the
/// XML after it starts.
pub(super) fn inline_string(xml: &[u8], mut at: usize) -> Result<(String, usize), Unread> {
    let mut rich: Option<String> = None;
    let mut phonetic = false;
    loop {
        let tag = tag_after(xml, at, true)?;
        at = tag.next;
        match (&xml[tag.start..tag.name_end], tag.empty) {
            (b"r", _) => {
                rich.get_or_insert_with(String::new);
            }
            (name, _) if name.contains(&b':') => return Err(Unread),
            (b"rPh", false) => phonetic = true,
            (b"/rPh", _) => phonetic = false,
            (b"/is", _) => return Ok((rich.unwrap_or_default(), at)),
            (b"t", empty) if !phonetic => {
                let t = if empty {
                    String::new()
                } else {
                    let (t, next) = text_to(xml, at, b"/t")?;
                    at = next;
                    let mut text = String::new();
                    text_of(t, &mut text)?;
                    text
                };
                match &mut rich {
                    Some(rich) => rich.push_str(&t),
                    None => loop {
                        let tag = tag_after(xml, at, true)?;
                        at = tag.next;
                        if &xml[tag.start..tag.name_end] == b"/is" {
                            return Ok((t, at));
                        }
                    },
                }
            }
            (name, _) if name.first().is_some_and(|b| matches!(b, b'!' | b'?')) => {
                return Err(Unread);
            }
            _ => {}
        }
    }
}

/// A whole number written in digits alone.
pub(super) fn number(digits: &[u8]) -> Option<usize> {
    // More than 20 digits (leading zeros too) is not a number to calamine, which reads 0.
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    digits.iter().try_fold(0usize, |n, d| {
        let d = d.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(usize::from(d))
    })
}

/// The 0-based row and column of a cell reference (`B12`), or of a row's number (`12`,
/// column 0) unless `column` is wanted.
pub(super) fn position(r: &[u8], column: bool) -> Result<(u32, u32), Unread> {
    let digits = r.iter().position(u8::is_ascii_digit).ok_or(Unread)?;
    let (letters, digits) = r.split_at(digits);
    if column == letters.is_empty() || letters.len() > 3 {
        return Err(Unread);
    }
    let row = number(digits)
        .filter(|n| (1..=u32::MAX as usize).contains(n))
        .ok_or(Unread)?;
    let mut col = 0u32;
    for b in letters {
        if !b.is_ascii_alphabetic() {
            return Err(Unread);
        }
        col = col * 26 + u32::from(b.to_ascii_uppercase() - b'A') + 1;
    }
    let col = col.saturating_sub(1);
    if col >= COLUMNS {
        return Err(Unread);
    }
    Ok((row as u32 - 1, col))
}

/// The character an entity (`lt`, `#233`, `#xE9`) stands for, if it is one XML defines.
pub(super) fn entity(name: &[u8]) -> Option<char> {
    match name {
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"amp" => Some('&'),
        b"quot" => Some('"'),
        b"apos" => Some('\''),
        [b'#', b'x', hex @ ..] if !hex.is_empty() && hex.iter().all(u8::is_ascii_hexdigit) => {
            xml_char(u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?)
        }
        [b'#', dec @ ..] if !dec.is_empty() && dec.iter().all(u8::is_ascii_digit) => {
            xml_char(std::str::from_utf8(dec).ok()?.parse().ok()?)
        }
        _ => None,
    }
}

/// The character of the code `code`, if XML allows it in a document (no NUL, no control
/// character but tab and line ends, no `U+FFFE`/`U+FFFF`).
fn xml_char(code: u32) -> Option<char> {
    let allowed = matches!(code, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..);
    allowed.then(|| char::from_u32(code)).flatten()
}

/// XML text as the characters it stands for: entities replaced, line ends (`\r\n`, `\r`)
/// made `\n`, as an XML reader gives them; [`Unread`] when it is not UTF-8 or holds another
/// entity.
pub(super) fn unescape(raw: &[u8]) -> Result<String, Unread> {
    let mut text = String::new();
    unescape_into(raw, &mut text)?;
    Ok(text)
}

/// XML text as [`unescape`] gives it, added to `text`.
pub(super) fn unescape_into(raw: &[u8], text: &mut String) -> Result<(), Unread> {
    let raw = std::str::from_utf8(raw).map_err(|_| Unread)?;
    if memchr::memchr2(b'&', b'\r', raw.as_bytes()).is_none() {
        text.push_str(raw);
        return Ok(());
    }
    let mut rest = raw;
    while let Some(i) = rest.find(['&', '\r']) {
        text.push_str(&rest[..i]);
        if rest.as_bytes()[i] == b'\r' {
            text.push('\n');
            rest = &rest[i + 1..];
            rest = rest.strip_prefix('\n').unwrap_or(rest);
            continue;
        }
        let end = rest[i..].find(';').ok_or(Unread)?;
        text.push(entity(&rest.as_bytes()[i + 1..i + end]).ok_or(Unread)?);
        rest = &rest[i + end + 1..];
    }
    text.push_str(rest);
    Ok(())
}

/// The text of a `<t>`, raw XML `raw`, into `text` (empty): [`unescape`]d, then Excel's
/// escapes replaced ([`unescape_x`]). An escape made by an entity (`&#95;x0041_`) is left to
/// calamine, which replaces escapes before entities.
pub(super) fn text_of(raw: &[u8], text: &mut String) -> Result<(), Unread> {
    unescape_into(raw, text)?;
    if let std::borrow::Cow::Owned(replaced) = unescape_x(text) {
        if raw.contains(&b'&') {
            return Err(Unread);
        }
        *text = replaced;
    }
    Ok(())
}

/// Text with Excel's escapes of characters XML cannot hold (`_x000D_`) replaced by the
/// characters, as calamine replaces them (`_x00HH_` alone).
pub(super) fn unescape_x(text: &str) -> std::borrow::Cow<'_, str> {
    let escaped = memchr::memchr_iter(b'_', text.as_bytes())
        .any(|at| text.as_bytes()[at..].starts_with(b"_x00"));
    if !escaped {
        return text.into();
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"_x00") && bytes.get(i + 6) == Some(&b'_') {
            let hex = std::str::from_utf8(&bytes[i + 4..i + 6]).ok();
            if let Some(value) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(value as char);
                i += 7;
                continue;
            }
        }
        let c = text[i..].chars().next().unwrap_or_default();
        out.push(c);
        i += c.len_utf8();
    }
    out.into()
}
