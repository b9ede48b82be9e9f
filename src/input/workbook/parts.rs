//! The small parts of an xlsx workbook that its sheets are read with ([`super::sheet_xml`]):
//! its sheets (names, visibility, where each is in the zip), the 1904 date system, the cell
//! formats that make a number a date, and the shared strings. Each is read as calamine reads
//! it, so that a sheet reads the same whichever of the two reads it; anything else (a part
//! missing or not as expected) is `None`, and calamine reads the workbook.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Seek};

use calamine::{SheetType, SheetVisible};
use quick_xml::events::{BytesStart, Event};

/// Whether a number in a cell of a format is a date, a duration or a number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Format {
    Number,
    DateTime,
    Duration,
}

/// What is read of an xlsx workbook before its sheet.
pub(super) struct Parts {
    /// Its sheets, in order, and each one's entry in the zip.
    pub sheets: Vec<(calamine::Sheet, String)>,
    /// Whether its dates count from 1904.
    pub is_1904: bool,
    /// The format of each cell style (`s`), by index.
    pub formats: Vec<Format>,
}

/// A reader of the zip entry `name` (its case aside, as calamine finds it), if it has one.
fn entry<'z, R: Read + Seek>(
    zip: &'z mut zip::ZipArchive<R>,
    name: &str,
) -> Option<quick_xml::Reader<BufReader<zip::read::ZipFile<'z, R>>>> {
    let found = entry_name(zip, name).unwrap_or_else(|| name.to_string());
    let file = zip.by_name(&found).ok()?;
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(file));
    let config = xml.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    config.check_comments = false;
    config.expand_empty_elements = true;
    Some(xml)
}

/// The name in `zip` of its entry `name`, its case and `\\` separators aside, as calamine
/// finds an entry.
pub(super) fn entry_name<R: Read + Seek>(zip: &zip::ZipArchive<R>, name: &str) -> Option<String> {
    zip.file_names()
        .find(|n| n.replace('\\', "/").eq_ignore_ascii_case(name))
        .map(str::to_string)
}

/// The value of the attribute `key` of `e`, unescaped.
fn attr(e: &BytesStart, key: &[u8]) -> Option<String> {
    e.attributes()
        .filter_map(Result::ok)
        .find(|a| a.key.as_ref() == key)
        .and_then(|a| {
            a.decode_and_unescape_value(e.decoder())
                .ok()
                .map(|v| v.into_owned())
        })
}

/// The value of the attribute `key` of `e` as it is written.
fn raw_attr(e: &BytesStart, key: &[u8]) -> Option<Vec<u8>> {
    e.attributes()
        .filter_map(Result::ok)
        .find(|a| a.key.as_ref() == key)
        .map(|a| a.value.into_owned())
}

/// Whether every attribute of `e` is well formed and none is given twice (calamine's XML
/// reader refuses them otherwise).
fn attrs_ok(e: &BytesStart) -> bool {
    e.attributes().all(|a| a.is_ok())
}

/// Reads every element start of `xml` to the end of its root element, each given to `each`;
/// `None` at an error, an attribute not as expected, or the end of the XML before the root's.
fn each_start<B: BufRead>(
    xml: &mut quick_xml::Reader<B>,
    mut each: impl FnMut(&BytesStart) -> Option<()>,
) -> Option<()> {
    let mut buf = Vec::new();
    let mut root = None;
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf).ok()? {
            Event::Start(e) => {
                if !attrs_ok(&e) {
                    return None;
                }
                root.get_or_insert_with(|| e.name().as_ref().to_vec());
                each(&e)?;
            }
            Event::End(e) if root.as_deref() == Some(e.name().as_ref()) => return Some(()),
            Event::Eof => return None,
            _ => {}
        }
    }
}

impl Parts {
    /// The parts of the xlsx workbook `zip`; `None` when one is missing or not as expected.
    pub(super) fn read<R: Read + Seek>(zip: &mut zip::ZipArchive<R>) -> Option<Parts> {
        let mut targets = HashMap::new();
        each_start(&mut entry(zip, "xl/_rels/workbook.xml.rels")?, |e| {
            if e.local_name().as_ref() == b"Relationship" {
                // The target as written, as calamine reads it.
                targets.insert(
                    raw_attr(e, b"Id")?,
                    String::from_utf8(raw_attr(e, b"Target")?).ok()?,
                );
            }
            Some(())
        })?;
        let mut sheets = Vec::new();
        let mut is_1904 = false;
        each_start(&mut entry(zip, "xl/workbook.xml")?, |e| {
            match e.local_name().as_ref() {
                b"sheet" => sheets.push(sheet(e, &targets)?),
                b"workbookPr" if e.name().as_ref() == b"workbookPr" => {
                    is_1904 = attr(e, b"date1904").is_some_and(|v| v == "1" || v == "true");
                }
                _ => {}
            }
            Some(())
        })?;
        let formats = match entry(zip, "xl/styles.xml") {
            Some(mut xml) => formats(&mut xml)?,
            None => Vec::new(),
        };
        Some(Parts {
            sheets,
            is_1904,
            formats,
        })
    }
}

/// A `<sheet>` of the workbook, and its entry in the zip found through `targets`.
fn sheet(e: &BytesStart, targets: &HashMap<Vec<u8>, String>) -> Option<(calamine::Sheet, String)> {
    let name = attr(e, b"name").unwrap_or_default();
    let visible = match attr(e, b"state").as_deref() {
        None | Some("visible") => SheetVisible::Visible,
        Some("hidden") => SheetVisible::Hidden,
        Some("veryHidden") => SheetVisible::VeryHidden,
        Some(_) => return None,
    };
    let id = raw_attr(e, b"r:id").or_else(|| raw_attr(e, b"relationships:id"))?;
    let target = targets.get(&id)?;
    let path = if target.starts_with("/xl/") {
        target[1..].to_string()
    } else if target.starts_with("xl/") {
        target.clone()
    } else {
        format!("xl/{target}")
    };
    let typ = match path.split('/').nth(1) {
        Some("worksheets") => SheetType::WorkSheet,
        Some("chartsheets") => SheetType::ChartSheet,
        Some("dialogsheets") => SheetType::DialogSheet,
        _ => return None,
    };
    Some((calamine::Sheet { name, typ, visible }, path))
}

/// The format of each cell style of `styles.xml`: its number format's, a custom one's by its
/// code, a built-in one's by its id.
fn formats<B: BufRead>(xml: &mut quick_xml::Reader<B>) -> Option<Vec<Format>> {
    let mut custom: HashMap<Vec<u8>, String> = HashMap::new();
    let mut styles = Vec::new();
    // The lists open: a list not closed before the style sheet ends is refused, as calamine
    // refuses it.
    let (mut in_num_fmts, mut in_cell_xfs) = (false, false);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf).ok()? {
            Event::Start(e) if !attrs_ok(&e) => return None,
            Event::Start(e) => match e.local_name().as_ref() {
                b"numFmts" => in_num_fmts = true,
                b"numFmt" if in_num_fmts => {
                    let code = raw_attr(&e, b"formatCode").unwrap_or_default();
                    if !code.is_empty() {
                        let id = raw_attr(&e, b"numFmtId").unwrap_or_default();
                        custom.insert(id, String::from_utf8(code).ok()?);
                    }
                }
                b"cellXfs" => in_cell_xfs = true,
                b"xf" if in_cell_xfs => {
                    styles.push(raw_attr(&e, b"numFmtId").map_or(Format::Number, |id| {
                        match custom.get(&id) {
                            Some(code) => custom_format(code),
                            None => builtin_format(&id),
                        }
                    }))
                }
                _ => {}
            },
            Event::End(e) => match e.local_name().as_ref() {
                b"numFmts" => in_num_fmts = false,
                b"cellXfs" => in_cell_xfs = false,
                b"styleSheet" if !in_num_fmts && !in_cell_xfs => return Some(styles),
                b"styleSheet" => return None,
                _ => {}
            },
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// Whether a built-in number format (by its id) is a date or a duration.
fn builtin_format(id: &[u8]) -> Format {
    match id {
        b"14" | b"15" | b"16" | b"17" | b"18" | b"19" | b"20" | b"21" | b"22" | b"45" | b"47" => {
            Format::DateTime
        }
        b"46" => Format::Duration,
        _ => Format::Number,
    }
}

/// Whether a custom number format (its code, e.g. `yyyy-mm-dd`, `[h]:mm`) is a date or a
/// duration: a date letter outside quotes, escapes and brackets in its first section, or a
/// bracketed hour, minute or second. These are calamine's rules, so that a cell reads the same
/// through either reader.
fn custom_format(code: &str) -> Format {
    let (mut escaped, mut quoted, mut am_pm) = (false, false, false);
    let (mut brackets, mut prev, mut hms) = (0u8, ' ', false);
    for c in code.chars() {
        match (c, escaped, quoted, am_pm, brackets) {
            (_, true, ..) => escaped = false,
            ('_' | '\\', ..) => escaped = true,
            ('"', _, true, _, _) => quoted = false,
            (_, _, true, _, _) => {}
            ('"', ..) => quoted = true,
            (';', ..) => return Format::Number,
            ('[', ..) => brackets += 1,
            (']', .., 1) if hms => return Format::Duration,
            (']', ..) => brackets = brackets.saturating_sub(1),
            ('a' | 'A', _, _, false, 0) => am_pm = true,
            ('p' | 'm' | '/' | 'P' | 'M', _, _, true, 0) => return Format::DateTime,
            ('d' | 'm' | 'h' | 'y' | 's' | 'D' | 'M' | 'H' | 'Y' | 'S', _, _, false, 0) => {
                return Format::DateTime;
            }
            _ => {
                if !(hms && c.eq_ignore_ascii_case(&prev)) {
                    hms = prev == '[' && matches!(c, 'm' | 'h' | 's' | 'M' | 'H' | 'S');
                }
            }
        }
        prev = c;
    }
    Format::Number
}

/// The shared strings of the workbook `zip` (none when it has no such part); `None` when
/// they cannot be read.
pub(super) fn shared_strings<R: Read + Seek>(zip: &mut zip::ZipArchive<R>) -> Option<Vec<String>> {
    let Some(mut xml) = entry(zip, "xl/sharedStrings.xml") else {
        return Some(Vec::new());
    };
    let mut strings = Vec::new();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf).ok()? {
            Event::Start(e) if e.local_name().as_ref() == b"si" => {
                strings.push(string(&mut xml, e.name().as_ref())?);
            }
            Event::End(e) if e.local_name().as_ref() == b"sst" => return Some(strings),
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// The text of a shared string, up to the end of the element `closing`: its first `<t>`, or
/// every `<t>` of its runs but the phonetic ones (`<rPh>`), as calamine reads it.
fn string<B: BufRead>(xml: &mut quick_xml::Reader<B>, closing: &[u8]) -> Option<String> {
    let mut rich: Option<String> = None;
    let mut phonetic = false;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf).ok()? {
            Event::Start(e) if e.local_name().as_ref() == b"r" => {
                rich.get_or_insert_with(String::new);
            }
            Event::Start(e) if e.local_name().as_ref() == b"rPh" => phonetic = true,
            Event::End(e) if e.local_name().as_ref() == b"rPh" => phonetic = false,
            Event::End(e) if e.name().as_ref() == closing => return Some(rich.unwrap_or_default()),
            Event::Start(e) if e.local_name().as_ref() == b"t" && !phonetic => {
                let end = e.name().as_ref().to_vec();
                let mut value = String::new();
                let mut inner = Vec::new();
                loop {
                    inner.clear();
                    match xml.read_event_into(&mut inner).ok()? {
                        Event::Text(t) => {
                            value.push_str(&super::xml_text::unescape_x(&t.xml10_content().ok()?))
                        }
                        Event::GeneralRef(r) => {
                            let name = r.decode().ok()?;
                            value.push(super::xml_text::entity(name.as_bytes())?);
                        }
                        Event::End(e) if e.name().as_ref() == end => break,
                        Event::Eof => return None,
                        _ => {}
                    }
                }
                match &mut rich {
                    Some(rich) => rich.push_str(&value),
                    None => {
                        xml.read_to_end_into(quick_xml::name::QName(closing), &mut inner)
                            .ok()?;
                        return Some(value);
                    }
                }
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}
