//! The hand-written sheet reader ([`super::sheet_xml`]) against calamine's: every sheet of the
//! workbooks spreadsheet programs saved (the test fixtures), their formulas taken out so that
//! both read them, and sheets written by hand with what the XML may hold, must give the same
//! text, rows and problems through either.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::sheet_xml::Workbook;
use super::{Sheet, open, read_sheet, recalc};
use crate::input::Dialect;

/// All of a sheet's text.
fn text_of(sheet: &Sheet) -> String {
    let mut all = String::new();
    sheet.csv.reader().read_to_string(&mut all).unwrap();
    all
}

/// What a sheet read is, for comparing: its text, header row, width, rows and problems.
fn shown(sheet: &Sheet) -> String {
    let mut problems: Vec<_> = sheet.problems.iter().collect();
    problems.sort();
    format!(
        "{}\nheader {} width {} rows {:?} problems {:?}",
        text_of(sheet),
        sheet.header_row,
        sheet.width,
        sheet.rows,
        problems
    )
}

/// Each worksheet of the xlsx workbook `file` read by both readers, compared; how many the
/// hand-written one read (it leaves some to calamine).
fn compare(path: &Path, file: &File) -> usize {
    let dir = std::env::temp_dir();
    let dialect = Dialect::default();
    let recalculated = recalc::full_calc_on_load(file);
    let Some(mut fast) = Workbook::open(file) else {
        return 0;
    };
    let mut read = 0;
    for sheet in fast.sheets() {
        if sheet.typ != calamine::SheetType::WorkSheet {
            continue;
        }
        let Ok(by_hand) = fast.read_sheet(&sheet.name, &dialect, recalculated, &dir) else {
            continue;
        };
        let mut book = open(file, true).unwrap();
        let by_calamine = read_sheet(&mut book, file, &sheet.name, &dialect, recalculated, &dir);
        let shown = |r: Result<(Option<Sheet>, bool), String>| match r {
            Ok((Some(sheet), any)) => format!("{} any {any}", shown(&sheet)),
            Ok((None, any)) => format!("no sheet, any {any}"),
            Err(e) => format!("error {e}"),
        };
        assert_eq!(
            shown(by_hand),
            shown(by_calamine),
            "{}, sheet {:?}",
            path.display(),
            sheet.name
        );
        read += 1;
    }
    read
}

/// The xlsx file `path` with its formulas taken out (each `<f>` element), their saved values
/// kept, in a new file.
fn without_formulas(path: &Path) -> File {
    let mut zip = zip::ZipArchive::new(File::open(path).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let name = entry.name().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if name.contains("worksheets/") {
            bytes = strip_formulas(&bytes);
        }
        let options = zip::write::SimpleFileOptions::default();
        out.start_file(name, options).unwrap();
        out.write_all(&bytes).unwrap();
    }
    let bytes = out.finish().unwrap().into_inner();
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(&bytes).unwrap();
    file
}

/// Sheet XML without its `<f>` elements.
fn strip_formulas(xml: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(xml.to_vec()).unwrap();
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("<f>").or_else(|| rest.find("<f ")) {
        out.push_str(&rest[..at]);
        let tag_end = at + rest[at..].find('>').unwrap();
        rest = if rest.as_bytes()[tag_end - 1] == b'/' {
            &rest[tag_end + 1..]
        } else {
            let close = rest[at..].find("</f>").unwrap();
            &rest[at + close + 4..]
        };
    }
    out.push_str(rest);
    out.into_bytes()
}

/// The xlsx files among the test fixtures and samples.
fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("samples/customers.xlsx")];
    for dir in [
        "tests/fixtures/workbooks",
        "tests/fixtures/sheets",
        "tests/fixtures/console",
    ] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "xlsx") {
                files.push(path);
            }
        }
    }
    files
}

#[test]
fn every_sheet_programs_saved_reads_the_same_by_hand_as_through_calamine() {
    let mut read = 0;
    let mut left = Vec::new();
    for path in fixtures() {
        let file = File::open(&path).unwrap();
        let as_saved = compare(&path, &file);
        let mut head = [0u8; 4];
        File::open(&path).unwrap().read_exact(&mut head).unwrap();
        if &head != b"PK\x03\x04" {
            continue;
        }
        let plain = compare(&path, &without_formulas(&path));
        if plain == 0 {
            left.push(path.display().to_string());
        }
        read += as_saved + plain;
    }
    // Each zip workbook's sheets are read by hand once their formulas are out.
    assert!(left.is_empty(), "read by calamine alone: {left:?}");
    assert!(read >= 10, "only {read} sheets read by hand");
}

/// A one-sheet xlsx workbook whose sheet XML is `sheet_data` (the rows), shared strings
/// `strings` (each an `<si>`'s content), cell styles of number formats `formats`, and the
/// 1904 date system if `is_1904`.
fn workbook(sheet_data: &str, strings: &[&str], formats: &[u32], is_1904: bool) -> File {
    let xfs: String = formats
        .iter()
        .map(|f| format!(r#"<xf numFmtId="{f}"/>"#))
        .collect();
    let styles = format!(
        r#"<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\-mm\-dd\ hh:mm"/></numFmts><cellXfs>{xfs}</cellXfs>"#
    );
    workbook_of("", sheet_data, strings, &styles, is_1904)
}

/// A one-sheet xlsx workbook as [`workbook`] makes it, with `prologue` before its
/// `<sheetData>` and `styles` its style sheet's content.
fn workbook_of(
    prologue: &str,
    sheet_data: &str,
    strings: &[&str],
    styles: &str,
    is_1904: bool,
) -> File {
    let ns = r#"xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main""#;
    let rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let sst: String = strings.iter().map(|s| format!("<si>{s}</si>")).collect();
    // A prologue that is a declaration stands for the sheet's own.
    let (declaration, prologue) = match prologue {
        p if p.starts_with("<?xml ") => (p, ""),
        p => (r#"<?xml version="1.0"?>"#, p),
    };
    let files = [
        (
            "xl/workbook.xml",
            format!(
                r#"<?xml version="1.0"?><workbook {ns} xmlns:r="{rel}"><workbookPr date1904="{}"/><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
                u8::from(is_1904)
            ),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            format!(
                r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#
            ),
        ),
        (
            "xl/styles.xml",
            format!(r#"<?xml version="1.0"?><styleSheet {ns}>{styles}</styleSheet>"#),
        ),
        (
            "xl/sharedStrings.xml",
            format!(r#"<?xml version="1.0"?><sst {ns}>{sst}</sst>"#),
        ),
        (
            "xl/worksheets/sheet1.xml",
            format!(
                r#"{declaration}<worksheet {ns}><dimension ref="A1"/>{prologue}<sheetData>{sheet_data}</sheetData></worksheet>"#
            ),
        ),
    ];
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, text) in files {
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(text.as_bytes()).unwrap();
    }
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(&out.finish().unwrap().into_inner()).unwrap();
    file
}

/// The text of the sheet of `file` read by hand, after checking calamine reads it the same;
/// `None` when it is left to calamine.
fn by_hand(file: &File) -> Option<String> {
    let read = compare(Path::new("sheet"), file);
    let mut book = Workbook::open(file)?;
    let dialect = Dialect::default();
    let sheet = book.read_sheet("S", &dialect, false, &std::env::temp_dir());
    let (sheet, _) = sheet.ok()?.unwrap();
    assert_eq!(read, 1);
    Some(text_of(&sheet.unwrap()))
}

#[test]
fn what_the_xml_may_hold_reads_as_calamine_reads_it() {
    let header = r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>note</t></is></c></row>"#;
    let file = workbook(
        &format!(
            "{header}{}",
            concat!(
                // Rich text with a phonetic run; entities and character references; Excel's
                // escape of a carriage return; a CR LF line end.
                r#"<row r="2"><c r="A2" t="s"><v>1</v></c><c r="B2" t="inlineStr"><is><r><t>a &amp; </t></r><r><rPr><b/></rPr><t xml:space="preserve">b&#233;&#x263A;</t></r><rPh><t>x</t></rPh></is></c></row>"#,
                "<row r=\"3\"><c r=\"A3\" t=\"str\"><v>line&#13;\r\nend</v></c><c r=\"B3\" t=\"inlineStr\"><is><t>x_x000D_y</t></is></c></row>",
                // Rows and cells without a reference, a self-closing row, styled empty cells.
                r#"<row><c><v>3.5</v></c><c s="1"/><c t="b"><v>1</v></c></row><row r="6"/>"#,
                // Errors, ISO dates, dates and durations by style, numbers.
                r#"<row r="8"><c r="A8" t="e"><v>#N/A</v></c><c r="B8" t="d"><v>2024-03-01T10:31:17</v></c><c r="C8" s="1"><v>45352.4383912037</v></c><c r="D8" s="2"><v>1.25</v></c><c r="E8" s="3"><v>45352.5</v></c><c r="F8" t="n"><v>1E+20</v></c></row>"#,
                // A text the sheet types as nothing.
                r#"<row r="9"><c r="A9"><v>plain</v></c><c r="C9" t="inlineStr"><is><t/></is></c><c r="D9" t="s"><v>2</v></c></row>"#,
            )
        ),
        &[
            "<t>name</t>",
            "<t>caf&#233; &lt;x&gt;</t>",
            "<r><t>one</t></r><r><t> two</t></r>",
        ],
        &[0, 14, 46, 164],
        false,
    );
    let text = by_hand(&file).expect("read by hand");
    assert!(text.starts_with("name,note\n"), "{text}");
    assert!(text.contains("café <x>,a & bé☺\n"), "{text}");
    assert!(text.contains("\"line\r\nend\",\"x\ry\"\n"), "{text:?}");
    assert!(text.contains("3.5,,true\n"), "{text}");
    assert!(
        text.contains("#N/A,2024-03-01T10:31:17,2024-03-01T10:31:17,30:00:00,2024-03-01T12:00"),
        "{text}"
    );
    assert!(text.contains("plain,,,one two\n"), "{text}");
    // The 1904 date system.
    let file = workbook(
        r#"<row r="1"><c r="A1" t="inlineStr"><is><t>d</t></is></c></row><row r="2"><c r="A2" s="1"><v>43890</v></c></row>"#,
        &[],
        &[0, 14],
        true,
    );
    assert_eq!(by_hand(&file).unwrap(), "d\n2024-03-01\n");
}

#[test]
fn what_the_reader_by_hand_does_not_know_is_left_to_calamine() {
    let header = r#"<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row>"#;
    for (what, row) in [
        (
            "a formula",
            r#"<row r="2"><c r="A2"><f>1+1</f><v>2</v></c></row>"#,
        ),
        (
            "a shared formula",
            r#"<row r="2"><c r="A2"><f t="shared" si="0"/><v>2</v></c></row>"#,
        ),
        (
            "a comment",
            r#"<!-- x --><row r="2"><c r="A2"><v>2</v></c></row>"#,
        ),
        (
            "a prefixed name",
            r#"<x:row r="2"><x:c r="A2"><x:v>2</x:v></x:c></x:row>"#,
        ),
        (
            "an unknown entity",
            r#"<row r="2"><c r="A2" t="str"><v>&nbsp;</v></c></row>"#,
        ),
        (
            "an unknown type",
            r#"<row r="2"><c r="A2" t="q"><v>2</v></c></row>"#,
        ),
        (
            "a string index past the table",
            r#"<row r="2"><c r="A2" t="s"><v>9</v></c></row>"#,
        ),
        (
            "a column past Excel's last",
            r#"<row r="2"><c r="XFE2"><v>2</v></c></row>"#,
        ),
        (
            "text between cells",
            r#"<row r="2">x<c r="A2"><v>2</v></c></row>"#,
        ),
        (
            "a type given twice",
            r#"<row r="2"><c r="A2" t="s" t="n"><v>0</v></c></row>"#,
        ),
        (
            "a reference given twice",
            r#"<row r="2"><c r="A2" r="B2"><v>2</v></c></row>"#,
        ),
        (
            "another attribute twice",
            r#"<row r="2"><c r="A2" cm="1" cm="1"><v>2</v></c></row>"#,
        ),
        (
            "a row's number twice",
            r#"<row r="2" r="3"><c r="A2"><v>2</v></c></row>"#,
        ),
        (
            "a NUL reference",
            r#"<row r="2"><c r="A2" t="inlineStr"><is><t>a&#0;b</t></is></c></row>"#,
        ),
        (
            "a signed reference",
            r#"<row r="2"><c r="A2" t="inlineStr"><is><t>a&#+65;b</t></is></c></row>"#,
        ),
        (
            "an escape made by an entity",
            r#"<row r="2"><c r="A2" t="inlineStr"><is><t>&#95;x0041_</t></is></c></row>"#,
        ),
        (
            "a prefixed text",
            r#"<row r="2"><c r="A2" t="inlineStr"><is><x:t xmlns:x="urn:x">a</x:t></is></c></row>"#,
        ),
    ] {
        let file = workbook(&format!("{header}{row}"), &[], &[0], false);
        let mut book = Workbook::open(&file).unwrap();
        let read = book.read_sheet("S", &Dialect::default(), false, &std::env::temp_dir());
        assert!(read.is_err(), "{what} read by hand");
    }
}

#[test]
fn xml_before_the_rows_or_in_the_styles_the_reader_by_hand_does_not_know_is_left_to_calamine() {
    let rows = r#"<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row>"#;
    let decoy = r#"<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>decoy</t></is></c></row></sheetData>"#;
    for (what, prologue) in [
        ("rows in a comment", format!("<!-- {decoy} -->")),
        (
            "rows in a processing instruction",
            format!("<?pi {decoy} ?>"),
        ),
        (
            "rows in CDATA",
            format!("<sheetViews><![CDATA[{decoy}]]></sheetViews>"),
        ),
        (
            "rows in another namespace",
            r#"<o:sheetData xmlns:o="urn:o"></o:sheetData>"#.to_string(),
        ),
        (
            "a quote not closed",
            r#"<sheetViews><sheetView tabSelected="1 workbookViewId="0"/></sheetViews>"#.into(),
        ),
        (
            "an attribute twice",
            r#"<sheetPr codeName="a" codeName="b"/>"#.into(),
        ),
        ("a dimension not a range", r#"<dimension ref="ZZ"/>"#.into()),
        (
            "a dimension of three",
            r#"<dimension ref="A1:B2:C3"/>"#.into(),
        ),
        ("a dimension without a range", "<dimension/>".into()),
        (
            "a declared encoding",
            r#"<?xml version="1.0" encoding="ISO-8859-1"?>"#.into(),
        ),
    ] {
        let file = workbook_of(&prologue, rows, &[], "<cellXfs><xf/></cellXfs>", false);
        let mut book = Workbook::open(&file).unwrap();
        let read = book.read_sheet("S", &Dialect::default(), false, &std::env::temp_dir());
        assert!(read.is_err(), "{what} read by hand");
    }
    // The same sheet with nothing before its rows is read by hand.
    let file = workbook_of("", rows, &[], "<cellXfs><xf/></cellXfs>", false);
    assert_eq!(by_hand(&file).unwrap(), "name\n");
    // A shared string with a reference XML does not allow.
    let file = workbook_of(
        "",
        rows,
        &["<t>a&#+65;b</t>"],
        "<cellXfs><xf/></cellXfs>",
        false,
    );
    let mut book = Workbook::open(&file).unwrap();
    assert!(
        book.read_sheet("S", &Dialect::default(), false, &std::env::temp_dir())
            .is_err()
    );
    // A style sheet whose list of cell styles is not closed, or with an attribute given twice.
    for styles in [
        r#"<cellXfs><xf numFmtId="14"/><=cellXfs>"#,
        r#"<cellXfs><xf numFmtId="14" numFmtId="0"/></cellXfs>"#,
    ] {
        let file = workbook_of("", rows, &[], styles, false);
        assert!(Workbook::open(&file).is_none(), "{styles}");
    }
}

#[test]
fn cells_calamine_reads_in_its_own_way_read_the_same_by_hand() {
    let header = r#"<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c><c r="B1" t="inlineStr"><is><t>b</t></is></c><c r="C1" t="inlineStr"><is><t>c</t></is></c></row>"#;
    let file = workbook(
        &format!(
            "{header}{}",
            concat!(
                // `>` in an attribute's value; a self-closing run before the texts.
                r#"<row r="2"><c r="A2"><v foo=">">1</v></c><c r="B2" t="inlineStr"><is><t foo=">">hello</t></is></c><c r="C2" t="inlineStr"><is><r/><t>a</t><t>b</t></is></c></row>"#,
                // A shared string's index by a reference, and with more zeros than calamine
                // reads as a number (index 0); a style's likewise (0: not a date).
                r#"<row r="3"><c r="A3" t="s"><v>&#49;</v></c><c r="B3" t="s"><v>000000000000000000000001</v></c><c r="C3" s="000000000000000000000001"><v>45000</v></c></row>"#,
            )
        ),
        &["<t>zero</t>", "<t>one</t>"],
        &[0, 14],
        false,
    );
    let text = by_hand(&file).expect("read by hand");
    assert_eq!(text, "name,b,c\n1,hello,ab\none,zero,45000\n");
}
