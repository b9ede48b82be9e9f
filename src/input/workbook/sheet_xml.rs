//! An xlsx sheet read from its XML by hand, into CSV text ([`TextBuilder`]), the entry
//! inflated on a thread of its own while the XML is read: five times faster than calamine's
//! cell reader, whose XML events cost most of an import's reading of a large workbook (a
//! million rows: 5 s, against 1 s to check them all).
//!
//! It reads the XML spreadsheet programs write: rows, cells, values, shared and inline strings
//! (rich text runs too, phonetic runs left out), the five XML entities and character
//! references. A cell reads as calamine reads it ([`super::parts`] for the formats and
//! strings), so the text is the same either way. Anything else, a formula among them (the
//! sheet's formulas are read beside its values, by calamine), and the sheet is left to
//! calamine ([`Unread`]): what is read here is only ever the common case, made fast.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::sync::mpsc;

use calamine::{CellErrorType, Data, ExcelDateTime, ExcelDateTimeType};

use super::parts::{self, Format, Parts};
use super::text::TextBuilder;
use crate::input::Dialect;

/// What a sheet's text is: as [`super::read_sheet`] says.
type Read = (Option<super::Sheet>, bool);

/// The sheet holds something only calamine reads, or is not as expected: calamine reads it.
#[derive(Debug)]
pub(super) struct Unread;

/// How much of the sheet's XML is inflated at a time.
const CHUNK: usize = 256 * 1024;

/// Excel's widest sheet: a cell further right is not read here.
const COLUMNS: u32 = 16_384;

/// A reader of a file at an offset of its own, for a zip archive: two archives read the one
/// file on two threads without moving each other.
struct At<'f> {
    file: &'f File,
    at: u64,
}

impl std::io::Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        #[cfg(unix)]
        let read = std::os::unix::fs::FileExt::read_at(self.file, buf, self.at)?;
        #[cfg(windows)]
        let read = std::os::windows::fs::FileExt::seek_read(self.file, buf, self.at)?;
        self.at += read as u64;
        Ok(read)
    }
}

impl Seek for At<'_> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let len = self.file.metadata()?.len();
        let at = match pos {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::End(back) => len.checked_add_signed(back),
            SeekFrom::Current(by) => self.at.checked_add_signed(by),
        };
        self.at = at.ok_or_else(|| std::io::Error::other("seek before the file's start"))?;
        Ok(self.at)
    }
}

/// A zip archive read from `file` through a buffer.
type Zip<'f> = zip::ZipArchive<std::io::BufReader<At<'f>>>;

/// Opens the zip file `file` as an archive.
fn zip(file: &File) -> Option<Zip<'_>> {
    let reader = std::io::BufReader::with_capacity(64 * 1024, At { file, at: 0 });
    zip::ZipArchive::new(reader).ok()
}

/// An xlsx workbook whose sheets this module reads.
pub(super) struct Workbook<'f> {
    file: &'f File,
    zip: Zip<'f>,
    parts: Parts,
}

impl<'f> Workbook<'f> {
    /// The xlsx workbook `file`, if it is a zip file with the parts an xlsx workbook has.
    pub(super) fn open(file: &'f File) -> Option<Workbook<'f>> {
        let mut zip = zip(file)?;
        let parts = Parts::read(&mut zip)?;
        Some(Workbook { file, zip, parts })
    }

    /// Its sheets, in order.
    pub(super) fn sheets(&self) -> Vec<calamine::Sheet> {
        self.parts.sheets.iter().map(|(s, _)| s.clone()).collect()
    }

    /// The sheet `name` as CSV text in `dir`, and whether it holds a value ([`TextBuilder`]).
    ///
    /// # Errors
    /// [`Unread`] when calamine is to read it; a message when the text cannot be written or
    /// the header holds an error cell.
    pub(super) fn read_sheet(
        &mut self,
        name: &str,
        dialect: &Dialect,
        recalculated: bool,
        dir: &Path,
    ) -> Result<Result<Read, String>, Unread> {
        let (_, path) = self
            .parts
            .sheets
            .iter()
            .find(|(s, _)| s.name == name)
            .ok_or(Unread)?;
        let path = self
            .zip
            .file_names()
            .find(|n| n.replace('\\', "/").eq_ignore_ascii_case(path))
            .ok_or(Unread)?
            .to_string();
        let strings = parts::shared_strings(&mut self.zip).ok_or(Unread)?;
        let text = match TextBuilder::new(name, dialect, recalculated, dir) {
            Ok(text) => text,
            Err(e) => return Ok(Err(e)),
        };
        let file = self.file;
        let (sender, chunks) = mpsc::sync_channel(4);
        std::thread::scope(|scope| {
            scope.spawn(move || inflate(file, &path, &sender));
            let mut sheet = Scan {
                chunks,
                buf: Vec::with_capacity(2 * CHUNK),
                strings: &strings,
                formats: &self.parts.formats,
                is_1904: self.parts.is_1904,
                row_index: 0,
                col_index: 0,
                row: Vec::new(),
                at: None,
                text,
                failed: None,
            };
            sheet.rows()?;
            Ok(match sheet.failed {
                Some(e) => Err(e),
                None => sheet.text.finish(),
            })
        })
    }
}

/// Sends the zip entry `path` of `file`, inflated a chunk at a time, until it ends, an error
/// (sent too), or nobody is reading.
fn inflate(file: &File, path: &str, chunks: &mpsc::SyncSender<std::io::Result<Vec<u8>>>) {
    let Some(mut zip) = zip(file) else {
        let _ = chunks.send(Err(std::io::Error::other("not a zip file")));
        return;
    };
    let mut entry = match zip.by_name(path) {
        Ok(entry) => entry,
        Err(e) => {
            let _ = chunks.send(Err(std::io::Error::other(e)));
            return;
        }
    };
    loop {
        let mut chunk = vec![0u8; CHUNK];
        let mut filled = 0;
        while filled < CHUNK {
            match std::io::Read::read(&mut entry, &mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = chunks.send(Err(e));
                    return;
                }
            }
        }
        if filled == 0 {
            return;
        }
        chunk.truncate(filled);
        if chunks.send(Ok(chunk)).is_err() {
            return;
        }
    }
}

/// The sheet's XML as it is read, and what its cells are read with.
struct Scan<'s> {
    chunks: mpsc::Receiver<std::io::Result<Vec<u8>>>,
    /// The XML read and not yet used.
    buf: Vec<u8>,
    strings: &'s [String],
    formats: &'s [Format],
    is_1904: bool,
    /// The row a cell without a reference is in (0-based), and its column.
    row_index: u32,
    col_index: u32,
    /// The cells of the row being read, and its index.
    row: Vec<Data>,
    at: Option<u32>,
    /// The sheet's text, and why it stopped being written (an error cell in the header).
    text: TextBuilder,
    failed: Option<String>,
}

/// A tag at a place in the XML: where its name ends and its attributes end, whether it
/// closes itself (`<c/>`), and where the XML after it starts.
#[derive(Clone, Copy)]
struct Tag {
    start: usize,
    name_end: usize,
    end: usize,
    empty: bool,
    next: usize,
}

/// The tag starting at `xml[lt]` (a `<`); [`Unread`] when it does not end.
fn tag_at(xml: &[u8], lt: usize) -> Result<Tag, Unread> {
    let start = lt + 1;
    let mut gt = start;
    while *xml.get(gt).ok_or(Unread)? != b'>' {
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
fn next_tag(xml: &[u8], at: usize, text_ok: bool) -> Result<Option<usize>, Unread> {
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
fn tag_after(xml: &[u8], at: usize, text_ok: bool) -> Result<Tag, Unread> {
    tag_at(xml, next_tag(xml, at, text_ok)?.ok_or(Unread)?)
}

/// The text from `at` to the next tag, and that tag, which must be `close`.
fn text_to<'x>(xml: &'x [u8], at: usize, close: &[u8]) -> Result<(&'x [u8], usize), Unread> {
    let lt = at + memchr::memchr(b'<', &xml[at..]).ok_or(Unread)?;
    let end = tag_at(xml, lt)?;
    if &xml[end.start..end.name_end] != close || end.empty {
        return Err(Unread);
    }
    Ok((&xml[at..lt], end.next))
}

/// The value of the attribute `key` in a tag's attributes `attrs`, as written; [`Unread`] when
/// they are not as expected or the value holds an entity.
fn attr<'a>(attrs: &'a [u8], key: &[u8]) -> Result<Option<&'a [u8]>, Unread> {
    let mut found = None;
    each_attr(attrs, |name, value| {
        if name == key {
            found = Some(value);
        }
    })?;
    Ok(found)
}

/// Each attribute of a tag's attributes `attrs` given to `each`, by name and value as written;
/// [`Unread`] when they are not as expected or a value holds an entity.
fn each_attr<'a>(attrs: &'a [u8], mut each: impl FnMut(&'a [u8], &'a [u8])) -> Result<(), Unread> {
    let mut rest = attrs;
    loop {
        rest = rest.trim_ascii_start();
        if rest.is_empty() {
            return Ok(());
        }
        let eq = rest.iter().position(|b| *b == b'=').ok_or(Unread)?;
        let name = rest[..eq].trim_ascii_end();
        let after = rest[eq + 1..].trim_ascii_start();
        let quote = *after
            .first()
            .filter(|q| matches!(q, b'"' | b'\''))
            .ok_or(Unread)?;
        let end = after[1..].iter().position(|b| *b == quote).ok_or(Unread)?;
        let value = &after[1..=end];
        if value.contains(&b'&') {
            return Err(Unread);
        }
        each(name, value);
        rest = &after[end + 2..];
    }
}

/// A cell's type (`t`).
#[derive(Clone, Copy, PartialEq)]
enum Kind {
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
struct CellTag {
    at: Option<(u32, u32)>,
    kind: Kind,
    style: Option<usize>,
}

impl CellTag {
    /// The attributes `attrs` of a `<c>` tag.
    fn of(attrs: &[u8]) -> Result<CellTag, Unread> {
        let (mut r, mut t, mut s) = (None, None, None);
        each_attr(attrs, |name, value| match name {
            b"r" => r = Some(value),
            b"t" => t = Some(value),
            b"s" => s = Some(value),
            _ => {}
        })?;
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

impl Scan<'_> {
    /// Reads more of the XML into the buffer; `false` at its end.
    fn fill(&mut self) -> Result<bool, Unread> {
        match self.chunks.recv() {
            Ok(Ok(chunk)) => {
                self.buf.extend_from_slice(&chunk);
                Ok(true)
            }
            Ok(Err(_)) => Err(Unread),
            Err(_) => Ok(false),
        }
    }

    /// Every row of the sheet written to `text`, up to the end of its `sheetData`: the XML is
    /// read in runs of whole rows, up to the last `</row>` read so far.
    fn rows(&mut self) -> Result<(), Unread> {
        let finder = memchr::memmem::Finder::new(b"<sheetData");
        let mut from = 0;
        let data = loop {
            if let Some(at) = finder.find(&self.buf[from..]) {
                break from + at;
            }
            from = self.buf.len().saturating_sub(10);
            if !self.fill()? {
                return Err(Unread);
            }
        };
        while memchr::memchr(b'>', &self.buf[data..]).is_none() {
            if !self.fill()? {
                return Err(Unread);
            }
        }
        let open = tag_at(&self.buf, data)?;
        if &self.buf[open.start..open.name_end] != b"sheetData" {
            return Err(Unread);
        }
        if open.empty {
            return Ok(());
        }
        self.buf.drain(..open.next);
        let rows_end = memchr::memmem::FinderRev::new(b"</row>");
        let mut searched = 0;
        loop {
            let more = self.fill()?;
            let cut = if more {
                match rows_end.rfind(&self.buf[searched..]) {
                    Some(at) => searched + at + b"</row>".len(),
                    None => {
                        searched = self.buf.len().saturating_sub(5);
                        continue;
                    }
                }
            } else {
                self.buf.len()
            };
            let xml = std::mem::take(&mut self.buf);
            let ended = self.run(&xml[..cut])?;
            if ended {
                break;
            }
            if !more {
                return Err(Unread);
            }
            self.buf = xml;
            self.buf.drain(..cut);
            searched = 0;
        }
        self.end_row();
        Ok(())
    }

    /// Ends the row being read, if any, written to the text; `false` when the text has stopped
    /// (at an error cell in the header).
    fn end_row(&mut self) -> bool {
        let Some(number) = self.at.take() else {
            return true;
        };
        if let Err(e) = self.text.push(number + 1, 0, &self.row, &|_| None) {
            self.failed = Some(e);
            return false;
        }
        self.row.clear();
        true
    }

    /// The rows of `xml` (whole rows, or the sheet's last) read; whether the `sheetData`
    /// ended (or the writer stopped).
    fn run(&mut self, xml: &[u8]) -> Result<bool, Unread> {
        let mut i = 0;
        while let Some(lt) = next_tag(xml, i, false)? {
            let tag = tag_at(xml, lt)?;
            i = tag.next;
            match &xml[tag.start..tag.name_end] {
                b"row" => {
                    if let Some(r) = attr(&xml[tag.name_end..tag.end], b"r")? {
                        self.row_index = position(r, false)?.0;
                    }
                    if tag.empty {
                        self.row_index += 1;
                        self.col_index = 0;
                    }
                }
                b"/row" => {
                    self.row_index += 1;
                    self.col_index = 0;
                }
                b"c" => {
                    let cell = CellTag::of(&xml[tag.name_end..tag.end])?;
                    let (r, c) = cell.at.unwrap_or((self.row_index, self.col_index));
                    self.col_index = c + 1;
                    let value = if tag.empty {
                        Data::Empty
                    } else {
                        let (value, next) = self.cell(xml, i, &cell)?;
                        i = next;
                        value
                    };
                    if self.at != Some(r) {
                        if !self.end_row() {
                            return Ok(true);
                        }
                        self.at = Some(r);
                    }
                    let c = c as usize;
                    if self.row.len() <= c {
                        self.row.resize(c + 1, Data::Empty);
                    }
                    self.row[c] = value;
                }
                b"/sheetData" => return Ok(true),
                _ => return Err(Unread),
            }
        }
        Ok(false)
    }

    /// The value of the cell `c` (not empty) whose content starts at `xml[at]`, up to its end
    /// (its last `<v>` or `<is>`), and where the XML after it starts.
    fn cell(&self, xml: &[u8], mut at: usize, c: &CellTag) -> Result<(Data, usize), Unread> {
        if let Some(read) = self.plain_cell(xml, at, c) {
            return read;
        }
        let mut value = Data::Empty;
        loop {
            let tag = tag_after(xml, at, false)?;
            at = tag.next;
            match (&xml[tag.start..tag.name_end], tag.empty) {
                (b"v", true) => value = self.value(b"", c)?,
                (b"v", false) => {
                    let (v, next) = text_to(xml, at, b"/v")?;
                    value = self.value(v, c)?;
                    at = next;
                }
                (b"is", true) => value = Data::String(String::new()),
                (b"is", false) => {
                    let (s, next) = inline_string(xml, at)?;
                    value = Data::String(s);
                    at = next;
                }
                (b"/c", _) => return Ok((value, at)),
                _ => return Err(Unread),
            }
        }
    }

    /// The value of the cell `c` whose content starts at `xml[at]`, and where the XML after
    /// it starts, when it is written as most are: `<v>1</v></c>` or `<is><t>text</t></is></c>`;
    /// `None` when it is written otherwise.
    fn plain_cell(
        &self,
        xml: &[u8],
        at: usize,
        c: &CellTag,
    ) -> Option<Result<(Data, usize), Unread>> {
        const INLINE: [&[u8]; 2] = [b"<is><t>", b"<is><t xml:space=\"preserve\">"];
        let rest = &xml[at..];
        let (open, close): (&[u8], &[u8]) = if rest.starts_with(b"<v>") {
            (b"<v>", b"</v></c>")
        } else {
            (
                INLINE.into_iter().find(|o| rest.starts_with(o))?,
                b"</t></is></c>",
            )
        };
        let from = at + open.len();
        let lt = from + memchr::memchr(b'<', &xml[from..])?;
        if !xml[lt..].starts_with(close) {
            return None;
        }
        let raw = &xml[from..lt];
        let value = if open == b"<v>" {
            self.value(raw, c)
        } else {
            unescape(raw).map(|t| {
                Data::String(match unescape_x(&t) {
                    std::borrow::Cow::Borrowed(_) => t,
                    std::borrow::Cow::Owned(x) => x,
                })
            })
        };
        Some(value.map(|value| (value, lt + close.len())))
    }

    /// A `<v>`'s text `v` as a value of the cell `c`, by its type and format.
    fn value(&self, v: &[u8], c: &CellTag) -> Result<Data, Unread> {
        if c.kind == Kind::Shared {
            let index = number(v).unwrap_or(0);
            return Ok(Data::String(self.strings.get(index).ok_or(Unread)?.clone()));
        }
        let v = unescape(v)?;
        let format = match c.style {
            Some(style) => self.formats.get(style).copied(),
            None => Some(Format::Number),
        };
        let numeric = |n: f64| {
            let kind = match format {
                Some(Format::DateTime) => ExcelDateTimeType::DateTime,
                Some(Format::Duration) => ExcelDateTimeType::TimeDelta,
                _ => return Data::Float(n),
            };
            Data::DateTime(ExcelDateTime::new(n, kind, self.is_1904))
        };
        Ok(match c.kind {
            Kind::Bool => Data::Bool(v != "0"),
            Kind::Error => Data::Error(v.parse::<CellErrorType>().map_err(|_| Unread)?),
            Kind::Date => Data::DateTimeIso(v),
            Kind::Text => Data::String(v),
            Kind::Number if v.is_empty() => Data::Empty,
            Kind::Number => numeric(v.parse().map_err(|_| Unread)?),
            Kind::Untyped => match v.parse() {
                Ok(n) => numeric(n),
                Err(_) => Data::String(v),
            },
            Kind::Shared | Kind::Inline => return Err(Unread),
        })
    }
}

/// An inline string's text, whose content starts at `xml[at]`, up to the end of its `<is>`:
/// its first `<t>`, or every `<t>` of its runs but the phonetic ones (`<rPh>`); and where the
/// XML after it starts.
fn inline_string(xml: &[u8], mut at: usize) -> Result<(String, usize), Unread> {
    let mut rich: Option<String> = None;
    let mut phonetic = false;
    loop {
        let tag = tag_after(xml, at, true)?;
        at = tag.next;
        match (&xml[tag.start..tag.name_end], tag.empty) {
            (b"r", false) => {
                rich.get_or_insert_with(String::new);
            }
            (b"rPh", false) => phonetic = true,
            (b"/rPh", _) => phonetic = false,
            (b"/is", _) => return Ok((rich.unwrap_or_default(), at)),
            (b"t", empty) if !phonetic => {
                let t = if empty {
                    String::new()
                } else {
                    let (t, next) = text_to(xml, at, b"/t")?;
                    at = next;
                    let t = unescape(t)?;
                    match unescape_x(&t) {
                        std::borrow::Cow::Borrowed(_) => t,
                        std::borrow::Cow::Owned(x) => x,
                    }
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
fn number(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0usize, |n, d| {
        let d = d.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(usize::from(d))
    })
}

/// The 0-based row and column of a cell reference (`B12`), or of a row's number (`12`,
/// column 0) unless `column` is wanted.
fn position(r: &[u8], column: bool) -> Result<(u32, u32), Unread> {
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
        [b'#', b'x', hex @ ..] => {
            char::from_u32(u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?)
        }
        [b'#', dec @ ..] => char::from_u32(std::str::from_utf8(dec).ok()?.parse().ok()?),
        _ => None,
    }
}

/// XML text as the characters it stands for: entities replaced, line ends (`\r\n`, `\r`)
/// made `\n`, as an XML reader gives them; [`Unread`] when it is not UTF-8 or holds another
/// entity.
fn unescape(raw: &[u8]) -> Result<String, Unread> {
    let raw = std::str::from_utf8(raw).map_err(|_| Unread)?;
    if memchr::memchr2(b'&', b'\r', raw.as_bytes()).is_none() {
        return Ok(raw.to_string());
    }
    let mut text = String::with_capacity(raw.len());
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
    Ok(text)
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
